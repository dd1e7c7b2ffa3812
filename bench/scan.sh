#!/usr/bin/env bash
# bench/scan.sh - the scanner's benchmark. Prints figures; not a test.
#
# A synthetic corpus of N domains (BENCH_DOMAINS, default 100000) in one
# generated zone "scanbench.", signed with ldns-signzone (NSEC, ECDSA P-256)
# and served by an NSD of its own; the MX records point at a handful of
# local SMTP servers (BENCH_MX_HOSTS, default 4: smtpd_test, TLS with a
# DANE-EE "3 1 1" record each), as at hosters. A delaying proxy
# (bench_scan_proxy) stands in front of NSD (UDP and TCP) and of each SMTP
# server and holds every datagram and stream chunk BENCH_DELAY_MS (default
# 50) in each direction, so each DNS round trip costs 2 x 50 ms: this kernel
# has no netem. Nothing leaves loopback: the resolver forwards everything
# to the proxy, and the root of that world is our NSD (which refuses names
# outside scanbench.).
#
# The mix per domain (by number): MX to one host; every 5th two MX hosts;
# every 50th a null MX; every 100th no MX at all (implicit MX: its own A
# record on an SMTP server); SPF and DMARC TXT on all but every 10th. Input:
# a Tranco-style "rank,domain" CSV. BENCH_MX_MODE=per-domain gives every
# domain (but the null MX ones) an MX host name of its own, mx.<domain>, with
# its own A and TLSA records on one of the shared addresses, as big hosters
# do: N host names to resolve, still BENCH_MX_HOSTS probes.
#
# Measured: wall time of `danemail scan` (domains/s), its peak RSS and CPU
# time (GNU time), and the CPU time NSD and the proxy used meanwhile.
# Options through the environment: BENCH_DOMAINS, BENCH_DELAY_MS,
# BENCH_CONCURRENCY (default 1000), BENCH_MX_HOSTS, BENCH_KEEP=1 (keep the
# work directory), BENCH_SCAN_ARGS (more scan options), BENCH_PERF=1 (profile
# the scan with perf record and print the top functions), BENCH_DANEMAIL (the
# binary, e.g. a sanitizer build's), BENCH_WRAP (a
# command the scan runs under, e.g. "perf stat -e ...").
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_DOMAINS:-100000}
DELAY=${BENCH_DELAY_MS:-50}
CONC=${BENCH_CONCURRENCY:-1000}
NMX=${BENCH_MX_HOSTS:-4}
MODE=${BENCH_MX_MODE:-shared}

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build src/cli/danemail bench/bench_scan_proxy tests/tools/smtpd/smtpd_test >/dev/null
# shellcheck source=tests/integration/scan/zonelib.sh
. tests/integration/scan/zonelib.sh

dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-bench-scan.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	zl_stop "$dir/zone"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "# work directory kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM
ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
log() { echo "# $*" >&2; }

# Ports: NSD on 127.0.0.1, its proxy on 127.0.7.53; SMTP servers on 127.0.5.x,
# their proxies on 127.0.6.x, all on one port.
free_from() { # free_from START: the first port >= START with no listener
	local p=$1
	until zl_port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}
sport=$(free_from 10600)

