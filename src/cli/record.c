/*
 * record.c - `danemail record {smimea|openpgpkey|tlsa}`: the DNS records
 * that publish a certificate or a key, as zone-file lines, RFC 3597 generic
 * lines, an nsupdate script or JSON.
 *
 *   smimea      one SMIMEA record (RFC 8162) per address: the addresses given
 *               with --email, or every email SAN of the certificate.  Default
 *               3 0 0 (DANE-EE, full certificate): only a full certificate
 *               lets a sender encrypt; hash records can merely confirm one.
 *               A certificate whose key cannot encrypt is refused (--force).
 *               --batch FILE / --batch-dir DIR for hosters.
 *   openpgpkey  one OPENPGPKEY record (RFC 7929) per address: the minimal
 *               export of a public key that can encrypt and whose user IDs
 *               name the address.
 *   tlsa        TLSA (RFC 6698) for SMTP servers (RFC 7672): from a
 *               certificate, a key, or the chain a server presents; for one
 *               host or every MX host of a domain; --next-key for rollovers.
 *
 * The local part is hashed exactly as written unless --case says otherwise:
 * RFC 8162 and RFC 7929 do not fold case, the publisher decides which
 * spellings to serve (--case both serves two owners).
 *
 * What it trusts: nothing in the files it reads or the chains servers send.
 * Certificates, keys and addresses are checked by lib/ before a record is
 * made; what is printed from them is escaped; addresses taken from a
 * certificate or a user ID go through the same canonicalisation
 * (owner_address_parse) as those typed by hand.  A failed check writes no
 * record for that input.  Exit codes are listed in record_usage().
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "dane/cert.h"
#include "dns/owner.h"
#include "dns/rr.h"
#include "dns/zonefmt.h"
#include "mail/pgpkey.h"
#include "record.h"
#include "util/alloc.h"
#include "util/codec.h"
#include "util/escape.h"

/* How long to wait for a server's certificate chain (--host, --mx). */
#define FETCH_TIMEOUT_MS 15000
/* The default TTL of a generated record. */
#define DEFAULT_TTL 3600

enum record_kind { RECORD_SMIMEA, RECORD_OPENPGPKEY, RECORD_TLSA };
enum record_format { FORMAT_ZONE, FORMAT_GENERIC, FORMAT_NSUPDATE, FORMAT_JSON };
enum record_case { CASE_EXACT, CASE_LOWER, CASE_BOTH };

/* The command line, parsed. */
struct record_opts {
	enum record_kind kind;
	enum record_format format;
	unsigned long ttl;
	const char *origin, *server, *zone;
	enum record_case ocase;
	bool force;
	const char **emails;
	size_t n_emails;
	int usage, selector, mtype; /* -1: the kind's default */
	const char *cert, *key, *next_key, *host, *mx, *batch, *batch_dir;
	unsigned long port; /* 0: not given */
	struct dns_config dns;
};

/* One record kept until the end (single inputs print all or nothing). */
struct record_item {
	char *owner; /* absolute, with final dot */
	uint16_t type;
	struct buf rdata; /* wire */
	json_t *meta;     /* what it was made from, for --format json */
};

/* Where records go: kept, or (batch mode) written as they come. */
struct record_set {
	const struct record_opts *o;
	bool stream; /* write each record at once: a hoster's batch need not fit in memory */
	bool begun;  /* the format's opening (nsupdate server/zone, JSON '[') is written */
	bool broken; /* a record could not be formatted */
	struct record_item *items;
	size_t n;      /* records kept or written */
	size_t failed; /* inputs (batch lines, files, MX hosts) that gave no record */
	struct buf line;
};

static void
record_usage(FILE *fp)
{
	fputs("usage: danemail record smimea --cert FILE [--email ADDR]... [--usage U --selector "
	      "S\n"
	      "                        --match M] [--force]\n"
	      "       danemail record smimea --batch FILE | --batch-dir DIR [--force]\n"
	      "       danemail record openpgpkey --key FILE [--email ADDR]...\n"
	      "       danemail record tlsa {--host HOST[:PORT] [--port P] | --mx DOMAIN}\n"
	      "                        [--cert FILE | --key FILE] [--next-key FILE]\n"
	      "                        [--usage U --selector S --match M]\n"
	      "output (all types):\n"
	      "  --format zone|generic|nsupdate|json   default zone: 'owner TTL IN TYPE rdata';\n"
	      "                       generic: RFC 3597 'TYPE53 \\# len hex' (TYPE52 TLSA,\n"
	      "                       TYPE61 OPENPGPKEY); nsupdate: a script for nsupdate(1)\n"
	      "  --json               same as --format json\n"
	      "  --ttl SECONDS        default 3600\n"
	      "  --origin ZONE        owners relative to ZONE (default: absolute, final dot)\n"
	      "  --server ADDR[@PORT] --zone ZONE   'server'/'zone' lines of the nsupdate script\n"
	      "  --case exact|lower|both   local part as written (default), lower-cased, or both\n"
	      "                       owners when they differ.  RFC 8162 and RFC 7929 do not\n"
	      "                       fold case: senders hash what they are given, so a\n"
	      "                       publisher serves every spelling it wants to be found by.\n"
	      "smimea:\n"
	      "  --cert FILE          the certificate (PEM or DER)\n"
	      "  --email ADDR         publish for ADDR (repeatable; default: every email SAN)\n"
	      "  --usage/--selector/--match   default 3 0 0 (DANE-EE, full certificate): a\n"
	      "                       sender needs the certificate itself to encrypt\n"
	      "  --force              publish a certificate whose key cannot encrypt\n"
	      "  --batch FILE         lines 'address,certfile' ('#' comments; relative paths\n"
	      "                       from FILE's folder; '-' reads stdin, paths from here)\n"
	      "  --batch-dir DIR      every *.pem, *.crt, *.der in DIR, one record per email SAN\n"
	      "openpgpkey:\n"
	      "  --key FILE           the public key (binary or ASCII-armoured), exported minimal\n"
	      "  --email ADDR         publish for ADDR (repeatable; default: every user ID)\n"
	      "tlsa (default 3 1 1; owner _PORT._tcp.HOST):\n"
	      "  --host HOST[:PORT]   the server; without --cert/--key its chain is fetched\n"
	      "                       (STARTTLS on 25/587); --port P default 25\n"
	      "  --mx DOMAIN          every MX host of DOMAIN (port 25, or --port); the MX RRset\n"
	      "                       is looked up with DNSSEC (--config, --trust-anchor,\n"
	      "                       --forwarder), as are the hosts' addresses\n"
	      "  --cert FILE          use this certificate instead of fetching\n"
	      "  --key FILE           a public or private key (PEM or DER): its SPKI, so\n"
	      "                       selector 1 only; an encrypted private key is refused\n"
	      "  --next-key FILE      also the record of the next key or certificate: publish\n"
	      "                       both, wait two TTLs, then switch the server\n"
	      "  Usage 2 (DANE-TA) from a fetched chain names the LAST certificate the server\n"
	      "  sends: the top of the chain it presents, usually the issuing CA.\n"
	      "exit: 0 records written, 1 --mx: the domain has no MX records (secure proof),\n"
	      "      2 --mx: no MX records and no DNSSEC, 3 --mx: MX RRset bogus,\n"
	      "      4 --mx: lookup failed, 64 usage, 65 bad input (garbage, wrong kind of\n"
	      "      file, no address, key or certificate that cannot encrypt, any failed\n"
	      "      batch line: the others are still written), 66 unreadable file,\n"
	      "      69 a server's certificates could not be fetched\n",
	      fp);
}

/* ---- shared input helpers (record.h) ---- */

