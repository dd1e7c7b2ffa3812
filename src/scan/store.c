/*
 * store.c - the results store's front (store.h): picks the backend from the
 * URI, buffers store_put() rows and writes them in batches of
 * STORE_BATCH_ROWS through the backend (store_sqlite.c, store_pg.c).
 *
 * Reads flush the buffer first when it could hold a row they would return,
 * so a reader always sees its own writes; a read that cannot (the
 * monitor's store_previous() for older scans) leaves the batch alone.
 * A failed batch is dropped and its error returned; the rows are not retried.
 */
#include <string.h>

#include "store_impl.h"
#include "util/alloc.h"

/* postgresql://, postgres:// or a libpq conninfo ("host=... dbname=..."). */
static bool
store_uri_is_pg(const char *uri)
{
	return strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0 ||
	       strchr(uri, '=') != NULL;
}

struct store *
store_open(const char *uri, struct why *why)
{
	if (uri == NULL || *uri == '\0') {
		why_set(why, "empty store URI");
		return NULL;
	}
	/* "sqlite:PATH" forces SQLite, for a path that holds a '='. */
	if (strncmp(uri, "sqlite:", 7) == 0)
		return store_sqlite_open(uri + 7, why);
	if (store_uri_is_pg(uri))
		return store_pg_open(uri, why);
	return store_sqlite_open(uri, why);
}

static void
store_pending_clear(struct store *st)
{
	for (size_t i = 0; i < st->npending; i++) {
		free((char *)st->pending[i].domain);
		free((char *)st->pending[i].json);
	}
	st->npending = 0;
	st->pending_bytes = 0;
}

/* Write the buffered rows, if any. */
static bool
store_flush(struct store *st, struct why *why)
{
	bool ok;

	if (st->npending == 0)
		return true;
	ok = st->ops->put_batch(st, st->pending, st->npending, why);
	store_pending_clear(st);
	return ok;
}

void
store_close(struct store *st)
{
	struct why why;

	if (st == NULL)
		return;
	/* A caller that wanted to know called store_scan_end(); nobody to tell here. */
	(void)store_flush(st, &why);
	free(st->pending);
	st->pending = NULL;
	st->ops->close(st);
}

const char *
store_backend(const struct store *st)
{
	return st->ops->name;
}

int64_t
store_scan_begin(struct store *st, const char *label, const char *shard, time_t started,
                 struct why *why)
{
	if (label == NULL || *label == '\0') {
		why_set(why, "a scan needs a label");
		return 0;
	}
	return st->ops->scan_begin(st, label, shard, started, why);
}

bool
store_put(struct store *st, int64_t scan_id, const char *domain, time_t scanned, const char *json,
          struct why *why)
{
	struct store_row *row;

	if (scan_id <= 0 || domain == NULL || json == NULL)
		return why_set(why, "store_put: no scan, domain or result");
	if (st->pending == NULL)
		st->pending = xcalloc(STORE_BATCH_ROWS, sizeof(*st->pending));
	row = &st->pending[st->npending++];
	row->scan_id = scan_id;
	row->domain = xstrdup(domain);
	row->scanned = scanned;
	row->json = xstrdup(json);
	st->pending_bytes += strlen(json);
	if (st->npending == STORE_BATCH_ROWS || st->pending_bytes >= STORE_BATCH_BYTES)
		return store_flush(st, why);
	return true;
}

bool
store_scan_end(struct store *st, int64_t scan_id, time_t finished, uint64_t domains,
               struct why *why)
{
	if (!store_flush(st, why))
		return false;
	return st->ops->scan_end(st, scan_id, finished, domains, why);
}

/* Whether the buffer holds a row of domain (NULL: any) from a scan before scan_id (0: any). */
static bool
store_pending_has(const struct store *st, const char *domain, int64_t scan_id)
{
	for (size_t i = 0; i < st->npending; i++) {
		if (domain != NULL && strcmp(st->pending[i].domain, domain) != 0)
			continue;
		if (scan_id == 0 || st->pending[i].scan_id < scan_id)
			return true;
	}
	return false;
}

bool
store_latest(struct store *st, store_row_cb *cb, void *arg, struct why *why)
{
	if (!store_flush(st, why))
		return false;
	return st->ops->latest(st, cb, arg, why);
}

bool
store_history(struct store *st, const char *domain, store_row_cb *cb, void *arg, struct why *why)
{
	if (domain == NULL)
		return why_set(why, "store_history: no domain");
	if (store_pending_has(st, domain, 0) && !store_flush(st, why))
		return false;
	return st->ops->history(st, domain, cb, arg, why);
}

bool
store_previous(struct store *st, const char *domain, int64_t scan_id, store_row_cb *cb, void *arg,
               bool *found, struct why *why)
{
	*found = false;
	if (domain == NULL)
		return why_set(why, "store_previous: no domain");
	if (store_pending_has(st, domain, scan_id) && !store_flush(st, why))
		return false;
	return st->ops->previous(st, domain, scan_id, cb, arg, found, why);
}

bool
store_alert_put(struct store *st, const struct store_alert *a, struct why *why)
{
	if (a->key == NULL || a->text == NULL)
		return why_set(why, "store_alert_put: no key or text");
	return st->ops->alert_put(st, a, why);
}

bool
store_alert_get(struct store *st, const char *key, store_alert_cb *cb, void *arg, bool *found,
                struct why *why)
{
	*found = false;
	if (key == NULL)
		return why_set(why, "store_alert_get: no key");
	return st->ops->alert_get(st, key, cb, arg, found, why);
}

bool
store_alert_list(struct store *st, store_alert_cb *cb, void *arg, struct why *why)
{
	return st->ops->alert_list(st, cb, arg, why);
}

bool
store_alert_delete(struct store *st, const char *key, struct why *why)
{
	if (key == NULL)
		return why_set(why, "store_alert_delete: no key");
	return st->ops->alert_delete(st, key, why);
}
