/* fuzz_router.c - request-target handling and HTTP Basic credentials.
 * The input is a raw request path (first byte: method selector) that goes
 * through router_path_decode, router_split_tenant and router_match as the
 * server does; the same bytes are then parsed as an Authorization value.
 * Invariants: decoded paths start with '/' and have no "//", "." or ".."
 * segments; a found route's params are non-empty and slash-free; the rest
 * after a tenant prefix starts with '/'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/form.h"
#include "http/router.h"
#include "lib/arena.h"

static void nop(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	(void)resp;
}

static const struct http_route routes[] = {
    {HTTP_POST, "/oauth2/token", nop, HTTP_ROUTE_OAUTH_ERRORS | HTTP_ROUTE_TENANT_QUERY, 1},
    {HTTP_GET, "/oauth2/jwks", nop, 0, 0},
    {HTTP_GET | HTTP_POST, "/api/server/v1/identity-providers", nop, 0, 1},
    {HTTP_GET | HTTP_PATCH | HTTP_PUT | HTTP_DELETE, "/api/server/v1/identity-providers/{id}", nop,
     0, 1},
    {HTTP_GET, "/api/server/v1/applications/{id}/inbound-protocols/oidc", nop, 0, 0},
    {HTTP_GET, "/api/server/v1/{a}/{b}/{c}/{d}", nop, 0, 0},
    {HTTP_GET, "/console/", nop, HTTP_ROUTE_PREFIX, 0},
    {HTTP_GET, "/console", nop, HTTP_ROUTE_PREFIX, 0},
    {HTTP_GET, "/", nop, 0, 0},
    {HTTP_GET, "/healthz", nop, HTTP_ROUTE_NO_TENANT, 0},
    {HTTP_GET, "/x/", nop, 0, 0},
};

static const enum http_method methods[] = {HTTP_GET,   HTTP_HEAD,   HTTP_POST,    HTTP_PUT,
					   HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS, HTTP_OTHER};

static void check_path(struct sv p)
{
	struct sv rest, seg;

	CHECK(p.n > 0 && p.p[0] == '/');
	rest = (struct sv){p.p + 1, p.n - 1};
	while (rest.p != NULL) {
		rest = sv_cut(rest, '/', &seg);
		CHECK(seg.n > 0 || rest.p == NULL);
		CHECK(!sv_eq(seg, SV(".")) && !sv_eq(seg, SV("..")));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct err e = {0};
	struct sv raw, path, tenant, rest;
	struct router_match m;
	enum http_method method;
	char *text;
	char *user, *pass;

	if (size == 0)
		return 0;
	method = methods[data[0] % (sizeof methods / sizeof methods[0])];
	raw = (struct sv){(const char *)data + 1, size - 1};
	arena_init(&a, 16u * 1024u * 1024u);

	if (router_path_decode(&a, raw, &path, &e) == ST_OK) {
		check_path(path);
		if (router_split_tenant(path, &tenant, &rest) == ST_OK) {
			CHECK(rest.n > 0 && rest.p[0] == '/');
			if (tenant.p != NULL)
				CHECK(router_tenant_valid(tenant));
			if (router_match(routes, sizeof routes / sizeof routes[0], method, rest,
					 tenant.p ? HTTP_ROUTE_NO_TENANT : 0, &m) == ROUTER_FOUND) {
				CHECK(m.route != NULL && m.nparams <= LIMIT_ROUTE_PARAMS);
				for (size_t i = 0; i < m.nparams; i++)
					CHECK(m.params[i].n > 0 &&
					      memchr(m.params[i].p, '/', m.params[i].n) == NULL);
			}
		}
	}
	(void)router_tenant_valid(raw);
	(void)router_allow(&a, data[0]);

	/* The same bytes as an Authorization header value. */
	text = arena_strndup(&a, raw.p, raw.n);
	if (text != NULL) {
		if (http_basic_parse(text, &a, &user, &pass) == ST_OK)
			CHECK(user != NULL && pass != NULL && user[0] != '\0');
		if (http_basic_parse_oauth(text, &a, &user, &pass) == ST_OK)
			CHECK(user != NULL && pass != NULL && user[0] != '\0');
	}
	arena_free(&a);
	return 0;
}