int
record_read_file(const char *cmd, const char *path, struct buf *out)
{
	struct buf esc = BUF_INIT;
	struct stat st;
	uint8_t chunk[8192];
	FILE *fp;
	size_t n;
	int rc = 0;

	escape_str(&esc, path);
	if ((fp = fopen(path, "rb")) == NULL) {
		cli_error("%s: %s: cannot open: %s", cmd, buf_str(&esc), strerror(errno));
		rc = CLI_EXIT_NOINPUT;
		goto out;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error("%s: %s: is a directory", cmd, buf_str(&esc));
		rc = CLI_EXIT_NOINPUT;
		goto close;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (out->len + n > RECORD_FILE_MAX) {
			cli_error("%s: %s: larger than %d bytes: not a key or certificate", cmd,
			          buf_str(&esc), RECORD_FILE_MAX);
			rc = CLI_EXIT_DATAERR;
			goto close;
		}
		buf_append(out, chunk, n);
	}
	if (ferror(fp)) {
		cli_error("%s: %s: cannot read: %s", cmd, buf_str(&esc), strerror(errno));
		rc = CLI_EXIT_NOINPUT;
	} else if (out->len == 0) {
		cli_error("%s: %s: empty file", cmd, buf_str(&esc));
		rc = CLI_EXIT_DATAERR;
	}
close:
	fclose(fp);
out:
	buf_release(&esc);
	return rc;
}

/* Whether path can be opened for reading; prints why not. */
static int
input_readable(const char *cmd, const char *path)
{
	struct buf esc = BUF_INIT;
	struct stat st;
	FILE *fp;
	int rc = 0;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error("%s: %s: is a directory", cmd, escape_str(&esc, path));
		rc = CLI_EXIT_NOINPUT;
	} else if ((fp = fopen(path, "rb")) == NULL) {
		cli_error("%s: %s: cannot open: %s", cmd, escape_str(&esc, path), strerror(errno));
		rc = CLI_EXIT_NOINPUT;
	} else {
		fclose(fp);
	}
	buf_release(&esc);
	return rc;
}

int
record_load_cert(const char *cmd, const char *path, bool last, X509 **cert)
{
	struct buf esc = BUF_INIT;
	struct why why;
	int rc;

	*cert = NULL;
	if ((rc = input_readable(cmd, path)) != 0)
		return rc;
	/* cert_load_file names the file in its reason (escaped) */
	if ((*cert = last ? cert_load_file_last(path, &why) : cert_load_file(path, &why)) == NULL) {
		cli_error("%s: %s", cmd, escape_str(&esc, why.msg));
		rc = CLI_EXIT_DATAERR;
	}
	buf_release(&esc);
	return rc;
}

int
record_load_pgpkey(const char *cmd, const char *path, struct pgpkey **key)
{
	struct buf data = BUF_INIT, esc = BUF_INIT, esc2 = BUF_INIT;
	struct why why;
	int rc;

	*key = NULL;
	if ((rc = record_read_file(cmd, path, &data)) != 0)
		goto out;
	if ((*key = pgpkey_parse(data.data, data.len, &why)) == NULL) {
		escape_str(&esc2, why.msg);
		cli_error("%s: %s: %s", cmd, escape_str(&esc, path), buf_str(&esc2));
		rc = CLI_EXIT_DATAERR;
	}
out:
	buf_release(&data);
	buf_release(&esc);
	buf_release(&esc2);
	return rc;
}

/* ---- the records: kept or written ---- */

/* Write the opening of the output format. */
static void
set_begin(struct record_set *set)
{
	const struct record_opts *o = set->o;
	const char *at;

	if (set->begun)
		return;
	set->begun = true;
	if (o->format == FORMAT_JSON) {
		fputs("[", stdout);
	} else if (o->format == FORMAT_NSUPDATE) {
		/* nsupdate's syntax is "server NAME [PORT]" (server_ok() checked the text) */
		if (o->server != NULL && (at = strrchr(o->server, '@')) != NULL)
			printf("server %.*s %s\n", (int)(at - o->server), o->server, at + 1);
		else if (o->server != NULL)
			printf("server %s\n", o->server);
		if (o->zone != NULL)
			printf("zone %s\n", o->zone);
	}
}

/* Write one record in the chosen format. */
static void
set_write(struct record_set *set, const char *owner, uint16_t type, const struct buf *rdata,
          const json_t *meta)
{
	static const enum zonefmt_style styles[] = {
	        [FORMAT_ZONE] = ZONEFMT_ZONE,
	        [FORMAT_GENERIC] = ZONEFMT_GENERIC,
	        [FORMAT_NSUPDATE] = ZONEFMT_NSUPDATE,
	};
	const struct record_opts *o = set->o;
	struct zonefmt_rr rr = {owner, (uint32_t)o->ttl, type, rdata->data, rdata->len};
	struct why why;
	json_t *obj;
	char *s;

	set_begin(set);
	buf_reset(&set->line);
	if (o->format != FORMAT_JSON) {
		if (o->origin != NULL && o->format != FORMAT_NSUPDATE &&
		    !zonefmt_in_zone(owner, o->origin))
			fprintf(stderr,
			        "danemail: warning: %s is outside --origin %s: written "
			        "absolute\n",
			        owner, o->origin);
		if (!zonefmt_line(&set->line, &rr, styles[o->format], o->origin, &why)) {
			cli_error("record: cannot write the record of %s: %s", owner, why.msg);
			set->broken = true;
			return;
		}
		fwrite(set->line.data, 1, set->line.len, stdout);
		return;
	}
	/* JSON: one object a line inside one array */
	obj = json_deep_copy(meta);
	json_object_set_new(obj, "owner", json_string(owner));
	json_object_set_new(obj, "ttl", json_integer((json_int_t)o->ttl));
	json_object_set_new(obj, "class", json_string("IN"));
	json_object_set_new(obj, "type", json_string(rr_type_name(type)));
	if (!rr_rdata_to_text(type, rdata->data, rdata->len, &set->line, &why)) {
		cli_error("record: cannot write the record of %s: %s", owner, why.msg);
		set->broken = true;
		json_decref(obj);
		return;
	}
	json_object_set_new(obj, "rdata", json_string(buf_str(&set->line)));
	buf_reset(&set->line);
	rr_generic_to_text(rdata->data, rdata->len, &set->line);
	json_object_set_new(obj, "generic", json_string(buf_str(&set->line)));
	if ((s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		util_panic("json_dumps: out of memory");
	printf("%s\n%s", set->n > 0 ? "," : "", s);
	free(s);
	json_decref(obj);
}

/* Close the output format; false (and a message) when anything could not be written. */
static bool
set_end(struct record_set *set)
{
	set_begin(set);
	if (set->o->format == FORMAT_JSON)
		fputs("\n]\n", stdout);
	else if (set->o->format == FORMAT_NSUPDATE)
		fputs("send\n", stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("record: cannot write the output: %s", strerror(errno));
		return false;
	}
	return !set->broken;
}

/* Add a record (meta is taken over): written at once in batch mode, else kept. */
static void
set_add(struct record_set *set, const char *owner, uint16_t type, const struct buf *rdata,
        json_t *meta)
{
	struct record_item *it;

	if (set->stream) {
		set_write(set, owner, type, rdata, meta);
		set->n++;
		json_decref(meta);
		return;
	}
	set->items = xreallocarray(set->items, set->n + 1, sizeof(*set->items));
	it = &set->items[set->n++];
	it->owner = xstrdup(owner);
	it->type = type;
	buf_init(&it->rdata);
	buf_append(&it->rdata, rdata->data, rdata->len);
	it->meta = meta;
}

/* Write the kept records, all or nothing; false when something could not be written. */
static bool
set_flush(struct record_set *set)
{
	size_t i, n = set->n;

	/* set_write counts from 0 again for the JSON separators */
	set->n = 0;
	for (i = 0; i < n; i++, set->n++)
		set_write(set, set->items[i].owner, set->items[i].type, &set->items[i].rdata,
		          set->items[i].meta);
	return set_end(set);
}

static void
set_clear(struct record_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->items[i].owner);
		buf_release(&set->items[i].rdata);
		json_decref(set->items[i].meta);
	}
	free(set->items);
	set->items = NULL;
	set->n = 0;
	buf_release(&set->line);
}

/* ---- addresses ---- */

/*
 * Add the records of one address: its owner(s) per --case, all with the same
 * RDATA.  False (nothing added) when the address cannot be canonicalised.
 */
