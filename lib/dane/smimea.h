/*
 * smimea.h - which certificates in an SMIMEA RRset may be used to encrypt
 * (RFC 8162 with RFC 6698 usages).
 *
 * Only a full certificate (selector 0, matching type 0) gives a key to
 * encrypt to; hash records can only confirm a certificate got elsewhere.
 * Usage 3 (DANE-EE) is trusted by DNSSEC alone; usage 1 (PKIX-EE) also needs
 * a valid path to a CA in the given store; usages 0 and 2 name a trust
 * anchor, not the recipient's own certificate, and so cannot be used here.
 * A usable certificate is within its validity period and its key can
 * encrypt (cert_can_encrypt: keyUsage, EKU, RSA >= 2048, P-256/384/521).
 * The caller must only pass SECURE answers.
 */
#ifndef DANEMAIL_DANE_SMIMEA_H
#define DANEMAIL_DANE_SMIMEA_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "dane/certcache.h"
#include "dns/resolver.h"
#include "util/why.h"

/*
 * Append to `certs` every usable certificate of the SMIMEA records in ans
 * (each up-referenced; the caller frees the stack with
 * sk_X509_pop_free(certs, X509_free)).  pkix may be NULL (usage 1 then
 * unusable); cache may be NULL (parse every time).  Returns how many were
 * added; when 0, why says why the last record was refused.
 */
size_t smimea_usable_certs(const struct dns_answer *ans, X509_STORE *pkix, struct cert_cache *cache,
                           time_t now, STACK_OF(X509) * certs, struct why *why);

#endif
