/*
 * store_tool.c - the results store (src/scan/store.h) from the shell, for
 * tests/integration/store against either backend:
 *
 *   store_tool URI latest           the newest row per domain (store_latest):
 *                                   "domain TAB scan_id TAB json" lines
 *   store_tool URI history DOMAIN   DOMAIN's rows, oldest first
 *   store_tool URI selftest         the store.h contract on an empty store:
 *                                   one "ok - ..." or "not ok - ...: got/want"
 *                                   line per check; exit 1 if any failed
 *
 * Exit 2 when the store cannot be opened (the reason on stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util/buf.h"

static int failures;

static bool
print_row(void *arg, const struct store_row *row)
{
	(void)arg;
	printf("%s\t%" PRId64 "\t%s\n", row->domain, row->scan_id, row->json);
	return true;
}

/* Rows as "scan domain scanned json" lines; stops after stop_after rows (0: never). */
struct collect {
	struct buf text;
	size_t n, stop_after;
};

static bool
collect_row(void *arg, const struct store_row *row)
{
	struct collect *c = arg;

	buf_printf(&c->text, "%" PRId64 " %s %lld %s\n", row->scan_id, row->domain,
	           (long long)row->scanned, row->json);
	c->n++;
	return c->stop_after == 0 || c->n < c->stop_after;
}

static bool
collect_alert(void *arg, const struct store_alert *a)
{
	struct collect *c = arg;

	buf_printf(&c->text, "%s %lld %lld %lld %s\n", a->key, (long long)a->first_seen,
	           (long long)a->last_seen, (long long)a->last_sent, a->text);
	c->n++;
	return true;
}

static void
check(bool ok, const char *what, const struct why *why)
{
	if (ok) {
		printf("ok - %s\n", what);
	} else {
		printf("not ok - %s%s%s\n", what, why != NULL ? ": " : "",
		       why != NULL ? why->msg : "");
		failures++;
	}
}

/* Compare what a walk collected, then empty it. */
static void
check_text(struct collect *c, const char *want, const char *what)
{
	bool ok = strcmp(buf_str(&c->text), want) == 0;

	if (ok) {
		printf("ok - %s\n", what);
	} else {
		printf("not ok - %s: got\n", what);
		printf("# %s", buf_str(&c->text));
		printf("# want\n# %s", want);
		failures++;
	}
	buf_release(&c->text);
	c->n = 0;
}

struct nested {
	struct store *st;
	size_t outer, inner;
	bool ok;
};

static bool
count_inner(void *arg, const struct store_row *row)
{
	struct nested *n = arg;

	(void)row;
	n->inner++;
	return true;
}

static bool
walk_nested(void *arg, const struct store_row *row)
{
	struct nested *n = arg;
	struct why why = {""};

	n->outer++;
	if (!store_history(n->st, row->domain, count_inner, n, &why) ||
	    !store_latest(n->st, count_inner, n, &why))
		n->ok = false;
	return true;
}

