/*
 * certcache.h - parsed certificates, kept by their DER bytes.
 *
 * With OpenSSL 3.0, d2i_X509 plus the first extension check of a
 * certificate cost about 350 us (public key decoding through the provider
 * framework, the extension cache's digest): more than encrypting a 4 KB
 * message.  The milter sees the same few certificates again and again (the
 * DNS cache hands back the same RDATA), so it parses each once.  Bounded,
 * least recently used out first, thread-safe; entries are shared read-only
 * (X509 reference counts).
 */
#ifndef DANEMAIL_DANE_CERTCACHE_H
#define DANEMAIL_DANE_CERTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "util/why.h"

struct cert_cache;

/* A cache of at most max_entries certificates. */
struct cert_cache *cert_cache_new(size_t max_entries);
/* Free (certificates handed out stay valid: they are reference counted); returns NULL. */
struct cert_cache *cert_cache_free(struct cert_cache *cache);
/*
 * The certificate for these DER bytes, parsed (cert_from_der) and with its
 * extensions cached on first use; the caller owns one reference (X509_free).
 * cache may be NULL: then this just parses.
 */
X509 *cert_cache_get(struct cert_cache *cache, const uint8_t *der, size_t len, struct why *why);

#endif
