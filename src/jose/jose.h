/* jose.h - JWS algorithms, per-IdP algorithm allow-lists, and key types.
 *
 * The JOSE layer (jose.h, jws.h, jwk.h) is pure: no I/O, no globals, no
 * config. It uses OpenSSL 3 EVP only and jansson for JSON.
 *
 * Only asymmetric signature algorithms exist here. `none` and every `HS*`
 * are never accepted anywhere in grantd: there is no enum value for them,
 * so no allow-list can contain them. */
#ifndef GRANTD_JOSE_JOSE_H
#define GRANTD_JOSE_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/str.h"

enum jose_alg {
	JOSE_ALG_RS256 = 0,
	JOSE_ALG_RS384,
	JOSE_ALG_RS512,
	JOSE_ALG_PS256,
	JOSE_ALG_PS384,
	JOSE_ALG_PS512,
	JOSE_ALG_ES256,
	JOSE_ALG_ES384,
	JOSE_ALG_ES512,
	JOSE_ALG_EDDSA,
};
#define JOSE_ALG_COUNT 10

/* Longest algorithm or key-type value echoed back in an error message;
 * longer values are cut and marked with "...". */
#define JOSE_SHOW_MAX 32

/* Parses an RFC 7518 / RFC 8037 `alg` name (case-sensitive).
 * ST_INVALID for "none" ("alg none is not accepted") and any name starting
 * with "HS" ("symmetric algorithm HS256 is not accepted"); ST_UNSUPPORTED
 * ("unsupported alg 'X'") for anything else unknown. `e` may be NULL. */
status jose_alg_parse(struct sv name, enum jose_alg *out, struct err *e);
/* The RFC name ("RS256", ..., "EdDSA"); "?" for an out-of-range value. */
const char *jose_alg_name(enum jose_alg alg);

/* A set of algorithms: bit (1 << alg). Used as a per-IdP allow-list. */
typedef uint32_t jose_alg_set;
#define JOSE_ALG_BIT(alg) ((jose_alg_set)1u << (unsigned)(alg))
#define JOSE_ALG_SET_ALL  ((jose_alg_set)((1u << JOSE_ALG_COUNT) - 1u))

bool jose_alg_set_has(jose_alg_set set, enum jose_alg alg);
/* Builds a set from `n` names. n == 0 means "not configured" and gives the
 * default, JOSE_ALG_SET_ALL (every algorithm, docs/jwt-grant.md). Duplicates are harmless. Any name
 * jose_alg_parse() refuses fails the whole list with "entry N: <reason>"
 * (N counts from 0) and the status of jose_alg_parse(). */
status jose_alg_set_parse(const struct sv *names, size_t n, jose_alg_set *out, struct err *e);
/* The same from a JSON array of strings (e.g. jwtGrant.allowedAlgorithms).
 * NULL, JSON null or an empty array give JOSE_ALG_SET_ALL; a non-array or a
 * non-string element is ST_INVALID. */
status jose_alg_set_from_json(const json_t *names, jose_alg_set *out, struct err *e);
/* Writes the names of the set, in enum order, as "RS256, ES256" into out
 * (always NUL-terminated when outsz > 0). Returns false if it was cut. */
bool jose_alg_set_format(jose_alg_set set, char *out, size_t outsz);
/* ST_OK when alg is in set, else ST_INVALID "alg ES384 is not in the
 * identity provider's allowed algorithms (RS256, ES256)". */
status jose_alg_check_allowed(jose_alg_set set, enum jose_alg alg, struct err *e);

/* Key types grantd can verify with. Each fits exactly one algorithm family:
 * RSA <- RS*, PS* (>= 2048 bits); P-256 <- ES256; P-384 <- ES384;
 * P-521 <- ES512; Ed25519 <- EdDSA. */
enum jose_kty {
	JOSE_KTY_RSA = 1,
	JOSE_KTY_EC_P256,
	JOSE_KTY_EC_P384,
	JOSE_KTY_EC_P521,
	JOSE_KTY_ED25519,
};

/* "RSA", "EC P-256", "EC P-384", "EC P-521", "Ed25519". */
const char *jose_kty_name(enum jose_kty kty);
/* True when a key of type `kty` may be used with `alg` (size rules for RSA
 * are checked by jose_key_check_alg() in jwk.h). */
bool jose_kty_fits_alg(enum jose_kty kty, enum jose_alg alg);

/* Smallest and largest RSA moduli accepted anywhere (bits). */
#define JOSE_RSA_MIN_BITS 2048
#define JOSE_RSA_MAX_BITS 16384

#endif
