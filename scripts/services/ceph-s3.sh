#!/usr/bin/env bash
# ceph-s3.sh - throwaway single-node Ceph cluster + radosgw (S3) for integration tests.
#
# coffer's copy of the shared test-services script (the project must not
# need anything outside its tree); adapted: radosgw also answers
# virtual-host style requests for BUCKET.localhost, and s3.env gives that
# endpoint too (S3_VHOST_ENDPOINT); beast runs with tcp_nodelay=1.  Used by scripts/services/start-all.sh
# and tests/s3/.
#
#   ceph-s3.sh start DIR    bootstrap (first time) or restart the cluster rooted at DIR,
#                           create a fixed-key S3 user, write DIR/s3.env, wait for S3
#   ceph-s3.sh stop DIR     stop exactly the daemons started from DIR (pid files)
#   ceph-s3.sh status DIR   show which daemons are running; exit 0 iff all are
#
# Everything (conf, keyrings, mon/osd/mgr data, logs, pid files, sockets) lives
# under DIR; every daemon binds to 127.0.0.1 only.  Runs as root or as any user.
#
# Environment overrides (defaults in brackets):
#   CEPH_S3_PORT [7480]            radosgw (beast) port on 127.0.0.1
#   CEPH_S3_MON_PORT [13300]       monitor (msgr2) port on 127.0.0.1
#   CEPH_S3_ACCESS_KEY / CEPH_S3_SECRET_KEY   fixed test credentials
#   CEPH_S3_REGION [us-east-1]     region written to s3.env (radosgw does not check it)
#   CEPH_S3_OBJECTSTORE [memstore] memstore (RAM, no device) or bluestore (sparse file)
#   CEPH_S3_STORE_BYTES [4G]       capacity reported by the OSD (memstore: max RAM used)
#   CEPH_S3_MGR [0]                1: also run a ceph-mgr (not needed for S3; +300 MB RSS)
#   CEPH_S3_TIMEOUT [180]          seconds to wait for each readiness step
#   CEPH_S3_NO_INSTALL [0]         1: never call apt-get, fail if binaries are missing
set -euo pipefail

PORT=${CEPH_S3_PORT:-7480}
MON_PORT=${CEPH_S3_MON_PORT:-13300}
ACCESS_KEY=${CEPH_S3_ACCESS_KEY:-COFFERTESTACCESSKEY0}
SECRET_KEY=${CEPH_S3_SECRET_KEY:-coffer-test-secret-key-do-not-use-in-prod}
REGION=${CEPH_S3_REGION:-us-east-1}
OBJECTSTORE=${CEPH_S3_OBJECTSTORE:-memstore}
STORE_BYTES=${CEPH_S3_STORE_BYTES:-4G}
WITH_MGR=${CEPH_S3_MGR:-0}
TIMEOUT=${CEPH_S3_TIMEOUT:-180}
S3_UID=coffer-test

DIED=0
FAILED=""
die()  { DIED=1; echo "ceph-s3: ERROR: $*" >&2; exit 1; }
# On a failed start, stop whatever this run started (unless CEPH_S3_KEEP_ON_FAIL=1)
# and show the tail of the newest daemon log, so CI output explains the failure.
on_start_exit() {
    local rc=$?
    [ $rc -eq 0 ] && return 0
    [ "$DIED" = 1 ] || echo "ceph-s3: ERROR: start failed (exit $rc) at: $FAILED" >&2
    if [ -d "$DIR/log" ]; then
        local last; last=$(ls -t "$DIR"/log/{mon,osd,mgr,client.rgw}*.log 2>/dev/null | head -1) || true
        [ -n "$last" ] && { echo "--- last lines of $last:" >&2; tail -n 15 "$last" >&2; }
    fi
    [ "${CEPH_S3_KEEP_ON_FAIL:-0}" = 1 ] || do_stop || true
    exit $rc
}
log()  { echo "ceph-s3: [$(date +%T)] $*" >&2; }

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
if [ "$CMD" = start ]; then
    mkdir -p "$2" 2>/dev/null || die "cannot create directory $2"
elif [ ! -d "$2" ]; then
    # stop/status of a DIR that was never created: nothing runs there
    [ "$CMD" = stop ] && { log "nothing to stop in $2"; exit 0; }
    echo "no cluster in $2"; exit 1
