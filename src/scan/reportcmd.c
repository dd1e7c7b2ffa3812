/*
 * reportcmd.c - `danemail report`: statistics, Markdown, JSON and a
 * self-contained HTML page from scan results.
 *
 *   danemail report [OPTIONS] FILE.jsonl...|-     JSON Lines of danemail scan
 *   danemail report [OPTIONS] --db URI            the newest result per domain
 *   danemail report stats FILE.jsonl...           the scan's own table
 *   danemail report --history DOMAIN --db URI     one domain over time
 *
 * Inputs: JSON Lines files are shards of one list; when a domain appears
 * more than once the LAST occurrence wins (files in the order given, lines
 * in file order), as a later scan replaces an earlier one.  To know which
 * occurrence is last, a first pass indexes each domain's last line (a
 * 64-bit hash of the name and a line number: 16 bytes a domain); the
 * second pass parses and counts only those.  Standard input is copied to a
 * temporary file during the first pass.
 *
 * Malformed lines (no JSON, not a schema-1 result) are counted, the first
 * few reported with file and line on stderr, the rest still reported; the
 * exit code is then 65.  Everything read is untrusted: strings reach the
 * terminal through util/escape and the HTML through htmlreport.c's escaping.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "htmlreport.h"
#include "mailpolicy.h"
#include "report.h"
#include "reportagg.h"
#include "store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/escape.h"

/* Exit codes of report (documented in usage() and danemail(1)). */
enum report_exit {
	REPORT_EXIT_OK = 0,
	REPORT_EXIT_USAGE = 64,
	REPORT_EXIT_DATAERR = 65,   /* malformed lines (the rest was reported) */
	REPORT_EXIT_NOINPUT = 66,   /* an input or the database cannot be read */
	REPORT_EXIT_CANTCREAT = 73, /* the output cannot be created */
	REPORT_EXIT_IOERR = 74,     /* writing the output failed */
};

#define REPORT_DEFAULT_MAX_DOMAINS 10000
#define REPORT_DEFAULT_TOP         20
#define REPORT_MALFORMED_SHOWN     10

enum report_format { FMT_STATS, FMT_JSON, FMT_MD, FMT_HTML };

static void
report_usage(FILE *fp)
{
	fputs("usage: danemail report [OPTIONS] FILE.jsonl...|-\n"
	      "       danemail report [OPTIONS] --db URI\n"
	      "       danemail report stats FILE.jsonl...|-\n"
	      "       danemail report --history DOMAIN --db URI [--format json]\n"
	      "Statistics and reports of danemail scan results: the scan's aggregate table,\n"
	      "failure reasons, the largest MX operators and a per-domain drill-down.\n"
	      "input:\n"
	      "  FILE.jsonl...         JSON Lines written by danemail scan (shards of one list;\n"
	      "                        a domain seen again replaces its earlier result: files\n"
	      "                        in the order given, lines in file order); \"-\" = stdin\n"
	      "  --db URI              the results store: the newest result of every domain\n"
	      "                        (SQLite file, or postgresql://...)\n"
	      "output:\n"
	      "  -o, --output FILE     write here (default: stdout)\n"
	      "  --format F            stats (the scan's table, the default on stdout), json,\n"
	      "                        md (Markdown), html (one self-contained page: the\n"
	      "                        default with -o FILE, but -o FILE.md / FILE.json\n"
	      "                        pick md / json)\n"
	      "  --title T             the page's title (default \"danemail report\")\n"
	      "  --date D              a date to print on the page (none by default, so the\n"
	      "                        same data gives the same bytes)\n"
	      "  --max-domains N       domains in the HTML drill-down (default 10000; 0: none)\n"
	      "  --top N               rows of the failure and operator charts and of the\n"
	      "                        operators in json and md (default 20, at most 64)\n"
	      "history:\n"
	      "  --history DOMAIN      one line per scan of DOMAIN (needs --db): time, verdict,\n"
	      "                        STARTTLS, lowest TLS, what changed; --format json: rows\n"
	      "exit:\n"
	      "  0  done\n"
	      "  64 usage error\n"
	      "  65 some lines were no scan result (each of the first 10 named; the rest\n"
	      "     was reported)\n"
	      "  66 an input or the database cannot be read\n"
	      "  73 the output cannot be created\n"
	      "  74 writing the output failed\n",
	      fp);
}

/* The domain index of the first pass: hash of a name -> ordinal of its last line. */
struct dedup {
	uint64_t *keys; /* 0 = empty */
	uint64_t *last;
	size_t cap, n;
};

