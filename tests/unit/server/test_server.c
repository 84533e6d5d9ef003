/* test_server.c - the server in process: real listeners on loopback, real
 * TLS (the generated identity), requests with libcurl. Nothing waits on
 * time: synchronisation is by condition variables and joins. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "server_tests.h"

#include "http/http.h"
#include "server/server.h"
#include "server/tls.h"
#include "lib/log.h"

/* ------------------------------------------------------------ fixture */

struct fixture {
	char dir[64];
	struct config cfg;
	char bind0[32], bind1[32], tenant[32], ddir[64];
	char *cert, *key;
	struct http_server *srv;
	int https_port, http_port;
	int bound_port, bound_calls; /* from opts.bound */
	status health;               /* what opts.health answers (health fixture) */
	int health_calls;
};

/* A point a server thread passes only once the test opens it. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, released;
};
#define GATE_INIT                                                                                  \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false                  \
	}

/* Says it arrived, then waits until the gate is open. */
static void gate_pass(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->released)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

/* Waits until a thread is at the gate. */
static void gate_await(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->released = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* A handler that blocks until the test releases it. */
static struct gate gate = GATE_INIT;

static status resolve(void *ctx, struct arena *a, const char *domain, const char **id)
{
	(void)ctx;
	if (strcmp(domain, "carbon.super") == 0 || strcmp(domain, "acme") == 0) {
		*id = arena_printf(a, "id-%s", domain);
		return *id ? ST_OK : ST_NOMEM;
	}
	if (strcmp(domain, "boom") == 0)
		return ST_IO;
	if (strcmp(domain, "down") == 0)
		return ST_UNAVAILABLE; /* the database cannot be reached */
	return ST_NOT_FOUND;
}

/* opts.bound: the port obtained, before any connection is accepted. */
static void on_bound(void *ctx, int https_port)
{
	struct fixture *f = ctx;
	f->bound_port = https_port;
	f->bound_calls++;
}

static void echo(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct buf *b = &resp->body;
	status st;
	const char *q = http_req_query(req, "q", &st);
	const char *xt = http_req_header(req, "X-Test");
	(void)ctx;

	buf_append_cstr(b, "{\"method\":");
	buf_json_str(b, sv_from(req->method_name));
	buf_append_cstr(b, ",\"path\":");
	buf_json_str(b, req->path);
	buf_append_cstr(b, ",\"fullPath\":");
	buf_json_str(b, req->full_path);
	buf_append_cstr(b, ",\"tenant\":");
	buf_json_str(b, sv_from(req->tenant ? req->tenant : "-"));
	buf_append_cstr(b, ",\"tenantId\":");
	buf_json_str(b, sv_from(req->tenant_id ? req->tenant_id : "-"));
	buf_printf(b, ",\"explicit\":%s,\"params\":[", req->tenant_explicit ? "true" : "false");
	for (size_t i = 0; i < req->nparams; i++) {
		if (i)
			buf_putc(b, ',');
		buf_json_str(b, req->params[i]);
	}
	buf_append_cstr(b, "],\"body\":");
	buf_json_str(b, req->body);
	buf_append_cstr(b, ",\"q\":");
	buf_json_str(b, sv_from(q ? q : "-"));
	buf_printf(b, ",\"qst\":%d,\"xtest\":", (int)st);
	buf_json_str(b, sv_from(xt ? xt : "-"));
	buf_append_cstr(b, ",\"remote\":");
	buf_json_str(b, sv_from(req->remote_addr));
	buf_append_cstr(b, "}");
	resp->log_note = "client=echo";
}

static void bad_header(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	http_resp_header(resp, "X-Evil", "a\r\nSet-Cookie: x=1");
	buf_append_cstr(&resp->body, "{}");
}

static void text(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	resp->status = 201;
	resp->content_type = "text/plain; charset=utf-8";
	http_resp_header(resp, "Location", "/text/1");
	buf_append_cstr(&resp->body, "made");
}

static void no_content(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	resp->status = 204;
}

static void blocker(void *ctx, struct http_req *req, struct http_resp *resp)
{
	(void)ctx;
	(void)req;
	gate_pass(&gate);
	buf_append_cstr(&resp->body, "{\"done\":true}");
}

/* Deferred responses: /defer/{mode} defers and gets resumed by the handler
 * itself before returning ("early"), by another thread at once ("race":
 * before or after the suspension, whichever comes first), a little later
 * ("later"), or once the test opens `defer_gate` ("gate"). */
static struct gate defer_gate = GATE_INIT;
static int cont_calls; /* atomic */

struct resumer {
	struct http_req *req;
	char mode[8];
};

static void *resume_thread(void *p)
{
	struct resumer *r = p;

	if (strcmp(r->mode, "later") == 0)
		usleep(2000);
	if (strcmp(r->mode, "gate") == 0)
		gate_pass(&defer_gate);
	http_resume(r->req);
	return NULL;
}

static void deferred_cont(void *ctx, struct http_req *req, struct http_resp *resp, void *arg)
{
	struct resumer *r = arg;

	(void)ctx;
	__atomic_add_fetch(&cont_calls, 1, __ATOMIC_RELAXED);
	buf_printf(&resp->body, "{\"resumed\":\"%s\"}", r->mode);
	resp->status = 202;
	resp->log_note = arena_printf(req->arena, "deferred=%s", r->mode);
}

static void deferring(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct resumer *r = arena_alloc(req->arena, sizeof *r);
	pthread_t th;

	(void)ctx;
	assert_non_null(r);
	r->req = req;
	snprintf(r->mode, sizeof r->mode, "%.*s", (int)req->params[0].n, req->params[0].p);
	buf_append_cstr(&resp->body, "dropped"); /* a deferring handler's response is dropped */
	http_defer(req, deferred_cont, r);
	if (strcmp(r->mode, "early") == 0) {
		http_resume(req);
		return;
	}
	assert_int_equal(pthread_create(&th, NULL, resume_thread, r), 0);
	pthread_detach(th);
}

static const struct http_route test_routes[] = {
    {HTTP_GET, "/defer/{mode}", deferring, 0, 0},
    {HTTP_GET | HTTP_POST, "/echo/{a}/{b}", echo, 0, 64},
    {HTTP_GET, "/echo", echo, 0, 0},
    {HTTP_POST, "/oauth2/token", echo, HTTP_ROUTE_OAUTH_ERRORS | HTTP_ROUTE_TENANT_QUERY, 1024},
    {HTTP_GET, "/global", echo, HTTP_ROUTE_NO_TENANT, 0},
    {HTTP_GET, "/bad-header", bad_header, 0, 0},
    {HTTP_POST, "/text", text, 0, 16},
    {HTTP_DELETE, "/text", no_content, 0, 0},
    {HTTP_GET, "/block", blocker, 0, 0},
};

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void fixture_cfg(struct fixture *f)
{
	struct config *c = &f->cfg;

	memset(c, 0, sizeof *c);
	snprintf(f->bind0, sizeof f->bind0, "127.0.0.1");
	snprintf(f->bind1, sizeof f->bind1, "::1");
	snprintf(f->tenant, sizeof f->tenant, "carbon.super");
	c->server.hostname = "localhost";
	c->server.bind.v[0] = f->bind0;
	c->server.bind.v[1] = f->bind1;
	c->server.bind.n = 2;
	c->server.bind_is_default = true; /* ::1 may be missing: then skipped */
	c->server.port = 0;
	c->server.http_port = free_port();
	c->server.data_dir = f->dir;
	c->server.threads = 2;
	c->server.max_connections = 64;
	c->server.connection_timeout = 30;
	c->server.max_connections_per_address = 64;
	c->server.header_timeout = 30;
	c->server.body_timeout = 30;
	c->server.max_header_size = 8192;
	c->server.max_body_size = 1024 * 1024;
	c->server.shutdown_timeout = 60;
	c->server.access_log = true;
	c->tenant.default_domain = f->tenant;
}

/* opts.health: a database that does not answer, with a reason that must
 * stay in the log. */
static status fake_health(void *ctx, struct err *e)
{
	struct fixture *f = ctx;

	f->health_calls++;
	if (f->health != ST_OK)
		return err_set(e, f->health, "db.internal:5432: connection refused");
	return ST_OK;
}

static int fixture_start_with(void **state, bool health)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = {0};
	struct http_server_opts o = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/grantd-http-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	fixture_cfg(f);
	if (tls_load_or_generate(&f->cfg, &f->cert, &f->key, &e) != ST_OK) {
		fprintf(stderr, "tls: %s\n", e.msg);
		return -1;
	}
	o.cfg = &f->cfg;
	o.cert_pem = f->cert;
	o.key_pem = f->key;
	o.routes = test_routes;
	o.nroutes = sizeof test_routes / sizeof test_routes[0];
	o.tenant_resolve = resolve;
	o.ctx = f;
	o.bound = on_bound;
	if (health) {
		o.health = fake_health;
		f->health = ST_IO;
	}
	if (http_server_start(&o, &f->srv, &e) != ST_OK) {
		fprintf(stderr, "start: %s\n", e.msg);
		return -1;
	}
	f->https_port = http_server_port(f->srv, true);
	f->http_port = http_server_port(f->srv, false);
	*state = f;
	return 0;
}

