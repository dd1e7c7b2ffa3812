/*
 * report.c - JSON Lines and CSV output of the scanner (see report.h).
 *
 * Everything that came from DNS or from a server was escaped before it
 * reached the engine's structures (lib/smtp, lib/dane, util/escape);
 * jansson adds JSON's own escaping, and CSV fields are quoted (RFC 4180)
 * whenever they hold a comma, quote or line break.
 */
#include <string.h>
#include <time.h>

#include "dns/rr.h"
#include "report.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/codec.h"

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
jtext(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *
scan_assoc_json(const struct rr_assoc *a)
{
	struct buf hex = BUF_INIT;
	json_t *j = json_object();

	hex_encode(&hex, a->data, a->len);
	json_object_set_new(j, "usage", json_integer(a->usage));
	json_object_set_new(j, "selector", json_integer(a->selector));
	json_object_set_new(j, "matching_type", json_integer(a->mtype));
	json_object_set_new(j, "data", json_string(buf_str(&hex)));
	json_object_set_new(j, "usable", json_boolean(dane_tlsa_usable(a)));
	buf_release(&hex);
	return j;
}

static json_t *
json_cert(const struct cert_info *c, bool expired)
{
	json_t *j = json_object(), *names = json_array();
	char t[32];
	size_t i;

	json_object_set_new(j, "subject", jstr(c->subject));
	json_object_set_new(j, "issuer", jstr(c->issuer));
	for (i = 0; i < c->n_dns_names; i++)
		json_array_append_new(names, json_string(c->dns_names[i]));
	json_object_set_new(j, "dns_names", names);
	json_object_set_new(j, "key_type", json_string(c->key_type));
	json_object_set_new(j, "key_bits", json_integer(c->key_bits));
	json_object_set_new(j, "curve", jtext(c->curve));
	json_object_set_new(j, "signature_algorithm", jtext(c->sig_alg));
	time_text(t, sizeof(t), c->not_before);
	json_object_set_new(j, "not_before", json_string(t));
	time_text(t, sizeof(t), c->not_after);
	json_object_set_new(j, "not_after", json_string(t));
	json_object_set_new(j, "expired", json_boolean(expired));
	json_object_set_new(j, "sha256", json_string(c->sha256_fpr));
	return j;
}

static json_t *
json_smtp(const struct scan_probe *p)
{
	json_t *j = json_object();
	size_t i;

	json_object_set_new(j, "result", json_string(smtp_result_name(p->result)));
	json_object_set_new(j, "stage", json_string(smtp_stage_name(p->stage)));
	json_object_set_new(j, "why", jstr(p->why));
	json_object_set_new(j, "greeting", jstr(p->greeting));
	json_object_set_new(j, "greeting_code", json_integer(p->greeting_code));
	json_object_set_new(j, "ehlo_code", json_integer(p->ehlo_code));
	json_object_set_new(j, "helo_fallback", json_boolean(p->helo_fallback));
	json_object_set_new(j, "starttls_offered", json_boolean(p->starttls_offered));
	json_object_set_new(j, "starttls_code", json_integer(p->starttls_code));
	json_object_set_new(j, "elapsed_ms", json_integer(p->elapsed_ms));
	if (p->n_extensions) {
		json_t *ext = json_array();

		for (i = 0; i < p->n_extensions; i++)
			json_array_append_new(ext, json_string(p->extensions[i]));
		json_object_set_new(j, "extensions", ext);
	}
	return j;
}

/* The TLS session of a probe, judged for one host (check: the DANE verification). */
static json_t *
json_tls(const struct scan_probe *p, const struct dane_tls *check, bool names_host)
{
	json_t *j = json_object(), *jd = json_object();

	json_object_set_new(j, "version", json_string(p->tls.version));
	json_object_set_new(j, "cipher", json_string(p->tls.cipher));
	json_object_set_new(j, "group", jtext(p->group));
	json_object_set_new(j, "sni", jstr(p->sni));
	json_object_set_new(j, "chain_length",
	                    json_integer(p->tls.chain ? sk_X509_num(p->tls.chain) : 0));
	if (p->have_leaf)
		json_object_set_new(j, "certificate", json_cert(&p->leaf, p->tls.leaf_expired));
	else
		json_object_set_new(j, "certificate", json_null());
	json_object_set_new(j, "pkix_valid", json_boolean(p->pkix_valid));
	json_object_set_new(j, "pkix_error", p->pkix_valid ? json_null() : jtext(p->pkix_error));
	json_object_set_new(j, "names_host", json_boolean(names_host));
	json_object_set_new(jd, "records", json_integer((json_int_t)check->n_records));
	json_object_set_new(jd, "verify",
	                    check->n_records ? json_string(check->verify_text) : json_null());
	if (check->match_depth >= 0) {
		json_t *jm = scan_assoc_json(&check->match);

		json_object_set_new(jm, "depth", json_integer(check->match_depth));
		json_object_set_new(jd, "matched", jm);
	} else {
		json_object_set_new(jd, "matched", json_null());
	}
	json_object_set_new(jd, "peer_name", jstr(check->peer_name));
	json_object_set_new(j, "dane", jd);
	return j;
}

/*
 * --tls-enumerate: which versions the server accepts ("TLSv1": true/false,
 * null when not tried) and every certificate it showed, each with its DANE
 * verdict for this host and domain (main: the main certificate's).
 */
static void
json_enumeration(json_t *ja, const struct scan_probe *p, const struct scan_host_addr *a,
                 const struct scan_mx *mx, size_t i, const struct dane_decision *main)
{
	json_t *jv = json_object(), *jc = json_array(), *c;
	size_t k;
	int v;

	for (v = SCAN_VAR_TLS10; v <= SCAN_VAR_TLS13; v++)
		json_object_set_new(jv, scan_variant_name((enum scan_variant)v),
		                    p->variants[v].tried ? json_boolean(p->variants[v].ok)
		                                         : json_null());
	json_object_set_new(ja, "tls_versions", jv);
	if (p->have_leaf) {
		c = json_object();
		json_object_set_new(c, "key_type", json_string(p->leaf.key_type));
		json_object_set_new(c, "key_bits", json_integer(p->leaf.key_bits));
		json_object_set_new(c, "sha256", json_string(p->leaf.sha256_fpr));
		json_object_set_new(c, "verdict", json_string(dane_verdict_name(main->verdict)));
		json_array_append_new(jc, c);
	}
	for (k = 0; k < a->n_alt; k++) {
		const struct scan_tls_variant *t = &p->variants[a->alt_variant[k]];

		c = json_object();
		json_object_set_new(c, "key_type", json_string(t->key_type));
		json_object_set_new(c, "key_bits", json_integer(t->key_bits));
		json_object_set_new(c, "sha256", json_string(t->sha256));
		json_object_set_new(
		        c, "verdict",
		        json_string(dane_verdict_name(mx->alt_decision[2 * i + k].verdict)));
		json_object_set_new(c, "rule", jstr(mx->alt_decision[2 * i + k].rule));
		json_array_append_new(jc, c);
	}
	json_object_set_new(ja, "certificates", jc);
}

/*
 * For the monitor's look ahead (danemail monitor --at): the SPKI SHA2-256
 * of the leaf (what a "3 1 1" record for the key in use carries), and every
 * TLSA record (index into tlsa.records, any usage) that matches a
 * certificate of the chain, with that certificate's depth and expiry
 * (usages 1 and 3 at the leaf only, RFC 7671 5.1).
 */
static time_t
x509_not_after(X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void
json_tls_matches(json_t *jtls, const struct dane_tlsa_set *set, STACK_OF(X509) * chain)
{
	json_t *jm = json_array(), *jd = json_object_get(jtls, "dane");
	struct buf data = BUF_INIT, hex = BUF_INIT;
	int depth, n = chain ? sk_X509_num(chain) : 0;
	char t[32];
	size_t i;

	if (n > 0 && cert_association(sk_X509_value(chain, 0), 1, 1, &data, NULL)) {
		hex_encode(&hex, data.data, data.len);
		json_object_set_new(jtls, "spki_sha256", json_string(buf_str(&hex)));
	}
	for (i = 0; set && i < set->n; i++) {
		const struct rr_assoc *a = &set->recs[i];

		for (depth = 0; depth < n; depth++) {
			X509 *x = sk_X509_value(chain, depth);
			json_t *m;

			if (depth > 0 &&
			    (a->usage == RR_USAGE_DANE_EE || a->usage == RR_USAGE_PKIX_EE))
				break;
			buf_reset(&data);
			if (!cert_association(x, a->selector, a->mtype, &data, NULL) ||
			    data.len != a->len || memcmp(data.data, a->data, a->len) != 0)
				continue;
			m = json_object();
			json_object_set_new(m, "record", json_integer((json_int_t)i));
			json_object_set_new(m, "depth", json_integer(depth));
			time_text(t, sizeof(t), x509_not_after(x));
			json_object_set_new(m, "not_after", json_string(t));
			json_array_append_new(jm, m);
			break;
		}
	}
	if (jd)
		json_object_set_new(jd, "matches", jm);
	else
		json_decref(jm);
	buf_release(&data);
	buf_release(&hex);
}

static json_t *
json_host(const struct scan_mx *mx, bool implicit)
{
	const struct scan_host *host = mx->host;
	const struct dane_host *h = &host->h;
	json_t *jh = json_object(), *jaddrs = json_array();
	size_t i;

	json_object_set_new(jh, "host", json_string(mx->name));
	json_object_set_new(jh, "preference",
	                    implicit ? json_null() : json_integer(mx->preference));
	json_object_set_new(jh, "canonical", jstr(h->canonical));
	json_object_set_new(jh, "addresses_dnssec", json_string(dns_sec_name(h->addr_sec)));
	json_object_set_new(jh, "addresses_outcome",
	                    json_string(dns_outcome_name(h->addr_outcome)));
	json_object_set_new(jh, "addresses_why", jstr(h->addr_why));
	json_object_set_new(jh, "secure_alias", json_boolean(h->secure_alias));
	if (host->n_addrs_dropped)
		json_object_set_new(jh, "addresses_not_followed",
		                    json_integer((json_int_t)host->n_addrs_dropped));
	if (h->tlsa_looked_up) {
		json_t *jt = json_object(), *jrecs = json_array();

		json_object_set_new(jt, "owner", jstr(h->tlsa.qname));
		json_object_set_new(jt, "base_domain", jstr(h->tlsa_base));
		json_object_set_new(jt, "dnssec", json_string(dns_sec_name(h->tlsa.sec)));
		json_object_set_new(jt, "outcome", json_string(dns_outcome_name(h->tlsa.outcome)));
		json_object_set_new(jt, "why", jstr(h->tlsa.why));
		json_object_set_new(jt, "usable", json_integer((json_int_t)h->set.n_usable));
		json_object_set_new(jt, "malformed", json_integer((json_int_t)h->set.n_malformed));
		for (i = 0; i < h->set.n; i++)
			json_array_append_new(jrecs, scan_assoc_json(&h->set.recs[i]));
		json_object_set_new(jt, "records", jrecs);
		json_object_set_new(jh, "tlsa", jt);
	} else {
		json_object_set_new(jh, "tlsa", json_null());
	}
	for (i = 0; i < h->n_addrs; i++) {
		const struct scan_host_addr *a = &host->addrs[i];
		const struct scan_probe *p = a->probe;
		bool re = mx->recheck && mx->recheck_decision[i].rule != NULL;
		const struct dane_tls *check = re ? &mx->recheck[i] : &a->check;
		const struct dane_decision *dec = &mx->final[i];
		json_t *ja = json_object();

		json_object_set_new(ja, "address", json_string(a->address));
		json_object_set_new(ja, "port", json_integer(h->port));
		json_object_set_new(ja, "transport",
		                    json_string(scan_transport_name(a->transport)));
		if (p == NULL) {
			json_object_set_new(ja, "not_tested", jstr(a->not_tested));
			json_array_append_new(jaddrs, ja);
			continue;
		}
		json_object_set_new(ja, "probe_id", json_integer((json_int_t)p->id));
		json_object_set_new(ja, "smtp", json_smtp(p));
		if (p->tls.established) {
			json_t *jt = json_tls(p, check, a->names_host);

			json_tls_matches(jt, h->tlsa_looked_up ? &h->set : NULL, p->tls.chain);
			json_object_set_new(ja, "tls", jt);
		} else {
			json_object_set_new(ja, "tls", json_null());
		}
		json_object_set_new(ja, "verdict", json_string(dane_verdict_name(dec->verdict)));
		json_object_set_new(ja, "rule", jstr(dec->rule));
		json_object_set_new(ja, "rollover", json_string(dane_rollover_name(a->rollover)));
		json_object_set_new(ja, "rollover_ready",
		                    json_boolean(dane_rollover_ready(a->rollover)));
		if (p->enumerated)
			json_enumeration(ja, p, a, mx, i,
			                 re ? &mx->recheck_decision[i] : &a->decision);
		json_array_append_new(jaddrs, ja);
	}
	json_object_set_new(jh, "addresses", jaddrs);
	json_object_set_new(jh, "verdict", json_string(dane_verdict_name(mx->verdict)));
	if (host->rule)
		json_object_set_new(jh, "rule", json_string(host->rule));
	return jh;
}

json_t *
scan_domain_json(const struct scan_domain *d)
{
	json_t *j = json_object(), *jmx = json_object(), *jhosts = json_array();
	json_t *notes = json_array();
	const char **names;
	size_t i;

	json_object_set_new(j, "schema", json_integer(SCAN_SCHEMA));
	json_object_set_new(j, "domain", json_string(d->name));
	json_object_set_new(j, "rank", d->rank >= 0 ? json_integer(d->rank) : json_null());
	json_object_set_new(j, "position", json_integer((json_int_t)d->position));
	json_object_set_new(j, "elapsed_ms", json_integer(d->end_ms - d->start_ms));

	json_object_set_new(jmx, "kind", json_string(scan_mx_kind_name(d->kind)));
	json_object_set_new(jmx, "dnssec", json_string(dns_sec_name(d->mx->sec)));
	json_object_set_new(jmx, "outcome", json_string(dns_outcome_name(d->mx->outcome)));
	json_object_set_new(jmx, "why", jstr(d->mx->why));
	json_object_set_new(jmx, "null_records", json_integer((json_int_t)d->n_null_mx));
	if (d->n_mx_dropped)
		json_object_set_new(jmx, "hosts_not_followed",
		                    json_integer((json_int_t)d->n_mx_dropped));
	json_object_set_new(j, "mx", jmx);

	if (d->kind == SCAN_MX_IMPLICIT)
		json_array_append_new(notes,
		                      json_string("no MX records: the domain is its own mail "
		                                  "host (RFC 5321 5.1)"));
	if (d->kind == SCAN_MX_RECORDS && d->n_null_mx)
		json_array_append_new(notes,
		                      json_string("a null MX among other MX records (RFC 7505 "
		                                  "3 forbids it); the others are used"));
	if (d->kind == SCAN_MX_RECORDS && d->mx->sec != DNS_SEC_SECURE)
		json_array_append_new(
		        notes, json_string("the MX RRset is not secure: senders may skip DANE "
		                           "for its hosts (RFC 7672 2.2.1); they are checked "
		                           "anyway, without the next-hop domain as a name"));
	json_object_set_new(j, "notes", notes);

	for (i = 0; i < d->n_mx; i++)
		json_array_append_new(jhosts, json_host(&d->mxs[i], d->kind == SCAN_MX_IMPLICIT));
	json_object_set_new(j, "hosts", jhosts);

	json_object_set_new(j, "verdict", json_string(dane_verdict_name(d->verdict)));
	json_object_set_new(j, "verdict_where", jstr(d->verdict_where));
	if (d->verdict_rule)
		json_object_set_new(j, "rule", json_string(d->verdict_rule));
	json_object_set_new(j, "starttls", json_string(scan_starttls_name(d->starttls)));
	json_object_set_new(j, "tls_lowest", jtext(d->lowest_tls));
	json_object_set_new(j, "addresses_tested", json_integer((json_int_t)d->addrs_tested));
	json_object_set_new(j, "addresses_tls", json_integer((json_int_t)d->addrs_tls));

	names = xcalloc(d->n_mx ? d->n_mx : 1, sizeof(*names));
	for (i = 0; i < d->n_mx; i++)
		names[i] = d->mxs[i].name;
	scan_policy_json(&d->pol, j, names, d->n_mx);
	free(names);
	scan_domain_ttl_json(d, j); /* the TTLs, from the engine's tables */
	return j;
}

json_t *
scan_invalid_json(const struct scan_item *it)
{
	json_t *j = json_object();

	json_object_set_new(j, "schema", json_integer(SCAN_SCHEMA));
	json_object_set_new(j, "domain", json_string(it->domain));
	json_object_set_new(j, "rank", it->rank >= 0 ? json_integer(it->rank) : json_null());
	json_object_set_new(j, "position", json_integer((json_int_t)it->position));
	json_object_set_new(j, "input_line", json_integer((json_int_t)it->line));
	json_object_set_new(j, "error", json_string(it->why));
	return j;
}

/* One CSV field (RFC 4180 quoting when needed), preceded by a comma unless first. */
static void
csv_field(FILE *fp, const char *s, bool first)
{
	if (!first)
		fputc(',', fp);
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

void
scan_csv_header(FILE *fp)
{
	fputs("domain,rank,mx_kind,mx_dnssec,mx_hosts,verdict,verdict_where,starttls,tls_lowest,"
	      "addresses_tested,addresses_tls,spf,dmarc,dmarc_policy,mta_sts,mta_sts_mode,tls_rpt,"
	      "elapsed_ms,error\n",
	      fp);
}

void
scan_csv_domain(FILE *fp, const struct scan_domain *d)
{
	const struct scan_policies *p = &d->pol;
	bool pol = d->policies_looked_up;
	char num[32];

	csv_field(fp, d->name, true);
	snprintf(num, sizeof(num), "%ld", d->rank);
	csv_field(fp, d->rank >= 0 ? num : "", false);
	csv_field(fp, scan_mx_kind_name(d->kind), false);
	csv_field(fp, dns_sec_name(d->mx->sec), false);
	snprintf(num, sizeof(num), "%zu", d->n_mx);
	csv_field(fp, num, false);
	csv_field(fp, dane_verdict_name(d->verdict), false);
	csv_field(fp, d->verdict_where, false);
	csv_field(fp, scan_starttls_name(d->starttls), false);
	csv_field(fp, d->lowest_tls, false);
	snprintf(num, sizeof(num), "%zu", d->addrs_tested);
	csv_field(fp, num, false);
	snprintf(num, sizeof(num), "%zu", d->addrs_tls);
	csv_field(fp, num, false);
	csv_field(fp,
	          pol && p->judged[SCAN_POLICY_SPF] ? policy_record_state_name(p->spf.state) : "",
	          false);
	csv_field(fp,
	          pol && p->judged[SCAN_POLICY_DMARC] ? policy_record_state_name(p->dmarc.state)
	                                              : "",
	          false);
	csv_field(fp, pol && p->judged[SCAN_POLICY_DMARC] ? p->dmarc.policy : "", false);
	csv_field(fp,
	          pol && p->judged[SCAN_POLICY_MTASTS] ? policy_record_state_name(p->sts_txt.state)
	                                               : "",
	          false);
	csv_field(fp,
	          pol && p->fetched && p->fetch_state == MTASTS_FETCH_OK && p->policy.valid
	                  ? mtasts_mode_name(p->policy.mode)
	                  : "",
	          false);
	csv_field(fp,
	          pol && p->judged[SCAN_POLICY_TLSRPT] ? policy_record_state_name(p->tlsrpt.state)
	                                               : "",
	          false);
	snprintf(num, sizeof(num), "%lld", (long long)(d->end_ms - d->start_ms));
	csv_field(fp, num, false);
	csv_field(fp, "", false);
	fputc('\n', fp);
}

void
scan_csv_invalid(FILE *fp, const struct scan_item *it)
{
	char num[32];
	int i;

	csv_field(fp, it->domain, true);
	snprintf(num, sizeof(num), "%ld", it->rank);
	csv_field(fp, it->rank >= 0 ? num : "", false);
	for (i = 0; i < 16; i++)
		csv_field(fp, "", false);
	csv_field(fp, it->why, false);
	fputc('\n', fp);
}