static uint64_t
name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

static uint64_t *
dedup_slot(struct dedup *d, uint64_t key, uint64_t **keys)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (d->cap - 1);

	while (d->keys[i] && d->keys[i] != key)
		i = (i + 1) & (d->cap - 1);
	*keys = &d->keys[i];
	return &d->last[i];
}

static void
dedup_put(struct dedup *d, uint64_t key, uint64_t ordinal)
{
	uint64_t *k, *v;
	size_t i;

	if (2 * (d->n + 1) > d->cap) {
		struct dedup old = *d;

		d->cap = d->cap ? 2 * d->cap : 1024;
		d->keys = xcalloc(d->cap, sizeof(*d->keys));
		d->last = xcalloc(d->cap, sizeof(*d->last));
		for (i = 0; i < old.cap; i++) {
			if (old.keys[i] == 0)
				continue;
			v = dedup_slot(d, old.keys[i], &k);
			*k = old.keys[i];
			*v = old.last[i];
		}
		free(old.keys);
		free(old.last);
	}
	v = dedup_slot(d, key, &k);
	if (*k == 0)
		d->n++;
	*k = key;
	*v = ordinal;
}

static uint64_t
dedup_get(struct dedup *d, uint64_t key)
{
	uint64_t *k, *v;

	if (d->cap == 0)
		return 0;
	v = dedup_slot(d, key, &k);
	return *k ? *v : 0;
}

/* Everything a run shares. */
struct report_run {
	enum report_format format;
	struct report_agg agg;
	struct dedup index;
	FILE *drill; /* drill-down rows (HTML), a temporary file */
	uint64_t max_domains, drill_shown;
	uint64_t lines, malformed, duplicates;
	bool read_error;
};

static void
malformed(struct report_run *r, const char *where, uint64_t line, const char *why)
{
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;

	if (r->malformed++ < REPORT_MALFORMED_SHOWN) {
		escape_str(&e1, where);
		cli_error("report: %s:%" PRIu64 ": not a scan result: %s", buf_str(&e1), line,
		          escape_str(&e2, why));
	}
	buf_release(&e1);
	buf_release(&e2);
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * The key of a line's domain.  The scan writes {"schema":1,"domain":"...":
 * read the name in place when it has no escapes, else parse the line.
 */
static bool
line_key(const char *line, size_t len, uint64_t *key)
{
	static const char prefix[] = "{\"schema\":1,\"domain\":\"";
	const char *p, *end = line + len, *name;
	json_t *j;

	/* a line cut short (a scan killed mid-write) must not replace an earlier result: the
	 * fast path wants the closing brace, the slow one a full parse */
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len > sizeof(prefix) - 1 && line[len - 1] == '}' &&
	    memcmp(line, prefix, sizeof(prefix) - 1) == 0) {
		name = line + sizeof(prefix) - 1;
		for (p = name; p < end && *p != '"' && *p != '\\'; p++)
			;
		if (p < end && *p == '"') {
			*key = name_hash(name, (size_t)(p - name));
			return true;
		}
	}
	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return false;
	name = json_string_value(json_object_get(j, "domain"));
	if (name && json_integer_value(json_object_get(j, "schema")) != 1)
		name = NULL; /* no scan result: replaces nothing */
	if (name)
		*key = name_hash(name, strlen(name));
	json_decref(j);
	return name != NULL;
}

/* Count one parsed object (from a file line or a database row). */
static void
take(struct report_run *r, json_t *j, time_t scanned, const char *where, uint64_t line)
{
	struct why why = {""};

	if (!report_agg_add(&r->agg, j, scanned, &why)) {
		malformed(r, where, line, why.msg);
		return;
	}
	if (r->drill && r->drill_shown < r->max_domains) {
		report_html_domain(r->drill, j);
		r->drill_shown++;
	}
}

/* An input: a path and its stream (stdin is spooled to a temporary file). */
struct report_input {
	const char *name;
	FILE *fp;
};

