#!/usr/bin/env bash
# monitor.sh - `danemail monitor` end to end: real scans of a signed zone of
# our own ("mon-test.", zonelib.sh) whose domains point at SMTP servers of
# our own (tests/tools/smtpd) on 127.0.5.x, next to the testbed's zones
# (with-testbed.sh), with alert mail through a real Postfix
# (tests/testbed/postfix.sh) into its Maildir.
#
#   shop, news, blog.mon-test  MX mx1 (3 1 1 for key A)     the shared MX
#   solo.mon-test              MX mx2 (3 0 1, certificate valid 10 days)
#   safe.mon-test              MX mx3 (3 1 1 current + 3 1 1 next key)
#   bad.mon-test               MX mx4 (3 1 1 for a key no server has)
#
# Run 1 is the baseline (no alert); then mx1's certificate is swapped for
# one with another key (its server restarted): run 2 raises exactly one
# alert naming mx1 and its three domains, mailed through Postfix (subject,
# domains, the 3 1 1 record to publish checked in the Maildir); run 3,
# within the repeat interval, sends nothing; --repeat 0 sends again; the
# old certificate back clears the alert.  --nagios exit codes 0/1/2/3,
# --metrics parsed, an unreachable relay (69).  Needs DANEMAIL, TB_SMTPD
# and testbed.env (with-testbed.sh).  Prints TAP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/scan/zonelib.sh
. "$here/../scan/zonelib.sh"
postfix_sh=$here/../../testbed/postfix.sh

W=$TB_DIR/monitor
mkdir -p "$W"
chmod 755 "$TB_DIR" "$W"
PF=$W/pf
pids=()
declare -A smtpd_pid=()
cleanup() {
	local p
	for p in "${pids[@]}" "${smtpd_pid[@]}"; do kill "$p" 2>/dev/null; done
	zl_stop "$W/zone"
	"$postfix_sh" stop "$PF" >/dev/null 2>&1
}
trap cleanup EXIT

n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
diag() { sed 's/^/# /' | head -n "${1:-40}"; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# --- set-up: SMTP port free on our addresses
addrs="127.0.5.1 127.0.5.2 127.0.5.3 127.0.5.4"
port_free_on() { # port_free_on PORT: no listener on our addresses or the wildcards
	local l a
	for l in $(ss -Hlnt "( sport = :$1 )" 2>/dev/null | awk '{print $4}'); do
		case $l in "0.0.0.0:$1" | "*:$1" | "[::]:$1") return 1 ;; esac
		for a in $addrs; do [ "$l" = "$a:$1" ] && return 1; done
	done
	return 0
}
P=
for p in 25 $(seq 10125 10199); do
	if port_free_on "$p"; then P=$p; break; fi
done
[ -n "$P" ] || { echo "Bail out! no free SMTP port"; exit 1; }

# Certificates: key A (mx1, then A2 after the swap), B (mx2, 10 days), C (mx3), next key
C=$W/certs
mkdir -p "$C"
mkcert() { # mkcert NAME CN DAYS
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
		-days "$3" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-keyout "$C/$1.key" -out "$C/$1.pem" >/dev/null 2>&1
}
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -r | cut -c1-64; }
certhash() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
{
	mkcert a mx1.mon-test 365 && mkcert a2 mx1.mon-test 365 && mkcert b mx2.mon-test 10 &&
		mkcert c mx3.mon-test 365 &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/next.key"
} || { echo "Bail out! openssl failed"; exit 1; }
SPKI_A=$(spki "$C/a.pem")
SPKI_A2=$(spki "$C/a2.pem")
SPKI_C=$(spki "$C/c.pem")
SPKI_NEXT=$(openssl pkey -in "$C/next.key" -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64)
HASH_B=$(certhash "$C/b.pem")

