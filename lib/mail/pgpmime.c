/*
 * pgpmime.c - PGP/MIME encryption of a MIME entity with librnp (see
 * pgpmime.h).
 *
 * What it does: encrypts the entity read from a BIO into one OpenPGP message
 * (RFC 4880 section 11.3: one Public-Key Encrypted Session Key packet per
 * recipient key, then a Symmetrically Encrypted Integrity Protected Data
 * packet, AES-256, holding a binary Literal Data packet), ASCII-armoured
 * (RFC 4880 section 6.2), and writes it as the body of a multipart/encrypted
 * message (RFC 3156 section 4, RFC 1847 section 2.2): a preamble line, the
 * application/pgp-encrypted part with "Version: 1", the
 * application/octet-stream part with the armour, the close delimiter.  The
 * entity is streamed in (rnp_input_from_callback) and the armour streamed out
 * (rnp_output_to_callback) through a small filter that makes every line end
 * CRLF and writes to `out` in large blocks, so no copy of the message is held.
 *
 * Choices: no compression.  Deflate would cost CPU on every message, and
 * compressing before encrypting makes the ciphertext's length depend on the
 * content (a side channel when attacker-chosen and secret text share a
 * message); librnp's FFI default is none as well.  No AEAD: SEIPD with MDC,
 * which every OpenPGP implementation reads (librnp 0.16's AEAD packets are a
 * draft RFC 4880bis format GnuPG 2.2 cannot read).  Literal packet: binary,
 * no file name, date 0.
 *
 * What it trusts: the keys were judged by the caller (pgpkey_check); here
 * each key's encryption (sub)key is the one pgpkey chooses
 * (pgpkey_encryption_key), and librnp refuses it again if it does not think
 * it fit to encrypt.  The entity's bytes are encrypted as they are.
 *
 * Design (measured with bench/bench_pgp.c): the keys are not imported into a
 * new librnp context per call.  An import makes librnp verify every
 * self-signature again, which with librnp 0.16 on Botan 2.19 costs more than
 * the encryption: bare librnp with an import per call takes about 0.6 ms of
 * CPU per message to a Curve25519 key and 2.6 ms to an RSA-3072 key, this
 * file 0.2 ms and 0.9 ms.  Instead each call makes a fresh context that holds
 * everything an encryption changes (its random generator, the operation, the
 * streams), and the recipients' (sub)keys are taken from the contexts
 * pgpkey_parse built and checked.  librnp encrypts to a key of another
 * context: it only reads it (usage, validity, material, fingerprint).
 *
 * Failure: false and one line in `why`.  librnp never learns of a failure
 * of ours (see struct stream): its Debian 0.16 build is a debug build that
 * logs every stream error to stderr, which no caller could silence.  A read
 * error on `in` fails the encryption with OpenSSL's earliest queued error
 * (never a truncated message).  The calling thread's OpenSSL error queue is
 * cleared on entry and on return; librnp's context log goes to /dev/null.
 *
 * Thread safety: no shared state of our own; every call has its own librnp
 * context.  The keys are only read (librnp look-ups), but pgpkey's rule
 * still holds: a key must not be used by another thread during a call.
 */
#include "pgpmime.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"
#include "util/sslerr.h"

#define OUT_BUFFER     16384 /* output bytes gathered before a write to `out` */
#define BOUNDARY_BYTES 16    /* random bytes in a boundary (32 hex digits) */
#define BOUNDARY_LIMIT 70    /* RFC 2046 section 5.1.1: 1 to 70 characters */

#define BOUNDARY_PREFIX "=_danemail.pgp."

_Static_assert(sizeof(BOUNDARY_PREFIX) + 2 * BOUNDARY_BYTES <= PGPMIME_BOUNDARY_MAX,
               "a boundary fits PGPMIME_BOUNDARY_MAX");

#define PREAMBLE "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"

/* ---- reasons -------------------------------------------------------------------------- */

/* ---- the streams librnp reads and writes ------------------------------------------------ */

/*
 * One encryption's streams.  librnp is told of no failure of ours: a read
 * error ends its input and a write error swallows the rest of its output, so
 * that it finishes without a word on stderr (its debug build logs every
 * stream error there) and pgpmime_encrypt fails afterwards with our reason.
 * Once either happened nothing more reaches `out`, and the input is not read
 * on: `out` never holds a complete-looking truncated message.
 */
struct stream {
	BIO *in;
	BIO *out;
	bool in_end;
	bool in_failed;
	bool out_failed;
	struct why in_why; /* why reading failed */
	bool prev_cr;      /* the last byte taken was CR */
	bool at_bol;       /* the last byte taken ended a line (or nothing was taken) */
	size_t n;          /* bytes in buf */
	uint8_t buf[OUT_BUFFER];
};

