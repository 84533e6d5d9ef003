/* app_conf.h - an application (service provider / OAuth client) as the
 * token endpoint sees it. Same idea as idp_conf.h: one parser for the admin
 * API's JSON, shared by the API (validation) and the endpoint (runtime).
 *
 * Stored document (`store_app.doc`, canonical, no `id`, never a secret),
 * written by app_conf_doc():
 *   { "name", "description",
 *     "inboundProtocolConfiguration": { "oidc": {
 *        "clientId", "grantTypes": [...], "callbackURLs": [...],
 *        "publicClient": bool,
 *        "accessToken": { "type": "Default"|"JWT",
 *                         "userAccessTokenExpiryInSeconds": int,
 *                         "applicationAccessTokenExpiryInSeconds": int },
 *        "refreshToken": { "expiryInSeconds": int, "renewRefreshToken": bool },
 *        "idToken": { "audience": [...], "expiryInSeconds": int },
 *        "allowedScopes": [...], "allowedIdentityProviders": [names...],
 *        "clientAuthentication": { "tokenEndpointAuthMethod": "...",
 *                                  "jwksUri": str|null, "jwks": obj|null } } } }
 *
 * An application may have no OIDC configuration yet (no
 * inboundProtocolConfiguration, or one without oidc: WSO2's console
 * creates the application first): `has_oidc` is false, its stored document
 * is {name, description}, it has no client and never authenticates; the
 * store keeps a placeholder client id for it ("~" + its id, which no
 * client id can be).
 *
 * WSO2's other application members (imageUrl, claimConfiguration,
 * advancedConfigurations, ...) and OIDC members (allowedOrigins, pkce,
 * logout, state, ...; the lists are in app_conf.c) are kept in `wso2_app`
 * and `wso2`, stored and returned as given, and change nothing.
 *
 * Validation rules (every error is "<path>: <reason>", the path spelled as
 * in the document, e.g. "inboundProtocolConfiguration.oidc.grantTypes[1]:
 * unknown grant type 'password' ..."; unknown members at any level are
 * rejected; a member that is null counts as absent):
 *   name            required, 1..LIMIT_NAME characters, no control
 *                   characters, no leading/trailing space
 *   description     optional, at most APP_DESCRIPTION_MAX characters
 *   clientId        required (in an oidc object), APP_CLIENT_ID_MIN..LIMIT_CLIENT_ID of
 * [A-Za-z0-9_-] grantTypes      required, non-empty, each exactly one of the three grant names
 * below, no duplicates callbackURLs    absolute URLs (http/https with a host, or a custom scheme
 * for native apps; never javascript:, data:, vbscript:, file:), no fragment, ASCII; or WSO2's
 *                   "regexp=<POSIX ERE>" form, which must compile and,
 *                   with every repetition expanded, have at most 4096
 *                   elements, groups nested at most 32 deep
 *   publicClient    bool (default false); a public client has no secret,
 *                   authenticates with "none", and cannot use
 *                   client_credentials; a confidential one cannot use "none"
 *   accessToken     type "Default" (opaque) or "JWT" (RFC 9068); lifetimes
 *                   integers 1..APP_TTL_MAX seconds
 *   refreshToken    expiryInSeconds 1..APP_TTL_MAX, renewRefreshToken bool
 *   idToken.audience  non-empty strings: the JWT access token's `aud`
 *                   (empty list = the client id), and with the client id
 *                   the id_token's
 *   idToken.expiryInSeconds  the id_token's lifetime, 1..APP_TTL_MAX
 *   allowedScopes   RFC 6749 §3.3 scope tokens (NQCHAR, no space)
 *   allowedIdentityProviders  IdP names, shape only here; the admin API
 *                   checks they exist in the tenant
 *   clientAuthentication.tokenEndpointAuthMethod  client_secret_basic
 *                   (default for confidential clients), client_secret_post,
 *                   private_key_jwt (exactly one of jwksUri — checked with
 *                   keys_check_uri() — or an inline jwks), none (default
 *                   and only choice for public clients). jwksUri/jwks are
 *                   refused with any other method.
 * Lists hold at most APP_LIST_MAX entries and refuse duplicates.
 *
 * Ownership: reference counted like idp_conf (atomically); immutable after
 * app_conf_parse() / app_conf_load() return. */
#ifndef GRANTD_OAUTH_APP_CONF_H
#define GRANTD_OAUTH_APP_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "jose/jwk.h"
#include "lib/crypto.h"
#include "lib/limits.h"
#include "oauth/idp_conf.h"
#include "store/store.h"

#define GRANT_TYPE_JWT_BEARER         "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GRANT_TYPE_REFRESH_TOKEN      "refresh_token"
#define GRANT_TYPE_CLIENT_CREDENTIALS "client_credentials"

/* Bounds of the application document (the admin API's input). */
#define APP_DESCRIPTION_MAX 1024      /* characters */
#define APP_LIST_MAX        100       /* entries of any list */
#define APP_URL_MAX         2048      /* bytes of a callback URL, audience or jwksUri */
#define APP_SCOPE_MAX       256       /* bytes of one scope token */
#define APP_TTL_MAX         315360000 /* seconds: 10 years */

