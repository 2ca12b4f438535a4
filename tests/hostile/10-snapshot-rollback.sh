#!/bin/bash
# 10-snapshot-rollback: the operator rolls a zone's set of snapshots back:
# soft-deletes the newest snapshot's row (as an older copy of the metadata
# would), deletes an older one outright, and hides a snapshot right after
# the backup that made it; and passes the hiding off as a 'coffer forget'
# with another account's forget record, or with garbage.  Each device
# remembers the snapshots of a zone it has seen (and authenticated); one
# that disappears is a security alert (exit 20) for every command on the
# zone, unless a forget record sealed with the zone's keys names it, and
# nothing is written.  (A real forget raises nothing.)  Limit:
# a device cannot miss a snapshot it never saw (a device that joins after
# the hiding sees the rolled-back set as the whole truth).
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
pair laptop phone
gen "$T/src" 14
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
gen "$T/src/more" 15
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
mapfile -t SNAPS < <(srv ls 1 default snapshots)
[ ${#SNAPS[@]} -eq 2 ] || fail "expected 2 snapshots"
expect 0 dev phone "$COFFER" snapshots --repo "$URL" # phone saw both

# hidden NAME DEV...: each DEV raises the alert naming NAME, for listing,
# restoring, checking and backing up; nothing is written.
hidden() {
	local name=$1 d c
	shift
	snap_server
	for d in "$@"; do
		for c in "snapshots" "restore latest --target $T/r" "check" "backup $T/src"; do
			# shellcheck disable=SC2086
			expect_fail dev "$d" "$COFFER" $c --repo "$URL" --quiet
			alert "snapshot ${name:0:8}" "gone from the server"
		done
	done
	[ ! -e "$T/r" ] || fail "restored from a rolled-back zone"
	unchanged "snapshot $name hidden"
}

log "the newest snapshot soft-deleted (the set rolled back)"
srv delete 1 default snapshots "${SNAPS[1]}" --soft
hidden "${SNAPS[1]}" laptop phone
log "a device that never saw it cannot tell (documented limit)"
pair laptop tv
expect 0 dev tv "$COFFER" snapshots --repo "$URL" --json
grep -q "${SNAPS[1]:0:8}" "$T/out" && fail "tv lists the hidden snapshot?"
srv undelete 1 default snapshots "${SNAPS[1]}"
expect 0 dev phone "$COFFER" snapshots --repo "$URL"

log "the older snapshot deleted outright"
srv get 1 default snapshots "${SNAPS[0]}" "$T/s0"
srv delete 1 default snapshots "${SNAPS[0]}"
hidden "${SNAPS[0]}" laptop phone tv
srv put 1 default snapshots "${SNAPS[0]}" "$T/s0"
expect 0 dev laptop "$COFFER" check --repo "$URL"

log "the hiding passed off as a forget: another account's record, garbage"
new_account other
gen "$T/osrc" 17
expect 0 dev other "$COFFER" backup --repo "$URL" "$T/osrc" --quiet
gen "$T/osrc/more" 18
expect 0 dev other "$COFFER" backup --repo "$URL" "$T/osrc" --quiet
expect 0 dev other "$COFFER" forget --keep-last 1 --repo "$URL" --quiet
mapfile -t FR < <(srv ls 2 default meta)
[ ${#FR[@]} -ge 1 ] || fail "no forget record in the other account"
srv copy 2 default meta "${FR[0]}" 1 default
head -c 300 /dev/urandom >"$T/junk"
srv put 1 default meta "$(b2 "$T/junk")" "$T/junk"
srv delete 1 default snapshots "${SNAPS[1]}" --soft
hidden "${SNAPS[1]}" laptop phone
srv undelete 1 default snapshots "${SNAPS[1]}"

log "a snapshot hidden right after the backup that made it"
gen "$T/src/third" 16
expect 0 dev phone "$COFFER" backup --repo "$URL" "$T/src" --json
NEW=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get("snapshot") or d.get("id") or d["name"])' "$T/out")
srv delete 1 default snapshots "$(srv ls 1 default snapshots | grep "^$NEW")" --soft
hidden "$NEW" phone

srv undelete 1 default snapshots "$(srv ls 1 default snapshots --all | grep "^$NEW")"

log "a real forget on laptop raises nothing on phone"
expect 0 dev laptop "$COFFER" forget --keep-last 1 --repo "$URL" --quiet
expect 0 dev phone "$COFFER" snapshots --repo "$URL"
expect 0 dev tv "$COFFER" check --repo "$URL"
