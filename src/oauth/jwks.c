/* jwks.c - GET [/t/T]/oauth2/jwks: the tenant's published public signing
 * keys (signkeys.h) as a JWK Set. */
#include "oauth/oauth.h"

#include <stdio.h>

#include "lib/log.h"
#include "oauth/context.h"
#include "oauth/signkeys.h"

#define STR2(x) #x
#define STR(x)  STR2(x)

static void jwks_endpoint(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct oauth_ctx *c = ctx;
	const char *json;
	size_t len;
	struct err e = {0};

	status st = signkeys_jwks(c->signkeys, req->arena, req->tenant_id, &json, &len, &e);

	if (st == ST_UNAVAILABLE) {
		/* Only when the tenant's keys were never read (a cached set is
		 * served while the database is down): the token endpoint's answer. */
		log_warn("jwks: tenant %s: %s", req->tenant, e.msg);
		http_resp_oauth_error(resp, 503, oauth_error_name(OAUTH_TEMPORARILY_UNAVAILABLE),
				      OAUTH_UNAVAILABLE_DESCRIPTION);
		http_resp_header(resp, "Retry-After", OAUTH_UNAVAILABLE_RETRY_AFTER);
		return;
	}
	if (st != ST_OK) {
		log_error("jwks: tenant %s: %s", req->tenant, e.msg);
		http_resp_error(resp, req, 500, NULL, "the signing keys cannot be read");
		return;
	}
	if (buf_append(&resp->body, json, len) != ST_OK) {
		http_resp_error(resp, req, 500, NULL, "out of memory");
		return;
	}
	http_resp_header(resp, "Cache-Control", "public, max-age=" STR(SIGNKEYS_JWKS_MAX_AGE));
}

const struct http_route oauth_jwks_routes[] = {
    {HTTP_GET, "/oauth2/jwks", jwks_endpoint, 0, 0},
};
const size_t oauth_jwks_nroutes = sizeof oauth_jwks_routes / sizeof oauth_jwks_routes[0];
