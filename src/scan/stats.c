/*
 * stats.c - aggregate counters of a scan and their table (see stats.h).
 * Counts only: the verdicts were decided by the engine.  The counters are
 * read from the JSON Lines objects the scan writes (report.c), the one
 * input both `danemail scan` and `danemail report` have; an object that is
 * not a schema-1 result is refused whole, so a table never counts half a
 * line.
 */
#include <string.h>

#include "report.h"
#include "stats.h"

static const char *const tls_names[SCAN_TLS_BUCKETS] = {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1",
                                                        "other"};

const char *
scan_tls_bucket_name(enum scan_tls_bucket b)
{
	return (size_t)b < SCAN_TLS_BUCKETS ? tls_names[b] : "other";
}

static enum scan_tls_bucket
tls_bucket(const char *v)
{
	int i;

	for (i = 0; i < SCAN_TLS_OTHER; i++)
		if (strcmp(v, tls_names[i]) == 0)
			return (enum scan_tls_bucket)i;
	return SCAN_TLS_OTHER;
}

int
scan_enum_index(const char *name, const char *(*name_of)(int), int n)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(name, name_of(i)) == 0)
			return i;
	return -1;
}

const char *
scan_stats_kind_name(int i)
{
	return scan_mx_kind_name((enum scan_mx_kind)i);
}

const char *
scan_stats_starttls_name(int i)
{
	return scan_starttls_name((enum scan_starttls)i);
}

const char *
scan_stats_verdict_name(int i)
{
	return dane_verdict_name((enum dane_verdict)i);
}

