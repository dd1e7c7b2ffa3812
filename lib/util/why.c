/*
 * why.c - fill and prefix failure reasons (see why.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "why.h"

bool
why_set(struct why *why, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return false;
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return false;
}

bool
why_prefix(struct why *why, const char *fmt, ...)
{
	char old[WHY_MAX];
	size_t n;
	va_list ap;

	if (why == NULL)
		return false;
	memcpy(old, why->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	n = strlen(why->msg);
	snprintf(why->msg + n, sizeof(why->msg) - n, ": %s", old);
	return false;
}
