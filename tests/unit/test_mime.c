/*
 * test_mime.c - unit tests for lib/mail/mime.c: Content-Type values (RFC 2045
 * section 5.1 syntax, RFC 822 comments and quoted-pairs, RFC 5322 folding,
 * RFC 2231 continuations and extended values, garbage, long and deep
 * values) into type, subtype and parameters; "already encrypted?" for every
 * encrypted form (RFC 1847/3156 multipart/encrypted, RFC 8551 pkcs7-mime,
 * inline PGP armour) against signed-only and plain mail; content header
 * names; and random input for robustness.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/mime.h"
#include "util/buf.h"
#include "util/escape.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* One Content-Type value and what the parse must give; params as "name=value|name=value". */
struct ctype_case {
	const char *name;
	const char *input; /* NULL: no Content-Type field at all */
	bool valid;
	const char *type;
	const char *subtype;
	const char *params;
};

static const struct ctype_case ctype_cases[] = {
        {"simple", "text/plain", true, "text", "plain", ""},
        {"upper-case", "TEXT/Plain; CHARSET=UTF-8", true, "text", "plain", "charset=UTF-8"},
        {"two params", "text/plain; charset=us-ascii; format=flowed", true, "text", "plain",
         "charset=us-ascii|format=flowed"},
        {"no spaces", "text/plain;charset=utf-8;delsp=yes", true, "text", "plain",
         "charset=utf-8|delsp=yes"},
        {"quoted with tspecials", "multipart/mixed; boundary=\"----=_Part_1;x=(y)\"", true,
         "multipart", "mixed", "boundary=----=_Part_1;x=(y)"},
        {"quoted-pairs", "text/plain; name=\"a \\\"b\\\" \\\\c\"", true, "text", "plain",
         "name=a \"b\" \\c"},
        {"empty quoted", "text/plain; name=\"\"", true, "text", "plain", "name="},
        {"comments", "text/plain (a comment) ; charset = \"utf-8\" (another (nested) one)", true,
         "text", "plain", "charset=utf-8"},
        {"comment between type and subtype", "text (c) / (\\) c) html", true, "text", "html", ""},
        {"comment with quoted paren", "text/plain; (x\\(y) charset=x", true, "text", "plain",
         "charset=x"},
        {"unterminated comment", "text/plain; charset=x (unterminated", true, "text", "plain",
         "charset=x"},
        {"folded LF",
         "multipart/encrypted;\n\tprotocol=\"application/pgp-encrypted\";\n boundary=abc", true,
         "multipart", "encrypted", "protocol=application/pgp-encrypted|boundary=abc"},
        {"folded CRLF",
         "multipart/signed;\r\n micalg=sha-256;\r\n\tprotocol=\"application/pkcs7-signature\"",
         true, "multipart", "signed", "micalg=sha-256|protocol=application/pkcs7-signature"},
        {"fold inside quoted string", "text/plain; name=\"long\r\n name.txt\"", true, "text",
         "plain", "name=long name.txt"},
        {"fold before the slash", "text\r\n /plain", true, "text", "plain", ""},
        {"bare LF without white space", "text/plain;\ncharset=x", true, "text", "plain",
         "charset=x"},
        {"white space around =", "text/plain; charset \t=\t utf-8 ", true, "text", "plain",
         "charset=utf-8"},
        {"rfc2231 continuation", "application/pdf; name*0=\"ver\"; name*1=\"y long\"; name*2=.pdf",
         true, "application", "pdf", "name=very long.pdf"},
        {"rfc2231 out of order", "application/pdf; name*2=c; name*0=a; name*1=b", true,
         "application", "pdf", "name=abc"},
        {"rfc2231 gap stops", "application/pdf; name*0=a; name*2=c", true, "application", "pdf",
         "name=a"},
        {"rfc2231 no section 0", "application/pdf; name*1=b", true, "application", "pdf", ""},
        {"rfc2231 no section 0 then plain", "application/pdf; name*1=b; name=p", true,
         "application", "pdf", "name=p"},
        {"rfc2231 section 2 url", /* RFC 2231 section 3 example */
         "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n "
         "URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
         true, "message", "external-body",
         "access-type=URL|url=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"},
        {"rfc2231 extended", "text/plain; name*=utf-8''%e2%82%ac%20rates.txt", true, "text",
         "plain", "name=utf-8''\xe2\x82\xac rates.txt"},
        {"rfc2231 section 4.1 example", /* continuations, charset and plain sections mixed */
         "application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n "
         "title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"",
         true, "application", "x-stuff", "title=us-ascii'en'This is even more ***fun*** isn't it!"},
        {"rfc2231 %00 and bad escapes kept", "text/plain; name*=utf-8''a%00b%zz%4", true, "text",
         "plain", "name=utf-8''a%00b%zz%4"},
        {"rfc2231 leading zero is no section", "text/plain; name*01=x", true, "text", "plain",
         "name*01=x"},
        {"duplicate: first wins", "text/plain; charset=a; charset=b; CHARSET=c", true, "text",
         "plain", "charset=a"},
        {"duplicate: plain before continuation", "text/plain; name=x; name*0=y", true, "text",
         "plain", "name=x"},
        {"duplicate: continuation before plain", "text/plain; name*0=y; name*1=z; name=x", true,
         "text", "plain", "name=yz"},
        {"duplicate section: first wins", "text/plain; name*0=a; name*0=b; name*1=c", true, "text",
         "plain", "name=ac"},
        {"bad params skipped", "text/plain; =x; charset=utf-8; foo; bar=\"unterminated", true,
         "text", "plain", "charset=utf-8"},
        {"stray semicolons", "text/plain;;; charset=x;", true, "text", "plain", "charset=x"},
        {"junk before a parameter", "text/plain junk \"q;\" (c;); charset=x", true, "text", "plain",
         "charset=x"},
        {"8-bit in a token value", "text/plain; name=caf\xc3\xa9.txt", true, "text", "plain",
         "name=caf\xc3\xa9.txt"},
        {"smime mixed case", "Application/PKCS7-MIME; SMIME-TYPE=Enveloped-Data; Name=smime.p7m",
         true, "application", "pkcs7-mime", "smime-type=Enveloped-Data|name=smime.p7m"},
        {"no Content-Type", NULL, false, "text", "plain", ""},
        {"empty", "", false, "text", "plain", ""},
        {"white space only", " \r\n\t", false, "text", "plain", ""},
        {"garbage", "garbage", false, "text", "plain", ""},
        {"no type", "/plain", false, "text", "plain", ""},
        {"no subtype", "text/", false, "text", "plain", ""},
        {"no slash", "text plain", false, "text", "plain", ""},
        {"8-bit in the type", "t\xc3\xa9xt/plain", false, "text", "plain", ""},
        {"quoted type", "\"text\"/plain", false, "text", "plain", ""},
        {"only a comment", "(text/plain)", false, "text", "plain", ""},
};

