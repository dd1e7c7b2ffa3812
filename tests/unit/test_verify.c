/*
 * test_verify.c - unit tests for lib/dane/verify.c.
 *
 *   - the verdict table (dane_decide): one case per row and the order
 *     between rows, each with the RFC section its rule must cite;
 *   - real DANE handshakes: certificates made here (a CA, leaves it issued
 *     with the right name, a wrong name, expired; self-signed and expired
 *     ones), a server and a client SSL from dane_ssl_new() joined by an
 *     in-memory BIO pair, then dane_tls_observe() + dane_decide(): DANE-EE
 *     passes with an expired certificate and a wrong name (RFC 7672 3.1.1),
 *     DANE-TA checks names against the reference identifiers (3.2.2-3.2.3)
 *     and expiry, PKIX usages are unusable (3.1.3), digest agility picks the
 *     strongest matching type (RFC 7671 9), the matched record and depth;
 *   - A/AAAA merging, TLSA base domains and when to try the next one
 *     (2.2.3), usable records, rollover readiness, names and classes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dane/verify.h"
#include "util/alloc.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------
 * Building DNS answers.
 * ------------------------------------------------------------------------ */

/* An answer holding the given TLSA RDATA blobs. */
static void
answer_make(struct dns_answer *ans, const char *qname, uint16_t type, enum dns_outcome o,
            enum dns_sec s, const struct buf *rdata, size_t n)
{
	size_t i;

	memset(ans, 0, sizeof(*ans));
	ans->qname = xstrdup(qname);
	ans->canonical = xstrdup(qname);
	ans->qtype = type;
	ans->outcome = o;
	ans->sec = s;
	ans->rcode = o == DNS_OUTCOME_NXDOMAIN ? 3 : 0;
	if (n) {
		ans->rrs = xcalloc(n, sizeof(*ans->rrs));
		for (i = 0; i < n; i++) {
			ans->rrs[i].rdata = xmemdup(rdata[i].data, rdata[i].len);
			ans->rrs[i].len = rdata[i].len;
		}
		ans->n_rrs = n;
	}
}

/* Wire RDATA "u s m" + 32 octets of `fill`. */
static void
rdata_make(struct buf *b, uint8_t u, uint8_t s, uint8_t m, uint8_t fill)
{
	size_t i;

	buf_init(b);
	buf_putc(b, u);
	buf_putc(b, s);
	buf_putc(b, m);
	for (i = 0; i < (m == 2 ? 64u : 32u); i++)
		buf_putc(b, fill);
}

/* ------------------------------------------------------------------------
 * The verdict table.
 * ------------------------------------------------------------------------ */

enum tlsa_kind { T_NONE, T_USABLE, T_UNUSABLE, T_NXDOMAIN, T_NODATA, T_SERVFAIL, T_TIMEOUT };

struct decide_case {
	const char *name;
	enum dns_sec addr_sec;
	enum dns_outcome addr_outcome;
	enum tlsa_kind tlsa;
	enum dns_sec tlsa_sec;
	bool probed;
	enum smtp_result probe;
	enum smtp_stage stage;
	bool tls;          /* a TLS session */
	size_t n_records;  /* records OpenSSL accepted */
	long verify_error; /* X509_V_* */
	int match_usage;   /* matched record's usage, -1: no match */
	enum dane_verdict want;
	const char *want_rule; /* substring of the rule */
};

#define SEC    DNS_SEC_SECURE
#define INS    DNS_SEC_INSECURE
#define BOG    DNS_SEC_BOGUS
#define IND    DNS_SEC_INDETERMINATE
#define DATA   DNS_OUTCOME_DATA
#define OK_TLS true, SMTP_RESULT_OK, SMTP_STAGE_TLS, true
#define V_OK   X509_V_OK

