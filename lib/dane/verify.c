/*
 * verify.c - DANE for SMTP: TLSA base domains, OpenSSL DANE set-up, the
 * verdict table, rollover readiness (see verify.h).
 *
 * Implements RFC 7672 sections 2.1.1 (bogus and indeterminate answers are
 * never "no records"), 2.2 (insecure TLSA ignored; TLSA present means TLS
 * is mandatory), 2.2.3 (TLSA base domain: CNAME-expanded name, then the
 * original; a secure CNAME into an unsigned zone), 3.1.1 (DANE-EE: the key
 * is the identity, no name or expiry checks), 3.1.2 and 3.2.2-3.2.3
 * (DANE-TA: chain and name checks against the reference identifiers),
 * 3.1.3 (PKIX-TA/PKIX-EE unusable), 8.1 (SNI); RFC 7671 section 9 (digest
 * agility) through OpenSSL's SSL_dane_* API, which does the matching.
 *
 * Trusts: the resolver's DNSSEC verdicts, OpenSSL's certificate checks.
 * Untrusted: TLSA RDATA (parsed by dns/rr.c, checked again by OpenSSL),
 * server certificates and names (escaped before they leave this file).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dane/verify.h"
#include "dns/owner.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

const char *
dane_verdict_name(enum dane_verdict v)
{
	switch (v) {
	case DANE_VERDICT_PASS:
		return "pass";
	case DANE_VERDICT_TLSA_ABSENT:
		return "tlsa-absent";
	case DANE_VERDICT_TLSA_UNUSABLE:
		return "tlsa-unusable";
	case DANE_VERDICT_TLSA_MISMATCH:
		return "tlsa-mismatch";
	case DANE_VERDICT_NAME_MISMATCH:
		return "name-mismatch";
	case DANE_VERDICT_CERT_EXPIRED:
		return "cert-expired";
	case DANE_VERDICT_DNSSEC_BOGUS:
		return "dnssec-bogus";
	case DANE_VERDICT_DNSSEC_INSECURE:
		return "dnssec-insecure";
	case DANE_VERDICT_STARTTLS_MISSING:
		return "starttls-missing";
	case DANE_VERDICT_TLS_FAILED:
		return "tls-failed";
	case DANE_VERDICT_UNREACHABLE:
		return "unreachable";
	case DANE_VERDICT_LOOKUP_FAILED:
		return "lookup-failed";
	case DANE_VERDICT_NOT_TESTABLE:
		return "not-testable";
	}
	return "not-testable";
}

enum dane_class
dane_verdict_class(enum dane_verdict v)
{
	switch (v) {
	case DANE_VERDICT_PASS:
		return DANE_CLASS_PASS;
	case DANE_VERDICT_TLSA_ABSENT:
	case DANE_VERDICT_TLSA_UNUSABLE:
	case DANE_VERDICT_DNSSEC_INSECURE:
		return DANE_CLASS_NO_DANE;
	case DANE_VERDICT_UNREACHABLE:
	case DANE_VERDICT_LOOKUP_FAILED:
	case DANE_VERDICT_NOT_TESTABLE:
		return DANE_CLASS_UNKNOWN;
	case DANE_VERDICT_TLSA_MISMATCH:
	case DANE_VERDICT_NAME_MISMATCH:
	case DANE_VERDICT_CERT_EXPIRED:
	case DANE_VERDICT_STARTTLS_MISSING:
	case DANE_VERDICT_TLS_FAILED:
		return DANE_CLASS_AUTH;
	case DANE_VERDICT_DNSSEC_BOGUS:
		return DANE_CLASS_BOGUS;
	}
	return DANE_CLASS_UNKNOWN;
}

enum dane_verdict
dane_verdict_worst(enum dane_verdict a, enum dane_verdict b)
{
	return dane_verdict_class(b) > dane_verdict_class(a) ? b : a;
}

const char *
dane_rollover_name(enum dane_rollover r)
{
	switch (r) {
	case DANE_ROLLOVER_NONE:
		return "none";
	case DANE_ROLLOVER_FRAGILE:
		return "fragile";
	case DANE_ROLLOVER_RENEWAL:
		return "renewal-safe";
	case DANE_ROLLOVER_NEXT_KEY:
		return "next-key-published";
	}
	return "none";
}

bool
dane_rollover_ready(enum dane_rollover r)
{
	return r == DANE_ROLLOVER_RENEWAL || r == DANE_ROLLOVER_NEXT_KEY;
}

/* ------------------------------------------------------------------------
 * TLSA records.
 * ------------------------------------------------------------------------ */

