/*
 * bench_store.c - how fast the results store (src/scan/store.h) writes and
 * reads.  Not a test: it prints figures.
 *
 *   bench_store URI [ROWS [JSON_BYTES]]
 *
 * Writes ROWS results (default 100000) of about JSON_BYTES each (default
 * 1500, a typical `danemail scan` line for a domain with one or two MX
 * hosts) as one scan, through store_put() and store_scan_end() (batches of
 * STORE_BATCH_ROWS), then walks store_latest() and reads 1000 domains'
 * store_history() and store_previous().  URI as for `danemail scan --db`:
 * use a fresh SQLite file or an empty PostgreSQL database (tests/testbed/
 * pg.sh start DIR gives one) to measure a first scan; run it again on the
 * same store to measure a second scan over existing rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "util/alloc.h"
#include "util/buf.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
count_row(void *arg, const struct store_row *row)
{
	size_t *n = arg;

	(void)row;
	(*n)++;
	return true;
}

static void
fail(const char *what, const struct why *why)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, why->msg);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct why why = {""};
	struct store *st;
	struct buf json = BUF_INIT;
	unsigned long rows = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	unsigned long bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 1500;
	char domain[64], *pad;
	size_t n = 0, walked, lookups = rows < 1000 ? rows : 1000;
	int64_t id;
	double t0, t1, t2, t3, t4;
	bool found;

	if (argc < 2 || rows == 0) {
		fputs("usage: bench_store URI [ROWS [JSON_BYTES]]\n", stderr);
		return 64;
	}
	pad = xmalloc(bytes + 1);
	memset(pad, 'x', bytes);
	pad[bytes] = '\0';

	t0 = now();
	if ((st = store_open(argv[1], &why)) == NULL)
		fail("open", &why);
	t1 = now();
	if ((id = store_scan_begin(st, "bench", NULL, time(NULL), &why)) == 0)
		fail("scan_begin", &why);
	for (unsigned long i = 0; i < rows; i++) {
		snprintf(domain, sizeof(domain), "d%08lu.bench", i);
		buf_reset(&json);
		buf_printf(&json,
		           "{\"schema\":1,\"domain\":\"%s\",\"verdict\":\"pass\",\"mx\":[{\"host\":"
		           "\"mx.%s\",\"pad\":\"",
		           domain, domain);
		if (json.len + 4 < bytes)
			buf_append(&json, pad, bytes - json.len - 4);
		buf_puts(&json, "\"}]}");
		if (!store_put(st, id, domain, time(NULL), buf_str(&json), &why))
			fail("put", &why);
	}
	if (!store_scan_end(st, id, time(NULL), rows, &why))
		fail("scan_end", &why);
	t2 = now();
	if (!store_latest(st, count_row, &n, &why))
		fail("latest", &why);
	t3 = now();
	walked = n;
	for (size_t i = 0; i < lookups; i++) {
		snprintf(domain, sizeof(domain), "d%08lu.bench",
		         (unsigned long)(i * (rows / lookups)));
		if (!store_history(st, domain, count_row, &n, &why) ||
		    !store_previous(st, domain, id, count_row, &n, &found, &why))
			fail("history", &why);
	}
	t4 = now();
	printf("%s: open %.3f s; wrote %lu rows of %lu bytes in %.2f s: %.0f rows/s, %.1f MB/s\n",
	       store_backend(st), t1 - t0, rows, bytes, t2 - t1, (double)rows / (t2 - t1),
	       (double)rows * (double)bytes / (t2 - t1) / 1e6);
	printf("%s: store_latest walked %zu domains in %.2f s: %.0f rows/s; "
	       "history+previous of %zu domains: %.0f lookups/s\n",
	       store_backend(st), walked, t3 - t2, (double)walked / (t3 - t2), lookups,
	       2.0 * (double)lookups / (t4 - t3));
	store_close(st);
	buf_release(&json);
	free(pad);
	return 0;
}
