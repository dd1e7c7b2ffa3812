/*
 * notify.c - text, e-mail, syslog and Prometheus output of the monitor's
 * alerts (see notify.h).
 *
 * E-mail: libcurl's SMTP client (RFC 5321: MAIL FROM, RCPT TO, DATA; it
 * dot-stuffs the body) to the configured relay, without authentication or
 * TLS (a local relay); one message per run.  The message is plain text,
 * UTF-8, lines shorter than 998 octets (RFC 5322 2.1.1), and carries
 * Auto-Submitted: auto-generated (RFC 3834) so that no one auto-replies.
 * Header fields are built from ASCII only: a byte outside printable ASCII
 * becomes '?', so no alert text can add a header (the alert strings were
 * escaped by the scanner already).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alerts.h"
#include "notify.h"
#include "util/alloc.h"

static const char *
jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* Append s, wrapped at width columns, every line after the first indented by indent. */
static void
wrap(struct buf *out, const char *s, size_t width, const char *indent)
{
	size_t col = 0, n;

	while (*s) {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n == 0)
			break;
		if (col > 0 && col + 1 + n > width) {
			buf_printf(out, "\n%s", indent);
			col = strlen(indent);
		} else if (col > 0) {
			buf_putc(out, ' ');
			col++;
		}
		buf_append(out, s, n);
		col += n;
		s += n;
	}
}

void
notify_alert_text(struct buf *out, const json_t *alert, const char *status)
{
	json_t *doms = json_object_get(alert, "domains"), *ev = json_object_get(alert, "evidence");
	json_t *v;
	size_t i;

	buf_printf(out, "%s %s: %s",
	           strcmp(jstr(alert, "severity"), "critical") == 0 ? "CRITICAL" : "WARNING",
	           jstr(alert, "kind"), jstr(alert, "summary"));
	if (status && *status)
		buf_printf(out, " [%s]", status);
	buf_puts(out, "\n  domains: ");
	json_array_foreach(doms, i, v)
	{
		buf_printf(out, "%s%s", i ? ", " : "", json_string_value(v));
	}
	buf_puts(out, "\n  evidence:\n");
	json_array_foreach(ev, i, v)
	{
		buf_printf(out, "    %s\n", json_string_value(v));
	}
	buf_puts(out, "  fix: ");
	wrap(out, jstr(alert, "fix"), 76, "       ");
	buf_putc(out, '\n');
}

