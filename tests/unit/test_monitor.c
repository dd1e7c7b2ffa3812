/*
 * test_monitor.c - the monitor's alert decisions (src/scan/alerts.c) and
 * their rendering (src/scan/notify.c), on JSON fixtures shaped like the
 * scanner's output (schema 1, danemail(1)).
 *
 * Table-driven: each case is a current and a previous domain object (and
 * the alerts on record, the look-ahead date), built by fixture() from a
 * compact description, and the alerts wanted: their keys, severities and
 * a text each must contain.  Then grouping per MX over several domains,
 * Nagios UNKNOWN, dates, "same alert", the mail's subject and headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "notify.h"
#include "util/buf.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The fixture tables name only the fields that differ from the defaults. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* 2026-11-29T00:00:00Z, the fixtures' "now" */
#define NOW 1795910400

#define SPKI_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define SPKI_B "bbbb000000000000000000000000000000000000000000000000000000000002"
#define CERT_A "ca00000000000000000000000000000000000000000000000000000000000001"
#define CERT_B "cb00000000000000000000000000000000000000000000000000000000000002"

/* One MX host with one address, as the scanner writes it. */
struct fx_host {
	const char *host;
	const char *verdict;   /* the address's; NULL: "pass" */
	const char *transport; /* NULL: "tls" */
	const char *version;   /* NULL: "TLSv1.3" */
	const char *cert;      /* leaf sha256; NULL: CERT_A */
	const char *spki;      /* NULL: SPKI_A */
	const char *not_after; /* leaf; NULL: 2027-06-01 */
	const char *records;   /* "3 1 1 HEX;3 0 1 HEX"; NULL: "3 1 1 " SPKI_A */
	const char *matches;   /* "RECORD:DEPTH:NOT_AFTER;..."; NULL: "0:0:" leaf; "-": none */
	const char *rollover;  /* NULL: renewal-safe */
	const char *addr_dnssec, *tlsa_dnssec; /* NULL: secure */
};

struct fx_domain {
	const char *domain;
	const char *mx_dnssec; /* NULL: secure */
	struct fx_host hosts[2];
	const char *sts_mode; /* NULL: no MTA-STS policy */
	const char *sts_uncovered;
};

static json_t *
fx_records(const char *spec)
{
	json_t *recs = json_array();
	char *copy = strdup(spec), *save = NULL, *r;

	for (r = strtok_r(copy, ";", &save); r; r = strtok_r(NULL, ";", &save)) {
		int u, s, m;
		char hex[200];

		assert_int_equal(sscanf(r, "%d %d %d %199s", &u, &s, &m, hex), 4);
		json_array_append_new(recs, json_pack("{s:i, s:i, s:i, s:s, s:b}", "usage", u,
		                                      "selector", s, "matching_type", m, "data",
		                                      hex, "usable", u >= 2));
	}
	free(copy);
	return recs;
}

static json_t *
fx_matches(const char *spec, const char *leaf_end)
{
	json_t *ms = json_array();
	char *copy, *save = NULL, *m;

	if (spec && strcmp(spec, "-") == 0)
		return ms;
	if (spec == NULL) {
		json_array_append_new(ms, json_pack("{s:i, s:i, s:s}", "record", 0, "depth", 0,
		                                    "not_after", leaf_end));
		return ms;
	}
	copy = strdup(spec);
	for (m = strtok_r(copy, ";", &save); m; m = strtok_r(NULL, ";", &save)) {
		int rec, depth;
		char end[40];

		assert_int_equal(sscanf(m, "%d:%d:%39s", &rec, &depth, end), 3);
		json_array_append_new(ms, json_pack("{s:i, s:i, s:s}", "record", rec, "depth",
		                                    depth, "not_after", end));
	}
	free(copy);
	return ms;
}

