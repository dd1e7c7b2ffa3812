/*
 * test_smime.c - unit tests for lib/mail/smime.c: recipients' keys and
 * certificates are made here (RSA 2048 twice, EC P-256, Ed25519); a MIME
 * entity from lib/mail/message.c is encrypted (AES-256-CBC EnvelopedData
 * and AES-256-GCM AuthEnvelopedData, RFC 5652 and RFC 5083; PKCS#1 v1.5 and
 * RSAES-OAEP key transport; ECDH key agreement, RFC 5753; one to three
 * recipients), the output checked for 76-column CRLF base64 lines, parsed
 * back and decrypted in-process with every recipient's key, and for some
 * cases by the openssl command line as an independent oracle (DER, and a
 * whole S/MIME message with our Content-Type).  Failures: an Ed25519
 * certificate, no recipients, unreadable input, unwritable output.  Several
 * threads encrypt at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mail/message.h"
#include "mail/smime.h"
#include "util/buf.h"
#include "util/codec.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

enum who { RSA1, RSA2, EC1, ED1, N_WHO };

static const char *const who_name[N_WHO] = {"rsa1", "rsa2", "ec1", "ed1"};
static EVP_PKEY *keys[N_WHO];
static X509 *certs[N_WHO];
static struct buf entity; /* the entity every case encrypts */
static char tmpdir[] = "/tmp/test_smime.XXXXXX";

static X509 *
cert_make(EVP_PKEY *key, const char *cn, const char *ku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + (long)strlen(cn));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ku);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	snprintf(san, sizeof(san), "email:%s@secure.test", cn);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, key,
	              EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0)
		return NULL;
	return x;
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

/* Read a whole BIO into out. */
static void
bio_drain(BIO *bio, struct buf *out)
{
	uint8_t tmp[8192];
	int n;

	while ((n = BIO_read(bio, tmp, sizeof(tmp))) > 0)
		buf_append(out, tmp, (size_t)n);
	if (out->data == NULL)
		buf_puts(out, "");
}

/* The entity of a small multipart message, built by message.c as the milter will. */
static void
entity_build(struct buf *out)
{
	struct message *m = message_new(1 << 20, tmpdir);
	static const char body[] =
	        "--b\nContent-Type: text/plain; charset=utf-8\n\nHall\xc3\xb6 Bob,\n"
	        "the plan is on.\n--b\nContent-Type: application/octet-stream\n"
	        "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n--b--\n";
	BIO *bio;

	message_add_header(m, "From", "alice@secure.test");
	message_add_header(m, "To", "bob@secure.test");
	message_add_header(m, "Subject", "secret");
	message_add_header(m, "MIME-Version", "1.0");
	message_add_header(m, "Content-Type", "multipart/mixed;\n\tboundary=\"b\"");
	assert_true(message_append_body(m, (const uint8_t *)body, sizeof(body) - 1, NULL));
	bio = message_entity_bio(m, true, NULL);
	assert_non_null(bio);
	bio_drain(bio, out);
	BIO_free(bio);
	message_free(m);
}

