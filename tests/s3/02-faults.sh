#!/bin/bash
# 02-faults: coffer -> cofferd -> s3proxy.py -> S3, with the proxy answering
# 500 and 503 SlowDown (and a 200 with an <Error> body to a
# CompleteMultipartUpload), dropping connections in the middle of request
# and answer bodies, and stalling answers (CompleteMultipartUpload among
# them, so a retried request finds its first try done; one lost answer to
# a CreateMultipartUpload leaves an upload that must be cleaned up).  The blob store's retries
# must absorb all of it: the backup succeeds, cofferd never answers 5xx,
# check --read-data passes and the snapshot restores bit for bit.  Then the
# same for reads, and a blackout longer than the retries: cofferd answers
# 503 and the client's own retries carry on once S3 is back.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
UP=${S3_ENDPOINT#http://}
python3 "$S3_HERE/../faults/s3proxy.py" --upstream "$UP" \
	--control "$T/faults" --stats "$T/stats" --log "$T/proxy.log" \
	--port-file "$T/proxy.port" >"$T/proxy.out" 2>&1 &
PROXY=$!
CLEANUP+=("kill $PROXY 2>/dev/null || true")
for _ in $(seq 1 100); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
[ -s "$T/proxy.port" ] || fail "s3proxy did not start: $(cat "$T/proxy.out")"
PROXY_URL=http://127.0.0.1:$(cat "$T/proxy.port")

# faults RULE...: the proxy's rules from now on (see s3proxy.py)
faults() { printf '%s\n' "$@" >"$T/faults.tmp"; mv "$T/faults.tmp" "$T/faults"; }
# fired ACTION: how often the proxy injected ACTION so far
fired() { jget "$T/stats" "d.get('$1', 0)"; }
no_5xx() {
	if grep -q ' 5[0-9][0-9] account=' "$SRV_LOG"; then
		fail "cofferd answered 5xx: $(grep ' 5[0-9][0-9] account=' "$SRV_LOG" | head -3)"
	fi
}

# A stall must outlast timeout (curl measures speed over a few seconds,
# so a stalled request is given up after ~timeout + 5 s).
s3_config "$T/s3.conf" "$PROXY_URL" "timeout = 2" "attempts = 10"
faults ""
start_server srv "$T/s3.conf"
URL=$SRV_URL
expect 0 client_init "$URL" "$(admin srv "$T/s3.conf" invite)"
read -r NFILES _ < <(gen tree "$SRC" --seed 41 --files 300 --dirs 20 \
	--max 300000 --big 2:12000000)

log "backup while S3 fails, drops connections and stalls"
faults "drop-response count=1 method=POST match=uploads=" \
	"503 count=inf every=6" \
	"500 count=inf every=11 method=PUT" \
	"drop-request count=inf every=5 method=PUT" \
	"drop-response count=inf every=9" \
	"500 count=2 method=POST match=uploads=" \
	"error-200 count=1 method=POST match=uploadId" \
	"stall count=1 seconds=10 method=POST match=uploadId" \
	"stall count=1 seconds=10 method=PUT match=partNumber"
expect 0 coffer backup --repo "$URL" "$SRC"
grep -qE "^snapshot [0-9a-f]{8} saved: $NFILES files" "$T/out" ||
	{ show_io; fail "no summary line"; }
for a in 503 500 error-200 drop-request drop-response stall; do
	[ "$(fired $a)" -ge 1 ] || fail "the proxy never injected $a"
done
log "injected: $(cat "$T/stats")"
no_5xx

log "check --read-data and restore while reads fail"
faults "503 count=inf every=5" \
	"drop-response count=inf every=4 method=GET" \
	"stall-body count=1 seconds=10 method=GET"
expect 0 coffer check --read-data --repo "$URL"
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 coffer restore --repo "$URL" latest --target "$T/r1"
treecmp "$SRC" "$T/r1$SRC"
[ "$(fired stall-body)" = 1 ] || fail "no stalled answer body"
no_5xx

log "S3 down for longer than cofferd retries: the client waits it out"
faults "503 count=12"
gen modify "$SRC" --seed 7 --fraction 0.05 >/dev/null
expect 0 coffer backup --repo "$URL" "$SRC"
grep -q ' 503 account=' "$SRV_LOG" || fail "cofferd never passed the outage on"
faults ""
expect 0 coffer check --read-data --repo "$URL"
has "$T/out" "checked 2 snapshots"
has "$T/out" "0 errors, 0 warnings"
expect 0 coffer restore --repo "$URL" latest --target "$T/r2"
treecmp "$SRC" "$T/r2$SRC"

log "no multipart upload is left behind (lost CreateMultipartUpload answers)"
[ -z "$(s3_uploads)" ] || fail "uploads left in S3: $(s3_uploads)"
