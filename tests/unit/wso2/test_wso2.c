/* test_wso2.c - the WSO2 export readers and the mapping to admin API
 * bodies (src/wso2), over the sample exports of tests/data/wso2 (one model
 * in XML, YAML and JSON: the same body from each) and hostile inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/limits.h"
#include "wso2/wso2.h"

static char *slurp(const char *rel, size_t *n)
{
	char path[1024];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof path, "%s/tests/data/wso2/%s", SOURCE_ROOT, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	buf[len] = '\0';
	*n = (size_t)len;
	return buf;
}

/* Reads and maps a sample file (format from its name); fails the test on a
 * refusal. */
static void load(const char *rel, struct wso2_object *o)
{
	struct err e = {0};
	json_t *tree = NULL;
	size_t n;
	char *data = slurp(rel, &n);

	if (wso2_read(wso2_format_of(NULL, rel), data, n, &tree, &e) != ST_OK)
		fail_msg("%s: read: %s", rel, e.msg);
	if (wso2_map(tree, o, &e) != ST_OK)
		fail_msg("%s: map: %s", rel, e.msg);
	json_decref(tree);
	free(data);
}

/* The status of reading a file, and its message in `e`. */
static status read_status(const char *rel, enum wso2_format f, struct err *e)
{
	json_t *tree = NULL;
	size_t n;
	char *data = slurp(rel, &n);
	status st = wso2_read(f, data, n, &tree, e);

	if (st == ST_OK) {
		struct wso2_object o;
		st = wso2_map(tree, &o, e);
		wso2_object_clear(&o);
	}
	json_decref(tree);
	free(data);
	return st;
}

static bool has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (strcasecmp(json_string_value(v), s) == 0) return true;
	return false;
}

static const char *path_str(const json_t *o, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(o, a);
	if (b != NULL)
		v = json_object_get(v, b);
	if (c != NULL)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void test_format_of(void **state)
{
	(void)state;
	assert_int_equal(wso2_format_of("application/xml; charset=utf-8", "x.json"),
			 WSO2_FORMAT_XML);
	assert_int_equal(wso2_format_of("text/yaml", NULL), WSO2_FORMAT_YAML);
	assert_int_equal(wso2_format_of("application/x-yaml", NULL), WSO2_FORMAT_YAML);
	assert_int_equal(wso2_format_of("application/JSON", NULL), WSO2_FORMAT_JSON);
	assert_int_equal(wso2_format_of("application/octet-stream", "idp.YML"), WSO2_FORMAT_YAML);
	assert_int_equal(wso2_format_of(NULL, "Partner IdP.xml"), WSO2_FORMAT_XML);
	assert_int_equal(wso2_format_of("application/jsonx", "a.txt"), WSO2_FORMAT_UNKNOWN);
	assert_int_equal(wso2_sniff("\xEF\xBB\xBF  <?xml", 9), WSO2_FORMAT_XML);
	assert_int_equal(wso2_sniff("\n {\"a\":1}", 9), WSO2_FORMAT_JSON);
	assert_int_equal(wso2_sniff("a: b", 4), WSO2_FORMAT_YAML);
}

/* The certificate IdP: the same body from each format. */
static void test_idp_cert(void **state)
{
	static const char *const files[] = {"idp-cert.xml", "idp-cert.yaml", "idp-cert.json"};
	json_t *first = NULL;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct wso2_object o;
		const json_t *certs;
		load(files[i], &o);
		assert_int_equal(o.kind, WSO2_IDP);
		assert_string_equal(json_string_value(o.name), "Partner IdP");
		assert_string_equal(path_str(o.body, "idpIssuerName", NULL, NULL),
				    "https://partner.example.com");
		assert_string_equal(path_str(o.body, "alias", NULL, NULL),
				    "https://grantd.example/oauth2/token");
		assert_true(json_is_true(json_object_get(o.body, "isEnabled")));
		assert_true(json_is_false(json_object_get(o.body, "isPrimary")));
		assert_string_equal(path_str(o.body, "homeRealmIdentifier", NULL, NULL), "partner");
		assert_string_equal(path_str(o.body, "image", NULL, NULL),
				    "https://partner.example.com/logo.png");
		/* base64 of a PEM, as the console stores it, becomes the PEM */
		certs = json_object_get(json_object_get(o.body, "certificate"), "certificates");
		assert_int_equal(json_array_size(certs), 1);
		assert_true(strncmp(json_string_value(json_array_get(certs, 0)),
				    "-----BEGIN CERTIFICATE-----", 27) == 0);
		assert_null(json_object_get(json_object_get(o.body, "certificate"), "jwksUri"));
		assert_true(has(o.mapped, "IdpProperties.idpIssuerName"));
		assert_true(has(o.mapped, "Certificate"));
		/* what grantd has no use for, by name; defaults are not reported */
		assert_true(has(o.dropped, "FederatedAuthenticatorConfigs"));
		assert_true(has(o.dropped, "ClaimConfig"));
		assert_true(has(o.dropped, "DisplayName"));
		assert_false(has(o.dropped, "IsFederationHub"));
		assert_false(has(o.dropped, "PermissionAndRoleConfig"));
		assert_false(has(o.dropped, "IdpProperties.isIdPMetadataEnabled"));
		if (first == NULL)
			first = json_deep_copy(o.body);
		else
			assert_true(json_equal(first, o.body));
		wso2_object_clear(&o);
	}
	json_decref(first);
}

