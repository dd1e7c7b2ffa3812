/*
 * alloc.h - checked allocation.
 *
 * These allocators never return NULL: running out of memory (or a size that
 * overflows) is an impossible state for danemail, so they report it on stderr
 * and abort().  Every free function accepts NULL.
 */
#ifndef DANEMAIL_UTIL_ALLOC_H
#define DANEMAIL_UTIL_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

/* malloc(size), never NULL; size 0 gives a valid unique pointer. */
void *xmalloc(size_t size);
/* calloc(n, size) with the product checked for overflow. */
void *xcalloc(size_t n, size_t size);
/* realloc(p, size), never NULL. */
void *xrealloc(void *p, size_t size);
/* reallocarray(p, n, size): realloc with the product checked for overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
/* A copy of the NUL-terminated string s. */
char *xstrdup(const char *s);
/* A NUL-terminated copy of the first n bytes of s (s need not be terminated). */
char *xstrndup(const char *s, size_t n);
/* A copy of n bytes at p. */
void *xmemdup(const void *p, size_t n);
/* Report an impossible state and abort: only for bugs and exhausted memory. */
_Noreturn void util_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
