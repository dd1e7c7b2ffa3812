/*
 * bench_scan_proxy.c - a delaying UDP/TCP proxy for the scanner benchmark
 * (bench/scan.sh): this kernel has no netem, so latency is added in user
 * space, in front of NSD and the SMTP servers.
 *
 *   bench_scan_proxy --delay MS [--udp LISTEN=UPSTREAM]... [--tcp LISTEN=UPSTREAM]...
 *                    [--pidfile FILE]
 *   LISTEN, UPSTREAM: IPv4ADDR:PORT
 *
 * Every datagram and every chunk of a TCP stream is held MS milliseconds
 * before it is passed on, in each direction (a round trip costs 2 x MS).
 * UDP (DNS only): one upstream socket per listener; the DNS message ID is
 * rewritten to one of the proxy's own so answers find their client (the
 * client's ID is put back).  TCP: one upstream connection per accepted one;
 * an end of stream is passed on (after the delay) as a half close.
 *
 * A benchmark tool: it trusts its command line; peers only get bounded
 * buffers.  One thread, one libevent loop; SIGTERM/SIGINT stop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define MAX_DGRAM     65535
#define DNS_IDS       65536
#define ID_TIMEOUT_MS 15000
#define TCP_CHUNK     16384
#define TCP_MAX_QUEUE (4 * 1024 * 1024) /* stop reading a side that is this far ahead */

static struct event_base *base;
static unsigned delay_ms;
/* Counted for the report printed at exit. */
static uint64_t n_udp_up, n_udp_down, n_tcp_conns;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "bench_scan_proxy: out of memory\n");
		abort();
	}
	return p;
}

static bool
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	memset(sin, 0, sizeof(*sin));
	if (colon == NULL || (n = (size_t)(colon - s)) >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 && sin->sin_port != 0;
}

/* A time-ordered queue of delayed items (the delay is constant: FIFO order is due order). */
struct item {
	struct item *next;
	int64_t due;
	struct sockaddr_in to; /* UDP */
	size_t len;            /* 0 with eof: end of stream */
	bool eof;
	uint8_t data[];
};

struct queue {
	struct item *head, *tail;
	size_t bytes;
	struct event *timer;
};

static void
queue_push(struct queue *q, struct item *it)
{
	struct timeval tv;

	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->bytes += it->len;
	if (!evtimer_pending(q->timer, NULL)) {
		int64_t wait = q->head->due - now_ms();

		if (wait < 0)
			wait = 0;
		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
		evtimer_add(q->timer, &tv);
	}
}

static void
queue_rearm(struct queue *q)
{
	struct timeval tv;
	int64_t wait;

	if (q->head == NULL || evtimer_pending(q->timer, NULL))
		return;
	wait = q->head->due - now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(q->timer, &tv);
}

