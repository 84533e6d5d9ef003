/* test_token.c - POST /oauth2/token through its handler, without a socket:
 * request checks, client authentication, the three grants, token storage
 * and the error mapping at the edge. */
#include "oauth_fixture.h"

#include <openssl/evp.h>

#include "http/http.h"
#include "lib/b64.h"
#include "oauth/client_auth.h"
#include "oauth/metrics.h"
#include "oauth/oauth.h"
#include "oauth/signkeys.h"
#include "oauth/tokens.h"
#include "jose/jws.h"

#define FORM   "application/x-www-form-urlencoded"
#define JWT_GT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct call {
	int status;
	json_t *json;
	const char *www, *cache, *pragma, *retry; /* header values (in the fixture arena) */
	const char *note;
};

static const char *basic(struct fx *f, const char *id, const char *secret)
{
	char raw[256], b64[400];
	int n = snprintf(raw, sizeof raw, "%s:%s", id, secret);

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)raw, n);
	return arena_printf(&f->a, "Basic %s", b64);
}

static const char *resp_header(struct fx *f, const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return arena_strdup(&f->a, r->headers[i].value);
	return NULL;
}

/* Posts `body` to the token endpoint of a tenant with the given request
 * headers ({name, value, ..., NULL}). */
static void post_route(struct fx *f, http_handler handler, const char *path, const char *tenant,
		       const char *tenant_id, const char *const *headers, const char *query,
		       const char *body, struct call *out)
{
	struct arena a;
	struct http_req req = {0};
	struct http_resp resp = {0};
	json_error_t je;

	arena_init(&a, 0);
	req.method = HTTP_POST;
	req.method_name = "POST";
	req.path = sv_from(path);
	req.full_path = req.path;
	req.query = sv_from(query);
	req.tenant = tenant;
	req.tenant_id = tenant_id;
	req.body = sv_from(body);
	req.arena = &a;
	{
		size_t n = 0;
		struct http_header *h;
		while (headers != NULL && headers[n] != NULL && headers[n + 1] != NULL)
			n += 2;
		h = arena_alloc(&a, (n / 2 + 1) * sizeof *h);
		assert_non_null(h);
		for (size_t i = 0; i < n; i += 2)
			h[i / 2] = (struct http_header){headers[i], headers[i + 1]};
		req.headers = h;
		req.nheaders = n / 2;
	}
	req.remote_addr = "127.0.0.1";
	memcpy(req.trace_id, "0123456789abcdef0123456789abcdef", 33);
	resp.status = 200;
	handler(&f->c, &req, &resp);
	/* A grant that got as far as its commit answers from its continuation. */
	http_req_finish_deferred(&f->c, &req, &resp);

	memset(out, 0, sizeof *out);
	out->status = resp.status;
	out->json = json_loadb(resp.body.p ? resp.body.p : "", resp.body.n, 0, &je);
	if (out->json == NULL)
		fail_msg("response is not JSON: %.*s", (int)resp.body.n, resp.body.p);
	out->www = resp_header(f, &resp, "WWW-Authenticate");
	out->cache = resp_header(f, &resp, "Cache-Control");
	out->pragma = resp_header(f, &resp, "Pragma");
	out->retry = resp_header(f, &resp, "Retry-After");
	out->note = resp.log_note ? arena_strdup(&f->a, resp.log_note) : NULL;
	buf_free(&resp.body);
	arena_free(&a);
}

static void post_in(struct fx *f, const char *tenant, const char *tenant_id,
		    const char *const *headers, const char *query, const char *body,
		    struct call *out)
{
	assert_int_equal(oauth_nroutes, 1);
	assert_int_equal(oauth_routes[0].methods, HTTP_POST);
	post_route(f, oauth_routes[0].handler, "/oauth2/token", tenant, tenant_id, headers, query,
		   body, out);
}

static void post(struct fx *f, const char *const *headers, const char *body, struct call *out)
{
	post_in(f, "carbon.super", f->super_id, headers, "", body, out);
}

static const char *str(const struct call *c, const char *key)
{
	return json_string_value(json_object_get(c->json, key));
}

/* An OAuth error with HTTP status `code`, `error` and a description containing
 * `needle`; the call is released. */
