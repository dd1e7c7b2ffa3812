/*
 * htmlreport.h - `danemail report` as one self-contained HTML page: no
 * external assets, no script, inline CSS and SVG charts, a
 * Content-Security-Policy that forbids scripts and fetches.  Every string
 * from the scan results (domain names, certificate subjects, SMTP replies)
 * is hostile input and is HTML-escaped.  Numbers are also in the DOM for
 * machines: <table id="stats"> rows carry data-key, data-value, data-of;
 * chart bars carry the same.  The same data gives the same bytes (no clock
 * is read; the caller passes --date if it wants one).
 */
#ifndef DANEMAIL_SCAN_HTMLREPORT_H
#define DANEMAIL_SCAN_HTMLREPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "reportagg.h"

/* What the page says about where its data came from. */
struct report_html_info {
	const char *title;
	const char *date;     /* --date, or NULL */
	const char *source;   /* "3 JSON Lines files" / "database results.db" */
	uint64_t lines;       /* objects read */
	uint64_t malformed;   /* lines that were no scan result */
	uint64_t duplicates;  /* older results of a domain replaced by a later one */
	uint64_t drill_shown; /* domains in the drill-down */
	uint64_t max_domains; /* its cap */
	size_t top_n;         /* rows of the failure and operator charts */
};

/* Write s HTML-escaped (text and attribute values); NULL writes "-". */
void report_html_escape(FILE *fp, const char *s);

/* One domain's row of the drill-down table (a <tr> with a <details>), to fp. */
void report_html_domain(FILE *fp, const json_t *j);

/*
 * The page: header, statistics, charts, failure reasons, operators, then
 * the drill-down rows read back from drill (written by report_html_domain;
 * NULL: none).  False when writing failed.
 */
bool report_html_write(FILE *fp, struct report_agg *a, const struct report_html_info *info,
                       FILE *drill);

#endif
