/*
 * sslerr.h - OpenSSL's error queue as a one-line failure reason.
 */
#ifndef DANEMAIL_UTIL_SSLERR_H
#define DANEMAIL_UTIL_SSLERR_H

#include "util/why.h"

/*
 * Set why to "what: <earliest queued OpenSSL error> (<its data>)", or just
 * "what" when the queue is empty; system errors (errno raised through a BIO)
 * are rendered with strerror.  Empties the thread's error queue.  Returns
 * false, so callers can `return why_openssl(...)`.
 */
_Bool why_openssl(struct why *why, const char *what);

#endif
