/*
 * message.h - one mail message as a filter sees it: header fields in order
 * and a body that stays in memory up to a threshold, then spills to a
 * private temporary file (mkstemp, mode 0600, unlinked at once) so large
 * messages do not cost RAM.
 *
 * It builds the MIME entity that encryption wraps (RFC 8551 3.1: the
 * Content-* header fields, a blank line, the body; line ends made CRLF) and
 * reads it back as an OpenSSL BIO.  Message content is never logged.
 */
#ifndef DANEMAIL_MAIL_MESSAGE_H
#define DANEMAIL_MAIL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>

#include "util/why.h"

struct message_header {
	char *name;
	char *value; /* as received (folding kept; the MTA's line ends) */
};

struct message;

/*
 * A new, empty message.  Bodies larger than spool_threshold bytes move to a
 * temporary file in tmpdir (NULL: $TMPDIR or /tmp).
 */
struct message *message_new(size_t spool_threshold, const char *tmpdir);
/* Free, closing and so deleting any spool file; NULL is fine; returns NULL. */
struct message *message_free(struct message *m);

/* Add a header field (in arrival order). */
void message_add_header(struct message *m, const char *name, const char *value);
/* Number of header fields and the i-th one. */
size_t message_header_count(const struct message *m);
const struct message_header *message_header_at(const struct message *m, size_t i);
/* The value of the first field named `name` (case-insensitive), or NULL. */
const char *message_header_get(const struct message *m, const char *name);

/* Append body bytes; false (and a reason) if the spool file cannot be written. */
bool message_append_body(struct message *m, const uint8_t *p, size_t n, struct why *why);
/* Bytes of body so far. */
size_t message_body_size(const struct message *m);
/* The first up to n bytes of the body (for detection); returns how many were copied. */
size_t message_body_head(const struct message *m, uint8_t *out, size_t n);
/* The last up to n bytes of the body (for detection); returns how many were copied. */
size_t message_body_tail(const struct message *m, uint8_t *out, size_t n);

/*
 * A BIO that reads the entity to encrypt: every Content-* header field of
 * the message (unfolded lines kept as folded, CRLF), plus, when
 * `protected_subject` is true, the Subject field (RFC 7508-style protected
 * header), then "\r\n", then the body with bare LF turned into CRLF.  A
 * message with no Content-Type gets none (RFC 2045 5.2 default applies on
 * the inside as it did outside).  The BIO is the caller's to BIO_free.
 * Fields are written "Name: value" (no extra space if the value starts with
 * white space); line breaks inside a value become CRLF plus white space and
 * trailing ones are dropped, so no value can end the header.  Only the first
 * Subject is taken.  A lone CR in the body is left as it is.  The BIO has its
 * own copy of the header and body (or of the spool descriptor): it stays
 * valid after message_free, streams a spooled body in 64 KB reads, and fails
 * (-1) rather than ending early if the spool file cannot be read.
 */
BIO *message_entity_bio(struct message *m, bool protected_subject, struct why *why);

#endif
