/*
 * engine.c - the scan engine (see engine.h): domains, MX hosts and SMTP
 * probes as three kinds of state machine on one libevent loop.
 *
 *   domain  MX lookup (+ the policy TXT lookups, + the MTA-STS fetch)
 *           -> one host per MX record -> wait -> verdicts -> done()
 *   host    A + AAAA (+ CNAME when the target is insecure) -> TLSA at the
 *           base domains of RFC 7672 2.2.3 -> one probe per address ->
 *           wait -> DANE judgement per address (tlscheck.c + dane_decide)
 *   probe   wait for a connection slot (per IP, in all) -> smtp_probe_step
 *           on socket readiness and deadlines -> summary, chain, PKIX ->
 *           (--tls-enumerate) one session per TLS version and certificate
 *           type on the same slot
 *
 * DNS goes through a bounded queue (dnsq.h) to libunbound, by default in
 * resolver threads of its own (ubthread.h: DNSSEC validation is most of a
 * scan's CPU time), answers delivered into this loop; everything else runs
 * in the loop's one thread.
 *
 * Hosts and probes live in tables (table.h) keyed by name and by IP:port,
 * so each is resolved or probed once and every domain (host) waiting on
 * it is told when it is done.  Reference counts say who still needs an
 * entry; idle entries go on an LRU list and the oldest are evicted beyond
 * the configured bounds (from the feed event only, never while a callback
 * chain is walking them).  Every state machine holds one "pending" count
 * while it starts its work, so no callback can finish it under its feet.
 *
 * The decisions are not made here: RFC 7672 verdicts come from
 * dane_decide() (lib/dane/verify.c) with the facts gathered exactly as
 * dane_host_resolve() gathers them; "not testable" (refused, 421,
 * timeout, not SMTP) is kept apart from "no STARTTLS" (enum
 * scan_transport).  Everything servers and DNS send is escaped before it
 * is stored (lib/smtp, lib/dane, util/escape).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "dnsq.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "engine.h"
#include "tlscheck.h"
#include "ubthread.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

/* A host whose lookups failed is looked up again after this long (ms). */
#define HOST_RETRY_MS 60000
/* Domains started per activation of the feed event. */
#define FEED_BATCH 256

/*
 * An address being connected to.  Probes wait on it for a slot (per_ip)
 * or a token (rate_per_ip: a bucket one token deep, next_ms is when the
 * next token is there); the timer wakes them when the token comes.  An
 * address whose bucket is not yet full stays (idle on the LRU list of the
 * table) until it is, so a new probe cannot start too soon after the last.
 */
struct scan_ip {
	struct scan_entry entry; /* key: the address text */
	unsigned active;
	struct scan_probe *wait_head, *wait_tail;
	int64_t next_ms;     /* smtp_clock_ms() from which a new connection may start */
	struct event *timer; /* wakes the queue when the token comes */
	struct scan_engine *engine;
};

struct scan_engine {
	struct scan_options o;
	struct event_base *base;
	struct dns_async *as; /* --dns-inline: libunbound in the loop's thread */
	struct scan_ub *ub[SCAN_MAX_DNS_THREADS]; /* default: libunbound contexts, a thread each */
	unsigned n_ub;
	struct scan_dnsq *dnsq;
	SSL_CTX *ssl_ctx;
	SSL_CTX *ssl_ctx_legacy; /* TLS 1.0/1.1 sessions of --tls-enumerate (security level 0) */
	X509_STORE *pkix;
	struct mtasts_fetcher *fetcher;
	struct policy_psl *psl; /* organizational domains for DMARC (with policies) */
	struct scan_table hosts, probes, ips;
	unsigned active_conns;
	int64_t rate_interval_ms;                   /* 1000 / rate_per_ip rounded up, 0: no limit */
	struct scan_probe *gwait_head, *gwait_tail; /* waiting for a global slot */
	size_t in_flight;
	bool stopping, input_done;
	struct event *feed_ev, *tick_ev;
	scan_next_cb *next;
	scan_done_cb *done;
	void (*tick)(void *arg);
	void *arg;
	struct scan_counters c;
};

const char *
scan_transport_name(enum scan_transport t)
{
	switch (t) {
	case SCAN_TRANSPORT_TLS:
		return "tls";
	case SCAN_TRANSPORT_TLS_FAILED:
		return "tls-failed";
	case SCAN_TRANSPORT_NO_STARTTLS:
		return "no-starttls";
	case SCAN_TRANSPORT_NOT_TESTABLE:
		return "not-testable";
	case SCAN_TRANSPORT_NOT_TESTED:
		return "not-tested";
	}
	return "not-tested";
}

const char *
scan_variant_name(enum scan_variant v)
{
	switch (v) {
	case SCAN_VAR_TLS10:
		return "TLSv1";
	case SCAN_VAR_TLS11:
		return "TLSv1.1";
	case SCAN_VAR_TLS12:
		return "TLSv1.2";
	case SCAN_VAR_TLS13:
		return "TLSv1.3";
	case SCAN_VAR_RSA:
		return "RSA";
	case SCAN_VAR_ECDSA:
		return "EC";
	case SCAN_VARIANTS:
		break;
	}
	return "?";
}

const char *
scan_mx_kind_name(enum scan_mx_kind k)
{
	switch (k) {
	case SCAN_MX_RECORDS:
		return "mx";
	case SCAN_MX_IMPLICIT:
		return "implicit";
	case SCAN_MX_NULL:
		return "null-mx";
	case SCAN_MX_NXDOMAIN:
		return "nxdomain";
	case SCAN_MX_BOGUS:
		return "bogus";
	case SCAN_MX_FAILED:
		return "lookup-failed";
	case SCAN_MX_BROKEN:
		return "no-usable-mx";
	}
	return "lookup-failed";
}

const char *
scan_starttls_name(enum scan_starttls s)
{
	switch (s) {
	case SCAN_STARTTLS_ALL:
		return "all";
	case SCAN_STARTTLS_SOME:
		return "some";
	case SCAN_STARTTLS_NONE:
		return "none";
	case SCAN_STARTTLS_UNTESTABLE:
		return "untestable";
	case SCAN_STARTTLS_NO_MAIL:
		return "no-mail";
	}
	return "untestable";
}

void
scan_options_init(struct scan_options *o)
{
	long cpus;

	memset(o, 0, sizeof(*o));
	o->concurrency = SCAN_DEFAULT_CONCURRENCY;
	o->per_ip = SCAN_DEFAULT_PER_IP;
	o->rate_per_ip = SCAN_DEFAULT_RATE_PER_IP;
	o->probe_max_age = SCAN_DEFAULT_PROBE_MAX_AGE;
	o->port = SCAN_DEFAULT_PORT;
	o->connect_ms = SCAN_DEFAULT_CONNECT_MS;
	o->greeting_ms = SCAN_DEFAULT_GREETING_MS;
	o->command_ms = SCAN_DEFAULT_COMMAND_MS;
	o->tls_ms = SCAN_DEFAULT_TLS_MS;
	o->dns_ms = SCAN_DEFAULT_DNS_MS;
	o->fetch_ms = SCAN_DEFAULT_FETCH_MS;
	o->dns_max_pending = SCAN_DNS_MAX_PENDING;
	o->host_cache = SCAN_DEFAULT_HOST_CACHE;
	o->probe_cache = SCAN_DEFAULT_PROBE_CACHE;
	o->policies = true;
	o->fetch_mtasts = true;
	/* DNSSEC validation is most of the work: a resolver thread per CPU and one more (the
	 * domains are split by name hash, so one thread can run dry while another has work),
	 * at most 6 (each keeps its own cache) */
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o->dns_threads = cpus < 1 ? 2 : cpus >= 6 ? 6 : (unsigned)cpus + 1;
}

static bool
failed(enum dns_outcome o)
{
	return o == DNS_OUTCOME_SERVFAIL || o == DNS_OUTCOME_TIMEOUT || o == DNS_OUTCOME_ERROR;
}

static char *
strip_dot(const char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	return xstrndup(name, n);
}

