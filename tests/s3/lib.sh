# lib.sh: shared helpers of the s3 scenarios (cofferd with its objects in
# S3).  Each scenario starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# with $1 the coffer binary and $2 cofferd.  On top of tests/cli/lib.sh
# (temp folder $T, run/expect, treecmp, gen, ...) this gives:
#   S3_BUCKET, S3_PREFIX   where this run's objects go: a fresh prefix,
#       emptied again when the scenario exits
#   s3_config FILE [ENDPOINT] [LINE...]  a cofferd config file (mode 0600)
#       with the credentials from the environment, the endpoint (default
#       $S3_ENDPOINT) and extra "key = value" lines
#   start_server NAME CONFIG [options]   cofferd --data $T/NAME.data
#       --config CONFIG --blobs s3://$S3_BUCKET/$S3_PREFIX on a free port;
#       sets SRV_PID, SRV_URL, SRV_LOG.  Stopped when the scenario exits.
#   stop_server PID                      SIGTERM, wait
#   admin NAME CONFIG ARGS...            cofferd admin, same stores
#   client_init URL TOKEN                coffer init for the device in
#       $T/cfg (COFFER_CONFIG_DIR), recovery key in $T/recovery
#   s3_count [PREFIX]                    keys under $S3_PREFIX/PREFIX
#   s3_uploads                           multipart uploads in progress there
#   s3_curl ARGS...                      curl with SigV4 to $S3_ENDPOINT
# Skips (exit 77) unless S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY are
# set (scripts/services/ceph-s3.sh start DIR writes them to DIR/s3.env).

if [ $# -lt 2 ] || [ ! -x "$2" ]; then
	echo "usage: $0 PATH-TO-COFFER PATH-TO-COFFERD" >&2
	exit 2
fi
S3_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COFFERD=$(readlink -f "$2")
# shellcheck source=../cli/lib.sh
. "$S3_HERE/../cli/lib.sh" "$1"
if [ -z "${S3_ENDPOINT:-}" ] || [ -z "${S3_ACCESS_KEY:-}" ] ||
	[ -z "${S3_SECRET_KEY:-}" ]; then
	skip "S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY not set"
fi
# cofferd takes its S3 settings from the config file in these tests: none
# may leak in from the caller's environment.
unset COFFER_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
	AWS_DEFAULT_REGION COFFER_REPO
S3_BUCKET=${S3_BUCKET:-coffer-test}
S3_REGION=${S3_REGION:-us-east-1}
S3_PREFIX=t-$NAME-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
export COFFER_CONFIG_DIR=$T/cfg
SRV_PIDS=()
CLEANUP+=("stop_all_servers" "s3_empty_prefix")

s3_curl() {
	curl -sS --max-time 60 --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# s3_keys [PREFIX]: the keys under $S3_PREFIX/PREFIX, one a line.
s3_keys() {
	local p
	p=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
		"$S3_PREFIX/${1:-}")
	s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&max-keys=1000&prefix=$p" |
		python3 -c 'import re, sys; [print(k) for k in re.findall(r"<Key>([^<]*)</Key>", sys.stdin.read())]'
}
s3_count() { s3_keys "${1:-}" | wc -l; }

# s3_uploads: "KEY UPLOADID" of every multipart upload in progress under
# $S3_PREFIX, one a line.
s3_uploads() {
	s3_curl "$S3_ENDPOINT/$S3_BUCKET?prefix=$S3_PREFIX&uploads=" |
		python3 -c 'import re, sys; [print(k, u) for k, u in re.findall(r"<Key>([^<]*)</Key><UploadId>([^<]*)</UploadId>", sys.stdin.read())]'
}

s3_empty_prefix() {
	local k u
	for k in $(s3_keys); do
		s3_curl -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$k" >/dev/null || true
	done
	s3_uploads | while read -r k u; do
		s3_curl -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$k?uploadId=$u" \
			>/dev/null || true
	done
}

s3_config() {
	local f=$1 ep=${2:-$S3_ENDPOINT}
	shift 2 || shift $#
	(
		umask 077
		{
			echo "# cofferd S3 settings for $NAME"
			echo "endpoint = $ep"
			echo "region = $S3_REGION"
			echo "access_key = $S3_ACCESS_KEY"
			echo "secret_key = $S3_SECRET_KEY"
			for l in "$@"; do echo "$l"; done
		} >"$f"
	)
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {
	local name=$1 conf=$2 i port
	shift 2
	for i in 1 2 3 4 5; do
		port=$(free_port)
		: >"$T/$name.out"
		"$COFFERD" --data "$T/$name.data" --config "$conf" \
			--blobs "s3://$S3_BUCKET/$S3_PREFIX" \
			--listen "127.0.0.1:$port" --log "$T/$name.log" "$@" \
			>>"$T/$name.out" 2>"$T/$name.stderr" &
		SRV_PID=$!
		SRV_PIDS+=("$SRV_PID")
		for _ in $(seq 1 300); do
			grep -q '^cofferd listening on ' "$T/$name.out" && break
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.05
		done
		if grep -q '^cofferd listening on ' "$T/$name.out"; then
			SRV_URL=http://127.0.0.1:$port
			SRV_LOG=$T/$name.log
			return 0
		fi
	done
	fail "cannot start cofferd $name: $(cat "$T/$name.stderr")"
}

stop_server() {
	local rc=0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || rc=$?
	return $rc
}

stop_all_servers() {
	local p
	for p in "${SRV_PIDS[@]+"${SRV_PIDS[@]}"}"; do
		kill -TERM "$p" 2>/dev/null &&
			{ timeout 35 tail --pid="$p" -f /dev/null || true
			  kill -9 "$p" 2>/dev/null || true; }
	done
	return 0
}

admin() {
	local name=$1 conf=$2
	shift 2
	"$COFFERD" admin --data "$T/$name.data" --config "$conf" \
		--blobs "s3://$S3_BUCKET/$S3_PREFIX" "$@"
}

client_init() {
	coffer init --repo "$1" --invite "$2" --recovery-key-file "$T/recovery" \
		--kdf-memory 8 --kdf-ops 1 --quiet
}
