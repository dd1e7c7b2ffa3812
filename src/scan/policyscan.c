/*
 * policyscan.c - SPF (RFC 7208), DMARC (RFC 7489), MTA-STS (RFC 8461) and
 * TLS-RPT (RFC 8460) for the scanner: TXT owners (DMARC at the
 * organizational domain too, RFC 7489 6.6.3), judging through
 * mailpolicy.h, the MX coverage check of RFC 8461 4.1, and JSON (see
 * policyscan.h).
 *
 * The judges' output is already escaped (mailpolicy.h); strings go into
 * JSON through jansson, which escapes for JSON.
 */
#include <string.h>

#include "policyscan.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

void
scan_policy_owner(enum scan_policy_kind kind, const char *domain, struct buf *out)
{
	static const char *const prefix[SCAN_POLICY_KINDS] = {
	        [SCAN_POLICY_SPF] = "",
	        [SCAN_POLICY_DMARC] = "_dmarc.",
	        [SCAN_POLICY_MTASTS] = "_mta-sts.",
	        [SCAN_POLICY_TLSRPT] = "_smtp._tls.",
	};

	buf_reset(out);
	buf_printf(out, "%s%s", prefix[kind], domain);
}

void
scan_policy_judge(struct scan_policies *p, enum scan_policy_kind kind, const struct dns_answer *txt)
{
	if (kind >= SCAN_POLICY_KINDS || p->judged[kind])
		return;
	switch (kind) {
	case SCAN_POLICY_SPF:
		spf_judge(txt, &p->spf);
		break;
	case SCAN_POLICY_DMARC:
		dmarc_judge(txt, &p->dmarc);
		break;
	case SCAN_POLICY_MTASTS:
		mtasts_txt_judge(txt, &p->sts_txt);
		break;
	case SCAN_POLICY_TLSRPT:
		tlsrpt_judge(txt, &p->tlsrpt);
		break;
	case SCAN_POLICY_KINDS:
		return;
	}
	p->judged[kind] = true;
}

bool
scan_policy_dmarc_org_owner(struct scan_policies *p, const struct policy_psl *psl,
                            const char *domain, struct buf *out)
{
	struct buf org = BUF_INIT;
	bool want;

	if (!p->judged[SCAN_POLICY_DMARC])
		return false;
	want = dmarc_wants_org_domain(&p->dmarc, domain,
	                              policy_org_domain(psl, domain, &org) ? buf_str(&org) : NULL);
	if (want)
		scan_policy_owner(SCAN_POLICY_DMARC, buf_str(&org), out);
	buf_release(&org);
	return want;
}

void
scan_policy_judge_dmarc_org(struct scan_policies *p, const struct dns_answer *txt)
{
	if (p->judged[SCAN_POLICY_DMARC])
		dmarc_judge_org_domain(txt, &p->dmarc);
}

bool
scan_policy_wants_fetch(const struct scan_policies *p)
{
	return p->judged[SCAN_POLICY_MTASTS] && p->sts_txt.state == POLICY_VALID;
}

