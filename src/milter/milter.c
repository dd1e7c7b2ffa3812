/*
 * milter.c - the libmilter callbacks of danemail-milter.
 *
 * A message is collected (headers in order, body in memory or a private
 * spool file), then at end of message: is it already encrypted, which way
 * does it go, does it fit, what do the recipients' SMIMEA lookups say; the
 * policy table decides; an encrypted message gets its Content-* headers
 * replaced and its body replaced by the S/MIME entity (RFC 8551 3.1).
 *
 * Failure modes: anything that would lose or corrupt a message, or send it
 * in clear against policy (lookup failure, bogus answer, encryption error,
 * spool error, an MTA that will not take the changes) ends in a tempfail:
 * the MTA keeps the message and retries.  No message content is logged;
 * addresses and DNS reasons are escaped before they reach syslog.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/x509_vfy.h>

#include "mail/message.h"
#include "mail/mime.h"
#include "mail/pgpmime.h"
#include "mail/smime.h"
#include "milter.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/escape.h"

#define BODY_HEAD_BYTES 4096
#define REPLACE_CHUNK   65536

/* ---- runtime: the configuration in force ---- */

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *rt_current;
static int in_flight;

struct runtime *
runtime_new(struct config *cfg, struct why *why)
{
	struct dns_config dc = {0};
	struct runtime *rt = xcalloc(1, sizeof(*rt));

	dc.unbound_conf = cfg->unbound_conf[0] ? cfg->unbound_conf : NULL;
	dc.trust_anchor = cfg->trust_anchor[0] ? cfg->trust_anchor : NULL;
	dc.forwarder = cfg->forwarder[0] ? cfg->forwarder : NULL;
	dc.cache_entries = cfg->cache_size;
	dc.cache_max_ttl = (unsigned)cfg->cache_max_ttl;
	rt->cfg = cfg;
	if ((rt->res = dns_resolver_new(&dc, why)) == NULL) {
		config_free(cfg);
		free(rt);
		return NULL;
	}
	rt->pkix = X509_STORE_new();
	if (rt->pkix &&
	    (cfg->ca_file[0] == '\0' || X509_STORE_load_file(rt->pkix, cfg->ca_file) != 1)) {
		/* usage 1 records become unusable; that is logged per recipient */
		X509_STORE_free(rt->pkix);
		rt->pkix = NULL;
	}
	rt->certs = cert_cache_new(cfg->cache_size);
	rt->pgpkeys = pgpkey_cache_new(cfg->cache_size);
	rt->refs = 1;
	return rt;
}

static void
runtime_free(struct runtime *rt)
{
	dns_resolver_free(rt->res);
	X509_STORE_free(rt->pkix);
	cert_cache_free(rt->certs);
	pgpkey_cache_free(rt->pgpkeys);
	config_free(rt->cfg);
	free(rt);
}

void
runtime_install(struct runtime *rt)
{
	struct runtime *old;

	pthread_mutex_lock(&rt_lock);
	old = rt_current;
	rt_current = rt;
	pthread_mutex_unlock(&rt_lock);
	if (old)
		runtime_release(old);
}

struct runtime *
runtime_acquire(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&rt_lock);
	rt = rt_current;
	if (rt)
		rt->refs++;
	pthread_mutex_unlock(&rt_lock);
	return rt;
}

void
runtime_release(struct runtime *rt)
{
	bool last;

	pthread_mutex_lock(&rt_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&rt_lock);
	if (last)
		runtime_free(rt);
}

void
runtime_shutdown(void)
{
	runtime_install(NULL);
}

int
milter_in_flight(void)
{
	int n;

	pthread_mutex_lock(&rt_lock);
	n = in_flight;
	pthread_mutex_unlock(&rt_lock);
	return n;
}

/* ---- logging ---- */

void
mlog(SMFICTX *ctx, int prio, const char *fmt, ...)
{
	char line[2048];
	const char *qid = ctx ? smfi_getsymval(ctx, "i") : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ctx)
		syslog(prio, "%s: %s", qid && *qid ? qid : "NOQUEUE", line);
	else
		syslog(prio, "%s", line);
}

