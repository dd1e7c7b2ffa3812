/*
 * smime.c - S/MIME 4.0 encryption of a MIME entity with OpenSSL 3 CMS (see
 * smime.h).
 *
 * What it does: builds an EnvelopedData (AES-256-CBC, RFC 5652 section 6)
 * or AuthEnvelopedData (AES-256-GCM, RFC 5083, RFC 5084) with one
 * RecipientInfo per certificate: KeyTransRecipientInfo for RSA, PKCS#1 v1.5
 * or RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017, RFC 4055 section
 * 4.1); KeyAgreeRecipientInfo for EC, ephemeral-static ECDH with
 * dhSinglePass-stdDH-sha256kdf-scheme and AES-256 key wrap (RFC 5753
 * section 7.2 makes the SHA-256 KDF the one receivers MUST support;
 * OpenSSL's default would be SHA-1).  The structure is streamed (BER,
 * indefinite lengths, as CMS streaming requires; RFC 8551 section 3.1
 * accepts BER) through a small filter BIO of ours that base64-encodes into
 * 76-column lines ending in CRLF, so no copy of the message is ever held.
 *
 * What it trusts: the certificates were chosen by the caller (DNSSEC and
 * cert_can_encrypt decide elsewhere); here a key type CMS cannot encrypt to
 * is refused with a reason before OpenSSL is asked.  The entity's bytes are
 * encrypted as they are (CMS_BINARY: no line-end translation here).
 *
 * Failure: false and one line in `why`, OpenSSL's earliest queued error
 * (the root cause) with its extra data, escaped.  The calling thread's
 * OpenSSL error queue is cleared on entry and on return.
 *
 * Thread safety: everything is per call; the filter BIO_METHOD is created
 * once (pthread_once) and never changes afterwards.
 */
#include "smime.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"
#include "util/sslerr.h"

#define COPY_CHUNK     32768 /* entity bytes read from `in` at a time */
#define B64_IN_LINE    57    /* bytes per output line: 57 bytes make 76 base64 characters */
#define B64_LINE       78    /* 76 characters and CRLF */
#define B64_OUT_BUFFER 4992  /* 64 lines are written to `out` at a time */

static const struct smime_opts smime_defaults = {SMIME_AES256_CBC, SMIME_RSA_PKCS1};

/* ---- base64 in 76-column CRLF lines: a write-only filter BIO ------------------------- */

struct b64_lines {
	uint8_t in[B64_IN_LINE]; /* bytes waiting for a full line */
	size_t n_in;
	uint8_t out[B64_OUT_BUFFER]; /* complete lines not yet written to the next BIO */
	size_t n_out;
};

/* Write everything to the next BIO (blocking BIOs only: a short write is a failure). */
static bool
b64_drain(BIO *bio, struct b64_lines *st)
{
	BIO *next = BIO_next(bio);
	size_t off = 0, w;

	while (off < st->n_out) {
		if (next == NULL || !BIO_write_ex(next, st->out + off, st->n_out - off, &w) ||
		    w == 0) {
			ERR_raise_data(ERR_LIB_BIO, BIO_R_TRANSFER_ERROR,
			               "cannot write the encrypted message");
			return false;
		}
		off += w;
	}
	st->n_out = 0;
	return true;
}

/* Encode st->in (a full line, or the last partial one) into st->out. */
static bool
b64_line(BIO *bio, struct b64_lines *st)
{
	int n;

	if (st->n_out + B64_LINE > sizeof(st->out) && !b64_drain(bio, st))
		return false;
	n = EVP_EncodeBlock(st->out + st->n_out, st->in, (int)st->n_in);
	st->n_out += (size_t)n;
	st->out[st->n_out++] = '\r';
	st->out[st->n_out++] = '\n';
	st->n_in = 0;
	return true;
}

static int
b64_bio_write(BIO *bio, const char *data, size_t dlen, size_t *written)
{
	struct b64_lines *st = BIO_get_data(bio);
	size_t done = 0, take;

	*written = 0;
	if (st == NULL)
		return 0;
	while (done < dlen) {
		take = B64_IN_LINE - st->n_in;
		if (take > dlen - done)
			take = dlen - done;
		memcpy(st->in + st->n_in, data + done, take);
		st->n_in += take;
		done += take;
		if (st->n_in == B64_IN_LINE && !b64_line(bio, st))
			return 0;
	}
	*written = dlen;
	return 1;
}

static long
b64_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct b64_lines *st = BIO_get_data(bio);
	BIO *next = BIO_next(bio);

	if (cmd == BIO_CTRL_FLUSH) {
		if (st == NULL || (st->n_in > 0 && !b64_line(bio, st)) || !b64_drain(bio, st))
			return 0;
		return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 1;
	}
	if (cmd == BIO_CTRL_WPENDING && st != NULL)
		return (long)(st->n_in + st->n_out);
	return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0;
}

static int
b64_bio_create(BIO *bio)
{
	BIO_set_data(bio, xcalloc(1, sizeof(struct b64_lines)));
	BIO_set_init(bio, 1);
	return 1;
}

