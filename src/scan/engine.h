/*
 * engine.h - the scan engine: one libevent loop driving libunbound's
 * asynchronous resolution and non-blocking SMTP + TLS probes for many
 * domains at once.
 *
 * Per domain (RFC 7672 2.2, RFC 5321 5.1, RFC 7505): the MX RRset with its
 * DNSSEC state (null MX; no MX: the domain itself, noted), each MX host's
 * A/AAAA (CNAMEs followed) and TLSA records (dane_tlsa_bases order), one
 * SMTP probe per address (greeting, EHLO, STARTTLS, TLS handshake), the
 * DANE verdict per address from dane_decide(), per MX host and per domain
 * (the worst MX, named), and the mail policies (policyscan.h).
 *
 * Work is shared across domains: an MX host is resolved once (table keyed
 * by host name) and an address is probed once (table keyed by IP:port);
 * every domain waiting on it gets the result.  Limits: domains in flight,
 * connections per IP and in all, new connections per IP and second (a
 * token bucket; waiting is on a timer), DNS lookups outstanding, a timeout
 * per SMTP stage and per DNS lookup; idle table entries beyond a bound are
 * evicted (least recently used), so memory stays bounded on any list.  A
 * host's resolution is reused for its answers' TTL, a probe's result for
 * probe_max_age: long scans see what is there now, not at their start.
 *
 * The engine prints nothing: each finished domain goes to a callback.
 */
#ifndef DANEMAIL_SCAN_ENGINE_H
#define DANEMAIL_SCAN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "dane/cert.h"
#include "dane/verify.h"
#include "dns/resolver.h"
#include "policyscan.h"
#include "smtp/client.h"
#include "table.h"
#include "util/why.h"

struct event;
struct scan_engine;
struct scan_ip;
struct scan_host;
struct scan_mx;
struct scan_domain;

/* Defaults and bounds of the options (scan.c checks the bounds). */
#define SCAN_DEFAULT_CONCURRENCY 1000
#define SCAN_DEFAULT_PER_IP      1
/* New connections per second to one address (0: no limit); see scan_options.rate_per_ip. */
#define SCAN_DEFAULT_RATE_PER_IP 2.0
#define SCAN_DEFAULT_PORT        25
#define SCAN_DEFAULT_DNS_MS      20000
#define SCAN_DEFAULT_FETCH_MS    10000
#define SCAN_DEFAULT_HOST_CACHE  100000
#define SCAN_DEFAULT_PROBE_CACHE 50000
/* Per stage SMTP limits (ms): connect, greeting (patient: postscreen), commands, TLS. */
#define SCAN_DEFAULT_CONNECT_MS  10000
#define SCAN_DEFAULT_GREETING_MS 30000
#define SCAN_DEFAULT_COMMAND_MS  20000
#define SCAN_DEFAULT_TLS_MS      20000
/* Cached host resolutions live for the smallest TTL of their A/AAAA/TLSA answers, within
 * these bounds (s); a finished probe is reused for at most probe_max_age seconds. */
#define SCAN_HOST_TTL_MIN          1
#define SCAN_HOST_TTL_MAX          86400
#define SCAN_DEFAULT_PROBE_MAX_AGE 3600
/* MX hosts per domain and addresses per host that are followed (the rest noted). */
#define SCAN_MAX_MX    16
#define SCAN_MAX_ADDRS 8
/* Resolver threads at most (DNSSEC validation is most of a scan's CPU time). */
#define SCAN_MAX_DNS_THREADS 16

