/*
 * mailpolicy.c - the domain policies a transport scan reads besides MX and
 * TLSA: SPF, DMARC, TLS-RPT and MTA-STS (see mailpolicy.h).
 *
 * Trusts nothing it parses: TXT RDATA comes from DNS, policy files from an
 * HTTPS server run by the domain's owner (or whoever answers for it).  The
 * parsers are bounded by their input length, never write untrusted bytes
 * into fixed-size arrays (only fixed words the parser chose, and reasons
 * with escaped, truncated snippets), and every record kept for display is
 * escaped (util/escape.h).
 *
 * Implements:
 *   RFC 7208 3.3 (a TXT record's strings are joined without separators),
 *   4.4 and 4.5 (record selection: none / temperror / permerror for
 *   several), 4.6.1 and 12 (term syntax), 4.6.4 (DNS lookup limit 10;
 *   counted over the record's own terms, include: and redirect= targets are
 *   NOT fetched or followed, and the void-lookup limit needs evaluation, so
 *   it is not checked here);
 *   RFC 7489 6.3, 6.4 (DMARC tags; 6.6.3 record discovery, at the
 *   organizational domain of 3.2 too, found with libpsl's public suffix list);
 *   RFC 8460 3 (TLS-RPT record);
 *   RFC 8461 3.1 (the _mta-sts TXT record), 3.2 (policy file), 3.3 (HTTPS
 *   fetch: PKIX, no redirects, status 200, text/plain), 4.1 (mx matching).
 *
 * The fetcher drives libcurl's multi-socket API from a libevent base: curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION, one persistent
 * event each) and when to wake it (CURLMOPT_TIMERFUNCTION, one timer); both
 * hand control back through curl_multi_socket_action.  Completed transfers
 * are collected after every such call and reported, each exactly once,
 * from the event loop.  A fetcher belongs to its base's thread.
 */
#include "mailpolicy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libpsl.h>

#include "dns/rr.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

/* RFC 8461 3.2 does not bound the file; 64 KB is far above any real policy. */
#define MTASTS_POLICY_MAX 65536
/* RFC 8461 3.2: max_age at most 31557600 (one year). */
#define MTASTS_MAX_AGE_MAX 31557600L
/* RFC 7208 4.6.4. */
#define SPF_DNS_LOOKUP_LIMIT 10
/* A fetch with timeout_ms 0 gives up after this long. */
#define MTASTS_FETCH_DEFAULT_TIMEOUT_MS 10000u
/* How much of an offending term a reason quotes. */
#define WHY_SNIPPET 40

/*
 * Small helpers
 */

static void why_fmt(char *why, size_t n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
why_fmt(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

/* "msg \"escaped snippet\"" into why (truncated). */
static void
why_quote(char *why, size_t n, const char *msg, const char *p, size_t len)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, msg);
	buf_puts(&b, " \"");
	escape_append(&b, p, len, WHY_SNIPPET);
	buf_putc(&b, '"');
	snprintf(why, n, "%s", buf_str(&b));
	buf_release(&b);
}

/* An escaped, NUL-terminated copy of n untrusted bytes. */
static char *
escaped_dup(const char *p, size_t n)
{
	struct buf b = BUF_INIT;

	escape_append(&b, p, n, 0);
	return (char *)buf_steal(&b, NULL);
}

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* Whether c is one of the characters of set (never true for NUL). */
static bool
in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Whether s[0..n) equals the C string w, ignoring ASCII case. */
static bool
span_ieq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* Whether s[0..n) equals the C string w exactly. */
static bool
span_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

