/*
 * recipients.c - find each recipient's certificate: SMIMEA at the owner
 * of the local part exactly as given, then lower-cased (RFC 8162 section 3,
 * RFC 7929 section 3), all recipients at once, through the validating
 * resolver and its cache.  Only SECURE answers yield keys; the state of each
 * lookup stays explicit for the policy table.
 */
#include <string.h>
#include <time.h>

#include "dane/smimea.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "milter.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

void
recipient_clear(struct recipient *r)
{
	if (r->certs)
		sk_X509_pop_free(r->certs, X509_free);
	r->certs = NULL;
	free(r->address);
	r->address = NULL;
}

static void
set_detail(struct recipient *r, const char *text)
{
	struct buf esc = BUF_INIT;

	snprintf(r->detail, sizeof(r->detail), "%s", escape_str(&esc, text));
	buf_release(&esc);
}

/* Map one final answer onto the recipient (the policy's input). */
static void
judge(struct runtime *rt, struct recipient *r, const struct dns_answer *ans)
{
	struct why why;

	if (ans->sec == DNS_SEC_BOGUS) {
		r->state = RCPT_BOGUS;
		set_detail(r, ans->why ? ans->why : "validation failed");
	} else if (ans->outcome == DNS_OUTCOME_SERVFAIL || ans->outcome == DNS_OUTCOME_TIMEOUT ||
	           ans->outcome == DNS_OUTCOME_ERROR || ans->sec == DNS_SEC_INDETERMINATE) {
		r->state = RCPT_DNS_FAIL;
		set_detail(r, ans->why ? ans->why : dns_outcome_name(ans->outcome));
	} else if (ans->sec == DNS_SEC_INSECURE) {
		r->state = RCPT_NO_KEY;
		set_detail(r, "insecure (no DNSSEC)");
	} else if (ans->outcome != DNS_OUTCOME_DATA) {
		r->state = RCPT_NO_KEY;
		set_detail(r, "no SMIMEA record (secure proof)");
	} else {
		r->certs = sk_X509_new_null();
		if (smimea_usable_certs(ans, rt->pkix, rt->certs, time(NULL), r->certs, &why) > 0) {
			r->state = RCPT_KEY;
			snprintf(r->detail, sizeof(r->detail), "%d certificate(s)",
			         sk_X509_num(r->certs));
		} else {
			r->state = RCPT_NO_KEY;
			set_detail(r, why.msg);
		}
	}
}

void
recipients_lookup(struct runtime *rt, struct recipient *r, size_t n)
{
	struct owner_address *addr = xcalloc(n ? n : 1, sizeof(*addr));
	struct dns_question *q = xcalloc(n ? n : 1, sizeof(*q));
	struct dns_answer *ans = xcalloc(n ? n : 1, sizeof(*ans)), *fb;
	struct buf *owner = xcalloc(n ? n : 1, sizeof(*owner));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx)), nq = 0, i, j;
	bool *parsed = xcalloc(n ? n : 1, sizeof(*parsed));
	struct why why;

	/* round 1: every recipient's exact owner */
	for (i = 0; i < n; i++) {
		r[i].matched = NULL;
		if (r[i].state == RCPT_SKIPPED)
			continue;
		if (strchr(r[i].address, '@') == NULL) {
			r[i].state = RCPT_NO_DOMAIN;
			set_detail(&r[i], "address has no domain");
			continue;
		}
		if (!owner_address_parse(&addr[i], r[i].address, &why)) {
			r[i].state = RCPT_NO_KEY;
			set_detail(&r[i], why.msg);
			continue;
		}
		parsed[i] = true;
		owner_name_append(&owner[i], &addr[i], OWNER_SMIMEA, OWNER_CASE_EXACT);
		q[nq] = (struct dns_question){buf_str(&owner[i]), RR_TYPE_SMIMEA};
		idx[nq++] = i;
	}
	dns_lookup_many(rt->res, q, nq, ans);

	/* round 2: lower-cased owners where the exact one proved nothing exists */
	fb = xcalloc(nq ? nq : 1, sizeof(*fb));
	{
		struct dns_question *q2 = xcalloc(nq ? nq : 1, sizeof(*q2));
		struct buf *owner2 = xcalloc(nq ? nq : 1, sizeof(*owner2));
		size_t *idx2 = xcalloc(nq ? nq : 1, sizeof(*idx2)), nq2 = 0;

		for (j = 0; j < nq; j++) {
			i = idx[j];
			if (!dns_answer_wants_fallback(&ans[j]) || !owner_lower_differs(&addr[i]))
				continue;
			owner_name_append(&owner2[j], &addr[i], OWNER_SMIMEA, OWNER_CASE_LOWER);
			q2[nq2] = (struct dns_question){buf_str(&owner2[j]), RR_TYPE_SMIMEA};
			idx2[nq2++] = j;
		}
		dns_lookup_many(rt->res, q2, nq2, fb);
		for (j = 0; j < nq2; j++) {
			struct dns_answer *exact = &ans[idx2[j]];

			r[idx[idx2[j]]].matched = "exact";
			if (dns_answer_prefer_fallback(exact, &fb[j])) {
				dns_answer_clear(exact);
				*exact = fb[j];
				memset(&fb[j], 0, sizeof(fb[j]));
				r[idx[idx2[j]]].matched = "lower-cased";
			}
		}
		for (j = 0; j < nq; j++) {
			dns_answer_clear(&fb[j]);
			buf_release(&owner2[j]);
		}
		free(q2);
		free(owner2);
		free(idx2);
	}
	for (j = 0; j < nq; j++) {
		i = idx[j];
		if (r[i].matched == NULL)
			r[i].matched = "exact";
		judge(rt, &r[i], &ans[j]);
		dns_answer_clear(&ans[j]);
	}
	for (i = 0; i < n; i++) {
		if (parsed[i])
			owner_address_clear(&addr[i]);
		buf_release(&owner[i]);
	}
	free(addr);
	free(q);
	free(ans);
	free(fb);
	free(owner);
	free(idx);
	free(parsed);
}
