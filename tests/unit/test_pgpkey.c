/*
 * test_pgpkey.c - unit tests for lib/mail/pgpkey.c: keys are made here with
 * gpg in a throw-away GNUPGHOME (Curve25519 and RSA keys, a sign-only key, a
 * key that expires in a day, a revoked key, a key with a revoked user ID, a
 * key with two encryption subkeys, a key certified by another), exported
 * binary, armoured, minimal and secret, then parsed, described and judged
 * (RFC 4880 section 11.1 transferable public keys, RFC 7929 OPENPGPKEY
 * rules).  Without gpg the tests are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mail/pgpkey.h"
#include "util/buf.h"
#include "util/why.h"

#define DAY  ((time_t)86400)
#define YEAR (365 * DAY) /* gpg's "1y" */

static char home[] = "/tmp/test_pgpkey.XXXXXX";
static bool home_made; /* mkdtemp ran: there is something to clean up */
static bool ready;     /* keys were made; false: gpg missing, tests skip */

/*
 * Make the keys.  Runs under sh with the GNUPGHOME as $1; each key's
 * fingerprints (primary first, then subkeys in key order) go to NAME.fpr.
 */
static const char gen_script[] =
        "set -e\n"
        "H=$1\n"
        "g() { gpg --homedir \"$H\" --batch --quiet --no-tty --pinentry-mode loopback "
        "--passphrase '' \"$@\"; }\n"
        "fpr() { g --with-colons --list-keys \"$1\" | awk -F: '/^fpr/ {print $10}'; }\n"
        "cd \"$H\"\n"
        /* Rob: RSA 3072 primary (sign, certify) and RSA 3072 encryption subkey */
        "g --quick-gen-key 'Rob <rob@secure.test>' rsa3072 default 1y\n"
        "g --quick-add-key \"$(fpr rob@secure.test | head -1)\" rsa3072 encr 1y\n"
        /* Bob: Ed25519 + Cv25519, his user ID certified by Rob (a third-party signature) */
        "g --quick-gen-key 'Bob <bob@secure.test>' future-default default 1y\n"
        "g -u \"$(fpr rob@secure.test | head -1)\" --quick-sign-key "
        "\"$(fpr bob@secure.test | head -1)\"\n"
        /* X: sign-only, no encryption subkey */
        "g --quick-gen-key 'X <x@secure.test>' ed25519 sign 1y\n"
        /* Dave: expires in a day */
        "g --quick-gen-key 'Dave <dave@secure.test>' future-default default 1d\n"
        /* Eve: revoked with the revocation certificate gpg stored */
        "g --quick-gen-key 'Eve <eve@secure.test>' future-default default 1y\n"
        "sed 's/^://' \"openpgp-revocs.d/$(fpr eve@secure.test | head -1).rev\" | g --import\n"
        /* Carol: sign-only primary, then a 1y and a 1d encryption subkey */
        "g --quick-gen-key 'Carol <carol@secure.test>' ed25519 sign 1y\n"
        "g --quick-add-key \"$(fpr carol@secure.test | head -1)\" cv25519 encr 1y\n"
        "g --quick-add-key \"$(fpr carol@secure.test | head -1)\" cv25519 encr 1d\n"
        /* Fay: her first user ID revoked, a second one valid */
        "g --quick-gen-key 'Fay <fay@secure.test>' future-default default 1y\n"
        "g --quick-add-uid fay@secure.test 'Fay Other <fay@other.test>'\n"
        "g --quick-revoke-uid fay@other.test 'Fay <fay@secure.test>'\n"
        /* Gil: armour's header text in his (binary) user ID; librnp mistakes it for armour */
        "g --quick-gen-key 'Gil -----BEGIN PGP MESSAGE----- <gil@secure.test>' future-default "
        "default 1y\n"
        "for k in rob bob x dave eve carol fay gil; do\n"
        "  g --export $k@secure.test > $k.gpg\n"
        "  fpr $k@secure.test > $k.fpr\n"
        "done\n"
        "g --export fay@other.test > fay.gpg\n"
        "fpr fay@other.test > fay.fpr\n"
        "g --export --armor bob@secure.test > bob.asc\n"
        "g --export-options export-minimal --export bob@secure.test > bob-min.gpg\n"
        "g --export-secret-keys bob@secure.test > bob-secret.gpg\n"
        "g --export-secret-keys --armor bob@secure.test > bob-secret.asc\n"
        "cat bob.gpg rob.gpg > two.gpg\n"
        "echo hello | g --trust-model always -e -r bob@secure.test > msg.gpg\n";

