#!/bin/bash
# 01-cli: forget, tag and prune through the command line.
#  - forget --dry-run (text and --json) and prune --dry-run change nothing
#    in the repository (every file name and size compared);
#  - forget --json is one JSON list with id, keep and reasons per snapshot;
#  - forget without a keep rule, with --keep-last 0, with bad counts or
#    durations is refused with exit 2 and changes nothing;
#  - forget keeps by host+paths group, honours --keep-tag and --host, and
#    writes a forget record in meta/; --keep-within 300y keeps everything;
#  - tag --add/--remove/--set rewrites the snapshot under a new id (same
#    time, same tree, restores identically), the old id is gone;
#  - forget --prune --json: the decisions, then the prune report (one JSON
#    document a line).
. "$(dirname "$0")/lib.sh" "$@"

nsnap() { snapshot_ids | wc -l; }

SRC=$T/src
OTHER=$T/other
gen tree "$SRC" --seed 11 --files 40 --dirs 6 --min 100 --max 200000 >/dev/null
gen tree "$OTHER" --seed 12 --files 10 --dirs 2 --min 100 --max 20000 >/dev/null
expect 0 init_repo

log "a history: 4 backups of src (one tagged), 2 of other, 1 of src as host h2"
for i in 1 2 3 4; do
	gen modify "$SRC" --seed "$i" --fraction 0.2 >/dev/null
	if [ "$i" = 2 ]; then
		expect 0 coffer backup "$SRC" --quiet --tag keepme --tag second
	else
		expect 0 coffer backup "$SRC" --quiet
	fi
done
expect 0 coffer backup "$OTHER" --quiet
expect 0 coffer backup "$OTHER" --quiet
expect 0 coffer backup "$SRC" --quiet --host h2
[ "$(nsnap)" = 7 ] || fail "expected 7 snapshots"
expect 0 coffer snapshots --json
cp "$T/out" "$T/snaps0.json"
HOST=$(jget "$T/snaps0.json" 'd[0]["host"]')
TAGGED=$(jget "$T/snaps0.json" '[s["id"] for s in d if "keepme" in s["tags"]][0]')
H2=$(jget "$T/snaps0.json" '[s["id"] for s in d if s["host"] == "h2"][0]')
S0=$(repo_state)

log "forget --dry-run changes nothing"
expect 0 coffer forget --keep-last 1 --dry-run
has "$T/out" "would go"
grep -c '^forget ' "$T/out" | grep -qx 4 || { show_io; fail "dry run: expected 4 to go"; }
[ "$(repo_state)" = "$S0" ] || fail "forget --dry-run changed the repository"
expect 0 coffer forget --keep-last 1 --dry-run --json
python3 - "$T/out" <<'EOF' || fail "forget --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 7, d
for x in d:
    assert set(x) >= {"id", "time_ns", "host", "keep", "reasons"}, x
    assert len(x["id"]) == 64 and isinstance(x["keep"], bool)
    assert (x["reasons"] != "") == x["keep"], x
kept = [x for x in d if x["keep"]]
assert len(kept) == 3, kept                 # one per host+paths group
assert all(x["reasons"] == "last" for x in kept)
# newest first
t = [x["time_ns"] for x in d]
assert t == sorted(t, reverse=True), t
EOF
[ "$(repo_state)" = "$S0" ] || fail "forget --dry-run --json changed the repository"
expect 0 coffer prune --dry-run --grace 0
has "$T/out" "dry run"
expect 0 coffer forget --keep-last 1 --dry-run --prune --grace 0 --max-unused 0
[ "$(repo_state)" = "$S0" ] || fail "prune --dry-run changed the repository"

log "refused command lines: exit 2, nothing changed"
expect 2 coffer forget
one_error_line "keep"
expect 2 coffer forget --dry-run
expect 2 coffer forget --prune
expect 2 coffer forget --keep-last 0
expect 2 coffer forget --host "$HOST"
expect 2 coffer forget --keep-last x
expect 2 coffer forget --keep-last -1
expect 2 coffer forget --keep-daily 1.5
expect 2 coffer forget --keep-within 5x
expect 2 coffer forget --keep-within 0s
expect 2 coffer forget --keep-within ''
expect 2 coffer forget --keep-last 1 extra-argument
expect 2 coffer forget --keep-last 1 --prune --grace soon
expect 2 coffer forget --keep-last 1 --prune --max-unused 101
expect 2 coffer prune --max-unused -1
expect 2 coffer prune --grace 5q
expect 2 coffer prune extra
expect 2 coffer tag latest
expect 2 coffer tag --add x
[ "$(repo_state)" = "$S0" ] || fail "a refused command changed the repository"
expect 1 coffer tag 0000000000 --add x
one_error_line "0000000000"

