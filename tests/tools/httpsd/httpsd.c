/*
 * httpsd.c - a tiny HTTPS file server for danemail's MTA-STS tests.
 *
 *   httpsd --listen ADDR:PORT --cert FILE --key FILE --root DIR
 *          [--content-type TYPE] [--status N] [--no-content-length]
 *          [--pidfile FILE]
 *
 * Serves GET requests for files under DIR by path (GET
 * /.well-known/mta-sts.txt reads DIR/.well-known/mta-sts.txt) over TLS 1.2
 * or later, one request per connection ("Connection: close").  Answers 200
 * with the file, 404 when there is none, 405 for other methods and 400 for
 * anything it cannot parse.  --status N answers N to every GET (with the
 * file as body when there is one; 3xx answers carry a Location header) and
 * --content-type sets the Content-Type of every answer (default
 * text/plain).  --no-content-length sends the body without a length,
 * ended by closing the connection, so a client's size limit has to stop a
 * stream.  The certificate file may hold a chain (leaf first).
 *
 * One process per connection (fork), each killed by SIGALRM after 10 s and
 * by its parent's death (PR_SET_PDEATHSIG).  SIGTERM stops the listener
 * (and removes the pidfile); --pidfile is written once the socket listens,
 * which is how a test knows the server is ready.
 *
 * A test tool: it trusts its command line.  Clients are untrusted only as
 * far as bounded buffers go (request heads over 8 KB are refused) and paths
 * with "..", "//" or '%' are refused rather than decoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/buf.h"

#define HEAD_MAX  8192
#define BODY_MAX  (16 * 1024 * 1024)
#define CHILD_TTL 10

struct options {
	const char *listen;
	const char *cert;
	const char *key;
	const char *root;
	const char *content_type;
	const char *pidfile;
	int status; /* 0: 200 or 404 by the file */
	bool no_content_length;
};

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: httpsd --listen ADDR:PORT --cert FILE --key FILE --root DIR\n"
	                "              [--content-type TYPE] [--status N] [--no-content-length]\n"
	                "              [--pidfile FILE]\n");
	exit(2);
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 500:
		return "Internal Server Error";
	default:
		return "Status";
	}
}

static bool
tls_write_all(SSL *ssl, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		int chunk = n > 16384 ? 16384 : (int)n;
		int w = SSL_write(ssl, c, chunk);

		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read the request head (up to the blank line); false if it is too long or cut short. */
static bool
read_head(SSL *ssl, struct buf *head)
{
	char chunk[1024];

	while (strstr(buf_str(head), "\r\n\r\n") == NULL && strstr(buf_str(head), "\n\n") == NULL) {
		int r;

		if (head->len >= HEAD_MAX)
			return false;
		r = SSL_read(ssl, chunk, sizeof(chunk));
		if (r <= 0)
			return false;
		buf_append(head, chunk, (size_t)r);
	}
	return true;
}

/* The file at root + path into body; false if there is no regular file. */
static bool
read_file(const char *root, const char *path, struct buf *body)
{
	struct buf full = BUF_INIT;
	struct stat st;
	char chunk[8192];
	ssize_t r;
	int fd;

	buf_printf(&full, "%s%s", root, path);
	fd = open(buf_str(&full), O_RDONLY | O_CLOEXEC);
	buf_release(&full);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BODY_MAX) {
		close(fd);
		return false;
	}
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(body, chunk, (size_t)r);
	close(fd);
	return r == 0;
}

/* Answer one request on an accepted TLS connection. */
static void
serve(SSL *ssl, const struct options *o)
{
	struct buf head = BUF_INIT, body = BUF_INIT, reply = BUF_INIT;
	char method[16], target[1024];
	int status;
	bool have_file = false;

	if (!read_head(ssl, &head)) {
		status = 400;
	} else if (sscanf(buf_str(&head), "%15s %1023s HTTP/1.%*c", method, target) != 2) {
		status = 400;
	} else if (strcmp(method, "GET") != 0) {
		status = 405;
	} else {
		char *q = strchr(target, '?');

		if (q)
			*q = '\0';
		if (target[0] != '/' || strstr(target, "..") || strstr(target, "//") ||
		    strchr(target, '%')) {
			status = 400;
		} else {
			have_file = read_file(o->root, target, &body);
			status = o->status ? o->status : have_file ? 200 : 404;
		}
	}
	if (!have_file) {
		buf_reset(&body);
		buf_printf(&body, "%d %s\n", status, reason_phrase(status));
	}
	buf_printf(&reply, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nConnection: close\r\n", status,
	           reason_phrase(status), o->content_type);
	if (!o->no_content_length)
		buf_printf(&reply, "Content-Length: %zu\r\n", body.len);
	if (status >= 300 && status < 400)
		buf_puts(&reply, "Location: https://elsewhere.invalid/.well-known/mta-sts.txt\r\n");
	buf_puts(&reply, "\r\n");
	if (tls_write_all(ssl, reply.data, reply.len) && tls_write_all(ssl, body.data, body.len))
		SSL_shutdown(ssl);
	buf_release(&head);
	buf_release(&body);
	buf_release(&reply);
}

/* A listening socket on "ADDR:PORT" ("[v6]:PORT" for IPv6), or -1. */
static int
listen_on(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hlen;
	int fd, one = 1;

	if (colon == NULL || colon == spec)
		return -1;
	hlen = (size_t)(colon - spec);
	if (spec[0] == '[' && colon[-1] == ']') {
		h = spec + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	                bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *
tls_context(const struct options *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
child(int fd, SSL_CTX *ctx, const struct options *o)
{
	SSL *ssl;

	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm(CHILD_TTL);
	ssl = SSL_new(ctx);
	if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1)
		serve(ssl, o);
	SSL_free(ssl);
	close(fd);
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"listen", required_argument, NULL, 'l'},
	        {"cert", required_argument, NULL, 'c'},
	        {"key", required_argument, NULL, 'k'},
	        {"root", required_argument, NULL, 'r'},
	        {"content-type", required_argument, NULL, 't'},
	        {"status", required_argument, NULL, 's'},
	        {"no-content-length", no_argument, NULL, 'n'},
	        {"pidfile", required_argument, NULL, 'p'},
	        {NULL, 0, NULL, 0},
	};
	struct options o = {.content_type = "text/plain"};
	struct sigaction sa;
	SSL_CTX *ctx;
	int opt, lfd;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			o.listen = optarg;
			break;
		case 'c':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 't':
			o.content_type = optarg;
			break;
		case 's':
			o.status = atoi(optarg);
			if (o.status < 100 || o.status > 599)
				usage();
			break;
		case 'n':
			o.no_content_length = true;
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !o.listen || !o.cert || !o.key || !o.root)
		usage();
	if ((ctx = tls_context(&o)) == NULL) {
		fprintf(stderr, "httpsd: cannot load %s / %s\n", o.cert, o.key);
		return 1;
	}
	if ((lfd = listen_on(o.listen)) < 0) {
		fprintf(stderr, "httpsd: cannot listen on %s: %s\n", o.listen, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	if (o.pidfile) {
		FILE *fp = fopen(o.pidfile, "w");

		if (fp == NULL || fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0) {
			fprintf(stderr, "httpsd: cannot write %s\n", o.pidfile);
			return 1;
		}
	}
	while (!stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int fd;
		pid_t pid;

		if (poll(&p, 1, -1) <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			close(lfd);
			child(fd, ctx, &o);
			_exit(0);
		}
		close(fd);
	}
	close(lfd);
	if (o.pidfile)
		unlink(o.pidfile);
	SSL_CTX_free(ctx);
	return 0;
}
