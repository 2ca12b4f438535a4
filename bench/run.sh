#!/usr/bin/env bash
# bench/run.sh: coffer vs restic vs borg on the same data, in one run.
# See bench/README.md for what is measured and why.  Run from anywhere:
#   bash bench/run.sh
# Environment (all optional):
#   BENCH_RUNS=3          timed repetitions of every step (the median is kept)
#   BENCH_SRC=...         source tree: a directory or a tarball (default: the
#                         /usr/src/linux-source-*.tar.xz of Debian's
#                         linux-source package, installed if missing)
#   BENCH_MEDIA_MIB=2048  size of the incompressible media corpus
#   BENCH_SEED=20240601   seed of the media corpus
#   BENCH_TOOLS="coffer restic borg"
#   BENCH_WORK=bench/work work folder (corpus, repositories, restores)
#   BENCH_KEEP=0          1: keep the work folder's bulk on success
#   BENCH_SETTLE=15       seconds to wait (after sync) before each restore
#   BENCH_QUIET_WAIT=10   wait up to this long for an idle machine per step
#   BENCH_NICE=0          e.g. -10: run the timed commands at a higher priority
#                         (on a shared machine; slows everyone else down)
#   BENCH_VERIFY=1        diff every restore of run 1 against the source
#   BENCH_PERF=1          one extra profiled coffer pass (perf record)
#   BENCH_STEP_TIMEOUT=3600  seconds before a step is killed
#   BENCH_BUILD_FROM=worktree  coffer to measure: the work tree as it is
#                         (built in build-bench/), or a git revision (e.g.
#                         HEAD: exported with git archive and built under
#                         the work folder, unaffected by uncommitted edits)
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
WORK=${BENCH_WORK:-$BENCH/work}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
RUNS=${BENCH_RUNS:-3}
MEDIA_MIB=${BENCH_MEDIA_MIB:-2048}
SEED=${BENCH_SEED:-20240601}
TOOLS=${BENCH_TOOLS:-"coffer restic borg"}
KEEP=${BENCH_KEEP:-0}
SETTLE=${BENCH_SETTLE:-15}
QUIET_WAIT=${BENCH_QUIET_WAIT:-10}
NICE=${BENCH_NICE:-0}
VERIFY=${BENCH_VERIFY:-1}
PERF=${BENCH_PERF:-1}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-3600}
BUILD_FROM=${BENCH_BUILD_FROM:-worktree}
DATA=$WORK/data
LOGS=$WORK/logs
RAW=$WORK/raw.tsv
RESULTS=$WORK/results.md
CLK=$(getconf CLK_TCK)
START=$SECONDS

mkdir -p "$LOGS"
: >"$WORK/log.txt"

log() { printf '[%s +%4ds] %s\n' "$(date +%T)" $((SECONDS - START)) "$*" | tee -a "$WORK/log.txt" >&2; }
die() { log "FATAL: $*"; exit 1; }

ok=0
on_exit() {
	local rc=$?
	if [ "$ok" != 1 ]; then
		log "benchmark FAILED (exit $rc); everything kept under $WORK"
		return
	fi
	if [ "$KEEP" = 1 ]; then
		log "BENCH_KEEP=1: work folder kept: $WORK"
	else
		log "cleaning up the bulk of $WORK (results.md, raw.tsv, logs kept)"
		rm -rf "$DATA" "$WORK/repos" "$WORK/caches" "$WORK/restore" \
		    "$WORK/orig.tar" "$WORK/perf" "$WORK/corpus.stamp" "$WORK/coffer-src"
	fi
}
trap on_exit EXIT

# ---------------------------------------------------------------- setup --
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

need() { # need COMMAND DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$IS_ROOT" = 1 ] || die "$1 missing (Debian package $2); install it"
	log "installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >>"$LOGS/apt.log" 2>&1 ||
		{ apt-get update -q >>"$LOGS/apt.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >>"$LOGS/apt.log" 2>&1; } ||
		die "cannot install $2 (see $LOGS/apt.log)"
}
[ -x /usr/bin/time ] || need /usr/bin/time time
need meson meson
need ninja ninja-build
need cc gcc
need pkg-config pkg-config
for t in $TOOLS; do
	case $t in
	restic) need restic restic ;;
	borg) need borg borgbackup ;;
	coffer) ;;
	*) die "unknown tool $t" ;;
	esac
