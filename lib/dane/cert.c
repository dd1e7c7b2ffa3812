/*
 * cert.c - X.509 certificates for TLSA and SMIMEA records, with OpenSSL 3
 * (see cert.h).
 *
 * What it does: parses one certificate (DER from DNS, or a PEM/DER file from
 * a user), describes it (names, key, validity, key usages, fingerprint),
 * decides whether its key may encrypt S/MIME mail, and computes the
 * association data a TLSA/SMIMEA record carries.
 *
 * What it trusts: OpenSSL's DER decoder and nothing in the certificate.
 * Names and SANs are escaped before they leave this file, input size is
 * bounded for files, trailing bytes after a DER certificate are an error, and
 * a file holding a private key is refused with a reason that says so.  No
 * path validation happens here: DANE-EE (usage 3) certificates are trusted
 * by their DNSSEC-signed association alone (RFC 7671 section 5.1).
 *
 * RFCs: RFC 6698 section 2.1.2 (selector: 0 full certificate, 1
 * SubjectPublicKeyInfo) and section 2.1.3 (matching type: 0 exact, 1
 * SHA2-256, 2 SHA2-512), RFC 8162 (SMIMEA reuses the TLSA data), RFC 5280
 * section 4.2.1.3 (keyUsage), 4.2.1.6 (subjectAltName rfc822Name and
 * dNSName), 4.2.1.12 (extendedKeyUsage, emailProtection), RFC 8398 section 3
 * (SmtpUTF8Mailbox for internationalised addresses), RFC 8551/8550 (S/MIME
 * encryption uses key transport for RSA and key agreement for EC keys).
 */
#include "cert.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dns/owner.h"
#include "util/alloc.h"
#include "util/codec.h"
#include "util/escape.h"

/* A certificate file larger than this is not a certificate (and not read to the end). */
#define CERT_FILE_MAX (1024 * 1024)

/* The latest queued OpenSSL error as text ("" if none); the queue is emptied. */
static const char *
ssl_error(char *dst, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	dst[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, dst, size);
	ERR_clear_error();
	return dst;
}

/* Parse one DER certificate; `what` opens the reason when the bytes are no certificate at all. */
static X509 *
der_parse(const uint8_t *der, size_t len, const char *what, struct why *why)
{
	const unsigned char *p = der;
	char err[160];
	X509 *cert;

	if (der == NULL || len == 0) {
		why_set(why, "empty certificate");
		return NULL;
	}
	if (len > LONG_MAX) {
		why_set(why, "certificate too large");
		return NULL;
	}
	cert = d2i_X509(NULL, &p, (long)len);
	if (cert == NULL) {
		why_set(why, "%s: %s", what, ssl_error(err, sizeof(err)));
		return NULL;
	}
	if (p != der + len) {
		why_set(why, "trailing bytes after the DER certificate (%zu)",
		        len - (size_t)(p - der));
		X509_free(cert);
		return NULL;
	}
	ERR_clear_error();
	return cert;
}

X509 *
cert_from_der(const uint8_t *der, size_t len, struct why *why)
{
	return der_parse(der, len, "not a DER certificate", why);
}

/* Read a whole file of at most CERT_FILE_MAX bytes into out. */
static bool
file_read(const char *path, struct buf *out, struct why *why)
{
	uint8_t chunk[8192];
	FILE *fp;
	size_t n;
	bool ok = true;

	if ((fp = fopen(path, "rb")) == NULL)
		return why_set(why, "cannot open: %s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (out->len + n > CERT_FILE_MAX) {
			ok = why_set(why, "larger than %d bytes: not a certificate", CERT_FILE_MAX);
			break;
		}
		buf_append(out, chunk, n);
	}
	if (ok && ferror(fp))
		ok = why_set(why, "cannot read: %s", strerror(errno));
	fclose(fp);
	return ok;
}

/* Whether text holds a PEM private key block of any flavour (PKCS#8, RSA, EC, encrypted...). */
static bool
pem_has_private_key(const struct buf *text)
{
	const char *s = buf_str(text); /* PEM is text: a NUL byte ends the search */

	return strstr(s, "-----BEGIN") != NULL && strstr(s, "PRIVATE KEY-----") != NULL;
}

