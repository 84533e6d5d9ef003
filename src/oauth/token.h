/* token.h - the token endpoint, POST /oauth2/token (docs/jwt-grant.md, docs/api/openapi.yaml).
 *
 * The handler is reached through oauth_routes (oauth.h). In order it checks
 * the Content-Type (application/x-www-form-urlencoded, else
 * invalid_request), refuses credentials in the query string, parses the
 * body with the strict form parser (a repeated parameter is
 * invalid_request naming it), requires grant_type, authenticates the
 * client (client_auth.h), maps grant_type (unknown: unsupported_grant_type;
 * not in the application's grantTypes: unauthorized_client) and runs the
 * grant (grants.h). */
#ifndef GRANTD_OAUTH_TOKEN_H
#define GRANTD_OAUTH_TOKEN_H

#include "http/form.h"
#include "http/http.h"
#include "lib/err.h"
#include "lib/metrics.h"
#include "oauth/oauth.h"

/* The edge: turns a failed step into the response. Client faults become
 * {"error","error_description"} with 400 (401 + WWW-Authenticate: Basic
 * realm="grantd" for invalid_client); server faults (status_is_server_fault,
 * or a fault of class OAUTH_SERVER_ERROR) become 500 server_error whose
 * description carries only the trace id, and are logged with log_error;
 * ST_UNAVAILABLE (the database cannot be reached) becomes 503
 * temporarily_unavailable with OAUTH_UNAVAILABLE_DESCRIPTION and
 * Retry-After: 1, logged as a warning (oauth_fault_class). */
/* The checks every OAuth form endpoint (token, introspect, revoke) makes
 * before reading parameters: Content-Type application/x-www-form-urlencoded,
 * no credential or token in the query string, a well-formed body, no
 * repeated parameter. ST_OK with `body` parsed in the request's arena;
 * else `fault` is set (invalid_request, or a server fault). */
status oauth_read_form(struct http_req *req, struct form *body, struct oauth_fault *fault);

void oauth_respond_fault(struct http_req *req, struct http_resp *resp,
			 const struct oauth_fault *fault, status st);

/* grantd_rate_limited_total{limit} for GET /metrics. */
void oauth_mx_render_rate_limits(struct mx_out *o);

#endif
