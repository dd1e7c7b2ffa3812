/*
 * fuzz_smtp.c - libFuzzer target for the SMTP reply and EHLO parsers
 * (lib/smtp/client.h; RFC 5321 sections 4.2 and 4.1.1.1).
 *
 * Input: a flags byte (line and line-count limits, the size of the pieces
 * the bytes arrive in), then what a server sends.  The stream is parsed
 * reply after reply, once as it arrives piece by piece and once all at
 * once; both must see the same replies and end the same way.  Each complete
 * reply is described, and a 2xx one parsed as an EHLO reply, whose strings
 * must be escaped (printable ASCII only) and whose flags must agree with
 * smtp_ehlo_has.
 */
#include "fuzz.h"

#include "smtp/client.h"
#include "util/buf.h"

static bool
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void
check_reply(const struct smtp_reply *r)
{
	struct smtp_ehlo e;
	struct buf out = BUF_INIT;
	struct why why;
	size_t i;

	FUZZ_CHECK(r->code >= 200 && r->code <= 559 && r->n_lines > 0);
	smtp_reply_describe(r, &out, 0);
	FUZZ_CHECK(printable(buf_str(&out)));
	buf_reset(&out);
	smtp_reply_describe(r, &out, 16);
	FUZZ_CHECK(printable(buf_str(&out)));
	buf_release(&out);
	if (!smtp_ehlo_parse(&e, r, &why)) {
		FUZZ_CHECK(r->code / 100 != 2);
		smtp_ehlo_clear(&e);
		return;
	}
	FUZZ_CHECK(e.domain != NULL && printable(e.domain));
	FUZZ_CHECK(e.n_keywords + e.n_malformed <= r->n_lines - 1);
	for (i = 0; i < e.n_keywords; i++)
		FUZZ_CHECK(e.keywords[i] != NULL && printable(e.keywords[i]));
	FUZZ_CHECK(e.starttls == smtp_ehlo_has(&e, "STARTTLS"));
	FUZZ_CHECK(e.pipelining == smtp_ehlo_has(&e, "pipelining"));
	FUZZ_CHECK(e.has_size == smtp_ehlo_has(&e, "SIZE"));
	FUZZ_CHECK(e.has_size || e.size == 0);
	smtp_ehlo_clear(&e);
	smtp_ehlo_clear(&e); /* clearing twice is fine */
}

/*
 * Parse the stream arriving `piece` octets at a time; append what each
 * reply was to log.  Returns the final outcome (ERROR, or MORE at the end).
 */
static enum smtp_parse
parse_stream(const uint8_t *p, size_t n, size_t piece, const struct smtp_limits *lim,
             struct buf *log)
{
	struct smtp_reply r;
	enum smtp_parse pr = SMTP_PARSE_MORE;
	size_t pos = 0, avail = 0, used;
	struct why why;

	smtp_reply_init(&r);
	while (pos < n || avail > pos) {
		if (avail < n)
			avail = n - avail < piece ? n : avail + piece;
		pr = smtp_reply_parse(&r, p + pos, avail - pos, &used, lim, &why);
		FUZZ_CHECK(used <= avail - pos);
		pos += used;
		if (pr == SMTP_PARSE_ERROR)
			break;
		if (pr == SMTP_PARSE_DONE) {
			FUZZ_CHECK(r.done);
			check_reply(&r);
			buf_printf(log, "%d %zu ", r.code, r.n_lines);
			buf_append(log, r.text.data, r.text.len);
			buf_putc(log, '\0');
			smtp_reply_clear(&r);
			smtp_reply_init(&r);
			continue;
		}
		/* MORE: every complete line was consumed */
		FUZZ_CHECK(memchr(p + pos, '\n', avail - pos) == NULL);
		if (avail == n)
			break;
	}
	smtp_reply_clear(&r);
	return pr;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lines[] = {0, 1, 3, 4, 5, 10, 100, 4096};
	static const size_t counts[] = {0, 1, 2, 5};
	static const size_t pieces[] = {1, 2, 3, 5, 8, 13, 64, 512};
	struct buf whole = BUF_INIT, chunked = BUF_INIT;
	struct smtp_limits lim;
	enum smtp_parse a, b;
	size_t piece;

	if (size < 1)
		return 0;
	lim.max_line = lines[data[0] & 7];
	lim.max_lines = counts[(data[0] >> 3) & 3];
	a = parse_stream(data + 1, size - 1, size, &lim, &whole);
	piece = pieces[data[0] >> 5];
	if (size > 512 && piece < 64)
		piece = 64; /* byte-sized pieces rescan a pending line each time: quadratic */
	b = parse_stream(data + 1, size - 1, piece, &lim, &chunked);
	FUZZ_CHECK(a == b);
	FUZZ_CHECK(whole.len == chunked.len &&
	           (whole.len == 0 || memcmp(whole.data, chunked.data, whole.len) == 0));
	buf_release(&whole);
	buf_release(&chunked);
	return 0;
}
