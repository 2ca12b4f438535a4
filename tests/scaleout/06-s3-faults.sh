#!/bin/bash
# 06-s3-faults: two cofferd processes on PostgreSQL and S3, B's S3 traffic
# through tests/faults/s3proxy.py (500, 503 SlowDown, dropped requests and
# answers, stalls, a late error in a CompleteMultipartUpload), A's direct.
# Backups through both at once succeed (cofferd's retries absorb the
# faults: no 5xx), check --read-data through the faulty B and restores
# through both pass while reads fail too, and an S3 outage longer than B's
# retries is waited out by the client.  Nothing a backup reported written
# is lost, and no multipart upload is left behind.
. "$(dirname "$0")/lib.sh" "$@"

UP=${S3_ENDPOINT#http://}
python3 "$SO_HERE/../faults/s3proxy.py" --upstream "$UP" \
	--control "$T/faults" --stats "$T/stats" --log "$T/proxy.log" \
	--port-file "$T/proxy.port" >"$T/proxy.out" 2>&1 &
PROXY=$!
CLEANUP+=("kill $PROXY 2>/dev/null || true")
for _ in $(seq 1 600); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
[ -s "$T/proxy.port" ] || fail "s3proxy did not start: $(cat "$T/proxy.out")"
faults() { printf '%s\n' "$@" >"$T/faults.tmp"; mv "$T/faults.tmp" "$T/faults"; }
fired() { jget "$T/stats" "d.get('$1', 0)"; }
faults ""

start_cofferd A
# B: S3 through the proxy, with short stalls and more attempts
(umask 077; printf 'timeout = 2\nattempts = 10\n' >"$T/b.conf")
COFFER_S3_ENDPOINT=http://127.0.0.1:$(cat "$T/proxy.port") \
	start_cofferd B --config "$T/b.conf"
expect 0 new_account c1 "$URL_A"
expect 0 new_account c2 "$URL_B"
read -r N1 _ < <(gen tree "$T/src1" --seed 51 --files 200 --dirs 15 \
	--max 300000 --big 2:11000000)
read -r N2 _ < <(gen tree "$T/src2" --seed 52 --files 200 --dirs 15 \
	--max 300000 --big 2:11000000)

log "backups through A and the faulty B at once"
faults "drop-response count=1 method=POST match=uploads=" \
	"503 count=inf every=6" \
	"500 count=inf every=11 method=PUT" \
	"drop-request count=inf every=5 method=PUT" \
	"drop-response count=inf every=9" \
	"500 count=2 method=POST match=uploads=" \
	"error-200 count=1 method=POST match=uploadId" \
	"stall count=1 seconds=10 method=POST match=uploadId" \
	"stall count=1 seconds=10 method=PUT match=partNumber"
as c1 "$COFFER" backup --repo "$URL_A" "$T/src1" >"$T/b1.out" 2>"$T/b1.err" &
P1=$!
# c1's second device writes through B while its first writes through A
pair c1 "$URL_A" c1b "$URL_B"
as c2 "$COFFER" backup --repo "$URL_B" "$T/src2" >"$T/b2.out" 2>"$T/b2.err" &
P2=$!
as c1b "$COFFER" backup --repo "$URL_B" "$T/src1" >"$T/b3.out" 2>"$T/b3.err" &
P3=$!
wait $P1 || { cat "$T/b1.err" >&2; fail "backup via A failed"; }
wait $P2 || { cat "$T/b2.err" >&2; fail "backup via B failed"; }
wait $P3 || { cat "$T/b3.err" >&2; fail "second device's backup via B failed"; }
grep -qE "^snapshot [0-9a-f]{8} saved: $N1 files" "$T/b1.out" || fail "b1: no summary"
grep -qE "^snapshot [0-9a-f]{8} saved: $N2 files" "$T/b2.out" || fail "b2: no summary"
grep -qE "^snapshot [0-9a-f]{8} saved: $N1 files" "$T/b3.out" || fail "b3: no summary"
for a in 503 500 error-200 drop-request drop-response stall; do
	[ "$(fired $a)" -ge 1 ] || fail "the proxy never injected $a"
done
log "injected: $(cat "$T/stats")"
no_5xx A B

log "check --read-data via B and restores while B's reads fail"
faults "503 count=inf every=5" \
	"drop-response count=inf every=4 method=GET" \
	"stall-body count=1 seconds=10 method=GET"
expect 0 as c2 "$COFFER" check --read-data --repo "$URL_B"
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 as c1 "$COFFER" check --read-data --repo "$URL_B"
has "$T/out" "checked 2 snapshots"
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 as c2 "$COFFER" restore --repo "$URL_B" latest --target "$T/r2"
treecmp "$T/src2" "$T/r2$T/src2"
expect 0 as c1 "$COFFER" restore --repo "$URL_A" latest --target "$T/r1"
treecmp "$T/src1" "$T/r1$T/src1"
no_5xx A B

log "B's S3 down for longer than its retries: the client waits it out"
faults "503 count=14"
gen modify "$T/src2" --seed 7 --fraction 0.05 >/dev/null
expect 0 as c2 "$COFFER" backup --repo "$URL_B" "$T/src2"
grep -q ' 503 account=' "$T/B.log" || fail "B never passed the outage on"
faults ""
expect 0 as c2 "$COFFER" check --read-data --repo "$URL_A"
has "$T/out" "checked 2 snapshots"
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 as c2 "$COFFER" restore --repo "$URL_A" latest --target "$T/r3"
treecmp "$T/src2" "$T/r3$T/src2"
no_5xx A

log "every object catalogued is in the bucket; no upload left behind"
[ "$(s3 count "$BUCKET")" -ge "$(sqlv "SELECT count(*) FROM objects")" ] ||
	fail "fewer objects in the bucket than in the catalogue"
[ -z "$(s3 uploads "$BUCKET")" ] || fail "uploads left in S3: $(s3 uploads "$BUCKET")"
