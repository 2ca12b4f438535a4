#!/bin/bash
# 04-fork: the operator shows two devices two different chains.  laptop
# and phone both saw head 2; laptop adds camera (head 3); the operator rolls
# the head back to 2 and lets phone add desk (head 3').  laptop and camera
# (who saw 3) detect the fork as soon as they see 3', and phone and desk as
# soon as they are shown 3 again.  Then a whole chain of the operator's own
# (its own genesis), longer and shorter than the true one.  Then pairing:
# the server shows the new device a chain other than the head the inviting
# device sent it under the pairing key, and the new device refuses it.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
H2=$(chain_head 1)
expect 0 dev laptop "$COFFER" device list --repo "$URL"

log "a fork: laptop adds camera, the server hides it, phone adds desk"
pair laptop camera
H3=$(chain_head 1)
srv ref-set 1 _account chain "$H2"
pair phone desk
H3b=$(chain_head 1)
[ "${H3b%% *}" = 3 ] && [ "$H3b" != "$H3" ] || fail "no fork: $H3 / $H3b"
snap_server
for d in laptop camera; do
	expect_fail dev "$d" "$COFFER" device list --repo "$URL"
	alert "forked device chain"
	expect_fail dev "$d" "$COFFER" backup --repo "$URL" "$HERE" --quiet
	alert "forked device chain"
done
unchanged "fork seen by laptop"
[ "$(members desk)" = "desk laptop phone recovery key" ] || fail "desk: $(members desk)"
srv ref-set 1 _account chain "$H3"
snap_server
for d in phone desk; do
	expect_fail dev "$d" "$COFFER" device list --repo "$URL"
	alert "forked device chain"
done
unchanged "fork seen by phone"
expect 0 dev camera "$COFFER" device list --repo "$URL"

log "a whole chain of the operator's own"
G=$(forge genesis "$T/g0.rec")
srv put 1 _account keys "$G" "$T/g0.rec"
srv ref-set 1 _account chain "0 $G"
snap_server
for d in laptop camera; do
	expect_fail dev "$d" "$COFFER" device list --repo "$URL"
	alert "rolled the device chain back"
done
prev=$T/g0.rec
for i in 1 2 3 4; do
	G=$(forge append "$prev" "$T/g$i.rec" --name "ghost$i")
	srv put 1 _account keys "$G" "$T/g$i.rec"
	prev=$T/g$i.rec
done
srv ref-set 1 _account chain "4 $G"
snap_server
for d in laptop camera; do
	expect_fail dev "$d" "$COFFER" device list --repo "$URL"
	alert "chain record 1" "signed by a key that is not a trusted device"
done
unchanged "a chain of the operator's"
srv ref-set 1 _account chain "$H3"
expect 0 dev laptop "$COFFER" device list --repo "$URL"

# join_held NAME: laptop invites, NAME joins; the server holds the joiner
# (SIGSTOP) once it sent its keys, until laptop has added it and answered
# with the new head.  $JOIN_PID is the stopped joiner.
join_held() {
	local new=$1 id
	pair_start laptop
	id=${CODE%%-*}
	srv ref-wait 0 _pair "$id.a1.0" >/dev/null
	kill -STOP "$INV_PID"
	COFFER_CONFIG_DIR=$T/$new.cfg COFFER_CACHE_DIR=$T/$new.cache \
		"$COFFER" device join --repo "$URL" --name "$new" "$CODE" \
		--timeout 30 >"$T/join.out" 2>"$T/join.err" &
	JOIN_PID=$!
	BG_PIDS+=("$JOIN_PID")
	srv ref-wait 0 _pair "$id.b1.0" >/dev/null
	kill -STOP "$JOIN_PID"
	kill -CONT "$INV_PID"
	pair_wait
	[ "$INV_RC" -eq 0 ] || { cat "$T/inv.err" >&2; fail "invite exited $INV_RC"; }
	srv ref-wait 0 _pair "$id.a2.0" >/dev/null
	JOINED=$(chain_head 1)
}
# join_result: let the joiner go on; its exit status in $RC.
join_result() {
	kill -CONT "$JOIN_PID" 2>/dev/null || true
	RC=0
	wait "$JOIN_PID" || RC=$?
	cp "$T/join.out" "$T/out"
	cp "$T/join.err" "$T/err"
}

log "pairing: the new device is shown the chain before it was added"
H=$(chain_head 1)
join_held frame
srv ref-set 1 _account chain "$H"
snap_server
join_result
alert "chain other than the one the pairing device sent"
unchanged "pairing shown an old head"
[ ! -e "$T/frame.cfg/accounts/"*/head ] || fail "frame kept a head"

log "pairing: the new device is shown a chain of the operator's own"
srv ref-set 1 _account chain "$JOINED"
join_held scanner
srv ref-set 1 _account chain "4 $G"
snap_server
join_result
alert "chain record 1" "signed by a key that is not a trusted device"
unchanged "pairing shown a forged chain"
srv ref-set 1 _account chain "$JOINED"
expect 0 dev laptop "$COFFER" device list --repo "$URL"
