/* server.c - libmicrohttpd wiring: listeners, the per-request state machine,
 * layer errors, the access log and graceful stop (see server.h).
 *
 * Request lifecycle, as MHD drives it:
 *   on_uri()     request line received: allocate the request state inside
 *                its own arena, keep the raw URI, count it in flight;
 *   on_access()  1st call (headers complete): validate, route, check sizes;
 *                a layer error is queued here, before any body is read;
 *                next calls: accumulate the body (bounded by max_body);
 *                last call: resolve the tenant, run the handler, queue;
 *                or, when the handler deferred (http_defer), suspend the
 *                connection; MHD calls again once http_resume() resumed
 *                it: run the continuation, queue;
 *   on_done()    request finished or aborted: access log, free the arena,
 *                uncount (and wake http_server_stop() when it waits).
 * MHD calls on_done() for every request it gave to on_uri(). */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http/form.h"
#include "http/router.h"
#include "lib/crypto.h"
#include "lib/limits.h"
#include "lib/metrics.h"
#include "lib/net.h"
#include "lib/log.h"

#define MAX_LISTENERS (2 * CONFIG_MAX_LIST)
/* A body over its route's limit is read and dropped, up to this many bytes
 * past the limit, before the 413 is sent: a client still uploading when the
 * server closes would get a TCP reset that destroys the response. Past it
 * the connection is closed. */
#define DISCARD_MAX (16u * 1024u * 1024u)
/* Worker threads per listener when `[server] threads = 0`. */
#define THREADS_PER_CPU 2
#define THREADS_MIN     4
#define THREADS_MAX     256
/* Status classes of the latency histograms: 2xx, 3xx, 4xx, 5xx. */
#define HTTP_MX_CLASSES 4
/* Slow clients (docs/security.md, "Slow clients"): per-address connection
 * counters (an address hashes to one of these; a rare collision only makes
 * two addresses share a budget), the reserve's threshold, and how often the
 * sweeper looks for connections past their deadline. */
#define ADDR_BUCKETS   4096u /* a power of two */
#define RESERVE_FEW    4
#define SWEEP_EVERY_MS 500
#define NO_DEADLINE    INT64_MAX

/* One open connection, from MHD's STARTED to its CLOSED notification. The
 * deadline is set by the connection's own thread and read by the sweeper. */
struct conntrack {
	struct conntrack *prev, *next; /* under conn_mu */
	int fd;
	uint32_t bucket;
	_Atomic int64_t deadline; /* CLOCK_MONOTONIC ms; NO_DEADLINE */
	atomic_bool in_body;      /* which deadline: the head's or the body's */
};

struct listener {
	struct MHD_Daemon *d;
	bool tls;
	int port;
	char url[INET6_ADDRSTRLEN + 24];
};

struct http_server {
	const struct config *cfg;
	struct http_route *routes; /* opts->routes + the built-in ones */
	size_t nroutes;
	/* Latency by endpoint and status class: [series][class], one series
	 * per distinct pattern (series_of[route]) and one for requests no
	 * route matched (series nroutes). */
	struct mx_hist (*hist)[HTTP_MX_CLASSES];
	size_t *series_of;
	void (*metrics)(void *ctx, struct mx_out *o);
	/* /healthz: opts->health, its last result and when it was taken
	 * (monotonic ms, 0 = never); `health_running` is true while one
	 * thread calls it, the others answer with the last result. */
	status (*health)(void *ctx, struct err *e);
	pthread_mutex_t health_mu;
	pthread_cond_t health_cv;
	bool health_running;
	/* Also read without the lock, on the fast path. */
	atomic_int health_st;
	atomic_llong health_at;
	int64_t started; /* unix seconds */
	void *ctx;
	status (*tenant_resolve)(void *ctx, struct arena *a, const char *domain,
				 const char **tenant_id);
	char *cert, *key;
	struct listener ls[MAX_LISTENERS];
	size_t nls;

	atomic_long inflight;
	atomic_long deferred;            /* http_defer() called, http_resume() not yet */
	struct http_transport transport; /* for http_resume(): this server */

	/* Slow clients: every open connection, its address's count, the
	 * sweeper that closes connections past their deadline. */
	pthread_mutex_t conn_mu; /* the list; taken at connect, close, sweep */
	pthread_cond_t sweep_cv;
	struct conntrack conns; /* sentinel */
	bool sweep_stop, sweeper_running;
	pthread_t sweeper;
	uint64_t addr_seed;
	atomic_int addr_count[ADDR_BUCKETS];
	atomic_long nconns;
	mx_counter refused_per_address, refused_reserve, closed_head, closed_body;
	atomic_bool stopping;
	atomic_bool serving; /* start finished: MHD messages are client noise */
	pthread_mutex_t mu;  /* only for the stop wait, never per request */
	pthread_cond_t cv;
};

/* PH_DISCARD: an error is decided but the client is still sending its body;
 * it is read and dropped, then `deferred` is sent. */
enum phase { PH_HEADERS = 0, PH_BODY, PH_DISCARD, PH_DEFERRED, PH_DONE };

struct reqctx {
	struct arena arena; /* owns this struct too */
	struct http_server *srv;
	struct http_req req;
	const struct http_route *route;
	char *raw_uri;   /* NULL when over the limits */
	bool valid_path; /* full_path may be logged */
	enum phase phase;
	char *body;
	size_t body_len, body_cap, max_body;
	bool body_too_large;
	/* The body announced by the head: chunked, or `declared` bytes. */
	bool chunked, expect_continue;
	uint64_t declared;
	size_t discarded;
	struct http_resp deferred; /* PH_DISCARD */
	struct timespec t0;
	int status; /* 0 until a response is queued */
	size_t resp_bytes;
	const char *log_note;
	struct conntrack *ct; /* NULL when the connection is not tracked */
};

/* ---------------------------------------------------------------- helpers */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The counter bucket of a client address: IPv4 (also IPv4-mapped IPv6) by
 * the whole address, IPv6 by its /64 (one host usually holds a whole /64),
 * hashed under a random seed so that nobody can pick colliding addresses. */
static uint32_t addr_bucket(const struct http_server *s, const struct sockaddr *sa)
{
	unsigned char src[NET_SOURCE_MAX];

	return (uint32_t)hash64_keyed(s->addr_seed, src, net_source(sa, src)) & (ADDR_BUCKETS - 1);
}

static struct conntrack *conntrack_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    c != NULL ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
	return ci != NULL ? ci->socket_context : NULL;
}

/* `seconds` after `now` (CLOCK_MONOTONIC ms); seconds 0: no deadline. The
 * request path passes times it already has, so no clock is read for it. */
