/*
 * reportcmd.c - danemail report: placeholder.
 */
#include <stdio.h>

#include "cli.h"

int
cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "danemail report: not built yet\n");
	return CLI_EXIT_SOFTWARE;
}