/* ---- per-message state ---- */

struct msgctx {
	struct runtime *rt;
	char *sender;
	bool authenticated;
	bool outbound_daemon;
	struct recipient *rcpt;
	size_t n_rcpt;
	struct message *msg;
	size_t body_size;
	bool oversize;
	bool broken;    /* the spool failed: tempfail at the end */
	bool looked_up; /* the recipients' keys were looked up */
};

static void
msgctx_free(struct msgctx *mc)
{
	size_t i;

	if (mc == NULL)
		return;
	for (i = 0; i < mc->n_rcpt; i++)
		recipient_clear(&mc->rcpt[i]);
	free(mc->rcpt);
	free(mc->sender);
	message_free(mc->msg);
	if (mc->rt) {
		runtime_release(mc->rt);
		pthread_mutex_lock(&rt_lock);
		in_flight--;
		pthread_mutex_unlock(&rt_lock);
	}
	free(mc);
}

/*
 * Per connection: the protocol flags negotiated (which callbacks must not
 * reply) and the message in progress.
 */
struct conn {
	unsigned long proto;
	struct msgctx *mc;
};

static struct conn *
conn_of(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	return c;
}

static struct msgctx *
msg_of(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	return c ? c->mc : NULL;
}

/* The reply of a callback the MTA may have told not to reply (SMFIP_NR_*). */
static sfsistat
carry_on(SMFICTX *ctx, unsigned long nr_flag)
{
	struct conn *c = smfi_getpriv(ctx);

	return c && (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void
msgctx_drop(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
		msgctx_free(c->mc);
		c->mc = NULL;
	}
}

/* "<a@b>" -> "a@b"; the MTA passes envelope addresses with brackets. */
static char *
strip_brackets(const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return xstrndup(s + 1, n - 2);
	return xstrdup(s);
}

static const char *
domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "";
}

/* Which way the message goes (see mode in danemail-milter.conf(5)). */
static enum msg_direction
direction(const struct msgctx *mc)
{
	const struct config *cfg = mc->rt->cfg;
	size_t i;

	if ((mc->authenticated && cfg->auth_is_outbound) || mc->outbound_daemon)
		return DIR_OUTBOUND;
	if (cfg->local_domains.n > 0)
		for (i = 0; i < mc->n_rcpt; i++)
			if (!cfg_list_has(&cfg->local_domains, domain_of(mc->rcpt[i].address)))
				return DIR_OUTBOUND;
	return DIR_INBOUND;
}

