/*
 * fuzz_pgpkey.c - libFuzzer target for the OpenPGP key checks
 * (lib/mail/pgpkey.h; RFC 4880 section 11.1, RFC 7929).
 *
 * Input: one byte L, then L bytes of address (L 0: no address check), one
 * byte choosing the time "now", then the key (binary or armoured), at most
 * 8 KB: librnp is slow on big inputs and adds nothing there.  A parsed key
 * is described, checked, asked for its encryption subkey and exported
 * minimally; the minimal export must parse again and keep the primary
 * fingerprint.  librnp's parser logs to stderr (run with -close_fd_mask=2).
 */
#include "fuzz.h"

#include <rnp/rnp.h>

#include "mail/pgpkey.h"
#include "util/buf.h"

#define KEY_MAX 8192

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t times[] = {0,          1,          1577836800 /* 2020 */,
	                               1700000000, 1800000000, 4102444800 /* 2100 */,
	                               0x7fffffff, -1};
	struct pgpkey *key, *again;
	struct pgpkey_info info, info2;
	struct buf minimal = BUF_INIT;
	struct rnp_key_handle_st *enc;
	struct why why;
	enum pgpkey_usable u;
	char *address = NULL;
	size_t alen, i;
	time_t now;

	if (size < 2)
		return 0;
	alen = data[0];
	if (size < 2 + alen)
		return 0;
	if (alen > 0)
		address = fuzz_cstr(data + 1, alen);
	now = times[data[1 + alen] % (sizeof(times) / sizeof(times[0]))];
	data += 2 + alen;
	size -= 2 + alen;
	if (size > KEY_MAX) {
		free(address);
		return 0;
	}

	key = pgpkey_parse(data, size, &why);
	if (key != NULL) {
		pgpkey_info_get(&info, key, now);
		FUZZ_CHECK(info.n_uids == 0 || info.uids != NULL);
		for (i = 0; i < info.n_uids; i++)
			FUZZ_CHECK(info.uids[i] != NULL);
		FUZZ_CHECK(info.uids == NULL || info.uids[info.n_uids] == NULL);
		u = pgpkey_check(key, address, now, &why);
		FUZZ_CHECK(pgpkey_usable_name(u) != NULL);
		/* a key that is usable has the encryption key pgpkey_info_get names */
		if (u == PGPKEY_USABLE_OK)
			FUZZ_CHECK(info.has_encryption_key);
		enc = pgpkey_encryption_key(key, now);
		FUZZ_CHECK((enc != NULL) == info.has_encryption_key);
		rnp_key_handle_destroy(enc);
		/* the minimal export parses again, to the same key */
		if (pgpkey_export_minimal(key, &minimal, &why)) {
			again = pgpkey_parse(minimal.data, minimal.len, &why);
			FUZZ_CHECK(again != NULL);
			pgpkey_info_get(&info2, again, now);
			FUZZ_CHECK(strcmp(info.fingerprint, info2.fingerprint) == 0);
			pgpkey_info_clear(&info2);
			pgpkey_free(again);
		}
		pgpkey_info_clear(&info);
		pgpkey_free(key);
	}
	buf_release(&minimal);
	free(address);
	return 0;
}