static void test_idp_jwks(void **state)
{
	static const char *const files[] = {"idp-jwks.xml", "idp-jwks.yaml", "idp-jwks.json"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct wso2_object o;
		load(files[i], &o);
		assert_string_equal(path_str(o.body, "certificate", "jwksUri", NULL),
				    "https://keys.example.com/oauth2/jwks");
		assert_null(
		    json_object_get(json_object_get(o.body, "certificate"), "certificates"));
		assert_string_equal(path_str(o.body, "idpIssuerName", NULL, NULL),
				    "https://keys.example.com");
		assert_true(has(o.mapped, "IdpProperties.jwksUri"));
		assert_int_equal(json_array_size(o.dropped), 0);
		wso2_object_clear(&o);
	}
}

static void test_app(void **state)
{
	static const char *const files[] = {"app-jwt-bearer.xml", "app-jwt-bearer.yaml",
					    "app-jwt-bearer.json"};
	json_t *first = NULL;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct wso2_object o;
		const json_t *oidc, *grants;
		load(files[i], &o);
		assert_int_equal(o.kind, WSO2_APP);
		assert_string_equal(json_string_value(o.name), "Partner App");
		oidc = json_object_get(json_object_get(o.body, "inboundProtocolConfiguration"),
				       "oidc");
		assert_string_equal(path_str(oidc, "clientId", NULL, NULL),
				    "partner_app_client_0123456789abc");
		assert_string_equal(path_str(oidc, "clientSecret", NULL, NULL),
				    "partnerSecret-0123456789abcdefXYZ");
		grants = json_object_get(oidc, "grantTypes");
		assert_int_equal(json_array_size(grants), 2);
		assert_true(has(grants, "urn:ietf:params:oauth:grant-type:jwt-bearer"));
		assert_true(has(grants, "refresh_token"));
		assert_true(has(o.dropped, "oAuthAppDO.grantTypes: authorization_code"));
		assert_true(has(o.dropped, "oAuthAppDO.grantTypes: implicit"));
		assert_true(has(o.dropped, "oAuthAppDO.pkceMandatory"));
		assert_true(has(o.dropped, "InboundAuthenticationRequestConfigs: passivests"));
		assert_true(has(o.dropped, "LocalAndOutBoundAuthenticationConfig"));
		assert_false(has(o.dropped, "oAuthAppDO.hybridFlowEnabled"));
		assert_int_equal(json_integer_value(json_object_get(
				     json_object_get(oidc, "refreshToken"), "expiryInSeconds")),
				 86400);
		assert_true(json_is_true(
		    json_object_get(json_object_get(oidc, "refreshToken"), "renewRefreshToken")));
		assert_string_equal(path_str(oidc, "accessToken", "type", NULL), "Default");
		assert_string_equal(
		    path_str(oidc, "clientAuthentication", "tokenEndpointAuthMethod", NULL),
		    "client_secret_basic");
		assert_string_equal(
		    json_string_value(json_array_get(
			json_object_get(json_object_get(oidc, "idToken"), "audience"), 0)),
		    "https://api.partner.example.com");
		assert_true(json_is_false(json_object_get(oidc, "publicClient")));
		if (first == NULL)
			first = json_deep_copy(o.body);
		else
			assert_true(json_equal(first, o.body));
		wso2_object_clear(&o);
	}
	json_decref(first);
}

