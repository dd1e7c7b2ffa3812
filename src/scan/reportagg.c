/*
 * reportagg.c - gathering scan results for `danemail report` (see
 * reportagg.h).  The statistics are stats.c's own (scan_stats_add_json);
 * on top of them: failure reasons (what kept a domain from a clean DANE
 * pass, STARTTLS everywhere and sound policies) and MX operators.
 *
 * Untrusted input: every string is taken from the JSON as it is; only
 * names of our own enums (verdicts, SMTP results, policy states) become
 * failure reasons, so that table stays small whatever the input holds.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mailpolicy.h"
#include "reportagg.h"
#include "util/alloc.h"
#include "util/buf.h"

void
report_agg_init(struct report_agg *a, const struct policy_psl *psl)
{
	memset(a, 0, sizeof(*a));
	scan_table_init(&a->operators);
	a->psl = psl;
}

/* Unlink and free every entry of t (each a struct of its own, entry first). */
static void
table_free_all(struct scan_table *t, size_t entry_offset)
{
	size_t i;

	for (i = 0; i < t->n_buckets; i++) {
		while (t->buckets[i]) {
			struct scan_entry *e = t->buckets[i];

			scan_table_remove(t, e);
			free((char *)e - entry_offset);
		}
	}
	scan_table_clear(t);
}

void
report_agg_clear(struct report_agg *a)
{
	size_t i;

	for (i = 0; i < a->n_reasons; i++) {
		free(a->reasons[i].category);
		free(a->reasons[i].reason);
	}
	free(a->reasons);
	table_free_all(&a->operators, offsetof(struct report_operator, entry));
	free(a->hosts);
	memset(a, 0, sizeof(*a));
}

const char *
report_of_name(enum report_of of)
{
	switch (of) {
	case REPORT_OF_DOMAINS:
		return "domains";
	case REPORT_OF_WITH_MAIL:
		return "with mail";
	case REPORT_OF_CHECKED:
		return "checked";
	}
	return "domains";
}

uint64_t
report_agg_of(const struct report_agg *a, enum report_of of)
{
	switch (of) {
	case REPORT_OF_DOMAINS:
		return a->stats.domains;
	case REPORT_OF_WITH_MAIL:
		return a->stats.with_mail;
	case REPORT_OF_CHECKED:
		return a->stats.policies;
	}
	return 0;
}

static const char *
jstring(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A domain's reasons, each once. */
struct reason_set {
	const char *category[48];
	char reason[48][64];
	enum report_of of[48];
	size_t n;
};

static void
reason_note(struct reason_set *rs, const char *category, const char *reason, enum report_of of)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->category[i] == category && strcmp(rs->reason[i], reason) == 0)
			return;
	if (rs->n == sizeof(rs->category) / sizeof(rs->category[0]))
		return;
	rs->category[rs->n] = category;
	snprintf(rs->reason[rs->n], sizeof(rs->reason[0]), "%s", reason);
	rs->of[rs->n] = of;
	rs->n++;
}

static void
reason_count(struct report_agg *a, const char *category, const char *reason, enum report_of of)
{
	size_t i;

	for (i = 0; i < a->n_reasons; i++) {
		if (strcmp(a->reasons[i].category, category) == 0 &&
		    strcmp(a->reasons[i].reason, reason) == 0) {
			a->reasons[i].domains++;
			return;
		}
	}
	a->reasons = xreallocarray(a->reasons, a->n_reasons + 1, sizeof(*a->reasons));
	a->reasons[a->n_reasons].category = xstrdup(category);
	a->reasons[a->n_reasons].reason = xstrdup(reason);
	a->reasons[a->n_reasons].of = of;
	a->reasons[a->n_reasons].domains = 1;
	a->n_reasons++;
}

