/*
 * mime.h - the little MIME a mail filter needs (RFC 2045, RFC 2231):
 * parse a Content-Type value, and decide whether a message is already
 * encrypted (RFC 1847 multipart/encrypted, RFC 3156 PGP/MIME, RFC 8551
 * S/MIME enveloped or authEnveloped data, inline PGP armour).
 *
 * Header values come from untrusted mail: parsing is bounded, tolerant of
 * folding, comments and quoting, and never fails hard (a value it cannot
 * read is "unknown", which callers treat like text/plain per RFC 2045 5.2).
 */
#ifndef DANEMAIL_MAIL_MIME_H
#define DANEMAIL_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed Content-Type: lower-cased type and subtype, parameters in order. */
struct mime_param {
	char *name;  /* lower-cased attribute */
	char *value; /* unquoted value (RFC 2231 continuations joined, %XX of extended values
	                decoded; the charset'language' prefix kept as written) */
};

struct mime_ctype {
	char *type;    /* "multipart"; "text" when the value cannot be read */
	char *subtype; /* "encrypted"; "plain" when the value cannot be read */
	struct mime_param *params;
	size_t n_params;
	bool valid; /* false: the value was unreadable and the defaults apply */
};

/* Parse a Content-Type header value (folded or not); always fills *ct.  NULL (no field) or an
 * unreadable value gives valid=false, text/plain and no parameters. */
void mime_ctype_parse(struct mime_ctype *ct, const char *value);
/* The value of parameter `name` (case-insensitive), or NULL. */
const char *mime_ctype_param(const struct mime_ctype *ct, const char *name);
/* Free what the parse allocated; NULL is fine. */
void mime_ctype_clear(struct mime_ctype *ct);

enum mime_encryption {
	MIME_CLEAR,      /* not encrypted: may be encrypted by us */
	MIME_PGP_MIME,   /* multipart/encrypted (RFC 1847 / RFC 3156) */
	MIME_SMIME,      /* application/(x-)pkcs7-mime, enveloped-data or authEnveloped-data */
	MIME_INLINE_PGP, /* text body that is one armoured -----BEGIN PGP MESSAGE----- */
};
/* "clear", "pgp-mime", "smime", "inline-pgp". */
const char *mime_encryption_name(enum mime_encryption e);

/*
 * Is the message already encrypted?  content_type is the top-level
 * Content-Type value (NULL when absent); head and tail are the first and
 * the last bytes of the body (a few KB each; the same bytes for a short
 * body).  S/MIME: smime-type enveloped-data or authEnveloped-data, or
 * without smime-type a body that starts with such a CMS content type (the
 * .p7m name alone proves nothing: RFC 8551 3.2.2 gives it to signed-data
 * too).  Inline PGP: a text body that is one armoured PGP MESSAGE, from its
 * first line to its last.  Signed-only messages (multipart/signed,
 * smime-type=signed-data) are CLEAR.
 */
enum mime_encryption mime_detect_encryption(const char *content_type, const uint8_t *head,
                                            size_t head_len, const uint8_t *tail, size_t tail_len);

/* Whether a header name is one of the MIME content headers (Content-*, case-insensitive) that
 * belong to the entity. */
bool mime_is_content_header(const char *name);

#endif
