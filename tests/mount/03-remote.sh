#!/bin/bash
# 03-remote: coffer mount of a zone on cofferd (trees from the local tree
# cache, chunks read ahead within packs): every file compared bit for bit,
# random reads, find; a server restart while mounted is ridden out by the
# client's retries.
. "$(dirname "$0")/../server/lib.sh" "$@"
. "$(dirname "$0")/lib.sh"

SRC=$T/src
M=$T/mnt
start_server srv
export COFFER_REPO=$SRV_URL COFFER_CONFIG_DIR=$T/a.cfg COFFER_CACHE_DIR=$T/a.cache
unset COFFER_PASSWORD_FILE

log "a zone on cofferd, two snapshots"
expect 0 new_client a "$SRV_URL" "$(admin srv invite)" --name desk
gen tree "$SRC" --seed 31 --files 150 --dirs 15 --max 1500000 \
	--big 1:20000000 >/dev/null
expect 0 coffer backup "$SRC" --tag first
cp -a "$SRC" "$T/orig1"
gen modify "$SRC" --seed 3 --fraction 0.3 >/dev/null
expect 0 coffer backup "$SRC"
mapfile -t IDS < <(snapshot_ids)
D1=$(snap_dir "${IDS[0]}")

log "mount; compare both snapshots"
mount_start "$M"
treecmp --no-root-meta "$T/orig1" "$M/tags/first/$D1$SRC"
treecmp --no-root-meta "$SRC" "$M/latest$SRC"
BIG=$(cd "$SRC" && find . -name '*big*' -print -quit)
python3 - "$SRC/$BIG" "$M/latest$SRC/$BIG" <<'PY' || fail "random reads"
import os, random, sys
a = open(sys.argv[1], "rb").read()
fd = os.open(sys.argv[2], os.O_RDONLY)
r = random.Random(3)
for _ in range(300):
    k = r.choice([1, 4096, 131072, 1 << 20])
    off = r.randrange(0, len(a))
    assert os.pread(fd, k, off) == a[off:off + k], (k, off)
PY

log "the server restarts while mounted"
fusermount3 -u "$M"
mount_wait_gone "$M" "$MPID"
mount_start "$M"
PORT=$SRV_PORT
stop_server "$SRV_PID"
# (a subshell: it tells its server's pid through a file, so that the exit
# trap stops that server too)
(sleep 2; restart_server srv "$PORT" && echo "$SRV_PID" >"$T/restarted.pid") &
RESTARTER=$!
cmp "$T/orig1/$BIG" "$M/tags/first/$D1$SRC/$BIG" ||
	fail "read across a server restart"
wait "$RESTARTER" || fail "cofferd did not restart"
SRV_PID=$(cat "$T/restarted.pid")
SRV_PIDS+=("$SRV_PID")
kill -TERM "$MPID"
mount_wait_gone "$M" "$MPID"
[ "$MRC" -eq 0 ] || fail "coffer mount exited $MRC"

log "find"
expect 0 coffer find "$(basename "$BIG")"
has "$T/out" "in 2 snapshots"
