/*
 * test_cache.c - the answer cache: TTL expiry, negative answers kept,
 * failures never kept, BOGUS capped, case-insensitive names, LRU eviction;
 * and the certificate cache (certcache): one parse per DER, eviction, errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dane/certcache.h"
#include "dns/cache.h"
#include "dns/rr.h"
#include "util/alloc.h"

static void
make(struct dns_answer *a, const char *name, enum dns_outcome o, enum dns_sec s, uint32_t ttl)
{
	memset(a, 0, sizeof(*a));
	a->qname = xstrdup(name);
	a->canonical = xstrdup(name);
	a->qtype = RR_TYPE_SMIMEA;
	a->outcome = o;
	a->sec = s;
	a->ttl = ttl;
	if (o == DNS_OUTCOME_DATA) {
		a->n_rrs = 1;
		a->rrs = xcalloc(1, sizeof(*a->rrs));
		a->rrs[0].rdata = xmemdup("\3\0\0\1", 4);
		a->rrs[0].len = 4;
	}
}

static const struct {
	const char *what;
	enum dns_outcome outcome;
	enum dns_sec sec;
	uint32_t ttl;
	time_t later; /* seconds after storing */
	int want_hit;
	uint32_t want_ttl;
} rows[] = {
        {"secure data, fresh", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 300, 10, 1, 290},
        {"secure data, expired", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 300, 300, 0, 0},
        {"secure NXDOMAIN kept", DNS_OUTCOME_NXDOMAIN, DNS_SEC_SECURE, 60, 1, 1, 59},
        {"insecure NODATA kept", DNS_OUTCOME_NODATA, DNS_SEC_INSECURE, 60, 1, 1, 59},
        {"bogus capped at 60 s", DNS_OUTCOME_DATA, DNS_SEC_BOGUS, 3000, 61, 0, 0},
        {"bogus within 60 s", DNS_OUTCOME_DATA, DNS_SEC_BOGUS, 3000, 10, 1, 50},
        {"SERVFAIL never kept", DNS_OUTCOME_SERVFAIL, DNS_SEC_INDETERMINATE, 300, 0, 0, 0},
        {"TIMEOUT never kept", DNS_OUTCOME_TIMEOUT, DNS_SEC_INDETERMINATE, 300, 0, 0, 0},
        {"TTL over the maximum capped", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 999999, 3601, 0, 0},
        {"TTL 0 not kept", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 0, 0, 0, 0},
};

static void
test_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dns_cache *c = dns_cache_new(10, 3600, 60);
		struct dns_answer a, got;
		int hit;

		make(&a, "x.secure.test.", rows[i].outcome, rows[i].sec, rows[i].ttl);
		dns_cache_put(c, &a, 1000);
		hit = dns_cache_get(c, "x.secure.test.", RR_TYPE_SMIMEA, 1000 + rows[i].later,
		                    &got);
		if (hit != rows[i].want_hit)
			fail_msg("%s: got hit=%d, want %d", rows[i].what, hit, rows[i].want_hit);
		if (hit) {
			if (got.ttl != rows[i].want_ttl)
				fail_msg("%s: got ttl %u, want %u", rows[i].what, got.ttl,
				         rows[i].want_ttl);
			assert_int_equal(got.outcome, rows[i].outcome);
			assert_int_equal(got.sec, rows[i].sec);
			assert_int_equal(got.n_rrs, a.n_rrs);
			dns_answer_clear(&got);
		}
		dns_answer_clear(&a);
		dns_cache_free(c);
	}
}

static void
test_case_and_type(void **state)
{
	struct dns_cache *c = dns_cache_new(10, 3600, 60);
	struct dns_answer a, got;

	(void)state;
	make(&a, "X.Secure.Test.", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 300);
	dns_cache_put(c, &a, 0);
	assert_true(dns_cache_get(c, "x.secure.test", RR_TYPE_SMIMEA, 1, &got));
	dns_answer_clear(&got);
	assert_true(dns_cache_get(c, "x.SECURE.test.", RR_TYPE_SMIMEA, 1, &got));
	dns_answer_clear(&got);
	assert_false(dns_cache_get(c, "x.secure.test.", RR_TYPE_TLSA, 1, &got));
	assert_false(dns_cache_get(c, "y.secure.test.", RR_TYPE_SMIMEA, 1, &got));
	dns_answer_clear(&a);
	dns_cache_free(c);
}

static void
test_lru_eviction(void **state)
{
	struct dns_cache *c = dns_cache_new(3, 3600, 60);
	struct dns_answer a, got;
	char name[32];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d.test.", i);
		make(&a, name, DNS_OUTCOME_DATA, DNS_SEC_SECURE, 300);
		dns_cache_put(c, &a, 0);
		dns_answer_clear(&a);
	}
	/* touch n0 so n1 is the least recently used */
	assert_true(dns_cache_get(c, "n0.test.", RR_TYPE_SMIMEA, 1, &got));
	dns_answer_clear(&got);
	make(&a, "n3.test.", DNS_OUTCOME_DATA, DNS_SEC_SECURE, 300);
	dns_cache_put(c, &a, 1);
	dns_answer_clear(&a);
	assert_int_equal(dns_cache_count(c), 3);
	assert_false(dns_cache_get(c, "n1.test.", RR_TYPE_SMIMEA, 2, &got));
	assert_true(dns_cache_get(c, "n0.test.", RR_TYPE_SMIMEA, 2, &got));
	dns_answer_clear(&got);
	assert_true(dns_cache_get(c, "n3.test.", RR_TYPE_SMIMEA, 2, &got));
	dns_answer_clear(&got);
	dns_cache_free(c);
}

/* A throw-away self-signed EC certificate as DER. */
static uint8_t *
make_der(const char *cn, size_t *len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *der = NULL;
	int n;

	assert_non_null(key);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_free(x);
	EVP_PKEY_free(key);
	return der;
}

static void
test_certcache(void **state)
{
	struct cert_cache *c = cert_cache_new(2);
	size_t la, lb, lc;
	uint8_t *a = make_der("a", &la), *b = make_der("b", &lb), *d = make_der("c", &lc);
	X509 *x1, *x2, *x3;
	struct why why;

	(void)state;
	x1 = cert_cache_get(c, a, la, &why);
	x2 = cert_cache_get(c, a, la, &why);
	assert_non_null(x1);
	if (x1 != x2)
		fail_msg("same DER twice: got two parses, want one cached certificate");
	X509_free(x2);
	/* b and c push a out (max 2): a third get of a parses again */
	X509_free(cert_cache_get(c, b, lb, &why));
	X509_free(cert_cache_get(c, d, lc, &why));
	x3 = cert_cache_get(c, a, la, &why);
	assert_non_null(x3);
	assert_ptr_not_equal(x3, x1);
	assert_int_equal(X509_cmp(x3, x1), 0);
	X509_free(x1); /* still valid after eviction: reference counted */
	X509_free(x3);
	why.msg[0] = '\0';
	assert_null(cert_cache_get(c, (const uint8_t *)"garbage", 7, &why));
	assert_true(why.msg[0] != '\0');
	x1 = cert_cache_get(NULL, b, lb, &why); /* no cache: just parses */
	assert_non_null(x1);
	X509_free(x1);
	cert_cache_free(c);
	OPENSSL_free(a);
	OPENSSL_free(b);
	OPENSSL_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rows),
	        cmocka_unit_test(test_case_and_type),
	        cmocka_unit_test(test_lru_eviction),
	        cmocka_unit_test(test_certcache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
