/* store.h - grantd's storage interface.
 *
 * Protocol and admin code see only this header. Backends (store_sqlite.c
 * now, store_pg.c later) fill a `struct store_ops`; the store_* functions
 * below dispatch through it. Every function is safe to call from any server
 * thread concurrently (backends keep one connection per thread or a pool).
 *
 * Ownership: read functions allocate every string of their results in the
 * caller's arena; nothing needs to be freed separately. Write functions copy
 * what they need. `e` may be NULL.
 *
 * Status conventions: ST_OK, ST_NOT_FOUND (no such row), ST_CONFLICT (unique
 * constraint: name/domain/client id/jti taken; a refresh token already used),
 * ST_IO (database failure, logged by the backend), ST_BUSY (lock timeout).
 *
 * Mutating admin operations take an optional `audit` record that is written
 * in the same transaction, so a change and its audit event land together. */
#ifndef GRANTD_STORE_STORE_H
#define GRANTD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/crypto.h"
#include "lib/err.h"

struct config;

#define STORE_ID_LEN UUID_STR_LEN /* ids are UUID v4 strings */

struct store_tenant {
	char *id;
	char *domain;
	bool active;
	int64_t created_at; /* unix seconds */
};

struct store_admin {
	char *id;
	char *tenant_id;
	char *username; /* without the @tenant suffix */
	char *pw_hash;  /* libsodium argon2id string (crypto_pwhash_str) */
	int64_t created_at;
};

/* An identity provider. `doc` is the admin API's JSON object (without `id`),
 * the source of truth for every field; the other fields are indexed copies. */
struct store_idp {
	char *id;
	char *tenant_id;
	char *name;
	char *issuer; /* idpIssuerName, "" when unset */
	bool enabled;
	char *doc;
	int64_t created_at, updated_at;
};

/* An application (service provider). `doc` is the admin API's JSON object
 * without `id` and without any client secret. */
struct store_app {
	char *id;
	char *tenant_id;
	char *name;
	char *client_id;
	unsigned char secret_hash[SHA256_LEN]; /* HMAC-SHA256(server secret, secret) */
	bool has_secret;                       /* false for public clients */
	char *doc;
	int64_t created_at, updated_at;
};

enum store_token_kind { STORE_TOKEN_ACCESS = 1, STORE_TOKEN_REFRESH = 2 };

/* An issued token, stored only by its keyed hash. */
struct store_token {
	unsigned char hash[SHA256_LEN];
	enum store_token_kind kind;
	char *tenant_id;
	char *app_id;
	char *client_id;
	char *idp_id;   /* NULL for client_credentials */
	char *subject;
	char *scope;    /* space-separated, "" when none */
	char *grant_type;
	char *chain_id; /* refresh-token family; access tokens carry their family too */
	int64_t issued_at, expires_at;
	bool revoked;
	bool used;      /* refresh token already rotated */
};

struct store_audit {
	char *id;        /* filled by the store when NULL */
	char *tenant_id;
	char *actor;     /* "admin" or "user@tenant" */
	char *action;    /* "create" | "update" | "delete" | "regenerate-secret" | ... */
	char *object_type; /* "identity-provider" | "application" | "tenant" */
	char *object_id;
	char *summary;   /* JSON text, never with secrets */
	int64_t at;      /* filled by the store when 0 */
};

struct store_page {
	int64_t limit;  /* 1..1000 */
	int64_t offset; /* >= 0 */
};

struct store;

struct store_ops {
	void (*close)(struct store *s);

	status (*tenant_create)(struct store *s, const struct store_tenant *t,
				const struct store_admin *owner, const struct store_audit *audit,
				struct err *e);
	status (*tenant_get)(struct store *s, struct arena *a, const char *id, struct store_tenant *out,
			     struct err *e);
	status (*tenant_get_by_domain)(struct store *s, struct arena *a, const char *domain,
				       struct store_tenant *out, struct err *e);
	status (*tenant_list)(struct store *s, struct arena *a, struct store_page pg,
			      struct store_tenant **items, size_t *n, int64_t *total, struct err *e);
	status (*tenant_set_active)(struct store *s, const char *id, bool active,
				    const struct store_audit *audit, struct err *e);

