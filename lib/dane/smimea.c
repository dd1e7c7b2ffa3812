/*
 * smimea.c - pick the certificates an SMIMEA RRset offers for encryption
 * (RFC 8162 section 2 and 6; RFC 6698 section 2.1.1 usages).  RDATA and
 * certificates come from DNS: each is parsed defensively, a bad record only
 * disqualifies itself.
 */
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dane/smimea.h"
#include "dns/rr.h"

/* Usage 1 (PKIX-EE): the certificate must chain to a trusted CA for S/MIME encryption. */
static bool
pkix_ok(X509 *cert, X509_STORE *pkix, time_t now, struct why *why)
{
	X509_STORE_CTX *ctx;
	bool ok;

	if (pkix == NULL)
		return why_set(why, "usage 1 (PKIX-EE) needs a CA store");
	if ((ctx = X509_STORE_CTX_new()) == NULL || !X509_STORE_CTX_init(ctx, pkix, cert, NULL)) {
		X509_STORE_CTX_free(ctx);
		return why_set(why, "cannot set up PKIX validation");
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_ENCRYPT);
	X509_STORE_CTX_set_time(ctx, 0, now);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		why_set(why, "usage 1 (PKIX-EE) certificate does not validate: %s",
		        X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	return ok;
}

/* Decide one record; on success *out is the certificate. */
static bool
record_usable(const struct rr_assoc *a, X509_STORE *pkix, struct cert_cache *cache, time_t now,
              X509 **out, struct why *why)
{
	X509 *cert;
	struct why inner;

	if (a->selector != RR_SELECTOR_CERT || a->mtype != RR_MTYPE_FULL)
		return why_set(why,
		               "record %u %u %u holds no certificate (needs selector 0, "
		               "matching type 0)",
		               a->usage, a->selector, a->mtype);
	if (a->usage != RR_USAGE_DANE_EE && a->usage != RR_USAGE_PKIX_EE)
		return why_set(why,
		               "usage %u (%s) names a trust anchor, not the recipient's "
		               "certificate",
		               a->usage, rr_usage_name(a->usage));
	if ((cert = cert_cache_get(cache, a->data, a->len, &inner)) == NULL)
		return why_set(why, "certificate unreadable: %s", inner.msg);
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0) {
		X509_free(cert);
		return why_set(why, "certificate expired");
	}
	if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
		X509_free(cert);
		return why_set(why, "certificate not yet valid");
	}
	if (cert_can_encrypt(cert, &inner) != CERT_CRYPT_OK) {
		X509_free(cert);
		return why_set(why, "certificate cannot encrypt: %s", inner.msg);
	}
	if (a->usage == RR_USAGE_PKIX_EE && !pkix_ok(cert, pkix, now, why)) {
		X509_free(cert);
		return false;
	}
	*out = cert;
	return true;
}

size_t
smimea_usable_certs(const struct dns_answer *ans, X509_STORE *pkix, struct cert_cache *cache,
                    time_t now, STACK_OF(X509) * certs, struct why *why)
{
	size_t i, added = 0;

	if (!dns_answer_secure_data(ans)) {
		why_set(why, "no secure SMIMEA records");
		return 0;
	}
	for (i = 0; i < ans->n_rrs; i++) {
		struct rr_assoc a = {0};
		X509 *cert = NULL;
		struct why inner;

		if (!rr_assoc_from_wire(&a, ans->rrs[i].rdata, ans->rrs[i].len, &inner)) {
			why_set(why, "malformed SMIMEA record: %s", inner.msg);
			continue;
		}
		if (record_usable(&a, pkix, cache, now, &cert, why)) {
			if (sk_X509_push(certs, cert) > 0)
				added++;
			else
				X509_free(cert);
		}
		rr_assoc_clear(&a);
	}
	return added;
}
