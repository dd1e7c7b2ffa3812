#!/bin/sh
# bench/run.sh - resolver benchmarks against a testbed with 20,000 extra
# SMIMEA names.  Prints the figures; not a test (no pass/fail thresholds).
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build bench/bench_lookup >/dev/null
N=${BENCH_NAMES:-20000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-bench.XXXXXX")
trap './tests/testbed/testbed.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT INT TERM
TB_BENCH_NAMES=$N TB_PORT=${TB_PORT:-53635} TB_DOWN_PORT=${TB_DOWN_PORT:-53636} \
	./tests/testbed/testbed.sh start "$dir" >/dev/null
TB_UNBOUND_CONF=$dir/unbound.conf
export TB_UNBOUND_CONF
./build/bench/bench_lookup sync-cached 5 1
./build/bench/bench_lookup sync-cached 5 2
./build/bench/bench_lookup async-uncached "$N" 100
./build/bench/bench_lookup async-uncached "$N" 1000
