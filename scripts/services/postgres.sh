#!/usr/bin/env bash
# postgres.sh - throwaway PostgreSQL cluster for integration tests.
#
# coffer's copy of the shared test-services script (the project must not need
# anything outside its tree).  Used by the conformance suite of the metadata
# stores (tests/conformance: DATABASE_URL from DIR/pg.env) and by CI:
#   bash scripts/services/postgres.sh start /tmp/pgtest
#   set -a; . /tmp/pgtest/pg.env; set +a; meson test -C build --suite conformance
#
#   postgres.sh start DIR    initdb DIR/data (first time), start it on 127.0.0.1:PORT
#                            and a unix socket in DIR/run, create the test database,
#                            write DIR/pg.env (libpq variables + DATABASE_URL)
#   postgres.sh stop DIR     pg_ctl stop of the postmaster of DIR/data only
#   postgres.sh status DIR   exit 0 iff that postmaster is running
#
# Trust authentication, fsync off: for local tests only, never for real data.
# initdb/pg_ctl refuse to run as root, so as root the cluster is owned by and run
# as PG_RUN_AS (default: the 'postgres' system user); otherwise as the caller.
#
# Environment overrides (defaults in brackets):
#   PG_PORT [15432]   TCP port on 127.0.0.1 (also the socket's name); below Linux's
#                     ephemeral range (32768-60999), so no client socket can hold it.
#                     start still waits if the port is busy.
#   PG_DB [coffer]    database created for the tests
#   PG_USER [coffer]  superuser role created by initdb
#   PG_RUN_AS [postgres]   OS user to run the server as when invoked as root
#   PG_FSYNC [off]    on: keep fsync/synchronous_commit (slower, crash-safe)
#   PG_TIMEOUT [60]   seconds to wait for start/stop
#   PG_NO_INSTALL [0] 1: never call apt-get, fail if PostgreSQL is missing
set -euo pipefail

PORT=${PG_PORT:-15432}
DB=${PG_DB:-coffer}
SUPERUSER=${PG_USER:-coffer}
FSYNC=${PG_FSYNC:-off}
TIMEOUT=${PG_TIMEOUT:-60}

die() { echo "postgres.sh: ERROR: $*" >&2; exit 1; }
log() { echo "postgres.sh: [$(date +%T)] $*" >&2; }
usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
CMD=$1
case $CMD in start|stop|status) ;; *) usage ;; esac
if [ "$CMD" = start ]; then
    mkdir -p "$2" 2>/dev/null || die "cannot create directory $2"
elif [ ! -d "$2/data" ]; then
    [ "$CMD" = stop ] && { log "nothing to stop in $2"; exit 0; }
    echo "no cluster in $2"; exit 1
fi
DIR=$(cd "$2" && pwd)
DATA=$DIR/data
SOCKDIR=$DIR/run
# an existing cluster keeps the superuser it was created with
# shellcheck disable=SC1091
[ -f "$DIR/pg.settings" ] && . "$DIR/pg.settings"
# libpq variables of the caller (PGHOST, PGSSLMODE, ...) must not redirect our psql
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^PG[A-Z]+$' || true)