static int fixture_start(void **state)
{
	return fixture_start_with(state, false);
}

static int fixture_start_health(void **state)
{
	return fixture_start_with(state, true);
}

static int fixture_stop(void **state)
{
	struct fixture *f = *state;
	char p[128];

	http_server_stop(f->srv);
	free(f->cert);
	free(f->key);
	snprintf(p, sizeof p, "%s/tls/cert.pem", f->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/tls/key.pem", f->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/tls", f->dir);
	rmdir(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ client */

struct reply {
	long code;
	struct buf body;
	struct buf head;
	json_t *json;
};

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
	return buf_append(&((struct reply *)u)->body, p, sz * n) == ST_OK ? sz * n : 0;
}

static size_t on_head(char *p, size_t sz, size_t n, void *u)
{
	return buf_append(&((struct reply *)u)->head, p, sz * n) == ST_OK ? sz * n : 0;
}

struct reqopt {
	const char *method;
	const char *body;
	long bodylen; /* 0: strlen(body) */
	const char *const *headers;
	bool chunked;
	bool plain; /* the plain-HTTP listener */
};

static void request(struct fixture *f, const char *path, const struct reqopt *ro, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct curl_blob ca = {f->cert, strlen(f->cert), CURL_BLOB_COPY};
	char url[8192];
	CURLcode rc;

	memset(r, 0, sizeof *r);
	assert_non_null(c);
	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", ro && ro->plain ? "http" : "https",
		 ro && ro->plain ? f->http_port : f->https_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (ro && ro->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, ro->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 ro->bodylen > 0 ? ro->bodylen : (long)strlen(ro->body));
	}
	if (ro && ro->method) {
		if (strcmp(ro->method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		else
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, ro->method);
	}
	/* No Expect: 100-continue unless a test asks for it. */
	if (!(ro && ro->headers && strncasecmp(ro->headers[0], "Expect:", 7) == 0))
		hl = curl_slist_append(hl, "Expect:");
	if (ro && ro->chunked)
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	for (size_t i = 0; ro && ro->headers && ro->headers[i]; i++)
		hl = curl_slist_append(hl, ro->headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("curl %s: %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (r->body.n > 0)
		r->json = json_loadb(r->body.p, r->body.n, 0, NULL);
}

static void reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->head);
	json_decref(r->json);
}

/* A response header's value (first occurrence), "" when absent. */
static const char *header(struct reply *r, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	const char *p = r->head.p;

	out[0] = '\0';
	while (p != NULL && *p) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(eol - v), v);
			return out;
		}
		p = eol + 2;
	}
	return out;
}

