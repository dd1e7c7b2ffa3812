/*
 * client.c - SMTP probe state machine, reply and EHLO parsers (see client.h).
 *
 * Trusts nothing the server sends: every reply goes through
 * smtp_reply_parse() with a bounded line length and line count, the input
 * buffer never holds more than one incomplete line plus one read, and server
 * text is escaped before it reaches a report.  After the STARTTLS 220 reply
 * any byte already received is an error: it would have been sent before the
 * TLS handshake and could be injected (CVE-2011-0411 class of bugs).
 *
 * Stages and their replies (RFC 5321 section 4.2, 4.3.2; RFC 3207 section 4):
 *   connect -> greeting 2xx -> EHLO 2xx (5xx: HELO) -> STARTTLS 220 -> TLS
 *   handshake -> QUIT.  Implicit TLS (RFC 8314): connect -> TLS -> greeting
 *   -> EHLO -> QUIT.  The result is decided before QUIT; QUIT is best effort.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "smtp/client.h"
#include "util/alloc.h"
#include "util/escape.h"

/* Longest server text quoted in a reason or a report. */
#define QUOTE_MAX 120
/* Octets read per recv(): the input buffer holds at most one partial line plus this. */
#define READ_CHUNK 4096

const char *
smtp_result_name(enum smtp_result r)
{
	switch (r) {
	case SMTP_RESULT_OK:
		return "ok";
	case SMTP_RESULT_UNREACHABLE:
		return "unreachable";
	case SMTP_RESULT_REFUSED:
		return "refused";
	case SMTP_RESULT_TIMEOUT:
		return "timeout";
	case SMTP_RESULT_GREETING_REJECTED:
		return "greeting-rejected";
	case SMTP_RESULT_NO_STARTTLS:
		return "no-starttls";
	case SMTP_RESULT_STARTTLS_REJECTED:
		return "starttls-rejected";
	case SMTP_RESULT_TLS_FAILED:
		return "tls-failed";
	case SMTP_RESULT_PROTOCOL_ERROR:
		return "protocol-error";
	}
	return "protocol-error";
}

const char *
smtp_stage_name(enum smtp_stage s)
{
	switch (s) {
	case SMTP_STAGE_CONNECT:
		return "connect";
	case SMTP_STAGE_GREETING:
		return "greeting";
	case SMTP_STAGE_EHLO:
		return "ehlo";
	case SMTP_STAGE_HELO:
		return "helo";
	case SMTP_STAGE_STARTTLS:
		return "starttls";
	case SMTP_STAGE_TLS:
		return "tls";
	case SMTP_STAGE_QUIT:
		return "quit";
	case SMTP_STAGE_DONE:
		return "done";
	}
	return "done";
}

/* ------------------------------------------------------------------------
 * Reply parser.
 * ------------------------------------------------------------------------ */

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

void
smtp_reply_clear(struct smtp_reply *r)
{
	buf_release(&r->text);
	smtp_reply_init(r);
}

/* "not an SMTP reply: "<first octets>"" */
static bool
bad_line(struct why *why, const uint8_t *line, size_t n)
{
	struct buf esc = BUF_INIT;

	escape_append(&esc, line, n, 40);
	why_set(why, "not an SMTP reply: \"%s\"", buf_str(&esc));
	buf_release(&esc);
	return false;
}

/* Parse one complete line (without its line end) into r. */
static bool
reply_line(struct smtp_reply *r, const uint8_t *line, size_t n, size_t max_lines, bool *last,
           struct why *why)
{
	int code;
	uint8_t sep;

	/* Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 section 4.2) */
	if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    line[2] < '0' || line[2] > '9')
		return bad_line(why, line, n);
	sep = n > 3 ? line[3] : ' ';
	if (sep != ' ' && sep != '-')
		return bad_line(why, line, n);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->n_lines > 0 && code != r->code)
		return why_set(why, "reply code changed from %d to %d within a multi-line reply",
		               r->code, code);
	if (r->n_lines >= max_lines)
		return why_set(why, "reply longer than %zu lines", max_lines);
	if (r->n_lines > 0)
		buf_putc(&r->text, '\n');
	if (n > 4)
		buf_append(&r->text, line + 4, n - 4);
	else if (r->text.data == NULL)
		buf_reserve(&r->text, 0), r->text.data[0] = '\0';
	r->code = code;
	r->n_lines++;
	*last = sep == ' ';
	return true;
}

