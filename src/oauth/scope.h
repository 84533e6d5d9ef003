/* scope.h - OAuth scope strings (RFC 6749 §3.3).
 *
 * A normalised scope is its scope-tokens (%x21 / %x23-5B / %x5D-7E)
 * separated by single spaces, each once, in the order first given; NULL
 * stands for "no scope". */
#ifndef GRANTD_OAUTH_SCOPE_H
#define GRANTD_OAUTH_SCOPE_H

#include <stdbool.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "lib/str.h"

/* Longest scope parameter accepted (bytes). */
#define SCOPE_MAX 4096

/* Whether `ch` may stand in a scope-token (NQCHAR other than space:
 * %x21 / %x23-5B / %x5D-7E). */
bool scope_token_char(unsigned char ch);

/* Normalises a requested scope. ST_INVALID naming the problem ("scope
 * contains a character that is not allowed", "scope is longer than ...");
 * ST_NOMEM. `*out` in `a`, NULL when `scope` is NULL or has no token. */
status scope_normalise(struct arena *a, const char *scope, const char **out, struct err *e);

/* Checks every token of the normalised `scope` against `allowed` when it
 * has entries: ST_INVALID "scope 'x' is not allowed by <who> (allowed: a,
 * b)". ST_OK for a NULL scope or an empty list. "openid" is always
 * allowed: it grants no access, it asks for an id_token (tokens.h), as in
 * WSO2. */
status scope_within(struct arena *a, const char *scope, const struct strlist *allowed,
		    const char *who, struct err *e);

/* True when every token of normalised `scope` is a token of normalised
 * `granted` (NULL = none). Otherwise *extra (if not NULL) is the first token
 * that is not, in `a` (NULL on OOM). */
/* Whether the normalised `scope` (NULL = none) holds the token `token`. */
bool scope_has(const char *scope, const char *token);

bool scope_subset(struct arena *a, const char *scope, const char *granted, const char **extra);

#endif
