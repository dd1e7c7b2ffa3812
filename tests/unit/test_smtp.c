/*
 * test_smtp.c - unit tests for lib/smtp/client.c.
 *
 * The reply parser (RFC 5321 section 4.2) and the EHLO parser (section
 * 4.1.1.1) are table-driven: multi-line replies, continuation mismatch,
 * bad codes, long lines (complete and incomplete), too many lines, garbage
 * and NUL bytes, escaping of hostile text; the reply parser is also fed one
 * octet at a time.  The probe state machine runs against scripted servers
 * forked on a loopback port: each script sends canned bytes and checks what
 * the client sends (EHLO, HELO, STARTTLS, QUIT), and the test checks the
 * result, the stage and the reason: delayed multi-line greeting, 421/554,
 * no STARTTLS, EHLO refused (HELO fallback), STARTTLS refused, injected
 * bytes after 220, garbage, an endless line, stalls (timeouts), early close,
 * TLS failure, implicit TLS, connection refused, and two probes driven at
 * once through the non-blocking step API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "smtp/client.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------
 * Reply parser.
 * ------------------------------------------------------------------------ */

struct reply_case {
	const char *name;
	const char *input;
	size_t len; /* 0: strlen(input) */
	enum smtp_parse want;
	int want_code;
	size_t want_lines;
	const char *want_text; /* '\n'-joined, NULL: do not check */
	size_t want_used;      /* SIZE_MAX: do not check */
	const char *want_why;  /* substring, for errors */
};

static const struct reply_case reply_cases[] = {
        {"one line", "220 mx.example ESMTP\r\n", 0, SMTP_PARSE_DONE, 220, 1, "mx.example ESMTP", 22,
         NULL},
        {"multi-line", "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n", 0, SMTP_PARSE_DONE, 250, 3,
         "mx\nPIPELINING\nSIZE 10", SIZE_MAX, NULL},
        {"code only", "250\r\n", 0, SMTP_PARSE_DONE, 250, 1, "", 5, NULL},
        {"bare LF", "220 hi\n", 0, SMTP_PARSE_DONE, 220, 1, "hi", 7, NULL},
        {"empty continuation text", "220-\r\n220 ready\r\n", 0, SMTP_PARSE_DONE, 220, 2, "\nready",
         SIZE_MAX, NULL},
        {"incomplete multi-line", "250-a\r\n250-b", 0, SMTP_PARSE_MORE, 250, 1, "a", 7, NULL},
        {"nothing yet", "", 0, SMTP_PARSE_MORE, 0, 0, NULL, 0, NULL},
        {"stops after the reply", "220 a\r\n250 b\r\n", 0, SMTP_PARSE_DONE, 220, 1, "a", 7, NULL},
        {"continuation mismatch", "250-a\r\n251 b\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX,
         "changed from 250 to 251"},
        {"garbage (TLS record)", "\x16\x03\x01\x00\xff\r\n", 7, SMTP_PARSE_ERROR, 0, 0, NULL,
         SIZE_MAX, "not an SMTP reply: \"\\x16\\x03\\x01\\x00\\xff\""},
        {"HTTP instead of SMTP", "HTTP/1.0 400 Bad Request\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL,
         SIZE_MAX, "not an SMTP reply"},
        {"first digit 1", "199 x\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX,
         "not an SMTP reply"},
        {"second digit 6", "260 x\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX,
         "not an SMTP reply"},
        {"bad separator", "220x hi\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX,
         "not an SMTP reply"},
        {"short line", "22\r\n", 0, SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX, "not an SMTP reply"},
        {"NUL in the text", "220 a\0b\r\n", 9, SMTP_PARSE_DONE, 220, 1, NULL, 9, NULL},
};

static void
check_reply_case(const struct reply_case *c, const struct smtp_limits *lim)
{
	struct smtp_reply r;
	struct why why = {""};
	size_t len = c->len ? c->len : strlen(c->input), used = 99;
	enum smtp_parse got;

	smtp_reply_init(&r);
	got = smtp_reply_parse(&r, c->input, len, &used, lim, &why);
	if (got != c->want)
		fail_msg("%s: got %d (%s), want %d", c->name, got, why.msg, c->want);
	if (c->want == SMTP_PARSE_ERROR) {
		if (strstr(why.msg, c->want_why) == NULL)
			fail_msg("%s: got why \"%s\", want it to contain \"%s\"", c->name, why.msg,
			         c->want_why);
	} else {
		if (r.code != c->want_code || r.n_lines != c->want_lines)
			fail_msg("%s: got code %d lines %zu, want %d %zu", c->name, r.code,
			         r.n_lines, c->want_code, c->want_lines);
		if (c->want_text && strcmp(buf_str(&r.text), c->want_text) != 0)
			fail_msg("%s: got text \"%s\", want \"%s\"", c->name, buf_str(&r.text),
			         c->want_text);
	}
	if (c->want_used != SIZE_MAX && used != c->want_used)
		fail_msg("%s: got used %zu, want %zu", c->name, used, c->want_used);
	smtp_reply_clear(&r);
}

