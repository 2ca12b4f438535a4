#!/bin/bash
# 09-pairing: devices added by pairing, and what 'coffer device list
# --json' says of each: its fingerprint (the one the joiner printed and
# the inviter showed, and the hash of the key the server holds for it),
# its role, when it was added and by whom (a device added by the second
# device names the second device), and which one is this device.
. "$(dirname "$0")/lib.sh" "$@"

start_server srv
export COFFER_REPO=$SRV_URL
unset COFFER_PASSWORD_FILE # cofferd zones open with the device's keys

# invite_start OLD [options]: 'coffer device invite' by OLD in the
# background: $INV, $CODE (output in $T/inv.out, $T/inv.err).
# wait_code: the pairing code the inviter printed in $T/inv.out, in $CODE.
wait_code() {
	for _ in $(seq 1 200); do
		grep -q 'coffer device join' "$T/inv.out" && break
		sleep 0.05
	done
	CODE=$(sed -n 's/^ *coffer device join .* NAME \(.*\)$/\1/p' "$T/inv.out")
	[ -n "$CODE" ] || { cat "$T/inv.out" "$T/inv.err" >&2; fail "no pairing code"; }
}
invite_start() {
	local old=$1
	shift
	as "$old" coffer device invite --timeout 60 "$@" \
		>"$T/inv.out" 2>"$T/inv.err" &
	INV=$!
	wait_code
}
# tty_invite_start OLD ANSWER: 'coffer device invite' (no --approve) by OLD
# on a terminal of its own (term.py), where ANSWER is typed when asked: $INV,
# $CODE, what the terminal showed in $T/tty.txt.
tty_invite_start() {
	: >"$T/tty.txt"
	as "$1" python3 "$SERVER_HERE/term.py" "$T/tty.txt" "$2" \
		"$COFFER" device invite --timeout 60 &
	INV=$!
	CODE=
	for _ in $(seq 1 200); do
		CODE=$(sed -n 's/^ *coffer device join .* NAME \(.*\)$/\1/p' "$T/tty.txt")
		[ -n "$CODE" ] && return 0
		sleep 0.05
	done
	cat "$T/tty.txt" >&2
	fail "no pairing code on the terminal"
}
# inv_wait: the inviter's exit status in $INV_RC.
inv_wait() {
	INV_RC=0
	wait "$INV" || INV_RC=$?
}
# joiner_fpr NEW: the fingerprint NEW printed when joining.
joiner_fpr() {
	sed -n "s/^this device: \"$1\", fingerprint \([0-9a-f-]*\) (.*/\1/p" "$T/err"
}
# fingerprints NEW: what NEW printed when joining ($FPR_JOIN) and what the
# inviter showed for approval ($FPR_INV).
fingerprints() {
	FPR_JOIN=$(joiner_fpr "$1")
	FPR_INV=$(sed -n "s/^device \"$1\" with fingerprint \([0-9a-f-]*\) asks to join$/\1/p" "$T/inv.err")
	[ -n "$FPR_JOIN" ] || { show_io; fail "$1 printed no fingerprint"; }
	[ "$FPR_JOIN" = "$FPR_INV" ] ||
		{ cat "$T/inv.err" >&2; fail "the inviter showed $FPR_INV, $1 printed $FPR_JOIN"; }
}
# pair OLD NEW: OLD invites with --approve, NEW joins.
pair() {
	invite_start "$1" --approve
	expect 0 as "$2" coffer device join --name "$2" "$CODE" --timeout 30
	wait "$INV" || { cat "$T/inv.out" "$T/inv.err" >&2; fail "device invite by $1"; }
	has "$T/inv.out" "device added"
	fingerprints "$2"
}
# members CLIENT: "name/added_by" of each member CLIENT sees, in order.
members() {
	as "$1" coffer device list --json >"$T/list.json" ||
		fail "device list by $1"
	jget "$T/list.json" '" ".join("%s/%s" % (m["name"], m["added_by"]) for m in d)'
}
# server_fingerprints: the fingerprint of each device key the server holds
# (BLAKE2b-256 of the Ed25519 key, 8 bytes in hex, in groups of 4), sorted.
server_fingerprints() {
	srv devices | python3 -c '
import hashlib, sys
out = []
for pk in sys.stdin.read().split():
    h = hashlib.blake2b(bytes.fromhex(pk), digest_size=32).hexdigest()[:16]
    out.append("-".join(h[i:i + 4] for i in range(0, 16, 4)))
print(" ".join(sorted(out)))'
}

