/*
 * test_store.c - the results store (src/scan/store.h) on a temporary
 * SQLite file: schema creation and migration bookkeeping, reopening, a
 * refused future schema, results (put, latest, history, previous, nested
 * walks), the monitor's alerts and batching.  The file is checked behind
 * the store's back with a second SQLite connection, so that "written in
 * batches" means rows really on disk, not what the store says.
 * The PostgreSQL backend is tested in tests/integration/store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "util/alloc.h"
#include "util/buf.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A fresh directory per test, and the database file in it. */
struct fixture {
	char dir[64];
	char path[96];
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/storeXXXXXX",
	         tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/results.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};

	for (size_t i = 0; i < N_OF(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* One integer from the file, read behind the store's back. */
static int64_t
peek_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static void
poke(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static struct store *
open_ok(const char *path)
{
	struct why why = {{0}};
	struct store *st = store_open(path, &why);

	if (st == NULL)
		fail_msg("store_open(%s): %s", path, why.msg);
	return st;
}

/* Rows collected by a walk, as "scan_id domain scanned json" lines. */
struct collect {
	struct buf text;
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static bool
collect_row(void *arg, const struct store_row *row)
{
	struct collect *c = arg;

	buf_printf(&c->text, "%lld %s %lld %s\n", (long long)row->scan_id, row->domain,
	           (long long)row->scanned, row->json);
	c->n++;
	return c->stop_after == 0 || c->n < c->stop_after;
}

static void
expect_rows(struct collect *c, const char *want)
{
	if (strcmp(buf_str(&c->text), want) != 0)
		fail_msg("got rows:\n%swant:\n%s", buf_str(&c->text), want);
	buf_release(&c->text);
	c->n = 0;
}

static void
test_schema_created(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->path);
	static const char *const objects[] = {"scans", "results", "alerts", "schema_version",
	                                      "results_domain"};
	char sql[160];

	assert_string_equal(store_backend(st), "sqlite");
	store_close(st);
	for (size_t i = 0; i < N_OF(objects); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
		         objects[i]);
		if (peek_int(f->path, sql) != 1)
			fail_msg("schema object %s: got none, want one", objects[i]);
	}
	assert_int_equal(peek_int(f->path, "SELECT max(version) FROM schema_version"),
	                 STORE_SCHEMA);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM schema_version"), STORE_SCHEMA);
	/* WAL, so that a monitor and a report can share the file */
	assert_int_equal(
	        peek_int(f->path,
	                 "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
	        1);
}

static void
test_reopen_idempotent(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	int64_t id = store_scan_begin(st, "scan", NULL, 100, &why);

	assert_true(id > 0);
	assert_true(store_put(st, id, "a.test", 101, "{\"domain\":\"a.test\"}", &why));
	assert_true(store_scan_end(st, id, 102, 1, &why));
	store_close(st);
	for (int i = 0; i < 3; i++) {
		st = open_ok(f->path);
		store_close(st);
	}
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM schema_version"), STORE_SCHEMA);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 1);
	assert_int_equal(peek_int(f->path, "SELECT domains FROM scans"), 1);
	assert_int_equal(peek_int(f->path, "SELECT finished FROM scans"), 102);
}

static void
test_future_version_refused(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	char sql[128];

	store_close(open_ok(f->path));
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d, 0)", STORE_SCHEMA + 1);
	poke(f->path, sql);
	assert_null(store_open(f->path, &why));
	if (strstr(why.msg, "newer") == NULL)
		fail_msg("why: got \"%s\", want a newer-schema refusal", why.msg);
	/* and it was not touched */
	assert_int_equal(peek_int(f->path, "SELECT max(version) FROM schema_version"),
	                 STORE_SCHEMA + 1);
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	char path[128];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", f->dir);
	assert_null(store_open(path, &why));
	assert_true(why.msg[0] != '\0');
	why.msg[0] = '\0';
	assert_null(store_open("", &why));
	assert_true(why.msg[0] != '\0');
	/* "sqlite:" forces the SQLite backend */
	snprintf(path, sizeof(path), "sqlite:%s", f->path);
	struct store *st = open_ok(path);
	assert_string_equal(store_backend(st), "sqlite");
	store_close(st);
	/* a PostgreSQL URI goes to libpq: nothing listens on port 1 */
	why.msg[0] = '\0';
	assert_null(store_open("postgresql://127.0.0.1:1/none?connect_timeout=2", &why));
	assert_true(why.msg[0] != '\0');
}

/* Two scans: a and b, then a (changed) and c. */
static void
two_scans(struct store *st, int64_t *id1, int64_t *id2)
{
	struct why why = {{0}};

	*id1 = store_scan_begin(st, "scan", "1/1", 1000, &why);
	assert_true(*id1 > 0);
	assert_true(store_put(st, *id1, "b.test", 1002, "{\"d\":\"b1\"}", &why));
	assert_true(store_put(st, *id1, "a.test", 1001, "{\"d\":\"a1\"}", &why));
	assert_true(store_scan_end(st, *id1, 1003, 2, &why));
	*id2 = store_scan_begin(st, "monitor", NULL, 2000, &why);
	assert_true(*id2 > *id1);
	assert_true(store_put(st, *id2, "a.test", 2001, "{\"d\":\"a2\"}", &why));
	assert_true(store_put(st, *id2, "c.test", 2002, "{\"d\":\"c2\"}", &why));
	assert_true(store_scan_end(st, *id2, 2003, 2, &why));
}

static void
test_results(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	struct collect c = {BUF_INIT, 0, 0};
	int64_t id1, id2;
	bool found;
	char want[256];

	two_scans(st, &id1, &id2);
	assert_true(store_latest(st, collect_row, &c, &why));
	snprintf(want, sizeof(want),
	         "%lld a.test 2001 {\"d\":\"a2\"}\n%lld b.test 1002 {\"d\":\"b1\"}\n"
	         "%lld c.test 2002 {\"d\":\"c2\"}\n",
	         (long long)id2, (long long)id1, (long long)id2);
	expect_rows(&c, want);

	assert_true(store_history(st, "a.test", collect_row, &c, &why));
	snprintf(want, sizeof(want),
	         "%lld a.test 1001 {\"d\":\"a1\"}\n%lld a.test 2001 {\"d\":\"a2\"}\n",
	         (long long)id1, (long long)id2);
	expect_rows(&c, want);
	assert_true(store_history(st, "none.test", collect_row, &c, &why));
	expect_rows(&c, "");

	/* previous: before scan 2 gives scan 1's row; 0 gives the newest */
	assert_true(store_previous(st, "a.test", id2, collect_row, &c, &found, &why));
	assert_true(found);
	snprintf(want, sizeof(want), "%lld a.test 1001 {\"d\":\"a1\"}\n", (long long)id1);
	expect_rows(&c, want);
	assert_true(store_previous(st, "a.test", 0, collect_row, &c, &found, &why));
	assert_true(found);
	snprintf(want, sizeof(want), "%lld a.test 2001 {\"d\":\"a2\"}\n", (long long)id2);
	expect_rows(&c, want);
	assert_true(store_previous(st, "c.test", id2, collect_row, &c, &found, &why));
	assert_false(found);
	expect_rows(&c, "");

	/* a walk stops when the callback says so */
	c.stop_after = 2;
	assert_true(store_latest(st, collect_row, &c, &why));
	assert_int_equal(c.n, 2);
	buf_release(&c.text);
	store_close(st);

	/* and it is all still there after reopening */
	st = open_ok(f->path);
	c = (struct collect){BUF_INIT, 0, 0};
	assert_true(store_history(st, "c.test", collect_row, &c, &why));
	snprintf(want, sizeof(want), "%lld c.test 2002 {\"d\":\"c2\"}\n", (long long)id2);
	expect_rows(&c, want);
	store_close(st);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM scans WHERE shard = '1/1'"), 1);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM scans WHERE label = 'monitor'"),
	                 1);
}

