/*
 * store_sqlite.c - the results store (store.h) in an SQLite file.
 *
 * The default backend: a file path (or an SQLite "file:" URI).  The file is
 * put in WAL mode with a busy timeout, so that a monitor writing and a
 * report reading can share it; writes come in batches of STORE_BATCH_ROWS
 * rows, one transaction each, through prepared statements kept for the
 * store's life.  The schema is migrated forward on open inside one
 * BEGIN IMMEDIATE transaction (so two processes opening a new file do not
 * both create it); a file whose schema_version is newer than STORE_SCHEMA
 * is refused.  Times are stored as integer seconds since the epoch.
 *
 * A callback may call the store again (nested walks): a cached statement
 * that is still stepping is not reused, a fresh one is prepared instead.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store_impl.h"
#include "util/alloc.h"

/* How long a writer waits for another process's transaction, in ms. */
#define SQ_BUSY_MS 30000

/* The schema, step by step: step i brings the file to version i + 1. */
static const char *const sq_migrations[] = {
        /* 1: scans, their results and the monitor's alerts. */
        "CREATE TABLE scans ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " label TEXT NOT NULL,"
        " shard TEXT,"
        " started INTEGER NOT NULL,"
        " finished INTEGER,"
        " domains INTEGER);"
        "CREATE TABLE results ("
        " id INTEGER PRIMARY KEY,"
        " scan_id INTEGER NOT NULL REFERENCES scans(id),"
        " domain TEXT NOT NULL,"
        " scanned INTEGER NOT NULL,"
        " json TEXT NOT NULL);"
        /* history of a domain, and the newest row per domain */
        "CREATE INDEX results_domain ON results(domain, scan_id, id);"
        "CREATE INDEX results_scan ON results(scan_id);"
        "CREATE TABLE alerts ("
        " key TEXT PRIMARY KEY,"
        " first_seen INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL,"
        " last_sent INTEGER NOT NULL DEFAULT 0,"
        " text TEXT NOT NULL);",
};
_Static_assert(sizeof(sq_migrations) / sizeof(sq_migrations[0]) == STORE_SCHEMA,
               "one migration step per schema version");

enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_SCAN_BEGIN,
	SQ_PUT,
	SQ_SCAN_END,
	SQ_LATEST,
	SQ_HISTORY,
	SQ_PREVIOUS,
	SQ_ALERT_PUT,
	SQ_ALERT_GET,
	SQ_ALERT_LIST,
	SQ_ALERT_DELETE,
	SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
        [SQ_BEGIN] = "BEGIN IMMEDIATE",
        [SQ_COMMIT] = "COMMIT",
        [SQ_ROLLBACK] = "ROLLBACK",
        [SQ_SCAN_BEGIN] = "INSERT INTO scans(label, shard, started) VALUES (?1, ?2, ?3)",
        [SQ_PUT] = "INSERT INTO results(scan_id, domain, scanned, json) VALUES (?1, ?2, ?3, ?4)",
        [SQ_SCAN_END] = "UPDATE scans SET finished = ?2, domains = ?3 WHERE id = ?1",
        /* one index probe per distinct domain (results_domain) */
        [SQ_LATEST] = "SELECT r.scan_id, r.domain, r.scanned, r.json"
                      " FROM (SELECT DISTINCT domain FROM results) AS d"
                      " JOIN results AS r ON r.id = (SELECT id FROM results"
                      "  WHERE domain = d.domain ORDER BY scan_id DESC, id DESC LIMIT 1)"
                      " ORDER BY d.domain",
        [SQ_HISTORY] = "SELECT scan_id, domain, scanned, json FROM results"
                       " WHERE domain = ?1 ORDER BY scan_id, id",
        [SQ_PREVIOUS] = "SELECT scan_id, domain, scanned, json FROM results"
                        " WHERE domain = ?1 AND (?2 = 0 OR scan_id < ?2)"
                        " ORDER BY scan_id DESC, id DESC LIMIT 1",
        [SQ_ALERT_PUT] = "INSERT INTO alerts(key, first_seen, last_seen, last_sent, text)"
                         " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET"
                         " first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
                         " last_sent = excluded.last_sent, text = excluded.text",
        [SQ_ALERT_GET] = "SELECT key, first_seen, last_seen, last_sent, text FROM alerts"
                         " WHERE key = ?1",
        [SQ_ALERT_LIST] = "SELECT key, first_seen, last_seen, last_sent, text FROM alerts"
                          " ORDER BY key",
        [SQ_ALERT_DELETE] = "DELETE FROM alerts WHERE key = ?1",
};

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_NSTMT]; /* prepared on first use */
};

