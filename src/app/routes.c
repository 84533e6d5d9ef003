/* routes.c - every endpoint grantd serves, gathered in one table.
 *
 * /healthz is built into the HTTP layer. Protocol modules (oauth, admin,
 * console) each export their own table; this is where they meet. */
#include "app/routes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "console/console.h"
#include "oauth/oauth.h"

static void console_route(void *ctx, struct http_req *req, struct http_resp *resp)
{
	const struct oauth_ctx *c = ctx;
	console_serve(c->console, req, resp);
}

/* /console/ and everything below it (docs/console.md). */
static const struct http_route console_routes[] = {
    {HTTP_GET, "/console", console_route, HTTP_ROUTE_PREFIX, 0},
};
static const size_t console_nroutes = sizeof console_routes / sizeof console_routes[0];

struct route_group {
	const struct http_route *routes;
	const size_t *n;
	bool admin; /* bodies bounded by [server] max_body_size */
};

struct http_route *app_routes_build(const struct config *cfg, size_t *n)
{
	const struct route_group groups[] = {
	    {oauth_routes, &oauth_nroutes, false},
	    {oauth_jwks_routes, &oauth_jwks_nroutes, false},
	    {oauth_introspect_routes, &oauth_introspect_nroutes, false},
	    {oauth_metadata_routes, &oauth_metadata_nroutes, false},
	    {admin_routes, &admin_nroutes, true},
	    {console_routes, &console_nroutes, false},
	};
	size_t total = 0, at = 0;
	struct http_route *all;

	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		total += *groups[i].n;
	all = calloc(total ? total : 1, sizeof *all);
	if (all == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
		memcpy(all + at, groups[i].routes, *groups[i].n * sizeof *all);
		/* An admin route that takes a body takes up to the configured
		 * size (docs/configuration.md, max_body_size); one with a
		 * bound of its own (the console's login) keeps it. */
		for (size_t k = 0; groups[i].admin && k < *groups[i].n; k++)
			if (all[at + k].max_body == LIMIT_ADMIN_BODY)
				all[at + k].max_body = (size_t)cfg->server.max_body_size;
		at += *groups[i].n;
	}
	*n = total;
	return all;
}
