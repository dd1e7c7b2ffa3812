/*
 * record.h - input helpers shared by `danemail record` (record.c) and
 * `danemail verify smimea|openpgpkey` (verify_records.c).
 *
 * They read what a user names on the command line (a certificate, an
 * OpenPGP key), print one clear error line on failure and return the exit
 * code it deserves, so both commands refuse bad input the same way.  Record
 * formatting itself lives in lib/dns/zonefmt.h (the benchmark shares it).
 */
#ifndef DANEMAIL_CLI_RECORD_H
#define DANEMAIL_CLI_RECORD_H

#include <openssl/x509.h>

#include "mail/pgpkey.h"
#include "util/buf.h"

/* sysexits.h codes cli.h does not name. */

/* The largest key or certificate file read (anything larger is not one). */
#define RECORD_FILE_MAX (1024 * 1024)

/*
 * Read a whole file of at most RECORD_FILE_MAX bytes into out.  On failure
 * print "danemail: <cmd>: <path>: <reason>" and return CLI_EXIT_NOINPUT
 * (cannot open or read) or CLI_EXIT_DATAERR (too large, empty); 0 on success.
 */
int record_read_file(const char *cmd, const char *path, struct buf *out);
/*
 * Load a certificate (PEM or DER; of a PEM file with several, the first, or
 * with last the last) for cmd; 0 and *cert, or an error printed
 * and CLI_EXIT_NOINPUT / CLI_EXIT_DATAERR (garbage, a private key).
 */
int record_load_cert(const char *cmd, const char *path, bool last, X509 **cert);
/*
 * Load one OpenPGP public key (binary or armoured) for cmd; 0 and *key, or an
 * error printed and CLI_EXIT_NOINPUT / CLI_EXIT_DATAERR (garbage, a secret or
 * encrypted secret key, several keys).
 */
int record_load_pgpkey(const char *cmd, const char *path, struct pgpkey **key);

#endif