static void
test_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++)
		check_reply_case(&reply_cases[i], NULL);
}

/* A reply built of n copies of a line plus a last line. */
static char *
repeat(const char *line, size_t n, const char *last)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		buf_puts(&b, line);
	buf_puts(&b, last);
	return (char *)buf_steal(&b, NULL);
}

static void
test_reply_limits(void **state)
{
	char *s;
	struct smtp_limits tight = {10, 3};

	(void)state;
	/* a line of exactly SMTP_MAX_LINE octets passes, one more fails */
	s = repeat("A", SMTP_MAX_LINE, "\r\n");
	memcpy(s, "220 ", 4);
	check_reply_case(&(struct reply_case){"line at the limit", s, 0, SMTP_PARSE_DONE, 220, 1,
	                                      NULL, SMTP_MAX_LINE + 2, NULL},
	                 NULL);
	free(s);
	s = repeat("A", SMTP_MAX_LINE + 1, "\r\n");
	memcpy(s, "220 ", 4);
	check_reply_case(&(struct reply_case){"line over the limit", s, 0, SMTP_PARSE_ERROR, 0, 0,
	                                      NULL, SIZE_MAX, "protocol error: line too long"},
	                 NULL);
	free(s);
	/* an incomplete line is refused as soon as it is too long */
	s = repeat("A", 3 * SMTP_MAX_LINE, "");
	memcpy(s, "220 ", 4);
	check_reply_case(&(struct reply_case){"endless line", s, 0, SMTP_PARSE_ERROR, 0, 0, NULL,
	                                      SIZE_MAX, "line too long (over 4096 octets, no line"},
	                 NULL);
	free(s);
	s = repeat("250-x\r\n", SMTP_MAX_LINES, "250 last\r\n");
	check_reply_case(&(struct reply_case){"too many lines", s, 0, SMTP_PARSE_ERROR, 0, 0, NULL,
	                                      SIZE_MAX, "longer than 100 lines"},
	                 NULL);
	free(s);
	s = repeat("250-x\r\n", SMTP_MAX_LINES - 1, "250 last\r\n");
	check_reply_case(&(struct reply_case){"lines at the limit", s, 0, SMTP_PARSE_DONE, 250,
	                                      SMTP_MAX_LINES, NULL, SIZE_MAX, NULL},
	                 NULL);
	free(s);
	/* caller's limits */
	check_reply_case(&(struct reply_case){"tight line limit", "220 1234567\r\n", 0,
	                                      SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX, "limit 10"},
	                 &tight);
	check_reply_case(
	        &(struct reply_case){"tight line count", "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 0,
	                             SMTP_PARSE_ERROR, 0, 0, NULL, SIZE_MAX, "longer than 3 lines"},
	        &tight);
}

/* Feed a reply one octet at a time, as a slow server would send it. */
static void
test_reply_bytewise(void **state)
{
	static const char input[] = "220-first line\r\n220-second\n220 third\r\nEHLO?";
	struct smtp_reply r;
	struct buf in = BUF_INIT;
	size_t i, used;
	enum smtp_parse got = SMTP_PARSE_MORE;

	(void)state;
	smtp_reply_init(&r);
	for (i = 0; i < sizeof(input) - 1 && got == SMTP_PARSE_MORE; i++) {
		buf_putc(&in, input[i]);
		got = smtp_reply_parse(&r, in.data, in.len, &used, NULL, NULL);
		memmove(in.data, in.data + used, in.len - used);
		in.len -= used;
	}
	if (got != SMTP_PARSE_DONE || i != 38)
		fail_msg("bytewise: got %d after %zu octets, want DONE after 38", got, i);
	if (r.n_lines != 3 || strcmp(buf_str(&r.text), "first line\nsecond\nthird") != 0)
		fail_msg("bytewise: got %zu lines \"%s\"", r.n_lines, buf_str(&r.text));
	/* DONE is sticky */
	if (smtp_reply_parse(&r, "250 x\r\n", 7, &used, NULL, NULL) != SMTP_PARSE_DONE || used)
		fail_msg("bytewise: a finished reply took more input");
	smtp_reply_clear(&r);
	buf_release(&in);
}

