/*
 * test_stats.c - the aggregate table counted from JSON Lines objects
 * (src/scan/stats.c scan_stats_add_json) and what `danemail report` adds
 * (src/scan/reportagg.c: failure reasons, MX operators, registered domains).
 *
 * Table-driven: each case is one scan result as the scan writes it (schema
 * 1, trimmed to the members that count) and the counters it must move;
 * objects that are no scan result must be refused whole, counting nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailpolicy.h"
#include "reportagg.h"
#include "scanopt.h"
#include "stats.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A host with one address; TLS shown by tls ("" none), enumeration by versions (NULL none). */
#define HOST(name, transport, result, versions)                                                    \
	"{\"host\":\"" name "\",\"verdict\":\"pass\",\"addresses\":[{\"address\":\"192.0.2.1\","   \
	"\"transport\":\"" transport "\",\"smtp\":{\"result\":\"" result "\"}" versions "}]}"

static const struct stats_case {
	const char *name;
	const char *json;
	/* counters that must be 1 after this object alone (by offset), the rest 0 */
	size_t ones[24];
} cases[] = {
        {"implicit MX, DANE pass, TLS 1.3, every policy valid",
         "{\"schema\":1,\"domain\":\"a.test\",\"mx\":{\"kind\":\"implicit\",\"dnssec\":\"secure\"},"
         "\"hosts\":[" HOST(
                 "a.test", "tls", "ok",
                 "") "],\"verdict\":\"pass\","
                     "\"starttls\":\"all\",\"tls_lowest\":\"TLSv1.3\",\"addresses_tested\":1,"
                     "\"spf\":{\"state\":\"valid\"},\"dmarc\":{\"state\":\"valid\",\"policy\":"
                     "\"reject\"},"
                     "\"mta_sts\":{\"state\":\"valid\",\"policy\":{\"fetch\":\"ok\",\"valid\":true,"
                     "\"mode\":\"enforce\"}},\"tls_rpt\":{\"state\":\"valid\"}}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_IMPLICIT]),
          offsetof(struct scan_stats, with_mail), offsetof(struct scan_stats, exist),
          offsetof(struct scan_stats, mx_secure), offsetof(struct scan_stats, working_mx),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_ALL]),
          offsetof(struct scan_stats, tls[SCAN_TLS_13]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_PASS]),
          offsetof(struct scan_stats, policies), offsetof(struct scan_stats, spf_valid),
          offsetof(struct scan_stats, dmarc_valid), offsetof(struct scan_stats, dmarc_reject),
          offsetof(struct scan_stats, sts_txt), offsetof(struct scan_stats, sts_enforce),
          offsetof(struct scan_stats, tlsrpt_valid)}},
        {"MX records, insecure, TLSA absent, STARTTLS on some, TLS 1.2, SPF twice, p=none, "
         "MTA-STS policy not fetched",
         "{\"schema\":1,\"domain\":\"b.test\",\"mx\":{\"kind\":\"mx\",\"dnssec\":\"insecure\"},"
         "\"hosts\":[" HOST("mx.b.test", "tls", "ok", "") "," HOST(
                 "mx2.b.test", "no-starttls", "no-starttls",
                 "") "],\"verdict\":\"tlsa-absent\",\"starttls\":\"some\",\"tls_lowest\":"
                     "\"TLSv1.2\",\"addresses_tested\":2,\"spf\":{\"state\":\"multiple\"},"
                     "\"dmarc\":{\"state\":\"valid\",\"policy\":\"none\"},\"mta_sts\":{"
                     "\"state\":\"valid\",\"policy\":{\"fetch\":\"unreachable\"}},"
                     "\"tls_rpt\":{\"state\":\"absent\"}}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_RECORDS]),
          offsetof(struct scan_stats, with_mail), offsetof(struct scan_stats, exist),
          offsetof(struct scan_stats, working_mx),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_SOME]),
          offsetof(struct scan_stats, tls[SCAN_TLS_12]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_TLSA_ABSENT]),
          offsetof(struct scan_stats, policies), offsetof(struct scan_stats, spf_multiple),
          offsetof(struct scan_stats, dmarc_valid), offsetof(struct scan_stats, dmarc_none),
          offsetof(struct scan_stats, sts_txt), offsetof(struct scan_stats, sts_policy_bad)}},
        {"null MX, signed: exists, no mail",
         "{\"schema\":1,\"domain\":\"c.test\",\"mx\":{\"kind\":\"null-mx\",\"dnssec\":\"secure\"},"
         "\"hosts\":[],\"verdict\":\"unreachable\",\"starttls\":\"no-mail\",\"tls_lowest\":null,"
         "\"addresses_tested\":0}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_NULL]), offsetof(struct scan_stats, exist),
          offsetof(struct scan_stats, mx_secure),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_NO_MAIL]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_UNREACHABLE])}},
        {"NXDOMAIN: does not exist, even when the denial is secure",
         "{\"schema\":1,\"domain\":\"d.test\",\"mx\":{\"kind\":\"nxdomain\",\"dnssec\":\"secure\"},"
         "\"hosts\":[],\"verdict\":\"unreachable\",\"starttls\":\"no-mail\",\"addresses_tested\":"
         "0}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_NXDOMAIN]),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_NO_MAIL]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_UNREACHABLE])}},
        {"an input entry that is no domain name",
         "{\"schema\":1,\"domain\":\"<script>\",\"rank\":null,\"position\":3,\"input_line\":3,"
         "\"error\":\"not a domain name\"}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, invalid)}},
        {"--tls-enumerate: TLS 1.0 and 1.3 accepted, 1.1 refused, 1.2 not tried",
         "{\"schema\":1,\"domain\":\"e.test\",\"mx\":{\"kind\":\"implicit\",\"dnssec\":\"bogus\"},"
         "\"hosts\":[" HOST("e.test", "tls", "ok",
                            ",\"tls_versions\":{\"TLSv1\":true,\"TLSv1.1\":false,\"TLSv1.2\":"
                            "null,\"TLSv1.3\":true}") "],\"verdict\":\"tlsa-mismatch\","
                                                      "\"starttls\":\"all\",\"tls_lowest\":"
                                                      "\"TLSv1\",\"addresses_tested\":1}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_IMPLICIT]),
          offsetof(struct scan_stats, with_mail), offsetof(struct scan_stats, exist),
          offsetof(struct scan_stats, working_mx),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_ALL]),
          offsetof(struct scan_stats, tls[SCAN_TLS_10]), offsetof(struct scan_stats, enumerated),
          offsetof(struct scan_stats, accepts[SCAN_TLS_10]),
          offsetof(struct scan_stats, accepts[SCAN_TLS_13]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_TLSA_MISMATCH])}},
        {"an unknown TLS version counts as other; MTA-STS policy fetched but invalid",
         "{\"schema\":1,\"domain\":\"f.test\",\"mx\":{\"kind\":\"mx\",\"dnssec\":\"secure\"},"
         "\"hosts\":[],\"verdict\":\"pass\",\"starttls\":\"all\",\"tls_lowest\":\"SSLv3\","
         "\"addresses_tested\":1,\"mta_sts\":{\"state\":\"valid\",\"policy\":{\"fetch\":\"ok\","
         "\"valid\":false,\"mode\":\"enforce\"}}}",
         {offsetof(struct scan_stats, entries), offsetof(struct scan_stats, domains),
          offsetof(struct scan_stats, kind[SCAN_MX_RECORDS]),
          offsetof(struct scan_stats, with_mail), offsetof(struct scan_stats, exist),
          offsetof(struct scan_stats, mx_secure), offsetof(struct scan_stats, working_mx),
          offsetof(struct scan_stats, starttls[SCAN_STARTTLS_ALL]),
          offsetof(struct scan_stats, tls[SCAN_TLS_OTHER]),
          offsetof(struct scan_stats, verdict[DANE_VERDICT_PASS]),
          offsetof(struct scan_stats, policies), offsetof(struct scan_stats, sts_txt),
          offsetof(struct scan_stats, sts_policy_bad)}},
};

