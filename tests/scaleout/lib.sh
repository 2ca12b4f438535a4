# shellcheck shell=bash
# lib.sh: shared helpers of the scaleout scenarios: several cofferd
# processes sharing one PostgreSQL database and one S3 bucket (the setup of
# docs/ARCHITECTURE.md, "Metadata in PostgreSQL").  Each scenario starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# with $1 the coffer binary and $2 cofferd.  On top of tests/cli/lib.sh
# (temp folder $T, run/expect, has, treecmp, gen, jget, ...) this gives:
#   DB, META      a fresh database on the cluster of $DATABASE_URL and its
#                 URL (already migrated: 'cofferd migrate'); dropped on exit
#   BUCKET        a fresh bucket; emptied and removed on exit
#   start_cofferd NAME [options]   cofferd --meta $META --blobs
#       s3://$BUCKET on a free port, access log $T/NAME.log; sets
#       URL_NAME and PID_NAME (NAME: a shell word).  Stopped on exit.
#   stop_cofferd NAME              SIGTERM, wait; its exit status
#   admin ARGS...                  cofferd admin on the same stores
#   as DEV CMD...                  CMD with the device's own config and
#       cache ($T/DEV.cfg, $T/DEV.cache)
#   new_account DEV URL            an invitation, then 'coffer init' of DEV
#       through URL (recovery key in $T/DEV.rk)
#   pair OLD URL_OLD NEW URL_NEW   OLD runs 'device invite --approve'
#       through URL_OLD while NEW joins through URL_NEW
#   members DEV URL                the device names DEV sees, sorted
#   s3 ARGS...                     tests/scaleout/s3util.py (see there)
#   no_5xx NAME...                 no 5xx answer in those access logs
# Skips (exit 77) unless DATABASE_URL, S3_ENDPOINT, S3_ACCESS_KEY and
# S3_SECRET_KEY are set (scripts/services/start-all.sh DIR writes them to
# DIR/services.env) and psql is installed.