static void test_app_variants(void **state)
{
	struct wso2_object o;
	const json_t *oidc;
	struct err e = {0};

	(void)state;
	/* IS 5.x: the OAuthAppDO as XML text in inboundConfiguration */
	load("broken/app-legacy-inbound.xml", &o);
	oidc = json_object_get(json_object_get(o.body, "inboundProtocolConfiguration"), "oidc");
	assert_string_equal(path_str(oidc, "clientId", NULL, NULL),
			    "legacy_app_client_0123456789abcd");
	assert_int_equal(json_array_size(json_object_get(oidc, "grantTypes")), 2);
	wso2_object_clear(&o);
	/* a masked secret is no secret: not in the body, a note instead */
	load("broken/app-masked-secret.json", &o);
	oidc = json_object_get(json_object_get(o.body, "inboundProtocolConfiguration"), "oidc");
	assert_null(json_object_get(oidc, "clientSecret"));
	assert_string_equal(path_str(oidc, "accessToken", "type", NULL), "JWT");
	assert_int_equal(json_array_size(o.notes), 1);
	wso2_object_clear(&o);
	/* no OAuth inbound: a name-only application (WSO2's console flow), the
	 * SAML inbound dropped, a note */
	load("broken/app-no-oauth.xml", &o);
	assert_string_equal(json_string_value(o.name), "SAML Only App");
	assert_null(json_object_get(o.body, "inboundProtocolConfiguration"));
	assert_true(has(o.dropped, "InboundAuthenticationRequestConfigs: samlsso"));
	assert_int_equal(json_array_size(o.notes), 1);
	wso2_object_clear(&o);
	/* an OAuth inbound without a grant type grantd has: refused, kind and
	 * name known */
	{
		static const char text[] =
		    "{\"applicationName\": \"Code Only\", \"inboundAuthenticationConfig\": "
		    "{\"inboundAuthenticationRequestConfigs\": [{\"inboundAuthType\": \"oauth2\", "
		    "\"inboundConfigurationProtocol\": {\"grantTypes\": "
		    "\"authorization_code\"}}]}}";
		json_t *tree = NULL;
		assert_int_equal(wso2_read(WSO2_FORMAT_JSON, text, strlen(text), &tree, &e), ST_OK);
		assert_int_equal(wso2_map(tree, &o, &e), ST_INVALID);
		assert_int_equal(o.kind, WSO2_APP);
		assert_string_equal(json_string_value(o.name), "Code Only");
		assert_non_null(strstr(e.msg, "grantTypes"));
		wso2_object_clear(&o);
		json_decref(tree);
	}
}

