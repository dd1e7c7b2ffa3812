/*
 * mailpolicy.h - the domain policies a mail transport scan reads besides
 * MX and TLSA: SPF (RFC 7208), DMARC (RFC 7489), MTA-STS (RFC 8461: the
 * _mta-sts TXT record and the policy file fetched over HTTPS) and TLS-RPT
 * (RFC 8460).  Parsers take untrusted DNS and HTTP bytes: bounded, never
 * crash, every state explicit (never a boolean).
 */
#ifndef DANEMAIL_SCAN_MAILPOLICY_H
#define DANEMAIL_SCAN_MAILPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/resolver.h"
#include "util/buf.h"
#include "util/why.h"

struct event_base;

/* How a TXT-based policy record looked. */
enum policy_record_state {
	POLICY_ABSENT,        /* no record of this kind (secure or insecure proof) */
	POLICY_VALID,         /* exactly one record, well-formed */
	POLICY_MULTIPLE,      /* more than one record of the kind (SPF: permerror, RFC 7208 4.5) */
	POLICY_INVALID,       /* one record, malformed */
	POLICY_LOOKUP_FAILED, /* SERVFAIL, timeout, bogus: unknown, never "absent" */
};
/* "absent", "valid", "multiple", "invalid", "lookup-failed". */
const char *policy_record_state_name(enum policy_record_state s);

struct spf_info {
	enum policy_record_state state;
	char *record;       /* the v=spf1 record (escaped), or NULL */
	int dns_mechanisms; /* include, a, mx, ptr, exists, redirect: RFC 7208 4.6.4 limit 10 */
	bool too_many_lookups;
	char all[8];   /* the "all" qualifier: "-all", "~all", "?all", "+all" or "" */
	char why[160]; /* for INVALID */
};
/* Judge the TXT RRset at the domain (only strings starting "v=spf1" count). */
void spf_judge(const struct dns_answer *txt, struct spf_info *out);
void spf_info_clear(struct spf_info *s);

/* Where a domain's DMARC record was found (RFC 7489 6.6.3). */
enum dmarc_found {
	DMARC_FOUND_NONE,       /* nowhere (or the lookups failed) */
	DMARC_FOUND_DOMAIN,     /* at _dmarc.<domain> */
	DMARC_FOUND_ORG_DOMAIN, /* at _dmarc.<organizational domain>, none at the domain */
};
/* "none", "domain", "org-domain". */
const char *dmarc_found_name(enum dmarc_found f);

struct dmarc_info {
	enum policy_record_state state;
	char *record;
	char policy[16]; /* p=: "none", "quarantine", "reject" */
	char sp[16];     /* sp=, or "" */
	int pct;         /* 0-100, default 100 */
	bool has_rua;
	char why[160];
	enum dmarc_found found_at;
	char *org_domain;   /* the organizational domain (RFC 7489 3.2), or NULL if none */
	char effective[16]; /* the policy for the domain: p=, or for a record found at the
	                     * organizational domain sp= if present (RFC 7489 6.3), or "" */
};
/* Judge the TXT RRset at _dmarc.<domain> (records starting "v=DMARC1"). */
void dmarc_judge(const struct dns_answer *txt, struct dmarc_info *out);
/*
 * RFC 7489 6.6.3 step 3: whether, after dmarc_judge(), the record must be
 * looked for at _dmarc.<org_domain> instead: no record at the domain (not a
 * failure: a failed lookup is unknown, no reason to look elsewhere) and an
 * organizational domain other than the domain.  Records org_domain in d.
 */
bool dmarc_wants_org_domain(struct dmarc_info *d, const char *domain, const char *org_domain);
/* Judge the TXT RRset at _dmarc.<org domain> into d (after dmarc_wants_org_domain). */
void dmarc_judge_org_domain(const struct dns_answer *txt, struct dmarc_info *d);
void dmarc_info_clear(struct dmarc_info *d);

/* A public suffix list (libpsl), for organizational domains. */
struct policy_psl;
/* The list in file (the text format of publicsuffix.org or libpsl's DAFSA), or with file
 * NULL the newest libpsl has (built in or the publicsuffix package's); NULL and a reason. */
