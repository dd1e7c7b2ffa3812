/*
 * message.c - one mail message as the milter sees it (see message.h): header
 * fields in arrival order, a body kept in memory up to a threshold and then
 * spooled to a private temporary file, and the MIME entity that S/MIME
 * encryption wraps, read back through an OpenSSL BIO that streams.
 *
 * What it trusts: the MTA for the split into header fields (libmilter hands
 * names and values apart, values without the colon, folded lines joined by
 * "\n" or "\r\n" plus white space); nothing about the content.  Header
 * values are re-folded defensively when the entity is built, so that no
 * value can end the header block or start a field of its own.  Content is
 * never logged; reasons name files and errno only.
 *
 * The spool file: mkostemp in the configured directory (mode 0600), unlinked
 * at once so that nothing is left behind even if the process dies; body
 * bytes are written with pwrite at their offset, so a failed append leaves
 * the body as it was.  The entity BIO duplicates the descriptor and reads
 * with pread: it stays valid after message_free and never moves a shared
 * offset.
 *
 * Line ends in the entity (RFC 8551 section 3.1.1, canonical form): header
 * lines end in CRLF; in the body a LF not preceded by CR becomes CRLF.  A
 * lone CR is left as it is: SMTP bodies cannot carry one legitimately, and
 * turning it into a line break could change binary-ish content.
 *
 * Thread safety: a message belongs to one thread at a time; entity BIOs are
 * independent of each other and of the message.  The BIO_METHOD is created
 * once (pthread_once) and never changes afterwards.
 */
#include "message.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mail/mime.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

#define ENTITY_CHUNK 65536 /* bytes of spooled body read at a time */

struct message {
	size_t spool_threshold;
	char *tmpdir;
	struct message_header *headers;
	size_t n_headers;
	struct buf body; /* the body while it is at most spool_threshold bytes */
	int spool_fd;    /* the unlinked spool file, or -1 */
	size_t body_size;
};

/* strerror, thread-safe (GNU strerror_r). */
static const char *
errno_str(int err, char *tmp, size_t size)
{
	return strerror_r(err, tmp, size);
}

struct message *
message_new(size_t spool_threshold, const char *tmpdir)
{
	struct message *m = xcalloc(1, sizeof(*m));

	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = getenv("TMPDIR");
	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	m->spool_threshold = spool_threshold;
	m->tmpdir = xstrdup(tmpdir);
	m->spool_fd = -1;
	return m;
}

struct message *
message_free(struct message *m)
{
	size_t i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	buf_release(&m->body);
	if (m->spool_fd >= 0)
		close(m->spool_fd);
	free(m->tmpdir);
	free(m);
	return NULL;
}

void
message_add_header(struct message *m, const char *name, const char *value)
{
	m->headers = xreallocarray(m->headers, m->n_headers + 1, sizeof(*m->headers));
	m->headers[m->n_headers].name = xstrdup(name);
	m->headers[m->n_headers].value = xstrdup(value != NULL ? value : "");
	m->n_headers++;
}

size_t
message_header_count(const struct message *m)
{
	return m->n_headers;
}

const struct message_header *
message_header_at(const struct message *m, size_t i)
{
	return i < m->n_headers ? &m->headers[i] : NULL;
}

const char *
message_header_get(const struct message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

/* Write all n bytes at offset off; false and errno on failure. */
static bool
pwrite_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return true;
}

