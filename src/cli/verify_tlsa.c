/*
 * verify_tlsa.c - `danemail verify tlsa HOST[:PORT]` and
 * `danemail verify tlsa --mx DOMAIN`.
 *
 * For one host (a non-MX destination, RFC 7672 2.2.2) or every MX host of
 * a domain (2.2.1, in preference order): resolve its addresses with DNSSEC
 * validation (or take --addr), find its TLSA records (2.2.3), connect to
 * EACH address, STARTTLS, and judge the session with lib/dane/verify.c.
 * Prints a verdict per address, per host and for the whole target (the
 * worst one, naming where it happened); --json for machines.  The exit code
 * is that of the worst verdict (see usage()).
 *
 * Untrusted: DNS data (names printed as the DNS codec escaped them, TLSA
 * data as hex) and everything the servers send (escaped by lib/smtp and
 * lib/dane before it gets here); command-line names are escaped too.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "report.h"
#include "dane/verify.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "smtp/client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/escape.h"

/* Exit codes of verify tlsa: one per verdict class (enum dane_class). */
enum verify_exit {
	VERIFY_EXIT_PASS = 0,    /* every address passes */
	VERIFY_EXIT_AUTH = 1,    /* an authentication failure: a DANE sender cannot deliver */
	VERIFY_EXIT_NO_DANE = 2, /* insecure, or no usable TLSA records */
	VERIFY_EXIT_BOGUS = 3,   /* DNSSEC validation failed */
	VERIFY_EXIT_UNKNOWN = 4, /* lookup failure, unreachable, not testable */
};

#define MAX_ADDRS 16

struct verify_opts {
	struct dns_config dns;
	bool json;
	bool legacy_tls;
	const char *mx_domain;
	unsigned port; /* 0: not given */
	unsigned timeout_ms;
	const char *helo;
	struct sockaddr_storage addrs[MAX_ADDRS];
	size_t n_addrs;
};

static void
verify_usage(FILE *fp)
{
	fputs("usage: danemail verify tlsa [OPTIONS] HOST[:PORT]\n"
	      "       danemail verify tlsa [OPTIONS] --mx DOMAIN\n"
	      "Check DANE for SMTP (RFC 7672): TLSA records of the host (or of every MX host\n"
	      "of DOMAIN), then STARTTLS to each of its addresses and judge the session.\n"
	      "  --mx DOMAIN          check every MX host of DOMAIN (port 25, or --port)\n"
	      "  --port N             port for --mx hosts (default 25)\n"
	      "  --addr IP            connect to IP instead of resolving A/AAAA (repeatable)\n"
	      "  --timeout MS         limit for each SMTP stage: connect, greeting, each reply,\n"
	      "                       TLS handshake (default 10 s connect, 60 s greeting, 30 s)\n"
	      "  --legacy-tls         also accept TLS 1.0/1.1 (OpenSSL security level 0)\n"
	      "  --helo NAME          name to send in EHLO (default localhost)\n"
	      "  --config FILE        unbound configuration file (trust anchors, forwarders)\n"
	      "  --trust-anchor FILE  trust these DS/DNSKEY records (instead of the root's)\n"
	      "  --forwarder ADDR     send queries to this resolver (it must pass DNSSEC data)\n"
	      "  --json               one JSON object on stdout\n"
	      "verdicts: pass, tlsa-absent, tlsa-unusable, tlsa-mismatch, name-mismatch,\n"
	      "  cert-expired, dnssec-bogus, dnssec-insecure, starttls-missing, tls-failed,\n"
	      "  unreachable, lookup-failed, not-testable\n"
	      "exit (worst verdict over every address of every host):\n"
	      "  0 all pass\n"
	      "  1 authentication failure: tlsa-mismatch, name-mismatch, cert-expired,\n"
	      "    starttls-missing, tls-failed (a DANE sender cannot deliver)\n"
	      "  2 no DANE: dnssec-insecure, tlsa-absent, tlsa-unusable\n"
	      "  3 dnssec-bogus\n"
	      "  4 lookup-failed, unreachable, not-testable\n"
	      "  64 usage error or bad input\n",
	      fp);
}