static uint64_t
counter(const struct scan_stats *s, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)s + off, sizeof(v));
	return v;
}

static void
test_counts(void **state)
{
	size_t i, k, off;

	(void)state;
	for (i = 0; i < N_OF(cases); i++) {
		struct scan_stats s;
		struct why why = {""};
		json_error_t err;
		json_t *j = json_loads(cases[i].json, 0, &err);

		if (j == NULL)
			fail_msg("%s: fixture does not parse: %s", cases[i].name, err.text);
		memset(&s, 0, sizeof(s));
		if (!scan_stats_add_json(&s, j, &why))
			fail_msg("%s: refused: %s", cases[i].name, why.msg);
		for (off = 0; off < sizeof(s); off += sizeof(uint64_t)) {
			uint64_t want = 0;

			for (k = 0; k < N_OF(cases[i].ones) && (k == 0 || cases[i].ones[k]); k++)
				if (cases[i].ones[k] == off)
					want = 1;
			if (counter(&s, off) != want)
				fail_msg("%s: counter at offset %zu: got %llu, want %llu",
				         cases[i].name, off, (unsigned long long)counter(&s, off),
				         (unsigned long long)want);
		}
		json_decref(j);
	}
}

static void
test_refused(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
	        {"[1,2]", "not a JSON object"},
	        {"{\"schema\":2,\"domain\":\"x.test\"}", "\"schema\" is not 1"},
	        {"{\"domain\":\"x.test\"}", "\"schema\" is not 1"},
	        {"{\"schema\":1,\"domain\":7}", "no \"domain\" string"},
	        {"{\"schema\":1,\"domain\":\"x.test\",\"verdict\":\"pass\",\"starttls\":\"all\"}",
	         "no known \"mx\".\"kind\""},
	        {"{\"schema\":1,\"domain\":\"x.test\",\"mx\":{\"kind\":\"mx\"},\"verdict\":"
	         "\"great\",\"starttls\":\"all\"}",
	         "no known \"verdict\""},
	        {"{\"schema\":1,\"domain\":\"x.test\",\"mx\":{\"kind\":\"mx\"},\"verdict\":"
	         "\"pass\","
	         "\"starttls\":\"yes\"}",
	         "no known \"starttls\""},
	};
	struct scan_stats s, zero;
	size_t i;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < N_OF(bad); i++) {
		struct why why = {""};
		json_t *j = json_loads(bad[i].json, 0, NULL);

		assert_non_null(j);
		memset(&s, 0, sizeof(s));
		if (scan_stats_add_json(&s, j, &why))
			fail_msg("%s: counted, want refused", bad[i].json);
		if (strcmp(why.msg, bad[i].why) != 0)
			fail_msg("%s: why got '%s', want '%s'", bad[i].json, why.msg, bad[i].why);
		assert_memory_equal(&s, &zero, sizeof(s));
		json_decref(j);
	}
}

