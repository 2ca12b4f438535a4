#!/bin/bash
# 05-account-key-swap: the operator tries to make a device use an account
# key of the operator's choosing (so it could read what the device writes
# next): it replaces the bytes of the device's sealed account key (a wrap
# sealed to the device's public X25519 key with its own key, or another
# device's real wrap), or makes a new wrap object and points a chain record
# at it (a forged removal that "rotates" to its key, signed by its own key
# or claiming laptop's; or phone's own record with its wrap reference
# rewritten).  The device refuses each with a security alert, and writes
# nothing with any key.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
gen "$T/src" 5
HEAD=$(chain_head 1)
record 1 "${HEAD#* }" "$T/r2.rec"
record 1 "$(field "$T/r2.rec" prev)" "$T/r1.rec"
record 1 "$(field "$T/r1.rec" prev)" "$T/r0.rec"
[ "$(field "$T/r2.rec" subject)" = phone ] || fail "record 2 is not phone's"
PHONE_ED=$(field "$T/r2.rec" ed)
PHONE_X=$(field "$T/r2.rec" x)
LAPTOP_ED=$(field "$T/r0.rec" ed)
LAPTOP_X=$(field "$T/r0.rec" x)
REC_ED=$(field "$T/r1.rec" ed)
REC_X=$(field "$T/r1.rec" x)
W=$(forge show "$T/r2.rec" | awk -v m="$PHONE_ED" '$1=="wrap" && $2==m {print $3}')
LW=$(forge show "$T/r0.rec" | awk -v m="$LAPTOP_ED" '$1=="wrap" && $2==m {print $3}')
[ -n "$W" ] && [ -n "$LW" ] || fail "no wraps found"
srv get 1 _account keys "$W" "$T/w.orig"
srv get 1 _account keys "$LW" "$T/lw.orig"

refused_by_phone() {
	snap_server
	expect_fail dev phone "$COFFER" device list --repo "$URL"
	alert "$@"
	expect_fail dev phone "$COFFER" backup --repo "$URL" "$T/src" --quiet
	alert "$@"
	unchanged "$*"
}

log "phone's wrap replaced by one sealed to phone with the operator's key"
read -r _ AK COMMIT < <(forge seal "$PHONE_X" 1 "$T/evil.wrap")
srv replace 1 _account keys "$W" "$T/evil.wrap"
refused_by_phone "account object ${W:0:16} does not match its name"
expect 0 dev laptop "$COFFER" device list --repo "$URL"
srv replace 1 _account keys "$W" "$T/w.orig"

log "phone's wrap replaced by laptop's (a real wrap of the same key)"
srv replace 1 _account keys "$W" "$T/lw.orig"
refused_by_phone "does not match its name"
srv replace 1 _account keys "$W" "$T/w.orig"
expect 0 dev phone "$COFFER" device list --repo "$URL"

log "a forged removal of laptop rotating to the operator's key"
read -r W1 AK COMMIT < <(forge seal "$PHONE_X" 2 "$T/p.wrap")
srv put 1 _account keys "$W1" "$T/p.wrap"
W2=$(forge seal "$REC_X" 2 "$T/r.wrap" | awk '{print $1}')
srv put 1 _account keys "$W2" "$T/r.wrap"
for as in ghost laptop; do
	opt=()
	[ $as = laptop ] && opt=(--impersonate "$LAPTOP_ED")
	G=$(forge append "$T/r2.rec" "$T/rm.rec" --type remove --epoch 2 \
		--commit "$COMMIT" --subject-ed "$LAPTOP_ED" --subject-x "$LAPTOP_X" \
		--name laptop --wrap "$PHONE_ED:$W1" --wrap "$REC_ED:$W2" "${opt[@]}")
	srv put 1 _account keys "$G" "$T/rm.rec"
	srv ref-set 1 _account chain "3 $G"
	if [ $as = ghost ]; then
		refused_by_phone "chain record 3" "signed by a key that is not a trusted device"
	else
		refused_by_phone "chain record 3" "signature invalid"
	fi
done
srv ref-set 1 _account chain "$HEAD"
expect 0 dev phone "$COFFER" device list --repo "$URL"

log "phone's own record, its wrap reference rewritten to the operator's wrap"
read -r W3 _ _ < <(forge seal "$PHONE_X" 1 "$T/p1.wrap")
srv put 1 _account keys "$W3" "$T/p1.wrap"
python3 - "$T/r2.rec" "$T/r2.evil" "$W" "$W3" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
old, new = bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])
assert b.count(old) == 1
open(sys.argv[2], "wb").write(b.replace(old, new))
PY
E=$(b2 "$T/r2.evil")
srv put 1 _account keys "$E" "$T/r2.evil"
srv ref-set 1 _account chain "2 $E"
rm -rf "$T/phone.cfg/accounts/"*/records/*
refused_by_phone "chain record 2" "signature invalid"
srv ref-set 1 _account chain "$HEAD"

log "everything works again; nothing was written with the operator's keys"
expect 0 dev phone "$COFFER" backup --repo "$URL" "$T/src" --quiet
expect 0 dev laptop "$COFFER" check --repo "$URL" --read-data
