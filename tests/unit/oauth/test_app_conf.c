/* test_app_conf.c - the application document: every validation rule (with
 * the error naming the path), defaults, the canonical stored form, loading
 * a stored row, client authentication rules, and the shape of generated
 * client ids and secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jose/jwk.h"
#include "lib/b64.h"
#include "oauth/app_conf.h"

#define OIDC "inboundProtocolConfiguration.oidc"
#define CID  "abcdefghijklmnopqrstuvwxyz01" /* 28 characters */

static struct config *cfg;

static const char BASE[] = "{\"name\":\"my-app\",\"inboundProtocolConfiguration\":{\"oidc\":{"
			   "\"clientId\":\"" CID "\","
			   "\"grantTypes\":[\"urn:ietf:params:oauth:grant-type:jwt-bearer\"]}}}";

static int setup(void **state)
{
	char *envp[] = {NULL};
	struct err e = {0};

	(void)state;
	if (config_load(NULL, envp, &cfg, &e) != ST_OK) {
		fprintf(stderr, "config_load: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	return 0;
}

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", je.text, text);
	return j;
}

/* BASE with the member at dotted `path` set to the JSON `value`, or removed
 * when `value` is NULL. Intermediate objects are created as needed. */
static json_t *base_with(const char *path, const char *value)
{
	json_t *doc = load(BASE), *o = doc;
	char key[128];
	const char *p = path, *dot;

	while ((dot = strchr(p, '.')) != NULL) {
		json_t *next;
		snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
		next = json_object_get(o, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(o, key, next);
		}
		o = next;
		p = dot + 1;
	}
	if (value == NULL)
		json_object_del(o, p);
	else
		json_object_set_new(o, p, load(value));
	return doc;
}

static status parse(json_t *doc, struct app_conf **out, struct err *e)
{
	status st = app_conf_parse(doc, cfg, out, e);
	json_decref(doc);
	return st;
}

static struct app_conf *must_parse(json_t *doc)
{
	struct err e = {0};
	struct app_conf *c = NULL;
	if (parse(doc, &c, &e) != ST_OK)
		fail_msg("unexpected rejection: %s", e.msg);
	assert_non_null(c);
	return c;
}

/* Parsing must fail with ST_INVALID and a message containing `want`. */
static void rejects_(json_t *doc, const char *want, int line)
{
	struct err e = {0};
	struct app_conf *c = NULL;
	status st = parse(doc, &c, &e);

	if (st == ST_OK) {
		app_conf_free(c);
		fail_msg("line %d: accepted, expected an error containing \"%s\"", line, want);
	}
	assert_null(c);
	if (st != ST_INVALID && st != ST_UNSUPPORTED)
		fail_msg("line %d: status %s (%s)", line, status_name(st), e.msg);
	if (strstr(e.msg, want) == NULL)
		fail_msg("line %d: error \"%s\" lacks \"%s\"", line, e.msg, want);
}
#define rejects(doc, want) rejects_((doc), (want), __LINE__)

/* As rejects(), and the message starts with "<path>: ". */
static void rejects_at_(json_t *doc, const char *path, const char *want, int line)
{
	struct err e = {0};
	struct app_conf *c = NULL;
	status st = parse(doc, &c, &e);
	size_t n = strlen(path);

	if (st == ST_OK) {
		app_conf_free(c);
		fail_msg("line %d: accepted, expected \"%s: ...%s\"", line, path, want);
	}
	if (strncmp(e.msg, path, n) != 0 || strncmp(e.msg + n, ": ", 2) != 0 ||
	    strstr(e.msg, want) == NULL)
		fail_msg("line %d: error \"%s\" is not \"%s: ...%s...\"", line, e.msg, path, want);
}
#define rejects_at(doc, path, want) rejects_at_((doc), (path), (want), __LINE__)

static void accepts_(json_t *doc, int line)
{
	struct err e = {0};
	struct app_conf *c = NULL;
	if (parse(doc, &c, &e) != ST_OK)
		fail_msg("line %d: rejected: %s", line, e.msg);
	app_conf_free(c);
}
#define accepts(doc) accepts_((doc), __LINE__)

/* ---- defaults and a full document -------------------------------------------- */

static void minimal_defaults(void **state)
{
	(void)state;
	struct app_conf *c = must_parse(load(BASE));

	assert_string_equal(c->name, "my-app");
	assert_string_equal(c->description, "");
	assert_string_equal(c->client_id, CID);
	assert_null(c->id);
	assert_int_equal(c->grants, APP_GRANT_JWT_BEARER);
	assert_int_equal(c->callbacks.n, 0);
	assert_false(c->public_client);
	assert_false(c->jwt_access_token);
	assert_int_equal(c->user_access_token_ttl, 0);
	assert_int_equal(c->app_access_token_ttl, 0);
	assert_int_equal(c->refresh_token_ttl, 0);
	assert_int_equal(c->renew_refresh_token, -1);
	assert_int_equal(c->audiences.n, 0);
	assert_int_equal(c->allowed_scopes.n, 0);
	assert_int_equal(c->allowed_idps.n, 0);
	assert_int_equal(c->auth_method, APP_AUTH_SECRET_BASIC);
	assert_null(c->client_jwks_uri);
	assert_null(c->client_keys);
	app_conf_free(c);
}

static const char FULL[] =
    "{\"name\":\"my-app\",\"description\":\"The example app\","
    "\"inboundProtocolConfiguration\":{\"oidc\":{"
    "\"clientId\":\"" CID "\","
    "\"grantTypes\":[\"refresh_token\",\"urn:ietf:params:oauth:grant-type:jwt-bearer\","
    "\"client_credentials\"],"
    "\"callbackURLs\":[\"https://app.example/cb\",\"regexp=(https://a\\\\.example/cb|"
    "https://b\\\\.example/cb)\"],"
    "\"publicClient\":false,"
    "\"accessToken\":{\"type\":\"JWT\",\"userAccessTokenExpiryInSeconds\":1200,"
    "\"applicationAccessTokenExpiryInSeconds\":600},"
    "\"refreshToken\":{\"expiryInSeconds\":7200,\"renewRefreshToken\":false},"
    "\"idToken\":{\"audience\":[\"https://api.example\",\"urn:other\"]},"
    "\"allowedScopes\":[\"openid\",\"orders:read\"],"
    "\"allowedIdentityProviders\":[\"jwtIDP\"],"
    "\"clientAuthentication\":{\"tokenEndpointAuthMethod\":\"client_secret_post\","
    "\"jwksUri\":null,\"jwks\":null}}}}";

static void full_document(void **state)
{
	(void)state;
	struct app_conf *c = must_parse(load(FULL));

	assert_string_equal(c->description, "The example app");
	assert_int_equal(c->grants, APP_GRANT_JWT_BEARER | APP_GRANT_REFRESH_TOKEN |
					APP_GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(c->callbacks.n, 2);
	assert_string_equal(c->callbacks.v[0], "https://app.example/cb");
	assert_true(c->jwt_access_token);
	assert_int_equal(c->user_access_token_ttl, 1200);
	assert_int_equal(c->app_access_token_ttl, 600);
	assert_int_equal(c->refresh_token_ttl, 7200);
	assert_int_equal(c->renew_refresh_token, 0);
	assert_int_equal(c->audiences.n, 2);
	assert_string_equal(c->audiences.v[1], "urn:other");
	assert_int_equal(c->allowed_scopes.n, 2);
	assert_string_equal(c->allowed_idps.v[0], "jwtIDP");
	assert_int_equal(c->auth_method, APP_AUTH_SECRET_POST);
	app_conf_free(c);
}

static void null_means_absent(void **state)
{
	(void)state;
	struct app_conf *c = must_parse(base_with(OIDC ".callbackURLs", "null"));
	assert_int_equal(c->callbacks.n, 0);
	app_conf_free(c);
	c = must_parse(base_with("description", "null"));
	assert_string_equal(c->description, "");
	app_conf_free(c);
	c = must_parse(base_with(OIDC ".refreshToken", "{\"renewRefreshToken\":null}"));
	assert_int_equal(c->renew_refresh_token, -1);
	app_conf_free(c);
}

/* ---- name, description, structure ---------------------------------------------- */

static void name_rules(void **state)
{
	(void)state;
	char big[600];

	rejects(base_with("name", NULL), "name: required");
	rejects(base_with("name", "\"\""), "name: required");
	rejects(base_with("name", "42"), "name: required");
	rejects(base_with("name", "\"tab\\there\""), "name: required");
	rejects(base_with("name", "\" padded\""), "name: must not begin or end with a space");
	rejects(base_with("name", "\"padded \""), "name: must not begin or end with a space");
	snprintf(big, sizeof big, "\"%0256d\"", 0);
	rejects(base_with("name", big), "1 to 255 characters");
	snprintf(big, sizeof big, "\"%0255d\"", 0);
	accepts(base_with("name", big));
	/* 255 two-byte characters: counted as characters, not bytes. */
	big[0] = '"';
	for (int i = 0; i < 255; i++) {
		big[1 + 2 * i] = (char)0xc3;
		big[2 + 2 * i] = (char)0xa9;
	}
	big[511] = '"';
	big[512] = '\0';
	accepts(base_with("name", big));
	accepts(base_with("name", "\"My App (prod) \xc3\xa9\""));
}

static void description_rules(void **state)
{
	(void)state;
	char big[1100];

	snprintf(big, sizeof big, "\"%01024d\"", 0);
	accepts(base_with("description", big));
	snprintf(big, sizeof big, "\"%01025d\"", 0);
	rejects(base_with("description", big), "description: must be a string of at most 1024");
	rejects(base_with("description", "[]"), "description: must be a string");
}

static void unknown_fields(void **state)
{
	(void)state;
	rejects(base_with("id", "\"x\""), "id: unknown field");
	rejects(base_with("inboundProtocolConfiguration.saml", "{}"),
		"inboundProtocolConfiguration.saml: unknown field");
	rejects(base_with(OIDC ".clientSecret", "\"s\""), OIDC ".clientSecret: unknown field");
	rejects(base_with(OIDC ".pkcee", "{}"), OIDC ".pkcee: unknown field");
	rejects(base_with(OIDC ".accessToken.bindingTyp", "\"None\""),
		OIDC ".accessToken.bindingTyp: unknown field");
	rejects(base_with(OIDC ".refreshToken.expiry", "1"),
		OIDC ".refreshToken.expiry: unknown field");
	rejects(base_with(OIDC ".idToken.encrypt", "{}"), OIDC ".idToken.encrypt: unknown field");
	rejects(base_with(OIDC ".idToken.expiryInSeconds", "0"),
		OIDC ".idToken.expiryInSeconds: must be an integer from 1");
	rejects(base_with(OIDC ".clientAuthentication.tlsClientAuthSubject", "\"x\""),
		OIDC ".clientAuthentication.tlsClientAuthSubject: unknown field");
	/* A member name is shown cut and without control characters. */
	rejects(base_with(OIDC ".a\001b", "1"), OIDC ".a?b: unknown field");
}

static void structure(void **state)
{
	(void)state;
	struct err e = {0};
	struct app_conf *c = NULL;
	json_t *arr = json_array();

	assert_int_equal(app_conf_parse(arr, cfg, &c, &e), ST_INVALID);
	json_decref(arr);
	rejects(base_with("inboundProtocolConfiguration", "[]"),
		"inboundProtocolConfiguration: must be an object");
	rejects(base_with(OIDC, "\"x\""), OIDC ": must be an object");
	rejects(base_with(OIDC ".accessToken", "3600"), OIDC ".accessToken: must be an object");
	rejects(base_with(OIDC ".idToken", "[]"), OIDC ".idToken: must be an object");
}

/* ---- clientId, grantTypes --------------------------------------------------------- */

static void client_id_rules(void **state)
{
	(void)state;
	char id[80];

	rejects(base_with(OIDC ".clientId", NULL), OIDC ".clientId: required");
	rejects(base_with(OIDC ".clientId", "\"abcdefghijklmnopqrstuvwxyz0\""),
		OIDC ".clientId: must be 28 to 64 characters");
	rejects(base_with(OIDC ".clientId", "\"abcdefghijklmnopqrstuvwxyz0.\""),
		OIDC ".clientId: must be 28 to 64");
	rejects(base_with(OIDC ".clientId", "28"), OIDC ".clientId: must be");
	snprintf(id, sizeof id, "\"%065d\"", 0);
	rejects(base_with(OIDC ".clientId", id), OIDC ".clientId: must be");
	snprintf(id, sizeof id, "\"%064d\"", 0);
	accepts(base_with(OIDC ".clientId", id));
	accepts(base_with(OIDC ".clientId", "\"my-migrated_client-id-0123456\""));
}

static void grant_rules(void **state)
{
	(void)state;
	struct app_conf *c;

	rejects(base_with(OIDC ".grantTypes", NULL), OIDC ".grantTypes: required");
	rejects(base_with(OIDC ".grantTypes", "null"), OIDC ".grantTypes: required");
	rejects(base_with(OIDC ".grantTypes", "[]"), OIDC ".grantTypes: must list at least one");
	rejects(base_with(OIDC ".grantTypes", "\"refresh_token\""),
		OIDC ".grantTypes: must be an array of strings");
	rejects(base_with(OIDC ".grantTypes", "[\"refresh_token\", 7]"),
		OIDC ".grantTypes[1]: must be a string");
	rejects(base_with(OIDC ".grantTypes", "[\"refresh_token\", \"password\"]"),
		OIDC ".grantTypes[1]: unknown grant type 'password'");
	rejects(base_with(OIDC ".grantTypes", "[\"jwt-bearer\"]"),
		OIDC ".grantTypes[0]: unknown grant type 'jwt-bearer'");
	rejects(base_with(OIDC ".grantTypes", "[\"Refresh_Token\"]"),
		OIDC ".grantTypes[0]: unknown grant type");
	rejects(base_with(OIDC ".grantTypes", "[\"urn:ietf:params:oauth:grant-type:jwt-bearer \"]"),
		OIDC ".grantTypes[0]: unknown grant type");
	rejects(base_with(OIDC ".grantTypes", "[\"refresh_token\", \"refresh_token\"]"),
		OIDC ".grantTypes[1]: duplicate value 'refresh_token'");
	c = must_parse(base_with(OIDC ".grantTypes", "[\"client_credentials\"]"));
	assert_int_equal(c->grants, APP_GRANT_CLIENT_CREDENTIALS);
	app_conf_free(c);

	assert_int_equal(app_grant_parse(GRANT_TYPE_JWT_BEARER), APP_GRANT_JWT_BEARER);
	assert_int_equal(app_grant_parse("refresh_token"), APP_GRANT_REFRESH_TOKEN);
	assert_int_equal(app_grant_parse("client_credentials"), APP_GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(app_grant_parse("password"), 0);
	assert_int_equal(app_grant_parse(""), 0);
	assert_int_equal(app_grant_parse(NULL), 0);
}

/* ---- callbackURLs --------------------------------------------------------------------- */

static void callback_rules(void **state)
{
	(void)state;
	static const char *const good[] = {
	    "https://app.example/cb",
	    "https://app.example",
	    "http://localhost:8080/cb?x=1",
	    "https://[::1]:8443/cb",
	    "https://127.0.0.1/cb",
	    "HTTPS://APP.EXAMPLE/CB",
	    "com.example.app:/oauth2redirect",
	    "myapp://callback",
	    "https://app.example/cb%20x",
	    "regexp=(https://a\\\\.example/cb|https://b\\\\.example/cb)",
	    "regexp=https://.*\\\\.example\\\\.com/cb",
	};
	static const struct {
		const char *url, *want;
	} bad[] = {
	    {"/cb", "must be an absolute URL"},
	    {"cb", "must be an absolute URL"},
	    {"app.example/cb", "must be an absolute URL"},
	    {"1http://x/", "must be an absolute URL"},
	    {"", "must be 1 to 2048 bytes"},
	    {"https://", "the URL has no host"},
	    {"https:///cb", "the URL has no host"},
	    {"https:/app.example/cb", "an http(s) URL needs '//' and a host"},
	    {"https:app.example", "an http(s) URL needs '//' and a host"},
	    {"https://app.example/cb#frag", "must not contain a fragment"},
	    {"https://app.example/c b", "must be percent-encoded"},
	    {"https://app.example/\xc3\xa9", "must be percent-encoded"},
	    {"https://user:pw@app.example/cb", "user information"},
	    {"https://app.example:0/cb", "invalid port"},
	    {"https://app.example:65536/cb", "invalid port"},
	    {"https://app.example:-1/cb", "invalid port"},
	    {"https://app.example:/cb", "invalid port"},
	    {"https://app.example:80x/cb", "invalid port"},
	    {"https://[::1/cb", "malformed IPv6"},
	    {"https://[]/cb", "malformed IPv6"},
	    {"https://app!.example/", "invalid character '!' in the host"},
	    {"javascript:alert(1)", "the scheme 'javascript' is not allowed"},
	    {"JavaScript:alert(1)", "the scheme 'javascript' is not allowed"},
	    {"data:text/html,x", "the scheme 'data' is not allowed"},
	    {"file:///etc/passwd", "the scheme 'file' is not allowed"},
	    {"myapp:", "nothing after the scheme"},
	    {"regexp=", "empty regular expression"},
	    {"regexp=(https://a", "invalid regular expression"},
	    {"regexp=https://[a-", "invalid regular expression"},
	};
	char v[4096];

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(v, sizeof v, "[\"%s\"]", good[i]);
		accepts(base_with(OIDC ".callbackURLs", v));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(v, sizeof v, "[\"https://ok.example/cb\", \"%s\"]", bad[i].url);
		rejects_at(base_with(OIDC ".callbackURLs", v), OIDC ".callbackURLs[1]",
			   bad[i].want);
	}
	rejects(base_with(OIDC ".callbackURLs", "\"https://a.example/\""),
		OIDC ".callbackURLs: must be an array");
	rejects(base_with(OIDC ".callbackURLs", "[\"https://a.example/\", \"https://a.example/\"]"),
		OIDC ".callbackURLs[1]: duplicate value");
	/* Length bound. */
	v[0] = '[';
	v[1] = '"';
	memcpy(v + 2, "https://a.example/", 18);
	memset(v + 20, 'x', 2040);
	memcpy(v + 2060, "\"]", 3);
	rejects(base_with(OIDC ".callbackURLs", v),
		OIDC ".callbackURLs[0]: must be 1 to 2048 bytes");
}

static void list_bound(void **state)
{
	(void)state;
	struct buf b = {0};

	buf_append_cstr(&b, "[");
	for (int i = 0; i <= APP_LIST_MAX; i++)
		buf_printf(&b, "%s\"s%d\"", i ? "," : "", i);
	buf_append_cstr(&b, "]");
	rejects(base_with(OIDC ".allowedScopes", b.p), OIDC ".allowedScopes: at most 100 entries");
	buf_free(&b);
}

/* ---- public clients, tokens -------------------------------------------------------------- */

static void public_client_rules(void **state)
{
	(void)state;
	struct app_conf *c;

	rejects(base_with(OIDC ".publicClient", "\"yes\""),
		OIDC ".publicClient: must be true or false");
	c = must_parse(base_with(OIDC ".publicClient", "true"));
	assert_true(c->public_client);
	assert_int_equal(c->auth_method, APP_AUTH_NONE);
	app_conf_free(c);

	json_t *d = base_with(OIDC ".publicClient", "true");
	json_object_set_new(
	    json_object_get(json_object_get(d, "inboundProtocolConfiguration"), "oidc"),
	    "grantTypes", load("[\"client_credentials\"]"));
	rejects(d, OIDC ".grantTypes: a public client cannot use client_credentials");

	d = base_with(OIDC ".publicClient", "true");
	json_object_set_new(
	    json_object_get(json_object_get(d, "inboundProtocolConfiguration"), "oidc"),
	    "clientAuthentication", load("{\"tokenEndpointAuthMethod\":\"client_secret_basic\"}"));
	rejects(d, OIDC ".clientAuthentication.tokenEndpointAuthMethod: a public client");

	rejects(base_with(OIDC ".clientAuthentication", "{\"tokenEndpointAuthMethod\":\"none\"}"),
		OIDC
		".clientAuthentication.tokenEndpointAuthMethod: \"none\" requires publicClient: "
		"true");

	d = base_with(OIDC ".publicClient", "true");
	json_object_set_new(
	    json_object_get(json_object_get(d, "inboundProtocolConfiguration"), "oidc"),
	    "clientAuthentication", load("{\"tokenEndpointAuthMethod\":\"none\"}"));
	c = must_parse(d);
	assert_int_equal(c->auth_method, APP_AUTH_NONE);
	app_conf_free(c);
}

static void token_rules(void **state)
{
	(void)state;
	struct app_conf *c;
	static const char *const bad_ttl[] = {
	    "0", "-1", "315360001", "1.5", "\"3600\"", "true", "1e3", "9223372036854775807"};
	static const char *const ttl_paths[] = {
	    OIDC ".accessToken.userAccessTokenExpiryInSeconds",
	    OIDC ".accessToken.applicationAccessTokenExpiryInSeconds",
	    OIDC ".refreshToken.expiryInSeconds",
	};

	for (size_t p = 0; p < 3; p++) {
		char want[200];
		snprintf(want, sizeof want, "%s: must be an integer from 1 to 315360000",
			 ttl_paths[p]);
		for (size_t i = 0; i < sizeof bad_ttl / sizeof bad_ttl[0]; i++)
			rejects(base_with(ttl_paths[p], bad_ttl[i]), want);
		accepts(base_with(ttl_paths[p], "1"));
		accepts(base_with(ttl_paths[p], "315360000"));
	}
	rejects(base_with(OIDC ".accessToken.type", "\"jwt\""),
		OIDC ".accessToken.type: must be \"Default\" or \"JWT\"");
	rejects(base_with(OIDC ".accessToken.type", "1"), OIDC ".accessToken.type: must be");
	c = must_parse(base_with(OIDC ".accessToken.type", "\"Default\""));
	assert_false(c->jwt_access_token);
	app_conf_free(c);
	rejects(base_with(OIDC ".refreshToken.renewRefreshToken", "1"),
		OIDC ".refreshToken.renewRefreshToken: must be true or false");
	c = must_parse(base_with(OIDC ".refreshToken.renewRefreshToken", "true"));
	assert_int_equal(c->renew_refresh_token, 1);
	app_conf_free(c);
}

/* ---- audiences, scopes, identity providers ------------------------------------------------ */

static void audience_rules(void **state)
{
	(void)state;
	rejects(base_with(OIDC ".idToken.audience", "[\"https://api.example\", \"\"]"),
		OIDC ".idToken.audience[1]: an audience must be a non-empty string");
	rejects(base_with(OIDC ".idToken.audience", "[1]"),
		OIDC ".idToken.audience[0]: must be a string");
	rejects(base_with(OIDC ".idToken.audience", "\"https://api.example\""),
		OIDC ".idToken.audience: must be an array");
	rejects(base_with(OIDC ".idToken.audience", "[\"a\\nb\"]"),
		OIDC ".idToken.audience[0]: an audience is at most");
	rejects(base_with(OIDC ".idToken.audience", "[\"x\", \"x\"]"),
		OIDC ".idToken.audience[1]: duplicate value 'x'");
	accepts(base_with(OIDC ".idToken.audience", "[]"));
	accepts(base_with(OIDC ".idToken.audience", "[\"urn:api\", \"https://api.example\"]"));
}

static void scope_rules(void **state)
{
	(void)state;
	rejects(base_with(OIDC ".allowedScopes", "[\"read write\"]"),
		OIDC ".allowedScopes[0]: a scope token may not contain spaces");
	rejects(base_with(OIDC ".allowedScopes", "[\"ok\", \"a\\\"b\"]"),
		OIDC ".allowedScopes[1]: a scope token may not contain");
	rejects(base_with(OIDC ".allowedScopes", "[\"a\\\\b\"]"),
		OIDC ".allowedScopes[0]: a scope token may not contain");
	rejects(base_with(OIDC ".allowedScopes", "[\"\\u00e9\"]"),
		OIDC ".allowedScopes[0]: a scope token may not contain");
	rejects(base_with(OIDC ".allowedScopes", "[\"\"]"),
		OIDC ".allowedScopes[0]: a scope is 1 to 256 characters");
	accepts(
	    base_with(OIDC ".allowedScopes",
		      "[\"openid\", \"orders:read\", \"https://api.example/x!#$%&'()*+,-./\"]"));
}

static void idp_name_rules(void **state)
{
	(void)state;
	rejects(base_with(OIDC ".allowedIdentityProviders", "[\"\"]"),
		OIDC ".allowedIdentityProviders[0]: an identity provider name is 1 to 255");
	rejects(base_with(OIDC ".allowedIdentityProviders", "[\"a\", \"a\"]"),
		OIDC ".allowedIdentityProviders[1]: duplicate value 'a'");
	rejects(base_with(OIDC ".allowedIdentityProviders", "{}"),
		OIDC ".allowedIdentityProviders: must be an array");
	accepts(base_with(OIDC ".allowedIdentityProviders", "[\"jwtIDP\", \"Other IdP\"]"));
}

/* ---- client authentication ------------------------------------------------------------------ */

/* A fresh public JWKS {"keys":[<P-256 key>]}; with `priv`, the private
 * JWK member "d" is added (which must be refused). */
static char *jwks_text(bool priv)
{
	struct jose_key *k = NULL;
	struct err e = {0};
	json_t *jwk = NULL, *set;
	char *text;

	assert_int_equal(jose_key_generate(JOSE_ALG_ES256, &k, &e), ST_OK);
	assert_int_equal(jose_key_public_jwk(k, &jwk, &e), ST_OK);
	if (priv)
		json_object_set_new(jwk, "d",
				    json_string("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"));
	set = json_pack("{s:[o]}", "keys", jwk);
	text = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	jose_key_free(k);
	return text;
}

static void client_auth_rules(void **state)
{
	(void)state;
	const char *P = OIDC ".clientAuthentication";
	char body[4096], want[256];
	struct app_conf *c;
	json_t *doc;
	char *jwks = jwks_text(false), *priv = jwks_text(true);

	rejects(base_with(OIDC ".clientAuthentication", "{\"tokenEndpointAuthMethod\":\"tls\"}"),
		OIDC ".clientAuthentication.tokenEndpointAuthMethod: must be one of");
	rejects(base_with(OIDC ".clientAuthentication", "{\"tokenEndpointAuthMethod\":1}"),
		OIDC ".clientAuthentication.tokenEndpointAuthMethod: must be one of");
	snprintf(want, sizeof want, "%s: private_key_jwt needs exactly one of jwksUri and jwks", P);
	rejects(base_with(OIDC ".clientAuthentication",
			  "{\"tokenEndpointAuthMethod\":\"private_key_jwt\"}"),
		want);
	rejects(base_with(OIDC ".clientAuthentication",
			  "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwksUri\":null,"
			  "\"jwks\":null}"),
		want);
	snprintf(body, sizeof body,
		 "{\"tokenEndpointAuthMethod\":\"private_key_jwt\","
		 "\"jwksUri\":\"https://client.example/jwks\",\"jwks\":%s}",
		 jwks);
	rejects(base_with(OIDC ".clientAuthentication", body), want);

	/* jwksUri: checked by the JWKS rules (https unless allowed). */
	c = must_parse(base_with(OIDC ".clientAuthentication",
				 "{\"tokenEndpointAuthMethod\":\"private_key_jwt\","
				 "\"jwksUri\":\"https://client.example/jwks\"}"));
	assert_int_equal(c->auth_method, APP_AUTH_PRIVATE_KEY_JWT);
	assert_string_equal(c->client_jwks_uri, "https://client.example/jwks");
	assert_null(c->client_keys);
	app_conf_free(c);
	rejects(base_with(OIDC ".clientAuthentication",
			  "{\"tokenEndpointAuthMethod\":\"private_key_jwt\","
			  "\"jwksUri\":\"http://client.example/jwks\"}"),
		OIDC ".clientAuthentication.jwksUri: ");
	rejects(base_with(OIDC ".clientAuthentication",
			  "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwksUri\":\"\"}"),
		OIDC ".clientAuthentication.jwksUri: must be a URL");

	/* Inline jwks: parsed into keys; private material refused. */
	snprintf(body, sizeof body, "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwks\":%s}",
		 jwks);
	c = must_parse(base_with(OIDC ".clientAuthentication", body));
	assert_non_null(c->client_keys);
	assert_int_equal(c->client_keys->n, 1);
	assert_null(c->client_jwks_uri);
	app_conf_free(c);
	snprintf(body, sizeof body, "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwks\":%s}",
		 priv);
	rejects(base_with(OIDC ".clientAuthentication", body), OIDC ".clientAuthentication.jwks: ");
	rejects(
	    base_with(OIDC ".clientAuthentication",
		      "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwks\":{\"keys\":[]}}"),
	    OIDC ".clientAuthentication.jwks: ");
	rejects(base_with(OIDC ".clientAuthentication",
			  "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwks\":[]}"),
		OIDC ".clientAuthentication.jwks: must be a JWKS object");

	/* Keys with another method are refused. */
	snprintf(body, sizeof body,
		 "{\"tokenEndpointAuthMethod\":\"client_secret_basic\",\"jwks\":%s}", jwks);
	rejects(base_with(OIDC ".clientAuthentication", body),
		OIDC ".clientAuthentication.jwks: client keys are used only with private_key_jwt");
	rejects(base_with(OIDC ".clientAuthentication", "{\"jwksUri\":\"https://c.example/j\"}"),
		OIDC
		".clientAuthentication.jwksUri: client keys are used only with private_key_jwt");

	/* Round trip of the inline jwks through the canonical document. */
	snprintf(body, sizeof body, "{\"tokenEndpointAuthMethod\":\"private_key_jwt\",\"jwks\":%s}",
		 jwks);
	c = must_parse(base_with(OIDC ".clientAuthentication", body));
	doc = app_conf_doc(c, cfg);
	assert_non_null(doc);
	assert_true(json_equal(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(doc, "inboundProtocolConfiguration"), "oidc"),
		    "clientAuthentication"),
		"jwks"),
	    c->client_jwks));
	app_conf_free(c);
	c = must_parse(doc);
	assert_int_equal(c->client_keys->n, 1);
	app_conf_free(c);

	free(jwks);
	free(priv);
}

/* ---- canonical document, stored rows, auth matrix ------------------------------------------ */

static json_t *oidc_of(json_t *doc)
{
	return json_object_get(json_object_get(doc, "inboundProtocolConfiguration"), "oidc");
}

static void canonical_document(void **state)
{
	(void)state;
	struct app_conf *c = must_parse(load(BASE)), *c2;
	json_t *doc = app_conf_doc(c, cfg), *again, *oidc;
	char *text;

	assert_non_null(doc);
	oidc = oidc_of(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), "my-app");
	assert_string_equal(json_string_value(json_object_get(doc, "description")), "");
	assert_null(json_object_get(doc, "id"));
	assert_string_equal(json_string_value(json_object_get(oidc, "clientId")), CID);
	assert_null(json_object_get(oidc, "clientSecret"));
	assert_true(json_is_false(json_object_get(oidc, "publicClient")));
	assert_int_equal(json_array_size(json_object_get(oidc, "callbackURLs")), 0);
	/* Server defaults are fixed into the document when it is saved. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(oidc, "accessToken"),
							    "userAccessTokenExpiryInSeconds")),
			 cfg->oauth.token_validation.user_access_token_validity);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(oidc, "accessToken"),
					       "applicationAccessTokenExpiryInSeconds")),
	    cfg->oauth.token_validation.app_access_token_validity);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(oidc, "refreshToken"),
							    "expiryInSeconds")),
			 cfg->oauth.token_validation.refresh_token_validity);
	assert_true(json_is_true(
	    json_object_get(json_object_get(oidc, "refreshToken"), "renewRefreshToken")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(oidc, "accessToken"), "type")),
	    "Default");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(oidc, "clientAuthentication"),
					      "tokenEndpointAuthMethod")),
	    "client_secret_basic");
	assert_true(json_is_null(
	    json_object_get(json_object_get(oidc, "clientAuthentication"), "jwksUri")));

	/* A fixed point: parsing the canonical form gives the same form. */
	c2 = must_parse(json_incref(doc));
	again = app_conf_doc(c2, cfg);
	assert_true(json_equal(doc, again));
	json_decref(again);
	app_conf_free(c2);
	app_conf_free(c);
	json_decref(doc);

	/* Explicit values survive; grant types come out in one order. */
	c = must_parse(load(FULL));
	doc = app_conf_doc(c, cfg);
	text = json_dumps(oidc_of(doc), JSON_COMPACT);
	assert_non_null(strstr(text,
			       "\"grantTypes\":[\"urn:ietf:params:oauth:grant-type:jwt-bearer\","
			       "\"refresh_token\",\"client_credentials\"]"));
	assert_non_null(strstr(text, "\"userAccessTokenExpiryInSeconds\":1200"));
	assert_non_null(strstr(text, "\"renewRefreshToken\":false"));
	assert_non_null(strstr(text, "\"audience\":[\"https://api.example\",\"urn:other\"]"));
	assert_non_null(strstr(text, "\"tokenEndpointAuthMethod\":\"client_secret_post\""));
	assert_non_null(strstr(text, "\"type\":\"JWT\""));
	free(text);
	c2 = must_parse(json_incref(doc));
	again = app_conf_doc(c2, cfg);
	assert_true(json_equal(doc, again));
	json_decref(again);
	json_decref(doc);
	app_conf_free(c2);
	app_conf_free(c);
}

static void load_stored(void **state)
{
	(void)state;
	struct store_app a = {0};
	struct app_conf *c = NULL;
	struct err e = {0};

	a.id = "6f1d2c3b-1111-4222-8333-444455556666";
	a.tenant_id = "7a1d2c3b-1111-4222-8333-444455556666";
	a.name = "my-app";
	a.client_id = CID;
	a.doc = (char *)BASE;
	a.has_secret = true;
	memset(a.secret_hash, 0xab, sizeof a.secret_hash);
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_OK);
	assert_string_equal(c->id, a.id);
	assert_string_equal(c->tenant_id, a.tenant_id);
	assert_true(c->has_secret);
	assert_memory_equal(c->secret_hash, a.secret_hash, SHA256_LEN);
	app_conf_ref(c);
	app_conf_free(c);
	assert_string_equal(c->client_id, CID); /* still alive: one reference left */
	app_conf_free(c);
	app_conf_free(NULL);

	a.client_id = "ZZcdefghijklmnopqrstuvwxyz01";
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_INTERNAL);
	assert_null(c);
	assert_non_null(strstr(e.msg, "disagrees"));
	a.client_id = CID;
	a.doc = "{\"name\":1}";
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_INTERNAL);
	assert_non_null(strstr(e.msg, "stored document is invalid: name: required"));
	a.doc = "not json";
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_INTERNAL);
	assert_null(c);
}

