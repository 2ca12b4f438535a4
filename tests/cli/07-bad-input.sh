#!/bin/bash
# 07-bad-input: each mistake gives one clear line on stderr, a non-zero exit
# status, and loses nothing: wrong password (12), missing repository (10),
# a folder that is not a repository, init on a non-empty folder, backup of
# a path that does not exist, unknown option/command (2), unknown and
# ambiguous snapshot ids, corrupted key slots, restore onto a file, and a
# full disk (a 20 MiB tmpfs) during a backup.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
read -r _ _ < <(gen tree "$SRC" --seed 7 --files 30 --dirs 3 --max 40000)
expect 0 init_repo
expect 0 coffer backup "$SRC" --quiet
S1=$(snapshot_ids)
# the state that must survive every mistake below
snap_state() { ls "$COFFER_REPO/snapshots" "$COFFER_REPO/keys"; }
snap_state >"$T/state0"
intact() {
	snap_state >"$T/state1"
	diff "$T/state0" "$T/state1" >&2 || fail "the repository changed"
	run coffer restore "$S1" --target "$T/intact" --quiet
	[ "$RC" = 0 ] || { show_io; fail "the snapshot no longer restores"; }
	treecmp "$SRC" "$T/intact$SRC"
	rm -rf "$T/intact"
}

log "wrong password: 12"
printf 'not the password\n' >"$T/wrong"
for cmd in snapshots "backup $SRC" check "ls latest" "restore latest --target $T/x"; do
	# shellcheck disable=SC2086
	expect 12 coffer $cmd --password-file "$T/wrong"
	one_error_line "password"
done
[ ! -e "$T/x" ] || fail "restore with a wrong password created its target"
COFFER_PASSWORD_FILE=$T/wrong expect 12 coffer snapshots
one_error_line
log "missing or empty password file: 1, empty password: 2"
expect 1 coffer snapshots --password-file "$T/none"
one_error_line "$T/none"
: >"$T/empty"
expect 2 coffer snapshots --password-file "$T/empty"
one_error_line "empty password"

log "missing repository: 10"
expect 10 coffer snapshots --repo "$T/nowhere"
one_error_line "$T/nowhere"
COFFER_REPO=$T/nowhere expect 10 coffer backup "$SRC"
one_error_line "$T/nowhere"
[ ! -e "$T/nowhere" ] || fail "backup created a repository"
(unset COFFER_REPO; expect 2 coffer snapshots; one_error_line "--repo")

log "a folder that is not a repository"
mkdir "$T/plain" && echo data >"$T/plain/file"
expect 10 coffer snapshots --repo "$T/plain"
one_error_line "not a coffer repository"
printf 'garbage that is not a config' >"$T/plain/config"
expect_fail coffer snapshots --repo "$T/plain"
one_error_line "not a coffer repository"
expect_fail coffer snapshots --repo "$T/plain/file"
one_error_line "$T/plain/file"

log "init on a non-empty folder, on an existing repository"
rm "$T/plain/config"
expect 1 coffer init --repo "$T/plain" --kdf-memory 8 --kdf-ops 1
one_error_line "not empty"
[ "$(ls -A "$T/plain")" = file ] || fail "init touched a non-empty folder"
expect 1 init_repo
one_error_line "not empty"
intact

log "backup of a path that does not exist: nothing written"
PACKS0=$(find "$COFFER_REPO/data" -type f | wc -l)
expect 1 coffer backup "$SRC" "$T/does-not-exist"
one_error_line "$T/does-not-exist"
[ "$(find "$COFFER_REPO/data" -type f | wc -l)" = "$PACKS0" ] || fail "packs were written"
intact

log "unknown command, unknown option, bad values: 2"
# global options may also come before the command
expect 0 coffer --repo "$COFFER_REPO" snapshots
expect 2 coffer --repo "$COFFER_REPO"
one_error_line "unknown command '--repo'"
expect 2 coffer frobnicate
one_error_line "frobnicate"
expect 2 coffer backup "$SRC" --frobnicate
one_error_line "--frobnicate"
expect 2 coffer snapshots -z
one_error_line "-z"
expect 2 coffer backup "$SRC" --threads 0
one_error_line "--threads"
expect 2 coffer backup "$SRC" --exclude
one_error_line "--exclude"
expect 2 coffer backup
one_error_line
expect 2 coffer restore latest
one_error_line "--target"
expect 2 coffer dump latest
one_error_line
expect 2 coffer snapshots --json=yes
one_error_line
expect 2 coffer init --kdf-memory 1
one_error_line "--kdf-memory"
expect 2 coffer key frob
one_error_line
expect 2 coffer
intact

log "snapshot ids: unknown, too short, not in the snapshot"
expect 1 coffer ls 0000000000
one_error_line "no snapshot '0000000000'"
expect 2 coffer restore abc --target "$T/x"
one_error_line "4 hex digits"
[ ! -e "$T/x" ] || fail "restore of a bad id created its target"
expect 1 coffer dump "latest:$SRC/no such file"
one_error_line "no such file"
expect 1 coffer diff latest ffff0000
one_error_line "ffff0000"

