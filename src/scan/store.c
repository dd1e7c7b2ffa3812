/*
 * store.c - the results store (store.h): placeholder until the SQLite and
 * PostgreSQL backends land.
 */
#include "store.h"

struct store *
store_open(const char *uri, struct why *why)
{
	(void)uri;
	why_set(why, "the results store is not built yet");
	return NULL;
}

void
store_close(struct store *st)
{
	(void)st;
}