/* ---- no OIDC configuration yet; WSO2's other members -------------------------------- */

static void name_only(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "{\"name\":\"later\",\"description\":\"d\"}",
	    "{\"name\":\"later\",\"description\":\"d\",\"inboundProtocolConfiguration\":{}}",
	    "{\"name\":\"later\",\"description\":\"d\","
	    "\"inboundProtocolConfiguration\":{\"oidc\":null}}",
	};
	struct store_app a = {0};
	struct err e = {0};
	struct app_conf *c;
	json_t *doc;
	char ph[APP_PLACEHOLDER_LEN + 1];

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		c = must_parse(load(docs[i]));
		assert_false(c->has_oidc);
		assert_null(c->client_id);
		assert_int_equal(c->grants, 0);
		/* Authenticates with nothing. */
		assert_false(app_conf_accepts_auth(c, APP_AUTH_SECRET_BASIC));
		assert_false(app_conf_accepts_auth(c, APP_AUTH_NONE));
		doc = app_conf_doc(c, cfg);
		{
			json_t *want = load("{\"name\":\"later\",\"description\":\"d\"}");
			assert_true(json_equal(doc, want));
			json_decref(want);
		}
		json_decref(doc);
		app_conf_free(c);
	}
	c = must_parse(load(BASE));
	assert_true(c->has_oidc);
	app_conf_free(c);

	/* Stored with the placeholder client id, and only with it. */
	a.id = "6f1d2c3b-1111-4222-8333-444455556666";
	a.tenant_id = "7a1d2c3b-1111-4222-8333-444455556666";
	a.name = "later";
	a.doc = (char *)docs[0];
	assert_int_equal(app_client_id_placeholder(a.id, ph), ST_OK);
	assert_string_equal(ph, "~6f1d2c3b-1111-4222-8333-444455556666");
	assert_true(app_client_id_is_placeholder(ph));
	assert_false(app_client_id_is_placeholder(CID));
	assert_false(app_client_id_valid(sv_from(ph)));
	a.client_id = ph;
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_OK);
	assert_false(c->has_oidc);
	app_conf_free(c);
	a.client_id = CID; /* a real client id on an application without OIDC */
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_INTERNAL);
	a.client_id = ph; /* and the placeholder on one with OIDC */
	a.doc = (char *)BASE;
	assert_int_equal(app_conf_load(&a, cfg, &c, &e), ST_INTERNAL);
	assert_null(c);
}

