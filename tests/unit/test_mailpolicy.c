/*
 * test_mailpolicy.c - the scanner's domain policies (src/scan/mailpolicy.c).
 *
 * Table-driven: TXT answers are built by hand in wire form (in the tables
 * '|' marks a character-string boundary, so "v=spf1 a|ll" is two strings
 * that must be joined, RFC 7208 3.3) for SPF, DMARC, TLS-RPT and the
 * MTA-STS record, with every DNS outcome and DNSSEC state; policy files and
 * mx matching have their own tables.  The fetcher runs against
 * tests/tools/httpsd (path in $HTTPSD) on loopback: a throw-away CA and
 * server certificates from the openssl command line, one port on several
 * 127.0.0.x addresses, one server per behaviour, all fetched at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/rr.h"
#include "mailpolicy.h"
#include "util/alloc.h"
#include "util/buf.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Building TXT answers
 */

/* Wire RDATA of one TXT record: '|' splits strings, and strings over 255 octets are split. */
static void
txt_rdata(const char *text, struct dns_rr *rr)
{
	struct buf b = BUF_INIT;
	const char *p = text;

	for (;;) {
		size_t n = strcspn(p, "|");
		const char *s = p;

		do {
			size_t chunk = n > 255 ? 255 : n;

			buf_putc(&b, (int)chunk);
			buf_append(&b, s, chunk);
			s += chunk;
			n -= chunk;
		} while (n > 0);
		p = s;
		if (*p != '|')
			break;
		p++;
	}
	rr->rdata = buf_steal(&b, &rr->len);
}

/* An answer with the records of txt (NULL-terminated, up to 4). */
static void
make_answer(struct dns_answer *a, enum dns_outcome o, enum dns_sec s, const char *const *txt)
{
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->qname = xstrdup("example.test.");
	a->canonical = xstrdup("example.test.");
	a->qtype = RR_TYPE_TXT;
	a->outcome = o;
	a->sec = s;
	a->rcode = o == DNS_OUTCOME_NXDOMAIN ? 3 : o == DNS_OUTCOME_SERVFAIL ? 2 : 0;
	a->ttl = 300;
	if (s == DNS_SEC_BOGUS)
		a->why = xstrdup("signature expired");
	while (txt && n < 4 && txt[n])
		n++;
	if (n == 0)
		return;
	a->n_rrs = n;
	a->rrs = xcalloc(n, sizeof(*a->rrs));
	for (n = 0; n < a->n_rrs; n++)
		txt_rdata(txt[n], &a->rrs[n]);
}

static const char *
st(enum policy_record_state s)
{
	return policy_record_state_name(s);
}

/*
 * Every judge against every answer state (RFC 7208 4.4, 4.5)
 */

/* One record of each kind, so every judge finds its own. */
static const char *const all_kinds[] = {
        "v=spf1 mx -all",
        "v=DMARC1; p=reject",
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.test",
        "v=STSv1; id=20240101",
};
static const char *const unrelated[] = {"google-site-verification=abc", "hello world", NULL};

static const struct {
	const char *what;
	enum dns_outcome outcome;
	enum dns_sec sec;
	const char *const *txt;
	uint16_t qtype;
	enum policy_record_state want;
} state_rows[] = {
        {"secure data", DNS_OUTCOME_DATA, DNS_SEC_SECURE, all_kinds, 0, POLICY_VALID},
        {"insecure data", DNS_OUTCOME_DATA, DNS_SEC_INSECURE, all_kinds, 0, POLICY_VALID},
        {"bogus data", DNS_OUTCOME_DATA, DNS_SEC_BOGUS, all_kinds, 0, POLICY_LOOKUP_FAILED},
        {"indeterminate data", DNS_OUTCOME_DATA, DNS_SEC_INDETERMINATE, all_kinds, 0,
         POLICY_LOOKUP_FAILED},
        {"data of another type", DNS_OUTCOME_DATA, DNS_SEC_SECURE, all_kinds, RR_TYPE_A,
         POLICY_LOOKUP_FAILED},
        {"only unrelated TXT", DNS_OUTCOME_DATA, DNS_SEC_SECURE, unrelated, 0, POLICY_ABSENT},
        {"secure NODATA", DNS_OUTCOME_NODATA, DNS_SEC_SECURE, NULL, 0, POLICY_ABSENT},
        {"insecure NODATA", DNS_OUTCOME_NODATA, DNS_SEC_INSECURE, NULL, 0, POLICY_ABSENT},
        {"secure NXDOMAIN", DNS_OUTCOME_NXDOMAIN, DNS_SEC_SECURE, NULL, 0, POLICY_ABSENT},
        {"insecure NXDOMAIN", DNS_OUTCOME_NXDOMAIN, DNS_SEC_INSECURE, NULL, 0, POLICY_ABSENT},
        {"bogus NXDOMAIN", DNS_OUTCOME_NXDOMAIN, DNS_SEC_BOGUS, NULL, 0, POLICY_LOOKUP_FAILED},
        {"SERVFAIL", DNS_OUTCOME_SERVFAIL, DNS_SEC_INDETERMINATE, NULL, 0, POLICY_LOOKUP_FAILED},
        {"timeout", DNS_OUTCOME_TIMEOUT, DNS_SEC_INDETERMINATE, NULL, 0, POLICY_LOOKUP_FAILED},
        {"error", DNS_OUTCOME_ERROR, DNS_SEC_INDETERMINATE, NULL, 0, POLICY_LOOKUP_FAILED},
};

static void
test_answer_states(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(state_rows); i++) {
		struct dns_answer a;
		struct spf_info spf;
		struct dmarc_info dmarc;
		struct tlsrpt_info tlsrpt;
		struct mtasts_txt_info sts;
		enum policy_record_state want = state_rows[i].want;

		make_answer(&a, state_rows[i].outcome, state_rows[i].sec, state_rows[i].txt);
		if (state_rows[i].qtype)
			a.qtype = state_rows[i].qtype;
		spf_judge(&a, &spf);
		dmarc_judge(&a, &dmarc);
		tlsrpt_judge(&a, &tlsrpt);
		mtasts_txt_judge(&a, &sts);
		if (spf.state != want || dmarc.state != want || tlsrpt.state != want ||
		    sts.state != want)
			fail_msg("%s: got spf %s, dmarc %s, tlsrpt %s, mta-sts %s; want %s",
			         state_rows[i].what, st(spf.state), st(dmarc.state),
			         st(tlsrpt.state), st(sts.state), st(want));
		if (want == POLICY_LOOKUP_FAILED && spf.why[0] == '\0')
			fail_msg("%s: no reason for lookup-failed", state_rows[i].what);
		if (want == POLICY_LOOKUP_FAILED && state_rows[i].sec == DNS_SEC_BOGUS &&
		    strstr(spf.why, "signature expired") == NULL)
			fail_msg("%s: got why \"%s\", want the bogus reason", state_rows[i].what,
			         spf.why);
		spf_info_clear(&spf);
		dmarc_info_clear(&dmarc);
		tlsrpt_info_clear(&tlsrpt);
		mtasts_txt_info_clear(&sts);
		dns_answer_clear(&a);
	}
}

static void
test_null_answer(void **state)
{
	struct spf_info spf;
	struct dmarc_info dmarc;
	struct tlsrpt_info tlsrpt;
	struct mtasts_txt_info sts;

	(void)state;
	spf_judge(NULL, &spf);
	dmarc_judge(NULL, &dmarc);
	tlsrpt_judge(NULL, &tlsrpt);
	mtasts_txt_judge(NULL, &sts);
	assert_int_equal(spf.state, POLICY_LOOKUP_FAILED);
	assert_int_equal(dmarc.state, POLICY_LOOKUP_FAILED);
	assert_int_equal(tlsrpt.state, POLICY_LOOKUP_FAILED);
	assert_int_equal(sts.state, POLICY_LOOKUP_FAILED);
	spf_info_clear(&spf);
	dmarc_info_clear(&dmarc);
	tlsrpt_info_clear(&tlsrpt);
	mtasts_txt_info_clear(&sts);
	spf_info_clear(NULL);
	dmarc_info_clear(NULL);
	tlsrpt_info_clear(NULL);
	mtasts_txt_info_clear(NULL);
	mtasts_policy_clear(NULL);
}

/*
 * SPF (RFC 7208)
 */

