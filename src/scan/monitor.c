/*
 * monitor.c - `danemail monitor`: scan domains (the scan engine, in
 * process), compare each result with the previous one in the results store
 * and alert when DANE for SMTP breaks or is about to (alerts.h), by e-mail
 * through a relay, syslog, a Prometheus textfile, or as a Nagios/Icinga
 * plugin.
 *
 *   danemail monitor [OPTIONS] DOMAIN...
 *   danemail monitor [OPTIONS] --list FILE
 *   danemail monitor --nagios [OPTIONS] DOMAIN...
 *
 * Every run is a scan labelled "monitor" in the store (store.h).  Alerts
 * are kept there too: an alert that did not change is notified again at
 * most once per --repeat interval; one that is gone is reported "cleared"
 * once and forgotten.  Exit codes are in usage() and danemail(1).
 *
 * Untrusted: the domain list (checked by input.c) and everything the
 * network sends (escaped by the scanner before it reaches the JSON).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "alerts.h"
#include "cli.h"
#include "engine.h"
#include "input.h"
#include "notify.h"
#include "report.h"
#include "scanopt.h"
#include "store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

/* Exit codes of monitor (documented in usage() and danemail(1)). */
enum monitor_exit {
	MONITOR_EXIT_OK = 0,           /* scanned; no alert is active */
	MONITOR_EXIT_ALERTS = 1,       /* scanned; alerts are active (new, repeated or quiet) */
	MONITOR_EXIT_USAGE = 64,       /* bad command line */
	MONITOR_EXIT_DATAERR = 65,     /* some entries were no domain names */
	MONITOR_EXIT_NOINPUT = 66,     /* the list cannot be read */
	MONITOR_EXIT_UNAVAILABLE = 69, /* the alert mail could not be sent (retried next run) */
	MONITOR_EXIT_SOFTWARE = 70,    /* the resolver or TLS could not be set up */
	MONITOR_EXIT_CANTCREAT = 73,   /* the metrics file cannot be written */
	MONITOR_EXIT_IOERR = 74,       /* the store cannot be opened, read or written */
};

/* Nagios plugin states (--nagios). */
enum nagios_state {
	NAGIOS_OK = 0,
	NAGIOS_WARNING = 1,
	NAGIOS_CRITICAL = 2,
	NAGIOS_UNKNOWN = 3,
};
static const char *const nagios_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

/* An unchanged alert is notified again after this long (--repeat). */
#define MONITOR_DEFAULT_REPEAT (24 * 3600)

static void
monitor_usage(FILE *fp)
{
	fputs("usage: danemail monitor [OPTIONS] DOMAIN...\n"
	      "       danemail monitor [OPTIONS] --list FILE\n"
	      "       danemail monitor --nagios [OPTIONS] DOMAIN...\n"
	      "Scan the domains' mail servers (as danemail scan), compare each result with\n"
	      "the previous one in the store and alert on: TLSA no longer matching, TLSA\n"
	      "that will stop matching by --at DATE, DNSSEC bogus, STARTTLS lost, TLS\n"
	      "downgraded, an MTA-STS policy no longer covering the MX hosts.  One alert\n"
	      "per MX host, listing the domains behind it.\n"
	      "input and state:\n"
	      "  DOMAIN...             domains to watch\n"
	      "  --list FILE           one domain per line (or Tranco CSV); \"-\" reads stdin\n"
	      "  --db URI              results store: SQLite file or postgresql:// URI\n"
	      "                        (default $XDG_STATE_HOME/danemail/monitor.db, else\n"
	      "                        ~/.local/state/danemail/monitor.db)\n"
	      "  --repeat DURATION     notify an unchanged alert again after this long\n"
	      "                        (N, Ns, Nm, Nh, Nd; default 24h; 0: every run)\n"
	      "look ahead:\n"
	      "  --at DATE             judge the certificates as of DATE (YYYY-MM-DD or\n"
	      "                        RFC 3339): warn about TLSA records that stop matching\n"
	      "  -d, --days N          the same, N days from now\n"
	      "notifications:\n"
	      "  --mail-to ADDR        send one message per run to ADDR (repeatable)\n"
	      "  --mail-from ADDR      envelope and header sender (default\n"
	      "                        danemail-monitor@<host name>)\n"
	      "  --relay HOST[:PORT]   SMTP relay (default localhost:25; [IPv6]:PORT)\n"
	      "  --syslog              also log every alert (facility mail)\n"
	      "  --metrics FILE        write a Prometheus textfile\n"
	      "  --json                every active alert as JSON Lines on stdout, with its\n"
	      "                        \"status\" (text output: only those due, as mailed)\n"
	      "  --quiet               nothing on stdout\n"
	      "  --nagios              Nagios/Icinga plugin: one status line with perfdata;\n"
	      "                        uses the store only when --db is given\n",
	      fp);
	scanopt_usage(fp);
	fputs("exit:\n"
	      "  0  no alert is active          1  alerts are active\n"
	      "  64 usage error                 65 some entries were no domain names\n"
	      "  66 the list cannot be read     69 the alert mail could not be sent\n"
	      "  70 resolver or TLS set-up      73 the metrics file cannot be written\n"
	      "  74 the store failed\n"
	      "  --nagios: 0 OK, 1 WARNING (will stop matching, TLS downgraded, MTA-STS\n"
	      "  testing policy), 2 CRITICAL (TLSA mismatch, DNSSEC bogus, STARTTLS lost,\n"
	      "  MTA-STS enforce policy), 3 UNKNOWN (lookups failed, nothing testable)\n",
	      fp);
}

