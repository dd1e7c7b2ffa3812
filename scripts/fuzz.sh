#!/bin/sh
# scripts/fuzz.sh - build and run the libFuzzer targets of tests/fuzz.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target (default: all of tests/fuzz/fuzz_*.c) for SECONDS
# (default 60) over a fresh copy of its seed corpus (tests/fuzz/corpus/NAME)
# and the reproducers of bugs found before (tests/fuzz/crashes), with
# AddressSanitizer, UndefinedBehaviorSanitizer and leak detection, a 10 s
# limit per input and 2 GB of RSS.  Installs nothing: needs clang and
# libclang-rt-14-dev (scripts/deps.sh).  Sets up build-fuzz if it is missing.
#
# Output: TAP on stdout, one line per target ("ok 3 - owner: 1234567 runs
# (20576/s)").  Each run keeps its logs in build-fuzz/fuzz-runs/ID/NAME.log
# (runs may overlap: a CI run beside a long one); a crash, leak or timeout
# leaves its input in build-fuzz/crashes/NAME-*.  Exit status 1 if any
# target failed.
#
# Environment: FUZZ_JOBS targets at a time (default: the number of CPUs);
# FUZZ_RUNS stops a target after that many executions even before SECONDS;
# FUZZ_ARGS adds libFuzzer flags (e.g. -max_len=4096: inputs of the report
# target grow to its 10 KB seed and run twice as slowly).
set -eu
cd "$(dirname "$0")/.."

secs=60
case "${1:-}" in
'' | *[!0-9]*) ;;
*)
	secs=$1
	shift
	;;
esac
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
runs=${FUZZ_RUNS:-}
extra=${FUZZ_ARGS:-}
build="build-fuzz"
crashdir=$build/crashes
run=$build/fuzz-runs/$(date +%Y%m%d-%H%M%S)-$$

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		echo "${n%.c}"
	done)
fi
n_targets=0
for t in $targets; do
	if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
		echo "Bail out! no fuzz target '$t' (tests/fuzz/fuzz_$t.c)"
		exit 1
	fi
	n_targets=$((n_targets + 1))
done

if ! command -v clang >/dev/null 2>&1; then
	echo "Bail out! clang is missing (apt-get install clang libclang-rt-14-dev)"
	exit 1
fi
mkdir -p "$build" "$crashdir" "$run"
# One setup and build at a time (ninja does not lock its directory).
names=""
for t in $targets; do names="$names fuzz_$t"; done
if ! (
	flock 9
	if [ ! -f "$build/build.ninja" ]; then
		CC=clang meson setup "$build" -Dfuzz=true -Dtests=false \
			-Db_sanitize=address,undefined -Db_lundef=false || exit 1
	fi
	# shellcheck disable=SC2086
	meson compile -C "$build" $names
) >"$run/build.log" 2>&1 9>"$build/.fuzz-build.lock"; then
	grep -E "error|ERROR|FAILED" "$run/build.log" | head -20 | sed 's/^/# /'
	echo "Bail out! setting up or building the fuzz targets failed (see $run/build.log)"
	exit 1
fi
# Logs of runs older than a week go.
find "$build/fuzz-runs" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || :

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# Run one target to its end; its exit status goes to $run/NAME.rc.
run_target() {
	name=$1
	corpus=$run/corpus/$name
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		find "tests/fuzz/corpus/$name" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
	fi
	# librnp's parser writes to stderr whatever a library should not: close it
	# (libFuzzer keeps its own report on a duplicate)
	quiet=""
	[ "$name" = pgpkey ] && quiet=-close_fd_mask=2
	set +e
	# shellcheck disable=SC2086
	"$build/tests/fuzz/fuzz_$name" -max_total_time="$secs" ${runs:+-runs=$runs} \
		-timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$crashdir/$name-" $quiet $extra "$corpus" tests/fuzz/crashes \
		>"$run/$name.log" 2>&1
	echo $? >"$run/$name.rc"
}

# A pool of $jobs runs at a time, started in order.
pids=""
for t in $targets; do
	while [ "$(echo "$pids" | wc -w)" -ge "$jobs" ]; do
		sleep 1
		alive=""
		for p in $pids; do
			kill -0 "$p" 2>/dev/null && alive="$alive $p"
		done
		pids=$alive
	done
	run_target "$t" &
	pids="$pids $!"
done
wait
rm -rf "$run/corpus"

echo "1..$n_targets"
i=0
status=0
for t in $targets; do
	i=$((i + 1))
	log=$run/$t.log
	rc=$(cat "$run/$t.rc" 2>/dev/null || echo 255)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ "$rc" = 0 ]; then
		echo "ok $i - $t: ${execs:-?} runs (${rate:-?}/s)"
	else
		status=1
		echo "not ok $i - $t: exit $rc after ${execs:-?} runs; log $log"
		sed -n 's/.*Test unit written to \(.*\)/# input: \1/p' "$log"
		grep -E "ERROR: |SUMMARY: |invariant broken|runtime error" "$log" |
			head -5 | sed 's/^/# /'
	fi
done
exit $status