/* WSO2 IS 7's OpenIDConnectConfiguration members grantd does not act on:
 * kept as given (nested ones in their sub-object) and changing nothing. */
static void wso2_members(void **state)
{
	(void)state;
	static const char WSO2[] =
	    "{\"name\":\"w\",\"inboundProtocolConfiguration\":{\"oidc\":{"
	    "\"clientId\":\"" CID "\",\"state\":\"ACTIVE\","
	    "\"grantTypes\":[\"urn:ietf:params:oauth:grant-type:jwt-bearer\"],"
	    "\"allowedOrigins\":[\"https://app.example\"],"
	    "\"pkce\":{\"mandatory\":false,\"supportPlainTransformAlgorithm\":false},"
	    "\"logout\":{\"frontChannelLogoutUrl\":\"\"},"
	    "\"validateRequestObjectSignature\":false,\"scopeValidators\":[\"Role based scope "
	    "validator\"],\"isFAPIApplication\":false,\"clientSecretExpiresAt\":0,"
	    "\"accessToken\":{\"type\":\"Default\",\"bindingType\":\"None\","
	    "\"revokeTokensWhenIDPSessionTerminated\":false,\"validateTokenBinding\":false,"
	    "\"accessTokenAttributes\":[]},"
	    "\"refreshToken\":{\"expiryInSeconds\":86400,\"renewRefreshToken\":true,"
	    "\"extendRenewedRefreshTokenExpiryTime\":false},"
	    "\"idToken\":{\"expiryInSeconds\":3600,\"audience\":[],"
	    "\"idTokenSignedResponseAlg\":\"RS256\","
	    "\"encryption\":{\"enabled\":false,\"algorithm\":\"\",\"method\":\"\"}},"
	    "\"clientAuthentication\":{\"tokenEndpointAuthMethod\":\"client_secret_basic\","
	    "\"tokenEndpointAuthSigningAlg\":\"\",\"tlsClientAuthSubjectDn\":\"\"}}}}";
	json_t *given = load(WSO2), *doc, *oidc;
	struct app_conf *c = must_parse(json_incref(given));

	assert_int_equal(c->grants, APP_GRANT_JWT_BEARER);
	assert_int_equal(c->refresh_token_ttl, 86400);
	doc = app_conf_doc(c, cfg);
	oidc = json_object_get(json_object_get(doc, "inboundProtocolConfiguration"), "oidc");
	assert_string_equal(json_string_value(json_object_get(oidc, "state")), "ACTIVE");
	assert_true(json_equal(
	    json_object_get(oidc, "pkce"),
	    json_object_get(
		json_object_get(json_object_get(given, "inboundProtocolConfiguration"), "oidc"),
		"pkce")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(oidc, "accessToken"), "bindingType")),
	    "None");
	/* ours and WSO2's side by side in one sub-object */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(oidc, "accessToken"), "type")),
	    "Default");
	assert_false(json_is_true(json_object_get(json_object_get(oidc, "refreshToken"),
						  "extendRenewedRefreshTokenExpiryTime")));
	assert_non_null(json_object_get(json_object_get(oidc, "idToken"), "encryption"));
	assert_non_null(json_object_get(json_object_get(oidc, "clientAuthentication"),
					"tlsClientAuthSubjectDn"));
	assert_null(json_object_get(oidc, "clientSecretExpiresAt"));
	/* The canonical document parses to the same document. */
	app_conf_free(c);
	c = must_parse(json_incref(doc));
	{
		json_t *again = app_conf_doc(c, cfg);
		assert_true(json_equal(doc, again));
		json_decref(again);
	}
	app_conf_free(c);
	json_decref(doc);
	/* The caller's document is not changed by the parse. */
	{
		json_t *want = load(WSO2);
		assert_true(json_equal(given, want));
		json_decref(want);
	}
	json_decref(given);

	rejects(base_with(OIDC ".pkce", "true"), OIDC ".pkce: must be an object");
	rejects(base_with(OIDC ".allowedOrigins", "\"x\""),
		OIDC ".allowedOrigins: must be an array");
	rejects(base_with(OIDC ".state", "\"a\\nb\""), OIDC ".state: control characters");
	rejects(base_with(OIDC ".accessToken.validateTokenBinding", "1"),
		OIDC ".accessToken.validateTokenBinding: must be true or false");
	rejects(base_with(OIDC ".refreshToken.gracefulRefreshTokenReuseLimit", "\"3\""),
		OIDC ".refreshToken.gracefulRefreshTokenReuseLimit: must be an integer");
	rejects(base_with(OIDC ".clientSecretExpiresAt", "1893456000"),
		OIDC ".clientSecretExpiresAt: not supported by grantd");
	accepts(base_with(OIDC ".clientSecretExpiresAt", "null"));

	/* The application's own WSO2 members, with and without OIDC. */
	{
		struct app_conf *a =
		    must_parse(base_with("claimConfiguration", "{\"dialect\":\"LOCAL\"}"));
		json_t *d = app_conf_doc(a, cfg);
		assert_string_equal(json_string_value(json_object_get(
					json_object_get(d, "claimConfiguration"), "dialect")),
				    "LOCAL");
		json_decref(d);
		app_conf_free(a);
		a = must_parse(load("{\"name\":\"n\",\"imageUrl\":\"https://x.example/i.png\","
				    "\"applicationEnabled\":true}"));
		assert_false(a->has_oidc);
		d = app_conf_doc(a, cfg);
		assert_string_equal(json_string_value(json_object_get(d, "imageUrl")),
				    "https://x.example/i.png");
		assert_null(json_object_get(d, "applicationEnabled"));
		json_decref(d);
		app_conf_free(a);
	}
	rejects(base_with("applicationEnabled", "false"), "applicationEnabled: only true");
	rejects(base_with("isManagementApp", "\"no\""), "isManagementApp: must be true or false");
	rejects(base_with("imageURL", "\"x\""), "imageURL: unknown field");
}

