#!/bin/bash
# 05-parent-shortcut: a backup that started after a plan must not make a
# snapshot that needs a planned pack.  An unchanged file used to keep its
# parent's chunk list without a look at the plans, so the new snapshot
# could name blobs whose only copy was in a planned pack; now such a file
# is read again (lib/engine/backup.c, needs_doomed).
#
# Every step keeps prune's rule (no backup runs longer than the grace
# period, 8 s here; each one's run time is checked):
#   1. backup B1 of a 100 MB tree is paused (SIGSTOP) once it has stored a
#      pack but not yet indexed it;
#   2. prune --grace 8s: B1's stored pack is in no index and no snapshot
#      uses it: planned (plan P, time tp);
#   3. B1 resumes and saves S1 (using that pack) within the grace period;
#   4. backup B2 of the same tree plus a new 110 MB file starts after P
#      (3 s after it, so that B2 too can end within the grace period):
#      the 100 MB are unchanged, their chunk lists come from S1 (parent);
#      B2 is paused once it stores a pack (its new file).  The file is
#      bigger than the packer's three open data packs at their largest
#      target (3 x 32 MiB), so a pack closes before the backup's end: a
#      smaller file's packs are all stored at its final flush, and B2
#      could save its snapshot before the SIGSTOP landed (seen once in CI,
#      under load);
#   5. forget --keep-tag keep drops S1 (no snapshot has that tag);
#   6. after tp + 8 s, prune --grace 8s carries P out: no snapshot uses
#      B1's pack any more: deleted;
#   7. B2 resumes and saves S2, which names blobs of the deleted pack.
# Expected (and checked): S2 restores bit for bit and check --read-data is
# clean.  Today check reports missing blobs and the restore fails.
# Exit 77 (skip) when the timing could not be arranged (e.g. B1 finished
# before it could be paused).
. "$(dirname "$0")/lib.sh" "$@"

GRACE=8
SRC=$T/src
gen tree "$SRC" --seed 51 --files 1 --dirs 0 --max 1000 --big 20:5000000 \
	>/dev/null
# B2's new file, made now (it takes a while) and moved in at step 4.
gen tree "$T/new" --seed 52 --files 0 --dirs 0 --big 1:110000000 >/dev/null
expect 0 init_repo
npacks() { find "$COFFER_REPO/data" -type f | wc -l; }
# pause_at_pack PID N: SIGSTOP PID once the repository holds more than N
# packs; 1 if PID ended first.
pause_at_pack() {
	local pid=$1 n=$2 i
	for i in $(seq 1 2000); do
		if [ "$(npacks)" -gt "$n" ]; then
			kill -STOP "$pid"
			# Stopped, not ended already (its last pack is renamed
			# into place just before it saves its snapshot): a zombie
			# takes the signal too.
			sleep 0.05
			[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = T ]
			return
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}
elapsed_ms() { echo $(($(now_ms) - $1)); }

log "1. B1, paused after its first pack"
t1=$(now_ms)
"$COFFER" backup "$SRC" --json >"$T/b1.out" 2>"$T/b1.err" &
B1=$!
CLEANUP+=("kill -CONT $B1 2>/dev/null || true")
pause_at_pack "$B1" 0 || skip "B1 ended before it stored a pack"
[ -z "$(ls "$COFFER_REPO/index")" ] || { kill -CONT "$B1"; skip "B1 indexed its packs already"; }

log "2. prune plans B1's unindexed pack"
expect 0 coffer prune --grace ${GRACE}s --json
tp=$(now_ms)
cat "$T/out"
[ "$(jget "$T/out" 'd["planned_packs"]')" -ge 1 ] ||
	skip "nothing planned (this prune does not plan unindexed packs?)"

log "3. B1 resumes, saves S1"
kill -CONT "$B1"
wait "$B1" || { cat "$T/b1.err" >&2; fail "B1"; }
b1ms=$(elapsed_ms "$t1")
S1=$(jget "$T/b1.out" 'd["snapshot"]')
echo "B1 ran $b1ms ms (paused included), ended $(elapsed_ms "$tp") ms after the plan"
[ "$(elapsed_ms "$tp")" -lt $((GRACE * 1000 - 1500)) ] ||
	skip "B1 ended too late for the rest of the timing"

log "4. B2 (parent S1) with a new file, paused at its first new pack"
mv "$T/new" "$SRC/new"
n=$(npacks)
while [ "$(elapsed_ms "$tp")" -lt 3000 ]; do sleep 0.05; done
t2=$(now_ms)
"$COFFER" backup "$SRC" --json >"$T/b2.out" 2>"$T/b2.err" &
B2=$!
CLEANUP+=("kill -CONT $B2 2>/dev/null || true")
pause_at_pack "$B2" "$n" || skip "B2 ended before it stored a pack"
[ "$(snapshot_ids | wc -l)" = 1 ] ||
	{ kill -CONT "$B2"; skip "B2 saved its snapshot before the SIGSTOP landed"; }

log "5. forget --keep-tag keep: S1 goes"
expect 0 coffer forget --keep-tag keep --json
[ "$(jget "$T/out" '[x["id"] for x in d if not x["keep"]]')" = "['$S1']" ] ||
	{ kill -CONT "$B2"; show_io; fail "forget"; }

log "6. prune after the grace period carries the plan out"
while [ "$(elapsed_ms "$tp")" -le $((GRACE * 1000 + 100)) ]; do sleep 0.05; done
expect 0 coffer prune --grace ${GRACE}s --json
cat "$T/out"

log "7. B2 resumes, saves S2"
kill -CONT "$B2"
wait "$B2" || { cat "$T/b2.err" >&2; fail "B2"; }
b2ms=$(elapsed_ms "$t2")
echo "B2 ran $b2ms ms (paused included)"
[ "$b2ms" -lt $((GRACE * 1000)) ] || skip "B2 ran longer than the grace period"
[ "$(jget "$T/b2.out" 'd["parent"]')" = "$S1" ] || fail "B2's parent is not S1"
# The fix: unchanged files whose chunks live only in a planned pack are
# read again (stored anew), so B2 counts them as read, not unchanged.
echo "B2 unchanged files: $(jget "$T/b2.out" 'd["unchanged_files"]')"

log "S2 must be whole"
run coffer check --read-data
cat "$T/out" "$T/err"
[ "$RC" = 0 ] || fail "KNOWN BUG: check --read-data fails: S2 (a backup started after the plan) names blobs of a pack the plan deleted"
rm -rf "$T/r"
expect 0 coffer restore latest --target "$T/r" --quiet
treecmp "$SRC" "$T/r$SRC" --no-root-meta
