/* jwt_grant.h - the JWT bearer grant's assertion checks (RFC 7523 §2.1,
 * §3; docs/jwt-grant.md "The checks, in order"), as one function that both the token endpoint and
 * the admin API's dry run (POST /api/server/v1/jwt-grant/validate) call.
 *
 * jwt_grant_check() runs the checks of docs/jwt-grant.md, "The checks, in order", steps 1-9 in
 * order and stops at the first failure. Every check it ran is recorded in the result's trace with
 * pass/fail. The failed check always has a detail naming the values compared, which the token
 * endpoint answers with as error_description; passed checks get theirs only when the caller asks
 * for a trace (`trace`, the dry run), so that the token endpoint formats no
 * text nobody reads. Details never contain the assertion, its signature or
 * a secret; claim values (iss, sub, aud, jti, kid) are shown cut and with
 * non-printable bytes replaced.
 *
 * The identity provider's allow-list of algorithms (step 2) and its
 * requireJti/requireIat (step 3) need the IdP, which step 4 selects by
 * `iss`. So the IdP is looked up (in the directory's cache) as soon as the
 * payload has a string `iss`, and step 2/3 use it when there is one; its
 * policy (enabled, trust expiry, the application's allowedIdentityProviders)
 * is still judged in step 4. When no IdP matches, steps 2 and 3 apply only
 * the server-wide rules and step 4 fails.
 *
 * Replay (step 9): with `dry_run` nothing is written; the jti is looked up
 * read-only (replay_seen) and a used one fails the check. Without `dry_run`, the
 * (tenant, iss, jti) triple is recorded only after every other check
 * passed, so a rejected assertion records nothing. */
#ifndef GRANTD_OAUTH_JWT_GRANT_H
#define GRANTD_OAUTH_JWT_GRANT_H

#include <stdbool.h>
#include <stdint.h>

#include "jose/jws.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/idp_conf.h"
#include "oauth/oauth.h"

enum jwt_check_id {
	JWT_CHECK_ASSERTION = 0, /* 1: present, size, compact JWS, JSON */
	JWT_CHECK_HEADER,        /* 2: alg (IdP allow-list), crit, jku/x5u/jwk */
	JWT_CHECK_CLAIMS,        /* 3: iss, sub, aud, exp (+ nbf, iat, jti types; required ones) */
	JWT_CHECK_ISSUER,        /* 4: IdP found, enabled, trusted, allowed for the app */
	JWT_CHECK_SIGNATURE,     /* 5: key selection and signature */
	JWT_CHECK_AUDIENCE,      /* 6 */
	JWT_CHECK_TIMES,         /* 7: exp, nbf, iat, iat age, max lifetime */
	JWT_CHECK_SUBJECT_SCOPE, /* 8: allowedSubjects, scopes */
	JWT_CHECK_REPLAY,        /* 9: jti */
};
#define JWT_NCHECKS 9

enum jwt_check_state {
	JWT_STATE_NOT_RUN = 0, /* an earlier check failed */
	JWT_STATE_PASS,
	JWT_STATE_FAIL,
};

struct jwt_check {
	enum jwt_check_state state;
	const char *detail; /* in the caller's arena; NULL when not run, or passed
			     * without `trace` */
};

struct jwt_grant_in {
	const char *tenant_id;      /* the request's tenant */
	const char *tenant;         /* its domain: the token endpoint URL */
	const struct app_conf *app; /* the client; NULL in a dry run without clientId */
	struct sv assertion;        /* the `assertion` parameter */
	bool has_assertion;         /* false when the parameter was absent */
	const char *scope;          /* requested scope; NULL when absent */
	int64_t now;                /* unix seconds */
	bool dry_run;               /* record nothing */
	bool trace;                 /* details for passed checks too */
};

struct jwt_grant_result {
	struct jwt_check checks[JWT_NCHECKS];
	int failed;                  /* enum jwt_check_id that failed, -1 when all passed */
	bool parsed;                 /* `jws` holds the header and the payload */
	struct jws jws;              /* release with jwt_grant_result_free() */
	struct idp_conf *idp;        /* a reference when an IdP matched `iss` */
	const char *iss, *sub, *jti; /* borrowed from jws.payload; NULL when absent */
	int64_t exp;
	const char *scope; /* granted scope (normalised), NULL for none */
	int64_t skew;      /* seconds applied */
	/* Step 9 passed with a jti to record: the caller writes `replay` in the
	 * same transaction as the tokens (store grant_commit), which is where a
	 * replay is finally decided. Never set in a dry run. */
	bool replay_pending;
	struct store_replay replay;
};

/* Runs the checks. Returns ST_OK when all passed; otherwise the failed
 * check's status, with `f` holding its OAuth error (invalid_request for a
 * missing or oversized assertion, invalid_scope for the scope, else
 * invalid_grant) and its detail, or a server fault (ST_IO, ST_NOMEM,
 * ST_INTERNAL) that the caller answers with 500. `r` is always filled as
 * far as the checks went; release it with jwt_grant_result_free(). Details
 * live in `a`. */
status jwt_grant_check(struct oauth_ctx *c, struct arena *a, const struct jwt_grant_in *in,
		       struct jwt_grant_result *r, struct oauth_fault *f);
void jwt_grant_result_free(struct jwt_grant_result *r);

/* The failure for an assertion whose pending replay record conflicted at
 * commit: invalid_grant, ST_CONFLICT, "assertion replayed ...". */
status jwt_grant_replayed(struct arena *a, const struct jwt_grant_result *r, struct oauth_fault *f);

/* "assertion", "header", "claims", "issuer", "signature", "audience",
 * "times", "subject_and_scope", "replay". */
const char *jwt_check_name(enum jwt_check_id id);

#endif
