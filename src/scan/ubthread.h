/*
 * ubthread.h - asynchronous DNSSEC-validating lookups with libunbound's
 * resolver running in a thread of its own, delivered into the scanner's
 * libevent loop.
 *
 * lib/dns's dns_async runs libunbound inside the caller's event base, so
 * every signature check (DNSSEC validation: most of a bulk scan's CPU
 * time) happens in the loop's thread.  Here libunbound resolves and
 * validates in its background thread (ub_ctx_async(ctx, 1),
 * ub_resolve_async); the loop only waits on ub_fd() and runs ub_process(),
 * so a second core does the cryptography.  One process, one event loop, as
 * before.
 *
 * Answers are the same struct dns_answer as dns_async's, filled by the
 * same function (dns_answer_from_ub(), lib/dns/resolver.h), with the same
 * explicit outcome and DNSSEC state.
 * Meant to move into lib/dns as a threaded variant of dns_async_new().
 */
#ifndef DANEMAIL_SCAN_UBTHREAD_H
#define DANEMAIL_SCAN_UBTHREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "util/why.h"

struct event_base;
struct scan_ub;

/* A threaded resolver delivering into base; NULL and a reason on failure. */
struct scan_ub *scan_ub_new(struct event_base *base, const struct dns_config *cfg, struct why *why);
/* Stop the thread and free; lookups in flight are abandoned (no callback).  Returns NULL. */
struct scan_ub *scan_ub_free(struct scan_ub *u);
/*
 * Start a lookup; cb runs later from the event loop (never from inside
 * this call) with an answer it owns.  timeout_ms > 0 gives up after that
 * long with DNS_OUTCOME_TIMEOUT.  False (and no callback) if it could not
 * be started.
 */
bool scan_ub_lookup(struct scan_ub *u, const char *name, uint16_t type, unsigned timeout_ms,
                    dns_async_callback *cb, void *arg, struct why *why);
/* Lookups started and not yet called back. */
size_t scan_ub_pending(const struct scan_ub *u);

#endif
