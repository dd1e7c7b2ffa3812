/*
 * test_pgpmime.c - unit tests for lib/mail/pgpmime.c: keys are made with gpg
 * in a throw-away GNUPGHOME (Bob: Ed25519 with a Cv25519 encryption subkey;
 * Rob: RSA-3072 with an RSA-3072 encryption subkey; X: sign-only; Cara: two
 * Cv25519 encryption subkeys), parsed with pgpkey_parse, and entities (text,
 * every byte value, empty, a bare blank line, 1 MB, one from lib/mail/message.c)
 * are encrypted to one and to two recipients.  Every output is checked line by
 * line against RFC 3156 section 4 (preamble, boundary lines, the "Version: 1"
 * part, CRLF everywhere, the armour) and decrypted by gpg, the independent
 * oracle, in a home holding only that recipient's secret key; gpg's status
 * and packet listing confirm AES-256 with MDC, no compression, a binary
 * literal packet and one PKESK per recipient, to the subkey pgpkey chooses.
 * Failures: unreadable input, unwritable output, a key that cannot encrypt,
 * bad arguments.  Several threads encrypt at once.  Without gpg the tests
 * are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "mail/message.h"
#include "mail/pgpkey.h"
#include "mail/pgpmime.h"
#include "util/buf.h"
#include "util/why.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static char home[] = "/tmp/test_pgpmime.XXXXXX";
static bool home_made; /* mkdtemp ran (its random part may well contain an 'X') */
static bool ready;     /* keys were made; false: gpg missing, tests skip */

enum who { BOB, ROB, X, CARA, N_WHO };
static const char *const who_name[N_WHO] = {"bob", "rob", "x", "cara"};
static struct pgpkey *keys[N_WHO];

/*
 * Make the keys.  Runs under sh with the directory as $1: keys are made in
 * $1/g; NAME.gpg is the public key, NAME.fpr its fingerprints (primary first,
 * then subkeys in key order); bob/ and rob/ are homes holding only that
 * secret key (the decrypting side), none/ a home with no key at all.
 */
static const char gen_script[] =
        "set -e\n"
        "D=$1\n"
        "mkdir -m 700 \"$D/g\" \"$D/bob\" \"$D/rob\" \"$D/none\"\n"
        "g() { gpg --homedir \"$D/g\" --batch --quiet --no-tty --pinentry-mode loopback "
        "--passphrase '' \"$@\"; }\n"
        "fpr() { g --with-colons --list-keys \"$1\" | awk -F: '/^fpr/ {print $10}'; }\n"
        "g --quick-gen-key 'Bob <bob@secure.test>' future-default default 1y\n"
        "g --quick-gen-key 'Rob <rob@secure.test>' rsa3072 sign 1y\n"
        "g --quick-add-key \"$(fpr rob@secure.test | head -1)\" rsa3072 encr 1y\n"
        "g --quick-gen-key 'X <x@secure.test>' ed25519 sign 1y\n"
        "g --quick-gen-key 'Cara <cara@secure.test>' ed25519 sign 1y\n"
        "g --quick-add-key \"$(fpr cara@secure.test | head -1)\" cv25519 encr 1y\n"
        "g --quick-add-key \"$(fpr cara@secure.test | head -1)\" cv25519 encr 1y\n"
        "for k in bob rob x cara; do\n"
        "  g --export $k@secure.test > \"$D/$k.gpg\"\n"
        "  fpr $k@secure.test > \"$D/$k.fpr\"\n"
        "done\n"
        "for k in bob rob; do\n"
        "  g --export-secret-keys $k@secure.test |\n"
        "    gpg --homedir \"$D/$k\" --batch --quiet --no-tty --import\n"
        "done\n";

static const char *
path(const char *name)
{
	static char p[sizeof(home) + 64];

	snprintf(p, sizeof(p), "%s/%s", home, name);
	return p;
}

static void
file_read(const char *name, struct buf *out)
{
	char chunk[65536];
	FILE *fp;
	size_t n;

	if ((fp = fopen(path(name), "rb")) == NULL) {
		fail_msg("cannot open %s", path(name));
		return;
	}
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(out, chunk, n);
	fclose(fp);
}

static void
file_write(const char *name, const void *p, size_t n)
{
	FILE *fp = fopen(path(name), "wb");

	if (fp == NULL || fwrite(p, 1, n, fp) != n || fclose(fp) != 0)
		fail_msg("cannot write %s", path(name));
}

