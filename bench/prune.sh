#!/usr/bin/env bash
# bench/prune.sh: coffer's forget + prune against restic's on the same
# history: time (wall) and peak memory (RSS).
#
# A source tree (default: the Linux source of Debian's linux-source
# package, ~78k files, 1.5 GB) is backed up 20 times by each tool, 1% of
# its files edited (a line inserted) before each backup after the first
# (the same edits for both).  Then each forgets all but the last 5 and
# reclaims the space:
#   coffer forget --keep-last 5 --prune --grace 0 --max-unused 5
#       (forgets, then plans: repacks the partly used packs, writes a plan)
#   coffer prune --grace 0 --max-unused 5
#       (carries the plan out: index rewritten, packs deleted)
#   restic forget --keep-last 5 --prune --max-unused 5%
#       (restic 0.14, repository version 2, its default compression)
# coffer's two runs are timed separately and summed (peak RSS: the larger).
# Every timed repetition starts from a copy of the same repositories and
# caches (made after the 20 backups); the median of BENCH_RUNS is kept.
# Measured with /usr/bin/time -f '%e %M'.  After run 1 both repositories
# are checked (coffer check, restic check), outside the timings.  Also
# reported: the repository sizes before and after, and how much each tool
# copied by repacking (both tools read --max-unused the same way: repack
# the emptiest packs until at most that share of the repository is unused).
#
# Environment (all optional):
#   BENCH_SRC        a directory or a tarball (default
#                    /usr/src/linux-source-*.tar.xz)
#   BENCH_BACKUPS=20 BENCH_KEEP_LAST=5 BENCH_CHANGE=0.01 BENCH_RUNS=3
#   BENCH_MAX_UNUSED=5   percent, for both tools
#   BENCH_PRUNE_WORK=/tmp/coffer-bench-prune   corpus, repositories, caches,
#                        logs (kept: BENCH_REUSE=1 times the prunes again)
#   BENCH_COFFER=PATH    the coffer to measure (default: a release build of
#                        this work tree in $BENCH_WORK/build)
#   BENCH_REUSE=1        keep the history made by an earlier run (same
#                        settings) and only time the prunes
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_PRUNE_WORK:-/tmp/coffer-bench-prune}
BACKUPS=${BENCH_BACKUPS:-20}
KEEP=${BENCH_KEEP_LAST:-5}
CHANGE=${BENCH_CHANGE:-0.01}
RUNS=${BENCH_RUNS:-3}
MAXU=${BENCH_MAX_UNUSED:-5}
REUSE=${BENCH_REUSE:-0}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SRC=$WORK/src
LOGS=$WORK/logs
START=$SECONDS
mkdir -p "$LOGS"

log() { printf '[%s +%4ds] %s\n' "$(date +%T)" $((SECONDS - START)) "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

command -v restic >/dev/null || die "restic is not installed (apt-get install restic)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
RESTIC_VERSION=$(restic version | awk '{print $2}')
case $RESTIC_VERSION in 0.1[4-9]*|0.[2-9]*) ;; *) die "restic >= 0.14 needed, not $RESTIC_VERSION" ;; esac

# ---------------------------------------------------------------- coffer --
if [ -n "${BENCH_COFFER:-}" ]; then
	COFFER=$(readlink -f "$BENCH_COFFER")
else
	log "building coffer (release) in $WORK/build"
	if [ ! -f "$WORK/build/build.ninja" ]; then
		meson setup "$WORK/build" "$ROOT" -Dbuildtype=release -Dwerror=false \
			>"$LOGS/meson.log" 2>&1 || die "meson setup (see $LOGS/meson.log)"
	fi
	ninja -C "$WORK/build" coffer >"$LOGS/ninja.log" 2>&1 || die "build (see $LOGS/ninja.log)"
	mkdir -p "$WORK/bin"
	cp "$WORK/build/coffer" "$WORK/bin/coffer"
	COFFER=$WORK/bin/coffer