static void
queue_clear(struct queue *q)
{
	struct item *it, *next;

	for (it = q->head; it; it = next) {
		next = it->next;
		free(it);
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
	if (q->timer)
		event_free(q->timer);
	q->timer = NULL;
}

/* ------------------------------------------------------------------------
 * UDP (DNS): ID rewriting.
 * ------------------------------------------------------------------------ */

struct dns_slot {
	bool used;
	uint16_t client_id;
	struct sockaddr_in client;
	int64_t since;
};

struct udp_proxy {
	int lfd, ufd;
	struct event *lev, *uev;
	struct queue up, down; /* to the upstream, to clients */
	struct dns_slot *slots;
	uint32_t next_id;
	uint64_t dropped;
};

static void
udp_flush_up(evutil_socket_t fd, short what, void *arg)
{
	struct udp_proxy *u = arg;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	while (u->up.head && u->up.head->due <= now) {
		struct item *it = u->up.head;

		u->up.head = it->next;
		if (u->up.head == NULL)
			u->up.tail = NULL;
		u->up.bytes -= it->len;
		(void)send(u->ufd, it->data, it->len, 0);
		free(it);
	}
	queue_rearm(&u->up);
}

static void
udp_flush_down(evutil_socket_t fd, short what, void *arg)
{
	struct udp_proxy *u = arg;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	while (u->down.head && u->down.head->due <= now) {
		struct item *it = u->down.head;

		u->down.head = it->next;
		if (u->down.head == NULL)
			u->down.tail = NULL;
		u->down.bytes -= it->len;
		(void)sendto(u->lfd, it->data, it->len, 0, (struct sockaddr *)&it->to,
		             sizeof(it->to));
		free(it);
	}
	queue_rearm(&u->down);
}

static void
udp_from_client(evutil_socket_t fd, short what, void *arg)
{
	struct udp_proxy *u = arg;
	uint8_t buf[MAX_DGRAM];
	int64_t now = now_ms();
	int burst;

	(void)what;
	for (burst = 0; burst < 256; burst++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct item *it;
		uint32_t tries;
		uint16_t id = 0;

		if (n < 0)
			return;
		if (n < 12)
			continue;
		for (tries = 0; tries < DNS_IDS; tries++) {
			struct dns_slot *s = &u->slots[u->next_id++ & 0xffff];

			if (!s->used || now - s->since > ID_TIMEOUT_MS) {
				id = (uint16_t)((u->next_id - 1) & 0xffff);
				s->used = true;
				s->client_id = (uint16_t)(buf[0] << 8 | buf[1]);
				s->client = from;
				s->since = now;
				break;
			}
		}
		if (tries == DNS_IDS) {
			u->dropped++;
			continue;
		}
		it = xalloc(sizeof(*it) + (size_t)n);
		it->due = now + delay_ms;
		it->len = (size_t)n;
		memcpy(it->data, buf, (size_t)n);
		it->data[0] = (uint8_t)(id >> 8);
		it->data[1] = (uint8_t)id;
		queue_push(&u->up, it);
		n_udp_up++;
	}
}

static void
udp_from_upstream(evutil_socket_t fd, short what, void *arg)
{
	struct udp_proxy *u = arg;
	uint8_t buf[MAX_DGRAM];
	int64_t now = now_ms();
	int burst;

	(void)what;
	for (burst = 0; burst < 256; burst++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct dns_slot *s;
		struct item *it;

		if (n < 0)
			return;
		if (n < 12)
			continue;
		s = &u->slots[buf[0] << 8 | buf[1]];
		if (!s->used)
			continue;
		it = xalloc(sizeof(*it) + (size_t)n);
		it->due = now + delay_ms;
		it->len = (size_t)n;
		it->to = s->client;
		memcpy(it->data, buf, (size_t)n);
		it->data[0] = (uint8_t)(s->client_id >> 8);
		it->data[1] = (uint8_t)s->client_id;
		s->used = false;
		queue_push(&u->down, it);
		n_udp_down++;
	}
}

static int
bound_socket(int type, const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
	int size = 8 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (type == SOCK_DGRAM) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
udp_start(const struct sockaddr_in *listen_addr, const struct sockaddr_in *upstream)
{
	struct udp_proxy *u = xalloc(sizeof(*u));
	int size = 8 << 20;

	u->slots = xalloc(DNS_IDS * sizeof(*u->slots));
	if ((u->lfd = bound_socket(SOCK_DGRAM, listen_addr)) < 0)
		return false;
	u->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->ufd < 0 ||
	    connect(u->ufd, (const struct sockaddr *)upstream, sizeof(*upstream)) != 0)
		return false;
	setsockopt(u->ufd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(u->ufd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	u->up.timer = evtimer_new(base, udp_flush_up, u);
	u->down.timer = evtimer_new(base, udp_flush_down, u);
	u->lev = event_new(base, u->lfd, EV_READ | EV_PERSIST, udp_from_client, u);
	u->uev = event_new(base, u->ufd, EV_READ | EV_PERSIST, udp_from_upstream, u);
	return event_add(u->lev, NULL) == 0 && event_add(u->uev, NULL) == 0;
}

/* ------------------------------------------------------------------------
 * TCP: delayed byte streams.
 * ------------------------------------------------------------------------ */

struct conn;

/* One direction: bytes read from src, held, written to dst. */
struct pipe_dir {
	struct conn *c;
	int src, dst;
	struct event *rev, *wev;
	struct queue q;
	size_t off; /* written from the head item */
	bool read_eof, eof_sent;
};

struct conn {
	int cfd, ufd;
	struct pipe_dir up, down;
};

static void
conn_close(struct conn *c)
{
	struct pipe_dir *d[2] = {&c->up, &c->down};
	int i;

	for (i = 0; i < 2; i++) {
		if (d[i]->rev)
			event_free(d[i]->rev);
		if (d[i]->wev)
			event_free(d[i]->wev);
		queue_clear(&d[i]->q);
	}
	close(c->cfd);
	close(c->ufd);
	free(c);
}

/* Write what is due; true if the connection is still alive. */
static bool
dir_flush(struct pipe_dir *d)
{
	int64_t now = now_ms();

	while (d->q.head && d->q.head->due <= now) {
		struct item *it = d->q.head;

		if (it->eof) {
			shutdown(d->dst, SHUT_WR);
			d->eof_sent = true;
		} else {
			while (d->off < it->len) {
				ssize_t w = send(d->dst, it->data + d->off, it->len - d->off,
				                 MSG_NOSIGNAL);

				if (w < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK) {
						event_add(d->wev, NULL);
						return true;
					}
					if (errno == EINTR)
						continue;
					conn_close(d->c);
					return false;
				}
				d->off += (size_t)w;
			}
		}
		d->q.head = it->next;
		if (d->q.head == NULL)
			d->q.tail = NULL;
		d->q.bytes -= it->len;
		d->off = 0;
		free(it);
		if (!d->read_eof && d->q.bytes < TCP_MAX_QUEUE)
			event_add(d->rev, NULL);
	}
	queue_rearm(&d->q);
	if (d->eof_sent) {
		struct conn *c = d->c;

		if (c->up.eof_sent && c->down.eof_sent) {
			conn_close(c);
			return false;
		}
	}
	return true;
}

static void
dir_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_flush(arg);
}

static void
dir_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dir_flush(arg);
}