/* Run a shell command; its exit status. */
static int
run(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* Line i (0: primary key) of NAME.fpr, upper-case hex. */
static void
fpr_of(const char *name, int i, char *dst, size_t size)
{
	struct buf text = BUF_INIT;
	char file[64];
	const char *p;
	int k;

	snprintf(file, sizeof(file), "%s.fpr", name);
	file_read(file, &text);
	p = buf_str(&text);
	for (k = 0; k < i && p != NULL; k++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL || *p == '\0')
		fail_msg("%s has no line %d", file, i);
	snprintf(dst, size, "%.*s", (int)strcspn(p, "\n"), p);
	buf_release(&text);
}

static int
group_setup(void **state)
{
	char cmd[sizeof(home) + 256];
	struct buf data = BUF_INIT;
	struct why why = {""};
	FILE *sh;
	size_t i;

	(void)state;
	if (run("gpg --version >/dev/null 2>&1") != 0)
		return 0; /* no gpg: every test skips */
	if (mkdtemp(home) == NULL)
		return -1;
	home_made = true;
	snprintf(cmd, sizeof(cmd), "sh -s '%s' >'%s/gen.log' 2>&1", home, home);
	if ((sh = popen(cmd, "w")) == NULL)
		return -1;
	fputs(gen_script, sh);
	if (pclose(sh) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/gen.log' >&2", home);
		if (run(cmd) != 0)
			fprintf(stderr, "key generation failed\n");
		return -1;
	}
	for (i = 0; i < N_WHO; i++) {
		char file[32];

		snprintf(file, sizeof(file), "%s.gpg", who_name[i]);
		file_read(file, &data);
		if ((keys[i] = pgpkey_parse(data.data, data.len, &why)) == NULL) {
			fprintf(stderr, "parse %s: %s\n", file, why.msg);
			return -1;
		}
	}
	buf_release(&data);
	ready = true;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[8 * sizeof(home) + 256];
	size_t i;

	(void)state;
	for (i = 0; i < N_WHO; i++)
		keys[i] = pgpkey_free(keys[i]);
	if (!home_made)
		return 0;
	snprintf(cmd, sizeof(cmd),
	         "for d in g bob rob none; do gpgconf --homedir '%s'/$d --kill gpg-agent "
	         ">/dev/null 2>&1; done; rm -rf '%s'",
	         home, home);
	return run(cmd) == 0 ? 0 : -1;
}

/* ---- entities ---------------------------------------------------------------------------- */

enum entity_kind { E_TEXT, E_BYTES, E_EMPTY, E_BLANK, E_MEGA };

static void
entity_make(enum entity_kind kind, struct buf *e)
{
	size_t i;

	buf_reset(e);
	switch (kind) {
	case E_TEXT:
		buf_puts(e, "Content-Type: text/plain; charset=utf-8\r\n"
		            "Content-Transfer-Encoding: 8bit\r\n"
		            "\r\n"
		            "Hello Bob,\r\n"
		            "-----BEGIN PGP MESSAGE-----\r\n" /* armour-looking text inside */
		            "--not-a-boundary\r\n"
		            "Gr\xc3\xbc\xc3\x9f"
		            "e\r\n");
		break;
	case E_BYTES: /* every byte value, bare LF and CR included: encrypted as they are */
		buf_puts(e, "Content-Type: application/octet-stream\r\n\r\n");
		for (i = 0; i < 512; i++)
			buf_putc(e, (int)(i & 0xff));
		buf_puts(e, "\n\r\r\n\n");
		break;
	case E_EMPTY:
		break;
	case E_BLANK: /* no header fields, empty body */
		buf_puts(e, "\r\n");
		break;
	case E_MEGA: { /* 1 MiB of text lines with a little noise */
		uint32_t x = 2463534242u;

		buf_puts(e, "Content-Type: text/plain\r\n\r\n");
		while (e->len < 1048576) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf_printf(e, "line %zu %08x lorem ipsum dolor sit amet\r\n", e->len, x);
		}
		break;
	}
	}
}

/* ---- checking the output ----------------------------------------------------------------- */

static bool
is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/*
 * Check a pgpmime_encrypt output against RFC 3156 section 4 and our exact
 * layout; put the armour (BEGIN to END line, CRLF) into `armour`.
 */