static int
group_setup(void **state)
{
	char cmd[sizeof(home) + 256];
	FILE *sh;

	(void)state;
	if (system("gpg --version >/dev/null 2>&1") != 0)
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
		if (system(cmd) != 0)
			fprintf(stderr, "key generation failed\n");
		return -1;
	}
	ready = true;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[2 * sizeof(home) + 128];

	(void)state;
	if (!home_made)
		return 0;
	snprintf(cmd, sizeof(cmd), "gpgconf --homedir '%s' --kill all >/dev/null 2>&1; rm -rf '%s'",
	         home, home);
	return system(cmd) == 0 ? 0 : -1;
}

static void
file_read(const char *name, struct buf *out)
{
	char path[sizeof(home) + 64], chunk[4096];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", home, name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(out, chunk, n);
	fclose(fp);
}

/* Line i (0: primary key) of NAME.fpr, as gpg printed it (upper-case hex). */
static const char *
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
	return dst;
}

static struct pgpkey *
key_load(const char *file)
{
	struct buf data = BUF_INIT;
	struct why why = {""};
	struct pgpkey *key;

	file_read(file, &data);
	key = pgpkey_parse(data.data, data.len, &why);
	if (key == NULL)
		fail_msg("parse %s: got NULL (%s), want a key", file, why.msg);
	buf_release(&data);
	return key;
}

/*
 * Count the packets with this tag in binary OpenPGP data (RFC 4880 section
 * 4.2: old and new headers), failing on anything malformed.
 */
static size_t
packet_count(const uint8_t *p, size_t n, unsigned want_tag)
{
	size_t i = 0, count = 0, len = 0, k, lenlen;

	while (i < n) {
		uint8_t h = p[i++];
		unsigned tag;

		if (!(h & 0x80))
			fail_msg("byte %zu: got 0x%02x, want a packet header", i - 1, h);
		if (h & 0x40) { /* new format */
			tag = h & 0x3f;
			if (i >= n)
				fail_msg("truncated header");
			if (p[i] < 192)
				len = p[i++];
			else if (p[i] < 224 && i + 1 < n)
				len = ((size_t)(p[i] - 192) << 8) + p[i + 1] + 192, i += 2;
			else if (p[i] == 255 && i + 4 < n)
				len = (size_t)p[i + 1] << 24 | (size_t)p[i + 2] << 16 |
				      (size_t)p[i + 3] << 8 | p[i + 4],
				i += 5;
			else
				fail_msg("partial or truncated length at byte %zu", i);
		} else { /* old format */
			tag = (h >> 2) & 0x0f;
			if ((h & 3) == 3)
				fail_msg("indeterminate length at byte %zu", i - 1);
			lenlen = (size_t)1 << (h & 3);
			if (i + lenlen > n)
				fail_msg("truncated length");
			for (len = 0, k = 0; k < lenlen; k++)
				len = len << 8 | p[i + k];
			i += lenlen;
		}
		if (len > n - i)
			fail_msg("packet at byte %zu runs past the end", i);
		i += len;
		if (tag == want_tag)
			count++;
	}
	return count;
}

#define SIGNATURE_PACKET 2