static void
test_reply_describe(void **state)
{
	static const struct {
		const char *input;
		size_t len;
		size_t max;
		const char *want;
	} cases[] = {
	        {"421 4.3.2 busy\r\n", 0, 0, "421 4.3.2 busy"},
	        {"554-no\r\n554 really\r\n", 0, 0, "554 no (+1 lines)"},
	        {"220 \x1b[31mred\\\r\n", 0, 0, "220 \\x1b[31mred\\\\"},
	        {"220 a\0b\r\n", 9, 0, "220 a\\x00b"},
	        {"220 abcdefgh\r\n", 0, 4, "220 abcd..."},
	        {"250\r\n", 0, 0, "250"},
	};
	size_t i, used;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_reply r;
		struct buf out = BUF_INIT;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].input);

		smtp_reply_init(&r);
		assert_int_equal(smtp_reply_parse(&r, cases[i].input, len, &used, NULL, NULL),
		                 SMTP_PARSE_DONE);
		smtp_reply_describe(&r, &out, cases[i].max);
		if (strcmp(buf_str(&out), cases[i].want) != 0)
			fail_msg("describe %zu: got \"%s\", want \"%s\"", i, buf_str(&out),
			         cases[i].want);
		buf_release(&out);
		smtp_reply_clear(&r);
	}
}

/* ------------------------------------------------------------------------
 * EHLO parser.
 * ------------------------------------------------------------------------ */

struct ehlo_case {
	const char *name;
	const char *input;
	bool want_ok;
	const char *want_domain;
	const char *want_keywords; /* joined by '|' */
	size_t want_malformed;
	bool starttls, pipelining, has_size;
	unsigned long long size;
};

static const struct ehlo_case ehlo_cases[] = {
        {"postfix-like",
         "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
         "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 "
         "SMTPUTF8\r\n",
         true, "mx.example",
         "PIPELINING|SIZE 10240000|VRFY|ETRN|STARTTLS|ENHANCEDSTATUSCODES|8BITMIME|DSN|SMTPUTF8", 0,
         true, true, true, 10240000},
        {"greeting text after the name", "250-mx.example Hello [127.0.0.1]\r\n250 SIZE\r\n", true,
         "mx.example", "SIZE", 0, false, false, true, 0},
        {"lower case keywords", "250-x\r\n250-starttls\r\n250 pipelining\r\n", true, "x",
         "STARTTLS|PIPELINING", 0, true, true, false, 0},
        {"no extensions", "250 mx.example\r\n", true, "mx.example", "", 0, false, false, false, 0},
        {"no STARTTLS", "250-x\r\n250-PIPELINING\r\n250 8BITMIME\r\n", true, "x",
         "PIPELINING|8BITMIME", 0, false, true, false, 0},
        {"STARTTLS is not START TLS", "250-x\r\n250 START TLS\r\n", true, "x", "START TLS", 0,
         false, false, false, 0},
        {"malformed keywords", "250-x\r\n250--BAD\r\n250-\x01\x02\r\n250-A_B\r\n250 OK-1\r\n", true,
         "x", "OK-1", 3, false, false, false, 0},
        {"hostile text is escaped",
         "250-evil\x1b[0m.example junk\r\n250-XEXT a\x07\\b\r\n250 SIZE "
         "99999999999999999999999\r\n",
         true, "evil\\x1b[0m.example", "XEXT a\\x07\\\\b|SIZE 99999999999999999999999", 0, false,
         false, true, 0},
        {"not 2xx", "502 5.5.2 unknown\r\n", false, NULL, NULL, 0, false, false, false, 0},
};

