/*
 * miltclient.c - the MTA side of the Sendmail milter protocol, version 6,
 * to test and benchmark a milter without an MTA.
 *
 * It connects to a milter (inet:PORT@HOST, inet:HOST:PORT, inet6:PORT@HOST,
 * unix:/path), negotiates, and plays one SMTP session the way Postfix's
 * milter8 client does: macros, CONNECT, HELO, MAIL, RCPT..., DATA, one HEADER
 * per header, EOH, BODY chunks (<= MILTER_CHUNK_SIZE), EOB.  It honours what
 * the milter negotiated (steps it declined are not sent, steps it will not
 * answer are not waited for, SKIP, the raw header value, symbol lists),
 * collects every reply, applies the header edits in order (CHGHEADER and
 * INSHEADER with Postfix's index semantics), concatenates REPLBODY chunks,
 * and writes the modified message (-o) so a test can look inside it.  It
 * prints the verdict (accept, reject 550 5.7.1 ..., tempfail, ...) and exits
 * with a status derived from it.  With -n and -c it is a load generator.
 *
 * Wire format (libmilter's mfdef.h): every packet is a 32-bit length in
 * network order (counting the command byte), a command byte, then data.
 * Strings are NUL-terminated.  The constants come from libmilter's headers;
 * no libmilter code is used.
 *
 * Trust: nothing the milter sends is trusted.  Every packet is length-checked
 * before it is parsed, replies of any size up to MC_MAX_PACKET are read into
 * growable buffers (no fixed arrays), and every byte from the milter is
 * escaped before it reaches stderr or the result file.  A protocol violation
 * ends the run with exit status 70, as would a timeout (-t) or a dead peer.
 * Where Postfix would refuse a reply (a malformed reply code, body
 * replacement interleaved with other edits, an edit outside end of message)
 * miltclient refuses it too, so a milter that passes here passes Postfix.
 *
 * Exit status: 0 accept/continue (also discard: the SMTP client sees 250),
 * 69 reject, 75 tempfail (also shutdown, connfail), 70 protocol error or
 * milter unreachable, 64 usage, 66 unreadable input, 73 unwritable output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

#define MC_MAX_PACKET (1024u * 1024u * 1024u) /* refuse larger replies: a broken length */
#define MC_STAGES     7                       /* SMFIM_CONNECT .. SMFIM_EOH */

enum mc_exit {
	MC_EXIT_OK = 0,
	MC_EXIT_USAGE = 64,
	MC_EXIT_NOINPUT = 66,
	MC_EXIT_REJECT = 69,
	MC_EXIT_PROTOCOL = 70,
	MC_EXIT_CANTCREAT = 73,
	MC_EXIT_TEMPFAIL = 75,
};

/* The outcome of one message (or of the whole connection). */
enum mc_verdict {
	MC_VERDICT_CONTINUE, /* the milter let it through without a decision */
	MC_VERDICT_ACCEPT,
	MC_VERDICT_DISCARD,
	MC_VERDICT_REJECT,
	MC_VERDICT_TEMPFAIL,
	MC_VERDICT_SHUTDOWN, /* SMFIR_SHUTDOWN: Postfix answers 421 and disconnects */
	MC_VERDICT_CONNFAIL, /* SMFIR_CONN_FAIL */
	MC_VERDICT_ERROR,    /* protocol error, timeout, unreachable */
	MC_VERDICT_COUNT
};

static const char *
verdict_name(enum mc_verdict v)
{
	static const char *const names[MC_VERDICT_COUNT] = {
	        "continue", "accept",   "discard",  "reject",
	        "tempfail", "shutdown", "connfail", "error",
	};
	return (unsigned)v < MC_VERDICT_COUNT ? names[v] : "?";
}

static int
verdict_exit(enum mc_verdict v)
{
	switch (v) {
	case MC_VERDICT_CONTINUE:
	case MC_VERDICT_ACCEPT:
	case MC_VERDICT_DISCARD:
		return MC_EXIT_OK;
	case MC_VERDICT_REJECT:
		return MC_EXIT_REJECT;
	case MC_VERDICT_TEMPFAIL:
	case MC_VERDICT_SHUTDOWN:
	case MC_VERDICT_CONNFAIL:
		return MC_EXIT_TEMPFAIL;
	default:
		return MC_EXIT_PROTOCOL;
	}
}

/* Macro stages, indexed like libmilter's SMFIM_* (the symbol list numbering). */
static const struct {
	const char *name;
	const char *alias;
	int cmd;             /* command the macros travel with */
	const char *postfix; /* Postfix 3.7's default milter_*_macros */
} stages[MC_STAGES] = {
        [SMFIM_CONNECT] = {"connect", "conn", SMFIC_CONNECT, "j {daemon_name} {daemon_addr} v _"},
        [SMFIM_HELO] = {"helo", "ehlo", SMFIC_HELO,
                        "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"},
        [SMFIM_ENVFROM] = {"mail", "envfrom", SMFIC_MAIL,
                           "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
                           "{mail_mailer}"},
        [SMFIM_ENVRCPT] = {"rcpt", "envrcpt", SMFIC_RCPT,
                           "i {rcpt_addr} {rcpt_host} {rcpt_mailer}"},
        [SMFIM_DATA] = {"data", "data", SMFIC_DATA, "i"},
        [SMFIM_EOM] = {"eom", "eob", SMFIC_BODYEOB, "i"},
        [SMFIM_EOH] = {"eoh", "eoh", SMFIC_EOH, "i"},
};

/* One -D definition.  value NULL: never send this macro. */
struct mc_macro {
	char *name;
	char *value;
};

/* Command-line settings; read-only once the connections start. */
static struct mc_opts {
	const char *socket;
	const char *from;
	const char **rcpts;
	size_t nrcpts;
	struct mc_macro *macros;
	size_t nmacros;
	char *stage_macros[MC_STAGES]; /* names sent at each stage, space-separated */
	const char *outfile;
	const char *resultfile;
	const char *helo;
	const char *client_addr;
	const char *client_name;
	unsigned client_port;
	unsigned count;
	unsigned conc;
	int timeout_ms;
	size_t chunk;
	bool quickack;
	bool no_nodelay;
	bool abort_each;
	bool crlf;
	bool verbose;
	bool quiet;
} opt;

/* ---------------------------------------------------------------- message */

struct mc_header {
	char *name;
	char *value; /* everything after the colon, folded lines joined with "\n", no final newline
	              */
};

struct mc_headers {
	struct mc_header *v;
	size_t n, cap;
};

/* The input message, parsed once and shared read-only by every connection. */
struct mc_message {
	struct mc_headers headers;
	struct buf body; /* wire form: every line ends in CRLF */
	size_t size;     /* input size in bytes */
};

static void
headers_insert(struct mc_headers *h, size_t at, const char *name, const char *value)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 16;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	if (at > h->n)
		at = h->n;
	memmove(h->v + at + 1, h->v + at, (h->n - at) * sizeof(*h->v));
	h->v[at].name = xstrdup(name);
	h->v[at].value = xstrdup(value);
	h->n++;
}

static void
headers_remove(struct mc_headers *h, size_t at)
{
	free(h->v[at].name);
	free(h->v[at].value);
	memmove(h->v + at, h->v + at + 1, (h->n - at - 1) * sizeof(*h->v));
	h->n--;
}

static void
headers_copy(struct mc_headers *dst, const struct mc_headers *src)
{
	for (size_t i = 0; i < src->n; i++)
		headers_insert(dst, dst->n, src->v[i].name, src->v[i].value);
}

static void
headers_release(struct mc_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* Length of a header field name at p (RFC 5322 ftext: printable ASCII but ':'), 0 if none. */
static size_t
header_name_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	for (size_t j = i; j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == ':'); j++)
		if (p[j] == ':')
			return i;
	return 0;
}

/*
 * Split an RFC 5322 message into headers and a CRLF body.  Lines may end in
 * LF or CRLF.  As in Postfix, the first line that is neither a header nor a
 * continuation ends the headers (an empty line is consumed, any other line
 * starts the body), and a last line without a newline still gets CRLF.
 */
