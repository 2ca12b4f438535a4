#!/bin/bash
# 01-backup: coffer through cofferd with its objects in S3: the config
# file's mode is checked, a backup (packs larger than the 8 MiB part size
# go up as multipart uploads) restores bit for bit and passes check
# --read-data, nothing lands in the data folder but metadata, soft deletes
# (old key slots, after a recovery key rotation) keep their bytes until
# 'cofferd admin purge' removes them from the bucket, and a restarted
# cofferd serves the same snapshots.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
CONF=$T/s3.conf

log "a config file that others may read is refused, in one line"
s3_config "$CONF"
chmod 644 "$CONF"
run "$COFFERD" --data "$T/srv.data" --config "$CONF" --listen 127.0.0.1:0
[ "$RC" -ne 0 ] || fail "cofferd started with a 0644 config"
[ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "not one error line"; }
has "$T/err" "cofferd: config $CONF has mode 0644"
has "$T/err" "0600 or stricter"
chmod 600 "$CONF"
log "a config file with a typo names its line"
s3_config "$T/typo.conf" "" "bukket = x"
run "$COFFERD" --data "$T/srv.data" --config "$T/typo.conf"
[ "$RC" -ne 0 ] && has "$T/err" "line 6: unknown setting 'bukket'"
log "wrong credentials: one error line"
s3_config "$T/bad.conf" "" "secret_key = wrong"
run "$COFFERD" admin --data "$T/bad.data" --config "$T/bad.conf" \
	--blobs "s3://$S3_BUCKET/$S3_PREFIX" accounts
[ "$RC" -ne 0 ] && [ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "bad secret"; }
has "$T/err" "HTTP 403"

log "start cofferd on S3"
start_server srv "$CONF"
URL=$SRV_URL
expect 0 client_init "$URL" "$(admin srv "$CONF" invite)"

log "backup a tree with files larger than a part"
read -r NFILES NBYTES < <(gen tree "$SRC" --seed 31 --files 150 --dirs 15 \
	--max 400000 --big 2:14000000)
expect 0 coffer backup --repo "$URL" "$SRC"
grep -qE "^snapshot [0-9a-f]{8} saved: $NFILES files" "$T/out" ||
	{ show_io; fail "no summary line"; }
[ ! -e "$T/srv.data/blobs" ] || fail "objects written to the data folder"
N1=$(s3_count)
[ "$N1" -gt 5 ] || fail "only $N1 objects in the bucket"
log "$N1 objects in s3://$S3_BUCKET/$S3_PREFIX"
BIG=$(s3_keys | while read -r k; do
	s3_curl -I "$S3_ENDPOINT/$S3_BUCKET/$k" | tr -d '\r' |
		sed -n 's/^Content-Length: //Ip'
done | sort -n | tail -1)
[ "$BIG" -gt $((8 << 20)) ] || fail "no object above the part size ($BIG)"

log "restore bit for bit, check --read-data"
expect 0 coffer restore --repo "$URL" latest --target "$T/r1"
treecmp "$SRC" "$T/r1$SRC"
expect 0 coffer check --read-data --repo "$URL"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "an incremental backup"
gen modify "$SRC" --seed 5 --fraction 0.05 >/dev/null
expect 0 coffer backup --repo "$URL" "$SRC"
expect 0 coffer restore --repo "$URL" latest --target "$T/r2"
treecmp "$SRC" "$T/r2$SRC"

log "a soft delete keeps the bytes until purge"
# rotating the recovery key deletes the account's old key slots
NDEL0=$(grep -c '^[^ ]* DELETE /v1/r/[^ ]*/o/.* 204 ' "$SRV_LOG" || true)
expect 0 coffer recovery-key rotate --repo "$URL" --recovery-key-file "$T/rk2"
NDEL=$(( $(grep -c '^[^ ]* DELETE /v1/r/[^ ]*/o/.* 204 ' "$SRV_LOG" || true) - NDEL0 ))
[ "$NDEL" -ge 1 ] || fail "rotating the recovery key deleted nothing"
NK=$(s3_count)
admin srv "$CONF" purge --retention-days 1 >"$T/out"
has "$T/out" "purged 0 objects"
[ "$(s3_count)" = "$NK" ] || fail "purge removed bytes still retained"
admin srv "$CONF" purge --retention-days 0 >"$T/out"
has "$T/out" "purged $NDEL objects"
[ "$(s3_count)" = $((NK - NDEL)) ] ||
	fail "purge of $NDEL objects left $(s3_count) of $NK in S3"

log "a restarted cofferd serves the same snapshots"
stop_server "$SRV_PID" || fail "cofferd exited non-zero"
start_server srv "$CONF"
expect 0 coffer snapshots --json --repo "$SRV_URL"
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "snapshots after restart"; }
expect 0 coffer restore --repo "$SRV_URL" latest --target "$T/r3"
treecmp "$SRC" "$T/r3$SRC"
expect 0 coffer check --read-data --repo "$SRV_URL"
has "$T/out" "0 errors, 0 warnings"
if grep -q ' 5[0-9][0-9] account=' "$T/srv.log"; then
	fail "cofferd answered 5xx: $(grep ' 5[0-9][0-9] account=' "$T/srv.log" | head -3)"
fi