	status (*admin_put)(struct store *s, const struct store_admin *u, struct err *e);
	status (*admin_get)(struct store *s, struct arena *a, const char *tenant_id,
			    const char *username, struct store_admin *out, struct err *e);
	status (*admin_list)(struct store *s, struct arena *a, const char *tenant_id,
			     struct store_admin **items, size_t *n, struct err *e);

	status (*idp_create)(struct store *s, const struct store_idp *idp,
			     const struct store_audit *audit, struct err *e);
	status (*idp_update)(struct store *s, const struct store_idp *idp,
			     const struct store_audit *audit, struct err *e);
	status (*idp_delete)(struct store *s, const char *tenant_id, const char *id,
			     const struct store_audit *audit, struct err *e);
	status (*idp_get)(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			  struct store_idp *out, struct err *e);
	status (*idp_get_by_name)(struct store *s, struct arena *a, const char *tenant_id,
				  const char *name, struct store_idp *out, struct err *e);
	/* All IdPs of a tenant whose issuer or name equals `iss` (at most 2). */
	status (*idp_find_by_issuer)(struct store *s, struct arena *a, const char *tenant_id,
				     const char *iss, struct store_idp **items, size_t *n,
				     struct err *e);
	status (*idp_list)(struct store *s, struct arena *a, const char *tenant_id,
			   struct store_page pg, struct store_idp **items, size_t *n, int64_t *total,
			   struct err *e);

	status (*app_create)(struct store *s, const struct store_app *app,
			     const struct store_audit *audit, struct err *e);
	/* Updates name, doc, updated_at and (when has_secret) the secret hash. */
	status (*app_update)(struct store *s, const struct store_app *app,
			     const struct store_audit *audit, struct err *e);
	status (*app_delete)(struct store *s, const char *tenant_id, const char *id,
			     const struct store_audit *audit, struct err *e);
	status (*app_get)(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			  struct store_app *out, struct err *e);
	/* Client ids are globally unique; tenant_id NULL = any tenant. */
	status (*app_get_by_client_id)(struct store *s, struct arena *a, const char *tenant_id,
				       const char *client_id, struct store_app *out, struct err *e);
	status (*app_list)(struct store *s, struct arena *a, const char *tenant_id,
			   struct store_page pg, struct store_app **items, size_t *n, int64_t *total,
			   struct err *e);

	/* Stores an access token and optionally a refresh token atomically and
	 * durably; returns only after commit. */
	status (*tokens_put)(struct store *s, const struct store_token *access,
			     const struct store_token *refresh, struct err *e);
	status (*token_get)(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
			    struct store_token *out, struct err *e);
	/* Atomically marks a refresh token used and returns it. ST_CONFLICT (with
	 * `out` filled) when it was already used; ST_NOT_FOUND when unknown. */
	status (*refresh_use)(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
			      struct store_token *out, struct err *e);
	status (*token_revoke)(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e);
	status (*tokens_revoke_chain)(struct store *s, const char *chain_id, struct err *e);
	/* field: "app_id" or "idp_id". */
	status (*tokens_revoke_by)(struct store *s, const char *field, const char *value,
				   struct err *e);

	/* Records (tenant, iss, jti) until expires_at. ST_CONFLICT when a live
	 * record exists (an expired one is replaced). Durable on return. */
	status (*replay_record)(struct store *s, const char *tenant_id, const char *iss,
				const char *jti, int64_t expires_at, int64_t now, struct err *e);

	status (*audit_list)(struct store *s, struct arena *a, const char *tenant_id,
			     struct store_page pg, struct store_audit **items, size_t *n,
			     int64_t *total, struct err *e);

	/* Deletes expired replay records and tokens expired before `now`. */
	status (*purge_expired)(struct store *s, int64_t now, struct err *e);
};

struct store {
	const struct store_ops *ops;
};

/* Opens the backend named by config (database.type), creating and migrating
 * the schema. ST_CONFLICT when another grantd holds the data dir. */
status store_open(const struct config *cfg, struct store **out, struct err *e);
void store_close(struct store *s);

/* Current schema version applied by store_open (for `grantd version`/tests). */
int store_schema_version(void);

#endif
