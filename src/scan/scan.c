/*
 * scan.c - `danemail scan`: measure the mail transport security of one to
 * millions of domains (MX, DNSSEC, STARTTLS, TLS, certificates, DANE per
 * RFC 7672, SPF / DMARC / MTA-STS / TLS-RPT).
 *
 *   danemail scan [OPTIONS] DOMAIN...
 *   danemail scan [OPTIONS] --input FILE|-
 *
 * Reads the domains (input.c), runs the engine (engine.c) and writes one
 * JSON object per domain (report.c, schema SCAN_SCHEMA) as each finishes,
 * a CSV summary line if asked, a progress line on a terminal and the
 * aggregate table (stats.c) at the end.  Exit codes are in usage().
 *
 * Untrusted: the input list (checked by input.c before it is scanned) and
 * everything the network sends (escaped before it reaches the output).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "engine.h"
#include "input.h"
#include "report.h"
#include "scanopt.h"
#include "stats.h"
#include "store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

/* Exit codes of scan (documented in usage() and danemail(1)). */
enum scan_exit {
	SCAN_EXIT_OK = 0,          /* every entry was scanned, whatever the verdicts */
	SCAN_EXIT_INTERRUPTED = 1, /* SIGINT/SIGTERM: not every domain was scanned */
	SCAN_EXIT_USAGE = 64,      /* bad command line */
	SCAN_EXIT_DATAERR = 65,    /* some entries were no domain names (the rest was scanned) */
	SCAN_EXIT_NOINPUT = 66,    /* the input cannot be read */
	SCAN_EXIT_SOFTWARE = 70,   /* resolver or TLS set-up failed */
	SCAN_EXIT_CANTCREAT = 73,  /* an output file cannot be created */
	SCAN_EXIT_IOERR = 74,      /* writing an output failed */
};

static void
scan_usage(FILE *fp)
{
	fputs("usage: danemail scan [OPTIONS] DOMAIN...\n"
	      "       danemail scan [OPTIONS] --input FILE|-\n"
	      "Measure the mail transport security of many domains: MX (DNSSEC, null MX,\n"
	      "implicit MX), each MX host's addresses and TLSA records, one SMTP probe per\n"
	      "address (STARTTLS, TLS version, cipher, certificate), the DANE verdict of\n"
	      "RFC 7672 per address, per MX and per domain (the worst MX, named), and SPF,\n"
	      "DMARC, MTA-STS, TLS-RPT.  One JSON object per domain (JSON Lines).\n"
	      "input:\n"
	      "  DOMAIN...             domains to scan\n"
	      "  --input FILE          one domain per line, or Tranco CSV \"rank,domain\";\n"
	      "                        '#' comments; \"-\" reads stdin\n"
	      "  --shard I/N           scan only entries I, I+N, I+2N, ... (1 <= I <= N)\n"
	      "output:\n"
	      "  --jsonl FILE|-        JSON Lines (default: stdout, unless --csv or --db)\n"
	      "  --csv FILE|-          one summary line per domain\n"
	      "  --stats FILE|-        the aggregate table as JSON\n"
	      "  --quiet               no progress line, no table on stderr\n"
	      "  --progress            a progress line even when stderr is not a terminal\n"
	      "  --db URI              also keep the results in a store: an SQLite file, or\n"
	      "                        postgresql://... (or a libpq conninfo \"host=...\")\n",
	      fp);
	scanopt_usage(fp);
	fputs("verdicts: pass, tlsa-absent, tlsa-unusable, tlsa-mismatch, name-mismatch,\n"
	      "  cert-expired, dnssec-bogus, dnssec-insecure, starttls-missing, tls-failed,\n"
	      "  unreachable, lookup-failed, not-testable (as danemail verify tlsa)\n"
	      "exit:\n"
	      "  0  every entry scanned (whatever the verdicts)\n"
	      "  1  interrupted (SIGINT/SIGTERM): not every domain was scanned\n"
	      "  64 usage error\n"
	      "  65 some input entries were no domain names (reported; the rest was scanned)\n"
	      "  66 the input cannot be read\n"
	      "  70 the resolver or TLS could not be set up\n"
	      "  73 an output file or the --db store cannot be created or opened\n"
	      "  74 writing an output or the --db store failed\n",
	      fp);
}

/* Everything the run's callbacks share. */
struct scan_run {
	struct scan_input *in;
	struct scan_engine *engine;
	FILE *jsonl, *csv;
	struct scan_stats stats;
	long total;    /* entries to scan (after the shard), -1 unknown */
	uint64_t seen; /* entries taken from the input */
	bool progress;
	bool progress_shown;
	int64_t start_ms;
	int signals;
	bool write_error;
	struct store *store; /* --db, or NULL */
	int64_t scan_id;     /* this run's scan in the store */
	uint64_t stored;     /* rows handed to the store */
	bool store_error;    /* a store write failed (reported once; exit 74) */
};