static void
test_ehlo_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(ehlo_cases) / sizeof(ehlo_cases[0]); i++) {
		const struct ehlo_case *c = &ehlo_cases[i];
		struct smtp_reply r;
		struct smtp_ehlo e;
		struct buf kw = BUF_INIT;
		struct why why = {""};
		size_t used;
		bool ok;

		smtp_reply_init(&r);
		if (smtp_reply_parse(&r, c->input, strlen(c->input), &used, NULL, NULL) !=
		    SMTP_PARSE_DONE)
			fail_msg("%s: the reply does not parse", c->name);
		ok = smtp_ehlo_parse(&e, &r, &why);
		if (ok != c->want_ok)
			fail_msg("%s: got %d (%s), want %d", c->name, ok, why.msg, c->want_ok);
		if (ok) {
			for (k = 0; k < e.n_keywords; k++) {
				if (k)
					buf_putc(&kw, '|');
				buf_puts(&kw, e.keywords[k]);
			}
			if (strcmp(e.domain, c->want_domain) != 0)
				fail_msg("%s: domain: got \"%s\", want \"%s\"", c->name, e.domain,
				         c->want_domain);
			if (strcmp(buf_str(&kw), c->want_keywords) != 0)
				fail_msg("%s: keywords: got \"%s\", want \"%s\"", c->name,
				         buf_str(&kw), c->want_keywords);
			if (e.n_malformed != c->want_malformed)
				fail_msg("%s: malformed: got %zu, want %zu", c->name, e.n_malformed,
				         c->want_malformed);
			if (e.starttls != c->starttls || e.pipelining != c->pipelining ||
			    e.has_size != c->has_size || e.size != c->size)
				fail_msg("%s: flags: got starttls %d pipelining %d size %d/%llu, "
				         "want "
				         "%d %d %d/%llu",
				         c->name, e.starttls, e.pipelining, e.has_size, e.size,
				         c->starttls, c->pipelining, c->has_size, c->size);
			if (c->starttls != smtp_ehlo_has(&e, "StartTLS"))
				fail_msg("%s: smtp_ehlo_has(StartTLS) disagrees with the flag",
				         c->name);
		}
		if (smtp_ehlo_has(&e, "PIPE"))
			fail_msg("%s: smtp_ehlo_has matched a prefix", c->name);
		buf_release(&kw);
		smtp_ehlo_clear(&e);
		smtp_reply_clear(&r);
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_result_name(SMTP_RESULT_OK), "ok");
	assert_string_equal(smtp_result_name(SMTP_RESULT_GREETING_REJECTED), "greeting-rejected");
	assert_string_equal(smtp_result_name(SMTP_RESULT_NO_STARTTLS), "no-starttls");
	assert_string_equal(smtp_result_name(SMTP_RESULT_STARTTLS_REJECTED), "starttls-rejected");
	assert_string_equal(smtp_result_name(SMTP_RESULT_TLS_FAILED), "tls-failed");
	assert_string_equal(smtp_result_name(SMTP_RESULT_PROTOCOL_ERROR), "protocol-error");
	assert_string_equal(smtp_result_name(SMTP_RESULT_UNREACHABLE), "unreachable");
	assert_string_equal(smtp_result_name(SMTP_RESULT_REFUSED), "refused");
	assert_string_equal(smtp_result_name(SMTP_RESULT_TIMEOUT), "timeout");
	assert_string_equal(smtp_stage_name(SMTP_STAGE_STARTTLS), "starttls");
}

/* ------------------------------------------------------------------------
 * Scripted servers for the probe.
 * ------------------------------------------------------------------------ */

enum op { END, SEND, EXPECT, SLEEP, TLS, CLOSE, NOTHING };

/* One step of a server script: send text, expect a line starting with text, ... */
struct step {
	enum op op;
	const char *text; /* SEND: bytes; EXPECT: the line's start */
	int n;            /* SEND: length (0: strlen); SLEEP: ms */
};

static SSL_CTX *server_ctx;
static SSL_CTX *client_ctx;

/* A self-signed P-256 certificate for the scripted TLS servers. */
static int
group_setup(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"smtp.test", -1,
	                           -1, 0);
	X509_set_issuer_name(x, n);
	X509_sign(x, key, EVP_sha256());
	server_ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(server_ctx, x);
	SSL_CTX_use_PrivateKey(server_ctx, key);
	client_ctx = SSL_CTX_new(TLS_client_method());
	X509_free(x);
	EVP_PKEY_free(key);
	return server_ctx && client_ctx ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	return 0;
}

/* Read one line (plain or TLS) into line; false at EOF or after 3 s. */
static bool
script_getline(int fd, SSL *ssl, char *line, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		char ch;
		ssize_t r = ssl ? SSL_read(ssl, &ch, 1) : recv(fd, &ch, 1, 0);

		if (r <= 0)
			return false;
		if (ch == '\n')
			break;
		if (ch != '\r')
			line[n++] = ch;
	}
	line[n] = '\0';
	return true;
}

