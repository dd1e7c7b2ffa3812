/*
 * monitor.c - danemail monitor: placeholder.
 */
#include <stdio.h>

#include "cli.h"

int
cmd_monitor(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "danemail monitor: not built yet\n");
	return CLI_EXIT_SOFTWARE;
}
