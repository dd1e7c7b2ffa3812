/*
 * bytetab.h - a bounded hash table keyed by byte strings, in least recently
 * used order, for caches of parsed objects keyed by their encoding
 * (certificates by DER, OpenPGP keys by their packets).
 *
 * Intrusive: an entry embeds a struct bytetab_link; the table keeps a copy
 * of the key and compares keys in full (the hash only picks the bucket).  No
 * locking and no freeing of entries: the cache that owns the table does
 * both, evicting bytetab_oldest() while bytetab_full().
 */
#ifndef DANEMAIL_UTIL_BYTETAB_H
#define DANEMAIL_UTIL_BYTETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lru.h"

struct bytetab_link {
	struct bytetab_link *hnext;
	struct lru_link lru;
	uint64_t hash;
	uint8_t *key;
	size_t len;
};

struct bytetab {
	struct bytetab_link **buckets;
	size_t n_buckets, count, max;
	struct lru_list lru;
};

/* The entry of type T that holds link `l` as member `member`. */
#define BYTETAB_ENTRY(l, T, member) ((T *)(void *)((char *)(l)-offsetof(T, member)))

/* A table for at most max entries (at least 1). */
void bytetab_init(struct bytetab *t, size_t max);
/* Free the buckets; the table must be empty. */
void bytetab_fini(struct bytetab *t);
/* The entry for key, made the most recently used; NULL if there is none. */
struct bytetab_link *bytetab_find(struct bytetab *t, const uint8_t *key, size_t len);
/* Add l under a copy of key, as the most recently used; key must not be in t. */
void bytetab_insert(struct bytetab *t, struct bytetab_link *l, const uint8_t *key, size_t len);
/* Take l out of t and free its key copy. */
void bytetab_remove(struct bytetab *t, struct bytetab_link *l);
/* Whether another insert would go over the bound. */
bool bytetab_full(const struct bytetab *t);
/* The least recently used entry, or NULL when t is empty. */
struct bytetab_link *bytetab_oldest(const struct bytetab *t);

#endif
