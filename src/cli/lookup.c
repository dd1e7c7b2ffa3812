/*
 * lookup.c - `danemail lookup {smimea|openpgpkey|tlsa|mx} NAME`.
 *
 * Looks the records up through the validating resolver, prints every record
 * (a certificate or key described, TLSA fields, MX hosts) with the DNSSEC
 * state and, when bogus, libunbound's reason; --json for machines.  For
 * SMIMEA and OPENPGPKEY the local part is tried exactly as given first, then
 * lower-cased (RFC 7929 section 3 leaves case to the publisher); the output
 * says which owner answered.  DNS data is untrusted: everything printed from
 * it is escaped.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dane/cert.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "mail/pgpkey.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/escape.h"

enum lookup_kind { LOOKUP_SMIMEA, LOOKUP_OPENPGPKEY, LOOKUP_TLSA, LOOKUP_MX };

static const struct {
	const char *name;
	enum lookup_kind kind;
	uint16_t type;
} lookup_kinds[] = {
        {"smimea", LOOKUP_SMIMEA, RR_TYPE_SMIMEA},
        {"openpgpkey", LOOKUP_OPENPGPKEY, RR_TYPE_OPENPGPKEY},
        {"tlsa", LOOKUP_TLSA, RR_TYPE_TLSA},
        {"mx", LOOKUP_MX, RR_TYPE_MX},
};

static void
lookup_usage(FILE *fp)
{
	fputs("usage: danemail lookup [--json] [--config FILE] [--trust-anchor FILE]\n"
	      "                       [--forwarder ADDR[@PORT]] TYPE NAME\n"
	      "  TYPE NAME: smimea ADDRESS | openpgpkey ADDRESS | tlsa HOST[:PORT] | mx DOMAIN\n"
	      "  --config FILE        unbound configuration file (trust anchors, forwarders)\n"
	      "  --trust-anchor FILE  trust these DS/DNSKEY records (instead of the root's)\n"
	      "  --forwarder ADDR     send queries to this resolver (it must pass DNSSEC data)\n"
	      "  --json               one JSON object on stdout\n"
	      "exit: 0 secure records, 1 secure proof of none, 2 insecure, 3 bogus,\n"
	      "      4 lookup failure, 64 usage or bad input\n",
	      fp);
}

/* The time as RFC 3339, "never" for 0 (a key or signature without an expiry). */
static const char *
fmt_time(char *out, size_t size, time_t t)
{
	return t == 0 ? "never" : time_text(out, size, t);
}

static json_t *
json_strings(char **list, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(list[i]));
	return arr;
}

/* Describe a full certificate from an SMIMEA/TLSA record. */
static void
describe_cert(struct buf *text, json_t *rec, const uint8_t *der, size_t len, const char *address)
{
	struct cert_info info;
	struct why why;
	char t1[32], t2[32];
	X509 *cert = cert_from_der(der, len, &why);
	json_t *jc;
	size_t i;
	enum cert_crypt crypt;

	if (cert == NULL) {
		struct buf esc = BUF_INIT;

		buf_printf(text, "  certificate: unreadable (%s)\n", escape_str(&esc, why.msg));
		json_object_set_new(rec, "certificate_error", json_string(buf_str(&esc)));
		buf_release(&esc);
		return;
	}
	cert_info_get(&info, cert);
	crypt = cert_can_encrypt(cert, &why);
	buf_printf(text, "  subject: %s\n  issuer: %s\n", info.subject, info.issuer);
	for (i = 0; i < info.n_emails; i++)
		buf_printf(text, "  email: %s\n", info.emails[i]);
	buf_printf(text, "  key: %s %d%s%s\n", info.key_type, info.key_bits,
	           info.curve[0] ? " " : "", info.curve);
	buf_printf(text, "  valid: %s .. %s%s\n", fmt_time(t1, sizeof(t1), info.not_before),
	           fmt_time(t2, sizeof(t2), info.not_after),
	           info.not_after < time(NULL) ? " (EXPIRED)" : "");
	buf_printf(text, "  key usage: %s\n", info.key_usage[0] ? info.key_usage : "(any)");
	if (info.ext_key_usage[0])
		buf_printf(text, "  extended key usage: %s\n", info.ext_key_usage);
	buf_printf(text, "  can encrypt mail: %s%s%s\n", crypt == CERT_CRYPT_OK ? "yes" : "no",
	           crypt == CERT_CRYPT_OK ? "" : ": ", crypt == CERT_CRYPT_OK ? "" : why.msg);
	if (address && !cert_has_email(cert, address))
		buf_printf(text, "  warning: the certificate does not name this address\n");

	jc = json_object();
	json_object_set_new(jc, "subject", json_string(info.subject));
	json_object_set_new(jc, "issuer", json_string(info.issuer));
	json_object_set_new(jc, "emails", json_strings(info.emails, info.n_emails));
	json_object_set_new(jc, "key_type", json_string(info.key_type));
	json_object_set_new(jc, "key_bits", json_integer(info.key_bits));
	if (info.curve[0])
		json_object_set_new(jc, "curve", json_string(info.curve));
	json_object_set_new(jc, "not_before", json_string(t1));
	json_object_set_new(jc, "not_after", json_string(t2));
	json_object_set_new(jc, "expired", json_boolean(info.not_after < time(NULL)));
	json_object_set_new(jc, "key_usage", json_string(info.key_usage));
	json_object_set_new(jc, "ext_key_usage", json_string(info.ext_key_usage));
	json_object_set_new(jc, "can_encrypt", json_string(cert_crypt_name(crypt)));
	json_object_set_new(jc, "sha256", json_string(info.sha256_fpr));
	if (address)
		json_object_set_new(jc, "names_address",
		                    json_boolean(cert_has_email(cert, address)));
	json_object_set_new(rec, "certificate", jc);
	cert_info_clear(&info);
	X509_free(cert);
}

