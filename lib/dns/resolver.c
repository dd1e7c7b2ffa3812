/*
 * resolver.c - DNSSEC-validating lookups on libunbound (see resolver.h).
 *
 * Every front end turns libunbound's result (rcode, response packet, security
 * verdict, why_bogus) into a struct dns_answer in one place, answer_fill():
 * the two here, and through dns_answer_from_ub() the scanner's resolver
 * threads (src/scan/ubthread.c).
 * libunbound does the validation (RFC 4033-4035); this file only maps its
 * verdict onto explicit states and never upgrades one: a failed lookup is
 * INDETERMINATE, not INSECURE (RFC 7672 2.1.1: SERVFAIL is not "no records").
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unbound-event.h>
#include <unbound.h>

#include <event2/event.h>

#include "dns/cache.h"
#include "dns/packet.h"
#include "dns/resolver.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

#define DNS_CLASS_IN     1
#define DNS_RCODE_OK     0
#define DNS_RCODE_FAIL   2
#define DNS_RCODE_NXNAME 3
/* libunbound's sec values in event callbacks (unbound-event.h). */
#define UB_SEC_INSECURE 0
#define UB_SEC_BOGUS    1
#define UB_SEC_SECURE   2

const char *
dns_outcome_name(enum dns_outcome o)
{
	switch (o) {
	case DNS_OUTCOME_DATA:
		return "data";
	case DNS_OUTCOME_NODATA:
		return "nodata";
	case DNS_OUTCOME_NXDOMAIN:
		return "nxdomain";
	case DNS_OUTCOME_SERVFAIL:
		return "servfail";
	case DNS_OUTCOME_TIMEOUT:
		return "timeout";
	case DNS_OUTCOME_ERROR:
		return "error";
	}
	return "error";
}

const char *
dns_sec_name(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_INSECURE:
		return "insecure";
	case DNS_SEC_BOGUS:
		return "bogus";
	case DNS_SEC_INDETERMINATE:
		return "indeterminate";
	}
	return "indeterminate";
}

void
dns_answer_clear(struct dns_answer *ans)
{
	size_t i;

	if (ans == NULL)
		return;
	for (i = 0; i < ans->n_rrs; i++)
		free(ans->rrs[i].rdata);
	free(ans->rrs);
	free(ans->qname);
	free(ans->canonical);
	free(ans->why);
	memset(ans, 0, sizeof(*ans));
}

bool
dns_answer_secure_data(const struct dns_answer *ans)
{
	return ans->outcome == DNS_OUTCOME_DATA && ans->sec == DNS_SEC_SECURE && ans->n_rrs > 0;
}

void
dns_answer_start(struct dns_answer *ans, const char *name, uint16_t type)
{
	size_t n = strlen(name);
	bool dotted = n > 0 && name[n - 1] == '.';

	memset(ans, 0, sizeof(*ans));
	ans->qname = xmalloc(n + 2);
	memcpy(ans->qname, name, n);
	ans->qname[n] = '.';
	ans->qname[n + (dotted ? 0 : 1)] = '\0';
	ans->qtype = type;
	ans->rcode = -1;
	ans->outcome = DNS_OUTCOME_ERROR;
	ans->sec = DNS_SEC_INDETERMINATE;
}

void
dns_answer_fail(struct dns_answer *ans, enum dns_outcome outcome, const char *why)
{
	struct buf esc = BUF_INIT;

	ans->outcome = outcome;
	ans->sec = DNS_SEC_INDETERMINATE;
	free(ans->why);
	ans->why = xstrdup(escape_str(&esc, why));
	buf_release(&esc);
}

/*
 * The one place a libunbound verdict becomes a dns_answer.  ub_sec is
 * UB_SEC_SECURE / _BOGUS / _INSECURE; a BOGUS answer keeps its data and
 * rcode (libunbound returns them) but is marked BOGUS, whatever it holds.
 */
