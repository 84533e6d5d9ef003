/* pg_int.h - what the files of the PostgreSQL backend share; internal to
 * src/store. The design and the list of files are at the top of
 * store_pg.c. Names with the pg_ prefix are defined once, in the file their
 * section names; the helpers of struct q and struct rd are static inline. */
#ifndef GRANTD_STORE_PG_INT_H
#define GRANTD_STORE_PG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "store/store.h"

/* ---- statements --------------------------------------------------------- */

/* clang-format off */
#define TENANT_COLS "id, domain, active, created_at"
#define ADMIN_COLS "id, tenant_id, username, pw_hash, created_at"
#define IDP_COLS "id, tenant_id, name, issuer, enabled, doc, created_at, updated_at"
#define APP_COLS "id, tenant_id, name, client_id, secret_hash, doc, created_at, updated_at"
#define TOKEN_COLS                                                                              \
	"hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope, grant_type, chain_id, " \
	"issued_at, expires_at, revoked, used, jti"
#define SKEY_COLS                                                                               \
	"tenant_id, kid, alg, public_jwk, private_enc, status, created_at, not_after_signing, "   \
	"publish_until"
#define AUDIT_COLS "id, tenant_id, actor, action, object_type, object_id, summary, at"
/* The page parameters follow the filter's ($1 key, $2 op, $3 value). */
#define PAGE2 " LIMIT $2 OFFSET $3"
#define PAGE3 " LIMIT $3 OFFSET $4"
#define PAGE4 " LIMIT $4 OFFSET $5"
/* The optional name condition of a list (struct store_page): $2 the
 * operator or NULL, $3 the value. No LIKE, so no value needs escaping. */
#define NAME_FILTER                                                                                \
	" AND ($2::text IS NULL OR CASE $2::text WHEN 'eq' THEN name = $3::text "                  \
	"WHEN 'sw' THEN left(name, length($3::text)) = $3::text "                                  \
	"WHEN 'ew' THEN length(name) >= length($3::text) AND right(name, length($3::text)) = $3::text " \
	"WHEN 'co' THEN strpos(name, $3::text) > 0 ELSE false END)"