static void deadline_set(struct conntrack *ct, bool body, int64_t now, int64_t seconds)
{
	if (ct == NULL)
		return;
	atomic_store_explicit(&ct->in_body, body, memory_order_relaxed);
	atomic_store_explicit(&ct->deadline, seconds > 0 ? now + seconds * 1000 : NO_DEADLINE,
			      memory_order_relaxed);
}

static int64_t ts_ms(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static bool starts_with_cstr(struct sv s, const char *prefix)
{
	return sv_starts_with(s, sv_from(prefix));
}

static char *lower_dup(struct arena *a, struct sv s)
{
	char *p = arena_sv(a, s);
	if (p != NULL)
		for (size_t i = 0; i < s.n; i++)
			if (p[i] >= 'A' && p[i] <= 'Z')
				p[i] = (char)(p[i] - 'A' + 'a');
	return p;
}

static long elapsed_us(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000000L + (t.tv_nsec - t0->tv_nsec) / 1000L;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/* While starting, MHD explains bind and TLS failures; once serving,
	 * its messages are about misbehaving clients and stay at debug. */
	if (atomic_load(&s->serving))
		log_debug("mhd: %s", line);
	else
		log_warn("mhd: %s", line);
}

/* ------------------------------------------------------------ transport */

static void transport_wake(void *conn)
{
	MHD_resume_connection(conn);
}

static void transport_deferred(void *server)
{
	struct http_server *s = server;
	atomic_fetch_add(&s->deferred, 1);
}

static void transport_resumed(void *server)
{
	struct http_server *s = server;

	if (atomic_fetch_sub(&s->deferred, 1) == 1 && atomic_load(&s->stopping)) {
		pthread_mutex_lock(&s->mu);
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

static bool has_header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Builds the MHD response; NULL when a handler header is invalid or on OOM
 * (resp->body is consumed either way). */
static struct MHD_Response *build_response(struct reqctx *rc, struct http_resp *resp)
{
	const char *ctype = resp->content_type ? resp->content_type : "application/json";
	size_t len = resp->body.n;
	char *data = buf_steal(&resp->body);
	struct MHD_Response *r;

	if (data == NULL)
		return NULL;
	r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(data);
		return NULL;
	}
	rc->resp_bytes = len;
	/* 204 and 304 carry no content, hence no type. */
	if (resp->status != 204 && resp->status != 304 &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES)
		goto bad;
	for (size_t i = 0; i < resp->nheaders; i++)
		if (MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value) !=
		    MHD_YES)
			goto bad;
	if (!has_header(resp, "X-Content-Type-Options") &&
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES)
		goto bad;
	if (strncmp(ctype, "application/json", 16) == 0 && !has_header(resp, "Cache-Control") &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES)
		goto bad;
	if (atomic_load(&rc->srv->stopping) &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		goto bad;
	return r;
bad:
	log_error("http: invalid response header (or out of memory) from the handler of %s "
		  "(trace %s)",
		  rc->route ? rc->route->pattern : "-", rc->req.trace_id);
	MHD_destroy_response(r);
	return NULL;
}

static enum MHD_Result queue(struct reqctx *rc, struct MHD_Connection *c, struct http_resp *resp)
{
	struct MHD_Response *r = build_response(rc, resp);
	enum MHD_Result q;

	rc->phase = PH_DONE;
	rc->log_note = resp->log_note;
	if (r == NULL) {
		/* Fall back to a bare 500 the layer knows to be well formed. */
		struct http_resp fb;
		http_resp_init(&fb);
		http_resp_error(&fb, &rc->req, 500, NULL, NULL);
		resp->status = 500;
		r = build_response(rc, &fb);
		buf_free(&fb.body);
		if (r == NULL)
			return MHD_NO;
	}
	q = MHD_queue_response(c, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	if (q == MHD_YES)
		rc->status = resp->status;
	return q;
}

/* Queues what a handler or a continuation wrote into `resp`, and frees it. */
static enum MHD_Result respond(struct reqctx *rc, struct MHD_Connection *c, struct http_resp *resp)
{
	enum MHD_Result q;

	if (resp->status < 100 || resp->status > 599) {
		log_error("http: handler of %s returned status %d (trace %s)", rc->route->pattern,
			  resp->status, rc->req.trace_id);
		http_resp_error(resp, &rc->req, 500, NULL, NULL);
	}
	q = queue(rc, c, resp);
	buf_free(&resp->body);
	return q;
}

/* Runs the continuation of a resumed request. `c` NULL: the connection is
 * gone, the response is dropped. */
static enum MHD_Result run_cont(struct http_server *s, struct reqctx *rc, struct MHD_Connection *c)
{
	struct http_req *req = &rc->req;
	http_cont cont = req->defer_cont;
	struct http_resp resp;

	req->defer_cont = NULL;
	http_resp_init(&resp);
	cont(s->ctx, req, &resp, req->defer_arg);
	if (c == NULL) {
		buf_free(&resp.body);
		return MHD_NO;
	}
	return respond(rc, c, &resp);
}

/* Whether the layer answers in the OAuth shape: the route says so or, with
 * no route, the path is under /oauth2/. */
static bool oauth_shape(const struct reqctx *rc)
{
	if (rc->route != NULL)
		return (rc->route->flags & HTTP_ROUTE_OAUTH_ERRORS) != 0;
	return starts_with_cstr(rc->req.path, "/oauth2/");
}

/* Whether an early error should wait for the body: one is coming, the
 * client did not ask for 100 Continue first (it sends nothing until it gets
 * an answer then), and its size is within what we are willing to drop. */
static bool can_defer(const struct reqctx *rc)
{
	if (rc->expect_continue || (!rc->chunked && rc->declared == 0))
		return false;
	return rc->chunked || rc->declared <= rc->max_body ||
	       rc->declared - rc->max_body <= DISCARD_MAX;
}

/* Queues a layer error. `oauth_error` is used in the OAuth shape (NULL:
 * invalid_request, or server_error for 5xx). An error decided on the
 * request head while a body is on its way waits until the body has been
 * read and dropped (see DISCARD_MAX). */
/* fail() with one extra response header (`hname` NULL: none). */
static enum MHD_Result fail_with(struct reqctx *rc, struct MHD_Connection *c, int code,
				 const char *oauth_error, const char *description,
				 const char *hname, const char *hvalue)
{
	struct http_resp resp;
	enum MHD_Result q;

	http_resp_init(&resp);
	if (oauth_shape(rc)) {
		if (oauth_error == NULL)
			oauth_error = code >= 500 ? "server_error" : "invalid_request";
		http_resp_oauth_error(&resp, code, oauth_error, description);
	} else {
		http_resp_error(&resp, &rc->req, code, NULL, description);
	}
	if (hname != NULL)
		http_resp_header(&resp, hname, hvalue);
	if (rc->phase == PH_HEADERS && can_defer(rc)) {
		rc->deferred = resp;
		rc->phase = PH_DISCARD;
		return MHD_YES;
	}
	q = queue(rc, c, &resp);
	buf_free(&resp.body);
	return q;
}

static enum MHD_Result fail(struct reqctx *rc, struct MHD_Connection *c, int code,
			    const char *oauth_error, const char *description, const char *allow)
{
	return fail_with(rc, c, code, oauth_error, description, allow != NULL ? "Allow" : NULL,
			 allow);
}

/* Drops upload data; false once more than DISCARD_MAX bytes were dropped
 * past the route's limit (the connection is then closed). */
static bool discard(struct reqctx *rc, size_t *n)
{
	rc->discarded += *n;
	*n = 0;
	return !(rc->discarded > rc->max_body && rc->discarded - rc->max_body > DISCARD_MAX);
}

/* ---------------------------------------------------------- built-ins */

/* The request's server: the handler gets only the request. */
static struct http_server *server_of(struct http_req *req)
{
	return ((struct reqctx *)(void *)((char *)req - offsetof(struct reqctx, req)))->srv;
}

static int64_t health_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The result of opts->health, at most HTTP_HEALTH_CACHE_MS old. While one
 * thread checks, the others take the previous result rather than queue up
 * behind a database that is slow to answer (the first ever check is waited
 * for: there is nothing to answer with before it). */
static status health_check(struct http_server *s)
{
	struct err e = {0};
	int64_t now = health_now_ms(), at = atomic_load(&s->health_at);
	status st;

	/* At /healthz rates (tens of thousands a second) a fresh result is
	 * read without the lock. */
	if (at != 0 && now - at < HTTP_HEALTH_CACHE_MS)
		return (status)atomic_load(&s->health_st);
	pthread_mutex_lock(&s->health_mu);
	while (s->health_running && atomic_load(&s->health_at) == 0)
		pthread_cond_wait(&s->health_cv, &s->health_mu);
	at = atomic_load(&s->health_at);
	if (s->health_running || (at != 0 && now - at < HTTP_HEALTH_CACHE_MS)) {
		st = (status)atomic_load(&s->health_st);
		pthread_mutex_unlock(&s->health_mu);
		return st;
	}
	s->health_running = true;
	pthread_mutex_unlock(&s->health_mu);
	st = s->health(s->ctx, &e);
	if (st != ST_OK)
		log_warn("healthz: the database does not answer: %s",
			 e.msg[0] ? e.msg : status_name(st));
	pthread_mutex_lock(&s->health_mu);
	s->health_running = false;
	atomic_store(&s->health_st, (int)st);
	atomic_store(&s->health_at, (long long)health_now_ms());
	pthread_cond_broadcast(&s->health_cv);
	pthread_mutex_unlock(&s->health_mu);
	return st;
}

static void healthz(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct http_server *s = server_of(req);
	const char *body = "{\"status\":\"ok\"}";

	(void)ctx;
	if (s->health != NULL) {
		if (health_check(s) == ST_OK) {
			body = "{\"status\":\"ok\",\"database\":\"ok\"}";
		} else {
			resp->status = 503;
			body = "{\"status\":\"unavailable\",\"database\":\"unreachable\"}";
		}
	}
	if (buf_append_cstr(&resp->body, body) != ST_OK)
		resp->status = 500;
}

static void render_http(const struct http_server *s, struct mx_out *o)
{
	static const char *const classes[HTTP_MX_CLASSES] = {"2xx", "3xx", "4xx", "5xx"};
	const char *const bi[] = {"version", GRANTD_VERSION};
	char lb[192];

	mx_family(o, "grantd_build_info", "gauge", "grantd's version (always 1).");
	mx_sample(o, "grantd_build_info", mx_labels(lb, sizeof lb, 1, bi), 1);
	mx_family(o, "grantd_start_time_seconds", "gauge", "When the server started (unix time).");
	mx_sample(o, "grantd_start_time_seconds", NULL, (uint64_t)s->started);
	mx_family(o, "grantd_http_connections", "gauge", "Open client connections.");
	mx_sample(o, "grantd_http_connections", NULL,
		  (uint64_t)atomic_load_explicit(&s->nconns, memory_order_relaxed));
	mx_family(o, "grantd_http_connections_refused_total", "counter",
		  "Connections closed at accept: the address holds max_connections_per_address, "
		  "or the reserve is reached and the address holds several.");
	{
		const char *a[] = {"reason", "per_address"}, *b[] = {"reason", "reserve"};
		mx_sample(o, "grantd_http_connections_refused_total",
			  mx_labels(lb, sizeof lb, 1, a), mx_get(&s->refused_per_address));
		mx_sample(o, "grantd_http_connections_refused_total",
			  mx_labels(lb, sizeof lb, 1, b), mx_get(&s->refused_reserve));
	}
	mx_family(o, "grantd_http_deadline_closed_total", "counter",
		  "Connections closed because a request head (header_timeout) or body "
		  "(body_timeout) was not complete in time.");
	{
		const char *a[] = {"phase", "head"}, *b[] = {"phase", "body"};
		mx_sample(o, "grantd_http_deadline_closed_total", mx_labels(lb, sizeof lb, 1, a),
			  mx_get(&s->closed_head));
		mx_sample(o, "grantd_http_deadline_closed_total", mx_labels(lb, sizeof lb, 1, b),
			  mx_get(&s->closed_body));
	}
	mx_family(o, "grantd_http_request_duration_seconds", "histogram",
		  "Time from a request's first byte to its last response byte, by endpoint (the "
		  "route's pattern) and status class.");
	for (size_t r = 0; r <= s->nroutes; r++) {
		if (r < s->nroutes && s->series_of[r] != r)
			continue; /* a pattern shared with an earlier route */
		for (size_t k = 0; k < HTTP_MX_CLASSES; k++) {
			const char *kv[] = {"endpoint",
					    r < s->nroutes ? s->routes[r].pattern : "(unmatched)",
					    "code", classes[k]};
			if (mx_get(&s->hist[r][k].count) == 0)
				continue;
			mx_histogram(o, "grantd_http_request_duration_seconds",
				     mx_labels(lb, sizeof lb, 2, kv), &s->hist[r][k]);
		}
	}
}

static void metrics(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct http_server *s = server_of(req);
	struct mx_out o = {&resp->body, ST_OK};

	render_http(s, &o);
	if (s->metrics != NULL)
		s->metrics(ctx, &o);
	if (o.st != ST_OK) {
		http_resp_error(resp, req, 500, NULL, "out of memory");
		return;
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	http_resp_header(resp, "Cache-Control", "no-store");
}

static const struct http_route builtin_routes[] = {
    {HTTP_GET, "/healthz", healthz, HTTP_ROUTE_NO_TENANT, 0},
    {HTTP_GET, "/metrics", metrics, HTTP_ROUTE_NO_TENANT, 0},
};

/* ---------------------------------------------------------- request path */

static void fill_peer(struct reqctx *rc, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char addr[INET6_ADDRSTRLEN] = "-";

	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr,
				  sizeof addr);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr,
				  sizeof addr);
	}
	rc->req.remote_addr = arena_strdup(&rc->arena, addr);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_server *s = cls;
	struct arena a;
	struct reqctx *rc;
	size_t n = strlen(uri);

	arena_init(&a, HTTP_ARENA_MAX);
	rc = arena_alloc(&a, sizeof *rc);
	if (rc == NULL) {
		arena_free(&a);
		return NULL;
	}
	rc->arena = a;
	rc->srv = s;
	clock_gettime(CLOCK_MONOTONIC, &rc->t0);
	if (n <= LIMIT_HTTP_PATH + 1 + LIMIT_HTTP_QUERY)
		rc->raw_uri = arena_strndup(&rc->arena, uri, n);
	fill_peer(rc, c);
	rc->ct = conntrack_of(c);
	atomic_fetch_add(&s->inflight, 1);
	return rc;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct reqctx *rc = *con_cls;
	struct arena a;
	long us;

	(void)toe;
	if (rc == NULL) {
		deadline_set(conntrack_of(c), false, mono_ms(), s->cfg->server.header_timeout);
		return;
	}
	us = elapsed_us(&rc->t0);
	/* The next request's head is due within header_timeout. */
	deadline_set(rc->ct, false, ts_ms(&rc->t0) + us / 1000, s->cfg->server.header_timeout);
	if (rc->req.defer_cont != NULL) {
		int st = __atomic_load_n(&rc->req.defer_state, __ATOMIC_ACQUIRE);
		if (st != HTTP_DEFER_EARLY && st != HTTP_DEFER_RESUMED) {
			/* Cannot happen (a suspended connection is never closed, and
			 * http_server_stop waits for every resume): whoever resumes
			 * still uses the request, so its memory is left alone. */
			log_error("http: deferred request ended before it was resumed (trace %s)",
				  rc->req.trace_id);
			*con_cls = NULL;
			return;
		}
		/* Resumed, but the connection went away first: the continuation
		 * still releases what the request holds. */
		(void)run_cont(s, rc, NULL);
	}
	*con_cls = NULL;
	if (rc->status >= 200 && rc->status < 600) {
		size_t r = rc->route != NULL ? s->series_of[rc->route - s->routes] : s->nroutes;
		mx_observe_us(&s->hist[r][rc->status / 100 - 2], (uint64_t)(us > 0 ? us : 0));
	}
	/* Status 0: grantd sent no response (MHD refused the request itself,
	 * the client went away or timed out). The query is never logged. */
	if (s->cfg->server.access_log) {
		struct sv path = rc->valid_path ? rc->req.full_path : SV("(invalid)");
		log_info("access %s %s %.*s %d %zu %ldus tenant=%s trace=%s%s%s",
			 rc->req.remote_addr ? rc->req.remote_addr : "-",
			 rc->req.method_name ? rc->req.method_name : "-", (int)path.n, path.p,
			 rc->status, rc->resp_bytes, us, rc->req.tenant ? rc->req.tenant : "-",
			 rc->req.trace_id[0] ? rc->req.trace_id : "-", rc->log_note ? " note=" : "",
			 rc->log_note ? rc->log_note : "");
	}
	buf_free(&rc->deferred.body); /* a connection lost while discarding */
	/* The state lives in its own arena: free from a copy of the handle. */
	a = rc->arena;
	arena_free(&a);
	if (atomic_fetch_sub(&s->inflight, 1) == 1 && atomic_load(&s->stopping)) {
		pthread_mutex_lock(&s->mu);
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

/* The header block: its size as it arrived, and how many headers. */
struct header_sum {
	size_t bytes, n;
};

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct header_sum *h = cls;
	(void)kind;
	h->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
	h->n++;
	return MHD_YES;
}

/* Copies the header handles into the request's list (MHD keeps the
 * strings until the request completes). */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct http_req *req = cls;
	struct http_header *h = (struct http_header *)req->headers;
	(void)kind;
	h[req->nheaders].name = key;
	h[req->nheaders].value = value ? value : "";
	req->nheaders++;
	return MHD_YES;
}

/* The request's header list, collected once for http_req_header(). */
static bool collect_headers(struct reqctx *rc, struct MHD_Connection *c, size_t n)
{
	struct http_header *h = n ? arena_alloc(&rc->arena, n * sizeof *h) : NULL;

	if (n != 0 && h == NULL)
		return false;
	rc->req.headers = h;
	rc->req.nheaders = 0;
	if (n != 0)
		MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &rc->req);
	return rc->req.nheaders == n;
}

