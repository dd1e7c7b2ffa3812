/*
 * test_cert.c - unit tests for lib/dane/cert.c: certificates are made here
 * with the OpenSSL API (RSA 2048 and 1024, EC P-256/P-384/secp256k1,
 * Ed25519; various keyUsage/extendedKeyUsage/SAN sets), then described,
 * judged for S/MIME encryption (RFC 5280 sections 4.2.1.3 and 4.2.1.12),
 * matched against addresses, turned into TLSA/SMIMEA association data
 * (RFC 6698 sections 2.1.2-2.1.3) and loaded from PEM, DER and bad files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dane/cert.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/why.h"

#define NOT_BEFORE ((time_t)1700000000)               /* 2023-11-14T22:13:20Z */
#define NOT_AFTER  ((time_t)1700000000 + 365 * 86400) /* a year later */

enum key_kind { KEY_RSA2048, KEY_RSA1024, KEY_P256, KEY_P384, KEY_K256, KEY_ED25519, KEY_COUNT };

/* Keys are slow to make (RSA): one of each kind for the whole run. */
static EVP_PKEY *keys[KEY_COUNT];
static char tmpdir[] = "/tmp/test_cert.XXXXXX";

/* How to make one certificate, and what cert.c must say about it. */
struct cert_case {
	const char *name;
	enum key_kind key;
	const char *ku;  /* keyUsage extension value (openssl.cnf syntax), or NULL */
	const char *eku; /* extendedKeyUsage, or NULL */
	const char *san; /* subjectAltName, or NULL */
	/* wants */
	const char *key_type;
	int key_bits;
	const char *curve;
	const char *sig_alg;
	const char *key_usage;
	const char *ext_key_usage;
	const char *emails; /* the escaped emails joined by " " */
	const char *dns_names;
	enum cert_crypt crypt;
	const char *utf8_mailbox; /* an SmtpUTF8Mailbox SAN (RFC 8398) to add, or NULL */
};

static const struct cert_case cases[] = {
        {"rsa2048-smime", KEY_RSA2048, "critical,digitalSignature,keyEncipherment",
         "emailProtection", "email:Alice@secure.test,DNS:mail.secure.test", "RSA", 2048, "",
         "RSA-SHA256", "digitalSignature,keyEncipherment", "emailProtection", "Alice@secure.test",
         "mail.secure.test", CERT_CRYPT_OK, NULL},
        {"rsa1024-weak", KEY_RSA1024, "critical,keyEncipherment", "emailProtection",
         "email:weak@secure.test", "RSA", 1024, "", "RSA-SHA256", "keyEncipherment",
         "emailProtection", "weak@secure.test", "", CERT_CRYPT_KEY_WEAK, NULL},
        {"ec-p256-agreement", KEY_P256, "critical,digitalSignature,keyAgreement",
         "emailProtection,clientAuth", "email:ec@secure.test", "EC", 256, "prime256v1",
         "ecdsa-with-SHA256", "digitalSignature,keyAgreement", "emailProtection,clientAuth",
         "ec@secure.test", "", CERT_CRYPT_OK, NULL},
        {"ec-p256-sign-only", KEY_P256, "critical,digitalSignature", "emailProtection",
         "email:ec@secure.test", "EC", 256, "prime256v1", "ecdsa-with-SHA256", "digitalSignature",
         "emailProtection", "ec@secure.test", "", CERT_CRYPT_KEY_USAGE, NULL},
        {"ec-p384-any-eku", KEY_P384, "keyAgreement", "anyExtendedKeyUsage", NULL, "EC", 384,
         "secp384r1", "ecdsa-with-SHA256", "keyAgreement", "anyExtendedKeyUsage", "", "",
         CERT_CRYPT_OK, NULL},
        {"ec-secp256k1", KEY_K256, "keyAgreement", NULL, NULL, "EC", 256, "secp256k1",
         "ecdsa-with-SHA256", "keyAgreement", "", "", "", CERT_CRYPT_KEY_WEAK, NULL},
        {"ed25519", KEY_ED25519, "critical,digitalSignature", "emailProtection",
         "email:ed@secure.test", "Ed25519", 256, "", "ED25519", "digitalSignature",
         "emailProtection", "ed@secure.test", "", CERT_CRYPT_KEY_TYPE, NULL},
        {"rsa-server-auth-only", KEY_RSA2048, "critical,digitalSignature,keyEncipherment",
         "serverAuth", "DNS:mx.secure.test", "RSA", 2048, "", "RSA-SHA256",
         "digitalSignature,keyEncipherment", "serverAuth", "", "mx.secure.test", CERT_CRYPT_EKU,
         NULL},
        {"rsa-sign-only", KEY_RSA2048, "critical,digitalSignature,nonRepudiation",
         "emailProtection", "email:sig@secure.test", "RSA", 2048, "", "RSA-SHA256",
         "digitalSignature,nonRepudiation", "emailProtection", "sig@secure.test", "",
         CERT_CRYPT_KEY_USAGE, NULL},
        /* no keyUsage and no EKU: nothing restricts the key (RFC 5280 section 4.2.1.3) */
        {"rsa-no-extensions", KEY_RSA2048, NULL, NULL, "email:plain@secure.test", "RSA", 2048, "",
         "RSA-SHA256", "", "", "plain@secure.test j\\xc3\\xb6rg@secure.test", "", CERT_CRYPT_OK,
         "j\xc3\xb6rg@secure.test"},
};

