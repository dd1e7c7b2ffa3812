/*
 * fuzz_scan_input.c - libFuzzer target for the scanner's domain lists
 * (src/scan/input.h: plain lists and Tranco "rank,domain" CSV, the shard
 * filter, scan_domain_normalise).
 *
 * Input: a flags byte, then the list.  Flag bit 0 clear: the list is a file
 * (an anonymous memory file opened by name, as `danemail scan FILE` would);
 * set: it is split at NUL bytes into command-line arguments.  The other bits
 * choose the shard.  Invariants: scan_input_count, asked first, equals the
 * number of entries read; positions grow and respect the shard; a valid
 * entry is a normalised name (lower case, no final dot, checked labels) and
 * an invalid one has a reason and escaped text.
 */
#include "fuzz.h"

#include "dns/owner.h"
#include "input.h"

static void
check_item(const struct scan_item *it, unsigned shard_i, unsigned shard_n, size_t *last)
{
	const char *d = it->domain;
	size_t i, n;

	FUZZ_CHECK(d != NULL);
	if (*last != (size_t)-1)
		FUZZ_CHECK(it->position > *last);
	*last = it->position;
	FUZZ_CHECK(shard_n <= 1 || it->position % shard_n == shard_i - 1);
	FUZZ_CHECK(it->rank >= -1);
	n = strlen(d);
	if (it->valid) {
		FUZZ_CHECK(n > 0 && d[n - 1] != '.');
		for (i = 0; i < n; i++)
			FUZZ_CHECK((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
			           d[i] == '-' || d[i] == '_' || d[i] == '.');
		FUZZ_CHECK(owner_check_domain(d, NULL));
	} else {
		FUZZ_CHECK(it->why[0] != '\0');
		for (i = 0; i < n; i++)
			FUZZ_CHECK((unsigned char)d[i] >= 0x20 && (unsigned char)d[i] < 0x7f);
	}
}

/* Split data at NUL bytes into a NULL-terminated argument vector (one allocation each). */
static char **
split_args(const uint8_t *p, size_t n, int *argc)
{
	char **argv = calloc(n + 2, sizeof(*argv));
	size_t pos = 0;

	FUZZ_CHECK(argv != NULL);
	*argc = 0;
	while (pos <= n && *argc < 256) {
		const uint8_t *nul = memchr(p + pos, '\0', n - pos);
		size_t len = nul != NULL ? (size_t)(nul - (p + pos)) : n - pos;

		argv[(*argc)++] = fuzz_cstr(p + pos, len);
		pos += len + 1;
	}
	return argv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_input *in;
	struct scan_item item;
	struct why why;
	unsigned shard_i = 1, shard_n = 1;
	char path[64], **argv = NULL;
	char *name;
	int fd = -1, argc = 0, i;
	long count, got = 0;
	size_t last = (size_t)-1;

	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 0x0e) {
		shard_n = 1 + ((data[0] >> 1) & 7);
		shard_i = 1 + ((data[0] >> 4) % shard_n);
	}
	if (data[0] & 1) {
		argv = split_args(data + 1, size - 1, &argc);
		in = scan_input_args(argv, argc);
	} else {
		fd = fuzz_memfile(data + 1, size - 1, path, sizeof(path));
		in = scan_input_file(path, &why);
		FUZZ_CHECK(in != NULL);
	}
	scan_input_shard(in, shard_i, shard_n);
	count = scan_input_count(in);
	FUZZ_CHECK(count >= 0);
	while (scan_input_next(in, &item)) {
		check_item(&item, shard_i, shard_n, &last);
		scan_input_item_clear(&item);
		got++;
	}
	FUZZ_CHECK(scan_input_error(in) == NULL);
	FUZZ_CHECK(got == count);
	scan_input_free(in);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);

	/* one name on its own, as a command-line argument is normalised */
	name = fuzz_cstr(data + 1, size - 1);
	if (scan_domain_normalise(name, &why))
		FUZZ_CHECK(owner_check_domain(name, NULL));
	free(name);
	return 0;
}