static int
b64_bio_destroy(BIO *bio)
{
	free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

static BIO_METHOD *b64_method;
static pthread_once_t b64_method_once = PTHREAD_ONCE_INIT;

static void
b64_method_init(void)
{
	BIO_METHOD *meth;
	int type = BIO_get_new_index();

	if (type == -1 ||
	    (meth = BIO_meth_new(type | BIO_TYPE_FILTER, "danemail base64 CRLF lines")) == NULL)
		return;
	if (!BIO_meth_set_write_ex(meth, b64_bio_write) || !BIO_meth_set_ctrl(meth, b64_bio_ctrl) ||
	    !BIO_meth_set_create(meth, b64_bio_create) ||
	    !BIO_meth_set_destroy(meth, b64_bio_destroy)) {
		BIO_meth_free(meth);
		return;
	}
	b64_method = meth;
}

/* ---- recipients ---------------------------------------------------------------------- */

/* Add one recipient; false and a reason (numbered from 1) if it cannot be. */
static bool
recipient_add(CMS_ContentInfo *cms, X509 *cert, size_t idx, const struct smime_opts *opts,
              struct why *why)
{
	char what[64];
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx;
	CMS_RecipientInfo *ri;
	int type;

	snprintf(what, sizeof(what), "recipient %zu", idx + 1);
	if (cert == NULL)
		return why_set(why, "%s: no certificate", what);
	if ((pkey = X509_get0_pubkey(cert)) == NULL)
		return why_openssl(why, "cannot read the certificate's key");
	type = EVP_PKEY_get_base_id(pkey);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
		return why_set(why, "%s: cannot encrypt to key type %s (RSA or EC needed)", what,
		               OBJ_nid2sn(type) != NULL ? OBJ_nid2sn(type) : "unknown");
	/* CMS_KEY_PARAM: leave the key's context open so that its parameters can be set */
	if ((ri = CMS_add1_recipient_cert(cms, cert, CMS_KEY_PARAM)) == NULL)
		return why_openssl(why, what);
	if ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL)
		return why_openssl(why, what);
	if (type == EVP_PKEY_RSA && opts->padding == SMIME_RSA_OAEP) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
			return why_openssl(why, what);
	} else if (type == EVP_PKEY_EC) {
		if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0)
			return why_openssl(why, what);
	}
	return true;
}

/* ---- encryption ---------------------------------------------------------------------- */

/* Write all n bytes into the CMS stream. */
static bool
stream_write(BIO *cmsbio, const uint8_t *p, size_t n)
{
	size_t w;

	while (n > 0) {
		if (!BIO_write_ex(cmsbio, p, n, &w) || w == 0)
			return false;
		p += w;
		n -= w;
	}
	return true;
}

/* Copy `in` to the CMS stream until its end; false on a read or write error. */
static bool
stream_copy(BIO *in, BIO *cmsbio, struct why *why)
{
	uint8_t *chunk = xmalloc(COPY_CHUNK);
	bool ok = false, any = false;
	int n;

	for (;;) {
		n = BIO_read(in, chunk, COPY_CHUNK);
		if (n > 0) {
			if (!stream_write(cmsbio, chunk, (size_t)n)) {
				why_openssl(why, "cannot encrypt");
				break;
			}
			any = true;
			continue;
		}
		/* 0: end; -1 at the end of a memory BIO (which asks to retry); else an error */
		if (n == 0 || BIO_eof(in)) {
			/*
			 * An entity has at least the blank line ending its (maybe empty)
			 * header; and with no content at all OpenSSL 3.0 cannot finish a
			 * streamed AuthEnvelopedData (GCM writes nothing, so the CMS
			 * header is never started).
			 */
			ok = any || why_set(why, "the entity is empty");
			break;
		}
		why_openssl(why, "cannot read the entity");
		break;
	}
	free(chunk);
	return ok;
}

bool
smime_encrypt(BIO *in, X509 *const *certs, size_t n_certs, const struct smime_opts *opts, BIO *out,
              struct why *why)
{
	const unsigned int flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM;
	CMS_ContentInfo *cms = NULL;
	BIO *b64 = NULL, *cmsbio = NULL, *next;
	bool ok = false;
	size_t i;

	if (opts == NULL)
		opts = &smime_defaults;
	if (in == NULL || out == NULL)
		return why_set(why, "no entity or no output");
	if (certs == NULL || n_certs == 0)
		return why_set(why, "no recipient certificates");
	ERR_clear_error();
	if (pthread_once(&b64_method_once, b64_method_init) != 0 || b64_method == NULL)
		return why_set(why, "cannot create the base64 BIO method");

	/* an AEAD cipher makes CMS_encrypt build AuthEnvelopedData (OpenSSL 3.0 and later) */
	cms = CMS_encrypt(NULL, NULL,
	                  opts->cipher == SMIME_AES256_GCM ? EVP_aes_256_gcm() : EVP_aes_256_cbc(),
	                  flags);
	if (cms == NULL) {
		why_openssl(why, "cannot create the CMS structure");
		goto done;
	}
	for (i = 0; i < n_certs; i++)
		if (!recipient_add(cms, certs[i], i, opts, why))
			goto done;
	if ((b64 = BIO_new(b64_method)) == NULL) {
		why_openssl(why, "cannot create the base64 BIO");
		goto done;
	}
	BIO_push(b64, out);
	/* the content key is made and wrapped for every recipient here */
	if ((cmsbio = BIO_new_CMS(b64, cms)) == NULL) {
		why_openssl(why, "cannot start the encryption");
		goto done;
	}
	if (!stream_copy(in, cmsbio, why))
		goto done;
	/* the flush ends the content, writes the GCM tag and the last base64 line */
	if (BIO_flush(cmsbio) <= 0) {
		why_openssl(why, "cannot finish the encryption");
		goto done;
	}
	ok = true;
done:
	/* free the chain BIO_new_CMS built, down to (not including) our base64 BIO */
	while (cmsbio != NULL && cmsbio != b64) {
		next = BIO_pop(cmsbio);
		BIO_free(cmsbio);
		cmsbio = next;
	}
	if (b64 != NULL) {
		BIO_pop(b64); /* let go of `out`, which is the caller's */
		BIO_free(b64);
	}
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

const char *
smime_content_type(const struct smime_opts *opts)
{
	if (opts != NULL && opts->cipher == SMIME_AES256_GCM)
		return "application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"";
	return "application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"";
}
