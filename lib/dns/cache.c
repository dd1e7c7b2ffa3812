/*
 * cache.c - bounded LRU cache of DNS answers keyed by (name, type), for
 * their TTL; one mutex, short critical sections (copy in, copy out).
 * Names are compared case-insensitively (RFC 4343).
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "dns/cache.h"
#include "util/alloc.h"
#include "util/lru.h"

struct cache_entry {
	struct cache_entry *hnext; /* hash chain */
	struct lru_link lru;       /* most recent first */
	uint32_t hash;
	time_t expires;
	time_t stored;
	struct dns_answer ans;
};

struct dns_cache {
	pthread_mutex_t lock;
	struct cache_entry **buckets;
	size_t n_buckets, count, max_entries;
	struct lru_list lru;
	uint32_t max_ttl, bogus_ttl;
};

/* FNV-1a over the lower-cased name (final dot ignored) and the type. */
static uint32_t
key_hash(const char *name, uint16_t type)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		unsigned c = *p;

		if (c == '.' && p[1] == '\0')
			break; /* "a.b." and "a.b" are one key */
		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 16777619u;
	}
	h = (h ^ (type & 255)) * 16777619u;
	return (h ^ (type >> 8)) * 16777619u;
}

/* The name as stored: with a final dot, as dns_answer.qname is. */
static bool
key_equal(const struct cache_entry *e, const char *name, uint16_t type)
{
	size_t n = strlen(name), m = strlen(e->ans.qname);

	if (e->ans.qtype != type)
		return false;
	if (n && name[n - 1] != '.')
		return m == n + 1 && strncasecmp(e->ans.qname, name, n) == 0;
	return m == n && strcasecmp(e->ans.qname, name) == 0;
}

void
dns_answer_copy(struct dns_answer *dst, const struct dns_answer *src)
{
	size_t i;

	*dst = *src;
	dst->qname = src->qname ? xstrdup(src->qname) : NULL;
	dst->canonical = src->canonical ? xstrdup(src->canonical) : NULL;
	dst->why = src->why ? xstrdup(src->why) : NULL;
	dst->rrs = src->n_rrs ? xcalloc(src->n_rrs, sizeof(*dst->rrs)) : NULL;
	for (i = 0; i < src->n_rrs; i++) {
		dst->rrs[i].rdata = xmemdup(src->rrs[i].rdata, src->rrs[i].len);
		dst->rrs[i].len = src->rrs[i].len;
	}
}

struct dns_cache *
dns_cache_new(size_t max_entries, uint32_t max_ttl, uint32_t bogus_ttl)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max_entries = max_entries;
	c->n_buckets = 64;
	while (c->n_buckets < max_entries && c->n_buckets < ((size_t)1 << 24))
		c->n_buckets *= 2;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	c->max_ttl = max_ttl;
	c->bogus_ttl = bogus_ttl;
	return c;
}

static void
entry_remove(struct dns_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & (c->n_buckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(&c->lru, &e->lru);
	dns_answer_clear(&e->ans);
	free(e);
	c->count--;
}

static struct cache_entry *
lookup(struct dns_cache *c, const char *name, uint16_t type, uint32_t hash)
{
	struct cache_entry *e;

	for (e = c->buckets[hash & (c->n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && key_equal(e, name, type))
			return e;
	return NULL;
}

bool
dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, time_t now,
              struct dns_answer *ans)
{
	uint32_t hash = key_hash(name, type);
	struct cache_entry *e;
	bool hit = false;

	if (c == NULL || c->max_entries == 0)
		return false;
	pthread_mutex_lock(&c->lock);
	if ((e = lookup(c, name, type, hash)) != NULL) {
		if (e->expires <= now) {
			entry_remove(c, e);
		} else {
			lru_touch(&c->lru, &e->lru);
			dns_answer_copy(ans, &e->ans);
			ans->ttl = (uint32_t)(e->expires - now);
			hit = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void
dns_cache_put(struct dns_cache *c, const struct dns_answer *ans, time_t now)
{
	uint32_t ttl = ans->ttl, hash;
	struct cache_entry *e;

	if (c == NULL || c->max_entries == 0 || ans->qname == NULL)
		return;
	switch (ans->outcome) {
	case DNS_OUTCOME_DATA:
	case DNS_OUTCOME_NODATA:
	case DNS_OUTCOME_NXDOMAIN:
		break;
	default:
		return; /* failures are retried, never remembered */
	}
	if (ans->sec == DNS_SEC_INDETERMINATE)
		return;
	if (ans->sec == DNS_SEC_BOGUS && ttl > c->bogus_ttl)
		ttl = c->bogus_ttl;
	if (ttl > c->max_ttl)
		ttl = c->max_ttl;
	if (ttl == 0)
		return;
	hash = key_hash(ans->qname, ans->qtype);
	pthread_mutex_lock(&c->lock);
	if ((e = lookup(c, ans->qname, ans->qtype, hash)) != NULL)
		entry_remove(c, e);
	while (c->count >= c->max_entries && c->lru.tail)
		entry_remove(c, LRU_ENTRY(c->lru.tail, struct cache_entry, lru));
	e = xcalloc(1, sizeof(*e));
	e->hash = hash;
	e->stored = now;
	e->expires = now + (time_t)ttl;
	dns_answer_copy(&e->ans, ans);
	e->hnext = c->buckets[hash & (c->n_buckets - 1)];
	c->buckets[hash & (c->n_buckets - 1)] = e;
	lru_push_front(&c->lru, &e->lru);
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

size_t
dns_cache_count(struct dns_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

struct dns_cache *
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return NULL;
	while (c->lru.head)
		entry_remove(c, LRU_ENTRY(c->lru.head, struct cache_entry, lru));
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