/* The first (or last) certificate of a PEM text; NULL and a reason if there is none. */
static X509 *
cert_from_pem(const struct buf *text, bool last, struct why *why)
{
	char err[160];
	BIO *bio;
	X509 *cert, *next;

	if (text->len > INT_MAX) {
		why_set(why, "too large");
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(text->data, (int)text->len)) == NULL)
		util_panic("BIO_new_mem_buf: out of memory");
	/* PEM_read_bio_X509 skips blocks of other types until a CERTIFICATE block */
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	while (last && cert != NULL && (next = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(cert);
		cert = next;
	}
	BIO_free(bio);
	if (cert != NULL) {
		ERR_clear_error();
		return cert;
	}
	ssl_error(err, sizeof(err));
	if (pem_has_private_key(text))
		why_set(why, "file holds a private key, not a certificate");
	else
		why_set(why, "no readable certificate in the PEM text%s%s", err[0] ? ": " : "",
		        err);
	return NULL;
}

/* Whether der is a DER private key (so that the reason can say so). */
static bool
der_is_private_key(const struct buf *der)
{
	const unsigned char *p = der->data;
	EVP_PKEY *pkey;

	if (der->len > LONG_MAX)
		return false;
	pkey = d2i_AutoPrivateKey(NULL, &p, (long)der->len);
	ERR_clear_error();
	if (pkey == NULL)
		return false;
	EVP_PKEY_free(pkey);
	return true;
}

static X509 *
cert_load(const char *path, bool last, struct why *why)
{
	struct buf data = BUF_INIT, esc = BUF_INIT;
	X509 *cert = NULL;

	if (!file_read(path, &data, why))
		goto fail;
	if (data.len == 0) {
		why_set(why, "empty file");
		goto fail;
	}
	if (memmem(data.data, data.len, "-----BEGIN", 10) != NULL) {
		if ((cert = cert_from_pem(&data, last, why)) == NULL)
			goto fail;
	} else if ((cert = der_parse(data.data, data.len, "neither a PEM nor a DER certificate",
	                             why)) == NULL) {
		if (der_is_private_key(&data))
			why_set(why, "file holds a private key, not a certificate");
		goto fail;
	}
	buf_release(&data);
	return cert;
fail:
	why_prefix(why, "%s", escape_str(&esc, path));
	buf_release(&esc);
	buf_release(&data);
	return NULL;
}

X509 *
cert_load_file(const char *path, struct why *why)
{
	return cert_load(path, false, why);
}

X509 *
cert_load_file_last(const char *path, struct why *why)
{
	return cert_load(path, true, why);
}

/* Copy src into a fixed field; if it does not fit, cut at a comma and end with "...". */
static void
field_set(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	const char *cut;

	if (n < size) {
		memcpy(dst, src, n + 1);
		return;
	}
	memcpy(dst, src, size - 4);
	dst[size - 4] = '\0';
	if ((cut = strrchr(dst, ',')) != NULL)
		dst[cut - dst + 1] = '\0';
	strcat(dst, "...");
}

/* An X.509 name in RFC 2253 one-line form, escaped, in a fresh string. */
static char *
name_string(const X509_NAME *name)
{
	struct buf out = BUF_INIT;
	BIO *bio = BIO_new(BIO_s_mem());
	char *mem = NULL;
	long n;

	if (bio == NULL)
		util_panic("BIO_new: out of memory");
	if (name != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &mem);
		if (n > 0)
			escape_append(&out, mem, (size_t)n, 0);
	}
	BIO_free(bio);
	return (char *)buf_steal(&out, NULL);
}

/* Append an escaped copy of an ASN.1 string to a NULL-terminated list. */
static void
list_add(char ***list, size_t *n, const ASN1_STRING *s)
{
	struct buf out = BUF_INIT;

	escape_append(&out, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), 0);
	*list = xreallocarray(*list, *n + 2, sizeof(**list));
	(*list)[(*n)++] = (char *)buf_steal(&out, NULL);
	(*list)[*n] = NULL;
}