/* Hand a finished domain's line (without its newline) to the store. */
static void
store_json(struct scan_run *r, const char *domain, const char *line)
{
	struct why why = {""};
	struct buf esc = BUF_INIT;

	if (r->store_error)
		return;
	if (store_put(r->store, r->scan_id, domain, time(NULL), line, &why)) {
		r->stored++;
		return;
	}
	cli_error("scan: --db: %s", escape_str(&esc, why.msg));
	buf_release(&esc);
	r->store_error = true;
}

/* Write a domain's object; domain (NULL for invalid entries) also goes to the store. */
static void
write_json(struct scan_run *r, json_t *j, const char *domain)
{
	char *line;

	if (r->store != NULL && domain != NULL) {
		/* the very line --jsonl gets */
		if ((line = json_dumps(j, JSON_COMPACT)) == NULL)
			util_panic("scan: out of memory");
		store_json(r, domain, line);
		if (r->jsonl && (fputs(line, r->jsonl) == EOF || fputc('\n', r->jsonl) == EOF))
			r->write_error = true;
		free(line);
	} else if (r->jsonl) {
		if (json_dumpf(j, r->jsonl, JSON_COMPACT) != 0 || fputc('\n', r->jsonl) == EOF)
			r->write_error = true;
	}
	json_decref(j);
}

/* An entry that is no domain: reported like a scanned one. */
static void
invalid_entry(void *arg, const struct scan_item *it)
{
	struct scan_run *r = arg;
	json_t *j = scan_invalid_json(it);

	r->seen++;
	/* the table counts what is written (stats.h): one path with report */
	(void)scan_stats_add_json(&r->stats, j, NULL);
	write_json(r, j, NULL);
	if (r->csv)
		scan_csv_invalid(r->csv, it);
}

/* The engine wants another domain: skip (and report) entries that are no domain. */
static bool
next_domain(void *arg, char **name, long *rank, size_t *position)
{
	struct scan_run *r = arg;

	if (!scan_input_next_domain(r->in, name, rank, position, invalid_entry, r))
		return false;
	r->seen++;
	return true;
}

static void
domain_done(void *arg, const struct scan_domain *d)
{
	struct scan_run *r = arg;
	json_t *j = scan_domain_json(d);

	/* the table counts what is written (stats.h): one path with report */
	(void)scan_stats_add_json(&r->stats, j, NULL);
	write_json(r, j, d->name);
	if (r->csv)
		scan_csv_domain(r->csv, d);
}

static void
fmt_duration(char *out, size_t size, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, size, "%lds", t);
}

static void
tick(void *arg)
{
	struct scan_run *r = arg;
	const struct scan_counters *c = scan_engine_counters(r->engine);
	double secs = (double)(smtp_clock_ms() - r->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)c->domains_done / secs : 0.0;
	char eta[32] = "?";

	if (!r->progress)
		return;
	if (r->total >= 0 && rate > 0) {
		double left = (double)r->total - (double)r->stats.entries;

		fmt_duration(eta, sizeof(eta), left > 0 ? left / rate : 0);
	}
	if (r->total >= 0)
		fprintf(stderr,
		        "\rscan: %llu/%ld (%.1f%%), %.0f/s, ETA %s, %zu in flight, %llu probes   ",
		        (unsigned long long)r->stats.entries, r->total,
		        r->total ? 100.0 * (double)r->stats.entries / (double)r->total : 100.0,
		        rate, eta, scan_engine_in_flight(r->engine), (unsigned long long)c->probes);
	else
		fprintf(stderr, "\rscan: %llu done, %.0f/s, %zu in flight, %llu probes   ",
		        (unsigned long long)r->stats.entries, rate,
		        scan_engine_in_flight(r->engine), (unsigned long long)c->probes);
	r->progress_shown = true;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct scan_run *r = arg;

	(void)what;
	if (r->signals++ == 0) {
		fprintf(stderr,
		        "\ndanemail: scan: signal %d: finishing the domains in flight (again "
		        "to stop at once)\n",
		        (int)sig);
		scan_engine_stop(r->engine);
	} else {
		event_base_loopbreak(scan_engine_base(r->engine));
	}
}