done
for h in sodium.h zstd.h sqlite3.h; do
	echo "#include <$h>" | cc -E - >/dev/null 2>&1 || need "/nonexistent/$h" \
	    "$(case $h in sodium.h) echo libsodium-dev ;; zstd.h) echo libzstd-dev ;; *) echo libsqlite3-dev ;; esac)"
done
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null 2>&1; then
	log "perf not found: skipping the profiled pass (apt-get install linux-perf)"
	PERF=0
fi

if [ "$BUILD_FROM" = worktree ]; then
	SRCROOT=$ROOT
	COFFER_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	if [ -n "$(git -C "$ROOT" status --porcelain -- lib cmd meson.build meson_options.txt 2>/dev/null)" ]; then
		COFFER_REV="$COFFER_REV + uncommitted changes in the work tree"
	fi
else
	SRCROOT=$WORK/coffer-src
	COFFER_REV=$(git -C "$ROOT" rev-parse --short "$BUILD_FROM") || die "no revision $BUILD_FROM"
	rm -rf "$SRCROOT"
	mkdir -p "$SRCROOT"
	git -C "$ROOT" archive "$COFFER_REV" | tar -x -C "$SRCROOT"
fi
BUILD=$SRCROOT/build-bench
COFFER=$BUILD/coffer
log "building coffer $COFFER_REV (release, warnings not fatal) in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$SRCROOT" --buildtype=release -Dwerror=false >"$LOGS/meson.log" 2>&1 ||
		die "meson setup failed (see $LOGS/meson.log)"
else
	meson configure "$BUILD" -Dbuildtype=release -Dwerror=false >"$LOGS/meson.log" 2>&1 ||
		die "meson configure failed (see $LOGS/meson.log)"
fi
ninja -C "$BUILD" coffer >"$LOGS/ninja.log" 2>&1 || die "build failed (see $LOGS/ninja.log)"
if grep -q 'warning:' "$LOGS/ninja.log"; then
	log "the build printed warnings (fatal in the project's own builds): see $LOGS/ninja.log"
	grep 'warning:' "$LOGS/ninja.log" | sort -u | head -n 5 >&2 || true
fi
# libcoffer.a is a thin archive: it needs the object files next to it.
cc -O2 -I"$SRCROOT/lib" -o "$WORK/primitives" "$BENCH/primitives.c" \
    "$BUILD/libcoffer.a" -lsodium -lzstd || die "cannot build primitives.c"
cc -O2 -o "$WORK/mkmedia" "$BENCH/mkmedia.c" -lsodium || die "cannot build mkmedia.c"
cc -O2 -o "$WORK/memprobe" "$BENCH/memprobe.c" || die "cannot build memprobe.c"

# --------------------------------------------------------------- corpus --
if [ -z "${BENCH_SRC:-}" ]; then
	BENCH_SRC=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | head -n1 || true)
	if [ -z "$BENCH_SRC" ]; then
		[ "$IS_ROOT" = 1 ] || die "no /usr/src/linux-source-*.tar.xz; set BENCH_SRC"
		apt-get update -q >>"$LOGS/apt.log" 2>&1 || true
		pkg=$(apt-cache search --names-only '^linux-source-[0-9.]+$' | awk '{print $1}' | sort -V | head -n1)
		[ -n "$pkg" ] || die "no linux-source package offered by apt; set BENCH_SRC"
		log "installing $pkg (the source-tree corpus)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" \
		    >>"$LOGS/apt.log" 2>&1 || die "cannot install $pkg"
		BENCH_SRC=$(ls -1 /usr/src/linux-source-*.tar.xz | sort -V | head -n1)
	fi
fi
[ -e "$BENCH_SRC" ] || die "BENCH_SRC=$BENCH_SRC does not exist"
STAMP="src=$BENCH_SRC media=$MEDIA_MIB seed=$SEED"
if [ -f "$WORK/corpus.stamp" ] && [ "$(cat "$WORK/corpus.stamp")" = "$STAMP" ] && [ -d "$DATA" ]; then
	log "reusing the corpus in $DATA ($STAMP)"
else
	rm -rf "$DATA" "$WORK/corpus.stamp"
	mkdir -p "$DATA/src"
	log "corpus (a): unpacking $BENCH_SRC"
	if [ -d "$BENCH_SRC" ]; then
		cp -a "$BENCH_SRC" "$DATA/src/"
	else
		tar -xf "$BENCH_SRC" -C "$DATA/src"
	fi
	log "corpus (b): ${MEDIA_MIB} MiB of random media files, 1-30 MiB, seed $SEED"
	"$WORK/mkmedia" "$DATA/media" "$MEDIA_MIB" "$SEED" >"$LOGS/mkmedia.log"
	sync
	echo "$STAMP" >"$WORK/corpus.stamp"