#define INC "include:a.example.net "
static const struct {
	const char *what;
	const char *txt[4];
	enum policy_record_state want;
	int want_lookups;
	bool want_too_many;
	const char *want_all;
} spf_rows[] = {
        {"minimal -all", {"v=spf1 -all"}, POLICY_VALID, 0, false, "-all"},
        {"typical",
         {"v=spf1 mx a ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all"},
         POLICY_VALID,
         3,
         false,
         "~all"},
        {"version and names case-insensitive",
         {"V=SPF1 MX Include:A.Example.Net -ALL"},
         POLICY_VALID,
         2,
         false,
         "-all"},
        {"version alone", {"v=spf1"}, POLICY_VALID, 0, false, ""},
        {"all without qualifier is +all", {"v=spf1 all"}, POLICY_VALID, 0, false, "+all"},
        {"?all", {"v=spf1 ?all"}, POLICY_VALID, 0, false, "?all"},
        {"first all counts", {"v=spf1 ~all -all"}, POLICY_VALID, 0, false, "~all"},
        {"extra spaces", {"v=spf1  mx   -all  "}, POLICY_VALID, 1, false, "-all"},
        {"redirect counts", {"v=spf1 redirect=_spf.example.net"}, POLICY_VALID, 1, false, ""},
        {"split strings joined",
         {"v=spf1 ip4:192.0.2.1 |include:_spf.example.net -all"},
         POLICY_VALID,
         1,
         false,
         "-all"},
        {"split inside a term, no space added",
         {"v=spf1 inc|lude:a.example.net -a|ll"},
         POLICY_VALID,
         1,
         false,
         "-all"},
        {"among unrelated TXT",
         {"google-site-verification=x", "v=spf1 -all", "hello"},
         POLICY_VALID,
         0,
         false,
         "-all"},
        {"two records: permerror",
         {"v=spf1 -all", "v=spf1 mx -all"},
         POLICY_MULTIPLE,
         0,
         false,
         ""},
        {"v=spf10 is not SPF", {"v=spf10 -all"}, POLICY_ABSENT, 0, false, ""},
        {"v=spf1 without a space is not SPF", {"v=spf1-all"}, POLICY_ABSENT, 0, false, ""},
        {"v=spf1 then tab is not SPF", {"v=spf1\t-all"}, POLICY_ABSENT, 0, false, ""},
        {"v=spf10 beside v=spf1", {"v=spf10 -all", "v=spf1 ~all"}, POLICY_VALID, 0, false, "~all"},
        {"10 includes at the limit",
         {"v=spf1 " INC INC INC INC INC INC INC INC INC INC "-all"},
         POLICY_VALID,
         10,
         false,
         "-all"},
        {"11 includes: too many lookups, a permerror (RFC 7208 4.6.4)",
         {"v=spf1 " INC INC INC INC INC INC INC INC INC INC INC "-all"},
         POLICY_INVALID,
         11,
         true,
         "-all"},
        {"every lookup kind counts",
         {"v=spf1 a mx ptr exists:%{i}.e.example.net " INC INC INC INC INC
          "redirect=r.example.net"},
         POLICY_VALID,
         10,
         false,
         ""},
        {"every lookup kind, one too many",
         {"v=spf1 a a:b.example.net mx ptr exists:%{i}.e.example.net " INC INC INC INC INC
          "redirect=r.example.net"},
         POLICY_INVALID,
         11,
         true,
         ""},
        {"ip4/ip6/all cost nothing",
         {"v=spf1 ip4:192.0.2.1 ip4:198.51.100.0/24 ip6:::1 ip6:2001:db8::/48 -all"},
         POLICY_VALID,
         0,
         false,
         "-all"},
        {"dual cidr",
         {"v=spf1 a/24//64 mx:example.com/24 a//64 -all"},
         POLICY_VALID,
         3,
         false,
         "-all"},
        {"ptr with domain", {"v=spf1 ptr:example.com -all"}, POLICY_VALID, 1, false, "-all"},
        {"exp and unknown modifier",
         {"v=spf1 -all exp=explain.%{d} foo-bar.x=anything"},
         POLICY_VALID,
         0,
         false,
         "-all"},
        {"empty unknown modifier", {"v=spf1 foo= -all"}, POLICY_VALID, 0, false, "-all"},
        {"unknown mechanism", {"v=spf1 foo -all"}, POLICY_INVALID, 0, false, ""},
        {"unknown mechanism with argument",
         {"v=spf1 ip5:192.0.2.1 -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"bad ip4", {"v=spf1 ip4:999.0.2.1 -all"}, POLICY_INVALID, 0, false, ""},
        {"ip4 cidr over 32", {"v=spf1 ip4:192.0.2.1/33 -all"}, POLICY_INVALID, 0, false, ""},
        {"ip6 cidr over 128", {"v=spf1 ip6:2001:db8::/129 -all"}, POLICY_INVALID, 0, false, ""},
        {"ip4 without address", {"v=spf1 ip4 -all"}, POLICY_INVALID, 0, false, ""},
        {"a cidr over 32", {"v=spf1 a/33 -all"}, POLICY_INVALID, 0, false, ""},
        {"include without domain", {"v=spf1 include -all"}, POLICY_INVALID, 0, false, ""},
        {"include with empty domain", {"v=spf1 include: -all"}, POLICY_INVALID, 0, false, ""},
        {"include of a single label",
         {"v=spf1 include:localhost -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"include of a numeric top label",
         {"v=spf1 include:192.0.2.1 -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"bad macro", {"v=spf1 include:%{z}.example.com -all"}, POLICY_INVALID, 0, false, ""},
        {"unterminated macro",
         {"v=spf1 exists:%{i.example.com -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"exp-only macro letter in a domain",
         {"v=spf1 exists:%{c}.example.com -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"all with an argument", {"v=spf1 all:example.com"}, POLICY_INVALID, 0, false, ""},
        {"qualifier alone", {"v=spf1 - -all"}, POLICY_INVALID, 0, false, ""},
        {"qualified modifier", {"v=spf1 -redirect=x.example.com"}, POLICY_INVALID, 0, false, ""},
        {"redirect twice",
         {"v=spf1 redirect=a.example.com redirect=b.example.com"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"exp twice",
         {"v=spf1 exp=a.example.com exp=b.example.com -all"},
         POLICY_INVALID,
         0,
         false,
         ""},
        {"control character", {"v=spf1 mx\x01 -all"}, POLICY_INVALID, 0, false, ""},
        {"non-ASCII", {"v=spf1 include:\xc3\xa9.example.com -all"}, POLICY_INVALID, 0, false, ""},
};

static void
test_spf(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(spf_rows); i++) {
		struct dns_answer a;
		struct spf_info got;

		make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, spf_rows[i].txt);
		spf_judge(&a, &got);
		if (got.state != spf_rows[i].want)
			fail_msg("%s: got %s (%s), want %s", spf_rows[i].what, st(got.state),
			         got.why, st(spf_rows[i].want));
		if (got.state == POLICY_VALID) {
			if (got.dns_mechanisms != spf_rows[i].want_lookups)
				fail_msg("%s: got %d lookups, want %d", spf_rows[i].what,
				         got.dns_mechanisms, spf_rows[i].want_lookups);
			if (got.too_many_lookups != spf_rows[i].want_too_many)
				fail_msg("%s: got too_many_lookups %d, want %d", spf_rows[i].what,
				         got.too_many_lookups, spf_rows[i].want_too_many);
			if (strcmp(got.all, spf_rows[i].want_all) != 0)
				fail_msg("%s: got all \"%s\", want \"%s\"", spf_rows[i].what,
				         got.all, spf_rows[i].want_all);
		}
		if ((got.state == POLICY_VALID || got.state == POLICY_INVALID) &&
		    got.record == NULL)
			fail_msg("%s: no record kept", spf_rows[i].what);
		if (got.state == POLICY_INVALID && got.why[0] == '\0')
			fail_msg("%s: invalid without a reason", spf_rows[i].what);
		spf_info_clear(&got);
		dns_answer_clear(&a);
	}
}

/* The record is kept joined and escaped; malformed RDATA and NUL bytes are invalid. */
static void
test_spf_record_bytes(void **state)
{
	static const uint8_t truncated[] = {6, 'v', '=', 's', 'p', 'f', '1', 20, ' ', 'm', 'x'};
	static const uint8_t with_nul[] = {11, 'v', '=', 's', 'p', 'f', '1', ' ', 'm', 'x', 0, 'a'};
	const char *const ctl[] = {"v=spf1 mx\x01|\\ -all", NULL};
	const char *const split[] = {"v=spf1 |mx |-all", NULL};
	struct dns_answer a;
	struct spf_info got;

	(void)state;
	make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, ctl);
	spf_judge(&a, &got);
	assert_int_equal(got.state, POLICY_INVALID);
	assert_string_equal(got.record, "v=spf1 mx\\x01\\\\ -all");
	spf_info_clear(&got);
	dns_answer_clear(&a);

	make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, split);
	spf_judge(&a, &got);
	assert_int_equal(got.state, POLICY_VALID);
	assert_string_equal(got.record, "v=spf1 mx -all");
	spf_info_clear(&got);
	dns_answer_clear(&a);

	make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, split);
	free(a.rrs[0].rdata);
	a.rrs[0].rdata = xmemdup(truncated, sizeof(truncated));
	a.rrs[0].len = sizeof(truncated);
	spf_judge(&a, &got);
	if (got.state != POLICY_INVALID)
		fail_msg("truncated RDATA: got %s, want invalid", st(got.state));
	spf_info_clear(&got);
	free(a.rrs[0].rdata);
	a.rrs[0].rdata = xmemdup(with_nul, sizeof(with_nul));
	a.rrs[0].len = sizeof(with_nul);
	spf_judge(&a, &got);
	if (got.state != POLICY_INVALID)
		fail_msg("NUL byte: got %s, want invalid", st(got.state));
	assert_string_equal(got.record, "v=spf1 mx\\x00a");
	spf_info_clear(&got);
	/* an empty RDATA and a zero-length string are just not SPF */
	free(a.rrs[0].rdata);
	a.rrs[0].rdata = xmemdup("", 1);
	a.rrs[0].len = 0;
	spf_judge(&a, &got);
	assert_int_equal(got.state, POLICY_ABSENT);
	spf_info_clear(&got);
	dns_answer_clear(&a);
}

/* A record far over 255 octets (several strings) still parses. */
static void
test_spf_long_record(void **state)
{
	struct buf rec = BUF_INIT;
	const char *txt[2] = {NULL, NULL};
	struct dns_answer a;
	struct spf_info got;
	int i;

	(void)state;
	buf_puts(&rec, "v=spf1");
	for (i = 0; i < 60; i++)
		buf_printf(&rec, " ip4:198.51.100.%d", i);
	buf_puts(&rec, " include:a.example.net -all");
	txt[0] = buf_str(&rec);
	make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, txt);
	assert_true(a.rrs[0].len > 2 * 256);
	spf_judge(&a, &got);
	assert_int_equal(got.state, POLICY_VALID);
	assert_int_equal(got.dns_mechanisms, 1);
	assert_string_equal(got.all, "-all");
	assert_string_equal(got.record, buf_str(&rec));
	spf_info_clear(&got);
	dns_answer_clear(&a);
	buf_release(&rec);
}

/*
 * DMARC (RFC 7489 6.3, 6.4)
 */

static const struct {
	const char *what;
	const char *txt[4];
	enum policy_record_state want;
	const char *policy, *sp;
	int pct;
	bool has_rua;
} dmarc_rows[] = {
        {"minimal", {"v=DMARC1; p=none"}, POLICY_VALID, "none", "", 100, false},
        {"full",
         {"v=DMARC1;p=reject;sp=quarantine;pct=50;rua=mailto:d@example.com;adkim=s"},
         POLICY_VALID,
         "reject",
         "quarantine",
         50,
         true},
        {"policy value case-insensitive",
         {"v=DMARC1; p=REJECT; SP=None"},
         POLICY_VALID,
         "reject",
         "none",
         100,
         false},
        {"spaces around tags and '='",
         {"v=DMARC1 ; p = quarantine ; "},
         POLICY_VALID,
         "quarantine",
         "",
         100,
         false},
        {"split strings joined", {"v=DMARC1; p=|reject"}, POLICY_VALID, "reject", "", 100, false},
        {"pct=0", {"v=DMARC1; p=none; pct=0"}, POLICY_VALID, "none", "", 0, false},
        {"pct=100", {"v=DMARC1; p=none; pct=100"}, POLICY_VALID, "none", "", 100, false},
        {"two rua URIs with size",
         {"v=DMARC1; p=none; rua=mailto:a@example.com, mailto:b@example.net!10m"},
         POLICY_VALID,
         "none",
         "",
         100,
         true},
        {"unknown tag ignored",
         {"v=DMARC1; p=none; foo=bar"},
         POLICY_VALID,
         "none",
         "",
         100,
         false},
        {"among unrelated TXT", {"spam", "v=DMARC1; p=none"}, POLICY_VALID, "none", "", 100, false},
        {"version is case-sensitive", {"v=dmarc1; p=reject"}, POLICY_ABSENT, "", "", 0, false},
        {"v=DMARC10 is not DMARC", {"v=DMARC10; p=none"}, POLICY_ABSENT, "", "", 0, false},
        {"v not first", {"p=none; v=DMARC1"}, POLICY_ABSENT, "", "", 0, false},
        {"two records",
         {"v=DMARC1; p=none", "v=DMARC1; p=reject"},
         POLICY_MULTIPLE,
         "",
         "",
         0,
         false},
        {"p missing", {"v=DMARC1"}, POLICY_INVALID, "", "", 0, false},
        {"p missing, sp present", {"v=DMARC1; sp=reject"}, POLICY_INVALID, "", "", 0, false},
        {"p invalid", {"v=DMARC1; p=block"}, POLICY_INVALID, "", "", 0, false},
        {"p empty", {"v=DMARC1; p="}, POLICY_INVALID, "", "", 0, false},
        {"sp invalid", {"v=DMARC1; p=none; sp=maybe"}, POLICY_INVALID, "", "", 0, false},
        {"pct over 100", {"v=DMARC1; p=none; pct=101"}, POLICY_INVALID, "", "", 0, false},
        {"pct negative", {"v=DMARC1; p=none; pct=-1"}, POLICY_INVALID, "", "", 0, false},
        {"pct not a number", {"v=DMARC1; p=none; pct=half"}, POLICY_INVALID, "", "", 0, false},
        {"pct four digits", {"v=DMARC1; p=none; pct=0100"}, POLICY_INVALID, "", "", 0, false},
        {"tag without '='", {"v=DMARC1; p"}, POLICY_INVALID, "", "", 0, false},
        {"tag repeated", {"v=DMARC1; p=none; p=reject"}, POLICY_INVALID, "", "", 0, false},
        /* RFC 7489 6.6.3 step 6: a bad p= or sp= with a valid rua= counts as p=none */
        {"p missing, rua valid",
         {"v=DMARC1; rua=mailto:d@example.com"},
         POLICY_VALID,
         "none",
         "",
         100,
         true},
        {"p invalid, rua valid",
         {"v=DMARC1; p=block; rua=mailto:d@example.com"},
         POLICY_VALID,
         "none",
         "",
         100,
         true},
        {"sp invalid, rua valid",
         {"v=DMARC1; p=reject; sp=maybe; rua=mailto:d@example.com"},
         POLICY_VALID,
         "none",
         "",
         100,
         true},
        {"p invalid, rua invalid",
         {"v=DMARC1; p=block; rua=d@example.com"},
         POLICY_INVALID,
         "",
         "",
         0,
         false},
        {"rua not a URI",
         {"v=DMARC1; p=none; rua=dmarc@example.com"},
         POLICY_INVALID,
         "",
         "",
         0,
         false},
};

static void
test_dmarc(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(dmarc_rows); i++) {
		struct dns_answer a;
		struct dmarc_info got;

		make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, dmarc_rows[i].txt);
		dmarc_judge(&a, &got);
		if (got.state != dmarc_rows[i].want)
			fail_msg("%s: got %s (%s), want %s", dmarc_rows[i].what, st(got.state),
			         got.why, st(dmarc_rows[i].want));
		if (got.state == POLICY_VALID) {
			if (strcmp(got.policy, dmarc_rows[i].policy) != 0 ||
			    strcmp(got.sp, dmarc_rows[i].sp) != 0)
				fail_msg("%s: got p=%s sp=%s, want p=%s sp=%s", dmarc_rows[i].what,
				         got.policy, got.sp, dmarc_rows[i].policy,
				         dmarc_rows[i].sp);
			if (got.pct != dmarc_rows[i].pct || got.has_rua != dmarc_rows[i].has_rua)
				fail_msg("%s: got pct=%d rua=%d, want pct=%d rua=%d",
				         dmarc_rows[i].what, got.pct, got.has_rua,
				         dmarc_rows[i].pct, dmarc_rows[i].has_rua);
			assert_non_null(got.record);
		}
		if (got.state == POLICY_INVALID && got.why[0] == '\0')
			fail_msg("%s: invalid without a reason", dmarc_rows[i].what);
		dmarc_info_clear(&got);
		dns_answer_clear(&a);
	}
}

/*
 * DMARC at the organizational domain (RFC 7489 3.2, 6.6.3)
 */

/* The organizational domain from libpsl's list, and from a private list file. */
static void
test_org_domain(void **state)
{
	static const struct {
		const char *domain, *want; /* want NULL: none (a public suffix) */
		bool private_list;         /* the file below instead of libpsl's */
	} rows[] = {
	        {"example.com", "example.com", false},
	        {"mail.example.com", "example.com", false},
	        {"a.b.c.example.co.uk", "example.co.uk", false}, /* two-label suffix */
	        {"Mail.Example.COM.", "example.com", false},     /* case, final dot */
	        {"co.uk", NULL, false},                          /* a public suffix */
	        {"com", NULL, false},
	        {"sub.secure.test", "secure.test", false}, /* unknown TLD: the "*" rule */
	        {"x.y.scan-test", "y.scan-test", false},
	        {"a.b.orgs.scan-test", "b.orgs.scan-test", true},
	        {"orgs.scan-test", NULL, true},
	        {"a.b.scan-test", "b.scan-test", true},
	};
	static const char list[] = "// private\nscan-test\norgs.scan-test\n";
	struct policy_psl *builtin, *priv;
	struct why why = {""};
	char path[] = "/tmp/test_mailpolicy_psl.XXXXXX";
	int fd = mkstemp(path);
	size_t i;

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, list, strlen(list)) == (ssize_t)strlen(list));
	close(fd);
	builtin = policy_psl_new(NULL, &why);
	if (builtin == NULL)
		fail_msg("libpsl's list: %s", why.msg);
	priv = policy_psl_new(path, &why);
	if (priv == NULL)
		fail_msg("private list: %s", why.msg);
	unlink(path);
	for (i = 0; i < N_OF(rows); i++) {
		struct buf out = BUF_INIT;
		bool got = policy_org_domain(rows[i].private_list ? priv : builtin, rows[i].domain,
		                             &out);

		if (got != (rows[i].want != NULL) ||
		    (got && strcmp(buf_str(&out), rows[i].want) != 0))
			fail_msg("%s: got %s, want %s", rows[i].domain,
			         got ? buf_str(&out) : "none",
			         rows[i].want ? rows[i].want : "none");
		buf_release(&out);
	}
	assert_false(policy_org_domain(NULL, "example.com", NULL));
	assert_null(policy_psl_new("/nonexistent/psl.dat", &why));
	assert_non_null(strstr(why.msg, "cannot be loaded"));
	policy_psl_free(builtin);
	policy_psl_free(priv);
	policy_psl_free(NULL);
}

