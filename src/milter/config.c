/*
 * config.c - the parameter table and the `key = value` parser.
 *
 * Every parameter is one row: name, type, default, bounds or choices, help.
 * The parser, `danemail-milter -n` (dump) and `danemail-milter -M` (the
 * PARAMETERS section of danemail-milter.conf(5)) are all driven by it, and a
 * test checks the shipped man page against it.  The file is trusted to the
 * extent that only root writes it, but is still parsed defensively: bounded
 * lines, every value checked, errors name the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

enum cfg_type { T_STRING, T_BOOL, T_ENUM, T_SIZE, T_COUNT, T_LIST, T_OCTAL };

struct param {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;     /* default, as text */
	const char *choices; /* T_ENUM: "a|b|c" (index = enum value) */
	size_t min, max;     /* T_SIZE, T_COUNT, T_OCTAL */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct param params[] = {
        {"socket", T_STRING, OFF(socket), "unix:/run/danemail/milter.sock", NULL, 0, 0,
         "Where to listen: unix:/path, inet:port@host or inet6:port@host. The -p option "
         "overrides it. Prefer a unix socket: over TCP the milter protocol's many small "
         "writes meet delayed ACKs."},
        {"socket_mode", T_OCTAL, OFF(socket_mode), "0660", NULL, 0, 0777,
         "Permissions of a unix socket; the MTA's user must be able to write to it."},
        {"user", T_STRING, OFF(user), "", NULL, 0, 0,
         "Drop privileges to this user after binding the socket (-u overrides)."},
        {"pidfile", T_STRING, OFF(pidfile), "", NULL, 0, 0,
         "Write the process id here (-P overrides); empty: none."},
        {"syslog_facility", T_STRING, OFF(syslog_facility), "mail", NULL, 0, 0,
         "Syslog facility: mail, daemon, local0 ... local7."},
        {"mode", T_ENUM, OFF(mode), "outbound", "outbound|inbound|both", 0, 0,
         "Which messages to encrypt: outbound (before they leave), inbound (at rest for "
         "local users) or both."},
        {"outbound_daemons", T_LIST, OFF(outbound_daemons), "ORIGINATING", NULL, 0, 0,
         "Values of the {daemon_name} macro that mark a message as outbound (Postfix: "
         "-o milter_macro_daemon_name=ORIGINATING on the submission service)."},
        {"auth_is_outbound", T_BOOL, OFF(auth_is_outbound), "yes", NULL, 0, 0,
         "A message from an authenticated client ({auth_authen} set) is outbound."},
        {"local_domains", T_LIST, OFF(local_domains), "", NULL, 0, 0,
         "Domains of local mailboxes. When set, a message that is not otherwise "
         "outbound is outbound if any recipient is outside these domains."},
        {"unbound_conf", T_STRING, OFF(unbound_conf), "", NULL, 0, 0,
         "An unbound.conf(5) file for the validating resolver (trust anchors, "
         "forwarders); empty: validate from the root trust anchor."},
        {"trust_anchor", T_STRING, OFF(trust_anchor), "", NULL, 0, 0,
         "A file of DS or DNSKEY records to trust (instead of the root's)."},
        {"forwarder", T_STRING, OFF(forwarder), "", NULL, 0, 0,
         "Send DNS queries to this resolver (addr[@port]); it must pass DNSSEC records. "
         "Validation is still done here."},
        {"ca_file", T_STRING, OFF(ca_file), "/etc/ssl/certs/ca-certificates.crt", NULL, 0, 0,
         "CA certificates for SMIMEA usage 1 (PKIX-EE) path validation."},
        {"cache_size", T_COUNT, OFF(cache_size), "10000", NULL, 1, 10000000,
         "DNS answers kept (positive and negative), each for its TTL."},
        {"cache_max_ttl", T_COUNT, OFF(cache_max_ttl), "3600", NULL, 1, 86400,
         "Longest time in seconds an answer is kept."},
        {"on_bogus", T_ENUM, OFF(on_bogus), "tempfail", "tempfail|pass", 0, 0,
         "A recipient's SMIMEA answer fails DNSSEC validation (possible attack): "
         "tempfail the message, or pass it on as if that recipient had no key."},
        {"on_dns_failure", T_ENUM, OFF(on_dns_failure), "tempfail", "tempfail|pass", 0, 0,
         "The lookup fails (SERVFAIL, timeout): tempfail so the MTA retries, or pass it on "
         "as if that recipient had no key."},
        {"partial", T_ENUM, OFF(partial), "clear", "clear|tempfail", 0, 0,
         "Some recipients have keys and some do not. One body serves all recipients, so "
         "the message goes in clear (clear) or is refused for now (tempfail)."},
        {"on_oversize", T_ENUM, OFF(on_oversize), "pass", "tempfail|pass", 0, 0,
         "A message larger than max_message_size: pass it on unencrypted, or tempfail."},
        {"cipher", T_ENUM, OFF(cipher), "aes256-cbc", "aes256-cbc|aes256-gcm", 0, 0,
         "Content encryption: aes256-cbc (EnvelopedData, widest client support) or "
         "aes256-gcm (AuthEnvelopedData, RFC 8551)."},
        {"rsa_padding", T_ENUM, OFF(rsa_padding), "pkcs1", "pkcs1|oaep", 0, 0,
         "Key transport for RSA recipients: PKCS#1 v1.5 or RSA-OAEP."},
        {"formats", T_LIST, OFF(formats), "smime openpgp", "smime|openpgp", 0, 0,
         "Which keys to look up and encrypt with: smime (SMIMEA, RFC 8162), openpgp "
         "(OPENPGPKEY, RFC 7929), or both."},
        {"prefer", T_ENUM, OFF(prefer), "smime", "smime|openpgp", 0, 0,
         "The format to use when both cover every recipient. A message is encrypted only "
         "in a format that covers every recipient; otherwise partial applies."},
        {"openpgp_require_uid", T_BOOL, OFF(openpgp_require_uid), "yes", NULL, 0, 0,
         "An OpenPGP key is used only if one of its valid user IDs contains the recipient's "
         "address (RFC 7929 section 5.3)."},
        {"protected_headers", T_BOOL, OFF(protected_headers), "no", NULL, 0, 0,
         "Carry the Subject inside the encrypted entity and replace the outer one with "
         "subject_placeholder."},
        {"subject_placeholder", T_STRING, OFF(subject_placeholder), "...", NULL, 0, 0,
         "The outer Subject when protected_headers is on (one line, not empty); any further "
         "Subject field is removed."},
        {"trace_header", T_STRING, OFF(trace_header), "X-DANE-Encrypted", NULL, 0, 0,
         "Header added to encrypted messages (\"smime; recipients=N\" or \"openpgp; "
         "recipients=N\"); a header field name (printable ASCII, no colon); empty: none."},
        {"skip_recipient_domains", T_LIST, OFF(skip_recipient_domains), "", NULL, 0, 0,
         "Recipient domains never encrypted to (counted as recipients without a key)."},
        {"skip_recipients", T_LIST, OFF(skip_recipients), "", NULL, 0, 0,
         "Recipient addresses never encrypted to (counted as recipients without a key)."},
        {"skip_senders", T_LIST, OFF(skip_senders), "", NULL, 0, 0,
         "Envelope senders (addresses or @domain) whose messages pass untouched."},
        {"max_message_size", T_SIZE, OFF(max_message_size), "50M", NULL, 1024, (size_t)4 << 30,
         "Largest message that is encrypted; see on_oversize."},
        {"spool_threshold", T_SIZE, OFF(spool_threshold), "1M", NULL, 0, (size_t)1 << 30,
         "Message bodies larger than this are kept in a private temporary file, not RAM."},
        {"tmpdir", T_STRING, OFF(tmpdir), "/var/tmp", NULL, 0, 0,
         "Directory for those temporary files (created 0600 and unlinked at once)."},
};
#define N_PARAMS (sizeof(params) / sizeof(params[0]))

