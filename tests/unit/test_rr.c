/*
 * test_rr.c - unit tests for lib/dns/rr.c: RR type names (RFC 3597 section
 * 5), RFC 7218 acronyms, TLSA/SMIMEA RDATA (RFC 6698 sections 2.1-2.3, RFC
 * 8162 section 2), OPENPGPKEY RDATA (RFC 7929 section 2), the RFC 3597
 * generic form, presentation output of A/AAAA/MX/NS/CNAME/TXT and wire names
 * (RFC 1035 section 5.1).  Table-driven; failures say "got X, want Y".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/rr.h"
#include "dns/zonefmt.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/why.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal with embedded NULs, and its length. */
#define WIRE(s) s, sizeof(s) - 1

/* RFC 6698 section 2.3, first example (SHA2-256 of a PKIX CA certificate). */
#define RFC6698_EX1_HEX "d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971"
/* RFC 6698 section 2.3, second example (SHA2-512 of an end-entity SPKI). */
#define RFC6698_EX2_HEX                                                                            \
	"92003ba34942dc74152e2f2c408d29eca5a520e7f2e06bb944f4dca346baf63c"                         \
	"1b177615d466f6c4b71c216a50292bd58c9ebdd2f74e38fe51ffd48c43326cbc"
#define HEX32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* Decode test hex (trusted) into a buffer. */
static void
unhex(struct buf *out, const char *hex)
{
	struct why why;

	buf_reset(out);
	if (!hex_decode(out, hex, strlen(hex), &why))
		fail_msg("bad test vector %s: %s", hex, why.msg);
}

static void
test_type_names(void **state)
{
	static const struct {
		uint16_t type;
		const char *name;
	} cases[] = {
	        {1, "A"},     {2, "NS"},      {5, "CNAME"},       {6, "SOA"},    {15, "MX"},
	        {16, "TXT"},  {28, "AAAA"},   {43, "DS"},         {46, "RRSIG"}, {48, "DNSKEY"},
	        {52, "TLSA"}, {53, "SMIMEA"}, {61, "OPENPGPKEY"},
	};
	static const struct {
		const char *text;
		uint16_t want;
	} parses[] = {
	        {"smimea", 53}, {"Tlsa", 52},   {"openpgpkey", 61},   {"TYPE53", 53},
	        {"type61", 61}, {"TYPE0", 0},   {"TYPE65535", 65535}, {"TYPE00052", 52},
	        {"aaaa", 28},   {"TYPE99", 99},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		const char *got = rr_type_name(cases[i].type);
		uint16_t type = 0;
		struct why why;

		if (got == NULL || strcmp(got, cases[i].name) != 0)
			fail_msg("rr_type_name(%u): got %s, want %s", cases[i].type,
			         got ? got : "NULL", cases[i].name);
		if (!rr_type_parse(cases[i].name, &type, &why))
			fail_msg("rr_type_parse(%s): %s", cases[i].name, why.msg);
		if (type != cases[i].type)
			fail_msg("rr_type_parse(%s): got %u, want %u", cases[i].name, type,
			         cases[i].type);
	}
	for (i = 0; i < NELEM(parses); i++) {
		uint16_t type = 0;
		struct why why;

		if (!rr_type_parse(parses[i].text, &type, &why))
			fail_msg("rr_type_parse(%s): %s", parses[i].text, why.msg);
		if (type != parses[i].want)
			fail_msg("rr_type_parse(%s): got %u, want %u", parses[i].text, type,
			         parses[i].want);
	}
	assert_null(rr_type_name(99));
	assert_null(rr_type_name(0));
}

static void
test_type_parse_rejects(void **state)
{
	static const char *bad[] = {"",
	                            "FOO",
	                            "TYPE",
	                            "TYPE65536",
	                            "TYPE-1",
	                            "TYPE+1",
	                            "TYPE1x",
	                            "TYPE 1",
	                            " A",
	                            "A ",
	                            "SMIMEAX",
	                            "TYPEx",
	                            "TYPE99999999999999999999"};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		uint16_t type = 7;
		struct why why = {""};

		if (rr_type_parse(bad[i], &type, &why))
			fail_msg("rr_type_parse(\"%s\"): got %u, want rejected", bad[i], type);
		if (why.msg[0] == '\0')
			fail_msg("rr_type_parse(\"%s\"): rejected without a reason", bad[i]);
	}
	{
		uint16_t type = 7;

		/* a NULL why is allowed */
		assert_false(rr_type_parse("FOO", &type, NULL));
		assert_int_equal(type, 7);
	}
}

static void
test_rfc7218_names(void **state)
{
	static const struct {
		const char *(*fn)(unsigned);
		const char *fname;
		unsigned value;
		const char *want;
	} cases[] = {
	        {rr_usage_name, "usage", 0, "PKIX-TA"},
	        {rr_usage_name, "usage", 1, "PKIX-EE"},
	        {rr_usage_name, "usage", 2, "DANE-TA"},
	        {rr_usage_name, "usage", 3, "DANE-EE"},
	        {rr_usage_name, "usage", 4, "unknown"},
	        {rr_usage_name, "usage", 255, "PrivCert"},
	        {rr_usage_name, "usage", 256, "unknown"},
	        {rr_selector_name, "selector", 0, "Cert"},
	        {rr_selector_name, "selector", 1, "SPKI"},
	        {rr_selector_name, "selector", 2, "unknown"},
	        {rr_selector_name, "selector", 255, "PrivSel"},
	        {rr_mtype_name, "mtype", 0, "Full"},
	        {rr_mtype_name, "mtype", 1, "SHA2-256"},
	        {rr_mtype_name, "mtype", 2, "SHA2-512"},
	        {rr_mtype_name, "mtype", 3, "unknown"},
	        {rr_mtype_name, "mtype", 255, "PrivMatch"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		const char *got = cases[i].fn(cases[i].value);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s name of %u: got %s, want %s", cases[i].fname, cases[i].value,
			         got, cases[i].want);
	}
}

