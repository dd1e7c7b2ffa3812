/*
 * report.h - what a scan writes: one JSON object per domain (JSON Lines,
 * schema SCAN_SCHEMA, documented in danemail(1)) and a flat CSV summary
 * line, for scanned domains and for input lines that were no domain.
 */
#ifndef DANEMAIL_SCAN_REPORT_H
#define DANEMAIL_SCAN_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "dns/rr.h"
#include "engine.h"
#include "input.h"

/* Version of the JSON Lines schema; bumped when a field changes meaning or goes away. */
#define SCAN_SCHEMA 1

/* The JSON object of a finished domain (new reference). */
json_t *scan_domain_json(const struct scan_domain *d);
/* The JSON object of an input entry that is no domain name. */
json_t *scan_invalid_json(const struct scan_item *it);

/* The CSV header line. */
void scan_csv_header(FILE *fp);
/* One CSV line for a finished domain. */
void scan_csv_domain(FILE *fp, const struct scan_domain *d);
/* One CSV line for an invalid input entry. */
void scan_csv_invalid(FILE *fp, const struct scan_item *it);

/*
 * The JSON object of a TLSA record: usage, selector, matching_type, data (hex)
 * and usable (RFC 7672 3.1); danemail verify tlsa prints the same (new reference).
 */
json_t *scan_assoc_json(const struct rr_assoc *a);

#endif
