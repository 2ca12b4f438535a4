#!/usr/bin/env bash
# run.sh [SECONDS] [TARGET...]: build the libFuzzer harnesses with clang
# into build-fuzz/ (-Dfuzz=true) and run each target (default: every
# fuzz/corpus/<target>) for SECONDS (default 60), FUZZ_JOBS at a time
# (default 2).  Seeds are read from fuzz/corpus/<target> but never written:
# new inputs go to build-fuzz/fuzz-work/<target>, crash reproducers to
# build-fuzz/fuzz-artifacts/, logs to build-fuzz/fuzz-logs/.  Exit 1 if any
# fuzzer crashed, leaked, timed out or hit its limits.
set -u

secs=${1:-60}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
jobs=${FUZZ_JOBS:-2}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for d in "$top"/fuzz/corpus/*/; do
		targets+=("$(basename "$d")")
	done
fi

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$top" -Dfuzz=true || exit 1
fi
meson configure "$build" -Dfuzz=true >/dev/null || exit 1
ninja -C "$build" $(printf 'fuzz/fuzz-%s ' "${targets[@]}") || exit 1

mkdir -p "$build/fuzz-logs" "$build/fuzz-artifacts"

# run_one TARGET: fuzz for $secs seconds; the exit status is the fuzzer's.
run_one() {
	local t=$1 work="$build/fuzz-work/$1" extra=()

	mkdir -p "$work"
	# parse_args reports usage errors on stderr: keep them out of the log
	# (libFuzzer and sanitizer reports still get through).
	[ "$t" = argv ] && extra+=(-close_fd_mask=2)
	"$build/fuzz/fuzz-$t" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -timeout=25 -print_final_stats=1 \
	    -artifact_prefix="$build/fuzz-artifacts/$t-" "${extra[@]}" \
	    "$work" "$top/fuzz/corpus/$t" >"$build/fuzz-logs/$t.log" 2>&1
}

# summary TARGET STATUS: one line from the final stats.
summary() {
	local log="$build/fuzz-logs/$1.log" runs rate

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf '%-12s %-6s runs %-10s exec/s %s\n' "$1" "$2" "${runs:-?}" \
	    "${rate:-?}"
}

declare -A pid_of
failed=0
for t in "${targets[@]}"; do
	if [ ! -x "$build/fuzz/fuzz-$t" ]; then
		echo "run.sh: no fuzzer for target $t" >&2
		failed=1
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "$t" &
	pid_of[$t]=$!
done

for t in "${targets[@]}"; do
	[ -n "${pid_of[$t]:-}" ] || continue
	if wait "${pid_of[$t]}"; then
		summary "$t" ok
	else
		summary "$t" FAILED
		echo "  see $build/fuzz-logs/$t.log" >&2
		failed=1
	fi
done
exit $failed