#define PG_STATEMENTS(X)                                                                         \
	X(TENANT_INSERT, "INSERT INTO tenants (" TENANT_COLS ") VALUES ($1, $2, $3, $4)")          \
	X(TENANT_GET, "SELECT " TENANT_COLS " FROM tenants WHERE id = $1")                        \
	X(TENANT_GET_BY_DOMAIN, "SELECT " TENANT_COLS " FROM tenants WHERE domain = $1")          \
	X(TENANT_COUNT, "SELECT count(*) FROM tenants")                                           \
	X(TENANT_PAGE, "SELECT " TENANT_COLS " FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2") \
	X(TENANT_SET_ACTIVE, "UPDATE tenants SET active = $1 WHERE id = $2")                      \
	X(ADMIN_INSERT, "INSERT INTO admin_users (" ADMIN_COLS ") VALUES ($1, $2, $3, $4, $5)")    \
	X(ADMIN_UPSERT,                                                                           \
	  "INSERT INTO admin_users (" ADMIN_COLS ") VALUES ($1, $2, $3, $4, $5) "                  \
	  "ON CONFLICT (tenant_id, username) DO UPDATE SET pw_hash = excluded.pw_hash")           \
	X(ADMIN_GET, "SELECT " ADMIN_COLS " FROM admin_users WHERE tenant_id = $1 AND username = $2") \
	X(ADMIN_COUNT, "SELECT count(*) FROM admin_users WHERE tenant_id = $1")                   \
	X(ADMIN_PAGE, "SELECT " ADMIN_COLS " FROM admin_users WHERE tenant_id = $1 "              \
		      "ORDER BY created_at, id" PAGE2)                                             \
	X(IDP_INSERT, "INSERT INTO identity_providers (" IDP_COLS ") "                            \
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                   \
	X(IDP_UPDATE, "UPDATE identity_providers SET name = $1, issuer = $2, enabled = $3, doc = $4, " \
		      "updated_at = $5 WHERE tenant_id = $6 AND id = $7")                           \
	X(IDP_DELETE, "DELETE FROM identity_providers WHERE tenant_id = $1 AND id = $2")          \
	X(IDP_GET, "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = $1 AND id = $2") \
	X(IDP_GET_BY_NAME,                                                                        \
	  "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = $1 AND name = $2")       \
	X(IDP_FIND_BY_ISSUER, "SELECT " IDP_COLS " FROM identity_providers "                      \
			      "WHERE tenant_id = $1 AND (issuer = $2 OR name = $2) "              \
			      "ORDER BY issuer = $2 DESC, created_at, id LIMIT $3")               \
	X(IDP_COUNT, "SELECT count(*) FROM identity_providers WHERE tenant_id = $1" NAME_FILTER) \
	X(IDP_PAGE, "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = $1"            \
		    NAME_FILTER " ORDER BY created_at, id" PAGE4)                                  \
	X(APP_INSERT, "INSERT INTO applications (" APP_COLS ") "                                  \
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                   \
	X(APP_UPDATE, "UPDATE applications SET name = $1, client_id = $2, doc = $3, updated_at = $4 " \
		      "WHERE tenant_id = $5 AND id = $6")                                           \
	X(APP_SECRET_GET, "SELECT secret_hash FROM applications WHERE tenant_id = $1 AND id = $2 " \
			  "FOR UPDATE")                                                            \
	X(APP_SECRET_SET, "UPDATE applications SET secret_hash = $1 WHERE tenant_id = $2 AND id = $3") \
	X(APP_DELETE, "DELETE FROM applications WHERE tenant_id = $1 AND id = $2")                \
	X(APP_GET, "SELECT " APP_COLS " FROM applications WHERE tenant_id = $1 AND id = $2")      \
	X(APP_GET_BY_CLIENT_ID, "SELECT " APP_COLS " FROM applications "                          \
				"WHERE client_id = $1 AND ($2::text IS NULL OR tenant_id = $2::text)") \
	X(APP_COUNT, "SELECT count(*) FROM applications WHERE tenant_id = $1" NAME_FILTER)       \
	X(APP_PAGE, "SELECT " APP_COLS " FROM applications WHERE tenant_id = $1" NAME_FILTER     \
		    " ORDER BY created_at, id" PAGE4)                                              \
	X(TOKEN_INSERT, "INSERT INTO tokens (" TOKEN_COLS ") "                                    \
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)") \
	X(TOKEN_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1")                         \
	X(REFRESH_USE, "UPDATE tokens SET used = 1 WHERE hash = $1 AND kind = 2 AND used = 0 "    \
		       "RETURNING " TOKEN_COLS)                                                    \
	X(REFRESH_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1 AND kind = 2")          \
	X(TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE hash = $1")                          \
	X(TOKENS_REVOKE_CHAIN, "UPDATE tokens SET revoked = 1 WHERE chain_id = $1 AND revoked = 0") \
	X(TOKENS_REVOKE_APP, "UPDATE tokens SET revoked = 1 WHERE app_id = $1 AND revoked = 0")   \
	X(TOKENS_REVOKE_IDP, "UPDATE tokens SET revoked = 1 WHERE idp_id = $1 AND revoked = 0")   \
	X(REPLAY_RECORD, "INSERT INTO replay (tenant_id, iss, jti, expires_at) "                  \
			 "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, iss, jti) "             \
			 "DO UPDATE SET expires_at = excluded.expires_at "                        \
			 "WHERE replay.expires_at <= $5")                                         \
	X(REPLAY_SEEN, "SELECT 1 FROM replay WHERE tenant_id = $1 AND iss = $2 AND jti = $3 "    \
		       "AND expires_at > $4")                                                     \
	X(SKEY_LOCK, "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")                            \
	X(SKEY_ACTIVE, "SELECT 1 FROM signing_keys WHERE tenant_id = $1 AND status = 1")         \
	X(SKEY_RETIRE, "UPDATE signing_keys SET status = 2, not_after_signing = $1, "             \
		       "publish_until = $2 WHERE tenant_id = $3 AND status = 1")                  \
	X(SKEY_INSERT, "INSERT INTO signing_keys (" SKEY_COLS ") "                                \
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")                             \
	X(SKEY_LIST, "SELECT " SKEY_COLS " FROM signing_keys WHERE tenant_id = $1 AND "           \
		     "(status = 1 OR publish_until > $2) ORDER BY status, created_at DESC, kid "  \
		     "LIMIT $3")                                                                   \
	X(PURGE_SKEYS, "DELETE FROM signing_keys WHERE ctid IN (SELECT ctid FROM signing_keys "   \
		       "WHERE status = 2 AND publish_until <= $1 LIMIT $2)")                      \
	X(AUDIT_INSERT, "INSERT INTO audit_events (" AUDIT_COLS ") "                              \
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")                                 \
	X(AUDIT_COUNT_ALL, "SELECT count(*) FROM audit_events")                                   \
	X(AUDIT_PAGE_ALL, "SELECT " AUDIT_COLS " FROM audit_events "                              \
			  "ORDER BY at DESC, seq DESC LIMIT $1 OFFSET $2")                        \
	X(AUDIT_COUNT, "SELECT count(*) FROM audit_events WHERE tenant_id = $1")                  \
	X(AUDIT_PAGE, "SELECT " AUDIT_COLS " FROM audit_events WHERE tenant_id = $1 "             \
		      "ORDER BY at DESC, seq DESC" PAGE2)                                         \
	X(PURGE_REPLAY, "DELETE FROM replay WHERE ctid IN "                                       \
			"(SELECT ctid FROM replay WHERE expires_at <= $1 LIMIT $2)")              \
	X(PURGE_TOKENS, "DELETE FROM tokens WHERE ctid IN "                                       \
			"(SELECT ctid FROM tokens WHERE expires_at <= $1 LIMIT $2)")              \
	X(GRANT_REPLAY, "WITH r AS (INSERT INTO replay (tenant_id, iss, jti, expires_at) "          \
			"VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, iss, jti) "              \
			"DO UPDATE SET expires_at = excluded.expires_at "                         \
			"WHERE replay.expires_at <= $5 RETURNING 1) "                             \
			"SELECT CASE WHEN EXISTS (SELECT 1 FROM r) THEN 1 "                       \
			"ELSE grantd_conflict('replay') END")                                     \
	X(GRANT_REFRESH_USE, "WITH u AS (UPDATE tokens SET used = 1 "                              \
			     "WHERE hash = $1 AND kind = 2 AND used = 0 RETURNING 1) "            \
			     "SELECT CASE WHEN EXISTS (SELECT 1 FROM u) THEN 1 "                  \
			     "ELSE grantd_conflict('refresh') END")                               \
	X(PING, "SELECT 1")

/* clang-format on */

#define X_ENUM(name, text) SQL_##name,
enum sql { PG_STATEMENTS(X_ENUM) SQL__COUNT };
#undef X_ENUM

/* ---- store and connections ------------------------------------------------ */

struct conn;
struct pg_job;

struct pg_store {
	struct store base; /* first: a struct store * is a struct pg_store * */
	char *url;         /* database.url as configured (never logged: see masked) */
	char *masked;      /* the url with its password masked, for messages */
	char conn_timeout_s[24], stmt_timeout_opt[64];
	int pool_size;
	int64_t connect_timeout_ms;

	/* The pool. mu guards everything below up to the grant queue. */
	pthread_mutex_t mu;
	pthread_cond_t cv;                /* a connection came back, or a slot became free */
	struct conn *idle;                /* connections ready for use */
	int nopen;                        /* open or being opened, <= pool_size */
	int64_t down_until_ms;            /* after a failed connect: fail fast until then */
	int64_t backoff_ms;               /* the next backoff (100 ms .. 5 s) */
	char last_fail[ERR_MSG_MAX - 64]; /* libpq's reason of the last failed connect */

	/* The grant workers (pg_tokens.c): q_mu guards the queue. */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct pg_job *q_head, *q_tail;
	bool q_stop;
	int nworkers;
	pthread_t workers[32];
	uint64_t n_writes, n_commits; /* atomics */
	uint64_t n_pending;           /* under q_mu */

	/* The change feed (pg_watch.c). */
	bool watch_on;
	pthread_t watcher;
	int wake[2];      /* a pipe: close writes one byte */
	PGconn *watch_pg; /* the first LISTEN connection, until the thread takes it */
	store_change_fn watch_fn;
	void *watch_arg;
};

struct conn {
	PGconn *pg;
	bool prepared[SQL__COUNT];
	bool broken; /* lost: closed when returned to the pool */
	struct conn *next;
};

static inline struct pg_store *pgs(struct store *s)
{
	return (struct pg_store *)s;
}

static inline int64_t pg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- statement use (pg_conn.c) --------------------------------------------- */

#define Q_PARAMS_MAX 16

/* q_step's results, in the manner of sqlite3_step. */
enum { Q_FAIL = 1, Q_ROW = 100, Q_DONE = 101 };

/* One use of a prepared statement: bind left to right, step (the first
 * step runs it and reads the whole result), close. Rows are read in binary
 * format: text as is, bigint big-endian, bytea raw. */
struct q {
	struct conn *c;
	enum sql id;
	int n;
	const char *vals[Q_PARAMS_MAX];
	int lens[Q_PARAMS_MAX], fmts[Q_PARAMS_MAX];
	char ints[Q_PARAMS_MAX][24];
	PGresult *res;
	int row, nrows; /* row: the current row, -1 before the first step */
	bool ran;
};

/* Opens one use of statement `id` on `c`; prepared at the first step. */
status pg_q_open(struct conn *c, enum sql id, struct q *q, struct err *e);

/* Runs the statement on the first call, then walks its rows. */
int q_step(struct q *q);

/* NULL binds SQL NULL. The text must stay valid until q_close. */
static inline void q_text(struct q *q, const char *s)
{
	int i = q->n++;

	q->vals[i] = s;
	q->lens[i] = 0;
	q->fmts[i] = 0;
}

void q_int(struct q *q, int64_t v);

static inline void q_blob(struct q *q, const void *p, size_t n)
{
	int i = q->n++;

	q->vals[i] = p;
	q->lens[i] = (int)n;
	q->fmts[i] = 1;
}

/* Rows changed by the statement (INSERT/UPDATE/DELETE). */
static inline int64_t q_changes(const struct q *q)
{
	const char *t = q->res != NULL ? PQcmdTuples(q->res) : "";
	return t[0] != '\0' ? strtoll(t, NULL, 10) : 0;
}

static inline void q_close(struct q *q)
{
	if (q->res != NULL)
		PQclear(q->res);
	q->res = NULL;
}

/* The SQLSTATE of a failed step, "" when none. */
static inline const char *q_state(const struct q *q)
{
	const char *s = q->res != NULL ? PQresultErrorField(q->res, PG_DIAG_SQLSTATE) : NULL;
	return s != NULL ? s : "";
}

static inline bool is_unique_violation(const struct q *q)
{
	return strcmp(q_state(q), "23505") == 0;
}

static inline bool is_fk_violation(const struct q *q)
{
	return strcmp(q_state(q), "23503") == 0;
}

/* True when the failed step violated the constraint named `name`. */
static inline bool violated(const struct q *q, const char *name)
{
	const char *s = q->res != NULL ? PQresultErrorField(q->res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	return s != NULL && strcmp(s, name) == 0;
}

/* Maps a failed step to a status: a lost connection ST_UNAVAILABLE (and the
 * connection is marked broken), serialization failures and lock or
 * statement timeouts ST_BUSY, anything else ST_IO, logged with the
 * server's message (which never contains bound values of ours: the
 * statements quote none). */
status pg_db_fail(struct q *q, const char *what, struct err *e);

/* The message of a failed result (or of the connection when r is NULL), on
 * one line, into buf; returns buf. */
const char *pg_message(PGconn *pg, const PGresult *r, char *buf, size_t n);

/* The SQLSTATE grantd_conflict() raises (pg_schema.c): a grant's replay
 * record is live or its refresh token already used. */
#define PG_STATE_CONFLICT "GD001"

/* Prepares statement `id` on `c` unless it is already. */
status pg_prepare(struct conn *c, enum sql id, struct err *e);
/* The name statement `id` is prepared under. */
const char *pg_stmt_name(enum sql id);

/* Runs a statement that returns no rows; `*changes` when not NULL. */
status pg_exec_key(struct conn *c, enum sql id, const char *text, const void *blob, size_t blob_n,
		   int64_t *changes, const char *what, struct err *e);

/* ---- reading rows -------------------------------------------------------- */

struct rd {
	const struct q *q;
	struct arena *a;
	bool bad;
};

static inline bool rd_null(struct rd *r, int i)
{
	return PQgetisnull(r->q->res, r->q->row, i) != 0;
}

static inline char *rd_str(struct rd *r, int i)
{
	char *out;

	if (rd_null(r, i))
		return NULL;
	out = arena_strndup(r->a, PQgetvalue(r->q->res, r->q->row, i),
			    (size_t)PQgetlength(r->q->res, r->q->row, i));
	if (out == NULL)
		r->bad = true;
	return out;
}

/* A bigint (or int/smallint) column in binary format. */
static inline int64_t rd_int(struct rd *r, int i)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r->q->res, r->q->row, i);
	int n = PQgetlength(r->q->res, r->q->row, i);
	uint64_t v = 0;

	if (rd_null(r, i) || (n != 8 && n != 4 && n != 2)) {
		if (!rd_null(r, i))
			r->bad = true;
		return 0;
	}
	for (int k = 0; k < n; k++)
		v = (v << 8) | p[k];
	if (n == 4)
		return (int64_t)(int32_t)(uint32_t)v;
	if (n == 2)
		return (int64_t)(int16_t)(uint16_t)v;
	return (int64_t)v;
}