static void
message_parse(const char *p, size_t n, struct mc_message *m)
{
	size_t off = 0;
	bool in_headers = true;
	struct buf value = BUF_INIT;
	char *name = NULL;

	memset(m, 0, sizeof(*m));
	m->size = n;
	while (off < n) {
		const char *line = p + off;
		const char *nl = memchr(line, '\n', n - off);
		size_t len = nl ? (size_t)(nl - line) : n - off;

		off += len + (nl ? 1 : 0);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (in_headers && len > 0 && (line[0] == ' ' || line[0] == '\t') && name != NULL) {
			buf_putc(&value, '\n');
			buf_append(&value, line, len);
			continue;
		}
		if (in_headers && name != NULL) {
			headers_insert(&m->headers, m->headers.n, name, buf_str(&value));
			free(name);
			name = NULL;
		}
		if (in_headers) {
			size_t nlen = header_name_len(line, len);

			if (nlen > 0) {
				const char *colon = memchr(line, ':', len);

				name = xstrndup(line, nlen);
				buf_reset(&value);
				buf_append(&value, colon + 1, len - (size_t)(colon + 1 - line));
				continue;
			}
			in_headers = false;
			if (len == 0)
				continue; /* the separator line */
		}
		buf_append(&m->body, line, len);
		buf_append(&m->body, "\r\n", 2);
	}
	if (name != NULL) {
		headers_insert(&m->headers, m->headers.n, name, buf_str(&value));
		free(name);
	}
	buf_release(&value);
}

static void
message_release(struct mc_message *m)
{
	headers_release(&m->headers);
	buf_release(&m->body);
}

/* ----------------------------------------------------------------- result */

enum mc_edit_type {
	MC_EDIT_ADDHEADER,
	MC_EDIT_INSHEADER,
	MC_EDIT_CHGHEADER,
	MC_EDIT_REPLBODY,
	MC_EDIT_ADDRCPT,
	MC_EDIT_DELRCPT,
	MC_EDIT_CHGFROM,
	MC_EDIT_QUARANTINE,
};

/* One modification request, in the order the milter sent it. */
struct mc_edit {
	enum mc_edit_type type;
	uint32_t index;
	char *name;  /* header name, address, or quarantine reason */
	char *value; /* header value (NULL: delete), or ESMTP arguments */
};

/* What happened to one message. */
struct mc_result {
	enum mc_verdict verdict;
	const char *stage; /* the step that decided it */
	struct buf reply;  /* SMFIR_REPLYCODE text, raw */
	struct buf why;    /* error reason (already escaped) */
	struct mc_edit *edits;
	size_t nedits, capedits;
	struct buf body; /* concatenated REPLBODY data (CRLF) */
	bool body_replaced;
	bool body_locked;    /* REPLBODY ended by another reply: Postfix refuses more */
	struct buf rcpt_log; /* per-recipient outcomes, one escaped line each */
	bool *refused;       /* per -r recipient: refused at RCPT */
};

static void
result_reset(struct mc_result *r)
{
	for (size_t i = 0; i < r->nedits; i++) {
		free(r->edits[i].name);
		free(r->edits[i].value);
	}
	r->nedits = 0;
	r->verdict = MC_VERDICT_CONTINUE;
	r->stage = "";
	buf_reset(&r->reply);
	buf_reset(&r->why);
	buf_reset(&r->body);
	buf_reset(&r->rcpt_log);
	r->body_replaced = false;
	r->body_locked = false;
	free(r->refused);
	r->refused = xcalloc(opt.nrcpts, sizeof(*r->refused));
}

static void
result_release(struct mc_result *r)
{
	result_reset(r);
	free(r->refused);
	free(r->edits);
	buf_release(&r->reply);
	buf_release(&r->why);
	buf_release(&r->body);
	buf_release(&r->rcpt_log);
}

static void
result_add_edit(struct mc_result *r, enum mc_edit_type type, uint32_t index, const char *name,
                const char *value)
{
	if (r->nedits == r->capedits) {
		r->capedits = r->capedits ? 2 * r->capedits : 16;
		r->edits = xreallocarray(r->edits, r->capedits, sizeof(*r->edits));
	}
	r->edits[r->nedits++] = (struct mc_edit){
	        .type = type,
	        .index = index,
	        .name = name ? xstrdup(name) : NULL,
	        .value = value ? xstrdup(value) : NULL,
	};
}

static void result_fail(struct mc_result *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Record a protocol error; the first reason wins. */
static void
result_fail(struct mc_result *r, const char *fmt, ...)
{
	va_list ap;

	r->verdict = MC_VERDICT_ERROR;
	if (r->why.len > 0)
		return;
	va_start(ap, fmt);
	buf_vprintf(&r->why, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- connection */

struct mc_conn {
	int fd;
	bool tcp;
	struct buf out; /* commands not yet written */
	struct buf in;  /* bytes read, from in_off on not yet parsed */
	size_t in_off;
	unsigned long reads, writes;
};

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wait until fd is ready for `events`; false on timeout or error (reason in why). */
static bool
conn_wait(struct mc_conn *c, short events, struct buf *why)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	int rc;

	do
		rc = poll(&pfd, 1, opt.timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		buf_printf(why, "timeout after %d ms waiting to %s", opt.timeout_ms,
		           events == POLLIN ? "read" : "write");
		return false;
	}
	if (rc < 0) {
		buf_printf(why, "poll: %s", strerror(errno));
		return false;
	}
	return true;
}

static void
set_quickack(const struct mc_conn *c)
{
	int one = 1;

	if (c->tcp && opt.quickack)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Connect to SOCKET (see usage) within the timeout.  Returns false with a reason in why. */
static bool
conn_open(struct mc_conn *c, const char *spec, struct buf *why)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *rest;
	int family = AF_UNSPEC;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	memset(&ss, 0, sizeof(ss));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0 || spec[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		rest = spec[0] == '/' ? spec : strchr(spec, ':') + 1;
		if (strlen(rest) >= sizeof(sun->sun_path)) {
			buf_printf(why, "unix socket path too long: %s", rest);
			return false;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, rest, strlen(rest) + 1);
		sslen = sizeof(*sun);
	} else if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		char *host, *port, *at, *copy;
		struct addrinfo hints, *ai = NULL;
		int rc;

		family = spec[4] == '6' ? AF_INET6 : AF_INET;
		copy = xstrdup(strchr(spec, ':') + 1);
		if ((at = strchr(copy, '@')) != NULL) { /* libmilter/sendmail: PORT@HOST */
			*at = '\0';
			port = copy;
			host = at + 1;
		} else if ((at = strrchr(copy, ':')) != NULL) { /* Postfix: HOST:PORT */
			*at = '\0';
			host = copy;
			port = at + 1;
			if (host[0] == '[' && host[strlen(host) - 1] == ']') {
				host[strlen(host) - 1] = '\0';
				host++;
			}
		} else {
			port = copy;
			host = family == AF_INET6 ? "::1" : "127.0.0.1";
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family;
		hints.ai_socktype = SOCK_STREAM;
		rc = getaddrinfo(host, port, &hints, &ai);
		if (rc != 0 || ai == NULL || ai->ai_addrlen > sizeof(ss)) {
			buf_printf(why, "cannot resolve %s: %s", spec, rc ? gai_strerror(rc) : "?");
			free(copy);
			if (ai)
				freeaddrinfo(ai);
			return false;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
		free(copy);
		c->tcp = true;
	} else {
		buf_printf(why,
		           "unknown socket form %s (want inet:PORT@HOST, inet:HOST:PORT, "
		           "unix:/path)",
		           spec);
		return false;
	}

	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		buf_printf(why, "socket: %s", strerror(errno));
		return false;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) != 0) {
		int err = errno;
		socklen_t errlen = sizeof(err);

		if (err != EINPROGRESS && err != EAGAIN) {
			buf_printf(why, "connect to %s: %s", spec, strerror(err));
			return false;
		}
		if (!conn_wait(c, POLLOUT, why))
			return false;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) {
			buf_printf(why, "connect to %s: %s", spec, strerror(err));
			return false;
		}
	}
	if (c->tcp) {
		int on = opt.no_nodelay ? 0 : 1;

		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		set_quickack(c);
	}
	return true;
}

static void
conn_close(struct mc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_release(&c->out);
	buf_release(&c->in);
}

static void
put_u32(struct buf *b, uint32_t v)
{
	uint32_t n = htonl(v);

	buf_append(b, &n, 4);
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t n;

	memcpy(&n, p, 4);
	return ntohl(n);
}

/* Start a packet in the output buffer; returns where its length goes. */
static size_t
packet_begin(struct mc_conn *c, int cmd)
{
	size_t at = c->out.len;

	put_u32(&c->out, 0);
	buf_putc(&c->out, cmd);
	return at;
}

static void
packet_end(struct mc_conn *c, size_t at)
{
	uint32_t n = htonl((uint32_t)(c->out.len - at - 4));

	memcpy(c->out.data + at, &n, 4);
}

/* Append a whole packet with raw data. */
static void
packet_put(struct mc_conn *c, int cmd, const void *data, size_t len)
{
	size_t at = packet_begin(c, cmd);

	buf_append(&c->out, data, len);
	packet_end(c, at);
}

/* Write every pending command: one write for everything queued since the last reply. */
static bool
conn_flush(struct mc_conn *c, struct buf *why)
{
	size_t off = 0;

	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			c->writes++;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!conn_wait(c, POLLOUT, why))
				return false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			buf_printf(why, "write: %s", n < 0 ? strerror(errno) : "nothing written");
			return false;
		}
	}
	buf_reset(&c->out);
	return true;
}

