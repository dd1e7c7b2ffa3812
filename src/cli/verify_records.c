/*
 * verify_records.c - `danemail verify smimea ADDR --cert FILE` and
 * `danemail verify openpgpkey ADDR --key FILE`: is what DNS publishes for
 * an address, DNSSEC-validated, the certificate or key the user holds?
 *
 * The records are looked up as `danemail lookup` does (local part exactly as
 * given, then lower-cased when that finds nothing; the output names the owner
 * that answered).  SMIMEA: for each record, the association data of the local
 * certificate is computed for the record's selector and matching type (RFC
 * 6698 sections 2.1.2-2.1.3, RFC 8162) and compared.  OPENPGPKEY: the primary
 * key fingerprints are compared; for the same key, the packets are compared
 * too, so a record that is not minimal or lags behind the local key (other
 * user IDs, subkeys, signatures) is named.  Packet framing (legacy or OpenPGP
 * format headers, RFC 9580 section 4.2) is not content and is ignored.
 *
 * Only a secure answer can verify anything: insecure, bogus and failed
 * lookups have their own exit codes whatever the records hold.
 *
 * What it trusts: nothing from DNS (parsed by lib/, printed escaped) and
 * nothing in the local files (refused with exit 65 when they are not what is
 * expected: garbage, a private key for a certificate, a secret key).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "dane/cert.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "mail/pgpkey.h"
#include "record.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/escape.h"

enum verify_kind { VERIFY_SMIMEA, VERIFY_OPENPGPKEY };

/* The outcome, worst last; each has its exit code. */
enum verify_verdict {
	VERDICT_MATCH,      /* secure records, one matches: 0 */
	VERDICT_NO_MATCH,   /* secure records, none matches: 1 */
	VERDICT_NO_RECORDS, /* secure proof that there are none: 1 */
	VERDICT_INSECURE,   /* no DNSSEC: nothing is proven: 2 */
	VERDICT_BOGUS,      /* validation failed: 3 */
	VERDICT_FAILED,     /* the lookup failed: 4 */
};

static const struct {
	const char *name;
	enum cli_exit exit;
	const char *text;
} verdicts[] = {
        [VERDICT_MATCH] = {"match", CLI_EXIT_SECURE, "a secure record matches"},
        [VERDICT_NO_MATCH] = {"no-match", CLI_EXIT_NONE,
                              "secure records exist, none matches the local file"},
        [VERDICT_NO_RECORDS] = {"no-records", CLI_EXIT_NONE, "secure proof that no records exist"},
        [VERDICT_INSECURE] = {"insecure", CLI_EXIT_INSECURE,
                              "the answer is not DNSSEC-signed: it proves nothing"},
        [VERDICT_BOGUS] = {"bogus", CLI_EXIT_BOGUS,
                           "DNSSEC validation failed: the records must not be used"},
        [VERDICT_FAILED] = {"lookup-failed", CLI_EXIT_FAIL,
                            "the lookup failed: nothing is known (try again later)"},
};

static void
verify_usage(FILE *fp)
{
	fputs("usage: danemail verify smimea ADDRESS --cert FILE [options]\n"
	      "       danemail verify openpgpkey ADDRESS --key FILE [options]\n"
	      "  Does DNS publish this certificate / key for ADDRESS, DNSSEC-validated?\n"
	      "  --cert FILE          the certificate the address should have (PEM or DER)\n"
	      "  --key FILE           the OpenPGP public key (binary or ASCII-armoured)\n"
	      "  --config FILE        unbound configuration file (trust anchors, forwarders)\n"
	      "  --trust-anchor FILE  trust these DS/DNSKEY records (instead of the root's)\n"
	      "  --forwarder ADDR     send queries to this resolver (it must pass DNSSEC data)\n"
	      "  --json               one JSON object on stdout\n"
	      "  The local part is hashed as given, then lower-cased if that finds nothing.\n"
	      "  SMIMEA: the local certificate's association data is computed for each\n"
	      "  record's selector and matching type.  OPENPGPKEY: primary key fingerprints\n"
	      "  are compared, and for the same key its packets (a record that is not minimal\n"
	      "  or differs from the local key is named).\n"
	      "exit: 0 a secure record matches\n"
	      "      1 secure records, none matches; or secure proof that none exist (the\n"
	      "        output says which: verdict no-match / no-records)\n"
	      "      2 insecure (no DNSSEC chain)   3 bogus (validation failed)\n"
	      "      4 lookup failure (SERVFAIL, timeout)\n"
	      "      64 usage error or an address that cannot be canonicalised\n"
	      "      65 the local file is not what is expected (garbage, a private key where\n"
	      "         a certificate is expected, a secret or encrypted OpenPGP key)\n"
	      "      66 the local file cannot be read\n",
	      fp);
}

