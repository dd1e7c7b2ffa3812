/*
 * hostile_smtpd.c - many misbehaving SMTP servers in one process, for the
 * scanner's scale test (issue 8 part 4) and its rate limit test.
 *
 *   hostile_smtpd --first ADDR --count N --port P [--behaviours LIST]
 *                 [--map FILE] [--log FILE] [--pidfile FILE]
 *
 * Listens on N consecutive loopback addresses from ADDR (127.0.0.0/8 is
 * routed on lo without any set-up), all on port P; address i behaves as
 * the (i mod n)-th of the comma-separated LIST (default: all of them):
 *
 *   stall      accept, never send a byte
 *   garbage    binary bytes that are no SMTP, then silence
 *   endless    "220 " and a line that never ends (until the client leaves)
 *   drip       the greeting one byte a second
 *   421        "421 4.3.2 busy" and close
 *   tls-alert  a normal dialogue up to STARTTLS, then a fatal TLS
 *              handshake_failure alert for the ClientHello
 *   tls-reset  the same, then a TCP reset (SO_LINGER 0) mid-handshake
 *   ok         a plain SMTP server without STARTTLS (for rate tests)
 *
 * --map writes "ADDR BEHAVIOUR" per address once every socket listens,
 * then --pidfile (which is how scripts know it is ready); --log gets
 * "<unix ms> <addr> connect" per accepted connection.  One libevent loop
 * for everything, so a thousand stalled clients cost a thousand sockets,
 * nothing more.  SIGTERM or SIGINT stops it.
 *
 * A test tool: it trusts its command line; what clients send is only
 * buffered up to a bound and matched against a few commands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

enum behaviour { B_STALL, B_GARBAGE, B_ENDLESS, B_DRIP, B_421, B_TLS_ALERT, B_TLS_RESET, B_OK };
static const char *const behaviour_names[] = {
        "stall", "garbage", "endless", "drip", "421", "tls-alert", "tls-reset", "ok",
};
#define N_BEHAVIOURS (sizeof(behaviour_names) / sizeof(behaviour_names[0]))

/* Client input kept at most (a line longer than this closes the connection). */
#define INPUT_MAX 4096

struct endpoint {
	char addr[INET_ADDRSTRLEN];
	enum behaviour b;
	struct evconnlistener *listener;
};

struct conn {
	struct endpoint *ep;
	struct bufferevent *bev;
	struct event *drip;
	size_t dripped;
	bool tls; /* STARTTLS accepted: the next bytes are a ClientHello */
};

static struct event_base *base;
static FILE *log_fp;
static unsigned long conns_open, conns_total;

static const char drip_greeting[] = "220 drip.test ESMTP hostile_smtpd\r\n";

static void
usage(FILE *fp)
{
	fputs("usage: hostile_smtpd --first ADDR --count N --port P [options]\n"
	      "  --behaviours LIST   comma-separated, assigned round-robin (default all):\n"
	      "                      stall garbage endless drip 421 tls-alert tls-reset ok\n"
	      "  --map FILE          write \"ADDR BEHAVIOUR\" lines once listening\n"
	      "  --log FILE          \"<unix ms> <addr> connect\" per connection\n"
	      "  --pidfile FILE      written last, once everything listens\n",
	      fp);
}

static void
conn_free(struct conn *c)
{
	if (c->drip)
		event_free(c->drip);
	bufferevent_free(c->bev);
	free(c);
	conns_open--;
}

/* Close once what is queued has been written. */
static void
close_after_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

static void
finish(struct conn *c)
{
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, close_after_write, NULL, c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg);
}

/* The endless line: another chunk whenever the last one has gone. */
static void
endless_more(struct bufferevent *bev, void *arg)
{
	char chunk[4096];

	(void)arg;
	memset(chunk, 'A', sizeof(chunk));
	bufferevent_write(bev, chunk, sizeof(chunk));
}

static void
drip_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval second = {1, 0};

	(void)fd;
	(void)what;
	if (c->dripped < sizeof(drip_greeting) - 1) {
		bufferevent_write(c->bev, drip_greeting + c->dripped++, 1);
		evtimer_add(c->drip, &second);
	}
}

/* The SMTP dialogue of tls-alert, tls-reset and ok. */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	if (c->tls) {
		if (c->ep->b == B_TLS_ALERT) {
			/* TLS 1.2 record: alert, fatal (2), handshake_failure (40) */
			static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00,
			                                      0x02, 0x02, 0x28};

			bufferevent_write(bev, alert, sizeof(alert));
			finish(c);
		} else {
			struct linger lg = {1, 0};
			evutil_socket_t fd = bufferevent_getfd(bev);

			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			conn_free(c); /* close(2) with linger 0: RST */
		}
		return;
	}
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			bufferevent_write(bev, "250-hostile.test\r\n", 18);
			if (c->ep->b == B_OK)
				bufferevent_write(bev, "250 8BITMIME\r\n", 14);
			else
				bufferevent_write(bev, "250 STARTTLS\r\n", 14);
		} else if (strncasecmp(line, "HELO", 4) == 0) {
			bufferevent_write(bev, "250 hostile.test\r\n", 18);
		} else if (strncasecmp(line, "STARTTLS", 8) == 0 && c->ep->b != B_OK) {
			bufferevent_write(bev, "220 2.0.0 go ahead\r\n", 20);
			c->tls = true;
			free(line);
			if (evbuffer_get_length(in) > 0)
				on_read(bev, arg);
			return;
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			bufferevent_write(bev, "221 2.0.0 bye\r\n", 15);
			free(line);
			finish(c);
			return;
		} else {
			bufferevent_write(bev, "250 2.0.0 ok\r\n", 14);
		}
		free(line);
	}
	if (evbuffer_get_length(in) > INPUT_MAX)
		conn_free(c);
}