static void
dir_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pipe_dir *d = arg;
	uint8_t buf[TCP_CHUNK];
	ssize_t n;

	(void)what;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		n = 0; /* reset: pass on as an end of stream */
	}
	{
		struct item *it = xalloc(sizeof(*it) + (size_t)n);

		it->due = now_ms() + delay_ms;
		it->len = (size_t)n;
		it->eof = n == 0;
		memcpy(it->data, buf, (size_t)n);
		queue_push(&d->q, it);
	}
	if (n == 0) {
		d->read_eof = true;
		event_del(d->rev);
	} else if (d->q.bytes >= TCP_MAX_QUEUE) {
		event_del(d->rev);
	}
}

static void
dir_init(struct pipe_dir *d, struct conn *c, int src, int dst)
{
	d->c = c;
	d->src = src;
	d->dst = dst;
	d->rev = event_new(base, src, EV_READ | EV_PERSIST, dir_readable, d);
	d->wev = event_new(base, dst, EV_WRITE, dir_writable, d);
	d->q.timer = evtimer_new(base, dir_timer, d);
	event_add(d->rev, NULL);
}

struct tcp_listener {
	int fd;
	struct sockaddr_in upstream;
	struct event *ev;
};

static void
tcp_accept(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_listener *l = arg;
	int cfd, ufd, on = 1;
	struct conn *c;

	(void)what;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ufd < 0) {
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if (connect(ufd, (struct sockaddr *)&l->upstream, sizeof(l->upstream)) != 0 &&
		    errno != EINPROGRESS) {
			close(cfd);
			close(ufd);
			continue;
		}
		/* the connection to the upstream completes in the background; bytes for it
		 * wait in the queue (and a write to a socket still connecting waits too) */
		n_tcp_conns++;
		c = xalloc(sizeof(*c));
		c->cfd = cfd;
		c->ufd = ufd;
		dir_init(&c->up, c, cfd, ufd);
		dir_init(&c->down, c, ufd, cfd);
	}
}

static bool
tcp_start(const struct sockaddr_in *listen_addr, const struct sockaddr_in *upstream)
{
	struct tcp_listener *l = xalloc(sizeof(*l));

	if ((l->fd = bound_socket(SOCK_STREAM, listen_addr)) < 0)
		return false;
	l->upstream = *upstream;
	l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, tcp_accept, l);
	return event_add(l->ev, NULL) == 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static void
usage(FILE *fp)
{
	fputs("usage: bench_scan_proxy --delay MS [--udp LISTEN=UPSTREAM]... "
	      "[--tcp LISTEN=UPSTREAM]... [--pidfile FILE]\n"
	      "  LISTEN, UPSTREAM: IPv4ADDR:PORT; each direction is delayed MS ms\n",
	      fp);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"delay", required_argument, NULL, 'd'}, {"udp", required_argument, NULL, 'u'},
	        {"tcp", required_argument, NULL, 't'},   {"pidfile", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	const char *pidfile = NULL;
	struct event *sigterm, *sigint;
	int c, n = 0;

	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL)
		return 1;
	while ((c = getopt_long(argc, argv, "d:u:t:p:h", longopts, NULL)) != -1) {
		char *eq;
		struct sockaddr_in la, ua;

		switch (c) {
		case 'd':
			delay_ms = (unsigned)atoi(optarg);
			break;
		case 'u':
		case 't':
			if ((eq = strchr(optarg, '=')) == NULL) {
				usage(stderr);
				return 64;
			}
			*eq = '\0';
			if (!parse_addr(optarg, &la) || !parse_addr(eq + 1, &ua)) {
				usage(stderr);
				return 64;
			}
			if (!(c == 'u' ? udp_start(&la, &ua) : tcp_start(&la, &ua))) {
				fprintf(stderr, "bench_scan_proxy: %s %s: %s\n",
				        c == 'u' ? "udp" : "tcp", optarg, strerror(errno));
				return errno == EADDRINUSE ? 75 : 1;
			}
			n++;
			break;
		case 'p':
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
	if (n == 0) {
		usage(stderr);
		return 64;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	if (pidfile) {
		FILE *fp = fopen(pidfile, "w");

		if (fp) {
			fprintf(fp, "%ld\n", (long)getpid());
			fclose(fp);
		}
	}
	event_base_dispatch(base);
	fprintf(stderr, "bench_scan_proxy: %llu datagrams up, %llu down, %llu TCP connections\n",
	        (unsigned long long)n_udp_up, (unsigned long long)n_udp_down,
	        (unsigned long long)n_tcp_conns);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
