/* grants.c - jwt-bearer, refresh_token and client_credentials (see
 * grants.h). */
#include "oauth/grants.h"

#include <string.h>

#include "oauth/jwt_grant.h"
#include "oauth/metrics.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"

/* An optional parameter: NULL when absent (repeats were refused earlier). */
static const char *param(const struct grant_req *g, const char *key)
{
	struct sv v;
	return form_get(g->form, key, &v) == ST_OK ? v.p : NULL;
}

static status revoke_chain(const struct grant_req *g, const char *chain_id,
			   struct oauth_fault *fault);

/* The store is done with a grant's transaction (its thread): record and
 * wake the request. */
static void committed(void *arg, status st)
{
	struct grant_commit *gc = arg;

	gc->st = st;
	http_resume(gc->g.req);
}

/* Mints the tokens and submits them with the request's other writes (the
 * client assertion's jti first, then the grant's own); the request is
 * deferred and grant_finish() answers. A conflict at commit is the
 * client's fault: a replayed client assertion, a replayed grant assertion
 * (`gc->has_jr`), or a refresh token that a concurrent request used first
 * (`reuse_chain`, revoked). */
static status issue(const struct grant_req *g, struct token_grant *tg, const char *reuse_chain,
		    const char *refresh_echo)
{
	struct grant_commit *gc = g->commit;
	status st;

	if (g->client_replay != NULL) {
		tg->replays[tg->nreplays++] = *g->client_replay;
		gc->first_own = 1;
	}
	if (gc->has_jr && gc->jr.replay_pending)
		tg->replays[tg->nreplays++] = gc->jr.replay;
	tg->tenant = g->req->tenant;
	tg->arena = g->req->arena;
	gc->g = *g;
	gc->g.form = NULL; /* on the handler's stack */
	gc->reuse_chain = reuse_chain;
	gc->refresh_echo = refresh_echo;
	gc->deferred = true;
	/* Deferred first: `committed` may run before tokens_submit returns. */
	http_defer(g->req, g->cont, g->cont_arg);
	st = tokens_submit(g->c, tg, &gc->tc, committed, gc);
	if (st != ST_OK) /* nothing queued: answered as a failed commit */
		committed(gc, st);
	return ST_OK;
}

status grant_finish(struct grant_commit *gc, struct http_resp *resp, struct oauth_fault *fault)
{
	const struct grant_req *g = &gc->g;
	const struct token_issued *t = &gc->tc.out;
	status st = tokens_committed(&gc->tc, gc->st);

	if (st == ST_CONFLICT && t->conflict == STORE_TX_REPLAY &&
	    t->conflict_replay < gc->first_own) {
		st = oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				"client assertion replayed (jti already used)");
		fault->check = OAUTH_CHECK_CLIENT_REPLAY;
	} else if (st == ST_CONFLICT && t->conflict == STORE_TX_REPLAY && gc->has_jr)
		st = jwt_grant_replayed(g->req->arena, &gc->jr, fault);
	else if (st == ST_CONFLICT && t->conflict == STORE_TX_REFRESH_USE &&
		 gc->reuse_chain != NULL)
		st = revoke_chain(g, gc->reuse_chain, fault);
	else if (st != ST_OK)
		st = oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &gc->tc.e, "issuing tokens: ");
	else if ((st = tokens_respond(resp, t, gc->refresh_echo)) != ST_OK)
		st = oauth_fail(fault, OAUTH_SERVER_ERROR, st, "cannot write the token response");
	else
		gc->issued = (t->jwt != NULL ? OAUTH_MX_JWT_ACCESS : OAUTH_MX_ACCESS) |
			     (t->refresh_token[0] != '\0' ? OAUTH_MX_REFRESH : 0) |
			     (t->id_token != NULL ? OAUTH_MX_ID_TOKEN : 0);
	tokens_wipe(&gc->tc.out);
	if (gc->has_jr)
		jwt_grant_result_free(&gc->jr);
	gc->has_jr = false;
	return st;
}

