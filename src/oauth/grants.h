/* grants.h - the grants of the token endpoint, after client authentication:
 * jwt-bearer (RFC 7523 §2.1, checks in jwt_grant.h), refresh_token (RFC
 * 6749 §6, with rotation and reuse detection) and client_credentials (RFC
 * 6749 §4.4).
 *
 * Each reads its parameters from the parsed form and checks the grant. On
 * failure it returns the status with `fault` filled and leaves the
 * response to the caller. Otherwise it mints the tokens and submits their
 * transaction (tokens.h) without waiting for the commit: the request is
 * deferred (http_defer with g->cont) and ST_OK returned; once the store
 * is done, the continuation calls grant_finish(), which writes the 200
 * response or fills `fault`. */
#ifndef GRANTD_OAUTH_GRANTS_H
#define GRANTD_OAUTH_GRANTS_H

#include <stdint.h>

#include "http/form.h"
#include "http/http.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/jwt_grant.h"
#include "oauth/oauth.h"
#include "oauth/tokens.h"

struct grant_commit;

struct grant_req {
	struct oauth_ctx *c;
	struct http_req *req; /* tenant, tenant_id, arena */
	const struct form *form;
	const struct app_conf *app; /* the authenticated client */
	enum app_auth_method auth;  /* how it authenticated */
	/* A client assertion's jti to record with the tokens; NULL = none. */
	const struct store_replay *client_replay;
	int64_t now;
	/* Where the grant keeps its state across the commit (zeroed, in the
	 * request's arena), and the continuation the request is deferred to. */
	struct grant_commit *commit;
	http_cont cont;
	void *cont_arg;
};

/* A grant from its submission to its answer: lives in the request's arena
 * (the store writes into `tc` until its done callback). */
struct grant_commit {
	bool deferred;              /* submitted: the answer comes from g.cont */
	struct grant_req g;         /* a copy, without the form */
	struct jwt_grant_result jr; /* jwt-bearer: the checked assertion */
	bool has_jr;
	const char *reuse_chain;  /* refresh_token: the chain revoked on reuse */
	const char *refresh_echo; /* refresh_token without rotation */
	size_t first_own;         /* tc.tx.replays before it: the client's */
	struct token_commit tc;
	status st;       /* the store's, set by its done callback */
	unsigned issued; /* OAUTH_MX_* bits of the tokens answered (metrics) */
};

/* The `assertion` grant: docs/jwt-grant.md, "The checks, in order", steps 1-9,
 * then the tokens are issued. */
status grant_jwt_bearer(const struct grant_req *g, struct oauth_fault *fault);
/* The client must own the refresh token; it must be live and not revoked.
 * With rotation (tokens_rotate_refresh) it is marked used atomically and a
 * new pair is issued in the same chain; presenting a rotated token again
 * revokes the whole chain (invalid_grant). Without rotation only a new
 * access token is issued and the same refresh token is returned. A
 * requested scope may narrow, never widen, the original one. */
status grant_refresh_token(const struct grant_req *g, struct oauth_fault *fault);
/* Confidential clients only; subject = client id; no refresh token. */
status grant_client_credentials(const struct grant_req *g, struct oauth_fault *fault);

/* In the continuation of a deferred grant: maps what the store said (a
 * replayed client assertion, a replayed assertion, a refresh token that a
 * concurrent request used first, whose chain is then revoked - this
 * blocks briefly - or a server fault) to `fault`, or writes the 200. Then
 * releases what the grant held (the assertion). */
status grant_finish(struct grant_commit *gc, struct http_resp *resp, struct oauth_fault *fault);

#endif
