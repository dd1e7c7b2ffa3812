#!/usr/bin/env bash
# verify_tlsa.sh - `danemail verify tlsa` against the testbed's SMTP servers
# (testbed.sh start-smtp): one verdict per server, as tests/testbed/README.md
# promises, with exit codes, JSON details, SNI, patience and bounded time;
# then the same servers through two independent oracles:
#   - openssl s_client -starttls smtp -dane_tlsa_domain ... -dane_tlsa_rrdata
#     ... -dane_ee_no_namechecks -verify_return_error (OpenSSL's own DANE
#     code driven by another program: RFC 7672 semantics);
#   - ldns-dane -c CHAIN -t TLSAFILE verify NAME PORT (ldns' DANE code; it
#     cannot STARTTLS, so s_client -showcerts fetches the chain). ldns-dane
#     checks names for DANE-EE unless given -n, which RFC 7672 3.1.1 says an
#     SMTP client must not do; and it evaluates PKIX-EE records (RFC 7672
#     3.1.3: unusable for SMTP). Both differences are asserted, so this
#     comment stays true.
# Also cli_fetch_chain() through `danemail record tlsa --host` (STARTTLS and
# implicit TLS on 465). Needs DANEMAIL, TESTBED, TB_SMTPD and testbed.env.
# Prints TAP. Exits 75 before any output when the SMTP port is taken.
set -uo pipefail

if ! "$TESTBED" start-smtp "$TB_DIR" >"$TB_DIR/start-smtp.log" 2>&1; then
	grep -q "already in use" "$TB_DIR/start-smtp.log" && exit 75
	echo "Bail out! testbed.sh start-smtp failed:"
	sed 's/^/# /' "$TB_DIR/start-smtp.log"
	exit 1
fi

n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
P=$TB_SMTP_PORT
S=secure.test
out=$TB_DIR/out.json
err=$TB_DIR/stderr

# jget FILE PATH...: print each dotted PATH of the JSON in FILE, one per line
# ("null" when absent; lists take numeric indexes). Debian's python3 starts
# in 20 ms, a pyenv shim in 200: prefer the former.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
jget() {
	"$py" - "$@" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except ValueError:
    doc = None
for path in sys.argv[2:]:
    v = doc
    for k in path.split("."):
        if isinstance(v, list) and k.isdigit() and int(k) < len(v):
            v = v[int(k)]
        elif isinstance(v, dict):
            v = v.get(k)
        else:
            v = None
    print("null" if v is None else json.dumps(v) if isinstance(v, bool) else v)
PY
}

