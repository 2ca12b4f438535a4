# lib.sh: shared helpers of the maintenance scenarios, on top of
# tests/cli/lib.sh (temp folder $T, repository, run/expect, treecmp, gen,
# jget, ...).  Each scenario starts with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# with $1 the coffer binary.  The binary is copied into $T/bin first, so a
# rebuild of the tree while a scenario runs cannot swap it under it.  Adds:
#   repl replace|unique ...   tests/maintenance/replace.py
#   du_repo                   bytes of the repository folder (du -sb)
#   mib BYTES                 "12.3 MiB"
#   repo_state                every file of the repository with its size
#   listed ID                 is ID a snapshot now?
# shellcheck source=../cli/lib.sh
MAINT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$MAINT_HERE/../cli/lib.sh" "$1"
mkdir "$T/bin"
cp "$COFFER" "$T/bin/coffer"
COFFER=$T/bin/coffer

repl() { python3 "$MAINT_HERE/replace.py" "$@"; }
du_repo() { du -sb "$COFFER_REPO" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# repo_state: names are content hashes, so names and sizes say it all.
repo_state() {
	(cd "$COFFER_REPO" && find . -type f ! -path './tmp/*' -printf '%P %s\n' | sort)
}
listed() {
	local all
	all=$(snapshot_ids)
	grep -qx "$1" <<<"$all"
}
# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }
