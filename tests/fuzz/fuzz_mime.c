/*
 * fuzz_mime.c - libFuzzer target for Content-Type parsing and the
 * already-encrypted detector (lib/mail/mime.h; RFC 2045 5.1, RFC 2231,
 * RFC 1847, RFC 3156, RFC 8551).
 *
 * Input: flags byte, then the Content-Type value up to the first NUL byte,
 * then the start of the body.  Invariants: type and subtype are non-empty
 * lower-case tokens, every parameter name is lower case and found again by
 * mime_ctype_param, an unreadable value is text/plain without parameters,
 * and the verdict is a known one whose name is not NULL.
 */
#include "fuzz.h"

#include "mail/mime.h"

static bool
has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_ctype ct;
	const uint8_t *nul, *body;
	size_t vlen, blen, i;
	enum mime_encryption enc;
	char *value;
	bool absent;

	if (size < 1)
		return 0;
	absent = (data[0] & 1) != 0; /* no Content-Type field at all */
	data++;
	size--;
	nul = memchr(data, '\0', size);
	vlen = nul != NULL ? (size_t)(nul - data) : size;
	body = nul != NULL ? nul + 1 : data + size;
	blen = nul != NULL ? size - vlen - 1 : 0;
	value = fuzz_cstr(data, vlen);

	mime_ctype_parse(&ct, absent ? NULL : value);
	FUZZ_CHECK(ct.type != NULL && ct.subtype != NULL);
	FUZZ_CHECK(ct.type[0] != '\0' && ct.subtype[0] != '\0');
	FUZZ_CHECK(!has_upper(ct.type) && !has_upper(ct.subtype));
	FUZZ_CHECK(ct.n_params == 0 || ct.params != NULL);
	if (!ct.valid) {
		FUZZ_CHECK(strcmp(ct.type, "text") == 0 && strcmp(ct.subtype, "plain") == 0);
		FUZZ_CHECK(ct.n_params == 0);
	}
	for (i = 0; i < ct.n_params; i++) {
		FUZZ_CHECK(ct.params[i].name != NULL && ct.params[i].value != NULL);
		FUZZ_CHECK(!has_upper(ct.params[i].name));
		FUZZ_CHECK(mime_ctype_param(&ct, ct.params[i].name) != NULL);
	}
	(void)mime_ctype_param(&ct, "boundary");
	mime_ctype_clear(&ct);

	enc = mime_detect_encryption(absent ? NULL : value, body, blen, body, blen);
	FUZZ_CHECK(enc == MIME_CLEAR || enc == MIME_PGP_MIME || enc == MIME_SMIME ||
	           enc == MIME_INLINE_PGP);
	FUZZ_CHECK(mime_encryption_name(enc) != NULL);
	(void)mime_is_content_header(value);
	free(value);
	return 0;
}