/* A table key: lower case, no final dot. */
static char *
name_key(const char *name)
{
	char *k = strip_dot(name), *p;

	for (p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

static struct dns_answer *
answer_free(struct dns_answer *a)
{
	if (a) {
		dns_answer_clear(a);
		free(a);
	}
	return NULL;
}

static void
arm_feed(struct scan_engine *e)
{
	if (!event_pending(e->feed_ev, EV_TIMEOUT, NULL))
		event_active(e->feed_ev, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------------------
 * Probes: one SMTP + TLS session per IP:port.
 * ------------------------------------------------------------------------ */

static void host_probe_done(struct scan_host *host);
static void probe_step(struct scan_probe *p);
static void session_token_cb(evutil_socket_t fd, short what, void *arg);

static void
probe_event_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_step(arg);
}

static void ip_timer_cb(evutil_socket_t fd, short what, void *arg);

static struct scan_ip *
ip_get(struct scan_engine *e, const char *address)
{
	struct scan_entry *en = scan_table_find(&e->ips, address);
	struct scan_ip *ip;

	if (en) {
		scan_table_busy(&e->ips, en); /* kept for its bucket: in use again */
		return SCAN_CONTAINER(en, struct scan_ip, entry);
	}
	ip = xcalloc(1, sizeof(*ip));
	ip->engine = e;
	if ((ip->timer = evtimer_new(e->base, ip_timer_cb, ip)) == NULL)
		util_panic("scan: cannot create an event");
	scan_table_insert(&e->ips, &ip->entry, address);
	return ip;
}

static void
ip_free(struct scan_engine *e, struct scan_ip *ip)
{
	scan_table_remove(&e->ips, &ip->entry);
	event_free(ip->timer);
	free(ip);
}

/* Milliseconds until ip may see a new connection (0: now). */
static int64_t
ip_rate_wait(const struct scan_engine *e, const struct scan_ip *ip, int64_t now)
{
	return e->rate_interval_ms && ip->next_ms > now ? ip->next_ms - now : 0;
}

/* A connection to ip starts now: take the token. */
static void
ip_rate_take(struct scan_engine *e, struct scan_ip *ip)
{
	if (e->rate_interval_ms)
		ip->next_ms = smtp_clock_ms() + e->rate_interval_ms;
}

/* Run the timer when the token comes (or at once), unless a slot release will drain. */
static void
ip_arm(struct scan_engine *e, struct scan_ip *ip)
{
	int64_t wait = ip_rate_wait(e, ip, smtp_clock_ms());
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};

	if (evtimer_pending(ip->timer, NULL) || (ip->wait_head && ip->active >= e->o.per_ip))
		return;
	evtimer_add(ip->timer, &tv);
}

/* Nothing uses ip: forget it, or keep it (idle) until its bucket is full again. */
static void
ip_maybe_free(struct scan_engine *e, struct scan_ip *ip)
{
	if (ip->active != 0 || ip->wait_head != NULL)
		return;
	if (ip_rate_wait(e, ip, smtp_clock_ms()) > 0) {
		scan_table_idle(&e->ips, &ip->entry);
		ip_arm(e, ip);
		return;
	}
	ip_free(e, ip);
}

static void
queue_push(struct scan_probe **head, struct scan_probe **tail, struct scan_probe *p)
{
	p->queue_next = NULL;
	if (*tail)
		(*tail)->queue_next = p;
	else
		*head = p;
	*tail = p;
}

static struct scan_probe *
queue_pop(struct scan_probe **head, struct scan_probe **tail)
{
	struct scan_probe *p = *head;

	if (p) {
		*head = p->queue_next;
		if (*head == NULL)
			*tail = NULL;
		p->queue_next = NULL;
	}
	return p;
}

/* The SMTP limits of every session. */
static void
session_config(const struct scan_engine *e, const struct scan_probe *p,
               struct smtp_probe_config *cfg)
{
	smtp_probe_config_init(cfg);
	if (e->o.helo)
		cfg->helo_name = e->o.helo;
	cfg->connect_ms = e->o.connect_ms;
	cfg->greeting_ms = e->o.greeting_ms;
	cfg->command_ms = e->o.command_ms;
	cfg->tls_ms = e->o.tls_ms;
	cfg->implicit_tls = p->port == 465; /* submissions (RFC 8314) */
}

/*
 * An SSL for a session of p: the main one, or an enumeration variant
 * (one protocol version, or one certificate type).  NULL if OpenSSL
 * refuses the settings (the variant is then not tried).
 */
static SSL *
session_ssl(struct scan_engine *e, const struct scan_probe *p, int variant)
{
	static const int version[SCAN_VARIANTS] = {
	        [SCAN_VAR_TLS10] = TLS1_VERSION,
	        [SCAN_VAR_TLS11] = TLS1_1_VERSION,
	        [SCAN_VAR_TLS12] = TLS1_2_VERSION,
	        [SCAN_VAR_TLS13] = TLS1_3_VERSION,
	};
	bool legacy = variant == SCAN_VAR_TLS10 || variant == SCAN_VAR_TLS11;
	SSL *ssl;

	ERR_clear_error();
	ssl = SSL_new(legacy ? e->ssl_ctx_legacy : e->ssl_ctx);
	/* RFC 7672 8.1: SNI carries the TLSA base domain (of the first host that asked) */
	if (ssl && p->sni && SSL_set_tlsext_host_name(ssl, p->sni) != 1)
		goto fail;
	if (ssl && variant >= SCAN_VAR_TLS10 && variant <= SCAN_VAR_TLS13 &&
	    (SSL_set_min_proto_version(ssl, version[variant]) != 1 ||
	     SSL_set_max_proto_version(ssl, version[variant]) != 1))
		goto fail;
	/* one certificate type: signature algorithms (TLS 1.3, 1.2) and authentication of the
	 * cipher suites (TLS 1.2 and older) that only it can serve */
	if (ssl && variant == SCAN_VAR_RSA &&
	    (SSL_set1_sigalgs_list(ssl,
	                           "RSA+SHA256:RSA+SHA384:RSA+SHA512:rsa_pss_rsae_sha256:"
	                           "rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_pss_sha256:"
	                           "rsa_pss_pss_sha384:rsa_pss_pss_sha512") != 1 ||
	     SSL_set_cipher_list(ssl, "aRSA") != 1))
		goto fail;
	if (ssl && variant == SCAN_VAR_ECDSA &&
	    (SSL_set1_sigalgs_list(ssl, "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512") != 1 ||
	     SSL_set_cipher_list(ssl, "aECDSA") != 1))
		goto fail;
	ERR_clear_error();
	return ssl;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

/* Start a session (main: variant -1) on p's slot; the first step runs from the loop. */
static void
session_start(struct scan_engine *e, struct scan_probe *p, int variant)
{
	struct smtp_probe_config cfg;

	p->variant = variant;
	p->rate_stamp = e->rate_interval_ms > 0;
	session_config(e, p, &cfg);
	p->smtp = smtp_probe_new((const struct sockaddr *)&p->sa, p->salen, &cfg, p->ssl);
	if (p->ev == NULL && (p->ev = event_new(e->base, -1, 0, probe_event_cb, p)) == NULL)
		util_panic("scan: cannot create an event");
	event_assign(p->ev, e->base, -1, 0, probe_event_cb, p);
	event_active(p->ev, EV_WRITE, 0);
}

/* Take a connection slot and start the main session. */
static void
probe_launch(struct scan_engine *e, struct scan_probe *p)
{
	p->ip->active++;
	e->active_conns++;
	ip_rate_take(e, p->ip);
	p->id = ++e->c.probes;
	if ((p->ssl = session_ssl(e, p, -1)) == NULL)
		util_panic("scan: cannot create an SSL object");
	session_start(e, p, -1);
}

/*
 * Start p now if the limits allow, else queue it: on its address while
 * others wait there (first come, first served), its slots are taken or
 * its token is not there; else on the global queue while all slots are.
 */
static void
probe_schedule(struct scan_engine *e, struct scan_probe *p)
{
	if (p->ip == NULL)
		p->ip = ip_get(e, p->address);
	if (p->ip->wait_head || p->ip->active >= e->o.per_ip ||
	    ip_rate_wait(e, p->ip, smtp_clock_ms()) > 0) {
		if (ip_rate_wait(e, p->ip, smtp_clock_ms()) > 0)
			e->c.rate_waits++;
		queue_push(&p->ip->wait_head, &p->ip->wait_tail, p);
		ip_arm(e, p->ip);
	} else if (e->active_conns >= e->o.max_connections) {
		queue_push(&e->gwait_head, &e->gwait_tail, p);
	} else {
		probe_launch(e, p);
	}
}

/* Start what waits on ip, as far as its slots and tokens go (the rest waits on). */
static void
ip_drain(struct scan_engine *e, struct scan_ip *ip)
{
	struct scan_probe *p;

	while (ip->wait_head && ip->active < e->o.per_ip) {
		if (ip_rate_wait(e, ip, smtp_clock_ms()) > 0) {
			ip_arm(e, ip);
			return;
		}
		p = queue_pop(&ip->wait_head, &ip->wait_tail);
		if (e->active_conns >= e->o.max_connections)
			queue_push(&e->gwait_head, &e->gwait_tail, p);
		else
			probe_launch(e, p);
	}
}

static void
ip_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_ip *ip = arg;

	(void)fd;
	(void)what;
	ip_drain(ip->engine, ip);
	ip_maybe_free(ip->engine, ip); /* an idle address whose bucket is full again */
}

/* A slot was freed: start what waits for it. */
static void
probe_release_slot(struct scan_engine *e, struct scan_ip *ip)
{
	struct scan_probe *p;

	ip->active--;
	e->active_conns--;
	ip_drain(e, ip);
	while (e->active_conns < e->o.max_connections &&
	       (p = queue_pop(&e->gwait_head, &e->gwait_tail)) != NULL)
		probe_schedule(e, p);
	ip_maybe_free(e, ip);
}

static enum scan_transport
transport_of(enum smtp_result r, bool tls)
{
	switch (r) {
	case SMTP_RESULT_OK:
		return tls ? SCAN_TRANSPORT_TLS : SCAN_TRANSPORT_NO_STARTTLS;
	case SMTP_RESULT_NO_STARTTLS:
		return SCAN_TRANSPORT_NO_STARTTLS;
	case SMTP_RESULT_STARTTLS_REJECTED:
	case SMTP_RESULT_TLS_FAILED:
		return SCAN_TRANSPORT_TLS_FAILED;
	case SMTP_RESULT_UNREACHABLE:
	case SMTP_RESULT_REFUSED:
	case SMTP_RESULT_TIMEOUT:
	case SMTP_RESULT_GREETING_REJECTED:
	case SMTP_RESULT_PROTOCOL_ERROR:
		return SCAN_TRANSPORT_NOT_TESTABLE;
	}
	return SCAN_TRANSPORT_NOT_TESTABLE;
}

/* The main session is over: what it showed. */
static void
record_main(struct scan_engine *e, struct scan_probe *p)
{
	const struct smtp_report *rep = smtp_probe_report(p->smtp);
	size_t i;

	p->result = rep->result;
	p->stage = rep->stage;
	p->why = rep->why.msg[0] ? xstrdup(rep->why.msg) : NULL;
	p->greeting_code = rep->greeting_code;
	p->greeting = rep->greeting_code ? xstrdup(buf_str(&rep->greeting)) : NULL;
	p->greeting_lines = rep->greeting_lines;
	p->ehlo_code = rep->ehlo_code;
	p->helo_fallback = rep->helo_fallback;
	p->starttls_offered = rep->ehlo.starttls;
	p->starttls_code = rep->starttls_code;
	p->elapsed_ms = rep->elapsed_ms;
	if (rep->ehlo_code / 100 == 2 && rep->ehlo.n_keywords) {
		p->extensions = xcalloc(rep->ehlo.n_keywords, sizeof(*p->extensions));
		for (i = 0; i < rep->ehlo.n_keywords; i++)
			p->extensions[i] = xstrdup(rep->ehlo.keywords[i]);
		p->n_extensions = rep->ehlo.n_keywords;
	}
	dane_tls_observe(&p->tls, p->ssl, 0);
	if (p->tls.established) {
		int nid = SSL_get_negotiated_group(p->ssl);
		const char *g = nid > 0 ? SSL_group_to_name(p->ssl, nid) : NULL;

		p->tls_version = SSL_version(p->ssl);
		snprintf(p->group, sizeof(p->group), "%s", g ? g : "");
		if (p->tls.chain && sk_X509_num(p->tls.chain) > 0) {
			cert_info_get(&p->leaf, sk_X509_value(p->tls.chain, 0));
			p->have_leaf = true;
		}
		if (e->pkix)
			p->pkix_valid = scan_pkix_check(e->pkix, p->tls.chain, p->pkix_error,
			                                sizeof(p->pkix_error));
	}
	ERR_clear_error();
	p->transport = transport_of(p->result, p->tls.established);
}

/* What the main session already answers of the enumeration. */
static void
variants_from_main(struct scan_probe *p)
{
	int v = -1;

	if (!p->tls.established)
		return;
	switch (p->tls_version) {
	case TLS1_VERSION:
		v = SCAN_VAR_TLS10;
		break;
	case TLS1_1_VERSION:
		v = SCAN_VAR_TLS11;
		break;
	case TLS1_2_VERSION:
		v = SCAN_VAR_TLS12;
		break;
	case TLS1_3_VERSION:
		v = SCAN_VAR_TLS13;
		break;
	}
	if (v >= 0) {
		p->variants[v].tried = p->variants[v].from_main = p->variants[v].ok = true;
		p->variants[v].result = SMTP_RESULT_OK;
	}
	v = !p->have_leaf                          ? -1
	    : strcmp(p->leaf.key_type, "RSA") == 0 ? SCAN_VAR_RSA
	    : strcmp(p->leaf.key_type, "EC") == 0  ? SCAN_VAR_ECDSA
	                                           : -1;
	if (v >= 0) {
		p->variants[v].tried = p->variants[v].from_main = p->variants[v].ok = true;
		p->variants[v].result = SMTP_RESULT_OK;
	}
}

/* An enumeration session is over. */
static void
record_variant(struct scan_probe *p, int v)
{
	const struct smtp_report *rep = smtp_probe_report(p->smtp);
	struct scan_tls_variant *t = &p->variants[v];
	X509 *leaf;

	t->tried = true;
	t->result = rep->result;
	t->ok = rep->tls && SSL_is_init_finished(p->ssl);
	if (!t->ok)
		return;
	snprintf(t->version, sizeof(t->version), "%s", SSL_get_version(p->ssl));
	snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_get_cipher_name(p->ssl));
	if ((leaf = SSL_get0_peer_certificate(p->ssl)) != NULL) {
		struct cert_info info;

		cert_info_get(&info, leaf);
		snprintf(t->key_type, sizeof(t->key_type), "%s", info.key_type);
		t->key_bits = info.key_bits;
		snprintf(t->sha256, sizeof(t->sha256), "%s", info.sha256_fpr);
		cert_info_clear(&info);
		/* another certificate than the main session's: keep its chain for DANE */
		if ((v == SCAN_VAR_RSA || v == SCAN_VAR_ECDSA) &&
		    (!p->have_leaf || strcmp(t->sha256, p->leaf.sha256_fpr) != 0) &&
		    SSL_get_peer_cert_chain(p->ssl))
			t->chain = X509_chain_up_ref(SSL_get_peer_cert_chain(p->ssl));
	}
	ERR_clear_error();
}

/* The next enumeration session to run after v, or -1. */
static int
next_variant(const struct scan_probe *p, int v)
{
	for (v++; v < SCAN_VARIANTS; v++)
		if (!p->variants[v].tried)
			return v;
	return -1;
}

/* Every session is over: free the slot, tell the hosts. */
static void
probe_finish(struct scan_engine *e, struct scan_probe *p)
{
	size_t i;

	event_free(p->ev);
	p->ev = NULL;
	p->done = true;
	p->done_ms = smtp_clock_ms();
	probe_release_slot(e, p->ip);
	p->ip = NULL;
	/* tell the hosts; each may finish (and tell its domains) */
	for (i = 0; i < p->n_waiters; i++)
		host_probe_done(p->waiters[i]);
	free(p->waiters);
	p->waiters = NULL;
	p->n_waiters = 0;
}

/* Start the session p->variant (its SSL made) once its address has a token (--rate-per-ip). */
static void
session_when_token(struct scan_probe *p)
{
	struct scan_engine *e = p->engine;
	int64_t wait = ip_rate_wait(e, p->ip, smtp_clock_ms());
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};

	if (wait == 0) {
		ip_rate_take(e, p->ip);
		session_start(e, p, p->variant);
		return;
	}
	e->c.rate_waits++;
	event_assign(p->ev, e->base, -1, 0, session_token_cb, p);
	event_add(p->ev, &tv);
}