static void auth_matrix(void **state)
{
	(void)state;
	struct app_conf c = {0};

	c.auth_method = APP_AUTH_SECRET_BASIC;
	c.has_secret = true;
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_SECRET_BASIC));
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_SECRET_POST));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_PRIVATE_KEY_JWT));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_NONE));
	c.auth_method = APP_AUTH_SECRET_POST;
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_SECRET_BASIC));
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_SECRET_POST));
	c.has_secret = false;
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_SECRET_BASIC));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_SECRET_POST));
	c.has_secret = true;
	c.auth_method = APP_AUTH_PRIVATE_KEY_JWT;
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_PRIVATE_KEY_JWT));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_SECRET_BASIC));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_SECRET_POST));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_NONE));
	c.public_client = true;
	c.has_secret = false;
	c.auth_method = APP_AUTH_NONE;
	assert_true(app_conf_accepts_auth(&c, APP_AUTH_NONE));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_SECRET_BASIC));
	assert_false(app_conf_accepts_auth(&c, APP_AUTH_PRIVATE_KEY_JWT));
}

/* ---- generated credentials ------------------------------------------------------------------- */

#define SAMPLES 1000

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void client_id_shape(void **state)
{
	(void)state;
	static char ids[SAMPLES][APP_CLIENT_ID_LEN + 1];
	char *sorted[SAMPLES];
	bool seen[256] = {false};
	size_t distinct_chars = 0;

	for (int i = 0; i < SAMPLES; i++) {
		assert_int_equal(app_client_id_new(ids[i]), ST_OK);
		assert_int_equal(strlen(ids[i]), APP_CLIENT_ID_LEN);
		for (int j = 0; j < APP_CLIENT_ID_LEN; j++) {
			char ch = ids[i][j];
			assert_true((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '0' && ch <= '9') || ch == '_');
			seen[(unsigned char)ch] = true;
		}
		assert_true(app_client_id_valid(sv_from(ids[i])));
		sorted[i] = ids[i];
	}
	qsort(sorted, SAMPLES, sizeof sorted[0], cmp_str);
	for (int i = 1; i < SAMPLES; i++)
		assert_string_not_equal(sorted[i - 1], sorted[i]);
	/* 28000 uniform draws over 63 symbols: each appears (a symbol missing
	 * has probability about 63 * (62/63)^28000, i.e. never). */
	for (int ch = 0; ch < 256; ch++)
		distinct_chars += seen[ch];
	assert_int_equal(distinct_chars, 63);
}