/* Record discovery: the domain's answer, then perhaps the organizational domain's. */
static void
test_dmarc_org_discovery(void **state)
{
	static const char *const reject_sp[] = {"v=DMARC1; p=reject; sp=quarantine", NULL};
	static const char *const reject[] = {"v=DMARC1; p=reject", NULL};
	static const char *const none[] = {"v=DMARC1; p=none", NULL};
	static const char *const spf_only[] = {"v=spf1 -all", NULL};
	static const char *const two[] = {"v=DMARC1; p=none", "v=DMARC1; p=reject", NULL};
	static const struct {
		const char *what;
		const char *domain, *org;
		enum dns_outcome o1;
		const char *const *txt1;
		bool want_org; /* a lookup at the organizational domain */
		enum dns_outcome o2;
		const char *const *txt2;
		enum policy_record_state want;
		enum dmarc_found found;
		const char *effective;
	} rows[] = {
	        {"own record", "mail.example.com", "example.com", DNS_OUTCOME_DATA, none, false, 0,
	         NULL, POLICY_VALID, DMARC_FOUND_DOMAIN, "none"},
	        {"none at the domain: sp= of the org domain (RFC 7489 6.3)", "mail.example.com",
	         "example.com", DNS_OUTCOME_NXDOMAIN, NULL, true, DNS_OUTCOME_DATA, reject_sp,
	         POLICY_VALID, DMARC_FOUND_ORG_DOMAIN, "quarantine"},
	        {"no sp=: p= applies to subdomains", "mail.example.com", "example.com",
	         DNS_OUTCOME_NODATA, NULL, true, DNS_OUTCOME_DATA, reject, POLICY_VALID,
	         DMARC_FOUND_ORG_DOMAIN, "reject"},
	        {"TXT but no DMARC record: the set is empty", "mail.example.com", "example.com",
	         DNS_OUTCOME_DATA, spf_only, true, DNS_OUTCOME_DATA, reject, POLICY_VALID,
	         DMARC_FOUND_ORG_DOMAIN, "reject"},
	        {"none anywhere", "mail.example.com", "example.com", DNS_OUTCOME_NXDOMAIN, NULL,
	         true, DNS_OUTCOME_NXDOMAIN, NULL, POLICY_ABSENT, DMARC_FOUND_NONE, ""},
	        {"the domain is its org domain: no second lookup", "example.com", "example.com",
	         DNS_OUTCOME_NXDOMAIN, NULL, false, 0, NULL, POLICY_ABSENT, DMARC_FOUND_NONE, ""},
	        {"a public suffix: no org domain", "co.uk", NULL, DNS_OUTCOME_NXDOMAIN, NULL, false,
	         0, NULL, POLICY_ABSENT, DMARC_FOUND_NONE, ""},
	        {"a failure at the domain is unknown, not empty", "mail.example.com", "example.com",
	         DNS_OUTCOME_SERVFAIL, NULL, false, 0, NULL, POLICY_LOOKUP_FAILED, DMARC_FOUND_NONE,
	         ""},
	        {"two records at the domain: discovery ends (6.6.3 step 5)", "mail.example.com",
	         "example.com", DNS_OUTCOME_DATA, two, false, 0, NULL, POLICY_MULTIPLE,
	         DMARC_FOUND_DOMAIN, ""},
	        {"the org domain's lookup fails: unknown", "mail.example.com", "example.com",
	         DNS_OUTCOME_NXDOMAIN, NULL, true, DNS_OUTCOME_SERVFAIL, NULL, POLICY_LOOKUP_FAILED,
	         DMARC_FOUND_NONE, ""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		struct dns_answer a1, a2;
		struct dmarc_info got;
		bool want_org;

		make_answer(&a1, rows[i].o1,
		            rows[i].o1 == DNS_OUTCOME_SERVFAIL ? DNS_SEC_INDETERMINATE
		                                               : DNS_SEC_SECURE,
		            rows[i].txt1);
		dmarc_judge(&a1, &got);
		want_org = dmarc_wants_org_domain(&got, rows[i].domain, rows[i].org);
		if (want_org != rows[i].want_org)
			fail_msg("%s: got %s org lookup, want %s", rows[i].what,
			         want_org ? "an" : "no", rows[i].want_org ? "one" : "none");
		if (want_org) {
			make_answer(&a2, rows[i].o2,
			            rows[i].o2 == DNS_OUTCOME_SERVFAIL ? DNS_SEC_INDETERMINATE
			                                               : DNS_SEC_SECURE,
			            rows[i].txt2);
			dmarc_judge_org_domain(&a2, &got);
			dns_answer_clear(&a2);
		}
		if (got.state != rows[i].want || got.found_at != rows[i].found ||
		    strcmp(got.effective, rows[i].effective) != 0)
			fail_msg("%s: got %s found at %s effective '%s' (%s), want %s at %s '%s'",
			         rows[i].what, st(got.state), dmarc_found_name(got.found_at),
			         got.effective, got.why, st(rows[i].want),
			         dmarc_found_name(rows[i].found), rows[i].effective);
		if ((rows[i].org == NULL) != (got.org_domain == NULL) ||
		    (rows[i].org && strcmp(rows[i].org, got.org_domain) != 0))
			fail_msg("%s: org_domain %s, want %s", rows[i].what,
			         got.org_domain ? got.org_domain : "(none)",
			         rows[i].org ? rows[i].org : "(none)");
		if (got.state == POLICY_LOOKUP_FAILED && want_org &&
		    strstr(got.why, "organizational domain") == NULL)
			fail_msg("%s: the reason does not say where: %s", rows[i].what, got.why);
		dmarc_info_clear(&got);
		dns_answer_clear(&a1);
	}
}

/*
 * TLS-RPT (RFC 8460 3)
 */

static const struct {
	const char *what;
	const char *txt[4];
	enum policy_record_state want;
	const char *rua;
} tlsrpt_rows[] = {
        {"mailto",
         {"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"},
         POLICY_VALID,
         "mailto:tlsrpt@example.com"},
        {"https, no space",
         {"v=TLSRPTv1;rua=https://reports.example.com/tlsrpt"},
         POLICY_VALID,
         "https://reports.example.com/tlsrpt"},
        {"two URIs",
         {"v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x"},
         POLICY_VALID,
         "mailto:a@example.com, https://r.example.com/x"},
        {"final delimiter and extension",
         {"v=TLSRPTv1; rua=mailto:a@example.com; ext.1=x ;"},
         POLICY_VALID,
         "mailto:a@example.com"},
        {"split strings joined",
         {"v=TLSRPTv1; rua=mai|lto:a@example.com"},
         POLICY_VALID,
         "mailto:a@example.com"},
        {"version alone", {"v=TLSRPTv1"}, POLICY_INVALID, NULL},
        {"rua missing", {"v=TLSRPTv1;"}, POLICY_INVALID, NULL},
        {"rua empty", {"v=TLSRPTv1; rua="}, POLICY_INVALID, NULL},
        {"rua with another scheme", {"v=TLSRPTv1; rua=ftp://r.example.com/"}, POLICY_INVALID, NULL},
        {"rua with one bad URI",
         {"v=TLSRPTv1; rua=mailto:a@example.com,http://r.example.com/"},
         POLICY_INVALID,
         NULL},
        {"field names are case-sensitive",
         {"v=TLSRPTv1; RUA=mailto:a@example.com"},
         POLICY_INVALID,
         NULL},
        {"rua twice",
         {"v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"},
         POLICY_INVALID,
         NULL},
        {"empty field", {"v=TLSRPTv1;; rua=mailto:a@example.com"}, POLICY_INVALID, NULL},
        {"no delimiter", {"v=TLSRPTv1 rua=mailto:a@example.com"}, POLICY_INVALID, NULL},
        {"bad extension value",
         {"v=TLSRPTv1; rua=mailto:a@example.com; x= y"},
         POLICY_INVALID,
         NULL},
        {"version is case-sensitive",
         {"v=tlsrptv1; rua=mailto:a@example.com"},
         POLICY_ABSENT,
         NULL},
        {"v=TLSRPTv10 is not TLS-RPT",
         {"v=TLSRPTv10; rua=mailto:a@example.com"},
         POLICY_ABSENT,
         NULL},
        {"two records",
         {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@x.example"},
         POLICY_MULTIPLE,
         NULL},
};

static void
test_tlsrpt(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(tlsrpt_rows); i++) {
		struct dns_answer a;
		struct tlsrpt_info got;

		make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, tlsrpt_rows[i].txt);
		tlsrpt_judge(&a, &got);
		if (got.state != tlsrpt_rows[i].want)
			fail_msg("%s: got %s (%s), want %s", tlsrpt_rows[i].what, st(got.state),
			         got.why, st(tlsrpt_rows[i].want));
		if (tlsrpt_rows[i].rua &&
		    (got.rua == NULL || strcmp(got.rua, tlsrpt_rows[i].rua) != 0))
			fail_msg("%s: got rua \"%s\", want \"%s\"", tlsrpt_rows[i].what,
			         got.rua ? got.rua : "(null)", tlsrpt_rows[i].rua);
		if (got.state == POLICY_INVALID && got.why[0] == '\0')
			fail_msg("%s: invalid without a reason", tlsrpt_rows[i].what);
		tlsrpt_info_clear(&got);
		dns_answer_clear(&a);
	}
}

