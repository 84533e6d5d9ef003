/* test_request.c - the transport-neutral request model: headers collected
 * once and looked up without case, the query parsed once (its failure kept),
 * and a deferred response without a server. */
#include <string.h>

#include "http/http.h"
#include "http_tests.h"

static void headers_without_case(void **state)
{
	(void)state;
	static const struct http_header h[] = {
	    {"Content-Type", "application/json"},
	    {"authorization", "Basic eDp5"},
	    {"X-Dup", "first"},
	    {"x-dup", "second"},
	};
	struct http_req req = {.headers = h, .nheaders = 4};

	assert_string_equal(http_req_header(&req, "content-type"), "application/json");
	assert_string_equal(http_req_header(&req, "AUTHORIZATION"), "Basic eDp5");
	assert_string_equal(http_req_header(&req, "X-DUP"), "first"); /* the first one */
	assert_null(http_req_header(&req, "Cookie"));
	req.nheaders = 0;
	assert_null(http_req_header(&req, "content-type"));
}

static void query_parsed_once(void **state)
{
	(void)state;
	struct arena a;
	struct http_req req = {0};
	const struct form *f1, *f2;
	struct err e = {0};
	status st;

	arena_init(&a, 0);
	req.arena = &a;
	req.query = SV("a=1&b=x%20y");
	assert_int_equal(http_req_query_form(&req, &f1, &e), ST_OK);
	assert_int_equal(http_req_query_form(&req, &f2, &e), ST_OK);
	assert_ptr_equal(f1, f2);
	assert_string_equal(http_req_query(&req, "b", &st), "x y");
	assert_int_equal(st, ST_OK);
	assert_null(http_req_query(&req, "c", &st));
	assert_int_equal(st, ST_NOT_FOUND);

	memset(&req, 0, sizeof req);
	req.arena = &a;
	req.query = SV("a=1&a=2&%zz");
	assert_int_not_equal(http_req_query_form(&req, &f1, &e), ST_OK);
	/* The failure is kept and reported again. */
	e.msg[0] = '\0';
	assert_int_not_equal(http_req_query_form(&req, &f1, &e), ST_OK);
	assert_true(e.msg[0] != '\0');
	arena_free(&a);
}

static void cont(void *ctx, struct http_req *req, struct http_resp *resp, void *arg)
{
	(void)req;
	*(int *)ctx += 1;
	resp->status = *(int *)arg;
}

static void defer_without_server(void **state)
{
	(void)state;
	struct http_req req = {0};
	struct http_resp resp;
	int calls = 0, want = 201;

	http_resp_init(&resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body.max, HTTP_RESP_BODY_MAX);
	/* Not deferred: nothing happens. */
	http_req_finish_deferred(&calls, &req, &resp);
	assert_int_equal(calls, 0);
	http_defer(&req, cont, &want);
	http_resume(&req);
	resp.status = 500; /* what the handler wrote is dropped */
	http_req_finish_deferred(&calls, &req, &resp);
	assert_int_equal(calls, 1);
	assert_int_equal(resp.status, 201);
	http_req_finish_deferred(&calls, &req, &resp); /* once only */
	assert_int_equal(calls, 1);
}

int test_request_group(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(headers_without_case),
	    cmocka_unit_test(query_parsed_once),
	    cmocka_unit_test(defer_without_server),
	};
	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
