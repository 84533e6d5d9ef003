/* common.c - what every admin handler shares: authentication and tenant
 * authorisation, JSON bodies, error responses, paging, audit records. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/admin.h"
#include "admin/auth.h"
#include "admin/session.h"
#include "http/form.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "oauth/conf_util.h"

/* A 401. The Basic challenge is left out for the console's own fetches
 * (Sec-Fetch-Mode other than "navigate"): a browser would answer it with
 * its password dialog (docs/console.md, "Sessions"). */
void admin_unauthorized(struct admin_call *call, const char *why)
{
	const char *mode = http_req_header(call->req, "Sec-Fetch-Mode");

	if (mode == NULL || strcmp(mode, "navigate") == 0)
		http_resp_header(call->resp, "WWW-Authenticate", "Basic realm=\"grantd\"");
	admin_error(call, 401, "AUTH-60001", "%s", why);
}

/* A user name is "admin" (the super admin), or "user@tenant". The super
 * admin may also write "admin@<super tenant>". */
static bool split_user(struct admin_call *call, const char *login, const char **user,
		       const char **domain)
{
	const char *at = strrchr(login, '@');
	const char *super = call->c->cfg->tenant.default_domain;

	if (at == NULL) {
		*user = login;
		*domain = super;
		return true;
	}
	*user = arena_strndup(call->req->arena, login, (size_t)(at - login));
	*domain = at + 1;
	return *user != NULL && (*user)[0] != '\0' && (*domain)[0] != '\0';
}

bool admin_login(struct admin_call *call, const char *login, char *password, struct store_tenant *t,
		 struct store_admin *u, const char **user)
{
	struct oauth_ctx *c = call->c;
	struct http_req *req = call->req;
	const char *domain;
	char *principal;
	int retry;
	bool found;
	status st;

	found = split_user(call, login, user, &domain);
	/* One principal however the domain is spelt ("admin" is
	 * admin@<default domain>). */
	principal = found ? arena_printf(req->arena, "%s@%s", *user, domain) : (char *)login;
	for (char *p = principal ? strrchr(principal, '@') : NULL; p != NULL && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	retry = admin_auth_begin(c->admin_auth, req->remote_addr, principal ? principal : login);
	if (retry > 0) {
		char *ra = arena_printf(req->arena, "%d", retry);
		if (ra != NULL)
			http_resp_header(call->resp, "Retry-After", ra);
		admin_error(
		    call, 429, "AUTH-60003",
		    "too many failed logins from this address or for this user; retry in %d s",
		    retry);
		return false;
	}
	if (found) {
		st = c->store->ops->tenant_get_by_domain(c->store, req->arena, domain, t, NULL);
		found = st == ST_OK && t->active;
		if (st != ST_OK && st != ST_NOT_FOUND) {
			admin_error_status(call, st, NULL, "SE");
			return false;
		}
	}
	if (found) {
		st = c->store->ops->admin_get(c->store, req->arena, t->id, *user, u, NULL);
		found = st == ST_OK;
		if (st != ST_OK && st != ST_NOT_FOUND) {
			admin_error_status(call, st, NULL, "SE");
			return false;
		}
	}
	if (!found) {
		/* Same work for an unknown user as for a wrong password, so that
		 * timing does not reveal which user names exist. */
		admin_auth_check_dummy(c->admin_auth, password);
		/* The name is not logged: it may be a password typed there. */
		log_info("admin login failed: unknown user from %s", req->remote_addr);
		admin_unauthorized(call, "invalid credentials");
		return false;
	}
	if (!admin_auth_check(c->admin_auth, t->id, *user, password, u->pw_hash)) {
		log_info("admin login failed: wrong password for '%s' from %s", principal,
			 req->remote_addr);
		admin_unauthorized(call, "invalid credentials");
		return false;
	}
	mem_wipe(password, strlen(password));
	admin_auth_succeeded(c->admin_auth, req->remote_addr, principal);
	return true;
}

void admin_identify(struct admin_call *call, const struct store_tenant *t, const char *user)
{
	const char *super_domain = call->c->cfg->tenant.default_domain;

	call->login_tenant_id = t->id;
	call->login_user = user;
	call->super = strcmp(t->domain, super_domain) == 0 && strcmp(user, "admin") == 0;
	call->actor =
	    call->super ? "admin" : arena_printf(call->req->arena, "%s@%s", user, t->domain);
	call->resp->log_note = call->actor;
}

/* The caller is admin `user` of tenant `t`: may it act here? */
static bool authorise(struct admin_call *call, unsigned flags, const struct store_tenant *t,
		      const char *user)
{
	struct http_req *req = call->req;

	admin_identify(call, t, user);
	if ((flags & ADMIN_SUPER_ONLY) && !call->super) {
		admin_error(call, 403, "AUTH-60004", "only the super admin may manage tenants");
		return false;
	}
	if (!call->super && !(flags & ADMIN_ANY_TENANT) &&
	    (req->tenant_id == NULL || strcmp(req->tenant_id, t->id) != 0)) {
		admin_error(call, 403, "AUTH-60004", "user '%s' may act only in tenant '%s'",
			    call->actor, t->domain);
		return false;
	}
	return true;
}

bool admin_same_origin(const struct http_req *req)
{
	const char *site = http_req_header(req, "Sec-Fetch-Site");
	const char *origin = http_req_header(req, "Origin");
	const char *host = http_req_header(req, "Host");
	size_t hn;

	if (site != NULL && strcmp(site, "same-origin") != 0)
		return false;
	if (origin == NULL)
		return site != NULL;
	if (host == NULL || strncmp(origin, "https://", 8) != 0)
		return false;
	hn = strlen(host);
	return strlen(origin + 8) == hn && strncasecmp(origin + 8, host, hn) == 0;
}

const char *admin_session_cookie(const struct http_req *req)
{
	static const char name[] = ADMIN_SESSION_COOKIE "=";
	const char *h = http_req_header(req, "Cookie"), *p;
	char *v;
	size_t n;

	/* "a=1; __Host-grantd_session=...; b=2" */
	for (p = h; p != NULL && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n > sizeof name - 1 && strncmp(p, name, sizeof name - 1) == 0) {
			n -= sizeof name - 1;
			p += sizeof name - 1;
			while (n > 0 && p[n - 1] == ' ')
				n--;
			v = n <= SESSION_ID_LEN ? arena_strndup(req->arena, p, n) : NULL;
			return v;
		}
		p += n;
	}
	return NULL;
}

