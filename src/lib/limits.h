/* limits.h - the bounds on untrusted input that more than one layer uses:
 * HTTP, forms, names and credentials, deployment.toml, JOSE.
 *
 * A document model's own bounds live next to the rules they belong to (the
 * application's in oauth/app_conf.h, the IdP's in oauth/idp_conf.h, WSO2's
 * kept members in oauth/conf_util.h, JWKS fetches in keys/keys.h), and what
 * an operator may tune comes from the config snapshot (max_body_size,
 * max_header_size, max_assertion_size, ...). docs/security.md, "Bounded
 * input", lists them all. */
#ifndef GRANTD_LIB_LIMITS_H
#define GRANTD_LIB_LIMITS_H

/* HTTP */
#define LIMIT_HTTP_PATH  2048        /* request path bytes */
#define LIMIT_HTTP_QUERY 4096        /* query string bytes */
#define LIMIT_TOKEN_BODY (64 * 1024) /* token/introspect/revoke form bodies */
#define LIMIT_ADMIN_BODY                                                                           \
	(1024 * 1024) /* admin routes take a body: replaced by [server] max_body_size */
#define LIMIT_SESSION_BODY 4096      /* console login {username, password} */
#define LIMIT_ROUTE_PARAMS 4
#define LIMIT_PAGE_OFFSET  1000000000 /* admin list ?offset= (no overflow in startIndex) */

/* application/x-www-form-urlencoded */
#define LIMIT_FORM_PARAMS 64  /* pairs per body */
#define LIMIT_FORM_KEY    128 /* decoded key bytes */

/* Tenants, names, identifiers */
#define LIMIT_TENANT_DOMAIN 253
#define LIMIT_NAME          255
#define LIMIT_CLIENT_ID     64
#define LIMIT_SECRET        256
#define LIMIT_USERNAME      128
#define LIMIT_PASSWORD      1024

/* deployment.toml */
#define LIMIT_CONFIG_FILE  (1024 * 1024)
#define LIMIT_CONFIG_LINE  4096
#define LIMIT_CONFIG_ARRAY 32

/* JOSE */
#define LIMIT_JWS_DEFAULT 16384 /* default max_assertion_size */
#define LIMIT_JOSE_HEADER 4096  /* decoded header JSON bytes */
#define LIMIT_JSON_DEPTH  16
#define LIMIT_JWKS_KEYS   64
#define LIMIT_IDP_CERTS   16

/* WSO2 IS 7 export files (grantd import, POST /api/server/v1/import;
 * docs/import.md) */
#define LIMIT_IMPORT_FILE (1024 * 1024) /* bytes of one export file */
#define LIMIT_IMPORT_DEPTH 32           /* nesting of elements, mappings, arrays */
#define LIMIT_IMPORT_NODES 20000        /* elements / YAML nodes / JSON values */
#define LIMIT_IMPORT_FILES 64           /* files per grantd import */

#endif
