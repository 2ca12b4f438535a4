#!/bin/bash
# 01-mount: three snapshots (tags, two hosts) mounted read-only: the layout
# (snapshots/, latest, tags/, hosts/), every snapshot compared bit for bit
# with a copy of its source (metadata, xattrs, symlinks, hard links
# included), random reads against the original with a cache small enough
# to evict, parallel readers, writes refused with EROFS, and clean
# unmounts by fusermount3 -u, SIGTERM and SIGINT.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
M=$T/mnt

log "three snapshots"
expect 0 init_repo
gen tree "$SRC" --seed 21 --files 200 --dirs 20 --max 2000000 \
	--big 1:40000000 >/dev/null
python3 - "$SRC" <<'EOF'
import os, sys
root = sys.argv[1]
J = os.path.join
os.makedirs(J(root, "special/empty dir"))
open(J(root, "special/empty"), "wb").close()
with open(J(root, "special/x.txt"), "wb") as f:
    f.write(b"hello through fuse\n")
os.symlink("x.txt", J(root, "special/link"))
os.symlink("/nonexistent/target", J(root, "special/dangling"))
os.link(J(root, "special/x.txt"), J(root, "special/hardlink"))
os.mkfifo(J(root, "special/fifo"))
with open(J(root, "special/sp\u00e4ce & \u65e5\u672c.txt"), "wb") as f:
    f.write(b"unicode\n")
os.setxattr(J(root, "special/x.txt"), "user.color", b"blue")
os.setxattr(J(root, "special/x.txt"), "user.empty", b"")
os.setxattr(J(root, "special"), "user.dir", b"\x00\x01binary")
with open(J(root, "special/sparse"), "wb") as f:
    f.truncate(20 << 20)
    f.seek(10 << 20)
    f.write(b"middle")
EOF
expect 0 coffer backup "$SRC" --tag daily --host alpha
cp -a "$SRC" "$T/orig1"
sleep 1.1
gen modify "$SRC" --seed 5 --fraction 0.2 >/dev/null
echo "second" >>"$SRC/special/x.txt"
expect 0 coffer backup "$SRC" --tag daily --tag "weekly/odd" --host alpha
cp -a "$SRC" "$T/orig2"
sleep 1.1
rm -rf "$SRC/special/empty dir"
gen modify "$SRC" --seed 6 --fraction 0.1 >/dev/null
expect 0 coffer backup "$SRC" --host beta
cp -a "$SRC" "$T/orig3"
mapfile -t IDS < <(snapshot_ids)
[ "${#IDS[@]}" -eq 3 ] || fail "expected 3 snapshots"
D1=$(snap_dir "${IDS[0]}")
D2=$(snap_dir "${IDS[1]}")
D3=$(snap_dir "${IDS[2]}")

log "mount; layout"
mount_start "$M"
# The line is printed just after the mount appears in /proc/mounts.
for i in $(seq 100); do
	grep -qF "3 snapshots on" "$T/mount.log" && break
	sleep 0.05
done
has "$T/mount.log" "3 snapshots on"
[ "$(ls "$M" | tr '\n' ' ')" = "hosts latest snapshots tags " ] ||
	fail "root lists: $(ls "$M")"
[ "$(ls "$M/snapshots" | tr '\n' ' ')" = "$D1 $D2 $D3 " ] ||
	fail "snapshots/ lists: $(ls "$M/snapshots"), want $D1 $D2 $D3"
[ "$(readlink "$M/latest")" = "snapshots/$D3" ] ||
	fail "latest -> $(readlink "$M/latest")"
[ "$(ls "$M/tags" | tr '\n' ' ')" = "daily weekly_odd " ] ||
	fail "tags/ lists: $(ls "$M/tags")"
[ "$(ls "$M/tags/daily" | tr '\n' ' ')" = "$D1 $D2 " ] ||
	fail "tags/daily lists: $(ls "$M/tags/daily")"
[ "$(ls "$M/tags/weekly_odd")" = "$D2" ] || fail "tags/weekly_odd"
[ "$(ls "$M/hosts" | tr '\n' ' ')" = "alpha beta " ] || fail "hosts/"
[ "$(ls "$M/hosts/beta")" = "$D3" ] || fail "hosts/beta"
[ ! -e "$M/tags/daily/$D3" ] || fail "$D3 shown under a tag it lacks"
[ ! -e "$M/nothing" ] || fail "a name that does not exist is there"
[ -d "$M/snapshots/$D1$SRC/special" ] || fail "snapshot paths"
stat -c '%A' "$M/snapshots" | grep -q '^dr-xr-xr-x$' || fail "mode of snapshots/"

log "every snapshot equals its source (bit for bit, metadata)"
treecmp --no-root-meta "$T/orig1" "$M/snapshots/$D1$SRC"
treecmp --no-root-meta "$T/orig2" "$M/tags/weekly_odd/$D2$SRC"
treecmp --no-root-meta "$T/orig3" "$M/latest$SRC"
treecmp --no-root-meta "$T/orig3" "$M/hosts/beta/$D3$SRC"
L=$M/latest$SRC/special
[ "$(readlink "$L/link")" = x.txt ] || fail "readlink"
cmp "$L/link" "$T/orig3/special/x.txt" || fail "read through a symlink"
[ "$(getfattr --absolute-names --only-values -n user.color "$L/x.txt")" = blue ] ||
	fail "getxattr"
getfattr --absolute-names -d -m - "$L/x.txt" >"$T/xa" 2>&1
has "$T/xa" 'user.color="blue"'
has "$T/xa" 'user.empty'
[ "$(stat -c %h "$L/x.txt")" -eq 2 ] || fail "link count of a hard link"
[ "$(stat -c %i "$L/x.txt")" = "$(stat -c %i "$L/hardlink")" ] ||
	fail "hard links do not share an inode number"
