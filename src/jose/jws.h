/* jws.h - compact JWS (RFC 7515) parsing, verification and signing, and the
 * JWT claim accessors the grants use (RFC 7519).
 *
 * jws_parse() takes untrusted bytes and is fuzzed (fuzz/jose/fuzz_jws.c).
 * It checks the shape and the header only; it never verifies a signature.
 * A parsed `struct jws` is trusted only after jws_verify() (or
 * jws_verify_keyset()) returned ST_OK.
 *
 * Header policy (docs/jwt-grant.md, "The checks, in order", steps 1-2):
 *   - exactly three parts of strict base64url (no padding, no whitespace);
 *     five parts (JWE) -> ST_UNSUPPORTED; empty signature -> ST_INVALID;
 *   - header and payload are UTF-8 JSON objects, no duplicate keys, no
 *     \u0000, nesting <= LIMIT_JSON_DEPTH; header <= LIMIT_JOSE_HEADER bytes;
 *   - `alg` is required; none and HS* -> ST_INVALID, unknown -> ST_UNSUPPORTED;
 *   - `crit` (any) -> ST_UNSUPPORTED: grantd understands no extension;
 *   - `b64` false (RFC 7797) -> ST_UNSUPPORTED;
 *   - `jku`, `x5u`, `jwk` -> ST_UNSUPPORTED: keys are never taken from, or
 *     fetched because of, the token itself;
 *   - `x5c` is tolerated but never parsed or used (has_x5c reports it):
 *     trust comes only from the keys configured on the identity provider;
 *   - `kid`, `typ`, `cty`, `x5t` must be strings when present; `x5t#S256`
 *     must be the base64url of 32 bytes.
 * The algorithm from the header is only a claim: the caller must check it
 * against the identity provider's allow-list (jose_alg_check_allowed()). */
#ifndef GRANTD_JOSE_JWS_H
#define GRANTD_JOSE_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jose/jose.h"
#include "jose/jwk.h"
#include "lib/arena.h"
#include "lib/err.h"
#include "lib/str.h"

struct jws {
	enum jose_alg alg;
	const char *kid;   /* NULL when absent; borrowed from `header` */
	const char *typ;   /* NULL when absent; borrowed from `header` */
	bool has_x5t_s256; /* header carried `x5t#S256` */
	unsigned char x5t_s256[32];
	bool has_x5c;             /* header carried `x5c` (ignored, never trusted) */
	json_t *header;           /* owned reference: the decoded JOSE header */
	json_t *payload;          /* owned reference: the decoded payload (claims) */
	struct sv signing_input;  /* "<header>.<payload>" inside the caller's input */
	const unsigned char *sig; /* decoded signature, in the caller's arena */
	size_t sig_len;
};

/* Parses the compact serialization `compact`. On ST_OK, `out` holds two
 * JSON references (release them with jws_free()), a signature allocated in
 * `a`, and a view into `compact`, which must outlive `out`. On failure `out`
 * is left zeroed (jws_free() on it is harmless) and `e` says why, without
 * echoing the token. Statuses: ST_TOO_LARGE (compact.n > max_size),
 * ST_INVALID, ST_UNSUPPORTED (JWE, crit, jku/x5u/jwk, b64, unknown alg),
 * ST_NOMEM. */
status jws_parse(struct arena *a, struct sv compact, size_t max_size, struct jws *out,
		 struct err *e);
/* Releases the JSON references of a parsed (or zeroed) jws and zeroes it. */
void jws_free(struct jws *jws);

/* Verifies the signature of `jws` with `key`. Fails closed: ST_INVALID when
 * the key does not fit the algorithm ("key type EC P-256 does not match alg
 * RS256"), when the key's JWK `alg` differs from the token's, when an ES*
 * signature is not exactly 2 x the coordinate size, or when the signature
 * does not verify ("signature verification failed"). Thread-safe: `key` is
 * only read. */