static void
test_tlsa_rfc6698_examples(void **state)
{
	struct rr_assoc a;
	struct buf out = BUF_INIT, want = BUF_INIT;
	struct why why;

	(void)state;
	/* Example 1, exactly as printed in RFC 6698 section 2.3 (with the parentheses). */
	if (!rr_assoc_from_text(&a, "(\n   0 0 1 " RFC6698_EX1_HEX " )", &why))
		fail_msg("example 1: %s", why.msg);
	assert_int_equal(a.usage, RR_USAGE_PKIX_TA);
	assert_int_equal(a.selector, RR_SELECTOR_CERT);
	assert_int_equal(a.mtype, RR_MTYPE_SHA256);
	assert_int_equal(a.len, 32);
	rr_assoc_to_text(&a, &out);
	if (strcmp(buf_str(&out), "0 0 1 " RFC6698_EX1_HEX) != 0)
		fail_msg("example 1 text: got %s, want 0 0 1 %s", buf_str(&out), RFC6698_EX1_HEX);
	buf_reset(&out);
	rr_assoc_to_wire(&a, &out);
	unhex(&want, "000001" RFC6698_EX1_HEX);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	rr_assoc_clear(&a);
	rr_assoc_clear(&a); /* twice is fine */
	rr_assoc_clear(NULL);

	/* Example 2: the hex split over two lines inside the parentheses. */
	if (!rr_assoc_from_text(&a,
	                        "( 1 1 2 92003ba34942dc74152e2f2c408d29eca5a520e7f2e06bb944f4dca3"
	                        "46baf63c\n       1b177615d466f6c4b71c216a50292bd58c9ebdd2f74e38fe"
	                        "51ffd48c43326cbc )",
	                        &why))
		fail_msg("example 2: %s", why.msg);
	assert_int_equal(a.usage, RR_USAGE_PKIX_EE);
	assert_int_equal(a.selector, RR_SELECTOR_SPKI);
	assert_int_equal(a.mtype, RR_MTYPE_SHA512);
	assert_int_equal(a.len, 64);
	buf_reset(&out);
	rr_assoc_to_text(&a, &out);
	if (strcmp(buf_str(&out), "1 1 2 " RFC6698_EX2_HEX) != 0)
		fail_msg("example 2 text: got %s, want 1 1 2 %s", buf_str(&out), RFC6698_EX2_HEX);
	rr_assoc_clear(&a);
	buf_release(&out);
	buf_release(&want);
}

