/* apps.c - /applications: service providers and their OAuth client
 * (docs/api/openapi.yaml). Validation is app_conf_parse()'s (src/oauth/app_conf.h),
 * so what the API accepts is exactly what the token endpoint understands;
 * this file adds what needs the store (IdP names exist in the tenant) and
 * the rules of the resource itself:
 *
 *  - POST /applications: the body is the application object; with a name
 *    only (no oidc object, WSO2's console flow) the application has no
 *    client yet and the store holds a placeholder client id for it
 *    (app_conf.h). `clientId` may be supplied (28..64 of [A-Za-z0-9_-], as
 *    WSO2 lets an admin keep a migrated client's id); otherwise 28
 *    characters of [A-Za-z0-9_] are generated. `clientSecret` may be
 *    supplied to keep a migrated client's secret (docs/jwt-grant.md,
 *    "Client credentials"); otherwise the server generates 256 bits. Only
 *    HMAC-SHA256 under the server secret is stored; a generated secret is
 *    shown in this response only (and in regenerate-secret's).
 *    Only a client that authenticates with a secret (client_secret_basic
 *    or client_secret_post) gets one: public clients and private_key_jwt
 *    clients get none, as a secret they cannot use is only a liability.
 *  - PATCH /applications/{id}: a JSON merge (RFC 7396) of the top-level
 *    `name` and `description` only; at least one must be given; a null
 *    description clears it. The OAuth configuration changes only through
 *    PUT .../inbound-protocols/oidc.
 *  - PUT .../inbound-protocols/oidc on an application without a client
 *    creates it (client id and secret as on create); afterwards it
 *    replaces the whole oidc object; members
 *    left out take their defaults. `clientId` may be omitted or repeated
 *    but not changed; `publicClient` cannot change (a client's secret and
 *    its tokens would change nature: create a new application).
 *  - POST .../oidc/regenerate-secret: a new secret, shown once, for a
 *    client whose auth method takes one (also the way to get a first
 *    secret after switching from private_key_jwt); the old one stops working and the application's
 * tokens are revoked, in the same store transaction (store.h app_update).
 *
 * Every change writes its audit record in the same transaction and tells
 * the directory (directory_app_changed) once committed. Ids in paths are
 * checked to be UUIDs before the store is asked. Secrets are never logged
 * or audited; they live on the stack (wiped) and in the response. */
#include <string.h>

#include "admin/admin.h"
#include "admin/handlers.h"
#include "oauth/app_conf.h"
#include "oauth/directory.h"
#include "oauth/conf_util.h"

#define OIDC_PATH "inboundProtocolConfiguration.oidc"
#define APPS_BASE "/api/server/v1/applications"

/* Answers a document app_conf_parse() refused: 400 with its reason (paths
 * made relative to the oidc object when `in_oidc`), or the server fault. */
static void refuse(struct admin_call *call, status st, const struct err *e, bool in_oidc)
{
	const char *msg = e->msg;
	size_t n = strlen(OIDC_PATH ".");

	if (st != ST_INVALID && st != ST_UNSUPPORTED) {
		admin_error_status(call, st, e, "APP");
		return;
	}
	if (in_oidc && strncmp(msg, OIDC_PATH ".", n) == 0)
		msg += n;
	admin_error(call, 400, "APP-60400", "%s", msg);
}

/* Every allowedIdentityProviders name must be an IdP of this tenant:
 * ST_INVALID naming the entry (path from the document's root). */
