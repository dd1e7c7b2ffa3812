/*
 * rr.c - resource record type names and RDATA codecs (see rr.h).
 *
 * What it does: names and parses RR types (RFC 3597 section 5 "TYPEnnn" for
 * the rest); names TLSA/SMIMEA fields with the RFC 7218 acronyms; converts
 * TLSA and SMIMEA RDATA (RFC 6698 sections 2.1 and 2.2, RFC 8162 section 2)
 * and OPENPGPKEY RDATA (RFC 7929 section 2) between wire, presentation and
 * RFC 3597 generic ("\# <len> <hex>") form; prints A, AAAA, MX, NS, CNAME
 * and TXT RDATA (RFC 1035 sections 3.3 and 5.1, RFC 3596 section 2.2) and
 * uncompressed wire names with RFC 1035 section 5.1 escapes.
 *
 * What it trusts: nothing it parses.  Text and wire input come from zone
 * files, the network or users; every length is checked before it is used,
 * every failure leaves the output as it was and says why, and input quoted in
 * a reason is escaped first.  It trusts its callers to pass valid pointers
 * and NUL-terminated text.
 *
 * Not done here: zone-file comments (';'), $-directives and multi-record
 * input; names inside RDATA must be uncompressed (callers expand them from
 * the message first).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/rr.h"
#include "util/alloc.h"
#include "util/codec.h"
#include "util/escape.h"

/* RDATA length is a 16-bit field (RFC 1035 section 3.2.1). */
#define RDATA_MAX 65535
/* RFC 1035 section 2.3.4 */
#define LABEL_MAX     63
#define NAME_MAX_WIRE 255
/* How much of an offending token to quote in a reason. */
#define QUOTE_MAX 32

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
        {RR_TYPE_A, "A"},
        {RR_TYPE_NS, "NS"},
        {RR_TYPE_CNAME, "CNAME"},
        {RR_TYPE_SOA, "SOA"},
        {RR_TYPE_MX, "MX"},
        {RR_TYPE_TXT, "TXT"},
        {RR_TYPE_AAAA, "AAAA"},
        {RR_TYPE_DS, "DS"},
        {RR_TYPE_RRSIG, "RRSIG"},
        {RR_TYPE_DNSKEY, "DNSKEY"},
        {RR_TYPE_TLSA, "TLSA"},
        {RR_TYPE_SMIMEA, "SMIMEA"},
        {RR_TYPE_OPENPGPKEY, "OPENPGPKEY"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static const char *
skip_space(const char *p)
{
	while (*p && is_space((unsigned char)*p))
		p++;
	return p;
}

static size_t
token_len(const char *p)
{
	size_t n = 0;

	while (p[n] && !is_space((unsigned char)p[n]))
		n++;
	return n;
}

/* Undo a partial append so a failed call leaves `out` as it found it. */
static void
buf_truncate(struct buf *out, size_t len)
{
	out->len = len;
	if (out->data)
		out->data[len] = '\0';
}

/* Make sure b->data is not NULL, so that b->data + b->len is always valid. */
static void
buf_ready(struct buf *b)
{
	if (b->data == NULL) {
		buf_reserve(b, 0);
		b->data[0] = '\0';
	}
}

/* Fill why with "what: <escaped token>"; returns false. */
static bool
why_token(struct why *why, const char *what, const char *p, size_t n)
{
	struct buf e = BUF_INIT;

	if (why == NULL)
		return false;
	escape_append(&e, p, n, QUOTE_MAX);
	why_set(why, "%s: \"%s\"", what, buf_str(&e));
	buf_release(&e);
	return false;
}

/* A name for messages: the mnemonic, or TYPEnnn. */
static void
type_label(uint16_t type, char *s, size_t size)
{
	const char *name = rr_type_name(type);

	if (name)
		snprintf(s, size, "%s", name);
	else
		snprintf(s, size, "TYPE%u", (unsigned)type);
}

const char *
rr_type_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < NELEM(type_names); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

/* A decimal number of at most `max`, all of p[0..n) digits; false if not. */
static bool
parse_decimal(const char *p, size_t n, unsigned long max, unsigned long *value)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
		if (v > max)
			return false;
	}
	*value = v;
	return true;
}