/*
 * MTA-STS TXT record (RFC 8461 3.1)
 */

static const struct {
	const char *what;
	const char *txt[4];
	enum policy_record_state want;
	const char *id;
} sts_rows[] = {
        {"RFC example", {"v=STSv1; id=20160831085700Z;"}, POLICY_VALID, "20160831085700Z"},
        {"no spaces", {"v=STSv1;id=1"}, POLICY_VALID, "1"},
        {"32 characters",
         {"v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345"},
         POLICY_VALID,
         "abcdefghijklmnopqrstuvwxyz012345"},
        {"extension", {"v=STSv1; id=abc; ext=value"}, POLICY_VALID, "abc"},
        {"split strings joined", {"v=STSv1; |id=abc"}, POLICY_VALID, "abc"},
        {"among unrelated TXT", {"v=spf1 -all", "v=STSv1; id=x1"}, POLICY_VALID, "x1"},
        {"id missing", {"v=STSv1"}, POLICY_INVALID, NULL},
        {"id empty", {"v=STSv1; id="}, POLICY_INVALID, NULL},
        {"id with a hyphen", {"v=STSv1; id=abc-123"}, POLICY_INVALID, NULL},
        {"33 characters", {"v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456"}, POLICY_INVALID, NULL},
        {"id twice", {"v=STSv1; id=a; id=b"}, POLICY_INVALID, NULL},
        {"ID is not id", {"v=STSv1; ID=abc"}, POLICY_INVALID, NULL},
        {"empty extension", {"v=STSv1; id=abc; ext="}, POLICY_INVALID, NULL},
        {"no delimiter", {"v=STSv1 id=abc"}, POLICY_INVALID, NULL},
        {"version is case-sensitive", {"v=stsv1; id=abc"}, POLICY_ABSENT, NULL},
        {"v=STSv10 is not MTA-STS", {"v=STSv10; id=abc"}, POLICY_ABSENT, NULL},
        {"two records", {"v=STSv1; id=a", "v=STSv1; id=b"}, POLICY_MULTIPLE, NULL},
};