static enum verify_exit
exit_for(enum dane_verdict v)
{
	switch (dane_verdict_class(v)) {
	case DANE_CLASS_PASS:
		return VERIFY_EXIT_PASS;
	case DANE_CLASS_NO_DANE:
		return VERIFY_EXIT_NO_DANE;
	case DANE_CLASS_UNKNOWN:
		return VERIFY_EXIT_UNKNOWN;
	case DANE_CLASS_AUTH:
		return VERIFY_EXIT_AUTH;
	case DANE_CLASS_BOGUS:
		return VERIFY_EXIT_BOGUS;
	}
	return VERIFY_EXIT_UNKNOWN;
}

/* "127.0.0.1", "::1" or "[::1]" -> sockaddr (port filled in later). */
static bool
parse_addr(struct sockaddr_storage *ss, const char *text)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (n >= 2 && n < sizeof(tmp) && text[0] == '[' && text[n - 1] == ']') {
		memcpy(tmp, text + 1, n - 2);
		tmp[n - 2] = '\0';
		text = tmp;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* HOST[:PORT]: host (no final dot check here) and port; false with a reason. */
static bool
parse_target(const char *arg, char **host, unsigned *port, struct why *why)
{
	const char *colon = strrchr(arg, ':');
	unsigned long p = 25;

	if (colon) {
		char *end;

		p = strtoul(colon + 1, &end, 10);
		if (*end || colon[1] == '\0' || p == 0 || p > 65535)
			return why_set(why, "bad port in '%s'", arg);
		*host = xstrndup(arg, (size_t)(colon - arg));
	} else {
		*host = xstrdup(arg);
	}
	*port = (unsigned)p;
	if ((*host)[0] == '\0' || strcmp(*host, ".") == 0)
		why_set(why, "empty host name in '%s'", arg);
	else if (owner_check_domain(*host, why))
		return true;
	free(*host);
	*host = NULL;
	return false;
}

/* "3 1 1 ab12... (DANE-EE SPKI SHA2-256)" */
static void
text_assoc(struct buf *out, const struct rr_assoc *a)
{
	rr_assoc_to_text(a, out);
	buf_printf(out, " (%s %s %s)", rr_usage_name(a->usage), rr_selector_name(a->selector),
	           rr_mtype_name(a->mtype));
}

/* The SMTP and TLS details of one address. */
static void
report_address(struct buf *text, json_t *ja, const struct dane_address_check *c)
{
	const struct smtp_report *p = &c->probe;
	const struct dane_tls *t = &c->tls;
	json_t *js = json_object(), *jt;
	char tbuf[32];
	size_t k;

	json_object_set_new(ja, "address", json_string(c->address));
	json_object_set_new(ja, "verdict", json_string(dane_verdict_name(c->decision.verdict)));
	json_object_set_new(ja, "rule", json_string(c->decision.rule));
	buf_printf(text, "  %s: %s\n    %s\n", c->address, dane_verdict_name(c->decision.verdict),
	           c->decision.rule);

	json_object_set_new(js, "result", json_string(smtp_result_name(p->result)));
	json_object_set_new(js, "stage", json_string(smtp_stage_name(p->stage)));
	json_object_set_new(js, "why", p->why.msg[0] ? json_string(p->why.msg) : json_null());
	json_object_set_new(js, "greeting",
	                    p->greeting_code ? json_string(buf_str(&p->greeting)) : json_null());
	json_object_set_new(js, "ehlo_code", json_integer(p->ehlo_code));
	json_object_set_new(js, "helo_fallback", json_boolean(p->helo_fallback));
	json_object_set_new(js, "starttls_offered", json_boolean(p->ehlo.starttls));
	json_object_set_new(js, "starttls_code", json_integer(p->starttls_code));
	json_object_set_new(js, "elapsed_ms", json_integer(p->elapsed_ms));
	if (p->ehlo_code / 100 == 2) {
		json_t *ext = json_array();

		for (k = 0; k < p->ehlo.n_keywords; k++)
			json_array_append_new(ext, json_string(p->ehlo.keywords[k]));
		json_object_set_new(js, "extensions", ext);
	}
	json_object_set_new(ja, "smtp", js);
	buf_printf(text, "    smtp: %s", smtp_result_name(p->result));
	if (p->result != SMTP_RESULT_OK)
		buf_printf(text, ": %s", p->why.msg);
	buf_putc(text, '\n');
	if (p->greeting_code)
		buf_printf(text, "    greeting: %s\n", buf_str(&p->greeting));
	if (p->ehlo_code)
		buf_printf(text, "    EHLO: %d%s%s\n", p->ehlo_code,
		           p->helo_fallback ? " (refused: HELO used)" : "",
		           p->ehlo.starttls ? ", STARTTLS offered" : "");

	if (!t->established) {
		json_object_set_new(ja, "tls", json_null());
		return;
	}
	jt = json_object();
	json_object_set_new(jt, "version", json_string(t->version));
	json_object_set_new(jt, "cipher", json_string(t->cipher));
	json_object_set_new(jt, "dane_records", json_integer((json_int_t)t->n_records));
	json_object_set_new(jt, "verify", json_string(t->verify_text));
	json_object_set_new(jt, "peer_name",
	                    t->peer_name ? json_string(t->peer_name) : json_null());
	json_object_set_new(jt, "chain_length", json_integer(t->chain ? sk_X509_num(t->chain) : 0));
	buf_printf(text, "    TLS: %s %s, DANE verification: %s\n", t->version, t->cipher,
	           t->n_records ? t->verify_text : "not armed (no usable secure TLSA)");
	if (t->leaf_subject) {
		json_t *jl = json_object();

		json_object_set_new(jl, "subject", json_string(t->leaf_subject));
		json_object_set_new(jl, "not_after",
		                    json_string(time_text(tbuf, sizeof(tbuf), t->leaf_not_after)));
		json_object_set_new(jl, "expired", json_boolean(t->leaf_expired));
		json_object_set_new(jt, "leaf", jl);
		buf_printf(text, "    certificate: %s, expires %s%s, chain of %d\n",
		           t->leaf_subject, tbuf, t->leaf_expired ? " (EXPIRED)" : "",
		           t->chain ? sk_X509_num(t->chain) : 0);
	}
	if (t->match_depth >= 0) {
		json_t *jm = scan_assoc_json(&t->match);

		json_object_set_new(jm, "depth", json_integer(t->match_depth));
		json_object_set_new(jt, "matched", jm);
		buf_puts(text, "    matched: ");
		text_assoc(text, &t->match);
		buf_printf(text, " at depth %d%s%s\n", t->match_depth,
		           t->peer_name ? ", name " : "", t->peer_name ? t->peer_name : "");
		if (t->leaf_expired && t->match.usage == RR_USAGE_DANE_EE)
			buf_puts(text,
			         "    note: the certificate has expired; DANE-EE ignores that "
			         "(RFC 7672 3.1.1), other clients may not\n");
	} else {
		json_object_set_new(jt, "matched", json_null());
	}
	json_object_set_new(ja, "tls", jt);
	json_object_set_new(ja, "rollover", json_string(dane_rollover_name(c->rollover)));
	json_object_set_new(ja, "rollover_ready", json_boolean(dane_rollover_ready(c->rollover)));
	if (c->rollover != DANE_ROLLOVER_NONE)
		buf_printf(text, "    rollover: %s (%s)\n", dane_rollover_name(c->rollover),
		           dane_rollover_ready(c->rollover) ? "ready"
		                                            : "NOT ready: publish the next "
		                                              "record before renewing");
}

/*
 * Check one host; returns its verdict (the worst over its addresses) and
 * appends its report.  nexthop is the MX domain when the MX RRset is secure.
 */
static enum dane_verdict
check_host(struct buf *text, json_t *jhosts, struct dns_resolver *res, SSL_CTX *ctx,
           const struct verify_opts *o, const char *name, unsigned port, int preference,
           const char *nexthop)
{
	struct dane_host h;
	struct smtp_probe_config cfg;
	struct buf esc = BUF_INIT;
	json_t *jh = json_object(), *jt = json_object(), *jrecs = json_array();
	json_t *jaddrs = json_array();
	enum dane_verdict worst = DANE_VERDICT_PASS;
	size_t i;

	dane_host_resolve(&h, res, name, port, o->n_addrs ? o->addrs : NULL, o->n_addrs);

	escape_str(&esc, h.name);
	json_object_set_new(jh, "host", json_string(buf_str(&esc)));
	json_object_set_new(jh, "port", json_integer(port));
	if (preference >= 0)
		json_object_set_new(jh, "preference", json_integer(preference));
	json_object_set_new(jh, "canonical", h.canonical ? json_string(h.canonical) : json_null());
	json_object_set_new(jh, "addresses_from", json_string(o->n_addrs ? "command line" : "dns"));
	json_object_set_new(jh, "addresses_dnssec", json_string(dns_sec_name(h.addr_sec)));
	json_object_set_new(jh, "addresses_outcome", json_string(dns_outcome_name(h.addr_outcome)));
	json_object_set_new(jh, "addresses_why",
	                    h.addr_why ? json_string(h.addr_why) : json_null());
	json_object_set_new(jh, "secure_alias", json_boolean(h.secure_alias));

	if (preference >= 0)
		buf_printf(text, "MX %d %s:%u\n", preference, buf_str(&esc), port);
	else
		buf_printf(text, "host %s:%u\n", buf_str(&esc), port);
	if (h.canonical)
		buf_printf(text, "  alias of %s\n", h.canonical);
	buf_printf(text, "  addresses: %s%s, %s%s%s\n",
	           o->n_addrs ? "given on the command line" : dns_sec_name(h.addr_sec),
	           h.secure_alias ? " (secure CNAME into an unsigned zone)" : "",
	           dns_outcome_name(h.addr_outcome), h.addr_why ? ": " : "",
	           h.addr_why ? h.addr_why : "");

	if (h.tlsa_looked_up) {
		json_object_set_new(jt, "owner", json_string(h.tlsa.qname ? h.tlsa.qname : ""));
		json_object_set_new(jt, "base_domain", json_string(h.tlsa_base));
		json_object_set_new(jt, "dnssec", json_string(dns_sec_name(h.tlsa.sec)));
		json_object_set_new(jt, "outcome", json_string(dns_outcome_name(h.tlsa.outcome)));
		json_object_set_new(jt, "why", h.tlsa.why ? json_string(h.tlsa.why) : json_null());
		json_object_set_new(jt, "usable", json_integer((json_int_t)h.set.n_usable));
		json_object_set_new(jt, "malformed", json_integer((json_int_t)h.set.n_malformed));
		buf_printf(text, "  TLSA %s: %s, %s, %zu record%s (%zu usable)%s%s\n",
		           h.tlsa.qname ? h.tlsa.qname : "?", dns_sec_name(h.tlsa.sec),
		           dns_outcome_name(h.tlsa.outcome), h.set.n, h.set.n == 1 ? "" : "s",
		           h.set.n_usable, h.tlsa.why ? ": " : "", h.tlsa.why ? h.tlsa.why : "");
		for (i = 0; i < h.set.n; i++) {
			json_array_append_new(jrecs, scan_assoc_json(&h.set.recs[i]));
			buf_puts(text, "    ");
			text_assoc(text, &h.set.recs[i]);
			buf_puts(text, dane_tlsa_usable(&h.set.recs[i]) ? "\n" : " UNUSABLE\n");
		}
		json_object_set_new(jt, "records", jrecs);
		json_object_set_new(jh, "tlsa", jt);
	} else {
		json_decref(jt);
		json_decref(jrecs);
		json_object_set_new(jh, "tlsa", json_null());
		buf_puts(text, "  TLSA: not looked up\n");
	}

	smtp_probe_config_init(&cfg);
	cfg.helo_name = o->helo ? o->helo : cfg.helo_name;
	if (o->timeout_ms)
		cfg.connect_ms = cfg.greeting_ms = cfg.command_ms = cfg.tls_ms = o->timeout_ms;
	cfg.implicit_tls = port == 465; /* submissions (RFC 8314): TLS from the first byte */
	if (h.n_addrs == 0 || h.addr_sec == DNS_SEC_BOGUS) {
		/* nothing to connect to, or addresses that must not be used (RFC 7672 2.1.1) */
		struct dane_facts f;
		struct dane_decision d;

		dane_facts_from_host(&f, &h);
		d = dane_decide(&f);
		worst = d.verdict;
		buf_printf(text, "  no connection: %s\n    %s\n", dane_verdict_name(d.verdict),
		           d.rule);
		json_object_set_new(jh, "rule", json_string(d.rule));
	}
	for (i = 0; i < h.n_addrs && h.addr_sec != DNS_SEC_BOGUS; i++) {
		struct dane_address_check c;
		json_t *ja = json_object();

		dane_check_address(&c, ctx, &h, i, nexthop, &cfg);
		report_address(text, ja, &c);
		json_array_append_new(jaddrs, ja);
		worst = i == 0 ? c.decision.verdict : dane_verdict_worst(worst, c.decision.verdict);
		dane_address_check_clear(&c);
	}
	json_object_set_new(jh, "addresses", jaddrs);
	json_object_set_new(jh, "verdict", json_string(dane_verdict_name(worst)));
	buf_printf(text, "  host verdict: %s\n", dane_verdict_name(worst));
	json_array_append_new(jhosts, jh);
	buf_release(&esc);
	dane_host_clear(&h);
	return worst;
}

/* One MX record: preference and host name (presentation form). */
struct mx_host {
	int preference;
	char *name;
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return x->preference - y->preference;
}

/* The MX hosts of an answer, sorted by preference; n_null: null MX records (RFC 7505). */
static struct mx_host *
mx_hosts(const struct dns_answer *ans, size_t *n, size_t *n_null)
{
	struct mx_host *hosts = xcalloc(ans->n_rrs ? ans->n_rrs : 1, sizeof(*hosts));
	size_t i;

	*n = *n_null = 0;
	for (i = 0; i < ans->n_rrs; i++) {
		const struct dns_rr *rr = &ans->rrs[i];
		struct buf name = BUF_INIT;
		size_t pos = 2;

		if (rr->len < 3 || !rr_name_to_text(rr->rdata, rr->len, &pos, &name, NULL)) {
			buf_release(&name);
			continue;
		}
		if (strcmp(buf_str(&name), ".") == 0) {
			(*n_null)++;
			buf_release(&name);
			continue;
		}
		if (name.len > 1 && name.data[name.len - 1] == '.')
			name.data[--name.len] = '\0';
		hosts[*n].preference = rr->rdata[0] << 8 | rr->rdata[1];
		hosts[*n].name = (char *)buf_steal(&name, NULL);
		(*n)++;
	}
	qsort(hosts, *n, sizeof(*hosts), mx_cmp);
	return hosts;
}

/* --mx DOMAIN: every MX host; returns the worst verdict and names where it happened. */
static enum dane_verdict
check_domain(struct buf *text, json_t *top, json_t *jhosts, struct dns_resolver *res, SSL_CTX *ctx,
             const struct verify_opts *o, struct buf *where)
{
	struct dns_answer mx;
	struct buf esc = BUF_INIT;
	struct mx_host *hosts;
	size_t n, n_null, i;
	unsigned port = o->port ? o->port : 25;
	enum dane_verdict worst = DANE_VERDICT_PASS;
	json_t *jmx = json_object();
	bool secure;

	dns_lookup(res, o->mx_domain, RR_TYPE_MX, &mx);
	secure = dns_answer_secure_data(&mx);
	escape_str(&esc, o->mx_domain);
	json_object_set_new(jmx, "dnssec", json_string(dns_sec_name(mx.sec)));
	json_object_set_new(jmx, "outcome", json_string(dns_outcome_name(mx.outcome)));
	json_object_set_new(jmx, "why", mx.why ? json_string(mx.why) : json_null());
	json_object_set_new(top, "mx", jmx);
	buf_printf(text, "domain %s: MX %s, %s%s%s\n", buf_str(&esc), dns_sec_name(mx.sec),
	           dns_outcome_name(mx.outcome), mx.why ? ": " : "", mx.why ? mx.why : "");

	/* RFC 7672 2.1.1: a bogus or failed MX lookup leaves nothing to deliver to */
	if (mx.sec == DNS_SEC_BOGUS) {
		worst = DANE_VERDICT_DNSSEC_BOGUS;
		buf_printf(where, "MX RRset of %s", buf_str(&esc));
		goto out;
	}
	if (mx.outcome == DNS_OUTCOME_SERVFAIL || mx.outcome == DNS_OUTCOME_TIMEOUT ||
	    mx.outcome == DNS_OUTCOME_ERROR) {
		worst = DANE_VERDICT_LOOKUP_FAILED;
		buf_printf(where, "MX lookup of %s", buf_str(&esc));
		goto out;
	}
	if (mx.outcome == DNS_OUTCOME_NXDOMAIN) {
		worst = DANE_VERDICT_UNREACHABLE;
		buf_printf(where, "%s does not exist", buf_str(&esc));
		goto out;
	}
	if (mx.outcome == DNS_OUTCOME_NODATA) {
		/* RFC 5321 5.1: no MX records: the domain itself is the mail host */
		buf_puts(text, "  no MX records: the domain is its own mail host (RFC 5321 5.1)\n");
		worst = check_host(text, jhosts, res, ctx, o, o->mx_domain, port, 0,
		                   mx.sec == DNS_SEC_SECURE ? o->mx_domain : NULL);
		buf_puts(where, buf_str(&esc));
		goto out;
	}
	hosts = mx_hosts(&mx, &n, &n_null);
	if (n == 0) {
		worst = DANE_VERDICT_UNREACHABLE;
		buf_printf(where, "%s: %s", buf_str(&esc),
		           n_null ? "null MX (RFC 7505): the domain accepts no mail"
		                  : "no usable MX records");
		buf_printf(text, "  %s\n", buf_str(where));
	}
	if (!secure && n > 0)
		buf_puts(text, "  note: the MX RRset is not secure: senders may skip DANE for its "
		               "hosts (RFC 7672 2.2.1); they are checked anyway, without the "
		               "next-hop domain as a name\n");
	for (i = 0; i < n; i++) {
		enum dane_verdict v = check_host(text, jhosts, res, ctx, o, hosts[i].name, port,
		                                 hosts[i].preference, secure ? o->mx_domain : NULL);

		if (i == 0 || dane_verdict_class(v) > dane_verdict_class(worst)) {
			worst = v;
			buf_reset(where);
			buf_printf(where, "MX %d %s", hosts[i].preference, hosts[i].name);
		}
		free(hosts[i].name);
	}
	free(hosts);
	if (n > 0 && worst == DANE_VERDICT_PASS) {
		buf_reset(where);
		if (n == 1)
			buf_puts(where, "the MX host");
		else
			buf_printf(where, "all %zu MX hosts", n);
	}
out:
	buf_release(&esc);
	dns_answer_clear(&mx);
	return worst;
}

int
cmd_verify_tlsa(int argc, char **argv)
{
	enum {
		O_MX = 256,
		O_PORT,
		O_ADDR,
		O_TIMEOUT,
		O_LEGACY,
		O_HELO,
	};
	static const struct option longopts[] = {
	        CLI_DNS_LONGOPTS,
	        {"mx", required_argument, NULL, O_MX},
	        {"port", required_argument, NULL, O_PORT},
	        {"addr", required_argument, NULL, O_ADDR},
	        {"timeout", required_argument, NULL, O_TIMEOUT},
	        {"legacy-tls", no_argument, NULL, O_LEGACY},
	        {"helo", required_argument, NULL, O_HELO},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct verify_opts o;
	struct dns_resolver *res = NULL;
	struct buf text = BUF_INIT, esc = BUF_INIT, where = BUF_INIT;
	struct why why = {""};
	SSL_CTX *ctx = NULL;
	json_t *top = NULL, *jhosts;
	enum dane_verdict verdict;
	enum verify_exit rc;
	char *host = NULL;
	unsigned port = 25;
	unsigned long v;
	size_t i;
	char *end;
	int c;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "jc:t:F:h", longopts, NULL)) != -1) {
		if (cli_dns_option(c, optarg, &o.dns, &o.json))
			continue;
		switch (c) {
		case O_MX:
			o.mx_domain = optarg;
			break;
		case O_PORT:
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > 65535) {
				cli_error("verify tlsa: --port wants 1-65535, got '%s'",
				          escape_str(&esc, optarg));
				goto usage_error;
			}
			o.port = (unsigned)v;
			break;
		case O_ADDR:
			if (o.n_addrs == MAX_ADDRS) {
				cli_error("verify tlsa: at most %d --addr", MAX_ADDRS);
				goto usage_error;
			}
			if (!parse_addr(&o.addrs[o.n_addrs], optarg)) {
				cli_error("verify tlsa: --addr wants an IPv4 or IPv6 address, got "
				          "'%s'",
				          escape_str(&esc, optarg));
				goto usage_error;
			}
			o.n_addrs++;
			break;
		case O_TIMEOUT:
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > 3600000) {
				cli_error("verify tlsa: --timeout wants 1-3600000 ms, got '%s'",
				          escape_str(&esc, optarg));
				goto usage_error;
			}
			o.timeout_ms = (unsigned)v;
			break;
		case O_LEGACY:
			o.legacy_tls = true;
			break;
		case O_HELO:
			if (!owner_check_domain(optarg, &why)) {
				cli_error("verify tlsa: --helo: %s", escape_str(&esc, why.msg));
				goto usage_error;
			}
			o.helo = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (o.mx_domain ? optind != argc : argc - optind != 1) {
		cli_error("verify tlsa: want HOST[:PORT] or --mx DOMAIN (not both)");
		goto usage_error;
	}
	if (o.mx_domain && o.n_addrs) {
		cli_error("verify tlsa: --addr names the addresses of one host, not of --mx hosts");
		goto usage_error;
	}
	if (o.mx_domain && !owner_check_domain(o.mx_domain, &why)) {
		cli_error("verify tlsa: --mx %s: %s", escape_str(&esc, o.mx_domain), why.msg);
		goto usage_error;
	}
	if (!o.mx_domain) {
		if (o.port) {
			cli_error("verify tlsa: --port is for --mx; give HOST:PORT");
			goto usage_error;
		}
		if (!parse_target(argv[optind], &host, &port, &why)) {
			cli_error("verify tlsa: %s", escape_str(&esc, why.msg));
			goto usage_error;
		}
		for (i = 0; i < o.n_addrs; i++)
			set_port(&o.addrs[i], port);
	}
	if ((res = dns_resolver_new(&o.dns, &why)) == NULL) {
		cli_error("verify tlsa: %s", escape_str(&esc, why.msg));
		goto usage_error;
	}
	if ((ctx = dane_ctx_new(o.legacy_tls, &why)) == NULL) {
		cli_error("verify tlsa: %s", why.msg);
		dns_resolver_free(res);
		buf_release(&esc);
		free(host);
		return CLI_EXIT_SOFTWARE;
	}

	top = json_object();
	jhosts = json_array();
	if (o.mx_domain) {
		json_object_set_new(top, "domain", json_string(escape_str(&esc, o.mx_domain)));
		verdict = check_domain(&text, top, jhosts, res, ctx, &o, &where);
	} else {
		json_object_set_new(top, "target", json_string(escape_str(&esc, argv[optind])));
		verdict = check_host(&text, jhosts, res, ctx, &o, host, port, -1, NULL);
		buf_puts(&where, escape_str(&esc, host));
	}
	rc = exit_for(verdict);
	json_object_set_new(top, "hosts", jhosts);
	json_object_set_new(top, "verdict", json_string(dane_verdict_name(verdict)));
	json_object_set_new(top, "worst", json_string(buf_str(&where)));
	json_object_set_new(top, "exit", json_integer(rc));
	buf_printf(&text, "verdict: %s (%s)\n", dane_verdict_name(verdict), buf_str(&where));
	cli_output(top, &text, o.json);
	json_decref(top);
	SSL_CTX_free(ctx);
	dns_resolver_free(res);
	buf_release(&text);
	buf_release(&esc);
	buf_release(&where);
	free(host);
	return rc;

usage_error:
	buf_release(&esc);
	free(host);
	return CLI_EXIT_USAGE;
}