/* Make at least `need` unparsed bytes available. */
static bool
conn_fill(struct mc_conn *c, size_t need, struct buf *why)
{
	while (c->in.len - c->in_off < need) {
		size_t want;
		ssize_t n;

		if (c->in_off > 0) { /* keep the unparsed tail at the front */
			memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
			c->in.len -= c->in_off;
			c->in_off = 0;
		}
		/* Grow with the data actually received, not with what a length field claims. */
		want = need - c->in.len;
		want = want < 65536 ? 65536 : want > (1u << 20) ? (1u << 20) : want;
		buf_reserve(&c->in, want);
		n = recv(c->fd, c->in.data + c->in.len, want, 0);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = '\0';
			c->reads++;
			/* Linux leaves quick-ACK mode on its own: renew it after every read. */
			set_quickack(c);
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!conn_wait(c, POLLIN, why))
				return false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			buf_printf(why, "%s",
			           n == 0 ? "milter closed the connection" : strerror(errno));
			return false;
		}
	}
	return true;
}

/* Read one packet; data stays valid until the next read. */
static bool
conn_read_packet(struct mc_conn *c, int *cmd, const uint8_t **data, size_t *len, struct buf *why)
{
	uint32_t plen;

	if (!conn_fill(c, 4, why))
		return false;
	plen = get_u32(c->in.data + c->in_off);
	if (plen < 1 || plen > MC_MAX_PACKET) {
		buf_printf(why, "bad reply packet length %lu", (unsigned long)plen);
		return false;
	}
	if (!conn_fill(c, 4 + (size_t)plen, why))
		return false;
	*cmd = c->in.data[c->in_off + 4];
	*data = c->in.data + c->in_off + 5;
	*len = plen - 1;
	c->in_off += 4 + (size_t)plen;
	return true;
}

/* ---------------------------------------------------------------- session */

/* One milter connection: what was negotiated and where the session stands. */
struct mc_session {
	struct mc_conn conn;
	unsigned id; /* connection number, from 1 */
	uint32_t version, actions, pflags;
	char *symlist[MC_STAGES];     /* macro names the milter asked for, per stage */
	int skip_cmd;                 /* after SMFIR_SKIP: skip further events of this type */
	enum mc_verdict conn_verdict; /* CONTINUE, or a decision for the whole connection */
	struct buf conn_reply;
	const char *conn_stage;
	bool need_abort; /* a transaction ended early: SMFIC_ABORT before the next one */
	unsigned msg_no;
	char qid[32];
	const char *cur_from;
	const char *cur_rcpt;
	struct buf scratch;
	/* benchmark counters */
	unsigned messages;
	long long ns;
	unsigned verdicts[MC_VERDICT_COUNT];
};

static void session_log(struct mc_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
session_log(struct mc_session *s, const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "miltclient[%u]: ", s->id);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Compare macro names, ignoring one pair of braces: "{i}" and "i" are the same. */
static bool
macro_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 2 && a[0] == '{' && a[la - 1] == '}')
		a++, la -= 2;
	if (lb > 2 && b[0] == '{' && b[lb - 1] == '}')
		b++, lb -= 2;
	return la == lb && strncmp(a, b, la) == 0;
}

static const char *
strip_brackets(struct buf *tmp, const char *addr)
{
	size_t n = strlen(addr);

	buf_reset(tmp);
	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>')
		buf_append(tmp, addr + 1, n - 2);
	else
		buf_puts(tmp, addr);
	return buf_str(tmp);
}

/* The value of a macro now, or NULL if it is undefined (then it is not sent). */
static const char *
macro_value(struct mc_session *s, const char *name, struct buf *tmp)
{
	for (size_t i = opt.nmacros; i-- > 0;)
		if (macro_same(opt.macros[i].name, name))
			return opt.macros[i].value;
	buf_reset(tmp);
	if (macro_same(name, "j"))
		return "mail.test";
	if (macro_same(name, "{daemon_name}"))
		return "miltclient";
	if (macro_same(name, "{daemon_addr}"))
		return "127.0.0.1";
	if (macro_same(name, "v"))
		return "miltclient " DANEMAIL_VERSION;
	if (macro_same(name, "_")) {
		buf_printf(tmp, "%s [%s]", opt.client_name, opt.client_addr);
		return buf_str(tmp);
	}
	if (macro_same(name, "{client_addr}"))
		return opt.client_addr;
	if (macro_same(name, "{client_name}"))
		return opt.client_name;
	if (macro_same(name, "{client_port}")) {
		buf_printf(tmp, "%u", opt.client_port);
		return buf_str(tmp);
	}
	if (macro_same(name, "i"))
		return s->qid[0] ? s->qid : NULL;
	if (macro_same(name, "{mail_addr}") && s->cur_from)
		return strip_brackets(tmp, s->cur_from);
	if (macro_same(name, "{rcpt_addr}") && s->cur_rcpt)
		return strip_brackets(tmp, s->cur_rcpt);
	return NULL;
}

/* Queue the macros of one stage (the milter's symbol list if it sent one). */
static void
session_put_macros(struct mc_session *s, int stage)
{
	const char *list = s->symlist[stage] ? s->symlist[stage] : opt.stage_macros[stage];
	struct buf tmp = BUF_INIT, names = BUF_INIT;
	size_t at = 0, count = 0;
	const char *p = list;

	while (*p) {
		size_t n;
		const char *v;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		buf_reset(&names);
		buf_append(&names, p, n);
		p += n;
		if ((v = macro_value(s, buf_str(&names), &tmp)) == NULL)
			continue;
		if (count++ == 0) {
			at = packet_begin(&s->conn, SMFIC_MACRO);
			buf_putc(&s->conn.out, stages[stage].cmd);
		}
		buf_append(&s->conn.out, names.data, names.len + 1);
		buf_append(&s->conn.out, v, strlen(v) + 1);
		if (opt.verbose)
			session_log(s, "macro %s %s=%s", stages[stage].name, buf_str(&names),
			            escape_str(&s->scratch, v));
	}
	if (count > 0)
		packet_end(&s->conn, at);
	buf_release(&tmp);
	buf_release(&names);
}

static const char *
reply_name(int cmd)
{
	switch (cmd) {
	case SMFIR_ADDRCPT:
		return "addrcpt";
	case SMFIR_DELRCPT:
		return "delrcpt";
	case SMFIR_ADDRCPT_PAR:
		return "addrcpt_par";
	case SMFIR_SHUTDOWN:
		return "shutdown";
	case SMFIR_ACCEPT:
		return "accept";
	case SMFIR_REPLBODY:
		return "replbody";
	case SMFIR_CONTINUE:
		return "continue";
	case SMFIR_DISCARD:
		return "discard";
	case SMFIR_CHGFROM:
		return "chgfrom";
	case SMFIR_CONN_FAIL:
		return "connfail";
	case SMFIR_ADDHEADER:
		return "addheader";
	case SMFIR_INSHEADER:
		return "insheader";
	case SMFIR_SETSYMLIST:
		return "setsymlist";
	case SMFIR_CHGHEADER:
		return "chgheader";
	case SMFIR_PROGRESS:
		return "progress";
	case SMFIR_QUARANTINE:
		return "quarantine";
	case SMFIR_REJECT:
		return "reject";
	case SMFIR_SKIP:
		return "skip";
	case SMFIR_TEMPFAIL:
		return "tempfail";
	case SMFIR_REPLYCODE:
		return "replycode";
	case SMFIC_OPTNEG:
		return "optneg";
	default:
		return "unknown";
	}
}

static const char *
command_name(int cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT:
		return "connect";
	case SMFIC_HELO:
		return "helo";
	case SMFIC_MAIL:
		return "mail";
	case SMFIC_RCPT:
		return "rcpt";
	case SMFIC_DATA:
		return "data";
	case SMFIC_HEADER:
		return "header";
	case SMFIC_EOH:
		return "eoh";
	case SMFIC_BODY:
		return "body";
	case SMFIC_BODYEOB:
		return "eob";
	default:
		return "?";
	}
}

/* Split reply data into NUL-terminated strings; false if they are not all terminated. */
static bool
split_strings(const uint8_t *data, size_t len, const char **out, size_t want, size_t *got)
{
	size_t off = 0, k = 0;

	while (off < len && k < want) {
		const uint8_t *nul = memchr(data + off, 0, len - off);

		if (nul == NULL)
			return false;
		out[k++] = (const char *)data + off;
		off = (size_t)(nul - data) + 1;
	}
	*got = k;
	return off == len;
}

