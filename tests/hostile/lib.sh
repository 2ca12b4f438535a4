# lib.sh: shared helpers of the hostile-server scenarios.  Each scenario
# starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# with $1 the coffer binary, $2 cofferd and $3 forge (meson passes their
# full paths).  It gets a temporary folder $T (removed on exit; keep it with
# COFFER_TEST_KEEP=1) and:
#   start_server            cofferd with data in $T/srv.data on a free port:
#                           $URL, $DATA, $SRV_PID (stopped on exit)
#   restart_server          the same data and port
#   dev NAME CMD...         CMD as device NAME ($T/NAME.cfg, $T/NAME.cache)
#   new_account NAME        an invitation, then 'coffer init' by NAME
#                           (recovery key in $T/NAME.rk)
#   pair_start NAME         'coffer device invite --approve' by NAME in the
#                           background: $INV_PID, $CODE
#   pair OLD NEW            OLD invites, NEW joins (named NEW)
#   run/expect N/expect_fail CMD...   $RC, $T/out, $T/err
#   alert WORD...           the last command exited 20 with a SECURITY
#                           ALERT naming each WORD
#   said WORD...            its stderr has each WORD (HOSTILE_VERBOSE=1
#                           prints the error line)
#   srv ARGS...             tests/hostile/srv.py on $DATA (see there)
#   forge ARGS...           the forge helper (see forge.c)
#   snap_server / unchanged the server's objects, refs and devices are what
#                           they were at the last snap_server
#   chain_head ACCT         the ref "chain" of the account ("SEQ NAME")
#   record ACCT NAME FILE   copy a chain record (or any "_account" object)
#   patch, b2, le64, gen, members, field: see below
# Exit status: 0 pass, 1 fail, 77 skip (meson's convention).

set -euo pipefail
set -E

if [ $# -lt 3 ] || [ ! -x "$1" ] || [ ! -x "$2" ] || [ ! -x "$3" ]; then
	echo "usage: $0 PATH-TO-COFFER PATH-TO-COFFERD PATH-TO-FORGE" >&2
	exit 99 # meson's ERROR, also for the should_fail scenarios
fi
COFFER=$(readlink -f "$1")
COFFERD=$(readlink -f "$2")
FORGE=$(readlink -f "$3")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=$(basename "$0" .sh)
T=$(mktemp -d "${COFFER_TEST_TMP:-${TMPDIR:-/tmp}}/coffer-$NAME.XXXXXX")
T0=$(date +%s.%N)
BG_PIDS=()
unset COFFER_REPO COFFER_PASSWORD_FILE COFFER_CREDENTIAL

lib_exit() {
	local rc=$? p
	set +e
	trap - ERR
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
		wait "$p" 2>/dev/null
	done
	if [ "${COFFER_TEST_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
	case $rc in
	0) awk -v n="$NAME" -v a="$T0" -v b="$(date +%s.%N)" \
	       'BEGIN { printf "PASS %s in %.1f s\n", n, b - a }' ;;
	77) ;;
	99) echo "ERROR $NAME (exit 99: the scenario itself broke)" >&2 ;;
	*) echo "FAIL $NAME (exit $rc)" >&2 ;;
	esac
	exit $rc
}
trap lib_exit EXIT
# A scenario registered with should_fail (a known gap) sets SETUP_RC=99
# until it reaches the assertion that shows the gap: a broken setup then
# ends in meson's ERROR (99), never in the expected failure.
SETUP_RC=1
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2; exit $SETUP_RC' ERR

log() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit $SETUP_RC; }
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# --- running commands ---

run() {
	RC=0
	"$@" >"$T/out" 2>"$T/err" || RC=$?
}
show_io() {
	{
		echo "--- stdout of the last command:"
		head -c 4000 "$T/out"
		echo "--- stderr of the last command:"
		head -c 4000 "$T/err"
		echo "---"
	} >&2
}
expect() {
	local want=$1
	shift
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		show_io
		fail "'$*' exited $RC, expected $want"
	fi
}
expect_fail() {
	run "$@"
	if [ "$RC" -eq 0 ]; then
		show_io
		fail "'$*' succeeded, expected a failure"
	fi
}
said() {
	local w
	[ "${HOSTILE_VERBOSE:-0}" = 1 ] && printf '   exit %s: %s\n' "$RC" "$(grep -v '^pairing\.\.\.\|^this device: ' "$T/err" | tail -1)"
	for w in "$@"; do
		grep -qaF -- "$w" "$T/err" || { show_io; fail "stderr lacks '$w'"; }
	done
}
alert() {
	if [ "$RC" -ne 20 ]; then
		show_io
		fail "exit $RC, expected 20 (security alert)"
	fi
	said "SECURITY ALERT" "$@"
}

# --- the server ---

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