/*
 * The mailbox a SAN entry names: an rfc822Name, or an SmtpUTF8Mailbox
 * otherName (RFC 8398 section 3); NULL for any other kind of name.
 */
static const ASN1_STRING *
san_mailbox(const GENERAL_NAME *gn)
{
	const OTHERNAME *other;

	if (gn->type == GEN_EMAIL)
		return gn->d.rfc822Name;
	if (gn->type != GEN_OTHERNAME)
		return NULL;
	other = gn->d.otherName;
	if (OBJ_obj2nid(other->type_id) != NID_id_on_SmtpUTF8Mailbox || other->value == NULL ||
	    other->value->type != V_ASN1_UTF8STRING)
		return NULL;
	return other->value->value.utf8string;
}

/* time_t of an ASN.1 time (0 if it cannot be read). */
static time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* keyUsage bits in the order of RFC 5280 section 4.2.1.3. */
static const struct {
	uint32_t bit;
	const char *name;
} key_usage_names[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"},
        {KU_NON_REPUDIATION, "nonRepudiation"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
        {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"},
        {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"},
        {KU_ENCIPHER_ONLY, "encipherOnly"},
        {KU_DECIPHER_ONLY, "decipherOnly"},
};

/* Whether the certificate carries an extension, decodable or not. */
static bool
has_extension(const X509 *cert, int nid)
{
	return X509_get_ext_by_NID(cert, nid, -1) >= 0;
}

static void
key_usage_string(X509 *cert, char *dst, size_t size)
{
	struct buf out = BUF_INIT;
	uint32_t ku;
	size_t i;

	/* the flags say whether a keyUsage was found and decoded */
	if (X509_get_extension_flags(cert) & EXFLAG_KUSAGE) {
		ku = X509_get_key_usage(cert);
		for (i = 0; i < sizeof(key_usage_names) / sizeof(key_usage_names[0]); i++) {
			if (ku & key_usage_names[i].bit)
				buf_printf(&out, "%s%s", out.len ? "," : "",
				           key_usage_names[i].name);
		}
	} else if (has_extension(cert, NID_key_usage)) {
		buf_puts(&out, "(malformed)");
	}
	field_set(dst, size, buf_str(&out));
	buf_release(&out);
}

static void
ext_key_usage_string(X509 *cert, char *dst, size_t size)
{
	struct buf out = BUF_INIT;
	EXTENDED_KEY_USAGE *eku;
	char oid[80];
	int i;

	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	if (eku != NULL) {
		for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
			const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
			int nid = OBJ_obj2nid(obj);

			if (nid != NID_undef)
				snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(nid));
			else if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
				snprintf(oid, sizeof(oid), "?");
			buf_printf(&out, "%s%s", out.len ? "," : "", oid);
		}
		EXTENDED_KEY_USAGE_free(eku);
	} else if (has_extension(cert, NID_ext_key_usage)) {
		buf_puts(&out, "(malformed)");
	}
	ERR_clear_error();
	field_set(dst, size, buf_str(&out));
	buf_release(&out);
}

/* Key type name of a public key, as cert.h lists them. */
static const char *
key_type_name(const EVP_PKEY *pkey)
{
	switch (pkey != NULL ? EVP_PKEY_get_base_id(pkey) : EVP_PKEY_NONE) {
	case EVP_PKEY_RSA:
		return "RSA";
	case EVP_PKEY_RSA_PSS:
		return "RSA-PSS";
	case EVP_PKEY_EC:
		return "EC";
	case EVP_PKEY_ED25519:
		return "Ed25519";
	case EVP_PKEY_ED448:
		return "Ed448";
	case EVP_PKEY_X25519:
		return "X25519";
	case EVP_PKEY_X448:
		return "X448";
	case EVP_PKEY_DSA:
		return "DSA";
	case EVP_PKEY_DH:
	case EVP_PKEY_DHX:
		return "DH";
	default:
		return "unknown";
	}
}

void
cert_info_get(struct cert_info *info, X509 *cert)
{
	GENERAL_NAMES *sans;
	EVP_PKEY *pkey;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *alg_obj = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct buf hex = BUF_INIT;
	int i, nid;

	memset(info, 0, sizeof(*info));
	info->subject = name_string(X509_get_subject_name(cert));
	info->issuer = name_string(X509_get_issuer_name(cert));

	info->emails = xcalloc(1, sizeof(*info->emails));
	info->dns_names = xcalloc(1, sizeof(*info->dns_names));
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		const ASN1_STRING *mailbox = san_mailbox(gn);

		if (mailbox != NULL)
			list_add(&info->emails, &info->n_emails, mailbox);
		else if (gn->type == GEN_DNS)
			list_add(&info->dns_names, &info->n_dns_names, gn->d.dNSName);
	}
	GENERAL_NAMES_free(sans);

	pkey = X509_get0_pubkey(cert);
	snprintf(info->key_type, sizeof(info->key_type), "%s", key_type_name(pkey));
	info->key_bits = pkey != NULL ? EVP_PKEY_get_bits(pkey) : 0;
	if (pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, info->curve,
	                                    sizeof(info->curve), NULL))
		info->curve[0] = '\0'; /* explicit curve parameters: no name */

	X509_get0_signature(NULL, &alg, cert);
	if (alg != NULL)
		X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
	nid = alg_obj != NULL ? OBJ_obj2nid(alg_obj) : NID_undef;
	if (nid != NID_undef)
		snprintf(info->sig_alg, sizeof(info->sig_alg), "%s", OBJ_nid2sn(nid));
	else if (alg_obj == NULL ||
	         OBJ_obj2txt(info->sig_alg, sizeof(info->sig_alg), alg_obj, 1) <= 0)
		snprintf(info->sig_alg, sizeof(info->sig_alg), "unknown");

	info->not_before = asn1_time_t(X509_get0_notBefore(cert));
	info->not_after = asn1_time_t(X509_get0_notAfter(cert));
	key_usage_string(cert, info->key_usage, sizeof(info->key_usage));
	ext_key_usage_string(cert, info->ext_key_usage, sizeof(info->ext_key_usage));

	if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1)
		hex_encode(&hex, md, md_len);
	snprintf(info->sha256_fpr, sizeof(info->sha256_fpr), "%s", buf_str(&hex));
	buf_release(&hex);
	ERR_clear_error();
}

