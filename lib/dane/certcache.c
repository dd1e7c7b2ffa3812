/*
 * certcache.c - parsed certificates keyed by their DER bytes (see
 * certcache.h).  A small chained hash table with an LRU list under one
 * mutex; keys are compared in full, the hash only picks the bucket.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dane/certcache.h"
#include "util/alloc.h"
#include "util/lru.h"

struct cc_entry {
	struct cc_entry *hnext;
	struct lru_link lru;
	uint64_t hash;
	uint8_t *der;
	size_t len;
	X509 *cert;
};

struct cert_cache {
	pthread_mutex_t lock;
	struct cc_entry **buckets;
	size_t n_buckets, count, max;
	struct lru_list lru;
};

static uint64_t
der_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct cert_cache *
cert_cache_new(size_t max_entries)
{
	struct cert_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max = max_entries ? max_entries : 1;
	c->n_buckets = 16;
	while (c->n_buckets < c->max && c->n_buckets < ((size_t)1 << 20))
		c->n_buckets *= 2;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	return c;
}

static void
entry_drop(struct cert_cache *c, struct cc_entry *e)
{
	struct cc_entry **pp = &c->buckets[e->hash & (c->n_buckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(&c->lru, &e->lru);
	X509_free(e->cert);
	free(e->der);
	free(e);
	c->count--;
}

X509 *
cert_cache_get(struct cert_cache *c, const uint8_t *der, size_t len, struct why *why)
{
	uint64_t h;
	struct cc_entry *e;
	X509 *cert;

	if (c == NULL)
		return cert_from_der(der, len, why);
	h = der_hash(der, len);
	pthread_mutex_lock(&c->lock);
	for (e = c->buckets[h & (c->n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->len == len && memcmp(e->der, der, len) == 0)
			break;
	if (e) {
		lru_touch(&c->lru, &e->lru);
		X509_up_ref(e->cert);
		cert = e->cert;
		pthread_mutex_unlock(&c->lock);
		return cert;
	}
	pthread_mutex_unlock(&c->lock);

	/* parse outside the lock; compute the extension cache now, once */
	if ((cert = cert_from_der(der, len, why)) == NULL)
		return NULL;
	(void)X509_check_purpose(cert, -1, 0);
	pthread_mutex_lock(&c->lock);
	while (c->count >= c->max && c->lru.tail)
		entry_drop(c, LRU_ENTRY(c->lru.tail, struct cc_entry, lru));
	e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->der = xmemdup(der, len);
	e->len = len;
	e->cert = cert;
	X509_up_ref(cert);
	e->hnext = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = e;
	lru_push_front(&c->lru, &e->lru);
	c->count++;
	pthread_mutex_unlock(&c->lock);
	return cert;
}

struct cert_cache *
cert_cache_free(struct cert_cache *c)
{
	if (c == NULL)
		return NULL;
	while (c->lru.head)
		entry_drop(c, LRU_ENTRY(c->lru.head, struct cc_entry, lru));
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
