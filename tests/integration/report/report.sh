#!/usr/bin/env bash
# report.sh - `danemail report` on the results of a real scan of the
# testbed: its SMTP servers as domains without MX (implicit MX), and a
# signed zone of our own (zonelib.sh, shared with tests/integration/scan)
# with MX records onto them and SPF / DMARC / MTA-STS / TLS-RPT records,
# plus an input entry that is hostile markup.
#
# Checks: `report stats` prints the scan's own table line for line; the
# JSON numbers equal the scan's --stats and numbers computed here from the
# JSON Lines by Python; shards with a domain twice (the later one wins);
# malformed lines (exit 65, their line numbers on stderr, the rest still
# counted); Markdown; the HTML page in headless Chromium (no console
# errors, the SVG charts, the numbers in its DOM equal the data, hostile
# strings escaped, no script element; a screenshot is kept as a test
# artifact in REPORT_ARTIFACTS); --db and --history against a store the
# scan wrote. Needs DANEMAIL, TESTBED, TB_SMTPD and testbed.env (run
# through tests/integration/tlsa/run.sh + with-testbed.sh). Prints TAP.
# Exits 75 before any output when a port it needs is taken.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/scan/zonelib.sh
. "$here/../scan/zonelib.sh"

P=$TB_SMTP_PORT
S=secure.test
W=$TB_DIR/report
mkdir -p "$W"
cleanup() { zl_stop "$W/zone"; }
trap cleanup EXIT

# --- set-up: nothing printed before it is done (exit 75 = try another port)
if ! "$TESTBED" start-smtp "$TB_DIR" >"$TB_DIR/start-smtp.log" 2>&1; then
	grep -q "already in use" "$TB_DIR/start-smtp.log" && exit 75
	echo "Bail out! testbed.sh start-smtp failed:"
	sed 's/^/# /' "$TB_DIR/start-smtp.log"
	exit 1