/* One TLSA or SMIMEA record. */
static void
describe_assoc(struct buf *text, json_t *rec, const struct dns_rr *rr, const char *address)
{
	struct rr_assoc a = {0};
	struct buf hex = BUF_INIT;
	struct why why;

	if (!rr_assoc_from_wire(&a, rr->rdata, rr->len, &why)) {
		buf_printf(text, "  malformed RDATA: %s\n", why.msg);
		json_object_set_new(rec, "error", json_string(why.msg));
		return;
	}
	hex_encode(&hex, a.data, a.len);
	buf_printf(text, "  %u %u %u (%s %s %s), %zu octets\n", a.usage, a.selector, a.mtype,
	           rr_usage_name(a.usage), rr_selector_name(a.selector), rr_mtype_name(a.mtype),
	           a.len);
	if (a.mtype != RR_MTYPE_FULL)
		buf_printf(text, "  data: %s\n", buf_str(&hex));
	json_object_set_new(rec, "usage", json_integer(a.usage));
	json_object_set_new(rec, "selector", json_integer(a.selector));
	json_object_set_new(rec, "matching_type", json_integer(a.mtype));
	json_object_set_new(rec, "usage_name", json_string(rr_usage_name(a.usage)));
	json_object_set_new(rec, "data", json_string(buf_str(&hex)));
	if (a.selector == RR_SELECTOR_CERT && a.mtype == RR_MTYPE_FULL)
		describe_cert(text, rec, a.data, a.len, address);
	buf_release(&hex);
	rr_assoc_clear(&a);
}