/* The string member key of o, or NULL. */
static const char *
jstring(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool
jis(const json_t *o, const char *key, const char *want)
{
	const char *v = jstring(o, key);

	return v && strcmp(v, want) == 0;
}

/* --tls-enumerate: the versions some address of the domain accepts. */
static void
add_enumeration(struct scan_stats *s, const json_t *j)
{
	bool enumerated = false, accepts[SCAN_TLS_BUCKETS - 1] = {false};
	const json_t *host, *addr, *versions;
	size_t i, k;
	int b;

	json_array_foreach(json_object_get(j, "hosts"), i, host)
	{
		json_array_foreach(json_object_get(host, "addresses"), k, addr)
		{
			versions = json_object_get(addr, "tls_versions");
			if (!json_is_object(versions))
				continue;
			enumerated = true;
			for (b = 0; b < SCAN_TLS_OTHER; b++)
				if (json_is_true(json_object_get(versions, tls_names[b])))
					accepts[b] = true;
		}
	}
	if (!enumerated)
		return;
	s->enumerated++;
	for (b = 0; b < SCAN_TLS_OTHER; b++)
		s->accepts[b] += accepts[b];
}

static void
add_policies(struct scan_stats *s, const json_t *j)
{
	const json_t *spf = json_object_get(j, "spf"), *dmarc = json_object_get(j, "dmarc");
	const json_t *sts = json_object_get(j, "mta_sts"), *rpt = json_object_get(j, "tls_rpt");
	const json_t *pol;

	/* the policies were looked up when any of them was judged (the scan judges all four) */
	if (!json_is_object(spf) && !json_is_object(dmarc) && !json_is_object(sts) &&
	    !json_is_object(rpt))
		return;
	s->policies++;
	if (json_is_object(spf)) {
		s->spf_valid += jis(spf, "state", "valid");
		s->spf_multiple += jis(spf, "state", "multiple");
		s->spf_invalid += jis(spf, "state", "invalid");
	}
	if (json_is_object(dmarc) && jis(dmarc, "state", "valid")) {
		s->dmarc_valid++;
		s->dmarc_reject += jis(dmarc, "policy", "reject");
		s->dmarc_quarantine += jis(dmarc, "policy", "quarantine");
		s->dmarc_none += jis(dmarc, "policy", "none");
	}
	if (json_is_object(sts) && jis(sts, "state", "valid")) {
		s->sts_txt++;
		pol = json_object_get(sts, "policy"); /* present when a fetch was made */
		if (json_is_object(pol) && jis(pol, "fetch", "ok") &&
		    json_is_true(json_object_get(pol, "valid"))) {
			s->sts_enforce += jis(pol, "mode", "enforce");
			s->sts_testing += jis(pol, "mode", "testing");
		} else if (json_is_object(pol)) {
			s->sts_policy_bad++;
		}
	}
	if (json_is_object(rpt) && jis(rpt, "state", "valid"))
		s->tlsrpt_valid++;
}

bool
scan_stats_add_json(struct scan_stats *s, const json_t *j, struct why *why)
{
	const json_t *mx, *schema;
	const char *lowest;
	int kind, verdict, starttls;

	if (!json_is_object(j))
		return why_set(why, "not a JSON object");
	schema = json_object_get(j, "schema");
	if (!json_is_integer(schema) || json_integer_value(schema) != SCAN_SCHEMA)
		return why_set(why, "\"schema\" is not %d", SCAN_SCHEMA);
	if (jstring(j, "domain") == NULL)
		return why_set(why, "no \"domain\" string");
	if (json_object_get(j, "error")) {
		/* an input entry that was no domain name */
		s->entries++;
		s->invalid++;
		return true;
	}
	mx = json_object_get(j, "mx");
	kind = scan_enum_index(jstring(mx, "kind"), scan_stats_kind_name, SCAN_MX_KINDS);
	if (kind < 0)
		return why_set(why, "no known \"mx\".\"kind\"");
	verdict = scan_enum_index(jstring(j, "verdict"), scan_stats_verdict_name, SCAN_VERDICTS);
	if (verdict < 0)
		return why_set(why, "no known \"verdict\"");
	starttls =
	        scan_enum_index(jstring(j, "starttls"), scan_stats_starttls_name, SCAN_STARTTLS_N);
	if (starttls < 0)
		return why_set(why, "no known \"starttls\"");

	s->entries++;
	s->domains++;
	s->kind[kind]++;
	if (kind == SCAN_MX_RECORDS || kind == SCAN_MX_IMPLICIT)
		s->with_mail++;
	if (kind == SCAN_MX_RECORDS || kind == SCAN_MX_IMPLICIT || kind == SCAN_MX_NULL ||
	    kind == SCAN_MX_BROKEN) {
		s->exist++;
		s->mx_secure += jis(mx, "dnssec", "secure");
	}
	if (json_integer_value(json_object_get(j, "addresses_tested")) > 0)
		s->working_mx++;
	s->starttls[starttls]++;
	lowest = jstring(j, "tls_lowest");
	if (lowest && *lowest)
		s->tls[tls_bucket(lowest)]++;
	add_enumeration(s, j);
	s->verdict[verdict]++;
	add_policies(s, j);
	return true;
}

double
scan_stats_pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void
row(scan_stats_row_cb *cb, void *arg, const char *key, int indent, const char *what, uint64_t n,
    uint64_t of, const char *of_what)
{
	struct scan_stats_row r = {key, indent, what, n, of, of_what};

	cb(arg, &r);
}

static void
text(scan_stats_row_cb *cb, void *arg, const char *key, const char *what, uint64_t n)
{
	struct scan_stats_row r = {key, 0, what, n, 0, NULL};

	cb(arg, &r);
}

void
scan_stats_rows(const struct scan_stats *s, scan_stats_row_cb *cb, void *arg)
{
	static const char *const tls_keys[SCAN_TLS_BUCKETS] = {
	        "tls_lowest.TLSv1.3", "tls_lowest.TLSv1.2", "tls_lowest.TLSv1.1",
	        "tls_lowest.TLSv1", "tls_lowest.other"};
	static const char *const acc_keys[SCAN_TLS_BUCKETS - 1] = {
	        "tls_accepted.TLSv1.3", "tls_accepted.TLSv1.2", "tls_accepted.TLSv1.1",
	        "tls_accepted.TLSv1"};
	uint64_t with_tls = s->starttls[SCAN_STARTTLS_ALL] + s->starttls[SCAN_STARTTLS_SOME];
	char line[96], key[64];
	int i;

	if (s->invalid) {
		snprintf(line, sizeof(line), "%llu input entries were no domain name (not scanned)",
		         (unsigned long long)s->invalid);
		text(cb, arg, "invalid", line, s->invalid);
	}
	row(cb, arg, "with_mail", 0, "domains with mail servers (MX or implicit)", s->with_mail,
	    s->domains, "domains");
	row(cb, arg, "mx_kind.null-mx", 2, "null MX (RFC 7505)", s->kind[SCAN_MX_NULL], s->domains,
	    "domains");
	row(cb, arg, "mx_kind.nxdomain", 2, "no such domain", s->kind[SCAN_MX_NXDOMAIN], s->domains,
	    "domains");
	row(cb, arg, "mx_kind.lookup-failed", 2, "MX lookup failed", s->kind[SCAN_MX_FAILED],
	    s->domains, "domains");
	row(cb, arg, "mx_kind.bogus", 2, "MX RRset bogus", s->kind[SCAN_MX_BOGUS], s->domains,
	    "domains");
	row(cb, arg, "working_mx", 0, "with a working MX (SMTP answered)", s->working_mx,
	    s->with_mail, "with mail");
	row(cb, arg, "starttls.all", 0, "STARTTLS on every tested MX address",
	    s->starttls[SCAN_STARTTLS_ALL], s->working_mx, "working");
	row(cb, arg, "starttls.some", 2, "on some", s->starttls[SCAN_STARTTLS_SOME], s->working_mx,
	    "working");
	row(cb, arg, "starttls.none", 2, "on none", s->starttls[SCAN_STARTTLS_NONE], s->working_mx,
	    "working");
	row(cb, arg, "starttls.untestable", 0, "not testable (refused, 421, timeout)",
	    s->starttls[SCAN_STARTTLS_UNTESTABLE], s->with_mail, "with mail");
	text(cb, arg, NULL, "lowest TLS version per domain:", 0);
	for (i = 0; i < SCAN_TLS_BUCKETS; i++)
		if (s->tls[i] || i <= SCAN_TLS_10)
			row(cb, arg, tls_keys[i], 2, tls_names[i], s->tls[i], with_tls, "with TLS");
	if (s->enumerated) {
		text(cb, arg, NULL,
		     "TLS versions accepted by some MX address (--tls-enumerate):", 0);
		for (i = 0; i < SCAN_TLS_BUCKETS - 1; i++)
			row(cb, arg, acc_keys[i], 2, tls_names[i], s->accepts[i], s->enumerated,
			    "enumerated");
	}
	row(cb, arg, "mx_dnssec_secure", 0, "DNSSEC-signed MX RRset (or its denial)", s->mx_secure,
	    s->exist, "existing domains");
	row(cb, arg, "dane_valid", 0, "valid DANE (every MX passes, RFC 7672)",
	    s->verdict[DANE_VERDICT_PASS], s->with_mail, "with mail");
	text(cb, arg, NULL, "DANE verdicts (worst MX per domain):", 0);
	for (i = 0; i < SCAN_VERDICTS; i++) {
		if (!s->verdict[i])
			continue;
		snprintf(key, sizeof(key), "verdict.%s", dane_verdict_name((enum dane_verdict)i));
		row(cb, arg, key, 2, dane_verdict_name((enum dane_verdict)i), s->verdict[i],
		    s->domains, "domains");
	}
	if (s->policies == 0) {
		text(cb, arg, NULL, "SPF, DMARC, MTA-STS, TLS-RPT: not checked", 0);
		return;
	}
	row(cb, arg, "policies.spf_valid", 0, "SPF: one valid record", s->spf_valid, s->policies,
	    "checked");
	row(cb, arg, "policies.spf_multiple", 2, "several records (permerror)", s->spf_multiple,
	    s->policies, "checked");
	row(cb, arg, "policies.spf_invalid", 2, "invalid", s->spf_invalid, s->policies, "checked");
	row(cb, arg, "policies.dmarc_valid", 0, "DMARC: valid record", s->dmarc_valid, s->policies,
	    "checked");
	row(cb, arg, "policies.dmarc_reject", 2, "p=reject", s->dmarc_reject, s->policies,
	    "checked");
	row(cb, arg, "policies.dmarc_quarantine", 2, "p=quarantine", s->dmarc_quarantine,
	    s->policies, "checked");
	row(cb, arg, "policies.dmarc_none", 2, "p=none", s->dmarc_none, s->policies, "checked");
	row(cb, arg, "policies.mta_sts_txt", 0, "MTA-STS: valid TXT record", s->sts_txt,
	    s->policies, "checked");
	row(cb, arg, "policies.mta_sts_enforce", 2, "policy mode enforce", s->sts_enforce,
	    s->policies, "checked");
	row(cb, arg, "policies.mta_sts_testing", 2, "policy mode testing", s->sts_testing,
	    s->policies, "checked");
	row(cb, arg, "policies.mta_sts_policy_bad", 2, "policy missing or invalid",
	    s->sts_policy_bad, s->policies, "checked");
	row(cb, arg, "policies.tls_rpt_valid", 0, "TLS-RPT: valid record", s->tlsrpt_valid,
	    s->policies, "checked");
}

void
scan_stats_print_run(FILE *fp, const struct scan_stats *s, const struct scan_counters *c,
                     double seconds)
{
	fprintf(fp,
	        "danemail scan: %llu domains in %.1f s (%.1f/s); %llu SMTP probes for %llu "
	        "addresses, %llu MX hosts resolved, %llu DNS lookups\n",
	        (unsigned long long)s->domains, seconds,
	        seconds > 0 ? (double)s->domains / seconds : 0.0, (unsigned long long)c->probes,
	        (unsigned long long)(c->probes + c->probe_reuses),
	        (unsigned long long)c->hosts_resolved, (unsigned long long)c->dns_queries);
}

static void
print_row(void *arg, const struct scan_stats_row *r)
{
	FILE *fp = arg;
	int w = 44 - r->indent;

	if (r->of_what == NULL)
		fprintf(fp, "  %s\n", r->what);
	else
		fprintf(fp, "  %*s%-*s %9llu  %5.1f%%  of %s\n", r->indent, "", w, r->what,
		        (unsigned long long)r->n, scan_stats_pct(r->n, r->of), r->of_what);
}

void
scan_stats_print(FILE *fp, const struct scan_stats *s)
{
	scan_stats_rows(s, print_row, fp);
}

static void
jset(json_t *j, const char *key, uint64_t n)
{
	json_object_set_new(j, key, json_integer((json_int_t)n));
}

json_t *
scan_stats_json(const struct scan_stats *s, const struct scan_counters *c, double seconds)
{
	json_t *j = json_object(), *jk = json_object(), *js = json_object(), *jt = json_object();
	json_t *jv = json_object(), *jc;
	int i;

	if (c)
		json_object_set_new(j, "seconds", json_real(seconds));
	jset(j, "entries", s->entries);
	jset(j, "invalid", s->invalid);
	jset(j, "domains", s->domains);
	if (c)
		json_object_set_new(j, "domains_per_second",
		                    json_real(seconds > 0 ? (double)s->domains / seconds : 0.0));
	for (i = 0; i < SCAN_MX_KINDS; i++)
		jset(jk, scan_mx_kind_name((enum scan_mx_kind)i), s->kind[i]);
	json_object_set_new(j, "mx_kind", jk);
	jset(j, "with_mail", s->with_mail);
	jset(j, "existing", s->exist);
	jset(j, "mx_dnssec_secure", s->mx_secure);
	jset(j, "working_mx", s->working_mx);
	for (i = 0; i < SCAN_STARTTLS_N; i++)
		jset(js, scan_starttls_name((enum scan_starttls)i), s->starttls[i]);
	json_object_set_new(j, "starttls", js);
	for (i = 0; i < SCAN_TLS_BUCKETS; i++)
		jset(jt, tls_names[i], s->tls[i]);
	json_object_set_new(j, "tls_lowest", jt);
	if (s->enumerated) {
		json_t *ja = json_object();

		jset(ja, "domains", s->enumerated);
		for (i = 0; i < SCAN_TLS_BUCKETS - 1; i++)
			jset(ja, tls_names[i], s->accepts[i]);
		json_object_set_new(j, "tls_accepted", ja);
	}
	for (i = 0; i < SCAN_VERDICTS; i++)
		jset(jv, dane_verdict_name((enum dane_verdict)i), s->verdict[i]);
	json_object_set_new(j, "verdict", jv);
	if (s->policies) {
		json_t *jp = json_object();

		jset(jp, "checked", s->policies);
		jset(jp, "spf_valid", s->spf_valid);
		jset(jp, "spf_multiple", s->spf_multiple);
		jset(jp, "spf_invalid", s->spf_invalid);
		jset(jp, "dmarc_valid", s->dmarc_valid);
		jset(jp, "dmarc_reject", s->dmarc_reject);
		jset(jp, "dmarc_quarantine", s->dmarc_quarantine);
		jset(jp, "dmarc_none", s->dmarc_none);
		jset(jp, "mta_sts_txt", s->sts_txt);
		jset(jp, "mta_sts_enforce", s->sts_enforce);
		jset(jp, "mta_sts_testing", s->sts_testing);
		jset(jp, "mta_sts_policy_bad", s->sts_policy_bad);
		jset(jp, "tls_rpt_valid", s->tlsrpt_valid);
		json_object_set_new(j, "policies", jp);
	}
	if (c == NULL)
		return j;
	jc = json_object();
	jset(jc, "smtp_probes", c->probes);
	jset(jc, "enumeration_sessions", c->enumeration_sessions);
	jset(jc, "probe_reuses", c->probe_reuses);
	jset(jc, "hosts_resolved", c->hosts_resolved);
	jset(jc, "host_reuses", c->host_reuses);
	jset(jc, "dns_lookups", c->dns_queries);
	jset(jc, "dane_verifications", c->dane_verifications);
	jset(jc, "hosts_evicted", c->hosts_evicted);
	jset(jc, "probes_evicted", c->probes_evicted);
	json_object_set_new(j, "engine", jc);
	return j;
}
