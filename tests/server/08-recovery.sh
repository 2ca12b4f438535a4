#!/bin/bash
# 08-recovery: the recovery key, end to end.  Every device lost: a new
# machine joins with the recovery key file alone and restores the account's
# snapshots bit for bit.  'coffer recovery-key rotate' then writes a new
# key: the old one no longer joins (a clear error, nothing changed on the
# server: objects, refs and device keys hash the same, the account keeps
# its device count), the new one does.  On a terminal, init shows the key
# and has it typed back: a typo or another key is refused, and init run
# again completes the account.
. "$(dirname "$0")/lib.sh" "$@"

start_server srv
export COFFER_REPO=$SRV_URL
unset COFFER_PASSWORD_FILE # cofferd zones open with the device's keys
ndevices() {
	admin srv accounts --json >"$T/acc.json"
	jget "$T/acc.json" 'd["devices"]'
}
# members CLIENT: "name/role/added_by" of each member CLIENT sees, sorted.
members() {
	as "$1" coffer device list --json >"$T/list.json" ||
		fail "device list by $1"
	jget "$T/list.json" '" ".join(sorted(("%s/%s/%s" % (m["name"], m["role"], m["added_by"])).replace("recovery key", "rk") for m in d))'
}

log "an account with a recovery key file, a backup"
expect 0 new_client desk "$SRV_URL" "$(admin srv invite)" --name desk
[ "$(stat -c %a "$T/desk.rk")" = 600 ] || fail "the recovery key file is not 0600"
gen tree "$T/src" --seed 81 --files 60 --dirs 8 --max 200000 >/dev/null
expect 0 as desk coffer backup "$T/src" --quiet
expect 0 as desk coffer backup "$T/src" --tag second --quiet
[ "$(members desk)" = "desk/device/desk rk/rk/desk" ] ||
	fail "members: $(members desk)"
[ "$(ndevices)" = 2 ] || fail "the server should know two keys"

log "every device lost: a new machine joins with the recovery key alone"
expect 0 as rescue coffer device join --name rescue \
	--recovery-key-file "$T/desk.rk"
has "$T/out" "this device joined the account with the recovery key"
[ -s "$T/rescue.cfg/device.key" ] || fail "no device key made"
[ "$(members rescue)" = "desk/device/desk rescue/device/rk rk/rk/desk" ] ||
	fail "members: $(members rescue)"
[ "$(jget "$T/list.json" '[m["name"] for m in d if m["this_device"]]')" = \
	"['rescue']" ] || fail "this_device: $(cat "$T/list.json")"
[ "$(ndevices)" = 3 ] || fail "the server should know three keys"
expect 0 as rescue coffer snapshots --json
[ "$(jget "$T/out" 'len(d), d[-1]["tags"]')" = "(2, ['second'])" ] ||
	{ show_io; fail "the rescued device's snapshots"; }
expect 0 as rescue coffer restore latest --target "$T/r1"
treecmp "$T/src" "$T/r1$T/src"
log "the rescued device backs up; the first device reads it"
gen modify "$T/src" --seed 82 --fraction 0.1 >/dev/null
expect 0 as rescue coffer backup "$T/src" --tag rescued --quiet
expect 0 as desk coffer restore latest --target "$T/r2"
treecmp "$T/src" "$T/r2$T/src"

log "recovery-key rotate: a new key file, the old key's member removed"
RK_BEFORE=$(jget "$T/list.json" '[m["fingerprint"] for m in d if m["role"] == "recovery key"][0]')
expect 0 as desk coffer recovery-key rotate --recovery-key-file "$T/new.rk"
has "$T/out" "new recovery key in place; the old one no longer opens the account"
[ "$(stat -c %a "$T/new.rk")" = 600 ] || fail "the new key file is not 0600"
cmp -s "$T/desk.rk" "$T/new.rk" && fail "the new recovery key is the old one"
as desk coffer device list --json >"$T/list.json"
[ "$(jget "$T/list.json" '[(m["name"], m["added_by"]) for m in d if m["role"] == "recovery key"]')" = \
	"[('recovery key', 'desk')]" ] || fail "recovery members: $(cat "$T/list.json")"
[ "$(jget "$T/list.json" '[m["fingerprint"] for m in d if m["role"] == "recovery key"][0]')" != \
	"$RK_BEFORE" ] || fail "the recovery key's fingerprint did not change"
[ "$(ndevices)" = 3 ] || fail "the server should know three keys (old one removed)"

log "the old recovery key: refused, nothing changed on the server"
SNAP=$(digest)
N0=$(ndevices)
expect 1 as stale coffer device join --name stale \
	--recovery-key-file "$T/desk.rk"
one_error_line "this recovery key opens no account on $SRV_URL" \
	"recovery-key rotate"
hasnt "$T/out" "joined"
[ "$(digest)" = "$SNAP" ] || fail "the refused join changed the server"
[ "$(ndevices)" = "$N0" ] || fail "the refused join added a key"
[ "$(members desk)" = "desk/device/desk rescue/device/rk rk/rk/desk" ] ||
	fail "members: $(members desk)"

log "the new recovery key joins and restores"
expect 0 as fresh coffer device join --name fresh \
	--recovery-key-file "$T/new.rk"
has "$T/out" "this device joined the account with the recovery key"
[ "$(members fresh)" = "desk/device/desk fresh/device/rk rescue/device/rk rk/rk/desk" ] ||
	fail "members: $(members fresh)"
expect 0 as fresh coffer restore latest --target "$T/r3"
treecmp "$T/src" "$T/r3$T/src"
expect 0 as fresh coffer snapshots --json
[ "$(jget "$T/out" '[s["tags"] for s in d]')" = "[[], ['second'], ['rescued']]" ] ||
	{ show_io; fail "the new device's snapshots"; }

log "init on a terminal: the recovery key shown must be typed back"
# (tests/server/confirm.py types back what the terminal showed, or a typo)
TOK=$(admin srv invite)
: >"$T/tty.txt"
expect_fail as tty python3 "$SERVER_HERE/confirm.py" "$T/tty.txt" typo \
	"$COFFER" init --invite "$TOK" --name tty
has "$T/tty.txt" "YOUR RECOVERY KEY (write it down; it is shown once)"
has "$T/tty.txt" "group 3 has a typo"
hasnt "$T/tty.txt" "created zone"
: >"$T/tty.txt"
expect_fail as tty python3 "$SERVER_HERE/confirm.py" "$T/tty.txt" other \
	"$COFFER" init --name tty
has "$T/tty.txt" "that is not the recovery key shown"
# The device was registered by the first attempt (its invitation is
# spent): init again, confirmed this time, makes the account.
: >"$T/tty.txt"
expect 0 as tty python3 "$SERVER_HERE/confirm.py" "$T/tty.txt" loose \
	"$COFFER" init --name tty
has "$T/tty.txt" "created zone"
expect 0 as tty coffer device list --json
[ "$(jget "$T/out" '[(m["name"], m["role"]) for m in d]')" = \
	"[('tty', 'device'), ('recovery key', 'recovery key')]" ] ||
	{ show_io; fail "the account made on a terminal"; }
# the key the terminal showed last is the one that was kept
grep -oE '[0-9A-Z]{5}(-[0-9A-Z]{5}){6}' "$T/tty.txt" | tail -n 1 >"$T/tty.rk"
chmod 600 "$T/tty.rk"
expect 0 as tty2 coffer device join --name tty2 --recovery-key-file "$T/tty.rk"
has "$T/out" "this device joined the account with the recovery key"