static const char *jstr(const struct reply *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));
	return s ? s : "(missing)";
}

/* General error shape with the given status. */
static void assert_general_error(struct reply *r, long code)
{
	char want[16], h[128];
	const char *trace;

	assert_int_equal(r->code, code);
	assert_non_null(r->json);
	snprintf(want, sizeof want, "HTTP-%ld", code);
	assert_string_equal(jstr(r, "code"), want);
	assert_true(json_is_string(json_object_get(r->json, "message")));
	assert_true(json_is_string(json_object_get(r->json, "description")));
	trace = jstr(r, "traceId");
	assert_int_equal(strlen(trace), 32);
	assert_int_equal(strspn(trace, "0123456789abcdef"), 32);
	assert_string_equal(header(r, "Content-Type", h, sizeof h), "application/json");
	assert_string_equal(header(r, "Cache-Control", h, sizeof h), "no-store");
	assert_string_equal(header(r, "X-Content-Type-Options", h, sizeof h), "nosniff");
}

static void assert_oauth_error(struct reply *r, long code, const char *error)
{
	char h[128];

	assert_int_equal(r->code, code);
	assert_non_null(r->json);
	assert_string_equal(jstr(r, "error"), error);
	assert_true(json_is_string(json_object_get(r->json, "error_description")));
	assert_null(json_object_get(r->json, "code"));
	assert_string_equal(header(r, "Cache-Control", h, sizeof h), "no-store");
	assert_string_equal(header(r, "Pragma", h, sizeof h), "no-cache");
}