static void
session_token_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_when_token(arg); /* another session may have had the token meanwhile */
}

/* A session is over: record it, then the next session on the same slot, or the end. */
static void
session_done(struct scan_engine *e, struct scan_probe *p)
{
	int v = p->variant;

	if (v < 0)
		record_main(e, p);
	else
		record_variant(p, v);
	p->smtp = smtp_probe_free(p->smtp);
	SSL_free(p->ssl);
	p->ssl = NULL;
	if (v < 0) {
		/* --tls-enumerate: only where the server offers STARTTLS (or speaks TLS at once) */
		if (!e->o.tls_enumerate ||
		    (!p->starttls_offered && !(p->port == 465 && p->tls.established))) {
			probe_finish(e, p);
			return;
		}
		p->enumerated = true;
		variants_from_main(p);
	}
	while ((v = next_variant(p, v)) >= 0) {
		if ((p->ssl = session_ssl(e, p, v)) != NULL) {
			e->c.enumeration_sessions++;
			p->variant = v;
			session_when_token(p);
			return;
		}
		p->variants[v].tried = false; /* OpenSSL cannot do it here: unknown */
	}
	probe_finish(e, p);
}

static void
probe_step(struct scan_probe *p)
{
	struct scan_engine *e = p->engine;
	int64_t now = smtp_clock_ms(), wait;
	enum smtp_want w;
	struct timeval tv;

	if (p->rate_stamp) {
		/* the connection starts in this step: the next one is due 1/rate s after it,
		 * however long the loop took to get here since the token was taken */
		p->rate_stamp = false;
		ip_rate_take(e, p->ip);
	}
	w = smtp_probe_step(p->smtp, now);

	if (w == SMTP_WANT_DONE) {
		session_done(e, p);
		return;
	}
	wait = smtp_probe_deadline(p->smtp) - now;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	event_assign(p->ev, e->base, smtp_probe_fd(p->smtp),
	             w == SMTP_WANT_READ ? EV_READ : EV_WRITE, probe_event_cb, p);
	event_add(p->ev, &tv);
}