static void
test_mtasts_txt(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(sts_rows); i++) {
		struct dns_answer a;
		struct mtasts_txt_info got;

		make_answer(&a, DNS_OUTCOME_DATA, DNS_SEC_SECURE, sts_rows[i].txt);
		mtasts_txt_judge(&a, &got);
		if (got.state != sts_rows[i].want)
			fail_msg("%s: got %s (%s), want %s", sts_rows[i].what, st(got.state),
			         got.why, st(sts_rows[i].want));
		if (sts_rows[i].id && (got.id == NULL || strcmp(got.id, sts_rows[i].id) != 0))
			fail_msg("%s: got id \"%s\", want \"%s\"", sts_rows[i].what,
			         got.id ? got.id : "(null)", sts_rows[i].id);
		if (got.state == POLICY_INVALID && got.why[0] == '\0')
			fail_msg("%s: invalid without a reason", sts_rows[i].what);
		mtasts_txt_info_clear(&got);
		dns_answer_clear(&a);
	}
}

/*
 * MTA-STS policy file (RFC 8461 3.2)
 */

#define POLICY_OK "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"

static const struct {
	const char *what;
	const char *text;
	bool valid;
	enum mtasts_mode mode;
	long max_age;
	size_t n_mx;
	const char *mx_last;
} policy_rows[] = {
        {"enforce, CRLF", POLICY_OK, true, MTASTS_MODE_ENFORCE, 86400, 1, "mail.example.com"},
        {"RFC example, LF",
         "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
         "mx: backupmx.example.com\nmax_age: 604800\n",
         true, MTASTS_MODE_ENFORCE, 604800, 3, "backupmx.example.com"},
        {"testing", "version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 0\n", true,
         MTASTS_MODE_TESTING, 0, 1, "*.example.com"},
        {"none without mx", "version: STSv1\r\nmode: none\r\nmax_age: 31557600\r\n", true,
         MTASTS_MODE_NONE, 31557600, 0, NULL},
        {"no final newline", "version: STSv1\nmode: none\nmax_age: 1", true, MTASTS_MODE_NONE, 1, 0,
         NULL},
        {"no space after ':' and trailing blanks",
         "version:STSv1\nmode:testing \nmx:\tmx.example.com.\nmax_age:  60\t\n", true,
         MTASTS_MODE_TESTING, 60, 1, "mx.example.com."},
        {"unknown keys ignored",
         "version: STSv1\nfoo: bar baz\nmode: enforce\nx-y_z.1: !\"#\nmx: a.example\n"
         "max_age: 5\n",
         true, MTASTS_MODE_ENFORCE, 5, 1, "a.example"},
        {"blank lines tolerated", "version: STSv1\n\nmode: none\r\n\r\nmax_age: 5\n\n", true,
         MTASTS_MODE_NONE, 5, 0, NULL},
        {"version missing", "mode: enforce\nmx: a.example\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"version not first", "mode: enforce\nversion: STSv1\nmx: a.example\nmax_age: 5\n", false,
         0, 0, 0, NULL},
        {"version STSv2", "version: STSv2\nmode: none\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"mode missing", "version: STSv1\nmx: a.example\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"mode unknown", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 5\n", false, 0, 0,
         0, NULL},
        {"mode is case-sensitive", "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"mode twice", "version: STSv1\nmode: none\nmode: enforce\nmx: a.example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"max_age missing", "version: STSv1\nmode: enforce\nmx: a.example\n", false, 0, 0, 0, NULL},
        {"max_age over a year", "version: STSv1\nmode: none\nmax_age: 31557601\n", false, 0, 0, 0,
         NULL},
        {"max_age negative", "version: STSv1\nmode: none\nmax_age: -1\n", false, 0, 0, 0, NULL},
        {"max_age 11 digits", "version: STSv1\nmode: none\nmax_age: 00000000001\n", false, 0, 0, 0,
         NULL},
        {"max_age empty", "version: STSv1\nmode: none\nmax_age:\n", false, 0, 0, 0, NULL},
        {"max_age not a number", "version: STSv1\nmode: none\nmax_age: 1d\n", false, 0, 0, 0, NULL},
        {"enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"testing without mx", "version: STSv1\nmode: testing\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"bad mx: leading hyphen", "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"bad mx: empty label", "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"bad mx: two wildcards", "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"bad mx: wildcard inside", "version: STSv1\nmode: enforce\nmx: mx*.example\nmax_age: 5\n",
         false, 0, 0, 0, NULL},
        {"line without ':'", "version: STSv1\nmode none\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"space before the key", "version: STSv1\n mode: none\nmax_age: 5\n", false, 0, 0, 0, NULL},
        {"control byte in a value", "version: STSv1\nmode: none\nmax_age: 5\nfoo: a\x01\n", false,
         0, 0, 0, NULL},
        {"empty text", "", false, 0, 0, 0, NULL},
        {"HTML error page", "<html><body>Not here</body></html>\n", false, 0, 0, 0, NULL},
};

static void
test_policy(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(policy_rows); i++) {
		struct mtasts_policy got;

		mtasts_policy_parse(policy_rows[i].text, strlen(policy_rows[i].text), &got);
		if (got.valid != policy_rows[i].valid)
			fail_msg("%s: got valid=%d (%s), want %d", policy_rows[i].what, got.valid,
			         got.why, policy_rows[i].valid);
		if (got.valid) {
			if (got.mode != policy_rows[i].mode ||
			    got.max_age != policy_rows[i].max_age)
				fail_msg("%s: got mode %s max_age %ld, want %s %ld",
				         policy_rows[i].what, mtasts_mode_name(got.mode),
				         got.max_age, mtasts_mode_name(policy_rows[i].mode),
				         policy_rows[i].max_age);
			if (got.n_mx != policy_rows[i].n_mx)
				fail_msg("%s: got %zu mx, want %zu", policy_rows[i].what, got.n_mx,
				         policy_rows[i].n_mx);
			if (got.n_mx && strcmp(got.mx[got.n_mx - 1], policy_rows[i].mx_last) != 0)
				fail_msg("%s: got last mx \"%s\", want \"%s\"", policy_rows[i].what,
				         got.mx[got.n_mx - 1], policy_rows[i].mx_last);
		} else {
			if (got.why[0] == '\0')
				fail_msg("%s: invalid without a reason", policy_rows[i].what);
			if (got.mx != NULL || got.n_mx != 0)
				fail_msg("%s: invalid policy keeps mx patterns",
				         policy_rows[i].what);
		}
		mtasts_policy_clear(&got);
	}
}