/* -------------------------------------------------------------- tests */

static void server_healthz(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	struct reqopt head = {.method = "HEAD"}, plain = {.plain = true};
	char h[128];

	assert_true(f->https_port > 0);
	assert_true(f->http_port > 0);
	/* The ephemeral port was told once, before start returned. */
	assert_int_equal(f->bound_calls, 1);
	assert_int_equal(f->bound_port, f->https_port);
	request(f, "/healthz", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(r.json);
	assert_string_equal(jstr(&r, "status"), "ok");
	assert_int_equal(json_object_size(r.json), 1);
	assert_string_equal(header(&r, "Content-Type", h, sizeof h), "application/json");
	assert_string_equal(header(&r, "Cache-Control", h, sizeof h), "no-store");
	assert_string_equal(header(&r, "X-Content-Type-Options", h, sizeof h), "nosniff");
	assert_string_equal(header(&r, "Server", h, sizeof h), "");
	reply_free(&r);

	request(f, "/healthz", &head, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.body.n, 0);
	reply_free(&r);

	request(f, "/healthz", &plain, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "status"), "ok");
	reply_free(&r);

	/* global routes do not exist inside a tenant */
	request(f, "/t/acme/healthz", NULL, &r);
	assert_general_error(&r, 404);
	reply_free(&r);
}

/* With opts.health failing: 503 {"status":"unavailable","database":
 * "unreachable"}, the reason not in the body. */
static void server_healthz_database_down(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	struct reqopt plain = {.plain = true};
	char h[128];

	request(f, "/healthz", &plain, &r);
	assert_int_equal(r.code, 503);
	assert_non_null(r.json);
	assert_string_equal(jstr(&r, "status"), "unavailable");
	assert_string_equal(jstr(&r, "database"), "unreachable");
	assert_int_equal(json_object_size(r.json), 2);
	assert_null(memmem(r.body.p, r.body.n, "5432", 4));
	assert_string_equal(header(&r, "Cache-Control", h, sizeof h), "no-store");
	reply_free(&r);
	assert_true(f->health_calls >= 1);
}

static void server_not_found_and_method(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	struct reqopt del = {.method = "DELETE"}, brew = {.method = "BREW"};
	char h[128];

	request(f, "/nope", NULL, &r);
	assert_general_error(&r, 404);
	reply_free(&r);

	/* under /oauth2/ the layer speaks OAuth */
	request(f, "/oauth2/nope", NULL, &r);
	assert_oauth_error(&r, 404, "invalid_request");
	reply_free(&r);

	request(f, "/oauth2/token", NULL, &r);
	assert_oauth_error(&r, 405, "invalid_request");
	assert_string_equal(header(&r, "Allow", h, sizeof h), "POST");
	reply_free(&r);

	request(f, "/echo/a/b", &del, &r);
	assert_general_error(&r, 405);
	assert_string_equal(header(&r, "Allow", h, sizeof h), "GET, HEAD, POST");
	reply_free(&r);

	request(f, "/echo", &brew, &r);
	assert_general_error(&r, 405);
	reply_free(&r);
}