bool
dane_tlsa_usable(const struct rr_assoc *a)
{
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; RFC 7671 4:
	 * unknown usages, selectors and matching types make a record unusable. */
	return (a->usage == RR_USAGE_DANE_TA || a->usage == RR_USAGE_DANE_EE) &&
	       a->selector <= RR_SELECTOR_SPKI && a->mtype <= RR_MTYPE_SHA512 && a->len > 0;
}

void
dane_tlsa_set_load(struct dane_tlsa_set *set, const struct dns_answer *ans)
{
	size_t i;

	memset(set, 0, sizeof(*set));
	if (ans == NULL || ans->n_rrs == 0)
		return;
	set->recs = xcalloc(ans->n_rrs, sizeof(*set->recs));
	for (i = 0; i < ans->n_rrs; i++) {
		struct rr_assoc *a = &set->recs[set->n];

		if (!rr_assoc_from_wire(a, ans->rrs[i].rdata, ans->rrs[i].len, NULL)) {
			set->n_malformed++;
			continue;
		}
		set->n++;
		if (dane_tlsa_usable(a))
			set->n_usable++;
	}
}

void
dane_tlsa_set_clear(struct dane_tlsa_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		rr_assoc_clear(&set->recs[i]);
	free(set->recs);
	memset(set, 0, sizeof(*set));
}

/* Usable records in an answer, without keeping them. */
static size_t
count_usable(const struct dns_answer *ans)
{
	struct dane_tlsa_set set;
	size_t n;

	dane_tlsa_set_load(&set, ans);
	n = set.n_usable;
	dane_tlsa_set_clear(&set);
	return n;
}

/* ------------------------------------------------------------------------
 * Address records and TLSA base domains (RFC 7672 2.2.3).
 * ------------------------------------------------------------------------ */

static bool
failed(enum dns_outcome o)
{
	return o == DNS_OUTCOME_SERVFAIL || o == DNS_OUTCOME_TIMEOUT || o == DNS_OUTCOME_ERROR;
}

void
dane_addr_merge(const struct dns_answer *a, const struct dns_answer *aaaa, enum dns_sec *sec,
                enum dns_outcome *outcome)
{
	bool data = a->outcome == DNS_OUTCOME_DATA || aaaa->outcome == DNS_OUTCOME_DATA;

	if (a->sec == DNS_SEC_BOGUS || aaaa->sec == DNS_SEC_BOGUS) {
		*sec = DNS_SEC_BOGUS;
		*outcome = data ? DNS_OUTCOME_DATA : a->outcome;
	} else if (failed(a->outcome) || failed(aaaa->outcome)) {
		/* an address family we could not look up might hide the host: indeterminate */
		*sec = DNS_SEC_INDETERMINATE;
		*outcome = failed(a->outcome) ? a->outcome : aaaa->outcome;
	} else {
		*outcome = data ? DNS_OUTCOME_DATA
		           : a->outcome == DNS_OUTCOME_NXDOMAIN &&
		                           aaaa->outcome == DNS_OUTCOME_NXDOMAIN
		                   ? DNS_OUTCOME_NXDOMAIN
		                   : DNS_OUTCOME_NODATA;
		*sec = a->sec == DNS_SEC_SECURE && aaaa->sec == DNS_SEC_SECURE ? DNS_SEC_SECURE
		                                                               : DNS_SEC_INSECURE;
	}
}

