/*
 * cert.h - X.509 certificate inspection for DANE records.
 *
 * Reads certificates (PEM or DER, from memory or a file), describes them for
 * people (subject, email SANs, key, validity, key usage) and answers the
 * questions the record tools and the milter ask: can this key encrypt mail,
 * what are its TLSA/SMIMEA association data for a selector and matching type.
 * Certificates come from DNS or from users: every parser is defensive.
 */
#ifndef DANEMAIL_DANE_CERT_H
#define DANEMAIL_DANE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "util/buf.h"
#include "util/why.h"

/* Parse one DER certificate; NULL and a reason on failure (trailing bytes are an error). */
X509 *cert_from_der(const uint8_t *der, size_t len, struct why *why);
/* Read a certificate file, PEM or DER (first certificate of a PEM file); NULL and a reason on
 * failure. */
X509 *cert_load_file(const char *path, struct why *why);
/* The same, but the last certificate of a PEM file (the top of a chain: a trust anchor). */
X509 *cert_load_file_last(const char *path, struct why *why);

/* What a person (or JSON) wants to know about a certificate. */
struct cert_info {
	char *subject; /* RFC 2253 one-line form, escaped for printing */
	char *issuer;  /* likewise */
	char **emails; /* rfc822Name SANs (escaped), emails[n_emails] == NULL */
	size_t n_emails;
	char **dns_names; /* dNSName SANs (escaped), NULL-terminated */
	size_t n_dns_names;
	char key_type[16]; /* "RSA", "EC", "Ed25519", "Ed448", "DSA", "unknown" */
	int key_bits;      /* RSA modulus bits, EC field bits */
	char curve[32];    /* EC curve short name ("prime256v1"), or "" */
	char sig_alg[64];  /* signature algorithm short name */
	time_t not_before;
	time_t not_after;
	char key_usage[160];     /* comma-separated keyUsage names, or "" when absent */
	char ext_key_usage[160]; /* comma-separated extendedKeyUsage short names, or "" */
	char sha256_fpr[65];     /* hex SHA2-256 of the DER certificate */
};

/* Fill info from cert; free with cert_info_clear. */
void cert_info_get(struct cert_info *info, X509 *cert);
void cert_info_clear(struct cert_info *info);

/* Whether the certificate names this email address in a SAN (domain compared case-insensitively).
 */
bool cert_has_email(X509 *cert, const char *address);

enum cert_crypt {
	CERT_CRYPT_OK,        /* the key can encrypt (key transport or key agreement) */
	CERT_CRYPT_KEY_USAGE, /* keyUsage present but lacks keyEncipherment/keyAgreement */
	CERT_CRYPT_EKU,       /* extendedKeyUsage present but lacks emailProtection */
	CERT_CRYPT_KEY_TYPE,  /* key type cannot encrypt (e.g. Ed25519, DSA) */
	CERT_CRYPT_KEY_WEAK,  /* RSA < 2048 bits or an EC curve other than P-256/384/521 */
};
/* Can this certificate's key be used to encrypt S/MIME mail?  why says why not. */
enum cert_crypt cert_can_encrypt(X509 *cert, struct why *why);
/* Name of a cert_crypt value for logs and JSON ("ok", "key-usage", ...). */
const char *cert_crypt_name(enum cert_crypt c);

/*
 * Append the association data for selector (0 full cert, 1 SPKI) and
 * matching type (0 full, 1 SHA2-256, 2 SHA2-512) to out.  False for unknown
 * selector or matching type.
 */
bool cert_association(X509 *cert, unsigned selector, unsigned mtype, struct buf *out,
                      struct why *why);

#endif
