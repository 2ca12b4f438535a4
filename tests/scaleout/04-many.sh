#!/bin/bash
# 04-many: six accounts back up at once, spread over two cofferd processes
# sharing PostgreSQL and S3, while two devices of a seventh account back up
# the same tree at the same moment through different processes (the same
# objects uploaded through both: each is stored and counted once).  Every
# snapshot restores bit for bit through the other process and passes check
# --read-data; the accounts' usage matches the catalogue.
. "$(dirname "$0")/lib.sh" "$@"

N=6
start_cofferd A
start_cofferd B
url() { if [ $(($1 % 2)) = 1 ]; then echo "$URL_A"; else echo "$URL_B"; fi; }
other() { url $(($1 + 1)); }

log "$N accounts, and a seventh with two devices"
pids=()
for i in $(seq 1 $N); do
	new_account "c$i" "$(url "$i")" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 1 $N); do
	[ -d "$T/c$i.cfg" ] || fail "init of c$i failed"
	gen tree "$T/src$i" --seed $((100 + i)) --files 120 --dirs 10 \
		--max 200000 --big 1:$((3000000 + i * 1000000)) >/dev/null
done
expect 0 new_account s1 "$URL_A"
pair s1 "$URL_A" s2 "$URL_B"
gen tree "$T/shared" --seed 99 --files 200 --dirs 10 --max 300000 \
	--big 2:9000000 >/dev/null

log "all back up at once"
pids=()
for i in $(seq 1 $N); do
	as "c$i" "$COFFER" backup --repo "$(url "$i")" "$T/src$i" --quiet \
		>"$T/b$i.out" 2>"$T/b$i.err" &
	pids+=($!)
done
as s1 "$COFFER" backup --repo "$URL_A" "$T/shared" --quiet \
	>"$T/bs1.out" 2>"$T/bs1.err" &
pids+=($!)
as s2 "$COFFER" backup --repo "$URL_B" "$T/shared" --quiet \
	>"$T/bs2.out" 2>"$T/bs2.err" &
pids+=($!)
k=0
for p in "${pids[@]}"; do
	k=$((k + 1))
	wait "$p" || fail "backup $k failed: $(cat "$T"/b*.err)"
done

log "all restore through the other process and check"
for i in $(seq 1 $N); do
	expect 0 as "c$i" "$COFFER" restore --repo "$(other "$i")" latest \
		--target "$T/r$i"
	treecmp "$T/src$i" "$T/r$i$T/src$i"
	expect 0 as "c$i" "$COFFER" check --read-data --repo "$(url "$i")"
	has "$T/out" "(all data read): 0 errors, 0 warnings"
done
expect 0 as s2 "$COFFER" snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "two snapshots of the shared tree"; }
for s in $(jget "$T/out" '" ".join(s["id"] for s in d)'); do
	expect 0 as s1 "$COFFER" restore --repo "$URL_B" "$s" --target "$T/rs$s"
	treecmp "$T/shared" "$T/rs$s$T/shared"
done
expect 0 as s2 "$COFFER" check --read-data --repo "$URL_A"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "usage matches the catalogue"
BAD=$(sqlv "SELECT count(*) FROM accounts a WHERE used_bytes <> (SELECT coalesce(sum(size), 0) FROM objects o WHERE o.account = a.id) OR used_objects <> (SELECT count(*) FROM objects o WHERE o.account = a.id)")
[ "$BAD" = 0 ] || fail "$BAD accounts with usage that differs from their objects"
[ "$(s3 count "$BUCKET")" = "$(sqlv "SELECT count(*) FROM objects")" ] ||
	fail "$(s3 count "$BUCKET") objects in the bucket, $(sqlv "SELECT count(*) FROM objects") in the catalogue"
no_5xx A B
