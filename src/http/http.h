/* http.h - the transport-neutral model of a request and a response, and
 * the route table that protocol modules (oauth, admin, console) plug into.
 *
 * Nothing here knows a socket or libmicrohttpd: the server (src/server/)
 * reads the whole body (bounded by the route's max_body), strips the
 * optional tenant prefix "/t/{tenant}", resolves the tenant, collects the
 * request headers once into req->headers, matches the route and calls its
 * handler once with a complete request. Unit tests build requests the same
 * way, without a server.
 *
 * Memory: everything in a request (strings, params, headers, the body)
 * lives in req->arena, freed when the request completes (after the
 * response is sent or the connection is gone). Response bodies are built in
 * resp->body (a capped buf, HTTP_RESP_BODY_MAX) whose bytes the server
 * sends. Handlers run on the server's threads, concurrently; they must not
 * block for long (http_defer below answers later without blocking a
 * thread).
 *
 * The server's own responses: every response gets X-Content-Type-Options:
 * nosniff, JSON ones also Cache-Control: no-store unless the handler set
 * one. See server/server.h for the request pipeline and http/form.h for
 * form, query and Basic parsing. */
#ifndef GRANTD_HTTP_HTTP_H
#define GRANTD_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "lib/limits.h"
#include "lib/str.h"

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
	HTTP_OTHER = 1 << 7,
};

struct form;      /* http/form.h */
struct http_req;  /* below */
struct http_resp; /* below */

/* A deferred response's continuation (see http_defer). */
typedef void (*http_cont)(void *ctx, struct http_req *req, struct http_resp *resp, void *arg);

/* One request header as received: name as sent (compared without case),
 * value without surrounding white space. */
struct http_header {
	const char *name, *value;
};

/* What http_resume() needs of the server that holds a deferred request:
 * `wake` resumes the suspended connection `conn`, `resumed` tells the
 * server one deferred request fewer is outstanding. Both are called after
 * the request may already be gone, so they get the handles, not it. */
struct http_transport {
	void (*wake)(void *conn);
	void (*resumed)(void *server);
	void (*deferred)(void *server); /* http_defer() was called */
	void *server;
};

/* http_req.defer_state. http_defer() sets PENDING; then either the server
 * suspends the connection (SUSPENDED) and http_resume() resumes it
 * (RESUMED), or http_resume() comes first (EARLY) and the server runs the
 * continuation without suspending - or, when it raced the suspension,
 * resumes the connection itself. Only compare-and-swap decides who
 * resumes, so resume is never called on a connection not suspended. */
enum http_defer_state {
	HTTP_DEFER_NONE = 0,
	HTTP_DEFER_PENDING,
	HTTP_DEFER_EARLY,
	HTTP_DEFER_SUSPENDED,
	HTTP_DEFER_RESUMED,
};

struct http_req {
	enum http_method method;
	const char *method_name;
	struct sv path;        /* path after the tenant prefix, always starts with '/' */
	struct sv full_path;   /* path as received, without the query */
	struct sv query;       /* raw query string without '?', may be empty */
	const char *tenant;    /* tenant domain: from /t/{tenant}, ?tenantDomain= (routes
				* that allow it) or the default domain */
	const char *tenant_id; /* resolved id of `tenant` */
	bool tenant_explicit;  /* the request named its tenant */
	struct sv body;
	struct sv params[LIMIT_ROUTE_PARAMS]; /* values of {name} segments, in order */
	size_t nparams;
	const char *remote_addr; /* textual peer address */
	char trace_id[33];       /* random hex id, echoed in errors and the access log */
	struct arena *arena;
	const struct http_header *headers; /* in req->arena, collected once */
	size_t nheaders;
	/* Private to http_req_query_form(): its one parse of `query`. */
	bool query_done;
	status query_status;
	const struct form *query_form;
	const char *query_error;
	/* Private to http_defer(), http_resume() and the server. */
	http_cont defer_cont;
	void *defer_arg;
	int defer_state;                        /* atomic, enum http_defer_state */
	const struct http_transport *transport; /* NULL without a server */
	void *transport_conn;                   /* the server's connection handle */
};

/* A request header (case-insensitive name), NULL when absent. The value
 * lives as long as the request. */
const char *http_req_header(const struct http_req *req, const char *name);
/* A query parameter, decoded with the form rules of http/form.h (in
 * req->arena). Returns NULL when absent (*st = ST_NOT_FOUND), malformed
 * (*st = ST_INVALID) or repeated (*st = ST_CONFLICT); *st = ST_OK when
 * found. `st` may be NULL. */