/* ---- callbacks ---- */

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	struct msgctx *mc;
	const char *auth = smfi_getsymval(ctx, "{auth_authen}");
	const char *daemon = smfi_getsymval(ctx, "{daemon_name}");
	struct runtime *rt = runtime_acquire();
	struct buf esc = BUF_INIT;

	msgctx_drop(ctx); /* a second message on the same connection */
	if (rt == NULL) {
		mlog(ctx, LOG_ERR, "no configuration loaded; tempfail");
		return SMFIS_TEMPFAIL;
	}
	mc = xcalloc(1, sizeof(*mc));
	mc->rt = rt;
	pthread_mutex_lock(&rt_lock);
	in_flight++;
	pthread_mutex_unlock(&rt_lock);
	mc->sender = strip_brackets(argv[0] ? argv[0] : "");
	mc->authenticated = auth && *auth;
	mc->outbound_daemon = daemon && cfg_list_has(&rt->cfg->outbound_daemons, daemon);
	mc->msg = message_new(rt->cfg->spool_threshold, rt->cfg->tmpdir);
	conn_of(ctx)->mc = mc;
	if (cfg_list_has(&rt->cfg->skip_senders, mc->sender) ||
	    (*domain_of(mc->sender) &&
	     cfg_list_has(&rt->cfg->skip_senders, domain_of(mc->sender) - 1))) {
		mlog(ctx, LOG_INFO, "from=<%s> action=pass reason=sender in skip_senders",
		     escape_str(&esc, mc->sender));
		buf_release(&esc);
		msgctx_drop(ctx);
		return SMFIS_ACCEPT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct msgctx *mc = msg_of(ctx);
	struct recipient *r;
	const struct config *cfg;

	if (mc == NULL)
		return carry_on(ctx, SMFIP_NR_RCPT);
	cfg = mc->rt->cfg;
	mc->rcpt = xreallocarray(mc->rcpt, mc->n_rcpt + 1, sizeof(*mc->rcpt));
	r = &mc->rcpt[mc->n_rcpt++];
	memset(r, 0, sizeof(*r));
	r->address = strip_brackets(argv[0] ? argv[0] : "");
	recipient_set_all(r, RCPT_NO_KEY, "");
	if (cfg_list_has(&cfg->skip_recipients, r->address) ||
	    cfg_list_has(&cfg->skip_recipient_domains, domain_of(r->address)))
		recipient_set_all(r, RCPT_SKIPPED, "in a skip list");
	return carry_on(ctx, SMFIP_NR_RCPT);
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	struct msgctx *mc = msg_of(ctx);

	if (mc)
		message_add_header(mc->msg, name, value);
	return carry_on(ctx, SMFIP_NR_HDR);
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct msgctx *mc = msg_of(ctx);
	struct why why;

	if (mc == NULL || mc->broken)
		return carry_on(ctx, SMFIP_NR_BODY);
	mc->body_size += len;
	if (mc->body_size > mc->rt->cfg->max_message_size) {
		mc->oversize = true; /* stop storing; decided at the end */
		return carry_on(ctx, SMFIP_NR_BODY);
	}
	if (!message_append_body(mc->msg, chunk, len, &why)) {
		mlog(ctx, LOG_ERR, "cannot store the message: %s", why.msg);
		mc->broken = true;
	}
	return carry_on(ctx, SMFIP_NR_BODY);
}

/* Summary line: one per message; each recipient with its state per format. */
static void
log_summary(SMFICTX *ctx, const struct msgctx *mc, const char *action, const char *reason)
{
	struct buf line = BUF_INIT, esc = BUF_INIT;
	size_t i;
	int f;

	buf_printf(&line, "from=<%s> rcpts=%zu action=%s reason=%s", escape_str(&esc, mc->sender),
	           mc->n_rcpt, action, reason);
	for (i = 0; i < mc->n_rcpt; i++) {
		const struct recipient *r = &mc->rcpt[i];
		buf_printf(&line, " <%s>%s", escape_str(&esc, r->address),
		           mc->looked_up ? "=" : "");
		if (!mc->looked_up)
			continue; /* decided before any lookup */
		for (f = 0; f < N_FORMATS; f++) {
			enum rcpt_state st = r->keys.state[f];

			if (!cfg_list_has(&mc->rt->cfg->formats, key_format_name(f)))
				continue;
			buf_printf(&line, "%s%s:%s", line.data[line.len - 1] == '=' ? "" : ",",
			           key_format_name(f), rcpt_state_name(st));
			if (st == RCPT_KEY && r->matched[f])
				buf_printf(&line, "(%s)", r->matched[f]);
			else if (st != RCPT_KEY && r->detail[f][0])
				buf_printf(&line, "(%s)", r->detail[f]);
		}
	}
	mlog(ctx, LOG_INFO, "%s", buf_str(&line));
	buf_release(&line);
	buf_release(&esc);
}

/* Delete every Content-* field, last occurrence of each name first. */
static bool
delete_content_headers(SMFICTX *ctx, struct message *m)
{
	size_t n = message_header_count(m), i, j;

	for (i = n; i-- > 0;) {
		const struct message_header *h = message_header_at(m, i);
		int occurrence = 0;

		if (!mime_is_content_header(h->name))
			continue;
		for (j = 0; j <= i; j++)
			occurrence += strcasecmp(message_header_at(m, j)->name, h->name) == 0;
		if (smfi_chgheader(ctx, h->name, occurrence, NULL) != MI_SUCCESS)
			return false;
	}
	return true;
}

