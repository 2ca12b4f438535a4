#!/usr/bin/env bash
# Runs every test: unit, end-to-end (cli, server, hostile, maintenance,
# mount), metadata-store conformance, S3, scale-out (two cofferd on
# PostgreSQL + S3) and fuzz-corpus replays, built with
# gcc; a clang build (warnings are errors); the suites again under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang); then each fuzzer
# briefly.  It starts what the tests need on loopback (a PostgreSQL and a
# single-node Ceph cluster with its S3 gateway, from Debian packages) and
# stops them at the end; COFFER_TEST_SERVICES=0 skips them (those suites
# then report "skipped").  Prints "N passed, N failed" last, and exits
# non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0
t0=$(date +%s)
say() { echo "=== [$(($(date +%s) - t0)) s] $*"; }

if [ "${COFFER_TEST_SERVICES:-1}" != 0 ]; then
	svc=$(mktemp -d /tmp/coffer-services.XXXXXX)
	chmod 755 "$svc"
	trap 'bash scripts/services/stop-all.sh "$svc" >/dev/null 2>&1 || true; rm -rf "$svc"' EXIT
	say "starting PostgreSQL and Ceph S3 on loopback"
	if bash scripts/services/start-all.sh "$svc" >"$svc.log" 2>&1; then
		set -a; . "$svc/services.env"; set +a
	else
		echo "services did not start (see $svc.log); their suites will skip" >&2
		tail -n 20 "$svc.log" >&2 || true
	fi
fi

count() { # testlog.json -> adds to passed/failed
	local j=$1/meson-logs/testlog.json ok bad
	[ -f "$j" ] || return 0
	ok=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["result"] in ("OK","SKIP","EXPECTEDFAIL")))' "$j")
	bad=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["result"] not in ("OK","SKIP","EXPECTEDFAIL")))' "$j")
	passed=$((passed + ok)); failed=$((failed + bad))
}

suite() { # name, build dir, "meson test args", meson setup args...
	local name=$1 dir=$2 targs=$3
	shift 3
	say "$name"
	if ! { [ -d "$dir" ] || meson setup "$dir" "$@" >/dev/null; } ||
		! ninja -C "$dir" >/dev/null; then
		echo "$name: the build failed" >&2
		failed=$((failed + 1))
		return 0
	fi
	rm -f "$dir/meson-logs/testlog.json"
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $targs || true
	count "$dir"
}

# COFFER_TEST_SCALEOUT=0 leaves out the scale-out suite (two cofferd on
# PostgreSQL + S3, ~25 scenarios, a few minutes).
gcc_args=
[ "${COFFER_TEST_SCALEOUT:-1}" != 0 ] || gcc_args="--no-suite scaleout"
suite "gcc: every suite" build-test "$gcc_args" --buildtype=debugoptimized
say "gcc release build (what demo.sh builds), warnings as errors"
if { [ -d build-release ] || meson setup build-release --buildtype=release \
	>/dev/null; } && ninja -C build-release >/dev/null; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
say "clang: build, warnings as errors"
if { [ -d build-clang ] || CC=clang meson setup build-clang \
	--buildtype=debugoptimized >/dev/null; } && ninja -C build-clang >/dev/null; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi
CC=clang suite "clang + AddressSanitizer + UBSan" build-asan \
	"${ASAN_TEST_ARGS:---no-suite s3 --no-suite mount --no-suite scaleout}" \
	--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
if [ -f fuzz/run.sh ]; then
	say "fuzzers (${FUZZ_SECONDS:-20} s each)"
	if bash fuzz/run.sh "${FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
say "done"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