/* Authentication by the console's session cookie `id`. */
static bool session_begin(struct admin_call *call, unsigned flags, const char *id)
{
	struct oauth_ctx *c = call->c;
	struct http_req *req = call->req;
	struct session_table *tab = admin_auth_sessions(c->admin_auth);
	struct session_info *si = arena_alloc(req->arena, sizeof *si);
	unsigned char fp[SHA256_LEN];
	struct store_tenant t;
	struct store_admin u;
	const char *csrf;
	status st;

	if (si == NULL) {
		admin_error(call, 500, "SE-50000", "out of memory");
		return false;
	}
	if (session_lookup(tab, id, time(NULL), si) != ST_OK) {
		admin_unauthorized(
		    call, "the console session has expired or does not exist; log in again");
		return false;
	}
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		/* A state-changing call: same origin, and the session's CSRF token. */
		csrf = http_req_header(req, "X-CSRF-Token");
		if (!admin_same_origin(req)) {
			admin_error(call, 403, "AUTH-60005",
				    "cross-site request refused (Origin / Sec-Fetch-Site)");
			return false;
		}
		if (csrf == NULL || !ct_eq(csrf, strlen(csrf), si->csrf, strlen(si->csrf))) {
			admin_error(call, 403, "AUTH-60005",
				    "missing or wrong X-CSRF-Token for this session");
			return false;
		}
	}
	/* The admin, its tenant and its password must still be what they were
	 * at login: a changed password or a deactivated tenant ends it. */
	st = c->store->ops->tenant_get_by_domain(c->store, req->arena, si->domain, &t, NULL);
	if (st == ST_OK && t.active && strcmp(t.id, si->tenant_id) == 0)
		st = c->store->ops->admin_get(c->store, req->arena, t.id, si->user, &u, NULL);
	else if (st == ST_OK)
		st = ST_NOT_FOUND;
	if (st != ST_OK && st != ST_NOT_FOUND) {
		admin_error_status(call, st, NULL, "SE");
		return false;
	}
	if (st != ST_OK || sha256(u.pw_hash, strlen(u.pw_hash), fp) != ST_OK ||
	    !ct_eq(fp, sizeof fp, si->pw_fp, sizeof si->pw_fp)) {
		session_delete(tab, id);
		admin_unauthorized(call,
				   "the console session has ended (password or tenant changed); "
				   "log in again");
		return false;
	}
	call->session = si;
	call->session_id = id;
	return authorise(call, flags, &t, si->user);
}

