/*
 * policy.c - the decision table of danemail-milter (see policy.h and the
 * DECISION section of danemail-milter(8); keep the three in step).
 *
 *  row | condition                                   | action
 *  ----+---------------------------------------------+---------------------------
 *   1  | already encrypted (S/MIME, PGP/MIME, inline) | pass untouched
 *   2  | direction not covered by `mode`              | pass
 *   3  | larger than max_message_size                 | on_oversize (pass|tempfail)
 *   4  | a recipient's answer is BOGUS (either format)| on_bogus: tempfail, or that
 *      |   (RFC 4033 sec. 5, RFC 8162 sec. 9: never   |   recipient has no key in
 *      |   use it; it may be an attack)               |   that format
 *   5  | a recipient's lookup failed (SERVFAIL...)    | on_dns_failure: tempfail, or
 *      |   (RFC 7672 2.1.1: not "no records")         |   no key in that format
 *   6  | one format covers every recipient            | encrypt in it; if both do,
 *      |   (one body serves all recipients)           |   in `prefer`
 *   7  | some recipients have keys, but no format     | partial (clear|tempfail)
 *      |   covers them all                            |
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
	case ACTION_ENCRYPT_SMIME:
		return "encrypt(smime)";
	case ACTION_ENCRYPT_OPENPGP:
		return "encrypt(openpgp)";
	case ACTION_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

const char *
key_format_name(enum key_format f)
{
	return f == FORMAT_SMIME ? "smime" : "openpgp";
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
	size_t i, keys = 0, bogus = 0, failed = 0, covered[N_FORMATS] = {0};
	int f;

	if (decide_message(cfg, in, &action, reason))
		return action;
	for (i = 0; i < in->n_rcpt; i++) {
		bool any_key = false;

		for (f = 0; f < N_FORMATS; f++) {
			enum rcpt_state st = in->rcpt[i].state[f];

			covered[f] += st == RCPT_KEY;
			any_key |= st == RCPT_KEY;
			bogus += st == RCPT_BOGUS;
			failed += st == RCPT_DNS_FAIL;
		}
		keys += any_key;
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
	/* row 6: a format every recipient has a key in; `prefer` when both are */
	if (in->n_rcpt > 0) {
		int first = cfg->prefer == PREFER_OPENPGP ? FORMAT_OPENPGP : FORMAT_SMIME;

		for (f = 0; f < N_FORMATS; f++) {
			int fmt = (first + f) % N_FORMATS;

			if (covered[fmt] == in->n_rcpt) {
				*reason = "every recipient has a key";
				return fmt == FORMAT_SMIME ? ACTION_ENCRYPT_SMIME
				                           : ACTION_ENCRYPT_OPENPGP;
			}
		}
	}
	/* row 7 */
	if (keys > 0) {
		if (cfg->partial == PARTIAL_TEMPFAIL) {
			*reason = "no format covers every recipient (partial = tempfail)";
			return ACTION_TEMPFAIL;
		}
		*reason = "no format covers every recipient (partial = clear)";
		return ACTION_PASS;
	}
	/* row 8 */
	*reason = "no recipient has a key";
	return ACTION_PASS;
}