/* ---- OpenPGP packet framing ---- */

/*
 * Append the packets of an OpenPGP byte string as (tag, 4-octet length, body),
 * whatever header format carried them (RFC 9580 section 4.2: legacy and
 * OpenPGP format), so that two exports of the same packets compare equal.
 * False on a malformed or indeterminate/partial length (never in a key).
 */
static bool
packets_normalise(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		uint8_t ctb = p[i++];
		unsigned tag;
		size_t body;

		if (!(ctb & 0x80))
			return false;
		if (ctb & 0x40) { /* OpenPGP format */
			tag = ctb & 0x3f;
			if (i >= len)
				return false;
			if (p[i] < 192) {
				body = p[i++];
			} else if (p[i] < 224) {
				if (i + 1 >= len)
					return false;
				body = ((size_t)(p[i] - 192) << 8) + p[i + 1] + 192;
				i += 2;
			} else if (p[i] == 255) {
				if (i + 4 >= len)
					return false;
				body = (size_t)p[i + 1] << 24 | (size_t)p[i + 2] << 16 |
				       (size_t)p[i + 3] << 8 | p[i + 4];
				i += 5;
			} else {
				return false; /* partial body length */
			}
		} else { /* legacy format */
			unsigned lt = ctb & 3, n = lt == 0 ? 1 : lt == 1 ? 2 : 4, k;

			tag = (ctb >> 2) & 0x0f;
			if (lt == 3 || i + n > len)
				return false;
			for (body = 0, k = 0; k < n; k++)
				body = body << 8 | p[i + k];
			i += n;
		}
		if (body > len - i)
			return false;
		buf_putc(out, (int)tag);
		buf_putc(out, (int)(body >> 24 & 0xff));
		buf_putc(out, (int)(body >> 16 & 0xff));
		buf_putc(out, (int)(body >> 8 & 0xff));
		buf_putc(out, (int)(body & 0xff));
		buf_append(out, p + i, body);
		i += body;
	}
	return true;
}

/* Whether two OpenPGP byte strings hold the same packets. */
static bool
packets_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct buf na = BUF_INIT, nb = BUF_INIT;
	bool eq;

	if (packets_normalise(a, alen, &na) && packets_normalise(b, blen, &nb))
		eq = na.len == nb.len && (na.len == 0 || memcmp(na.data, nb.data, na.len) == 0);
	else
		eq = alen == blen && memcmp(a, b, alen) == 0;
	buf_release(&na);
	buf_release(&nb);
	return eq;
}

/* ---- comparing one record ---- */

/* The local certificate or key, loaded once. */
struct verify_local {
	X509 *cert;
	struct pgpkey *key;
	char fingerprint[81]; /* OpenPGP primary key */
	struct buf minimal;   /* OpenPGP minimal export */
	char sha256[65];      /* certificate */
};

