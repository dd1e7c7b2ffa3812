/* placeholder: being written */
#include "cli.h"

STACK_OF(X509) *
        cli_fetch_chain(const char *host, unsigned port, unsigned timeout_ms, struct why *why)
{
	(void)host;
	(void)port;
	(void)timeout_ms;
	why_set(why, "fetching certificates from servers is not implemented yet");
	return NULL;
}
