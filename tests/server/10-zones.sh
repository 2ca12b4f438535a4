#!/bin/bash
# 10-zones: 'coffer zone create NAME' and 'coffer zone list' (text and
# --json), and deduplication within a zone only: data already stored in
# zone "default" is stored again in full when first backed up into a new
# zone, while a second backup of it into that zone (--force: every file
# read again) stores next to nothing.  Each zone keeps its own snapshots.
. "$(dirname "$0")/lib.sh" "$@"

start_server srv
export COFFER_REPO=$SRV_URL
unset COFFER_PASSWORD_FILE # cofferd zones open with the device's keys

# backup_json CMD...: the backup's --json report in $T/b.json; sets NEW and
# STORED (its new_bytes and stored_bytes).
backup_json() {
	expect 0 as desk coffer backup --json "$@"
	cp "$T/out" "$T/b.json"
	NEW=$(jget "$T/b.json" 'd["new_bytes"]')
	STORED=$(jget "$T/b.json" 'd["stored_bytes"]')
}

log "an account: one zone, 'default'"
expect 0 new_client desk "$SRV_URL" "$(admin srv invite)" --name desk
expect 0 as desk coffer zone list
[ "$(cat "$T/out")" = default ] || { show_io; fail "zone list"; }

log "zone create, zone list"
expect 0 as desk coffer zone create photos
[ "$(cat "$T/out")" = "created zone 'photos'" ] || { show_io; fail "zone create"; }
expect 0 as desk coffer zone list
[ "$(sort "$T/out" | tr '\n' ' ')" = "default photos " ] ||
	{ show_io; fail "zone list after create"; }
expect 0 as desk coffer zone list --json
[ "$(jget "$T/out" 'sorted(d)')" = "['default', 'photos']" ] ||
	{ show_io; fail "zone list --json"; }
expect_fail as desk coffer zone create photos
one_error_line "exists already"
expect 2 as desk coffer zone create "bad/name"
one_error_line "bad/name"
expect 0 as desk coffer zone list --json
[ "$(jget "$T/out" 'sorted(d)')" = "['default', 'photos']" ] ||
	{ show_io; fail "zone list after the refused creates"; }

log "a backup into zone default"
read -r _ NBYTES < <(gen tree "$T/src" --seed 101 --files 80 --dirs 6 \
	--max 300000 --text 0)
backup_json "$T/src"
S_A=$STORED
[ "$NEW" -ge "$NBYTES" ] && [ "$S_A" -ge $((NBYTES * 9 / 10)) ] ||
	fail "the first backup stored $S_A bytes ($NEW new) of $NBYTES"

log "the same data into zone photos: stored again (no dedup across zones)"
backup_json --zone photos "$T/src"
[ "$NEW" -ge "$NBYTES" ] && [ "$STORED" -ge $((S_A * 9 / 10)) ] ||
	fail "zone photos stored $STORED bytes ($NEW new) of $NBYTES: deduplicated against zone default?"
[ "$(jget "$T/b.json" 'd["parent"]')" = "" ] || fail "a parent from another zone"

log "the same data into zone photos again, every file read: deduplicated"
backup_json --repo "$SRV_URL/photos" --force "$T/src"
[ "$(jget "$T/b.json" 'd["unchanged_files"]')" = 0 ] ||
	fail "--force skipped files: $(cat "$T/b.json")"
[ "$NEW" -le $((NBYTES / 100)) ] && [ "$STORED" -le $((S_A / 100)) ] ||
	fail "the second backup into photos stored $STORED bytes ($NEW new) of $NBYTES"

log "each zone has its own snapshots, and restores its own"
expect 0 as desk coffer snapshots --json
[ "$(jget "$T/out" 'len(d)')" = 1 ] || { show_io; fail "default's snapshots"; }
expect 0 as desk coffer snapshots --json --zone photos
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "photos' snapshots"; }
expect 0 as desk coffer restore latest --zone photos --target "$T/r"
treecmp "$T/src" "$T/r$T/src"
