/* test_router.c - path validation, tenant prefix and route matching. */
#include <string.h>

#include "http_tests.h"

#include "http/router.h"
#include "lib/arena.h"
#include "lib/limits.h"

static void nop(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	(void)resp;
}

static const struct http_route routes[] = {
    /* 0 */ {HTTP_POST, "/oauth2/token", nop, HTTP_ROUTE_OAUTH_ERRORS, 0},
    /* 1 */ {HTTP_GET | HTTP_POST, "/api/server/v1/identity-providers", nop, 0, 0},
    /* 2 */
    {HTTP_GET | HTTP_PUT | HTTP_DELETE, "/api/server/v1/identity-providers/{id}", nop, 0, 0},
    /* 3 */ {HTTP_GET, "/api/server/v1/identity-providers/export", nop, 0, 0},
    /* 4 */
    {HTTP_POST, "/api/server/v1/applications/{id}/inbound-protocols/oidc/regenerate-secret", nop, 0,
     0},
    /* 5 */ {HTTP_GET, "/console/", nop, HTTP_ROUTE_PREFIX, 0},
    /* 6 */ {HTTP_GET, "/console/api", nop, HTTP_ROUTE_PREFIX, 0},
    /* 7 */ {HTTP_GET, "/healthz", nop, HTTP_ROUTE_NO_TENANT, 0},
    /* 8 */ {HTTP_PATCH, "/api/server/v1/identity-providers/{id}", nop, 0, 0},
    /* 9 */ {HTTP_GET, "/a/{x}/{y}/{z}/{w}/{v}", nop, 0, 0}, /* too many params */
    /* 10 */ {HTTP_GET, "/exact/", nop, 0, 0},
    /* 11 */ {HTTP_GET, "/files", nop, HTTP_ROUTE_PREFIX, 0},
    /* 12 */ {HTTP_GET, "/", nop, 0, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static enum router_result match(enum http_method m, const char *path, struct router_match *rm)
{
	return router_match(routes, NROUTES, m, sv_from(path), 0, rm);
}

static long idx(const struct router_match *rm)
{
	return rm->route ? (long)(rm->route - routes) : -1;
}

static void router_methods(void **state)
{
	struct arena a;
	(void)state;

	assert_int_equal(router_method("GET"), HTTP_GET);
	assert_int_equal(router_method("DELETE"), HTTP_DELETE);
	assert_int_equal(router_method("get"), HTTP_OTHER); /* methods are case-sensitive */
	assert_int_equal(router_method("BREW"), HTTP_OTHER);
	arena_init(&a, 0);
	assert_string_equal(router_allow(&a, HTTP_POST | HTTP_GET), "GET, HEAD, POST");
	assert_string_equal(router_allow(&a, HTTP_DELETE), "DELETE");
	assert_string_equal(router_allow(&a, 0), "");
	arena_free(&a);
}

static void router_exact_and_params(void **state)
{
	struct router_match m;
	(void)state;

	assert_int_equal(match(HTTP_POST, "/oauth2/token", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 0);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(match(HTTP_GET, "/api/server/v1/identity-providers/abc-123", &m),
			 ROUTER_FOUND);
	assert_int_equal(idx(&m), 2);
	assert_int_equal(m.nparams, 1);
	assert_true(sv_eq_cstr(m.params[0], "abc-123"));
	/* exact segments beat parameters, whatever the table order */
	assert_int_equal(match(HTTP_GET, "/api/server/v1/identity-providers/export", &m),
			 ROUTER_FOUND);
	assert_int_equal(idx(&m), 3);
	/* ... but a parameter route that allows the method still serves it */
	assert_int_equal(match(HTTP_DELETE, "/api/server/v1/identity-providers/export", &m),
			 ROUTER_FOUND);
	assert_int_equal(idx(&m), 2);
	/* a later entry with the same pattern adds methods */
	assert_int_equal(match(HTTP_PATCH, "/api/server/v1/identity-providers/x", &m),
			 ROUTER_FOUND);
	assert_int_equal(idx(&m), 8);
	assert_int_equal(
	    match(HTTP_POST,
		  "/api/server/v1/applications/42/inbound-protocols/oidc/regenerate-secret", &m),
	    ROUTER_FOUND);
	assert_true(sv_eq_cstr(m.params[0], "42"));
	/* a parameter never matches an empty segment or two segments */
	assert_int_equal(match(HTTP_GET, "/api/server/v1/identity-providers/", &m),
			 ROUTER_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "/api/server/v1/identity-providers/a/b", &m),
			 ROUTER_NOT_FOUND);
	/* HEAD is served by GET routes */
	assert_int_equal(match(HTTP_HEAD, "/healthz", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 7);
	/* trailing slashes are not folded */
	assert_int_equal(match(HTTP_POST, "/oauth2/token/", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "/exact/", &m), ROUTER_FOUND);
	assert_int_equal(match(HTTP_GET, "/exact", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "/", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 12);
	/* more than LIMIT_ROUTE_PARAMS parameters never match */
	assert_int_equal(match(HTTP_GET, "/a/1/2/3/4/5", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "", &m), ROUTER_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "healthz", &m), ROUTER_NOT_FOUND);
}

static void router_prefix(void **state)
{
	struct router_match m;
	(void)state;

	assert_int_equal(match(HTTP_GET, "/console/", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 5);
	assert_int_equal(match(HTTP_GET, "/console/js/app.js", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 5);
	assert_int_equal(match(HTTP_GET, "/console", &m), ROUTER_NOT_FOUND);
	/* a longer prefix is more specific */
	assert_int_equal(match(HTTP_GET, "/console/api/x", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 6);
	assert_int_equal(match(HTTP_GET, "/console/api", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 6);
	assert_int_equal(match(HTTP_GET, "/console/apix", &m), ROUTER_FOUND);
	assert_int_equal(idx(&m), 5);
	/* a prefix without a trailing slash matches whole segments only */
	assert_int_equal(match(HTTP_GET, "/files", &m), ROUTER_FOUND);
	assert_int_equal(match(HTTP_GET, "/files/", &m), ROUTER_FOUND);
	assert_int_equal(match(HTTP_GET, "/files/a/b", &m), ROUTER_FOUND);
	assert_int_equal(match(HTTP_GET, "/filesystem", &m), ROUTER_NOT_FOUND);
}

static void router_405(void **state)
{
	struct router_match m;
	(void)state;

	assert_int_equal(match(HTTP_GET, "/oauth2/token", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, HTTP_POST);
	assert_null(m.route);
	assert_int_equal(match(HTTP_POST, "/api/server/v1/identity-providers/x", &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE | HTTP_PATCH);
	assert_int_equal(match(HTTP_OTHER, "/healthz", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(match(HTTP_OTHER, "/nope", &m), ROUTER_NOT_FOUND);
}

static void router_skip_flags(void **state)
{
	struct router_match m;
	(void)state;

	assert_int_equal(
	    router_match(routes, NROUTES, HTTP_GET, SV("/healthz"), HTTP_ROUTE_NO_TENANT, &m),
	    ROUTER_NOT_FOUND);
	assert_int_equal(
	    router_match(routes, NROUTES, HTTP_POST, SV("/oauth2/token"), HTTP_ROUTE_NO_TENANT, &m),
	    ROUTER_FOUND);
}

static void router_tenant_prefix(void **state)
{
	struct sv t, r;
	(void)state;

	assert_int_equal(router_split_tenant(SV("/oauth2/token"), &t, &r), ST_OK);
	assert_null(t.p);
	assert_true(sv_eq_cstr(r, "/oauth2/token"));
	assert_int_equal(router_split_tenant(SV("/t/acme.com/oauth2/token"), &t, &r), ST_OK);
	assert_true(sv_eq_cstr(t, "acme.com"));
	assert_true(sv_eq_cstr(r, "/oauth2/token"));
	assert_int_equal(router_split_tenant(SV("/t/Carbon.Super/"), &t, &r), ST_OK);
	assert_true(sv_eq_cstr(t, "Carbon.Super"));
	assert_true(sv_eq_cstr(r, "/"));
	assert_int_equal(router_split_tenant(SV("/t/acme"), &t, &r), ST_OK);
	assert_true(sv_eq_cstr(r, "/"));
	/* "/t" and "/t/" name no tenant; "/tx" is just a path */
	assert_int_equal(router_split_tenant(SV("/t"), &t, &r), ST_NOT_FOUND);
	assert_null(r.p);
	assert_int_equal(router_split_tenant(SV("/t/"), &t, &r), ST_NOT_FOUND);
	assert_null(r.p);
	assert_int_equal(router_split_tenant(SV("/tx/acme"), &t, &r), ST_OK);
	assert_null(t.p);
	/* a bad domain is an unknown tenant, the rest is still reported */
	assert_int_equal(router_split_tenant(SV("/t/bad_domain/oauth2/token"), &t, &r),
			 ST_NOT_FOUND);
	assert_null(t.p);
	assert_true(sv_eq_cstr(r, "/oauth2/token"));
	assert_int_equal(router_split_tenant(SV("/t/-x/a"), &t, &r), ST_NOT_FOUND);
}

static void router_tenant_domains(void **state)
{
	static const char *good[] = {"carbon.super",    "acme", "a",
				     "x-y.example.COM", "123",  "a1.b2"};
	static const char *bad[] = {"",   ".",   "a..b", ".a",  "a.",    "-a",
				    "a-", "a_b", "a b",  "a/b", "é.com", "a:1"};
	char big[LIMIT_TENANT_DOMAIN + 2];
	char label[65];
	(void)state;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(router_tenant_valid(sv_from(good[i])));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(router_tenant_valid(sv_from(bad[i])));
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(router_tenant_valid(sv_from(label)));
	label[63] = '\0';
	assert_true(router_tenant_valid(sv_from(label)));
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[LIMIT_TENANT_DOMAIN] = '\0'; /* 253 chars, ends with 'a' */
	assert_true(router_tenant_valid(sv_from(big)));
	big[LIMIT_TENANT_DOMAIN] = '.';
	big[LIMIT_TENANT_DOMAIN + 1] = '\0';
	assert_false(router_tenant_valid(sv_from(big)));
}

static void router_paths(void **state)
{
	static const char *good[][2] = {
	    {"/", "/"},
	    {"/oauth2/token", "/oauth2/token"},
	    {"/a%20b/c", "/a b/c"},
	    {"/a+b", "/a+b"},
	    {"/t/acme/x/", "/t/acme/x/"},
	    {"/a/.b/..c/...", "/a/.b/..c/..."},
	    {"/~user/a:b@c;d=e,f!$&'()*", "/~user/a:b@c;d=e,f!$&'()*"},
	    {"/caf%C3%A9", "/caf\xc3\xa9"},
	};
	static const char *bad[] = {
	    "",       "oauth2/token", "//",         "/a//b",       "/a/./b", "/a/../b",
	    "/..",    "/.",           "/a/.",       "/a/%2e%2E/b", "/a/%2E", "/a%2fb",
	    "/a%2Fb", "/a%00b",       "/a%0ab",     "/a%zz",       "/a%4",   "/a b",
	    "/a\"b",  "/a<b>",        "/a\\b",      "/a#b",        "/a|b",   "/a{b}",
	    "/a^b",   "/a`b",         "/a\xc3\xa9", "http://x/y",  "*",      "/a\tb",
	};
	struct arena a;
	struct sv out;
	struct err e = {0};
	char longp[LIMIT_HTTP_PATH + 2];
	(void)state;

	arena_init(&a, 0);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(router_path_decode(&a, sv_from(good[i][0]), &out, &e), ST_OK);
		assert_true(sv_eq_cstr(out, good[i][1]));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (router_path_decode(&a, sv_from(bad[i]), &out, &e) != ST_INVALID)
			fail_msg("accepted bad path %s", bad[i]);
		assert_null(out.p);
	}
	static const char nul[] = {'/', 'a', '\0', 'b'};
	assert_int_equal(router_path_decode(&a, (struct sv){nul, sizeof nul}, &out, &e),
			 ST_INVALID);
	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	assert_int_equal(router_path_decode(&a, (struct sv){longp, LIMIT_HTTP_PATH}, &out, &e),
			 ST_OK);
	assert_int_equal(router_path_decode(&a, (struct sv){longp, LIMIT_HTTP_PATH + 1}, &out, &e),
			 ST_TOO_LARGE);
	arena_free(&a);
}

int test_router_group(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(router_methods),        cmocka_unit_test(router_exact_and_params),
	    cmocka_unit_test(router_prefix),         cmocka_unit_test(router_405),
	    cmocka_unit_test(router_skip_flags),     cmocka_unit_test(router_tenant_prefix),
	    cmocka_unit_test(router_tenant_domains), cmocka_unit_test(router_paths),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
