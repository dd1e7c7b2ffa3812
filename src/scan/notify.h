/*
 * notify.h - how `danemail monitor` tells people about its alerts
 * (alerts.h): a text rendering (stdout, mail body), one e-mail per run
 * through an SMTP relay (libcurl), syslog lines (LOG_MAIL), and a
 * Prometheus textfile (written to a temporary file, then renamed).
 *
 * Every string of an alert was escaped by the scanner; the mail headers
 * are built here from ASCII only (anything else becomes '?').
 */
#ifndef DANEMAIL_SCAN_NOTIFY_H
#define DANEMAIL_SCAN_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/why.h"

/* Append an alert as indented text; status ("new", "changed", ...) may be NULL. */
void notify_alert_text(struct buf *out, const json_t *alert, const char *status);

/* Where and how the e-mail goes. */
struct notify_mail {
	const char *relay; /* HOST, HOST:PORT, [V6]:PORT; port 25 when none */
	const char *from;
	const char *const *to;
	size_t n_to;
	long timeout_ms;
};

/*
 * The message (RFC 5322, CRLF line ends) for the alerts to send (an array,
 * each with "status") and those that cleared (an array, may be empty):
 * a subject naming the first alert, the affected domains, the evidence and
 * the fix.  now is the run's time.
 */
void notify_mail_message(struct buf *out, const struct notify_mail *m, const json_t *send,
                         const json_t *cleared, time_t now);
/* The subject line that message carries (without "Subject: "). */
void notify_mail_subject(struct buf *out, const json_t *send, const json_t *cleared);
/* Send message through the relay; false with why on failure. */
bool notify_mail_send(const struct notify_mail *m, const char *message, struct why *why);

/* One syslog line (LOG_MAIL) per alert; cleared ones at LOG_NOTICE. */
void notify_syslog(const json_t *alert, const char *status);

/* What the Prometheus textfile says. */
struct notify_metrics {
	const json_t *domains; /* array of {"domain", "verdict", "starttls"} */
	const json_t *alerts;  /* this run's alerts (object keyed by key) */
	double duration;       /* seconds the run took */
	time_t finished;
	bool ok; /* the run succeeded (scan done, store written); else the last success is kept */
};
/* Write path (via path.XXXXXX + rename); false with why. */
bool notify_metrics_write(const char *path, const struct notify_metrics *m, struct why *why);

#endif