static void
check_structure(const char *name, const struct buf *out, const char *boundary, struct buf *armour)
{
	struct buf head = BUF_INIT, tail = BUF_INIT, delim = BUF_INIT;
	const char *s = (const char *)out->data, *p, *end;
	size_t i, count = 0;

	buf_printf(&head,
	           "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
	           "--%s\r\n"
	           "Content-Type: application/pgp-encrypted\r\n"
	           "Content-Description: PGP/MIME version identification\r\n"
	           "\r\n"
	           "Version: 1\r\n"
	           "\r\n"
	           "--%s\r\n"
	           "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
	           "Content-Description: OpenPGP encrypted message\r\n"
	           "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
	           "\r\n",
	           boundary, boundary);
	buf_printf(&tail, "-----END PGP MESSAGE-----\r\n\r\n--%s--\r\n", boundary);
	if (out->len < head.len + tail.len || memcmp(s, head.data, head.len) != 0)
		fail_msg("%s: head: got \"%.*s\", want \"%s\"", name, (int)head.len, s,
		         buf_str(&head));
	if (memcmp(s + out->len - tail.len, tail.data, tail.len) != 0)
		fail_msg("%s: tail: got \"%s\", want \"%s\"", name, s + out->len - tail.len,
		         buf_str(&tail));
	/* CRLF everywhere: no bare LF, no bare CR, nothing after the last line end */
	for (i = 0; i < out->len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			fail_msg("%s: bare LF at byte %zu", name, i);
		if (s[i] == '\r' && (i + 1 == out->len || s[i + 1] != '\n'))
			fail_msg("%s: bare CR at byte %zu", name, i);
	}
	/* the boundary occurs in the three delimiter lines only */
	buf_printf(&delim, "--%s", boundary);
	/* memmem and memchr, bounded: strstr would be quadratic under ASan (strlen each call) */
	for (p = s; (p = memmem(p, out->len - (size_t)(p - s), delim.data, delim.len)) != NULL;
	     p += delim.len)
		count++;
	if (count != 3)
		fail_msg("%s: \"--%s\" occurs %zu times, want 3", name, boundary, count);
	/* the armour: BEGIN line, a blank line, base64 lines of up to 76, "=" CRC line, END */
	p = s + head.len;
	end = s + out->len - tail.len + strlen("-----END PGP MESSAGE-----\r\n");
	buf_reset(armour);
	buf_append(armour, p, (size_t)(end - p));
	if (memcmp(p, "-----BEGIN PGP MESSAGE-----\r\n", 29) != 0)
		fail_msg("%s: got \"%.40s\", want the armour's BEGIN line", name, p);
	p += 29;
	{
		const char *line = p, *crc = NULL;
		size_t n_lines = 0;

		while (line < end && memcmp(line, "-----END PGP MESSAGE-----\r\n", 27) != 0) {
			const char *lf = memchr(line, '\n', (size_t)(end - line));
			size_t len = (size_t)(lf - line) - 1; /* CRLF was checked above */

			if (len > 76)
				fail_msg("%s: armour line of %zu characters, want at most 76", name,
				         len);
			for (i = 0; i < len; i++)
				if (!is_b64((unsigned char)line[i]))
					fail_msg("%s: armour line \"%.*s\": got '%c', want base64",
					         name, (int)len, line, line[i]);
			if (len > 0 && line[0] == '=')
				crc = line;
			if (len > 0)
				n_lines++;
			line = lf + 1;
		}
		if (n_lines < 2 || crc == NULL || memcmp(crc + 5, "\r\n-----END", 10) != 0)
			fail_msg("%s: got %zu armour lines (CRC line %s), want data and a "
			         "5-character CRC line before END",
			         name, n_lines, crc != NULL ? "misplaced" : "missing");
	}
	buf_release(&head);
	buf_release(&tail);
	buf_release(&delim);
}

/* Encrypt e to the keys with pgpmime_encrypt into out; false and why on failure. */
static bool
encrypt_buf(const struct buf *e, const enum who *to, size_t n_to, const char *boundary,
            struct buf *out, struct why *why)
{
	const struct pgpkey *k[N_WHO];
	BIO *in = BIO_new_mem_buf(e->len ? e->data : (const void *)"", (int)e->len);
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long n;
	bool ok;
	size_t i;

	assert_non_null(in);
	assert_non_null(mem);
	for (i = 0; i < n_to; i++)
		k[i] = keys[to[i]];
	ok = pgpmime_encrypt(in, k, n_to, boundary, mem, why);
	n = BIO_get_mem_data(mem, &data);
	buf_reset(out);
	buf_append(out, data, (size_t)n);
	BIO_free(in);
	BIO_free(mem);
	return ok;
}

/*
 * Decrypt the armour with gpg in who's home (only that secret key) and
 * compare with the entity; check gpg's status: AES-256 with MDC, decrypted.
 */