fi
COFFER_VERSION=$("$COFFER" help 2>&1 | head -1 | awk '{print $2}' | tr -d :)

# ------------------------------------------------------------- history --
export COFFER_PASSWORD_FILE=$WORK/pw RESTIC_PASSWORD=bench-password
echo bench-password >"$WORK/pw"
C_REPO=$WORK/coffer-repo C_CACHE=$WORK/coffer-cache
R_REPO=$WORK/restic-repo R_CACHE=$WORK/restic-cache
STAMP="src=${BENCH_SRC:-default} backups=$BACKUPS change=$CHANGE"

mutate() { # mutate SEED: insert a line into CHANGE of the files
	python3 - "$SRC" "$1" "$CHANGE" <<'EOF'
import os, random, sys
root, seed, frac = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
files = []
for d, dirs, names in os.walk(root):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files.append(p)
r = random.Random(seed)
for p in r.sample(files, max(1, int(len(files) * frac))):
    with open(p, "rb") as f:
        b = f.read()
    cut = r.randrange(len(b) + 1)
    nl = b.find(b"\n", cut)
    cut = len(b) if nl < 0 else nl + 1
    line = ("/* edit %d of %s */\n" % (r.randrange(1 << 30), seed)).encode()
    st = os.stat(p)
    with open(p, "wb") as f:
        f.write(b[:cut] + line + b[cut:])
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1000000000))
print(len(files))
EOF
}

if [ "$REUSE" = 1 ] && [ -f "$WORK/history.stamp" ] &&
	[ "$(cat "$WORK/history.stamp")" = "$STAMP" ]; then
	log "reusing the history in $WORK"
else
	rm -rf "$SRC" "$WORK/pristine" "$WORK/history.stamp" "$C_REPO" "$C_CACHE" \
		"$R_REPO" "$R_CACHE"
	if [ -z "${BENCH_SRC:-}" ]; then
		BENCH_SRC=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1 || true)
		[ -n "$BENCH_SRC" ] || die "no /usr/src/linux-source-*.tar.xz (apt-get install linux-source); or set BENCH_SRC"
	fi
	mkdir -p "$SRC"
	if [ -d "$BENCH_SRC" ]; then
		log "corpus: copying $BENCH_SRC"
		cp -a "$BENCH_SRC/." "$SRC/"
	else
		log "corpus: unpacking $BENCH_SRC"
		tar -xf "$BENCH_SRC" -C "$SRC"
	fi
	NFILES=$(find "$SRC" -type f | wc -l)
	log "corpus: $NFILES files, $(du -sh "$SRC" | cut -f1)"
	"$COFFER" init --repo "$C_REPO" --quiet >"$LOGS/init.log" 2>&1 || die "coffer init"
	restic init --repo "$R_REPO" --repository-version 2 >>"$LOGS/init.log" 2>&1 || die "restic init"
	: >"$WORK/backups.tsv"
	for i in $(seq 1 "$BACKUPS"); do
		[ "$i" = 1 ] || mutate "$i" >/dev/null
		/usr/bin/time -f '%e %M' -o "$LOGS/t" "$COFFER" backup --repo "$C_REPO" \
			--cache-dir "$C_CACHE" --quiet "$SRC" >"$LOGS/cb.log" 2>&1 ||
			die "coffer backup $i (see $LOGS/cb.log)"
		ct=$(cat "$LOGS/t")
		/usr/bin/time -f '%e %M' -o "$LOGS/t" restic backup --repo "$R_REPO" \
			--cache-dir "$R_CACHE" --host bench --quiet "$SRC" >"$LOGS/rb.log" 2>&1 ||
			die "restic backup $i (see $LOGS/rb.log)"
		rt=$(cat "$LOGS/t")
		printf '%d\t%s\t%s\n' "$i" "$ct" "$rt" >>"$WORK/backups.tsv"
		log "backup $i/$BACKUPS: coffer $ct, restic $rt (s, KiB)"
	done
	log "pristine copies of the repositories and caches"
	mkdir -p "$WORK/pristine"
	for d in "$C_REPO" "$C_CACHE" "$R_REPO" "$R_CACHE"; do
		cp -a "$d" "$WORK/pristine/"
	done
	echo "$STAMP" >"$WORK/history.stamp"