/* Only names of our own (enum names: letters, digits, '-') become reasons. */
static bool
enum_like(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > 32)
		return false;
	for (i = 0; s[i]; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static void
policy_reasons(struct reason_set *rs, const json_t *j)
{
	static const struct {
		const char *member, *label;
	} kinds[] = {{"spf", "SPF"},
	             {"dmarc", "DMARC"},
	             {"mta_sts", "MTA-STS TXT"},
	             {"tls_rpt", "TLS-RPT"}};
	const json_t *sts = json_object_get(j, "mta_sts"), *pol;
	char r[64];
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *state = jstring(json_object_get(j, kinds[i].member), "state");

		/* absent is a choice, not a failure */
		if (!enum_like(state) || strcmp(state, "valid") == 0 ||
		    strcmp(state, "absent") == 0)
			continue;
		snprintf(r, sizeof(r), "%s %s", kinds[i].label, state);
		reason_note(rs, "policy", r, REPORT_OF_CHECKED);
	}
	pol = json_object_get(sts, "policy");
	if (!json_is_object(pol))
		return;
	if (!jstring(pol, "fetch") || strcmp(jstring(pol, "fetch"), "ok") != 0) {
		snprintf(r, sizeof(r), "MTA-STS policy fetch %s",
		         enum_like(jstring(pol, "fetch")) ? jstring(pol, "fetch") : "failed");
		reason_note(rs, "policy", r, REPORT_OF_CHECKED);
	} else if (!json_is_true(json_object_get(pol, "valid"))) {
		reason_note(rs, "policy", "MTA-STS policy invalid", REPORT_OF_CHECKED);
	} else if (json_is_false(json_object_get(pol, "mx_covered"))) {
		reason_note(rs, "policy", "MTA-STS policy does not cover every MX",
		            REPORT_OF_CHECKED);
	}
}

static void
domain_reasons(struct report_agg *a, const json_t *j)
{
	struct reason_set rs;
	const char *kind = jstring(json_object_get(j, "mx"), "kind");
	const char *verdict = jstring(j, "verdict"), *starttls = jstring(j, "starttls");
	bool mail = kind && (strcmp(kind, "mx") == 0 || strcmp(kind, "implicit") == 0);
	const json_t *host, *addr;
	size_t i, k;

	rs.n = 0;
	if (kind && !mail && strcmp(kind, "null-mx") != 0)
		reason_note(&rs, "MX", kind, REPORT_OF_DOMAINS);
	if (mail && verdict && strcmp(verdict, "pass") != 0)
		reason_note(&rs, "DANE", verdict, REPORT_OF_WITH_MAIL);
	if (mail && starttls) {
		if (strcmp(starttls, "some") == 0)
			reason_note(&rs, "STARTTLS", "on some MX addresses only",
			            REPORT_OF_WITH_MAIL);
		else if (strcmp(starttls, "none") == 0)
			reason_note(&rs, "STARTTLS", "on no MX address", REPORT_OF_WITH_MAIL);
		else if (strcmp(starttls, "untestable") == 0)
			reason_note(&rs, "STARTTLS", "no MX address testable", REPORT_OF_WITH_MAIL);
	}
	json_array_foreach(json_object_get(j, "hosts"), i, host)
	{
		json_array_foreach(json_object_get(host, "addresses"), k, addr)
		{
			const char *t = jstring(addr, "transport");
			const char *res = jstring(json_object_get(addr, "smtp"), "result");

			if (t == NULL || strcmp(t, "tls") == 0 || strcmp(t, "not-tested") == 0)
				continue;
			if (enum_like(res))
				reason_note(&rs, "SMTP", res, REPORT_OF_WITH_MAIL);
		}
	}
	if (json_is_object(json_object_get(j, "spf")) ||
	    json_is_object(json_object_get(j, "dmarc")) ||
	    json_is_object(json_object_get(j, "mta_sts")) ||
	    json_is_object(json_object_get(j, "tls_rpt")))
		policy_reasons(&rs, j);
	for (i = 0; i < rs.n; i++)
		reason_count(a, rs.category[i], rs.reason[i], rs.of[i]);
}

