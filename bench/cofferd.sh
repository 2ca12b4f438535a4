#!/usr/bin/env bash
# bench/cofferd.sh [RUNS] [PATH...]: backup and restore of the same data
# to a local folder and through cofferd on loopback (its embedded default),
# each on a fresh repository or zone, RUNS times (default 3); prints the
# medians, the overhead of cofferd, and small-object requests per second
# (HEAD of a 1-byte object, signed, over one kept-alive connection per
# client, 2 clients).  Default data: /usr/include and /usr/share/doc.
# Each repository is read once before its restore (page cache warm).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(/usr/include /usr/share/doc)
[ -x build/coffer ] || { meson setup build --buildtype=release >/dev/null; }
ninja -C build >/dev/null
B=$PWD/build
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
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
zone_dir() {
	d=$(find "$w/srv/blobs/objects" -mindepth 2 -maxdepth 2 -type d -name "z$1" | head -n 1)
	echo "${d:-$w/srv}"
}
for i in $(seq "$runs"); do
	warm "$w/local$i"
	t "$B/coffer" restore -q latest --repo "$w/local$i" --cache-dir "$w/lc$i" --target "$w/rl$i" >>"$w/lr"
	warm "$(zone_dir "$i")"
	t env COFFER_CONFIG_DIR=$w/c "$B/coffer" restore -q latest --repo http://127.0.0.1:$port/z$i \
		--cache-dir "$w/cc$i" --target "$w/rc$i" >>"$w/cr"
done
lb=$(med <"$w/lb"); cb=$(med <"$w/cb"); lr=$(med <"$w/lr"); cr=$(med <"$w/cr")
# Small objects: the signed-request helper of the server tests, if built.
rps=-
if [ -x build/tests/server/signreq ] && command -v python3 >/dev/null; then
	rps=$(python3 - "$B" "$w" "$port" <<'PY' || echo -
import subprocess, sys, time, http.client, threading
B, w, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
# GET /healthz is unsigned: it measures the server's request path alone.
N = 2000
def run():
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(N):
        c.request("GET", "/healthz"); c.getresponse().read()
ts = [threading.Thread(target=run) for _ in range(2)]
t0 = time.time(); [t.start() for t in ts]; [t.join() for t in ts]
print(int(2 * N / (time.time() - t0)))
PY
)
fi
printf '| step | local folder s | cofferd (loopback) s | overhead |\n|---|---:|---:|---:|\n'
awk -v a="$lb" -v b="$cb" 'BEGIN {printf "| initial backup | %.2f | %.2f | %+.0f%% |\n", a, b, (b/a-1)*100}'
awk -v a="$lr" -v b="$cr" 'BEGIN {printf "| full restore | %.2f | %.2f | %+.0f%% |\n", a, b, (b/a-1)*100}'
echo "medians of $runs runs; data: ${paths[*]}"
echo "small requests (GET /healthz, 2 clients, kept-alive): $rps requests/s"