static void
test_parse_forms(void **state)
{
	static const char *files[] = {"bob.gpg", "bob.asc", "bob-min.gpg"};
	char want_fpr[81], want_sub[81];
	size_t i;

	(void)state;
	if (!ready)
		skip();
	fpr_of("bob", 0, want_fpr, sizeof(want_fpr));
	fpr_of("bob", 1, want_sub, sizeof(want_sub));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pgpkey *key = key_load(files[i]);
		struct pgpkey_info info;

		pgpkey_info_get(&info, key, time(NULL));
		if (strcmp(info.fingerprint, want_fpr) != 0)
			fail_msg("%s: fingerprint: got %s, want %s", files[i], info.fingerprint,
			         want_fpr);
		if (strcmp(info.algorithm, "EDDSA") != 0 || info.bits != 255)
			fail_msg("%s: key: got %s %d, want EDDSA 255", files[i], info.algorithm,
			         info.bits);
		if (info.n_uids != 1 || strcmp(info.uids[0], "Bob <bob@secure.test>") != 0 ||
		    info.uids[1] != NULL)
			fail_msg("%s: user IDs: got %zu (%s), want 1 (Bob <bob@secure.test>)",
			         files[i], info.n_uids, info.n_uids ? info.uids[0] : "");
		if (info.revoked || info.created == 0 || info.expires != info.created + YEAR)
			fail_msg("%s: got revoked %d created %lld expires %lld, want 0, >0, +1y",
			         files[i], info.revoked, (long long)info.created,
			         (long long)info.expires);
		if (!info.has_encryption_key || strcmp(info.enc_fingerprint, want_sub) != 0 ||
		    strcmp(info.enc_algorithm, "ECDH") != 0 || info.enc_bits != 255 ||
		    info.enc_expires != 0)
			fail_msg("%s: encryption key: got %d %s %s %d %lld, want 1 %s ECDH 255 0",
			         files[i], info.has_encryption_key, info.enc_fingerprint,
			         info.enc_algorithm, info.enc_bits, (long long)info.enc_expires,
			         want_sub);
		pgpkey_info_clear(&info);
		assert_null(pgpkey_free(key));
	}
}

static void
test_rsa_info(void **state)
{
	struct pgpkey *key;
	struct pgpkey_info info;
	char want_fpr[81], want_sub[81];

	(void)state;
	if (!ready)
		skip();
	key = key_load("rob.gpg");
	pgpkey_info_get(&info, key, time(NULL));
	fpr_of("rob", 0, want_fpr, sizeof(want_fpr));
	fpr_of("rob", 1, want_sub, sizeof(want_sub));
	if (strcmp(info.fingerprint, want_fpr) != 0 || strcmp(info.algorithm, "RSA") != 0 ||
	    info.bits != 3072)
		fail_msg("rob: got %s %s %d, want %s RSA 3072", info.fingerprint, info.algorithm,
		         info.bits, want_fpr);
	if (!info.has_encryption_key || strcmp(info.enc_fingerprint, want_sub) != 0 ||
	    strcmp(info.enc_algorithm, "RSA") != 0 || info.enc_bits != 3072 ||
	    info.enc_expires < info.created + YEAR)
		fail_msg("rob: encryption key: got %d %s %s %d %lld, want 1 %s RSA 3072 >=+1y",
		         info.has_encryption_key, info.enc_fingerprint, info.enc_algorithm,
		         info.enc_bits, (long long)info.enc_expires, want_sub);
	pgpkey_info_clear(&info);
	pgpkey_free(key);
}

