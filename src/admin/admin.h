/* admin.h - the admin REST API (docs/api/openapi.yaml): shared machinery.
 *
 * Every handler starts with admin_begin(), which authenticates the caller
 * (HTTP Basic, argon2id, throttled), checks that the caller may act in the
 * request's tenant, and fills a `struct admin_call`. Failures have already
 * been answered when admin_begin() returns false. Bodies are read with
 * admin_body(), errors written with admin_error(). */
#ifndef GRANTD_ADMIN_ADMIN_H
#define GRANTD_ADMIN_ADMIN_H

#include <stdbool.h>

#include <jansson.h>

#include "http/http.h"
#include "lib/crypto.h"
#include "oauth/context.h"

struct admin_auth;
struct session_info;

/* Lifetime of the authentication state (throttle table, verification cache). */
status admin_auth_new(const struct config *cfg, struct admin_auth **out);
void admin_auth_free(struct admin_auth *a);

struct admin_call {
	struct oauth_ctx *c;
	struct http_req *req;
	struct http_resp *resp;
	const char *actor;     /* "admin" or "user@tenant", for audit events */
	bool super;            /* the super admin */
	const char *tenant_id; /* the tenant acted in (request's tenant) */
	const char *tenant;    /* its domain */
	/* Who logged in: the admin's own tenant and user name. */
	const char *login_tenant_id, *login_user;
	/* Set when the console's session cookie authenticated the call
	 * (admin/session.h); NULL for HTTP Basic. */
	struct session_info *session;
	const char *session_id;
};

/* The console's session cookie (docs/console.md, "Sessions"). */
#define ADMIN_SESSION_COOKIE "__Host-grantd_session"

enum admin_flags {
	ADMIN_SUPER_ONLY = 1 << 0, /* tenant management */
	ADMIN_ANY_TENANT = 1 << 1, /* the caller's own session, wherever asked */
};

/* The admin API's routes, for the app's route table. */
extern const struct http_route admin_routes[];
extern const size_t admin_nroutes;

/* Authenticates by HTTP Basic, or without an Authorization header by the
 * console's session cookie; a session call that changes state must also
 * pass admin_same_origin() and carry the session's X-CSRF-Token (403
 * otherwise, nothing changed). */
bool admin_begin(void *ctx, struct http_req *req, struct http_resp *resp, unsigned flags,
		 struct admin_call *call);
/* True when the request comes from the server's own origin: Sec-Fetch-Site,
 * when sent, is "same-origin", and Origin, when sent, is "https://<Host>";
 * one of the two must be present. */
bool admin_same_origin(const struct http_req *req);
/* The session cookie's value (in req->arena), NULL when absent or too long. */
const char *admin_session_cookie(const struct http_req *req);

/* A 401 (AUTH-60001) with the Basic challenge, except for the console's
 * own fetches (docs/console.md, "Sessions"). */
