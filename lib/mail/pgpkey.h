/*
 * pgpkey.h - OpenPGP transferable public keys (RFC 4880 section 11.1,
 * RFC 9580), inspected with librnp in memory: no keyring files, no agent.
 *
 * Used for OPENPGPKEY records (RFC 7929): describe a key from DNS, pick the
 * subkey that encrypts, check the user IDs against the looked-up address,
 * and export the minimal key a record should carry.  Key bytes come from DNS
 * or users: all checks are defensive and fail with a reason.
 */
#ifndef DANEMAIL_MAIL_PGPKEY_H
#define DANEMAIL_MAIL_PGPKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/why.h"

/* One parsed public key (with its subkeys and user IDs); opaque. */
struct pgpkey;

/*
 * Parse exactly one transferable public key from binary or ASCII-armoured
 * bytes.  Secret keys are refused ("a secret key was given where a public
 * key is expected"), as are inputs with no key or more than one primary key.
 */
struct pgpkey *pgpkey_parse(const uint8_t *data, size_t len, struct why *why);
/* Free; NULL is fine; returns NULL. */
struct pgpkey *pgpkey_free(struct pgpkey *key);

/* What a person (or JSON) wants to know about a key. */
struct pgpkey_info {
	char fingerprint[81]; /* primary key fingerprint, upper-case hex */
	char algorithm[24];   /* primary key algorithm ("EDDSA", "RSA", ...) */
	int bits;
	char **uids; /* user IDs, escaped for printing, uids[n_uids] == NULL */
	size_t n_uids;
	bool revoked;
	time_t created;
	time_t expires; /* 0: does not expire */
	/* the encryption-capable subkey (or primary) that would be used, if any */
	bool has_encryption_key;
	char enc_fingerprint[81];
	char enc_algorithm[24];
	int enc_bits;
	time_t enc_expires; /* 0: does not expire */
};

/* Fill info at time `now`; free with pgpkey_info_clear. */
void pgpkey_info_get(struct pgpkey_info *info, const struct pgpkey *key, time_t now);
void pgpkey_info_clear(struct pgpkey_info *info);

enum pgpkey_usable {
	PGPKEY_USABLE_OK,
	PGPKEY_USABLE_REVOKED,           /* primary key revoked */
	PGPKEY_USABLE_EXPIRED,           /* primary key expired */
	PGPKEY_USABLE_NO_ENCRYPTION_KEY, /* no valid, unexpired, unrevoked encryption-capable
	                                    (sub)key */
	PGPKEY_USABLE_NO_UID, /* no valid user ID contains the address (RFC 7929 section 5.3) */
};
/*
 * Whether the key can encrypt to `address` at time `now`.  address NULL skips
 * the user ID check; otherwise a user ID must contain "<address>" or equal it
 * (domain compared case-insensitively).
 */
enum pgpkey_usable pgpkey_check(const struct pgpkey *key, const char *address, time_t now,
                                struct why *why);
const char *pgpkey_usable_name(enum pgpkey_usable u);

/* librnp's key handle (rnp_key_handle_t in <rnp/rnp.h>); opaque here. */
struct rnp_key_handle_st;
struct rnp_ffi_st;

/*
 * A fresh librnp context (RNP_KEYSTORE_GPG) whose error log goes to
 * /dev/null; NULL and a reason on failure.  Free with rnp_ffi_destroy.
 */
struct rnp_ffi_st *pgpkey_ffi_new(struct why *why);

/*
 * The librnp handle of the (sub)key that encrypts at `now`, the one pgpkey_check and
 * pgpkey_info_get choose; NULL if there is none.  It lives in the key's own librnp context
 * and is only read through: destroy it (rnp_key_handle_destroy) before freeing the key.
 */
struct rnp_key_handle_st *pgpkey_encryption_key(const struct pgpkey *key, time_t now);

/* Append the minimal binary export (primary, self-signatures, user IDs, subkeys; no third-party
 * signatures). */
bool pgpkey_export_minimal(const struct pgpkey *key, struct buf *out, struct why *why);

#endif
