/*
 * pgpkey.c - OpenPGP transferable public keys for OPENPGPKEY records, read
 * with librnp entirely in memory (see pgpkey.h).
 *
 * What it does: imports one key from binary or armoured bytes into a private
 * librnp context (one rnp_ffi_t per struct pgpkey, no keyring files, no agent,
 * no global state), refuses secret keys and anything but exactly one primary
 * key, describes the key, picks the subkey that would encrypt, decides whether
 * the key may be used for an address at a given time, and exports the minimal
 * key a record should carry.
 *
 * What it trusts: librnp's packet parser and signature checks (self-signatures,
 * subkey bindings, revocations).  Nothing in the key is trusted as text: user
 * IDs are escaped before they leave this file.  Expiry is computed here from
 * the creation time and the key expiration time so that callers can ask about
 * any moment (`now`), not only librnp's clock.
 *
 * RFCs: RFC 4880 section 11.1 / RFC 9580 section 10.1 (transferable public
 * key: one primary key, user IDs, subkeys), RFC 4880 section 5.2.3.6 (key
 * expiration time, counted from key creation) and section 5.2.3.21 (key flags
 * that say which key may encrypt), RFC 7929 (OPENPGPKEY: the key's user ID
 * should carry the looked-up address; keys in DNS should be minimal).
 *
 * Thread safety: different keys may be used from different threads at once;
 * one key must not be used from two threads at the same time.
 */
#include "pgpkey.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include "dns/owner.h"
#include "util/alloc.h"
#include "util/escape.h"

struct pgpkey {
	rnp_ffi_t ffi;            /* this key's own librnp context */
	rnp_key_handle_t primary; /* the one primary key in it */
};

/* Import flags: secret keys are loaded too, only so that they can be seen and refused. */
#define IMPORT_FLAGS (RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS)

/* A fresh librnp context whose error stream goes nowhere (librnp owns the fd afterwards). */
rnp_ffi_t
pgpkey_ffi_new(struct why *why)
{
	rnp_ffi_t ffi = NULL;
	int fd;

	if (rnp_ffi_create(&ffi, RNP_KEYSTORE_GPG, RNP_KEYSTORE_GPG) != RNP_SUCCESS) {
		why_set(why, "cannot create an OpenPGP context");
		return NULL;
	}
	/*
	 * A library must not write to stderr.  This silences the per-context stream
	 * librnp reports FFI errors on (at the cost of one descriptor per key).  Its
	 * internal parser messages cannot be silenced: they go to stderr whenever
	 * logging is on, and Debian's 0.16 build has it always on.
	 */
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && rnp_ffi_set_log_fd(ffi, fd) != RNP_SUCCESS)
		close(fd);
	return ffi;
}

/*
 * Import data into ffi; false and a reason if it is not a public key.  The
 * contents are guessed first so that secret keys are refused before they are
 * loaded, and non-keys get a clear reason without reaching the parser.
 */
/*
 * librnp takes any input with "-----BEGIN PGP " in its first kilobyte for
 * armour, even binary packets (RFC 4880 4.2: the first octet has bit 7 set)
 * that merely carry that text, say in a user ID, and then fails to parse
 * them.  Such input is armoured here first, so that librnp reads the real
 * armour and decodes exactly the binary packets.  NULL if it needs none.
 */
static rnp_input_t
binary_as_armour(const uint8_t *data, size_t len)
{
	rnp_input_t in = NULL, armoured = NULL;
	rnp_output_t out = NULL;
	uint8_t *text;
	size_t text_len;

	if (len == 0 || (data[0] & 0x80) == 0 ||
	    memmem(data, len < 4096 ? len : 4096, "-----BEGIN PGP ", 15) == NULL)
		return NULL;
	if (rnp_input_from_memory(&in, data, len, false) == RNP_SUCCESS &&
	    rnp_output_to_memory(&out, 0) == RNP_SUCCESS &&
	    rnp_enarmor(in, out, "public key") == RNP_SUCCESS &&
	    rnp_output_memory_get_buf(out, &text, &text_len, false) == RNP_SUCCESS)
		(void)rnp_input_from_memory(&armoured, text, text_len, true);
	rnp_input_destroy(in);
	rnp_output_destroy(out);
	return armoured;
}