bool
rr_type_parse(const char *text, uint16_t *type, struct why *why)
{
	unsigned long v;
	size_t i, len = strlen(text);

	for (i = 0; i < NELEM(type_names); i++) {
		if (strcasecmp(text, type_names[i].name) == 0) {
			*type = type_names[i].type;
			return true;
		}
	}
	/* RFC 3597 section 5: "TYPE" immediately followed by the decimal type number. */
	if (len > 4 && strncasecmp(text, "TYPE", 4) == 0 &&
	    parse_decimal(text + 4, len - 4, 65535, &v)) {
		*type = (uint16_t)v;
		return true;
	}
	return why_token(why, "unknown RR type", text, len);
}

/* RFC 7218 section 2.1 */
const char *
rr_usage_name(unsigned usage)
{
	switch (usage) {
	case RR_USAGE_PKIX_TA:
		return "PKIX-TA";
	case RR_USAGE_PKIX_EE:
		return "PKIX-EE";
	case RR_USAGE_DANE_TA:
		return "DANE-TA";
	case RR_USAGE_DANE_EE:
		return "DANE-EE";
	case 255:
		return "PrivCert";
	default:
		return "unknown";
	}
}

/* RFC 7218 section 2.2 */
const char *
rr_selector_name(unsigned selector)
{
	switch (selector) {
	case RR_SELECTOR_CERT:
		return "Cert";
	case RR_SELECTOR_SPKI:
		return "SPKI";
	case 255:
		return "PrivSel";
	default:
		return "unknown";
	}
}

/* RFC 7218 section 2.3 */
const char *
rr_mtype_name(unsigned mtype)
{
	switch (mtype) {
	case RR_MTYPE_FULL:
		return "Full";
	case RR_MTYPE_SHA256:
		return "SHA2-256";
	case RR_MTYPE_SHA512:
		return "SHA2-512";
	case 255:
		return "PrivMatch";
	default:
		return "unknown";
	}
}

/*
 * Zone files may wrap RDATA in one pair of parentheses to span lines (RFC 1035
 * section 5.1); none of the forms parsed here has quoted strings, so a
 * parenthesis anywhere is grouping and is replaced by a space.
 */
static bool
strip_parens(struct buf *out, const char *text, struct why *why)
{
	int depth = 0;
	const char *p;

	buf_reset(out);
	for (p = text; *p; p++) {
		if (*p == '(') {
			if (depth++ > 0)
				return why_set(why, "nested '(' in RDATA");
			buf_putc(out, ' ');
		} else if (*p == ')') {
			if (depth-- == 0)
				return why_set(why, "')' without '(' in RDATA");
			buf_putc(out, ' ');
		} else {
			buf_putc(out, *p);
		}
	}
	if (depth != 0)
		return why_set(why, "'(' without ')' in RDATA");
	buf_putc(out, ' '); /* never NULL data, even for empty text */
	return true;
}

/* Whether the (parenthesis-free) text starts with the RFC 3597 "\#" token. */
static bool
is_generic(const char *text)
{
	const char *p = skip_space(text);

	return p[0] == '\\' && p[1] == '#' && (p[2] == '\0' || is_space((unsigned char)p[2]));
}

/* RFC 3597 section 5 on parenthesis-free text: "\#" <decimal length> <hex words>. */
static bool
generic_parse(struct buf *rdata, const char *text, struct why *why)
{
	const char *p = skip_space(text);
	unsigned long want;
	size_t n, start = rdata->len;

	if (!is_generic(p))
		return why_set(why, "generic RDATA does not start with \"\\#\"");
	p = skip_space(p + 2);
	n = token_len(p);
	if (n == 0)
		return why_set(why, "generic RDATA has no length");
	if (!parse_decimal(p, n, RDATA_MAX, &want))
		return why_token(why, "generic RDATA length is not a number 0-65535", p, n);
	p += n;
	if (!hex_decode(rdata, p, strlen(p), why))
		return why_prefix(why, "generic RDATA");
	if (rdata->len - start != want) {
		why_set(why, "generic RDATA length %lu does not match its %zu octets of hex", want,
		        rdata->len - start);
		buf_truncate(rdata, start);
		return false;
	}
	return true;
}

bool
rr_generic_from_text(struct buf *rdata, const char *text, struct why *why)
{
	struct buf norm = BUF_INIT;
	bool ok;

	ok = strip_parens(&norm, text, why) && generic_parse(rdata, buf_str(&norm), why);
	buf_release(&norm);
	return ok;
}

