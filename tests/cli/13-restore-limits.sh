#!/bin/bash
# 13-restore-limits: a restore of what a backup could take, however deep,
# and an exit code that says when an entry could not be created.
#  - 3,000 nested folders (far past PATH_MAX): every level and the file at
#    the bottom come back (the restore recursed on the caller's stack with
#    a 4 KiB name per level and crashed at ~1,700 levels; or, with 1,024
#    descriptors, lost the deepest levels and still exited 0);
#  - with too few descriptors to hold a deep path open: one warning line
#    per entry not created, naming it and why, "lost" in --json, exit 3;
#  - many hard-linked files come back linked.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
mkdir "$SRC"
# chain DIR DEPTH: DIR/d/d/.../d (DEPTH folders) and a file "leaf" at the
# bottom, built with relative opens (the path is longer than PATH_MAX)
chain() {
	python3 - "$1" "$2" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(int(sys.argv[2])):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
w = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(w, b"at the bottom\n")
os.close(w)
PY
}
# depth_of DIR: how many "d" levels, and the leaf's content
depth_of() {
	python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
n = 0
while True:
    try:
        nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    except FileNotFoundError:
        break
    os.close(fd)
    fd = nfd
    n += 1
try:
    r = os.open("leaf", os.O_RDONLY, dir_fd=fd)
    leaf = os.read(r, 100).decode().strip()
except FileNotFoundError:
    leaf = "(no leaf)"
print(n, leaf)
PY
}
mkdir "$SRC/deep" "$SRC/links"
chain "$SRC/deep" 3000
for i in $(seq 1 400); do
	echo "content $i" >"$SRC/links/f$i"
	ln "$SRC/links/f$i" "$SRC/links/g$i"
done
expect 0 init_repo
expect 0 coffer backup -q "$SRC"

log "3,000 nested folders come back, the file at the bottom too"
expect 0 coffer restore latest --target "$T/r1" --json
[ "$(jget "$T/out" 'd["lost"]')" = 0 ] || fail "lost entries: $(cat "$T/out")"
[ "$(depth_of "$T/r1$SRC/deep")" = "3000 at the bottom" ] ||
	fail "restored chain: $(depth_of "$T/r1$SRC/deep")"

log "hard links come back linked"
for i in 1 200 400; do
	[ "$(stat -c %i "$T/r1$SRC/links/f$i")" = "$(stat -c %i "$T/r1$SRC/links/g$i")" ] ||
		fail "f$i and g$i are not one file"
	[ "$(cat "$T/r1$SRC/links/g$i")" = "content $i" ] || fail "g$i content"
done
[ "$(stat -c %h "$T/r1$SRC/links/f7")" = 2 ] || fail "f7 has $(stat -c %h "$T/r1$SRC/links/f7") links"

log "too few descriptors for the path: named, counted as lost, exit 3"
expect 3 bash -c 'ulimit -n 200 && exec "$@"' sh "$COFFER" restore \
	"latest:$SRC/deep" --target "$T/r2" --json
grep -q "Too many open files" "$T/err" || { show_io; fail "no warning names the cause"; }
[ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "expected one warning line"; }
[ "$(jget "$T/out" 'd["lost"]')" = 1 ] || fail "lost: $(cat "$T/out")"
read -r got _ < <(depth_of "$T/r2")
[ "$got" -gt 100 ] && [ "$got" -lt 3000 ] || fail "restored $got levels with 200 descriptors"
expect 3 bash -c 'ulimit -n 200 && exec "$@"' sh "$COFFER" restore \
	"latest:$SRC/deep" --target "$T/r3"
has "$T/out" "1 entries could not be restored"
