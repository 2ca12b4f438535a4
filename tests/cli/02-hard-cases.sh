#!/bin/bash
# 02-hard-cases: 100k small files, 400-level nesting (deeper than PATH_MAX),
# names that are not UTF-8 or hold newlines/spaces, hard links, symlinks
# (loop, dangling), empty files and folders, a fifo, a device, a sparse
# 4 GiB file, xattrs, modes 0000/4755/2755/1777, owners, mtimes before 1970
# and after 2100 with nanoseconds.  Backup, restore, compare bit for bit.
. "$(dirname "$0")/lib.sh" "$@"
[ "$(id -u)" = 0 ] || skip "needs root (other owners, a device, a mode-000 folder)"

SRC=$T/src
R=$T/restore
# The 100k small files are a test of scale, not of the file system: when a
# tmpfs can be mounted they live (with their restored copy) in one, which
# keeps this scenario from drowning a shared disk in metadata writes.  They
# are backed up in the same snapshot, as a second path.
FAST=$T/fast
mkdir "$FAST"
if mount -t tmpfs -o size=2g,mode=755 coffer-cli-many "$FAST" 2>/dev/null; then
	CLEANUP+=("umount -l '$FAST'")
else
	echo "note: no tmpfs; the 100k files go to the disk"
fi
MANY=$FAST/many
python3 - "$MANY" <<'EOF'
import os, sys
many = os.fsencode(sys.argv[1])
os.mkdir(many)
for d in range(100):
    dp = os.path.join(many, b"d%03d" % d)
    os.mkdir(dp)
    for f in range(1000):
        with open(os.path.join(dp, b"f%04d" % f), "wb") as fh:
            fh.write(b"small file %d/%d\n" % (d, f) * (f % 5))
EOF

expect 0 init_repo