/* NUL bytes, the 64 KB bound, and NULL text. */
static void
test_policy_bounds(void **state)
{
	static const char with_nul[] = "version: STSv1\nmode: none\nmax_age: 5\0\n";
	struct buf big = BUF_INIT;
	struct mtasts_policy got;

	(void)state;
	mtasts_policy_parse(with_nul, sizeof(with_nul) - 1, &got);
	assert_false(got.valid);
	mtasts_policy_clear(&got);

	mtasts_policy_parse(NULL, 0, &got);
	assert_false(got.valid);
	mtasts_policy_clear(&got);

	/* 64 KB exactly is accepted (many mx lines), one byte more is not */
	buf_puts(&big, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	while (big.len + 20 <= 65536)
		buf_puts(&big, "mx: m.example.com\n");
	while (big.len < 65536)
		buf_putc(&big, '\n');
	mtasts_policy_parse(buf_str(&big), big.len, &got);
	if (!got.valid)
		fail_msg("64 KB policy: got invalid (%s), want valid", got.why);
	assert_true(got.n_mx > 3000);
	mtasts_policy_clear(&got);
	buf_putc(&big, '\n');
	mtasts_policy_parse(buf_str(&big), big.len, &got);
	assert_false(got.valid);
	mtasts_policy_clear(&got);
	buf_release(&big);
}

/*
 * mx matching (RFC 8461 4.1)
 */

static const struct {
	const char *host;
	bool want;
} match_rows[] = {
        {"mail.example.org", true},
        {"MAIL.Example.ORG", true},
        {"mail.example.org.", true},
        {"mx.example.com", true},
        {"MX.EXAMPLE.COM.", true},
        {"a.b.example.com", false},
        {"example.com", false},
        {".example.com", false},
        {"xexample.com", false},
        {"mx.example.com.evil.test", false},
        {"other.example.org", false},
        {"mx.upper.example", true},
        {"a.example.net", true},
        {"example.net", false},
        {"", false},
        {".", false},
};

static void
test_match(void **state)
{
	static const char text[] = "version: STSv1\nmode: enforce\nmax_age: 86400\n"
	                           "mx: mail.example.org\nmx: *.example.com\n"
	                           "mx: MX.Upper.Example\nmx: *.example.net.\n";
	struct mtasts_policy p, bad;
	size_t i;

	(void)state;
	mtasts_policy_parse(text, strlen(text), &p);
	assert_true(p.valid);
	for (i = 0; i < N_OF(match_rows); i++) {
		bool got = mtasts_policy_matches(&p, match_rows[i].host);

		if (got != match_rows[i].want)
			fail_msg("\"%s\": got %d, want %d", match_rows[i].host, got,
			         match_rows[i].want);
	}
	assert_false(mtasts_policy_matches(&p, NULL));
	assert_false(mtasts_policy_matches(NULL, "mail.example.org"));
	mtasts_policy_parse(text + strlen("version: STSv1\n"),
	                    strlen(text) - strlen("version: STSv1\n"), &bad);
	assert_false(bad.valid);
	assert_false(mtasts_policy_matches(&bad, "mail.example.org"));
	mtasts_policy_clear(&bad);
	mtasts_policy_clear(&p);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(policy_record_state_name(POLICY_ABSENT), "absent");
	assert_string_equal(policy_record_state_name(POLICY_VALID), "valid");
	assert_string_equal(policy_record_state_name(POLICY_MULTIPLE), "multiple");
	assert_string_equal(policy_record_state_name(POLICY_INVALID), "invalid");
	assert_string_equal(policy_record_state_name(POLICY_LOOKUP_FAILED), "lookup-failed");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_NONE), "none");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_TESTING), "testing");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_ENFORCE), "enforce");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_OK), "ok");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_HTTP_ERROR), "http-error");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_TLS_ERROR), "tls-error");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_UNREACHABLE), "unreachable");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_TOO_LARGE), "too-large");
	assert_string_equal(mtasts_fetch_state_name(MTASTS_FETCH_BAD_TYPE), "bad-type");
}

/*
 * The fetcher against httpsd on loopback
 */

/* One httpsd per behaviour, all on the same port, each on its own 127.0.0.x. */
static const struct server {
	const char *domain; /* fetched as mta-sts.<domain> */
	const char *ip;
	const char *cert; /* "good" (the test names) or "other" (mta-sts.other.test) */
	const char *root; /* "policy", "empty" or "big" */
	const char *extra[3];
} servers[] = {
        {"example.test", "127.0.0.1", "good", "policy", {NULL}},
        {"notfound.test", "127.0.0.2", "good", "empty", {NULL}},
        {"type.test", "127.0.0.3", "good", "policy", {"--content-type", "text/html", NULL}},
        {"wrongname.test", "127.0.0.4", "other", "policy", {NULL}},
        {"big.test", "127.0.0.5", "good", "big", {NULL}},
        {"stream.test", "127.0.0.6", "good", "big", {"--no-content-length", NULL}},
        {"redirect.test", "127.0.0.7", "good", "policy", {"--status", "301", NULL}},
        {"charset.test",
         "127.0.0.8",
         "good",
         "policy",
         {"--content-type", "Text/Plain; charset=utf-8", NULL}},
};
#define SERVER_NAMES                                                                               \
	"DNS:mta-sts.example.test,DNS:mta-sts.notfound.test,DNS:mta-sts.type.test,"                \
	"DNS:mta-sts.big.test,DNS:mta-sts.stream.test,DNS:mta-sts.redirect.test,"                  \
	"DNS:mta-sts.charset.test,DNS:mta-sts.unreachable.test,DNS:mta-sts.slow.test"