void
rr_generic_to_text(const uint8_t *rdata, size_t len, struct buf *out)
{
	buf_printf(out, "\\# %zu", len);
	if (len > 0) {
		buf_putc(out, ' ');
		hex_encode(out, rdata, len);
	}
}

/* RFC 6698 section 2.1: usage(1) selector(1) matching type(1) association data. */
bool
rr_assoc_from_wire(struct rr_assoc *a, const uint8_t *rdata, size_t len, struct why *why)
{
	size_t dlen;

	a->usage = a->selector = a->mtype = 0;
	a->data = NULL;
	a->len = 0;
	if (len < 3)
		return why_set(why, "RDATA is %zu octets, need at least 4", len);
	dlen = len - 3;
	if (dlen == 0)
		return why_set(why, "association data is empty");
	/* RFC 6698 section 2.1.3: the digest lengths of matching types 1 and 2. */
	if (rdata[2] == RR_MTYPE_SHA256 && dlen != 32)
		return why_set(why, "SHA2-256 association data is %zu octets, want 32", dlen);
	if (rdata[2] == RR_MTYPE_SHA512 && dlen != 64)
		return why_set(why, "SHA2-512 association data is %zu octets, want 64", dlen);
	a->usage = rdata[0];
	a->selector = rdata[1];
	a->mtype = rdata[2];
	a->data = xmemdup(rdata + 3, dlen);
	a->len = dlen;
	return true;
}

void
rr_assoc_to_wire(const struct rr_assoc *a, struct buf *out)
{
	uint8_t f[3] = {a->usage, a->selector, a->mtype};

	buf_append(out, f, sizeof(f));
	buf_append(out, a->data, a->len);
}

/* One RFC 6698 section 2.2 field: an unsigned decimal 0-255. */
static bool
parse_field(const char **pp, const char *what, uint8_t *v, struct why *why)
{
	const char *p = skip_space(*pp);
	size_t n = token_len(p);
	unsigned long value;
	char msg[64];

	if (n == 0)
		return why_set(why, "missing %s", what);
	if (!parse_decimal(p, n, 255, &value)) {
		snprintf(msg, sizeof(msg), "%s is not a number 0-255", what);
		return why_token(why, msg, p, n);
	}
	*v = (uint8_t)value;
	*pp = p + n;
	return true;
}

/* RFC 6698 section 2.2 on parenthesis-free text, to wire RDATA. */
static bool
assoc_text_to_wire(struct buf *wire, const char *text, struct why *why)
{
	const char *p = text;
	uint8_t f[3];

	if (!parse_field(&p, "certificate usage", &f[0], why) ||
	    !parse_field(&p, "selector", &f[1], why) ||
	    !parse_field(&p, "matching type", &f[2], why))
		return false;
	p = skip_space(p);
	if (*p == '\0')
		return why_set(why, "association data is empty");
	buf_append(wire, f, sizeof(f));
	if (!hex_decode(wire, p, strlen(p), why))
		return why_prefix(why, "association data");
	return true;
}

bool
rr_assoc_from_text(struct rr_assoc *a, const char *text, struct why *why)
{
	struct buf norm = BUF_INIT, wire = BUF_INIT;
	bool ok = false;

	a->usage = a->selector = a->mtype = 0;
	a->data = NULL;
	a->len = 0;
	if (!strip_parens(&norm, text, why))
		goto out;
	if (is_generic(buf_str(&norm))) {
		if (!generic_parse(&wire, buf_str(&norm), why))
			goto out;
	} else if (!assoc_text_to_wire(&wire, buf_str(&norm), why)) {
		goto out;
	}
	if (wire.len > RDATA_MAX) {
		why_set(why, "RDATA is %zu octets, more than 65535", wire.len);
		goto out;
	}
	ok = rr_assoc_from_wire(a, wire.data, wire.len, why);
out:
	buf_release(&norm);
	buf_release(&wire);
	return ok;
}

void
rr_assoc_to_text(const struct rr_assoc *a, struct buf *out)
{
	buf_printf(out, "%u %u %u ", a->usage, a->selector, a->mtype);
	hex_encode(out, a->data, a->len);
}

void
rr_assoc_clear(struct rr_assoc *a)
{
	if (a == NULL)
		return;
	free(a->data);
	a->data = NULL;
	a->len = 0;
}