/* text -> wire -> text, wire -> generic -> wire, and the same through rr_rdata_*. */
static void
test_assoc_round_trips(void **state)
{
	static const struct {
		uint16_t type;
		const char *text, *canonical, *wire_hex;
	} cases[] = {
	        {RR_TYPE_TLSA, "0 0 1 " RFC6698_EX1_HEX, "0 0 1 " RFC6698_EX1_HEX,
	         "000001" RFC6698_EX1_HEX},
	        {RR_TYPE_TLSA, "1 1 2 " RFC6698_EX2_HEX, "1 1 2 " RFC6698_EX2_HEX,
	         "010102" RFC6698_EX2_HEX},
	        {RR_TYPE_TLSA,
	         "3 1 1 ( 0001020304050607 08090A0B0C0D0E0F\n\t101112131415161718191A1B1C1D1E1F )",
	         "3 1 1 " HEX32, "030101" HEX32},
	        {RR_TYPE_TLSA, "  2   0   0   ab  ", "2 0 0 ab", "020000ab"},
	        {RR_TYPE_SMIMEA, "3 0 0 01020304", "3 0 0 01020304", "03000001020304"},
	        {RR_TYPE_SMIMEA, "003 000 000 FF", "3 0 0 ff", "030000ff"},
	        {RR_TYPE_SMIMEA, "255 255 255 00", "255 255 255 00", "ffffff00"},
	        /* unknown matching types keep any length */
	        {RR_TYPE_SMIMEA, "3 1 7 0102", "3 1 7 0102", "0301070102"},
	        {RR_TYPE_TLSA, "\\# 4 020000ab", "2 0 0 ab", "020000ab"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf wire = BUF_INIT, want = BUF_INIT, text = BUF_INIT, gen = BUF_INIT,
		           back = BUF_INIT;
		struct rr_assoc a, b;
		struct why why;

		if (!rr_assoc_from_text(&a, cases[i].text, &why))
			fail_msg("from_text(%s): %s", cases[i].text, why.msg);
		rr_assoc_to_text(&a, &text);
		if (strcmp(buf_str(&text), cases[i].canonical) != 0)
			fail_msg("to_text(%s): got %s, want %s", cases[i].text, buf_str(&text),
			         cases[i].canonical);
		rr_assoc_to_wire(&a, &wire);
		unhex(&want, cases[i].wire_hex);
		if (wire.len != want.len || memcmp(wire.data, want.data, want.len) != 0)
			fail_msg("to_wire(%s): got %zu octets, want %s", cases[i].text, wire.len,
			         cases[i].wire_hex);
		if (!rr_assoc_from_wire(&b, wire.data, wire.len, &why))
			fail_msg("from_wire(%s): %s", cases[i].wire_hex, why.msg);
		assert_int_equal(b.usage, a.usage);
		assert_int_equal(b.selector, a.selector);
		assert_int_equal(b.mtype, a.mtype);
		assert_int_equal(b.len, a.len);
		assert_memory_equal(b.data, a.data, a.len);
		rr_assoc_clear(&b);

		/* generic form and back */
		rr_generic_to_text(wire.data, wire.len, &gen);
		if (!rr_generic_from_text(&back, buf_str(&gen), &why))
			fail_msg("generic_from_text(%s): %s", buf_str(&gen), why.msg);
		assert_int_equal(back.len, wire.len);
		assert_memory_equal(back.data, wire.data, wire.len);

		/* the type-dispatching entry points agree */
		buf_reset(&back);
		if (!rr_rdata_from_text(cases[i].type, cases[i].text, &back, &why))
			fail_msg("rdata_from_text(%s): %s", cases[i].text, why.msg);
		assert_int_equal(back.len, wire.len);
		assert_memory_equal(back.data, wire.data, wire.len);
		buf_reset(&back);
		if (!rr_rdata_from_text(cases[i].type, buf_str(&gen), &back, &why))
			fail_msg("rdata_from_text(%s): %s", buf_str(&gen), why.msg);
		assert_int_equal(back.len, wire.len);
		assert_memory_equal(back.data, wire.data, wire.len);
		buf_reset(&text);
		if (!rr_rdata_to_text(cases[i].type, wire.data, wire.len, &text, &why))
			fail_msg("rdata_to_text(%s): %s", cases[i].wire_hex, why.msg);
		if (strcmp(buf_str(&text), cases[i].canonical) != 0)
			fail_msg("rdata_to_text(%s): got %s, want %s", cases[i].wire_hex,
			         buf_str(&text), cases[i].canonical);

		rr_assoc_clear(&a);
		buf_release(&wire);
		buf_release(&want);
		buf_release(&text);
		buf_release(&gen);
		buf_release(&back);
	}
}

static void
test_assoc_text_rejects(void **state)
{
	static const struct {
		const char *name, *text;
	} cases[] = {
	        {"empty", ""},
	        {"blank", "   "},
	        {"missing selector", "3"},
	        {"missing matching type", "3 0"},
	        {"missing data", "3 0 0"},
	        {"missing data, trailing space", "3 0 0   "},
	        {"usage 256", "256 0 0 01"},
	        {"selector 256", "3 256 0 01"},
	        {"matching type 256", "3 0 256 01"},
	        {"negative field", "-1 0 0 01"},
	        {"signed field", "+3 0 0 01"},
	        {"hex field", "0x3 0 0 01"},
	        {"mnemonic field", "DANE-EE 0 0 01"},
	        {"field glued to data", "3 0 0x01"},
	        {"bad hex", "3 0 0 0g"},
	        {"odd hex", "3 0 0 012"},
	        {"SHA2-256 of 31 octets",
	         "3 1 1 "
	         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"},
	        {"SHA2-256 of 33 octets", "3 1 1 " HEX32 "20"},
	        {"SHA2-512 of 63 octets",
	         "3 1 2 " HEX32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"},
	        {"SHA2-512 of 32 octets", "3 1 2 " HEX32},
	        {"trailing junk", "3 0 0 0102 junk"},
	        {"zone-file comment", "3 0 0 0102 ; comment"},
	        {"unbalanced (", "( 3 0 0 0102"},
	        {"unbalanced )", "3 0 0 0102 )"},
	        {"nested (", "( ( 3 0 0 0102 ) )"},
	        {"generic, short", "\\# 3 030000"},
	        {"generic, length mismatch", "\\# 3 0102"},
	        {"generic, length too big", "\\# 5 03000001"},
	        {"generic, length not a number", "\\# x"},
	        {"generic, no length", "\\#"},
	        {"generic, negative length", "\\# -4 03000001"},
	        {"generic, length over 65535", "\\# 65536 00"},
	        {"generic, bad hex", "\\# 4 0300000g"},
	        {"generic, SHA2-256 too short", "\\# 4 03010100"},
	        {"generic, empty", "\\# 0"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct rr_assoc a;
		struct buf wire = BUF_INIT;
		struct why why = {""};
		uint16_t types[] = {RR_TYPE_TLSA, RR_TYPE_SMIMEA};
		size_t t;

		if (rr_assoc_from_text(&a, cases[i].text, &why))
			fail_msg("%s: \"%s\" accepted, want rejected", cases[i].name,
			         cases[i].text);
		if (why.msg[0] == '\0')
			fail_msg("%s: rejected without a reason", cases[i].name);
		assert_null(a.data);
		assert_int_equal(a.len, 0);
		for (t = 0; t < NELEM(types); t++) {
			buf_puts(&wire, "keep");
			why.msg[0] = '\0';
			if (rr_rdata_from_text(types[t], cases[i].text, &wire, &why))
				fail_msg("%s: rdata_from_text(%u, \"%s\") accepted, want rejected",
				         cases[i].name, types[t], cases[i].text);
			if (why.msg[0] == '\0')
				fail_msg("%s: rdata_from_text rejected without a reason",
				         cases[i].name);
			if (strcmp(buf_str(&wire), "keep") != 0)
				fail_msg("%s: output got \"%s\", want \"keep\" (unchanged)",
				         cases[i].name, buf_str(&wire));
			buf_reset(&wire);
		}
		buf_release(&wire);
	}
}

static void
test_assoc_wire_rejects(void **state)
{
	static const struct {
		const char *name, *hex;
	} cases[] = {
	        {"empty RDATA", ""},
	        {"1 octet", "03"},
	        {"2 octets", "0300"},
	        {"3 octets: no association data", "030101"},
	        {"SHA2-256 with 31 octets",
	         "030101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"},
	        {"SHA2-256 with 33 octets", "030101" HEX32 "ff"},
	        {"SHA2-512 with 63 octets",
	         "030102" HEX32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"},
	        {"SHA2-512 with 65 octets", "030102" HEX32 HEX32 "ff"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf wire = BUF_INIT, out = BUF_INIT;
		struct rr_assoc a;
		struct why why = {""};

		unhex(&wire, cases[i].hex);
		if (rr_assoc_from_wire(&a, wire.data, wire.len, &why))
			fail_msg("%s: accepted, want rejected", cases[i].name);
		if (why.msg[0] == '\0')
			fail_msg("%s: rejected without a reason", cases[i].name);
		assert_null(a.data);
		why.msg[0] = '\0';
		buf_puts(&out, "keep");
		if (rr_rdata_to_text(RR_TYPE_SMIMEA, wire.data, wire.len, &out, &why))
			fail_msg("%s: rdata_to_text accepted, want rejected", cases[i].name);
		if (why.msg[0] == '\0' || strcmp(buf_str(&out), "keep") != 0)
			fail_msg("%s: got why \"%s\" output \"%s\", want a reason and \"keep\"",
			         cases[i].name, why.msg, buf_str(&out));
		buf_release(&wire);
		buf_release(&out);
	}
}

/* RFC 3597 section 5: the generic form of an SMIMEA is the same record. */
static void
test_generic_smimea_equals_presentation(void **state)
{
	struct buf gen = BUF_INIT, pres = BUF_INIT, text = BUF_INIT;
	struct rr_assoc a;
	struct why why;

	(void)state;
	assert_true(rr_rdata_from_text(RR_TYPE_SMIMEA, "\\# 7 03000001020304", &gen, &why));
	assert_true(rr_rdata_from_text(RR_TYPE_SMIMEA, "3 0 0 01020304", &pres, &why));
	if (gen.len != pres.len || memcmp(gen.data, pres.data, gen.len) != 0)
		fail_msg("generic and presentation SMIMEA differ: got %zu octets, want %zu",
		         gen.len, pres.len);
	/* hex words may be split and wrapped, as RFC 3597 allows */
	assert_true(rr_assoc_from_text(&a, "\\# 7 ( 030000\n 01 0203 04 )", &why));
	assert_int_equal(a.usage, RR_USAGE_DANE_EE);
	assert_int_equal(a.len, 4);
	rr_assoc_to_text(&a, &text);
	if (strcmp(buf_str(&text), "3 0 0 01020304") != 0)
		fail_msg("got %s, want 3 0 0 01020304", buf_str(&text));
	rr_assoc_clear(&a);
	buf_release(&gen);
	buf_release(&pres);
	buf_release(&text);
}

static void
test_generic_codec(void **state)
{
	static const struct {
		const char *text;
		const char *hex; /* NULL: rejected */
	} cases[] = {
	        {"\\# 0", ""},
	        {"  \\#   0  ", ""},
	        {"( \\# 0 )", ""},
	        {"\\# 2 0102", "0102"},
	        {"\\# 2 01 02", "0102"},
	        {"\\# 3 ( 01\n02 03 )", "010203"},
	        {"\\# 2 ABcd", "abcd"},
	        {"\\# 0 00", NULL},
	        {"\\# 3 0102", NULL},
	        {"\\# 1 0102", NULL},
	        {"\\# x", NULL},
	        {"\\# 2x 0102", NULL},
	        {"\\#", NULL},
	        {"\\#2 0102", NULL},
	        {"#  2 0102", NULL},
	        {"2 0102", NULL},
	        {"\\# 1 0", NULL},
	        {"\\# 1 zz", NULL},
	        {"", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf got = BUF_INIT, want = BUF_INIT;
		struct why why = {""};
		bool ok;

		buf_puts(&got, "pre");
		ok = rr_generic_from_text(&got, cases[i].text, &why);
		if (cases[i].hex == NULL) {
			if (ok)
				fail_msg("\"%s\": accepted, want rejected", cases[i].text);
			if (why.msg[0] == '\0' || strcmp(buf_str(&got), "pre") != 0)
				fail_msg("\"%s\": got why \"%s\" output \"%s\", want a reason and "
				         "\"pre\"",
				         cases[i].text, why.msg, buf_str(&got));
		} else {
			if (!ok)
				fail_msg("\"%s\": %s", cases[i].text, why.msg);
			unhex(&want, cases[i].hex);
			if (got.len != 3 + want.len ||
			    (want.len > 0 && memcmp(got.data + 3, want.data, want.len) != 0))
				fail_msg("\"%s\": got %zu octets, want pre + %s", cases[i].text,
				         got.len, cases[i].hex);
		}
		buf_release(&got);
		buf_release(&want);
	}
}

static void
test_generic_to_text(void **state)
{
	static const struct {
		const char *hex, *want;
	} cases[] = {
	        {"", "\\# 0"},
	        {"00", "\\# 1 00"},
	        {"03000001020304", "\\# 7 03000001020304"},
	        {"ABCDEF", "\\# 3 abcdef"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf wire = BUF_INIT, out = BUF_INIT;

		unhex(&wire, cases[i].hex);
		rr_generic_to_text(wire.data, wire.len, &out);
		if (strcmp(buf_str(&out), cases[i].want) != 0)
			fail_msg("generic_to_text(%s): got %s, want %s", cases[i].hex,
			         buf_str(&out), cases[i].want);
		buf_release(&wire);
		buf_release(&out);
	}
}

static void
test_openpgpkey(void **state)
{
	static const struct {
		const char *text, *key; /* key NULL: rejected */
	} cases[] = {
	        {"Zm9vYmFy", "foobar"},
	        {"Zm9v YmFy", "foobar"},
	        {"( Zm9v\n  YmE= )", "fooba"},
	        {"Zg==", "f"},
	        {"\\# 3 666f6f", "foo"},
	        {"", NULL},
	        {"   ", NULL},
	        {"()", NULL},
	        {"\\# 0", NULL},
	        {"Zm9v!", NULL},
	        {"Zm9vY", NULL},
	        {"Zg=", NULL},
	        {"Zh==", NULL},
	        {"Zm9vYmFy ;junk", NULL},
	        {"\\# 3 666f", NULL},
	        {"( Zm9v", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf key = BUF_INIT, wire = BUF_INIT, text = BUF_INIT;
		struct why why = {""};
		bool ok = rr_openpgpkey_from_text(&key, cases[i].text, &why);

		if (cases[i].key == NULL) {
			if (ok)
				fail_msg("\"%s\": accepted, want rejected", cases[i].text);
			if (why.msg[0] == '\0' || key.len != 0)
				fail_msg("\"%s\": got why \"%s\" and %zu octets, want a reason and "
				         "none",
				         cases[i].text, why.msg, key.len);
			why.msg[0] = '\0';
			if (rr_rdata_from_text(RR_TYPE_OPENPGPKEY, cases[i].text, &wire, &why))
				fail_msg("rdata_from_text(\"%s\"): accepted, want rejected",
				         cases[i].text);
			assert_true(why.msg[0] != '\0');
			assert_int_equal(wire.len, 0);
		} else {
			if (!ok)
				fail_msg("\"%s\": %s", cases[i].text, why.msg);
			if (strcmp(buf_str(&key), cases[i].key) != 0)
				fail_msg("\"%s\": got %s, want %s", cases[i].text, buf_str(&key),
				         cases[i].key);
			if (!rr_rdata_from_text(RR_TYPE_OPENPGPKEY, cases[i].text, &wire, &why))
				fail_msg("rdata_from_text(\"%s\"): %s", cases[i].text, why.msg);
			assert_int_equal(wire.len, key.len);
			/* wire -> text -> wire */
			if (!rr_rdata_to_text(RR_TYPE_OPENPGPKEY, wire.data, wire.len, &text, &why))
				fail_msg("rdata_to_text(%s): %s", cases[i].key, why.msg);
			buf_reset(&key);
			if (!rr_openpgpkey_from_text(&key, buf_str(&text), &why))
				fail_msg("round trip \"%s\": %s", buf_str(&text), why.msg);
			if (strcmp(buf_str(&key), cases[i].key) != 0)
				fail_msg("round trip: got %s, want %s", buf_str(&key),
				         cases[i].key);
			/* wire -> generic -> wire */
			buf_reset(&text);
			rr_generic_to_text(wire.data, wire.len, &text);
			buf_reset(&key);
			if (!rr_rdata_from_text(RR_TYPE_OPENPGPKEY, buf_str(&text), &key, &why))
				fail_msg("generic round trip \"%s\": %s", buf_str(&text), why.msg);
			if (strcmp(buf_str(&key), cases[i].key) != 0)
				fail_msg("generic round trip: got %s, want %s", buf_str(&key),
				         cases[i].key);
		}
		buf_release(&key);
		buf_release(&wire);
		buf_release(&text);
	}
}

static void
test_rdata_to_text(void **state)
{
	static const struct {
		uint16_t type;
		const char *rdata;
		size_t len;
		const char *want;
	} cases[] = {
	        {RR_TYPE_A, WIRE("\300\000\002\001"), "192.0.2.1"},
	        {RR_TYPE_A, WIRE("\377\377\377\377"), "255.255.255.255"},
	        {RR_TYPE_AAAA,
	         WIRE("\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\001"),
	         "2001:db8::1"},
	        {RR_TYPE_AAAA,
	         WIRE("\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"), "::"},
	        {RR_TYPE_MX, WIRE("\000\012\004mail\007example\003com\000"),
	         "10 mail.example.com."},
	        /* RFC 7505 null MX */
	        {RR_TYPE_MX, WIRE("\000\000\000"), "0 ."},
	        {RR_TYPE_MX, WIRE("\377\377\001a\000"), "65535 a."},
	        {RR_TYPE_CNAME, WIRE("\003www\007example\003com\000"), "www.example.com."},
	        {RR_TYPE_CNAME, WIRE("\003a.b\007example\000"), "a\\.b.example."},
	        {RR_TYPE_NS, WIRE("\003ns1\007example\000"), "ns1.example."},
	        {RR_TYPE_TXT, WIRE("\005hello"), "\"hello\""},
	        {RR_TYPE_TXT, WIRE("\000"), "\"\""},
	        {RR_TYPE_TXT, WIRE("\007v=spf1 \004-all"), "\"v=spf1 \" \"-all\""},
	        {RR_TYPE_TXT, WIRE("\010a\"b\\c\001\377x"), "\"a\\\"b\\\\c\\001\\255x\""},
	        {RR_TYPE_TXT, WIRE("\003\t\n\177"), "\"\\009\\010\\127\""},
	        {RR_TYPE_TLSA, WIRE("\003\000\000\001\002"), "3 0 0 0102"},
	        {RR_TYPE_SMIMEA, WIRE("\003\000\000\001\002\003\004"), "3 0 0 01020304"},
	        {RR_TYPE_OPENPGPKEY, WIRE("foobar"), "Zm9vYmFy"},
	        {RR_TYPE_SOA, WIRE("\000\000"), "\\# 2 0000"},
	        {99, WIRE("\001\002\003"), "\\# 3 010203"},
	        {1234, "", 0, "\\# 0"},
	        {RR_TYPE_DNSKEY, WIRE("\001\001\003\010"), "\\# 4 01010308"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct why why;

		buf_puts(&out, ">");
		if (!rr_rdata_to_text(cases[i].type, (const uint8_t *)cases[i].rdata, cases[i].len,
		                      &out, &why))
			fail_msg("case %zu (type %u): %s", i, cases[i].type, why.msg);
		if (strcmp(buf_str(&out) + 1, cases[i].want) != 0)
			fail_msg("case %zu (type %u): got %s, want %s", i, cases[i].type,
			         buf_str(&out) + 1, cases[i].want);
		buf_release(&out);
	}
}

static void
test_rdata_to_text_rejects(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
		const char *rdata;
		size_t len;
	} cases[] = {
	        {"A of 3 octets", RR_TYPE_A, WIRE("\300\000\002")},
	        {"A of 5 octets", RR_TYPE_A, WIRE("\300\000\002\001\001")},
	        {"empty A", RR_TYPE_A, "", 0},
	        {"AAAA of 15 octets", RR_TYPE_AAAA,
	         WIRE("\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000")},
	        {"AAAA of 4 octets", RR_TYPE_AAAA, WIRE("\300\000\002\001")},
	        {"MX, preference only", RR_TYPE_MX, WIRE("\000\012")},
	        {"MX, no root label", RR_TYPE_MX, WIRE("\000\012\004mail")},
	        {"MX, trailing junk", RR_TYPE_MX, WIRE("\000\012\000\000")},
	        {"MX, compressed", RR_TYPE_MX, WIRE("\000\012\300\014")},
	        {"CNAME, pointer", RR_TYPE_CNAME, WIRE("\300\014")},
	        {"CNAME, label overrun", RR_TYPE_CNAME, WIRE("\005ab")},
	        {"CNAME, empty", RR_TYPE_CNAME, "", 0},
	        {"NS, trailing junk", RR_TYPE_NS, WIRE("\001a\000x")},
	        {"TXT, empty", RR_TYPE_TXT, "", 0},
	        {"TXT, overrun", RR_TYPE_TXT, WIRE("\005ab")},
	        {"TXT, second string overrun", RR_TYPE_TXT, WIRE("\001a\002b")},
	        {"TLSA of 3 octets", RR_TYPE_TLSA, WIRE("\003\001\001")},
	        {"TLSA SHA2-256 of 1 octet", RR_TYPE_TLSA, WIRE("\003\001\001\000")},
	        {"OPENPGPKEY, empty", RR_TYPE_OPENPGPKEY, "", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct why why = {""};

		buf_puts(&out, "keep");
		if (rr_rdata_to_text(cases[i].type, (const uint8_t *)cases[i].rdata, cases[i].len,
		                     &out, &why))
			fail_msg("%s: got \"%s\", want rejected", cases[i].name, buf_str(&out));
		if (why.msg[0] == '\0')
			fail_msg("%s: rejected without a reason", cases[i].name);
		if (strcmp(buf_str(&out), "keep") != 0)
			fail_msg("%s: output got \"%s\", want \"keep\" (unchanged)", cases[i].name,
			         buf_str(&out));
		buf_release(&out);
	}
}

/* Types without a presentation parser accept only the generic form. */
static void
test_rdata_from_text_other_types(void **state)
{
	struct buf wire = BUF_INIT, text = BUF_INIT;
	struct why why = {""};

	(void)state;
	assert_true(rr_rdata_from_text(RR_TYPE_A, "\\# 4 c0000201", &wire, &why));
	assert_true(rr_rdata_to_text(RR_TYPE_A, wire.data, wire.len, &text, &why));
	if (strcmp(buf_str(&text), "192.0.2.1") != 0)
		fail_msg("got %s, want 192.0.2.1", buf_str(&text));
	buf_reset(&wire);
	assert_true(rr_rdata_from_text(4321, "\\# 0", &wire, &why));
	assert_int_equal(wire.len, 0);
	assert_false(rr_rdata_from_text(RR_TYPE_A, "192.0.2.1", &wire, &why));
	assert_true(why.msg[0] != '\0');
	assert_int_equal(wire.len, 0);
	assert_false(rr_rdata_from_text(RR_TYPE_MX, "10 mail.example.com.", &wire, &why));
	assert_int_equal(wire.len, 0);
	/* the reason names the type */
	assert_false(rr_rdata_from_text(RR_TYPE_SMIMEA, "3 0 0", &wire, &why));
	if (strstr(why.msg, "SMIMEA") == NULL)
		fail_msg("why: got \"%s\", want it to name SMIMEA", why.msg);
	assert_false(rr_rdata_from_text(777, "1 2 3", &wire, &why));
	if (strstr(why.msg, "TYPE777") == NULL)
		fail_msg("why: got \"%s\", want it to name TYPE777", why.msg);
	buf_release(&wire);
	buf_release(&text);
}

static void
test_name_to_text(void **state)
{
	static const struct {
		const char *wire;
		size_t len, start;
		const char *want;
		size_t want_pos;
	} cases[] = {
	        {WIRE("\000"), 0, ".", 1},
	        {WIRE("\003www\007example\003com\000"), 0, "www.example.com.", 17},
	        {WIRE("\003a.b\000"), 0, "a\\.b.", 5},
	        {WIRE("\003a\\b\000"), 0, "a\\\\b.", 5},
	        {WIRE("\002\001\377\000"), 0, "\\001\\255.", 4},
	        {WIRE("\003a b\000"), 0, "a\\032b.", 5},
	        {WIRE("\004\"();\000"), 0, "\\\"\\(\\)\\;.", 6},
	        {WIRE("\003_25\004_tcp\000"), 0, "_25._tcp.", 10},
	        /* a name in the middle of a message, followed by more data */
	        {WIRE("\377\377\001a\000\377"), 2, "a.", 5},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct why why;
		size_t pos = cases[i].start;

		if (!rr_name_to_text((const uint8_t *)cases[i].wire, cases[i].len, &pos, &out,
		                     &why))
			fail_msg("case %zu: %s", i, why.msg);
		if (strcmp(buf_str(&out), cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, buf_str(&out), cases[i].want);
		if (pos != cases[i].want_pos)
			fail_msg("case %zu: got pos %zu, want %zu", i, pos, cases[i].want_pos);
		buf_release(&out);
	}
}

/* Build a wire name of `labels` labels of `size` octets each ('x'), then the root. */
static void
make_name(struct buf *wire, size_t labels, size_t size)
{
	size_t i, j;

	buf_reset(wire);
	for (i = 0; i < labels; i++) {
		buf_putc(wire, (int)size);
		for (j = 0; j < size; j++)
			buf_putc(wire, 'x');
	}
	buf_putc(wire, 0);
}

static void
test_name_limits(void **state)
{
	struct buf wire = BUF_INIT, out = BUF_INIT;
	struct why why = {""};
	size_t pos = 0;

	(void)state;
	/* 63-octet label: allowed */
	make_name(&wire, 1, 63);
	assert_true(rr_name_to_text(wire.data, wire.len, &pos, &out, &why));
	assert_int_equal(out.len, 64);
	/* 127 one-octet labels + root = 255 octets: allowed */
	make_name(&wire, 127, 1);
	assert_int_equal(wire.len, 255);
	pos = 0;
	buf_reset(&out);
	if (!rr_name_to_text(wire.data, wire.len, &pos, &out, &why))
		fail_msg("255-octet name: %s", why.msg);
	assert_int_equal(pos, 255);
	/* 128 labels = 257 octets: rejected */
	make_name(&wire, 128, 1);
	pos = 0;
	buf_reset(&out);
	if (rr_name_to_text(wire.data, wire.len, &pos, &out, &why))
		fail_msg("257-octet name: accepted, want rejected");
	if (strstr(why.msg, "255") == NULL)
		fail_msg("257-octet name: got why \"%s\", want it to mention 255", why.msg);
	/* 4 x 63 + root = 257: rejected */
	make_name(&wire, 4, 63);
	pos = 0;
	assert_false(rr_name_to_text(wire.data, wire.len, &pos, &out, &why));
	assert_int_equal(pos, 0);
	assert_int_equal(out.len, 0);
	buf_release(&wire);
	buf_release(&out);
}

static void
test_name_to_text_rejects(void **state)
{
	static const struct {
		const char *name, *wire;
		size_t len, start;
	} cases[] = {
	        {"empty input", "", 0, 0},
	        {"start past the end", WIRE("\000"), 2},
	        {"start at the end", WIRE("\000"), 1},
	        {"pointer", WIRE("\300\014"), 0},
	        {"pointer after a label", WIRE("\001a\300\000"), 0},
	        {"label type 0x40", WIRE("\100abc"), 0},
	        {"label type 0x80", WIRE("\200abc"), 0},
	        {"label overrun", WIRE("\005ab"), 0},
	        {"no root label", WIRE("\001a"), 0},
	        {"no root after two labels", WIRE("\001a\001b"), 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct why why = {""};
		size_t pos = cases[i].start;

		buf_puts(&out, "keep");
		if (rr_name_to_text((const uint8_t *)cases[i].wire, cases[i].len, &pos, &out, &why))
			fail_msg("%s: got \"%s\", want rejected", cases[i].name, buf_str(&out));
		if (why.msg[0] == '\0')
			fail_msg("%s: rejected without a reason", cases[i].name);
		if (strcmp(buf_str(&out), "keep") != 0 || pos != cases[i].start)
			fail_msg("%s: got output \"%s\" pos %zu, want \"keep\" pos %zu",
			         cases[i].name, buf_str(&out), pos, cases[i].start);
		buf_release(&out);
	}
}

/* Zone file lines (RFC 1035 5.1), the RFC 3597 generic form, nsupdate commands. */
static void
test_zonefmt(void **state)
{
	static const struct {
		const char *owner, *origin;
		bool in;
		const char *written;
	} owners[] = {
	        {"mx.example.com.", "example.com.", true, "mx"},
	        {"MX.Example.COM", "example.com.", true, "MX"},
	        {"example.com.", "example.com", true, "@"},
	        {"a.b.example.com.", "EXAMPLE.com.", true, "a.b"},
	        {"notexample.com.", "example.com.", false, "notexample.com."},
	        {"example.com.", "mx.example.com.", false, "example.com."},
	        {"anything.test.", ".", true, "anything.test"}, /* relative to the root */
	        {"mx.example.com.", NULL, false, "mx.example.com."},
	};
	/* TLSA 3 1 0 0102 at _25._tcp.mx.example.com. */
	static const uint8_t tlsa[] = {3, 1, 0, 0x01, 0x02};
	static const uint8_t bad[] = {3, 1};
	struct zonefmt_rr rr = {"_25._tcp.mx.example.com.", 3600, 52, tlsa, sizeof(tlsa)};
	static const struct {
		enum zonefmt_style style;
		const char *origin, *want;
	} lines[] = {
	        {ZONEFMT_ZONE, NULL, "_25._tcp.mx.example.com. 3600 IN TLSA 3 1 0 0102\n"},
	        {ZONEFMT_ZONE, "example.com.", "_25._tcp.mx 3600 IN TLSA 3 1 0 0102\n"},
	        {ZONEFMT_GENERIC, NULL,
	         "_25._tcp.mx.example.com. 3600 IN TYPE52 \\# 5 0301000102\n"},
	        {ZONEFMT_GENERIC, "example.com.", "_25._tcp.mx 3600 IN TYPE52 \\# 5 0301000102\n"},
	        {ZONEFMT_NSUPDATE, "example.com.",
	         "update add _25._tcp.mx.example.com. 3600 TLSA 3 1 0 0102\n"},
	};
	struct buf out = BUF_INIT;
	struct why why = {""};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		if (owners[i].origin)
			assert_int_equal(zonefmt_in_zone(owners[i].owner, owners[i].origin),
			                 owners[i].in);
		buf_reset(&out);
		zonefmt_owner(&out, owners[i].owner, owners[i].origin);
		if (strcmp(buf_str(&out), owners[i].written) != 0)
			fail_msg("owner %s under %s: got '%s', want '%s'", owners[i].owner,
			         owners[i].origin ? owners[i].origin : "(none)", buf_str(&out),
			         owners[i].written);
	}
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		buf_reset(&out);
		assert_true(zonefmt_line(&out, &rr, lines[i].style, lines[i].origin, &why));
		if (strcmp(buf_str(&out), lines[i].want) != 0)
			fail_msg("style %d: got '%s', want '%s'", (int)lines[i].style,
			         buf_str(&out), lines[i].want);
	}
	/* malformed RDATA: refused, nothing appended */
	rr.rdata = bad;
	rr.len = sizeof(bad);
	buf_reset(&out);
	assert_false(zonefmt_line(&out, &rr, ZONEFMT_ZONE, NULL, &why));
	assert_int_equal(out.len, 0);
	assert_true(why.msg[0] != '\0');
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_type_names),
	        cmocka_unit_test(test_type_parse_rejects),
	        cmocka_unit_test(test_rfc7218_names),
	        cmocka_unit_test(test_tlsa_rfc6698_examples),
	        cmocka_unit_test(test_assoc_round_trips),
	        cmocka_unit_test(test_assoc_text_rejects),
	        cmocka_unit_test(test_assoc_wire_rejects),
	        cmocka_unit_test(test_generic_smimea_equals_presentation),
	        cmocka_unit_test(test_generic_codec),
	        cmocka_unit_test(test_generic_to_text),
	        cmocka_unit_test(test_openpgpkey),
	        cmocka_unit_test(test_rdata_to_text),
	        cmocka_unit_test(test_rdata_to_text_rejects),
	        cmocka_unit_test(test_rdata_from_text_other_types),
	        cmocka_unit_test(test_name_to_text),
	        cmocka_unit_test(test_name_limits),
	        cmocka_unit_test(test_name_to_text_rejects),
	        cmocka_unit_test(test_zonefmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
