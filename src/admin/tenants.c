/* tenants.c - /tenants (super admin only): create with an owner, list, get,
 * activate/deactivate. A deactivated tenant's admin API and token endpoint
 * stop answering (the directory's tenant cache is invalidated here). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin/admin.h"
#include "admin/auth.h"
#include "admin/handlers.h"
#include "lib/timefmt.h"
#include "oauth/directory.h"
#include "oauth/conf_util.h"

#define OWNER_PASSWORD_MIN 8

bool admin_valid_domain(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > LIMIT_TENANT_DOMAIN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = d[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-'))
			return false;
		if (label == 0 && ch == '-')
			return false;
		label++;
	}
	return true;
}

bool admin_valid_username(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)u[i]) || strchr("._-", u[i])))
			return false;
	return true;
}

static json_t *tenant_json(struct admin_call *call, const struct store_tenant *t)
{
	struct store_admin *owners = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	char when[TIME_RFC3339_LEN];

	if (call->c->store->ops->admin_list(call->c->store, call->req->arena, t->id, &owners, &n,
					    NULL) == ST_OK)
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
					      json_pack("{s:s}", "username", owners[i].username));
	time_format_rfc3339(t->created_at, when);
	return json_pack("{s:s, s:s, s:b, s:o, s:s}", "id", t->id, "domain", t->domain, "isActive",
			 t->active, "owners", arr, "createdAt", when);
}

ADMIN_HANDLER(admin_tenant_create)
{
	static const char *const fields[] = {"domain", "owners", NULL};
	static const char *const owner_fields[] = {"username", "password", NULL};
	struct admin_call call;
	struct err e = {0};
	struct store_tenant t = {0};
	struct store_admin u = {0};
	struct store_audit audit;
	char tid[UUID_STR_LEN + 1], uid[UUID_STR_LEN + 1], hash[crypto_pwhash_STRBYTES];
	const char *domain, *username, *password;
	json_t *body, *owners, *owner;
	char *lower;
	status st;

	if (!admin_begin(ctx, req, resp, ADMIN_SUPER_ONLY, &call))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if (conf_check_members(body, fields, "", &e) != ST_OK) {
		admin_error(&call, 400, "TNT-60400", "%s", e.msg);
		goto out;
	}
	domain = json_string_value(json_object_get(body, "domain"));
	if (domain == NULL) {
		admin_error(&call, 400, "TNT-60400", "'domain' is required and must be a string");
		goto out;
	}
	lower = arena_strdup(req->arena, domain);
	for (char *p = lower; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (lower == NULL || !admin_valid_domain(lower)) {
		admin_error(&call, 400, "TNT-60400",
			    "'domain' must be a DNS-like name: labels of a-z, 0-9 and '-', "
			    "separated by dots, at most 253 characters");
		goto out;
	}
	owners = json_object_get(body, "owners");
	if (!json_is_array(owners) || json_array_size(owners) != 1 ||
	    !json_is_object(owner = json_array_get(owners, 0))) {
		admin_error(&call, 400, "TNT-60400",
			    "'owners' must be an array with exactly one {username, password}");
		goto out;
	}
	if (conf_check_members(owner, owner_fields, "owners[0]", &e) != ST_OK) {
		admin_error(&call, 400, "TNT-60400", "%s", e.msg);
		goto out;
	}
	username = json_string_value(json_object_get(owner, "username"));
	password = json_string_value(json_object_get(owner, "password"));
	if (username == NULL || !admin_valid_username(username)) {
		admin_error(&call, 400, "TNT-60400",
			    "'owners[0].username' must be 1-64 characters of A-Z a-z 0-9 . _ -");
		goto out;
	}
	if (password == NULL || strlen(password) < OWNER_PASSWORD_MIN ||
	    strlen(password) > LIMIT_PASSWORD) {
		admin_error(&call, 400, "TNT-60400",
			    "'owners[0].password' must be a string of %d to %d characters",
			    OWNER_PASSWORD_MIN, LIMIT_PASSWORD);
		goto out;
	}
	if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
	    uuid_v4(tid) != ST_OK || uuid_v4(uid) != ST_OK) {
		admin_error(&call, 500, "TNT-50000", "cannot hash the password (out of memory)");
		goto out;
	}
	t.id = tid;
	t.domain = lower;
	t.active = true;
	t.created_at = time(NULL);
	u.id = uid;
	u.tenant_id = tid;
	u.username = (char *)username;
	u.pw_hash = hash;
	u.created_at = t.created_at;
	admin_audit(&call, &audit, "create", "tenant", tid,
		    json_pack("{s:s, s:s}", "domain", lower, "owner", username));
	st = call.c->store->ops->tenant_create(call.c->store, &t, &u, &audit, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "TNT");
		goto out;
	}
	directory_tenant_invalidate(call.c, lower); /* a cached "unknown" */
	admin_json(&call, 201, tenant_json(&call, &t),
		   arena_printf(req->arena, "/api/server/v1/tenants/%s", tid));
