/*
 * cli.h - what the danemail subcommands share: exit codes, resolver
 * options, error reporting.  One file per subcommand (lookup.c, ...).
 */
#ifndef DANEMAIL_CLI_H
#define DANEMAIL_CLI_H

#include <stdbool.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "dns/resolver.h"
#include "util/buf.h"
#include "util/why.h"

/* Exit codes, documented in danemail(1).  64 and up follow sysexits.h. */
enum cli_exit {
	CLI_EXIT_SECURE = 0,   /* secure records found */
	CLI_EXIT_NONE = 1,     /* secure proof that no records exist */
	CLI_EXIT_INSECURE = 2, /* the answer is not signed (no DNSSEC chain) */
	CLI_EXIT_BOGUS = 3,    /* DNSSEC validation failed */
	CLI_EXIT_FAIL = 4,     /* the lookup failed (SERVFAIL, timeout, ...) */
	CLI_EXIT_USAGE = 64,   /* bad command line or bad input (EX_USAGE) */
	CLI_EXIT_DATAERR = 65, /* readable input that is wrong: garbage, wrong kind (EX_DATAERR) */
	CLI_EXIT_NOINPUT = 66, /* an input file cannot be read (EX_NOINPUT) */
	CLI_EXIT_UNAVAILABLE = 69, /* a server could not be reached (EX_UNAVAILABLE) */
	CLI_EXIT_SOFTWARE = 70     /* internal error (EX_SOFTWARE) */
};

/* Resolver options every DNS-using subcommand accepts. */
struct cli_dns_opts {
	struct dns_config dns;
	bool json;
};

/* getopt_long entries for the resolver options: --json, --config, --trust-anchor, --forwarder. */
/* clang-format off */
#define CLI_DNS_LONGOPTS                                  \
	{"json", no_argument, NULL, 'j'},                 \
	{"config", required_argument, NULL, 'c'},         \
	{"trust-anchor", required_argument, NULL, 't'},   \
	{"forwarder", required_argument, NULL, 'F'}
/* clang-format on */

/* Take option c (from CLI_DNS_LONGOPTS) into dns / json; false if c is not one of them. */
bool cli_dns_option(int c, const char *arg, struct dns_config *dns, bool *json);

/* Print "danemail: <fmt>" (untrusted parts must be escaped by the caller) to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit code an answer deserves (see enum cli_exit); one table for all subcommands. */
enum cli_exit cli_exit_for_answer(const struct dns_answer *ans);

/* Print a subcommand's result: top as indented JSON with --json, else the text. */
void cli_output(json_t *top, const struct buf *text, bool json);

int cmd_lookup(int argc, char **argv);
/* danemail record {smimea|openpgpkey|tlsa} ... (record.c) */
int cmd_record(int argc, char **argv);
/* danemail verify {smimea|openpgpkey} ADDR ... (verify_records.c) */
int cmd_verify_records(int argc, char **argv);
/* danemail verify tlsa {HOST[:PORT] | --mx DOMAIN} (verify_tlsa.c) */
int cmd_verify_tlsa(int argc, char **argv);

/* danemail scan ... (src/scan/scan.c) */
int cmd_scan(int argc, char **argv);
/* danemail report ... (src/scan/reportcmd.c) */
int cmd_report(int argc, char **argv);
/* danemail monitor ... (src/scan/monitor.c) */
int cmd_monitor(int argc, char **argv);

/*
 * The certificate chain (leaf first) a mail server presents on host:port:
 * STARTTLS for SMTP (25, 587), implicit TLS for 465.  A host name's
 * addresses come from res (bogus or failed lookups stop).  NULL, the exit
 * code in *fail and a reason on failure.  (tlsa_fetch.c)
 */
STACK_OF(X509) * cli_fetch_chain(struct dns_resolver *res, const char *host, unsigned port,
                                 unsigned timeout_ms, enum cli_exit *fail, struct why *why);

#endif
