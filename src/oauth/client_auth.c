/* client_auth.c - client authentication at the token endpoint (see
 * client_auth.h). */
#include "oauth/client_auth.h"

#include <string.h>

#include "jose/jws.h"
#include "keys/keys.h"
#include "lib/limits.h"
#include "oauth/assertion.h"
#include "oauth/directory.h"
#include "oauth/metrics.h"

/* Unknown client and wrong secret alike (docs/security.md, "Echoes"). */
#define BAD_CLIENT "client authentication failed: unknown client or wrong client secret"

static const char *method_name(enum app_auth_method m)
{
	switch (m) {
	case APP_AUTH_SECRET_BASIC: return "client_secret_basic";
	case APP_AUTH_SECRET_POST: return "client_secret_post";
	case APP_AUTH_PRIVATE_KEY_JWT: return "private_key_jwt";
	case APP_AUTH_NONE: return "none";
	}
	return "?";
}

/* Looks the client up; unknown (or too long to be an id) is invalid_client. */
static status find_app(struct oauth_ctx *c, struct http_req *req, const char *client_id,
		       struct app_conf **app, struct oauth_fault *fault)
{
	struct err e = {0};
	status st;

	*app = NULL;
	if (client_id[0] == '\0')
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				  "client authentication failed: empty client id");
	if (strlen(client_id) > LIMIT_CLIENT_ID)
		st = ST_NOT_FOUND;
	else
		st = directory_app_by_client_id(c, req->tenant_id, client_id, app, &e);
	/* The same words as a wrong secret (no client enumeration), and the
	 * value is not echoed: a client that swapped id and secret would
	 * have its secret reflected. */
	if (st == ST_NOT_FOUND)
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED, BAD_CLIENT);
	if (st != ST_OK)
		return oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, "looking up the client: ");
	return ST_OK;
}

/* The method the application is registered with does not admit `m`. */
static status wrong_method(struct http_req *req, const struct app_conf *app, enum app_auth_method m,
			   struct oauth_fault *fault)
{
	const char *id = oauth_show(req->arena, app->client_id, OAUTH_SHOW_MAX);

	if (app->public_client)
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				  "client authentication failed: '%s' is a public client without "
				  "a secret; send only client_id",
				  id);
	if (m == APP_AUTH_NONE)
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				  "client authentication required: '%s' is a confidential client "
				  "(registered for %s)",
				  id, method_name(app->auth_method));
	return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
			  "client authentication failed: client '%s' is registered for %s, not %s",
			  id, method_name(app->auth_method), method_name(m));
}

static status check_secret(struct oauth_ctx *c, struct http_req *req, const char *client_id,
			   char *secret, size_t secret_len, enum app_auth_method m,
			   struct client_auth *out, struct oauth_fault *fault)
{
	unsigned char h[SHA256_LEN];
	status st;

	st = oauth_keyed_hash(c, (struct sv){secret, secret_len}, h);
	mem_wipe(secret, secret_len); /* the arena copy is not needed any more */
	if (st != ST_OK)
		return oauth_fail(fault, OAUTH_SERVER_ERROR, st, "cannot hash the client secret");
	if ((st = find_app(c, req, client_id, &out->app, fault)) != ST_OK)
		return st;
	if (!app_conf_accepts_auth(out->app, m))
		return wrong_method(req, out->app, m, fault);
	if (!out->app->has_secret ||
	    !ct_eq(h, sizeof h, out->app->secret_hash, sizeof out->app->secret_hash))
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED, BAD_CLIENT);
	out->method = m;
	return ST_OK;
}

/* ------------------------------------------------- private_key_jwt */

static status jwt_fail(struct oauth_fault *fault, const char *what)
{
	return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
			  "client assertion rejected: %s", what);
}

