#!/bin/bash
# 08-replace: on PostgreSQL, what may not be replaced is not.  A config,
# named "config" rather than by its hash, is never revived by another
# upload of the same size once deleted (the old bytes would be gone at
# once, and with them the repository's ID); a device key already in the
# account is never re-added with another scope or zone (the add would
# answer 201 and keep the old rights).  tests/server/hostile.py checks the
# same on the embedded stores.
. "$(dirname "$0")/lib.sh" "$@"

if [ -z "${3:-}" ] || [ ! -x "$3" ]; then fail "usage: $0 COFFER COFFERD SIGNREQ"; fi
SIGNREQ=$(readlink -f "$3")
RAW=$SO_HERE/../server/raw.py
start_cofferd A
expect 0 new_account d1 "$URL_A"
# req DEV METHOD URI [BODYFILE]: the status, then the body, on stdout
req() {
	local d=$1
	shift
	python3 "$RAW" "$PORT_A" "$SIGNREQ" "$T/$d.cfg" "$@"
}
# (sed reads to the end: with head, raw.py could write into a closed
# pipe, and pipefail turned its BrokenPipeError into a failure; seen once.)
status() { req "$@" | sed -n 1p; }
want() { # want STATUS LABEL DEV METHOD URI [BODYFILE]
	local w=$1 l=$2 got
	shift 2
	got=$(status "$@")
	[ "$got" = "$w" ] || fail "$l: got $got, expected $w"
}

log "a deleted config is not replaced by another of the same size"
printf 'config-x-%0200d' 0 >"$T/cx"
printf 'config-y-%0200d' 0 >"$T/cy"
U=/v1/r/replace/o/config/config
want 201 "a config" d1 PUT $U "$T/cx"
want 412 "another config over a live one" d1 PUT $U "$T/cy"
want 204 "DELETE the config" d1 DELETE $U
want 409 "another config of the same size over the deleted one" \
	d1 PUT $U "$T/cy"
[ "$(sqlv "SELECT count(*) FROM objects WHERE repo = 'replace'::bytea AND kind = 0")" = 1 ] ||
	fail "the deleted config's row is gone"

log "a device is not re-added with another scope or zone"
mkdir -p "$T/x.cfg"
PKX=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
from raw import Client
print(Client(0, sys.argv[2]).sign(sys.argv[3], "GET", "/", create=True)[2])' \
	"$SO_HERE/../server" "$SIGNREQ" "$T/x.cfg")
printf '%s 1 z' "$PKX" >"$T/add"
want 201 "an append-only device for zone z" d1 POST /v1/devices "$T/add"
want 201 "the same add again" d1 POST /v1/devices "$T/add"
for b in "$PKX 0" "$PKX 1" "$PKX 1 y" "$PKX 0 z"; do
	printf '%s' "$b" >"$T/add2"
	want 409 "re-added as '${b:65}'" d1 POST /v1/devices "$T/add2"
done
[ "$(sqlv "SELECT scope || ' ' || convert_from(zone, 'UTF8') FROM devices
	WHERE scope = 1")" = "1 z" ] ||
	fail "the device's scope or zone changed"
want 204 "removed" d1 DELETE "/v1/devices/$PKX"
printf '%s 0' "$PKX" >"$T/add2"
want 201 "added back with full rights" d1 POST /v1/devices "$T/add2"