/* Everything the run's callbacks share. */
struct monitor_run {
	struct scan_input *in;
	struct scan_engine *engine;
	struct store *st;
	int64_t scan_id;
	struct alert_when when;
	json_t *alerts;    /* this run's, keyed by alert key */
	json_t *open;      /* on record before the run: key -> alert */
	json_t *open_meta; /* key -> {"first_seen", "last_sent"} */
	json_t *domains;   /* [{"domain", "verdict", "starttls", "unknown"}] */
	json_t *scanned;   /* domain -> true */
	uint64_t invalid;
	bool store_failed;
	struct why store_why;
	int signals;
	long min_days; /* days left on the first certificate to expire, -1 none seen */
	size_t tested, tls;
};

static void
store_failure(struct monitor_run *r, const struct why *why)
{
	if (!r->store_failed)
		r->store_why = *why;
	r->store_failed = true;
}

static void
invalid_entry(void *arg, const struct scan_item *it)
{
	struct monitor_run *r = arg;
	struct buf esc = BUF_INIT;

	cli_error("monitor: input line %zu: %s", it->line, escape_str(&esc, it->why));
	buf_release(&esc);
	r->invalid++;
}

static bool
next_domain(void *arg, char **name, long *rank, size_t *position)
{
	struct monitor_run *r = arg;

	return scan_input_next_domain(r->in, name, rank, position, invalid_entry, r);
}

static bool
take_previous(void *arg, const struct store_row *row)
{
	json_t **prev = arg;

	*prev = json_loads(row->json, 0, NULL);
	return false;
}

/* The earliest leaf expiry over the domain's addresses, in days from now (perfdata). */
static void
note_certificates(struct monitor_run *r, const json_t *j)
{
	json_t *hosts = json_object_get(j, "hosts"), *h, *a;
	size_t i, k;

	json_array_foreach(hosts, i, h)
	{
		json_array_foreach(json_object_get(h, "addresses"), k, a)
		{
			json_t *c = json_object_get(json_object_get(a, "tls"), "certificate");
			time_t t;
			long days;

			if (!alert_parse_date(json_string_value(json_object_get(c, "not_after")),
			                      &t))
				continue;
			days = (long)((t - r->when.now) / 86400);
			if (r->min_days < 0 || days < r->min_days)
				r->min_days = days < 0 ? 0 : days;
		}
	}
}

