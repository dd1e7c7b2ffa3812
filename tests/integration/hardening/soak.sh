#!/usr/bin/env bash
# soak.sh - danemail-milter under sustained load: SOAK_MSGS messages through
# a real Postfix on loopback and the milter (real NSD + libunbound behind
# it), a mix of recipients (S/MIME RSA and EC keys, uncached names, OpenPGP
# keys, two recipients, no key, insecure zone, partial, bogus), sizes (1 KB to
# 5 MB) and formats (text, quoted-printable, multipart/mixed with a base64
# attachment, multipart/alternative, HTML, no Content-Type, 8-bit, already
# encrypted), by SMTP and some by sendmail(1).  soak.py sends them and checks
# every delivery while they flow: each encrypted one decrypted with its
# recipient's key to exactly the original entity, each clear one compared
# with what was sent, nothing in clear that policy says to encrypt.  Then:
# delivered (including deferred, then delivered) = sent (bogus ones refused
# with 451, never delivered); the milter's RSS sampled over time must not
# grow.  Prints TAP and a summary (msg/s, latency, RSS samples, deferrals).
#
# Needs: DANEMAIL_MILTER, the testbed.env variables (run under with-testbed.sh
# with TB_BENCH_NAMES set: uN@secure.test names for uncached lookups), root.
# Optional: SOAK_MSGS (500), SOAK_CONC (4 SMTP sessions), SOAK_BIG_EVERY (100:
# every Nth message is 1-5 MB, the first exactly 5 MB), SOAK_SENDMAIL_EVERY
# (50), SOAK_RSS_EVERY (2 s), SOAK_SEED (soak), SOAK_REPORT (a copy of the
# JSON report).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
MSGS=${SOAK_MSGS:-500}
W=$TB_DIR/soak
# shellcheck source=tests/integration/milter/lib.sh
. "$here/../milter/lib.sh"
make_workdir

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (Postfix, privilege drop)"
	exit 0
fi

trap stop_milter_postfix EXIT

write_load_conf
start_milter_postfix 2625

python3 "$here/soak.py" run --smtp "$PF_ADDR:$PF_PORT" --maildir "$PF_MAILDIR" \
	--count "$MSGS" --conc "${SOAK_CONC:-4}" --seed "${SOAK_SEED:-soak}" \
	--sendmail "$PF_SENDMAIL" --sendmail-every "${SOAK_SENDMAIL_EVERY:-50}" \
	--big-every "${SOAK_BIG_EVERY:-100}" --names "${TB_BENCH_NAMES:-1}" \
	--pidfile "$W/milter.pid" --rss-every "${SOAK_RSS_EVERY:-2}" \
	--report "$W/report.json" 2>&1 | diag
[ -n "${SOAK_REPORT:-}" ] && cp "$W/report.json" "$SOAK_REPORT"
if [ ! -s "$W/report.json" ]; then
	echo "Bail out! soak.py wrote no report"
	exit 1
fi

# r EXPR: a value from the report (Python expression over r)
r() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$W/report.json"; }

[ "$(r 'r["accepted"] + r["bogus_refused"] == r["sent"] and not r["lost"] and not r["rejected"]')" = True ]
ok $? "every message accepted (or, bogus, refused with 451): $(r 'r["accepted"]') accepted + $(r 'r["bogus_refused"]') bogus of $(r 'r["sent"]') sent; lost: $(r 'r["lost"][:10]')"
[ "$(r 'r["n_missing"] == 0 and r["delivered_messages"] == r["accepted"] and not r["duplicates"]')" = True ]
ok $? "delivered (including deferred, then delivered) = accepted: $(r 'r["delivered_messages"]') of $(r 'r["accepted"]') ($(r 'r["checked_files"]') files, one per recipient; missing $(r 'r["missing"][:10]'), duplicates $(r 'r["duplicates"][:10]'))"
[ "$(r 'r["n_failures"]')" = 0 ] && [ "$(r 'r["verified_ok"] == r["checked_files"]')" = True ]
ok $? "every delivery checked: encrypted ones decrypt to exactly the original entity, clear ones are exactly as sent ($(r 'r["verified_ok"]') ok, $(r 'r["n_failures"]') failed)"
[ "$(r 'r["n_clear_against_policy"]')" = 0 ]
ok $? "nothing delivered in clear that policy says to encrypt ($(r 'r["n_clear_against_policy"]'))"
[ "$(r 'r["bogus_refused"] == r["bogus_sent"]')" = True ]
ok $? "bogus recipients: every message refused with 451 (DNSSEC validation failed), none delivered"
[ "$(r 'len(r["formats"]) >= 7 and len(r["categories"]) >= 10')" = True ]
ok $? "the mix: $(r 'len(r["categories"])') recipient kinds, formats $(r '" ".join(r["formats"])')"
if [ "$MSGS" -ge "${SOAK_BIG_EVERY:-100}" ]; then
	[ "$(r 'r["max_size"] >= 5 << 20')" = True ]
	ok $? "sizes 1 KB - 5 MB: $(r 'r["big_messages"]') of 1 MB or more, the largest $(r 'r["max_size"]') bytes"