static void
check_decrypt(const char *name, const struct buf *armour, enum who who, const struct buf *e)
{
	struct buf got = BUF_INIT, status = BUF_INIT;
	char cmd[8 * sizeof(home) + 256];

	file_write("msg.asc", armour->data, armour->len);
	unlink(path("plain"));
	snprintf(cmd, sizeof(cmd),
	         "gpg --homedir '%s/%s' --batch --quiet --no-tty --status-file '%s/status' "
	         "--output '%s/plain' --decrypt '%s/msg.asc' 2>'%s/gpg.err'",
	         home, who_name[who], home, home, home, home);
	if (run(cmd) != 0)
		fail_msg("%s: gpg as %s cannot decrypt (see %s/gpg.err)", name, who_name[who],
		         home);
	file_read("status", &status);
	/* DECRYPTION_INFO <mdc method> <cipher> <aead>: 2 = SHA-1 MDC, 9 = AES-256, 0 = none */
	if (strstr(buf_str(&status), "[GNUPG:] DECRYPTION_INFO 2 9 0") == NULL ||
	    strstr(buf_str(&status), "[GNUPG:] DECRYPTION_OKAY") == NULL ||
	    strstr(buf_str(&status), "[GNUPG:] GOODMDC") == NULL)
		fail_msg("%s: gpg status as %s: got\n%s\nwant AES-256 with MDC, decryption okay",
		         name, who_name[who], buf_str(&status));
	file_read("plain", &got);
	if (got.len != e->len || (got.len > 0 && memcmp(got.data, e->data, got.len) != 0)) {
		size_t i = 0;

		while (i < got.len && i < e->len && got.data[i] == e->data[i])
			i++;
		fail_msg("%s: decrypted as %s: got %zu bytes, want %zu; first difference at %zu",
		         name, who_name[who], got.len, e->len, i);
	}
	buf_release(&got);
	buf_release(&status);
}

/*
 * gpg's packet listing of the armour in home `as` (with a secret key it lists
 * the decrypted packets too), and the key ID (upper-case hex) of every PKESK,
 * in order, space-separated.
 */
static void
list_packets(const char *name, const struct buf *armour, const char *as, struct buf *ids,
             struct buf *listing)
{
	char cmd[8 * sizeof(home) + 256];
	const char *p;

	file_write("msg.asc", armour->data, armour->len);
	snprintf(cmd, sizeof(cmd),
	         "gpg --homedir '%s/%s' --batch --no-tty --list-packets '%s/msg.asc' "
	         ">'%s/packets' 2>/dev/null",
	         home, as, home, home);
	(void)run(cmd); /* without the secret key gpg lists the PKESKs and fails */
	file_read("packets", listing);
	buf_reset(ids);
	for (p = buf_str(listing); (p = strstr(p, ":pubkey enc packet:")) != NULL; p++) {
		const char *id = strstr(p, "keyid ");

		if (id == NULL)
			fail_msg("%s: PKESK without a key ID in\n%s", name, buf_str(listing));
		buf_printf(ids, "%s%.16s", ids->len ? " " : "", id + 6);
	}
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Encrypt, check, decrypt with every recipient's own key; packets as wanted. */
static void
test_encrypt_decrypt(void **state)
{
	static const struct {
		const char *name;
		enum entity_kind entity;
		enum who to[2];
		size_t n_to;
	} cases[] = {
	        {"text to bob", E_TEXT, {BOB}, 1},
	        {"text to rob", E_TEXT, {ROB}, 1},
	        {"text to bob and rob", E_TEXT, {BOB, ROB}, 2},
	        {"bytes to rob and bob", E_BYTES, {ROB, BOB}, 2},
	        {"empty to bob", E_EMPTY, {BOB}, 1},
	        {"blank line to rob", E_BLANK, {ROB}, 1},
	        {"1 MiB to bob and rob", E_MEGA, {BOB, ROB}, 2},
	};
	struct buf e = BUF_INIT, out = BUF_INIT, armour = BUF_INIT, ids = BUF_INIT,
	           listing = BUF_INIT, want_ids = BUF_INIT;
	size_t i, j;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < N_ELEMS(cases); i++) {
		char boundary[PGPMIME_BOUNDARY_MAX], fpr[81];
		struct why why = {""};

		entity_make(cases[i].entity, &e);
		pgpmime_boundary(boundary);
		if (!encrypt_buf(&e, cases[i].to, cases[i].n_to, boundary, &out, &why))
			fail_msg("%s: got false (%s), want true", cases[i].name, why.msg);
		check_structure(cases[i].name, &out, boundary, &armour);
		/* one PKESK per recipient, to its encryption subkey (fingerprint line 1) */
		buf_reset(&want_ids);
		for (j = 0; j < cases[i].n_to; j++) {
			fpr_of(who_name[cases[i].to[j]], 1, fpr, sizeof(fpr));
			buf_printf(&want_ids, "%s%s", j ? " " : "", fpr + strlen(fpr) - 16);
		}
		list_packets(cases[i].name, &armour, who_name[cases[i].to[0]], &ids, &listing);
		if (strcmp(buf_str(&ids), buf_str(&want_ids)) != 0)
			fail_msg("%s: PKESK key IDs: got \"%s\", want \"%s\"", cases[i].name,
			         buf_str(&ids), buf_str(&want_ids));
		/* no compression: the literal packet (binary, no name) sits right in the SEIPD */
		if (strstr(buf_str(&listing), ":compressed packet:") != NULL ||
		    strstr(buf_str(&listing), ":literal data packet:\n\tmode b (62), created 0, "
		                              "name=\"\"") == NULL)
			fail_msg("%s: packets: got\n%s\nwant an uncompressed binary literal packet",
			         cases[i].name, buf_str(&listing));
		for (j = 0; j < cases[i].n_to; j++)
			check_decrypt(cases[i].name, &armour, cases[i].to[j], &e);
	}
	buf_release(&e);
	buf_release(&out);
	buf_release(&armour);
	buf_release(&ids);
	buf_release(&listing);
	buf_release(&want_ids);
}