static void server_bad_paths(void **state)
{
	static const char *bad[] = {"/echo/../echo", "/echo/./x/y",    "//echo",
				    "/echo/a%2Fb/c", "/echo/%2e%2e/x", "/echo/a%00/b",
				    "/echo/a%zz/b"};
	struct fixture *f = *state;
	struct reply r;
	char longq[LIMIT_HTTP_QUERY + 64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		request(f, bad[i], NULL, &r);
		assert_general_error(&r, 400);
		reply_free(&r);
	}
	request(f, "/t/", NULL, &r);
	assert_general_error(&r, 404);
	reply_free(&r);

	memcpy(longq, "/echo?q=", 8);
	memset(longq + 8, 'a', sizeof longq - 9);
	longq[sizeof longq - 1] = '\0';
	request(f, longq, NULL, &r);
	assert_general_error(&r, 414);
	reply_free(&r);
}

static void server_echo_and_tenants(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	const char *xh[] = {"X-Test: hello", NULL};
	struct reqopt post = {.body = "a=1&b=2", .headers = xh};
	char h[64];
	json_t *params;

	request(f, "/echo/x%20y/2", &post, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "method"), "POST");
	assert_string_equal(jstr(&r, "path"), "/echo/x y/2");
	assert_string_equal(jstr(&r, "fullPath"), "/echo/x%20y/2");
	assert_string_equal(jstr(&r, "tenant"), "carbon.super");
	assert_string_equal(jstr(&r, "tenantId"), "id-carbon.super");
	assert_true(json_is_false(json_object_get(r.json, "explicit")));
	params = json_object_get(r.json, "params");
	assert_int_equal(json_array_size(params), 2);
	assert_string_equal(json_string_value(json_array_get(params, 0)), "x y");
	assert_string_equal(json_string_value(json_array_get(params, 1)), "2");
	assert_string_equal(jstr(&r, "body"), "a=1&b=2");
	assert_string_equal(jstr(&r, "xtest"), "hello");
	assert_string_equal(jstr(&r, "remote"), "127.0.0.1");
	reply_free(&r);

	/* tenant prefix, case folded */
	request(f, "/t/ACME/echo/p/q", &post, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "tenant"), "acme");
	assert_string_equal(jstr(&r, "tenantId"), "id-acme");
	assert_string_equal(jstr(&r, "path"), "/echo/p/q");
	assert_string_equal(jstr(&r, "fullPath"), "/t/ACME/echo/p/q");
	assert_true(json_is_true(json_object_get(r.json, "explicit")));
	reply_free(&r);

	/* the super tenant named explicitly */
	request(f, "/t/carbon.super/echo?q=a+b%21", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "tenantId"), "id-carbon.super");
	assert_string_equal(jstr(&r, "q"), "a b!");
	reply_free(&r);

	/* query helper: repeated and malformed */
	request(f, "/echo?q=1&q=2", NULL, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "qst")), ST_CONFLICT);
	reply_free(&r);
	request(f, "/echo?q=%2", NULL, &r);
	assert_int_equal(json_integer_value(json_object_get(r.json, "qst")), ST_INVALID);
	reply_free(&r);

	/* unknown tenants: 404 in general, 400 invalid_request on OAuth routes */
	request(f, "/t/unknown/echo", NULL, &r);
	assert_general_error(&r, 404);
	reply_free(&r);
	request(f, "/t/bad_name/echo", NULL, &r);
	assert_general_error(&r, 404);
	reply_free(&r);
	request(f, "/t/unknown/oauth2/token", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);
	request(f, "/t/bad_name/oauth2/token", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);

	/* a tenant store failure is a 500 */
	request(f, "/t/boom/echo", NULL, &r);
	assert_general_error(&r, 500);
	reply_free(&r);

	/* an unreachable database is a 503 with Retry-After, OAuth-shaped on
	 * the OAuth routes */
	request(f, "/t/down/echo", NULL, &r);
	assert_general_error(&r, 503);
	assert_string_equal(header(&r, "Retry-After", h, sizeof h), "1");
	reply_free(&r);
	request(f, "/t/down/oauth2/token", &post, &r);
	assert_oauth_error(&r, 503, "temporarily_unavailable");
	assert_string_equal(jstr(&r, "error_description"),
			    "the database is unavailable; retry later");
	assert_string_equal(header(&r, "Retry-After", h, sizeof h), "1");
	reply_free(&r);

	/* global route: no tenant at all */
	request(f, "/global", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "tenant"), "-");
	assert_string_equal(jstr(&r, "tenantId"), "-");
	reply_free(&r);
}