/* A statement in use: the cached one, or a temporary one when that is busy. */
struct sq_use {
	sqlite3_stmt *stmt;
	bool temp;
};

static const struct store_ops sq_ops;

static struct store_sqlite *
sq_of(struct store *st)
{
	return (struct store_sqlite *)st;
}

static bool
sq_fail(struct store_sqlite *s, struct why *why, const char *what)
{
	return why_set(why, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
}

static bool
sq_get(struct store_sqlite *s, enum sq_stmt which, struct sq_use *u, struct why *why)
{
	sqlite3_stmt **slot = &s->stmt[which];

	u->temp = false;
	if (*slot != NULL && sqlite3_stmt_busy(*slot)) {
		u->temp = true;
		slot = &u->stmt;
		*slot = NULL;
	}
	if (*slot == NULL &&
	    sqlite3_prepare_v3(s->db, sq_sql[which], -1, u->temp ? 0 : SQLITE_PREPARE_PERSISTENT,
	                       slot, NULL) != SQLITE_OK)
		return sq_fail(s, why, "prepare");
	u->stmt = *slot;
	return true;
}

static void
sq_put(struct sq_use *u)
{
	if (u->temp)
		sqlite3_finalize(u->stmt);
	else {
		sqlite3_reset(u->stmt);
		sqlite3_clear_bindings(u->stmt);
	}
	u->stmt = NULL;
}

/* Run a statement that returns no rows. */
static bool
sq_run(struct store_sqlite *s, enum sq_stmt which, struct why *why)
{
	struct sq_use u;
	int rc;

	if (!sq_get(s, which, &u, why))
		return false;
	rc = sqlite3_step(u.stmt);
	sq_put(&u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, sq_sql[which]);
	return true;
}

static void
sq_rollback(struct store_sqlite *s)
{
	struct why ignored;

	if (!sqlite3_get_autocommit(s->db))
		(void)sq_run(s, SQ_ROLLBACK, &ignored);
}

static bool
sq_text(struct store_sqlite *s, sqlite3_stmt *stmt, int col, const char *text, struct why *why)
{
	int rc;

	if (text == NULL)
		rc = sqlite3_bind_null(stmt, col);
	else
		rc = sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
	return rc == SQLITE_OK || sq_fail(s, why, "bind");
}

static bool
sq_int(struct store_sqlite *s, sqlite3_stmt *stmt, int col, int64_t v, struct why *why)
{
	return sqlite3_bind_int64(stmt, col, v) == SQLITE_OK || sq_fail(s, why, "bind");
}

/* The schema version of the file: 0 when it has none yet. */
static bool
sq_version(struct store_sqlite *s, int64_t *version, struct why *why)
{
	sqlite3_stmt *stmt;
	int rc;

	*version = 0;
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT count(*) FROM sqlite_master"
	                        " WHERE type = 'table' AND name = 'schema_version'",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, why, "reading the schema");
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return sq_fail(s, why, "reading the schema");
	}
	if (sqlite3_column_int64(stmt, 0) == 0) {
		sqlite3_finalize(stmt);
		return true;
	}
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1,
	                       &stmt, NULL) != SQLITE_OK)
		return sq_fail(s, why, "reading schema_version");
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return sq_fail(s, why, "reading schema_version");
	}
	*version = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return true;
}

static bool
sq_exec(struct store_sqlite *s, const char *sql, struct why *why)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		why_set(why, "sqlite: %s", err != NULL ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
		return false;
	}
	return true;
}

/* Bring the schema to STORE_SCHEMA: the steps past the file's version, in one transaction. */
static bool
sq_migrate(struct store_sqlite *s, struct why *why)
{
	int64_t version;
	char sql[128];

	if (!sq_version(s, &version, why))
		return false;
	if (version > STORE_SCHEMA)
		return why_set(why,
		               "schema version %lld is newer than this program's %d:"
		               " upgrade danemail",
		               (long long)version, STORE_SCHEMA);
	if (version == STORE_SCHEMA)
		return true;
	/* Another process may be migrating too: take the write lock, then look again. */
	if (!sq_exec(s, "BEGIN IMMEDIATE", why))
		return false;
	if (!sq_version(s, &version, why))
		goto fail;
	if (version > STORE_SCHEMA) {
		why_set(why,
		        "schema version %lld is newer than this program's %d: upgrade danemail",
		        (long long)version, STORE_SCHEMA);
		goto fail;
	}
	if (version == 0 && !sq_exec(s,
	                             "CREATE TABLE IF NOT EXISTS schema_version ("
	                             " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
	                             why))
		goto fail;
	for (; version < STORE_SCHEMA; version++) {
		if (!sq_exec(s, sq_migrations[version], why)) {
			why_prefix(why, "schema step %lld", (long long)version + 1);
			goto fail;
		}
		snprintf(sql, sizeof(sql),
		         "INSERT INTO schema_version(version, applied) VALUES (%lld, "
		         "strftime('%%s', 'now'))",
		         (long long)version + 1);
		if (!sq_exec(s, sql, why))
			goto fail;
	}
	if (!sq_exec(s, "COMMIT", why))
		goto fail;
	return true;
fail:
	sq_rollback(s);
	return false;
}