static bool
parse_shard(const char *arg, unsigned *i, unsigned *n)
{
	struct buf esc = BUF_INIT;
	unsigned long a, b;
	char *end, *end2;

	errno = 0;
	a = strtoul(arg, &end, 10);
	if (end != arg && *end == '/' && arg[0] != '-') {
		b = strtoul(end + 1, &end2, 10);
		if (end2 != end + 1 && *end2 == '\0' && end[1] != '-' && !errno && b >= 1 &&
		    b <= 1000000 && a >= 1 && a <= b) {
			*i = (unsigned)a;
			*n = (unsigned)b;
			return true;
		}
	}
	cli_error("scan: --shard wants I/N with 1 <= I <= N (e.g. 1/4 .. 4/4), got '%s'",
	          escape_str(&esc, arg));
	buf_release(&esc);
	return false;
}

/* Open an output ("-" is stdout); NULL after a message. */
static FILE *
open_out(const char *path, const char *what)
{
	struct buf esc = BUF_INIT;
	FILE *fp;

	if (strcmp(path, "-") == 0)
		return stdout;
	if ((fp = fopen(path, "w")) == NULL)
		cli_error("scan: %s %s: %s", what, escape_str(&esc, path), strerror(errno));
	buf_release(&esc);
	return fp;
}

/* Flush and close an output; false after a message if anything failed. */
static bool
close_out(FILE *fp, const char *what)
{
	bool ok;

	if (fp == NULL)
		return true;
	ok = fflush(fp) == 0 && !ferror(fp);
	if (fp != stdout)
		ok = fclose(fp) == 0 && ok;
	if (!ok)
		cli_error("scan: writing %s: %s", what, strerror(errno ? errno : EIO));
	return ok;
}

