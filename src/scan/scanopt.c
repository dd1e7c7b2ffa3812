/*
 * scanopt.c - the scan engine's command-line options (see scanopt.h).
 * Bounds as danemail scan checks them; values that come from the command
 * line are escaped before they reach a message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "dns/owner.h"
#include "scanopt.h"
#include "util/buf.h"
#include "util/escape.h"

bool
scanopt_uint(const char *cmd, const char *opt, const char *arg, unsigned long min,
             unsigned long max, unsigned long *out)
{
	struct buf esc = BUF_INIT;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end || errno || arg[0] == '-' || v < min || v > max) {
		cli_error("%s: %s wants %lu-%lu, got '%s'", cmd, opt, min, max,
		          escape_str(&esc, arg));
		buf_release(&esc);
		return false;
	}
	*out = v;
	return true;
}

/* A rate: a decimal number of connections per second, 0 (no limit) to 100000. */
static bool
rate_parse(const char *cmd, const char *opt, const char *arg, double *out)
{
	struct buf esc = BUF_INIT;
	double v;
	char *end;

	errno = 0;
	v = strtod(arg, &end);
	if (*arg == '\0' || *end || errno || !(v >= 0.0 && v <= 100000.0) ||
	    (v > 0.0 && v < 0.001)) {
		cli_error("%s: %s wants 0 (no limit) or 0.001-100000 per second, got '%s'", cmd,
		          opt, escape_str(&esc, arg));
		buf_release(&esc);
		return false;
	}
	*out = v;
	return true;
}

bool
scanopt_take(const char *cmd, int c, const char *arg, struct scan_options *o, void (*usage)(FILE *))
{
	struct buf esc = BUF_INIT;
	struct why why = {""};
	unsigned long v;

	switch (c) {
	case 'c':
		o->dns.unbound_conf = arg;
		break;
	case 't':
		o->dns.trust_anchor = arg;
		break;
	case 'F':
		o->dns.forwarder = arg;
		break;
	case SCANOPT_CONC:
		if (!scanopt_uint(cmd, "--concurrency", arg, 1, 100000, &v))
			return false;
		o->concurrency = (unsigned)v;
		break;
	case SCANOPT_PERIP:
		if (!scanopt_uint(cmd, "--per-ip", arg, 1, 1000, &v))
			return false;
		o->per_ip = (unsigned)v;
		break;
	case SCANOPT_MAXCONN:
		if (!scanopt_uint(cmd, "--max-connections", arg, 1, 100000, &v))
			return false;
		o->max_connections = (unsigned)v;
		break;
	case SCANOPT_TIMEOUT:
		if (!scanopt_uint(cmd, "--timeout", arg, 1, 3600000, &v))
			return false;
		o->connect_ms = o->greeting_ms = o->command_ms = o->tls_ms = (unsigned)v;
		break;
	case SCANOPT_DNSTIMEOUT:
		if (!scanopt_uint(cmd, "--dns-timeout", arg, 1, 3600000, &v))
			return false;
		o->dns_ms = (unsigned)v;
		break;
	case SCANOPT_PORT:
		if (!scanopt_uint(cmd, "--smtp-port", arg, 1, 65535, &v))
			return false;
		o->port = (unsigned)v;
		break;
	case SCANOPT_HELO:
		if (!owner_check_domain(arg, &why) || strpbrk(arg, " \t\r\n")) {
			cli_error("%s: --helo wants a host name, got '%s'", cmd,
			          escape_str(&esc, arg));
			buf_release(&esc);
			return false;
		}
		o->helo = arg;
		break;
	case SCANOPT_LEGACY:
		o->legacy_tls = true;
		break;
	case SCANOPT_NOIPV6:
		o->no_ipv6 = true;
		break;
	case SCANOPT_NOPOL:
		o->policies = false;
		break;
	case SCANOPT_NOFETCH:
		o->fetch_mtasts = false;
		break;
	case SCANOPT_CAFILE:
		o->ca_file = arg;
		break;
	case SCANOPT_STSRESOLVE:
		o->sts_resolve = arg;
		break;
	case SCANOPT_STSPORT:
		if (!scanopt_uint(cmd, "--mta-sts-port", arg, 1, 65535, &v))
			return false;
		o->sts_port = (unsigned)v;
		break;
	case SCANOPT_DNSINLINE:
		o->dns_inline = true;
		break;
	case SCANOPT_DNSTHREADS:
		if (!scanopt_uint(cmd, "--dns-threads", arg, 1, SCAN_MAX_DNS_THREADS, &v))
			return false;
		o->dns_threads = (unsigned)v;
		break;
	case SCANOPT_HOSTCACHE:
		if (!scanopt_uint(cmd, "--host-cache", arg, 0, 100000000, &v))
			return false;
		o->host_cache = v;
		break;
	case SCANOPT_PROBECACHE:
		if (!scanopt_uint(cmd, "--probe-cache", arg, 0, 100000000, &v))
			return false;
		o->probe_cache = v;
		break;
	case SCANOPT_ENUMERATE:
		o->tls_enumerate = true;
		break;
	case SCANOPT_RATEPERIP:
		if (!rate_parse(cmd, "--rate-per-ip", arg, &o->rate_per_ip))
			return false;
		break;
	case SCANOPT_PROBEAGE:
		if (!scanopt_uint(cmd, "--probe-max-age", arg, 0, 31536000, &v))
			return false;
		o->probe_max_age = (unsigned)v;
		break;
	case SCANOPT_PSL:
		o->psl_file = arg;
		break;
	default:
		usage(stderr); /* getopt has said which option */
		return false;
	}
	return true;
}

void
scanopt_usage(FILE *fp)
{
	fputs("engine:\n"
	      "  --concurrency N       domains in flight (default 1000)\n"
	      "  --per-ip N            SMTP connections to one address at once (default 1)\n"
	      "  --rate-per-ip R       new SMTP connections per second to one address, at\n"
	      "                        least 1/R s apart (default 2; 0: no limit)\n"
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
	      "  --probe-max-age S     reuse a probe result for S seconds at most (default\n"
	      "                        3600; 0: probe again for each new host resolution);\n"
	      "                        host resolutions are reused for their DNS TTL\n"
	      "  --psl FILE            public suffix list for DMARC organizational domains\n"
	      "                        (default: libpsl's newest, the publicsuffix package's)\n"
	      "tests (loopback servers):\n"
	      "  --mta-sts-resolve LIST  \"host:port:addr,...\": addresses of MTA-STS hosts\n"
	      "  --mta-sts-port P      port of the MTA-STS policy servers (default 443)\n"
	      "resolver:\n"
	      "  -c, --config FILE     unbound configuration file (trust anchors, forwarders)\n"
	      "  -t, --trust-anchor FILE  trust these DS/DNSKEY records (instead of the root's)\n"
	      "  -F, --forwarder ADDR  send queries to this resolver (it must pass DNSSEC data)\n",
	      fp);
}

void
scanopt_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}