static EVP_PKEY *
key_make(enum key_kind kind)
{
	switch (kind) {
	case KEY_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case KEY_RSA1024:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	case KEY_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case KEY_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case KEY_K256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	case KEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case KEY_COUNT:
		break;
	}
	return NULL;
}

static void
ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	if (value == NULL)
		return;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		fail_msg("extension %s=%s: rejected by OpenSSL", OBJ_nid2sn(nid), value);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

/* subjectAltName from openssl.cnf syntax plus, if given, an SmtpUTF8Mailbox otherName. */
static void
san_add(X509 *x, const char *san, const char *utf8_mailbox)
{
	GENERAL_NAMES *gens;
	X509V3_CTX ctx;

	if (san == NULL && utf8_mailbox == NULL)
		return;
	gens = sk_GENERAL_NAME_new_null();
	if (san != NULL) {
		X509_EXTENSION *ext;

		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		if (ext == NULL)
			fail_msg("subjectAltName=%s: rejected by OpenSSL", san);
		GENERAL_NAMES_free(gens);
		gens = X509V3_EXT_d2i(ext);
		X509_EXTENSION_free(ext);
	}
	if (utf8_mailbox != NULL) {
		ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
		ASN1_TYPE *value = ASN1_TYPE_new();
		GENERAL_NAME *gn = GENERAL_NAME_new();

		ASN1_STRING_set(s, utf8_mailbox, -1);
		ASN1_TYPE_set(value, V_ASN1_UTF8STRING, s);
		GENERAL_NAME_set0_othername(gn, OBJ_nid2obj(NID_id_on_SmtpUTF8Mailbox), value);
		sk_GENERAL_NAME_push(gens, gn);
	}
	X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
	GENERAL_NAMES_free(gens);
}

/* A self-signed certificate for one case; the subject is "CN=<cn>,O=Secure Test". */
static X509 *
cert_make(const struct cert_case *c, const char *cn)
{
	EVP_PKEY *key = keys[c->key];
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
	ASN1_TIME_set(X509_getm_notBefore(x), NOT_BEFORE);
	ASN1_TIME_set(X509_getm_notAfter(x), NOT_AFTER);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Secure Test",
	                           -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	ext_add(x, NID_key_usage, c->ku);
	ext_add(x, NID_ext_key_usage, c->eku);
	san_add(x, c->san, c->utf8_mailbox);
	if (X509_sign(x, key, c->key == KEY_ED25519 ? NULL : EVP_sha256()) <= 0)
		fail_msg("%s: cannot sign the test certificate", c->name);
	return x;
}

static const struct cert_case *
case_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	fail_msg("no test case %s", name);
	return NULL;
}

