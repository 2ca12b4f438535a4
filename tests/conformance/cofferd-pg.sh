#!/bin/bash
# cofferd-pg.sh: cofferd with its metadata in PostgreSQL, for running the
# server scenarios (tests/server/NN-*.sh take the cofferd binary as $2) on
# the PostgreSQL store: every 'cofferd ... --data DIR' becomes 'cofferd ...
# --data DIR --meta URL' with a database of its own per DIR (created on
# first use), so each scenario starts as empty as with SQLite.
#   COFFERD_REAL=path/to/cofferd DATABASE_URL=postgresql://... cofferd-pg.sh ARGS
set -euo pipefail
: "${COFFERD_REAL:?}" "${DATABASE_URL:?}"
data=""
prev=""
for a in "$@"; do
	[ "$prev" = --data ] && data=$a
	prev=$a
done
if [ -z "$data" ] || [ "${1:-}" = --help ]; then
	exec "$COFFERD_REAL" "$@"
fi
db=cft_$(printf '%s' "$(readlink -m "$data")" | md5sum | cut -c1-16)
base=${DATABASE_URL%%\?*}
base=${base%/*}
psql -X -q -d "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null 2>&1 || true
exec "$COFFERD_REAL" "$@" --meta "$base/$db"