static bool
ffi_import(rnp_ffi_t ffi, const uint8_t *data, size_t len, struct why *why)
{
	rnp_input_t input = binary_as_armour(data, len);
	char *kind = NULL;
	rnp_result_t rc;
	bool ok = false;

	if (input == NULL && rnp_input_from_memory(&input, data, len, false) != RNP_SUCCESS)
		return why_set(why, "cannot read the key data");
	if (rnp_guess_contents(input, &kind) != RNP_SUCCESS || kind == NULL)
		why_set(why, "cannot tell what the key data holds");
	else if (strcmp(kind, "secret key") == 0)
		why_set(why, "a secret key was given where a public key is expected");
	else if (strcmp(kind, "unknown") == 0)
		why_set(why, "not OpenPGP key data");
	else if (strcmp(kind, "public key") != 0)
		why_set(why, "OpenPGP %s given where a public key is expected", kind);
	else if ((rc = rnp_import_keys(ffi, input, IMPORT_FLAGS, NULL)) != RNP_SUCCESS)
		why_set(why, "bad OpenPGP key (%s)", rnp_result_to_string(rc));
	else
		ok = true;
	rnp_buffer_destroy(kind);
	rnp_input_destroy(input);
	return ok;
}

/*
 * Find the one primary key in ffi.  Secret keys, inputs without a primary key,
 * with more than one, or with keys that do not belong to the primary (stray
 * subkeys) are refused.
 */
static rnp_key_handle_t
ffi_one_primary(rnp_ffi_t ffi, struct why *why)
{
	rnp_identifier_iterator_t it = NULL;
	rnp_key_handle_t primary = NULL;
	size_t n_secret = 0, n_public = 0, n_primary = 0, n_sub = 0;
	const char *fpr;

	if (rnp_get_secret_key_count(ffi, &n_secret) != RNP_SUCCESS ||
	    rnp_get_public_key_count(ffi, &n_public) != RNP_SUCCESS) {
		why_set(why, "cannot count the imported keys");
		return NULL;
	}
	if (n_secret > 0) {
		why_set(why, "a secret key was given where a public key is expected");
		return NULL;
	}
	if (n_public == 0) {
		why_set(why, "no OpenPGP key found");
		return NULL;
	}
	if (rnp_identifier_iterator_create(ffi, &it, "fingerprint") != RNP_SUCCESS) {
		why_set(why, "cannot list the imported keys");
		return NULL;
	}
	while (rnp_identifier_iterator_next(it, &fpr) == RNP_SUCCESS && fpr != NULL) {
		rnp_key_handle_t key = NULL;
		bool is_primary = false;

		if (rnp_locate_key(ffi, "fingerprint", fpr, &key) != RNP_SUCCESS || key == NULL)
			continue;
		if (rnp_key_is_primary(key, &is_primary) == RNP_SUCCESS && is_primary) {
			n_primary++;
			if (primary == NULL) {
				primary = key;
				continue;
			}
		}
		rnp_key_handle_destroy(key);
	}
	rnp_identifier_iterator_destroy(it);
	if (n_primary != 1) {
		rnp_key_handle_destroy(primary);
		if (n_primary == 0)
			why_set(why, "no primary key found (only subkeys)");
		else
			why_set(why, "%zu primary keys found, want exactly one", n_primary);
		return NULL;
	}
	if (rnp_key_get_subkey_count(primary, &n_sub) != RNP_SUCCESS || n_public != 1 + n_sub) {
		rnp_key_handle_destroy(primary);
		why_set(why, "subkeys found that do not belong to the primary key");
		return NULL;
	}
	return primary;
}

struct pgpkey *
pgpkey_parse(const uint8_t *data, size_t len, struct why *why)
{
	struct pgpkey *key;
	rnp_ffi_t ffi;
	rnp_key_handle_t primary;

	if (data == NULL || len == 0) {
		why_set(why, "empty key data");
		return NULL;
	}
	if ((ffi = pgpkey_ffi_new(why)) == NULL)
		return NULL;
	if (!ffi_import(ffi, data, len, why) || (primary = ffi_one_primary(ffi, why)) == NULL) {
		rnp_ffi_destroy(ffi);
		return NULL;
	}
	key = xcalloc(1, sizeof(*key));
	key->ffi = ffi;
	key->primary = primary;
	return key;
}