if [ $# -lt 2 ] || [ ! -x "$2" ]; then
	echo "usage: $0 PATH-TO-COFFER PATH-TO-COFFERD" >&2
	exit 2
fi
SO_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COFFERD=$(readlink -f "$2")
# shellcheck source=../cli/lib.sh
. "$SO_HERE/../cli/lib.sh" "$1"
[ -n "${DATABASE_URL:-}" ] || skip "DATABASE_URL not set"
if [ -z "${S3_ENDPOINT:-}" ] || [ -z "${S3_ACCESS_KEY:-}" ] ||
	[ -z "${S3_SECRET_KEY:-}" ]; then
	skip "S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY not set"
fi
command -v psql >/dev/null || skip "no psql"
unset COFFER_REPO COFFER_PASSWORD_FILE
# cofferd takes its S3 settings from the environment
export COFFER_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY \
	AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=${S3_REGION:-us-east-1}
unset AWS_DEFAULT_REGION
export S3_REGION=${S3_REGION:-us-east-1}

# Private copies: a rebuild of the tree while this runs cannot swap them.
mkdir "$T/bin"
cp "$COFFER" "$COFFERD" "$T/bin/"
COFFER=$T/bin/$(basename "$COFFER")
COFFERD=$T/bin/$(basename "$COFFERD")

SO_ID=$(printf '%s' "$NAME" | tr -c 'a-z0-9' '_' | cut -c1-20)_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
DB=cso_$SO_ID
BUCKET=cso-$(printf '%s' "$SO_ID" | tr '_' '-')
PG_BASE=${DATABASE_URL%%\?*}
PG_BASE=${PG_BASE%/*}
META=$PG_BASE/$DB
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1" >/dev/null; }
# sqlv QUERY: one value from the test database
sqlv() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$META" -c "$1"; }
s3() { python3 "$SO_HERE/s3util.py" "$@"; }

SO_PIDS=()
so_cleanup() {
	local p
	for p in "${SO_PIDS[@]+"${SO_PIDS[@]}"}"; do
		if kill -TERM "$p" 2>/dev/null; then
			timeout 35 tail --pid="$p" -f /dev/null ||
				kill -9 "$p" 2>/dev/null || true
		fi
	done
	sql "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
	s3 rb "$BUCKET" || true
}
CLEANUP+=("so_cleanup")

sql "CREATE DATABASE $DB"
s3 mb "$BUCKET"
"$COFFERD" migrate --meta "$META" >"$T/migrate.out" 2>&1 ||
	fail "cofferd migrate: $(cat "$T/migrate.out")"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# launch_cofferd NAME PORT [options]: start it on PORT and wait until it
# listens; PID_NAME is its pid.  Non-zero if it did not come up.
launch_cofferd() {
	local name=$1 port=$2 pid
	shift 2
	: >"$T/$name.out"
	"$COFFERD" --data "$T/$name.data" --meta "$META" \
		--blobs "s3://$BUCKET" --listen "127.0.0.1:$port" \
		--log "$T/$name.log" "$@" \
		>>"$T/$name.out" 2>"$T/$name.stderr" &
	pid=$!
	SO_PIDS+=("$pid")
	printf -v "PID_$name" '%s' "$pid"
	for _ in $(seq 1 400); do
		grep -q '^cofferd listening on ' "$T/$name.out" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_cofferd NAME [options]: on a free port (tried up to five times)
start_cofferd() {
	local name=$1 port
	shift
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		if launch_cofferd "$name" "$port" "$@"; then
			printf -v "URL_$name" '%s' "http://127.0.0.1:$port"
			printf -v "PORT_$name" '%s' "$port"
			return 0
		fi
	done
	fail "cannot start cofferd $name: $(cat "$T/$name.stderr")"
}

# restart_cofferd NAME [options]: on its port again
restart_cofferd() {
	local port=PORT_$1
	launch_cofferd "$1" "${!port}" "${@:2}" ||
		fail "cannot restart cofferd $1: $(cat "$T/$1.stderr")"
}

stop_cofferd() {
	local pid=PID_$1 rc=0
	pid=${!pid}
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

admin() { "$COFFERD" admin --meta "$META" --blobs "s3://$BUCKET" "$@"; }

as() {
	local d=$1
	shift
	COFFER_CONFIG_DIR=$T/$d.cfg COFFER_CACHE_DIR=$T/$d.cache "$@"
}

new_account() {
	local d=$1 url=$2 tok
	tok=$(admin invite) || fail "cofferd admin invite"
	as "$d" "$COFFER" init --repo "$url" --invite "$tok" --name "$d" \
		--recovery-key-file "$T/$d.rk" --kdf-memory 8 --kdf-ops 1 --quiet
}

# pair OLD URL_OLD NEW URL_NEW: the pairing mailbox is written through one
# process and read through the other.
pair() {
	local old=$1 uold=$2 new=$3 unew=$4 code="" rc=0
	: >"$T/inv.out"
	as "$old" "$COFFER" device invite --approve --repo "$uold" --timeout 60 \
		>"$T/inv.out" 2>"$T/inv.err" &
	local inv=$!
	for _ in $(seq 1 400); do
		code=$(grep -o '[0-9]\{8\}-[0-9A-Z]\{4\}-[0-9A-Z]\{4\}' "$T/inv.out" || true)
		[ -n "$code" ] && break
		kill -0 "$inv" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$code" ] || { cat "$T/inv.out" "$T/inv.err" >&2; fail "no pairing code from $old"; }
	expect 0 as "$new" "$COFFER" device join --repo "$unew" --name "$new" \
		"$code" --timeout 60
	wait "$inv" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/inv.err" >&2; fail "device invite by $old exited $rc"; }
}

members() {
	as "$1" "$COFFER" device list --repo "$2" --json |
		python3 -c 'import json, sys; print(" ".join(sorted(m["name"] for m in json.load(sys.stdin))))'
}

no_5xx() {
	local n
	for n in "$@"; do
		if grep -q ' 5[0-9][0-9] account=' "$T/$n.log"; then
			fail "cofferd $n answered 5xx: $(grep ' 5[0-9][0-9] account=' "$T/$n.log" | head -3)"
		fi
	done
}

# served NAME: requests in NAME's access log
served() { grep -c ' account=' "$T/$1.log" || true; }
