/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * Every target defines LLVMFuzzerTestOneInput, frees all it allocates and
 * changes no global state, so libFuzzer's leak check stays meaningful.  A
 * broken invariant (a round trip that does not round-trip, an output that a
 * parser must never produce) is reported with FUZZ_CHECK, which prints the
 * condition and aborts: libFuzzer saves the input as a crash.
 */
#ifndef DANEMAIL_FUZZ_H
#define DANEMAIL_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the failed condition (and where) when an invariant is broken. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated copy of data[0..size) (an embedded NUL ends the string early). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * The bytes in an anonymous memory file; *path gets its /proc/self/fd name
 * for code that opens files by name.  Returns the descriptor (close it), or
 * aborts: the fuzzer cannot run without one.
 */
static inline int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t path_size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	snprintf(path, path_size, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
