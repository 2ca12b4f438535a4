#!/usr/bin/env bash
# stop-all.sh DIR - stop the test services start-all.sh started under DIR
# (each only by its own pid files; never by name).  Exits non-zero if one
# of them could not be stopped; stopping what never ran is not an error.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
rc=0
if [ -d "$DIR/ceph" ]; then
	bash "$HERE/ceph-s3.sh" stop "$DIR/ceph" || rc=1
fi
if [ -d "$DIR/pg" ] && [ -f "$HERE/postgres.sh" ]; then
	bash "$HERE/postgres.sh" stop "$DIR/pg" || rc=1
fi
exit $rc
