#!/usr/bin/env bash
# bench/scaleout.sh: cofferd's throughput in three setups, on the same data:
#   embedded  one cofferd --data DIR (SQLite + blob folder: the default)
#   pg+s3 x1  one cofferd --meta postgresql://... --blobs s3://BUCKET
#   pg+s3 x2  two such cofferd sharing the database and the bucket, the
#             clients spread over both
# Steps, each timed (wall seconds) with the CPU seconds every kind of
# process used meanwhile (coffer or the load generator, cofferd, radosgw +
# ceph-osd + ceph-mon, postgres), which shows what bounds it:
#   backup x1   one client backs up tree 1 (into a fresh zone)
#   backup x2   two clients (two accounts) back up trees 2 and 3 at once
#   restore x1  one client restores tree 1 (fresh cache, to /dev/shm)
#   restore x2  two clients restore trees 2 and 3 at once
#   small PUT   BENCH_SO_REQS new 1 KiB objects, signed beforehand, sent
#               over 4 kept-alive connections (spread over the processes)
#   small GET   the same objects read back
# With two processes, the x2 steps' clients use one process each.  Each
# step runs BENCH_SO_RUNS times (a fresh zone each time); the table shows
# medians.  Before each step the script waits (up to 30 s) for the machine
# to go idle.
# Needs DATABASE_URL and S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (start
# them with scripts/services/start-all.sh DIR; . DIR/services.env) and the
# build in COFFER_BUILD (default build/: coffer, cofferd,
# tests/server/signreq).
# Environment: BENCH_SO_RUNS (3); BENCH_SO_MIB (256): MiB per tree (70% in 4-24 MiB random
# files, the rest in small files of which 30% text); BENCH_SO_REQS (2000).
# Prints a markdown table; everything it made is removed at the end.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$(readlink -f "${COFFER_BUILD:-$ROOT/build}")
MIB=${BENCH_SO_MIB:-256}
RUNS=${BENCH_SO_RUNS:-3}
REQS=${BENCH_SO_REQS:-2000}
for v in DATABASE_URL S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY; do
	[ -n "${!v:-}" ] || { echo "bench/scaleout.sh: $v is not set (scripts/services/start-all.sh)" >&2; exit 2; }
done
for f in coffer cofferd tests/server/signreq; do
	[ -x "$B/$f" ] || { echo "no $B/$f (ninja -C $B)" >&2; exit 2; }
done
W=$(mktemp -d /tmp/coffer-bench-scaleout.XXXXXX)
SHM=$(mktemp -d /dev/shm/coffer-bench-scaleout.XXXXXX)
TAG=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
	for m in 1 2; do
		psql -X -q -d "$DATABASE_URL" -c "DROP DATABASE IF EXISTS cbench_${TAG}_$m WITH (FORCE)" >/dev/null 2>&1 || true
		python3 "$ROOT/tests/scaleout/s3util.py" rb "cbench-$TAG-$m" || true
	done
	rm -rf "$W" "$SHM"
}
trap cleanup EXIT
export COFFER_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY \
	AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=${S3_REGION:-us-east-1}