static void
test_check_verdicts(void **state)
{
	static const struct {
		const char *file;
		const char *address; /* NULL: no user ID check */
		time_t later;        /* seconds after now */
		enum pgpkey_usable want;
	} rows[] = {
	        {"bob.gpg", "bob@secure.test", 0, PGPKEY_USABLE_OK},
	        {"bob.asc", "bob@secure.test", 0, PGPKEY_USABLE_OK},
	        {"bob.gpg", "bob@SECURE.Test", 0, PGPKEY_USABLE_OK},     /* domain: any case */
	        {"bob.gpg", "Bob@secure.test", 0, PGPKEY_USABLE_NO_UID}, /* local part: exact */
	        {"bob.gpg", "ob@secure.test", 0, PGPKEY_USABLE_NO_UID},
	        {"bob.gpg", "bob@secure.tes", 0, PGPKEY_USABLE_NO_UID},
	        {"bob.gpg", "alice@secure.test", 0, PGPKEY_USABLE_NO_UID},
	        {"bob.gpg", NULL, 0, PGPKEY_USABLE_OK},
	        {"bob.gpg", "bob@secure.test", 400 * DAY, PGPKEY_USABLE_EXPIRED},
	        {"rob.gpg", "rob@secure.test", 0, PGPKEY_USABLE_OK},
	        {"x.gpg", "x@secure.test", 0, PGPKEY_USABLE_NO_ENCRYPTION_KEY},
	        {"dave.gpg", "dave@secure.test", 0, PGPKEY_USABLE_OK},
	        {"dave.gpg", "dave@secure.test", 2 * DAY, PGPKEY_USABLE_EXPIRED},
	        {"eve.gpg", "eve@secure.test", 0, PGPKEY_USABLE_REVOKED},
	        {"eve.gpg", NULL, 0, PGPKEY_USABLE_REVOKED},
	        {"carol.gpg", "carol@secure.test", 0, PGPKEY_USABLE_OK},
	        {"gil.gpg", "gil@secure.test", 0, PGPKEY_USABLE_OK},
	        {"carol.gpg", "carol@secure.test", 2 * DAY, PGPKEY_USABLE_OK},
	        {"fay.gpg", "fay@secure.test", 0, PGPKEY_USABLE_NO_UID}, /* revoked user ID */
	        {"fay.gpg", "fay@other.test", 0, PGPKEY_USABLE_OK},
	};
	time_t now = time(NULL);
	size_t i;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pgpkey *key = key_load(rows[i].file);
		struct why why = {""};
		enum pgpkey_usable got;

		got = pgpkey_check(key, rows[i].address, now + rows[i].later, &why);
		if (got != rows[i].want)
			fail_msg("%s for %s at +%llds: got %s (%s), want %s", rows[i].file,
			         rows[i].address ? rows[i].address : "(any)",
			         (long long)rows[i].later, pgpkey_usable_name(got), why.msg,
			         pgpkey_usable_name(rows[i].want));
		if (got != PGPKEY_USABLE_OK && why.msg[0] == '\0')
			fail_msg("%s: verdict %s without a reason", rows[i].file,
			         pgpkey_usable_name(got));
		pgpkey_free(key);
	}
}

/* The newest valid encryption subkey wins; an expired one is passed over. */
static void
test_subkey_choice(void **state)
{
	static const struct {
		const char *file;
		time_t later;
		int want_sub; /* line of NAME.fpr; -1: no encryption key */
		time_t want_enc_life;
	} rows[] = {
	        {"carol", 0, 2, DAY},        /* both valid, same age: the later one */
	        {"carol", 2 * DAY, 1, YEAR}, /* the 1d subkey has expired */
	        {"carol", 400 * DAY, -1, 0}, /* everything has */
	        {"dave", 2 * DAY, -1, 0},    /* the primary key has expired */
	        {"eve", 0, -1, 0},           /* revoked */
	        {"x", 0, -1, 0},             /* sign-only */
	};
	time_t now = time(NULL);
	size_t i;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char file[32], want[81] = "";
		struct pgpkey *key;
		struct pgpkey_info info;

		snprintf(file, sizeof(file), "%s.gpg", rows[i].file);
		key = key_load(file);
		pgpkey_info_get(&info, key, now + rows[i].later);
		if (rows[i].want_sub >= 0)
			fpr_of(rows[i].file, rows[i].want_sub, want, sizeof(want));
		if (info.has_encryption_key != (rows[i].want_sub >= 0) ||
		    strcmp(info.enc_fingerprint, want) != 0)
			fail_msg("%s at +%llds: got %d \"%s\", want %d \"%s\"", file,
			         (long long)rows[i].later, info.has_encryption_key,
			         info.enc_fingerprint, rows[i].want_sub >= 0, want);
		if (rows[i].want_sub >= 0 &&
		    info.enc_expires - info.created < rows[i].want_enc_life)
			fail_msg("%s at +%llds: encryption key expires %lld, want created + %lld",
			         file, (long long)rows[i].later, (long long)info.enc_expires,
			         (long long)rows[i].want_enc_life);
		pgpkey_info_clear(&info);
		pgpkey_free(key);
	}
}

