#!/bin/bash
# 06-zone-objects: the operator tampers with a zone's objects in its blob
# folder and metadata: flips a byte of a pack, truncates one, serves one
# pack's bytes under another's name, deletes a pack, replays an older
# snapshot's bytes under a newer snapshot's name, and truncates and flips
# index files.  'coffer check --read-data' names each object (exit 1), a
# restore that needs it fails, and neither writes anything.  (tests/cli
# 08-tamper covers the same on a local folder in depth.)
. "$(dirname "$0")/lib.sh" "$@"

start_server
new_account laptop
gen "$T/src" 6
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
gen "$T/src/more" 7
expect 0 dev laptop "$COFFER" backup --repo "$URL" "$T/src" --quiet
mapfile -t PACKS < <(srv ls 1 default data)
mapfile -t SNAPS < <(srv ls 1 default snapshots)
mapfile -t IDX < <(srv ls 1 default index)
[ ${#PACKS[@]} -ge 2 ] && [ ${#SNAPS[@]} -eq 2 ] && [ ${#IDX[@]} -ge 1 ] ||
	fail "unexpected zone: ${#PACKS[@]} packs, ${#SNAPS[@]} snapshots, ${#IDX[@]} index files"
expect 0 dev laptop "$COFFER" check --repo "$URL" --read-data
mkdir "$T/keep"
for k in data:"${PACKS[*]}" snapshots:"${SNAPS[*]}" index:"${IDX[*]}"; do
	for n in ${k#*:}; do srv get 1 default "${k%%:*}" "$n" "$T/keep/$n"; done
done

# detected KIND NAME WORD...: check --read-data fails naming the object
# (its first 8 hex digits) and WORD...; nothing written; then the operator
# puts the original back and check passes again.
detected() {
	local kind=$1 name=$2
	shift 2
	rm -rf "$T/laptop.cache" # no cached index or tree packs to hide behind
	snap_server
	expect 1 dev laptop "$COFFER" check --repo "$URL" --read-data
	said "${name:0:8}" "$@"
	expect_fail dev laptop "$COFFER" restore latest --repo "$URL" --target "$T/r"
	rm -rf "$T/r"
	unchanged "$kind $name"
	if srv ls 1 default "$kind" | grep -x "$name" >/dev/null; then
		srv replace 1 default "$kind" "$name" "$T/keep/$name"
	else
		srv put 1 default "$kind" "$name" "$T/keep/$name"
	fi
	rm -rf "$T/laptop.cache"
	expect 0 dev laptop "$COFFER" check --repo "$URL" --read-data
}

P=${PACKS[0]}
log "a byte flipped in a pack"
srv flip 1 default data "$P" 100
detected data "$P"
log "a pack truncated"
srv truncate 1 default data "$P" $(($(stat -c %s "$T/keep/$P") / 2))
detected data "$P"
log "another pack's bytes under this pack's name"
srv replace 1 default data "$P" "$T/keep/${PACKS[1]}"
detected data "$P"
log "a pack deleted"
srv delete 1 default data "$P"
detected data "$P" "missing"
log "the older snapshot's bytes replayed under the newer one's name"
srv replace 1 default snapshots "${SNAPS[1]}" "$T/keep/${SNAPS[0]}"
detected snapshots "${SNAPS[1]}" "does not match its name"
# (restore latest is refused: with a record that does not authenticate,
# 'latest' could silently be the older snapshot)
log "an index file truncated, then one with a byte flipped"
srv truncate 1 default index "${IDX[0]}" $(($(stat -c %s "$T/keep/${IDX[0]}") - 1))
detected index "${IDX[0]}"
srv flip 1 default index "${IDX[0]}" 60
detected index "${IDX[0]}"
