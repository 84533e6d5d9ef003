/* validate.c - the assertion dry run, POST /api/server/v1/jwt-grant/validate
 * (docs/api/openapi.yaml): runs the JWT bearer checks of docs/jwt-grant.md exactly as the token
 * endpoint does (jwt_grant_check with dry_run), in the caller's tenant, and
 * reports every check with pass/fail and detail. It issues nothing and
 * records no jti.
 *
 * Request: {"assertion": "<JWT>", "clientId"?: "<client id>",
 *           "scope"?: "<requested scope>"}
 * Response 200 (also when the assertion fails: the dry run itself worked):
 *   { "valid": bool,
 *     "error": "invalid_grant" | ... | null, "errorDescription": str | null,
 *     "header": {...} | null, "claims": {...} | null,
 *     "identityProvider": {"id","name"} | null,
 *     "client": {"clientId","name"} | null,
 *     "tokenEndpoint": "<the tenant's token endpoint URL>",
 *     "clockSkewSeconds": int | null,
 *     "checks": [ {"step": 1, "name": "assertion",
 *                  "result": "pass"|"fail"|"not_run", "detail": str|null}, ... ] } */
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/handlers.h"
#include "oauth/directory.h"
#include "oauth/jwt_grant.h"
#include "oauth/oauth.h"
#include "oauth/conf_util.h"

/* Also declared in handlers.h for the route table. */
ADMIN_HANDLER(admin_jwt_validate);

static const char *state_name(enum jwt_check_state s)
{
	switch (s) {
	case JWT_STATE_PASS: return "pass";
	case JWT_STATE_FAIL: return "fail";
	case JWT_STATE_NOT_RUN: break;
	}
	return "not_run";
}

static json_t *report(struct admin_call *call, const struct jwt_grant_result *r,
		      const struct app_conf *app, const struct oauth_fault *f, status st)
{
	json_t *checks = json_array(), *o;
	const char *endpoint = oauth_token_endpoint_url(call->c, call->req->arena, call->tenant);

	for (int i = 0; i < JWT_NCHECKS; i++)
		json_array_append_new(checks,
				      json_pack("{s:i, s:s, s:s, s:s?}", "step", i + 1, "name",
						jwt_check_name((enum jwt_check_id)i), "result",
						state_name(r->checks[i].state), "detail",
						r->checks[i].detail));
	o = json_pack("{s:b, s:s?, s:s?, s:O?, s:O?, s:s?, s:o}", "valid", st == ST_OK, "error",
		      st == ST_OK ? NULL : oauth_error_name(f->error), "errorDescription",
		      st == ST_OK ? NULL : f->e.msg, "header", r->parsed ? r->jws.header : NULL,
		      "claims", r->parsed ? r->jws.payload : NULL, "tokenEndpoint", endpoint,
		      "checks", checks);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "identityProvider",
			    r->idp
				? json_pack("{s:s?, s:s?}", "id", r->idp->id, "name", r->idp->name)
				: json_null());
	json_object_set_new(
	    o, "client",
	    app ? json_pack("{s:s?, s:s?}", "clientId", app->client_id, "name", app->name)
		: json_null());
	/* The skew is known once the IdP passed step 4. */
	json_object_set_new(o, "clockSkewSeconds",
			    r->failed == -1 || r->failed > JWT_CHECK_ISSUER ? json_integer(r->skew)
									    : json_null());
	return o;
}

ADMIN_HANDLER(admin_jwt_validate)
{
	static const char *const fields[] = {"assertion", "clientId", "scope", NULL};
	struct admin_call call;
	struct app_conf *app = NULL;
	struct jwt_grant_in in = {0};
	struct jwt_grant_result r = {0};
	struct oauth_fault f = {0};
	const json_t *assertion, *client_id, *scope;
	json_t *body = NULL, *out;
	struct err e = {0};
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if (conf_check_members(body, fields, "", &e) != ST_OK) {
		admin_error(&call, 400, "JWT-60400", "%s", e.msg);
		goto out;
	}
	assertion = json_object_get(body, "assertion");
	client_id = json_object_get(body, "clientId");
	scope = json_object_get(body, "scope");
	if (!json_is_string(assertion)) {
		admin_error(&call, 400, "JWT-60400",
			    "'assertion' is required and must be a string");
		goto out;
	}
	if ((client_id != NULL && !json_is_string(client_id) && !json_is_null(client_id)) ||
	    (scope != NULL && !json_is_string(scope) && !json_is_null(scope))) {
		admin_error(&call, 400, "JWT-60400", "'clientId' and 'scope' must be strings");
		goto out;
	}
	if (json_is_string(client_id)) {
		st = directory_app_by_client_id(call.c, call.tenant_id,
						json_string_value(client_id), &app, &e);
		if (st == ST_NOT_FOUND) {
			admin_error(
			    &call, 400, "JWT-60400",
			    "clientId: no application with client id '%s' in tenant '%s'",
			    oauth_show(req->arena, json_string_value(client_id), OAUTH_SHOW_MAX),
			    call.tenant);
			goto out;
		}
		if (st != ST_OK) {
			admin_error_status(&call, st, &e, "JWT");
			goto out;
		}
	}
	in.tenant_id = call.tenant_id;
	in.tenant = call.tenant;
	in.app = app;
	in.has_assertion = true;
	in.assertion = (struct sv){json_string_value(assertion), json_string_length(assertion)};
	in.scope = json_is_string(scope) ? json_string_value(scope) : NULL;
	in.now = (int64_t)time(NULL);
	in.dry_run = true;
	in.trace = true;
	st = jwt_grant_check(call.c, req->arena, &in, &r, &f);
	if (st != ST_OK && (status_is_server_fault(st) || f.error == OAUTH_SERVER_ERROR)) {
		admin_error_status(&call, status_is_server_fault(st) ? st : ST_INTERNAL, &f.e,
				   "JWT");
		goto out;
	}
	out = report(&call, &r, app, &f, st);
	if (out == NULL) {
		admin_error(&call, 500, "JWT-50000", "out of memory");
		goto out;
	}
	admin_json(&call, 200, out, NULL);
out:
	jwt_grant_result_free(&r);
	app_conf_free(app);
	json_decref(body);
}
