/*
 * tlscheck.c - DANE, PKIX and name checks of a fetched certificate chain
 * (see tlscheck.h).
 *
 * scan_dane_verify() repeats what libssl's ssl_verify_cert_chain() does
 * for a client handshake (OpenSSL 3.0, ssl/ssl_cert.c): a store context on
 * the SSL_CTX's store with the leaf and the peer's chain, the SSL's
 * security level as the authentication level, the "ssl_server" defaults,
 * the SSL's verification parameters (hosts, host flags) and its DANE
 * state, then X509_verify_cert(); the matched name moves back into the
 * SSL's parameters.  The SSL comes from dane_ssl_new(), so the records and
 * reference identifiers are exactly those of `danemail verify tlsa`
 * (RFC 7672 3.1.1, 3.1.3, 3.2.2-3.2.3; RFC 7671 section 9 through the
 * context's digest preferences).
 *
 * Trusts OpenSSL's verification.  The chain is the server's: untrusted,
 * only read here; names that leave this file are escaped.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tlscheck.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

bool
scan_dane_verify(SSL_CTX *ctx, const struct dane_host *h, const char *nexthop,
                 STACK_OF(X509) * chain, struct dane_tls *t, struct why *why)
{
	X509_STORE_CTX *xs = NULL;
	X509_VERIFY_PARAM *param;
	size_t n_records = 0;
	bool ok = false;
	SSL *ssl;

	memset(t, 0, sizeof(*t));
	t->match_depth = -1;
	t->verify_error = X509_V_OK;
	t->established = true;
	if (chain == NULL || sk_X509_num(chain) == 0) {
		t->verify_error = X509_V_ERR_UNSPECIFIED;
		snprintf(t->verify_text, sizeof(t->verify_text), "no certificate chain");
		return why_set(why, "the server sent no certificate");
	}
	if ((ssl = dane_ssl_new(ctx, h, nexthop, &n_records, why)) == NULL)
		return false;
	t->n_records = n_records;
	if (n_records == 0) {
		/* DANE is not armed (no usable secure TLSA): nothing to verify */
		snprintf(t->verify_text, sizeof(t->verify_text), "%s",
		         X509_verify_cert_error_string(X509_V_OK));
		SSL_free(ssl);
		return true;
	}
	ERR_clear_error();
	if ((xs = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(ctx), sk_X509_value(chain, 0), chain)) {
		why_set(why, "cannot set up a certificate verification");
		t->verify_error = X509_V_ERR_UNSPECIFIED;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(xs);
	X509_VERIFY_PARAM_set_auth_level(param, SSL_get_security_level(ssl));
	X509_STORE_CTX_set_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx(), ssl);
	X509_STORE_CTX_set0_dane(xs, SSL_get0_dane(ssl));
	X509_STORE_CTX_set_default(xs, "ssl_server");
	X509_VERIFY_PARAM_set1(param, SSL_get0_param(ssl));
	(void)X509_verify_cert(xs); /* the error code says it all, as in a handshake */
	t->verify_error = X509_STORE_CTX_get_error(xs);
	SSL_set_verify_result(ssl, t->verify_error);
	X509_VERIFY_PARAM_move_peername(SSL_get0_param(ssl), param);
	ok = true;
out:
	ERR_clear_error();
	snprintf(t->verify_text, sizeof(t->verify_text), "%s",
	         X509_verify_cert_error_string(t->verify_error));
	if (ok) {
		uint8_t usage, selector, mtype;
		const unsigned char *data;
		size_t dlen;
		int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);
		const char *peer = SSL_get0_peername(ssl);

		if (depth >= 0) {
			t->match_depth = depth;
			t->match.usage = usage;
			t->match.selector = selector;
			t->match.mtype = mtype;
			t->match.data = xmemdup(data, dlen);
			t->match.len = dlen;
		}
		if (peer) {
			struct buf esc = BUF_INIT;

			t->peer_name = xstrdup(escape_str(&esc, peer));
			buf_release(&esc);
		}
	}
	X509_STORE_CTX_free(xs);
	SSL_free(ssl);
	return ok;
}

X509_STORE *
scan_pkix_store_new(const char *ca_file, struct why *why)
{
	X509_STORE *store = X509_STORE_new();

	if (store == NULL) {
		why_set(why, "X509_STORE_new failed");
		return NULL;
	}
	if (ca_file ? X509_STORE_load_file(store, ca_file) != 1
	            : X509_STORE_set_default_paths(store) != 1) {
		unsigned long e = ERR_get_error();

		why_set(why, "loading %s: %s", ca_file ? ca_file : "the system CA store",
		        e ? ERR_reason_error_string(e) : "failed");
		ERR_clear_error();
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

bool
scan_pkix_check(X509_STORE *store, STACK_OF(X509) * chain, char *err, size_t errlen)
{
	X509_STORE_CTX *xs;
	bool ok = false;
	int e = X509_V_ERR_UNSPECIFIED;

	if (chain == NULL || sk_X509_num(chain) == 0) {
		snprintf(err, errlen, "no certificate");
		return false;
	}
	if ((xs = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(xs, store, sk_X509_value(chain, 0), chain)) {
		X509_STORE_CTX_set_default(xs, "ssl_server");
		ok = X509_verify_cert(xs) == 1;
		e = X509_STORE_CTX_get_error(xs);
	}
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	snprintf(err, errlen, "%s", ok ? "ok" : X509_verify_cert_error_string(e));
	return ok;
}

bool
scan_cert_names_host(STACK_OF(X509) * chain, const char *host)
{
	int r;

	if (chain == NULL || sk_X509_num(chain) == 0 || host == NULL)
		return false;
	r = X509_check_host(sk_X509_value(chain, 0), host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	                    NULL);
	ERR_clear_error();
	return r == 1;
}