/* Read up to n bytes at offset off (fewer only at the end of the file); -1 on error. */
static ssize_t
pread_full(int fd, uint8_t *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Move the in-memory body to a new spool file that no name refers to. */
static bool
spool_open(struct message *m, struct why *why)
{
	struct buf path = BUF_INIT, esc = BUF_INIT;
	char tmp[128];
	int fd, err;

	buf_printf(&path, "%s/danemail-body.XXXXXX", m->tmpdir);
	/* mkostemp creates the file with mode 0600 (POSIX.1-2008), exclusively */
	fd = mkostemp((char *)path.data, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		why_set(why, "cannot create a spool file in %s: %s", escape_str(&esc, m->tmpdir),
		        errno_str(err, tmp, sizeof(tmp)));
		goto fail;
	}
	if (unlink((char *)path.data) != 0) {
		err = errno;
		close(fd);
		why_set(why, "cannot unlink the spool file in %s: %s", escape_str(&esc, m->tmpdir),
		        errno_str(err, tmp, sizeof(tmp)));
		goto fail;
	}
	if (!pwrite_all(fd, m->body.data, m->body.len, 0)) {
		err = errno;
		close(fd);
		why_set(why, "cannot write the spool file in %s: %s", escape_str(&esc, m->tmpdir),
		        errno_str(err, tmp, sizeof(tmp)));
		goto fail;
	}
	m->spool_fd = fd;
	buf_release(&m->body);
	buf_release(&path);
	buf_release(&esc);
	return true;
fail:
	buf_release(&path);
	buf_release(&esc);
	return false;
}

bool
message_append_body(struct message *m, const uint8_t *p, size_t n, struct why *why)
{
	char tmp[128];

	if (n == 0)
		return true;
	if (n > SIZE_MAX - m->body_size || m->body_size + n > (size_t)INT64_MAX)
		return why_set(why, "message body too large");
	if (m->spool_fd < 0 && m->body_size + n > m->spool_threshold && !spool_open(m, why))
		return false;
	if (m->spool_fd < 0) {
		buf_append(&m->body, p, n);
	} else if (!pwrite_all(m->spool_fd, p, n, (off_t)m->body_size)) {
		int err = errno;

		return why_set(why, "cannot write the spool file: %s",
		               errno_str(err, tmp, sizeof(tmp)));
	}
	m->body_size += n;
	return true;
}

size_t
message_body_size(const struct message *m)
{
	return m->body_size;
}

/* Up to n body bytes from offset off (within the body) into out; how many were copied. */
static size_t
body_copy(const struct message *m, uint8_t *out, size_t n, size_t off)
{
	ssize_t got;

	if (n == 0)
		return 0;
	if (m->spool_fd < 0) {
		memcpy(out, m->body.data + off, n);
		return n;
	}
	got = pread_full(m->spool_fd, out, n, (off_t)off);
	return got > 0 ? (size_t)got : 0;
}

size_t
message_body_head(const struct message *m, uint8_t *out, size_t n)
{
	return body_copy(m, out, n < m->body_size ? n : m->body_size, 0);
}

size_t
message_body_tail(const struct message *m, uint8_t *out, size_t n)
{
	if (n > m->body_size)
		n = m->body_size;
	return body_copy(m, out, n, m->body_size - n);
}

/* ---- the entity ---------------------------------------------------------------------- */

/* What an entity BIO reads: header bytes, then the body with LF made CRLF. */
struct entity_source {
	struct buf head; /* the header fields and the blank line */
	size_t head_off;
	uint8_t *mem; /* a copy of an in-memory body, or NULL */
	int fd;       /* a duplicate of the spool descriptor, or -1 */
	size_t body_size;
	size_t body_off; /* body bytes consumed */
	uint8_t *chunk;  /* spooled bytes read but not yet consumed */
	size_t chunk_len, chunk_off;
	bool prev_cr;    /* the last body byte given out was CR */
	bool lf_pending; /* a CR went out for a bare LF; its LF did not fit */
	bool failed;     /* reading the spool file failed: every read fails */
};

static void
entity_source_free(struct entity_source *src)
{
	if (src == NULL)
		return;
	buf_release(&src->head);
	free(src->mem);
	free(src->chunk);
	if (src->fd >= 0)
		close(src->fd);
	free(src);
}

/* A name that can stand before a colon on a header line (RFC 5322 section 2.2: ftext). */
static bool
header_name_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ':')
			return false;
	return true;
}

