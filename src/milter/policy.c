/*
 * policy.c - the decision table of danemail-milter (see policy.h and the
 * DECISION section of danemail-milter(8); keep the three in step).
 *
 *  row | condition                                   | action
 *  ----+---------------------------------------------+---------------------------
 *   1  | already encrypted (S/MIME, PGP/MIME, inline) | pass untouched
 *   2  | direction not covered by `mode`              | pass
 *   3  | larger than max_message_size                 | on_oversize (pass|tempfail)
 *   4  | a recipient's answer is BOGUS                | on_bogus: tempfail, or that
 *      |   (RFC 8162 sec. 9 / RFC 4033: never use it) |   recipient counts as no key
 *   5  | a recipient's lookup failed (SERVFAIL...)    | on_dns_failure: tempfail, or
 *      |   (RFC 7672 2.1.1: not "no records")         |   that recipient has no key
 *   6  | every recipient has a key                    | encrypt to all of them
 *   7  | some recipients have keys, some do not       | partial (clear|tempfail)
 *   8  | no recipient has a key                       | pass
 */
#include "policy.h"

const char *
rcpt_state_name(enum rcpt_state s)
{
	switch (s) {
	case RCPT_KEY:
		return "key";
	case RCPT_NO_KEY:
		return "no-key";
	case RCPT_NO_DOMAIN:
		return "no-domain";
	case RCPT_SKIPPED:
		return "skipped";
	case RCPT_BOGUS:
		return "bogus";
	case RCPT_DNS_FAIL:
		return "dns-failure";
	}
	return "?";
}

const char *
policy_action_name(enum policy_action a)
{
	switch (a) {
	case ACTION_PASS:
		return "pass";
	case ACTION_ENCRYPT:
		return "encrypt";
	case ACTION_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

/* Rows 1-3: what the message itself decides, before any key is looked up. */
static bool
decide_message(const struct config *cfg, const struct policy_input *in, enum policy_action *action,
               const char **reason)
{
	/* row 1 */
	if (in->encryption == MSG_ALREADY_ENCRYPTED) {
		*reason = "already encrypted";
		*action = ACTION_PASS;
		return true;
	}
	/* row 2 */
	if ((cfg->mode == MODE_OUTBOUND && in->direction != DIR_OUTBOUND) ||
	    (cfg->mode == MODE_INBOUND && in->direction != DIR_INBOUND)) {
		*reason = in->direction == DIR_OUTBOUND ? "outbound message, mode inbound"
		                                        : "inbound message, mode outbound";
		*action = ACTION_PASS;
		return true;
	}
	/* row 3 */
	if (in->oversize) {
		*reason = "larger than max_message_size";
		*action = cfg->on_oversize == ON_FAILURE_TEMPFAIL ? ACTION_TEMPFAIL : ACTION_PASS;
		return true;
	}
	return false;
}

bool
policy_needs_keys(const struct config *cfg, const struct policy_input *in)
{
	enum policy_action action;
	const char *reason;

	return !decide_message(cfg, in, &action, &reason);
}

enum policy_action
policy_decide(const struct config *cfg, const struct policy_input *in, const char **reason)
{
	enum policy_action action;
	size_t i, keys = 0, bogus = 0, failed = 0;

	if (decide_message(cfg, in, &action, reason))
		return action;
	for (i = 0; i < in->n_rcpt; i++) {
		keys += in->rcpt[i] == RCPT_KEY;
		bogus += in->rcpt[i] == RCPT_BOGUS;
		failed += in->rcpt[i] == RCPT_DNS_FAIL;
	}
	/* rows 4 and 5: unless they tempfail, those recipients simply have no key */
	if (bogus && cfg->on_bogus == ON_FAILURE_TEMPFAIL) {
		*reason = "DNSSEC validation failed for a recipient";
		return ACTION_TEMPFAIL;
	}
	if (failed && cfg->on_dns_failure == ON_FAILURE_TEMPFAIL) {
		*reason = "DNS lookup failed for a recipient";
		return ACTION_TEMPFAIL;
	}
	/* row 6 */
	if (in->n_rcpt > 0 && keys == in->n_rcpt) {
		*reason = "every recipient has a key";
		return ACTION_ENCRYPT;
	}
	/* row 7 */
	if (keys > 0) {
		if (cfg->partial == PARTIAL_TEMPFAIL) {
			*reason = "only some recipients have keys (partial = tempfail)";
			return ACTION_TEMPFAIL;
		}
		*reason = "only some recipients have keys (partial = clear)";
		return ACTION_PASS;
	}
	/* row 8 */
	*reason = "no recipient has a key";
	return ACTION_PASS;
}
