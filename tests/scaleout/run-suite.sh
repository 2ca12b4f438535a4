#!/bin/bash
# run-suite.sh SCENARIO COFFER COFFERD HELPER: run a scenario of the server
# or hostile suite (tests/server/NN-*.sh, tests/hostile/NN-*.sh) on the
# scale-out setup: its cofferd is tests/scaleout/cofferd-pair.py, two real
# cofferd processes behind a round-robin balancer, with one PostgreSQL
# database and one S3 bucket per data folder; the hostile operator's
# srv.py is tests/scaleout/srv_pg.py, which edits that database and bucket
# (COFFER_TEST_SRV_PY, read by tests/hostile/lib.sh).  Afterwards the
# databases and buckets are removed, and a passing scenario must have had
# connections served by both processes.  Exits 77 (skipped) without
# DATABASE_URL, S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY, and for the
# scenarios that cannot run on this setup (the reason is printed).
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 SCENARIO COFFER COFFERD HELPER" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
SCEN=$(readlink -f "$1")
SUITE=$(basename "$(dirname "$SCEN")")
NAME=$(basename "$SCEN" .sh)
skip() { echo "SKIP: $SUITE/$NAME on PostgreSQL + S3: $*"; exit 77; }
[ -n "${DATABASE_URL:-}" ] || skip "DATABASE_URL not set"
[ -n "${S3_ENDPOINT:-}" ] && [ -n "${S3_ACCESS_KEY:-}" ] &&
	[ -n "${S3_SECRET_KEY:-}" ] || skip "S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY not set"
command -v psql >/dev/null || skip "no psql"

# Scenarios that look at what only the embedded stores have.
case $SUITE/$NAME in
server/02-privacy)
	skip "it scans the data folder (meta.db, its WAL, blobs) for plaintext; here the data folder is empty and the stores are PostgreSQL and S3" ;;
server/04-crash)
	skip "its last part plants files in DATA/blobs/tmp of the folder blob store and expects cofferd to sweep them; SIGKILL and SIGTERM of a process of the pair: scaleout-07-crash" ;;
server/05-hostile)
	skip "hostile.py checks the files of the folder blob store (DATA/blobs, DATA/blobs/tmp) after each attack" ;;
server/07-metrics-log)
	skip "it compares one process's /metrics counters with the access log that both processes write" ;;
hostile/09-removed-device|hostile/12-removed-device-injects)
	skip "it edits DATA/meta.db with python's sqlite3 directly (the devices table), beyond what srv.py does" ;;
esac

export SCALEOUT_TAG COFFERD_REAL SCALEOUT_STATE
SCALEOUT_TAG=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
COFFERD_REAL=$(readlink -f "$3")
SCALEOUT_STATE=$(mktemp -d "${TMPDIR:-/tmp}/coffer-scaleout-state.XXXXXX")
export COFFER_TEST_SRV_PY=$HERE/srv_pg.py

cleanup() {
	local db
	for db in $(psql -X -At -d "$DATABASE_URL" -c \
		"SELECT datname FROM pg_database WHERE datname LIKE 'cso\\_${SCALEOUT_TAG}\\_%'" 2>/dev/null); do
		psql -X -q -d "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
			>/dev/null 2>&1 || true
	done
	python3 "$HERE/s3util.py" rb-prefix "cso-$SCALEOUT_TAG-" || true
	rm -rf "$SCALEOUT_STATE"
}
trap cleanup EXIT

rc=0
bash "$SCEN" "$2" "$HERE/cofferd-pair.py" "$4" || rc=$?
if [ "$rc" = 0 ] && [ -s "$SCALEOUT_STATE/pairs.jsonl" ]; then
	read -r A B < <(python3 -c '
import json, sys
a = b = 0
for line in open(sys.argv[1]):
    c = json.loads(line)["conns"]
    a, b = a + c[0], b + c[1]
print(a, b)' "$SCALEOUT_STATE/pairs.jsonl")
	echo "connections served: process A $A, process B $B"
	if [ "$A" = 0 ] || [ "$B" = 0 ]; then
		echo "FAIL: one of the two cofferd processes served nothing" >&2
		rc=1
	fi
fi
exit $rc
