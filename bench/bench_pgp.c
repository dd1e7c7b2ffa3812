/*
 * bench_pgp.c - the cost of PGP/MIME encryption in process: what the milter
 * pays per message for OpenPGP recipients, and what the alternatives cost.
 *
 *   bench_pgp [ITERATIONS]
 *       Encrypts a 4096-byte MIME entity ITERATIONS times (default 2000; a
 *       tenth of that, at least 20, for RSA) to one Curve25519 key (Ed25519
 *       primary, Cv25519 encryption subkey: gpg's "future-default") and to
 *       one RSA-3072 key (RSA-3072 encryption subkey), four ways:
 *         pgpmime  pgpmime_encrypt: a fresh librnp context per call, the
 *                  recipient's subkey read from the parsed struct pgpkey;
 *         import   bare librnp the other way: a fresh context per call that
 *                  imports the key's bytes (librnp checks its self-signatures
 *                  again), then encrypts, armoured, to memory;
 *         parse    pgpkey_parse + pgpkey_check + pgpkey_free: what a message
 *                  costs when the milter parses each recipient's key anew;
 *         milter   parse, then pgpmime: the milter's per-message OpenPGP work.
 *
 * Keys are made with gpg in a mkdtemp GNUPGHOME at start-up (not timed); the
 * GNUPGHOME is removed at the end.  Prints one line per run: messages per
 * second (wall clock) and CPU microseconds per message (getrusage, user +
 * system), single-threaded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include "mail/pgpkey.h"
#include "mail/pgpmime.h"
#include "util/buf.h"

#define ENTITY_SIZE 4096

static char home[] = "/tmp/bench_pgp.XXXXXX";
static bool home_made; /* mkdtemp ran (its random part may well contain an 'X') */

/* Keys: gpg's Curve25519 default and RSA-3072 with an encryption subkey. */
static const char gen_script[] =
        "set -e\n"
        "H=$1\n"
        "g() { gpg --homedir \"$H\" --batch --quiet --no-tty --pinentry-mode loopback "
        "--passphrase '' \"$@\"; }\n"
        "g --quick-gen-key 'Bob <bob@secure.test>' future-default default 1y\n"
        "g --quick-gen-key 'Rob <rob@secure.test>' rsa3072 sign 1y\n"
        "g --quick-add-key \"$(g --with-colons --list-keys rob@secure.test | "
        "awk -F: '/^fpr/ {print $10; exit}')\" rsa3072 encr 1y\n"
        "g --export bob@secure.test > \"$H/cv25519.gpg\"\n"
        "g --export rob@secure.test > \"$H/rsa3072.gpg\"\n";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void
cleanup(void)
{
	char cmd[2 * sizeof(home) + 128];

	if (!home_made)
		return;
	snprintf(cmd, sizeof(cmd),
	         "gpgconf --homedir '%s' --kill gpg-agent >/dev/null 2>&1; rm -rf '%s'", home,
	         home);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_pgp: cannot remove %s\n", home);
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_pgp: %s\n", what);
	cleanup();
	exit(1);
}

static void
keys_make(void)
{
	char cmd[sizeof(home) + 64];
	FILE *sh;

	if (mkdtemp(home) == NULL)
		die("mkdtemp failed");
	home_made = true;
	snprintf(cmd, sizeof(cmd), "sh -s '%s' >/dev/null 2>&1", home);
	if ((sh = popen(cmd, "w")) == NULL)
		die("cannot run sh");
	fputs(gen_script, sh);
	if (pclose(sh) != 0)
		die("key generation with gpg failed (is gpg installed?)");
}

static void
file_read(const char *name, struct buf *out)
{
	char path[sizeof(home) + 64], chunk[4096];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", home, name);
	if ((fp = fopen(path, "rb")) == NULL)
		die("cannot read an exported key");
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(out, chunk, n);
	fclose(fp);
}

/* A 4096-byte text/plain entity with CRLF lines (as bench_cms makes it). */
static void
entity_make(struct buf *e)
{
	static const char line[] =
	        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, 42.\r\n";

	buf_puts(e, "Content-Type: text/plain; charset=us-ascii\r\n"
	            "Content-Transfer-Encoding: 7bit\r\n\r\n");
	while (e->len + sizeof(line) - 1 <= ENTITY_SIZE)
		buf_puts(e, line);
	while (e->len < ENTITY_SIZE)
		buf_putc(e, e->len == ENTITY_SIZE - 2   ? '\r'
		            : e->len == ENTITY_SIZE - 1 ? '\n'
		                                        : 'x');
}

/* What one run works with. */
struct run {
	const struct buf *entity;
	const struct buf *key_data;  /* the exported public key */
	const struct pgpkey *key;    /* parsed once */
	const char *enc_fingerprint; /* the subkey pgpkey chooses */
};

/* pgpmime_encrypt to a memory BIO; the output size. */
static size_t
encrypt_pgpmime(const struct run *r, const struct pgpkey *key)
{
	BIO *in = BIO_new_mem_buf(r->entity->data, (int)r->entity->len);
	BIO *out = BIO_new(BIO_s_mem());
	char boundary[PGPMIME_BOUNDARY_MAX], *data;
	struct why why = {""};
	size_t n;

	if (in == NULL || out == NULL)
		die("BIO_new");
	pgpmime_boundary(boundary);
	if (!pgpmime_encrypt(in, &key, 1, boundary, out, &why))
		die(why.msg);
	n = (size_t)BIO_get_mem_data(out, &data);
	BIO_free(in);
	BIO_free(out);
	return n;
}

