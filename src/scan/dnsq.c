/*
 * dnsq.c - a bounded FIFO of DNS lookups in front of dns_async (see
 * dnsq.h), and the bulk libunbound configuration.
 *
 * The queue sends from a libevent event of its own (activated when work is
 * queued and when an answer frees a slot), never from the caller's stack:
 * libunbound may answer from its cache inside ub_resolve_event(), and a
 * scanner whose callback finishes (and frees) a domain while that domain
 * is still starting lookups would be a use-after-free.  Each activation
 * sends a bounded number, so cache hits cannot starve the rest of the loop.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dnsq.h"
#include "util/alloc.h"
#include "util/escape.h"

/* Lookups sent per activation of the queue's event. */
#define SEND_BATCH 512

struct dnsq_req {
	struct dnsq_req *next;
	struct scan_dnsq *q;
	char *name;
	uint16_t type;
	scan_dns_cb *cb;
	void *arg;
};

struct scan_dnsq {
	struct event_base *base;
	scan_dns_send *send;
	void *resolver;
	struct event *pump;
	size_t max_pending;
	unsigned timeout_ms;
	struct dnsq_req *head, *tail; /* queued, not yet sent */
	size_t queued;
	size_t outstanding; /* sent, not yet answered */
	uint64_t sent;
};

static void pump_cb(evutil_socket_t fd, short what, void *arg);

struct scan_dnsq *
scan_dnsq_new(struct event_base *base, scan_dns_send *send, void *resolver, size_t max_pending,
              unsigned timeout_ms)
{
	struct scan_dnsq *q = xcalloc(1, sizeof(*q));

	q->base = base;
	q->send = send;
	q->resolver = resolver;
	q->max_pending = max_pending ? max_pending : SCAN_DNS_MAX_PENDING;
	q->timeout_ms = timeout_ms;
	q->pump = event_new(base, -1, 0, pump_cb, q);
	if (q->pump == NULL)
		util_panic("dnsq: cannot create an event");
	return q;
}

struct scan_dnsq *
scan_dnsq_free(struct scan_dnsq *q)
{
	struct dnsq_req *r, *next;

	if (q == NULL)
		return NULL;
	for (r = q->head; r; r = next) {
		next = r->next;
		free(r->name);
		free(r);
	}
	event_free(q->pump);
	free(q);
	return NULL;
}

static void
kick(struct scan_dnsq *q)
{
	if (q->queued > 0 && q->outstanding < q->max_pending &&
	    !event_pending(q->pump, EV_TIMEOUT, NULL))
		event_active(q->pump, EV_TIMEOUT, 0);
}

void
scan_dnsq_lookup(struct scan_dnsq *q, const char *name, uint16_t type, scan_dns_cb *cb, void *arg)
{
	struct dnsq_req *r = xcalloc(1, sizeof(*r));

	r->q = q;
	r->name = xstrdup(name);
	r->type = type;
	r->cb = cb;
	r->arg = arg;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->queued++;
	kick(q);
}

uint64_t
scan_dnsq_sent(const struct scan_dnsq *q)
{
	return q->sent;
}

size_t
scan_dnsq_busy(const struct scan_dnsq *q)
{
	return q->queued + q->outstanding;
}

/* The resolver's answer: hand it on, free the slot. */
static void
answered(void *arg, struct dns_answer *ans)
{
	struct dnsq_req *r = arg;
	struct scan_dnsq *q = r->q;

	q->outstanding--;
	r->cb(r->arg, ans);
	free(r->name);
	free(r);
	kick(q);
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_dnsq *q = arg;
	size_t n = 0;

	(void)fd;
	(void)what;
	while (q->head && q->outstanding < q->max_pending && n++ < SEND_BATCH) {
		struct dnsq_req *r = q->head;
		struct why why = {""};

		q->head = r->next;
		if (q->head == NULL)
			q->tail = NULL;
		r->next = NULL;
		q->queued--;
		q->outstanding++;
		q->sent++;
		if (!q->send(q->resolver, r->name, r->type, q->timeout_ms, answered, r, &why)) {
			/* could not even start (bad name, library error): an explicit failure */
			struct dns_answer *ans = xcalloc(1, sizeof(*ans));
			struct buf esc = BUF_INIT;
			size_t len = strlen(r->name);

			ans->qname = xmalloc(len + 2);
			snprintf(ans->qname, len + 2, "%s%s", r->name,
			         len && r->name[len - 1] == '.' ? "" : ".");
			ans->qtype = r->type;
			ans->outcome = DNS_OUTCOME_ERROR;
			ans->sec = DNS_SEC_INDETERMINATE;
			ans->rcode = -1;
			ans->why =
			        xstrdup(escape_str(&esc, why.msg[0] ? why.msg : "lookup failed"));
			buf_release(&esc);
			answered(r, ans);
		}
	}
	kick(q);
}

/* ------------------------------------------------------------------------
 * Bulk configuration.
 * ------------------------------------------------------------------------ */

/* A path that can go between double quotes in an unbound config file. */
static bool
quotable(const char *path)
{
	for (; *path; path++)
		if (*path == '"' || *path == '\n' || *path == '\r')
			return false;
	return true;
}

bool
scan_dns_bulk_conf(const struct dns_config *user, char **path, struct why *why)
{
	const char *tmpdir = getenv("TMPDIR");
	char *name, *real = NULL;
	size_t len;
	FILE *fp;
	int fd;

	*path = NULL;
	if (user && user->unbound_conf) {
		real = realpath(user->unbound_conf, NULL);
		if (real == NULL)
			return why_set(why, "unbound config %s: %s", user->unbound_conf,
			               strerror(errno));
		if (!quotable(real)) {
			free(real);
			return why_set(why, "unbound config %s: a quote or newline in the path",
			               user->unbound_conf);
		}
	}
	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	len = strlen(tmpdir) + sizeof("/danemail-scan-XXXXXX.conf");
	name = xmalloc(len);
	snprintf(name, len, "%s/danemail-scan-XXXXXX.conf", tmpdir);
	if ((fd = mkstemps(name, 5)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		why_set(why, "temporary unbound config in %s: %s", tmpdir, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(name);
		}
		free(name);
		free(real);
		return false;
	}
	fprintf(fp,
	        "# danemail scan: libunbound settings for bulk lookups\n"
	        "server:\n"
	        "\toutgoing-range: %d\n"
	        "\tnum-queries-per-thread: %d\n"
	        "\tmsg-cache-size: 16m\n"
	        "\trrset-cache-size: 32m\n"
	        "\tkey-cache-size: 8m\n",
	        SCAN_DNS_OUTGOING_RANGE, SCAN_DNS_QUERIES_PER_THREAD);
	if (real)
		fprintf(fp, "include: \"%s\"\n", real);
	else if (user == NULL || user->trust_anchor == NULL)
		fprintf(fp, "\ttrust-anchor-file: \"%s\"\n", DNS_ROOT_ANCHOR_FILE);
	free(real);
	if (fflush(fp) != 0 || ferror(fp)) {
		why_set(why, "writing %s: %s", name, strerror(errno));
		fclose(fp);
		unlink(name);
		free(name);
		return false;
	}
	fclose(fp);
	*path = name;
	return true;
}
