/*
 * fuzz_message.c - libFuzzer target for a message's header fields and body
 * through the MIME entity BIO (lib/mail/message.h, RFC 8551 section 3.1).
 *
 * Input: a flags byte, then header lines ("Name: value", lines starting
 * with white space continue the previous value, as the MTA folds them) up to
 * an empty line, then the body.  The flags choose the protected Subject, an
 * in-memory or spooled body, how the body is appended (one piece or small
 * pieces), the size of the reads and, rarely (flags 0xfe), a body repeated
 * past the 64 KB chunk the BIO reads a spool file in.  The whole entity is
 * read and checked:
 *   - it ends with the body, each bare LF turned into CRLF;
 *   - the header block before it holds only CRLF line ends, no empty line
 *     but the final one, and only Content-* fields and (when asked) one
 *     Subject: no header value can end the block or smuggle in a field.
 */
#include "fuzz.h"

#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "mail/message.h"
#include "mail/mime.h"
#include "util/buf.h"

#define BIG_BODY 70000 /* past the 64 KB chunk the BIO reads a spool file in */

/* Split the header section into fields; returns where the body starts. */
static size_t
add_headers(struct message *m, const uint8_t *p, size_t n, size_t *count)
{
	struct buf name = BUF_INIT, value = BUF_INIT;
	size_t pos = 0;
	bool have = false;

	*count = 0;
	while (pos < n) {
		const uint8_t *nl = memchr(p + pos, '\n', n - pos);
		size_t end = nl != NULL ? (size_t)(nl - p) : n, len = end - pos;
		const uint8_t *line = p + pos;
		const uint8_t *colon;

		pos = nl != NULL ? end + 1 : n;
		if (len == 0 || (len == 1 && line[0] == '\r'))
			break; /* the empty line before the body */
		if ((line[0] == ' ' || line[0] == '\t') && have) {
			buf_putc(&value, '\n');
			buf_append(&value, line, len);
			continue;
		}
		if (have) {
			message_add_header(m, buf_str(&name), buf_str(&value));
			(*count)++;
		}
		buf_reset(&name);
		buf_reset(&value);
		colon = memchr(line, ':', len);
		if (colon == NULL) {
			buf_append(&name, line, len);
		} else {
			buf_append(&name, line, (size_t)(colon - line));
			buf_append(&value, colon + 1, len - (size_t)(colon - line) - 1);
		}
		have = true;
	}
	if (have) {
		message_add_header(m, buf_str(&name), buf_str(&value));
		(*count)++;
	}
	buf_release(&name);
	buf_release(&value);
	return pos;
}

/* The body as the entity must carry it: a LF not preceded by CR becomes CRLF. */
static void
canonical_body(struct buf *out, const uint8_t *p, size_t n)
{
	size_t pos = 0;
	bool cr;

	buf_reserve(out, 2 * n);
	while (pos < n) {
		const uint8_t *lf = memchr(p + pos, '\n', n - pos);
		size_t run = lf != NULL ? (size_t)(lf - (p + pos)) : n - pos;

		buf_append(out, p + pos, run);
		pos += run;
		if (lf == NULL)
			break;
		cr = pos > 0 && p[pos - 1] == '\r';
		buf_append(out, cr ? "\n" : "\r\n", cr ? 1 : 2);
		pos++;
	}
}

static bool
field_allowed(const uint8_t *line, size_t len, bool protected_subject, unsigned *subjects)
{
	const uint8_t *colon = memchr(line, ':', len);
	char *name;
	bool ok;

	if (colon == NULL || colon == line)
		return false;
	name = fuzz_cstr(line, (size_t)(colon - line));
	ok = mime_is_content_header(name);
	if (!ok && protected_subject && strcasecmp(name, "Subject") == 0) {
		ok = ++*subjects == 1;
	}
	free(name);
	return ok;
}

