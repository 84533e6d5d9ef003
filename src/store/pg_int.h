/* pg_int.h - what the files of the PostgreSQL backend share; internal to
 * src/store. The design is at the top of store_pg.c. */
#ifndef GRANTD_STORE_PG_INT_H
#define GRANTD_STORE_PG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "store/store.h"

/* ---- statements --------------------------------------------------------- */

/* clang-format off */
#define PG_TENANT_COLS "id, domain, active, created_at"
#define PG_ADMIN_COLS "id, tenant_id, username, pw_hash, created_at"
#define PG_IDP_COLS "id, tenant_id, name, issuer, enabled, doc, created_at, updated_at"
#define PG_APP_COLS "id, tenant_id, name, client_id, secret_hash, doc, created_at, updated_at"
#define PG_TOKEN_COLS                                                                           \
	"hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope, grant_type, chain_id, " \
	"issued_at, expires_at, revoked, used, jti"
#define PG_SKEY_COLS                                                                            \
	"tenant_id, kid, alg, public_jwk, private_enc, status, created_at, not_after_signing, "   \
	"publish_until"
#define PG_AUDIT_COLS "id, tenant_id, actor, action, object_type, object_id, summary, at"
/* The optional name condition of a list: $2 the operator or NULL, $3 the
 * value. No LIKE, so no value needs escaping. */
#define PG_NAME_FILTER                                                                          \
	" AND ($2::text IS NULL OR CASE $2::text WHEN 'eq' THEN name = $3::text "                \
	"WHEN 'sw' THEN left(name, length($3::text)) = $3::text "                                 \
	"WHEN 'ew' THEN right(name, length($3::text)) = $3::text "                                \
	"WHEN 'co' THEN strpos(name, $3::text) > 0 ELSE false END)"

