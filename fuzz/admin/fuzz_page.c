/* fuzz_page.c - the admin list pagination ?limit=&offset= (src/admin/common.c
 * admin_page()) over an arbitrary raw query string, through the request's
 * query parser as the server runs it (a request without a connection).
 * Invariants: nothing crashes; accepted pages have 1 <= limit <= 1000 and
 * 0 <= offset <= LIMIT_PAGE_OFFSET; a refusal is answered 400 with a JSON
 * body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "admin/admin.h"
#include "lib/arena.h"
#include "lib/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct http_resp resp;
	struct admin_call call;
	struct store_page pg = {0};

	if (size > LIMIT_HTTP_QUERY)
		return 0;
	arena_init(&a, 16u * 1024u * 1024u);
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	memset(&call, 0, sizeof call);
	req.method = HTTP_GET;
	req.method_name = "GET";
	req.path = req.full_path = sv_from("/api/server/v1/applications");
	req.query = (struct sv){(const char *)data, size};
	req.arena = &a;
	snprintf(req.trace_id, sizeof req.trace_id, "fuzz");
	resp.status = 200;
	call.req = &req;
	call.resp = &resp;
	if (admin_page(&call, &pg)) {
		CHECK(pg.limit >= 1 && pg.limit <= 1000);
		CHECK(pg.offset >= 0 && pg.offset <= LIMIT_PAGE_OFFSET);
		CHECK(resp.body.n == 0);
	} else {
		CHECK(resp.status == 400 && resp.body.n > 0);
	}
	buf_free(&resp.body);
	arena_free(&a);
	return 0;
}