fi

# -------------------------------------------------------------- prunes --
fresh() { # back to the state after the backups
	local d
	for d in "$C_REPO" "$C_CACHE" "$R_REPO" "$R_CACHE"; do
		rm -rf "$d"
		cp -a "$WORK/pristine/$(basename "$d")" "$d"
	done
	sync
	sleep 2
}
timed() { # timed OUTFILE CMD...: "wall rss" into OUTFILE, output in OUTFILE.log
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$out" "$@" >"$out.log" 2>&1 ||
		{ cat "$out.log" >>"$LOGS/prune.log"; die "$* failed (see $LOGS/prune.log)"; }
	cat "$out.log" >>"$LOGS/prune.log"
}
size() { du -sb "$1" | cut -f1; }
nsnap_c() { "$COFFER" snapshots --repo "$C_REPO" --cache-dir "$C_CACHE" --json |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
nsnap_r() { restic snapshots --repo "$R_REPO" --cache-dir "$R_CACHE" --json --no-lock |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

C_BEFORE=$(size "$WORK/pristine/$(basename "$C_REPO")")
R_BEFORE=$(size "$WORK/pristine/$(basename "$R_REPO")")
: >"$WORK/prunes.tsv"
for run in $(seq 1 "$RUNS"); do
	fresh
	log "run $run/$RUNS: coffer forget --keep-last $KEEP --prune --grace 0"
	echo "== run $run" >>"$LOGS/prune.log"
	timed "$LOGS/c1" "$COFFER" forget --repo "$C_REPO" --cache-dir "$C_CACHE" \
		--keep-last "$KEEP" --prune --grace 0 --max-unused "$MAXU" --json
	log "run $run/$RUNS: coffer prune --grace 0"
	timed "$LOGS/c2" "$COFFER" prune --repo "$C_REPO" --cache-dir "$C_CACHE" \
		--grace 0 --max-unused "$MAXU" --json
	C_AFTER=$(size "$C_REPO")
	log "run $run/$RUNS: restic forget --keep-last $KEEP --prune"
	timed "$LOGS/r1" restic forget --repo "$R_REPO" --cache-dir "$R_CACHE" \
		--keep-last "$KEEP" --prune --max-unused "$MAXU%"
	R_AFTER=$(size "$R_REPO")
	# bytes copied by repacking: coffer's JSON; restic's "to repack" line
	CREP=$(tail -n1 "$LOGS/c1.log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["repacked_bytes"])')
	RREP=$(python3 - "$LOGS/r1.log" <<'EOF'
import re, sys
m = re.search(r"to repack:\s+\d+ blobs / ([0-9.]+) (\w+)", open(sys.argv[1]).read())
u = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
print(int(float(m.group(1)) * u[m.group(2)]) if m else -1)
EOF
)
	printf '%s\t%s\t%s\t%s\t%s\n' "$run" "$(cat "$LOGS/c1")" "$(cat "$LOGS/c2")" \
		"$(cat "$LOGS/r1")" "$C_AFTER $R_AFTER $CREP $RREP" | tr ' ' '\t' >>"$WORK/prunes.tsv"
	log "run $run: coffer $(cat "$LOGS/c1") + $(cat "$LOGS/c2"), restic $(cat "$LOGS/r1") (s KiB)"
	if [ "$run" = 1 ]; then
		log "checking both repositories (not timed)"
		[ "$(nsnap_c)" = "$KEEP" ] || die "coffer kept $(nsnap_c) snapshots"
		[ "$(nsnap_r)" = "$KEEP" ] || die "restic kept $(nsnap_r) snapshots"
		"$COFFER" check --repo "$C_REPO" --cache-dir "$C_CACHE" >"$LOGS/ccheck.log" 2>&1 ||
			die "coffer check failed after prune (see $LOGS/ccheck.log)"
		restic check --repo "$R_REPO" --cache-dir "$R_CACHE" >"$LOGS/rcheck.log" 2>&1 ||
			die "restic check failed after prune (see $LOGS/rcheck.log)"
	fi
done

# -------------------------------------------------------------- report --
python3 - "$WORK/prunes.tsv" "$WORK/backups.tsv" "$C_BEFORE" "$R_BEFORE" \
	"$COFFER_VERSION" "$RESTIC_VERSION" "$BACKUPS" "$KEEP" "$CHANGE" "$MAXU" \
	"$(find "$SRC" -type f | wc -l)" "$(du -sb "$SRC" | cut -f1)" "$(nproc)" <<'EOF' | tee "$WORK/results.md"
import statistics as st, sys
(tsv, btsv, cb, rb, cv, rv, nb, keep, change, maxu, nfiles, sbytes,
 ncpu) = sys.argv[1:]
rows = [l.split("\t") for l in open(tsv).read().splitlines() if l]
# run, c1 wall, c1 rss, c2 wall, c2 rss, r wall, r rss, c after, r after
med = lambda k: st.median(float(r[k]) for r in rows)
c1t, c1m, c2t, c2m, rt, rm = (med(k) for k in range(1, 7))
ct = st.median(float(r[1]) + float(r[3]) for r in rows)
cm = st.median(max(float(r[2]), float(r[4])) for r in rows)
ca, ra = int(rows[0][7]), int(rows[0][8])
crep, rrep = int(rows[0][9]), int(rows[0][10])
M = lambda kib: "%.0f" % (kib / 1024)
G = lambda b: "%.2f GiB" % (int(b) / 2**30) if int(b) >= 2**30 else "%.0f MiB" % (int(b) / 2**20)
b = [l.split("\t") for l in open(btsv).read().splitlines() if l] if btsv else []
print("## prune: coffer %s vs restic %s" % (cv, rv))
print()
print("%s files (%s), %s backups, %.0f%% of the files edited before each; "
      "forget all but the last %s; max-unused %s%% for both; median of %d "
      "runs; %s CPUs" % (nfiles, G(sbytes), nb, float(change) * 100, keep,
                         maxu, len(rows), ncpu))
print()
print("| step | wall s | peak RSS MiB |")
print("|---|---:|---:|")
print("| coffer forget --keep-last %s --prune --grace 0 (forget, plan) | %.2f | %s |" % (keep, c1t, M(c1m)))
print("| coffer prune --grace 0 (carry out the plan) | %.2f | %s |" % (c2t, M(c2m)))
print("| **coffer, both runs** | **%.2f** | **%s** |" % (ct, M(cm)))
print("| **restic forget --keep-last %s --prune** | **%.2f** | **%s** |" % (keep, rt, M(rm)))
print("| restic / coffer | %.2fx | %.2fx |" % (rt / ct, rm / cm))
print()
print("| repository | before | after | copied by repacking |")
print("|---|---:|---:|---:|")
print("| coffer | %s | %s | %s |" % (G(cb), G(ca), G(crep)))
print("| restic | %s | %s | %s |" % (G(rb), G(ra), G(rrep) if rrep >= 0 else "?"))
print()
print("(both read --max-unused for the whole repository: the emptiest packs "
      "are repacked until the unused share is below it)")
if b:
    cbt = [float(x[1].split()[0]) for x in b]; rbt = [float(x[2].split()[0]) for x in b]
    print()
    print("backups (for scale): first coffer %.1f s / restic %.1f s; later ones median coffer %.1f s / restic %.1f s" % (
        cbt[0], rbt[0], st.median(cbt[1:] or cbt), st.median(rbt[1:] or rbt)))
EOF
log "done: $WORK/results.md"