struct collect {
	char text[8192];
	size_t rows;
	bool keys_unique;
	char keys[128][64]; /* copies: a row's key may live in a buffer reused for the next */
};

static void
collect_row(void *arg, const struct scan_stats_row *r)
{
	struct collect *c = arg;
	size_t i;

	if (r->key) {
		for (i = 0; i < c->rows && i < N_OF(c->keys); i++)
			if (strcmp(c->keys[i], r->key) == 0)
				c->keys_unique = false;
		if (c->rows < N_OF(c->keys))
			snprintf(c->keys[c->rows], sizeof(c->keys[0]), "%s", r->key);
	}
	c->rows++;
}

/* The table over every case: rows have unique keys; the text starts as the scan's did. */
static void
test_rows(void **state)
{
	struct scan_stats s;
	struct collect c;
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < N_OF(cases); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);

		assert_true(scan_stats_add_json(&s, j, NULL));
		json_decref(j);
	}
	memset(&c, 0, sizeof(c));
	c.keys_unique = true;
	scan_stats_rows(&s, collect_row, &c);
	assert_true(c.keys_unique);
	assert_true(c.rows >= 35);
	fp = open_memstream(&text, &len);
	scan_stats_print(fp, &s);
	fclose(fp);
	/* 7 objects: 6 domains (4 with mail) and 1 entry that was no domain */
	assert_non_null(strstr(text, "  1 input entries were no domain name (not scanned)\n"));
	assert_non_null(strstr(text, "  domains with mail servers (MX or implicit)           4"
	                             "   66.7%  of domains\n"));
	assert_non_null(strstr(text, "    TLSv1.3                                            1"
	                             "   25.0%  of with TLS\n"));
	assert_non_null(strstr(text, "  TLS versions accepted by some MX address"));
	assert_non_null(strstr(text, "    policy missing or invalid                          2"
	                             "   66.7%  of checked\n"));
	free(text);
}