static status client_jwt(struct oauth_ctx *c, struct http_req *req, const struct form *f,
			 int64_t now, struct client_auth *out, struct oauth_fault *fault)
{
	const struct config *cfg = c->cfg;
	struct arena *a = req->arena;
	struct sv type = SV_NULL, assertion = SV_NULL, cid = SV_NULL;
	struct jws jws = {0};
	struct jose_keyset *fetched = NULL;
	const struct jose_keyset *ks;
	const char *iss = NULL, *sub, *jti, *endpoint, *const *aud = NULL;
	const struct assertion_profile prof = {
	    .noun = "client assertion",
	    .jti_rule = "client authentication with a JWT",
	    .skew = cfg->oauth.timestamp_skew,
	    .skew_src = "[oauth] timestamp_skew",
	    .iat_validation = cfg->oauth.jwt.enable_iat_validation,
	    .iat_validity = cfg->oauth.jwt.iat_validity_period,
	    .max_lifetime = cfg->oauth.jwt.max_assertion_lifetime,
	    .max_lifetime_src = "max_assertion_lifetime",
	};
	struct assertion_claims cl;
	size_t naud = 0;
	bool aud_ok = false, seen = false;
	struct err e = {0};
	status st;

	if (form_get(f, "client_assertion_type", &type) != ST_OK)
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "client_assertion without client_assertion_type");
	if (form_get(f, "client_assertion", &assertion) != ST_OK)
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "client_assertion_type without client_assertion");
	if (!sv_eq_cstr(type, CLIENT_ASSERTION_TYPE_JWT))
		return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				  "unsupported client_assertion_type '%s' (expected %s)",
				  oauth_show(a, type.p, OAUTH_SHOW_MAX), CLIENT_ASSERTION_TYPE_JWT);
	st = jws_parse(a, assertion, (size_t)cfg->oauth.jwt.max_assertion_size, &jws, &e);
	if (st == ST_NOMEM) {
		st = oauth_fail(fault, OAUTH_SERVER_ERROR, st, "out of memory");
		goto out;
	}
	if (st != ST_OK) {
		st = jwt_fail(fault, e.msg);
		goto out;
	}
	/* The same claim checks as a grant assertion's (oauth/assertion.h),
	 * with the client profile: jti required (it is what the replay
	 * check keys on), the server's skew, age and lifetime limits. */
	st = assertion_read_claims(a, jws.payload, &prof, &cl, &e);
	if (st != ST_OK) {
		st = status_is_server_fault(st)
			 ? oauth_fail(fault, OAUTH_SERVER_ERROR, st, "%s", e.msg)
			 : jwt_fail(fault, e.msg);
		goto out;
	}
	iss = cl.iss;
	sub = cl.sub;
	jti = cl.jti;
	aud = cl.aud;
	naud = cl.naud;
	out->client_id = arena_strdup(a, iss); /* iss dies with the payload */
	if (strcmp(iss, sub) != 0) {
		st = jwt_fail(fault, "iss and sub must both be the client id");
		goto out;
	}
	if (form_get(f, "client_id", &cid) == ST_OK && !sv_eq_cstr(cid, iss)) {
		st = oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				"client_id differs from the client assertion's iss");
		goto out;
	}
	if ((st = find_app(c, req, iss, &out->app, fault)) != ST_OK)
		goto out;
	if (!app_conf_accepts_auth(out->app, APP_AUTH_PRIVATE_KEY_JWT)) {
		st = wrong_method(req, out->app, APP_AUTH_PRIVATE_KEY_JWT, fault);
		goto out;
	}
	/* Keys: registered on the application, inline or at its jwksUri. */
	ks = out->app->client_keys;
	if (ks == NULL && out->app->client_jwks_uri != NULL) {
		if (c->keys == NULL) {
			st = oauth_fail(fault, OAUTH_SERVER_ERROR, ST_INTERNAL,
					"the JWKS cache is not running");
			goto out;
		}
		st = keys_get(c->keys, out->app->tenant_id, out->app->id, out->app->client_jwks_uri,
			      jws.kid, &fetched, &e);
		if (st == ST_NOMEM || st == ST_INTERNAL) {
			st = oauth_fail(fault, OAUTH_SERVER_ERROR, st, "%s", e.msg);
			goto out;
		}
		if (st != ST_OK) {
			st = oauth_fail(
			    fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
			    "client assertion rejected: cannot get the client's keys: %s", e.msg);
			goto out;
		}
		ks = fetched;
	}
	if (ks == NULL) {
		st = jwt_fail(fault, "the application has no keys registered");
		goto out;
	}
	st = jws_verify_keyset(&jws, ks,
			       cfg->oauth.jwks_endpoint.enforce_certificate_expiry_time_validity
				   ? JOSE_VERIFY_CERT_TIME
				   : 0,
			       now, NULL, &e);
	if (st != ST_OK) {
		st = status_is_server_fault(st)
			 ? oauth_fail(fault, OAUTH_SERVER_ERROR, st, "%s", e.msg)
			 : jwt_fail(fault, e.msg);
		goto out;
	}
	if ((endpoint = oauth_token_endpoint_url(c, a, req->tenant)) == NULL) {
		st = oauth_fail(fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < naud && !aud_ok; i++)
		aud_ok = strcmp(aud[i], endpoint) == 0;
	if (!aud_ok) {
		st = oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				"client assertion rejected: audience mismatch: expected '%s', "
				"received '%s'%s",
				endpoint, oauth_show(a, aud[0], OAUTH_SHOW_MAX),
				naud > 1 ? " and others" : "");
		goto out;
	}
	if (assertion_check_times(&cl, &prof, now, &e) != ST_OK) {
		st = oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED, "%s", e.msg);
		goto out;
	}
	/* Last, after every other check. A used jti is refused here, before
	 * the grant runs, so a replayed client assertion is an invalid_client
	 * whatever the grant would say; the record itself is written with the
	 * tokens (grant_req.client_replay), where a concurrent replay is
	 * caught, and a request that fails records nothing. */
	st = c->store->ops->replay_seen(c->store, req->tenant_id, iss, jti, now, &seen, &e);
	if (st == ST_OK && seen) {
		st = oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
				"client assertion replayed (jti already used)");
		if (fault != NULL)
			fault->check = OAUTH_CHECK_CLIENT_REPLAY;
		goto out;
	}
	if (st != ST_OK) {
		st = oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, "looking up the jti: ");
		goto out;
	}
	out->replay.tenant_id = req->tenant_id;
	out->replay.iss = arena_strdup(a, iss);
	out->replay.jti = arena_strdup(a, jti);
	out->replay.expires_at = cl.exp + prof.skew;
	if (out->replay.iss == NULL || out->replay.jti == NULL) {
		st = oauth_fail(fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		goto out;
	}
	out->has_replay = true;
	out->method = APP_AUTH_PRIVATE_KEY_JWT;
out:
	jose_keyset_free(fetched);
	jws_free(&jws);
	return st;
}