/* Same DNS name, ignoring case and a final dot. */
static bool
same_name(const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);

	if (nx && x[nx - 1] == '.')
		nx--;
	if (ny && y[ny - 1] == '.')
		ny--;
	return nx == ny && strncasecmp(x, y, nx) == 0;
}

size_t
dane_tlsa_bases(const char *host, const struct dns_answer *addr, const char *bases[2])
{
	size_t n = 0;

	/* RFC 7672 2.2.3: a secure CNAME chain: its target first, then the original name.
	 * An insecure chain (even if its first link is signed) leaves the original only. */
	if (addr && addr->sec == DNS_SEC_SECURE && addr->outcome == DNS_OUTCOME_DATA &&
	    addr->canonical && addr->qname && !same_name(addr->canonical, addr->qname))
		bases[n++] = addr->canonical;
	bases[n++] = host;
	return n;
}

bool
dane_tlsa_try_next(const struct dns_answer *tlsa)
{
	return tlsa->sec == DNS_SEC_SECURE &&
	       (tlsa->outcome == DNS_OUTCOME_NXDOMAIN || tlsa->outcome == DNS_OUTCOME_NODATA);
}

static char *
strip_dot(const char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	return xstrndup(name, n);
}

size_t
dane_host_add_addrs(struct dane_host *h, const struct dns_answer *ans, size_t max)
{
	size_t i, dropped = 0;

	if (ans->outcome != DNS_OUTCOME_DATA)
		return 0;
	for (i = 0; i < ans->n_rrs; i++) {
		struct sockaddr_storage ss;

		memset(&ss, 0, sizeof(ss));
		if (ans->qtype == RR_TYPE_A && ans->rrs[i].len == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)h->port);
			memcpy(&sin->sin_addr, ans->rrs[i].rdata, 4);
		} else if (ans->qtype == RR_TYPE_AAAA && ans->rrs[i].len == 16) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)h->port);
			memcpy(&sin6->sin6_addr, ans->rrs[i].rdata, 16);
		} else {
			continue;
		}
		if (max && h->n_addrs >= max) {
			dropped++;
			continue;
		}
		h->addrs = xreallocarray(h->addrs, h->n_addrs + 1, sizeof(*h->addrs));
		h->addrs[h->n_addrs++] = ss;
	}
	return dropped;
}