static status check_idps(const struct admin_who *w, const struct app_conf *conf, struct err *e)
{
	for (size_t i = 0; i < conf->allowed_idps.n; i++) {
		struct store_idp idp;
		status st = w->c->store->ops->idp_get_by_name(w->c->store, w->arena, w->tenant_id,
							      conf->allowed_idps.v[i], &idp, e);
		if (st == ST_NOT_FOUND)
			return err_set(e, ST_INVALID,
				       OIDC_PATH ".allowedIdentityProviders[%zu]: no identity "
						 "provider '%.255s' in this tenant",
				       i, conf->allowed_idps.v[i]);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/* The application named by the path's {id} in the caller's tenant; false
 * when answered (404 for a malformed id, without asking the store). */
static bool load_app(struct admin_call *call, struct store_app *a)
{
	struct err e = {0};
	char id[UUID_STR_LEN + 1];
	status st;

	if (!admin_path_uuid(call, id)) {
		admin_error(call, 404, "APP-60404", "no application with that id (ids are UUIDs)");
		return false;
	}
	st = call->c->store->ops->app_get(call->c->store, call->req->arena, call->tenant_id, id, a,
					  &e);
	if (st == ST_NOT_FOUND) {
		admin_error(call, 404, "APP-60404", "no application with id '%s' in this tenant",
			    id);
		return false;
	}
	if (st != ST_OK) {
		admin_error_status(call, st, &e, "APP");
		return false;
	}
	return true;
}

/* The stored document of `a` as JSON; NULL when answered (a corrupt row is
 * a server fault). */
static json_t *stored_doc(struct admin_call *call, const struct store_app *a)
{
	return admin_stored_doc(call, a->doc, "application", a->id, "APP");
}

static json_t *oidc_of(json_t *doc)
{
	return json_object_get(json_object_get(doc, "inboundProtocolConfiguration"), "oidc");
}

/* The client id of a stored application as the API shows it: NULL while
 * it has no OIDC configuration (the store's placeholder is never shown). */
static const char *shown_client_id(const struct store_app *a)
{
	return app_client_id_is_placeholder(a->client_id) ? NULL : a->client_id;
}

/* 404 for the OIDC resources of an application that has none yet. */
static void no_oidc(struct admin_call *call, const struct store_app *a)
{
	admin_error(call, 404, "APP-60404",
		    "application '%s' has no OIDC configuration yet; PUT "
		    ".../inbound-protocols/oidc creates it",
		    a->id);
}

/* {"id": id, ...doc}; `doc` is stolen. NULL on OOM. */
static json_t *with_id(const char *id, json_t *doc)
{
	json_t *o = json_pack("{s:s}", "id", id);

	if (o != NULL && json_object_update(o, doc) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(doc);
	return o;
}

/* The stored document `old` with `oidc` (borrowed) as its OIDC
 * configuration: name, description and WSO2's application members kept.
 * NULL on OOM. */
static json_t *with_oidc(const json_t *old, json_t *oidc)
{
	json_t *doc = json_deep_copy(old);

	if (doc == NULL || json_object_set_new(doc, "inboundProtocolConfiguration",
					       json_pack("{s:O}", "oidc", oidc)) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* A copy of the oidc object with "clientSecret" right after "clientId". */
static json_t *oidc_with_secret(json_t *oidc, const char *secret)
{
	json_t *o = json_object(), *v;
	const char *k;
	bool ok = o != NULL;

	json_object_foreach(oidc, k, v)
	{
		ok = ok && json_object_set(o, k, v) == 0;
		if (strcmp(k, "clientId") == 0)
			ok = ok && json_object_set_new(o, "clientSecret", json_string(secret)) == 0;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* An audit-friendly copy of an oidc object: an inline JWKS is summarised
 * by its number of keys (public keys, but bulky). */
static json_t *oidc_summary(json_t *oidc)
{
	json_t *o = json_deep_copy(oidc);
	json_t *ca = json_object_get(o, "clientAuthentication");
	json_t *jwks = json_object_get(ca, "jwks");

	if (json_is_object(jwks))
		json_object_set_new(
		    ca, "jwks",
		    json_pack("{s:I}", "keyCount",
			      (json_int_t)json_array_size(json_object_get(jwks, "keys"))));
	return o;
}

/* {"before": {k: old...}, "after": {k: new...}} over the members that
 * differ. Both arguments are stolen (NULL gives NULL). */
static json_t *diff(json_t *before, json_t *after)
{
	json_t *b = json_object(), *a = json_object(), *v, *out;
	const char *k;

	json_object_foreach(before, k, v) if (!json_equal(v, json_object_get(after, k)))
	    json_object_set(b, k, v);
	json_object_foreach(after, k, v) if (!json_equal(v, json_object_get(before, k)))
	    json_object_set(a, k, v);
	out = before && after ? json_pack("{s:o, s:o}", "before", b, "after", a) : NULL;
	if (out == NULL) {
		json_decref(b);
		json_decref(a);
	}
	json_decref(before);
	json_decref(after);
	return out;
}

/* The canonical document of `conf` as text in the request arena; NULL
 * when answered. `*canon` (may be NULL) receives the JSON. */
static char *canonical(struct admin_call *call, const struct app_conf *conf, json_t **canon)
{
	json_t *doc = app_conf_doc(conf, call->c->cfg);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	char *out = text ? arena_strdup(call->req->arena, text) : NULL;

	free(text);
	if (out == NULL) {
		json_decref(doc);
		admin_error(call, 500, "APP-50000", "out of memory");
		return NULL;
	}
	if (canon != NULL)
		*canon = doc;
	else
		json_decref(doc);
	return out;
}

/* Validates `doc` (borrowed) and its IdP names. */
static status validate_doc(const struct admin_who *w, const json_t *doc, struct app_conf **out,
			   struct err *e)
{
	struct app_conf *conf = NULL;
	status st = app_conf_parse(doc, w->c->cfg, &conf, e);

	if (st == ST_OK && (st = check_idps(w, conf, e)) != ST_OK) {
		app_conf_free(conf);
		conf = NULL;
	}
	*out = conf;
	return st;
}

/* validate_doc() for a handler; NULL when answered. */
static struct app_conf *validate(struct admin_call *call, json_t *doc, bool in_oidc)
{
	struct admin_who w = admin_who_of(call);
	struct app_conf *conf = NULL;
	struct err e = {0};
	status st = validate_doc(&w, doc, &conf, &e);

	if (st != ST_OK) {
		refuse(call, st, &e, in_oidc);
		return NULL;
	}
	return conf;
}

/* A secret an admin brings along: long enough to be a secret, and of the
 * characters that survive Basic auth and form encoding unchanged. */
#define SECRET_GIVEN_MIN 20
#define SECRET_GIVEN_MAX 128

static bool secret_acceptable(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n < SECRET_GIVEN_MIN || n > SECRET_GIVEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~'))
			return false;
	}
	return true;
}

/* Whether a client of this auth method authenticates with a secret. */
static bool uses_secret(enum app_auth_method m)
{
	return m == APP_AUTH_SECRET_BASIC || m == APP_AUTH_SECRET_POST;
}

/* Takes a `clientSecret` an admin brings along (migrating a client from
 * WSO2, say) out of `oidc` into `secret`: checked, hashed by the caller,
 * never stored or repeated as given. *chosen says whether one was given.
 * ST_INVALID naming the member (`path` prefixes it). */
static status take_secret(json_t *oidc, const char *path, char secret[SECRET_GIVEN_MAX + 1],
			  bool *chosen, struct err *e)
{
	const json_t *v = json_object_get(oidc, "clientSecret");
	const char *given;

	*chosen = false;
	if (v == NULL || json_is_null(v)) {
		json_object_del(oidc, "clientSecret");
		return ST_OK;
	}
	given = json_string_value(v);
	if (!secret_acceptable(given))
		return err_set(e, ST_INVALID,
			       "%sclientSecret: when given (to keep a migrated client's secret) it "
			       "must have %d to %d characters of A-Z a-z 0-9 - . _ ~; leave it out "
			       "and the server generates a 256-bit secret",
			       path, SECRET_GIVEN_MIN, SECRET_GIVEN_MAX);
	memcpy(secret, given, strlen(given) + 1);
	*chosen = true;
	json_object_del(oidc, "clientSecret");
	return ST_OK;
}

/* Fills a missing or null `clientId` of `oidc` with a generated one. */
static status fill_client_id(json_t *oidc, struct err *e)
{
	char cid[APP_CLIENT_ID_LEN + 1];

	if (json_is_null(json_object_get(oidc, "clientId")))
		json_object_del(oidc, "clientId");
	if (json_object_get(oidc, "clientId") != NULL)
		return ST_OK;
	if (app_client_id_new(cid) != ST_OK ||
	    json_object_set_new(oidc, "clientId", json_string(cid)) != 0)
		return err_set(e, ST_INTERNAL, "cannot generate a client id");
	return ST_OK;
}

/* Sets the secret of `app` for `conf`: the one given (`chosen`) or a new
 * one into `secret`, hashed into app->secret_hash; none for a client that
 * does not authenticate with a secret (refusing one given: ST_INVALID). */
static status set_secret(const struct admin_who *w, const struct app_conf *conf, const char *path,
			 bool chosen, char secret[SECRET_GIVEN_MAX + 1], struct store_app *app,
			 struct err *e)
{
	if (chosen && !uses_secret(conf->auth_method))
		return err_set(e, ST_INVALID,
			       "%sclientSecret: this client does not authenticate with a secret "
			       "(public client or private_key_jwt)",
			       path);
	if (!uses_secret(conf->auth_method))
		return ST_OK;
	if ((!chosen && app_secret_new(secret) != ST_OK) ||
	    oauth_keyed_hash(w->c, sv_from(secret), app->secret_hash) != ST_OK)
		return err_set(e, ST_INTERNAL, "cannot generate a client secret");
	app->has_secret = true;
	return ST_OK;
}

/* Saves `doc` (canonical text of `conf`) as the new document of `a`, its
 * secret unchanged, with an "update" audit record (`summary` stolen);
 * false when answered. */
static bool save(struct admin_call *call, const struct store_app *a, const struct app_conf *conf,
		 char *doc, json_t *summary)
{
	struct store_app up = *a;
	struct store_audit audit;
	struct err e = {0};
	status st;

	up.name = conf->name;
	up.doc = doc;
	up.has_secret = false; /* keep the stored hash as it is */
	up.updated_at = 0;
	admin_audit(call, &audit, "update", "application", a->id, summary);
	st = call->c->store->ops->app_update(call->c->store, &up, &audit, &e);
	if (st != ST_OK) {
		admin_error_status(call, st, &e, "APP");
		return false;
	}
	directory_app_changed(call->c, call->tenant_id, a->client_id);
	return true;
}

/* ---- handlers ------------------------------------------------------------------ */

/* A dry run's conflicts: the name in the tenant, the client id anywhere. */
static status check_free(const struct admin_who *w, const struct app_conf *conf, struct err *e)
{
	struct store_page pg = {.limit = 1, .name_op = "eq", .name_value = conf->name};
	struct store_app *items = NULL, a;
	size_t n = 0;
	int64_t total = 0;
	status st;

	st = w->c->store->ops->app_list(w->c->store, w->arena, w->tenant_id, pg, &items, &n, &total,
					e);
	if (st != ST_OK)
		return st;
	if (total > 0)
		return err_set(e, ST_CONFLICT, "an application named '%.255s' already exists",
			       conf->name);
	if (!conf->has_oidc)
		return ST_OK;
	st = w->c->store->ops->app_get_by_client_id(w->c->store, w->arena, NULL, conf->client_id,
						    &a, e);
	if (st == ST_OK)
		return err_set(e, ST_CONFLICT, "client id '%s' is already registered",
			       conf->client_id);
	return st == ST_NOT_FOUND ? ST_OK : st;
}

status admin_app_create_body(const struct admin_who *w, json_t *body, bool dry_run,
			     char id[UUID_STR_LEN + 1], json_t **view, struct err *e)
{
	struct store_app app = {0};
	struct store_audit audit;
	struct app_conf *conf = NULL;
	char placeholder[APP_PLACEHOLDER_LEN + 1], secret[SECRET_GIVEN_MAX + 1] = "";
	json_t *oidc, *doc = NULL;
	bool chosen = false;
	char *text;
	status st;

	id[0] = '\0';
	if (view != NULL)
		*view = NULL;
	/* Without an oidc object the application has no client yet (WSO2's
	 * console flow); PUT .../inbound-protocols/oidc adds it. */
	oidc = oidc_of(body);
	if (json_is_object(oidc) &&
	    ((st = take_secret(oidc, OIDC_PATH ".", secret, &chosen, e)) != ST_OK ||
	     (st = fill_client_id(oidc, e)) != ST_OK))
		goto out;
	if ((st = validate_doc(w, body, &conf, e)) != ST_OK)
		goto out;
	if (conf->has_oidc && chosen && !uses_secret(conf->auth_method)) {
		st = set_secret(w, conf, OIDC_PATH ".", chosen, secret, &app, e);
		goto out;
	}
	if (dry_run) {
		st = check_free(w, conf, e);
		goto out;
	}
	if (uuid_v4(id) != ST_OK || app_client_id_placeholder(id, placeholder) != ST_OK) {
		st = err_set(e, ST_INTERNAL, "cannot generate an id");
		goto out;
	}
	app.id = id;
	app.tenant_id = (char *)w->tenant_id;
	app.name = conf->name;
	app.client_id = conf->has_oidc ? conf->client_id : placeholder;
	if (conf->has_oidc &&
	    (st = set_secret(w, conf, OIDC_PATH ".", chosen, secret, &app, e)) != ST_OK)
		goto out;
	doc = app_conf_doc(conf, w->c->cfg);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	app.doc = text ? arena_strdup(w->arena, text) : NULL;
	free(text);
	if (app.doc == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	admin_audit_fill(
	    w, &audit, "create", "application", id,
	    json_pack("{s:s, s:s?, s:O?, s:b, s:s?}", "name", conf->name, "clientId",
		      conf->client_id, "grantTypes", json_object_get(oidc_of(doc), "grantTypes"),
		      "publicClient", conf->public_client, "tokenEndpointAuthMethod",
		      json_string_value(
			  json_object_get(json_object_get(oidc_of(doc), "clientAuthentication"),
					  "tokenEndpointAuthMethod"))));
	st = w->c->store->ops->app_create(w->c->store, &app, &audit, e);
	if (st != ST_OK)
		goto out;
	directory_app_changed(w->c, w->tenant_id, app.client_id);
	if (view == NULL)
		goto out;
	if (app.has_secret && !chosen) {
		json_t *o = oidc_with_secret(oidc_of(doc), secret);
		if (o == NULL ||
		    json_object_set_new(json_object_get(doc, "inboundProtocolConfiguration"),
					"oidc", o) != 0) {
			st = err_set(e, ST_NOMEM, "out of memory");
			goto out;
		}
	}
	*view = with_id(id, doc);
	doc = NULL;
	if (*view == NULL)
		st = err_set(e, ST_NOMEM, "out of memory");
out:
	if (st != ST_OK)
		id[0] = '\0';
	mem_wipe(secret, sizeof secret);
	mem_wipe(app.secret_hash, sizeof app.secret_hash);
	app_conf_free(conf);
	json_decref(doc);
	return st;
}

ADMIN_HANDLER(admin_app_create)
{
	struct admin_call call;
	struct admin_who w;
	struct err e = {0};
	char id[UUID_STR_LEN + 1];
	json_t *body, *view = NULL;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	w = admin_who_of(&call);
	st = admin_app_create_body(&w, body, false, id, &view, &e);
	if (st != ST_OK)
		refuse(&call, st, &e, false);
	else
		admin_json(&call, 201, view, admin_object_path(&call, APPS_BASE, id));
	json_decref(body);
}

ADMIN_HANDLER(admin_app_list)
{
	struct admin_call call;
	struct store_page pg;
	struct store_app *items = NULL;
	size_t n = 0;
	int64_t total = 0;
	struct err e = {0};
	json_t *arr;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !admin_page_filtered(&call, &pg))
		return;
	st = call.c->store->ops->app_list(call.c->store, req->arena, call.tenant_id, pg, &items, &n,
					  &total, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "APP");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *doc = json_loads(items[i].doc ? items[i].doc : "", 0, NULL);
		const char *desc = json_string_value(json_object_get(doc, "description"));
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:s?, s:s}", "id", items[i].id, "name",
				   items[i].name, "description", desc ? desc : "", "clientId",
				   shown_client_id(&items[i]), "self",
				   admin_object_path(&call, APPS_BASE, items[i].id)));
		json_decref(doc);
	}
	admin_list_envelope(&call, pg, total, "applications", arr);
}

ADMIN_HANDLER(admin_app_get)
{
	struct admin_call call;
	struct store_app a;
	json_t *doc, *out;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	if ((doc = stored_doc(&call, &a)) == NULL)
		return;
	if ((out = with_id(a.id, doc)) == NULL) {
		admin_error(&call, 500, "APP-50000", "out of memory");
		return;
	}
	admin_json(&call, 200, out, NULL);
}

ADMIN_HANDLER(admin_app_patch)
{
	static const char *const fields[] = {"name", "description", NULL};
	struct admin_call call;
	struct store_app a;
	struct app_conf *conf = NULL;
	struct err e = {0};
	json_t *body = NULL, *old = NULL, *doc = NULL, *canon = NULL, *summary, *out, *v;
	const char *k;
	char *text;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if (conf_check_members(body, fields, "", &e) != ST_OK) {
		admin_error(&call, 400, "APP-60400",
			    "%s; PATCH changes name and description only (the OAuth settings "
			    "change with PUT .../inbound-protocols/oidc)",
			    e.msg);
		goto out;
	}
	if (json_object_size(body) == 0) {
		admin_error(&call, 400, "APP-60400",
			    "nothing to change: give name and/or description");
		goto out;
	}
	if ((old = stored_doc(&call, &a)) == NULL || (doc = json_deep_copy(old)) == NULL)
		goto out;
	json_object_foreach(body, k, v) json_object_set(doc, k, v);
	if ((conf = validate(&call, doc, false)) == NULL ||
	    (text = canonical(&call, conf, &canon)) == NULL)
		goto out;
	summary = json_pack(
	    "{s:s?, s:o}", "clientId", shown_client_id(&a), "changes",
	    diff(json_pack("{s:O, s:O}", "name", json_object_get(old, "name"), "description",
			   json_object_get(old, "description")),
		 json_pack("{s:s, s:s}", "name", conf->name, "description", conf->description)));
	if (!save(&call, &a, conf, text, summary))
		goto out;
	out = with_id(a.id, canon);
	canon = NULL;
	if (out == NULL) {
		admin_error(&call, 500, "APP-50000", "out of memory");
		goto out;
	}
	admin_json(&call, 200, out, NULL);
out:
	app_conf_free(conf);
	json_decref(canon);
	json_decref(doc);
	json_decref(old);
	json_decref(body);
}

ADMIN_HANDLER(admin_app_delete)
{
	struct admin_call call;
	struct store_app a;
	struct store_audit audit;
	struct err e = {0};
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	admin_audit(&call, &audit, "delete", "application", a.id,
		    json_pack("{s:s, s:s?, s:b}", "name", a.name, "clientId", shown_client_id(&a),
			      "tokensRevoked", 1));
	st = call.c->store->ops->app_delete(call.c->store, call.tenant_id, a.id, &audit, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "APP");
		return;
	}
	directory_app_changed(call.c, call.tenant_id, a.client_id);
	admin_json(&call, 204, NULL, NULL);
}

ADMIN_HANDLER(admin_app_oidc_get)
{
	struct admin_call call;
	struct store_app a;
	json_t *doc, *oidc;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	if ((doc = stored_doc(&call, &a)) == NULL)
		return;
	oidc = json_incref(oidc_of(doc));
	json_decref(doc);
	if (oidc == NULL) {
		no_oidc(&call, &a);
		return;
	}
	admin_json(&call, 200, oidc, NULL);
}

/* The first OIDC configuration of an application created without one:
 * its client id (given, or generated) replaces the placeholder, and a
 * client that authenticates with a secret gets one (given, or generated
 * and answered once). `body` is the oidc object, `old` the stored
 * document. */
static void first_oidc(struct admin_call *call, const struct store_app *a, json_t *body,
		       json_t *old)
{
	struct store_app up = *a;
	struct store_audit audit;
	struct app_conf *conf = NULL;
	struct admin_who w = admin_who_of(call);
	struct err e = {0};
	char secret[SECRET_GIVEN_MAX + 1] = "";
	json_t *doc = NULL, *canon = NULL, *out = NULL;
	bool chosen = false;
	status st;

	if ((st = take_secret(body, "", secret, &chosen, &e)) != ST_OK ||
	    (st = fill_client_id(body, &e)) != ST_OK) {
		refuse(call, st, &e, true);
		goto out;
	}
	doc = with_oidc(old, body);
	if (doc == NULL) {
		admin_error(call, 500, "APP-50000", "out of memory");
		goto out;
	}
	if ((conf = validate(call, doc, true)) == NULL)
		goto out;
	up.client_id = conf->client_id;
	up.has_secret = false;
	up.updated_at = 0;
	if ((st = set_secret(&w, conf, "", chosen, secret, &up, &e)) != ST_OK) {
		refuse(call, st, &e, true);
		goto out;
	}
	if ((up.doc = canonical(call, conf, &canon)) == NULL)
		goto out;
	admin_audit(call, &audit, "update", "application", a->id,
		    json_pack("{s:s, s:s, s:o}", "name", a->name, "clientId", conf->client_id,
			      "changes", diff(json_object(), oidc_summary(oidc_of(canon)))));
	st = call->c->store->ops->app_update(call->c->store, &up, &audit, &e);
	if (st != ST_OK) {
		admin_error_status(call, st, &e, "APP");
		goto out;
	}
	directory_app_changed(call->c, call->tenant_id, a->client_id);
	directory_app_changed(call->c, call->tenant_id, conf->client_id);
	out = up.has_secret && !chosen ? oidc_with_secret(oidc_of(canon), secret)
				       : json_incref(oidc_of(canon));
	if (out == NULL) {
		admin_error(call, 500, "APP-50000", "out of memory");
		goto out;
	}
	admin_json(call, 200, out, NULL);
out:
	mem_wipe(secret, sizeof secret);
	mem_wipe(up.secret_hash, sizeof up.secret_hash);
	app_conf_free(conf);
	json_decref(canon);
	json_decref(doc);
}

ADMIN_HANDLER(admin_app_oidc_put)
{
	struct admin_call call;
	struct store_app a;
	struct app_conf *conf = NULL;
	json_t *body = NULL, *old = NULL, *doc = NULL, *canon = NULL, *cid, *summary, *out;
	bool was_public;
	char *text;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if ((old = stored_doc(&call, &a)) == NULL)
		goto out;
	if (oidc_of(old) == NULL) {
		first_oidc(&call, &a, body, old);
		goto out;
	}
	if (json_object_get(body, "clientSecret") != NULL) {
		admin_error(&call, 400, "APP-60400",
			    "clientSecret: cannot be set; use POST "
			    ".../inbound-protocols/oidc/regenerate-secret");
		goto out;
	}
	cid = json_object_get(body, "clientId");
	if (cid != NULL && !json_is_null(cid) &&
	    (!json_is_string(cid) || strcmp(json_string_value(cid), a.client_id) != 0)) {
		admin_error(&call, 400, "APP-60400",
			    "clientId: cannot change (this application's client id is '%s')",
			    a.client_id);
		goto out;
	}
	json_object_set_new(body, "clientId", json_string(a.client_id));
	doc = with_oidc(old, body);
	if (doc == NULL) {
		admin_error(&call, 500, "APP-50000", "out of memory");
		goto out;
	}
	if ((conf = validate(&call, doc, true)) == NULL)
		goto out;
	was_public = json_is_true(json_object_get(oidc_of(old), "publicClient"));
	if (conf->public_client != was_public) {
		admin_error(&call, 400, "APP-60400",
			    "publicClient: cannot change after creation (a %s client %s a "
			    "secret); create a new application",
			    was_public ? "public" : "confidential", was_public ? "has no" : "has");
		goto out;
	}
	if ((text = canonical(&call, conf, &canon)) == NULL)
		goto out;
	summary = json_pack("{s:s, s:s, s:o}", "name", a.name, "clientId", a.client_id, "changes",
			    diff(oidc_summary(oidc_of(old)), oidc_summary(oidc_of(canon))));
	if (!save(&call, &a, conf, text, summary))
		goto out;
	out = json_incref(oidc_of(canon));
	admin_json(&call, 200, out, NULL);
out:
	app_conf_free(conf);
	json_decref(canon);
	json_decref(doc);
	json_decref(old);
	json_decref(body);
}

ADMIN_HANDLER(admin_app_regenerate_secret)
{
	struct admin_call call;
	struct store_app a, up = {0};
	struct store_audit audit;
	struct err e = {0};
	char secret[APP_SECRET_LEN + 1] = "";
	json_t *doc = NULL, *oidc, *body;
	const char *method;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_app(&call, &a))
		return;
	if (req->body.n > 0) {
		if ((body = admin_body(&call)) == NULL)
			return;
		st = json_object_size(body) == 0 ? ST_OK : ST_INVALID;
		json_decref(body);
		if (st != ST_OK) {
			admin_error(&call, 400, "APP-60400",
				    "regenerate-secret takes no body (or an empty object)");
			return;
		}
	}
	if ((doc = stored_doc(&call, &a)) == NULL)
		return;
	oidc = oidc_of(doc);
	if (oidc == NULL) {
		no_oidc(&call, &a);
		goto out;
	}
	if (json_is_true(json_object_get(oidc, "publicClient"))) {
		admin_error(&call, 400, "APP-60400", "a public client has no secret to regenerate");
		goto out;
	}
	method = json_string_value(json_object_get(json_object_get(oidc, "clientAuthentication"),
						   "tokenEndpointAuthMethod"));
	if (method == NULL || (strcmp(method, "client_secret_basic") != 0 &&
			       strcmp(method, "client_secret_post") != 0)) {
		admin_error(&call, 400, "APP-60400",
			    "this application authenticates with %s, which takes no client "
			    "secret; set clientAuthentication.tokenEndpointAuthMethod to "
			    "client_secret_basic or client_secret_post first",
			    method != NULL ? method : "no secret");
		goto out;
	}
	up = a;
	up.updated_at = 0;
	up.has_secret = true;
	if (app_secret_new(secret) != ST_OK ||
	    oauth_keyed_hash(call.c, sv_from(secret), up.secret_hash) != ST_OK) {
		admin_error(&call, 500, "APP-50000", "cannot generate a client secret");
		goto out;
	}
	/* The store revokes the application's tokens in the same transaction
	 * as the new hash (docs/jwt-grant.md, "Revocation by the server"). */
	admin_audit(&call, &audit, "regenerate-secret", "application", a.id,
		    json_pack("{s:s, s:s, s:b}", "name", a.name, "clientId", a.client_id,
			      "tokensRevoked", 1));
	st = call.c->store->ops->app_update(call.c->store, &up, &audit, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "APP");
		goto out;
	}
	directory_app_changed(call.c, call.tenant_id, a.client_id);
	oidc = oidc_with_secret(oidc, secret);
	if (oidc == NULL) {
		admin_error(&call, 500, "APP-50000", "out of memory");
		goto out;
	}
	admin_json(&call, 200, oidc, NULL);
out:
	mem_wipe(secret, sizeof secret);
	mem_wipe(up.secret_hash, sizeof up.secret_hash);
	json_decref(doc);
}