static void
trim_wsp(const char **s, size_t *n)
{
	while (*n > 0 && is_wsp((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_wsp((*s)[*n - 1]))
		(*n)--;
}

/* Like trim_wsp, plus CR and LF (DKIM-style FWS, RFC 6376 3.2, used by DMARC). */
static void
trim_fws(const char **s, size_t *n)
{
	while (*n > 0 && (is_wsp((*s)[0]) || (*s)[0] == '\r' || (*s)[0] == '\n')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && (is_wsp((*s)[*n - 1]) || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
		(*n)--;
}

/* 1..maxdigits decimal digits; *v gets the value.  No sign, no space. */
static bool
parse_decimal(const char *s, size_t n, size_t maxdigits, unsigned long long *v)
{
	size_t i;

	if (n == 0 || n > maxdigits)
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/*
 * TXT records: joining and selection
 */

/*
 * Join the character-strings of one TXT RDATA (RFC 7208 3.3: concatenated
 * with no separator) into out.  False if a length runs past the end; out
 * then holds what could be read.
 */
static bool
txt_join(const uint8_t *rdata, size_t len, struct buf *out)
{
	size_t pos = 0;

	buf_reset(out);
	while (pos < len) {
		size_t n = rdata[pos++];

		if (n > len - pos) {
			buf_append(out, rdata + pos, len - pos);
			return false;
		}
		buf_append(out, rdata + pos, n);
		pos += n;
	}
	return true;
}

/*
 * What a TXT answer lets us conclude before looking at records: ABSENT,
 * LOOKUP_FAILED, or VALID meaning "there are records to look at".
 */
static enum policy_record_state
txt_answer_state(const struct dns_answer *a, char *why, size_t why_len)
{
	if (a == NULL) {
		why_fmt(why, why_len, "no answer");
		return POLICY_LOOKUP_FAILED;
	}
	/* Bogus: possibly forged or stripped; never "absent". */
	if (a->sec == DNS_SEC_BOGUS) {
		why_fmt(why, why_len, "TXT answer is bogus: %s", a->why ? a->why : "no reason");
		return POLICY_LOOKUP_FAILED;
	}
	switch (a->outcome) {
	case DNS_OUTCOME_DATA:
		if (a->sec == DNS_SEC_INDETERMINATE)
			break;
		if (a->qtype != RR_TYPE_TXT) {
			why_fmt(why, why_len, "not a TXT answer (type %u)", (unsigned)a->qtype);
			return POLICY_LOOKUP_FAILED;
		}
		return POLICY_VALID;
	case DNS_OUTCOME_NODATA:
	case DNS_OUTCOME_NXDOMAIN:
		/* RFC 7208 4.5, RFC 7489 6.6.3, RFC 8461 3.1: no record, proven. */
		if (a->sec == DNS_SEC_INDETERMINATE)
			break;
		return POLICY_ABSENT;
	case DNS_OUTCOME_SERVFAIL:
	case DNS_OUTCOME_TIMEOUT:
	case DNS_OUTCOME_ERROR:
		/* RFC 7208 4.4: temperror, never "none". */
		break;
	}
	why_fmt(why, why_len, "TXT lookup %s (%s)%s%s", dns_outcome_name(a->outcome),
	        dns_sec_name(a->sec), a->why ? ": " : "", a->why ? a->why : "");
	return POLICY_LOOKUP_FAILED;
}

/* Whether a joined TXT text is a record of the kind being judged. */
typedef bool txt_kind_fn(const char *text, size_t len);

/*
 * Pick the one record of a kind from a TXT RRset.  Returns ABSENT,
 * LOOKUP_FAILED, MULTIPLE, INVALID (the one record is not even well-formed
 * TXT, or holds a NUL byte: *record still holds it), or VALID: exactly one
 * record, its joined text in *record, for the caller to parse.
 */
static enum policy_record_state
txt_select(const struct dns_answer *a, const char *kind, txt_kind_fn *is_kind, struct buf *record,
           char *why, size_t why_len)
{
	enum policy_record_state st = txt_answer_state(a, why, why_len);
	struct buf text = BUF_INIT;
	size_t i, found = 0;
	bool malformed = false;

	if (st != POLICY_VALID)
		return st;
	for (i = 0; i < a->n_rrs; i++) {
		bool ok = txt_join(a->rrs[i].rdata, a->rrs[i].len, &text);

		if (!is_kind((const char *)buf_str(&text), text.len))
			continue;
		if (found++ == 0) {
			buf_reset(record);
			buf_append(record, text.data, text.len);
			malformed = !ok;
		}
	}
	buf_release(&text);
	if (found == 0)
		return POLICY_ABSENT;
	if (found > 1) {
		why_fmt(why, why_len, "%zu %s records", found, kind);
		return POLICY_MULTIPLE;
	}
	if (malformed) {
		why_fmt(why, why_len, "malformed TXT RDATA (a string runs past the end)");
		return POLICY_INVALID;
	}
	if (memchr(record->data, '\0', record->len) != NULL) {
		why_fmt(why, why_len, "NUL byte in the record");
		return POLICY_INVALID;
	}
	return POLICY_VALID;
}

/* A record that starts with `version`, followed by the end, WSP or ';' (RFC 8460 3, 8461 3.1). */
static bool
starts_version(const char *t, size_t n, const char *version)
{
	size_t v = strlen(version);

	if (n < v || memcmp(t, version, v) != 0)
		return false;
	return n == v || t[v] == ';' || is_wsp(t[v]);
}

const char *
policy_record_state_name(enum policy_record_state s)
{
	switch (s) {
	case POLICY_ABSENT:
		return "absent";
	case POLICY_VALID:
		return "valid";
	case POLICY_MULTIPLE:
		return "multiple";
	case POLICY_INVALID:
		return "invalid";
	case POLICY_LOOKUP_FAILED:
		return "lookup-failed";
	}
	return "unknown";
}

/*
 * SPF (RFC 7208)
 */

/* RFC 7208 4.5: "v=spf1" (case-insensitive) then a space or the end. */
static bool
spf_is_record(const char *t, size_t n)
{
	return n >= 6 && strncasecmp(t, "v=spf1", 6) == 0 && (n == 6 || t[6] == ' ');
}

/*
 * macro-string (RFC 7208 7.1): visible characters, '%' only in "%%", "%_",
 * "%-" or "%{" letter *DIGIT ["r"] *delimiter "}".  exp_letters allows c, r
 * and t (explanation text only).  *ends_macro: the last token was a %{...}.
 */
static bool
spf_macro_string(const char *s, size_t n, bool exp_letters, bool *ends_macro)
{
	size_t i = 0;

	*ends_macro = false;
	while (i < n) {
		int c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e)
			return false;
		if (c != '%') {
			i++;
			*ends_macro = false;
			continue;
		}
		if (i + 1 >= n)
			return false;
		c = s[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			i += 2;
			*ends_macro = false;
			continue;
		}
		if (c != '{' || i + 2 >= n)
			return false;
		i += 2;
		c = tolower((unsigned char)s[i]);
		if (!in_set(c, "slodiphv") && !(exp_letters && in_set(c, "crt")))
			return false;
		i++;
		while (i < n && is_digit(s[i]))
			i++;
		if (i < n && (s[i] == 'r' || s[i] == 'R'))
			i++;
		while (i < n && in_set(s[i], ".-+,/_="))
			i++;
		if (i >= n || s[i] != '}')
			return false;
		i++;
		*ends_macro = true;
	}
	return true;
}

/*
 * toplabel (RFC 7208 7.1): alphanumerics and inner hyphens, not all digits
 * (so a bare IP address is no domain).
 */
static bool
spf_toplabel(const char *s, size_t n)
{
	bool alpha = false;
	size_t i;

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '-' || is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha;
}

/* domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand. */
static bool
spf_domain_spec(const char *s, size_t n)
{
	bool ends_macro;
	size_t dot;

	if (n == 0 || !spf_macro_string(s, n, false, &ends_macro))
		return false;
	if (ends_macro)
		return true;
	if (s[n - 1] == '.')
		n--;
	for (dot = n; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0)
		return false;
	return spf_toplabel(s + dot, n - dot);
}

/* One CIDR length after the '/': "0" or 1-9 then up to two digits, at most max. */
static bool
spf_cidr(const char *s, size_t n, unsigned long long max)
{
	unsigned long long v;

	if (n > 1 && s[0] == '0')
		return false;
	return parse_decimal(s, n, 3, &v) && v <= max;
}

/* dual-cidr-length = [ "/" ip4 ] [ "//" ip6 ]; s starts at the first '/' (or n == 0). */
static bool
spf_dual_cidr(const char *s, size_t n)
{
	const char *v6;

	if (n == 0)
		return true;
	if (s[0] != '/' || n < 2)
		return false;
	if (s[1] == '/')
		return spf_cidr(s + 2, n - 2, 128);
	v6 = memmem(s + 1, n - 1, "//", 2);
	if (v6 == NULL)
		return spf_cidr(s + 1, n - 1, 32);
	return spf_cidr(s + 1, (size_t)(v6 - s) - 1, 32) &&
	       spf_cidr(v6 + 2, n - (size_t)(v6 + 2 - s), 128);
}

/* ip4:/ip6: argument: an address, then an optional "/len". */
static bool
spf_ip_network(const char *s, size_t n, int af)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];

	if (alen == 0 || alen >= sizeof(text))
		return false;
	memcpy(text, s, alen);
	text[alen] = '\0';
	if (inet_pton(af, text, addr) != 1)
		return false;
	if (slash == NULL)
		return true;
	return spf_cidr(slash + 1, n - alen - 1, af == AF_INET ? 32 : 128);
}

/* modifier name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); its length, 0 if none. */
static size_t
spf_name_len(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_alpha(s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			break;
	return i;
}

struct spf_parse {
	struct spf_info *out;
	bool seen_redirect, seen_exp;
};

/* One term (RFC 7208 4.6.1, 12); false and out->why on a syntax error. */
static bool
spf_term(struct spf_parse *ps, const char *t, size_t n)
{
	struct spf_info *out = ps->out;
	const char *term = t, *arg;
	size_t term_len = n, name_len, alen;
	char qualifier = 0;

	if (in_set(t[0], "+-~?")) {
		qualifier = t[0];
		t++;
		n--;
		if (n == 0) {
			why_quote(out->why, sizeof(out->why), "qualifier without a mechanism", term,
			          term_len);
			return false;
		}
	} else if ((name_len = spf_name_len(t, n)) > 0 && name_len < n && t[name_len] == '=') {
		/* A modifier (RFC 7208 6): name=value, no qualifier. */
		bool is_redirect = span_ieq(t, name_len, "redirect");
		bool is_exp = span_ieq(t, name_len, "exp");
		bool ends_macro;

		arg = t + name_len + 1;
		alen = n - name_len - 1;
		if (is_redirect || is_exp) {
			bool *seen = is_redirect ? &ps->seen_redirect : &ps->seen_exp;

			if (*seen) {
				/* RFC 7208 6: at most once each. */
				why_quote(out->why, sizeof(out->why), "modifier repeated", term,
				          term_len);
				return false;
			}
			*seen = true;
			if (!spf_domain_spec(arg, alen)) {
				why_quote(out->why, sizeof(out->why), "bad domain-spec in", term,
				          term_len);
				return false;
			}
			if (is_redirect)
				out->dns_mechanisms++;
			return true;
		}
		if (!spf_macro_string(arg, alen, true, &ends_macro)) {
			why_quote(out->why, sizeof(out->why), "bad modifier value in", term,
			          term_len);
			return false;
		}
		return true;
	}

	for (name_len = 0; name_len < n && t[name_len] != ':' && t[name_len] != '/'; name_len++)
		;
	arg = t + name_len;
	alen = n - name_len;
	if (span_ieq(t, name_len, "all")) {
		if (alen != 0)
			goto bad_argument;
		if (out->all[0] == '\0')
			snprintf(out->all, sizeof(out->all), "%call", qualifier ? qualifier : '+');
		return true;
	}
	if (span_ieq(t, name_len, "include") || span_ieq(t, name_len, "exists")) {
		if (alen < 2 || arg[0] != ':' || !spf_domain_spec(arg + 1, alen - 1))
			goto bad_argument;
		out->dns_mechanisms++;
		return true;
	}
	if (span_ieq(t, name_len, "a") || span_ieq(t, name_len, "mx")) {
		const char *slash = memchr(arg, '/', alen);
		size_t dlen = slash ? (size_t)(slash - arg) : alen;

		if (dlen > 0 && (arg[0] != ':' || !spf_domain_spec(arg + 1, dlen - 1)))
			goto bad_argument;
		if (!spf_dual_cidr(arg + dlen, alen - dlen))
			goto bad_argument;
		out->dns_mechanisms++;
		return true;
	}
	if (span_ieq(t, name_len, "ptr")) {
		if (alen > 0 && (arg[0] != ':' || !spf_domain_spec(arg + 1, alen - 1)))
			goto bad_argument;
		out->dns_mechanisms++;
		return true;
	}
	if (span_ieq(t, name_len, "ip4") || span_ieq(t, name_len, "ip6")) {
		int af = span_ieq(t, name_len, "ip4") ? AF_INET : AF_INET6;

		if (alen < 2 || arg[0] != ':')
			goto bad_argument;
		/* ip6 addresses hold ':': the argument is everything after the first one. */
		if (!spf_ip_network(arg + 1, alen - 1, af))
			goto bad_argument;
		return true;
	}
	why_quote(out->why, sizeof(out->why), "unknown mechanism", term, term_len);
	return false;

bad_argument:
	why_quote(out->why, sizeof(out->why), "bad argument in", term, term_len);
	return false;
}

/* Parse a selected record (known to start "v=spf1" + space or end). */
static bool
spf_parse(const char *s, size_t len, struct spf_info *out)
{
	struct spf_parse ps = {out, false, false};
	size_t pos = 6;

	while (pos < len) {
		size_t start;

		/* terms = *( 1*SP ( directive / modifier ) ), record ends with *SP */
		while (pos < len && s[pos] == ' ')
			pos++;
		if (pos == len)
			break;
		start = pos;
		while (pos < len && s[pos] != ' ')
			pos++;
		if (!spf_term(&ps, s + start, pos - start))
			return false;
	}
	return true;
}

void
spf_judge(const struct dns_answer *txt, struct spf_info *out)
{
	struct buf rec = BUF_INIT;

	memset(out, 0, sizeof(*out));
	/* RFC 7208 4.5: more than one v=spf1 record is a permerror. */
	out->state = txt_select(txt, "v=spf1", spf_is_record, &rec, out->why, sizeof(out->why));
	if (out->state == POLICY_VALID || out->state == POLICY_INVALID)
		out->record = escaped_dup((const char *)buf_str(&rec), rec.len);
	if (out->state == POLICY_VALID) {
		if (!spf_parse((const char *)rec.data, rec.len, out)) {
			out->state = POLICY_INVALID;
			out->dns_mechanisms = 0;
			out->all[0] = '\0';
		} else if (out->dns_mechanisms > SPF_DNS_LOOKUP_LIMIT) {
			/* the record's own terms already make every check a permerror */
			out->state = POLICY_INVALID;
			out->too_many_lookups = true;
			why_fmt(out->why, sizeof(out->why),
			        "%d DNS-querying terms, limit %d (RFC 7208 4.6.4)",
			        out->dns_mechanisms, SPF_DNS_LOOKUP_LIMIT);
		}
	}
	buf_release(&rec);
}

void
spf_info_clear(struct spf_info *s)
{
	if (s == NULL)
		return;
	free(s->record);
	memset(s, 0, sizeof(*s));
}

/*
 * Tag lists: DMARC (loose, DKIM-style) and TLS-RPT / MTA-STS (strict ABNF)
 */

struct tag {
	const char *name, *value;
	size_t name_len, value_len;
};

#define TAGS_MAX 32

struct tag_list {
	struct tag tags[TAGS_MAX];
	size_t n;
};

/* The tag named name (case-insensitive if icase), or NULL. */
static const struct tag *
tag_find(const struct tag_list *l, const char *name, bool icase)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (icase ? span_ieq(l->tags[i].name, l->tags[i].name_len, name)
		          : span_eq(l->tags[i].name, l->tags[i].name_len, name))
			return &l->tags[i];
	return NULL;
}

/* Whether a tag of this name appears earlier in the list. */
static bool
tag_repeated(const struct tag_list *l, const struct tag *t, bool icase)
{
	const struct tag *first = NULL;
	char name[64];

	if (t->name_len >= sizeof(name))
		return false;
	memcpy(name, t->name, t->name_len);
	name[t->name_len] = '\0';
	first = tag_find(l, name, icase);
	return first != NULL && first != t;
}

/*
 * DMARC tag-list (RFC 7489 6.4, with RFC 6376 3.2 syntax): tag-spec *(";"
 * tag-spec) [";"], optional whitespace around names, '=' and values.  Empty
 * specs are skipped.  Tag names: ALPHA *(ALPHA / DIGIT / "_").
 */
static bool
dmarc_tags(const char *s, size_t len, struct tag_list *l, char *why, size_t why_len)
{
	size_t pos = 0;

	l->n = 0;
	while (pos <= len) {
		const char *spec = s + pos, *eq, *semi = memchr(s + pos, ';', len - pos);
		size_t n = semi ? (size_t)(semi - spec) : len - pos;
		struct tag *t;
		size_t i;

		pos += n + 1;
		trim_fws(&spec, &n);
		if (n == 0)
			continue;
		if ((eq = memchr(spec, '=', n)) == NULL) {
			why_quote(why, why_len, "tag without '='", spec, n);
			return false;
		}
		if (l->n == TAGS_MAX) {
			why_fmt(why, why_len, "more than %d tags", TAGS_MAX);
			return false;
		}
		t = &l->tags[l->n++];
		t->name = spec;
		t->name_len = (size_t)(eq - spec);
		t->value = eq + 1;
		t->value_len = n - t->name_len - 1;
		trim_fws(&t->name, &t->name_len);
		trim_fws(&t->value, &t->value_len);
		if (t->name_len == 0 || !is_alpha(t->name[0])) {
			why_quote(why, why_len, "bad tag name in", spec, n);
			return false;
		}
		for (i = 1; i < t->name_len; i++)
			if (!is_alnum(t->name[i]) && t->name[i] != '_') {
				why_quote(why, why_len, "bad tag name in", spec, n);
				return false;
			}
		/* RFC 6376 3.2: a repeated tag makes the whole list invalid. */
		if (tag_repeated(l, t, true)) {
			why_quote(why, why_len, "tag repeated:", t->name, t->name_len);
			return false;
		}
	}
	return true;
}

/*
 * Strict field list (RFC 8460 3, RFC 8461 3.1): the version, then
 * 1*(*WSP ";" *WSP field) [*WSP ";" *WSP], field = name "=" value with
 * name (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."), names
 * case-sensitive.  Values are checked by the caller.
 */
static bool
strict_fields(const char *s, size_t len, size_t version_len, struct tag_list *l, char *why,
              size_t why_len)
{
	size_t pos = version_len;

	l->n = 0;
	for (;;) {
		const char *field, *eq, *end;
		struct tag *t;
		size_t n, i;

		while (pos < len && is_wsp(s[pos]))
			pos++;
		if (pos == len)
			return true;
		if (s[pos] != ';') {
			why_quote(why, why_len, "expected ';' before", s + pos, len - pos);
			return false;
		}
		pos++;
		while (pos < len && is_wsp(s[pos]))
			pos++;
		if (pos == len)
			return true; /* the optional final delimiter */
		field = s + pos;
		end = memchr(field, ';', len - pos);
		n = end ? (size_t)(end - field) : len - pos;
		pos += n;
		while (n > 0 && is_wsp(field[n - 1]))
			n--;
		if (n == 0) {
			why_fmt(why, why_len, "empty field");
			return false;
		}
		if ((eq = memchr(field, '=', n)) == NULL) {
			why_quote(why, why_len, "field without '='", field, n);
			return false;
		}
		if (l->n == TAGS_MAX) {
			why_fmt(why, why_len, "more than %d fields", TAGS_MAX);
			return false;
		}
		t = &l->tags[l->n++];
		t->name = field;
		t->name_len = (size_t)(eq - field);
		t->value = eq + 1;
		t->value_len = n - t->name_len - 1;
		if (t->name_len == 0 || t->name_len > 32 || !is_alnum(t->name[0])) {
			why_quote(why, why_len, "bad field name in", field, n);
			return false;
		}
		for (i = 1; i < t->name_len; i++)
			if (!is_alnum(t->name[i]) && !in_set(t->name[i], "_-.")) {
				why_quote(why, why_len, "bad field name in", field, n);
				return false;
			}
	}
}

/* An extension value: 1*(%x21-3A / %x3C / %x3E-7E), i.e. visible but ';' and '='. */
static bool
strict_ext_value(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ';' || s[i] == '=')
			return false;
	return true;
}

/* A URI scheme (RFC 3986 3.1) then ':' and something; the length of "scheme:" or 0. */
static size_t
uri_scheme_len(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_alpha(s[0]))
		return 0;
	for (i = 1; i < n && (is_alnum(s[i]) || in_set(s[i], "+-.")); i++)
		;
	if (i >= n - 1 || s[i] != ':')
		return 0;
	return i + 1;
}