static void
describe_pgpkey(struct buf *text, json_t *rec, const struct dns_rr *rr, const char *address)
{
	struct why why;
	struct pgpkey *key = pgpkey_parse(rr->rdata, rr->len, &why);
	struct pgpkey_info info;
	enum pgpkey_usable usable;
	char t1[32], t2[32];
	size_t i;
	json_t *jk;

	json_object_set_new(rec, "octets", json_integer((json_int_t)rr->len));
	if (key == NULL) {
		struct buf esc = BUF_INIT;

		buf_printf(text, "  key: unreadable (%s)\n", escape_str(&esc, why.msg));
		json_object_set_new(rec, "key_error", json_string(buf_str(&esc)));
		buf_release(&esc);
		return;
	}
	pgpkey_info_get(&info, key, time(NULL));
	usable = pgpkey_check(key, address, time(NULL), &why);
	buf_printf(text, "  fingerprint: %s\n  algorithm: %s %d\n", info.fingerprint,
	           info.algorithm, info.bits);
	for (i = 0; i < info.n_uids; i++)
		buf_printf(text, "  user id: %s\n", info.uids[i]);
	buf_printf(text, "  expires: %s%s\n", fmt_time(t1, sizeof(t1), info.expires),
	           info.revoked ? " (REVOKED)" : "");
	if (info.has_encryption_key)
		buf_printf(text, "  encryption key: %s %s %d, expires %s\n", info.enc_fingerprint,
		           info.enc_algorithm, info.enc_bits,
		           fmt_time(t2, sizeof(t2), info.enc_expires));
	else
		buf_printf(text, "  encryption key: none\n");
	buf_printf(text, "  usable for %s: %s%s%s\n", address, pgpkey_usable_name(usable),
	           usable == PGPKEY_USABLE_OK ? "" : ": ",
	           usable == PGPKEY_USABLE_OK ? "" : why.msg);

	jk = json_object();
	json_object_set_new(jk, "fingerprint", json_string(info.fingerprint));
	json_object_set_new(jk, "algorithm", json_string(info.algorithm));
	json_object_set_new(jk, "bits", json_integer(info.bits));
	json_object_set_new(jk, "uids", json_strings(info.uids, info.n_uids));
	json_object_set_new(jk, "revoked", json_boolean(info.revoked));
	json_object_set_new(jk, "expires", info.expires ? json_string(t1) : json_null());
	if (info.has_encryption_key) {
		json_t *je = json_object();

		json_object_set_new(je, "fingerprint", json_string(info.enc_fingerprint));
		json_object_set_new(je, "algorithm", json_string(info.enc_algorithm));
		json_object_set_new(je, "bits", json_integer(info.enc_bits));
		json_object_set_new(je, "expires",
		                    info.enc_expires ? json_string(t2) : json_null());
		json_object_set_new(jk, "encryption_key", je);
	} else {
		json_object_set_new(jk, "encryption_key", json_null());
	}
	json_object_set_new(jk, "usable", json_string(pgpkey_usable_name(usable)));
	json_object_set_new(rec, "key", jk);
	pgpkey_info_clear(&info);
	pgpkey_free(key);
}

static void
describe_other(struct buf *text, json_t *rec, uint16_t type, const struct dns_rr *rr)
{
	struct buf out = BUF_INIT;
	struct why why;

	if (!rr_rdata_to_text(type, rr->rdata, rr->len, &out, &why)) {
		buf_printf(text, "  malformed RDATA: %s\n", why.msg);
		json_object_set_new(rec, "error", json_string(why.msg));
		return;
	}
	buf_printf(text, "  %s", buf_str(&out));
	if (type == RR_TYPE_MX && rr->len == 3 && rr->rdata[2] == 0 && rr->rdata[0] == 0 &&
	    rr->rdata[1] == 0)
		buf_puts(text, " (null MX, RFC 7505: the domain accepts no mail)");
	buf_putc(text, '\n');
	json_object_set_new(rec, "rdata", json_string(buf_str(&out)));
	buf_release(&out);
}

/* Look up owner; for addresses, fall back to the lower-cased local part. */
static bool
resolve(struct dns_resolver *res, enum lookup_kind kind, uint16_t type, const char *name,
        struct dns_answer *ans, const char **matched, struct why *why)
{
	struct owner_address addr;
	struct buf owner = BUF_INIT;
	enum owner_kind ok = kind == LOOKUP_SMIMEA ? OWNER_SMIMEA : OWNER_OPENPGPKEY;

	*matched = NULL;
	switch (kind) {
	case LOOKUP_TLSA: {
		char host[300];
		const char *colon = strrchr(name, ':');
		unsigned long port = 25;

		if (strlen(name) >= sizeof(host))
			return why_set(why, "host name longer than 255 octets");
		snprintf(host, sizeof(host), "%s", name);
		if (colon) {
			char *end;

			port = strtoul(colon + 1, &end, 10);
			if (*end || colon[1] == '\0' || port == 0 || port > 65535)
				return why_set(why, "bad port in '%s'", name);
			host[colon - name] = '\0';
		}
		if (!owner_tlsa(&owner, host, (unsigned)port, "tcp", why))
			return false;
		dns_lookup(res, buf_str(&owner), type, ans);
		break;
	}
	case LOOKUP_MX:
		if (!owner_check_domain(name, why))
			return false;
		dns_lookup(res, name, type, ans);
		break;
	case LOOKUP_SMIMEA:
	case LOOKUP_OPENPGPKEY:
		if (!owner_address_parse(&addr, name, why))
			return false;
		dns_lookup_address(res, &addr, ok, type, ans, matched);
		owner_address_clear(&addr);
		break;
	}
	buf_release(&owner);
	return true;
}