/* The entity BIO of lib/mail/message.c (LF body made CRLF) goes in as it reads. */
static void
test_message_entity(void **state)
{
	static const char body[] = "line one\nline two\r\n\nend";
	struct message *m;
	struct buf e = BUF_INIT, out = BUF_INIT, armour = BUF_INIT;
	const struct pgpkey *to[1];
	char boundary[PGPMIME_BOUNDARY_MAX], chunk[4096];
	struct why why = {""};
	BIO *in, *mem;
	char *data;
	long n;
	int r;

	(void)state;
	if (!ready)
		skip();
	m = message_new(8, NULL); /* a tiny threshold: the body is spooled to a file */
	message_add_header(m, "From", "alice@secure.test");
	message_add_header(m, "Content-Type", "text/plain; charset=us-ascii");
	message_add_header(m, "Subject", "secret");
	if (!message_append_body(m, (const uint8_t *)body, sizeof(body) - 1, &why))
		fail_msg("append: %s", why.msg);
	/* what the entity BIO reads is what must come out of gpg */
	if ((in = message_entity_bio(m, true, &why)) == NULL)
		fail_msg("entity: %s", why.msg);
	while ((r = BIO_read(in, chunk, sizeof(chunk))) > 0)
		buf_append(&e, chunk, (size_t)r);
	BIO_free(in);
	if ((in = message_entity_bio(m, true, &why)) == NULL)
		fail_msg("entity: %s", why.msg);
	m = message_free(m); /* the BIO keeps its own copy */
	mem = BIO_new(BIO_s_mem());
	to[0] = keys[BOB];
	pgpmime_boundary(boundary);
	if (!pgpmime_encrypt(in, to, 1, boundary, mem, &why))
		fail_msg("got false (%s), want true", why.msg);
	n = BIO_get_mem_data(mem, &data);
	buf_append(&out, data, (size_t)n);
	check_structure("message entity", &out, boundary, &armour);
	check_decrypt("message entity", &armour, BOB, &e);
	if (strstr(buf_str(&e), "Subject: secret\r\n") == NULL || strstr(buf_str(&e), "From:"))
		fail_msg("entity: got \"%s\", want Content-Type and Subject only", buf_str(&e));
	BIO_free(in);
	BIO_free(mem);
	buf_release(&e);
	buf_release(&out);
	buf_release(&armour);
}

/*
 * Cara has two encryption subkeys: the newer (on a tie of creation times, the
 * later one) is used, as pgpkey_info_get says.
 */
