/* err.h - the one error convention of grantd.
 *
 * Functions return a `status` (0 = ok). When they fail for a reason a human
 * should read, they also write it into a caller-supplied `struct err` slot.
 * One function at the edge (oauth_error_map, admin_error_map) maps a status
 * and the slot to the protocol's error shape. The slot never holds secrets. */
#ifndef GRANTD_LIB_ERR_H
#define GRANTD_LIB_ERR_H

#include <stddef.h>

typedef enum status {
	ST_OK = 0,
	ST_INVALID,      /* malformed or unacceptable input (client fault) */
	ST_NOT_FOUND,    /* the thing named does not exist */
	ST_CONFLICT,     /* already exists / replay / concurrent change */
	ST_TOO_LARGE,    /* a named limit was exceeded */
	ST_UNAUTHORIZED, /* credentials missing or wrong */
	ST_FORBIDDEN,    /* authenticated but not allowed */
	ST_UNSUPPORTED,  /* well-formed but not supported */
	ST_BUSY,         /* try again later (throttled, locked) */
	ST_NOMEM,        /* allocation failed (server fault) */
	ST_IO,           /* file, network or database failure (server fault) */
	ST_INTERNAL,     /* a bug or an impossible state (server fault) */
	ST_UNAVAILABLE,  /* a service we depend on (the database) is unreachable now */
} status;

#define ERR_MSG_MAX 512

struct err {
	status st;
	char msg[ERR_MSG_MAX];
};

/* Records `st` and a printf-style reason in `e` (may be NULL). Returns `st`
 * so callers can write `return err_set(e, ST_INVALID, "...")`. */
status err_set(struct err *e, status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears the slot. */
void err_clear(struct err *e);

/* A short stable name for a status ("invalid", "not_found", ...). */
const char *status_name(status st);

/* True for statuses that are the server's fault (logged as errors). */
int status_is_server_fault(status st);

#endif
