/*
 * fuzz_rr.c - libFuzzer target for the RDATA codecs (lib/dns/rr.h).
 *
 * The first input byte picks the entry point, the rest is the RDATA (wire)
 * or the presentation text.  Besides "never crash", every successful parse
 * must round-trip: wire -> text -> wire and text -> wire -> text -> wire give
 * the same bytes (RFC 6698 section 2, RFC 7929 section 2, RFC 3597 section 5).
 */
#include "fuzz.h"

#include "dns/rr.h"
#include "util/buf.h"
#include "util/why.h"

/* Types with their own presentation code, plus a few that take the generic form. */
static const uint16_t types[] = {
        RR_TYPE_A,    RR_TYPE_NS,     RR_TYPE_CNAME,      RR_TYPE_SOA,   RR_TYPE_MX,
        RR_TYPE_TXT,  RR_TYPE_AAAA,   RR_TYPE_DS,         RR_TYPE_RRSIG, RR_TYPE_DNSKEY,
        RR_TYPE_TLSA, RR_TYPE_SMIMEA, RR_TYPE_OPENPGPKEY, 12 /* PTR */,  0,
        65535,
};

static bool
same(const struct buf *a, const uint8_t *p, size_t n)
{
	return a->len == n && (n == 0 || memcmp(a->data, p, n) == 0);
}

static bool
has_text_form(uint16_t type)
{
	return type == RR_TYPE_TLSA || type == RR_TYPE_SMIMEA || type == RR_TYPE_OPENPGPKEY;
}

/*
 * Wire RDATA that a text parse accepted must print and parse back to the same
 * wire: in its own presentation form (TLSA, SMIMEA, OPENPGPKEY) and always in
 * the generic form.  Other types may be malformed (only their generic form
 * was read), so their own printer may refuse them.
 */
static void
check_text_wire(uint16_t type, const struct buf *wire)
{
	struct buf text = BUF_INIT, again = BUF_INIT;
	struct why why;

	if (has_text_form(type)) {
		FUZZ_CHECK(rr_rdata_to_text(type, wire->data, wire->len, &text, &why));
		FUZZ_CHECK(rr_rdata_from_text(type, buf_str(&text), &again, &why));
		FUZZ_CHECK(same(&again, wire->data, wire->len));
		buf_reset(&text);
		buf_reset(&again);
	}
	rr_generic_to_text(wire->data, wire->len, &text);
	FUZZ_CHECK(rr_rdata_from_text(type, buf_str(&text), &again, &why));
	FUZZ_CHECK(same(&again, wire->data, wire->len));
	buf_release(&text);
	buf_release(&again);
}