# --- SMTP servers and their DANE-EE records
mkdir -p "$dir/smtp"
tlsa_lines=
tlsa_data=
for ((i = 1; i <= NMX; i++)); do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=mx$i.scanbench" -addext "subjectAltName=DNS:mx$i.scanbench" \
		-keyout "$dir/smtp/mx$i.key" -out "$dir/smtp/mx$i.pem" >/dev/null 2>&1
	spki=$(openssl x509 -in "$dir/smtp/mx$i.pem" -noout -pubkey |
		openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	tlsa_lines+="_$sport._tcp.mx$i IN TLSA 3 1 1 $spki"$'\n'
	tlsa_data+="$spki "
	build/tests/tools/smtpd/smtpd_test --listen "127.0.5.$i:$sport" \
		--cert "$dir/smtp/mx$i.pem" --key "$dir/smtp/mx$i.key" --name "mx$i.scanbench" \
		--pidfile "$dir/smtp/mx$i.pid" 2>"$dir/smtp/mx$i.err" &
	pids+=($!)
done

# --- the zone
t0=$(ms)
Z=$dir/zone
mkdir -p "$Z"
{
	# shellcheck disable=SC2016 # zone file directives, not shell
	printf '$ORIGIN scanbench.\n$TTL 3600\n'
	printf '@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n'
	for ((i = 1; i <= NMX; i++)); do printf 'mx%d IN A 127.0.6.%d\n' "$i" "$i"; done
	printf '%s' "$tlsa_lines"
	awk -v n="$N" -v nmx="$NMX" -v mode="$MODE" -v sport="$sport" -v tlsa="$tlsa_data" 'BEGIN {
		split(tlsa, spki, " ")
		for (i = 1; i <= n; i++) {
			d = "d" i
			m = i % nmx + 1
			if (mode == "per-domain" && i % 50 != 0) {
				# an MX host name of its own on a shared address (as at big hosters)
				printf "%s IN MX 10 mx.%s\n", d, d
				printf "mx.%s IN A 127.0.6.%d\n", d, m
				printf "_%d._tcp.mx.%s IN TLSA 3 1 1 %s\n", sport, d, spki[m]
			} else if (i % 100 == 0) {
				printf "%s IN A 127.0.6.%d\n", d, m
			} else if (i % 50 == 0) {
				printf "%s IN MX 0 .\n", d
			} else {
				printf "%s IN MX 10 mx%d\n", d, m
				if (i % 5 == 0)
					printf "%s IN MX 20 mx%d\n", d, (i + 1) % nmx + 1
			}
			if (i % 10 != 0) {
				printf "%s IN TXT \"v=spf1 mx -all\"\n", d
				printf "_dmarc.%s IN TXT \"v=DMARC1; p=reject; rua=mailto:d@%s.scanbench\"\n", d, d
			}
		}
	}'
} >"$Z/scanbench.zone"
zl_sign "$Z" scanbench "$Z/scanbench.zone" >"$Z/sign.log" 2>&1 ||
	{ cat "$Z/sign.log" >&2; exit 1; }
t1=$(ms)
log "zone: $N domains, $(grep -c . "$Z/scanbench.signed") lines signed, $(((t1 - t0) / 1000)) s"
zl_nsd_start_free "$Z" 127.0.0.1 17000 17998 scanbench >"$Z/nsd-start.log" 2>&1 ||
	{ cat "$Z/nsd-start.log" >&2; exit 1; }
dport=$ZL_PORT
t2=$(ms)
log "nsd ready in $(((t2 - t1) / 1000)) s"

# --- the delaying proxy
proxy_args=(--delay "$DELAY" --udp "127.0.7.53:$dport=127.0.0.1:$dport"
	--tcp "127.0.7.53:$dport=127.0.0.1:$dport" --pidfile "$dir/proxy.pid")
for ((i = 1; i <= NMX; i++)); do
	proxy_args+=(--tcp "127.0.6.$i:$sport=127.0.5.$i:$sport")
done
build/bench/bench_scan_proxy "${proxy_args[@]}" 2>"$dir/proxy.err" &
proxy_pid=$!
pids+=("$proxy_pid")
for _ in $(seq 100); do
	[ -s "$dir/proxy.pid" ] && break
	sleep 0.05
done
for ((i = 1; i <= NMX; i++)); do
	[ -s "$dir/smtp/mx$i.pid" ] || sleep 0.5
done

# --- resolver configuration: everything to the proxy, one island of trust
cat >"$dir/unbound.conf" <<EOF
server:
	do-not-query-localhost: no
	trust-anchor-file: "$Z/ta.ds"
	outgoing-interface: 127.0.0.1
	do-ip6: no
	module-config: "validator iterator"
	trust-anchor-signaling: no
	root-key-sentinel: no
	prefetch: no
forward-zone:
	name: "."
	forward-addr: 127.0.7.53@$dport
EOF
awk -F'\n' '{ printf "%d,d%d.scanbench\n", NR, NR }' < <(seq "$N") >"$dir/corpus.csv"
dig @127.0.7.53 -p "$dport" +short +tries=1 +time=2 MX d1.scanbench >/dev/null ||
	{ echo "bench: the proxy does not answer" >&2; exit 1; }