enum smtp_parse
smtp_reply_parse(struct smtp_reply *r, const void *data, size_t len, size_t *used,
                 const struct smtp_limits *lim, struct why *why)
{
	const uint8_t *p = data;
	size_t max_line = lim && lim->max_line ? lim->max_line : SMTP_MAX_LINE;
	size_t max_lines = lim && lim->max_lines ? lim->max_lines : SMTP_MAX_LINES;
	size_t pos = 0;

	*used = 0;
	if (r->done)
		return SMTP_PARSE_DONE;
	while (pos < len) {
		const uint8_t *nl = memchr(p + pos, '\n', len - pos);
		size_t end, n;
		bool last = false;

		if (nl == NULL)
			break;
		end = (size_t)(nl - p);
		n = end - pos;
		if (n > 0 && p[pos + n - 1] == '\r')
			n--;
		if (n > max_line) {
			why_set(why, "protocol error: line too long (%zu octets, limit %zu)", n,
			        max_line);
			return SMTP_PARSE_ERROR;
		}
		if (!reply_line(r, p + pos, n, max_lines, &last, why))
			return SMTP_PARSE_ERROR;
		pos = end + 1;
		*used = pos;
		if (last) {
			r->done = true;
			return SMTP_PARSE_DONE;
		}
	}
	/* An incomplete line may not grow past the limit either (+1 for its CR). */
	if (len - pos > max_line + 1) {
		why_set(why, "protocol error: line too long (over %zu octets, no line end)",
		        max_line);
		return SMTP_PARSE_ERROR;
	}
	*used = pos;
	return SMTP_PARSE_MORE;
}

void
smtp_reply_describe(const struct smtp_reply *r, struct buf *out, size_t max)
{
	const uint8_t *t = r->text.data;
	const uint8_t *nl = t ? memchr(t, '\n', r->text.len) : NULL;
	size_t n = nl ? (size_t)(nl - t) : r->text.len;

	buf_printf(out, "%d", r->code);
	if (n) {
		buf_putc(out, ' ');
		escape_append(out, t, n, max);
	}
	if (r->n_lines > 1)
		buf_printf(out, " (+%zu lines)", r->n_lines - 1);
}

/* ------------------------------------------------------------------------
 * EHLO reply.
 * ------------------------------------------------------------------------ */

void
smtp_ehlo_clear(struct smtp_ehlo *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n_keywords; i++)
		free(e->keywords[i]);
	free(e->keywords);
	free(e->domain);
	memset(e, 0, sizeof(*e));
}

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One extension line "KEYWORD [params]" (RFC 5321 section 4.1.1.1: ehlo-line). */
static void
ehlo_line(struct smtp_ehlo *e, const uint8_t *line, size_t n)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
	        {"STARTTLS", offsetof(struct smtp_ehlo, starttls)},
	        {"PIPELINING", offsetof(struct smtp_ehlo, pipelining)},
	        {"8BITMIME", offsetof(struct smtp_ehlo, eightbitmime)},
	        {"SMTPUTF8", offsetof(struct smtp_ehlo, smtputf8)},
	        {"CHUNKING", offsetof(struct smtp_ehlo, chunking)},
	        {"REQUIRETLS", offsetof(struct smtp_ehlo, requiretls)},
	        {"SIZE", offsetof(struct smtp_ehlo, has_size)},
	};
	struct buf kw = BUF_INIT;
	size_t k, i;

	for (k = 0; k < n && line[k] != ' '; k++)
		if (!is_alnum(line[k]) && (line[k] != '-' || k == 0))
			break;
	if (k == 0 || (k < n && line[k] != ' ')) {
		e->n_malformed++;
		return;
	}
	for (i = 0; i < k; i++)
		buf_putc(&kw, line[i] >= 'a' && line[i] <= 'z' ? line[i] - 'a' + 'A' : line[i]);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(buf_str(&kw), flags[i].name) == 0)
			*(bool *)((char *)e + flags[i].off) = true;
	if (strcmp(buf_str(&kw), "SIZE") == 0 && k + 1 < n) {
		unsigned long long v = 0;

		for (i = k + 1; i < n && line[i] >= '0' && line[i] <= '9'; i++) {
			if (v > (ULLONG_MAX - 9) / 10) {
				v = 0;
				break;
			}
			v = v * 10 + (unsigned)(line[i] - '0');
		}
		e->size = v;
	}
	if (k < n) {
		buf_putc(&kw, ' ');
		escape_append(&kw, line + k + 1, n - k - 1, QUOTE_MAX);
	}
	e->keywords = xreallocarray(e->keywords, e->n_keywords + 1, sizeof(*e->keywords));
	e->keywords[e->n_keywords++] = (char *)buf_steal(&kw, NULL);
}

