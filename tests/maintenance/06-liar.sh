#!/usr/bin/env bash
# A writer that holds a write-only credential's keys (tests/maintenance/
# liar.c) stores junk under the chunk id of a file it expects to be backed
# up.  A later backup deduplicates against the lie.  Its pack is not
# vouched for (docs/SECURITY.md: a write-only credential cannot sign with
# the trust key), so every reader hashes what it decrypts: restore and dump
# refuse the blob, naming it, check --read-data names it, and a prune that
# would repack that pack keeps it as it is (exit 3, the blob named) rather
# than move the blob into a pack that readers trust.  The same lie made
# with the zone's own keys (only a writer's bug could) is trusted by
# restore, and check --read-data names it.  Usage: 06-liar.sh COFFER LIAR
. "$(dirname "$0")/lib.sh" "$1"
LIAR=$2

init_repo
mkdir "$T/src"
printf 'a file whose content the liar can predict\n' >"$T/src/target.txt"
head -c 3000 /dev/urandom >"$T/src/other.bin"
head -c 3000 /dev/urandom >"$T/junk"

log "the liar stores junk under the id of target.txt's content"
ID=$("$LIAR" "$COFFER_REPO" "$T/src/target.txt" "$T/junk") ||
	fail "the liar could not write"
[ ${#ID} = 16 ] || fail "the liar printed '$ID'"

log "a backup deduplicates against it"
expect 0 coffer backup --quiet "$T/src"

log "restore and dump refuse the blob, naming it"
expect 1 coffer restore latest --target "$T/r1"
one_error_line "blob $ID" "content does not match its id"
cmp "$T/src/other.bin" "$T/r1$T/src/other.bin" ||
	fail "the honest file was not restored"
expect 1 coffer dump "latest:$T/src/target.txt"
one_error_line "blob $ID" "content does not match its id"

log "check --read-data names it"
expect 1 coffer check --read-data
has "$T/err" "blob $ID"
has "$T/err" "content does not match its id"

log "a prune that would repack the liar's pack keeps it as it is, names the"
log "blob and exits 3; the rest of the prune is done"
expect 3 coffer prune --quiet --max-unused 0
one_error_line "blob $ID" "does not match its id"
expect 0 coffer prune --json --max-unused 0 --dry-run
log "and the blob was not laundered into a vouched pack"
expect 1 coffer restore latest --target "$T/r2"
one_error_line "blob $ID" "content does not match its id"
expect 1 coffer check --read-data
has "$T/err" "blob $ID"

log "the same lie with the zone's own keys (a writer's bug): readers trust"
log "the pack, check --read-data still names the blob"
export COFFER_REPO=$T/repo2
init_repo
ID=$("$LIAR" --vouched "$COFFER_REPO" "$T/src/target.txt" "$T/junk") ||
	fail "the liar could not write"
expect 0 coffer backup --quiet "$T/src"
expect 1 coffer check --read-data
has "$T/err" "blob $ID"
has "$T/err" "content does not match its id"
log "ok"