static char *
path_in_tmp(const char *file)
{
	static char path[sizeof(tmpdir) + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	return path;
}

static void
file_write(const char *file, const void *p, size_t n)
{
	FILE *fp = fopen(path_in_tmp(file), "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static int
group_setup(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < KEY_COUNT; k++)
		if ((keys[k] = key_make((enum key_kind)k)) == NULL)
			return -1;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	static const char *files[] = {
	        "c.pem",   "c.der",     "key+c.pem", "key.pem", "key.der",
	        "garbage", "trunc.der", "trail.der", "empty",   "bad.pem",
	};
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < KEY_COUNT; k++)
		EVP_PKEY_free(keys[k]);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path_in_tmp(files[i]));
	return rmdir(tmpdir);
}

/* Join a NULL-terminated list with spaces. */
static void
join(struct buf *out, char **list, size_t n)
{
	size_t i;

	buf_reset(out);
	buf_puts(out, "");
	for (i = 0; i < n; i++)
		buf_printf(out, "%s%s", i ? " " : "", list[i]);
	assert_null(list[n]);
}

#define CHECK_STR(what, got, want)                                                                 \
	do {                                                                                       \
		if (strcmp((got), (want)) != 0)                                                    \
			fail_msg("%s: %s: got \"%s\", want \"%s\"", c->name, what, (got), (want)); \
	} while (0)

static void
test_info_and_verdicts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cert_case *c = &cases[i];
		X509 *x = cert_make(c, "Alice");
		struct cert_info info;
		struct buf list = BUF_INIT;
		struct why why = {""};
		enum cert_crypt got;

		cert_info_get(&info, x);
		CHECK_STR("subject", info.subject, "CN=Alice,O=Secure Test");
		CHECK_STR("issuer", info.issuer, "CN=Alice,O=Secure Test");
		CHECK_STR("key type", info.key_type, c->key_type);
		if (info.key_bits != c->key_bits)
			fail_msg("%s: bits: got %d, want %d", c->name, info.key_bits, c->key_bits);
		CHECK_STR("curve", info.curve, c->curve);
		CHECK_STR("signature algorithm", info.sig_alg, c->sig_alg);
		CHECK_STR("keyUsage", info.key_usage, c->key_usage);
		CHECK_STR("extendedKeyUsage", info.ext_key_usage, c->ext_key_usage);
		join(&list, info.emails, info.n_emails);
		CHECK_STR("emails", buf_str(&list), c->emails);
		join(&list, info.dns_names, info.n_dns_names);
		CHECK_STR("DNS names", buf_str(&list), c->dns_names);
		if (info.not_before != NOT_BEFORE || info.not_after != NOT_AFTER)
			fail_msg("%s: validity: got %lld..%lld, want %lld..%lld", c->name,
			         (long long)info.not_before, (long long)info.not_after,
			         (long long)NOT_BEFORE, (long long)NOT_AFTER);
		if (strlen(info.sha256_fpr) != 64)
			fail_msg("%s: fingerprint: got \"%s\", want 64 hex digits", c->name,
			         info.sha256_fpr);

		got = cert_can_encrypt(x, &why);
		if (got != c->crypt)
			fail_msg("%s: can encrypt: got %s (%s), want %s", c->name,
			         cert_crypt_name(got), why.msg, cert_crypt_name(c->crypt));
		if (got != CERT_CRYPT_OK && why.msg[0] == '\0')
			fail_msg("%s: verdict %s without a reason", c->name, cert_crypt_name(got));
		buf_release(&list);
		cert_info_clear(&info);
		X509_free(x);
	}
}

/* Subject names are untrusted: RFC 2253 escapes, then log escaping of the backslashes. */
static void
test_subject_escaped(void **state)
{
	const struct cert_case *c = case_named("rsa2048-smime");
	X509 *x = cert_make(c, "J\xc3\xb6rg \"\x1b[31m\",+");
	struct cert_info info;

	(void)state;
	cert_info_get(&info, x);
	CHECK_STR("subject", info.subject,
	          "CN=J\\\\C3\\\\B6rg \\\\\"\\\\1B[31m\\\\\"\\\\,\\\\+,O=Secure Test");
	if (strchr(info.subject, '\x1b') != NULL)
		fail_msg("subject: got a raw escape character, want it escaped");
	cert_info_clear(&info);
	X509_free(x);
}