static const struct decide_case decide_cases[] = {
        /* address records */
        {"address bogus", BOG, DATA, T_NONE, SEC, false, 0, 0, false, 0, V_OK, -1,
         DANE_VERDICT_DNSSEC_BOGUS, "RFC 7672 2.1.1"},
        {"address SERVFAIL", IND, DNS_OUTCOME_SERVFAIL, T_NONE, SEC, false, 0, 0, false, 0, V_OK,
         -1, DANE_VERDICT_LOOKUP_FAILED, "RFC 7672 2.1.1"},
        {"address timeout", IND, DNS_OUTCOME_TIMEOUT, T_NONE, SEC, false, 0, 0, false, 0, V_OK, -1,
         DANE_VERDICT_LOOKUP_FAILED, "never treated as absence"},
        {"no such host", SEC, DNS_OUTCOME_NXDOMAIN, T_NONE, SEC, false, 0, 0, false, 0, V_OK, -1,
         DANE_VERDICT_UNREACHABLE, "RFC 5321 5.1"},
        {"address insecure", INS, DATA, T_NONE, SEC, true, SMTP_RESULT_OK, SMTP_STAGE_TLS, true, 0,
         V_OK, -1, DANE_VERDICT_DNSSEC_INSECURE, "RFC 7672 2.2.3"},
        {"address bogus beats everything else", BOG, DATA, T_USABLE, SEC, OK_TLS, 1, V_OK, 3,
         DANE_VERDICT_DNSSEC_BOGUS, "2.1.1"},
        /* TLSA records */
        {"TLSA not looked up", SEC, DATA, T_NONE, SEC, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_LOOKUP_FAILED, "RFC 7672 2.1.1"},
        {"TLSA SERVFAIL", SEC, DATA, T_SERVFAIL, IND, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_LOOKUP_FAILED, "must not be downgraded"},
        {"TLSA timeout", SEC, DATA, T_TIMEOUT, IND, OK_TLS, 0, V_OK, -1, DANE_VERDICT_LOOKUP_FAILED,
         "RFC 7672 2.1.1"},
        {"TLSA bogus", SEC, DATA, T_USABLE, BOG, OK_TLS, 1, V_OK, 3, DANE_VERDICT_DNSSEC_BOGUS,
         "RFC 7672 2.1.1"},
        {"TLSA bogus NXDOMAIN", SEC, DATA, T_NXDOMAIN, BOG, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_DNSSEC_BOGUS, "TLSA RRset is bogus"},
        {"TLSA bogus, server unreachable", SEC, DATA, T_USABLE, BOG, true, SMTP_RESULT_REFUSED,
         SMTP_STAGE_CONNECT, false, 0, V_OK, -1, DANE_VERDICT_DNSSEC_BOGUS, "2.1.1"},
        {"TLSA insecure (ignored, even if it would match)", SEC, DATA, T_USABLE, INS, OK_TLS, 1,
         V_OK, 3, DANE_VERDICT_DNSSEC_INSECURE, "RFC 7672 2.2:"},
        {"TLSA insecure, no STARTTLS", SEC, DATA, T_USABLE, INS, true, SMTP_RESULT_NO_STARTTLS,
         SMTP_STAGE_EHLO, false, 0, V_OK, -1, DANE_VERDICT_DNSSEC_INSECURE, "2.2"},
        {"TLSA secure NXDOMAIN", SEC, DATA, T_NXDOMAIN, SEC, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_TLSA_ABSENT, "RFC 7672 2.2:"},
        {"TLSA secure NODATA, no STARTTLS", SEC, DATA, T_NODATA, SEC, true, SMTP_RESULT_NO_STARTTLS,
         SMTP_STAGE_EHLO, false, 0, V_OK, -1, DANE_VERDICT_TLSA_ABSENT, "secure denial"},
        /* the connection */
        {"not probed", SEC, DATA, T_USABLE, SEC, false, 0, 0, false, 0, V_OK, -1,
         DANE_VERDICT_UNREACHABLE, "RFC 5321 5.1"},
        {"connection refused", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_REFUSED,
         SMTP_STAGE_CONNECT, false, 0, V_OK, -1, DANE_VERDICT_UNREACHABLE, "RFC 5321 5.1"},
        {"no route", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_UNREACHABLE, SMTP_STAGE_CONNECT,
         false, 0, V_OK, -1, DANE_VERDICT_UNREACHABLE, "next one"},
        {"connect timeout", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_TIMEOUT, SMTP_STAGE_CONNECT,
         false, 0, V_OK, -1, DANE_VERDICT_UNREACHABLE, "RFC 5321 5.1"},
        {"421 greeting", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_GREETING_REJECTED,
         SMTP_STAGE_GREETING, false, 0, V_OK, -1, DANE_VERDICT_NOT_TESTABLE, "RFC 5321 4.2"},
        {"greeting timeout", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_TIMEOUT,
         SMTP_STAGE_GREETING, false, 0, V_OK, -1, DANE_VERDICT_NOT_TESTABLE, "could not be tested"},
        {"EHLO timeout", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_TIMEOUT, SMTP_STAGE_EHLO,
         false, 0, V_OK, -1, DANE_VERDICT_NOT_TESTABLE, "4.5.3.2"},
        {"TLS handshake timeout", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_TIMEOUT,
         SMTP_STAGE_TLS, false, 0, V_OK, -1, DANE_VERDICT_NOT_TESTABLE, "4.5.3.2"},
        {"garbage", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_PROTOCOL_ERROR, SMTP_STAGE_GREETING,
         false, 0, V_OK, -1, DANE_VERDICT_NOT_TESTABLE, "RFC 5321"},
        {"no STARTTLS", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_NO_STARTTLS, SMTP_STAGE_EHLO,
         false, 0, V_OK, -1, DANE_VERDICT_STARTTLS_MISSING, "RFC 7672 2.2:"},
        {"no STARTTLS, only unusable TLSA (TLS still mandatory)", SEC, DATA, T_UNUSABLE, SEC, true,
         SMTP_RESULT_NO_STARTTLS, SMTP_STAGE_EHLO, false, 0, V_OK, -1,
         DANE_VERDICT_STARTTLS_MISSING, "mandatory"},
        {"STARTTLS refused", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_STARTTLS_REJECTED,
         SMTP_STAGE_STARTTLS, false, 0, V_OK, -1, DANE_VERDICT_TLS_FAILED, "no cleartext fallback"},
        {"handshake failed", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_TLS_FAILED, SMTP_STAGE_TLS,
         false, 0, V_OK, -1, DANE_VERDICT_TLS_FAILED, "RFC 7672 2.2:"},
        {"probe ok but no session", SEC, DATA, T_USABLE, SEC, true, SMTP_RESULT_OK, SMTP_STAGE_TLS,
         false, 0, V_OK, -1, DANE_VERDICT_TLS_FAILED, "2.2"},
        /* the certificate chain */
        {"only unusable records", SEC, DATA, T_UNUSABLE, SEC, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_TLSA_UNUSABLE, "RFC 7672 3.1.3"},
        {"usable records OpenSSL refused", SEC, DATA, T_USABLE, SEC, OK_TLS, 0, V_OK, -1,
         DANE_VERDICT_TLSA_UNUSABLE, "3.1.3"},
        {"DANE-EE match", SEC, DATA, T_USABLE, SEC, OK_TLS, 1, V_OK, 3, DANE_VERDICT_PASS,
         "RFC 7672 3.1.1"},
        {"DANE-TA match", SEC, DATA, T_USABLE, SEC, OK_TLS, 1, V_OK, 2, DANE_VERDICT_PASS,
         "RFC 7672 3.1.2, 3.2.2"},
        {"DANE-TA, wrong name", SEC, DATA, T_USABLE, SEC, OK_TLS, 1, X509_V_ERR_HOSTNAME_MISMATCH,
         -1, DANE_VERDICT_NAME_MISMATCH, "RFC 7672 3.2.2, 3.2.3"},
        {"DANE-TA, expired", SEC, DATA, T_USABLE, SEC, OK_TLS, 1, X509_V_ERR_CERT_HAS_EXPIRED, -1,
         DANE_VERDICT_CERT_EXPIRED, "RFC 7672 3.1.2"},
        {"DANE-TA, not yet valid", SEC, DATA, T_USABLE, SEC, OK_TLS, 1,
         X509_V_ERR_CERT_NOT_YET_VALID, -1, DANE_VERDICT_CERT_EXPIRED, "RFC 5280 6.1.3"},
        {"no record matches", SEC, DATA, T_USABLE, SEC, OK_TLS, 1, X509_V_ERR_DANE_NO_MATCH, -1,
         DANE_VERDICT_TLSA_MISMATCH, "RFC 7672 3"},
        {"DANE-TA not in the chain", SEC, DATA, T_USABLE, SEC, OK_TLS, 1,
         X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, -1, DANE_VERDICT_TLSA_MISMATCH,
         "RFC 6698 2.1"},
        {"verify ok without a DANE match (PKIX only) is no pass", SEC, DATA, T_USABLE, SEC, OK_TLS,
         1, V_OK, -1, DANE_VERDICT_TLSA_MISMATCH, "RFC 7672 3"},
        /* a secure CNAME into an unsigned zone counts as signed (dane_facts_from_host) */
};