/* Bare librnp with an import per call: fresh context, import, encrypt; the output size. */
static size_t
encrypt_import(const struct run *r)
{
	rnp_ffi_t ffi = NULL;
	rnp_input_t keys = NULL, in = NULL;
	rnp_output_t out = NULL;
	rnp_op_encrypt_t op = NULL;
	rnp_key_handle_t sub = NULL;
	uint8_t *data;
	size_t n = 0;
	int fd;

	if (rnp_ffi_create(&ffi, RNP_KEYSTORE_GPG, RNP_KEYSTORE_GPG) != RNP_SUCCESS)
		die("rnp_ffi_create");
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* as pgpkey.c does */
	if (fd >= 0 && rnp_ffi_set_log_fd(ffi, fd) != RNP_SUCCESS)
		close(fd);
	if (rnp_input_from_memory(&keys, r->key_data->data, r->key_data->len, false) !=
	            RNP_SUCCESS ||
	    rnp_import_keys(ffi, keys, RNP_LOAD_SAVE_PUBLIC_KEYS, NULL) != RNP_SUCCESS ||
	    rnp_locate_key(ffi, "fingerprint", r->enc_fingerprint, &sub) != RNP_SUCCESS ||
	    sub == NULL)
		die("cannot import the key");
	if (rnp_input_from_memory(&in, r->entity->data, r->entity->len, false) != RNP_SUCCESS ||
	    rnp_output_to_memory(&out, 0) != RNP_SUCCESS ||
	    rnp_op_encrypt_create(&op, ffi, in, out) != RNP_SUCCESS ||
	    rnp_op_encrypt_add_recipient(op, sub) != RNP_SUCCESS ||
	    rnp_op_encrypt_set_cipher(op, "AES256") != RNP_SUCCESS ||
	    rnp_op_encrypt_set_compression(op, "Uncompressed", 0) != RNP_SUCCESS ||
	    rnp_op_encrypt_set_armor(op, true) != RNP_SUCCESS ||
	    rnp_op_encrypt_execute(op) != RNP_SUCCESS ||
	    rnp_output_memory_get_buf(out, &data, &n, false) != RNP_SUCCESS)
		die("bare librnp encryption failed");
	rnp_op_encrypt_destroy(op);
	rnp_output_destroy(out);
	rnp_input_destroy(in);
	rnp_input_destroy(keys);
	rnp_key_handle_destroy(sub);
	rnp_ffi_destroy(ffi);
	return n;
}

/* Parse and judge the key as the milter would for each message; the parsed key. */
static struct pgpkey *
key_parse(const struct run *r)
{
	struct why why = {""};
	struct pgpkey *key = pgpkey_parse(r->key_data->data, r->key_data->len, &why);

	if (key == NULL || pgpkey_check(key, NULL, time(NULL), &why) != PGPKEY_USABLE_OK)
		die(why.msg);
	return key;
}

enum path { PATH_PGPMIME, PATH_IMPORT, PATH_PARSE, PATH_MILTER, N_PATHS };
static const char *const path_name[N_PATHS] = {"pgpmime", "import", "parse", "milter"};

static size_t
one(enum path p, const struct run *r)
{
	struct pgpkey *key;
	size_t n = 0;

	switch (p) {
	case PATH_PGPMIME:
		return encrypt_pgpmime(r, r->key);
	case PATH_IMPORT:
		return encrypt_import(r);
	case PATH_PARSE:
		pgpkey_free(key_parse(r));
		return 0;
	case PATH_MILTER:
		key = key_parse(r);
		n = encrypt_pgpmime(r, key);
		pgpkey_free(key);
		return n;
	case N_PATHS:
		break;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const key_names[2] = {"cv25519", "rsa3072"};
	struct buf entity = BUF_INIT, key_data[2] = {BUF_INIT, BUF_INIT};
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	size_t k;

	if (argc > 2 || iterations <= 0) {
		fprintf(stderr, "usage: bench_pgp [ITERATIONS]\n");
		return 64;
	}
	keys_make();
	entity_make(&entity);
	for (k = 0; k < 2; k++) {
		struct pgpkey_info info;
		struct why why = {""};
		struct pgpkey *key;
		char file[32];
		struct run r;
		long n = k == 0 ? iterations : (iterations / 10 > 20 ? iterations / 10 : 20);
		int p;

		snprintf(file, sizeof(file), "%s.gpg", key_names[k]);
		file_read(file, &key_data[k]);
		if ((key = pgpkey_parse(key_data[k].data, key_data[k].len, &why)) == NULL)
			die(why.msg);
		pgpkey_info_get(&info, key, time(NULL));
		if (!info.has_encryption_key)
			die("the key has no encryption subkey");
		r.entity = &entity;
		r.key_data = &key_data[k];
		r.key = key;
		r.enc_fingerprint = info.enc_fingerprint;
		for (p = 0; p < N_PATHS; p++) {
			double t0, c0, wall, cpu;
			size_t out_size = 0;
			long i;

			/* warm up: first-use costs are not the steady state */
			for (i = 0; i < 5; i++)
				out_size = one((enum path)p, &r);
			t0 = now();
			c0 = cpu_seconds();
			for (i = 0; i < n; i++)
				out_size = one((enum path)p, &r);
			wall = now() - t0;
			cpu = cpu_seconds() - c0;
			printf("pgp: path=%s key=%s entity=%zu output=%zu messages=%ld "
			       "seconds=%.2f "
			       "rate=%.0f/s cpu=%.1fus/msg\n",
			       path_name[p], key_names[k], entity.len, out_size, n, wall,
			       (double)n / wall, cpu * 1e6 / (double)n);
			fflush(stdout);
		}
		pgpkey_info_clear(&info);
		pgpkey_free(key);
	}
	buf_release(&entity);
	buf_release(&key_data[0]);
	buf_release(&key_data[1]);
	cleanup();
	return 0;
}