static inline bool rd_hash(struct rd *r, int i, unsigned char out[SHA256_LEN])
{
	if (rd_null(r, i))
		return false;
	if (PQgetlength(r->q->res, r->q->row, i) != SHA256_LEN) {
		r->bad = true;
		return false;
	}
	memcpy(out, PQgetvalue(r->q->res, r->q->row, i), SHA256_LEN);
	return true;
}

typedef bool (*row_fn)(const struct q *q, struct arena *a, void *out);

/* Steps a bound query expecting at most one row. ST_NOT_FOUND (without a
 * message) when there is none. */
static inline status q_row(struct q *q, struct arena *a, row_fn fn, void *out, const char *what,
			   struct err *e)
{
	int rc = q_step(q);

	if (rc == Q_DONE)
		return ST_NOT_FOUND;
	if (rc != Q_ROW)
		return pg_db_fail(q, what, e);
	if (!fn(q, a, out))
		return err_set(e, ST_NOMEM, "out of memory (or a corrupt row) reading %s", what);
	return ST_OK;
}

/* ---- connections, reads and transactions (pg_conn.c) ----------------------- */

/* A body runs on a pooled connection: inside BEGIN ... COMMIT for writes,
 * in autocommit (or a read-only snapshot) for reads. */
typedef status (*tx_body)(struct conn *c, void *arg, struct err *e);