static void
answer_fill(struct dns_answer *ans, int rcode, const uint8_t *pkt, size_t len, int ub_sec,
            const char *why_bogus)
{
	struct why why;
	struct buf esc = BUF_INIT;

	/* The event API's rcode is not always the DNS rcode: the packet's header is. */
	if (pkt && len >= 4)
		rcode = pkt[3] & 0x0f;
	ans->rcode = rcode;
	if (ub_sec == UB_SEC_BOGUS) {
		ans->sec = DNS_SEC_BOGUS;
		ans->outcome = DNS_OUTCOME_SERVFAIL;
		if (pkt && len && dns_packet_answer(pkt, len, ans->qtype, ans, NULL))
			ans->outcome = ans->n_rrs                  ? DNS_OUTCOME_DATA
			               : rcode == DNS_RCODE_NXNAME ? DNS_OUTCOME_NXDOMAIN
			                                           : DNS_OUTCOME_NODATA;
		ans->rcode = rcode;
		ans->why = xstrdup(escape_str(&esc, why_bogus ? why_bogus : "validation failed"));
		buf_release(&esc);
		return;
	}
	if (rcode == DNS_RCODE_FAIL) {
		dns_answer_fail(ans, DNS_OUTCOME_SERVFAIL, "server failure (SERVFAIL)");
		return;
	}
	if (rcode != DNS_RCODE_OK && rcode != DNS_RCODE_NXNAME) {
		char msg[64];

		snprintf(msg, sizeof(msg), "resolver answered rcode %d", rcode);
		dns_answer_fail(ans, DNS_OUTCOME_ERROR, msg);
		ans->rcode = rcode;
		return;
	}
	if (pkt == NULL || len == 0 || !dns_packet_answer(pkt, len, ans->qtype, ans, &why)) {
		dns_answer_fail(ans, DNS_OUTCOME_ERROR, pkt ? why.msg : "no response packet");
		ans->rcode = rcode;
		return;
	}
	ans->sec = ub_sec == UB_SEC_SECURE ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	if (ans->n_rrs)
		ans->outcome = DNS_OUTCOME_DATA;
	else
		ans->outcome =
		        rcode == DNS_RCODE_NXNAME ? DNS_OUTCOME_NXDOMAIN : DNS_OUTCOME_NODATA;
}

void
dns_answer_from_ub(struct dns_answer *ans, const struct ub_result *result)
{
	int sec = result->bogus ? UB_SEC_BOGUS : result->secure ? UB_SEC_SECURE : UB_SEC_INSECURE;

	answer_fill(ans, result->rcode, result->answer_packet,
	            result->answer_len > 0 ? (size_t)result->answer_len : 0, sec,
	            result->why_bogus);
	if (result->was_ratelimited && ans->outcome == DNS_OUTCOME_SERVFAIL)
		dns_answer_fail(ans, DNS_OUTCOME_SERVFAIL, "server failure (rate limited)");
}

/* Apply cfg to a fresh context: config file, trust anchors, forwarder. */
static bool
configure(struct ub_ctx *ctx, const struct dns_config *cfg, struct why *why)
{
	int err;

	if (cfg && cfg->unbound_conf && (err = ub_ctx_config(ctx, cfg->unbound_conf)) != 0)
		return why_set(why, "unbound config %s: %s", cfg->unbound_conf,
		               err == UB_READFILE ? "cannot read or parse it" : ub_strerror(err));
	if (cfg && cfg->trust_anchor && (err = ub_ctx_add_ta_file(ctx, cfg->trust_anchor)) != 0)
		return why_set(why, "trust anchor %s: %s", cfg->trust_anchor, ub_strerror(err));
	if ((cfg == NULL || (cfg->unbound_conf == NULL && cfg->trust_anchor == NULL)) &&
	    (err = ub_ctx_add_ta_file(ctx, DNS_ROOT_ANCHOR_FILE)) != 0)
		return why_set(why, "root trust anchor %s: %s", DNS_ROOT_ANCHOR_FILE,
		               ub_strerror(err));
	if (cfg && cfg->forwarder && (err = ub_ctx_set_fwd(ctx, cfg->forwarder)) != 0)
		return why_set(why, "forwarder %s: %s", cfg->forwarder, ub_strerror(err));
	return true;
}

/* ---- synchronous ---- */

struct dns_resolver {
	struct ub_ctx *ctx;
	struct dns_cache *cache;
};

