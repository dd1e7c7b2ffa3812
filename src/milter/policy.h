/*
 * policy.h - what the milter does with one message: the decision table.
 *
 * Inputs are explicit states (never booleans): whether the message is
 * already encrypted, its direction, its size, and for every recipient the
 * state of its key lookup.  The one function policy_decide() holds the table
 * that danemail-milter(8) documents, each row citing the rule it implements.
 */
#ifndef DANEMAIL_MILTER_POLICY_H
#define DANEMAIL_MILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The state of one recipient's key lookup in one format. */
enum rcpt_state {
	RCPT_KEY,       /* a usable certificate or key from a SECURE answer */
	RCPT_NO_KEY,    /* INSECURE answer, secure proof of no record, or no usable record */
	RCPT_NO_DOMAIN, /* address without a domain (postmaster): no key can exist */
	RCPT_SKIPPED,   /* in a skip list */
	RCPT_BOGUS,     /* DNSSEC validation failed */
	RCPT_DNS_FAIL,  /* SERVFAIL, timeout: nothing is proven */
};
const char *rcpt_state_name(enum rcpt_state s);

/* The two ways to encrypt: S/MIME (SMIMEA, RFC 8162) and PGP/MIME (OPENPGPKEY, RFC 7929). */
enum key_format { FORMAT_SMIME, FORMAT_OPENPGP, N_FORMATS };
const char *key_format_name(enum key_format f);

/* One recipient: the state of its lookup in each format. */
struct rcpt_keys {
	enum rcpt_state state[N_FORMATS];
};

enum policy_action {
	ACTION_PASS,            /* deliver unchanged */
	ACTION_ENCRYPT_SMIME,   /* encrypt to every recipient's certificate */
	ACTION_ENCRYPT_OPENPGP, /* encrypt to every recipient's OpenPGP key */
	ACTION_TEMPFAIL,        /* 4xx: the MTA keeps the message and retries */
};
const char *policy_action_name(enum policy_action a);

enum msg_encryption_state { MSG_CLEAR, MSG_ALREADY_ENCRYPTED };
enum msg_direction { DIR_OUTBOUND, DIR_INBOUND };

struct policy_input {
	enum msg_encryption_state encryption;
	enum msg_direction direction;
	int oversize; /* the body exceeded max_message_size */
	const struct rcpt_keys *rcpt;
	size_t n_rcpt;
};

/* Whether the recipients' keys can change the outcome (rows 1-3 do not decide it). */
bool policy_needs_keys(const struct config *cfg, const struct policy_input *in);
/* Decide; *reason gets a short static text for the summary log line. */
enum policy_action policy_decide(const struct config *cfg, const struct policy_input *in,
                                 const char **reason);

#endif
