#!/bin/bash
# 03-rollback: the operator rolls the device chain back to an older head:
# before a device was added, and after a removal (to bring the removed
# device and the old account key back).  Every device that saw the newer
# head refuses (exit 20, "rolled the device chain back") and writes
# nothing, for device and data commands alike.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
pair laptop tablet
gen "$T/src" 3
expect 0 dev phone "$COFFER" backup --repo "$URL" "$T/src" --quiet
H3=$(chain_head 1)
[ "${H3%% *}" = 3 ] || fail "expected 4 records, head $H3"
record 1 "${H3#* }" "$T/r3.rec"
H2="2 $(field "$T/r3.rec" prev)"
record 1 "${H2#* }" "$T/r2.rec"
H1="1 $(field "$T/r2.rec" prev)"
for d in laptop phone tablet; do
	expect 0 dev "$d" "$COFFER" device list --repo "$URL" # each saw head 3
done

refused_by() {
	local d
	snap_server
	for d in "$@"; do
		expect_fail dev "$d" "$COFFER" device list --repo "$URL"
		alert "rolled the device chain back"
		expect_fail dev "$d" "$COFFER" backup --repo "$URL" "$T/src" --quiet
		alert "rolled the device chain back"
		expect_fail dev "$d" "$COFFER" restore latest --repo "$URL" --target "$T/r.$d"
		alert "rolled the device chain back"
		[ ! -e "$T/r.$d" ] || fail "$d restored from a rolled-back account"
	done
	unchanged "rollback"
}

log "rolled back to before tablet was added, and to before phone was"
for h in "$H2" "$H1"; do
	srv ref-set 1 _account chain "$h"
	refused_by laptop phone tablet
done
srv ref-set 1 _account chain "$H3"
expect 0 dev tablet "$COFFER" check --repo "$URL"

log "rolled back to before a removal: the removed device and old key back"
expect 0 dev laptop "$COFFER" device remove tablet --repo "$URL"
H4=$(chain_head 1)
[ "${H4%% *}" = 4 ] || fail "expected 5 records, head $H4"
expect 0 dev phone "$COFFER" device list --repo "$URL" # phone saw head 4
# the operator also brings the old key slots of the zone back
for k in $(srv ls 1 default keys --all); do
	srv undelete 1 default keys "$k"
done
srv ref-set 1 _account chain "$H3"
refused_by laptop phone
srv ref-set 1 _account chain "$H4"
[ "$(members phone)" = "laptop phone recovery key" ] ||
	fail "members after the rollback: $(members phone)"
expect 0 dev phone "$COFFER" check --repo "$URL" --read-data
