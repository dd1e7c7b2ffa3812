/*
 * resolver_states.c - integration test: every DNSSEC state through the
 * synchronous and the asynchronous (libevent) resolver, against the real
 * testbed (NSD serving zones signed at test time, validated by libunbound).
 *
 * Needs TB_UNBOUND_CONF and TB_UNBOUND_DOWN_CONF from tests/testbed's
 * testbed.env.  Prints TAP.
 */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/owner.h"
#include "dns/resolver.h"
#include "dns/rr.h"
#include "util/alloc.h"
#include "util/buf.h"

static int test_no, failures;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		failures++;
}

struct state_case {
	const char *what;
	const char *name; /* a DNS name, or an address when kind is set */
	int address_kind; /* 0: plain name, 1: SMIMEA owner, 2: OPENPGPKEY owner */
	uint16_t type;
	enum dns_outcome want_outcome;
	enum dns_sec want_sec;
	const char *want_canonical; /* or NULL */
};

static const struct state_case cases[] = {
        {"secure SMIMEA", "bob@secure.test", 1, RR_TYPE_SMIMEA, DNS_OUTCOME_DATA, DNS_SEC_SECURE,
         NULL},
        {"secure SMIMEA in RFC 3597 form", "generic@secure.test", 1, RR_TYPE_SMIMEA,
         DNS_OUTCOME_DATA, DNS_SEC_SECURE, NULL},
        {"secure OPENPGPKEY", "bob@secure.test", 2, RR_TYPE_OPENPGPKEY, DNS_OUTCOME_DATA,
         DNS_SEC_SECURE, NULL},
        {"secure TLSA", "_25._tcp.mail.secure.test", 0, RR_TYPE_TLSA, DNS_OUTCOME_DATA,
         DNS_SEC_SECURE, NULL},
        {"secure MX", "secure.test", 0, RR_TYPE_MX, DNS_OUTCOME_DATA, DNS_SEC_SECURE, NULL},
        {"insecure SMIMEA", "bob@insecure.test", 1, RR_TYPE_SMIMEA, DNS_OUTCOME_DATA,
         DNS_SEC_INSECURE, NULL},
        {"insecure MX", "insecure.test", 0, RR_TYPE_MX, DNS_OUTCOME_DATA, DNS_SEC_INSECURE, NULL},
        {"bogus zone SMIMEA (expired signatures)", "bob@bogus.test", 1, RR_TYPE_SMIMEA,
         DNS_OUTCOME_DATA, DNS_SEC_BOGUS, NULL},
        {"bogus zone MX", "bogus.test", 0, RR_TYPE_MX, DNS_OUTCOME_DATA, DNS_SEC_BOGUS, NULL},
        {"tampered SMIMEA RRset", "mallory@secure.test", 1, RR_TYPE_SMIMEA, DNS_OUTCOME_DATA,
         DNS_SEC_BOGUS, NULL},
        {"tampered TXT RRset", "tampered.secure.test", 0, RR_TYPE_TXT, DNS_OUTCOME_DATA,
         DNS_SEC_BOGUS, NULL},
        {"secure NXDOMAIN", "nonexistent.secure.test", 0, RR_TYPE_A, DNS_OUTCOME_NXDOMAIN,
         DNS_SEC_SECURE, NULL},
        {"secure NXDOMAIN for an address", "nobody@secure.test", 1, RR_TYPE_SMIMEA,
         DNS_OUTCOME_NXDOMAIN, DNS_SEC_SECURE, NULL},
        {"secure NODATA", "mail.secure.test", 0, RR_TYPE_TXT, DNS_OUTCOME_NODATA, DNS_SEC_SECURE,
         NULL},
        {"insecure NXDOMAIN", "nonexistent.insecure.test", 0, RR_TYPE_A, DNS_OUTCOME_NXDOMAIN,
         DNS_SEC_INSECURE, NULL},
        {"secure CNAME chain", "chain.secure.test", 0, RR_TYPE_A, DNS_OUTCOME_DATA, DNS_SEC_SECURE,
         "mail.secure.test."},
        {"CNAME into an insecure zone", "to-insecure.secure.test", 0, RR_TYPE_A, DNS_OUTCOME_DATA,
         DNS_SEC_INSECURE, "mail.insecure.test."},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static char *
case_owner(const struct state_case *c)
{
	struct buf out = BUF_INIT;
	struct why why;

	if (c->address_kind == 0)
		return xstrdup(c->name);
	if (!owner_name_from_address(&out, c->name,
	                             c->address_kind == 1 ? OWNER_SMIMEA : OWNER_OPENPGPKEY,
	                             OWNER_CASE_EXACT, &why)) {
		fprintf(stderr, "owner of %s: %s\n", c->name, why.msg);
		exit(1);
	}
	return (char *)buf_steal(&out, NULL);
}

static void
check(const char *api, const struct state_case *c, const struct dns_answer *ans)
{
	int good = ans->outcome == c->want_outcome && ans->sec == c->want_sec;

	if (good && c->want_canonical)
		good = ans->canonical && strcmp(ans->canonical, c->want_canonical) == 0;
	if (good && c->want_outcome == DNS_OUTCOME_DATA)
		good = ans->n_rrs > 0;
	ok(good, "%s: %s: got %s/%s (%zu records, canonical %s, why %s), want %s/%s", api, c->what,
	   dns_outcome_name(ans->outcome), dns_sec_name(ans->sec), ans->n_rrs,
	   ans->canonical ? ans->canonical : "-", ans->why ? ans->why : "-",
	   dns_outcome_name(c->want_outcome), dns_sec_name(c->want_sec));
}

/* ---- async ---- */

struct async_slot {
	const struct state_case *c;
	struct dns_answer *ans;
};

static void
on_answer(void *arg, struct dns_answer *ans)
{
	struct async_slot *slot = arg;

	slot->ans = ans;
}

static void
run_async(const char *conf)
{
	struct dns_config cfg = {.unbound_conf = conf};
	struct event_base *base = event_base_new();
	struct why why;
	struct dns_async *as = dns_async_new(base, &cfg, &why);
	struct async_slot slots[N_CASES];
	size_t i;

	if (as == NULL) {
		ok(0, "async: create: %s", why.msg);
		return;
	}
	/* every lookup in flight at once */
	for (i = 0; i < N_CASES; i++) {
		char *owner = case_owner(&cases[i]);

		slots[i].c = &cases[i];
		slots[i].ans = NULL;
		if (!dns_async_lookup(as, owner, cases[i].type, 10000, on_answer, &slots[i], &why))
			ok(0, "async: start %s: %s", cases[i].what, why.msg);
		free(owner);
	}
	while (dns_async_pending(as) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	for (i = 0; i < N_CASES; i++) {
		if (slots[i].ans == NULL) {
			ok(0, "async: %s: no callback", cases[i].what);
			continue;
		}
		check("async", slots[i].c, slots[i].ans);
		dns_answer_clear(slots[i].ans);
		free(slots[i].ans);
	}
	dns_async_free(as);
	event_base_free(base);
}

/* DNS down: the async API gives SERVFAIL or, with a short limit, TIMEOUT; never a state. */
static void
run_async_down(const char *down_conf)
{
	struct dns_config cfg = {.unbound_conf = down_conf};
	struct event_base *base = event_base_new();
	struct why why;
	struct dns_async *as = dns_async_new(base, &cfg, &why);
	struct async_slot slot = {NULL, NULL};

	if (as == NULL ||
	    !dns_async_lookup(as, "mail.secure.test", RR_TYPE_A, 300, on_answer, &slot, &why)) {
		ok(0, "async down: start: %s", why.msg);
		return;
	}
	while (dns_async_pending(as) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	ok(slot.ans &&
	           (slot.ans->outcome == DNS_OUTCOME_TIMEOUT ||
	            slot.ans->outcome == DNS_OUTCOME_SERVFAIL) &&
	           slot.ans->sec == DNS_SEC_INDETERMINATE,
	   "async: DNS server down: got %s/%s, want timeout or servfail/indeterminate",
	   slot.ans ? dns_outcome_name(slot.ans->outcome) : "nothing",
	   slot.ans ? dns_sec_name(slot.ans->sec) : "-");
	if (slot.ans) {
		dns_answer_clear(slot.ans);
		free(slot.ans);
	}
	dns_async_free(as);
	event_base_free(base);
}

int
main(void)
{
	const char *conf = getenv("TB_UNBOUND_CONF");
	const char *down = getenv("TB_UNBOUND_DOWN_CONF");
	struct dns_config cfg = {.unbound_conf = conf}, dcfg = {.unbound_conf = down};
	struct dns_resolver *res;
	struct dns_answer a, b;
	struct why why;
	size_t i;

	if (conf == NULL || down == NULL) {
		puts("1..0 # SKIP TB_UNBOUND_CONF / TB_UNBOUND_DOWN_CONF not set (no testbed)");
		return 0;
	}
	if ((res = dns_resolver_new(&cfg, &why)) == NULL) {
		printf("Bail out! resolver: %s\n", why.msg);
		return 1;
	}
	for (i = 0; i < N_CASES; i++) {
		char *owner = case_owner(&cases[i]);

		dns_lookup(res, owner, cases[i].type, &a);
		check("sync", &cases[i], &a);
		dns_answer_clear(&a);
		free(owner);
	}

	/* RFC 3597 generic form serves the same RDATA as the mnemonic form */
	{
		char *o1 = case_owner(&cases[0]), *o2 = case_owner(&cases[1]);

		dns_lookup(res, o1, RR_TYPE_SMIMEA, &a);
		dns_lookup(res, o2, RR_TYPE_SMIMEA, &b);
		ok(a.n_rrs == 1 && b.n_rrs == 1 && a.rrs[0].len == b.rrs[0].len &&
		           memcmp(a.rrs[0].rdata, b.rrs[0].rdata, a.rrs[0].len) == 0,
		   "generic-form SMIMEA decodes to the same RDATA as the mnemonic form");
		dns_answer_clear(&a);
		dns_answer_clear(&b);
		free(o1);
		free(o2);
	}
	/* a bogus answer carries libunbound's reason */
	{
		char *o = case_owner(&cases[7]);

		dns_lookup(res, o, RR_TYPE_SMIMEA, &a);
		ok(a.sec == DNS_SEC_BOGUS && a.why && strlen(a.why) > 0,
		   "bogus answer carries a reason: %s", a.why ? a.why : "(none)");
		dns_answer_clear(&a);
		free(o);
	}
	dns_resolver_free(res);

	/* DNS server down: SERVFAIL, indeterminate, never "no record" */
	if ((res = dns_resolver_new(&dcfg, &why)) == NULL) {
		printf("Bail out! resolver (down): %s\n", why.msg);
		return 1;
	}
	dns_lookup(
	        res,
	        "81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd._smimecert.secure.test",
	        RR_TYPE_SMIMEA, &a);
	ok(a.outcome == DNS_OUTCOME_SERVFAIL && a.sec == DNS_SEC_INDETERMINATE,
	   "sync: DNS server down: got %s/%s, want servfail/indeterminate",
	   dns_outcome_name(a.outcome), dns_sec_name(a.sec));
	dns_answer_clear(&a);
	dns_resolver_free(res);

	run_async(conf);
	run_async_down(down);
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}
