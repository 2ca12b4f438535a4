#!/bin/bash
# 12-prescan: the stat walk that runs while the key is derived
# (lib/engine/prescan.c).  A backup that takes folders from the prescan
# (listed and statted there only) and names whole subtrees again from the
# local cache (not walked, not loaded) must make exactly the snapshot that
# a full walk makes.  So after each such backup, a full walk of the same
# tree (--force: every file read, nothing taken from a parent snapshot, no
# prescan) stores nothing, every tree it makes being there already, and
# counts the same files, folders and bytes.  Changes that touch only
# a ctime (an xattr), only an atime (a read), a link count (a new hard
# link), a symlink, a mode, content, and entries added and removed must
# each be seen.  COFFER_TEST_PRESCAN=wait lets the prescan finish before
# the walk, which otherwise stops it when the key is known; stop:N stops
# it after N folders, as a walk that overtakes it would.
#
# Like 03, in a private mount namespace when it can be: the ancestors of
# the tree backed up must not change between two backups.
PRIVATE_DATA=1
. "$(dirname "$0")/lib.sh" "$@"

private_data 512m
SRC=$DATA/src

log "generate: 800 files in 60 folders and more, links, a fifo"
gen tree "$SRC" --seed 12 --files 800 --dirs 60 --max 30000 --text 0.5 >/dev/null
mkdir -p "$SRC/empty" "$SRC/deep/a/b/c/d"
echo one >"$SRC/deep/a/b/c/d/leaf.txt"
ln -s leaf.txt "$SRC/deep/a/b/c/d/link"
mkfifo "$SRC/deep/a/fifo"
# Each change below happens in a subtree of its own, t0 to t5, one level
# down (tK/sub): the folders around it stay as they were, so each change
# must be seen by itself.
for k in 0 1 2 3 4 5; do
	mkdir -p "$SRC/t$k/sub"
	for f in f1 f2 f3; do
		head -c $((1000 + k * 100)) /dev/urandom >"$SRC/t$k/sub/$f"
	done
	echo "top $k" >"$SRC/t$k/top"
done
# An xattr in a folder no change touches: kept by the reuse and the quick
# path, which copy it from the parent snapshot.
if python3 -c 'import os,sys; os.setxattr(sys.argv[1], b"user.coffer", b"kept")' "$SRC/t0/sub/f3" 2>/dev/null; then
	XATTR=1
else
	XATTR=0
	echo "note: no user xattrs here"
fi
touch -m -d '2020-01-01 00:00:00' "$SRC/t0/sub/f1"
touch -a -d '2001-01-01 00:00:00' "$SRC/t0/sub/f1" # older than its mtime
# Reading a symlink sets its atime once (relatime), and a backup reads
# them: read them now, so that the first backup leaves the tree as it is.
# (After a pause: a read in the same clock tick as the link's creation
# leaves the atime equal to the mtime, and the next read sets it again.)
settle() {
	sleep 0.05
	find "$SRC" -type l -exec readlink {} + >/dev/null
}
settle
NDIRS=$(find "$SRC" -type d | wc -l)
NFILES=$(find "$SRC" -type f | wc -l)
echo "$NDIRS folders, $NFILES files"

expect 0 init_repo