bool
smtp_ehlo_parse(struct smtp_ehlo *e, const struct smtp_reply *r, struct why *why)
{
	const uint8_t *t = r->text.data;
	size_t len = r->text.len, pos = 0, line = 0;
	struct buf dom = BUF_INIT;

	memset(e, 0, sizeof(*e));
	if (r->code / 100 != 2)
		return why_set(why, "EHLO answered with %d", r->code);
	while (t && pos <= len) {
		const uint8_t *nl = memchr(t + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - t) : len;

		if (line++ == 0) {
			size_t k;

			for (k = pos; k < end && t[k] != ' '; k++)
				;
			escape_append(&dom, t + pos, k - pos, 255);
		} else {
			ehlo_line(e, t + pos, end - pos);
		}
		pos = end + 1;
	}
	if (dom.data == NULL)
		buf_puts(&dom, "");
	e->domain = (char *)buf_steal(&dom, NULL);
	return true;
}

bool
smtp_ehlo_has(const struct smtp_ehlo *e, const char *keyword)
{
	size_t i, n = strlen(keyword);

	for (i = 0; i < e->n_keywords; i++)
		if (strncasecmp(e->keywords[i], keyword, n) == 0 &&
		    (e->keywords[i][n] == '\0' || e->keywords[i][n] == ' '))
			return true;
	return false;
}

/* ------------------------------------------------------------------------
 * The probe.
 * ------------------------------------------------------------------------ */

struct smtp_probe {
	struct smtp_probe_config cfg;
	char *helo_name;
	char *sni;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	SSL *ssl;
	int fd;
	bool started;
	bool finished;
	bool tls_up;    /* SMTP now runs over TLS */
	bool quitting;  /* the result is decided; only QUIT is left */
	bool sending;   /* out holds a command not yet fully written */
	bool conn_dead; /* the peer is gone: skip QUIT */
	enum smtp_stage stage;
	int64_t start_ms;
	int64_t deadline;
	unsigned stage_ms; /* the current stage's limit, for the timeout reason */
	struct buf in;     /* received, not yet parsed */
	struct buf out;    /* to send */
	size_t out_off;
	struct smtp_reply reply;
	struct smtp_report rep;
};

/* What one attempt at I/O came to. */
enum io {
	IO_OK,    /* done (a reply is complete, the command is sent, ...) */
	IO_READ,  /* wait until readable */
	IO_WRITE, /* wait until writable */
	IO_FAIL,  /* the stage failed: the result is set */
};

int64_t
smtp_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
smtp_probe_config_init(struct smtp_probe_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->helo_name = "localhost";
	cfg->connect_ms = 10000;
	cfg->greeting_ms = 60000;
	cfg->command_ms = 30000;
	cfg->tls_ms = 30000;
	cfg->quit_ms = 2000;
	cfg->limits.max_line = SMTP_MAX_LINE;
	cfg->limits.max_lines = SMTP_MAX_LINES;
}