static enum MHD_Result tenant_fail(struct reqctx *rc, struct MHD_Connection *c)
{
	if (oauth_shape(rc))
		return fail(rc, c, 400, "invalid_request", "unknown tenant", NULL);
	return fail(rc, c, 404, NULL, "tenant not found", NULL);
}

static bool expects_continue(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	return v != NULL && strcasecmp(v, "100-continue") == 0;
}

/* First call: everything that can be decided from the request head. */
static enum MHD_Result begin(struct http_server *s, struct reqctx *rc, struct MHD_Connection *c,
			     const char *method, const char *version)
{
	struct http_req *req = &rc->req;
	unsigned char rnd[16];
	struct err e = {0};
	struct sv raw, rawpath, query, tenant, rest;
	struct router_match m;
	struct header_sum hdr = {0};
	const char *cl, *te;
	int64_t len;
	bool bad_tenant;
	status st;

	req->arena = &rc->arena;
	req->transport = &s->transport;
	req->transport_conn = c;
	/* The head is here (on_uri() saw its first line); the body is due
	 * within body_timeout. */
	deadline_set(rc->ct, true, ts_ms(&rc->t0), s->cfg->server.body_timeout);
	req->method = router_method(method);
	req->method_name = arena_strndup(&rc->arena, method, strnlen(method, 16));
	req->path = SV("/");
	if (rand_bytes(rnd, sizeof rnd) != ST_OK)
		return fail(rc, c, 500, NULL, NULL, NULL);
	hex_encode(rnd, sizeof rnd, req->trace_id);

	/* What body is coming decides how errors are sent (can_defer). MHD
	 * has already refused a malformed Content-Length; with chunked
	 * transfer coding it ignores Content-Length, and so do we. */
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	rc->chunked = te != NULL;
	if (!rc->chunked && cl != NULL) {
		if (sv_to_i64(sv_from(cl), &len) != ST_OK || len < 0)
			return fail(rc, c, 400, NULL, "bad Content-Length", NULL);
		rc->declared = (uint64_t)len;
	}
	rc->expect_continue = expects_continue(c);

	if (req->method_name == NULL || req->remote_addr == NULL)
		return fail(rc, c, 500, NULL, NULL, NULL);

	/* The header block's size, counted the way it arrived, so the limit
	 * is exact whatever MHD's memory pool happened to allow. */
	MHD_get_connection_values(c, MHD_HEADER_KIND, sum_header, &hdr);
	hdr.bytes += strlen(method) + strlen(version) + 4 + (rc->raw_uri ? strlen(rc->raw_uri) : 0);
	if (hdr.bytes > (size_t)s->cfg->server.max_header_size)
		return fail(rc, c, 431, NULL, "request headers too large", NULL);
	if (!collect_headers(rc, c, hdr.n))
		return fail(rc, c, 500, NULL, NULL, NULL);

	if (rc->raw_uri == NULL)
		return fail(rc, c, 414, NULL, "request target too long", NULL);
	raw = sv_from(rc->raw_uri);
	query = sv_cut(raw, '?', &rawpath);
	req->query = query.p ? query : SV("");
	if (query.n > LIMIT_HTTP_QUERY)
		return fail(rc, c, 414, NULL, "query string too long", NULL);
	st = router_path_decode(&rc->arena, rawpath, &req->path, &e);
	if (st == ST_TOO_LARGE)
		return fail(rc, c, 414, NULL, "path too long", NULL);
	if (st == ST_NOMEM)
		return fail(rc, c, 500, NULL, NULL, NULL);
	if (st != ST_OK)
		return fail(rc, c, 400, NULL, "malformed request path", NULL);
	req->full_path = rawpath;
	rc->valid_path = true;

	/* A tenant name no tenant can have is an unknown tenant, answered in
	 * the shape of the route it addressed; "/t/" alone addresses nothing. */
	st = router_split_tenant(req->path, &tenant, &rest);
	if (rest.p == NULL)
		return fail(rc, c, 404, NULL, "no such resource", NULL);
	bad_tenant = st != ST_OK;
	req->path = rest;
	if (tenant.p != NULL && (req->tenant = lower_dup(&rc->arena, tenant)) == NULL)
		return fail(rc, c, 500, NULL, NULL, NULL);
	req->tenant_explicit = bad_tenant || tenant.p != NULL;

	switch (router_match(s->routes, s->nroutes, req->method, req->path,
			     req->tenant_explicit ? HTTP_ROUTE_NO_TENANT : 0, &m)) {
	case ROUTER_NOT_FOUND: return fail(rc, c, 404, NULL, "no such resource", NULL);
	case ROUTER_METHOD_NOT_ALLOWED: {
		const char *allow = router_allow(&rc->arena, m.allowed);
		if (allow == NULL)
			return fail(rc, c, 500, NULL, NULL, NULL);
		return fail(rc, c, 405, NULL, "method not allowed", allow);
	}
	case ROUTER_FOUND: break;
	}
	rc->route = m.route;
	if (bad_tenant)
		return tenant_fail(rc, c);
	memcpy(req->params, m.params, sizeof req->params);
	req->nparams = m.nparams;
	rc->max_body = m.route->max_body;
	/* The body comes on top of the per-request working space; a chunked
	 * body grows by doubling, so it may take twice its size. */
	rc->arena.max = rc->max_body <= (SIZE_MAX - HTTP_ARENA_MAX) / 2
			    ? HTTP_ARENA_MAX + 2 * rc->max_body
			    : SIZE_MAX;

	if (rc->declared > rc->max_body)
		return fail(rc, c, 413, NULL,
			    rc->max_body == 0 ? "this endpoint takes no request body"
					      : "request body too large",
			    NULL);
	if (rc->declared > 0) {
		rc->body = arena_alloc(&rc->arena, (size_t)rc->declared + 1);
		if (rc->body == NULL)
			return fail(rc, c, 500, NULL, NULL, NULL);
		rc->body_cap = (size_t)rc->declared;
	}
	rc->phase = PH_BODY;
	return MHD_YES;
}

