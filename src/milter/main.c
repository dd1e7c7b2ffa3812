/*
 * main.c - danemail-milter: options, configuration, privileges, signals.
 *
 *   danemail-milter [-f] [-n] [-c CONFIG] [-p SOCKET] [-u USER] [-P PIDFILE]
 *
 * Starts as root only to bind the socket, then runs as USER (it refuses to
 * run as root).  libmilter runs in its own thread; the main thread waits for
 * signals (on Linux the thread group leader receives process signals first
 * when it is waiting for them): SIGHUP reloads the configuration (a broken
 * one is logged and the old one kept), SIGTERM/SIGINT stop accepting
 * connections and let the messages in flight finish (bounded), then exit.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "milter.h"
#include "util/alloc.h"
#include "util/why.h"

/* sysexits.h values used here */
#define EXIT_USAGE    64
#define EXIT_SOFT     70
#define EXIT_NOPERM   77
#define EXIT_CONFIG   78
#define DRAIN_SECONDS 30
#define JOIN_SECONDS  10

static void
usage(FILE *fp)
{
	fputs("usage: danemail-milter [-fnMhV] [-c CONFIG] [-p SOCKET] [-u USER] [-P PIDFILE]\n"
	      "  -c CONFIG   configuration file (default " MILTER_CONFIG_FILE ")\n"
	      "  -p SOCKET   unix:/path, inet:PORT@HOST or inet6:PORT@HOST (overrides socket)\n"
	      "  -u USER     run as USER after binding (overrides user); root is refused\n"
	      "  -P PIDFILE  write the process id (overrides pidfile)\n"
	      "  -f          stay in the foreground and log to stderr as well\n"
	      "  -n          check the configuration, print it, and exit\n"
	      "  -M          print the parameter list of danemail-milter.conf(5) (mdoc)\n"
	      "  -h          this help\n"
	      "  -V          version\n"
	      "exit: 0 ok, 64 usage, 70 internal error, 77 refused to run as root, 78 bad config\n",
	      fp);
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
};

static int
facility_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return -1;
}

/* A libmilter socket: unix:/path, local:/path, /path, inet:PORT[@HOST], inet6:PORT[@HOST]. */
static bool
socket_ok(const char *sock, struct why *why)
{
	const char *p;
	unsigned long port;
	char *end;

	if (strncmp(sock, "unix:/", 6) == 0 || strncmp(sock, "local:/", 7) == 0 || sock[0] == '/')
		return true;
	if (strncmp(sock, "inet:", 5) == 0 || strncmp(sock, "inet6:", 6) == 0) {
		p = strchr(sock, ':') + 1;
		port = strtoul(p, &end, 10);
		if (end != p && port >= 1 && port <= 65535 &&
		    (*end == '\0' || (*end == '@' && end[1])))
			return true;
	}
	return why_set(why, "socket: want unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST, got '%s'",
	               sock);
}