status grant_jwt_bearer(const struct grant_req *g, struct oauth_fault *fault)
{
	struct jwt_grant_in in = {0};
	struct jwt_grant_result *r = &g->commit->jr;
	struct token_grant tg = {0};
	struct sv assertion;
	status st;

	in.tenant_id = g->req->tenant_id;
	in.tenant = g->req->tenant;
	in.app = g->app;
	in.has_assertion = form_get(g->form, "assertion", &assertion) == ST_OK;
	in.assertion = in.has_assertion ? assertion : SV_NULL;
	in.scope = param(g, "scope");
	in.now = g->now;
	st = jwt_grant_check(g->c, g->req->arena, &in, r, fault);
	if (st != ST_OK) {
		jwt_grant_result_free(r);
		return st;
	}
	g->commit->has_jr = true; /* released by grant_finish */
	tg.tenant_id = g->req->tenant_id;
	tg.app = g->app;
	tg.idp_id = r->idp->id;
	tg.subject = r->sub;
	tg.scope = r->scope;
	tg.grant_type = GRANT_TYPE_JWT_BEARER;
	tg.access_ttl = tokens_access_ttl(g->c, g->app, APP_GRANT_JWT_BEARER);
	tg.with_refresh = (g->app->grants & APP_GRANT_REFRESH_TOKEN) != 0;
	tg.refresh_ttl = tokens_refresh_ttl(g->c, g->app);
	tg.now = g->now;
	tg.id_token = scope_has(tg.scope, "openid");
	tg.id_token_ttl = tokens_id_token_ttl(g->c, g->app);
	tg.auth_time = g->now;
	return issue(g, &tg, NULL, NULL);
}

static status revoke_chain(const struct grant_req *g, const char *chain_id,
			   struct oauth_fault *fault)
{
	struct err e = {0};
	status st = g->c->store->ops->tokens_revoke_chain(g->c->store, chain_id, &e);

	if (st != ST_OK)
		return oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e,
				      "revoking a token chain: ");
	oauth_fail(fault, OAUTH_INVALID_GRANT, ST_CONFLICT,
		   "refresh token was already used (it has been rotated): every token of its "
		   "chain is now revoked");
	fault->check = OAUTH_CHECK_REFRESH_REUSE;
	return ST_CONFLICT;
}