static bool
add_address(struct record_set *set, const struct record_opts *o, const char *address, uint16_t type,
            const struct buf *rdata, json_t *meta, struct why *why)
{
	struct owner_address addr;
	struct buf owner = BUF_INIT, esc = BUF_INIT;
	enum owner_kind kind = type == RR_TYPE_SMIMEA ? OWNER_SMIMEA : OWNER_OPENPGPKEY;
	bool lower_differs;

	if (!owner_address_parse(&addr, address, why)) {
		why_prefix(why, "%s", escape_str(&esc, address));
		buf_release(&esc);
		json_decref(meta);
		return false;
	}
	json_object_set_new(meta, "address", json_string(escape_str(&esc, address)));
	lower_differs = owner_lower_differs(&addr);
	if (o->ocase != CASE_LOWER) {
		json_t *m = json_deep_copy(meta);

		owner_name_append(&owner, &addr, kind, OWNER_CASE_EXACT);
		json_object_set_new(m, "local_part", json_string("exact"));
		set_add(set, buf_str(&owner), type, rdata, m);
	}
	if (o->ocase == CASE_LOWER || (o->ocase == CASE_BOTH && lower_differs)) {
		json_t *m = json_deep_copy(meta);

		buf_reset(&owner);
		owner_name_append(&owner, &addr, kind, OWNER_CASE_LOWER);
		json_object_set_new(m, "local_part", json_string("lower-cased"));
		set_add(set, buf_str(&owner), type, rdata, m);
	}
	json_decref(meta);
	owner_address_clear(&addr);
	buf_release(&owner);
	buf_release(&esc);
	return true;
}

/*
 * The mailboxes a certificate names (rfc822Name and SmtpUTF8Mailbox SANs,
 * RFC 8398 section 3), raw.  A name with a NUL byte is skipped with a
 * warning: as a C string it would be another address.
 */
static char **
cert_mailboxes(X509 *cert, const char *what, size_t *n)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	struct buf esc = BUF_INIT;
	char **list = xcalloc(1, sizeof(*list));
	int i;

	*n = 0;
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		const ASN1_STRING *s = NULL;
		const unsigned char *p;
		size_t len;

		if (gn->type == GEN_EMAIL) {
			s = gn->d.rfc822Name;
		} else if (gn->type == GEN_OTHERNAME &&
		           OBJ_obj2nid(gn->d.otherName->type_id) == NID_id_on_SmtpUTF8Mailbox &&
		           gn->d.otherName->value != NULL &&
		           gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
			s = gn->d.otherName->value->value.utf8string;
		}
		if (s == NULL)
			continue;
		p = ASN1_STRING_get0_data(s);
		len = (size_t)ASN1_STRING_length(s);
		if (memchr(p, '\0', len) != NULL) {
			buf_reset(&esc);
			escape_append(&esc, p, len, 80);
			fprintf(stderr,
			        "danemail: warning: %s: email SAN with a NUL byte skipped: %s\n",
			        what, buf_str(&esc));
			continue;
		}
		list = xreallocarray(list, *n + 2, sizeof(*list));
		list[(*n)++] = xstrndup((const char *)p, len);
		list[*n] = NULL;
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	buf_release(&esc);
	return list;
}

static void
strings_free(char **list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- SMIMEA ---- */

/* Usage, selector and matching type: given, or the kind's default. */
static void
assoc_params(const struct record_opts *o, uint8_t *u, uint8_t *s, uint8_t *m)
{
	/* SMIMEA 3 0 0: the milter needs the certificate itself; TLSA 3 1 1 survives renewals */
	bool smimea = o->kind == RECORD_SMIMEA;

	*u = (uint8_t)(o->usage >= 0 ? o->usage : RR_USAGE_DANE_EE);
	*s = (uint8_t)(o->selector >= 0 ? o->selector
	                                : (smimea ? RR_SELECTOR_CERT : RR_SELECTOR_SPKI));
	*m = (uint8_t)(o->mtype >= 0 ? o->mtype : (smimea ? RR_MTYPE_FULL : RR_MTYPE_SHA256));
}

/*
 * Whether a certificate may be published in SMIMEA: its key must encrypt
 * (refused, unless --force); expiry and not-yet-valid only warn (a renewed
 * certificate may be on its way).  `what` names the input in messages.
 */
static bool
smimea_cert_ok(X509 *cert, const struct record_opts *o, const char *what, struct why *why)
{
	struct why cw;
	time_t now = time(NULL);

	if (cert_can_encrypt(cert, &cw) != CERT_CRYPT_OK) {
		if (!o->force)
			return why_set(why,
			               "the certificate's key cannot encrypt mail (%s); --force "
			               "publishes it anyway",
			               cw.msg);
		fprintf(stderr, "danemail: warning: %s: the key cannot encrypt mail (%s)\n", what,
		        cw.msg);
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0)
		fprintf(stderr,
		        "danemail: warning: %s: the certificate has expired (senders will not "
		        "encrypt to it)\n",
		        what);
	else if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0)
		fprintf(stderr, "danemail: warning: %s: the certificate is not valid yet\n", what);
	ERR_clear_error();
	return true;
}

/* The SMIMEA RDATA of a certificate. */
static bool
smimea_rdata(X509 *cert, const struct record_opts *o, struct buf *rdata, json_t *meta,
             struct why *why)
{
	uint8_t u, s, m;

	assoc_params(o, &u, &s, &m);
	buf_putc(rdata, u);
	buf_putc(rdata, s);
	buf_putc(rdata, m);
	if (!cert_association(cert, s, m, rdata, why))
		return false;
	json_object_set_new(meta, "usage", json_integer(u));
	json_object_set_new(meta, "selector", json_integer(s));
	json_object_set_new(meta, "matching_type", json_integer(m));
	return true;
}

/*
 * Records of one certificate for the given addresses, or for every email SAN
 * when n_addrs is 0.  `what` names the input in messages ("FILE" or
 * "BATCH:LINE"); false and a reason when nothing may be published.
 */
static bool
smimea_from_cert(struct record_set *set, const struct record_opts *o, X509 *cert, const char *path,
                 const char *what, const char *const *addrs, size_t n_addrs, struct why *why)
{
	struct buf rdata = BUF_INIT, esc = BUF_INIT;
	struct cert_info info;
	char **sans = NULL;
	size_t i, n_sans = 0, added = 0;
	json_t *meta = json_object();
	bool ok = false;

	if (!smimea_cert_ok(cert, o, what, why) || !smimea_rdata(cert, o, &rdata, meta, why))
		goto out;
	json_object_set_new(meta, "certificate", json_string(path));
	if (o->format == FORMAT_JSON) { /* describing a certificate costs more than its record */
		cert_info_get(&info, cert);
		json_object_set_new(meta, "subject", json_string(info.subject));
		json_object_set_new(meta, "sha256", json_string(info.sha256_fpr));
		cert_info_clear(&info);
	}
	if (n_addrs == 0) {
		sans = cert_mailboxes(cert, what, &n_sans);
		if (n_sans == 0) {
			why_set(why, "the certificate names no email address (no rfc822Name "
			             "SAN): give --email ADDR");
			goto out;
		}
		addrs = (const char *const *)sans;
		n_addrs = n_sans;
	}
	for (i = 0; i < n_addrs; i++) {
		struct why aw;

		if (add_address(set, o, addrs[i], RR_TYPE_SMIMEA, &rdata, json_deep_copy(meta),
		                &aw)) {
			if (n_sans == 0 && !cert_has_email(cert, addrs[i]))
				fprintf(stderr,
				        "danemail: warning: %s: the certificate does not name %s "
				        "(senders may refuse it)\n",
				        what, escape_str(&esc, addrs[i]));
			added++;
			continue;
		}
		/* one bad SAN does not hide the good ones; one bad --email fails the run */
		if (n_sans == 0) {
			why_set(why, "%s", aw.msg);
			goto out;
		}
		fprintf(stderr, "danemail: warning: %s: email SAN skipped: %s\n", what, aw.msg);
	}
	if (added == 0) {
		why_set(why, "no email SAN of the certificate is a usable address");
		goto out;
	}
	ok = true;
out:
	strings_free(sans, n_sans);
	json_decref(meta);
	buf_release(&rdata);
	buf_release(&esc);
	return ok;
}

