/* assertion.h - the claim checks every JWT assertion goes through: a grant
 * assertion (RFC 7523 §3, docs/jwt-grant.md steps 3 and 7) and a client
 * assertion (private_key_jwt, RFC 7523 §3 and docs/jwt-grant.md section 5).
 * One implementation, two profiles: the profile
 * says which optional claims are required, the clock skew and the age and
 * lifetime limits, and the word used in messages. */
#ifndef GRANTD_OAUTH_ASSERTION_H
#define GRANTD_OAUTH_ASSERTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/err.h"

struct assertion_profile {
	const char *noun;     /* "assertion" | "client assertion": starts time messages */
	const char *jti_rule; /* non-NULL: jti is required, and this says by what */
	const char *iat_rule; /* non-NULL: iat is required, and this says by what */
	int64_t skew;         /* seconds of clock skew allowed */
	const char *skew_src; /* where the skew comes from, for messages */
	bool iat_validation;  /* enable_iat_validation */
	int64_t iat_validity; /* iat_validity_period, seconds */
	int64_t max_lifetime; /* exp - (iat or now) limit, seconds; 0 = none */
	const char *max_lifetime_src;
};

struct assertion_claims {
	const char *iss, *sub; /* present and not empty */
	const char *jti;       /* NULL when absent; never empty */
	const char *const *aud;
	size_t naud;
	int64_t exp, nbf, iat;
	bool has_nbf, has_iat;
};

/* Reads iss, sub, aud and exp (required) and nbf, iat and jti (optional,
 * but well-formed when present: a malformed one is an error, never ignored),
 * then the profile's required claims. Strings borrow from `payload`. On a
 * bad claim returns ST_INVALID with the reason in `e`; ST_NOMEM otherwise. */
status assertion_read_claims(struct arena *a, const json_t *payload,
			     const struct assertion_profile *p, struct assertion_claims *out,
			     struct err *e);

/* The time checks, in order: exp (with skew), nbf, iat not in the future,
 * iat age (when iat_validation), lifetime. ST_INVALID with the reason. */
status assertion_check_times(const struct assertion_claims *c, const struct assertion_profile *p,
			     int64_t now, struct err *e);

#endif