# backup MODE NAME [ARGS...]: a backup with the prescan in MODE; its JSON
# report in $T/NAME.json.
backup() {
	local mode=$1 name=$2
	shift 2
	COFFER_TEST_PRESCAN=$mode
	export COFFER_TEST_PRESCAN
	expect 0 coffer backup "$SRC" --json "$@"
	unset COFFER_TEST_PRESCAN
	cp "$T/out" "$T/$name.json"
	echo "$name ($mode): $(cat "$T/$name.json")"
}
# same NAME REF: backup NAME, a full walk that reads every file (--force:
# nothing taken from a parent snapshot), stored no new tree (nor anything
# else) after backup REF, and counted what REF counted.
same() {
	local k
	[ "$(jget "$T/$1.json" 'd["stored_bytes"]')" = 0 ] ||
		fail "$1: a full walk made trees the prescan's backup $2 did not"
	for k in files dirs bytes; do
		[ "$(jget "$T/$1.json" "d[\"$k\"]")" = "$(jget "$T/$2.json" "d[\"$k\"]")" ] ||
			fail "$1 and $2 count $k differently"
	done
}
j() { jget "$T/$1.json" "$2"; }

log "first backup: no parent, nothing taken from the prescan"
backup wait b1
[ "$(j b1 'd["reused_dirs"]')" = 0 ] || fail "b1 reused a folder"
[ "$(j b1 'd["prescanned_dirs"]')" = 0 ] || fail "b1 used the prescan"

log "unchanged: the whole tree is named again, not walked"
backup wait b2
[ "$(j b2 'd["reused_dirs"]')" = "$NDIRS" ] ||
	fail "b2 reused $(j b2 'd["reused_dirs"]') folders, not $NDIRS"
[ "$(j b2 'd["files"]')" = "$(j b1 'd["files"]')" ] || fail "b2 files"
[ "$(j b2 'd["dirs"]')" = "$(j b1 'd["dirs"]')" ] || fail "b2 dirs"
[ "$(j b2 'd["bytes"]')" = "$(j b1 'd["bytes"]')" ] || fail "b2 bytes"
[ "$(j b2 'd["unchanged_files"]')" = "$(j b2 'd["files"]')" ] ||
	fail "b2 unchanged_files"
backup off b3 --force
same b3 b2
[ "$(j b3 'd["reused_dirs"]')" = 0 ] || fail "b3 had a prescan"

log "changes: xattr, atime, hard link, symlink, mode, content, add, remove"
A0=$(stat -c %X "$SRC/t0/sub/f1")
cat "$SRC/t0/sub/f1" >/dev/null # atime only
A1=$(stat -c %X "$SRC/t0/sub/f1")
[ "$A0" != "$A1" ] || echo "note: reading did not change the atime here"
if [ "$XATTR" = 1 ]; then # ctime only
	python3 -c 'import os,sys; os.setxattr(sys.argv[1], b"user.coffer", b"v2")' "$SRC/t1/sub/f1"
fi
ln "$SRC/t2/sub/f1" "$SRC/t5/f1-link" # t2/sub/f1: links and ctime
chmod 0600 "$SRC/t3/sub/f1"
echo more >>"$SRC/t4/sub/f1"
rm "$SRC/t5/sub/f2"
echo new >"$SRC/t5/sub/new"
rm "$SRC/deep/a/b/c/d/link"
ln -s elsewhere "$SRC/deep/a/b/c/d/link"
settle
backup wait b4
R4=$(j b4 'd["reused_dirs"]')
P4=$(j b4 'd["prescanned_dirs"]')
[ "$R4" -gt 0 ] && [ "$R4" -lt "$NDIRS" ] ||
	fail "b4 reused $R4 of $NDIRS folders: expected some, not all"
[ "$P4" -gt 0 ] || fail "b4 took no folder from the prescan"
backup off b5 --force
same b5 b4

log "the snapshot the prescan made restores what is there"
rm -f "$T/r" -r
expect 0 coffer restore "$(j b4 'd["snapshot"]')" --target "$T/r"
# (b4's tree: the fifo and the new files as they are now)
treecmp "$SRC" "$T/r$SRC" --no-root-meta
if [ "$XATTR" = 1 ]; then
	GOT=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], b"user.coffer").decode())' "$T/r$SRC/t1/sub/f1")
	[ "$GOT" = v2 ] || fail "the xattr set before b4 was not backed up"
	GOT=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], b"user.coffer").decode())' "$T/r$SRC/t0/sub/f3")
	[ "$GOT" = kept ] || fail "an unchanged file's xattr was lost"
fi

log "without the local cache: folders are walked again, then reused"
backup off b5s --force # the atimes that treecmp's reads changed
rm -rf "$COFFER_CACHE_DIR"
backup wait b6
[ "$(j b6 'd["reused_dirs"]')" = 0 ] || fail "b6 reused without a cache"
[ "$(j b6 'd["prescanned_dirs"]')" -gt 0 ] || fail "b6 used no prescan"
[ "$(j b6 'd["stored_bytes"]')" = 0 ] || fail "b6 made new trees"
backup wait b7
[ "$(j b7 'd["reused_dirs"]')" = "$NDIRS" ] || fail "b7 did not reuse all"
backup off b7f --force
same b7f b7

log "a prescan the walk overtakes: some subtrees reused, the rest walked"
echo again >>"$SRC/t4/sub/f2"
backup stop:25 bp
RP=$(j bp 'd["reused_dirs"]')
[ "$RP" -gt 0 ] && [ "$RP" -lt "$NDIRS" ] ||
	fail "bp reused $RP of $NDIRS folders: expected some, not all"
backup off bpf --force
same bpf bp

log "other excludes: a subtree whose entries they change is walked"
backup wait b8 --exclude 'f1-link'
backup off b9 --exclude 'f1-link' --force
same b9 b8
[ "$(j b8 'd["files"]')" = $(($(j b7 'd["files"]') - 1)) ] ||
	fail "b8 did not leave the excluded file out"
expect 0 coffer check
