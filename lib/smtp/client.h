/*
 * client.h - an SMTP client that probes mail servers for their TLS set-up.
 *
 * A probe connects (non-blocking), waits patiently for the whole greeting
 * (postscreen delays it and sends "220-" lines to catch clients that talk
 * first), says EHLO (HELO when EHLO is refused with 5xx), sends STARTTLS if
 * the server offers it, runs the TLS handshake on an SSL object the caller
 * prepared (so DANE, SNI and versions are the caller's choice), and says
 * QUIT.  Port 465 style implicit TLS does the handshake first.  It never
 * sends mail.
 *
 * Two ways to drive it:
 *   - smtp_probe_step() is a state machine driven by socket readiness and a
 *     deadline: the caller waits until smtp_probe_fd() is readable or
 *     writable (as the step asked) or smtp_probe_deadline() has passed, then
 *     steps again.  A libevent loop can run thousands at once.
 *   - smtp_probe_run() / smtp_probe_blocking() drive it with poll().
 *
 * Everything the server sends is untrusted: replies go through a parser with
 * a maximum line length and line count, and server text reaches reports and
 * reasons only escaped (util/escape.h).  The reply and EHLO parsers are
 * separate functions so unit tests and fuzzers can call them directly.
 * RFC 5321 (sections 4.2, 4.1.1.1, 4.5.3.2), RFC 3207 (STARTTLS), RFC 8314
 * (implicit TLS).
 */
#ifndef DANEMAIL_SMTP_CLIENT_H
#define DANEMAIL_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "util/buf.h"
#include "util/why.h"

/* Defaults for the reply parser: longest line (octets, without CRLF) and most lines. */
#define SMTP_MAX_LINE  4096
#define SMTP_MAX_LINES 100

/* Bounds on what a server may send in one reply; 0 means the default. */
struct smtp_limits {
	size_t max_line;
	size_t max_lines;
};

/* One reply, possibly multi-line (RFC 5321 section 4.2). */
struct smtp_reply {
	int code;        /* the three-digit code, 0 until the first line is read */
	size_t n_lines;  /* lines read so far */
	struct buf text; /* each line's text after "NNN-" / "NNN ", '\n'-joined; raw server bytes */
	bool done;       /* the last line ("NNN " or "NNN") was read */
};

/* Outcome of feeding bytes to the reply parser. */
enum smtp_parse {
	SMTP_PARSE_MORE,  /* all complete lines consumed, the reply goes on */
	SMTP_PARSE_DONE,  /* the reply is complete */
	SMTP_PARSE_ERROR, /* not a valid reply (reason in why) */
};

/* An empty reply (allocates nothing). */
void smtp_reply_init(struct smtp_reply *r);
/* Release the reply's text; it can be reused after smtp_reply_init. */
void smtp_reply_clear(struct smtp_reply *r);
/*
 * Parse the complete lines at the start of data[0..len) into r; *used is
 * set to the octets consumed (complete lines only; a partial last line is
 * left for the next call with more data).  Lines end in LF, CR before it is
 * dropped.  Errors: a line that is not "NNN", "NNN text" or "NNN-text" with
 * a valid code (2-5, 0-5, 0-9), a code that changes within a multi-line
 * reply, a line longer than max_line (also while still incomplete), more
 * than max_lines lines.  lim may be NULL (defaults).
 */
enum smtp_parse smtp_reply_parse(struct smtp_reply *r, const void *data, size_t len, size_t *used,
                                 const struct smtp_limits *lim, struct why *why);
/* Append "CODE first-line-text" escaped, at most max text octets (0: no limit). */
void smtp_reply_describe(const struct smtp_reply *r, struct buf *out, size_t max);

/* What an EHLO reply announced (RFC 5321 section 4.1.1.1); strings are escaped. */
struct smtp_ehlo {
	char *domain;    /* the server's name from the first line ("" if none) */
	char **keywords; /* each extension line, keyword upper-cased: "SIZE 10240000" */
	size_t n_keywords;
	size_t n_malformed; /* extension lines whose keyword is not (ALPHA/DIGIT) *(ALPHA/DIGIT/"-")
	                     */
	bool starttls;      /* RFC 3207 */
	bool pipelining;    /* RFC 2920 */
	bool eightbitmime;  /* RFC 6152 */
	bool smtputf8;      /* RFC 6531 */
	bool chunking;      /* RFC 3030 */
	bool requiretls;    /* RFC 8689 */
	bool has_size;      /* RFC 1870 */
	unsigned long long size; /* SIZE parameter, 0 if none or not a number */
};

/* Parse a complete 2xx EHLO reply into e (zeroed first); false if r is not 2xx. */
bool smtp_ehlo_parse(struct smtp_ehlo *e, const struct smtp_reply *r, struct why *why);
/* Whether the EHLO reply announced this keyword (case-insensitive). */
bool smtp_ehlo_has(const struct smtp_ehlo *e, const char *keyword);
/* Free what e owns and zero it; NULL is fine. */
void smtp_ehlo_clear(struct smtp_ehlo *e);

