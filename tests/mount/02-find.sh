#!/bin/bash
# 02-find: coffer find across three snapshots: one line per distinct
# (path, size, mtime) with the snapshots holding it, newest first; a name
# pattern and a path pattern; --newest; --json; folders met again in a
# later snapshot are not read again; bad input.
. "$(dirname "$0")/../cli/lib.sh" "$@"

SRC=$T/src

log "three snapshots"
expect 0 init_repo
mkdir -p "$SRC/docs/old" "$SRC/photos/2024" "$SRC/big/a/b/c"
echo "v1" >"$SRC/notes.txt"
echo "report" >"$SRC/docs/report.pdf"
echo "older" >"$SRC/docs/old/report.pdf"
echo "jpeg" >"$SRC/photos/2024/cat.jpg"
for i in $(seq 200); do echo "$i" >"$SRC/big/a/b/c/f$i.dat"; done
touch -d '2020-01-02 03:04:05' "$SRC/notes.txt"
expect 0 coffer backup "$SRC"
echo "version two" >"$SRC/notes.txt"
touch -d '2021-01-02 03:04:05' "$SRC/notes.txt"
echo "new" >"$SRC/photos/2024/dog.jpg"
expect 0 coffer backup "$SRC"
expect 0 coffer backup "$SRC"
mapfile -t IDS < <(snapshot_ids)
S1=${IDS[0]} S2=${IDS[1]} S3=${IDS[2]}

log "a name: two versions, newest first"
expect 0 coffer find notes.txt
cat "$T/out"
[ "$(grep -c "^$SRC/notes.txt  " "$T/out")" -eq 2 ] || fail "want 2 lines"
head -n1 "$T/out" | grep -qF "12 B  2021-01-02 03:04:05  in 2 snapshots: ${S3:0:8} ${S2:0:8}" ||
	{ show_io; fail "first line"; }
sed -n 2p "$T/out" | grep -qF "3 B  2020-01-02 03:04:05  in 1 snapshot: ${S1:0:8}" ||
	{ show_io; fail "second line"; }
has "$T/out" "2 matches in 3 snapshots"

log "folders met again are not read again"
grep -qE '\(([0-9]+) folders read, [1-9][0-9]* reused\)' "$T/out" ||
	fail "no folder reused"
READ=$(sed -nE 's/.*\(([0-9]+) folders read.*/\1/p' "$T/out")
ALL=$(($(find "$SRC" -type d | wc -l) + $(echo "$SRC" | tr -cd / | wc -c)))
# the first snapshot is read whole (its folders and the ancestors of
# $SRC); the second and third only where they changed
[ "$READ" -lt $((2 * ALL)) ] || fail "read $READ folders for 3 snapshots of $ALL"

log "glob on names, folders, no match"
expect 0 coffer find '*.jpg'
has "$T/out" "$SRC/photos/2024/cat.jpg  5 B"
has "$T/out" "in 3 snapshots"
has "$T/out" "$SRC/photos/2024/dog.jpg  4 B"
has "$T/out" "in 2 snapshots: ${S3:0:8} ${S2:0:8}"
expect 0 coffer find 2024
has "$T/out" "$SRC/photos/2024/  -"
expect 0 coffer find 'nothing*here'
has "$T/out" "0 matches in 3 snapshots"
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "output for no match"

log "a pattern with a slash matches the whole path"
expect 0 coffer find "$SRC/docs/*.pdf"
has "$T/out" "$SRC/docs/report.pdf"
has "$T/out" "$SRC/docs/old/report.pdf" # '*' crosses '/', as in --exclude
expect 0 coffer find "*/old/*.pdf"
has "$T/out" "$SRC/docs/old/report.pdf"
hasnt "$T/out" "$SRC/docs/report.pdf  "
expect 0 coffer find "docs/*.pdf"
has "$T/out" "0 matches"

log "--newest"
expect 0 coffer find notes.txt --newest 1
[ "$(grep -c "notes.txt" "$T/out")" -eq 1 ] || fail "--newest 1: lines"
has "$T/out" "in 1 snapshot: ${S3:0:8}"
has "$T/out" "1 matches in 1 snapshots"
expect 0 coffer find dog.jpg --newest 2
has "$T/out" "in 2 snapshots"

log "--json"
expect 0 coffer find '*.txt' --json
python3 - "$T/out" "$SRC" "$S1" "$S2" "$S3" <<'PY' || fail "find --json"
import json, sys, os
v = json.load(open(sys.argv[1]))
src, s1, s2, s3 = sys.argv[2:]
assert isinstance(v, list) and len(v) == 2, v
a, b = v
assert a["path"] == b["path"] == src + "/notes.txt", v
assert a["snapshots"] == [s3, s2] and b["snapshots"] == [s1], v
assert a["type"] == "-" and a["size"] == 12 and b["size"] == 3, v
assert a["mtime"] == int(os.stat(src + "/notes.txt").st_mtime), v
PY
expect 0 coffer find "f1*.dat" --json --newest 2
python3 - "$T/out" <<'PY' || fail "find --json f1*"
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 111, len(v)   # f1, f10-f19, f100-f199
assert all(len(m["snapshots"]) == 2 for m in v), v
assert [m["path"] for m in v] == sorted(m["path"] for m in v)
PY

log "bad input"
expect 2 coffer find
one_error_line "PATTERN"
expect 2 coffer find x --newest 0
one_error_line "--newest"
expect 2 coffer find x --newest abc
one_error_line "--newest"
expect 2 coffer find ''
one_error_line "empty"