static enum MHD_Result accumulate(struct reqctx *rc, const char *data, size_t *n)
{
	size_t len = *n;

	*n = 0;
	if (!rc->body_too_large && len > rc->max_body - rc->body_len) {
		rc->body_too_large = true;
		rc->discarded = rc->body_len;
	}
	if (rc->body_too_large) {
		*n = len;
		return discard(rc, n) ? MHD_YES : MHD_NO;
	}
	if (len > rc->body_cap - rc->body_len) {
		size_t cap = rc->body_cap ? 2 * rc->body_cap : 4096;
		char *nb;
		if (cap < rc->body_len + len)
			cap = rc->body_len + len;
		if (cap > rc->max_body)
			cap = rc->max_body;
		nb = arena_alloc(&rc->arena, cap + 1);
		if (nb == NULL)
			return MHD_NO;
		if (rc->body_len)
			memcpy(nb, rc->body, rc->body_len);
		rc->body = nb;
		rc->body_cap = cap;
	}
	memcpy(rc->body + rc->body_len, data, len);
	rc->body_len += len;
	return MHD_YES;
}

/* Chooses and resolves the tenant of a routed request. */
static enum MHD_Result resolve_tenant(struct http_server *s, struct reqctx *rc,
				      struct MHD_Connection *c, bool *ok)
{
	struct http_req *req = &rc->req;
	status st;

