/* token.c - POST /oauth2/token (docs/jwt-grant.md, docs/api/openapi.yaml): request checks, client
 * authentication, grant dispatch, and the one place where a failure becomes
 * an RFC 6749 §5.2 error response. */
#include "oauth/token.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/form.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "oauth/client_auth.h"
#include "oauth/grants.h"
#include "oauth/metrics.h"
#include "oauth/ratelimit.h"

/* Requests refused by a rate limit, for GET /metrics. */
static mx_counter limited[2]; /* 0 per client, 1 per source */

void oauth_mx_render_rate_limits(struct mx_out *o)
{
	static const char *const kind[2] = {"client", "source"};
	char lb[64];

	mx_family(o, "grantd_rate_limited_total", "counter",
		  "Token requests refused by [oauth.rate_limit], by limit.");
	for (size_t i = 0; i < 2; i++) {
		const char *kv[] = {"limit", kind[i]};
		mx_sample(o, "grantd_rate_limited_total", mx_labels(lb, sizeof lb, 1, kv),
			  mx_get(&limited[i]));
	}
}

/* One request against a limiter: ST_OK, or the 429 recorded in `fault`. */
static status rate_check(struct ratelimit *rl, uint64_t key, int which, const char *who,
			 struct oauth_fault *fault)
{
	int64_t wait = ratelimit_take(rl, key, ratelimit_now_us());

	if (wait == 0)
		return ST_OK;
	mx_add(&limited[which], 1);
	oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_BUSY,
		   "too many requests from this %s; retry after %lld s", who, (long long)wait);
	fault->retry_after = wait;
	return ST_BUSY;
}

/* Parameters that carry credentials and so must never travel in a URL
 * (it ends up in logs, proxies and browser history). */
static const char *const query_forbidden[] = {
    "client_secret",
    "client_assertion",
    "assertion",
    "refresh_token",
    "password",
    "code",
    "code_verifier",
    "token",
    NULL,
};

static bool form_content_type(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	size_t n = sizeof want - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';'; /* parameters (charset) are fine */
}

/* An unknown grant_type is echoed only when it looks like a grant type: a
 * name of at most 32 characters of ALPHA DIGIT "-" "." "_", or a URN of at
 * most 64 (RFC 6749 §4.5); otherwise only its length is told, so that a
 * token or secret sent in its place is never reflected (docs/security.md,
 * "Echoes"). */
static const char *grant_shown(struct arena *a, struct sv gt)
{
	bool urn = gt.n > 4 && memcmp(gt.p, "urn:", 4) == 0;
	bool ok = gt.n <= (urn ? 64u : 32u);

	for (size_t i = 0; ok && i < gt.n; i++) {
		char ch = gt.p[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
		     (urn && ch == ':');
	}
	if (ok)
		return arena_printf(a, "'%.*s'", (int)gt.n, gt.p);
	return arena_printf(a, "(a value of %zu characters that is not a grant type name)", gt.n);
}

static const char *grant_label(unsigned grant)
{
	switch (grant) {
	case APP_GRANT_JWT_BEARER: return "jwt-bearer";
	case APP_GRANT_REFRESH_TOKEN: return "refresh_token";
	case APP_GRANT_CLIENT_CREDENTIALS: return "client_credentials";
	}
	return "-";
}

status oauth_read_form(struct http_req *req, struct form *body, struct oauth_fault *fault)
{
	struct arena *a = req->arena;
	const struct form *query;
	struct err e = {0};
	status st;

	if (!form_content_type(http_req_header(req, "Content-Type")))
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "Content-Type must be application/x-www-form-urlencoded");
	if (req->query.n > 0) {
		/* Already parsed by the HTTP layer for ?tenantDomain=. */
		if ((st = http_req_query_form(req, &query, &e)) != ST_OK)
			return status_is_server_fault(st)
				   ? oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, NULL)
				   : oauth_fail(fault, OAUTH_INVALID_REQUEST, st,
						"malformed query string: %s", e.msg);
		for (size_t i = 0; i < query->n; i++)
			for (const char *const *k = query_forbidden; *k; k++)
				if (sv_eq_cstr(query->pairs[i].key, *k))
					return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
							  "parameter '%s' must not be sent in the "
							  "query string",
							  *k);
	}
	if ((st = form_parse(a, req->body, body, &e)) != ST_OK)
		return status_is_server_fault(st)
			   ? oauth_fail_err(fault, OAUTH_SERVER_ERROR, st, &e, NULL)
			   : oauth_fail(fault, OAUTH_INVALID_REQUEST, st, "malformed form body: %s",
					e.msg);
	/* RFC 6749 §3.2: no parameter may be sent twice. */
	for (size_t i = 0; i < body->n; i++)
		for (size_t j = i + 1; j < body->n; j++)
			if (sv_eq(body->pairs[i].key, body->pairs[j].key))
				return oauth_fail(
				    fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				    "repeated parameter '%s'",
				    oauth_show(a, body->pairs[i].key.p, OAUTH_SHOW_MAX));
	return ST_OK;
}