static void
selftest(struct store *st)
{
	struct why why = {""};
	struct collect c = {BUF_INIT, 0, 0};
	struct nested nest = {st, 0, 0, true};
	char want[512], domain[32], json[64];
	int64_t id1, id2, id3, id4;
	bool found, ok;
	static const struct store_alert alerts[] = {
	        {"tlsa-mismatch mx2.b.test", 10, 10, 0, "{\"k\":1}"},
	        {"cert-expiry mx.a.test", 5, 6, 6, "{\"k\":\"\\\\t\\ttab\"}"},
	        {"tlsa-mismatch mx2.b.test", 10, 20, 20, "{\"k\":3}"},
	};

	/* results: a and b, then a (changed) and c; JSON with characters COPY escapes */
	id1 = store_scan_begin(st, "scan", "1/2", 1000, &why);
	ok = id1 > 0 && store_put(st, id1, "b.test", 1002, "{\"d\":\"b1\\\\n\"}", &why) &&
	     store_put(st, id1, "a.test", 1001, "{\"d\":\"a1\"}", &why) &&
	     store_scan_end(st, id1, 1003, 2, &why);
	check(ok, "first scan written", &why);
	id2 = store_scan_begin(st, "monitor", NULL, 2000, &why);
	ok = id2 > id1 && store_put(st, id2, "a.test", 2001, "{\"d\":\"a2\"}", &why) &&
	     store_put(st, id2, "c.test", 2002, "{\"d\":\"c2\\tx\"}", &why) &&
	     store_scan_end(st, id2, 2003, 2, &why);
	check(ok, "second scan written, later id", &why);

	check(store_latest(st, collect_row, &c, &why), "latest", &why);
	snprintf(want, sizeof(want),
	         "%" PRId64 " a.test 2001 {\"d\":\"a2\"}\n%" PRId64
	         " b.test 1002 {\"d\":\"b1\\\\n\"}\n"
	         "%" PRId64 " c.test 2002 {\"d\":\"c2\\tx\"}\n",
	         id2, id1, id2);
	check_text(&c, want, "latest: the newest row per domain, in domain order, verbatim");
	c.stop_after = 2;
	check(store_latest(st, collect_row, &c, &why) && c.n == 2, "latest stops when told", NULL);
	buf_release(&c.text);
	c = (struct collect){BUF_INIT, 0, 0};

	check(store_history(st, "a.test", collect_row, &c, &why), "history", &why);
	snprintf(want, sizeof(want),
	         "%" PRId64 " a.test 1001 {\"d\":\"a1\"}\n%" PRId64 " a.test 2001 {\"d\":\"a2\"}\n",
	         id1, id2);
	check_text(&c, want, "history: oldest first");

	ok = store_previous(st, "a.test", id2, collect_row, &c, &found, &why) && found;
	check(ok, "previous before the second scan found", &why);
	snprintf(want, sizeof(want), "%" PRId64 " a.test 1001 {\"d\":\"a1\"}\n", id1);
	check_text(&c, want, "previous before the second scan is the first's");
	ok = store_previous(st, "a.test", 0, collect_row, &c, &found, &why) && found;
	snprintf(want, sizeof(want), "%" PRId64 " a.test 2001 {\"d\":\"a2\"}\n", id2);
	check(ok, "previous of any scan found", &why);
	check_text(&c, want, "previous of any scan is the newest");
	ok = store_previous(st, "c.test", id2, collect_row, &c, &found, &why) && !found && c.n == 0;
	check(ok, "no previous row: not found", &why);
	buf_release(&c.text);

	check(store_latest(st, walk_nested, &nest, &why) && nest.ok && nest.outer == 3 &&
	              nest.inner == 4 + 3 * 3,
	      "walks nest (history and latest inside latest)", &why);

	/* reads see buffered rows */
	id3 = store_scan_begin(st, "monitor", NULL, 3000, &why);
	ok = id3 > id2 && store_put(st, id3, "a.test", 3001, "{\"d\":\"a3\"}", &why) &&
	     store_history(st, "a.test", collect_row, &c, &why) && c.n == 3 &&
	     store_scan_end(st, id3, 3002, 1, &why);
	check(ok, "history sees the store's own buffered row", &why);
	buf_release(&c.text);
	c = (struct collect){BUF_INIT, 0, 0};

	/* batching */
	id4 = store_scan_begin(st, "scan", "2/2", 4000, &why);
	ok = id4 > id3;
	for (int i = 0; ok && i < 2500; i++) {
		snprintf(domain, sizeof(domain), "d%05d.test", i);
		snprintf(json, sizeof(json), "{\"domain\":\"%s\",\"n\":%d}", domain, i);
		ok = store_put(st, id4, domain, 4001 + i, json, &why);
	}
	ok = ok && store_scan_end(st, id4, 9999, 2500, &why);
	check(ok, "2500 rows in batches", &why);
	ok = store_latest(st, collect_row, &c, &why) && c.n == 2503 &&
	     strstr(buf_str(&c.text),
	            " d02499.test 6500 {\"domain\":\"d02499.test\",\"n\":2499}\n");
	check(ok, "latest has all 2503 domains", &why);
	buf_release(&c.text);
	c = (struct collect){BUF_INIT, 0, 0};

	/* errors */
	ok = store_put(st, 987654321, "x.test", 1, "{}", &why) &&
	     !store_scan_end(st, 987654321, 2, 1, &why);
	check(ok, "rows of an unknown scan are refused", NULL);
	printf("# %s\n", why.msg);

	/* alerts */
	ok = true;
	for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
		ok = ok && store_alert_put(st, &alerts[i], &why);
	check(ok, "alerts put (one replaced)", &why);
	check(store_alert_list(st, collect_alert, &c, &why), "alert list", &why);
	check_text(&c,
	           "cert-expiry mx.a.test 5 6 6 {\"k\":\"\\\\t\\ttab\"}\n"
	           "tlsa-mismatch mx2.b.test 10 20 20 {\"k\":3}\n",
	           "alert list in key order, replaced alert updated");
	ok = store_alert_get(st, "tlsa-mismatch mx2.b.test", collect_alert, &c, &found, &why) &&
	     found;
	check(ok, "alert get", &why);
	check_text(&c, "tlsa-mismatch mx2.b.test 10 20 20 {\"k\":3}\n", "alert get: the row");
	ok = store_alert_get(st, "none", collect_alert, &c, &found, &why) && !found && c.n == 0;
	check(ok, "alert get: unknown key not found", &why);
	ok = store_alert_delete(st, "cert-expiry mx.a.test", &why) &&
	     store_alert_delete(st, "cert-expiry mx.a.test", &why) &&
	     store_alert_get(st, "cert-expiry mx.a.test", collect_alert, &c, &found, &why) &&
	     !found;
	check(ok, "alert delete (twice is fine)", &why);
	buf_release(&c.text);
}

int
main(int argc, char **argv)
{
	struct why why = {""};
	struct store *st;
	bool ok = true;

	if (argc < 3) {
		fputs("usage: store_tool URI latest|history DOMAIN|selftest\n", stderr);
		return 64;
	}
	if ((st = store_open(argv[1], &why)) == NULL) {
		fprintf(stderr, "store_tool: %s\n", why.msg);
		return 2;
	}
	if (strcmp(argv[2], "latest") == 0) {
		ok = store_latest(st, print_row, NULL, &why);
	} else if (strcmp(argv[2], "history") == 0 && argc == 4) {
		ok = store_history(st, argv[3], print_row, NULL, &why);
	} else if (strcmp(argv[2], "selftest") == 0) {
		printf("# backend %s\n", store_backend(st));
		selftest(st);
		ok = failures == 0;
		why.msg[0] = '\0';
	} else {
		fputs("usage: store_tool URI latest|history DOMAIN|selftest\n", stderr);
		store_close(st);
		return 64;
	}
	if (!ok && why.msg[0] != '\0')
		fprintf(stderr, "store_tool: %s\n", why.msg);
	store_close(st);
	return ok ? 0 : 1;
}