static void
test_subkey_choice(void **state)
{
	struct buf e = BUF_INIT, out = BUF_INIT, armour = BUF_INIT, ids = BUF_INIT,
	           listing = BUF_INIT;
	enum who to[1] = {CARA};
	struct pgpkey_info info;
	char boundary[PGPMIME_BOUNDARY_MAX], newer[81];
	struct why why = {""};

	(void)state;
	if (!ready)
		skip();
	fpr_of("cara", 2, newer, sizeof(newer));
	pgpkey_info_get(&info, keys[CARA], time(NULL));
	if (!info.has_encryption_key || strcmp(info.enc_fingerprint, newer) != 0)
		fail_msg("pgpkey_info_get: got %s, want %s", info.enc_fingerprint, newer);
	entity_make(E_TEXT, &e);
	pgpmime_boundary(boundary);
	if (!encrypt_buf(&e, to, 1, boundary, &out, &why))
		fail_msg("got false (%s), want true", why.msg);
	check_structure("cara", &out, boundary, &armour);
	list_packets("cara", &armour, "none", &ids, &listing);
	if (strcmp(buf_str(&ids), newer + strlen(newer) - 16) != 0)
		fail_msg("PKESK key ID: got \"%s\", want \"%s\" (the second subkey)", buf_str(&ids),
		         newer + strlen(newer) - 16);
	pgpkey_info_clear(&info);
	buf_release(&e);
	buf_release(&out);
	buf_release(&armour);
	buf_release(&ids);
	buf_release(&listing);
}

/* ---- failing streams ----------------------------------------------------------------------- */

/* A BIO that yields `budget` bytes of 'x' and then fails (read) or refuses writes (write). */
struct failing {
	size_t budget;
};

static int
failing_read(BIO *bio, char *data, size_t dlen, size_t *readbytes)
{
	struct failing *f = BIO_get_data(bio);
	size_t n = dlen < f->budget ? dlen : f->budget;

	*readbytes = 0;
	if (n == 0) {
		ERR_raise_data(ERR_LIB_SYS, EIO, "the disk is on fire");
		return -1;
	}
	memset(data, 'x', n);
	f->budget -= n;
	*readbytes = n;
	return 1;
}

static int
failing_write(BIO *bio, const char *data, size_t dlen, size_t *written)
{
	struct failing *f = BIO_get_data(bio);
	size_t n = dlen < f->budget ? dlen : f->budget;

	(void)data;
	*written = 0;
	if (n == 0)
		return 0;
	f->budget -= n;
	*written = n;
	return 1;
}

static long
failing_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* never at its end */
}

static BIO *
failing_new(BIO_METHOD **meth, struct failing *f)
{
	BIO *bio;

	*meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "test failing");
	assert_non_null(*meth);
	BIO_meth_set_read_ex(*meth, failing_read);
	BIO_meth_set_write_ex(*meth, failing_write);
	BIO_meth_set_ctrl(*meth, failing_ctrl);
	bio = BIO_new(*meth);
	assert_non_null(bio);
	BIO_set_data(bio, f);
	BIO_set_init(bio, 1);
	return bio;
}

static void
test_read_error(void **state)
{
	static const size_t budgets[] = {0, 10, 100000, 3000000}; /* before and after output */
	size_t i;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < N_ELEMS(budgets); i++) {
		struct failing f = {budgets[i]};
		BIO_METHOD *meth;
		BIO *in = failing_new(&meth, &f), *mem = BIO_new(BIO_s_mem());
		const struct pgpkey *to[2] = {keys[BOB], keys[ROB]};
		char boundary[PGPMIME_BOUNDARY_MAX], close_delim[PGPMIME_BOUNDARY_MAX + 4];
		char *data = NULL;
		struct why why = {""};
		long n;
		bool ok;

		pgpmime_boundary(boundary);
		ok = pgpmime_encrypt(in, to, 2, boundary, mem, &why);
		if (ok || strstr(why.msg, "cannot read the entity") == NULL ||
		    strstr(why.msg, "the disk is on fire") == NULL)
			fail_msg("fail after %zu bytes: got %d (%s), want false (cannot read the "
			         "entity ... the disk is on fire)",
			         budgets[i], ok, why.msg);
		/* never a complete-looking message, even partly written */
		snprintf(close_delim, sizeof(close_delim), "--%s--", boundary);
		n = BIO_get_mem_data(mem, &data);
		if (n > 0 && data != NULL &&
		    (memmem(data, (size_t)n, "-----END PGP MESSAGE-----", 25) != NULL ||
		     memmem(data, (size_t)n, close_delim, strlen(close_delim)) != NULL))
			fail_msg("fail after %zu bytes: the output (%ld bytes) has an end",
			         budgets[i], n);
		if (ERR_peek_error() != 0)
			fail_msg("fail after %zu bytes: the OpenSSL error queue is not empty",
			         budgets[i]);
		BIO_free(in);
		BIO_free(mem);
		BIO_meth_free(meth);
	}
}

