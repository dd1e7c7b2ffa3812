/*
 * cache.h - a bounded, thread-safe cache of DNS answers for their TTL.
 *
 * libunbound has its own cache, but every synchronous lookup through it
 * sets up a worker; answers the milter asks for again and again (the same
 * recipients) come from here instead.  Positive and negative answers are
 * kept for their TTL (RFC 2308 for negatives), capped at max_ttl; BOGUS
 * answers for at most bogus_ttl (as unbound's val-bogus-ttl); failures are
 * never cached.  Least recently used entries go first when it is full.
 */
#ifndef DANEMAIL_DNS_CACHE_H
#define DANEMAIL_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/resolver.h"

struct dns_cache;

/* A cache of at most max_entries answers (0: a cache that keeps nothing). */
struct dns_cache *dns_cache_new(size_t max_entries, uint32_t max_ttl, uint32_t bogus_ttl);
/* Free; NULL is fine; returns NULL. */
struct dns_cache *dns_cache_free(struct dns_cache *cache);
/* If a live answer for name/type is cached, fill *ans with a copy (TTL decremented) and return
 * true. */
bool dns_cache_get(struct dns_cache *cache, const char *name, uint16_t type, time_t now,
                   struct dns_answer *ans);
/* Store a copy of ans (if its state may be cached) at time now. */
void dns_cache_put(struct dns_cache *cache, const struct dns_answer *ans, time_t now);
/* Entries held now. */
size_t dns_cache_count(struct dns_cache *cache);
/* Copy an answer (deep). */
void dns_answer_copy(struct dns_answer *dst, const struct dns_answer *src);

#endif