static void
probe_free(struct scan_probe *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->sni);
	free(p->why);
	free(p->greeting);
	for (i = 0; i < p->n_extensions; i++)
		free(p->extensions[i]);
	free(p->extensions);
	dane_tls_clear(&p->tls);
	if (p->have_leaf)
		cert_info_clear(&p->leaf);
	for (i = 0; i < SCAN_VARIANTS; i++)
		if (p->variants[i].chain)
			sk_X509_pop_free(p->variants[i].chain, X509_free);
	free(p->waiters);
	free(p);
}

static void
probe_unref(struct scan_engine *e, struct scan_probe *p)
{
	if (--p->refs > 0)
		return;
	if (p->entry.linked)
		scan_table_idle(&e->probes, &p->entry);
	else
		probe_free(p);
}

/* "127.0.1.2" and "127.0.1.2:25" (or "[::1]:25") for an address. */
static void
format_address(const struct sockaddr_storage *ss, char *addr, size_t addrlen, char *key,
               size_t keylen)
{
	char text[INET6_ADDRSTRLEN] = "";
	unsigned port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
		port = ntohs(s6->sin6_port);
		snprintf(key, keylen, "[%s]:%u", text, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
		port = ntohs(s4->sin_port);
		snprintf(key, keylen, "%s:%u", text, port);
	}
	snprintf(addr, addrlen, "%s", text);
}

/* The probe of address ss for host (found or started); a reference for the caller. */
static struct scan_probe *
probe_get(struct scan_engine *e, const struct sockaddr_storage *ss, struct scan_host *host)
{
	char addr[48], key[64];
	struct scan_entry *en;
	struct scan_probe *p;

	format_address(ss, addr, sizeof(addr), key, sizeof(key));
	if ((en = scan_table_find(&e->probes, key)) != NULL &&
	    SCAN_CONTAINER(en, struct scan_probe, entry)->done &&
	    smtp_clock_ms() - SCAN_CONTAINER(en, struct scan_probe, entry)->done_ms >=
	            (int64_t)e->o.probe_max_age * 1000) {
		/* too old to stand for the server now: probe again (holders keep the old) */
		p = SCAN_CONTAINER(en, struct scan_probe, entry);
		scan_table_remove(&e->probes, en);
		if (p->refs == 0)
			probe_free(p);
		e->c.probes_expired++;
		en = NULL;
	}
	if (en != NULL) {
		p = SCAN_CONTAINER(en, struct scan_probe, entry);
		scan_table_busy(&e->probes, en);
		p->refs++;
		e->c.probe_reuses++;
		return p;
	}
	p = xcalloc(1, sizeof(*p));
	snprintf(p->address, sizeof(p->address), "%s", addr);
	p->port = e->o.port;
	p->sa = *ss;
	p->salen = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                     : sizeof(struct sockaddr_in);
	p->sni = xstrdup(host->h.tlsa_base ? host->h.tlsa_base : host->h.name);
	p->engine = e;
	p->refs = 1;
	scan_table_insert(&e->probes, &p->entry, key);
	probe_schedule(e, p); /* the first step runs from the loop: the caller can still wait */
	return p;
}

/* ------------------------------------------------------------------------
 * Hosts: addresses, TLSA, probes, the DANE judgement per address.
 * ------------------------------------------------------------------------ */

static void domain_host_done(struct scan_mx *mx);
static void host_lookups_done(struct scan_host *host);

struct host_req {
	struct scan_host *host;
	uint16_t type;
	int base; /* TLSA: index of the base domain */
};

static void host_answer(void *arg, struct dns_answer *ans);

static void
host_lookup(struct scan_host *host, const char *name, uint16_t type, int base)
{
	struct host_req *r = xcalloc(1, sizeof(*r));

	r->host = host;
	r->type = type;
	r->base = base;
	host->pending++;
	host->engine->c.dns_queries++;
	scan_dnsq_lookup(host->engine->dnsq, name, type, host_answer, r);
}

static void
host_release(struct scan_host *host)
{
	if (--host->pending == 0)
		host_lookups_done(host);
}

/* Look up the TLSA records at base i (RFC 7672 2.2.3), or go on to the probes. */
static void
host_tlsa_next(struct scan_host *host, int i)
{
	struct dane_host *h = &host->h;
	struct buf owner = BUF_INIT;

	for (; i < 2 && host->bases[i]; i++) {
		dns_answer_clear(&h->tlsa);
		free(h->tlsa_base);
		h->tlsa_base = strip_dot(host->bases[i]);
		buf_reset(&owner);
		if (!owner_tlsa(&owner, host->bases[i], h->port, "tcp", NULL)) {
			/* a name too long to carry the _port._tcp prefix has no TLSA */
			h->tlsa.outcome = DNS_OUTCOME_ERROR;
			h->tlsa.sec = DNS_SEC_INDETERMINATE;
			continue;
		}
		host->tlsa_base = i;
		host_lookup(host, buf_str(&owner), RR_TYPE_TLSA, i);
		buf_release(&owner);
		return;
	}
	buf_release(&owner);
	/* no (more) base domains: the set is what the last answer holds */
	dane_tlsa_set_load(&h->set, &h->tlsa);
}

/* A and AAAA are in: merge them as dane_host_resolve() does. */
static void
host_addresses_in(struct scan_host *host)
{
	struct dane_host *h = &host->h;
	const struct dns_answer *addr;

	if (failed(host->a->outcome) || host->a->sec == DNS_SEC_BOGUS) {
		/* the merged state is decided by A: dane_host_resolve() does not even ask
		 * for AAAA then, and counts it as a secure NODATA */
		dns_answer_clear(host->aaaa);
		host->aaaa->outcome = DNS_OUTCOME_NODATA;
		host->aaaa->sec = DNS_SEC_SECURE;
		host->aaaa->qtype = RR_TYPE_AAAA;
	}
	dane_addr_merge(host->a, host->aaaa, &h->addr_sec, &h->addr_outcome);
	addr = host->a->outcome == DNS_OUTCOME_DATA ? host->a : host->aaaa;
	if (host->a->why || host->aaaa->why)
		h->addr_why = xstrdup(host->a->why ? host->a->why : host->aaaa->why);
	if (addr->canonical && addr->qname && strcasecmp(addr->canonical, addr->qname) != 0)
		h->canonical = strip_dot(addr->canonical);
	if (h->addr_sec != DNS_SEC_BOGUS) {
		host->n_addrs_dropped += dane_host_add_addrs(h, host->a, SCAN_MAX_ADDRS);
		host->n_addrs_dropped += dane_host_add_addrs(h, host->aaaa, SCAN_MAX_ADDRS);
	}
	if (h->addr_sec == DNS_SEC_INSECURE && h->canonical) {
		/* RFC 7672 2.2.3: a secure CNAME into an unsigned zone still gets DANE */
		host_lookup(host, h->name, RR_TYPE_CNAME, -1);
		return;
	}
}

/* Start TLSA lookups once the address state is known (and the CNAME, if asked). */
static void
host_tlsa_start(struct scan_host *host)
{
	struct dane_host *h = &host->h;
	const struct dns_answer *addr = host->a->outcome == DNS_OUTCOME_DATA ? host->a : host->aaaa;
	const char *bases[2] = {NULL, NULL};
	size_t n, i;

	if (h->addr_outcome != DNS_OUTCOME_DATA ||
	    (h->addr_sec != DNS_SEC_SECURE && !h->secure_alias))
		return;
	n = dane_tlsa_bases(h->name, addr, bases);
	for (i = 0; i < n && i < 2; i++)
		host->base_copy[i] = xstrdup(bases[i]);
	host->bases[0] = host->base_copy[0];
	host->bases[1] = host->base_copy[1];
	host_tlsa_next(host, 0);
}