/* The params of ct as "name=value|..." */
static const char *
params_join(struct buf *out, const struct mime_ctype *ct)
{
	size_t i;

	buf_reset(out);
	buf_puts(out, "");
	for (i = 0; i < ct->n_params; i++)
		buf_printf(out, "%s%s=%s", i ? "|" : "", ct->params[i].name, ct->params[i].value);
	return buf_str(out);
}

static void
check_ctype(const char *name, const struct mime_ctype *ct, bool valid, const char *type,
            const char *subtype, const char *params)
{
	struct buf got = BUF_INIT, esc1 = BUF_INIT, esc2 = BUF_INIT;

	if (ct->valid != valid)
		fail_msg("%s: valid: got %d, want %d", name, ct->valid, valid);
	if (strcmp(ct->type, type) != 0 || strcmp(ct->subtype, subtype) != 0)
		fail_msg("%s: got %s/%s, want %s/%s", name, ct->type, ct->subtype, type, subtype);
	params_join(&got, ct);
	if (strcmp(buf_str(&got), params) != 0)
		fail_msg("%s: params: got \"%s\", want \"%s\"", name,
		         escape_str(&esc1, buf_str(&got)), escape_str(&esc2, params));
	buf_release(&got);
	buf_release(&esc1);
	buf_release(&esc2);
}

static void
test_ctype_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(ctype_cases); i++) {
		const struct ctype_case *c = &ctype_cases[i];
		struct mime_ctype ct;

		mime_ctype_parse(&ct, c->input);
		check_ctype(c->name, &ct, c->valid, c->type, c->subtype, c->params);
		mime_ctype_clear(&ct);
	}
}

