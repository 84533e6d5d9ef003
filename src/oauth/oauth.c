/* oauth.c - the OAuth error vocabulary and small helpers of the layer. */
#include "oauth/oauth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oauth/context.h"

const char *oauth_error_name(enum oauth_error error)
{
	switch (error) {
	case OAUTH_INVALID_REQUEST: return "invalid_request";
	case OAUTH_INVALID_CLIENT: return "invalid_client";
	case OAUTH_INVALID_GRANT: return "invalid_grant";
	case OAUTH_UNAUTHORIZED_CLIENT: return "unauthorized_client";
	case OAUTH_UNSUPPORTED_GRANT_TYPE: return "unsupported_grant_type";
	case OAUTH_INVALID_SCOPE: return "invalid_scope";
	case OAUTH_TEMPORARILY_UNAVAILABLE: return "temporarily_unavailable";
	case OAUTH_ERR_NONE:
	case OAUTH_SERVER_ERROR: break;
	}
	return "server_error";
}

int oauth_error_http_status(enum oauth_error error)
{
	switch (error) {
	case OAUTH_INVALID_CLIENT: return 401;
	case OAUTH_INVALID_REQUEST:
	case OAUTH_INVALID_GRANT:
	case OAUTH_UNAUTHORIZED_CLIENT:
	case OAUTH_UNSUPPORTED_GRANT_TYPE:
	case OAUTH_INVALID_SCOPE: return 400;
	case OAUTH_TEMPORARILY_UNAVAILABLE: return 503;
	case OAUTH_ERR_NONE:
	case OAUTH_SERVER_ERROR: break;
	}
	return 500;
}

enum oauth_error oauth_fault_class(const struct oauth_fault *f, status st)
{
	enum oauth_error error = f != NULL ? f->error : OAUTH_ERR_NONE;

	if (st == ST_UNAVAILABLE)
		return OAUTH_TEMPORARILY_UNAVAILABLE;
	if (status_is_server_fault(st) || error == OAUTH_ERR_NONE || error >= OAUTH_SERVER_ERROR)
		return OAUTH_SERVER_ERROR;
	return error;
}

status oauth_fail(struct oauth_fault *f, enum oauth_error error, status st, const char *fmt, ...)
{
	va_list ap;

	if (f == NULL)
		return st;
	f->error = error;
	f->e.st = st;
	f->check = NULL;
	va_start(ap, fmt);
	vsnprintf(f->e.msg, sizeof f->e.msg, fmt, ap);
	va_end(ap);
	return st;
}

status oauth_fail_err(struct oauth_fault *f, enum oauth_error error, status st, const struct err *e,
		      const char *prefix)
{
	if (st == ST_OK)
		st = e != NULL && e->st != ST_OK ? e->st : ST_INTERNAL;
	return oauth_fail(f, error, st, "%s%s", prefix ? prefix : "", e != NULL ? e->msg : "");
}

const char *oauth_token_endpoint_url(const struct oauth_ctx *c, struct arena *a, const char *tenant)
{
	const char *super = c->cfg->tenant.default_domain;

	if (tenant == NULL || (super != NULL && strcmp(tenant, super) == 0))
		return arena_printf(a, "%s/oauth2/token", c->base_url);
	return arena_printf(a, "%s/t/%s/oauth2/token", c->base_url, tenant);
}

const char *oauth_show(struct arena *a, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	char *out = arena_alloc(a, max + 4);

	if (out == NULL)
		return "?";
	str_show(out, max + 4, s ? s : "", n);
	return out;
}