static void
test_decide_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		const struct decide_case *c = &decide_cases[i];
		struct dns_answer tlsa;
		struct buf rd[2];
		struct dane_tls tls;
		struct dane_facts f;
		struct dane_decision got;

		memset(&tlsa, 0, sizeof(tlsa));
		rdata_make(&rd[0], c->tlsa == T_UNUSABLE ? 1 : 3, 1, 1, 0xaa);
		rdata_make(&rd[1], c->tlsa == T_UNUSABLE ? 0 : 2, 0, 1, 0xbb);
		switch (c->tlsa) {
		case T_NONE:
			break;
		case T_USABLE:
		case T_UNUSABLE:
			answer_make(&tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DATA, c->tlsa_sec, rd,
			            2);
			break;
		case T_NXDOMAIN:
			answer_make(&tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DNS_OUTCOME_NXDOMAIN,
			            c->tlsa_sec, NULL, 0);
			break;
		case T_NODATA:
			answer_make(&tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DNS_OUTCOME_NODATA,
			            c->tlsa_sec, NULL, 0);
			break;
		case T_SERVFAIL:
			answer_make(&tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DNS_OUTCOME_SERVFAIL,
			            c->tlsa_sec, NULL, 0);
			break;
		case T_TIMEOUT:
			answer_make(&tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DNS_OUTCOME_TIMEOUT,
			            c->tlsa_sec, NULL, 0);
			break;
		}
		memset(&tls, 0, sizeof(tls));
		tls.established = c->tls;
		tls.n_records = c->n_records;
		tls.verify_error = c->verify_error;
		tls.match_depth = c->match_usage >= 0 ? (c->match_usage == 3 ? 0 : 1) : -1;
		tls.match.usage = (uint8_t)(c->match_usage >= 0 ? c->match_usage : 0);
		memset(&f, 0, sizeof(f));
		f.addr_sec = c->addr_sec;
		f.addr_outcome = c->addr_outcome;
		f.tlsa = c->tlsa == T_NONE ? NULL : &tlsa;
		f.probed = c->probed;
		f.probe = c->probe;
		f.probe_stage = c->stage;
		f.tls = c->tls ? &tls : NULL;
		got = dane_decide(&f);
		if (got.verdict != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name,
			         dane_verdict_name(got.verdict), got.rule,
			         dane_verdict_name(c->want));
		if (strncmp(got.rule, "RFC ", 4) != 0 || strstr(got.rule, c->want_rule) == NULL)
			fail_msg("%s: got rule \"%s\", want it to cite \"%s\"", c->name, got.rule,
			         c->want_rule);
		dns_answer_clear(&tlsa);
		buf_release(&rd[0]);
		buf_release(&rd[1]);
	}
}

/* A resolved host whose target is insecure but whose CNAME is signed: DANE applies. */
static void
test_facts_secure_alias(void **state)
{
	struct dane_host h;
	struct dane_facts f;
	struct buf rd;

	(void)state;
	memset(&h, 0, sizeof(h));
	rdata_make(&rd, 3, 1, 1, 0xcc);
	h.addr_sec = DNS_SEC_INSECURE;
	h.addr_outcome = DNS_OUTCOME_DATA;
	h.secure_alias = true;
	h.tlsa_looked_up = true;
	answer_make(&h.tlsa, "_25._tcp.alias.test.", RR_TYPE_TLSA, DATA, SEC, &rd, 1);
	dane_facts_from_host(&f, &h);
	assert_int_equal(f.addr_sec, DNS_SEC_SECURE);
	assert_ptr_equal(f.tlsa, &h.tlsa);
	f.probed = true;
	f.probe = SMTP_RESULT_NO_STARTTLS;
	assert_int_equal(dane_decide(&f).verdict, DANE_VERDICT_STARTTLS_MISSING);
	h.secure_alias = false;
	dane_facts_from_host(&f, &h);
	assert_int_equal(dane_decide(&f).verdict, DANE_VERDICT_DNSSEC_INSECURE);
	dns_answer_clear(&h.tlsa);
	buf_release(&rd);
}

