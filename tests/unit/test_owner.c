/*
 * test_owner.c - unit tests for lib/dns/owner.c: SMIMEA and OPENPGPKEY owner
 * names (RFC 8162 section 3, RFC 7929 section 3), local-part
 * canonicalisation and NFC, IDN domains, TLSA owners (RFC 6698 section 3)
 * and the errors.  Expected hashes other than the RFC vectors were computed
 * outside this code: printf %s LOCAL | sha256sum | cut -c1-56.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/owner.h"
#include "util/buf.h"
#include "util/why.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* SHA2-256 prefixes (28 octets, hex) of local parts, from sha256sum. */
#define H_HUGH        "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6"
#define H_BOB         "81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd"
#define H_HUGH_UPPER1 "7063a398942ba5c6125429518d0608563f3974bb48013ddf58fb01d4" /* Hugh */
#define H_HUGH_ALLCAP "811876dac736c7f6fda69c5b618c5866d79f3508b746566ee375c9da" /* HUGH */
#define H_HUGH_SMITH  "1df58c30c211918003efe708fb0cfc03b6fb4ce3b67603857e7f8bc5" /* hugh.smith */
#define H_E_ACUTE     "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e" /* \xc3\xa9 */
#define H_E_DECOMP    "bf12767b0f2a56b2190075bae8169f656e3ce8d6357d4aff184bc6c7" /* e\xcc\x81 */
#define H_E_ACUTE_CAP "a755f65d4e5201d92b6f264d1508ea0bec9913dd7b20a96ebde25de3" /* \xc3\x89 */
#define H_ELAN        "640b44d5a7819f78e1665e17c79a316b6e187376639b170af5081dd3" /* \xc3\xa9lan */
#define H_ELAN_CAP    "59e7bf99efc4e43526de1bb11e0d9e1b82047927808627063ca5acfa" /* \xc3\x89LAN */
#define H_JOHN_SMITH  "32ddaf65cc3aa8d3e6eda3ca2da7c18b71e169e9aa444cccb479c9ca" /* john smith */
#define H_A_AT_B      "7508d8b5018ea640b85269861a101203f0c26900555268e930025dac" /* a@b */
#define H_A_QUOTE_B   "39a012772dd5c3accbc56923093422896d41ac882e3cd66914bc584c" /* a"b */

