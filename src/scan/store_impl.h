/*
 * store_impl.h - what a results-store backend implements (store.h).
 *
 * store.c owns the front: it picks the backend from the URI, buffers
 * store_put() rows and hands them to the backend in batches, and flushes
 * the buffer before a read that could see buffered rows.  A backend embeds
 * struct store as its first member and fills a struct store_ops; its
 * functions are called only with valid arguments (non-NULL strings).
 */
#ifndef DANEMAIL_SCAN_STORE_IMPL_H
#define DANEMAIL_SCAN_STORE_IMPL_H

#include <stddef.h>

#include "store.h"

/* Rows buffered before they are written in one transaction. */
#define STORE_BATCH_ROWS 1000
/* ... or this many bytes of JSON, whichever comes first. */
#define STORE_BATCH_BYTES (8u << 20)

/* A backend's functions; the same contracts as the store.h ones. */
struct store_ops {
	const char *name; /* store_backend() */
	void (*close)(struct store *st);
	int64_t (*scan_begin)(struct store *st, const char *label, const char *shard,
	                      time_t started, struct why *why);
	/* Write n rows (n > 0) atomically: all or none. */
	bool (*put_batch)(struct store *st, const struct store_row *rows, size_t n,
	                  struct why *why);
	bool (*scan_end)(struct store *st, int64_t scan_id, time_t finished, uint64_t domains,
	                 struct why *why);
	bool (*latest)(struct store *st, store_row_cb *cb, void *arg, struct why *why);
	bool (*history)(struct store *st, const char *domain, store_row_cb *cb, void *arg,
	                struct why *why);
	bool (*previous)(struct store *st, const char *domain, int64_t scan_id, store_row_cb *cb,
	                 void *arg, bool *found, struct why *why);
	bool (*alert_put)(struct store *st, const struct store_alert *a, struct why *why);
	bool (*alert_get)(struct store *st, const char *key, store_alert_cb *cb, void *arg,
	                  bool *found, struct why *why);
	bool (*alert_list)(struct store *st, store_alert_cb *cb, void *arg, struct why *why);
	bool (*alert_delete)(struct store *st, const char *key, struct why *why);
};

/* The front's part of every store; backends embed it first. */
struct store {
	const struct store_ops *ops;
	struct store_row *pending; /* buffered rows; strings owned */
	size_t npending;
	size_t pending_bytes;
};

/* The backends' constructors: NULL with why set on failure. */
struct store *store_sqlite_open(const char *path, struct why *why);
struct store *store_pg_open(const char *conninfo, struct why *why);

#endif