/* RFC 7929 section 2.1: the RDATA is one key, so it cannot be empty. */
static bool
openpgpkey_check(size_t len, struct why *why)
{
	if (len == 0)
		return why_set(why, "OpenPGP key is empty");
	if (len > RDATA_MAX)
		return why_set(why, "OpenPGP key is %zu octets, more than 65535", len);
	return true;
}

/* RFC 7929 section 2.3: base64 (white space allowed, zone-file parentheses). */
bool
rr_openpgpkey_from_text(struct buf *key, const char *text, struct why *why)
{
	struct buf norm = BUF_INIT;
	size_t start = key->len;
	bool ok = false;

	if (!strip_parens(&norm, text, why))
		goto out;
	if (is_generic(buf_str(&norm))) {
		if (!generic_parse(key, buf_str(&norm), why))
			goto out;
	} else if (!base64_decode(key, buf_str(&norm), norm.len, why)) {
		why_prefix(why, "OpenPGP key");
		goto out;
	}
	ok = openpgpkey_check(key->len - start, why);
out:
	if (!ok)
		buf_truncate(key, start);
	buf_release(&norm);
	return ok;
}

void
rr_openpgpkey_to_text(const uint8_t *key, size_t len, struct buf *out)
{
	base64_encode(out, key, len);
}

bool
rr_rdata_from_text(uint16_t type, const char *text, struct buf *wire, struct why *why)
{
	struct buf norm = BUF_INIT;
	struct rr_assoc a;
	size_t start = wire->len;
	char name[16];
	bool ok = false;

	type_label(type, name, sizeof(name));
	buf_ready(wire);
	if (type == RR_TYPE_OPENPGPKEY) {
		ok = rr_openpgpkey_from_text(wire, text, why);
		goto out;
	}
	if (!strip_parens(&norm, text, why))
		goto out;
	if (is_generic(buf_str(&norm))) {
		if (!generic_parse(wire, buf_str(&norm), why))
			goto out;
		/* RFC 3597 section 5: the generic form must still be valid RDATA. */
		if (type == RR_TYPE_TLSA || type == RR_TYPE_SMIMEA) {
			if (!rr_assoc_from_wire(&a, wire->data + start, wire->len - start, why))
				goto out;
			rr_assoc_clear(&a);
		}
		ok = true;
		goto out;
	}
	if (type != RR_TYPE_TLSA && type != RR_TYPE_SMIMEA) {
		why_set(why, "only the generic form \"\\# <length> <hex>\" is supported");
		goto out;
	}
	if (!rr_assoc_from_text(&a, buf_str(&norm), why))
		goto out;
	rr_assoc_to_wire(&a, wire);
	rr_assoc_clear(&a);
	ok = true;
out:
	if (!ok) {
		buf_truncate(wire, start);
		why_prefix(why, "%s", name);
	}
	buf_release(&norm);
	return ok;
}

/*
 * RFC 1035 section 5.1: "\." for a dot inside a label, "\X" for characters
 * that are special in zone files, "\DDD" for anything not printable.
 */
static void
label_append(struct buf *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned c = p[i];

		if (c != 0 && strchr(".\\\"();@$", (int)c) != NULL)
			buf_printf(out, "\\%c", (int)c);
		else if (c > 0x20 && c < 0x7f)
			buf_putc(out, (int)c);
		else
			buf_printf(out, "\\%03u", c);
	}
}

bool
rr_name_to_text(const uint8_t *msg, size_t len, size_t *pos, struct buf *out, struct why *why)
{
	size_t p = *pos, wire = 0, start = out->len, labels = 0;

	for (;;) {
		unsigned l;

		if (p >= len) {
			why_set(why, "name runs past the end of the data");
			goto fail;
		}
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			why_set(why, "compressed name (pointer at offset %zu) not allowed here", p);
			goto fail;
		}
		if (l > LABEL_MAX) {
			why_set(why, "label longer than 63 octets (length octet 0x%02x)", l);
			goto fail;
		}
		wire += l + 1;
		if (wire > NAME_MAX_WIRE) {
			why_set(why, "name longer than 255 octets");
			goto fail;
		}
		if (l == 0) {
			p++;
			break;
		}
		if (l > len - p - 1) {
			why_set(why, "label runs past the end of the data");
			goto fail;
		}
		label_append(out, msg + p + 1, l);
		buf_putc(out, '.');
		labels++;
		p += 1 + l;
	}
	if (labels == 0)
		buf_putc(out, '.');
	*pos = p;
	return true;