fi
DIR=$(cd "$2" && pwd)
CONF=$DIR/ceph.conf
# a cluster keeps the settings it was bootstrapped with (ports, keys, store)
# shellcheck disable=SC1091
[ -f "$DIR/cluster.env" ] && . "$DIR/cluster.env"
case $OBJECTSTORE in memstore|bluestore) ;; *) die "CEPH_S3_OBJECTSTORE must be memstore or bluestore" ;; esac
export CEPH_CONF=$CONF
# ceph CLI/radosgw-admin: short timeouts so a dead cluster fails fast instead of hanging
CEPH=(ceph --connect-timeout 15)

# --- helpers -----------------------------------------------------------------

# Daemons of this cluster, in start order (pid files: DIR/run/NAME.pid).
daemons() {
    echo mon.a
    if [ "$WITH_MGR" = 1 ]; then echo mgr.x; fi
    echo osd.0
    echo client.rgw.a
}

# pid_of NAME: print pid if the daemon from THIS DIR is alive (pid file present,
# process alive and its command line references our conf), else fail.
pid_of() {
    local f=$DIR/run/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
    echo "$pid"
}

# alive PID: the process exists and is not a zombie waiting to be reaped
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }

# wait_for DESCRIPTION COMMAND...: retry COMMAND every 0.5s until TIMEOUT; give up
# at once if a daemon started by this run has died meanwhile.
STARTED=()
wait_for() {
    local what=$1 t=0 name; shift
    until "$@" >/dev/null 2>&1; do
        for name in "${STARTED[@]}"; do
            pid_of "$name" >/dev/null || die "$name died while waiting for $what (see $DIR/log/$name.log)"
        done
        t=$((t + 1))
        [ $t -lt $((2 * TIMEOUT)) ] || die "timed out after ${TIMEOUT}s waiting for $what (logs: $DIR/log)"
        sleep 0.5
    done
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

ensure_packages() {
    local need=()
    command -v ceph-mon  >/dev/null || need+=(ceph-mon)
    command -v ceph-osd  >/dev/null || need+=(ceph-osd)
    command -v radosgw   >/dev/null || need+=(radosgw)
    command -v ceph      >/dev/null || need+=(ceph-common)
    command -v uuidgen   >/dev/null || need+=(uuid-runtime)
    command -v curl      >/dev/null || need+=(curl)
    command -v ss        >/dev/null || need+=(iproute2)
    if [ "$WITH_MGR" = 1 ]; then command -v ceph-mgr >/dev/null || need+=(ceph-mgr); fi
    [ ${#need[@]} -eq 0 ] && return 0
    [ "${CEPH_S3_NO_INSTALL:-0}" = 1 ] && die "missing packages: ${need[*]}"
    [ "$(id -u)" = 0 ] || die "missing packages (${need[*]}); run as root or install them"
    log "installing ${need[*]} ..."
    # apt lists may be missing on a fresh machine: update once and retry
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$DIR/apt.log" 2>&1 ||
        { apt-get update >>"$DIR/apt.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >>"$DIR/apt.log" 2>&1; } ||
        die "apt-get install ${need[*]} failed (see $DIR/apt.log)"
}

write_conf() {
    local fsid=$1
    cat >"$CONF" <<EOF
# generated by ceph-s3.sh: single-node throwaway test cluster
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
run dir = $DIR/run
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
# one OSD, no replication; keep PG count small
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
mon data avail warn = 2
mon data avail crit = 1
mon max pg per osd = 1000

[mon]
mon data = $DIR/mon/\$cluster-\$id
pid file = $DIR/run/\$name.pid

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
pid file = $DIR/run/\$name.pid
mgr initial modules = iostat

[osd]
osd data = $DIR/osd/\$cluster-\$id
pid file = $DIR/run/\$name.pid
osd objectstore = $OBJECTSTORE
memstore device bytes = $STORE_BYTES
bluestore block create = true
bluestore block size = $STORE_BYTES
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 2
# clean umount on SIGTERM, so memstore dumps its contents to osd data and a
# stopped cluster can be started again with its objects
osd fast shutdown = false

[client.admin]
keyring = $DIR/keyring

[client.rgw.a]
keyring = $DIR/rgw/keyring
rgw data = $DIR/rgw
pid file = $DIR/run/\$name.pid
# tcp_nodelay=1: without it beast writes an answer's head and body as two
# Nagle-delayed segments, and every small GET on a kept-alive connection
# waits 40 ms for the client's delayed ACK
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw thread pool size = 32
# the data of deleted objects (multipart parts, tails past 4 MiB) is
# garbage-collected within seconds, not after 2 hours: the tests delete
# what they write, and memstore holds it all in RAM until then (a full OSD
# blocks every write)
rgw gc obj min wait = 0
rgw gc processor period = 10
# virtual-host style (http://BUCKET.localhost:PORT/KEY; curl resolves
# *.localhost to 127.0.0.1 by itself); path style keeps working
rgw dns name = localhost
EOF
}

# First-time creation of mon, mgr, osd keys and data directories.
bootstrap() {
    local fsid secret uuid
    log "bootstrapping new cluster in $DIR ($OBJECTSTORE)"
    mkdir -p "$DIR"/{run,log,mon,mgr,osd,rgw}
    fsid=$(uuidgen)
    write_conf "$fsid"
    local v
    for v in PORT MON_PORT ACCESS_KEY SECRET_KEY REGION OBJECTSTORE WITH_MGR; do
        printf '%s=%q\n' "$v" "${!v}"
    done >"$DIR/cluster.env"

    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >"$DIR/log/mkfs.log" 2>&1 ||
        die "ceph-mon --mkfs failed (see $DIR/log/mkfs.log)"
    start_daemon mon.a ceph-mon -i a
    wait_for "monitor quorum" "${CEPH[@]}" mon stat

    if [ "$WITH_MGR" = 1 ]; then
        mkdir -p "$DIR/mgr/ceph-x"
        "${CEPH[@]}" auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
            -o "$DIR/mgr/ceph-x/keyring"
    fi

    # OSD 0: register it with the mon, then mkfs with the same key
    mkdir -p "$DIR/osd/ceph-0"
    uuid=$(uuidgen)
    secret=$(ceph-authtool --gen-print-key)
    printf '{"cephx_secret": "%s"}\n' "$secret" >"$DIR/osd/new.json"
    "${CEPH[@]}" osd new "$uuid" -i "$DIR/osd/new.json" >/dev/null
    rm -f "$DIR/osd/new.json"
    ceph-osd -c "$CONF" -i 0 --mkfs --key "$secret" --osd-uuid "$uuid" >>"$DIR/log/mkfs.log" 2>&1 ||
        die "ceph-osd --mkfs failed (see $DIR/log/mkfs.log)"
    printf '[osd.0]\n\tkey = %s\n' "$secret" >"$DIR/osd/ceph-0/keyring"

    "${CEPH[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
        -o "$DIR/rgw/keyring"
    touch "$DIR/.bootstrapped"
}

# start_daemon NAME CMD...: start CMD (it daemonizes itself) unless already running.
start_daemon() {
    local name=$1; shift
    if pid_of "$name" >/dev/null; then return 0; fi
    rm -f "$DIR/run/$name.pid"
    "$@" -c "$CONF" >>"$DIR/log/$name.out" 2>&1 || die "$name failed to start (see $DIR/log/$name.log)"
    wait_for "$name pid file" pid_of "$name"
    STARTED+=("$name")
}

# Signed ListBuckets: proves rgw is up and the user/keys work.  radosgw (like AWS)
# needs an x-amz-content-sha256 header; curl < 8 does not add one by itself.
s3_signed_get() {
    curl -fsS -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" \
        --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        "http://127.0.0.1:$PORT/"
}

# Pre-create radosgw's pools in one go (threads in one librados client): radosgw
# would otherwise create them one by one at startup and on the first bucket/object
# write (several seconds each time).  Failure is not fatal: radosgw creates them.
RGW_POOLS=(.rgw.root default.rgw.log default.rgw.control default.rgw.meta
           default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
create_rgw_pools() {
    /usr/bin/python3 - "$CONF" "${RGW_POOLS[@]}" <<'PY' || log "warning: could not pre-create rgw pools"
import json, sys, threading, rados
c = rados.Rados(conffile=sys.argv[1], name='client.admin')
c.connect(timeout=15)
errs = []
def mk(pool):
    for cmd in ({'prefix': 'osd pool create', 'pool': pool, 'pg_num': 8},
                {'prefix': 'osd pool application enable', 'pool': pool, 'app': 'rgw'}):
        r, _, err = c.mon_command(json.dumps(cmd), b'', timeout=30)
        if r != 0:
            errs.append('%s: %s' % (pool, err))
ts = [threading.Thread(target=mk, args=(p,)) for p in sys.argv[2:]]
for t in ts: t.start()
for t in ts: t.join()
c.shutdown()
sys.exit('\n'.join(errs) if errs else 0)
PY
}

osd_up() { "${CEPH[@]}" osd dump 2>/dev/null | grep -q '^osd\.0 up'; }

do_start() {
    local t0=$SECONDS
    ensure_packages
    if [ ! -e "$DIR/.bootstrapped" ]; then
        [ -e "$CONF" ] && die "$DIR holds a half-created cluster; stop it and use a fresh DIR"
        port_free "$MON_PORT" || die "port $MON_PORT (mon) already in use; set CEPH_S3_MON_PORT"
        port_free "$PORT" || die "port $PORT (rgw) already in use; set CEPH_S3_PORT"
        bootstrap
    else
        # existing cluster: ports come from its conf, only (re)start what is down
        log "reusing cluster in $DIR"
        start_daemon mon.a ceph-mon -i a
        wait_for "monitor quorum" "${CEPH[@]}" mon stat
    fi
    if [ "$WITH_MGR" = 1 ]; then start_daemon mgr.x ceph-mgr -i x; fi
    start_daemon osd.0 ceph-osd -i 0
    wait_for "osd.0 up" osd_up
    [ -e "$DIR/.pools" ] || { create_rgw_pools && touch "$DIR/.pools"; }
    log "mon/osd up, starting radosgw on 127.0.0.1:$PORT"
    start_daemon client.rgw.a radosgw -n client.rgw.a
    wait_for "radosgw on 127.0.0.1:$PORT" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/"

    # fixed-key S3 user (idempotent: only created once)
    if ! radosgw-admin user info --uid "$S3_UID" >/dev/null 2>&1; then
        radosgw-admin user create --uid "$S3_UID" --display-name "coffer test user" \
            --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$DIR/log/user.json" 2>&1 ||
            die "radosgw-admin user create failed (see $DIR/log/user.json)"
    fi
    wait_for "signed S3 request" s3_signed_get

    cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=$REGION
S3_VHOST_ENDPOINT=http://localhost:$PORT
EOF
    log "S3 ready in $((SECONDS - t0))s"
    cat "$DIR/s3.env"
}

# stop_pids NAME...: SIGTERM the named daemons of this DIR, wait up to 20s, then SIGKILL.
stop_pids() {
    local name pid pids=() names=() i rc=0
    for name in "$@"; do
        pid=$(pid_of "$name") || { rm -f "$DIR/run/$name.pid"; continue; }
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid"); names+=("$name")
    done
    for i in "${!pids[@]}"; do
        pid=${pids[$i]}; name=${names[$i]}
        for _ in $(seq 1 40); do alive "$pid" || break; sleep 0.5; done
        if alive "$pid"; then
            log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
        if alive "$pid"; then log "could not stop $name (pid $pid)"; rc=1; continue; fi
        rm -f "$DIR/run/$name.pid"
        log "stopped $name (pid $pid)"
    done
    return $rc
}

do_stop() {
    [ -d "$DIR/run" ] || { log "nothing to stop in $DIR"; return 0; }
    # radosgw first (its shutdown still talks to the OSD), then osd/mgr, then
    # the mon last so the others can sign off cleanly
    local rc=0
    stop_pids client.rgw.a || rc=1
    stop_pids osd.0 mgr.x || rc=1
    stop_pids mon.a || rc=1
    return $rc
}

do_status() {
    local name pid rc=0
    for name in $(daemons); do
        if pid=$(pid_of "$name"); then echo "$name running (pid $pid)"
        else echo "$name not running"; rc=1; fi
    done
    return $rc
}

case $CMD in
    start)  set -E; trap 'FAILED="line $LINENO: $BASH_COMMAND"' ERR
            trap on_start_exit EXIT
            do_start ;;
    stop)   do_stop ;;
    status) do_status ;;
    *)      usage ;;
esac