void
smtp_report_clear(struct smtp_report *rep)
{
	if (rep == NULL)
		return;
	buf_release(&rep->greeting);
	smtp_ehlo_clear(&rep->ehlo);
	memset(rep, 0, sizeof(*rep));
}

struct smtp_probe *
smtp_probe_new(const struct sockaddr *addr, socklen_t addrlen, const struct smtp_probe_config *cfg,
               SSL *ssl)
{
	struct smtp_probe *p = xcalloc(1, sizeof(*p));
	struct smtp_probe_config def;

	smtp_probe_config_init(&def);
	p->cfg = cfg ? *cfg : def;
#define DEFAULT_IF_ZERO(field)                                                                     \
	do {                                                                                       \
		if (!p->cfg.field)                                                                 \
			p->cfg.field = def.field;                                                  \
	} while (0)
	DEFAULT_IF_ZERO(helo_name);
	DEFAULT_IF_ZERO(connect_ms);
	DEFAULT_IF_ZERO(greeting_ms);
	DEFAULT_IF_ZERO(command_ms);
	DEFAULT_IF_ZERO(tls_ms);
	DEFAULT_IF_ZERO(quit_ms);
	DEFAULT_IF_ZERO(limits.max_line);
	DEFAULT_IF_ZERO(limits.max_lines);
#undef DEFAULT_IF_ZERO
	p->helo_name = xstrdup(p->cfg.helo_name);
	p->cfg.helo_name = p->helo_name;
	p->sni = p->cfg.sni ? xstrdup(p->cfg.sni) : NULL;
	p->cfg.sni = p->sni;
	if (addrlen > sizeof(p->addr))
		addrlen = sizeof(p->addr);
	memcpy(&p->addr, addr, addrlen);
	p->addrlen = addrlen;
	p->ssl = ssl;
	p->fd = -1;
	p->stage = SMTP_STAGE_CONNECT;
	p->rep.stage = SMTP_STAGE_CONNECT;
	smtp_reply_init(&p->reply);
	return p;
}