/* ------------------------------------------------------------------------
 * Real handshakes with OpenSSL's DANE.
 * ------------------------------------------------------------------------ */

enum which {
	CA,
	LEAF,
	LEAF_BADNAME,
	LEAF_EXPIRED,
	LEAF_NEXTHOP,
	LEAF_ALIAS,
	EE_EXPIRED,
	OTHER_LEAF,
	OTHER_CA,
	N_CERTS
};

static EVP_PKEY *ca_key, *leaf_key, *other_key, *other_ca_key;
static X509 *certs[N_CERTS];
static SSL_CTX *client_ctx, *server_ctx;

static void
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, valid from..to days from now, issued by issuer (NULL: self). */
static X509 *
cert_make(EVP_PKEY *key, const char *cn, const char *san, bool ca, long from, long to, X509 *issuer,
          EVP_PKEY *issuer_key)
{
	static long serial = 1;
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to * 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	if (ca) {
		ext_add(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		ext_add(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		ext_add(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:FALSE");
		ext_add(x, issuer ? issuer : x, NID_ext_key_usage, "serverAuth");
	}
	if (san)
		ext_add(x, issuer ? issuer : x, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static int
group_setup(void **state)
{
	struct why why;

	(void)state;
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	certs[CA] = cert_make(ca_key, "Test CA", NULL, true, -1, 365, NULL, NULL);
	certs[OTHER_CA] = cert_make(other_ca_key, "Other CA", NULL, true, -1, 365, NULL, NULL);
	certs[LEAF] =
	        cert_make(leaf_key, "mx.test", "DNS:mx.test", false, -1, 90, certs[CA], ca_key);
	certs[LEAF_BADNAME] = cert_make(leaf_key, "other.test", "DNS:other.test", false, -1, 90,
	                                certs[CA], ca_key);
	certs[LEAF_EXPIRED] =
	        cert_make(leaf_key, "mx.test", "DNS:mx.test", false, -400, -30, certs[CA], ca_key);
	certs[LEAF_NEXTHOP] = cert_make(leaf_key, "example.test", "DNS:example.test", false, -1, 90,
	                                certs[CA], ca_key);
	certs[LEAF_ALIAS] = cert_make(leaf_key, "alias.test", "DNS:alias.test", false, -1, 90,
	                              certs[CA], ca_key);
	certs[EE_EXPIRED] = cert_make(leaf_key, "unrelated.example", "DNS:unrelated.example", false,
	                              -400, -30, NULL, NULL);
	certs[OTHER_LEAF] = cert_make(other_key, "mx.test", "DNS:mx.test", false, -1, 90,
	                              certs[OTHER_CA], other_ca_key);
	client_ctx = dane_ctx_new(false, &why);
	server_ctx = SSL_CTX_new(TLS_server_method());
	return client_ctx && server_ctx ? 0 : -1;
}

static int
group_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < N_CERTS; i++)
		X509_free(certs[i]);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(other_ca_key);
	SSL_CTX_free(client_ctx);
	SSL_CTX_free(server_ctx);
	return 0;
}

/*
 * A test case.  recs lists the TLSA records as "U S M CERT" separated by
 * commas, CERT one of the names in cert_names[]; a trailing '!' corrupts the
 * association data (flips its last octet).
 */
struct tls_case {
	const char *name;
	enum which leaf;
	bool send_ca;
	const char *recs;
	const char *host;      /* the MX host name */
	const char *canonical; /* CNAME-expanded name (the TLSA base), or NULL */
	const char *nexthop;
	enum dane_verdict want;
	int want_depth; /* -1: no match reported */
	int want_usage; /* matched record's usage and matching type, when want_depth >= 0 */
	int want_mtype;
	size_t want_records;   /* accepted by OpenSSL */
	const char *want_peer; /* SSL_get0_peername, or NULL for none */
	enum dane_rollover want_rollover;
};

static const char *const cert_names[N_CERTS] = {
        "CA",         "LEAF",       "LEAF_BADNAME", "LEAF_EXPIRED", "LEAF_NEXTHOP",
        "LEAF_ALIAS", "EE_EXPIRED", "OTHER_LEAF",   "OTHER_CA",
};

#define PASS     DANE_VERDICT_PASS
#define MISMATCH DANE_VERDICT_TLSA_MISMATCH
#define RENEWAL  DANE_ROLLOVER_RENEWAL
#define NEXT_KEY DANE_ROLLOVER_NEXT_KEY

static const struct tls_case tls_cases[] = {
        {"DANE-EE 3 1 1", LEAF, true, "3 1 1 LEAF", "mx.test", NULL, NULL, PASS, 0, 3, 1, 1, NULL,
         RENEWAL},
        {"DANE-EE 3 0 1", LEAF, true, "3 0 1 LEAF", "mx.test", NULL, NULL, PASS, 0, 3, 1, 1, NULL,
         DANE_ROLLOVER_FRAGILE},
        {"DANE-EE 3 0 0 (full certificate)", LEAF, false, "3 0 0 LEAF", "mx.test", NULL, NULL, PASS,
         0, 3, 0, 1, NULL, DANE_ROLLOVER_FRAGILE},
        {"DANE-EE 3 1 2 (SHA2-512)", LEAF, true, "3 1 2 LEAF", "mx.test", NULL, NULL, PASS, 0, 3, 2,
         1, NULL, RENEWAL},
        {"DANE-EE: expired, self-signed, another name: still pass (RFC 7672 3.1.1)", EE_EXPIRED,
         false, "3 1 1 EE_EXPIRED", "mx.test", NULL, NULL, PASS, 0, 3, 1, 1, NULL, RENEWAL},
        {"DANE-EE for another key", LEAF, true, "3 1 1 OTHER_LEAF", "mx.test", NULL, NULL, MISMATCH,
         -1, 0, 0, 1, NULL, RENEWAL},
        {"DANE-EE current + next key", LEAF, true, "3 1 1 OTHER_LEAF, 3 1 1 LEAF", "mx.test", NULL,
         NULL, PASS, 0, 3, 1, 2, NULL, NEXT_KEY},
        {"digest agility: a wrong SHA2-512 record hides a right SHA2-256 one (RFC 7671 9)", LEAF,
         true, "3 1 2 LEAF!, 3 1 1 LEAF", "mx.test", NULL, NULL, MISMATCH, -1, 0, 0, 2, NULL,
         NEXT_KEY},
        {"digest agility: a right SHA2-512 record with a wrong SHA2-256 one", LEAF, true,
         "3 1 1 LEAF!, 3 1 2 LEAF", "mx.test", NULL, NULL, PASS, 0, 3, 2, 2, NULL, NEXT_KEY},
        {"DANE-TA 2 0 1", LEAF, true, "2 0 1 CA", "mx.test", NULL, NULL, PASS, 1, 2, 1, 1,
         "mx.test", RENEWAL},
        {"DANE-TA 2 1 1", LEAF, true, "2 1 1 CA", "mx.test", NULL, NULL, PASS, 1, 2, 1, 1,
         "mx.test", RENEWAL},
        {"DANE-TA, the server does not send the trust anchor", LEAF, false, "2 0 1 CA", "mx.test",
         NULL, NULL, MISMATCH, -1, 0, 0, 1, NULL, RENEWAL},
        {"DANE-TA, certificate for another name", LEAF_BADNAME, true, "2 0 1 CA", "mx.test", NULL,
         NULL, DANE_VERDICT_NAME_MISMATCH, -1, 0, 0, 1, NULL, RENEWAL},
        /* OpenSSL checks names before dates: the name matched, then the dates failed */
        {"DANE-TA, expired certificate", LEAF_EXPIRED, true, "2 0 1 CA", "mx.test", NULL, NULL,
         DANE_VERDICT_CERT_EXPIRED, -1, 0, 0, 1, "mx.test", RENEWAL},
        {"DANE-TA, another CA", LEAF, true, "2 0 1 OTHER_CA", "mx.test", NULL, NULL, MISMATCH, -1,
         0, 0, 1, NULL, RENEWAL},
        {"DANE-TA, certificate names the next-hop domain", LEAF_NEXTHOP, true, "2 0 1 CA",
         "mx.test", NULL, "example.test", PASS, 1, 2, 1, 1, "example.test", RENEWAL},
        {"DANE-TA, next-hop name without next-hop domain", LEAF_NEXTHOP, true, "2 0 1 CA",
         "mx.test", NULL, NULL, DANE_VERDICT_NAME_MISMATCH, -1, 0, 0, 1, NULL, RENEWAL},
        {"DANE-TA, TLSA at the CNAME target, certificate names the MX host", LEAF_ALIAS, true,
         "2 0 1 CA", "alias.test", "mx.test", NULL, PASS, 1, 2, 1, 1, "alias.test", RENEWAL},
        {"DANE-TA, TLSA at the CNAME target, certificate names the target", LEAF, true, "2 0 1 CA",
         "alias.test", "mx.test", NULL, PASS, 1, 2, 1, 1, "mx.test", RENEWAL},
        {"PKIX-EE only: unusable even though it matches (RFC 7672 3.1.3)", LEAF, true, "1 1 1 LEAF",
         "mx.test", NULL, NULL, DANE_VERDICT_TLSA_UNUSABLE, -1, 0, 0, 0, NULL, DANE_ROLLOVER_NONE},
        {"PKIX-TA ignored, DANE-EE mismatch decides", LEAF, true, "0 0 1 CA, 3 1 1 OTHER_LEAF",
         "mx.test", NULL, NULL, MISMATCH, -1, 0, 0, 1, NULL, RENEWAL},
};

/* Parse a recs spec into wire RDATA; returns the number of records. */
static size_t
recs_rdata(struct buf out[3], const char *spec)
{
	char cert[32];
	unsigned u, s, m;
	size_t n = 0;
	int used, i;
	struct why why;

	while (*spec && n < 3) {
		assert_int_equal(sscanf(spec, " %u %u %u %31[A-Z_]%n", &u, &s, &m, cert, &used), 4);
		spec += used;
		for (i = 0; i < N_CERTS && strcmp(cert_names[i], cert) != 0; i++)
			;
		assert_true(i < N_CERTS);
		buf_init(&out[n]);
		buf_putc(&out[n], (int)u);
		buf_putc(&out[n], (int)s);
		buf_putc(&out[n], (int)m);
		assert_true(cert_association(certs[i], s, m, &out[n], &why));
		if (*spec == '!') {
			out[n].data[out[n].len - 1] ^= 0xff;
			spec++;
		}
		n++;
		while (*spec == ',' || *spec == ' ')
			spec++;
	}
	return n;
}

/* Handshake client and server over a memory BIO pair; true when both finish. */
static bool
handshake(SSL *client, SSL *server)
{
	BIO *cb, *sb;
	int i, rc = 0, rs = 0;

	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(client);
		if (rs != 1)
			rs = SSL_do_handshake(server);
	}
	return rc == 1 && rs == 1;
}

static void
test_tls_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(tls_cases) / sizeof(tls_cases[0]); i++) {
		const struct tls_case *c = &tls_cases[i];
		struct buf rd[3];
		struct dane_host h;
		struct dane_tls tls;
		struct dane_facts f;
		struct dane_decision got;
		struct why why = {""};
		size_t n_records = 99, n_recs = recs_rdata(rd, c->recs);
		SSL *client, *server = SSL_new(server_ctx);

		assert_int_equal(SSL_use_certificate(server, certs[c->leaf]), 1);
		assert_int_equal(
		        SSL_use_PrivateKey(server, c->leaf == OTHER_LEAF ? other_key : leaf_key),
		        1);
		if (c->send_ca)
			assert_int_equal(SSL_add1_chain_cert(server, certs[CA]), 1);
		memset(&h, 0, sizeof(h));
		h.name = xstrdup(c->host);
		h.canonical = c->canonical ? xstrdup(c->canonical) : NULL;
		h.tlsa_base = xstrdup(c->canonical ? c->canonical : c->host);
		h.addr_sec = DNS_SEC_SECURE;
		h.addr_outcome = DNS_OUTCOME_DATA;
		h.tlsa_looked_up = true;
		answer_make(&h.tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DATA, SEC, rd, n_recs);
		dane_tlsa_set_load(&h.set, &h.tlsa);

		client = dane_ssl_new(client_ctx, &h, c->nexthop, &n_records, &why);
		if (client == NULL)
			fail_msg("%s: dane_ssl_new: %s", c->name, why.msg);
		if (n_records != c->want_records)
			fail_msg("%s: records accepted: got %zu, want %zu", c->name, n_records,
			         c->want_records);
		if (strcmp(SSL_get_servername(client, TLSEXT_NAMETYPE_host_name), h.tlsa_base) != 0)
			fail_msg("%s: SNI: got %s, want the TLSA base domain %s", c->name,
			         SSL_get_servername(client, TLSEXT_NAMETYPE_host_name),
			         h.tlsa_base);
		if (!handshake(client, server))
			fail_msg("%s: the handshake did not complete (VERIFY_NONE must let it)",
			         c->name);
		dane_tls_observe(&tls, client, n_records);
		dane_facts_from_host(&f, &h);
		f.probed = true;
		f.probe = SMTP_RESULT_OK;
		f.probe_stage = SMTP_STAGE_TLS;
		f.tls = &tls;
		got = dane_decide(&f);
		if (got.verdict != c->want)
			fail_msg("%s: got %s (verify: %s; %s), want %s", c->name,
			         dane_verdict_name(got.verdict), tls.verify_text, got.rule,
			         dane_verdict_name(c->want));
		if (tls.match_depth != c->want_depth)
			fail_msg("%s: match depth: got %d, want %d", c->name, tls.match_depth,
			         c->want_depth);
		if (c->want_depth >= 0 &&
		    (tls.match.usage != c->want_usage || tls.match.mtype != c->want_mtype))
			fail_msg("%s: matched record: got usage %u mtype %u, want %d %d", c->name,
			         tls.match.usage, tls.match.mtype, c->want_usage, c->want_mtype);
		if ((c->want_peer == NULL) != (tls.peer_name == NULL) ||
		    (c->want_peer && strcmp(c->want_peer, tls.peer_name) != 0))
			fail_msg("%s: peer name: got %s, want %s", c->name,
			         tls.peer_name ? tls.peer_name : "(none)",
			         c->want_peer ? c->want_peer : "(none)");
		if (tls.chain == NULL || sk_X509_num(tls.chain) != (c->send_ca ? 2 : 1))
			fail_msg("%s: chain: got %d certificates, want %d", c->name,
			         tls.chain ? sk_X509_num(tls.chain) : 0, c->send_ca ? 2 : 1);
		if (tls.leaf_expired != (c->leaf == LEAF_EXPIRED || c->leaf == EE_EXPIRED))
			fail_msg("%s: leaf expired: got %d", c->name, tls.leaf_expired);
		if (dane_rollover_assess(&h.set, tls.chain) != c->want_rollover)
			fail_msg("%s: rollover: got %s, want %s", c->name,
			         dane_rollover_name(dane_rollover_assess(&h.set, tls.chain)),
			         dane_rollover_name(c->want_rollover));
		dane_tls_clear(&tls);
		dane_host_clear(&h);
		for (k = 0; k < n_recs; k++)
			buf_release(&rd[k]);
		SSL_free(client);
		SSL_free(server);
	}
}

