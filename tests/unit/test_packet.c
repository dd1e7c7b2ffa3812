/*
 * test_packet.c - the response parser on hand-built packets: CNAME chains,
 * compression (and pointer loops), negative TTLs (RFC 2308 section 5), and
 * truncation at every length (no crash, a reason).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/packet.h"
#include "dns/rr.h"
#include "util/buf.h"

/* Build packets with a tiny writer. */
static void
put16(struct buf *b, unsigned v)
{
	buf_putc(b, (int)(v >> 8));
	buf_putc(b, (int)(v & 255));
}

static void
put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

/* Append a dotted name uncompressed ("a.b" -> 1a1b0). */
static void
put_name(struct buf *b, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		buf_putc(b, (int)n);
		buf_append(b, name, n);
		name += n + (dot ? 1 : 0);
	}
	buf_putc(b, 0);
}

static void
header(struct buf *b, unsigned rcode, unsigned an, unsigned ns)
{
	put16(b, 0x1234);
	put16(b, 0x8180 | rcode);
	put16(b, 1);
	put16(b, an);
	put16(b, ns);
	put16(b, 0);
}

static void
question(struct buf *b, const char *name, unsigned type)
{
	put_name(b, name);
	put16(b, type);
	put16(b, 1);
}

/* RR header with owner given as a compression pointer to offset 12 (the question name). */
static void
rr_ptr12(struct buf *b, unsigned type, uint32_t ttl, unsigned rdlen)
{
	put16(b, 0xc00c);
	put16(b, type);
	put16(b, 1);
	put32(b, ttl);
	put16(b, rdlen);
}

static void
test_simple_a(void **state)
{
	struct buf p = BUF_INIT;
	struct dns_answer ans = {0};
	struct why why;

	(void)state;
	header(&p, 0, 2, 0);
	question(&p, "mail.secure.test", RR_TYPE_A);
	rr_ptr12(&p, RR_TYPE_A, 300, 4);
	buf_append(&p, "\x7f\x00\x01\x01", 4);
	rr_ptr12(&p, RR_TYPE_A, 100, 4);
	buf_append(&p, "\x7f\x00\x01\x02", 4);
	assert_true(dns_packet_answer(p.data, p.len, RR_TYPE_A, &ans, &why));
	assert_int_equal(ans.n_rrs, 2);
	assert_int_equal(ans.ttl, 100);
	assert_int_equal(ans.rcode, 0);
	assert_string_equal(ans.canonical, "mail.secure.test.");
	assert_memory_equal(ans.rrs[1].rdata, "\x7f\x00\x01\x02", 4);
	dns_answer_clear(&ans);
	buf_release(&p);
}

static void
test_cname_chain_and_mx_decompression(void **state)
{
	struct buf p = BUF_INIT;
	struct dns_answer ans = {0};
	struct why why;
	size_t target;

	(void)state;
	header(&p, 0, 3, 0);
	question(&p, "chain.x", RR_TYPE_MX);
	/* chain.x CNAME www.x */
	rr_ptr12(&p, RR_TYPE_CNAME, 60, 6);
	target = p.len;
	buf_append(&p, "\x03www\xc0\x12", 6); /* www + pointer to "x" at 12+6 */
	/* www.x CNAME mail.x -- owner by pointer to the CNAME target */
	put16(&p, 0xc000 | (unsigned)target);
	put16(&p, RR_TYPE_CNAME);
	put16(&p, 1);
	put32(&p, 30);
	put16(&p, 7);
	buf_append(&p, "\x04mail\xc0\x12", 7);
	/* mail.x MX 10 mx.x : owner written out, exchange compressed */
	put_name(&p, "mail.x");
	put16(&p, RR_TYPE_MX);
	put16(&p, 1);
	put32(&p, 300);
	put16(&p, 7);
	buf_append(&p, "\x00\x0a\x02mx\xc0\x12", 7);
	assert_true(dns_packet_answer(p.data, p.len, RR_TYPE_MX, &ans, &why));
	assert_string_equal(ans.canonical, "mail.x.");
	assert_int_equal(ans.n_rrs, 1);
	assert_int_equal(ans.ttl, 30);
	/* RDATA uncompressed: preference, then 2mx1x0 */
	assert_int_equal(ans.rrs[0].len, 2 + 6);
	assert_memory_equal(ans.rrs[0].rdata, "\x00\x0a\x02mx\x01x\x00", 8);
	dns_answer_clear(&ans);
	buf_release(&p);
}

static void
test_negative_ttl(void **state)
{
	struct buf p = BUF_INIT, soa = BUF_INIT;
	struct dns_answer ans = {0};
	struct why why;

	(void)state;
	header(&p, 3, 0, 1);
	question(&p, "nope.secure.test", RR_TYPE_SMIMEA);
	put_name(&soa, "ns.secure.test");
	put_name(&soa, "hostmaster.secure.test");
	put32(&soa, 1);
	put32(&soa, 3600);
	put32(&soa, 600);
	put32(&soa, 86400);
	put32(&soa, 60); /* minimum */
	put_name(&p, "secure.test");
	put16(&p, RR_TYPE_SOA);
	put16(&p, 1);
	put32(&p, 300);
	put16(&p, (unsigned)soa.len);
	buf_append(&p, soa.data, soa.len);
	assert_true(dns_packet_answer(p.data, p.len, RR_TYPE_SMIMEA, &ans, &why));
	assert_int_equal(ans.n_rrs, 0);
	assert_int_equal(ans.rcode, 3);
	assert_int_equal(ans.ttl, 60);
	dns_answer_clear(&ans);
	buf_release(&p);
	buf_release(&soa);
}

static void
test_rejects(void **state)
{
	struct buf p = BUF_INIT;
	struct dns_answer ans = {0};
	struct why why;
	size_t n;

	(void)state;
	/* pointer loop in the answer owner */
	header(&p, 0, 1, 0);
	question(&p, "a.x", RR_TYPE_A);
	n = p.len;
	put16(&p, 0xc000 | (unsigned)n); /* points at itself */
	put16(&p, RR_TYPE_A);
	put16(&p, 1);
	put32(&p, 1);
	put16(&p, 4);
	buf_append(&p, "\1\2\3\4", 4);
	why.msg[0] = '\0';
	assert_false(dns_packet_answer(p.data, p.len, RR_TYPE_A, &ans, &why));
	assert_non_null(strstr(why.msg, "pointer"));
	assert_null(ans.canonical);

	/* wrong question type */
	buf_reset(&p);
	header(&p, 0, 0, 0);
	question(&p, "a.x", RR_TYPE_A);
	assert_false(dns_packet_answer(p.data, p.len, RR_TYPE_MX, &ans, &why));

	/* every truncation of a valid packet fails cleanly */
	buf_reset(&p);
	header(&p, 0, 1, 0);
	question(&p, "mail.secure.test", RR_TYPE_MX);
	rr_ptr12(&p, RR_TYPE_MX, 300, 4);
	buf_append(&p, "\x00\x0a\xc0\x0c", 4);
	assert_true(dns_packet_answer(p.data, p.len, RR_TYPE_MX, &ans, &why));
	dns_answer_clear(&ans);
	for (n = 0; n < p.len; n++) {
		why.msg[0] = '\0';
		if (dns_packet_answer(p.data, n, RR_TYPE_MX, &ans, &why))
			fail_msg("truncated to %zu of %zu octets: accepted", n, p.len);
		assert_true(why.msg[0] != '\0');
	}
	buf_release(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_simple_a),
	        cmocka_unit_test(test_cname_chain_and_mx_decompression),
	        cmocka_unit_test(test_negative_ttl),
	        cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
