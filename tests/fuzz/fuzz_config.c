/*
 * fuzz_config.c - libFuzzer target for danemail-milter's configuration file
 * parser (src/milter/config.h: config_load, config_set, config_dump).
 *
 * The input is the file, read through an anonymous memory file so that
 * config_load opens it by name exactly as the milter does.  A file that
 * loads must survive the round trip the `-n` dump promises: dumping it and
 * loading the dump gives the same effective configuration.
 */
#include "fuzz.h"

#include "config.h"

/* The effective configuration as `danemail-milter -n` prints it (malloc'd). */
static char *
dump(const struct config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *fp = open_memstream(&text, len);

	FUZZ_CHECK(fp != NULL);
	config_dump(cfg, fp);
	FUZZ_CHECK(fclose(fp) == 0);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg, *again;
	struct why why;
	char path[64];
	char *text1, *text2;
	size_t len1, len2;
	int fd;

	if (size > 65536)
		return 0;
	fd = fuzz_memfile(data, size, path, sizeof(path));
	cfg = config_new_defaults();
	/* the dump reads back the same (list items split at all white space) */
	if (config_load(cfg, path, false, &why)) {
		text1 = dump(cfg, &len1);
		close(fd);
		fd = fuzz_memfile((const uint8_t *)text1, len1, path, sizeof(path));
		again = config_new_defaults();
		FUZZ_CHECK(config_load(again, path, false, &why));
		text2 = dump(again, &len2);
		FUZZ_CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0);
		(void)cfg_list_has(&cfg->local_domains, "example.org");
		(void)config_enum_name("mode", cfg->mode);
		free(text1);
		free(text2);
		config_free(again);
	}
	close(fd);
	config_free(cfg);
	return 0;
}
