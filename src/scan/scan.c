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
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "dns/owner.h"
#include "engine.h"
#include "input.h"
#include "report.h"
#include "stats.h"
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
	      "  --jsonl FILE|-        JSON Lines (default: stdout, unless only --csv is given)\n"
	      "  --csv FILE|-          one summary line per domain\n"
	      "  --stats FILE|-        the aggregate table as JSON\n"
	      "  --quiet               no progress line, no table on stderr\n"
	      "  --progress            a progress line even when stderr is not a terminal\n"
	      "engine:\n"
	      "  --concurrency N       domains in flight (default 1000)\n"
	      "  --per-ip N            SMTP connections to one address at once (default 1)\n"
	      "  --max-connections N   SMTP connections at once (default: --concurrency)\n"
	      "  --timeout MS          limit for each SMTP stage (default: connect 10 s,\n"
	      "                        greeting 30 s, each reply 20 s, TLS handshake 20 s)\n"
	      "  --dns-timeout MS      limit for each DNS lookup (default 20000)\n"
	      "  --dns-threads N       resolver threads validating DNSSEC (default: CPUs + 1,\n"
	      "                        at most 6; each with its own cache)\n"
	      "  --dns-inline          validate DNSSEC in the event loop's thread instead\n"
	      "  --smtp-port P         SMTP port, also in the TLSA owner _P._tcp (default 25)\n"
	      "  --helo NAME           name to send in EHLO (default localhost)\n"
	      "  --legacy-tls          also accept TLS 1.0/1.1 (OpenSSL security level 0)\n"
	      "  --tls-enumerate       also try TLS 1.0, 1.1, 1.2, 1.3 one by one and RSA and\n"
	      "                        ECDSA certificates (up to 4 more sessions per address;\n"
	      "                        each certificate gets its DANE verdict)\n"
	      "  --no-ipv6             look AAAA up, but do not connect over IPv6\n"
	      "  --no-policies         skip SPF, DMARC, MTA-STS, TLS-RPT\n"
	      "  --no-mta-sts-fetch    judge the _mta-sts TXT record, do not fetch the policy\n"
	      "  --ca-file FILE        CAs for the PKIX check and MTA-STS (default: the system's)\n"
	      "  --host-cache N        idle MX hosts kept for reuse (default 100000)\n"
	      "  --probe-cache N       idle probe results kept for reuse (default 50000)\n"
	      "tests (loopback servers):\n"
	      "  --mta-sts-resolve LIST  \"host:port:addr,...\" addresses for MTA-STS policy "
	      "hosts\n"
	      "  --mta-sts-port P      port of the MTA-STS policy servers (default 443)\n"
	      "resolver:\n"
	      "  --config FILE         unbound configuration file (trust anchors, forwarders)\n"
	      "  --trust-anchor FILE   trust these DS/DNSKEY records (instead of the root's)\n"
	      "  --forwarder ADDR      send queries to this resolver (it must pass DNSSEC data)\n"
	      "verdicts: pass, tlsa-absent, tlsa-unusable, tlsa-mismatch, name-mismatch,\n"
	      "  cert-expired, dnssec-bogus, dnssec-insecure, starttls-missing, tls-failed,\n"
	      "  unreachable, lookup-failed, not-testable (as danemail verify tlsa)\n"
	      "exit:\n"
	      "  0  every entry scanned (whatever the verdicts)\n"
	      "  1  interrupted (SIGINT/SIGTERM): not every domain was scanned\n"
	      "  64 usage error\n"
	      "  65 some input entries were no domain names (reported; the rest was scanned)\n"
	      "  66 the input cannot be read\n"
	      "  70 the resolver or TLS could not be set up\n"
	      "  73 an output file cannot be created\n"
	      "  74 writing an output failed\n",
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
};

static void
write_json(struct scan_run *r, json_t *j)
{
	if (r->jsonl) {
		if (json_dumpf(j, r->jsonl, JSON_COMPACT) != 0 || fputc('\n', r->jsonl) == EOF)
			r->write_error = true;
	}
	json_decref(j);
}

