/* keys_int.h - private to src/keys: the URI rules and one JWKS fetch.
 *
 * keys.c (the cache) calls keys_fetch() without holding any lock. */
#ifndef GRANTD_KEYS_KEYS_INT_H
#define GRANTD_KEYS_KEYS_INT_H

#include <stdatomic.h>

#include <curl/curl.h>

#include "config/config.h"
#include "jose/jwk.h"
#include "lib/err.h"

struct keys_fetch_opts {
	const struct config *cfg;  /* [oauth.jwks_endpoint] limits and rules */
	const char *ca_file;       /* PEM bundle; NULL = the system CA store */
	const atomic_bool *cancel; /* may be NULL; true aborts the transfer */
};

/* keys_check_uri, also handing back the parsed URL (curl_url_cleanup() it)
 * so that the fetch uses exactly what was checked, and whether
 * [oauth.jwks_endpoint] allowed_hosts names the host (which lets the fetch
 * connect to an internal address). `out` and `internal_ok` may be NULL. */
status keys_uri_parse(const struct config *cfg, const char *uri, CURLU **out, bool *internal_ok,
		      struct err *e);

/* One GET of `uri` with one easy handle: the rules of keys.h. On success
 * `*out` is a new keyset. Failures are ST_IO (ST_INVALID for a URI that
 * breaks the rules, ST_NOMEM, ST_INTERNAL for a libcurl setup failure).
 * `e` gets one of a few stable texts, safe to show to clients and tenant
 * admins (docs/security.md, "JWKS hosts"); `detail` (may be NULL) the
 * full reason for the server log (libcurl's, the TLS library's). */
status keys_fetch(const struct keys_fetch_opts *o, const char *uri, struct jose_keyset **out,
		  struct err *e, struct err *detail);

#endif
