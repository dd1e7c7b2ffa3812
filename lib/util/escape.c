/*
 * escape.c - escape untrusted bytes before they reach a log line (see escape.h).
 */
#include "escape.h"

#include <string.h>

void
escape_append(struct buf *out, const void *p, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i, lim = (max && n > max) ? max : n;

	for (i = 0; i < lim; i++) {
		unsigned c = s[i];

		if (c == '\\') {
			buf_append(out, "\\\\", 2);
		} else if (c >= 0x20 && c < 0x7f) {
			buf_putc(out, (int)c);
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			buf_append(out, e, 4);
		}
	}
	if (lim < n)
		buf_puts(out, "...");
	if (out->data == NULL)
		buf_reserve(out, 0), out->data[0] = '\0';
}

const char *
escape_str(struct buf *out, const char *s)
{
	buf_reset(out);
	escape_append(out, s, strlen(s), 0);
	return buf_str(out);
}
