/*
 * fuzz_report_input.c - libFuzzer target for what `danemail report` reads:
 * JSON Lines scan results (src/scan/stats.h scan_stats_add_json,
 * reportagg.h report_agg_add) and the HTML it renders from them
 * (htmlreport.h), which must escape everything that came from the data.
 *
 * Input: JSON Lines.  Each line that parses as JSON is counted; each object
 * the aggregate takes gets its drill-down row; then the page is written.
 * Invariants: counting never takes more domains than objects offered;
 * nothing from the data can open an element (no "<script" or "<img" in any
 * row, whatever the input says); the page writes to the end.
 */
#include "fuzz.h"

#include <ctype.h>

#include <jansson.h>

#include "htmlreport.h"
#include "mailpolicy.h"
#include "reportagg.h"

static struct policy_psl *psl;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct why why;

	(void)argc;
	(void)argv;
	psl = policy_psl_new(NULL, &why); /* once: loading the list is slow */
	return 0;
}

/*
 * Whether text holds s, ignoring case; s starts with '<', so only the bytes
 * after each '<' are compared (no strncasecmp: libFuzzer hooks it, and a
 * call at every byte of the page made this target 20 times slower).
 */
static bool
holds(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s), i;
	const char *p = text, *end = text + len;

	while ((p = memchr(p, s[0], (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) < n)
			return false;
		for (i = 1; i < n && tolower((unsigned char)p[i]) == s[i]; i++)
			;
		if (i == n)
			return true;
		p++;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_agg a;
	struct report_html_info info = {"fuzz", NULL, "fuzz", 0, 0, 0, 0, 10000, 10};
	const struct report_operator **ops;
	uint64_t offered = 0;
	size_t pos = 0, n_ops;
	char *page = NULL, *row = NULL;
	size_t page_len = 0, row_len = 0;
	FILE *drill, *out;

	if (size > 1 << 20)
		return 0;
	report_agg_init(&a, psl);
	drill = tmpfile();
	FUZZ_CHECK(drill != NULL);
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
		json_t *j = json_loadb((const char *)data + pos, len, JSON_REJECT_DUPLICATES, NULL);

		pos += len + 1;
		info.lines++;
		if (j == NULL) {
			info.malformed++;
			continue;
		}
		offered++;
		if (report_agg_add(&a, j, 0, NULL)) {
			FILE *r = open_memstream(&row, &row_len);

			FUZZ_CHECK(r != NULL);
			report_html_domain(r, j);
			FUZZ_CHECK(fclose(r) == 0);
			FUZZ_CHECK(!holds(row, row_len, "<script") && !holds(row, row_len, "<img"));
			FUZZ_CHECK(fwrite(row, 1, row_len, drill) == row_len);
			free(row);
			row = NULL;
			info.drill_shown++;
		} else {
			info.malformed++;
		}
		json_decref(j);
	}
	FUZZ_CHECK(a.stats.domains <= offered);
	report_agg_sort_reasons(&a);
	ops = report_agg_operators(&a, 10, &n_ops);
	FUZZ_CHECK(n_ops <= 10);
	free(ops);
	rewind(drill);
	out = open_memstream(&page, &page_len);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(report_html_write(out, &a, &info, drill));
	FUZZ_CHECK(fclose(out) == 0);
	FUZZ_CHECK(holds(page, page_len, "</html>"));
	free(page);
	fclose(drill);
	report_agg_clear(&a);
	return 0;
}
