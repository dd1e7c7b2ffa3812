/*
 * stats.c - aggregate counters of a scan and their table (see stats.h).
 * Counts only: the verdicts were decided by the engine.
 */
#include <string.h>

#include "stats.h"

static enum scan_tls_bucket
tls_bucket(const char *v)
{
	if (strcmp(v, "TLSv1.3") == 0)
		return SCAN_TLS_13;
	if (strcmp(v, "TLSv1.2") == 0)
		return SCAN_TLS_12;
	if (strcmp(v, "TLSv1.1") == 0)
		return SCAN_TLS_11;
	if (strcmp(v, "TLSv1") == 0)
		return SCAN_TLS_10;
	return SCAN_TLS_OTHER;
}

static const char *const tls_names[SCAN_TLS_BUCKETS] = {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1",
                                                        "other"};

void
scan_stats_add_invalid(struct scan_stats *s)
{
	s->entries++;
	s->invalid++;
}

void
scan_stats_add(struct scan_stats *s, const struct scan_domain *d)
{
	const struct scan_policies *p = &d->pol;
	int i;

	s->entries++;
	s->domains++;
	s->kind[d->kind]++;
	if (d->kind == SCAN_MX_RECORDS || d->kind == SCAN_MX_IMPLICIT)
		s->with_mail++;
	if (d->kind == SCAN_MX_RECORDS || d->kind == SCAN_MX_IMPLICIT || d->kind == SCAN_MX_NULL ||
	    d->kind == SCAN_MX_BROKEN) {
		s->exist++;
		if (d->mx && d->mx->sec == DNS_SEC_SECURE)
			s->mx_secure++;
	}
	if (d->addrs_tested > 0)
		s->working_mx++;
	s->starttls[d->starttls]++;
	if (d->lowest_tls[0])
		s->tls[tls_bucket(d->lowest_tls)]++;
	if (d->enumerated) {
		s->enumerated++;
		/* accepts_tls[] runs 1.0 .. 1.3, the buckets 1.3 .. 1.0 */
		for (i = 0; i < 4; i++)
			s->accepts[3 - i] += d->accepts_tls[i];
	}
	if ((size_t)d->verdict < SCAN_VERDICTS)
		s->verdict[d->verdict]++;
	if (!d->policies_looked_up)
		return;
	s->policies++;
	if (p->judged[SCAN_POLICY_SPF]) {
		s->spf_valid += p->spf.state == POLICY_VALID;
		s->spf_multiple += p->spf.state == POLICY_MULTIPLE;
		s->spf_invalid += p->spf.state == POLICY_INVALID;
	}
	if (p->judged[SCAN_POLICY_DMARC] && p->dmarc.state == POLICY_VALID) {
		s->dmarc_valid++;
		s->dmarc_reject += strcmp(p->dmarc.policy, "reject") == 0;
		s->dmarc_quarantine += strcmp(p->dmarc.policy, "quarantine") == 0;
		s->dmarc_none += strcmp(p->dmarc.policy, "none") == 0;
	}
	if (p->judged[SCAN_POLICY_MTASTS] && p->sts_txt.state == POLICY_VALID) {
		s->sts_txt++;
		if (p->fetched && p->fetch_state == MTASTS_FETCH_OK && p->policy.valid) {
			s->sts_enforce += p->policy.mode == MTASTS_MODE_ENFORCE;
			s->sts_testing += p->policy.mode == MTASTS_MODE_TESTING;
		} else if (p->fetched) {
			s->sts_policy_bad++;
		}
	}
	if (p->judged[SCAN_POLICY_TLSRPT] && p->tlsrpt.state == POLICY_VALID)
		s->tlsrpt_valid++;
}

static double
pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void
row(FILE *fp, int indent, const char *what, uint64_t n, uint64_t of, const char *of_what)
{
	int w = 44 - indent;

	fprintf(fp, "  %*s%-*s %9llu  %5.1f%%  of %s\n", indent, "", w, what, (unsigned long long)n,
	        pct(n, of), of_what);
}