int
cmd_scan(int argc, char **argv)
{
	enum {
		O_INPUT = 256,
		O_JSONL,
		O_CSV,
		O_STATS,
		O_SHARD,
		O_QUIET,
		O_PROGRESS,
		O_DB,
	};
	static const struct option longopts[] = {
	        SCANOPT_LONGOPTS, /* engine and resolver (scanopt.h, shared with monitor) */
	        {"input", required_argument, NULL, O_INPUT},
	        {"jsonl", required_argument, NULL, O_JSONL},
	        {"csv", required_argument, NULL, O_CSV},
	        {"stats", required_argument, NULL, O_STATS},
	        {"shard", required_argument, NULL, O_SHARD},
	        {"quiet", no_argument, NULL, O_QUIET},
	        {"progress", no_argument, NULL, O_PROGRESS},
	        {"db", required_argument, NULL, O_DB},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct scan_options o;
	struct scan_run r;
	struct why why = {""};
	struct buf esc = BUF_INIT;
	const char *input = NULL, *jsonl_path = NULL, *csv_path = NULL, *stats_path = NULL;
	const char *db_uri = NULL, *shard_arg = NULL;
	unsigned shard_i = 1, shard_n = 1;
	bool quiet = false, force_progress = false, ok;
	struct event *sigint = NULL, *sigterm = NULL;
	double seconds;
	int c, rc = SCAN_EXIT_OK;

	scan_options_init(&o);
	memset(&r, 0, sizeof(r));
	optind = 1;
	while ((c = getopt_long(argc, argv, SCANOPT_SHORTOPTS "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_INPUT:
			input = optarg;
			break;
		case O_JSONL:
			jsonl_path = optarg;
			break;
		case O_CSV:
			csv_path = optarg;
			break;
		case O_STATS:
			stats_path = optarg;
			break;
		case O_SHARD:
			if (!parse_shard(optarg, &shard_i, &shard_n))
				return SCAN_EXIT_USAGE;
			shard_arg = optarg;
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_PROGRESS:
			force_progress = true;
			break;
		case O_DB:
			db_uri = optarg;
			break;
		case 'h':
			scan_usage(stdout);
			return SCAN_EXIT_OK;
		default:
			if (!scanopt_take("scan", c, optarg, &o, scan_usage))
				return SCAN_EXIT_USAGE;
		}
	}
	if ((input != NULL) == (optind < argc)) {
		cli_error("scan: give DOMAIN... or --input FILE (one of them)");
		return SCAN_EXIT_USAGE;
	}
	if (jsonl_path == NULL && csv_path == NULL && db_uri == NULL)
		jsonl_path = "-";
	if (jsonl_path && csv_path && strcmp(jsonl_path, "-") == 0 && strcmp(csv_path, "-") == 0) {
		cli_error("scan: --jsonl and --csv cannot both go to stdout");
		return SCAN_EXIT_USAGE;
	}

	if (input) {
		if ((r.in = scan_input_file(input, &why)) == NULL) {
			cli_error("scan: input %s", escape_str(&esc, why.msg));
			buf_release(&esc);
			return SCAN_EXIT_NOINPUT;
		}
	} else {
		r.in = scan_input_args(argv + optind, argc - optind);
	}
	scan_input_shard(r.in, shard_i, shard_n);
	r.total = scan_input_count(r.in);

	signal(SIGPIPE, SIG_IGN); /* a closed peer is an error return, not a death */
	scanopt_raise_fd_limit();
	if ((r.engine = scan_engine_new(&o, &why)) == NULL) {
		cli_error("scan: %s", escape_str(&esc, why.msg));
		buf_release(&esc);
		scan_input_free(r.in);
		return SCAN_EXIT_SOFTWARE;
	}
	if (jsonl_path && (r.jsonl = open_out(jsonl_path, "--jsonl")) == NULL) {
		rc = SCAN_EXIT_CANTCREAT;
		goto out;
	}
	if (csv_path) {
		if ((r.csv = open_out(csv_path, "--csv")) == NULL) {
			rc = SCAN_EXIT_CANTCREAT;
			goto out;
		}
		scan_csv_header(r.csv);
	}
	if (db_uri) {
		if ((r.store = store_open(db_uri, &why)) == NULL ||
		    (r.scan_id = store_scan_begin(r.store, "scan", shard_arg, time(NULL), &why)) ==
		            0) {
			cli_error("scan: --db: cannot open the store: %s",
			          escape_str(&esc, why.msg));
			rc = SCAN_EXIT_CANTCREAT;
			goto out;
		}
	}
	r.progress = !quiet && (force_progress || isatty(STDERR_FILENO));
	r.start_ms = smtp_clock_ms();
	sigint = evsignal_new(scan_engine_base(r.engine), SIGINT, on_signal, &r);
	sigterm = evsignal_new(scan_engine_base(r.engine), SIGTERM, on_signal, &r);
	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);

	scan_engine_run(r.engine, next_domain, domain_done, tick, &r);

	seconds = (double)(smtp_clock_ms() - r.start_ms) / 1000.0;
	if (r.progress_shown)
		fputs("\n", stderr);
	if (!quiet) {
		scan_stats_print_run(stderr, &r.stats, scan_engine_counters(r.engine), seconds);
		scan_stats_print(stderr, &r.stats);
	}
	if (stats_path) {
		FILE *fp = open_out(stats_path, "--stats");
		json_t *j;

		if (fp == NULL) {
			rc = SCAN_EXIT_CANTCREAT;
		} else {
			j = scan_stats_json(&r.stats, scan_engine_counters(r.engine), seconds);
			scan_counters_json(scan_engine_counters(r.engine),
			                   json_object_get(j, "engine"));
			if (json_dumpf(j, fp, JSON_INDENT(2)) != 0 || fputc('\n', fp) == EOF)
				r.write_error = true;
			json_decref(j);
			if (!close_out(fp, "--stats"))
				rc = SCAN_EXIT_IOERR;
		}
	}
	if (scan_input_error(r.in)) {
		cli_error("scan: %s", scan_input_error(r.in));
		if (rc == SCAN_EXIT_OK)
			rc = SCAN_EXIT_NOINPUT;
	}
	if (r.signals && rc == SCAN_EXIT_OK)
		rc = SCAN_EXIT_INTERRUPTED;
	if (r.stats.invalid && rc == SCAN_EXIT_OK) {
		if (!quiet)
			fprintf(stderr,
			        "danemail: scan: %llu input entries were no domain name (see "
			        "their \"error\" in the output)\n",
			        (unsigned long long)r.stats.invalid);
		rc = SCAN_EXIT_DATAERR;
	}
	if (r.store && !r.store_error &&
	    !store_scan_end(r.store, r.scan_id, time(NULL), r.stored, &why)) {
		cli_error("scan: --db: %s", escape_str(&esc, why.msg));
		r.store_error = true;
	}
	if (r.store_error && (rc == SCAN_EXIT_OK || rc == SCAN_EXIT_DATAERR))
		rc = SCAN_EXIT_IOERR;
out:
	store_close(r.store);
	ok = close_out(r.jsonl, "--jsonl");
	ok = close_out(r.csv, "--csv") && ok;
	if ((!ok || r.write_error) && (rc == SCAN_EXIT_OK || rc == SCAN_EXIT_DATAERR))
		rc = SCAN_EXIT_IOERR;
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (r.signals < 2 || scan_engine_in_flight(r.engine) == 0)
		scan_engine_free(r.engine);
	scan_input_free(r.in);
	buf_release(&esc);
	return rc;
}