struct pgpkey *
pgpkey_free(struct pgpkey *key)
{
	if (key == NULL)
		return NULL;
	rnp_key_handle_destroy(key->primary);
	rnp_ffi_destroy(key->ffi);
	free(key);
	return NULL;
}

/* Copy a librnp string into a fixed field (truncating) and free it; "" when absent. */
static void
take_string(char *dst, size_t size, char *rnp_str)
{
	snprintf(dst, size, "%s", rnp_str != NULL ? rnp_str : "");
	rnp_buffer_destroy(rnp_str);
}

/* What this file needs to know about one key or subkey. */
struct key_facts {
	bool revoked;
	time_t created;
	time_t expires;      /* 0: does not expire */
	uint64_t valid_till; /* librnp: 0 never valid, else end of validity (UINT64_MAX: none) */
	bool can_encrypt;    /* key flags allow encryption */
};

static void
key_facts_get(rnp_key_handle_t key, struct key_facts *f)
{
	uint32_t created = 0, expiration = 0;

	memset(f, 0, sizeof(*f));
	if (rnp_key_is_revoked(key, &f->revoked) != RNP_SUCCESS)
		f->revoked = true; /* cannot tell: assume the worst */
	rnp_key_get_creation(key, &created);
	rnp_key_get_expiration(key, &expiration);
	f->created = (time_t)created;
	/* RFC 4880 section 5.2.3.6: seconds after creation; 0 means never. */
	f->expires = expiration != 0 ? (time_t)created + (time_t)expiration : 0;
	if (rnp_key_valid_till64(key, &f->valid_till) != RNP_SUCCESS)
		f->valid_till = 0;
	if (rnp_key_allows_usage(key, "encrypt", &f->can_encrypt) != RNP_SUCCESS)
		f->can_encrypt = false;
}

/* Whether a key with these facts may encrypt at `now`. */
static bool
key_facts_encrypts_at(const struct key_facts *f, time_t now)
{
	if (!f->can_encrypt || f->revoked || f->valid_till == 0)
		return false;
	if (f->expires != 0 && now >= f->expires)
		return false;
	/* valid_till also covers the primary key's validity and binding signatures */
	return f->valid_till == UINT64_MAX || (uint64_t)now < f->valid_till;
}

/*
 * The (sub)key that would encrypt at `now`: allowed by its key flags, not
 * revoked, not expired, validly bound.  The newest subkey wins (on a tie the
 * later one, as keys list newer subkeys last); the primary key only when no
 * subkey qualifies.  NULL when there is none; the caller destroys the handle.
 */
static rnp_key_handle_t
encryption_key_find(const struct pgpkey *key, time_t now)
{
	rnp_key_handle_t best = NULL;
	struct key_facts f;
	time_t best_created = 0;
	size_t i, n = 0;

	if (rnp_key_get_subkey_count(key->primary, &n) != RNP_SUCCESS)
		n = 0;
	for (i = 0; i < n; i++) {
		rnp_key_handle_t sub = NULL;

		if (rnp_key_get_subkey_at(key->primary, i, &sub) != RNP_SUCCESS || sub == NULL)
			continue;
		key_facts_get(sub, &f);
		if (key_facts_encrypts_at(&f, now) && (best == NULL || f.created >= best_created)) {
			rnp_key_handle_destroy(best);
			best = sub;
			best_created = f.created;
			continue;
		}
		rnp_key_handle_destroy(sub);
	}
	if (best != NULL)
		return best;
	key_facts_get(key->primary, &f);
	if (key_facts_encrypts_at(&f, now)) {
		char *fpr = NULL;

		/* a handle of its own, so that the caller can always destroy what it gets */
		if (rnp_key_get_fprint(key->primary, &fpr) == RNP_SUCCESS &&
		    rnp_locate_key(key->ffi, "fingerprint", fpr, &best) != RNP_SUCCESS)
			best = NULL;
		rnp_buffer_destroy(fpr);
	}
	return best;
}

/* Fingerprint, algorithm and bits of a (sub)key into caller-sized fields. */
static void
key_describe(rnp_key_handle_t key, char *fpr, size_t fpr_size, char *alg, size_t alg_size,
             int *bits)
{
	char *s = NULL;
	uint32_t b = 0;

	if (rnp_key_get_fprint(key, &s) != RNP_SUCCESS)
		s = NULL;
	take_string(fpr, fpr_size, s);
	s = NULL;
	if (rnp_key_get_alg(key, &s) != RNP_SUCCESS)
		s = NULL;
	take_string(alg, alg_size, s);
	if (rnp_key_get_bits(key, &b) != RNP_SUCCESS)
		b = 0;
	*bits = (int)b;
}

