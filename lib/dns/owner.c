/*
 * owner.c - owner names of TLSA, SMIMEA and OPENPGPKEY records (see owner.h).
 *
 * What it does: splits an email address at its last '@', canonicalises the
 * local part as RFC 7929 section 3 asks (enclosing double quotes and
 * quoted-pair backslashes removed, comments and white space around dots
 * dropped), requires valid UTF-8 without control characters, NFC-normalises
 * non-ASCII (RFC 6530 section 10.1), converts a U-label domain to A-labels
 * (IDNA2008 with UTS #46 non-transitional mapping, libidn2), and builds
 *   hex(SHA2-256(local part)[0..28)) . _smimecert | _openpgpkey . domain .
 * (RFC 8162 section 3, RFC 7929 section 3) and _<port>._<proto>.<host>.
 * (RFC 6698 section 3, RFC 7672 section 2.2).
 *
 * What it trusts: nothing in the address or host name (they come from mail
 * envelopes, headers and users); every failure says why, with the input
 * escaped.  It trusts libunistring, libidn2 and OpenSSL to do what they say.
 *
 * Not done: the full RFC 5322 obs-local-part grammar.  Atoms are taken as
 * they come (no atext check), so a malformed but unambiguous local part still
 * hashes as written.  Case is never folded on parsing; OWNER_CASE_LOWER is an
 * explicit second choice for the caller (RFC 7929 section 3 leaves mapping
 * to the publisher).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <openssl/evp.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "dns/owner.h"
#include "util/alloc.h"
#include "util/codec.h"
#include "util/escape.h"

/* RFC 1035 section 2.3.4 */
#define LABEL_MAX     63
#define NAME_MAX_WIRE 255
/* RFC 8162 section 3, RFC 7929 section 3: the first 28 octets of the digest. */
#define OWNER_HASH_OCTETS 28
/* How much of an offending label to quote in a reason. */
#define QUOTE_MAX 20

/* ASCII only, whatever the locale (a Turkish locale must not change an owner name). */
static bool
is_alnum_ascii(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_ascii(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x80)
			return false;
	return true;
}

/*
 * Control characters: C0 and DEL, and C1 (U+0080..U+009F, which UTF-8
 * encodes as 0xC2 0x80..0x9F).  `tab_ok` lets horizontal tab through where
 * it is folding white space.  The text must already be valid UTF-8.
 */
static bool
has_control(const uint8_t *p, size_t n, bool tab_ok)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\t' && tab_ok)
			continue;
		if (p[i] < 0x20 || p[i] == 0x7f)
			return true;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return true;
	}
	return false;
}

/* Skip an RFC 5322 comment starting at p[*i] == '('; comments nest and may hold quoted-pairs. */
static bool
skip_comment(const char *p, size_t n, size_t *i, struct why *why)
{
	size_t j = *i, depth = 0;

	for (; j < n; j++) {
		if (p[j] == '\\') {
			j++;
		} else if (p[j] == '(') {
			depth++;
		} else if (p[j] == ')') {
			if (--depth == 0) {
				*i = j + 1;
				return true;
			}
		}
	}
	return why_set(why, "local part has a comment without ')'");
}

/* Append the content of the quoted-string at p[*i] == '"' without quotes and quoted-pair '\'. */
static bool
unquote(struct buf *out, const char *p, size_t n, size_t *i, struct why *why)
{
	size_t j;

	for (j = *i + 1; j < n; j++) {
		if (p[j] == '"') {
			*i = j + 1;
			return true;
		}
		if (p[j] == '\\') {
			if (++j == n)
				break;
		}
		buf_putc(out, p[j]);
	}
	return why_set(why, "local part has a quoted string without closing '\"'");
}

/*
 * RFC 7929 section 3, step 2: "If the local-part is unquoted, any comments
 * and/or folding whitespace (CFWS) around dots (".") is removed.  Any
 * enclosing double quotes are removed.  Any literal quoting is removed."
 * Words (atoms and quoted strings) are joined by dots; CFWS between two words
 * without a dot is not an address, so it is rejected rather than guessed at.
 */