/* The server side: exits 0 when every EXPECT matched, else the failing step's number. */
static void
run_script(int lfd, const struct step *script)
{
	struct timeval tv = {3, 0};
	int fd = accept(lfd, NULL, NULL);
	SSL *ssl = NULL;
	char line[512], junk[64];
	int i;

	if (fd < 0)
		_exit(100);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; script[i].op != END; i++) {
		const struct step *s = &script[i];
		size_t n = s->n ? (size_t)s->n : (s->text ? strlen(s->text) : 0);

		switch (s->op) {
		case SEND:
			if ((ssl ? SSL_write(ssl, s->text, (int)n) : send(fd, s->text, n, 0)) <= 0)
				_exit(i + 1);
			break;
		case EXPECT:
			if (!script_getline(fd, ssl, line, sizeof(line)) ||
			    strncmp(line, s->text, strlen(s->text)) != 0)
				_exit(i + 1);
			break;
		case NOTHING:
			/* the client must say nothing more (e.g. no QUIT after 421) */
			if (recv(fd, junk, sizeof(junk), 0) > 0)
				_exit(i + 1);
			break;
		case SLEEP:
			poll(NULL, 0, s->n);
			break;
		case TLS:
			ssl = SSL_new(server_ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) != 1)
				_exit(i + 1);
			break;
		case CLOSE:
			close(fd);
			_exit(0);
		case END:
			break;
		}
	}
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	_exit(0);
}

/* Listen on 127.0.0.1:<ephemeral> and fork the script; *addr gets the address. */
static pid_t
start_script(const struct step *script, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)addr, &len), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run_script(lfd, script);
	close(lfd);
	return pid;
}

struct probe_case {
	const char *name;
	struct step script[16];
	bool use_ssl;
	bool implicit_tls;
	unsigned timeout_ms; /* every stage; 0: 2000 */
	enum smtp_result want;
	enum smtp_stage want_stage;
	const char *want_why; /* substring, or NULL */
	bool want_tls;
	unsigned max_ms; /* the probe must end within this (0: no check) */
};

#define GREET                                                                                      \
	{                                                                                          \
		SEND, "220 mx.test ESMTP\r\n", 0                                                   \
	}
#define EHLO                                                                                       \
	{                                                                                          \
		EXPECT, "EHLO localhost", 0                                                        \
	}
#define QUIT                                                                                       \
	{                                                                                          \
		EXPECT, "QUIT", 0                                                                  \
	}
#define BYE                                                                                        \
	{                                                                                          \
		SEND, "221 bye\r\n", 0                                                             \
	}
#define TLS250                                                                                     \
	{                                                                                          \
		SEND, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 0                       \
	}