log "an account; desk pairs laptop, laptop pairs phone"
T_START=$(date +%s)
expect 0 new_client desk "$SRV_URL" "$(admin srv invite)" --name desk
pair desk laptop
FPR_LAPTOP=$FPR_JOIN
pair laptop phone
FPR_PHONE=$FPR_JOIN
T_END=$(date +%s)
[ "$FPR_LAPTOP" != "$FPR_PHONE" ] || fail "two devices, one fingerprint"

log "device list --json: fingerprint, added, added_by, role, this_device"
for d in desk phone; do
	expect 0 as "$d" coffer device list --json
	cp "$T/out" "$T/$d.json"
done
L=$T/desk.json
[ "$(jget "$L" 'sorted(set(k for m in d for k in m))')" = \
	"['added', 'added_by', 'fingerprint', 'name', 'role', 'this_device']" ] ||
	fail "device list fields: $(cat "$L")"
[ "$(jget "$L" '[(m["name"], m["role"], m["added_by"]) for m in d]')" = \
	"[('desk', 'device', 'desk'), ('recovery key', 'recovery key', 'desk'), ('laptop', 'device', 'desk'), ('phone', 'device', 'laptop')]" ] ||
	fail "names, roles, added_by: $(cat "$L")"
[ "$(jget "$L" '[m["fingerprint"] for m in d if m["name"] == "laptop"]')" = \
	"['$FPR_LAPTOP']" ] || fail "laptop's fingerprint: $(cat "$L")"
[ "$(jget "$L" '[m["fingerprint"] for m in d if m["name"] == "phone"]')" = \
	"['$FPR_PHONE']" ] || fail "phone's fingerprint: $(cat "$L")"
[ "$(jget "$L" '" ".join(sorted(m["fingerprint"] for m in d))')" = \
	"$(server_fingerprints)" ] ||
	fail "the fingerprints are not those of the keys the server holds: $(cat "$L") vs $(server_fingerprints)"
[ "$(jget "$L" 'all(isinstance(m["added"], int) and '"$T_START"' <= m["added"] <= '"$T_END"' for m in d)')" = True ] ||
	fail "added is not the time of the pairing ($T_START..$T_END): $(cat "$L")"
[ "$(jget "$L" '[m["added"] for m in d] == sorted(m["added"] for m in d)')" = True ] ||
	fail "added out of order: $(cat "$L")"
[ "$(jget "$L" '[m["name"] for m in d if m["this_device"]]')" = "['desk']" ] ||
	fail "desk's this_device: $(cat "$L")"
[ "$(jget "$T/phone.json" '[m["name"] for m in d if m["this_device"]]')" = "['phone']" ] ||
	fail "phone's this_device: $(cat "$T/phone.json")"
[ "$(jget "$T/phone.json" '[{k: v for k, v in m.items() if k != "this_device"} for m in d]')" = \
	"$(jget "$L" '[{k: v for k, v in m.items() if k != "this_device"} for m in d]')" ] ||
	fail "desk and phone see different lists"

log "device list as text: the same, with the approver"
expect 0 as phone coffer device list
grep -qE "^  laptop +$FPR_LAPTOP  device +added [^ ].* by desk$" "$T/out" ||
	{ show_io; fail "laptop's line"; }
grep -qE "^\* phone +$FPR_PHONE  device +added [^ ].* by laptop$" "$T/out" ||
	{ show_io; fail "phone's line"; }
grep -qE "^  desk +[0-9a-f-]{19}  device +added [^ ].* by itself \(account created\)$" "$T/out" ||
	{ show_io; fail "desk's line"; }
has "$T/out" "key epoch 1, chain of 4 records"

