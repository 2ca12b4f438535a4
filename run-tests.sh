#!/usr/bin/env bash
# Runs every test: unit, end-to-end (cli) and fuzz-corpus replays, built with
# gcc and with clang (warnings are errors), then again under AddressSanitizer
# and UndefinedBehaviorSanitizer, then each fuzzer briefly.  Prints
# "N passed, N failed" at the end and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
passed=0 failed=0

suite() { # name, build dir, meson setup args...
	local name=$1 dir=$2
	shift 2
	echo "=== $name"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	local rc=0
	meson test -C "$dir" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-} || rc=$?
	local j="$dir/meson-logs/testlog.json"
	if [ -f "$j" ]; then
		local ok bad
		ok=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["result"] in ("OK","SKIP","EXPECTEDFAIL")))' "$j")
		bad=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["result"] not in ("OK","SKIP","EXPECTEDFAIL")))' "$j")
		passed=$((passed + ok)); failed=$((failed + bad))
	fi
	[ $rc -eq 0 ] || failed=$((failed + 0))
	return 0
}

suite "gcc" build-test --buildtype=debugoptimized
CC=clang suite "clang" build-clang --buildtype=debugoptimized
CC=clang MESON_TEST_ARGS="${ASAN_TEST_ARGS:-}" suite "clang asan+ubsan" build-asan \
	--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
if [ -f fuzz/run.sh ]; then
	echo "=== fuzzers (${FUZZ_SECONDS:-20} s each)"
	if bash fuzz/run.sh "${FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