struct dns_resolver *
dns_resolver_new(const struct dns_config *cfg, struct why *why)
{
	struct dns_resolver *res;
	struct ub_ctx *ctx = ub_ctx_create();

	if (ctx == NULL) {
		why_set(why, "cannot create a libunbound context");
		return NULL;
	}
	if (!configure(ctx, cfg, why)) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	/* The milter calls us from many threads: keep one process, use threads. */
	(void)ub_ctx_async(ctx, 1);
	res = xcalloc(1, sizeof(*res));
	res->ctx = ctx;
	res->cache =
	        dns_cache_new(cfg && cfg->cache_entries ? cfg->cache_entries : DNS_CACHE_ENTRIES,
	                      cfg && cfg->cache_max_ttl ? cfg->cache_max_ttl : DNS_CACHE_MAX_TTL,
	                      DNS_CACHE_BOGUS_TTL);
	return res;
}

struct dns_resolver *
dns_resolver_free(struct dns_resolver *res)
{
	if (res) {
		ub_ctx_delete(res->ctx);
		dns_cache_free(res->cache);
		free(res);
	}
	return NULL;
}

void
dns_lookup(struct dns_resolver *res, const char *name, uint16_t type, struct dns_answer *ans)
{
	struct ub_result *result = NULL;
	int err;

	if (dns_cache_get(res->cache, name, type, time(NULL), ans))
		return;
	dns_answer_start(ans, name, type);
	if ((err = ub_resolve(res->ctx, ans->qname, type, DNS_CLASS_IN, &result)) != 0) {
		dns_answer_fail(ans, DNS_OUTCOME_ERROR, ub_strerror(err));
		return;
	}
	dns_answer_from_ub(ans, result);
	ub_resolve_free(result);
	dns_cache_put(res->cache, ans, time(NULL));
}

struct many_job {
	struct dns_resolver *res;
	const struct dns_question *q;
	struct dns_answer *answers;
	size_t *todo; /* indexes of the cache misses */
	size_t n_todo;
	size_t next; /* guarded by lock */
	pthread_mutex_t lock;
};

static void *
many_worker(void *arg)
{
	struct many_job *job = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&job->lock);
		i = job->next < job->n_todo ? job->todo[job->next++] : SIZE_MAX;
		pthread_mutex_unlock(&job->lock);
		if (i == SIZE_MAX)
			return NULL;
		dns_lookup(job->res, job->q[i].name, job->q[i].type, &job->answers[i]);
	}
}

void
dns_lookup_many(struct dns_resolver *res, const struct dns_question *q, size_t n,
                struct dns_answer *answers)
{
	struct many_job job = {res, q, answers, NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER};
	pthread_t tids[DNS_MANY_THREADS];
	size_t i, n_threads, started = 0;
	time_t now = time(NULL);

	job.todo = xcalloc(n ? n : 1, sizeof(*job.todo));
	for (i = 0; i < n; i++)
		if (!dns_cache_get(res->cache, q[i].name, q[i].type, now, &answers[i]))
			job.todo[job.n_todo++] = i;
	n_threads = job.n_todo < DNS_MANY_THREADS ? job.n_todo : DNS_MANY_THREADS;
	/* one miss: no thread to start; the caller's thread does it */
	for (i = 1; i < n_threads; i++)
		if (pthread_create(&tids[started], NULL, many_worker, &job) == 0)
			started++;
	many_worker(&job);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&job.lock);
	free(job.todo);
}

bool
dns_answer_wants_fallback(const struct dns_answer *exact)
{
	return (exact->outcome == DNS_OUTCOME_NODATA || exact->outcome == DNS_OUTCOME_NXDOMAIN) &&
	       exact->sec != DNS_SEC_BOGUS;
}

/* How bad an answer is for the fallback rule: failures and bogus outrank "none". */
static int
answer_badness(const struct dns_answer *a)
{
	if (a->sec == DNS_SEC_BOGUS)
		return 2;
	if (a->sec == DNS_SEC_INDETERMINATE)
		return 1;
	return 0;
}

bool
dns_answer_prefer_fallback(const struct dns_answer *exact, const struct dns_answer *fallback)
{
	return fallback->outcome == DNS_OUTCOME_DATA ||
	       answer_badness(fallback) > answer_badness(exact);
}