static void
host_answer(void *arg, struct dns_answer *ans)
{
	struct host_req *r = arg;
	struct scan_host *host = r->host;
	struct dane_host *h = &host->h;

	switch (r->type) {
	case RR_TYPE_A:
		host->a = ans;
		break;
	case RR_TYPE_AAAA:
		host->aaaa = ans;
		break;
	case RR_TYPE_CNAME:
		h->secure_alias = dns_answer_secure_data(ans);
		answer_free(ans);
		host_tlsa_start(host);
		break;
	case RR_TYPE_TLSA:
		dns_answer_clear(&h->tlsa);
		h->tlsa = *ans;
		free(ans);
		h->tlsa_looked_up = true;
		if (dane_tlsa_try_next(&h->tlsa) && r->base == 0 && host->bases[1])
			host_tlsa_next(host, 1);
		else
			dane_tlsa_set_load(&h->set, &h->tlsa);
		break;
	default:
		answer_free(ans);
		break;
	}
	if ((r->type == RR_TYPE_A || r->type == RR_TYPE_AAAA) && host->a && host->aaaa) {
		host->pending++; /* hold: the CNAME or TLSA lookups count themselves */
		host_addresses_in(host);
		if (!(h->addr_sec == DNS_SEC_INSECURE && h->canonical))
			host_tlsa_start(host);
		host->pending--;
	}
	free(r);
	host_release(host);
}

static void host_finish(struct scan_host *host);

/* An answer whose TTL means something (records or a proof of absence, RFC 2308). */
static bool
ttl_known(const struct dns_answer *a)
{
	return a && !failed(a->outcome) && a->qname;
}

/*
 * How long the host's resolution may be reused: the smallest TTL of its
 * A, AAAA and TLSA answers (RFC 1035 3.2.1: no longer than that), within
 * SCAN_HOST_TTL_MIN..MAX; without any (failures), the retry delay.
 */
static void
host_set_ttl(struct scan_host *host)
{
	const struct dane_host *h = &host->h;
	uint32_t ttl = UINT32_MAX;

	if (ttl_known(host->a))
		ttl = host->a->ttl;
	if (ttl_known(host->aaaa) && host->aaaa->ttl < ttl)
		ttl = host->aaaa->ttl;
	host->addr_ttl = ttl == UINT32_MAX ? 0 : ttl;
	if (h->tlsa_looked_up && ttl_known(&h->tlsa)) {
		host->tlsa_ttl = h->tlsa.ttl;
		if (h->tlsa.ttl < ttl)
			ttl = h->tlsa.ttl;
	}
	if (ttl == UINT32_MAX)
		ttl = HOST_RETRY_MS / 1000;
	host->ttl = ttl;
	if (ttl < SCAN_HOST_TTL_MIN)
		ttl = SCAN_HOST_TTL_MIN;
	if (ttl > SCAN_HOST_TTL_MAX)
		ttl = SCAN_HOST_TTL_MAX;
	host->expires_ms = host->created_ms + (int64_t)ttl * 1000;
}

/* The DNS part is over: probe each address. */
static void
host_lookups_done(struct scan_host *host)
{
	struct scan_engine *e = host->engine;
	struct dane_host *h = &host->h;
	size_t i;

	host_set_ttl(host);
	host->a = answer_free(host->a);
	host->aaaa = answer_free(host->aaaa);
	free(host->base_copy[0]);
	free(host->base_copy[1]);
	host->base_copy[0] = host->base_copy[1] = NULL;
	host->bases[0] = host->bases[1] = NULL;
	host->addrs = xcalloc(h->n_addrs ? h->n_addrs : 1, sizeof(*host->addrs));
	host->pending = 1; /* hold while the probes are found or started */
	for (i = 0; i < h->n_addrs; i++) {
		struct scan_host_addr *a = &host->addrs[i];
		char key[64];

		a->check.match_depth = -1;
		a->transport = SCAN_TRANSPORT_NOT_TESTED;
		format_address(&h->addrs[i], a->address, sizeof(a->address), key, sizeof(key));
		if (h->addr_sec == DNS_SEC_BOGUS) {
			a->not_tested = "RFC 7672 2.1.1: bogus address records are not used";
			continue;
		}
		if (e->o.no_ipv6 && h->addrs[i].ss_family == AF_INET6) {
			a->not_tested = "IPv6 not probed (--no-ipv6)";
			continue;
		}
		a->probe = probe_get(e, &h->addrs[i], host);
		if (!a->probe->done) {
			a->probe->waiters =
			        xreallocarray(a->probe->waiters, a->probe->n_waiters + 1,
			                      sizeof(*a->probe->waiters));
			a->probe->waiters[a->probe->n_waiters++] = host;
			host->pending++;
		}
	}
	if (--host->pending == 0)
		host_finish(host);
}

static void
host_probe_done(struct scan_host *host)
{
	if (--host->pending == 0)
		host_finish(host);
}

/* Every probe is done: judge each address (no next-hop domain: see domain_finish). */
/*
 * The verdict for host h (and next-hop domain nexthop, or NULL) from a TLS
 * session that showed chain (NULL: no session): the verification of
 * tlscheck.c into *check, then dane_decide() on the same facts `danemail
 * verify tlsa` gathers.  p is the probe's main session, or NULL for another
 * session of the same server (which established TLS).
 */
static struct dane_decision
judge(struct scan_engine *e, const struct dane_host *h, const char *nexthop,
      const struct scan_probe *p, STACK_OF(X509) * chain, struct dane_tls *check)
{
	struct dane_facts f;

	dane_facts_from_host(&f, h);
	f.probed = true;
	f.probe = p ? p->result : SMTP_RESULT_OK;
	f.probe_stage = p ? p->stage : SMTP_STAGE_DONE;
	if (chain) {
		scan_dane_verify(e->ssl_ctx, h, nexthop, chain, check, NULL);
		e->c.dane_verifications++;
		f.tls = check;
	}
	return dane_decide(&f);
}

static void
host_finish(struct scan_host *host)
{
	struct scan_engine *e = host->engine;
	struct dane_host *h = &host->h;
	bool any = false;
	size_t i;

	for (i = 0; i < h->n_addrs; i++) {
		struct scan_host_addr *a = &host->addrs[i];
		struct scan_probe *p = a->probe;
		int v;

		if (p == NULL)
			continue;
		a->transport = p->transport;
		a->decision =
		        judge(e, h, NULL, p, p->tls.established ? p->tls.chain : NULL, &a->check);
		if (p->tls.established)
			a->names_host = scan_cert_names_host(p->tls.chain, h->name);
		a->rollover = dane_rollover_assess(&h->set, p->tls.chain);
		host->verdict = any ? dane_verdict_worst(host->verdict, a->decision.verdict)
		                    : a->decision.verdict;
		any = true;
		/* a server with RSA and ECDSA certificates: a DANE client may get either */
		for (v = SCAN_VAR_RSA; v <= SCAN_VAR_ECDSA; v++) {
			if (p->variants[v].chain == NULL || a->n_alt == 2)
				continue;
			a->alt_variant[a->n_alt] = v;
			a->alt_decision[a->n_alt] = judge(e, h, NULL, NULL, p->variants[v].chain,
			                                  &a->alt_check[a->n_alt]);
			host->verdict = dane_verdict_worst(host->verdict,
			                                   a->alt_decision[a->n_alt].verdict);
			a->n_alt++;
		}
	}
	if (!any) {
		/* nothing was probed: the DNS facts decide (no address, bogus, ...) */
		struct dane_facts f;
		struct dane_decision d;

		dane_facts_from_host(&f, h);
		d = dane_decide(&f);
		host->verdict = d.verdict;
		host->rule = d.rule;
	}
	host->done = true;
	host->pending = 1; /* hold: a domain told below must not see us half-notified */
	for (i = 0; i < host->n_waiters; i++)
		domain_host_done(host->waiters[i]);
	free(host->waiters);
	host->waiters = NULL;
	host->n_waiters = 0;
	host->pending = 0;
}

static void
host_free(struct scan_engine *e, struct scan_host *host)
{
	size_t i;

	for (i = 0; host->addrs && i < host->h.n_addrs; i++) {
		if (host->addrs[i].probe)
			probe_unref(e, host->addrs[i].probe);
		dane_tls_clear(&host->addrs[i].check);
		dane_tls_clear(&host->addrs[i].alt_check[0]);
		dane_tls_clear(&host->addrs[i].alt_check[1]);
	}
	free(host->addrs);
	answer_free(host->a);
	answer_free(host->aaaa);
	free(host->base_copy[0]);
	free(host->base_copy[1]);
	free(host->waiters);
	dane_host_clear(&host->h);
	free(host);
}

static void
host_unref(struct scan_engine *e, struct scan_host *host)
{
	if (--host->refs > 0)
		return;
	if (host->entry.linked)
		scan_table_idle(&e->hosts, &host->entry);
	else
		host_free(e, host);
}

/* Whether a finished host's lookups failed (worth another try later). */
static bool
host_failed(const struct scan_host *host)
{
	const struct dane_host *h = &host->h;

	return failed(h->addr_outcome) ||
	       (h->tlsa_looked_up &&
	        (failed(h->tlsa.outcome) || h->tlsa.sec == DNS_SEC_INDETERMINATE));
}

