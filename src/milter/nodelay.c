/*
 * nodelay.c - no 40 ms stall per message over TCP.
 *
 * libmilter writes each reply and each modification as its own small
 * segment.  With Nagle's algorithm on our side and delayed ACKs on the MTA's,
 * every second small write waits for an ACK that comes 40 ms later
 * (TESTBED-NOTES: 22 msg/s instead of thousands).  libmilter does not expose
 * its sockets, so the static libmilter is linked with -Wl,--wrap=accept and
 * every accepted connection gets TCP_NODELAY here.  On a unix socket the
 * option does not apply and the error is ignored.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int __real_accept(int fd, struct sockaddr *addr, socklen_t *len);
int __wrap_accept(int fd, struct sockaddr *addr, socklen_t *len);

int
__wrap_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int s = __real_accept(fd, addr, len), one = 1;

	if (s >= 0)
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}