void
dane_host_resolve(struct dane_host *h, struct dns_resolver *res, const char *name, unsigned port,
                  const struct sockaddr_storage *given, size_t n_given)
{
	struct dns_answer a, aaaa;
	const struct dns_answer *addr = NULL;
	const char *bases[2];
	size_t n_bases, i;

	memset(h, 0, sizeof(*h));
	memset(&a, 0, sizeof(a));
	memset(&aaaa, 0, sizeof(aaaa));
	h->name = strip_dot(name);
	h->port = port;
	if (n_given) {
		/* the user named the addresses: nothing to validate about them */
		h->addrs = xmemdup(given, n_given * sizeof(*given));
		h->n_addrs = n_given;
		h->addr_sec = DNS_SEC_SECURE;
		h->addr_outcome = DNS_OUTCOME_DATA;
	} else {
		dns_lookup(res, h->name, RR_TYPE_A, &a);
		if (failed(a.outcome) || a.sec == DNS_SEC_BOGUS) {
			/* the merged state is decided (dane_addr_merge): spare the AAAA query,
			 * which would only wait for the same failure */
			aaaa.outcome = DNS_OUTCOME_NODATA;
			aaaa.sec = DNS_SEC_SECURE;
		} else {
			dns_lookup(res, h->name, RR_TYPE_AAAA, &aaaa);
		}
		dane_addr_merge(&a, &aaaa, &h->addr_sec, &h->addr_outcome);
		addr = a.outcome == DNS_OUTCOME_DATA ? &a : &aaaa;
		if (a.why || aaaa.why)
			h->addr_why = xstrdup(a.why ? a.why : aaaa.why);
		if (addr->canonical && addr->qname && !same_name(addr->canonical, addr->qname))
			h->canonical = strip_dot(addr->canonical);
		if (h->addr_sec != DNS_SEC_BOGUS) {
			(void)dane_host_add_addrs(h, &a, 0);
			(void)dane_host_add_addrs(h, &aaaa, 0);
		}
		if (h->addr_sec == DNS_SEC_INSECURE && h->canonical) {
			/* RFC 7672 2.2.3: an MX host name that is a secure CNAME still gets
			 * DANE when the target lies in an unsigned zone: ask for the CNAME
			 * itself, whose state is that of the alias's own zone. */
			struct dns_answer cn;

			dns_lookup(res, h->name, RR_TYPE_CNAME, &cn);
			h->secure_alias = dns_answer_secure_data(&cn);
			dns_answer_clear(&cn);
		}
	}
	if (h->addr_outcome != DNS_OUTCOME_DATA ||
	    (h->addr_sec != DNS_SEC_SECURE && !h->secure_alias))
		goto done;
	n_bases = dane_tlsa_bases(h->name, addr, bases);
	for (i = 0; i < n_bases; i++) {
		struct buf owner = BUF_INIT;

		dns_answer_clear(&h->tlsa);
		free(h->tlsa_base);
		h->tlsa_base = strip_dot(bases[i]);
		if (!owner_tlsa(&owner, bases[i], port, "tcp", NULL)) {
			/* a name too long to carry the _port._tcp prefix has no TLSA */
			h->tlsa.outcome = DNS_OUTCOME_ERROR;
			h->tlsa.sec = DNS_SEC_INDETERMINATE;
			buf_release(&owner);
			continue;
		}
		dns_lookup(res, buf_str(&owner), RR_TYPE_TLSA, &h->tlsa);
		buf_release(&owner);
		h->tlsa_looked_up = true;
		if (!dane_tlsa_try_next(&h->tlsa))
			break;
	}
	dane_tlsa_set_load(&h->set, &h->tlsa);
done:
	dns_answer_clear(&a);
	dns_answer_clear(&aaaa);
}

void
dane_host_clear(struct dane_host *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->canonical);
	free(h->addr_why);
	free(h->addrs);
	free(h->tlsa_base);
	dns_answer_clear(&h->tlsa);
	dane_tlsa_set_clear(&h->set);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------------
 * OpenSSL set-up.
 * ------------------------------------------------------------------------ */