# The newest installed server version's binaries (not on PATH on Debian).
find_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_packages() {
    find_bindir >/dev/null && command -v psql >/dev/null && return 0
    [ "${PG_NO_INSTALL:-0}" = 1 ] && die "PostgreSQL is not installed (PG_NO_INSTALL=1)"
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; run as root or install 'postgresql'"
    log "installing postgresql ..."
    # Keep the package's own 'main' cluster from being started by invoke-rc.d
    # (standard Debian policy-rc.d hook, only if the machine has none already).
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    fi
    local ok=0
    { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >"$DIR/apt.log" 2>&1 ||
      { apt-get update >>"$DIR/apt.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >>"$DIR/apt.log" 2>&1; }; } && ok=1
    [ $ours = 1 ] && rm -f "$policy"
    [ $ok = 1 ] || die "apt-get install postgresql failed (see $DIR/apt.log)"
    find_bindir >/dev/null || die "postgresql installed but no initdb found under /usr/lib/postgresql"
}

# as_owner CMD...: run CMD as the OS user that owns (or will own) the cluster.
as_owner() {
    if [ "$(id -u)" != 0 ]; then "$@"; return; fi
    runuser -u "$OWNER" -- "$@"
}

# Is the postmaster of DATA running?  pg_ctl status checks postmaster.pid + the pid.
running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

# bindable: PORT can be bound as postgres binds it (SO_REUSEADDR)
bindable() {
    command -v python3 >/dev/null 2>&1 && python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$PORT" 2>/dev/null
}
# wait_port: fail if another server listens on PORT; if PORT is only held as the
# local end of client connections (it lies in the kernel's ephemeral range, e.g.
# a curl -> radosgw connection in TIME_WAIT, which lasts 60s), wait for it to clear.
wait_port() {
    local t=0
    while :; do
        ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . && die "port $PORT already in use by another server; set PG_PORT"
        ss -Htan "sport = :$PORT" 2>/dev/null | grep -q . || return 0
        # TIME-WAIT sockets of our own earlier postmaster's connections (a
        # restart) do not stop a bind with SO_REUSEADDR, as postgres does
        bindable && return 0
        [ $t -eq 0 ] && log "port $PORT is the local end of client connections (ephemeral range" \
            "$(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range)); waiting up to 90s for them to close"
        t=$((t + 1))
        [ $t -le 180 ] || die "port $PORT still held by client connections; set PG_PORT below $(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)"
        sleep 0.5
    done
}

do_initdb() {
    log "initdb $DATA (superuser $SUPERUSER, trust auth)"
    mkdir -p "$DATA" "$SOCKDIR" "$DIR/log"
    if [ "$(id -u)" = 0 ]; then
        chown "$OWNER": "$DIR" "$DATA" "$SOCKDIR" "$DIR/log"
        # the owner must be able to reach DIR through its parent directories
        runuser -u "$OWNER" -- test -w "$DATA" ||
            die "user $OWNER cannot write $DATA (a parent directory is not searchable by it); use a DIR under /tmp or set PG_RUN_AS"
    fi
    chmod 700 "$DATA"
    printf 'SUPERUSER=%q\n' "$SUPERUSER" >"$DIR/pg.settings"
    as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C \
        >"$DIR/log/initdb.log" 2>&1 || die "initdb failed (see $DIR/log/initdb.log)"
    # test-friendly settings; listen address, port and socket are given at start
    cat >>"$DATA/postgresql.conf" <<EOF

# --- added by postgres.sh (throwaway test cluster) ---
fsync = $FSYNC
synchronous_commit = $FSYNC
full_page_writes = $FSYNC
max_connections = 50
shared_buffers = 32MB
log_min_messages = warning
EOF
}

do_start() {
    ensure_packages
    BIN=$(find_bindir)
    if [ -d "$DATA" ]; then OWNER=$(stat -c %U "$DATA"); else OWNER=${PG_RUN_AS:-postgres}; fi
    if [ "$(id -u)" = 0 ]; then
        id "$OWNER" >/dev/null 2>&1 || die "user $OWNER does not exist (set PG_RUN_AS)"
    fi
    if ! running; then
        wait_port
    fi
    [ -f "$DATA/PG_VERSION" ] || do_initdb

    # unix socket path limit is 107 bytes: fall back to TCP only if DIR is too deep
    local sock=$SOCKDIR
    if [ $(( ${#SOCKDIR} + 16 )) -gt 107 ]; then
        log "warning: $SOCKDIR too long for a unix socket, TCP only"; sock=""
    fi

    if running; then
        log "already running"
    else
        local t0=$SECONDS
        # -w: wait until it accepts connections; -l: server log
        if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/log/postgres.log" -w -t "$TIMEOUT" \
                -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='$sock'" \
                start >"$DIR/log/pg_ctl.log" 2>&1; then
            tail -n 20 "$DIR/log/postgres.log" >&2 2>/dev/null || true
            # never leave a half-started postmaster behind
            as_owner "$BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true
            die "postgres failed to start (see $DIR/log/postgres.log)"
        fi
        log "postgres up in $((SECONDS - t0))s on 127.0.0.1:$PORT"
    fi
    # the port of a running cluster is whatever it was started with
    PORT=$(sed -n '4p' "$DATA/postmaster.pid")

    # create the test database once
    local psql=(psql -X -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres -v ON_ERROR_STOP=1)
    if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE \"$DB\"" || die "cannot create database $DB"
    fi

    cat >"$DIR/pg.env" <<EOF
PGHOST=127.0.0.1
PGPORT=$PORT
PGUSER=$SUPERUSER
PGDATABASE=$DB
DATABASE_URL=postgresql://$SUPERUSER@127.0.0.1:$PORT/$DB
PG_SOCKET_DIR=$sock
EOF
    cat "$DIR/pg.env"
}

do_stop() {
    BIN=$(find_bindir) || die "PostgreSQL binaries not found"
    OWNER=$(stat -c %U "$DATA")
    if ! running; then log "not running"; return 0; fi
    as_owner "$BIN/pg_ctl" -D "$DATA" stop -m fast -w -t "$TIMEOUT" >/dev/null ||
        die "pg_ctl stop failed for $DATA"
    log "stopped"
}

do_status() {
    BIN=$(find_bindir) || die "PostgreSQL binaries not found"
    OWNER=$(stat -c %U "$DATA")
    if running; then echo "postgres running (pid $(head -n 1 "$DATA/postmaster.pid"), port $(sed -n '4p' "$DATA/postmaster.pid"))"
    else echo "postgres not running"; return 1; fi
}

case $CMD in
    start)  do_start ;;
    stop)   do_stop ;;
    status) do_status ;;
esac
