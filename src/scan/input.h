/*
 * input.h - the domains a scan reads: command-line arguments, or a file
 * (or stdin) with one domain per line or a Tranco-style "rank,domain" CSV,
 * and the --shard I/N filter that spreads one list over several machines.
 *
 * Lines are untrusted: they are trimmed, '#' comments and blank lines are
 * skipped, a trailing dot is dropped, ASCII is lower-cased, and the name is
 * checked (labels 1-63 octets, 255 in all, no spaces or control bytes)
 * before the engine sees it.  Bad lines come back as entries with a reason,
 * so the caller can report them and count them; they are never scanned.
 * Reading is incremental: a list of millions of names is never held in
 * memory.
 */
#ifndef DANEMAIL_SCAN_INPUT_H
#define DANEMAIL_SCAN_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/why.h"

struct scan_input;

/* One entry of the list. */
struct scan_item {
	char *domain;    /* normalised (lower case, no final dot), or the raw text when invalid */
	long rank;       /* the CSV's rank column, or -1 */
	size_t line;     /* 1-based line number in the file, or argument position */
	size_t position; /* 0-based position among the list's entries (before sharding) */
	bool valid;
	char why[128]; /* the reason when !valid */
};

/* Read names from argv[0..argc). */
struct scan_input *scan_input_args(char **argv, int argc);
/*
 * Read names from a file ("-" is stdin).  NULL and a reason if it cannot be
 * opened.
 */
struct scan_input *scan_input_file(const char *path, struct why *why);
/* Keep only entries whose position p satisfies p % n == i - 1 (1 <= i <= n). */
void scan_input_shard(struct scan_input *in, unsigned i, unsigned n);
/*
 * The number of entries the scan will see (after the shard), counted ahead
 * by reading a regular file once; -1 when unknown (stdin, pipes).
 */
long scan_input_count(struct scan_input *in);
/* The next entry (false at the end or on a read error: see scan_input_error). */
bool scan_input_next(struct scan_input *in, struct scan_item *item);
/*
 * The next valid entry, its domain handed over in *name (the caller frees
 * it); each invalid entry on the way goes to invalid(arg, item) first.
 * False at the end or on a read error.
 */
bool scan_input_next_domain(struct scan_input *in, char **name, long *rank, size_t *position,
                            void (*invalid)(void *arg, const struct scan_item *item), void *arg);
/* Free what an item owns. */
void scan_input_item_clear(struct scan_item *item);
/* The read error that ended the input, or NULL. */
const char *scan_input_error(const struct scan_input *in);
/* Close and free; returns NULL. */
struct scan_input *scan_input_free(struct scan_input *in);

/*
 * Normalise one name in place (trim, drop the final dot, lower-case) and
 * check it; false and a reason if it is no usable domain name.
 */
bool scan_domain_normalise(char *name, struct why *why);

#endif