	*ok = false;
	if (rc->route->flags & HTTP_ROUTE_TENANT_QUERY) {
		const char *q = http_req_query(req, "tenantDomain", &st);
		if (st == ST_CONFLICT)
			return fail(rc, c, 400, NULL, "repeated parameter tenantDomain", NULL);
		if (st != ST_OK && st != ST_NOT_FOUND)
			return fail(rc, c, 400, NULL, "malformed query string", NULL);
		if (q != NULL) {
			struct sv qd = sv_from(q);
			char *lower;
			if (!router_tenant_valid(qd))
				return tenant_fail(rc, c);
			if ((lower = lower_dup(&rc->arena, qd)) == NULL)
				return fail(rc, c, 500, NULL, NULL, NULL);
			if (req->tenant_explicit && strcmp(lower, req->tenant) != 0)
				return fail(rc, c, 400, NULL,
					    "tenant in the path and tenantDomain differ", NULL);
			req->tenant = lower;
			req->tenant_explicit = true;
		}
	}
	if (req->tenant == NULL) {
		req->tenant = s->cfg->tenant.default_domain;
		if (req->tenant == NULL)
			return fail(rc, c, 500, NULL, NULL, NULL);
	}
	st = s->tenant_resolve(s->ctx, &rc->arena, req->tenant, &req->tenant_id);
	if (st == ST_NOT_FOUND)
		return tenant_fail(rc, c);
	if (st == ST_UNAVAILABLE) {
		/* The database is down and the tenant is not cached: what the
		 * handlers answer then (docs/api/openapi.yaml), the reason in the
		 * store's log. */
		log_warn("http: resolving tenant %s: the database is unavailable (trace %s)",
			 req->tenant, req->trace_id);
		return fail_with(rc, c, 503, "temporarily_unavailable",
				 "the database is unavailable; retry later", "Retry-After", "1");
	}
	if (st != ST_OK || req->tenant_id == NULL) {
		log_error("http: resolving tenant %s failed: %s (trace %s)", req->tenant,
			  status_name(st), req->trace_id);
		return fail(rc, c, 500, NULL, NULL, NULL);
	}
	*ok = true;
	return MHD_YES;
}

