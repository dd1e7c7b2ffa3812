/*
 * alerts.c - the monitor's alerts from two scan results of a domain (see
 * alerts.h).  One function per kind, each reading the scan's JSON objects
 * (schema SCAN_SCHEMA, danemail(1)); the advice cites the RFC sections the
 * scanner's verdicts come from:
 *   - TLSA mismatch, name mismatch, expired chain: RFC 7672 3.1, 3.2;
 *   - look-ahead (--at): "3 0 x" is bound to one certificate and "3 1 x" to
 *     one key, "2 x x" to a trust anchor; a renewal keeps matching only
 *     when a record for what comes next is published first, the
 *     "current + next" scheme of RFC 7671 8.1 (and 5.1, 5.2);
 *   - DNSSEC bogus: RFC 7672 2.1.1 (the sender defers), RFC 4035 5.5;
 *   - STARTTLS: with TLSA records a DANE sender requires it (RFC 7672 2.2);
 *   - MTA-STS: every MX host must match the policy's mx patterns (RFC 8461 4.1).
 * Trusted: nothing more than the scan's JSON, whose strings the scanner
 * escaped; an absent or mistyped field counts as "not known".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "util/buf.h"

static const char *const kind_names[ALERT_KINDS] = {
        [ALERT_TLSA_MISMATCH] = "tlsa-mismatch",
        [ALERT_DNSSEC_BOGUS] = "dnssec-bogus",
        [ALERT_STARTTLS_LOST] = "starttls-lost",
        [ALERT_MTASTS_UNCOVERED] = "mta-sts-uncovered",
        [ALERT_WILL_STOP] = "tlsa-will-stop-matching",
        [ALERT_TLS_DOWNGRADED] = "tls-downgraded",
};

const char *
alert_kind_name(enum alert_kind k)
{
	return (unsigned)k < ALERT_KINDS ? kind_names[k] : "unknown";
}

/* ---- JSON access: absent or mistyped is NULL / false / -1 ---- */

static const char *
jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
jis(const json_t *o, const char *key, const char *want)
{
	const char *s = jstr(o, key);

	return s && strcmp(s, want) == 0;
}

static long long
jint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *
orq(const char *s)
{
	return s ? s : "?";
}

bool
alert_parse_date(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return false;
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return false;
	if (*end == 'T' || *end == 't' || *end == ' ') {
		if ((end = strptime(end + 1, "%H:%M:%S", &tm)) == NULL)
			return false;
		if (*end == '.')
			for (end++; *end >= '0' && *end <= '9'; end++)
				;
		if (*end == 'Z' || *end == 'z') {
			end++;
		} else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':') {
			int h = atoi(end + 1), m = atoi(end + 4);

			if (h > 23 || m > 59)
				return false;
			off = (h * 3600L + m * 60L) * (*end == '-' ? -1 : 1);
			end += 6;
		} else {
			return false;
		}
	}
	if (*end != '\0')
		return false;
	*out = timegm(&tm) - off;
	return true;
}

/* The scan's own times ("unknown" and absent are 0). */
static time_t
jtime(const json_t *o, const char *key)
{
	time_t t;

	return alert_parse_date(jstr(o, key), &t) ? t : 0;
}

static void
date_text(char *out, size_t size, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, size, "?");
	else
		strftime(out, size, "%Y-%m-%d", &tm);
}

/* ---- the run's alert table ---- */

static const char *const kind_titles[ALERT_KINDS] = {
        [ALERT_TLSA_MISMATCH] = "TLSA mismatch on",
        [ALERT_DNSSEC_BOGUS] = "DNSSEC bogus for",
        [ALERT_STARTTLS_LOST] = "STARTTLS lost on",
        [ALERT_MTASTS_UNCOVERED] = "MTA-STS policy does not cover the MX hosts of",
        [ALERT_WILL_STOP] = "TLSA will stop matching on",
        [ALERT_TLS_DOWNGRADED] = "TLS downgraded on",
};

