#!/bin/bash
# 11-bad-input: what a user (or an operator feeding users bad data) gets
# wrong: a wrong pairing code (three attempts, then the pairing is void),
# an expired code, a code used already, malformed codes, a recovery key
# with a typo (the checksum names the group), a recovery-key file readable
# by others, a device that joins a second time, a device key with loose
# permissions, corrupt or unreadable.  (A removed device acting: see
# 09-removed-device.)
# Each: a clear error, a non-zero exit, and nothing changed on the server.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
MEMBERS="laptop recovery key"
same() {
	unchanged "$1"
	[ "$(members laptop)" = "$MEMBERS" ] || fail "$1: members $(members laptop)"
}

log "a wrong pairing code, three times: the pairing is void"
pair_start laptop --timeout 20
GOOD=$CODE
# rotate each character of the last group within the code alphabet
# (Crockford base32), so the wrong code is still a well-formed one
BAD=${CODE%-*}-$(printf '%s' "${CODE##*-}" |
	tr '0123456789ABCDEFGHJKMNPQRSTVWXYZ' '123456789ABCDEFGHJKMNPQRSTVWXYZ0')
[ "$BAD" != "$GOOD" ] || fail "no wrong code"
snap_server
for i in 1 2 3; do
	expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv "$BAD" --timeout 20
	said "wrong pairing code"
done
pair_wait
[ "$INV_RC" -ne 0 ] || fail "the inviter succeeded"
grep -q "a pairing attempt failed" "$T/inv.err" || fail "the inviter said nothing of a failed attempt"
grep -q "wrong pairing code 3 times: the pairing is void" "$T/inv.err" ||
	{ cat "$T/inv.err" >&2; fail "the inviter did not void the pairing"; }
expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv "$GOOD" --timeout 5
said "void or expired"
[ ! -e "$T/tv.cfg/accounts/"*/head ] || fail "tv kept a head"
same "wrong code"

log "an expired code"
pair_start laptop --timeout 5
ID=${CODE%%-*}
srv ref-set 0 _pair "$ID" "1 1000"
expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv "$CODE" --timeout 5
said "void or expired"
pair_wait
same "expired code"

log "a code used already"
pair laptop phone
MEMBERS="laptop phone recovery key"
snap_server
expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv "$CODE" --timeout 5
said "used already"
same "reused code"

log "malformed codes"
for c in "1234-ABCD-EFGH" "12345678-ABCD-EFGU" "12345678-ABCD" "12345678-ABCD-EFGH-JKMN"; do
	expect 2 dev tv "$COFFER" device join --repo "$URL" --name tv "$c" --timeout 5
	said "pairing code"
done
same "malformed code"

log "a recovery key with a typo: the checksum names the group"
python3 - "$T/laptop.rk" "$T/typo.rk" <<'PY'
import sys
k = open(sys.argv[1]).read().strip()
g = k.split("-")
c = g[2][1]
g[2] = g[2][0] + ("Z" if c != "Z" else "Y") + g[2][2:]
open(sys.argv[2], "w").write("-".join(g) + "\n")
PY
chmod 600 "$T/typo.rk"
expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv --recovery-key-file "$T/typo.rk"
said "group 3 has a typo"
same "recovery key with a typo"

log "a recovery-key file readable by others"
cp "$T/laptop.rk" "$T/loose.rk"
chmod 644 "$T/loose.rk"
expect_fail dev tv "$COFFER" device join --repo "$URL" --name tv --recovery-key-file "$T/loose.rk"
said "readable by others"
same "loose recovery-key file"

log "a device that is in the account joins again with the recovery key"
expect_fail dev phone "$COFFER" device join --repo "$URL" --name phone2 --recovery-key-file "$T/laptop.rk"
said "in the account already"
same "joined twice"

log "a device key with loose permissions, or corrupt"
chmod 644 "$T/phone.cfg/device.key"
for c in "device list" "snapshots" "device invite --approve --timeout 3"; do
	# shellcheck disable=SC2086
	expect_fail dev phone "$COFFER" $c --repo "$URL"
	said "device key" "readable by others (mode 644): chmod 600 it"
done
chmod 600 "$T/phone.cfg/device.key"
cp "$T/phone.cfg/device.key" "$T/phone.key"
head -c 10 "$T/phone.key" >"$T/phone.cfg/device.key"
expect_fail dev phone "$COFFER" device list --repo "$URL"
said "device key"
log "an unreadable device key (mode 000)"
cp "$T/phone.key" "$T/phone.cfg/device.key"
chmod 000 "$T/phone.cfg/device.key"
KEY=$T/phone.cfg/device.key
snap_server
if [ "$(id -u)" -ne 0 ]; then
	expect_fail dev phone "$COFFER" device list --repo "$URL"
else
	# Root reads a file of mode 000, so the device's owner is user nobody
	# here: its own copy of phone's config (a key of mode 000 that it
	# owns), its cache, and the coffer binary, in $T (made traversable).
	command -v setpriv >/dev/null ||
		fail "setpriv (util-linux) is needed to run this as root"
	NB_UID=$(id -u nobody)
	NB_GID=$(id -g nobody)
	mkdir "$T/nb" "$T/nb/cache"
	cp -a "$T/phone.cfg" "$T/nb/cfg"
	cp "$COFFER" "$T/nb/coffer"
	chmod 755 "$T/nb/coffer"
	chown -R "$NB_UID:$NB_GID" "$T/nb/cfg" "$T/nb/cache"
	chmod 711 "$T" "$T/nb"
	KEY=$T/nb/cfg/device.key
	as_nobody() {
		COFFER_CONFIG_DIR=$T/nb/cfg COFFER_CACHE_DIR=$T/nb/cache \
			setpriv --reuid="$NB_UID" --regid="$NB_GID" --clear-groups "$@"
	}
	[ "$(as_nobody id -u)" = "$NB_UID" ] || fail "setpriv did not switch to nobody"
	[ "$(stat -c '%a %u' "$KEY")" = "0 $NB_UID" ] || fail "the key is not nobody's, mode 000"
	expect_fail as_nobody "$T/nb/coffer" device list --repo "$URL"
fi
said "cannot open device key $KEY" "Permission denied"
[ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "more than one error line"; }
[ ! -s "$T/out" ] || { show_io; fail "output on stdout"; }
[ "$(id -u)" -eq 0 ] || chmod 600 "$KEY"
cmp -s "$KEY" "$T/phone.key" || fail "the unreadable key was replaced"
unchanged "unreadable device key"
cp "$T/phone.key" "$T/phone.cfg/device.key"
chmod 600 "$T/phone.cfg/device.key"
if [ "$(id -u)" -eq 0 ]; then
	log "a device key of another user (mode 600)"
	chown "$(id -u nobody)" "$T/phone.cfg/device.key"
	expect_fail dev phone "$COFFER" device list --repo "$URL"
	said "device key" "belongs to another user"
	chown 0 "$T/phone.cfg/device.key"
fi
same "device key problems"
expect 0 dev phone "$COFFER" device list --repo "$URL"
