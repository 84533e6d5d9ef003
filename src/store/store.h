/* store.h - grantd's storage interface.
 *
 * Protocol and admin code see only this header. Backends (store_sqlite.c
 * and store_pg.c) fill a `struct store_ops`; the store_* functions
 * below dispatch through it. Every function is safe to call from any server
 * thread concurrently (backends keep one connection per thread or a pool).
 *
 * Ownership: read functions allocate every string of their results in the
 * caller's arena; nothing needs to be freed separately. Write functions copy
 * what they need. `e` may be NULL.
 *
 * Status conventions: ST_OK, ST_NOT_FOUND (no such row), ST_CONFLICT (unique
 * constraint: name/domain/client id/jti taken; a refresh token already used),
 * ST_IO (database failure, logged by the backend), ST_BUSY (lock timeout),
 * ST_UNAVAILABLE (the database cannot be reached now: a network backend
 * whose connection is lost; nothing was written; retry later).
 *
 * Mutating admin operations take an optional `audit` record that is written
 * in the same transaction, so a change and its audit event land together;
 * when the change fails, no audit row is written.
 *
 * Lists are ordered by created_at, then id (audit events: newest first, by
 * `at` then insertion order, both descending), report the total number of
 * matching rows in `*total`, and clamp the page: limit to 1..STORE_PAGE_MAX,
 * a negative offset to 0.
 *
 * Timestamps are unix seconds; a created_at/updated_at of 0 in a record
 * being written means "now". Ids of new records are chosen by the caller. */
#ifndef GRANTD_STORE_STORE_H
#define GRANTD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/crypto.h"
#include "lib/err.h"

struct config;

#define STORE_ID_LEN       UUID_STR_LEN /* ids are UUID v4 strings */
#define STORE_PAGE_MAX     1000         /* largest page a list returns */
#define STORE_IDP_FIND_MAX 16           /* most rows idp_find_by_issuer returns */

struct store_tenant {
	char *id;
	char *domain; /* stored and matched in ASCII lower case */
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
	char *idp_id; /* NULL for client_credentials */
	char *subject;
	char *scope; /* space-separated, "" when none */
	char *grant_type;
	char *chain_id; /* refresh-token family; access tokens carry their family too */
	int64_t issued_at, expires_at;
	bool revoked;
	bool used; /* refresh token already rotated */
	char *jti; /* a JWT access token's jti; NULL for opaque tokens */
};

/* One of a tenant's token-signing keys (src/oauth/signkeys.c). The private
 * key is stored only encrypted (`private_enc`, opaque to the store); the
 * public JWK is the JSON text served at /oauth2/jwks. */
enum store_key_status { STORE_KEY_ACTIVE = 1, STORE_KEY_RETIRED = 2 };

struct store_signing_key {
	char *tenant_id;
	char *kid; /* unique per tenant */
	char *alg; /* "RS256" | "ES256" | "EdDSA" | ... */
	char *public_jwk;
	unsigned char *private_enc;
	size_t private_enc_len;
	enum store_key_status status;
	int64_t created_at;        /* 0 = now when written */
	int64_t not_after_signing; /* when it stopped signing; 0 while active */
	int64_t publish_until;     /* retired keys: published until then */
};

struct store_audit {
	char *id;          /* filled by the store when NULL */
	char *tenant_id;   /* NULL for server-wide events */
	char *actor;       /* "admin" or "user@tenant" */
	char *action;      /* "create" | "update" | "delete" | "regenerate-secret" | ... */
	char *object_type; /* "identity-provider" | "application" | "tenant" */
	char *object_id;
	char *summary; /* JSON text, never with secrets */
	int64_t at;    /* filled by the store when 0 */
};

/* A used assertion id: (tenant, iss, jti) may not be used again until
 * expires_at. */
struct store_replay {
	const char *tenant_id;
	const char *iss;
	const char *jti;
	int64_t expires_at;
};

#define STORE_TX_REPLAYS       2  /* the grant's assertion and a client assertion */
#define STORE_TX_BACKEND_WORDS 12 /* see store_grant_tx.backend */

