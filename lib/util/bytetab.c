/*
 * bytetab.c - byte-keyed hash table in LRU order (see bytetab.h): chained
 * buckets, a power of two of them (up to 2^20), FNV-1a hashes.
 */
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/bytetab.h"

static uint64_t
bytes_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

void
bytetab_init(struct bytetab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max ? max : 1;
	t->n_buckets = 16;
	while (t->n_buckets < t->max && t->n_buckets < ((size_t)1 << 20))
		t->n_buckets *= 2;
	t->buckets = xcalloc(t->n_buckets, sizeof(*t->buckets));
}

void
bytetab_fini(struct bytetab *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

struct bytetab_link *
bytetab_find(struct bytetab *t, const uint8_t *key, size_t len)
{
	uint64_t h = bytes_hash(key, len);
	struct bytetab_link *l;

	for (l = t->buckets[h & (t->n_buckets - 1)]; l; l = l->hnext)
		if (l->hash == h && l->len == len && memcmp(l->key, key, len) == 0) {
			lru_touch(&t->lru, &l->lru);
			return l;
		}
	return NULL;
}

void
bytetab_insert(struct bytetab *t, struct bytetab_link *l, const uint8_t *key, size_t len)
{
	struct bytetab_link **bucket;

	l->hash = bytes_hash(key, len);
	l->key = xmemdup(key, len);
	l->len = len;
	bucket = &t->buckets[l->hash & (t->n_buckets - 1)];
	l->hnext = *bucket;
	*bucket = l;
	l->lru.prev = l->lru.next = NULL;
	lru_push_front(&t->lru, &l->lru);
	t->count++;
}

void
bytetab_remove(struct bytetab *t, struct bytetab_link *l)
{
	struct bytetab_link **pp = &t->buckets[l->hash & (t->n_buckets - 1)];

	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
	lru_unlink(&t->lru, &l->lru);
	free(l->key);
	l->key = NULL;
	t->count--;
}

bool
bytetab_full(const struct bytetab *t)
{
	return t->count >= t->max;
}

struct bytetab_link *
bytetab_oldest(const struct bytetab *t)
{
	return t->lru.tail ? BYTETAB_ENTRY(t->lru.tail, struct bytetab_link, lru) : NULL;
}