static void server_tenant_query(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	struct reqopt post = {.body = "grant_type=x"};

	request(f, "/oauth2/token?tenantDomain=ACME", &post, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "tenant"), "acme");
	assert_string_equal(jstr(&r, "tenantId"), "id-acme");
	assert_true(json_is_true(json_object_get(r.json, "explicit")));
	reply_free(&r);

	request(f, "/t/acme/oauth2/token?tenantDomain=acme", &post, &r);
	assert_int_equal(r.code, 200);
	reply_free(&r);

	request(f, "/t/acme/oauth2/token?tenantDomain=carbon.super", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);

	request(f, "/oauth2/token?tenantDomain=acme&tenantDomain=acme", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);

	request(f, "/oauth2/token?tenantDomain=nobody", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);

	request(f, "/oauth2/token?tenantDomain=bad_name", &post, &r);
	assert_oauth_error(&r, 400, "invalid_request");
	reply_free(&r);

	/* only routes that allow it read tenantDomain */
	request(f, "/echo?tenantDomain=acme", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "tenant"), "carbon.super");
	reply_free(&r);
}

/* Well over the route limit, within the server's discard allowance (16 MiB). */
#define LARGE_BODY (900 * 1024)

static void server_body_limits(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	char big[66];
	struct reqopt post = {.body = big}, chunked = {.body = big, .chunked = true};
	struct reqopt get_body = {.method = "GET", .body = "x"};
	struct reqopt at_limit = {.body = big, .bodylen = 64};
	struct reqopt small_chunked = {.body = "abc", .chunked = true};
	const char *exp_hdr[] = {"Expect: 100-continue", NULL};
	struct reqopt expect = {.body = big, .headers = exp_hdr}, large = {0};
	char *large_body;

	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	large_body = malloc(LARGE_BODY + 1);
	assert_non_null(large_body);
	memset(large_body, 'L', LARGE_BODY);
	large_body[LARGE_BODY] = '\0';
	large.body = large_body;

	request(f, "/echo/a/b", &post, &r);
	assert_general_error(&r, 413);
	reply_free(&r);

	/* A client that waits for 100 Continue gets its answer at once. */
	request(f, "/echo/a/b", &expect, &r);
	assert_general_error(&r, 413);
	reply_free(&r);

	/* A large upload is read and dropped before the 413, so that the
	 * client sees the answer rather than a reset. */
	request(f, "/echo/a/b", &large, &r);
	assert_general_error(&r, 413);
	reply_free(&r);

	/* The same for any error decided on the head of a request whose
	 * body is still coming. */
	request(f, "/nope", &large, &r);
	assert_general_error(&r, 404);
	reply_free(&r);
	request(f, "/healthz", &large, &r);
	assert_general_error(&r, 405);
	reply_free(&r);
	request(f, "/oauth2/token", &large, &r);
	assert_oauth_error(&r, 413, "invalid_request");
	reply_free(&r);

	request(f, "/echo/a/b", &chunked, &r);
	assert_general_error(&r, 413);
	reply_free(&r);

	request(f, "/echo/a/b", &at_limit, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(strlen(jstr(&r, "body")), 64);
	reply_free(&r);

	request(f, "/echo/a/b", &small_chunked, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(jstr(&r, "body"), "abc");
	reply_free(&r);

	/* max_body 0: any body is refused */
	request(f, "/echo", &get_body, &r);
	assert_general_error(&r, 413);
	reply_free(&r);
	free(large_body);
}

static void server_headers(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	static char bighdr[9000];
	const char *hl[] = {bighdr, NULL};
	struct reqopt big = {.headers = hl}, post = {.body = "x"}, del = {.method = "DELETE"};
	char h[128];

	memcpy(bighdr, "X-Big: ", 7);
	memset(bighdr + 7, 'a', sizeof bighdr - 8);
	bighdr[sizeof bighdr - 1] = '\0';
	request(f, "/healthz", &big, &r);
	assert_int_equal(r.code, 431);
	reply_free(&r);

	/* a handler's bad header value never reaches the wire */
	request(f, "/bad-header", NULL, &r);
	assert_general_error(&r, 500);
	assert_string_equal(header(&r, "Set-Cookie", h, sizeof h), "");
	reply_free(&r);

	/* non-JSON responses keep their type and get nosniff, not no-store */
	request(f, "/text", &post, &r);
	assert_int_equal(r.code, 201);
	assert_string_equal(r.body.p, "made");
	assert_string_equal(header(&r, "Content-Type", h, sizeof h), "text/plain; charset=utf-8");
	assert_string_equal(header(&r, "Location", h, sizeof h), "/text/1");
	assert_string_equal(header(&r, "X-Content-Type-Options", h, sizeof h), "nosniff");
	assert_string_equal(header(&r, "Cache-Control", h, sizeof h), "");
	reply_free(&r);

	request(f, "/text", &del, &r);
	assert_int_equal(r.code, 204);
	assert_int_equal(r.body.n, 0);
	assert_string_equal(header(&r, "Content-Type", h, sizeof h), "");
	assert_string_equal(header(&r, "Content-Length", h, sizeof h), "");
	reply_free(&r);
}

static void server_deferred(void **state)
{
	static const char *const modes[] = {"early", "race", "later"};
	struct fixture *f = *state;
	int before = __atomic_load_n(&cont_calls, __ATOMIC_RELAXED), n = 0;
	char path[64];
	struct reply r;

	for (int i = 0; i < 60; i++) {
		const char *m = modes[i % 3];
		snprintf(path, sizeof path, "/defer/%s", m);
		request(f, path, NULL, &r);
		assert_int_equal(r.code, 202);
		assert_non_null(r.json);
		assert_string_equal(jstr(&r, "resumed"), m);
		reply_free(&r);
		n++;
	}
	assert_int_equal(__atomic_load_n(&cont_calls, __ATOMIC_RELAXED) - before, n);
}

/* ------------------------------------------------ graceful stop, logs */

struct client_arg {
	struct fixture *f;
	struct reply r;
};

static void *client_thread(void *p)
{
	struct client_arg *ca = p;
	request(ca->f, "/block", NULL, &ca->r);
	return NULL;
}

static void *deferred_client_thread(void *p)
{
	struct client_arg *ca = p;
	request(ca->f, "/defer/gate", NULL, &ca->r);
	return NULL;
}

static void *stop_thread(void *p)
{
	http_server_stop(p);
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	assert_non_null(fp);
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), ST_OK);
	fclose(fp);
	return buf_steal(&b);
}