static json_t *
fx_host(const struct fx_host *h)
{
	const char *leaf_end = h->not_after ? h->not_after : "2027-06-01T00:00:00Z";
	const char *tr = h->transport ? h->transport : "tls";
	json_t *addr, *tls = json_null();

	if (strcmp(tr, "tls") == 0)
		tls = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:o}}", "version",
		                h->version ? h->version : "TLSv1.3", "spki_sha256",
		                h->spki ? h->spki : SPKI_A, "certificate", "subject", "CN=mx",
		                "sha256", h->cert ? h->cert : CERT_A, "not_after", leaf_end, "dane",
		                "matches", fx_matches(h->matches, leaf_end));
	addr = json_pack("{s:s, s:s, s:o, s:{s:n}, s:s, s:s, s:s}", "address", "192.0.2.1",
	                 "transport", tr, "tls", tls, "smtp", "why", "verdict",
	                 h->verdict ? h->verdict : "pass", "rule", "RFC 7672 x", "rollover",
	                 h->rollover ? h->rollover : "renewal-safe");
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:o}, s:[o], s:s}", "host", h->host,
	                 "addresses_dnssec", h->addr_dnssec ? h->addr_dnssec : "secure", "tlsa",
	                 "owner", "_25._tcp.mx.", "dnssec",
	                 h->tlsa_dnssec ? h->tlsa_dnssec : "secure", "why", "some reason",
	                 "records", fx_records(h->records ? h->records : "3 1 1 " SPKI_A),
	                 "addresses", addr, "verdict", h->verdict ? h->verdict : "pass");
}

static json_t *
fixture(const struct fx_domain *d)
{
	json_t *j, *hosts;
	size_t i;

	if (d == NULL || d->domain == NULL)
		return NULL;
	hosts = json_array();
	for (i = 0; i < N_OF(d->hosts) && d->hosts[i].host; i++)
		json_array_append_new(hosts, fx_host(&d->hosts[i]));
	j = json_pack("{s:i, s:s, s:{s:s, s:s, s:s}, s:o, s:s, s:s}", "schema", 1, "domain",
	              d->domain, "mx", "kind", "mx", "dnssec",
	              d->mx_dnssec ? d->mx_dnssec : "secure", "why", "rrsig expired", "hosts",
	              hosts, "verdict", "pass", "starttls", "all");
	if (d->sts_mode) {
		json_t *unc = json_array();

		if (d->sts_uncovered)
			json_array_append_new(unc, json_string(d->sts_uncovered));
		json_object_set_new(j, "mta_sts",
		                    json_pack("{s:s, s:{s:s, s:b, s:s, s:[s], s:b, s:o}}", "state",
		                              "valid", "policy", "fetch", "ok", "valid", 1, "mode",
		                              d->sts_mode, "mx", "mx1.example.net", "mx_covered",
		                              d->sts_uncovered == NULL, "mx_not_covered", unc));
	}
	return j;
}

struct alert_case {
	const char *name;
	struct fx_domain cur, prev;
	const char *open; /* JSON object of alerts on record, or NULL */
	const char *at;   /* --at, or NULL */
	const char *want; /* "KEY=SEVERITY" joined by ' ', "" for none */
	const char *text; /* must appear in the (only) alert's fix or evidence */
};

#define MX1 "mx1.example.net"
#define D1  "example.com"