int
cmd_lookup(int argc, char **argv)
{
	static const struct option longopts[] = {
	        CLI_DNS_LONGOPTS,
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cli_dns_opts o = {.json = false};
	struct dns_resolver *res;
	struct dns_answer ans;
	struct why why;
	struct buf text = BUF_INIT, esc = BUF_INIT;
	const char *matched, *name;
	json_t *top, *recs;
	size_t i, k;
	int c;
	enum cli_exit rc;

	while ((c = getopt_long(argc, argv, "jc:t:F:h", longopts, NULL)) != -1) {
		if (cli_dns_option(c, optarg, &o.dns, &o.json))
			continue;
		switch (c) {
		case 'h':
			lookup_usage(stdout);
			return 0;
		default:
			lookup_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		lookup_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (k = 0; k < sizeof(lookup_kinds) / sizeof(lookup_kinds[0]); k++)
		if (strcasecmp(argv[optind], lookup_kinds[k].name) == 0)
			break;
	if (k == sizeof(lookup_kinds) / sizeof(lookup_kinds[0])) {
		cli_error("lookup: unknown record type '%s' (smimea, openpgpkey, tlsa or mx)",
		          escape_str(&esc, argv[optind]));
		buf_release(&esc);
		return CLI_EXIT_USAGE;
	}
	name = argv[optind + 1];
	if ((res = dns_resolver_new(&o.dns, &why)) == NULL) {
		cli_error("lookup: %s", escape_str(&esc, why.msg));
		buf_release(&esc);
		return CLI_EXIT_USAGE;
	}
	if (!resolve(res, lookup_kinds[k].kind, lookup_kinds[k].type, name, &ans, &matched, &why)) {
		cli_error("lookup: %s", escape_str(&esc, why.msg));
		buf_release(&esc);
		dns_resolver_free(res);
		return CLI_EXIT_USAGE;
	}
	rc = cli_exit_for_answer(&ans);

	top = json_object();
	recs = json_array();
	json_object_set_new(top, "type", json_string(rr_type_name(lookup_kinds[k].type)));
	json_object_set_new(top, "name", json_string(escape_str(&esc, name)));
	json_object_set_new(top, "owner", json_string(ans.qname));
	if (matched)
		json_object_set_new(top, "local_part", json_string(matched));
	json_object_set_new(top, "dnssec", json_string(dns_sec_name(ans.sec)));
	json_object_set_new(top, "outcome", json_string(dns_outcome_name(ans.outcome)));
	if (ans.canonical && strcasecmp(ans.canonical, ans.qname) != 0)
		json_object_set_new(top, "canonical", json_string(ans.canonical));
	json_object_set_new(top, "ttl", json_integer(ans.ttl));
	json_object_set_new(top, "why", ans.why ? json_string(ans.why) : json_null());

	buf_printf(&text, "%s %s: %s, %s\n", escape_str(&esc, name),
	           rr_type_name(lookup_kinds[k].type), dns_sec_name(ans.sec),
	           dns_outcome_name(ans.outcome));
	buf_printf(&text, "owner: %s%s%s%s\n", ans.qname, matched ? " (local part " : "",
	           matched ? matched : "", matched ? ")" : "");
	if (ans.canonical && strcasecmp(ans.canonical, ans.qname) != 0)
		buf_printf(&text, "canonical name: %s\n", ans.canonical);
	if (ans.why)
		buf_printf(&text, "reason: %s\n", ans.why);
	if (ans.sec == DNS_SEC_BOGUS)
		buf_puts(&text, "warning: DNSSEC validation FAILED; these records must not be "
		                "used\n");
	for (i = 0; i < ans.n_rrs; i++) {
		json_t *rec = json_object();

		buf_printf(&text, "record %zu (TTL %u):\n", i + 1, ans.ttl);
		switch (lookup_kinds[k].kind) {
		case LOOKUP_SMIMEA:
			describe_assoc(&text, rec, &ans.rrs[i], name);
			break;
		case LOOKUP_TLSA:
			describe_assoc(&text, rec, &ans.rrs[i], NULL);
			break;
		case LOOKUP_OPENPGPKEY:
			describe_pgpkey(&text, rec, &ans.rrs[i], name);
			break;
		case LOOKUP_MX:
			describe_other(&text, rec, RR_TYPE_MX, &ans.rrs[i]);
			break;
		}
		json_array_append_new(recs, rec);
	}
	json_object_set_new(top, "records", recs);
	json_object_set_new(top, "exit", json_integer(rc));
	cli_output(top, &text, o.json);
	json_decref(top);
	buf_release(&text);
	buf_release(&esc);
	dns_answer_clear(&ans);
	dns_resolver_free(res);
	return rc;
}