static void
test_owner_vectors(void **state)
{
	static const struct {
		const char *address;
		enum owner_kind kind;
		enum owner_case ocase;
		const char *want;
	} cases[] = {
	        /* RFC 8162 section 3 */
	        {"hugh@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        /* RFC 7929 section 3 */
	        {"hugh@example.com", OWNER_OPENPGPKEY, OWNER_CASE_EXACT,
	         H_HUGH "._openpgpkey.example.com."},
	        {"bob@secure.test", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_BOB "._smimecert.secure.test."},
	        {"bob@secure.test", OWNER_OPENPGPKEY, OWNER_CASE_LOWER,
	         H_BOB "._openpgpkey.secure.test."},
	        /* case: exact by default, lower-cased on request */
	        {"Hugh@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_UPPER1 "._smimecert.example.com."},
	        {"Hugh@example.com", OWNER_SMIMEA, OWNER_CASE_LOWER,
	         H_HUGH "._smimecert.example.com."},
	        {"HUGH@example.com", OWNER_OPENPGPKEY, OWNER_CASE_EXACT,
	         H_HUGH_ALLCAP "._openpgpkey.example.com."},
	        {"HUGH@example.com", OWNER_OPENPGPKEY, OWNER_CASE_LOWER,
	         H_HUGH "._openpgpkey.example.com."},
	        {"hugh@example.com", OWNER_SMIMEA, OWNER_CASE_LOWER,
	         H_HUGH "._smimecert.example.com."},
	        /* the domain is not hashed, its case is kept */
	        {"hugh@Example.COM", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.Example.COM."},
	        /* one final dot on the domain is dropped */
	        {"hugh@example.com.", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        /* RFC 7929 section 3 canonicalisation: quotes, quoted-pairs, CFWS */
	        {"\"hugh\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        {"\"h\\ugh\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        {"hugh.smith@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_SMITH "._smimecert.example.com."},
	        {"\"hugh.smith\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_SMITH "._smimecert.example.com."},
	        {"\"hugh\".smith@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_SMITH "._smimecert.example.com."},
	        {"hugh . smith@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_SMITH "._smimecert.example.com."},
	        {"hugh(the man).(x)smith@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH_SMITH "._smimecert.example.com."},
	        {"(c (nested) \\) )hugh(trailing)@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        {" hugh @example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.example.com."},
	        {"\"john smith\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_JOHN_SMITH "._smimecert.example.com."},
	        /* a quoted local part may hold '@': the address splits at the last one */
	        {"\"a@b\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_A_AT_B "._smimecert.example.com."},
	        {"\"a\\\"b\"@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_A_QUOTE_B "._smimecert.example.com."},
	        /* NFC: decomposed e + U+0301 hashes as precomposed U+00E9 */
	        {"\xc3\xa9@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_E_ACUTE "._smimecert.example.com."},
	        {"e\xcc\x81@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_E_ACUTE "._smimecert.example.com."},
	        {"\"e\xcc\x81\"@example.com", OWNER_OPENPGPKEY, OWNER_CASE_EXACT,
	         H_E_ACUTE "._openpgpkey.example.com."},
	        /* Unicode lower-casing */
	        {"\xc3\x89@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_E_ACUTE_CAP "._smimecert.example.com."},
	        {"\xc3\x89@example.com", OWNER_SMIMEA, OWNER_CASE_LOWER,
	         H_E_ACUTE "._smimecert.example.com."},
	        {"\xc3\x89LAN@example.com", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_ELAN_CAP "._smimecert.example.com."},
	        {"\xc3\x89LAN@example.com", OWNER_SMIMEA, OWNER_CASE_LOWER,
	         H_ELAN "._smimecert.example.com."},
	        {"E\xcc\x81LAN@example.com", OWNER_SMIMEA, OWNER_CASE_LOWER,
	         H_ELAN "._smimecert.example.com."},
	        /* IDN domain: U-labels become A-labels */
	        {"hugh@b\xc3\xbc"
	         "cher.example",
	         OWNER_SMIMEA, OWNER_CASE_EXACT, H_HUGH "._smimecert.xn--bcher-kva.example."},
	        {"hugh@B\xc3\x9c"
	         "CHER.example.",
	         OWNER_OPENPGPKEY, OWNER_CASE_EXACT, H_HUGH "._openpgpkey.xn--bcher-kva.example."},
	        {"hugh@xn--bcher-kva.example", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.xn--bcher-kva.example."},
	        /* the domain is NFC-normalised too (u + U+0308) */
	        {"hugh@bu\xcc\x88"
	         "cher.example",
	         OWNER_SMIMEA, OWNER_CASE_EXACT, H_HUGH "._smimecert.xn--bcher-kva.example."},
	        /* non-transitional processing keeps sharp s (transitional would give fass.de) */
	        {"hugh@fa\xc3\x9f.de", OWNER_SMIMEA, OWNER_CASE_EXACT,
	         H_HUGH "._smimecert.xn--fa-hia.de."},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct buf out = BUF_INIT;
		struct why why;

		buf_puts(&out, ">");
		if (!owner_name_from_address(&out, cases[i].address, cases[i].kind, cases[i].ocase,
		                             &why))
			fail_msg("case %zu \"%s\": %s", i, cases[i].address, why.msg);
		if (strcmp(buf_str(&out) + 1, cases[i].want) != 0)
			fail_msg("case %zu \"%s\": got %s, want %s", i, cases[i].address,
			         buf_str(&out) + 1, cases[i].want);
		buf_release(&out);
	}
}

static void
test_owner_address_fields(void **state)
{
	static const struct {
		const char *address, *local, *domain;
	} cases[] = {
	        {"hugh@example.com", "hugh", "example.com"},
	        {"\"hugh\"@example.com.", "hugh", "example.com"},
	        {"\"a@b\"@example.com", "a@b", "example.com"},
	        {"a(x) . b@example.com", "a.b", "example.com"},
	        {"\"john smith\"@example.com", "john smith", "example.com"},
	        {"e\xcc\x81@b\xc3\xbc"
	         "cher.example",
	         "\xc3\xa9", "xn--bcher-kva.example"},
	        {"Hugh@EXAMPLE.com", "Hugh", "EXAMPLE.com"},
	        /* unusual but unambiguous dots are hashed as written */
	        {".hugh.@example.com", ".hugh.", "example.com"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct owner_address addr;
		struct why why;

		if (!owner_address_parse(&addr, cases[i].address, &why))
			fail_msg("\"%s\": %s", cases[i].address, why.msg);
		if (strcmp(buf_str(&addr.local), cases[i].local) != 0)
			fail_msg("\"%s\" local part: got %s, want %s", cases[i].address,
			         buf_str(&addr.local), cases[i].local);
		if (strcmp(buf_str(&addr.domain), cases[i].domain) != 0)
			fail_msg("\"%s\" domain: got %s, want %s", cases[i].address,
			         buf_str(&addr.domain), cases[i].domain);
		owner_address_clear(&addr);
	}
	owner_address_clear(NULL);
}

static void
test_owner_lower_differs(void **state)
{
	static const struct {
		const char *address;
		bool want;
	} cases[] = {
	        {"hugh@example.com", false},
	        {"Hugh@example.com", true},
	        {"hugh@EXAMPLE.COM", false}, /* only the local part counts */
	        {"\"hugh\"@example.com", false},
	        {"h.u-g_h+1@example.com", false},
	        {"\xc3\xa9@example.com", false},
	        {"\xc3\x89@example.com", true},
	        {"E\xcc\x81@example.com", true},
	        {"\xe9\xba\xbb\xe8\xa1\xa3\xe5\xad\x90@example.com", false}, /* CJK: no case */
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct owner_address addr;
		struct why why;
		bool got;

		if (!owner_address_parse(&addr, cases[i].address, &why))
			fail_msg("\"%s\": %s", cases[i].address, why.msg);
		got = owner_lower_differs(&addr);
		if (got != cases[i].want)
			fail_msg("owner_lower_differs(\"%s\"): got %d, want %d", cases[i].address,
			         got, cases[i].want);
		owner_address_clear(&addr);
	}
}

/* Fill `out` with `n` copies of c. */
static const char *
repeat(struct buf *out, int c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_putc(out, c);
	return buf_str(out);
}

static void
test_owner_address_rejects(void **state)
{
	struct buf long_label = BUF_INIT, long_name = BUF_INIT, ok_name = BUF_INIT;
	size_t i;
	struct {
		const char *name, *address, *why;
	} cases[] = {
	        {"no @", "hugh.example.com", "address has no '@'"},
	        {"empty string", "", "address has no '@'"},
	        {"empty local part", "@example.com", "local part is empty"},
	        {"empty quoted local part", "\"\"@example.com", "local part is empty"},
	        {"only a comment", "(x)@example.com", "local part is empty"},
	        {"empty domain", "hugh@", "domain is empty"},
	        {"root domain", "hugh@.", "domain is empty"},
	        {"two final dots", "hugh@example.com..", "empty label"},
	        {"empty label", "hugh@example..com", "empty label"},
	        {"leading dot", "hugh@.example.com", "empty label"},
	        {"address literal", "hugh@[192.0.2.1]", "address literal"},
	        {"label of 64 octets", NULL, "label longer than 63 octets"},
	        {"name over 255 octets", NULL, "name longer than 255 octets"},
	        {"invalid UTF-8", "hu\xffgh@example.com", "local part is not valid UTF-8"},
	        {"truncated UTF-8", "hu\xc3@example.com", "local part is not valid UTF-8"},
	        {"overlong UTF-8", "\xc0\xafhugh@example.com", "local part is not valid UTF-8"},
	        {"surrogate in UTF-8", "\xed\xa0\x80@example.com", "local part is not valid UTF-8"},
	        {"control: newline", "hu\ngh@example.com", "control character"},
	        {"control: CR LF", "hugh\r\n@example.com", "control character"},
	        {"control: ESC", "\x1b[31mhugh@example.com", "control character"},
	        {"control: DEL", "hugh\x7f@example.com", "control character"},
	        {"control: C1 U+009B", "hugh\xc2\x9b@example.com", "control character"},
	        {"control: quoted tab", "\"hu\tgh\"@example.com", "control character"},
	        {"control: quoted-pair", "\"hu\\\x01gh\"@example.com", "control character"},
	        {"unterminated quote", "\"hugh@example.com", "quoted string"},
	        {"unterminated comment", "hugh(x@example.com", "comment"},
	        {"stray )", "hugh)@example.com", "')'"},
	        {"space between words", "john smith@example.com", "between two words"},
	        {"trailing backslash", "hugh\\@example.com", "ends in '\\'"},
	        {"space in domain", "hugh@exa mple.com", "white space"},
	        {"control in domain", "hugh@exa\tmple.com", "control character"},
	        {"backslash in domain", "hugh@exa\\.mple.com", "only letters, digits"},
	        {"invalid UTF-8 in domain",
	         "hugh@b\xfc"
	         "cher.example",
	         "not valid UTF-8"},
	        /* the snowman is DISALLOWED in IDNA2008 */
	        {"disallowed IDN", "hugh@\xe2\x98\x83.example", "A-labels"},
	        {"angle brackets", "<hugh@example.com>", "only letters, digits"},
	};

	(void)state;
	/* a 64-octet label and a 256-octet name, and an allowed 63 / 255 */
	buf_puts(&long_label, "hugh@");
	repeat(&long_label, 'a', 64);
	buf_puts(&long_label, ".example");
	buf_puts(&long_name, "hugh@");
	for (i = 0; i < 4; i++) {
		repeat(&long_name, 'b', 62);
		buf_putc(&long_name, '.');
	}
	buf_puts(&long_name, "com");
	for (i = 0; i < NELEM(cases); i++) {
		if (cases[i].address == NULL && strstr(cases[i].why, "label") != NULL)
			cases[i].address = buf_str(&long_label);
		else if (cases[i].address == NULL)
			cases[i].address = buf_str(&long_name);
	}

	for (i = 0; i < NELEM(cases); i++) {
		struct owner_address addr;
		struct buf out = BUF_INIT;
		struct why why = {""};

		if (owner_address_parse(&addr, cases[i].address, &why))
			fail_msg("%s: \"%s\" accepted, want rejected", cases[i].name,
			         cases[i].address);
		if (why.msg[0] == '\0' || strstr(why.msg, cases[i].why) == NULL)
			fail_msg("%s: got why \"%s\", want one containing \"%s\"", cases[i].name,
			         why.msg, cases[i].why);
		if (strchr(why.msg, '\n') != NULL)
			fail_msg("%s: why \"%s\" is not one line", cases[i].name, why.msg);
		assert_null(addr.local.data);
		assert_null(addr.domain.data);
		buf_puts(&out, "keep");
		assert_false(owner_name_from_address(&out, cases[i].address, OWNER_SMIMEA,
		                                     OWNER_CASE_EXACT, NULL));
		if (strcmp(buf_str(&out), "keep") != 0)
			fail_msg("%s: output got \"%s\", want \"keep\"", cases[i].name,
			         buf_str(&out));
		buf_release(&out);
	}

	/*
	 * A domain may be a valid name of 249 characters and still too long for
	 * an owner name: hash label (57 octets on the wire) + "_openpgpkey" (12)
	 * + the domain must fit in 255 octets, so 184 characters is the most.
	 */
	buf_puts(&ok_name, "hugh@");
	repeat(&ok_name, 'c', 63);
	for (i = 0; i < 3; i++) {
		buf_putc(&ok_name, '.');
		repeat(&ok_name, 'd', 61);
	}
	buf_puts(&ok_name, ".");
	{
		struct owner_address addr;
		struct why why = {""};
		struct buf fits = BUF_INIT, owner = BUF_INIT;

		/* 63 + 3 * 61 + 3 dots = 249 characters: a valid name, but no owner fits */
		if (owner_address_parse(&addr, buf_str(&ok_name), &why))
			fail_msg("249-character domain: accepted, want refused (owner over 255)");
		assert_non_null(strstr(why.msg, "too long"));
		/* 63 + 1 + 61 + 1 + 58 = 184 characters: the longest that fits */
		buf_puts(&fits, "hugh@");
		repeat(&fits, 'c', 63);
		buf_putc(&fits, '.');
		repeat(&fits, 'd', 61);
		buf_putc(&fits, '.');
		repeat(&fits, 'e', 58);
		if (!owner_address_parse(&addr, buf_str(&fits), &why))
			fail_msg("184-character domain: %s", why.msg);
		owner_name_append(&owner, &addr, OWNER_OPENPGPKEY, OWNER_CASE_EXACT);
		if (!owner_check_domain(buf_str(&owner), &why))
			fail_msg("owner of a 184-character domain: %s", why.msg);
		owner_address_clear(&addr);
		buf_release(&fits);
		buf_release(&owner);
	}
	buf_release(&long_label);
	buf_release(&long_name);
	buf_release(&ok_name);
}

static void
test_owner_check_domain(void **state)
{
	struct buf n255 = BUF_INIT, n256 = BUF_INIT;
	size_t i;
	struct {
		const char *name;
		const char *why; /* NULL: accepted */
	} cases[] = {
	        {"example.com", NULL},
	        {"example.com.", NULL},
	        {"a", NULL},
	        {"_25._tcp.mail.example.com", NULL},
	        {"xn--bcher-kva.example", NULL},
	        {"", "name is empty"},
	        {".", "name is empty"},
	        {"..", "empty label"},
	        {"a..b", "empty label"},
	        {".a", "empty label"},
	        {"a b", "white space"},
	        {"b\xc3\xbc"
	         "cher.example",
	         "non-ASCII"},
	        {"a\\.b", "only letters, digits"},
	        {"a*.b", "only letters, digits"},
	        {"a\tb", "control character"},
	        {NULL, NULL}, /* 255 octets: accepted */
	        {NULL, "name longer than 255 octets"},
	        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	         "label longer than 63 octets"},
	};

	(void)state;
	/* 4 labels of 62 octets + 1 of 1: 4 * 63 + 2 + 1 = 255 octets on the wire */
	for (i = 0; i < 4; i++) {
		repeat(&n255, 'x', 62);
		buf_putc(&n255, '.');
	}
	buf_putc(&n255, 'y');
	buf_puts(&n256, buf_str(&n255));
	buf_putc(&n256, 'z');
	/* the two NULL names are the 255- and 256-octet names, in that order */
	for (i = 0; i < NELEM(cases); i++) {
		if (cases[i].name == NULL) {
			cases[i].name = buf_str(&n255);
			cases[i + 1].name = buf_str(&n256);
			break;
		}
	}

	for (i = 0; i < NELEM(cases); i++) {
		struct why why = {""};
		bool ok = owner_check_domain(cases[i].name, &why);

		if (cases[i].why == NULL && !ok)
			fail_msg("\"%s\": got \"%s\", want accepted", cases[i].name, why.msg);
		if (cases[i].why != NULL) {
			if (ok)
				fail_msg("\"%s\": accepted, want \"%s\"", cases[i].name,
				         cases[i].why);
			if (strstr(why.msg, cases[i].why) == NULL)
				fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].name, why.msg,
				         cases[i].why);
		}
	}
	buf_release(&n255);
	buf_release(&n256);
}

static void
test_owner_tlsa(void **state)
{
	static const struct {
		const char *host;
		unsigned port;
		const char *proto, *want;
	} cases[] = {
	        {"mail.example.com", 25, "tcp", "_25._tcp.mail.example.com."},
	        {"mail.example.com.", 25, "tcp", "_25._tcp.mail.example.com."},
	        {"www.example.com", 443, "tcp", "_443._tcp.www.example.com."},
	        {"sip.example.com", 5061, "udp", "_5061._udp.sip.example.com."},
	        {"a", 1, "sctp", "_1._sctp.a."},
	        {"a", 65535, "tcp", "_65535._tcp.a."},
	};
	static const struct {
		const char *host;
		unsigned port;
		const char *proto, *why;
	} bad[] = {
	        {"mail.example.com", 0, "tcp", "port"},
	        {"mail.example.com", 65536, "tcp", "port"},
	        {"", 25, "tcp", "host name is empty"},
	        {".", 25, "tcp", "host name is empty"},
	        {"mail..example.com", 25, "tcp", "empty label"},
	        {"mail.example.com..", 25, "tcp", "empty label"},
	        {"mail example.com", 25, "tcp", "white space"},
	        {"mail.example.com", 25, "", "protocol"},
	        {"mail.example.com", 25, "t.cp", "protocol"},
	        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", 25,
	         "tcp", "label longer than 63 octets"},
	};
	struct buf host = BUF_INIT, out = BUF_INIT;
	struct why why = {""};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		buf_reset(&out);
		buf_puts(&out, ">");
		if (!owner_tlsa(&out, cases[i].host, cases[i].port, cases[i].proto, &why))
			fail_msg("owner_tlsa(%s, %u): %s", cases[i].host, cases[i].port, why.msg);
		if (strcmp(buf_str(&out) + 1, cases[i].want) != 0)
			fail_msg("owner_tlsa(%s, %u): got %s, want %s", cases[i].host,
			         cases[i].port, buf_str(&out) + 1, cases[i].want);
	}
	for (i = 0; i < NELEM(bad); i++) {
		buf_reset(&out);
		buf_puts(&out, "keep");
		why.msg[0] = '\0';
		if (owner_tlsa(&out, bad[i].host, bad[i].port, bad[i].proto, &why))
			fail_msg("owner_tlsa(\"%s\", %u, \"%s\"): got %s, want rejected",
			         bad[i].host, bad[i].port, bad[i].proto, buf_str(&out));
		if (strstr(why.msg, bad[i].why) == NULL)
			fail_msg("owner_tlsa(\"%s\", %u): got why \"%s\", want \"%s\"", bad[i].host,
			         bad[i].port, why.msg, bad[i].why);
		if (strcmp(buf_str(&out), "keep") != 0)
			fail_msg("owner_tlsa(\"%s\"): output got \"%s\", want \"keep\"",
			         bad[i].host, buf_str(&out));
	}
	/* the whole owner name counts: a 247-character host fits alone, not with _25._tcp. */
	for (i = 0; i < 4; i++) {
		repeat(&host, 'h', 60);
		buf_putc(&host, '.');
	}
	buf_puts(&host, "com");
	assert_true(owner_check_domain(buf_str(&host), &why));
	buf_reset(&out);
	if (owner_tlsa(&out, buf_str(&host), 25, "tcp", &why))
		fail_msg("owner_tlsa(<247 characters>): got %s, want rejected", buf_str(&out));
	if (strstr(why.msg, "name longer than 255 octets") == NULL)
		fail_msg("owner_tlsa(<247 characters>): got why \"%s\", want name too long",
		         why.msg);
	buf_release(&host);
	buf_release(&out);
}

static void
test_owner_address_equal(void **state)
{
	static const struct {
		const char *bytes; /* from a certificate or a user ID */
		const char *address;
		bool want;
	} cases[] = {
	        {"hugh@example.com", "hugh@example.com", true},
	        {"hugh@EXAMPLE.Com", "hugh@example.com", true}, /* domains: any case */
	        {"hugh@example.com", "hugh@Example.COM", true},
	        {"Hugh@example.com", "hugh@example.com", false}, /* local parts: exact */
	        {"hugh@example.com", "hugh@example.co", false},
	        {"hugh@example.co", "hugh@example.com", false},
	        {"hugh@example.com", "hugh.example.com", false}, /* no '@' */
	        {"a@b@example.com", "a@b@example.com", true},    /* the last '@' splits */
	        {"a@B@example.com", "a@b@example.com", false},
	        /* canonical forms: the hashed local part and A-labels (RFC 7929 section 3) */
	        {"hugh@example.com", "\"hugh\"@example.com", true},
	        {"hugh@b\xc3\xbc"
	         "cher.example",
	         "hugh@xn--bcher-kva.example", true},
	        {"hugh@XN--BCHER-KVA.example",
	         "hugh@b\xc3\xbc"
	         "cher.example",
	         true},
	        {"caf\xc3\xa9@example.com", "cafe\xcc\x81@example.com", true}, /* NFC */
	        {"Bob <bob@example.com>", "bob@example.com", false},
	        {"hugh@b\xc3\xbc"
	         "cher.example",
	         "Hugh@xn--bcher-kva.example", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		bool got = owner_address_equal((const uint8_t *)cases[i].bytes,
		                               strlen(cases[i].bytes), cases[i].address);

		if (got != cases[i].want)
			fail_msg("owner_address_equal(\"%s\", \"%s\"): got %d, want %d",
			         cases[i].bytes, cases[i].address, got, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_owner_vectors),
	        cmocka_unit_test(test_owner_address_fields),
	        cmocka_unit_test(test_owner_lower_differs),
	        cmocka_unit_test(test_owner_address_rejects),
	        cmocka_unit_test(test_owner_check_domain),
	        cmocka_unit_test(test_owner_tlsa),
	        cmocka_unit_test(test_owner_address_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