static void
test_revoked_and_uids_info(void **state)
{
	struct pgpkey *key;
	struct pgpkey_info info;

	(void)state;
	if (!ready)
		skip();
	key = key_load("eve.gpg");
	pgpkey_info_get(&info, key, time(NULL));
	if (!info.revoked || info.has_encryption_key)
		fail_msg("eve: got revoked %d encryption key %d, want 1 0", info.revoked,
		         info.has_encryption_key);
	pgpkey_info_clear(&info);
	pgpkey_free(key);

	/* every user ID is listed, revoked ones too */
	key = key_load("fay.gpg");
	pgpkey_info_get(&info, key, time(NULL));
	if (info.n_uids != 2 || strcmp(info.uids[0], "Fay <fay@secure.test>") != 0 ||
	    strcmp(info.uids[1], "Fay Other <fay@other.test>") != 0 || info.uids[2] != NULL)
		fail_msg("fay: got %zu user IDs (%s, %s), want 2", info.n_uids,
		         info.n_uids > 0 ? info.uids[0] : "", info.n_uids > 1 ? info.uids[1] : "");
	pgpkey_info_clear(&info);
	pgpkey_free(key);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *name;
		const char *file; /* NULL: use bytes */
		const char *bytes;
		size_t len;
		const char *want_in_why;
	} rows[] = {
	        {"secret key", "bob-secret.gpg", NULL, 0, "secret key"},
	        {"armoured secret key", "bob-secret.asc", NULL, 0, "secret key"},
	        {"two keys", "two.gpg", NULL, 0, "2 primary keys"},
	        {"message", "msg.gpg", NULL, 0, "message"},
	        {"garbage", NULL, "this is not a key\n", 18, "not OpenPGP"},
	        {"empty", NULL, "", 0, "empty"},
	        {"truncated key", "bob.gpg", NULL, 100, "bad OpenPGP key"},
	        {"armour without body", NULL,
	         "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n", 73,
	         ""},
	};
	size_t i;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf data = BUF_INIT;
		struct why why = {""};
		struct pgpkey *key;

		if (rows[i].file != NULL) {
			file_read(rows[i].file, &data);
			if (rows[i].len != 0)
				data.len = rows[i].len;
		} else {
			buf_append(&data, rows[i].bytes, rows[i].len);
		}
		key = pgpkey_parse(data.data, data.len, &why);
		if (key != NULL)
			fail_msg("%s: got a key, want NULL", rows[i].name);
		if (why.msg[0] == '\0' || strstr(why.msg, rows[i].want_in_why) == NULL)
			fail_msg("%s: got why \"%s\", want it to contain \"%s\"", rows[i].name,
			         why.msg, rows[i].want_in_why);
		buf_release(&data);
	}
}

