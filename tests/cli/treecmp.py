#!/usr/bin/env python3
"""treecmp.py: compare two folder trees bit for bit, metadata included.

usage: treecmp.py [options] A B

Compared for every entry (names are bytes, any depth: the walk goes by
folder file descriptors, never by full paths, so trees deeper than PATH_MAX
are fine):
  type and full mode (setuid/setgid/sticky included), uid, gid,
  mtime in nanoseconds, size, content (regular files: byte for byte, holes
  read as zeros; only the union of both files' data extents is read, so a
  sparse 4 GiB file costs almost nothing), symlink target, device numbers,
  extended attributes (not followed through symlinks), hard-link groups
  (the partition of the files into same-inode groups must be equal), and
  the set of names in every folder.
Not compared: atime (reading the source changes it), ctime (cannot be set),
inode numbers, link counts of folders (file system dependent).

options:
  --no-root-meta   do not compare the metadata of A and B themselves
  --no-owner       do not compare uid/gid
  --sparse SLACK   also require every file of B to use at most SLACK MiB
                   more disk blocks than its counterpart in A (sparse files
                   must stay sparse)
  --max N          report at most N differences (default 40)
Exit status: 0 same, 1 different, 2 usage.
"""
import os
import resource
import stat
import sys

CHUNK = 1 << 20


