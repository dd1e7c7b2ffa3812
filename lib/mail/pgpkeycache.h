/*
 * pgpkeycache.h - parsed OpenPGP keys, kept by their bytes, shared safely.
 *
 * Parsing a key with librnp re-verifies its self-signatures: about 350 us
 * for a Curve25519 key, more than encrypting a 4 KB message.  The milter
 * meets the same few OPENPGPKEY records again and again (the DNS cache hands
 * back the same RDATA), so each is parsed once.  A librnp context is not
 * thread-safe, so a cached key is used under its own lock: take it with
 * pgpkey_ref_lock for a check or an encryption, and give it back.  Bounded,
 * least recently used out first; an evicted key lives on until its last
 * reference is released.
 */
#ifndef DANEMAIL_MAIL_PGPKEYCACHE_H
#define DANEMAIL_MAIL_PGPKEYCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail/pgpkey.h"
#include "util/why.h"

struct pgpkey_cache;
/* A counted reference to one cached key. */
struct pgpkey_ref;

struct pgpkey_cache *pgpkey_cache_new(size_t max_entries);
/* Free the cache (references handed out stay valid); returns NULL. */
struct pgpkey_cache *pgpkey_cache_free(struct pgpkey_cache *cache);
/* The key for these bytes, parsed on first use; NULL and a reason if they are no key. */
struct pgpkey_ref *pgpkey_cache_get(struct pgpkey_cache *cache, const uint8_t *data, size_t len,
                                    struct why *why);
/*
 * pgpkey_check on the cached key, remembered for PGPKEY_CHECK_MEMO seconds
 * per address (a check walks every signature through librnp: as costly as
 * an encryption).  Locks the key itself.
 */
enum pgpkey_usable pgpkey_ref_check(struct pgpkey_ref *ref, const char *address, time_t now,
                                    struct why *why);
#define PGPKEY_CHECK_MEMO 60

/* Exclusive use of the key until pgpkey_ref_unlock. */
const struct pgpkey *pgpkey_ref_lock(struct pgpkey_ref *ref);
void pgpkey_ref_unlock(struct pgpkey_ref *ref);
/* Drop a reference; NULL is fine. */
void pgpkey_ref_release(struct pgpkey_ref *ref);

#endif
