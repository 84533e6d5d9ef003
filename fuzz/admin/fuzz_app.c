/* fuzz_app.c - application bodies of POST /applications and PUT
 * .../inbound-protocols/oidc (src/admin/apps.c validate()): the body parsed
 * as the server parses it (JSON_REJECT_DUPLICATES), then app_conf_parse()
 * and app_conf_doc(), the pure part of the handler (IdP names are checked
 * against the store afterwards, not here).
 * Invariants: nothing crashes; a refusal has a message; the canonical
 * document, stored as compact JSON text and read back, parses again to the
 * same canonical document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "roundtrip.h"
#include "config/config.h"
#include "oauth/app_conf.h"

static struct config *cfg;

/* roundtrip.h's canonical_fn. */
static json_t *canonical(const json_t *doc)
{
	struct app_conf *conf = NULL;
	struct err e = {0};
	json_t *out = NULL;

	if (app_conf_parse(doc, cfg, &conf, &e) != ST_OK) {
		CHECK(e.msg[0] != '\0');
		return NULL;
	}
	out = app_conf_doc(conf, cfg);
	CHECK(out != NULL);
	app_conf_free(conf);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const no_env[] = {NULL};
	struct err e = {0};

	if (cfg == NULL)
		CHECK(config_load_buffer("fuzz.toml", "", 0, no_env, &cfg, &e) == ST_OK);
	return roundtrip(data, size, canonical);
}
