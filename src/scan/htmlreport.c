/*
 * htmlreport.c - the HTML page of `danemail report` (see htmlreport.h).
 *
 * Trust: everything taken from a scan result is hostile (a domain name in
 * an invalid input entry, a certificate subject, an SMTP greeting can hold
 * "<script>"); it goes out only through report_html_escape(), in text and in
 * quoted attribute values alike.  The page carries a Content-Security-Policy
 * that allows no script, no fetch and no frame, as a second fence.
 */
#include <inttypes.h>
#include <string.h>

#include "htmlreport.h"
#include "report.h"
#include "util/codec.h"

void
report_html_escape(FILE *fp, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("-", fp);
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			/* C0 controls (but tab and newline) and DEL are no text */
			if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
				fputs("&#xFFFD;", fp);
			else
				fputc(*p, fp);
		}
	}
}

/* At most max bytes of s (not splitting a UTF-8 sequence), escaped; "..." if cut. */
static void
report_html_escape_cut(FILE *fp, const char *s, size_t max)
{
	char buf[256];
	size_t n;

	if (s == NULL || strlen(s) <= max || max >= sizeof(buf)) {
		report_html_escape(fp, s);
		return;
	}
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	report_html_escape(fp, buf);
	fputs("&#8230;", fp);
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A member as text: strings escaped, numbers and booleans printed, else "-". */
static void
jtext(FILE *fp, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		report_html_escape(fp, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(fp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", fp);
	else
		fputs("-", fp);
}

/* A CSS class for a verdict or state: "good", "bad", "warn" or "none". */
static const char *
tone(const char *v)
{
	if (v == NULL)
		return "none";
	if (strcmp(v, "pass") == 0 || strcmp(v, "valid") == 0 || strcmp(v, "all") == 0 ||
	    strcmp(v, "secure") == 0 || strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0)
		return "good";
	if (strcmp(v, "absent") == 0 || strcmp(v, "tlsa-absent") == 0 ||
	    strcmp(v, "dnssec-insecure") == 0 || strcmp(v, "insecure") == 0 ||
	    strcmp(v, "no-mail") == 0 || strcmp(v, "some") == 0)
		return "warn";
	return "bad";
}

static void
cell(FILE *fp, const char *v)
{
	fprintf(fp, "<td class=\"%s\">", tone(v));
	report_html_escape(fp, v);
	fputs("</td>", fp);
}

static void
drill_tls(FILE *fp, const json_t *tls)
{
	const json_t *cert = json_object_get(tls, "certificate");
	const json_t *dane = json_object_get(tls, "dane");
	const json_t *names = json_object_get(cert, "dns_names"), *n;
	size_t i;

	fputs("<td>", fp);
	jtext(fp, tls, "version");
	fputs("<br>", fp);
	jtext(fp, tls, "cipher");
	fputs("</td><td>", fp);
	if (json_is_object(cert)) {
		fputs("<span class=\"subj\">", fp);
		jtext(fp, cert, "subject");
		fputs("</span><br>issuer ", fp);
		jtext(fp, cert, "issuer");
		fputs("<br>names ", fp);
		json_array_foreach(names, i, n)
		{
			if (i)
				fputs(", ", fp);
			report_html_escape(fp, json_string_value(n));
		}
		fputs("<br>", fp);
		jtext(fp, cert, "key_type");
		fputs(" ", fp);
		jtext(fp, cert, "key_bits");
		fputs(", until ", fp);
		jtext(fp, cert, "not_after");
		if (json_is_true(json_object_get(cert, "expired")))
			fputs(" <b class=\"bad\">expired</b>", fp);
		fputs("<br>PKIX ", fp);
		jtext(fp, tls, "pkix_valid");
		fputs(", names host ", fp);
		jtext(fp, tls, "names_host");
	} else {
		fputs("-", fp);
	}
	fputs("</td><td>", fp);
	if (json_is_object(dane)) {
		jtext(fp, dane, "records");
		fputs(" TLSA; ", fp);
		jtext(fp, dane, "verify");
	}
	fputs("</td>", fp);
}

static void
drill_host(FILE *fp, const json_t *h)
{
	const json_t *tlsa = json_object_get(h, "tlsa"), *addrs = json_object_get(h, "addresses");
	const json_t *a, *r;
	size_t i;

	fputs("<h4>MX ", fp);
	jtext(fp, h, "preference");
	fputs(" ", fp);
	jtext(fp, h, "host");
	fprintf(fp, " <span class=\"%s\">", tone(jstr(h, "verdict")));
	jtext(fp, h, "verdict");
	fputs("</span></h4>\n<p>addresses ", fp);
	jtext(fp, h, "addresses_dnssec");
	fputs(" (", fp);
	jtext(fp, h, "addresses_outcome");
	fputs("); canonical ", fp);
	jtext(fp, h, "canonical");
	fputs("<br>TLSA ", fp);
	if (json_is_object(tlsa)) {
		jtext(fp, tlsa, "owner");
		fputs(": ", fp);
		jtext(fp, tlsa, "dnssec");
		fputs(", ", fp);
		jtext(fp, tlsa, "outcome");
		json_array_foreach(json_object_get(tlsa, "records"), i, r)
		{
			fputs("<br><code>", fp);
			jtext(fp, r, "usage");
			fputs(" ", fp);
			jtext(fp, r, "selector");
			fputs(" ", fp);
			jtext(fp, r, "matching_type");
			fputs(" ", fp);
			report_html_escape_cut(fp, jstr(r, "data"), 64);
			fputs("</code>", fp);
		}
	} else {
		fputs("not looked up", fp);
	}
	fputs("</p>\n", fp);
	if (json_array_size(addrs) == 0)
		return;
	fputs("<table class=\"addr\"><tr><th>address</th><th>transport</th><th>SMTP</th>"
	      "<th>TLS</th><th>certificate</th><th>DANE</th><th>verdict</th></tr>\n",
	      fp);
	json_array_foreach(addrs, i, a)
	{
		const json_t *smtp = json_object_get(a, "smtp"), *tls = json_object_get(a, "tls");

		fputs("<tr><td>", fp);
		jtext(fp, a, "address");
		fputs("</td>", fp);
		cell(fp, jstr(a, "transport"));
		fputs("<td>", fp);
		if (json_is_object(smtp)) {
			jtext(fp, smtp, "result");
			fputs("<br><small>", fp);
			report_html_escape_cut(fp, jstr(smtp, "greeting"), 120);
			fputs("</small>", fp);
		} else {
			jtext(fp, a, "not_tested");
		}
		fputs("</td>", fp);
		if (json_is_object(tls))
			drill_tls(fp, tls);
		else
			fputs("<td>-</td><td>-</td><td>-</td>", fp);
		cell(fp, jstr(a, "verdict"));
		fputs("</tr>\n", fp);
	}
	fputs("</table>\n", fp);
}

static void
drill_policy(FILE *fp, const json_t *j, const char *member, const char *label)
{
	const json_t *p = json_object_get(j, member), *pol;

	if (!json_is_object(p))
		return;
	fprintf(fp, "<li>%s: <span class=\"%s\">", label, tone(jstr(p, "state")));
	jtext(fp, p, "state");
	fputs("</span> ", fp);
	if (json_is_string(json_object_get(p, "record"))) {
		fputs("<code>", fp);
		report_html_escape_cut(fp, jstr(p, "record"), 200);
		fputs("</code>", fp);
	}
	if (json_is_string(json_object_get(p, "why"))) {
		fputs(" &#8212; ", fp);
		jtext(fp, p, "why");
	}
	pol = json_object_get(p, "policy");
	if (json_is_object(pol)) {
		fputs("; policy fetch ", fp);
		jtext(fp, pol, "fetch");
		fputs(", mode ", fp);
		jtext(fp, pol, "mode");
		fputs(", covers every MX ", fp);
		jtext(fp, pol, "mx_covered");
	}
	fputs("</li>\n", fp);
}

void
report_html_domain(FILE *fp, const json_t *j)
{
	const json_t *mx = json_object_get(j, "mx"), *h;
	size_t i;

	fputs("<tr><td><details><summary>", fp);
	jtext(fp, j, "domain");
	fputs("</summary><div class=\"dd\">\n", fp);
	if (json_object_get(j, "error")) {
		fputs("<p>input line ", fp);
		jtext(fp, j, "input_line");
		fputs(": no domain name: ", fp);
		jtext(fp, j, "error");
		fputs("</p></div></details></td><td class=\"bad\" colspan=\"8\">not scanned: ", fp);
		jtext(fp, j, "error");
		fputs("</td></tr>\n", fp);
		return;
	}
	fputs("<p>MX ", fp);
	jtext(fp, mx, "kind");
	fputs(", DNSSEC ", fp);
	jtext(fp, mx, "dnssec");
	fputs(" (", fp);
	jtext(fp, mx, "outcome");
	fputs("); verdict ", fp);
	jtext(fp, j, "verdict");
	fputs(" at ", fp);
	jtext(fp, j, "verdict_where");
	if (json_is_string(json_object_get(j, "rule"))) {
		fputs("<br>", fp);
		jtext(fp, j, "rule");
	}
	fputs("</p>\n", fp);
	json_array_foreach(json_object_get(j, "hosts"), i, h) drill_host(fp, h);
	fputs("<ul>\n", fp);
	drill_policy(fp, j, "spf", "SPF");
	drill_policy(fp, j, "dmarc", "DMARC");
	drill_policy(fp, j, "mta_sts", "MTA-STS");
	drill_policy(fp, j, "tls_rpt", "TLS-RPT");
	fputs("</ul></div></details></td>", fp);
	cell(fp, jstr(j, "verdict"));
	cell(fp, jstr(j, "starttls"));
	cell(fp, jstr(j, "tls_lowest"));
	cell(fp, jstr(mx, "dnssec"));
	cell(fp, jstr(json_object_get(j, "spf"), "state"));
	cell(fp, jstr(json_object_get(j, "dmarc"), "state"));
	cell(fp, jstr(json_object_get(j, "mta_sts"), "state"));
	cell(fp, jstr(json_object_get(j, "tls_rpt"), "state"));
	fputs("</tr>\n", fp);
}

/* One bar of a chart. */
struct bar {
	const char *label;
	const char *key; /* data-key */
	uint64_t n, of;  /* value and what its percentage is of */
	uint64_t part;   /* a share of n drawn darker (DANE pass of an operator) */
	bool has_part;
};

#define CHART_W     760
#define CHART_LABEL 270
#define CHART_BAR   360
#define CHART_ROW   24

/*
 * A horizontal bar chart.  percent: bar length is n/of; else n/max(n).
 * Every bar is a <g class="bar"> with data-key, data-value, data-of.
 */
static void
svg_bars(FILE *fp, const char *id, const char *title, const struct bar *bars, size_t n,
         bool percent, const char *part_label)
{
	uint64_t max = 1;
	size_t i;
	int h = 36 + (int)n * CHART_ROW + (part_label ? CHART_ROW : 0);

	for (i = 0; i < n; i++)
		if (bars[i].n > max)
			max = bars[i].n;
	fprintf(fp,
	        "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
	        "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
	        "aria-labelledby=\"%s-t\"><title id=\"%s-t\">",
	        id, CHART_W, h, CHART_W, h, id, id);
	report_html_escape(fp, title);
	fputs("</title>\n", fp);
	fprintf(fp, "<text x=\"0\" y=\"16\" class=\"ct\">");
	report_html_escape(fp, title);
	fputs("</text>\n", fp);
	if (n == 0)
		fprintf(fp, "<text x=\"%d\" y=\"46\">none</text>\n", CHART_LABEL);
	for (i = 0; i < n; i++) {
		const struct bar *b = &bars[i];
		double frac = percent ? (b->of ? (double)b->n / (double)b->of : 0.0)
		                      : (double)b->n / (double)max;
		double w = frac * CHART_BAR, pw = 0;
		int y = 28 + (int)i * CHART_ROW;

		if (b->has_part && b->n)
			pw = w * (double)b->part / (double)b->n;
		fputs("<g class=\"bar\" data-key=\"", fp);
		report_html_escape(fp, b->key ? b->key : b->label);
		fprintf(fp, "\" data-value=\"%" PRIu64 "\" data-of=\"%" PRIu64 "\"", b->n, b->of);
		if (b->has_part)
			fprintf(fp, " data-part=\"%" PRIu64 "\"", b->part);
		fprintf(fp, "><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", CHART_LABEL - 8,
		        y + 13);
		report_html_escape_cut(fp, b->label, 40);
		fprintf(fp,
		        "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" class=\"bg\"/>"
		        "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" class=\"fg\"/>",
		        CHART_LABEL, y, CHART_BAR, CHART_LABEL, y, w);
		if (b->has_part)
			fprintf(fp,
			        "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" "
			        "class=\"pt\"/>",
			        CHART_LABEL, y, pw);
		fprintf(fp, "<text x=\"%d\" y=\"%d\">%" PRIu64 " (%.1f%%)</text></g>\n",
		        CHART_LABEL + CHART_BAR + 8, y + 13, b->n, scan_stats_pct(b->n, b->of));
	}
	if (part_label) {
		int y = 28 + (int)n * CHART_ROW;

		fprintf(fp,
		        "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" class=\"pt\"/>"
		        "<text x=\"%d\" y=\"%d\">%s</text>\n",
		        CHART_LABEL, y + 2, CHART_LABEL + 18, y + 12, part_label);
	}
	fputs("</svg>\n", fp);
}

static void
stats_row_html(void *arg, const struct scan_stats_row *r)
{
	FILE *fp = arg;

	if (r->of_what == NULL) {
		fputs("<tr class=\"head\"", fp);
		if (r->key)
			fprintf(fp, " data-key=\"%s\" data-value=\"%" PRIu64 "\"", r->key, r->n);
		fputs("><th colspan=\"4\">", fp);
		report_html_escape(fp, r->what);
		fputs("</th></tr>\n", fp);
		return;
	}
	fprintf(fp,
	        "<tr data-key=\"%s\" data-value=\"%" PRIu64 "\" data-of=\"%" PRIu64 "\">"
	        "<td class=\"i%d\">",
	        r->key, r->n, r->of, r->indent);
	report_html_escape(fp, r->what);
	fprintf(fp,
	        "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%.1f%%</td><td>of %s</td>"
	        "</tr>\n",
	        r->n, scan_stats_pct(r->n, r->of), r->of_what);
}

static const char style[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;"
        "padding:0 1em;color:#222}\n"
        "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\n"
        "table{border-collapse:collapse;margin:.5em 0}\n"
        "td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
        "\n"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}td.i2{padding-left:2em}\n"
        "tr.head th{padding-top:.8em;font-weight:600}\n"
        ".good{color:#176b1d}.bad{color:#a31515}.warn{color:#8a5a00}.none{color:#777}\n"
        ".chart text{font-size:12px;fill:#222}.chart .ct{font-weight:600;font-size:14px}\n"
        ".chart .bg{fill:#eef0f3}.chart .fg{fill:#6b8fc7}.chart .pt{fill:#1f4e96}\n"
        "details summary{cursor:pointer}.dd{margin:.3em 0 1em 1em;font-size:13px}\n"
        ".dd h4{margin:.6em 0 .2em}table.addr td,table.addr th{font-size:12px}\n"
        "code{font-size:12px;word-break:break-all}.meta{color:#555}\n";

bool
report_html_write(FILE *fp, struct report_agg *a, const struct report_html_info *info, FILE *drill)
{
	const struct scan_stats *s = &a->stats;
	struct bar bars[64];
	const struct report_operator **ops;
	size_t n, i, n_ops;
	uint64_t with_tls = s->starttls[SCAN_STARTTLS_ALL] + s->starttls[SCAN_STARTTLS_SOME];
	char t1[32], t2[32], buf[8192];
	size_t top = info->top_n ? info->top_n : 20;

	if (top > sizeof(bars) / sizeof(bars[0]))
		top = sizeof(bars) / sizeof(bars[0]);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"danemail report\">\n<title>",
	      fp);
	report_html_escape(fp, info->title);
	fprintf(fp, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
	report_html_escape(fp, info->title);
	fputs("</h1>\n<p class=\"meta\" id=\"meta\">", fp);
	fprintf(fp,
	        "<span data-key=\"domains\" data-value=\"%" PRIu64 "\">%" PRIu64
	        " domains</span> (%" PRIu64 " entries) from ",
	        s->domains, s->domains, s->entries);
	report_html_escape(fp, info->source);
	if (a->first) {
		time_text(t1, sizeof(t1), a->first);
		time_text(t2, sizeof(t2), a->last);
		fprintf(fp, "; scanned <time>%s</time> to <time>%s</time>", t1, t2);
	}
	fprintf(fp,
	        ". <span data-key=\"malformed\" data-value=\"%" PRIu64 "\">%" PRIu64
	        " malformed lines</span>, <span data-key=\"duplicates\" data-value=\"%" PRIu64
	        "\">%" PRIu64 " older duplicate results replaced</span>.",
	        info->malformed, info->malformed, info->duplicates, info->duplicates);
	if (info->date) {
		fputs(" Report of ", fp);
		report_html_escape(fp, info->date);
		fputs(".", fp);
	}
	fputs("</p>\n", fp);

	fputs("<h2 id=\"statistics\">Statistics</h2>\n<table id=\"stats\">\n"
	      "<tr><th>domains</th><th>count</th><th>share</th><th>of</th></tr>\n",
	      fp);
	scan_stats_rows(s, stats_row_html, fp);
	fputs("</table>\n", fp);

	fputs("<h2 id=\"tls\">TLS versions</h2>\n", fp);
	for (i = 0; i < SCAN_TLS_BUCKETS; i++) {
		static const char *const keys[SCAN_TLS_BUCKETS] = {
		        "tls_lowest.TLSv1.3", "tls_lowest.TLSv1.2", "tls_lowest.TLSv1.1",
		        "tls_lowest.TLSv1", "tls_lowest.other"};

		bars[i] = (struct bar){scan_tls_bucket_name((enum scan_tls_bucket)i),
		                       keys[i],
		                       s->tls[i],
		                       with_tls,
		                       0,
		                       false};
	}
	svg_bars(fp, "chart-tls", "Lowest TLS version per domain (of domains with TLS)", bars,
	         SCAN_TLS_BUCKETS, true, NULL);
	if (s->enumerated) {
		static const char *const keys[SCAN_TLS_BUCKETS - 1] = {
		        "tls_accepted.TLSv1.3", "tls_accepted.TLSv1.2", "tls_accepted.TLSv1.1",
		        "tls_accepted.TLSv1"};

		for (i = 0; i < SCAN_TLS_BUCKETS - 1; i++)
			bars[i] = (struct bar){scan_tls_bucket_name((enum scan_tls_bucket)i),
			                       keys[i],
			                       s->accepts[i],
			                       s->enumerated,
			                       0,
			                       false};
		svg_bars(fp, "chart-tls-accepted",
		         "TLS versions accepted by some MX address (--tls-enumerate)", bars,
		         SCAN_TLS_BUCKETS - 1, true, NULL);
	}

	fputs("<h2 id=\"adoption\">Adoption</h2>\n", fp);
	n = 0;
	bars[n++] = (struct bar){
	        "DNSSEC (signed MX RRset)", "adoption.dnssec", s->mx_secure, s->exist, 0, false};
	bars[n++] = (struct bar){"DANE (every MX passes)",
	                         "adoption.dane",
	                         s->verdict[DANE_VERDICT_PASS],
	                         s->with_mail,
	                         0,
	                         false};
	bars[n++] = (struct bar){"STARTTLS (every MX)",
	                         "adoption.starttls",
	                         s->starttls[SCAN_STARTTLS_ALL],
	                         s->working_mx,
	                         0,
	                         false};
	if (s->policies) {
		bars[n++] = (struct bar){"SPF (one valid record)",
		                         "adoption.spf",
		                         s->spf_valid,
		                         s->policies,
		                         0,
		                         false};
		bars[n++] = (struct bar){"DMARC (valid record)",
		                         "adoption.dmarc",
		                         s->dmarc_valid,
		                         s->policies,
		                         0,
		                         false};
		bars[n++] = (struct bar){"MTA-STS (valid TXT record)",
		                         "adoption.mta_sts",
		                         s->sts_txt,
		                         s->policies,
		                         0,
		                         false};
		bars[n++] = (struct bar){"TLS-RPT (valid record)",
		                         "adoption.tls_rpt",
		                         s->tlsrpt_valid,
		                         s->policies,
		                         0,
		                         false};
	}
	svg_bars(fp, "chart-adoption", "Adoption (share of the domains each applies to)", bars, n,
	         true, NULL);

	fputs("<h2 id=\"failures\">Top failure reasons</h2>\n", fp);
	report_agg_sort_reasons(a);
	n = a->n_reasons < top ? a->n_reasons : top;
	{
		char labels[64][112];

		for (i = 0; i < n; i++) {
			const struct report_reason *r = &a->reasons[i];

			snprintf(labels[i], sizeof(labels[i]), "%s: %s", r->category, r->reason);
			bars[i] = (struct bar){labels[i],  labels[i],
			                       r->domains, report_agg_of(a, r->of),
			                       0,          false};
		}
		svg_bars(fp, "chart-failures", "Domains by failure reason", bars, n, false, NULL);
	}
	fputs("<table id=\"failures-table\">\n<tr><th>category</th><th>reason</th>"
	      "<th>domains</th><th>share</th><th>of</th></tr>\n",
	      fp);
	for (i = 0; i < a->n_reasons; i++) {
		const struct report_reason *r = &a->reasons[i];
		uint64_t of = report_agg_of(a, r->of);

		fputs("<tr data-key=\"", fp);
		report_html_escape(fp, r->category);
		fputs(": ", fp);
		report_html_escape(fp, r->reason);
		fprintf(fp, "\" data-value=\"%" PRIu64 "\" data-of=\"%" PRIu64 "\"><td>",
		        r->domains, of);
		report_html_escape(fp, r->category);
		fputs("</td><td>", fp);
		report_html_escape(fp, r->reason);
		fprintf(fp,
		        "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%.1f%%</td><td>of "
		        "%s</td></tr>\n",
		        r->domains, scan_stats_pct(r->domains, of), report_of_name(r->of));
	}
	fputs("</table>\n", fp);

	fputs("<h2 id=\"operators\">Largest MX operators</h2>\n<p>MX hosts grouped by their "
	      "registered domain; domains served, and of those the share whose DANE verdict is "
	      "pass.</p>\n",
	      fp);
	ops = report_agg_operators(a, top, &n_ops);
	for (i = 0; i < n_ops; i++)
		bars[i] = (struct bar){report_operator_name(ops[i]),
		                       report_operator_name(ops[i]),
		                       ops[i]->domains,
		                       s->with_mail,
		                       ops[i]->dane_pass,
		                       true};
	svg_bars(fp, "chart-operators", "Domains served per MX operator", bars, n_ops, false,
	         "DANE pass");
	fputs("<table id=\"operators-table\">\n<tr><th>operator</th><th>domains</th>"
	      "<th>DANE pass</th><th>pass share</th><th>MX hosts</th></tr>\n",
	      fp);
	for (i = 0; i < n_ops; i++) {
		fputs("<tr data-key=\"", fp);
		report_html_escape(fp, report_operator_name(ops[i]));
		fprintf(fp, "\" data-value=\"%" PRIu64 "\" data-pass=\"%" PRIu64 "\"><td>",
		        ops[i]->domains, ops[i]->dane_pass);
		report_html_escape(fp, report_operator_name(ops[i]));
		fprintf(fp,
		        "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
		        "</td><td class=\"n\">%.1f%%</td><td class=\"n\">%" PRIu64 "</td></tr>\n",
		        ops[i]->domains, ops[i]->dane_pass,
		        scan_stats_pct(ops[i]->dane_pass, ops[i]->domains), ops[i]->hosts);
	}
	fputs("</table>\n", fp);
	free(ops);

	fputs("<h2 id=\"domains\">Domains</h2>\n", fp);
	fprintf(fp,
	        "<p id=\"drill-note\" data-shown=\"%" PRIu64 "\" data-max=\"%" PRIu64 "\">%" PRIu64
	        " of %" PRIu64 " entries shown",
	        info->drill_shown, info->max_domains, info->drill_shown, s->entries);
	if (info->drill_shown < s->entries)
		fprintf(fp, " (the first %" PRIu64 " in input order; --max-domains raises the cap)",
		        info->max_domains);
	fputs("; open a domain for its MX hosts, addresses, TLS, certificates, TLSA records, "
	      "verdicts and policies.</p>\n",
	      fp);
	fputs("<table id=\"domains-table\">\n<tr><th>domain</th><th>DANE</th><th>STARTTLS</th>"
	      "<th>lowest TLS</th><th>MX DNSSEC</th><th>SPF</th><th>DMARC</th><th>MTA-STS</th>"
	      "<th>TLS-RPT</th></tr>\n",
	      fp);
	if (drill) {
		rewind(drill);
		while ((n = fread(buf, 1, sizeof(buf), drill)) > 0)
			fwrite(buf, 1, n, fp);
		if (ferror(drill))
			return false;
	}
	fputs("</table>\n</body>\n</html>\n", fp);
	return !ferror(fp);
}