fi
# 1% of the files, chosen deterministically: every 100th in byte order.
find "$DATA" -type f | sort | awk 'NR % 100 == 50' >"$WORK/mutate.list"
tr '\n' '\0' <"$WORK/mutate.list" >"$WORK/mutate.list0"
NFILES=$(find "$DATA" -type f | wc -l)
NDIRS=$(find "$DATA" -type d | wc -l)
NLINKS=$(find "$DATA" -type l | wc -l)
SRC_BYTES=$(find "$DATA/src" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}')
SRC_FILES=$(find "$DATA/src" -type f | wc -l)
SRC_BIG=$(find "$DATA/src" -type f -size +512k -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}')
MEDIA_BYTES=$(find "$DATA/media" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}')
MEDIA_FILES=$(find "$DATA/media" -type f | wc -l)
NMUT=$(wc -l <"$WORK/mutate.list")
log "corpus: $NFILES files ($SRC_FILES source, $MEDIA_FILES media), $NDIRS folders, $NLINKS symlinks; source $SRC_BYTES B, media $MEDIA_BYTES B; $NMUT files to change"

log "primitives (single core)"
# a sample spread over the tree: every 6th file first, then the others
find "$DATA/src" -type f | sort >"$WORK/src.list"
{ awk 'NR % 6 == 1' "$WORK/src.list"; awk 'NR % 6 != 1' "$WORK/src.list"; } | tr '\n' '\0' >"$WORK/sample.list0"
"$WORK/primitives" 1.0 <"$WORK/sample.list0" >"$WORK/primitives.txt" 2>"$LOGS/primitives.err" ||
	die "primitives failed"
cat "$WORK/primitives.txt" >&2

# -------------------------------------------------------------- helpers --
printf 'bench-password-%s\n' "$SEED" >"$WORK/password"
chmod 600 "$WORK/password"
export COFFER_PASSWORD_FILE=$WORK/password RESTIC_PASSWORD_FILE=$WORK/password
BORG_PASSPHRASE=$(cat "$WORK/password")
export BORG_PASSPHRASE BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_DISPLAY_PASSPHRASE=no
export RESTIC_PROGRESS_FPS=0.1

cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# Wait (at most QUIET_WAIT s) until the rest of the machine is idle: this
# machine may be shared; what other processes used during a step is
# recorded anyway (column other_cpu).
wait_quiet() {
	local t0=$SECONDS b0 b1
	while :; do
		b0=$(cpu_busy); sleep 2; b1=$(cpu_busy)
		if [ $((b1 - b0)) -le $((2 * CLK / 5)) ]; then return 0; fi
		if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
			log "  machine busy ($(awk -v j=$((b1 - b0)) -v c="$CLK" 'BEGIN {printf "%.1f", j / c / 2}') cores used by others); going on"
			return 0
		fi
	done
}

