#!/usr/bin/env bash
# hostile.sh - `danemail scan` at scale against hostile servers (issue 8
# part 4), its per-address rate limit and its TTL-bounded host cache.
#
# Stands up its own world, no testbed needed: a signed zone "hostile-test."
# (zonelib.sh: NSD of our own, an island of trust) and hostile_smtpd
# (tests/tools/smtpd) listening on 1,000 consecutive loopback addresses from
# 127.8.0.1, one port for all (the scan connects to MX -> A -> --smtp-port),
# each address one of: stall, garbage, endless line, one byte a second, 421,
# TLS alert after STARTTLS, TCP reset mid-handshake.  1,000 domains
# d1..d1000 each have one MX host h<i> on address i with a "3 1 1" TLSA
# record (so DANE applies and the verdict says what the transport allowed).
#
# Checks: every domain finishes, each probe within the stage timeout
# (elapsed_ms from the JSON), the whole scan within a bound, peak RSS
# bounded (GNU time), the transport state of each behaviour (never
# "no-starttls" for a server that never spoke SMTP properly), verdicts
# not-testable / tls-failed; then --rate-per-ip against a well-behaved
# server's connection log (hostile_smtpd --log), with a control run
# without the limit, and host resolutions re-made after a 1 s TTL.
# Prints TAP; figures as "# " lines.  Needs DANEMAIL, TB_HOSTILE.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/scan/zonelib.sh
. "$here/zonelib.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/danemail-hostile.XXXXXX")
N=${HOSTILE_DOMAINS:-1000}
T=${HOSTILE_TIMEOUT_MS:-1500}
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	zl_stop "$W/zone"
	[ -n "${HOSTILE_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# --- set-up: nothing printed before it is done
start_hostile() { # start_hostile NAME ARGS...: 0 ready, 75 port taken, 1 failed
	local name=$1 i
	shift
	"$TB_HOSTILE" "$@" --pidfile "$W/$name.pid" 2>"$W/$name.err" &
	pids+=($!)
	for i in $(seq 200); do
		[ -s "$W/$name.pid" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	kill "${pids[-1]}" 2>/dev/null # not ready in 10 s: do not wait for ever
	wait "${pids[-1]}"
	return $?
}
sport=
for p in $(seq 10700 10799); do
	zl_port_free "$p" || continue
	start_hostile hostile --first 127.8.0.1 --count "$N" --port "$p" \
		--behaviours stall,garbage,endless,drip,421,tls-alert,tls-reset \
		--map "$W/map.txt" --log "$W/hostile.log"
	rc=$?
	if [ $rc -eq 0 ]; then sport=$p; break; fi
	[ $rc -eq 75 ] || { echo "Bail out! hostile_smtpd failed: $(cat "$W/hostile.err")"; exit 1; }
done
[ -n "$sport" ] || { echo "Bail out! no free port for hostile_smtpd"; exit 1; }
# two well-behaved servers (no STARTTLS) for the rate and TTL checks
start_hostile good --first 127.8.8.1 --count 2 --port "$sport" --behaviours ok \
	--log "$W/good.log" || { echo "Bail out! hostile_smtpd (ok) failed: $(cat "$W/good.err")"; exit 1; }

Z=$W/zone
mkdir -p "$Z"
{
	# shellcheck disable=SC2016 # zone file directives, not shell
	printf '$ORIGIN hostile-test.\n$TTL 300\n'
	printf '@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n'
	awk -v port="$sport" '{
		i = NR
		printf "d%d IN MX 10 h%d\nh%d IN A %s\n", i, i, i, $1
		printf "_%d._tcp.h%d IN TLSA 3 1 1 %064d\n", port, i, i
	}' "$W/map.txt"
	# rate: 20 domains, each an MX host name of its own, all on 127.8.8.1
	for i in $(seq 20); do printf 'rate%d IN MX 10 r%d\nr%d IN A 127.8.8.1\n' "$i" "$i" "$i"; done
	# TTL: 4 domains sharing one MX host whose address lives 1 s
	for i in $(seq 4); do printf 'ttl%d IN MX 10 short\n' "$i"; done
	printf 'short 1 IN A 127.8.8.2\n'
} >"$Z/hostile-test.zone"
{
	zl_sign "$Z" hostile-test "$Z/hostile-test.zone" &&
		zl_nsd_start_free "$Z" 127.0.0.1 16700 16799 hostile-test
} >"$W/zone.log" 2>&1 || {
	echo "Bail out! the zone did not start: $(tail -n 1 "$W/zone.log")"
	sed 's/^/# /' "$W/zone.log"
	exit 1
}
cat >"$W/unbound.conf" <<EOF
server:
	do-not-query-localhost: no
	trust-anchor-file: "$Z/ta.ds"
	outgoing-interface: 127.0.0.1
	do-ip6: no
	module-config: "validator iterator"
	trust-anchor-signaling: no
	root-key-sentinel: no
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@$ZL_PORT
EOF

# --- TAP
n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
st() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }
ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }

