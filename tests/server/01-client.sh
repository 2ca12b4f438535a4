#!/bin/bash
# 01-client: the whole client flow through a cofferd URL: init with an
# invitation (a new account), backup, snapshots, ls, dump, diff, restore bit
# for bit, check --read-data, key list (key add is refused: zones open with
# devices), a device paired through the server and removed again (the
# server then refuses its key), a write-only credential; a second zone on
# the same account and a second account, each isolated from the others.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
start_server srv
export COFFER_REPO=$SRV_URL
unset COFFER_PASSWORD_FILE # cofferd zones open with the device's keys

log "init through the URL with an invitation"
expect 0 new_client a "$SRV_URL" "$(admin srv invite)" --name desk
[ -s "$T/a.rk" ] || fail "no recovery key written"
[ "$(stat -c %a "$T/a.cfg/device.key")" = 600 ] || fail "device.key is not 0600"
[ "$(admin srv accounts --json | wc -l)" = 1 ] || fail "one account expected"
log "init again: the zone exists, nothing added"
expect_fail as a coffer init --recovery-key-file "$T/a2.rk"
one_error_line "exists"
[ ! -e "$T/a2.rk" ] || fail "a second recovery key was made"

log "backup a generated tree"
read -r NFILES NBYTES < <(gen tree "$SRC" --seed 21 --files 200 --dirs 20 \
	--max 600000 --big 1:6000000)
mkdir "$SRC/empty dir"
expect 0 as a coffer backup "$SRC"
grep -qE "^snapshot [0-9a-f]{8} saved: $NFILES files" "$T/out" ||
	{ show_io; fail "no summary line"; }
[ ! -s "$T/err" ] || { show_io; fail "backup wrote to stderr"; }

log "snapshots"
expect 0 as a coffer snapshots --json
S1=$(jget "$T/out" 'd[0]["id"]')
[ "$(jget "$T/out" 'len(d), d[0]["files"], d[0]["bytes"], d[0]["paths"]')" = \
	"(1, $NFILES, $NBYTES, ['$SRC'])" ] || { show_io; fail "snapshots --json"; }

log "ls"
expect 0 as a coffer ls latest
grep -aF "$SRC" "$T/out" | sort >"$T/ls.txt"
find "$SRC" | sort >"$T/find.txt"
diff -u "$T/find.txt" "$T/ls.txt" >&2 || fail "ls differs from find"

log "dump"
for f in $(find "$SRC" -type f | sort | sed -n '1p;50p;120p') \
	"$(find "$SRC" -name 'fbig00.bin')"; do
	as a coffer dump "latest:$f" >"$T/dumped" || fail "dump $f"
	cmp "$f" "$T/dumped" || fail "dump of $f differs"
done

log "second backup after changes, diff"
MODIFIED=$(gen modify "$SRC" --seed 3 --fraction 0.02 | sort)
echo "new" >"$SRC/added.txt"
REMOVED=$(find "$SRC" -type f -name '*.log' | sort | sed -n 1p)
rm "$REMOVED"
expect 0 as a coffer backup "$SRC" --json
S2=$(jget "$T/out" 'd["snapshot"]')
[ "$(jget "$T/out" 'd["parent"]')" = "$S1" ] || fail "parent of the 2nd backup"
expect 0 as a coffer diff "$S1" "$S2"
grep -E '^[-+M]  ' "$T/out" | sort >"$T/diff.got"
{
	printf '+  %s\n' "$SRC/added.txt"
	printf -- '-  %s\n' "$REMOVED"
	for m in $MODIFIED; do printf 'M  %s\n' "$SRC/$m"; done
} | sort >"$T/diff.want"
diff -u "$T/diff.want" "$T/diff.got" >&2 || { show_io; fail "diff output"; }

