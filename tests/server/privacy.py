#!/usr/bin/env python3
"""privacy.py: what cofferd stores must not reveal what was backed up.

  privacy.py corpus DIR NEEDLES.json [EXTRA...]
      Write a corpus with distinctive names (ASCII and UTF-8, spaces), a
      symlink with a distinctive target, text and random contents, files
      of unique sizes over 100000 bytes and distinctive mtimes; save the
      needles: every path component, the link target, the absolute root,
      the EXTRA strings (device and host names), 16-byte runs of every
      file's content (8 per file, at random offsets), the exact sizes of
      the large files and the mtimes (whole seconds).
  privacy.py scan NEEDLES.json PATH...
      Read every file under the PATHs (folders recursively, byte for byte)
      and fail listing each needle found.  Sizes match as whole decimal
      numbers (not inside a longer run of letters or digits).
  privacy.py control NEEDLES.json DIR
      The scanner must find every needle in the corpus itself (its
      contents, its path list, and the sizes written out), so a scan that
      finds nothing means something.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile


def sample(r, data):
    """A 16-byte run of ${data} without newline or NUL (grep patterns)."""
    while True:
        o = r.randrange(0, len(data) - 16 + 1)
        run = data[o:o + 16]
        if b"\n" not in run and b"\0" not in run:
            return run.hex()


def corpus(root, out, extra):
    r = random.Random(4242)
    tag = lambda: "%08x" % r.getrandbits(32)  # noqa: E731
    dirs = [root,
            os.path.join(root, "Tax Returns %s" % tag()),
            os.path.join(root, "Медицинские записи %s" % tag()),
            os.path.join(root, "photos-of-someone-%s" % tag())]
    dirs.append(os.path.join(dirs[1], "scans %s" % tag()))
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    words = ("confidential diagnosis salary account password mortgage "
             "divorce lawyer invoice passport").split()
    names, contents, sizes = [], [], []
    used = set()
    for i in range(40):
        d = r.choice(dirs)
        name = r.choice(["passport-scan-%s.pdf", "diary_%s.txt",
                         "bank statement %s.csv", "séance-%s.md",
                         "%s-private-key.pem"]) % tag()
        if i < 24:
            while True:  # unique sizes over 100000
                n = r.randrange(100001, 2500000)
                if n not in used:
                    used.add(n)
                    break
        else:
            n = r.randrange(16, 100000)
        if i % 3 == 0:
            s, k = [], 0
            while k < n:
                s.append("%s %d %s. " % (r.choice(words), r.getrandbits(40),
                                         r.choice(words)))
                k += len(s[-1])
            data = "".join(s).encode()[:n]
        else:
            data = r.randbytes(n)
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        names.append(p)
        if n > 100000:
            sizes.append(n)
        for _ in range(8):
            contents.append(sample(r, data))
    big = os.path.join(dirs[3], "holiday-video-%s.mp4" % tag())
    data = r.randbytes(9000001)
    with open(big, "wb") as f:
        f.write(data)
    names.append(big)
    sizes.append(len(data))
    for _ in range(16):
        contents.append(sample(r, data))
    target = "/secret/target/of-a-link-%s" % tag()
    link = os.path.join(dirs[2], "link-%s" % tag())
    os.symlink(target, link)
    names.append(link)
    mtimes = []
    for p in names + dirs:
        t = r.randrange(1000000000, 1900000000)
        os.utime(p, (t, t), follow_symlinks=False)
        mtimes.append(t)
    comps = set()
    for p in names + dirs[1:]:
        rel = os.path.relpath(p, root)
        comps.update(c for c in rel.split(os.sep))
    strings = sorted(comps) + [target, os.path.abspath(root)] + extra
    with open(out, "w") as f:
        json.dump({"strings": strings, "extra": extra, "contents": contents,
                   "sizes": sorted(set(sizes)), "mtimes": mtimes,
                   "total": sum(os.path.getsize(p) for p in names
                                if not os.path.islink(p))}, f)
    print(len(names), sum(os.path.getsize(p) for p in names
                          if not os.path.islink(p)))


def load(path):
    with open(path) as f:
        n = json.load(f)
    needles = {s.encode(): s for s in n["strings"]}
    needles.update((bytes.fromhex(h), "content " + h) for h in n["contents"])
    sizes = sorted(set(n["sizes"] + [n["total"]] + n["mtimes"]))
    return needles, sizes


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, _, names in os.walk(p):
                for x in sorted(names):
                    yield os.path.join(d, x)
        elif os.path.exists(p):
            yield p


def grep(patterns, paths, words=False):
    """The set of patterns (bytes) found in the files: GNU grep -F, many
    patterns at once, bytes as they are (-a, C locale)."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"\n".join(patterns) + b"\n")
        f.flush()
        r = subprocess.run(["grep", "-a", "-F", "-o", "-h", "-f", f.name] +
                           (["-w"] if words else []) + list(paths),
                           stdout=subprocess.PIPE, env=dict(os.environ,
                                                            LC_ALL="C"))
    if r.returncode > 1:
        sys.exit("privacy.py: grep failed")
    return set(r.stdout.split(b"\n")) - {b""}