static void
set_summary(json_t *a)
{
	struct buf b = BUF_INIT;
	size_t n = json_array_size(json_object_get(a, "domains"));

	buf_printf(&b, "%s (%zu domain%s)", orq(jstr(a, "title")), n, n == 1 ? "" : "s");
	json_object_set_new(a, "summary", json_string(buf_str(&b)));
	buf_release(&b);
}

/*
 * Raise kind on subject (an MX host, or the domain itself when !mx) for
 * domain: a new alert (returned, for the caller to fill in the evidence),
 * or the domain added to the one raised already (NULL returned).
 */
static json_t *
alert_raise(json_t *alerts, enum alert_kind kind, bool mx, const char *subject, const char *domain)
{
	struct buf key = BUF_INIT, title = BUF_INIT;
	json_t *a, *doms, *d;
	size_t i;

	buf_printf(&key, "%s %s:%s", alert_kind_name(kind), mx ? "mx" : "domain", subject);
	if ((a = json_object_get(alerts, buf_str(&key))) != NULL) {
		/* kept sorted: the same set of domains is the same list, whatever the order
		 * the scan finished them in */
		doms = json_object_get(a, "domains");
		json_array_foreach(doms, i, d)
		{
			int c = strcmp(json_string_value(d), domain);

			if (c == 0) {
				buf_release(&key);
				return NULL;
			}
			if (c > 0)
				break;
		}
		json_array_insert_new(doms, i, json_string(domain));
		set_summary(a);
		buf_release(&key);
		return NULL;
	}
	a = json_object();
	json_object_set_new(a, "key", json_string(buf_str(&key)));
	json_object_set_new(a, "kind", json_string(alert_kind_name(kind)));
	json_object_set_new(a, "severity",
	                    json_string(kind == ALERT_WILL_STOP || kind == ALERT_TLS_DOWNGRADED
	                                        ? "warning"
	                                        : "critical"));
	json_object_set_new(a, "scope", json_string(mx ? "mx" : "domain"));
	json_object_set_new(a, "subject", json_string(subject));
	json_object_set_new(a, "domains", json_pack("[s]", domain));
	buf_printf(&title, "%s %s", kind_titles[kind], subject);
	json_object_set_new(a, "title", json_string(buf_str(&title)));
	json_object_set_new(a, "state", json_string(""));
	json_object_set_new(a, "evidence", json_array());
	json_object_set_new(a, "fix", json_string(""));
	set_summary(a);
	json_object_set_new(alerts, buf_str(&key), a);
	buf_release(&key);
	buf_release(&title);
	return a;
}

static void evidence(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
evidence(json_t *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(a, "evidence"), json_string(buf_str(&b)));
	buf_release(&b);
}