/* Check an SMFIR_REPLYCODE text as Postfix does: "4xx 4.y.z ..." or "5xx 5.y.z ...". */
static bool
replycode_ok(const char *t)
{
	return (t[0] == '4' || t[0] == '5') && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' &&
	       t[2] <= '9' && (t[3] == ' ' || t[3] == '-') && t[4] == t[0];
}

/* Handle one end-of-message edit request.  False (with the reason recorded) if invalid. */
static bool
session_edit(struct mc_session *s, struct mc_result *r, int cmd, const uint8_t *data, size_t len)
{
	static const struct {
		int cmd;
		uint32_t flag;
	} needs[] = {
	        {SMFIR_ADDHEADER, SMFIF_ADDHDRS}, {SMFIR_INSHEADER, SMFIF_ADDHDRS},
	        {SMFIR_CHGHEADER, SMFIF_CHGHDRS}, {SMFIR_REPLBODY, SMFIF_CHGBODY},
	        {SMFIR_ADDRCPT, SMFIF_ADDRCPT},   {SMFIR_ADDRCPT_PAR, SMFIF_ADDRCPT_PAR},
	        {SMFIR_DELRCPT, SMFIF_DELRCPT},   {SMFIR_CHGFROM, SMFIF_CHGFROM},
	};
	const char *str[3];
	size_t n = 0;
	uint32_t index = 0;

	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (needs[i].cmd == cmd && (s->actions & needs[i].flag) == 0) {
			result_fail(r, "milter sent %s without negotiating action 0x%lx",
			            reply_name(cmd), (unsigned long)needs[i].flag);
			return false;
		}
	if (cmd != SMFIR_REPLBODY && r->body_replaced)
		r->body_locked = true;
	switch (cmd) {
	case SMFIR_REPLBODY:
		if (r->body_locked) {
			/* Postfix's cleanup cannot resume a body replacement either. */
			result_fail(r, "replbody after another edit ended the body replacement "
			               "(Postfix refuses this: 451 4.3.5)");
			return false;
		}
		if (!r->body_replaced)
			result_add_edit(r, MC_EDIT_REPLBODY, 0, NULL, NULL);
		r->body_replaced = true;
		buf_append(&r->body, data, len);
		return true;
	case SMFIR_ADDHEADER:
		if (!split_strings(data, len, str, 2, &n) || n != 2 || str[0][0] == '\0')
			break;
		result_add_edit(r, MC_EDIT_ADDHEADER, 0, str[0], str[1]);
		return true;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (len < 4 || !split_strings(data + 4, len - 4, str, 2, &n) || n != 2 ||
		    str[0][0] == '\0')
			break;
		index = get_u32(data);
		if (cmd == SMFIR_CHGHEADER && index > INT32_MAX) {
			result_fail(r, "bad chgheader index %lu", (unsigned long)index);
			return false;
		}
		result_add_edit(r, cmd == SMFIR_INSHEADER ? MC_EDIT_INSHEADER : MC_EDIT_CHGHEADER,
		                index, str[0], str[1][0] || cmd == SMFIR_INSHEADER ? str[1] : NULL);
		return true;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
		if (!split_strings(data, len, str, 1, &n) || n != 1)
			break;
		result_add_edit(r, cmd == SMFIR_ADDRCPT ? MC_EDIT_ADDRCPT : MC_EDIT_DELRCPT, 0,
		                str[0], NULL);
		return true;
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if (!split_strings(data, len, str, 2, &n) || n < 1)
			break;
		result_add_edit(r, cmd == SMFIR_CHGFROM ? MC_EDIT_CHGFROM : MC_EDIT_ADDRCPT, 0,
		                str[0], n == 2 ? str[1] : NULL);
		return true;
	default:
		result_fail(r, "unexpected reply '%s' (0x%02x) at end of message", reply_name(cmd),
		            (unsigned)cmd & 0xff);
		return false;
	}
	result_fail(r, "malformed %s reply (%zu bytes)", reply_name(cmd), len);
	return false;
}

/*
 * Send one event: the macros of its stage (even when the milter declined the
 * event: Postfix does so), then the command unless the milter negotiated
 * `no_flag`, then wait for the decision unless it negotiated `nr_flag`.
 * Returns the decision (SMFIR_CONTINUE ...), 0 when none was due, -1 on error.
 * Only at end of message (SMFIC_BODYEOB) may edits come before the decision.
 */
static int
session_event(struct mc_session *s, struct mc_result *r, int stage, int cmd, uint32_t no_flag,
              uint32_t nr_flag, const void *data, size_t len)
{
	struct buf why = BUF_INIT;

	if (s->skip_cmd != 0 && s->skip_cmd != cmd)
		s->skip_cmd = 0;
	if (s->skip_cmd == cmd)
		return 0;
	if (stage >= 0)
		session_put_macros(s, stage);
	if (no_flag != 0 && (s->pflags & no_flag) != 0)
		return 0; /* macros stay queued; they go with the next command */
	packet_put(&s->conn, cmd, data, len);
	session_log(s, "send %s (%zu bytes)%s", command_name(cmd), len,
	            nr_flag != 0 && (s->pflags & nr_flag) != 0 ? ", no reply" : "");
	if (nr_flag != 0 && (s->pflags & nr_flag) != 0)
		return 0;
	if (!conn_flush(&s->conn, &why))
		goto fail;
	for (;;) {
		int rcmd;
		const uint8_t *d;
		size_t n;
		const char *str[1];
		size_t got;

		if (!conn_read_packet(&s->conn, &rcmd, &d, &n, &why))
			goto fail;
		session_log(s, "reply %s (%zu bytes)", reply_name(rcmd), n);
		switch (rcmd) {
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_QUARANTINE:
			if (!split_strings(d, n, str, 1, &got) || got != 1) {
				result_fail(r, "malformed quarantine reply");
				goto out;
			}
			if ((s->actions & SMFIF_QUARANTINE) == 0) {
				result_fail(r, "milter sent quarantine without negotiating it");
				goto out;
			}
			result_add_edit(r, MC_EDIT_QUARANTINE, 0, str[0], NULL);
			continue;
		case SMFIR_REPLYCODE:
			buf_reset(&r->reply);
			if (n == 0 || d[n - 1] != '\0' || memchr(d, 0, n) != d + n - 1 ||
			    !replycode_ok((const char *)d)) {
				buf_reset(&why);
				escape_append(&why, d, n > 0 && d[n - 1] == '\0' ? n - 1 : n, 200);
				result_fail(r,
				            "malformed reply code \"%s\" (Postfix would answer 451 "
				            "4.3.5)",
				            buf_str(&why));
				goto out;
			}
			buf_append(&r->reply, d, n - 1);
			buf_release(&why);
			return rcmd;
		case SMFIR_CONTINUE:
		case SMFIR_ACCEPT:
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_SKIP:
		case SMFIR_SHUTDOWN:
		case SMFIR_CONN_FAIL:
			if (n != 0) {
				result_fail(r, "reply %s followed by %zu data bytes",
				            reply_name(rcmd), n);
				goto out;
			}
			if (rcmd == SMFIR_SKIP) {
				s->skip_cmd = cmd;
				rcmd = SMFIR_CONTINUE;
			}
			buf_release(&why);
			return rcmd;
		default:
			if (cmd != SMFIC_BODYEOB) {
				result_fail(r, "unexpected reply %s (0x%02x) to command '%c'",
				            reply_name(rcmd), (unsigned)rcmd & 0xff, cmd);
				goto out;
			}
			if (!session_edit(s, r, rcmd, d, n))
				goto out;
			continue;
		}
	}
fail:
	result_fail(r, "%s", buf_str(&why));
out:
	buf_release(&why);
	return -1;
}

/* Record a decision in the result.  Returns true if the transaction goes on. */
static bool
result_decide(struct mc_result *r, int rcmd, const char *stage)
{
	switch (rcmd) {
	case 0:
	case SMFIR_CONTINUE:
		return true;
	case SMFIR_ACCEPT:
		r->verdict = MC_VERDICT_ACCEPT;
		break;
	case SMFIR_DISCARD:
		r->verdict = MC_VERDICT_DISCARD;
		break;
	case SMFIR_REJECT:
		r->verdict = MC_VERDICT_REJECT;
		break;
	case SMFIR_TEMPFAIL:
		r->verdict = MC_VERDICT_TEMPFAIL;
		break;
	case SMFIR_REPLYCODE:
		r->verdict = r->reply.data[0] == '5' ? MC_VERDICT_REJECT : MC_VERDICT_TEMPFAIL;
		break;
	case SMFIR_SHUTDOWN:
		r->verdict = MC_VERDICT_SHUTDOWN;
		break;
	case SMFIR_CONN_FAIL:
		r->verdict = MC_VERDICT_CONNFAIL;
		break;
	default:
		r->verdict = MC_VERDICT_ERROR;
		break;
	}
	r->stage = stage;
	return false;
}

