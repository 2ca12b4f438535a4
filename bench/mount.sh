#!/usr/bin/env bash
# bench/mount.sh: coffer mount and coffer find on a large snapshot.
#
# Measures, on one snapshot of 100k small files (100 folders of 1000) and a
# 1 GiB random file:
#   1. listing it through a fresh mount: find MOUNT/latest/ | wc -l (names
#      and types only), and du -s (a stat of every entry); coffer ls for
#      comparison;
#   2. sequential read of the 1 GiB file through a fresh mount (cold chunk
#      cache: a new mount process) with dd, against coffer restore of the
#      same file (to /dev/shm) and coffer dump; with BENCH_DROP_CACHES=1
#      the kernel's page cache is dropped before each (cold packs);
#   3. random reads (128 KiB at random offsets) through a fresh mount;
#   4. the bytes coffer restore SNAP:/path/of/one/small/file reads from the
#      store (strace of every read and pread on the repository's files,
#      by kind of object), and from its local index cache;
#   5. coffer find over BENCH_MOUNT_SNAPS snapshots of the tree (each one
#      small change apart) against the newest one alone.
# Each timed step runs BENCH_MOUNT_RUNS times; the median is reported.
#
# Environment (all optional):
#   COFFER=build/coffer                 the binary
#   BENCH_MOUNT_WORK=/tmp/coffer-bench-mount   work folder (removed at the
#                                       end unless BENCH_MOUNT_KEEP=1)
#   BENCH_MOUNT_FILES=100000  BENCH_MOUNT_BIG_MIB=1024
#   BENCH_MOUNT_SNAPS=20      BENCH_MOUNT_RUNS=3
#   BENCH_DROP_CACHES=0       1: echo 3 >/proc/sys/vm/drop_caches (root)
# Results: a table on stdout, also in WORK/results.txt.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COFFER=$(readlink -f "${COFFER:-$ROOT/build/coffer}")
W=${BENCH_MOUNT_WORK:-/tmp/coffer-bench-mount}
NFILES=${BENCH_MOUNT_FILES:-100000}
BIG_MIB=${BENCH_MOUNT_BIG_MIB:-1024}
NSNAPS=${BENCH_MOUNT_SNAPS:-20}
RUNS=${BENCH_MOUNT_RUNS:-3}
DROP=${BENCH_DROP_CACHES:-0}

[ -x "$COFFER" ] || { echo "no coffer at $COFFER (ninja -C build)" >&2; exit 2; }
[ -c /dev/fuse ] || { echo "no /dev/fuse" >&2; exit 77; }

rm -rf "$W"
mkdir -p "$W/src" "$W/mnt"
export COFFER_REPO=$W/repo COFFER_PASSWORD_FILE=$W/pw COFFER_CACHE_DIR=$W/cache
echo "bench password" >"$W/pw"
RESULTS=$W/results.txt
: >"$RESULTS"
MPID=

