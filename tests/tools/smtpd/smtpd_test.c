/*
 * smtpd_test.c - a small scriptable SMTP server for danemail's tests.
 *
 *   smtpd_test --listen ADDR:PORT [--cert FILE --key FILE]... [behaviour]
 *
 * Speaks just enough SMTP for probes and test deliveries: EHLO (with
 * STARTTLS unless told not to), HELO, STARTTLS, MAIL, RCPT, DATA (accepted
 * and discarded), RSET, NOOP, QUIT.  Behaviour switches make it a good or a
 * hostile server: no STARTTLS, old TLS versions only, a 421/554 greeting, a
 * slow or multi-line greeting (like postscreen), a stall after the greeting,
 * garbage, an endless line, a TLS alert or a TCP reset in the handshake,
 * EHLO or STARTTLS refused.  Several --cert/--key pairs (RSA + ECDSA) are
 * served side by side; a certificate file may hold its chain (leaf first).
 *
 * One process per connection (fork), so a stalled client blocks nobody.
 * SIGTERM stops the listener; connection processes die with it
 * (PR_SET_PDEATHSIG).  --pidfile is written once the socket listens, which
 * is how scripts know it is ready.  --log FILE gets one line per event
 * ("connect", "tls TLSv1.3 <cipher> sni=<name>", "cmd EHLO", ...), written
 * with one write(2) each so forked children do not interleave.
 *
 * A test tool: it trusts its command line, and treats clients as untrusted
 * only as far as bounded buffers go (lines over 2 KB are refused).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/buf.h"
#include "util/escape.h"

#define MAX_PAIRS    4
#define LINE_MAX_LEN 2048

struct options {
	const char *listen;
	const char *certs[MAX_PAIRS];
	const char *keys[MAX_PAIRS];
	int n_certs, n_keys;
	const char *name;
	const char *pidfile;
	const char *logfile;
	int tls_min, tls_max;
	unsigned greeting_delay_ms;
	bool no_starttls, implicit_tls, multiline_greeting;
	bool greeting_421, greeting_554, stall, garbage, endless_line;
	bool tls_alert, reset_in_handshake, ehlo_5xx, starttls_454;
};

static struct options opt;
static SSL_CTX *ctx;
static int log_fd = -1;
static volatile sig_atomic_t stopping;

/* One client connection. */
struct conn {
	int fd;
	SSL *ssl;
	char in[LINE_MAX_LEN * 2];
	size_t in_len;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logf_(const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%ld ", (long)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(log_fd, line, (size_t)n);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("smtpd_test: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
usage(FILE *fp)
{
	fputs("usage: smtpd_test --listen ADDR:PORT [options]\n"
	      "  --cert FILE --key FILE  certificate (chain, leaf first) and key; repeatable\n"
	      "  --name NAME             host name in the greeting and EHLO reply\n"
	      "  --no-starttls           do not offer STARTTLS\n"
	      "  --implicit-tls          TLS from the first byte (port 465 style)\n"
	      "  --tls-min V, --tls-max V  1.0, 1.1, 1.2 or 1.3 (below 1.2: security level 0)\n"
	      "  --greeting-delay MS     wait before the (final) greeting line\n"
	      "  --multiline-greeting    send \"220-\" lines before the final one (postscreen)\n"
	      "  --greeting-421, --greeting-554   refuse the session in the greeting\n"
	      "  --stall-after-greeting  greet, then never answer\n"
	      "  --garbage               send binary garbage instead of a greeting\n"
	      "  --endless-line          a greeting line that never ends\n"
	      "  --ehlo-5xx              refuse EHLO (502), accept HELO\n"
	      "  --starttls-454          refuse STARTTLS with 454\n"
	      "  --tls-alert             answer the ClientHello with a handshake_failure alert\n"
	      "  --reset-in-handshake    reset the TCP connection after the ClientHello\n"
	      "  --pidfile FILE          write the pid once listening\n"
	      "  --log FILE              append one line per event\n",
	      fp);
}

static int
tls_version(const char *v)
{
	if (strcmp(v, "1.0") == 0)
		return TLS1_VERSION;
	if (strcmp(v, "1.1") == 0)
		return TLS1_1_VERSION;
	if (strcmp(v, "1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(v, "1.3") == 0)
		return TLS1_3_VERSION;
	die("bad TLS version '%s' (1.0, 1.1, 1.2, 1.3)", v);
	return 0;
}

static void
parse_options(int argc, char **argv)
{
	enum {
		O_CERT = 256,
		O_KEY,
		O_NAME,
		O_NO_STARTTLS,
		O_IMPLICIT,
		O_TLS_MIN,
		O_TLS_MAX,
		O_DELAY,
		O_MULTILINE,
		O_421,
		O_554,
		O_STALL,
		O_GARBAGE,
		O_ENDLESS,
		O_EHLO_5XX,
		O_STARTTLS_454,
		O_TLS_ALERT,
		O_RESET,
		O_PIDFILE,
		O_LOG,
	};
	static const struct option longopts[] = {
	        {"listen", required_argument, NULL, 'l'},
	        {"cert", required_argument, NULL, O_CERT},
	        {"key", required_argument, NULL, O_KEY},
	        {"name", required_argument, NULL, O_NAME},
	        {"no-starttls", no_argument, NULL, O_NO_STARTTLS},
	        {"implicit-tls", no_argument, NULL, O_IMPLICIT},
	        {"tls-min", required_argument, NULL, O_TLS_MIN},
	        {"tls-max", required_argument, NULL, O_TLS_MAX},
	        {"greeting-delay", required_argument, NULL, O_DELAY},
	        {"multiline-greeting", no_argument, NULL, O_MULTILINE},
	        {"greeting-421", no_argument, NULL, O_421},
	        {"greeting-554", no_argument, NULL, O_554},
	        {"stall-after-greeting", no_argument, NULL, O_STALL},
	        {"garbage", no_argument, NULL, O_GARBAGE},
	        {"endless-line", no_argument, NULL, O_ENDLESS},
	        {"ehlo-5xx", no_argument, NULL, O_EHLO_5XX},
	        {"starttls-454", no_argument, NULL, O_STARTTLS_454},
	        {"tls-alert", no_argument, NULL, O_TLS_ALERT},
	        {"reset-in-handshake", no_argument, NULL, O_RESET},
	        {"pidfile", required_argument, NULL, O_PIDFILE},
	        {"log", required_argument, NULL, O_LOG},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	opt.name = "smtpd-test.invalid";
	while ((c = getopt_long(argc, argv, "l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt.listen = optarg;
			break;
		case O_CERT:
			if (opt.n_certs == MAX_PAIRS)
				die("at most %d --cert", MAX_PAIRS);
			opt.certs[opt.n_certs++] = optarg;
			break;
		case O_KEY:
			if (opt.n_keys == MAX_PAIRS)
				die("at most %d --key", MAX_PAIRS);
			opt.keys[opt.n_keys++] = optarg;
			break;
		case O_NAME:
			opt.name = optarg;
			break;
		case O_NO_STARTTLS:
			opt.no_starttls = true;
			break;
		case O_IMPLICIT:
			opt.implicit_tls = true;
			break;
		case O_TLS_MIN:
			opt.tls_min = tls_version(optarg);
			break;
		case O_TLS_MAX:
			opt.tls_max = tls_version(optarg);
			break;
		case O_DELAY:
			opt.greeting_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_MULTILINE:
			opt.multiline_greeting = true;
			break;
		case O_421:
			opt.greeting_421 = true;
			break;
		case O_554:
			opt.greeting_554 = true;
			break;
		case O_STALL:
			opt.stall = true;
			break;
		case O_GARBAGE:
			opt.garbage = true;
			break;
		case O_ENDLESS:
			opt.endless_line = true;
			break;
		case O_EHLO_5XX:
			opt.ehlo_5xx = true;
			break;
		case O_STARTTLS_454:
			opt.starttls_454 = true;
			break;
		case O_TLS_ALERT:
			opt.tls_alert = true;
			break;
		case O_RESET:
			opt.reset_in_handshake = true;
			break;
		case O_PIDFILE:
			opt.pidfile = optarg;
			break;
		case O_LOG:
			opt.logfile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(64);
		}
	}
	if (optind != argc || opt.listen == NULL) {
		usage(stderr);
		exit(64);
	}
	if (opt.n_certs != opt.n_keys)
		die("every --cert needs its --key");
	if ((opt.implicit_tls || !opt.no_starttls) && opt.n_certs == 0 && !opt.tls_alert &&
	    !opt.reset_in_handshake)
		opt.no_starttls = true; /* nothing to offer TLS with */
}

/* Fail the handshake right at the ClientHello: OpenSSL sends the alert. */
static int
hello_fail(SSL *s, int *al, void *arg)
{
	(void)s;
	(void)arg;
	*al = SSL_AD_HANDSHAKE_FAILURE;
	return SSL_CLIENT_HELLO_ERROR;
}

static void
make_ctx(void)
{
	int i;

	if (opt.n_certs == 0 && !opt.tls_alert)
		return;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		die("SSL_CTX_new failed");
	if ((opt.tls_min && opt.tls_min < TLS1_2_VERSION) ||
	    (opt.tls_max && opt.tls_max < TLS1_2_VERSION)) {
		/* OpenSSL 3 allows TLS 1.0/1.1 only at security level 0 */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	}
	if (opt.tls_min && !SSL_CTX_set_min_proto_version(ctx, opt.tls_min))
		die("cannot set the minimum TLS version");
	if (opt.tls_max && !SSL_CTX_set_max_proto_version(ctx, opt.tls_max))
		die("cannot set the maximum TLS version");
	for (i = 0; i < opt.n_certs; i++) {
		if (SSL_CTX_use_certificate_chain_file(ctx, opt.certs[i]) != 1)
			die("cannot load certificate %s", opt.certs[i]);
		if (SSL_CTX_use_PrivateKey_file(ctx, opt.keys[i], SSL_FILETYPE_PEM) != 1)
			die("cannot load key %s", opt.keys[i]);
		if (SSL_CTX_check_private_key(ctx) != 1)
			die("key %s does not match certificate %s", opt.keys[i], opt.certs[i]);
	}
	if (opt.tls_alert)
		SSL_CTX_set_client_hello_cb(ctx, hello_fail, NULL);
}

/* ------------------------------------------------------------------------
 * Connection I/O (plain or TLS).
 * ------------------------------------------------------------------------ */

static bool
conn_write(struct conn *c, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, s, (int)n);

			if (r <= 0)
				return false;
			w = r;
		} else {
			w = send(c->fd, s, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return false;
		}
		s += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
reply(struct conn *c, const char *text)
{
	return conn_write(c, text, strlen(text));
}

static ssize_t
conn_read(struct conn *c, void *p, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, p, (int)n);

		return r > 0 ? r : -1;
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		return r > 0 ? r : -1;
	}
}

/* Next line without its CRLF: its length, -1 at EOF, -2 when longer than the buffer. */
static ssize_t
conn_getline(struct conn *c, char *line, size_t max)
{
	bool overlong = false;

	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - c->in), take = n;

			if (take > 0 && c->in[take - 1] == '\r')
				take--;
			if (!overlong) {
				if (take >= max)
					overlong = true;
				else {
					memcpy(line, c->in, take);
					line[take] = '\0';
				}
			}
			memmove(c->in, nl + 1, c->in_len - n - 1);
			c->in_len -= n + 1;
			return overlong ? -2 : (ssize_t)take;
		}
		if (c->in_len == sizeof(c->in)) {
			overlong = true;
			c->in_len = 0;
		}
		r = conn_read(c, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (r < 0)
			return -1;
		c->in_len += (size_t)r;
	}
}

static void
log_tls(struct conn *c)
{
	const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	struct buf esc = BUF_INIT;

	logf_("tls %s %s sni=%s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
	      sni ? escape_str(&esc, sni) : "-");
	buf_release(&esc);
}

static bool
tls_start(struct conn *c)
{
	char buf[512];

	if (opt.reset_in_handshake) {
		/* read (part of) the ClientHello, then RST: SO_LINGER with 0 s */
		struct linger lg = {1, 0};

		(void)!recv(c->fd, buf, sizeof(buf), 0);
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		logf_("reset in handshake");
		return false;
	}
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_accept(c->ssl) != 1) {
		unsigned long e = ERR_get_error();

		ERR_error_string_n(e, buf, sizeof(buf));
		logf_("tls-failed %s", buf);
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
		return false;
	}
	c->in_len = 0;
	log_tls(c);
	return true;
}

static void
sleep_ms(unsigned ms)
{
	poll(NULL, 0, (int)ms);
}

/* ------------------------------------------------------------------------
 * The SMTP dialogue.
 * ------------------------------------------------------------------------ */

static bool
greet(struct conn *c)
{
	char line[256];

	if (opt.garbage) {
		static const char junk[] = "\x16\x03\x01\x02\x00garbage\x00\xff\xfe\r\nHTTP/1.0 "
		                           "200 OK\r\n\r\n";

		conn_write(c, junk, sizeof(junk) - 1);
		logf_("sent garbage");
		return false;
	}
	if (opt.endless_line) {
		char chunk[4096];
		size_t sent;

		memset(chunk, 'A', sizeof(chunk));
		reply(c, "220 ");
		/* up to 16 MB, until the client gives up */
		for (sent = 0; sent < (16u << 20); sent += sizeof(chunk))
			if (!conn_write(c, chunk, sizeof(chunk)))
				break;
		logf_("endless line: %zu octets", sent);
		return false;
	}
	if (opt.multiline_greeting) {
		snprintf(line, sizeof(line), "220-%s ESMTP smtpd_test\r\n", opt.name);
		reply(c, line);
	}
	if (opt.greeting_delay_ms)
		sleep_ms(opt.greeting_delay_ms);
	if (opt.multiline_greeting)
		reply(c, "220-please wait for the last line\r\n");
	if (opt.greeting_421) {
		snprintf(line, sizeof(line), "421 4.3.2 %s Service not available\r\n", opt.name);
		reply(c, line);
		logf_("greeting 421");
		return false;
	}
	if (opt.greeting_554) {
		snprintf(line, sizeof(line), "554 5.7.1 %s No SMTP service here\r\n", opt.name);
		reply(c, line);
		logf_("greeting 554");
		return true; /* RFC 5321 3.1: the client should QUIT */
	}
	snprintf(line, sizeof(line), "220 %s ESMTP smtpd_test\r\n", opt.name);
	return reply(c, line);
}

static void
send_ehlo(struct conn *c)
{
	char text[512];

	snprintf(text, sizeof(text),
	         "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n%s250-ENHANCEDSTATUSCODES\r\n"
	         "250 8BITMIME\r\n",
	         opt.name, c->ssl == NULL && !opt.no_starttls ? "250-STARTTLS\r\n" : "");
	reply(c, text);
}

static void
read_data(struct conn *c)
{
	char line[LINE_MAX_LEN];
	ssize_t n;
	size_t lines = 0;

	while ((n = conn_getline(c, line, sizeof(line))) != -1) {
		if (n == 1 && line[0] == '.')
			break;
		lines++;
	}
	logf_("data %zu lines", lines);
	reply(c, "250 2.0.0 Ok: queued as SMTPDTEST\r\n");
}

static void
serve(int fd)
{
	struct conn c = {.fd = fd};
	char line[LINE_MAX_LEN];
	struct buf esc = BUF_INIT;
	bool refused = opt.greeting_554;
	ssize_t n;

	logf_("connect");
	if (opt.implicit_tls && !tls_start(&c))
		goto out;
	if (!greet(&c))
		goto out;
	if (opt.stall) {
		logf_("stalling");
		while (conn_getline(&c, line, sizeof(line)) != -1)
			;
		goto out;
	}
	while ((n = conn_getline(&c, line, sizeof(line))) != -1) {
		char verb[16];
		size_t i;

		if (n == -2) {
			reply(&c, "500 5.5.0 Error: line too long\r\n");
			continue;
		}
		for (i = 0; i + 1 < sizeof(verb) && line[i] && line[i] != ' '; i++)
			verb[i] = line[i];
		verb[i] = '\0';
		logf_("cmd %s", escape_str(&esc, verb));
		if (strcasecmp(verb, "QUIT") == 0) {
			reply(&c, "221 2.0.0 Bye\r\n");
			break;
		}
		if (refused) {
			reply(&c, "503 5.5.1 Error: no SMTP service\r\n");
			continue;
		}
		if (strcasecmp(verb, "EHLO") == 0) {
			if (opt.ehlo_5xx)
				reply(&c, "502 5.5.2 Error: command not recognized\r\n");
			else
				send_ehlo(&c);
		} else if (strcasecmp(verb, "HELO") == 0) {
			snprintf(line, sizeof(line), "250 %s\r\n", opt.name);
			reply(&c, line);
		} else if (strcasecmp(verb, "STARTTLS") == 0) {
			if (c.ssl) {
				reply(&c, "554 5.5.1 Error: TLS already active\r\n");
			} else if (opt.no_starttls) {
				reply(&c, "502 5.5.1 Error: command not implemented\r\n");
			} else if (opt.starttls_454) {
				reply(&c, "454 4.7.0 TLS not available due to local problem\r\n");
			} else {
				reply(&c, "220 2.0.0 Ready to start TLS\r\n");
				if (!tls_start(&c))
					goto out;
			}
		} else if (strcasecmp(verb, "MAIL") == 0) {
			reply(&c, "250 2.1.0 Ok\r\n");
		} else if (strcasecmp(verb, "RCPT") == 0) {
			reply(&c, "250 2.1.5 Ok\r\n");
		} else if (strcasecmp(verb, "DATA") == 0) {
			reply(&c, "354 End data with <CR><LF>.<CR><LF>\r\n");
			read_data(&c);
		} else if (strcasecmp(verb, "RSET") == 0 || strcasecmp(verb, "NOOP") == 0) {
			reply(&c, "250 2.0.0 Ok\r\n");
		} else {
			reply(&c, "502 5.5.2 Error: command not recognized\r\n");
		}
	}
out:
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	logf_("close");
	buf_release(&esc);
	close(fd);
}

/* ------------------------------------------------------------------------
 * Listener.
 * ------------------------------------------------------------------------ */

static int
listen_on(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {0}, *ai;
	int fd, on = 1, rc;

	if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(host))
		die("--listen wants ADDR:PORT, got '%s'", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0)
		die("--listen %s: %s", spec, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		die("bind %s: %s", spec, strerror(errno));
	if (listen(fd, 64) != 0)
		die("listen %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	pid_t parent = getpid();
	int lfd;

	parse_options(argc, argv);
	make_ctx();
	if (opt.logfile) {
		log_fd = open(opt.logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (log_fd < 0)
			die("cannot open %s: %s", opt.logfile, strerror(errno));
	}
	lfd = listen_on(opt.listen);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term; /* no SA_RESTART: accept() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
	signal(SIGPIPE, SIG_IGN);

	if (opt.pidfile) {
		FILE *fp = fopen(opt.pidfile, "w");

		if (fp == NULL || fprintf(fp, "%ld\n", (long)parent) < 0 || fclose(fp) != 0)
			die("cannot write %s", opt.pidfile);
	}
	logf_("listening on %s", opt.listen);
	while (!stopping) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				sleep_ms(10);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(0);
			close(lfd);
			alarm(120); /* no connection lives longer, whatever the client does */
			serve(c);
			_exit(0);
		}
		close(c);
	}
	close(lfd);
	if (opt.pidfile)
		unlink(opt.pidfile);
	logf_("stopped");
	SSL_CTX_free(ctx);
	return 0;
}