/* A walk inside a walk: the report reads each domain's history while listing the latest. */
struct nested {
	struct store *st;
	size_t outer, inner;
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
walk_history(void *arg, const struct store_row *row)
{
	struct nested *n = arg;
	struct why why = {{0}};

	n->outer++;
	if (!store_history(n->st, row->domain, count_inner, n, &why))
		fail_msg("nested history: %s", why.msg);
	/* and the same statement nested in itself */
	if (!store_latest(n->st, count_inner, n, &why))
		fail_msg("nested latest: %s", why.msg);
	return true;
}

static void
test_nested_walks(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	struct nested n = {st, 0, 0};
	int64_t id1, id2;

	two_scans(st, &id1, &id2);
	assert_true(store_latest(st, walk_history, &n, &why));
	assert_int_equal(n.outer, 3);
	/* histories 2 + 1 + 1, plus 3 latest rows per outer row */
	assert_int_equal(n.inner, 4 + 3 * 3);
	store_close(st);
}

/* Reads see the store's own buffered writes; the monitor's previous-scan look-up does not flush. */
static void
test_read_own_writes(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	struct collect c = {BUF_INIT, 0, 0};
	int64_t id1, id2;
	bool found;

	two_scans(st, &id1, &id2);
	int64_t id3 = store_scan_begin(st, "monitor", NULL, 3000, &why);
	assert_true(store_put(st, id3, "a.test", 3001, "{\"d\":\"a3\"}", &why));
	assert_true(store_previous(st, "a.test", id3, collect_row, &c, &found, &why));
	assert_true(found);
	assert_non_null(strstr(buf_str(&c.text), "a2"));
	buf_release(&c.text);
	c.n = 0;
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 4); /* still buffered */
	assert_true(store_history(st, "a.test", collect_row, &c, &why));
	assert_int_equal(c.n, 3);
	buf_release(&c.text);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 5);
	assert_true(store_scan_end(st, id3, 3002, 1, &why));
	store_close(st);
}