static void secret_shape(void **state)
{
	(void)state;
	static char s[SAMPLES][APP_SECRET_LEN + 1];
	char *sorted[SAMPLES];

	for (int i = 0; i < SAMPLES; i++) {
		unsigned char raw[64];
		size_t n = 0;
		assert_int_equal(app_secret_new(s[i]), ST_OK);
		assert_int_equal(strlen(s[i]), APP_SECRET_LEN);
		for (int j = 0; j < APP_SECRET_LEN; j++) {
			char ch = s[i][j];
			assert_true((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-');
		}
		assert_int_equal(b64url_decode(sv_from(s[i]), raw, sizeof raw, &n), ST_OK);
		assert_int_equal(n, 32); /* 256 bits */
		sorted[i] = s[i];
	}
	qsort(sorted, SAMPLES, sizeof sorted[0], cmp_str);
	for (int i = 1; i < SAMPLES; i++)
		assert_string_not_equal(sorted[i - 1], sorted[i]);
}

static void client_id_validity(void **state)
{
	(void)state;
	assert_true(app_client_id_valid(sv_from(CID)));
	assert_true(app_client_id_valid(sv_from("A-B_c-D_e-F_g-H_i-J_k-L_m-N_")));
	assert_false(app_client_id_valid(sv_from("abcdefghijklmnopqrstuvwxyz0")));
	assert_false(app_client_id_valid(sv_from("abcdefghijklmnopqrstuvwxyz0=")));
	assert_false(app_client_id_valid(sv_from("abcdefghijklmnopqrstuvwxyz0 ")));
	assert_false(app_client_id_valid(sv_from("abcdefghijklmnopqrstuvwxyz0\xc3")));
	assert_false(app_client_id_valid(SV_NULL));
	assert_true(app_client_id_valid(
	    sv_from("0123456789012345678901234567890123456789012345678901234567890123")));
	assert_false(app_client_id_valid(
	    sv_from("01234567890123456789012345678901234567890123456789012345678901234")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_defaults),   cmocka_unit_test(full_document),
	    cmocka_unit_test(null_means_absent),  cmocka_unit_test(name_rules),
	    cmocka_unit_test(description_rules),  cmocka_unit_test(unknown_fields),
	    cmocka_unit_test(structure),          cmocka_unit_test(client_id_rules),
	    cmocka_unit_test(grant_rules),        cmocka_unit_test(callback_rules),
	    cmocka_unit_test(list_bound),         cmocka_unit_test(public_client_rules),
	    cmocka_unit_test(token_rules),        cmocka_unit_test(audience_rules),
	    cmocka_unit_test(scope_rules),        cmocka_unit_test(idp_name_rules),
	    cmocka_unit_test(client_auth_rules),  cmocka_unit_test(canonical_document),
	    cmocka_unit_test(load_stored),        cmocka_unit_test(auth_matrix),
	    cmocka_unit_test(client_id_shape),    cmocka_unit_test(secret_shape),
	    cmocka_unit_test(client_id_validity), cmocka_unit_test(name_only),
	    cmocka_unit_test(wso2_members),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