void
scan_stats_print(FILE *fp, const struct scan_stats *s, const struct scan_counters *c,
                 double seconds)
{
	int i;

	fprintf(fp,
	        "danemail scan: %llu domains in %.1f s (%.1f/s); %llu SMTP probes for %llu "
	        "addresses, %llu MX hosts resolved, %llu DNS lookups\n",
	        (unsigned long long)s->domains, seconds,
	        seconds > 0 ? (double)s->domains / seconds : 0.0, (unsigned long long)c->probes,
	        (unsigned long long)(c->probes + c->probe_reuses),
	        (unsigned long long)c->hosts_resolved, (unsigned long long)c->dns_queries);
	if (s->invalid)
		fprintf(fp, "  %llu input entries were no domain name (not scanned)\n",
		        (unsigned long long)s->invalid);
	row(fp, 0, "domains with mail servers (MX or implicit)", s->with_mail, s->domains,
	    "domains");
	row(fp, 2, "null MX (RFC 7505)", s->kind[SCAN_MX_NULL], s->domains, "domains");
	row(fp, 2, "no such domain", s->kind[SCAN_MX_NXDOMAIN], s->domains, "domains");
	row(fp, 2, "MX lookup failed", s->kind[SCAN_MX_FAILED], s->domains, "domains");
	row(fp, 2, "MX RRset bogus", s->kind[SCAN_MX_BOGUS], s->domains, "domains");
	row(fp, 0, "with a working MX (SMTP answered)", s->working_mx, s->with_mail, "with mail");
	row(fp, 0, "STARTTLS on every tested MX address", s->starttls[SCAN_STARTTLS_ALL],
	    s->working_mx, "working");
	row(fp, 2, "on some", s->starttls[SCAN_STARTTLS_SOME], s->working_mx, "working");
	row(fp, 2, "on none", s->starttls[SCAN_STARTTLS_NONE], s->working_mx, "working");
	row(fp, 0, "not testable (refused, 421, timeout)", s->starttls[SCAN_STARTTLS_UNTESTABLE],
	    s->with_mail, "with mail");
	fprintf(fp, "  lowest TLS version per domain:\n");
	for (i = 0; i < SCAN_TLS_BUCKETS; i++)
		if (s->tls[i] || i <= SCAN_TLS_10)
			row(fp, 2, tls_names[i], s->tls[i],
			    s->starttls[SCAN_STARTTLS_ALL] + s->starttls[SCAN_STARTTLS_SOME],
			    "with TLS");
	if (s->enumerated) {
		fprintf(fp, "  TLS versions accepted by some MX address (--tls-enumerate):\n");
		for (i = 0; i < SCAN_TLS_BUCKETS - 1; i++)
			row(fp, 2, tls_names[i], s->accepts[i], s->enumerated, "enumerated");
	}
	row(fp, 0, "DNSSEC-signed MX RRset (or its denial)", s->mx_secure, s->exist,
	    "existing domains");
	row(fp, 0, "valid DANE (every MX passes, RFC 7672)", s->verdict[DANE_VERDICT_PASS],
	    s->with_mail, "with mail");
	fprintf(fp, "  DANE verdicts (worst MX per domain):\n");
	for (i = 0; i < SCAN_VERDICTS; i++)
		if (s->verdict[i])
			row(fp, 2, dane_verdict_name((enum dane_verdict)i), s->verdict[i],
			    s->domains, "domains");
	if (s->policies == 0) {
		fprintf(fp, "  SPF, DMARC, MTA-STS, TLS-RPT: not checked\n");
		return;
	}
	row(fp, 0, "SPF: one valid record", s->spf_valid, s->policies, "checked");
	row(fp, 2, "several records (permerror)", s->spf_multiple, s->policies, "checked");
	row(fp, 2, "invalid", s->spf_invalid, s->policies, "checked");
	row(fp, 0, "DMARC: valid record", s->dmarc_valid, s->policies, "checked");
	row(fp, 2, "p=reject", s->dmarc_reject, s->policies, "checked");
	row(fp, 2, "p=quarantine", s->dmarc_quarantine, s->policies, "checked");
	row(fp, 2, "p=none", s->dmarc_none, s->policies, "checked");
	row(fp, 0, "MTA-STS: valid TXT record", s->sts_txt, s->policies, "checked");
	row(fp, 2, "policy mode enforce", s->sts_enforce, s->policies, "checked");
	row(fp, 2, "policy mode testing", s->sts_testing, s->policies, "checked");
	row(fp, 2, "policy missing or invalid", s->sts_policy_bad, s->policies, "checked");
	row(fp, 0, "TLS-RPT: valid record", s->tlsrpt_valid, s->policies, "checked");
}