/* Without secure TLSA records the SSL is not armed; SNI is the host name. */
static void
test_ssl_unarmed(void **state)
{
	static const enum dns_sec secs[] = {DNS_SEC_INSECURE, DNS_SEC_BOGUS};
	struct buf rd;
	size_t i, n;
	struct why why;

	(void)state;
	rdata_make(&rd, 3, 1, 1, 0x11);
	for (i = 0; i < 2; i++) {
		struct dane_host h;
		SSL *ssl;

		memset(&h, 0, sizeof(h));
		h.name = xstrdup("mx.test");
		h.tlsa_looked_up = true;
		answer_make(&h.tlsa, "_25._tcp.mx.test.", RR_TYPE_TLSA, DATA, secs[i], &rd, 1);
		dane_tlsa_set_load(&h.set, &h.tlsa);
		ssl = dane_ssl_new(client_ctx, &h, NULL, &n, &why);
		assert_non_null(ssl);
		if (n != 0)
			fail_msg("%s TLSA: the SSL was armed with %zu records",
			         dns_sec_name(secs[i]), n);
		assert_string_equal(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "mx.test");
		SSL_free(ssl);
		dane_host_clear(&h);
	}
	buf_release(&rd);
}

/* ------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------ */

static void
test_addr_merge(void **state)
{
	static const struct {
		enum dns_outcome a_o;
		enum dns_sec a_s;
		enum dns_outcome b_o;
		enum dns_sec b_s;
		enum dns_outcome want_o;
		enum dns_sec want_s;
	} cases[] = {
	        {DATA, SEC, DNS_OUTCOME_NODATA, SEC, DATA, SEC},
	        {DNS_OUTCOME_NODATA, SEC, DATA, SEC, DATA, SEC},
	        {DATA, SEC, DNS_OUTCOME_NODATA, INS, DATA, INS},
	        {DATA, INS, DNS_OUTCOME_NODATA, INS, DATA, INS},
	        {DATA, BOG, DNS_OUTCOME_NODATA, SEC, DATA, BOG},
	        {DNS_OUTCOME_NODATA, SEC, DNS_OUTCOME_SERVFAIL, BOG, DNS_OUTCOME_NODATA, BOG},
	        {DATA, SEC, DNS_OUTCOME_SERVFAIL, IND, DNS_OUTCOME_SERVFAIL, IND},
	        {DNS_OUTCOME_TIMEOUT, IND, DATA, SEC, DNS_OUTCOME_TIMEOUT, IND},
	        {DNS_OUTCOME_NXDOMAIN, SEC, DNS_OUTCOME_NXDOMAIN, SEC, DNS_OUTCOME_NXDOMAIN, SEC},
	        {DNS_OUTCOME_NODATA, SEC, DNS_OUTCOME_NODATA, SEC, DNS_OUTCOME_NODATA, SEC},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer a, b;
		enum dns_sec s;
		enum dns_outcome o;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.outcome = cases[i].a_o;
		a.sec = cases[i].a_s;
		b.outcome = cases[i].b_o;
		b.sec = cases[i].b_s;
		dane_addr_merge(&a, &b, &s, &o);
		if (s != cases[i].want_s || o != cases[i].want_o)
			fail_msg("merge %zu: got %s %s, want %s %s", i, dns_outcome_name(o),
			         dns_sec_name(s), dns_outcome_name(cases[i].want_o),
			         dns_sec_name(cases[i].want_s));
	}
}

