/*
 * zonefmt.c - records as master-file lines, RFC 3597 lines or nsupdate
 * commands (see zonefmt.h).
 *
 * What it does: writes "owner TTL IN TYPE rdata" (RFC 1035 section 5.1), the
 * generic "TYPEnn \# len hex" form (RFC 3597 section 5) and nsupdate's
 * "update add" command, with owners made relative to an origin when asked.
 *
 * What it trusts: its callers for the owner name (made by lib/dns/owner.c,
 * never raw user text) and nothing in the RDATA: TLSA/SMIMEA RDATA is
 * checked as rr_assoc_from_wire checks it (RFC 6698 section 2.1), OPENPGPKEY
 * must not be empty (RFC 7929 section 2.1), and no RDATA may exceed the
 * 16-bit length field (RFC 1035 section 3.2.1), whatever the style.
 *
 * Long RDATA stays on one line: master files allow ( ) continuation, but one
 * line is what nsupdate and most provisioning scripts want.
 */
#include "dns/zonefmt.h"

#include <string.h>
#include <strings.h>

#include "dns/rr.h"

/* RDATA length is a 16-bit field (RFC 1035 section 3.2.1). */
#define RDATA_MAX 65535

/* Length of a presentation name without its final dot (the root "." becomes 0). */
static size_t
name_len(const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	return n;
}

/* Length of the leading labels of owner when it is below origin; 0 when equal; -1 outside. */
static long
relative_len(const char *owner, const char *origin)
{
	size_t on = name_len(owner), zn = name_len(origin);

	if (zn == 0) /* the root holds every name */
		return (long)on;
	if (on == zn)
		return strncasecmp(owner, origin, zn) == 0 ? 0 : -1;
	/* below: "<labels>.<origin>", the dot at a label boundary */
	if (on > zn + 1 && owner[on - zn - 1] == '.' &&
	    strncasecmp(owner + on - zn, origin, zn) == 0)
		return (long)(on - zn - 1);
	return -1;
}

bool
zonefmt_in_zone(const char *owner, const char *origin)
{
	return relative_len(owner, origin) >= 0;
}

void
zonefmt_owner(struct buf *out, const char *owner, const char *origin)
{
	long rel = origin != NULL ? relative_len(owner, origin) : -1;

	if (rel == 0) {
		buf_putc(out, '@');
	} else if (rel > 0) {
		buf_append(out, owner, (size_t)rel);
	} else {
		buf_append(out, owner, name_len(owner));
		buf_putc(out, '.');
	}
}

/* Check the RDATA as the mnemonic writer would, without writing it. */
static bool
rdata_check(uint16_t type, const uint8_t *rdata, size_t len, struct why *why)
{
	struct rr_assoc a;

	if (len > RDATA_MAX)
		return why_set(why, "RDATA is %zu octets, more than 65535", len);
	switch (type) {
	case RR_TYPE_TLSA:
	case RR_TYPE_SMIMEA:
		if (!rr_assoc_from_wire(&a, rdata, len, why))
			return false;
		rr_assoc_clear(&a);
		return true;
	case RR_TYPE_OPENPGPKEY:
		if (len == 0)
			return why_set(why, "OpenPGP key is empty");
		return true;
	default:
		return true;
	}
}

bool
zonefmt_line(struct buf *out, const struct zonefmt_rr *rr, enum zonefmt_style style,
             const char *origin, struct why *why)
{
	const char *mnemonic = rr_type_name(rr->type);
	size_t start = out->len;
	/* a type without a mnemonic here can only be written in the RFC 3597 form */
	bool generic = style == ZONEFMT_GENERIC || mnemonic == NULL;

	if (style == ZONEFMT_NSUPDATE) {
		buf_puts(out, "update add ");
		zonefmt_owner(out, rr->owner, NULL);
		buf_printf(out, " %lu ", (unsigned long)rr->ttl);
	} else {
		zonefmt_owner(out, rr->owner, origin);
		buf_printf(out, " %lu IN ", (unsigned long)rr->ttl);
	}
	if (generic) {
		if (!rdata_check(rr->type, rr->rdata, rr->len, why))
			goto fail;
		buf_printf(out, "TYPE%u ", (unsigned)rr->type);
		rr_generic_to_text(rr->rdata, rr->len, out);
	} else {
		buf_puts(out, mnemonic);
		buf_putc(out, ' ');
		if (!rr_rdata_to_text(rr->type, rr->rdata, rr->len, out, why))
			goto fail;
	}
	buf_putc(out, '\n');
	return true;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return false;
}
