/*
 * mime.c - Content-Type parsing and "is this already encrypted?" (see mime.h).
 *
 * What it does: reads a Content-Type header value with the RFC 822 lexical
 * rules RFC 2045 section 5.1 builds on (tokens, quoted-strings with
 * quoted-pairs, nested comments, folding white space), joins RFC 2231
 * parameter continuations (name*0, name*1*, ...) and percent-decodes
 * extended values, and decides from the top-level Content-Type and the start
 * of the body whether a message is already encrypted.
 *
 * What it trusts: nothing.  Header values come from any sender.  Work is
 * bounded: at most CTYPE_INPUT_MAX bytes of a value are read, at most
 * CTYPE_RAW_MAX parameters (continuation sections included) are kept,
 * comments nest at most COMMENT_DEPTH_MAX deep, and every loop moves forward
 * through the input.  A value whose type/subtype cannot be read gives
 * valid=false and text/plain (RFC 2045 section 5.2); a bad parameter is
 * skipped up to the next ';' and the others are kept.
 *
 * RFCs: RFC 2045 section 5.1 (syntax), 5.2 (default); RFC 822 section 3.3
 * (lexical tokens: comments and quoted-pairs); RFC 5322 section 2.2.3
 * (unfolding); RFC 2231 sections 3 and 4 (continuations, charset and
 * language, percent-encoding); RFC 1847 section 2.2 and RFC 3156 section 4
 * (multipart/encrypted); RFC 8551 sections 3.2.2 and 3.4 (smime-type, .p7m).
 *
 * Thread safety: no state outside the caller's structures.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/codec.h"

#define CTYPE_INPUT_MAX   65536 /* bytes of a header value that are read at all */
#define CTYPE_RAW_MAX     64    /* parameters (continuation sections counted) kept */
#define COMMENT_DEPTH_MAX 16    /* nesting of (comments (in comments)) */
#define SECTION_MAX       999   /* largest RFC 2231 section number accepted */

/* A parameter as written, before continuations are joined. */
struct raw_param {
	char *name;    /* lower-cased, without the RFC 2231 "*n" and "*" */
	int section;   /* RFC 2231 section number, -1 when there is none */
	char *value;   /* unquoted (and percent-decoded when extended) */
	bool extended; /* the name ended in '*' (RFC 2231 section 4) */
};

