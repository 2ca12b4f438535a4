#!/bin/bash
# 08-pairing-tamper: the operator rewrites the pairing messages in its
# mailbox (refs of account 0, repository "_pair": ID.a1.K the inviter's
# CPace share, ID.b1.K the joiner's share and sealed keys, ID.a2.K the
# sealed answer with the chain head), or replays those of an earlier
# pairing.  The processes are held with SIGSTOP so that each rewrite lands
# between a write and its read.  A tampered a1 or b1 fails authentication:
# nothing is added, both sides say so, and the attempt is spent (a retry
# with the same code succeeds on the next attempt).  A tampered a2 arrives
# after the user approved the device: the joiner refuses the answer; the
# device is in the chain (approved), and pairing it again sends it the
# current head.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
OLDID=${CODE%%-*}

# hold_start: laptop invites, held (SIGSTOP) once its first message is
# in the mailbox $ID.  join_bg NEW: NEW joins in the background
# ($JOIN_PID); join_result: let it finish, its status in $RC.
hold_start() {
	pair_start laptop
	ID=${CODE%%-*}
	srv ref-wait 0 _pair "$ID.a1.0" >/dev/null
	kill -STOP "$INV_PID"
}
join_bg() {
	local new=$1
	COFFER_CONFIG_DIR=$T/$new.cfg COFFER_CACHE_DIR=$T/$new.cache \
		"$COFFER" device join --repo "$URL" --name "$new" "$CODE" \
		--timeout 20 >"$T/join.out" 2>"$T/join.err" &
	JOIN_PID=$!
	BG_PIDS+=("$JOIN_PID")
}
join_result() {
	kill -CONT "$JOIN_PID" 2>/dev/null || true
	RC=0
	wait "$JOIN_PID" || RC=$?
	cp "$T/join.out" "$T/out"
	cp "$T/join.err" "$T/err"
}
# spent NEW: the attempt failed on both sides and nothing was added; a
# retry with the same code pairs NEW on the next attempt.
spent() {
	local new=$1
	join_result
	[ "$RC" -ne 0 ] || { show_io; fail "the tampered pairing of $new succeeded"; }
	said "tampered"
	[ "$(chain_head 1)" = "$H" ] || fail "the chain moved"
	unchanged "tampered pairing"
	[ "$(members laptop)" = "$MEMBERS" ] || fail "members: $(members laptop)"
	expect 0 dev "$new" "$COFFER" device join --repo "$URL" --name "$new" \
		"$CODE" --timeout 20
	pair_wait
	[ "$INV_RC" -eq 0 ] || { cat "$T/inv.err" >&2; fail "invite exited $INV_RC"; }
	grep -q "wrong pairing code\|tampered" "$T/inv.err" ||
		{ cat "$T/inv.err" >&2; fail "the inviter did not report the failed attempt"; }
	expect 0 dev laptop "$COFFER" device list --repo "$URL"
	grep -q "^ *$new " "$T/out" || fail "$new not added on retry"
	H=$(chain_head 1)
	NAMES+=("$new")
	MEMBERS=$(printf '%s\n' "${NAMES[@]}" | LC_ALL=C sort | paste -sd' ')
}

H=$(chain_head 1)
NAMES=(laptop phone "recovery key")
MEMBERS="laptop phone recovery key"
log "a1.0 (the inviter's share) flipped"
hold_start
srv ref-flip 0 _pair "$ID.a1.0" 7
snap_server
join_bg tv
srv ref-wait 0 _pair "$ID.b1.0" >/dev/null
kill -CONT "$INV_PID"
spent tv

log "a1.0 replaced by the share of an earlier pairing"
hold_start
srv ref-copy 0 _pair "$OLDID.a1.0" "$ID.a1.0"
snap_server
join_bg radio
srv ref-wait 0 _pair "$ID.b1.0" >/dev/null
kill -CONT "$INV_PID"
spent radio

log "b1.0 (the joiner's share and keys) flipped: in the share, in the keys"
for off in 3 50; do
	hold_start
	join_bg "watch$off"
	srv ref-wait 0 _pair "$ID.b1.0" >/dev/null
	srv ref-flip 0 _pair "$ID.b1.0" "$off"
	snap_server
	kill -CONT "$INV_PID"
	spent "watch$off"
done

log "a2.0 (the answer with the chain head) flipped, after approval"
hold_start
join_bg car
srv ref-wait 0 _pair "$ID.b1.0" >/dev/null
kill -STOP "$JOIN_PID"
kill -CONT "$INV_PID"
pair_wait
[ "$INV_RC" -eq 0 ] || { cat "$T/inv.err" >&2; fail "invite exited $INV_RC"; }
srv ref-wait 0 _pair "$ID.a2.0" >/dev/null
srv ref-flip 0 _pair "$ID.a2.0" 10
snap_server
join_result
alert "answer does not authenticate" "tampered"
unchanged "tampered answer"
[ ! -e "$T/car.cfg/accounts/"*/head ] || fail "car kept a head"
log "car paired again: it is a member already, and gets the current head"
H=$(chain_head 1)
pair laptop car
[ "$(chain_head 1)" = "$H" ] || fail "car was added twice"
expect 0 dev laptop "$COFFER" device list --repo "$URL"
[ "$(members car)" = "car laptop phone radio recovery key tv watch3 watch50" ] ||
	fail "members: $(members car)"