static void expect_error(struct call *c, int code, const char *error, const char *needle)
{
	if (c->status != code || str(c, "error") == NULL || strcmp(str(c, "error"), error) != 0)
		fail_msg("got %d %s (%s), expected %d %s", c->status,
			 str(c, "error") ? str(c, "error") : "-",
			 str(c, "error_description") ? str(c, "error_description") : "-", code,
			 error);
	assert_true(fx_has(str(c, "error_description"), needle));
	/* RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E only. */
	for (const char *p = str(c, "error_description"); *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
	assert_string_equal(c->cache, "no-store");
	assert_string_equal(c->pragma, "no-cache");
	if (code == 401)
		assert_string_equal(c->www, "Basic realm=\"grantd\"");
	else
		assert_null(c->www);
	json_decref(c->json);
}

/* A 200 token response; returns nothing but checks the shape. */
static void expect_tokens(struct call *c, bool refresh)
{
	if (c->status != 200)
		fail_msg("got %d %s: %s", c->status, str(c, "error") ? str(c, "error") : "-",
			 str(c, "error_description") ? str(c, "error_description") : "-");
	assert_int_equal(strlen(str(c, "access_token")), TOKEN_CHARS);
	assert_string_equal(str(c, "token_type"), "Bearer");
	assert_true(json_is_integer(json_object_get(c->json, "expires_in")));
	if (refresh)
		assert_int_equal(strlen(str(c, "refresh_token")), TOKEN_CHARS);
	else
		assert_null(json_object_get(c->json, "refresh_token"));
	assert_string_equal(c->cache, "no-store");
	assert_string_equal(c->pragma, "no-cache");
}

/* The stored record of a token the server handed out. */
static void stored(struct fx *f, const char *token, struct store_token *out)
{
	unsigned char mac[SHA256_LEN], h[SHA256_LEN], raw[64];
	struct err e = {0};
	size_t n = 0;

	/* tokens.h: the token's 6 bytes of time, then 26 bytes of its HMAC;
	 * a JWT's time is its UUIDv7 jti's first 12 hex digits */
	assert_int_equal(oauth_keyed_hash(&f->c, sv_from(token), mac), ST_OK);
	if (strchr(token, '.') != NULL) {
		struct jws jws;
		const char *jti;
		assert_int_equal(jws_parse(&f->a, sv_from(token), 65536, &jws, &e), ST_OK);
		jti = json_string_value(json_object_get(jws.payload, "jti"));
		assert_non_null(jti);
		assert_int_equal(jti[14], '7');
		for (int i = 0; i < TOKEN_TIME_BYTES; i++) {
			const char *p = jti + 2 * i + (i >= 4); /* the '-' after 8 digits */
			unsigned v = 0;
			assert_int_equal(sscanf(p, "%2x", &v), 1);
			raw[i] = (unsigned char)v;
		}
		jws_free(&jws);
	} else {
		assert_int_equal(b64url_decode(sv_from(token), raw, sizeof raw, &n), ST_OK);
		assert_int_equal(n, TOKEN_TIME_BYTES + TOKEN_BYTES);
	}
	memcpy(h, raw, TOKEN_TIME_BYTES);
	memcpy(h + TOKEN_TIME_BYTES, mac, SHA256_LEN - TOKEN_TIME_BYTES);
	assert_int_equal(f->real->ops->token_get(f->real, &f->a, h, out, &e), ST_OK);
}

/* Token keys: time-ordered for tokens that carry their time, the plain
 * HMAC for the others (tokens grantd issued before). */
static void test_token_keys(void **state)
{
	struct fx *f = *state;
	unsigned char raw[TOKEN_TIME_BYTES + TOKEN_BYTES] = {0}, mac[SHA256_LEN];
	unsigned char k1[SHA256_LEN], k2[SHA256_LEN], k[SHA256_LEN];
	char t1[TOKEN_CHARS + 1], t2[TOKEN_CHARS + 1], legacy[44];
	const char *jwt;

	memset(raw + TOKEN_TIME_BYTES, 0xee, TOKEN_BYTES); /* later random bytes are larger */
	raw[5] = 1;
	b64url_encode(raw, sizeof raw, t1);
	memset(raw + TOKEN_TIME_BYTES, 0x11, TOKEN_BYTES);
	raw[5] = 2;
	b64url_encode(raw, sizeof raw, t2);
	assert_int_equal(tokens_key(&f->c, sv_from(t1), NULL, k1), ST_OK);
	assert_int_equal(tokens_key(&f->c, sv_from(t2), NULL, k2), ST_OK);
	assert_true(memcmp(k1, k2, SHA256_LEN) < 0); /* the earlier sorts first */
	assert_int_equal(oauth_keyed_hash(&f->c, sv_from(t2), mac), ST_OK);
	assert_memory_equal(k2, "\0\0\0\0\0\2", TOKEN_TIME_BYTES);
	assert_memory_equal(k2 + TOKEN_TIME_BYTES, mac, SHA256_LEN - TOKEN_TIME_BYTES);
	/* a 43-character token (256 bits, no time): the whole HMAC */
	b64url_encode(raw + TOKEN_TIME_BYTES, TOKEN_BYTES, legacy);
	assert_int_equal(tokens_key(&f->c, sv_from(legacy), NULL, k), ST_OK);
	assert_int_equal(oauth_keyed_hash(&f->c, sv_from(legacy), mac), ST_OK);
	assert_memory_equal(k, mac, SHA256_LEN);
	/* a JWT: the time of its UUIDv7 jti, read from the payload or given */
	jwt = "eyJhbGciOiJSUzI1NiJ9."
	      "eyJqdGkiOiIwMThiY2ZlNS02YmU3LTc0NTYtODlhYi0wMTIzNDU2Nzg5YWIifQ.c2ln";
	assert_int_equal(tokens_key(&f->c, sv_from(jwt), NULL, k), ST_OK);
	assert_memory_equal(k, "\x01\x8b\xcf\xe5\x6b\xe7", TOKEN_TIME_BYTES);
	assert_int_equal(
	    tokens_key(&f->c, sv_from(jwt), "018bcfe5-6be7-7456-89ab-0123456789ab", k1), ST_OK);
	assert_memory_equal(k, k1, SHA256_LEN);
	/* a JWT whose jti is no UUIDv7 (or that has none): the whole HMAC */
	jwt = "eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJ4In0.c2ln"; /* {"jti":"x"} */
	assert_int_equal(tokens_key(&f->c, sv_from(jwt), NULL, k), ST_OK);
	assert_int_equal(oauth_keyed_hash(&f->c, sv_from(jwt), mac), ST_OK);
	assert_memory_equal(k, mac, SHA256_LEN);
}

static const char *jwt_body(struct fx *f, const char *extra)
{
	const char *a = fx_sign(f, f->idp_key, JOSE_ALG_RS256, NULL, fx_claims(f, time(NULL)));
	return arena_printf(&f->a, "grant_type=%s&assertion=%s%s", JWT_GT, a, extra ? extra : "");
}

static const char *const *hdrs(struct fx *f, const char *authz)
{
	const char **h = arena_alloc(&f->a, 5 * sizeof *h);
	h[0] = "Content-Type";
	h[1] = FORM;
	h[2] = authz ? "Authorization" : NULL;
	h[3] = authz;
	h[4] = NULL;
	return h;
}

static char *setup_seed(struct fx *f)
{
	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	return fx_app(f, f->super_id, FX_CLIENT,
		      json_pack("[s,s]", GRANT_TYPE_JWT_BEARER, GRANT_TYPE_REFRESH_TOKEN), NULL,
		      FX_SECRET);
}

/* ------------------------------------------------------------ tests */

static void test_seed_flow(void **state)
{
	struct fx *f = *state;
	struct call c;
	struct store_token t;
	char *app_id = setup_seed(f);

	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)), jwt_body(f, NULL), &c);
	expect_tokens(&c, true);
	assert_int_equal(json_integer_value(json_object_get(c.json, "expires_in")), 3600);
	assert_null(json_object_get(c.json, "scope"));
	assert_true(fx_has(c.note, "client=" FX_CLIENT " grant=jwt-bearer"));
	stored(f, str(&c, "access_token"), &t);
	assert_int_equal(t.kind, STORE_TOKEN_ACCESS);
	assert_string_equal(t.subject, "alice");
	assert_string_equal(t.client_id, FX_CLIENT);
	assert_string_equal(t.app_id, app_id);
	assert_string_equal(t.tenant_id, f->super_id);
	assert_string_equal(t.grant_type, GRANT_TYPE_JWT_BEARER);
	assert_non_null(t.idp_id);
	assert_int_equal(t.expires_at - t.issued_at, 3600);
	stored(f, str(&c, "refresh_token"), &t);
	assert_int_equal(t.kind, STORE_TOKEN_REFRESH);
	assert_int_equal(t.expires_at - t.issued_at, 86400);
	json_decref(c.json);
	/* client_secret_post and a charset parameter work too. */
	{
		const char *h[] = {"Content-Type", FORM "; charset=UTF-8", NULL};
		post(f, h,
		     arena_printf(&f->a, "%s&client_id=%s&client_secret=%s", jwt_body(f, NULL),
				  FX_CLIENT, FX_SECRET),
		     &c);
		expect_tokens(&c, true);
		json_decref(c.json);
	}
}

