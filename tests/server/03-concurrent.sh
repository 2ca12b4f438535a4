#!/bin/bash
# 03-concurrent: 20 clients, each its own account (20 invitations), back up
# 20 different trees to one cofferd at the same time; afterwards every
# snapshot restores bit for bit and check --read-data passes for each; the
# server counted 20 accounts with their own objects and stayed up.
. "$(dirname "$0")/lib.sh" "$@"

N=20
start_server srv

log "$N accounts"
pids=()
for i in $(seq 1 $N); do
	new_client "c$i" "$SRV_URL" "$(admin srv invite)" &
	pids+=($!)
done
for i in $(seq 1 $N); do
	wait "${pids[$((i - 1))]}" || fail "init of client $i"
done
admin srv accounts --json >"$T/acc.json"
[ "$(wc -l <"$T/acc.json")" = $N ] || fail "expected $N accounts"

log "$N different trees"
pids=()
for i in $(seq 1 $N); do
	gen tree "$T/src$i" --seed $((100 + i)) --files 40 --dirs 6 \
		--max 300000 --big 1:$((1000000 + 37 * i)) >/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "gen"; done

log "$N backups at once"
pids=()
for i in $(seq 1 $N); do
	as "c$i" "$COFFER" backup --repo "$SRV_URL" --quiet "$T/src$i" \
		>"$T/b$i.out" 2>"$T/b$i.err" &
	pids+=($!)
done
for i in $(seq 1 $N); do
	wait "${pids[$((i - 1))]}" ||
		{ cat "$T/b$i.err" >&2; fail "backup of client $i"; }
done
healthz || fail "healthz after the backups"

log "each restores bit for bit and checks (in parallel)"
pids=()
for i in $(seq 1 $N); do
	(
		as "c$i" "$COFFER" restore latest --repo "$SRV_URL" --quiet \
			--target "$T/r$i" &&
		as "c$i" "$COFFER" check --read-data --repo "$SRV_URL" >"$T/k$i.out" &&
		python3 "$HERE/treecmp.py" "$T/src$i" "$T/r$i$T/src$i" &&
		as "c$i" "$COFFER" snapshots --json --repo "$SRV_URL" >"$T/s$i.json"
	) 2>"$T/v$i.err" &
	pids+=($!)
done
for i in $(seq 1 $N); do
	wait "${pids[$((i - 1))]}" || { cat "$T/v$i.err" >&2; fail "client $i"; }
	grep -q "checked 1 snapshots, .*(all data read): 0 errors, 0 warnings" "$T/k$i.out" ||
		{ cat "$T/k$i.out" >&2; fail "check of client $i"; }
	[ "$(jget "$T/s$i.json" 'len(d), d[0]["paths"]')" = "(1, ['$T/src$i'])" ] ||
		fail "client $i sees other snapshots"
done
admin srv accounts --json >"$T/acc.json"
python3 - "$T/acc.json" $N <<'PY' || fail "accounts"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2]), rows
assert all(r["used_objects"] >= 5 and r["used_bytes"] > 1000000 for r in rows), rows
PY
grep -E ' (5[0-9][0-9]) account=' "$SRV_LOG" >&2 && fail "the server answered 5xx"
healthz || fail "healthz"