void
cert_info_clear(struct cert_info *info)
{
	size_t i;

	free(info->subject);
	free(info->issuer);
	for (i = 0; info->emails != NULL && i < info->n_emails; i++)
		free(info->emails[i]);
	free(info->emails);
	for (i = 0; info->dns_names != NULL && i < info->n_dns_names; i++)
		free(info->dns_names[i]);
	free(info->dns_names);
	memset(info, 0, sizeof(*info));
}

bool
cert_has_email(X509 *cert, const char *address)
{
	GENERAL_NAMES *sans;
	bool found = false;
	int i;

	if (address == NULL)
		return false;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && !found && i < sk_GENERAL_NAME_num(sans); i++) {
		const ASN1_STRING *mailbox = san_mailbox(sk_GENERAL_NAME_value(sans, i));

		if (mailbox != NULL)
			found = owner_address_equal(ASN1_STRING_get0_data(mailbox),
			                            (size_t)ASN1_STRING_length(mailbox), address);
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	return found;
}

/* Whether an EC group name is one of the NIST curves S/MIME agents use (P-256, P-384, P-521). */
static bool
curve_allowed(const char *group)
{
	int nid = OBJ_sn2nid(group);

	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1;
}

enum cert_crypt
cert_can_encrypt(X509 *cert, struct why *why)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert);
	int type = pkey != NULL ? EVP_PKEY_get_base_id(pkey) : EVP_PKEY_NONE;
	uint32_t need, flags;
	char group[64];

	/*
	 * One row per rule, the key first: what the key is decides what the
	 * usage bits must say.
	 */
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
		/* Ed25519/Ed448/DSA/RSA-PSS only sign; X25519/X448 CMS is not supported here */
		why_set(why, "%s keys cannot encrypt S/MIME mail", key_type_name(pkey));
		return CERT_CRYPT_KEY_TYPE;
	}
	if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 2048) {
		why_set(why, "RSA key of %d bits, want at least 2048", EVP_PKEY_get_bits(pkey));
		return CERT_CRYPT_KEY_WEAK;
	}
	if (type == EVP_PKEY_EC) {
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), NULL)) {
			ERR_clear_error();
			why_set(why, "EC key on an unnamed curve, want P-256, P-384 or P-521");
			return CERT_CRYPT_KEY_WEAK;
		}
		if (!curve_allowed(group)) {
			struct buf esc = BUF_INIT;

			why_set(why, "EC key on curve %s, want P-256, P-384 or P-521",
			        escape_str(&esc, group));
			buf_release(&esc);
			return CERT_CRYPT_KEY_WEAK;
		}
	}

	/*
	 * Extensions: OpenSSL decodes them once; a keyUsage or extendedKeyUsage it
	 * cannot decode (or finds twice) marks the certificate invalid, and an
	 * unreadable restriction must not read as "no restriction".
	 */
	flags = X509_get_extension_flags(cert);
	if (flags & EXFLAG_INVALID) {
		why_set(why, "the certificate has malformed or repeated extensions");
		/* OpenSSL does not say which one: blame EKU only when it is the only suspect */
		if (has_extension(cert, NID_ext_key_usage) && !has_extension(cert, NID_key_usage))
			return CERT_CRYPT_EKU;
		return CERT_CRYPT_KEY_USAGE;
	}
	/* RFC 5280 section 4.2.1.3: RSA key transport needs keyEncipherment, ECDH keyAgreement */
	need = type == EVP_PKEY_RSA ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & need)) {
		why_set(why, "keyUsage lacks %s",
		        type == EVP_PKEY_RSA ? "keyEncipherment" : "keyAgreement");
		return CERT_CRYPT_KEY_USAGE;
	}
	/* RFC 5280 section 4.2.1.12: if EKU is present it must allow email protection */
	if ((flags & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(cert) & (XKU_SMIME | XKU_ANYEKU))) {
		why_set(why, "extendedKeyUsage lacks emailProtection");
		return CERT_CRYPT_EKU;
	}
	return CERT_CRYPT_OK;
}