/* A private temporary file as a BIO (unlinked at once). */
static BIO *
spool_bio(const char *tmpdir, struct why *why)
{
	char path[4096];
	int fd;
	BIO *b;

	snprintf(path, sizeof(path), "%s/danemail-out.XXXXXX", *tmpdir ? tmpdir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		why_set(why, "cannot create a spool file in %s: %s", tmpdir, strerror(errno));
		return NULL;
	}
	unlink(path);
	if ((b = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		why_set(why, "out of memory");
	}
	return b;
}

/*
 * After a failed encryption into a spool file: when its file system is
 * (nearly) full, say so, since the encoder's own reason does not.
 */
static void
spool_full_why(BIO *out, const char *tmpdir, struct why *why)
{
	struct statvfs sv;
	int fd;

	if (out == NULL || BIO_method_type(out) != BIO_TYPE_FD || BIO_get_fd(out, &fd) < 0 ||
	    fstatvfs(fd, &sv) != 0)
		return;
	if ((unsigned long long)sv.f_bavail * sv.f_frsize < 4 * REPLACE_CHUNK)
		why_prefix(why, "spool file system of %s full (%llu kB free)", tmpdir,
		           (unsigned long long)sv.f_bavail * sv.f_frsize / 1024);
}

/* qsort order of key references: by address. */
static int
ref_order(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct pgpkey_ref *const *)a;
	uintptr_t y = (uintptr_t) * (struct pgpkey_ref *const *)b;

	return x < y ? -1 : x > y;
}

/* Encrypt the entity from `in` to every recipient in `format`, into `out`. */
static bool
encrypt_body(struct msgctx *mc, enum key_format format, BIO *in, BIO *out, char *ctype,
             size_t ctype_size, struct why *why)
{
	const struct config *cfg = mc->rt->cfg;
	size_t i, n = 0;
	bool ok;
	int j;

	if (format == FORMAT_SMIME) {
		struct smime_opts opts = {
		        cfg->cipher == CIPHER_AES256_GCM ? SMIME_AES256_GCM : SMIME_AES256_CBC,
		        cfg->rsa_padding == PADDING_OAEP ? SMIME_RSA_OAEP : SMIME_RSA_PKCS1,
		};
		X509 **certs = NULL;

		for (i = 0; i < mc->n_rcpt; i++)
			for (j = 0; j < sk_X509_num(mc->rcpt[i].certs); j++) {
				certs = xreallocarray(certs, n + 1, sizeof(*certs));
				certs[n++] = sk_X509_value(mc->rcpt[i].certs, j);
			}
		ok = smime_encrypt(in, certs, n, &opts, out, why);
		snprintf(ctype, ctype_size, "%s", smime_content_type(&opts));
		free(certs);
	} else {
		struct pgpkey_ref **refs = NULL;
		const struct pgpkey **keys;
		char boundary[PGPMIME_BOUNDARY_MAX];
		size_t k, m = 0;

		for (i = 0; i < mc->n_rcpt; i++)
			for (k = 0; k < mc->rcpt[i].n_pgp; k++) {
				refs = xreallocarray(refs, n + 1, sizeof(*refs));
				refs[n++] = mc->rcpt[i].pgp[k];
			}
		/* lock each distinct key once, in address order: no deadlock between messages */
		qsort(refs, n, sizeof(*refs), ref_order);
		keys = xcalloc(n + 1, sizeof(*keys));
		for (k = 0; k < n; k++)
			if (k == 0 || refs[k] != refs[k - 1])
				keys[m++] = pgpkey_ref_lock(refs[k]);
		pgpmime_boundary(boundary);
		ok = pgpmime_encrypt(in, keys, m, boundary, out, why);
		for (k = 0; k < n; k++)
			if (k == 0 || refs[k] != refs[k - 1])
				pgpkey_ref_unlock(refs[k]);
		pgpmime_content_type(ctype, ctype_size, boundary);
		free(keys);
		free(refs);
	}
	return ok;
}

