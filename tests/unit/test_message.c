/*
 * test_message.c - unit tests for lib/mail/message.c: header fields in
 * order and found case-insensitively; the body spilling to an unlinked
 * 0600 spool file past the threshold (checked through /proc/self/fd and a
 * private temporary directory that must stay empty); the MIME entity
 * (RFC 8551 section 3.1) byte for byte for small cases; the same entity
 * from memory and from the spool file whatever the read sizes; and a 20 MB
 * spooled body streamed through the BIO with bounded memory; a spool file
 * cut short makes the BIO fail rather than end early.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "mail/message.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/escape.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MB         (1024 * 1024)

static char tmpdir[] = "/tmp/test_message.XXXXXX";

/* Entries in tmpdir (the spool files must never be visible there). */
static int
dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * Open descriptors of this process onto files in dir; *deleted counts those
 * whose file has no name any more, *mode gets the last one's permissions.
 */
static int
fds_into(const char *dir, int *deleted, mode_t *mode)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[512], path[300];
	size_t dlen = strlen(dir);
	int n = 0;

	assert_non_null(d);
	*deleted = 0;
	while ((e = readdir(d)) != NULL) {
		ssize_t len;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, dir, dlen) != 0 || link[dlen] != '/')
			continue;
		n++;
		if (strstr(link, " (deleted)") != NULL)
			(*deleted)++;
		if (mode != NULL && stat(path, &st) == 0)
			*mode = st.st_mode & 07777;
	}
	closedir(d);
	return n;
}

/* The reference for the body's line ends: LF not after CR becomes CRLF; nothing else changes. */
static void
crlf_reference(struct buf *out, const uint8_t *p, size_t n, bool *prev_cr)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && !*prev_cr)
			buf_putc(out, '\r');
		buf_putc(out, p[i]);
		*prev_cr = p[i] == '\r';
	}
}

/* Read a BIO to its end with reads of `step` bytes (0: varying 1..97). */
static void
bio_read_all(BIO *bio, struct buf *out, size_t step)
{
	uint8_t tmp[4096];
	size_t k = 0;
	int n;

	for (;;) {
		size_t want = step ? step : 1 + (k++ * 37) % 97;

		if (want > sizeof(tmp))
			want = sizeof(tmp);
		n = BIO_read(bio, tmp, (int)want);
		if (n <= 0)
			break;
		buf_append(out, tmp, (size_t)n);
	}
	assert_int_equal(n, 0);
	assert_true(BIO_eof(bio));
	if (out->data == NULL)
		buf_puts(out, "");
}

static const char *
esc(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	escape_append(b, p, n, 300);
	return buf_str(b);
}

static int
group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

static void
test_headers(void **state)
{
	static const char *fields[][2] = {
	        {"Received", "from a by b"}, {"From", "Alice <alice@secure.test>"},
	        {"Subject", "first"},        {"Content-Type", "text/plain;\n\tcharset=utf-8"},
	        {"subject", "second"},       {"X-Empty", ""},
	};
	struct message *m = message_new(1024, tmpdir);
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(fields); i++)
		message_add_header(m, fields[i][0], fields[i][1]);
	assert_int_equal(message_header_count(m), N_ELEMS(fields));
	for (i = 0; i < N_ELEMS(fields); i++) {
		const struct message_header *h = message_header_at(m, i);

		if (strcmp(h->name, fields[i][0]) != 0 || strcmp(h->value, fields[i][1]) != 0)
			fail_msg("header %zu: got %s: %s, want %s: %s", i, h->name, h->value,
			         fields[i][0], fields[i][1]);
	}
	assert_null(message_header_at(m, N_ELEMS(fields)));
	assert_string_equal(message_header_get(m, "SUBJECT"), "first"); /* the first one */
	assert_string_equal(message_header_get(m, "content-type"), "text/plain;\n\tcharset=utf-8");
	assert_string_equal(message_header_get(m, "x-empty"), "");
	assert_null(message_header_get(m, "To"));
	assert_null(message_header_get(m, "Subjec"));
	assert_null(message_free(m));
	assert_null(message_free(NULL));
}