fi
Z=$W/zone
mkdir -p "$Z"
cat >"$Z/report-test.zone" <<ZONE
\$ORIGIN report-test.
\$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
good IN MX 10 dane-ee.$S.
good IN TXT "v=spf1 mx -all"
_dmarc.good IN TXT "v=DMARC1; p=reject; rua=mailto:d@report-test"
_mta-sts.good IN TXT "v=STSv1; id=1"
_smtp._tls.good IN TXT "v=TLSRPTv1; rua=mailto:r@report-test"
mixed IN MX 10 dane-ta.$S.
mixed IN MX 20 mismatch.$S.
mixed IN TXT "v=spf1 -all"
mixed IN TXT "v=spf1 ~all"
_dmarc.mixed IN TXT "v=DMARC1; p=none"
plain IN MX 10 nostarttls.$S.
plain IN TXT "v=spf1 bogus-mechanism -all"
_dmarc.plain IN TXT "v=DMARC1; p=quarantine"
nullmx IN MX 0 .
second IN MX 10 dane-ee.$S.
ZONE
{
	zl_sign "$Z" report-test "$Z/report-test.zone" &&
		zl_nsd_start_free "$Z" 127.0.0.1 $((TB_PORT + 301)) $((TB_PORT + 499)) report-test &&
		zl_unbound_conf "$Z" "$TB_UNBOUND_CONF" "127.0.0.1@$ZL_PORT" report-test
} >"$W/zone.log" 2>&1 || {
	echo "Bail out! our zone did not start: $(tail -n 1 "$W/zone.log")"
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
R() { "$DANEMAIL" report "$@"; }

echo "# == a real scan of the testbed (port $P)"
{
	for s in dane-ee dane-ta mismatch expired nostarttls oldtls badname plain down greet421; do
		echo "$s.$S"
	done
	printf '%s\n' dane.insecure.test dane.bogus.test "nonexistent.$S" good.report-test \
		mixed.report-test plain.report-test nullmx.report-test second.report-test \
		'<script>alert(1)</script>'
} >"$W/list.txt"
# nothing listens on the MTA-STS policy address: the fetch fails (a policy problem)
STS=(--mta-sts-port 9 --mta-sts-resolve "mta-sts.good.report-test:9:127.0.4.21"
	--ca-file "$TB_SMTP_CERTS/ca.pem")
DB=$W/results.db
"$DANEMAIL" scan --config "$CONF" --smtp-port "$P" "${STS[@]}" --timeout 2000 \
	--input "$W/list.txt" --jsonl "$W/scan.jsonl" --stats "$W/scan.stats" --db "$DB" \
	2>"$W/scan.err"
rc=$?
ok $((rc != 65)) "scan: exit $rc (want 65: one entry is no domain name)"
lines=$(wc -l <"$W/scan.jsonl")
[ "$lines" = 19 ]
ok $? "scan: 19 JSON Lines ($lines)"

echo "# == report stats: the scan's own table"
R stats "$W/scan.jsonl" >"$W/stats.txt" 2>"$W/stats.err"
ok $? "report stats: exit 0"
grep '^  ' "$W/scan.err" >"$W/scan.table"
grep '^  ' "$W/stats.txt" >"$W/report.table"
[ "$(wc -l <"$W/scan.table")" -ge 30 ] && cmp -s "$W/scan.table" "$W/report.table"
ok $? "report stats = the table the scan printed ($(wc -l <"$W/scan.table") lines)"
diff "$W/scan.table" "$W/report.table" | sed 's/^/# /' | head -20
head -n 1 "$W/stats.txt" | grep -q "^danemail report: 18 domains (19 entries) from "
ok $? "report stats: a line says what was read: $(head -n 1 "$W/stats.txt")"
R --format stats - <"$W/scan.jsonl" | grep '^  ' | cmp -s - "$W/scan.table"
ok $? "the same from stdin (--format stats -)"

echo "# == --format json: the scan's --stats, and numbers computed here"
R --format json "$W/scan.jsonl" >"$W/report.json"
ok $? "report --format json: exit 0"
"$py" - "$W/scan.stats" "$W/report.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))["stats"]
for k in ("seconds", "domains_per_second", "engine"):
    s.pop(k, None)
assert s == r, (s, r)
PY
ok $? "its stats object equals the scan's --stats (without timing and engine counters)"
"$py" - "$W/scan.jsonl" "$W/report.json" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
r = json.load(open(sys.argv[2]))
st = r["stats"]
doms = [o for o in objs if "error" not in o]
mail = [o for o in doms if o["mx"]["kind"] in ("mx", "implicit")]
def want(name, got, exp):
    assert got == exp, f"{name}: got {got}, want {exp}"
want("entries", st["entries"], len(objs))
want("invalid", st["invalid"], len(objs) - len(doms))
want("domains", st["domains"], len(doms))
want("with_mail", st["with_mail"], len(mail))
for v in {o["verdict"] for o in doms}:
    want("verdict " + v, st["verdict"][v], sum(o["verdict"] == v for o in doms))
for t in ("all", "some", "none", "untestable", "no-mail"):
    want("starttls " + t, st["starttls"][t], sum(o["starttls"] == t for o in doms))
for t in ("TLSv1.3", "TLSv1.2"):
    want("tls " + t, st["tls_lowest"][t], sum(o.get("tls_lowest") == t for o in doms))
want("working", st["working_mx"], sum(o["addresses_tested"] > 0 for o in doms))
want("mx secure", st["mx_dnssec_secure"],
     sum(o["mx"]["dnssec"] == "secure" for o in doms
         if o["mx"]["kind"] in ("mx", "implicit", "null-mx", "no-usable-mx")))
pol = [o for o in doms if any(k in o for k in ("spf", "dmarc", "mta_sts", "tls_rpt"))]
p = st["policies"]
want("checked", p["checked"], len(pol))
want("spf valid", p["spf_valid"], sum(o["spf"]["state"] == "valid" for o in pol))
want("spf multiple", p["spf_multiple"], sum(o["spf"]["state"] == "multiple" for o in pol))
want("spf invalid", p["spf_invalid"], sum(o["spf"]["state"] == "invalid" for o in pol))
want("dmarc reject", p["dmarc_reject"], sum(o["dmarc"].get("policy") == "reject" for o in pol))
want("mta-sts txt", p["mta_sts_txt"], sum(o["mta_sts"]["state"] == "valid" for o in pol))
want("tls-rpt", p["tls_rpt_valid"], sum(o["tls_rpt"]["state"] == "valid" for o in pol))
# the data has what the zone was made for
assert p["spf_valid"] >= 1 and p["spf_multiple"] == 1 and p["spf_invalid"] == 1, p
# (p=reject also comes from secure.test's record: the organizational domain of its hosts)
assert p["dmarc_reject"] >= 1 and p["dmarc_quarantine"] == 1 and p["dmarc_none"] == 1, p
assert p["mta_sts_txt"] == 1 and p["mta_sts_policy_bad"] == 1 and p["tls_rpt_valid"] == 1, p
# adoption
ad = r["adoption"]
want("adoption dane", (ad["dane"]["n"], ad["dane"]["of"]), (st["verdict"]["pass"], len(mail)))
want("adoption spf", (ad["spf"]["n"], ad["spf"]["of"]), (p["spf_valid"], len(pol)))
# failure reasons: DANE verdicts that are not pass, of domains with mail
fr = {(x["category"], x["reason"]): x["domains"] for x in r["failure_reasons"]}
for v in {o["verdict"] for o in mail} - {"pass"}:
    want("reason DANE " + v, fr.get(("DANE", v)), sum(o["verdict"] == v for o in mail))
want("reason no STARTTLS", fr.get(("STARTTLS", "on no MX address")),
     sum(o["starttls"] == "none" for o in mail))
want("reason SPF multiple", fr.get(("policy", "SPF multiple")), 1)
want("reason MX nxdomain", fr.get(("MX", "nxdomain")), 1)
# operators: MX hosts by registered domain, each domain once
ops = {o["operator"]: o for o in r["operators"]}
served = [o for o in doms if any(h["host"].endswith("." + "secure.test") for h in o["hosts"])]
want("secure.test domains", ops["secure.test"]["domains"], len(served))
want("secure.test pass", ops["secure.test"]["dane_pass"],
     sum(o["verdict"] == "pass" for o in served))
hosts = {h["host"] for o in served for h in o["hosts"] if h["host"].endswith(".secure.test")}
want("secure.test hosts", ops["secure.test"]["mx_hosts"], len(hosts))
want("first operator", r["operators"][0]["operator"], "secure.test")
print("# checked", len(objs), "objects")
PY
ok $? "JSON numbers equal those computed by Python from the JSON Lines"

echo "# == shards: a domain seen again replaces its earlier result"
head -n 10 "$W/scan.jsonl" >"$W/shard1.jsonl"
tail -n +11 "$W/scan.jsonl" >"$W/shard2.jsonl"
# shard 2 also carries a newer result of shard 1's first domain, verdict changed
"$py" - "$W/shard1.jsonl" >>"$W/shard2.jsonl" <<'PY'
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if '"verdict"' in l][0]
o["verdict"] = "tlsa-mismatch"
print(json.dumps(o, separators=(",", ":")))
PY
first=$("$py" -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"verdict\"" in l][0]["verdict"])' "$W/shard1.jsonl")
R --format json "$W/shard1.jsonl" "$W/shard2.jsonl" >"$W/shards.json"
ok $? "two shards: exit 0"
"$py" - "$W/report.json" "$W/shards.json" "$first" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
first = sys.argv[3]
assert b["report"]["duplicates"] == 1, b["report"]
assert b["stats"]["domains"] == a["stats"]["domains"], (a["stats"]["domains"], b["stats"]["domains"])
va, vb = a["stats"]["verdict"], b["stats"]["verdict"]
assert vb["tlsa-mismatch"] == va["tlsa-mismatch"] + (first != "tlsa-mismatch"), (va, vb)
assert vb[first] == va[first] - (first != "tlsa-mismatch"), (va, vb)
PY
ok $? "the later result counts, the earlier one is dropped (1 duplicate; $first -> tlsa-mismatch)"