/* Nothing listens here, and here a socket listens but never accepts. */
#define UNREACHABLE_IP "127.0.0.20"
#define SLOW_IP        "127.0.0.21"

static struct {
	bool ready;
	char dir[64];
	unsigned port;
	pid_t pids[N_OF(servers)];
	int slow_fd;
	char resolve[2048];
	char ca[128];
} lab;

static const char fetched_policy[] = "version: STSv1\r\nmode: enforce\r\n"
                                     "mx: mail.example.test\r\nmx: *.mx.example.test\r\n"
                                     "max_age: 604800\r\n";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	rc = system(buf_str(&cmd));
	if (rc != 0)
		fprintf(stderr, "# failed (%d): %s\n", rc, buf_str(&cmd));
	buf_release(&cmd);
	return rc;
}

static bool
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");
	bool ok = fp != NULL && fwrite(data, 1, len, fp) == len;

	if (fp && fclose(fp) != 0)
		ok = false;
	return ok;
}

/* A loopback port free right now: bind 127.0.0.1:0 and ask. */
static unsigned
free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Start one httpsd and wait for its pidfile; its pid, or -1. */
static pid_t
start_server(const char *httpsd, const struct server *s, size_t idx)
{
	char listen_at[64], cert[128], key[128], root[128], pidfile[128];
	const char *argv[20];
	struct timespec ts = {0, 10 * 1000 * 1000};
	size_t n = 0, i;
	pid_t pid;
	int tries;

	snprintf(listen_at, sizeof(listen_at), "%s:%u", s->ip, lab.port);
	snprintf(cert, sizeof(cert), "%s/%s.pem", lab.dir, s->cert);
	snprintf(key, sizeof(key), "%s/%s.key", lab.dir, s->cert);
	snprintf(root, sizeof(root), "%s/%s", lab.dir, s->root);
	snprintf(pidfile, sizeof(pidfile), "%s/httpsd%zu.pid", lab.dir, idx);
	argv[n++] = httpsd;
	argv[n++] = "--listen";
	argv[n++] = listen_at;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--pidfile";
	argv[n++] = pidfile;
	for (i = 0; s->extra[i]; i++)
		argv[n++] = s->extra[i];
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(httpsd, (char *const *)argv);
		_exit(127);
	}
	for (tries = 0; tries < 300; tries++) {
		struct stat sb;
		int status;

		if (stat(pidfile, &sb) == 0 && sb.st_size > 0)
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "# httpsd for %s exited\n", s->domain);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static int
lab_teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(servers); i++)
		if (lab.pids[i] > 0) {
			kill(lab.pids[i], SIGTERM);
			waitpid(lab.pids[i], NULL, 0);
			lab.pids[i] = 0;
		}
	if (lab.slow_fd >= 0)
		close(lab.slow_fd);
	lab.slow_fd = -1;
	if (lab.dir[0])
		run("rm -rf '%s'", lab.dir);
	lab.dir[0] = '\0';
	return 0;
}