static void
test_registered_domain(void **state)
{
	static const struct {
		const char *host, *want;
	} t[] = {
	        {"mx1.mail.example.com", "example.com"},
	        {"MX.Example.COM.", "example.com"},
	        {"mx.example.co.uk", "example.co.uk"},
	        {"a.b.example.com.au", "example.com.au"},
	        {"mail.example.ne.jp", "example.ne.jp"},
	        {"example.com", "example.com"},
	        {"localhost", "localhost"},
	        {"mx.co.uk", "mx.co.uk"},
	        {"mx.google.com", "google.com"},
	        {"a.b.c.d.test", "d.test"},
	        {"mx.example.kawasaki.jp",
	         "mx.example.kawasaki.jp"}, /* *.kawasaki.jp: a suffix each */
	        {"mx1.example.org.uk", "example.org.uk"},
	        {"co.uk", "co.uk"},
	};
	struct report_agg a;
	struct buf out = BUF_INIT;
	size_t i;

	(void)state;
	struct why why;
	struct policy_psl *psl = policy_psl_new(NULL, &why);

	assert_non_null(psl);
	report_agg_init(&a, psl);
	for (i = 0; i < N_OF(t); i++) {
		report_registered_domain(&a, t[i].host, &out);
		if (strcmp(buf_str(&out), t[i].want) != 0)
			fail_msg("%s: got %s, want %s", t[i].host, buf_str(&out), t[i].want);
	}
	buf_release(&out);
	report_agg_clear(&a);
	policy_psl_free(psl);
}