void admin_unauthorized(struct admin_call *call, const char *why);
/* Writes {"code","message","description","traceId"}. */
void admin_error(struct admin_call *call, int http_status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a store/validation status and its slot to an error response. */
void admin_error_status(struct admin_call *call, status st, const struct err *e,
			const char *code_prefix);

/* Checks Content-Type: application/json (415 otherwise). false = answered. */
bool admin_json_content_type(struct admin_call *call);
/* Parses the request body as any JSON value (415 for another Content-Type;
 * 400 with error code `code` for invalid JSON or duplicate keys). A new
 * reference; NULL = answered. */
json_t *admin_body_json(struct admin_call *call, const char *code);
/* Parses the request body as a JSON object (415 for another Content-Type,
 * 400 for invalid JSON, duplicate keys or a non-object). NULL = answered. */
json_t *admin_body(struct admin_call *call);
/* Zeroes the string members of a parsed body (passwords), before it is
 * released. NULL or a non-object: nothing. */
void admin_body_wipe(json_t *body);

/* Reads ?limit=&offset= (defaults 30 and 0; limit 1..1000). A ?filter= is
 * refused (400). false = answered. */
bool admin_page(struct admin_call *call, struct store_page *pg);
/* admin_page, and ?filter=name <op> <value> (WSO2's SCIM-like filter: op
 * eq, sw, ew or co, case-insensitive; the value as is, or in double
 * quotes). Anything else, "and"/"or" included, is a 400: a filter grantd
 * cannot evaluate is never ignored. */
bool admin_page_filtered(struct admin_call *call, struct store_page *pg);
/* Answers 200 with one page of a collection: {"totalResults": total,
 * "startIndex": pg.offset + 1, "count": <entries of items>, "links": [next
 * and previous pages, as WSO2 does], name: items}.
 * `items` (an array) is stolen; NULL or a failed allocation answers 500. */
void admin_list_envelope(struct admin_call *call, struct store_page pg, int64_t total,
			 const char *name, json_t *items);

/* Copies the path's {id} (its first parameter) into `out` when it is a
 * UUID. false otherwise: the caller answers 404 in its own words, so only a
 * well-formed id ever reaches the store. */
bool admin_path_uuid(const struct admin_call *call, char out[UUID_STR_LEN + 1]);
/* "<base>/<id>" in the caller's tenant as Location and `self` show it:
 * prefixed with "/t/<tenant>" except in the super tenant. In the request's
 * arena; NULL on OOM. */
char *admin_object_path(struct admin_call *call, const char *base, const char *id);
/* The stored document `text` of the `kind` object `id` as a JSON object (a
 * new reference). NULL = answered: a row whose document is not a JSON
 * object is a server fault (logged; 500 "<code_prefix>-50000"). */
json_t *admin_stored_doc(struct admin_call *call, const char *text, const char *kind,
			 const char *id, const char *code_prefix);

/* Sends `body` (stolen) with `http_status`; adds Location when `location` set. */
void admin_json(struct admin_call *call, int http_status, json_t *body, const char *location);

/* Who changes what, without an HTTP request: the admin API's handlers and
 * `grantd import` (src/admin/import.h) share the create paths through it. */
struct admin_who {
	struct oauth_ctx *c;
	struct arena *arena; /* audit texts and ids live here */
	const char *tenant_id;
	const char *actor; /* for audit records: "admin", "user@tenant", "grantd import" */
};
struct admin_who admin_who_of(const struct admin_call *call);
/* Fills an audit record of `w`'s change. `summary` is stolen. */
void admin_audit_fill(const struct admin_who *w, struct store_audit *a, const char *action,
		      const char *object_type, const char *object_id, json_t *summary);

/* POST /identity-providers and POST /applications without the HTTP around
 * them (idp.c, apps.c): validate `body` (borrowed; members the API ignores
 * on create are removed from it, and an application's clientSecret is
 * taken out, checked and only its keyed hash stored), then store the object
 * with its audit record in one transaction and tell the directory. With
 * `dry_run` nothing is written, but a name (or client id) already in use is
 * still ST_CONFLICT. On success `id` holds the new id ("" for a dry run)
 * and `*view` (when not NULL) the response body of the create; an
 * application's holds a generated secret, so the import passes NULL.
 * ST_INVALID/ST_UNSUPPORTED: the body is refused, the reason in `e`
 * ("<path>: <reason>"); ST_CONFLICT: the name or client id is taken;
 * other statuses are server faults. */
status admin_idp_create_body(const struct admin_who *w, json_t *body, bool dry_run,
			     char id[UUID_STR_LEN + 1], json_t **view, struct err *e);
status admin_app_create_body(const struct admin_who *w, json_t *body, bool dry_run,
			     char id[UUID_STR_LEN + 1], json_t **view, struct err *e);

/* Fills an audit record for the caller's change. `summary` is stolen. */
void admin_audit(struct admin_call *call, struct store_audit *a, const char *action,
		 const char *object_type, const char *object_id, json_t *summary);

#endif
