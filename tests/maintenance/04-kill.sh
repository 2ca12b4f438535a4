#!/bin/bash
# 04-kill: prune killed with SIGKILL at random moments.
# A repository with lots to delete (a tree backed up 6 times, 30% of its
# files replaced each time, forget --keep-last 2).  Then, round after
# round: `prune --grace 0 --max-unused 0` (it carries out the plan of an
# earlier round, repacks, plans: every step gets killed somewhere) is
# killed after a random delay of 0-300 ms (at most 1.2 times as long as a
# whole prune takes here: most kills land in the middle of the work);
# `check` must pass (warnings allowed: packs a
# killed repack stored before indexing them).  After a prune that finished
# before its kill, and every 8 rounds, a new backup and forget make more to
# delete; every 8 rounds the snapshots kept so far restore bit for bit.  At the end a prune --grace 0 runs to completion
# (twice, --max-unused 0: plan, then carry out; a third finds nothing to
# do: the copies killed repacks left are not copied again and again, and
# the packs they stored without indexing them are gone too), check
# --read-data passes without a warning, every snapshot restores bit for
# bit, and the repository holds not much more than its snapshots need.
# COFFER_TEST_SEED=N replays the same kill moments; COFFER_TEST_ROUNDS
# (default 30) sets the number of kills.
. "$(dirname "$0")/lib.sh" "$@"

SEED=${COFFER_TEST_SEED:-$((RANDOM))}
RANDOM=$SEED
ROUNDS=${COFFER_TEST_ROUNDS:-30}
echo "seed $SEED, $ROUNDS rounds"
SRC=$T/src
mkdir -p "$T/states"
read -r NF NB < <(gen tree "$SRC" --seed 41 --files 200 --dirs 15 \
	--min 1000 --max 400000 --text 0.2)
echo "tree: $NF files, $(mib "$NB")"
expect 0 init_repo

N=0
backup() {
	N=$((N + 1))
	[ "$N" = 1 ] || repl replace "$SRC" --seed "$N" --fraction 0.3 >/dev/null
	expect 0 coffer backup "$SRC" --json
	local id
	id=$(jget "$T/out" 'd["snapshot"]')
	cp -a "$SRC" "$T/states/$id"
}
restore_all() {
	local ids id n=0
	ids=$(snapshot_ids)
	for id in $ids; do
		[ -d "$T/states/$id" ] || fail "$1: unknown snapshot $id"
		rm -rf "$T/r"
		expect 0 coffer restore "$id" --target "$T/r" --quiet
		treecmp "$T/states/$id" "$T/r$SRC" --no-root-meta
		n=$((n + 1))
	done
	echo "$1: $n snapshots restore bit for bit"
}
# check_ok WHAT: check exits 0; its only warnings are about unindexed
# packs (what a killed repack stored) or leftovers in tmp/.
check_ok() {
	expect 0 coffer check "$@"
	if grep -v -e '^warning: pack [0-9a-f]\{16\} is in no index file' "$T/err" | grep -q .; then
		show_io
		fail "$WHAT: check said more than warnings about unindexed packs"
	fi
}

log "a history with lots to delete"
for i in 1 2 3 4 5 6; do backup; done
expect 0 coffer forget --keep-last 2 --quiet
PB0=$(pack_bytes)
echo "packs: $(mib "$PB0")"

# How long does a whole prune take here?  Kill moments are spread over
# that (at least 0-300 ms), so that every step gets its share of kills.
rm -rf "$T/copy" "$T/copy.cache"
cp -a "$COFFER_REPO" "$T/copy"
cp -a "$COFFER_CACHE_DIR" "$T/copy.cache"
FULL=0
for i in 1 2; do
	t0=$(now_ms)
	COFFER_REPO=$T/copy COFFER_CACHE_DIR=$T/copy.cache expect 0 "$COFFER" prune --grace 0 --max-unused 0
	t0=$(($(now_ms) - t0))
	[ "$t0" -le "$FULL" ] || FULL=$t0
done
rm -rf "$T/copy" "$T/copy.cache"
SPAN=$((FULL * 6 / 5))
SPAN=$((SPAN < 60 ? 60 : SPAN > 300 ? 300 : SPAN))
echo "a whole prune takes about $FULL ms here: kills after 0-$SPAN ms"

log "$ROUNDS kills"
killed=0 done_=0
for round in $(seq 1 "$ROUNDS"); do
	WHAT="round $round"
	ms=$(( (RANDOM * 32768 + RANDOM) % (SPAN + 1) ))
	"$COFFER" prune --grace 0 --max-unused 0 --json >"$T/p.out" 2>"$T/p.err" &
	pid=$!
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	kill -9 "$pid" 2>/dev/null || true
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	case $rc in
	137) what=killed; killed=$((killed + 1)) ;;
	0) what="done: $(cat "$T/p.out")"; done_=$((done_ + 1)) ;;
	*) cat "$T/p.err" >&2; fail "round $round: prune exited $rc" ;;
	esac
	check_ok
	printf 'round %2d: %3d ms, %s; %d packs, %s, %d unindexed\n' "$round" "$ms" \
		"$what" "$(find "$COFFER_REPO/data" -type f | wc -l)" \
		"$(mib "$(pack_bytes)")" "$(grep -c . "$T/err" || true)"
	[ $((round % 8)) != 0 ] || restore_all "round $round"
	if [ "$rc" = 0 ] || [ $((round % 8)) = 0 ]; then
		# more to delete for the next round
		backup
		expect 0 coffer forget --keep-last 2 --quiet
	fi
done
echo "$killed killed, $done_ completed before the kill"
[ "$killed" -ge $((ROUNDS / 4)) ] || fail "too few prunes were killed"

log "prune to the end (--max-unused 0), twice; check --read-data; restore"
WHAT=final
for i in 1 2; do
	expect 0 coffer prune --grace 0 --max-unused 0 --json
	cat "$T/out"
done
# Killed repacks leave copies of blobs (indexed, with no plan for their
# originals): the two prunes must have dealt with them for good.
expect 0 coffer prune --grace 0 --max-unused 0 --json
cat "$T/out"
[ "$(jget "$T/out" 'd["repacked_packs"] + d["planned_packs"] + d["deleted_packs"]')" = 0 ] ||
	fail "a third prune still found work: duplicates are repacked again and again"
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check --read-data warned after the final prunes (packs of killed runs left?)"; }
restore_all final
NEED=$(repl unique $(for id in $(snapshot_ids); do echo "$T/states/$id"; done))
PB1=$(pack_bytes)
echo "packs $(mib "$PB0") -> $(mib "$PB1"); the snapshots need $(mib "$NEED") (before compression)"
# (packs are padded, Padme: up to ~10% for packs of a few MiB)
[ "$PB1" -le $((NEED + NEED / 10 + (2 << 20))) ] ||
	fail "packs hold $PB1 bytes; the snapshots need $NEED"
log "a backup, two prunes: still clean"
backup
expect 0 coffer prune --grace 0 --quiet
expect 0 coffer prune --grace 0 --quiet
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check --read-data warned"; }
restore_all "after a backup"