/* RFC 7929: records carry minimal keys; the export must parse back to the same key. */
static void
test_export_minimal(void **state)
{
	static const char *names[] = {"bob", "rob", "carol", "fay"};
	struct buf full = BUF_INIT, gpg_min = BUF_INIT;
	size_t i;

	(void)state;
	if (!ready)
		skip();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char file[32];
		struct pgpkey *key, *again;
		struct pgpkey_info a, b;
		struct buf out = BUF_INIT;
		struct why why = {""};

		snprintf(file, sizeof(file), "%s.gpg", names[i]);
		key = key_load(file);
		if (!pgpkey_export_minimal(key, &out, &why))
			fail_msg("%s: export: %s", names[i], why.msg);
		again = pgpkey_parse(out.data, out.len, &why);
		if (again == NULL)
			fail_msg("%s: parse of the export: %s", names[i], why.msg);
		pgpkey_info_get(&a, key, time(NULL));
		pgpkey_info_get(&b, again, time(NULL));
		if (strcmp(a.fingerprint, b.fingerprint) != 0 || a.n_uids != b.n_uids ||
		    strcmp(a.enc_fingerprint, b.enc_fingerprint) != 0)
			fail_msg("%s: round trip: got %s/%zu/%s, want %s/%zu/%s", names[i],
			         b.fingerprint, b.n_uids, b.enc_fingerprint, a.fingerprint,
			         a.n_uids, a.enc_fingerprint);
		if (pgpkey_check(key, NULL, time(NULL), NULL) !=
		    pgpkey_check(again, NULL, time(NULL), NULL))
			fail_msg("%s: round trip changed the verdict", names[i]);
		pgpkey_info_clear(&a);
		pgpkey_info_clear(&b);
		pgpkey_free(again);
		pgpkey_free(key);
		buf_release(&out);
	}

	/* Bob's user ID carries Rob's certification: the minimal export drops it, as gpg does */
	{
		struct pgpkey *key = key_load("bob.gpg");
		struct buf out = BUF_INIT;
		size_t n_full, n_min, n_gpg;

		file_read("bob.gpg", &full);
		file_read("bob-min.gpg", &gpg_min);
		assert_true(pgpkey_export_minimal(key, &out, NULL));
		n_full = packet_count(full.data, full.len, SIGNATURE_PACKET);
		n_min = packet_count(out.data, out.len, SIGNATURE_PACKET);
		n_gpg = packet_count(gpg_min.data, gpg_min.len, SIGNATURE_PACKET);
		if (n_full != 3 || n_min != n_gpg || n_min != 2)
			fail_msg("bob: signatures: got full/minimal/gpg %zu/%zu/%zu, want 3/2/2",
			         n_full, n_min, n_gpg);
		/* the export appends, and the key keeps what it was parsed with */
		assert_true(pgpkey_export_minimal(key, &out, NULL));
		assert_int_equal(packet_count(out.data, out.len, SIGNATURE_PACKET), 4);
		buf_release(&out);
		pgpkey_free(key);
	}
	buf_release(&full);
	buf_release(&gpg_min);
}

static void
test_names(void **state)
{
	static const struct {
		enum pgpkey_usable u;
		const char *want;
	} rows[] = {
	        {PGPKEY_USABLE_OK, "ok"},
	        {PGPKEY_USABLE_REVOKED, "revoked"},
	        {PGPKEY_USABLE_EXPIRED, "expired"},
	        {PGPKEY_USABLE_NO_ENCRYPTION_KEY, "no-encryption-key"},
	        {PGPKEY_USABLE_NO_UID, "no-uid"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(pgpkey_usable_name(rows[i].u), rows[i].want) != 0)
			fail_msg("name(%d): got %s, want %s", (int)rows[i].u,
			         pgpkey_usable_name(rows[i].u), rows[i].want);
	assert_null(pgpkey_free(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_forms),           cmocka_unit_test(test_rsa_info),
	        cmocka_unit_test(test_check_verdicts),        cmocka_unit_test(test_subkey_choice),
	        cmocka_unit_test(test_revoked_and_uids_info), cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_export_minimal),        cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("pgpkey", tests, group_setup, group_teardown);
}
