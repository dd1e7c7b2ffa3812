#!/usr/bin/env bash
# scan.sh - `danemail scan` against the testbed: its SMTP servers (testbed.sh
# start-smtp) reached through the implicit MX rule (every server's host name
# has no MX: the name itself is the mail host, RFC 5321 5.1), secure.test's
# MX, and zones of our own (zonelib.sh: a signed "scan-test." with null MX,
# shared MX hosts and policy records, a signed "example.net." whose domain
# is named by badname's certificate, an unsigned "unsigned-test.") plus
# hostile SMTP servers of our own on 127.0.4.x (garbage, endless line,
# STARTTLS 454, EHLO 5xx, 554 greeting).
#
# Checks: the verdict of every server and domain, "not testable" apart from
# "no STARTTLS", dedup (one probe per IP:port, counted in --stats), null MX,
# --shard, Tranco CSV, stdin, exit codes, JSON that parses, CSV, and the
# DANE verdicts cross-checked against `danemail verify tlsa` on the same
# hosts and domains. Needs DANEMAIL, TESTBED, TB_SMTPD and testbed.env (run
# through tests/integration/tlsa/run.sh + with-testbed.sh). Prints TAP.
# Exits 75 before any output when a port it needs is taken.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/scan/zonelib.sh
. "$here/zonelib.sh"

P=$TB_SMTP_PORT
S=secure.test
W=$TB_DIR/scan
mkdir -p "$W"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	zl_stop "$W/zone"
}
trap cleanup EXIT

# --- set-up: nothing printed before it is done (exit 75 = try another port)
if ! "$TESTBED" start-smtp "$TB_DIR" >"$TB_DIR/start-smtp.log" 2>&1; then
	grep -q "already in use" "$TB_DIR/start-smtp.log" && exit 75
	echo "Bail out! testbed.sh start-smtp failed:"
	sed 's/^/# /' "$TB_DIR/start-smtp.log"
	exit 1
fi
# Hostile servers of our own (no TLSA for them: the transport state is the point).
extra="127.0.4.1:--garbage 127.0.4.2:--endless-line 127.0.4.3:--starttls-454
127.0.4.4:--ehlo-5xx 127.0.4.5:--greeting-554 127.0.4.6:--multiline-greeting"
for spec in $extra; do
	a=${spec%%:*}
	if ss -Hlnt "( sport = :$P )" 2>/dev/null | awk '{print $4}' |
		grep -qE "^($a|0\.0\.0\.0|\*|\[::\]):$P$"; then
		exit 75
	fi
done
c=$TB_SMTP_CERTS
for spec in $extra; do
	a=${spec%%:*}
	certs=(--cert "$c/mismatch.pem" --key "$c/mismatch.key")
	# 127.0.4.6: dane-ee's ECDSA key (in its TLSA) and mail.secure.test's RSA key (not)
	[ "$a" = 127.0.4.6 ] && certs=(--cert "$c/dane-ee.pem" --key "$c/dane-ee.key"
		--cert "$TB_MAIL_SECURE_CERT" --key "$TB_MAIL_SECURE_KEY")
	"$TB_SMTPD" --listen "$a:$P" "${certs[@]}" \
		"${spec#*:}" --pidfile "$W/$a.pid" --log "$W/$a.log" 2>"$W/$a.err" &
	pids+=($!)
done
for spec in $extra; do
	a=${spec%%:*}
	for _ in $(seq 100); do [ -s "$W/$a.pid" ] && break; sleep 0.05; done
	[ -s "$W/$a.pid" ] || { grep -qi "in use" "$W/$a.err" && exit 75; }
done

# MTA-STS policy servers (tests/tools/httpsd): shared1's covers its MX, shared2's
# misses one of its two MX hosts, shared3's is mode none (nothing to cover); certificates from the testbed's CA.
hport=
STS=()
for p in $( [ -n "${TB_HTTPSD:-}" ] && seq 10443 10499); do
	if zl_port_free "$p"; then hport=$p; break; fi
done
ca=$TB_SMTP_CERTS
if [ -n "$hport" ]; then
	if ! {
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mta-sts \
			-keyout "$W/sts.key" -out "$W/sts.csr" &&
			printf 'subjectAltName=DNS:mta-sts.shared1.scan-test,DNS:mta-sts.shared2.scan-test,DNS:mta-sts.shared3.scan-test\n' \
				>"$W/sts.ext" &&
			openssl x509 -req -in "$W/sts.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
				-CAcreateserial -CAserial "$W/sts.srl" -days 2 -extfile "$W/sts.ext" \
				-out "$W/sts.pem"
	} >/dev/null 2>&1; then
		echo "Bail out! cannot make the MTA-STS certificate"
		exit 1
	fi
	mkdir -p "$W/sts1/.well-known" "$W/sts2/.well-known" "$W/sts3/.well-known"
	printf 'version: STSv1\r\nmode: enforce\r\nmx: dane-ee.%s\r\nmax_age: 86400\r\n' "$S" \
		>"$W/sts1/.well-known/mta-sts.txt"
	printf 'version: STSv1\nmode: testing\nmx: dane-ee.%s\nmax_age: 604800\n' "$S" \
		>"$W/sts2/.well-known/mta-sts.txt"
	printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$W/sts3/.well-known/mta-sts.txt"
	for i in 1 2 3; do
		"$TB_HTTPSD" --listen "127.0.4.1$i:$hport" --cert "$W/sts.pem" --key "$W/sts.key" \
			--root "$W/sts$i" --pidfile "$W/sts$i.pid" 2>"$W/sts$i.err" &
		pids+=($!)
	done
	for i in 1 2 3; do
		for _ in $(seq 100); do [ -s "$W/sts$i.pid" ] && break; sleep 0.05; done
		[ -s "$W/sts$i.pid" ] || exit 75
	done
	STS=(--mta-sts-port "$hport" --mta-sts-resolve
		"mta-sts.shared1.scan-test:$hport:127.0.4.11,mta-sts.shared2.scan-test:$hport:127.0.4.12,mta-sts.shared3.scan-test:$hport:127.0.4.13")