drop_caches() {
	sync
	if [ "$IS_ROOT" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

warm() { # read everything under the given paths into the page cache
	local p
	for p in "$@"; do
		[ -e "$p" ] && find "$p" -type f -print0 | xargs -0 -r cat >/dev/null
	done
	return 0
}

# measure RUN TOOL STEP REPO -- COMMAND...: one timed step -> raw.tsv
measure() {
	local run=$1 tool=$2 step=$3 repo=$4 rc=0 b0 b1 wall usr sys rss size other probe
	shift 5
	local tf=$LOGS/$tool.$step.$run.time lf=$LOGS/$tool.$step.$run.log
	wait_quiet
	b0=$(cpu_busy)
	local pre=()
	[ "$NICE" != 0 ] && pre=(nice -n "$NICE")
	timeout -k 10 "$STEP_TIMEOUT" "${pre[@]}" /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$lf" 2>&1 || rc=$?
	b1=$(cpu_busy)
	# how slow fresh memory was just then (memprobe.c): not timed
	probe=$("$WORK/memprobe" 2>/dev/null || true)
	if [ "$rc" != 0 ] && ! { [ "$tool" = borg ] && [ "$rc" = 1 ]; }; then
		log "$tool $step (run $run) FAILED with exit $rc: $*"
		tail -n 30 "$lf" >&2
		die "$tool $step failed"
	fi
	[ "$rc" = 0 ] || log "  $tool $step exited $rc (borg warning; see $lf)"
	read -r wall usr sys rss < <(tail -n 1 "$tf")
	size=0
	[ "$repo" != - ] && size=$(du -sb "$repo" | cut -f1)
	other=$(awk -v j=$((b1 - b0)) -v c="$CLK" -v u="$usr" -v s="$sys" \
	    'BEGIN {o = j / c - u - s; if (o < 0) o = 0; printf "%.2f", o}')
	printf '%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\n' "$run" "$tool" "$step" "$wall" \
	    "$(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')" "$rss" "$size" "$other" "$probe" >>"$RAW"
	log "  $tool $step run $run: ${wall}s wall, ${usr}+${sys}s CPU, ${rss} KiB RSS, repo ${size} B, others ${other} CPU-s, 64 MiB fault-in after: ${probe} ms"
}

repo_of() { echo "$WORK/repos/$1"; }
cache_of() { echo "$WORK/caches/$1-$2"; } # tool, generation

# tool_cmd TOOL ACTION CACHE [ARGS]: the command line of one action
tool_cmd() {
	local tool=$1 action=$2 cache=$3 repo
	repo=$(repo_of "$tool")
	shift 3
	case $tool.$action in
	coffer.init) echo "$COFFER" init --repo "$repo" --cache-dir "$cache" ;;
	coffer.backup) echo "$COFFER" backup --repo "$repo" --cache-dir "$cache" --json "$DATA" ;;
	coffer.restore) echo "$COFFER" restore --repo "$repo" --cache-dir "$cache" latest --target "$1" ;;
	coffer.list) echo "$COFFER" snapshots --repo "$repo" --cache-dir "$cache" --json ;;
	coffer.check) echo "$COFFER" check --repo "$repo" --cache-dir "$cache" ;;
	restic.init) echo restic init --repo "$repo" --cache-dir "$cache" --repository-version 2 ;;
	restic.backup) echo restic backup --repo "$repo" --cache-dir "$cache" --compression auto "$DATA" ;;
	restic.restore) echo restic restore --repo "$repo" --cache-dir "$cache" latest --target "$1" ;;
	restic.list) echo restic snapshots --repo "$repo" --cache-dir "$cache" ;;
	restic.check) echo restic check --repo "$repo" --cache-dir "$cache" ;;
	borg.init) echo env BORG_BASE_DIR="$cache" borg init -e repokey-blake2 "$repo" ;;
	borg.backup) echo env BORG_BASE_DIR="$cache" borg create --stats "$repo::$1" "$DATA" ;;
	borg.restore) echo env -C "$1" BORG_BASE_DIR="$cache" borg extract "$repo::$2" ;;
	borg.list) echo env BORG_BASE_DIR="$cache" borg list "$repo" ;;
	borg.check) echo env BORG_BASE_DIR="$cache" borg check "$repo" ;;
	esac
}
# (paths in this benchmark contain no spaces: word splitting is safe)
case "$WORK$ROOT" in *[[:space:]]*) die "the work path must not contain spaces" ;; esac

mutate() { # change 1% of the files: odd lines append, even lines overwrite
	local i=0 f sz off
	tar -cPf "$WORK/orig.tar" --null -T "$WORK/mutate.list0"
	head -c 4096 "$DATA/media/album-00/clip-0000.bin" >"$WORK/patch.bin"
	while IFS= read -r f; do
		i=$((i + 1))
		if [ $((i % 2)) = 1 ]; then
			printf 'coffer-bench: appended line %d\n' "$i" >>"$f"
		else
			sz=$(stat -c %s "$f")
			off=$((sz / 2))
			dd if="$WORK/patch.bin" of="$f" bs=4096 count=1 \
			    seek="$off" oflag=seek_bytes conv=notrunc status=none
		fi
		touch "$f"
	done <"$WORK/mutate.list"
	sync
}
unmutate() { tar -xPpf "$WORK/orig.tar"; rm -f "$WORK/orig.tar"; sync; }

RESTORE_FLOOR="cp -a"
restore_step() { # restore_step RUN WHO: WHO is floor, floor-last or a tool
	local run=$1 who=$2 t=$WORK/restore/$2-$1 cache
	mkdir -p "$t"
	sync
	sleep "$SETTLE"
	drop_caches
	sleep 2
	if [ "$who" = floor ] || [ "$who" = floor-last ]; then
		warm "$DATA"
		measure "$run" floor restore - -- cp -a "$DATA" "$t/"
	else
		cache=$(cache_of "$who" "restore$run")
		rm -rf "$cache"
		warm "$(repo_of "$who")"
		# shellcheck disable=SC2046
		measure "$run" "$who" restore - -- $(tool_cmd "$who" restore "$cache" "$t" b3)
	fi
	sync
}