echo "# == $N hostile servers (port $sport), --timeout $T"
for i in $(seq "$N"); do echo "d$i.hostile-test"; done >"$W/list.txt"
t0=$(ms)
# --dns-timeout 30 s: on a loaded machine (sanitizers, other tests) validating the
# 8,000 lookups of 1,000 domains at once takes a while; DNS is not what is tested
/usr/bin/time -f '%M %e %U %S' -o "$W/time.txt" "$DANEMAIL" scan --config "$W/unbound.conf" \
	--smtp-port "$sport" --timeout "$T" --dns-timeout 30000 --quiet --input "$W/list.txt" \
	--stats "$W/scale.stats" --jsonl "$W/scale.jsonl" 2>"$W/scale.err"
rc=$?
t1=$(ms)
ok $rc "scan of $N domains: exit $rc (want 0) $(head -n 1 "$W/scale.err")"
read -r rss_kb wall user sys <"$W/time.txt"
# bounds: a sanitizer build needs several times the memory
rss_max=300
case $(ldd "$DANEMAIL" 2>/dev/null) in *libasan*) rss_max=1500 ;; esac
"$py" - "$W/scale.jsonl" "$W/map.txt" "$T" >"$W/check.txt" <<'PY'
import json, sys, collections
out, mapf, t = sys.argv[1], sys.argv[2], int(sys.argv[3])
beh = {}
for i, line in enumerate(open(mapf), 1):
    addr, b = line.split()
    beh["d%d.hostile-test" % i] = (addr, b)
# each behaviour: the transport, the SMTP result, the verdict it must come to
want = {
    "stall": ("not-testable", "timeout", "not-testable"),
    "garbage": ("not-testable", "protocol-error", "not-testable"),
    "endless": ("not-testable", "protocol-error", "not-testable"),
    "drip": ("not-testable", "timeout", "not-testable"),
    "421": ("not-testable", "greeting-rejected", "not-testable"),
    "tls-alert": ("tls-failed", "tls-failed", "tls-failed"),
    "tls-reset": ("tls-failed", "tls-failed", "tls-failed"),
}
seen, bad, probe_ms, dom_ms, by = set(), [], [], [], collections.Counter()
for line in open(out):
    o = json.loads(line)
    d = o["domain"]
    seen.add(d)
    addr, b = beh[d]
    try:
        a = o["hosts"][0]["addresses"][0]
    except (IndexError, KeyError):
        # no address reached: a DNS failure (say so, it is not what is tested here)
        h = o["hosts"][0] if o["hosts"] else {}
        bad.append("%s (%s): no probe: mx %s/%s, addresses %s" % (
            d, b, o["mx"]["kind"], o["mx"]["outcome"], h.get("addresses_outcome")))
        by[(b, "no-probe", o["mx"]["kind"], str(h.get("addresses_outcome")))] += 1
        dom_ms.append(o["elapsed_ms"])
        continue
    got = (a["transport"], a["smtp"]["result"], o["verdict"])
    by[(b,) + got] += 1
    # the domain's summary: untestable, or STARTTLS offered and failed ("none")
    summary = "untestable" if want[b][0] == "not-testable" else "none"
    if got != want[b] or a["address"] != addr or o["starttls"] != summary:
        bad.append("%s (%s): %s" % (d, b, got))
    probe_ms.append(a["smtp"]["elapsed_ms"])
    dom_ms.append(o["elapsed_ms"])
