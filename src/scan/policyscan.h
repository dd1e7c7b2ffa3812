/*
 * policyscan.h - the scanner's side of the domain policies: which TXT
 * lookups to make for SPF, DMARC, MTA-STS and TLS-RPT, handing the answers
 * to mailpolicy.h's judges, the MTA-STS policy fetch, whether the policy's
 * mx patterns cover the MX set (RFC 8461 4.1), and the JSON of it all.
 */
#ifndef DANEMAIL_SCAN_POLICYSCAN_H
#define DANEMAIL_SCAN_POLICYSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "dns/resolver.h"
#include "mailpolicy.h"
#include "util/buf.h"

/* The TXT records a domain's policies live in. */
enum scan_policy_kind {
	SCAN_POLICY_SPF,    /* <domain> (RFC 7208 4.5) */
	SCAN_POLICY_DMARC,  /* _dmarc.<domain> (RFC 7489 6.1) */
	SCAN_POLICY_MTASTS, /* _mta-sts.<domain> (RFC 8461 3.1) */
	SCAN_POLICY_TLSRPT, /* _smtp._tls.<domain> (RFC 8460 3) */
	SCAN_POLICY_KINDS,
};

/* What a domain's policies came to. */
struct scan_policies {
	bool judged[SCAN_POLICY_KINDS]; /* the TXT answer was judged */
	struct spf_info spf;
	struct dmarc_info dmarc;
	struct mtasts_txt_info sts_txt;
	struct tlsrpt_info tlsrpt;
	bool fetched; /* the MTA-STS policy file was fetched (or tried) */
	enum mtasts_fetch_state fetch_state;
	char *fetch_detail;          /* escaped */
	struct mtasts_policy policy; /* parsed when fetch_state is OK */
};

/* The owner name of a kind's TXT RRset for domain (no final dot) into out. */
void scan_policy_owner(enum scan_policy_kind kind, const char *domain, struct buf *out);
/* Judge a TXT answer of kind (the answer stays the caller's). */
void scan_policy_judge(struct scan_policies *p, enum scan_policy_kind kind,
                       const struct dns_answer *txt);
/*
 * After the _dmarc.<domain> answer was judged: whether the record must be
 * looked for at the organizational domain (RFC 7489 6.6.3; psl NULL: never),
 * whose _dmarc owner goes into out.
 */
bool scan_policy_dmarc_org_owner(struct scan_policies *p, const struct policy_psl *psl,
                                 const char *domain, struct buf *out);
/* Judge the TXT answer at _dmarc.<organizational domain> (the answer stays the caller's). */
void scan_policy_judge_dmarc_org(struct scan_policies *p, const struct dns_answer *txt);
/* Whether the MTA-STS policy file should be fetched (a valid _mta-sts record). */
bool scan_policy_wants_fetch(const struct scan_policies *p);
/* Take a fetch result: parse the body when there is one. */
void scan_policy_fetched(struct scan_policies *p, enum mtasts_fetch_state state, const char *body,
                         size_t len, const char *detail);
/*
 * The policies as JSON members of obj ("spf", "dmarc", "mta_sts",
 * "tls_rpt"; only those judged).  mx_hosts[0..n_mx) are the domain's MX host
 * names, checked against the MTA-STS policy's mx patterns.
 */
void scan_policy_json(const struct scan_policies *p, json_t *obj, const char *const *mx_hosts,
                      size_t n_mx);
/* Free what p owns. */
void scan_policy_clear(struct scan_policies *p);

#endif
