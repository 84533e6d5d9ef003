/* request.c - the request model's accessors and deferred responses
 * (http.h). Transport-neutral: the server fills the request and supplies
 * a struct http_transport for deferred responses. */
#include "http/http.h"

#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/form.h"

const char *http_req_header(const struct http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

status http_req_query_form(struct http_req *req, const struct form **out, struct err *e)
{
	static const struct form none;

	if (!req->query_done && req->query.n == 0) {
		req->query_form = &none;
		req->query_status = ST_OK;
	} else if (!req->query_done) {
		struct form *f = arena_alloc(req->arena, sizeof *f);
		struct err pe;

		req->query_status = f != NULL ? form_parse(req->arena, req->query, f, &pe)
					      : err_set(&pe, ST_NOMEM, "out of memory");
		req->query_form = f;
		if (req->query_status != ST_OK)
			req->query_error = arena_strdup(req->arena, pe.msg);
	}
	req->query_done = true;
	if (req->query_status != ST_OK)
		return err_set(e, req->query_status, "%s",
			       req->query_error ? req->query_error : "out of memory");
	*out = req->query_form;
	return ST_OK;
}

const char *http_req_query(struct http_req *req, const char *key, status *st)
{
	const struct form *f;
	struct sv v;
	status r = http_req_query_form(req, &f, NULL);

	if (r == ST_OK)
		r = form_get(f, key, &v);
	if (r == ST_NOMEM || r == ST_TOO_LARGE)
		r = ST_INVALID;
	if (st != NULL)
		*st = r;
	return r == ST_OK ? v.p : NULL;
}

void http_defer(struct http_req *req, http_cont cont, void *arg)
{
	req->defer_cont = cont;
	req->defer_arg = arg;
	if (req->transport != NULL)
		req->transport->deferred(req->transport->server);
	__atomic_store_n(&req->defer_state, HTTP_DEFER_PENDING, __ATOMIC_RELEASE);
}

void http_resume(struct http_req *req)
{
	const struct http_transport *t = req->transport;
	void *conn = req->transport_conn;
	int st = HTTP_DEFER_PENDING;

	if (t == NULL) { /* no server: http_req_finish_deferred() waits */
		__atomic_store_n(&req->defer_state, HTTP_DEFER_EARLY, __ATOMIC_RELEASE);
		return;
	}
	/* Once resumed, the request may be answered and freed at any moment:
	 * nothing of it is touched after the state changed or the connection
	 * was woken. */
	if (!__atomic_compare_exchange_n(&req->defer_state, &st, HTTP_DEFER_EARLY, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* SUSPENDED: the connection waits for us. */
		__atomic_store_n(&req->defer_state, HTTP_DEFER_RESUMED, __ATOMIC_RELEASE);
		t->wake(conn);
	}
	t->resumed(t->server);
}

void http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof *r);
	r->status = 200;
	r->body.max = HTTP_RESP_BODY_MAX;
}

void http_req_finish_deferred(void *ctx, struct http_req *req, struct http_resp *resp)
{
	const struct timespec tick = {0, 100000};
	http_cont cont = req->defer_cont;

	if (cont == NULL || req->transport != NULL)
		return;
	while (__atomic_load_n(&req->defer_state, __ATOMIC_ACQUIRE) != HTTP_DEFER_EARLY)
		nanosleep(&tick, NULL);
	req->defer_cont = NULL;
	buf_free(&resp->body);
	http_resp_init(resp);
	cont(ctx, req, resp, req->defer_arg);
}