static void
test_has_email(void **state)
{
	static const struct {
		const char *address;
		bool want;
	} addrs[] = {
	        {"Alice@secure.test", true},
	        {"Alice@SECURE.Test", true},       /* domain: case-insensitive */
	        {"alice@secure.test", false},      /* local part: exact */
	        {"Alice@secure.test.evil", false}, /* no suffix matches */
	        {"Alice@secure.tes", false},       /* nor prefixes */
	        {"xAlice@secure.test", false},
	        {"Alice", false},
	        {"", false},
	        {"mail.secure.test", false},        /* a dNSName is not a mailbox */
	        {"j\xc3\xb6rg@secure.test", false}, /* only in the other certificate */
	};
	const struct cert_case *c = case_named("rsa2048-smime");
	X509 *x = cert_make(c, "Alice");
	X509 *utf8 = cert_make(case_named("rsa-no-extensions"), "Jorg");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		bool got = cert_has_email(x, addrs[i].address);

		if (got != addrs[i].want)
			fail_msg("has_email(%s): got %d, want %d", addrs[i].address, got,
			         addrs[i].want);
	}
	if (!cert_has_email(utf8, "j\xc3\xb6rg@Secure.Test"))
		fail_msg("has_email(SmtpUTF8Mailbox j\\xc3\\xb6rg): got 0, want 1");
	if (cert_has_email(x, NULL))
		fail_msg("has_email(NULL): got 1, want 0");
	X509_free(utf8);
	X509_free(x);
}

static void
test_association(void **state)
{
	static const struct {
		unsigned selector, mtype;
		size_t want_len; /* 0: the DER length, computed below */
	} rows[] = {
	        {0, 0, 0}, {0, 1, 32}, {0, 2, 64}, {1, 0, 0}, {1, 1, 32}, {1, 2, 64},
	};
	size_t i, k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct cert_case *c = &cases[k];
		X509 *x = cert_make(c, "Alice");
		struct cert_info info;
		struct buf full = BUF_INIT, hex = BUF_INIT;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int md_len = 0;
		int der_len = i2d_X509(x, NULL);
		int spki_len = i2d_PUBKEY(keys[c->key], NULL);

		cert_info_get(&info, x);
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			struct buf out = BUF_INIT;
			struct why why = {""};
			size_t want = rows[i].want_len;

			if (want == 0)
				want = (size_t)(rows[i].selector == 0 ? der_len : spki_len);
			if (!cert_association(x, rows[i].selector, rows[i].mtype, &out, &why))
				fail_msg("%s: association %u %u: %s", c->name, rows[i].selector,
				         rows[i].mtype, why.msg);
			if (out.len != want)
				fail_msg("%s: association %u %u: got %zu bytes, want %zu", c->name,
				         rows[i].selector, rows[i].mtype, out.len, want);
			buf_release(&out);
		}
		/* SHA-256 of the selector 0 data is the certificate's fingerprint */
		assert_true(cert_association(x, 0, 0, &full, NULL));
		assert_int_equal(EVP_Digest(full.data, full.len, md, &md_len, EVP_sha256(), NULL),
		                 1);
		hex_encode(&hex, md, md_len);
		CHECK_STR("fingerprint", info.sha256_fpr, buf_str(&hex));
		buf_reset(&full);
		assert_true(cert_association(x, 0, 1, &full, NULL));
		assert_int_equal(full.len, md_len);
		assert_memory_equal(full.data, md, md_len);
		buf_release(&full);
		buf_release(&hex);
		cert_info_clear(&info);
		X509_free(x);
	}
}