/* The header block: CRLF lines, no empty one before the last, only allowed fields. */
static void
check_head(const uint8_t *h, size_t n, bool protected_subject)
{
	size_t pos = 0, i;
	unsigned subjects = 0;

	FUZZ_CHECK(n >= 2 && h[n - 2] == '\r' && h[n - 1] == '\n');
	for (i = 0; i < n; i++) {
		if (h[i] == '\r')
			FUZZ_CHECK(i + 1 < n && h[i + 1] == '\n');
		if (h[i] == '\n')
			FUZZ_CHECK(i > 0 && h[i - 1] == '\r');
	}
	while (pos < n - 2) {
		const uint8_t *crlf = memmem(h + pos, n - pos, "\r\n", 2);
		size_t len;

		FUZZ_CHECK(crlf != NULL);
		len = (size_t)(crlf - (h + pos));
		FUZZ_CHECK(len > 0); /* an empty line would end the header block here */
		if (h[pos] == ' ' || h[pos] == '\t')
			FUZZ_CHECK(pos > 0); /* a continuation needs a field before it */
		else
			FUZZ_CHECK(field_allowed(h + pos, len, protected_subject, &subjects));
		pos += len + 2;
	}
	FUZZ_CHECK(pos == n - 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t read_sizes[] = {4096, 1, 2, 3, 7, 64, 1000, 65536};
	struct message *m;
	struct buf body = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
	struct why why;
	const uint8_t *bp;
	uint8_t head[64], tail[64];
	size_t start, blen, count, rsize, i, step, tail_len;
	bool protected_subject, spool, pieces, big;
	uint8_t flags;
	char *rbuf;
	BIO *bio;
	int n;

	if (size < 1 || size > 65536)
		return 0;
	flags = data[0];
	protected_subject = flags & 1;
	spool = flags & 2;
	pieces = flags & 4;
	big = flags == 0xfe; /* spooled, in pieces, 1000-octet reads, a long unit: it is slow */
	rsize = read_sizes[flags >> 5];
	data++;
	size--;

	m = message_new(spool ? 16 : 1 << 20, NULL);
	start = add_headers(m, data, size, &count);
	FUZZ_CHECK(message_header_count(m) == count);
	bp = data + start;
	blen = size - start;
	buf_append(&body, bp, blen);
	if (big && blen >= 512)
		while (body.len < BIG_BODY)
			buf_append(&body, bp, blen);
	step = pieces ? 1 + (flags >> 5) * 3 : body.len;
	if (body.len > 256 && rsize < 64)
		rsize = 64; /* tiny reads matter at line ends, not per kilobyte: keep them fast */
	if (big) {
		/* keep a big body to a few hundred appends and reads: it is here for the chunk
		 * boundary, and small steps are fuzzed on small bodies */
		step = step < 997 ? 997 : step;
		rsize = rsize < 1000 ? 1000 : rsize;
	}
	for (i = 0; i < body.len; i += step) {
		size_t k = body.len - i < step ? body.len - i : step;

		FUZZ_CHECK(message_append_body(m, body.data + i, k, &why));
	}
	FUZZ_CHECK(message_body_size(m) == body.len);
	n = (int)message_body_head(m, head, sizeof(head));
	FUZZ_CHECK((size_t)n == (body.len < sizeof(head) ? body.len : sizeof(head)));
	FUZZ_CHECK(n == 0 || memcmp(head, body.data, (size_t)n) == 0);
	tail_len = message_body_tail(m, tail, sizeof(tail));
	FUZZ_CHECK(tail_len == (body.len < sizeof(tail) ? body.len : sizeof(tail)));
	FUZZ_CHECK(tail_len == 0 || memcmp(tail, body.data + body.len - tail_len, tail_len) == 0);
	(void)mime_detect_encryption(message_header_get(m, "Content-Type"), head, (size_t)n, tail,
	                             tail_len);

	bio = message_entity_bio(m, protected_subject, &why);
	FUZZ_CHECK(bio != NULL);
	m = message_free(m); /* the BIO has its own copy */
	rbuf = malloc(rsize);
	FUZZ_CHECK(rbuf != NULL);
	while ((n = BIO_read(bio, rbuf, (int)rsize)) > 0)
		buf_append(&got, rbuf, (size_t)n);
	FUZZ_CHECK(n == 0);
	FUZZ_CHECK(BIO_eof(bio));
	BIO_free(bio);
	free(rbuf);

	canonical_body(&want, body.data, body.len);
	FUZZ_CHECK(got.len >= want.len + 2);
	FUZZ_CHECK(want.len == 0 ||
	           memcmp(got.data + got.len - want.len, want.data, want.len) == 0);
	check_head(got.data, got.len - want.len, protected_subject);

	buf_release(&body);
	buf_release(&want);
	buf_release(&got);
	ERR_clear_error();
	return 0;
}