/* Make the CA, the certificates, the document roots; start the servers. */
static int
lab_setup(void **state)
{
	const char *httpsd = getenv("HTTPSD");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct buf big = BUF_INIT, path = BUF_INIT;
	size_t i;
	int one = 1;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	lab.slow_fd = -1;
	if (httpsd == NULL || access(httpsd, X_OK) != 0) {
		fprintf(stderr, "# HTTPSD not set: fetcher tests skipped\n");
		return 0;
	}
	snprintf(lab.dir, sizeof(lab.dir), "/tmp/test_mailpolicy.XXXXXX");
	if (mkdtemp(lab.dir) == NULL) {
		lab.dir[0] = '\0';
		return -1;
	}
	/* EC P-256 keys: fast to make.  A CA, the test names, and one other name. */
	if (run("cd '%s' && mkdir -p policy/.well-known empty big/.well-known && "
	        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	        "-keyout ca.key -out ca.pem -days 2 -subj /CN=danemail-test-ca "
	        "-addext basicConstraints=critical,CA:TRUE "
	        "-addext keyUsage=critical,keyCertSign 2>/dev/null && "
	        "for c in good other; do "
	        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	        "-keyout $c.key -out $c.csr -subj /CN=mta-sts.$c.test 2>/dev/null || exit 1; "
	        "done && "
	        "printf 'subjectAltName=%s\\n' > good.ext && "
	        "printf 'subjectAltName=DNS:mta-sts.other.test\\n' > other.ext && "
	        "for c in good other; do "
	        "openssl x509 -req -in $c.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	        "-days 2 -extfile $c.ext -out $c.pem 2>/dev/null || exit 1; done",
	        lab.dir, SERVER_NAMES) != 0)
		goto fail;
	buf_printf(&path, "%s/policy/.well-known/mta-sts.txt", lab.dir);
	if (!write_file(buf_str(&path), fetched_policy, strlen(fetched_policy)))
		goto fail;
	/* 100 KB of valid-looking policy lines */
	buf_puts(&big, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	while (big.len < 100 * 1024)
		buf_puts(&big, "mx: mail.example.test\n");
	buf_reset(&path);
	buf_printf(&path, "%s/big/.well-known/mta-sts.txt", lab.dir);
	if (!write_file(buf_str(&path), (const char *)big.data, big.len))
		goto fail;
	snprintf(lab.ca, sizeof(lab.ca), "%s/ca.pem", lab.dir);

	if ((lab.port = free_port()) == 0)
		goto fail;
	for (i = 0; i < N_OF(servers); i++)
		if ((lab.pids[i] = start_server(httpsd, &servers[i], i)) < 0)
			goto fail;
	/* a peer that completes TCP (the kernel's backlog) and then says nothing */
	lab.slow_fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, SLOW_IP, &sin.sin_addr);
	sin.sin_port = htons((uint16_t)lab.port);
	setsockopt(lab.slow_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lab.slow_fd < 0 || bind(lab.slow_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(lab.slow_fd, 16) != 0)
		goto fail;

	buf_reset(&path);
	for (i = 0; i < N_OF(servers); i++)
		buf_printf(&path, "mta-sts.%s:%u:%s,", servers[i].domain, lab.port, servers[i].ip);
	buf_printf(&path, "mta-sts.unreachable.test:%u:%s,", lab.port, UNREACHABLE_IP);
	buf_printf(&path, "mta-sts.slow.test:%u:%s", lab.port, SLOW_IP);
	snprintf(lab.resolve, sizeof(lab.resolve), "%s", buf_str(&path));
	buf_release(&path);
	buf_release(&big);
	lab.ready = true;
	return 0;
fail:
	buf_release(&path);
	buf_release(&big);
	lab_teardown(state);
	return -1;
}

/* What one fetch reported. */
struct got_fetch {
	const char *domain;
	enum mtasts_fetch_state want;
	int calls;
	enum mtasts_fetch_state state;
	struct buf body;
	bool body_null;
	char detail[256];
	int *pending;
	struct event_base *base;
	struct mtasts_fetcher **free_me; /* free the fetcher from inside this callback */
};

static void
on_fetched(void *arg, enum mtasts_fetch_state state, const char *body, size_t len,
           const char *detail)
{
	struct got_fetch *g = arg;

	g->calls++;
	g->state = state;
	g->body_null = body == NULL;
	if (body)
		buf_append(&g->body, body, len);
	snprintf(g->detail, sizeof(g->detail), "%s", detail ? detail : "(null)");
	if (g->free_me)
		*g->free_me = mtasts_fetcher_free(*g->free_me);
	if (--*g->pending == 0)
		event_base_loopbreak(g->base);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the base until every fetch reported, or 8 s passed. */
static void
run_until_done(struct event_base *base)
{
	struct timeval tv = {8, 0};
	struct event *deadline = evtimer_new(base, on_deadline, base);

	evtimer_add(deadline, &tv);
	event_base_dispatch(base);
	event_free(deadline);
}

static void
check_fetch(const struct got_fetch *g)
{
	if (g->calls != 1)
		fail_msg("%s: callback called %d times, want 1", g->domain, g->calls);
	if (g->state != g->want)
		fail_msg("%s: got %s (%s), want %s", g->domain, mtasts_fetch_state_name(g->state),
		         g->detail, mtasts_fetch_state_name(g->want));
	if ((g->state == MTASTS_FETCH_OK) == g->body_null)
		fail_msg("%s: body %s with state %s", g->domain, g->body_null ? "NULL" : "given",
		         mtasts_fetch_state_name(g->state));
}

#define SKIP_WITHOUT_LAB()                                                                         \
	do {                                                                                       \
		if (!lab.ready)                                                                    \
			skip();                                                                    \
	} while (0)

/* Every behaviour at once on one fetcher, plus eight parallel fetches of the good one. */
static void
test_fetch_all(void **state)
{
	static const struct {
		const char *domain;
		enum mtasts_fetch_state want;
	} rows[] = {
	        {"example.test", MTASTS_FETCH_OK},
	        {"EXAMPLE.test.", MTASTS_FETCH_OK},
	        {"charset.test", MTASTS_FETCH_OK},
	        {"notfound.test", MTASTS_FETCH_HTTP_ERROR},
	        {"redirect.test", MTASTS_FETCH_HTTP_ERROR},
	        {"type.test", MTASTS_FETCH_BAD_TYPE},
	        {"wrongname.test", MTASTS_FETCH_TLS_ERROR},
	        {"unreachable.test", MTASTS_FETCH_UNREACHABLE},
	        {"big.test", MTASTS_FETCH_TOO_LARGE},
	        {"stream.test", MTASTS_FETCH_TOO_LARGE},
	};
	enum { EXTRA = 8, N = N_OF(rows) + EXTRA };
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f;
	struct got_fetch got[N];
	int pending = 0;
	size_t i;

	(void)state;
	SKIP_WITHOUT_LAB();
	f = mtasts_fetcher_new(base, lab.ca, lab.resolve, lab.port);
	assert_non_null(f);
	memset(got, 0, sizeof(got));
	for (i = 0; i < N; i++) {
		got[i].domain = i < N_OF(rows) ? rows[i].domain : "example.test";
		got[i].want = i < N_OF(rows) ? rows[i].want : MTASTS_FETCH_OK;
		got[i].pending = &pending;
		got[i].base = base;
		if (!mtasts_fetch(f, got[i].domain, 3000, on_fetched, &got[i]))
			fail_msg("%s: could not start", got[i].domain);
		pending++;
	}
	for (i = 0; i < N; i++)
		if (got[i].calls != 0)
			fail_msg("%s: called back from inside mtasts_fetch", got[i].domain);
	run_until_done(base);
	for (i = 0; i < N; i++) {
		check_fetch(&got[i]);
		if (got[i].state == MTASTS_FETCH_OK) {
			struct mtasts_policy p;

			if (strcmp(buf_str(&got[i].body), fetched_policy) != 0)
				fail_msg("%s: got body \"%s\"", got[i].domain,
				         buf_str(&got[i].body));
			mtasts_policy_parse(buf_str(&got[i].body), got[i].body.len, &p);
			assert_true(p.valid);
			assert_true(mtasts_policy_matches(&p, "a.mx.example.test"));
			mtasts_policy_clear(&p);
		}
		buf_release(&got[i].body);
	}
	mtasts_fetcher_free(f);
	event_base_free(base);
}

/* Without our CA (the system store) the test certificate is not trusted. */
static void
test_fetch_system_store(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f;
	struct got_fetch got = {.domain = "example.test (system store)",
	                        .want = MTASTS_FETCH_TLS_ERROR};
	int pending = 1;

	(void)state;
	SKIP_WITHOUT_LAB();
	got.pending = &pending;
	got.base = base;
	f = mtasts_fetcher_new(base, NULL, lab.resolve, lab.port);
	assert_non_null(f);
	assert_true(mtasts_fetch(f, "example.test", 3000, on_fetched, &got));
	run_until_done(base);
	check_fetch(&got);
	buf_release(&got.body);
	mtasts_fetcher_free(f);
	event_base_free(base);
}

/* A server that never answers: the timeout ends the fetch as unreachable. */
static void
test_fetch_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f;
	struct got_fetch got = {.domain = "slow.test", .want = MTASTS_FETCH_UNREACHABLE};
	int pending = 1;
	struct timespec t0, t1;
	long ms;

	(void)state;
	SKIP_WITHOUT_LAB();
	got.pending = &pending;
	got.base = base;
	f = mtasts_fetcher_new(base, lab.ca, lab.resolve, lab.port);
	assert_non_null(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(mtasts_fetch(f, "slow.test", 300, on_fetched, &got));
	run_until_done(base);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_fetch(&got);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (ms < 250 || ms > 3000)
		fail_msg("slow.test: gave up after %ld ms, want about 300", ms);
	buf_release(&got.body);
	mtasts_fetcher_free(f);
	event_base_free(base);
}

/* Names that would change the URL are refused; so are a NULL callback and bad ports. */
static void
test_fetch_refused(void **state)
{
	static const char *const bad[] = {
	        "",         ".",       "a/b.test",     "a.test/x", "user@a.test",   "a.test:80",
	        "a test",   "a..test", "-a.test",      "a-.test",  "a.test?x=y",    "a.test#f",
	        "%61.test", "[::1]",   "a\r\nHost: x", "a_b.test", "\xc3\xa9.test",
	};
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f = mtasts_fetcher_new(base, NULL, NULL, 0);
	struct got_fetch got = {.domain = "refused"};
	int pending = 0;
	size_t i;

	(void)state;
	assert_non_null(f);
	got.pending = &pending;
	got.base = base;
	for (i = 0; i < N_OF(bad); i++)
		if (mtasts_fetch(f, bad[i], 1000, on_fetched, &got))
			fail_msg("\"%s\": got started, want refused", bad[i]);
	assert_false(mtasts_fetch(f, NULL, 1000, on_fetched, &got));
	assert_false(mtasts_fetch(f, "example.test", 1000, NULL, &got));
	assert_false(mtasts_fetch(NULL, "example.test", 1000, on_fetched, &got));
	assert_int_equal(got.calls, 0);
	assert_null(mtasts_fetcher_free(f));
	assert_null(mtasts_fetcher_free(NULL));
	assert_null(mtasts_fetcher_new(base, NULL, NULL, 65536));
	assert_null(mtasts_fetcher_new(NULL, NULL, NULL, 0));
	event_base_free(base);
}

/* Freeing with fetches in flight abandons them; freeing from a callback is deferred. */
static void
test_fetch_free(void **state)
{
	struct event_base *base = event_base_new();
	struct mtasts_fetcher *f;
	struct got_fetch got[3];
	int pending = 0;
	size_t i;

	(void)state;
	SKIP_WITHOUT_LAB();
	memset(got, 0, sizeof(got));
	f = mtasts_fetcher_new(base, lab.ca, lab.resolve, lab.port);
	for (i = 0; i < 3; i++) {
		got[i].domain = "example.test";
		got[i].pending = &pending;
		got[i].base = base;
		assert_true(mtasts_fetch(f, "example.test", 3000, on_fetched, &got[i]));
	}
	f = mtasts_fetcher_free(f);
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < 3; i++)
		assert_int_equal(got[i].calls, 0);

	/* The first callback frees the fetcher: the others are abandoned, none called twice. */
	f = mtasts_fetcher_new(base, lab.ca, lab.resolve, lab.port);
	pending = 1;
	for (i = 0; i < 3; i++) {
		got[i].free_me = &f;
		assert_true(mtasts_fetch(f, i == 0 ? "unreachable.test" : "slow.test", 3000,
		                         on_fetched, &got[i]));
	}
	run_until_done(base);
	assert_null(f);
	assert_int_equal(got[0].calls, 1);
	assert_int_equal(got[0].state, MTASTS_FETCH_UNREACHABLE);
	assert_int_equal(got[1].calls + got[2].calls, 0);
	for (i = 0; i < 3; i++)
		buf_release(&got[i].body);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_answer_states),
	        cmocka_unit_test(test_null_answer),
	        cmocka_unit_test(test_spf),
	        cmocka_unit_test(test_spf_record_bytes),
	        cmocka_unit_test(test_spf_long_record),
	        cmocka_unit_test(test_dmarc),
	        cmocka_unit_test(test_org_domain),
	        cmocka_unit_test(test_dmarc_org_discovery),
	        cmocka_unit_test(test_tlsrpt),
	        cmocka_unit_test(test_mtasts_txt),
	        cmocka_unit_test(test_policy),
	        cmocka_unit_test(test_policy_bounds),
	        cmocka_unit_test(test_match),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_fetch_all),
	        cmocka_unit_test(test_fetch_system_store),
	        cmocka_unit_test(test_fetch_timeout),
	        cmocka_unit_test(test_fetch_refused),
	        cmocka_unit_test(test_fetch_free),
	};

	/* the group setup makes the CA and starts the HTTPS servers the fetcher tests use */
	return cmocka_run_group_tests_name("mailpolicy", tests, lab_setup, lab_teardown);
}