static void
domain_done(void *arg, const struct scan_domain *d)
{
	struct monitor_run *r = arg;
	json_t *j = scan_domain_json(d), *prev = NULL, *sum;
	struct why why = {""};
	const char *unknown;
	bool found = false;
	char *text;

	if (r->st && !r->store_failed) {
		if (!store_previous(r->st, d->name, r->scan_id, take_previous, &prev, &found, &why))
			store_failure(r, &why);
		text = json_dumps(j, JSON_COMPACT);
		if (text == NULL || !store_put(r->st, r->scan_id, d->name, time(NULL), text, &why))
			store_failure(r, text ? &why : &(struct why){"out of memory"});
		free(text);
	}
	alerts_domain(r->alerts, j, prev, r->open, &r->when);
	unknown = alerts_domain_unknown(j);
	sum = json_pack("{s:s, s:o, s:o}", "domain", d->name, "verdict",
	                json_incref(json_object_get(j, "verdict")), "starttls",
	                json_incref(json_object_get(j, "starttls")));
	if (unknown)
		json_object_set_new(sum, "unknown", json_string(unknown));
	json_array_append_new(r->domains, sum);
	json_object_set_new(r->scanned, d->name, json_true());
	r->tested += d->addrs_tested;
	r->tls += d->addrs_tls;
	note_certificates(r, j);
	json_decref(prev);
	json_decref(j);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitor_run *r = arg;

	(void)what;
	(void)sig;
	if (r->signals++ == 0)
		scan_engine_stop(r->engine);
	else
		event_base_loopbreak(scan_engine_base(r->engine));
}

static bool
take_open(void *arg, const struct store_alert *a)
{
	struct monitor_run *r = arg;
	json_t *j = json_loads(a->text, 0, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		return true; /* unreadable: treated as unknown, replaced by this run's */
	}
	json_object_set_new(r->open, a->key, j);
	json_object_set_new(r->open_meta, a->key,
	                    json_pack("{s:I, s:I}", "first_seen", (json_int_t)a->first_seen,
	                              "last_sent", (json_int_t)a->last_sent));
	return true;
}

/* N, Ns, Nm, Nh, Nd. */
static bool
parse_duration(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || v < 0 || v > 100L * 365 * 86400)
		return false;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return false;
	}
	if (*end && end[1])
		return false;
	*out = v;
	return true;
}

/* The default store: $XDG_STATE_HOME/danemail/monitor.db or ~/.local/state/danemail/monitor.db. */
static void
default_db(struct buf *out)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct buf dir = BUF_INIT;

	if (xdg && *xdg == '/') {
		buf_printf(&dir, "%s", xdg);
	} else if (home && *home == '/') {
		buf_printf(&dir, "%s/.local", home);
		(void)mkdir(buf_str(&dir), 0755);
		buf_puts(&dir, "/state");
	} else {
		buf_puts(out, "danemail-monitor.db");
		return;
	}
	(void)mkdir(buf_str(&dir), 0755);
	buf_puts(&dir, "/danemail");
	(void)mkdir(buf_str(&dir), 0700);
	buf_printf(out, "%s/monitor.db", buf_str(&dir));
	buf_release(&dir);
}

/* Domains of an alert that this run scanned? */
static bool
scanned_any(const struct monitor_run *r, const json_t *alert)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(alert, "domains"), i, v)
	{
		if (json_object_get(r->scanned, json_string_value(v)))
			return true;
	}
	return false;
}

/* Alerts in a stable order: critical first, then by key. */
static int
alert_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int d = alert_severity_code(y) - alert_severity_code(x);

	return d ? d
	         : strcmp(json_string_value(json_object_get(x, "key")),
	                  json_string_value(json_object_get(y, "key")));
}

static json_t *
sorted_alerts(const json_t *obj)
{
	json_t *arr = json_array(), *a, **v;
	const char *key;
	size_t i, n = json_object_size(obj);

	v = xcalloc(n ? n : 1, sizeof(*v));
	i = 0;
	json_object_foreach((json_t *)obj, key, a)
	{
		v[i++] = a;
	}
	qsort(v, n, sizeof(*v), alert_order);
	for (i = 0; i < n; i++)
		json_array_append(arr, v[i]);
	free(v);
	return arr;
}