static void server_graceful_stop_and_access_log(void **state)
{
	struct fixture *f;
	struct client_arg ca;
	pthread_t client, stopper;
	char logpath[128], needle[128];
	char *log;
	int saved, fd;
	struct reply r;
	(void)state;

	/* Capture stderr (the logger) for the whole life of this server. */
	snprintf(logpath, sizeof logpath, "/tmp/grantd-http-log-%d", (int)getpid());
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);

	void *st = NULL, *st2 = NULL;
	assert_int_equal(fixture_start(&st), 0);
	f = st;

	request(f, "/echo?q=hunter2-secret", NULL, &r);
	assert_int_equal(r.code, 200);
	reply_free(&r);

	/* A request is in its handler when the stop begins: it completes. */
	memset(&ca, 0, sizeof ca);
	ca.f = f;
	assert_int_equal(pthread_create(&client, NULL, client_thread, &ca), 0);
	gate_await(&gate);
	assert_int_equal(pthread_create(&stopper, NULL, stop_thread, f->srv), 0);
	gate_open(&gate);
	assert_int_equal(pthread_join(client, NULL), 0);
	assert_int_equal(pthread_join(stopper, NULL), 0);
	f->srv = NULL; /* stopped by the thread */

	assert_int_equal(ca.r.code, 200);
	assert_true(json_is_true(json_object_get(ca.r.json, "done")));
	reply_free(&ca.r);

	/* A deferred request is suspended when the stop begins: the stop
	 * waits for its resume (even past the in-flight count), then it is
	 * answered. */
	assert_int_equal(fixture_start(&st2), 0);
	memset(&ca, 0, sizeof ca);
	ca.f = st2;
	assert_int_equal(pthread_create(&client, NULL, deferred_client_thread, &ca), 0);
	gate_await(&defer_gate);
	assert_int_equal(pthread_create(&stopper, NULL, stop_thread, ((struct fixture *)st2)->srv),
			 0);
	usleep(50000); /* the stop is waiting now (or soon): it must not finish alone */
	gate_open(&defer_gate);
	assert_int_equal(pthread_join(client, NULL), 0);
	assert_int_equal(pthread_join(stopper, NULL), 0);
	((struct fixture *)st2)->srv = NULL;
	assert_int_equal(ca.r.code, 202);
	assert_string_equal(jstr(&ca.r, "resumed"), "gate");
	reply_free(&ca.r);
	fixture_stop(&st2);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	log = slurp(logpath);
	unlink(logpath);
	snprintf(needle, sizeof needle, "listening https://127.0.0.1:%d\n", f->https_port);
	assert_non_null(strstr(log, needle));
	snprintf(needle, sizeof needle, "listening http://127.0.0.1:%d\n", f->http_port);
	assert_non_null(strstr(log, needle));
	assert_non_null(strstr(log, "INFO  access 127.0.0.1 GET /echo 200 "));
	assert_non_null(strstr(log, "tenant=carbon.super trace="));
	assert_non_null(strstr(log, " note=client=echo"));
	assert_non_null(strstr(log, "GET /block 200 "));
	assert_non_null(strstr(log, "GET /defer/gate 202 "));
	assert_non_null(strstr(log, " note=deferred=gate"));
	assert_null(strstr(log, "hunter2"));
	free(log);
	fixture_stop(&st);
}

