/*
 * test_policy.c - the milter's decision table, row by row (policy.c), and
 * the configuration table: defaults, parsing, errors with line numbers, and
 * the man page danemail-milter.conf(5) listing every parameter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "policy.h"

/*
 * Recipients as "SP SP ...": for each, its S/MIME and its OpenPGP state:
 * K key, N no key, B bogus, F lookup failed, D no domain, S skipped.
 */
static const struct {
	const char *what;
	const char *settings; /* "key=value;key=value" on top of the defaults */
	enum msg_encryption_state enc;
	enum msg_direction dir;
	int oversize;
	const char *rcpt;
	enum policy_action want;
} rows[] = {
        {"1 already encrypted passes", "", MSG_ALREADY_ENCRYPTED, DIR_OUTBOUND, 0, "KK",
         ACTION_PASS},
        {"1 already encrypted passes even with bogus", "", MSG_ALREADY_ENCRYPTED, DIR_OUTBOUND, 0,
         "BB", ACTION_PASS},
        {"2 inbound, mode outbound", "", MSG_CLEAR, DIR_INBOUND, 0, "KN", ACTION_PASS},
        {"2 outbound, mode inbound", "mode=inbound", MSG_CLEAR, DIR_OUTBOUND, 0, "KN", ACTION_PASS},
        {"2 inbound, mode inbound", "mode=inbound", MSG_CLEAR, DIR_INBOUND, 0, "KN",
         ACTION_ENCRYPT_SMIME},
        {"2 mode both", "mode=both", MSG_CLEAR, DIR_INBOUND, 0, "KN", ACTION_ENCRYPT_SMIME},
        {"3 oversize passes by default", "", MSG_CLEAR, DIR_OUTBOUND, 1, "KN", ACTION_PASS},
        {"3 oversize tempfails", "on_oversize=tempfail", MSG_CLEAR, DIR_OUTBOUND, 1, "KN",
         ACTION_TEMPFAIL},
        {"4 bogus tempfails", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KN BN", ACTION_TEMPFAIL},
        {"4 bogus OpenPGP tempfails too", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KB", ACTION_TEMPFAIL},
        {"4 bogus pass: counts as no key", "on_bogus=pass", MSG_CLEAR, DIR_OUTBOUND, 0, "KN BN",
         ACTION_PASS},
        {"4 bogus pass, partial tempfail", "on_bogus=pass;partial=tempfail", MSG_CLEAR,
         DIR_OUTBOUND, 0, "KN BN", ACTION_TEMPFAIL},
        {"4 bogus pass, other format covers", "on_bogus=pass", MSG_CLEAR, DIR_OUTBOUND, 0, "BK",
         ACTION_ENCRYPT_OPENPGP},
        {"5 DNS failure tempfails", "", MSG_CLEAR, DIR_OUTBOUND, 0, "FN", ACTION_TEMPFAIL},
        {"5 DNS failure pass", "on_dns_failure=pass", MSG_CLEAR, DIR_OUTBOUND, 0, "FN",
         ACTION_PASS},
        {"6 all S/MIME keys", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KN KN KN", ACTION_ENCRYPT_SMIME},
        {"6 all OpenPGP keys", "", MSG_CLEAR, DIR_OUTBOUND, 0, "NK NK", ACTION_ENCRYPT_OPENPGP},
        {"6 both cover: prefer smime", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KK KK",
         ACTION_ENCRYPT_SMIME},
        {"6 both cover: prefer openpgp", "prefer=openpgp", MSG_CLEAR, DIR_OUTBOUND, 0, "KK KK",
         ACTION_ENCRYPT_OPENPGP},
        {"6 only OpenPGP covers, prefer smime", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KK NK",
         ACTION_ENCRYPT_OPENPGP},
        {"7 mixed kinds, no format covers", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KN NK", ACTION_PASS},
        {"7 mixed kinds, partial tempfail", "partial=tempfail", MSG_CLEAR, DIR_OUTBOUND, 0, "KN NK",
         ACTION_TEMPFAIL},
        {"7 partial clear", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KN NN", ACTION_PASS},
        {"7 partial tempfail", "partial=tempfail", MSG_CLEAR, DIR_OUTBOUND, 0, "KN NN",
         ACTION_TEMPFAIL},
        {"7 postmaster without domain is no key", "", MSG_CLEAR, DIR_OUTBOUND, 0, "KK DD",
         ACTION_PASS},
        {"7 skipped recipient is no key", "partial=tempfail", MSG_CLEAR, DIR_OUTBOUND, 0, "KK SS",
         ACTION_TEMPFAIL},
        {"8 no keys pass", "", MSG_CLEAR, DIR_OUTBOUND, 0, "NN NN", ACTION_PASS},
        {"8 no recipients pass", "", MSG_CLEAR, DIR_OUTBOUND, 0, "", ACTION_PASS},
};

static enum rcpt_state
state_of(char c)
{
	switch (c) {
	case 'K':
		return RCPT_KEY;
	case 'B':
		return RCPT_BOGUS;
	case 'F':
		return RCPT_DNS_FAIL;
	case 'D':
		return RCPT_NO_DOMAIN;
	case 'S':
		return RCPT_SKIPPED;
	default:
		return RCPT_NO_KEY;
	}
}

/* "KN NK" -> two recipients */
static size_t
parse_rcpts(const char *text, struct rcpt_keys *out, size_t max)
{
	size_t n = 0;

	while (*text && n < max) {
		out[n].state[FORMAT_SMIME] = state_of(text[0]);
		out[n].state[FORMAT_OPENPGP] = state_of(text[1]);
		n++;
		text += text[2] == ' ' ? 3 : 2;
	}
	return n;
}

static struct config *
config_with(const char *settings)
{
	struct config *cfg = config_new_defaults();
	char *copy = strdup(settings), *tok, *save = NULL;
	struct why why;

	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');

		assert_non_null(eq);
		*eq = '\0';
		if (!config_set(cfg, tok, eq + 1, &why))
			fail_msg("config %s: %s", tok, why.msg);
	}
	free(copy);
	return cfg;
}

static void
test_decision_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config *cfg = config_with(rows[i].settings);
		struct rcpt_keys rk[8];
		size_t n = parse_rcpts(rows[i].rcpt, rk, 8);
		struct policy_input in = {rows[i].enc, rows[i].dir, rows[i].oversize, rk, n};
		const char *reason = NULL;
		enum policy_action got = policy_decide(cfg, &in, &reason);

		if (got != rows[i].want)
			fail_msg("row '%s': got %s (%s), want %s", rows[i].what,
			         policy_action_name(got), reason, policy_action_name(rows[i].want));
		assert_non_null(reason);
		/* keys matter unless rows 1-3 decide: encrypted, direction not covered, oversize */
		bool covered = cfg->mode == MODE_BOTH ||
		               (cfg->mode == MODE_OUTBOUND) == (rows[i].dir == DIR_OUTBOUND);
		assert_int_equal(policy_needs_keys(cfg, &in),
		                 rows[i].enc == MSG_CLEAR && !rows[i].oversize && covered);
		config_free(cfg);
	}
}

static void
test_config_parse(void **state)
{
	char path[] = "/tmp/danemail-cfg-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");
	struct config *cfg = config_new_defaults();
	struct why why;

	(void)state;
	assert_int_equal(cfg->mode, MODE_OUTBOUND);
	assert_int_equal(cfg->max_message_size, 50u << 20);
	assert_string_equal(cfg->trace_header, "X-DANE-Encrypted");
	fputs("# comment\n\nmode = both\nmax_message_size = 2M\nlocal_domains = a.test, "
	      "B.test\nskip_senders = x@y.test\nprotected_headers = yes\n",
	      fp);
	fclose(fp);
	assert_true(config_load(cfg, path, false, &why));
	assert_int_equal(cfg->mode, MODE_BOTH);
	assert_int_equal(cfg->max_message_size, 2u << 20);
	assert_true(cfg_list_has(&cfg->local_domains, "b.test"));
	assert_true(cfg->protected_headers);
	config_free(cfg);

	/* errors name the line */
	fp = fopen(path, "w");
	fputs("mode = outbound\ncache_size = lots\n", fp);
	fclose(fp);
	cfg = config_new_defaults();
	assert_false(config_load(cfg, path, false, &why));
	assert_non_null(strstr(why.msg, ":2:"));
	assert_non_null(strstr(why.msg, "cache_size"));
	config_free(cfg);

	static const char *bad[] = {"nosuch = 1\n",
	                            "mode = sideways\n",
	                            "mode\n",
	                            "max_message_size = 12Q\n",
	                            "cache_size = 10k\n",
	                            "socket_mode = 999\n",
	                            "protected_headers = maybe\n",
	                            "max_message_size = 99999999999999999999\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fp = fopen(path, "w");
		fputs(bad[i], fp);
		fclose(fp);
		cfg = config_new_defaults();
		why.msg[0] = '\0';
		if (config_load(cfg, path, false, &why))
			fail_msg("config line '%s' accepted", bad[i]);
		assert_true(why.msg[0] != '\0');
		config_free(cfg);
	}
	unlink(path);
	cfg = config_new_defaults();
	assert_false(config_load(cfg, path, false, &why));
	assert_true(config_load(cfg, path, true, &why));
	config_free(cfg);
}

/* The shipped man page documents every parameter the table has. */
static void
test_man_page_in_step(void **state)
{
	const char *man = getenv("MILTER_CONF_MAN");
	char *generated = NULL, *page = NULL, *line, *save = NULL;
	size_t glen = 0, plen = 0;
	FILE *g = open_memstream(&generated, &glen), *fp;

	(void)state;
	if (man == NULL)
		skip();
	config_man(g);
	fclose(g);
	fp = fopen(man, "r");
	assert_non_null(fp);
	page = calloc(1, 1 << 20);
	plen = fread(page, 1, (1 << 20) - 1, fp);
	fclose(fp);
	assert_true(plen > 0);
	for (line = strtok_r(generated, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, ".It Cm ", 7) == 0 && strstr(page, line) == NULL)
			fail_msg(
			        "%s: missing or different: %s (regenerate with danemail-milter -M)",
			        man, line);
	free(generated);
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_decision_table),
	        cmocka_unit_test(test_config_parse),
	        cmocka_unit_test(test_man_page_in_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
