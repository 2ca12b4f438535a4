#!/bin/bash
# 05-unreadable: a file and a folder that cannot be read -> one warning line
# naming each, exit code 3, and a snapshot of everything else that restores.
#
# chmod 000 does not stop root (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).  As
# root, the backup runs under setpriv with those two capabilities dropped
# from the bounding set: still uid 0, so the repository, the cache and the
# password file (owned by root) stay accessible, but a mode-000 file or
# folder is refused exactly as for any other user.  Not root: chmod alone.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
read -r _ _ < <(gen tree "$SRC" --seed 5 --files 60 --dirs 6 --max 50000)
echo "top secret" >"$SRC/secret"
mkdir "$SRC/closed" && echo "inside" >"$SRC/closed/inside"
echo "readable" >"$SRC/readable"
chmod 000 "$SRC/secret" "$SRC/closed"

AS=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip "root, and no setpriv to drop CAP_DAC_OVERRIDE"
	AS=(setpriv --bounding-set=-dac_override,-dac_read_search)
fi
if "${AS[@]+"${AS[@]}"}" cat "$SRC/secret" >/dev/null 2>&1; then
	skip "cannot make a file unreadable here"
fi
nocap() { "${AS[@]+"${AS[@]}"}" "$COFFER" "$@"; }

# the reference: the source without what cannot be read, same folder times
cp -a "$SRC" "$T/ref"
chmod 755 "$T/ref/closed"
rm -rf "$T/ref/secret" "$T/ref/closed"
touch -r "$SRC" "$T/ref"

expect 0 init_repo

log "backup: exit 3, one warning line per unreadable entry"
expect 3 nocap backup "$SRC"
cat "$T/err"
[ "$(wc -l <"$T/err")" = 2 ] || { show_io; fail "expected exactly two warning lines"; }
grep -qx "warning: $SRC/secret: .*Permission denied" "$T/err" ||
	{ show_io; fail "no warning naming the unreadable file"; }
grep -qx "warning: $SRC/closed: .*Permission denied" "$T/err" ||
	{ show_io; fail "no warning naming the unreadable folder"; }
has "$T/out" "2 files or folders could not be read"

log "the same with --json: warnings as JSON lines, unreadable counted"
expect 3 nocap backup "$SRC" --json
python3 - "$T/out" "$T/err" "$SRC" <<'EOF' || { show_io; fail "--json"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unreadable"] == 2, d
w = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(x["path"] for x in w) == [sys.argv[3] + "/closed",
                                        sys.argv[3] + "/secret"], w
assert all("Permission denied" in x["warning"] for x in w), w
EOF
expect 3 nocap backup "$SRC" --quiet
[ ! -s "$T/out" ] || fail "--quiet printed on stdout"

log "the snapshots exist and hold everything else"
expect 0 coffer snapshots --json
[ "$(jget "$T/out" 'len(d)')" = 3 ] || fail "three snapshots expected"
expect 0 coffer ls latest
hasnt "$T/out" "$SRC/secret"
hasnt "$T/out" "$SRC/closed"
has "$T/out" "$SRC/readable"

log "restore (as root again): the rest, bit for bit"
expect 0 coffer restore latest --target "$T/r"
treecmp "$T/ref" "$T/r$SRC"

log "once readable again, the next backup takes them"
chmod 600 "$SRC/secret"
chmod 700 "$SRC/closed"
expect 0 nocap backup "$SRC"
expect 0 coffer dump "latest:$SRC/closed/inside"
has "$T/out" "inside"
expect 0 coffer check
