/* oauth.h - the OAuth endpoints as the app sees them: the route table, and
 * the RFC 6749 §5.2 error vocabulary every step of a grant reports in.
 *
 * A step that fails fills a `struct oauth_fault`: the OAuth error class it
 * chose and the human reason (never a secret, an assertion or a signature).
 * One function at the edge, oauth_respond_fault() (token.h), turns it into
 * the HTTP response. Server faults (status_is_server_fault) always become
 * 500 server_error there, whatever class the step chose, and are logged;
 * ST_UNAVAILABLE (the database cannot be reached now) becomes 503
 * temporarily_unavailable with Retry-After (oauth_fault_class). */
#ifndef GRANTD_OAUTH_OAUTH_H
#define GRANTD_OAUTH_OAUTH_H

#include <stddef.h>

#include "http/http.h"
#include "lib/arena.h"
#include "lib/err.h"

/* POST /oauth2/token (and its tenant forms), for src/app/routes.c. */
extern const struct http_route oauth_routes[];
extern const size_t oauth_nroutes;
/* GET /oauth2/jwks (and its tenant forms), jwks.c. */
extern const struct http_route oauth_jwks_routes[];
extern const size_t oauth_jwks_nroutes;
/* POST /oauth2/introspect and /oauth2/revoke, introspect.c. */
extern const struct http_route oauth_introspect_routes[];
extern const size_t oauth_introspect_nroutes;
/* GET /.well-known/oauth-authorization-server and
 * /oauth2/token/.well-known/openid-configuration, metadata.c. */
extern const struct http_route oauth_metadata_routes[];
extern const size_t oauth_metadata_nroutes;

enum oauth_error {
	OAUTH_ERR_NONE = 0,
	OAUTH_INVALID_REQUEST,        /* 400 */
	OAUTH_INVALID_CLIENT,         /* 401 */
	OAUTH_INVALID_GRANT,          /* 400 */
	OAUTH_UNAUTHORIZED_CLIENT,    /* 400 */
	OAUTH_UNSUPPORTED_GRANT_TYPE, /* 400 */
	OAUTH_INVALID_SCOPE,          /* 400 */
	OAUTH_SERVER_ERROR,           /* 500 */
	/* 503: the database cannot be reached now (ST_UNAVAILABLE). RFC 6749
	 * §4.1.2.1 names it for the authorization endpoint; grantd answers it
	 * from every endpoint that needs the store (docs/api/openapi.yaml). */
	OAUTH_TEMPORARILY_UNAVAILABLE,
};

/* The description and Retry-After (seconds) of a 503 temporarily_unavailable:
 * the same for every request, so it says nothing about the database. */
#define OAUTH_UNAVAILABLE_DESCRIPTION "the database is unavailable; retry later"
#define OAUTH_UNAVAILABLE_RETRY_AFTER "1"

struct oauth_fault {
	enum oauth_error error;
	struct err e; /* e.st is the status of the failure */
	/* The metrics' `check` label (oauth/metrics.h): a static name set
	 * after oauth_fail(), which clears it; NULL = none. */
	const char *check;
	/* > 0: a rate limit refused the request: 429 with Retry-After. */
	int64_t retry_after;
};

/* The RFC 6749 name ("invalid_grant"); "server_error" for NONE. */
const char *oauth_error_name(enum oauth_error error);
/* 400, 401, 500 or 503. */
int oauth_error_http_status(enum oauth_error error);
/* The class the edge answers a failure with: OAUTH_TEMPORARILY_UNAVAILABLE
 * when `st` is ST_UNAVAILABLE, OAUTH_SERVER_ERROR for every other server
 * fault (and for a fault without a class), else the step's own class. One
 * rule for the response, the metrics and the access log. */
enum oauth_error oauth_fault_class(const struct oauth_fault *f, status st);

/* Records a failure: class, status and a printf-style reason. Returns `st`
 * (so `return oauth_fail(f, OAUTH_INVALID_GRANT, ST_INVALID, "...")`).
 * `f` may be NULL. */
status oauth_fail(struct oauth_fault *f, enum oauth_error error, status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same from a lower layer's slot: the reason is `prefix` (may be NULL)
 * followed by e->msg; the status is `st` (e->st when `st` is ST_OK). Server
 * faults keep their status so the edge answers 500. */
status oauth_fail_err(struct oauth_fault *f, enum oauth_error error, status st, const struct err *e,
		      const char *prefix);

/* The token endpoint URL of a tenant: base_url + "/oauth2/token" for the
 * super tenant (cfg->tenant.default_domain), else base_url +
 * "/t/<tenant>/oauth2/token". In `a`; NULL on OOM. */
struct oauth_ctx;
const char *oauth_token_endpoint_url(const struct oauth_ctx *c, struct arena *a,
				     const char *tenant);

/* Copies untrusted text for a message: at most `max` bytes, bytes outside
 * printable ASCII, quotes and backslashes replaced by '?', "..." when cut.
 * In `a`; "?" on OOM. */
const char *oauth_show(struct arena *a, const char *s, size_t max);
/* The usual cut for claim values and identifiers in descriptions. */
#define OAUTH_SHOW_MAX 128

#endif