# smtpd NAME ADDR CERT [OPTION...]: (re)start the server of NAME on ADDR:P with CERT's pair
smtpd() {
	local name=$1 addr=$2 cert=$3 i
	shift 3
	if [ -n "${smtpd_pid[$name]:-}" ]; then
		kill "${smtpd_pid[$name]}" 2>/dev/null
		wait "${smtpd_pid[$name]}" 2>/dev/null
	fi
	rm -f "$W/$name.pid"
	"$TB_SMTPD" --listen "$addr:$P" --name "$name.mon-test" --cert "$C/$cert.pem" \
		--key "$C/$cert.key" --pidfile "$W/$name.pid" --log "$W/$name.log" "$@" \
		2>>"$W/$name.err" &
	smtpd_pid[$name]=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$W/$name.pid" ] && return 0
		sleep 0.05
	done
	return 1
}
smtpd mx1 127.0.5.1 a && smtpd mx2 127.0.5.2 b && smtpd mx3 127.0.5.3 c &&
	smtpd mx4 127.0.5.4 a || {
	echo "Bail out! smtpd_test did not start"
	cat "$W"/*.err | diag
	exit 1
}

# Our zone, on a port of our own (zl_nsd_start_free).
Z=$W/zone
mkdir -p "$Z"
cat >"$Z/mon-test.zone" <<EOF
\$ORIGIN mon-test.
\$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
shop IN MX 10 mx1
news IN MX 10 mx1
blog IN MX 10 mx1
solo IN MX 10 mx2
safe IN MX 10 mx3
bad IN MX 10 mx4
mx1 IN A 127.0.5.1
mx2 IN A 127.0.5.2
mx3 IN A 127.0.5.3
mx4 IN A 127.0.5.4
_$P._tcp.mx1 IN TLSA 3 1 1 $SPKI_A
_$P._tcp.mx2 IN TLSA 3 0 1 $HASH_B
_$P._tcp.mx3 IN TLSA 3 1 1 $SPKI_C
_$P._tcp.mx3 IN TLSA 3 1 1 $SPKI_NEXT
_$P._tcp.mx4 IN TLSA 3 1 1 $SPKI_NEXT
EOF
{
	zl_sign "$Z" mon-test "$Z/mon-test.zone" &&
		zl_nsd_start_free "$Z" 127.0.0.1 $((TB_PORT + 301)) $((TB_PORT + 499)) mon-test &&
		zl_unbound_conf "$Z" "$TB_UNBOUND_CONF" "127.0.0.1@$ZL_PORT" mon-test
} >"$W/zone.log" 2>&1 || {
	echo "Bail out! our zone did not start: $(tail -n 1 "$W/zone.log")"
	diag <"$W/zone.log"
	exit 1
}
CONF=$Z/unbound.conf

# Postfix: its Maildir receives the alert mail (ops@example.test).
pport=
for p in $(seq 2625 2699); do
	if zl_port_free "$p"; then pport=$p; break; fi
done
if ! PF_PORT=$pport "$postfix_sh" start "$PF" >"$W/pf.log" 2>&1; then
	echo "Bail out! postfix did not start"
	diag <"$W/pf.log"
	exit 1
fi
# shellcheck disable=SC1091
. "$PF/postfix.env"

DOMAINS=(shop.mon-test news.mon-test blog.mon-test solo.mon-test safe.mon-test)
DB=$W/monitor.db
M=$W/metrics.prom
# mon ARGS...: a monitor run against our zone and Postfix; sets OUT, RC (stderr in $W/err)
mon() {
	OUT=$("$DANEMAIL" monitor --config "$CONF" --smtp-port "$P" --dns-timeout 5000 \
		--timeout 5000 --no-policies "$@" 2>"$W/err")
	RC=$?
}
MAILOPTS=(--mail-to ops@example.test --mail-from monitor@example.test
	--relay "127.0.0.1:$PF_PORT")
# mails: number of delivered messages from the monitor
mails() { grep -l '^From: monitor@example.test' "$PF_MAILDIR"/new/* 2>/dev/null | wc -l; }
# wait_mails N: until N messages are there (5 s at most)
wait_mails() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(mails)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# jget FIELD...: fields of the JSON Lines in OUT (one line per alert, tab-separated)
jget() {
	printf '%s\n' "$OUT" | "$py" -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    a = json.loads(line)
    out = []
    for f in sys.argv[1:]:
        v = a.get(f)
        out.append(",".join(v) if isinstance(v, list) else str(v))
    print("\t".join(out))' "$@"
}
# metric NAME{LABELS}: its value in the textfile M
metric() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
# nag WANT_RC DESCRIPTION ARGS...: a --nagios run and its exit code
nag() { # nag WANT_RC DESCRIPTION ARGS...
	local want=$1 what=$2
	shift 2
	mon --nagios "$@"
	[ "$RC" -eq "$want" ]
	ok $? "--nagios $what: exit $want, got $RC ($(printf '%s' "$OUT" | head -n 1))"
}

# --- run 1: the baseline
mon --db "$DB" --json --metrics "$M" "${MAILOPTS[@]}" "${DOMAINS[@]}"
ok $((RC != 0)) "run 1 (baseline): exit 0, got $RC"
[ $RC -eq 0 ] || diag <"$W/err"
[ -z "$OUT" ]
ok $? "run 1: no alert"
[ -z "$OUT" ] || printf '%s\n' "$OUT" | diag
[ -s "$DB" ]
ok $? "run 1: the store $DB was written"
[ "$(metric 'danemail_monitor_domain_dane_pass{domain="shop.mon-test"}')" = 1 ] &&
	[ "$(metric 'danemail_monitor_domains')" = 5 ] &&
	[ "$(metric 'danemail_monitor_alerts{kind="tlsa-mismatch",severity="critical"}')" = 0 ] &&
	[ "$(metric 'danemail_monitor_run_ok')" = 1 ]
ok $? "run 1: --metrics: shop passes, 5 domains, no alert, run ok"
now=$(date +%s)
t=$(metric danemail_monitor_last_success_timestamp_seconds)
[ -n "$t" ] && [ "$t" -le "$now" ] && [ "$t" -ge $((now - 120)) ]
ok $? "run 1: --metrics: last success $t is now ($now)"
"$py" - "$M" <<'PY'
import re, sys
# every line: a comment or "name{labels} value" with a number
pat = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?[0-9.e+]+$')
bad = [l for l in open(sys.argv[1]) if not l.startswith("#") and not pat.match(l.rstrip("\n"))]
sys.exit(1 if bad else 0)
PY
ok $? "run 1: --metrics: every sample line parses as Prometheus text format"
sleep 1
ok "$(mails)" "run 1: no mail"

# --- the certificate of mx1 is replaced (another key); its TLSA record stays
smtpd mx1 127.0.5.1 a2 || echo "# mx1 did not restart"
mon --db "$DB" --json --syslog --metrics "$M" "${MAILOPTS[@]}" "${DOMAINS[@]}"
ok $((RC != 1)) "run 2 (mx1 swapped): exit 1 (alerts), got $RC"
lines=$(printf '%s\n' "$OUT" | grep -c .)
ok $((lines != 1)) "run 2: exactly one alert, got $lines"
[ "$lines" -eq 1 ] || printf '%s\n' "$OUT" | diag
got=$(jget kind subject domains status severity)
want=$(printf 'tlsa-mismatch\tmx1.mon-test\tblog.mon-test,news.mon-test,shop.mon-test\tnew\tcritical')
[ "$got" = "$want" ]
ok $? "run 2: the alert names mx1.mon-test and its three domains (got: $got)"
printf '%s\n' "$OUT" | grep -q "3 1 1 $SPKI_A2"
ok $? "run 2: the fix gives the 3 1 1 record for the new key"
[ "$(metric 'danemail_monitor_alerts{kind="tlsa-mismatch",severity="critical"}')" = 1 ] &&
	[ "$(metric 'danemail_monitor_domain_dane_pass{domain="shop.mon-test"}')" = 0 ] &&
	[ "$(metric 'danemail_monitor_domain_verdict{domain="news.mon-test",verdict="tlsa-mismatch"}')" = 1 ] &&
	[ "$(metric 'danemail_monitor_domain_dane_pass{domain="solo.mon-test"}')" = 1 ]
ok $? "run 2: --metrics: one critical tlsa-mismatch, shop and news fail, solo passes"
wait_mails 1
ok $? "run 2: the alert mail reached the Maildir through Postfix"
f=$(grep -l '^From: monitor@example.test' "$PF_MAILDIR"/new/* 2>/dev/null | head -n 1)
if [ -n "$f" ]; then
	grep -q '^Subject: danemail: TLSA mismatch on mx1.mon-test (3 domains)' "$f"
	ok $? "mail: subject \"danemail: TLSA mismatch on mx1.mon-test (3 domains)\""
	grep -q 'domains: blog.mon-test, news.mon-test, shop.mon-test' "$f"
	ok $? "mail: lists the three domains"
	grep -q "127.0.5.1: tlsa-mismatch" "$f" && grep -q "SPKI sha256 $SPKI_A2" "$f" &&
		grep -q "3 1 1 $SPKI_A\b" "$f"
	ok $? "mail: evidence (the address, the new key, the published record)"
	tr -d '\r' <"$f" | tr '\n' ' ' | tr -s ' ' |
		grep -q "Publish \"_$P._tcp.mx1.mon-test. IN TLSA 3 1 1 $SPKI_A2\""
	ok $? "mail: how to fix it (publish 3 1 1 for the new key)"
	grep -q '^Auto-Submitted: auto-generated' "$f" && grep -q '^To: ops@example.test' "$f"
	ok $? "mail: Auto-Submitted and To headers"
else
	for d in subject domains evidence fix headers; do ok 1 "mail: $d (no mail)"; done
fi

# --- run 3: unchanged, within the repeat interval (24h): reported, not sent
mon --db "$DB" --json "${MAILOPTS[@]}" "${DOMAINS[@]}"
got=$(jget kind status)
[ $RC -eq 1 ] && [ "$got" = "$(printf 'tlsa-mismatch\tquiet')" ]
ok $? "run 3: the alert is still active, status quiet (rc $RC, got $got)"
sleep 2
[ "$(mails)" -eq 1 ]
ok $? "run 3: no second mail within the repeat interval ($(mails) mails)"

# --- run 4: --repeat 0: sent again
mon --db "$DB" --json --repeat 0 "${MAILOPTS[@]}" "${DOMAINS[@]}"
got=$(jget status)
[ $RC -eq 1 ] && [ "$got" = repeat ]
ok $? "run 4 (--repeat 0): status repeat (got $got)"
wait_mails 2
ok $? "run 4: a second mail"

# --- run 5: the old certificate is back: cleared (and said so once)
smtpd mx1 127.0.5.1 a || echo "# mx1 did not restart"
mon --db "$DB" --json "${MAILOPTS[@]}" "${DOMAINS[@]}"
got=$(jget kind status)
[ $RC -eq 0 ] && [ "$got" = "$(printf 'tlsa-mismatch\tcleared')" ]
ok $? "run 5 (certificate back): exit 0, the alert cleared (rc $RC, got $got)"
wait_mails 3 && grep -l '^Subject: danemail: cleared: TLSA mismatch on mx1.mon-test' \
	"$PF_MAILDIR"/new/* >/dev/null 2>&1
ok $? "run 5: a \"cleared\" mail"
mon --db "$DB" --json "${DOMAINS[@]}"
[ $RC -eq 0 ] && [ -z "$OUT" ]
ok $? "run 6: nothing left to say (rc $RC)"

# --- the text output (no --json)
smtpd mx1 127.0.5.1 a2 || echo "# mx1 did not restart"
mon --db "$W/text.db" shop.mon-test news.mon-test
[ $RC -eq 1 ] && printf '%s\n' "$OUT" |
	grep -q '^CRITICAL tlsa-mismatch: TLSA mismatch on mx1.mon-test (2 domains) \[new\]'
ok $? "text output: one line per alert with its status"
mon --db "$W/text.db" shop.mon-test news.mon-test
[ $RC -eq 1 ] && [ -z "$OUT" ]
ok $? "text output: a quiet alert is not printed again (cron stays silent), exit still 1"

# --- STARTTLS lost: mx3 (TLSA published) stops offering it
mon --db "$W/tls.db" --json safe.mon-test
ok $((RC != 0)) "STARTTLS baseline: exit 0, got $RC"
smtpd mx3 127.0.5.3 c --no-starttls || echo "# mx3 did not restart"
mon --db "$W/tls.db" --json safe.mon-test
got=$(jget kind subject severity)
[ $RC -eq 1 ] && [ "$got" = "$(printf 'starttls-lost\tmx3.mon-test\tcritical')" ] &&
	printf '%s\n' "$OUT" | grep -q "127.0.5.3: no-starttls"
ok $? "STARTTLS gone on mx3: one critical starttls-lost alert (got $got)"
nag 2 "STARTTLS lost (critical)" --db "$W/tls.db" safe.mon-test
smtpd mx3 127.0.5.3 c || echo "# mx3 did not restart"

# --- --nagios
smtpd mx1 127.0.5.1 a || echo "# mx1 did not restart"
nag 0 "passing domain" -d 30 shop.mon-test
printf '%s\n' "$OUT" | head -n 1 | grep -q '^DANE OK - shop.mon-test: pass | critical=0;;;0 warning=0;;;0 .* cert_days_left=36[45];30;;0 time='
ok $? "--nagios OK: status line and perfdata"
nag 1 "certificate expiring before --days 30, only a 3 0 1 record (warning)" -d 30 solo.mon-test
printf '%s\n' "$OUT" | head -n 1 | grep -q '^DANE WARNING - TLSA will stop matching on mx2.mon-test by '
ok $? "--nagios WARNING names mx2.mon-test"
printf '%s\n' "$OUT" | tr '\n' ' ' | tr -s ' ' | grep -q 'publish a 3 1 1 record for the new key'
ok $? "--nagios WARNING: the advice says to publish a 3 1 1 record for the new key"
nag 0 "expiring certificate without --at/--days" solo.mon-test
later=$(date -u -d '+400 days' +%Y-%m-%d)
nag 1 "3 1 1 alone, certificate expires before --at $later (warning)" --at "$later" shop.mon-test
nag 0 "3 1 1 with a next-key record, --at $later (ok)" --at "$later" safe.mon-test
nag 2 "TLSA mismatch (critical)" bad.mon-test
printf '%s\n' "$OUT" | head -n 1 | grep -q '^DANE CRITICAL - TLSA mismatch on mx4.mon-test (1 domain) | critical=1;;;0'
ok $? "--nagios CRITICAL: status line and perfdata"
nag 2 "DNSSEC bogus MX RRset (critical)" bogus.test
OUT=$("$DANEMAIL" monitor --nagios --config "$TB_UNBOUND_DOWN_CONF" --dns-timeout 3000 \
	shop.mon-test 2>"$W/err")
RC=$?
[ $RC -eq 3 ] && printf '%s\n' "$OUT" | grep -q '^DANE UNKNOWN - shop.mon-test: '
ok $? "--nagios with DNS down: exit 3 UNKNOWN, got $RC ($(printf '%s' "$OUT" | head -n 1))"
"$DANEMAIL" monitor --nagios --bogus-option shop.mon-test >/dev/null 2>&1
ok $(($? != 3)) "--nagios usage error: exit 3"

# --- the relay cannot be reached: 69, and the alert is mailed next time
closed=
for p in $(seq 2700 2799); do
	if zl_port_free "$p"; then closed=$p; break; fi
done
mon --db "$W/relay.db" --json --mail-to ops@example.test --mail-from monitor@example.test \
	--relay "127.0.0.1:$closed" bad.mon-test
[ $RC -eq 69 ] && grep -q "mail not sent" "$W/err"
ok $? "unreachable relay: exit 69 (got $RC)"
mon --db "$W/relay.db" --json "${MAILOPTS[@]}" bad.mon-test
got=$(jget status)
[ $RC -eq 1 ] && [ "$got" = repeat ]
ok $? "next run: the unsent alert is sent (status $got)"

# --- --list: a file of domains, one entry that is no domain name (65)
printf '# watched\nshop.mon-test\nnot a domain!\nnews.mon-test\n' >"$W/list.txt"
mon --db "$W/list.db" --json --metrics "$W/list.prom" --list "$W/list.txt"
[ $RC -eq 65 ] && grep -q "line 3" "$W/err" && grep -q '^danemail_monitor_domains 2$' "$W/list.prom"
ok $? "--list: two domains scanned, the bad entry reported, exit 65 (got $RC)"

# --- usage
"$DANEMAIL" monitor --at 2026-13-01 shop.mon-test >/dev/null 2>&1
ok $(($? != 64)) "--at with a bad date: exit 64"
"$DANEMAIL" monitor --at 2027-01-01 -d 3 shop.mon-test >/dev/null 2>&1
ok $(($? != 64)) "--at and --days together: exit 64"
"$DANEMAIL" monitor --help | grep -- '--mail-to ADDR' >/dev/null
ok $? "--help lists --mail-to"

if [ $fails -gt 0 ]; then
	echo "# last stderr:"
	diag <"$W/err"
	[ -r "$PF/log/postfix.log" ] && tail -n 20 "$PF/log/postfix.log" | diag 20
fi
echo "1..$n"
exit $((fails > 0))