/* Drop whatever the client sends (behaviours that do not listen). */
static void
on_read_discard(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct endpoint *ep = arg;
	struct conn *c = calloc(1, sizeof(*c));
	struct timeval now;

	(void)l;
	(void)sa;
	(void)salen;
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->ep = ep;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		evutil_closesocket(fd);
		return;
	}
	conns_open++;
	conns_total++;
	if (log_fp) {
		gettimeofday(&now, NULL);
		fprintf(log_fp, "%lld %s connect\n",
		        (long long)now.tv_sec * 1000 + now.tv_usec / 1000, ep->addr);
		fflush(log_fp);
	}
	bufferevent_setcb(c->bev, on_read_discard, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	switch (ep->b) {
	case B_STALL:
		break;
	case B_GARBAGE: {
		static const unsigned char junk[] = {0x16, 0x03, 0x01, 0x02, 0x00, 'g', 'a', 'r',
		                                     0x00, 0xff, 0xfe, 0x80, 0x1b, '[', '2', 'J',
		                                     '\r', '\n', 0x00, 0x00, 0xc3, 0x28};

		bufferevent_write(c->bev, junk, sizeof(junk));
		break;
	}
	case B_ENDLESS:
		bufferevent_write(c->bev, "220 ", 4);
		bufferevent_setcb(c->bev, on_read_discard, endless_more, on_event, c);
		break;
	case B_DRIP:
		if ((c->drip = evtimer_new(base, drip_cb, c)) != NULL)
			drip_cb(-1, 0, c);
		break;
	case B_421:
		bufferevent_write(c->bev, "421 4.3.2 busy, try later\r\n", 27);
		finish(c);
		break;
	case B_TLS_ALERT:
	case B_TLS_RESET:
	case B_OK:
		bufferevent_write(c->bev, "220 hostile.test ESMTP\r\n", 24);
		bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
		break;
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static bool
parse_behaviours(const char *list, enum behaviour *out, size_t *n)
{
	char *copy = strdup(list), *save = NULL, *tok;
	size_t i;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < N_BEHAVIOURS && strcmp(tok, behaviour_names[i]) != 0; i++)
			;
		if (i == N_BEHAVIOURS || *n == 64) {
			fprintf(stderr, "hostile_smtpd: unknown behaviour '%s'\n", tok);
			free(copy);
			return false;
		}
		out[(*n)++] = (enum behaviour)i;
	}
	free(copy);
	return *n > 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"first", required_argument, NULL, 'f'},
	        {"count", required_argument, NULL, 'n'},
	        {"port", required_argument, NULL, 'p'},
	        {"behaviours", required_argument, NULL, 'b'},
	        {"map", required_argument, NULL, 'm'},
	        {"log", required_argument, NULL, 'l'},
	        {"pidfile", required_argument, NULL, 'P'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *first = NULL, *map = NULL, *pidfile = NULL;
	enum behaviour bs[64];
	size_t n_bs = N_BEHAVIOURS, i;
	unsigned long count = 0, port = 0;
	struct endpoint *eps;
	struct in_addr a0;
	struct rlimit rl;
	struct event *sigterm, *sigint;
	FILE *fp;
	int c;

	for (i = 0; i < N_BEHAVIOURS; i++)
		bs[i] = (enum behaviour)i;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			first = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			if (!parse_behaviours(optarg, bs, &n_bs))
				return 64;
			break;
		case 'm':
			map = optarg;
			break;
		case 'l':
			if ((log_fp = fopen(optarg, "a")) == NULL) {
				perror(optarg);
				return 1;
			}
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (first == NULL || inet_pton(AF_INET, first, &a0) != 1 || count == 0 || count > 65536 ||
	    port == 0 || port > 65535) {
		usage(stderr);
		return 64;
	}
	/* a socket per address and one per client */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		return 1;
	eps = calloc(count, sizeof(*eps));
	if (eps == NULL)
		return 1;
	for (i = 0; i < count; i++) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(ntohl(a0.s_addr) + (uint32_t)i);
		inet_ntop(AF_INET, &sin.sin_addr, eps[i].addr, sizeof(eps[i].addr));
		eps[i].b = bs[i % n_bs];
		eps[i].listener = evconnlistener_new_bind(
		        base, on_accept, &eps[i], LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
		        (struct sockaddr *)&sin, sizeof(sin));
		if (eps[i].listener == NULL) {
			fprintf(stderr, "hostile_smtpd: %s:%lu: %s\n", eps[i].addr, port,
			        strerror(errno));
			return errno == EADDRINUSE ? 75 : 1;
		}
	}
	if (map) {
		if ((fp = fopen(map, "w")) == NULL) {
			perror(map);
			return 1;
		}
		for (i = 0; i < count; i++)
			fprintf(fp, "%s %s\n", eps[i].addr, behaviour_names[eps[i].b]);
		if (fclose(fp) != 0)
			return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0)
		return 1;
	if (pidfile) {
		if ((fp = fopen(pidfile, "w")) == NULL) {
			perror(pidfile);
			return 1;
		}
		fprintf(fp, "%ld\n", (long)getpid());
		if (fclose(fp) != 0)
			return 1;
	}
	event_base_dispatch(base);
	fprintf(stderr, "hostile_smtpd: %lu connections, %lu open at the end\n", conns_total,
	        conns_open);
	for (i = 0; i < count; i++)
		evconnlistener_free(eps[i].listener);
	free(eps);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	if (log_fp)
		fclose(log_fp);
	return 0;
}