cpu_of() { # cpu_of PID...: user+system clock ticks of the processes and their children
	local p t=0 f
	for p in "$@"; do
		for f in /proc/"$p"/task/*/stat; do
			[ -r "$f" ] || continue
			# fields after "pid (comm) ": comm may hold spaces ("nsd: server 1")
			t=$((t + $(sed 's/.*) //' "$f" | awk '{ print $12 + $13 }')))
		done
	done
	echo "$t"
}
nsd_all() { pgrep -f "$Z/nsd.conf" | tr '\n' ' '; }
hz=$(getconf CLK_TCK)
# shellcheck disable=SC2046
nsd0=$(cpu_of $(nsd_all))
px0=$(cpu_of "$proxy_pid")
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # all cores, ticks
busy0=$(busy)

log "scan: $N domains, concurrency $CONC, ${DELAY} ms per direction (DNS and SMTP)"
# shellcheck disable=SC2086
perf=()
[ -n "${BENCH_PERF:-}" ] && perf=(perf record -F 499 -g -o "$dir/perf.data" --)
# shellcheck disable=SC2206
[ -n "${BENCH_WRAP:-}" ] && perf=(${BENCH_WRAP})
# shellcheck disable=SC2086 # BENCH_SCAN_ARGS: several options
"${perf[@]}" /usr/bin/time -v -o "$dir/time.txt" "${BENCH_DANEMAIL:-build/src/cli/danemail}" scan --config "$dir/unbound.conf" \
	--smtp-port "$sport" --input "$dir/corpus.csv" --jsonl "$dir/out.jsonl" \
	--stats "$dir/stats.json" --concurrency "$CONC" ${BENCH_SCAN_ARGS:-} 2>"$dir/scan.err" || true
# shellcheck disable=SC2046
nsd1=$(cpu_of $(nsd_all))
px1=$(cpu_of "$proxy_pid")
busy1=$(busy)
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true

secs=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["seconds"])' "$dir/stats.json")
rate=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["domains_per_second"])' "$dir/stats.json")
rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$dir/time.txt")
user=$(awk -F': ' '/User time/ { print $2 }' "$dir/time.txt")
sys=$(awk -F': ' '/System time/ { print $2 }' "$dir/time.txt")
pct=$(awk -F': ' '/Percent of CPU/ { print $2 }' "$dir/time.txt")
grep -v '^  ' "$dir/scan.err" | sed 's/^/# /' >&2 || true
sed -n '/^  /p' "$dir/scan.err" | head -40 >&2
python3 - "$dir/stats.json" <<'PY' >&2
import json, sys
s = json.load(open(sys.argv[1]))
print("# engine:", json.dumps(s["engine"]))
PY
echo "scan benchmark: $N domains ($MODE MX hosts), ${DELAY} ms per direction, concurrency $CONC, $(nproc) cores"
echo "  wall ${secs} s, ${rate} domains/s"
echo "  danemail scan: peak RSS ${rss} MB, CPU user ${user} s + sys ${sys} s (${pct} of one core)"
nsd_s=$(awk -v a="$nsd0" -v b="$nsd1" -v h="$hz" 'BEGIN { printf "%.1f", (b - a) / h }')
px_s=$(awk -v a="$px0" -v b="$px1" -v h="$hz" 'BEGIN { printf "%.1f", (b - a) / h }')
echo "  nsd CPU $nsd_s s, proxy CPU $px_s s"
# What else ran meanwhile (other users of the machine skew the figures): all busy CPU
# time minus the scan's, NSD's and the proxy's.
awk -v a="$busy0" -v b="$busy1" -v h="$hz" -v u="$user" -v s="$sys" -v n="$nsd_s" -v p="$px_s" \
	-v w="$secs" 'BEGIN { o = (b - a) / h - u - s - n - p; if (o < 0) o = 0;
	printf "  other processes on the machine meanwhile: %.1f CPU s (%.0f%% of one core)\n", o, 100 * o / w }'
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  output: $(wc -l <"$dir/out.jsonl") JSON lines; $(sed 's/^bench_scan_proxy: //' "$dir/proxy.err")"
if [ -n "${BENCH_PERF:-}" ]; then
	perf report -i "$dir/perf.data" --stdio --no-children --sort "${BENCH_PERF_SORT:-dso,symbol}" 2>/dev/null |
		grep -E '^ +[0-9]' | head -40
fi