/* Whether all bytes are visible ASCII (URIs hold no spaces). */
static bool
visible(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * A comma-separated URI list; https_mailto_only: RFC 8460 3 (mailto: or
 * https:), else any scheme with an optional "!size" (RFC 7489 6.4).
 */
static bool
uri_list(const char *s, size_t n, bool https_mailto_only, char *why, size_t why_len)
{
	size_t pos = 0;

	while (pos <= n) {
		const char *uri = s + pos, *comma = memchr(s + pos, ',', n - pos);
		size_t ulen = comma ? (size_t)(comma - uri) : n - pos;
		size_t scheme;

		pos += ulen + 1;
		trim_wsp(&uri, &ulen);
		scheme = uri_scheme_len(uri, ulen);
		if (scheme == 0 || !visible(uri, ulen)) {
			why_quote(why, why_len, "bad URI", uri, ulen);
			return false;
		}
		if (https_mailto_only && !span_ieq(uri, scheme, "mailto:") &&
		    !span_ieq(uri, scheme, "https:")) {
			why_quote(why, why_len, "rua URI neither mailto: nor https:", uri, ulen);
			return false;
		}
	}
	return true;
}

/*
 * DMARC (RFC 7489)
 */

/* RFC 7489 6.6.3: the first tag must be v=DMARC1, value exactly (case-sensitive). */
static bool
dmarc_is_record(const char *t, size_t n)
{
	const char *semi = memchr(t, ';', n), *eq, *name = t, *value;
	size_t len = semi ? (size_t)(semi - t) : n, name_len, value_len;

	if ((eq = memchr(t, '=', len)) == NULL)
		return false;
	name_len = (size_t)(eq - t);
	value = eq + 1;
	value_len = len - name_len - 1;
	trim_fws(&name, &name_len);
	trim_fws(&value, &value_len);
	return span_ieq(name, name_len, "v") && span_eq(value, value_len, "DMARC1");
}

/* p= / sp= values (RFC 7489 6.3), case-insensitive; copied lower-case into out. */
static bool
dmarc_policy_value(const struct tag *t, char *out, size_t out_len)
{
	static const char *const words[] = {"none", "quarantine", "reject"};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (span_ieq(t->value, t->value_len, words[i])) {
			snprintf(out, out_len, "%s", words[i]);
			return true;
		}
	return false;
}

/*
 * RFC 7489 6.6.3 step 6: a record whose p= is missing or bad, or whose sp=
 * is bad, counts as p=none when its rua= holds a valid URI; why says so.
 */
static bool
dmarc_bad_policy(struct dmarc_info *out)
{
	size_t n;

	if (!out->has_rua)
		return false;
	snprintf(out->policy, sizeof(out->policy), "none");
	out->sp[0] = '\0';
	n = strlen(out->why);
	snprintf(out->why + n, sizeof(out->why) - n, "; taken as p=none (RFC 7489 6.6.3)");
	return true;
}

static bool
dmarc_parse(const char *s, size_t len, struct dmarc_info *out)
{
	struct tag_list l;
	const struct tag *t;
	unsigned long long pct;

	if (!dmarc_tags(s, len, &l, out->why, sizeof(out->why)))
		return false;
	if ((t = tag_find(&l, "rua", true)) != NULL) {
		if (!uri_list(t->value, t->value_len, false, out->why, sizeof(out->why)))
			return false;
		out->has_rua = true;
	}
	if ((t = tag_find(&l, "pct", true)) != NULL) {
		if (!parse_decimal(t->value, t->value_len, 3, &pct) || pct > 100) {
			why_quote(out->why, sizeof(out->why), "pct= is not 0-100:", t->value,
			          t->value_len);
			return false;
		}
		out->pct = (int)pct;
	}
	if ((t = tag_find(&l, "p", true)) == NULL) {
		why_fmt(out->why, sizeof(out->why), "no p= tag (RFC 7489 6.3)");
		return dmarc_bad_policy(out);
	}
	if (!dmarc_policy_value(t, out->policy, sizeof(out->policy))) {
		why_quote(out->why, sizeof(out->why),
		          "p= is not none, quarantine or reject:", t->value, t->value_len);
		return dmarc_bad_policy(out);
	}
	if ((t = tag_find(&l, "sp", true)) != NULL &&
	    !dmarc_policy_value(t, out->sp, sizeof(out->sp))) {
		why_quote(out->why, sizeof(out->why),
		          "sp= is not none, quarantine or reject:", t->value, t->value_len);
		return dmarc_bad_policy(out);
	}
	return true;
}

/* Judge one _dmarc TXT RRset (no discovery). */
static void
dmarc_judge_one(const struct dns_answer *txt, struct dmarc_info *out)
{
	struct buf rec = BUF_INIT;

	memset(out, 0, sizeof(*out));
	out->state = txt_select(txt, "v=DMARC1", dmarc_is_record, &rec, out->why, sizeof(out->why));
	if (out->state == POLICY_VALID || out->state == POLICY_INVALID)
		out->record = escaped_dup((const char *)buf_str(&rec), rec.len);
	out->pct = 100;
	if (out->state == POLICY_VALID && !dmarc_parse((const char *)rec.data, rec.len, out)) {
		out->state = POLICY_INVALID;
		out->policy[0] = out->sp[0] = '\0';
		out->pct = 100;
		out->has_rua = false;
	}
	buf_release(&rec);
}

const char *
dmarc_found_name(enum dmarc_found f)
{
	switch (f) {
	case DMARC_FOUND_NONE:
		return "none";
	case DMARC_FOUND_DOMAIN:
		return "domain";
	case DMARC_FOUND_ORG_DOMAIN:
		return "org-domain";
	}
	return "none";
}

void
dmarc_judge(const struct dns_answer *txt, struct dmarc_info *out)
{
	dmarc_judge_one(txt, out);
	if (out->state == POLICY_VALID || out->state == POLICY_INVALID ||
	    out->state == POLICY_MULTIPLE)
		out->found_at = DMARC_FOUND_DOMAIN;
	if (out->state == POLICY_VALID)
		snprintf(out->effective, sizeof(out->effective), "%s", out->policy);
}

bool
dmarc_wants_org_domain(struct dmarc_info *d, const char *domain, const char *org_domain)
{
	size_t n = strlen(domain);

	free(d->org_domain);
	d->org_domain = org_domain ? xstrdup(org_domain) : NULL;
	if (n > 0 && domain[n - 1] == '.')
		n--;
	/* RFC 7489 6.6.3 step 3: only an empty set sends the receiver to the org domain */
	return d->state == POLICY_ABSENT && org_domain &&
	       !(strlen(org_domain) == n && strncasecmp(org_domain, domain, n) == 0);
}

void
dmarc_judge_org_domain(const struct dns_answer *txt, struct dmarc_info *d)
{
	struct dmarc_info org;

	dmarc_judge_one(txt, &org);
	if (org.state == POLICY_ABSENT) {
		dmarc_info_clear(&org);
		return; /* none at either place: absent */
	}
	org.org_domain = d->org_domain;
	d->org_domain = NULL;
	dmarc_info_clear(d);
	*d = org;
	if (d->state == POLICY_LOOKUP_FAILED) {
		/* the domain has none; whether its organization has one is unknown */
		static const char prefix[] = "organizational domain: ";
		size_t n = strlen(d->why);

		if (n > sizeof(d->why) - sizeof(prefix))
			n = sizeof(d->why) - sizeof(prefix);
		memmove(d->why + sizeof(prefix) - 1, d->why, n);
		memcpy(d->why, prefix, sizeof(prefix) - 1);
		d->why[sizeof(prefix) - 1 + n] = '\0';
		return;
	}
	d->found_at = DMARC_FOUND_ORG_DOMAIN;
	/* RFC 7489 6.3 sp=: the policy for subdomains of the organizational domain, p= if
	 * absent */
	if (d->state == POLICY_VALID)
		snprintf(d->effective, sizeof(d->effective), "%s", d->sp[0] ? d->sp : d->policy);
}

void
dmarc_info_clear(struct dmarc_info *d)
{
	if (d == NULL)
		return;
	free(d->record);
	free(d->org_domain);
	memset(d, 0, sizeof(*d));
}

/*
 * Public suffix list (libpsl)
 */

struct policy_psl {
	psl_ctx_t *ctx;
};

struct policy_psl *
policy_psl_new(const char *file, struct why *why)
{
	struct policy_psl *psl;
	psl_ctx_t *ctx;

	/* psl_latest(NULL): the newer of the built-in list and the distribution's file */
	ctx = file ? psl_load_file(file) : psl_latest(NULL);
	if (ctx == NULL) {
		struct buf esc = BUF_INIT;

		why_set(why, "public suffix list %s: cannot be loaded",
		        file ? escape_str(&esc, file) : "(libpsl's)");
		buf_release(&esc);
		return NULL;
	}
	psl = xcalloc(1, sizeof(*psl));
	psl->ctx = ctx;
	return psl;
}

struct policy_psl *
policy_psl_free(struct policy_psl *psl)
{
	if (psl) {
		psl_free(psl->ctx);
		free(psl);
	}
	return NULL;
}

bool
policy_org_domain(const struct policy_psl *psl, const char *domain, struct buf *out)
{
	struct buf name = BUF_INIT;
	const char *reg;
	size_t n = strlen(domain), i;

	if (psl == NULL || n == 0)
		return false;
	if (domain[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		buf_putc(&name, (char)tolower((unsigned char)domain[i]));
	/* RFC 7489 3.2 steps 3-4 are libpsl's registrable domain */
	reg = psl_registrable_domain(psl->ctx, buf_str(&name));
	buf_reset(out);
	if (reg)
		buf_puts(out, reg);
	buf_release(&name);
	return reg != NULL;
}

/*
 * TLS-RPT (RFC 8460 3)
 */

static bool
tlsrpt_is_record(const char *t, size_t n)
{
	return starts_version(t, n, "v=TLSRPTv1");
}

void
tlsrpt_judge(const struct dns_answer *txt, struct tlsrpt_info *out)
{
	struct buf rec = BUF_INIT;
	struct tag_list l;
	const struct tag *rua = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->state =
	        txt_select(txt, "v=TLSRPTv1", tlsrpt_is_record, &rec, out->why, sizeof(out->why));
	if (out->state == POLICY_VALID || out->state == POLICY_INVALID)
		out->record = escaped_dup((const char *)buf_str(&rec), rec.len);
	if (out->state != POLICY_VALID)
		goto done;
	out->state = POLICY_INVALID;
	if (!strict_fields((const char *)rec.data, rec.len, strlen("v=TLSRPTv1"), &l, out->why,
	                   sizeof(out->why)))
		goto done;
	for (i = 0; i < l.n; i++) {
		const struct tag *t = &l.tags[i];

		if (span_eq(t->name, t->name_len, "rua")) {
			if (rua != NULL) {
				why_fmt(out->why, sizeof(out->why), "rua= repeated");
				goto done;
			}
			rua = t;
			/* tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri) */
			if (!uri_list(t->value, t->value_len, true, out->why, sizeof(out->why)))
				goto done;
		} else if (!strict_ext_value(t->value, t->value_len)) {
			why_quote(out->why, sizeof(out->why), "bad extension value in", t->name,
			          t->name_len + 1 + t->value_len);
			goto done;
		}
	}
	if (rua == NULL) {
		why_fmt(out->why, sizeof(out->why), "no rua= field (RFC 8460 3)");
		goto done;
	}
	out->rua = escaped_dup(rua->value, rua->value_len);
	out->state = POLICY_VALID;
done:
	buf_release(&rec);
}

void
tlsrpt_info_clear(struct tlsrpt_info *t)
{
	if (t == NULL)
		return;
	free(t->record);
	free(t->rua);
	memset(t, 0, sizeof(*t));
}

/*
 * MTA-STS TXT record (RFC 8461 3.1)
 */

static bool
mtasts_txt_is_record(const char *t, size_t n)
{
	return starts_version(t, n, "v=STSv1");
}

void
mtasts_txt_judge(const struct dns_answer *txt, struct mtasts_txt_info *out)
{
	struct buf rec = BUF_INIT;
	struct tag_list l;
	const struct tag *id = NULL;
	size_t i, k;

	memset(out, 0, sizeof(*out));
	out->state =
	        txt_select(txt, "v=STSv1", mtasts_txt_is_record, &rec, out->why, sizeof(out->why));
	if (out->state != POLICY_VALID)
		goto done;
	out->state = POLICY_INVALID;
	if (!strict_fields((const char *)rec.data, rec.len, strlen("v=STSv1"), &l, out->why,
	                   sizeof(out->why)))
		goto done;
	for (i = 0; i < l.n; i++) {
		const struct tag *t = &l.tags[i];

		if (span_eq(t->name, t->name_len, "id")) {
			if (id != NULL) {
				why_fmt(out->why, sizeof(out->why), "id= repeated");
				goto done;
			}
			id = t;
			/* sts-id = %s"id=" 1*32(ALPHA / DIGIT) */
			for (k = 0; k < t->value_len && is_alnum(t->value[k]); k++)
				;
			if (t->value_len == 0 || t->value_len > 32 || k != t->value_len) {
				why_quote(out->why, sizeof(out->why),
				          "id= is not 1-32 letters and digits:", t->value,
				          t->value_len);
				goto done;
			}
		} else if (!strict_ext_value(t->value, t->value_len)) {
			why_quote(out->why, sizeof(out->why), "bad extension value in", t->name,
			          t->name_len + 1 + t->value_len);
			goto done;
		}
	}
	if (id == NULL) {
		why_fmt(out->why, sizeof(out->why), "no id= field (RFC 8461 3.1)");
		goto done;
	}
	out->id = xstrndup(id->value, id->value_len); /* alphanumerics only */
	out->state = POLICY_VALID;
done:
	buf_release(&rec);
}

void
mtasts_txt_info_clear(struct mtasts_txt_info *m)
{
	if (m == NULL)
		return;
	free(m->id);
	memset(m, 0, sizeof(*m));
}

/*
 * MTA-STS policy file (RFC 8461 3.2) and mx matching (4.1)
 */

const char *
mtasts_mode_name(enum mtasts_mode m)
{
	switch (m) {
	case MTASTS_MODE_NONE:
		return "none";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	}
	return "unknown";
}

/*
 * sts-policy-mx-value = ["*."] Domain (RFC 5321 4.1.2: sub-domain *("."
 * sub-domain), sub-domain = Let-dig [Ldh-str]); one final dot tolerated.
 */
static bool
mtasts_mx_pattern_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(s[i]) || (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* Fail a policy parse: drop what was collected, keep the reason. */
static void
mtasts_policy_fail(struct mtasts_policy *p)
{
	size_t i;

	for (i = 0; i < p->n_mx; i++)
		free(p->mx[i]);
	free(p->mx);
	p->mx = NULL;
	p->n_mx = 0;
	p->valid = false;
}

void
mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *out)
{
	bool seen_version = false, seen_mode = false, seen_max_age = false;
	size_t pos = 0, line_no = 0, cap_mx = 0;

	memset(out, 0, sizeof(*out));
	if (text == NULL) {
		why_fmt(out->why, sizeof(out->why), "no policy text");
		return;
	}
	if (len > MTASTS_POLICY_MAX) {
		why_fmt(out->why, sizeof(out->why), "policy over %d bytes", MTASTS_POLICY_MAX);
		return;
	}
	if (memchr(text, '\0', len) != NULL) {
		why_fmt(out->why, sizeof(out->why), "NUL byte in the policy");
		return;
	}
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *key, *value, *colon;
		size_t key_len, value_len, i;

		pos += n + (nl != NULL);
		line_no++;
		/* sts-policy-term-delim = CRLF / LF */
		if (n > 0 && line[n - 1] == '\r')
			n--;
		for (i = 0; i < n && is_wsp(line[i]); i++)
			;
		if (i == n)
			continue; /* tolerate blank lines */
		if ((colon = memchr(line, ':', n)) == NULL) {
			why_fmt(out->why, sizeof(out->why), "line %zu: no ':'", line_no);
			goto fail;
		}
		key = line;
		key_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = n - key_len - 1;
		trim_wsp(&value, &value_len);
		/* sts-policy-extension-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
		 */
		if (key_len == 0 || key_len > 32 || !is_alnum(key[0]))
			goto bad_key;
		for (i = 1; i < key_len; i++)
			if (!is_alnum(key[i]) && !in_set(key[i], "_-."))
				goto bad_key;
		for (i = 0; i < value_len; i++)
			if (!is_wsp(value[i]) && (value[i] < 0x21 || value[i] > 0x7e)) {
				why_fmt(out->why, sizeof(out->why),
				        "line %zu: control or non-ASCII byte in the value",
				        line_no);
				goto fail;
			}
		if (!seen_version && !span_eq(key, key_len, "version")) {
			why_fmt(out->why, sizeof(out->why),
			        "line %zu: the first field must be version", line_no);
			goto fail;
		}
		if (span_eq(key, key_len, "version")) {
			if (seen_version)
				goto repeated;
			seen_version = true;
			if (!span_eq(value, value_len, "STSv1")) {
				why_quote(out->why, sizeof(out->why),
				          "version is not STSv1:", value, value_len);
				goto fail;
			}
		} else if (span_eq(key, key_len, "mode")) {
			if (seen_mode)
				goto repeated;
			seen_mode = true;
			if (span_eq(value, value_len, "enforce"))
				out->mode = MTASTS_MODE_ENFORCE;
			else if (span_eq(value, value_len, "testing"))
				out->mode = MTASTS_MODE_TESTING;
			else if (span_eq(value, value_len, "none"))
				out->mode = MTASTS_MODE_NONE;
			else {
				why_quote(out->why, sizeof(out->why),
				          "mode is not enforce, testing or none:", value,
				          value_len);
				goto fail;
			}
		} else if (span_eq(key, key_len, "max_age")) {
			unsigned long long v;

			if (seen_max_age)
				goto repeated;
			seen_max_age = true;
			/* sts-policy-max-age-value = 1*10(DIGIT), at most 31557600 */
			if (!parse_decimal(value, value_len, 10, &v) ||
			    v > (unsigned long long)MTASTS_MAX_AGE_MAX) {
				why_quote(out->why, sizeof(out->why),
				          "max_age is not 0-31557600:", value, value_len);
				goto fail;
			}
			out->max_age = (long)v;
		} else if (span_eq(key, key_len, "mx")) {
			if (!mtasts_mx_pattern_ok(value, value_len)) {
				why_quote(out->why, sizeof(out->why), "bad mx pattern", value,
				          value_len);
				goto fail;
			}
			if (out->n_mx == cap_mx) {
				cap_mx = cap_mx ? 2 * cap_mx : 4;
				out->mx = xreallocarray(out->mx, cap_mx, sizeof(*out->mx));
			}
			out->mx[out->n_mx++] = xstrndup(value, value_len);
		}
		/* RFC 8461 3.2: unknown fields are ignored. */
		continue;
	repeated:
		why_fmt(out->why, sizeof(out->why), "line %zu: field repeated", line_no);
		goto fail;
	bad_key:
		why_quote(out->why, sizeof(out->why), "bad field name in", line, n);
		goto fail;
	}
	if (!seen_version || !seen_mode || !seen_max_age) {
		why_fmt(out->why, sizeof(out->why), "no %s field (RFC 8461 3.2)",
		        !seen_version ? "version"
		        : !seen_mode  ? "mode"
		                      : "max_age");
		goto fail;
	}
	if (out->mode != MTASTS_MODE_NONE && out->n_mx == 0) {
		why_fmt(out->why, sizeof(out->why), "no mx field in mode %s",
		        mtasts_mode_name(out->mode));
		goto fail;
	}
	out->valid = true;
	return;
fail:
	mtasts_policy_fail(out);
}

void
mtasts_policy_clear(struct mtasts_policy *p)
{
	if (p == NULL)
		return;
	mtasts_policy_fail(p);
	memset(p, 0, sizeof(*p));
}

/* RFC 8461 4.1: exact, or "*." plus exactly one leftmost label; case and final dots ignored. */
static bool
mtasts_pattern_matches(const char *pat, const char *host, size_t host_len)
{
	size_t pat_len = strlen(pat);
	const char *dot;

	if (pat_len > 0 && pat[pat_len - 1] == '.')
		pat_len--;
	if (pat_len > 2 && pat[0] == '*' && pat[1] == '.') {
		const char *rest;
		size_t rest_len;

		/* the wildcard stands for one non-empty label, no more */
		dot = memchr(host, '.', host_len);
		if (dot == NULL || dot == host)
			return false;
		rest = dot + 1;
		rest_len = host_len - (size_t)(rest - host);
		return rest_len == pat_len - 2 && strncasecmp(rest, pat + 2, rest_len) == 0;
	}
	return host_len == pat_len && strncasecmp(host, pat, pat_len) == 0;
}

bool
mtasts_policy_matches(const struct mtasts_policy *p, const char *mx_host)
{
	size_t i, host_len;

	if (p == NULL || !p->valid || mx_host == NULL)
		return false;
	host_len = strlen(mx_host);
	if (host_len > 0 && mx_host[host_len - 1] == '.')
		host_len--;
	if (host_len == 0)
		return false;
	for (i = 0; i < p->n_mx; i++)
		if (mtasts_pattern_matches(p->mx[i], mx_host, host_len))
			return true;
	return false;
}

/*
 * The policy fetcher (RFC 8461 3.3)
 */

const char *
mtasts_fetch_state_name(enum mtasts_fetch_state s)
{
	switch (s) {
	case MTASTS_FETCH_OK:
		return "ok";
	case MTASTS_FETCH_HTTP_ERROR:
		return "http-error";
	case MTASTS_FETCH_TLS_ERROR:
		return "tls-error";
	case MTASTS_FETCH_UNREACHABLE:
		return "unreachable";
	case MTASTS_FETCH_TOO_LARGE:
		return "too-large";
	case MTASTS_FETCH_BAD_TYPE:
		return "bad-type";
	}
	return "unknown";
}

/* A socket curl asked us to watch. */
struct fetch_socket {
	struct mtasts_fetcher *f;
	struct event *ev;
	curl_socket_t fd;
	struct fetch_socket *prev, *next;
};

/* One transfer in flight. */
struct fetch {
	struct mtasts_fetcher *f;
	CURL *easy;
	mtasts_fetch_cb *cb;
	void *arg;
	struct buf body;
	bool aborted; /* the body callback stopped the transfer: see abort_state */
	enum mtasts_fetch_state abort_state;
	struct buf detail;
	char errbuf[CURL_ERROR_SIZE];
	struct fetch *prev, *next;
};

struct mtasts_fetcher {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_file;
	struct curl_slist *resolve;
	unsigned port;
	struct fetch *fetches;
	struct fetch_socket *sockets;
	int depth;  /* > 0 while completions are being reported */
	bool dying; /* freed from inside a callback: destroy when it returns */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void
fetcher_global_init(void)
{
	/* Once per process, never cleaned up: other threads may still use curl. */
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
fetch_free(struct fetch *x)
{
	if (x == NULL)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	buf_release(&x->body);
	buf_release(&x->detail);
	free(x);
}

static void
fetch_unlink(struct fetch *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		x->f->fetches = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void
fetch_socket_free(struct mtasts_fetcher *f, struct fetch_socket *fs)
{
	if (fs->prev)
		fs->prev->next = fs->next;
	else
		f->sockets = fs->next;
	if (fs->next)
		fs->next->prev = fs->prev;
	event_free(fs->ev);
	free(fs);
}

/* RFC 8461 3.2: the media type must be text/plain (parameters such as charset allowed). */
static bool
content_type_is_text_plain(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	n = strcspn(ct, ";");
	trim_wsp(&ct, &n);
	return span_ieq(ct, n, "text/plain");
}

/* Status and media type of the response so far (RFC 8461 3.3: 200, text/plain). */
static enum mtasts_fetch_state
fetch_check_response(struct fetch *x)
{
	long code = 0;
	char *ct = NULL;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		buf_reset(&x->detail);
		buf_printf(&x->detail, "HTTP status %ld", code);
		return MTASTS_FETCH_HTTP_ERROR;
	}
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
	if (!content_type_is_text_plain(ct)) {
		buf_reset(&x->detail);
		buf_puts(&x->detail, "Content-Type ");
		if (ct)
			escape_append(&x->detail, ct, strlen(ct), 80);
		else
			buf_puts(&x->detail, "missing");
		return MTASTS_FETCH_BAD_TYPE;
	}
	return MTASTS_FETCH_OK;
}

/* CURLOPT_WRITEFUNCTION: check the response once, then keep at most 64 KB. */
static size_t
fetch_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch *x = arg;
	size_t n = size * nmemb;
	enum mtasts_fetch_state st;

	if (x->body.len == 0 && (st = fetch_check_response(x)) != MTASTS_FETCH_OK) {
		x->aborted = true;
		x->abort_state = st;
		return 0;
	}
	if (n > MTASTS_POLICY_MAX - x->body.len) {
		x->aborted = true;
		x->abort_state = MTASTS_FETCH_TOO_LARGE;
		buf_reset(&x->detail);
		buf_printf(&x->detail, "body over %d bytes", MTASTS_POLICY_MAX);
		return 0;
	}
	buf_append(&x->body, p, n);
	return n;
}

/* Map curl's result to a fetch state (RFC 8461 3.3), with a detail for logs. */
static enum mtasts_fetch_state
fetch_result(struct fetch *x, CURLcode rc)
{
	enum mtasts_fetch_state st;
	const char *msg;

	if (x->aborted)
		return x->abort_state;
	switch (rc) {
	case CURLE_OK:
		if ((st = fetch_check_response(x)) == MTASTS_FETCH_OK) {
			buf_reset(&x->detail);
			buf_printf(&x->detail, "HTTP status 200, %zu bytes", x->body.len);
		}
		return st;
	case CURLE_FILESIZE_EXCEEDED:
		/* Content-Length over the limit: refused before the body. */
		if ((st = fetch_check_response(x)) != MTASTS_FETCH_OK)
			return st;
		buf_reset(&x->detail);
		buf_printf(&x->detail, "Content-Length over %d bytes", MTASTS_POLICY_MAX);
		return MTASTS_FETCH_TOO_LARGE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		st = MTASTS_FETCH_TLS_ERROR;
		break;
	default:
		/* resolve, connect, timeout, reset, and protocol failures */
		st = MTASTS_FETCH_UNREACHABLE;
		break;
	}
	msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	buf_reset(&x->detail);
	escape_append(&x->detail, msg, strlen(msg), 200);
	return st;
}

static void fetcher_destroy(struct mtasts_fetcher *f);

/* Report every finished transfer, each once; destroy a fetcher freed meanwhile. */
static void
fetcher_report_done(struct mtasts_fetcher *f)
{
	CURLMsg *msg;
	int left;

	f->depth++;
	while (!f->dying && (msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct fetch *x;
		char *priv = NULL;
		enum mtasts_fetch_state st;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result; /* msg dies with the handle's removal */
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct fetch *)(void *)priv;
		st = fetch_result(x, rc);
		curl_multi_remove_handle(f->multi, x->easy);
		fetch_unlink(x);
		x->cb(x->arg, st, st == MTASTS_FETCH_OK ? buf_str(&x->body) : NULL,
		      st == MTASTS_FETCH_OK ? x->body.len : 0, buf_str(&x->detail));
		fetch_free(x);
	}
	if (--f->depth == 0 && f->dying)
		fetcher_destroy(f);
}

static void
fetcher_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_socket *fs = arg;
	struct mtasts_fetcher *f = fs->f; /* fs may be freed inside the action */
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	fetcher_report_done(f);
}

static void
fetcher_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts_fetcher *f = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetcher_report_done(f);
}

/* CURLMOPT_SOCKETFUNCTION: watch, rewatch or forget one socket. */
static int
fetcher_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct mtasts_fetcher *f = userp;
	struct fetch_socket *fs = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (fs != NULL) {
			curl_multi_assign(f->multi, fd, NULL);
			fetch_socket_free(f, fs);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (fs == NULL) {
		fs = xcalloc(1, sizeof(*fs));
		fs->f = f;
		fs->fd = fd;
		if ((fs->ev = event_new(f->base, fd, kind, fetcher_on_event, fs)) == NULL)
			util_panic("mailpolicy: event_new failed");
		fs->next = f->sockets;
		if (f->sockets)
			f->sockets->prev = fs;
		f->sockets = fs;
		curl_multi_assign(f->multi, fd, fs);
	} else {
		event_del(fs->ev);
		event_assign(fs->ev, f->base, fd, kind, fetcher_on_event, fs);
	}
	event_add(fs->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: (re)arm or stop the one timer; never act from inside curl. */
static int
fetcher_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct mtasts_fetcher *f = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(f->timer, &tv);
	return 0;
}

struct mtasts_fetcher *
mtasts_fetcher_new(struct event_base *base, const char *ca_file, const char *resolve, unsigned port)
{
	struct mtasts_fetcher *f;

	if (base == NULL || port > 65535)
		return NULL;
	pthread_once(&curl_once, fetcher_global_init);
	if (curl_init_result != CURLE_OK)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->port = port;
	f->ca_file = ca_file ? xstrdup(ca_file) : NULL;
	if (resolve != NULL) {
		const char *p = resolve;

		while (*p) {
			size_t n = strcspn(p, ",");
			const char *entry = p;
			size_t len = n;

			trim_wsp(&entry, &len);
			if (len > 0) {
				char *e = xstrndup(entry, len);
				struct curl_slist *l = curl_slist_append(f->resolve, e);

				free(e);
				if (l == NULL)
					goto fail;
				f->resolve = l;
			}
			p += n + (p[n] == ',');
		}
	}
	if ((f->multi = curl_multi_init()) == NULL)
		goto fail;
	if ((f->timer = evtimer_new(base, fetcher_on_timeout, f)) == NULL)
		goto fail;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetcher_on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, fetcher_on_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
fail:
	fetcher_destroy(f);
	return NULL;
}

/* Abandon transfers in flight (no callbacks), close everything, free f. */
static void
fetcher_destroy(struct mtasts_fetcher *f)
{
	struct fetch *x, *next_x;
	struct fetch_socket *fs, *next_fs;

	for (x = f->fetches; x != NULL; x = next_x) {
		next_x = x->next;
		curl_multi_remove_handle(f->multi, x->easy);
		fetch_free(x);
	}
	f->fetches = NULL;
	/* may still call fetcher_on_socket(CURL_POLL_REMOVE) for cached connections */
	if (f->multi)
		curl_multi_cleanup(f->multi);
	for (fs = f->sockets; fs != NULL; fs = next_fs) {
		next_fs = fs->next;
		event_free(fs->ev);
		free(fs);
	}
	f->sockets = NULL;
	if (f->timer)
		event_free(f->timer);
	curl_slist_free_all(f->resolve);
	free(f->ca_file);
	free(f);
}

struct mtasts_fetcher *
mtasts_fetcher_free(struct mtasts_fetcher *f)
{
	if (f == NULL)
		return NULL;
	if (f->depth > 0)
		f->dying = true; /* inside a fetch callback: finish when it returns */
	else
		fetcher_destroy(f);
	return NULL;
}

/*
 * A host name we put into a URL: LDH labels (A-labels for IDNs), 1-63
 * octets each, one optional final dot; *len gets the length without it.
 * Anything else could change the URL (/, @, :, ?, #, %).
 */
static bool
fetch_domain_ok(const char *d, size_t *len)
{
	size_t n = strlen(d), i, label = 0;

	if (n > 0 && d[n - 1] == '.')
		n--;
	/* "mta-sts." + domain must stay a name (253 octets) */
	if (n == 0 || n > 253 - strlen("mta-sts."))
		return false;
	for (i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(d[i]) || (d[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	if (label == 0 || d[n - 1] == '-')
		return false;
	*len = n;
	return true;
}

/* Set the options of one policy GET (RFC 8461 3.3); false if libcurl refuses one. */
static bool
fetch_setup(struct mtasts_fetcher *f, struct fetch *x, const char *url, unsigned timeout_ms)
{
	CURL *e = x->easy;
	bool ok = true;

	ok &= curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_on_body) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	/* HTTPS only, nothing else even on a redirect (which is not followed anyway) */
	ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	/* PKIX: the chain and the name mta-sts.<domain> (RFC 8461 3.3) */
	ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
	if (f->ca_file) {
		/* only this file: not also libcurl's built-in CA directory */
		ok &= curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file) == CURLE_OK;
		ok &= curl_easy_setopt(e, CURLOPT_CAPATH, (char *)NULL) == CURLE_OK;
	}
	if (f->resolve)
		ok &= curl_easy_setopt(e, CURLOPT_RESOLVE, f->resolve) == CURLE_OK;
	/* the domain's own server, not whatever proxy the environment names */
	ok &= curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MTASTS_POLICY_MAX) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_USERAGENT, "danemail/" DANEMAIL_VERSION) == CURLE_OK;
	return ok;
}

bool
mtasts_fetch(struct mtasts_fetcher *f, const char *domain, unsigned timeout_ms, mtasts_fetch_cb *cb,
             void *arg)
{
	struct buf url = BUF_INIT;
	struct fetch *x;
	size_t dlen;
	bool ok;

	if (f == NULL || f->dying || cb == NULL || domain == NULL ||
	    !fetch_domain_ok(domain, &dlen))
		return false;
	x = xcalloc(1, sizeof(*x));
	x->f = f;
	x->cb = cb;
	x->arg = arg;
	if ((x->easy = curl_easy_init()) == NULL) {
		fetch_free(x);
		return false;
	}
	buf_printf(&url, "https://mta-sts.%.*s", (int)dlen, domain);
	if (f->port != 0)
		buf_printf(&url, ":%u", f->port);
	buf_puts(&url, "/.well-known/mta-sts.txt");
	ok = fetch_setup(f, x, buf_str(&url),
	                 timeout_ms ? timeout_ms : MTASTS_FETCH_DEFAULT_TIMEOUT_MS);
	buf_release(&url);
	/* curl only arms our timer here: the transfer (and its callback) runs from the loop */
	if (!ok || curl_multi_add_handle(f->multi, x->easy) != CURLM_OK) {
		fetch_free(x);
		return false;
	}
	x->next = f->fetches;
	if (f->fetches)
		f->fetches->prev = x;
	f->fetches = x;
	return true;
}
