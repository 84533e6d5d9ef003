/* login.c - /session: the console's login, its session and logout
 * (docs/api/openapi.yaml; docs/console.md, "Sessions").
 *
 * POST {"username","password"} checks the credentials exactly as HTTP
 * Basic is checked (admin_login: the same throttle, the same 401s), and
 * only for a same-origin request (admin_same_origin), so another site
 * cannot log a browser in to an account of its choosing. It answers the
 * session's description and sets the cookie
 *   __Host-grantd_session=<id>; Path=/; Secure; HttpOnly; SameSite=Strict;
 *   Max-Age=<[console] session_lifetime>
 * GET describes the caller's session (the console reloads its CSRF token
 * from it); DELETE ends it (a state change: CSRF token required) and
 * clears the cookie. GET and DELETE need a session: HTTP Basic callers
 * have none (401). */
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/auth.h"
#include "admin/handlers.h"
#include "admin/session.h"
#include "oauth/conf_util.h"

static void describe(struct admin_call *call, const struct session_info *si)
{
	const struct config *cfg = call->c->cfg;
	json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I}", "username", call->actor, "tenant",
			      si->domain, "superAdmin", call->super, "csrfToken", si->csrf,
			      "idleTimeout", (json_int_t)cfg->console.session_idle_timeout,
			      "expiresAt", (json_int_t)si->expires_at);
	admin_json(call, 200, o, NULL);
}

static void set_cookie(struct admin_call *call, const char *id, int64_t max_age)
{
	char *v = arena_printf(call->req->arena,
			       ADMIN_SESSION_COOKIE "=%s; Path=/; Secure; HttpOnly; "
						    "SameSite=Strict; Max-Age=%lld",
			       id, (long long)max_age);
	if (v != NULL)
		http_resp_header(call->resp, "Set-Cookie", v);
}

ADMIN_HANDLER(admin_session_create)
{
	static const char *const fields[] = {"username", "password", NULL};
	struct admin_call call = {.c = ctx, .req = req, .resp = resp};
	struct session_info si = {0};
	struct store_tenant t;
	struct store_admin u;
	char id[SESSION_ID_LEN + 1];
	const char *login, *user;
	char *password;
	struct err e = {0};
	json_t *body;
	status st;

	call.tenant_id = req->tenant_id;
	call.tenant = req->tenant;
	if (!admin_same_origin(req)) {
		admin_error(&call, 403, "AUTH-60005",
			    "cross-site login refused (Origin / Sec-Fetch-Site)");
		return;
	}
	if ((body = admin_body(&call)) == NULL)
		return;
	if (conf_check_members(body, fields, "", &e) != ST_OK) {
		admin_error(&call, 400, "AUTH-60400", "%s", e.msg);
		goto out;
	}
	login = json_string_value(json_object_get(body, "username"));
	password = (char *)json_string_value(json_object_get(body, "password"));
	if (login == NULL || password == NULL || login[0] == '\0' ||
	    strlen(login) > LIMIT_USERNAME + LIMIT_TENANT_DOMAIN + 1 ||
	    strlen(password) > LIMIT_PASSWORD) {
		admin_error(&call, 400, "AUTH-60400",
			    "username and password: required strings (username at most %d, "
			    "password at most %d characters)",
			    LIMIT_USERNAME + LIMIT_TENANT_DOMAIN + 1, LIMIT_PASSWORD);
		goto out;
	}
	if (!admin_login(&call, login, password, &t, &u, &user))
		goto out;
	if (strlen(t.id) >= sizeof si.tenant_id || strlen(user) >= sizeof si.user ||
	    strlen(t.domain) >= sizeof si.domain) {
		admin_error(&call, 400, "AUTH-60400", "user name or tenant too long");
		goto out;
	}
	memcpy(si.tenant_id, t.id, strlen(t.id) + 1);
	memcpy(si.domain, t.domain, strlen(t.domain) + 1);
	memcpy(si.user, user, strlen(user) + 1);
	if ((st = sha256(u.pw_hash, strlen(u.pw_hash), si.pw_fp)) != ST_OK ||
	    (st = session_create(admin_auth_sessions(call.c->admin_auth), &si, time(NULL), id)) !=
		ST_OK) {
		admin_error_status(&call, st, NULL, "AUTH");
		goto out;
	}
	admin_identify(&call, &t, user);
	set_cookie(&call, id, call.c->cfg->console.session_lifetime);
	mem_wipe(id, sizeof id);
	describe(&call, &si);
out:
	admin_body_wipe(body);
	json_decref(body);
}

/* GET and DELETE: the caller's own session. false = answered. */
static bool session_call(void *ctx, struct http_req *req, struct http_resp *resp,
			 struct admin_call *call)
{
	if (!admin_begin(ctx, req, resp, ADMIN_ANY_TENANT, call))
		return false;
	if (call->session == NULL) {
		admin_unauthorized(call, "no console session: HTTP Basic callers have none "
					 "(POST /session)");
		return false;
	}
	return true;
}

ADMIN_HANDLER(admin_session_get)
{
	struct admin_call call;

	if (session_call(ctx, req, resp, &call))
		describe(&call, call.session);
}

ADMIN_HANDLER(admin_session_delete)
{
	struct admin_call call;

	if (!session_call(ctx, req, resp, &call))
		return;
	session_delete(admin_auth_sessions(call.c->admin_auth), call.session_id);
	set_cookie(&call, "", 0);
	admin_json(&call, 204, NULL, NULL);
}