/* Takes a connection from the pool, opening one when there is room;
 * waits at most connect_timeout. ST_UNAVAILABLE when none can be had. */
status pg_conn_take(struct pg_store *s, struct conn **out, struct err *e);
/* Returns it; a broken one is closed, freeing its slot. */
void pg_conn_give(struct pg_store *s, struct conn *c);

/* Opens a connection outside the pool (the listener); ST_UNAVAILABLE/ST_IO. */
status pg_connect(struct pg_store *s, PGconn **out, struct err *e);

/* Runs a read body; once more on a fresh connection when the first one
 * turned out to be lost (a read has no effect to repeat). `snapshot`: in
 * one REPEATABLE READ READ ONLY transaction (a page and its count). */
status pg_read(struct store *s, tx_body body, void *arg, bool snapshot, struct err *e);

/* Runs a write body in one transaction and commits it. Retried once on a
 * fresh connection only when the connection was found lost at BEGIN,
 * before anything of the body was sent. */
status pg_write_tx(struct store *s, tx_body body, void *arg, struct err *e);

/* Runs a read body by one or two text keys. */
status pg_get_by(struct store *s, enum sql id, const char *k1, const char *k2, struct arena *a,
		 row_fn fn, void *out, const char *what, struct err *e);

struct list_spec {
	enum sql count, page;
	bool filtered;
	const char *key;
	size_t elem;
	row_fn row;
	const char *what;
};

