/*
 * bench_cms.c - the cost of S/MIME encryption alone, in process: the floor
 * the milter benchmark compares itself against.
 *
 *   bench_cms [ITERATIONS]
 *       Encrypts a 4096-byte MIME entity ITERATIONS times (default 2000)
 *       to one RSA-2048 certificate and to one EC P-256 certificate, with
 *       AES-256-CBC (EnvelopedData) and AES-256-GCM (AuthEnvelopedData), two
 *       ways: "openssl" is bare OpenSSL (CMS_encrypt, then DER to a memory
 *       BIO), "smime" is lib/mail/smime.c (streamed, base64 in CRLF lines).
 *
 * Keys and certificates are made at start-up and not timed.  Prints one line
 * per run: encryptions per second (wall clock) and CPU microseconds per
 * message (getrusage, user + system), single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mail/smime.h"
#include "util/buf.h"

#define ENTITY_SIZE 4096

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_cms: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* A self-signed certificate for key. */
static X509 *
cert_make(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		die("X509_new");
	name = X509_get_subject_name(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"bench", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		die("cannot sign the certificate");
	return x;
}

/* A 4096-byte text/plain entity with CRLF lines. */
static void
entity_make(struct buf *e)
{
	static const char line[] =
	        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, 42.\r\n";

	buf_puts(e, "Content-Type: text/plain; charset=us-ascii\r\n"
	            "Content-Transfer-Encoding: 7bit\r\n\r\n");
	while (e->len + sizeof(line) - 1 <= ENTITY_SIZE)
		buf_puts(e, line);
	while (e->len < ENTITY_SIZE)
		buf_putc(e, e->len == ENTITY_SIZE - 2   ? '\r'
		            : e->len == ENTITY_SIZE - 1 ? '\n'
		                                        : 'x');
}

/* One encryption with bare OpenSSL: CMS_encrypt and DER out; the output size. */
static size_t
encrypt_openssl(const struct buf *e, STACK_OF(X509) * certs, const EVP_CIPHER *cipher)
{
	BIO *in = BIO_new_mem_buf(e->data, (int)e->len), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms;
	char *data;
	size_t n;

	if (in == NULL || out == NULL)
		die("BIO_new");
	cms = CMS_encrypt(certs, in, cipher, CMS_BINARY);
	if (cms == NULL || i2d_CMS_bio(out, cms) != 1)
		die("CMS_encrypt");
	n = (size_t)BIO_get_mem_data(out, &data);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return n;
}

/* One encryption through smime_encrypt; the output size. */
static size_t
encrypt_smime(const struct buf *e, X509 *cert, const struct smime_opts *opts)
{
	BIO *in = BIO_new_mem_buf(e->data, (int)e->len), *out = BIO_new(BIO_s_mem());
	struct why why = {""};
	char *data;
	size_t n;

	if (in == NULL || out == NULL)
		die("BIO_new");
	if (!smime_encrypt(in, &cert, 1, opts, out, &why))
		die(why.msg);
	n = (size_t)BIO_get_mem_data(out, &data);
	BIO_free(in);
	BIO_free(out);
	return n;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum smime_cipher cipher;
	} ciphers[] = {{"aes-256-cbc", SMIME_AES256_CBC}, {"aes-256-gcm", SMIME_AES256_GCM}};
	const char *key_names[2] = {"rsa2048", "p256"};
	EVP_PKEY *keys[2];
	X509 *certs[2];
	struct buf entity = BUF_INIT;
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	size_t k, c, path;

	if (argc > 2 || iterations <= 0) {
		fprintf(stderr, "usage: bench_cms [ITERATIONS]\n");
		return 64;
	}
	keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (keys[0] == NULL || keys[1] == NULL)
		die("cannot make the keys");
	certs[0] = cert_make(keys[0]);
	certs[1] = cert_make(keys[1]);
	entity_make(&entity);

	for (k = 0; k < 2; k++) {
		STACK_OF(X509) *stack = sk_X509_new_null();

		sk_X509_push(stack, certs[k]);
		for (c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
			struct smime_opts opts = {ciphers[c].cipher, SMIME_RSA_PKCS1};
			const EVP_CIPHER *cipher = ciphers[c].cipher == SMIME_AES256_GCM
			                                   ? EVP_aes_256_gcm()
			                                   : EVP_aes_256_cbc();

			for (path = 0; path < 2; path++) {
				double t0, c0, wall, cpu;
				size_t out_size = 0;
				long i;

				/* warm up: first-use costs (provider fetches) are not the steady
				 * state */
				for (i = 0; i < 10; i++)
					out_size =
					        path == 0 ? encrypt_openssl(&entity, stack, cipher)
					                  : encrypt_smime(&entity, certs[k], &opts);
				t0 = now();
				c0 = cpu_seconds();
				for (i = 0; i < iterations; i++)
					out_size =
					        path == 0 ? encrypt_openssl(&entity, stack, cipher)
					                  : encrypt_smime(&entity, certs[k], &opts);
				wall = now() - t0;
				cpu = cpu_seconds() - c0;
				printf("cms: path=%s key=%s cipher=%s entity=%zu output=%zu "
				       "encryptions=%ld seconds=%.2f rate=%.0f/s cpu=%.1fus/msg\n",
				       path == 0 ? "openssl" : "smime", key_names[k],
				       ciphers[c].name, entity.len, out_size, iterations, wall,
				       iterations / wall, cpu * 1e6 / (double)iterations);
				fflush(stdout);
			}
		}
		sk_X509_free(stack);
	}
	for (k = 0; k < 2; k++) {
		X509_free(certs[k]);
		EVP_PKEY_free(keys[k]);
	}
	buf_release(&entity);
	return 0;
}