bool admin_begin(void *ctx, struct http_req *req, struct http_resp *resp, unsigned flags,
		 struct admin_call *call)
{
	struct oauth_ctx *c = ctx;
	const char *authz = http_req_header(req, "Authorization");
	char *login = NULL, *password = NULL;
	const char *user, *sid;
	struct store_tenant t;
	struct store_admin u;

	memset(call, 0, sizeof *call);
	call->c = c;
	call->req = req;
	call->resp = resp;
	call->tenant_id = req->tenant_id;
	call->tenant = req->tenant;

	if (authz == NULL && (sid = admin_session_cookie(req)) != NULL)
		return session_begin(call, flags, sid);
	if (authz == NULL) {
		admin_unauthorized(call,
				   "authentication required: use HTTP Basic with an admin user");
		return false;
	}
	if (http_basic_parse(authz, req->arena, &login, &password) != ST_OK) {
		admin_unauthorized(call,
				   "malformed Authorization header: expected Basic credentials");
		return false;
	}
	if (!admin_login(call, login, password, &t, &u, &user))
		return false;
	return authorise(call, flags, &t, user);
}

void admin_error(struct admin_call *call, int http_status, const char *code, const char *fmt, ...)
{
	char desc[ERR_MSG_MAX];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof desc, fmt, ap);
	va_end(ap);
	str_utf8_trim(desc);
	o = json_pack("{s:s, s:s, s:s, s:s}", "code", code, "message",
		      http_status_text(http_status), "description", desc, "traceId",
		      call->req->trace_id);
	admin_json(call, http_status, o, NULL);
}

void admin_error_status(struct admin_call *call, status st, const struct err *e,
			const char *code_prefix)
{
	char code[32];
	const char *msg = e && e->msg[0] ? e->msg : status_name(st);
	int http = 500;

	switch (st) {
	case ST_INVALID: http = 400; break;
	case ST_UNSUPPORTED: http = 400; break;
	case ST_TOO_LARGE: http = 413; break;
	case ST_NOT_FOUND: http = 404; break;
	case ST_CONFLICT: http = 409; break;
	case ST_FORBIDDEN: http = 403; break;
	case ST_UNAUTHORIZED: http = 401; break;
	case ST_BUSY: http = 503; break;
	case ST_UNAVAILABLE: http = 503; break;
	default: http = 500; break;
	}
	snprintf(code, sizeof code, "%s-%d", code_prefix, http == 500 ? 50000 : 60000 + http);
	if (st == ST_UNAVAILABLE) {
		/* The database is down (docs/api/openapi.yaml, "503"): retry soon;
		 * the reason, which may name the database host, is logged only. */
		log_warn("admin %s %.*s: %s (trace %s)", call->req->method_name,
			 (int)call->req->full_path.n, call->req->full_path.p, msg,
			 call->req->trace_id);
		http_resp_header(call->resp, "Retry-After", "1");
		admin_error(call, http, code, "the database is unavailable; retry later");
		return;
	}
	if (http >= 500) {
		log_error("admin %s %.*s: %s (trace %s)", call->req->method_name,
			  (int)call->req->full_path.n, call->req->full_path.p, msg,
			  call->req->trace_id);
		admin_error(call, http, code, "internal error; see the server log (trace %s)",
			    call->req->trace_id);
		return;
	}
	admin_error(call, http, code, "%s", msg);
}

bool admin_json_content_type(struct admin_call *call)
{
	const char *ct = http_req_header(call->req, "Content-Type");

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		admin_error(call, 415, "API-60415", "Content-Type must be application/json");
		return false;
	}
	return true;
}

json_t *admin_body_json(struct admin_call *call, const char *code)
{
	json_error_t je;
	json_t *o;

	if (!admin_json_content_type(call))
		return NULL;
	o = json_loadb(call->req->body.p, call->req->body.n, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		admin_error(call, 400, code, "invalid JSON at line %d column %d: %s", je.line,
			    je.column, je.text);
	return o;
}

json_t *admin_body(struct admin_call *call)
{
	json_t *o = admin_body_json(call, "API-60400");

	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		admin_error(call, 400, "API-60400", "the body must be a JSON object");
		return NULL;
	}
	return o;
}

void admin_body_wipe(json_t *body)
{
	json_t *v;
	const char *k;

	if (!json_is_object(body))
		return;
	json_object_foreach(body, k, v)
	{
		if (json_is_string(v))
			mem_wipe((char *)json_string_value(v), json_string_length(v));
	}
}

/* ?filter=name <op> <value>: true with pg->name_op/name_value set, or
 * answered (400) and false. */
