/* idp_conf.h - a trusted identity provider as the grant sees it.
 *
 * One parser turns the admin API's JSON (docs/api/openapi.yaml) into a validated
 * `struct idp_conf`: the admin API uses it to validate what it stores, and
 * the token endpoint uses it (through the directory's cache) to interpret
 * what is stored. So "accepted by the API" and "understood by the grant"
 * can never disagree.
 *
 * Stored document (`store_idp.doc`, canonical form written by the admin
 * API, no `id`):
 *   { "name", "description", "isEnabled", "idpIssuerName", "alias",
 *     "certificate": { "jwksUri": "https://..." }
 *                  | { "certificates": ["<PEM>", ...] }
 *                  | { "jwksUri": "https://...", "certificates": [...] }
 *                  | { "jwks": { "keys": [...] } },
 *     "jwtGrant": { "allowedAlgorithms": [..], "additionalAudiences": [..],
 *                   "allowedSubjects": [..], "allowedScopes": [..],
 *                   "requireJti": bool, "requireIat": bool,
 *                   "maxAssertionLifetimeSeconds": int,
 *                   "clockSkewSeconds": int|null,
 *                   "expiresAt": "RFC 3339 UTC"|null } }
 *
 * Normalisation (idp_conf_to_json): every member present, defaults filled
 * ("description": "", "isEnabled": true, unset idpIssuerName/alias: null,
 * the effective allowedAlgorithms in RFC order, empty lists [], false,
 * 0, null), an empty idpIssuerName/alias means unset (null), certificates
 * uploaded as base64 of a PEM are stored as that PEM (PEM text and base64
 * DER are kept as uploaded, surrounding whitespace removed), an inline JWKS
 * is kept as given. idp_conf_parse(idp_conf_to_json(x)) gives x again.
 *
 * Validation (errors name the member's path, e.g. "jwtGrant.requireJTI:
 * unknown field", and are ST_INVALID, or ST_UNSUPPORTED for an unknown
 * algorithm or key type; ST_NOMEM on allocation failure):
 *   name          required, 1..LIMIT_NAME characters
 *   description   string, <= IDP_DESCRIPTION_MAX characters (may hold tabs
 *                 and line breaks; every other string may hold no control
 *                 character at all: C0, DEL, C1)
 *   isEnabled     boolean (default true)
 *   idpIssuerName, alias  string <= IDP_STRING_MAX characters, or null
 *   certificate   optional object (absent or {}: no keys yet) with one of
 *                 jwksUri (keys_check_uri: https unless allow_insecure_http,
 *                 allowed_hosts), certificates (1..LIMIT_IDP_CERTS texts,
 *                 jose_key_from_pem, no certificate twice), jwks (strict
 *                 jose_keyset_from_jwks_json); each uploaded key must fit
 *                 at least one allowed algorithm. jwksUri and certificates
 *                 may come together, as in WSO2: the jwksUri is the key
 *                 source, the certificates are checked and kept, unused
 *                 (docs/jwt-grant.md, "Key sources")
 *   jwtGrant      object or null; allowedAlgorithms (names; [] or null =
 *                 all ten), additionalAudiences, allowedSubjects,
 *                 allowedScopes (<= IDP_LIST_MAX non-empty strings of
 *                 <= IDP_STRING_MAX characters; scopes are RFC 6749
 *                 scope-tokens), requireJti, requireIat (booleans),
 *                 maxAssertionLifetimeSeconds (0..IDP_LIFETIME_MAX),
 *                 clockSkewSeconds (null or 0..IDP_SKEW_MAX), expiresAt
 *                 (null or "YYYY-MM-DDTHH:MM:SSZ")
 * `null` for an optional member means "absent" (the default).
 *
 * Ownership: reference counted (idp_conf_ref / idp_conf_free, atomic) so a
 * cache can replace an entry while requests still use the old one.
 * Immutable after idp_conf_parse() returns, except that `id` and
 * `tenant_id` are NULL after parsing: the owner may set them (malloc'd
 * strings, freed by idp_conf_free) before sharing the config. */
#ifndef GRANTD_OAUTH_IDP_CONF_H
#define GRANTD_OAUTH_IDP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "jose/jose.h"
#include "jose/jwk.h"
#include "lib/err.h"
#include "lib/str.h"

/* Bounds of the IdP document (see also LIMIT_NAME, LIMIT_IDP_CERTS). */
#define IDP_DESCRIPTION_MAX 1024                 /* characters */
#define IDP_STRING_MAX      2048                 /* characters: issuer, alias, URI, list entries */
#define IDP_LIST_MAX        64                   /* entries of each jwtGrant list */
#define IDP_LIFETIME_MAX    (10 * 365 * 86400LL) /* ten years, seconds */
#define IDP_SKEW_MAX        3600                 /* seconds */

enum idp_key_source {
	IDP_KEYS_NONE = 0,     /* not set yet: the IdP cannot verify assertions */
	IDP_KEYS_JWKS_URI = 1, /* fetched and cached by src/keys */
	IDP_KEYS_CERTS,        /* uploaded X.509 certificates */
	IDP_KEYS_JWKS,         /* inline JWKS */
};

/* "jwksUri", "certificates", "jwks": the member of `certificate`; "none". */
const char *idp_key_source_name(enum idp_key_source src);

struct idp_conf {
	char *id, *tenant_id;
	char *name, *description;
	char *issuer; /* idpIssuerName; NULL when unset */
	char *alias;  /* expected `aud`; NULL when unset */
	bool enabled;
	enum idp_key_source key_source;
	char *jwks_uri;              /* IDP_KEYS_JWKS_URI */
	struct jose_keyset *keys;    /* IDP_KEYS_CERTS / IDP_KEYS_JWKS; NULL otherwise */
	struct strlist certificates; /* normalised texts, keys[i] is of v[i]; with a
				      * jwksUri (IDP_KEYS_JWKS_URI) kept but unused */
	json_t *jwks;                /* IDP_KEYS_JWKS: the document as given (own reference) */
	jose_alg_set algs;           /* allowedAlgorithms (default: all ten) */
	struct strlist additional_audiences, allowed_subjects, allowed_scopes;
	bool require_jti, require_iat;
	int64_t max_assertion_lifetime; /* seconds; 0 = the server's setting */
	int64_t clock_skew;             /* seconds; -1 = the server's timestamp_skew */
	int64_t expires_at;             /* unix seconds; 0 = trust never expires */
	/* WSO2 IS 7 members grantd does not use (image, isPrimary, claims,
	 * roles, federatedAuthenticators, ...): kept as given, returned
	 * unchanged (docs/api/openapi.yaml, "WSO2 members"); NULL = none. */
	json_t *wso2;
	int refs; /* private */
};

/* Validates `doc` (the admin API's IdP object, without `id`; unknown
 * members rejected) and builds a config with one reference. `cfg` supplies
 * the jwks_endpoint rules (https, allowed_hosts). Errors name the field:
 * "certificate.certificates[1]: a private key, not a certificate". */
status idp_conf_parse(const json_t *doc, const struct config *cfg, struct idp_conf **out,
		      struct err *e);
void idp_conf_ref(struct idp_conf *c);
/* Drops one reference; NULL is a no-op. */
void idp_conf_free(struct idp_conf *c);

/* The canonical stored document of `c` (see above) as a new JSON object.
 * ST_NOMEM only. */
status idp_conf_to_json(const struct idp_conf *c, json_t **out, struct err *e);

#endif
