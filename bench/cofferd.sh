#!/usr/bin/env bash
# bench/cofferd.sh [RUNS] [PATH...]: backup and restore of the same data
# to a local folder and through cofferd on loopback (its embedded default),
# each on a fresh repository or zone, RUNS times (default 3); prints the
# medians, the overhead of cofferd, and small-object requests per second
# (1 KiB objects put, got, sized and deleted through the client's signed
# HTTP store, 2 threads: bench/smallobj.c), and the floor under that
# overhead: the CPU seconds that moving the repository's bytes through
# loopback TCP costs this machine (bench/loopback.c).  Default data:
# /usr/include and /usr/share/doc.  BENCH_BUILD_DIR: the build folder to
# measure (default build).
# Each repository is read once before its restore (page cache warm).
# Restores go into tmpfs (/dev/shm, when it has room; BENCH_RESTORE_DIR to
# choose), each deleted once timed: on this ext4, creating 80,000 files
# costs 3 to 10 s of system time depending on what was deleted in the
# last minutes, which drowned the difference being measured.  Both
# restores write the same files, so leaving the disk out only makes
# cofferd's share of the time larger.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(/usr/include /usr/share/doc)
bd=${BENCH_BUILD_DIR:-build}
[ -x "$bd/coffer" ] || { meson setup "$bd" --buildtype=release >/dev/null; }
ninja -C "$bd" >/dev/null
B=$(cd "$bd" && pwd)
w=$(mktemp -d /tmp/coffer-bench-cofferd.XXXXXX)
port=$((20000 + RANDOM % 20000))
trap 'kill $srv 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$w"' EXIT
echo pw > "$w/pw"
export COFFER_PASSWORD_FILE=$w/pw
"$B/cofferd" --data "$w/srv" --listen 127.0.0.1:$port --log "$w/srv.log" >"$w/srv.out" &
srv=$!
for _ in $(seq 50); do grep -q listening "$w/srv.out" && break; sleep 0.1; done
tok=$("$B/cofferd" admin --data "$w/srv" invite)
COFFER_CONFIG_DIR=$w/c "$B/coffer" init -q --repo http://127.0.0.1:$port \
	--invite "$tok" --recovery-key-file "$w/rk"
t() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -n 1; }
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq "$runs"); do
	"$B/coffer" init -q --repo "$w/local$i" --kdf-memory 8 --kdf-ops 1
	COFFER_CONFIG_DIR=$w/c "$B/coffer" zone create z$i -q --repo http://127.0.0.1:$port
	t "$B/coffer" backup -q --repo "$w/local$i" --cache-dir "$w/lc$i" "${paths[@]}" >>"$w/lb"
	t env COFFER_CONFIG_DIR=$w/c "$B/coffer" backup -q --repo http://127.0.0.1:$port/z$i \
		--cache-dir "$w/cc$i" "${paths[@]}" >>"$w/cb"
done
sync; sleep 5
# Packs are written past the page cache (O_DIRECT): read each repository
# (for cofferd: the zone's folder of objects in its data folder) once before
# its restore, so both restores start warm and the difference is cofferd's,
# not the disk's.
# Caches are dropped first (when we may): the page cache then holds the
# repository being restored, not six of them, and a restore into tmpfs
# does not compete with them for memory.
warm() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; fi
	find "$1" -type f -exec cat {} + >/dev/null
}
zone_dir() {
	d=$(find "$w/srv/blobs/objects" -mindepth 2 -maxdepth 2 -type d -name "z$1" | head -n 1)
	echo "${d:-$w/srv}"
}
need=$(( $(du -sm "${paths[@]}" | awk '{s += $1} END {print s}') + 512 ))
rd=${BENCH_RESTORE_DIR:-}
if [ -z "$rd" ]; then
	rd=$w
	if [ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR == 2 {print $4}')" -gt "$need" ]; then
		rd=$(mktemp -d /dev/shm/coffer-bench-restore.XXXXXX)
		trap 'kill $srv 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$w" "$rd"' EXIT
	fi
fi
for i in $(seq "$runs"); do
	warm "$w/local$i"
	t "$B/coffer" restore -q latest --repo "$w/local$i" --cache-dir "$w/lc$i" --target "$rd/rl$i" >>"$w/lr"
	rm -rf "$rd/rl$i"
	warm "$(zone_dir "$i")"
	t env COFFER_CONFIG_DIR=$w/c "$B/coffer" restore -q latest --repo http://127.0.0.1:$port/z$i \
		--cache-dir "$w/cc$i" --target "$rd/rc$i" >>"$w/cr"
	rm -rf "$rd/rc$i"
done
lb=$(med <"$w/lb"); cb=$(med <"$w/cb"); lr=$(med <"$w/lr"); cr=$(med <"$w/cr")
# Small objects: 1 KiB objects PUT, GET, HEAD and DELETE through the
# client's own HTTP store (signed requests, kept-alive connections), from 2
# threads (bench/smallobj.c).
"$B/smallobj" "$w/c" "http://127.0.0.1:$port/z1" 4000 2 >"$w/small" ||
	{ echo "smallobj failed" >&2; exit 1; }
# The floor: the repository's bytes sent through loopback TCP by two bare
# threads (no HTTP, no disk); on 2 cores about half of it adds to the wall.
mib=$(du -sm "$w/local1" | cut -f1)
"$B/loopback" "$mib" >"$w/lo" || { echo "loopback failed" >&2; exit 1; }
printf '| step | local folder s | cofferd (loopback) s | overhead |\n|---|---:|---:|---:|\n'
awk -v a="$lb" -v b="$cb" 'BEGIN {printf "| initial backup | %.2f | %.2f | %+.0f%% |\n", a, b, (b/a-1)*100}'
awk -v a="$lr" -v b="$cr" 'BEGIN {printf "| full restore | %.2f | %.2f | %+.0f%% |\n", a, b, (b/a-1)*100}'
echo "medians of $runs runs; data: ${paths[*]}; restores into $rd"
echo "floor: $(cat "$w/lo") (one repository's bytes through TCP on 127.0.0.1)"
echo "small objects (1 KiB, signed, 2 threads, kept-alive connections), requests/s:"
awk '{printf "  %s %s\n", $1, $(NF-1)}' "$w/small"
