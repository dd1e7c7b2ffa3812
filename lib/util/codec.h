/*
 * codec.h - hex and base64 (RFC 4648) encoding and decoding.
 *
 * Decoders take untrusted text: they skip white space (zone files split long
 * values over lines), reject anything else that is not of the alphabet, and
 * say where in `why`.
 */
#ifndef DANEMAIL_UTIL_CODEC_H
#define DANEMAIL_UTIL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "why.h"

/* Append the lower-case hex form of n bytes to out. */
void hex_encode(struct buf *out, const uint8_t *p, size_t n);
/* Append the bytes of hex text (either case, white space ignored); false on odd length or a non-hex
 * character. */
bool hex_decode(struct buf *out, const char *text, size_t len, struct why *why);
/* An RFC 3339 UTC time ("2026-11-29T08:44:17Z"), or "unknown" for 0, into out; returns out. */
char *time_text(char *out, size_t size, time_t t);
/* Append the base64 form of n bytes (no line breaks). */
void base64_encode(struct buf *out, const uint8_t *p, size_t n);
/* Append the bytes of base64 text (white space ignored, padding required); false on bad input. */
bool base64_decode(struct buf *out, const char *text, size_t len, struct why *why);

#endif