static bool
local_canonicalise(struct buf *out, const char *p, size_t n, struct why *why)
{
	size_t i = 0;
	bool gap = false, after_word = false;

	while (i < n) {
		char c = p[i];

		if (c == ' ' || c == '\t') {
			gap = true;
			i++;
		} else if (c == '(') {
			if (!skip_comment(p, n, &i, why))
				return false;
			gap = true;
		} else if (c == ')') {
			return why_set(why, "local part has ')' without '('");
		} else if (c == '.') {
			buf_putc(out, '.');
			after_word = gap = false;
			i++;
		} else {
			if (after_word && gap)
				return why_set(why, "local part has white space or a comment "
				                    "between two words");
			if (c == '"') {
				if (!unquote(out, p, n, &i, why))
					return false;
			} else if (c == '\\') {
				/* Literal quoting outside a quoted string: keep the character. */
				if (i + 1 == n)
					return why_set(why, "local part ends in '\\'");
				buf_putc(out, p[i + 1]);
				i += 2;
			} else {
				buf_putc(out, c);
				i++;
			}
			after_word = true;
			gap = false;
		}
	}
	return true;
}

/* The local part of an address: checked, canonicalised, NFC-normalised. */
static bool
local_parse(struct buf *local, const char *p, size_t n, struct why *why)
{
	struct buf canon = BUF_INIT;
	uint8_t *nfc;
	size_t nfc_len;
	bool ok = false;

	if (n == 0)
		return why_set(why, "local part is empty");
	if (u8_check((const uint8_t *)p, n) != NULL)
		return why_set(why, "local part is not valid UTF-8");
	if (has_control((const uint8_t *)p, n, true))
		return why_set(why, "local part has a control character");
	if (!local_canonicalise(&canon, p, n, why))
		goto out;
	if (canon.len == 0) {
		why_set(why, "local part is empty");
		goto out;
	}
	/*
	 * Canonicalisation removes only ASCII, so the result is still UTF-8 (checked
	 * anyway); a quoted tab is the one control character that can reach here.
	 */
	if (u8_check(canon.data, canon.len) != NULL) {
		why_set(why, "local part is not valid UTF-8");
		goto out;
	}
	if (has_control(canon.data, canon.len, false)) {
		why_set(why, "local part has a control character");
		goto out;
	}
	if (is_ascii(canon.data, canon.len)) {
		buf_append(local, canon.data, canon.len);
		ok = true;
		goto out;
	}
	/* RFC 7929 section 3, step 3; RFC 6530 section 10.1. */
	nfc = u8_normalize(UNINORM_NFC, canon.data, canon.len, NULL, &nfc_len);
	if (nfc == NULL) {
		why_set(why, "local part cannot be NFC-normalised");
		goto out;
	}
	buf_append(local, nfc, nfc_len);
	free(nfc);
	ok = true;
out:
	buf_release(&canon);
	return ok;
}

/* Fill why with "label longer than 63 octets (<n>): <start of the label, escaped>"; returns false.
 */
static bool
why_long_label(struct why *why, const char *label, size_t n)
{
	struct buf e = BUF_INIT;

	if (why == NULL)
		return false;
	escape_append(&e, label, n, QUOTE_MAX);
	why_set(why, "label longer than 63 octets (%zu): %s", n, buf_str(&e));
	buf_release(&e);
	return false;
}

/* Check name[0..n) (no final dot): labels 1-63 octets, wire length <= 255. */
static bool
check_name(const char *name, size_t n, struct why *why)
{
	size_t i, label = 0, wire = 1;
	const char *start = name;

	if (n == 0)
		return why_set(why, "name is empty");
	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0)
				return why_set(why, "name has an empty label");
			if (label > LABEL_MAX)
				return why_long_label(why, start, label);
			wire += label + 1;
			label = 0;
			start = name + i + 1;
			continue;
		}
		/*
		 * Mail domains and host names are letters, digits and '-' (RFC
		 * 5321 section 4.1.2, A-labels for IDN); '_' starts the labels
		 * of TLSA owners.  RFC 1035 escapes are not supported: anything
		 * else would not survive being pasted into an owner name.
		 */
		if (c <= 0x20 || c == 0x7f)
			return why_set(why,
			               "name has white space or a control character at offset %zu",
			               i);
		if (c >= 0x80)
			return why_set(why, "name has non-ASCII at offset %zu (A-labels needed)",
			               i);
		if (!is_alnum_ascii(c) && c != '-' && c != '_')
			return why_set(why,
			               "name has '%c' at offset %zu: only letters, digits, '-' and "
			               "'_' are allowed",
			               c, i);
		label++;
	}
	if (wire > NAME_MAX_WIRE)
		return why_set(why, "name longer than 255 octets (%zu)", wire);
	return true;
}