static void
test_tlsa_bases(void **state)
{
	struct dns_answer a;
	const char *bases[2];

	(void)state;
	memset(&a, 0, sizeof(a));
	a.qname = "alias.test.";
	a.canonical = "mx.test.";
	a.outcome = DATA;
	a.sec = SEC;
	assert_int_equal(dane_tlsa_bases("alias.test", &a, bases), 2);
	assert_string_equal(bases[0], "mx.test.");
	assert_string_equal(bases[1], "alias.test");
	/* an insecure chain: the original name only */
	a.sec = INS;
	assert_int_equal(dane_tlsa_bases("alias.test", &a, bases), 1);
	assert_string_equal(bases[0], "alias.test");
	/* no CNAME (case and final dot do not make a difference) */
	a.sec = SEC;
	a.canonical = "ALIAS.test";
	assert_int_equal(dane_tlsa_bases("alias.test", &a, bases), 1);
	/* addresses given by the user */
	assert_int_equal(dane_tlsa_bases("mx.test", NULL, bases), 1);
	assert_string_equal(bases[0], "mx.test");
}

static void
test_try_next(void **state)
{
	static const struct {
		enum dns_outcome o;
		enum dns_sec s;
		bool want;
	} cases[] = {
	        {DNS_OUTCOME_NXDOMAIN, SEC, true},
	        {DNS_OUTCOME_NODATA, SEC, true},
	        {DNS_OUTCOME_NODATA, INS, false},
	        {DNS_OUTCOME_NXDOMAIN, BOG, false},
	        {DNS_OUTCOME_SERVFAIL, IND, false},
	        {DNS_OUTCOME_TIMEOUT, IND, false},
	        {DATA, SEC, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer t;

		memset(&t, 0, sizeof(t));
		t.outcome = cases[i].o;
		t.sec = cases[i].s;
		if (dane_tlsa_try_next(&t) != cases[i].want)
			fail_msg("try_next(%s %s): got %d, want %d", dns_outcome_name(cases[i].o),
			         dns_sec_name(cases[i].s), !cases[i].want, cases[i].want);
	}
}

static void
test_usable_and_set(void **state)
{
	static const struct {
		uint8_t u, s, m;
		bool want;
	} cases[] = {
	        {3, 1, 1, true},  {3, 0, 0, true},  {2, 0, 1, true},    {2, 1, 2, true},
	        {1, 1, 1, false}, {0, 0, 1, false}, {4, 1, 1, false},   {255, 1, 1, false},
	        {3, 2, 1, false}, {3, 1, 3, false}, {3, 1, 255, false},
	};
	struct buf rd[3];
	struct dns_answer ans;
	struct dane_tlsa_set set;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t data[32] = {0};
		struct rr_assoc a = {cases[i].u, cases[i].s, cases[i].m, data, sizeof(data)};

		if (dane_tlsa_usable(&a) != cases[i].want)
			fail_msg("usable(%u %u %u): got %d, want %d", cases[i].u, cases[i].s,
			         cases[i].m, !cases[i].want, cases[i].want);
	}
	rdata_make(&rd[0], 3, 1, 1, 1);
	rdata_make(&rd[1], 1, 1, 1, 2);
	buf_init(&rd[2]);
	buf_append(&rd[2], "\x03\x01\x01\xff", 4); /* SHA2-256 with one octet: malformed */
	answer_make(&ans, "_25._tcp.mx.test.", RR_TYPE_TLSA, DATA, SEC, rd, 3);
	dane_tlsa_set_load(&set, &ans);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.n_usable, 1);
	assert_int_equal(set.n_malformed, 1);
	assert_int_equal(dane_rollover_assess(&set, NULL), DANE_ROLLOVER_RENEWAL);
	dane_tlsa_set_clear(&set);
	dns_answer_clear(&ans);
	for (i = 0; i < 3; i++)
		buf_release(&rd[i]);
}