log "restore both snapshots bit for bit"
expect 0 as a coffer restore "$S2" --target "$T/r2"
treecmp "$SRC" "$T/r2$SRC"
expect 0 as a coffer restore "${S1:0:8}" --target "$T/r1"
expect 0 as a coffer restore "$S1:$(dirname "$REMOVED")" --target "$T/r1sub"
cmp "$T/r1$REMOVED" "$T/r1sub/$(basename "$REMOVED")" ||
	fail "the removed file restored from the 1st snapshot differs"

log "check --read-data"
expect 0 as a coffer check --read-data
has "$T/out" "checked 2 snapshots"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "keys: list works, add is refused (devices open zones)"
expect 0 as a coffer key list --json
[ "$(jget "$T/out" 'len(d), sum(k["current"] for k in d), all(k["valid"] for k in d)')" = \
	"(1, 1, True)" ] || { show_io; fail "key list --json"; }
echo "a password" >"$T/pw2"
expect 2 as a coffer key add --new-password-file "$T/pw2"
one_error_line "devices"
expect 0 as a coffer key list --json
[ "$(jget "$T/out" 'len(d)')" = 1 ] || { show_io; fail "key add added a slot"; }

log "a device paired through the server"
as a "$COFFER" device invite --approve --timeout 60 >"$T/invite.out" 2>"$T/invite.err" &
INV=$!
for _ in $(seq 1 200); do
	grep -q 'coffer device join' "$T/invite.out" && break
	sleep 0.05
done
CODE=$(sed -n 's/^ *coffer device join .* NAME \(.*\)$/\1/p' "$T/invite.out")
[ -n "$CODE" ] || { cat "$T/invite.out" "$T/invite.err" >&2; fail "no pairing code"; }
expect 0 as c coffer device join --name laptop "$CODE"
wait $INV || { cat "$T/invite.out" "$T/invite.err" >&2; fail "device invite"; }
has "$T/invite.out" "device added"
expect 0 as c coffer snapshots --json
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "the new device's view"; }
expect 0 as c coffer restore "$S2" --target "$T/rc"
treecmp "$SRC" "$T/rc$SRC"
expect 0 as a coffer device list --json
[ "$(jget "$T/out" 'sorted((m["name"], m["role"]) for m in d)')" = \
	"[('desk', 'device'), ('laptop', 'device'), ('recovery key', 'recovery key')]" ] ||
	{ show_io; fail "device list"; }
admin srv accounts --json >"$T/acc.json"
[ "$(jget "$T/acc.json" 'd["devices"]')" = 3 ] ||
	fail "the server should know three keys (two devices, the recovery key)"

log "the paired device removed: the server refuses its key"
expect 0 as a coffer device remove laptop
has "$T/out" "removed device 'laptop'"
expect_fail as c coffer snapshots
one_error_line
[ "$(raw "$SRV_PORT" "$SIGNREQ" "$T/c.cfg" GET /v1/r/default/o/data/ | sed -n 1p)" = 403 ] ||
	fail "the removed device's key is still accepted"
admin srv accounts --json >"$T/acc.json"
[ "$(jget "$T/acc.json" 'd["devices"]')" = 2 ] || fail "the server still has 3 keys"
expect 0 as a coffer backup "$SRC" --tag after-removal
expect 0 as a coffer check --read-data
has "$T/out" "checked 3 snapshots"

log "a write-only credential backs up, opens nothing"
expect 0 as a coffer key create --write-only --output "$T/wo.cred" --name nas
gen tree "$T/wo" --seed 23 --files 20 --max 100000 --prefix w >/dev/null
expect 0 as wo coffer backup --credential "$T/wo.cred" "$T/wo"
expect 2 as wo coffer snapshots --credential "$T/wo.cred"
one_error_line
expect 0 as a coffer snapshots --json
[ "$(jget "$T/out" '[s["paths"] for s in d][-1]')" = "['$T/wo']" ] ||
	{ show_io; fail "the write-only backup is not listed"; }
expect 0 as a coffer restore latest --target "$T/rwo"
treecmp "$T/wo" "$T/rwo$T/wo"

