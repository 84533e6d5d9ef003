/* audit.c - GET /audit-events: the tenant's admin changes, newest first. */
#include <time.h>

#include "admin/admin.h"
#include "admin/handlers.h"
#include "lib/timefmt.h"

void admin_audit_list(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct admin_call call;
	struct store_page pg;
	struct store_audit *items = NULL;
	size_t n = 0;
	int64_t total = 0;
	struct err e = {0};
	json_t *arr;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !admin_page(&call, &pg))
		return;
	st = call.c->store->ops->audit_list(call.c->store, req->arena, call.tenant_id, pg, &items,
					    &n, &total, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "AUD");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct store_audit *a = &items[i];
		char when[TIME_RFC3339_LEN];
		json_t *summary = json_loads(a->summary ? a->summary : "{}", 0, NULL);

		time_format_rfc3339(a->at, when);
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", a->id, "actor",
				   a->actor, "action", a->action, "objectType", a->object_type,
				   "objectId", a->object_id ? a->object_id : "", "summary",
				   summary ? summary : json_object(), "time", when));
	}
	admin_list_envelope(&call, pg, total, "events", arr);
}