struct store *
store_sqlite_open(const char *path, struct why *why)
{
	struct store_sqlite *s = xcalloc(1, sizeof(*s));
	int rc;

	s->base.ops = &sq_ops;
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
	                             SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		if (s->db != NULL)
			sq_fail(s, why, path);
		else
			why_set(why, "sqlite: %s: %s", path, sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	/* WAL lets readers run while a writer commits; NORMAL sync is safe in WAL. */
	if (!sq_exec(s, "PRAGMA journal_mode = WAL", why) ||
	    !sq_exec(s, "PRAGMA synchronous = NORMAL", why) ||
	    !sq_exec(s, "PRAGMA foreign_keys = ON", why) || !sq_migrate(s, why)) {
		why_prefix(why, "%s", path);
		goto fail;
	}
	return &s->base;
fail:
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

static void
sq_close(struct store *st)
{
	struct store_sqlite *s = sq_of(st);

	for (int i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s);
}

static int64_t
sq_scan_begin(struct store *st, const char *label, const char *shard, time_t started,
              struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;
	int rc;

	if (!sq_get(s, SQ_SCAN_BEGIN, &u, why))
		return 0;
	if (!sq_text(s, u.stmt, 1, label, why) || !sq_text(s, u.stmt, 2, shard, why) ||
	    !sq_int(s, u.stmt, 3, started, why)) {
		sq_put(&u);
		return 0;
	}
	rc = sqlite3_step(u.stmt);
	sq_put(&u);
	if (rc != SQLITE_DONE) {
		sq_fail(s, why, "new scan");
		return 0;
	}
	return sqlite3_last_insert_rowid(s->db);
}

static bool
sq_put_batch(struct store *st, const struct store_row *rows, size_t n, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;
	int rc;

	if (!sq_run(s, SQ_BEGIN, why))
		return false;
	if (!sq_get(s, SQ_PUT, &u, why))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!sq_int(s, u.stmt, 1, rows[i].scan_id, why) ||
		    !sq_text(s, u.stmt, 2, rows[i].domain, why) ||
		    !sq_int(s, u.stmt, 3, rows[i].scanned, why) ||
		    !sq_text(s, u.stmt, 4, rows[i].json, why)) {
			sq_put(&u);
			goto fail;
		}
		rc = sqlite3_step(u.stmt);
		sqlite3_reset(u.stmt);
		if (rc != SQLITE_DONE) {
			sq_fail(s, why, "writing results");
			sq_put(&u);
			goto fail;
		}
	}
	sq_put(&u);
	if (!sq_run(s, SQ_COMMIT, why))
		goto fail;
	return true;
fail:
	sq_rollback(s);
	return false;
}

static bool
sq_scan_end(struct store *st, int64_t scan_id, time_t finished, uint64_t domains, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;
	int rc;

	if (!sq_get(s, SQ_SCAN_END, &u, why))
		return false;
	if (!sq_int(s, u.stmt, 1, scan_id, why) || !sq_int(s, u.stmt, 2, finished, why) ||
	    !sq_int(s, u.stmt, 3, (int64_t)domains, why)) {
		sq_put(&u);
		return false;
	}
	rc = sqlite3_step(u.stmt);
	sq_put(&u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, "finishing the scan");
	if (sqlite3_changes(s->db) != 1)
		return why_set(why, "no scan %lld in the store", (long long)scan_id);
	return true;
}

/* Step through a bound row query, calling cb per row until it says stop. */
static bool
sq_walk_rows(struct store_sqlite *s, struct sq_use *u, store_row_cb *cb, void *arg, bool *found,
             struct why *why)
{
	struct store_row row;
	int rc;

	while ((rc = sqlite3_step(u->stmt)) == SQLITE_ROW) {
		row.scan_id = sqlite3_column_int64(u->stmt, 0);
		row.domain = (const char *)sqlite3_column_text(u->stmt, 1);
		row.scanned = (time_t)sqlite3_column_int64(u->stmt, 2);
		row.json = (const char *)sqlite3_column_text(u->stmt, 3);
		if (row.domain == NULL || row.json == NULL) {
			sq_put(u);
			return why_set(why, "sqlite: a result row without domain or JSON");
		}
		if (found != NULL)
			*found = true;
		if (!cb(arg, &row)) {
			sq_put(u);
			return true;
		}
	}
	sq_put(u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, "reading results");
	return true;
}

