#!/bin/bash
# 05-pg-restart: PostgreSQL restarted under two cofferd processes while
# four accounts back up through them (two through each).  Requests made
# while it is down get 503 and the clients retry them; neither process
# crashes or hangs; every backup completes, and nothing a backup reported
# written is lost: every snapshot restores bit for bit through the other
# process and check --read-data passes.
# Needs a PostgreSQL started by scripts/services/postgres.sh (its folder
# from PG_SERVICE_DIR, else from PG_SOCKET_DIR of its pg.env): skipped (77)
# otherwise.  It restarts the cluster every test shares: it runs alone.
. "$(dirname "$0")/lib.sh" "$@"

PGSH=$SO_HERE/../../scripts/services/postgres.sh
PGDIR=${PG_SERVICE_DIR:-${PG_SOCKET_DIR:+$(dirname "$PG_SOCKET_DIR")}}
[ -n "$PGDIR" ] && [ -f "$PGDIR/pg.env" ] ||
	skip "no PG_SERVICE_DIR: not a PostgreSQL of scripts/services/postgres.sh"
# postgres.sh starts on PG_PORT (default 15432), not on the port the
# cluster ran on: give it that port
PGP=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).port or 5432)' "$DATABASE_URL")
export PG_PORT=$PGP
# the database must come back even if this scenario fails half-way
CLEANUP=("bash '$PGSH' start '$PGDIR' >/dev/null 2>&1" "${CLEANUP[@]}")
healthz() { [ "$(curl -s --max-time 5 "$1/healthz")" = ok ]; }

start_cofferd A
start_cofferd B
url() { if [ $(($1 % 2)) = 1 ]; then echo "$URL_A"; else echo "$URL_B"; fi; }
other() { url $(($1 + 1)); }
for i in 1 2 3 4; do
	expect 0 new_account "c$i" "$(url "$i")"
	gen tree "$T/src$i" --seed $((200 + i)) --files 300 --dirs 20 \
		--max 300000 --big 3:$((30000000 + i * 500000)) >/dev/null
done

log "four backups; PostgreSQL restarted in their middle"
pids=()
for i in 1 2 3 4; do
	as "c$i" "$COFFER" backup --repo "$(url "$i")" "$T/src$i" \
		>"$T/b$i.out" 2>"$T/b$i.err" &
	pids+=($!)
done
# as soon as a pack is stored through either process (each backup has
# ~130 MB to send: several packs, seconds of work, still to go)
for _ in $(seq 1 400); do
	grep -q ' PUT /v1/r/[^ ]*/o/data/.* 201 ' "$T/A.log" "$T/B.log" && break
	sleep 0.05
done
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null || fail "a backup ended before the restart"
done
bash "$PGSH" stop "$PGDIR" >/dev/null 2>&1 || fail "cannot stop PostgreSQL"
healthz "$URL_A" || fail "A does not answer while the database is down"
healthz "$URL_B" || fail "B does not answer while the database is down"
sleep 3
t0=$SECONDS
bash "$PGSH" start "$PGDIR" >/dev/null 2>&1 || fail "cannot start PostgreSQL"
[ $((SECONDS - t0)) -le 10 ] ||
	fail "postgres.sh start took $((SECONDS - t0)) s: longer than the clients retry"
k=0
for p in "${pids[@]}"; do
	k=$((k + 1))
	wait "$p" || { cat "$T/b$k.err" >&2; fail "backup $k failed"; }
	grep -qE '^snapshot [0-9a-f]{8} saved' "$T/b$k.out" ||
		fail "backup $k: no summary line"
done
kill -0 "$PID_A" && kill -0 "$PID_B" || fail "a cofferd died"
N503=$(cat "$T/A.log" "$T/B.log" | grep -c ' 503 ' || true)
[ "$N503" -ge 1 ] || fail "no request was answered 503 while the database was down"
log "$N503 requests answered 503 (retried): A $(grep -c ' 503 ' "$T/A.log"), B $(grep -c ' 503 ' "$T/B.log")"

log "every snapshot is whole, through the other process"
for i in 1 2 3 4; do
	expect 0 as "c$i" "$COFFER" restore --repo "$(other "$i")" latest \
		--target "$T/r$i"
	treecmp "$T/src$i" "$T/r$i$T/src$i"
	expect 0 as "c$i" "$COFFER" check --read-data --repo "$(url "$i")"
	has "$T/out" "(all data read): 0 errors, 0 warnings"
done
log "and both keep serving"
gen modify "$T/src1" --seed 9 --fraction 0.1 >/dev/null
expect 0 as c1 "$COFFER" backup --repo "$URL_B" "$T/src1" --quiet
expect 0 as c1 "$COFFER" snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 2 ] || fail "two snapshots expected"
