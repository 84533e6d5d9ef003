/* introspect.c - POST [/t/T]/oauth2/introspect (RFC 7662) and POST
 * [/t/T]/oauth2/revoke (RFC 7009); see introspect.h. */
#include "oauth/introspect.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "oauth/client_auth.h"
#include "oauth/directory.h"
#include "oauth/metrics.h"
#include "oauth/token.h"
#include "oauth/tokens.h"

bool introspect_token_active(const struct store_token *t, const char *tenant_id, int64_t now)
{
	if (t->tenant_id == NULL || tenant_id == NULL || strcmp(t->tenant_id, tenant_id) != 0)
		return false;
	if (t->revoked || t->expires_at <= now)
		return false;
	if (t->kind == STORE_TOKEN_REFRESH)
		return !t->used;
	return t->kind == STORE_TOKEN_ACCESS;
}

/* One introspection or revocation request. */
struct tok_call {
	struct client_auth ca;
	struct oauth_fault fault;
	struct form body;
	struct sv token;
	int64_t now;
};

/* What both endpoints do first: the form, the client, the client
 * assertion's jti recorded (durably, through the store's writer), and the
 * `token` parameter. */
static status tok_request(struct oauth_ctx *c, struct http_req *req, struct tok_call *call,
			  bool allow_public)
{
	struct oauth_fault *fault = &call->fault;
	struct err e = {0};
	status st;

	if ((st = oauth_read_form(req, &call->body, fault)) != ST_OK)
		return st;
	call->now = (int64_t)time(NULL);
	if ((st = client_authenticate(c, req, &call->body, call->now, &call->ca, fault)) != ST_OK)
		return st;
	if (!allow_public && call->ca.method == APP_AUTH_NONE)
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				  "a public client cannot introspect tokens: authenticate with "
				  "a secret or a client assertion");
	if (form_get(&call->body, "token", &call->token) != ST_OK || call->token.n == 0)
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "missing parameter 'token'");
	if (call->ca.has_replay) {
		const struct store_replay *r = &call->ca.replay;
		st = c->store->ops->replay_record(c->store, r->tenant_id, r->iss, r->jti,
						  r->expires_at, call->now, &e);
		if (st == ST_CONFLICT)
			return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
					  "client assertion replayed (jti already used)");
		if (st != ST_OK)
			return oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e,
					      "recording the client assertion: ");
	}
	return ST_OK;
}

/* Looks the token up by its keyed hash: ST_OK with `out`, ST_NOT_FOUND, or
 * a server fault in `fault`. */
static status tok_lookup(struct oauth_ctx *c, struct http_req *req, struct tok_call *call,
			 struct store_token *out)
{
	unsigned char h[SHA256_LEN];
	struct err e = {0};
	status st;

	if (call->token.n > LIMIT_TOKEN_BODY)
		return ST_NOT_FOUND;
	if ((st = tokens_key(c, call->token, NULL, h)) != ST_OK)
		return oauth_fail(&call->fault, OAUTH_SERVER_ERROR, st, "cannot hash the token");
	st = c->store->ops->token_get(c->store, req->arena, h, out, &e);
	mem_wipe(h, sizeof h);
	if (st != ST_OK && st != ST_NOT_FOUND)
		return oauth_fail_err(&call->fault, OAUTH_SERVER_ERROR, st, &e,
				      "reading a token: ");
	return st;
}

static void tok_answer(struct http_req *req, struct http_resp *resp, struct tok_call *call,
		       const char *what, status st)
{
	if (st != ST_OK)
		oauth_respond_fault(req, resp, &call->fault, st);
	resp->log_note =
	    arena_printf(req->arena, "client=%s %s%s%s",
			 call->ca.app != NULL ? oauth_show(req->arena, call->ca.client_id, 64)
			 : call->ca.client_id != NULL ? "(unknown)"
						      : "-",
			 what, st != ST_OK ? " error=" : "",
			 st != ST_OK ? oauth_error_name(call->fault.error) : "");
	client_auth_release(&call->ca);
}

static status set_str(json_t *o, const char *k, const char *v)
{
	return v == NULL || json_object_set_new(o, k, json_string(v)) == 0 ? ST_OK : ST_NOMEM;
}

static status set_int(json_t *o, const char *k, int64_t v)
{
	return json_object_set_new(o, k, json_integer(v)) == 0 ? ST_OK : ST_NOMEM;
}

/* The RFC 7662 §2.2 members of an active token. aud is the application's
 * current audience list, else its client id (as in the JWT access token). */
static status active_json(struct oauth_ctx *c, struct http_req *req, const struct store_token *t,
			  const struct app_conf *app, json_t *o)
{
	const char *iss = oauth_token_endpoint_url(c, req->arena, req->tenant);
	json_t *aud;
	status st = ST_OK;

	if (iss == NULL)
		return ST_NOMEM;
	aud = tokens_aud_json(app);
	if (json_object_set_new(o, "active", json_true()) != 0 ||
	    json_object_set_new(o, "aud", aud) != 0)
		return ST_NOMEM;
	if (t->scope != NULL && t->scope[0] != '\0')
		st = set_str(o, "scope", t->scope);
	if (st == ST_OK)
		st = set_str(o, "client_id", t->client_id);
	if (st == ST_OK)
		st = set_str(o, "sub", t->subject);
	if (st == ST_OK)
		st = set_str(o, "iss", iss);
	if (st == ST_OK)
		st = set_int(o, "exp", t->expires_at);
	if (st == ST_OK)
		st = set_int(o, "iat", t->issued_at);
	if (st == ST_OK)
		st = set_int(o, "nbf", t->issued_at);
	if (st == ST_OK)
		st = set_str(o, "token_type",
			     t->kind == STORE_TOKEN_ACCESS ? "Bearer" : "refresh_token");
	if (st == ST_OK)
		st = set_str(o, "jti", t->jti);
	return st;
}

