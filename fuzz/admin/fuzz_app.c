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

#include "config/config.h"
#include "oauth/app_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Invariants hold in every build type (CHECK() vanishes under NDEBUG). */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static struct config *cfg;

/* The canonical document of `doc`, or NULL when it is refused. */
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
	json_error_t je;
	json_t *body, *c1, *back, *c2;
	struct err e = {0};
	char *text;

	if (cfg == NULL)
		CHECK(config_load_buffer("fuzz.toml", "", 0, no_env, &cfg, &e) == ST_OK);
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return 0;
	if ((c1 = canonical(body)) != NULL) {
		text = json_dumps(c1, JSON_COMPACT);
		CHECK(text != NULL);
		back = json_loads(text, JSON_REJECT_DUPLICATES, &je);
		CHECK(back != NULL && json_equal(back, c1));
		c2 = canonical(back);
		CHECK(c2 != NULL && json_equal(c1, c2));
		json_decref(c2);
		json_decref(back);
		free(text);
		json_decref(c1);
	}
	json_decref(body);
	return 0;
}