void
dns_lookup_address(struct dns_resolver *res, const struct owner_address *addr, enum owner_kind ok,
                   uint16_t type, struct dns_answer *ans, const char **matched)
{
	struct buf owner = BUF_INIT;
	struct dns_answer lower;

	owner_name_append(&owner, addr, ok, OWNER_CASE_EXACT);
	dns_lookup(res, buf_str(&owner), type, ans);
	*matched = "exact";
	if (dns_answer_wants_fallback(ans) && owner_lower_differs(addr)) {
		buf_reset(&owner);
		owner_name_append(&owner, addr, ok, OWNER_CASE_LOWER);
		dns_lookup(res, buf_str(&owner), type, &lower);
		if (dns_answer_prefer_fallback(ans, &lower)) {
			dns_answer_clear(ans);
			*ans = lower;
			*matched = "lower-cased";
		} else {
			dns_answer_clear(&lower);
		}
	}
	buf_release(&owner);
}

/* ---- asynchronous (libevent) ---- */

struct dns_query {
	struct dns_async *as;
	struct dns_query *prev, *next; /* in as->queries */
	struct dns_answer ans;
	struct event *timer;
	dns_async_callback *cb;
	void *arg;
	bool done; /* callback already called (timed out); waiting for unbound */
};

struct dns_async {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct dns_query *queries;
	size_t pending;
};

static void
query_unlink_free(struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->as->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->timer)
		event_free(q->timer);
	dns_answer_clear(&q->ans);
	free(q);
}

/* Hand the answer to the caller exactly once. */
static void
query_deliver(struct dns_query *q)
{
	struct dns_answer *ans = xmalloc(sizeof(*ans));

	*ans = q->ans;
	memset(&q->ans, 0, sizeof(q->ans));
	q->done = true;
	q->as->pending--;
	if (q->timer)
		event_del(q->timer);
	q->cb(q->arg, ans);
}

static void
on_unbound(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus, int ratelimited)
{
	struct dns_query *q = arg;

	if (!q->done) {
		answer_fill(&q->ans, rcode, pkt, len > 0 ? (size_t)len : 0, sec, why_bogus);
		if (ratelimited && q->ans.outcome == DNS_OUTCOME_SERVFAIL)
			dns_answer_fail(&q->ans, DNS_OUTCOME_SERVFAIL,
			                "server failure (rate limited)");
		query_deliver(q);
	}
	query_unlink_free(q);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	dns_answer_fail(&q->ans, DNS_OUTCOME_TIMEOUT, "no answer in time");
	query_deliver(q);
}

struct dns_async *
dns_async_new(struct event_base *base, const struct dns_config *cfg, struct why *why)
{
	struct dns_async *as;
	struct ub_ctx *ctx = ub_ctx_create_event(base);

	if (ctx == NULL) {
		why_set(why, "cannot create a libunbound event context");
		return NULL;
	}
	if (!configure(ctx, cfg, why)) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	as = xcalloc(1, sizeof(*as));
	as->base = base;
	as->ctx = ctx;
	return as;
}

struct dns_async *
dns_async_free(struct dns_async *as)
{
	if (as == NULL)
		return NULL;
	ub_ctx_delete(as->ctx);
	while (as->queries)
		query_unlink_free(as->queries);
	free(as);
	return NULL;
}

bool
dns_async_lookup(struct dns_async *as, const char *name, uint16_t type, unsigned timeout_ms,
                 dns_async_callback *cb, void *arg, struct why *why)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	int err, id = 0;

	dns_answer_start(&q->ans, name, type);
	q->as = as;
	q->cb = cb;
	q->arg = arg;
	if (timeout_ms) {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

		q->timer = evtimer_new(as->base, on_timeout, q);
		if (q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
			why_set(why, "cannot arm a timer");
			goto fail;
		}
	}
	q->next = as->queries;
	if (as->queries)
		as->queries->prev = q;
	as->queries = q;
	as->pending++;
	/* libunbound may call back from inside ub_resolve_event (cache hit). */
	if ((err = ub_resolve_event(as->ctx, q->ans.qname, type, DNS_CLASS_IN, q, on_unbound,
	                            &id)) != 0) {
		why_set(why, "%s", ub_strerror(err));
		as->pending--;
		q->done = true;
		query_unlink_free(q);
		return false;
	}
	return true;
fail:
	if (q->timer)
		event_free(q->timer);
	dns_answer_clear(&q->ans);
	free(q);
	return false;
}

size_t
dns_async_pending(const struct dns_async *as)
{
	return as->pending;
}
