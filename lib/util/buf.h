/*
 * buf.h - growable byte buffers.
 *
 * A struct buf owns its storage, grows on demand with overflow checks, and
 * always keeps a NUL after the last byte so text can be used as a C string.
 * Untrusted input goes into a buf, never into a fixed-size array.
 */
#ifndef DANEMAIL_UTIL_BUF_H
#define DANEMAIL_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* NULL until the first append; NUL-terminated after */
	size_t len;    /* bytes used, not counting the NUL */
	size_t cap;    /* bytes allocated */
};

/* An empty buffer; equivalent to zero-initialisation. */
#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Initialise an empty buffer (allocates nothing). */
void buf_init(struct buf *b);
/* Release the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Forget the contents, keep the storage. */
void buf_reset(struct buf *b);
/* Make room for `extra` more bytes (plus the NUL); aborts on overflow. */
void buf_reserve(struct buf *b, size_t extra);
/* Append n bytes. */
void buf_append(struct buf *b, const void *p, size_t n);
/* Append a C string. */
void buf_puts(struct buf *b, const char *s);
/* Append one byte. */
void buf_putc(struct buf *b, int c);
/* Append formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append formatted text (va_list form). */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The contents as a C string ("" for an empty buffer, never NULL). */
const char *buf_str(const struct buf *b);
/* Hand the storage to the caller (a NUL-terminated malloc'd block); the buffer becomes empty. */
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