/* The unfolded value being read. */
struct lexer {
	const char *p, *end;
	bool truncated; /* the value was longer than CTYPE_INPUT_MAX */
};

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 section 5.1 tspecials. */
static bool
is_tspecial(int c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* A token character; parameter values may also carry raw 8-bit bytes (seen in the wild). */
static bool
is_token_char(int c, bool allow_8bit)
{
	if (c >= 0x80)
		return allow_8bit;
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Unfold (RFC 5322 section 2.2.3): a line break followed by white space is
 * removed; any other run of CR/LF (not a valid fold) becomes one space.
 */
static void
unfold(struct buf *out, const char *v, size_t n)
{
	size_t i = 0;

	buf_reserve(out, n);
	while (i < n) {
		if (v[i] != '\r' && v[i] != '\n') {
			buf_putc(out, v[i++]);
			continue;
		}
		while (i < n && (v[i] == '\r' || v[i] == '\n'))
			i++;
		if (i < n && v[i] != ' ' && v[i] != '\t')
			buf_putc(out, ' ');
	}
	if (out->data == NULL)
		buf_puts(out, "");
}

/* Skip a comment starting at '('; false when nested too deep.  Unterminated: to the end. */
static bool
skip_comment(struct lexer *lx)
{
	int depth = 0;

	while (lx->p < lx->end) {
		char c = *lx->p++;

		if (c == '\\') {
			if (lx->p < lx->end)
				lx->p++;
		} else if (c == '(') {
			if (++depth > COMMENT_DEPTH_MAX)
				return false;
		} else if (c == ')') {
			if (--depth == 0)
				return true;
		}
	}
	return true;
}

/* Skip white space and comments (CFWS); false on a comment nested too deep. */
static bool
skip_cfws(struct lexer *lx)
{
	for (;;) {
		while (lx->p < lx->end && is_wsp((unsigned char)*lx->p))
			lx->p++;
		if (lx->p >= lx->end || *lx->p != '(')
			return true;
		if (!skip_comment(lx))
			return false;
	}
}

/* Read a token; its length (0: none there). */
static size_t
lex_token(struct lexer *lx, const char **start, bool allow_8bit)
{
	*start = lx->p;
	while (lx->p < lx->end && is_token_char((unsigned char)*lx->p, allow_8bit))
		lx->p++;
	return (size_t)(lx->p - *start);
}

/* Read a quoted-string at '"' into out (quoted-pairs resolved); false when unterminated. */
static bool
lex_quoted(struct lexer *lx, struct buf *out)
{
	lx->p++; /* the opening quote */
	while (lx->p < lx->end) {
		char c = *lx->p++;

		if (c == '"')
			return true;
		if (c == '\\') {
			if (lx->p >= lx->end)
				break;
			c = *lx->p++;
		}
		buf_putc(out, c);
	}
	return false;
}

/* Skip to the next top-level ';' (not inside a quoted-string or comment), or the end. */
static void
resync(struct lexer *lx)
{
	struct buf scratch = BUF_INIT;

	while (lx->p < lx->end && *lx->p != ';') {
		if (*lx->p == '"') {
			buf_reset(&scratch);
			lex_quoted(lx, &scratch);
		} else if (*lx->p == '(') {
			if (!skip_comment(lx))
				lx->p = lx->end;
		} else {
			lx->p++;
		}
	}
	buf_release(&scratch);
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2231 section 4: %XX to a byte (except %00, and malformed escapes, kept as written). */
static char *
percent_decode(const char *s)
{
	struct buf out = BUF_INIT;
	size_t i, n = strlen(s);

	buf_reserve(&out, n);
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0 && (hi | lo) != 0) {
			buf_putc(&out, hi << 4 | lo);
			i += 2;
		} else {
			buf_putc(&out, s[i]);
		}
	}
	if (out.data == NULL)
		buf_puts(&out, "");
	return (char *)buf_steal(&out, NULL);
}

/*
 * Split an attribute per RFC 2231: "name*" (extended), "name*3" (section),
 * "name*3*" (both).  Lower-cases; returns the base name.
 */
static char *
attribute_split(const char *s, size_t n, int *section, bool *extended)
{
	char *name = xstrndup(s, n);
	size_t i, len = n, star;

	for (i = 0; i < len; i++)
		name[i] = (char)lower((unsigned char)name[i]);
	*extended = false;
	*section = -1;
	if (len > 1 && name[len - 1] == '*') {
		*extended = true;
		name[--len] = '\0';
	}
	for (star = len; star > 0 && name[star - 1] >= '0' && name[star - 1] <= '9'; star--)
		;
	/* "*" then 1..3 digits, no leading zero, and something before the star */
	if (star > 1 && star < len && name[star - 1] == '*' && len - star <= 3 &&
	    (name[star] != '0' || len - star == 1)) {
		*section = atoi(name + star);
		name[star - 1] = '\0';
	}
	if (*section > SECTION_MAX)
		*section = -1;
	return name;
}

/* Parse one "attribute = value" after the ';'; false (lexer left at the error) if malformed. */
static bool
param_parse(struct lexer *lx, struct raw_param *rp)
{
	struct buf value = BUF_INIT;
	const char *attr, *tok;
	size_t attr_len, tok_len;

	if ((attr_len = lex_token(lx, &attr, false)) == 0 || !skip_cfws(lx) || lx->p >= lx->end ||
	    *lx->p != '=')
		return false;
	lx->p++;
	if (!skip_cfws(lx) || lx->p >= lx->end)
		return false;
	if (*lx->p == '"') {
		if (!lex_quoted(lx, &value)) {
			buf_release(&value);
			return false;
		}
	} else if ((tok_len = lex_token(lx, &tok, true)) > 0) {
		buf_append(&value, tok, tok_len);
	} else {
		return false;
	}
	/* a value cut by the input limit may be wrong: drop it */
	if (lx->truncated && lx->p >= lx->end) {
		buf_release(&value);
		return false;
	}
	if (value.data == NULL)
		buf_puts(&value, "");
	rp->name = attribute_split(attr, attr_len, &rp->section, &rp->extended);
	rp->value = (char *)buf_steal(&value, NULL);
	if (rp->extended) {
		char *decoded = percent_decode(rp->value);

		free(rp->value);
		rp->value = decoded;
	}
	return true;
}

static void
ctype_push(struct mime_ctype *ct, char *name, char *value)
{
	ct->params = xreallocarray(ct->params, ct->n_params + 1, sizeof(*ct->params));
	ct->params[ct->n_params].name = name;
	ct->params[ct->n_params].value = value;
	ct->n_params++;
}

/*
 * Turn raw parameters into the result: the first occurrence of a name wins
 * (RFC 2045 leaves duplicates undefined; first is what most readers do);
 * sections 0, 1, ... of a continued parameter are joined in number order up
 * to the first gap (RFC 2231 section 3: sections may arrive in any order).
 */
static void
params_assemble(struct mime_ctype *ct, struct raw_param *raw, size_t n_raw)
{
	size_t i, j;

	for (i = 0; i < n_raw; i++) {
		struct buf joined = BUF_INIT;
		int s;

		if (mime_ctype_param(ct, raw[i].name) != NULL)
			continue;
		if (raw[i].section < 0) {
			ctype_push(ct, xstrdup(raw[i].name), xstrdup(raw[i].value));
			continue;
		}
		for (s = 0;; s++) {
			for (j = 0; j < n_raw; j++)
				if (raw[j].section == s && strcmp(raw[j].name, raw[i].name) == 0)
					break;
			if (j == n_raw)
				break;
			buf_puts(&joined, raw[j].value);
		}
		if (s > 0) /* no section 0: ignored, a plain parameter of the name may still come */
			ctype_push(ct, xstrdup(raw[i].name), (char *)buf_steal(&joined, NULL));
		buf_release(&joined);
	}
}

/* Parse type "/" subtype *(";" parameter); false when type or subtype cannot be read. */
static bool
ctype_parse(struct mime_ctype *ct, struct lexer *lx)
{
	struct raw_param raw[CTYPE_RAW_MAX];
	const char *type, *subtype;
	size_t type_len, subtype_len, n_raw = 0, i;

	if (!skip_cfws(lx) || (type_len = lex_token(lx, &type, false)) == 0 || !skip_cfws(lx) ||
	    lx->p >= lx->end || *lx->p != '/')
		return false;
	lx->p++;
	if (!skip_cfws(lx) || (subtype_len = lex_token(lx, &subtype, false)) == 0)
		return false;
	ct->type = xstrndup(type, type_len);
	ct->subtype = xstrndup(subtype, subtype_len);
	for (i = 0; i < type_len; i++)
		ct->type[i] = (char)lower((unsigned char)ct->type[i]);
	for (i = 0; i < subtype_len; i++)
		ct->subtype[i] = (char)lower((unsigned char)ct->subtype[i]);

	while (n_raw < CTYPE_RAW_MAX) {
		if (!skip_cfws(lx)) {
			resync(lx);
			continue;
		}
		if (lx->p >= lx->end)
			break;
		if (*lx->p != ';') { /* junk where a ';' belongs: skip it */
			resync(lx);
			continue;
		}
		lx->p++;
		if (!skip_cfws(lx)) {
			resync(lx);
			continue;
		}
		if (lx->p >= lx->end)
			break;
		if (*lx->p == ';') /* an empty parameter: tolerated */
			continue;
		if (param_parse(lx, &raw[n_raw]))
			n_raw++;
		else
			resync(lx);
	}
	params_assemble(ct, raw, n_raw);
	for (i = 0; i < n_raw; i++) {
		free(raw[i].name);
		free(raw[i].value);
	}
	return true;
}

void
mime_ctype_parse(struct mime_ctype *ct, const char *value)
{
	struct buf text = BUF_INIT;
	struct lexer lx;
	size_t n;

	memset(ct, 0, sizeof(*ct));
	if (value != NULL) {
		n = strnlen(value, CTYPE_INPUT_MAX + 1);
		unfold(&text, value, n > CTYPE_INPUT_MAX ? CTYPE_INPUT_MAX : n);
		lx.p = (const char *)text.data;
		lx.end = lx.p + text.len;
		lx.truncated = n > CTYPE_INPUT_MAX;
		ct->valid = ctype_parse(ct, &lx);
	}
	if (!ct->valid) {
		mime_ctype_clear(ct);
		ct->type = xstrdup("text");
		ct->subtype = xstrdup("plain");
	}
	buf_release(&text);
}

const char *
mime_ctype_param(const struct mime_ctype *ct, const char *name)
{
	size_t i;

	for (i = 0; i < ct->n_params; i++)
		if (strcasecmp(ct->params[i].name, name) == 0)
			return ct->params[i].value;
	return NULL;
}

void
mime_ctype_clear(struct mime_ctype *ct)
{
	size_t i;

	if (ct == NULL)
		return;
	for (i = 0; i < ct->n_params; i++) {
		free(ct->params[i].name);
		free(ct->params[i].value);
	}
	free(ct->params);
	free(ct->type);
	free(ct->subtype);
	memset(ct, 0, sizeof(*ct));
}

const char *
mime_encryption_name(enum mime_encryption e)
{
	switch (e) {
	case MIME_CLEAR:
		return "clear";
	case MIME_PGP_MIME:
		return "pgp-mime";
	case MIME_SMIME:
		return "smime";
	case MIME_INLINE_PGP:
		return "inline-pgp";
	}
	return "unknown";
}

/* The next line of p[*pos, len) without its line end; false at the end or for a cut-off line. */
static bool
next_line(const uint8_t *p, size_t len, size_t *pos, size_t *start, size_t *end)
{
	const uint8_t *nl;

	if (*pos >= len || (nl = memchr(p + *pos, '\n', len - *pos)) == NULL)
		return false;
	*start = *pos;
	*end = (size_t)(nl - p);
	*pos = *end + 1;
	while (*end > *start && (p[*end - 1] == '\r' || p[*end - 1] == ' ' || p[*end - 1] == '\t'))
		(*end)--;
	return true;
}

static bool
is_base64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

#define ARMOUR_BEGIN "-----BEGIN PGP MESSAGE-----"
#define ARMOUR_END   "-----END PGP MESSAGE-----"

/*
 * An OpenPGP armoured message (RFC 4880 section 6.2) and nothing else: the
 * head starts, after white space, with the BEGIN line, then "Key: value"
 * armour headers, a blank line and lines of radix-64 only (as far as the
 * head goes), and the tail ends, before white space, with the END line.
 * Text that merely starts with the BEGIN line, or goes on after the END
 * line, is clear text to be encrypted.
 */
static bool
body_is_armoured(const uint8_t *head, size_t len, const uint8_t *tail, size_t tail_len)
{
	size_t pos = 0, a, b, k, n;
	bool in_data = false;

	if (head == NULL || tail == NULL)
		return false;
	while (pos < len && is_wsp(head[pos]))
		pos++;
	if (!next_line(head, len, &pos, &a, &b) || b - a != sizeof(ARMOUR_BEGIN) - 1 ||
	    memcmp(head + a, ARMOUR_BEGIN, b - a) != 0)
		return false;
	while (next_line(head, len, &pos, &a, &b)) {
		if (!in_data) {
			if (a == b)
				in_data = true; /* the blank line after the armour headers */
			else if (memchr(head + a, ':', b - a) == NULL)
				return false;
			continue;
		}
		if (b - a == sizeof(ARMOUR_END) - 1 && memcmp(head + a, ARMOUR_END, b - a) == 0)
			break;
		for (k = a; k < b; k++)
			if (!is_base64_char(head[k]))
				return false;
	}
	n = tail_len;
	while (n > 0 && (is_wsp(tail[n - 1]) || tail[n - 1] == '\r' || tail[n - 1] == '\n'))
		n--;
	k = sizeof(ARMOUR_END) - 1;
	return in_data && n >= k && memcmp(tail + n - k, ARMOUR_END, k) == 0 &&
	       (n == k || tail[n - k - 1] == '\n');
}

/*
 * Whether a base64 body starts with the ContentInfo of CMS EnvelopedData or
 * AuthEnvelopedData (RFC 5652 section 3, RFC 5083 section 2.1): SEQUENCE,
 * any length form, then the content type OID.
 */
static bool
body_is_enveloped(const uint8_t *head, size_t len)
{
	static const uint8_t enveloped[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                                    0xf7, 0x0d, 0x01, 0x07, 0x03};
	static const uint8_t auth_enveloped[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                         0x0d, 0x01, 0x09, 0x10, 0x01, 0x17};
	struct buf text = BUF_INIT, der = BUF_INIT;
	struct why why;
	size_t i, off;
	bool yes = false;

	for (i = 0; i < len && text.len < 32; i++) {
		if (is_base64_char(head[i]) && head[i] != '=')
			buf_putc(&text, (char)head[i]);
		else if (!is_wsp(head[i]) && head[i] != '\r' && head[i] != '\n')
			break;
	}
	text.len &= ~(size_t)3;
	if (text.len >= 24 && base64_decode(&der, (const char *)text.data, text.len, &why) &&
	    der.len >= 2 && der.data[0] == 0x30) {
		/* the SEQUENCE's length: short form, indefinite (0x80) or 0x81-0x84 long form */
		off = der.data[1] < 0x80 || der.data[1] == 0x80 ? 2 : 2 + (der.data[1] & 0x7f);
		if (der.data[1] <= 0x84 && off < der.len) {
			yes = (der.len - off >= sizeof(enveloped) &&
			       memcmp(der.data + off, enveloped, sizeof(enveloped)) == 0) ||
			      (der.len - off >= sizeof(auth_enveloped) &&
			       memcmp(der.data + off, auth_enveloped, sizeof(auth_enveloped)) == 0);
		}
	}
	buf_release(&text);
	buf_release(&der);
	return yes;
}

enum mime_encryption
mime_detect_encryption(const char *content_type, const uint8_t *head, size_t head_len,
                       const uint8_t *tail, size_t tail_len)
{
	struct mime_ctype ct;
	enum mime_encryption verdict = MIME_CLEAR;
	const char *smime_type;

	mime_ctype_parse(&ct, content_type);
	if (strcmp(ct.type, "multipart") == 0 && strcmp(ct.subtype, "encrypted") == 0) {
		/* RFC 1847 section 2.2, RFC 3156 section 4: any protocol */
		verdict = MIME_PGP_MIME;
	} else if (strcmp(ct.type, "application") == 0 &&
	           (strcmp(ct.subtype, "pkcs7-mime") == 0 ||
	            strcmp(ct.subtype, "x-pkcs7-mime") == 0)) {
		/*
		 * RFC 8551 section 3.2.2: smime-type says.  Without it the .p7m name
		 * does not (signed-data has it too): the content type in the body does.
		 */
		smime_type = mime_ctype_param(&ct, "smime-type");
		if (smime_type != NULL) {
			if (strcasecmp(smime_type, "enveloped-data") == 0 ||
			    strcasecmp(smime_type, "authEnveloped-data") == 0)
				verdict = MIME_SMIME;
		} else if (head != NULL && body_is_enveloped(head, head_len)) {
			verdict = MIME_SMIME;
		}
	} else if (strcmp(ct.type, "text") == 0 && strcmp(ct.subtype, "plain") == 0) {
		/* includes no (or an unreadable) Content-Type: RFC 2045 section 5.2 */
		if (body_is_armoured(head, head_len, tail, tail_len))
			verdict = MIME_INLINE_PGP;
	}
	mime_ctype_clear(&ct);
	return verdict;
}

bool
mime_is_content_header(const char *name)
{
	return name != NULL && strncasecmp(name, "Content-", 8) == 0 && name[8] != '\0';
}