status grant_refresh_token(const struct grant_req *g, struct oauth_fault *fault)
{
	struct oauth_ctx *c = g->c;
	struct store *s = c->store;
	struct arena *a = g->req->arena;
	const char *rt = param(g, "refresh_token"), *scope = NULL, *extra = NULL;
	struct store_token tok;
	struct token_grant tg = {0};
	unsigned char h[SHA256_LEN];
	bool rotate = tokens_rotate_refresh(c, g->app);
	uint64_t chain_ms;
	struct err e = {0};
	status st;

	if (rt == NULL)
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "missing parameter 'refresh_token'");
	if ((st = scope_normalise(a, param(g, "scope"), &scope, &e)) != ST_OK)
		return status_is_server_fault(st)
			   ? oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, NULL)
			   : oauth_fail(fault, OAUTH_INVALID_SCOPE, st, "%s", e.msg);
	if ((st = tokens_key(c, sv_from(rt), NULL, h)) != ST_OK)
		return oauth_fail(fault, OAUTH_SERVER_ERROR, st, "cannot hash a token");

	/* Read first: a token presented by the wrong client must not be
	 * burnt by marking it used. */
	st = s->ops->token_get(s, a, h, &tok, &e);
	if (st == ST_NOT_FOUND || (st == ST_OK && (tok.kind != STORE_TOKEN_REFRESH ||
						   strcmp(tok.tenant_id, g->req->tenant_id) != 0)))
		return oauth_fail(fault, OAUTH_INVALID_GRANT, ST_INVALID,
				  "refresh token is unknown in this tenant");
	if (st != ST_OK)
		return oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, "reading a token: ");
	if (strcmp(tok.client_id, g->app->client_id) != 0)
		return oauth_fail(fault, OAUTH_INVALID_GRANT, ST_INVALID,
				  "refresh token was issued to another client");
	if (tok.revoked)
		return oauth_fail(fault, OAUTH_INVALID_GRANT, ST_INVALID,
				  "refresh token has been revoked");
	if (tok.expires_at <= g->now)
		return oauth_fail(fault, OAUTH_INVALID_GRANT, ST_INVALID,
				  "refresh token expired %lld s ago",
				  (long long)(g->now - tok.expires_at));
	if (tok.used)
		return revoke_chain(g, tok.chain_id, fault);
	if (scope != NULL && !scope_subset(a, scope, tok.scope[0] ? tok.scope : NULL, &extra))
		return oauth_fail(
		    fault, OAUTH_INVALID_SCOPE, ST_INVALID,
		    "scope '%s' was not granted to this refresh token (granted: '%s')",
		    oauth_show(a, extra ? extra : "?", OAUTH_SHOW_MAX),
		    oauth_show(a, tok.scope, OAUTH_SHOW_MAX));
	if (scope == NULL && tok.scope[0] != '\0')
		scope = tok.scope;

	/* With rotation the old token is marked used in the transaction that
	 * stores its successors: a request that fails burns nothing, and of
	 * concurrent uses exactly one commits (the others revoke the chain). */
	tg.refresh_use = rotate ? h : NULL;
	tg.tenant_id = g->req->tenant_id;
	tg.app = g->app;
	tg.idp_id = tok.idp_id;
	tg.subject = tok.subject;
	tg.scope = scope;
	tg.grant_type = GRANT_TYPE_REFRESH_TOKEN;
	tg.chain_id = tok.chain_id;
	tg.access_ttl = tokens_access_ttl(c, g->app, APP_GRANT_REFRESH_TOKEN);
	tg.with_refresh = rotate;
	tg.refresh_ttl = tokens_refresh_ttl(c, g->app);
	tg.now = g->now;
	/* The chain began with the grant that accepted the assertion: its
	 * id (uuid_v7) holds that time (docs/jwt-grant.md, "id_token"). */
	tg.id_token = scope_has(tg.scope, "openid");
	tg.id_token_ttl = tokens_id_token_ttl(c, g->app);
	tg.auth_time = uuid_v7_unix_ms(sv_from(tok.chain_id), &chain_ms)
			   ? (int64_t)(chain_ms / 1000)
			   : tok.issued_at;
	return issue(g, &tg, tok.chain_id, rotate ? NULL : rt);
}

status grant_client_credentials(const struct grant_req *g, struct oauth_fault *fault)
{
	struct arena *a = g->req->arena;
	const char *scope = NULL, *who;
	struct token_grant tg = {0};
	struct err e = {0};
	status st;

	if (g->app->public_client || g->auth == APP_AUTH_NONE)
		return oauth_fail(fault, OAUTH_UNAUTHORIZED_CLIENT, ST_FORBIDDEN,
				  "client_credentials is only for confidential clients");
	st = scope_normalise(a, param(g, "scope"), &scope, &e);
	if (st == ST_OK) {
		who = arena_printf(a, "application '%s'",
				   oauth_show(a, g->app->name, OAUTH_SHOW_MAX));
		st = scope_within(a, scope, &g->app->allowed_scopes, who ? who : "the application",
				  &e);
	}
	if (status_is_server_fault(st))
		return oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, NULL);
	if (st != ST_OK)
		return oauth_fail(fault, OAUTH_INVALID_SCOPE, st, "%s", e.msg);
	tg.tenant_id = g->req->tenant_id;
	tg.app = g->app;
	tg.idp_id = NULL;
	tg.subject = g->app->client_id;
	tg.scope = scope;
	tg.grant_type = GRANT_TYPE_CLIENT_CREDENTIALS;
	tg.access_ttl = tokens_access_ttl(g->c, g->app, APP_GRANT_CLIENT_CREDENTIALS);
	tg.with_refresh = false;
	tg.now = g->now;
	return issue(g, &tg, NULL, NULL);
}