static int
group_setup(void **state)
{
	static const char *const ku[N_WHO] = {"critical,keyEncipherment",
	                                      "critical,digitalSignature,keyEncipherment",
	                                      "critical,keyAgreement", "critical,digitalSignature"};
	char file[64];
	int w;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	keys[RSA1] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[RSA2] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[EC1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[ED1] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (w = 0; w < N_WHO; w++) {
		FILE *fp;

		if (keys[w] == NULL || (certs[w] = cert_make(keys[w], who_name[w], ku[w])) == NULL)
			return -1;
		snprintf(file, sizeof(file), "%s.pem", who_name[w]);
		if ((fp = fopen(path_in_tmp(file), "w")) == NULL)
			return -1;
		PEM_write_X509(fp, certs[w]);
		fclose(fp);
		snprintf(file, sizeof(file), "%s.key", who_name[w]);
		if ((fp = fopen(path_in_tmp(file), "w")) == NULL)
			return -1;
		PEM_write_PrivateKey(fp, keys[w], NULL, NULL, 0, NULL, NULL);
		fclose(fp);
	}
	entity_build(&entity);
	return 0;
}

static int
group_teardown(void **state)
{
	static const char *const files[] = {"c.der", "c.eml", "plain", "err"};
	char file[64];
	size_t i;
	int w;

	(void)state;
	for (w = 0; w < N_WHO; w++) {
		snprintf(file, sizeof(file), "%s.pem", who_name[w]);
		unlink(path_in_tmp(file));
		snprintf(file, sizeof(file), "%s.key", who_name[w]);
		unlink(path_in_tmp(file));
		X509_free(certs[w]);
		EVP_PKEY_free(keys[w]);
	}
	for (i = 0; i < N_ELEMS(files); i++)
		unlink(path_in_tmp(files[i]));
	buf_release(&entity);
	return rmdir(tmpdir);
}

/* Every line at most 76 base64 characters (all but the last exactly 76), each ending CRLF. */
static void
check_lines(const char *name, const struct buf *out)
{
	size_t i = 0, line = 0;

	if (out->len == 0)
		fail_msg("%s: no output", name);
	while (i < out->len) {
		size_t start = i, len;

		while (i < out->len && out->data[i] != '\r' && out->data[i] != '\n')
			i++;
		len = i - start;
		line++;
		if (i == out->len)
			fail_msg("%s: line %zu: no line end at the end of the output", name, line);
		if (out->data[i] != '\r' || i + 1 >= out->len || out->data[i + 1] != '\n')
			fail_msg("%s: line %zu: got a bare %s, want CRLF", name, line,
			         out->data[i] == '\n' ? "LF" : "CR");
		i += 2;
		if (len > 76 || len == 0)
			fail_msg("%s: line %zu: got %zu characters, want 1..76", name, line, len);
		if (len != 76 && i != out->len)
			fail_msg("%s: line %zu: got %zu characters before the last line, want 76",
			         name, line, len);
	}
}

/* Base64 output to the CMS structure (all bytes used). */
static CMS_ContentInfo *
cms_parse(const char *name, const struct buf *out, struct buf *der)
{
	struct why why = {""};
	const unsigned char *p;
	CMS_ContentInfo *cms;

	buf_reset(der);
	if (!base64_decode(der, (const char *)out->data, out->len, &why))
		fail_msg("%s: base64: %s", name, why.msg);
	p = der->data;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
	if (cms == NULL || p != der->data + der->len)
		fail_msg("%s: got %s, want one CMS structure", name,
		         cms == NULL ? "no CMS" : "trailing bytes");
	return cms;
}

/* Decrypt DER with one recipient's key; the plaintext into plain; false if CMS says no. */
static bool
cms_decrypt_with(const struct buf *der, enum who w, struct buf *plain)
{
	const unsigned char *p = der->data;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
	BIO *out = BIO_new(BIO_s_mem());
	bool ok;
	char *data;
	long n;

	assert_non_null(cms);
	ok = CMS_decrypt(cms, keys[w], certs[w], NULL, out, CMS_BINARY) == 1;
	n = BIO_get_mem_data(out, &data);
	buf_reset(plain);
	buf_append(plain, data, (size_t)n);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

/* Encrypt the entity in buffer `in` to the listed recipients; output into out. */
static bool
encrypt_buf(const struct buf *in, const enum who *to, size_t n_to, const struct smime_opts *opts,
            struct buf *out, struct why *why)
{
	X509 *list[8];
	BIO *bin = BIO_new_mem_buf(in->data != NULL ? in->data : (const uint8_t *)"", (int)in->len);
	BIO *bout = BIO_new(BIO_s_mem());
	char *data;
	long n;
	size_t i;
	bool ok;

	for (i = 0; i < n_to; i++)
		list[i] = certs[to[i]];
	ok = smime_encrypt(bin, list, n_to, opts, bout, why);
	n = BIO_get_mem_data(bout, &data);
	buf_reset(out);
	buf_append(out, data, (size_t)n);
	BIO_free(bin);
	BIO_free(bout);
	return ok;
}

struct smime_case {
	const char *name;
	enum smime_cipher cipher;
	enum smime_rsa_padding padding;
	enum who to[4];
	size_t n_to;
};

static const struct smime_case cases[] = {
        {"rsa cbc pkcs1", SMIME_AES256_CBC, SMIME_RSA_PKCS1, {RSA1}, 1},
        {"rsa cbc oaep", SMIME_AES256_CBC, SMIME_RSA_OAEP, {RSA1}, 1},
        {"rsa gcm pkcs1", SMIME_AES256_GCM, SMIME_RSA_PKCS1, {RSA1}, 1},
        {"rsa gcm oaep", SMIME_AES256_GCM, SMIME_RSA_OAEP, {RSA2}, 1},
        {"ec cbc", SMIME_AES256_CBC, SMIME_RSA_PKCS1, {EC1}, 1},
        {"ec gcm", SMIME_AES256_GCM, SMIME_RSA_OAEP, {EC1}, 1},
        {"two rsa cbc pkcs1", SMIME_AES256_CBC, SMIME_RSA_PKCS1, {RSA1, RSA2}, 2},
        {"rsa and ec gcm oaep", SMIME_AES256_GCM, SMIME_RSA_OAEP, {RSA2, EC1}, 2},
        {"three cbc oaep", SMIME_AES256_CBC, SMIME_RSA_OAEP, {EC1, RSA1, RSA2}, 3},
};

/* The key encryption algorithm a recipient's RecipientInfo must carry. */
static int
want_alg(enum who w, enum smime_rsa_padding padding)
{
	if (w == EC1)
		return NID_dhSinglePass_stdDH_sha256kdf_scheme;
	return padding == SMIME_RSA_OAEP ? NID_rsaesOaep : NID_rsaEncryption;
}

static void
check_structure(const struct smime_case *c, CMS_ContentInfo *cms)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	int want_type = c->cipher == SMIME_AES256_GCM ? NID_id_smime_ct_authEnvelopedData
	                                              : NID_pkcs7_enveloped;
	int got_type = OBJ_obj2nid(CMS_get0_type(cms));
	size_t i;

	if (got_type != want_type)
		fail_msg("%s: content type: got %s, want %s", c->name, OBJ_nid2sn(got_type),
		         OBJ_nid2sn(want_type));
	if (ris == NULL || (size_t)sk_CMS_RecipientInfo_num(ris) != c->n_to)
		fail_msg("%s: got %d RecipientInfos, want %zu", c->name,
		         ris ? sk_CMS_RecipientInfo_num(ris) : -1, c->n_to);
	/* DER sorts a SET OF: find each recipient's RecipientInfo wherever it is */
	for (i = 0; i < c->n_to; i++) {
		enum who w = c->to[i];
		int want_ri = w == EC1 ? CMS_RECIPINFO_AGREE : CMS_RECIPINFO_TRANS;
		X509_ALGOR *alg = NULL;
		int j, got_alg;

		for (j = 0; j < sk_CMS_RecipientInfo_num(ris); j++) {
			CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, j);

			if (CMS_RecipientInfo_type(ri) != want_ri)
				continue;
			if (want_ri == CMS_RECIPINFO_TRANS &&
			    CMS_RecipientInfo_ktri_cert_cmp(ri, certs[w]) == 0) {
				CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg);
				break;
			}
			if (want_ri == CMS_RECIPINFO_AGREE) {
				CMS_RecipientInfo_kari_get0_alg(ri, &alg, NULL);
				break;
			}
		}
		if (alg == NULL)
			fail_msg("%s: got no RecipientInfo for %s", c->name, who_name[w]);
		got_alg = OBJ_obj2nid(alg->algorithm);
		if (got_alg != want_alg(w, c->padding))
			fail_msg("%s: %s: key encryption: got %s, want %s", c->name, who_name[w],
			         OBJ_nid2sn(got_alg), OBJ_nid2sn(want_alg(w, c->padding)));
	}
}