static void set_text(json_t *a, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
set_text(json_t *a, const char *field, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	json_object_set_new(a, field, json_string(buf_str(&b)));
	buf_release(&b);
}

/* Was this alert on record before this run? */
static bool
is_open(const json_t *open, enum alert_kind kind, const char *host)
{
	struct buf key = BUF_INIT;
	bool found;

	buf_printf(&key, "%s mx:%s", alert_kind_name(kind), host);
	found = open && json_object_get(open, buf_str(&key)) != NULL;
	buf_release(&key);
	return found;
}

/* ---- finding things in a domain's JSON ---- */

static const json_t *
find_host(const json_t *dom, const char *name)
{
	json_t *hosts = json_object_get(dom, "hosts"), *h;
	size_t i;

	json_array_foreach(hosts, i, h)
	{
		if (jis(h, "host", name))
			return h;
	}
	return NULL;
}

static const json_t *
find_addr(const json_t *host, const char *address)
{
	json_t *addrs = json_object_get(host, "addresses"), *a;
	size_t i;

	if (host == NULL || address == NULL)
		return NULL;
	json_array_foreach(addrs, i, a)
	{
		if (jis(a, "address", address))
			return a;
	}
	return NULL;
}

static const json_t *
addr_cert(const json_t *addr)
{
	return json_object_get(json_object_get(addr, "tls"), "certificate");
}

/* "3 1 1 0123...", the data cut at 64 hex digits. */
static const char *
record_text(struct buf *b, const json_t *rec)
{
	const char *data = orq(jstr(rec, "data"));

	buf_reset(b);
	buf_printf(b, "%lld %lld %lld %.64s%s", jint(rec, "usage"), jint(rec, "selector"),
	           jint(rec, "matching_type"), data, strlen(data) > 64 ? "..." : "");
	return buf_str(b);
}

static const char *
tlsa_owner(const json_t *host)
{
	const char *o = jstr(json_object_get(host, "tlsa"), "owner");

	return o ? o : "_25._tcp.<host>.";
}

/* The TLSA RRset of a host as evidence lines. */
static void
evidence_tlsa(json_t *a, const json_t *host)
{
	json_t *t = json_object_get(host, "tlsa"), *recs = json_object_get(t, "records"), *r;
	struct buf b = BUF_INIT;
	size_t i;

	if (!json_is_object(t))
		return;
	evidence(a, "TLSA %s (%s): %zu record%s", tlsa_owner(host), orq(jstr(t, "dnssec")),
	         json_array_size(recs), json_array_size(recs) == 1 ? "" : "s");
	json_array_foreach(recs, i, r)
	{
		evidence(a, "  %s", record_text(&b, r));
	}
	buf_release(&b);
}

/* One line about the certificate an address presented. */
static void
evidence_cert(json_t *a, const json_t *addr)
{
	const json_t *c = addr_cert(addr), *tls = json_object_get(addr, "tls");

	if (!json_is_object(c))
		return;
	evidence(a, "  certificate %s, sha256 %s, SPKI sha256 %s, not after %s",
	         orq(jstr(c, "subject")), orq(jstr(c, "sha256")), orq(jstr(tls, "spki_sha256")),
	         orq(jstr(c, "not_after")));
}

/* ---- the kinds ---- */

static bool
is_mismatch(const char *v)
{
	return v && (strcmp(v, "tlsa-mismatch") == 0 || strcmp(v, "name-mismatch") == 0 ||
	             strcmp(v, "cert-expired") == 0);
}

/* RFC 7672 3.1, 3.2: no usable record matches, or DANE-TA's name or date checks fail. */
static void
check_mismatch(json_t *alerts, const char *domain, const json_t *host, const json_t *phost)
{
	const char *name = jstr(host, "host"), *first = NULL, *spki = NULL, *cur_fpr = NULL;
	const char *prev_fpr = NULL;
	json_t *addrs = json_object_get(host, "addresses"), *ad, *a = NULL;
	struct buf state = BUF_INIT;
	size_t i;

	json_array_foreach(addrs, i, ad)
	{
		const json_t *pa;

		if (!is_mismatch(jstr(ad, "verdict")))
			continue;
		if (a == NULL &&
		    (a = alert_raise(alerts, ALERT_TLSA_MISMATCH, true, name, domain)) == NULL)
			return;
		if (first == NULL) {
			first = jstr(ad, "verdict");
			spki = jstr(json_object_get(ad, "tls"), "spki_sha256");
			cur_fpr = jstr(addr_cert(ad), "sha256");
		}
		buf_printf(&state, "%s%s", state.len ? "," : "",
		           orq(jstr(addr_cert(ad), "sha256")));
		evidence(a, "%s: %s: %s", orq(jstr(ad, "address")), jstr(ad, "verdict"),
		         orq(jstr(ad, "rule")));
		evidence_cert(a, ad);
		if ((pa = find_addr(phost, jstr(ad, "address"))) != NULL) {
			const char *pf = jstr(addr_cert(pa), "sha256");

			evidence(a, "  previous scan: %s, certificate sha256 %s",
			         orq(jstr(pa, "verdict")), orq(pf));
			if (prev_fpr == NULL && pf && cur_fpr && strcmp(pf, cur_fpr) != 0)
				prev_fpr = pf;
		}
	}
	if (a == NULL)
		return;
	evidence_tlsa(a, host);
	json_object_set_new(a, "state", json_string(buf_str(&state)));
	if (strcmp(first, "name-mismatch") == 0)
		set_text(a, "fix",
		         "A DANE-TA(2) record matched, but the certificate names neither the MX "
		         "host nor the domain (RFC 7672 3.2.2): have it issued for %s, or publish "
		         "a DANE-EE record for its key, \"%s IN TLSA 3 1 1 %s\" (names are not "
		         "checked then, RFC 7672 3.1.1).",
		         name, tlsa_owner(host), orq(spki));
	else if (strcmp(first, "cert-expired") == 0)
		set_text(a, "fix",
		         "A DANE-TA(2) record matched, but a certificate of the chain has expired "
		         "(RFC 7672 3.1.2): renew it, or publish \"%s IN TLSA 3 1 1 %s\" for the "
		         "server's key (DANE-EE ignores dates, RFC 7672 3.1.1).",
		         tlsa_owner(host), orq(spki));
	else if (prev_fpr)
		set_text(
		        a, "fix",
		        "The server's certificate changed (sha256 %.16s... before, %.16s... now) "
		        "and no TLSA record matches the new one: DANE senders defer all mail to "
		        "%s.  Publish \"%s IN TLSA 3 1 1 %s\" for the key now in use, or put the "
		        "previous certificate back.  Next time, publish a 3 1 1 record for the new "
		        "key before switching, at least two TTLs ahead, and remove the old record "
		        "afterwards (RFC 7671 8.1, RFC 7672 3.1.1).",
		        prev_fpr, orq(cur_fpr), name, tlsa_owner(host), orq(spki));
	else
		set_text(a, "fix",
		         "No usable TLSA record matches the certificate %s presents: DANE senders "
		         "defer all mail to it.  Publish \"%s IN TLSA 3 1 1 %s\" for the key in "
		         "use, "
		         "or install the certificate the records describe (RFC 7672 3.1).",
		         name, tlsa_owner(host), orq(spki));
	buf_release(&state);
}

/* RFC 7672 2.1.1: a bogus MX, address or TLSA RRset makes DANE senders defer. */
static void
check_bogus_host(json_t *alerts, const char *domain, const json_t *host)
{
	const char *name = jstr(host, "host");
	const json_t *t = json_object_get(host, "tlsa");
	bool addr_bogus = jis(host, "addresses_dnssec", "bogus");
	bool tlsa_bogus = jis(t, "dnssec", "bogus");
	json_t *a;

	if (!addr_bogus && !tlsa_bogus)
		return;
	if ((a = alert_raise(alerts, ALERT_DNSSEC_BOGUS, true, name, domain)) == NULL)
		return;
	if (addr_bogus)
		evidence(a, "addresses of %s: bogus (%s)", name, orq(jstr(host, "addresses_why")));
	if (tlsa_bogus)
		evidence(a, "TLSA %s: bogus (%s)", tlsa_owner(host), orq(jstr(t, "why")));
	json_object_set_new(a, "state",
	                    json_string(addr_bogus && tlsa_bogus ? "addresses,tlsa"
	                                : addr_bogus             ? "addresses"
	                                                         : "tlsa"));
	set_text(a, "fix",
	         "DNSSEC validation fails for %s%s: DANE senders defer mail to it (RFC 7672 "
	         "2.1.1).  Check the zone's signatures (expired RRSIGs, a record edited after "
	         "signing) and the DS records at the parent; \"danemail lookup tlsa %s\" shows "
	         "the validator's reason (RFC 4035 5.5).",
	         name, tlsa_bogus ? "'s TLSA records" : "'s addresses", name);
}

static void
check_bogus_domain(json_t *alerts, const char *domain, const json_t *cur)
{
	const json_t *mx = json_object_get(cur, "mx");
	json_t *a;

	if (!jis(mx, "dnssec", "bogus") && !jis(mx, "kind", "bogus"))
		return;
	if ((a = alert_raise(alerts, ALERT_DNSSEC_BOGUS, false, domain, domain)) == NULL)
		return;
	evidence(a, "MX RRset of %s: bogus (%s)", domain, orq(jstr(mx, "why")));
	json_object_set_new(a, "state", json_string("mx"));
	set_text(a, "fix",
	         "DNSSEC validation of %s's MX RRset fails: senders defer all mail to the "
	         "domain (RFC 7672 2.1.1).  Check the zone's signatures and the DS at the "
	         "parent; \"danemail lookup mx %s\" shows the validator's reason.",
	         domain, domain);
}

static bool
no_tls(const char *transport)
{
	return transport &&
	       (strcmp(transport, "no-starttls") == 0 || strcmp(transport, "tls-failed") == 0);
}

/*
 * STARTTLS gone where the previous scan had TLS, or missing where TLSA
 * records demand it (verdict starttls-missing / tls-failed, RFC 7672 2.2).
 */
static void
check_starttls(json_t *alerts, const char *domain, const json_t *host, const json_t *phost,
               const json_t *open)
{
	const char *name = jstr(host, "host");
	json_t *addrs = json_object_get(host, "addresses"), *ad, *a = NULL;
	bool was_open = is_open(open, ALERT_STARTTLS_LOST, name), tlsa = false;
	struct buf state = BUF_INIT;
	size_t i;

	json_array_foreach(addrs, i, ad)
	{
		const char *tr = jstr(ad, "transport"), *v = jstr(ad, "verdict");
		const json_t *pa = find_addr(phost, jstr(ad, "address"));
		bool had = pa && jis(pa, "transport", "tls");
		bool demanded =
		        v && (strcmp(v, "starttls-missing") == 0 || strcmp(v, "tls-failed") == 0);
		const json_t *smtp = json_object_get(ad, "smtp");

		if (!no_tls(tr) || !(had || demanded || was_open))
			continue;
		if (a == NULL &&
		    (a = alert_raise(alerts, ALERT_STARTTLS_LOST, true, name, domain)) == NULL)
			return;
		tlsa = tlsa || demanded;
		buf_printf(&state, "%s%s", state.len ? "," : "", orq(jstr(ad, "address")));
		evidence(a, "%s: %s%s%s", orq(jstr(ad, "address")), tr,
		         jstr(smtp, "why") ? ": " : "", jstr(smtp, "why") ? jstr(smtp, "why") : "");
		if (pa)
			evidence(a, "  previous scan: %s%s%s", orq(jstr(pa, "transport")),
			         jstr(json_object_get(pa, "tls"), "version") ? ", " : "",
			         jstr(json_object_get(pa, "tls"), "version")
			                 ? jstr(json_object_get(pa, "tls"), "version")
			                 : "");
	}
	if (a == NULL)
		return;
	evidence_tlsa(a, host);
	json_object_set_new(a, "state", json_string(buf_str(&state)));
	set_text(a, "fix",
	         "%s no longer offers a working STARTTLS%s.  Restore TLS on the server (e.g. "
	         "Postfix: smtpd_tls_security_level = may with smtpd_tls_chain_files), and check "
	         "that its certificate and key files are readable.",
	         name,
	         tlsa ? "; with TLSA records published, DANE senders defer all mail to it (RFC "
	                "7672 2.2)"
	              : ": mail to it now travels in clear text");
	buf_release(&state);
}

/* TLS versions in order; 0 for no TLS or unknown. */
static int
tls_rank(const char *v)
{
	static const char *const order[] = {"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
	size_t i;

	for (i = 0; v && i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(v, order[i]) == 0)
			return (int)i + 1;
	return 0;
}

/* A lower TLS version than the previous scan saw (or than the open alert's "was"). */
static void
check_downgrade(json_t *alerts, const char *domain, const json_t *host, const json_t *phost,
                const json_t *open)
{
	const char *name = jstr(host, "host"), *was_open = NULL;
	json_t *addrs = json_object_get(host, "addresses"), *ad, *a = NULL;
	struct buf key = BUF_INIT, state = BUF_INIT;
	const char *best_was = NULL;
	size_t i;

	buf_printf(&key, "%s mx:%s", alert_kind_name(ALERT_TLS_DOWNGRADED), orq(name));
	if (open)
		was_open = jstr(json_object_get(open, buf_str(&key)), "was");
	buf_release(&key);
	json_array_foreach(addrs, i, ad)
	{
		const char *now = jstr(json_object_get(ad, "tls"), "version"), *was = NULL;
		const json_t *pa = find_addr(phost, jstr(ad, "address"));

		if (pa)
			was = jstr(json_object_get(pa, "tls"), "version");
		if (tls_rank(now) == 0)
			continue;
		if (!(tls_rank(was) > tls_rank(now)))
			was = tls_rank(was_open) > tls_rank(now) ? was_open : NULL;
		if (was == NULL)
			continue;
		if (a == NULL &&
		    (a = alert_raise(alerts, ALERT_TLS_DOWNGRADED, true, name, domain)) == NULL)
			return;
		if (best_was == NULL || tls_rank(was) > tls_rank(best_was))
			best_was = was;
		buf_printf(&state, "%s%s:%s", state.len ? "," : "", orq(jstr(ad, "address")), now);
		evidence(a, "%s: %s now, %s before", orq(jstr(ad, "address")), now, was);
	}
	if (a == NULL)
		return;
	json_object_set_new(a, "was", json_string(best_was));
	json_object_set_new(a, "state", json_string(buf_str(&state)));
	set_text(a, "fix",
	         "%s negotiates a lower TLS version than before (%s).  Check its TLS settings "
	         "(protocol minimum, an OpenSSL or MTA configuration change, a load balancer in "
	         "front); RFC 8996 deprecates TLS 1.0 and 1.1.",
	         name, best_was);
	buf_release(&state);
}

/* RFC 8461 4.1: every MX host must match one of the policy's mx patterns. */
static void
check_mtasts(json_t *alerts, const char *domain, const json_t *cur, const json_t *prev)
{
	const json_t *pol = json_object_get(json_object_get(cur, "mta_sts"), "policy");
	const json_t *ppol = json_object_get(json_object_get(prev, "mta_sts"), "policy");
	json_t *unc = json_object_get(pol, "mx_not_covered"), *mxs = json_object_get(pol, "mx");
	struct buf list = BUF_INIT, pats = BUF_INIT;
	const char *mode = jstr(pol, "mode");
	json_t *a, *v;
	size_t i;

	if (!json_is_false(json_object_get(pol, "mx_covered")) ||
	    !json_is_true(json_object_get(pol, "valid")) || json_array_size(unc) == 0)
		return;
	if ((a = alert_raise(alerts, ALERT_MTASTS_UNCOVERED, false, domain, domain)) == NULL)
		return;
	json_object_set_new(
	        a, "severity",
	        json_string(mode && strcmp(mode, "enforce") == 0 ? "critical" : "warning"));
	json_array_foreach(unc, i, v)
	{
		buf_printf(&list, "%s%s", i ? ", " : "", json_string_value(v));
	}
	json_array_foreach(mxs, i, v)
	{
		buf_printf(&pats, "%s%s", i ? ", " : "", orq(json_string_value(v)));
	}
	evidence(a, "MTA-STS policy of %s: mode %s, mx %s", domain, orq(mode), buf_str(&pats));
	evidence(a, "MX hosts it does not cover: %s", buf_str(&list));
	if (json_is_true(json_object_get(ppol, "mx_covered")))
		evidence(a, "previous scan: every MX host covered");
	json_object_set_new(a, "state", json_string(buf_str(&list)));
	set_text(a, "fix",
	         "Add %s to the mx: lines of https://mta-sts.%s/.well-known/mta-sts.txt and "
	         "change the id in the _mta-sts.%s TXT record (RFC 8461 3.1, 4.1)%s.",
	         buf_str(&list), domain, domain,
	         mode && strcmp(mode, "enforce") == 0
	                 ? "; in enforce mode senders refuse to deliver to hosts it does not list"
	                 : "");
	buf_release(&list);
	buf_release(&pats);
}

/*
 * --at: will the certificate an address presents still be matched at w->at?
 * A leaf that expires before then will have been renewed: records bound to
 * it ("3 0 x", and "3 1 x" unless a record for the next key is published)
 * stop matching (RFC 7671 8.1); a trust anchor ("2 x x", PKIX "0 x x")
 * that expires before then stops matching itself (RFC 7671 5.2).  Only
 * a certificate that no lasting record covers is flagged.
 */
static void
check_will_stop(json_t *alerts, const char *domain, const json_t *host, const struct alert_when *w)
{
	const char *name = jstr(host, "host");
	json_t *addrs = json_object_get(host, "addresses"), *ad, *a = NULL;
	json_t *recs = json_object_get(json_object_get(host, "tlsa"), "records");
	struct buf b = BUF_INIT, state = BUF_INIT;
	const char *fix_kind = NULL;
	time_t earliest = 0, fix_ta_date = 0;
	char at[16], d[16];
	size_t i, k;

	if (w->at == 0)
		return;
	date_text(at, sizeof(at), w->at);
	json_array_foreach(addrs, i, ad)
	{
		const json_t *tls = json_object_get(ad, "tls");
		json_t *matches = json_object_get(json_object_get(tls, "dane"), "matches"), *m;
		time_t leaf_end = jtime(addr_cert(ad), "not_after"), stop = 0;
		bool next_key = jis(ad, "rollover", "next-key-published"), lasting = false;

		if (json_array_size(matches) == 0 || leaf_end == 0)
			continue;
		json_array_foreach(matches, k, m)
		{
			const json_t *rec = json_array_get(recs, (size_t)jint(m, "record"));
			long long usage = jint(rec, "usage");
			time_t end = usage == 3 || usage == 1 ? leaf_end : jtime(m, "not_after");
			bool stops = end != 0 && end < w->at &&
			             !((usage == 3 || usage == 1) && next_key);

			if (!stops) {
				lasting = true;
				break;
			}
			if (stop == 0 || end < stop)
				stop = end;
		}
		if (lasting)
			continue;
		if (a == NULL &&
		    (a = alert_raise(alerts, ALERT_WILL_STOP, true, name, domain)) == NULL) {
			buf_release(&b);
			buf_release(&state);
			return;
		}
		if (earliest == 0 || stop < earliest)
			earliest = stop;
		date_text(d, sizeof(d), stop);
		buf_printf(&state, "%s%s:%s", state.len ? "," : "", orq(jstr(ad, "address")), d);
		evidence(a,
		         "%s: the certificate in use is matched only by records that stop "
		         "matching before %s:",
		         orq(jstr(ad, "address")), at);
		evidence_cert(a, ad);
		json_array_foreach(matches, k, m)
		{
			const json_t *rec = json_array_get(recs, (size_t)jint(m, "record"));
			long long usage = jint(rec, "usage"), sel = jint(rec, "selector");

			if (usage == 3 || usage == 1) {
				evidence(a,
				         "  %s matches the leaf (bound to this %s; the certificate "
				         "expires %s%s)",
				         record_text(&b, rec), sel == 0 ? "certificate" : "key",
				         orq(jstr(addr_cert(ad), "not_after")),
				         next_key ? "" : ", no record for a next key");
				if (fix_kind == NULL || sel == 0)
					fix_kind = sel == 0 ? "cert" : "key";
			} else {
				evidence(a,
				         "  %s matches the trust anchor at depth %lld, which "
				         "expires %s",
				         record_text(&b, rec), jint(m, "depth"),
				         orq(jstr(m, "not_after")));
				if (fix_kind == NULL) {
					fix_kind = "ta";
					fix_ta_date = jtime(m, "not_after");
				}
			}
		}
	}
	if (a == NULL)
		return;
	date_text(d, sizeof(d), earliest);
	set_text(a, "title", "TLSA will stop matching on %s by %s", name, d);
	set_summary(a);
	json_object_set_new(a, "state", json_string(buf_str(&state)));
	if (strcmp(fix_kind, "cert") == 0)
		set_text(a, "fix",
		         "The certificate of %s expires %s and its TLSA record is bound to that "
		         "certificate (3 0 x), so the renewed one will not match: publish a 3 1 1 "
		         "record for the new key (\"%s IN TLSA 3 1 1 <SPKI SHA2-256>\", e.g. from "
		         "danemail record tlsa) before switching, at least two TTLs ahead, and "
		         "prefer 3 1 1 to 3 0 1 (RFC 7671 5.1, 8.1).",
		         name, d, tlsa_owner(host));
	else if (strcmp(fix_kind, "key") == 0)
		set_text(
		        a, "fix",
		        "The certificate of %s expires %s and the TLSA records pin its key (3 1 x) "
		        "with no record for a next key: renew with the same key (e.g. certbot "
		        "--reuse-key), or publish a 3 1 1 record for the new key before switching, "
		        "at least two TTLs ahead (RFC 7671 8.1, \"current + next\").",
		        name, d);
	else {
		date_text(d, sizeof(d), fix_ta_date);
		set_text(
		        a, "fix",
		        "The trust anchor the TLSA record of %s names expires %s: publish a record "
		        "for its successor (2 x x for the new CA certificate, or 3 1 1 for the "
		        "server's key) before then, at least two TTLs ahead (RFC 7671 5.2, 8.1).",
		        name, d);
	}
	buf_release(&b);
	buf_release(&state);
}

void
alerts_domain(json_t *alerts, const json_t *cur, const json_t *prev, const json_t *open,
              const struct alert_when *w)
{
	const char *domain = jstr(cur, "domain");
	json_t *hosts = json_object_get(cur, "hosts"), *h;
	size_t i;

	if (domain == NULL || json_object_get(cur, "error"))
		return;
	check_bogus_domain(alerts, domain, cur);
	json_array_foreach(hosts, i, h)
	{
		const char *name = jstr(h, "host");
		const json_t *ph = prev && name ? find_host(prev, name) : NULL;

		if (name == NULL)
			continue;
		check_mismatch(alerts, domain, h, ph);
		check_bogus_host(alerts, domain, h);
		check_starttls(alerts, domain, h, ph, open);
		check_downgrade(alerts, domain, h, ph, open);
		check_will_stop(alerts, domain, h, w);
	}
	check_mtasts(alerts, domain, cur, prev);
}

const char *
alerts_domain_unknown(const json_t *cur)
{
	const char *v = jstr(cur, "verdict"), *st = jstr(cur, "starttls");

	if (json_object_get(cur, "error"))
		return "not a domain name";
	if (jis(json_object_get(cur, "mx"), "kind", "lookup-failed"))
		return "the MX lookup failed";
	if (v && strcmp(v, "lookup-failed") == 0)
		return "a DNS lookup failed";
	if (st && strcmp(st, "untestable") == 0)
		return "no mail server could be tested";
	if (v && (strcmp(v, "unreachable") == 0 || strcmp(v, "not-testable") == 0))
		return "a mail server could not be tested";
	return NULL;
}

int
alert_severity_code(const json_t *alert)
{
	if (jis(alert, "severity", "critical"))
		return 2;
	if (jis(alert, "severity", "warning"))
		return 1;
	return 0;
}

bool
alert_same(const json_t *a, const json_t *b)
{
	static const char *const fields[] = {"kind", "subject", "severity", "domains", "state"};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!json_equal(json_object_get(a, fields[i]), json_object_get(b, fields[i])))
			return false;
	return true;
}
