/*
 * sample_milter.c - a tiny libmilter filter that proves the test harness
 * (miltclient, tests/testbed/postfix.sh) before the real milter exists.
 *
 * At end of message it adds "X-Sample: yes" and replaces the body with the
 * body upper-cased (or with a fixed text, -F).  It can be told to answer
 * 451 (-T) or 550 (-R) instead, to exercise every header and envelope edit
 * a milter may request (-E), and to negotiate "no reply" for headers and
 * body chunks plus the raw header value with its leading space (-N).  It
 * reports the macros i, {auth_authen} and {rcpt_addr} it received as
 * X-Sample-* headers, so a test can see what the MTA side sent.
 *
 * Trusts nothing it receives beyond what libmilter parsed; keeps one body
 * copy per connection in memory (tests only: no size limit).
 *
 * Usage: sample_milter -p SOCKET [-T | -R] [-F TEXT] [-E] [-N] [-t SECONDS]
 *   SOCKET is libmilter's form: inet:PORT@127.0.0.1 or unix:/path (made mode
 *   0666 so Postfix, running as user postfix, can connect).
 * Stops on SIGTERM/SIGINT (libmilter needs 1-3.5 s to notice).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "util/alloc.h"
#include "util/buf.h"

enum sample_verdict {
	SAMPLE_VERDICT_ACCEPT,
	SAMPLE_VERDICT_TEMPFAIL,
	SAMPLE_VERDICT_REJECT,
};

/* Command-line settings, read-only once smfi_main() runs. */
static struct {
	enum sample_verdict verdict;
	const char *fixed_body; /* NULL: upper-case the body */
	bool edits;             /* -E: request every kind of edit */
	bool negotiate;         /* -N: no replies for headers and body, raw header values */
} opt;

/* Per-connection state. */
struct sample_msg {
	struct buf body;    /* body chunks as received (CRLF line ends) */
	struct buf rcpts;   /* {rcpt_addr} values seen, space-separated */
	unsigned headers;   /* headers received */
	unsigned leadspace; /* headers whose value started with a space */
};

static struct sample_msg *
msg_get(SMFICTX *ctx)
{
	struct sample_msg *m = smfi_getpriv(ctx);

	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		smfi_setpriv(ctx, m);
	}
	return m;
}

static void
msg_reset(struct sample_msg *m)
{
	if (m == NULL)
		return;
	buf_reset(&m->body);
	buf_reset(&m->rcpts);
	m->headers = 0;
	m->leadspace = 0;
}

static sfsistat
sample_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                 unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
                 unsigned long *pf3)
{
	unsigned long want = SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC;

	if ((f1 & want) != want)
		return SMFIS_REJECT; /* the MTA cannot do what -N promises to test */
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT |
	             SMFIF_QUARANTINE | SMFIF_CHGFROM);
	*pf1 = want | (f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NOUNKNOWN |
	                     SMFIP_NODATA | SMFIP_NOEOH));
	*pf2 = 0;
	*pf3 = 0;
	/* Ask for exactly these macros at end of message (SMFIF_SETSYMLIST). */
	if ((f0 & SMFIF_SETSYMLIST) != 0 &&
	    smfi_setsymlist(ctx, SMFIM_EOM, "i {auth_authen} {client_addr}") == MI_SUCCESS)
		*pf0 |= SMFIF_SETSYMLIST;
	return SMFIS_CONTINUE;
}