static void
test_encrypt_decrypt(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct smime_case *c = &cases[i];
		struct smime_opts opts = {c->cipher, c->padding};
		struct buf out = BUF_INIT, der = BUF_INIT, plain = BUF_INIT;
		struct why why = {""};
		CMS_ContentInfo *cms;
		int w;

		if (!encrypt_buf(&entity, c->to, c->n_to, &opts, &out, &why))
			fail_msg("%s: encrypt: got false (%s), want true", c->name, why.msg);
		check_lines(c->name, &out);
		cms = cms_parse(c->name, &out, &der);
		check_structure(c, cms);
		CMS_ContentInfo_free(cms);
		for (k = 0; k < c->n_to; k++) {
			if (!cms_decrypt_with(&der, c->to[k], &plain))
				fail_msg("%s: decrypt as %s: got failure, want the entity", c->name,
				         who_name[c->to[k]]);
			if (plain.len != entity.len ||
			    memcmp(plain.data, entity.data, plain.len) != 0)
				fail_msg("%s: decrypt as %s: got %zu bytes, want the %zu-byte "
				         "entity",
				         c->name, who_name[c->to[k]], plain.len, entity.len);
		}
		/* someone else's key opens nothing */
		for (w = RSA1; w <= EC1; w++) {
			for (k = 0; k < c->n_to && c->to[k] != (enum who)w; k++)
				;
			if (k == c->n_to && cms_decrypt_with(&der, (enum who)w, &plain))
				fail_msg("%s: decrypt as %s: got success, want failure", c->name,
				         who_name[w]);
		}
		buf_release(&out);
		buf_release(&der);
		buf_release(&plain);
	}
}

