/* grants.h - the grants of the token endpoint, after client authentication:
 * jwt-bearer (RFC 7523 §2.1, checks in jwt_grant.h), refresh_token (RFC
 * 6749 §6, with rotation and reuse detection) and client_credentials (RFC
 * 6749 §4.4).
 *
 * Each reads its parameters from the parsed form, mints and stores the
 * tokens (tokens.h) and writes the 200 response. On failure it returns the
 * status with `fault` filled and leaves the response to the caller. */
#ifndef GRANTD_OAUTH_GRANTS_H
#define GRANTD_OAUTH_GRANTS_H

#include <stdint.h>

#include "http/form.h"
#include "http/http.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/oauth.h"

struct grant_req {
	struct oauth_ctx *c;
	struct http_req *req; /* tenant, tenant_id, arena */
	const struct form *form;
	const struct app_conf *app; /* the authenticated client */
	enum app_auth_method auth;  /* how it authenticated */
	/* A client assertion's jti to record with the tokens; NULL = none. */
	const struct store_replay *client_replay;
	int64_t now;
};

/* The `assertion` grant: CONTRACT §5.1 steps 1-10. */
status grant_jwt_bearer(const struct grant_req *g, struct http_resp *resp,
			struct oauth_fault *fault);
/* The client must own the refresh token; it must be live and not revoked.
 * With rotation (tokens_rotate_refresh) it is marked used atomically and a
 * new pair is issued in the same chain; presenting a rotated token again
 * revokes the whole chain (invalid_grant). Without rotation only a new
 * access token is issued and the same refresh token is returned. A
 * requested scope may narrow, never widen, the original one. */
status grant_refresh_token(const struct grant_req *g, struct http_resp *resp,
			   struct oauth_fault *fault);
/* Confidential clients only; subject = client id; no refresh token. */
status grant_client_credentials(const struct grant_req *g, struct http_resp *resp,
				struct oauth_fault *fault);

#endif
