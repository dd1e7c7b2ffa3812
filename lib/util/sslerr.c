/*
 * sslerr.c - render OpenSSL's error queue into a struct why (see sslerr.h).
 * Error data can carry bytes from the input (file names, ASN.1 fields): it
 * is escaped and bounded.
 */
#include <string.h>

#include <openssl/err.h>

#include "util/buf.h"
#include "util/escape.h"
#include "util/sslerr.h"

_Bool
why_openssl(struct why *why, const char *what)
{
	const char *data = NULL, *reason;
	char sys[128];
	unsigned long e;
	int flags = 0;
	struct buf esc = BUF_INIT;

	e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
	if (e == 0) {
		why_set(why, "%s", what);
	} else {
		/* system errors (errno, as a failing BIO raises them) have no reason string */
		reason = ERR_SYSTEM_ERROR(e) ? strerror_r(ERR_GET_REASON(e), sys, sizeof(sys))
		                             : ERR_reason_error_string(e);
		if (reason == NULL)
			reason = ERR_lib_error_string(e);
		if (data != NULL && *data != '\0' && (flags & ERR_TXT_STRING))
			escape_append(&esc, data, strlen(data), 120);
		why_set(why, "%s: %s%s%s%s", what, reason != NULL ? reason : "unknown error",
		        esc.len ? " (" : "", buf_str(&esc), esc.len ? ")" : "");
	}
	buf_release(&esc);
	ERR_clear_error();
	return 0;
}
