/* fuzz_idp_patch.c - PATCH /identity-providers/{id} bodies (src/admin/idp.c):
 * WSO2's operation list [{"operation","path","value"}] with JSON-pointer
 * paths, applied to a fixed valid IdP document, then validated as the
 * handler does (idp_conf_parse, idp_conf_to_json).
 *
 * apply_op() is private to idp.c, so this driver compiles idp.c itself
 * (its handlers are linked but never called) and replays the handler's
 * steps without the store: parse with JSON_REJECT_DUPLICATES, 1 to
 * PATCH_OPS_MAX operations, each applied in order to a copy of the document.
 * Invariants: nothing crashes; a refused operation says why (ST_INVALID or
 * ST_NOMEM with a message) and the original document is untouched; an
 * accepted result has a canonical form that parses again to the same
 * canonical form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "admin/idp.c"

/* A valid stored document: every member set, an inline JWKS (no network). */
static const char IDP_DOC[] =
    "{\"name\":\"jwtIDP\",\"description\":\"fuzz\",\"idpIssuerName\":\"https://idp.example\","
    "\"alias\":\"https://grantd.example/oauth2/token\",\"isEnabled\":true,"
    "\"certificate\":{\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}},"
    "\"jwtGrant\":{\"allowedAlgorithms\":[\"ES256\",\"RS256\"],"
    "\"additionalAudiences\":[\"urn:a\",\"urn:b\"],\"allowedSubjects\":[\"alice\"],"
    "\"allowedScopes\":[\"read\",\"write\"],\"requireJti\":true,\"requireIat\":false,"
    "\"maxAssertionLifetimeSeconds\":3600,\"clockSkewSeconds\":30}}";

static struct config *cfg;
static json_t *base, *pristine;

static void setup(void)
{
	static char *const no_env[] = {NULL};
	struct idp_conf *conf = NULL;
	json_error_t je;
	struct err e = {0};

	CHECK(config_load_buffer("fuzz.toml", "", 0, no_env, &cfg, &e) == ST_OK);
	base = json_loads(IDP_DOC, JSON_REJECT_DUPLICATES, &je);
	pristine = json_loads(IDP_DOC, JSON_REJECT_DUPLICATES, &je);
	CHECK(base != NULL && pristine != NULL);
	CHECK(idp_conf_parse(base, cfg, &conf, &e) == ST_OK);
	idp_conf_free(conf);
}

/* The canonical document of `doc`, or NULL when it is refused. */
static json_t *canonical(const json_t *doc)
{
	struct idp_conf *conf = NULL;
	struct err e = {0};
	json_t *out = NULL;
	status st = idp_conf_parse(doc, cfg, &conf, &e);

	if (st == ST_OK)
		st = idp_conf_to_json(conf, &out, &e);
	else
		CHECK(e.msg[0] != '\0');
	idp_conf_free(conf);
	return st == ST_OK ? out : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *ops, *doc, *c1, *c2;
	struct err e = {0};
	bool ok = true;

	if (cfg == NULL)
		setup();
	ops = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (ops == NULL)
		return 0;
	if (!json_is_array(ops) || json_array_size(ops) == 0 ||
	    json_array_size(ops) > PATCH_OPS_MAX) {
		json_decref(ops);
		return 0;
	}
	doc = json_deep_copy(base);
	CHECK(doc != NULL);
	for (size_t i = 0; ok && i < json_array_size(ops); i++) {
		memset(&e, 0, sizeof e);
		status st = apply_op(doc, json_array_get(ops, i), i, &e);
		if (st != ST_OK) {
			CHECK(st == ST_INVALID || st == ST_NOMEM);
			CHECK(e.msg[0] != '\0');
			ok = false;
		}
	}
	if (ok) {
		if ((c1 = canonical(doc)) != NULL) {
			c2 = canonical(c1);
			CHECK(c2 != NULL && json_equal(c1, c2));
			json_decref(c2);
			json_decref(c1);
		}
	}
	/* The handler patches a copy: the stored document never changes. */
	CHECK(json_equal(pristine, base));
	json_decref(doc);
	json_decref(ops);
	return 0;
}