probe_ms.sort()
dom_ms.sort()
print("domains", len(seen), len(beh))
print("bad", len(bad), "; ".join(bad[:5]))
print("probe_max", probe_ms[-1] if probe_ms else -1)  # -1: none (fails below)
print("probe_median", probe_ms[len(probe_ms) // 2] if probe_ms else -1)
print("domain_max", dom_ms[-1] if dom_ms else -1)
print("domain_median", dom_ms[len(dom_ms) // 2] if dom_ms else -1)
for k, v in sorted(by.items()):
    print("state", v, " ".join(k))
PY
val() { awk -v k="$1" '$1 == k { print $2 }' "$W/check.txt"; }
[ "$(awk '$1 == "domains" { print $2 "/" $3 }' "$W/check.txt")" = "$N/$N" ]
ok $? "every domain finished and was written: $(awk '$1 == "domains" { print $2 }' "$W/check.txt") of $N"
[ "$(val bad)" = 0 ]
ok $? "each behaviour got its state (not-testable / tls-failed, never no-starttls): $(sed -n 's/^bad //p' "$W/check.txt")"
awk '$1 == "state" { $1 = "#  "; print }' "$W/check.txt"
pmax=$(val probe_max)
# each behaviour fails in one stage (the stage deadlines are absolute: a drip cannot stretch
# them); the rest is the loop's latency with 1,000 sessions at once
[ "$pmax" -ge 0 ] && [ "$pmax" -le $((2 * T)) ]
ok $? "every probe ended within twice the stage timeout: max ${pmax} ms, median $(val probe_median) ms (timeout $T ms)"
dmax=$(val domain_max)
[ "$dmax" -ge 0 ] && [ "$dmax" -le $((4 * T + 60000)) ]
ok $? "every domain within 4 stage timeouts + 60 s of DNS: max ${dmax} ms, median $(val domain_median) ms"
[ $((t1 - t0)) -lt 120000 ]
ok $? "the whole scan: $((t1 - t0)) ms (bound 120 s; 5-10 s here unloaded)"
[ $((rss_kb / 1024)) -lt "$rss_max" ]
ok $? "peak RSS $((rss_kb / 1024)) MB (bound $rss_max MB); CPU user ${user} s + sys ${sys} s, wall ${wall} s"
[ "$(st "$W/scale.stats" engine.smtp_probes)" = "$N" ]
ok $? "one probe per address: $(st "$W/scale.stats" engine.smtp_probes)"
conns=$(grep -c " connect$" "$W/hostile.log")
[ "$conns" = "$N" ]
ok $? "the servers saw $conns connections (want $N)"
echo "# figures: $N hostile domains in $((t1 - t0)) ms wall, peak RSS $((rss_kb / 1024)) MB, probe max ${pmax} ms"

echo "# == --rate-per-ip: 20 domains, 20 host names, one address"
rate_scan() { # rate_scan NAME RATE
	local before doms=()
	for i in $(seq 20); do doms+=("rate$i.hostile-test"); done
	before=$(wc -l <"$W/good.log")
	/usr/bin/time -f '%e %U %S' -o "$W/$1.time" "$DANEMAIL" scan --config "$W/unbound.conf" \
		--smtp-port "$sport" --quiet --no-policies --concurrency 1 --probe-max-age 0 \
		--rate-per-ip "$2" --stats "$W/$1.stats" --jsonl "$W/$1.jsonl" \
		"${doms[@]}" 2>"$W/$1.err"
	local rc=$?
	tail -n +$((before + 1)) "$W/good.log" | awk '$2 == "127.8.8.1" { print $1 }' >"$W/$1.times"
	return $rc
}
gaps() { # gaps FILE: "count min_gap_ms max_in_any_1s_window span_ms"
	"$py" - "$1" <<'PY'
import sys
t = [int(x) for x in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
win = max(sum(1 for y in t if x <= y < x + 1000) for x in t) if t else 0
print(len(t), min(gaps) if gaps else -1, win, t[-1] - t[0] if t else 0)
PY
}
rate_scan rate5 5
ok $? "--rate-per-ip 5: exit 0"
read -r cnt gap win span < <(gaps "$W/rate5.times")
[ "$cnt" = 20 ]
ok $? "20 connections to the one address (--probe-max-age 0: each host probes again): $cnt"
# The times are the server's accept(2) times: a busy machine can delay one accept more than
# the next, so allow 100 ms of scheduling jitter between two and one more in a window.
[ "$gap" -ge 100 ] && [ "$win" -le 6 ]
ok $? "never faster than 5/s: smallest gap $gap ms (want 200, 100 ms of scheduling jitter allowed), at most $win in any second (5, +1)"
[ "$span" -ge 3700 ]
ok $? "20 connections over $span ms (>= 19 x 200 ms)"
read -r rwall ruser rsys <"$W/rate5.time"
awk -v u="$ruser" -v s="$rsys" -v w="$rwall" 'BEGIN { exit !(u + s < w / 2) }'
ok $? "waiting for tokens is not busy: CPU ${ruser}+${rsys} s in ${rwall} s"
[ "$(st "$W/rate5.stats" engine.rate_waits)" -ge 15 ] &&
	[ "$(st "$W/rate5.stats" engine.probes_expired)" -ge 19 ] &&
	[ "$(st "$W/rate5.stats" engine.smtp_probes)" = 20 ]
ok $? "counters: rate_waits $(st "$W/rate5.stats" engine.rate_waits), probes_expired $(st "$W/rate5.stats" engine.probes_expired), smtp_probes $(st "$W/rate5.stats" engine.smtp_probes)"
rate_scan rate0 0
ok $? "--rate-per-ip 0 (no limit): exit 0"
read -r cnt0 gap0 win0 _ < <(gaps "$W/rate0.times")
[ "$cnt0" = 20 ] && [ "$win0" -gt 5 ]
ok $? "the control run is faster than 5/s: $cnt0 connections, up to $win0 in one second, smallest gap $gap0 ms"
[ "$(st "$W/rate0.stats" engine.rate_waits)" = 0 ]
ok $? "no rate waits without the limit"
"$DANEMAIL" scan --rate-per-ip -1 x.test >/dev/null 2>&1
[ $? -eq 64 ]
ok $? "--rate-per-ip -1: usage error"

echo "# == host resolutions expire with their TTL (short: A with TTL 1)"
# one domain after the other; between two ttl<i> domains, two rate<i> domains whose
# probes of 127.8.8.1 (--rate-per-ip 1) take a second: short's resolution has expired
before=$(grep -c "127.8.8.2 connect" "$W/good.log")
"$DANEMAIL" scan --config "$W/unbound.conf" --smtp-port "$sport" --quiet --no-policies \
	--concurrency 1 --rate-per-ip 1 --probe-max-age 0 --stats "$W/ttl.stats" \
	--jsonl "$W/ttl.jsonl" ttl1.hostile-test rate1.hostile-test rate2.hostile-test \
	ttl2.hostile-test rate3.hostile-test rate4.hostile-test ttl3.hostile-test \
	ttl4.hostile-test 2>"$W/ttl.err"
ok $? "scan of 8 domains one after the other: exit 0"
hexp=$(st "$W/ttl.stats" engine.hosts_expired)
hreuse=$(st "$W/ttl.stats" engine.host_reuses)
[ "$hexp" -ge 2 ] && [ "$hreuse" -ge 1 ]
ok $? "the shared MX host was resolved again after its TTL: hosts_expired $hexp (want >= 2), reused within it $hreuse (ttl4 right after ttl3)"
after=$(grep -c "127.8.8.2 connect" "$W/good.log")
[ $((after - before)) -eq 3 ]
ok $? "and probed again with each new resolution (--probe-max-age 0): $((after - before)) connections (want 3)"
jl() { "$py" -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["domain"] == sys.argv[2]:
        v = o
        for k in sys.argv[3].split("."):
            v = v[int(k)] if isinstance(v, list) else v.get(k)
        print(v)' "$@"; }
got="$(jl "$W/ttl.jsonl" ttl1.hostile-test mx.ttl) $(jl "$W/ttl.jsonl" ttl1.hostile-test hosts.0.ttl) $(jl "$W/ttl.jsonl" ttl1.hostile-test hosts.0.addresses_ttl) $(jl "$W/ttl.jsonl" ttl1.hostile-test hosts.0.tlsa.ttl)"
[ "$got" = "300 1 1 60" ]
ok $? "JSON TTLs: mx.ttl, hosts.0.ttl, addresses_ttl, tlsa.ttl (negative, SOA minimum) = $got (want 300 1 1 60)"
got=$(jl "$W/scale.jsonl" d1.hostile-test hosts.0.tlsa.ttl)
[ "$got" = 300 ]
ok $? "a TLSA RRset's TTL: $got (want 300)"

echo "1..$n"
[ "$fails" -eq 0 ]