else
	# no policy server: keep the fetches on loopback all the same (nothing listens there)
	STS=(--mta-sts-port 9 --mta-sts-resolve
		"mta-sts.shared1.scan-test:9:127.0.4.11,mta-sts.shared2.scan-test:9:127.0.4.12")
fi
STS+=(--ca-file "$ca/ca.pem")

# Our zones, on a port of our own (zl_nsd_start_free).
Z=$W/zone
mkdir -p "$Z"
soa='@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1'
cat >"$Z/scan-test.zone" <<EOF
\$ORIGIN scan-test.
\$TTL 300
$soa
nullmx IN MX 0 .
nullmx-mixed IN MX 0 .
nullmx-mixed IN MX 10 dane-ee.$S.
shared1 IN MX 10 dane-ee.$S.
shared1 IN TXT "v=spf1 mx -all"
_dmarc.shared1 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@scan-test"
_mta-sts.shared1 IN TXT "v=STSv1; id=20261129"
_smtp._tls.shared1 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@scan-test"
_dmarc.orgtest IN TXT "v=DMARC1; p=reject; sp=quarantine"
sub.orgtest IN MX 10 dane-ee.$S.
_mta-sts.shared2 IN TXT "v=STSv1; id=1"
shared2 IN MX 10 dane-ee.$S.
shared2 IN MX 20 dane-ta.$S.
_mta-sts.shared3 IN TXT "v=STSv1; id=3"
shared3 IN MX 10 dane-ee.$S.
samehost IN MX 10 dane-ta.$S.
samehost IN MX 20 cname-ta.$S.
worst IN MX 10 dane-ee.$S.
worst IN MX 20 greet421.$S.
worst IN MX 30 mismatch.$S.
untestable IN MX 10 greet421.$S.
untestable IN MX 20 stall.$S.
garbage IN A 127.0.4.1
endless IN A 127.0.4.2
starttls454 IN A 127.0.4.3
ehlo5xx IN A 127.0.4.4
greet554 IN A 127.0.4.5
twocerts IN A 127.0.4.6
_$P._tcp.twocerts IN TLSA 3 1 1 $TB_SMTP_DANE_EE_SPKI
EOF
cat >"$Z/example.net.zone" <<EOF
\$ORIGIN example.net.
\$TTL 300
$soa
www IN MX 10 badname.$S.
EOF
cat >"$Z/unsigned-test.zone" <<EOF
\$ORIGIN unsigned-test.
\$TTL 300
$soa
plainmx IN MX 10 dane-ee.$S.
EOF
{
	zl_sign "$Z" scan-test "$Z/scan-test.zone" &&
		zl_sign "$Z" example.net "$Z/example.net.zone" &&
		cp "$Z/unsigned-test.zone" "$Z/unsigned-test.signed" &&
		zl_nsd_start_free "$Z" 127.0.0.1 $((TB_PORT + 100)) $((TB_PORT + 300)) \
			scan-test example.net unsigned-test &&
		zl_unbound_conf "$Z" "$TB_UNBOUND_CONF" "127.0.0.1@$ZL_PORT" \
			scan-test example.net unsigned-test
} >"$W/zone.log" 2>&1 || {
	echo "Bail out! our zones did not start: $(tail -n 1 "$W/zone.log")"
	sed 's/^/# /' "$W/zone.log"
	exit 1
}
CONF=$Z/unbound.conf

# --- TAP
n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# jl FILE DOMAIN PATH...: dotted PATHs of DOMAIN's object in the JSON Lines FILE,
# one per line ("null" when absent; lists take numeric indexes; "#" = length;
# [KEY] for a key with dots: tls_versions[TLSv1.2]).
jl() {
	"$py" - "$@" <<'PY'
import json, re, sys
doc = None
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("domain") == sys.argv[2]:
        doc = o
for path in sys.argv[3:]:
    v = doc
    for k in [a or b for a, b in re.findall(r"\[([^\]]*)\]|([^.\[]+)", path)]:
        if k == "#" and isinstance(v, (list, dict)):
            v = len(v)
        elif isinstance(v, list) and k.isdigit() and int(k) < len(v):
            v = v[int(k)]
        elif isinstance(v, dict):
            v = v.get(k)
        else:
            v = None
    print("null" if v is None else json.dumps(v) if isinstance(v, bool) else v)
PY
}
# is FILE DOMAIN PATH WANT DESCRIPTION
is() {
	local got
	got=$(jl "$1" "$2" "$3")
	[ "$got" = "$4" ]
	ok $? "$5: $2 $3 = $got (want $4)"
}
# every line of FILE parses as a JSON object with schema 1
parses() {
	"$py" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert isinstance(o, dict) and o["schema"] == 1, line
    n += 1
print(n)' "$1"
}
scan() { # scan OUT ARGS...: danemail scan --config CONF --smtp-port P ARGS > OUT
	local out=$1
	shift
	"$DANEMAIL" scan --config "$CONF" --smtp-port "$P" "${STS[@]}" "$@" >"$out" 2>"$out.err"
}