log "--keep-within: relative to the newest of each group; long durations keep all"
expect 0 coffer forget --keep-within 1h --dry-run --json
[ "$(jget "$T/out" 'sum(1 for x in d if x["keep"])')" = 7 ] || fail "keep-within 1h"
for dur in 1y 100y 300y 5000y 100000y 1w2d3h4m5s; do
	expect 0 coffer forget --keep-within "$dur" --dry-run --json
	[ "$(jget "$T/out" 'sum(1 for x in d if x["keep"])')" = 7 ] ||
		{ show_io; fail "--keep-within $dur does not keep everything"; }
done

log "--keep-tag and --host"
expect 0 coffer forget --keep-tag keepme --dry-run --json
[ "$(jget "$T/out" '[x["id"] for x in d if x["keep"]]')" = "['$TAGGED']" ] ||
	{ show_io; fail "--keep-tag"; }
expect 0 coffer forget --keep-tag nosuchtag --dry-run --json
[ "$(jget "$T/out" 'sum(1 for x in d if x["keep"])')" = 0 ] || fail "unknown tag"
expect 0 coffer forget --keep-last 1 --host h2 --dry-run --json
[ "$(jget "$T/out" 'sum(1 for x in d if not x["keep"])')" = 0 ] || fail "--host h2"
[ "$(jget "$T/out" '[x["reasons"] for x in d if x["id"] == "'"$H2"'"][0]')" = last ] ||
	fail "--host h2: reason"
expect 0 coffer forget --keep-last 1 --host "$HOST" --dry-run --json
[ "$(jget "$T/out" 'sorted(x["reasons"] for x in d if x["keep"])')" = \
  "['last', 'last', 'other host']" ] || { show_io; fail "--host $HOST"; }
[ "$(repo_state)" = "$S0" ] || fail "a dry run changed the repository"

log "tag: a new id, the old one gone"
OLD=$(jget "$T/snaps0.json" 'd[0]["id"]')
OLDT=$(jget "$T/snaps0.json" 'd[0]["time_ns"]')
expect 0 coffer ls "$OLD" --long
cp "$T/out" "$T/ls.old"
mkdir "$T/r.old"
expect 0 coffer restore "$OLD" --target "$T/r.old" --quiet
expect 0 coffer tag "$OLD" --add alpha --add beta
has "$T/out" "${OLD:0:8}"
expect 0 coffer snapshots --json
cp "$T/out" "$T/snaps1.json"
NEW=$(jget "$T/snaps1.json" '[s["id"] for s in d if s["time_ns"] == '"$OLDT"'][0]')
[ "$NEW" != "$OLD" ] || fail "tag kept the id"
[ "$(nsnap)" = 7 ] || fail "tag changed the number of snapshots"
listed "$OLD" && fail "the old id is still listed"
expect 1 coffer ls "$OLD"
expect 1 coffer tag "$OLD" --add gamma
[ "$(jget "$T/snaps1.json" '[sorted(s["tags"]) for s in d if s["id"] == "'"$NEW"'"][0]')" = \
  "['alpha', 'beta']" ] || fail "tags after --add"
expect 0 coffer ls "$NEW" --long
cmp -s "$T/out" "$T/ls.old" || fail "ls differs after tag"
[ "$(jget "$T/snaps1.json" '[s["paths"] for s in d if s["id"] == "'"$NEW"'"][0]')" = \
  "$(jget "$T/snaps0.json" 'd[0]["paths"]')" ] || fail "paths changed"
mkdir "$T/r.new"
expect 0 coffer restore "$NEW" --target "$T/r.new" --quiet
treecmp "$T/r.old" "$T/r.new" --no-root-meta
[ -n "$(ls "$COFFER_REPO/meta")" ] || fail "tag wrote no forget record"

expect 0 coffer tag "$NEW" --remove alpha --add delta
expect 0 coffer snapshots --json
N2=$(jget "$T/out" 'd[0]["id"]') # oldest: the one we are retagging
expect 0 coffer snapshots --json
[ "$(jget "$T/out" '[sorted(s["tags"]) for s in d if s["time_ns"] == '"$OLDT"'][0]')" = \
  "['beta', 'delta']" ] || { show_io; fail "--remove/--add"; }
