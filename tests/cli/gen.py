#!/usr/bin/env python3
"""gen.py: deterministic test trees for the cli scenarios (stdlib only).

  gen.py tree DIR [--seed S] [--files N] [--dirs D] [--min B] [--max B]
                  [--text FRACTION] [--big COUNT:BYTES] [--prefix P]
      DIR gets D folders in a random hierarchy and N files of random sizes
      (log-uniform in [min, max]); a FRACTION of them hold compressible
      text, the others random bytes.  --big adds COUNT files of BYTES
      random bytes.  Modes, mtimes (with nanoseconds) are random.  Prints
      "files bytes".
  gen.py modify DIR [--seed S] [--fraction F]
      Rewrite the middle of a fraction F of the regular files (at least
      one), keeping their size; prints their paths relative to DIR, one a
      line.
"""
import os
import random
import sys

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu").split()


def text(r, n):
    out = []
    size = 0
    while size < n:
        w = r.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return (" ".join(out) + " ").encode()[:n]


def opts(argv, defaults):
    o = dict(defaults)
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            k = a[2:]
            if k not in o:
                sys.exit("gen.py: unknown option " + a)
            o[k] = type(defaults[k])(argv[i + 1]) if defaults[k] is not None \
                else argv[i + 1]
            i += 2
        else:
            pos.append(a)
            i += 1
    return o, pos


def set_time(r, path):
    s = r.randrange(946684800, 1672531200)  # 2000 .. 2023: in the past
    ns = r.randrange(0, 10**9)
    t = s * 10**9 + ns
    os.utime(path, ns=(t, t), follow_symlinks=False)


def tree(argv):
    o, pos = opts(argv, {"seed": 1, "files": 100, "dirs": 10, "min": 0,
                         "max": 100000, "text": 0.5, "big": "",
                         "prefix": "f"})
    root = pos[0]
    r = random.Random(o["seed"])
    os.makedirs(root, exist_ok=True)
    dirs = [root]
    for i in range(o["dirs"]):
        d = os.path.join(r.choice(dirs), "d%03d" % i)
        os.mkdir(d)
        dirs.append(d)
    total = 0
    lo = max(o["min"], 1)
    import math
    files = []
    for i in range(o["files"]):
        if o["min"] == 0 and r.random() < 0.03:
            n = 0
        else:
            n = int(math.exp(r.uniform(math.log(lo), math.log(o["max"]))))
        p = os.path.join(r.choice(dirs), "%s%05d.%s" % (
            o["prefix"], i, r.choice(["txt", "bin", "dat", "log"])))
        data = text(r, n) if r.random() < o["text"] else r.randbytes(n)
        assert len(data) == n
        with open(p, "wb") as f:
            f.write(data)
        total += n
        files.append(p)
    if o["big"]:
        cnt, size = (int(x) for x in o["big"].split(":"))
        for i in range(cnt):
            p = os.path.join(r.choice(dirs), "%sbig%02d.bin" % (o["prefix"], i))
            with open(p, "wb") as f:
                left = size
                while left > 0:
                    k = min(left, 8 << 20)
                    f.write(r.randbytes(k))
                    left -= k
            total += size
            files.append(p)
    for p in files:
        os.chmod(p, r.choice([0o644, 0o600, 0o755, 0o640, 0o444]))
        set_time(r, p)
    for d in reversed(dirs):
        os.chmod(d, r.choice([0o755, 0o700, 0o750]))
        set_time(r, d)
    print(len(files), total)


def modify(argv):
    o, pos = opts(argv, {"seed": 2, "fraction": 0.01})
    root = pos[0]
    r = random.Random(o["seed"])
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p) and \
                    os.path.getsize(p) > 0:
                files.append(p)
    files.sort()
    k = max(1, int(len(files) * o["fraction"]))
    for p in r.sample(files, k):
        st = os.stat(p)
        size = st.st_size
        with open(p, "r+b") as f:
            f.seek(size // 2)
            f.write(r.randbytes(min(64, size - size // 2)))
        print(os.path.relpath(p, root))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("tree", "modify"):
        sys.exit(__doc__)
    {"tree": tree, "modify": modify}[sys.argv[1]](sys.argv[2:])