/* The --nagios status line, long output and perfdata. */
static int
nagios_report(const struct monitor_run *r, const json_t *list, double secs)
{
	size_t i, n_crit = 0, n_warn = 0, n_unknown = 0, n_pass = 0;
	enum nagios_state st = NAGIOS_OK;
	struct buf line = BUF_INIT, more = BUF_INIT;
	json_t *a, *d;
	const char *first_unknown = NULL, *first_unknown_domain = NULL;

	json_array_foreach(list, i, a)
	{
		if (alert_severity_code(a) == 2)
			n_crit++;
		else
			n_warn++;
	}
	json_array_foreach(r->domains, i, d)
	{
		const char *u = json_string_value(json_object_get(d, "unknown"));

		if (u) {
			n_unknown++;
			if (!first_unknown) {
				first_unknown = u;
				first_unknown_domain =
				        json_string_value(json_object_get(d, "domain"));
			}
		}
		if (json_is_string(json_object_get(d, "verdict")) &&
		    strcmp(json_string_value(json_object_get(d, "verdict")), "pass") == 0)
			n_pass++;
	}
	if (n_crit)
		st = NAGIOS_CRITICAL;
	else if (n_warn)
		st = NAGIOS_WARNING;
	else if (n_unknown || r->invalid || json_array_size(r->domains) == 0)
		st = NAGIOS_UNKNOWN;
	buf_printf(&line, "DANE %s - ", nagios_names[st]);
	if (n_crit || n_warn) {
		json_array_foreach(list, i, a)
		{
			buf_printf(&line, "%s%s", i ? "; " : "",
			           json_string_value(json_object_get(a, "summary")));
			if (i == 2 && json_array_size(list) > 3) {
				buf_printf(&line, "; and %zu more", json_array_size(list) - 3);
				break;
			}
		}
		json_array_foreach(list, i, a)
		{
			notify_alert_text(&more, a, NULL);
		}
	} else if (st == NAGIOS_UNKNOWN) {
		if (first_unknown)
			buf_printf(&line, "%s: %s", first_unknown_domain, first_unknown);
		else
			buf_puts(&line, r->invalid ? "not a domain name" : "nothing was scanned");
	} else {
		json_array_foreach(r->domains, i, d)
		{
			buf_printf(&line, "%s%s: %s", i ? ", " : "",
			           json_string_value(json_object_get(d, "domain")),
			           json_string_value(json_object_get(d, "verdict")));
			if (i == 4 && json_array_size(r->domains) > 5) {
				buf_printf(&line, ", ... (%zu domains)",
				           json_array_size(r->domains));
				break;
			}
		}
	}
	/* perfdata: 'label'=value[UOM];[warn];[crit];[min];[max] */
	buf_printf(&line,
	           " | critical=%zu;;;0 warning=%zu;;;0 unknown=%zu;;;0 domains=%zu;;;0 "
	           "pass=%zu;;;0 addresses_tested=%zu;;;0 addresses_tls=%zu;;;0",
	           n_crit, n_warn, n_unknown, json_array_size(r->domains), n_pass, r->tested,
	           r->tls);
	if (r->min_days >= 0) {
		buf_printf(&line, " cert_days_left=%ld;", r->min_days);
		if (r->when.at)
			buf_printf(&line, "%lld", (long long)((r->when.at - r->when.now) / 86400));
		buf_puts(&line, ";;0");
	}
	buf_printf(&line, " time=%.3fs;;;0", secs);
	printf("%s\n%s", buf_str(&line), buf_str(&more));
	fflush(stdout);
	buf_release(&line);
	buf_release(&more);
	return st;
}

