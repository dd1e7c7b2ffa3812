/*
 * verify.h - DANE for SMTP (RFC 7672, with RFC 7671 and RFC 6698): which
 * TLSA records apply to an MX host, an OpenSSL SSL armed with them, what the
 * TLS session proved, and one verdict per MX host address.
 *
 * The pieces are separate so that both the command line (synchronous DNS,
 * blocking probe) and an event-driven scanner (async DNS, smtp_probe_step)
 * can use them:
 *   1. address records: dane_addr_merge() (A + AAAA);
 *   2. TLSA base domains: dane_tlsa_bases(), dane_tlsa_try_next()
 *      (RFC 7672 2.2.3: the CNAME-expanded name first, then the original);
 *      dane_host_resolve() does 1 and 2 with the synchronous resolver;
 *   3. dane_ctx_new() + dane_ssl_new(): an SSL with SSL_dane_enable(), the
 *      reference identifiers, DANE_FLAG_NO_DANE_EE_NAMECHECKS and every
 *      usable record;
 *   4. the probe (smtp/client.h) runs the handshake without aborting on a
 *      verification failure (SSL_VERIFY_NONE): the session is judged after;
 *   5. dane_tls_observe() reads what OpenSSL found; dane_decide() is the one
 *      verdict function, a table whose rows cite the RFC sections;
 *   6. dane_rollover_assess(): is the TLSA RRset ready for a key change?
 * dane_check_address() runs 3-6 for one address with the blocking probe.
 *
 * Nothing here prints or exits: results are enums with _name() functions
 * and escaped strings.  DNS data and server certificates are untrusted.
 */
#ifndef DANEMAIL_DANE_VERIFY_H
#define DANEMAIL_DANE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dns/resolver.h"
#include "dns/rr.h"
#include "smtp/client.h"
#include "util/why.h"

/* The verdict for one address of one MX host. */
enum dane_verdict {
	DANE_VERDICT_PASS,          /* a usable TLSA record authenticated the server */
	DANE_VERDICT_TLSA_ABSENT,   /* secure proof of no TLSA records: no DANE */
	DANE_VERDICT_TLSA_UNUSABLE, /* TLSA records, none usable (PKIX-TA/EE, unknown): no DANE */
	DANE_VERDICT_TLSA_MISMATCH, /* no usable record matches the certificate chain */
	DANE_VERDICT_NAME_MISMATCH, /* DANE-TA matched, the certificate names no reference id */
	DANE_VERDICT_CERT_EXPIRED,  /* DANE-TA matched, a certificate is expired / not yet valid */
	DANE_VERDICT_DNSSEC_BOGUS,  /* address or TLSA records failed validation */
	DANE_VERDICT_DNSSEC_INSECURE,  /* address or TLSA records unsigned: no DANE */
	DANE_VERDICT_STARTTLS_MISSING, /* TLSA records exist, STARTTLS not offered */
	DANE_VERDICT_TLS_FAILED,    /* TLSA records exist, STARTTLS refused or handshake failed */
	DANE_VERDICT_UNREACHABLE,   /* no address, or the connection failed */
	DANE_VERDICT_LOOKUP_FAILED, /* a DNS lookup failed (SERVFAIL, timeout): never "absent" */
	DANE_VERDICT_NOT_TESTABLE,  /* the server refused or broke SMTP before TLS (421, timeout) */
};
/* "pass", "tlsa-absent", "tlsa-unusable", "tlsa-mismatch", "name-mismatch", "cert-expired",
 * "dnssec-bogus", "dnssec-insecure", "starttls-missing", "tls-failed", "unreachable",
 * "lookup-failed", "not-testable". */
const char *dane_verdict_name(enum dane_verdict v);

/* Verdict classes, from good to bad, for combining the verdicts of several addresses or MX hosts.
 */
enum dane_class {
	DANE_CLASS_PASS = 0,    /* pass */
	DANE_CLASS_NO_DANE = 1, /* tlsa-absent, tlsa-unusable, dnssec-insecure */
	DANE_CLASS_UNKNOWN = 2, /* lookup-failed, unreachable, not-testable */
	DANE_CLASS_AUTH = 3,    /* tlsa-mismatch, name-mismatch, cert-expired, starttls-missing,
	                           tls-failed: a DANE sender cannot deliver */
	DANE_CLASS_BOGUS = 4,   /* dnssec-bogus */
};
enum dane_class dane_verdict_class(enum dane_verdict v);
/* The worse of two verdicts (by class; a on a tie). */
enum dane_verdict dane_verdict_worst(enum dane_verdict a, enum dane_verdict b);

