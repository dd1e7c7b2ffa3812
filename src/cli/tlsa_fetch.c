/*
 * tlsa_fetch.c - cli_fetch_chain(): the certificate chain a mail server
 * presents, for `danemail record tlsa --host` (publishing records for it).
 *
 * Uses the blocking SMTP probe (lib/smtp/client.h): STARTTLS, or implicit
 * TLS on port 465 (RFC 8314).  No verification at all: the chain is what
 * the caller will describe or hash, nothing trusts it.  Old servers are
 * accepted (TLS 1.0 and up, security level 0) so that their records can be
 * made too.  Addresses come from getaddrinfo() (the system resolver): no
 * decision depends on them, unlike `verify tlsa`, which validates.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "smtp/client.h"
#include "util/buf.h"
#include "util/escape.h"

STACK_OF(X509) *
        cli_fetch_chain(const char *host, unsigned port, unsigned timeout_ms, struct why *why)
{
	struct addrinfo hints = {0}, *ai = NULL, *a;
	struct smtp_probe_config cfg;
	struct buf esc = BUF_INIT;
	struct in6_addr tmp6;
	struct in_addr tmp4;
	STACK_OF(X509) *chain = NULL;
	SSL_CTX *ctx;
	char service[8];
	bool literal;
	int rc;

	if (port == 0 || port > 65535) {
		why_set(why, "port %u is not 1-65535", port);
		return NULL;
	}
	literal = inet_pton(AF_INET, host, &tmp4) == 1 || inet_pton(AF_INET6, host, &tmp6) == 1;
	snprintf(service, sizeof(service), "%u", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (literal ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(host, service, &hints, &ai)) != 0) {
		why_set(why, "%s: %s", escape_str(&esc, host), gai_strerror(rc));
		buf_release(&esc);
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		why_set(why, "SSL_CTX_new failed");
		freeaddrinfo(ai);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	smtp_probe_config_init(&cfg);
	if (timeout_ms)
		cfg.connect_ms = cfg.greeting_ms = cfg.command_ms = cfg.tls_ms = timeout_ms;
	cfg.implicit_tls = port == 465;
	cfg.sni = literal ? NULL : host;

	for (a = ai; a && chain == NULL; a = a->ai_next) {
		struct smtp_report rep;
		SSL *ssl = SSL_new(ctx);
		char text[INET6_ADDRSTRLEN] = "?";

		smtp_probe_blocking(a->ai_addr, a->ai_addrlen, &cfg, ssl, &rep);
		if (rep.tls && SSL_get_peer_cert_chain(ssl) != NULL) {
			/* on the client side the chain starts with the leaf */
			chain = X509_chain_up_ref(SSL_get_peer_cert_chain(ssl));
		} else {
			getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof(text), NULL, 0,
			            NI_NUMERICHOST);
			why_set(why, "%s port %u: %s: %s", text, port, smtp_result_name(rep.result),
			        rep.why.msg[0] ? rep.why.msg : "no certificate");
		}
		smtp_report_clear(&rep);
		SSL_free(ssl);
	}
	freeaddrinfo(ai);
	SSL_CTX_free(ctx);
	buf_release(&esc);
	return chain;
}