/* Close the socket and detach the caller's SSL from it (the fd number may be reused). */
static void
close_socket(struct smtp_probe *p)
{
	if (p->ssl && p->fd >= 0 && SSL_get_fd(p->ssl) == p->fd)
		SSL_set_bio(p->ssl, NULL, NULL);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

struct smtp_probe *
smtp_probe_free(struct smtp_probe *p)
{
	if (p == NULL)
		return NULL;
	close_socket(p);
	buf_release(&p->in);
	buf_release(&p->out);
	smtp_reply_clear(&p->reply);
	smtp_report_clear(&p->rep);
	free(p->helo_name);
	free(p->sni);
	free(p);
	return NULL;
}

int
smtp_probe_fd(const struct smtp_probe *p)
{
	return p->fd;
}

int64_t
smtp_probe_deadline(const struct smtp_probe *p)
{
	return p->deadline;
}

const struct smtp_report *
smtp_probe_report(const struct smtp_probe *p)
{
	return &p->rep;
}

static void
finish(struct smtp_probe *p, int64_t now)
{
	if (p->tls_up && p->ssl && !p->conn_dead) {
		/* close_notify, best effort: never wait for the peer's */
		ERR_clear_error();
		SSL_shutdown(p->ssl);
		ERR_clear_error();
	}
	close_socket(p);
	p->finished = true;
	p->stage = SMTP_STAGE_DONE;
	p->rep.elapsed_ms = (unsigned)(now - p->start_ms);
}

/* Decide the result (once); QUIT follows unless the connection is unusable. */
static enum io fail(struct smtp_probe *p, enum smtp_result r, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum io
fail(struct smtp_probe *p, enum smtp_result r, const char *fmt, ...)
{
	va_list ap;

	if (p->quitting)
		return IO_FAIL;
	p->rep.result = r;
	p->rep.stage = p->stage;
	va_start(ap, fmt);
	vsnprintf(p->rep.why.msg, sizeof(p->rep.why.msg), fmt, ap);
	va_end(ap);
	return IO_FAIL;
}

static void
set_deadline(struct smtp_probe *p, int64_t now, unsigned ms)
{
	p->deadline = now + ms;
	p->stage_ms = ms;
}

/* Queue a command line (CRLF added). */
static void
queue_command(struct smtp_probe *p, const char *cmd)
{
	buf_reset(&p->out);
	buf_puts(&p->out, cmd);
	buf_puts(&p->out, "\r\n");
	p->out_off = 0;
	p->sending = true;
}

/* Map an SSL I/O error to IO_READ/IO_WRITE, or to a failure "doing: reason". */
static enum io
ssl_wait(struct smtp_probe *p, int ret, const char *doing, enum smtp_result on_error)
{
	int saved_errno = errno;
	int err = SSL_get_error(p->ssl, ret);
	unsigned long e;
	const char *reason;
	long v;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return IO_READ;
	case SSL_ERROR_WANT_WRITE:
		return IO_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		p->conn_dead = true;
		return fail(p, on_error, "%s: connection closed by the server (close_notify)",
		            doing);
	case SSL_ERROR_SYSCALL:
		p->conn_dead = true;
		ERR_clear_error();
		if (saved_errno && saved_errno != EAGAIN)
			return fail(p, on_error, "%s: %s", doing, strerror(saved_errno));
		return fail(p, on_error, "%s: connection closed by the server", doing);
	default:
		p->conn_dead = true;
		e = ERR_peek_error();
		reason = e ? ERR_reason_error_string(e) : NULL;
		ERR_clear_error();
		/* with SSL_VERIFY_PEER the caller wants to know which check failed */
		v = SSL_get_verify_result(p->ssl);
		if (v != X509_V_OK)
			return fail(p, on_error, "%s: %s (%s)", doing,
			            reason ? reason : "TLS error",
			            X509_verify_cert_error_string(v));
		return fail(p, on_error, "%s: %s", doing, reason ? reason : "TLS error");
	}
}

/* Write what is queued. */
static enum io
flush_out(struct smtp_probe *p)
{
	while (p->out_off < p->out.len) {
		const uint8_t *d = p->out.data + p->out_off;
		size_t n = p->out.len - p->out_off;

		if (p->tls_up) {
			int w;

			ERR_clear_error();
			w = SSL_write(p->ssl, d, n > INT_MAX ? INT_MAX : (int)n);
			if (w <= 0)
				return ssl_wait(p, w, "sending over TLS",
				                SMTP_RESULT_PROTOCOL_ERROR);
			p->out_off += (size_t)w;
		} else {
			ssize_t w = send(p->fd, d, n, MSG_NOSIGNAL);

			if (w < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return IO_WRITE;
				p->conn_dead = true;
				return fail(p, SMTP_RESULT_PROTOCOL_ERROR,
				            "connection lost while sending: %s", strerror(errno));
			}
			p->out_off += (size_t)w;
		}
	}
	p->sending = false;
	return IO_OK;
}

/* Read until p->reply is complete. */
static enum io
read_reply(struct smtp_probe *p)
{
	for (;;) {
		size_t used = 0;
		enum smtp_parse pr;
		struct why why;

		pr = smtp_reply_parse(&p->reply, p->in.data, p->in.len, &used, &p->cfg.limits,
		                      &why);
		if (used) {
			memmove(p->in.data, p->in.data + used, p->in.len - used);
			p->in.len -= used;
			p->in.data[p->in.len] = '\0';
		}
		if (pr == SMTP_PARSE_DONE)
			return IO_OK;
		if (pr == SMTP_PARSE_ERROR) {
			p->conn_dead = true;
			return fail(p, SMTP_RESULT_PROTOCOL_ERROR, "%s: %s",
			            smtp_stage_name(p->stage), why.msg);
		}
		buf_reserve(&p->in, READ_CHUNK);
		if (p->tls_up) {
			int r;

			ERR_clear_error();
			r = SSL_read(p->ssl, p->in.data + p->in.len, READ_CHUNK);
			if (r <= 0)
				return ssl_wait(p, r, "reading over TLS",
				                SMTP_RESULT_PROTOCOL_ERROR);
			p->in.len += (size_t)r;
		} else {
			ssize_t r = recv(p->fd, p->in.data + p->in.len, READ_CHUNK, 0);

			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					return IO_READ;
				p->conn_dead = true;
				return fail(p, SMTP_RESULT_PROTOCOL_ERROR, "%s: %s",
				            smtp_stage_name(p->stage), strerror(errno));
			}
			if (r == 0) {
				p->conn_dead = true;
				return fail(p, SMTP_RESULT_PROTOCOL_ERROR,
				            "connection closed by the server during the %s%s",
				            smtp_stage_name(p->stage),
				            p->reply.n_lines ? " (reply incomplete)" : "");
			}
			p->in.len += (size_t)r;
		}
		p->in.data[p->in.len] = '\0';
	}
}