out:
	json_decref(body);
}

ADMIN_HANDLER(admin_tenant_list)
{
	struct admin_call call;
	struct store_page pg;
	struct store_tenant *items = NULL;
	size_t n = 0;
	int64_t total = 0;
	struct err e = {0};
	json_t *arr;
	status st;

	if (!admin_begin(ctx, req, resp, ADMIN_SUPER_ONLY, &call) || !admin_page(&call, &pg))
		return;
	st = call.c->store->ops->tenant_list(call.c->store, req->arena, pg, &items, &n, &total, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "TNT");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, tenant_json(&call, &items[i]));
	admin_list_envelope(&call, pg, total, "tenants", arr);
}

static bool load_tenant(struct admin_call *call, struct store_tenant *t)
{
	struct err e = {0};
	char id[UUID_STR_LEN + 1];
	status st;

	if (!admin_path_uuid(call, id)) {
		admin_error(call, 404, "TNT-60404", "no tenant with that id (ids are UUIDs)");
		return false;
	}
	st = call->c->store->ops->tenant_get(call->c->store, call->req->arena, id, t, &e);
	if (st != ST_OK) {
		admin_error_status(call, st, &e, "TNT");
		return false;
	}
	return true;
}

ADMIN_HANDLER(admin_tenant_get)
{
	struct admin_call call;
	struct store_tenant t;

	if (!admin_begin(ctx, req, resp, ADMIN_SUPER_ONLY, &call) || !load_tenant(&call, &t))
		return;
	admin_json(&call, 200, tenant_json(&call, &t), NULL);
}

/* PATCH takes {"isActive": bool} or WSO2's operation list
 * [{"operation":"REPLACE","path":"/isActive","value":bool}]. */
ADMIN_HANDLER(admin_tenant_patch)
{
	static const char *const fields[] = {"isActive", NULL};
	struct admin_call call;
	struct store_tenant t;
	struct store_audit audit;
	struct err e = {0};
	json_t *body = NULL, *active = NULL;
	status st;

	if (!admin_begin(ctx, req, resp, ADMIN_SUPER_ONLY, &call) || !load_tenant(&call, &t))
		return;
	if ((body = admin_body_json(&call, "TNT-60400")) == NULL)
		return;
	if (json_is_object(body)) {
		if (conf_check_members(body, fields, "", &e) != ST_OK) {
			admin_error(&call, 400, "TNT-60400", "%s", e.msg);
			goto out;
		}
		active = json_object_get(body, "isActive");
	} else if (json_is_array(body) && json_array_size(body) == 1) {
		json_t *op = json_array_get(body, 0);
		const char *kind = json_string_value(json_object_get(op, "operation"));
		const char *path = json_string_value(json_object_get(op, "path"));
		if (kind == NULL || strcmp(kind, "REPLACE") != 0 || path == NULL ||
		    strcmp(path, "/isActive") != 0 || json_object_size(op) != 3) {
			admin_error(
			    &call, 400, "TNT-60400",
			    "only {\"operation\":\"REPLACE\",\"path\":\"/isActive\",\"value\":"
			    "true|false} is supported");
			goto out;
		}
		active = json_object_get(op, "value");
	}
	if (!json_is_boolean(active)) {
		admin_error(&call, 400, "TNT-60400", "'isActive' must be true or false");
		goto out;
	}
	if (strcmp(t.domain, call.c->cfg->tenant.default_domain) == 0 && !json_is_true(active)) {
		admin_error(&call, 400, "TNT-60400", "the super tenant cannot be deactivated");
		goto out;
	}
	admin_audit(&call, &audit, json_is_true(active) ? "activate" : "deactivate", "tenant", t.id,
		    json_pack("{s:s, s:b, s:b}", "domain", t.domain, "before", t.active, "after",
			      json_is_true(active)));
	st = call.c->store->ops->tenant_set_active(call.c->store, t.id, json_is_true(active),
						   &audit, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "TNT");
		goto out;
	}
	directory_tenant_invalidate(call.c, t.domain);
	admin_auth_forget(call.c->admin_auth);
	t.active = json_is_true(active);
	admin_json(&call, 200, tenant_json(&call, &t), NULL);
out:
	json_decref(body);
}
