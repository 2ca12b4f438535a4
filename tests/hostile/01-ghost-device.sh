#!/bin/bash
# 01-ghost-device: the operator appends chain records of its own making: a
# device of its own (signed by a fresh Ed25519 key), the same record
# claiming a trusted device as its signer, and a removal of a real device
# (which would rotate the account key to one the operator chose).  Every
# device and the recovery key refuse the chain (exit 20, naming the record
# and the broken rule), write nothing, and keep the head they saw; once the
# operator puts the true head back, everything works again.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
gen "$T/src" 1
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
HEAD=$(chain_head 1)
[ "${HEAD%% *}" = 2 ] || fail "expected a chain of 3 records, head $HEAD"
record 1 "${HEAD#* }" "$T/head.rec"
GENESIS_ED=$(record 1 "$(forge show "$T/head.rec" | awk '$1=="prev"{print $2}')" "$T/r1.rec"; \
	record 1 "$(field "$T/r1.rec" prev)" "$T/r0.rec"; field "$T/r0.rec" ed)
PHONE_ED=$(field "$T/head.rec" ed)
PHONE_X=$(field "$T/head.rec" x)
cp "$T/laptop.cfg/accounts/"*/head "$T/laptop.head"

# refused DESCRIPTION WORD...: every device and the recovery key refuse
# the chain the server shows now, with an alert naming WORD..., and
# nothing changes on the server.
refused() {
	local what=$1 d
	shift
	snap_server
	for d in laptop phone; do
		expect_fail dev "$d" "$COFFER" device list --repo "$URL"
		alert "$@"
	done
	expect_fail dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
	alert "$@"
	expect_fail dev phone "$COFFER" snapshots --repo "$URL"
	alert "$@"
	expect_fail dev laptop "$COFFER" device invite --approve --repo "$URL" --timeout 5
	alert "$@"
	expect_fail dev newbie "$COFFER" device join --repo "$URL" --name newbie \
		--recovery-key-file "$T/laptop.rk"
	alert "$@"
	unchanged "$what"
	cmp -s "$T/laptop.cfg/accounts/"*/head "$T/laptop.head" ||
		fail "$what: laptop's last seen head moved"
}
# restore_head: the operator gives up; the account works again.
restore_head() {
	srv ref-set 1 _account chain "$HEAD"
	expect 0 dev phone "$COFFER" device list --repo "$URL"
	[ "$(members laptop)" = "laptop phone recovery key" ] ||
		fail "members: $(members laptop)"
}

log "a ghost device, signed by the operator's own key"
G=$(forge append "$T/head.rec" "$T/ghost.rec" --name "ghost")
srv put 1 _account keys "$G" "$T/ghost.rec"
srv ref-set 1 _account chain "3 $G"
refused "ghost device" "chain record 3" "signed by a key that is not a trusted device"
restore_head

log "a ghost device whose record names laptop as its signer"
G=$(forge append "$T/head.rec" "$T/ghost2.rec" --name "laptop 2" \
	--impersonate "$GENESIS_ED")
srv put 1 _account keys "$G" "$T/ghost2.rec"
srv ref-set 1 _account chain "3 $G"
refused "impersonated signer" "chain record 3" "signature invalid"
restore_head

log "a ghost removal of phone, rotating to an account key of the operator's"
read -r W AK COMMIT < <(forge seal "$(field "$T/r0.rec" x)" 2 "$T/wrap.bin")
srv put 1 _account keys "$W" "$T/wrap.bin"
G=$(forge append "$T/head.rec" "$T/ghost3.rec" --type remove --epoch 2 \
	--commit "$COMMIT" --subject-ed "$PHONE_ED" --subject-x "$PHONE_X" \
	--name phone --wrap "$GENESIS_ED:$W")
srv put 1 _account keys "$G" "$T/ghost3.rec"
srv ref-set 1 _account chain "3 $G"
refused "ghost removal" "chain record 3" "signed by a key that is not a trusted device"
restore_head

log "two ghost records: the second signed by the first"
G1=$(forge append "$T/head.rec" "$T/g1.rec" --name ghost1 --key-out "$T/g1.key")
srv put 1 _account keys "$G1" "$T/g1.rec"
G2=$(forge append "$T/g1.rec" "$T/g2.rec" --name ghost2)
srv put 1 _account keys "$G2" "$T/g2.rec"
srv ref-set 1 _account chain "4 $G2"
refused "two ghosts" "chain record 3" "signed by a key that is not a trusted device"
restore_head

log "the backup is intact"
expect 0 dev phone "$COFFER" check --repo "$URL" --read-data
