#!/bin/bash
# 02-space: prune gives space back.
#  1. A tree of random data backed up 5 times, 20% of its files replaced
#     before each backup; forget --keep-last 2; prune --grace 0 plans (it
#     deletes nothing: partly used packs are repacked first), a second
#     prune --grace 0 deletes; the repository shrinks (du) to about what the
#     two remaining snapshots need (their distinct file contents, plus the
#     10% --max-unused slack), check --read-data passes and both snapshots
#     restore bit for bit (against copies of the tree taken at each backup).
#     A third prune finds nothing to do.
#  2. --max-unused 0: a pack that is partly used (half the files of a tree
#     deleted, the old snapshot forgotten) is repacked (json repacked_packs
#     > 0) where --max-unused 90 leaves it; after the next prune every pack
#     that the repack replaced is gone, and the repository holds no more
#     than the remaining tree (1% slack).
#  3. Duplicates: two clients (own caches) back up identical trees at the
#     same moment, so each stores every blob; with --max-unused 0 the
#     first prune repacks, the second deletes, a third finds nothing to do
#     (a repack copies only the copy of a blob that counts, not every
#     copy, else duplicates are repacked forever) and one copy is left.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
read -r NF NB < <(gen tree "$SRC" --seed 21 --files 150 --dirs 12 \
	--min 20000 --max 600000 --text 0)
echo "tree: $NF files, $(mib "$NB")"
expect 0 init_repo

log "5 backups, 20% of the files replaced before each"
declare -a IDS
for i in 1 2 3 4 5; do
	[ "$i" = 1 ] || repl replace "$SRC" --seed "$i" --fraction 0.2 >/dev/null
	expect 0 coffer backup "$SRC" --json
	IDS[$i]=$(jget "$T/out" 'd["snapshot"]')
	rm -rf "$T/state$i"
	cp -a "$SRC" "$T/state$i"
done
BEFORE=$(du_repo)
PB0=$(pack_bytes)
NEED=$(repl unique "$T/state4" "$T/state5")
ALL=$(repl unique "$T/state1" "$T/state2" "$T/state3" "$T/state4" "$T/state5")
echo "repository $(mib "$BEFORE") (packs $(mib "$PB0")); all contents $(mib "$ALL"); the last two need $(mib "$NEED")"

log "forget --keep-last 2, prune twice"
expect 0 coffer forget --keep-last 2 --json
[ "$(jget "$T/out" 'sum(1 for x in d if x["keep"])')" = 2 ] || fail "kept"
expect 0 coffer prune --grace 0 --json
cp "$T/out" "$T/p1.json"
cat "$T/p1.json"
python3 - "$T/p1.json" <<'EOF' || fail "first prune"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["snapshots"] == 2, p
assert p["deleted_packs"] == 0 and p["plans_done"] == 0, p   # it only plans
assert p["planned_packs"] > 0 and p["repacked_packs"] > 0, p
EOF
[ "$(du_repo)" -ge "$BEFORE" ] || fail "the first prune deleted something"
expect 0 coffer check
[ -s "$T/err" ] && { show_io; fail "check warned after the first prune"; }
expect 0 coffer prune --grace 0 --json
cp "$T/out" "$T/p2.json"
cat "$T/p2.json"
python3 - "$T/p1.json" "$T/p2.json" <<'EOF' || fail "second prune"
import json, sys
p1 = json.load(open(sys.argv[1])); p2 = json.load(open(sys.argv[2]))
assert p2["plans_done"] == 1, p2
assert p2["deleted_packs"] == p1["planned_packs"], (p1, p2)
assert p2["kept_alive"] == 0, p2
assert p2["planned_packs"] == 0, p2     # nothing left to plan
EOF
AFTER=$(du_repo)
PB1=$(pack_bytes)
echo "repository $(mib "$BEFORE") -> $(mib "$AFTER"); packs $(mib "$PB0") -> $(mib "$PB1")"
[ "$AFTER" -lt "$BEFORE" ] || fail "the repository did not shrink"
# at least the forgotten data went: everything but what the last two need,
# less the 10% slack max-unused allows
[ "$PB1" -le $((NEED + NEED / 10 + (2 << 20))) ] ||
	fail "packs hold $PB1 bytes; the remaining snapshots need $NEED"
[ "$PB1" -ge "$NEED" ] || fail "packs hold less than the snapshots need"
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check --read-data warned"; }
for i in 4 5; do
	rm -rf "$T/r$i"
	expect 0 coffer restore "${IDS[$i]}" --target "$T/r$i" --quiet
	treecmp "$T/state$i" "$T/r$i$SRC" --no-root-meta
