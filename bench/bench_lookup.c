/*
 * bench_lookup.c - resolver throughput against the testbed.
 *
 *   bench_lookup sync-cached SECONDS THREADS
 *       SMIMEA lookups of one name (cached after the first) through the
 *       synchronous API, from THREADS threads sharing one resolver.
 *   bench_lookup async-uncached COUNT CONCURRENCY
 *       COUNT distinct SMIMEA names (u0@secure.test .. u<COUNT-1>, published
 *       by the testbed with TB_BENCH_NAMES) through the libevent API, at
 *       most CONCURRENCY in flight; each answer must validate as secure.
 *
 * Needs TB_UNBOUND_CONF.  Prints one line of figures per run.
 */
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dns/owner.h"
#include "dns/resolver.h"
#include "dns/rr.h"
#include "util/buf.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static char *
owner_of(const char *address)
{
	struct buf out = BUF_INIT;
	struct why why;

	if (!owner_name_from_address(&out, address, OWNER_SMIMEA, OWNER_CASE_EXACT, &why)) {
		fprintf(stderr, "bench: %s: %s\n", address, why.msg);
		exit(1);
	}
	return (char *)buf_steal(&out, NULL);
}

struct sync_arg {
	struct dns_resolver *res;
	const char *owner;
	double until;
	unsigned long count, bad;
};

static void *
sync_worker(void *p)
{
	struct sync_arg *a = p;
	struct dns_answer ans;

	while (now() < a->until) {
		int i;

		for (i = 0; i < 64; i++) {
			dns_lookup(a->res, a->owner, RR_TYPE_SMIMEA, &ans);
			if (!dns_answer_secure_data(&ans))
				a->bad++;
			dns_answer_clear(&ans);
			a->count++;
		}
	}
	return NULL;
}

static int
bench_sync(struct dns_resolver *res, double seconds, int threads)
{
	char *owner = owner_of("bob@secure.test");
	struct sync_arg args[64];
	pthread_t tids[64];
	struct dns_answer ans;
	unsigned long total = 0, bad = 0;
	double t0;
	int i;

	if (threads < 1 || threads > 64)
		threads = 1;
	dns_lookup(res, owner, RR_TYPE_SMIMEA, &ans); /* prime the cache */
	dns_answer_clear(&ans);
	t0 = now();
	for (i = 0; i < threads; i++) {
		args[i] = (struct sync_arg){res, owner, t0 + seconds, 0, 0};
		pthread_create(&tids[i], NULL, sync_worker, &args[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		total += args[i].count;
		bad += args[i].bad;
	}
	printf("sync-cached: threads=%d lookups=%lu not-secure=%lu seconds=%.2f rate=%.0f/s "
	       "maxrss=%ldKB\n",
	       threads, total, bad, now() - t0, total / (now() - t0), rss_kb());
	free(owner);
	return bad ? 1 : 0;
}

struct async_state {
	struct dns_async *as;
	char **owners;
	unsigned long next, count, done, bad;
	unsigned long concurrency;
};

static void start_more(struct async_state *st);

static void
on_answer(void *arg, struct dns_answer *ans)
{
	struct async_state *st = arg;

	if (!dns_answer_secure_data(ans))
		st->bad++;
	st->done++;
	dns_answer_clear(ans);
	free(ans);
	start_more(st);
}

static void
start_more(struct async_state *st)
{
	struct why why;

	while (st->next < st->count && dns_async_pending(st->as) < st->concurrency) {
		const char *o = st->owners[st->next++];

		if (!dns_async_lookup(st->as, o, RR_TYPE_SMIMEA, 30000, on_answer, st, &why)) {
			fprintf(stderr, "bench: %s\n", why.msg);
			st->bad++;
			st->done++;
		}
	}
}

static int
bench_async(const struct dns_config *cfg, unsigned long count, unsigned long concurrency)
{
	struct event_base *base = event_base_new();
	struct async_state st = {0};
	struct why why;
	double t0;
	unsigned long i;

	st.as = dns_async_new(base, cfg, &why);
	if (st.as == NULL) {
		fprintf(stderr, "bench: %s\n", why.msg);
		return 1;
	}
	st.count = count;
	st.concurrency = concurrency ? concurrency : 1;
	st.owners = calloc(count, sizeof(char *));
	for (i = 0; i < count; i++) {
		char addr[64];

		snprintf(addr, sizeof(addr), "u%lu@secure.test", i);
		st.owners[i] = owner_of(addr);
	}
	t0 = now();
	start_more(&st);
	while (st.done < st.count)
		event_base_loop(base, EVLOOP_ONCE);
	printf("async-uncached: lookups=%lu concurrency=%lu not-secure=%lu seconds=%.2f "
	       "rate=%.0f/s maxrss=%ldKB\n",
	       st.done, st.concurrency, st.bad, now() - t0, st.done / (now() - t0), rss_kb());
	for (i = 0; i < count; i++)
		free(st.owners[i]);
	free(st.owners);
	dns_async_free(st.as);
	event_base_free(base);
	return st.bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct dns_config cfg = {.unbound_conf = getenv("TB_UNBOUND_CONF")};
	struct dns_resolver *res;
	struct why why;
	int rc;

	if (argc != 4 || cfg.unbound_conf == NULL) {
		fprintf(stderr, "usage: TB_UNBOUND_CONF=FILE bench_lookup sync-cached SECONDS "
		                "THREADS | async-uncached COUNT CONCURRENCY\n");
		return 64;
	}
	if (strcmp(argv[1], "sync-cached") == 0) {
		if ((res = dns_resolver_new(&cfg, &why)) == NULL) {
			fprintf(stderr, "bench: %s\n", why.msg);
			return 1;
		}
		rc = bench_sync(res, atof(argv[2]), atoi(argv[3]));
		dns_resolver_free(res);
		return rc;
	}
	if (strcmp(argv[1], "async-uncached") == 0)
		return bench_async(&cfg, strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
	fprintf(stderr, "bench: unknown mode %s\n", argv[1]);
	return 64;
}