/* The handler deferred its response: suspend the connection until
 * http_resume(), unless that already happened. */
static enum MHD_Result suspend(struct http_server *s, struct reqctx *rc, struct MHD_Connection *c)
{
	int st = HTTP_DEFER_PENDING;

	rc->phase = PH_DEFERRED;
	if (__atomic_load_n(&rc->req.defer_state, __ATOMIC_ACQUIRE) == HTTP_DEFER_EARLY)
		return run_cont(s, rc, c);
	MHD_suspend_connection(c);
	if (!__atomic_compare_exchange_n(&rc->req.defer_state, &st, HTTP_DEFER_SUSPENDED, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		/* http_resume() came between the check and the suspension (EARLY)
		 * and left the resuming to us; MHD calls on_access() again. */
		MHD_resume_connection(c);
	return MHD_YES;
}

/* Last call: the whole request is here. */
static enum MHD_Result finish(struct http_server *s, struct reqctx *rc, struct MHD_Connection *c)
{
	struct http_req *req = &rc->req;
	struct http_resp resp;
	enum MHD_Result q;

	/* Handled, perhaps deferred for a commit: no deadline until answered. */
	deadline_set(rc->ct, false, 0, 0);
	if (rc->body_too_large)
		return fail(rc, c, 413, NULL,
			    rc->max_body == 0 ? "this endpoint takes no request body"
					      : "request body too large",
			    NULL);
	if (rc->body != NULL)
		rc->body[rc->body_len] = '\0';
	req->body = rc->body ? (struct sv){rc->body, rc->body_len} : SV("");
	if (!(rc->route->flags & HTTP_ROUTE_NO_TENANT)) {
		bool ok;
		q = resolve_tenant(s, rc, c, &ok);
		if (!ok)
			return q;
	}
	http_resp_init(&resp);
	rc->route->handler(s->ctx, req, &resp);
	if (__atomic_load_n(&req->defer_state, __ATOMIC_ACQUIRE) != HTTP_DEFER_NONE) {
		buf_free(&resp.body);
		return suspend(s, rc, c);
	}
	return respond(rc, c, &resp);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct reqctx *rc = *con_cls;
	enum MHD_Result q;

	(void)url; /* MHD's decoded copy; the layer works on the raw URI */
	if (rc == NULL)
		return MHD_NO; /* on_uri() ran out of memory: drop the connection */
	/* Body data after body_timeout: the sweeper would close the connection
	 * at its next pass; a trickling client is closed at once. */
	if ((rc->phase == PH_BODY || rc->phase == PH_DISCARD) && *upload_data_size != 0 &&
	    rc->ct != NULL && atomic_load_explicit(&rc->ct->in_body, memory_order_relaxed) &&
	    mono_ms() >= atomic_load_explicit(&rc->ct->deadline, memory_order_relaxed)) {
		mx_add(&s->closed_body, 1);
		return MHD_NO;
	}
	switch (rc->phase) {
	case PH_HEADERS: return begin(s, rc, c, method, version);
	case PH_BODY:
		if (*upload_data_size != 0)
			return accumulate(rc, upload_data, upload_data_size);
		return finish(s, rc, c);
	case PH_DISCARD:
		if (*upload_data_size != 0)
			return discard(rc, upload_data_size) ? MHD_YES : MHD_NO;
		q = queue(rc, c, &rc->deferred);
		buf_free(&rc->deferred.body);
		return q;
	case PH_DEFERRED: {
		int st = __atomic_load_n(&rc->req.defer_state, __ATOMIC_ACQUIRE);
		*upload_data_size = 0;
		if (rc->req.defer_cont != NULL &&
		    (st == HTTP_DEFER_EARLY || st == HTTP_DEFER_RESUMED))
			return run_cont(s, rc, c);
		return MHD_YES; /* not resumed yet */
	}
	case PH_DONE: break;
	}
	*upload_data_size = 0;
	return MHD_YES;
}

/* ------------------------------------------------------------- listeners */

struct bind_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} u;
	bool v6;
};

static bool parse_addr(const char *text, int port, struct bind_addr *b)
{
	memset(b, 0, sizeof *b);
	if (inet_pton(AF_INET, text, &b->u.v4.sin_addr) == 1) {
		b->u.v4.sin_family = AF_INET;
		b->u.v4.sin_port = htons((uint16_t)port);
		return true;
	}
	if (inet_pton(AF_INET6, text, &b->u.v6.sin6_addr) == 1) {
		b->u.v6.sin6_family = AF_INET6;
		b->u.v6.sin6_port = htons((uint16_t)port);
		b->v6 = true;
		return true;
	}
	return false;
}

