/*
 * rr.h - resource record types and RDATA codecs.
 *
 * TLSA (RFC 6698 section 2) and SMIMEA (RFC 8162 section 2, same RDATA as
 * TLSA) carry a certificate association; OPENPGPKEY (RFC 7929 section 2)
 * carries one OpenPGP transferable public key.  Each can be read and written
 * in wire form, presentation form and the RFC 3597 generic form
 * ("\# <length> <hex>").  The few other types the tools print (A, AAAA, MX,
 * CNAME, TXT, NS) have presentation output only.  All parsers take untrusted
 * input and fail with a reason, never crash.
 */
#ifndef DANEMAIL_DNS_RR_H
#define DANEMAIL_DNS_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/why.h"

enum rr_type {
	RR_TYPE_A = 1,
	RR_TYPE_NS = 2,
	RR_TYPE_CNAME = 5,
	RR_TYPE_SOA = 6,
	RR_TYPE_MX = 15,
	RR_TYPE_TXT = 16,
	RR_TYPE_AAAA = 28,
	RR_TYPE_DS = 43,
	RR_TYPE_RRSIG = 46,
	RR_TYPE_DNSKEY = 48,
	RR_TYPE_TLSA = 52,
	RR_TYPE_SMIMEA = 53,
	RR_TYPE_OPENPGPKEY = 61,
};

/* The mnemonic of a type ("SMIMEA"), or NULL for one this code does not name. */
const char *rr_type_name(uint16_t type);
/* Parse a mnemonic (case-insensitive) or "TYPEnnn" (RFC 3597 section 5); false if unknown. */
bool rr_type_parse(const char *text, uint16_t *type, struct why *why);

/* TLSA / SMIMEA certificate usage (RFC 6698 section 2.1.1, RFC 7218 acronyms). */
enum rr_usage {
	RR_USAGE_PKIX_TA = 0,
	RR_USAGE_PKIX_EE = 1,
	RR_USAGE_DANE_TA = 2,
	RR_USAGE_DANE_EE = 3,
};
/* Selector (RFC 6698 section 2.1.2). */
enum rr_selector {
	RR_SELECTOR_CERT = 0,
	RR_SELECTOR_SPKI = 1,
};
/* Matching type (RFC 6698 section 2.1.3). */
enum rr_mtype {
	RR_MTYPE_FULL = 0,
	RR_MTYPE_SHA256 = 1,
	RR_MTYPE_SHA512 = 2,
};

/* The RFC 7218 acronyms, e.g. "DANE-EE", "SPKI", "SHA2-256"; "unknown" otherwise. */
const char *rr_usage_name(unsigned usage);
const char *rr_selector_name(unsigned selector);
const char *rr_mtype_name(unsigned mtype);

/* A TLSA or SMIMEA record: usage, selector, matching type, association data. */
struct rr_assoc {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	uint8_t *data; /* owned; len bytes */
	size_t len;
};

/*
 * Decode wire RDATA.  Rejects RDATA shorter than 4 octets, and association
 * data whose length does not fit the matching type (SHA2-256: 32 octets,
 * SHA2-512: 64); unknown usages, selectors and matching types are kept (the
 * caller decides whether they are usable).
 */
bool rr_assoc_from_wire(struct rr_assoc *a, const uint8_t *rdata, size_t len, struct why *why);
/* Append the wire RDATA. */
void rr_assoc_to_wire(const struct rr_assoc *a, struct buf *out);
/*
 * Parse presentation RDATA: "3 0 0 30820...", fields 0-255, hex may be split
 * by white space or wrapped in ( ) as in zone files; or the RFC 3597 form.
 */
bool rr_assoc_from_text(struct rr_assoc *a, const char *text, struct why *why);
/* Append "U S M hex" (lower-case hex, one line). */
void rr_assoc_to_text(const struct rr_assoc *a, struct buf *out);
/* Free the association data; the struct can be reused. NULL is fine. */
void rr_assoc_clear(struct rr_assoc *a);

/* OPENPGPKEY: RDATA is the key itself; presentation form is base64 (RFC 7929 section 2.3). */
bool rr_openpgpkey_from_text(struct buf *key, const char *text, struct why *why);
void rr_openpgpkey_to_text(const uint8_t *key, size_t len, struct buf *out);

/* RFC 3597 section 5: parse "\# <len> <hex>" into wire RDATA (length must agree). */
bool rr_generic_from_text(struct buf *rdata, const char *text, struct why *why);
/* Append "\# <len> <hex>" for any RDATA ("\# 0" for empty RDATA). */
void rr_generic_to_text(const uint8_t *rdata, size_t len, struct buf *out);

/*
 * Presentation RDATA of a TLSA, SMIMEA or OPENPGPKEY record (mnemonic or
 * generic form) to wire RDATA, validated as rr_*_from_wire would; other
 * types accept the generic form only.
 */
bool rr_rdata_from_text(uint16_t type, const char *text, struct buf *wire, struct why *why);
/*
 * Wire RDATA to presentation form for the types named above (MX, CNAME and NS
 * expect uncompressed names); the generic form for any other type.  False
 * (and nothing appended) when the RDATA is malformed for its type.
 */
bool rr_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t len, struct buf *out,
                      struct why *why);

/*
 * Append the presentation form of the uncompressed wire name at *pos in
 * msg[0..len), advancing *pos; "." for the root, escapes per RFC 1035 5.1.
 */
bool rr_name_to_text(const uint8_t *msg, size_t len, size_t *pos, struct buf *out, struct why *why);

#endif