/* The host name (found or started) for mx, which now waits on it if needed. */
static struct scan_host *
host_get(struct scan_engine *e, struct scan_mx *mx)
{
	char *key = name_key(mx->name);
	struct scan_entry *en = scan_table_find(&e->hosts, key);
	struct scan_host *host;

	if (en) {
		int64_t now = smtp_clock_ms();

		host = SCAN_CONTAINER(en, struct scan_host, entry);
		if (host->done && ((host_failed(host) && now - host->created_ms > HOST_RETRY_MS) ||
		                   now >= host->expires_ms)) {
			/* a failure is not kept for the whole scan, an answer not beyond its
			 * TTL: look again (whoever holds the old entry keeps it) */
			if (now >= host->expires_ms)
				e->c.hosts_expired++;
			scan_table_remove(&e->hosts, en);
			if (host->refs == 0)
				host_free(e, host);
		} else {
			scan_table_busy(&e->hosts, en);
			host->refs++;
			e->c.host_reuses++;
			goto attach;
		}
	}
	host = xcalloc(1, sizeof(*host));
	host->engine = e;
	host->refs = 1;
	host->created_ms = smtp_clock_ms();
	host->h.name = xstrdup(key);
	host->h.port = e->o.port;
	scan_table_insert(&e->hosts, &host->entry, key);
	e->c.hosts_resolved++;
	host->pending = 1;
	host_lookup(host, host->h.name, RR_TYPE_A, -1);
	host_lookup(host, host->h.name, RR_TYPE_AAAA, -1);
	host->pending--; /* no answer can have come yet: the queue sends from the loop */
attach:
	free(key);
	if (!host->done) {
		host->waiters =
		        xreallocarray(host->waiters, host->n_waiters + 1, sizeof(*host->waiters));
		host->waiters[host->n_waiters++] = mx;
		mx->domain->pending++;
	}
	return host;
}

/* ------------------------------------------------------------------------
 * Domains.
 * ------------------------------------------------------------------------ */

static void domain_finish(struct scan_domain *d);

static void
domain_release(struct scan_domain *d)
{
	if (--d->pending == 0)
		domain_finish(d);
}

static void
domain_host_done(struct scan_mx *mx)
{
	domain_release(mx->domain);
}

struct policy_req {
	struct scan_domain *d;
	enum scan_policy_kind kind;
	bool org_domain; /* _dmarc at the organizational domain */
};

static void domain_lookup(struct scan_domain *d, const char *name, uint16_t type, scan_dns_cb *cb,
                          void *arg);

static void
on_fetch(void *arg, enum mtasts_fetch_state state, const char *body, size_t len, const char *detail)
{
	struct scan_domain *d = arg;

	scan_policy_fetched(&d->pol, state, body, len, detail);
	domain_release(d);
}

static void
on_policy(void *arg, struct dns_answer *ans)
{
	struct policy_req *r = arg;
	struct scan_domain *d = r->d;
	struct scan_engine *e = d->engine;

	if (r->org_domain) {
		scan_policy_judge_dmarc_org(&d->pol, ans);
	} else {
		struct buf owner = BUF_INIT;

		scan_policy_judge(&d->pol, r->kind, ans);
		/* RFC 7489 6.6.3: no DMARC record at the domain: its organizational domain's */
		if (r->kind == SCAN_POLICY_DMARC &&
		    scan_policy_dmarc_org_owner(&d->pol, e->psl, d->name, &owner)) {
			struct policy_req *org = xcalloc(1, sizeof(*org));

			org->d = d;
			org->kind = SCAN_POLICY_DMARC;
			org->org_domain = true;
			domain_lookup(d, buf_str(&owner), RR_TYPE_TXT, on_policy, org);
		}
		buf_release(&owner);
	}
	answer_free(ans);
	if (r->kind == SCAN_POLICY_MTASTS && e->fetcher && scan_policy_wants_fetch(&d->pol)) {
		d->pending++;
		if (!mtasts_fetch(e->fetcher, d->name, e->o.fetch_ms, on_fetch, d)) {
			scan_policy_fetched(&d->pol, MTASTS_FETCH_UNREACHABLE, NULL, 0,
			                    "the fetch could not be started");
			d->pending--;
		}
	}
	free(r);
	domain_release(d);
}

