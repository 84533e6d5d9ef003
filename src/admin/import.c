/* import.c - WSO2 export files into a tenant (import.h), and the admin API
 * routes that take them (docs/api/openapi.yaml: POST /import, POST
 * /identity-providers/import, POST /applications/import). */
#include <string.h>

#include "admin/handlers.h"
#include "admin/import.h"
#include "http/multipart.h"
#include "lib/log.h"
#include "oauth/conf_util.h"
#include "wso2/wso2.h"

/* Whether the created application was given a secret nobody has seen: a
 * confidential client authenticating with a secret, none in the export. */
static bool secret_generated(const json_t *body, bool had_secret)
{
	const json_t *oidc =
	    json_object_get(json_object_get(body, "inboundProtocolConfiguration"), "oidc");
	const char *m = json_string_value(json_object_get(
	    json_object_get(oidc, "clientAuthentication"), "tokenEndpointAuthMethod"));

	if (oidc == NULL || had_secret || json_is_true(json_object_get(oidc, "publicClient")))
		return false;
	return m == NULL || strcmp(m, "client_secret_basic") == 0 ||
	       strcmp(m, "client_secret_post") == 0;
}

status admin_import_file(const struct admin_who *w, const struct admin_import_file *f, bool dry_run,
			 json_t **report, struct err *e)
{
	enum wso2_format fmt = wso2_format_of(f->media_type, f->filename);
	struct wso2_object o = {0};
	struct err me = {0}, ce = {0};
	char id[UUID_STR_LEN + 1] = "";
	json_t *tree = NULL, *r;
	bool ok = true, had_secret;
	status st;

	*report = NULL;
	if (fmt == WSO2_FORMAT_UNKNOWN)
		fmt = wso2_sniff(f->data, f->n);
	if ((st = wso2_read(fmt, f->data, f->n, &tree, e)) != ST_OK)
		return st;
	st = wso2_map(tree, &o, &me);
	json_decref(tree);
	if (st != ST_OK && o.kind == 0) {
		wso2_object_clear(&o);
		return err_set(e, st, "%s", me.msg);
	}
	if (f->only != 0 && (int)o.kind != f->only) {
		wso2_object_clear(&o);
		return err_set(e, ST_INVALID, "the file holds an %s, not an %s",
			       wso2_kind_name(o.kind), wso2_kind_name((enum wso2_kind)f->only));
	}
	if ((r = json_object()) == NULL) {
		wso2_object_clear(&o);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	conf_put(r, "file", f->filename != NULL ? json_string(f->filename) : json_null(), &ok);
	conf_put(r, "format", json_string(wso2_format_name(fmt)), &ok);
	conf_put(r, "type", json_string(o.kind == WSO2_IDP ? "identity-provider" : "application"),
		 &ok);
	conf_put(r, "name", o.name != NULL ? json_incref(o.name) : json_null(), &ok);
	if (st != ST_OK) { /* the object lacks what grantd needs */
		conf_put(r, "status", json_string("skipped"), &ok);
		conf_put(r, "id", json_null(), &ok);
		conf_put(r, "reason", json_string(me.msg), &ok);
		conf_put(r, "conflict", json_false(), &ok);
		conf_put(r, "mapped", json_array(), &ok);
		conf_put(r, "dropped", json_array(), &ok);
		conf_put(r, "notes", json_array(), &ok);
		goto out;
	}
	had_secret =
	    json_object_get(
		json_object_get(json_object_get(o.body, "inboundProtocolConfiguration"), "oidc"),
		"clientSecret") != NULL;
	st = o.kind == WSO2_IDP ? admin_idp_create_body(w, o.body, dry_run, id, NULL, &ce)
				: admin_app_create_body(w, o.body, dry_run, id, NULL, &ce);
	if (st == ST_OK) {
		conf_put(r, "status", json_string(dry_run ? "valid" : "imported"), &ok);
		conf_put(r, "id", dry_run ? json_null() : json_string(id), &ok);
		conf_put(r, "reason", json_null(), &ok);
		if (o.kind == WSO2_APP && secret_generated(o.body, had_secret))
			json_array_append_new(
			    o.notes,
			    json_string("no client secret in the export: the application has a "
					"new one, shown by no one; POST "
					".../inbound-protocols/oidc/regenerate-secret issues one "
					"to use"));
	} else if (status_is_server_fault(st)) {
		log_error("import of %s '%s': %s", wso2_kind_name(o.kind),
			  json_string_value(o.name), ce.msg);
		conf_put(r, "status", json_string("failed"), &ok);
		conf_put(r, "id", json_null(), &ok);
		conf_put(r, "reason", json_string("internal error; see the server log"), &ok);
	} else {
		conf_put(r, "status", json_string("skipped"), &ok);
		conf_put(r, "id", json_null(), &ok);
		conf_put(r, "reason", json_string(ce.msg), &ok);
	}
	conf_put(r, "conflict", json_boolean(st == ST_CONFLICT), &ok);
	conf_put(r, "mapped", json_incref(o.mapped), &ok);
	conf_put(r, "dropped", json_incref(o.dropped), &ok);
	conf_put(r, "notes", json_incref(o.notes), &ok);
out:
	wso2_object_clear(&o);
	if (!ok) {
		json_decref(r);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	*report = r;
	return ST_OK;
}

/* ---- the routes ----------------------------------------------------------------- */

/* The uploaded file: a multipart/form-data part "file" (as WSO2 takes it),
 * or the body itself with an XML, YAML or JSON Content-Type. false =
 * answered. */
static bool upload_of(struct admin_call *call, struct admin_import_file *f)
{
	const char *ct = http_req_header(call->req, "Content-Type");
	struct sv body = call->req->body;

	memset(f, 0, sizeof *f);
	if (multipart_is_form_data(ct)) {
		struct multipart_part part;
		struct err e = {0};
		status st = multipart_find(ct, body, "file", &part, &e);
		if (st != ST_OK) {
			admin_error(call, 400, "IMP-60400", "%s", e.msg);
			return false;
		}
		f->data = part.data.p;
		f->n = part.data.n;
		f->media_type =
		    part.content_type.p != NULL
			? arena_strndup(call->req->arena, part.content_type.p, part.content_type.n)
			: NULL;
		f->filename =
		    part.filename.p != NULL
			? arena_strndup(call->req->arena, part.filename.p, part.filename.n)
			: NULL;
		/* application/octet-stream says nothing: the name or the bytes
		 * decide. */
		if (wso2_format_of(f->media_type, NULL) == WSO2_FORMAT_UNKNOWN)
			f->media_type = NULL;
		return true;
	}
	if (wso2_format_of(ct, NULL) == WSO2_FORMAT_UNKNOWN) {
		admin_error(call, 415, "IMP-60415",
			    "Content-Type must be application/xml, application/yaml, "
			    "application/json or multipart/form-data with a 'file' part");
		return false;
	}
	f->data = body.p;
	f->n = body.n;
	f->media_type = ct;
	return true;
}

/* ?dryRun=true|false (default false). false = answered. */
static bool dry_run_of(struct admin_call *call, bool *dry)
{
	status st = ST_OK;
	const char *v = http_req_query(call->req, "dryRun", &st);

	*dry = false;
	if (st == ST_NOT_FOUND || (st == ST_OK && v == NULL))
		return true;
	if (st != ST_OK || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)) {
		admin_error(call, 400, "IMP-60400", "dryRun must be true or false");
		return false;
	}
	*dry = strcmp(v, "true") == 0;
	return true;
}

/* Reads and imports the upload; NULL when answered. */
static json_t *import_upload(struct admin_call *call, int only, bool *dry)
{
	struct admin_import_file f;
	struct admin_who w;
	struct err e = {0};
	json_t *report = NULL;
	status st;

	if (!dry_run_of(call, dry) || !upload_of(call, &f))
		return NULL;
	w = admin_who_of(call);
	f.only = only;
	st = admin_import_file(&w, &f, *dry, &report, &e);
	if (st == ST_TOO_LARGE)
		admin_error(call, 413, "IMP-60413", "%s", e.msg);
	else if (st != ST_OK)
		admin_error_status(call, st, &e, "IMP");
	return st == ST_OK ? report : NULL;
}

ADMIN_HANDLER(admin_import)
{
	struct admin_call call;
	json_t *report;
	bool dry;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((report = import_upload(&call, 0, &dry)) == NULL)
		return;
	admin_json(&call, 200, json_pack("{s:b, s:[o]}", "dryRun", dry, "objects", report), NULL);
}

/* WSO2's POST /identity-providers/import and /applications/import: one
 * object of that kind; 201 with its Location, or the error of the create. */
static void import_kind(void *ctx, struct http_req *req, struct http_resp *resp,
			enum wso2_kind kind, const char *base, const char *prefix)
{
	struct admin_call call;
	const char *st, *id;
	char code[32];
	json_t *report;
	bool dry;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((report = import_upload(&call, (int)kind, &dry)) == NULL)
		return;
	st = json_string_value(json_object_get(report, "status"));
	id = json_string_value(json_object_get(report, "id"));
	if (strcmp(st, "imported") == 0) {
		admin_json(&call, 201, report, admin_object_path(&call, base, id));
		return;
	}
	if (strcmp(st, "valid") == 0) {
		admin_json(&call, 200, report, NULL);
		return;
	}
	if (strcmp(st, "failed") == 0) {
		json_decref(report);
		admin_error(&call, 500, "IMP-50000",
			    "internal error; see the server log (trace %s)", req->trace_id);
		return;
	}
	snprintf(code, sizeof code, "%s-%d", prefix,
		 json_is_true(json_object_get(report, "conflict")) ? 60409 : 60400);
	admin_error(&call, json_is_true(json_object_get(report, "conflict")) ? 409 : 400, code,
		    "%s", json_string_value(json_object_get(report, "reason")));
	json_decref(report);
}

ADMIN_HANDLER(admin_idp_import)
{
	import_kind(ctx, req, resp, WSO2_IDP, "/api/server/v1/identity-providers", "IDP");
}

ADMIN_HANDLER(admin_app_import)
{
	import_kind(ctx, req, resp, WSO2_APP, "/api/server/v1/applications", "APP");
}
