/*
 * escape.h - make untrusted bytes safe for a log line or a terminal.
 *
 * DNS data, mail headers and SMTP replies pass through here before they are
 * logged or printed: printable ASCII stays, backslash and everything else
 * becomes \\ or \xNN, so a hostile peer cannot forge log lines or send
 * terminal escapes.
 */
#ifndef DANEMAIL_UTIL_ESCAPE_H
#define DANEMAIL_UTIL_ESCAPE_H

#include <stddef.h>

#include "buf.h"

/* Append an escaped copy of n bytes; at most `max` input bytes, then "..." (max 0: no limit). */
void escape_append(struct buf *out, const void *p, size_t n, size_t max);
/* Escape a C string into a buffer owned by the caller and return buf_str(out); out is reset first.
 */
const char *escape_str(struct buf *out, const char *s);

#endif