static void test_request_checks(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);

	setup_seed(f);
	{
		const char *h[] = {"Authorization", auth, NULL};
		post(f, h, jwt_body(f, NULL), &c);
		expect_error(&c, 400, "invalid_request",
			     "Content-Type must be application/x-www-form-urlencoded");
	}
	{
		const char *h[] = {"Content-Type", "application/json", "Authorization", auth, NULL};
		post(f, h, "{}", &c);
		expect_error(&c, 400, "invalid_request", "Content-Type");
	}
	post(f, hdrs(f, auth), jwt_body(f, "&grant_type=client_credentials"), &c);
	expect_error(&c, 400, "invalid_request", "repeated parameter 'grant_type'");
	post(f, hdrs(f, auth), jwt_body(f, "&scope=a&scope=b"), &c);
	expect_error(&c, 400, "invalid_request", "repeated parameter 'scope'");
	post_in(f, "carbon.super", f->super_id, hdrs(f, NULL), "client_secret=" FX_SECRET,
		arena_printf(&f->a, "%s&client_id=" FX_CLIENT, jwt_body(f, NULL)), &c);
	expect_error(&c, 400, "invalid_request",
		     "parameter 'client_secret' must not be sent in the query string");
	post_in(f, "carbon.super", f->super_id, hdrs(f, auth),
		"tenantDomain=carbon.super&&assertion=x", jwt_body(f, NULL), &c);
	expect_error(&c, 400, "invalid_request",
		     "parameter 'assertion' must not be sent in the query string");
	post_in(f, "carbon.super", f->super_id, hdrs(f, auth), "tenantDomain=%zz",
		jwt_body(f, NULL), &c);
	expect_error(&c, 400, "invalid_request", "malformed query string: bad percent-encoding");
	post_in(f, "carbon.super", f->super_id, hdrs(f, auth), "tenantDomain=carbon.super",
		jwt_body(f, NULL), &c);
	expect_tokens(&c, true);
	json_decref(c.json);
	post(f, hdrs(f, auth), "assertion=x", &c);
	expect_error(&c, 400, "invalid_request", "missing parameter 'grant_type'");
	post(f, hdrs(f, auth), "grant_type=" JWT_GT "&assertion=%zz", &c);
	expect_error(&c, 400, "invalid_request", "malformed form body");
	post(f, hdrs(f, auth), "grant_type=" JWT_GT, &c);
	expect_error(&c, 400, "invalid_request", "missing parameter 'assertion'");
	post(f, hdrs(f, auth), "grant_type=password&username=a&password=b", &c);
	expect_error(&c, 400, "unsupported_grant_type", "unsupported grant type 'password'");
	/* a grant_type that is no grant type name is not echoed */
	post(f, hdrs(f, auth),
	     "grant_type=refresh_token%3Brefresh_token%"
	     "3DkP2xSECRETSECRETSECRETSECRETSECRETSECRETabcde",
	     &c);
	assert_null(strstr(str(&c, "error_description"), "SECRET"));
	expect_error(&c, 400, "unsupported_grant_type",
		     "unsupported grant type (a value of 73 characters that is not a grant type "
		     "name)");
	post(f, hdrs(f, auth), "grant_type=urn:ietf:params:oauth:grant-type:token-exchange", &c);
	expect_error(&c, 400, "unsupported_grant_type",
		     "unsupported grant type 'urn:ietf:params:oauth:grant-type:token-exchange'");
	post(f, hdrs(f, auth), "grant_type=client_credentials", &c);
	expect_error(&c, 400, "unauthorized_client",
		     "grant type 'client_credentials' is not allowed for application");
	assert_int_equal(f->calls[FX_REPLAY], 1);
}