/* Option negotiation: offer everything, check and keep what the milter wants. */
static bool
session_negotiate(struct mc_session *s, struct mc_result *r)
{
	const uint32_t actions = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT |
	                         SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM |
	                         SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST;
	/* Every step may be declined (NO*) or left unanswered (NR_*); we understand SKIP
	 * and the raw header value.  RCPT_REJ is offered: we never reject a recipient. */
	const uint32_t protocol = SMFI_CURR_PROT;
	struct buf why = BUF_INIT;
	uint8_t offer[12];
	uint32_t v;
	const uint8_t *d;
	size_t n, off;
	int cmd;

	v = htonl(SMFI_PROT_VERSION);
	memcpy(offer, &v, 4);
	v = htonl(actions);
	memcpy(offer + 4, &v, 4);
	v = htonl(protocol);
	memcpy(offer + 8, &v, 4);
	packet_put(&s->conn, SMFIC_OPTNEG, offer, sizeof(offer));
	if (!conn_flush(&s->conn, &why) || !conn_read_packet(&s->conn, &cmd, &d, &n, &why)) {
		result_fail(r, "negotiation: %s", buf_str(&why));
		buf_release(&why);
		return false;
	}
	buf_release(&why);
	if (cmd != SMFIC_OPTNEG || n < 12) {
		result_fail(r, "negotiation: unexpected reply %s (%zu bytes)", reply_name(cmd), n);
		return false;
	}
	s->version = get_u32(d);
	s->actions = get_u32(d + 4);
	s->pflags = get_u32(d + 8);
	if (s->version < 2 || s->version > SMFI_PROT_VERSION) {
		result_fail(r, "negotiation: milter protocol version %lu (want 2..%d)",
		            (unsigned long)s->version, SMFI_PROT_VERSION);
		return false;
	}
	if ((s->actions & ~actions) != 0) {
		result_fail(r, "negotiation: milter wants actions 0x%lx, offered 0x%lx",
		            (unsigned long)s->actions, (unsigned long)actions);
		return false;
	}
	if ((s->pflags & ~protocol) != 0) /* Postfix only notes this; so do we */
		session_log(s, "milter asks for protocol flags 0x%lx beyond the offer 0x%lx",
		            (unsigned long)s->pflags, (unsigned long)protocol);
	s->pflags &= protocol;
	/* Symbol lists: (uint32 stage, "names\0") pairs. */
	for (off = 12; off < n;) {
		const uint8_t *nul;
		uint32_t stage;

		if (n - off < 5 || (nul = memchr(d + off + 4, 0, n - off - 4)) == NULL) {
			result_fail(r, "negotiation: malformed symbol list");
			return false;
		}
		stage = get_u32(d + off);
		if (stage < MC_STAGES) {
			free(s->symlist[stage]);
			s->symlist[stage] = xstrdup((const char *)d + off + 4);
			session_log(s, "symbol list %s: %s", stages[stage].name,
			            escape_str(&s->scratch, s->symlist[stage]));
		} else {
			session_log(s, "ignoring symbol list for unknown stage %lu",
			            (unsigned long)stage);
		}
		off = (size_t)(nul - d) + 1;
	}
	session_log(s, "negotiated version %lu actions 0x%lx protocol 0x%lx",
	            (unsigned long)s->version, (unsigned long)s->actions, (unsigned long)s->pflags);
	return true;
}

/* CONNECT and HELO.  A decision here holds for the whole connection. */
static void
session_greet(struct mc_session *s, struct mc_result *r)
{
	struct buf d = BUF_INIT;
	int rcmd;
	const char *a = opt.client_addr;
	uint16_t port = htons((uint16_t)opt.client_port);

	buf_append(&d, opt.client_name, strlen(opt.client_name) + 1);
	if (strcmp(a, "unknown") == 0) {
		buf_putc(&d, SMFIA_UNKNOWN);
	} else {
		buf_putc(&d, a[0] == '/' ? SMFIA_UNIX : strchr(a, ':') ? SMFIA_INET6 : SMFIA_INET);
		if (a[0] == '/')
			port = 0;
		buf_append(&d, &port, 2);
		buf_append(&d, a, strlen(a) + 1);
	}
	rcmd = session_event(s, r, SMFIM_CONNECT, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
	                     d.data, d.len);
	if (rcmd == SMFIR_DISCARD) { /* not allowed here; Postfix warns and goes on */
		session_log(s, "discard at connect ignored, as Postfix does");
		rcmd = SMFIR_CONTINUE;
	}
	if (rcmd >= 0 && result_decide(r, rcmd, "connect")) {
		rcmd = session_event(s, r, SMFIM_HELO, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO,
		                     opt.helo, strlen(opt.helo) + 1);
		if (rcmd == SMFIR_DISCARD) {
			session_log(s, "discard at helo ignored, as Postfix does");
			rcmd = SMFIR_CONTINUE;
		}
		if (rcmd >= 0)
			result_decide(r, rcmd, "helo");
	}
	s->conn_verdict = r->verdict;
	s->conn_stage = r->stage;
	buf_reset(&s->conn_reply);
	buf_append(&s->conn_reply, r->reply.data, r->reply.len);
	buf_release(&d);
}

static void
argv_put(struct buf *d, const char *addr)
{
	size_t n = strlen(addr);

	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
		buf_append(d, addr, n + 1);
	} else {
		buf_putc(d, '<');
		buf_append(d, addr, n);
		buf_append(d, ">", 2);
	}
}

/* One transaction: MAIL .. EOB, recording the decision and the edits in r. */
static void
session_message(struct mc_session *s, const struct mc_message *m, struct mc_result *r)
{
	struct buf d = BUF_INIT;
	size_t accepted_rcpts = 0;
	int rcmd;

	result_reset(r);
	s->msg_no++;
	snprintf(s->qid, sizeof(s->qid), "%05X%02X%05X", (unsigned)getpid() & 0xfffff, s->id & 0xff,
	         s->msg_no & 0xfffff);
	if (s->conn_verdict != MC_VERDICT_CONTINUE) { /* decided at connect or helo */
		r->verdict = s->conn_verdict;
		r->stage = s->conn_stage;
		buf_append(&r->reply, s->conn_reply.data, s->conn_reply.len);
		goto done;
	}
	if (s->need_abort) {
		packet_put(&s->conn, SMFIC_ABORT, NULL, 0);
		s->need_abort = false;
	}
	s->cur_from = opt.from;
	s->cur_rcpt = NULL;
	argv_put(&d, opt.from);
	rcmd = session_event(s, r, SMFIM_ENVFROM, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, d.data,
	                     d.len);
	if (rcmd < 0 || !result_decide(r, rcmd, "mail"))
		goto early;
	for (size_t i = 0; i < opt.nrcpts; i++) {
		s->cur_rcpt = opt.rcpts[i];
		buf_reset(&d);
		argv_put(&d, opt.rcpts[i]);
		rcmd = session_event(s, r, SMFIM_ENVRCPT, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT,
		                     d.data, d.len);
		if (rcmd < 0)
			goto early;
		if (rcmd == SMFIR_REJECT || rcmd == SMFIR_TEMPFAIL ||
		    (rcmd == SMFIR_REPLYCODE && r->reply.len > 0)) {
			/* A refused recipient: the transaction goes on without it. */
			struct mc_result one = {0};

			r->refused[i] = true;
			buf_append(&one.reply, r->reply.data, r->reply.len);
			result_decide(&one, rcmd, "rcpt");
			buf_puts(&r->rcpt_log, "rcpt <");
			strip_brackets(&one.why, opt.rcpts[i]);
			escape_append(&r->rcpt_log, one.why.data, one.why.len, 0);
			buf_printf(&r->rcpt_log, "> %s", verdict_name(one.verdict));
			if (one.reply.len > 0) {
				buf_putc(&r->rcpt_log, ' ');
				escape_append(&r->rcpt_log, one.reply.data, one.reply.len, 0);
			}
			buf_putc(&r->rcpt_log, '\n');
			if (i + 1 == opt.nrcpts && accepted_rcpts == 0) {
				/* no recipient left: that refusal is the verdict */
				r->verdict = one.verdict;
				r->stage = "rcpt";
				buf_reset(&r->reply);
				buf_append(&r->reply, one.reply.data, one.reply.len);
				result_release(&one);
				goto early;
			}
			buf_reset(&r->reply);
			result_release(&one);
			continue;
		}
		if (!result_decide(r, rcmd, "rcpt"))
			goto early;
		accepted_rcpts++;
	}
	s->cur_rcpt = NULL;
	rcmd = session_event(s, r, SMFIM_DATA, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, NULL, 0);
	if (rcmd < 0 || !result_decide(r, rcmd, "data"))
		goto early;
	if ((s->pflags & SMFIP_NOHDRS) == 0) {
		for (size_t i = 0; i < m->headers.n; i++) {
			const struct mc_header *h = &m->headers.v[i];
			const char *v = h->value;

			/* Like Sendmail and Postfix, eat one space (not tab) after the colon. */
			if ((s->pflags & SMFIP_HDR_LEADSPC) == 0 && *v == ' ')
				v++;
			buf_reset(&d);
			buf_append(&d, h->name, strlen(h->name) + 1);
			buf_append(&d, v, strlen(v) + 1);
			rcmd = session_event(s, r, -1, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR,
			                     d.data, d.len);
			if (rcmd < 0 || !result_decide(r, rcmd, "header"))
				goto early;
		}
	}
	rcmd = session_event(s, r, SMFIM_EOH, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, NULL, 0);
	if (rcmd < 0 || !result_decide(r, rcmd, "eoh"))
		goto early;
	if ((s->pflags & SMFIP_NOBODY) == 0) {
		for (size_t off = 0; off < m->body.len;) {
			size_t n = m->body.len - off < opt.chunk ? m->body.len - off : opt.chunk;

			rcmd = session_event(s, r, -1, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY,
			                     m->body.data + off, n);
			off += n;
			if (rcmd < 0 || !result_decide(r, rcmd, "body"))
				goto early;
			if (s->skip_cmd == SMFIC_BODY)
				break; /* SMFIR_SKIP: no more body */
		}
	}
	rcmd = session_event(s, r, SMFIM_EOM, SMFIC_BODYEOB, 0, 0, NULL, 0);
	if (rcmd == 0)
		rcmd = -1; /* cannot happen: EOB always waits */
	if (rcmd >= 0)
		result_decide(r, rcmd, "eom");
	if (r->stage[0] == '\0')
		r->stage = "eom";
	if (opt.abort_each && r->verdict != MC_VERDICT_ERROR)
		packet_put(&s->conn, SMFIC_ABORT, NULL,
		           0); /* as Postfix's smtpd after every mail */
	goto done;
early:
	s->need_abort = true;
done:
	if (r->verdict == MC_VERDICT_ERROR && r->stage[0] == '\0')
		r->stage = "protocol";
	s->verdicts[r->verdict]++;
	buf_release(&d);
}

