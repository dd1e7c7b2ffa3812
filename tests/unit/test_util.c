/*
 * test_util.c - unit tests for lib/util: buffers, hex, base64 (RFC 4648
 * section 10 vectors), escaping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/bytetab.h"
#include "util/codec.h"
#include "util/escape.h"
#include "util/why.h"

static void
test_buf_grows_and_terminates(void **state)
{
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	assert_string_equal(buf_str(&b), "");
	for (i = 0; i < 10000; i++)
		buf_putc(&b, 'a' + (int)(i % 26));
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[b.len], '\0');
	buf_reset(&b);
	buf_printf(&b, "%s-%d", "x", 42);
	assert_string_equal(buf_str(&b), "x-42");
	buf_release(&b);
	assert_null(b.data);
}

static const struct {
	const char *plain, *b64;
} b64_vectors[] = {
        /* RFC 4648 section 10 */
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
};

static void
test_base64_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT;
		struct why why;
		const char *p = b64_vectors[i].plain, *want = b64_vectors[i].b64;

		base64_encode(&enc, (const uint8_t *)p, strlen(p));
		if (strcmp(buf_str(&enc), want) != 0)
			fail_msg("encode(%s): got %s, want %s", p, buf_str(&enc), want);
		if (!base64_decode(&dec, want, strlen(want), &why))
			fail_msg("decode(%s): %s", want, why.msg);
		if (strcmp(buf_str(&dec), p) != 0)
			fail_msg("decode(%s): got %s, want %s", want, buf_str(&dec), p);
		buf_release(&enc);
		buf_release(&dec);
	}
}

static void
test_base64_rejects(void **state)
{
	static const char *bad[] = {"Zg=", "Zg", "Z===", "Zm9v!", "Zg==Zg==", "Zh==", "=Zg="};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf out = BUF_INIT;
		struct why why = {""};

		if (base64_decode(&out, bad[i], strlen(bad[i]), &why))
			fail_msg("decode(%s): accepted, want rejected", bad[i]);
		assert_true(why.msg[0] != '\0');
		assert_int_equal(out.len, 0);
		buf_release(&out);
	}
}

static void
test_base64_whitespace(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	assert_true(base64_decode(&out, " Zm9v\n YmFy\r\n", 13, NULL));
	assert_string_equal(buf_str(&out), "foobar");
	buf_release(&out);
}

static void
test_hex(void **state)
{
	struct buf out = BUF_INIT, back = BUF_INIT;
	struct why why;
	const uint8_t bytes[] = {0x00, 0x1f, 0xab, 0xff};

	(void)state;
	hex_encode(&out, bytes, sizeof(bytes));
	assert_string_equal(buf_str(&out), "001fabff");
	assert_true(hex_decode(&back, "00 1F\nAB ff", 11, &why));
	assert_int_equal(back.len, 4);
	assert_memory_equal(back.data, bytes, 4);
	buf_reset(&back);
	assert_false(hex_decode(&back, "abc", 3, &why));
	assert_non_null(strstr(why.msg, "odd"));
	assert_false(hex_decode(&back, "zz", 2, &why));
	assert_non_null(strstr(why.msg, "bad hex"));
	assert_int_equal(back.len, 0);
	buf_release(&out);
	buf_release(&back);
}

static void
test_escape(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	escape_append(&out, "ok\r\n\x1b[31m\\", 10, 0);
	assert_string_equal(buf_str(&out), "ok\\x0d\\x0a\\x1b[31m\\\\");
	buf_reset(&out);
	escape_append(&out, "abcdef", 6, 3);
	assert_string_equal(buf_str(&out), "abc...");
	assert_string_equal(escape_str(&out, "\xff"), "\\xff");
	buf_release(&out);
}

static void
test_why_prefix(void **state)
{
	struct why why;

	(void)state;
	assert_false(why_set(&why, "bad %s", "thing"));
	why_prefix(&why, "parsing %d", 3);
	assert_string_equal(why.msg, "parsing 3: bad thing");
	assert_false(why_set(NULL, "ignored"));
}

struct bt_item {
	struct bytetab_link link;
	int id;
};

/* The id of the entry under key, or -1. */
static int
bt_id(struct bytetab *t, const char *key, size_t len)
{
	struct bytetab_link *l = bytetab_find(t, (const uint8_t *)key, len);

	return l ? BYTETAB_ENTRY(l, struct bt_item, link)->id : -1;
}

static void
test_bytetab(void **state)
{
	static struct bt_item items[2000];
	struct bytetab t;
	char key[16];
	int i;

	(void)state;
	bytetab_init(&t, 3);
	assert_null(bytetab_oldest(&t));
	/* keys compared in full: prefixes, embedded NULs, the empty key */
	items[0].id = 0, bytetab_insert(&t, &items[0].link, (const uint8_t *)"ab\0c", 4);
	items[1].id = 1, bytetab_insert(&t, &items[1].link, (const uint8_t *)"ab", 2);
	items[2].id = 2, bytetab_insert(&t, &items[2].link, (const uint8_t *)"", 0);
	assert_true(bytetab_full(&t));
	assert_int_equal(bt_id(&t, "ab\0c", 4), 0);
	assert_int_equal(bt_id(&t, "ab", 2), 1);
	assert_int_equal(bt_id(&t, "", 0), 2);
	assert_int_equal(bt_id(&t, "ab\0d", 4), -1);
	assert_int_equal(bt_id(&t, "a", 1), -1);
	/* the least recently used: finds count as use */
	assert_ptr_equal(bytetab_oldest(&t), &items[0].link);
	assert_int_equal(bt_id(&t, "ab\0c", 4), 0);
	assert_ptr_equal(bytetab_oldest(&t), &items[1].link);
	bytetab_remove(&t, &items[1].link);
	assert_false(bytetab_full(&t));
	assert_int_equal(bt_id(&t, "ab", 2), -1);
	assert_ptr_equal(bytetab_oldest(&t), &items[2].link);
	bytetab_remove(&t, &items[2].link);
	bytetab_remove(&t, &items[0].link);
	assert_null(bytetab_oldest(&t));
	bytetab_fini(&t);

	/* many entries share buckets: each is still found, eviction is in order */
	bytetab_init(&t, 1500);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (bytetab_full(&t))
			bytetab_remove(&t, bytetab_oldest(&t));
		items[i].id = i;
		bytetab_insert(&t, &items[i].link, (const uint8_t *)key, strlen(key));
	}
	assert_int_equal(t.count, 1500);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(bt_id(&t, key, strlen(key)), i < 500 ? -1 : i);
	}
	while (bytetab_oldest(&t))
		bytetab_remove(&t, bytetab_oldest(&t));
	bytetab_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf_grows_and_terminates),
	        cmocka_unit_test(test_base64_vectors),
	        cmocka_unit_test(test_base64_rejects),
	        cmocka_unit_test(test_base64_whitespace),
	        cmocka_unit_test(test_hex),
	        cmocka_unit_test(test_escape),
	        cmocka_unit_test(test_why_prefix),
	        cmocka_unit_test(test_bytetab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