/*
 * Call fn for each user ID (not user attributes such as photos) with its raw
 * bytes and whether it is usable (valid self-certification, not revoked).
 * Stops early when fn returns true; returns whether it did.
 */
static bool
uid_each(const struct pgpkey *key, bool (*fn)(const uint8_t *, size_t, bool, void *), void *arg)
{
	size_t i, n = 0;
	bool stop = false;

	if (rnp_key_get_uid_count(key->primary, &n) != RNP_SUCCESS)
		return false;
	for (i = 0; i < n && !stop; i++) {
		rnp_uid_handle_t uid = NULL;
		uint32_t type = 0;
		void *data = NULL;
		size_t size = 0;
		bool valid = false, revoked = true;

		if (rnp_key_get_uid_handle_at(key->primary, i, &uid) != RNP_SUCCESS)
			continue;
		if (rnp_uid_get_type(uid, &type) == RNP_SUCCESS && type == RNP_USER_ID &&
		    rnp_uid_get_data(uid, &data, &size) == RNP_SUCCESS) {
			if (rnp_uid_is_valid(uid, &valid) != RNP_SUCCESS)
				valid = false;
			if (rnp_uid_is_revoked(uid, &revoked) != RNP_SUCCESS)
				revoked = true;
			stop = fn(data, size, valid && !revoked, arg);
			rnp_buffer_destroy(data);
		}
		rnp_uid_handle_destroy(uid);
	}
	return stop;
}

/* Collects escaped user IDs for pgpkey_info_get. */
struct uid_list {
	char **uids;
	size_t n;
};

static bool
uid_collect(const uint8_t *p, size_t n, bool usable, void *arg)
{
	struct uid_list *list = arg;
	struct buf b = BUF_INIT;

	(void)usable;
	escape_append(&b, p, n, 0);
	list->uids = xreallocarray(list->uids, list->n + 2, sizeof(*list->uids));
	list->uids[list->n++] = (char *)buf_steal(&b, NULL);
	list->uids[list->n] = NULL;
	return false;
}

void
pgpkey_info_get(struct pgpkey_info *info, const struct pgpkey *key, time_t now)
{
	struct uid_list list = {NULL, 0};
	struct key_facts f;
	rnp_key_handle_t enc;

	memset(info, 0, sizeof(*info));
	key_describe(key->primary, info->fingerprint, sizeof(info->fingerprint), info->algorithm,
	             sizeof(info->algorithm), &info->bits);
	key_facts_get(key->primary, &f);
	info->revoked = f.revoked;
	info->created = f.created;
	info->expires = f.expires;
	uid_each(key, uid_collect, &list);
	if (list.uids == NULL) /* no user IDs: still a NULL-terminated list */
		list.uids = xcalloc(1, sizeof(*list.uids));
	info->uids = list.uids;
	info->n_uids = list.n;
	if ((enc = encryption_key_find(key, now)) != NULL) {
		info->has_encryption_key = true;
		key_describe(enc, info->enc_fingerprint, sizeof(info->enc_fingerprint),
		             info->enc_algorithm, sizeof(info->enc_algorithm), &info->enc_bits);
		key_facts_get(enc, &f);
		info->enc_expires = f.expires;
		rnp_key_handle_destroy(enc);
	}
}

void
pgpkey_info_clear(struct pgpkey_info *info)
{
	size_t i;

	if (info->uids != NULL) {
		for (i = 0; i < info->n_uids; i++)
			free(info->uids[i]);
		free(info->uids);
	}
	memset(info, 0, sizeof(*info));
}

/* uid_each callback: a usable user ID that is the address or contains "<address>". */
static bool
uid_matches(const uint8_t *p, size_t n, bool usable, void *arg)
{
	const char *address = arg;
	size_t i, j;

	if (!usable)
		return false;
	if (owner_address_equal(p, n, address))
		return true;
	for (i = 0; i < n; i++) {
		if (p[i] != '<')
			continue;
		for (j = i + 1; j < n && p[j] != '>'; j++)
			;
		if (j < n && owner_address_equal(p + i + 1, j - i - 1, address))
			return true;
	}
	return false;
}

