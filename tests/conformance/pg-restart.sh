#!/bin/bash
# pg-restart: cofferd with its metadata in PostgreSQL survives a restart of
# the database in the middle of a backup.  Requests made while it is down
# get 503 (the client retries them), cofferd neither crashes nor hangs, the
# backup completes, and the repository checks out bit for bit.
#   pg-restart.sh COFFER COFFERD
# Needs DATABASE_URL and a PostgreSQL started by scripts/services/postgres.sh
# (its folder from PG_SERVICE_DIR, else from PG_SOCKET_DIR of its pg.env):
# skipped (77) otherwise.  Uses a database of its own, dropped at the end.
. "$(dirname "$0")/../cli/lib.sh" "$1"
COFFERD=$(readlink -f "$2")
PGSH=$HERE/../../scripts/services/postgres.sh
[ -n "${DATABASE_URL:-}" ] || skip "DATABASE_URL is not set"
PGDIR=${PG_SERVICE_DIR:-${PG_SOCKET_DIR:+$(dirname "$PG_SOCKET_DIR")}}
[ -n "$PGDIR" ] && [ -f "$PGDIR/pg.env" ] ||
	skip "no PG_SERVICE_DIR: not a PostgreSQL of scripts/services/postgres.sh"
command -v psql >/dev/null || skip "no psql"

DB=cft_restart_$$
BASE=${DATABASE_URL%%\?*}
META=${BASE%/*}/$DB
sql() { psql -X -q -d "$DATABASE_URL" -c "$1" >/dev/null; }
sql "CREATE DATABASE $DB"
CLEANUP+=("bash '$PGSH' start '$PGDIR' >/dev/null 2>&1; sql 'DROP DATABASE IF EXISTS $DB WITH (FORCE)'")

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
unset COFFER_PASSWORD_FILE
export COFFER_REPO=$URL COFFER_CONFIG_DIR=$T/cfg
healthz() { [ "$(curl -s --max-time 5 "$URL/healthz")" = ok ]; }

log "cofferd on PostgreSQL"
"$COFFERD" --data "$T/srv" --meta "$META" --listen "127.0.0.1:$PORT" \
	--log "$T/access.log" >"$T/srv.out" 2>"$T/srv.err" &
SRV=$!
CLEANUP+=("kill $SRV 2>/dev/null; wait $SRV 2>/dev/null")
for _ in $(seq 1 100); do
	grep -q '^cofferd listening' "$T/srv.out" && break
	sleep 0.05
done
healthz || fail "cofferd did not start: $(cat "$T/srv.err")"
TOK=$("$COFFERD" admin --data "$T/srv" --meta "$META" invite)
expect 0 coffer init --invite "$TOK" --recovery-key-file "$T/rk" --quiet

log "a backup, with PostgreSQL restarted in its middle"
gen tree "$T/src" --seed 7 --files 400 --dirs 30 --max 400000 \
	--big 6:20000000 >/dev/null
coffer backup "$T/src" >"$T/b1.out" 2>"$T/b1.err" &
B=$!
# restart once the first pack is in: the backup is well under way
for _ in $(seq 1 200); do
	grep -q ' PUT /v1/r/[^ ]*/o/data/.* 201 ' "$T/access.log" && break
	kill -0 $B 2>/dev/null || break
	sleep 0.05
done
if ! kill -0 $B 2>/dev/null; then
	wait $B && rc=0 || rc=$?
	cat "$T/b1.err" >&2
	fail "the backup ended (exit $rc) before the restart"
fi
bash "$PGSH" stop "$PGDIR" >/dev/null 2>&1
healthz || fail "cofferd does not answer while the database is down"
sleep 2
bash "$PGSH" start "$PGDIR" >/dev/null 2>&1
wait $B || { cat "$T/b1.err" >&2; fail "the backup failed"; }
kill -0 $SRV || fail "cofferd died"
grep -q ' 503 ' "$T/access.log" ||
	fail "no request was answered 503 while the database was down"
echo "  $(grep -c ' 503 ' "$T/access.log") requests answered 503 (retried)"

log "the repository is whole"
expect 0 coffer check --read-data
expect 0 coffer restore latest --target "$T/restored"
treecmp "$T/src" "$T/restored$T/src"
log "and cofferd keeps serving"
expect 0 coffer backup "$T/src"
healthz || fail "cofferd stopped answering"