done
expect 0 coffer prune --grace 0 --json
python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))
assert p["planned_packs"] == 0 and p["deleted_packs"] == 0 and p["repacked_packs"] == 0, p' "$T/out" ||
	{ show_io; fail "a third prune found something to do"; }

log "--max-unused 0 repacks a partly used pack"
export COFFER_REPO=$T/repo2
SRC2=$T/src2
read -r NF2 NB2 < <(gen tree "$SRC2" --seed 22 --files 60 --dirs 3 \
	--min 50000 --max 200000 --text 0)
expect 0 init_repo
expect 0 coffer backup "$SRC2" --quiet
# delete every other file: each data pack loses about half its bytes
find "$SRC2" -type f | sort | awk 'NR % 2 == 0' | xargs rm -f
expect 0 coffer backup "$SRC2" --quiet
expect 0 coffer forget --keep-last 1 --quiet
find "$COFFER_REPO/data" -type f -printf '%f\n' | sort >"$T/packs.old"
expect 0 coffer prune --grace 0 --max-unused 90 --json
cat "$T/out"
[ "$(jget "$T/out" 'd["repacked_packs"]')" = 0 ] || fail "--max-unused 90 repacked"
expect 0 coffer prune --grace 0 --max-unused 0 --json
cp "$T/out" "$T/p3.json"
cat "$T/p3.json"
REPACKED=$(jget "$T/p3.json" 'd["repacked_packs"]')
[ "$REPACKED" -gt 0 ] || fail "--max-unused 0 repacked nothing"
expect 0 coffer check
[ -s "$T/err" ] && { show_io; fail "check warned after repacking"; }
expect 0 coffer prune --grace 0 --json
cp "$T/out" "$T/p4.json"
cat "$T/p4.json"
[ "$(jget "$T/p4.json" 'd["deleted_packs"]')" -ge "$REPACKED" ] || fail "repacked packs not deleted"
find "$COFFER_REPO/data" -type f -printf '%f\n' | sort >"$T/packs.new"
LEFT=$(comm -12 "$T/packs.old" "$T/packs.new" | wc -l)
OLDN=$(wc -l <"$T/packs.old")
echo "$OLDN packs before, $REPACKED repacked, $LEFT of the old ones left"
[ "$LEFT" -le $((OLDN - REPACKED)) ] || fail "old packs are left"
NEED2=$(repl unique "$SRC2")
PB2=$(pack_bytes)
echo "packs $(mib "$PB2"), the tree needs $(mib "$NEED2")"
[ "$PB2" -le $((NEED2 + NEED2 / 100 + (1 << 20))) ] || fail "space left after --max-unused 0"
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check --read-data warned"; }
rm -rf "$T/r6"
expect 0 coffer restore latest --target "$T/r6" --quiet
treecmp "$SRC2" "$T/r6$SRC2" --no-root-meta

log "duplicates from two clients go, once"
export COFFER_REPO=$T/repo3
expect 0 init_repo
gen tree "$T/d1" --seed 23 --files 60 --dirs 3 --min 10000 --max 300000 --text 0 >/dev/null
cp -a "$T/d1" "$T/d2"
DUP=$(repl unique "$T/d1")
for try in 1 2 3; do
	COFFER_CACHE_DIR=$T/c1 "$COFFER" backup "$T/d1" --quiet &
	p1=$!
	COFFER_CACHE_DIR=$T/c2 "$COFFER" backup "$T/d2" --quiet &
	p2=$!
	wait $p1 || fail "backup d1"
	wait $p2 || fail "backup d2"
	[ "$(pack_bytes)" -gt $((DUP * 3 / 2)) ] && break
	echo "try $try: the two backups did not overlap; again"
done
echo "two copies: packs $(mib "$(pack_bytes)"), one copy $(mib "$DUP")"
for i in 1 2 3; do
	expect 0 coffer prune --grace 0 --max-unused 0 --json
	cp "$T/out" "$T/d$i.json"
	cat "$T/out"
done
[ "$(jget "$T/d3.json" 'd["repacked_packs"] + d["planned_packs"] + d["deleted_packs"]')" = 0 ] ||
	fail "the third prune still found work: duplicates are repacked again and again"
PB3=$(pack_bytes)
echo "after: packs $(mib "$PB3")"
[ "$PB3" -le $((DUP + DUP / 8 + (1 << 20))) ] || fail "more than one copy left"
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check --read-data warned"; }
for d in d1 d2; do
	rm -rf "$T/r$d"
	id=$(coffer snapshots --json | python3 -c 'import json,sys
print([s["id"] for s in json.load(sys.stdin) if s["paths"] == [sys.argv[1]]][-1])' "$T/$d")
	expect 0 coffer restore "$id" --target "$T/r$d" --quiet
	treecmp "$T/$d" "$T/r$d$T/$d" --no-root-meta
done