status pg_list_rows(struct store *s, struct arena *a, const struct list_spec *ls,
		    struct store_page pg, void **items, size_t *n, int64_t *total, struct err *e);

/* ---- schema (pg_schema.c) -------------------------------------------------- */

status pg_migrate(struct pg_store *s, struct err *e);

/* ---- shared write pieces (pg_tenants.c) ------------------------------------ */

static inline int64_t now_or(int64_t t)
{
	return t != 0 ? t : (int64_t)time(NULL);
}

status pg_audit_insert(struct conn *c, const struct store_audit *v, struct err *e);

/* ---- grant workers (pg_tokens.c) ------------------------------------------ */

status pg_workers_start(struct pg_store *s, struct err *e);
void pg_workers_stop(struct pg_store *s);

/* ---- the store_ops functions, by file ------------------------------------- */

/* pg_conn.c */
void pg_close(struct store *base);

/* pg_tenants.c */
status pg_tenant_create(struct store *s, const struct store_tenant *t,
			const struct store_admin *owner, const struct store_audit *audit,
			struct err *e);
status pg_tenant_get(struct store *s, struct arena *a, const char *id, struct store_tenant *out,
		     struct err *e);
status pg_tenant_get_by_domain(struct store *s, struct arena *a, const char *domain,
			       struct store_tenant *out, struct err *e);