static void
test_association_rejects(void **state)
{
	static const unsigned bad[][2] = {{2, 0}, {255, 1}, {0, 3}, {1, 255}};
	X509 *x = cert_make(case_named("ec-p256-agreement"), "Alice");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf out = BUF_INIT;
		struct why why = {""};

		if (cert_association(x, bad[i][0], bad[i][1], &out, &why))
			fail_msg("association %u %u: got accepted, want rejected", bad[i][0],
			         bad[i][1]);
		if (why.msg[0] == '\0' || out.len != 0)
			fail_msg("association %u %u: got why \"%s\" and %zu bytes, want a reason "
			         "and nothing",
			         bad[i][0], bad[i][1], why.msg, out.len);
		buf_release(&out);
	}
	X509_free(x);
}

/* An extension OpenSSL cannot decode must not read as "no restriction". */
static void
test_malformed_extensions(void **state)
{
	static const struct {
		const char *name;
		int nid;
		enum cert_crypt want;
		const char *want_ku, *want_eku;
	} rows[] = {
	        {"keyUsage", NID_key_usage, CERT_CRYPT_KEY_USAGE, "(malformed)", ""},
	        {"extendedKeyUsage", NID_ext_key_usage, CERT_CRYPT_EKU, "", "(malformed)"},
	};
	static const unsigned char asn1_null[] = {0x05, 0x00};
	const struct cert_case *c = case_named("rsa-no-extensions");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		X509 *x = cert_make(c, "Alice");
		ASN1_OCTET_STRING *data = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext;
		struct cert_info info;
		struct why why = {""};
		enum cert_crypt got;

		ASN1_OCTET_STRING_set(data, asn1_null, sizeof(asn1_null));
		ext = X509_EXTENSION_create_by_NID(NULL, rows[i].nid, 1, data);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(data);
		assert_true(X509_sign(x, keys[c->key], EVP_sha256()) > 0);

		got = cert_can_encrypt(x, &why);
		if (got != rows[i].want)
			fail_msg("malformed %s: got %s (%s), want %s", rows[i].name,
			         cert_crypt_name(got), why.msg, cert_crypt_name(rows[i].want));
		cert_info_get(&info, x);
		if (strcmp(info.key_usage, rows[i].want_ku) != 0 ||
		    strcmp(info.ext_key_usage, rows[i].want_eku) != 0)
			fail_msg("malformed %s: got usages \"%s\"/\"%s\", want \"%s\"/\"%s\"",
			         rows[i].name, info.key_usage, info.ext_key_usage, rows[i].want_ku,
			         rows[i].want_eku);
		cert_info_clear(&info);
		X509_free(x);
	}
}

/* DER certificates from DNS: exact bytes only. */
static void
test_from_der(void **state)
{
	X509 *x = cert_make(case_named("rsa2048-smime"), "Alice");
	struct buf der = BUF_INIT, bad = BUF_INIT;
	struct cert_info want, got;
	X509 *y;
	struct {
		const char *name;
		size_t len;
		bool trailing;
	} rows[4];
	size_t i;

	(void)state;
	assert_true(cert_association(x, 0, 0, &der, NULL));
	y = cert_from_der(der.data, der.len, NULL);
	assert_non_null(y);
	cert_info_get(&want, x);
	cert_info_get(&got, y);
	if (strcmp(want.sha256_fpr, got.sha256_fpr) != 0)
		fail_msg("DER round trip: got %s, want %s", got.sha256_fpr, want.sha256_fpr);
	cert_info_clear(&want);
	cert_info_clear(&got);
	X509_free(y);

	rows[0].name = "empty", rows[0].len = 0, rows[0].trailing = false;
	rows[1].name = "truncated", rows[1].len = der.len / 2, rows[1].trailing = false;
	rows[2].name = "one byte short", rows[2].len = der.len - 1, rows[2].trailing = false;
	rows[3].name = "trailing bytes", rows[3].len = der.len, rows[3].trailing = true;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct why why = {""};

		buf_reset(&bad);
		buf_append(&bad, der.data, rows[i].len);
		if (rows[i].trailing)
			buf_append(&bad, "\0\0", 2);
		y = cert_from_der(bad.data, bad.len, &why);
		if (y != NULL || why.msg[0] == '\0')
			fail_msg("%s: got %s (why \"%s\"), want NULL and a reason", rows[i].name,
			         y ? "a certificate" : "NULL", why.msg);
		if (rows[i].trailing && strstr(why.msg, "after") == NULL)
			fail_msg("%s: got why \"%s\", want it to mention bytes after", rows[i].name,
			         why.msg);
	}
	{
		struct why why = {""};

		assert_null(cert_from_der((const uint8_t *)"\x30\x03\x02\x01\x01", 5, &why));
		assert_true(why.msg[0] != '\0');
	}
	buf_release(&bad);
	buf_release(&der);
	X509_free(x);
}