/* The engine wants another domain: skip (and report) entries that are no domain. */
static bool
next_domain(void *arg, char **name, long *rank, size_t *position)
{
	struct scan_run *r = arg;
	struct scan_item it;

	while (scan_input_next(r->in, &it)) {
		r->seen++;
		if (!it.valid) {
			scan_stats_add_invalid(&r->stats);
			write_json(r, scan_invalid_json(&it));
			if (r->csv)
				scan_csv_invalid(r->csv, &it);
			scan_input_item_clear(&it);
			continue;
		}
		*name = it.domain;
		*rank = it.rank;
		*position = it.position;
		it.domain = NULL;
		scan_input_item_clear(&it);
		return true;
	}
	return false;
}

static void
domain_done(void *arg, const struct scan_domain *d)
{
	struct scan_run *r = arg;

	scan_stats_add(&r->stats, d);
	write_json(r, scan_domain_json(d));
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

/* Parse a number in [min, max]; false (and a message) if it is not one. */
static bool
parse_uint(const char *opt, const char *arg, unsigned long min, unsigned long max,
           unsigned long *out)
{
	struct buf esc = BUF_INIT;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end || errno || arg[0] == '-' || v < min || v > max) {
		cli_error("scan: %s wants %lu-%lu, got '%s'", opt, min, max, escape_str(&esc, arg));
		buf_release(&esc);
		return false;
	}
	*out = v;
	return true;
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

/* Allow as many descriptors as the hard limit: each connection and lookup needs one. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
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
		O_CONC,
		O_PERIP,
		O_MAXCONN,
		O_TIMEOUT,
		O_DNSTIMEOUT,
		O_PORT,
		O_HELO,
		O_LEGACY,
		O_NOIPV6,
		O_NOPOL,
		O_NOFETCH,
		O_CAFILE,
		O_STSRESOLVE,
		O_STSPORT,
		O_HOSTCACHE,
		O_PROBECACHE,
		O_QUIET,
		O_PROGRESS,
		O_DNSINLINE,
		O_DNSTHREADS,
		O_ENUMERATE,
	};
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"trust-anchor", required_argument, NULL, 't'},
	        {"forwarder", required_argument, NULL, 'F'},
	        {"input", required_argument, NULL, O_INPUT},
	        {"jsonl", required_argument, NULL, O_JSONL},
	        {"csv", required_argument, NULL, O_CSV},
	        {"stats", required_argument, NULL, O_STATS},
	        {"shard", required_argument, NULL, O_SHARD},
	        {"concurrency", required_argument, NULL, O_CONC},
	        {"per-ip", required_argument, NULL, O_PERIP},
	        {"max-connections", required_argument, NULL, O_MAXCONN},
	        {"timeout", required_argument, NULL, O_TIMEOUT},
	        {"dns-timeout", required_argument, NULL, O_DNSTIMEOUT},
	        {"smtp-port", required_argument, NULL, O_PORT},
	        {"helo", required_argument, NULL, O_HELO},
	        {"legacy-tls", no_argument, NULL, O_LEGACY},
	        {"no-ipv6", no_argument, NULL, O_NOIPV6},
	        {"no-policies", no_argument, NULL, O_NOPOL},
	        {"no-mta-sts-fetch", no_argument, NULL, O_NOFETCH},
	        {"ca-file", required_argument, NULL, O_CAFILE},
	        {"mta-sts-resolve", required_argument, NULL, O_STSRESOLVE},
	        {"mta-sts-port", required_argument, NULL, O_STSPORT},
	        {"host-cache", required_argument, NULL, O_HOSTCACHE},
	        {"probe-cache", required_argument, NULL, O_PROBECACHE},
	        {"quiet", no_argument, NULL, O_QUIET},
	        {"progress", no_argument, NULL, O_PROGRESS},
	        {"dns-inline", no_argument, NULL, O_DNSINLINE},
	        {"dns-threads", required_argument, NULL, O_DNSTHREADS},
	        {"tls-enumerate", no_argument, NULL, O_ENUMERATE},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct scan_options o;
	struct scan_run r;
	struct why why = {""};
	struct buf esc = BUF_INIT;
	const char *input = NULL, *jsonl_path = NULL, *csv_path = NULL, *stats_path = NULL;
	unsigned shard_i = 1, shard_n = 1;
	bool quiet = false, force_progress = false, ok;
	struct event *sigint = NULL, *sigterm = NULL;
	unsigned long v;
	double seconds;
	int c, rc = SCAN_EXIT_OK;

	scan_options_init(&o);
	memset(&r, 0, sizeof(r));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:F:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.dns.unbound_conf = optarg;
			break;
		case 't':
			o.dns.trust_anchor = optarg;
			break;
		case 'F':
			o.dns.forwarder = optarg;
			break;
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
			break;
		case O_CONC:
			if (!parse_uint("--concurrency", optarg, 1, 100000, &v))
				return SCAN_EXIT_USAGE;
			o.concurrency = (unsigned)v;
			break;
		case O_PERIP:
			if (!parse_uint("--per-ip", optarg, 1, 1000, &v))
				return SCAN_EXIT_USAGE;
			o.per_ip = (unsigned)v;
			break;
		case O_MAXCONN:
			if (!parse_uint("--max-connections", optarg, 1, 100000, &v))
				return SCAN_EXIT_USAGE;
			o.max_connections = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (!parse_uint("--timeout", optarg, 1, 3600000, &v))
				return SCAN_EXIT_USAGE;
			o.connect_ms = o.greeting_ms = o.command_ms = o.tls_ms = (unsigned)v;
			break;
		case O_DNSTIMEOUT:
			if (!parse_uint("--dns-timeout", optarg, 1, 3600000, &v))
				return SCAN_EXIT_USAGE;
			o.dns_ms = (unsigned)v;
			break;
		case O_PORT:
			if (!parse_uint("--smtp-port", optarg, 1, 65535, &v))
				return SCAN_EXIT_USAGE;
			o.port = (unsigned)v;
			break;
		case O_HELO:
			if (!owner_check_domain(optarg, &why) || strpbrk(optarg, " \t\r\n")) {
				cli_error("scan: --helo wants a host name, got '%s'",
				          escape_str(&esc, optarg));
				buf_release(&esc);
				return SCAN_EXIT_USAGE;
			}
			o.helo = optarg;
			break;
		case O_LEGACY:
			o.legacy_tls = true;
			break;
		case O_NOIPV6:
			o.no_ipv6 = true;
			break;
		case O_NOPOL:
			o.policies = false;
			break;
		case O_NOFETCH:
			o.fetch_mtasts = false;
			break;
		case O_CAFILE:
			o.ca_file = optarg;
			break;
		case O_STSRESOLVE:
			o.sts_resolve = optarg;
			break;
		case O_STSPORT:
			if (!parse_uint("--mta-sts-port", optarg, 1, 65535, &v))
				return SCAN_EXIT_USAGE;
			o.sts_port = (unsigned)v;
			break;
		case O_HOSTCACHE:
			if (!parse_uint("--host-cache", optarg, 0, 100000000, &v))
				return SCAN_EXIT_USAGE;
			o.host_cache = v;
			break;
		case O_PROBECACHE:
			if (!parse_uint("--probe-cache", optarg, 0, 100000000, &v))
				return SCAN_EXIT_USAGE;
			o.probe_cache = v;
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_PROGRESS:
			force_progress = true;
			break;
		case O_ENUMERATE:
			o.tls_enumerate = true;
			break;
		case O_DNSINLINE:
			o.dns_inline = true;
			break;
		case O_DNSTHREADS:
			if (!parse_uint("--dns-threads", optarg, 1, SCAN_MAX_DNS_THREADS, &v))
				return SCAN_EXIT_USAGE;
			o.dns_threads = (unsigned)v;
			break;
		case 'h':
			scan_usage(stdout);
			return SCAN_EXIT_OK;
		default:
			scan_usage(stderr);
			return SCAN_EXIT_USAGE;
		}
	}
	if ((input != NULL) == (optind < argc)) {
		cli_error("scan: give DOMAIN... or --input FILE (one of them)");
		return SCAN_EXIT_USAGE;
	}
	if (jsonl_path == NULL && csv_path == NULL)
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
	raise_fd_limit();
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
	if (!quiet)
		scan_stats_print(stderr, &r.stats, scan_engine_counters(r.engine), seconds);
	if (stats_path) {
		FILE *fp = open_out(stats_path, "--stats");
		json_t *j;

		if (fp == NULL) {
			rc = SCAN_EXIT_CANTCREAT;
		} else {
			j = scan_stats_json(&r.stats, scan_engine_counters(r.engine), seconds);
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
out:
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