/* The domain of an address: one final dot dropped, U-labels to A-labels, checked. */
static bool
domain_parse(struct buf *domain, const char *p, size_t n, struct why *why)
{
	char *name, *ascii = NULL;
	int rc;
	bool ok;

	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0)
		return why_set(why, "domain is empty");
	if (p[0] == '[')
		return why_set(why, "domain is an address literal, which has no owner name");
	name = xstrndup(p, n);
	if (!is_ascii((const uint8_t *)name, n)) {
		if (u8_check((const uint8_t *)name, n) != NULL) {
			free(name);
			return why_set(why, "domain is not valid UTF-8");
		}
		rc = idn2_to_ascii_8z(name, &ascii, IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			free(name);
			return why_set(why, "domain cannot be converted to A-labels: %s",
			               idn2_strerror(rc));
		}
		free(name);
		name = xstrdup(ascii);
		idn2_free(ascii);
	}
	ok = check_name(name, strlen(name), why);
	if (ok)
		buf_puts(domain, name);
	else
		why_prefix(why, "domain");
	free(name);
	return ok;
}

bool
owner_address_parse(struct owner_address *addr, const char *text, struct why *why)
{
	const char *at;

	buf_init(&addr->local);
	buf_init(&addr->domain);
	/* The last '@': a quoted local part may contain '@', a domain cannot. */
	at = strrchr(text, '@');
	if (at == NULL)
		return why_set(why, "address has no '@'");
	if (!local_parse(&addr->local, text, (size_t)(at - text), why) ||
	    !domain_parse(&addr->domain, at + 1, strlen(at + 1), why)) {
		owner_address_clear(addr);
		return false;
	}
	/*
	 * The owner name adds a 56-octet hash label and "_openpgpkey" (or the
	 * shorter "_smimecert") to the domain: its wire form must still fit in
	 * 255 octets (RFC 1035 2.3.4), or no such record can exist.
	 */
	if (1 + 2 * OWNER_HASH_OCTETS + 1 + 11 + addr->domain.len + 2 > 255) {
		owner_address_clear(addr);
		return why_set(why,
		               "domain too long for an SMIMEA/OPENPGPKEY owner name "
		               "(%d octets at most)",
		               255 - 2 - (1 + 2 * OWNER_HASH_OCTETS) - (1 + 11));
	}
	return true;
}

void
owner_address_clear(struct owner_address *addr)
{
	if (addr == NULL)
		return;
	buf_release(&addr->local);
	buf_release(&addr->domain);
}

/* The lower-cased local part: ASCII and Unicode lower-casing, locale-independent, NFC. */
static void
local_lower(struct buf *out, const struct owner_address *addr)
{
	const uint8_t *s = addr->local.data;
	size_t i, n = addr->local.len, len;
	uint8_t *lower;

	if (is_ascii(s, n)) {
		for (i = 0; i < n; i++)
			buf_putc(out, s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]);
		return;
	}
	/* No language: a Turkish dotted I must not change the owner name with the locale. */
	lower = u8_tolower(s, n, NULL, UNINORM_NFC, NULL, &len);
	if (lower == NULL)
		util_panic("u8_tolower failed on a checked local part");
	buf_append(out, lower, len);
	free(lower);
}