/* rnp_input_reader_t: up to len entity bytes; *got 0 at the end (or after a failure). */
static bool
entity_read(void *ctx, void *buf, size_t len, size_t *got)
{
	struct stream *s = ctx;
	int n;

	*got = 0;
	if (s->in_end || s->in_failed || s->out_failed || len == 0)
		return true;
	n = BIO_read(s->in, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0) {
		*got = (size_t)n;
		return true;
	}
	/* 0: end; -1 at the end of a memory BIO (which asks to retry); else an error */
	if (n == 0 || BIO_eof(s->in)) {
		s->in_end = true;
		return true;
	}
	s->in_failed = true;
	why_openssl(&s->in_why, "cannot read the entity");
	return true;
}

/* Write the gathered bytes to `out` (blocking BIOs only: a short write is a failure). */
static bool
stream_drain(struct stream *s)
{
	size_t off = 0, done = 0;

	while (off < s->n && !s->out_failed) {
		if (!BIO_write_ex(s->out, s->buf + off, s->n - off, &done) || done == 0)
			s->out_failed = true;
		off += done;
	}
	s->n = 0;
	return !s->out_failed;
}

static void
stream_putc(struct stream *s, uint8_t c)
{
	if (s->n == sizeof(s->buf))
		stream_drain(s);
	s->buf[s->n++] = c;
}

/* Take n bytes, turning a LF not preceded by CR into CRLF; false once writing failed. */
static bool
stream_put(struct stream *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		const uint8_t *lf = memchr(p, '\n', n);
		size_t run = lf != NULL ? (size_t)(lf - p) : n, take;

		while (run > 0) {
			if (s->n == sizeof(s->buf))
				stream_drain(s);
			take = sizeof(s->buf) - s->n;
			if (take > run)
				take = run;
			memcpy(s->buf + s->n, p, take);
			s->n += take;
			s->prev_cr = p[take - 1] == '\r';
			s->at_bol = false;
			p += take;
			n -= take;
			run -= take;
		}
		if (lf == NULL)
			break;
		if (!s->prev_cr)
			stream_putc(s, '\r');
		stream_putc(s, '\n');
		s->prev_cr = false;
		s->at_bol = true;
		p++;
		n--;
	}
	return !s->out_failed;
}

static bool
stream_puts(struct stream *s, const char *str)
{
	return stream_put(s, (const uint8_t *)str, strlen(str));
}

/* rnp_output_writer_t: the armour, as librnp produces it (dropped after a failure). */
static bool
armour_write(void *ctx, const void *buf, size_t len)
{
	struct stream *s = ctx;

	if (!s->in_failed && !s->out_failed)
		stream_put(s, buf, len);
	return true;
}

/* ---- encryption ------------------------------------------------------------------------ */

/* Whether s can be a boundary: RFC 2046 section 5.1.1 bchars, 1 to 70, no space at the end. */
static bool
boundary_valid(const char *s)
{
	static const char other[] = "'()+_,-./:=? ";
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(other, c) != NULL))
			return false;
	}
	return n >= 1 && n <= BOUNDARY_LIMIT && s[n - 1] != ' ';
}

/*
 * Add every key's encryption (sub)key to op; handles[] receives them (the
 * caller destroys them after the operation).  False and a reason (numbered
 * from 1) if a key has none or librnp refuses it.
 */
static bool
recipients_add(rnp_op_encrypt_t op, const struct pgpkey *const *keys, size_t n_keys,
               rnp_key_handle_t *handles, struct why *why)
{
	time_t now = time(NULL);
	rnp_result_t rc;
	size_t i;

	for (i = 0; i < n_keys; i++) {
		if (keys[i] == NULL)
			return why_set(why, "recipient %zu: no key", i + 1);
		if ((handles[i] = pgpkey_encryption_key(keys[i], now)) == NULL)
			return why_set(why,
			               "recipient %zu: no valid, unexpired, unrevoked key that may "
			               "encrypt",
			               i + 1);
		if ((rc = rnp_op_encrypt_add_recipient(op, handles[i])) != RNP_SUCCESS)
			return why_set(why, "recipient %zu: the key cannot encrypt (%s)", i + 1,
			               rnp_result_to_string(rc));
	}
	return true;
}

/* Set the message's form: AES-256, SEIPD with MDC, no compression, armoured. */
static bool
op_configure(rnp_op_encrypt_t op, struct why *why)
{
	if (rnp_op_encrypt_set_cipher(op, "AES256") != RNP_SUCCESS ||
	    rnp_op_encrypt_set_aead(op, "None") != RNP_SUCCESS ||
	    rnp_op_encrypt_set_compression(op, "Uncompressed", 0) != RNP_SUCCESS ||
	    rnp_op_encrypt_set_armor(op, true) != RNP_SUCCESS ||
	    rnp_op_encrypt_set_file_name(op, "") != RNP_SUCCESS ||
	    rnp_op_encrypt_set_file_mtime(op, 0) != RNP_SUCCESS)
		return why_set(why, "cannot set the encryption parameters");
	return true;
}

