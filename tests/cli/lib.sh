# lib.sh: shared helpers of the cli scenarios.  Each scenario starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# where $1 is the coffer binary (meson passes coffer.full_path()).  This
# gives the scenario a fresh temporary folder $T (removed on exit; set
# COFFER_TEST_KEEP=1 to keep it), a repository place $COFFER_REPO, a
# password file and a private index cache, and the helpers below.
# Exit status: 0 pass, 1 fail, 77 skip (meson's convention).

set -euo pipefail
set -E

# A scenario that sets PRIVATE_DATA=1 before sourcing this file re-runs
# itself, when it can (root, unshare), in a private mount namespace, and
# then gets from private_data SIZE a tmpfs of its own on /mnt for $DATA: a
# snapshot records the metadata of every ancestor of the path backed up,
# and other tests creating folders in /tmp would change /tmp's mtime
# between two backups.
if [ "${PRIVATE_DATA:-0}" = 1 ] && [ -z "${COFFER_CLI_NS:-}" ] &&
	[ "$(id -u)" = 0 ] &&
	unshare --mount --propagation private true 2>/dev/null; then
	COFFER_CLI_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH-TO-COFFER" >&2
	exit 2
fi
COFFER=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=$(basename "$0" .sh)
T=$(mktemp -d "${COFFER_TEST_TMP:-${TMPDIR:-/tmp}}/coffer-$NAME.XXXXXX")
T0=$(date +%s.%N)
CLEANUP=()

lib_exit() {
	local rc=$?

	set +e
	for c in "${CLEANUP[@]+"${CLEANUP[@]}"}"; do
		eval "$c"
	done
	if [ "${COFFER_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
	case $rc in
	0) printf 'PASS %s in %.1f s\n' "$NAME" \
	       "$(elapsed "$T0")" ;;
	77) ;;
	*) echo "FAIL $NAME (exit $rc)" >&2 ;;
	esac
	exit $rc
}
trap lib_exit EXIT
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

export COFFER_REPO="$T/repo"
export COFFER_PASSWORD_FILE="$T/pw"
export COFFER_CACHE_DIR="$T/cache"
printf 'the password of %s\n' "$NAME" >"$T/pw"

log() { printf "== [%ss] %s\n" "$(elapsed "$T0")" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

coffer() { "$COFFER" "$@"; }
init_repo() { coffer init --kdf-memory 8 --kdf-ops 1 --quiet "$@"; }

# run CMD...: run it; stdout in $T/out, stderr in $T/err, status in $RC.
run() {
	RC=0
	"$@" >"$T/out" 2>"$T/err" || RC=$?
}
show_io() {
	{
		echo "--- stdout of the last command:"
		head -c 6000 "$T/out"
		echo "--- stderr of the last command:"
		head -c 6000 "$T/err"
		echo "---"
	} >&2
}
# expect N CMD...: run, require exit status N.
expect() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		show_io
		fail "'$*' exited $RC, expected $want"
	fi
}
# expect_fail CMD...: run, require a non-zero exit status.
expect_fail() {
	run "$@"
	if [ "$RC" -eq 0 ]; then
		show_io
		fail "'$*' succeeded, expected a failure"
	fi
}
# one_error_line [WORD...]: stderr of the last command is exactly one line,
# starting with "coffer", containing each WORD (fixed strings).
one_error_line() {
	local n
	n=$(wc -l <"$T/err")
	if [ "$n" -ne 1 ] || ! grep -q '^coffer' "$T/err"; then
		show_io
		fail "expected exactly one error line starting with 'coffer', got $n lines"
	fi
	for w in "$@"; do
		grep -qaF -- "$w" "$T/err" || { show_io; fail "error line lacks '$w'"; }
	done
}
# has FILE STRING / hasnt FILE STRING: fixed-string search.
has() {
	grep -qaF -- "$2" "$1" || {
		show_io
		fail "'$2' not found in $(basename "$1")"
	}
}
hasnt() {
	if grep -qaF -- "$2" "$1"; then
		show_io
		fail "'$2' unexpectedly found in $(basename "$1")"
	fi
}
# jget FILE EXPR: evaluate a python expression over the JSON in FILE (d).
jget() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# treecmp A B [opts]: bit-for-bit comparison, metadata included.
treecmp() { python3 "$HERE/treecmp.py" "$@" || fail "trees differ: $*"; }
gen() { python3 "$HERE/gen.py" "$@"; }
# snapshot_ids: every snapshot id, oldest first.
snapshot_ids() {
	coffer snapshots --json | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'
}
# pack_files: every pack file of the repository, sorted by size (smallest
# first).
pack_files() {
	find "$COFFER_REPO/data" -type f -printf '%s %p\n' | sort -n | cut -d' ' -f2
}
pack_bytes() {
	find "$COFFER_REPO/data" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}
# flip FILE OFFSET: invert one byte in place.
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
EOF
}
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# private_data SIZE: $DATA, on a tmpfs of SIZE (relatime) in the private
# namespace (PRIVATE_DATA above), else under $T.
private_data() {
	if [ -n "${COFFER_CLI_NS:-}" ] &&
		mount -t tmpfs -o "size=$1,mode=755,relatime" coffer-cli /mnt; then
		DATA=/mnt/data
	else
		echo "note: no private mount namespace; /tmp may change under us"
		DATA=$T/data
	fi
	mkdir -p "$DATA"
}