json_t *
scan_stats_json(const struct scan_stats *s, const struct scan_counters *c, double seconds)
{
	json_t *j = json_object(), *jk = json_object(), *js = json_object(), *jt = json_object();
	json_t *jv = json_object(), *jc = json_object();
	int i;

	json_object_set_new(j, "seconds", json_real(seconds));
	json_object_set_new(j, "entries", json_integer((json_int_t)s->entries));
	json_object_set_new(j, "invalid", json_integer((json_int_t)s->invalid));
	json_object_set_new(j, "domains", json_integer((json_int_t)s->domains));
	json_object_set_new(j, "domains_per_second",
	                    json_real(seconds > 0 ? (double)s->domains / seconds : 0.0));
	for (i = 0; i < SCAN_MX_KINDS; i++)
		json_object_set_new(jk, scan_mx_kind_name((enum scan_mx_kind)i),
		                    json_integer((json_int_t)s->kind[i]));
	json_object_set_new(j, "mx_kind", jk);
	json_object_set_new(j, "with_mail", json_integer((json_int_t)s->with_mail));
	json_object_set_new(j, "existing", json_integer((json_int_t)s->exist));
	json_object_set_new(j, "mx_dnssec_secure", json_integer((json_int_t)s->mx_secure));
	json_object_set_new(j, "working_mx", json_integer((json_int_t)s->working_mx));
	for (i = 0; i < SCAN_STARTTLS_N; i++)
		json_object_set_new(js, scan_starttls_name((enum scan_starttls)i),
		                    json_integer((json_int_t)s->starttls[i]));
	json_object_set_new(j, "starttls", js);
	for (i = 0; i < SCAN_TLS_BUCKETS; i++)
		json_object_set_new(jt, tls_names[i], json_integer((json_int_t)s->tls[i]));
	json_object_set_new(j, "tls_lowest", jt);
	if (s->enumerated) {
		json_t *ja = json_object();

		json_object_set_new(ja, "domains", json_integer((json_int_t)s->enumerated));
		for (i = 0; i < SCAN_TLS_BUCKETS - 1; i++)
			json_object_set_new(ja, tls_names[i],
			                    json_integer((json_int_t)s->accepts[i]));
		json_object_set_new(j, "tls_accepted", ja);
	}
	for (i = 0; i < SCAN_VERDICTS; i++)
		json_object_set_new(jv, dane_verdict_name((enum dane_verdict)i),
		                    json_integer((json_int_t)s->verdict[i]));
	json_object_set_new(j, "verdict", jv);
	if (s->policies) {
		json_t *jp = json_object();

		json_object_set_new(jp, "checked", json_integer((json_int_t)s->policies));
		json_object_set_new(jp, "spf_valid", json_integer((json_int_t)s->spf_valid));
		json_object_set_new(jp, "spf_multiple", json_integer((json_int_t)s->spf_multiple));
		json_object_set_new(jp, "spf_invalid", json_integer((json_int_t)s->spf_invalid));
		json_object_set_new(jp, "dmarc_valid", json_integer((json_int_t)s->dmarc_valid));
		json_object_set_new(jp, "dmarc_reject", json_integer((json_int_t)s->dmarc_reject));
		json_object_set_new(jp, "dmarc_quarantine",
		                    json_integer((json_int_t)s->dmarc_quarantine));
		json_object_set_new(jp, "dmarc_none", json_integer((json_int_t)s->dmarc_none));
		json_object_set_new(jp, "mta_sts_txt", json_integer((json_int_t)s->sts_txt));
		json_object_set_new(jp, "mta_sts_enforce",
		                    json_integer((json_int_t)s->sts_enforce));
		json_object_set_new(jp, "mta_sts_testing",
		                    json_integer((json_int_t)s->sts_testing));
		json_object_set_new(jp, "mta_sts_policy_bad",
		                    json_integer((json_int_t)s->sts_policy_bad));
		json_object_set_new(jp, "tls_rpt_valid", json_integer((json_int_t)s->tlsrpt_valid));
		json_object_set_new(j, "policies", jp);
	}
	json_object_set_new(jc, "smtp_probes", json_integer((json_int_t)c->probes));
	json_object_set_new(jc, "enumeration_sessions",
	                    json_integer((json_int_t)c->enumeration_sessions));
	json_object_set_new(jc, "probe_reuses", json_integer((json_int_t)c->probe_reuses));
	json_object_set_new(jc, "hosts_resolved", json_integer((json_int_t)c->hosts_resolved));
	json_object_set_new(jc, "host_reuses", json_integer((json_int_t)c->host_reuses));
	json_object_set_new(jc, "dns_lookups", json_integer((json_int_t)c->dns_queries));
	json_object_set_new(jc, "dane_verifications",
	                    json_integer((json_int_t)c->dane_verifications));
	json_object_set_new(jc, "hosts_evicted", json_integer((json_int_t)c->hosts_evicted));
	json_object_set_new(jc, "probes_evicted", json_integer((json_int_t)c->probes_evicted));
	json_object_set_new(j, "engine", jc);
	return j;
}
