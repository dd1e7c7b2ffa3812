/*
 * fuzz_mailpolicy.c - libFuzzer target for the scanner's policy parsers
 * (src/scan/mailpolicy.h: SPF RFC 7208, DMARC RFC 7489, TLS-RPT RFC 8460,
 * MTA-STS RFC 8461).
 *
 * Input: a flags byte.  Bit 7 clear: the rest is a TXT RRset, each RDATA
 * preceded by a 2-octet big-endian length, judged by all four TXT judges in
 * an answer whose outcome, DNSSEC state and type the flags choose.  Bit 7
 * set: one length byte and an MX host name, then an MTA-STS policy file;
 * the policy is parsed and matched against the host and its own patterns.
 * Invariants: states are known, text given back is escaped (printable
 * ASCII), numbers stay in their RFC ranges, a valid policy matches every
 * host its own patterns describe.
 */
#include "fuzz.h"

#include "dns/resolver.h"
#include "dns/rr.h"
#include "mailpolicy.h"

static bool
printable(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool
state_ok(enum policy_record_state s)
{
	return s == POLICY_ABSENT || s == POLICY_VALID || s == POLICY_MULTIPLE ||
	       s == POLICY_INVALID || s == POLICY_LOOKUP_FAILED;
}

static void
fuzz_txt(uint8_t flags, const uint8_t *p, size_t n)
{
	static const enum dns_outcome outcomes[] = {DNS_OUTCOME_DATA, DNS_OUTCOME_NODATA,
	                                            DNS_OUTCOME_NXDOMAIN, DNS_OUTCOME_SERVFAIL};
	static const enum dns_sec secs[] = {DNS_SEC_SECURE, DNS_SEC_INSECURE, DNS_SEC_BOGUS,
	                                    DNS_SEC_INDETERMINATE};
	struct dns_rr rrs[64];
	struct dns_answer a = {0};
	struct spf_info spf;
	struct dmarc_info dmarc;
	struct tlsrpt_info tlsrpt;
	struct mtasts_txt_info sts;
	size_t pos = 0;

	while (pos + 2 <= n && a.n_rrs < sizeof(rrs) / sizeof(rrs[0])) {
		size_t len = (size_t)p[pos] << 8 | p[pos + 1];

		pos += 2;
		if (len > n - pos)
			len = n - pos;
		rrs[a.n_rrs].rdata = (uint8_t *)p + pos;
		rrs[a.n_rrs].len = len;
		a.n_rrs++;
		pos += len;
	}
	a.qname = "example.test.";
	a.canonical = a.qname;
	a.qtype = flags & 0x40 ? RR_TYPE_A : RR_TYPE_TXT;
	a.outcome = outcomes[flags & 3];
	a.sec = secs[(flags >> 2) & 3];
	a.rcode = 0;
	a.why = flags & 0x10 ? "fuzz\x01reason" : NULL;
	a.rrs = a.n_rrs > 0 ? rrs : NULL;

	spf_judge(&a, &spf);
	FUZZ_CHECK(state_ok(spf.state) && printable(spf.record));
	FUZZ_CHECK(spf.state != POLICY_VALID || spf.record != NULL);
	FUZZ_CHECK(spf.all[0] == '\0' || strcmp(spf.all, "-all") == 0 ||
	           strcmp(spf.all, "~all") == 0 || strcmp(spf.all, "?all") == 0 ||
	           strcmp(spf.all, "+all") == 0);
	FUZZ_CHECK(spf.dns_mechanisms >= 0);
	spf_info_clear(&spf);

	dmarc_judge(&a, &dmarc);
	FUZZ_CHECK(state_ok(dmarc.state) && printable(dmarc.record));
	if (dmarc.state == POLICY_VALID) {
		FUZZ_CHECK(dmarc.pct >= 0 && dmarc.pct <= 100);
		FUZZ_CHECK(strcmp(dmarc.policy, "none") == 0 ||
		           strcmp(dmarc.policy, "quarantine") == 0 ||
		           strcmp(dmarc.policy, "reject") == 0);
	}
	dmarc_info_clear(&dmarc);

	tlsrpt_judge(&a, &tlsrpt);
	FUZZ_CHECK(state_ok(tlsrpt.state) && printable(tlsrpt.record) && printable(tlsrpt.rua));
	tlsrpt_info_clear(&tlsrpt);

	mtasts_txt_judge(&a, &sts);
	FUZZ_CHECK(state_ok(sts.state) && printable(sts.id));
	if (sts.state == POLICY_VALID) {
		size_t i, len;

		FUZZ_CHECK(sts.id != NULL);
		len = strlen(sts.id);
		FUZZ_CHECK(len >= 1 && len <= 32);
		for (i = 0; i < len; i++)
			FUZZ_CHECK((sts.id[i] >= '0' && sts.id[i] <= '9') ||
			           (sts.id[i] >= 'a' && sts.id[i] <= 'z') ||
			           (sts.id[i] >= 'A' && sts.id[i] <= 'Z'));
	}
	mtasts_txt_info_clear(&sts);
}

static void
fuzz_policy(const uint8_t *p, size_t n)
{
	struct mtasts_policy pol;
	size_t hlen, i;
	char *host;

	if (n < 1 || n - 1 < p[0])
		return;
	hlen = p[0];
	host = fuzz_cstr(p + 1, hlen);
	mtasts_policy_parse((const char *)p + 1 + hlen, n - 1 - hlen, &pol);
	FUZZ_CHECK(mtasts_mode_name(pol.mode) != NULL);
	(void)mtasts_policy_matches(&pol, host);
	if (pol.valid) {
		FUZZ_CHECK(pol.max_age >= 0 && pol.max_age <= 31557600);
		FUZZ_CHECK(pol.mode == MTASTS_MODE_NONE || pol.n_mx > 0);
		for (i = 0; i < pol.n_mx; i++) {
			char *h = strdup(pol.mx[i]);

			FUZZ_CHECK(h != NULL);
			if (h[0] == '*')
				h[0] = 'x';
			FUZZ_CHECK(mtasts_policy_matches(&pol, h));
			free(h);
		}
	} else {
		FUZZ_CHECK(pol.n_mx == 0 && pol.mx == NULL);
		FUZZ_CHECK(!mtasts_policy_matches(&pol, host));
	}
	mtasts_policy_clear(&pol);
	free(host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		fuzz_policy(data + 1, size - 1);
	else
		fuzz_txt(data[0], data + 1, size - 1);
	return 0;
}