static void
test_ctype_param_lookup(void **state)
{
	struct mime_ctype ct;

	(void)state;
	mime_ctype_parse(&ct, "multipart/mixed; Boundary=\"b1\"; charset=x");
	assert_string_equal(mime_ctype_param(&ct, "boundary"), "b1");
	assert_string_equal(mime_ctype_param(&ct, "BOUNDARY"), "b1");
	assert_string_equal(mime_ctype_param(&ct, "Charset"), "x");
	assert_null(mime_ctype_param(&ct, "name"));
	assert_null(mime_ctype_param(&ct, "boundar"));
	mime_ctype_clear(&ct);
	assert_null(ct.type);
	assert_int_equal(ct.n_params, 0);
	mime_ctype_clear(&ct); /* twice is fine */
	mime_ctype_clear(NULL);
}

/* Long values: kept when under the input limit, cut parameters dropped when over it. */
static void
test_ctype_long(void **state)
{
	struct buf v = BUF_INIT, want = BUF_INIT;
	struct mime_ctype ct;
	size_t i;

	(void)state;
	/* a 20,000-byte quoted name, folded every 70 bytes */
	buf_puts(&v, "application/octet-stream; name=\"");
	for (i = 0; i < 20000; i++) {
		buf_putc(&v, 'a' + (int)(i % 26));
		buf_putc(&want, 'a' + (int)(i % 26));
		if (i % 70 == 69)
			buf_puts(&v, "\r\n ");
		if (i % 70 == 69)
			buf_putc(&want, ' ');
	}
	buf_puts(&v, "\"; charset=x");
	mime_ctype_parse(&ct, buf_str(&v));
	assert_true(ct.valid);
	assert_int_equal(ct.n_params, 2);
	if (strcmp(mime_ctype_param(&ct, "name"), buf_str(&want)) != 0)
		fail_msg("long name: got %zu bytes, want %zu",
		         strlen(mime_ctype_param(&ct, "name")), want.len);
	assert_string_equal(mime_ctype_param(&ct, "charset"), "x");
	mime_ctype_clear(&ct);

	/* 200,000 bytes: beyond the limit; the parameter cut by it is dropped, earlier ones stay */
	buf_reset(&v);
	buf_puts(&v, "text/plain; charset=utf-8; name=\"");
	for (i = 0; i < 200000; i++)
		buf_putc(&v, 'x');
	buf_puts(&v, "\"; format=flowed");
	mime_ctype_parse(&ct, buf_str(&v));
	check_ctype("over the limit", &ct, true, "text", "plain", "charset=utf-8");
	mime_ctype_clear(&ct);

	/* a long unquoted token cut by the limit is dropped too */
	buf_reset(&v);
	buf_puts(&v, "text/plain; a=1; name=");
	for (i = 0; i < 100000; i++)
		buf_putc(&v, 'y');
	mime_ctype_parse(&ct, buf_str(&v));
	check_ctype("long token", &ct, true, "text", "plain", "a=1");
	mime_ctype_clear(&ct);

	/* many parameters: a bounded number are kept, first ones first */
	buf_reset(&v);
	buf_puts(&v, "text/plain");
	for (i = 0; i < 5000; i++)
		buf_printf(&v, "; p%zu=%zu", i, i);
	mime_ctype_parse(&ct, buf_str(&v));
	assert_true(ct.valid);
	assert_true(ct.n_params > 0 && ct.n_params < 5000);
	assert_string_equal(mime_ctype_param(&ct, "p0"), "0");
	mime_ctype_clear(&ct);

	/* comments nested deeper than the limit before the type: unreadable */
	buf_reset(&v);
	for (i = 0; i < 1000; i++)
		buf_putc(&v, '(');
	for (i = 0; i < 1000; i++)
		buf_putc(&v, ')');
	buf_puts(&v, "text/html");
	mime_ctype_parse(&ct, buf_str(&v));
	check_ctype("deep comment", &ct, false, "text", "plain", "");
	mime_ctype_clear(&ct);

	/* ... and in the parameters: the rest lies inside the unclosed comment */
	buf_reset(&v);
	buf_puts(&v, "text/html; ");
	for (i = 0; i < 1000; i++)
		buf_putc(&v, '(');
	buf_puts(&v, "; charset=x");
	mime_ctype_parse(&ct, buf_str(&v));
	check_ctype("deep comment in params", &ct, true, "text", "html", "");
	mime_ctype_clear(&ct);

	/* 3 levels is fine */
	mime_ctype_parse(&ct, "(a(b(c)))text/html((x));charset=y");
	check_ctype("shallow comments", &ct, true, "text", "html", "charset=y");
	mime_ctype_clear(&ct);
	buf_release(&v);
	buf_release(&want);
}