/* Refuses new connections once the server is stopping (they are accepted
 * and closed at once); in-flight ones finish. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *s = cls;
	const struct config *cfg = s->cfg;
	int held;

	(void)addrlen;
	/* Nothing is accepted before opts->bound has run (or after stop). */
	if (!atomic_load_explicit(&s->serving, memory_order_acquire) ||
	    atomic_load_explicit(&s->stopping, memory_order_relaxed))
		return MHD_NO;
	/* Counted at STARTED, checked here: concurrent accepts may overshoot
	 * by a few, but a count is never left behind by a connection MHD
	 * dropped between the two. */
	held = atomic_load_explicit(&s->addr_count[addr_bucket(s, addr)], memory_order_relaxed);
	if (held >= cfg->server.max_connections_per_address) {
		mx_add(&s->refused_per_address, 1);
		return MHD_NO;
	}
	/* The last eighth of max_connections is kept for addresses that hold
	 * few connections: whoever has many cannot take the server from the
	 * others (or from /healthz). */
	if (held >= RESERVE_FEW &&
	    atomic_load_explicit(&s->nconns, memory_order_relaxed) >=
		cfg->server.max_connections - cfg->server.max_connections / 8) {
		mx_add(&s->refused_reserve, 1);
		return MHD_NO;
	}
	return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	struct conntrack *ct;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		*socket_context = NULL;
		if (fd == NULL || (ct = calloc(1, sizeof *ct)) == NULL)
			return; /* not tracked: no per-address count, no deadline */
		ct->fd = fd->connect_fd;
		ct->bucket = addr_bucket(s, ad != NULL ? ad->client_addr : NULL);
		deadline_set(ct, false, mono_ms(), s->cfg->server.header_timeout);
		atomic_fetch_add(&s->addr_count[ct->bucket], 1);
		atomic_fetch_add(&s->nconns, 1);
		pthread_mutex_lock(&s->conn_mu);
		ct->next = s->conns.next;
		ct->prev = &s->conns;
		s->conns.next->prev = ct;
		s->conns.next = ct;
		pthread_mutex_unlock(&s->conn_mu);
		*socket_context = ct;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED: before MHD closes the socket, so the
	 * sweeper, which shuts sockets down under conn_mu, never touches a
	 * descriptor that was closed and reused. */
	if ((ct = *socket_context) == NULL)
		return;
	*socket_context = NULL;
	pthread_mutex_lock(&s->conn_mu);
	ct->prev->next = ct->next;
	ct->next->prev = ct->prev;
	pthread_mutex_unlock(&s->conn_mu);
	atomic_fetch_sub(&s->addr_count[ct->bucket], 1);
	atomic_fetch_sub(&s->nconns, 1);
	free(ct);
}

/* Closes connections past their deadline: a head not complete within
 * header_timeout of the connection (or of the previous response), a body
 * not complete within body_timeout of its head. shutdown() makes MHD see
 * the end of the connection and close it itself. */
static void *sweeper_main(void *arg)
{
	struct http_server *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->conn_mu);
	while (!s->sweep_stop) {
		int64_t now = mono_ms();
		for (struct conntrack *ct = s->conns.next; ct != &s->conns; ct = ct->next) {
			if (atomic_load_explicit(&ct->deadline, memory_order_relaxed) > now)
				continue;
			atomic_store_explicit(&ct->deadline, NO_DEADLINE, memory_order_relaxed);
			mx_add(atomic_load_explicit(&ct->in_body, memory_order_relaxed)
				   ? &s->closed_body
				   : &s->closed_head,
			       1);
			shutdown(ct->fd, SHUT_RDWR);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SWEEP_EVERY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->sweep_cv, &s->conn_mu, &ts);
	}
	pthread_mutex_unlock(&s->conn_mu);
	return NULL;
}

static struct MHD_Daemon *start_daemon(struct http_server *s, const struct bind_addr *b,
				       uint16_t port, bool tls, unsigned threads)
{
	const struct config *cfg = s->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opt[16];
	size_t n = 0;
	/* Room for the request head (exactly limited in begin()), the response
	 * head and a read buffer for the body. */
	size_t pool = (size_t)cfg->server.max_header_size + 16384;

	if (tls)
		flags |= MHD_USE_TLS;
	if (b->v6)
		flags |= MHD_USE_IPv6;
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
					   (intptr_t)cfg->server.max_connections, NULL};
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
					   (intptr_t)cfg->server.connection_timeout, NULL};
	opt[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool, NULL};
	if (threads > 1) /* MHD warns about a pool of one */
		opt[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
	/* Refuse HTTP/1.1 without Host and whitespace inside the URI or in
	 * header names: the ambiguities request smuggling feeds on. */
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)&b->u.sa};
	if (tls) {
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
		opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						   (void *)HTTP_TLS_PRIORITIES};
	}
	opt[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	/* The port is in the address; MHD uses the argument in its messages. */
	return MHD_start_daemon(
	    flags, port, on_accept, s, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_ARRAY, opt, MHD_OPTION_END);
}

/* Starts the listeners of one kind on every bind address. */
static status start_kind(struct http_server *s, bool tls, int port, unsigned threads, struct err *e)
{
	const struct config *cfg = s->cfg;
	const char *scheme = tls ? "https" : "http";
	size_t before = s->nls;

	for (size_t i = 0; i < cfg->server.bind.n; i++) {
		const char *text = cfg->server.bind.v[i];
		struct bind_addr b;
		struct listener *l;
		const union MHD_DaemonInfo *di;

		if (!parse_addr(text, port, &b)) {
			if (cfg->server.bind_is_default) {
				log_warn("http: skipping bind address %s: not a numeric address",
					 text);
				continue;
			}
			return err_set(e, ST_INVALID, "server.bind: %s is not an IPv4/IPv6 address",
				       text);
		}
		if (s->nls == MAX_LISTENERS)
			return err_set(e, ST_INVALID, "too many listeners");
		l = &s->ls[s->nls];
		l->d = start_daemon(s, &b, (uint16_t)port, tls, threads);
		if (l->d == NULL) {
			if (cfg->server.bind_is_default) {
				log_warn(
				    "http: skipping %s listener on %s port %d: cannot start it",
				    scheme, text, port);
				continue;
			}
			return err_set(
			    e, ST_IO,
			    "cannot start the %s listener on %s port %d (address in use, "
			    "or TLS setup failed: see the mhd messages)",
			    scheme, text, port);
		}
		l->tls = tls;
		di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
		l->port = di ? di->port : port;
		/* Port 0: the others of this kind share the port first obtained. */
		if (port == 0)
			port = l->port;
		snprintf(l->url, sizeof l->url, b.v6 ? "%s://[%s]:%d" : "%s://%s:%d", scheme, text,
			 l->port);
		s->nls++;
	}
	if (s->nls == before)
		return err_set(e, ST_IO, "no %s listener could be started (server.bind)", scheme);
	return ST_OK;
}

static void stop_daemons(struct http_server *s)
{
	for (size_t i = 0; i < s->nls; i++) {
		MHD_stop_daemon(s->ls[i].d);
	}
	s->nls = 0;
}

static void server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	stop_daemons(s); /* closes every connection: the list empties */
	if (s->sweeper_running) {
		pthread_mutex_lock(&s->conn_mu);
		s->sweep_stop = true;
		pthread_cond_signal(&s->sweep_cv);
		pthread_mutex_unlock(&s->conn_mu);
		pthread_join(s->sweeper, NULL);
	}
	pthread_cond_destroy(&s->sweep_cv);
	pthread_mutex_destroy(&s->conn_mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->health_cv);
	pthread_mutex_destroy(&s->health_mu);
	if (s->key != NULL)
		mem_wipe(s->key, strlen(s->key));
	free(s->key);
	free(s->cert);
	free(s->routes);
	free(s->hist);
	free(s->series_of);
	free(s);
}

