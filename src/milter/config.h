/*
 * config.h - danemail-milter's configuration: one table of parameters
 * (name, type, default, bounds, help) from which the parser, the `-n` dump
 * and the PARAMETERS section of danemail-milter.conf(5) all come.
 */
#ifndef DANEMAIL_MILTER_CONFIG_H
#define DANEMAIL_MILTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/why.h"

#define MILTER_CONFIG_FILE DANEMAIL_SYSCONFDIR "/milter.conf"

enum cfg_mode { MODE_OUTBOUND, MODE_INBOUND, MODE_BOTH };
enum cfg_failure { ON_FAILURE_TEMPFAIL, ON_FAILURE_PASS };
enum cfg_partial { PARTIAL_CLEAR, PARTIAL_TEMPFAIL };
enum cfg_cipher { CIPHER_AES256_CBC, CIPHER_AES256_GCM };
enum cfg_padding { PADDING_PKCS1, PADDING_OAEP };
enum cfg_prefer { PREFER_SMIME, PREFER_OPENPGP };

/* A list of words (addresses, domains, daemon names), lower-cased where it matters. */
struct cfg_list {
	char **items;
	size_t n;
};

/* The effective configuration; every field has a row in the parameter table. */
struct config {
	char *socket;
	char *user;
	char *pidfile;
	char *syslog_facility;
	int socket_mode;

	int mode;                         /* enum cfg_mode */
	struct cfg_list outbound_daemons; /* {daemon_name} values that mean "outbound" */
	bool auth_is_outbound;            /* {auth_authen} set means "outbound" */
	struct cfg_list local_domains;

	char *unbound_conf;
	char *trust_anchor;
	char *forwarder;
	char *ca_file; /* PKIX store for SMIMEA usage 1 */
	size_t cache_size;
	size_t cache_max_ttl;

	int on_bogus;             /* enum cfg_failure */
	int on_dns_failure;       /* enum cfg_failure */
	int partial;              /* enum cfg_partial */
	int on_oversize;          /* enum cfg_failure */
	int cipher;               /* enum cfg_cipher */
	int rsa_padding;          /* enum cfg_padding */
	int prefer;               /* enum cfg_prefer */
	struct cfg_list formats;  /* "smime", "openpgp": which lookups to make */
	bool openpgp_require_uid; /* a user ID must contain the recipient's address */
	bool protected_headers;
	char *subject_placeholder;
	char *trace_header;

	struct cfg_list skip_recipient_domains;
	struct cfg_list skip_recipients;
	struct cfg_list skip_senders;

	size_t max_message_size;
	size_t spool_threshold;
	char *tmpdir;
};

/* A configuration with every default filled in. */
struct config *config_new_defaults(void);
/* Free; NULL is fine; returns NULL. */
struct config *config_free(struct config *cfg);
/*
 * Read `key = value` lines from path into cfg (on top of what it holds).
 * False and a reason naming the file and line on the first error; a missing
 * file is an error unless missing_ok.
 */
bool config_load(struct config *cfg, const char *path, bool missing_ok, struct why *why);
/* Set one parameter from text (as a config line would); false and a reason if invalid. */
bool config_set(struct config *cfg, const char *key, const char *value, struct why *why);
/* Write every parameter as `key = value` (the effective configuration). */
void config_dump(const struct config *cfg, FILE *fp);
/* Write the mdoc PARAMETERS list for danemail-milter.conf(5). */
void config_man(FILE *fp);
/* Whether an address or domain is in a list (case-insensitive). */
bool cfg_list_has(const struct cfg_list *l, const char *word);
/* Name of a enum value of a parameter, for logs. */
const char *config_enum_name(const char *key, int value);

#endif