static void
test_rollover_without_chain(void **state)
{
	static const struct {
		const char *name;
		uint8_t u[3], s[3], fill[3];
		size_t n;
		enum dane_rollover want;
	} cases[] = {
	        {"only PKIX", {0, 1}, {0, 1}, {1, 2}, 2, DANE_ROLLOVER_NONE},
	        {"one 3 0 1", {3}, {0}, {1}, 1, DANE_ROLLOVER_FRAGILE},
	        {"one 3 1 1", {3}, {1}, {1}, 1, DANE_ROLLOVER_RENEWAL},
	        {"one 2 0 1", {2}, {0}, {1}, 1, DANE_ROLLOVER_RENEWAL},
	        {"the same 3 0 1 twice", {3, 3}, {0, 0}, {1, 1}, 2, DANE_ROLLOVER_FRAGILE},
	        {"two 3 0 1", {3, 3}, {0, 0}, {1, 2}, 2, DANE_ROLLOVER_NEXT_KEY},
	        {"3 1 1 + 2 0 1", {3, 2}, {1, 0}, {1, 2}, 2, DANE_ROLLOVER_NEXT_KEY},
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf rd[3];
		struct dns_answer ans;
		struct dane_tlsa_set set;
		enum dane_rollover got;

		for (k = 0; k < cases[i].n; k++)
			rdata_make(&rd[k], cases[i].u[k], cases[i].s[k], 1, cases[i].fill[k]);
		answer_make(&ans, "_25._tcp.mx.test.", RR_TYPE_TLSA, DATA, SEC, rd, cases[i].n);
		dane_tlsa_set_load(&set, &ans);
		got = dane_rollover_assess(&set, NULL);
		if (got != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].name, dane_rollover_name(got),
			         dane_rollover_name(cases[i].want));
		assert_int_equal(dane_rollover_ready(got),
		                 got == DANE_ROLLOVER_RENEWAL || got == DANE_ROLLOVER_NEXT_KEY);
		dane_tlsa_set_clear(&set);
		dns_answer_clear(&ans);
		for (k = 0; k < cases[i].n; k++)
			buf_release(&rd[k]);
	}
}