echo "# == malformed lines: counted, named with their line, the rest reported"
{
	sed -n 1,2p "$W/scan.jsonl"
	echo 'this is not JSON'
	sed -n 3,4p "$W/scan.jsonl"
	echo '{"schema":2,"domain":"future.example"}'
	echo '[1,2,3]'
	tail -n +5 "$W/scan.jsonl"
	# a last line cut short: the first half of a domain's result seen before
	grep '"verdict"' "$W/scan.jsonl" | head -n 1 | "$py" -c 'import sys; l = sys.stdin.read(); print(l[:len(l) // 2])'
} >"$W/bad.jsonl"
R --format json "$W/bad.jsonl" >"$W/bad.json" 2>"$W/bad.err"
rc=$?
ok $((rc != 65)) "exit $rc (want 65)"
grep -q "bad.jsonl:3:" "$W/bad.err" && grep -q "bad.jsonl:6:" "$W/bad.err" &&
	grep -q "bad.jsonl:7:" "$W/bad.err" && grep -q "bad.jsonl:23:" "$W/bad.err" &&
	grep -q "4 of 23 lines were no scan result" "$W/bad.err"
ok $? "lines 3, 6, 7 and 23 named on stderr; 4 of 23 counted"
sed 's/^/# /' "$W/bad.err"
"$py" - "$W/report.json" "$W/bad.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
assert b["report"]["malformed"] == 4, b["report"]
assert a["stats"] == b["stats"], "the other lines were not all counted"
PY
ok $? "the well-formed lines give the same statistics"