/* One token request, in its arena: from the handler to the answer, which
 * the continuation writes when the grant got as far as its commit. */
struct token_call {
	struct client_auth ca; /* released once answered */
	struct oauth_fault fault;
	unsigned grant;
	struct grant_commit commit;
};

static void token_resume(void *ctx, struct http_req *req, struct http_resp *resp, void *arg);

/* Everything up to the grant: returns ST_OK when the grant submitted its
 * tokens and deferred the request (token_resume answers). */
static status token_request(struct oauth_ctx *c, struct http_req *req, struct token_call *call)
{
	struct client_auth *ca = &call->ca;
	struct oauth_fault *fault = &call->fault;
	unsigned *grant = &call->grant;
	struct arena *a = req->arena;
	struct form body;
	struct grant_req g = {0};
	struct sv gt;
	status st;

	/* Before anything costly, credentials included (docs/security.md,
	 * "Rate limits"). */
	if (c->rl_source != NULL &&
	    (st = rate_check(c->rl_source, ratelimit_addr_key(c->rl_source, req->remote_addr), 1,
			     "address", fault)) != ST_OK)
		return st;
	if ((st = oauth_read_form(req, &body, fault)) != ST_OK)
		return st;
	if (form_get(&body, "grant_type", &gt) != ST_OK || gt.n == 0)
		return oauth_fail(fault, OAUTH_INVALID_REQUEST, ST_INVALID,
				  "missing parameter 'grant_type'");

	g.now = (int64_t)time(NULL);
	if ((st = client_authenticate(c, req, &body, g.now, ca, fault)) != ST_OK)
		return st;
	if (c->rl_client != NULL) {
		/* tenant id and client id, NUL-separated: one key per client. */
		size_t tn = strlen(ca->app->tenant_id), cn = strlen(ca->client_id);
		char *k = arena_alloc(a, tn + cn + 1);
		if (k == NULL)
			return oauth_fail(fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		memcpy(k, ca->app->tenant_id, tn + 1);
		memcpy(k + tn + 1, ca->client_id, cn);
		if ((st = rate_check(c->rl_client, ratelimit_key(c->rl_client, k, tn + 1 + cn), 0,
				     "client", fault)) != ST_OK)
			return st;
	}

	*grant = app_grant_parse(gt.p);
	if (*grant == 0)
		return oauth_fail(fault, OAUTH_UNSUPPORTED_GRANT_TYPE, ST_UNSUPPORTED,
				  "unsupported grant type %s (supported: %s, refresh_token, "
				  "client_credentials)",
				  grant_shown(a, gt), GRANT_TYPE_JWT_BEARER);
	if (!(ca->app->grants & *grant))
		return oauth_fail(fault, OAUTH_UNAUTHORIZED_CLIENT, ST_FORBIDDEN,
				  "grant type '%s' is not allowed for application '%s' (see its "
				  "grantTypes)",
				  gt.p, oauth_show(a, ca->app->name, OAUTH_SHOW_MAX));
	g.c = c;
	g.req = req;
	g.form = &body;
	g.app = ca->app;
	g.auth = ca->method;
	g.client_replay = ca->has_replay ? &ca->replay : NULL;
	g.commit = &call->commit;
	g.cont = token_resume;
	g.cont_arg = call;
	switch (*grant) {
	case APP_GRANT_JWT_BEARER: return grant_jwt_bearer(&g, fault);
	case APP_GRANT_REFRESH_TOKEN: return grant_refresh_token(&g, fault);
	case APP_GRANT_CLIENT_CREDENTIALS: return grant_client_credentials(&g, fault);
	}
	return oauth_fail(fault, OAUTH_SERVER_ERROR, ST_INTERNAL, "grant %u has no handler",
			  *grant);
}

/* RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. The
 * messages are built that way; this guarantees it for text that came from
 * lower layers (a library's reason, a sanitised claim value). */
static const char *description(struct arena *a, const char *msg)
{
	char *d = arena_strdup(a, msg);

	if (d == NULL)
		return "(out of memory)";
	for (char *p = d; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '"' || *p == '\\')
			*p = '?';
	return d;
}

void oauth_respond_fault(struct http_req *req, struct http_resp *resp,
			 const struct oauth_fault *fault, status st)
{
	enum oauth_error error = oauth_fault_class(fault, st);

	if (error == OAUTH_TEMPORARILY_UNAVAILABLE) {
		/* The database is down: the client may retry; the reason (which
		 * may name the database host) stays in the log. A warning, not an
		 * error: /healthz and the store's own log say it once. */
		log_warn("%.*s: %s: %s (trace %s)", (int)req->path.n, req->path.p, status_name(st),
			 fault->e.msg, req->trace_id);
		http_resp_oauth_error(resp, 503, oauth_error_name(error),
				      OAUTH_UNAVAILABLE_DESCRIPTION);
		http_resp_header(resp, "Retry-After", OAUTH_UNAVAILABLE_RETRY_AFTER);
		return;
	}
	if (error == OAUTH_SERVER_ERROR) {
		/* The reason stays in the log; the client gets the trace id. */
		log_error("%.*s: %s: %s (trace %s)", (int)req->path.n, req->path.p, status_name(st),
			  fault->e.msg, req->trace_id);
		http_resp_oauth_error(
		    resp, 500, "server_error",
		    arena_printf(req->arena, "internal error (trace id %s)", req->trace_id));
		return;
	}
	if (fault->retry_after > 0) {
		/* RFC 6585 §4 and RFC 9110 §10.2.3. */
		http_resp_oauth_error(resp, 429, oauth_error_name(error),
				      description(req->arena, fault->e.msg));
		http_resp_header(resp, "Retry-After",
				 arena_printf(req->arena, "%lld", (long long)fault->retry_after));
		return;
	}
	http_resp_oauth_error(resp, oauth_error_http_status(error), oauth_error_name(error),
			      description(req->arena, fault->e.msg));
	/* RFC 7235 §3.1: a 401 carries a challenge; RFC 6749 §5.2 asks for the
	 * scheme the client used, and Basic is the only one grantd offers. */
	if (oauth_error_http_status(error) == 401)
		http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"grantd\"");
}

