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
invite_start() {
	local old=$1 i
	shift
	as "$old" coffer device invite --timeout 60 "$@" \
		>"$T/inv.out" 2>"$T/inv.err" &
	INV=$!
	for i in $(seq 1 200); do
		grep -q 'coffer device join' "$T/inv.out" && break
		sleep 0.05
	done
	CODE=$(sed -n 's/^ *coffer device join .* NAME \(.*\)$/\1/p' "$T/inv.out")
	[ -n "$CODE" ] || { cat "$T/inv.out" "$T/inv.err" >&2; fail "no pairing code"; }
}
# fingerprints NEW: what NEW printed when joining ($FPR_JOIN) and what the
# inviter showed for approval ($FPR_INV).
fingerprints() {
	FPR_JOIN=$(sed -n "s/^this device: \"$1\", fingerprint \([0-9a-f-]*\) (.*/\1/p" "$T/err")
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
# server_fingerprints: the fingerprint of each device key the server holds
# (BLAKE2b-256 of the Ed25519 key, 8 bytes in hex, in groups of 4), sorted.
server_fingerprints() {
	python3 - "$SRV_DATA/meta.db" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
out = []
for (pk,) in db.execute("SELECT pk FROM devices"):
    h = hashlib.blake2b(bytes(pk), digest_size=32).hexdigest()[:16]
    out.append("-".join(h[i:i + 4] for i in range(0, 16, 4)))
print(" ".join(sorted(out)))
PY
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
