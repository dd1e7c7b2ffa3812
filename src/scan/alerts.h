/*
 * alerts.h - what `danemail monitor` alerts on, decided from two scan
 * results of a domain (its JSON object, report.h, schema SCAN_SCHEMA): the
 * current one and the previous one from the store.
 *
 * The alerts of a run are a JSON object keyed by a stable text ("kind
 * subject"), one alert per MX host however many domains use it (the
 * domains listed), or per domain for what is the domain's own (MX RRset,
 * MTA-STS policy).  An alert is a JSON object:
 *   {"key", "kind", "severity": "critical"|"warning", "scope": "mx"|"domain",
 *    "subject": host or domain, "domains": [...], "summary": one line,
 *    "state": what identifies this occurrence (a repeat with another state
 *    is a change), "evidence": [lines], "fix": advice}
 * Every string in it comes from the scan's JSON, which is escaped already.
 */
#ifndef DANEMAIL_SCAN_ALERTS_H
#define DANEMAIL_SCAN_ALERTS_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

/* The kinds, worst first within each severity. */
enum alert_kind {
	ALERT_TLSA_MISMATCH,    /* "tlsa-mismatch": no usable TLSA record matches (critical) */
	ALERT_DNSSEC_BOGUS,     /* "dnssec-bogus": MX, address or TLSA RRset bogus (critical) */
	ALERT_STARTTLS_LOST,    /* "starttls-lost": no TLS where it was, or TLSA demands it */
	ALERT_MTASTS_UNCOVERED, /* "mta-sts-uncovered": the policy misses an MX host */
	ALERT_WILL_STOP,        /* "tlsa-will-stop-matching": at the --at date (warning) */
	ALERT_TLS_DOWNGRADED,   /* "tls-downgraded": a lower TLS version than before (warning) */
	ALERT_KINDS,
};
/* The names above. */
const char *alert_kind_name(enum alert_kind k);

/* How the comparison is done. */
struct alert_when {
	time_t now; /* the scan's time */
	time_t at;  /* look-ahead date for ALERT_WILL_STOP; 0: no look-ahead */
};

/*
 * Add the alerts of one domain to alerts (an object keyed by alert key):
 * cur is the domain's current JSON object, prev the previous one (NULL:
 * none), open the alerts on record from earlier runs (an object keyed by
 * alert key, may be NULL), so that an alert raised by a change (STARTTLS
 * lost, TLS downgraded) stays while its condition does.
 */
void alerts_domain(json_t *alerts, const json_t *cur, const json_t *prev, const json_t *open,
                   const struct alert_when *w);

/*
 * Why the domain could not be judged (its MX lookup failed, no address
 * could be tested), or NULL: Nagios' UNKNOWN.
 */
const char *alerts_domain_unknown(const json_t *cur);

/* "critical" is 2, "warning" 1 (the Nagios codes); 0 for anything else. */
int alert_severity_code(const json_t *alert);

/* Do two renderings of an alert stand for the same occurrence (kind, subject, domains, state)? */
bool alert_same(const json_t *a, const json_t *b);

/* Parse "YYYY-MM-DD" or RFC 3339 ("2026-11-29T08:44:17Z", offsets too); false if it is none. */
bool alert_parse_date(const char *s, time_t *out);

#endif