expect 0 coffer tag "$N2" --set one --set two
expect 0 coffer snapshots --json
[ "$(jget "$T/out" '[sorted(s["tags"]) for s in d if s["time_ns"] == '"$OLDT"'][0]')" = \
  "['one', 'two']" ] || { show_io; fail "--set"; }
N3=$(jget "$T/out" '[s["id"] for s in d if s["time_ns"] == '"$OLDT"'][0]')
expect 0 coffer tag "$N3" --remove one --remove two
expect 0 coffer snapshots --json
[ "$(jget "$T/out" '[s["tags"] for s in d if s["time_ns"] == '"$OLDT"'][0]')" = "[]" ] ||
	fail "--remove all"
# several snapshots at once
expect 0 coffer snapshots --json
set -- $(jget "$T/out" '" ".join([s["id"] for s in d if "keepme" not in s["tags"]][:2])')
expect 0 coffer tag "$1" "$2" --add both
expect 0 coffer snapshots --json
[ "$(jget "$T/out" 'sum(1 for s in d if "both" in s["tags"])')" = 2 ] || fail "two at once"
for id in "$1" "$2"; do
	listed "$id" && fail "$id still listed after tag"
done
[ "$(nsnap)" = 7 ] || fail "count after tagging two"
# the tagged snapshot keeps its tag for --keep-tag
TAGGED2=$(jget "$T/out" '[s["id"] for s in d if "keepme" in s["tags"]][0]')
[ "$TAGGED2" = "$TAGGED" ] || fail "an untouched snapshot changed id"

log "forget for real: the ids go, a forget record is written"
M0=$(ls "$COFFER_REPO/meta" | wc -l)
expect 0 coffer forget --keep-last 1 --keep-tag keepme --json
cp "$T/out" "$T/forget.json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/forget.json" ||
	fail "forget --json output"
GONE=$(jget "$T/forget.json" '" ".join(x["id"] for x in d if not x["keep"])')
[ "$(jget "$T/forget.json" 'sum(1 for x in d if not x["keep"])')" = 3 ] ||
	{ show_io; fail "expected 3 forgotten"; }
for id in $GONE; do
	listed "$id" && fail "forgotten $id still listed"
done
[ "$(nsnap)" = 4 ] || fail "expected 4 snapshots left"
listed "$TAGGED" || fail "the keepme snapshot went"
[ "$(ls "$COFFER_REPO/meta" | wc -l)" -gt "$M0" ] || fail "no forget record"
# forgetting again finds nothing more to do
expect 0 coffer forget --keep-last 1 --keep-tag keepme
has "$T/out" "0 snapshots forgotten"

log "forget --prune --json: decisions, then the prune report"
expect 0 coffer forget --keep-last 1 --prune --grace 0 --json
python3 - "$T/out" <<'EOF' || { show_io; fail "forget --prune --json"; }
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
assert len(lines) == 2, lines
d = json.loads(lines[0]); p = json.loads(lines[1])
assert isinstance(d, list) and len(d) == 4
assert sum(1 for x in d if not x["keep"]) == 1       # the keepme one
for k in ("snapshots", "deleted_packs", "planned_packs", "repacked_packs",
          "plans_done", "kept_alive", "used_blobs"):
    assert isinstance(p[k], int), k
assert p["snapshots"] == 3 and p["planned_packs"] > 0, p
EOF
expect 0 coffer prune --grace 0 --json
[ "$(jget "$T/out" 'd["plans_done"]')" -ge 1 ] || { show_io; fail "plan not done"; }
[ "$(jget "$T/out" 'd["deleted_packs"]')" -ge 1 ] || { show_io; fail "nothing deleted"; }
expect 0 coffer check --read-data
[ -s "$T/err" ] && { show_io; fail "check warned"; }
# the remaining snapshots restore; the newest of src is the tree now
LATEST_SRC=$(coffer snapshots --json | python3 -c 'import json,sys
d=json.load(sys.stdin); print([s["id"] for s in d if s["paths"]==["'"$SRC"'"] and s["host"]=="'"$HOST"'"][-1])')
mkdir "$T/r.latest"
expect 0 coffer restore "$LATEST_SRC" --target "$T/r.latest" --quiet
treecmp "$SRC" "$T/r.latest/${SRC#/}"
# a backup after all this
gen modify "$SRC" --seed 99 --fraction 0.3 >/dev/null
expect 0 coffer backup "$SRC" --quiet
mkdir "$T/r.after"
expect 0 coffer restore latest --target "$T/r.after" --quiet
treecmp "$SRC" "$T/r.after/${SRC#/}"
expect 0 coffer check --read-data