/* Which part of a grant transaction conflicted (see grant_commit). */
enum store_tx_part {
	STORE_TX_NONE = 0,
	STORE_TX_REPLAY,      /* replays[conflict_replay] is a live record */
	STORE_TX_REFRESH_USE, /* the refresh token was already used, or is gone */
};

/* Everything one token request writes. grant_commit applies it in this
 * order, all or nothing: the replay records, marking the refresh token
 * used, inserting the access token, inserting the refresh token. */
struct store_grant_tx {
	int64_t now; /* an expired replay record (expires_at <= now) is replaced */
	struct store_replay replays[STORE_TX_REPLAYS];
	size_t nreplays;
	const unsigned char *refresh_use;  /* SHA256_LEN hash to mark used; NULL = none */
	const struct store_token *access;  /* NULL = none */
	const struct store_token *refresh; /* NULL = none */
	/* Out, on ST_CONFLICT: what conflicted. */
	enum store_tx_part conflict;
	size_t conflict_replay;
	/* Private to the backend from grant_submit until its `done`: the
	 * queue entry, so that submitting allocates nothing. */
	void *backend[STORE_TX_BACKEND_WORDS];
};

/* Counters of the write path, for logs, metrics and tests. */
struct store_stats {
	uint64_t writes;    /* write transactions finished (committed or failed) */
	uint64_t commits;   /* commits (fsyncs) that carried them */
	uint64_t pending;   /* write transactions submitted and not yet finished */
	int64_t wal_frames; /* SQLite: WAL size after the last commit, in pages */
};

/* A committed change to cached configuration, from any node (see watch). */
enum store_change_kind {
	STORE_CHANGE_TENANT = 1,  /* id = the tenant's domain */
	STORE_CHANGE_IDP,         /* id = the IdP's id */
	STORE_CHANGE_APP,         /* id = NULL: any application of the tenant */
	STORE_CHANGE_SIGNING_KEY, /* id = NULL: the tenant's signing keys */
	STORE_CHANGE_ALL,         /* changes may have been missed: drop every cache */
};

struct store_change {
	enum store_change_kind kind;
	const char *tenant_id; /* NULL with STORE_CHANGE_ALL */
	const char *id;        /* see the kinds; may be NULL */
};

/* Called by the backend's listener thread for each change; must not block
 * long and must not call the store. `ch` is valid during the call only. */
typedef void (*store_change_fn)(void *arg, const struct store_change *ch);

struct store_page {
	int64_t limit;  /* 1..1000 */
	int64_t offset; /* >= 0 */
	/* Identity providers and applications only: a condition on the name,
	 * "eq" (equal), "sw" (starts with), "ew" (ends with) or "co"
	 * (contains), case-sensitive, on a non-empty `name_value`; NULL = all. */
	const char *name_op, *name_value;
};

struct store;

struct store_ops {
	void (*close)(struct store *s);

	/* Creates the tenant and, when `owner` is not NULL, its first admin.
	 * ST_CONFLICT when the domain is taken. */
	status (*tenant_create)(struct store *s, const struct store_tenant *t,
				const struct store_admin *owner, const struct store_audit *audit,
				struct err *e);
	status (*tenant_get)(struct store *s, struct arena *a, const char *id,
			     struct store_tenant *out, struct err *e);
	/* `domain` is matched case-insensitively (ASCII). */
	status (*tenant_get_by_domain)(struct store *s, struct arena *a, const char *domain,
				       struct store_tenant *out, struct err *e);
	status (*tenant_list)(struct store *s, struct arena *a, struct store_page pg,
			      struct store_tenant **items, size_t *n, int64_t *total,
			      struct err *e);
	status (*tenant_set_active)(struct store *s, const char *id, bool active,
				    const struct store_audit *audit, struct err *e);

