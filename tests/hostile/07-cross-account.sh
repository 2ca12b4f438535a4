#!/bin/bash
# 07-cross-account: the operator serves account B's objects to account A:
# B's snapshot, pack and index file copied into A's zone (metadata row and
# blob), B's pack bytes under the name of one of A's packs, and B's whole
# zone as a zone of A's.  A's commands refuse each object (its wrapped key
# does not authenticate under A's zone keys), name it, never restore a byte
# of B's data, and write nothing.
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account alice
new_account bob
gen "$T/a" 11
gen "$T/b" 22 # its files hold "secret-22-..."
expect 0 dev alice "$COFFER" backup --repo "$URL" "$T/a" --quiet
expect 0 dev bob "$COFFER" backup --repo "$URL" "$T/b" --quiet
BSNAP=$(srv ls 2 default snapshots)
mapfile -t BPACKS < <(srv ls 2 default data)
mapfile -t BIDXS < <(srv ls 2 default index)
mapfile -t APACKS < <(srv ls 1 default data)
BIDX=${BIDXS[0]:-}
APACK=${APACKS[0]}
[ -n "$BSNAP" ] && [ ${#BPACKS[@]} -ge 1 ] && [ -n "$BIDX" ] || fail "bob's zone is empty"

no_bob_data() {
	if [ -e "$T/r" ] && grep -rqa "secret-22-" "$T/r"; then
		fail "alice restored bob's data"
	fi
	rm -rf "$T/r"
}
restores_alice() {
	expect 0 dev alice "$COFFER" restore latest --repo "$URL" --target "$T/r"
	grep -rqa "secret-11-" "$T/r" || fail "alice's own data not restored"
	no_bob_data
}

log "bob's snapshot in alice's zone"
srv copy 2 default snapshots "$BSNAP" 1 default
snap_server
# listed with a warning naming it (a damaged record does not hide the
# others), never as a snapshot of alice's
expect 0 dev alice "$COFFER" snapshots --repo "$URL" --json
said "snapshot ${BSNAP:0:8}" "not authentic"
grep -q "${BSNAP:0:8}" "$T/out" && fail "bob's snapshot is listed"
expect_fail dev alice "$COFFER" restore "${BSNAP:0:8}" --repo "$URL" --target "$T/r"
said "${BSNAP:0:8}"
no_bob_data
expect_fail dev alice "$COFFER" restore latest --repo "$URL" --target "$T/r"
said "${BSNAP:0:8}" "'latest' could be an older snapshot"
no_bob_data
expect 1 dev alice "$COFFER" check --repo "$URL"
said "${BSNAP:0:8}"
unchanged "bob's snapshot"
srv delete 1 default snapshots "$BSNAP"
restores_alice

log "bob's packs in alice's zone"
for p in "${BPACKS[@]}"; do srv copy 2 default data "$p" 1 default; done
snap_server
expect 1 dev alice "$COFFER" check --repo "$URL" --read-data
said "pack ${BPACKS[0]:0:16}"
unchanged "bob's packs"
restores_alice
for p in "${BPACKS[@]}"; do srv delete 1 default data "$p"; done

log "bob's index file in alice's zone"
srv copy 2 default index "$BIDX" 1 default
rm -rf "$T/alice.cache"
snap_server
expect_fail dev alice "$COFFER" restore latest --repo "$URL" --target "$T/r"
said "${BIDX:0:8}"
no_bob_data
unchanged "bob's index file"
srv delete 1 default index "$BIDX"
restores_alice

log "bob's pack bytes under the name of alice's pack"
srv get 1 default data "$APACK" "$T/apack"
srv replace 1 default data "$APACK" "$(srv get 2 default data "${BPACKS[0]}" "$T/bpack"; echo "$T/bpack")"
rm -rf "$T/alice.cache"
snap_server
expect 1 dev alice "$COFFER" check --repo "$URL" --read-data
said "pack ${APACK:0:16}"
expect_fail dev alice "$COFFER" restore latest --repo "$URL" --target "$T/r"
no_bob_data
unchanged "bob's pack bytes"
srv replace 1 default data "$APACK" "$T/apack"
restores_alice

log "bob's whole zone as a zone of alice's"
for k in config keys data index snapshots; do
	for n in $(srv ls 2 default $k); do srv copy 2 default $k "$n" 1 stolen; done
done
expect 0 dev alice "$COFFER" zone list --repo "$URL"
grep -qx stolen "$T/out" || fail "the zone is not listed"
snap_server
for c in snapshots check; do
	expect_fail dev alice "$COFFER" $c --repo "$URL/stolen"
	said "does not open with this account key"
done
expect_fail dev alice "$COFFER" restore latest --repo "$URL/stolen" --target "$T/r"
no_bob_data
unchanged "bob's zone"
