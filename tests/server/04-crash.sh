#!/bin/bash
# 04-crash: cofferd killed with SIGKILL in the middle of three ~130 MB
# backups and restarted on the same port and data within 2 s: the clients'
# retries carry them through (a backup that still fails must succeed when
# run again), then check --read-data passes and every snapshot restores bit
# for bit.  SIGTERM: an upload in flight finishes, new connections are
# refused, cofferd exits 0, and the object is there after a restart, which
# also sweeps the partial uploads the crash left (once an hour old).
. "$(dirname "$0")/lib.sh" "$@"

N=3
start_server srv
PORT=$SRV_PORT

log "$N accounts, $N trees of ~130 MB"
pids=()
for i in $(seq 1 $N); do
	new_client "c$i" "$SRV_URL" "$(admin srv invite)" || fail "init $i"
	gen tree "$T/src$i" --seed $((300 + i)) --files 60 --dirs 8 \
		--max 2000000 --big 2:$((55000000 + i)) >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "gen"; done

log "backups; SIGKILL the server mid-way, restart it"
pids=()
TB=$(now_s)
for i in $(seq 1 $N); do
	as "c$i" "$COFFER" backup --repo "$SRV_URL" --quiet --threads 1 "$T/src$i" \
		>"$T/b$i.out" 2>"$T/b$i.err" &
	pids+=($!)
done
# mid-way: as soon as the first pack is stored (about 1 s in)
for _ in $(seq 1 400); do
	grep -q 'PUT /v1/r/default/o/data/.* 201 ' "$SRV_LOG" && break
	sleep 0.05
done
for i in $(seq 1 $N); do
	kill -0 "${pids[$((i - 1))]}" 2>/dev/null ||
		fail "backup $i was over before the kill: make the trees bigger"
done
BEFORE=$(wc -l <"$SRV_LOG")
kill -9 "$SRV_PID"
echo "SIGKILL $(elapsed "$TB") s into the backups," \
	"$(grep -c 'PUT /v1/r/default/o/data/.* 201 ' "$SRV_LOG") packs stored"
wait "$SRV_PID" 2>/dev/null || true
healthz && fail "the server survived SIGKILL"
sleep 1.5
restart_server srv "$PORT" || fail "restart on port $PORT: $(cat "$T/srv.stderr")"
failed=0
for i in $(seq 1 $N); do
	if ! wait "${pids[$((i - 1))]}"; then
		echo "backup $i failed across the crash: $(cat "$T/b$i.err")"
		failed=$((failed + 1))
		expect 0 as "c$i" coffer backup --repo "$SRV_URL" "$T/src$i"
	fi
done
echo "$failed of $N backups needed a second run"
[ "$(tail -n +$((BEFORE + 1)) "$SRV_LOG" | grep -c 'PUT /v1/r/default/o/data/.* 201 ')" -ge 1 ] ||
	fail "no client came back after the restart"

log "check --read-data, restore bit for bit"
for i in $(seq 1 $N); do
	expect 0 as "c$i" coffer check --read-data --repo "$SRV_URL"
	has "$T/out" "(all data read): 0 errors, 0 warnings"
	expect 0 as "c$i" coffer snapshots --json --repo "$SRV_URL"
	for s in $(jget "$T/out" '" ".join(x["id"] for x in d)'); do
		expect 0 as "c$i" coffer restore "$s" --repo "$SRV_URL" \
			--target "$T/r$i-$s"
		treecmp "$T/src$i" "$T/r$i-$s$T/src$i"
		rm -rf "$T/r$i-$s"
	done
done

log "SIGTERM: the request in flight finishes"
OBJ=$(python3 "$SERVER_HERE/graceful.py" "$PORT" "$SIGNREQ" "$T/c1.cfg" "$SRV_PID") ||
	fail "graceful.py"
wait_exit "$SRV_PID" 10 || fail "cofferd still running 10 s after SIGTERM"
stop_server "$SRV_PID" || fail "cofferd did not exit 0 after SIGTERM"
has "$SRV_LOG" "shutting down: finishing requests in flight"
grep -q "PUT /v1/r/graceful/o/data/$OBJ 201 " "$SRV_LOG" || fail "the upload is not logged"

log "uploads cut off by the crash: swept from blobs/tmp once an hour old"
TMPD=$SRV_DATA/blobs/tmp
echo "$(find "$TMPD" -type f | wc -l) partial uploads left by SIGKILL"
echo leftover >"$TMPD/leftover-of-a-crash"
find "$TMPD" -type f -exec touch -d '2 hours ago' {} +
echo in-flight >"$TMPD/upload-in-flight"
restart_server srv "$PORT" || fail "restart"
[ "$(ls "$TMPD")" = upload-in-flight ] ||
	fail "blobs/tmp after the restart: $(ls "$TMPD" | tr '\n' ' ')"
[ "$(raw "$PORT" "$SIGNREQ" "$T/c1.cfg" HEAD "/v1/r/graceful/o/data/$OBJ" | sed -n 1p)" = 200 ] ||
	fail "the upload finished during shutdown is missing"
