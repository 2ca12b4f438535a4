#!/bin/bash
# 03-cas: compare-and-swap through different cofferd processes never loses
# an update.  Four devices of one account (two talking to A, two to B) add
# write-only credentials to the device chain at the same moment, in a loop:
# each addition is a ref CAS on the chain head.  A loser gets the clear
# "changed meanwhile: run the command again" error and succeeds when run
# again; in the end the chain is linear: every device accepts it (no
# security alert) and its device list, through either process, shows every
# addition that succeeded, once.
. "$(dirname "$0")/lib.sh" "$@"

ROUNDS=${SCALEOUT_CAS_ROUNDS:-6}
start_cofferd A
start_cofferd B
expect 0 new_account d1 "$URL_A"
pair d1 "$URL_A" d2 "$URL_B"
pair d2 "$URL_B" d3 "$URL_A"
pair d3 "$URL_A" d4 "$URL_B"

# worker DEV URL: ROUNDS additions, each run again until it succeeds
worker() {
	local d=$1 url=$2 i rc lost=0
	while [ ! -e "$T/go" ]; do sleep 0.01; done
	for i in $(seq 1 "$ROUNDS"); do
		while :; do
			rc=0
			as "$d" "$COFFER" key create --write-only --repo "$url" \
				--name "wo-$d-$i" --output "$T/$d.cred$i" \
				>"$T/$d.out" 2>"$T/$d.err" || rc=$?
			[ "$rc" = 0 ] && break
			if grep -q 'changed meanwhile: run the command again' "$T/$d.err" &&
				[ "$(wc -l <"$T/$d.err")" = 1 ]; then
				lost=$((lost + 1))
				rm -f "$T/$d.cred$i"
				continue
			fi
			echo "$d round $i: exit $rc: $(cat "$T/$d.err")" >"$T/$d.fail"
			return 1
		done
	done
	echo "$lost" >"$T/$d.lost"
}

log "4 devices x $ROUNDS additions at once, through A and B"
pids=()
for d in d1 d3; do worker "$d" "$URL_A" & pids+=($!); done
for d in d2 d4; do worker "$d" "$URL_B" & pids+=($!); done
sleep 0.2
touch "$T/go"
for p in "${pids[@]}"; do wait "$p" || true; done
for d in d1 d2 d3 d4; do
	[ ! -e "$T/$d.fail" ] || fail "$(cat "$T/$d.fail")"
done
LOST=$(cat "$T"/d?.lost | awk '{s += $1} END {print s}')
log "$((4 * ROUNDS)) additions, $LOST lost a race and were run again"
[ "$LOST" -ge 1 ] || fail "no addition ever lost a race: nothing was tested"
[ "$(grep -c ' PUT /v1/r/_account/ref/chain 412 ' "$T/A.log" "$T/B.log" |
	awk -F: '{s += $2} END {print s}')" = "$LOST" ] ||
	fail "412 answers in the access logs differ from the retries counted"

log "the chain is linear: every device accepts it, both processes agree"
WANT=$(for d in d1 d2 d3 d4; do
	for i in $(seq 1 "$ROUNDS"); do echo "wo-$d-$i"; done
done; echo d1; echo d2; echo d3; echo d4; echo recovery key)
WANT=$(echo "$WANT" | sort | tr '\n' ' ' | sed 's/ $//')
for d in d1 d2 d3 d4; do
	for u in "$URL_A" "$URL_B"; do
		got=$(members "$d" "$u") || fail "$d via $u: device list failed"
		[ "$got" = "$WANT" ] || fail "$d via $u sees: $got"
	done
done
SEQ=$(sqlv "SELECT convert_from(value, 'UTF8') FROM refs WHERE account = 1 AND repo = '_account'::bytea AND name = 'chain'::bytea")
[ "${SEQ%% *}" = $((4 + 4 * ROUNDS)) ] ||
	fail "chain head $SEQ: expected sequence number $((4 + 4 * ROUNDS))"

log "the credentials work, through either process"
gen tree "$T/src" --seed 3 --files 10 --max 10000 >/dev/null
expect 0 as d1 "$COFFER" backup --credential "$T/d2.cred$ROUNDS" \
	--repo "$URL_A" "$T/src" --quiet
expect 0 as d1 "$COFFER" backup --credential "$T/d3.cred1" \
	--repo "$URL_B" "$T/src" --quiet
expect 0 as d4 "$COFFER" snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "two snapshots expected"; }
no_5xx A B
