#!/bin/bash
# 09-removed-device: after 'coffer device remove tablet', tablet's commands
# fail (the server refuses its key; and should the operator let it in
# again, the chain says it is no longer a device: it gets no account key).
# Given a copy of everything the server holds after the removal (old key
# slots included, as an operator that kept them would), tablet's keys open
# what was written before the removal and nothing written after: forge
# tryzone opens the zone's key slots with the account key tablet had, and
# tries every snapshot, pack and index file with the key ring it gets.
# With 300 more zones, so that the removal must rekey more than 256.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
pair laptop tablet
gen "$T/old" 9
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/old" --quiet
expect 0 dev tablet "$COFFER" snapshots --repo "$URL"
mapfile -t OLD_SNAPS < <(srv ls 1 default snapshots)
mapfile -t OLD_PACKS < <(srv ls 1 default data)
HEAD=$(chain_head 1)
record 1 "${HEAD#* }" "$T/r3.rec"
[ "$(field "$T/r3.rec" subject)" = tablet ] || fail "record 3 is not tablet's"
TABLET_ED=$(field "$T/r3.rec" ed)
W=$(forge show "$T/r3.rec" | awk -v m="$TABLET_ED" '$1=="wrap" && $2==m {print $3}')
record 1 "$W" "$T/tablet.wrap"
read -r AK1 E1 < <(forge unwrap "$T/tablet.cfg" "$T/tablet.wrap")
[ "$E1" = 1 ] || fail "tablet's key is of epoch $E1"
PK=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT hex(pk) FROM devices WHERE hex(pk)=upper(?)", (sys.argv[2],)).fetchone()[0])' "$DATA/meta.db" "$TABLET_ED")

pair tablet watch # its approver's name outlives tablet's removal

log "300 more zones (the removal rekeys every one, not the first 256)"
for i in $(seq -w 0 299); do
	dev laptop "$COFFER" zone create "m$i" --repo "$URL" --quiet ||
		fail "zone create m$i"
done

log "laptop removes tablet"
expect 0 dev laptop "$COFFER" device remove tablet --repo "$URL"
gen "$T/new" 10
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/new" --quiet
for z in m000 m299; do
	expect 0 dev phone "$COFFER" backup --repo "$URL/$z" "$T/new" --quiet
done
expect 0 dev watch "$COFFER" device list --json --repo "$URL"
[ "$(python3 -c 'import json, sys
print([(m["name"], m["added_by"]) for m in json.load(open(sys.argv[1]))])' \
	"$T/out")" = \
	"[('laptop', 'laptop'), ('recovery key', 'laptop'), ('phone', 'laptop'), ('watch', 'tablet')]" ] ||
	{ show_io; fail "device list: who added whom"; }
expect 0 dev phone "$COFFER" backup --repo "$URL" "$T/old" --quiet

log "tablet's commands fail, and write nothing"
snap_server
for c in "device list" "snapshots" "backup $T/old" "check" "zone list" \
	"device remove laptop" "device invite --approve --timeout 3"; do
	# shellcheck disable=SC2086
	expect_fail dev tablet "$COFFER" $c --repo "$URL"
	said "unknown device"
done
unchanged "tablet acting after its removal"

log "the operator lets tablet's key in again: the chain still refuses it"
python3 -c 'import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("INSERT INTO devices(pk, account, scope, created) VALUES(?, 1, 0, ?)", (bytes.fromhex(sys.argv[2]), int(time.time())))' "$DATA/meta.db" "$PK"
snap_server
for c in "device list" "snapshots" "backup $T/old"; do
	# shellcheck disable=SC2086
	expect_fail dev tablet "$COFFER" $c --repo "$URL"
	said "no longer) a device of the account"
done
unchanged "tablet let in"

log "what tablet's old keys open in a copy of the server's data"
srv export 1 default "$T/zone"
forge tryzone "$AK1" 1 "$T/zone" >"$T/try"
cat "$T/try"
grep -q "^slot .* opened epoch 1" "$T/try" || fail "the old slot did not open (test broken)"
if grep -q "^slot .* opened epoch [^1]" "$T/try"; then fail "a new slot opened"; fi
grep -qx "ring 1" "$T/try" || fail "tablet got more than its ring"
for s in "${OLD_SNAPS[@]}"; do
	grep -qx "snapshot $s opened" "$T/try" || fail "old snapshot $s did not open (test broken)"
done
for p in "${OLD_PACKS[@]}"; do
	grep -qx "pack $p opened" "$T/try" || fail "old pack $p did not open (test broken)"
done
n=0
while read -r kind name res; do
	case $kind in snapshot|pack|index) ;; *) continue ;; esac
	old=0
	for o in "${OLD_SNAPS[@]}" "${OLD_PACKS[@]}"; do [ "$o" = "$name" ] && old=1; done
	if [ $old = 0 ] && [ "$kind" != index ]; then
		[ "$res" = refused ] || fail "tablet opened $kind $name, written after its removal"
		n=$((n + 1))
	fi
done <"$T/try"
[ $n -ge 3 ] || fail "only $n new objects tried"
grep -q "^index .* refused" "$T/try" || fail "no new index file refused"
