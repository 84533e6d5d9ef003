/* server.h - the libmicrohttpd listeners of grantd.
 *
 * One MHD daemon per bind address for HTTPS on cfg->server.port and, when
 * cfg->server.http_port != 0, one per bind address for plain HTTP. Each
 * daemon runs an internal epoll thread pool (cfg->server.threads, 0 = online
 * CPUs); max_connections applies per listener.
 *
 * For every request the layer: validates the path and query (400/414),
 * strips "/t/{tenant}", matches a route (404, 405 + Allow), checks the
 * headers' size (431) and the body against the route's max_body (413, before
 * reading it when Content-Length says so, while accumulating otherwise),
 * resolves the tenant through opts->tenant_resolve (unknown: 404, or 400
 * invalid_request on HTTP_ROUTE_OAUTH_ERRORS routes), then calls the handler
 * once with the whole request. Malformed requests never reach a handler.
 * GET /healthz (with opts->health: the database's state too, see below) and GET /metrics
 * (Prometheus text) are built in. One access-log line per request (no query, no headers, no bodies)
 * when cfg->server.access_log is set. */
#ifndef GRANTD_HTTP_SERVER_H
#define GRANTD_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "http/http.h"
#include "lib/arena.h"
#include "lib/err.h"
#include "lib/metrics.h"

/* Cap of one request's arena beyond its body (which is added on top). */
#define HTTP_ARENA_MAX (4u * 1024u * 1024u)

/* TLS 1.2 and 1.3 only; AEAD ciphers (AES-GCM, ChaCha20-Poly1305) with
 * ECDHE key exchange only; GnuTLS's SECURE128 signature and group set. */
#define HTTP_TLS_PRIORITIES                                                                        \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"     \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

struct http_server;

struct http_server_opts {
	const struct config *cfg;        /* borrowed; must outlive the server */
	const char *cert_pem, *key_pem;  /* TLS identity (PEM text); copied */
	const struct http_route *routes; /* borrowed; must outlive the server */
	size_t nroutes;
	void *ctx; /* passed to every handler and to tenant_resolve */
	/* Resolves a tenant domain (lower case, valid) to its id, allocated in
	 * `a`; ST_NOT_FOUND for an unknown or deactivated tenant; ST_UNAVAILABLE
	 * (the database cannot be reached) is a 503 with Retry-After: 1 (on
	 * HTTP_ROUTE_OAUTH_ERRORS routes temporarily_unavailable); any other
	 * failure is a 500. Called on every request that needs a tenant, from
	 * the server's threads concurrently (the app caches). Required. */
	status (*tenant_resolve)(void *ctx, struct arena *a, const char *domain,
				 const char **tenant_id);
	/* GET /metrics (when cfg->metrics.enabled): after the layer's own
	 * families (build info, start time, request latency by endpoint and
	 * status class), appends the application's. Optional. */
	void (*metrics)(void *ctx, struct mx_out *o);
	/* Called once by http_server_start() when every listener is bound,
	 * with the HTTPS port obtained (the configured one, or the ephemeral
	 * one for port 0), before any connection is accepted: what depends on
	 * the port is set before a handler can read it. Optional. */
	void (*bound)(void *ctx, int https_port);
	/* GET /healthz: ST_OK when what the server depends on (the database)
	 * answers, anything else when not (the reason in `e` is logged, never
	 * sent). /healthz then answers 200 {"status":"ok","database":"ok"} or
	 * 503 {"status":"unavailable","database":"unreachable"}; without it,
	 * 200 {"status":"ok"}. Its result is reused for
	 * HTTP_HEALTH_CACHE_MS, and one call at a time runs, so a flood of
	 * /healthz requests costs one check a second. Optional. */
	status (*health)(void *ctx, struct err *e);
};

/* How long one opts->health result answers /healthz. */
#define HTTP_HEALTH_CACHE_MS 1000

/* Binds every listener and starts serving. A bind address that cannot be
 * used is skipped with a warning when cfg->server.bind_is_default, else it
 * is an error; no usable address at all is an error. Port 0 is ephemeral:
 * all listeners of one kind share the port the first one obtained. Logs
 * "listening https://ADDR:PORT" (and http://) once per listener.
 * On failure returns ST_INVALID (bad options, bad address) or ST_IO (bind,
 * TLS) with the reason in `e`, and *out is NULL. */
status http_server_start(const struct http_server_opts *o, struct http_server **out, struct err *e);

/* Actual bound port of the first HTTPS (tls) or plain-HTTP listener; 0 when
 * there is none. */
int http_server_port(const struct http_server *s, bool tls);

/* Stops accepting, lets in-flight requests finish (bounded by
 * cfg->server.shutdown_timeout seconds), stops the daemons and frees the
 * server. Responses sent while stopping carry "Connection: close". NULL is a
 * no-op. */
void http_server_stop(struct http_server *s);

#endif
