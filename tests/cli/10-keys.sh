#!/bin/bash
# 10-keys: key add with --new-password-file; the repository opens with
# either password; key list (text and JSON); key remove of another key;
# removing the key in use (or the last one) is refused; the data stays
# readable throughout.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
read -r _ _ < <(gen tree "$SRC" --seed 10 --files 50 --dirs 5 --max 100000)
PW1=$COFFER_PASSWORD_FILE
printf 'second password\n' >"$T/pw2"
printf 'third password\n' >"$T/pw3"
as() { local pw=$1; shift; COFFER_PASSWORD_FILE=$pw coffer "$@"; }
KDF=(--kdf-memory 8 --kdf-ops 1)
nkeys() { ls "$COFFER_REPO/keys" | wc -l; }

expect 0 init_repo
expect 0 coffer backup "$SRC" --quiet
K1=$(ls "$COFFER_REPO/keys")

log "key add"
expect 0 coffer key add --new-password-file "$T/pw2" "${KDF[@]}"
grep -qE '^added key [0-9a-f]{8}$' "$T/out" || { show_io; fail "key add output"; }
K2=$(ls "$COFFER_REPO/keys" | grep -v "$K1")
[ "$(nkeys)" = 2 ] || fail "two key slots expected"
has "$T/out" "added key ${K2:0:8}"

log "either password opens the repository"
expect 0 as "$PW1" snapshots
expect 0 as "$T/pw2" snapshots
expect 12 as "$T/pw3" snapshots
one_error_line

log "key list, text and JSON; the current key is marked"
expect 0 as "$T/pw2" key list
[ "$(wc -l <"$T/out")" = 2 ] || { show_io; fail "two lines expected"; }
grep -qx "\* ${K2:0:8}  password (argon2id)" "$T/out" || { show_io; fail "current key not marked"; }
grep -qx "  ${K1:0:8}  password (argon2id)" "$T/out" || { show_io; fail "other key line"; }
expect 0 as "$PW1" key list --json
python3 - "$T/out" "$K1" "$K2" <<'EOF' || { show_io; fail "key list --json"; }
import json, sys
v = json.load(open(sys.argv[1]))
k1, k2 = sys.argv[2], sys.argv[3]
assert sorted(x["id"] for x in v) == sorted([k1, k2]), v
for x in v:
    assert x["valid"] is True and x["kdf"] == "argon2id", x
    assert x["memory_mib"] == 8 and x["ops"] == 1, x
    assert x["current"] is (x["id"] == k1), x
EOF

log "removing the key in use is refused"
expect 2 as "$PW1" key remove "${K1:0:8}"
one_error_line "in use"
[ "$(nkeys)" = 2 ] || fail "a key was removed"

log "remove the other key"
expect 0 as "$T/pw2" key remove "${K1:0:8}"
has "$T/out" "removed key ${K1:0:8}"
[ "$(ls "$COFFER_REPO/keys")" = "$K2" ] || fail "the wrong slot is gone"
expect 12 as "$PW1" snapshots
one_error_line
expect 0 as "$T/pw2" snapshots

log "a third key, added and removed from the second"
expect 0 as "$T/pw2" key add --new-password-file "$T/pw3" "${KDF[@]}" --json
K3=$(jget "$T/out" 'd["id"]')
[ -f "$COFFER_REPO/keys/$K3" ] || fail "key add --json id"
expect 0 as "$T/pw3" key list --json
[ "$(jget "$T/out" '[x["id"] for x in d if x["current"]]')" = "['$K3']" ] ||
	{ show_io; fail "pw3 opens K3"; }
expect 0 as "$T/pw2" key remove "$K3" # a full id works too
expect 12 as "$T/pw3" snapshots

log "the last key cannot be removed; bad ids are clear errors"
expect 2 as "$T/pw2" key remove "${K2:0:6}"
one_error_line
expect 1 as "$T/pw2" key remove abcd1234
one_error_line "no key 'abcd1234'"
expect 2 as "$T/pw2" key remove abc
one_error_line "4 hex digits"
expect 2 as "$T/pw2" key remove
one_error_line
[ "$(nkeys)" = 1 ] || fail "key count"

log "the data is intact and readable with the remaining key"
expect 0 as "$T/pw2" restore latest --target "$T/r"
treecmp "$SRC" "$T/r$SRC"
expect 0 as "$T/pw2" check --read-data