/* Pass 1: index the last line of every domain over all inputs. */
static bool
pass_index(struct report_run *r, struct report_input *in, size_t n)
{
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t len;
	uint64_t ordinal = 0, key;

	for (i = 0; i < n; i++) {
		FILE *spool = NULL;

		if (in[i].fp == stdin && (spool = tmpfile()) == NULL) {
			cli_error("report: a temporary file for stdin: %s", strerror(errno));
			free(line);
			return false;
		}
		while ((len = getline(&line, &cap, in[i].fp)) >= 0) {
			ordinal++;
			if (spool && fwrite(line, 1, (size_t)len, spool) != (size_t)len) {
				cli_error("report: spooling stdin: %s", strerror(errno));
				fclose(spool);
				free(line);
				return false;
			}
			if (!blank(line, (size_t)len) && line_key(line, (size_t)len, &key))
				dedup_put(&r->index, key, ordinal);
		}
		if (ferror(in[i].fp)) {
			cli_error("report: reading %s: %s", in[i].name,
			          strerror(errno ? errno : EIO));
			r->read_error = true;
		}
		if (spool)
			in[i].fp = spool;
		rewind(in[i].fp);
	}
	free(line);
	return true;
}

/* Pass 2: parse and count the last line of every domain. */
static void
pass_count(struct report_run *r, struct report_input *in, size_t n)
{
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t len;
	uint64_t ordinal = 0;

	for (i = 0; i < n; i++) {
		uint64_t lineno = 0;

		while ((len = getline(&line, &cap, in[i].fp)) >= 0) {
			json_error_t err;
			const char *name;
			uint64_t last;
			json_t *j;

			ordinal++;
			lineno++;
			if (blank(line, (size_t)len))
				continue;
			r->lines++;
			if ((j = json_loadb(line, (size_t)len, 0, &err)) == NULL) {
				malformed(r, in[i].name, lineno, err.text);
				continue;
			}
			/* 0: not indexed (no scan result): take() names it */
			name = json_string_value(json_object_get(j, "domain"));
			last = name ? dedup_get(&r->index, name_hash(name, strlen(name))) : 0;
			if (last != 0 && last != ordinal) {
				r->duplicates++; /* a later line of this domain wins */
				json_decref(j);
				continue;
			}
			take(r, j, 0, in[i].name, lineno);
			json_decref(j);
		}
	}
	free(line);
}

struct db_walk {
	struct report_run *r;
	uint64_t rows;
};

static bool
db_row(void *arg, const struct store_row *row)
{
	struct db_walk *w = arg;
	json_error_t err;
	json_t *j;
	char where[64];

	w->rows++;
	w->r->lines++;
	snprintf(where, sizeof(where), "database scan %" PRId64, row->scan_id);
	if ((j = json_loads(row->json, 0, &err)) == NULL) {
		malformed(w->r, where, w->rows, err.text);
		return true;
	}
	take(w->r, j, row->scanned, where, w->rows);
	json_decref(j);
	return true;
}

/* --- outputs */

/* Markdown-safe text: HTML specials as entities, Markdown specials escaped. */
static void
md_escape(FILE *fp, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			fputs("&lt;", fp);
		else if (*s == '>')
			fputs("&gt;", fp);
		else if (*s == '&')
			fputs("&amp;", fp);
		else if (strchr("\\`*_[]|#!{}()", *s))
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fputc(' ', fp);
		else
			fputc(*s, fp);
	}
}

static void
md_row(void *arg, const struct scan_stats_row *r)
{
	FILE *fp = arg;

	if (r->of_what == NULL)
		fprintf(fp, "| **%s** | | | |\n", r->what);
	else
		fprintf(fp, "| %s%s | %" PRIu64 " | %.1f%% | %s |\n", r->indent ? "&emsp;" : "",
		        r->what, r->n, scan_stats_pct(r->n, r->of), r->of_what);
}

