/*
 * input.c - domain lists for the scanner (see input.h): arguments, plain
 * lists and Tranco "rank,domain" CSV, read a line at a time, with the
 * shard filter.
 *
 * Every line is untrusted.  Lines are read with getline() (no fixed
 * buffer); names longer than a DNS name can be are refused before any
 * copy outlives the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns/owner.h"
#include "input.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

struct scan_input {
	char **argv; /* argument mode */
	int argc, argi;
	FILE *fp; /* file mode */
	bool close_fp;
	bool seekable;
	char *line;
	size_t line_cap;
	size_t line_no;
	size_t position; /* entries seen so far */
	unsigned shard_i, shard_n;
	char *error;
};

struct scan_input *
scan_input_args(char **argv, int argc)
{
	struct scan_input *in = xcalloc(1, sizeof(*in));

	in->argv = argv;
	in->argc = argc;
	in->shard_i = in->shard_n = 1;
	return in;
}

struct scan_input *
scan_input_file(const char *path, struct why *why)
{
	struct scan_input *in;
	struct stat st;
	FILE *fp;

	if (strcmp(path, "-") == 0) {
		fp = stdin;
	} else if ((fp = fopen(path, "r")) == NULL) {
		why_set(why, "%s: %s", path, strerror(errno));
		return NULL;
	}
	in = xcalloc(1, sizeof(*in));
	in->fp = fp;
	in->close_fp = fp != stdin;
	in->seekable = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode);
	in->shard_i = in->shard_n = 1;
	return in;
}

void
scan_input_shard(struct scan_input *in, unsigned i, unsigned n)
{
	in->shard_i = i;
	in->shard_n = n;
}

struct scan_input *
scan_input_free(struct scan_input *in)
{
	if (in == NULL)
		return NULL;
	if (in->close_fp)
		fclose(in->fp);
	free(in->line);
	free(in->error);
	free(in);
	return NULL;
}

const char *
scan_input_error(const struct scan_input *in)
{
	return in->error;
}

void
scan_input_item_clear(struct scan_item *item)
{
	free(item->domain);
	memset(item, 0, sizeof(*item));
}

bool
scan_input_next_domain(struct scan_input *in, char **name, long *rank, size_t *position,
                       void (*invalid)(void *arg, const struct scan_item *item), void *arg)
{
	struct scan_item it;

	while (scan_input_next(in, &it)) {
		if (!it.valid) {
			invalid(arg, &it);
			scan_input_item_clear(&it);
			continue;
		}
		*name = it.domain;
		*rank = it.rank;
		*position = it.position;
		it.domain = NULL;
		scan_input_item_clear(&it);
		return true;
	}
	return false;
}

bool
scan_domain_normalise(char *name, struct why *why)
{
	size_t n, i;
	char *p = name;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	memmove(name, p, n);
	name[n] = '\0';
	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	if (n == 0)
		return why_set(why, "empty name");
	if (name[n - 1] == '.')
		return why_set(why, "empty label at the end of the name");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 0x80)
			return why_set(why, "not ASCII: give internationalised names as A-labels "
			                    "(xn--...)");
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return why_set(why, "character 0x%02x is not allowed in a mail domain", c);
		name[i] = (char)tolower(c);
	}
	return owner_check_domain(name, why);
}

/* Fill item from one line of text (modified in place); false if the line holds no entry. */
static bool
parse_line(struct scan_input *in, char *text, struct scan_item *item)
{
	char *comma, *hash, *p = text, *domain;
	struct why why = {""};
	long rank = -1;

	if ((hash = strchr(p, '#')) != NULL)
		*hash = '\0';
	p[strcspn(p, "\r\n")] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return false;
	domain = p;
	if ((comma = strchr(p, ',')) != NULL) {
		/* Tranco: "rank,domain" (a header line "rank,domain" or similar is skipped) */
		char *end;

		*comma = '\0';
		errno = 0;
		rank = strtol(p, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (end == p || *end != '\0' || errno || rank < 0) {
			if (in->line_no == 1 && in->position == 0)
				return false; /* a header */
			rank = -1;
			why_set(&why, "CSV line: the first field is not a rank");
		}
		domain = comma + 1;
		if (strchr(domain, ',') && !why.msg[0])
			why_set(&why, "CSV line: more than two fields");
	}
	memset(item, 0, sizeof(*item));
	item->rank = rank;
	item->line = in->line_no;
	item->position = in->position++;
	if (strlen(domain) > 1024)
		domain[1024] = '\0'; /* no DNS name is that long: keep the report short */
	item->domain = xstrdup(domain);
	item->valid = !why.msg[0] && scan_domain_normalise(item->domain, &why);
	if (!item->valid) {
		struct buf esc = BUF_INIT;

		snprintf(item->why, sizeof(item->why), "%s", why.msg);
		/* the raw text, escaped, for the report */
		escape_str(&esc, domain);
		free(item->domain);
		item->domain = xstrdup(buf_str(&esc));
		buf_release(&esc);
	}
	return true;
}

/* The next entry, before sharding. */
static bool
next_any(struct scan_input *in, struct scan_item *item)
{
	if (in->argv) {
		while (in->argi < in->argc) {
			char *copy = xstrdup(in->argv[in->argi++]);
			bool got;

			in->line_no = (size_t)in->argi;
			got = parse_line(in, copy, item);
			free(copy);
			if (got)
				return true;
		}
		return false;
	}
	for (;;) {
		ssize_t n;

		errno = 0;
		n = getline(&in->line, &in->line_cap, in->fp);
		if (n < 0) {
			if (ferror(in->fp) && in->error == NULL) {
				struct buf msg = BUF_INIT;

				buf_printf(&msg, "reading the input: %s",
				           strerror(errno ? errno : EIO));
				in->error = (char *)buf_steal(&msg, NULL);
			}
			return false;
		}
		in->line_no++;
		if ((size_t)n != strlen(in->line)) {
			/* a NUL byte: no text line */
			memset(item, 0, sizeof(*item));
			item->rank = -1;
			item->line = in->line_no;
			item->position = in->position++;
			item->domain = xstrdup("");
			snprintf(item->why, sizeof(item->why), "a NUL byte in the line");
			return true;
		}
		if (parse_line(in, in->line, item))
			return true;
	}
}

bool
scan_input_next(struct scan_input *in, struct scan_item *item)
{
	for (;;) {
		if (!next_any(in, item))
			return false;
		if (in->shard_n <= 1 || item->position % in->shard_n == in->shard_i - 1)
			return true;
		scan_input_item_clear(item);
	}
}

long
scan_input_count(struct scan_input *in)
{
	struct scan_input copy;
	struct scan_item item;
	long n = 0;
	long pos;

	if (in->argv) {
		copy = *in;
		copy.line = NULL;
		copy.line_cap = 0;
		copy.error = NULL;
		while (scan_input_next(&copy, &item)) {
			n++;
			scan_input_item_clear(&item);
		}
		return n;
	}
	if (!in->seekable || (pos = ftell(in->fp)) < 0)
		return -1;
	copy = *in;
	copy.line = NULL;
	copy.line_cap = 0;
	copy.error = NULL;
	while (scan_input_next(&copy, &item)) {
		n++;
		scan_input_item_clear(&item);
	}
	free(copy.line);
	free(copy.error);
	clearerr(in->fp);
	if (fseek(in->fp, pos, SEEK_SET) != 0)
		return -1;
	return n;
}