/* Client credentials (docs/jwt-grant.md, docs/api/openapi.yaml): ids and secrets use only
 * [A-Za-z0-9_-]. Generated ids are APP_CLIENT_ID_LEN characters of
 * [A-Za-z0-9_]; an administrator may supply one of APP_CLIENT_ID_MIN to
 * LIMIT_CLIENT_ID characters of [A-Za-z0-9_-]. Secrets are APP_SECRET_BYTES
 * random bytes as base64url (APP_SECRET_LEN characters, 256 bits). */
#define APP_CLIENT_ID_LEN 28
#define APP_CLIENT_ID_MIN 28
#define APP_SECRET_BYTES  32
#define APP_SECRET_LEN    43

enum app_grant {
	APP_GRANT_JWT_BEARER = 1 << 0,
	APP_GRANT_REFRESH_TOKEN = 1 << 1,
	APP_GRANT_CLIENT_CREDENTIALS = 1 << 2,
};

enum app_auth_method {
	APP_AUTH_SECRET_BASIC = 1,
	APP_AUTH_SECRET_POST,
	APP_AUTH_PRIVATE_KEY_JWT,
	APP_AUTH_NONE, /* public client */
};

struct app_conf {
	char *id, *tenant_id; /* set by app_conf_load(); NULL after app_conf_parse() */
	char *name, *description;
	char *client_id;
	unsigned char secret_hash[SHA256_LEN]; /* from store_app; see has_secret */
	bool has_secret;
	unsigned grants;          /* enum app_grant bits */
	struct strlist callbacks; /* absolute URLs or "regexp=..." */
	bool public_client;
	bool jwt_access_token;         /* accessToken.type == "JWT" */
	int64_t user_access_token_ttl; /* seconds; 0 = server default */
	int64_t app_access_token_ttl;  /* seconds; 0 = server default */
	int64_t refresh_token_ttl;     /* seconds; 0 = server default */
	int renew_refresh_token;       /* 1, 0, or -1 = server default */
	struct strlist audiences;      /* idToken.audience; empty = the client id */
	int64_t id_token_ttl;          /* seconds; 0 = server default */
	struct strlist allowed_scopes;
	struct strlist allowed_idps; /* IdP names of the same tenant; empty = any */
	enum app_auth_method auth_method;
	char *client_jwks_uri;           /* private_key_jwt */
	struct jose_keyset *client_keys; /* private_key_jwt inline jwks */
	json_t *client_jwks;             /* that jwks as given, for app_conf_doc() */
	json_t *wso2;                    /* WSO2's OIDC members we keep, nested as given */
	json_t *wso2_app;                /* WSO2's application members we keep; or NULL */
	bool has_oidc;                   /* false: no OIDC configuration (nor client) yet */
	int refs;                        /* private */
};

/* Validates `doc` (rules above) and builds a config with one reference.
 * `cfg` supplies the jwks_endpoint rules for a jwksUri. Returns ST_OK;
 * ST_INVALID (or ST_UNSUPPORTED for a key type jose does not support)
 * with "<path>: <reason>" in `e`; ST_NOMEM. */
status app_conf_parse(const json_t *doc, const struct config *cfg, struct app_conf **out,
		      struct err *e);
/* Parses a stored application (its doc, as app_conf_parse) and adds the
 * store's id, tenant, secret hash. ST_INTERNAL when the stored document
 * does not parse or disagrees with the row (client id): such a row is a
 * bug or tampering, never the client's fault. */
status app_conf_load(const struct store_app *a, const struct config *cfg, struct app_conf **out,
		     struct err *e);
void app_conf_ref(struct app_conf *c);
/* Drops one reference; NULL is a no-op. */
void app_conf_free(struct app_conf *c);

/* The canonical stored document of `c` (a new reference; NULL on OOM).
 * Every member is present; lifetimes and renewRefreshToken that `c` leaves
 * to the server default are written with `cfg`'s current values, so an
 * application's token settings are fixed when it is saved (as in WSO2). */
json_t *app_conf_doc(const struct app_conf *c, const struct config *cfg);

/* Whether a client may authenticate to the token endpoint with `m`:
 * client_secret_basic and client_secret_post are interchangeable for a
 * confidential client registered with either (WSO2, Keycloak) and need a
 * stored secret; private_key_jwt only when registered; none only for a
 * public client. */
bool app_conf_accepts_auth(const struct app_conf *c, enum app_auth_method m);

/* Maps a grant_type parameter to its bit; 0 when unknown. */
unsigned app_grant_parse(const char *grant_type);

/* A new client id: APP_CLIENT_ID_LEN characters of [A-Za-z0-9_] from the
 * CSPRNG without modulo bias. ST_INTERNAL if the CSPRNG fails. */
status app_client_id_new(char out[APP_CLIENT_ID_LEN + 1]);
/* A new client secret: APP_SECRET_BYTES CSPRNG bytes as base64url. */
status app_secret_new(char out[APP_SECRET_LEN + 1]);
/* The store's client id of an application without an OIDC configuration:
 * "~" + its id. ST_INVALID when the id does not fit. */
#define APP_PLACEHOLDER_LEN (1 + 36)
status app_client_id_placeholder(const char *app_id, char out[APP_PLACEHOLDER_LEN + 1]);
bool app_client_id_is_placeholder(const char *client_id);
/* True for APP_CLIENT_ID_MIN..LIMIT_CLIENT_ID characters of [A-Za-z0-9_-]. */
bool app_client_id_valid(struct sv s);

#endif
