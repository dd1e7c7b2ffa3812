/* placeholder: being written */
#include "cli.h"

int
cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("not implemented yet");
	return CLI_EXIT_SOFTWARE;
}
