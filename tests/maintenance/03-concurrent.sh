#!/bin/bash
# 03-concurrent: prune without locks while others back up.
# Two clients back up continuously (each its own tree, changed before every
# backup: files replaced, rewritten in the middle, added, deleted; each its
# own index cache) to one repository, while a third runs `forget
# --keep-last 3 --prune --grace 5s` every 2-3 seconds.  Every backup's tree
# is copied aside under its snapshot id.  Afterwards: no command failed,
# prune deleted packs, every remaining snapshot restores bit for bit
# against the copy of its tree, check --read-data is clean; then two more
# prunes with --grace 0 (everything settled) and the same again.
# The grace period (5 s) must exceed every backup's run time (the rule
# prune relies on): the longest backup is printed and checked.
#
# usage: 03-concurrent.sh COFFER [COFFERD]
#   with COFFERD: the same against cofferd, one account, the clients being
#   copies of one device's config folder (same device key), each with its
#   own seen-snapshot records, so that forgotten snapshots exercise the
#   forget records (a seen snapshot that is gone is a security alert unless
#   a forget record names it).
# COFFER_TEST_SECONDS (default 40) sets how long the clients run.
. "$(dirname "$0")/lib.sh" "$@"

SECS=${COFFER_TEST_SECONDS:-40}
GRACE=5
MODE=local
if [ $# -ge 2 ]; then
	MODE=server
	COFFERD=$T/bin/cofferd
	cp "$(readlink -f "$2")" "$COFFERD"
fi
SEED=${COFFER_TEST_SEED:-$RANDOM}
echo "mode $MODE, $SECS s, seed $SEED"
mkdir -p "$T/states" "$T/logs"

if [ "$MODE" = server ]; then
	unset COFFER_REPO COFFER_PASSWORD_FILE
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$COFFERD" --data "$T/srv.data" --listen "127.0.0.1:$PORT" \
		--log "$T/srv.log" >"$T/srv.out" 2>"$T/srv.err" &
	SRV_PID=$!
	CLEANUP+=("kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null || true")
	for _ in $(seq 1 200); do
		grep -q '^cofferd listening on ' "$T/srv.out" && break
		kill -0 "$SRV_PID" 2>/dev/null || fail "cofferd: $(cat "$T/srv.err")"
		sleep 0.05
	done
	URL=http://127.0.0.1:$PORT
	TOKEN=$("$COFFERD" admin --data "$T/srv.data" invite)
	export COFFER_REPO=$URL
else
	expect 0 init_repo
fi
# as CLIENT CMD...: with the client's own cache (and device folder)
as() {
	local c=$1
	shift
	if [ "$MODE" = server ]; then
		COFFER_CONFIG_DIR=$T/$c.cfg COFFER_CACHE_DIR=$T/$c.cache "$@"
	else
		COFFER_CACHE_DIR=$T/$c.cache "$@"
	fi
}
if [ "$MODE" = server ]; then
	# one device; its config folder copied for each client
	expect 0 as A "$COFFER" init --invite "$TOKEN" \
		--recovery-key-file "$T/rk" --quiet
	for c in B p v; do cp -a "$T/A.cfg" "$T/$c.cfg"; done
fi

gen tree "$T/srcA" --seed 31 --files 80 --dirs 8 --min 100 --max 120000 \
	--text 0.3 >/dev/null
gen tree "$T/srcB" --seed 32 --files 80 --dirs 8 --min 100 --max 120000 \
	--text 0.3 >/dev/null

# client NAME: back up $T/srcNAME until $END; one line per backup in
# $T/logs/NAME: "id ms" or "FAIL rc".
client() {
	local c=$1 off=$2 src=$T/src$1 i=0 t0 ms id rc
	: >"$T/logs/$c"
	while [ "$(now_ms)" -lt "$END" ]; do
		i=$((i + 1))
		repl replace "$src" --seed $((SEED + off + i)) --fraction 0.1 >/dev/null
		gen modify "$src" --seed $((SEED + off + i)) --fraction 0.1 >/dev/null
		case $((i % 4)) in
		0) gen tree "$src/new$i" --seed $((SEED + off + i)) --files 3 --dirs 0 \
			--max 50000 >/dev/null ;;
		2) find "$src" -type f | sort | sed -n "$((i % 7 + 1))p" | xargs -r rm -f ;;
		esac
		t0=$(now_ms)
		rc=0
		as "$c" "$COFFER" backup "$src" --json >"$T/logs/$c.out" \
			2>"$T/logs/$c.err" || rc=$?
		ms=$(($(now_ms) - t0))
		if [ "$rc" != 0 ]; then
			echo "FAIL $rc $ms $(head -c 300 "$T/logs/$c.err" | tr '\n' ' ')" >>"$T/logs/$c"
			continue
		fi
		id=$(jget "$T/logs/$c.out" 'd["snapshot"]')
		cp -a "$src" "$T/states/$id"
		echo "$id $ms" >>"$T/logs/$c"
	done
}

