#!/bin/bash
# 06-changed-during-read: a background writer appends to a large file while
# it is backed up -> a warning "file changed while it was read" naming it.
# Observed behaviour, asserted: the exit status stays 0 (the file was read:
# what was read is kept, and it restores as a prefix of the final file);
# the JSON result counts it in changed_during_read, not in unreadable.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
read -r _ _ < <(gen tree "$SRC" --seed 6 --files 40 --dirs 4 --max 100000)
LOG=$SRC/growing.log
head -c 64000000 /dev/urandom >"$LOG"
cp -a "$SRC" "$T/ref" # the other files, to compare later

# the writer appends 4 KiB every millisecond until $T/stop exists
python3 - "$LOG" "$T/stop" "$T/writing" <<'EOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
open(sys.argv[3], "w").close()
deadline = time.time() + 300
while not os.path.exists(sys.argv[2]) and time.time() < deadline:
    os.write(fd, os.urandom(4096))
    time.sleep(0.001)
EOF
WRITER=$!
CLEANUP+=("touch '$T/stop'; wait $WRITER 2>/dev/null")
while [ ! -e "$T/writing" ]; do sleep 0.05; done

expect 0 init_repo

log "backup while the file grows: warning, exit 0"
expect 0 coffer backup "$SRC"
cat "$T/err"
[ "$(wc -l <"$T/err")" = 1 ] || { show_io; fail "expected one warning line"; }
grep -qx "warning: $LOG: file changed while it was read" "$T/err" ||
	{ show_io; fail "no 'changed while it was read' warning naming the file"; }
has "$T/out" "saved"

log "the same with --json"
expect 0 coffer backup "$SRC" --json
python3 - "$T/out" "$T/err" "$LOG" <<'EOF' || { show_io; fail "--json"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["changed_during_read"] == 1 and d["unreadable"] == 0, d
w = [json.loads(l) for l in open(sys.argv[2])]
assert w == [{"warning": "file changed while it was read",
              "path": sys.argv[3]}], w
EOF
touch "$T/stop"
wait "$WRITER"

log "what was read restores: a prefix of the final file; the rest identical"
expect 0 coffer restore latest --target "$T/r"
GOT=$(stat -c %s "$T/r$LOG")
echo "recorded $GOT bytes of $(stat -c %s "$LOG")"
[ "$GOT" -ge 64000000 ] || fail "less than the initial size was kept"
cmp -n "$GOT" "$T/r$LOG" "$LOG" || fail "the restored file is not a prefix"
expect 0 coffer ls --json "latest:$LOG"
[ "$(jget "$T/out" 'd["size"]')" = "$GOT" ] || fail "recorded size != restored size"
rm "$T/r$LOG" "$T/ref/growing.log"
treecmp "$T/ref" "$T/r$SRC" --no-root-meta

log "once quiet, a backup is clean again"
expect 0 coffer backup "$SRC"
[ ! -s "$T/err" ] || { show_io; fail "warning without a writer"; }
expect 0 coffer check --read-data
