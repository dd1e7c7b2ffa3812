/*
 * stats.h - the aggregate table of a scan, in the spirit of the TES
 * survey shown at ICANN58: how many domains have a working MX, offer
 * STARTTLS, which TLS versions, how many sign their MX RRset, pass DANE,
 * publish SPF / DMARC / MTA-STS / TLS-RPT.  Each row says what its
 * percentage is of.
 *
 * One path only: the counters are taken from each domain's JSON Lines
 * object (report.h, schema 1), so the table at the end of a scan and the
 * one `danemail report` makes of its output are the same by construction.
 * The rows come from one function (scan_stats_rows) that the text, JSON,
 * Markdown and HTML renderings all walk.
 */
#ifndef DANEMAIL_SCAN_STATS_H
#define DANEMAIL_SCAN_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "engine.h"
#include "util/why.h"

/* TLS versions counted (the lowest per domain). */
enum scan_tls_bucket {
	SCAN_TLS_13,
	SCAN_TLS_12,
	SCAN_TLS_11,
	SCAN_TLS_10,
	SCAN_TLS_OTHER,
	SCAN_TLS_BUCKETS,
};
/* "TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "other". */
const char *scan_tls_bucket_name(enum scan_tls_bucket b);

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

/*
 * Count one JSON Lines object of a scan: a domain's result, or an input
 * entry that was no domain (it has "error").  False, counting nothing, when
 * j is no such object (not schema 1, no domain, an unknown mx.kind,
 * verdict or starttls); why says what is wrong.
 */
bool scan_stats_add_json(struct scan_stats *s, const json_t *j, struct why *why);

/* Index of name among an enum's names (name_of(0 .. n-1)), or -1. */
int scan_enum_index(const char *name, const char *(*name_of)(int), int n);
/* Wrappers of the engine's name functions, for scan_enum_index. */
const char *scan_stats_kind_name(int i);
const char *scan_stats_starttls_name(int i);
const char *scan_stats_verdict_name(int i);

/* One row of the table, or a line of text (n, of, of_what unused: of_what NULL). */
struct scan_stats_row {
	const char *key;     /* stable name: "with_mail", "mx_kind.null-mx", "verdict.pass" */
	int indent;          /* 0 or 2 */
	const char *what;    /* label, or the line of text */
	uint64_t n, of;      /* count and what its percentage is of */
	const char *of_what; /* "domains", "with mail", ...; NULL: a line of text */
};
typedef void scan_stats_row_cb(void *arg, const struct scan_stats_row *r);
/* Walk the rows of the table in order. */
void scan_stats_rows(const struct scan_stats *s, scan_stats_row_cb *cb, void *arg);
/* 100 n / of, or 0. */
double scan_stats_pct(uint64_t n, uint64_t of);

/* The engine's line that opens the scan's table ("danemail scan: N domains in ..."). */
void scan_stats_print_run(FILE *fp, const struct scan_stats *s, const struct scan_counters *c,
                          double seconds);
/* The table, for people (the scan prints it on stderr after its run line). */
void scan_stats_print(FILE *fp, const struct scan_stats *s);
/*
 * The same as JSON (new reference); c NULL: without "seconds",
 * "domains_per_second" and "engine" (a report knows no engine).
 */
json_t *scan_stats_json(const struct scan_stats *s, const struct scan_counters *c, double seconds);

#endif