/* Compare one SMIMEA record with the local certificate; true on a match. */
static bool
compare_smimea(const struct verify_local *l, const struct dns_rr *rr, struct buf *text, json_t *rec)
{
	struct rr_assoc a = {0};
	struct buf want = BUF_INIT;
	struct why why;
	const char *note = NULL;
	bool match = false;

	if (!rr_assoc_from_wire(&a, rr->rdata, rr->len, &why)) {
		buf_printf(text, "  malformed RDATA: %s\n", why.msg);
		json_object_set_new(rec, "error", json_string(why.msg));
		json_object_set_new(rec, "match", json_false());
		return false;
	}
	json_object_set_new(rec, "usage", json_integer(a.usage));
	json_object_set_new(rec, "selector", json_integer(a.selector));
	json_object_set_new(rec, "matching_type", json_integer(a.mtype));
	buf_printf(text, "  %u %u %u (%s %s %s): ", a.usage, a.selector, a.mtype,
	           rr_usage_name(a.usage), rr_selector_name(a.selector), rr_mtype_name(a.mtype));
	if (!cert_association(l->cert, a.selector, a.mtype, &want, &why)) {
		buf_printf(text, "cannot compare (%s)\n", why.msg);
		json_object_set_new(rec, "error", json_string(why.msg));
	} else {
		match = want.len == a.len && memcmp(want.data, a.data, a.len) == 0;
		buf_puts(text, match ? "MATCHES the local certificate\n" : "does not match\n");
		if (match && (a.selector != RR_SELECTOR_CERT || a.mtype != RR_MTYPE_FULL))
			note = "a digest record: senders must get the certificate elsewhere to "
			       "encrypt (only x 0 0 carries it)";
		if (match && a.usage < RR_USAGE_DANE_TA)
			note = "a PKIX usage: senders also need a path to a CA they trust";
		if (note != NULL)
			buf_printf(text, "    note: %s\n", note);
	}
	json_object_set_new(rec, "match", json_boolean(match));
	if (note != NULL)
		json_object_set_new(rec, "note", json_string(note));
	buf_release(&want);
	rr_assoc_clear(&a);
	return match;
}

/* Compare one OPENPGPKEY record with the local key; true when it is the same primary key. */
static bool
compare_openpgpkey(const struct verify_local *l, const struct dns_rr *rr, const char *address,
                   struct buf *text, json_t *rec)
{
	struct pgpkey_info info;
	struct pgpkey *key;
	struct buf esc = BUF_INIT, dns_min = BUF_INIT;
	struct why why;
	bool match;

	json_object_set_new(rec, "octets", json_integer((json_int_t)rr->len));
	if ((key = pgpkey_parse(rr->rdata, rr->len, &why)) == NULL) {
		buf_printf(text, "  key unreadable: %s\n", escape_str(&esc, why.msg));
		json_object_set_new(rec, "error", json_string(buf_str(&esc)));
		json_object_set_new(rec, "match", json_false());
		buf_release(&esc);
		return false;
	}
	pgpkey_info_get(&info, key, time(NULL));
	match = strcasecmp(info.fingerprint, l->fingerprint) == 0;
	buf_printf(text, "  key %s, %zu octets: %s\n", info.fingerprint, rr->len,
	           match ? "SAME primary key as the local key" : "another key");
	json_object_set_new(rec, "fingerprint", json_string(info.fingerprint));
	json_object_set_new(rec, "match", json_boolean(match));
	if (match) {
		const char *content;

		if (packets_equal(rr->rdata, rr->len, l->minimal.data, l->minimal.len))
			content = "same";
		else if (pgpkey_export_minimal(key, &dns_min, &why) &&
		         !packets_equal(rr->rdata, rr->len, dns_min.data, dns_min.len))
			content = "not-minimal";
		else
			content = "differs";
		json_object_set_new(rec, "content", json_string(content));
		if (strcmp(content, "not-minimal") == 0)
			buf_puts(text,
			         "    content: the DNS key is not minimal (third-party "
			         "signatures or invalid packets): republish the minimal export\n");
		else if (strcmp(content, "differs") == 0)
			buf_puts(text, "    content: differs from the local key's minimal export "
			               "(other user IDs, subkeys or self-signatures): republish\n");
		else
			buf_puts(text, "    content: same packets as the local key's minimal "
			               "export\n");
		if (pgpkey_check(key, address, time(NULL), &why) != PGPKEY_USABLE_OK) {
			buf_printf(text,
			           "    warning: the DNS key is not usable for this address: "
			           "%s\n",
			           why.msg);
			json_object_set_new(rec, "usable", json_string(why.msg));
		}
	}
	pgpkey_info_clear(&info);
	pgpkey_free(key);
	buf_release(&dns_min);
	buf_release(&esc);
	return match;
}

