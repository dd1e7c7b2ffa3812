/*
 * recipients.c - find each recipient's certificate (SMIMEA, RFC 8162) and
 * OpenPGP key (OPENPGPKEY, RFC 7929): the owner of the local part exactly as
 * given, then lower-cased (RFC 7929 section 3 leaves case to the
 * publisher), every recipient and format at once, through the validating
 * resolver and its cache.  Only SECURE answers yield keys; the state of
 * each lookup stays explicit for the policy table.
 */
#include <string.h>
#include <time.h>

#include "dane/smimea.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "mail/pgpkeycache.h"
#include "milter.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

static const uint16_t format_type[N_FORMATS] = {RR_TYPE_SMIMEA, RR_TYPE_OPENPGPKEY};
static const enum owner_kind format_owner[N_FORMATS] = {OWNER_SMIMEA, OWNER_OPENPGPKEY};

void
recipient_clear(struct recipient *r)
{
	size_t i;

	if (r->certs)
		sk_X509_pop_free(r->certs, X509_free);
	r->certs = NULL;
	for (i = 0; i < r->n_pgp; i++)
		pgpkey_ref_release(r->pgp[i]);
	free(r->pgp);
	r->pgp = NULL;
	r->n_pgp = 0;
	free(r->address);
	r->address = NULL;
}

static void
set_detail(struct recipient *r, int f, const char *text)
{
	struct buf esc = BUF_INIT;

	snprintf(r->detail[f], sizeof(r->detail[f]), "%s", escape_str(&esc, text));
	buf_release(&esc);
}

void
recipient_set_all(struct recipient *r, enum rcpt_state state, const char *detail)
{
	int f;

	for (f = 0; f < N_FORMATS; f++) {
		r->keys.state[f] = state;
		set_detail(r, f, detail);
	}
}

/*
 * OPENPGPKEY: every record whose key parses and passes pgpkey_check.  The
 * user ID must contain the address (RFC 7929 section 5.3); when the key was
 * found under the lower-cased local part, the lower-cased address is what
 * its user ID is expected to hold.
 */