struct scan_options {
	struct dns_config dns; /* resolver (bulk settings added by the engine) */
	unsigned concurrency;  /* domains in flight */
	unsigned per_ip;       /* SMTP connections to one IP address at once */
	/* new SMTP connections per second to one IP address (0: no limit): a token bucket
	 * one token deep, so connections to an address start at least 1/rate s apart;
	 * probes and --tls-enumerate sessions waiting for a token wait on a timer */
	double rate_per_ip;
	unsigned probe_max_age;   /* s a finished probe's result is reused (0: never) */
	unsigned max_connections; /* SMTP connections at once (0: concurrency) */
	unsigned port;            /* SMTP port, also in the TLSA owner _port._tcp */
	unsigned connect_ms, greeting_ms, command_ms, tls_ms;
	unsigned dns_ms;   /* per DNS lookup */
	unsigned fetch_ms; /* MTA-STS policy fetch */
	size_t dns_max_pending;
	size_t host_cache, probe_cache; /* idle table entries kept */
	const char *helo;
	bool legacy_tls;      /* also TLS 1.0/1.1 (security level 0) */
	bool no_ipv6;         /* look AAAA up, do not connect to IPv6 addresses */
	bool dns_inline;      /* libunbound in the loop's thread (lib/dns dns_async), not its own */
	bool tls_enumerate;   /* also try each TLS version and certificate type (more sessions) */
	unsigned dns_threads; /* libunbound contexts, each validating in a thread of its own */
	bool policies;        /* SPF, DMARC, MTA-STS, TLS-RPT (when mailpolicy is linked) */
	bool fetch_mtasts;
	const char *ca_file;     /* PKIX store and MTA-STS fetches; NULL: the system's */
	const char *psl_file;    /* public suffix list (DMARC org. domains); NULL: libpsl's */
	const char *sts_resolve; /* MTA-STS fetcher: "host:port:addr,..." (tests) */
	unsigned sts_port;       /* MTA-STS fetcher port (tests); 0: 443 */
};
/* Fill the defaults. */
void scan_options_init(struct scan_options *o);

/* What a connection to one address came to, beyond the DANE verdict. */
enum scan_transport {
	SCAN_TRANSPORT_TLS,          /* STARTTLS offered and a TLS session established */
	SCAN_TRANSPORT_TLS_FAILED,   /* STARTTLS offered; refused or the handshake failed */
	SCAN_TRANSPORT_NO_STARTTLS,  /* the SMTP dialogue worked, STARTTLS not offered */
	SCAN_TRANSPORT_NOT_TESTABLE, /* refused, unreachable, timeout, 421, not SMTP */
	SCAN_TRANSPORT_NOT_TESTED,   /* not connected: bogus addresses, IPv6 off, too many */
};
/* "tls", "tls-failed", "no-starttls", "not-testable", "not-tested". */
const char *scan_transport_name(enum scan_transport t);

/* The extra TLS sessions of --tls-enumerate: one per protocol version, one per certificate type. */
enum scan_variant {
	SCAN_VAR_TLS10,
	SCAN_VAR_TLS11,
	SCAN_VAR_TLS12,
	SCAN_VAR_TLS13,
	SCAN_VAR_RSA,   /* only RSA signature algorithms and cipher suites offered */
	SCAN_VAR_ECDSA, /* only ECDSA */
	SCAN_VARIANTS,
};
/* "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "RSA", "EC". */
const char *scan_variant_name(enum scan_variant v);

/* What one such session showed. */
struct scan_tls_variant {
	bool tried;     /* a session was made for it, or the main session answered it */
	bool from_main; /* answered by the main session */
	bool ok;        /* a TLS session was established */
	enum smtp_result result;
	char version[16];
	char cipher[64];
	char key_type[16]; /* the leaf's */
	int key_bits;
	char sha256[65];
	STACK_OF(X509) * chain; /* certificate types: the chain when its leaf is not the main one */
};

/* One SMTP probe of one IP:port, shared by every host and domain that lead there. */
struct scan_probe {
	struct scan_entry entry; /* key "127.0.1.2:25" / "[::1]:25" */
	char address[48];        /* "127.0.1.2" / "::1" */
	unsigned port;
	uint64_t id;     /* 1, 2, ... in start order (0: never started) */
	int64_t done_ms; /* smtp_clock_ms() when it finished */
	char *sni;       /* the server name sent (the first host's TLSA base domain) */
	bool done;
	/* the SMTP dialogue (text escaped by lib/smtp) */
	enum smtp_result result;
	enum smtp_stage stage;
	char *why;
	int greeting_code;
	char *greeting;
	size_t greeting_lines;
	int ehlo_code;
	bool helo_fallback;
	bool starttls_offered;
	int starttls_code;
	char **extensions;
	size_t n_extensions;
	unsigned elapsed_ms;
	/* the TLS session: version, cipher, chain, leaf (no DANE: that is per host) */
	struct dane_tls tls;
	int tls_version; /* SSL_version(): TLS1_VERSION .. TLS1_3_VERSION, 0 without TLS */
	char group[32];
	bool have_leaf;
	struct cert_info leaf;
	bool pkix_valid;
	char pkix_error[96];
	enum scan_transport transport;
	bool enumerated; /* --tls-enumerate ran */
	struct scan_tls_variant variants[SCAN_VARIANTS];
	/* engine's bookkeeping */
	struct scan_engine *engine;
	int variant;     /* the session running: -1 main, else enum scan_variant */
	bool rate_stamp; /* the session connects in its next step (--rate-per-ip) */
	struct sockaddr_storage sa;
	socklen_t salen;
	struct scan_ip *ip;
	struct smtp_probe *smtp;
	SSL *ssl;
	struct event *ev;
	struct scan_probe *queue_next; /* in a wait queue */
	struct scan_host **waiters;
	size_t n_waiters;
	size_t refs; /* hosts holding it */
};

