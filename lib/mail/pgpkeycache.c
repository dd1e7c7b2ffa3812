/*
 * pgpkeycache.c - parsed OpenPGP keys by their bytes (see pgpkeycache.h):
 * a byte-keyed LRU table (util/bytetab.h) under the cache lock; each entry has
 * its own lock for the key and an atomic reference count: an entry goes
 * when it is neither listed nor referenced.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mail/pgpkeycache.h"
#include "util/alloc.h"
#include "util/bytetab.h"

struct pgpkey_ref {
	struct bytetab_link link; /* keyed by the key's bytes */
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
	struct bytetab tab;
};

struct pgpkey_cache *
pgpkey_cache_new(size_t max_entries)
{
	struct pgpkey_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	bytetab_init(&c->tab, max_entries);
	return c;
}

static void
ref_destroy(struct pgpkey_ref *r)
{
	free(r->memo_address);
	pgpkey_free(r->key);
	pthread_mutex_destroy(&r->use);
	free(r);
}

/* Take r out of the table (cache lock held); drops the cache's reference. */
static bool
entry_unlist(struct pgpkey_cache *c, struct pgpkey_ref *r)
{
	bytetab_remove(&c->tab, &r->link);
	return atomic_fetch_sub(&r->refs, 1) == 1;
}

/* The listed entry for data, with a reference for the caller (lock held). */
static struct pgpkey_ref *
lookup(struct pgpkey_cache *c, const uint8_t *data, size_t len)
{
	struct bytetab_link *l = bytetab_find(&c->tab, data, len);
	struct pgpkey_ref *r;

	if (l == NULL)
		return NULL;
	r = BYTETAB_ENTRY(l, struct pgpkey_ref, link);
	atomic_fetch_add(&r->refs, 1); /* listed, so never 0 here */
	return r;
}

struct pgpkey_ref *
pgpkey_cache_get(struct pgpkey_cache *c, const uint8_t *data, size_t len, struct why *why)
{
	struct pgpkey_ref *r, *other;
	struct pgpkey *key;

	pthread_mutex_lock(&c->lock);
	r = lookup(c, data, len);
	pthread_mutex_unlock(&c->lock);
	if (r)
		return r;

	if ((key = pgpkey_parse(data, len, why)) == NULL) /* outside the lock: slow */
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->key = key;
	pthread_mutex_init(&r->use, NULL);
	atomic_init(&r->refs, 2); /* the caller's and the cache's */
	pthread_mutex_lock(&c->lock);
	if ((other = lookup(c, data, len)) != NULL) { /* another thread was quicker */
		pthread_mutex_unlock(&c->lock);
		ref_destroy(r);
		return other;
	}
	while (bytetab_full(&c->tab)) {
		struct pgpkey_ref *old =
		        BYTETAB_ENTRY(bytetab_oldest(&c->tab), struct pgpkey_ref, link);

		if (entry_unlist(c, old))
			ref_destroy(old);
	}
	bytetab_insert(&c->tab, &r->link, data, len);
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
	struct bytetab_link *l;

	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&c->lock);
	while ((l = bytetab_oldest(&c->tab)) != NULL) {
		struct pgpkey_ref *r = BYTETAB_ENTRY(l, struct pgpkey_ref, link);

		if (entry_unlist(c, r))
			ref_destroy(r);
	}
	pthread_mutex_unlock(&c->lock);
	bytetab_fini(&c->tab);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
