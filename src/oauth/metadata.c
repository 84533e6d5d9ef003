/* metadata.c - RFC 8414 authorization server metadata at
 * GET [/t/T]/.well-known/oauth-authorization-server and, the same document,
 * at WSO2's GET [/t/T]/oauth2/token/.well-known/openid-configuration.
 *
 * The issuer is the tenant's token endpoint URL, which is also the `iss` of
 * its JWT access tokens (as WSO2 does); every URL is absolute, built from
 * the server's base URL (https://<hostname>:<port>) and the tenant prefix
 * (none for the super tenant). response_types_supported is empty: grantd
 * has no authorization endpoint, so no response type can be used.
 * scopes_supported lists "openid" (which asks for an id_token), then the
 * allowedScopes of the tenant's first STORE_PAGE_MAX applications (an application without
 * allowedScopes takes any scope, which RFC 8414 §2 lets a server leave unadvertised). */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jose/jose.h"
#include "lib/log.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/oauth.h"

/* Most distinct scopes advertised. */
#define METADATA_SCOPES_MAX 512

/* The document is public and building it reads up to STORE_PAGE_MAX
 * application documents, so each server keeps the rendered text of the
 * last few tenants asked for CACHE_TTL seconds: an unauthenticated client
 * that polls it costs a copy, not a scan. A change to an application's
 * allowedScopes shows within CACHE_TTL. */
#define CACHE_SLOTS 32
#define CACHE_TTL   10

struct cached {
	const void *ctx; /* the server (tests run several in one process) */
	char tenant_id[64];
	time_t at; /* 0 = empty */
	char *text;
};

static struct cached cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* Appends the cached text for (ctx, tenant) to `out` if fresh. */
static bool cache_get(const void *ctx, const char *tenant_id, time_t now, struct buf *out,
		      status *st)
{
	bool hit = false;

	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cached *e = &cache[i];
		if (e->at != 0 && e->ctx == ctx && now - e->at < CACHE_TTL && now >= e->at &&
		    strcmp(e->tenant_id, tenant_id) == 0) {
			*st = buf_append(out, e->text, strlen(e->text));
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return hit;
}

/* Keeps a copy of `text` for (ctx, tenant) in the oldest (or its own) slot. */
static void cache_put(const void *ctx, const char *tenant_id, time_t now, const char *text)
{
	struct cached *slot = &cache[0];
	char *copy = strdup(text);

	if (copy == NULL || strlen(tenant_id) >= sizeof slot->tenant_id) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cached *e = &cache[i];
		if (e->at != 0 && e->ctx == ctx && strcmp(e->tenant_id, tenant_id) == 0) {
			slot = e;
			break;
		}
		if (e->at < slot->at)
			slot = e;
	}
	free(slot->text);
	slot->ctx = ctx;
	snprintf(slot->tenant_id, sizeof slot->tenant_id, "%s", tenant_id);
	slot->at = now;
	slot->text = copy;
	pthread_mutex_unlock(&cache_mu);
}