status jws_verify(const struct jws *jws, const struct jose_key *key, struct err *e);

/* The same on raw parts, for callers (and RFC vectors) whose payload is not
 * a JSON object: `input` is the JWS signing input, `sig` the decoded
 * signature. */
status jose_verify_raw(enum jose_alg alg, const struct jose_key *key, struct sv input,
		       const unsigned char *sig, size_t sig_len, struct err *e);

/* Key selection and verification against a set (docs/jwt-grant.md, "The
 * checks, in order", step 5):
 *  1. if the token has `x5t#S256`, the keys from certificates with that
 *     SHA-256 thumbprint are the candidates; else
 *  2. if it has `kid`, the keys with that kid; else
 *  3. every key of the set that fits the algorithm.
 * When the token names a key (1 or 2) that the set does not hold, the result
 * is ST_NOT_FOUND ("no key with kid 'x'") - a JWKS fetcher may refetch -
 * unless JOSE_SELECT_TRY_ALL is set (certificates, which carry no kid), in
 * which case step 3 applies. No candidate fitting the algorithm is also
 * ST_NOT_FOUND. With JOSE_VERIFY_CERT_TIME, keys from certificates whose
 * validity does not cover `now` (unix seconds) are rejected.
 * ST_OK when one candidate verifies (`*used`, if non-NULL, names it; the
 * pointer is valid while the set is). ST_INVALID otherwise: with one
 * candidate its precise reason, with several "signature verification failed
 * with each of the N candidate keys". */
#define JOSE_SELECT_TRY_ALL   0x1u
#define JOSE_VERIFY_CERT_TIME 0x2u
status jws_verify_keyset(const struct jws *jws, const struct jose_keyset *ks, unsigned flags,
			 int64_t now, const struct jose_key **used, struct err *e);

/* Signs `payload` (a JSON object) with the private `key` and appends the
 * compact JWS to `out` (unchanged on failure). The header is
 * {"alg":..., "kid":..., <header_extra members>}; `kid` NULL means the key's
 * own kid (none if the key has none), "" means no kid header. `header_extra` may be NULL (e.g.
 * {"typ":"at+jwt"}); it may not set alg, kid, crit, b64, jku, jwk or x5u.
 * ES* signatures are raw R||S. ST_INVALID when the key does not fit `alg` or
 * has no private part. */
status jws_sign(struct buf *out, enum jose_alg alg, const struct jose_key *key, const char *kid,
		const json_t *header_extra, const json_t *payload, struct err *e);

/* Signs raw bytes: appends the JWS signature (not base64url'd) to `sig`. */
status jose_sign_raw(enum jose_alg alg, const struct jose_key *key, struct sv input,
		     struct buf *sig, struct err *e);

/* Claim accessors. Each returns ST_NOT_FOUND ("claim 'sub' is missing") when
 * the claim is absent and ST_INVALID naming the claim and the JSON type it
 * has ("claim 'exp' must be a number, got string") when it has the wrong
 * type. Results borrow from `claims`. */

/* A string claim. JSON strings from jws_parse() never contain NUL. */
status jwt_claim_string(const json_t *claims, const char *name, const char **out, struct err *e);
/* A NumericDate (RFC 7519 §2): a JSON number, integer or real (fractions
 * are truncated), not negative and not after 9999-12-31T23:59:59Z. */
#define JWT_NUMERICDATE_MAX INT64_C(253402300799)
status jwt_claim_numericdate(const json_t *claims, const char *name, int64_t *out, struct err *e);
/* An audience claim: a string or a non-empty array of strings. `*out` is an
 * array of `*n` borrowed strings allocated in `a`. */
status jwt_claim_audiences(struct arena *a, const json_t *claims, const char *name,
			   const char *const **out, size_t *n, struct err *e);

/* The JSON type name jansson gives `j`: "object", "array", "string",
 * "number", "boolean" or "null". */
const char *jose_json_type(const json_t *j);

#endif