/* ------------------------------------------------------------ entry */

status client_authenticate(struct oauth_ctx *c, struct http_req *req, const struct form *f,
			   int64_t now, struct client_auth *out, struct oauth_fault *fault)
{
	const char *authz = http_req_header(req, "Authorization");
	struct sv cid = SV_NULL, secret = SV_NULL;
	bool has_cid = form_get(f, "client_id", &cid) == ST_OK;
	bool has_secret = form_get(f, "client_secret", &secret) == ST_OK;
	bool has_jwt = form_get(f, "client_assertion", NULL) != ST_NOT_FOUND ||
		       form_get(f, "client_assertion_type", NULL) != ST_NOT_FOUND;
	int methods = (authz != NULL) + has_secret + has_jwt;
	char *user = NULL, *pass = NULL;
	status st;

	memset(out, 0, sizeof *out);
	if (has_cid)
		out->client_id = cid.p;
	if (methods > 1)
		return oauth_fail(
		    fault, OAUTH_INVALID_REQUEST, ST_INVALID,
		    "more than one client authentication method in the request (%s%s%s)",
		    authz ? "Authorization header " : "", has_secret ? "client_secret " : "",
		    has_jwt ? "client_assertion" : "");
	if (authz != NULL) {
		st = http_basic_parse_oauth(authz, req->arena, &user, &pass);
		if (st == ST_UNSUPPORTED)
			return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
					  "unsupported Authorization scheme: use HTTP Basic "
					  "(client_secret_basic)");
		out->basic = true;
		if (st == ST_NOMEM)
			return oauth_fail(fault, OAUTH_SERVER_ERROR, st, "out of memory");
		if (st != ST_OK)
			return oauth_fail(fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
					  "malformed HTTP Basic credentials (%s)",
					  st == ST_TOO_LARGE ? "too long"
							     : "expected base64 of id:secret");
		out->client_id = user;
		if (has_cid && !sv_eq_cstr(cid, user))
			return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
					  "client_id in the body differs from the HTTP Basic user");
		return check_secret(c, req, user, pass, strlen(pass), APP_AUTH_SECRET_BASIC, out,
				    fault);
	}
	if (has_secret) {
		if (!has_cid)
			return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
					  "client_secret without client_id");
		return check_secret(c, req, cid.p, (char *)secret.p, secret.n, APP_AUTH_SECRET_POST,
				    out, fault);
	}
	if (has_jwt)
		return client_jwt(c, req, f, now, out, fault);
	if (!has_cid)
		return oauth_fail(
		    fault, OAUTH_INVALID_CLIENT, ST_UNAUTHORIZED,
		    "client authentication required: use HTTP Basic, client_secret_post, "
		    "private_key_jwt, or client_id alone for a public client");
	if ((st = find_app(c, req, cid.p, &out->app, fault)) != ST_OK)
		return st;
	if (!app_conf_accepts_auth(out->app, APP_AUTH_NONE))
		return wrong_method(req, out->app, APP_AUTH_NONE, fault);
	out->method = APP_AUTH_NONE;
	return ST_OK;
}

void client_auth_release(struct client_auth *ca)
{
	if (ca == NULL)
		return;
	app_conf_free(ca->app);
	ca->app = NULL;
}
