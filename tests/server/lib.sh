# lib.sh: shared helpers of the server scenarios.  Each scenario starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# with $1 the coffer binary, $2 cofferd and $3 signreq (meson passes their
# full paths).  On top of tests/cli/lib.sh (temp folder $T, run/expect,
# treecmp, gen, ...) this gives:
#   start_server NAME [cofferd options]  a cofferd with data in $T/NAME.data,
#       access log $T/NAME.log, on a free port; sets SRV_PID, SRV_PORT,
#       SRV_URL, SRV_DATA, SRV_LOG (the latest server started).  Every
#       server started is stopped when the scenario exits.
#   restart_server NAME PORT [options]   the same on a given port.
#   admin NAME ARGS...                   cofferd admin --data $T/NAME.data
#   as CLIENT CMD...                     run CMD with the client's own
#       device key and cache ($T/CLIENT.cfg, $T/CLIENT.cache)
#   new_client CLIENT URL [TOKEN]        coffer init through the URL
#   raw ...                              tests/server/raw.py (see there)
#   srv ARGS...                          tests/hostile/srv.py on the data of
#       the latest server started (tests/scaleout: its srv_pg.py)
#   digest                               a hash of that server's objects,
#       refs and device keys (pairing mailboxes excluded)
# Exit status: 0 pass, 1 fail, 77 skip (meson's convention).

if [ $# -lt 3 ] || [ ! -x "$2" ] || [ ! -x "$3" ]; then
	echo "usage: $0 PATH-TO-COFFER PATH-TO-COFFERD PATH-TO-SIGNREQ" >&2
	exit 2
fi
SERVER_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COFFERD=$(readlink -f "$2")
SIGNREQ=$(readlink -f "$3")
# shellcheck source=../cli/lib.sh
. "$SERVER_HERE/../cli/lib.sh" "$1"
# Private copies: a rebuild of the tree while this runs cannot swap them.
mkdir "$T/bin"
cp "$COFFER" "$COFFERD" "$SIGNREQ" "$T/bin/"
COFFER=$T/bin/$(basename "$COFFER")
COFFERD=$T/bin/$(basename "$COFFERD")
SIGNREQ=$T/bin/$(basename "$SIGNREQ")
export COFFERD SIGNREQ SERVER_HERE
unset COFFER_REPO
SRV_PIDS=()
CLEANUP+=("stop_all_servers")

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_listening FILE PID: until cofferd printed its "listening" line.
wait_listening() {
	local i
	for i in $(seq 1 200); do
		grep -q '^cofferd listening on ' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# restart_server NAME PORT [options]: cofferd on PORT, data $T/NAME.data.
restart_server() {
	local name=$1 port=$2
	shift 2
	local out=$T/$name.out
	: >"$out"
	"$COFFERD" --data "$T/$name.data" --listen "127.0.0.1:$port" \
		--log "$T/$name.log" "$@" >>"$out" 2>"$T/$name.stderr" &
	SRV_PID=$!
	SRV_PIDS+=("$SRV_PID")
	wait_listening "$out" "$SRV_PID" || return 1
	SRV_PORT=$port
	SRV_DATA=$T/$name.data
	SRV_LOG=$T/$name.log
	SRV_URL=$(sed -n "s|^cofferd listening on \(https\{0,1\}://127\.0\.0\.1:$port\) (data in $SRV_DATA)\$|\1|p" "$out")
	[ -n "$SRV_URL" ] || fail "unexpected banner: $(cat "$out")"
}

# start_server NAME [options]: on a free port (a few tries: another test
# may take the port between the probe and the bind).
start_server() {
	local name=$1 i
	shift
	for i in 1 2 3 4 5; do
		if restart_server "$name" "$(free_port)" "$@"; then
			return 0
		fi
	done
	fail "cannot start cofferd $name: $(cat "$T/$name.stderr")"
}

# stop_server PID [SIGNAL]: stop it, wait for it; returns its exit status.
stop_server() {
	local pid=$1 sig=${2:-TERM} rc=0
	kill -"$sig" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

stop_all_servers() {
	local p
	for p in "${SRV_PIDS[@]+"${SRV_PIDS[@]}"}"; do
		if kill -TERM "$p" 2>/dev/null; then
			timeout 35 tail --pid="$p" -f /dev/null || kill -9 "$p" 2>/dev/null || true
		fi
	done
	return 0
}

admin() {
	local name=$1
	shift
	"$COFFERD" admin --data "$T/$name.data" "$@"
}

as() {
	local c=$1
	shift
	COFFER_CONFIG_DIR=$T/$c.cfg COFFER_CACHE_DIR=$T/$c.cache "$@"
}

# new_client CLIENT URL [TOKEN [init options]]: coffer init through URL:
# with TOKEN, a new account (recovery key in $T/CLIENT.rk); without, a new
# zone of the device's account.
new_client() {
	local c=$1 url=$2 tok=${3:-}
	shift $(($# < 3 ? $# : 3))
	as "$c" "$COFFER" init --repo "$url" ${tok:+--invite "$tok"} \
		--recovery-key-file "$T/$c.rk" --quiet "$@"
}

raw() { python3 "$SERVER_HERE/raw.py" "$@"; }
# COFFER_TEST_SRV_PY: another srv.py (tests/scaleout: PostgreSQL and S3)
srv() {
	python3 "${COFFER_TEST_SRV_PY:-$SERVER_HERE/../hostile/srv.py}" \
		"$SRV_DATA" "$@"
}
digest() { srv digest; }

# healthz [PORT]: the server answers GET /healthz with 200 "ok".
healthz() {
	[ "$(curl -s --max-time 5 "http://127.0.0.1:${1:-$SRV_PORT}/healthz")" = ok ]
}

# wait_exit PID SECS: 0 once PID is gone, 1 if still there after SECS.
wait_exit() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