fail:
	buf_truncate(out, start);
	return false;
}

/* RFC 1035 section 5.1: a quoted character-string, "\"" and "\\" escaped, "\DDD" otherwise. */
static void
charstring_append(struct buf *out, const uint8_t *p, size_t n)
{
	size_t i;

	buf_putc(out, '"');
	for (i = 0; i < n; i++) {
		unsigned c = p[i];

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", (int)c);
		else if (c >= 0x20 && c < 0x7f)
			buf_putc(out, (int)c);
		else
			buf_printf(out, "\\%03u", c);
	}
	buf_putc(out, '"');
}

/* RFC 1035 section 3.3.14: one or more <character-string>s filling the RDATA. */
static bool
txt_to_text(const uint8_t *rdata, size_t len, struct buf *out, struct why *why)
{
	size_t p = 0;

	if (len == 0)
		return why_set(why, "RDATA is empty, want at least one character-string");
	while (p < len) {
		size_t l = rdata[p];

		if (l > len - p - 1)
			return why_set(why, "character-string at offset %zu runs past the end", p);
		if (p > 0)
			buf_putc(out, ' ');
		charstring_append(out, rdata + p + 1, l);
		p += 1 + l;
	}
	return true;
}

/* A name that must fill the RDATA from *pos to the end. */
static bool
name_fills_rdata(const uint8_t *rdata, size_t len, size_t pos, struct buf *out, struct why *why)
{
	if (!rr_name_to_text(rdata, len, &pos, out, why))
		return false;
	if (pos != len)
		return why_set(why, "%zu octets of junk after the name", len - pos);
	return true;
}

static bool
address_to_text(int af, const uint8_t *rdata, size_t len, struct buf *out, struct why *why)
{
	char text[INET6_ADDRSTRLEN];
	size_t want = af == AF_INET ? 4 : 16;

	if (len != want)
		return why_set(why, "RDATA is %zu octets, want %zu", len, want);
	if (inet_ntop(af, rdata, text, sizeof(text)) == NULL)
		return why_set(why, "cannot format the address");
	buf_puts(out, text);
	return true;
}

static bool
rdata_format(uint16_t type, const uint8_t *rdata, size_t len, struct buf *out, struct why *why)
{
	struct rr_assoc a;

	switch (type) {
	case RR_TYPE_A:
		return address_to_text(AF_INET, rdata, len, out, why);
	case RR_TYPE_AAAA:
		return address_to_text(AF_INET6, rdata, len, out, why);
	case RR_TYPE_NS:
	case RR_TYPE_CNAME:
		return name_fills_rdata(rdata, len, 0, out, why);
	case RR_TYPE_MX:
		/* RFC 1035 section 3.3.9: 16-bit preference, exchange name. */
		if (len < 3)
			return why_set(why, "RDATA is %zu octets, too short", len);
		buf_printf(out, "%u ", (unsigned)rdata[0] << 8 | rdata[1]);
		return name_fills_rdata(rdata, len, 2, out, why);
	case RR_TYPE_TXT:
		return txt_to_text(rdata, len, out, why);
	case RR_TYPE_TLSA:
	case RR_TYPE_SMIMEA:
		if (!rr_assoc_from_wire(&a, rdata, len, why))
			return false;
		rr_assoc_to_text(&a, out);
		rr_assoc_clear(&a);
		return true;
	case RR_TYPE_OPENPGPKEY:
		if (!openpgpkey_check(len, why))
			return false;
		rr_openpgpkey_to_text(rdata, len, out);
		return true;
	default:
		rr_generic_to_text(rdata, len, out);
		return true;
	}
}

bool
rr_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t len, struct buf *out, struct why *why)
{
	size_t start = out->len;
	char name[16];

	if (len > RDATA_MAX) {
		type_label(type, name, sizeof(name));
		return why_set(why, "%s: RDATA is %zu octets, more than 65535", name, len);
	}
	if (rdata_format(type, rdata, len, out, why))
		return true;
	buf_truncate(out, start);
	type_label(type, name, sizeof(name));
	return why_prefix(why, "%s", name);
}