static const struct probe_case probe_cases[] = {
        {"STARTTLS after a slow multi-line greeting",
         {{SEND, "220-mx.test ESMTP\r\n", 0},
          {SLEEP, NULL, 300},
          {SEND, "220 ready\r\n", 0},
          EHLO,
          TLS250,
          {EXPECT, "STARTTLS", 0},
          {SEND, "220 2.0.0 go ahead\r\n", 0},
          {TLS, NULL, 0},
          QUIT,
          BYE},
         true,
         false,
         0,
         SMTP_RESULT_OK,
         SMTP_STAGE_TLS,
         NULL,
         true,
         0},
        {"421 greeting, no QUIT after it",
         {{SEND, "421 4.3.2 too busy\r\n", 0}, {NOTHING, NULL, 0}},
         true,
         false,
         0,
         SMTP_RESULT_GREETING_REJECTED,
         SMTP_STAGE_GREETING,
         "greeting: 421 4.3.2 too busy",
         false,
         0},
        {"554 greeting, then QUIT",
         {{SEND, "554 5.7.1 go away\r\n", 0}, QUIT, BYE},
         true,
         false,
         0,
         SMTP_RESULT_GREETING_REJECTED,
         SMTP_STAGE_GREETING,
         "554 5.7.1 go away",
         false,
         0},
        {"no STARTTLS offered",
         {GREET, EHLO, {SEND, "250-mx.test\r\n250 PIPELINING\r\n", 0}, QUIT, BYE},
         true,
         false,
         0,
         SMTP_RESULT_NO_STARTTLS,
         SMTP_STAGE_EHLO,
         "STARTTLS not offered",
         false,
         0},
        {"EHLO refused: HELO fallback",
         {GREET,
          EHLO,
          {SEND, "502 5.5.2 what?\r\n", 0},
          {EXPECT, "HELO localhost", 0},
          {SEND, "250 mx.test\r\n", 0},
          QUIT,
          BYE},
         true,
         false,
         0,
         SMTP_RESULT_NO_STARTTLS,
         SMTP_STAGE_HELO,
         "HELO accepted",
         false,
         0},
        {"EHLO 421",
         {GREET, EHLO, {SEND, "421 4.7.0 closing\r\n", 0}, {NOTHING, NULL, 0}},
         true,
         false,
         0,
         SMTP_RESULT_GREETING_REJECTED,
         SMTP_STAGE_EHLO,
         "EHLO: 421",
         false,
         0},
        {"STARTTLS refused",
         {GREET,
          EHLO,
          TLS250,
          {EXPECT, "STARTTLS", 0},
          {SEND, "454 4.7.0 no TLS now\r\n", 0},
          QUIT,
          BYE},
         true,
         false,
         0,
         SMTP_RESULT_STARTTLS_REJECTED,
         SMTP_STAGE_STARTTLS,
         "STARTTLS: 454 4.7.0 no TLS now",
         false,
         0},
        {"bytes injected after the STARTTLS reply",
         {GREET,
          EHLO,
          TLS250,
          {EXPECT, "STARTTLS", 0},
          {SEND, "220 go\r\n250 injected\r\n", 0},
          {SLEEP, NULL, 200}},
         true,
         false,
         0,
         SMTP_RESULT_PROTOCOL_ERROR,
         SMTP_STAGE_STARTTLS,
         "octets followed the 220 reply",
         false,
         0},
        {"TLS handshake fails",
         {GREET,
          EHLO,
          TLS250,
          {EXPECT, "STARTTLS", 0},
          {SEND, "220 go\r\n", 0},
          {SLEEP, NULL, 100},
          {SEND, "this is not TLS\r\n", 0},
          {CLOSE, NULL, 0}},
         true,
         false,
         0,
         SMTP_RESULT_TLS_FAILED,
         SMTP_STAGE_TLS,
         "TLS handshake: ",
         false,
         0},
        {"garbage greeting",
         {{SEND, "\x16\x03\x01\x00\xff\r\n", 7}, {SLEEP, NULL, 200}},
         true,
         false,
         0,
         SMTP_RESULT_PROTOCOL_ERROR,
         SMTP_STAGE_GREETING,
         "not an SMTP reply",
         false,
         0},
        {"endless greeting line",
         {{SEND, "220 ", 0}, {SEND, NULL, -1}, {SLEEP, NULL, 1500}},
         true,
         false,
         0,
         SMTP_RESULT_PROTOCOL_ERROR,
         SMTP_STAGE_GREETING,
         "protocol error: line too long",
         false,
         1000},
        {"reply code changes within a reply",
         {GREET, EHLO, {SEND, "250-mx.test\r\n251 STARTTLS\r\n", 0}, {SLEEP, NULL, 200}},
         true,
         false,
         0,
         SMTP_RESULT_PROTOCOL_ERROR,
         SMTP_STAGE_EHLO,
         "changed from 250 to 251",
         false,
         0},
        {"closed before the greeting",
         {{CLOSE, NULL, 0}},
         true,
         false,
         0,
         SMTP_RESULT_PROTOCOL_ERROR,
         SMTP_STAGE_GREETING,
         "connection closed by the server during the greeting",
         false,
         0},
        {"no greeting in time",
         {{SLEEP, NULL, 1500}},
         true,
         false,
         300,
         SMTP_RESULT_TIMEOUT,
         SMTP_STAGE_GREETING,
         "no complete greeting within 300 ms",
         false,
         1000},
        {"stall after the greeting",
         {GREET, EHLO, {SLEEP, NULL, 1500}},
         true,
         false,
         300,
         SMTP_RESULT_TIMEOUT,
         SMTP_STAGE_EHLO,
         "ehlo: no complete reply",
         false,
         1000},
        {"no TLS wanted: stop after EHLO",
         {GREET, EHLO, TLS250, QUIT, BYE},
         false,
         false,
         0,
         SMTP_RESULT_OK,
         SMTP_STAGE_EHLO,
         NULL,
         false,
         0},
        {"implicit TLS",
         {{TLS, NULL, 0}, GREET, EHLO, {SEND, "250 mx.test\r\n", 0}, QUIT, BYE},
         true,
         true,
         0,
         SMTP_RESULT_OK,
         SMTP_STAGE_EHLO,
         NULL,
         true,
         0},
};