static void test_client_auth(void **state)
{
	struct fx *f = *state;
	struct call c;
	char wrong[sizeof FX_SECRET];

	setup_seed(f);
	/* A secret off by one character. */
	memcpy(wrong, FX_SECRET, sizeof wrong);
	wrong[sizeof wrong - 2] ^= 1;
	post(f, hdrs(f, basic(f, FX_CLIENT, wrong)), jwt_body(f, NULL), &c);
	assert_null(strstr(str(&c, "error_description"), wrong));
	/* a wrong secret and an unknown client read the same (no client
	 * enumeration), and an unknown id is not echoed (it may be a secret
	 * sent in its place) */
	expect_error(&c, 401, "invalid_client",
		     "client authentication failed: unknown client or wrong client secret");
	post(f, hdrs(f, basic(f, "nobody_0123456789abcdefghijk", FX_SECRET)), jwt_body(f, NULL),
	     &c);
	assert_null(strstr(str(&c, "error_description"), "nobody_"));
	expect_error(&c, 401, "invalid_client",
		     "client authentication failed: unknown client or wrong client secret");
	post(f, hdrs(f, basic(f, FX_SECRET, FX_CLIENT)), jwt_body(f, NULL), &c); /* swapped */
	assert_null(strstr(str(&c, "error_description"), FX_SECRET));
	expect_error(&c, 401, "invalid_client", "unknown client or wrong client secret");
	post(f, hdrs(f, NULL),
	     arena_printf(&f->a, "%s&client_id=%s&client_secret=x", jwt_body(f, NULL), FX_CLIENT),
	     &c);
	expect_error(&c, 401, "invalid_client", "wrong client secret");
	/* Two methods at once. */
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)),
	     arena_printf(&f->a, "%s&client_secret=%s", jwt_body(f, NULL), FX_SECRET), &c);
	expect_error(&c, 400, "invalid_request", "more than one client authentication method");
	/* A client_id that contradicts the Basic user. */
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)),
	     arena_printf(&f->a, "%s&client_id=someone_else", jwt_body(f, NULL)), &c);
	expect_error(&c, 400, "invalid_request", "differs");
	/* Nothing at all; a confidential client with only its id. */
	post(f, hdrs(f, NULL), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "client authentication required");
	post(f, hdrs(f, NULL), arena_printf(&f->a, "%s&client_id=%s", jwt_body(f, NULL), FX_CLIENT),
	     &c);
	expect_error(&c, 401, "invalid_client", "confidential client");
	/* Malformed Basic, and another scheme. */
	post(f, hdrs(f, "Basic !!!"), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "malformed HTTP Basic credentials");
	post(f, hdrs(f, "Bearer abc"), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "unsupported Authorization scheme");
	/* The client of another tenant is unknown here. */
	fx_app(f, f->acme_id, FX_CLIENT2, json_pack("[s]", GRANT_TYPE_JWT_BEARER), NULL, FX_SECRET);
	post(f, hdrs(f, basic(f, FX_CLIENT2, FX_SECRET)), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "unknown client");
	/* Form-urlencoded credentials inside Basic (RFC 6749 §2.3.1). */
	post(f, hdrs(f, basic(f, "client%5Fid_0123456789abcdefgh", FX_SECRET)), jwt_body(f, NULL),
	     &c);
	expect_tokens(&c, true);
	json_decref(c.json);
	/* Nothing was recorded for the rejected requests: the grant never ran. */
	assert_int_equal(f->calls[FX_REPLAY], 1);
}

static void test_public_client(void **state)
{
	struct fx *f = *state;
	struct call c;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER),
	       json_pack("{s:b}", "publicClient", 1), NULL);
	post(f, hdrs(f, NULL), arena_printf(&f->a, "%s&client_id=%s", jwt_body(f, NULL), FX_CLIENT),
	     &c);
	expect_tokens(&c, false);
	json_decref(c.json);
	post(f, hdrs(f, basic(f, FX_CLIENT, "anything")), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "public client");
}