static void
write_md(FILE *fp, struct report_agg *a, const struct report_html_info *info)
{
	const struct report_operator **ops;
	size_t i, n;
	char t1[32], t2[32];

	fputs("# ", fp);
	md_escape(fp, info->title);
	fprintf(fp, "\n\n%" PRIu64 " domains (%" PRIu64 " entries) from ", a->stats.domains,
	        a->stats.entries);
	md_escape(fp, info->source);
	if (a->first) {
		time_text(t1, sizeof(t1), a->first);
		time_text(t2, sizeof(t2), a->last);
		fprintf(fp, ", scanned %s to %s", t1, t2);
	}
	fprintf(fp, ". %" PRIu64 " malformed lines, %" PRIu64 " older duplicate results replaced.",
	        info->malformed, info->duplicates);
	if (info->date) {
		fputs(" Report of ", fp);
		md_escape(fp, info->date);
		fputs(".", fp);
	}
	fputs("\n\n## Statistics\n\n| | domains | share | of |\n|---|---:|---:|---|\n", fp);
	scan_stats_rows(&a->stats, md_row, fp);
	fputs("\n## Top failure reasons\n\n| category | reason | domains | share | of |\n"
	      "|---|---|---:|---:|---|\n",
	      fp);
	report_agg_sort_reasons(a);
	for (i = 0; i < a->n_reasons && i < info->top_n; i++) {
		const struct report_reason *r = &a->reasons[i];

		fputs("| ", fp);
		md_escape(fp, r->category);
		fputs(" | ", fp);
		md_escape(fp, r->reason);
		fprintf(fp, " | %" PRIu64 " | %.1f%% | %s |\n", r->domains,
		        scan_stats_pct(r->domains, report_agg_of(a, r->of)), report_of_name(r->of));
	}
	fputs("\n## Largest MX operators\n\n| operator | domains | DANE pass | pass share | MX "
	      "hosts |\n|---|---:|---:|---:|---:|\n",
	      fp);
	ops = report_agg_operators(a, info->top_n, &n);
	for (i = 0; i < n; i++) {
		fputs("| ", fp);
		md_escape(fp, report_operator_name(ops[i]));
		fprintf(fp, " | %" PRIu64 " | %" PRIu64 " | %.1f%% | %" PRIu64 " |\n",
		        ops[i]->domains, ops[i]->dane_pass,
		        scan_stats_pct(ops[i]->dane_pass, ops[i]->domains), ops[i]->hosts);
	}
	free(ops);
}

static json_t *
jcount(uint64_t n, uint64_t of)
{
	return json_pack("{sIsI}", "n", (json_int_t)n, "of", (json_int_t)of);
}

static json_t *
report_json(struct report_agg *a, const struct report_html_info *info)
{
	const struct scan_stats *s = &a->stats;
	json_t *j = json_object(), *jr = json_object(), *ad = json_object();
	json_t *jf = json_array(), *jo = json_array();
	const struct report_operator **ops;
	char t[32];
	size_t i, n;

	json_object_set_new(jr, "source", json_string(info->source));
	json_object_set_new(jr, "lines", json_integer((json_int_t)info->lines));
	json_object_set_new(jr, "malformed", json_integer((json_int_t)info->malformed));
	json_object_set_new(jr, "duplicates", json_integer((json_int_t)info->duplicates));
	time_text(t, sizeof(t), a->first);
	json_object_set_new(jr, "first_scanned", a->first ? json_string(t) : json_null());
	time_text(t, sizeof(t), a->last);
	json_object_set_new(jr, "last_scanned", a->last ? json_string(t) : json_null());
	json_object_set_new(j, "report", jr);
	json_object_set_new(j, "stats", scan_stats_json(s, NULL, 0));
	json_object_set_new(ad, "dnssec", jcount(s->mx_secure, s->exist));
	json_object_set_new(ad, "dane", jcount(s->verdict[DANE_VERDICT_PASS], s->with_mail));
	json_object_set_new(ad, "starttls", jcount(s->starttls[SCAN_STARTTLS_ALL], s->working_mx));
	json_object_set_new(ad, "spf", jcount(s->spf_valid, s->policies));
	json_object_set_new(ad, "dmarc", jcount(s->dmarc_valid, s->policies));
	json_object_set_new(ad, "mta_sts", jcount(s->sts_txt, s->policies));
	json_object_set_new(ad, "tls_rpt", jcount(s->tlsrpt_valid, s->policies));
	json_object_set_new(j, "adoption", ad);
	report_agg_sort_reasons(a);
	for (i = 0; i < a->n_reasons; i++) {
		const struct report_reason *r = &a->reasons[i];

		json_array_append_new(jf,
		                      json_pack("{sssssIsIss}", "category", r->category, "reason",
		                                r->reason, "domains", (json_int_t)r->domains, "of",
		                                (json_int_t)report_agg_of(a, r->of), "of_what",
		                                report_of_name(r->of)));
	}
	json_object_set_new(j, "failure_reasons", jf);
	ops = report_agg_operators(a, info->top_n, &n);
	for (i = 0; i < n; i++)
		json_array_append_new(jo, json_pack("{sssIsIsI}", "operator",
		                                    report_operator_name(ops[i]), "domains",
		                                    (json_int_t)ops[i]->domains, "dane_pass",
		                                    (json_int_t)ops[i]->dane_pass, "mx_hosts",
		                                    (json_int_t)ops[i]->hosts));
	free(ops);
	json_object_set_new(j, "operators", jo);
	json_object_set_new(j, "operators_total", json_integer((json_int_t)a->operators.n));
	return j;
}

/* --- history */