/* ---- the lookup ---- */

static int
local_load(enum verify_kind kind, const char *path, struct verify_local *l, json_t *top)
{
	struct buf esc = BUF_INIT;
	struct pgpkey_info info;
	struct cert_info ci;
	struct why why;
	json_t *jl = json_object();
	int rc;

	json_object_set_new(jl, "file", json_string(escape_str(&esc, path)));
	if (kind == VERIFY_SMIMEA) {
		if ((rc = record_load_cert("verify", path, false, &l->cert)) != 0)
			goto out;
		cert_info_get(&ci, l->cert);
		snprintf(l->sha256, sizeof(l->sha256), "%s", ci.sha256_fpr);
		json_object_set_new(jl, "sha256", json_string(ci.sha256_fpr));
		json_object_set_new(jl, "subject", json_string(ci.subject));
		cert_info_clear(&ci);
	} else {
		if ((rc = record_load_pgpkey("verify", path, &l->key)) != 0)
			goto out;
		pgpkey_info_get(&info, l->key, time(NULL));
		snprintf(l->fingerprint, sizeof(l->fingerprint), "%s", info.fingerprint);
		json_object_set_new(jl, "fingerprint", json_string(info.fingerprint));
		pgpkey_info_clear(&info);
		if (!pgpkey_export_minimal(l->key, &l->minimal, &why)) {
			cli_error("verify: %s: %s", buf_str(&esc), why.msg);
			rc = CLI_EXIT_DATAERR;
			goto out;
		}
	}
out:
	json_object_set_new(top, "local", jl);
	buf_release(&esc);
	return rc;
}

