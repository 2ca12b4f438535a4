#!/bin/bash
# 02-devices: devices across two cofferd processes sharing PostgreSQL and
# S3.  The pairing mailbox is written through one process and read through
# the other ('device invite --approve' via A while 'device join' goes via
# B, and the other way round); both devices see the same device list
# through either process; the new device reads what the first wrote;
# 'device remove' through B is enforced by A at once (the removed device
# is refused as an unknown device and writes nothing).
. "$(dirname "$0")/lib.sh" "$@"

start_cofferd A
start_cofferd B
log "laptop: a new account via A, a backup via B"
expect 0 new_account laptop "$URL_A"
gen tree "$T/src" --seed 21 --files 60 --max 200000 >/dev/null
expect 0 as laptop "$COFFER" backup --repo "$URL_B" "$T/src" --quiet

log "laptop invites via A, phone joins via B"
pair laptop "$URL_A" phone "$URL_B"
[ "$(members laptop "$URL_A")" = "laptop phone recovery key" ] ||
	fail "laptop via A sees: $(members laptop "$URL_A")"
[ "$(members phone "$URL_B")" = "laptop phone recovery key" ] ||
	fail "phone via B sees: $(members phone "$URL_B")"
[ "$(members phone "$URL_A")" = "$(members laptop "$URL_B")" ] ||
	fail "the device lists differ between the processes"
expect 0 as phone "$COFFER" restore --repo "$URL_A" latest --target "$T/r1"
treecmp "$T/src" "$T/r1$T/src"

log "phone invites via B, tablet joins via A"
pair phone "$URL_B" tablet "$URL_A"
for d in laptop phone tablet; do
	for u in "$URL_A" "$URL_B"; do
		[ "$(members "$d" "$u")" = "laptop phone recovery key tablet" ] ||
			fail "$d via $u sees: $(members "$d" "$u")"
	done
done
expect 0 as tablet "$COFFER" snapshots --repo "$URL_B"

log "the pairing mailboxes live in the shared database"
N=$(sqlv "SELECT count(*) FROM refs WHERE account = 0")
[ "$N" -ge 2 ] || fail "no pairing mailboxes in the shared database ($N refs)"

log "laptop removes tablet via B; A refuses tablet"
expect 0 as laptop "$COFFER" device remove tablet --repo "$URL_B"
OBJ0=$(sqlv "SELECT count(*) FROM objects")
REF0=$(sqlv "SELECT md5(string_agg(value::text, ',' ORDER BY repo, name)) FROM refs WHERE account <> 0")
for c in "device list" "snapshots" "backup $T/src" "zone list"; do
	# shellcheck disable=SC2086
	expect_fail as tablet "$COFFER" $c --repo "$URL_A"
	has "$T/err" "unknown device"
	# shellcheck disable=SC2086
	expect_fail as tablet "$COFFER" $c --repo "$URL_B"
	has "$T/err" "unknown device"
done
[ "$(sqlv "SELECT count(*) FROM objects")" = "$OBJ0" ] ||
	fail "the removed device wrote objects"
[ "$(sqlv "SELECT md5(string_agg(value::text, ',' ORDER BY repo, name)) FROM refs WHERE account <> 0")" = "$REF0" ] ||
	fail "the removed device changed refs"
for d in laptop phone; do
	for u in "$URL_A" "$URL_B"; do
		[ "$(members "$d" "$u")" = "laptop phone recovery key" ] ||
			fail "$d via $u sees: $(members "$d" "$u")"
	done
done

log "the remaining devices carry on, through either process"
gen modify "$T/src" --seed 5 --fraction 0.2 >/dev/null
expect 0 as phone "$COFFER" backup --repo "$URL_A" "$T/src" --quiet
expect 0 as laptop "$COFFER" restore --repo "$URL_B" latest --target "$T/r2"
treecmp "$T/src" "$T/r2$T/src"
expect 0 as laptop "$COFFER" check --read-data --repo "$URL_A"
has "$T/out" "0 errors, 0 warnings"
no_5xx A B
