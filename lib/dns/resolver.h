/*
 * resolver.h - DNSSEC-validating lookups through libunbound.
 *
 * Every answer carries two explicit facts, never a boolean "ok":
 *   - what came back (dns_outcome): records, a proof that the name has no
 *     records of the type (NODATA) or does not exist (NXDOMAIN), or a
 *     failure (SERVFAIL, TIMEOUT, ERROR);
 *   - how far it is proven (dns_sec): SECURE, INSECURE, BOGUS (with
 *     libunbound's reason) or INDETERMINATE (nothing could be proven: the
 *     lookup failed).
 * Only SECURE data may be used to encrypt or to authenticate.  A failure is
 * never "no records": callers must treat it as temporary.
 *
 * Two front ends share one answer format: a synchronous resolver, safe to
 * use from many threads at once (libunbound's context is thread-safe), and
 * an asynchronous one driven by a libevent base (ub_ctx_create_event).
 * Both are configured the same way, so tests differ from production only by
 * configuration: an unbound config file, extra trust anchors, a forwarder.
 */
#ifndef DANEMAIL_DNS_RESOLVER_H
#define DANEMAIL_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/owner.h"
#include "util/why.h"

struct event_base;

/* The root trust anchor Debian's dns-root-data keeps current. */
#define DNS_ROOT_ANCHOR_FILE "/usr/share/dns/root.key"

enum dns_outcome {
	DNS_OUTCOME_DATA,     /* records of the type were returned */
	DNS_OUTCOME_NODATA,   /* the name exists, no records of the type */
	DNS_OUTCOME_NXDOMAIN, /* the name does not exist */
	DNS_OUTCOME_SERVFAIL, /* the resolver could not get an answer */
	DNS_OUTCOME_TIMEOUT,  /* no answer within the caller's time limit */
	DNS_OUTCOME_ERROR,    /* anything else: REFUSED, library error, bad name */
};

enum dns_sec {
	DNS_SEC_SECURE,        /* validated from a trust anchor */
	DNS_SEC_INSECURE,      /* proven to be outside any signed chain */
	DNS_SEC_BOGUS,         /* validation failed: possibly an attack */
	DNS_SEC_INDETERMINATE, /* the lookup failed: nothing is proven */
};

/* "data", "nodata", "nxdomain", "servfail", "timeout", "error". */
const char *dns_outcome_name(enum dns_outcome o);
/* "secure", "insecure", "bogus", "indeterminate". */
const char *dns_sec_name(enum dns_sec s);

/* One record of the answer RRset: RDATA in wire form, names uncompressed. */
struct dns_rr {
	uint8_t *rdata;
	size_t len;
};

/* An answer; every pointer is owned by it (see dns_answer_clear). */
struct dns_answer {
	char *qname; /* the name asked, presentation form with final dot */
	uint16_t qtype;
	enum dns_outcome outcome;
	enum dns_sec sec;
	int rcode;       /* DNS rcode (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...), -1 if none */
	char *canonical; /* owner of the records after CNAMEs; equals qname without them */
	uint32_t ttl;    /* smallest TTL of the RRset, or the negative TTL (RFC 2308) */
	size_t n_rrs;
	struct dns_rr *rrs;
	char *why; /* reason for BOGUS or a failure (escaped), else NULL */
};

/* Free everything an answer owns and zero it; NULL is fine. */
void dns_answer_clear(struct dns_answer *ans);

/*
 * Mapping libunbound's results onto answers, shared by every front end
 * (these here, and resolvers built elsewhere on libunbound, such as the
 * scanner's resolver threads).  Start: the question, in the failure state
 * until proven otherwise.  Fail: a failure outcome (INDETERMINATE) and its
 * reason, escaped.  From a ub_result: the one mapping of rcode, packet,
 * secure/bogus and why_bogus (a BOGUS answer keeps its data but is BOGUS
 * whatever it holds; SERVFAIL and other rcodes are failures, never "no
 * records"; the rcode comes from the packet header).
 */
struct ub_result;
void dns_answer_start(struct dns_answer *ans, const char *name, uint16_t type);
void dns_answer_fail(struct dns_answer *ans, enum dns_outcome outcome, const char *why);
void dns_answer_from_ub(struct dns_answer *ans, const struct ub_result *result);
/* Whether the answer holds records that may be relied on (DATA and SECURE). */
bool dns_answer_secure_data(const struct dns_answer *ans);