const char *http_req_query(struct http_req *req, const char *key, status *st);
/* The whole query string parsed with the form rules (form_parse), once per
 * request: the layer's tenant selection and the handler share the parse,
 * and a failure is kept and reported again. ST_OK with *out in req->arena;
 * ST_INVALID, ST_TOO_LARGE or ST_NOMEM with the reason in `e` (may be
 * NULL). */
status http_req_query_form(struct http_req *req, const struct form **out, struct err *e);

/* Deferred responses: a handler that would otherwise block its thread
 * while something slow happens elsewhere (the token endpoint while its
 * transaction is committed) calls http_defer() and returns without a
 * response (what it wrote into `resp` is dropped). The connection is then
 * suspended: its thread serves other connections. Any thread later calls
 * http_resume() exactly once, after http_defer() - possibly before the
 * handler has returned (then the connection may not be suspended at all).
 * The layer then calls `cont(ctx, req, resp, arg)` on the connection's
 * own server thread; it fills `resp` as a handler would (it may block
 * briefly, like a handler) and the response is queued as usual: access
 * log, timings and trace id are the request's.
 *
 * `cont` is always called exactly once, also when the client is gone or
 * the server stops (the response is then dropped), so it is the place to
 * release what the request holds. The request (req, its arena) stays
 * valid until `cont` returns. http_server_stop() waits for every deferred
 * request to be resumed, so what resumes them must keep running until
 * then (the store closes after the server). Call http_defer() at most
 * once per request, only from its handler. */
void http_defer(struct http_req *req, http_cont cont, void *arg);
void http_resume(struct http_req *req);
/* Without a server (unit tests of handlers): when the handler deferred,
 * waits for http_resume() and runs the continuation into `resp`. Nothing
 * otherwise. */
void http_req_finish_deferred(void *ctx, struct http_req *req, struct http_resp *resp);

#define HTTP_MAX_RESP_HEADERS 12
/* Upper bound of a response body built by a handler. */
#define HTTP_RESP_BODY_MAX (16u * 1024u * 1024u)

struct http_resp {
	int status;               /* default 200 */
	const char *content_type; /* default "application/json" */
	struct buf body;
	struct {
		const char *name, *value; /* static or in req->arena */
	} headers[HTTP_MAX_RESP_HEADERS];
	size_t nheaders;
	/* Set by handlers for the access log (e.g. the client id); never secrets. */
	const char *log_note;
};

/* An empty 200 response with the body capped at HTTP_RESP_BODY_MAX. */
void http_resp_init(struct http_resp *r);

/* Sets a response header, replacing one of the same name (case-insensitive).
 * Name and value must outlive the request (static or in req->arena). A full
 * table drops the header and logs an error (a bug). */
void http_resp_header(struct http_resp *r, const char *name, const char *value);

/* Error bodies; both replace resp->body and set the status.
 * The admin/general shape is {"code","message","description","traceId"}:
 * `code` NULL means "HTTP-<status>" (the layer's own errors use that form,
 * e.g. "HTTP-404"), message is the status's reason phrase ("Not Found"),
 * description may be NULL (then it is the message). The OAuth shape
 * (RFC 6749 §5.2) is {"error","error_description"} (description omitted when
 * NULL) with Cache-Control: no-store and Pragma: no-cache. */
void http_resp_error(struct http_resp *r, const struct http_req *req, int status, const char *code,
		     const char *description);
void http_resp_oauth_error(struct http_resp *r, int status, const char *error,
			   const char *description);
/* The reason phrase of a status code ("Not Found"); "Unknown" otherwise. */
const char *http_status_text(int status);

typedef void (*http_handler)(void *ctx, struct http_req *req, struct http_resp *resp);

enum http_route_flags {
	HTTP_ROUTE_OAUTH_ERRORS = 1 << 0, /* layer errors use the OAuth shape */
	HTTP_ROUTE_TENANT_QUERY = 1 << 1, /* ?tenantDomain= selects the tenant */
	HTTP_ROUTE_NO_TENANT = 1 << 2,    /* global path (healthz, metrics) */
	HTTP_ROUTE_PREFIX = 1 << 3,       /* pattern matches as a path prefix */
};

struct http_route {
	unsigned methods;    /* mask of enum http_method */
	const char *pattern; /* "/api/server/v1/identity-providers/{id}" */
	http_handler handler;
	unsigned flags;
	size_t max_body; /* bytes; 0 = no body accepted (413 if sent) */
};

#endif