/* The endless line: 64 KB without a line end. */
static void
send_endless(struct step *s, char **mem)
{
	*mem = malloc(65536);
	memset(*mem, 'A', 65536);
	s->op = SEND;
	s->text = *mem;
	s->n = 65536;
}

static void
test_probe_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++) {
		const struct probe_case *c = &probe_cases[i];
		struct step script[16];
		struct sockaddr_in addr;
		struct smtp_probe_config cfg;
		struct smtp_report rep;
		SSL *ssl = c->use_ssl ? SSL_new(client_ctx) : NULL;
		char *mem = NULL;
		enum smtp_result got;
		int status, k;
		pid_t pid;

		memcpy(script, c->script, sizeof(script));
		for (k = 0; script[k].op != END; k++)
			if (script[k].op == SEND && script[k].n == -1)
				send_endless(&script[k], &mem);
		pid = start_script(script, &addr);
		free(mem);
		smtp_probe_config_init(&cfg);
		cfg.connect_ms = cfg.greeting_ms = cfg.command_ms = cfg.tls_ms =
		        c->timeout_ms ? c->timeout_ms : 2000;
		cfg.implicit_tls = c->implicit_tls;
		got = smtp_probe_blocking((struct sockaddr *)&addr, sizeof(addr), &cfg, ssl, &rep);
		if (got != c->want || rep.result != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name, smtp_result_name(got),
			         rep.why.msg, smtp_result_name(c->want));
		if (rep.stage != c->want_stage)
			fail_msg("%s: stage: got %s, want %s", c->name, smtp_stage_name(rep.stage),
			         smtp_stage_name(c->want_stage));
		if (c->want_why && strstr(rep.why.msg, c->want_why) == NULL)
			fail_msg("%s: got why \"%s\", want it to contain \"%s\"", c->name,
			         rep.why.msg, c->want_why);
		if (rep.tls != c->want_tls)
			fail_msg("%s: tls: got %d, want %d", c->name, rep.tls, c->want_tls);
		if (c->max_ms && rep.elapsed_ms > c->max_ms)
			fail_msg("%s: took %u ms, want at most %u", c->name, rep.elapsed_ms,
			         c->max_ms);
		if (c->want_tls && (ssl == NULL || SSL_get0_peer_certificate(ssl) == NULL))
			fail_msg("%s: the SSL holds no peer certificate after the probe", c->name);
		kill(pid, SIGTERM);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* a server killed by us (timeouts) is fine; otherwise every step must have passed
		 */
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			fail_msg("%s: the server script failed at step %d (client sent something "
			         "unexpected)",
			         c->name, WEXITSTATUS(status));
		smtp_report_clear(&rep);
		SSL_free(ssl);
	}
}

/* Report details of a good STARTTLS probe. */
static void
test_probe_report(void **state)
{
	static const struct step script[] = {
	        {SEND, "220-mx.test ESMTP\r\n220 second line\r\n", 0},
	        EHLO,
	        {SEND, "250-mx.test hello\r\n250-SIZE 1000\r\n250 STARTTLS\r\n", 0},
	        {EXPECT, "STARTTLS", 0},
	        {SEND, "220 go\r\n", 0},
	        {TLS, NULL, 0},
	        QUIT,
	        BYE,
	        {END, NULL, 0},
	};
	struct sockaddr_in addr;
	struct smtp_report rep;
	SSL *ssl = SSL_new(client_ctx);
	pid_t pid = start_script(script, &addr);
	int status;

	(void)state;
	assert_int_equal(
	        smtp_probe_blocking((struct sockaddr *)&addr, sizeof(addr), NULL, ssl, &rep),
	        SMTP_RESULT_OK);
	assert_int_equal(rep.greeting_code, 220);
	assert_int_equal(rep.greeting_lines, 2);
	assert_string_equal(buf_str(&rep.greeting), "220 mx.test ESMTP (+1 lines)");
	assert_int_equal(rep.ehlo_code, 250);
	assert_string_equal(rep.ehlo.domain, "mx.test");
	assert_true(rep.ehlo.starttls);
	assert_int_equal(rep.ehlo.size, 1000);
	assert_int_equal(rep.starttls_code, 220);
	assert_true(rep.tls);
	assert_string_equal(rep.why.msg, "");
	/* the SSL is detached from the closed socket but keeps the session */
	assert_int_equal(SSL_get_fd(ssl), -1);
	assert_non_null(SSL_get0_peer_certificate(ssl));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	smtp_report_clear(&rep);
	SSL_free(ssl);
}