verify_restore() { # verify_restore WHO TARGETROOT
	local src=$DATA dst
	if [ "$1" = floor ]; then dst=$2/data; else dst=$2$DATA; fi
	if diff -r --no-dereference "$src" "$dst" >"$LOGS/verify.$1.log" 2>&1; then
		log "  verified: $1's restore equals the source"
	else
		log "  $1's restore DIFFERS from the source (see $LOGS/verify.$1.log):"
		head -n 5 "$LOGS/verify.$1.log" >&2
		echo "$1" >>"$WORK/verify.failed"
	fi
}

# ------------------------------------------------------------------ runs --
: >"$RAW"
rm -f "$WORK/verify.failed"
log "$RUNS run(s) of: $TOOLS; page cache warm for every input; settle ${SETTLE}s + drop_caches before restores"
for run in $(seq 1 "$RUNS"); do
	log "=== run $run of $RUNS"
	rm -rf "$WORK/repos" "$WORK/caches" "$WORK/restore"
	mkdir -p "$WORK/repos" "$WORK/caches" "$WORK/restore"
	for tool in $TOOLS; do
		# shellcheck disable=SC2046
		$(tool_cmd "$tool" init "$(cache_of "$tool" "$run")") >"$LOGS/$tool.init.$run.log" 2>&1 ||
			{ cat "$LOGS/$tool.init.$run.log" >&2; die "$tool init failed"; }
	done

	log "initial backup (fresh repository, fresh cache, warm page cache)"
	warm "$DATA"
	measure "$run" floor backup_initial - -- sh -c 'find "$1" -type f -print0 | xargs -0 cat >/dev/null' sh "$DATA"
	for tool in $TOOLS; do
		sync; warm "$DATA"
		# shellcheck disable=SC2046
		measure "$run" "$tool" backup_initial "$(repo_of "$tool")" -- \
		    $(tool_cmd "$tool" backup "$(cache_of "$tool" "$run")" b1)
	done

	log "unchanged re-backup (same cache)"
	measure "$run" floor backup_unchanged - -- find "$DATA" -fprintf /dev/null '%s %T@\n'
	for tool in $TOOLS; do
		sync; warm "$DATA" "$(cache_of "$tool" "$run")" "$(repo_of "$tool")"
		# shellcheck disable=SC2046
		measure "$run" "$tool" backup_unchanged "$(repo_of "$tool")" -- \
		    $(tool_cmd "$tool" backup "$(cache_of "$tool" "$run")" b2)
	done

	log "re-backup after changing $NMUT files (1%)"
	mutate
	warm "$DATA"
	measure "$run" floor backup_1pct - -- sh -c 'find "$1" -printf "%s %T@\n" >/dev/null && xargs -0 cat <"$2" >/dev/null' sh "$DATA" "$WORK/mutate.list0"
	for tool in $TOOLS; do
		sync; warm "$DATA" "$(cache_of "$tool" "$run")" "$(repo_of "$tool")"
		# shellcheck disable=SC2046
		measure "$run" "$tool" backup_1pct "$(repo_of "$tool")" -- \
		    $(tool_cmd "$tool" backup "$(cache_of "$tool" "$run")" b3)
	done

	log "list snapshots (fixed cost of opening the repository; cache warm)"
	for tool in $TOOLS; do
		# shellcheck disable=SC2046
		measure "$run" "$tool" list - -- $(tool_cmd "$tool" list "$(cache_of "$tool" "$run")")
	done
	if [ "$run" = 1 ]; then
		for tool in $TOOLS; do
			# shellcheck disable=SC2046
			if $(tool_cmd "$tool" check "$(cache_of "$tool" "$run")") >"$LOGS/$tool.check.log" 2>&1; then
				log "  $tool check: ok"
			else
				log "  $tool check FAILED (see $LOGS/$tool.check.log)"
				echo "$tool-check" >>"$WORK/verify.failed"
			fi
		done
	fi

	log "full restore of the last snapshot (fresh folder and cache; settle, drop caches, warm repository)"
	# cp -a is timed first and again last: the first folder created after
	# a mass deletion can pay for it (ext4 skips recently freed inodes), so
	# the floor is the median of both (with one run: the faster of the two).
	for who in floor $TOOLS floor-last; do
		restore_step "$run" "$who"
		if [ "$run" = 1 ] && [ "$VERIFY" = 1 ] && [ "$who" != floor-last ]; then
			verify_restore "$who" "$WORK/restore/$who-$run"
		fi
	done
	log "cleaning run $run"
	t0=$SECONDS
	rm -rf "$WORK/restore" "$WORK/caches" "$WORK/repos"
	unmutate
	sync
	log "  cleaned in $((SECONDS - t0)) s"
