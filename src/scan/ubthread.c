/*
 * ubthread.c - libunbound in its own thread, answers into the scanner's
 * event loop (see ubthread.h).
 *
 * ub_ctx_async(ctx, 1) makes libunbound resolve and validate in one
 * background thread; ub_resolve_async() hands it a query, and its answers
 * wait in a pipe whose read end (ub_fd) our loop watches; ub_process()
 * then runs our callback for each, in the loop's thread.  A per-lookup
 * timer gives up with TIMEOUT and cancels the query (ub_cancel); when the
 * answer was already on its way, the query is kept, marked done, until
 * ub_process() hands it over, and then dropped.
 *
 * A libunbound result becomes a struct dns_answer through lib/dns's one
 * mapping (dns_answer_start/_fail/_from_ub in dns/resolver.h: a BOGUS
 * answer keeps its data but is BOGUS whatever it holds; SERVFAIL and other
 * rcodes are failures, INDETERMINATE, never "no records").  Trusts
 * libunbound's validation; the packet is parsed by dns/packet.c as
 * untrusted bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include <event2/event.h>

#include "ubthread.h"
#include "util/alloc.h"

#define DNS_CLASS_IN 1

struct ub_query {
	struct scan_ub *u;
	struct ub_query *prev, *next;
	struct dns_answer *ans;
	struct event *timer;
	dns_async_callback *cb;
	void *arg;
	int id;
	bool done; /* delivered (timed out): the late answer is dropped */
};

struct scan_ub {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *ev;
	struct ub_query *queries;
	size_t pending;
};

static void
query_unlink_free(struct ub_query *q)
{
	struct scan_ub *u = q->u;

	if (q->prev)
		q->prev->next = q->next;
	else
		u->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->timer)
		event_free(q->timer);
	if (q->ans) {
		dns_answer_clear(q->ans);
		free(q->ans);
	}
	free(q);
}

/* Hand the answer over exactly once. */
static void
deliver(struct ub_query *q)
{
	struct dns_answer *ans = q->ans;

	q->ans = NULL;
	q->done = true;
	q->u->pending--;
	if (q->timer)
		event_del(q->timer);
	q->cb(q->arg, ans);
}

static void
on_result(void *arg, int err, struct ub_result *result)
{
	struct ub_query *q = arg;

	if (!q->done) {
		if (err != 0)
			dns_answer_fail(q->ans, DNS_OUTCOME_ERROR, ub_strerror(err));
		else
			dns_answer_from_ub(q->ans, result);
		deliver(q);
	}
	if (result)
		ub_resolve_free(result);
	query_unlink_free(q);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ub_query *q = arg;

	(void)fd;
	(void)what;
	dns_answer_fail(q->ans, DNS_OUTCOME_TIMEOUT, "no answer in time");
	if (ub_cancel(q->u->ctx, q->id) == UB_NOERROR) {
		/* no callback will come: this is the end of the query */
		deliver(q);
		query_unlink_free(q);
		return;
	}
	/* the answer is already on its way: on_result drops it */
	deliver(q);
}

static void
on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct scan_ub *u = arg;

	(void)fd;
	(void)what;
	(void)ub_process(u->ctx);
}

struct scan_ub *
scan_ub_new(struct event_base *base, const struct dns_config *cfg, struct why *why)
{
	struct ub_ctx *ctx = ub_ctx_create();
	struct scan_ub *u;
	int err;

	if (ctx == NULL) {
		why_set(why, "cannot create a libunbound context");
		return NULL;
	}
	/* resolver.c configure(), for the configuration the scanner always passes */
	if (cfg && cfg->unbound_conf && (err = ub_ctx_config(ctx, cfg->unbound_conf)) != 0) {
		why_set(why, "unbound config %s: %s", cfg->unbound_conf,
		        err == UB_READFILE ? "cannot read or parse it" : ub_strerror(err));
		goto fail;
	}
	if (cfg && cfg->trust_anchor && (err = ub_ctx_add_ta_file(ctx, cfg->trust_anchor)) != 0) {
		why_set(why, "trust anchor %s: %s", cfg->trust_anchor, ub_strerror(err));
		goto fail;
	}
	if ((cfg == NULL || (cfg->unbound_conf == NULL && cfg->trust_anchor == NULL)) &&
	    (err = ub_ctx_add_ta_file(ctx, DNS_ROOT_ANCHOR_FILE)) != 0) {
		why_set(why, "root trust anchor %s: %s", DNS_ROOT_ANCHOR_FILE, ub_strerror(err));
		goto fail;
	}
	if (cfg && cfg->forwarder && (err = ub_ctx_set_fwd(ctx, cfg->forwarder)) != 0) {
		why_set(why, "forwarder %s: %s", cfg->forwarder, ub_strerror(err));
		goto fail;
	}
	if ((err = ub_ctx_async(ctx, 1)) != 0) {
		why_set(why, "libunbound thread: %s", ub_strerror(err));
		goto fail;
	}
	u = xcalloc(1, sizeof(*u));
	u->base = base;
	u->ctx = ctx;
	u->ev = event_new(base, ub_fd(ctx), EV_READ | EV_PERSIST, on_fd, u);
	if (u->ev == NULL || event_add(u->ev, NULL) != 0) {
		why_set(why, "cannot watch libunbound's answers");
		if (u->ev)
			event_free(u->ev);
		free(u);
		goto fail;
	}
	return u;
fail:
	ub_ctx_delete(ctx);
	return NULL;
}

struct scan_ub *
scan_ub_free(struct scan_ub *u)
{
	if (u == NULL)
		return NULL;
	event_free(u->ev);
	ub_ctx_delete(u->ctx); /* stops the thread; no callback runs after this */
	while (u->queries)
		query_unlink_free(u->queries);
	free(u);
	return NULL;
}

bool
scan_ub_lookup(struct scan_ub *u, const char *name, uint16_t type, unsigned timeout_ms,
               dns_async_callback *cb, void *arg, struct why *why)
{
	struct ub_query *q = xcalloc(1, sizeof(*q));
	int err;

	q->u = u;
	q->cb = cb;
	q->arg = arg;
	q->ans = xmalloc(sizeof(*q->ans));
	dns_answer_start(q->ans, name, type);
	if (timeout_ms) {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

		q->timer = evtimer_new(u->base, on_timeout, q);
		if (q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
			why_set(why, "cannot arm a timer");
			goto fail;
		}
	}
	/* answers come only from ub_process(), in the loop: never from inside this call */
	if ((err = ub_resolve_async(u->ctx, q->ans->qname, type, DNS_CLASS_IN, q, on_result,
	                            &q->id)) != 0) {
		why_set(why, "%s", ub_strerror(err));
		goto fail;
	}
	q->next = u->queries;
	if (u->queries)
		u->queries->prev = q;
	u->queries = q;
	u->pending++;
	return true;
fail:
	if (q->timer)
		event_free(q->timer);
	dns_answer_clear(q->ans);
	free(q->ans);
	free(q);
	return false;
}

size_t
scan_ub_pending(const struct scan_ub *u)
{
	return u->pending;
}