log "an ambiguous snapshot prefix (back up until two ids share 4 hex digits)"
# ~300 tiny backups on average: in a repository of their own, on a tmpfs if
# one can be mounted (no fsync cost)
mkdir "$T/amb"
if mount -t tmpfs -o size=512m coffer-cli-amb "$T/amb" 2>/dev/null; then
	CLEANUP+=("umount -l '$T/amb'")
fi
export COFFER_REPO=$T/amb/repo COFFER_CACHE_DIR=$T/amb/cache
expect 0 init_repo
declare -A seen=()
mkdir "$T/tiny"
PREFIX=
t=$(now_s)
for i in $(seq 1 2000); do
	echo "$i" >"$T/tiny/f"
	out=$(coffer backup "$T/tiny" --json)
	[[ $out =~ \"snapshot\":\"([0-9a-f]{64})\" ]] || fail "backup: $out"
	s=${BASH_REMATCH[1]}
	if [ -n "${seen[${s:0:4}]:-}" ]; then
		PREFIX=${s:0:4}
		break
	fi
	seen[${s:0:4}]=1
done
echo "two snapshots share '$PREFIX' after $i backups ($(elapsed "$t") s)"
[ -n "$PREFIX" ] || fail "no collision in 2000 backups"
expect 2 coffer ls "$PREFIX"
one_error_line "ambiguous" "$PREFIX"
expect 2 coffer restore "$PREFIX" --target "$T/x"
one_error_line "ambiguous"
[ ! -e "$T/x" ] || fail "restore of an ambiguous id created its target"
export COFFER_REPO=$T/repo COFFER_CACHE_DIR=$T/cache

log "restore onto a file"
echo "I am a file" >"$T/afile"
expect 1 coffer restore latest --target "$T/afile"
one_error_line "$T/afile"
[ "$(cat "$T/afile")" = "I am a file" ] || fail "the file was changed"

log "a corrupted key slot"
SLOT1=$(ls "$COFFER_REPO/keys")
printf 'the second password\n' >"$T/pw2"
expect 0 coffer key add --new-password-file "$T/pw2" --kdf-memory 8 --kdf-ops 1 --json
SLOT2=$(jget "$T/out" 'd["id"]')
cp "$COFFER_REPO/keys/$SLOT1" "$T/slot1.orig"
SZ=$(stat -c %s "$COFFER_REPO/keys/$SLOT1")
flip "$COFFER_REPO/keys/$SLOT1" $((SZ - 20)) # in the sealed zone key
expect 0 coffer snapshots --password-file "$T/pw2" # the other slot still opens
expect 12 coffer snapshots # its own password no longer opens it
one_error_line
cp "$T/slot1.orig" "$COFFER_REPO/keys/$SLOT1"
flip "$COFFER_REPO/keys/$SLOT1" 0 # its magic
expect 0 coffer snapshots --password-file "$T/pw2"
expect 0 coffer key list --password-file "$T/pw2" --json
python3 - "$T/out" "$SLOT1" "$SLOT2" <<'EOF' || { show_io; fail "key list of a corrupt slot"; }
import json, sys
k = {x["id"]: x for x in json.load(open(sys.argv[1]))}
assert k[sys.argv[2]]["valid"] is False, k
assert k[sys.argv[3]]["valid"] is True and k[sys.argv[3]]["current"] is True, k
EOF
expect_fail coffer snapshots
one_error_line
# with a single slot, corrupted: a clear error, never a crash
cp "$T/slot1.orig" "$COFFER_REPO/keys/$SLOT1"
expect 0 coffer key remove "${SLOT2:0:8}"
flip "$COFFER_REPO/keys/$SLOT1" 40
expect_fail coffer snapshots
one_error_line
cp "$T/slot1.orig" "$COFFER_REPO/keys/$SLOT1"
snap_state >"$T/state0"
intact

log "full disk: backup fails cleanly, the repository still checks"
if ! mkdir "$T/small" || ! mount -t tmpfs -o size=20m coffer-cli-small "$T/small" 2>/dev/null; then
	echo "SKIP part: cannot mount a tmpfs here (not root?)"
	exit 0
fi
CLEANUP+=("umount '$T/small'")
export COFFER_REPO=$T/small/repo
expect 0 init_repo
expect 0 coffer backup "$SRC" --quiet
S1=$(snapshot_ids)
snap_state >"$T/state0"
touch -r "$SRC" "$T/mtime-of-src"
head -c 40000000 /dev/urandom >"$SRC/too-big.bin"
expect 1 coffer backup "$SRC"
one_error_line "No space left on device"
cat "$T/err"
[ -z "$(ls "$COFFER_REPO/tmp")" ] || fail "temporary files left in tmp/"
expect 0 coffer check --read-data
cat "$T/out" "$T/err"
rm "$SRC/too-big.bin"
touch -r "$T/mtime-of-src" "$SRC"
intact