	/* Inserts the admin, or when (tenant_id, username) exists, replaces its
	 * pw_hash (id and created_at are kept). ST_NOT_FOUND: no such tenant. */
	status (*admin_put)(struct store *s, const struct store_admin *u, struct err *e);
	status (*admin_get)(struct store *s, struct arena *a, const char *tenant_id,
			    const char *username, struct store_admin *out, struct err *e);
	/* The first STORE_PAGE_MAX admins of the tenant. */
	status (*admin_list)(struct store *s, struct arena *a, const char *tenant_id,
			     struct store_admin **items, size_t *n, struct err *e);

	/* ST_CONFLICT when the name is taken in the tenant; ST_NOT_FOUND when
	 * the tenant does not exist. */
	status (*idp_create)(struct store *s, const struct store_idp *idp,
			     const struct store_audit *audit, struct err *e);
	/* Updates name, issuer, enabled, doc and updated_at of (tenant_id, id).
	 * When the IdP is saved disabled, the tokens issued through it are
	 * revoked in the same transaction (docs/jwt-grant.md, "Revocation by the
	 * server"). */
	status (*idp_update)(struct store *s, const struct store_idp *idp,
			     const struct store_audit *audit, struct err *e);
	/* Deletes the IdP and revokes the tokens issued through it. */
	status (*idp_delete)(struct store *s, const char *tenant_id, const char *id,
			     const struct store_audit *audit, struct err *e);
	status (*idp_get)(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			  struct store_idp *out, struct err *e);
	status (*idp_get_by_name)(struct store *s, struct arena *a, const char *tenant_id,
				  const char *name, struct store_idp *out, struct err *e);
	/* The IdPs of a tenant whose issuer or name equals `iss`: issuer matches
	 * first (oldest first), then the name match; at most STORE_IDP_FIND_MAX.
	 * ST_OK with *n == 0 when there is none. */
	status (*idp_find_by_issuer)(struct store *s, struct arena *a, const char *tenant_id,
				     const char *iss, struct store_idp **items, size_t *n,
				     struct err *e);
	status (*idp_list)(struct store *s, struct arena *a, const char *tenant_id,
			   struct store_page pg, struct store_idp **items, size_t *n,
			   int64_t *total, struct err *e);

	status (*app_create)(struct store *s, const struct store_app *app,
			     const struct store_audit *audit, struct err *e);
	/* Updates name, client id (an application's first OIDC configuration
	 * replaces its placeholder), doc, updated_at and (when has_secret) the
	 * secret hash; a client id already taken is ST_CONFLICT.
	 * When an existing secret hash is replaced by a different one (secret
	 * regenerated), the app's tokens are revoked in the same transaction. */
	status (*app_update)(struct store *s, const struct store_app *app,
			     const struct store_audit *audit, struct err *e);
	/* Deletes the app and revokes its tokens in the same transaction. */
	status (*app_delete)(struct store *s, const char *tenant_id, const char *id,
			     const struct store_audit *audit, struct err *e);
	status (*app_get)(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			  struct store_app *out, struct err *e);
	/* Client ids are globally unique; tenant_id NULL = any tenant. */
	status (*app_get_by_client_id)(struct store *s, struct arena *a, const char *tenant_id,
				       const char *client_id, struct store_app *out, struct err *e);
	status (*app_list)(struct store *s, struct arena *a, const char *tenant_id,
			   struct store_page pg, struct store_app **items, size_t *n,
			   int64_t *total, struct err *e);

	/* The write of one token request, as one transaction: all of `tx` is
	 * written or none of it. Returns only once the rows are durable.
	 * Concurrent calls are batched into one commit (group commit): a call
	 * that finds the writer idle is committed at once, the calls that
	 * arrive meanwhile share the next commit. A replay record or refresh
	 * token of a call that is still in an uncommitted batch conflicts like
	 * a committed one. ST_OK; ST_CONFLICT with tx->conflict (and
	 * tx->conflict_replay) saying what, nothing written; ST_INVALID for a
	 * malformed tx; ST_IO/ST_BUSY/ST_NOMEM (nothing written). */
	status (*grant_commit)(struct store *s, struct store_grant_tx *tx, struct err *e);