/*
 * Append "Name: value" CRLF.  Every run of CR/LF in the value becomes one
 * CRLF followed by white space (the fold the MTA meant; a space is added if
 * the continuation lacks one), and line breaks at the end are dropped: no
 * value can end the header block early or smuggle in a field.
 */
static void
header_append(struct buf *out, const struct message_header *h)
{
	const char *v = h->value;
	size_t i = 0, n = strlen(v);

	buf_puts(out, h->name);
	buf_putc(out, ':');
	if (n == 0 || (v[0] != ' ' && v[0] != '\t'))
		buf_putc(out, ' ');
	while (i < n) {
		size_t run = strcspn(v + i, "\r\n");

		buf_append(out, v + i, run);
		i += run;
		if (i == n)
			break;
		while (i < n && (v[i] == '\r' || v[i] == '\n'))
			i++;
		if (i == n)
			break;
		buf_puts(out, "\r\n");
		if (v[i] != ' ' && v[i] != '\t')
			buf_putc(out, ' ');
	}
	buf_puts(out, "\r\n");
}

/* The next unconsumed body bytes (not yet converted); n 0 at the end; false on a read error. */
static bool
entity_body_peek(struct entity_source *src, const uint8_t **p, size_t *n)
{
	ssize_t got;
	size_t want;

	if (src->mem != NULL || src->fd < 0) {
		*p = src->mem + src->body_off;
		*n = src->body_size - src->body_off;
		return true;
	}
	if (src->chunk_off == src->chunk_len) {
		want = src->body_size - src->body_off;
		if (want > ENTITY_CHUNK)
			want = ENTITY_CHUNK;
		src->chunk_len = src->chunk_off = 0;
		if (want > 0) {
			got = pread_full(src->fd, src->chunk, want, (off_t)src->body_off);
			if (got < 0) {
				ERR_raise_data(ERR_LIB_SYS, errno,
				               "reading the spooled message body");
				return false;
			}
			if ((size_t)got < want) {
				ERR_raise_data(ERR_LIB_SYS, EIO,
				               "the spooled message body is shorter than written");
				return false;
			}
			src->chunk_len = want;
		}
	}
	*p = src->chunk + src->chunk_off;
	*n = src->chunk_len - src->chunk_off;
	return true;
}

static void
entity_body_consume(struct entity_source *src, size_t k)
{
	src->body_off += k;
	if (src->mem == NULL && src->fd >= 0)
		src->chunk_off += k;
}

/*
 * Fill out with up to outl entity bytes.  Body bytes are copied run by run up
 * to the next LF; a LF not preceded by CR (in this or the previous run) goes
 * out as CRLF.  Returns the count, 0 at the end, -1 on a read error.
 */
static ssize_t
entity_read(struct entity_source *src, uint8_t *out, size_t outl)
{
	size_t done = 0;

	if (src->failed)
		return -1;
	while (done < outl) {
		const uint8_t *p, *lf;
		size_t n, take, k;
		bool cr_before;

		if (src->lf_pending) {
			out[done++] = '\n';
			src->lf_pending = false;
			continue;
		}
		if (src->head_off < src->head.len) {
			take = src->head.len - src->head_off;
			if (take > outl - done)
				take = outl - done;
			memcpy(out + done, src->head.data + src->head_off, take);
			src->head_off += take;
			done += take;
			continue;
		}
		if (!entity_body_peek(src, &p, &n)) {
			src->failed = true;
			return -1;
		}
		if (n == 0)
			break;
		take = n < outl - done ? n : outl - done;
		if ((lf = memchr(p, '\n', take)) == NULL) {
			memcpy(out + done, p, take);
			done += take;
			src->prev_cr = p[take - 1] == '\r';
			entity_body_consume(src, take);
			continue;
		}
		k = (size_t)(lf - p);
		memcpy(out + done, p, k);
		done += k;
		cr_before = k > 0 ? p[k - 1] == '\r' : src->prev_cr;
		entity_body_consume(src, k + 1);
		/* the LF lay within take, so at least one byte of room is left */
		if (!cr_before) {
			out[done++] = '\r';
			if (done == outl) {
				src->lf_pending = true;
				src->prev_cr = false;
				break;
			}
		}
		out[done++] = '\n';
		src->prev_cr = false;
	}
	return (ssize_t)done;
}

