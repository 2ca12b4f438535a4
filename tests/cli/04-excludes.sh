#!/bin/bash
# 04-excludes: backup --exclude with a basename pattern and with a full path
# (a '/' in the pattern), --exclude-file with comments, blank lines and
# trailing spaces; restore --include / --exclude.  The contents of the
# snapshot and of each restore are compared with the exact expected lists.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
mk() { for f in "$@"; do mkdir -p "$(dirname "$SRC/$f")"; echo "$f" >"$SRC/$f"; done; }
mk a.txt a.tmp notes.bak keep.c sub/b.txt sub/b.tmp sub/cache/z.txt \
	cache/x.txt cache/y.txt build/keep.c build/out/obj.o build/out/deeper/o2.o \
	.git/config sub/deep/file.log sub/deep/file.txt "with space/c d.txt" \
	other/build/out/stays.txt
mkdir "$SRC/emptydir"

# list DIR: the entries under DIR, relative, sorted, one a line
list() { (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort); }
# snaplist: the entries of the latest snapshot under $SRC, relative
snaplist() {
	coffer ls "latest:$SRC" | sed -n "s|^$SRC/||p" | LC_ALL=C sort
}
want() { printf '%s\n' "$@" | LC_ALL=C sort; }
same() { # same WHAT FILE-GOT FILE-WANT
	diff -u "$3" "$2" >&2 || fail "$1: got/expected differ (see above)"
}

expect 0 init_repo

cat >"$T/excludes" <<'EOF'
# a comment line, then a blank line

*.bak   
   # not a comment: leading spaces are kept, so this matches nothing
*/src/build/out
.git
EOF

log "backup with --exclude (basename, full path) and --exclude-file"
expect 0 coffer backup "$SRC" --exclude '*.tmp' --exclude "$SRC/cache" \
	--exclude-file "$T/excludes"
snaplist >"$T/got"
want a.txt keep.c sub sub/b.txt sub/cache sub/cache/z.txt build build/keep.c \
	sub/deep sub/deep/file.log sub/deep/file.txt "with space" \
	"with space/c d.txt" other other/build other/build/out \
	other/build/out/stays.txt emptydir >"$T/want"
same "excluded backup" "$T/got" "$T/want"

log "restore of the excluded snapshot equals the source minus the excluded"
expect 0 coffer restore latest --target "$T/r0"
list "$T/r0$SRC" >"$T/got"
same "restore" "$T/got" "$T/want"

log "a pattern never matches a path's prefix only: 'su' excludes nothing"
expect 0 coffer backup "$SRC" --exclude su --exclude "$SRC/su"
snaplist >"$T/all"
list "$SRC" >"$T/want"
same "no-op excludes" "$T/all" "$T/want"

log "an exclude file that does not exist: clear error, no snapshot"
N=$(ls "$COFFER_REPO/snapshots" | wc -l)
expect 1 coffer backup "$SRC" --exclude-file "$T/nope"
one_error_line "$T/nope"
[ "$(ls "$COFFER_REPO/snapshots" | wc -l)" = "$N" ] || fail "a snapshot was written"

log "restore --include with a basename pattern"
expect 0 coffer restore latest --target "$T/r1" --include '*.txt'
list "$T/r1$SRC" >"$T/got"
want a.txt sub sub/b.txt sub/cache sub/cache/z.txt cache cache/x.txt \
	cache/y.txt sub/deep sub/deep/file.txt "with space" "with space/c d.txt" \
	other other/build other/build/out other/build/out/stays.txt >"$T/want"
same "restore --include '*.txt'" "$T/got" "$T/want"

log "restore --include of a folder by full path takes all below it"
expect 0 coffer restore latest --target "$T/r2" --include "$SRC/sub"
list "$T/r2$SRC" >"$T/got"
want sub sub/b.txt sub/b.tmp sub/cache sub/cache/z.txt sub/deep \
	sub/deep/file.log sub/deep/file.txt >"$T/want"
same "restore --include DIR" "$T/got" "$T/want"
treecmp "$SRC/sub" "$T/r2$SRC/sub"

log "restore --exclude, and --include with --exclude (exclude wins)"
expect 0 coffer restore latest --target "$T/r3" --exclude '*.txt' --exclude "$SRC/build"
list "$T/r3$SRC" >"$T/got"
list "$SRC" | grep -v '\.txt$' | grep -v '^build' >"$T/want"
same "restore --exclude" "$T/got" "$T/want"
expect 0 coffer restore latest --target "$T/r4" --include "$SRC/sub" --exclude deep
list "$T/r4$SRC" >"$T/got"
want sub sub/b.txt sub/b.tmp sub/cache sub/cache/z.txt >"$T/want"
same "restore --include --exclude" "$T/got" "$T/want"

log "restore of a subpath with --include"
expect 0 coffer restore "latest:$SRC/sub" --target "$T/r5" --include 'b.*'
list "$T/r5" >"$T/got"
want b.txt b.tmp >"$T/want"
same "restore SNAP:PATH --include" "$T/got" "$T/want"

expect 0 coffer check