void
owner_name_append(struct buf *out, const struct owner_address *addr, enum owner_kind kind,
                  enum owner_case ocase)
{
	struct buf lower = BUF_INIT;
	const struct buf *local = &addr->local;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (ocase == OWNER_CASE_LOWER) {
		local_lower(&lower, addr);
		local = &lower;
	}
	if (!EVP_Digest(local->data, local->len, md, &md_len, EVP_sha256(), NULL) ||
	    md_len < OWNER_HASH_OCTETS)
		util_panic("SHA2-256 failed");
	hex_encode(out, md, OWNER_HASH_OCTETS);
	buf_puts(out, kind == OWNER_SMIMEA ? "._smimecert." : "._openpgpkey.");
	buf_append(out, addr->domain.data, addr->domain.len);
	buf_putc(out, '.');
	buf_release(&lower);
}

bool
owner_lower_differs(const struct owner_address *addr)
{
	struct buf lower = BUF_INIT;
	bool differs;

	local_lower(&lower, addr);
	differs = lower.len != addr->local.len ||
	          (lower.len > 0 && memcmp(lower.data, addr->local.data, lower.len) != 0);
	buf_release(&lower);
	return differs;
}

bool
owner_name_from_address(struct buf *out, const char *address, enum owner_kind kind,
                        enum owner_case ocase, struct why *why)
{
	struct owner_address addr;

	if (!owner_address_parse(&addr, address, why))
		return false;
	owner_name_append(out, &addr, kind, ocase);
	owner_address_clear(&addr);
	return true;
}

bool
owner_tlsa(struct buf *out, const char *host, unsigned port, const char *proto, struct why *why)
{
	struct buf name = BUF_INIT;
	size_t i, n = strlen(host);
	bool ok;

	if (port < 1 || port > 65535)
		return why_set(why, "port %u is not 1-65535", port);
	/* RFC 6698 section 3: the protocol label is "_" and a protocol name such as "tcp". */
	if (proto[0] == '\0' || strlen(proto) > LABEL_MAX - 1)
		return why_set(why, "protocol name must be 1-62 characters");
	for (i = 0; proto[i]; i++)
		if (!is_alnum_ascii((unsigned char)proto[i]) && proto[i] != '-')
			return why_set(why, "protocol name has a character other than a letter, "
			                    "digit or '-'");
	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0)
		return why_set(why, "host name is empty");
	buf_printf(&name, "_%u._%s.%.*s", port, proto, (int)n, host);
	ok = check_name(buf_str(&name), name.len, why);
	if (ok) {
		buf_append(out, name.data, name.len);
		buf_putc(out, '.');
	}
	buf_release(&name);
	return ok;
}

bool
owner_check_domain(const char *name, struct why *why)
{
	size_t n = strlen(name);

	/* Presentation form may end in the root's dot. */
	if (n > 0 && name[n - 1] == '.')
		n--;
	return check_name(name, n, why);
}

/* Byte comparison: the local part exact, the domain ASCII case-insensitive. */
static bool
address_bytes_equal(const uint8_t *p, size_t n, const char *address)
{
	const char *at = strrchr(address, '@');
	size_t local, i;

	if (at == NULL || n != strlen(address))
		return false;
	local = (size_t)(at - address);
	if (memcmp(p, address, local + 1) != 0)
		return false;
	for (i = local + 1; i < n; i++) {
		uint8_t a = p[i], b = (uint8_t)address[i];

		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

bool
owner_address_equal(const uint8_t *p, size_t n, const char *address)
{
	struct owner_address x, y;
	struct why why;
	char *text;
	bool eq;

	if (address_bytes_equal(p, n, address))
		return true;
	/* else the canonical forms: quotes, NFC, U-labels against A-labels (RFC 7929 section 3) */
	if (n == 0 || memchr(p, '\0', n) != NULL || memchr(p, '@', n) == NULL)
		return false;
	text = xstrndup((const char *)p, n);
	eq = owner_address_parse(&x, text, &why);
	free(text);
	if (!eq)
		return false;
	eq = owner_address_parse(&y, address, &why) && x.local.len == y.local.len &&
	     memcmp(x.local.data, y.local.data, x.local.len) == 0 && x.domain.len == y.domain.len &&
	     strcasecmp(buf_str(&x.domain), buf_str(&y.domain)) == 0;
	owner_address_clear(&x);
	owner_address_clear(&y);
	return eq;
}
