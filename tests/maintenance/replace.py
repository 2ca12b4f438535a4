#!/usr/bin/env python3
"""replace.py: helpers of the maintenance scenarios (stdlib only).

  replace.py replace DIR --seed S --fraction F
      Replace a fraction F of the regular files of DIR (at least one) with
      new random bytes of a new random size (0.5x to 1.5x), as a new file
      (new inode); prints their paths relative to DIR.
  replace.py unique DIR...
      The bytes of the distinct file contents under the DIRs together (what
      a deduplicating repository must hold at least, before compression).
"""
import hashlib
import os
import random
import sys


def files(d):
    out = []
    for root, dirs, names in os.walk(d):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(p)
    return out


def replace(d, seed, fraction):
    r = random.Random(seed)
    fs = files(d)
    k = max(1, int(len(fs) * fraction + 0.5))
    for p in r.sample(fs, k):
        st = os.stat(p)
        size = max(1, int(st.st_size * (0.5 + r.random())))
        tmp = p + ".new"
        with open(tmp, "wb") as f:
            f.write(r.randbytes(size))
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, p)
        print(os.path.relpath(p, d))


def unique(dirs):
    seen = {}
    for d in dirs:
        for p in files(d):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            seen[h.digest()] = os.path.getsize(p)
    print(sum(seen.values()))


def main():
    a = sys.argv[1:]
    if len(a) >= 2 and a[0] == "replace":
        seed, frac = 1, 0.2
        i = 2
        while i < len(a):
            if a[i] == "--seed":
                seed = int(a[i + 1])
            elif a[i] == "--fraction":
                frac = float(a[i + 1])
            else:
                sys.exit("replace.py: unknown option " + a[i])
            i += 2
        replace(a[1], seed, frac)
    elif len(a) >= 2 and a[0] == "unique":
        unique(a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