done

# ------------------------------------------------------------ perf pass --
if [ "$PERF" = 1 ] && [[ " $TOOLS " == *" coffer "* ]]; then
	log "=== profiled coffer pass (perf record -F 299 --call-graph dwarf, not timed)"
	P=$WORK/perf
	rm -rf "$P" "$WORK/repos" "$WORK/caches"
	mkdir -p "$P" "$WORK/repos" "$WORK/caches/coffer-perf" "$WORK/restore/perf"
	prof() { # prof NAME COMMAND...: profile with DWARF call graphs
		local name=$1 total
		shift
		perf record -q -F 299 --call-graph dwarf,8192 -o "$P/$name.data" -- "$@" \
		    >"$LOGS/perf.$name.log" 2>&1 || die "profiled $name failed (see $LOGS/perf.$name.log)"
		# cpu-clock samples: the period is in ns, so their sum is the CPU time
		total=$(perf report -q -i "$P/$name.data" --no-children --stdio -g none -F period,dso 2>/dev/null |
		    awk '{s += $1} END {printf "%.2f", s / 1e9}')
		{
			echo "CPU time sampled: $total s"
			echo "self time by DSO:"
			perf report -q -i "$P/$name.data" --no-children --sort dso --stdio -g none 2>/dev/null |
			    awk -v t="$total" '$1 ~ /%$/ {p = $1; sub(/%/, "", p); if (++n <= 10) printf "  %6.2f s %7s  %s\n", t * p / 100, $1, $2}'
			echo "inclusive time (children) by function: named user-space symbols, kernel syscall entries:"
			perf report -q -i "$P/$name.data" --children --sort sym --stdio -g none 2>/dev/null |
			    awk -v t="$total" '$1 ~ /%$/ && $4 !~ /^0x/ && $4 !~ /^(clone3|start_thread|__libc_start|_start$|main$)/ &&
			    ($3 == "[.]" || $4 ~ /^(__x64_sys_|ksys_|asm_exc_page_fault)/) && !seen[$4]++ && ++n <= 45 {
				p = $1; sub(/%/, "", p); printf "  %6.2f s %7s  %s %s\n", t * p / 100, $1, $3, $4 }'
		} >"$WORK/perf-$name.txt"
		rm -f "$P/$name.data"
	}
	C=$(cache_of coffer perf)
	# shellcheck disable=SC2046
	$(tool_cmd coffer init "$C") >"$LOGS/perf.init.log" 2>&1 || die "coffer init failed"
	warm "$DATA"
	# shellcheck disable=SC2046
	prof backup_initial $(tool_cmd coffer backup "$C")
	# shellcheck disable=SC2046
	prof backup_unchanged $(tool_cmd coffer backup "$C")
	mutate
	warm "$DATA"
	# shellcheck disable=SC2046
	prof backup_1pct $(tool_cmd coffer backup "$C")
	sync; sleep "$SETTLE"; drop_caches; warm "$(repo_of coffer)"
	# shellcheck disable=SC2046
	prof restore $(tool_cmd coffer restore "$WORK/caches/coffer-perf-restore" "$WORK/restore/perf")
	rm -rf "$WORK/restore" "$WORK/repos" "$WORK/caches" "$P"
	unmutate
fi