cleanup() {
	if [ -n "$MPID" ]; then
		kill "$MPID" 2>/dev/null || true
	fi
	fusermount3 -uz "$W/mnt" 2>/dev/null || true
	rm -rf /dev/shm/coffer-bench-mount
	if [ "${BENCH_MOUNT_KEEP:-0}" != 1 ]; then
		rm -rf "$W/src" "$W/repo" "$W/cache" "$W/restore"
	fi
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
result() { printf '%-58s %s\n' "$1" "$2" | tee -a "$RESULTS"; }
coffer() { "$COFFER" "$@"; }
drop_caches() {
	sync
	if [ "$DROP" = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

mount_fresh() {
	"$COFFER" mount "$W/mnt" -q "$@" &
	MPID=$!
	for _ in $(seq 400); do
		awk -v d="$W/mnt" '$2 == d { f = 1 } END { exit !f }' /proc/mounts &&
			return 0
		sleep 0.05
	done
	echo "mount failed" >&2
	exit 1
}
unmount() {
	fusermount3 -u "$W/mnt"
	wait "$MPID" || true
	MPID=
}

echo "== source: $NFILES small files, one ${BIG_MIB} MiB random file"
python3 - "$W/src/many" "$NFILES" <<'EOF'
import os, sys
root, n = os.fsencode(sys.argv[1]), int(sys.argv[2])
os.makedirs(root)
per = 1000
for d in range((n + per - 1) // per):
    dp = os.path.join(root, b"d%03d" % d)
    os.mkdir(dp)
    for f in range(min(per, n - d * per)):
        with open(os.path.join(dp, b"f%04d" % f), "wb") as fh:
            fh.write(b"small file %d/%d\n" % (d, f) * (f % 5))
EOF
head -c $((BIG_MIB << 20)) /dev/urandom >"$W/src/big.bin"
BIG=$W/src/big.bin
ND=$(((NFILES + 999) / 1000))
SMALL=$W/src/many/d$(printf %03d $((ND / 2)))/f$(printf %04d $((NFILES / ND / 2 + 1)))

coffer init --kdf-memory 64 --kdf-ops 2 -q
t=$(now)
coffer backup "$W/src" -q
result "backup (first, $NFILES files + ${BIG_MIB} MiB)" "$(since "$t") s"
result "repository size" "$(du -sh "$W/repo" | cut -f1)"

echo "== 1. listing through the mount"
for _ in $(seq "$RUNS"); do
	mount_fresh
	t=$(now)
	n=$(find "$W/mnt/latest/" | wc -l)
	since "$t" >>"$W/find.t"
	t=$(now)
	du -s "$W/mnt/latest/" >/dev/null
	since "$t" >>"$W/du.t"
	t=$(now)
	find "$W/mnt/latest/" | wc -l >/dev/null
	since "$t" >>"$W/find2.t"
	unmount
	t=$(now)
	coffer ls latest | wc -l >/dev/null
	since "$t" >>"$W/ls.t"
done
result "find MOUNT/latest/ | wc -l ($n entries), fresh mount" "$(median <"$W/find.t") s"
result "du -s MOUNT/latest/ (stat of every entry), after it" "$(median <"$W/du.t") s"
result "find again (kernel caches warm)" "$(median <"$W/find2.t") s"
result "coffer ls latest | wc -l" "$(median <"$W/ls.t") s"

echo "== 2. sequential read of ${BIG_MIB} MiB"
mbs() { awk -v b=$((BIG_MIB << 20)) -v s="$1" 'BEGIN { printf "%.0f", b / s / 1048576 }'; }
for _ in $(seq "$RUNS"); do
	mount_fresh
	drop_caches
	t=$(now)
	dd if="$W/mnt/latest$BIG" of=/dev/null bs=1M status=none
	since "$t" >>"$W/dd.t"
	grep VmHWM "/proc/$MPID/status" | awk '{ print $2 }' >>"$W/hwm"
	t=$(now)
	cat "$W/mnt/latest$BIG" >/dev/null
	since "$t" >>"$W/dd2.t"
	unmount
	rm -rf /dev/shm/coffer-bench-mount
	drop_caches
	t=$(now)
	coffer restore "latest:$BIG" --target /dev/shm/coffer-bench-mount -q
	since "$t" >>"$W/restore.t"
	rm -rf /dev/shm/coffer-bench-mount
	drop_caches
	t=$(now)
	coffer dump "latest:$BIG" >/dev/null
	since "$t" >>"$W/dump.t"
done
s=$(median <"$W/dd.t")
result "dd through a fresh mount" "$s s, $(mbs "$s") MiB/s"
result "  mount process peak RSS" "$(($(median <"$W/hwm") / 1024)) MiB"
s=$(median <"$W/dd2.t")
result "cat again (kernel page cache)" "$s s, $(mbs "$s") MiB/s"
s=$(median <"$W/restore.t")
result "coffer restore of the file (to /dev/shm)" "$s s, $(mbs "$s") MiB/s"
s=$(median <"$W/dump.t")
result "coffer dump of the file (to /dev/null)" "$s s, $(mbs "$s") MiB/s"

echo "== 3. random reads"
for k in 131072 4096; do
	mount_fresh
	python3 - "$W/mnt/latest$BIG" "$k" <<'EOF' | tee -a "$RESULTS"
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
k = int(sys.argv[2])
n = os.fstat(fd).st_size
r = random.Random(k)
count = 200
t = time.monotonic()
for _ in range(count):
    os.pread(fd, k, r.randrange(0, n - k))
dt = time.monotonic() - t
print("%-58s %.2f ms a read" % ("%d random %d-byte reads, fresh mount" % (
    count, k), 1000 * dt / count))
EOF
	unmount
done

echo "== 4. bytes read from the store by a one-file restore"
drop_caches
strace -f -qq -s 0 -e trace=openat,close,read,pread64 -o "$W/strace.txt" \
	"$COFFER" restore "latest:$SMALL" --target "$W/restore" -q
python3 - "$W/strace.txt" "$W/repo" "$W/cache" "$(du -sb "$W/repo" | cut -f1)" \
	<<'EOF' | tee -a "$RESULTS"
import collections, re, sys
trace, repo, cache, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fds, pending = {}, {}
got = collections.Counter()
calls = collections.Counter()
call = re.compile(r'(\w+)\((.*)\)\s+=\s+(-?\d+)')
for line in open(trace):
    tid, _, rest = line.rstrip("\n").partition(" ")
    rest = rest.strip()
    if rest.endswith("<unfinished ...>"):
        pending[tid] = rest[:-len("<unfinished ...>")]
        continue
    m = re.match(r'<\.\.\. \w+ resumed>(.*)', rest)
    if m:
        rest = pending.pop(tid, "") + m.group(1)
    m = call.match(rest)
    if not m:
        continue
    name, args, ret = m.group(1), m.group(2), int(m.group(3))
    if name == "openat" and ret >= 0:
        p = re.search(r'"([^"]*)"', args)
        p = p.group(1) if p else "?"
        d = args.split(",")[0]
        if not p.startswith("/") and d != "AT_FDCWD":
            p = fds.get(int(d), "?") + "/" + p
        fds[ret] = p
    elif name == "close":
        fds.pop(int(args.split(",")[0]), None)
    elif name in ("read", "pread64") and ret > 0:
        path = fds.get(int(args.split(",")[0]), "?")
        if path.startswith(repo + "/"):
            kind = path[len(repo) + 1:].split("/")[0]
        elif path.startswith(cache + "/"):
            kind = "(local index cache)"
        else:
            continue
        got[kind] += ret
        calls[kind] += 1
store = sum(v for k, v in got.items() if not k.startswith("("))
print("%-58s %d bytes (%.3f%% of a %d-byte repository)" % (
    "one-file restore: read from the store", store, 100.0 * store / total,
    total))
for k in sorted(got):
    print("%-58s %d bytes in %d reads" % ("  " + k + "/", got[k], calls[k]))
EOF

echo "== 5. coffer find over $NSNAPS snapshots"
for i in $(seq 2 "$NSNAPS"); do
	echo "change $i" >>"$W/src/many/d$(printf %03d $((i % 100)))/f0001"
	coffer backup "$W/src" -q
done
for _ in $(seq "$RUNS"); do
	t=$(now)
	coffer find "$(basename "$SMALL")" >"$W/find.out"
	since "$t" >>"$W/findall.t"
	t=$(now)
	coffer find "$(basename "$SMALL")" --newest 1 >/dev/null
	since "$t" >>"$W/find1.t"
done
result "coffer find $(basename "$SMALL"), $NSNAPS snapshots" "$(median <"$W/findall.t") s"
result "  $(tail -n1 "$W/find.out")" ""
result "coffer find $(basename "$SMALL") --newest 1" "$(median <"$W/find1.t") s"
result "load average at the end (other jobs on the machine)" \
	"$(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "results in $RESULTS"
