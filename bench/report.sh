#!/usr/bin/env bash
# bench/report.sh [SEED.jsonl] - `danemail report` over a large JSON Lines
# file. Prints figures; not a test.
#
# The corpus: BENCH_LINES (default 1000000) lines made by replicating the
# lines of a real scan (SEED, default the one the report integration test
# keeps: BUILD/meson-logs/report-test-scan.jsonl, written by
# `meson test integration-report`), each copy under a new domain name
# ("b<N>.<name>"), so every line is a distinct domain with real MX hosts,
# certificates, TLSA records and policies. Then, for each format (stats,
# json, md, html with the default --max-domains 10000), the wall time
# (lines/s, both passes: the domain index and the parse) and the peak RSS
# (GNU time). A second run over the same lines split into two shards with
# every 10th domain also in the second one measures the duplicate path.
# Options through the environment: BENCH_LINES, BENCH_DANEMAIL (the binary;
# default build/src/cli/danemail), BENCH_BUILD (default build), BENCH_KEEP=1
# (keep the work directory), BENCH_FORMATS (default "stats json md html").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build}
danemail=${BENCH_DANEMAIL:-$build/src/cli/danemail}
seed=${1:-$build/meson-logs/report-test-scan.jsonl}
lines=${BENCH_LINES:-1000000}
formats=${BENCH_FORMATS:-stats json md html}
[ -x "$danemail" ] || { echo "bench/report.sh: no $danemail (build first)" >&2; exit 1; }
[ -s "$seed" ] || {
	echo "bench/report.sh: no seed $seed: run 'meson test -C $build integration-report'" \
		"or give a scan's JSON Lines" >&2
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/danemail-bench-report.XXXXXX")
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

python3 - "$seed" "$lines" "$work/big.jsonl" "$work/shard1.jsonl" "$work/shard2.jsonl" <<'PY'
import sys
seed, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pre = '{"schema":1,"domain":"'
parts = []
for line in open(seed):
    if line.startswith(pre) and '"error"' not in line:
        name, rest = line[len(pre):].split('"', 1)
        parts.append((name, rest))
assert parts, "no domain lines in the seed"
k = len(parts)
with open(out, "w") as f, open(sys.argv[4], "w") as s1, open(sys.argv[5], "w") as s2:
    for i in range(n):
        name, rest = parts[i % k]
        line = '%sb%d.%s"%s' % (pre, i, name, rest)
        f.write(line)
        (s1 if i % 2 == 0 else s2).write(line)
        if i % 10 == 1:
            s2.write(line)  # also in the second shard: replaces the first one's
PY
size=$(du -m "$work/big.jsonl" | cut -f1)
echo "# danemail report: $lines lines (${size} MB) replicated from $(grep -c '"verdict"' "$seed") domains of $seed"
printf '%-8s %10s %12s %10s %12s %10s\n' format "wall s" lines/s "CPU s" "lines/CPU s" "RSS MB"
run() { # run LABEL ARGS...
	local label=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$danemail" report "$@" >/dev/null \
		2>"$work/err" ||
		{ echo "bench/report.sh: report $label failed:" >&2; cat "$work/err" >&2; exit 1; }
	read -r secs user sys kb <"$work/time"
	awk -v n="$lines" -v s="$secs" -v u="$user" -v y="$sys" -v l="$label" -v kb="$kb" 'BEGIN {
		c = u + y
		printf "%-8s %10.1f %12.0f %10.1f %12.0f %10.0f\n", l, s, (s > 0 ? n / s : 0), c,
			(c > 0 ? n / c : 0), kb / 1024 }'
}
for f in $formats; do
	run "$f" --format "$f" -o "$work/out.$f" "$work/big.jsonl"
done
run shards --format stats "$work/shard1.jsonl" "$work/shard2.jsonl"
grep -c '<details>' "$work/out.html" 2>/dev/null | sed 's/^/# HTML drill-down rows: /' || true
echo "# HTML page: $(du -k "$work/out.html" 2>/dev/null | cut -f1) kB"