static sfsistat
sample_envrcpt(SMFICTX *ctx, char **argv)
{
	struct sample_msg *m = msg_get(ctx);
	const char *addr = smfi_getsymval(ctx, "{rcpt_addr}");

	if (addr != NULL) {
		if (m->rcpts.len > 0)
			buf_putc(&m->rcpts, ' ');
		buf_puts(&m->rcpts, addr);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
sample_header(SMFICTX *ctx, char *name, char *value)
{
	struct sample_msg *m = msg_get(ctx);

	m->headers++;
	if (value[0] == ' ')
		m->leadspace++;
	return opt.negotiate ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
sample_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	buf_append(&msg_get(ctx)->body, chunk, len);
	return opt.negotiate ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* smfi_replacebody() in pieces no larger than one protocol chunk. */
static int
replace_body(SMFICTX *ctx, const uint8_t *p, size_t len)
{
	do {
		size_t n = len < MILTER_CHUNK_SIZE ? len : MILTER_CHUNK_SIZE;

		if (smfi_replacebody(ctx, (unsigned char *)p, (int)n) != MI_SUCCESS)
			return MI_FAILURE;
		p += n;
		len -= n;
	} while (len > 0);
	return MI_SUCCESS;
}

/* The edits of -E: one of each kind, with the index semantics a client must get right. */
static int
request_edits(SMFICTX *ctx)
{
	char big[3001];

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	if (smfi_insheader(ctx, 0, "X-Sample-First", "inserted at index 0") != MI_SUCCESS ||
	    smfi_chgheader(ctx, "X-Dup", 2, "second instance changed") != MI_SUCCESS ||
	    smfi_chgheader(ctx, "X-Del", 1, NULL) != MI_SUCCESS ||
	    smfi_chgheader(ctx, "X-Absent", 1, "appended by chgheader") != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Big", big) != MI_SUCCESS ||
	    smfi_addheader(ctx, "X-Folded", "first line\n\tsecond line") != MI_SUCCESS ||
	    smfi_addrcpt(ctx, "<added@secure.test>") != MI_SUCCESS ||
	    smfi_delrcpt(ctx, "<removed@secure.test>") != MI_SUCCESS ||
	    smfi_chgfrom(ctx, "<changed@example.test>", NULL) != MI_SUCCESS ||
	    smfi_quarantine(ctx, "sample quarantine") != MI_SUCCESS)
		return MI_FAILURE;
	return MI_SUCCESS;
}

static sfsistat
sample_eom(SMFICTX *ctx)
{
	struct sample_msg *m = msg_get(ctx);
	const char *v;
	char count[64];
	sfsistat r = SMFIS_CONTINUE;

	if (opt.verdict == SAMPLE_VERDICT_TEMPFAIL) {
		r = SMFIS_TEMPFAIL;
		goto done;
	}
	if (opt.verdict == SAMPLE_VERDICT_REJECT) {
		smfi_setreply(ctx, "550", "5.7.1", "sample_milter rejects this message");
		r = SMFIS_REJECT;
		goto done;
	}
	if (smfi_addheader(ctx, "X-Sample", "yes") != MI_SUCCESS)
		goto fail;
	if ((v = smfi_getsymval(ctx, "i")) != NULL &&
	    smfi_addheader(ctx, "X-Sample-Id", (char *)v) != MI_SUCCESS)
		goto fail;
	if ((v = smfi_getsymval(ctx, "{auth_authen}")) != NULL &&
	    smfi_addheader(ctx, "X-Sample-Auth", (char *)v) != MI_SUCCESS)
		goto fail;
	if (m->rcpts.len > 0 &&
	    smfi_addheader(ctx, "X-Sample-Rcpts", (char *)buf_str(&m->rcpts)) != MI_SUCCESS)
		goto fail;
	if (opt.negotiate) {
		snprintf(count, sizeof(count), "%u headers, %u with a leading space", m->headers,
		         m->leadspace);
		if (smfi_addheader(ctx, "X-Sample-Headers", count) != MI_SUCCESS)
			goto fail;
	}
	if (opt.edits && request_edits(ctx) != MI_SUCCESS)
		goto fail;
	/* The body last: Postfix refuses body replacement mixed with other edits. */
	if (opt.fixed_body != NULL) {
		if (replace_body(ctx, (const uint8_t *)opt.fixed_body, strlen(opt.fixed_body)) !=
		    MI_SUCCESS)
			goto fail;
	} else {
		for (size_t i = 0; i < m->body.len; i++)
			m->body.data[i] = (uint8_t)toupper(m->body.data[i]);
		if (replace_body(ctx, m->body.data, m->body.len) != MI_SUCCESS)
			goto fail;
	}
done:
	msg_reset(m);
	return r;
fail:
	msg_reset(m);
	return SMFIS_TEMPFAIL;
}

static sfsistat
sample_abort(SMFICTX *ctx)
{
	msg_reset(smfi_getpriv(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
sample_close(SMFICTX *ctx)
{
	struct sample_msg *m = smfi_getpriv(ctx);

	if (m != NULL) {
		buf_release(&m->body);
		buf_release(&m->rcpts);
		free(m);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: sample_milter -p SOCKET [-T | -R] [-F TEXT] [-E] [-N] [-t SECONDS]\n"
	        "  SOCKET: inet:PORT@HOST or unix:/path (libmilter syntax)\n"
	        "  -T tempfail every message   -R reject every message (550 5.7.1)\n"
	        "  -F TEXT replace the body with TEXT instead of upper-casing it\n"
	        "  -E also request one edit of each kind (headers, envelope, quarantine)\n"
	        "  -N negotiate no reply for headers and body, raw header values\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int timeout = 30;
	int c;
	struct smfiDesc desc = {
	        .xxfi_name = "sample_milter",
	        .xxfi_version = SMFI_VERSION,
	        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT |
	                      SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_CHGFROM,
	        .xxfi_envrcpt = sample_envrcpt,
	        .xxfi_body = sample_body,
	        .xxfi_eom = sample_eom,
	        .xxfi_abort = sample_abort,
	        .xxfi_close = sample_close,
	};

	while ((c = getopt(argc, argv, "p:TRF:ENt:")) != -1) {
		switch (c) {
		case 'p':
			sock = optarg;
			break;
		case 'T':
			opt.verdict = SAMPLE_VERDICT_TEMPFAIL;
			break;
		case 'R':
			opt.verdict = SAMPLE_VERDICT_REJECT;
			break;
		case 'F':
			opt.fixed_body = optarg;
			break;
		case 'E':
			opt.edits = true;
			break;
		case 'N':
			opt.negotiate = true;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || optind != argc)
		usage();
	if (opt.negotiate) {
		desc.xxfi_header = sample_header;
		desc.xxfi_negotiate = sample_negotiate;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_settimeout(timeout) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "sample_milter: cannot set up %s\n", sock);
		return 71;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "sample_milter: cannot listen on %s\n", sock);
		return 71;
	}
	/* Postfix connects as user postfix: let it write to a unix socket we made as root. */
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0)
		(void)chmod(strchr(sock, ':') + 1, 0666);
	return smfi_main() == MI_SUCCESS ? 0 : 70;
}
