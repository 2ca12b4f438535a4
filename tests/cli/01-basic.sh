#!/bin/bash
# 01-basic: init, backup of a generated tree, snapshots (text and JSON), ls,
# restore compared bit for bit with metadata, dump, diff (+ - M), check.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
R=$T/restore

log "init"
expect 0 init_repo
for d in keys data index snapshots tmp; do
	[ -d "$COFFER_REPO/$d" ] || fail "repository lacks $d/"
done
[ -f "$COFFER_REPO/config" ] || fail "repository lacks config"
[ "$(ls "$COFFER_REPO/keys" | grep -cE '^[0-9a-f]{64}$')" -eq 1 ] ||
	fail "expected one key slot named by 64 hex digits"

log "generate a tree"
read -r NFILES NBYTES < <(gen tree "$SRC" --seed 11 --files 300 --dirs 25 \
	--max 3000000 --big 1:12000000)
mkdir "$SRC/empty dir"
NFILES=$((NFILES))
echo "$NFILES files, $NBYTES bytes"

log "backup (text)"
expect 0 coffer backup "$SRC"
grep -qE '^snapshot [0-9a-f]{8} saved: [0-9]+ files' "$T/out" ||
	{ show_io; fail "no summary line"; }
[ ! -s "$T/err" ] || { show_io; fail "backup wrote to stderr"; }
S1=$(snapshot_ids | tail -n1)
[[ $S1 =~ ^[0-9a-f]{64}$ ]] || fail "bad snapshot id '$S1'"
[ -f "$COFFER_REPO/snapshots/$S1" ] || fail "snapshots/$S1 missing"
has "$T/out" "snapshot ${S1:0:8} saved: $NFILES files"

log "snapshots (text and JSON)"
expect 0 coffer snapshots
has "$T/out" "${S1:0:8}"
has "$T/out" "$SRC"
has "$T/out" "1 snapshots"
expect 0 coffer snapshots --json
python3 - "$T/out" "$S1" "$SRC" "$NFILES" "$NBYTES" <<'EOF' || fail "snapshots --json"
import json, sys
v = json.load(open(sys.argv[1]))
s1, src, nfiles, nbytes = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
assert isinstance(v, list) and len(v) == 1, v
s = v[0]
assert s["id"] == s1, s
assert s["paths"] == [src], s
assert s["files"] == nfiles, (s["files"], nfiles)
assert s["bytes"] == nbytes, (s["bytes"], nbytes)
assert s["user"] == "root" or s["user"], s
assert s["time_ns"] > 1600000000 * 10**9, s
EOF

log "ls"
expect 0 coffer ls latest
grep -aF "$SRC" "$T/out" | sort >"$T/ls.txt"
find "$SRC" | sort >"$T/find.txt"
diff -u "$T/find.txt" "$T/ls.txt" >&2 || fail "ls differs from find"
# the ancestors of the path are in the snapshot too
grep -qx "$(dirname "$SRC")" "$T/out" || fail "ls lacks the parent folder"
F=$(find "$SRC" -type f -size +1k | sort | sed -n 1p)
expect 0 coffer ls --long "latest:$F"
grep -qE "^-[rwx-]{9} +$(id -u) +$(id -g) +$(stat -c %s "$F") .* $F\$" "$T/out" ||
	{ show_io; fail "ls --long line of $F"; }
expect 0 coffer ls --json "${S1:0:8}:$SRC/empty dir"
[ "$(jget "$T/out" 'd["type"] + str(d["mode"])')" = "d$((0755))" ] ||
	{ show_io; fail "ls --json of a folder"; }

log "restore, compare bit for bit"
expect 0 coffer restore latest --target "$R"
has "$T/out" "restored"
treecmp "$SRC" "$R$SRC"

log "dump"
for f in "$F" "$(find "$SRC" -name 'fbig00.bin')" "$(find "$SRC" -type f -size 0 | sed -n 1p)"; do
	[ -n "$f" ] || continue
	coffer dump "latest:$f" >"$T/dumped" || fail "dump $f"
	cmp "$f" "$T/dumped" || fail "dump of $f differs"