fi
alive
ok $? "the milter is still running"
! grep -qE "encryption failed|cannot store|no configuration" "$W/milter.log"
ok $? "no encryption or spool failure in the milter's log"
nlog=$(grep -c " action=" "$W/milter.log")
[ "$nlog" -ge "$(r 'r["accepted"] + r["bogus_refused"]')" ]
ok $? "one summary log line per message ($nlog lines, retries included)"
! grep -q "soak [0-9]* " "$W/milter.log" && ! grep -q "quick brown fox" "$W/milter.log"
ok $? "no message content (Subject, body) in the milter's log"

# RSS, from the samples taken while mail flowed: the median of the last
# quarter may not exceed the peak of the second quarter (caches and pools
# filled by then) by more than 20 % + 8 MB.
rss=$(python3 - "$W/report.json" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
s = [x[2] for x in r["rss_samples"] if x[1] < r["sent"]]
if len(s) < 8:
    print("few %d" % len(s)); sys.exit()
peak = max(s[len(s) // 4: len(s) // 2] or s[:len(s) // 2])
last = statistics.median(s[-(len(s) // 4):])
print("%s %d %d %d %d" % ("ok" if last <= peak * 1.2 + 8192 else "grew", s[0], peak, last, max(s)))
PY
)
if grep -q "libasan" "/proc/$MILTER_PID/maps" 2>/dev/null; then
	rss="asan"
fi
case $rss in
asan) skip "milter RSS does not grow under load" "AddressSanitizer build: its quarantine keeps freed memory" ;;
ok* | grew*)
	set -- $rss
	[ "$1" = ok ]
	ok $? "milter RSS does not grow under load: first ${2} kB, peak of the second quarter ${3} kB, median of the last quarter ${4} kB, max ${5} kB"
	;;
*) skip "milter RSS does not grow" "too few samples ($rss)" ;;
esac

# ---- summary ----
{
	echo "soak summary: $(r 'r["sent"]') messages sent ($(r 'r["bytes_sent"] // 1048576') MiB, $(r 'r["via_sendmail"]') by sendmail(1)), $(r 'r["accepted"]') accepted, $(r 'r["bogus_refused"]') bogus refused"
	echo "  throughput: $(r 'r["msg_per_s"]') msg/s accepted over $(r 'r["seconds_sending"]') s (all checked after $(r 'r["seconds_total"]') s)"
	echo "  latency first try to acceptance: p50 $(r 'r["latency_p50"]') s, p95 $(r 'r["latency_p95"]') s, max $(r 'r["latency_max"]') s"
	echo "  deferred then delivered: $(r 'r["deferred_messages"]') messages ($(r 'r["deferrals"]') deferrals)"
	echo "  checked: $(r 'r["by_expect"]'); OpenPGP ones rnp 0.16.3 could not decrypt but gpg did, exactly: $(r 'len(r["rnp_failed_gpg_ok"])') $(r 'r["rnp_failed_gpg_ok"][:10]')"
	echo "  categories: $(r 'r["categories"]')"
	echo "  milter RSS (s, messages done, kB): $(r '" ".join("%s/%s/%s" % tuple(x) for x in r["rss_samples"][:: max(1, len(r["rss_samples"]) // 24)])')"
	echo "  slowest to accept (id, s, kind, bytes, via): $(r 'r["slowest"]')"
	echo "  slowest checks (file, s): $(r 'r["slowest_checks"]')"
	r '"\n".join(r["notes"][:10])'
	r '"\n".join("failure: %s %s" % tuple(f) for f in r["failures"][:10] + r["clear_against_policy"][:10])'
} | diag

echo "1..$n"
[ "$fails" -eq 0 ]