static void
fuzz_assoc_wire(const uint8_t *p, size_t n)
{
	struct rr_assoc a = {0}, b = {0};
	struct buf wire = BUF_INIT, text = BUF_INIT;
	struct why why;

	if (rr_assoc_from_wire(&a, p, n, &why)) {
		rr_assoc_to_wire(&a, &wire);
		FUZZ_CHECK(same(&wire, p, n));
		rr_assoc_to_text(&a, &text);
		FUZZ_CHECK(rr_assoc_from_text(&b, buf_str(&text), &why));
		FUZZ_CHECK(b.usage == a.usage && b.selector == a.selector && b.mtype == a.mtype);
		FUZZ_CHECK(b.len == a.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	}
	rr_assoc_clear(&a);
	rr_assoc_clear(&b);
	buf_release(&wire);
	buf_release(&text);
}

static void
fuzz_assoc_text(const char *s)
{
	struct rr_assoc a = {0};
	struct buf wire = BUF_INIT;
	struct why why;

	if (rr_assoc_from_text(&a, s, &why)) {
		rr_assoc_to_wire(&a, &wire);
		check_text_wire(RR_TYPE_TLSA, &wire);
	}
	rr_assoc_clear(&a);
	buf_release(&wire);
}

static void
fuzz_openpgpkey_text(const char *s)
{
	struct buf key = BUF_INIT, text = BUF_INIT, again = BUF_INIT;
	struct why why;

	if (rr_openpgpkey_from_text(&key, s, &why)) {
		rr_openpgpkey_to_text(key.data, key.len, &text);
		FUZZ_CHECK(rr_openpgpkey_from_text(&again, buf_str(&text), &why));
		FUZZ_CHECK(same(&again, key.data, key.len));
	}
	buf_release(&key);
	buf_release(&text);
	buf_release(&again);
}

static void
fuzz_generic_text(const char *s)
{
	struct buf rdata = BUF_INIT, text = BUF_INIT, again = BUF_INIT;
	struct why why;

	if (rr_generic_from_text(&rdata, s, &why)) {
		rr_generic_to_text(rdata.data, rdata.len, &text);
		FUZZ_CHECK(rr_generic_from_text(&again, buf_str(&text), &why));
		FUZZ_CHECK(same(&again, rdata.data, rdata.len));
	}
	buf_release(&rdata);
	buf_release(&text);
	buf_release(&again);
}

/* Wire RDATA of any type to text; the types that parse text back must round-trip. */
static void
fuzz_rdata_wire(uint16_t type, const uint8_t *p, size_t n)
{
	struct buf text = BUF_INIT, wire = BUF_INIT;
	struct why why;

	if (rr_rdata_to_text(type, p, n, &text, &why)) {
		if (has_text_form(type) || strncmp(buf_str(&text), "\\# ", 3) == 0) {
			FUZZ_CHECK(rr_rdata_from_text(type, buf_str(&text), &wire, &why));
			FUZZ_CHECK(same(&wire, p, n));
		}
	} else {
		FUZZ_CHECK(text.len == 0); /* nothing appended on failure */
	}
	buf_release(&text);
	buf_release(&wire);
}

static void
fuzz_rdata_text(uint16_t type, const char *s)
{
	struct buf wire = BUF_INIT;
	struct why why;

	if (rr_rdata_from_text(type, s, &wire, &why))
		check_text_wire(type, &wire);
	else
		FUZZ_CHECK(wire.len == 0);
	buf_release(&wire);
}

/* Every name in a row of uncompressed wire names. */
static void
fuzz_names(const uint8_t *p, size_t n)
{
	struct buf out = BUF_INIT;
	struct why why;
	size_t pos = 0, before;

	while (pos < n) {
		before = pos;
		if (!rr_name_to_text(p, n, &pos, &out, &why))
			break;
		FUZZ_CHECK(pos > before && pos <= n);
		FUZZ_CHECK(out.len > 0 && out.data[out.len - 1] == '.');
		buf_putc(&out, ' ');
	}
	buf_release(&out);
}

static void
fuzz_type(const char *s)
{
	uint16_t type;
	struct why why;
	char name[16];

	if (rr_type_parse(s, &type, &why)) {
		const char *mnemonic = rr_type_name(type);
		uint16_t again;

		if (mnemonic == NULL) {
			snprintf(name, sizeof(name), "TYPE%u", (unsigned)type);
			mnemonic = name;
		}
		FUZZ_CHECK(rr_type_parse(mnemonic, &again, &why) && again == type);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode, sel;
	char *s;

	if (size < 2)
		return 0;
	mode = data[0];
	sel = data[1];
	data += 2;
	size -= 2;
	s = fuzz_cstr(data, size);
	switch (mode % 8) {
	case 0:
		fuzz_assoc_wire(data, size);
		break;
	case 1:
		fuzz_assoc_text(s);
		break;
	case 2:
		fuzz_openpgpkey_text(s);
		break;
	case 3:
		fuzz_generic_text(s);
		break;
	case 4:
		fuzz_rdata_wire(types[sel % (sizeof(types) / sizeof(types[0]))], data, size);
		break;
	case 5:
		fuzz_rdata_text(types[sel % (sizeof(types) / sizeof(types[0]))], s);
		break;
	case 6:
		fuzz_names(data, size);
		break;
	case 7:
		fuzz_type(s);
		break;
	}
	free(s);
	return 0;
}