static const char *
jpath(const json_t *j, const char *a, const char *b)
{
	const json_t *o = json_object_get(j, a);

	return json_string_value(b ? json_object_get(o, b) : o);
}

static bool
same(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0);
}

static void
change(json_t *ch, const char *what, const char *was, const char *now)
{
	char *s = NULL;

	if (same(was, now))
		return;
	if (asprintf(&s, "%s %s -> %s", what, was ? was : "none", now ? now : "none") < 0)
		return;
	json_array_append_new(ch, json_string(s));
	free(s);
}

/* A host's facts that matter over time, as one comparable string each. */
static void
host_facts(const json_t *h, struct buf *certs, struct buf *tlsa, struct buf *addrs)
{
	const json_t *a, *r;
	size_t i;

	buf_reset(certs);
	buf_reset(tlsa);
	buf_reset(addrs);
	json_array_foreach(json_object_get(h, "addresses"), i, a)
	{
		const char *fp = jpath(json_object_get(a, "tls"), "certificate", "sha256");

		buf_printf(addrs, "%s ", json_string_value(json_object_get(a, "address")));
		buf_printf(certs, "%s ", fp ? fp : "-");
	}
	json_array_foreach(json_object_get(json_object_get(h, "tlsa"), "records"), i, r)
	{
		buf_printf(tlsa,
		           "%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT
		           " %s;",
		           json_integer_value(json_object_get(r, "usage")),
		           json_integer_value(json_object_get(r, "selector")),
		           json_integer_value(json_object_get(r, "matching_type")),
		           json_string_value(json_object_get(r, "data")));
	}
}

static const json_t *
host_named(const json_t *j, const char *name)
{
	const json_t *h;
	size_t i;

	json_array_foreach(json_object_get(j, "hosts"), i, h)
	{
		const char *n = json_string_value(json_object_get(h, "host"));

		if (n && name && strcmp(n, name) == 0)
			return h;
	}
	return NULL;
}

static json_t *
changes(const json_t *was, const json_t *now)
{
	json_t *ch = json_array();
	const json_t *h, *old;
	struct buf c1 = BUF_INIT, t1 = BUF_INIT, a1 = BUF_INIT;
	struct buf c2 = BUF_INIT, t2 = BUF_INIT, a2 = BUF_INIT;
	char what[300];
	size_t i;

	if (was == NULL) {
		json_array_append_new(ch, json_string("first scan"));
		return ch;
	}
	change(ch, "verdict", jpath(was, "verdict", NULL), jpath(now, "verdict", NULL));
	change(ch, "STARTTLS", jpath(was, "starttls", NULL), jpath(now, "starttls", NULL));
	change(ch, "lowest TLS", jpath(was, "tls_lowest", NULL), jpath(now, "tls_lowest", NULL));
	change(ch, "MX kind", jpath(was, "mx", "kind"), jpath(now, "mx", "kind"));
	change(ch, "MX DNSSEC", jpath(was, "mx", "dnssec"), jpath(now, "mx", "dnssec"));
	json_array_foreach(json_object_get(now, "hosts"), i, h)
	{
		const char *name = json_string_value(json_object_get(h, "host"));

		if (name == NULL)
			continue;
		if ((old = host_named(was, name)) == NULL) {
			snprintf(what, sizeof(what), "MX host %s added", name);
			json_array_append_new(ch, json_string(what));
			continue;
		}
		host_facts(old, &c1, &t1, &a1);
		host_facts(h, &c2, &t2, &a2);
		snprintf(what, sizeof(what), "%s verdict", name);
		change(ch, what, jpath(old, "verdict", NULL), jpath(h, "verdict", NULL));
		if (strcmp(buf_str(&a1), buf_str(&a2)) != 0) {
			snprintf(what, sizeof(what), "addresses of %s changed", name);
			json_array_append_new(ch, json_string(what));
		} else if (strcmp(buf_str(&c1), buf_str(&c2)) != 0) {
			snprintf(what, sizeof(what), "certificate of %s changed", name);
			json_array_append_new(ch, json_string(what));
		}
		if (strcmp(buf_str(&t1), buf_str(&t2)) != 0) {
			snprintf(what, sizeof(what), "TLSA records of %s changed", name);
			json_array_append_new(ch, json_string(what));
		}
	}
	json_array_foreach(json_object_get(was, "hosts"), i, h)
	{
		const char *name = json_string_value(json_object_get(h, "host"));

		if (name && host_named(now, name) == NULL) {
			snprintf(what, sizeof(what), "MX host %s removed", name);
			json_array_append_new(ch, json_string(what));
		}
	}
	change(ch, "SPF", jpath(was, "spf", "state"), jpath(now, "spf", "state"));
	change(ch, "DMARC", jpath(was, "dmarc", "state"), jpath(now, "dmarc", "state"));
	change(ch, "DMARC policy", jpath(was, "dmarc", "policy"), jpath(now, "dmarc", "policy"));
	change(ch, "MTA-STS", jpath(was, "mta_sts", "state"), jpath(now, "mta_sts", "state"));
	change(ch, "MTA-STS mode", jpath(json_object_get(was, "mta_sts"), "policy", "mode"),
	       jpath(json_object_get(now, "mta_sts"), "policy", "mode"));
	change(ch, "TLS-RPT", jpath(was, "tls_rpt", "state"), jpath(now, "tls_rpt", "state"));
	buf_release(&c1);
	buf_release(&t1);
	buf_release(&a1);
	buf_release(&c2);
	buf_release(&t2);
	buf_release(&a2);
	return ch;
}