/* One address of a host: its probe and the DANE judgement for this host. */
struct scan_host_addr {
	char address[48];
	struct scan_probe *probe; /* NULL: not probed (see transport) */
	enum scan_transport transport;
	const char *not_tested; /* why not probed, when probe is NULL */
	struct dane_tls check;  /* verification for this host (no next-hop domain) */
	struct dane_decision decision;
	enum dane_rollover rollover;
	bool names_host; /* the certificate names the host (RFC 6125 style match) */
	/* --tls-enumerate: certificates of other key types the server showed, judged too */
	size_t n_alt;
	int alt_variant[2]; /* SCAN_VAR_RSA / SCAN_VAR_ECDSA */
	struct dane_tls alt_check[2];
	struct dane_decision alt_decision[2];
};

/* An MX host (or the domain itself, RFC 5321 5.1), resolved once for every domain using it. */
struct scan_host {
	struct scan_entry entry; /* key: the name, lower case, no final dot */
	struct dane_host h;      /* name, addresses and TLSA records, as verify tlsa has them */
	bool done;
	size_t n_addrs_dropped;       /* addresses beyond SCAN_MAX_ADDRS */
	struct scan_host_addr *addrs; /* h.n_addrs of them */
	enum dane_verdict verdict;    /* worst over the addresses (no next-hop domain) */
	const char *rule;             /* the rule when no address was probed */
	/* engine's bookkeeping */
	struct scan_engine *engine;
	struct dns_answer *a, *aaaa;
	int pending;
	int tlsa_base; /* index of the base being looked up */
	const char *bases[2];
	char *base_copy[2];
	struct scan_mx **waiters;
	size_t n_waiters;
	size_t refs;
	int64_t created_ms;
	/* the smallest TTL of the A, AAAA and TLSA answers (s), and when the entry expires
	 * (smtp_clock_ms(): created_ms + that TTL within SCAN_HOST_TTL_MIN..MAX) */
	uint32_t ttl;
	int64_t expires_ms;
	uint32_t addr_ttl, tlsa_ttl; /* of the address and TLSA answers (0: none) */
};

/* One MX record of a domain (or the implicit MX). */
struct scan_mx {
	char *name;
	int preference;
	struct scan_host *host;
	struct scan_domain *domain;
	/* per address: the main certificate judged again with the next-hop domain (only
	 * where that can change the verdict, a name mismatch), or NULL */
	struct dane_tls *recheck;
	struct dane_decision *recheck_decision;
	/* per address (x 2 for alt_decision): the verdicts for this domain */
	struct dane_decision *alt_decision; /* the other certificates' */
	struct dane_decision *final;        /* the worst over the address's certificates */
	enum dane_verdict verdict;          /* worst over its addresses, for this domain */
};

/* How a domain's MX lookup came out. */
enum scan_mx_kind {
	SCAN_MX_RECORDS,  /* MX records */
	SCAN_MX_IMPLICIT, /* no MX records: the domain is its own mail host (RFC 5321 5.1) */
	SCAN_MX_NULL,     /* null MX (RFC 7505): accepts no mail */
	SCAN_MX_NXDOMAIN, /* the domain does not exist */
	SCAN_MX_BOGUS,    /* the MX RRset failed validation: not used (RFC 7672 2.1.1) */
	SCAN_MX_FAILED,   /* the lookup failed (SERVFAIL, timeout): unknown, never "none" */
	SCAN_MX_BROKEN,   /* MX records, none usable (malformed RDATA) */
};
/* "mx", "implicit", "null-mx", "nxdomain", "bogus", "lookup-failed", "no-usable-mx". */
const char *scan_mx_kind_name(enum scan_mx_kind k);

/* Whether the domain's mail servers offer TLS (over the addresses that could be tested). */
enum scan_starttls {
	SCAN_STARTTLS_ALL,        /* every tested address: a TLS session */
	SCAN_STARTTLS_SOME,       /* some */
	SCAN_STARTTLS_NONE,       /* none (no STARTTLS, or it failed everywhere) */
	SCAN_STARTTLS_UNTESTABLE, /* no address could be tested */
	SCAN_STARTTLS_NO_MAIL,    /* no MX hosts to test (null MX, NXDOMAIN, failures) */
};
/* "all", "some", "none", "untestable", "no-mail". */
const char *scan_starttls_name(enum scan_starttls s);