struct mx_rec {
	int preference;
	size_t order;
	char *name;
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_rec *x = a, *y = b;

	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
domain_add_mx(struct scan_domain *d, const char *name, int preference)
{
	struct scan_mx *mx = &d->mxs[d->n_mx++];

	mx->name = xstrdup(name);
	mx->preference = preference;
	mx->domain = d;
	mx->verdict = DANE_VERDICT_UNREACHABLE;
}

static void
on_mx(void *arg, struct dns_answer *ans)
{
	struct scan_domain *d = arg;
	struct scan_engine *e = d->engine;
	size_t i;

	d->mx = ans;
	if (ans->sec == DNS_SEC_BOGUS) {
		d->kind = SCAN_MX_BOGUS; /* RFC 7672 2.1.1: nothing to deliver to */
	} else if (failed(ans->outcome)) {
		d->kind = SCAN_MX_FAILED;
	} else if (ans->outcome == DNS_OUTCOME_NXDOMAIN) {
		d->kind = SCAN_MX_NXDOMAIN;
	} else if (ans->outcome == DNS_OUTCOME_NODATA) {
		/* RFC 5321 5.1: no MX records: the domain itself is the mail host */
		d->kind = SCAN_MX_IMPLICIT;
		d->mxs = xcalloc(1, sizeof(*d->mxs));
		domain_add_mx(d, d->name, 0);
	} else {
		struct mx_rec *recs = xcalloc(ans->n_rrs ? ans->n_rrs : 1, sizeof(*recs));
		size_t n = 0;

		for (i = 0; i < ans->n_rrs; i++) {
			const struct dns_rr *rr = &ans->rrs[i];
			struct buf name = BUF_INIT;
			size_t pos = 2;

			if (rr->len < 3 ||
			    !rr_name_to_text(rr->rdata, rr->len, &pos, &name, NULL)) {
				buf_release(&name);
				continue;
			}
			if (strcmp(buf_str(&name), ".") == 0) {
				d->n_null_mx++; /* RFC 7505 */
				buf_release(&name);
				continue;
			}
			recs[n].preference = rr->rdata[0] << 8 | rr->rdata[1];
			recs[n].order = n;
			recs[n].name = strip_dot(buf_str(&name));
			buf_release(&name);
			n++;
		}
		qsort(recs, n, sizeof(*recs), mx_cmp);
		if (n > SCAN_MAX_MX) {
			d->n_mx_dropped = n - SCAN_MAX_MX;
		}
		d->mxs = xcalloc(n ? n : 1, sizeof(*d->mxs));
		for (i = 0; i < n; i++) {
			if (i < SCAN_MAX_MX)
				domain_add_mx(d, recs[i].name, recs[i].preference);
			free(recs[i].name);
		}
		free(recs);
		d->kind = d->n_mx ? SCAN_MX_RECORDS : d->n_null_mx ? SCAN_MX_NULL : SCAN_MX_BROKEN;
	}
	for (i = 0; i < d->n_mx; i++)
		d->mxs[i].host = host_get(e, &d->mxs[i]);
	domain_release(d);
}

static void
domain_lookup(struct scan_domain *d, const char *name, uint16_t type, scan_dns_cb *cb, void *arg)
{
	d->pending++;
	d->engine->c.dns_queries++;
	scan_dnsq_lookup(d->engine->dnsq, name, type, cb, arg);
}

static void
domain_start(struct scan_engine *e, char *name, long rank, size_t position)
{
	struct scan_domain *d = xcalloc(1, sizeof(*d));

	d->engine = e;
	d->name = name;
	d->rank = rank;
	d->position = position;
	d->start_ms = smtp_clock_ms();
	d->verdict = DANE_VERDICT_UNREACHABLE;
	d->pending = 1;
	e->in_flight++;
	e->c.domains_started++;
	domain_lookup(d, d->name, RR_TYPE_MX, on_mx, d);
	if (e->o.policies) {
		struct buf owner = BUF_INIT;
		int k;

		d->policies_looked_up = true;
		for (k = 0; k < SCAN_POLICY_KINDS; k++) {
			struct policy_req *r = xcalloc(1, sizeof(*r));

			r->d = d;
			r->kind = (enum scan_policy_kind)k;
			scan_policy_owner(r->kind, d->name, &owner);
			domain_lookup(d, buf_str(&owner), RR_TYPE_TXT, on_policy, r);
		}
		buf_release(&owner);
	}
	domain_release(d);
}

static int
tls_rank(int version)
{
	return version > 0 ? version : 0x7fff;
}

/* Verdicts, with the next-hop domain where it matters, and the transport summary. */
static void
domain_judge(struct scan_domain *d)
{
	struct scan_engine *e = d->engine;
	const char *nexthop = NULL;
	struct buf where = BUF_INIT;
	int lowest = 0;
	size_t i, j;

	/* RFC 7672 2.2.1, 3.2.2: the next-hop domain is a reference identifier when the MX
	 * RRset (or its secure denial, for the implicit MX) is secure */
	if (d->mx && d->mx->sec == DNS_SEC_SECURE &&
	    (d->kind == SCAN_MX_RECORDS || d->kind == SCAN_MX_IMPLICIT))
		nexthop = d->name;
	for (i = 0; i < d->n_mx; i++) {
		struct scan_mx *mx = &d->mxs[i];
		struct scan_host *host = mx->host;
		bool any = false;

		mx->final = xcalloc(host->h.n_addrs ? host->h.n_addrs : 1, sizeof(*mx->final));
		mx->alt_decision = xcalloc(host->h.n_addrs ? 2 * host->h.n_addrs : 1,
		                           sizeof(*mx->alt_decision));
		for (j = 0; j < host->h.n_addrs; j++) {
			struct scan_host_addr *a = &host->addrs[j];
			struct dane_decision dec = a->decision;
			size_t k;

			if (a->probe == NULL)
				continue;
			if (dec.verdict == DANE_VERDICT_NAME_MISMATCH && nexthop) {
				/* the next-hop domain adds a reference identifier: judge again */
				if (mx->recheck == NULL) {
					mx->recheck =
					        xcalloc(host->h.n_addrs, sizeof(*mx->recheck));
					mx->recheck_decision = xcalloc(
					        host->h.n_addrs, sizeof(*mx->recheck_decision));
				}
				dec = mx->recheck_decision[j] =
				        judge(e, &host->h, nexthop, a->probe, a->probe->tls.chain,
				              &mx->recheck[j]);
			}
			for (k = 0; k < a->n_alt; k++) {
				struct dane_decision alt = a->alt_decision[k];

				if (alt.verdict == DANE_VERDICT_NAME_MISMATCH && nexthop) {
					struct dane_tls tmp;

					alt = judge(e, &host->h, nexthop, NULL,
					            a->probe->variants[a->alt_variant[k]].chain,
					            &tmp);
					dane_tls_clear(&tmp);
				}
				mx->alt_decision[2 * j + k] = alt;
				if (dane_verdict_class(alt.verdict) >
				    dane_verdict_class(dec.verdict))
					dec = alt;
			}
			mx->final[j] = dec;
			mx->verdict =
			        any ? dane_verdict_worst(mx->verdict, dec.verdict) : dec.verdict;
			any = true;
			if (a->transport == SCAN_TRANSPORT_TLS ||
			    a->transport == SCAN_TRANSPORT_TLS_FAILED ||
			    a->transport == SCAN_TRANSPORT_NO_STARTTLS) {
				d->addrs_tested++;
				if (a->transport != SCAN_TRANSPORT_NO_STARTTLS)
					d->addrs_starttls_offered++;
				if (a->transport == SCAN_TRANSPORT_TLS) {
					d->addrs_tls++;
					if (lowest == 0 ||
					    tls_rank(a->probe->tls_version) < tls_rank(lowest)) {
						lowest = a->probe->tls_version;
						snprintf(d->lowest_tls, sizeof(d->lowest_tls), "%s",
						         a->probe->tls.version);
					}
				}
			}
		}
		for (j = 0; j < host->h.n_addrs; j++) {
			const struct scan_probe *p = host->addrs[j].probe;
			int v;

			if (p == NULL || !p->enumerated)
				continue;
			d->enumerated = true;
			for (v = SCAN_VAR_TLS10; v <= SCAN_VAR_TLS13; v++)
				if (p->variants[v].ok)
					d->accepts_tls[v - SCAN_VAR_TLS10] = true;
		}
		if (!any)
			mx->verdict = host->verdict;
	}

	switch (d->kind) {
	case SCAN_MX_BOGUS:
		d->verdict = DANE_VERDICT_DNSSEC_BOGUS;
		d->verdict_rule = "RFC 7672 2.1.1: the MX RRset is bogus; the domain's mail must "
		                  "not be delivered";
		buf_printf(&where, "MX RRset of %s", d->name);
		break;
	case SCAN_MX_FAILED:
		d->verdict = DANE_VERDICT_LOOKUP_FAILED;
		d->verdict_rule = "RFC 7672 2.1.1: the MX lookup failed; indeterminate, never "
		                  "treated as absence";
		buf_printf(&where, "MX lookup of %s", d->name);
		break;
	case SCAN_MX_NXDOMAIN:
		d->verdict = DANE_VERDICT_UNREACHABLE;
		d->verdict_rule = "RFC 5321 5.1: the domain does not exist";
		buf_printf(&where, "%s does not exist", d->name);
		break;
	case SCAN_MX_NULL:
	case SCAN_MX_BROKEN:
		d->verdict = DANE_VERDICT_UNREACHABLE;
		d->verdict_rule = d->kind == SCAN_MX_NULL
		                          ? "RFC 7505 3: a null MX: the domain accepts no mail"
		                          : "RFC 5321 5.1: no usable MX records";
		buf_printf(&where, "%s: %s", d->name,
		           d->kind == SCAN_MX_NULL
		                   ? "null MX (RFC 7505): the domain accepts no mail"
		                   : "no usable MX records");
		break;
	case SCAN_MX_IMPLICIT:
		d->verdict = d->mxs[0].verdict;
		buf_puts(&where, d->name);
		break;
	case SCAN_MX_RECORDS:
		/* RFC 7672 2.2.1: the worst MX host decides; name it */
		for (i = 0; i < d->n_mx; i++) {
			enum dane_verdict v = d->mxs[i].verdict;

			if (i == 0 || dane_verdict_class(v) > dane_verdict_class(d->verdict)) {
				d->verdict = v;
				buf_reset(&where);
				buf_printf(&where, "MX %d %s", d->mxs[i].preference,
				           d->mxs[i].name);
			}
		}
		if (d->verdict == DANE_VERDICT_PASS) {
			buf_reset(&where);
			if (d->n_mx == 1)
				buf_puts(&where, "the MX host");
			else
				buf_printf(&where, "all %zu MX hosts", d->n_mx);
		}
		break;
	}
	d->verdict_where = (char *)buf_steal(&where, NULL);
	if (d->kind != SCAN_MX_RECORDS && d->kind != SCAN_MX_IMPLICIT)
		d->starttls = SCAN_STARTTLS_NO_MAIL;
	else if (d->addrs_tested == 0)
		d->starttls = SCAN_STARTTLS_UNTESTABLE;
	else if (d->addrs_tls == d->addrs_tested)
		d->starttls = SCAN_STARTTLS_ALL;
	else if (d->addrs_tls > 0)
		d->starttls = SCAN_STARTTLS_SOME;
	else
		d->starttls = SCAN_STARTTLS_NONE;
}

static void
domain_free(struct scan_engine *e, struct scan_domain *d)
{
	size_t i;

	for (i = 0; i < d->n_mx; i++) {
		struct scan_mx *mx = &d->mxs[i];
		size_t j;

		if (mx->recheck) {
			for (j = 0; j < mx->host->h.n_addrs; j++)
				dane_tls_clear(&mx->recheck[j]);
			free(mx->recheck);
			free(mx->recheck_decision);
		}
		free(mx->final);
		free(mx->alt_decision);
		if (mx->host)
			host_unref(e, mx->host);
		free(mx->name);
	}
	free(d->mxs);
	answer_free(d->mx);
	scan_policy_clear(&d->pol);
	free(d->verdict_where);
	free(d->name);
	free(d);
}

static void
domain_finish(struct scan_domain *d)
{
	struct scan_engine *e = d->engine;

	d->end_ms = smtp_clock_ms();
	domain_judge(d);
	e->done(e->arg, d);
	domain_free(e, d);
	e->in_flight--;
	e->c.domains_done++;
	arm_feed(e);
}

/* ------------------------------------------------------------------------
 * The loop.
 * ------------------------------------------------------------------------ */

/* Evict the oldest idle hosts and probes beyond the bounds. */
static void
trim(struct scan_engine *e, size_t host_max, size_t probe_max)
{
	struct scan_entry *en;

	while (e->hosts.n_idle > host_max && (en = scan_table_oldest_idle(&e->hosts)) != NULL) {
		struct scan_host *host = SCAN_CONTAINER(en, struct scan_host, entry);

		scan_table_remove(&e->hosts, en);
		host_free(e, host);
		e->c.hosts_evicted++;
	}
	while (e->probes.n_idle > probe_max && (en = scan_table_oldest_idle(&e->probes)) != NULL) {
		struct scan_probe *p = SCAN_CONTAINER(en, struct scan_probe, entry);

		scan_table_remove(&e->probes, en);
		probe_free(p);
		e->c.probes_evicted++;
	}
}

static void
feed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_engine *e = arg;
	size_t n = 0;