static void
test_probe_refused(void **state)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof(addr);
	struct smtp_report rep;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* a port that was just free: bind, learn it, close (nothing listens) */
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	assert_int_equal(
	        smtp_probe_blocking((struct sockaddr *)&addr, sizeof(addr), NULL, NULL, &rep),
	        SMTP_RESULT_REFUSED);
	assert_int_equal(rep.stage, SMTP_STAGE_CONNECT);
	assert_non_null(strstr(rep.why.msg, "connect: Connection refused"));
	smtp_report_clear(&rep);
}

/*
 * Two probes at once through the non-blocking API, as an event loop would
 * drive them: one server answers at once, the other only after 300 ms; the
 * fast one must finish first, neither may block the other.
 */
static void
test_probe_concurrent(void **state)
{
	static const struct step fast[] = {
	        GREET, EHLO, {SEND, "250 mx.test\r\n", 0}, QUIT, BYE, {END, NULL, 0},
	};
	static const struct step slow[] = {
	        {SLEEP, NULL, 300}, GREET, EHLO, {SEND, "250 mx.test\r\n", 0}, QUIT, BYE,
	        {END, NULL, 0},
	};
	struct sockaddr_in a1, a2;
	pid_t p1 = start_script(slow, &a1), p2 = start_script(fast, &a2);
	struct smtp_probe *pr[2] = {
	        smtp_probe_new((struct sockaddr *)&a1, sizeof(a1), NULL, NULL),
	        smtp_probe_new((struct sockaddr *)&a2, sizeof(a2), NULL, NULL),
	};
	enum smtp_want want[2];
	int order[2], n_done = 0, status, i;

	(void)state;
	for (i = 0; i < 2; i++)
		want[i] = smtp_probe_step(pr[i], smtp_clock_ms());
	while (n_done < 2) {
		struct pollfd pfd[2];
		int64_t now = smtp_clock_ms(), wait = 5000;

		for (i = 0; i < 2; i++) {
			pfd[i].fd = want[i] == SMTP_WANT_DONE ? -1 : smtp_probe_fd(pr[i]);
			pfd[i].events = want[i] == SMTP_WANT_READ ? POLLIN : POLLOUT;
			pfd[i].revents = 0;
			if (want[i] != SMTP_WANT_DONE && smtp_probe_deadline(pr[i]) - now < wait)
				wait = smtp_probe_deadline(pr[i]) - now;
		}
		poll(pfd, 2, wait < 0 ? 0 : (int)wait);
		for (i = 0; i < 2; i++) {
			if (want[i] == SMTP_WANT_DONE || !pfd[i].revents)
				continue;
			want[i] = smtp_probe_step(pr[i], smtp_clock_ms());
			if (want[i] == SMTP_WANT_DONE)
				order[n_done++] = i;
		}
	}
	assert_int_equal(order[0], 1); /* the fast server's probe ends first */
	for (i = 0; i < 2; i++) {
		const struct smtp_report *rep = smtp_probe_report(pr[i]);

		if (rep->result != SMTP_RESULT_OK)
			fail_msg("probe %d: got %s (%s), want ok", i, smtp_result_name(rep->result),
			         rep->why.msg);
		assert_int_equal(smtp_probe_fd(pr[i]), -1);
		pr[i] = smtp_probe_free(pr[i]);
	}
	assert_int_equal(waitpid(p1, &status, 0), p1);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(waitpid(p2, &status, 0), p2);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reply_table),    cmocka_unit_test(test_reply_limits),
	        cmocka_unit_test(test_reply_bytewise), cmocka_unit_test(test_reply_describe),
	        cmocka_unit_test(test_ehlo_table),     cmocka_unit_test(test_names),
	        cmocka_unit_test(test_probe_table),    cmocka_unit_test(test_probe_report),
	        cmocka_unit_test(test_probe_refused),  cmocka_unit_test(test_probe_concurrent),
	};

	return cmocka_run_group_tests_name("smtp", tests, group_setup, group_teardown);
}