static void
test_spill(void **state)
{
	uint8_t body[3000], head[4000];
	struct message *m = message_new(1024, tmpdir);
	struct why why = {""};
	int deleted;
	mode_t mode = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)('a' + i % 26);
	assert_true(message_append_body(m, body, 1000, &why));
	assert_true(message_append_body(m, body + 1000, 0, &why));
	assert_true(message_append_body(m, body + 1000, 24, &why));
	/* exactly the threshold: still in memory */
	assert_int_equal(message_body_size(m), 1024);
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 0);
	/* one more byte: spooled, to a file that has no name */
	if (!message_append_body(m, body + 1024, 1, &why))
		fail_msg("append: %s", why.msg);
	assert_int_equal(fds_into(tmpdir, &deleted, &mode), 1);
	assert_int_equal(deleted, 1);
	if (mode != 0600)
		fail_msg("spool file mode: got %04o, want 0600", (unsigned)mode);
	assert_int_equal(dir_count(tmpdir), 0);
	assert_true(message_append_body(m, body + 1025, sizeof(body) - 1025, &why));
	assert_int_equal(message_body_size(m), sizeof(body));
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 1);
	assert_int_equal(dir_count(tmpdir), 0);
	/* the head comes back from the file */
	assert_int_equal(message_body_head(m, head, 10), 10);
	assert_memory_equal(head, body, 10);
	assert_int_equal(message_body_head(m, head, sizeof(head)), sizeof(body));
	assert_memory_equal(head, body, sizeof(body));
	assert_int_equal(message_body_head(m, head, 0), 0);
	message_free(m);
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 0);
	assert_int_equal(dir_count(tmpdir), 0);

	/* threshold 0: the first byte spools */
	m = message_new(0, tmpdir);
	assert_int_equal(message_body_head(m, head, sizeof(head)), 0);
	assert_true(message_append_body(m, body, 1, &why));
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 1);
	assert_int_equal(message_body_head(m, head, sizeof(head)), 1);
	message_free(m);
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 0);
}

/* A spool directory that does not exist: a reason, and the body as it was. */
static void
test_spill_error(void **state)
{
	uint8_t body[100] = {'x'}, head[200];
	struct message *m = message_new(64, "/nonexistent/danemail-test");
	struct why why = {""};

	(void)state;
	assert_true(message_append_body(m, body, 60, &why));
	assert_false(message_append_body(m, body, 40, &why));
	if (strstr(why.msg, "/nonexistent/danemail-test") == NULL)
		fail_msg("reason: got \"%s\", want the directory named", why.msg);
	assert_int_equal(message_body_size(m), 60);
	assert_int_equal(message_body_head(m, head, sizeof(head)), 60);
	assert_memory_equal(head, body, 60);
	message_free(m);
}

static void
test_body_head(void **state)
{
	struct message *m = message_new(100, tmpdir);
	uint8_t head[16];

	(void)state;
	assert_int_equal(message_body_head(m, head, sizeof(head)), 0);
	assert_true(message_append_body(m, (const uint8_t *)"hello", 5, NULL));
	assert_int_equal(message_body_head(m, head, sizeof(head)), 5);
	assert_memory_equal(head, "hello", 5);
	assert_int_equal(message_body_head(m, head, 2), 2);
	assert_memory_equal(head, "he", 2);
	message_free(m);
}

/* One entity: the fields given (NULL-terminated name/value pairs), a body, and the bytes wanted. */
struct entity_case {
	const char *name;
	const char *fields[12];
	const char *body;
	bool protected_subject;
	const char *want;
};