class Cmp:
    def __init__(self, root_meta=True, owner=True, sparse_slack=None,
                 maxdiff=40):
        self.root_meta = root_meta
        self.owner = owner
        self.sparse_slack = sparse_slack
        self.maxdiff = maxdiff
        self.diffs = []
        self.count = 0
        self.links = ({}, {})

    def diff(self, path, what):
        self.count += 1
        if len(self.diffs) < self.maxdiff:
            self.diffs.append("%s: %s" % (show(path), what))

    # --- helpers over (dirfd, name) ---

    @staticmethod
    def proc(dirfd, name):
        if name.startswith(b"/"):
            return name
        return b"/proc/self/fd/%d/%s" % (dirfd, name)

    def xattrs(self, dirfd, name):
        p = self.proc(dirfd, name)
        try:
            names = os.listxattr(p, follow_symlinks=False)
        except OSError:
            return {}
        out = {}
        for n in names:
            try:
                out[n] = os.getxattr(p, n, follow_symlinks=False)
            except OSError as e:
                out[n] = "<error %s>" % e.errno
        return out

    @staticmethod
    def extents(fd, size):
        """Data ranges of an open file (whole file if SEEK_DATA fails)."""
        out = []
        off = 0
        try:
            while off < size:
                try:
                    d = os.lseek(fd, off, os.SEEK_DATA)
                except OSError:
                    break  # ENXIO: no data after off
                h = os.lseek(fd, d, os.SEEK_HOLE)
                out.append((d, min(h, size)))
                off = h
        except (OSError, AttributeError):
            return [(0, size)]
        return out

    def content(self, path, afd, aname, bfd, bname, size):
        fa = os.open(aname, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=afd)
        try:
            fb = os.open(bname, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=bfd)
        except OSError:
            os.close(fa)
            raise
        try:
            rng = sorted(self.extents(fa, size) + self.extents(fb, size))
            merged = []
            for s, e in rng:
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            for s, e in merged:
                off = s
                while off < e:
                    n = min(CHUNK, e - off)
                    x = os.pread(fa, n, off)
                    y = os.pread(fb, n, off)
                    if x != y:
                        for i in range(min(len(x), len(y))):
                            if x[i] != y[i]:
                                break
                        else:
                            i = min(len(x), len(y))
                        self.diff(path, "content differs at byte %d" %
                                  (off + i))
                        return
                    if not x:
                        break
                    off += n
        finally:
            os.close(fa)
            os.close(fb)

    # --- the walk ---

    def entry(self, path, afd, aname, bfd, bname, is_root=False):
        a = os.stat(aname, dir_fd=afd, follow_symlinks=False)
        b = os.stat(bname, dir_fd=bfd, follow_symlinks=False)
        if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
            self.diff(path, "type %o vs %o" % (stat.S_IFMT(a.st_mode),
                                               stat.S_IFMT(b.st_mode)))
            return
        meta = self.root_meta or not is_root
        if meta:
            if a.st_mode != b.st_mode:
                self.diff(path, "mode %o vs %o" % (a.st_mode, b.st_mode))
            if self.owner and (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
                self.diff(path, "owner %d:%d vs %d:%d" % (
                    a.st_uid, a.st_gid, b.st_uid, b.st_gid))
            if a.st_mtime_ns != b.st_mtime_ns:
                self.diff(path, "mtime %d vs %d ns" % (a.st_mtime_ns,
                                                       b.st_mtime_ns))
            xa, xb = self.xattrs(afd, aname), self.xattrs(bfd, bname)
            if xa != xb:
                self.diff(path, "xattrs %r vs %r" % (xa, xb))
        if stat.S_ISREG(a.st_mode):
            if a.st_size != b.st_size:
                self.diff(path, "size %d vs %d" % (a.st_size, b.st_size))
            else:
                self.content(path, afd, aname, bfd, bname, a.st_size)
            if (self.sparse_slack is not None and
                    b.st_blocks * 512 > a.st_blocks * 512 +
                    self.sparse_slack):
                self.diff(path, "not sparse: %d bytes on disk vs %d" % (
                    b.st_blocks * 512, a.st_blocks * 512))
            for side, st in ((0, a), (1, b)):
                self.links[side].setdefault((st.st_dev, st.st_ino),
                                            []).append(path)
        elif stat.S_ISLNK(a.st_mode):
            ta = os.readlink(aname, dir_fd=afd)
            tb = os.readlink(bname, dir_fd=bfd)
            if ta != tb:
                self.diff(path, "symlink target %r vs %r" % (ta, tb))
        elif stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode):
            if a.st_rdev != b.st_rdev:
                self.diff(path, "device %x vs %x" % (a.st_rdev, b.st_rdev))
        elif stat.S_ISDIR(a.st_mode):
            fl = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
            da = os.open(aname, fl, dir_fd=afd)
            try:
                db = os.open(bname, fl, dir_fd=bfd)
            except OSError:
                os.close(da)
                raise
            try:
                self.folder(path, da, db)
            finally:
                os.close(da)
                os.close(db)

    def folder(self, path, da, db):
        na = set(os.fsencode(n) for n in os.listdir(da))
        nb = set(os.fsencode(n) for n in os.listdir(db))
        for n in sorted(na - nb):
            self.diff(join(path, n), "only in A")
        for n in sorted(nb - na):
            self.diff(join(path, n), "only in B")
        for n in sorted(na & nb):
            self.entry(join(path, n), da, n, db, n)

    def run(self, a, b):
        self.entry(b"", os.open(b".", os.O_RDONLY), os.fsencode(a),
                   os.open(b".", os.O_RDONLY), os.fsencode(b), is_root=True)
        ga = sorted(sorted(v) for v in self.links[0].values() if len(v) > 1)
        gb = sorted(sorted(v) for v in self.links[1].values() if len(v) > 1)
        if ga != gb:
            self.diff(b"", "hard-link groups differ: %s vs %s" % (
                [[show(p) for p in g] for g in ga],
                [[show(p) for p in g] for g in gb]))


def join(path, name):
    return path + b"/" + name if path else name


def show(p):
    s = repr(p)[2:-1] if p else "."
    return s if len(s) <= 160 else "..." + s[-150:]


def main(argv):
    opts = {"root_meta": True, "owner": True, "sparse_slack": None,
            "maxdiff": 40}
    args = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--no-root-meta":
            opts["root_meta"] = False
        elif a == "--no-owner":
            opts["owner"] = False
        elif a == "--sparse":
            i += 1
            opts["sparse_slack"] = int(argv[i]) << 20
        elif a == "--max":
            i += 1
            opts["maxdiff"] = int(argv[i])
        elif a.startswith("-"):
            print("treecmp: unknown option %s" % a, file=sys.stderr)
            return 2
        else:
            args.append(a)
        i += 1
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.setrecursionlimit(100000)
    c = Cmp(**opts)
    c.run(args[0], args[1])
    if c.count:
        print("treecmp: %s and %s differ (%d differences):" % (
            args[0], args[1], c.count), file=sys.stderr)
        for d in c.diffs:
            print("  " + d, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