# pruner: forget --keep-last 3 --prune --grace 5s every 2-3 s until $END.
pruner() {
	local i=0 rc
	: >"$T/logs/p"
	while [ "$(now_ms)" -lt "$END" ]; do
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 2 + r / 32768 }')"
		i=$((i + 1))
		rc=0
		as p "$COFFER" forget --keep-last 3 --prune --grace ${GRACE}s \
			--json >"$T/logs/p.$i.out" 2>"$T/logs/p.$i.err" || rc=$?
		echo "$i $rc" >>"$T/logs/p"
	done
}

log "two clients back up for $SECS s; forget --keep-last 3 --prune --grace ${GRACE}s every 2-3 s"
END=$(($(now_ms) + SECS * 1000))
client A 0 &
PA=$!
client B 100000 &
PB=$!
pruner &
PP=$!
CLEANUP+=("kill $PA $PB $PP 2>/dev/null || true")
wait $PA || fail "client A"
wait $PB || fail "client B"
wait $PP || fail "pruner"

log "what happened"
python3 - "$T/logs" <<'EOF' || fail "some command failed (see above)"
import glob, json, os, sys
d = sys.argv[1]
bad = 0
for c in ("A", "B"):
    lines = open(os.path.join(d, c)).read().split("\n")
    ok = [l.split() for l in lines if l and not l.startswith("FAIL")]
    fails = [l for l in lines if l.startswith("FAIL")]
    ms = [int(x[1]) for x in ok]
    print("client %s: %d backups, %d failed, longest %d ms, median %d ms" % (
        c, len(ok), len(fails), max(ms or [0]), sorted(ms or [0])[len(ms) // 2]))
    for f in fails[:5]:
        print("  " + f)
    bad += len(fails)
    if len(ok) < 5:
        print("  too few backups"); bad += 1
runs = [l.split() for l in open(os.path.join(d, "p")).read().split("\n") if l]
tot = {"plans_done": 0, "deleted_packs": 0, "planned_packs": 0,
       "repacked_packs": 0, "kept_alive": 0}
forgotten = 0
for i, rc in runs:
    if rc != "0":
        bad += 1
        print("  pruner run %s exited %s: %s" % (i, rc,
              open(os.path.join(d, "p.%s.err" % i)).read()[:400]))
        continue
    out = open(os.path.join(d, "p.%s.out" % i)).read().split("\n")
    dec = json.loads(out[0]); p = json.loads(out[1])
    forgotten += sum(1 for x in dec if not x["keep"])
    for k in tot:
        tot[k] += p[k]
print("pruner: %d runs; %d snapshots forgotten; %s" % (len(runs), forgotten,
      ", ".join("%s %d" % kv for kv in tot.items())))
if tot["deleted_packs"] == 0 or tot["plans_done"] == 0:
    print("  prune deleted nothing"); bad += 1
sys.exit(1 if bad else 0)
EOF
MAXMS=$(cat "$T/logs/A" "$T/logs/B" | awk '$1 != "FAIL" && $2 > m { m = $2 } END { print m + 0 }')
[ "$MAXMS" -lt $((GRACE * 1000)) ] ||
	echo "WARNING: a backup ran ${MAXMS} ms, longer than the grace period: prune's rule was broken"

# verify: every snapshot restores as its tree was; check --read-data
verify() {
	local what=$1 ids n=0 id src
	as v "$COFFER" snapshots --json >"$T/snaps.json" || fail "snapshots ($what)"
	ids=$(jget "$T/snaps.json" '" ".join(s["id"] for s in d)')
	for id in $ids; do
		[ -d "$T/states/$id" ] || fail "$what: snapshot $id was not made by a client"
		src=$(jget "$T/snaps.json" '[s["paths"][0] for s in d if s["id"] == "'"$id"'"][0]')
		rm -rf "$T/r"
		as v "$COFFER" restore "$id" --target "$T/r" --quiet >"$T/out" 2>"$T/err" ||
			{ show_io; fail "$what: restore of $id"; }
		python3 "$HERE/treecmp.py" --no-root-meta "$T/states/$id" "$T/r$src" ||
			fail "$what: snapshot $id differs from its tree"
		n=$((n + 1))
	done
	as v "$COFFER" check --read-data >"$T/out" 2>"$T/err" ||
		{ show_io; fail "$what: check --read-data"; }
	[ -s "$T/err" ] && { show_io; fail "$what: check --read-data warned"; }
	echo "$what: $n snapshots restore bit for bit; $(tail -1 "$T/out")"
	[ "$n" -ge 6 ] || fail "$what: expected at least 6 snapshots"
}
log "every remaining snapshot restores as its tree was"
verify "after the run"
log "prune --grace 0 twice, settled; again"
for i in 1 2; do
	as p "$COFFER" prune --grace 0 --json >"$T/out" 2>"$T/err" ||
		{ show_io; fail "final prune $i"; }
	cat "$T/out"
done
verify "after the final prunes"
if [ "$MODE" = server ]; then
	grep -E ' 5[0-9][0-9] account=' "$T/srv.log" >&2 && fail "the server answered 5xx"
	# the clients saw their snapshots go: forget records explain it
	for c in A B; do
		expect 0 as "$c" "$COFFER" snapshots
	done
fi
