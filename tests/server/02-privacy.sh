#!/bin/bash
# 02-privacy: after backups, reads and restores of a corpus through cofferd,
# nothing the server keeps (its whole data folder: meta.db and its WAL and
# nonce files, the objects, upload leftovers) nor its access log and output
# contains a file or folder name, a link target, the backed-up path, the
# host name of the snapshots, a 16-byte run of any file's content, the exact
# size of a large file or an mtime.  privacy.py first proves on the corpus
# itself that its scanner finds every needle.
# Not checked: device names.  They are in the signed (not encrypted) device
# chain records, objects of the zone _account, so the operator sees them.
. "$(dirname "$0")/lib.sh" "$@"

P() { python3 "$SERVER_HERE/privacy.py" "$@"; }
C=$T/corpus
HOSTNAME_=workstation-$RANDOM$RANDOM
start_server srv
export COFFER_REPO=$SRV_URL

log "corpus"
P corpus "$C" "$T/needles.json" "$HOSTNAME_" >/dev/null
P control "$T/needles.json" "$C" || fail "the scanner is blind"

log "backup twice, ls, diff, dump, restore, check"
expect 0 new_client a "$SRV_URL" "$(admin srv invite)"
expect 0 as a coffer backup --host "$HOSTNAME_" "$C"
touch "$C/x-new-file-$RANDOM$RANDOM"
expect 0 as a coffer backup --host "$HOSTNAME_" "$C"
expect 0 as a coffer snapshots --json
S1=$(jget "$T/out" 'd[0]["id"]')
[ "$(jget "$T/out" 'd[0]["host"]')" = "$HOSTNAME_" ] || fail "host not recorded"
expect 0 as a coffer ls --long latest
expect 0 as a coffer diff "$S1" latest
F=$(find "$C" -type f -name 'holiday-video-*')
as a coffer dump "latest:$F" | cmp - "$F" || fail "dump"
expect 0 as a coffer restore latest --target "$T/r"
treecmp "$C" "$T/r$C"
expect 0 as a coffer check --read-data
expect 0 as a coffer device list

log "scan the data folder and the log, server running"
[ -s "$SRV_DATA/meta.db-wal" ] || fail "no WAL to scan"
P scan "$T/needles.json" "$SRV_DATA" "$SRV_LOG" "$T/srv.out" "$T/srv.stderr" ||
	fail "leak while running"
log "and after a clean stop (WAL checkpointed)"
stop_server "$SRV_PID" || fail "cofferd exit status"
P scan "$T/needles.json" "$SRV_DATA" "$SRV_LOG" "$T/srv.out" "$T/srv.stderr" ||
	fail "leak after stop"