/* Random bytes and random pieces of syntax: no crash, no leak, always a type. */
static void
test_ctype_random(void **state)
{
	static const char *pieces[] = {
	        "text", "/",   "plain",   ";",    "=",       "\"",     "\\", "(",
	        ")",    " ",   "\r\n ",   "\n",   "name*0*", "name*1", "*",  "'",
	        "%",    "%41", "utf-8''", "\x80", "\xff",    "\t",
	};
	uint32_t seed = 12345;
	size_t i, j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		struct buf v = BUF_INIT;
		struct mime_ctype ct;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 40;
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			if (i % 2)
				buf_puts(&v, pieces[(seed >> 16) % N_ELEMS(pieces)]);
			else
				buf_putc(&v, (int)((seed >> 16) % 255 + 1));
		}
		mime_ctype_parse(&ct, buf_str(&v));
		assert_non_null(ct.type);
		assert_non_null(ct.subtype);
		for (j = 0; j < ct.n_params; j++)
			assert_non_null(ct.params[j].value);
		mime_ctype_clear(&ct);
		buf_release(&v);
	}
}

#define ARMOUR        "-----BEGIN PGP MESSAGE-----"
#define END           "-----END PGP MESSAGE-----"
#define ENVELOPED_B64 "MIAGCSqGSIb3DQEHA6CAMIACAQAx"

/* Is this message already encrypted? */
struct detect_case {
	const char *name;
	const char *ctype; /* NULL: no Content-Type */
	const char *body;  /* NULL: no body bytes given */
	enum mime_encryption want;
};