[ "$(stat -c %i "$L/x.txt")" != "$(stat -c %i "$M/snapshots/$D1$SRC/special/x.txt")" ] ||
	fail "the same file in two snapshots shares an inode number"
[ -p "$L/fifo" ] || fail "fifo"
find "$M/latest$SRC" | sed "s|^$M/latest||" | sort >"$T/via-mount"
find "$SRC" | sort >"$T/via-src"
diff -u "$T/via-src" "$T/via-mount" >&2 || fail "find through the mount"

log "writes fail with EROFS"
python3 - "$L" <<'EOF' || fail "a write did not fail with EROFS"
import errno, os, sys
d = sys.argv[1]
tries = [
    lambda: open(os.path.join(d, "x.txt"), "r+b"),
    lambda: open(os.path.join(d, "x.txt"), "wb"),
    lambda: open(os.path.join(d, "new"), "wb"),
    lambda: os.mkdir(os.path.join(d, "newdir")),
    lambda: os.unlink(os.path.join(d, "x.txt")),
    lambda: os.rename(os.path.join(d, "x.txt"), os.path.join(d, "y")),
    lambda: os.chmod(os.path.join(d, "x.txt"), 0o600),
    lambda: os.utime(os.path.join(d, "x.txt"), (1, 1)),
    lambda: os.truncate(os.path.join(d, "x.txt"), 0),
    lambda: os.setxattr(os.path.join(d, "x.txt"), "user.new", b"v"),
    lambda: os.symlink("x", os.path.join(d, "sym")),
    lambda: os.mkdir(os.path.join(d, "..", "x")),
]
for i, t in enumerate(tries):
    try:
        t()
    except OSError as e:
        if e.errno != errno.EROFS:
            sys.exit("try %d: %s, not EROFS" % (i, e))
    else:
        sys.exit("try %d succeeded" % i)
EOF

log "unmount with fusermount3 -u"
fusermount3 -u "$M"
mount_wait_gone "$M" "$MPID"
[ "$MRC" -eq 0 ] || fail "coffer mount exited $MRC after fusermount3 -u"

log "random reads with a 16 MiB cache (evictions), parallel readers"
mount_start "$M" --cache-size 16 --threads 2
BIG=$(cd "$T/orig1" && find . -name '*big*' -print -quit)
[ -n "$BIG" ] || fail "no big file"
python3 - "$T/orig1/$BIG" "$M/snapshots/$D1$SRC/$BIG" \
	"$T/orig3/special/sparse" "$M/latest$SRC/special/sparse" \
	<<'EOF' || fail "random reads differ"
import os, random, sys
r = random.Random(7)
for orig, via in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    a = open(orig, "rb").read()
    fd = os.open(via, os.O_RDONLY)
    n = len(a)
    assert os.fstat(fd).st_size == n, "size"
    for i in range(1500):
        k = r.choice([1, 7, 4096, 65536, 131072, 1 << 20, 3 << 20])
        off = r.randrange(0, n + 100)
        if i % 10 == 0:
            off = n - r.randrange(0, 10)   # at the end, past it
        b = os.pread(fd, k, off)
        if b != a[off:off + k]:
            sys.exit("%s: %d bytes at %d differ" % (via, k, off))
    os.close(fd)
EOF
pids=()
i=0
for d in "$D1" "$D2" "$D3"; do
	i=$((i + 1))
	python3 "$HERE/treecmp.py" --no-root-meta "$T/orig$i" \
		"$M/snapshots/$d$SRC" >"$T/par$i" 2>&1 &
	pids+=($!)
	cmp "$T/orig$i/$BIG" "$M/snapshots/$d$SRC/$BIG" >"$T/cmp$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || { cat "$T"/par* "$T"/cmp* >&2; fail "a parallel reader failed"; }
done

log "unmount with SIGTERM"
kill -TERM "$MPID"
mount_wait_gone "$M" "$MPID"
[ "$MRC" -eq 0 ] || fail "coffer mount exited $MRC after SIGTERM"

log "unmount with SIGINT"
mount_start "$M"
cmp "$T/orig2/special/x.txt" "$M/snapshots/$D2$SRC/special/x.txt" ||
	fail "read after a remount"
kill -INT "$MPID"
mount_wait_gone "$M" "$MPID"
[ "$MRC" -eq 0 ] || fail "coffer mount exited $MRC after SIGINT"

log "kill -9 leaves no mount behind (auto_unmount)"
mount_start "$M"
ls "$M/latest/" >/dev/null
disown "$MPID"
kill -KILL "$MPID"
# fusermount3 unmounts once it sees the socket close; on a loaded machine
# (the whole suite in parallel, under sanitizers) that took over 5 s once.
for i in $(seq 600); do mounted "$M" || break; sleep 0.05; done
if mounted "$M"; then
	{
		echo "after 30 s:"
		ps -eo pid,ppid,stat,etime,args | grep -E "fusermount|coffer" |
			grep -v grep
		grep " $(readlink -f "$M") " /proc/mounts
		cat "$T/mount.log"
	} >&2
	fail "a killed coffer mount left its mount"
fi

log "bad input"
expect 2 coffer mount
one_error_line "mount"
expect 2 coffer mount "$M" --cache-size 1
one_error_line "--cache-size"
expect 1 coffer mount "$T/no-such-folder"
one_error_line "no-such-folder"
touch "$T/file"
expect 2 coffer mount "$T/file"
one_error_line "not a folder"