static const struct entity_case entity_cases[] = {
        {"folded Content-Type, LF body",
         {"From", "alice@secure.test", "Content-Type", "multipart/mixed;\n\tboundary=\"b\"",
          "Subject", "Hi", "MIME-Version", "1.0", "Content-Transfer-Encoding", "7bit", NULL},
         "--b\nline\n--b--\n",
         false,
         "Content-Type: multipart/mixed;\r\n\tboundary=\"b\"\r\nContent-Transfer-Encoding: "
         "7bit\r\n\r\n--b\r\nline\r\n--b--\r\n"},
        {"protected Subject in its place",
         {"From", "alice@secure.test", "Content-Type", "multipart/mixed;\n\tboundary=\"b\"",
          "Subject", "Hi there,\n folded", "MIME-Version", "1.0", "Content-Transfer-Encoding",
          "7bit", NULL},
         "x\n",
         true,
         "Content-Type: multipart/mixed;\r\n\tboundary=\"b\"\r\nSubject: Hi there,\r\n "
         "folded\r\nContent-Transfer-Encoding: 7bit\r\n\r\nx\r\n"},
        {"protected Subject: the first only",
         {"Subject", "one", "subject", "two", NULL},
         "x",
         true,
         "Subject: one\r\n\r\nx"},
        {"Subject not protected",
         {"Subject", "one", "Content-Type", "text/plain", NULL},
         "",
         false,
         "Content-Type: text/plain\r\n\r\n"},
        {"CRLF folds kept",
         {"Content-Type", "text/plain;\r\n charset=utf-8;\r\n\tformat=flowed", NULL},
         "a\r\n",
         false,
         "Content-Type: text/plain;\r\n charset=utf-8;\r\n\tformat=flowed\r\n\r\na\r\n"},
        {"no Content-Type: none inside",
         {"From", "a@b", "To", "c@d", NULL},
         "Hello\n",
         false,
         "\r\nHello\r\n"},
        {"no fields, no body", {NULL}, "", false, "\r\n"},
        {"empty body",
         {"Content-Type", "text/plain", "Content-Transfer-Encoding", "quoted-printable", NULL},
         "",
         false,
         "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
        {"every Content-* field, names as given",
         {"content-type", "text/plain", "CONTENT-DISPOSITION", "inline", "Content-ID", "<x@y>",
          "Content-Description", "", "X-Content", "no", NULL},
         "b",
         false,
         "content-type: text/plain\r\nCONTENT-DISPOSITION: inline\r\nContent-ID: "
         "<x@y>\r\nContent-Description: \r\n\r\nb"},
        {"value with its leading space (SMFIP_HDR_LEADSPC)",
         {"Content-Type", " text/plain", "Content-Disposition", "\tinline", NULL},
         "",
         false,
         "Content-Type: text/plain\r\nContent-Disposition:\tinline\r\n\r\n"},
        {"line ends at the end of a value dropped",
         {"Content-Type", "text/plain\r\n", "Content-Disposition", "inline\n\n", NULL},
         "",
         false,
         "Content-Type: text/plain\r\nContent-Disposition: inline\r\n\r\n"},
        {"break without white space stays a continuation",
         {"Content-Type", "text/plain;\ncharset=x\r\nBcc: eve@evil.test", NULL},
         "",
         false,
         "Content-Type: text/plain;\r\n charset=x\r\n Bcc: eve@evil.test\r\n\r\n"},
        {"blank line inside a value cannot end the header",
         {"Content-Type", "text/plain;\n\n charset=x", "Content-Disposition", "a\r\n\r\nb", NULL},
         "",
         false,
         "Content-Type: text/plain;\r\n charset=x\r\nContent-Disposition: a\r\n b\r\n\r\n"},
        {"bare CR in a value becomes a fold",
         {"Content-Type", "text/plain;\r charset=x", NULL},
         "",
         false,
         "Content-Type: text/plain;\r\n charset=x\r\n\r\n"},
        {"body line ends: LF to CRLF, CRLF kept, lone CR kept",
         {"Content-Type", "text/plain", NULL},
         "a\r\nb\nc\rd\r\r\ne\n\nf\n\r",
         false,
         "Content-Type: text/plain\r\n\r\na\r\nb\r\nc\rd\r\r\ne\r\n\r\nf\r\n\r"},
        {"body starting with LF", {NULL}, "\nx", false, "\r\n\r\nx"},
        {"body of one CR", {NULL}, "\r", false, "\r\n\r"},
        {"body of one LF", {NULL}, "\n", false, "\r\n\r\n"},
        {"body without a final line end", {NULL}, "no newline", false, "\r\nno newline"},
        {"8-bit and NUL-free binary-ish body kept",
         {NULL},
         "\xff\xfe\x01\n",
         false,
         "\r\n\xff\xfe\x01\r\n"},
};

/* Build the case's message with this threshold, read its entity, compare. */
static void
entity_check(const struct entity_case *c, size_t threshold, size_t step)
{
	struct message *m = message_new(threshold, tmpdir);
	struct buf got = BUF_INIT, e1 = BUF_INIT, e2 = BUF_INIT;
	struct why why = {""};
	size_t i;
	BIO *bio;

	for (i = 0; c->fields[i] != NULL; i += 2)
		message_add_header(m, c->fields[i], c->fields[i + 1]);
	if (!message_append_body(m, (const uint8_t *)c->body, strlen(c->body), &why))
		fail_msg("%s: append: %s", c->name, why.msg);
	if ((bio = message_entity_bio(m, c->protected_subject, &why)) == NULL)
		fail_msg("%s: entity: %s", c->name, why.msg);
	bio_read_all(bio, &got, step);
	if (got.len != strlen(c->want) || memcmp(got.data, c->want, got.len) != 0) {
		fail_msg("%s (threshold %zu, reads of %zu): got \"%s\", want \"%s\"", c->name,
		         threshold, step, esc(&e1, got.data, got.len),
		         esc(&e2, c->want, strlen(c->want)));
	}
	BIO_free(bio);
	message_free(m);
	buf_release(&got);
	buf_release(&e1);
	buf_release(&e2);
}

static void
test_entity_table(void **state)
{
	static const size_t thresholds[] = {1 << 20, 0, 1};
	static const size_t steps[] = {4096, 1, 2, 0};
	size_t i, t, s;

	(void)state;
	for (i = 0; i < N_ELEMS(entity_cases); i++)
		for (t = 0; t < N_ELEMS(thresholds); t++)
			for (s = 0; s < N_ELEMS(steps); s++)
				entity_check(&entity_cases[i], thresholds[t], steps[s]);
	assert_int_equal(dir_count(tmpdir), 0);
}

/*
 * Random bodies full of CR and LF, appended in random pieces, kept in memory
 * or spooled, read in random steps: always the reference conversion.  Some
 * are long enough that CR/LF pairs straddle the BIO's internal reads.
 */
static void
test_entity_random(void **state)
{
	static const size_t sizes[] = {0, 1, 2, 3, 100, 65535, 65536, 65537, 200003};
	static const uint8_t alphabet[] = {'\r', '\n', 'a', '\r', '\n', ' ', 'z', 0xff};
	uint32_t seed = 777;
	size_t i, r;

	(void)state;
	for (i = 0; i < N_ELEMS(sizes); i++) {
		for (r = 0; r < 4; r++) {
			size_t n = sizes[i], off = 0, k;
			uint8_t *body = malloc(n + 1);
			struct buf want = BUF_INIT, got = BUF_INIT;
			size_t threshold = r % 2 ? 0 : n + 1;
			struct message *m = message_new(threshold, tmpdir);
			bool prev_cr = false;
			BIO *bio;

			for (k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				body[k] = alphabet[(seed >> 16) % sizeof(alphabet)];
			}
			/* a CR/LF pair across 64 KiB, a bare LF right after it */
			if (n > 65538) {
				body[65535] = '\r';
				body[65536] = '\n';
				body[65537] = '\n';
			}
			while (off < n) {
				seed = seed * 1103515245u + 12345u;
				k = 1 + (seed >> 16) % 5000;
				if (k > n - off)
					k = n - off;
				assert_true(message_append_body(m, body + off, k, NULL));
				off += k;
			}
			buf_puts(&want, "Content-Type: text/plain\r\n\r\n");
			crlf_reference(&want, body, n, &prev_cr);
			message_add_header(m, "Content-Type", "text/plain");
			bio = message_entity_bio(m, false, NULL);
			assert_non_null(bio);
			bio_read_all(bio, &got, r < 2 ? 0 : 65536);
			if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
				fail_msg(
				        "random body %zu bytes, threshold %zu: got %zu bytes, want "
				        "%zu (or different bytes)",
				        n, threshold, got.len, want.len);
			BIO_free(bio);
			message_free(m);
			free(body);
			buf_release(&want);
			buf_release(&got);
		}
	}
}

/* The BIO is the caller's: it outlives the message, and two BIOs do not disturb each other. */
static void
test_entity_independent(void **state)
{
	static const size_t thresholds[] = {1 << 20, 0};
	size_t t;

	(void)state;
	for (t = 0; t < N_ELEMS(thresholds); t++) {
		struct message *m = message_new(thresholds[t], tmpdir);
		struct buf a = BUF_INIT, b = BUF_INIT;
		BIO *b1, *b2;
		uint8_t x[7];
		int n1, n2;

		message_add_header(m, "Content-Type", "text/plain");
		assert_true(message_append_body(m, (const uint8_t *)"one\ntwo\nthree\n", 14, NULL));
		b1 = message_entity_bio(m, false, NULL);
		b2 = message_entity_bio(m, false, NULL);
		assert_non_null(b1);
		assert_non_null(b2);
		message_free(m);
		do {
			n1 = BIO_read(b1, x, sizeof(x));
			if (n1 > 0)
				buf_append(&a, x, (size_t)n1);
			n2 = BIO_read(b2, x, 3);
			if (n2 > 0)
				buf_append(&b, x, (size_t)n2);
		} while (n1 > 0 || n2 > 0);
		assert_string_equal(buf_str(&a),
		                    "Content-Type: text/plain\r\n\r\none\r\ntwo\r\nthree\r\n");
		assert_string_equal(buf_str(&a), buf_str(&b));
		BIO_free(b1);
		BIO_free(b2);
		buf_release(&a);
		buf_release(&b);
	}
	assert_int_equal(dir_count(tmpdir), 0);
}

/* A spool file cut short behind the message's back: the BIO fails, it does not end early. */
static void
test_entity_spool_truncated(void **state)
{
	struct message *m = message_new(0, tmpdir);
	uint8_t body[1000], tmp[4096];
	char path[300], link[512];
	struct buf got = BUF_INIT;
	DIR *d;
	struct dirent *e;
	int fd = -1, n;
	BIO *bio;

	(void)state;
	memset(body, 'b', sizeof(body));
	assert_true(message_append_body(m, body, sizeof(body), NULL));
	/* find the unlinked spool file through /proc and truncate it */
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (fd < 0 && (e = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if (e->d_name[0] == '.' || (len = readlink(path, link, sizeof(link) - 1)) < 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, tmpdir, strlen(tmpdir)) == 0)
			fd = open(path, O_WRONLY);
	}
	closedir(d);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 10), 0);
	close(fd);
	bio = message_entity_bio(m, false, NULL);
	assert_non_null(bio);
	while ((n = BIO_read(bio, tmp, sizeof(tmp))) > 0)
		buf_append(&got, tmp, (size_t)n);
	if (n != -1)
		fail_msg("truncated spool: got %d at %zu bytes, want -1 (an error)", n, got.len);
	assert_false(BIO_eof(bio));
	assert_int_equal(BIO_read(bio, tmp, sizeof(tmp)), -1); /* and it stays failed */
	assert_true(ERR_peek_error() != 0);
	ERR_clear_error();
	BIO_free(bio);
	message_free(m);
	buf_release(&got);
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 20 MB through the spool file and the BIO: right length, right hash, little memory. */
static void
test_entity_20mb(void **state)
{
	const size_t body_size = 20 * MB, piece = 65536;
	static const char line[] = "The quick brown fox jumps over the lazy dog, 0123456789 ok.\n";
	const size_t line_len = sizeof(line) - 1;
	uint8_t *chunk = malloc(piece), *rbuf = malloc(16384);
	unsigned char got_md[EVP_MAX_MD_SIZE], want_md[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0, want_len = 0;
	EVP_MD_CTX *want = EVP_MD_CTX_new(), *got = EVP_MD_CTX_new();
	struct message *m = message_new(1 * MB, tmpdir);
	static const char head[] = "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
	size_t off = 0, total = 0, want_total, n_lf = 0, k;
	struct buf conv = BUF_INIT;
	struct why why = {""};
	long rss_before;
	int deleted, n;
	bool prev_cr = false;
	BIO *bio;

	(void)state;
	rss_before = max_rss_kb();
	message_add_header(m, "Content-Type", "text/plain; charset=us-ascii");
	EVP_DigestInit_ex(want, EVP_sha256(), NULL);
	EVP_DigestInit_ex(got, EVP_sha256(), NULL);
	EVP_DigestUpdate(want, head, sizeof(head) - 1);
	while (off < body_size) {
		size_t len = body_size - off < piece ? body_size - off : piece;

		for (k = 0; k < len; k++) {
			chunk[k] = (uint8_t)line[(off + k) % line_len];
			n_lf += chunk[k] == '\n';
		}
		if (!message_append_body(m, chunk, len, &why))
			fail_msg("append at %zu: %s", off, why.msg);
		buf_reset(&conv);
		crlf_reference(&conv, chunk, len, &prev_cr);
		EVP_DigestUpdate(want, conv.data, conv.len);
		off += len;
	}
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 1);
	assert_int_equal(dir_count(tmpdir), 0);
	want_total = sizeof(head) - 1 + body_size + n_lf;

	bio = message_entity_bio(m, false, &why);
	if (bio == NULL)
		fail_msg("entity: %s", why.msg);
	while ((n = BIO_read(bio, rbuf, 16384)) > 0) {
		EVP_DigestUpdate(got, rbuf, (size_t)n);
		total += (size_t)n;
	}
	assert_int_equal(n, 0);
	if (total != want_total)
		fail_msg("entity length: got %zu, want %zu", total, want_total);
	EVP_DigestFinal_ex(want, want_md, &want_len);
	EVP_DigestFinal_ex(got, got_md, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got_md, want_md, got_len);
	/* neither the 20 MB body nor the 20.7 MB entity was held in memory */
	if (max_rss_kb() - rss_before > 8 * 1024)
		fail_msg("peak memory grew by %ld KB, want under 8 MB", max_rss_kb() - rss_before);
	BIO_free(bio);
	message_free(m);
	assert_int_equal(fds_into(tmpdir, &deleted, NULL), 0);
	EVP_MD_CTX_free(want);
	EVP_MD_CTX_free(got);
	buf_release(&conv);
	free(chunk);
	free(rbuf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_headers),
	        cmocka_unit_test(test_spill),
	        cmocka_unit_test(test_spill_error),
	        cmocka_unit_test(test_body_head),
	        cmocka_unit_test(test_entity_table),
	        cmocka_unit_test(test_entity_random),
	        cmocka_unit_test(test_entity_independent),
	        cmocka_unit_test(test_entity_spool_truncated),
	        cmocka_unit_test(test_entity_20mb),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