static const struct detect_case detect_cases[] = {
        /* RFC 1847 / RFC 3156: multipart/encrypted, whatever the protocol */
        {"pgp/mime", "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b",
         "--b\r\n", MIME_PGP_MIME},
        {"pgp/mime folded, upper-case",
         "MULTIPART/Encrypted;\r\n\tprotocol=\"application/pgp-encrypted\";\r\n boundary=\"b\"",
         NULL, MIME_PGP_MIME},
        {"multipart/encrypted other protocol",
         "multipart/encrypted; protocol=\"application/x-other\"; boundary=b", NULL, MIME_PGP_MIME},
        {"multipart/encrypted without protocol", "multipart/encrypted", NULL, MIME_PGP_MIME},
        /* RFC 8551 section 3.2.2 */
        {"enveloped-data", "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
         NULL, MIME_SMIME},
        {"x-pkcs7-mime enveloped",
         "application/x-pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"", NULL,
         MIME_SMIME},
        {"authEnveloped-data",
         "application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m", NULL, MIME_SMIME},
        {"authenveloped-data lower-case", "application/pkcs7-mime; smime-type=authenveloped-data",
         NULL, MIME_SMIME},
        {"mixed case", "Application/PKCS7-MIME; SMIME-TYPE=Enveloped-Data", NULL, MIME_SMIME},
        {"quoted smime-type", "application/pkcs7-mime; smime-type=\"enveloped-data\"", NULL,
         MIME_SMIME},
        {"smime-type in a comment-laden value",
         "application/pkcs7-mime (S/MIME);\r\n smime-type=enveloped-data (encrypted)", NULL,
         MIME_SMIME},
        /* without smime-type the body's CMS content type says (RFC 5652 3, RFC 5083 2.1) */
        {"no smime-type, EnvelopedData (indefinite length)",
         "application/x-pkcs7-mime; name=smime.p7m", ENVELOPED_B64 "\r\n", MIME_SMIME},
        {"no smime-type, EnvelopedData (definite length, folded)", "application/pkcs7-mime",
         "\r\nMIIB8wYJKoZ\r\nIhvcNAQcDoIIB5DCCAeA=\r\n", MIME_SMIME},
        {"no smime-type, AuthEnvelopedData", "application/pkcs7-mime; name=smime.p7m",
         "MIAGCyqGSIb3DQEJEAEXoIAwgAIBAA==\r\n", MIME_SMIME},
        {"no smime-type, SignedData named .p7m", "application/pkcs7-mime; name=smime.p7m",
         "MIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n", MIME_CLEAR},
        {"no smime-type, .p7m name, text body", "application/pkcs7-mime; NAME=\"SMIME.P7M\"",
         "hello, this is not CMS at all\r\n", MIME_CLEAR},
        {"no smime-type, .p7m name, no body", "application/pkcs7-mime; filename=mail.p7m", NULL,
         MIME_CLEAR},
        /* signed-only: not encrypted, ours to encrypt */
        {"signed-data", "application/pkcs7-mime; smime-type=signed-data; name=smime.p7m", NULL,
         MIME_CLEAR},
        {"certs-only", "application/pkcs7-mime; smime-type=certs-only; name=smime.p7c", NULL,
         MIME_CLEAR},
        {"compressed-data", "application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z",
         NULL, MIME_CLEAR},
        {"no smime-type, no name", "application/pkcs7-mime", NULL, MIME_CLEAR},
        {"no smime-type, .p7s", "application/pkcs7-mime; name=smime.p7s", NULL, MIME_CLEAR},
        {"p7m in the middle only", "application/pkcs7-mime; name=smime.p7m.txt", NULL, MIME_CLEAR},
        {"multipart/signed smime",
         "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=b",
         "--b\r\n", MIME_CLEAR},
        {"multipart/signed pgp",
         "multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=b",
         NULL, MIME_CLEAR},
        {"pkcs7-signature part", "application/pkcs7-signature; name=smime.p7s", NULL, MIME_CLEAR},
        {"encrypted part inside multipart/mixed", "multipart/mixed; boundary=b",
         "--b\r\nContent-Type: multipart/encrypted\r\n", MIME_CLEAR},
        /* inline PGP: text/plain (or no/unreadable Content-Type) starting with the armour */
        {"inline pgp", "text/plain; charset=us-ascii",
         ARMOUR "\r\nVersion: x\r\n\r\nhQEM\r\n=abcd\r\n" END "\r\n", MIME_INLINE_PGP},
        {"inline pgp after blank lines", "text/plain",
         "\r\n\r\n  \t\r\n" ARMOUR "\r\n\r\nhQEM\r\n" END "\r\n\r\n", MIME_INLINE_PGP},
        {"inline pgp LF line ends", "text/plain", "\n\n" ARMOUR "\n\nhQEM\n" END "\n",
         MIME_INLINE_PGP},
        {"inline pgp trailing space", "text/plain", ARMOUR "  \r\n\r\nhQEM \r\n" END "  ",
         MIME_INLINE_PGP},
        {"inline pgp, no Content-Type", NULL, ARMOUR "\r\n\r\nhQEM\r\n" END "\r\n",
         MIME_INLINE_PGP},
        {"inline pgp, unreadable Content-Type", "garbage", ARMOUR "\r\n\r\nhQEM\r\n" END,
         MIME_INLINE_PGP},
        /* what only starts like armour is clear text to encrypt */
        {"armour line, then plain text", "text/plain", ARMOUR "\r\n\r\nmy password is hunter2\r\n",
         MIME_CLEAR},
        {"armour line, then plain text, then the end line", "text/plain",
         ARMOUR "\r\n\r\nmy password is hunter2\r\n" END "\r\n", MIME_CLEAR},
        {"armour, then a clear P.S.", "text/plain",
         ARMOUR "\r\n\r\nhQEM\r\n" END "\r\nP.S. the password is hunter2\r\n", MIME_CLEAR},
        {"armour without an end", "text/plain", ARMOUR "\r\n\r\nhQEM\r\n", MIME_CLEAR},
        {"armour headers without a blank line", "text/plain", ARMOUR "\r\nhQEM\r\n" END "\r\n",
         MIME_CLEAR},
        {"armour line alone", "text/plain", ARMOUR, MIME_CLEAR},
        {"end line not alone", "text/plain", ARMOUR "\r\n\r\nhQEM\r\nx" END "\r\n", MIME_CLEAR},
        {"armour later in the body", "text/plain",
         "Hello,\r\nhere it is:\r\n" ARMOUR "\r\nhQEM\r\n", MIME_CLEAR},
        {"armour after text on the same line", "text/plain", "x " ARMOUR "\r\n", MIME_CLEAR},
        {"armour not alone on its line", "text/plain", ARMOUR "X\r\n", MIME_CLEAR},
        {"pgp signed message", "text/plain", "-----BEGIN PGP SIGNED MESSAGE-----\r\n", MIME_CLEAR},
        {"pgp public key", "text/plain", "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n", MIME_CLEAR},
        {"armour cut short", "text/plain", "-----BEGIN PGP MESS", MIME_CLEAR},
        {"armour in text/html", "text/html", ARMOUR "\r\n", MIME_CLEAR},
        {"armour in a multipart", "multipart/mixed; boundary=b", ARMOUR "\r\n", MIME_CLEAR},
        {"plain text", "text/plain; charset=utf-8", "Hello\r\n", MIME_CLEAR},
        {"no Content-Type, plain body", NULL, "Hello\r\n", MIME_CLEAR},
        {"no Content-Type, empty body", NULL, "", MIME_CLEAR},
        {"no Content-Type, no body", NULL, NULL, MIME_CLEAR},
};