/* The header fields the milter writes must be fields (RFC 5322 2.2, 3.6.8). */
static bool
header_fields_ok(const struct config *cfg, struct why *why)
{
	const char *p;

	for (p = cfg->trace_header; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return why_set(why, "trace_header: '%s' is not a header field name",
			               cfg->trace_header);
	if (cfg->protected_headers &&
	    (cfg->subject_placeholder[0] == '\0' || strpbrk(cfg->subject_placeholder, "\r\n")))
		return why_set(why, "subject_placeholder: want one line of text (an empty "
		                    "Subject would delete it)");
	return true;
}

/* Load and check a configuration file; -p/-u/-P overrides applied. */
static struct config *
load_config(const char *path, bool explicit, const char *sock, const char *user,
            const char *pidfile, struct why *why)
{
	struct config *cfg = config_new_defaults();

	if (!config_load(cfg, path, !explicit, why) ||
	    (sock && !config_set(cfg, "socket", sock, why)) ||
	    (user && !config_set(cfg, "user", user, why)) ||
	    (pidfile && !config_set(cfg, "pidfile", pidfile, why)))
		return config_free(cfg);
	if (facility_of(cfg->syslog_facility) < 0) {
		why_set(why, "syslog_facility: unknown facility '%s'", cfg->syslog_facility);
		return config_free(cfg);
	}
	if (!socket_ok(cfg->socket, why) || !header_fields_ok(cfg, why))
		return config_free(cfg);
	return cfg;
}

static bool
drop_privileges(const char *user, struct why *why)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		return why_set(why, "unknown user '%s'", user);
	if (pw->pw_uid == 0)
		return why_set(why, "refusing to run as root (user = %s)", user);
	if (setgroups(0, NULL) != 0 || initgroups(user, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return why_set(why, "cannot become %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		return why_set(why, "privileges could not be dropped");
	return true;
}

/* For a unix socket: hand it to the user the milter runs as, with socket_mode. */
static void
fix_socket(const struct config *cfg, const char *user)
{
	const char *path = NULL;
	struct passwd *pw = user && *user ? getpwnam(user) : NULL;

	if (strncmp(cfg->socket, "unix:", 5) == 0)
		path = cfg->socket + 5;
	else if (strncmp(cfg->socket, "local:", 6) == 0)
		path = cfg->socket + 6;
	else if (cfg->socket[0] == '/')
		path = cfg->socket;
	if (path == NULL)
		return;
	if (pw && chown(path, pw->pw_uid, pw->pw_gid) != 0)
		syslog(LOG_WARNING, "chown %s: %s", path, strerror(errno));
	if (chmod(path, (mode_t)cfg->socket_mode) != 0)
		syslog(LOG_WARNING, "chmod %s: %s", path, strerror(errno));
}

static void *
milter_thread(void *arg)
{
	int *result = arg;

	*result = smfi_main();
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *path = MILTER_CONFIG_FILE, *sock = NULL, *user = NULL, *pidfile = NULL;
	char *pid_path = NULL;
	bool explicit = false, foreground = false, check = false;
	struct config *cfg;
	struct runtime *rt;
	struct why why;
	sigset_t sigs;
	pthread_t tid;
	int c, sig, milter_result = 0;

	while ((c = getopt(argc, argv, "c:p:u:P:fnMhV")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			explicit = true;
			break;
		case 'p':
			sock = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'P':
			pidfile = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'M':
			config_man(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("danemail-milter " DANEMAIL_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cfg = load_config(path, explicit, sock, user, pidfile, &why)) == NULL) {
		fprintf(stderr, "danemail-milter: %s\n", why.msg);
		return EXIT_CONFIG;
	}
	if (check) {
		/* also build what the configuration feeds: the resolver */
		struct config *copy = load_config(path, explicit, sock, user, pidfile, &why);

		if (copy == NULL || (rt = runtime_new(copy, &why)) == NULL) {
			fprintf(stderr, "danemail-milter: %s\n", why.msg);
			config_free(cfg);
			return EXIT_CONFIG;
		}
		runtime_install(rt);
		runtime_shutdown();
		config_dump(cfg, stdout);
		fprintf(stderr, "danemail-milter: configuration %s is valid\n", path);
		config_free(cfg);
		return 0;
	}
	if (geteuid() == 0 && cfg->user[0] == '\0') {
		fprintf(stderr, "danemail-milter: refusing to run as root; set user or -u USER\n");
		config_free(cfg);
		return EXIT_NOPERM;
	}
	openlog("danemail-milter", LOG_PID | LOG_NDELAY | (foreground ? LOG_PERROR : 0),
	        facility_of(cfg->syslog_facility));

	if (smfi_register(milter_desc) != MI_SUCCESS || smfi_setconn(cfg->socket) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "danemail-milter: cannot listen on %s\n", cfg->socket);
		config_free(cfg);
		return EXIT_SOFT;
	}
	fix_socket(cfg, cfg->user);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "danemail-milter: daemon: %s\n", strerror(errno));
		config_free(cfg);
		return EXIT_SOFT;
	}
	if (cfg->pidfile[0]) {
		FILE *fp = fopen(cfg->pidfile, "w");

		if (fp == NULL || fprintf(fp, "%ld\n", (long)getpid()) < 0 || fclose(fp) != 0)
			syslog(LOG_WARNING, "pidfile %s: %s", cfg->pidfile, strerror(errno));
	}
	if (cfg->user[0] && geteuid() == 0 && !drop_privileges(cfg->user, &why)) {
		syslog(LOG_ERR, "%s", why.msg);
		fprintf(stderr, "danemail-milter: %s\n", why.msg);
		config_free(cfg);
		return EXIT_NOPERM;
	}
	/* the runtime takes cfg over (and a reload frees it): keep what is needed at exit */
	pid_path = cfg->pidfile[0] ? xstrdup(cfg->pidfile) : NULL;
	/* resolver after fork and privilege drop: reloads then see the same permissions */
	if ((rt = runtime_new(cfg, &why)) == NULL) {
		syslog(LOG_ERR, "configuration %s: %s", path, why.msg);
		return EXIT_CONFIG;
	}
	runtime_install(rt);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&tid, NULL, milter_thread, &milter_result) != 0) {
		syslog(LOG_ERR, "cannot start the milter thread");
		return EXIT_SOFT;
	}
	syslog(LOG_INFO, "started on %s (version %s)", rt->cfg->socket, DANEMAIL_VERSION);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct config *fresh =
			        load_config(path, explicit, sock, user, pidfile, &why);
			struct runtime *nrt = fresh ? runtime_new(fresh, &why) : NULL;

			if (nrt == NULL) {
				syslog(LOG_ERR, "reload failed, keeping the old configuration: %s",
				       why.msg);
				continue;
			}
			runtime_install(nrt);
			syslog(LOG_INFO, "configuration reloaded from %s", path);
			continue;
		}
		break;
	}
	syslog(LOG_INFO, "stopping: finishing %d message(s) in flight", milter_in_flight());
	smfi_stop();
	{
		time_t until = time(NULL) + DRAIN_SECONDS;

		while (milter_in_flight() > 0 && time(NULL) < until)
			usleep(50000);
	}
	if (milter_in_flight() > 0) {
		/* the MTA tempfails those when the connection drops: nothing is lost */
		syslog(LOG_WARNING, "%d message(s) still in flight; the MTA will retry them",
		       milter_in_flight());
		_exit(EXIT_SOFT);
	}
	/* libmilter's listener notices the stop within a few seconds */
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += JOIN_SECONDS;
		if (pthread_timedjoin_np(tid, NULL, &until) != 0) {
			syslog(LOG_WARNING, "libmilter did not stop in time; exiting");
			_exit(EXIT_SOFT);
		}
	}
	runtime_shutdown();
	if (pid_path)
		unlink(pid_path);
	free(pid_path);
	syslog(LOG_INFO, "stopped");
	closelog();
	return milter_result == MI_SUCCESS ? 0 : EXIT_SOFT;
}
