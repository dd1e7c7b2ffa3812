/*
 * store.h - scan results kept over time, for the monitor and the report.
 *
 * Every scan appends: one row per domain holding the domain's JSON Lines
 * object (report.h, schema SCAN_SCHEMA) verbatim, under a scan row that
 * says when, what (label) and which shard.  A domain's history is its rows
 * in scan order.  The monitor also keeps its alert state here, so that an
 * unchanged alert repeats at most once per interval.
 *
 * Two backends behind this one interface, chosen by the URI:
 *   - SQLite (the default): a file path ("results.db");
 *   - PostgreSQL (libpq): "postgresql://..." or "postgres://..." URIs, or a
 *     libpq conninfo string ("host=... dbname=..."), so that several
 *     scanners on shards of one list (--shard I/N) write into one database.
 * The schema is versioned (table schema_version) and migrated forward on
 * open; a database newer than this program is refused.
 *
 * Not thread-safe: one store per thread.
 */
#ifndef DANEMAIL_SCAN_STORE_H
#define DANEMAIL_SCAN_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/why.h"

/* The schema version this program writes. */
#define STORE_SCHEMA 1

struct store;

/* One stored result. */
struct store_row {
	int64_t scan_id;
	const char *domain;
	time_t scanned;   /* when the domain's scan finished */
	const char *json; /* the JSON Lines object, as written by the scan */
};

/* Called per row; return false to stop the walk (the walk then returns true). */
typedef bool store_row_cb(void *arg, const struct store_row *row);

/* Open (creating or migrating the schema) the store at uri. */
struct store *store_open(const char *uri, struct why *why);
/* Flush and close; NULL is fine. */
void store_close(struct store *st);
/* "sqlite" or "postgresql". */
const char *store_backend(const struct store *st);

/*
 * Start a scan: label says what wrote it ("scan", "monitor"), shard is
 * "I/N" or NULL.  Returns the scan's id (> 0) or 0 with why set.
 */
int64_t store_scan_begin(struct store *st, const char *label, const char *shard, time_t started,
                         struct why *why);
/* Append a domain's result to a scan (buffered: written in batches). */
bool store_put(struct store *st, int64_t scan_id, const char *domain, time_t scanned,
               const char *json, struct why *why);
/* Write what is buffered and mark the scan finished with its domain count. */
bool store_scan_end(struct store *st, int64_t scan_id, time_t finished, uint64_t domains,
                    struct why *why);

/*
 * The newest row of every domain (over all scans; with shards, the rows of
 * several scans together), in domain order.
 */
bool store_latest(struct store *st, store_row_cb *cb, void *arg, struct why *why);
/* A domain's rows, oldest first. */
bool store_history(struct store *st, const char *domain, store_row_cb *cb, void *arg,
                   struct why *why);
/*
 * The newest row of domain from a scan older than scan_id (0: from any
 * scan).  *found says whether there was one; cb is called at most once.
 */
bool store_previous(struct store *st, const char *domain, int64_t scan_id, store_row_cb *cb,
                    void *arg, bool *found, struct why *why);

/* The monitor's memory of an alert, keyed by a stable text (kind + MX + ...). */
struct store_alert {
	const char *key;
	time_t first_seen; /* first raised */
	time_t last_seen;  /* last scan that still showed it */
	time_t last_sent;  /* last notification, 0 = never */
	const char *text;  /* the alert as last rendered (JSON) */
};
typedef bool store_alert_cb(void *arg, const struct store_alert *a);

/* Insert or replace an alert. */
bool store_alert_put(struct store *st, const struct store_alert *a, struct why *why);
/* Look one up: *found false when unknown; cb called at most once. */
bool store_alert_get(struct store *st, const char *key, store_alert_cb *cb, void *arg, bool *found,
                     struct why *why);
/* Every alert on record, in key order. */
bool store_alert_list(struct store *st, store_alert_cb *cb, void *arg, struct why *why);
/* Forget an alert (it cleared). */
bool store_alert_delete(struct store *st, const char *key, struct why *why);

#endif