/* Failure reasons and operators over the cases. */
static void
test_agg(void **state)
{
	struct report_agg a;
	const struct report_operator **ops;
	size_t i, n;
	bool dane_absent = false, sts_fetch = false, spf_multiple = false;
	struct why why;
	struct policy_psl *psl = policy_psl_new(NULL, &why);

	(void)state;
	assert_non_null(psl);
	report_agg_init(&a, psl);
	for (i = 0; i < N_OF(cases); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);

		assert_true(report_agg_add(&a, j, (time_t)(1000 + i), NULL));
		json_decref(j);
	}
	assert_int_equal(a.first, 1000);
	assert_int_equal(a.last, 1000 + N_OF(cases) - 1);
	report_agg_sort_reasons(&a);
	for (i = 0; i < a.n_reasons; i++) {
		const struct report_reason *r = &a.reasons[i];

		if (i > 0)
			assert_true(a.reasons[i - 1].domains >= r->domains);
		if (strcmp(r->category, "DANE") == 0 && strcmp(r->reason, "tlsa-absent") == 0)
			dane_absent = r->domains == 1 && r->of == REPORT_OF_WITH_MAIL;
		if (strcmp(r->reason, "MTA-STS policy fetch unreachable") == 0)
			sts_fetch = r->domains == 1;
		if (strcmp(r->reason, "SPF multiple") == 0)
			spf_multiple = r->domains == 1;
		/* no reason from "pass", "valid" or "absent" */
		assert_null(strstr(r->reason, "pass"));
		assert_null(strstr(r->reason, "absent") && strcmp(r->category, "DANE") != 0
		                    ? r->reason
		                    : NULL);
	}
	assert_true(dane_absent);
	assert_true(sts_fetch);
	assert_true(spf_multiple);
	ops = report_agg_operators(&a, 0, &n);
	/* a.test, b.test (mx + mx2: one domain, two hosts), e.test */
	assert_int_equal(n, 3);
	/* ties in name order */
	assert_string_equal(report_operator_name(ops[0]), "a.test");
	assert_string_equal(report_operator_name(ops[1]), "b.test");
	assert_string_equal(report_operator_name(ops[2]), "e.test");
	assert_int_equal(ops[0]->dane_pass, 1);
	assert_int_equal(ops[1]->domains, 1);
	assert_int_equal(ops[1]->hosts, 2);
	assert_int_equal(ops[1]->dane_pass, 0);
	assert_int_equal(ops[2]->dane_pass, 0);
	free(ops);
	report_agg_clear(&a);
	policy_psl_free(psl);
}

/* scanopt.c reports bad values through the danemail command's cli_error: count them. */
static int n_errors;

void
cli_error(const char *fmt, ...)
{
	(void)fmt;
	n_errors++;
}

static int n_usages;

static void
count_usage(FILE *fp)
{
	(void)fp;
	n_usages++;
}

/* The engine options scan and monitor share (src/scan/scanopt.c). */
static void
test_scanopt(void **state)
{
	struct scan_options o;
	unsigned long v;

	(void)state;
	scan_options_init(&o);
	n_errors = n_usages = 0;
	assert_true(scanopt_take("scan", SCANOPT_CONC, "50", &o, count_usage));
	assert_int_equal(o.concurrency, 50);
	assert_true(scanopt_take("scan", SCANOPT_RATEPERIP, "0.5", &o, count_usage));
	assert_true(o.rate_per_ip > 0.49 && o.rate_per_ip < 0.51);
	assert_true(scanopt_take("scan", 'F', "127.0.0.1@53", &o, count_usage));
	assert_string_equal(o.dns.forwarder, "127.0.0.1@53");
	assert_int_equal(n_errors, 0);
	/* bad values: a message each, no usage, nothing stored */
	assert_false(scanopt_take("scan", SCANOPT_CONC, "0", &o, count_usage));
	assert_false(scanopt_take("scan", SCANOPT_CONC, "12x", &o, count_usage));
	assert_false(scanopt_take("scan", SCANOPT_RATEPERIP, "-1", &o, count_usage));
	assert_int_equal(o.concurrency, 50);
	assert_int_equal(n_errors, 3);
	assert_int_equal(n_usages, 0);
	/* an option that is none of the engine's: the usage, no message */
	assert_false(scanopt_take("scan", 'Z', NULL, &o, count_usage));
	assert_int_equal(n_usages, 1);
	assert_int_equal(n_errors, 3);
	/* the range is inclusive */
	assert_true(scanopt_uint("scan", "--x", "7", 7, 7, &v));
	assert_int_equal(v, 7);
	assert_false(scanopt_uint("scan", "--x", "8", 7, 7, &v));
	assert_false(scanopt_uint("scan", "--x", "", 0, 7, &v));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_counts), cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_rows),   cmocka_unit_test(test_registered_domain),
	        cmocka_unit_test(test_agg),    cmocka_unit_test(test_scanopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
