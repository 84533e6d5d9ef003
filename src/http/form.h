/* form.h - strict application/x-www-form-urlencoded parsing, query strings
 * and HTTP Basic credentials. Pure functions over untrusted bytes: no I/O,
 * no globals; every result lives in the caller's arena.
 *
 * Rules of form_parse() (also used for query strings):
 *  - pairs are separated by '&'; empty pairs ("a=1&&b=2", a leading or a
 *    trailing '&', an empty body) are skipped, as browsers and RFC-compatible
 *    clients produce them;
 *  - a pair without '=' ("flag") is the key with an empty value (the WHATWG
 *    URL standard's reading); a pair with an empty key ("=v") is ST_INVALID;
 *  - '+' decodes to a space; '%' must be followed by two hex digits (either
 *    case), else ST_INVALID "bad percent-encoding";
 *  - a decoded NUL (%00) and raw control bytes (0x00-0x1f, 0x7f) are
 *    ST_INVALID; other bytes (including raw UTF-8) are kept as they are: the
 *    parser does not validate UTF-8, callers that need text check it;
 *  - decoded keys are at most LIMIT_FORM_KEY bytes, at most LIMIT_FORM_PARAMS
 *    pairs are accepted (both ST_TOO_LARGE);
 *  - repeated keys are kept; form_get() reports them as ST_CONFLICT.
 * Keys and values are NUL-terminated copies in the arena (NUL-free, so they
 * are also faithful C strings). */
#ifndef GRANTD_HTTP_FORM_H
#define GRANTD_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "lib/str.h"

struct form_pair {
	struct sv key;   /* decoded, NUL-terminated in the arena */
	struct sv value; /* decoded, NUL-terminated in the arena */
};

struct form {
	struct form_pair *pairs; /* in the arena, in input order */
	size_t n;
};

/* Parses `body` into `out` (allocations in `a`). On failure returns
 * ST_INVALID, ST_TOO_LARGE or ST_NOMEM with the reason in `e`; `out` is then
 * empty. */
status form_parse(struct arena *a, struct sv body, struct form *out, struct err *e);

/* Looks `key` up: ST_OK with *value set (value may be NULL to only test),
 * ST_NOT_FOUND, or ST_CONFLICT when the key occurs more than once (callers
 * map it to invalid_request "repeated parameter"). */
status form_get(const struct form *f, const char *key, struct sv *value);

/* Percent-decodes `in` into a NUL-terminated arena copy. `plus_is_space`
 * selects form semantics ('+' -> ' '); path segments pass false. Rejects a
 * bad escape, a decoded NUL and raw control bytes (ST_INVALID). */
status form_decode(struct arena *a, struct sv in, bool plus_is_space, struct sv *out,
		   struct err *e);

/* Looks one key up in a raw query string (form rules). Returns ST_OK with
 * *value (arena copy), ST_NOT_FOUND, ST_CONFLICT for a repeated key, or the
 * form_parse() error for a malformed query. */
status form_query_get(struct arena *a, struct sv query, const char *key, struct sv *value,
		      struct err *e);

/* Parses an `Authorization: Basic <base64(user:pass)>` header value.
 * The scheme is case-insensitive and followed by one or more spaces; the
 * token is strict standard base64 (padding required, no whitespace); the
 * decoded text must contain a ':' and is split at the first one (the
 * password may contain further colons, RFC 7617 §2). The user must be
 * non-empty; neither part may contain NUL or control bytes; the user is at
 * most LIMIT_USERNAME bytes, the password at most LIMIT_PASSWORD.
 * Returns ST_OK with arena copies in *user and *pass; ST_NOT_FOUND when
 * `authorization` is NULL; ST_UNSUPPORTED for another scheme; ST_TOO_LARGE
 * over a limit; ST_INVALID otherwise; ST_NOMEM. */
status http_basic_parse(const char *authorization, struct arena *a, char **user, char **pass);

/* As http_basic_parse(), then form-url-decodes both parts (RFC 6749
 * §2.3.1: OAuth client id and secret are form-urlencoded inside Basic).
 * A bad escape in either part is ST_INVALID; limits apply after decoding. */
status http_basic_parse_oauth(const char *authorization, struct arena *a, char **user, char **pass);

#endif