static bool
sq_latest(struct store *st, store_row_cb *cb, void *arg, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;

	if (!sq_get(s, SQ_LATEST, &u, why))
		return false;
	return sq_walk_rows(s, &u, cb, arg, NULL, why);
}

static bool
sq_history(struct store *st, const char *domain, store_row_cb *cb, void *arg, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;

	if (!sq_get(s, SQ_HISTORY, &u, why))
		return false;
	if (!sq_text(s, u.stmt, 1, domain, why)) {
		sq_put(&u);
		return false;
	}
	return sq_walk_rows(s, &u, cb, arg, NULL, why);
}

static bool
sq_previous(struct store *st, const char *domain, int64_t scan_id, store_row_cb *cb, void *arg,
            bool *found, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;

	if (!sq_get(s, SQ_PREVIOUS, &u, why))
		return false;
	if (!sq_text(s, u.stmt, 1, domain, why) || !sq_int(s, u.stmt, 2, scan_id, why)) {
		sq_put(&u);
		return false;
	}
	return sq_walk_rows(s, &u, cb, arg, found, why);
}

static bool
sq_alert_put(struct store *st, const struct store_alert *a, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;
	int rc;

	if (!sq_get(s, SQ_ALERT_PUT, &u, why))
		return false;
	if (!sq_text(s, u.stmt, 1, a->key, why) || !sq_int(s, u.stmt, 2, a->first_seen, why) ||
	    !sq_int(s, u.stmt, 3, a->last_seen, why) || !sq_int(s, u.stmt, 4, a->last_sent, why) ||
	    !sq_text(s, u.stmt, 5, a->text, why)) {
		sq_put(&u);
		return false;
	}
	rc = sqlite3_step(u.stmt);
	sq_put(&u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, "writing an alert");
	return true;
}

static bool
sq_walk_alerts(struct store_sqlite *s, struct sq_use *u, store_alert_cb *cb, void *arg, bool *found,
               struct why *why)
{
	struct store_alert a;
	int rc;

	while ((rc = sqlite3_step(u->stmt)) == SQLITE_ROW) {
		a.key = (const char *)sqlite3_column_text(u->stmt, 0);
		a.first_seen = (time_t)sqlite3_column_int64(u->stmt, 1);
		a.last_seen = (time_t)sqlite3_column_int64(u->stmt, 2);
		a.last_sent = (time_t)sqlite3_column_int64(u->stmt, 3);
		a.text = (const char *)sqlite3_column_text(u->stmt, 4);
		if (a.key == NULL || a.text == NULL) {
			sq_put(u);
			return why_set(why, "sqlite: an alert without key or text");
		}
		if (found != NULL)
			*found = true;
		if (!cb(arg, &a)) {
			sq_put(u);
			return true;
		}
	}
	sq_put(u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, "reading alerts");
	return true;
}

static bool
sq_alert_get(struct store *st, const char *key, store_alert_cb *cb, void *arg, bool *found,
             struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;

	if (!sq_get(s, SQ_ALERT_GET, &u, why))
		return false;
	if (!sq_text(s, u.stmt, 1, key, why)) {
		sq_put(&u);
		return false;
	}
	return sq_walk_alerts(s, &u, cb, arg, found, why);
}

static bool
sq_alert_list(struct store *st, store_alert_cb *cb, void *arg, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;

	if (!sq_get(s, SQ_ALERT_LIST, &u, why))
		return false;
	return sq_walk_alerts(s, &u, cb, arg, NULL, why);
}

static bool
sq_alert_delete(struct store *st, const char *key, struct why *why)
{
	struct store_sqlite *s = sq_of(st);
	struct sq_use u;
	int rc;

	if (!sq_get(s, SQ_ALERT_DELETE, &u, why))
		return false;
	if (!sq_text(s, u.stmt, 1, key, why)) {
		sq_put(&u);
		return false;
	}
	rc = sqlite3_step(u.stmt);
	sq_put(&u);
	if (rc != SQLITE_DONE)
		return sq_fail(s, why, "deleting an alert");
	return true;
}

static const struct store_ops sq_ops = {
        .name = "sqlite",
        .close = sq_close,
        .scan_begin = sq_scan_begin,
        .put_batch = sq_put_batch,
        .scan_end = sq_scan_end,
        .latest = sq_latest,
        .history = sq_history,
        .previous = sq_previous,
        .alert_put = sq_alert_put,
        .alert_get = sq_alert_get,
        .alert_list = sq_alert_list,
        .alert_delete = sq_alert_delete,
};
