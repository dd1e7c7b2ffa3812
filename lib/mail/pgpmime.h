/*
 * pgpmime.h - PGP/MIME encryption (RFC 3156 section 4) of a whole MIME
 * entity with librnp, in memory: no gpg, no agent, no keyring files.
 *
 * The entity (Content-* fields, blank line, body; CRLF) is read from a BIO,
 * encrypted to every recipient's encryption-capable (sub)key in one OpenPGP
 * message (one PKESK per key, AES-256), ASCII-armoured, and written as the
 * body of a multipart/encrypted message: a preamble line, an
 * application/pgp-encrypted part holding "Version: 1", and an
 * application/octet-stream part holding the armour.  Every line of the
 * output ends with CRLF.  Usable from many threads (no shared state).
 */
#ifndef DANEMAIL_MAIL_PGPMIME_H
#define DANEMAIL_MAIL_PGPMIME_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>

#include "mail/pgpkey.h"
#include "util/why.h"

/* Room for a boundary made by pgpmime_boundary (with its NUL). */
#define PGPMIME_BOUNDARY_MAX 64

/* Make a fresh random MIME boundary that cannot occur in base64 armour. */
void pgpmime_boundary(char out[PGPMIME_BOUNDARY_MAX]);

/*
 * Encrypt the entity read from `in` to every key (each must have passed
 * pgpkey_check) and write the multipart/encrypted body, with `boundary`, to
 * `out`.  False and a reason on failure; the output must then be discarded.
 */
bool pgpmime_encrypt(BIO *in, const struct pgpkey *const *keys, size_t n_keys, const char *boundary,
                     BIO *out, struct why *why);

/*
 * The Content-Type value for that body:
 * multipart/encrypted; protocol="application/pgp-encrypted"; boundary="..."
 */
void pgpmime_content_type(char *out, size_t size, const char *boundary);

#endif