/*
 * Encrypt in `format` and apply the changes: Content-* fields replaced, the
 * body replaced; false means the message must be tempfailed (the MTA then
 * discards every change made so far).
 */
/* How many fields named name the message has. */
static size_t
header_count(const struct message *m, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < message_header_count(m); i++)
		if (strcasecmp(message_header_at(m, i)->name, name) == 0)
			n++;
	return n;
}

/*
 * protected_headers: the first Subject (which the entity carries inside)
 * becomes the placeholder, and any further Subject goes, last first, so
 * that none stays readable outside.
 */
static bool
hide_subjects(SMFICTX *ctx, const struct message *m, char *placeholder)
{
	size_t n = header_count(m, "Subject");

	for (; n > 1; n--)
		if (smfi_chgheader(ctx, "Subject", (int)n, NULL) != MI_SUCCESS)
			return false;
	return n == 0 || smfi_chgheader(ctx, "Subject", 1, placeholder) == MI_SUCCESS;
}

static bool
encrypt_message(SMFICTX *ctx, struct msgctx *mc, enum key_format format, struct why *why)
{
	const struct config *cfg = mc->rt->cfg;
	BIO *in = NULL, *out = NULL;
	unsigned char *chunk = NULL;
	bool ok = false;
	int n;
	char trace[64], ctype[160];

	if ((in = message_entity_bio(mc->msg, cfg->protected_headers, why)) == NULL)
		goto done;
	out = mc->body_size > cfg->spool_threshold ? spool_bio(cfg->tmpdir, why)
	                                           : BIO_new(BIO_s_mem());
	if (out == NULL)
		goto done;
	if (!encrypt_body(mc, format, in, out, ctype, sizeof(ctype), why)) {
		spool_full_why(out, cfg->tmpdir, why);
		goto done;
	}
	if (BIO_method_type(out) == BIO_TYPE_FD && BIO_seek(out, 0) != 0) {
		why_set(why, "cannot rewind the spool file");
		goto done;
	}
	if (!delete_content_headers(ctx, mc->msg) ||
	    (message_header_get(mc->msg, "MIME-Version") == NULL &&
	     smfi_addheader(ctx, "MIME-Version", "1.0") != MI_SUCCESS) ||
	    smfi_addheader(ctx, "Content-Type", ctype) != MI_SUCCESS ||
	    (format == FORMAT_SMIME &&
	     (smfi_addheader(ctx, "Content-Transfer-Encoding", "base64") != MI_SUCCESS ||
	      smfi_addheader(ctx, "Content-Disposition", "attachment; filename=\"smime.p7m\"") !=
	              MI_SUCCESS))) {
		why_set(why, "the MTA refused a header change");
		goto done;
	}
	if (cfg->protected_headers && !hide_subjects(ctx, mc->msg, cfg->subject_placeholder)) {
		why_set(why, "the MTA refused to change the Subject");
		goto done;
	}
	if (cfg->trace_header[0]) {
		snprintf(trace, sizeof(trace), "%s; recipients=%zu", key_format_name(format),
		         mc->n_rcpt);
		if (smfi_addheader(ctx, cfg->trace_header, trace) != MI_SUCCESS) {
			why_set(why, "the MTA refused the trace header");
			goto done;
		}
	}
	chunk = xmalloc(REPLACE_CHUNK);
	while ((n = BIO_read(out, chunk, REPLACE_CHUNK)) > 0)
		if (smfi_replacebody(ctx, chunk, n) != MI_SUCCESS) {
			why_set(why, "the MTA refused the new body");
			goto done;
		}
	/* a read error must not pass for the end: half a body is a lost message */
	if (n < 0 && !BIO_eof(out)) {
		why_set(why, "cannot read the encrypted body back");
		goto done;
	}
	ok = true;
done:
	free(chunk);
	BIO_free(in);
	BIO_free(out);
	return ok;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	struct msgctx *mc = msg_of(ctx);
	uint8_t head[BODY_HEAD_BYTES], tail[BODY_HEAD_BYTES];
	size_t head_len, tail_len, i;
	enum mime_encryption enc;
	struct policy_input in = {0};
	struct rcpt_keys *states;
	enum policy_action action;
	const char *reason;
	struct why why;
	sfsistat rc = SMFIS_CONTINUE;
	char reply[160];

	if (mc == NULL)
		return SMFIS_CONTINUE;
	if (mc->broken) {
		log_summary(ctx, mc, "tempfail", "message could not be stored");
		smfi_setreply(ctx, "451", "4.3.0", "danemail: temporary local problem");
		msgctx_drop(ctx);
		return SMFIS_TEMPFAIL;
	}
	head_len = message_body_head(mc->msg, head, sizeof(head));
	tail_len = message_body_tail(mc->msg, tail, sizeof(tail));
	/* two Content-Type fields: readers disagree on which counts, so it is not encrypted */
	enc = header_count(mc->msg, "Content-Type") > 1
	              ? MIME_CLEAR
	              : mime_detect_encryption(message_header_get(mc->msg, "Content-Type"), head,
	                                       head_len, tail, tail_len);
	in.encryption = enc == MIME_CLEAR ? MSG_CLEAR : MSG_ALREADY_ENCRYPTED;
	in.direction = direction(mc);
	in.oversize = mc->oversize;
	if (policy_needs_keys(mc->rt->cfg, &in)) {
		recipients_lookup(mc->rt, mc->rcpt, mc->n_rcpt);
		mc->looked_up = true;
	}
	states = xcalloc(mc->n_rcpt ? mc->n_rcpt : 1, sizeof(*states));
	for (i = 0; i < mc->n_rcpt; i++)
		states[i] = mc->rcpt[i].keys;
	in.rcpt = states;
	in.n_rcpt = mc->n_rcpt;
	action = policy_decide(mc->rt->cfg, &in, &reason);
	free(states);

	switch (action) {
	case ACTION_PASS:
		log_summary(ctx, mc, "pass", reason);
		break;
	case ACTION_TEMPFAIL:
		log_summary(ctx, mc, "tempfail", reason);
		snprintf(reply, sizeof(reply), "danemail: %s; try later", reason);
		smfi_setreply(ctx, "451", "4.7.0", reply);
		rc = SMFIS_TEMPFAIL;
		break;
	case ACTION_ENCRYPT_SMIME:
	case ACTION_ENCRYPT_OPENPGP: {
		enum key_format format =
		        action == ACTION_ENCRYPT_SMIME ? FORMAT_SMIME : FORMAT_OPENPGP;

		if (encrypt_message(ctx, mc, format, &why)) {
			log_summary(ctx, mc, policy_action_name(action), reason);
		} else {
			mlog(ctx, LOG_ERR, "encryption failed: %s", why.msg);
			log_summary(ctx, mc, "tempfail", "encryption failed");
			smfi_setreply(ctx, "451", "4.3.0",
			              "danemail: encryption failed; try later");
			rc = SMFIS_TEMPFAIL;
		}
		break;
	}
	}
	msgctx_drop(ctx);
	return rc;
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	msgctx_drop(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
		msgctx_free(c->mc);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY) & f0;
	/* no callbacks we do not use; no replies where the MTA allows none */
	*pf1 = (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_HDR |
	        SMFIP_NR_BODY | SMFIP_NR_RCPT | SMFIP_NOEOH) &
	       f1;
	*pf2 = 0;
	*pf3 = 0;
	conn_of(ctx)->proto = *pf1;
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
        .xxfi_name = "danemail-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
        .xxfi_envfrom = on_envfrom,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_header = on_header,
        .xxfi_body = on_body,
        .xxfi_eom = on_eom,
        .xxfi_abort = on_abort,
        .xxfi_close = on_close,
        .xxfi_negotiate = on_negotiate,
};
