#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>

status err_set(struct err *e, status st, const char *fmt, ...)
{
	if (e != NULL) {
		va_list ap;
		e->st = st;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return st;
}

void err_clear(struct err *e)
{
	if (e != NULL) {
		e->st = ST_OK;
		e->msg[0] = '\0';
	}
}

const char *status_name(status st)
{
	switch (st) {
	case ST_OK: return "ok";
	case ST_INVALID: return "invalid";
	case ST_NOT_FOUND: return "not_found";
	case ST_CONFLICT: return "conflict";
	case ST_TOO_LARGE: return "too_large";
	case ST_UNAUTHORIZED: return "unauthorized";
	case ST_FORBIDDEN: return "forbidden";
	case ST_UNSUPPORTED: return "unsupported";
	case ST_BUSY: return "busy";
	case ST_NOMEM: return "nomem";
	case ST_IO: return "io";
	case ST_INTERNAL: return "internal";
	case ST_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

int status_is_server_fault(status st)
{
	return st == ST_NOMEM || st == ST_IO || st == ST_INTERNAL || st == ST_UNAVAILABLE;
}