int
cmd_monitor(int argc, char **argv)
{
	enum {
		O_LIST = 256,
		O_DB,
		O_REPEAT,
		O_AT,
		O_MAILTO,
		O_MAILFROM,
		O_RELAY,
		O_SYSLOG,
		O_METRICS,
		O_JSON,
		O_QUIET,
		O_NAGIOS,
	};
	static const struct option longopts[] = {
	        {"list", required_argument, NULL, O_LIST},
	        {"db", required_argument, NULL, O_DB},
	        {"repeat", required_argument, NULL, O_REPEAT},
	        {"at", required_argument, NULL, O_AT},
	        {"days", required_argument, NULL, 'd'},
	        {"mail-to", required_argument, NULL, O_MAILTO},
	        {"mail-from", required_argument, NULL, O_MAILFROM},
	        {"relay", required_argument, NULL, O_RELAY},
	        {"syslog", no_argument, NULL, O_SYSLOG},
	        {"metrics", required_argument, NULL, O_METRICS},
	        {"json", no_argument, NULL, O_JSON},
	        {"quiet", no_argument, NULL, O_QUIET},
	        {"nagios", no_argument, NULL, O_NAGIOS},
	        {"help", no_argument, NULL, 'h'},
	        SCANOPT_LONGOPTS,
	        {NULL, 0, NULL, 0},
	};
	struct scan_options o;
	struct monitor_run r;
	struct why why = {""};
	struct buf esc = BUF_INIT, dbpath = BUF_INIT, from = BUF_INIT, msg = BUF_INIT;
	const char *list = NULL, *db = NULL, *metrics = NULL, *relay = "localhost:25";
	const char *mail_from = NULL, **mail_to = NULL;
	size_t n_to = 0, i;
	bool use_syslog = false, json_out = false, quiet = false, nagios = false;
	bool mail_ok = true, have_at = false, have_days = false;
	long repeat = MONITOR_DEFAULT_REPEAT;
	unsigned long days = 0;
	struct event *sigint = NULL, *sigterm = NULL;
	json_t *current = NULL, *send = NULL, *cleared = NULL, *a;
	int64_t start_ms;
	double secs;
	const char *key;
	int c, rc = MONITOR_EXIT_OK, usage_rc;

	memset(&r, 0, sizeof(r));
	scan_options_init(&o);
	r.when.now = time(NULL);
	r.min_days = -1;
	/* --nagios anywhere turns usage errors into UNKNOWN (3) */
	usage_rc = MONITOR_EXIT_USAGE;
	for (c = 1; c < argc; c++)
		if (strcmp(argv[c], "--nagios") == 0)
			usage_rc = NAGIOS_UNKNOWN;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h" SCANOPT_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case O_LIST:
			list = optarg;
			break;
		case O_DB:
			db = optarg;
			break;
		case O_REPEAT:
			if (!parse_duration(optarg, &repeat)) {
				cli_error("monitor: --repeat wants N, Ns, Nm, Nh or Nd, got '%s'",
				          escape_str(&esc, optarg));
				goto usage;
			}
			break;
		case O_AT:
			if (!alert_parse_date(optarg, &r.when.at)) {
				cli_error("monitor: --at wants YYYY-MM-DD or an RFC 3339 time, got "
				          "'%s'",
				          escape_str(&esc, optarg));
				goto usage;
			}
			have_at = true;
			break;
		case 'd':
			if (!scanopt_uint("monitor", "--days", optarg, 0, 36500, &days))
				goto usage;
			have_days = true;
			break;
		case O_MAILTO:
			if (strpbrk(optarg, "<>\r\n\t ,") || strchr(optarg, '@') == NULL) {
				cli_error("monitor: --mail-to wants an address, got '%s'",
				          escape_str(&esc, optarg));
				goto usage;
			}
			mail_to = xreallocarray(mail_to, n_to + 1, sizeof(*mail_to));
			mail_to[n_to++] = optarg;
			break;
		case O_MAILFROM:
			if (strpbrk(optarg, "<>\r\n\t ,")) {
				cli_error("monitor: --mail-from wants an address, got '%s'",
				          escape_str(&esc, optarg));
				goto usage;
			}
			mail_from = optarg;
			break;
		case O_RELAY:
			relay = optarg;
			break;
		case O_SYSLOG:
			use_syslog = true;
			break;
		case O_METRICS:
			metrics = optarg;
			break;
		case O_JSON:
			json_out = true;
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_NAGIOS:
			nagios = true;
			break;
		case 'h':
			monitor_usage(stdout);
			free(mail_to);
			return MONITOR_EXIT_OK;
		default:
			if (!scanopt_take("monitor", c, optarg, &o, monitor_usage))
				goto usage;
		}
	}
	if ((list != NULL) == (optind < argc)) {
		cli_error("monitor: give DOMAIN... or --list FILE (one of them)");
		goto usage;
	}
	if (have_at && have_days) {
		cli_error("monitor: --at and --days exclude each other");
		goto usage;
	}
	if (have_days)
		r.when.at = r.when.now + (time_t)days * 86400;
	if (n_to == 0 && (mail_from || strcmp(relay, "localhost:25") != 0)) {
		cli_error("monitor: --mail-from and --relay need --mail-to");
		goto usage;
	}
	if (mail_from == NULL && n_to) {
		char host[256] = "localhost";

		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		buf_printf(&from, "danemail-monitor@%s", host);
		mail_from = buf_str(&from);
	}

	if (list) {
		if ((r.in = scan_input_file(list, &why)) == NULL) {
			cli_error("monitor: list %s", escape_str(&esc, why.msg));
			rc = nagios ? NAGIOS_UNKNOWN : MONITOR_EXIT_NOINPUT;
			goto out;
		}
	} else {
		r.in = scan_input_args(argv + optind, argc - optind);
	}
	r.alerts = json_object();
	r.open = json_object();
	r.open_meta = json_object();
	r.domains = json_array();
	r.scanned = json_object();

	/* The store: always, except for a Nagios check without --db. */
	if (db || !nagios) {
		if (db == NULL) {
			default_db(&dbpath);
			db = buf_str(&dbpath);
		}
		if ((r.st = store_open(db, &why)) == NULL ||
		    !store_alert_list(r.st, take_open, &r, &why)) {
			cli_error("monitor: store %s: %s", escape_str(&esc, db), why.msg);
			rc = nagios ? NAGIOS_UNKNOWN : MONITOR_EXIT_IOERR;
			goto out;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	scanopt_raise_fd_limit();
	if ((r.engine = scan_engine_new(&o, &why)) == NULL) {
		cli_error("monitor: %s", escape_str(&esc, why.msg));
		rc = nagios ? NAGIOS_UNKNOWN : MONITOR_EXIT_SOFTWARE;
		goto out;
	}
	/* the scan row only once the engine stands: no scan that never ran */
	if (r.st && (r.scan_id = store_scan_begin(r.st, "monitor", NULL, r.when.now, &why)) == 0) {
		cli_error("monitor: store %s: %s", escape_str(&esc, db), why.msg);
		rc = nagios ? NAGIOS_UNKNOWN : MONITOR_EXIT_IOERR;
		goto out;
	}
	sigint = evsignal_new(scan_engine_base(r.engine), SIGINT, on_signal, &r);
	sigterm = evsignal_new(scan_engine_base(r.engine), SIGTERM, on_signal, &r);
	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);
	start_ms = smtp_clock_ms();
	scan_engine_run(r.engine, next_domain, domain_done, NULL, &r);
	secs = (double)(smtp_clock_ms() - start_ms) / 1000.0;
	if (r.st && !r.store_failed &&
	    !store_scan_end(r.st, r.scan_id, time(NULL), json_array_size(r.domains), &why))
		store_failure(&r, &why);
	if (r.store_failed)
		cli_error("monitor: store %s: %s", escape_str(&esc, db), r.store_why.msg);
	if (scan_input_error(r.in))
		cli_error("monitor: %s", scan_input_error(r.in));

	/* Which alerts to tell about: new, changed, due again; and which cleared. */
	current = sorted_alerts(r.alerts);
	send = json_array();
	cleared = json_array();
	json_array_foreach(current, i, a)
	{
		const char *k = json_string_value(json_object_get(a, "key"));
		json_t *old = json_object_get(r.open, k), *meta = json_object_get(r.open_meta, k);
		time_t last_sent = (time_t)json_integer_value(json_object_get(meta, "last_sent"));
		const char *status;

		if (old == NULL)
			status = "new";
		else if (!alert_same(old, a))
			status = "changed";
		else if (last_sent == 0 || r.when.now - last_sent >= repeat)
			status = "repeat";
		else
			status = "quiet";
		json_object_set_new(a, "status", json_string(status));
		json_object_set_new(
		        a, "first_seen",
		        json_integer(meta ? json_integer_value(json_object_get(meta, "first_seen"))
		                          : (json_int_t)r.when.now));
		if (strcmp(status, "quiet") != 0)
			json_array_append(send, a);
	}
	json_object_foreach(r.open, key, a)
	{
		if (json_object_get(r.alerts, key) || !scanned_any(&r, a))
			continue;
		json_object_set_new(a, "status", json_string("cleared"));
		json_array_append(cleared, a);
	}

	/* Tell. */
	if (nagios) {
		rc = nagios_report(&r, current, secs);
	} else if (!quiet) {
		/* text (cron mails it): what is due, as in the mail; JSON: every active alert */
		json_array_foreach(json_out ? current : send, i, a)
		{
			if (json_out) {
				json_dumpf(a, stdout, JSON_COMPACT);
				putchar('\n');
			} else {
				buf_reset(&msg);
				notify_alert_text(&msg, a,
				                  json_string_value(json_object_get(a, "status")));
				fputs(buf_str(&msg), stdout);
			}
		}
		json_array_foreach(cleared, i, a)
		{
			if (json_out) {
				json_dumpf(a, stdout, JSON_COMPACT);
				putchar('\n');
			} else {
				printf("cleared %s: %s\n",
				       json_string_value(json_object_get(a, "kind")),
				       json_string_value(json_object_get(a, "summary")));
			}
		}
		fflush(stdout);
	}
	if (use_syslog) {
		openlog("danemail-monitor", LOG_PID, LOG_MAIL);
		json_array_foreach(send, i, a)
		{
			notify_syslog(a, json_string_value(json_object_get(a, "status")));
		}
		json_array_foreach(cleared, i, a)
		{
			notify_syslog(a, "cleared");
		}
		closelog();
	}
	if (n_to && (json_array_size(send) || json_array_size(cleared))) {
		struct notify_mail m = {relay, mail_from, mail_to, n_to, 60000};

		buf_reset(&msg);
		notify_mail_message(&msg, &m, send, cleared, r.when.now);
		if (!(mail_ok = notify_mail_send(&m, buf_str(&msg), &why)))
			cli_error("monitor: mail not sent: %s", why.msg);
	}

	/* Remember: alerts told about are sent now (unless the mail failed: retried next run). */
	if (r.st && !r.store_failed) {
		json_array_foreach(current, i, a)
		{
			const char *k = json_string_value(json_object_get(a, "key"));
			json_t *meta = json_object_get(r.open_meta, k);
			const char *status = json_string_value(json_object_get(a, "status"));
			struct store_alert sa;
			char *text;

			memset(&sa, 0, sizeof(sa));
			sa.key = k;
			sa.first_seen =
			        (time_t)json_integer_value(json_object_get(a, "first_seen"));
			sa.last_seen = r.when.now;
			sa.last_sent =
			        (time_t)json_integer_value(json_object_get(meta, "last_sent"));
			if (strcmp(status, "quiet") != 0 && mail_ok)
				sa.last_sent = r.when.now;
			json_object_del(a, "status");
			text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
			sa.text = text;
			if (!store_alert_put(r.st, &sa, &why) && !r.store_failed) {
				store_failure(&r, &why);
				cli_error("monitor: store %s: %s", escape_str(&esc, db), why.msg);
			}
			free(text);
		}
		json_array_foreach(cleared, i, a)
		{
			if (!mail_ok)
				break;
			if (!store_alert_delete(r.st, json_string_value(json_object_get(a, "key")),
			                        &why) &&
			    !r.store_failed) {
				store_failure(&r, &why);
				cli_error("monitor: store %s: %s", escape_str(&esc, db), why.msg);
			}
		}
	}

	if (metrics) {
		struct notify_metrics nm = {r.domains, r.alerts, secs, time(NULL),
		                            !r.store_failed && !r.signals &&
		                                    !scan_input_error(r.in)};

		if (!notify_metrics_write(metrics, &nm, &why)) {
			cli_error("monitor: --metrics %s", escape_str(&esc, why.msg));
			if (!nagios)
				rc = MONITOR_EXIT_CANTCREAT;
		}
	}
	if (!nagios && rc == MONITOR_EXIT_OK) {
		if (r.store_failed)
			rc = MONITOR_EXIT_IOERR;
		else if (!mail_ok)
			rc = MONITOR_EXIT_UNAVAILABLE;
		else if (scan_input_error(r.in))
			rc = MONITOR_EXIT_NOINPUT;
		else if (json_array_size(current))
			rc = MONITOR_EXIT_ALERTS;
		else if (r.invalid)
			rc = MONITOR_EXIT_DATAERR;
	}
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (r.engine && (r.signals < 2 || scan_engine_in_flight(r.engine) == 0))
		scan_engine_free(r.engine);
	store_close(r.st);
	scan_input_free(r.in);
	json_decref(current);
	json_decref(send);
	json_decref(cleared);
	json_decref(r.alerts);
	json_decref(r.open);
	json_decref(r.open_meta);
	json_decref(r.domains);
	json_decref(r.scanned);
	free(mail_to);
	buf_release(&esc);
	buf_release(&dbpath);
	buf_release(&from);
	buf_release(&msg);
	return rc;
usage:
	free(mail_to);
	buf_release(&esc);
	buf_release(&from);
	return usage_rc;
}