static void
test_content_type(void **state)
{
	struct smime_opts cbc = {SMIME_AES256_CBC, SMIME_RSA_OAEP};
	struct smime_opts gcm = {SMIME_AES256_GCM, SMIME_RSA_PKCS1};

	(void)state;
	assert_string_equal(
	        smime_content_type(&cbc),
	        "application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"");
	assert_string_equal(
	        smime_content_type(&gcm),
	        "application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"");
	assert_string_equal(smime_content_type(NULL), smime_content_type(&cbc));
}

/* Defaults (opts NULL): EnvelopedData, AES-256-CBC, PKCS#1 v1.5. */
static void
test_defaults(void **state)
{
	static const struct smime_case c = {
	        "defaults", SMIME_AES256_CBC, SMIME_RSA_PKCS1, {RSA1}, 1};
	struct buf out = BUF_INIT, der = BUF_INIT;
	struct why why = {""};
	CMS_ContentInfo *cms;

	(void)state;
	if (!encrypt_buf(&entity, c.to, 1, NULL, &out, &why))
		fail_msg("encrypt: %s", why.msg);
	cms = cms_parse(c.name, &out, &der);
	check_structure(&c, cms);
	CMS_ContentInfo_free(cms);
	buf_release(&out);
	buf_release(&der);
}

/* Run a shell command; its exit status. */
static int
run(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static bool
file_equals(const char *file, const struct buf *want)
{
	FILE *fp = fopen(path_in_tmp(file), "rb");
	struct buf got = BUF_INIT;
	char tmp[4096];
	size_t n;
	bool eq;

	if (fp == NULL)
		return false;
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		buf_append(&got, tmp, n);
	fclose(fp);
	eq = got.len == want->len && memcmp(got.data, want->data, got.len) == 0;
	buf_release(&got);
	return eq;
}

/* `openssl cms -decrypt` as an independent oracle. */
static void
test_openssl_cli(void **state)
{
	static const struct {
		const char *name;
		struct smime_opts opts;
		enum who to, open_as;
		bool whole_message; /* -inform SMIME on a message with our Content-Type */
	} rows[] = {
	        {"der rsa cbc pkcs1", {SMIME_AES256_CBC, SMIME_RSA_PKCS1}, RSA1, RSA1, false},
	        {"der rsa cbc oaep", {SMIME_AES256_CBC, SMIME_RSA_OAEP}, RSA2, RSA2, false},
	        {"smime ec gcm", {SMIME_AES256_GCM, SMIME_RSA_PKCS1}, EC1, EC1, true},
	        {"smime rsa gcm oaep", {SMIME_AES256_GCM, SMIME_RSA_OAEP}, RSA1, RSA1, true},
	};
	char cmd[1024];
	size_t i;

	(void)state;
	if (run("openssl version >/dev/null 2>&1") != 0)
		skip();
	for (i = 0; i < N_ELEMS(rows); i++) {
		struct buf out = BUF_INIT, der = BUF_INIT, msg = BUF_INIT;
		enum who to[1] = {rows[i].to};
		struct why why = {""};
		CMS_ContentInfo *cms;

		if (!encrypt_buf(&entity, to, 1, &rows[i].opts, &out, &why))
			fail_msg("%s: encrypt: %s", rows[i].name, why.msg);
		unlink(path_in_tmp("plain"));
		if (rows[i].whole_message) {
			buf_printf(&msg,
			           "From: alice@secure.test\r\nMIME-Version: 1.0\r\nContent-Type: "
			           "%s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			           smime_content_type(&rows[i].opts));
			buf_append(&msg, out.data, out.len);
			file_write("c.eml", msg.data, msg.len);
			snprintf(cmd, sizeof(cmd),
			         "openssl cms -decrypt -inform SMIME -in %s/c.eml", tmpdir);
		} else {
			cms = cms_parse(rows[i].name, &out, &der);
			CMS_ContentInfo_free(cms);
			file_write("c.der", der.data, der.len);
			snprintf(cmd, sizeof(cmd), "openssl cms -decrypt -inform DER -in %s/c.der",
			         tmpdir);
		}
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
		         " -binary -recip %s/%s.pem -inkey %s/%s.key -out %s/plain 2>%s/err",
		         tmpdir, who_name[rows[i].open_as], tmpdir, who_name[rows[i].open_as],
		         tmpdir, tmpdir);
		if (run(cmd) != 0)
			fail_msg("%s: openssl cms -decrypt failed (see %s/err)", rows[i].name,
			         tmpdir);
		if (!file_equals("plain", &entity))
			fail_msg("%s: openssl's plaintext: got something else, want the entity",
			         rows[i].name);
		buf_release(&out);
		buf_release(&der);
		buf_release(&msg);
	}
}

/* No entity, the smallest entity, and a 3 MB spooled one read straight from message.c's BIO. */
static void
test_sizes(void **state)
{
	static const enum who to[] = {RSA1, EC1};
	struct smime_opts opts = {SMIME_AES256_GCM, SMIME_RSA_OAEP};
	struct buf empty = BUF_INIT, out = BUF_INIT, der = BUF_INIT, plain = BUF_INIT;
	struct buf want = BUF_INIT;
	struct message *m = message_new(4096, tmpdir);
	struct why why = {""};
	uint8_t line[100];
	BIO *in, *bout;
	X509 *list[2] = {certs[RSA1], certs[EC1]};
	CMS_ContentInfo *cms;
	char *data;
	long n;
	size_t i;

	(void)state;
	/* nothing at all is not an entity (it has at least the blank line) */
	if (encrypt_buf(&empty, to, 2, &opts, &out, &why) || strcmp(why.msg, "the entity is empty"))
		fail_msg("empty: got \"%s\", want \"the entity is empty\"", why.msg);
	/* the smallest entity: a blank line */
	buf_puts(&empty, "\r\n");
	if (!encrypt_buf(&empty, to, 2, &opts, &out, &why))
		fail_msg("blank line: encrypt: %s", why.msg);
	check_lines("blank line", &out);
	cms = cms_parse("blank line", &out, &der);
	CMS_ContentInfo_free(cms);
	assert_true(cms_decrypt_with(&der, EC1, &plain));
	assert_int_equal(plain.len, 2);
	assert_memory_equal(plain.data, "\r\n", 2);

	message_add_header(m, "Content-Type", "application/octet-stream");
	for (i = 0; i < 30000; i++) {
		size_t k;

		for (k = 0; k < sizeof(line) - 1; k++)
			line[k] = (uint8_t)((i * 7 + k) % 256);
		line[sizeof(line) - 1] = '\n';
		assert_true(message_append_body(m, line, sizeof(line), NULL));
	}
	in = message_entity_bio(m, false, NULL);
	bio_drain(in, &want);
	BIO_free(in);
	in = message_entity_bio(m, false, NULL);
	bout = BIO_new(BIO_s_mem());
	if (!smime_encrypt(in, list, 2, &opts, bout, &why))
		fail_msg("3 MB: encrypt: %s", why.msg);
	n = BIO_get_mem_data(bout, &data);
	buf_reset(&out);
	buf_append(&out, data, (size_t)n);
	check_lines("3 MB", &out);
	cms = cms_parse("3 MB", &out, &der);
	CMS_ContentInfo_free(cms);
	for (i = 0; i < N_ELEMS(to); i++) {
		assert_true(cms_decrypt_with(&der, to[i], &plain));
		if (plain.len != want.len || memcmp(plain.data, want.data, want.len) != 0)
			fail_msg("3 MB as %s: got %zu bytes, want %zu", who_name[to[i]], plain.len,
			         want.len);
	}
	BIO_free(in);
	BIO_free(bout);
	message_free(m);
	buf_release(&empty);
	buf_release(&out);
	buf_release(&der);
	buf_release(&plain);
	buf_release(&want);
}

static void
test_failures(void **state)
{
	static const struct {
		const char *name;
		enum who to[2];
		size_t n_to;
		const char *want_in_why;
	} rows[] = {
	        {"ed25519 alone",
	         {ED1},
	         1,
	         "recipient 1: cannot encrypt to key type ED25519 (RSA or EC needed)"},
	        {"ed25519 second",
	         {RSA1, ED1},
	         2,
	         "recipient 2: cannot encrypt to key type ED25519 (RSA or EC needed)"},
	        {"no recipients", {RSA1}, 0, "no recipient"},
	};
	struct buf out = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(rows); i++) {
		struct why why = {""};

		if (encrypt_buf(&entity, rows[i].to, rows[i].n_to, NULL, &out, &why))
			fail_msg("%s: got true, want false", rows[i].name);
		if (strstr(why.msg, rows[i].want_in_why) == NULL)
			fail_msg("%s: reason: got \"%s\", want \"%s\"", rows[i].name, why.msg,
			         rows[i].want_in_why);
		assert_int_equal(ERR_peek_error(), 0); /* the queue is left clean */
	}
	buf_release(&out);
}

/* A NULL certificate, unreadable input, unwritable output: false and a reason, no crash. */
static void
test_io_failures(void **state)
{
	X509 *with_null[2] = {certs[RSA1], NULL};
	BIO *in, *out;
	struct why why = {""};

	(void)state;
	in = BIO_new_mem_buf(entity.data, (int)entity.len);
	out = BIO_new(BIO_s_mem());
	assert_false(smime_encrypt(in, with_null, 2, NULL, out, &why));
	assert_non_null(strstr(why.msg, "recipient 2: no certificate"));
	assert_false(smime_encrypt(in, NULL, 1, NULL, out, &why));
	assert_false(smime_encrypt(NULL, with_null, 1, NULL, out, &why));
	assert_false(smime_encrypt(in, with_null, 1, NULL, NULL, NULL)); /* why may be NULL */
	BIO_free(in);
	BIO_free(out);

	/* reading a directory fails (EISDIR), which must not pass for the end of the entity */
	in = BIO_new_file(tmpdir, "rb");
	assert_non_null(in);
	out = BIO_new(BIO_s_mem());
	why.msg[0] = '\0';
	assert_false(smime_encrypt(in, with_null, 1, NULL, out, &why));
	if (strstr(why.msg, "cannot read the entity") == NULL)
		fail_msg("unreadable input: reason: got \"%s\"", why.msg);
	BIO_free(in);
	BIO_free(out);

	/* a read-only output */
	in = BIO_new_mem_buf(entity.data, (int)entity.len);
	out = BIO_new_mem_buf("", 0);
	why.msg[0] = '\0';
	assert_false(smime_encrypt(in, with_null, 1, NULL, out, &why));
	if (why.msg[0] == '\0')
		fail_msg("read-only output: got no reason");
	BIO_free(in);
	BIO_free(out);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Threads encrypting at once (the milter's situation), each checking its own results. */
struct thread_arg {
	int id;
	int failures;
	char why[WHY_MAX];
};

static void *
thread_main(void *p)
{
	struct thread_arg *arg = p;
	struct buf out = BUF_INIT, der = BUF_INIT, plain = BUF_INIT;
	int it;

	for (it = 0; it < 4; it++) {
		const struct smime_case *c = &cases[(size_t)(arg->id + it) % N_ELEMS(cases)];
		struct smime_opts opts = {c->cipher, c->padding};
		struct why why = {""};
		const unsigned char *q;
		CMS_ContentInfo *cms;

		if (!encrypt_buf(&entity, c->to, c->n_to, &opts, &out, &why)) {
			snprintf(arg->why, sizeof(arg->why), "%s", why.msg);
			arg->failures++;
			continue;
		}
		buf_reset(&der);
		if (!base64_decode(&der, (const char *)out.data, out.len, NULL)) {
			arg->failures++;
			continue;
		}
		q = der.data;
		if ((cms = d2i_CMS_ContentInfo(NULL, &q, (long)der.len)) == NULL) {
			arg->failures++;
			continue;
		}
		CMS_ContentInfo_free(cms);
		if (!cms_decrypt_with(&der, c->to[0], &plain) || plain.len != entity.len ||
		    memcmp(plain.data, entity.data, plain.len) != 0)
			arg->failures++;
	}
	buf_release(&out);
	buf_release(&der);
	buf_release(&plain);
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[6];
	struct thread_arg args[6];
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(th); i++) {
		args[i].id = (int)i;
		args[i].failures = 0;
		args[i].why[0] = '\0';
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (i = 0; i < N_ELEMS(th); i++) {
		pthread_join(th[i], NULL);
		if (args[i].failures != 0)
			fail_msg("thread %zu: got %d failures (%s), want 0", i, args[i].failures,
			         args[i].why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_encrypt_decrypt), cmocka_unit_test(test_content_type),
	        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_openssl_cli),
	        cmocka_unit_test(test_sizes),           cmocka_unit_test(test_failures),
	        cmocka_unit_test(test_io_failures),     cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