# --------------------------------------------------------------- report --
log "writing $RESULTS"
{
	echo "# coffer vs restic vs borg"
	echo
	echo "Generated by \`bash bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); coffer $COFFER_REV (BENCH_BUILD_FROM=$BUILD_FROM)"
	echo "($("$COFFER" --version 2>/dev/null | head -n1 || echo coffer)), $(restic version 2>/dev/null | cut -d' ' -f1-2 || true), $(borg --version 2>/dev/null || true)."
	echo "Machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -r), filesystem $(df -T "$WORK" | awk 'NR == 2 {print $2}')."
	echo
	echo "Corpus: $NFILES files in $NDIRS folders ($NLINKS symlinks): source tree $(basename "$BENCH_SRC")"
	echo "($SRC_FILES files, $(awk -v b="$SRC_BYTES" 'BEGIN {printf "%.1f MiB", b / 1048576}'))"
	echo "plus $MEDIA_FILES random media files of 1-30 MiB ($(awk -v b="$MEDIA_BYTES" 'BEGIN {printf "%.1f MiB", b / 1048576}'), seed $SEED)."
	echo "The 1% step changes $NMUT files (every 100th in byte order: half get a line appended, half 4 KiB overwritten in the middle; mtime touched)."
	echo
	echo "Medians of $RUNS run(s). Conditions: page cache warm for every input (corpus read once before"
	echo "each backup; repository read once before each restore); each tool's own cache fresh for the"
	echo "initial backup and for the restore, kept for the re-backups (coffer --cache-dir, restic"
	echo "--cache-dir, borg BORG_BASE_DIR). Before every restore and the cp -a floor: sync, ${SETTLE}s wait,"
	echo "drop_caches$([ "$IS_ROOT" = 1 ] || echo ' (SKIPPED: not root)'), then the input is read back; restores are timed without a final sync."
	echo "cp -a is timed before and after the tools' restores; the floor is the median of all its times."
	echo "restic: repository version 2, --compression auto; borg: repokey-blake2, default compression (lz4)."
	echo "coffer: default KDF, default threads (one per core).$([ "$NICE" != 0 ] && echo " Timed commands ran under nice -n $NICE.")"
	echo "CPU = user + sys seconds of the process and its children; RSS = peak resident set (KiB -> MiB)."
	echo "'others' = CPU-seconds the rest of the machine (other processes, kernel threads such as writeback)"
	echo "used during the step: non-zero values mean the wall time may be inflated."
	echo "'64 MiB fault-in after' = ms to map and touch 64 MiB of fresh memory just after the step"
	echo "(bench/memprobe.c): 15-20 ms on a quiet machine; more means fresh memory was slow then."
	echo
	awk -F'\t' -v tools="$TOOLS" '
	function median(key,   n, a, i, j, t) {
		n = split(vals[key], a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v, m) {
		if (v == "") return "-"
		if (m == "rss" || m == "repo" || m == "probe") return sprintf("%.0f", v)
		if (v >= 100) return sprintf("%.0f", v)
		if (v >= 10) return sprintf("%.1f", v)
		return sprintf("%.2f", v)
	}
	function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
	{
		# run tool step wall cpu rss_kib repo_bytes other
		k = $2 SUBSEP $3
		vals[k SUBSEP "wall"] = vals[k SUBSEP "wall"] " " $4
		vals[k SUBSEP "cpu"] = vals[k SUBSEP "cpu"] " " $5
		vals[k SUBSEP "rss"] = vals[k SUBSEP "rss"] " " ($6 / 1024)
		if ($7 > 0) vals[k SUBSEP "repo"] = vals[k SUBSEP "repo"] " " ($7 / 1048576)
		vals[k SUBSEP "other"] = vals[k SUBSEP "other"] " " $8
		if ($9 != "") vals[k SUBSEP "probe"] = vals[k SUBSEP "probe"] " " $9
		seen[$2] = 1
	}
	END {
		nt = split(tools, T, " ")
		ns = split("backup_initial backup_unchanged backup_1pct restore list", S, " ")
		split("initial backup|unchanged re-backup|re-backup, 1% changed|full restore|list snapshots", SN, "|")
		split("cat of the tree|find -printf (stat)|stat + cat of changed files|cp -a of the tree|", FN, "|")
		nm = split("wall cpu rss repo other probe", M, " ")
		split("wall s|CPU s|peak RSS MiB|repo MiB|others CPU s|64 MiB fault-in after, ms", MN, "|")
		hdr = "| step | metric | floor |"
		sep = "|---|---|---:|"
		for (t = 1; t <= nt; t++) { hdr = hdr " " T[t] " |"; sep = sep "---:|" }
		hdr = hdr " coffer/floor |"; sep = sep "---:|"
		for (t = 1; t <= nt; t++) if (T[t] != "coffer") { hdr = hdr " coffer/" T[t] " |"; sep = sep "---:|" }
		print hdr; print sep
		for (s = 1; s <= ns; s++) {
			for (m = 1; m <= nm; m++) {
				if (M[m] == "repo" && S[s] ~ /restore|list/) continue
				if (M[m] == "rss" && S[s] == "list") continue
				line = "| " (m == 1 ? SN[s] (FN[s] != "" ? " (floor: " FN[s] ")" : "") : "") " | " MN[m] " | "
				fv = median("floor" SUBSEP S[s] SUBSEP M[m])
				line = line ((M[m] == "repo" || M[m] == "rss") ? "-" : fmt(fv, M[m])) " |"
				for (t = 1; t <= nt; t++) line = line " " fmt(median(T[t] SUBSEP S[s] SUBSEP M[m]), M[m]) " |"
				cv = median("coffer" SUBSEP S[s] SUBSEP M[m])
				line = line " " ((M[m] == "wall" || M[m] == "cpu") && M[m] != "other" ? ratio(cv, fv) : "-") " |"
				for (t = 1; t <= nt; t++) if (T[t] != "coffer") line = line " " (M[m] == "other" || M[m] == "probe" ? "-" : ratio(cv, median(T[t] SUBSEP S[s] SUBSEP M[m]))) " |"
				print line
			}
		}
	}' "$RAW"
	echo
	echo "Ratios below 1 favour coffer. Floors are the same data through cat, find, cp -a in the same run."
	echo
	echo "## Primitives (one core, CPU time, $(basename "$WORK")/primitives)"
	echo
	echo "| primitive | speed | unit | note |"
	echo "|---|---:|---|---|"
	awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$WORK/primitives.txt"
	echo
	echo "### CPU that coffer's primitives must cost on this corpus (from the table above)"
	echo
	awk -F'\t' -v src="$SRC_BYTES" -v big="$SRC_BIG" -v media="$MEDIA_BYTES" -v nf="$NFILES" '
	{ v[$1] = $2; note[$1] = $4 }
	END {
		M = 1048576
		zr = 0.32
		if (match(note["zstd3_compress_source_perfile"], /ratio [0-9.]+/))
			zr = substr(note["zstd3_compress_source_perfile"], RSTART + 6, RLENGTH - 6) + 0
		chk = (big + media) / M / v["chunker_cut"]
		idh = src / M / v["blake2b256_keyed_perfile"] + media / M / v["blake2b256_keyed"]
		zs = src / M / v["zstd3_compress_source_perfile"]
		zm = media / M / v["zstd3_compress_random"]
		stored = src * zr + media
		enc = stored / M / v["xchacha20poly1305_seal"]
		dec = stored / M / v["xchacha20poly1305_open"]
		zd = src / M / v["zstd_decompress_source_perfile"]
		b = chk + idh + zs + zm + enc
		ph = stored / M / v["blake2b256_keyed"]
		printf "- initial backup: chunker %.2f s (only files > 512 KiB are scanned) + chunk IDs %.2f s + zstd %.2f s (source) + %.2f s (media: tried, rejected) + XChaCha20-Poly1305 %.2f s = **%.1f CPU-s**, %.1f s wall on 2 cores if perfectly parallel; coffer also names each pack by the BLAKE2b of its ciphertext: + %.2f s.\n", chk, idh, zs, zm, enc, b, b / 2, ph
		r = dec + zd + idh
		printf "- restore: XChaCha20-Poly1305 open %.2f s + zstd decompress %.2f s + chunk-ID re-hash (if restore verifies) %.2f s = **%.1f CPU-s**, %.1f s wall on 2 cores.\n", dec, zd, idh, r, r / 2
		printf "- stored size estimated as source x %.3f (per-file zstd ratio) + media; the unchanged re-backup needs none of these.\n", zr
	}' "$WORK/primitives.txt"
	if [ "$PERF" = 1 ] && [ -f "$WORK/perf-backup_initial.txt" ]; then
		echo
		echo "## Where coffer spends its time (perf record -F 299 --call-graph dwarf, one extra untimed pass)"
		echo
		echo "Same conditions as the timed steps. Seconds are CPU-seconds (all threads); libsodium and"
		echo "libzstd are stripped, so their internals show as the exported function that was called."
		for s in backup_initial backup_unchanged backup_1pct restore; do
			[ -f "$WORK/perf-$s.txt" ] || continue
			echo
			echo "### $s"
			echo
			echo '```'
			cat "$WORK/perf-$s.txt"
			echo '```'
		done
	fi
	if [ -f "$WORK/verify.failed" ]; then
		echo
		echo "**Verification failures:** $(tr '\n' ' ' <"$WORK/verify.failed")"
	elif [ "$VERIFY" = 1 ]; then
		echo
		echo "Every restore of run 1 was compared with the source (diff -r): identical. Every repository passed its tool's check."
	fi
	echo
	echo "Raw per-run figures: $(basename "$WORK")/raw.tsv (run, tool, step, wall s, CPU s, RSS KiB, repo bytes, others CPU-s, ms to fault in 64 MiB just after the step)."
	echo "Total benchmark time: $((SECONDS - START)) s."
} >"$RESULTS"
cat "$RESULTS"
ok=1
