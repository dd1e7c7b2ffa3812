/*
 * codec.c - hex and base64 (RFC 4648 section 4) codecs for untrusted text.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "codec.h"

static const char hexdigits[] = "0123456789abcdef";
static const char b64alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Undo a partial decode: the output is as it was before the call. */
static void
truncate_to(struct buf *out, size_t len)
{
	out->len = len;
	if (out->data)
		out->data[len] = '\0';
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(struct buf *out, const uint8_t *p, size_t n)
{
	size_t i;

	if (n > SIZE_MAX / 2)
		util_panic("hex_encode: %zu bytes", n);
	buf_reserve(out, n * 2);
	for (i = 0; i < n; i++) {
		out->data[out->len++] = (uint8_t)hexdigits[p[i] >> 4];
		out->data[out->len++] = (uint8_t)hexdigits[p[i] & 15];
	}
	out->data[out->len] = '\0';
}

bool
hex_decode(struct buf *out, const char *text, size_t len, struct why *why)
{
	size_t i, start = out->len;
	int hi = -1, v;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)text[i];

		if (is_space(c))
			continue;
		if ((v = hex_value(c)) < 0) {
			truncate_to(out, start);
			return why_set(why, "bad hex character at offset %zu", i);
		}
		if (hi < 0) {
			hi = v;
		} else {
			buf_putc(out, hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		truncate_to(out, start);
		return why_set(why, "odd number of hex digits");
	}
	return true;
}

void
base64_encode(struct buf *out, const uint8_t *p, size_t n)
{
	size_t i;
	char q[4];

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = b64alphabet[p[i] >> 2];
		q[1] = b64alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = b64alphabet[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = b64alphabet[p[i + 2] & 63];
		buf_append(out, q, 4);
	}
	if (n - i == 1) {
		q[0] = b64alphabet[p[i] >> 2];
		q[1] = b64alphabet[(p[i] & 3) << 4];
		q[2] = q[3] = '=';
		buf_append(out, q, 4);
	} else if (n - i == 2) {
		q[0] = b64alphabet[p[i] >> 2];
		q[1] = b64alphabet[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = b64alphabet[(p[i + 1] & 15) << 2];
		q[3] = '=';
		buf_append(out, q, 4);
	}
	if (out->data == NULL)
		buf_reserve(out, 0), out->data[0] = '\0';
}

static int
b64_value(int c)
{
	const char *p;

	if (c == 0 || (p = strchr(b64alphabet, c)) == NULL)
		return -1;
	return (int)(p - b64alphabet);
}

bool
base64_decode(struct buf *out, const char *text, size_t len, struct why *why)
{
	size_t i, start = out->len;
	unsigned acc = 0;
	int nq = 0, pad = 0, v;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)text[i];

		if (is_space(c))
			continue;
		if (c == '=') {
			if (nq < 2)
				goto bad;
			pad++;
			if (pad > 2 || nq + pad > 4)
				goto bad;
			continue;
		}
		if (pad || (v = b64_value(c)) < 0)
			goto bad;
		acc = acc << 6 | (unsigned)v;
		if (++nq == 4) {
			buf_putc(out, (int)(acc >> 16 & 255));
			buf_putc(out, (int)(acc >> 8 & 255));
			buf_putc(out, (int)(acc & 255));
			acc = 0;
			nq = 0;
		}
	}
	if (pad) {
		if (nq + pad != 4)
			goto bad;
		if (nq == 2) {
			if (acc & 15)
				goto bad; /* non-canonical trailing bits */
			buf_putc(out, (int)(acc >> 4 & 255));
		} else {
			if (acc & 3)
				goto bad;
			buf_putc(out, (int)(acc >> 10 & 255));
			buf_putc(out, (int)(acc >> 2 & 255));
		}
	} else if (nq != 0) {
		truncate_to(out, start);
		return why_set(why, "base64 text is not a multiple of 4 characters");
	}
	return true;
bad:
	truncate_to(out, start);
	return why_set(why, "bad base64 at offset %zu", i < len ? i : len);
}

char *
time_text(char *out, size_t size, time_t t)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, size, "unknown");
	else
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}