echo "# == Markdown"
R --format md --title 'Scan | of *testbed*' "$W/scan.jsonl" >"$W/report.md"
ok $? "report --format md: exit 0"
"$py" - "$W/report.md" "$W/report.json" <<'PY'
import json, re, sys
md = open(sys.argv[1]).read()
r = json.load(open(sys.argv[2]))
assert md.startswith("# Scan \\| of \\*testbed\\*\n"), md[:80]
for h in ("## Statistics", "## Top failure reasons", "## Largest MX operators"):
    assert "\n" + h + "\n" in md, h
st = r["stats"]
def row(label):
    m = re.search(r"^\| (?:&emsp;)?" + re.escape(label) + r" \| (\d+) \| ([\d.]+)% \|", md, re.M)
    assert m, label
    return int(m.group(1))
assert row("domains with mail servers (MX or implicit)") == st["with_mail"]
assert row("valid DANE (every MX passes, RFC 7672)") == st["verdict"]["pass"]
assert row("SPF: one valid record") == st["policies"]["spf_valid"]
op = r["operators"][0]
assert re.search(r"^\| %s \| %d \| %d \|" % (re.escape(op["operator"]), op["domains"], op["dane_pass"]), md, re.M)
fr = r["failure_reasons"][0]
assert re.search(r"^\| %s \| %s \| %d \|" % (re.escape(fr["category"]), re.escape(fr["reason"]), fr["domains"]), md, re.M)
# every table row has the same number of cells as its header
for block in md.split("\n\n"):
    rows = [l for l in block.splitlines() if l.startswith("|")]
    if rows:
        cells = {len(re.split(r"(?<!\\)\|", l)) for l in rows}
        assert len(cells) == 1, block
assert "<script>" not in md
PY
ok $? "Markdown: headings, the statistics, top failure reason and operator, table shapes"