/* A copy of a member, or null. */
static json_t *
jcopy(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

struct history {
	json_t *rows;
	json_t *prev;
	uint64_t malformed;
};

static bool
history_row(void *arg, const struct store_row *row)
{
	struct history *h = arg;
	json_t *j, *r;
	char t[32];

	if ((j = json_loads(row->json, 0, NULL)) == NULL || !json_is_object(j)) {
		json_decref(j);
		h->malformed++;
		return true;
	}
	time_text(t, sizeof(t), row->scanned);
	r = json_object();
	json_object_set_new(r, "scan_id", json_integer((json_int_t)row->scan_id));
	json_object_set_new(r, "scanned", json_string(t));
	json_object_set_new(r, "verdict", jcopy(json_object_get(j, "verdict")));
	json_object_set_new(r, "starttls", jcopy(json_object_get(j, "starttls")));
	json_object_set_new(r, "tls_lowest", jcopy(json_object_get(j, "tls_lowest")));
	json_object_set_new(r, "changes", changes(h->prev, j));
	json_array_append_new(h->rows, r);
	json_decref(h->prev);
	h->prev = j;
	return true;
}

static const char *
jtext(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static int
run_history(const char *db, const char *domain, enum report_format format, FILE *out)
{
	struct history h = {json_array(), NULL, 0};
	struct why why = {""};
	struct buf esc = BUF_INIT, line = BUF_INIT;
	struct store *st;
	const json_t *r, *c;
	char name[256];
	size_t i, k, len;
	int rc = REPORT_EXIT_OK;

	snprintf(name, sizeof(name), "%s", domain);
	for (i = 0; name[i]; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	if ((st = store_open(db, &why)) == NULL) {
		cli_error("report: --db: %s", escape_str(&esc, why.msg));
		buf_release(&esc);
		json_decref(h.rows);
		return REPORT_EXIT_NOINPUT;
	}
	if (!store_history(st, name, history_row, &h, &why)) {
		cli_error("report: --history: %s", escape_str(&esc, why.msg));
		rc = REPORT_EXIT_NOINPUT;
	}
	store_close(st);
	json_decref(h.prev);
	if (rc == REPORT_EXIT_OK && format == FMT_JSON) {
		json_t *j = json_pack("{sssO}", "domain", name, "scans", h.rows);

		json_dumpf(j, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(j);
	} else if (rc == REPORT_EXIT_OK) {
		fprintf(out, "history of %s: %zu scans\n", escape_str(&esc, name),
		        json_array_size(h.rows));
		json_array_foreach(h.rows, i, r)
		{
			buf_reset(&line);
			buf_printf(&line, "%-20s  %-16s  %-10s  %-7s  ", jtext(r, "scanned"),
			           jtext(r, "verdict"), jtext(r, "starttls"),
			           jtext(r, "tls_lowest"));
			json_array_foreach(json_object_get(r, "changes"), k, c)
			        buf_printf(&line, "%s%s", k ? "; " : "", json_string_value(c));
			/* stored results are data: escaped for the terminal */
			fprintf(out, "%s\n", escape_str(&esc, buf_str(&line)));
		}
	}
	if (h.malformed) {
		cli_error("report: --history: %" PRIu64 " stored results were no JSON",
		          h.malformed);
		if (rc == REPORT_EXIT_OK)
			rc = REPORT_EXIT_DATAERR;
	}
	json_decref(h.rows);
	buf_release(&esc);
	buf_release(&line);
	return rc;
}

/* --- the command */

static bool
parse_count(const char *opt, const char *arg, uint64_t max, uint64_t *out)
{
	struct buf esc = BUF_INIT;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg == '\0' || *end || errno || arg[0] == '-' || v > max) {
		cli_error("report: %s wants 0-%" PRIu64 ", got '%s'", opt, max,
		          escape_str(&esc, arg));
		buf_release(&esc);
		return false;
	}
	*out = v;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int
cmd_report(int argc, char **argv)
{
	enum { O_DB = 256, O_FORMAT, O_TITLE, O_DATE, O_MAX, O_TOP, O_HISTORY };
	static const struct option longopts[] = {
	        {"db", required_argument, NULL, O_DB},
	        {"output", required_argument, NULL, 'o'},
	        {"format", required_argument, NULL, O_FORMAT},
	        {"title", required_argument, NULL, O_TITLE},
	        {"date", required_argument, NULL, O_DATE},
	        {"max-domains", required_argument, NULL, O_MAX},
	        {"top", required_argument, NULL, O_TOP},
	        {"history", required_argument, NULL, O_HISTORY},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct policy_psl *psl = NULL;
	struct report_run r;
	struct report_html_info info;
	struct report_input *in = NULL;
	struct buf esc = BUF_INIT, source = BUF_INIT;
	struct why why = {""};
	const char *db = NULL, *out_path = NULL, *format = NULL, *history = NULL;
	const char *title = "danemail report", *date = NULL;
	uint64_t max_domains = REPORT_DEFAULT_MAX_DOMAINS, top = REPORT_DEFAULT_TOP;
	size_t n_in = 0, i;
	bool stats_cmd = false, ok = true, have_stdin = false;
	FILE *out = stdout;
	int c, rc = REPORT_EXIT_OK;

	memset(&r, 0, sizeof(r));
	/* "report stats FILE...": the scan's table */
	if (argc > 1 && strcmp(argv[1], "stats") == 0) {
		stats_cmd = true;
		argv++;
		argc--;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB:
			db = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case O_FORMAT:
			format = optarg;
			break;
		case O_TITLE:
			title = optarg;
			break;
		case O_DATE:
			date = optarg;
			break;
		case O_MAX:
			if (!parse_count("--max-domains", optarg, UINT64_MAX / 2, &max_domains))
				return REPORT_EXIT_USAGE;
			break;
		case O_TOP:
			if (!parse_count("--top", optarg, 64, &top))
				return REPORT_EXIT_USAGE;
			if (top == 0)
				top = REPORT_DEFAULT_TOP;
			break;
		case O_HISTORY:
			history = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return REPORT_EXIT_OK;
		default:
			report_usage(stderr);
			return REPORT_EXIT_USAGE;
		}
	}
	if (stats_cmd && format && strcmp(format, "stats") != 0) {
		cli_error("report: stats prints the table; --format is for danemail report");
		return REPORT_EXIT_USAGE;
	}
	if (stats_cmd)
		r.format = FMT_STATS;
	else if (format == NULL)
		r.format = out_path && ends_with(out_path, ".md")     ? FMT_MD
		           : out_path && ends_with(out_path, ".json") ? FMT_JSON
		           : out_path && strcmp(out_path, "-") != 0   ? FMT_HTML
		                                                      : FMT_STATS;
	else if (strcmp(format, "stats") == 0)
		r.format = FMT_STATS;
	else if (strcmp(format, "json") == 0)
		r.format = FMT_JSON;
	else if (strcmp(format, "md") == 0 || strcmp(format, "markdown") == 0)
		r.format = FMT_MD;
	else if (strcmp(format, "html") == 0)
		r.format = FMT_HTML;
	else {
		cli_error("report: --format wants html, md, stats or json, got '%s'",
		          escape_str(&esc, format));
		buf_release(&esc);
		return REPORT_EXIT_USAGE;
	}
	if (history) {
		if (db == NULL || optind < argc) {
			cli_error("report: --history DOMAIN wants --db URI (and no files)");
			return REPORT_EXIT_USAGE;
		}
	} else if ((db != NULL) == (optind < argc)) {
		cli_error("report: give FILE.jsonl... (or - for stdin) or --db URI (one of them)");
		return REPORT_EXIT_USAGE;
	}
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			if (have_stdin) {
				cli_error("report: stdin (-) can be read only once");
				return REPORT_EXIT_USAGE;
			}
			have_stdin = true;
		}
	}

	if (out_path && strcmp(out_path, "-") != 0 && (out = fopen(out_path, "w")) == NULL) {
		cli_error("report: -o %s: %s", escape_str(&esc, out_path), strerror(errno));
		buf_release(&esc);
		return REPORT_EXIT_CANTCREAT;
	}
	if (history) {
		rc = run_history(db, history, r.format, out);
		goto close;
	}

	psl = policy_psl_new(NULL, &why); /* NULL: operators are MX host names */
	report_agg_init(&r.agg, psl);
	r.max_domains = max_domains;
	if (r.format == FMT_HTML && max_domains > 0 && (r.drill = tmpfile()) == NULL) {
		cli_error("report: a temporary file: %s", strerror(errno));
		rc = REPORT_EXIT_CANTCREAT;
		goto done;
	}
	if (db) {
		struct db_walk w = {&r, 0};
		struct store *st = store_open(db, &why);

		/* a PostgreSQL URI may hold a password: only a file path is shown */
		if (st && strcmp(store_backend(st), "sqlite") == 0)
			buf_printf(&source, "database %s", db);
		else
			buf_printf(&source, "a PostgreSQL database");
		if (st == NULL || !store_latest(st, db_row, &w, &why)) {
			cli_error("report: --db: %s", escape_str(&esc, why.msg));
			rc = REPORT_EXIT_NOINPUT;
		}
		store_close(st);
		if (rc != REPORT_EXIT_OK)
			goto done;
	} else {
		n_in = (size_t)(argc - optind);
		in = xcalloc(n_in, sizeof(*in));
		for (i = 0; i < n_in; i++) {
			in[i].name = argv[optind + (int)i];
			if (strcmp(in[i].name, "-") == 0) {
				in[i].fp = stdin;
				in[i].name = "(stdin)";
			} else if ((in[i].fp = fopen(in[i].name, "r")) == NULL) {
				cli_error("report: %s: %s", escape_str(&esc, in[i].name),
				          strerror(errno));
				rc = REPORT_EXIT_NOINPUT;
				goto done;
			}
		}
		if (n_in == 1)
			buf_printf(&source, "%s",
			           strcmp(in[0].name, "(stdin)") == 0 ? "standard input"
			                                              : in[0].name);
		else
			buf_printf(&source, "%zu JSON Lines files", n_in);
		if (!pass_index(&r, in, n_in)) {
			rc = REPORT_EXIT_NOINPUT;
			goto done;
		}
		pass_count(&r, in, n_in);
	}

	memset(&info, 0, sizeof(info));
	info.title = title;
	info.date = date;
	info.source = buf_str(&source);
	info.lines = r.lines;
	info.malformed = r.malformed;
	info.duplicates = r.duplicates;
	info.drill_shown = r.drill_shown;
	info.max_domains = max_domains;
	info.top_n = (size_t)top;
	switch (r.format) {
	case FMT_STATS:
		fprintf(out, "danemail report: %" PRIu64 " domains (%" PRIu64 " entries) from %s\n",
		        r.agg.stats.domains, r.agg.stats.entries,
		        escape_str(&esc, buf_str(&source)));
		scan_stats_print(out, &r.agg.stats);
		break;
	case FMT_JSON: {
		json_t *j = report_json(&r.agg, &info);

		if (json_dumpf(j, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
			ok = false;
		json_decref(j);
		break;
	}
	case FMT_MD:
		write_md(out, &r.agg, &info);
		break;
	case FMT_HTML:
		ok = report_html_write(out, &r.agg, &info, r.drill);
		break;
	}
	if (r.malformed) {
		cli_error("report: %" PRIu64 " of %" PRIu64 " lines were no scan result%s",
		          r.malformed, r.lines,
		          r.malformed > REPORT_MALFORMED_SHOWN ? " (the first 10 are named above)"
		                                               : "");
		rc = REPORT_EXIT_DATAERR;
	}
	if (r.read_error && rc == REPORT_EXIT_OK)
		rc = REPORT_EXIT_NOINPUT;
done:
	for (i = 0; i < n_in; i++)
		if (in[i].fp && in[i].fp != stdin)
			fclose(in[i].fp);
	free(in);
	if (r.drill)
		fclose(r.drill);
	free(r.index.keys);
	free(r.index.last);
	report_agg_clear(&r.agg);
	policy_psl_free(psl);
close:
	if (fflush(out) != 0 || ferror(out) || !ok) {
		cli_error("report: writing the output: %s", strerror(errno ? errno : EIO));
		rc = REPORT_EXIT_IOERR;
	}
	if (out != stdout)
		fclose(out);
	buf_release(&esc);
	buf_release(&source);
	return rc;
}