void
scan_policy_fetched(struct scan_policies *p, enum mtasts_fetch_state state, const char *body,
                    size_t len, const char *detail)
{
	struct buf esc = BUF_INIT;

	p->fetched = true;
	p->fetch_state = state;
	free(p->fetch_detail);
	p->fetch_detail = detail ? xstrdup(escape_str(&esc, detail)) : NULL;
	buf_release(&esc);
	if (state == MTASTS_FETCH_OK && body)
		mtasts_policy_parse(body, len, &p->policy);
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* "" -> null, for the judges' fixed arrays. */
static json_t *
jtext(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

void
scan_policy_json(const struct scan_policies *p, json_t *obj, const char *const *mx_hosts,
                 size_t n_mx)
{
	json_t *j;
	size_t i;

	if (p->judged[SCAN_POLICY_SPF]) {
		j = json_object();
		json_object_set_new(j, "state",
		                    json_string(policy_record_state_name(p->spf.state)));
		json_object_set_new(j, "record", jstr(p->spf.record));
		json_object_set_new(j, "dns_mechanisms", json_integer(p->spf.dns_mechanisms));
		json_object_set_new(j, "too_many_lookups", json_boolean(p->spf.too_many_lookups));
		json_object_set_new(j, "all", jtext(p->spf.all));
		json_object_set_new(j, "why", jtext(p->spf.why));
		json_object_set_new(obj, "spf", j);
	}
	if (p->judged[SCAN_POLICY_DMARC]) {
		j = json_object();
		json_object_set_new(j, "state",
		                    json_string(policy_record_state_name(p->dmarc.state)));
		json_object_set_new(j, "record", jstr(p->dmarc.record));
		json_object_set_new(j, "policy", jtext(p->dmarc.policy));
		json_object_set_new(j, "subdomain_policy", jtext(p->dmarc.sp));
		json_object_set_new(j, "pct", json_integer(p->dmarc.pct));
		json_object_set_new(j, "rua", json_boolean(p->dmarc.has_rua));
		json_object_set_new(j, "why", jtext(p->dmarc.why));
		/* RFC 7489 6.6.3: where the record came from, and what applies to the domain */
		json_object_set_new(j, "found_at",
		                    p->dmarc.found_at == DMARC_FOUND_NONE
		                            ? json_null()
		                            : json_string(dmarc_found_name(p->dmarc.found_at)));
		json_object_set_new(j, "org_domain", jstr(p->dmarc.org_domain));
		json_object_set_new(j, "effective_policy", jtext(p->dmarc.effective));
		json_object_set_new(obj, "dmarc", j);
	}
	if (p->judged[SCAN_POLICY_MTASTS]) {
		j = json_object();
		json_object_set_new(j, "state",
		                    json_string(policy_record_state_name(p->sts_txt.state)));
		json_object_set_new(j, "id", jstr(p->sts_txt.id));
		json_object_set_new(j, "why", jtext(p->sts_txt.why));
		if (p->fetched) {
			json_t *jp = json_object();

			json_object_set_new(jp, "fetch",
			                    json_string(mtasts_fetch_state_name(p->fetch_state)));
			json_object_set_new(jp, "detail", jstr(p->fetch_detail));
			if (p->fetch_state == MTASTS_FETCH_OK) {
				json_t *jmx = json_array(), *unc = json_array();
				bool enforced =
				        p->policy.valid && p->policy.mode != MTASTS_MODE_NONE;

				json_object_set_new(jp, "valid", json_boolean(p->policy.valid));
				json_object_set_new(jp, "why", jtext(p->policy.why));
				json_object_set_new(jp, "mode",
				                    json_string(mtasts_mode_name(p->policy.mode)));
				json_object_set_new(jp, "max_age", json_integer(p->policy.max_age));
				for (i = 0; i < p->policy.n_mx; i++)
					json_array_append_new(jmx, jstr(p->policy.mx[i]));
				json_object_set_new(jp, "mx", jmx);
				/*
				 * RFC 8461 4.1: every MX host a sender may use must match a
				 * pattern; mode none (5) has no MX list to match: null.
				 */
				for (i = 0; enforced && i < n_mx; i++)
					if (!mtasts_policy_matches(&p->policy, mx_hosts[i]))
						json_array_append_new(unc,
						                      json_string(mx_hosts[i]));
				json_object_set_new(
				        jp, "mx_covered",
				        !enforced ? json_null()
				                  : json_boolean(json_array_size(unc) == 0));
				json_object_set_new(jp, "mx_not_covered", unc);
			}
			json_object_set_new(j, "policy", jp);
		}
		json_object_set_new(obj, "mta_sts", j);
	}
	if (p->judged[SCAN_POLICY_TLSRPT]) {
		j = json_object();
		json_object_set_new(j, "state",
		                    json_string(policy_record_state_name(p->tlsrpt.state)));
		json_object_set_new(j, "record", jstr(p->tlsrpt.record));
		json_object_set_new(j, "rua", jstr(p->tlsrpt.rua));
		json_object_set_new(j, "why", jtext(p->tlsrpt.why));
		json_object_set_new(obj, "tls_rpt", j);
	}
}

void
scan_policy_clear(struct scan_policies *p)
{
	if (p == NULL)
		return;
	if (p->judged[SCAN_POLICY_SPF])
		spf_info_clear(&p->spf);
	if (p->judged[SCAN_POLICY_DMARC])
		dmarc_info_clear(&p->dmarc);
	if (p->judged[SCAN_POLICY_MTASTS])
		mtasts_txt_info_clear(&p->sts_txt);
	if (p->judged[SCAN_POLICY_TLSRPT])
		tlsrpt_info_clear(&p->tlsrpt);
	if (p->fetched && p->fetch_state == MTASTS_FETCH_OK)
		mtasts_policy_clear(&p->policy);
	free(p->fetch_detail);
	memset(p, 0, sizeof(*p));
}
