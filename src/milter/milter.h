/*
 * milter.h - what the parts of danemail-milter share: the runtime (the
 * configuration in force and what is built from it), the libmilter
 * callbacks, recipient key lookup and logging.
 */
#ifndef DANEMAIL_MILTER_MILTER_H
#define DANEMAIL_MILTER_MILTER_H

#include <libmilter/mfapi.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dane/certcache.h"
#include "mail/pgpkeycache.h"
#include "dns/resolver.h"
#include "policy.h"
#include "util/why.h"

/* One configuration in force, with the resolver and CA store built from it. */
struct runtime {
	struct config *cfg;
	struct dns_resolver *res;
	X509_STORE *pkix;             /* for SMIMEA usage 1; NULL if ca_file is unreadable */
	struct cert_cache *certs;     /* parsed certificates by DER */
	struct pgpkey_cache *pgpkeys; /* parsed OpenPGP keys by their bytes */
	int refs;                     /* guarded by the runtime lock */
};

/* Build a runtime from cfg (which it takes over); NULL and a reason on failure. */
struct runtime *runtime_new(struct config *cfg, struct why *why);
/* Make rt the runtime for new messages (messages in flight keep theirs). */
void runtime_install(struct runtime *rt);
/* Take / drop a reference to the runtime in force. */
struct runtime *runtime_acquire(void);
void runtime_release(struct runtime *rt);
/* Drop the installed runtime at exit. */
void runtime_shutdown(void);
/* Messages between MAIL FROM and their end, for a graceful stop. */
int milter_in_flight(void);

/* The libmilter description (callbacks, flags). */
extern struct smfiDesc milter_desc;

/* One envelope recipient and what its lookups found, per format. */
struct recipient {
	char *address;
	struct rcpt_keys keys;   /* the state in each format */
	STACK_OF(X509) * certs;  /* S/MIME: the usable certificates */
	struct pgpkey_ref **pgp; /* OpenPGP: the usable keys (cached, shared) */
	size_t n_pgp;
	const char *matched[N_FORMATS]; /* "exact" or "lower-cased": which owner answered */
	char detail[N_FORMATS][160];    /* why there is no key / what failed (escaped) */
};

/* Mark a recipient as having no key in any format, for one reason. */
void recipient_set_all(struct recipient *r, enum rcpt_state state, const char *detail);

/*
 * Look up every recipient's SMIMEA and OPENPGPKEY (the formats enabled) at
 * once and fill keys, certs, pgp, matched, detail.
 */
void recipients_lookup(struct runtime *rt, struct recipient *r, size_t n);
/* Free what recipients_lookup attached. */
void recipient_clear(struct recipient *r);

/* syslog, with "QUEUEID: " in front when ctx is given. */
void mlog(SMFICTX *ctx, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