log "approval on a terminal: name and fingerprint shown, asked; y adds it"
tty_invite_start desk y
expect 0 as tablet coffer device join --name tablet "$CODE" --timeout 30
inv_wait
[ "$INV_RC" = 0 ] || { cat "$T/tty.txt" >&2; fail "device invite exited $INV_RC"; }
FPR=$(joiner_fpr tablet)
[ -n "$FPR" ] || { show_io; fail "tablet printed no fingerprint"; }
has "$T/tty.txt" "device \"tablet\" with fingerprint $FPR asks to join"
has "$T/tty.txt" "approve it? (compare the fingerprint it shows) [y/N] y"
has "$T/tty.txt" "device added"
has "$T/out" "this device joined the account"
[ "$(members desk)" = "desk/desk recovery key/desk laptop/desk phone/laptop tablet/desk" ] ||
	fail "members: $(members desk)"
[ "$(jget "$T/list.json" '[m["fingerprint"] for m in d if m["name"] == "tablet"]')" = \
	"['$FPR']" ] || fail "tablet's fingerprint: $(cat "$T/list.json")"
expect 0 as tablet coffer snapshots

# refused JOINER: the join that was refused: it failed, saying so (not
# "wrong pairing code"), and the server and the members are as they were
# ($SNAP, $MEMBERS).
refused() {
	grep -q "^coffer device: the other device refused to add this one" "$T/$1.err" ||
		{ cat "$T/$1.err" >&2; fail "$1 was not told of the refusal"; }
	grep -q "wrong pairing code" "$T/$1.err" &&
		{ cat "$T/$1.err" >&2; fail "$1 was told of a wrong code"; }
	[ "$(digest)" = "$SNAP" ] || fail "the refused join changed the server"
	[ "$(members desk)" = "$MEMBERS" ] || fail "members: $(members desk)"
	! ls "$T/$1.cfg/accounts/"*/head >/dev/null 2>&1 ||
		fail "$1 keeps a chain head"
	expect_fail as "$1" coffer snapshots
}

log "n on the terminal refuses it: the joiner fails, nothing is added"
SNAP=$(digest)
MEMBERS=$(members desk)
tty_invite_start desk n
expect_fail as tv coffer device join --name tv "$CODE" --timeout 30
cp "$T/err" "$T/tv.err"
T_JOINED=$(now_s)
inv_wait
[ "$INV_RC" != 0 ] || { cat "$T/tty.txt" >&2; fail "device invite succeeded"; }
# the joiner acknowledged the refusal: the inviter did not wait its 10 s
[ "$(elapsed "$T_JOINED" | cut -d. -f1)" -lt 5 ] ||
	fail "the inviter waited $(elapsed "$T_JOINED") s after the joiner read the refusal"
FPR=$(joiner_fpr tv)
[ -n "$FPR" ] || { show_io; fail "tv printed no fingerprint"; }
has "$T/tty.txt" "device \"tv\" with fingerprint $FPR asks to join"
has "$T/tty.txt" "approve it? (compare the fingerprint it shows) [y/N] n"
has "$T/tty.txt" "pairing refused"
hasnt "$T/tty.txt" "device added"
refused tv

log "no terminal to ask on: refused the same way"
as desk setsid -w "$COFFER" device invite --timeout 60 </dev/null \
	>"$T/inv.out" 2>"$T/inv.err" &
INV=$!
wait_code
expect_fail as tv coffer device join --name tv "$CODE" --timeout 30
cp "$T/err" "$T/tv.err"
inv_wait
[ "$INV_RC" != 0 ] || { cat "$T/inv.err" >&2; fail "device invite succeeded"; }
grep -q "^device \"tv\" with fingerprint $FPR asks to join$" "$T/inv.err" ||
	{ cat "$T/inv.err" >&2; fail "the inviter did not show tv"; }
grep -q "^no terminal to ask for approval on: refused" "$T/inv.err" ||
	{ cat "$T/inv.err" >&2; fail "the inviter did not say why it refused"; }
grep -q "pairing refused" "$T/inv.err" ||
	{ cat "$T/inv.err" >&2; fail "the inviter did not say it refused"; }
refused tv