static void
session_quit(struct mc_session *s)
{
	struct buf why = BUF_INIT;

	if (s->conn.fd >= 0) {
		packet_put(&s->conn, SMFIC_QUIT, NULL, 0);
		(void)conn_flush(&s->conn, &why);
	}
	buf_release(&why);
}

static void
session_release(struct mc_session *s)
{
	conn_close(&s->conn);
	for (int i = 0; i < MC_STAGES; i++)
		free(s->symlist[i]);
	buf_release(&s->conn_reply);
	buf_release(&s->scratch);
}

/* ----------------------------------------------------------------- output */

/* Apply the header edits in the order received (Postfix's index semantics). */
static void
apply_header_edits(struct mc_headers *h, const struct mc_result *r, const char *lead)
{
	struct buf v = BUF_INIT;

	for (size_t i = 0; i < r->nedits; i++) {
		const struct mc_edit *e = &r->edits[i];
		size_t k, seen = 0;
		uint32_t want;

		if (e->type != MC_EDIT_ADDHEADER && e->type != MC_EDIT_INSHEADER &&
		    e->type != MC_EDIT_CHGHEADER)
			continue;
		buf_reset(&v);
		if (e->value != NULL) {
			buf_puts(&v, lead);
			/* Store LF-folded like the parsed input. */
			for (const char *p = e->value; *p; p++)
				if (!(p[0] == '\r' && p[1] == '\n'))
					buf_putc(&v, *p);
		}
		switch (e->type) {
		case MC_EDIT_ADDHEADER:
			headers_insert(h, h->n, e->name, buf_str(&v));
			break;
		case MC_EDIT_INSHEADER: /* index 0: before the first header; too big: append */
			headers_insert(h, e->index, e->name, buf_str(&v));
			break;
		default: /* CHGHEADER: the index-th (1-based; 0 means 1) header of that name */
			want = e->index == 0 ? 1 : e->index;
			for (k = 0; k < h->n; k++)
				if (strcasecmp(h->v[k].name, e->name) == 0 && ++seen == want)
					break;
			if (k < h->n && e->value == NULL) {
				headers_remove(h, k);
			} else if (k < h->n) {
				free(h->v[k].value);
				h->v[k].value = xstrdup(buf_str(&v));
			} else if (e->value != NULL) {
				headers_insert(h, h->n, e->name,
				               buf_str(&v)); /* absent: appended */
			}
			break;
		}
	}
	buf_release(&v);
}

/* Write text with LF line ends (or CRLF with -C), whatever it came with. */
static void
put_text(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n' && opt.crlf)
			fputc('\r', f);
		fputc(p[i], f);
	}
}

/* The message as the MTA would deliver it: edited headers, then the (replaced) body. */
static bool
write_message(const char *path, const struct mc_message *m, const struct mc_result *r,
              const char *lead)
{
	struct mc_headers h = {0};
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL) {
		fprintf(stderr, "miltclient: cannot write %s: %s\n", path, strerror(errno));
		return false;
	}
	headers_copy(&h, &m->headers);
	apply_header_edits(&h, r, lead);
	for (size_t i = 0; i < h.n; i++) {
		fputs(h.v[i].name, f);
		fputc(':', f);
		put_text(f, h.v[i].value, strlen(h.v[i].value));
		put_text(f, "\n", 1);
	}
	put_text(f, "\n", 1);
	if (r->body_replaced)
		put_text(f, (const char *)r->body.data, r->body.len);
	else
		put_text(f, (const char *)m->body.data, m->body.len);
	headers_release(&h);
	ok = fflush(f) == 0 && !ferror(f);
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "miltclient: cannot write %s\n", path);
		return false;
	}
	return true;
}

static void
envelope_remove(const char ***list, size_t *n, const char *addr, struct buf *t1, struct buf *t2)
{
	for (size_t i = 0; i < *n;) {
		if (strcasecmp(strip_brackets(t1, (*list)[i]), strip_brackets(t2, addr)) == 0) {
			memmove(*list + i, *list + i + 1, (*n - i - 1) * sizeof(**list));
			(*n)--;
		} else {
			i++;
		}
	}
}

/* The verdict line: "accept", "reject 550 5.7.1 text", ... (escaped). */
static void
verdict_line(struct buf *out, const struct mc_result *r)
{
	buf_puts(out, verdict_name(r->verdict));
	if (r->reply.len > 0) {
		buf_putc(out, ' ');
		escape_append(out, r->reply.data, r->reply.len, 0);
	}
	if (r->verdict == MC_VERDICT_ERROR && r->why.len > 0) {
		buf_puts(out, ": ");
		buf_append(out, r->why.data, r->why.len); /* escaped when it was recorded */
	}
}