	/* grant_commit without waiting: for a request thread that must not
	 * block while the commit is on disk (the token endpoint answers from
	 * a continuation, http.h http_defer).
	 *
	 * Returns ST_OK when `tx` is queued: `done(arg, st)` is then called
	 * exactly once, with grant_commit's status (and tx->conflict,
	 * tx->conflict_replay and `e` filled as grant_commit fills them),
	 * once the commit that holds the rows is durable, or once the
	 * transaction failed (nothing written). `done` runs on a backend
	 * thread (the writer that batches the commits) or, rarely, on the
	 * calling thread before grant_submit returns; it must do almost
	 * nothing - record `st`, wake or resume whoever waits - and must not
	 * call the store. Any other status (ST_INVALID for a malformed tx,
	 * ST_NOMEM) means nothing was queued and `done` is never called.
	 *
	 * Memory: `tx`, everything it points to and `e` (may be NULL) must
	 * stay valid and untouched until `done` has been called; the backend
	 * keeps its queue entry in tx->backend (nothing is allocated, so the
	 * caller's arena owns it all). Transactions submitted this way and
	 * through grant_commit share the same batches, ordering and conflict
	 * rules. A backend without a writer thread (PostgreSQL: a pool of
	 * connections) may run the transaction on a pool thread and call
	 * `done` from there. The store must not be closed while a submitted
	 * transaction has not called `done` yet: store_close first finishes
	 * everything queued. */
	status (*grant_submit)(struct store *s, struct store_grant_tx *tx,
			       void (*done)(void *arg, status st), void *arg, struct err *e);

	/* Stores an access token and optionally a refresh token atomically and
	 * durably; returns only after commit. */
	status (*tokens_put)(struct store *s, const struct store_token *access,
			     const struct store_token *refresh, struct err *e);
	status (*token_get)(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
			    struct store_token *out, struct err *e);
	/* Atomically marks a refresh token used and returns it (as it is after
	 * the call: used = true). ST_CONFLICT (with `out` filled) when it was
	 * already used; ST_NOT_FOUND when unknown or not a refresh token.
	 * Revocation and expiry are reported in `out`, not checked: the caller
	 * decides. */
	status (*refresh_use)(struct store *s, struct arena *a,
			      const unsigned char hash[SHA256_LEN], struct store_token *out,
			      struct err *e);
	/* ST_NOT_FOUND when no such token. */
	status (*token_revoke)(struct store *s, const unsigned char hash[SHA256_LEN],
			       struct err *e);
	/* The bulk revocations succeed when nothing matches. */
	status (*tokens_revoke_chain)(struct store *s, const char *chain_id, struct err *e);
	/* field: "app_id" or "idp_id" (anything else: ST_INVALID). */
	status (*tokens_revoke_by)(struct store *s, const char *field, const char *value,
				   struct err *e);

	/* Records (tenant, iss, jti) until expires_at. ST_CONFLICT when a live
	 * record exists (an expired one is replaced). Durable on return. */
	status (*replay_record)(struct store *s, const char *tenant_id, const char *iss,
				const char *jti, int64_t expires_at, int64_t now, struct err *e);

	/* Read-only: *seen = true when a live record (expires_at > now) exists
	 * for (tenant, iss, jti). For the dry run, which must record nothing. */
	status (*replay_seen)(struct store *s, const char *tenant_id, const char *iss,
			      const char *jti, int64_t now, bool *seen, struct err *e);

	/* Adds a signing key as the tenant's active key, in one transaction.
	 * When `retire` is false and the tenant already has an active key,
	 * nothing is written: ST_CONFLICT (another thread or node created one
	 * first; read it). When `retire` is true (rotation), the active keys
	 * become STORE_KEY_RETIRED with not_after_signing = k->created_at (or
	 * now) and publish_until = `publish_until`. ST_NOT_FOUND when the
	 * tenant does not exist. */
	status (*signing_key_add)(struct store *s, const struct store_signing_key *k, bool retire,
				  int64_t publish_until, struct err *e);
	/* The tenant's active keys and the retired keys with publish_until >
	 * now, active first, then newest first; at most LIMIT_JWKS_KEYS. */
	status (*signing_keys_list)(struct store *s, struct arena *a, const char *tenant_id,
				    int64_t now, struct store_signing_key **items, size_t *n,
				    struct err *e);