/* Describe the current reply into a reason: "EHLO: 554 5.7.1 go away" */
static const char *
reply_text(struct smtp_probe *p, struct buf *tmp)
{
	buf_reset(tmp);
	smtp_reply_describe(&p->reply, tmp, QUOTE_MAX);
	return buf_str(tmp);
}

/* Enter a stage that sends cmd (NULL: none) and waits for a reply. */
static void
enter(struct smtp_probe *p, enum smtp_stage s, const char *cmd, int64_t now, unsigned ms)
{
	p->stage = s;
	if (!p->quitting)
		p->rep.stage = s;
	smtp_reply_clear(&p->reply);
	if (cmd)
		queue_command(p, cmd);
	set_deadline(p, now, ms);
}

static void
start_quit(struct smtp_probe *p, int64_t now)
{
	p->quitting = true;
	enter(p, SMTP_STAGE_QUIT, "QUIT", now, p->cfg.quit_ms);
}

static void
enter_tls(struct smtp_probe *p, int64_t now)
{
	p->stage = SMTP_STAGE_TLS;
	p->rep.stage = SMTP_STAGE_TLS;
	set_deadline(p, now, p->cfg.tls_ms);
	SSL_set_fd(p->ssl, p->fd);
	SSL_set_connect_state(p->ssl);
	if (p->sni)
		SSL_set_tlsext_host_name(p->ssl, p->sni);
}

static void
send_ehlo(struct smtp_probe *p, const char *verb, enum smtp_stage s, int64_t now)
{
	struct buf cmd = BUF_INIT;

	buf_printf(&cmd, "%s %s", verb, p->helo_name);
	enter(p, s, buf_str(&cmd), now, p->cfg.command_ms);
	buf_release(&cmd);
}

/* Start the TCP connection. */
static enum io
start_connect(struct smtp_probe *p, int64_t now)
{
	p->start_ms = now;
	set_deadline(p, now, p->cfg.connect_ms);
	p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return fail(p, SMTP_RESULT_UNREACHABLE, "socket: %s", strerror(errno));
	if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) == 0)
		return IO_OK;
	if (errno == EINPROGRESS || errno == EINTR)
		return IO_WRITE;
	return fail(p, errno == ECONNREFUSED ? SMTP_RESULT_REFUSED : SMTP_RESULT_UNREACHABLE,
	            "connect: %s", strerror(errno));
}

/* Is the pending connect done?  A second connect() says: EISCONN yes, EALREADY not yet. */
static enum io
check_connect(struct smtp_probe *p)
{
	if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) == 0 || errno == EISCONN)
		return IO_OK;
	if (errno == EALREADY || errno == EINPROGRESS || errno == EINTR)
		return IO_WRITE;
	return fail(p, errno == ECONNREFUSED ? SMTP_RESULT_REFUSED : SMTP_RESULT_UNREACHABLE,
	            "connect: %s", strerror(errno));
}