def scan(needles_path, paths):
    needles, sizes = load(needles_path)
    fl = [p for p in files(paths) if os.path.isfile(p)
          and not os.path.islink(p)]
    if not fl:
        sys.exit("privacy.py: nothing to scan")
    hits = grep(list(needles), fl)
    shits = grep([str(x).encode() for x in sizes], fl, words=True)
    bad = []
    for p in fl:
        with open(p, "rb") as f:
            data = f.read()
        bad += ["%s: %s" % (p, needles[h]) for h in hits if h in data]
        bad += ["%s: size %s" % (p, h.decode()) for h in shits
                if re.search(rb"(?<![0-9A-Za-z_])" + h + rb"(?![0-9A-Za-z_])",
                             data)]
    if hits or shits:
        sys.stderr.write("privacy leak:\n  " + "\n  ".join(
            bad[:50] or [repr(hits | shits)]) + "\n")
        sys.exit(1)
    print("scanned %d files, %d bytes: none of %d needles and %d sizes" % (
        len(fl), sum(os.path.getsize(p) for p in fl), len(needles),
        len(sizes)))


def control(needles_path, root):
    """The scanner must find every needle in the corpus itself."""
    needles, sizes = load(needles_path)
    with tempfile.NamedTemporaryFile() as f:
        for p in files([os.path.abspath(root)]):
            f.write(os.fsencode(p) + b"\n")
            if os.path.islink(p):
                f.write(os.fsencode(os.readlink(p)) + b"\n")
            else:
                with open(p, "rb") as g:
                    f.write(g.read() + b"\n")
        f.write(b" ".join(b"in=%d" % x for x in sizes) + b"\n")
        with open(needles_path) as g:  # not in the corpus: in its metadata
            f.write("\n".join(json.load(g)["extra"]).encode() + b"\n")
        f.flush()
        found = grep(list(needles), [f.name])
        # grep -o reports no overlapping matches: look for the rest
        missing = [b for b in needles if b not in found]
        if missing:
            with open(f.name, "rb") as g:
                data = g.read()
            missing = [needles[b] for b in missing if b not in data]
        sfound = grep([str(x).encode() for x in sizes], [f.name], words=True)
    if missing or len(sfound) != len(sizes):
        sys.exit("privacy.py: the scanner misses %r, finds %d of %d sizes" %
                 (missing[:5], len(sfound), len(sizes)))
    print("control: the scanner finds all %d needles and %d sizes" %
          (len(needles), len(sizes)))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "corpus":
        corpus(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "scan":
        scan(sys.argv[2], sys.argv[3:])
    elif cmd == "control":
        control(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