restart_server() {
	local i
	: >"$T/srv.out"
	"$COFFERD" --data "$DATA" --listen "127.0.0.1:$PORT" \
		--log "$T/srv.log" >"$T/srv.out" 2>"$T/srv.err" &
	SRV_PID=$!
	BG_PIDS+=("$SRV_PID")
	for i in $(seq 1 200); do
		grep -q '^cofferd listening on ' "$T/srv.out" 2>/dev/null && return 0
		kill -0 "$SRV_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

start_server() {
	local i
	DATA=$T/srv.data
	for i in 1 2 3 4 5; do
		PORT=$(free_port)
		URL=http://127.0.0.1:$PORT
		restart_server && return 0
	done
	fail "cannot start cofferd: $(cat "$T/srv.err")"
}

stop_server() {
	kill -TERM "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
}

# COFFER_TEST_SRV_PY: another srv.py (tests/scaleout: PostgreSQL and S3)
srv() { python3 "${COFFER_TEST_SRV_PY:-$HERE/srv.py}" "$DATA" "$@"; }
forge() { "$FORGE" "$@"; }

snap_server() { SNAP=$(srv digest); }
unchanged() {
	local now
	now=$(srv digest)
	[ "$now" = "$SNAP" ] || fail "the server's state changed: ${1:-}"
}

chain_head() { srv ref-get "$1" _account chain; }
# record ACCT NAME FILE: an object of the account's "_account" repository.
record() { srv get "$1" _account keys "$2" "$3"; }
# field FILE KEY: one line of 'forge show'.
field() { forge show "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# --- devices ---

dev() {
	local d=$1
	shift
	COFFER_CONFIG_DIR=$T/$d.cfg COFFER_CACHE_DIR=$T/$d.cache "$@"
}

new_account() {
	local d=$1 tok
	tok=$("$COFFERD" admin --data "$DATA" invite)
	expect 0 dev "$d" "$COFFER" init --repo "$URL" --invite "$tok" \
		--name "$d" --recovery-key-file "$T/$d.rk" --quiet
}

# pair_start NAME [invite options]: the code in $CODE, the process $INV_PID
# (its output in $T/inv.out, $T/inv.err).
pair_start() {
	local d=$1 i
	shift
	: >"$T/inv.out"
	COFFER_CONFIG_DIR=$T/$d.cfg COFFER_CACHE_DIR=$T/$d.cache \
		"$COFFER" device invite --approve --repo "$URL" --timeout 60 \
		"$@" >"$T/inv.out" 2>"$T/inv.err" & # $! is coffer itself
	INV_PID=$!
	BG_PIDS+=("$INV_PID")
	CODE=
	for i in $(seq 1 200); do
		CODE=$(grep -o '[0-9]\{8\}-[0-9A-Z]\{4\}-[0-9A-Z]\{4\}' "$T/inv.out" || true)
		[ -n "$CODE" ] && return 0
		kill -0 "$INV_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/inv.out" "$T/inv.err" >&2
	fail "no pairing code from $d"
}

# pair_wait: the exit status of the inviter in $INV_RC.
pair_wait() {
	INV_RC=0
	wait "$INV_PID" || INV_RC=$?
}

pair() {
	local old=$1 new=$2
	pair_start "$old"
	expect 0 dev "$new" "$COFFER" device join --repo "$URL" --name "$new" \
		"$CODE" --timeout 30
	pair_wait
	[ "$INV_RC" -eq 0 ] || { cat "$T/inv.err" >&2; fail "invite by $old exited $INV_RC"; }
}

# members DEV: the names in the device list that DEV sees, sorted.
members() {
	dev "$1" "$COFFER" device list --repo "$URL" --json |
		python3 -c 'import json, sys; print(" ".join(sorted(m["name"] for m in json.load(sys.stdin))))'
}

# gen DIR SEED: a few small files.
gen() {
	python3 - "$1" "$2" <<'PY'
import os, random, sys
d, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
os.makedirs(os.path.join(d, "sub"), exist_ok=True)
for i in range(8):
    with open(os.path.join(d, "sub" if i % 2 else "", "f%d-%d" % (seed, i)), "wb") as f:
        f.write(("secret-%d-%d " % (seed, i)).encode() * r.randint(10, 3000))
        f.write(r.randbytes(r.randint(100, 50000)))
PY
}

# patch FILE OFFSET HEX: overwrite bytes of FILE at OFFSET.  A chain record
# is 'C' 'R' version u64(seq) at 3, prev[32] at 11, type at 43, ...
patch() {
	python3 - "$@" <<'PY'
import sys
p, off, new = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
b = bytearray(open(p, "rb").read())
b[off:off + len(new)] = new
open(p, "wb").write(bytes(b))
PY
}
# b2 FILE: the BLAKE2b-256 name of a file's bytes.
b2() { python3 -c 'import hashlib, sys; print(hashlib.blake2b(open(sys.argv[1], "rb").read(), digest_size=32).hexdigest())' "$1"; }
# le64 N: N as 8 little-endian bytes, in hex.
le64() { python3 -c 'import sys; print(int(sys.argv[1]).to_bytes(8, "little").hex())' "$1"; }