static const struct param *
param_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_PARAMS; i++)
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

static void
list_clear(struct cfg_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

bool
cfg_list_has(const struct cfg_list *l, const char *word)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->items[i], word) == 0)
			return true;
	return false;
}

/* Parse "12", "64k", "50M", "2G" (powers of 1024); units only when allowed. */
static bool
parse_size(const char *text, bool units, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (!isdigit((unsigned char)*text))
		return false;
	v = strtoull(text, &end, 10);
	if (errno)
		return false;
	if (units && *end) {
		const char *u = strchr("kmg", tolower((unsigned char)*end));

		if (u == NULL || end[1] != '\0')
			return false;
		shift = 10 * (unsigned)(u - "kmg" + 1);
		end++;
	}
	if (*end || v > (SIZE_MAX >> shift))
		return false;
	*out = (size_t)(v << shift);
	return true;
}

static bool
parse_bool(const char *text, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(text, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

/* Index of `text` in "a|b|c", or -1. */
static int
enum_index(const char *choices, const char *text)
{
	const char *p = choices;
	int i = 0;

	while (*p) {
		size_t n = strcspn(p, "|");

		if (strlen(text) == n && strncasecmp(p, text, n) == 0)
			return i;
		p += n + (p[n] == '|');
		i++;
	}
	return -1;
}

/* The i-th choice of "a|b|c" into out. */
static const char *
enum_text(const char *choices, int idx, char *out, size_t size)
{
	const char *p = choices;
	int i = 0;

	while (*p) {
		size_t n = strcspn(p, "|");

		if (i == idx) {
			snprintf(out, size, "%.*s", (int)n, p);
			return out;
		}
		p += n + (p[n] == '|');
		i++;
	}
	snprintf(out, size, "?");
	return out;
}

const char *
config_enum_name(const char *key, int value)
{
	static __thread char out[32];
	const struct param *p = param_find(key);

	return p && p->choices ? enum_text(p->choices, value, out, sizeof(out)) : "?";
}

static bool
param_set(struct config *cfg, const struct param *p, const char *value, struct why *why)
{
	void *field = (char *)cfg + p->offset;
	size_t sz;
	bool b;
	int idx;

	switch (p->type) {
	case T_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return true;
	case T_BOOL:
		if (!parse_bool(value, &b))
			return why_set(why, "%s: want yes or no", p->name);
		*(bool *)field = b;
		return true;
	case T_ENUM:
		if ((idx = enum_index(p->choices, value)) < 0)
			return why_set(why, "%s: want one of %s", p->name, p->choices);
		*(int *)field = idx;
		return true;
	case T_SIZE:
	case T_COUNT:
		if (!parse_size(value, p->type == T_SIZE, &sz))
			return why_set(why, "%s: want a %s", p->name,
			               p->type == T_SIZE ? "size (e.g. 512k, 50M)" : "number");
		if (sz < p->min || sz > p->max)
			return why_set(why, "%s: %zu is outside %zu..%zu", p->name, sz, p->min,
			               p->max);
		*(size_t *)field = sz;
		return true;
	case T_OCTAL: {
		char *end;
		long v = strtol(value, &end, 8);

		if (*value == '\0' || *end || v < 0 || (size_t)v > p->max)
			return why_set(why, "%s: want an octal mode such as 0660", p->name);
		*(int *)field = (int)v;
		return true;
	}
	case T_LIST: {
		struct cfg_list *l = field;
		size_t k;
		char *copy = xstrdup(value), *tok, *save = NULL;

		list_clear(l);
		for (tok = strtok_r(copy, " \t\r\n\v\f,", &save); tok;
		     tok = strtok_r(NULL, " \t\r\n\v\f,", &save)) {
			l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
			l->items[l->n++] = xstrdup(tok);
		}
		free(copy);
		/* a list with choices (formats) takes only those words */
		for (k = 0; p->choices && k < l->n; k++)
			if (enum_index(p->choices, l->items[k]) < 0)
				return why_set(why, "%s: want words from %s", p->name, p->choices);
		return true;
	}
	}
	return why_set(why, "%s: internal error", p->name);
}

bool
config_set(struct config *cfg, const char *key, const char *value, struct why *why)
{
	const struct param *p = param_find(key);
	struct buf esc = BUF_INIT;

	if (p == NULL) {
		why_set(why, "unknown parameter '%s'", escape_str(&esc, key));
		buf_release(&esc);
		return false;
	}
	return param_set(cfg, p, value, why);
}

struct config *
config_new_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	size_t i;

	for (i = 0; i < N_PARAMS; i++)
		if (!param_set(cfg, &params[i], params[i].def, NULL))
			util_panic("bad default for %s", params[i].name);
	return cfg;
}

struct config *
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return NULL;
	for (i = 0; i < N_PARAMS; i++) {
		void *field = (char *)cfg + params[i].offset;

		if (params[i].type == T_STRING)
			free(*(char **)field);
		else if (params[i].type == T_LIST)
			list_clear(field);
	}
	free(cfg);
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

bool
config_load(struct config *cfg, const char *path, bool missing_ok, struct why *why)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	bool ok = true;

	if (fp == NULL) {
		if (missing_ok && errno == ENOENT)
			return true;
		return why_set(why, "%s: %s", path, strerror(errno));
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *key, *value, *eq;

		lineno++;
		if (n > 4096) {
			ok = why_set(why, "%s:%u: line too long", path, lineno);
			break;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			ok = why_set(why, "%s:%u: want 'name = value'", path, lineno);
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		if (!config_set(cfg, key, value, why)) {
			ok = why_prefix(why, "%s:%u", path, lineno);
			break;
		}
	}
	free(line);
	fclose(fp);
	return ok;
}

/* Append a parameter's current value as text. */
static void
value_text(const struct config *cfg, const struct param *p, struct buf *out)
{
	const void *field = (const char *)cfg + p->offset;
	char tmp[32];
	size_t i;

	switch (p->type) {
	case T_STRING:
		buf_puts(out, *(char *const *)field);
		break;
	case T_BOOL:
		buf_puts(out, *(const bool *)field ? "yes" : "no");
		break;
	case T_ENUM:
		buf_puts(out, enum_text(p->choices, *(const int *)field, tmp, sizeof(tmp)));
		break;
	case T_SIZE:
	case T_COUNT:
		buf_printf(out, "%zu", *(const size_t *)field);
		break;
	case T_OCTAL:
		buf_printf(out, "%04o", (unsigned)*(const int *)field);
		break;
	case T_LIST: {
		const struct cfg_list *l = field;

		for (i = 0; i < l->n; i++)
			buf_printf(out, "%s%s", i ? " " : "", l->items[i]);
		break;
	}
	}
}

void
config_dump(const struct config *cfg, FILE *fp)
{
	struct buf v = BUF_INIT;
	size_t i;

	for (i = 0; i < N_PARAMS; i++) {
		buf_reset(&v);
		value_text(cfg, &params[i], &v);
		fprintf(fp, "%s = %s\n", params[i].name, buf_str(&v));
	}
	buf_release(&v);
}

void
config_man(FILE *fp)
{
	size_t i;

	fputs(".Bl -tag -width Ds\n", fp);
	for (i = 0; i < N_PARAMS; i++) {
		const struct param *p = &params[i];

		fprintf(fp, ".It Cm %s No = Ar ", p->name);
		switch (p->type) {
		case T_STRING:
			fputs("string", fp);
			break;
		case T_BOOL:
			fputs("yes | no", fp);
			break;
		case T_ENUM: {
			const char *c;

			for (c = p->choices; *c; c++)
				fputs(*c == '|' ? " | " : (char[]){*c, 0}, fp);
			break;
		}
		case T_SIZE:
			fputs("size", fp);
			break;
		case T_COUNT:
			fputs("number", fp);
			break;
		case T_OCTAL:
			fputs("mode", fp);
			break;
		case T_LIST:
			fputs("list", fp);
			break;
		}
		fprintf(fp, "\n%s\n.Pp\nDefault:\n.Ql %s .\n", p->help, p->def);
	}
	fputs(".El\n", fp);
}
