/*
 * main.c - the danemail command: dispatch to one subcommand per file.
 *
 *   danemail lookup {smimea|openpgpkey|tlsa|mx} NAME   (lookup.c)
 *   danemail record {smimea|openpgpkey|tlsa} ...        (record.c)
 *   danemail verify {smimea|openpgpkey} ADDRESS ...      (verify_records.c)
 *   danemail verify tlsa {HOST[:PORT] | --mx DOMAIN}     (verify_tlsa.c)
 *
 * Exit codes are those of enum cli_exit (cli.h), documented in danemail(1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static void
usage(FILE *fp)
{
	fputs("usage: danemail COMMAND [OPTIONS] ARGS...\n"
	      "\n"
	      "commands:\n"
	      "  lookup {smimea|openpgpkey|tlsa|mx} NAME\n"
	      "                look up DANE records with DNSSEC validation\n"
	      "  record {smimea|openpgpkey|tlsa} ...\n"
	      "                write SMIMEA, OPENPGPKEY or TLSA records for a certificate or key\n"
	      "  verify {smimea|openpgpkey} ADDRESS --cert FILE | --key FILE\n"
	      "                check that DNS publishes this certificate or key\n"
	      "  verify tlsa {HOST[:PORT] | --mx DOMAIN}\n"
	      "                check a mail server against its TLSA records (RFC 7672)\n"
	      "  scan DOMAIN... | --input FILE\n"
	      "                measure the mail transport security of domains\n"
	      "  report [--db URI | FILE.jsonl...] [-o FILE]\n"
	      "                statistics and an HTML report of scan results\n"
	      "  monitor [--db URI] DOMAIN... | --list FILE\n"
	      "                scan, compare with the last scan, alert when DANE breaks\n"
	      "\n"
	      "  danemail COMMAND --help    options of a command\n"
	      "  danemail --version\n"
	      "\n"
	      "exit codes: 0 secure records, 1 secure proof of none, 2 insecure, 3 bogus,\n"
	      "            4 lookup failure, 64+ usage or input errors (see danemail(1))\n",
	      fp);
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("danemail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool
cli_dns_option(int c, const char *arg, struct dns_config *dns, bool *json)
{
	switch (c) {
	case 'j':
		*json = true;
		return true;
	case 'c':
		dns->unbound_conf = arg;
		return true;
	case 't':
		dns->trust_anchor = arg;
		return true;
	case 'F':
		dns->forwarder = arg;
		return true;
	default:
		return false;
	}
}

void
cli_output(json_t *top, const struct buf *text, bool json)
{
	if (json) {
		char *s = json_dumps(top, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (s)
			puts(s);
		free(s);
	} else {
		fputs(buf_str(text), stdout);
	}
}

enum cli_exit
cli_exit_for_answer(const struct dns_answer *ans)
{
	if (ans->sec == DNS_SEC_BOGUS)
		return CLI_EXIT_BOGUS;
	switch (ans->outcome) {
	case DNS_OUTCOME_SERVFAIL:
	case DNS_OUTCOME_TIMEOUT:
	case DNS_OUTCOME_ERROR:
		return CLI_EXIT_FAIL;
	case DNS_OUTCOME_DATA:
	case DNS_OUTCOME_NODATA:
	case DNS_OUTCOME_NXDOMAIN:
		break;
	}
	if (ans->sec != DNS_SEC_SECURE)
		return ans->sec == DNS_SEC_INSECURE ? CLI_EXIT_INSECURE : CLI_EXIT_FAIL;
	return ans->outcome == DNS_OUTCOME_DATA ? CLI_EXIT_SECURE : CLI_EXIT_NONE;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("danemail " DANEMAIL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "lookup") == 0)
		return cmd_lookup(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "monitor") == 0)
		return cmd_monitor(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0) {
		if (argc > 2 && strcasecmp(argv[2], "tlsa") == 0)
			return cmd_verify_tlsa(argc - 2, argv + 2);
		if (argc > 2 &&
		    (strcasecmp(argv[2], "smimea") == 0 || strcasecmp(argv[2], "openpgpkey") == 0))
			return cmd_verify_records(argc - 1, argv + 1);
		if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			puts("usage: danemail verify {smimea|openpgpkey} ADDRESS ... (danemail "
			     "verify "
			     "smimea --help)\n"
			     "       danemail verify tlsa {HOST[:PORT] | --mx DOMAIN} ... "
			     "(danemail "
			     "verify tlsa --help)");
			return 0;
		}
		cli_error("verify: want smimea, openpgpkey or tlsa (try danemail verify tlsa "
		          "--help)");
		return CLI_EXIT_USAGE;
	}
	cli_error("unknown command '%s' (try danemail --help)", argv[1]);
	return CLI_EXIT_USAGE;
}