static void test_jwt_errors_at_the_edge(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);
	json_t *cl;
	const char *a;

	setup_seed(f);
	cl = fx_claims(f, time(NULL));
	json_object_set_new(cl, "aud", json_string("https://elsewhere"));
	a = fx_sign(f, f->idp_key, JOSE_ALG_RS256, NULL, cl);
	post(f, hdrs(f, auth), arena_printf(&f->a, "grant_type=%s&assertion=%s", JWT_GT, a), &c);
	assert_true(fx_has(c.note, "error=invalid_grant"));
	assert_null(strstr(str(&c, "error_description"), a));
	expect_error(&c, 400, "invalid_grant",
		     "expected 'https://localhost:9443/oauth2/token' (the identity provider's "
		     "alias), received 'https://elsewhere'");
	post(f, hdrs(f, auth), jwt_body(f, "&scope=bad\\scope"), &c);
	expect_error(&c, 400, "invalid_scope", "scope");
}

static void test_refresh_rotation_and_reuse(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);
	char *rt1, *rt2, *at2;
	struct store_token t;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT,
	       json_pack("[s,s]", GRANT_TYPE_JWT_BEARER, GRANT_TYPE_REFRESH_TOKEN),
	       json_pack("{s:[s,s]}", "allowedScopes", "read", "write"), FX_SECRET);
	post(f, hdrs(f, auth), jwt_body(f, "&scope=read+write"), &c);
	expect_tokens(&c, true);
	assert_string_equal(str(&c, "scope"), "read write");
	rt1 = arena_strdup(&f->a, str(&c, "refresh_token"));
	json_decref(c.json);

	/* Widening is refused and burns nothing. */
	post(f, hdrs(f, auth),
	     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s&scope=admin", rt1), &c);
	expect_error(&c, 400, "invalid_scope", "scope 'admin' was not granted");
	/* Narrowing is fine; the token rotates. */
	post(f, hdrs(f, auth),
	     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s&scope=read", rt1), &c);
	expect_tokens(&c, true);
	assert_string_equal(str(&c, "scope"), "read");
	rt2 = arena_strdup(&f->a, str(&c, "refresh_token"));
	at2 = arena_strdup(&f->a, str(&c, "access_token"));
	assert_string_not_equal(rt1, rt2);
	json_decref(c.json);
	stored(f, rt1, &t);
	assert_true(t.used);
	stored(f, rt2, &t);
	assert_false(t.used);
	assert_string_equal(t.subject, "alice");

	/* Presenting the rotated one again revokes the whole chain. */
	post(f, hdrs(f, auth),
	     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s", rt1), &c);
	expect_error(&c, 400, "invalid_grant", "already used");
	stored(f, at2, &t);
	assert_true(t.revoked);
	stored(f, rt2, &t);
	assert_true(t.revoked);
	post(f, hdrs(f, auth),
	     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s", rt2), &c);
	expect_error(&c, 400, "invalid_grant", "revoked");
	post(f, hdrs(f, auth), "grant_type=refresh_token&refresh_token=nonsense", &c);
	expect_error(&c, 400, "invalid_grant", "unknown");
	post(f, hdrs(f, auth), "grant_type=refresh_token", &c);
	expect_error(&c, 400, "invalid_request", "missing parameter 'refresh_token'");
}

static void test_refresh_other_client_and_no_rotation(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);
	const char *auth2 = basic(f, FX_CLIENT2, FX_SECRET);
	char *rt;
	struct store_token t;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT,
	       json_pack("[s,s]", GRANT_TYPE_JWT_BEARER, GRANT_TYPE_REFRESH_TOKEN),
	       json_pack("{s:{s:b}}", "refreshToken", "renewRefreshToken", 0), FX_SECRET);
	fx_app(f, f->super_id, FX_CLIENT2, json_pack("[s]", GRANT_TYPE_REFRESH_TOKEN), NULL,
	       FX_SECRET);
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_tokens(&c, true);
	rt = arena_strdup(&f->a, str(&c, "refresh_token"));
	json_decref(c.json);
	/* Another client cannot use it, and its attempt does not burn it. */
	post(f, hdrs(f, auth2),
	     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s", rt), &c);
	expect_error(&c, 400, "invalid_grant", "issued to another client");
	/* Without rotation the same refresh token keeps working. */
	for (int i = 0; i < 2; i++) {
		post(f, hdrs(f, auth),
		     arena_printf(&f->a, "grant_type=refresh_token&refresh_token=%s", rt), &c);
		expect_tokens(&c, true);
		assert_string_equal(str(&c, "refresh_token"), rt);
		json_decref(c.json);
	}
	stored(f, rt, &t);
	assert_false(t.used);
	assert_int_equal(f->calls[FX_REFRESH_USE], 0);
}

static void test_client_credentials(void **state)
{
	struct fx *f = *state;
	struct call c;
	struct store_token t;

	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_CLIENT_CREDENTIALS),
	       json_pack("{s:{s:i}, s:[s]}", "accessToken", "applicationAccessTokenExpiryInSeconds",
			 120, "allowedScopes", "svc"),
	       FX_SECRET);
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)), "grant_type=client_credentials&scope=svc",
	     &c);
	expect_tokens(&c, false);
	assert_int_equal(json_integer_value(json_object_get(c.json, "expires_in")), 120);
	assert_string_equal(str(&c, "scope"), "svc");
	stored(f, str(&c, "access_token"), &t);
	assert_string_equal(t.subject, FX_CLIENT);
	assert_null(t.idp_id);
	assert_string_equal(t.grant_type, "client_credentials");
	json_decref(c.json);
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)),
	     "grant_type=client_credentials&scope=other", &c);
	expect_error(&c, 400, "invalid_scope", "scope 'other' is not allowed by application");
}