int
cmd_verify_records(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"cert", required_argument, NULL, 'C'},
	        {"key", required_argument, NULL, 'K'},
	        CLI_DNS_LONGOPTS,
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cli_dns_opts o = {.json = false};
	struct verify_local local = {NULL, NULL, "", BUF_INIT, ""};
	struct owner_address addr = {BUF_INIT, BUF_INIT};
	struct dns_resolver *res = NULL;
	struct dns_answer ans = {0};
	struct buf text = BUF_INIT, esc = BUF_INIT;
	struct why why;
	const char *cert = NULL, *key = NULL, *address, *matched = NULL, *file;
	enum verify_kind kind;
	enum verify_verdict verdict;
	uint16_t type;
	json_t *top = json_object(), *recs = json_array();
	size_t i, n_match = 0;
	bool have_addr = false;
	int c, rc;

	/* argv[0] is "verify"; the type and the address are the positional arguments */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_dns_option(c, optarg, &o.dns, &o.json))
			continue;
		switch (c) {
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			rc = 0;
			goto done;
		default:
			verify_usage(stderr);
			rc = CLI_EXIT_USAGE;
			goto done;
		}
	}
	rc = CLI_EXIT_USAGE;
	if (argc - optind != 2) {
		cli_error("verify: want TYPE ADDRESS (try danemail verify smimea --help)");
		goto done;
	}
	if (strcasecmp(argv[optind], "smimea") == 0) {
		kind = VERIFY_SMIMEA;
		type = RR_TYPE_SMIMEA;
		file = cert;
		if (cert == NULL || key != NULL) {
			cli_error("verify smimea: want --cert FILE (and no --key)");
			goto done;
		}
	} else if (strcasecmp(argv[optind], "openpgpkey") == 0) {
		kind = VERIFY_OPENPGPKEY;
		type = RR_TYPE_OPENPGPKEY;
		file = key;
		if (key == NULL || cert != NULL) {
			cli_error("verify openpgpkey: want --key FILE (and no --cert)");
			goto done;
		}
	} else {
		cli_error("verify: unknown record type '%s' (smimea or openpgpkey here; tlsa has "
		          "its own options)",
		          escape_str(&esc, argv[optind]));
		goto done;
	}
	address = argv[optind + 1];
	if (!owner_address_parse(&addr, address, &why)) {
		cli_error("verify: %s: %s", escape_str(&esc, address), why.msg);
		goto done;
	}
	have_addr = true;
	if ((rc = local_load(kind, file, &local, top)) != 0)
		goto done;
	if ((res = dns_resolver_new(&o.dns, &why)) == NULL) {
		cli_error("verify: %s", escape_str(&esc, why.msg));
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	dns_lookup_address(res, &addr, kind == VERIFY_SMIMEA ? OWNER_SMIMEA : OWNER_OPENPGPKEY,
	                   type, &ans, &matched);

	buf_printf(&text, "%s %s: %s, %s\n", escape_str(&esc, address), rr_type_name(type),
	           dns_sec_name(ans.sec), dns_outcome_name(ans.outcome));
	buf_printf(&text, "owner: %s (local part %s)\n", ans.qname, matched);
	if (ans.why)
		buf_printf(&text, "reason: %s\n", ans.why);
	if (kind == VERIFY_SMIMEA)
		buf_printf(&text, "local certificate: %s (SHA2-256 %s)\n", escape_str(&esc, file),
		           local.sha256);
	else
		buf_printf(&text, "local key: %s (%s)\n", escape_str(&esc, file),
		           local.fingerprint);
	for (i = 0; i < ans.n_rrs; i++) {
		json_t *rec = json_object();

		buf_printf(&text, "record %zu:\n", i + 1);
		if (kind == VERIFY_SMIMEA
		            ? compare_smimea(&local, &ans.rrs[i], &text, rec)
		            : compare_openpgpkey(&local, &ans.rrs[i], address, &text, rec))
			n_match++;
		json_array_append_new(recs, rec);
	}

	/* one table: what the answer proves decides, the comparison only for secure data */
	if (ans.sec == DNS_SEC_BOGUS)
		verdict = VERDICT_BOGUS;
	else if (ans.outcome != DNS_OUTCOME_DATA && ans.outcome != DNS_OUTCOME_NODATA &&
	         ans.outcome != DNS_OUTCOME_NXDOMAIN)
		verdict = VERDICT_FAILED;
	else if (ans.sec == DNS_SEC_INSECURE)
		verdict = VERDICT_INSECURE;
	else if (ans.sec != DNS_SEC_SECURE)
		verdict = VERDICT_FAILED;
	else if (ans.outcome != DNS_OUTCOME_DATA)
		verdict = VERDICT_NO_RECORDS;
	else
		verdict = n_match > 0 ? VERDICT_MATCH : VERDICT_NO_MATCH;
	rc = verdicts[verdict].exit;

	buf_printf(&text, "verdict: %s: %s", verdicts[verdict].name, verdicts[verdict].text);
	if (verdict == VERDICT_INSECURE || verdict == VERDICT_BOGUS)
		buf_printf(&text, " (%zu of %zu records would match)", n_match, ans.n_rrs);
	buf_putc(&text, '\n');

	json_object_set_new(top, "type", json_string(rr_type_name(type)));
	json_object_set_new(top, "address", json_string(escape_str(&esc, address)));
	json_object_set_new(top, "owner", json_string(ans.qname));
	json_object_set_new(top, "local_part", json_string(matched));
	json_object_set_new(top, "dnssec", json_string(dns_sec_name(ans.sec)));
	json_object_set_new(top, "outcome", json_string(dns_outcome_name(ans.outcome)));
	json_object_set_new(top, "why", ans.why ? json_string(ans.why) : json_null());
	json_object_set_new(top, "records", recs);
	recs = NULL;
	json_object_set_new(top, "matches", json_integer((json_int_t)n_match));
	json_object_set_new(top, "verdict", json_string(verdicts[verdict].name));
	json_object_set_new(top, "exit", json_integer(rc));
	cli_output(top, &text, o.json);
done:
	json_decref(recs);
	json_decref(top);
	if (have_addr)
		owner_address_clear(&addr);
	X509_free(local.cert);
	pgpkey_free(local.key);
	buf_release(&local.minimal);
	dns_answer_clear(&ans);
	dns_resolver_free(res);
	buf_release(&text);
	buf_release(&esc);
	return rc;
}