void
report_registered_domain(const struct report_agg *a, const char *host, struct buf *out)
{
	size_t n = strlen(host), i;

	if (policy_org_domain(a->psl, host, out))
		return;
	buf_reset(out);
	while (n > 0 && host[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		buf_putc(out, (char)tolower((unsigned char)host[i]));
}

/* Note a host name's hash; true when it is new. */
static bool
host_new(struct report_agg *a, uint64_t h)
{
	size_t i, mask;

	h = h ? h : 1;
	if (2 * (a->n_hosts + 1) > a->hosts_cap) {
		uint64_t *old = a->hosts;
		size_t old_cap = a->hosts_cap;

		a->hosts_cap = old_cap ? 2 * old_cap : 1024;
		a->hosts = xcalloc(a->hosts_cap, sizeof(*a->hosts));
		a->n_hosts = 0;
		for (i = 0; i < old_cap; i++)
			if (old[i])
				(void)host_new(a, old[i]);
		free(old);
	}
	mask = a->hosts_cap - 1;
	for (i = (size_t)(h ^ (h >> 31)) & mask; a->hosts[i]; i = (i + 1) & mask)
		if (a->hosts[i] == h)
			return false;
	a->hosts[i] = h;
	a->n_hosts++;
	return true;
}

/* Count a domain for each operator of its MX hosts (once per operator). */
static void
domain_operators(struct report_agg *a, const json_t *j)
{
	const char *verdict = jstring(j, "verdict");
	bool pass = verdict && strcmp(verdict, "pass") == 0;
	struct report_operator *seen[16];
	size_t n_seen = 0, i, k;
	const json_t *host;
	struct buf op = BUF_INIT;

	json_array_foreach(json_object_get(j, "hosts"), i, host)
	{
		const char *name = jstring(host, "host");
		struct report_operator *o;
		struct scan_entry *e;
		char key[256];
		char *p;

		if (name == NULL || *name == '\0')
			continue;
		snprintf(key, sizeof(key), "%s", name);
		for (p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		report_registered_domain(a, name, &op);
		if ((e = scan_table_find(&a->operators, buf_str(&op))) != NULL) {
			o = SCAN_CONTAINER(e, struct report_operator, entry);
		} else {
			o = xcalloc(1, sizeof(*o));
			scan_table_insert(&a->operators, &o->entry, buf_str(&op));
		}
		if (host_new(a, scan_hash(key)))
			o->hosts++;
		for (k = 0; k < n_seen; k++)
			if (seen[k] == o)
				break;
		if (k < n_seen || n_seen == sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[n_seen++] = o;
		o->domains++;
		o->dane_pass += pass;
	}
	buf_release(&op);
}

time_t
report_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end)
		return 0;
	return timegm(&tm);
}

bool
report_agg_add(struct report_agg *a, const json_t *j, time_t scanned, struct why *why)
{
	time_t t;

	if (!scan_stats_add_json(&a->stats, j, why))
		return false;
	if ((t = report_parse_time(jstring(j, "scanned"))) != 0)
		scanned = t;
	if (scanned) {
		if (a->first == 0 || scanned < a->first)
			a->first = scanned;
		if (scanned > a->last)
			a->last = scanned;
	}
	if (json_object_get(j, "error"))
		return true; /* no domain: counted as invalid, nothing more */
	domain_reasons(a, j);
	domain_operators(a, j);
	return true;
}

static int
reason_cmp(const void *x, const void *y)
{
	const struct report_reason *a = x, *b = y;
	int c;

	if (a->domains != b->domains)
		return a->domains > b->domains ? -1 : 1;
	if ((c = strcmp(a->category, b->category)) != 0)
		return c;
	return strcmp(a->reason, b->reason);
}

void
report_agg_sort_reasons(struct report_agg *a)
{
	if (a->n_reasons)
		qsort(a->reasons, a->n_reasons, sizeof(*a->reasons), reason_cmp);
}

const char *
report_operator_name(const struct report_operator *op)
{
	return op->entry.key;
}

static int
operator_cmp(const void *x, const void *y)
{
	const struct report_operator *a = *(const struct report_operator *const *)x;
	const struct report_operator *b = *(const struct report_operator *const *)y;

	if (a->domains != b->domains)
		return a->domains > b->domains ? -1 : 1;
	return strcmp(a->entry.key, b->entry.key);
}

const struct report_operator **
report_agg_operators(const struct report_agg *a, size_t limit, size_t *n)
{
	const struct report_operator **v;
	size_t i, k = 0;

	v = xcalloc(a->operators.n ? a->operators.n : 1, sizeof(*v));
	for (i = 0; i < a->operators.n_buckets; i++) {
		const struct scan_entry *e;

		for (e = a->operators.buckets[i]; e; e = e->next)
			v[k++] = SCAN_CONTAINER(e, const struct report_operator, entry);
	}
	if (k)
		qsort(v, k, sizeof(*v), operator_cmp);
	*n = limit && k > limit ? limit : k;
	return v;
}
