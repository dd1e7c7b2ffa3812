/*
 * smime.h - S/MIME 4.0 encryption (RFC 8551) of a whole MIME entity with
 * OpenSSL CMS (RFC 5652, RFC 5083 for AuthEnvelopedData).
 *
 * The entity (its Content-* headers, a blank line and its body, CRLF line
 * ends) is read from a BIO and the result is written, base64 in 76-column
 * CRLF lines, to another BIO: streaming, so a 50 MB message does not need
 * 100 MB of RAM when both BIOs are files.  One RecipientInfo per
 * certificate: KeyTransRecipientInfo for RSA (PKCS#1 v1.5 or RSA-OAEP),
 * KeyAgreeRecipientInfo (ECDH) for EC.
 */
#ifndef DANEMAIL_MAIL_SMIME_H
#define DANEMAIL_MAIL_SMIME_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "util/why.h"

enum smime_cipher {
	SMIME_AES256_CBC, /* EnvelopedData (default: widest client support) */
	SMIME_AES256_GCM, /* AuthEnvelopedData, smime-type=authEnveloped-data */
};

enum smime_rsa_padding {
	SMIME_RSA_PKCS1, /* PKCS#1 v1.5 key transport (default) */
	SMIME_RSA_OAEP,  /* RSAES-OAEP (RFC 8017, RFC 3560), SHA-256 and MGF1-SHA-256 */
};

struct smime_opts {
	enum smime_cipher cipher;
	enum smime_rsa_padding padding;
};

/*
 * Encrypt the entity read from `in` to every certificate and write the
 * base64 of the CMS structure to `out` (76-column lines, CRLF; BER with
 * indefinite lengths, as streaming produces).  False and a reason (OpenSSL's
 * error queue rendered one line) on failure; the output may then be partial
 * and must be discarded.  `in` is read to its end (a memory BIO asking to
 * retry at its end counts as the end; other read errors fail); `out` must
 * take every write (blocking).  An empty entity is refused; opts NULL means
 * AES-256-CBC and PKCS#1 v1.5.  Clears the thread's OpenSSL error queue.
 */
bool smime_encrypt(BIO *in, X509 *const *certs, size_t n_certs, const struct smime_opts *opts,
                   BIO *out, struct why *why);

/* The Content-Type value of the result: application/pkcs7-mime; smime-type=...; name="smime.p7m".
 */
const char *smime_content_type(const struct smime_opts *opts);

#endif