static bool parse_filter(struct admin_call *call, const char *f, struct store_page *pg)
{
	static const char *const ops[] = {"eq", "sw", "ew", "co"};
	struct arena *a = call->req->arena;
	const char *p = f, *val;
	size_t n;

	while (*p == ' ')
		p++;
	if (strncasecmp(p, "name ", 5) != 0) {
		size_t w = strcspn(p, " ");
		admin_error(call, 400, "API-60400",
			    "filter attribute '%.*s' is not supported (supported: name)",
			    (int)(w > 64 ? 64 : w), p);
		return false;
	}
	p += 5;
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strncasecmp(p, ops[i], 2) == 0 && p[2] == ' ')
			pg->name_op = ops[i];
	if (pg->name_op == NULL) {
		size_t w = strcspn(p, " ");
		admin_error(call, 400, "API-60400",
			    "filter operator '%.*s' is not supported (supported: eq, sw, ew, co)",
			    (int)(w > 16 ? 16 : w), p);
		return false;
	}
	p += 3;
	while (*p == ' ')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
		if (memchr(p, '"', n) != NULL) {
			admin_error(call, 400, "API-60400",
				    "filter value: a quoted value cannot contain '\"'");
			return false;
		}
	} else if (strstr(p, " and ") != NULL || strstr(p, " or ") != NULL ||
		   strstr(p, " AND ") != NULL || strstr(p, " OR ") != NULL) {
		admin_error(call, 400, "API-60400",
			    "filter: one condition only (quote a value that contains ' and ' or "
			    "' or ')");
		return false;
	}
	if (n == 0 || n > 255) {
		admin_error(call, 400, "API-60400", "filter value must have 1 to 255 characters");
		return false;
	}
	if ((val = arena_strndup(a, p, n)) == NULL) {
		admin_error(call, 500, "SE-50000", "out of memory");
		return false;
	}
	pg->name_value = val;
	return true;
}

static bool page(struct admin_call *call, struct store_page *pg, bool filterable)
{
	const char *names[2] = {"limit", "offset"};
	int64_t *vals[2] = {&pg->limit, &pg->offset};
	const char *f;
	status fst = ST_OK;

	memset(pg, 0, sizeof *pg);
	pg->limit = 30;
	pg->offset = 0;
	f = http_req_query(call->req, "filter", &fst);
	if (fst == ST_CONFLICT) {
		admin_error(call, 400, "API-60400", "repeated query parameter 'filter'");
		return false;
	}
	if (fst != ST_OK && fst != ST_NOT_FOUND) {
		admin_error(call, 400, "API-60400", "malformed query string");
		return false;
	}
	if (f != NULL && !filterable) {
		admin_error(call, 400, "API-60400", "this list cannot be filtered");
		return false;
	}
	if (f != NULL && !parse_filter(call, f, pg))
		return false;
	for (int i = 0; i < 2; i++) {
		status st = ST_OK;
		const char *v = http_req_query(call->req, names[i], &st);
		if (st == ST_CONFLICT) {
			admin_error(call, 400, "API-60400", "repeated query parameter '%s'",
				    names[i]);
			return false;
		}
		if (st != ST_OK && st != ST_NOT_FOUND) {
			admin_error(call, 400, "API-60400", "malformed query string");
			return false;
		}
		if (v == NULL)
			continue;
		if (sv_to_i64(sv_from(v), vals[i]) != ST_OK || *vals[i] < 0 ||
		    (i == 0 && (*vals[i] < 1 || *vals[i] > 1000)) ||
		    (i == 1 && *vals[i] > LIMIT_PAGE_OFFSET)) {
			admin_error(call, 400, "API-60400", "%s must be an integer from %d to %d",
				    names[i], i == 0 ? 1 : 0, i == 0 ? 1000 : LIMIT_PAGE_OFFSET);
			return false;
		}
	}
	return true;
}

bool admin_page(struct admin_call *call, struct store_page *pg)
{
	return page(call, pg, false);
}

bool admin_page_filtered(struct admin_call *call, struct store_page *pg)
{
	return page(call, pg, true);
}

/* WSO2's paging links: {"href": "<path>?offset=N&limit=L[&filter=...]",
 * "rel": "next" | "previous"}. */