/* One piece of progress in the current stage. */
static enum io
advance(struct smtp_probe *p, int64_t now)
{
	struct buf tmp = BUF_INIT;
	enum io r;
	int code;

	if (p->sending && (r = flush_out(p)) != IO_OK)
		return r;
	switch (p->stage) {
	case SMTP_STAGE_CONNECT:
		if ((r = check_connect(p)) != IO_OK)
			return r;
		if (p->cfg.implicit_tls && p->ssl) {
			enter_tls(p, now);
		} else {
			enter(p, SMTP_STAGE_GREETING, NULL, now, p->cfg.greeting_ms);
		}
		return IO_OK;

	case SMTP_STAGE_GREETING:
		if ((r = read_reply(p)) != IO_OK)
			return r;
		code = p->reply.code;
		p->rep.greeting_code = code;
		p->rep.greeting_lines = p->reply.n_lines;
		buf_reset(&p->rep.greeting);
		smtp_reply_describe(&p->reply, &p->rep.greeting, 200);
		if (code / 100 != 2) {
			/* 421: the server closes at once (RFC 5321 3.8); 554: say QUIT (3.1) */
			fail(p, SMTP_RESULT_GREETING_REJECTED, "greeting: %s", reply_text(p, &tmp));
			buf_release(&tmp);
			if (code == 421) {
				p->conn_dead = true;
				return IO_FAIL;
			}
			start_quit(p, now);
			return IO_OK;
		}
		send_ehlo(p, "EHLO", SMTP_STAGE_EHLO, now);
		return IO_OK;

	case SMTP_STAGE_EHLO:
	case SMTP_STAGE_HELO:
		if ((r = read_reply(p)) != IO_OK)
			return r;
		code = p->reply.code;
		if (p->stage == SMTP_STAGE_EHLO)
			p->rep.ehlo_code = code;
		if (code / 100 == 5 && p->stage == SMTP_STAGE_EHLO) {
			/* RFC 5321 4.1.4, 3.2: an old server refuses EHLO, try HELO */
			p->rep.helo_fallback = true;
			send_ehlo(p, "HELO", SMTP_STAGE_HELO, now);
			return IO_OK;
		}
		if (code / 100 != 2) {
			fail(p, SMTP_RESULT_GREETING_REJECTED, "%s: %s",
			     p->stage == SMTP_STAGE_EHLO ? "EHLO" : "HELO", reply_text(p, &tmp));
			buf_release(&tmp);
			if (code == 421) {
				p->conn_dead = true;
				return IO_FAIL;
			}
			start_quit(p, now);
			return IO_OK;
		}
		if (p->stage == SMTP_STAGE_EHLO) {
			smtp_ehlo_clear(&p->rep.ehlo);
			smtp_ehlo_parse(&p->rep.ehlo, &p->reply, NULL);
		}
		if (p->tls_up || p->ssl == NULL) {
			/* implicit TLS, or no TLS wanted: done */
			p->rep.result = SMTP_RESULT_OK;
			start_quit(p, now);
			return IO_OK;
		}
		if (p->stage == SMTP_STAGE_HELO || !p->rep.ehlo.starttls) {
			fail(p, SMTP_RESULT_NO_STARTTLS, "%s",
			     p->stage == SMTP_STAGE_HELO
			             ? "EHLO refused, HELO accepted: no extensions, no STARTTLS"
			             : "STARTTLS not offered in the EHLO reply");
			start_quit(p, now);
			return IO_OK;
		}
		enter(p, SMTP_STAGE_STARTTLS, "STARTTLS", now, p->cfg.command_ms);
		return IO_OK;

	case SMTP_STAGE_STARTTLS:
		if ((r = read_reply(p)) != IO_OK)
			return r;
		code = p->reply.code;
		p->rep.starttls_code = code;
		if (code != 220) {
			fail(p,
			     code / 100 == 4 || code / 100 == 5 ? SMTP_RESULT_STARTTLS_REJECTED
			                                        : SMTP_RESULT_PROTOCOL_ERROR,
			     "STARTTLS: %s", reply_text(p, &tmp));
			buf_release(&tmp);
			start_quit(p, now);
			return IO_OK;
		}
		if (p->in.len > 0) {
			/* bytes before the handshake: an injection, or a broken server */
			p->conn_dead = true;
			return fail(p, SMTP_RESULT_PROTOCOL_ERROR,
			            "STARTTLS: %zu octets followed the 220 reply before the TLS "
			            "handshake",
			            p->in.len);
		}
		enter_tls(p, now);
		return IO_OK;

	case SMTP_STAGE_TLS: {
		int ret;

		ERR_clear_error();
		ret = SSL_do_handshake(p->ssl);
		if (ret != 1)
			return ssl_wait(p, ret, "TLS handshake", SMTP_RESULT_TLS_FAILED);
		p->tls_up = true;
		p->rep.tls = true;
		if (p->cfg.implicit_tls) {
			enter(p, SMTP_STAGE_GREETING, NULL, now, p->cfg.greeting_ms);
			return IO_OK;
		}
		p->rep.result = SMTP_RESULT_OK;
		start_quit(p, now);
		return IO_OK;
	}

	case SMTP_STAGE_QUIT:
		if ((r = read_reply(p)) != IO_OK)
			return r;
		finish(p, now);
		return IO_OK;

	case SMTP_STAGE_DONE:
		return IO_OK;
	}
	return IO_OK;
}