struct policy_psl *policy_psl_new(const char *file, struct why *why);
struct policy_psl *policy_psl_free(struct policy_psl *psl);
/*
 * The organizational domain of domain (RFC 7489 3.2: the longest public
 * suffix that matches, plus one label; unknown top-level domains count as
 * public suffixes, the "*" rule) into out; false when there is none (the
 * domain is itself a public suffix).
 */
bool policy_org_domain(const struct policy_psl *psl, const char *domain, struct buf *out);

struct tlsrpt_info {
	enum policy_record_state state;
	char *record;
	char *rua; /* the rua= value */
	char why[160];
};
/* Judge the TXT RRset at _smtp._tls.<domain> (records starting "v=TLSRPTv1"). */
void tlsrpt_judge(const struct dns_answer *txt, struct tlsrpt_info *out);
void tlsrpt_info_clear(struct tlsrpt_info *t);

struct mtasts_txt_info {
	enum policy_record_state state;
	char *id; /* id= (1-32 alphanumerics) */
	char why[160];
};
/* Judge the TXT RRset at _mta-sts.<domain> (records starting "v=STSv1"). */
void mtasts_txt_judge(const struct dns_answer *txt, struct mtasts_txt_info *out);
void mtasts_txt_info_clear(struct mtasts_txt_info *m);

enum mtasts_mode { MTASTS_MODE_NONE, MTASTS_MODE_TESTING, MTASTS_MODE_ENFORCE };

/* A parsed policy file (RFC 8461 3.2). */
struct mtasts_policy {
	bool valid;
	enum mtasts_mode mode;
	long max_age; /* seconds, 0..31557600 */
	char **mx;    /* mx patterns ("mail.example.com", "*.example.net") */
	size_t n_mx;
	char why[160]; /* when !valid */
};
const char *mtasts_mode_name(enum mtasts_mode m);
/* Parse the text of https://mta-sts.<domain>/.well-known/mta-sts.txt (CRLF or LF lines). */
void mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *out);
void mtasts_policy_clear(struct mtasts_policy *p);
/* Whether a policy's mx patterns match this MX host name (RFC 8461 4.1; wildcard = one label). */
bool mtasts_policy_matches(const struct mtasts_policy *p, const char *mx_host);

/* Outcome of fetching a policy file. */
enum mtasts_fetch_state {
	MTASTS_FETCH_OK,
	MTASTS_FETCH_HTTP_ERROR,  /* a status other than 200 (RFC 8461 3.3) */
	MTASTS_FETCH_TLS_ERROR,   /* certificate not valid for mta-sts.<domain> (PKIX) */
	MTASTS_FETCH_UNREACHABLE, /* DNS, connect, timeout */
	MTASTS_FETCH_TOO_LARGE,   /* over 64 KB */
	MTASTS_FETCH_BAD_TYPE,    /* Content-Type not text/plain */
};
const char *mtasts_fetch_state_name(enum mtasts_fetch_state s);

/* Called once from the event loop with the fetched body (NULL unless OK). */
typedef void mtasts_fetch_cb(void *arg, enum mtasts_fetch_state state, const char *body, size_t len,
                             const char *detail);

struct mtasts_fetcher;
/*
 * HTTPS fetches with libcurl's multi-socket API on a libevent base.  ca_file
 * NULL: the system store.  resolve: optional libcurl CURLOPT_RESOLVE-style
 * "host:443:addr" entries joined by ',' (tests point mta-sts.* at loopback);
 * port 0: 443.  No redirects are followed (RFC 8461 3.3).
 */
struct mtasts_fetcher *mtasts_fetcher_new(struct event_base *base, const char *ca_file,
                                          const char *resolve, unsigned port);
struct mtasts_fetcher *mtasts_fetcher_free(struct mtasts_fetcher *f);
/* Start fetching https://mta-sts.<domain>/.well-known/mta-sts.txt; false if it could not start. */
bool mtasts_fetch(struct mtasts_fetcher *f, const char *domain, unsigned timeout_ms,
                  mtasts_fetch_cb *cb, void *arg);

#endif