	(void)fd;
	(void)what;
	trim(e, e->o.host_cache, e->o.probe_cache);
	while (!e->stopping && !e->input_done && e->in_flight < e->o.concurrency) {
		char *name = NULL;
		long rank = -1;
		size_t position = 0;

		if (n++ == FEED_BATCH) {
			arm_feed(e);
			return;
		}
		if (!e->next(e->arg, &name, &rank, &position)) {
			e->input_done = true;
			break;
		}
		domain_start(e, name, rank, position);
	}
	if ((e->input_done || e->stopping) && e->in_flight == 0)
		event_base_loopbreak(e->base);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_engine *e = arg;

	(void)fd;
	(void)what;
	if (e->tick)
		e->tick(e->arg);
}

static bool
send_inline(void *resolver, const char *name, uint16_t type, unsigned timeout_ms,
            dns_async_callback *cb, void *arg, struct why *why)
{
	return dns_async_lookup(resolver, name, type, timeout_ms, cb, arg, why);
}

/*
 * Pick a resolver thread by the name without its leading "_" labels, so a
 * domain's MX and policy lookups (D, _dmarc.D, _mta-sts.D, _smtp._tls.D)
 * share one cache: the NSEC records proving _mta-sts.D and _smtp._tls.D
 * absent are then validated once.
 */
static bool
send_thread(void *resolver, const char *name, uint16_t type, unsigned timeout_ms,
            dns_async_callback *cb, void *arg, struct why *why)
{
	struct scan_engine *e = resolver;
	const char *base = name;

	while (*base == '_' && strchr(base, '.'))
		base = strchr(base, '.') + 1;
	return scan_ub_lookup(e->ub[e->n_ub > 1 ? scan_hash(base) % e->n_ub : 0], name, type,
	                      timeout_ms, cb, arg, why);
}

struct scan_engine *
scan_engine_new(const struct scan_options *o, struct why *why)
{
	struct scan_engine *e = xcalloc(1, sizeof(*e));
	struct dns_config dns = o->dns;
	char *conf = NULL;

	e->o = *o;
	if (e->o.max_connections == 0)
		e->o.max_connections = e->o.concurrency;
	if (e->o.per_ip == 0)
		e->o.per_ip = 1;
	if (e->o.rate_per_ip > 0) {
		e->rate_interval_ms = (int64_t)(1000.0 / e->o.rate_per_ip);
		if ((double)e->rate_interval_ms * e->o.rate_per_ip < 1000.0)
			e->rate_interval_ms++; /* rounded up: never faster than asked */
	}
	if ((e->base = event_base_new()) == NULL) {
		why_set(why, "cannot create an event base");
		goto fail;
	}
	/* libunbound bulk settings (TESTBED-NOTES): a generated config that includes the user's */
	if (!scan_dns_bulk_conf(&o->dns, &conf, why))
		goto fail;
	dns.unbound_conf = conf;
	if (o->dns_inline) {
		e->as = dns_async_new(e->base, &dns, why);
	} else {
		unsigned n = o->dns_threads ? o->dns_threads : 1, i;

		for (i = 0; i < n && i < SCAN_MAX_DNS_THREADS; i++) {
			if ((e->ub[i] = scan_ub_new(e->base, &dns, why)) == NULL)
				break;
			e->n_ub++;
		}
		if (e->n_ub < n)
			e->n_ub = 0; /* failed: the reason is in why */
	}
	unlink(conf);
	free(conf);
	if (e->as == NULL && e->n_ub == 0)
		goto fail;
	if (e->as)
		e->dnsq = scan_dnsq_new(e->base, send_inline, e->as, o->dns_max_pending, o->dns_ms);
	else
		e->dnsq = scan_dnsq_new(e->base, send_thread, e, o->dns_max_pending, o->dns_ms);
	if ((e->ssl_ctx = dane_ctx_new(o->legacy_tls, why)) == NULL ||
	    (e->ssl_ctx_legacy = dane_ctx_new(true, why)) == NULL)
		goto fail;
	if ((e->pkix = scan_pkix_store_new(o->ca_file, why)) == NULL)
		goto fail;
	if (o->policies && (e->psl = policy_psl_new(o->psl_file, why)) == NULL)
		goto fail;
	if (o->policies && o->fetch_mtasts)
		e->fetcher = mtasts_fetcher_new(e->base, o->ca_file, o->sts_resolve, o->sts_port);
	scan_table_init(&e->hosts);
	scan_table_init(&e->probes);
	scan_table_init(&e->ips);
	e->feed_ev = event_new(e->base, -1, 0, feed_cb, e);
	e->tick_ev = event_new(e->base, -1, EV_PERSIST, tick_cb, e);
	if (e->feed_ev == NULL || e->tick_ev == NULL) {
		why_set(why, "cannot create events");
		goto fail;
	}
	return e;
fail:
	scan_engine_free(e);
	return NULL;
}

struct scan_engine *
scan_engine_free(struct scan_engine *e)
{
	unsigned i;

	if (e == NULL)
		return NULL;
	if (e->hosts.buckets) {
		struct scan_entry *en;

		trim(e, 0, 0);
		/* addresses kept for their token bucket */
		while ((en = scan_table_oldest_idle(&e->ips)) != NULL)
			ip_free(e, SCAN_CONTAINER(en, struct scan_ip, entry));
		scan_table_clear(&e->hosts);
		scan_table_clear(&e->probes);
		scan_table_clear(&e->ips);
	}
	if (e->fetcher)
		mtasts_fetcher_free(e->fetcher);
	policy_psl_free(e->psl);
	if (e->feed_ev)
		event_free(e->feed_ev);
	if (e->tick_ev)
		event_free(e->tick_ev);
	scan_dnsq_free(e->dnsq);
	dns_async_free(e->as);
	for (i = 0; i < SCAN_MAX_DNS_THREADS; i++)
		scan_ub_free(e->ub[i]);
	SSL_CTX_free(e->ssl_ctx);
	SSL_CTX_free(e->ssl_ctx_legacy);
	X509_STORE_free(e->pkix);
	if (e->base)
		event_base_free(e->base);
	free(e);
	return NULL;
}

void
scan_engine_run(struct scan_engine *e, scan_next_cb *next, scan_done_cb *done,
                void (*tick)(void *arg), void *arg)
{
	struct timeval second = {1, 0};

	e->next = next;
	e->done = done;
	e->tick = tick;
	e->arg = arg;
	event_add(e->tick_ev, &second);
	arm_feed(e);
	event_base_dispatch(e->base);
	event_del(e->tick_ev);
}

void
scan_engine_stop(struct scan_engine *e)
{
	e->stopping = true;
	arm_feed(e);
}

struct event_base *
scan_engine_base(struct scan_engine *e)
{
	return e->base;
}

const struct scan_counters *
scan_engine_counters(const struct scan_engine *e)
{
	return &e->c;
}

size_t
scan_engine_in_flight(const struct scan_engine *e)
{
	return e->in_flight;
}

static json_t *
json_ttl(bool known, uint32_t ttl)
{
	return known ? json_integer(ttl) : json_null();
}

void
scan_domain_ttl_json(const struct scan_domain *d, json_t *obj)
{
	json_t *jmx = json_object_get(obj, "mx"), *jhosts = json_object_get(obj, "hosts");
	size_t i;

	if (json_is_object(jmx))
		json_object_set_new(jmx, "ttl", json_ttl(ttl_known(d->mx), d->mx ? d->mx->ttl : 0));
	for (i = 0; i < d->n_mx && i < json_array_size(jhosts); i++) {
		const struct scan_host *host = d->mxs[i].host;
		json_t *jh = json_array_get(jhosts, i), *jt = json_object_get(jh, "tlsa");

		if (!json_is_object(jh) || host == NULL)
			continue;
		json_object_set_new(jh, "ttl", json_ttl(!host_failed(host), host->ttl));
		json_object_set_new(jh, "addresses_ttl",
		                    json_ttl(!failed(host->h.addr_outcome), host->addr_ttl));
		if (json_is_object(jt))
			json_object_set_new(
			        jt, "ttl",
			        json_ttl(host->h.tlsa_looked_up && ttl_known(&host->h.tlsa),
			                 host->tlsa_ttl));
	}
}

void
scan_counters_json(const struct scan_counters *c, json_t *obj)
{
	if (!json_is_object(obj))
		return;
	if (json_object_get(obj, "rate_waits") == NULL)
		json_object_set_new(obj, "rate_waits", json_integer((json_int_t)c->rate_waits));
	if (json_object_get(obj, "hosts_expired") == NULL)
		json_object_set_new(obj, "hosts_expired",
		                    json_integer((json_int_t)c->hosts_expired));
	if (json_object_get(obj, "probes_expired") == NULL)
		json_object_set_new(obj, "probes_expired",
		                    json_integer((json_int_t)c->probes_expired));
}