static void
test_load_file(void **state)
{
	const struct cert_case *c = case_named("rsa2048-smime");
	X509 *x = cert_make(c, "Alice");
	struct cert_info want;
	struct buf der = BUF_INIT;
	BIO *bio;
	unsigned char *p = NULL;
	int n;
	static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nnot base64 !!!\n"
	                              "-----END CERTIFICATE-----\n";
	static const struct {
		const char *file; /* "missing" does not exist, "." is the directory */
		const char *want_in_why;
	} bad[] = {
	        {"key.pem", "private key"},
	        {"key.der", "private key"},
	        {"garbage", "neither a PEM nor a DER"},
	        {"trunc.der", "neither a PEM nor a DER"},
	        {"trail.der", "after"},
	        {"empty", "empty"},
	        {"bad.pem", "no readable"},
	        {"missing", "cannot open"},
	        {".", "cannot read"},
	};
	static const char *good[] = {"c.pem", "c.der", "key+c.pem"};
	size_t i;

	(void)state;
	cert_info_get(&want, x);
	assert_true(cert_association(x, 0, 0, &der, NULL));

	/* c.pem and key+c.pem (a private key block before the certificate) */
	bio = BIO_new_file(path_in_tmp("c.pem"), "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	BIO_free(bio);
	bio = BIO_new_file(path_in_tmp("key+c.pem"), "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, keys[c->key], NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	BIO_free(bio);
	bio = BIO_new_file(path_in_tmp("key.pem"), "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, keys[c->key], NULL, NULL, 0, NULL, NULL), 1);
	BIO_free(bio);
	n = i2d_PrivateKey(keys[c->key], &p);
	assert_true(n > 0);
	file_write("key.der", p, (size_t)n);
	OPENSSL_free(p);
	file_write("c.der", der.data, der.len);
	file_write("garbage", "this is not a certificate\n\x01\x02", 28);
	file_write("trunc.der", der.data, der.len - 10);
	buf_append(&der, "\n", 1);
	file_write("trail.der", der.data, der.len);
	file_write("empty", "", 0);
	file_write("bad.pem", bad_pem, sizeof(bad_pem) - 1);

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct why why = {""};
		X509 *y = cert_load_file(path_in_tmp(good[i]), &why);
		struct cert_info got;

		if (y == NULL)
			fail_msg("load %s: got NULL (%s), want the certificate", good[i], why.msg);
		cert_info_get(&got, y);
		if (strcmp(got.sha256_fpr, want.sha256_fpr) != 0)
			fail_msg("load %s: got %s, want %s", good[i], got.sha256_fpr,
			         want.sha256_fpr);
		cert_info_clear(&got);
		X509_free(y);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct why why = {""};
		const char *path = bad[i].file[0] == '.' ? tmpdir : path_in_tmp(bad[i].file);
		X509 *y = cert_load_file(path, &why);

		if (y != NULL)
			fail_msg("load %s: got a certificate, want NULL", bad[i].file);
		if (strstr(why.msg, bad[i].want_in_why) == NULL)
			fail_msg("load %s: got why \"%s\", want it to contain \"%s\"", bad[i].file,
			         why.msg, bad[i].want_in_why);
	}
	buf_release(&der);
	cert_info_clear(&want);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_info_and_verdicts),
	        cmocka_unit_test(test_subject_escaped),
	        cmocka_unit_test(test_has_email),
	        cmocka_unit_test(test_association),
	        cmocka_unit_test(test_association_rejects),
	        cmocka_unit_test(test_malformed_extensions),
	        cmocka_unit_test(test_from_der),
	        cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests_name("cert", tests, group_setup, group_teardown);
}