const char *
cert_crypt_name(enum cert_crypt c)
{
	switch (c) {
	case CERT_CRYPT_OK:
		return "ok";
	case CERT_CRYPT_KEY_USAGE:
		return "key-usage";
	case CERT_CRYPT_EKU:
		return "eku";
	case CERT_CRYPT_KEY_TYPE:
		return "key-type";
	case CERT_CRYPT_KEY_WEAK:
		return "key-weak";
	}
	return "unknown";
}

bool
cert_association(X509 *cert, unsigned selector, unsigned mtype, struct buf *out, struct why *why)
{
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	const EVP_MD *alg;
	int len;

	/* RFC 6698 section 2.1.3 */
	switch (mtype) {
	case 0:
		alg = NULL;
		break;
	case 1:
		alg = EVP_sha256();
		break;
	case 2:
		alg = EVP_sha512();
		break;
	default:
		return why_set(why, "unknown matching type %u", mtype);
	}
	/* RFC 6698 section 2.1.2 */
	if (selector == 0)
		len = i2d_X509(cert, &der);
	else if (selector == 1)
		len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	else
		return why_set(why, "unknown selector %u", selector);
	if (len <= 0 || der == NULL) {
		ERR_clear_error();
		return why_set(why, "cannot encode the %s",
		               selector == 0 ? "certificate" : "public key");
	}
	if (alg == NULL) {
		buf_append(out, der, (size_t)len);
	} else if (EVP_Digest(der, (size_t)len, md, &md_len, alg, NULL) == 1) {
		buf_append(out, md, md_len);
	} else {
		OPENSSL_free(der);
		ERR_clear_error();
		return why_set(why, "cannot hash the association data");
	}
	OPENSSL_free(der);
	return true;
}
