/*
 * why.h - the reason a library call failed.
 *
 * Library functions report failure with a status and fill a caller-owned
 * struct why with a short one-line reason; the program decides what to log.
 * Every function taking a struct why * accepts NULL (reason not wanted).
 */
#ifndef DANEMAIL_UTIL_WHY_H
#define DANEMAIL_UTIL_WHY_H

#define WHY_MAX 256

/* A one-line reason, always NUL-terminated, truncated to WHY_MAX-1 bytes. */
struct why {
	char msg[WHY_MAX];
};

/* Set the reason (printf-style); returns false so callers can `return why_set(...)`. */
_Bool why_set(struct why *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing reason with context: "context: old reason". Returns false. */
_Bool why_prefix(struct why *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
