#!/bin/bash
# 05-hostile: hostile requests against cofferd (hostile.py): malformed HTTP,
# oversized headers and bodies, bodies that do not match their names,
# missing, wrong and replayed signatures, timestamps out of the window,
# path traversal, another account's objects, quotas, invitations,
# append-only devices, disabled accounts, soft delete and purge.  Each gets
# its exact status, changes nothing and leaves the server up.  Then: a
# request captured before a restart is still refused as a replay after it.
. "$(dirname "$0")/lib.sh" "$@"

MAX=1000000
start_server srv --max-object $MAX
log "two accounts, B with a backup"
new_client a "$SRV_URL" "$(admin srv invite)"
new_client b "$SRV_URL" "$(admin srv invite)"
gen tree "$T/src" --seed 5 --files 20 --max 200000 >/dev/null
expect 0 as b coffer backup --repo "$SRV_URL" "$T/src"
new_client b "$SRV_URL/bonly" # B's device is registered: no invitation

log "hostile requests"
PORT=$SRV_PORT DATA=$SRV_DATA LOG=$SRV_LOG CFG_A=$T/a.cfg CFG_B=$T/b.cfg \
	T=$T MAX_OBJECT=$MAX COFFERD=$COFFERD SIGNREQ=$SIGNREQ \
	python3 "$SERVER_HERE/hostile.py" || fail "hostile.py"

log "B's repository is intact"
expect 0 as b coffer check --read-data --repo "$SRV_URL"
expect 0 as b coffer restore latest --target "$T/r" --repo "$SRV_URL"
treecmp "$T/src" "$T/r$T/src"

log "a replay after a restart"
stop_server "$SRV_PID" || fail "cofferd did not exit 0 on SIGTERM"
restart_server srv "$SRV_PORT" --max-object $MAX || fail "restart"
python3 - "$SRV_PORT" "$T/captured.req" <<'PY' || fail "replay after restart"
import sys
sys.path.insert(0, sys.argv[0] and __import__("os").environ["SERVER_HERE"])
from raw import Client
st, _, body = Client(int(sys.argv[1])).raw(open(sys.argv[2], "rb").read())
assert st == 401 and b"replayed" in body, (st, body)
PY
healthz || fail "healthz after the replay"