unset COFFER_REPO COFFER_PASSWORD_FILE AWS_DEFAULT_REGION
BASE=${DATABASE_URL%%\?*}
BASE=${BASE%/*}

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# cpu: CPU seconds so far of each kind of process, "coffer cofferd s3 pg"
cpu() {
	python3 - <<'PY'
import os
kinds = {"coffer": "coffer", "cofferd": "cofferd", "radosgw": "s3",
         "ceph-osd": "s3", "ceph-mon": "s3", "postgres": "pg"}
tot = {"coffer": 0, "cofferd": 0, "s3": 0, "pg": 0}
hz = os.sysconf("SC_CLK_TCK")
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    comm = s[s.index("(") + 1:s.rindex(")")]
    f = s[s.rindex(")") + 2:].split()
    k = kinds.get(comm)
    if k:
        tot[k] += (int(f[11]) + int(f[12])) / hz
print(" ".join("%.2f" % tot[k] for k in ("coffer", "cofferd", "s3", "pg")))
PY
}

log "generating 3 trees of $MIB MiB"
for i in 1 2 3; do
	python3 "$ROOT/tests/cli/gen.py" tree "$W/src$i" --seed $((70 + i)) \
		--files $((MIB * 8)) --dirs 40 --min 100 --max 100000 \
		--text 0.3 --big "$((MIB * 7 / 10 / 14)):14680064" >/dev/null
done
BYTES=$(du -sb "$W/src1" | cut -f1)
log "tree 1: $BYTES bytes, $(find "$W/src1" -type f | wc -l) files"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start NAME ARGS...: a cofferd; its URL appended to URLS, port to PORTS
start() {
	local name=$1 port
	shift
	port=$(free_port)
	"$B/cofferd" --listen "127.0.0.1:$port" --log "$W/$name.log" "$@" \
		>"$W/$name.out" 2>"$W/$name.err" &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		grep -q '^cofferd listening' "$W/$name.out" && break
		sleep 0.05
	done
	grep -q '^cofferd listening' "$W/$name.out" || { cat "$W/$name.err" >&2; exit 1; }
	URLS+=("http://127.0.0.1:$port")
	PORTS+=("$port")
}
stop_all() {
	local p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}

# kids FILE: CPU seconds of the shell's waited-for children (the coffer
# runs) from the output of 'times' (run in the shell itself, not in $(...))
kids() { sed -n 2p "$1" | tr 'ms' '  ' | awk '{print $1 * 60 + $2 + $3 * 60 + $4}'; }
# step LABEL CMD...: run CMD (a shell function), print "wall cpu..." deltas
step() {
	local c0 c1 t0 t1
	shift
	c0=$(cpu)
	times >"$W/times0"
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	times >"$W/times1"
	c1=$(cpu)
	awk -v t0="$t0" -v t1="$t1" -v a="$c0" -v b="$c1" \
		-v k0="$(kids "$W/times0")" -v k1="$(kids "$W/times1")" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.2f %.1f", t1 - t0, k1 - k0
		for (i = 2; i <= 4; i++) printf " %.1f", y[i] - x[i]
		printf "\n" }'
}

as() { local c=$1; shift; COFFER_CONFIG_DIR=$W/$MODE.$c.cfg COFFER_CACHE_DIR=$W/$MODE.$c.cache "$@"; }
url_of() { echo "${URLS[$(($1 % ${#URLS[@]}))]}"; }
# the zone of run $RUN
zurl() { echo "$(url_of "$1")/z$RUN"; }
backup1() { as c1 "$B/coffer" backup -q --repo "$(zurl 0)" "$W/src1"; }
backup2() {
	as c2 "$B/coffer" backup -q --repo "$(zurl 0)" "$W/src2" & local p=$!
	as c3 "$B/coffer" backup -q --repo "$(zurl 1)" "$W/src3"
	wait $p
}
restore1() {
	rm -rf "$W/$MODE.c1.cache"
	as c1 "$B/coffer" restore -q latest --repo "$(zurl 1)" --target "$SHM/r1"
}
restore2() {
	rm -rf "$W/$MODE.c2.cache" "$W/$MODE.c3.cache"
	as c2 "$B/coffer" restore -q latest --repo "$(zurl 1)" --target "$SHM/r2" & local p=$!
	as c3 "$B/coffer" restore -q latest --repo "$(zurl 0)" --target "$SHM/r3"
	wait $p
}
# quiet: wait up to 30 s for the machine to be idle (under 0.2 cores busy
# over a second)
quiet() {
	python3 - <<'PY'
import time
def busy():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)
end = time.time() + 30
while time.time() < end:
    b0, t0 = busy(); time.sleep(1); b1, t1 = busy()
    if (b1 - b0) / max(1, t1 - t0) * __import__("os").cpu_count() < 0.2:
        break
PY
}
# median N: the per-column medians of N lines on stdin
median() {
	python3 -c 'import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%g" % statistics.median(c) for c in zip(*rows)))'
}

# small requests: pre-signed (signreq is a process per signature), then
# sent over 4 kept-alive connections, spread over the processes
small() {
	python3 - "$B/tests/server/signreq" "$W/$MODE.c1.cfg" "$REQS" "$1" \
		"${PORTS[@]}" <<'PY'
import hashlib, http.client, os, subprocess, sys, threading, time
def cpu():
    kinds = {"cofferd": 0, "radosgw": 1, "ceph-osd": 1, "ceph-mon": 1,
             "postgres": 2}
    tot = [0.0, 0.0, 0.0]
    for p in os.listdir("/proc"):
        try:
            st = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        k = kinds.get(st[st.index("(") + 1:st.rindex(")")])
        if k is not None:
            f = st[st.rindex(")") + 2:].split()
            tot[k] += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return [sum(os.times()[:2])] + tot
signreq, cfg, n, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ports = [int(p) for p in sys.argv[5:]]
state = os.path.join(os.path.dirname(cfg), "small.names")
if what == "put":
    bodies = [os.urandom(1024) for _ in range(n)]
    names = [hashlib.blake2b(b, digest_size=32).hexdigest() for b in bodies]
    with open(state, "w") as f:
        f.write("\n".join(names))
else:
    names = open(state).read().split()
    bodies = [None] * n
reqs = []
for name, body in zip(names, bodies):
    uri = "/v1/r/small/o/data/" + name
    args = [signreq] + (["--hash", name] if body else []) + [cfg, "PUT" if body else "GET", uri]
    auth = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout.decode().split("\n")[0]
    h = {"Authorization": auth}
    if body:
        h["X-Coffer-Hash"] = name
    reqs.append(("PUT" if body else "GET", uri, body, h))
bad = []
def run(k):
    c = None
    for i in range(k, n, 4):
        m, uri, body, h = reqs[i]
        for attempt in range(3):
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", ports[k % len(ports)], timeout=60)
                c.request(m, uri, body=body, headers=h)
                r = c.getresponse()
                r.read()
                if r.status not in (200, 201, 204):
                    bad.append(r.status)
                break
            except (OSError, http.client.HTTPException):
                c = None
c0 = cpu()
t0 = time.time()
ts = [threading.Thread(target=run, args=(k,)) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
dt = time.time() - t0
c1 = cpu()
if bad:
    sys.exit("small %s: %d answers not 2xx: %s" % (what, len(bad), sorted(set(bad))))
print("%.0f %.2f" % (n / dt, dt), " ".join("%.1f" % (b - a) for a, b in zip(c0, c1)))
PY
}

run_mode() {
	MODE=$1
	local m
	URLS=()
	PORTS=()
	case $MODE in
	embedded)
		start e --data "$W/emb" ;;
	pgs3x1|pgs3x2)
		m=${MODE#pgs3x}
		psql -X -q -d "$DATABASE_URL" -c "CREATE DATABASE cbench_${TAG}_$m" >/dev/null
		"$B/cofferd" migrate --meta "$BASE/cbench_${TAG}_$m" >/dev/null
		for k in $(seq 1 "$m"); do
			start "$MODE.$k" --data "$W/$MODE.$k" --meta "$BASE/cbench_${TAG}_$m" \
				--blobs "s3://cbench-$TAG-$m"
		done ;;
	esac
	for c in c1 c2 c3; do
		tok=$(if [ "$MODE" = embedded ]; then "$B/cofferd" admin --data "$W/emb" invite
		      else "$B/cofferd" admin --data "$W/$MODE.1" --meta "$BASE/cbench_${TAG}_$m" invite; fi)
		as $c "$B/coffer" init -q --repo "$(url_of 0)" --invite "$tok" \
			--recovery-key-file "$W/$MODE.$c.rk"
	done
	local r
	: >"$W/b1"; : >"$W/b2"; : >"$W/r1"; : >"$W/r2"; : >"$W/sp"; : >"$W/sg"
	for RUN in $(seq 1 "$RUNS"); do
		for c in c1 c2 c3; do
			as $c "$B/coffer" zone create "z$RUN" -q --repo "$(url_of 0)"
		done
		log "$MODE run $RUN: backup x1"; quiet; step - backup1 >>"$W/b1"
		log "$MODE run $RUN: backup x2"; quiet; step - backup2 >>"$W/b2"
		sync
		log "$MODE run $RUN: restore x1"; quiet; step - restore1 >>"$W/r1"
		rm -rf "$SHM/r1"
		log "$MODE run $RUN: restore x2"; quiet; step - restore2 >>"$W/r2"
		rm -rf "$SHM/r2" "$SHM/r3"
		log "$MODE run $RUN: small requests"
		quiet; small put >>"$W/sp"
		quiet; small get >>"$W/sg"
	done
	for r in b1 b2 r1 r2 sp sg; do median <"$W/$r" >"$W/$r.med"; done
	if grep -q ' 5[0-9][0-9] account=' "$W"/*.log; then
		log "$MODE: cofferd answered 5xx: $(grep -h ' 5[0-9][0-9] account=' "$W"/*.log | head -3)"
		exit 1
	fi
	stop_all
	rm -f "$W"/*.log
	if [ "$MODE" != embedded ]; then # memstore Ceph keeps it all in RAM
		psql -X -q -d "$DATABASE_URL" -c "DROP DATABASE cbench_${TAG}_$m WITH (FORCE)" >/dev/null
		python3 "$ROOT/tests/scaleout/s3util.py" rb "cbench-$TAG-$m"
	else
		rm -rf "$W/emb"
	fi
	row "$MODE" "backup x1" "$(cat "$W/b1.med")" 1
	row "$MODE" "backup x2" "$(cat "$W/b2.med")" 2
	row "$MODE" "restore x1" "$(cat "$W/r1.med")" 1
	row "$MODE" "restore x2" "$(cat "$W/r2.med")" 2
	# shellcheck disable=SC2046
	set -- $(cat "$W/sp.med")
	printf '| %s | small PUT 1 KiB | %.0f req/s | %.1f | %.1f | %.1f | %.1f | %.1f |\n' "$MODE" "$@" >>"$W/table"
	# shellcheck disable=SC2046
	set -- $(cat "$W/sg.med")
	printf '| %s | small GET 1 KiB | %.0f req/s | %.1f | %.1f | %.1f | %.1f | %.1f |\n' "$MODE" "$@" >>"$W/table"
}
# row MODE STEP "wall coffer cofferd s3 pg" NTREES
row() {
	set -- "$1" "$2" $3 "$4"
	awk -v m="$1" -v s="$2" -v w="$3" -v a="$4" -v b="$5" -v c="$6" -v d="$7" \
		-v n="$8" -v bytes="$BYTES" 'BEGIN {
		printf "| %s | %s | %.0f MB/s | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
			m, s, n * bytes / w / 1e6, w, a, b, c, d }' >>"$W/table"
}

: >"$W/table"
for mode in embedded pgs3x1 pgs3x2; do run_mode "$mode"; done
echo "cofferd throughput: $((BYTES / 1000000)) MB per tree, medians of $RUNS runs, $(nproc) cores, build $B"
echo "(client: coffer, or for small requests the Python load generator)"
echo
echo "| setup | step | throughput | wall s | CPU s client | CPU s cofferd | CPU s radosgw+ceph | CPU s postgres |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
cat "$W/table"
