#!/bin/bash
# 03-incremental: an unchanged re-backup opens no file and stores nothing;
# after changing 1% of the files only those are read again; --force reads
# everything (and, the data being known, stores nothing); dedup: identical
# files inside one backup and a copy of the whole tree add ~no bytes.
# Which files coffer opens is observed with inotify (watch.py).
#
# A snapshot records the metadata of every ancestor of the path backed up,
# so "stores nothing" needs ancestors nobody else touches: when it can, the
# scenario re-runs itself in a private mount namespace with its own tmpfs
# on /mnt and keeps the source there (other tests creating folders in /tmp
# would otherwise change /tmp's mtime between two backups).
PRIVATE_DATA=1
. "$(dirname "$0")/lib.sh" "$@"

private_data 1g
SRC=$DATA/src
W=$T/opened

log "generate: 2000 files, and two identical 8 MB files"
read -r NFILES NBYTES < <(gen tree "$SRC" --seed 3 --files 2000 --dirs 60 \
	--max 200000 --text 0.5)
head -c 8000000 /dev/urandom >"$SRC/twin-a.bin"
cp "$SRC/twin-a.bin" "$SRC/twin-b.bin"
touch -d '2020-01-01 12:00:00.123456789' "$SRC/twin-a.bin" "$SRC/twin-b.bin" "$SRC"
NFILES=$((NFILES + 2))
NBYTES=$((NBYTES + 16000000))
NONEMPTY=$(find "$SRC" -type f -size +0 -printf . | wc -c)
echo "$NFILES files ($NONEMPTY not empty), $NBYTES bytes"

watch() { python3 "$HERE/watch.py" "$SRC" "$W" -- "$@"; }
nopened() { tr -cd '\0' <"$W" | wc -c; }

expect 0 init_repo

log "first backup: every file read; the twins stored once"
expect 0 watch "$COFFER" backup "$SRC" --json
cp "$T/out" "$T/b1.json"
S1=$(jget "$T/b1.json" 'd["snapshot"]')
echo "first: $(cat "$T/b1.json")"
[ "$(nopened)" = "$NONEMPTY" ] || fail "first backup opened $(nopened) files, not $NONEMPTY"
[ "$(jget "$T/b1.json" 'd["files"]')" = "$NFILES" ] || fail "files"
[ "$(jget "$T/b1.json" 'd["bytes"]')" = "$NBYTES" ] || fail "bytes"
NEW1=$(jget "$T/b1.json" 'd["new_bytes"]')
[ "$NEW1" -lt $((NBYTES - 8000000 + 1000000)) ] ||
	fail "the second twin was stored again: new_bytes $NEW1 of $NBYTES"

log "unchanged re-backup: opens no file, stores nothing"
expect 0 watch "$COFFER" backup "$SRC" --json
cp "$T/out" "$T/b2.json"
echo "unchanged: $(cat "$T/b2.json")"
if [ "$(nopened)" != 0 ]; then
	tr '\0' '\n' <"$W" | head >&2
	fail "an unchanged backup opened $(nopened) files"
fi
python3 - "$T/b2.json" "$S1" "$NFILES" <<'EOF' || fail "unchanged re-backup"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["parent"] == sys.argv[2], d
assert d["files"] == int(sys.argv[3]), d
assert d["unchanged_files"] == d["files"], d
assert d["new_bytes"] == 0, d
assert d["stored_bytes"] == 0, d
assert d["changed_during_read"] == 0 and d["unreadable"] == 0, d
EOF
S2=$(jget "$T/b2.json" 'd["snapshot"]')
expect 0 coffer diff "$S1" "$S2"
has "$T/out" "0 changes"

log "change 1% of the files: only those are read"
gen modify "$SRC" --seed 5 --fraction 0.01 | LC_ALL=C sort >"$T/modified"
NMOD=$(wc -l <"$T/modified")
expect 0 watch "$COFFER" backup "$SRC" --json
cp "$T/out" "$T/b3.json"
echo "1% changed: $(cat "$T/b3.json")"
tr '\0' '\n' <"$W" | LC_ALL=C sort >"$T/reread"
diff -u "$T/modified" "$T/reread" >&2 || fail "files read again != files changed"
python3 - "$T/b3.json" "$NFILES" "$NMOD" <<'EOF' || fail "1% backup"
import json, sys
d = json.load(open(sys.argv[1]))
n, m = int(sys.argv[2]), int(sys.argv[3])
assert d["unchanged_files"] == n - m, d
# new data: at most the changed files' chunks (each < 200 kB here) and trees
assert 0 < d["new_bytes"] < m * 200000 + 500000, d
EOF
expect 0 coffer diff "$S2" latest
[ "$(grep -c '^M  ' "$T/out")" = "$NMOD" ] || { show_io; fail "diff M lines"; }

log "--force: every file read, nothing new stored"
expect 0 watch "$COFFER" backup "$SRC" --force --json
cp "$T/out" "$T/b4.json"
echo "forced: $(cat "$T/b4.json")"
[ "$(nopened)" = "$NONEMPTY" ] || fail "--force opened $(nopened) files, not $NONEMPTY"
python3 - "$T/b4.json" <<'EOF' || fail "--force backup"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["parent"] == "", d            # --force ignores the parent
assert d["unchanged_files"] == 0, d
assert d["new_bytes"] == 0 and d["stored_bytes"] == 0, d
EOF

log "dedup: a copy of the tree elsewhere adds ~no stored bytes"
BEFORE=$(pack_bytes)
cp -a "$SRC" "$T/copy"
expect 0 coffer backup "$T/copy" --json
cp "$T/out" "$T/b5.json"
AFTER=$(pack_bytes)
echo "copy: $(cat "$T/b5.json"); packs grew by $((AFTER - BEFORE)) bytes"
python3 - "$T/b5.json" "$BEFORE" "$AFTER" <<'EOF' || fail "dedup of a copy"
import json, sys
d = json.load(open(sys.argv[1]))
grew = int(sys.argv[3]) - int(sys.argv[2])
assert d["parent"] == "", d               # another path: no parent
assert d["unchanged_files"] == 0, d
assert d["stored_bytes"] == grew, (d, grew)
# only the trees are new (they hold other inode numbers and ctimes)
assert d["stored_bytes"] < d["bytes"] / 100, d
EOF

log "all snapshots restore"
expect 0 coffer restore latest --target "$T/r"
treecmp "$SRC" "$T/r$T/copy" --no-root-meta
expect 0 coffer check --read-data

log "an extended attribute changed on an unchanged file is seen"
# xattrs of entries whose inode and ctime match the parent's are copied
# from the parent snapshot, not read: setting one must change the ctime.
F=$(find "$SRC" -type f -size +0 -print -quit)
if python3 -c 'import os,sys; os.setxattr(sys.argv[1], b"user.coffer", b"one")' "$F" 2>/dev/null; then
	expect 0 coffer backup "$SRC" --json
	python3 -c 'import os,sys; os.setxattr(sys.argv[1], b"user.coffer", b"two")' "$F"
	expect 0 coffer backup "$SRC" --json
	rm -rf "$T/rx"
	expect 0 coffer restore "latest:$F" --target "$T/rx"
	GOT=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], b"user.coffer").decode())' "$T/rx/$(basename "$F")")
	[ "$GOT" = two ] || fail "restored xattr is '$GOT', not 'two'"
else
	echo "note: no user xattrs here; skipped"
fi