/* One domain of the list, from its first lookup to its line of output. */
struct scan_domain {
	char *name;
	long rank;       /* Tranco rank, or -1 */
	size_t position; /* in the input */
	int64_t start_ms, end_ms;
	struct dns_answer *mx; /* the MX answer */
	enum scan_mx_kind kind;
	size_t n_null_mx;    /* "0 ." records (RFC 7505) */
	size_t n_mx_dropped; /* MX records beyond SCAN_MAX_MX */
	struct scan_mx *mxs;
	size_t n_mx;
	enum dane_verdict verdict; /* the worst MX's (RFC 7672 2.2.1) */
	char *verdict_where;       /* "MX 10 mail.example.com", "MX RRset", ... */
	const char *verdict_rule;  /* for verdicts decided before any host (MX lookup) */
	enum scan_starttls starttls;
	size_t addrs_tested, addrs_tls, addrs_starttls_offered;
	char lowest_tls[16]; /* lowest TLS version over its TLS sessions, or "" */
	bool enumerated;     /* --tls-enumerate ran on some address */
	bool accepts_tls[4]; /* some address accepts TLS 1.0, 1.1, 1.2, 1.3 (--tls-enumerate) */
	struct scan_policies pol;
	bool policies_looked_up;
	/* engine's bookkeeping */
	struct scan_engine *engine;
	int pending;
};

/* Run-wide counters. */
struct scan_counters {
	uint64_t domains_started, domains_done;
	uint64_t hosts_resolved;       /* host table misses */
	uint64_t host_reuses;          /* host table hits */
	uint64_t probes;               /* SMTP probes (addresses connected to) */
	uint64_t enumeration_sessions; /* extra sessions of --tls-enumerate */
	uint64_t probe_reuses;         /* host addresses served by an existing probe */
	uint64_t dns_queries;
	uint64_t dane_verifications;
	uint64_t hosts_evicted, probes_evicted;
	uint64_t rate_waits;     /* connections held back by --rate-per-ip */
	uint64_t hosts_expired;  /* cached host resolutions past their TTL, resolved again */
	uint64_t probes_expired; /* finished probes older than probe_max_age, made again */
};

/* Called with each finished domain; the engine frees it on return. */
typedef void scan_done_cb(void *arg, const struct scan_domain *d);
/* Called when the engine can take another domain: fill *name etc., false when there is none. */
typedef bool scan_next_cb(void *arg, char **name, long *rank, size_t *position);

/* An engine on a new event base; NULL and a reason on failure (resolver, TLS set-up). */
struct scan_engine *scan_engine_new(const struct scan_options *o, struct why *why);
/* Free the engine and everything it holds; returns NULL. */
struct scan_engine *scan_engine_free(struct scan_engine *e);
/*
 * Scan every domain next() hands out, done() each as it finishes; returns
 * when all are done (or after scan_engine_stop).  tick (may be NULL) runs
 * once a second, for progress lines.
 */
void scan_engine_run(struct scan_engine *e, scan_next_cb *next, scan_done_cb *done,
                     void (*tick)(void *arg), void *arg);
/* Take no new domains; finish those in flight (async-signal-unsafe: call from the loop). */
void scan_engine_stop(struct scan_engine *e);
/* The event base, for signal events. */
struct event_base *scan_engine_base(struct scan_engine *e);
/* Counters so far. */
const struct scan_counters *scan_engine_counters(const struct scan_engine *e);
/* Domains in flight. */
size_t scan_engine_in_flight(const struct scan_engine *e);
/*
 * Add the TTLs (seconds) to obj, a domain's JSON object as scan_domain_json()
 * made it: "mx.ttl" (the MX RRset's, or its negative TTL), per host "ttl"
 * (how long its resolution is reused: the smallest of the rest, before the
 * SCAN_HOST_TTL_MIN..MAX bounds), "addresses_ttl" and "tlsa.ttl"; null where
 * the lookup failed.
 */
void scan_domain_ttl_json(const struct scan_domain *d, json_t *obj);
/* Add the counters of rate limiting and expiry to obj ("engine" of the --stats JSON)
 * unless it has them: rate_waits, hosts_expired, probes_expired. */
void scan_counters_json(const struct scan_counters *c, json_t *obj);

#endif