status pg_tenant_list(struct store *s, struct arena *a, struct store_page pg,
		      struct store_tenant **items, size_t *n, int64_t *total, struct err *e);
status pg_tenant_set_active(struct store *s, const char *id, bool active,
			    const struct store_audit *audit, struct err *e);
status pg_admin_put(struct store *s, const struct store_admin *u, struct err *e);
status pg_admin_get(struct store *s, struct arena *a, const char *tenant_id, const char *username,
		    struct store_admin *out, struct err *e);
status pg_admin_list(struct store *s, struct arena *a, const char *tenant_id,
		     struct store_admin **items, size_t *n, struct err *e);
status pg_signing_key_add(struct store *s, const struct store_signing_key *k, bool retire,
			  int64_t publish_until, struct err *e);
status pg_signing_keys_list(struct store *s, struct arena *a, const char *tenant_id, int64_t now,
			    struct store_signing_key **items, size_t *n, struct err *e);
status pg_audit_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		     struct store_audit **items, size_t *n, int64_t *total, struct err *e);

/* pg_entities.c */
status pg_idp_create(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e);
status pg_idp_update(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e);
status pg_idp_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e);
status pg_idp_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_idp *out, struct err *e);
status pg_idp_get_by_name(struct store *s, struct arena *a, const char *tenant_id, const char *name,
			  struct store_idp *out, struct err *e);
status pg_idp_find_by_issuer(struct store *s, struct arena *a, const char *tenant_id,
			     const char *iss, struct store_idp **items, size_t *n, struct err *e);
status pg_idp_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_idp **items, size_t *n, int64_t *total, struct err *e);
status pg_app_create(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e);
status pg_app_update(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e);
status pg_app_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e);
status pg_app_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_app *out, struct err *e);
status pg_app_get_by_client_id(struct store *s, struct arena *a, const char *tenant_id,
			       const char *client_id, struct store_app *out, struct err *e);
status pg_app_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_app **items, size_t *n, int64_t *total, struct err *e);

/* pg_tokens.c */
status pg_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e);
status pg_grant_submit(struct store *s, struct store_grant_tx *tx,
		       void (*done)(void *arg, status st), void *arg, struct err *e);
status pg_tokens_put(struct store *s, const struct store_token *access,
		     const struct store_token *refresh, struct err *e);
status pg_token_get(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		    struct store_token *out, struct err *e);
status pg_refresh_use(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		      struct store_token *out, struct err *e);
status pg_token_revoke(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e);
status pg_tokens_revoke_chain(struct store *s, const char *chain_id, struct err *e);
status pg_tokens_revoke_by(struct store *s, const char *field, const char *value, struct err *e);
status pg_replay_record(struct store *s, const char *tenant_id, const char *iss, const char *jti,
			int64_t expires_at, int64_t now, struct err *e);
status pg_replay_seen(struct store *s, const char *tenant_id, const char *iss, const char *jti,
		      int64_t now, bool *seen, struct err *e);

/* pg_housekeeping.c */
void pg_stats(struct store *base, struct store_stats *out);
status pg_ping(struct store *base, struct err *e);
status pg_purge_expired(struct store *s, int64_t now, struct err *e);

/* pg_watch.c */
status pg_watch(struct store *base, store_change_fn fn, void *arg, struct err *e);
void pg_watch_stop(struct pg_store *s);

#endif
