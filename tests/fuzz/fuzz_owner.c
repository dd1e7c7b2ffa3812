/*
 * fuzz_owner.c - libFuzzer target for owner names and local-part
 * canonicalisation (lib/dns/owner.h; RFC 7929 section 3, RFC 8162 section 3,
 * RFC 6698 section 3).
 *
 * The input is an address (or host name) as it would come from an envelope,
 * a header or a user.  Invariants checked on success: the domain is a
 * checked A-label name, the owner names have the RFC layout (56 hex digits,
 * the _smimecert / _openpgpkey label, the domain, a final dot), parse+append
 * equals owner_name_from_address, and the lower-cased owner differs from the
 * exact one exactly when owner_lower_differs says so.
 */
#include "fuzz.h"

#include "dns/owner.h"
#include "util/buf.h"
#include "util/why.h"

/* Longest domain whose _openpgpkey owner fits 255 octets: 255 - (1+56) - (1+11) - 2. */

static bool
is_lower_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static void
check_owner(const struct buf *owner, const struct owner_address *addr, const char *label)
{
	size_t lab = strlen(label);

	FUZZ_CHECK(owner->len == 56 + lab + addr->domain.len + 1);
	FUZZ_CHECK(is_lower_hex(owner->data, 56));
	FUZZ_CHECK(memcmp(owner->data + 56, label, lab) == 0);
	FUZZ_CHECK(memcmp(owner->data + 56 + lab, addr->domain.data, addr->domain.len) == 0);
	FUZZ_CHECK(owner->data[owner->len - 1] == '.');
}

static void
fuzz_address(const char *s)
{
	struct owner_address addr;
	struct buf exact = BUF_INIT, lower = BUF_INIT, pgp = BUF_INIT, direct = BUF_INIT;
	struct why why;

	if (!owner_address_parse(&addr, s, &why)) {
		FUZZ_CHECK(
		        !owner_name_from_address(&direct, s, OWNER_SMIMEA, OWNER_CASE_EXACT, &why));
		FUZZ_CHECK(direct.len == 0);
		buf_release(&direct);
		return;
	}
	FUZZ_CHECK(addr.local.len > 0 && addr.domain.len > 0);
	FUZZ_CHECK(owner_check_domain(buf_str(&addr.domain), &why));
	owner_name_append(&exact, &addr, OWNER_SMIMEA, OWNER_CASE_EXACT);
	owner_name_append(&lower, &addr, OWNER_SMIMEA, OWNER_CASE_LOWER);
	owner_name_append(&pgp, &addr, OWNER_OPENPGPKEY, OWNER_CASE_EXACT);
	check_owner(&exact, &addr, "._smimecert.");
	check_owner(&lower, &addr, "._smimecert.");
	check_owner(&pgp, &addr, "._openpgpkey.");
	FUZZ_CHECK(memcmp(exact.data, pgp.data, 56) == 0);
	/*
	 * The name that is looked up must itself be a valid DNS name
	 * (tests/fuzz/crashes/owner-long-domain: owner_address_parse refuses
	 * domains too long for an owner name).
	 */
	FUZZ_CHECK(owner_check_domain(buf_str(&pgp), &why));
	FUZZ_CHECK(owner_lower_differs(&addr) == (memcmp(exact.data, lower.data, 56) != 0));
	FUZZ_CHECK(owner_name_from_address(&direct, s, OWNER_SMIMEA, OWNER_CASE_EXACT, &why));
	FUZZ_CHECK(direct.len == exact.len && memcmp(direct.data, exact.data, exact.len) == 0);
	owner_address_clear(&addr);
	buf_release(&exact);
	buf_release(&lower);
	buf_release(&pgp);
	buf_release(&direct);
}

static void
fuzz_host(const char *s, unsigned port, const char *proto)
{
	struct buf out = BUF_INIT;
	struct why why;

	if (owner_tlsa(&out, s, port, proto, &why)) {
		FUZZ_CHECK(out.len > 0 && out.data[out.len - 1] == '.');
		FUZZ_CHECK(out.data[0] == '_');
		FUZZ_CHECK(owner_check_domain(buf_str(&out), &why));
		/* the host's labels are the owner's last labels: they passed the same check */
		FUZZ_CHECK(owner_check_domain(s, &why));
	} else {
		FUZZ_CHECK(out.len == 0);
	}
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned ports[] = {25, 465, 587, 443, 0, 1, 65535, 65536};
	static const char *protos[] = {"tcp", "udp", "sctp", "", "t_p", "x-y"};
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	if (data[0] & 0x80)
		fuzz_host(s, ports[data[0] & 7], protos[(data[0] >> 3) % 6]);
	else
		fuzz_address(s);
	free(s);
	return 0;
}
