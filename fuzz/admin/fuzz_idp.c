/* fuzz_idp.c - identity-provider bodies of POST and PUT /identity-providers
 * (src/admin/idp.c validate()): the body parsed as the server parses it
 * (JSON_REJECT_DUPLICATES), then idp_conf_parse() and idp_conf_to_json(),
 * the pure part of the handler (the store is not involved).
 * Invariants: nothing crashes; a refusal has a message; the canonical
 * document, stored as compact JSON text and read back, parses again to the
 * same canonical document (what is stored is what is enforced). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "roundtrip.h"
#include "config/config.h"
#include "oauth/idp_conf.h"

static struct config *cfg;

/* roundtrip.h's canonical_fn. */
static json_t *canonical(const json_t *doc)
{
	struct idp_conf *conf = NULL;
	struct err e = {0};
	json_t *out = NULL;
	status st = idp_conf_parse(doc, cfg, &conf, &e);

	if (st == ST_OK)
		st = idp_conf_to_json(conf, &out, &e);
	if (st != ST_OK)
		CHECK(e.msg[0] != '\0');
	idp_conf_free(conf);
	return st == ST_OK ? out : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const no_env[] = {NULL};
	struct err e = {0};

	if (cfg == NULL)
		CHECK(config_load_buffer("fuzz.toml", "", 0, no_env, &cfg, &e) == ST_OK);
	return roundtrip(data, size, canonical);
}
