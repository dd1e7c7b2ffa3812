/*
 * certcache.c - parsed certificates keyed by their DER bytes (see
 * certcache.h): a byte-keyed LRU table (util/bytetab.h) under one mutex.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dane/certcache.h"
#include "util/alloc.h"
#include "util/bytetab.h"

struct cc_entry {
	struct bytetab_link link; /* keyed by the DER */
	X509 *cert;
};

struct cert_cache {
	pthread_mutex_t lock;
	struct bytetab tab;
};

struct cert_cache *
cert_cache_new(size_t max_entries)
{
	struct cert_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	bytetab_init(&c->tab, max_entries);
	return c;
}

static void
entry_drop(struct cert_cache *c, struct cc_entry *e)
{
	bytetab_remove(&c->tab, &e->link);
	X509_free(e->cert);
	free(e);
}

/* The cached certificate for der, with a reference for the caller (lock held). */
static X509 *
lookup(struct cert_cache *c, const uint8_t *der, size_t len)
{
	struct bytetab_link *l = bytetab_find(&c->tab, der, len);
	X509 *cert;

	if (l == NULL)
		return NULL;
	cert = BYTETAB_ENTRY(l, struct cc_entry, link)->cert;
	X509_up_ref(cert);
	return cert;
}

X509 *
cert_cache_get(struct cert_cache *c, const uint8_t *der, size_t len, struct why *why)
{
	struct cc_entry *e;
	X509 *cert, *other;

	if (c == NULL)
		return cert_from_der(der, len, why);
	pthread_mutex_lock(&c->lock);
	cert = lookup(c, der, len);
	pthread_mutex_unlock(&c->lock);
	if (cert)
		return cert;

	/* parse outside the lock; compute the extension cache now, once */
	if ((cert = cert_from_der(der, len, why)) == NULL)
		return NULL;
	(void)X509_check_purpose(cert, -1, 0);
	pthread_mutex_lock(&c->lock);
	if ((other = lookup(c, der, len)) != NULL) { /* another thread was quicker */
		pthread_mutex_unlock(&c->lock);
		X509_free(cert);
		return other;
	}
	while (bytetab_full(&c->tab))
		entry_drop(c, BYTETAB_ENTRY(bytetab_oldest(&c->tab), struct cc_entry, link));
	e = xcalloc(1, sizeof(*e));
	e->cert = cert;
	X509_up_ref(cert);
	bytetab_insert(&c->tab, &e->link, der, len);
	pthread_mutex_unlock(&c->lock);
	return cert;
}

struct cert_cache *
cert_cache_free(struct cert_cache *c)
{
	struct bytetab_link *l;

	if (c == NULL)
		return NULL;
	while ((l = bytetab_oldest(&c->tab)) != NULL)
		entry_drop(c, BYTETAB_ENTRY(l, struct cc_entry, link));
	bytetab_fini(&c->tab);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