/*
 * Resolver configuration.  With neither unbound_conf nor trust_anchor, the
 * root trust anchor DNS_ROOT_ANCHOR_FILE is used; an unbound_conf names its
 * own trust anchors (trust-anchor-file:, auto-trust-anchor-file:).
 */
struct dns_config {
	const char *unbound_conf; /* unbound config file (server:, forward-zone: ...), or NULL */
	const char *trust_anchor; /* file of DS/DNSKEY lines to trust, or NULL */
	const char *forwarder;    /* send every query to this resolver "addr[@port]", or NULL */
	size_t cache_entries;     /* answers the sync resolver keeps; 0: DNS_CACHE_ENTRIES */
	unsigned cache_max_ttl;   /* longest time an answer is kept (s); 0: DNS_CACHE_MAX_TTL */
};

/* Defaults of the synchronous resolver's answer cache (see dns/cache.h). */
#define DNS_CACHE_ENTRIES   10000
#define DNS_CACHE_MAX_TTL   3600
#define DNS_CACHE_BOGUS_TTL 60

/* Synchronous resolver; thread-safe. */
struct dns_resolver;

/* A resolver configured from cfg (NULL: production defaults); NULL and a reason on failure. */
struct dns_resolver *dns_resolver_new(const struct dns_config *cfg, struct why *why);
/* Free; NULL is fine; returns NULL. */
struct dns_resolver *dns_resolver_free(struct dns_resolver *res);
/*
 * Look up name/type and fill *ans (always, even on failure: check outcome
 * and sec).  Answers come from the resolver's own cache while their TTL
 * lasts (failures are never cached); otherwise blocks until libunbound
 * answers or gives up.
 */
void dns_lookup(struct dns_resolver *res, const char *name, uint16_t type, struct dns_answer *ans);

/* One question of a dns_lookup_many() batch. */
struct dns_question {
	const char *name;
	uint16_t type;
};

/*
 * Look up n questions at once (cache hits inline, misses from up to
 * DNS_MANY_THREADS threads in parallel) and fill answers[0..n).  For a
 * message with many recipients: the time is that of the slowest lookup,
 * not the sum.
 */
void dns_lookup_many(struct dns_resolver *res, const struct dns_question *q, size_t n,
                     struct dns_answer *answers);
#define DNS_MANY_THREADS 16

/*
 * The exact-then-lower-cased rule for SMIMEA/OPENPGPKEY owners (RFC 7929
 * section 3 leaves case to the publisher): whether an answer for the exact
 * local part calls for a second lookup of the lower-cased one (it proved
 * nothing exists, and was not bogus), and whether that second answer should
 * replace the first (it has records, or it is worse: bogus or failed).
 */
bool dns_answer_wants_fallback(const struct dns_answer *exact);
bool dns_answer_prefer_fallback(const struct dns_answer *exact, const struct dns_answer *fallback);

/*
 * Look up an address's SMIMEA or OPENPGPKEY records (type, owner kind ok)
 * by that rule: the exact local part, then the lower-cased one if needed.
 * *matched says which answer ans holds: "exact" or "lower-cased".
 */
void dns_lookup_address(struct dns_resolver *res, const struct owner_address *addr,
                        enum owner_kind ok, uint16_t type, struct dns_answer *ans,
                        const char **matched);

/* Asynchronous resolver inside a libevent base; use from the base's thread only. */
struct dns_async;

/* Called once per lookup with an answer the callee now owns (dns_answer_clear it). */
typedef void dns_async_callback(void *arg, struct dns_answer *ans);

/* An asynchronous resolver on base; NULL and a reason on failure. */
struct dns_async *dns_async_new(struct event_base *base, const struct dns_config *cfg,
                                struct why *why);
/* Free, abandoning lookups in flight (their callbacks are not called); returns NULL. */
struct dns_async *dns_async_free(struct dns_async *as);
/*
 * Start a lookup; the callback runs from the event loop, or at once from
 * inside this call when libunbound can answer from its cache.  timeout_ms > 0
 * gives up after that long with DNS_OUTCOME_TIMEOUT.  False (and no
 * callback) if it could not be started.
 */
bool dns_async_lookup(struct dns_async *as, const char *name, uint16_t type, unsigned timeout_ms,
                      dns_async_callback *cb, void *arg, struct why *why);
/* Lookups started and not yet called back. */
size_t dns_async_pending(const struct dns_async *as);

#endif
