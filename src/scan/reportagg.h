/*
 * reportagg.h - what `danemail report` gathers from scan results (JSON
 * Lines objects, schema 1, report.h): the statistics table (stats.h), the
 * failure reasons, the MX operators, the scan time range.  Streaming: a
 * domain's object is counted and dropped; only the failure reasons (a few
 * dozen names) and the operators (one entry per registered domain of an MX
 * host) are tables.
 *
 * Everything read here is untrusted: strings are kept as they are and
 * escaped by whoever renders them (htmlreport.c, reportcmd.c).
 */
#ifndef DANEMAIL_SCAN_REPORTAGG_H
#define DANEMAIL_SCAN_REPORTAGG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "stats.h"
#include "table.h"
#include "util/buf.h"
#include "util/why.h"

/* What a failure reason's percentage is of. */
enum report_of {
	REPORT_OF_DOMAINS,   /* every domain scanned */
	REPORT_OF_WITH_MAIL, /* domains with mail servers */
	REPORT_OF_CHECKED,   /* domains whose policies were checked */
};

/* One failure reason: "DANE" / "tlsa-mismatch", with the domains showing it. */
struct report_reason {
	char *category; /* "MX", "DANE", "STARTTLS", "SMTP", "policy" */
	char *reason;
	enum report_of of;
	uint64_t domains;
};

/* An MX operator: the registered domain of MX host names. */
struct report_operator {
	struct scan_entry entry; /* key: the operator's name */
	uint64_t domains;        /* domains with an MX host there */
	uint64_t dane_pass;      /* of those: the domain's DANE verdict is pass */
	uint64_t hosts;          /* distinct MX host names there */
};

struct policy_psl;

struct report_agg {
	struct scan_stats stats;
	struct report_reason *reasons;
	size_t n_reasons;
	struct scan_table operators; /* struct report_operator */
	/* MX host names seen: 64-bit hashes (open addressing, 0 = empty; 16 bytes a host) */
	uint64_t *hosts;
	size_t hosts_cap, n_hosts;
	time_t first, last;           /* scan time range, 0: unknown */
	const struct policy_psl *psl; /* for operators' names (NULL: host names) */
};

/* An empty aggregate; psl (may be NULL: operators are host names) outlives it. */
void report_agg_init(struct report_agg *a, const struct policy_psl *psl);
/* Free what a holds. */
void report_agg_clear(struct report_agg *a);
/*
 * Count one JSON Lines object (scanned: when, 0 unknown; the object's own
 * "scanned" member is used when there is one).  False, counting nothing,
 * when it is no scan result (why says why).
 */
bool report_agg_add(struct report_agg *a, const json_t *j, time_t scanned, struct why *why);
/* The failure reasons, most domains first (ties: category, reason): sorted in place. */
void report_agg_sort_reasons(struct report_agg *a);
/*
 * The operators, most domains first (ties: name): a new array of n entries
 * (*n set) pointing into a; free() it.  limit 0: all.
 */
const struct report_operator **report_agg_operators(const struct report_agg *a, size_t limit,
                                                    size_t *n);
/* The operator's name. */
const char *report_operator_name(const struct report_operator *op);
/* The denominator of a reason (from a's stats). */
uint64_t report_agg_of(const struct report_agg *a, enum report_of of);
/* "domains", "with mail", "checked". */
const char *report_of_name(enum report_of of);

/*
 * The operator of an MX host: its registered domain by the public suffix
 * list (as the DMARC organizational domain, mailpolicy.h), or the host name
 * itself when it is a public suffix or the list is missing.  Lower-cased,
 * final dot dropped, into out.
 */
void report_registered_domain(const struct report_agg *a, const char *host, struct buf *out);

/* Parse an RFC 3339 UTC time ("2026-11-29T08:44:17Z"); 0 when it is not one. */
time_t report_parse_time(const char *s);

#endif