static void
test_detect_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(detect_cases); i++) {
		const struct detect_case *c = &detect_cases[i];
		const uint8_t *body = (const uint8_t *)c->body;
		size_t len = c->body != NULL ? strlen(c->body) : 0;
		enum mime_encryption got = mime_detect_encryption(c->ctype, body, len, body, len);

		if (got != c->want)
			fail_msg("%s: got %s, want %s", c->name, mime_encryption_name(got),
			         mime_encryption_name(c->want));
	}
}

/* Only the len bytes given are looked at (head and tail are not NUL-terminated). */
static void
test_detect_head_bounds(void **state)
{
	static const char body[] = "\r\n" ARMOUR "\r\n\r\nhQEM\r\n" END "\r\n";
	size_t len = sizeof(body) - 1, cut;
	uint8_t *copy = malloc(len);

	(void)state;
	memcpy(copy, body, len);
	assert_int_equal(mime_detect_encryption("text/plain", copy, len, copy, len),
	                 MIME_INLINE_PGP);
	/* a head cut inside the armour line: not encrypted */
	for (cut = 0; cut < 2 + sizeof(ARMOUR) - 1; cut++)
		if (mime_detect_encryption("text/plain", copy, cut, copy, len) != MIME_CLEAR)
			fail_msg("head cut at %zu: got encrypted, want clear", cut);
	/* a tail without the whole end line: not encrypted */
	for (cut = 0; cut < sizeof(END) - 1 + 2; cut++)
		if (mime_detect_encryption("text/plain", copy, len, copy + len - cut, cut) !=
		    MIME_CLEAR)
			fail_msg("tail of %zu bytes: got encrypted, want clear", cut);
	/* the tail of a long body: the end line at its very end */
	assert_int_equal(mime_detect_encryption("text/plain", copy, len, copy + len - 30, 30),
	                 MIME_INLINE_PGP);
	free(copy);
}

static void
test_encryption_names(void **state)
{
	static const struct {
		enum mime_encryption e;
		const char *want;
	} rows[] = {
	        {MIME_CLEAR, "clear"},
	        {MIME_PGP_MIME, "pgp-mime"},
	        {MIME_SMIME, "smime"},
	        {MIME_INLINE_PGP, "inline-pgp"},
	        {(enum mime_encryption)99, "unknown"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (strcmp(mime_encryption_name(rows[i].e), rows[i].want) != 0)
			fail_msg("name(%d): got %s, want %s", (int)rows[i].e,
			         mime_encryption_name(rows[i].e), rows[i].want);
}

static void
test_content_header(void **state)
{
	static const struct {
		const char *name;
		bool want;
	} rows[] = {
	        {"Content-Type", true},
	        {"content-transfer-encoding", true},
	        {"CONTENT-DISPOSITION", true},
	        {"Content-ID", true},
	        {"Content-Description", true},
	        {"Content-Language", true},
	        {"Content-", false},
	        {"Content", false},
	        {"Contents-Type", false},
	        {"X-Content-Type", false},
	        {"MIME-Version", false},
	        {"Subject", false},
	        {"", false},
	        {NULL, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++)
		if (mime_is_content_header(rows[i].name) != rows[i].want)
			fail_msg("is_content_header(%s): got %d, want %d",
			         rows[i].name ? rows[i].name : "NULL", !rows[i].want, rows[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ctype_table),      cmocka_unit_test(test_ctype_param_lookup),
	        cmocka_unit_test(test_ctype_long),       cmocka_unit_test(test_ctype_random),
	        cmocka_unit_test(test_detect_table),     cmocka_unit_test(test_detect_head_bounds),
	        cmocka_unit_test(test_encryption_names), cmocka_unit_test(test_content_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
