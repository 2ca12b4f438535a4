#!/bin/bash
# 01-flow: the whole client flow with every command going through the other
# of two cofferd processes that share one PostgreSQL database and one S3
# bucket: init via A, backup via B, snapshots via A, restore via B bit for
# bit, check --read-data via A, forget and prune --grace 0 twice (through
# B then A, then A then B), check and restore again, and 'cofferd admin
# purge' gives the bytes back in the bucket while the repository stays
# whole.  Neither process answers 5xx, and both served requests.
. "$(dirname "$0")/lib.sh" "$@"

SRC=$T/src
start_cofferd A
start_cofferd B
c() { as dev "$COFFER" "$@"; }

log "init via A"
expect 0 new_account dev "$URL_A"
read -r NFILES _ < <(gen tree "$SRC" --seed 11 --files 250 --dirs 20 \
	--max 300000 --big 1:12000000)

log "backup via B, snapshots via A"
expect 0 c backup --repo "$URL_B" "$SRC"
grep -qE "^snapshot [0-9a-f]{8} saved: $NFILES files" "$T/out" ||
	{ show_io; fail "no summary line"; }
expect 0 c snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 1 ] || { show_io; fail "one snapshot expected via A"; }

log "two more backups, alternating"
gen modify "$SRC" --seed 2 --fraction 0.1 >/dev/null
expect 0 c backup --repo "$URL_A" "$SRC"
cp -a "$SRC" "$T/src2"
gen modify "$SRC" --seed 3 --fraction 0.1 >/dev/null
gen tree "$SRC/new" --seed 4 --files 40 --max 100000 >/dev/null
expect 0 c backup --repo "$URL_B" "$SRC"
expect 0 c snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 3 ] || { show_io; fail "three snapshots expected"; }
mapfile -t IDS < <(jget "$T/out" '"\n".join(s["id"] for s in d)')

log "restore via B bit for bit, check --read-data via A"
expect 0 c restore --repo "$URL_B" latest --target "$T/r1"
treecmp "$SRC" "$T/r1$SRC"
expect 0 c restore --repo "$URL_B" "${IDS[1]}" --target "$T/r2"
treecmp "$T/src2" "$T/r2$SRC"
expect 0 c check --read-data --repo "$URL_A"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "forget via B, prune --grace 0 via A"
expect 0 c forget --keep-last 2 --repo "$URL_B"
expect 0 c prune --grace 0 --max-unused 0 --repo "$URL_A"
expect 0 c snapshots --json --repo "$URL_B"
[ "$(jget "$T/out" 'len(d)')" = 2 ] || { show_io; fail "two snapshots expected"; }
expect 0 c check --read-data --repo "$URL_B"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "forget via A, prune --grace 0 via B"
expect 0 c forget --keep-last 1 --repo "$URL_A"
expect 0 c prune --grace 0 --max-unused 0 --repo "$URL_B"
expect 0 c snapshots --json --repo "$URL_A"
[ "$(jget "$T/out" 'len(d)')" = 1 ] || { show_io; fail "one snapshot expected"; }
expect 0 c check --read-data --repo "$URL_A"
has "$T/out" "(all data read): 0 errors, 0 warnings"

log "purge gives the bytes back; the repository stays whole"
DEL=$(sqlv "SELECT count(*) FROM objects WHERE deleted IS NOT NULL")
[ "$DEL" -ge 1 ] || fail "prune deleted nothing"
N0=$(s3 count "$BUCKET")
expect 0 admin purge --retention-days 0
has "$T/out" "purged $DEL objects"
N1=$(s3 count "$BUCKET")
[ "$N1" = $((N0 - DEL)) ] || fail "purge of $DEL objects: $N0 -> $N1 objects in the bucket"
[ "$N1" = "$(sqlv "SELECT count(*) FROM objects")" ] ||
	fail "$N1 objects in the bucket, $(sqlv "SELECT count(*) FROM objects") in the catalogue"
expect 0 c check --read-data --repo "$URL_B"
has "$T/out" "(all data read): 0 errors, 0 warnings"
expect 0 c restore --repo "$URL_A" latest --target "$T/r3"
treecmp "$SRC" "$T/r3$SRC"
log "objects $N0 -> $N1 in s3://$BUCKET; requests: A $(served A), B $(served B)"

no_5xx A B
[ "$(served A)" -gt 10 ] && [ "$(served B)" -gt 10 ] ||
	fail "both processes should have served requests"
stop_cofferd A || fail "cofferd A exit status"
stop_cofferd B || fail "cofferd B exit status"