static void test_refused(void **state)
{
	static const struct {
		const char *file;
		enum wso2_format f;
		status st;
		const char *msg;
	} cases[] = {
	    {"hostile/billion-laughs.xml", WSO2_FORMAT_XML, ST_INVALID, "document type"},
	    {"hostile/xxe.xml", WSO2_FORMAT_XML, ST_INVALID, "document type"},
	    {"hostile/deep.xml", WSO2_FORMAT_XML, ST_TOO_LARGE, "deeper than"},
	    {"hostile/alias-bomb.yaml", WSO2_FORMAT_YAML, ST_INVALID, "aliases"},
	    {"hostile/deep.json", WSO2_FORMAT_JSON, ST_INVALID, "depth"},
	    {"broken/truncated.xml", WSO2_FORMAT_XML, ST_INVALID, "line"},
	    {"broken/dup-keys.json", WSO2_FORMAT_JSON, ST_INVALID, "duplicate"},
	    {"broken/not-an-export.yaml", WSO2_FORMAT_YAML, ST_INVALID, "not a WSO2"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct err e = {0};
		status st = read_status(cases[i].file, cases[i].f, &e);
		if (st != cases[i].st || strstr(e.msg, cases[i].msg) == NULL)
			fail_msg("%s: status %d, '%s'", cases[i].file, st, e.msg);
	}
}

static void test_inline(void **state)
{
	static const struct {
		enum wso2_format f;
		const char *text;
		status st;
	} cases[] = {
	    {WSO2_FORMAT_YAML, "identityProviderName: a\nidentityProviderName: b\n", ST_INVALID},
	    {WSO2_FORMAT_YAML, "--- {identityProviderName: a}\n--- {b: c}\n", ST_INVALID},
	    {WSO2_FORMAT_YAML, "? [a]\n: b\n", ST_INVALID},
	    {WSO2_FORMAT_YAML, "identityProviderName: x\nalias: ~\n", ST_OK},
	    {WSO2_FORMAT_XML,
	     "<IdentityProvider><IdentityProviderName>&amp;x</IdentityProviderName>"
	     "</IdentityProvider>",
	     ST_OK},
	    {WSO2_FORMAT_XML,
	     "<IdentityProvider><IdentityProviderName>&undefined;"
	     "</IdentityProviderName></IdentityProvider>",
	     ST_INVALID},
	    {WSO2_FORMAT_JSON, "[\"identityProviderName\"]", ST_INVALID},
	    {WSO2_FORMAT_JSON, "{\"identityProviderName\": \"  \"}", ST_INVALID},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct err e = {0};
		struct wso2_object o;
		json_t *tree = NULL;
		status st = wso2_read(cases[i].f, cases[i].text, strlen(cases[i].text), &tree, &e);
		if (st == ST_OK) {
			st = wso2_map(tree, &o, &e);
			if (st == ST_OK && i == 4)
				assert_string_equal(json_string_value(o.name), "&x");
			wso2_object_clear(&o);
		}
		json_decref(tree);
		if (st != cases[i].st)
			fail_msg("case %zu: status %d (%s)", i, st, e.msg);
	}
	{
		/* more nodes than LIMIT_IMPORT_NODES: a list of 30 000 entries */
		size_t cap = 64 + 30000 * 12, n; /* "  - 29999\n" is 10 bytes */
		char *wide = malloc(cap);
		struct err e = {0};
		json_t *tree = NULL;
		assert_non_null(wide);
		n = (size_t)snprintf(wide, cap, "identityProviderName: Wide\nclaimConfig:\n");
		for (int i = 0; i < 30000; i++)
			n += (size_t)snprintf(wide + n, cap - n, "  - %d\n", i);
		assert_int_equal(wso2_read(WSO2_FORMAT_YAML, wide, n, &tree, &e), ST_TOO_LARGE);
		assert_non_null(strstr(e.msg, "nodes"));
		free(wide);
	}
	{
		/* one byte over the file cap */
		size_t n = LIMIT_IMPORT_FILE + 1;
		char *big = malloc(n);
		struct err e = {0};
		json_t *tree = NULL;
		assert_non_null(big);
		memset(big, ' ', n);
		assert_int_equal(wso2_read(WSO2_FORMAT_JSON, big, n, &tree, &e), ST_TOO_LARGE);
		free(big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_of),    cmocka_unit_test(test_idp_cert),
	    cmocka_unit_test(test_idp_jwks),     cmocka_unit_test(test_app),
	    cmocka_unit_test(test_app_variants), cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_inline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
