/*
 * bench_record.c - how fast `danemail record smimea` can write records for a
 * hoster with many mailboxes.
 *
 *   bench_record [RECORDS [CERTIFICATES]]      default 1000000 and 1000
 *
 * Makes CERTIFICATES self-signed S/MIME certificates in memory (one RSA-2048
 * key, so that key generation does not dominate; each certificate has its
 * own serial, subject and email SAN), serialises and parses them back once
 * (cert_from_der) and computes their 3 0 0 association data.  Then, timed,
 * produces RECORDS records, certificate i % CERTIFICATES for address
 * u<i>@example.com, exactly as record.c does: the address parsed and
 * canonicalised, the owner hashed (SHA2-256), the RDATA formatted as a zone
 * line (hex of the association data) into a buffer that is flushed (reset)
 * every 1000 records, as a writer to a file would.  Addresses are made
 * before the clock starts.  Prints one line: records/s and MB/s of zone text.
 * Needs nothing else: no testbed, no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "dns/zonefmt.h"
#include "util/alloc.h"
#include "util/buf.h"

/* Records formatted into the buffer before it is "written" (reset). */
#define FLUSH_EVERY 1000

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_record: %s failed\n", what);
	exit(1);
}

/* Add an extension from its OpenSSL config text. */
static void
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(cert, ext, -1))
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

/* DER of a self-signed S/MIME certificate number i for key. */
static uint8_t *
make_cert_der(EVP_PKEY *key, unsigned i, size_t *len)
{
	X509 *cert = X509_new();
	X509_NAME *name;
	char cn[64], san[96];
	unsigned char *der = NULL;
	int n;

	if (cert == NULL || !X509_set_version(cert, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)i + 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400) == NULL ||
	    !X509_set_pubkey(cert, key))
		die("X509 setup");
	snprintf(cn, sizeof(cn), "Bench user %u", i);
	snprintf(san, sizeof(san), "email:u%u@example.com", i);
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                                0) ||
	    !X509_set_issuer_name(cert, name))
		die("X509 name");
	add_ext(cert, NID_subject_alt_name, san);
	add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
	add_ext(cert, NID_ext_key_usage, "emailProtection");
	if (!X509_sign(cert, key, EVP_sha256()))
		die("X509_sign");
	if ((n = i2d_X509(cert, &der)) <= 0)
		die("i2d_X509");
	X509_free(cert);
	*len = (size_t)n;
	return der;
}

int
main(int argc, char **argv)
{
	unsigned long n_records = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	unsigned long n_certs = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	struct buf *rdata, addrs = BUF_INIT, out = BUF_INIT, owner = BUF_INIT;
	struct owner_address addr;
	struct why why;
	size_t *addr_at, assoc_octets = 0;
	unsigned long i;
	unsigned long long text_octets = 0;
	double t0, t_certs, t_parse, t_records;
	EVP_PKEY *key;

	if (n_records == 0 || n_certs == 0) {
		fprintf(stderr, "usage: bench_record [RECORDS [CERTIFICATES]]\n");
		return 2;
	}

	/* certificates: made, serialised, parsed back once, association data computed */
	t0 = now();
	if ((key = EVP_RSA_gen(2048)) == NULL)
		die("EVP_RSA_gen");
	rdata = xcalloc(n_certs, sizeof(*rdata));
	{
		uint8_t **ders = xcalloc(n_certs, sizeof(*ders));
		size_t *lens = xcalloc(n_certs, sizeof(*lens));

		for (i = 0; i < n_certs; i++)
			ders[i] = make_cert_der(key, (unsigned)i, &lens[i]);
		t_certs = now() - t0;
		t0 = now();
		for (i = 0; i < n_certs; i++) {
			X509 *cert = cert_from_der(ders[i], lens[i], &why);

			if (cert == NULL || cert_can_encrypt(cert, &why) != CERT_CRYPT_OK) {
				fprintf(stderr, "bench_record: certificate %lu: %s\n", i, why.msg);
				return 1;
			}
			/* SMIMEA 3 0 0: usage, selector, matching type, the certificate */
			buf_putc(&rdata[i], RR_USAGE_DANE_EE);
			buf_putc(&rdata[i], RR_SELECTOR_CERT);
			buf_putc(&rdata[i], RR_MTYPE_FULL);
			if (!cert_association(cert, RR_SELECTOR_CERT, RR_MTYPE_FULL, &rdata[i],
			                      &why))
				die("cert_association");
			assoc_octets += rdata[i].len - 3;
			X509_free(cert);
			OPENSSL_free(ders[i]);
		}
		t_parse = now() - t0;
		free(ders);
		free(lens);
	}

	/* the addresses, before the clock starts */
	addr_at = xcalloc(n_records, sizeof(*addr_at));
	for (i = 0; i < n_records; i++) {
		addr_at[i] = addrs.len;
		buf_printf(&addrs, "u%lu@example.com", i);
		buf_putc(&addrs, '\0');
	}

	t0 = now();
	for (i = 0; i < n_records; i++) {
		const struct buf *rd = &rdata[i % n_certs];
		struct zonefmt_rr rr;

		if (!owner_address_parse(&addr, (const char *)addrs.data + addr_at[i], &why))
			die("owner_address_parse");
		buf_reset(&owner);
		owner_name_append(&owner, &addr, OWNER_SMIMEA, OWNER_CASE_EXACT);
		owner_address_clear(&addr);
		rr.owner = buf_str(&owner);
		rr.ttl = 3600;
		rr.type = RR_TYPE_SMIMEA;
		rr.rdata = rd->data;
		rr.len = rd->len;
		if (!zonefmt_line(&out, &rr, ZONEFMT_ZONE, NULL, &why))
			die("zonefmt_line");
		if ((i + 1) % FLUSH_EVERY == 0) {
			text_octets += out.len;
			buf_reset(&out);
		}
	}
	text_octets += out.len;
	t_records = now() - t0;

	printf("bench_record: %lu certificates (RSA-2048, SMIMEA 3 0 0, %zu octets each on "
	       "average): made in %.2f s, parsed in %.3f s\n",
	       n_certs, assoc_octets / n_certs, t_certs, t_parse);
	printf("bench_record: %lu records (owner hash + hex + zone line) in %.2f s: %.0f "
	       "records/s, %.0f MB/s of zone text\n",
	       n_records, t_records, n_records / t_records, text_octets / t_records / 1e6);

	for (i = 0; i < n_certs; i++)
		buf_release(&rdata[i]);
	free(rdata);
	free(addr_at);
	buf_release(&addrs);
	buf_release(&out);
	buf_release(&owner);
	EVP_PKEY_free(key);
	return 0;
}
