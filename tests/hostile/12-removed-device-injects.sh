#!/bin/bash
# 12-removed-device-injects: a removed device that colludes with the
# operator tries to add data that the remaining devices accept: the
# operator lets tablet's key in again, shows it the chain as it last saw it
# (before its removal), brings back the zone's old key slot and hides what
# was written after the removal; tablet backs up with the old key version;
# the operator then puts everything back.  (While the new epoch's key slot
# is in sight, tablet's backup stops before writing its snapshot: the
# guard against a backup overlapping a removal.)  The removal wrote a cover record
# (sealed with the new key version) naming the snapshots of the old one, so
# laptop refuses tablet's snapshot with a security alert (exit 20), still
# lists its own, and hiding the cover refuses every old snapshot (it fails
# closed) instead of letting one in.
. "$(dirname "$0")/lib.sh" "$@"
SETUP_RC=99

start_server
new_account laptop
pair laptop tablet
gen "$T/old" 12
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/old" --quiet
expect 0 dev tablet "$COFFER" snapshots --repo "$URL"
SEEN=$(chain_head 1) # the head tablet saw last
record 1 "${SEEN#* }" "$T/r2.rec"
[ "$(field "$T/r2.rec" subject)" = tablet ] || fail "record 2 is not tablet's"
PK=$(field "$T/r2.rec" ed)
mapfile -t BEFORE < <(for k in data index snapshots; do srv ls 1 default $k | sed "s/^/$k /"; done)

expect 0 dev laptop "$COFFER" device remove tablet --repo "$URL"
gen "$T/new" 13
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/new" --quiet
HEAD=$(chain_head 1)

log "the operator stages the old world for tablet"
python3 -c 'import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("INSERT INTO devices(pk, account, scope, created) VALUES(?, 1, 0, ?)", (bytes.fromhex(sys.argv[2]), int(time.time())))' "$DATA/meta.db" "$PK"
srv ref-set 1 _account chain "$SEEN"
mapfile -t OLDSLOTS < <(comm -13 <(srv ls 1 default keys | sort) <(srv ls 1 default keys --all | sort))
for k in "${OLDSLOTS[@]}"; do srv undelete 1 default keys "$k"; done
HIDDEN=()
for k in data index snapshots; do
	for n in $(srv ls 1 default $k); do
		printf "%s\n" "${BEFORE[@]}" | grep -x "$k $n" >/dev/null && continue
		srv delete 1 default $k "$n" --soft
		HIDDEN+=("$k $n")
	done
done
log "while a slot of a newer epoch is there, tablet's backup stops before its snapshot"
expect 1 dev tablet "$COFFER" backup --repo "$URL" "$T/old" --quiet
grep -q "keys were rotated while this ran" "$T/err" || { show_io; fail "no word of the rotation"; }
# so the operator hides the new epoch's slot too
mapfile -t NEWSLOTS < <(comm -23 <(srv ls 1 default keys | sort) <(printf "%s\n" "${OLDSLOTS[@]}" | sort))
for k in "${NEWSLOTS[@]}"; do srv delete 1 default keys "$k" --soft; done
mkdir -p "$T/evil"
echo "planted by the removed tablet" >"$T/evil/readme.txt"
expect 0 dev tablet "$COFFER" backup --repo "$URL" "$T/evil" --quiet

log "the operator puts everything back"
for h in "${HIDDEN[@]}"; do srv undelete 1 default ${h% *} "${h#* }"; done
for k in "${OLDSLOTS[@]}"; do srv delete 1 default keys "$k" --soft; done
for k in "${NEWSLOTS[@]}"; do srv undelete 1 default keys "$k"; done
srv ref-set 1 _account chain "$HEAD"
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("DELETE FROM devices WHERE hex(pk)=?", (sys.argv[2],))' "$DATA/meta.db" "$PK"

log "laptop: is tablet's snapshot, written after its removal, refused?"
SETUP_RC=1
run dev laptop "$COFFER" snapshots --repo "$URL" --json
if [ "$RC" -eq 0 ] && grep -qF "$T/evil" "$T/out"; then
	expect 0 dev laptop "$COFFER" restore latest --repo "$URL" --target "$T/r"
	fail "laptop accepts (and restores: $(cat "$T/r$T/evil/readme.txt")) a snapshot the removed tablet wrote after its removal"
fi
[ "$RC" -eq 20 ] || { show_io; fail "snapshots exited $RC, expected the security alert (20)"; }
grep -q "SECURITY ALERT.*retired key version" "$T/err" || { show_io; fail "no alert naming the retired key version"; }
grep -qF "$T/old" "$T/out" || { show_io; fail "the snapshot from before the removal is no longer listed"; }
grep -qF "$T/new" "$T/out" || { show_io; fail "the snapshot from after the removal is not listed"; }
grep -qF "$T/evil" "$T/out" && fail "tablet's snapshot is listed"
cp "$T/out" "$T/snaps.json"
log "laptop: restore latest refuses while a record is refused; its own restore by ID"
expect 1 dev laptop "$COFFER" restore latest --repo "$URL" --target "$T/r"
OLD=$(python3 -c 'import json, sys; print([s["id"] for s in json.load(open(sys.argv[1])) if any(p.endswith("/old") for p in s["paths"])][0])' "$T/snaps.json")
expect 0 dev laptop "$COFFER" restore "$OLD" --repo "$URL" --target "$T/r"
diff -r "$T/old" "$T/r$T/old" >/dev/null || fail "the old snapshot does not restore bit for bit"

log "the operator hides the cover record: old snapshots are refused, not let in"
mapfile -t META < <(srv ls 1 default meta)
[ "${#META[@]}" -ge 1 ] || fail "no cover record on the server"
for m in "${META[@]}"; do srv delete 1 default meta "$m" --soft; done
run dev laptop "$COFFER" snapshots --repo "$URL" --json
[ "$RC" -eq 20 ] || { show_io; fail "snapshots without the cover exited $RC, expected 20"; }
grep -qF "$T/old" "$T/out" && fail "an old snapshot is accepted without its cover"
grep -qF "$T/evil" "$T/out" && fail "tablet's snapshot is accepted without the cover"
grep -qF "$T/new" "$T/out" || fail "the snapshot of the current key version is not listed"
for m in "${META[@]}"; do srv undelete 1 default meta "$m"; done
echo "laptop refused the snapshot tablet wrote after its removal"
