# lib.sh: helpers of the mount scenarios, on top of tests/cli/lib.sh (the
# temporary folder $T, the repository, run/expect/fail, gen, treecmp).
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# mount_start DIR [OPTIONS]: run 'coffer mount DIR' in the background
#   (pid in $MPID, its stderr in $T/mount.log) and wait until DIR is a
#   mount; the cleanup unmounts whatever is left.
# mounted DIR: 0 if DIR is in /proc/mounts as a coffer file system.
# mount_wait_gone DIR PID: wait until PID has exited and DIR is no longer
#   mounted; fail otherwise.  $MRC is PID's exit status.
# snap_dir ID: the folder name of snapshot ID under snapshots/.
# A scenario that needs cofferd sources tests/server/lib.sh first (which
# brings tests/cli/lib.sh); this file then only adds the mount helpers.
if ! declare -F expect >/dev/null; then
	. "$(dirname "$0")/../cli/lib.sh" "$@"
	# A private copy: a rebuild of the tree while this runs cannot swap it.
	mkdir "$T/bin"
	cp "$COFFER" "$T/bin/"
	COFFER=$T/bin/$(basename "$COFFER")
fi

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"

mounted() {
	local d
	d=$(readlink -f "$1")
	awk -v d="$d" '$2 == d && $3 == "fuse.coffer" { f = 1 } END { exit !f }' \
		/proc/mounts
}

mount_start() {
	local dir=$1 i
	shift
	mkdir -p "$dir"
	# As if run in the foreground: a shell starts background jobs with
	# SIGINT ignored, and libfuse leaves an ignored signal alone.
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$COFFER" mount "$dir" "$@" \
		2>"$T/mount.log" &
	MPID=$!
	CLEANUP+=("kill $MPID 2>/dev/null || true"
		"fusermount3 -uz '$dir' 2>/dev/null || true")
	for i in $(seq 200); do
		mounted "$dir" && return 0
		if ! kill -0 "$MPID" 2>/dev/null; then
			cat "$T/mount.log" >&2
			if [ "$(id -u)" -ne 0 ]; then
				skip "cannot mount FUSE here as $(id -un)"
			fi
			fail "coffer mount exited before mounting"
		fi
		sleep 0.05
	done
	cat "$T/mount.log" >&2
	fail "$dir is not mounted after 10 s"
}

mount_wait_gone() {
	local dir=$1 pid=$2 i
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "coffer mount (pid $pid) still runs"
	MRC=0
	wait "$pid" || MRC=$?
	mounted "$dir" && fail "$dir is still mounted"
	grep -q " $(readlink -f "$dir") " /proc/mounts &&
		fail "$dir left in /proc/mounts"
	return 0
}

snap_dir() {
	coffer snapshots --json | python3 -c '
import json, sys, time
v = json.load(sys.stdin)
want = sys.argv[1]
def t(s):
    return time.strftime("%Y-%m-%dT%H:%M:%S",
                         time.localtime(s["time_ns"] // 10**9))
names = [t(s) for s in v]
for s, n in zip(v, names):
    if s["id"] == want:
        print(n if names.count(n) == 1 else n + "-" + s["id"][:8])
' "$1"
}
