/*
 * pgpkeycache.c - parsed OpenPGP keys by their bytes (see pgpkeycache.h):
 * a chained hash table and an LRU list under the cache lock; each entry has
 * its own lock for the key and an atomic reference count: an entry goes
 * when it is neither listed nor referenced.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "mail/pgpkeycache.h"
#include "util/alloc.h"
#include "util/lru.h"

struct pgpkey_ref {
	struct lru_link lru;
	struct pgpkey_ref *hnext;
	uint64_t hash;
	uint8_t *data;
	size_t len;
	struct pgpkey *key;
	pthread_mutex_t use; /* held while the key is in use, and for the memo */
	/* the last check (under `use`): for this address, valid until memo_until */
	char *memo_address;
	time_t memo_at, memo_until;
	enum pgpkey_usable memo_verdict;
	struct why memo_why;
	atomic_int refs; /* the cache holds one while the entry is listed */
};

struct pgpkey_cache {
	pthread_mutex_t lock;
	struct pgpkey_ref **buckets;
	size_t n_buckets, count, max;
	struct lru_list lru;
};

static uint64_t
bytes_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct pgpkey_cache *
pgpkey_cache_new(size_t max_entries)
{
	struct pgpkey_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max = max_entries ? max_entries : 1;
	c->n_buckets = 16;
	while (c->n_buckets < c->max && c->n_buckets < ((size_t)1 << 20))
		c->n_buckets *= 2;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	return c;
}

static void
ref_destroy(struct pgpkey_ref *r)
{
	free(r->memo_address);
	pgpkey_free(r->key);
	pthread_mutex_destroy(&r->use);
	free(r->data);
	free(r);
}

/* Take r out of the table and the list (cache lock held); drops the cache's reference. */
static bool
entry_unlist(struct pgpkey_cache *c, struct pgpkey_ref *r)
{
	struct pgpkey_ref **pp = &c->buckets[r->hash & (c->n_buckets - 1)];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	lru_unlink(&c->lru, &r->lru);
	c->count--;
	return atomic_fetch_sub(&r->refs, 1) == 1;
}

struct pgpkey_ref *
pgpkey_cache_get(struct pgpkey_cache *c, const uint8_t *data, size_t len, struct why *why)
{
	uint64_t h = bytes_hash(data, len);
	struct pgpkey_ref *r;
	struct pgpkey *key;

	pthread_mutex_lock(&c->lock);
	for (r = c->buckets[h & (c->n_buckets - 1)]; r; r = r->hnext)
		if (r->hash == h && r->len == len && memcmp(r->data, data, len) == 0)
			break;
	if (r) {
		lru_touch(&c->lru, &r->lru);
		atomic_fetch_add(&r->refs, 1); /* listed, so never 0 here */
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	pthread_mutex_unlock(&c->lock);

	if ((key = pgpkey_parse(data, len, why)) == NULL) /* outside the lock: slow */
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->hash = h;
	r->data = xmemdup(data, len);
	r->len = len;
	r->key = key;
	pthread_mutex_init(&r->use, NULL);
	atomic_init(&r->refs, 2); /* the caller's and the cache's */
	pthread_mutex_lock(&c->lock);
	while (c->count >= c->max && c->lru.tail) {
		struct pgpkey_ref *old = LRU_ENTRY(c->lru.tail, struct pgpkey_ref, lru);

		if (entry_unlist(c, old))
			ref_destroy(old);
	}
	r->hnext = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = r;
	lru_push_front(&c->lru, &r->lru);
	c->count++;
	pthread_mutex_unlock(&c->lock);
	return r;
}

enum pgpkey_usable
pgpkey_ref_check(struct pgpkey_ref *r, const char *address, time_t now, struct why *why)
{
	enum pgpkey_usable v;
	const char *a = address ? address : "";

	pthread_mutex_lock(&r->use);
	if (r->memo_address && strcmp(r->memo_address, a) == 0 && now >= r->memo_at &&
	    now < r->memo_until) {
		v = r->memo_verdict;
		if (why)
			*why = r->memo_why;
	} else {
		v = pgpkey_check(r->key, address, now, &r->memo_why);
		free(r->memo_address);
		r->memo_address = xstrdup(a);
		r->memo_at = now;
		r->memo_until = now + PGPKEY_CHECK_MEMO;
		r->memo_verdict = v;
		if (why)
			*why = r->memo_why;
	}
	pthread_mutex_unlock(&r->use);
	return v;
}

const struct pgpkey *
pgpkey_ref_lock(struct pgpkey_ref *r)
{
	pthread_mutex_lock(&r->use);
	return r->key;
}

void
pgpkey_ref_unlock(struct pgpkey_ref *r)
{
	pthread_mutex_unlock(&r->use);
}

void
pgpkey_ref_release(struct pgpkey_ref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1)
		ref_destroy(r);
}

struct pgpkey_cache *
pgpkey_cache_free(struct pgpkey_cache *c)
{
	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&c->lock);
	while (c->lru.head) {
		struct pgpkey_ref *r = LRU_ENTRY(c->lru.head, struct pgpkey_ref, lru);

		if (entry_unlist(c, r))
			ref_destroy(r);
	}
	pthread_mutex_unlock(&c->lock);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