/* ASCII only, no control characters: for header fields. */
static void
put_header_text(struct buf *out, const char *s, size_t max)
{
	size_t n;

	for (n = 0; *s && n < max; s++, n++)
		buf_putc(out, (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?');
	if (*s)
		buf_puts(out, "...");
}

void
notify_mail_subject(struct buf *out, const json_t *send, const json_t *cleared)
{
	size_t n = json_array_size(send), nc = json_array_size(cleared);
	struct buf s = BUF_INIT;

	buf_puts(&s, "danemail: ");
	if (n > 1)
		buf_printf(&s, "%zu alerts: ", n);
	if (n > 0)
		buf_puts(&s, jstr(json_array_get(send, 0), "summary"));
	if (n > 1)
		buf_puts(&s, ", ...");
	if (n == 0 && nc > 0)
		buf_printf(&s, "cleared: %s%s", jstr(json_array_get(cleared, 0), "summary"),
		           nc > 1 ? ", ..." : "");
	put_header_text(out, buf_str(&s), 400);
	buf_release(&s);
}

/* The text, its line ends turned into CRLF. */
static void
put_crlf(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			buf_putc(out, '\r');
		buf_putc(out, *s);
	}
}

void
notify_mail_message(struct buf *out, const struct notify_mail *m, const json_t *send,
                    const json_t *cleared, time_t now)
{
	struct buf body = BUF_INIT;
	char date[64], host[256] = "localhost";
	struct tm tm;
	json_t *a;
	size_t i;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_puts(out, "From: ");
	put_header_text(out, m->from, 256);
	buf_puts(out, "\r\nTo: ");
	for (i = 0; i < m->n_to; i++) {
		if (i)
			buf_puts(out, ",\r\n ");
		put_header_text(out, m->to[i], 256);
	}
	buf_puts(out, "\r\nSubject: ");
	notify_mail_subject(out, send, cleared);
	buf_printf(out, "\r\nDate: %s\r\nMessage-ID: <danemail-monitor.%lld.%ld@", date,
	           (long long)now, (long)getpid());
	put_header_text(out, host, 200);
	buf_puts(out, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	              "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n");
	buf_printf(out, "X-Danemail-Alerts: %zu\r\n\r\n", json_array_size(send));

	if (json_array_size(send)) {
		buf_printf(&body,
		           "danemail monitor found %zu problem%s with mail transport security:\n\n",
		           json_array_size(send), json_array_size(send) == 1 ? "" : "s");
		json_array_foreach(send, i, a)
		{
			notify_alert_text(&body, a, jstr(a, "status"));
			buf_putc(&body, '\n');
		}
	}
	if (json_array_size(cleared)) {
		buf_puts(&body, "Cleared since the last run:\n");
		json_array_foreach(cleared, i, a)
		{
			buf_printf(&body, "  %s: %s\n", jstr(a, "kind"), jstr(a, "summary"));
		}
		buf_putc(&body, '\n');
	}
	buf_puts(&body, "-- \ndanemail monitor on ");
	buf_puts(&body, host);
	buf_puts(&body, "\n");
	put_crlf(out, buf_str(&body));
	buf_release(&body);
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
upload_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;

	memcpy(ptr, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* "smtp://HOST:PORT" from HOST, HOST:PORT or [V6]:PORT; false if it is none. */
static bool
relay_url(struct buf *url, const char *relay)
{
	const char *colon = strrchr(relay, ':');

	if (*relay == '\0' || strpbrk(relay, "/@ \t\r\n?#"))
		return false;
	if (relay[0] == '[') {
		const char *end = strchr(relay, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		buf_printf(url, "smtp://%s%s", relay, end[1] ? "" : ":25");
		return true;
	}
	if (colon && strchr(relay, ':') != colon)
		return false; /* a bare IPv6 address: write it [::1]:25 */
	buf_printf(url, "smtp://%s%s", relay, colon ? "" : ":25");
	return true;
}

bool
notify_mail_send(const struct notify_mail *m, const char *message, struct why *why)
{
	struct buf url = BUF_INIT, addr = BUF_INIT;
	struct curl_slist *rcpt = NULL;
	struct upload u = {message, strlen(message)};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e;
	CURLcode rc;
	size_t i;
	bool ok = true;

	if (!relay_url(&url, m->relay)) {
		buf_release(&url);
		return why_set(why, "--relay wants HOST[:PORT] or [IPv6]:PORT");
	}
	if ((e = curl_easy_init()) == NULL) {
		buf_release(&url);
		return why_set(why, "libcurl cannot be set up");
	}
	for (i = 0; i < m->n_to; i++) {
		buf_reset(&addr);
		buf_printf(&addr, "<%s>", m->to[i]);
		rcpt = curl_slist_append(rcpt, buf_str(&addr));
	}
	buf_reset(&addr);
	buf_printf(&addr, "<%s>", m->from);
	ok &= curl_easy_setopt(e, CURLOPT_URL, buf_str(&url)) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp") == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_MAIL_FROM, buf_str(&addr)) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_READFUNCTION, upload_read) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_READDATA, &u) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, m->timeout_ms > 0 ? m->timeout_ms : 60000L) ==
	      CURLE_OK;
	if (!ok) {
		why_set(why, "libcurl rejects an SMTP option");
	} else if ((rc = curl_easy_perform(e)) != CURLE_OK) {
		struct buf esc = BUF_INIT;

		buf_puts(&esc, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		why_set(why, "relay %s: %s", m->relay, buf_str(&esc));
		buf_release(&esc);
		ok = false;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(e);
	buf_release(&url);
	buf_release(&addr);
	return ok;
}

void
notify_syslog(const json_t *alert, const char *status)
{
	json_t *doms = json_object_get(alert, "domains"), *v;
	struct buf b = BUF_INIT;
	int prio = LOG_NOTICE;
	size_t i;

	if (strcmp(status, "cleared") != 0)
		prio = strcmp(jstr(alert, "severity"), "critical") == 0 ? LOG_CRIT : LOG_WARNING;
	json_array_foreach(doms, i, v)
	{
		buf_printf(&b, "%s%s", i ? "," : "", json_string_value(v));
	}
	syslog(LOG_MAIL | prio, "%s %s: %s; domains=%s", status, jstr(alert, "kind"),
	       jstr(alert, "summary"), buf_str(&b));
	buf_release(&b);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
put_label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(out, '\\');
		if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *s);
	}
}

/* The last success recorded in an earlier textfile, or 0. */
static double
previous_success(const char *path)
{
	static const char name[] = "danemail_monitor_last_success_timestamp_seconds ";
	char line[256];
	double t = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, name, sizeof(name) - 1) == 0)
			t = strtod(line + sizeof(name) - 1, NULL);
	fclose(fp);
	return t;
}

bool
notify_metrics_write(const char *path, const struct notify_metrics *m, struct why *why)
{
	static const char *const sev[] = {"critical", "warning"};
	struct buf b = BUF_INIT, tmp = BUF_INIT;
	char *tmpl;
	double last = m->ok ? (double)m->finished : previous_success(path);
	const json_t *d, *a;
	const char *key;
	size_t i;
	int k, s, fd;
	bool ok;

	buf_puts(&b, "# HELP danemail_monitor_domain_dane_pass 1 when the domain's DANE verdict "
	             "is pass.\n# TYPE danemail_monitor_domain_dane_pass gauge\n");
	json_array_foreach(m->domains, i, d)
	{
		buf_puts(&b, "danemail_monitor_domain_dane_pass{domain=\"");
		put_label(&b, jstr(d, "domain"));
		buf_printf(&b, "\"} %d\n", strcmp(jstr(d, "verdict"), "pass") == 0);
	}
	buf_puts(&b, "# HELP danemail_monitor_domain_verdict The domain's DANE verdict (RFC "
	             "7672), as a label.\n# TYPE danemail_monitor_domain_verdict gauge\n");
	json_array_foreach(m->domains, i, d)
	{
		buf_puts(&b, "danemail_monitor_domain_verdict{domain=\"");
		put_label(&b, jstr(d, "domain"));
		buf_puts(&b, "\",verdict=\"");
		put_label(&b, jstr(d, "verdict"));
		buf_puts(&b, "\"} 1\n");
	}
	buf_puts(&b, "# HELP danemail_monitor_domain_starttls 1 when every tested mail server of "
	             "the domain offers working STARTTLS.\n"
	             "# TYPE danemail_monitor_domain_starttls gauge\n");
	json_array_foreach(m->domains, i, d)
	{
		buf_puts(&b, "danemail_monitor_domain_starttls{domain=\"");
		put_label(&b, jstr(d, "domain"));
		buf_puts(&b, "\",state=\"");
		put_label(&b, jstr(d, "starttls"));
		buf_printf(&b, "\"} %d\n", strcmp(jstr(d, "starttls"), "all") == 0);
	}
	buf_puts(&b, "# HELP danemail_monitor_alerts Alerts active after the run, by kind and "
	             "severity.\n# TYPE danemail_monitor_alerts gauge\n");
	for (k = 0; k < ALERT_KINDS; k++) {
		for (s = 0; s < 2; s++) {
			size_t n = 0;

			json_object_foreach((json_t *)m->alerts, key, a)
			{
				if (strcmp(jstr(a, "kind"), alert_kind_name((enum alert_kind)k)) ==
				            0 &&
				    strcmp(jstr(a, "severity"), sev[s]) == 0)
					n++;
			}
			buf_printf(&b, "danemail_monitor_alerts{kind=\"%s\",severity=\"%s\"} %zu\n",
			           alert_kind_name((enum alert_kind)k), sev[s], n);
		}
	}
	buf_printf(&b,
	           "# HELP danemail_monitor_domains Domains scanned by the run.\n"
	           "# TYPE danemail_monitor_domains gauge\n"
	           "danemail_monitor_domains %zu\n"
	           "# HELP danemail_monitor_scan_duration_seconds How long the run took.\n"
	           "# TYPE danemail_monitor_scan_duration_seconds gauge\n"
	           "danemail_monitor_scan_duration_seconds %.3f\n"
	           "# HELP danemail_monitor_run_ok 1 when the run scanned and stored everything.\n"
	           "# TYPE danemail_monitor_run_ok gauge\n"
	           "danemail_monitor_run_ok %d\n"
	           "# HELP danemail_monitor_last_success_timestamp_seconds End of the last "
	           "successful run (Unix time).\n"
	           "# TYPE danemail_monitor_last_success_timestamp_seconds gauge\n"
	           "danemail_monitor_last_success_timestamp_seconds %.0f\n",
	           json_array_size(m->domains), m->duration, m->ok, last);

	buf_printf(&tmp, "%s.XXXXXX", path);
	tmpl = xstrdup(buf_str(&tmp));
	buf_release(&tmp);
	if ((fd = mkstemp(tmpl)) < 0) {
		why_set(why, "%s: %s", tmpl, strerror(errno));
		buf_release(&b);
		free(tmpl);
		return false;
	}
	(void)fchmod(fd, 0644); /* node_exporter runs as another user */
	ok = write(fd, buf_str(&b), b.len) == (ssize_t)b.len;
	ok = fsync(fd) == 0 && ok;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmpl, path) != 0) {
		why_set(why, "%s: %s", path, strerror(errno ? errno : EIO));
		unlink(tmpl);
		ok = false;
	}
	buf_release(&b);
	free(tmpl);
	return ok;
}