static json_t *page_link(struct admin_call *call, struct store_page pg, int64_t offset,
			 const char *rel)
{
	struct http_req *req = call->req;
	const char *filter = NULL;
	char *href;

	if (pg.name_op != NULL) {
		/* The value, percent-encoded except for unreserved characters. */
		struct sv v = sv_from(pg.name_value);
		char *enc = arena_alloc(req->arena, v.n * 3 + 1), *o = enc;
		if (enc == NULL)
			return NULL;
		for (size_t i = 0; i < v.n; i++) {
			unsigned char ch = (unsigned char)v.p[i];
			if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
			    ch == '~') {
				*o++ = (char)ch;
			} else {
				snprintf(o, 4, "%%%02X", ch);
				o += 3;
			}
		}
		*o = '\0';
		filter = arena_printf(req->arena, "&filter=name%%20%s%%20%s", pg.name_op, enc);
	}
	href = arena_printf(req->arena, "%.*s?offset=%lld&limit=%lld%s", (int)req->full_path.n,
			    req->full_path.p, (long long)offset, (long long)pg.limit,
			    filter != NULL ? filter : "");
	if (href == NULL)
		return NULL;
	return json_pack("{s:s, s:s}", "href", href, "rel", rel);
}

void admin_list_envelope(struct admin_call *call, struct store_page pg, int64_t total,
			 const char *name, json_t *items)
{
	json_t *links = json_array();
	size_t count = json_array_size(items);
	json_t *o;

	if (links != NULL && pg.offset + (int64_t)count < total)
		json_array_append_new(links, page_link(call, pg, pg.offset + pg.limit, "next"));
	if (links != NULL && pg.offset > 0)
		json_array_append_new(
		    links, page_link(call, pg, pg.offset > pg.limit ? pg.offset - pg.limit : 0,
				     "previous"));
	o = json_pack("{s:I, s:I, s:I, s:o, s:o}", "totalResults", (json_int_t)total, "startIndex",
		      (json_int_t)pg.offset + 1, "count", (json_int_t)count, "links", links, name,
		      items);

	if (o == NULL) {
		admin_error(call, 500, "SE-50000", "out of memory");
		return;
	}
	admin_json(call, 200, o, NULL);
}

bool admin_path_uuid(const struct admin_call *call, char out[UUID_STR_LEN + 1])
{
	struct sv id = call->req->nparams > 0 ? call->req->params[0] : SV_NULL;

	if (!uuid_valid(id))
		return false;
	memcpy(out, id.p, UUID_STR_LEN);
	out[UUID_STR_LEN] = '\0';
	return true;
}

char *admin_object_path(struct admin_call *call, const char *base, const char *id)
{
	struct arena *a = call->req->arena;

	if (call->tenant == NULL || strcmp(call->tenant, call->c->cfg->tenant.default_domain) == 0)
		return arena_printf(a, "%s/%s", base, id);
	return arena_printf(a, "/t/%s%s/%s", call->tenant, base, id);
}

json_t *admin_stored_doc(struct admin_call *call, const char *text, const char *kind,
			 const char *id, const char *code_prefix)
{
	json_t *doc = json_loads(text != NULL ? text : "", JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(doc)) {
		json_decref(doc);
		log_error("%s %s: stored document is not a JSON object", kind, id);
		admin_error_status(call, ST_INTERNAL, NULL, code_prefix);
		return NULL;
	}
	return doc;
}

void admin_json(struct admin_call *call, int http_status, json_t *body, const char *location)
{
	struct http_resp *r = call->resp;
	char *text;

	r->status = http_status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (text == NULL || buf_append_cstr(&r->body, text) != ST_OK) {
			r->status = 500;
			buf_reset(&r->body);
			buf_printf(&r->body,
				   "{\"code\":\"SE-50000\",\"message\":\"Internal Server Error\","
				   "\"description\":\"out of memory\",\"traceId\":\"%s\"}",
				   call->req->trace_id);
		}
		free(text);
	}
	if (location != NULL)
		http_resp_header(r, "Location", location);
}

void admin_audit_fill(const struct admin_who *w, struct store_audit *a, const char *action,
		      const char *object_type, const char *object_id, json_t *summary)
{
	char *text = summary ? json_dumps(summary, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	memset(a, 0, sizeof *a);
	a->tenant_id = (char *)w->tenant_id;
	a->actor = (char *)w->actor;
	a->action = (char *)action;
	a->object_type = (char *)object_type;
	a->object_id = (char *)object_id;
	a->summary = text ? arena_strdup(w->arena, text) : (char *)"{}";
	a->at = time(NULL);
	free(text);
	json_decref(summary);
}

struct admin_who admin_who_of(const struct admin_call *call)
{
	struct admin_who w = {call->c, call->req->arena, call->tenant_id, call->actor};

	return w;
}

void admin_audit(struct admin_call *call, struct store_audit *a, const char *action,
		 const char *object_type, const char *object_id, json_t *summary)
{
	struct admin_who w = admin_who_of(call);

	admin_audit_fill(&w, a, action, object_type, object_id, summary);
}