/* The result file: verdict, stage, negotiation, every edit, the final envelope. */
static bool
write_result(const char *path, const struct mc_session *s, const struct mc_result *r)
{
	struct buf out = BUF_INIT, t1 = BUF_INIT, t2 = BUF_INIT;
	const char **rcpts = xcalloc(opt.nrcpts + r->nedits + 1, sizeof(*rcpts));
	size_t nr = 0;
	const char *from = opt.from;
	FILE *f;
	bool ok;

	buf_puts(&out, "verdict ");
	verdict_line(&out, r);
	buf_printf(&out, "\nstage %s\n", r->stage);
	buf_printf(&out, "negotiated version %lu actions 0x%lx protocol 0x%lx\n",
	           (unsigned long)s->version, (unsigned long)s->actions, (unsigned long)s->pflags);
	buf_append(&out, r->rcpt_log.data, r->rcpt_log.len);
	for (size_t i = 0; i < opt.nrcpts; i++)
		if (r->refused == NULL || !r->refused[i])
			rcpts[nr++] = opt.rcpts[i];
	for (size_t i = 0; i < r->nedits; i++) {
		const struct mc_edit *e = &r->edits[i];
		static const char *const names[] = {
		        [MC_EDIT_ADDHEADER] = "addheader", [MC_EDIT_INSHEADER] = "insheader",
		        [MC_EDIT_CHGHEADER] = "chgheader", [MC_EDIT_REPLBODY] = "replbody",
		        [MC_EDIT_ADDRCPT] = "addrcpt",     [MC_EDIT_DELRCPT] = "delrcpt",
		        [MC_EDIT_CHGFROM] = "chgfrom",     [MC_EDIT_QUARANTINE] = "quarantine",
		};

		buf_printf(&out, "edit %s", names[e->type]);
		if (e->type == MC_EDIT_INSHEADER || e->type == MC_EDIT_CHGHEADER)
			buf_printf(&out, " %lu", (unsigned long)e->index);
		if (e->type == MC_EDIT_REPLBODY)
			buf_printf(&out, " %zu bytes", r->body.len);
		if (e->name != NULL) {
			buf_putc(&out, ' ');
			escape_append(&out, e->name, strlen(e->name), 0);
		}
		if (e->type == MC_EDIT_ADDHEADER || e->type == MC_EDIT_INSHEADER ||
		    e->type == MC_EDIT_CHGHEADER) {
			buf_puts(&out, e->value ? ": " : " (delete)");
			if (e->value)
				escape_append(&out, e->value, strlen(e->value), 0);
		} else if (e->value != NULL) {
			buf_putc(&out, ' ');
			escape_append(&out, e->value, strlen(e->value), 0);
		}
		buf_putc(&out, '\n');
		if (e->type == MC_EDIT_ADDRCPT)
			rcpts[nr++] = e->name;
		else if (e->type == MC_EDIT_DELRCPT)
			envelope_remove(&rcpts, &nr, e->name, &t1, &t2);
		else if (e->type == MC_EDIT_CHGFROM)
			from = e->name;
	}
	/* The envelope after the edits, every address in <> whatever form it came in. */
	buf_puts(&out, "envelope from <");
	strip_brackets(&t1, from);
	escape_append(&out, t1.data, t1.len, 0);
	buf_puts(&out, ">\n");
	for (size_t i = 0; i < nr; i++) {
		buf_puts(&out, "envelope rcpt <");
		strip_brackets(&t1, rcpts[i]);
		escape_append(&out, t1.data, t1.len, 0);
		buf_puts(&out, ">\n");
	}
	free(rcpts);
	buf_release(&t1);
	buf_release(&t2);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "miltclient: cannot write %s: %s\n", path, strerror(errno));
		buf_release(&out);
		return false;
	}
	ok = fwrite(out.data, 1, out.len, f) == out.len;
	ok = fclose(f) == 0 && ok;
	buf_release(&out);
	return ok;
}

/* --------------------------------------------------------------- driver */

struct mc_worker {
	pthread_t thread;
	struct mc_session s;
	struct mc_result last;
	const struct mc_message *m;
	enum mc_verdict worst;
};

static enum mc_verdict
worse(enum mc_verdict a, enum mc_verdict b)
{
	/* error > tempfail-like > reject > the rest */
	static const int rank[MC_VERDICT_COUNT] = {0, 0, 0, 1, 2, 2, 2, 3};

	return rank[b] > rank[a] ? b : a;
}

static void *
worker_run(void *arg)
{
	struct mc_worker *w = arg;
	struct mc_session *s = &w->s;
	struct mc_result *r = &w->last;
	struct buf why = BUF_INIT;
	long long t0;

	w->worst = MC_VERDICT_CONTINUE;
	if (!conn_open(&s->conn, opt.socket, &why)) {
		result_fail(r, "%s", buf_str(&why));
		r->stage = "connect";
		w->worst = MC_VERDICT_ERROR;
		buf_release(&why);
		return NULL;
	}
	buf_release(&why);
	if (!session_negotiate(s, r)) {
		r->stage = "negotiate";
		w->worst = MC_VERDICT_ERROR;
		return NULL;
	}
	session_greet(s, r);
	if (r->verdict == MC_VERDICT_ERROR) {
		w->worst = MC_VERDICT_ERROR;
		return NULL;
	}
	t0 = now_ns();
	for (unsigned i = 0; i < opt.count; i++) {
		session_message(s, w->m, r);
		s->messages++;
		w->worst = worse(w->worst, r->verdict);
		if (r->verdict == MC_VERDICT_ERROR)
			break; /* the stream is out of step: stop this connection */
	}
	s->ns = now_ns() - t0;
	if (r->verdict != MC_VERDICT_ERROR)
		session_quit(s);
	return NULL;
}

static char *
read_input(const char *path, size_t *len)
{
	FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		buf_release(&b);
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	buf_reserve(&b, 0);
	return (char *)buf_steal(&b, len);
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	        "usage: miltclient -p SOCKET [-f FROM] [-r RCPT]... [-D [STAGE:]NAME[=VALUE]]...\n"
	        "                  [-o OUTFILE] [-R RESULTFILE] [-n COUNT] [-c CONC] [-t SECONDS]\n"
	        "                  [-Q] [-z] [-A] [-C] [-b CHUNK] [-H HELO] [-a CLIENT_ADDR]\n"
	        "                  [-N CLIENT_NAME] [-P CLIENT_PORT] [-v] [-q] [FILE]\n"
	        "  SOCKET  inet:PORT@HOST, inet:HOST:PORT, inet6:PORT@HOST, unix:/path\n"
	        "  FILE    RFC 5322 message (default: stdin)\n"
	        "  -f FROM           envelope sender (default sender@example.test)\n"
	        "  -r RCPT           recipient, repeatable (default bob@secure.test)\n"
	        "  -D NAME=VALUE     define a macro ({auth_authen}=bob, i=QUEUEID, j=host...);\n"
	        "                    STAGE: connect helo mail rcpt data eoh eom; NAME alone: never "
	        "send it\n"
	        "  -o OUTFILE        write the modified message (accept/continue only)\n"
	        "  -R RESULTFILE     write verdict, stage, negotiation, edits, final envelope\n"
	        "  -n COUNT          messages per connection (benchmark; no SMFIC_ABORT between)\n"
	        "  -c CONC           concurrent connections (threads)\n"
	        "  -t SECONDS        connect and per-read/write timeout (default 30)\n"
	        "  -Q                TCP_QUICKACK after every read (no delayed ACK)\n"
	        "  -z                leave Nagle on (no TCP_NODELAY)\n"
	        "  -A                SMFIC_ABORT after every message, as Postfix's smtpd\n"
	        "  -C                write OUTFILE with CRLF line ends (default LF)\n"
	        "  -b CHUNK          body chunk size, 1..65535 (default 65535)\n"
	        "  -H HELO -a ADDR -N NAME -P PORT   what CONNECT and HELO report\n"
	        "  -v                log every event and reply on stderr;  -q  no verdict line\n"
	        "exit: 0 accept/continue/discard, 69 reject, 75 tempfail, 70 protocol error or "
	        "unreachable\n");
	exit(MC_EXIT_USAGE);
}

static unsigned long
number(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "miltclient: bad number %s (want %lu..%lu)\n", s, min, max);
		exit(MC_EXIT_USAGE);
	}
	return v;
}

/* "a" stays "a", "name" becomes "{name}": how Sendmail and Postfix spell macro names. */
static char *
macro_name(const char *s, size_t n)
{
	struct buf b = BUF_INIT;

	if (n == 1 || (n > 2 && s[0] == '{' && s[n - 1] == '}'))
		buf_append(&b, s, n);
	else
		buf_putc(&b, '{'), buf_append(&b, s, n), buf_putc(&b, '}');
	return (char *)buf_steal(&b, NULL);
}

static bool
list_has(const char *list, const char *name)
{
	struct buf b = BUF_INIT;
	bool found = false;

	for (const char *p = list; *p && !found;) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		buf_reset(&b);
		buf_append(&b, p, n);
		found = n > 0 && macro_same(buf_str(&b), name);
		p += n;
	}
	buf_release(&b);
	return found;
}

static void
list_add(char **list, const char *name)
{
	struct buf b = BUF_INIT;

	if (list_has(*list, name))
		return;
	buf_puts(&b, *list);
	if (b.len > 0)
		buf_putc(&b, ' ');
	buf_puts(&b, name);
	free(*list);
	*list = (char *)buf_steal(&b, NULL);
}

/* -D [STAGE:]NAME[=VALUE] */
static void
add_macro(const char *arg)
{
	const char *colon = strchr(arg, ':'), *eq, *name = arg;
	int stage = -1;
	struct mc_macro m;

	if (colon != NULL && (eq = strchr(arg, '=')) != NULL && eq < colon)
		colon = NULL; /* the ':' is in the value */
	if (colon != NULL) {
		for (int i = 0; i < MC_STAGES; i++)
			if ((strlen(stages[i].name) == (size_t)(colon - arg) &&
			     strncmp(arg, stages[i].name, (size_t)(colon - arg)) == 0) ||
			    (strlen(stages[i].alias) == (size_t)(colon - arg) &&
			     strncmp(arg, stages[i].alias, (size_t)(colon - arg)) == 0))
				stage = i;
		if (stage < 0) {
			fprintf(stderr, "miltclient: unknown macro stage in -D %s\n", arg);
			exit(MC_EXIT_USAGE);
		}
		name = colon + 1;
	}
	eq = strchr(name, '=');
	if ((eq ? (size_t)(eq - name) : strlen(name)) == 0) {
		fprintf(stderr, "miltclient: empty macro name in -D %s\n", arg);
		exit(MC_EXIT_USAGE);
	}
	m.name = macro_name(name, eq ? (size_t)(eq - name) : strlen(name));
	m.value = eq ? xstrdup(eq + 1) : NULL;
	opt.macros = xreallocarray(opt.macros, opt.nmacros + 1, sizeof(*opt.macros));
	opt.macros[opt.nmacros++] = m;
	if (stage >= 0) {
		list_add(&opt.stage_macros[stage], m.name);
	} else {
		bool known = false;

		for (int i = 0; i < MC_STAGES; i++)
			known = known || list_has(opt.stage_macros[i], m.name);
		if (!known)
			list_add(&opt.stage_macros[SMFIM_CONNECT], m.name);
	}
}