static void
test_write_error(void **state)
{
	static const size_t budgets[] = {0, 100, 20000, 700000};
	struct buf e = BUF_INIT;
	size_t i;

	(void)state;
	if (!ready)
		skip();
	entity_make(E_MEGA, &e);
	for (i = 0; i < N_ELEMS(budgets); i++) {
		struct failing f = {budgets[i]};
		BIO_METHOD *meth;
		BIO *out = failing_new(&meth, &f), *in = BIO_new_mem_buf(e.data, (int)e.len);
		const struct pgpkey *to[1] = {keys[BOB]};
		char boundary[PGPMIME_BOUNDARY_MAX];
		struct why why = {""};
		bool ok;

		pgpmime_boundary(boundary);
		ok = pgpmime_encrypt(in, to, 1, boundary, out, &why);
		if (ok || strcmp(why.msg, "cannot write the encrypted message") != 0)
			fail_msg("fail after %zu bytes: got %d (%s), want false (cannot write the "
			         "encrypted message)",
			         budgets[i], ok, why.msg);
		BIO_free(in);
		BIO_free(out);
		BIO_meth_free(meth);
	}
	buf_release(&e);
}

/* Refusals: keys that cannot encrypt, missing arguments, bad boundaries. */
static void
test_refusals(void **state)
{
	static const char long_boundary[] =
	        "0123456789012345678901234567890123456789012345678901234567890123456789x";
	const struct pgpkey *bob_x[2], *x_only[1], *with_null[2];
	static const struct {
		const char *name;
		int keyset; /* 0: bob, x; 1: x; 2: bob, NULL; 3: none (NULL, 0) */
		const char *boundary;
		bool no_in, no_out;
		const char *want;
	} cases[] = {
	        {"sign-only key", 1, "b", false, false,
	         "recipient 1: no valid, unexpired, unrevoked key that may encrypt"},
	        {"second key sign-only", 0, "b", false, false,
	         "recipient 2: no valid, unexpired, unrevoked key that may encrypt"},
	        {"a NULL key", 2, "b", false, false, "recipient 2: no key"},
	        {"no keys", 3, "b", false, false, "no recipient keys"},
	        {"no input", 1, "b", true, false, "no entity or no output"},
	        {"no output", 1, "b", false, true, "no entity or no output"},
	        {"NULL boundary", 1, NULL, false, false, "not a valid MIME boundary"},
	        {"empty boundary", 1, "", false, false, "not a valid MIME boundary"},
	        {"71 characters", 1, long_boundary, false, false, "not a valid MIME boundary"},
	        {"CRLF in boundary", 1, "a\r\nb", false, false, "not a valid MIME boundary"},
	        {"quote in boundary", 1, "a\"b", false, false, "not a valid MIME boundary"},
	        {"space at the end", 1, "ab ", false, false, "not a valid MIME boundary"},
	};
	struct buf e = BUF_INIT;
	size_t i;

	(void)state;
	if (!ready)
		skip();
	bob_x[0] = keys[BOB], bob_x[1] = keys[X];
	x_only[0] = keys[X];
	with_null[0] = keys[BOB], with_null[1] = NULL;
	entity_make(E_TEXT, &e);
	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct pgpkey *const *k = cases[i].keyset == 0   ? bob_x
		                                : cases[i].keyset == 1 ? x_only
		                                : cases[i].keyset == 2 ? with_null
		                                                       : NULL;
		size_t n_k = cases[i].keyset == 1 ? 1 : cases[i].keyset == 3 ? 0 : 2;
		BIO *in = BIO_new_mem_buf(e.data, (int)e.len), *out = BIO_new(BIO_s_mem());
		struct why why = {""};
		bool ok;

		ok = pgpmime_encrypt(cases[i].no_in ? NULL : in, k, n_k, cases[i].boundary,
		                     cases[i].no_out ? NULL : out, &why);
		if (ok || strcmp(why.msg, cases[i].want) != 0)
			fail_msg("%s: got %d (%s), want false (%s)", cases[i].name, ok, why.msg,
			         cases[i].want);
		BIO_free(in);
		BIO_free(out);
	}
	/* a valid boundary of our own making with every kind of bchar works */
	{
		enum who to[1] = {BOB};
		struct buf out = BUF_INIT, armour = BUF_INIT;
		const char *b = "x'()+_,-./:=? y";
		struct why why = {""};

		if (!encrypt_buf(&e, to, 1, b, &out, &why))
			fail_msg("boundary \"%s\": got false (%s), want true", b, why.msg);
		check_structure("all bchars", &out, b, &armour);
		buf_release(&out);
		buf_release(&armour);
	}
	buf_release(&e);
}

