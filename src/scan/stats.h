/*
 * stats.h - the aggregate table of a scan, in the spirit of the TES
 * survey shown at ICANN58: how many domains have a working MX, offer
 * STARTTLS, which TLS versions, how many sign their MX RRset, pass DANE,
 * publish SPF / DMARC / MTA-STS / TLS-RPT.  Each row says what its
 * percentage is of.
 */
#ifndef DANEMAIL_SCAN_STATS_H
#define DANEMAIL_SCAN_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "engine.h"

/* TLS versions counted (the lowest per domain). */
enum scan_tls_bucket {
	SCAN_TLS_13,
	SCAN_TLS_12,
	SCAN_TLS_11,
	SCAN_TLS_10,
	SCAN_TLS_OTHER,
	SCAN_TLS_BUCKETS,
};

#define SCAN_VERDICTS   (DANE_VERDICT_NOT_TESTABLE + 1)
#define SCAN_MX_KINDS   (SCAN_MX_BROKEN + 1)
#define SCAN_STARTTLS_N (SCAN_STARTTLS_NO_MAIL + 1)

struct scan_stats {
	uint64_t entries; /* input entries, valid or not */
	uint64_t invalid;
	uint64_t domains; /* scanned */
	uint64_t kind[SCAN_MX_KINDS];
	uint64_t with_mail;  /* MX records or implicit MX */
	uint64_t exist;      /* the domain exists: MX records, implicit, null MX */
	uint64_t mx_secure;  /* of those: the MX answer (records or denial) is DNSSEC-secure */
	uint64_t working_mx; /* an SMTP dialogue worked on some address */
	uint64_t starttls[SCAN_STARTTLS_N];
	uint64_t tls[SCAN_TLS_BUCKETS];
	uint64_t enumerated; /* domains with --tls-enumerate results */
	uint64_t accepts[SCAN_TLS_BUCKETS -
	                 1]; /* of those: some MX accepts TLS 1.3, 1.2, 1.1, 1.0 */
	uint64_t verdict[SCAN_VERDICTS];
	uint64_t policies; /* domains whose policies were judged */
	uint64_t spf_valid, spf_multiple, spf_invalid;
	uint64_t dmarc_valid, dmarc_reject, dmarc_quarantine, dmarc_none;
	uint64_t sts_txt, sts_enforce, sts_testing, sts_policy_bad;
	uint64_t tlsrpt_valid;
};

/* Count a finished domain. */
void scan_stats_add(struct scan_stats *s, const struct scan_domain *d);
/* Count an input entry that was no domain. */
void scan_stats_add_invalid(struct scan_stats *s);
/* The table, for people (stderr). */
void scan_stats_print(FILE *fp, const struct scan_stats *s, const struct scan_counters *c,
                      double seconds);
/* The same as JSON (new reference). */
json_t *scan_stats_json(const struct scan_stats *s, const struct scan_counters *c, double seconds);

#endif
