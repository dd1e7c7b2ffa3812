/*
 * table.c - string-keyed hash table with an LRU list of idle entries (see
 * table.h).  Chained buckets, doubled when the load passes 1.  Keys come
 * from DNS names and addresses the scanner has already checked; the table
 * only hashes and compares them.
 */
#include <string.h>

#include "table.h"
#include "util/alloc.h"

#define FIRST_BUCKETS 1024

uint64_t
scan_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void
scan_table_init(struct scan_table *t)
{
	memset(t, 0, sizeof(*t));
	t->n_buckets = FIRST_BUCKETS;
	t->buckets = xcalloc(t->n_buckets, sizeof(*t->buckets));
}

void
scan_table_clear(struct scan_table *t)
{
	size_t i;

	for (i = 0; t->buckets && i < t->n_buckets; i++) {
		struct scan_entry *e, *next;

		for (e = t->buckets[i]; e; e = next) {
			next = e->next;
			free(e->key);
			e->key = NULL;
			e->linked = e->idle = false;
			e->next = e->lru_prev = e->lru_next = NULL;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct scan_entry *
scan_table_find(const struct scan_table *t, const char *key)
{
	uint64_t h = scan_hash(key);
	struct scan_entry *e;

	for (e = t->buckets[h & (t->n_buckets - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void
grow(struct scan_table *t)
{
	size_t n = t->n_buckets * 2, i;
	struct scan_entry **b = xcalloc(n, sizeof(*b));

	for (i = 0; i < t->n_buckets; i++) {
		struct scan_entry *e, *next;

		for (e = t->buckets[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

void
scan_table_insert(struct scan_table *t, struct scan_entry *e, const char *key)
{
	size_t i;

	if (t->n >= t->n_buckets)
		grow(t);
	e->key = xstrdup(key);
	e->hash = scan_hash(key);
	i = e->hash & (t->n_buckets - 1);
	e->next = t->buckets[i];
	t->buckets[i] = e;
	e->linked = true;
	t->n++;
}

void
scan_table_remove(struct scan_table *t, struct scan_entry *e)
{
	struct scan_entry **pp;

	if (!e->linked)
		return;
	scan_table_busy(t, e);
	for (pp = &t->buckets[e->hash & (t->n_buckets - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	free(e->key);
	e->key = NULL;
	e->next = NULL;
	e->linked = false;
	t->n--;
}

void
scan_table_idle(struct scan_table *t, struct scan_entry *e)
{
	if (e->idle)
		return;
	e->idle = true;
	e->lru_prev = NULL;
	e->lru_next = t->lru_new;
	if (t->lru_new)
		t->lru_new->lru_prev = e;
	else
		t->lru_old = e;
	t->lru_new = e;
	t->n_idle++;
}

void
scan_table_busy(struct scan_table *t, struct scan_entry *e)
{
	if (!e->idle)
		return;
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		t->lru_new = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		t->lru_old = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
	e->idle = false;
	t->n_idle--;
}

struct scan_entry *
scan_table_oldest_idle(const struct scan_table *t)
{
	return t->lru_old;
}