static void test_tenant(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *cl, *doc;
	const char *a;

	doc = fx_idp_doc(f, "jwtIDP");
	json_object_del(doc, "alias");
	fx_idp(f, f->acme_id, doc);
	fx_app(f, f->acme_id, FX_CLIENT2, json_pack("[s]", GRANT_TYPE_JWT_BEARER), NULL, FX_SECRET);
	cl = fx_claims(f, time(NULL));
	json_object_set_new(cl, "aud", json_string(FX_BASE "/t/acme.com/oauth2/token"));
	a = fx_sign(f, f->idp_key, JOSE_ALG_RS256, NULL, cl);
	post_in(f, "acme.com", f->acme_id, hdrs(f, basic(f, FX_CLIENT2, FX_SECRET)), "",
		arena_printf(&f->a, "grant_type=%s&assertion=%s", JWT_GT, a), &c);
	expect_tokens(&c, false);
	json_decref(c.json);
}

/* A jwt-bearer request authenticated by the client assertion `cas`. */
static void post_with_ca(struct fx *f, const char *cas, struct call *c)
{
	post(f, hdrs(f, NULL),
	     arena_printf(&f->a,
			  "%s&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-"
			  "assertion-type%%3Ajwt-bearer&client_assertion=%s",
			  jwt_body(f, NULL), cas),
	     c);
}

static void test_private_key_jwt(void **state)
{
	struct fx *f = *state;
	struct call c;
	int64_t now = (int64_t)time(NULL);
	json_t *ca;
	const char *cas;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER),
	       json_pack("{s:{s:s, s:o}}", "clientAuthentication", "tokenEndpointAuthMethod",
			 "private_key_jwt", "jwks", fx_jwks(f->ec_key)),
	       NULL);
	ca = json_pack("{s:s, s:s, s:s, s:I, s:s}", "iss", FX_CLIENT, "sub", FX_CLIENT, "aud",
		       FX_ALIAS, "exp", (json_int_t)(now + 60), "jti", "client-jti-1");
	cas = fx_sign(f, f->ec_key, JOSE_ALG_ES256, NULL, json_deep_copy(ca));
	post_with_ca(f, cas, &c);
	expect_tokens(&c, false);
	json_decref(c.json);
	/* The same client assertion twice: replay. */
	post_with_ca(f, cas, &c);
	expect_error(&c, 401, "invalid_client", "client assertion replayed");
	/* Wrong audience; signed by another key. */
	json_object_set_new(ca, "aud", json_string("https://elsewhere"));
	json_object_set_new(ca, "jti", json_string("client-jti-2"));
	cas = fx_sign(f, f->ec_key, JOSE_ALG_ES256, NULL, json_deep_copy(ca));
	post_with_ca(f, cas, &c);
	expect_error(&c, 401, "invalid_client", "audience mismatch");
	json_object_set_new(ca, "aud", json_string(FX_ALIAS));
	cas = fx_sign(f, f->idp_key, JOSE_ALG_RS256, NULL, json_deep_copy(ca));
	post_with_ca(f, cas, &c);
	expect_error(&c, 401, "invalid_client", "client assertion rejected");
	/* The claim checks of a grant assertion: a malformed nbf or iat is an
	 * error, never ignored; iat age and lifetime are bounded. */
	{
		static const struct {
			const char *claim;
			json_int_t v; /* offset from now, or a literal below */
			bool as_string;
			const char *want;
		} cases[] = {
		    {"nbf", 0, true, "claim 'nbf' must be a number, got string"},
		    {"iat", 0, true, "claim 'iat' must be a number, got string"},
		    {"nbf", -1, false, "claim 'nbf' must not be negative"},
		    {"iat", -1, false, "claim 'iat' must not be negative"},
		    {"iat", -7200, false, "client assertion too old: iat is"},
		    {"exp", 200000, false, "client assertion lifetime too long: exp - now is"},
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			json_t *x = json_deep_copy(ca);
			json_int_t v = cases[i].v;
			char jti[32];
			snprintf(jti, sizeof jti, "client-jti-bad-%zu", i);
			json_object_set_new(x, "jti", json_string(jti));
			if (cases[i].as_string)
				json_object_set_new(x, cases[i].claim, json_string("soon"));
			else
				json_object_set_new(
				    x, cases[i].claim,
				    json_integer(v == -1 ? -1 : (json_int_t)now + v));
			cas = fx_sign(f, f->ec_key, JOSE_ALG_ES256, NULL, x);
			post_with_ca(f, cas, &c);
			expect_error(&c, 401, "invalid_client", cases[i].want);
		}
	}
	/* The same claim reader as a grant assertion's (oauth/assertion.c):
	 * jti is required and must not be empty; the time messages name the
	 * skew's source as a grant assertion's do. */
	{
		static const struct {
			const char *jti; /* NULL: removed */
			json_int_t exp;  /* offset from now */
			const char *want;
		} cases[] = {
		    {"", 300, "client assertion rejected: claim 'jti' is empty"},
		    {NULL, 300,
		     "client assertion rejected: claim 'jti' is missing (required by client "
		     "authentication with a JWT)"},
		    {"client-jti-old", -3600,
		     "s in the past (clock skew allowed: 60 s, [oauth] timestamp_skew)"},
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			json_t *x = json_deep_copy(ca);
			if (cases[i].jti != NULL)
				json_object_set_new(x, "jti", json_string(cases[i].jti));
			else
				json_object_del(x, "jti");
			json_object_set_new(x, "exp", json_integer((json_int_t)now + cases[i].exp));
			cas = fx_sign(f, f->ec_key, JOSE_ALG_ES256, NULL, x);
			post_with_ca(f, cas, &c);
			expect_error(&c, 401, "invalid_client", cases[i].want);
		}
	}
	/* A secret is not accepted for this client. */
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)), jwt_body(f, NULL), &c);
	expect_error(&c, 401, "invalid_client", "registered for private_key_jwt");
	post(f, hdrs(f, NULL),
	     arena_printf(&f->a, "%s&client_assertion_type=other&client_assertion=x.y.z",
			  jwt_body(f, NULL)),
	     &c);
	expect_error(&c, 401, "invalid_client", "unsupported client_assertion_type");
	json_decref(ca);
}