static bool
ssl_why(struct why *why, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return why_set(why, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
}

SSL_CTX *
dane_ctx_new(bool legacy_tls, struct why *why)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_why(why, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_dane_enable(ctx) <= 0 ||
	    /* RFC 7671 9: per usage and selector only the strongest digest present counts */
	    SSL_CTX_dane_mtype_set(ctx, EVP_sha256(), RR_MTYPE_SHA256, 1) <= 0 ||
	    SSL_CTX_dane_mtype_set(ctx, EVP_sha512(), RR_MTYPE_SHA512, 2) <= 0) {
		ssl_why(why, "enabling DANE");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (legacy_tls) {
		/* OpenSSL 3 needs security level 0 for TLS 1.0/1.1 (SHA-1 handshake signatures) */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	}
	return ctx;
}

/* Add a reference identifier unless it is the base domain or already there. */
static bool
add_host(SSL *ssl, const char *base, const char *name, const char **added, size_t *n_added)
{
	char *bare;
	size_t i;
	bool ok;

	if (name == NULL || same_name(name, base))
		return true;
	for (i = 0; i < *n_added; i++)
		if (same_name(name, added[i]))
			return true;
	added[(*n_added)++] = name;
	bare = strip_dot(name);
	ok = SSL_add1_host(ssl, bare) == 1;
	free(bare);
	return ok;
}

SSL *
dane_ssl_new(SSL_CTX *ctx, const struct dane_host *h, const char *nexthop, size_t *n_records,
             struct why *why)
{
	SSL *ssl = SSL_new(ctx);
	const char *base = h->tlsa_base ? h->tlsa_base : h->name;
	const char *added[3];
	size_t n_added = 0, i;

	*n_records = 0;
	if (ssl == NULL) {
		ssl_why(why, "SSL_new");
		return NULL;
	}
	if (h->tlsa_looked_up && dns_answer_secure_data(&h->tlsa) && h->set.n_usable > 0) {
		/* RFC 7672 3.2.2-3.2.3: reference identifiers for DANE-TA(2) */
		if (SSL_dane_enable(ssl, base) <= 0 ||
		    !add_host(ssl, base, h->name, added, &n_added) ||
		    !add_host(ssl, base, h->canonical, added, &n_added) ||
		    !add_host(ssl, base, nexthop, added, &n_added)) {
			ssl_why(why, "SSL_dane_enable");
			SSL_free(ssl);
			return NULL;
		}
		/* RFC 7672 3.1.1: DANE-EE(3) authenticates the key, not a name */
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		for (i = 0; i < h->set.n; i++) {
			const struct rr_assoc *a = &h->set.recs[i];

			/* RFC 7672 3.1.3: PKIX-TA/PKIX-EE never reach OpenSSL (no PKIX for SMTP) */
			if (!dane_tlsa_usable(a))
				continue;
			if (SSL_dane_tlsa_add(ssl, a->usage, a->selector, a->mtype, a->data,
			                      a->len) > 0)
				(*n_records)++;
			ERR_clear_error(); /* a rejected record (bad certificate data) is unusable
			                    */
		}
	}
	/* RFC 7672 8.1: SNI carries the TLSA base domain */
	if (SSL_set_tlsext_host_name(ssl, base) != 1) {
		ssl_why(why, "server name indication");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* ------------------------------------------------------------------------
 * What the session proved.
 * ------------------------------------------------------------------------ */

void
dane_tls_observe(struct dane_tls *t, SSL *ssl, size_t n_records)
{
	struct buf esc = BUF_INIT;
	const char *peer;
	X509 *leaf;
	STACK_OF(X509) * chain;

	memset(t, 0, sizeof(*t));
	t->match_depth = -1;
	t->n_records = n_records;
	t->verify_error = X509_V_OK;
	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return;
	t->established = true;
	snprintf(t->version, sizeof(t->version), "%s", SSL_get_version(ssl));
	snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_get_cipher_name(ssl));
	t->verify_error = SSL_get_verify_result(ssl);
	snprintf(t->verify_text, sizeof(t->verify_text), "%s",
	         X509_verify_cert_error_string(t->verify_error));
	if (n_records > 0) {
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;
		int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);

		if (depth >= 0) {
			t->match_depth = depth;
			t->match.usage = usage;
			t->match.selector = selector;
			t->match.mtype = mtype;
			t->match.data = xmemdup(data, dlen);
			t->match.len = dlen;
		}
	}
	if ((peer = SSL_get0_peername(ssl)) != NULL)
		t->peer_name = xstrdup(escape_str(&esc, peer));
	if ((chain = SSL_get_peer_cert_chain(ssl)) != NULL)
		t->chain = X509_chain_up_ref(chain);
	if ((leaf = SSL_get0_peer_certificate(ssl)) != NULL) {
		struct cert_info info;

		cert_info_get(&info, leaf);
		t->leaf_subject = xstrdup(info.subject);
		t->leaf_not_after = info.not_after;
		t->leaf_expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
		cert_info_clear(&info);
	}
	buf_release(&esc);
}

void
dane_tls_clear(struct dane_tls *t)
{
	if (t == NULL)
		return;
	rr_assoc_clear(&t->match);
	free(t->peer_name);
	free(t->leaf_subject);
	if (t->chain)
		sk_X509_pop_free(t->chain, X509_free);
	memset(t, 0, sizeof(*t));
	t->match_depth = -1;
}

/* ------------------------------------------------------------------------
 * The verdict table.
 * ------------------------------------------------------------------------ */

void
dane_facts_from_host(struct dane_facts *f, const struct dane_host *h)
{
	memset(f, 0, sizeof(*f));
	/* RFC 7672 2.2.3: a secure CNAME into an unsigned zone counts as a signed host */
	f->addr_sec = h->secure_alias ? DNS_SEC_SECURE : h->addr_sec;
	f->addr_outcome = h->addr_outcome;
	f->tlsa = h->tlsa_looked_up ? &h->tlsa : NULL;
}

/* One row: when cond holds, this verdict for this reason. */
#define ROW(cond, v, why)                                                                          \
	do {                                                                                       \
		if (cond)                                                                          \
			return (struct dane_decision){(v), (why)};                                 \
	} while (0)

struct dane_decision
dane_decide(const struct dane_facts *f)
{
	const struct dns_answer *t = f->tlsa;
	const struct dane_tls *tls = f->tls;
	bool addr_fail = failed(f->addr_outcome) || f->addr_sec == DNS_SEC_INDETERMINATE;
	bool tlsa_fail = t == NULL || failed(t->outcome) || t->sec == DNS_SEC_INDETERMINATE;
	bool no_conn = !f->probed || f->probe == SMTP_RESULT_REFUSED ||
	               f->probe == SMTP_RESULT_UNREACHABLE ||
	               (f->probe == SMTP_RESULT_TIMEOUT && f->probe_stage == SMTP_STAGE_CONNECT);
	bool no_smtp = f->probe == SMTP_RESULT_GREETING_REJECTED ||
	               f->probe == SMTP_RESULT_TIMEOUT || f->probe == SMTP_RESULT_PROTOCOL_ERROR;
	bool tls_fail = f->probe == SMTP_RESULT_STARTTLS_REJECTED ||
	                f->probe == SMTP_RESULT_TLS_FAILED || tls == NULL || !tls->established;
	size_t usable = t ? count_usable(t) : 0;
	bool armed = tls && tls->n_records > 0;
	long err = tls ? tls->verify_error : X509_V_OK;
	bool matched = tls && err == X509_V_OK && tls->match_depth >= 0;

	/* The MX host's addresses. */
	ROW(f->addr_sec == DNS_SEC_BOGUS, DANE_VERDICT_DNSSEC_BOGUS,
	    "RFC 7672 2.1.1: the host's address records are bogus; the host must not be used");
	ROW(addr_fail, DANE_VERDICT_LOOKUP_FAILED,
	    "RFC 7672 2.1.1: the address lookup failed; indeterminate, never treated as absence");
	ROW(f->addr_outcome != DNS_OUTCOME_DATA, DANE_VERDICT_UNREACHABLE,
	    "RFC 5321 5.1: the host has no address records");
	ROW(f->addr_sec != DNS_SEC_SECURE, DANE_VERDICT_DNSSEC_INSECURE,
	    "RFC 7672 2.2.3: the host's address records are not DNSSEC-signed; no TLSA lookup, "
	    "DANE does not apply");

	/* Its TLSA records. */
	ROW(t && t->sec == DNS_SEC_BOGUS, DANE_VERDICT_DNSSEC_BOGUS,
	    "RFC 7672 2.1.1: the TLSA RRset is bogus; the host must not be used");
	ROW(tlsa_fail, DANE_VERDICT_LOOKUP_FAILED,
	    "RFC 7672 2.1.1: the TLSA lookup failed; indeterminate, must not be downgraded to "
	    "'no DANE' (a sender defers)");
	ROW(t->sec != DNS_SEC_SECURE, DANE_VERDICT_DNSSEC_INSECURE,
	    "RFC 7672 2.2: the TLSA records are not DNSSEC-signed and are ignored; plain "
	    "opportunistic TLS");
	ROW(t->outcome != DNS_OUTCOME_DATA, DANE_VERDICT_TLSA_ABSENT,
	    "RFC 7672 2.2: no TLSA records (secure denial of existence); DANE does not apply");

	/* The SMTP session: from here on TLS is mandatory (RFC 7672 2.2). */
	ROW(no_conn, DANE_VERDICT_UNREACHABLE,
	    "RFC 5321 5.1: no connection to this address; a sender tries the next one");
	ROW(no_smtp, DANE_VERDICT_NOT_TESTABLE,
	    "RFC 5321 4.2, 4.5.3.2: the server refused or broke the SMTP dialogue before TLS; "
	    "DANE could not be tested");
	ROW(f->probe == SMTP_RESULT_NO_STARTTLS, DANE_VERDICT_STARTTLS_MISSING,
	    "RFC 7672 2.2: TLSA records make TLS mandatory, but STARTTLS is not offered; a DANE "
	    "sender cannot deliver");
	ROW(tls_fail, DANE_VERDICT_TLS_FAILED,
	    "RFC 7672 2.2: TLSA records make TLS mandatory (no cleartext fallback), but no TLS "
	    "session could be established");

	/* The certificate chain against the records. */
	ROW(usable == 0 || !armed, DANE_VERDICT_TLSA_UNUSABLE,
	    "RFC 7672 3.1.3: no usable record (only DANE-TA(2) and DANE-EE(3) are); TLS is "
	    "mandatory but unauthenticated");
	ROW(matched && tls->match.usage == RR_USAGE_DANE_EE, DANE_VERDICT_PASS,
	    "RFC 7672 3.1.1: a DANE-EE(3) record matches the server's certificate; its names "
	    "and validity dates are not checked");
	ROW(matched, DANE_VERDICT_PASS,
	    "RFC 7672 3.1.2, 3.2.2: a DANE-TA(2) record matches a trust anchor of the chain, "
	    "which is valid and names a reference identifier");
	ROW(err == X509_V_ERR_HOSTNAME_MISMATCH, DANE_VERDICT_NAME_MISMATCH,
	    "RFC 7672 3.2.2, 3.2.3: a DANE-TA(2) trust anchor matches, but the certificate "
	    "names none of the reference identifiers (TLSA base domain, MX host, next-hop "
	    "domain)");
	ROW(err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID,
	    DANE_VERDICT_CERT_EXPIRED,
	    "RFC 7672 3.1.2: with DANE-TA(2) the chain below the trust anchor is validated as "
	    "usual (RFC 5280 6.1.3); a certificate is expired or not yet valid");
	ROW(true, DANE_VERDICT_TLSA_MISMATCH,
	    "RFC 7672 3, RFC 6698 2.1: no usable TLSA record matches the server's certificate "
	    "chain");
	/* not reached */
	return (struct dane_decision){DANE_VERDICT_TLSA_MISMATCH, ""};
}

#undef ROW

/* ------------------------------------------------------------------------
 * Rollover readiness.
 * ------------------------------------------------------------------------ */

/* Does record a match some certificate of chain (DANE-EE: the leaf only)? */
static bool
matches_chain(const struct rr_assoc *a, STACK_OF(X509) * chain)
{
	int i, n = sk_X509_num(chain);
	bool hit = false;

	for (i = 0; i < n && !hit; i++) {
		struct buf data = BUF_INIT;

		if (a->usage == RR_USAGE_DANE_EE && i > 0)
			break;
		if (cert_association(sk_X509_value(chain, i), a->selector, a->mtype, &data, NULL))
			hit = data.len == a->len && memcmp(data.data, a->data, a->len) == 0;
		buf_release(&data);
	}
	return hit;
}

enum dane_rollover
dane_rollover_assess(const struct dane_tlsa_set *set, STACK_OF(X509) * chain)
{
	size_t i, j, usable = 0, current = 0, distinct = 0;
	bool survives_renewal = false;

	for (i = 0; i < set->n; i++) {
		const struct rr_assoc *a = &set->recs[i];
		bool dup = false;

		if (!dane_tlsa_usable(a))
			continue;
		usable++;
		for (j = 0; j < i && !dup; j++)
			dup = dane_tlsa_usable(&set->recs[j]) && set->recs[j].len == a->len &&
			      memcmp(set->recs[j].data, a->data, a->len) == 0;
		if (!dup)
			distinct++;
		if (chain && matches_chain(a, chain))
			current++;
		/* RFC 7671 8.1, 5.1: "3 1 x" pins the key, "2 x x" the trust anchor: a new
		 * certificate for the same key (or from the same CA) still matches */
		if ((a->usage == RR_USAGE_DANE_EE && a->selector == RR_SELECTOR_SPKI) ||
		    a->usage == RR_USAGE_DANE_TA)
			survives_renewal = true;
	}
	if (usable == 0)
		return DANE_ROLLOVER_NONE;
	/* "current + next" (RFC 7671 8.1): records for the key in use and for another one */
	if (chain && current > 0 && current < usable)
		return DANE_ROLLOVER_NEXT_KEY;
	if ((chain == NULL || current == 0) && distinct >= 2)
		return DANE_ROLLOVER_NEXT_KEY;
	return survives_renewal ? DANE_ROLLOVER_RENEWAL : DANE_ROLLOVER_FRAGILE;
}

/* ------------------------------------------------------------------------
 * One address end to end.
 * ------------------------------------------------------------------------ */

void
dane_check_address(struct dane_address_check *out, SSL_CTX *ctx, const struct dane_host *h,
                   size_t i, const char *nexthop, const struct smtp_probe_config *cfg)
{
	const struct sockaddr_storage *ss = &h->addrs[i];
	struct smtp_probe_config pc;
	struct dane_facts f;
	struct why why;
	size_t n_records = 0;
	char text[INET6_ADDRSTRLEN];
	SSL *ssl;

	memset(out, 0, sizeof(*out));
	out->tls.match_depth = -1;
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, text,
		          sizeof(text));
		snprintf(out->address, sizeof(out->address), "[%s]", text);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof(text));
		snprintf(out->address, sizeof(out->address), "%s", text);
	}
	if (cfg)
		pc = *cfg;
	else
		smtp_probe_config_init(&pc);
	pc.sni = NULL; /* dane_ssl_new set it */
	ssl = dane_ssl_new(ctx, h, nexthop, &n_records, &why);
	dane_facts_from_host(&f, h);
	f.probed = true;
	if (ssl == NULL) {
		f.probe = SMTP_RESULT_TLS_FAILED;
		f.probe_stage = SMTP_STAGE_TLS;
		out->probe.result = SMTP_RESULT_TLS_FAILED;
		out->probe.stage = SMTP_STAGE_TLS;
		out->probe.why = why;
	} else {
		smtp_probe_blocking((const struct sockaddr *)ss,
		                    ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                              : sizeof(struct sockaddr_in),
		                    &pc, ssl, &out->probe);
		f.probe = out->probe.result;
		f.probe_stage = out->probe.stage;
		dane_tls_observe(&out->tls, ssl, n_records);
		f.tls = out->tls.established ? &out->tls : NULL;
		SSL_free(ssl);
	}
	out->decision = dane_decide(&f);
	out->rollover = dane_rollover_assess(&h->set, out->tls.chain);
}

void
dane_address_check_clear(struct dane_address_check *c)
{
	if (c == NULL)
		return;
	smtp_report_clear(&c->probe);
	dane_tls_clear(&c->tls);
	memset(c, 0, sizeof(*c));
}