static bool
entity_at_end(const struct entity_source *src)
{
	return !src->lf_pending && src->head_off == src->head.len &&
	       src->body_off == src->body_size;
}

/* ---- the BIO_METHOD -------------------------------------------------------------------- */

static int
entity_bio_read(BIO *bio, char *data, size_t dlen, size_t *readbytes)
{
	struct entity_source *src = BIO_get_data(bio);
	ssize_t n;

	*readbytes = 0;
	if (src == NULL)
		return -1;
	if ((n = entity_read(src, (uint8_t *)data, dlen)) < 0)
		return -1;
	*readbytes = (size_t)n;
	return n > 0 ? 1 : 0;
}

static long
entity_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct entity_source *src = BIO_get_data(bio);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_EOF:
		return src == NULL || entity_at_end(src);
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

static int
entity_bio_create(BIO *bio)
{
	BIO_set_data(bio, NULL);
	BIO_set_init(bio, 1);
	return 1;
}

static int
entity_bio_destroy(BIO *bio)
{
	entity_source_free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

static BIO_METHOD *entity_method;
static pthread_once_t entity_method_once = PTHREAD_ONCE_INIT;

static void
entity_method_init(void)
{
	BIO_METHOD *meth;
	int type = BIO_get_new_index();

	if (type == -1 ||
	    (meth = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "danemail MIME entity")) == NULL)
		return;
	if (!BIO_meth_set_read_ex(meth, entity_bio_read) ||
	    !BIO_meth_set_ctrl(meth, entity_bio_ctrl) ||
	    !BIO_meth_set_create(meth, entity_bio_create) ||
	    !BIO_meth_set_destroy(meth, entity_bio_destroy)) {
		BIO_meth_free(meth);
		return;
	}
	entity_method = meth;
}

BIO *
message_entity_bio(struct message *m, bool protected_subject, struct why *why)
{
	struct entity_source *src;
	bool subject_done = !protected_subject;
	size_t i;
	BIO *bio;

	if (pthread_once(&entity_method_once, entity_method_init) != 0 || entity_method == NULL) {
		why_set(why, "cannot create the entity BIO method");
		return NULL;
	}
	src = xcalloc(1, sizeof(*src));
	src->fd = -1;
	for (i = 0; i < m->n_headers; i++) {
		const struct message_header *h = &m->headers[i];

		if (!header_name_ok(h->name))
			continue;
		if (mime_is_content_header(h->name)) {
			header_append(&src->head, h);
		} else if (!subject_done && strcasecmp(h->name, "Subject") == 0) {
			header_append(&src->head, h); /* the first Subject only */
			subject_done = true;
		}
	}
	buf_puts(&src->head, "\r\n");
	src->body_size = m->body_size;
	if (m->spool_fd >= 0) {
		char tmp[128];

		if ((src->fd = fcntl(m->spool_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			int err = errno;

			why_set(why, "cannot duplicate the spool file descriptor: %s",
			        errno_str(err, tmp, sizeof(tmp)));
			entity_source_free(src);
			return NULL;
		}
		src->chunk = xmalloc(ENTITY_CHUNK);
	} else {
		src->mem = xmemdup(m->body.data != NULL ? m->body.data : (const uint8_t *)"",
		                   m->body.len);
	}
	if ((bio = BIO_new(entity_method)) == NULL) {
		why_set(why, "cannot create the entity BIO");
		entity_source_free(src);
		return NULL;
	}
	BIO_set_data(bio, src);
	return bio;
}