echo "# == the testbed's SMTP servers, each as a domain without MX (port $P)"
servers="dane-ee dane-ta mismatch unusable expired nostarttls oldtls badname ta-expired
ee-name stall greet421 down plain cname-ta cname-orig alias-insecure"
doms=()
for s in $servers; do doms+=("$s.$S"); done
doms+=(dane.insecure.test dane.bogus.test "$S" "nonexistent.$S")
out=$W/servers.jsonl
t0=${EPOCHREALTIME/[.,]/}
scan "$out" --timeout 2000 --stats "$W/servers.stats" "${doms[@]}"
rc=$?
t1=${EPOCHREALTIME/[.,]/}
ms=$(((10#$t1 - 10#$t0) / 1000))
ok $rc "scan of 21 domains: exit $rc (want 0)"
[ "$(parses "$out")" = 21 ]
ok $? "21 JSON objects, each parses, schema 1"
[ "$ms" -lt 6000 ]
ok $? "one loop for all: $ms ms, bounded by the 2 s stage timeout of the stalling server"

# name verdict transport [extra checks as PATH=WANT]
expect() {
	local d=$1 v=$2 t=$3 kv
	shift 3
	is "$out" "$d" verdict "$v" "verdict"
	[ "$t" = - ] || is "$out" "$d" hosts.0.addresses.0.transport "$t" "transport"
	for kv in "$@"; do is "$out" "$d" "${kv%%=*}" "${kv#*=}" "detail"; done
}
A=hosts.0.addresses.0
expect "dane-ee.$S" pass tls mx.kind=implicit starttls=all "$A.tls.dane.matched.usage=3" \
	"$A.rollover=next-key-published" "$A.tls.version=TLSv1.3"
expect "dane-ta.$S" pass tls "$A.tls.dane.matched.usage=2" "$A.tls.dane.matched.depth=1" \
	"$A.tls.dane.peer_name=dane-ta.$S" "$A.smtp.greeting=220 dane-ta.$S ESMTP smtpd_test (+2 lines)" \
	"$A.tls.names_host=true"
expect "mismatch.$S" tlsa-mismatch tls "$A.tls.dane.verify=no matching DANE TLSA records"
expect "unusable.$S" tlsa-unusable tls "$A.tls.dane.records=0"
expect "expired.$S" pass tls "$A.tls.certificate.expired=true"
expect "nostarttls.$S" starttls-missing no-starttls starttls=none "$A.smtp.result=no-starttls"
expect "oldtls.$S" tls-failed tls-failed "$A.smtp.result=tls-failed"
expect "badname.$S" name-mismatch tls "$A.tls.names_host=false"
expect "ta-expired.$S" cert-expired tls
expect "ee-name.$S" pass tls "$A.rollover=fragile"
expect "stall.$S" not-testable not-testable starttls=untestable "$A.smtp.result=timeout" \
	"$A.smtp.stage=ehlo"
expect "greet421.$S" not-testable not-testable "$A.smtp.result=greeting-rejected"
expect "down.$S" unreachable not-testable "$A.smtp.result=refused"
expect "plain.$S" tlsa-absent tls
expect "cname-ta.$S" pass tls hosts.0.canonical=dane-ta.$S hosts.0.tlsa.base_domain=dane-ta.$S
expect "cname-orig.$S" pass tls hosts.0.tlsa.base_domain=cname-orig.$S
expect "alias-insecure.$S" pass tls hosts.0.secure_alias=true hosts.0.addresses_dnssec=insecure
expect dane.insecure.test dnssec-insecure tls mx.dnssec=insecure hosts.0.tlsa=null
expect dane.bogus.test dnssec-bogus - mx.kind=bogus hosts.#=0 starttls=no-mail \
	"verdict_where=MX RRset of dane.bogus.test"
# TLSA for mail.secure.test exists at _25._tcp only: on port 25 a refused connection is
# "unreachable", elsewhere the secure denial of TLSA comes first (dane_decide's order)
[ "$P" = 25 ] && want=unreachable || want=tlsa-absent
expect "$S" "$want" not-testable mx.kind=mx mx.dnssec=secure hosts.0.host=mail.$S \
	hosts.0.preference=10 $A.address=127.0.1.1 "verdict_where=MX 10 mail.$S"
expect "nonexistent.$S" unreachable - mx.kind=nxdomain mx.dnssec=secure starttls=no-mail
! grep -q connect "$TB_DIR/smtp/dane.bogus.test.log"
ok $? "no connection to the bogus zone's server (RFC 7672 2.1.1)"
grep -q "sni=cname-orig.$S\|sni=plain.$S" "$TB_DIR/smtp/plain.$S.log"
ok $? "SNI sent (the TLSA base domain of the first host that asked)"

echo "# == cross-check: the same verdicts from danemail verify tlsa (same hosts)"
vt() { # vt ARGS...: verify tlsa's verdict
	"$DANEMAIL" verify tlsa --json --timeout 2000 --config "$CONF" "$@" 2>/dev/null |
		"$py" -c 'import json,sys; print(json.load(sys.stdin)["verdict"])' 2>/dev/null
}
for s in $servers; do
	want=$(vt "$s.$S:$P")
	got=$(jl "$out" "$s.$S" verdict)
	[ -n "$want" ] && [ "$got" = "$want" ]
	ok $? "verify tlsa agrees on $s: scan $got, verify $want"
done
for d in dane.insecure.test dane.bogus.test; do
	want=$(vt "$d:$P")
	got=$(jl "$out" "$d" verdict)
	[ "$got" = "$want" ]
	ok $? "verify tlsa agrees on $d: scan $got, verify $want"
done
want=$(vt --port "$P" --mx "$S")
got=$(jl "$out" "$S" verdict)
[ "$got" = "$want" ]
ok $? "verify tlsa --mx agrees on $S: scan $got, verify $want"

echo "# == DNS failures are never 'no records'"
"$DANEMAIL" scan --config "$TB_UNBOUND_DOWN_CONF" --quiet "dane-ee.$S" nullmx.scan-test \
	>"$W/down.jsonl" 2>/dev/null
ok $? "DNS server down: exit 0"
is "$W/down.jsonl" "dane-ee.$S" mx.kind lookup-failed "MX lookup failed"
is "$W/down.jsonl" "dane-ee.$S" mx.outcome servfail "SERVFAIL"
is "$W/down.jsonl" "dane-ee.$S" verdict lookup-failed "verdict"
is "$W/down.jsonl" "dane-ee.$S" starttls no-mail "no STARTTLS claim either way"
is "$W/down.jsonl" nullmx.scan-test mx.kind lookup-failed "not mistaken for a null MX"
"$DANEMAIL" scan --config "$TB_UNBOUND_DOWN_CONF" --quiet --dns-timeout 100 "dane-ee.$S" \
	>"$W/timeout.jsonl" 2>/dev/null
is "$W/timeout.jsonl" "dane-ee.$S" mx.outcome timeout "--dns-timeout 100: the lookup times out"
is "$W/timeout.jsonl" "dane-ee.$S" verdict lookup-failed "verdict"

echo "# == both resolver front ends agree (--dns-inline: lib/dns dns_async in the loop)"
scan "$W/inline.jsonl" --timeout 2000 --dns-inline "${doms[@]}"
ok $? "--dns-inline: exit 0"
scan "$W/threads1.jsonl" --timeout 2000 --dns-threads 1 "${doms[@]}"
ok $? "--dns-threads 1: exit 0"
verdicts() {
	"$py" -c '
import json, sys
print(sorted((o["domain"], o["verdict"], o["mx"]["dnssec"], o["starttls"],
              [(h["host"], h["addresses_dnssec"], (h["tlsa"] or {}).get("dnssec"),
                [(a["address"], a.get("verdict"), a["transport"]) for a in h["addresses"]])
               for h in o["hosts"]])
             for o in map(json.loads, open(sys.argv[1]))))' "$1"
}
[ "$(verdicts "$W/inline.jsonl")" = "$(verdicts "$W/servers.jsonl")" ]
ok $? "in-loop and threaded resolution: the same states and verdicts for all 21 domains"
[ "$(verdicts "$W/threads1.jsonl")" = "$(verdicts "$W/servers.jsonl")" ]
ok $? "one resolver thread or several: the same states and verdicts"

echo "# == MX domains of our zones: null MX, shared hosts, the worst MX named"
out=$W/mx.jsonl
mxdoms=(nullmx.scan-test nullmx-mixed.scan-test shared1.scan-test shared2.scan-test
	samehost.scan-test worst.scan-test untestable.scan-test www.example.net plainmx.unsigned-test
	"dane-mx.$S" "mixed-mx.$S")
scan "$out" --timeout 2000 "${mxdoms[@]}"
ok $? "scan of the MX domains: exit 0"
expect nullmx.scan-test unreachable - mx.kind=null-mx mx.null_records=1 hosts.#=0 \
	starttls=no-mail "rule=RFC 7505 3: a null MX: the domain accepts no mail"
expect nullmx-mixed.scan-test pass tls mx.kind=mx mx.null_records=1 hosts.#=1 notes.#=1
expect shared1.scan-test pass tls "verdict_where=the MX host"
expect shared2.scan-test pass tls "verdict_where=all 2 MX hosts" hosts.1.host=dane-ta.$S
expect samehost.scan-test pass tls hosts.1.host=cname-ta.$S
expect worst.scan-test tlsa-mismatch tls "verdict_where=MX 30 mismatch.$S" hosts.1.verdict=not-testable \
	hosts.1.addresses.0.transport=not-testable starttls=all
expect untestable.scan-test not-testable not-testable starttls=untestable \
	hosts.1.addresses.0.transport=not-testable
expect www.example.net pass tls "$A.tls.dane.peer_name=www.example.net" mx.dnssec=secure
expect plainmx.unsigned-test pass tls mx.dnssec=insecure notes.#=1
expect "dane-mx.$S" pass tls "verdict_where=all 2 MX hosts"
expect "mixed-mx.$S" tlsa-mismatch tls "verdict_where=MX 20 mismatch.$S"
for d in "${mxdoms[@]}"; do
	want=$(vt --port "$P" --mx "$d")
	got=$(jl "$out" "$d" verdict)
	[ -n "$want" ] && [ "$got" = "$want" ]
	ok $? "verify tlsa --mx agrees on $d: scan $got, verify $want"
done
# badname's certificate names www.example.net only: the next-hop domain (secure MX
# RRset, RFC 7672 3.2.2) is what makes it pass; as a host of its own it fails.
[ "$(jl "$W/servers.jsonl" "badname.$S" verdict)" = name-mismatch ]
ok $? "the same server without the next-hop domain: name-mismatch"

echo "# == not testable is never no STARTTLS"
out=$W/hostile.jsonl
scan "$out" --timeout 2000 garbage.scan-test endless.scan-test starttls454.scan-test \
	ehlo5xx.scan-test greet554.scan-test
ok $? "scan of the hostile servers: exit 0"
expect garbage.scan-test tlsa-absent not-testable "$A.smtp.result=protocol-error" starttls=untestable
expect endless.scan-test tlsa-absent not-testable "$A.smtp.result=protocol-error"
expect starttls454.scan-test tlsa-absent tls-failed "$A.smtp.result=starttls-rejected" \
	"$A.smtp.starttls_code=454" starttls=none
expect ehlo5xx.scan-test tlsa-absent no-starttls "$A.smtp.helo_fallback=true" starttls=none
expect greet554.scan-test tlsa-absent not-testable "$A.smtp.result=greeting-rejected" \
	"$A.smtp.greeting_code=554"

echo "# == one probe per IP:port, however many domains and names lead there"
out=$W/dedup.jsonl
conns() { grep -c " connect$" "$TB_DIR/smtp/$1.log"; }
before_ee=$(conns "dane-ee.$S")
before_ta=$(conns "dane-ta.$S")
scan "$out" --stats "$W/dedup.stats" shared1.scan-test shared2.scan-test samehost.scan-test \
	"dane-ee.$S" "cname-ta.$S" "dane-ta.$S" dane-mx.$S
ok $? "scan: exit 0"
st() { "$py" -c 'import json,re,sys; d=json.load(open(sys.argv[1]))
for a, b in re.findall(r"\[([^\]]*)\]|([^.\[]+)", sys.argv[2]): d=d[a or b]
print(d)' "$1" "$2"; }
[ "$(st "$W/dedup.stats" engine.smtp_probes)" = 2 ]
ok $? "7 domains, 3 host names, 2 addresses: $(st "$W/dedup.stats" engine.smtp_probes) SMTP probes (want 2)"
[ "$(st "$W/dedup.stats" engine.hosts_resolved)" = 3 ]
ok $? "host names resolved once each: $(st "$W/dedup.stats" engine.hosts_resolved) (want 3: dane-ee, dane-ta, cname-ta)"
ids=$("$py" -c '
import json, sys
ids = set()
for line in open(sys.argv[1]):
    for h in json.loads(line)["hosts"]:
        for a in h["addresses"]:
            if a["address"] == "127.0.1.2":
                ids.add(a["probe_id"])
print(len(ids))' "$out")
[ "$ids" = 1 ]
ok $? "every domain reaching 127.0.1.2 got the result of the same probe ($ids id)"
got="$(($(conns "dane-ee.$S") - before_ee)) $(($(conns "dane-ta.$S") - before_ta))"
[ "$got" = "1 1" ]
ok $? "the servers saw one connection each: $got (want 1 1)"
before=$(conns "dane-ee.$S")
scan "$W/dedup2.jsonl" --concurrency 1 shared1.scan-test shared2.scan-test "dane-ee.$S"
after=$(conns "dane-ee.$S")
[ $((after - before)) -eq 1 ]
ok $? "three domains one after the other (--concurrency 1): $((after - before)) connection to dane-ee (want 1)"

scan "$W/evict.jsonl" --concurrency 1 --host-cache 0 --probe-cache 0 --stats "$W/evict.stats" \
	shared1.scan-test shared2.scan-test samehost.scan-test "dane-ee.$S"
ok $? "--host-cache 0 --probe-cache 0: exit 0"
[ "$(st "$W/evict.stats" engine.hosts_evicted)" -ge 3 ] &&
	[ "$(st "$W/evict.stats" engine.probes_evicted)" -ge 1 ]
ok $? "idle hosts and probes evicted: $(st "$W/evict.stats" engine.hosts_evicted) hosts, $(st "$W/evict.stats" engine.probes_evicted) probes"
[ "$(st "$W/evict.stats" engine.smtp_probes)" -gt 2 ]
ok $? "evicted results are probed again: $(st "$W/evict.stats" engine.smtp_probes) probes (2 with the cache)"
for d in shared1.scan-test shared2.scan-test samehost.scan-test "dane-ee.$S"; do
	is "$W/evict.jsonl" "$d" verdict pass "same verdict without the tables"
done

echo "# == policies (SPF, DMARC, MTA-STS, TLS-RPT)"
if [ "$(jl "$W/mx.jsonl" shared1.scan-test spf)" = null ]; then
	echo "ok $((n + 1)) - # SKIP mailpolicy not linked: no policy fields"
	n=$((n + 1))
else
	out=$W/mx.jsonl
	is "$out" shared1.scan-test spf.state valid "SPF"
	is "$out" shared1.scan-test dmarc.policy quarantine "DMARC policy"
	is "$out" shared1.scan-test mta_sts.state valid "MTA-STS TXT record"
	is "$out" shared1.scan-test tls_rpt.state valid "TLS-RPT"
	is "$out" shared2.scan-test spf.state absent "no SPF"
	is "$out" "$S" spf.state null "secure.test was not in this run"
	got=$(jl "$W/servers.jsonl" "$S" spf.state dmarc.policy | tr '\n' ' ')
	[ "$got" = "valid reject " ]
	ok $? "secure.test: SPF valid, DMARC p=reject ($got)"
	echo "# DMARC at the organizational domain (RFC 7489 6.6.3; libpsl: unknown TLDs are suffixes)"
	is "$W/servers.jsonl" "$S" dmarc.found_at domain "secure.test's own record"
	is "$W/servers.jsonl" "dane-ee.$S" dmarc.found_at org-domain "a subdomain without a record"
	is "$W/servers.jsonl" "dane-ee.$S" dmarc.org_domain "$S" "its organizational domain"
	is "$W/servers.jsonl" "dane-ee.$S" dmarc.effective_policy reject "p= applies (no sp=)"
	is "$W/mx.jsonl" shared1.scan-test dmarc.found_at domain "own record"
	is "$W/mx.jsonl" shared2.scan-test dmarc.org_domain shared2.scan-test "its own org domain"
	is "$W/mx.jsonl" shared2.scan-test dmarc.state absent "none there: absent, no second lookup"
	scan "$W/org.jsonl" sub.orgtest.scan-test
	is "$W/org.jsonl" sub.orgtest.scan-test dmarc.found_at org-domain "found at the org domain"
	is "$W/org.jsonl" sub.orgtest.scan-test dmarc.org_domain orgtest.scan-test "org domain"
	is "$W/org.jsonl" sub.orgtest.scan-test dmarc.policy reject "p="
	is "$W/org.jsonl" sub.orgtest.scan-test dmarc.effective_policy quarantine "sp= applies (RFC 7489 6.3)"
	printf '// a private list\nscan-test\norgtest.scan-test\n' >"$W/psl.dat"
	scan "$W/psl.jsonl" --psl "$W/psl.dat" sub.orgtest.scan-test
	is "$W/psl.jsonl" sub.orgtest.scan-test dmarc.org_domain sub.orgtest.scan-test \
		"--psl: orgtest.scan-test is a public suffix"
	is "$W/psl.jsonl" sub.orgtest.scan-test dmarc.state absent "--psl: no record, none looked for"
	is "$W/psl.jsonl" sub.orgtest.scan-test dmarc.found_at null "--psl: found nowhere"
	"$DANEMAIL" scan --config "$CONF" --psl "$W/nonexistent.dat" "dane-ee.$S" >/dev/null 2>&1
	[ $? -eq 70 ]
	ok $? "--psl with a missing file: exit 70"
	scan "$W/nopol.jsonl" --no-policies shared1.scan-test
	is "$W/nopol.jsonl" shared1.scan-test spf null "--no-policies: no SPF field"
	if [ -z "$hport" ]; then
		echo "ok $((n + 1)) - # SKIP no tests/tools/httpsd: MTA-STS policies not fetched"
		n=$((n + 1))
	else
		echo "# MTA-STS policies over HTTPS (tests/tools/httpsd, port $hport)"
		is "$out" shared1.scan-test mta_sts.policy.fetch ok "policy fetched"
		is "$out" shared1.scan-test mta_sts.policy.mode enforce "mode"
		is "$out" shared1.scan-test mta_sts.policy.max_age 86400 "max_age"
		is "$out" shared1.scan-test mta_sts.policy.mx_covered true "the policy covers the MX set"
		is "$out" shared2.scan-test mta_sts.policy.mode testing "mode"
		is "$out" shared2.scan-test mta_sts.policy.mx_covered false "a policy that misses an MX host"
		is "$out" shared2.scan-test mta_sts.policy.mx_not_covered.0 "dane-ta.$S" "the MX host named"
		scan "$W/sts3.jsonl" shared3.scan-test
		is "$W/sts3.jsonl" shared3.scan-test mta_sts.policy.mode none "mode none"
		is "$W/sts3.jsonl" shared3.scan-test mta_sts.policy.mx_covered null \
			"mode none: no MX list to cover (RFC 8461 5), not a failure"
	fi
	scan "$W/nofetch.jsonl" --no-mta-sts-fetch shared1.scan-test
	is "$W/nofetch.jsonl" shared1.scan-test mta_sts.policy null "--no-mta-sts-fetch: TXT only"
	is "$W/nofetch.jsonl" shared1.scan-test mta_sts.state valid "--no-mta-sts-fetch: TXT judged"
fi

echo "# == PKIX and names (--ca-file: the testbed CA)"
is "$W/servers.jsonl" "dane-ta.$S" "$A.tls.pkix_valid" true "a CA-issued certificate chains to the CA"
is "$W/servers.jsonl" "ta-expired.$S" "$A.tls.pkix_error" "certificate has expired" "PKIX: expired"
is "$W/servers.jsonl" "dane-ee.$S" "$A.tls.pkix_valid" false "self-signed: no PKIX path"
is "$W/servers.jsonl" "dane-ta.$S" "$A.tls.certificate.issuer" "$(openssl x509 -in "$ca/ca.pem" \
	-noout -subject -nameopt RFC2253 | sed 's/^subject=//')" "issuer"
is "$W/servers.jsonl" "dane-ta.$S" "$A.tls.certificate.dns_names.0" "dane-ta.$S" "SAN"
is "$W/servers.jsonl" "dane-ta.$S" "$A.tls.certificate.key_type" EC "key type"
is "$W/servers.jsonl" "dane-ta.$S" "$A.tls.certificate.key_bits" 256 "key size"

echo "# == --tls-enumerate: each TLS version, each certificate type"
out=$W/enum.jsonl
scan "$out" --tls-enumerate --stats "$W/enum.stats" "dane-ee.$S" "oldtls.$S" twocerts.scan-test
ok $? "--tls-enumerate: exit 0"
V=$A.tls_versions
expect "dane-ee.$S" pass tls "$V.TLSv1=false" "${V}[TLSv1.1]=false" "${V}[TLSv1.2]=true" \
	"${V}[TLSv1.3]=true" "$A.certificates.#=2" "$A.certificates.0.key_type=EC" \
	"$A.certificates.1.key_type=RSA" "$A.certificates.1.verdict=pass"
expect "oldtls.$S" tls-failed tls-failed "$V.TLSv1=true" "${V}[TLSv1.2]=false" "${V}[TLSv1.3]=false"
expect twocerts.scan-test tlsa-mismatch tls "$A.certificates.#=2" \
	"$A.certificates.0.verdict=pass" "$A.certificates.1.key_type=RSA" \
	"$A.certificates.1.verdict=tlsa-mismatch"
scan "$W/noenum.jsonl" twocerts.scan-test
is "$W/noenum.jsonl" twocerts.scan-test verdict pass "without --tls-enumerate only the ECDSA certificate is seen"
[ "$(st "$W/enum.stats" tls_accepted.TLSv1)" = 1 ] && [ "$(st "$W/enum.stats" "tls_accepted[TLSv1.3]")" = 2 ]
ok $? "stats: TLS 1.0 accepted by 1 domain, TLS 1.3 by 2"
[ "$(st "$W/enum.stats" engine.enumeration_sessions)" -ge 8 ]
ok $? "extra sessions counted: $(st "$W/enum.stats" engine.enumeration_sessions)"
[ "$(st "$W/enum.stats" engine.rate_waits)" -ge 3 ]
ok $? "the sessions to one address waited for --rate-per-ip (default 2/s): $(st "$W/enum.stats" engine.rate_waits) waits"
echo "# TTLs in the JSON (the zones' \$TTL 300; the testbed's TLSA RRsets)"
is "$W/mx.jsonl" shared1.scan-test mx.ttl 300 "MX RRset TTL"
[ "$(jl "$W/servers.jsonl" "dane-ee.$S" hosts.0.tlsa.ttl)" -gt 0 ] &&
	[ "$(jl "$W/servers.jsonl" "dane-ee.$S" hosts.0.ttl)" -le "$(jl "$W/servers.jsonl" "dane-ee.$S" hosts.0.tlsa.ttl)" ]
ok $? "TLSA TTL $(jl "$W/servers.jsonl" "dane-ee.$S" hosts.0.tlsa.ttl), host cache TTL $(jl "$W/servers.jsonl" "dane-ee.$S" hosts.0.ttl) (the smaller)"

echo "# == input: Tranco CSV, plain lists, stdin, bad lines"
printf 'rank,domain\n1,shared1.scan-test\n2,nullmx.scan-test\n3,not a domain\n4,DANE-EE.Secure.Test.\n' \
	>"$W/tranco.csv"
out=$W/tranco.jsonl
scan "$out" --input "$W/tranco.csv" --csv "$W/tranco.out.csv" --jsonl "$out.2"
rc=$?
mv "$out.2" "$out"
[ $rc -eq 65 ]
ok $? "a Tranco list with a bad line: exit $rc (want 65: the rest scanned)"
[ "$(parses "$out")" = 4 ]
ok $? "4 JSON objects (3 domains, 1 error)"
is "$out" shared1.scan-test rank 1 "rank from the CSV"
is "$out" nullmx.scan-test rank 2 "rank"
is "$out" dane-ee.secure.test rank 4 "name lower-cased, final dot dropped"
is "$out" "not a domain" input_line 4 "the bad line is reported with its line number"
grep -q "not allowed" <<<"$(jl "$out" "not a domain" error)"
ok $? "and why: $(jl "$out" "not a domain" error)"
[ "$(wc -l <"$W/tranco.out.csv")" = 5 ] && head -n 1 "$W/tranco.out.csv" | grep -q "^domain,rank,"
ok $? "CSV: a header and 4 lines"
grep -q "^shared1.scan-test,1,mx,secure,1,pass,the MX host,all,TLSv1.3," "$W/tranco.out.csv"
ok $? "CSV line of shared1: $(grep ^shared1 "$W/tranco.out.csv" | cut -c 1-90)"
printf '# a comment\nshared1.scan-test\n\n  nullmx.scan-test  \n' |
	"$DANEMAIL" scan --config "$CONF" --smtp-port "$P" --input - --quiet >"$W/stdin.jsonl" 2>"$W/stdin.err"
rc=$?
[ $rc -eq 0 ] && [ "$(parses "$W/stdin.jsonl")" = 2 ]
ok $? "stdin list with a comment, a blank line and blanks: exit $rc, 2 domains"

echo "# == --shard I/N"
for i in $(seq 30); do echo "s$i.scan-test"; done >"$W/list.txt"
for i in 1 2 3; do
	scan "$W/shard$i.jsonl" --quiet --input "$W/list.txt" --shard "$i/3"
	ok $? "shard $i/3: exit 0"
done
"$py" - "$W" <<'PY' >"$W/shard.check"
import json, sys
seen = []
ok = True
for i in (1, 2, 3):
    for line in open("%s/shard%d.jsonl" % (sys.argv[1], i)):
        o = json.loads(line)
        seen.append(o["domain"])
        ok = ok and o["position"] % 3 == i - 1 and o["mx"]["kind"] == "nxdomain"
print(len(seen), len(set(seen)), ok)
PY
[ "$(cat "$W/shard.check")" = "30 30 True" ]
ok $? "3 shards: every entry once, entry p in shard p mod 3 + 1 ($(cat "$W/shard.check"))"
"$DANEMAIL" scan --config "$CONF" --quiet --input - --shard 3/3 \
	<"$W/list.txt" >"$W/shard-stdin.jsonl" 2>/dev/null
[ "$(parses "$W/shard-stdin.jsonl")" = 10 ]
ok $? "a shard of stdin: 10 of 30"

echo "# == output, progress, stats"
scan "$W/p.jsonl" --progress --stats - "dane-ee.$S" nullmx.scan-test
ok $? "--progress --stats -: exit 0"
grep -q "scan: " "$W/p.jsonl.err"
ok $? "a progress line on stderr"
grep -q "valid DANE" "$W/p.jsonl.err"
ok $? "the aggregate table on stderr"
"$py" -c '
import json, sys
text = open(sys.argv[1]).read()
start = text.index("\n{") + 1 if not text.startswith("{") else 0
# the stats object follows the JSON Lines on stdout: the last top-level object
dec = json.JSONDecoder()
objs, i = [], 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    objs.append(o)
s = objs[-1]
assert s["domains"] == 2 and s["verdict"]["pass"] == 1 and s["mx_kind"]["null-mx"] == 1, s
assert s["starttls"]["all"] == 1 and s["tls_lowest"]["TLSv1.3"] == 1, s
' "$W/p.jsonl"
ok $? "--stats JSON: 2 domains, 1 pass, 1 null MX, 1 with STARTTLS on TLS 1.3"
scan "$W/q.jsonl" --quiet "dane-ee.$S"
[ ! -s "$W/q.jsonl.err" ]
ok $? "--quiet: nothing on stderr"
scan "$W/legacy.jsonl" --legacy-tls "oldtls.$S"
is "$W/legacy.jsonl" "oldtls.$S" verdict pass "--legacy-tls"
is "$W/legacy.jsonl" "oldtls.$S" tls_lowest TLSv1 "TLS 1.0 negotiated"
scan "$W/only.csv" --csv - "dane-ee.$S"
[ "$(wc -l <"$W/only.csv")" = 2 ]
ok $? "--csv - alone: CSV on stdout, no JSON Lines"

echo "# == SIGTERM: the domains in flight finish, no new ones start"
"$DANEMAIL" scan --config "$CONF" --smtp-port "$P" --quiet --timeout 1500 --concurrency 1 \
	"stall.$S" "dane-ee.$S" "mismatch.$S" >"$W/sig.jsonl" 2>"$W/sig.err" &
spid=$!
# once the first domain is in flight: the stalling server has a new connection
before=$(conns "stall.$S")
for _ in $(seq 250); do
	[ "$(conns "stall.$S")" -gt "$before" ] && break
	sleep 0.02
done
kill -TERM "$spid"
wait "$spid"
rc=$?
[ $rc -eq 1 ]
ok $? "interrupted: exit $rc (want 1)"
[ "$(parses "$W/sig.jsonl")" = 1 ] && [ "$(jl "$W/sig.jsonl" "stall.$S" verdict)" = not-testable ]
ok $? "the domain in flight was finished and written, the others not started"
grep -q "signal" "$W/sig.err"
ok $? "the signal is reported on stderr"

echo "# == exit codes"
code() { # code WANT DESCRIPTION ARGS...
	local want=$1 what=$2 rc
	shift 2
	"$DANEMAIL" scan --config "$CONF" "$@" >/dev/null 2>"$W/code.err"
	rc=$?
	[ $rc -eq "$want" ]
	ok $? "$what: exit $rc (want $want) $(head -n 1 "$W/code.err" | cut -c 1-80)"
}
code 64 "no domains"
code 64 "domains and --input" --input "$W/list.txt" "dane-ee.$S"
code 64 "--shard 0/3" --shard 0/3 "dane-ee.$S"
code 64 "--shard 4/3" --shard 4/3 "dane-ee.$S"
code 64 "--shard 1" --shard 1 "dane-ee.$S"
code 64 "--concurrency 0" --concurrency 0 "dane-ee.$S"
code 64 "--jsonl - --csv -" --jsonl - --csv - "dane-ee.$S"
code 64 "unknown option" --bogus "dane-ee.$S"
code 66 "missing input file" --input "$W/nonexistent"
code 73 "output into a missing directory" --jsonl "$W/no/such/dir" "dane-ee.$S"
code 0 "--help" --help
code 70 "unreadable resolver config" --config "$W/nonexistent.conf" "dane-ee.$S"

echo "1..$n"
[ "$fails" -eq 0 ]
