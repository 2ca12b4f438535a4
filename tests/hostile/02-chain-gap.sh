#!/bin/bash
# 02-chain-gap: the operator cuts a record out of the middle of the device
# chain (rewriting the next record's prev, with or without renumbering),
# withholds a record, swaps one record's bytes for another's, reorders the
# head, and serves malformed heads.  Every device that reads those records
# from the server refuses with a security alert naming the record, and
# nothing is written.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
pair laptop tablet
HEAD=$(chain_head 1)
[ "${HEAD%% *}" = 3 ] || fail "expected 4 records, head $HEAD"
N3=${HEAD#* }
record 1 "$N3" "$T/r3.rec"
N2=$(field "$T/r3.rec" prev)
record 1 "$N2" "$T/r2.rec"
N1=$(field "$T/r2.rec" prev)
[ "$(field "$T/r2.rec" subject)" = phone ] || fail "record 2 is not phone's"

# refused WORD...: laptop (its record cache emptied: it reads every record
# from the server), tablet, and a new device joining with the recovery key
# refuse, with an alert naming WORD...; nothing changes on the server.
refused() {
	snap_server
	rm -rf "$T/laptop.cfg/accounts/"*/records/*
	expect_fail dev laptop "$COFFER" device list --repo "$URL"
	alert "$@"
	rm -rf "$T/tablet.cfg/accounts/"*/records/*
	expect_fail dev tablet "$COFFER" snapshots --repo "$URL"
	alert "$@"
	expect_fail dev newbie "$COFFER" device join --repo "$URL" --name newbie \
		--recovery-key-file "$T/laptop.rk"
	alert "$@"
	unchanged "$*"
}
restore() {
	srv ref-set 1 _account chain "$HEAD"
	expect 0 dev laptop "$COFFER" device list --repo "$URL"
	[ "$(members tablet)" = "laptop phone recovery key tablet" ] ||
		fail "members: $(members tablet)"
}

log "record 2 cut out: record 3's prev rewritten to record 1"
cp "$T/r3.rec" "$T/cut.rec"
patch "$T/cut.rec" 11 "$N1"
C=$(b2 "$T/cut.rec")
srv put 1 _account keys "$C" "$T/cut.rec"
srv ref-set 1 _account chain "3 $C"
refused "chain record 3" "signature invalid"
restore

log "record 2 cut out, record 3 renumbered 2"
patch "$T/cut.rec" 3 "$(le64 2)"
C=$(b2 "$T/cut.rec")
srv put 1 _account keys "$C" "$T/cut.rec"
srv ref-set 1 _account chain "2 $C"
refused "chain record 2" "signature invalid"
restore

log "record 2 withheld (deleted on the server)"
srv get 1 _account keys "$N2" "$T/r2.keep"
srv delete 1 _account keys "$N2"
refused "device chain record 2" "missing on the server"
srv put 1 _account keys "$N2" "$T/r2.keep"
restore

log "record 2's bytes swapped for record 3's"
srv replace 1 _account keys "$N2" "$T/r3.rec"
refused "does not match its name"
srv replace 1 _account keys "$N2" "$T/r2.rec"
restore

log "the head names record 2 as record 3 (reordered)"
srv ref-set 1 _account chain "3 $N2"
refused "out of order"
restore

log "malformed heads"
for v in "3 zz$N3" "99999999 $N3" "" "3"; do
	srv ref-set 1 _account chain "$v"
	refused "chain head is malformed"
done
restore