echo "# == HTML in headless Chromium"
R -o "$W/report.html" --title 'Report <b>&amp; "testbed"' "$W/scan.jsonl" 2>"$W/html.err"
ok $? "report -o report.html: exit 0"
R -o "$W/report2.html" --title 'Report <b>&amp; "testbed"' "$W/scan.jsonl" 2>/dev/null
cmp -s "$W/report.html" "$W/report2.html"
ok $? "the same data gives the same bytes"
! grep -qiE '<(script|link|img|iframe)|https?://[^"]*\.(css|js)|src=' "$W/report.html" &&
	grep -q '<style>' "$W/report.html"
ok $? "self-contained: inline style, no script, no external asset"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$W/report.html" &&
	! grep -q '<script>alert' "$W/report.html" &&
	grep -q '<title>Report &lt;b&gt;&amp;amp; &quot;testbed&quot;</title>' "$W/report.html"
ok $? "the hostile input entry and title come out escaped"

chrome() { # chrome ARGS...: headless Chromium, a fresh profile, logging to stderr
	local prof
	prof=$(mktemp -d "$W/chrome.XXXXXX")
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --no-first-run --user-data-dir="$prof" \
		--enable-logging=stderr --v=0 "$@"
}
# console messages show in Chromium's log as CONSOLE(...) lines; CSP refusals too
console_errors() { grep -E 'CONSOLE|Uncaught|Refused to' "$1"; }
# first: the check sees a console error when there is one
printf '<!DOCTYPE html><title>x</title><script>undefined_function()</script>\n' >"$W/broken.html"
chrome --dump-dom "file://$W/broken.html" >/dev/null 2>"$W/broken.log"
console_errors "$W/broken.log" >/dev/null
ok $? "the console check catches an error in a page made to fail"
chrome --dump-dom "file://$W/report.html" >"$W/dom.html" 2>"$W/chrome.log"
ok $? "Chromium rendered the page"
! console_errors "$W/chrome.log"
ok $? "no console errors"
art=${REPORT_ARTIFACTS:-$W}
mkdir -p "$art"
cp "$W/scan.jsonl" "$art/report-test-scan.jsonl" # the seed of bench/report.sh
chrome --window-size=1280,4000 --hide-scrollbars --screenshot="$art/report-test.png" \
	"file://$W/report.html" >/dev/null 2>"$W/shot.log"