/* The multipart/encrypted body up to the armour (RFC 3156 section 4). */
static bool
body_start(struct stream *s, const char *boundary)
{
	return stream_puts(s, PREAMBLE "--") && stream_puts(s, boundary) &&
	       stream_puts(s, "\r\n"
	                      "Content-Type: application/pgp-encrypted\r\n"
	                      "Content-Description: PGP/MIME version identification\r\n"
	                      "\r\n"
	                      "Version: 1\r\n"
	                      "\r\n"
	                      "--") &&
	       stream_puts(s, boundary) &&
	       stream_puts(s, "\r\n"
	                      "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
	                      "Content-Description: OpenPGP encrypted message\r\n"
	                      "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
	                      "\r\n");
}

/* The close delimiter after the armour, and the last write. */
static bool
body_finish(struct stream *s, const char *boundary)
{
	/* the delimiter's CRLF belongs to the delimiter: the armour keeps its own line end */
	return (s->at_bol || stream_puts(s, "\r\n")) && stream_puts(s, "\r\n--") &&
	       stream_puts(s, boundary) && stream_puts(s, "--\r\n") && stream_drain(s);
}

bool
pgpmime_encrypt(BIO *in, const struct pgpkey *const *keys, size_t n_keys, const char *boundary,
                BIO *out, struct why *why)
{
	struct stream *s = NULL;
	rnp_key_handle_t *handles = NULL;
	rnp_ffi_t ffi = NULL;
	rnp_input_t input = NULL;
	rnp_output_t output = NULL;
	rnp_op_encrypt_t op = NULL;
	rnp_result_t rc = RNP_SUCCESS;
	bool ok = false;
	size_t i;

	if (in == NULL || out == NULL)
		return why_set(why, "no entity or no output");
	if (keys == NULL || n_keys == 0)
		return why_set(why, "no recipient keys");
	if (!boundary_valid(boundary))
		return why_set(why, "not a valid MIME boundary");
	ERR_clear_error();
	s = xcalloc(1, sizeof(*s));
	s->in = in;
	s->out = out;
	s->at_bol = true;
	handles = xcalloc(n_keys, sizeof(*handles));

	if ((ffi = pgpkey_ffi_new(why)) == NULL)
		goto done;
	if (rnp_input_from_callback(&input, entity_read, NULL, s) != RNP_SUCCESS ||
	    rnp_output_to_callback(&output, armour_write, NULL, s) != RNP_SUCCESS ||
	    rnp_op_encrypt_create(&op, ffi, input, output) != RNP_SUCCESS) {
		why_set(why, "cannot set up the encryption");
		goto done;
	}
	if (!recipients_add(op, keys, n_keys, handles, why) || !op_configure(op, why))
		goto done;
	if (body_start(s, boundary))
		rc = rnp_op_encrypt_execute(op);
	/* our own failures first: librnp never hears of them (see struct stream) */
	if (s->in_failed)
		why_set(why, "%s", s->in_why.msg);
	else if (s->out_failed)
		why_set(why, "cannot write the encrypted message");
	else if (rc != RNP_SUCCESS)
		why_set(why, "cannot encrypt (%s)", rnp_result_to_string(rc));
	else if (!body_finish(s, boundary))
		why_set(why, "cannot write the encrypted message");
	else
		ok = true;
done:
	rnp_op_encrypt_destroy(op);
	rnp_input_destroy(input);
	rnp_output_destroy(output);
	for (i = 0; i < n_keys; i++)
		rnp_key_handle_destroy(handles[i]);
	free(handles);
	rnp_ffi_destroy(ffi);
	free(s);
	ERR_clear_error();
	return ok;
}

void
pgpmime_boundary(char out[PGPMIME_BOUNDARY_MAX])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[BOUNDARY_BYTES];
	char *p;
	size_t i;

	/* "=_" and "." never occur in base64 armour lines, nor "=_" in the armour's header lines */
	if (RAND_bytes(r, (int)sizeof(r)) != 1)
		util_panic("pgpmime: the random generator failed");
	memcpy(out, BOUNDARY_PREFIX, sizeof(BOUNDARY_PREFIX) - 1);
	p = out + sizeof(BOUNDARY_PREFIX) - 1;
	for (i = 0; i < sizeof(r); i++) {
		*p++ = hex[r[i] >> 4];
		*p++ = hex[r[i] & 0x0f];
	}
	*p = '\0';
}

void
pgpmime_content_type(char *out, size_t size, const char *boundary)
{
	if (size == 0)
		return;
	snprintf(out, size,
	         "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"%s\"",
	         boundary != NULL ? boundary : "");
}