static status introspect_request(struct oauth_ctx *c, struct http_req *req, struct tok_call *call,
				 struct http_resp *resp)
{
	struct store_token t;
	struct app_conf *app = NULL;
	json_t *o = json_object();
	char *text = NULL;
	size_t len;
	struct err e = {0};
	status st;

	if (o == NULL)
		return oauth_fail(&call->fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
	if ((st = tok_request(c, req, call, false)) != ST_OK)
		goto out;
	memset(&t, 0, sizeof t);
	st = tok_lookup(c, req, call, &t);
	if (st == ST_OK && introspect_token_active(&t, req->tenant_id, call->now)) {
		/* The application must still exist (deleting it revokes its
		 * tokens too; this also covers a cache that is behind). */
		st = directory_app_by_client_id(c, req->tenant_id, t.client_id, &app, &e);
		if (st == ST_OK)
			st = active_json(c, req, &t, app, o);
		else if (st != ST_NOT_FOUND)
			st = oauth_fail_err(&call->fault, OAUTH_SERVER_ERROR, st, &e,
					    "reading the token's application: ");
	} else if (st == ST_OK) {
		st = ST_NOT_FOUND;
	}
	if (st == ST_NOT_FOUND) {
		json_object_clear(o);
		st = json_object_set_new(o, "active", json_false()) == 0 ? ST_OK : ST_NOMEM;
	}
	if (st != ST_OK) {
		if (call->fault.error == OAUTH_ERR_NONE)
			oauth_fail(&call->fault, OAUTH_SERVER_ERROR, st, "out of memory");
		goto out;
	}
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL) {
		st = oauth_fail(&call->fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		goto out;
	}
	oauth_mx_introspection(req->tenant, json_is_true(json_object_get(o, "active")));
	len = strlen(text);
	buf_reset(&resp->body);
	if (buf_append(&resp->body, text, len) != ST_OK) {
		st = oauth_fail(&call->fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		goto out;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "Pragma", "no-cache");
out:
	if (text != NULL) {
		mem_wipe(text, strlen(text));
		free(text);
	}
	json_decref(o);
	if (app != NULL)
		app_conf_free(app);
	return st;
}

/* RFC 7009 §2.2: 200 and an empty body whether or not anything was
 * revoked; only a token of the caller's tenant and client is touched. */
static status revoke_request(struct oauth_ctx *c, struct http_req *req, struct tok_call *call,
			     struct http_resp *resp)
{
	struct store *s = c->store;
	struct store_token t;
	struct err e = {0};
	unsigned char h[SHA256_LEN];
	status st;

	if ((st = tok_request(c, req, call, true)) != ST_OK)
		return st;
	memset(&t, 0, sizeof t);
	st = tok_lookup(c, req, call, &t);
	if (st == ST_OK && t.tenant_id != NULL && strcmp(t.tenant_id, req->tenant_id) == 0 &&
	    t.client_id != NULL && strcmp(t.client_id, call->ca.app->client_id) == 0) {
		/* A refresh token takes its chain with it: the rotated
		 * refresh tokens and every access token minted from them. */
		if (t.kind == STORE_TOKEN_REFRESH && t.chain_id != NULL && t.chain_id[0] != '\0') {
			st = s->ops->tokens_revoke_chain(s, t.chain_id, &e);
		} else {
			memcpy(h, t.hash, sizeof h);
			st = s->ops->token_revoke(s, h, &e);
			mem_wipe(h, sizeof h);
			if (st == ST_NOT_FOUND) /* purged meanwhile */
				st = ST_OK;
		}
		if (st != ST_OK)
			return oauth_fail_err(&call->fault, OAUTH_SERVER_ERROR, st, &e,
					      "revoking a token: ");
	} else if (st != ST_OK && st != ST_NOT_FOUND) {
		return st;
	}
	buf_reset(&resp->body);
	resp->status = 200;
	resp->content_type = "application/json";
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "Pragma", "no-cache");
	return ST_OK;
}

/* One handler shape for both endpoints. */
static void tok_endpoint(void *ctx, struct http_req *req, struct http_resp *resp, bool revoke)
{
	struct tok_call *call = arena_alloc(req->arena, sizeof *call);
	status st;

	if (call == NULL) {
		struct oauth_fault fault = {0};
		oauth_respond_fault(
		    req, resp, &fault,
		    oauth_fail(&fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory"));
		return;
	}
	memset(call, 0, sizeof *call);
	st = revoke ? revoke_request(ctx, req, call, resp)
		    : introspect_request(ctx, req, call, resp);
	tok_answer(req, resp, call, revoke ? "revoke" : "introspect", st);
}

static void introspect_endpoint(void *ctx, struct http_req *req, struct http_resp *resp)
{
	tok_endpoint(ctx, req, resp, false);
}

static void revoke_endpoint(void *ctx, struct http_req *req, struct http_resp *resp)
{
	tok_endpoint(ctx, req, resp, true);
}

const struct http_route oauth_introspect_routes[] = {
    {HTTP_POST, "/oauth2/introspect", introspect_endpoint, HTTP_ROUTE_OAUTH_ERRORS,
     LIMIT_TOKEN_BODY},
    {HTTP_POST, "/oauth2/revoke", revoke_endpoint, HTTP_ROUTE_OAUTH_ERRORS, LIMIT_TOKEN_BODY},
};
const size_t oauth_introspect_nroutes =
    sizeof oauth_introspect_routes / sizeof oauth_introspect_routes[0];
