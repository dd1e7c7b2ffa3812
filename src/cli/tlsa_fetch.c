/*
 * tlsa_fetch.c - cli_fetch_chain(): the certificate chain a mail server
 * presents, for `danemail record tlsa --host/--mx` (publishing records for it).
 *
 * Uses the blocking SMTP probe (lib/smtp/client.h): STARTTLS, or implicit
 * TLS on port 465 (RFC 8314).  No verification at all: the chain is what
 * the caller will describe or hash, nothing trusts it.  Old servers are
 * accepted (TLS 1.0 and up, security level 0) so that their records can be
 * made too.  A host name's addresses come from the validating resolver, as
 * everywhere else: bogus or failed A/AAAA lookups stop (records made from
 * an attacker's server would publish the attacker's key); insecure ones do.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "dane/verify.h"
#include "dns/rr.h"
#include "smtp/client.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

/* An address literal into h; false if host is none. */
static bool
literal_addr(struct dane_host *h, const char *host)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)h->port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)h->port);
	} else {
		return false;
	}
	h->addrs = xmalloc(sizeof(*h->addrs));
	h->addrs[0] = ss;
	h->n_addrs = 1;
	return true;
}

/* The addresses of host name into h, validated; false and *fail on bogus or failed lookups. */
static bool
resolve(struct dane_host *h, struct dns_resolver *res, const char *name, enum cli_exit *fail,
        struct why *why)
{
	struct dns_answer a, aaaa;
	enum dns_outcome outcome;
	enum dns_sec sec;
	bool ok = true;

	dns_lookup(res, name, RR_TYPE_A, &a);
	dns_lookup(res, name, RR_TYPE_AAAA, &aaaa);
	dane_addr_merge(&a, &aaaa, &sec, &outcome);
	if (sec == DNS_SEC_BOGUS || outcome != DNS_OUTCOME_DATA) {
		const char *w = a.why ? a.why : aaaa.why;

		why_set(why, "%s A/AAAA: %s, %s%s%s", name, dns_sec_name(sec),
		        dns_outcome_name(outcome), w ? ": " : "", w ? w : "");
		*fail = sec == DNS_SEC_BOGUS ? CLI_EXIT_BOGUS
		        : outcome == DNS_OUTCOME_NODATA || outcome == DNS_OUTCOME_NXDOMAIN
		                ? CLI_EXIT_NONE
		                : CLI_EXIT_FAIL;
		ok = false;
	} else {
		dane_host_add_addrs(h, &a, 0);
		dane_host_add_addrs(h, &aaaa, 0);
	}
	dns_answer_clear(&a);
	dns_answer_clear(&aaaa);
	return ok;
}

STACK_OF(X509) * cli_fetch_chain(struct dns_resolver *res, const char *host, unsigned port,
                                 unsigned timeout_ms, enum cli_exit *fail, struct why *why)
{
	struct dane_host h;
	struct smtp_probe_config cfg;
	STACK_OF(X509) *chain = NULL;
	SSL_CTX *ctx;
	char *name;
	size_t i, len;
	bool literal;

	*fail = CLI_EXIT_UNAVAILABLE;
	if (port == 0 || port > 65535) {
		why_set(why, "port %u is not 1-65535", port);
		*fail = CLI_EXIT_USAGE;
		return NULL;
	}
	memset(&h, 0, sizeof(h));
	h.port = port;
	/* the name without a final dot: for the lookups and for SNI (RFC 6066 section 3) */
	name = xstrdup(host);
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	literal = literal_addr(&h, name);
	if (!literal && !resolve(&h, res, name, fail, why))
		goto out;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		why_set(why, "SSL_CTX_new failed");
		*fail = CLI_EXIT_SOFTWARE;
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	smtp_probe_config_init(&cfg);
	if (timeout_ms)
		cfg.connect_ms = cfg.greeting_ms = cfg.command_ms = cfg.tls_ms = timeout_ms;
	cfg.implicit_tls = port == 465;
	cfg.sni = literal ? NULL : name;

	for (i = 0; i < h.n_addrs && chain == NULL; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&h.addrs[i];
		socklen_t sa_len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                             : sizeof(struct sockaddr_in);
		struct smtp_report rep;
		SSL *ssl = SSL_new(ctx);
		char text[INET6_ADDRSTRLEN] = "?";

		smtp_probe_blocking(sa, sa_len, &cfg, ssl, &rep);
		if (rep.tls && SSL_get_peer_cert_chain(ssl) != NULL) {
			/* on the client side the chain starts with the leaf */
			chain = X509_chain_up_ref(SSL_get_peer_cert_chain(ssl));
		} else {
			getnameinfo(sa, sa_len, text, sizeof(text), NULL, 0, NI_NUMERICHOST);
			why_set(why, "%s port %u: %s: %s", text, port, smtp_result_name(rep.result),
			        rep.why.msg[0] ? rep.why.msg : "no certificate");
		}
		smtp_report_clear(&rep);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
out:
	dane_host_clear(&h);
	free(name);
	return chain;
}