/* Usable for SMTP: DANE-TA(2) or DANE-EE(3), selector 0/1, matching type 0/1/2 (RFC 7672 3.1.3). */
bool dane_tlsa_usable(const struct rr_assoc *a);

/* The records of a TLSA answer. */
struct dane_tlsa_set {
	struct rr_assoc *recs; /* the records that parsed */
	size_t n;
	size_t n_usable;
	size_t n_malformed; /* RDATA that did not parse (too short, wrong digest length) */
};
/* Parse the records of ans (any state; DATA answers only hold records). */
void dane_tlsa_set_load(struct dane_tlsa_set *set, const struct dns_answer *ans);
void dane_tlsa_set_clear(struct dane_tlsa_set *set);

/*
 * The DNSSEC state of a host's addresses from its A and AAAA answers: bogus
 * if either is; a failure if either lookup failed (indeterminate); else DATA
 * if either has records, insecure if either is.
 */
void dane_addr_merge(const struct dns_answer *a, const struct dns_answer *aaaa, enum dns_sec *sec,
                     enum dns_outcome *outcome);
/*
 * The TLSA base domains to try, in order, for MX host `host` whose address
 * answer is addr (NULL: addresses given by the user): the CNAME-expanded
 * name first when the address records came through a secure CNAME chain,
 * then host itself (RFC 7672 2.2.3).  bases[] point into host and addr.
 */
size_t dane_tlsa_bases(const char *host, const struct dns_answer *addr, const char *bases[2]);
/* Whether a TLSA answer at one base domain sends us on to the next: secure NXDOMAIN/NODATA. */
bool dane_tlsa_try_next(const struct dns_answer *tlsa);

/* An MX host (or a non-MX destination host, RFC 7672 2.2.2): its addresses and TLSA records. */
struct dane_host {
	char *name;            /* as given, without a final dot */
	char *canonical;       /* the CNAME-expanded name, or NULL (no CNAME) */
	unsigned port;         /* 25 for MX hosts */
	enum dns_sec addr_sec; /* merged A/AAAA state (SECURE for given addresses) */
	enum dns_outcome addr_outcome;
	char *addr_why;    /* the resolver's reason for a failure or BOGUS, or NULL */
	bool secure_alias; /* insecure target of a secure CNAME (RFC 7672 2.2.3) */
	struct sockaddr_storage *addrs;
	size_t n_addrs;
	bool tlsa_looked_up;      /* false: address records did not allow it */
	struct dns_answer tlsa;   /* the TLSA answer that counts */
	char *tlsa_base;          /* its base domain (no final dot), or NULL */
	struct dane_tlsa_set set; /* its records */
};
/*
 * Resolve host name for port: A and AAAA (unless n_given addresses are
 * given: then those, taken as secure), the CNAME check for an insecure
 * target, and the TLSA lookup at the base domains of RFC 7672 2.2.3.  Never
 * fails: every outcome is in h.  port goes into the addresses and the TLSA
 * owner (_port._tcp).
 */
void dane_host_resolve(struct dane_host *h, struct dns_resolver *res, const char *name,
                       unsigned port, const struct sockaddr_storage *given, size_t n_given);
void dane_host_clear(struct dane_host *h);
/*
 * Append the addresses of an A or AAAA answer to h (with h->port), at most
 * max in all (0: no bound); returns how many were left out.
 */
size_t dane_host_add_addrs(struct dane_host *h, const struct dns_answer *ans, size_t max);

/*
 * A client context for DANE probes: SSL_CTX_dane_enable, digest agility
 * SHA2-512 > SHA2-256 > Full (RFC 7671 section 9, SSL_CTX_dane_mtype_set),
 * no PKIX trust store (RFC 7672 3.1.3), SSL_VERIFY_NONE (the session is
 * judged after the handshake, never used for mail).  legacy_tls: also
 * TLS 1.0/1.1 (security level 0), which OpenSSL 3 refuses by default.
 */