static void
test_boundary(void **state)
{
	enum { N = 200 };
	static char seen[N][PGPMIME_BOUNDARY_MAX];
	size_t i, j, k;

	(void)state;
	for (i = 0; i < N; i++) {
		char *b = seen[i];
		size_t n;

		pgpmime_boundary(b);
		n = strlen(b);
		if (n == 0 || n > 63)
			fail_msg("\"%s\": got %zu characters, want 1 to 63", b, n);
		/* "=_" and "." cannot occur in a base64 armour line */
		if (strstr(b, "=_") == NULL || strchr(b, '.') == NULL)
			fail_msg("\"%s\": want \"=_\" and \".\" in it", b);
		for (k = 0; k < n; k++)
			if (strchr("0123456789abcdefghijklmnopqrstuvwxyz"
			           "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?",
			           b[k]) == NULL)
				fail_msg("\"%s\": got '%c', want an RFC 2046 bchar", b, b[k]);
		for (j = 0; j < i; j++)
			if (strcmp(seen[j], b) == 0)
				fail_msg("\"%s\" made twice", b);
	}
}

static void
test_content_type(void **state)
{
	static const char want[] =
	        "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"=_b.1\"";
	char got[256], small[11];

	(void)state;
	pgpmime_content_type(got, sizeof(got), "=_b.1");
	if (strcmp(got, want) != 0)
		fail_msg("got %s, want %s", got, want);
	memset(small, 'Z', sizeof(small));
	pgpmime_content_type(small, 10, "=_b.1");
	if (strcmp(small, "multipart") != 0 || small[10] != 'Z')
		fail_msg(
		        "size 10: got \"%.10s\" (byte 10 '%c'), want \"multipart\" untouched after",
		        small, small[10]);
	pgpmime_content_type(small, 0, "=_b.1"); /* nothing written, no crash */
}

/* ---- threads ------------------------------------------------------------------------------- */

enum { N_THREADS = 4, PER_THREAD = 8 };

struct worker {
	struct pgpkey *key; /* the thread's own parse of Bob's key */
	struct buf last;    /* its last output's armour */
	char boundary[PGPMIME_BOUNDARY_MAX];
	int failures;
	struct why why;
};

static struct buf thread_entity;

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	const struct pgpkey *to[1] = {w->key};
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		BIO *in = BIO_new_mem_buf(thread_entity.data, (int)thread_entity.len);
		BIO *mem = BIO_new(BIO_s_mem());
		char *data;
		long n;

		pgpmime_boundary(w->boundary);
		if (in == NULL || mem == NULL ||
		    !pgpmime_encrypt(in, to, 1, w->boundary, mem, &w->why)) {
			w->failures++;
		} else {
			n = BIO_get_mem_data(mem, &data);
			buf_reset(&w->last);
			buf_append(&w->last, data, (size_t)n);
		}
		BIO_free(in);
		BIO_free(mem);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	static struct worker workers[N_THREADS];
	pthread_t tids[N_THREADS];
	struct buf data = BUF_INIT, armour = BUF_INIT;
	struct why why = {""};
	size_t i;

	(void)state;
	if (!ready)
		skip();
	entity_make(E_TEXT, &thread_entity);
	file_read("bob.gpg", &data);
	for (i = 0; i < N_THREADS; i++) {
		if ((workers[i].key = pgpkey_parse(data.data, data.len, &why)) == NULL)
			fail_msg("parse: %s", why.msg);
		if (pthread_create(&tids[i], NULL, worker_run, &workers[i]) != 0)
			fail_msg("pthread_create failed");
	}
	for (i = 0; i < N_THREADS; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < N_THREADS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "thread %zu", i);
		if (workers[i].failures != 0)
			fail_msg("%s: %d of %d failed (%s)", name, workers[i].failures, PER_THREAD,
			         workers[i].why.msg);
		check_structure(name, &workers[i].last, workers[i].boundary, &armour);
		check_decrypt(name, &armour, BOB, &thread_entity);
		workers[i].key = pgpkey_free(workers[i].key);
		buf_release(&workers[i].last);
	}
	buf_release(&thread_entity);
	buf_release(&data);
	buf_release(&armour);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_encrypt_decrypt), cmocka_unit_test(test_message_entity),
	        cmocka_unit_test(test_subkey_choice),   cmocka_unit_test(test_read_error),
	        cmocka_unit_test(test_write_error),     cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_boundary),        cmocka_unit_test(test_content_type),
	        cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("pgpmime", tests, group_setup, group_teardown);
}
