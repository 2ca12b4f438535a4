#!/usr/bin/env bash
# start-all.sh - start every test service coffer's integration tests use,
# each under its own folder of DIR, and write DIR/services.env with all
# their variables:
#   Ceph radosgw (S3)  DIR/ceph  S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
#                                S3_REGION S3_VHOST_ENDPOINT  (tests/s3)
#   PostgreSQL         DIR/pg    PGHOST PGPORT PGUSER PGDATABASE
#                                DATABASE_URL PG_SOCKET_DIR
#
#   start-all.sh DIR    start (DIR is created; as root, make it 0755 or put
#                       it in a 0755 folder: PostgreSQL runs as 'postgres')
#   stop-all.sh DIR     stop them again (also after a failed start)
#
# Use from CI:
#   work=$(mktemp -d); chmod 755 "$work"
#   trap 'bash scripts/services/stop-all.sh "$work"' EXIT
#   bash scripts/services/start-all.sh "$work"
#   set -a; . "$work/services.env"; set +a
#   ./run-tests.sh
#
# Services are installed on first use (apt-get; ~300 MB for Ceph).  A
# service that cannot start fails the whole start, and the ones already
# started are stopped.  COFFER_SERVICES (default "ceph postgres") picks
# which to start.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SERVICES=${COFFER_SERVICES:-ceph postgres}
: >"$DIR/services.env.tmp"

fail() {
	echo "start-all: ERROR: $*" >&2
	bash "$HERE/stop-all.sh" "$DIR" >&2 || true
	exit 1
}

for s in $SERVICES; do
	case $s in
	ceph)
		bash "$HERE/ceph-s3.sh" start "$DIR/ceph" >/dev/null ||
			fail "Ceph S3 did not start (logs in $DIR/ceph/log)"
		cat "$DIR/ceph/s3.env" >>"$DIR/services.env.tmp"
		;;
	postgres)
		[ -f "$HERE/postgres.sh" ] || fail "no $HERE/postgres.sh"
		bash "$HERE/postgres.sh" start "$DIR/pg" >/dev/null ||
			fail "PostgreSQL did not start (see $DIR/pg)"
		cat "$DIR/pg/pg.env" >>"$DIR/services.env.tmp"
		;;
	*)
		fail "unknown service '$s' (ceph, postgres)"
		;;
	esac
done
mv "$DIR/services.env.tmp" "$DIR/services.env"
echo "start-all: services up ($SERVICES); variables in $DIR/services.env:" >&2
cat "$DIR/services.env"