SSL_CTX *dane_ctx_new(bool legacy_tls, struct why *why);
/*
 * An SSL for a probe of h.  When h has secure TLSA records: SSL_dane_enable
 * with the TLSA base domain, the reference identifiers (RFC 7672 3.2.2-3.2.3:
 * base domain, MX host name, CNAME-expanded name, next-hop domain when
 * nexthop is not NULL) by SSL_add1_host, no partial wildcards,
 * DANE_FLAG_NO_DANE_EE_NAMECHECKS (3.1.1), and each usable record by
 * SSL_dane_tlsa_add; *n_records says how many OpenSSL accepted.  SNI is the
 * TLSA base domain (RFC 7672 8.1), else the host name.  NULL on failure.
 */
SSL *dane_ssl_new(SSL_CTX *ctx, const struct dane_host *h, const char *nexthop, size_t *n_records,
                  struct why *why);

/* What a finished TLS session proved (from the SSL after the probe). */
struct dane_tls {
	bool established;
	char version[16]; /* "TLSv1.3" */
	char cipher[64];
	size_t n_records;      /* TLSA records OpenSSL accepted (0: DANE was not armed) */
	long verify_error;     /* X509_V_OK or OpenSSL's first verification error */
	char verify_text[96];  /* its text */
	int match_depth;       /* chain depth of the certificate that matched (0 leaf), -1 none */
	struct rr_assoc match; /* the record that matched, when match_depth >= 0 */
	char *peer_name; /* the reference identifier the certificate matched (escaped), or NULL */
	STACK_OF(X509) * chain; /* the peer's chain, leaf first (own references), or NULL */
	char *leaf_subject;     /* escaped */
	time_t leaf_not_after;
	bool leaf_expired;
};
/* Read the session of ssl after a probe; n_records as dane_ssl_new gave it. */
void dane_tls_observe(struct dane_tls *t, SSL *ssl, size_t n_records);
void dane_tls_clear(struct dane_tls *t);

/* Everything the verdict depends on. */
struct dane_facts {
	enum dns_sec addr_sec; /* the host's address state as RFC 7672 2.2.3 counts it */
	enum dns_outcome addr_outcome;
	const struct dns_answer *tlsa; /* the TLSA answer, NULL if not looked up */
	bool probed;                   /* a connection was attempted */
	enum smtp_result probe;
	enum smtp_stage probe_stage;
	const struct dane_tls *tls; /* NULL: no TLS session */
};
/* A verdict and the rule that gave it ("RFC 7672 2.1.1: ..."). */
struct dane_decision {
	enum dane_verdict verdict;
	const char *rule;
};
/* The verdict table (see verify.c for its rows and the RFC sections they implement). */
struct dane_decision dane_decide(const struct dane_facts *f);
/* Fill the DNS part of facts from a resolved host (probe and TLS parts zeroed). */
void dane_facts_from_host(struct dane_facts *f, const struct dane_host *h);

/* How well the TLSA RRset survives certificate renewals and key changes. */
enum dane_rollover {
	DANE_ROLLOVER_NONE,    /* no usable records */
	DANE_ROLLOVER_FRAGILE, /* records bound to one certificate (3 0 x): renewal breaks DANE */
	DANE_ROLLOVER_RENEWAL, /* 3 1 x or 2 x x: renewals with the same key / trust anchor match */
	DANE_ROLLOVER_NEXT_KEY, /* a second usable record for another key is published */
};
/* "none", "fragile", "renewal-safe", "next-key-published". */
const char *dane_rollover_name(enum dane_rollover r);
/* RENEWAL or NEXT_KEY: a routine change need not break DANE. */
bool dane_rollover_ready(enum dane_rollover r);
/*
 * Judge set (its usable records); chain (NULL: unknown) is the server's,
 * to tell the records for the key in use from those for another one.
 */
enum dane_rollover dane_rollover_assess(const struct dane_tlsa_set *set, STACK_OF(X509) * chain);

/* One address of one host, checked end to end. */
struct dane_address_check {
	char address[64]; /* "127.0.1.2" or "[::1]", with no port */
	struct smtp_report probe;
	struct dane_tls tls;
	struct dane_decision decision;
	enum dane_rollover rollover;
};
/*
 * Probe address i of h (blocking) with an SSL from dane_ssl_new and judge
 * it.  cfg as for smtp_probe_new (its sni is ignored: dane_ssl_new sets it).
 */
void dane_check_address(struct dane_address_check *out, SSL_CTX *ctx, const struct dane_host *h,
                        size_t i, const char *nexthop, const struct smtp_probe_config *cfg);
void dane_address_check_clear(struct dane_address_check *c);

#endif