int
main(int argc, char **argv)
{
	struct mc_message m;
	struct mc_worker *w;
	char *input;
	size_t len;
	int c, status = MC_EXIT_OK;
	enum mc_verdict worst = MC_VERDICT_CONTINUE;
	bool bench;
	long long t0, total_ns;
	unsigned long total = 0;
	unsigned verdicts[MC_VERDICT_COUNT] = {0};

	opt.from = "sender@example.test";
	opt.helo = "client.example.test";
	opt.client_addr = "127.0.0.1";
	opt.client_name = "localhost";
	opt.client_port = 40000;
	opt.count = 1;
	opt.conc = 1;
	opt.timeout_ms = 30000;
	opt.chunk = MILTER_CHUNK_SIZE;
	for (int i = 0; i < MC_STAGES; i++)
		opt.stage_macros[i] = xstrdup(stages[i].postfix);
	while ((c = getopt(argc, argv, "p:f:r:D:o:R:n:c:t:QzACb:H:a:N:P:vqh")) != -1) {
		switch (c) {
		case 'p':
			opt.socket = optarg;
			break;
		case 'f':
			opt.from = optarg;
			break;
		case 'r':
			opt.rcpts = xreallocarray(opt.rcpts, opt.nrcpts + 1, sizeof(*opt.rcpts));
			opt.rcpts[opt.nrcpts++] = optarg;
			break;
		case 'D':
			add_macro(optarg);
			break;
		case 'o':
			opt.outfile = optarg;
			break;
		case 'R':
			opt.resultfile = optarg;
			break;
		case 'n':
			opt.count = (unsigned)number(optarg, 1, 100000000);
			break;
		case 'c':
			opt.conc = (unsigned)number(optarg, 1, 4096);
			break;
		case 't':
			opt.timeout_ms = (int)number(optarg, 1, 86400) * 1000;
			break;
		case 'Q':
			opt.quickack = true;
			break;
		case 'z':
			opt.no_nodelay = true;
			break;
		case 'A':
			opt.abort_each = true;
			break;
		case 'C':
			opt.crlf = true;
			break;
		case 'b':
			opt.chunk = number(optarg, 1, MILTER_CHUNK_SIZE);
			break;
		case 'H':
			opt.helo = optarg;
			break;
		case 'a':
			opt.client_addr = optarg;
			break;
		case 'N':
			opt.client_name = optarg;
			break;
		case 'P':
			opt.client_port = (unsigned)number(optarg, 0, 65535);
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		default:
			usage();
		}
	}
	if (opt.socket == NULL || argc - optind > 1)
		usage();
	if (opt.nrcpts == 0) {
		static const char *default_rcpt[] = {"bob@secure.test"};

		opt.rcpts = xmemdup(default_rcpt, sizeof(default_rcpt));
		opt.nrcpts = 1;
	}
	if ((input = read_input(optind < argc ? argv[optind] : NULL, &len)) == NULL) {
		fprintf(stderr, "miltclient: cannot read %s: %s\n",
		        optind < argc ? argv[optind] : "stdin", strerror(errno));
		return MC_EXIT_NOINPUT;
	}
	message_parse(input, len, &m);
	free(input);
	bench = opt.count > 1 || opt.conc > 1;

	w = xcalloc(opt.conc, sizeof(*w));
	t0 = now_ns();
	for (unsigned i = 0; i < opt.conc; i++) {
		w[i].m = &m;
		w[i].s.id = i + 1;
		if (opt.conc == 1) {
			worker_run(&w[i]);
		} else if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "miltclient: cannot start thread %u\n", i + 1);
			return MC_EXIT_PROTOCOL;
		}
	}
	if (opt.conc > 1)
		for (unsigned i = 0; i < opt.conc; i++)
			pthread_join(w[i].thread, NULL);
	total_ns = now_ns() - t0;

	for (unsigned i = 0; i < opt.conc; i++) {
		worst = worse(worst, w[i].worst);
		total += w[i].s.messages;
		for (int k = 0; k < MC_VERDICT_COUNT; k++)
			verdicts[k] += w[i].s.verdicts[k];
		if (w[i].last.verdict == MC_VERDICT_ERROR && w[i].s.messages == 0)
			verdicts[MC_VERDICT_ERROR]++; /* connection-level failure */
	}
	status = verdict_exit(bench ? worst : w[0].last.verdict);

	if (opt.outfile != NULL) {
		const struct mc_result *r = &w[0].last;
		const char *lead = (w[0].s.pflags & SMFIP_HDR_LEADSPC) ? "" : " ";

		if (r->verdict == MC_VERDICT_CONTINUE || r->verdict == MC_VERDICT_ACCEPT) {
			if (!write_message(opt.outfile, &m, r, lead) && status == MC_EXIT_OK)
				status = MC_EXIT_CANTCREAT;
		} else {
			(void)unlink(opt.outfile); /* nothing was delivered */
		}
	}
	if (opt.resultfile != NULL && !write_result(opt.resultfile, &w[0].s, &w[0].last) &&
	    status == MC_EXIT_OK)
		status = MC_EXIT_CANTCREAT;

	if (bench) {
		const char *ack = strncmp(opt.socket, "inet", 4) != 0 ? "n/a (unix socket)"
		                  : opt.quickack ? "quick (TCP_QUICKACK after every read)"
		                                 : "kernel default (delayed ACK)";

		printf("miltclient: %u connection(s) x %u message(s) of %zu bytes to %s\n",
		       opt.conc, opt.count, m.size, opt.socket);
		printf("miltclient: client ACK behaviour: %s; TCP_NODELAY %s; SMFIC_ABORT between "
		       "messages: %s\n",
		       ack,
		       strncmp(opt.socket, "inet", 4) != 0 ? "n/a"
		       : opt.no_nodelay                    ? "off"
		                                           : "on",
		       opt.abort_each ? "yes" : "no");
		for (unsigned i = 0; i < opt.conc; i++) {
			const struct mc_session *s = &w[i].s;
			double sec = (double)s->ns / 1e9;

			printf("connection %u: %u messages in %.3f s, %.1f msg/s, %.3f ms/msg, %lu "
			       "writes, %lu reads\n",
			       s->id, s->messages, sec, sec > 0 ? s->messages / sec : 0.0,
			       s->messages ? sec * 1e3 / s->messages : 0.0, s->conn.writes,
			       s->conn.reads);
		}
		printf("total: %lu messages in %.3f s: %.1f msg/s;", total, (double)total_ns / 1e9,
		       total_ns > 0 ? (double)total / ((double)total_ns / 1e9) : 0.0);
		for (int k = 0; k < MC_VERDICT_COUNT; k++)
			if (verdicts[k])
				printf(" %s %u", verdict_name((enum mc_verdict)k), verdicts[k]);
		printf("\n");
		fflush(stdout);
	}
	if (!opt.quiet) {
		struct buf line = BUF_INIT;

		/* Benchmark: the reason of every failed connection, then the worst verdict. */
		for (unsigned i = 0; bench && i < opt.conc; i++) {
			if (w[i].last.verdict != MC_VERDICT_ERROR)
				continue;
			buf_reset(&line);
			verdict_line(&line, &w[i].last);
			fprintf(stderr, "miltclient[%u]: %s\n", i + 1, buf_str(&line));
		}
		buf_reset(&line);
		if (bench)
			buf_puts(&line, verdict_name(worst));
		else
			verdict_line(&line, &w[0].last);
		fprintf(stderr, "%s\n", buf_str(&line));
		buf_release(&line);
	}

	for (unsigned i = 0; i < opt.conc; i++) {
		session_release(&w[i].s);
		result_release(&w[i].last);
	}
	free(w);
	message_release(&m);
	for (size_t i = 0; i < opt.nmacros; i++) {
		free(opt.macros[i].name);
		free(opt.macros[i].value);
	}
	free(opt.macros);
	for (int i = 0; i < MC_STAGES; i++)
		free(opt.stage_macros[i]);
	free(opt.rcpts);
	return status;
}