done

log "change the tree: add, remove, modify"
ADDED="$SRC/new file.txt"
echo "a new file" >"$ADDED"
mkdir "$SRC/new dir" && echo x >"$SRC/new dir/inner"
REMOVED=$(find "$SRC" -type f -name '*.txt' -size +0 | sort | sed -n 3p)
rm "$REMOVED"
MODIFIED=$(find "$SRC" -type f -name '*.bin' -size +10k | sort | sed -n 2p)
printf 'changed' | dd of="$MODIFIED" bs=1 seek=100 conv=notrunc status=none
sleep 0.01
expect 0 coffer backup "$SRC" --tag second --json
S2=$(jget "$T/out" 'd["snapshot"]')
[ "$(jget "$T/out" 'd["parent"]')" = "$S1" ] || fail "parent of the 2nd backup"
[ "$(jget "$T/out" 'd["unchanged_files"]')" -ge $((NFILES - 3)) ] ||
	{ show_io; fail "2nd backup re-read unchanged files"; }

log "diff"
expect 0 coffer diff "${S1:0:10}" "${S2:0:10}"
grep -E '^[-+M]  ' "$T/out" | sort >"$T/diff.got"
{
	printf '+  %s\n' "$ADDED" "$SRC/new dir" "$SRC/new dir/inner"
	printf -- '-  %s\n' "$REMOVED"
	printf 'M  %s\n' "$MODIFIED"
} | sort >"$T/diff.want"
diff -u "$T/diff.want" "$T/diff.got" >&2 || { show_io; fail "diff output"; }
# only metadata changes (U) otherwise: the folders that were touched
if grep -vE '^([-+MU]  |[0-9]+ changes$)' "$T/out"; then
	fail "unexpected diff lines"
fi
grep -qx "U  $(dirname "$REMOVED")" "$T/out" || fail "no U line for the folder of the removed file"
expect 0 coffer diff "$S2" "$S1" --json
python3 - "$T/out" "$ADDED" "$REMOVED" "$MODIFIED" <<'EOF' || fail "diff --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ch = {r["path"]: r["change"] for r in rows}
assert ch[sys.argv[2]] == "-", ch   # reversed: the added file is removed
assert ch[sys.argv[3]] == "+", ch
assert ch[sys.argv[4]] == "M", ch
EOF
expect 0 coffer diff "$S1" "$S1"
has "$T/out" "0 changes"

log "snapshots: both, tag shown"
expect 0 coffer snapshots --json
[ "$(jget "$T/out" 'len(d)')" = 2 ] || fail "two snapshots expected"
[ "$(jget "$T/out" 'd[1]["tags"]')" = "['second']" ] || fail "tag"
[ "$(jget "$T/out" 'd[1]["id"]')" = "$S2" ] || fail "latest is the 2nd"

log "restore the 2nd snapshot into a fresh target, compare"
expect 0 coffer restore "${S2:0:12}" --target "$T/r2"
treecmp "$SRC" "$T/r2$SRC"
log "restore the 1st snapshot's subfolder only"
SUB=$(find "$SRC" -mindepth 1 -maxdepth 1 -type d -name 'd*' | sort | sed -n 1p)
expect 0 coffer restore "$S1:$SUB" --target "$T/r3"
treecmp "$R$SUB" "$T/r3" --no-root-meta

log "check"
expect 0 coffer check
grep -qE '^checked 2 snapshots, [0-9]+ trees, [0-9]+ packs: 0 errors, 0 warnings$' "$T/out" ||
	{ show_io; fail "check summary"; }
expect 0 coffer check --read-data
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 coffer check --read-data --json
[ "$(jget "$T/out" 'd["errors"], d["warnings"], d["snapshots"]')" = "(0, 0, 2)" ] ||
	{ show_io; fail "check --json"; }
[ "$(jget "$T/out" 'd["blobs_read"] > 0')" = True ] || fail "check --read-data read no blob"