/* How a probe ended. */
enum smtp_result {
	SMTP_RESULT_OK,          /* TLS established (or, without an SSL, EHLO done) and QUIT */
	SMTP_RESULT_UNREACHABLE, /* connect failed: no route, host down, local error */
	SMTP_RESULT_REFUSED,     /* connect refused (nothing listens) */
	SMTP_RESULT_TIMEOUT,     /* a stage took longer than its limit (see stage) */
	SMTP_RESULT_GREETING_REJECTED, /* 4xx/5xx greeting (421, 554), 4xx to EHLO, HELO refused */
	SMTP_RESULT_NO_STARTTLS,       /* STARTTLS not offered (or only HELO worked) */
	SMTP_RESULT_STARTTLS_REJECTED, /* STARTTLS answered with 4xx/5xx */
	SMTP_RESULT_TLS_FAILED,        /* the TLS handshake failed */
	SMTP_RESULT_PROTOCOL_ERROR,    /* not SMTP: garbage, overlong lines, early close */
};
/* "ok", "unreachable", "refused", "timeout", "greeting-rejected", "no-starttls",
 * "starttls-rejected", "tls-failed", "protocol-error". */
const char *smtp_result_name(enum smtp_result r);

/* Where a probe is (and, once done, where its result was decided). */
enum smtp_stage {
	SMTP_STAGE_CONNECT,
	SMTP_STAGE_GREETING,
	SMTP_STAGE_EHLO,
	SMTP_STAGE_HELO,
	SMTP_STAGE_STARTTLS,
	SMTP_STAGE_TLS,
	SMTP_STAGE_QUIT,
	SMTP_STAGE_DONE,
};
/* "connect", "greeting", "ehlo", "helo", "starttls", "tls", "quit", "done". */
const char *smtp_stage_name(enum smtp_stage s);

/* How to probe.  Zero fields take the defaults (smtp_probe_config_init). */
struct smtp_probe_config {
	const char *helo_name; /* our name in EHLO/HELO; default "localhost" */
	const char *sni;      /* server name to send in the TLS handshake, or NULL: the SSL's own */
	bool implicit_tls;    /* TLS from the first byte (submissions port 465, RFC 8314) */
	unsigned connect_ms;  /* limit per stage, milliseconds */
	unsigned greeting_ms; /* patient: postscreen may hold the greeting back for seconds */
	unsigned command_ms;  /* EHLO, HELO, STARTTLS replies */
	unsigned tls_ms;      /* the TLS handshake */
	unsigned quit_ms;     /* the reply to QUIT (best effort) */
	struct smtp_limits limits;
};
/* Defaults: connect 10 s, greeting 60 s, commands 30 s, TLS 30 s, QUIT 2 s, 4 KB lines, 100 lines.
 */
void smtp_probe_config_init(struct smtp_probe_config *cfg);

/* What a probe saw.  All text is escaped. */
struct smtp_report {
	enum smtp_result result;
	enum smtp_stage stage; /* where the result was decided */
	struct why why;        /* the reason when result is not OK (server text escaped) */
	int greeting_code;     /* 0 if none */
	struct buf greeting;   /* first greeting line, escaped, at most 200 octets */
	size_t greeting_lines;
	int ehlo_code;         /* reply to EHLO, 0 if not sent */
	bool helo_fallback;    /* EHLO was refused, HELO used */
	struct smtp_ehlo ehlo; /* valid when ehlo_code is 2xx */
	int starttls_code;     /* reply to STARTTLS, 0 if not sent */
	bool tls;              /* a TLS session was established */
	unsigned elapsed_ms;   /* connect to done */
};
/* Free what a report owns (after smtp_probe_blocking); NULL is fine. */
void smtp_report_clear(struct smtp_report *rep);

/* What a probe waits for before the next step. */
enum smtp_want {
	SMTP_WANT_READ,  /* step again when the fd is readable or at the deadline */
	SMTP_WANT_WRITE, /* step again when the fd is writable or at the deadline */
	SMTP_WANT_DONE,  /* finished: read the report */
};

struct smtp_probe;

/*
 * A probe of the server at addr.  ssl (NULL: stop after EHLO, no TLS) is
 * owned by the caller and must outlive the probe; the probe gives it the
 * socket and, when cfg->sni is set, the server name.  After the probe the
 * SSL is detached from the (closed) socket and holds the session for
 * inspection (peer chain, verification result).  Nothing happens before the
 * first smtp_probe_step().  cfg is copied; NULL means defaults.
 */
struct smtp_probe *smtp_probe_new(const struct sockaddr *addr, socklen_t addrlen,
                                  const struct smtp_probe_config *cfg, SSL *ssl);
/* Free; closes the socket if still open; returns NULL. */
struct smtp_probe *smtp_probe_free(struct smtp_probe *p);
/*
 * Make as much progress as the socket allows without blocking; now_ms is
 * smtp_clock_ms().  Call first to start, then whenever the fd is ready as
 * asked or the deadline has passed.
 */
enum smtp_want smtp_probe_step(struct smtp_probe *p, int64_t now_ms);
/* The socket to wait on (-1 before the first step and when done). */
int smtp_probe_fd(const struct smtp_probe *p);
/* When the current stage times out, in smtp_clock_ms() time. */
int64_t smtp_probe_deadline(const struct smtp_probe *p);
/* The report so far (final when a step returned SMTP_WANT_DONE). */
const struct smtp_report *smtp_probe_report(const struct smtp_probe *p);
/* Drive the probe to its end with poll(); returns the result. */
enum smtp_result smtp_probe_run(struct smtp_probe *p);
/*
 * Probe addr to the end with poll() and move the report into *rep (free it
 * with smtp_report_clear).  The blocking convenience the command line uses.
 */
enum smtp_result smtp_probe_blocking(const struct sockaddr *addr, socklen_t addrlen,
                                     const struct smtp_probe_config *cfg, SSL *ssl,
                                     struct smtp_report *rep);
/* Monotonic milliseconds, the time base of steps and deadlines. */
int64_t smtp_clock_ms(void);

#endif