#define PG_STATEMENTS(X)                                                                         \
	X(TENANT_INSERT, "INSERT INTO tenants (" PG_TENANT_COLS ") VALUES ($1, $2, $3, $4)")        \
	X(TENANT_GET, "SELECT " PG_TENANT_COLS " FROM tenants WHERE id = $1")                      \
	X(TENANT_GET_BY_DOMAIN, "SELECT " PG_TENANT_COLS " FROM tenants WHERE domain = $1")        \
	X(TENANT_COUNT, "SELECT count(*) FROM tenants")                                            \
	X(TENANT_PAGE, "SELECT " PG_TENANT_COLS " FROM tenants ORDER BY created_at, id "           \
		       "LIMIT $1 OFFSET $2")                                                        \
	X(TENANT_SET_ACTIVE, "UPDATE tenants SET active = $1 WHERE id = $2")                       \
	X(ADMIN_INSERT, "INSERT INTO admin_users (" PG_ADMIN_COLS ") VALUES ($1, $2, $3, $4, $5)") \
	X(ADMIN_UPSERT, "INSERT INTO admin_users (" PG_ADMIN_COLS ") VALUES ($1, $2, $3, $4, $5) "  \
			"ON CONFLICT (tenant_id, username) DO UPDATE SET pw_hash = excluded.pw_hash") \
	X(ADMIN_GET, "SELECT " PG_ADMIN_COLS " FROM admin_users "                                  \
		     "WHERE tenant_id = $1 AND username = $2")                                     \
	X(ADMIN_PAGE, "SELECT " PG_ADMIN_COLS " FROM admin_users WHERE tenant_id = $1 "            \
		      "ORDER BY created_at, id LIMIT $2")                                          \
	X(IDP_INSERT, "INSERT INTO identity_providers (" PG_IDP_COLS ") "                          \
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                   \
	X(IDP_UPDATE, "UPDATE identity_providers SET name = $1, issuer = $2, enabled = $3, "       \
		      "doc = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7")                \
	X(IDP_DELETE, "DELETE FROM identity_providers WHERE tenant_id = $1 AND id = $2")           \
	X(IDP_GET, "SELECT " PG_IDP_COLS " FROM identity_providers WHERE tenant_id = $1 AND id = $2") \
	X(IDP_GET_BY_NAME, "SELECT " PG_IDP_COLS " FROM identity_providers "                       \
			   "WHERE tenant_id = $1 AND name = $2")                                   \
	X(IDP_FIND_BY_ISSUER, "SELECT " PG_IDP_COLS " FROM identity_providers "                    \
			      "WHERE tenant_id = $1 AND (issuer = $2 OR name = $2) "              \
			      "ORDER BY issuer = $2 DESC, created_at, id LIMIT $3")               \
	X(IDP_COUNT, "SELECT count(*) FROM identity_providers WHERE tenant_id = $1" PG_NAME_FILTER) \
	X(IDP_PAGE, "SELECT " PG_IDP_COLS " FROM identity_providers WHERE tenant_id = $1"          \
		    PG_NAME_FILTER " ORDER BY created_at, id LIMIT $4 OFFSET $5")                  \
	X(APP_INSERT, "INSERT INTO applications (" PG_APP_COLS ") "                                \
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                   \
	X(APP_UPDATE, "UPDATE applications SET name = $1, client_id = $2, doc = $3, "             \
		      "updated_at = $4 WHERE tenant_id = $5 AND id = $6")                          \
	X(APP_SECRET_GET, "SELECT secret_hash FROM applications WHERE tenant_id = $1 AND id = $2 " \
			  "FOR UPDATE")                                                            \
	X(APP_SECRET_SET, "UPDATE applications SET secret_hash = $1 WHERE tenant_id = $2 AND id = $3") \
	X(APP_DELETE, "DELETE FROM applications WHERE tenant_id = $1 AND id = $2")                 \
	X(APP_GET, "SELECT " PG_APP_COLS " FROM applications WHERE tenant_id = $1 AND id = $2")    \
	X(APP_GET_BY_CLIENT_ID, "SELECT " PG_APP_COLS " FROM applications "                        \
				"WHERE client_id = $1 AND ($2::text IS NULL OR tenant_id = $2)")  \
	X(APP_COUNT, "SELECT count(*) FROM applications WHERE tenant_id = $1" PG_NAME_FILTER)      \
	X(APP_PAGE, "SELECT " PG_APP_COLS " FROM applications WHERE tenant_id = $1"                \
		    PG_NAME_FILTER " ORDER BY created_at, id LIMIT $4 OFFSET $5")                  \
	X(TOKEN_INSERT, "INSERT INTO tokens (" PG_TOKEN_COLS ") VALUES "                           \
			"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")     \
	X(TOKEN_GET, "SELECT " PG_TOKEN_COLS " FROM tokens WHERE hash = $1")                       \
	X(REFRESH_USE, "UPDATE tokens SET used = 1 WHERE hash = $1 AND kind = 2 AND used = 0 "     \
		       "RETURNING " PG_TOKEN_COLS)                                                 \
	X(REFRESH_MARK_USED, "UPDATE tokens SET used = 1 WHERE hash = $1 AND kind = 2 AND used = 0") \
	X(REFRESH_GET, "SELECT " PG_TOKEN_COLS " FROM tokens WHERE hash = $1 AND kind = 2")        \
	X(TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE hash = $1")                           \
	X(TOKENS_REVOKE_CHAIN, "UPDATE tokens SET revoked = 1 WHERE chain_id = $1 AND revoked = 0") \
	X(TOKENS_REVOKE_APP, "UPDATE tokens SET revoked = 1 WHERE app_id = $1 AND revoked = 0")    \
	X(TOKENS_REVOKE_IDP, "UPDATE tokens SET revoked = 1 WHERE idp_id = $1 AND revoked = 0")    \
	X(REPLAY_RECORD, "INSERT INTO replay (tenant_id, iss, jti, expires_at) "                   \
			 "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, iss, jti) "             \
			 "DO UPDATE SET expires_at = excluded.expires_at "                        \
			 "WHERE replay.expires_at <= $5")                                         \
	X(REPLAY_SEEN, "SELECT 1 FROM replay WHERE tenant_id = $1 AND iss = $2 AND jti = $3 "     \
		       "AND expires_at > $4")                                                     \
	X(SKEY_ACTIVE, "SELECT 1 FROM signing_keys WHERE tenant_id = $1 AND status = 1")          \
	X(SKEY_LOCK, "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")                             \
	X(SKEY_RETIRE, "UPDATE signing_keys SET status = 2, not_after_signing = $1, "              \
		       "publish_until = $2 WHERE tenant_id = $3 AND status = 1")                  \
	X(SKEY_INSERT, "INSERT INTO signing_keys (" PG_SKEY_COLS ") "                              \
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")                              \
	X(SKEY_LIST, "SELECT " PG_SKEY_COLS " FROM signing_keys WHERE tenant_id = $1 AND "         \
		     "(status = 1 OR publish_until > $2) ORDER BY status, created_at DESC, kid "  \
		     "LIMIT $3")                                                                   \
	X(AUDIT_INSERT, "INSERT INTO audit_events (" PG_AUDIT_COLS ") "                            \
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                \
	X(AUDIT_COUNT_ALL, "SELECT count(*) FROM audit_events")                                    \
	X(AUDIT_PAGE_ALL, "SELECT " PG_AUDIT_COLS " FROM audit_events "                            \
			  "ORDER BY at DESC, seq DESC LIMIT $1 OFFSET $2")                        \
	X(AUDIT_COUNT, "SELECT count(*) FROM audit_events WHERE tenant_id = $1")                   \
	X(AUDIT_PAGE, "SELECT " PG_AUDIT_COLS " FROM audit_events WHERE tenant_id = $1 "           \
		      "ORDER BY at DESC, seq DESC LIMIT $2 OFFSET $3")                            \
	X(PURGE_REPLAY, "DELETE FROM replay WHERE ctid IN "                                        \
			"(SELECT ctid FROM replay WHERE expires_at <= $1 LIMIT $2)")              \
	X(PURGE_TOKENS, "DELETE FROM tokens WHERE ctid IN "                                        \
			"(SELECT ctid FROM tokens WHERE expires_at <= $1 LIMIT $2)")              \
	X(PURGE_SKEYS, "DELETE FROM signing_keys WHERE ctid IN (SELECT ctid FROM signing_keys "    \
		       "WHERE status = 2 AND publish_until <= $1 LIMIT $2)")                      \
	X(PING, "SELECT 1")
/* clang-format on */

#define PX_ENUM(name, text) PGQ_##name,
enum pgq { PG_STATEMENTS(PX_ENUM) PGQ__COUNT };
#undef PX_ENUM

/* ---- store, connections -------------------------------------------------- */

struct pgconn {
	PGconn *pc;
	bool prepared[PGQ__COUNT];
	int uses;            /* statements since checkout; 0 = may retry on a new connection */
	char constraint[64]; /* the unique/foreign key constraint of the last violation */
};

struct pg_job;

struct pg_store {
	struct store base; /* first */
	char *url;
	int pool_size;
	int64_t timeout_ms; /* connecting, and waiting for a pooled connection */

	pthread_mutex_t mu; /* the pool and the reconnect state */
	pthread_cond_t cv;
	struct pgconn *conns;
	bool *busy;
	int64_t retry_at_ms; /* while the database is down: no connect before this */
	int backoff_ms;

	/* Writer threads for grant_submit. q_mu guards the queue. */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct pg_job *q_head, *q_tail;
	bool q_stop;
	int nwriters;
	pthread_t writers[16];
	uint64_t n_writes, n_commits, n_pending;

	/* The change feed (watch). */
	store_change_fn watch_fn;
	void *watch_arg;
	bool watch_on;
	int wake[2];
	pthread_t watcher;
};

static inline struct pg_store *pgs(struct store *s)
{
	return (struct pg_store *)s;
}

/* ---- parameters and results ------------------------------------------------ */

#define PG_MAX_PARAMS 16

struct pgp {
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	int n;
};

void pgp_text(struct pgp *p, const char *s);
void pgp_int(struct pgp *p, int64_t v);
void pgp_blob(struct pgp *p, const void *b, size_t n); /* NULL binds SQL NULL */

/* Reads of a result (text format), copied into the arena; `bad` is set
 * when a copy fails or a value is malformed. */
struct pgr {
	PGresult *res;
	int row;
	struct arena *a;
	bool bad;
};

char *pgr_str(struct pgr *r, int col);
int64_t pgr_int(struct pgr *r, int col);
bool pgr_hash(struct pgr *r, int col, unsigned char out[SHA256_LEN]);
unsigned char *pgr_blob(struct pgr *r, int col, size_t *n);

/* ---- running statements ---------------------------------------------------- */

/* A pooled connection for one operation: ST_OK, or ST_UNAVAILABLE when none
 * is free in time or the database cannot be reached (with backoff). */
status pg_checkout(struct pg_store *s, struct pgconn **out, struct err *e);
void pg_checkin(struct pg_store *s, struct pgconn *c);

/* Runs statement `id` with `p` (may be NULL). ST_OK with the result in *out
 * (PQclear it; out may be NULL). ST_CONFLICT on a unique violation and
 * ST_NOT_FOUND on a foreign key violation (constraint in c->constraint,
 * no message: the caller words it); ST_UNAVAILABLE on a lost connection;
 * ST_BUSY on a serialization failure or deadlock; ST_IO otherwise. */
status pg_run(struct pg_store *s, struct pgconn *c, enum pgq id, const struct pgp *p,
	      PGresult **out, const char *what, struct err *e);
/* Rows changed by the statement of `res`. */
int64_t pg_changes(PGresult *res);

typedef status (*pg_body)(struct pg_store *s, struct pgconn *c, void *arg, struct err *e);
/* BEGIN; body; COMMIT (ROLLBACK on failure), on a pooled connection. */
status pg_write(struct pg_store *s, pg_body body, void *arg, struct err *e);

/* One row by up to two text keys; ST_NOT_FOUND (no message) when none. */
typedef bool (*pg_row_fn)(struct pgr *r, void *out);
status pg_get(struct pg_store *s, enum pgq id, const char *k1, const char *k2, struct arena *a,
	      pg_row_fn fn, void *out, const char *what, struct err *e);

/* A page of rows: count with `count` and `cp` (may be NULL: no total), read
 * with `page` and `pp`, each row into an element of `elem` bytes. */
status pg_list(struct pg_store *s, enum pgq count, const struct pgp *cp, enum pgq page,
	       const struct pgp *pp, struct arena *a, size_t elem, size_t max, pg_row_fn fn,
	       void **items, size_t *n, int64_t *total, const char *what, struct err *e);

int64_t pg_now(void);
static inline int64_t pg_now_or(int64_t t)
{
	return t != 0 ? t : pg_now();
}

/* Queues `body` for a writer thread, which runs it with pg_write and then
 * calls done(done_arg, status). `space` holds the queue entry
 * (store_grant_tx.backend). */
void pg_submit(struct pg_store *s, void *space, pg_body body, void *arg, struct err *e,
	       void (*done)(void *arg, status st), void *done_arg);

void pg_close(struct store *base);
void pg_stats(struct store *base, struct store_stats *out);
status pg_watch(struct store *base, store_change_fn fn, void *arg, struct err *e);
status pg_ping(struct store *base, struct err *e);

/* ---- the operations (pg_data.c) --------------------------------------------- */

extern const struct store_ops pg_ops;

#endif
