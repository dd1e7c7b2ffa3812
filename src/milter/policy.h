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

/* The state of one recipient's key lookup. */
enum rcpt_state {
	RCPT_KEY,       /* a usable certificate from a SECURE answer */
	RCPT_NO_KEY,    /* INSECURE answer, secure proof of no record, or no usable record */
	RCPT_NO_DOMAIN, /* address without a domain (postmaster): no key can exist */
	RCPT_SKIPPED,   /* in a skip list */
	RCPT_BOGUS,     /* DNSSEC validation failed */
	RCPT_DNS_FAIL,  /* SERVFAIL, timeout: nothing is proven */
};
const char *rcpt_state_name(enum rcpt_state s);

enum policy_action {
	ACTION_PASS,     /* deliver unchanged */
	ACTION_ENCRYPT,  /* encrypt to every recipient's key */
	ACTION_TEMPFAIL, /* 4xx: the MTA keeps the message and retries */
};
const char *policy_action_name(enum policy_action a);

enum msg_encryption_state { MSG_CLEAR, MSG_ALREADY_ENCRYPTED };
enum msg_direction { DIR_OUTBOUND, DIR_INBOUND };

struct policy_input {
	enum msg_encryption_state encryption;
	enum msg_direction direction;
	int oversize; /* the body exceeded max_message_size */
	const enum rcpt_state *rcpt;
	size_t n_rcpt;
};

/* Whether the recipients' keys can change the outcome (rows 1-3 do not decide it). */
bool policy_needs_keys(const struct config *cfg, const struct policy_input *in);
/* Decide; *reason gets a short static text for the summary log line. */
enum policy_action policy_decide(const struct config *cfg, const struct policy_input *in,
                                 const char **reason);

#endif
