/*
 * zonefmt.h - write resource records as text someone else will load.
 *
 * Three styles of one line per record: a master-file line (RFC 1035 section
 * 5.1) with the type's mnemonic RDATA, the same line in the RFC 3597
 * section 5 generic form ("TYPE53 \# <len> <hex>", which any server or tool
 * accepts, whether it knows the type or not), and an nsupdate(1) command.
 * Pure formatting: no allocation beyond the output buffer, no I/O, so a
 * generator for a million mailboxes and a benchmark can share it.  RDATA is
 * checked as rr_rdata_to_text checks it; owner names are the caller's
 * (lib/dns/owner.h makes them).
 */
#ifndef DANEMAIL_DNS_ZONEFMT_H
#define DANEMAIL_DNS_ZONEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/why.h"

/* The largest TTL a record may carry (RFC 2181 section 8). */
#define ZONEFMT_TTL_MAX 2147483647UL

enum zonefmt_style {
	ZONEFMT_ZONE,     /* "owner TTL IN TYPE rdata" (RFC 1035 section 5.1) */
	ZONEFMT_GENERIC,  /* "owner TTL IN TYPEnn \# len hex" (RFC 3597 section 5) */
	ZONEFMT_NSUPDATE, /* "update add owner TTL TYPE rdata" (nsupdate(1)); owner absolute */
};

/* One record to write. */
struct zonefmt_rr {
	const char *owner; /* absolute presentation name with final dot */
	uint32_t ttl;
	uint16_t type;
	const uint8_t *rdata; /* wire RDATA */
	size_t len;
};

/*
 * Whether owner is origin or a name below it (ASCII case-insensitive; final
 * dots optional on both; origin "." holds every name).
 */
bool zonefmt_in_zone(const char *owner, const char *origin);
/*
 * Append owner as a zone file under $ORIGIN origin writes it: "@" for the
 * origin itself, the leading labels for a name below it, the absolute name
 * (final dot) otherwise or when origin is NULL.
 */
void zonefmt_owner(struct buf *out, const char *owner, const char *origin);
/*
 * Append one record as a line ending in '\n'.  origin (NULL: none) makes
 * ZONEFMT_ZONE and ZONEFMT_GENERIC owners relative; nsupdate names are always
 * absolute.  False (nothing appended) when the RDATA is malformed for its
 * type, or longer than 65535 octets.
 */
bool zonefmt_line(struct buf *out, const struct zonefmt_rr *rr, enum zonefmt_style style,
                  const char *origin, struct why *why);

#endif
