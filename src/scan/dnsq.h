/*
 * dnsq.h - the scanner's DNS queue: asynchronous lookups (dns/resolver.h)
 * with a bound on the queries outstanding at once, and the libunbound
 * settings a bulk scanner needs.
 *
 * libunbound's defaults (outgoing-range 4096 shared ports per thread, 1024
 * queries per thread) cap one context at a few hundred queries per second
 * when answers take tens of milliseconds; past num-queries-per-thread it
 * starts dropping ("jostling") queries, which would read as failures.  The
 * queue keeps the number in flight below that, and scan_dns_bulk_conf()
 * writes a configuration that raises both limits and includes the user's.
 *
 * Callbacks never run from inside scan_dnsq_lookup(): the queue sends from
 * its own event, so a caller may start several lookups and count them
 * before the first answer arrives.
 */
#ifndef DANEMAIL_SCAN_DNSQ_H
#define DANEMAIL_SCAN_DNSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "util/why.h"

struct event_base;
struct scan_dnsq;

/* libunbound settings for bulk lookups (TESTBED-NOTES: 10x over the defaults). */
#define SCAN_DNS_OUTGOING_RANGE     8192
#define SCAN_DNS_QUERIES_PER_THREAD 4096
/* Lookups outstanding at once: below num-queries-per-thread, so none is jostled. */
#define SCAN_DNS_MAX_PENDING 3000

/* Called once per lookup with an answer the callee owns (dns_answer_clear + free it). */
typedef void scan_dns_cb(void *arg, struct dns_answer *ans);

/*
 * How the queue starts a lookup on its resolver: dns_async_lookup()'s
 * contract (lib/dns, libunbound in the loop's thread) or scan_ub_lookup()'s
 * (ubthread.h, libunbound in a thread of its own).
 */
typedef bool scan_dns_send(void *resolver, const char *name, uint16_t type, unsigned timeout_ms,
                           dns_async_callback *cb, void *arg, struct why *why);

/*
 * A queue over an asynchronous resolver on base: at most max_pending
 * lookups outstanding, each given up after timeout_ms (0: libunbound's own
 * limits).
 */
struct scan_dnsq *scan_dnsq_new(struct event_base *base, scan_dns_send *send, void *resolver,
                                size_t max_pending, unsigned timeout_ms);
/* Free the queue; lookups still queued are dropped without a callback.  Returns NULL. */
struct scan_dnsq *scan_dnsq_free(struct scan_dnsq *q);
/* Queue a lookup of name/type; cb runs later from the event loop, exactly once. */
void scan_dnsq_lookup(struct scan_dnsq *q, const char *name, uint16_t type, scan_dns_cb *cb,
                      void *arg);
/* Lookups sent to the resolver so far. */
uint64_t scan_dnsq_sent(const struct scan_dnsq *q);
/* Lookups queued or outstanding. */
size_t scan_dnsq_busy(const struct scan_dnsq *q);

/*
 * Write an unbound configuration for bulk lookups to a new temporary file:
 * the SCAN_DNS_* limits and larger caches in a server: clause, then an
 * include: of the user's file (whose settings win) or, without one and
 * without a trust anchor file, the root trust anchor.  *path gets the
 * file's name (free it, unlink the file once the resolver has read it).
 * False and a reason if the file cannot be written or the user's path
 * cannot be included.
 */
bool scan_dns_bulk_conf(const struct dns_config *user, char **path, struct why *why);

#endif