	/* Newest first. tenant_id NULL = the events of every tenant. */
	status (*audit_list)(struct store *s, struct arena *a, const char *tenant_id,
			     struct store_page pg, struct store_audit **items, size_t *n,
			     int64_t *total, struct err *e);

	/* Deletes replay records and tokens with expires_at <= now, and
	 * retired signing keys with publish_until <= now, in small
	 * batches (each its own transaction) so writers are never held up long.
	 * Meant for a background thread, never a request. */
	status (*purge_expired)(struct store *s, int64_t now, struct err *e);

	/* A snapshot of the counters; never fails. */
	void (*stats)(struct store *s, struct store_stats *out);

	/* Starts delivering the changes every node commits to tenants,
	 * identity providers, applications and signing keys, to `fn` on a
	 * backend thread, until close (docs/operations.md, "Several nodes").
	 * After a lost and regained connection it delivers STORE_CHANGE_ALL
	 * first. Call at most once. ST_UNSUPPORTED when the backend serves one
	 * node only (SQLite: the data-dir lock admits a single grantd), so the
	 * caller's own invalidations suffice. */
	status (*watch)(struct store *s, store_change_fn fn, void *arg, struct err *e);

	/* ST_OK when the database answers now; ST_IO (with the reason) when
	 * it does not, within a bounded time. For /healthz. */
	status (*ping)(struct store *s, struct err *e);
};

struct store {
	const struct store_ops *ops;
	/* Set by store_open: the schema version the database had before
	 * migrating (0 = new database) and how many migrations it applied. */
	int schema_found;
	int migrations_applied;
};

/* Opens the backend named by config (database.type: "sqlite" or "postgres";
 * anything else -> ST_INVALID), and
 * creates or migrates the schema. SQLite: database.path (default
 * <data_dir>/grantd.db) is created 0600 when missing; its directory must
 * exist (ST_IO otherwise). A database whose schema is newer than this binary
 * knows is refused (ST_UNSUPPORTED). Locking the data dir against a second
 * grantd is the caller's job (app), not the store's. */
status store_open(const struct config *cfg, struct store **out, struct err *e);
/* Closes every connection. Call it once no other thread uses the store (s
 * may be NULL). */
void store_close(struct store *s);

/* A copy of a PostgreSQL URL or key=value conninfo with its password
 * replaced by "****", for messages and check-config; the result is written
 * to out (size n, always terminated). Never fails: anything unparsable is
 * shown as "(unparsable connection string)". */
void store_pg_url_mask(const char *url, char *out, size_t n);
/* Whether libpq accepts `url` as a URL or conninfo (its parameters
 * included): ST_INVALID, with the URL masked in the message, when not.
 * store_open checks it, and check-config, so both refuse the same. */
status store_pg_url_check(const char *url, struct err *e);

/* The schema version this binary creates and migrates to. */
int store_schema_version(void);

/* Rows copied from one table by store_copy_sqlite_to_pg. */
struct store_copy_count {
	const char *table;
	int64_t rows;
};

#define STORE_COPY_TABLES 8

/* Copies every row of the SQLite database at `sqlite_path` (grantd's
 * schema, at this binary's version, opened read-only) into the PostgreSQL
 * database `pg_url`, whose schema store_open has created and which holds no
 * data yet (ST_CONFLICT otherwise), in one transaction: on any failure
 * nothing is written. `counts` gets each table's rows. grantd migrate;
 * docs/operations.md, "Moving from SQLite to PostgreSQL". */
status store_copy_sqlite_to_pg(const char *sqlite_path, const char *pg_url,
			       struct store_copy_count counts[STORE_COPY_TABLES], struct err *e);

#endif
