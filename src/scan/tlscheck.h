/*
 * tlscheck.h - judging a certificate chain the scanner has already
 * fetched: DANE (RFC 7672) for one MX host, PKIX against a CA store, and
 * the MX name.
 *
 * The scanner runs one SMTP probe per IP address and port, however many
 * MX host names and domains point there; DANE depends on the host (its
 * TLSA records and reference identifiers) and on the next-hop domain.  So
 * the chain from the shared probe is verified again for each host, with
 * the very SSL object `danemail verify tlsa` builds (dane_ssl_new: same
 * records, same names, same flags) and OpenSSL's own chain verification
 * (X509_verify_cert with the SSL's DANE state, exactly as libssl runs it
 * during a handshake); the verdict then comes from dane_decide(), the one
 * verdict table.  What the handshake alone decides (version, cipher, the
 * chain itself) comes from the probe.
 */
#ifndef DANEMAIL_SCAN_TLSCHECK_H
#define DANEMAIL_SCAN_TLSCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dane/verify.h"
#include "util/why.h"

/*
 * Verify chain (leaf first, as the server sent it) for host h and nexthop
 * (NULL: none) as a DANE client would have during the handshake; fill the
 * verification part of *t (n_records, verify_error, verify_text,
 * match_depth, match, peer_name) and set t->established.  ctx comes from
 * dane_ctx_new().  False and a reason if OpenSSL could not run the check
 * (t then says nothing matched).
 */
bool scan_dane_verify(SSL_CTX *ctx, const struct dane_host *h, const char *nexthop,
                      STACK_OF(X509) * chain, struct dane_tls *t, struct why *why);

/*
 * A store of the system's trusted CAs (or of ca_file's), for PKIX checks
 * of server certificates.  NULL and a reason on failure.
 */
X509_STORE *scan_pkix_store_new(const char *ca_file, struct why *why);
/*
 * Does chain lead to a CA of store (RFC 5280 path validation, purpose TLS
 * server, no name check)?  err gets OpenSSL's reason when not.
 */
bool scan_pkix_check(X509_STORE *store, STACK_OF(X509) * chain, char *err, size_t errlen);
/* Does the leaf of chain name host (DNS SAN or CN, no partial wildcards, RFC 6125)? */
bool scan_cert_names_host(STACK_OF(X509) * chain, const char *host);

#endif