[ -s "$art/report-test.png" ] && [ "$(head -c 8 "$art/report-test.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
ok $? "screenshot kept: $art/report-test.png"
"$py" - "$W/dom.html" "$W/report.json" "$W/scan.jsonl" <<'PY'
import json, sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__()
        s.stack, s.stats, s.svgs, s.bars, s.scripts, s.details = [], {}, set(), {}, 0, []
        s.svg = None; s.in_table = None; s.summary = False; s.text = ""
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "script": s.scripts += 1
        if tag == "table": s.in_table = a.get("id")
        if tag == "tr" and s.in_table == "stats" and "data-of" in a:
            s.stats[a["data-key"]] = (int(a["data-value"]), int(a["data-of"]))
        if tag == "svg": s.svg = a.get("id"); s.svgs.add(s.svg)
        if tag == "g" and s.svg and a.get("class") == "bar":
            s.bars.setdefault(s.svg, {})[a["data-key"]] = (int(a["data-value"]), int(a["data-of"]))
        if tag == "summary": s.summary = True; s.text = ""
    def handle_endtag(s, tag):
        if tag == "svg": s.svg = None
        if tag == "table": s.in_table = None
        if tag == "summary": s.summary = False; s.details.append(s.text)
    def handle_data(s, d):
        if s.summary: s.text += d
p = P()
p.feed(open(sys.argv[1]).read())
r = json.load(open(sys.argv[2]))
objs = [json.loads(l) for l in open(sys.argv[3])]
st = r["stats"]
assert p.scripts == 0, "a script element in the DOM"
want_svgs = {"chart-tls", "chart-adoption", "chart-failures", "chart-operators"}
assert want_svgs <= p.svgs, p.svgs
# statistics table = JSON
def get(path):
    v = st
    for k in path:
        v = v[k]
    return v
checks = {"with_mail": ["with_mail"], "working_mx": ["working_mx"], "mx_dnssec_secure": ["mx_dnssec_secure"],
          "starttls.all": ["starttls", "all"], "mx_kind.null-mx": ["mx_kind", "null-mx"],
          "mx_kind.nxdomain": ["mx_kind", "nxdomain"], "dane_valid": ["verdict", "pass"],
          "tls_lowest.TLSv1.3": ["tls_lowest", "TLSv1.3"],
          "policies.spf_valid": ["policies", "spf_valid"], "policies.tls_rpt_valid": ["policies", "tls_rpt_valid"]}
for key, path in checks.items():
    assert p.stats[key][0] == get(path), (key, p.stats[key], get(path))
for v, cnt in st["verdict"].items():
    if cnt:
        assert p.stats["verdict." + v][0] == cnt, v
assert len(p.stats) >= 30, len(p.stats)
# charts = JSON
tls = p.bars["chart-tls"]
assert tls["tls_lowest.TLSv1.3"][0] == st["tls_lowest"]["TLSv1.3"]
ad = p.bars["chart-adoption"]
for k in ("dane", "spf", "dmarc", "mta_sts", "tls_rpt", "dnssec"):
    assert ad["adoption." + k] == (r["adoption"][k]["n"], r["adoption"][k]["of"]), k
fail = p.bars["chart-failures"]
for x in r["failure_reasons"][:20]:
    assert fail[x["category"] + ": " + x["reason"]][0] == x["domains"], x
ops = p.bars["chart-operators"]
for o in r["operators"]:
    assert ops[o["operator"]][0] == o["domains"], o
# drill-down: every entry, in input order, names as text (the hostile one too)
assert p.details == [o["domain"] for o in objs], p.details
assert "<script>alert(1)</script>" in p.details
print("# DOM: %d statistics rows, %d charts, %d domains" % (len(p.stats), len(p.svgs), len(p.details)))
PY
ok $? "the DOM: no script, the SVG charts, statistics and chart numbers equal the data, every domain"

echo "# == hostile strings from the data (certificate subject, domain, SMTP greeting)"
"$py" - "$W/scan.jsonl" >"$W/hostile.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    for h in o.get("hosts", []):
        h["host"] = "<img src=x onerror=alert(2)>." + h["host"]
        for a in h.get("addresses", []):
            if a.get("smtp"):
                a["smtp"]["greeting"] = "220 </td></table><script>alert(3)</script>"
            c = (a.get("tls") or {}).get("certificate")
            if c:
                c["subject"] = 'CN=<script>alert("4")</script>&"\''
    if "error" not in o:
        o["domain"] = "<svg/onload=alert(5)>" + o["domain"]
    print(json.dumps(o))
PY
R -o "$W/hostile.html" "$W/hostile.jsonl" 2>/dev/null
ok $? "report of hostile data: exit 0"
chrome --dump-dom "file://$W/hostile.html" >"$W/hostile-dom.html" 2>"$W/hostile.log"
"$py" - "$W/hostile-dom.html" "$W/hostile.html" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.bad = []
    def handle_starttag(s, tag, a):
        if tag in ("script", "img", "iframe") or (tag == "svg" and any(k.startswith("on") for k, _ in a)):
            s.bad.append(tag)
        s.bad += [k for k, _ in a if k.startswith("on")]
p = P()
dom = open(sys.argv[1]).read()
p.feed(dom)
assert not p.bad, p.bad
raw = open(sys.argv[2]).read()
assert "&lt;script&gt;alert(&quot;4&quot;)&lt;/script&gt;&amp;&quot;&#39;" in raw
assert "&lt;svg/onload=alert(5)&gt;" in raw and "&lt;img src=x onerror=alert(2)&gt;" in raw
assert "&lt;/td&gt;&lt;/table&gt;&lt;script&gt;alert(3)" in raw
# and the browser shows them as text
assert "&lt;svg/onload=alert(5)&gt;" in dom and 'CN=&lt;script&gt;alert("4")&lt;/script&gt;' in dom
PY
ok $? "no element or handler from the data in the DOM; subjects, names, greetings escaped"
! console_errors "$W/hostile.log"
ok $? "no console errors on the hostile page"
R --format md "$W/hostile.jsonl" | grep -q '<img'
ok $((!$?)) "Markdown of hostile data: no raw markup"

echo "# == --max-domains"
R -o "$W/cap.html" --max-domains 3 "$W/scan.jsonl" 2>/dev/null
[ "$(grep -c '<details>' "$W/cap.html")" = 3 ] &&
	grep -q 'id="drill-note" data-shown="3" data-max="3">3 of 19 entries shown' "$W/cap.html"
ok $? "the drill-down holds 3 domains and says so"

echo "# == --db and --history"
if [ -s "$DB" ]; then
	R --format json --db "$DB" >"$W/db.json" 2>"$W/db.err"
	ok $? "report --db: exit 0 $(head -c 200 "$W/db.err")"
	"$py" - "$W/report.json" "$W/db.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
# the store keeps scanned domains only, not the input entry that was none
a["stats"]["entries"] -= a["stats"]["invalid"]
a["stats"]["invalid"] = 0
assert a["stats"] == b["stats"], (a["stats"], b["stats"])
assert b["report"]["first_scanned"] and b["report"]["last_scanned"], b["report"]
PY
	ok $? "the store's latest results give the JSON Lines' statistics (but the invalid entry), with a scan time range"
	# a second scan without policies: the history shows what changed
	"$DANEMAIL" scan --config "$CONF" --smtp-port "$P" --no-policies --timeout 2000 \
		--db "$DB" --jsonl /dev/null good.report-test "dane-ee.$S" 2>/dev/null
	R --history good.report-test --db "$DB" >"$W/hist.txt" 2>"$W/hist.err"
	ok $? "report --history: exit 0"
	sed 's/^/# /' "$W/hist.txt"
	[ "$(grep -c '^20[0-9][0-9]-' "$W/hist.txt")" = 2 ] && grep -q "first scan" "$W/hist.txt" &&
		grep -q "SPF valid -> none" "$W/hist.txt"
	ok $? "two scans of good.report-test, the second with SPF gone"
	R --history GOOD.report-test. --db "$DB" --format json >"$W/hist.json"
	"$py" - "$W/hist.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
assert h["domain"] == "good.report-test" and len(h["scans"]) == 2, h
a, b = h["scans"]
assert a["verdict"] == "pass" and a["starttls"] == "all" and a["changes"] == ["first scan"], a
assert "DMARC valid -> none" in b["changes"] and b["scan_id"] > a["scan_id"], b
PY
	ok $? "--history --format json: the rows, the name normalised"
	R --db "$DB" -o "$W/db.html" 2>/dev/null && grep -q '<time>' "$W/db.html"
	ok $? "HTML from --db shows the scan time range"
else
	echo "# the scan wrote no store ($DB): --db not checked"
	ok 1 "the scan wrote its results into $DB"
fi

echo "# == usage"
R >/dev/null 2>&1
ok $(($? != 64)) "no input: exit 64"
R --format pdf "$W/scan.jsonl" >/dev/null 2>&1
ok $(($? != 64)) "--format pdf: exit 64"
R "$W/nonexistent.jsonl" >/dev/null 2>&1
ok $(($? != 66)) "missing file: exit 66"
R --history x.example "$W/scan.jsonl" >/dev/null 2>&1
ok $(($? != 64)) "--history without --db: exit 64"
R --help | grep -q -- "--max-domains"
ok $? "--help names the options"

echo "1..$n"
[ "$fails" -eq 0 ]