/* Rows of a scan that is not in the store are refused when the batch is written. */
static void
test_unknown_scan(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);

	assert_true(store_put(st, 77, "a.test", 1, "{}", &why));
	assert_false(store_scan_end(st, 77, 2, 1, &why));
	assert_true(why.msg[0] != '\0');
	assert_false(store_put(st, 0, "a.test", 1, "{}", &why));
	store_close(st);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 0);
}

struct alert_seen {
	struct buf text;
	size_t n;
};

static bool
collect_alert(void *arg, const struct store_alert *a)
{
	struct alert_seen *s = arg;

	buf_printf(&s->text, "%s %lld %lld %lld %s\n", a->key, (long long)a->first_seen,
	           (long long)a->last_seen, (long long)a->last_sent, a->text);
	s->n++;
	return true;
}

static void
expect_alerts(struct alert_seen *s, const char *want)
{
	if (strcmp(buf_str(&s->text), want) != 0)
		fail_msg("got alerts:\n%swant:\n%s", buf_str(&s->text), want);
	buf_release(&s->text);
	s->n = 0;
}

static void
test_alerts(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	struct alert_seen s = {BUF_INIT, 0};
	bool found;
	static const struct store_alert puts[] = {
	        {"tlsa-mismatch mx2.b.test", 10, 10, 0, "{\"k\":1}"},
	        {"cert-expiry mx.a.test", 5, 6, 6, "{\"k\":2}"},
	        {"tlsa-mismatch mx2.b.test", 10, 20, 20, "{\"k\":3}"}, /* replaces the first */
	};

	for (size_t i = 0; i < N_OF(puts); i++)
		assert_true(store_alert_put(st, &puts[i], &why));
	assert_true(store_alert_list(st, collect_alert, &s, &why));
	expect_alerts(&s, "cert-expiry mx.a.test 5 6 6 {\"k\":2}\n"
	                  "tlsa-mismatch mx2.b.test 10 20 20 {\"k\":3}\n");
	assert_true(
	        store_alert_get(st, "tlsa-mismatch mx2.b.test", collect_alert, &s, &found, &why));
	assert_true(found);
	expect_alerts(&s, "tlsa-mismatch mx2.b.test 10 20 20 {\"k\":3}\n");
	assert_true(store_alert_get(st, "nothing", collect_alert, &s, &found, &why));
	assert_false(found);
	expect_alerts(&s, "");
	assert_true(store_alert_delete(st, "cert-expiry mx.a.test", &why));
	assert_true(store_alert_delete(st, "cert-expiry mx.a.test", &why)); /* twice is fine */
	assert_true(store_alert_get(st, "cert-expiry mx.a.test", collect_alert, &s, &found, &why));
	assert_false(found);
	store_close(st);
	st = open_ok(f->path);
	assert_true(store_alert_list(st, collect_alert, &s, &why));
	expect_alerts(&s, "tlsa-mismatch mx2.b.test 10 20 20 {\"k\":3}\n");
	store_close(st);
}

/* 2500 rows: two full batches on disk before the end, all of them after. */
static void
test_batching(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	struct collect c = {BUF_INIT, 0, 0};
	char domain[32], json[64];
	int64_t id = store_scan_begin(st, "scan", NULL, 1, &why);
	bool found;

	assert_true(id > 0);
	for (int i = 0; i < 2500; i++) {
		snprintf(domain, sizeof(domain), "d%05d.test", i);
		snprintf(json, sizeof(json), "{\"domain\":\"%s\",\"n\":%d}", domain, i);
		assert_true(store_put(st, id, domain, 2 + i, json, &why));
		if (i == 998)
			assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 0);
		if (i == 999)
			assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 1000);
	}
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 2000);
	/* an older scan's row cannot be in the buffer: no flush */
	assert_true(store_previous(st, "d02400.test", id, collect_row, &c, &found, &why));
	assert_false(found);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 2000);
	assert_true(store_scan_end(st, id, 9999, 2500, &why));
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 2500);
	assert_int_equal(peek_int(f->path, "SELECT count(DISTINCT domain) FROM results"), 2500);
	assert_true(store_latest(st, collect_row, &c, &why));
	assert_int_equal(c.n, 2500);
	assert_non_null(strstr(buf_str(&c.text),
	                       " d02499.test 2501 {\"domain\":\"d02499.test\",\"n\":2499}\n"));
	buf_release(&c.text);
	store_close(st);
}

/* Rows left in the buffer are written by store_close(). */
static void
test_close_flushes(void **state)
{
	struct fixture *f = *state;
	struct why why = {{0}};
	struct store *st = open_ok(f->path);
	int64_t id = store_scan_begin(st, "scan", NULL, 1, &why);

	assert_true(store_put(st, id, "a.test", 2, "{}", &why));
	store_close(st);
	store_close(NULL);
	assert_int_equal(peek_int(f->path, "SELECT count(*) FROM results"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reopen_idempotent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_results, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nested_walks, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_own_writes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_scan, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
