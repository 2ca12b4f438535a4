#!/bin/bash
# 11-privacy: after backups of a corpus, the repository folder holds none
# of: any file or folder name (as bytes), the source path, the tag and host
# given, any 16-byte run of file content (several samples per file, text
# and binary), and the exact file sizes as decimal strings (in config and
# key slots, where anything in clear would be; and anywhere for sizes of
# 6+ digits, which random bytes would not produce by chance).
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
python3 - "$SRC" <<'EOF'
import os, random, sys
r = random.Random(11)
root = os.fsencode(sys.argv[1])
dirs = [b"tax-returns-2023", b"medical-records-private",
        "家族の写真-アルバム".encode(), b"dir-\xff\xfe-not-utf8-name"]
names = [b"quarterly-report-q3-2024.txt", b"photo_of_grandma_1987.jpg",
         b"passwords-do-not-share.kdbx", "journal-intime-été.md".encode(),
         b"salary-negotiation-notes.txt", b"bank-statement-march.pdf",
         b"file with spaces and more.doc", b"\xe9\xe8-latin1-name-binary"]
words = (b"confidential diagnosis payment account balance secret "
         b"meeting lawyer divorce inheritance password").split()
os.makedirs(root)
sizes = [12345, 987654, 31337, 4242424, 777, 65537, 123456, 2000003]
for i, n in enumerate(names):
    d = os.path.join(root, dirs[i % len(dirs)])
    os.makedirs(d, exist_ok=True)
    size = sizes[i]
    if i % 2:
        data = r.randbytes(size)
    else:
        data = b" ".join(r.choice(words) for _ in range(size // 5))
        data = (data + b" " * size)[:size]
    with open(os.path.join(d, n), "wb") as f:
        f.write(data)
EOF
TAG=tag-very-secret-project-x
HOST=host-name-of-the-laptop-y

expect 0 init_repo
expect 0 coffer backup "$SRC" --tag "$TAG" --host "$HOST" --quiet
# a second backup after a change, so the repository holds two of each
echo "one more line of the diary" >>"$(find "$SRC" -name 'journal-*' | sed -n 1p)"
expect 0 coffer backup "$SRC" --tag "$TAG" --host "$HOST" --quiet
echo "repository: $(find "$COFFER_REPO" -type f | wc -l) files, $(du -sk "$COFFER_REPO" | cut -f1) KiB"

log "search the repository for names, content, sizes, path, tag, host"
python3 - "$SRC" "$COFFER_REPO" "$TAG" "$HOST" <<'EOF' || fail "the repository leaks"
import os, random, sys
src, repo = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
r = random.Random(1)
blobs, clear = {}, {}
for d, _, fs in os.walk(repo):
    for f in fs:
        p = os.path.join(d, f)
        data = open(p, "rb").read()
        blobs[p] = data
        rel = os.path.relpath(p, repo)
        if rel == b"config" or rel.startswith(b"keys/"):
            clear[p] = data
needles = {}   # needle -> what it is
def need(b, what):
    if len(b) >= 8:
        needles[b] = what
need(src, "the source path")
need(os.path.basename(src), "the source folder's name")
need(os.fsencode(os.path.basename(os.path.dirname(src))), "the temp folder's name")
need(sys.argv[3].encode(), "the tag")
need(sys.argv[4].encode(), "the host")
sizes = []
for d, ds, fs in os.walk(src):
    for n in ds + fs:
        need(n, "the name %r" % n)
    for n in fs:
        p = os.path.join(d, n)
        data = open(p, "rb").read()
        sizes.append(len(data))
        offs = {0, len(data) // 2, max(0, len(data) - 16)}
        offs |= {r.randrange(0, max(1, len(data) - 16)) for _ in range(5)}
        for o in offs:
            need(data[o:o + 16], "16 bytes at %d of %r" % (o, n))
print("%d needles, %d repository files, %d bytes searched" % (
    len(needles), len(blobs), sum(map(len, blobs.values()))))
found = []
for nd, what in needles.items():
    for p, data in blobs.items():
        if nd in data:
            found.append("%s found in %s" % (what, p.decode(errors="replace")))
for s in sizes:
    ds = str(s).encode()
    for p, data in (blobs if len(ds) >= 6 else clear).items():
        if ds in data:
            found.append("size %d found in %s" % (s, p.decode(errors="replace")))
# a positive control: the search does find what is in clear
assert any(b"CFREPO" in d for d in clear.values()), "the search is broken"
for f in found:
    print("LEAK: " + f, file=sys.stderr)
sys.exit(1 if found else 0)
EOF

log "and the data is all there"
expect 0 coffer restore latest --target "$T/r"
treecmp "$SRC" "$T/r$SRC"