/* A UTC date for reasons ("2027-11-29"). */
static const char *
date_str(char *dst, size_t size, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(dst, size, "%Y-%m-%d", &tm) == 0)
		snprintf(dst, size, "@%lld", (long long)t);
	return dst;
}

enum pgpkey_usable
pgpkey_check(const struct pgpkey *key, const char *address, time_t now, struct why *why)
{
	struct key_facts f;
	rnp_key_handle_t enc;
	char date[32];

	/* the order is the order of severity: a revoked key is never worth more words */
	key_facts_get(key->primary, &f);
	if (f.revoked) {
		why_set(why, "the primary key is revoked");
		return PGPKEY_USABLE_REVOKED;
	}
	if (f.expires != 0 && now >= f.expires) {
		why_set(why, "the primary key expired on %s",
		        date_str(date, sizeof(date), f.expires));
		return PGPKEY_USABLE_EXPIRED;
	}
	if ((enc = encryption_key_find(key, now)) == NULL) {
		why_set(why, "no valid, unexpired, unrevoked key that may encrypt");
		return PGPKEY_USABLE_NO_ENCRYPTION_KEY;
	}
	rnp_key_handle_destroy(enc);
	if (address != NULL && !uid_each(key, uid_matches, (void *)address)) {
		struct buf esc = BUF_INIT;

		why_set(why, "no valid user ID contains <%s>", escape_str(&esc, address));
		buf_release(&esc);
		return PGPKEY_USABLE_NO_UID;
	}
	return PGPKEY_USABLE_OK;
}

struct rnp_key_handle_st *
pgpkey_encryption_key(const struct pgpkey *key, time_t now)
{
	return encryption_key_find(key, now);
}

const char *
pgpkey_usable_name(enum pgpkey_usable u)
{
	switch (u) {
	case PGPKEY_USABLE_OK:
		return "ok";
	case PGPKEY_USABLE_REVOKED:
		return "revoked";
	case PGPKEY_USABLE_EXPIRED:
		return "expired";
	case PGPKEY_USABLE_NO_ENCRYPTION_KEY:
		return "no-encryption-key";
	case PGPKEY_USABLE_NO_UID:
		return "no-uid";
	}
	return "unknown";
}

/* Append the binary export of a primary key and its subkeys to out. */
static bool
key_export(rnp_key_handle_t key, struct buf *out, struct why *why)
{
	rnp_output_t output = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	bool ok = false;

	if (rnp_output_to_memory(&output, 0) != RNP_SUCCESS)
		return why_set(why, "cannot create an output buffer");
	if (rnp_key_export(key, output, RNP_KEY_EXPORT_PUBLIC | RNP_KEY_EXPORT_SUBKEYS) !=
	            RNP_SUCCESS ||
	    rnp_output_memory_get_buf(output, &data, &len, false) != RNP_SUCCESS)
		why_set(why, "cannot export the key");
	else if (len == 0)
		why_set(why, "the key export is empty");
	else
		buf_append(out, data, len), ok = true;
	rnp_output_destroy(output);
	return ok;
}

bool
pgpkey_export_minimal(const struct pgpkey *key, struct buf *out, struct why *why)
{
	struct buf full = BUF_INIT;
	rnp_ffi_t scratch = NULL;
	rnp_key_handle_t primary = NULL;
	bool ok = false;

	/*
	 * librnp's export copies every signature it holds, third-party
	 * certifications included.  Strip them in a scratch context so that this
	 * key stays as it was parsed (and const really is const).
	 */
	if (!key_export(key->primary, &full, why))
		goto done;
	if ((scratch = pgpkey_ffi_new(why)) == NULL ||
	    !ffi_import(scratch, full.data, full.len, why) ||
	    (primary = ffi_one_primary(scratch, why)) == NULL)
		goto done;
	if (rnp_key_remove_signatures(primary,
	                              RNP_KEY_SIGNATURE_NON_SELF_SIG | RNP_KEY_SIGNATURE_INVALID,
	                              NULL, NULL) != RNP_SUCCESS) {
		why_set(why, "cannot remove third-party signatures");
		goto done;
	}
	ok = key_export(primary, out, why);
done:
	if (!ok)
		why_prefix(why, "minimal export");
	rnp_key_handle_destroy(primary);
	rnp_ffi_destroy(scratch);
	buf_release(&full);
	return ok;
}