static json_t *str_array(const char *const *v)
{
	json_t *a = json_array();

	for (; a != NULL && *v != NULL; v++)
		if (json_array_append_new(a, json_string(*v)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *alg_array(void)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < JOSE_ALG_COUNT; i++)
		if (json_array_append_new(a, json_string(jose_alg_name((enum jose_alg)i))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The union of the applications' allowedScopes, in first-seen order. */
static status scopes_supported(struct oauth_ctx *c, struct http_req *req, json_t **out,
			       struct err *e)
{
	struct store_page pg = {STORE_PAGE_MAX, 0};
	struct store_app *apps = NULL;
	size_t n = 0;
	int64_t total = 0;
	json_t *seen = json_object(), *list = json_array();
	status st;

	*out = NULL;
	if (seen == NULL || list == NULL || json_object_set_new(seen, "openid", json_true()) != 0 ||
	    json_array_append_new(list, json_string("openid")) != 0) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	st =
	    c->store->ops->app_list(c->store, req->arena, req->tenant_id, pg, &apps, &n, &total, e);
	if (st != ST_OK)
		goto out;
	for (size_t i = 0; i < n && json_array_size(list) < METADATA_SCOPES_MAX; i++) {
		json_t *doc = json_loads(apps[i].doc, JSON_REJECT_DUPLICATES, NULL), *scopes;
		size_t k;
		json_t *v;

		scopes = json_object_get(
		    json_object_get(json_object_get(doc, "inboundProtocolConfiguration"), "oidc"),
		    "allowedScopes");
		json_array_foreach(scopes, k, v)
		{
			const char *s = json_string_value(v);
			if (s == NULL || json_object_get(seen, s) != NULL ||
			    json_array_size(list) >= METADATA_SCOPES_MAX)
				continue;
			if (json_object_set_new(seen, s, json_true()) != 0 ||
			    json_array_append_new(list, json_string(s)) != 0) {
				json_decref(doc);
				st = err_set(e, ST_NOMEM, "out of memory");
				goto out;
			}
		}
		json_decref(doc);
	}
	*out = list;
	list = NULL;
out:
	json_decref(seen);
	json_decref(list);
	return st;
}

static status metadata_json(struct oauth_ctx *c, struct http_req *req, json_t **out, struct err *e)
{
	static const char *const grants[] = {GRANT_TYPE_JWT_BEARER, "refresh_token",
					     "client_credentials", NULL};
	static const char *const token_auth[] = {"client_secret_basic", "client_secret_post",
						 "private_key_jwt", "none", NULL};
	static const char *const introspect_auth[] = {"client_secret_basic", "client_secret_post",
						      "private_key_jwt", NULL};
	static const char *const none[] = {NULL};
	static const char *const subject_types[] = {"public", NULL};
	static const char *const claims[] = {"iss",       "sub",     "aud", "azp",       "iat",
					     "exp",       "nbf",     "jti", "client_id", "scope",
					     "auth_time", "at_hash", NULL};
	const char *signing[] = {c->cfg->oauth.access_token.jwt_signing_algorithm, NULL};
	const char *super = c->cfg->tenant.default_domain;
	bool is_super = req->tenant == NULL || (super != NULL && strcmp(req->tenant, super) == 0);
	const char *base = is_super ? arena_printf(req->arena, "%s", c->base_url)
				    : arena_printf(req->arena, "%s/t/%s", c->base_url, req->tenant);
	json_t *o = json_object(), *scopes = NULL;
	bool ok;
	status st;

	*out = NULL;
	if (o == NULL || base == NULL) {
		json_decref(o);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	if ((st = scopes_supported(c, req, &scopes, e)) != ST_OK) {
		json_decref(o);
		return st;
	}
#define URL(path) json_string(arena_printf(req->arena, "%s%s", base, path))
	ok = json_object_set_new(o, "issuer", URL("/oauth2/token")) == 0 &&
	     json_object_set_new(o, "token_endpoint", URL("/oauth2/token")) == 0 &&
	     json_object_set_new(o, "jwks_uri", URL("/oauth2/jwks")) == 0 &&
	     json_object_set_new(o, "introspection_endpoint", URL("/oauth2/introspect")) == 0 &&
	     json_object_set_new(o, "revocation_endpoint", URL("/oauth2/revoke")) == 0 &&
	     json_object_set_new(o, "scopes_supported", scopes) == 0 &&
	     json_object_set_new(o, "response_types_supported", str_array(none)) == 0 &&
	     json_object_set_new(o, "grant_types_supported", str_array(grants)) == 0 &&
	     json_object_set_new(o, "subject_types_supported", str_array(subject_types)) == 0 &&
	     json_object_set_new(o, "id_token_signing_alg_values_supported", str_array(signing)) ==
		 0 &&
	     json_object_set_new(o, "claims_supported", str_array(claims)) == 0 &&
	     json_object_set_new(o, "token_endpoint_auth_methods_supported",
				 str_array(token_auth)) == 0 &&
	     json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported",
				 alg_array()) == 0 &&
	     json_object_set_new(o, "introspection_endpoint_auth_methods_supported",
				 str_array(introspect_auth)) == 0 &&
	     json_object_set_new(o, "introspection_endpoint_auth_signing_alg_values_supported",
				 alg_array()) == 0 &&
	     json_object_set_new(o, "revocation_endpoint_auth_methods_supported",
				 str_array(token_auth)) == 0 &&
	     json_object_set_new(o, "revocation_endpoint_auth_signing_alg_values_supported",
				 alg_array()) == 0;
#undef URL
	if (!ok) {
		json_decref(o);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	*out = o;
	return ST_OK;
}

static void metadata_endpoint(void *ctx, struct http_req *req, struct http_resp *resp)
{
	const char *tid = req->tenant_id != NULL ? req->tenant_id : "";
	time_t now = time(NULL);
	json_t *o = NULL;
	char *text = NULL;
	struct err e = {0};
	status st = ST_OK;

	if (cache_get(ctx, tid, now, &resp->body, &st)) {
		if (st != ST_OK)
			http_resp_error(resp, req, 500, NULL, "out of memory");
		else
			http_resp_header(resp, "Cache-Control", "public, max-age=300");
		return;
	}
	st = metadata_json(ctx, req, &o, &e);
	if (st == ST_UNAVAILABLE) {
		/* The database is down: retry soon (docs/api/openapi.yaml). */
		log_warn("metadata: tenant %s: %s", req->tenant ? req->tenant : "-", e.msg);
		http_resp_error(resp, req, 503, NULL, OAUTH_UNAVAILABLE_DESCRIPTION);
		http_resp_header(resp, "Retry-After", OAUTH_UNAVAILABLE_RETRY_AFTER);
		return;
	}
	if (st != ST_OK) {
		log_error("metadata: tenant %s: %s", req->tenant ? req->tenant : "-", e.msg);
		http_resp_error(resp, req, 500, NULL, "the metadata cannot be built");
		return;
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL || buf_append(&resp->body, text, strlen(text)) != ST_OK) {
		free(text);
		http_resp_error(resp, req, 500, NULL, "out of memory");
		return;
	}
	cache_put(ctx, tid, now, text);
	free(text);
	http_resp_header(resp, "Cache-Control", "public, max-age=300");
}

const struct http_route oauth_metadata_routes[] = {
    {HTTP_GET, "/.well-known/oauth-authorization-server", metadata_endpoint, 0, 0},
    {HTTP_GET, "/oauth2/token/.well-known/openid-configuration", metadata_endpoint, 0, 0},
};
const size_t oauth_metadata_nroutes =
    sizeof oauth_metadata_routes / sizeof oauth_metadata_routes[0];