# verify WANT_VERDICT WANT_EXIT DESCRIPTION ARGS...: run with --json into $out,
# check the verdict and the exit code.
verify() {
	local want=$1 want_rc=$2 what=$3 got rc t0 t1
	shift 3
	t0=${EPOCHREALTIME/[.,]/}
	"$DANEMAIL" verify tlsa --json --config "${CONF:-$TB_UNBOUND_CONF}" "$@" >"$out" 2>"$err"
	rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	ms=$(((10#$t1 - 10#$t0) / 1000))
	got=$(jget "$out" verdict)
	[ "$got" = "$want" ] && [ "$rc" -eq "$want_rc" ]
	ok $? "$what: $got, exit $rc (want $want, exit $want_rc)"
	if [ "$got" != "$want" ] || [ "$rc" -ne "$want_rc" ]; then
		"$DANEMAIL" verify tlsa --config "${CONF:-$TB_UNBOUND_CONF}" "$@" 2>&1 | sed 's/^/# /'
	fi
}
# field PATH WANT DESCRIPTION: a field of the last JSON output
field() {
	local got
	got=$(jget "$out" "$1")
	[ "$got" = "$2" ]
	ok $? "$3: $1 = $got (want $2)"
}
A0=hosts.0.addresses.0 # the first address of the first host

echo "# == one verdict per server (port $P)"
verify pass 0 "DANE-EE, RSA + ECDSA server" "dane-ee.$S:$P"
field $A0.tls.matched.usage 3 "DANE-EE matched"
field $A0.tls.matched.depth 0 "DANE-EE matched the leaf"
field $A0.tls.matched.data "$TB_SMTP_DANE_EE_SPKI" "the ECDSA key's record matched"
field hosts.0.tlsa.usable 2 "both records usable"
field $A0.rollover next-key-published "two keys published: rollover ready"
field $A0.tls.peer_name null "DANE-EE: no name matched (none checked)"

verify pass 0 "DANE-TA of the testbed CA" "dane-ta.$S:$P"
field $A0.tls.matched.usage 2 "DANE-TA matched"
field $A0.tls.matched.depth 1 "DANE-TA matched the CA at depth 1"
field $A0.tls.matched.data "$TB_SMTP_CA_SHA256" "the CA's record matched"
field $A0.tls.peer_name "dane-ta.$S" "DANE-TA: the certificate names the MX host"
field $A0.smtp.greeting "220 dane-ta.$S ESMTP smtpd_test (+2 lines)" \
	"patient: a delayed 3-line greeting (postscreen style) is read to its end"
field $A0.rollover renewal-safe "2 0 1: renewals under the same CA keep matching"

verify tlsa-mismatch 1 "TLSA for another key" "mismatch.$S:$P"
field $A0.tls.verify "no matching DANE TLSA records" "OpenSSL's reason"
verify tlsa-unusable 2 "only PKIX-EE/PKIX-TA records" "unusable.$S:$P"
field $A0.tls.dane_records 0 "PKIX usages never reach OpenSSL"
verify pass 0 "expired certificate, valid DANE-EE (RFC 7672 3.1.1)" "expired.$S:$P"
field $A0.tls.leaf.expired true "the certificate is expired indeed"
verify starttls-missing 1 "no STARTTLS" "nostarttls.$S:$P"
field $A0.smtp.result no-starttls "probe result"
verify tls-failed 1 "TLS 1.0 only (OpenSSL 3 default refuses it)" "oldtls.$S:$P"
grep -q "legacy sigalg\|unsupported protocol\|no protocols available" "$out"
ok $? "oldtls: the TLS error is reported"
verify pass 0 "TLS 1.0 only, --legacy-tls" --legacy-tls "oldtls.$S:$P"
field $A0.tls.version TLSv1 "TLS 1.0 was used"
verify name-mismatch 1 "DANE-TA, certificate for www.example.net" "badname.$S:$P"
verify cert-expired 1 "DANE-TA, expired certificate" "ta-expired.$S:$P"
verify pass 0 "DANE-EE 3 0 1, certificate for unrelated.example" "ee-name.$S:$P"
field $A0.rollover fragile "3 0 1 alone: renewal breaks DANE"
verify not-testable 4 "stall after the greeting" --timeout 500 "stall.$S:$P"
# START_SLACK_MS: what a slow start adds (scripts/valgrind.sh)
[ "$ms" -lt $((3000 + ${START_SLACK_MS:-0})) ]
ok $? "stall: bounded by --timeout ($ms ms)"
field $A0.smtp.stage ehlo "stalled at EHLO"
verify not-testable 4 "421 greeting" "greet421.$S:$P"
field $A0.smtp.result greeting-rejected "probe result"
verify unreachable 4 "nothing listens" "down.$S:$P"
verify unreachable 4 "no such host (secure NXDOMAIN)" "nonexistent.$S:$P"

echo "# == CNAMEs (RFC 7672 2.2.3)"
verify pass 0 "alias of dane-ta: TLSA at the target" "cname-ta.$S:$P"
field hosts.0.canonical "dane-ta.$S" "CNAME-expanded name"
field hosts.0.tlsa.base_domain "dane-ta.$S" "TLSA base domain: the target"
verify pass 0 "alias of plain: no TLSA at the target, TLSA at the alias" "cname-orig.$S:$P"
field hosts.0.tlsa.base_domain "cname-orig.$S" "TLSA base domain: the original name"
field $A0.tls.peer_name "cname-orig.$S" "DANE-TA name: the original name"
grep -q "sni=cname-orig.$S" "$TB_DIR/smtp/plain.$S.log"
ok $? "SNI is the TLSA base domain (RFC 7672 8.1), not the CNAME target"
verify pass 0 "signed alias of a host in an unsigned zone" "alias-insecure.$S:$P"
field hosts.0.secure_alias true "secure CNAME, insecure target: DANE applies"
field hosts.0.addresses_dnssec insecure "the target's addresses are insecure"

echo "# == DNSSEC states"
verify dnssec-insecure 2 "insecure zone: matching TLSA ignored" "dane.insecure.test:$P"
field hosts.0.tlsa null "no TLSA lookup for an insecure host"
field $A0.tls.dane_records 0 "DANE not armed"
: >"$TB_DIR/smtp/dane.bogus.test.log"
verify dnssec-bogus 3 "bogus zone" "dane.bogus.test:$P"
field $A0 null "no connection to a bogus host"
! grep -q connect "$TB_DIR/smtp/dane.bogus.test.log"
ok $? "the bogus host's server saw no connection"
verify dnssec-bogus 3 "bogus TLSA, address given" --addr 127.0.3.2 "dane.bogus.test:$P"
field hosts.0.tlsa.dnssec bogus "the TLSA RRset is bogus"
verify pass 0 "--addr instead of A/AAAA" --addr 127.0.1.2 "dane-ee.$S:$P"
field hosts.0.addresses_from "command line" "addresses from the command line"
CONF=$TB_UNBOUND_DOWN_CONF verify lookup-failed 4 "DNS server down" "dane-ee.$S:$P"
CONF=$TB_UNBOUND_DOWN_CONF verify lookup-failed 4 "DNS server down, address given: TLSA SERVFAIL is not 'no TLSA'" \
	--addr 127.0.1.2 "dane-ee.$S:$P"
field $A0.smtp.result ok "the server was reachable"

echo "# == MX domains"
verify pass 0 "every MX host passes" --port "$P" --mx "dane-mx.$S"
field hosts.1.host "dane-ta.$S" "second MX host checked"
field worst "all 2 MX hosts" "the summary"
verify tlsa-mismatch 1 "one MX host fails" --port "$P" --mx "mixed-mx.$S"
field worst "MX 20 mismatch.$S" "the failing MX host is named"
field hosts.0.verdict pass "the other MX host passes"
verify dnssec-bogus 3 "bogus MX RRset" --port "$P" --mx bogus.test
verify dnssec-insecure 2 "insecure domain" --port "$P" --mx insecure.test
CONF=$TB_UNBOUND_DOWN_CONF verify lookup-failed 4 "MX lookup fails" --mx "$S"

echo "# == SNI and the text output"
grep -q "sni=dane-ee.$S" "$TB_DIR/smtp/dane-ee.$S.log"
ok $? "SNI sent to dane-ee"
txt=$("$DANEMAIL" verify tlsa --config "$TB_UNBOUND_CONF" "expired.$S:$P")
grep -q "note: the certificate has expired; DANE-EE ignores that" <<<"$txt"
ok $? "text output notes the expired certificate"
grep -q "^verdict: pass (expired.$S)$" <<<"$txt"
ok $? "text output ends with the verdict"

echo "# == bad input: exit 64, one line on stderr"
bad() { # bad DESCRIPTION ARGS...
	local what=$1 rc lines
	shift
	"$DANEMAIL" verify tlsa --config "$TB_UNBOUND_CONF" "$@" >/dev/null 2>"$err"
	rc=$?
	lines=$(wc -l <"$err")
	[ "$rc" -eq 64 ] && [ "$lines" -ge 1 ]
	ok $? "$what: exit $rc (want 64): $(head -n 1 "$err" | cut -c 1-120)"
}
bad "no target"
bad "host and --mx" --mx "$S" "dane-ee.$S"
bad "--addr with --mx" --addr 127.0.1.2 --mx "$S"
bad "bad --addr" --addr 127.0.1.999 "dane-ee.$S"
bad "bad port" "dane-ee.$S:99999"
bad "--port without --mx" --port 25 "dane-ee.$S"
bad "bad --timeout" --timeout 0 "dane-ee.$S"
bad "label over 63 octets" "$(printf 'a%.0s' $(seq 64)).test"
bad "unknown option" --bogus "dane-ee.$S"

agrees() { # agrees pass|fail EXIT: does an oracle's exit status say that?
	if [ "$1" = pass ]; then [ "$2" -eq 0 ]; else [ "$2" -ne 0 ]; fi
}
echo "# == oracle 1: openssl s_client with OpenSSL's DANE (RFC 7672 semantics)"
tlsa_of() { dig @"$TB_ADDR" -p "$TB_PORT" +short TLSA "_$P._tcp.$1"; }
sclient() { # sclient HOST ADDR [extra]: exit 0 when DANE verification succeeds
	local h=$1 a=$2 rr args=()
	shift 2
	while read -r rr; do args+=(-dane_tlsa_rrdata "$rr"); done < <(tlsa_of "$h")
	timeout 10 openssl s_client -starttls smtp -connect "$a:$P" -servername "$h" \
		-dane_tlsa_domain "$h" "${args[@]}" -verify_return_error -brief "$@" \
		</dev/null >/dev/null 2>&1
}
for spec in dane-ee:127.0.1.2:pass dane-ta:127.0.1.3:pass expired:127.0.1.6:pass \
	ee-name:127.0.1.11:pass mismatch:127.0.1.4:fail badname:127.0.1.9:fail \
	ta-expired:127.0.1.10:fail; do
	IFS=: read -r h a want <<<"$spec"
	sclient "$h.$S" "$a" -dane_ee_no_namechecks
	rc=$?
	agrees "$want" "$rc"
	ok $? "s_client agrees on $h: $want (exit $rc)"
done
sclient "ee-name.$S" 127.0.1.11
[ $? -ne 0 ]
ok $? "s_client without -dane_ee_no_namechecks name-checks DANE-EE (why the flag is needed)"

echo "# == oracle 2: ldns-dane on the chain each server presents"
chain_of() { # chain_of HOST ADDR FILE: the chain sent after STARTTLS, PEM
	timeout 10 openssl s_client -starttls smtp -connect "$2:$P" -servername "$1" -showcerts \
		</dev/null 2>/dev/null | sed -n '/BEGIN CERT/,/END CERT/p' >"$3"
}
ldns() { # ldns HOST ADDR [ldns-dane options]: exit status of ldns-dane verify
	local h=$1 a=$2
	shift 2
	chain_of "$h" "$a" "$TB_DIR/chain.pem"
	tlsa_of "$h" | sed "s/^/_$P._tcp.$h. 300 IN TLSA /" >"$TB_DIR/tlsa.txt"
	ldns-dane "$@" -d -c "$TB_DIR/chain.pem" -t "$TB_DIR/tlsa.txt" verify "$h" "$P" \
		>/dev/null 2>&1
}
for spec in dane-ee:127.0.1.2:pass dane-ta:127.0.1.3:pass expired:127.0.1.6:pass \
	mismatch:127.0.1.4:fail badname:127.0.1.9:fail ta-expired:127.0.1.10:fail; do
	IFS=: read -r h a want <<<"$spec"
	ldns "$h.$S" "$a"
	rc=$?
	agrees "$want" "$rc"
	ok $? "ldns-dane agrees on $h: $want (exit $rc)"
done
ldns "ee-name.$S" 127.0.1.11
[ $? -ne 0 ]
ok $? "ldns-dane differs on ee-name: it name-checks DANE-EE (wrong for SMTP, RFC 7672 3.1.1)"
ldns "ee-name.$S" 127.0.1.11 -n
ok $? "ldns-dane -n agrees on ee-name: pass"
ldns "unusable.$S" 127.0.1.5 -n
[ $? -ne 0 ]
ok $? "ldns-dane differs on unusable: it tries PKIX-EE (we say tlsa-unusable, RFC 7672 3.1.3)"

echo "# == cli_fetch_chain (danemail record tlsa --host)"
rec=$("$DANEMAIL" record tlsa --host 127.0.1.2:"$P" 2>"$err")
grep -q "3 1 1 $TB_SMTP_DANE_EE_SPKI" <<<"$rec"
ok $? "STARTTLS: the chain's leaf is dane-ee's certificate"
"$DANEMAIL" record tlsa --host 127.0.1.7:"$P" >/dev/null 2>"$err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "STARTTLS not offered" "$err"
ok $? "no STARTTLS: fetching fails with the reason (exit $rc)"
rec=$("$DANEMAIL" record tlsa --config "$TB_UNBOUND_CONF" --host "dane-ee.$S:$P" 2>"$err")
grep -q "^_$P._tcp.dane-ee.$S.* 3 1 1 $TB_SMTP_DANE_EE_SPKI" <<<"$rec"
ok $? "--host NAME: its addresses from the validating resolver (--config), chain fetched"
rec=$("$DANEMAIL" record tlsa --config "$TB_UNBOUND_CONF" --mx "dane-mx.$S" --port "$P" 2>"$err")
rc=$?
[ "$rc" -eq 0 ] && grep -q "^_$P._tcp.dane-ee.$S.* 3 1 1 $TB_SMTP_DANE_EE_SPKI" <<<"$rec" &&
	[ "$(grep -c " TLSA " <<<"$rec")" -eq 2 ]
ok $? "--mx: one record per MX host, each fetched from the host (exit $rc)"
"$DANEMAIL" record tlsa --config "$TB_UNBOUND_CONF" --host "mail.bogus.test:$P" >/dev/null 2>"$err"
rc=$?
[ "$rc" -eq 3 ] && grep -q "bogus" "$err"
ok $? "--host NAME in a bogus zone: no fetch, exit 3 ($rc)"
rec=$("$DANEMAIL" record tlsa --host "dane-ta.$S:$P" --cert "$TB_SMTP_CERTS/dane-ta.chain.pem" \
	--usage 2 --selector 0 --match 1 2>"$err")
grep -q " 2 0 1 $TB_SMTP_CA_SHA256" <<<"$rec"
ok $? "--cert CHAIN with usage 2: the record names the chain's last certificate (the CA)"
rec=$("$DANEMAIL" record tlsa --host "dane-ta.$S:$P" --cert "$TB_SMTP_CERTS/dane-ta.chain.pem" \
	--usage 3 --selector 0 --match 1 2>"$err")
leaf=$(openssl x509 -in "$TB_SMTP_CERTS/dane-ta.chain.pem" -outform DER | sha256sum | cut -c1-64)
grep -q " 3 0 1 $leaf" <<<"$rec"
ok $? "--cert CHAIN with usage 3: the record names the first certificate (the server's)"
"$TB_SMTPD" --listen 127.0.1.20:465 --implicit-tls --cert "$TB_SMTP_CERTS/dane-ta.chain.pem" \
	--key "$TB_SMTP_CERTS/dane-ta.key" --pidfile "$TB_DIR/smtp/465.ready" \
	2>"$TB_DIR/smtp/465.err" &
pid465=$!
for _ in $(seq 100); do [ -s "$TB_DIR/smtp/465.ready" ] && break; sleep 0.02; done
if [ -s "$TB_DIR/smtp/465.ready" ]; then
	rec=$("$DANEMAIL" record tlsa --host 127.0.1.20:465 --usage 2 --selector 0 --match 1 2>"$err")
	grep -q "2 0 1 $TB_SMTP_CA_SHA256" <<<"$rec"
	ok $? "implicit TLS on 465: the chain includes the CA (2 0 1 of it)"
else
	n=$((n + 1))
	echo "ok $n # SKIP implicit TLS on 465: $(head -c 100 "$TB_DIR/smtp/465.err")"
fi
kill "$pid465" 2>/dev/null
wait "$pid465" 2>/dev/null

echo "1..$n"
[ "$fails" -eq 0 ]