/* Server faults: 500 server_error, nothing leaked, no token returned. */
static void test_server_faults(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);

	setup_seed(f);
	f->force[FX_TOKENS_PUT] = ST_IO;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	assert_int_equal(c.status, 500);
	assert_string_equal(str(&c, "error"), "server_error");
	assert_null(json_object_get(c.json, "access_token"));
	assert_true(fx_has(str(&c, "error_description"), "trace id"));
	assert_null(strstr(str(&c, "error_description"), "injected"));
	json_decref(c.json);
	f->force[FX_TOKENS_PUT] = ST_OK;
	f->force[FX_REPLAY] = ST_BUSY;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	assert_int_equal(c.status, 500);
	/* One transaction per attempt, each failed as a whole. */
	assert_int_equal(f->calls[FX_GRANT_COMMIT], 2);
	json_decref(c.json);
	f->force[FX_REPLAY] = ST_OK;
	directory_app_changed(&f->c, f->super_id, NULL);
	f->force[FX_APP_GET] = ST_IO;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	assert_int_equal(c.status, 500);
	json_decref(c.json);
}

/* A 503 temporarily_unavailable with Retry-After: 1 and the fixed
 * description: nothing of the store's reason, no token. */
static void expect_unavailable(struct call *c)
{
	assert_non_null(str(c, "error_description"));
	assert_string_equal(str(c, "error_description"),
			    "the database is unavailable; retry later");
	assert_non_null(c->retry);
	assert_string_equal(c->retry, "1");
	assert_null(json_object_get(c->json, "access_token"));
	assert_non_null(c->note);
	assert_true(fx_has(c->note, "error=temporarily_unavailable"));
	expect_error(c, 503, "temporarily_unavailable", "the database is unavailable; retry later");
}

/* grant_submit accepts the transaction and its done callback reports the
 * database lost, as a network backend does when the connection drops
 * during the commit. */
static status submit_lost(struct store *s, struct store_grant_tx *tx,
			  void (*done)(void *arg, status st), void *arg, struct err *e)
{
	(void)s;
	(void)tx;
	(void)e;
	fx_current->calls[FX_GRANT_COMMIT]++;
	done(arg, ST_UNAVAILABLE);
	return ST_OK;
}

/* The database cannot be reached (ST_UNAVAILABLE) at any step: 503
 * temporarily_unavailable, for every grant, on the synchronous reads and
 * the deferred commit alike, and counted as such in /metrics. */
static void test_database_unavailable(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);
	struct buf mx = {0};
	struct mx_out o = {&mx, ST_OK};

	setup_seed(f);
	fx_app(f, f->super_id, FX_CLIENT2, json_pack("[s]", GRANT_TYPE_CLIENT_CREDENTIALS), NULL,
	       FX_SECRET);
	/* Reading the application (client authentication). */
	f->force[FX_APP_GET] = ST_UNAVAILABLE;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_unavailable(&c);
	post(f, hdrs(f, basic(f, FX_CLIENT2, FX_SECRET)), "grant_type=client_credentials", &c);
	expect_unavailable(&c);
	f->force[FX_APP_GET] = ST_OK;
	/* Reading the identity provider. */
	f->force[FX_IDP_FIND] = ST_UNAVAILABLE;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_unavailable(&c);
	f->force[FX_IDP_FIND] = ST_OK;
	/* The grant's commit, refused at submit. */
	f->force[FX_GRANT_COMMIT] = ST_UNAVAILABLE;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_unavailable(&c);
	post(f, hdrs(f, basic(f, FX_CLIENT2, FX_SECRET)), "grant_type=client_credentials", &c);
	expect_unavailable(&c);
	f->force[FX_GRANT_COMMIT] = ST_OK;
	/* Reading a refresh token. */
	f->force[FX_REFRESH_USE] = ST_UNAVAILABLE;
	f->force[FX_TOKEN_GET] = ST_UNAVAILABLE;
	post(f, hdrs(f, auth), "grant_type=refresh_token&refresh_token=abc", &c);
	expect_unavailable(&c);
	f->force[FX_REFRESH_USE] = ST_OK;
	f->force[FX_TOKEN_GET] = ST_OK;
	/* Introspection and revocation read the token from the store on every
	 * request (tokens are never cached): 503 too. */
	f->force[FX_TOKEN_GET] = ST_UNAVAILABLE;
	for (size_t i = 0; i < oauth_introspect_nroutes; i++) {
		post_route(f, oauth_introspect_routes[i].handler,
			   oauth_introspect_routes[i].pattern, "carbon.super", f->super_id,
			   hdrs(f, auth), "", "token=abcdef", &c);
		assert_int_equal(c.status, 503);
		assert_string_equal(str(&c, "error"), "temporarily_unavailable");
		assert_string_equal(c.retry, "1");
		json_decref(c.json);
	}
	f->force[FX_TOKEN_GET] = ST_OK;
	/* The deferred path: the commit's done callback reports it. */
	fx_reset_calls(f);
	f->proxy_ops.grant_submit = submit_lost;
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	assert_int_equal(f->calls[FX_GRANT_COMMIT], 1);
	expect_unavailable(&c);
	/* Counted apart from server_error. */
	oauth_mx_render(&o);
	assert_int_equal(o.st, ST_OK);
	assert_non_null(strstr(mx.p, "outcome=\"temporarily_unavailable\""));
	buf_free(&mx);
}