/* Report one failed batch input: "record: WHAT: REASON". */
static void
batch_fail(struct record_set *set, const char *what, const char *reason)
{
	struct buf esc = BUF_INIT;

	cli_error("record: %s: %s", what, escape_str(&esc, reason));
	buf_release(&esc);
	set->failed++;
}

/* Remove leading and trailing white space (in place). */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* --batch FILE: "address,certfile" per line; a bad line is reported and skipped. */
static int
smimea_batch(struct record_set *set, const struct record_opts *o)
{
	struct buf esc = BUF_INIT, what = BUF_INIT, path = BUF_INIT, wesc = BUF_INIT;
	char *line = NULL;
	size_t cap = 0, lineno = 0, dirlen = 0;
	ssize_t got;
	FILE *fp;
	bool from_stdin = strcmp(o->batch, "-") == 0;

	escape_str(&esc, o->batch);
	if (from_stdin) {
		fp = stdin;
	} else {
		struct stat st;
		const char *slash;

		if ((fp = fopen(o->batch, "r")) == NULL || fstat(fileno(fp), &st) != 0 ||
		    S_ISDIR(st.st_mode)) {
			cli_error("record: %s: cannot read: %s", buf_str(&esc),
			          fp == NULL ? strerror(errno) : "is a directory");
			if (fp != NULL)
				fclose(fp);
			buf_release(&esc);
			return CLI_EXIT_NOINPUT;
		}
		/* relative certificate paths are relative to the batch file's folder */
		if ((slash = strrchr(o->batch, '/')) != NULL)
			dirlen = (size_t)(slash - o->batch) + 1;
	}
	while ((got = getline(&line, &cap, fp)) != -1) {
		char *s, *comma, *address, *file;
		struct why why;
		X509 *cert = NULL;

		lineno++;
		buf_reset(&what);
		buf_printf(&what, "%s:%zu", buf_str(&esc), lineno);
		if (memchr(line, '\0', (size_t)got) != NULL) {
			batch_fail(set, buf_str(&what), "line holds a NUL byte");
			continue;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((comma = strchr(s, ',')) == NULL) {
			batch_fail(set, buf_str(&what), "want 'address,certfile'");
			continue;
		}
		*comma = '\0';
		address = trim(s);
		file = trim(comma + 1);
		if (*address == '\0' || *file == '\0') {
			batch_fail(set, buf_str(&what),
			           "want 'address,certfile' (a field is empty)");
			continue;
		}
		buf_reset(&path);
		if (file[0] != '/')
			buf_append(&path, o->batch, dirlen);
		buf_puts(&path, file);
		if ((cert = cert_load_file(buf_str(&path), &why)) == NULL) {
			batch_fail(set, buf_str(&what), why.msg);
			continue;
		}
		escape_str(&wesc, buf_str(&path));
		if (!smimea_from_cert(set, o, cert, buf_str(&wesc), buf_str(&what),
		                      (const char *const *)&address, 1, &why))
			batch_fail(set, buf_str(&what), why.msg);
		X509_free(cert);
	}
	if (ferror(fp)) {
		cli_error("record: %s: read error: %s", buf_str(&esc), strerror(errno));
		set->failed++;
	}
	if (!from_stdin)
		fclose(fp);
	free(line);
	buf_release(&esc);
	buf_release(&what);
	buf_release(&path);
	buf_release(&wesc);
	return 0;
}

/* Whether a file name ends in .pem, .crt or .der (any case). */
static bool
cert_file_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 &&
	       (strcasecmp(name + n - 4, ".pem") == 0 || strcasecmp(name + n - 4, ".crt") == 0 ||
	        strcasecmp(name + n - 4, ".der") == 0);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --batch-dir DIR: every certificate file, one record per email SAN, in name order. */
static int
smimea_batch_dir(struct record_set *set, const struct record_opts *o)
{
	struct buf esc = BUF_INIT, path = BUF_INIT, pesc = BUF_INIT;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	DIR *dir;

	escape_str(&esc, o->batch_dir);
	if ((dir = opendir(o->batch_dir)) == NULL) {
		cli_error("record: %s: cannot read the folder: %s", buf_str(&esc), strerror(errno));
		buf_release(&esc);
		return CLI_EXIT_NOINPUT;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!cert_file_name(de->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		struct why why;
		struct stat st;
		X509 *cert;

		buf_reset(&path);
		buf_printf(&path, "%s/%s", o->batch_dir, names[i]);
		escape_str(&pesc, buf_str(&path));
		if (stat(buf_str(&path), &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((cert = cert_load_file(buf_str(&path), &why)) == NULL) {
			/* the reason already names the file */
			set->failed++;
			cli_error("record: %s", why.msg);
			continue;
		}
		if (!smimea_from_cert(set, o, cert, buf_str(&pesc), buf_str(&pesc), NULL, 0, &why))
			batch_fail(set, buf_str(&pesc), why.msg);
		X509_free(cert);
	}
	if (n == 0)
		fprintf(stderr, "danemail: warning: %s: no *.pem, *.crt or *.der files\n",
		        buf_str(&esc));
	strings_free(names, n);
	buf_release(&esc);
	buf_release(&path);
	buf_release(&pesc);
	return 0;
}

static int
record_smimea(struct record_set *set, const struct record_opts *o)
{
	struct buf esc = BUF_INIT;
	struct why why;
	X509 *cert;
	int rc;

	if (o->batch != NULL)
		return smimea_batch(set, o);
	if (o->batch_dir != NULL)
		return smimea_batch_dir(set, o);
	if ((rc = record_load_cert("record", o->cert, false, &cert)) != 0)
		return rc;
	escape_str(&esc, o->cert);
	if (!smimea_from_cert(set, o, cert, buf_str(&esc), buf_str(&esc), o->emails, o->n_emails,
	                      &why)) {
		cli_error("record: %s: %s", buf_str(&esc), why.msg);
		rc = CLI_EXIT_DATAERR;
	}
	X509_free(cert);
	buf_release(&esc);
	return rc;
}

/* ---- OPENPGPKEY ---- */

/*
 * Undo escape_append (printable ASCII as is, "\\" for a backslash, "\xNN"
 * for any other byte): pgpkey_info_get hands out user IDs escaped, and the
 * address must be hashed from the bytes the key holds.
 */
static bool
unescape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	while (*s) {
		if (*s != '\\') {
			buf_putc(out, *s++);
		} else if (s[1] == '\\') {
			buf_putc(out, '\\');
			s += 2;
		} else if (s[1] == 'x' && s[2] && s[3] && strchr(hex, s[2]) && strchr(hex, s[3])) {
			buf_putc(out,
			         (int)((strchr(hex, s[2]) - hex) << 4 | (strchr(hex, s[3]) - hex)));
			s += 4;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * The address of a user ID: the text inside the last <...>, or the whole user
 * ID when it is a bare address.  NULL when there is none.
 */
static char *
uid_address(const char *uid)
{
	const char *lt = strrchr(uid, '<'), *gt;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL && gt > lt + 1 &&
	    memchr(lt + 1, '@', (size_t)(gt - lt - 1)) != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	if (lt == NULL && strchr(uid, '@') != NULL && strpbrk(uid, " \t<>") == NULL)
		return xstrdup(uid);
	return NULL;
}

static int
record_openpgpkey(struct record_set *set, const struct record_opts *o)
{
	struct buf rdata = BUF_INIT, esc = BUF_INIT, raw = BUF_INIT, aesc = BUF_INIT;
	struct pgpkey_info info;
	struct pgpkey *key;
	struct why why;
	const char **addrs = o->emails;
	char **found = NULL;
	size_t n_addrs = o->n_emails, n_found = 0, i, j, added = 0;
	time_t now = time(NULL);
	enum pgpkey_usable u;
	json_t *meta;
	int rc;

	if ((rc = record_load_pgpkey("record", o->key, &key)) != 0)
		return rc;
	escape_str(&esc, o->key);
	pgpkey_info_get(&info, key, now);
	/* the key itself first: no address makes an unusable key usable */
	if ((u = pgpkey_check(key, NULL, now, &why)) != PGPKEY_USABLE_OK) {
		cli_error("record: %s: key %s cannot be used to encrypt: %s", buf_str(&esc),
		          info.fingerprint, why.msg);
		rc = CLI_EXIT_DATAERR;
		goto out;
	}
	if (n_addrs == 0) {
		for (i = 0; i < info.n_uids; i++) {
			char *a;

			/* a NUL byte would cut the user ID short as a C string */
			buf_reset(&raw);
			if (!unescape(&raw, info.uids[i]) ||
			    memchr(raw.data, '\0', raw.len) != NULL ||
			    (a = uid_address(buf_str(&raw))) == NULL) {
				fprintf(stderr,
				        "danemail: warning: %s: user ID without an address "
				        "skipped: %s\n",
				        buf_str(&esc), info.uids[i]);
				continue;
			}
			for (j = 0; j < n_found && strcmp(found[j], a) != 0; j++)
				;
			if (j < n_found) {
				free(a);
				continue;
			}
			found = xreallocarray(found, n_found + 1, sizeof(*found));
			found[n_found++] = a;
		}
		if (n_found == 0) {
			cli_error("record: %s: no user ID of the key holds an email address: give "
			          "--email ADDR",
			          buf_str(&esc));
			rc = CLI_EXIT_DATAERR;
			goto out;
		}
		addrs = (const char **)found;
		n_addrs = n_found;
	}
	if (!pgpkey_export_minimal(key, &rdata, &why)) {
		cli_error("record: %s: %s", buf_str(&esc), why.msg);
		rc = CLI_EXIT_DATAERR;
		goto out;
	}
	meta = json_object();
	json_object_set_new(meta, "key", json_string(buf_str(&esc)));
	json_object_set_new(meta, "fingerprint", json_string(info.fingerprint));
	json_object_set_new(meta, "octets", json_integer((json_int_t)rdata.len));
	for (i = 0; i < n_addrs; i++) {
		escape_str(&aesc, addrs[i]);
		/* RFC 7929: the key's user ID should name the address looked up */
		if ((u = pgpkey_check(key, addrs[i], now, &why)) != PGPKEY_USABLE_OK ||
		    !add_address(set, o, addrs[i], RR_TYPE_OPENPGPKEY, &rdata, json_deep_copy(meta),
		                 &why)) {
			/*
			 * An address found in a user ID that is revoked, not validly
			 * self-signed or not canonicalisable: skip it, keep the others.
			 * An address asked for with --email must work.
			 */
			if (n_found > 0) {
				fprintf(stderr, "danemail: warning: %s: user ID %s skipped: %s\n",
				        buf_str(&esc), buf_str(&aesc),
				        u == PGPKEY_USABLE_NO_UID ? "not valid (revoked or not "
				                                    "self-signed)"
				                                  : why.msg);
				continue;
			}
			cli_error("record: %s: %s: %s", buf_str(&esc), buf_str(&aesc), why.msg);
			rc = CLI_EXIT_DATAERR;
			json_decref(meta);
			goto out;
		}
		added++;
	}
	json_decref(meta);
	if (added == 0) {
		cli_error("record: %s: no valid user ID names an address", buf_str(&esc));
		rc = CLI_EXIT_DATAERR;
	}
out:
	strings_free(found, n_found);
	pgpkey_info_clear(&info);
	pgpkey_free(key);
	buf_release(&rdata);
	buf_release(&esc);
	buf_release(&raw);
	buf_release(&aesc);
	return rc;
}

/* ---- TLSA ---- */

/* What a TLSA record is made from: a certificate, or a bare public key. */
struct tlsa_source {
	X509 *cert;
	EVP_PKEY *pkey;
	char *label; /* escaped, for messages and JSON */
};

static void
tlsa_source_clear(struct tlsa_source *src)
{
	X509_free(src->cert);
	EVP_PKEY_free(src->pkey);
	free(src->label);
	memset(src, 0, sizeof(*src));
}

/* A PEM pass phrase callback that refuses: never prompt on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Load a public key, a private key (its public half is used) or a
 * certificate from PEM or DER.  Encrypted private keys are refused: the
 * public key is all a record needs, and danemail never asks for pass phrases.
 */
static int
tlsa_load_key(const char *path, struct tlsa_source *src)
{
	struct buf data = BUF_INIT, esc = BUF_INIT;
	const unsigned char *p;
	const char *text;
	struct why why;
	BIO *bio;
	int rc;

	memset(src, 0, sizeof(*src));
	if ((rc = record_read_file("record", path, &data)) != 0)
		goto out;
	escape_str(&esc, path);
	src->label = xstrdup(buf_str(&esc));
	text = buf_str(&data);
	if (data.len > INT_MAX) /* record_read_file stops at RECORD_FILE_MAX */
		util_panic("tlsa_load_key: %zu bytes read", data.len);
	if (memmem(data.data, data.len, "-----BEGIN", 10) != NULL) {
		if (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
		    strstr(text, "Proc-Type: 4,ENCRYPTED") != NULL) {
			cli_error("record: %s: the private key is encrypted: give its public key "
			          "(openssl pkey -in FILE -pubout)",
			          buf_str(&esc));
			rc = CLI_EXIT_DATAERR;
			goto out;
		}
		if (strstr(text, "-----BEGIN CERTIFICATE-----") != NULL) {
			if ((src->cert = cert_load_file(path, &why)) == NULL)
				goto garbage;
			goto out;
		}
		bio = BIO_new_mem_buf(data.data, (int)data.len);
		if (bio == NULL)
			util_panic("BIO_new_mem_buf: out of memory");
		if (strstr(text, "PRIVATE KEY-----") != NULL)
			src->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		else
			src->pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
		why_set(&why, "no readable public or private key in the PEM text");
	} else {
		p = data.data;
		src->pkey = d2i_PUBKEY(NULL, &p, (long)data.len);
		if (src->pkey != NULL && p != data.data + data.len) {
			EVP_PKEY_free(src->pkey);
			src->pkey = NULL;
		}
		if (src->pkey == NULL) {
			p = data.data;
			src->pkey = d2i_AutoPrivateKey(NULL, &p, (long)data.len);
		}
		if (src->pkey == NULL)
			src->cert = cert_from_der(data.data, data.len, &why);
		if (src->pkey == NULL && src->cert == NULL)
			why_set(&why, "neither a PEM nor a DER key or certificate");
	}
	ERR_clear_error();
	if (src->pkey != NULL || src->cert != NULL)
		goto out;
garbage:
	cli_error("record: %s: %s", buf_str(&esc), why.msg);
	rc = CLI_EXIT_DATAERR;
out:
	ERR_clear_error();
	if (rc != 0)
		tlsa_source_clear(src);
	buf_release(&data);
	buf_release(&esc);
	return rc;
}

/* Append the TLSA RDATA of a source; false when the source cannot supply the selector. */
static bool
tlsa_rdata(const struct tlsa_source *src, const struct record_opts *o, struct buf *rdata,
           struct why *why)
{
	uint8_t u, s, m;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int len;

	assoc_params(o, &u, &s, &m);
	buf_putc(rdata, u);
	buf_putc(rdata, s);
	buf_putc(rdata, m);
	if (src->cert != NULL)
		return cert_association(src->cert, s, m, rdata, why);
	/* a bare key: RFC 6698 section 2.1.2 selector 1, SubjectPublicKeyInfo */
	if (s != RR_SELECTOR_SPKI)
		return why_set(why, "a key has no certificate: only selector 1 (SPKI) is possible");
	if ((len = i2d_PUBKEY(src->pkey, &der)) <= 0) {
		ERR_clear_error();
		return why_set(why, "cannot encode the public key");
	}
	if (m == RR_MTYPE_FULL)
		buf_append(rdata, der, (size_t)len);
	else if (EVP_Digest(der, (size_t)len, md, &md_len,
	                    m == RR_MTYPE_SHA256 ? EVP_sha256() : EVP_sha512(), NULL) == 1)
		buf_append(rdata, md, md_len);
	else
		len = -1;
	OPENSSL_free(der);
	ERR_clear_error();
	return len > 0 ? true : why_set(why, "cannot hash the public key");
}

/* The certificate a TLSA record of this usage names in a chain the server sent. */
static X509 *
chain_pick(STACK_OF(X509) * chain, unsigned usage, const char *what)
{
	int n = sk_X509_num(chain);
	X509 *cert;

	/*
	 * Usages 1 and 3 name the server's own certificate, the first of the chain.
	 * Usages 0 and 2 name a trust anchor: we take the LAST certificate the
	 * server sends, the top of the chain it presents (RFC 7671 section 5.2.2
	 * asks servers running DANE-TA to include the trust anchor, root or
	 * intermediate, in their chain).
	 */
	if (usage == RR_USAGE_DANE_TA || usage == RR_USAGE_PKIX_TA) {
		cert = sk_X509_value(chain, n - 1);
		if (n == 1)
			fprintf(stderr,
			        "danemail: warning: %s sent only its own certificate: the trust "
			        "anchor record names it (fine only if it is self-signed)\n",
			        what);
	} else {
		cert = sk_X509_value(chain, 0);
	}
	X509_up_ref(cert);
	return cert;
}

/* Add the TLSA records of one server (host, port): the current source and the next. */
static bool
tlsa_for_host(struct record_set *set, const struct record_opts *o, struct dns_resolver *res,
              const char *host, unsigned port, const struct tlsa_source *given,
              const struct tlsa_source *next, int *rc)
{
	struct buf owner = BUF_INIT, rdata = BUF_INIT, nrdata = BUF_INIT, what = BUF_INIT;
	struct tlsa_source fetched = {NULL, NULL, NULL};
	const struct tlsa_source *src = given;
	struct why why;
	uint8_t u, s, m;
	json_t *meta;
	bool ok = false;

	assoc_params(o, &u, &s, &m);
	buf_printf(&what, "%s:%u", host, port);
	if (!owner_tlsa(&owner, host, port, "tcp", &why)) {
		cli_error("record: %s: %s", buf_str(&what), why.msg);
		*rc = CLI_EXIT_DATAERR;
		goto out;
	}
	if (src == NULL) {
		enum cli_exit fail = CLI_EXIT_UNAVAILABLE;
		STACK_OF(X509) *chain =
		        cli_fetch_chain(res, host, port, FETCH_TIMEOUT_MS, &fail, &why);

		if (chain == NULL || sk_X509_num(chain) == 0) {
			cli_error("record: %s: cannot fetch the certificate chain: %s",
			          buf_str(&what),
			          chain == NULL ? why.msg : "the server sent no certificate");
			sk_X509_pop_free(chain, X509_free);
			*rc = (int)fail;
			goto out;
		}
		fetched.cert = chain_pick(chain, u, buf_str(&what));
		fetched.label = xstrdup(buf_str(&what));
		sk_X509_pop_free(chain, X509_free);
		src = &fetched;
	}
	if (!tlsa_rdata(src, o, &rdata, &why)) {
		cli_error("record: %s: %s", src->label, why.msg);
		*rc = CLI_EXIT_DATAERR;
		goto out;
	}
	if (next != NULL && !tlsa_rdata(next, o, &nrdata, &why)) {
		cli_error("record: %s: %s", next->label, why.msg);
		*rc = CLI_EXIT_DATAERR;
		goto out;
	}
	if (next != NULL && nrdata.len == rdata.len &&
	    memcmp(nrdata.data, rdata.data, rdata.len) == 0) {
		fprintf(stderr,
		        "danemail: warning: %s: the next key is the current key (one record)\n",
		        buf_str(&what));
		next = NULL;
	}
	meta = json_object();
	json_object_set_new(meta, "host", json_string(host));
	json_object_set_new(meta, "port", json_integer(port));
	json_object_set_new(meta, "usage", json_integer(u));
	json_object_set_new(meta, "selector", json_integer(s));
	json_object_set_new(meta, "matching_type", json_integer(m));
	if (next != NULL) {
		json_t *nm = json_deep_copy(meta);

		json_object_set_new(nm, "key", json_string("next"));
		json_object_set_new(nm, "source", json_string(next->label));
		json_object_set_new(meta, "key", json_string("current"));
		json_object_set_new(meta, "source", json_string(src->label));
		set_add(set, buf_str(&owner), RR_TYPE_TLSA, &rdata, meta);
		set_add(set, buf_str(&owner), RR_TYPE_TLSA, &nrdata, nm);
	} else {
		json_object_set_new(meta, "source", json_string(src->label));
		set_add(set, buf_str(&owner), RR_TYPE_TLSA, &rdata, meta);
	}
	ok = true;
out:
	tlsa_source_clear(&fetched);
	buf_release(&owner);
	buf_release(&rdata);
	buf_release(&nrdata);
	buf_release(&what);
	return ok;
}

/* An MX host of the answer. */
struct mx_host {
	unsigned pref;
	char *name; /* presentation form with final dot */
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->name, y->name);
}

/*
 * --mx DOMAIN: the MX hosts, DNSSEC-validated.  Bogus or failed lookups stop
 * here (records built on an attacker's MX set would publish the attacker's
 * servers); an insecure MX set only warns: RFC 7672 section 2.2 has senders
 * use DANE only for MX hosts found through a secure MX RRset, so the records
 * would be published but not used.
 */
static int
tlsa_mx(struct record_set *set, const struct record_opts *o, const struct tlsa_source *given,
        const struct tlsa_source *next)
{
	struct dns_resolver *res;
	struct dns_answer ans;
	struct buf esc = BUF_INIT;
	struct mx_host *hosts = NULL;
	struct why why;
	size_t i, n = 0;
	int rc = 0, hrc;

	escape_str(&esc, o->mx);
	if (!owner_check_domain(o->mx, &why)) {
		cli_error("record: --mx %s: %s", buf_str(&esc), why.msg);
		buf_release(&esc);
		return CLI_EXIT_USAGE;
	}
	if ((res = dns_resolver_new(&o->dns, &why)) == NULL) {
		cli_error("record: %s", why.msg);
		buf_release(&esc);
		return CLI_EXIT_USAGE;
	}
	dns_lookup(res, o->mx, RR_TYPE_MX, &ans);
	if (ans.sec == DNS_SEC_BOGUS || ans.outcome != DNS_OUTCOME_DATA) {
		rc = cli_exit_for_answer(&ans);
		cli_error("record: %s MX: %s, %s%s%s%s", buf_str(&esc), dns_sec_name(ans.sec),
		          dns_outcome_name(ans.outcome), ans.why ? ": " : "",
		          ans.why ? ans.why : "",
		          ans.sec != DNS_SEC_BOGUS && (ans.outcome == DNS_OUTCOME_NODATA ||
		                                       ans.outcome == DNS_OUTCOME_NXDOMAIN)
		                  ? ": no MX hosts (for a domain that takes mail at its own "
		                    "address, use --host)"
		                  : "");
		goto out;
	}
	if (ans.sec != DNS_SEC_SECURE)
		fprintf(stderr,
		        "danemail: warning: the MX RRset of %s is %s: senders use DANE only for "
		        "MX hosts found through a DNSSEC-signed MX RRset (RFC 7672 section 2.2)\n",
		        buf_str(&esc), dns_sec_name(ans.sec));
	for (i = 0; i < ans.n_rrs; i++) {
		const struct dns_rr *rr = &ans.rrs[i];
		struct buf name = BUF_INIT;
		size_t pos = 2;

		if (rr->len < 3 || !rr_name_to_text(rr->rdata, rr->len, &pos, &name, &why) ||
		    pos != rr->len) {
			cli_error("record: %s MX: malformed record skipped", buf_str(&esc));
			buf_release(&name);
			set->failed++;
			continue;
		}
		hosts = xreallocarray(hosts, n + 1, sizeof(*hosts));
		hosts[n].pref = (unsigned)(rr->rdata[0] << 8 | rr->rdata[1]);
		hosts[n++].name = (char *)buf_steal(&name, NULL);
	}
	/* RFC 7505: a null MX ("0 .") says the domain accepts no mail */
	if (n == 1 && strcmp(hosts[0].name, ".") == 0) {
		cli_error("record: %s has a null MX (RFC 7505): it accepts no mail", buf_str(&esc));
		rc = CLI_EXIT_DATAERR;
		goto out;
	}
	qsort(hosts, n, sizeof(*hosts), mx_cmp);
	for (i = 0; i < n; i++) {
		hrc = 0;
		if (i > 0 && strcasecmp(hosts[i].name, hosts[i - 1].name) == 0)
			continue;
		if (!tlsa_for_host(set, o, res, hosts[i].name, o->port ? o->port : 25, given, next,
		                   &hrc)) {
			set->failed++;
			if (rc == 0)
				rc = hrc;
		}
	}
out:
	for (i = 0; i < n; i++)
		free(hosts[i].name);
	free(hosts);
	dns_answer_clear(&ans);
	dns_resolver_free(res);
	buf_release(&esc);
	return rc;
}

/* RFC 7672 section 3.1.3: SMTP clients do not use PKIX-TA(0) and PKIX-EE(1). */
static void
usage_warning(uint8_t usage, unsigned long port)
{
	if (usage < RR_USAGE_DANE_TA && port == 25)
		fprintf(stderr,
		        "danemail: warning: usage %u (%s) is unusable for SMTP (RFC 7672 "
		        "section 3.1.3): use 3 1 1 or 2 0 1\n",
		        usage, rr_usage_name(usage));
}

static int
record_tlsa(struct record_set *set, const struct record_opts *o)
{
	struct tlsa_source given = {NULL, NULL, NULL}, next = {NULL, NULL, NULL};
	struct dns_resolver *res = NULL;
	struct why why;
	struct buf host = BUF_INIT, esc = BUF_INIT;
	unsigned long port = o->port ? o->port : 25;
	bool have_given = o->cert != NULL || o->key != NULL;
	uint8_t u, s, m;
	int rc = 0;

	assoc_params(o, &u, &s, &m);
	if (o->cert != NULL) {
		given.label = xstrdup(escape_str(&esc, o->cert));
		/* usages 0 and 2 name the trust anchor: the top of a chain file, as of a fetched
		 * chain */
		if ((rc = record_load_cert("record", o->cert,
		                           u == RR_USAGE_PKIX_TA || u == RR_USAGE_DANE_TA,
		                           &given.cert)) != 0)
			goto out;
	} else if (o->key != NULL && (rc = tlsa_load_key(o->key, &given)) != 0) {
		goto out;
	}
	if (o->next_key != NULL && (rc = tlsa_load_key(o->next_key, &next)) != 0)
		goto out;
	if (o->mx != NULL) {
		usage_warning(u, port);
		rc = tlsa_mx(set, o, have_given ? &given : NULL, o->next_key ? &next : NULL);
		goto out;
	}
	{
		const char *colon = strrchr(o->host, ':');

		buf_puts(&host, o->host);
		if (colon != NULL) {
			char *end;
			unsigned long p = strtoul(colon + 1, &end, 10);

			if (*end || colon[1] == '\0' || p == 0 || p > 65535 ||
			    (o->port && o->port != p)) {
				cli_error("record: bad port in --host %s%s",
				          escape_str(&esc, o->host),
				          o->port && o->port != p ? " (differs from --port)" : "");
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			port = p;
			host.len = (size_t)(colon - o->host);
			host.data[host.len] = '\0';
		}
	}
	usage_warning(u, port);
	/* the chain is fetched from the host's addresses: look them up, validated */
	if (!have_given && (res = dns_resolver_new(&o->dns, &why)) == NULL) {
		cli_error("record: %s", why.msg);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (!tlsa_for_host(set, o, res, buf_str(&host), (unsigned)port, have_given ? &given : NULL,
	                   o->next_key ? &next : NULL, &rc) &&
	    rc == 0)
		rc = CLI_EXIT_SOFTWARE;
out:
	dns_resolver_free(res);
	tlsa_source_clear(&given);
	tlsa_source_clear(&next);
	buf_release(&host);
	buf_release(&esc);
	return rc;
}

/* ---- command line ---- */

/* A decimal number in [min, max]; false if text is anything else. */
static bool
parse_number(const char *text, unsigned long min, unsigned long max, unsigned long *value)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*value = v;
	return true;
}

/* nsupdate's server line: a host name or address, optionally "@port"; nothing else. */
static bool
server_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	unsigned long port;
	size_t i, n = at ? (size_t)(at - s) : strlen(s);

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-:_", s[i]))
			return false;
	return at == NULL || parse_number(at + 1, 1, 65535, &port);
}

enum {
	OPT_FORMAT = 256,
	OPT_TTL,
	OPT_ORIGIN,
	OPT_SERVER,
	OPT_ZONE,
	OPT_CASE,
	OPT_FORCE,
	OPT_EMAIL,
	OPT_USAGE,
	OPT_SELECTOR,
	OPT_MATCH,
	OPT_CERT,
	OPT_KEY,
	OPT_NEXT_KEY,
	OPT_HOST,
	OPT_PORT,
	OPT_MX,
	OPT_BATCH,
	OPT_BATCH_DIR,
	OPT_CONFIG,
	OPT_TRUST_ANCHOR,
	OPT_FORWARDER,
	OPT_JSON,
};

/* Parse argv into o; 0, or an exit code after a message. */
static int
record_parse(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
	        {"format", required_argument, NULL, OPT_FORMAT},
	        {"ttl", required_argument, NULL, OPT_TTL},
	        {"origin", required_argument, NULL, OPT_ORIGIN},
	        {"server", required_argument, NULL, OPT_SERVER},
	        {"zone", required_argument, NULL, OPT_ZONE},
	        {"case", required_argument, NULL, OPT_CASE},
	        {"force", no_argument, NULL, OPT_FORCE},
	        {"email", required_argument, NULL, OPT_EMAIL},
	        {"usage", required_argument, NULL, OPT_USAGE},
	        {"selector", required_argument, NULL, OPT_SELECTOR},
	        {"match", required_argument, NULL, OPT_MATCH},
	        {"mtype", required_argument, NULL, OPT_MATCH},
	        {"cert", required_argument, NULL, OPT_CERT},
	        {"key", required_argument, NULL, OPT_KEY},
	        {"next-key", required_argument, NULL, OPT_NEXT_KEY},
	        {"host", required_argument, NULL, OPT_HOST},
	        {"port", required_argument, NULL, OPT_PORT},
	        {"mx", required_argument, NULL, OPT_MX},
	        {"batch", required_argument, NULL, OPT_BATCH},
	        {"batch-dir", required_argument, NULL, OPT_BATCH_DIR},
	        {"config", required_argument, NULL, OPT_CONFIG},
	        {"trust-anchor", required_argument, NULL, OPT_TRUST_ANCHOR},
	        {"forwarder", required_argument, NULL, OPT_FORWARDER},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static const char *const formats[] = {"zone", "generic", "nsupdate", "json"};
	static const char *const cases[] = {"exact", "lower", "both"};
	struct buf esc = BUF_INIT;
	struct why why;
	unsigned long v;
	const char *type = NULL;
	int c, rc = CLI_EXIT_USAGE;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			for (i = 0; i < 4 && strcmp(optarg, formats[i]) != 0; i++)
				;
			if (i == 4) {
				cli_error("record: --format: want zone, generic, nsupdate or json");
				goto out;
			}
			o->format = (enum record_format)i;
			break;
		case OPT_JSON:
			o->format = FORMAT_JSON;
			break;
		case OPT_TTL:
			if (!parse_number(optarg, 0, ZONEFMT_TTL_MAX, &o->ttl)) {
				cli_error("record: --ttl: want 0-%lu seconds", ZONEFMT_TTL_MAX);
				goto out;
			}
			break;
		case OPT_ORIGIN:
		case OPT_ZONE:
			if (!owner_check_domain(optarg, &why)) {
				cli_error("record: --%s %s: %s", c == OPT_ZONE ? "zone" : "origin",
				          escape_str(&esc, optarg), why.msg);
				goto out;
			}
			*(c == OPT_ZONE ? &o->zone : &o->origin) = optarg;
			break;
		case OPT_SERVER:
			if (!server_ok(optarg)) {
				cli_error("record: --server %s: want a host name or address, "
				          "optionally @PORT",
				          escape_str(&esc, optarg));
				goto out;
			}
			o->server = optarg;
			break;
		case OPT_CASE:
			for (i = 0; i < 3 && strcmp(optarg, cases[i]) != 0; i++)
				;
			if (i == 3) {
				cli_error("record: --case: want exact, lower or both");
				goto out;
			}
			o->ocase = (enum record_case)i;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_EMAIL:
			o->emails = xreallocarray(o->emails, o->n_emails + 1, sizeof(*o->emails));
			o->emails[o->n_emails++] = optarg;
			break;
		case OPT_USAGE:
		case OPT_SELECTOR:
		case OPT_MATCH:
			/* the values this code can compute (RFC 6698 sections 2.1.1-2.1.3) */
			if (!parse_number(optarg, 0,
			                  c == OPT_USAGE      ? 3
			                  : c == OPT_SELECTOR ? 1
			                                      : 2,
			                  &v)) {
				cli_error("record: --%s: want %s",
				          c == OPT_USAGE      ? "usage"
				          : c == OPT_SELECTOR ? "selector"
				                              : "match",
				          c == OPT_USAGE
				                  ? "0-3 (PKIX-TA, PKIX-EE, DANE-TA, DANE-EE)"
				          : c == OPT_SELECTOR
				                  ? "0 (full certificate) or 1 (SPKI)"
				                  : "0 (full), 1 (SHA2-256) or 2 (SHA2-512)");
				goto out;
			}
			*(c == OPT_USAGE      ? &o->usage
			  : c == OPT_SELECTOR ? &o->selector
			                      : &o->mtype) = (int)v;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_NEXT_KEY:
			o->next_key = optarg;
			break;
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PORT:
			if (!parse_number(optarg, 1, 65535, &o->port)) {
				cli_error("record: --port: want 1-65535");
				goto out;
			}
			break;
		case OPT_MX:
			o->mx = optarg;
			break;
		case OPT_BATCH:
			o->batch = optarg;
			break;
		case OPT_BATCH_DIR:
			o->batch_dir = optarg;
			break;
		case OPT_CONFIG:
			o->dns.unbound_conf = optarg;
			break;
		case OPT_TRUST_ANCHOR:
			o->dns.trust_anchor = optarg;
			break;
		case OPT_FORWARDER:
			o->dns.forwarder = optarg;
			break;
		case 'h':
			record_usage(stdout);
			rc = -1;
			goto out;
		default:
			record_usage(stderr);
			goto out;
		}
	}
	if (argc - optind != 1) {
		cli_error("record: want one record type: smimea, openpgpkey or tlsa (try danemail "
		          "record --help)");
		goto out;
	}
	type = argv[optind];
	if (strcasecmp(type, "smimea") == 0) {
		o->kind = RECORD_SMIMEA;
	} else if (strcasecmp(type, "openpgpkey") == 0) {
		o->kind = RECORD_OPENPGPKEY;
	} else if (strcasecmp(type, "tlsa") == 0) {
		o->kind = RECORD_TLSA;
	} else {
		cli_error("record: unknown record type '%s' (smimea, openpgpkey or tlsa)",
		          escape_str(&esc, type));
		goto out;
	}
	if ((o->server || o->zone) && o->format != FORMAT_NSUPDATE) {
		cli_error("record: --server and --zone go with --format nsupdate");
		goto out;
	}
	switch (o->kind) {
	case RECORD_SMIMEA:
		if ((o->cert != NULL) + (o->batch != NULL) + (o->batch_dir != NULL) != 1) {
			cli_error(
			        "record smimea: want one of --cert FILE, --batch FILE, --batch-dir "
			        "DIR");
			goto out;
		}
		if ((o->batch || o->batch_dir) && o->n_emails > 0) {
			cli_error(
			        "record smimea: --email does not go with --batch/--batch-dir (the "
			        "batch names the addresses)");
			goto out;
		}
		if (o->key || o->next_key || o->host || o->mx || o->port) {
			cli_error(
			        "record smimea: --key, --next-key, --host, --port and --mx are for "
			        "openpgpkey and tlsa");
			goto out;
		}
		break;
	case RECORD_OPENPGPKEY:
		if (o->key == NULL) {
			cli_error("record openpgpkey: want --key FILE");
			goto out;
		}
		if (o->cert || o->next_key || o->host || o->mx || o->port || o->batch ||
		    o->batch_dir || o->usage >= 0 || o->selector >= 0 || o->mtype >= 0 ||
		    o->force) {
			cli_error("record openpgpkey: only --key, --email and the output options "
			          "apply");
			goto out;
		}
		break;
	case RECORD_TLSA:
		if ((o->host != NULL) + (o->mx != NULL) != 1) {
			cli_error(
			        "record tlsa: name the server: --host HOST[:PORT] or --mx DOMAIN");
			goto out;
		}
		if (o->cert && o->key) {
			cli_error("record tlsa: --cert or --key, not both");
			goto out;
		}
		if (o->n_emails || o->batch || o->batch_dir || o->ocase != CASE_EXACT || o->force) {
			cli_error("record tlsa: --email, --batch, --batch-dir, --case and --force "
			          "are "
			          "for smimea and openpgpkey");
			goto out;
		}
		if (o->key && o->selector == RR_SELECTOR_CERT) {
			cli_error(
			        "record tlsa: a key has no certificate: only selector 1 (SPKI) is "
			        "possible with --key");
			goto out;
		}
		break;
	}
	rc = 0;
out:
	buf_release(&esc);
	return rc;
}

int
cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct record_set set;
	size_t n;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&set, 0, sizeof(set));
	o.ttl = DEFAULT_TTL;
	o.usage = o.selector = o.mtype = -1;
	if ((rc = record_parse(argc, argv, &o)) != 0) {
		free(o.emails);
		return rc < 0 ? 0 : rc;
	}
	set.o = &o;
	/* batch mode: records are written as they come, bad inputs reported between them */
	set.stream = o.batch != NULL || o.batch_dir != NULL;
	switch (o.kind) {
	case RECORD_SMIMEA:
		rc = record_smimea(&set, &o);
		break;
	case RECORD_OPENPGPKEY:
		rc = record_openpgpkey(&set, &o);
		break;
	case RECORD_TLSA:
		rc = record_tlsa(&set, &o);
		break;
	}
	n = set.n;
	/*
	 * One input: all its records or none.  Batch and --mx: what could be made
	 * is written, the failures decide the exit code.
	 */
	if (set.stream) {
		if (set.begun && !set_end(&set))
			rc = CLI_EXIT_SOFTWARE;
	} else if ((rc == 0 || set.failed > 0) && set.n > 0 && !set_flush(&set)) {
		rc = CLI_EXIT_SOFTWARE;
	}
	if (rc == 0 && set.failed > 0) {
		cli_error("record: %zu input%s failed, %zu record%s written", set.failed,
		          set.failed == 1 ? "" : "s", n, n == 1 ? "" : "s");
		rc = CLI_EXIT_DATAERR;
	}
	if (rc == 0 && n == 0) {
		cli_error("record: no records to write");
		rc = CLI_EXIT_DATAERR;
	}
	if (set.stream)
		set.n = 0; /* nothing kept */
	set_clear(&set);
	free(o.emails);
	return rc;
}