static void
test_names_and_classes(void **state)
{
	static const struct {
		enum dane_verdict v;
		const char *name;
		enum dane_class cls;
	} cases[] = {
	        {DANE_VERDICT_PASS, "pass", DANE_CLASS_PASS},
	        {DANE_VERDICT_TLSA_ABSENT, "tlsa-absent", DANE_CLASS_NO_DANE},
	        {DANE_VERDICT_TLSA_UNUSABLE, "tlsa-unusable", DANE_CLASS_NO_DANE},
	        {DANE_VERDICT_TLSA_MISMATCH, "tlsa-mismatch", DANE_CLASS_AUTH},
	        {DANE_VERDICT_NAME_MISMATCH, "name-mismatch", DANE_CLASS_AUTH},
	        {DANE_VERDICT_CERT_EXPIRED, "cert-expired", DANE_CLASS_AUTH},
	        {DANE_VERDICT_DNSSEC_BOGUS, "dnssec-bogus", DANE_CLASS_BOGUS},
	        {DANE_VERDICT_DNSSEC_INSECURE, "dnssec-insecure", DANE_CLASS_NO_DANE},
	        {DANE_VERDICT_STARTTLS_MISSING, "starttls-missing", DANE_CLASS_AUTH},
	        {DANE_VERDICT_TLS_FAILED, "tls-failed", DANE_CLASS_AUTH},
	        {DANE_VERDICT_UNREACHABLE, "unreachable", DANE_CLASS_UNKNOWN},
	        {DANE_VERDICT_LOOKUP_FAILED, "lookup-failed", DANE_CLASS_UNKNOWN},
	        {DANE_VERDICT_NOT_TESTABLE, "not-testable", DANE_CLASS_UNKNOWN},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(dane_verdict_name(cases[i].v), cases[i].name) != 0)
			fail_msg("name %zu: got %s, want %s", i, dane_verdict_name(cases[i].v),
			         cases[i].name);
		if (dane_verdict_class(cases[i].v) != cases[i].cls)
			fail_msg("%s: class: got %d, want %d", cases[i].name,
			         dane_verdict_class(cases[i].v), cases[i].cls);
	}
	assert_int_equal(dane_verdict_worst(DANE_VERDICT_PASS, DANE_VERDICT_TLSA_MISMATCH),
	                 DANE_VERDICT_TLSA_MISMATCH);
	assert_int_equal(dane_verdict_worst(DANE_VERDICT_DNSSEC_BOGUS, DANE_VERDICT_TLSA_MISMATCH),
	                 DANE_VERDICT_DNSSEC_BOGUS);
	assert_int_equal(dane_verdict_worst(DANE_VERDICT_UNREACHABLE, DANE_VERDICT_DNSSEC_INSECURE),
	                 DANE_VERDICT_UNREACHABLE);
	assert_int_equal(dane_verdict_worst(DANE_VERDICT_TLS_FAILED, DANE_VERDICT_NAME_MISMATCH),
	                 DANE_VERDICT_TLS_FAILED);
	assert_string_equal(dane_rollover_name(DANE_ROLLOVER_NEXT_KEY), "next-key-published");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_decide_table),
	        cmocka_unit_test(test_facts_secure_alias),
	        cmocka_unit_test(test_tls_table),
	        cmocka_unit_test(test_ssl_unarmed),
	        cmocka_unit_test(test_addr_merge),
	        cmocka_unit_test(test_tlsa_bases),
	        cmocka_unit_test(test_try_next),
	        cmocka_unit_test(test_usable_and_set),
	        cmocka_unit_test(test_rollover_without_chain),
	        cmocka_unit_test(test_names_and_classes),
	};

	return cmocka_run_group_tests_name("verify", tests, group_setup, group_teardown);
}