status http_server_start(const struct http_server_opts *o, struct http_server **out, struct err *e)
{
	const struct config *cfg = o->cfg;
	struct http_server *s = NULL;
	pthread_condattr_t ca;
	size_t nb = sizeof builtin_routes / sizeof builtin_routes[0];
	unsigned threads;
	status st;

	*out = NULL;
	if (cfg == NULL || o->tenant_resolve == NULL || o->cert_pem == NULL || o->key_pem == NULL ||
	    (o->routes == NULL && o->nroutes > 0))
		return err_set(e, ST_INVALID, "http server: missing options");
	if (cfg->server.port < 0 || cfg->server.port > 65535 || cfg->server.http_port < 0 ||
	    cfg->server.http_port > 65535 || cfg->server.max_header_size <= 0 ||
	    cfg->server.max_connections <= 0 || cfg->server.connection_timeout < 0 ||
	    cfg->server.threads < 0 || cfg->server.threads > 1024 ||
	    cfg->server.max_connections_per_address <= 0 || cfg->server.header_timeout < 0 ||
	    cfg->server.body_timeout < 0)
		return err_set(e, ST_INVALID, "http server: server settings out of range");

	s = calloc(1, sizeof *s);
	if (s == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->conn_mu, NULL);
	pthread_mutex_init(&s->health_mu, NULL);
	pthread_cond_init(&s->health_cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_cond_init(&s->sweep_cv, &ca);
	pthread_condattr_destroy(&ca);
	s->conns.next = s->conns.prev = &s->conns;
	s->transport = (struct http_transport){.wake = transport_wake,
					       .resumed = transport_resumed,
					       .deferred = transport_deferred,
					       .server = s};
	s->cfg = cfg;
	s->ctx = o->ctx;
	s->tenant_resolve = o->tenant_resolve;
	s->cert = str_dup_sv(sv_from(o->cert_pem));
	s->key = str_dup_sv(sv_from(o->key_pem));
	/* Application routes first: on equal patterns the earlier wins, so an
	 * application may deliberately replace a built-in. */
	s->routes = calloc(o->nroutes + nb, sizeof *s->routes);
	if (s->cert == NULL || s->key == NULL || s->routes == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if (o->nroutes > 0)
		memcpy(s->routes, o->routes, o->nroutes * sizeof *s->routes);
	memcpy(s->routes + o->nroutes, builtin_routes, sizeof builtin_routes);
	s->nroutes = o->nroutes + nb;
	if (!cfg->metrics.enabled)
		s->nroutes--; /* /metrics is the last built-in */
	s->hist = calloc(s->nroutes + 1, sizeof *s->hist);
	s->series_of = calloc(s->nroutes, sizeof *s->series_of);
	if (s->hist == NULL || s->series_of == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->nroutes; i++) {
		s->series_of[i] = i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->routes[j].pattern, s->routes[i].pattern) == 0) {
				s->series_of[i] = j;
				break;
			}
	}
	s->metrics = o->metrics;
	s->health = o->health;
	s->started = (int64_t)time(NULL);

	threads = (unsigned)cfg->server.threads;
	if (threads == 0) {
		/* A token request does not hold its worker while its
		 * transaction is committed (http_defer), so a few workers per
		 * CPU suffice; more than one leaves room for the rare handler
		 * that blocks (an admin write waits for its commit, a JWKS
		 * fetch) without stalling every connection of a CPU. */
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = THREADS_PER_CPU * (ncpu > 0 ? (unsigned)ncpu : 1);
		if (threads < THREADS_MIN)
			threads = THREADS_MIN;
		if (threads > THREADS_MAX)
			threads = THREADS_MAX;
	}
	if (rand_bytes((unsigned char *)&s->addr_seed, sizeof s->addr_seed) != ST_OK) {
		st = err_set(e, ST_INTERNAL, "no random bytes for the address seed");
		goto out;
	}
	{
		sigset_t all, old;
		int rc;
		/* Signals belong to the threads that handle them. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&s->sweeper, NULL, sweeper_main, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			st =
			    err_set(e, ST_INTERNAL, "cannot start the connection sweeper (%d)", rc);
			goto out;
		}
		s->sweeper_running = true;
	}
	if ((st = start_kind(s, true, (int)cfg->server.port, threads, e)) != ST_OK)
		goto out;
	if (cfg->server.http_port != 0 &&
	    (st = start_kind(s, false, (int)cfg->server.http_port, threads, e)) != ST_OK)
		goto out;
	/* The bound ports are known: the application finishes what depends on
	 * them (its public base URL) before the first connection is taken. */
	if (o->bound != NULL)
		o->bound(o->ctx, http_server_port(s, true));
	atomic_store_explicit(&s->serving, true, memory_order_release);
	for (size_t i = 0; i < s->nls; i++)
		log_info("listening %s", s->ls[i].url);
	*out = s;
	s = NULL;
	st = ST_OK;
out:
	server_free(s);
	return st;
}

int http_server_port(const struct http_server *s, bool tls)
{
	for (size_t i = 0; s != NULL && i < s->nls; i++)
		if (s->ls[i].tls == tls)
			return s->ls[i].port;
	return 0;
}

void http_server_stop(struct http_server *s)
{
	struct timespec deadline;
	long left;

	if (s == NULL)
		return;
	/* From now on on_accept() closes new connections at once. Not
	 * MHD_quiesce_daemon(): in libmicrohttpd 0.9.75 it races a worker that
	 * drops the listen socket from its epoll set by itself, and aborts
	 * ("Failed to remove listen FD from epoll set"). */
	atomic_store(&s->stopping, true);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec +=
	    s->cfg->server.shutdown_timeout > 0 ? s->cfg->server.shutdown_timeout : 0;
	pthread_mutex_lock(&s->mu);
	while (atomic_load(&s->inflight) > 0)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT)
			break;
	/* A suspended connection must not outlive its daemon, and whoever
	 * resumes a deferred request still uses it: wait for every resume,
	 * past the timeout if need be (the store's writer, which resumes the
	 * token requests, runs until the store closes after this). */
	if ((left = atomic_load(&s->deferred)) > 0 && atomic_load(&s->inflight) > 0)
		log_warn("http: waiting for %ld deferred request(s) to be resumed", left);
	while (atomic_load(&s->deferred) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += 1;
		(void)pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
	}
	pthread_mutex_unlock(&s->mu);
	if ((left = atomic_load(&s->inflight)) > 0)
		log_warn("http: stopping with %ld request(s) still in flight", left);
	server_free(s);
}