/* With client and IdP cached, a jwt-bearer request reads nothing and
 * writes once: one transaction with the jti and the tokens. */
/* An application with accessToken.type JWT: an RFC 9068 token signed with
 * the tenant's key, verifiable with the tenant's JWKS, stored by the keyed
 * hash of its text with its jti; refresh tokens stay opaque. */
static void test_jwt_access_token(void **state)
{
	struct fx *f = *state;
	struct call c;
	struct store_token t;
	struct jws jws;
	struct jose_keyset *ks;
	const char *jwks, *s;
	size_t len;
	struct err e = {0};
	json_t *aud;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT,
	       json_pack("[s,s]", GRANT_TYPE_JWT_BEARER, GRANT_TYPE_REFRESH_TOKEN),
	       json_pack("{s:{s:s}, s:{s:[s,s]}}", "accessToken", "type", "JWT", "idToken",
			 "audience", "https://api.example", "billing"),
	       FX_SECRET);
	post(f, hdrs(f, basic(f, FX_CLIENT, FX_SECRET)), jwt_body(f, NULL), &c);
	if (c.status != 200)
		fail_msg("got %d: %s", c.status, str(&c, "error_description"));
	assert_int_equal(strlen(str(&c, "refresh_token")), TOKEN_CHARS);
	assert_int_equal(jws_parse(&f->a, sv_from(str(&c, "access_token")), 65536, &jws, &e),
			 ST_OK);
	assert_string_equal(json_string_value(json_object_get(jws.header, "typ")), "at+jwt");
	assert_int_equal(jws.alg, JOSE_ALG_RS256);
	assert_int_equal(signkeys_jwks(f->c.signkeys, &f->a, f->super_id, &jwks, &len, &e), ST_OK);
	assert_int_equal(jose_keyset_from_jwks(jwks, len, 0, &ks, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&jws, ks, 0, 0, NULL, &e), ST_OK);
	jose_keyset_free(ks);
	assert_string_equal(json_string_value(json_object_get(jws.payload, "iss")),
			    FX_BASE "/oauth2/token");
	assert_string_equal(json_string_value(json_object_get(jws.payload, "sub")), "alice");
	assert_string_equal(json_string_value(json_object_get(jws.payload, "client_id")),
			    FX_CLIENT);
	aud = json_object_get(jws.payload, "aud");
	assert_int_equal(json_array_size(aud), 2);
	assert_string_equal(json_string_value(json_array_get(aud, 0)), "https://api.example");
	assert_int_equal(json_integer_value(json_object_get(jws.payload, "exp")) -
			     json_integer_value(json_object_get(jws.payload, "iat")),
			 3600);
	assert_int_equal(json_integer_value(json_object_get(jws.payload, "nbf")),
			 json_integer_value(json_object_get(jws.payload, "iat")));
	assert_null(json_object_get(jws.payload, "scope"));
	s = json_string_value(json_object_get(jws.payload, "jti"));
	assert_non_null(s);
	stored(f, str(&c, "access_token"), &t);
	assert_int_equal(t.kind, STORE_TOKEN_ACCESS);
	assert_string_equal(t.jti, s);
	stored(f, str(&c, "refresh_token"), &t);
	assert_null(t.jti);
	jws_free(&jws);
	json_decref(c.json);
}

static void test_hot_path(void **state)
{
	struct fx *f = *state;
	struct call c;
	const char *auth = basic(f, FX_CLIENT, FX_SECRET);

	setup_seed(f);
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_tokens(&c, true);
	json_decref(c.json);
	fx_reset_calls(f);
	post(f, hdrs(f, auth), jwt_body(f, NULL), &c);
	expect_tokens(&c, true);
	json_decref(c.json);
	assert_int_equal(f->calls[FX_GRANT_COMMIT], 1);
	assert_int_equal(f->calls[FX_REPLAY], 1);
	assert_int_equal(f->calls[FX_TOKENS_PUT], 1);
	assert_int_equal(fx_total_calls(f), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_seed_flow, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_token_keys, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_request_checks, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_client_auth, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_public_client, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_jwt_errors_at_the_edge, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_rotation_and_reuse, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_other_client_and_no_rotation, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_client_credentials, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tenant, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_private_key_jwt, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_server_faults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_database_unavailable, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_jwt_access_token, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_hot_path, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