/* The answer: the error response (a 200 is already written), the access
 * log's note, then what the request held is released. */
static void token_answer(struct http_req *req, struct http_resp *resp, struct token_call *call,
			 status st)
{
	if (st != ST_OK)
		oauth_respond_fault(req, resp, &call->fault, st);
	oauth_mx_token_request(req->tenant, call->grant, st, &call->fault,
			       st == ST_OK ? call->commit.issued : 0);
	/* Client faults are not logged as errors: the access log gets who and
	 * what (never a secret, an assertion or a description). */
	resp->log_note =
	    arena_printf(req->arena, "client=%s grant=%s%s%s",
			 call->ca.app != NULL ? oauth_show(req->arena, call->ca.client_id, 64)
			 : call->ca.client_id != NULL ? "(unknown)"
						      : "-",
			 grant_label(call->grant), st != ST_OK ? " error=" : "",
			 st != ST_OK ? oauth_error_name(oauth_fault_class(&call->fault, st)) : "");
	client_auth_release(&call->ca);
}

/* The continuation of a request whose tokens were submitted: the store is
 * done with them. */
static void token_resume(void *ctx, struct http_req *req, struct http_resp *resp, void *arg)
{
	struct token_call *call = arg;

	(void)ctx;
	token_answer(req, resp, call, grant_finish(&call->commit, resp, &call->fault));
}

static void token_endpoint(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct token_call *call = arena_alloc(req->arena, sizeof *call);
	status st;

	if (call == NULL) {
		struct oauth_fault fault = {0};
		st = oauth_fail(&fault, OAUTH_SERVER_ERROR, ST_NOMEM, "out of memory");
		oauth_respond_fault(req, resp, &fault, st);
		return;
	}
	st = token_request(ctx, req, call);
	if (st == ST_OK && call->commit.deferred)
		return; /* token_resume answers */
	token_answer(req, resp, call, st);
}

const struct http_route oauth_routes[] = {
    {HTTP_POST, "/oauth2/token", token_endpoint, HTTP_ROUTE_OAUTH_ERRORS | HTTP_ROUTE_TENANT_QUERY,
     LIMIT_TOKEN_BODY},
};
const size_t oauth_nroutes = sizeof oauth_routes / sizeof oauth_routes[0];