enum smtp_want
smtp_probe_step(struct smtp_probe *p, int64_t now_ms)
{
	enum io r;

	if (p->finished)
		return SMTP_WANT_DONE;
	if (!p->started) {
		p->started = true;
		r = start_connect(p, now_ms);
		if (r == IO_FAIL) {
			finish(p, now_ms);
			return SMTP_WANT_DONE;
		}
		if (r == IO_WRITE)
			return SMTP_WANT_WRITE;
	}
	for (;;) {
		r = advance(p, now_ms);
		if (p->finished)
			return SMTP_WANT_DONE;
		if (r == IO_OK)
			continue;
		if (r == IO_FAIL) {
			/* the result is set; say QUIT politely if the dialogue still works */
			if (!p->quitting && !p->conn_dead && p->stage != SMTP_STAGE_CONNECT &&
			    p->stage != SMTP_STAGE_TLS) {
				start_quit(p, now_ms);
				continue;
			}
			finish(p, now_ms);
			return SMTP_WANT_DONE;
		}
		/* would block: has the stage run out of time? */
		if (now_ms >= p->deadline) {
			fail(p, SMTP_RESULT_TIMEOUT, "%s: no %s within %u ms",
			     smtp_stage_name(p->stage),
			     p->stage == SMTP_STAGE_CONNECT    ? "connection"
			     : p->stage == SMTP_STAGE_TLS      ? "TLS handshake"
			     : p->stage == SMTP_STAGE_GREETING ? "complete greeting"
			                                       : "complete reply",
			     p->stage_ms);
			finish(p, now_ms);
			return SMTP_WANT_DONE;
		}
		return r == IO_READ ? SMTP_WANT_READ : SMTP_WANT_WRITE;
	}
}

enum smtp_result
smtp_probe_run(struct smtp_probe *p)
{
	enum smtp_want w;

	while ((w = smtp_probe_step(p, smtp_clock_ms())) != SMTP_WANT_DONE) {
		struct pollfd pfd = {.fd = p->fd, .events = w == SMTP_WANT_READ ? POLLIN : POLLOUT};
		int64_t wait = p->deadline - smtp_clock_ms();

		if (wait < 0)
			wait = 0;
		if (wait > INT_MAX)
			wait = INT_MAX;
		/* EINTR or readiness or timeout: the next step sorts it out */
		(void)poll(&pfd, 1, (int)wait);
	}
	return p->rep.result;
}

enum smtp_result
smtp_probe_blocking(const struct sockaddr *addr, socklen_t addrlen,
                    const struct smtp_probe_config *cfg, SSL *ssl, struct smtp_report *rep)
{
	struct smtp_probe *p = smtp_probe_new(addr, addrlen, cfg, ssl);
	enum smtp_result r = smtp_probe_run(p);

	*rep = p->rep;
	memset(&p->rep, 0, sizeof(p->rep));
	smtp_probe_free(p);
	return r;
}
