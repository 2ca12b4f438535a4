#!/bin/bash
# 07-crash: one of two cofferd processes sharing PostgreSQL and S3 is
# killed (SIGKILL) while four accounts back up through the pair, and
# restarted on its port: its clients' retries carry them through, the
# other process's clients notice nothing.  Then the other is stopped with
# SIGTERM in the middle of a backup (requests in flight finish, exit 0) and
# restarted.  Every backup completes, nothing reported written is lost:
# all restore bit for bit through the other process and pass check
# --read-data.
. "$(dirname "$0")/lib.sh" "$@"

start_cofferd A
start_cofferd B
url() { if [ $(($1 % 2)) = 1 ]; then echo "$URL_A"; else echo "$URL_B"; fi; }
other() { url $(($1 + 1)); }
for i in 1 2 3 4; do
	expect 0 new_account "c$i" "$(url "$i")"
	gen tree "$T/src$i" --seed $((300 + i)) --files 300 --dirs 20 \
		--max 300000 --big 3:$((8000000 + i * 500000)) >/dev/null
done

# backups: start them all, in the background
backups() {
	pids=()
	for i in 1 2 3 4; do
		as "c$i" "$COFFER" backup --repo "$(url "$i")" "$T/src$i" \
			>"$T/b$i.out" 2>"$T/b$i.err" &
		pids+=($!)
	done
}
# wait_pack NAME: until NAME stored a pack
wait_pack() {
	local n0
	n0=$(grep -c ' PUT /v1/r/[^ ]*/o/data/.* 201 ' "$T/$1.log" || true)
	for _ in $(seq 1 400); do
		[ "$(grep -c ' PUT /v1/r/[^ ]*/o/data/.* 201 ' "$T/$1.log" || true)" -gt "$n0" ] && return 0
		sleep 0.05
	done
	fail "no pack stored through $1"
}
backups_done() {
	local k=0 p
	for p in "${pids[@]}"; do
		k=$((k + 1))
		wait "$p" || { cat "$T/b$k.err" >&2; fail "backup $k failed"; }
		grep -qE '^snapshot [0-9a-f]{8} saved' "$T/b$k.out" ||
			fail "backup $k: no summary line"
	done
}

log "SIGKILL of A in the middle of four backups, A restarted"
backups
wait_pack A
kill -9 "$PID_A"
wait "$PID_A" 2>/dev/null || true
sleep 1
restart_cofferd A
backups_done
grep -q ' 5[0-9][0-9] account=' "$T/B.log" && fail "B answered 5xx"

log "SIGTERM of B in the middle of four backups, B restarted"
for i in 1 2 3 4; do gen modify "$T/src$i" --seed $((i + 40)) --fraction 0.3 >/dev/null; done
backups
wait_pack B
stop_cofferd B || fail "B did not exit 0 after SIGTERM"
has "$T/B.log" "shutting down: finishing requests in flight"
restart_cofferd B
backups_done

log "every snapshot is whole, through the other process"
for i in 1 2 3 4; do
	expect 0 as "c$i" "$COFFER" snapshots --json --repo "$(other "$i")"
	[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "c$i: two snapshots expected"; }
	expect 0 as "c$i" "$COFFER" restore --repo "$(other "$i")" latest \
		--target "$T/r$i"
	treecmp "$T/src$i" "$T/r$i$T/src$i"
	expect 0 as "c$i" "$COFFER" check --read-data --repo "$(url "$i")"
	has "$T/out" "checked 2 snapshots"
	has "$T/out" "(all data read): 0 errors, 0 warnings"
done
[ "$(s3 count "$BUCKET")" -ge "$(sqlv "SELECT count(*) FROM objects")" ] ||
	fail "fewer objects in the bucket than in the catalogue"