static const struct alert_case alert_cases[] = {
        {"unchanged pass: nothing", {D1, NULL, {{MX1}}}, {D1, NULL, {{MX1}}}, NULL, NULL, "", NULL},
        {"no previous, pass: nothing", {D1, NULL, {{MX1}}}, {NULL}, NULL, NULL, "", NULL},
        {"certificate swapped: TLSA mismatch naming the new key",
         {D1, NULL, {{MX1, "tlsa-mismatch", NULL, NULL, CERT_B, SPKI_B, NULL, NULL, "-"}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "tlsa-mismatch mx:" MX1 "=critical",
         "IN TLSA 3 1 1 " SPKI_B},
        {"mismatch without history: publish the key in use",
         {D1, NULL, {{MX1, "tlsa-mismatch", NULL, NULL, CERT_B, SPKI_B, NULL, NULL, "-"}}},
         {NULL},
         NULL,
         NULL,
         "tlsa-mismatch mx:" MX1 "=critical",
         "for the key in use"},
        {"DANE-TA name mismatch",
         {D1, NULL, {{MX1, "name-mismatch", NULL, NULL, NULL, NULL, NULL, "2 0 1 " CERT_B}}},
         {NULL},
         NULL,
         NULL,
         "tlsa-mismatch mx:" MX1 "=critical",
         "RFC 7672 3.2.2"},
        {"DANE-TA expired chain",
         {D1, NULL, {{MX1, "cert-expired", NULL, NULL, NULL, NULL, NULL, "2 0 1 " CERT_B}}},
         {NULL},
         NULL,
         NULL,
         "tlsa-mismatch mx:" MX1 "=critical",
         "RFC 7672 3.1.2"},
        {"TLSA RRset bogus",
         {D1, NULL, {{MX1, "dnssec-bogus", .tlsa_dnssec = "bogus"}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "dnssec-bogus mx:" MX1 "=critical",
         "TLSA _25._tcp.mx.: bogus (some reason)"},
        {"addresses bogus",
         {D1, NULL, {{MX1, "dnssec-bogus", .addr_dnssec = "bogus"}}},
         {NULL},
         NULL,
         NULL,
         "dnssec-bogus mx:" MX1 "=critical",
         "addresses of " MX1 ": bogus"},
        {"MX RRset bogus",
         {D1, "bogus", {{NULL}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "dnssec-bogus domain:" D1 "=critical",
         "MX RRset of " D1 ": bogus (rrsig expired)"},
        {"STARTTLS gone (no TLSA): lost",
         {D1, NULL, {{MX1, "tlsa-absent", "no-starttls", .records = ""}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "starttls-lost mx:" MX1 "=critical",
         "clear text"},
        {"no STARTTLS before either, no TLSA: nothing lost",
         {D1, NULL, {{MX1, "tlsa-absent", "no-starttls"}}},
         {D1, NULL, {{MX1, "tlsa-absent", "no-starttls"}}},
         NULL,
         NULL,
         "",
         NULL},
        {"STARTTLS missing where TLSA demands it",
         {D1, NULL, {{MX1, "starttls-missing", "no-starttls"}}},
         {D1, NULL, {{MX1, "starttls-missing", "no-starttls"}}},
         NULL,
         NULL,
         "starttls-lost mx:" MX1 "=critical",
         "RFC 7672 2.2"},
        {"STARTTLS still gone: the open alert stays",
         {D1, NULL, {{MX1, "tlsa-absent", "tls-failed"}}},
         {D1, NULL, {{MX1, "tlsa-absent", "tls-failed"}}},
         "{\"starttls-lost mx:" MX1 "\": {\"kind\": \"starttls-lost\"}}",
         NULL,
         "starttls-lost mx:" MX1 "=critical",
         "192.0.2.1: tls-failed"},
        {"TLS 1.3 -> 1.2: downgraded",
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "tls-downgraded mx:" MX1 "=warning",
         "TLSv1.2 now, TLSv1.3 before"},
        {"TLS 1.2 both times: nothing",
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         NULL,
         NULL,
         "",
         NULL},
        {"TLS still 1.2 after a downgrade alert: stays",
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         "{\"tls-downgraded mx:" MX1 "\": {\"was\": \"TLSv1.3\"}}",
         NULL,
         "tls-downgraded mx:" MX1 "=warning",
         "TLSv1.2 now, TLSv1.3 before"},
        {"TLS up again: the downgrade alert goes",
         {D1, NULL, {{MX1}}},
         {D1, NULL, {{MX1, .version = "TLSv1.2"}}},
         "{\"tls-downgraded mx:" MX1 "\": {\"was\": \"TLSv1.3\"}}",
         NULL,
         "",
         NULL},
        {"3 0 1 only, leaf expires before --at: will stop matching",
         {D1,
          NULL,
          {{MX1, .not_after = "2026-12-10T00:00:00Z", .records = "3 0 1 " CERT_A,
            .rollover = "fragile"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "tlsa-will-stop-matching mx:" MX1 "=warning",
         "publish a 3 1 1 record for the new key"},
        {"3 0 1 only, no --at: nothing",
         {D1,
          NULL,
          {{MX1, .not_after = "2026-12-10T00:00:00Z", .records = "3 0 1 " CERT_A,
            .rollover = "fragile"}}},
         {NULL},
         NULL,
         NULL,
         "",
         NULL},
        {"3 0 1 only, leaf outlives --at: nothing",
         {D1, NULL, {{MX1, .records = "3 0 1 " CERT_A, .rollover = "fragile"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "",
         NULL},
        {"3 1 1 alone, leaf expires before --at: the key is pinned",
         {D1, NULL, {{MX1, .not_after = "2026-12-10T00:00:00Z"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "tlsa-will-stop-matching mx:" MX1 "=warning",
         "--reuse-key"},
        {"3 1 1 with a next-key record: ready",
         {D1,
          NULL,
          {{MX1, .not_after = "2026-12-10T00:00:00Z", .records = "3 1 1 " SPKI_A ";3 1 1 " SPKI_B,
            .rollover = "next-key-published"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "",
         NULL},
        {"DANE-TA anchor expires before --at",
         {D1, NULL, {{MX1, .records = "2 0 1 " CERT_B, .matches = "0:1:2026-12-20T00:00:00Z"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "tlsa-will-stop-matching mx:" MX1 "=warning",
         "trust anchor at depth 1, which expires 2026-12-20"},
        {"DANE-TA anchor lasts, leaf renewed: nothing",
         {D1,
          NULL,
          {{MX1, .not_after = "2026-12-10T00:00:00Z", .records = "2 0 1 " CERT_B,
            .matches = "0:1:2030-01-01T00:00:00Z"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "",
         NULL},
        {"expiring 3 0 1 beside a lasting 2 0 1: covered, nothing",
         {D1,
          NULL,
          {{MX1, .not_after = "2026-12-10T00:00:00Z", .records = "3 0 1 " CERT_A ";2 0 1 " CERT_B,
            .matches = "0:0:2026-12-10T00:00:00Z;1:1:2030-01-01T00:00:00Z"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "",
         NULL},
        {"PKIX-EE 1 0 1 with an expiring leaf",
         {D1,
          NULL,
          {{MX1, "tlsa-unusable", .not_after = "2026-12-10T00:00:00Z", .records = "1 0 1 " CERT_A,
            .rollover = "none"}}},
         {NULL},
         NULL,
         "2027-01-01",
         "tlsa-will-stop-matching mx:" MX1 "=warning",
         "1 0 1 " CERT_A " matches the leaf"},
        {"MTA-STS enforce misses an MX: critical",
         {D1, NULL, {{MX1}}, "enforce", "mx2.example.net"},
         {NULL},
         NULL,
         NULL,
         "mta-sts-uncovered domain:" D1 "=critical",
         "mx2.example.net"},
        {"MTA-STS testing misses an MX: warning",
         {D1, NULL, {{MX1}}, "testing", "mx2.example.net"},
         {D1, NULL, {{MX1}}, "testing", NULL},
         NULL,
         NULL,
         "mta-sts-uncovered domain:" D1 "=warning",
         "previous scan: every MX host covered"},
        {"MTA-STS covers every MX: nothing",
         {D1, NULL, {{MX1}}, "enforce", NULL},
         {NULL},
         NULL,
         NULL,
         "",
         NULL},
        {"two kinds at once",
         {D1,
          NULL,
          {{MX1, "tlsa-mismatch", .cert = CERT_B, .spki = SPKI_B, .matches = "-",
            .version = "TLSv1.2"}}},
         {D1, NULL, {{MX1}}},
         NULL,
         NULL,
         "tlsa-mismatch mx:" MX1 "=critical tls-downgraded mx:" MX1 "=warning",
         NULL},
};

/* "KEY=SEVERITY ..." of an alert table, sorted as the want strings are written. */
static void
keys_of(const json_t *alerts, struct buf *out)
{
	const char *key;
	json_t *a;

	json_object_foreach((json_t *)alerts, key, a)
	{
		buf_printf(out, "%s%s=%s", out->len ? " " : "", key,
		           json_string_value(json_object_get(a, "severity")));
	}
}

static bool
alert_mentions(const json_t *alerts, const char *text)
{
	const char *key;
	json_t *a, *v;
	size_t i;

	json_object_foreach((json_t *)alerts, key, a)
	{
		if (strstr(json_string_value(json_object_get(a, "fix")), text))
			return true;
		json_array_foreach(json_object_get(a, "evidence"), i, v)
		{
			if (strstr(json_string_value(v), text))
				return true;
		}
	}
	return false;
}

static void
test_alert_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < N_OF(alert_cases); i++) {
		const struct alert_case *c = &alert_cases[i];
		json_t *cur = fixture(&c->cur), *prev = fixture(&c->prev);
		json_t *open = c->open ? json_loads(c->open, 0, NULL) : NULL;
		json_t *alerts = json_object();
		struct alert_when w = {NOW, 0};
		struct buf got = BUF_INIT;

		if (c->at)
			assert_true(alert_parse_date(c->at, &w.at));
		alerts_domain(alerts, cur, prev, open, &w);
		keys_of(alerts, &got);
		if (strcmp(buf_str(&got), c->want) != 0) {
			print_message("%s: got \"%s\", want \"%s\"\n", c->name, buf_str(&got),
			              c->want);
			bad++;
		} else if (c->text && !alert_mentions(alerts, c->text)) {
			char *dump = json_dumps(alerts, JSON_INDENT(1));

			print_message("%s: no \"%s\" in %s\n", c->name, c->text, dump);
			free(dump);
			bad++;
		}
		buf_release(&got);
		json_decref(alerts);
		json_decref(open);
		json_decref(cur);
		json_decref(prev);
	}
	assert_int_equal(bad, 0);
}

/* Three domains behind one MX, one behind another: one alert per MX, domains listed. */
static void
test_group_per_mx(void **state)
{
	static const char *const doms[] = {"c.example", "a.example", "b.example", "a.example"};
	struct alert_when w = {NOW, 0};
	json_t *alerts = json_object(), *a, *other, *cur;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(doms); i++) {
		struct fx_domain d = {doms[i], NULL, {{MX1, "tlsa-mismatch", .matches = "-"}}};

		cur = fixture(&d);
		alerts_domain(alerts, cur, NULL, NULL, &w);
		json_decref(cur);
	}
	{
		struct fx_domain d = {
		        "d.example", NULL, {{"mx2.example.net", "tlsa-mismatch", .matches = "-"}}};

		cur = fixture(&d);
		alerts_domain(alerts, cur, NULL, NULL, &w);
		json_decref(cur);
	}
	assert_int_equal(json_object_size(alerts), 2);
	a = json_object_get(alerts, "tlsa-mismatch mx:" MX1);
	assert_non_null(a);
	other = json_object_get(alerts, "tlsa-mismatch mx:mx2.example.net");
	assert_non_null(other);
	assert_int_equal(json_array_size(json_object_get(a, "domains")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "domains"), 0)),
	                    "a.example");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "domains"), 2)),
	                    "c.example");
	assert_string_equal(json_string_value(json_object_get(a, "summary")),
	                    "TLSA mismatch on " MX1 " (3 domains)");
	assert_string_equal(json_string_value(json_object_get(other, "summary")),
	                    "TLSA mismatch on mx2.example.net (1 domain)");
	/* the evidence is the MX's, not repeated per domain */
	assert_int_equal(json_array_size(json_object_get(a, "evidence")),
	                 json_array_size(json_object_get(other, "evidence")));
	json_decref(alerts);
}

static void
test_same(void **state)
{
	json_t *a = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:[s]}", "kind", "tlsa-mismatch",
	                      "subject", MX1, "severity", "critical", "domains", "a", "state", "x",
	                      "evidence", "one");
	json_t *b = json_deep_copy(a);

	(void)state;
	json_object_set_new(b, "evidence", json_pack("[s]", "two")); /* evidence may vary */
	assert_true(alert_same(a, b));
	json_array_append_new(json_object_get(b, "domains"), json_string("b"));
	assert_false(alert_same(a, b));
	json_decref(b);
	b = json_deep_copy(a);
	json_object_set_new(b, "state", json_string("y")); /* another certificate: a change */
	assert_false(alert_same(a, b));
	json_decref(a);
	json_decref(b);
}

static void
test_unknown(void **state)
{
	json_t *j = json_pack("{s:s, s:{s:s}, s:s, s:s}", "domain", D1, "mx", "kind",
	                      "lookup-failed", "verdict", "lookup-failed", "starttls", "no-mail");

	(void)state;
	assert_string_equal(alerts_domain_unknown(j), "the MX lookup failed");
	json_object_set_new(j, "mx", json_pack("{s:s}", "kind", "mx"));
	json_object_set_new(j, "verdict", json_string("pass"));
	json_object_set_new(j, "starttls", json_string("all"));
	assert_null(alerts_domain_unknown(j));
	json_object_set_new(j, "starttls", json_string("untestable"));
	assert_non_null(alerts_domain_unknown(j));
	json_decref(j);
}

static void
test_dates(void **state)
{
	static const struct {
		const char *in;
		long long want; /* -1: refused */
	} cases[] = {
	        {"2026-11-29", NOW},
	        {"2026-11-29T00:00:00Z", NOW},
	        {"2026-11-29T01:30:00+01:30", NOW},
	        {"2026-11-28T23:00:00-01:00", NOW},
	        {"2026-11-29T00:00:00.250Z", NOW},
	        {"2026-11-29T00:00:00", -1},
	        {"2026-13-01", -1},
	        {"29.11.2026", -1},
	        {"2026-11-29x", -1},
	        {"", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(cases); i++) {
		time_t t = 0;
		bool ok = alert_parse_date(cases[i].in, &t);

		if (cases[i].want < 0) {
			if (ok)
				fail_msg("%s: accepted, want refused", cases[i].in);
		} else if (!ok || (long long)t != cases[i].want) {
			fail_msg("%s: got %lld (ok %d), want %lld", cases[i].in, (long long)t, ok,
			         cases[i].want);
		}
	}
}

/* Subject and headers: one line each, ASCII, whatever the alert text holds. */
static void
test_mail(void **state)
{
	const char *to[] = {"ops@example.org", "noc@example.org"};
	struct notify_mail m = {"localhost", "mon@example.org", to, 2, 1000};
	json_t *send = json_array(), *cleared = json_array(), *a;
	struct buf b = BUF_INIT;
	const char *body;

	(void)state;
	a = json_pack("{s:s, s:s, s:s, s:[s, s], s:[s], s:s, s:s}", "kind", "tlsa-mismatch",
	              "severity", "critical", "summary", "TLSA mismatch on " MX1 " (2 domains)",
	              "domains", "a.example", "b.example", "evidence", "192.0.2.1: tlsa-mismatch",
	              "fix", "Publish \"x IN TLSA 3 1 1 00\" before switching.", "status", "new");
	json_array_append_new(send, a);
	notify_mail_subject(&b, send, cleared);
	assert_string_equal(buf_str(&b), "danemail: TLSA mismatch on " MX1 " (2 domains)");
	buf_reset(&b);
	json_array_append_new(send, json_pack("{s:s, s:s}", "summary", "evil\r\nBcc: x@y",
	                                      "severity", "warning"));
	notify_mail_subject(&b, send, cleared);
	assert_string_equal(buf_str(&b),
	                    "danemail: 2 alerts: TLSA mismatch on " MX1 " (2 domains), ...");
	buf_reset(&b);
	json_array_remove(send, 0);
	notify_mail_subject(&b, send, cleared);
	assert_null(strpbrk(buf_str(&b), "\r\n"));
	assert_non_null(strstr(buf_str(&b), "evil??Bcc: x@y"));
	buf_reset(&b);
	json_array_clear(send);
	json_array_append_new(cleared, json_pack("{s:s}", "summary", "STARTTLS lost on mx"));
	notify_mail_subject(&b, send, cleared);
	assert_string_equal(buf_str(&b), "danemail: cleared: STARTTLS lost on mx");
	buf_reset(&b);

	json_array_clear(cleared);
	json_array_append_new(send,
	                      a = json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:s}", "kind",
	                                    "tlsa-mismatch", "severity", "critical", "summary", "S",
	                                    "domains", "a.example", "evidence", "e", "fix", "f"));
	notify_mail_message(&b, &m, send, cleared, NOW);
	body = strstr(buf_str(&b), "\r\n\r\n");
	assert_non_null(body);
	assert_non_null(strstr(buf_str(&b), "To: ops@example.org,\r\n noc@example.org\r\n"));
	assert_non_null(strstr(buf_str(&b), "Date: Sun, 29 Nov 2026 00:00:00 +0000\r\n"));
	assert_non_null(strstr(buf_str(&b), "Auto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(body, "CRITICAL tlsa-mismatch: S\r\n  domains: a.example\r\n"));
	/* every line ends in CRLF */
	for (body = buf_str(&b); (body = strchr(body, '\n')) != NULL; body++)
		assert_int_equal(body[-1], '\r');
	buf_release(&b);
	json_decref(send);
	json_decref(cleared);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_alert_table), cmocka_unit_test(test_group_per_mx),
	        cmocka_unit_test(test_same),        cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_dates),       cmocka_unit_test(test_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
