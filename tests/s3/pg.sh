#!/bin/bash
# pg.sh SCENARIO COFFER COFFERD: run an s3 scenario with cofferd's metadata
# in PostgreSQL as well (tests/conformance/cofferd-pg.sh gives every data
# folder a database of its own): objects in S3, metadata in PostgreSQL,
# the scale-out setup.  Exits 77 (skipped) without DATABASE_URL.
set -euo pipefail
[ -n "${DATABASE_URL:-}" ] || { echo "SKIP: DATABASE_URL not set"; exit 77; }
COFFERD_REAL=$(readlink -f "$3")
export COFFERD_REAL
exec bash "$1" "$2" "$(dirname "$0")/../conformance/cofferd-pg.sh"