static void server_start_errors(void **state)
{
	struct fixture *f = *state;
	struct config cfg = f->cfg;
	struct http_server_opts o = {
	    .cfg = &cfg, .cert_pem = f->cert, .key_pem = f->key, .tenant_resolve = resolve};
	struct http_server *s = (void *)1;
	struct err e = {0};
	char addr[] = "not-an-address";
	char *v0 = cfg.server.bind.v[0];

	/* a configured address that cannot be bound is an error ... */
	cfg.server.bind_is_default = false;
	cfg.server.bind.n = 1;
	cfg.server.port = f->https_port; /* in use by the fixture */
	cfg.server.http_port = 0;
	assert_int_equal(http_server_start(&o, &s, &e), ST_IO);
	assert_null(s);
	assert_non_null(strstr(e.msg, "127.0.0.1"));
	cfg.server.bind.v[0] = addr;
	assert_int_equal(http_server_start(&o, &s, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "not-an-address"));
	/* ... a default one is skipped, but one listener is needed */
	cfg.server.bind_is_default = true;
	assert_int_equal(http_server_start(&o, &s, &e), ST_IO);
	cfg.server.bind.v[0] = v0;
	/* bad TLS identity */
	cfg.server.port = 0;
	o.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	assert_int_equal(http_server_start(&o, &s, &e), ST_IO);
	o.key_pem = f->key;
	o.tenant_resolve = NULL;
	assert_int_equal(http_server_start(&o, &s, &e), ST_INVALID);
	http_server_stop(NULL);
}

int test_server_group(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(server_healthz),      cmocka_unit_test(server_not_found_and_method),
	    cmocka_unit_test(server_bad_paths),    cmocka_unit_test(server_echo_and_tenants),
	    cmocka_unit_test(server_tenant_query), cmocka_unit_test(server_body_limits),
	    cmocka_unit_test(server_headers),      cmocka_unit_test(server_start_errors),
	    cmocka_unit_test(server_deferred),
	};
	const struct CMUnitTest health[] = {
	    cmocka_unit_test(server_healthz_database_down),
	};
	const struct CMUnitTest stop[] = {
	    cmocka_unit_test(server_graceful_stop_and_access_log),
	};
	int failed;

	log_set_level(LOG_INFO);
	failed = cmocka_run_group_tests_name("server", tests, fixture_start, fixture_stop);
	failed += cmocka_run_group_tests_name("server-health", health, fixture_start_health,
					      fixture_stop);
	failed += cmocka_run_group_tests_name("server-stop", stop, NULL, NULL);
	return failed;
}