static size_t
usable_pgpkeys(struct runtime *rt, struct recipient *r, const struct dns_answer *ans, time_t now)
{
	const char *uid_address = NULL;
	char *lowered = NULL;
	size_t i;
	struct why why;

	if (rt->cfg->openpgp_require_uid) {
		uid_address = r->address;
		if (r->matched[FORMAT_OPENPGP] &&
		    strcmp(r->matched[FORMAT_OPENPGP], "exact") != 0) {
			char *at;

			lowered = xstrdup(r->address);
			at = strrchr(lowered, '@');
			for (char *p = lowered; p < at; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
			uid_address = lowered;
		}
	}
	for (i = 0; i < ans->n_rrs; i++) {
		struct pgpkey_ref *ref =
		        pgpkey_cache_get(rt->pgpkeys, ans->rrs[i].rdata, ans->rrs[i].len, &why);
		enum pgpkey_usable usable;

		if (ref == NULL) {
			set_detail(r, FORMAT_OPENPGP, why.msg);
			continue;
		}
		usable = pgpkey_ref_check(ref, uid_address, now, &why);
		if (usable != PGPKEY_USABLE_OK) {
			set_detail(r, FORMAT_OPENPGP, why.msg);
			pgpkey_ref_release(ref);
			continue;
		}
		r->pgp = xreallocarray(r->pgp, r->n_pgp + 1, sizeof(*r->pgp));
		r->pgp[r->n_pgp++] = ref;
	}
	free(lowered);
	return r->n_pgp;
}

/* Map one final answer onto the recipient's state in format f (the policy's input). */
static void
judge(struct runtime *rt, struct recipient *r, int f, const struct dns_answer *ans)
{
	struct why why;
	time_t now = time(NULL);
	enum rcpt_state *st = &r->keys.state[f];

	if (ans->sec == DNS_SEC_BOGUS) {
		*st = RCPT_BOGUS;
		set_detail(r, f, ans->why ? ans->why : "validation failed");
	} else if (ans->outcome == DNS_OUTCOME_SERVFAIL || ans->outcome == DNS_OUTCOME_TIMEOUT ||
	           ans->outcome == DNS_OUTCOME_ERROR || ans->sec == DNS_SEC_INDETERMINATE) {
		*st = RCPT_DNS_FAIL;
		set_detail(r, f, ans->why ? ans->why : dns_outcome_name(ans->outcome));
	} else if (ans->sec == DNS_SEC_INSECURE) {
		*st = RCPT_NO_KEY;
		set_detail(r, f, "insecure (no DNSSEC)");
	} else if (ans->outcome != DNS_OUTCOME_DATA) {
		*st = RCPT_NO_KEY;
		set_detail(r, f, "no record (secure proof)");
	} else if (f == FORMAT_SMIME) {
		r->certs = sk_X509_new_null();
		if (smimea_usable_certs(ans, rt->pkix, rt->certs, now, r->certs, &why) > 0) {
			*st = RCPT_KEY;
		} else {
			*st = RCPT_NO_KEY;
			set_detail(r, f, why.msg);
		}
	} else {
		*st = usable_pgpkeys(rt, r, ans, now) > 0 ? RCPT_KEY : RCPT_NO_KEY;
	}
}

/* One DNS question of the batch: which recipient, which format, which owner. */
struct slot {
	size_t rcpt;
	int format;
	struct buf owner;
};

void
recipients_lookup(struct runtime *rt, struct recipient *r, size_t n)
{
	size_t cap = n * N_FORMATS + 1, nq = 0, nq2 = 0, i, j, *second;
	struct owner_address *addr = xcalloc(n + 1, sizeof(*addr));
	bool *parsed = xcalloc(n + 1, sizeof(*parsed));
	struct slot *slot = xcalloc(cap, sizeof(*slot)), *slot2 = xcalloc(cap, sizeof(*slot2));
	struct dns_question *q = xcalloc(cap, sizeof(*q));
	struct dns_answer *ans = xcalloc(cap, sizeof(*ans)), *fb = xcalloc(cap, sizeof(*fb));
	struct why why;
	int f;

	second = xcalloc(cap, sizeof(*second));
	/* round 1: the exact owner of every recipient in every enabled format */
	for (i = 0; i < n; i++) {
		r[i].matched[0] = r[i].matched[1] = NULL;
		if (r[i].keys.state[0] == RCPT_SKIPPED)
			continue;
		if (strchr(r[i].address, '@') == NULL) {
			recipient_set_all(&r[i], RCPT_NO_DOMAIN, "address has no domain");
			continue;
		}
		if (!owner_address_parse(&addr[i], r[i].address, &why)) {
			recipient_set_all(&r[i], RCPT_NO_KEY, why.msg);
			continue;
		}
		parsed[i] = true;
		for (f = 0; f < N_FORMATS; f++) {
			if (!cfg_list_has(&rt->cfg->formats, key_format_name(f))) {
				r[i].keys.state[f] = RCPT_NO_KEY;
				set_detail(&r[i], f, "format not enabled");
				continue;
			}
			slot[nq].rcpt = i;
			slot[nq].format = f;
			owner_name_append(&slot[nq].owner, &addr[i], format_owner[f],
			                  OWNER_CASE_EXACT);
			q[nq] = (struct dns_question){buf_str(&slot[nq].owner), format_type[f]};
			nq++;
		}
	}
	dns_lookup_many(rt->res, q, nq, ans);

	/* round 2: the lower-cased owner where the exact one proved nothing exists */
	for (j = 0; j < nq; j++) {
		i = slot[j].rcpt;
		r[i].matched[slot[j].format] = "exact";
		if (!dns_answer_wants_fallback(&ans[j]) || !owner_lower_differs(&addr[i]))
			continue;
		owner_name_append(&slot2[nq2].owner, &addr[i], format_owner[slot[j].format],
		                  OWNER_CASE_LOWER);
		q[nq2] = (struct dns_question){buf_str(&slot2[nq2].owner),
		                               format_type[slot[j].format]};
		second[nq2++] = j;
	}
	dns_lookup_many(rt->res, q, nq2, fb);
	for (j = 0; j < nq2; j++) {
		struct dns_answer *exact = &ans[second[j]];

		if (dns_answer_prefer_fallback(exact, &fb[j])) {
			dns_answer_clear(exact);
			*exact = fb[j];
			memset(&fb[j], 0, sizeof(fb[j]));
			r[slot[second[j]].rcpt].matched[slot[second[j]].format] = "lower-cased";
		}
		dns_answer_clear(&fb[j]);
		buf_release(&slot2[j].owner);
	}
	for (j = 0; j < nq; j++) {
		judge(rt, &r[slot[j].rcpt], slot[j].format, &ans[j]);
		dns_answer_clear(&ans[j]);
		buf_release(&slot[j].owner);
	}
	for (i = 0; i < n; i++)
		if (parsed[i])
			owner_address_clear(&addr[i]);
	free(addr);
	free(parsed);
	free(slot);
	free(slot2);
	free(q);
	free(ans);
	free(fb);
	free(second);
}
