/* fuzz_toml.c - libFuzzer driver for the deployment.toml parser.
 *
 * Each input is parsed by toml_parse(), then loaded as a whole configuration
 * (schema, types, bounds, cross-field validation) with an empty environment,
 * and a loaded configuration is dumped and loaded again: the dump must load
 * and dump to the same text, so a round-trip bug is a crash here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const no_env[] = {NULL};
	struct toml_doc doc;
	struct err e;
	struct config *c = NULL, *c2 = NULL;
	struct buf d1 = {0}, d2 = {0};

	toml_parse(&doc, (const char *)data, size, "fuzz.toml", &e);
	toml_doc_free(&doc);

	if (config_load_buffer("fuzz.toml", (const char *)data, size, no_env, &c, &e) != ST_OK)
		return 0;
	if (config_dump(c, &d1) != ST_OK)
		abort();
	if (config_load_buffer("fuzz.toml", d1.p, d1.n, no_env, &c2, &e) != ST_OK)
		abort();
	if (config_dump(c2, &d2) != ST_OK || d1.n != d2.n || memcmp(d1.p, d2.p, d1.n) != 0)
		abort();
	buf_free(&d1);
	buf_free(&d2);
	config_free(c);
	config_free(c2);
	return 0;
}
