/*
 * scanopt.h - the scan engine's command-line options (resolver, SMTP, TLS,
 * policies, limits), shared by the commands that drive the engine
 * (danemail scan, danemail monitor).  A command puts
 * SCANOPT_LONGOPTS into its getopt_long table, SCANOPT_SHORTOPTS into its
 * short option string, and hands every option it does not know itself to
 * scanopt_take().
 */
#ifndef DANEMAIL_SCAN_SCANOPT_H
#define DANEMAIL_SCAN_SCANOPT_H

#include <stdio.h>

#include "engine.h"

/* getopt values of the long options (above any a command uses for its own). */
enum scanopt_id {
	SCANOPT_CONC = 0x1000,
	SCANOPT_PERIP,
	SCANOPT_MAXCONN,
	SCANOPT_TIMEOUT,
	SCANOPT_DNSTIMEOUT,
	SCANOPT_PORT,
	SCANOPT_HELO,
	SCANOPT_LEGACY,
	SCANOPT_NOIPV6,
	SCANOPT_NOPOL,
	SCANOPT_NOFETCH,
	SCANOPT_CAFILE,
	SCANOPT_STSRESOLVE,
	SCANOPT_STSPORT,
	SCANOPT_DNSINLINE,
	SCANOPT_DNSTHREADS,
	SCANOPT_HOSTCACHE,
	SCANOPT_PROBECACHE,
	SCANOPT_ENUMERATE,
	SCANOPT_RATEPERIP,
	SCANOPT_PROBEAGE,
	SCANOPT_PSL,
};

/* clang-format off */
#define SCANOPT_SHORTOPTS "c:t:F:"
#define SCANOPT_LONGOPTS                                              \
	{"config", required_argument, NULL, 'c'},                     \
	{"trust-anchor", required_argument, NULL, 't'},               \
	{"forwarder", required_argument, NULL, 'F'},                  \
	{"concurrency", required_argument, NULL, SCANOPT_CONC},       \
	{"per-ip", required_argument, NULL, SCANOPT_PERIP},           \
	{"max-connections", required_argument, NULL, SCANOPT_MAXCONN}, \
	{"timeout", required_argument, NULL, SCANOPT_TIMEOUT},        \
	{"dns-timeout", required_argument, NULL, SCANOPT_DNSTIMEOUT}, \
	{"smtp-port", required_argument, NULL, SCANOPT_PORT},         \
	{"helo", required_argument, NULL, SCANOPT_HELO},              \
	{"legacy-tls", no_argument, NULL, SCANOPT_LEGACY},            \
	{"no-ipv6", no_argument, NULL, SCANOPT_NOIPV6},               \
	{"no-policies", no_argument, NULL, SCANOPT_NOPOL},            \
	{"no-mta-sts-fetch", no_argument, NULL, SCANOPT_NOFETCH},     \
	{"ca-file", required_argument, NULL, SCANOPT_CAFILE},         \
	{"mta-sts-resolve", required_argument, NULL, SCANOPT_STSRESOLVE}, \
	{"mta-sts-port", required_argument, NULL, SCANOPT_STSPORT},   \
	{"dns-inline", no_argument, NULL, SCANOPT_DNSINLINE},         \
	{"dns-threads", required_argument, NULL, SCANOPT_DNSTHREADS}, \
	{"host-cache", required_argument, NULL, SCANOPT_HOSTCACHE},   \
	{"probe-cache", required_argument, NULL, SCANOPT_PROBECACHE}, \
	{"tls-enumerate", no_argument, NULL, SCANOPT_ENUMERATE},      \
	{"rate-per-ip", required_argument, NULL, SCANOPT_RATEPERIP},  \
	{"probe-max-age", required_argument, NULL, SCANOPT_PROBEAGE}, \
	{"psl", required_argument, NULL, SCANOPT_PSL}
/* clang-format on */

/*
 * Take option c (argument arg) into o; cmd names the command in messages.
 * False for a bad value ("danemail: CMD: ..." printed) or an option that is
 * none of ours (usage printed to stderr): the command exits with its usage code.
 */
bool scanopt_take(const char *cmd, int c, const char *arg, struct scan_options *o,
                  void (*usage)(FILE *));

/*
 * Parse a number in [min, max] for option opt; false after a message
 * ("danemail: CMD: OPT wants MIN-MAX, got ...").
 */
bool scanopt_uint(const char *cmd, const char *opt, const char *arg, unsigned long min,
                  unsigned long max, unsigned long *out);

/* The --help lines of these options. */
void scanopt_usage(FILE *fp);

/* Allow as many open descriptors as the hard limit (each connection and lookup takes one). */
void scanopt_raise_fd_limit(void);

#endif