log "generate"
XATTRS=$(python3 - "$SRC" <<'EOF'
import os, sys
root = os.fsencode(sys.argv[1])
J = os.path.join
os.makedirs(root)

# nesting 400 deep: 400 * 21 bytes, deeper than PATH_MAX (4096)
deep = J(root, b"deep")
os.mkdir(deep)
fd = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
for i in range(400):
    name = b"level-%03d-abcdefghij" % i
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
leaf = os.open(b"bottom.txt", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
os.write(leaf, b"at the bottom\n")
xattrs = True
try:
    os.setxattr(leaf, b"user.deep", b"xattr at depth 400")
except OSError:
    xattrs = False
os.close(leaf)
os.close(fd)

# names
names = J(root, b"names")
os.mkdir(names)
for n in [b"\xff\xfe not utf-8", b"caf\xe9 latin-1", b"\x80", b"line1\nline2",
          b" leading and trailing spaces ", b"tab\there", b"back\\slash",
          b"quote\"s and 'single'", b"-starts-with-dash", b"*?[glob]",
          "emoji \U0001F600 \u00e9t\u00e9".encode(), b"x" * 255,
          b"colon:in:name", b"percent %s %n", b"\x01\x02\x1b[31mcontrol"]:
    with open(J(names, n), "wb") as fh:
        fh.write(b"content of " + n)
os.mkdir(J(names, b"dir \xff\n with newline"))
with open(J(names, b"dir \xff\n with newline", b"inner\xfe"), "wb") as fh:
    fh.write(b"inner")

# hard links: a group of three, a group of two empty files
links = J(root, b"links")
os.makedirs(J(links, b"sub"))
with open(J(links, b"a"), "wb") as fh:
    fh.write(os.urandom(100000))
os.link(J(links, b"a"), J(links, b"b"))
os.link(J(links, b"a"), J(links, b"sub", b"c"))
open(J(links, b"empty1"), "wb").close()
os.link(J(links, b"empty1"), J(links, b"sub", b"empty2"))

# symlinks
sl = J(root, b"symlinks")
os.mkdir(sl)
os.symlink(b"../links/a", J(sl, b"relative"))
os.symlink(J(links, b"a"), J(sl, b"absolute"))
os.symlink(b"does/not/exist", J(sl, b"dangling"))
os.symlink(b"loop2", J(sl, b"loop1"))
os.symlink(b"loop1", J(sl, b"loop2"))
os.symlink(b"self", J(sl, b"self"))
os.symlink(b"../links", J(sl, b"to-dir"))
os.symlink(b"\xff target not utf-8", J(sl, b"odd-target"))

# empty things, fifo, device
sp = J(root, b"special")
os.makedirs(J(sp, b"empty-dir"))
os.makedirs(J(sp, b"nested", b"empty", b"dirs"))
open(J(sp, b"empty-file"), "wb").close()
os.mkfifo(J(sp, b"fifo"), 0o640)
try:
    os.mknod(J(sp, b"null-device"), 0o600 | 0o020000, os.makedev(1, 3))
except OSError:
    pass

# a sparse 4 GiB file with data at the start, middle and end
sparse = J(root, b"sparse.img")
with open(sparse, "wb") as fh:
    fh.truncate(4 << 30)
    fh.seek(0); fh.write(b"BEGIN")
    fh.seek((2 << 30) + 12345); fh.write(b"MIDDLE")
    fh.seek((4 << 30) - 3); fh.write(b"END")

# xattrs on a file, a folder, binary and empty values
xa = J(root, b"xattrs")
os.mkdir(xa)
with open(J(xa, b"file"), "wb") as fh:
    fh.write(b"has xattrs")
if xattrs:
    os.setxattr(J(xa, b"file"), b"user.text", b"hello")
    os.setxattr(J(xa, b"file"), b"user.binary", bytes(range(256)))
    os.setxattr(J(xa, b"file"), b"user.empty", b"")
    os.setxattr(xa, b"user.on-folder", b"folder value")

# modes and owners
m = J(root, b"modes")
os.mkdir(m)
for name, mode in [(b"m0000", 0o000), (b"m4755", 0o4755), (b"m2755", 0o2755),
                   (b"m0777", 0o777), (b"m0400", 0o400)]:
    with open(J(m, name), "wb") as fh:
        fh.write(name)
    os.chmod(J(m, name), mode)
os.mkdir(J(m, b"sticky1777"))
os.chmod(J(m, b"sticky1777"), 0o1777)
os.mkdir(J(m, b"closed0000"))
with open(J(m, b"closed0000", b"inside"), "wb") as fh:
    fh.write(b"inside a 0000 folder")
with open(J(m, b"owned"), "wb") as fh:
    fh.write(b"owned by 1234:5678")
os.chown(J(m, b"owned"), 1234, 5678)
os.symlink(b"owned", J(m, b"owned-link"))
os.chown(J(m, b"owned-link"), 4321, 8765, follow_symlinks=False)
os.chmod(J(m, b"closed0000"), 0o000)

# times: before 1970, after 2100, with nanoseconds; on files, folders, links
t = J(root, b"times")
os.mkdir(t)
stamps = [-1000000000 * 10**9 + 123456789,  # 1938
          -1,                                  # 1969-12-31 23:59:59.999999999
          0,
          4102444800 * 10**9 + 987654321,      # 2100
          1700000000 * 10**9 + 1]
for i, ns in enumerate(stamps):
    p = J(t, b"file%d" % i)
    with open(p, "wb") as fh:
        fh.write(b"time %d" % ns)
    os.utime(p, ns=(ns, ns))
    lp = J(t, b"link%d" % i)
    os.symlink(b"file%d" % i, lp)
    os.utime(lp, ns=(ns, ns), follow_symlinks=False)
    dp = J(t, b"dir%d" % i)
    os.mkdir(dp)
    os.utime(dp, ns=(ns, ns))
os.utime(t, ns=(stamps[0], stamps[0]))
print("yes" if xattrs else "no")
EOF
)
if [ "$XATTRS" != yes ]; then
	echo "note: this file system refuses user.* xattrs: xattrs not tested"
fi
echo "generated $(find "$SRC" "$MANY" | wc -l) entries in $(elapsed "$T0") s"

log "backup"
t=$(now_s)
expect 0 coffer backup "$SRC" "$MANY" --json
echo "backup took $(elapsed "$t") s"
cp "$T/out" "$T/backup.json"
[ ! -s "$T/err" ] || { show_io; fail "warnings during the backup"; }
NREG=$(find "$SRC" "$MANY" -type f -printf . | wc -c) # names hold newlines
NFILES=$(jget "$T/backup.json" 'd["files"]')
[ "$NFILES" = "$NREG" ] || { show_io; fail "backup counted $NFILES files, find $NREG"; }

log "ls --json lists every entry, odd names escaped"
expect 0 coffer ls --json "latest:$SRC"
# coffer writes bytes that are not UTF-8 as \u00XX, so the JSON of b"caf\xe9"
# and of "café" is the same: compare the names through that mapping.
python3 - "$T/out" "$SRC" <<'EOF' || fail "ls --json"
import json, os, stat, sys
def coffer_json(b):
    out, i, n = [], 0, len(b)
    while i < n:
        c = b[i]
        l = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 \
            else 4 if c >> 3 == 30 else 0
        ok = l > 1 and i + l <= n and \
            all((b[i + k] & 0xc0) == 0x80 for k in range(1, l))
        if c < 0x80 or not ok:
            out.append(chr(c))
            i += 1
        else:
            out.append(b[i:i + l].decode("utf-8", "surrogatepass"))
            i += l
    return "".join(out)
def walk(fd, path, acc):
    for n in os.listdir(fd):
        nb = os.fsencode(n)
        p = path + b"/" + nb
        acc.append(coffer_json(p))
        if stat.S_ISDIR(os.stat(nb, dir_fd=fd, follow_symlinks=False).st_mode):
            c = os.open(nb, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                        dir_fd=fd)
            walk(c, p, acc)
            os.close(c)
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
got = [r["path"] for r in rows]
src = os.fsencode(sys.argv[2])
want = [coffer_json(src)]
walk(os.open(src, os.O_RDONLY), src, want)
G, W = set(got), set(want)
assert len(got) == len(G) and len(want) == len(W), "duplicates"
assert G == W, (sorted(W - G)[:5], sorted(G - W)[:5])
EOF

log "restore"
t=$(now_s)
expect 0 coffer restore latest --target "$R" --exclude "$MANY"
[ ! -s "$T/err" ] || { show_io; fail "warnings during the restore"; }
[ ! -e "$R$MANY" ] || fail "restore --exclude $MANY restored it"
expect 0 coffer restore "latest:$MANY" --target "$FAST/restored-many"
echo "restore took $(elapsed "$t") s"
[ ! -s "$T/err" ] || { show_io; fail "warnings during the restore"; }
# SNAP:DIR restores what DIR holds into the target (not DIR itself: the
# target keeps its own mode and times)
treecmp "$MANY" "$FAST/restored-many" --no-root-meta

log "compare (metadata, xattrs, hard links, sparse)"
treecmp "$SRC" "$R$SRC" --sparse 32
# hard links are links again
[ "$(stat -c %i "$R$SRC/links/a")" = "$(stat -c %i "$R$SRC/links/sub/c")" ] ||
	fail "hard link not restored as a link"
[ "$(stat -c %h "$R$SRC/links/a")" = 3 ] || fail "link count of a"
# the sparse file stays sparse
KB=$(du -k "$R$SRC/sparse.img" | cut -f1)
echo "sparse 4 GiB file uses $KB KiB restored ($(du -k "$SRC/sparse.img" | cut -f1) KiB original)"
[ "$KB" -lt 65536 ] || fail "restored sparse file uses $KB KiB"
[ "$(stat -c %s "$R$SRC/sparse.img")" = $((4 << 30)) ] || fail "sparse size"
# the deepest file, through a relative walk (its path is longer than PATH_MAX)
python3 - "$R$SRC/deep" "$XATTRS" <<'EOF' || fail "deep file"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(400):
    nfd = os.open(b"level-%03d-abcdefghij" % i, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
f = os.open(b"bottom.txt", os.O_RDONLY, dir_fd=fd)
assert os.read(f, 100) == b"at the bottom\n"
if sys.argv[2] == "yes":
    assert os.getxattr(f, b"user.deep") == b"xattr at depth 400"
EOF

log "dump of a name that is not UTF-8, of a name with a newline"
coffer dump "latest:$SRC/names/"$'\xff\xfe'" not utf-8" >"$T/d1"
printf 'content of \xff\xfe not utf-8' | cmp - "$T/d1" || fail "dump of a non-UTF-8 name"
coffer dump "latest:$SRC/names/line1"$'\n'"line2" >"$T/d2"
printf 'content of line1\nline2' | cmp - "$T/d2" || fail "dump of a name with a newline"

log "an unchanged second backup of all this reads nothing"
expect 0 coffer backup "$SRC" "$MANY" --json
python3 - "$T/out" <<'EOF' || { show_io; fail "second backup"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unchanged_files"] == d["files"], d
EOF

log "check"
expect 0 coffer check