log "a second zone on the same account"
gen tree "$T/other" --seed 22 --files 30 --max 100000 --prefix o >/dev/null
expect 0 new_client a "$SRV_URL/other" # account exists: no invitation
expect 0 as a coffer backup --repo "$SRV_URL/other" "$T/other"
expect 0 as a coffer snapshots --json --repo "$SRV_URL/other"
[ "$(jget "$T/out" 'len(d), d[0]["paths"]')" = "(1, ['$T/other'])" ] ||
	{ show_io; fail "snapshots of /other"; }
expect 0 as a coffer snapshots --json
[ "$(jget "$T/out" 'len(d), sorted(set(p for s in d for p in s["paths"]))')" = \
	"(4, ['$SRC', '$T/wo'])" ] || { show_io; fail "default sees /other"; }
expect 0 as a coffer restore latest --zone other --target "$T/ro"
treecmp "$T/other" "$T/ro$T/other"
expect 0 as a coffer check --read-data --repo "$SRV_URL/other"
has "$T/out" "checked 1 snapshots"
expect 0 as a coffer zone list
[ "$(grep -v '^_' "$T/out" | sort | tr '\n' ' ')" = "default other " ] ||
	{ show_io; fail "zone list"; }

log "the write-only key reaches its zone and nothing else of the account"
# its device key, from the credential, where signreq looks for one
mkdir -m 700 "$T/wokey"
python3 -c 'import sys; t = open(sys.argv[1]).read().split()
open(sys.argv[2], "wb").write(bytes.fromhex(t[t.index("device") + 1]))' \
	"$T/wo.cred" "$T/wokey/device.key"
chmod 600 "$T/wokey/device.key"
printf 'x' >"$T/one"
for req in "GET /v1/r/other/o/data/" "GET /v1/r/_account/o/meta/" \
	"GET /v1/repos" "GET /v1/r/other/ref/x" \
	"PUT /v1/r/other/o/data/$(python3 -c 'import hashlib,sys
print(hashlib.blake2b(b"x", digest_size=32).hexdigest())')"; do
	# shellcheck disable=SC2086
	raw "$SRV_PORT" "$SIGNREQ" "$T/wokey" $req "$T/one" >"$T/raw" 2>&1
	[ "$(head -n 1 "$T/raw")" = 403 ] ||
		{ cat "$T/raw"; fail "write-only key: $req was not refused"; }
done
raw "$SRV_PORT" "$SIGNREQ" "$T/wokey" GET /v1/r/default/o/data/ >"$T/raw" 2>&1
[ "$(head -n 1 "$T/raw")" = 200 ] ||
	{ cat "$T/raw"; fail "write-only key: its own zone was refused"; }
expect 0 as a coffer snapshots --json --repo "$SRV_URL/other"
[ "$(jget "$T/out" 'len(d)')" = 1 ] || fail "/other changed"

log "a second account: its own 'default', none of the first's zones"
expect 0 new_client b "$SRV_URL" "$(admin srv invite)"
expect 0 as b coffer snapshots --json
[ "$(jget "$T/out" 'len(d)')" = 0 ] || { show_io; fail "B sees snapshots"; }
expect 10 as b coffer snapshots --repo "$SRV_URL/other"
one_error_line
expect 0 as b coffer zone list
[ "$(grep -v '^_' "$T/out")" = default ] || { show_io; fail "B's zone list"; }
[ "$(admin srv accounts --json | wc -l)" = 2 ] || fail "two accounts expected"
expect 0 as a coffer check --read-data
has "$T/out" "checked 4 snapshots"

log "a device without a key, and one without an account"
expect_fail as nobody coffer snapshots
one_error_line "$T/nobody.cfg/device.key"
"$SIGNREQ" --create "$T/nobody.cfg" GET / >/dev/null
expect_fail as nobody coffer snapshots
one_error_line "unknown device"
log "a bad zone name in the URL"
expect 2 as a coffer snapshots --repo "$SRV_URL/bad%name"
one_error_line

log "the server is still up"
healthz || fail "healthz"
