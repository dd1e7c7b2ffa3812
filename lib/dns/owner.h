/*
 * owner.h - owner names of DANE records.
 *
 * TLSA: _<port>._<proto>.<host> (RFC 6698 section 3).  SMIMEA and OPENPGPKEY:
 * hex(SHA2-256(local-part)[0..28)) . _smimecert | _openpgpkey . domain
 * (RFC 8162 section 3, RFC 7929 section 3).  The local part is canonicalised
 * as RFC 7929 section 3 asks (quoted strings unquoted, CFWS dropped), must be
 * valid UTF-8, and non-ASCII is NFC-normalised (RFC 6530 section 10.1).  The
 * RFCs do not fold case: the exact form is the first to try, the lower-cased
 * one a fallback that the caller chooses to use.
 */
#ifndef DANEMAIL_DNS_OWNER_H
#define DANEMAIL_DNS_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/why.h"

enum owner_kind {
	OWNER_SMIMEA,     /* _smimecert */
	OWNER_OPENPGPKEY, /* _openpgpkey */
};

enum owner_case {
	OWNER_CASE_EXACT, /* hash the local part as given (after canonicalisation) */
	OWNER_CASE_LOWER, /* hash the lower-cased local part (ASCII and Unicode lower-casing) */
};

/* A parsed email address: canonical local part (UTF-8) and domain (A-label form, no final dot). */
struct owner_address {
	struct buf local;
	struct buf domain;
};

/*
 * Split and canonicalise an address "local@domain".  Errors: no '@', empty
 * local part or domain, local part not valid UTF-8 or with control
 * characters, domain label over 63 octets or name over 255 octets, a domain
 * that cannot be converted to A-labels.
 */
bool owner_address_parse(struct owner_address *addr, const char *text, struct why *why);
/* Release an owner_address. */
void owner_address_clear(struct owner_address *addr);

/* Append the owner name (with final dot) of a parsed address for the given kind and case. */
void owner_name_append(struct buf *out, const struct owner_address *addr, enum owner_kind kind,
                       enum owner_case ocase);
/* Whether lower-casing changes the local part (so a second lookup is worth it). */
bool owner_lower_differs(const struct owner_address *addr);

/* Parse an address and append its owner name in one call. */
bool owner_name_from_address(struct buf *out, const char *address, enum owner_kind kind,
                             enum owner_case ocase, struct why *why);
/*
 * Append the TLSA owner "_<port>._<proto>.<host>." for a host name; checks
 * label and name length.  proto is "tcp" for SMTP.
 */
bool owner_tlsa(struct buf *out, const char *host, unsigned port, const char *proto,
                struct why *why);
/*
 * Whether the n bytes at p (from a certificate or a key's user ID) spell the
 * address: the local part byte for byte (RFC 5321 section 2.4: it is the
 * owner's business), the domain ASCII case-insensitively; failing that, the
 * canonical forms of both (owner_address_parse: quotes removed, NFC, the
 * domain in A-labels) compared the same way.
 */
bool owner_address_equal(const uint8_t *p, size_t n, const char *address);
/* Check a domain name in presentation form: labels 1-63 octets, wire length <= 255. */
bool owner_check_domain(const char *name, struct why *why);

#endif
