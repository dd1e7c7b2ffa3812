/*
 * table.h - the scanner's lookup tables: a hash table of string keys with
 * an optional least-recently-used list, for the MX host and SMTP probe
 * tables that deduplicate work across domains.
 *
 * Entries are intrusive (struct scan_entry is embedded in the owner's
 * struct): the table never allocates or frees an owner, it only links it.
 * An entry is "in use" while someone holds a reference; the owner puts it
 * on the LRU list when the last reference goes and takes it off when a new
 * one comes, so the oldest idle entries can be evicted to bound memory.
 * Keys are compared exactly (callers normalise them: lower case, no dot).
 */
#ifndef DANEMAIL_SCAN_TABLE_H
#define DANEMAIL_SCAN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the owner; zero it before use. */
struct scan_entry {
	char *key; /* owned by the table while linked */
	uint64_t hash;
	struct scan_entry *next;                /* hash chain */
	struct scan_entry *lru_prev, *lru_next; /* LRU list, when idle */
	bool linked;                            /* in the hash table */
	bool idle;                              /* on the LRU list */
};

struct scan_table {
	struct scan_entry **buckets;
	size_t n_buckets;
	size_t n;                             /* linked entries */
	struct scan_entry *lru_new, *lru_old; /* idle entries, newest first */
	size_t n_idle;
};

/* An empty table (allocates the first buckets). */
void scan_table_init(struct scan_table *t);
/* Release the buckets; entries still linked are only forgotten (their keys freed). */
void scan_table_clear(struct scan_table *t);
/* The entry with this key, or NULL. */
struct scan_entry *scan_table_find(const struct scan_table *t, const char *key);
/* Link e under a copy of key (which must not be in the table). */
void scan_table_insert(struct scan_table *t, struct scan_entry *e, const char *key);
/* Unlink e (and take it off the LRU list); its key is freed.  Unlinked entries are ignored. */
void scan_table_remove(struct scan_table *t, struct scan_entry *e);
/* Mark e idle: newest on the LRU list. */
void scan_table_idle(struct scan_table *t, struct scan_entry *e);
/* Mark e in use again (off the LRU list); no-op if it was not idle. */
void scan_table_busy(struct scan_table *t, struct scan_entry *e);
/* The oldest idle entry, or NULL. */
struct scan_entry *scan_table_oldest_idle(const struct scan_table *t);

/* FNV-1a, 64 bits: the hash of keys (also used to pick shards). */
uint64_t scan_hash(const char *s);

/* The struct that holds an embedded member. */
#define SCAN_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
