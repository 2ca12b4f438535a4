#!/bin/bash
# 09-kill: kill -9 a backup of a ~300 MB tree (mixed sizes) at random
# moments, five times in a row on the same repository.  After every kill
# `check` passes (warnings about packs in no index file are expected: they
# are what the killed run had stored).  Then a backup runs to the end: it
# must re-use what the killed runs stored (printed: its stored bytes against
# the source size), the repository must hold no duplicate data, check
# --read-data must be clean, and the snapshot must restore bit for bit.
# COFFER_TEST_SEED=N replays the same kill moments.
. "$(dirname "$0")/lib.sh" "$@"

SEED=${COFFER_TEST_SEED:-$((RANDOM))}
RANDOM=$SEED
echo "seed $SEED"

SRC=$T/src
read -r NFILES NBYTES < <(gen tree "$SRC" --seed 9 --files 400 --dirs 30 \
	--min 1000 --max 3000000 --text 0 --big 3:50000000)
echo "$NFILES files, $NBYTES bytes of random data"
expect 0 init_repo

ROUNDS=5
for round in $(seq 1 $ROUNDS); do
	# kill after 50 ms .. 2 s (a first backup of this tree takes a few s)
	ms=$((50 + RANDOM % 1950))
	"$COFFER" backup "$SRC" --json >"$T/bk.out" 2>"$T/bk.err" &
	pid=$!
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	kill -9 "$pid" 2>/dev/null || true
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	case $rc in
	137) what="killed" ;;
	0) what="completed before the kill" ;;
	*) cat "$T/bk.err" >&2; fail "round $round: backup exited $rc" ;;
	esac
	expect 0 coffer check
	if grep -v '^warning: pack [0-9a-f]\{16\} is in no index file' "$T/err" | grep -q .; then
		show_io
		fail "round $round: check reported more than unindexed packs"
	fi
	printf 'round %d: %s after %d ms; %d packs (%d bytes), %d unindexed, %d files left in tmp/\n' \
		"$round" "$what" "$ms" "$(find "$COFFER_REPO/data" -type f | wc -l)" \
		"$(pack_bytes)" "$(grep -c . "$T/err" || true)" \
		"$(find "$COFFER_REPO/tmp" -type f | wc -l)"
done

log "the next backup completes and re-uses what the killed runs stored"
PRE=$(pack_bytes)
expect 0 coffer backup "$SRC" --json
cp "$T/out" "$T/final.json"
STORED=$(jget "$T/final.json" 'd["stored_bytes"]')
TOTAL=$(pack_bytes)
echo "source $NBYTES bytes; already stored before: $PRE; the completing run stored $STORED; packs now $TOTAL"
[ "$(jget "$T/final.json" 'd["files"]')" = "$NFILES" ] || fail "files"
if [ "$PRE" -gt $((NBYTES / 10)) ]; then
	[ "$STORED" -lt "$NBYTES" ] || fail "the completing run stored as much as a full run"
	# what it stored plus what was there must not exceed one full copy
	# (random data: stored = source + ~1% padding and framing)
	[ "$STORED" -le $((NBYTES - PRE + NBYTES / 20 + (8 << 20))) ] ||
		fail "the completing run did not re-use the $PRE bytes already stored"
fi
[ "$TOTAL" -le $((NBYTES + NBYTES / 20 + (8 << 20))) ] ||
	fail "the repository holds $TOTAL bytes for $NBYTES of data: duplicates"

# Temporary files of killed runs (streamed packs) stay in tmp/ until a
# prune finds them older than its grace period; they are not objects,
# check ignores them.
LEFT=$(find "$COFFER_REPO/tmp" -type f | wc -l)
echo "tmp/ holds $LEFT files, $(du -sk "$COFFER_REPO/tmp" | cut -f1) KiB"

log "check --read-data: no error, no warning"
expect 0 coffer check --read-data
[ ! -s "$T/err" ] || { show_io; fail "check is not clean"; }
has "$T/out" "0 errors, 0 warnings"

log "restore, compare bit for bit"
expect 0 coffer restore latest --target "$T/r"
treecmp "$SRC" "$T/r$SRC"

log "prune removes what killed runs left in tmp/ once older than the grace period, and nothing younger or still locked by its writer"
find "$COFFER_REPO/tmp" -type f -exec touch -d '7 hours ago' {} +
head -c 1000 /dev/urandom >"$COFFER_REPO/tmp/in-flight"
head -c 1000 /dev/urandom >"$COFFER_REPO/tmp/locked"
touch -d '7 hours ago' "$COFFER_REPO/tmp/locked"
# a live writer holds its file locked (a POSIX record lock, as coffer's
# open file description lock would be)
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close(); time.sleep(120)' \
	"$COFFER_REPO/tmp/locked" "$T/locked.ready" &
LOCKER=$!
CLEANUP+=("kill $LOCKER 2>/dev/null")
for _ in $(seq 600); do [ -e "$T/locked.ready" ] && break; sleep 0.05; done
[ -e "$T/locked.ready" ] || fail "the lock holder did not start"
expect 0 coffer prune --json
[ "$(jget "$T/out" 'd["swept"]')" = "$LEFT" ] || fail "prune swept $(jget "$T/out" 'd["swept"]') of $LEFT leftovers"
[ "$(cd "$COFFER_REPO/tmp" && ls | sort | tr '\n' ' ')" = "in-flight locked " ] ||
	fail "tmp/ after prune: $(ls "$COFFER_REPO/tmp")"
kill $LOCKER
wait $LOCKER 2>/dev/null || true
expect 0 coffer prune --json
[ "$(cd "$COFFER_REPO/tmp" && ls)" = "in-flight" ] || fail "the unlocked old file stayed: $(ls "$COFFER_REPO/tmp")"
rm "$COFFER_REPO/tmp/in-flight"
expect 0 coffer check --read-data
