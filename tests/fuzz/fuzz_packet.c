/*
 * fuzz_packet.c - libFuzzer target for the DNS response parser
 * (lib/dns/packet.h, RFC 1035 section 4.1).
 *
 * The first input byte picks the question type, the rest is the response
 * packet.  An accepted answer must be complete (a canonical name, RDATA for
 * every record) and each record is printed as the tools would print it.
 */
#include "fuzz.h"

#include "dns/packet.h"
#include "dns/resolver.h"
#include "dns/rr.h"
#include "util/buf.h"

static const uint16_t types[] = {
        RR_TYPE_A,    RR_TYPE_NS,     RR_TYPE_CNAME,      RR_TYPE_SOA,   RR_TYPE_MX,
        RR_TYPE_TXT,  RR_TYPE_AAAA,   RR_TYPE_DS,         RR_TYPE_RRSIG, RR_TYPE_DNSKEY,
        RR_TYPE_TLSA, RR_TYPE_SMIMEA, RR_TYPE_OPENPGPKEY, 12 /* PTR */,  255 /* ANY */,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer ans = {0};
	struct buf text = BUF_INIT;
	struct why why;
	uint16_t qtype;
	size_t i;

	if (size < 1)
		return 0;
	qtype = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (dns_packet_answer(data + 1, size - 1, qtype, &ans, &why)) {
		FUZZ_CHECK(ans.canonical != NULL);
		FUZZ_CHECK(ans.canonical[0] != '\0' &&
		           ans.canonical[strlen(ans.canonical) - 1] == '.');
		FUZZ_CHECK(ans.n_rrs == 0 || ans.rrs != NULL);
		for (i = 0; i < ans.n_rrs; i++) {
			FUZZ_CHECK(ans.rrs[i].len == 0 || ans.rrs[i].rdata != NULL);
			buf_reset(&text);
			(void)rr_rdata_to_text(qtype, ans.rrs[i].rdata, ans.rrs[i].len, &text,
			                       &why);
		}
	} else {
		FUZZ_CHECK(ans.canonical == NULL && ans.rrs == NULL && ans.n_rrs == 0);
	}
	dns_answer_clear(&ans);
	buf_release(&text);
	return 0;
}
