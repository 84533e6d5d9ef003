/* sqlite_int.h - what the files of the SQLite backend share; internal to
 * src/store (nothing outside the backend's files includes it). The design
 * and the list of files are at the top of store_sqlite.c.
 *
 * Names with the sq_ prefix are defined once, in the file their section
 * names. The small helpers of struct q and struct rd, through which every
 * statement binds and reads, are static inline, as are the error and time
 * helpers more than one file uses. */
#ifndef GRANTD_STORE_SQLITE_INT_H
#define GRANTD_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

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
#define PAGE " LIMIT ? OFFSET ?"
/* The optional name condition of a list (struct store_page): ?2 the
 * operator or NULL, ?3 the value. No LIKE, so no value needs escaping. */
#define NAME_FILTER                                                                                \
	" AND (?2 IS NULL OR CASE ?2 WHEN 'eq' THEN name = ?3 "                                    \
	"WHEN 'sw' THEN substr(name, 1, length(?3)) = ?3 "                                         \
	"WHEN 'ew' THEN length(name) >= length(?3) AND substr(name, -length(?3)) = ?3 "            \
	"WHEN 'co' THEN instr(name, ?3) > 0 ELSE 0 END)"

#define SQL_STATEMENTS(X)                                                                        \
	X(BEGIN_READ, "BEGIN")                                                                    \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                         \
	X(COMMIT, "COMMIT")                                                                       \
	X(ROLLBACK, "ROLLBACK")                                                                   \
	X(SAVEPOINT, "SAVEPOINT job")                                                             \
	X(RELEASE, "RELEASE job")                                                                 \
	X(ROLLBACK_TO, "ROLLBACK TO job")                                                         \
	X(USER_VERSION, "PRAGMA user_version")                                                    \
	X(TENANT_INSERT, "INSERT INTO tenants (" TENANT_COLS ") VALUES (?, ?, ?, ?)")              \
	X(TENANT_GET, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?")                         \
	X(TENANT_GET_BY_DOMAIN, "SELECT " TENANT_COLS " FROM tenants WHERE domain = ?")           \
	X(TENANT_COUNT, "SELECT count(*) FROM tenants")                                           \
	X(TENANT_PAGE, "SELECT " TENANT_COLS " FROM tenants ORDER BY created_at, id" PAGE)        \
	X(TENANT_SET_ACTIVE, "UPDATE tenants SET active = ? WHERE id = ?")                        \
	X(ADMIN_INSERT, "INSERT INTO admin_users (" ADMIN_COLS ") VALUES (?, ?, ?, ?, ?)")         \
	X(ADMIN_UPSERT,                                                                           \
	  "INSERT INTO admin_users (" ADMIN_COLS ") VALUES (?, ?, ?, ?, ?) "                       \
	  "ON CONFLICT (tenant_id, username) DO UPDATE SET pw_hash = excluded.pw_hash")           \
	X(ADMIN_GET, "SELECT " ADMIN_COLS " FROM admin_users WHERE tenant_id = ? AND username = ?") \
	X(ADMIN_COUNT, "SELECT count(*) FROM admin_users WHERE tenant_id = ?")                    \
	X(ADMIN_PAGE, "SELECT " ADMIN_COLS " FROM admin_users WHERE tenant_id = ? "               \
		      "ORDER BY created_at, id" PAGE)                                              \
	X(IDP_INSERT, "INSERT INTO identity_providers (" IDP_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)") \
	X(IDP_UPDATE, "UPDATE identity_providers SET name = ?, issuer = ?, enabled = ?, doc = ?, " \
		      "updated_at = ? WHERE tenant_id = ? AND id = ?")                              \
	X(IDP_DELETE, "DELETE FROM identity_providers WHERE tenant_id = ? AND id = ?")            \
	X(IDP_GET, "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = ? AND id = ?")  \
	X(IDP_GET_BY_NAME,                                                                        \
	  "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = ? AND name = ?")         \
	X(IDP_FIND_BY_ISSUER, "SELECT " IDP_COLS " FROM identity_providers "                      \
			      "WHERE tenant_id = ?1 AND (issuer = ?2 OR name = ?2) "              \
			      "ORDER BY issuer = ?2 DESC, created_at, id LIMIT ?3")               \
	X(IDP_COUNT, "SELECT count(*) FROM identity_providers WHERE tenant_id = ?1" NAME_FILTER) \
	X(IDP_PAGE, "SELECT " IDP_COLS " FROM identity_providers WHERE tenant_id = ?1"            \
		    NAME_FILTER " ORDER BY created_at, id" PAGE)                                   \
	X(APP_INSERT, "INSERT INTO applications (" APP_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")   \
	X(APP_UPDATE, "UPDATE applications SET name = ?, client_id = ?, doc = ?, updated_at = ? " \
		      "WHERE tenant_id = ? AND id = ?")                                             \
	X(APP_SECRET_GET, "SELECT secret_hash FROM applications WHERE tenant_id = ? AND id = ?")  \
	X(APP_SECRET_SET, "UPDATE applications SET secret_hash = ? WHERE tenant_id = ? AND id = ?") \
	X(APP_DELETE, "DELETE FROM applications WHERE tenant_id = ? AND id = ?")                  \
	X(APP_GET, "SELECT " APP_COLS " FROM applications WHERE tenant_id = ? AND id = ?")        \
	X(APP_GET_BY_CLIENT_ID, "SELECT " APP_COLS " FROM applications "                          \
				"WHERE client_id = ?1 AND (?2 IS NULL OR tenant_id = ?2)")        \
	X(APP_COUNT, "SELECT count(*) FROM applications WHERE tenant_id = ?1" NAME_FILTER)       \
	X(APP_PAGE, "SELECT " APP_COLS " FROM applications WHERE tenant_id = ?1" NAME_FILTER     \
		    " ORDER BY created_at, id" PAGE)                                               \
	X(TOKEN_INSERT, "INSERT INTO tokens (" TOKEN_COLS ") "                                    \
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")                      \
	X(TOKEN_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?")                          \
	X(REFRESH_USE, "UPDATE tokens SET used = 1 WHERE hash = ? AND kind = 2 AND used = 0 "     \
		       "RETURNING " TOKEN_COLS)                                                    \
	X(REFRESH_MARK_USED, "UPDATE tokens SET used = 1 "                                        \
			     "WHERE hash = ? AND kind = 2 AND used = 0")                          \
	X(REFRESH_GET, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ? AND kind = 2")           \
	X(TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE hash = ?")                           \
	X(TOKENS_REVOKE_CHAIN, "UPDATE tokens SET revoked = 1 WHERE chain_id = ? AND revoked = 0") \
	X(TOKENS_REVOKE_APP, "UPDATE tokens SET revoked = 1 WHERE app_id = ? AND revoked = 0")    \
	X(TOKENS_REVOKE_IDP, "UPDATE tokens SET revoked = 1 WHERE idp_id = ? AND revoked = 0")    \
	X(REPLAY_RECORD, "INSERT INTO replay (tenant_id, iss, jti, expires_at) "                  \
			 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, iss, jti) "             \
			 "DO UPDATE SET expires_at = excluded.expires_at "                        \
			 "WHERE replay.expires_at <= ?5")                                         \
	X(REPLAY_SEEN, "SELECT 1 FROM replay WHERE tenant_id = ?1 AND iss = ?2 AND jti = ?3 "    \
		       "AND expires_at > ?4")                                                     \
	X(SKEY_ACTIVE, "SELECT 1 FROM signing_keys WHERE tenant_id = ? AND status = 1")          \
	X(SKEY_RETIRE, "UPDATE signing_keys SET status = 2, not_after_signing = ?, "              \
		       "publish_until = ? WHERE tenant_id = ? AND status = 1")                    \
	X(SKEY_INSERT, "INSERT INTO signing_keys (" SKEY_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)") \
	X(SKEY_LIST, "SELECT " SKEY_COLS " FROM signing_keys WHERE tenant_id = ?1 AND "           \
		     "(status = 1 OR publish_until > ?2) ORDER BY status, created_at DESC, kid "  \
		     "LIMIT ?3")                                                                   \
	X(PURGE_SKEYS, "DELETE FROM signing_keys WHERE rowid IN (SELECT rowid FROM signing_keys " \
		       "WHERE status = 2 AND publish_until <= ? LIMIT ?)")                        \
	X(AUDIT_INSERT, "INSERT INTO audit_events (" AUDIT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)") \
	X(AUDIT_COUNT_ALL, "SELECT count(*) FROM audit_events")                                   \
	X(AUDIT_PAGE_ALL, "SELECT " AUDIT_COLS " FROM audit_events "                              \
			  "ORDER BY at DESC, seq DESC" PAGE)                                      \
	X(AUDIT_COUNT, "SELECT count(*) FROM audit_events WHERE tenant_id = ?")                   \
	X(AUDIT_PAGE, "SELECT " AUDIT_COLS " FROM audit_events WHERE tenant_id = ? "              \
		      "ORDER BY at DESC, seq DESC" PAGE)                                          \
	X(PURGE_REPLAY, "DELETE FROM replay WHERE (tenant_id, iss, jti) IN "                      \
			"(SELECT tenant_id, iss, jti FROM replay WHERE expires_at <= ? LIMIT ?)") \
	X(PURGE_TOKENS, "DELETE FROM tokens WHERE hash IN "                                       \
			"(SELECT hash FROM tokens WHERE expires_at <= ? LIMIT ?)")

/* clang-format on */

#define X_ENUM(name, text) SQL_##name,
enum sql { SQL_STATEMENTS(X_ENUM) SQL__COUNT };
#undef X_ENUM

/* ---- store and connections ------------------------------------------------ */

struct conn;
struct job;

struct sq_store {
	struct store base; /* first: a struct store * is a struct sq_store * */
	char *path;
	int busy_ms;
	pthread_key_t key;  /* this thread's struct conn */
	pthread_mutex_t mu; /* guards conns */
	struct conn *conns;
	/* Serialises write transactions run on the caller's thread, which
	 * happens only before the writer thread starts (migrations). */
	pthread_mutex_t write_mu;

	/* Group commit (the writer, sqlite_conn.c). q_mu guards the queue, the
	 * flags and every job's `done`. */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv; /* the writer waits here for work */
	struct job *q_head, *q_tail;
	bool q_stop;
	bool writer_on;
	pthread_t writer;
	uint64_t n_commits, n_jobs; /* written by the writer only, read atomically */
	uint64_t n_pending;         /* submitted, not finished; under q_mu */

	/* The checkpointer: folds the WAL back into the database off the
	 * writer's and the requests' threads, in cycles (under q_mu):
	 * ck_cycle from the commit that found the WAL large until the WAL can
	 * restart; ck_want wakes the checkpointer for the bulk copy; ck_catchup
	 * asks the writer to copy, between two batches, the few frames
	 * committed during the bulk copy (sqlite_housekeeping.c). */
	pthread_cond_t ck_cv;
	bool ck_want, ck_stop, ck_on, ck_cycle, ck_catchup;
	pthread_t ckpt;
	int wal_frames; /* the WAL's size after the last commit, in frames */
};

struct conn {
	struct sq_store *owner;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL__COUNT];
	struct conn *prev, *next;
};

static inline struct sq_store *sq(struct store *s)
{
	return (struct sq_store *)s;
}

/* ---- errors (sqlite_conn.c) ----------------------------------------------- */

/* Maps a failed SQLite call to a status. Busy and out-of-memory keep their
 * meaning; everything else is a database failure, logged with SQLite's
 * message (which never contains bound values). */
status sq_db_fail(struct conn *c, int rc, const char *what, struct err *e);

static inline bool is_unique_violation(int rc)
{
	return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* True when the last error's message names `column` ("table.column"): tells
 * which unique constraint of a table failed. */
static inline bool violated(struct conn *c, const char *column)
{
	return strstr(sqlite3_errmsg(c->db), column) != NULL;
}

/* ---- statement use (sqlite_conn.c) ---------------------------------------- */

/* One use of a cached statement: bind left to right, step, close. */
struct q {
	struct conn *c;
	sqlite3_stmt *st;
	int i;  /* next parameter index */
	int rc; /* first bind failure, reported by q_step */
};

/* Opens one use of statement `id` on `c`, preparing it on its first use. */
status sq_q_open(struct conn *c, enum sql id, struct q *q, struct err *e);

static inline void q_note(struct q *q, int rc)
{
	q->i++;
	if (q->rc == SQLITE_OK)
		q->rc = rc;
}

/* NULL binds SQL NULL. The text must stay valid until q_close. */
static inline void q_text(struct q *q, const char *s)
{
	if (s == NULL)
		q_note(q, sqlite3_bind_null(q->st, q->i));
	else
		q_note(q,
		       sqlite3_bind_text64(q->st, q->i, s, strlen(s), SQLITE_STATIC, SQLITE_UTF8));
}

static inline void q_int(struct q *q, int64_t v)
{
	q_note(q, sqlite3_bind_int64(q->st, q->i, v));
}

static inline void q_blob(struct q *q, const void *p, size_t n)
{
	if (p == NULL)
		q_note(q, sqlite3_bind_null(q->st, q->i));
	else
		q_note(q, sqlite3_bind_blob64(q->st, q->i, p, n, SQLITE_STATIC));
}

static inline int q_step(struct q *q)
{
	if (q->rc != SQLITE_OK)
		return q->rc;
	return sqlite3_step(q->st);
}

static inline int64_t q_changes(const struct q *q)
{
	return sqlite3_changes64(q->c->db);
}

/* Resets and unbinds, so the statement holds no snapshot and no pointers
 * into the caller's memory. Safe on a q that never opened. */
static inline void q_close(struct q *q)
{
	if (q->st != NULL) {
		sqlite3_reset(q->st);
		sqlite3_clear_bindings(q->st);
		q->st = NULL;
	}
}

/* Runs a statement that returns no rows. */
status sq_exec_stmt(struct conn *c, enum sql id, const char *what, struct err *e);

/* Runs a one-parameter UPDATE/DELETE; `*changes` gets the rows affected. */
status sq_exec_key(struct conn *c, enum sql id, const char *text, const void *blob, size_t blob_n,
		   int64_t *changes, const char *what, struct err *e);

/* ---- reading rows -------------------------------------------------------- */

/* Column reader that copies into the caller's arena and remembers whether
 * any copy failed, so row readers stay straight-line. */
struct rd {
	sqlite3_stmt *st;
	struct arena *a;
	bool bad;
};

/* SQL NULL reads as NULL. */
static inline char *rd_str(struct rd *r, int i)
{
	const unsigned char *p;
	char *out;

	if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_text(r->st, i);
	if (p == NULL) {
		r->bad = true;
		return NULL;
	}
	out = arena_strndup(r->a, (const char *)p, (size_t)sqlite3_column_bytes(r->st, i));
	if (out == NULL)
		r->bad = true;
	return out;
}

static inline int64_t rd_int(struct rd *r, int i)
{
	return sqlite3_column_int64(r->st, i);
}

/* A SHA256_LEN blob; false when NULL. A blob of another length is corrupt. */
static inline bool rd_hash(struct rd *r, int i, unsigned char out[SHA256_LEN])
{
	const void *p;

	if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
		return false;
	p = sqlite3_column_blob(r->st, i);
	if (p == NULL || sqlite3_column_bytes(r->st, i) != SHA256_LEN) {
		r->bad = true;
		return false;
	}
	memcpy(out, p, SHA256_LEN);
	return true;
}

typedef bool (*row_fn)(sqlite3_stmt *st, struct arena *a, void *out);

/* Steps a bound query expecting at most one row and reads it into `out`.
 * ST_NOT_FOUND (without a message: the caller words it) when there is
 * none. */
static inline status q_row(struct q *q, struct arena *a, row_fn fn, void *out, const char *what,
			   struct err *e)
{
	int rc = q_step(q);

	if (rc == SQLITE_DONE)
		return ST_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(q->c, rc, what, e);
	if (!fn(q->st, a, out))
		return err_set(e, ST_NOMEM, "out of memory (or a corrupt row) reading %s", what);
	return ST_OK;
}

/* ---- reads (sqlite_conn.c) ------------------------------------------------ */

/* Looks up one row by up to two text keys. */
status sq_get_by(struct store *s, enum sql id, const char *k1, const char *k2, struct arena *a,
		 row_fn fn, void *out, const char *what, struct err *e);

/* One page of a list and the total, read in one snapshot. `key` (a tenant
 * id) is bound first to both queries when not NULL. */
struct list_spec {
	enum sql count, page;
	bool filtered; /* the statements take NAME_FILTER's ?2 and ?3 */
	const char *key;
	size_t elem;
	row_fn row;
	const char *what;
};

status sq_list_rows(struct store *s, struct arena *a, const struct list_spec *ls,
		    struct store_page pg, void **items, size_t *n, int64_t *total, struct err *e);

/* ---- connections and transactions (sqlite_conn.c) ------------------------- */

/* This thread's connection, opened on first use. */
status sq_conn_get(struct store *base, struct conn **out, struct err *e);

/* Called by pthreads when a thread that used the store exits. */
void sq_conn_thread_exit(void *p);

/* Write bodies run inside an open write transaction and neither begin nor
 * end one; a body that fails leaves no trace (its savepoint, or the whole
 * transaction, is rolled back). */
typedef status (*tx_body)(struct conn *c, void *arg, struct err *e);

/* Rolls back the open transaction, unless SQLite already has. */
void sq_rollback(struct conn *c);

/* Runs `body` in a write transaction and returns once it is durable (or
 * failed, leaving nothing behind). The writer thread runs it, batched with
 * whatever else was queued meanwhile. */
status sq_write_tx(struct store *base, tx_body body, void *arg, struct err *e);

/* Queues `body` for the writer and returns at once; `fin` is called once
 * when it is durable or failed. `j` is the caller's until then. Before the
 * writer runs (never in practice: requests come after store_open), the
 * transaction runs here and `fin` is called before returning. */
void sq_write_tx_async(struct store *base, struct job *j, tx_body body, void *arg, struct err *e,
		       void (*fin)(void *fin_arg, status st), void *fin_arg);

/* Starts the writer and the checkpointer (after migrations). */
status sq_threads_start(struct sq_store *s, struct err *e);

/* ---- checkpoints (sqlite_housekeeping.c) ---------------------------------- */

/* Called by SQLite on the writer's connection after each commit. */
int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

/* The checkpointer: copies committed WAL frames into the database file when
 * the writer reports a large WAL (the bulk of a checkpoint cycle, see
 * sqlite_housekeeping.c). PASSIVE never blocks the writer. When readers
 * kept it from finishing and the WAL is past CKPT_FORCE_FRAMES, a RESTART
 * waits (up to the busy timeout) for them. */
void *sq_ckpt_main(void *arg);

/* The catch-up copy that ends a checkpoint cycle: called by the writer,
 * between two batches and without q_mu, when ck_catchup is set. */
void sq_ckpt_catchup(struct conn *c);

/* ---- schema (sqlite_schema.c) --------------------------------------------- */

/* Brings the schema to STORE_SCHEMA_VERSION under BEGIN IMMEDIATE: of two
 * processes racing on a new file, the second waits for the first and then
 * finds nothing to do. */
status sq_migrate(struct sq_store *s, struct conn *c, struct err *e);

/* ---- shared write pieces (sqlite_tenants.c) ------------------------------- */

static inline int64_t now_or(int64_t t)
{
	return t != 0 ? t : (int64_t)time(NULL);
}

/* Writes the audit event `v` in the open transaction; nothing when NULL. */
status sq_audit_insert(struct conn *c, const struct store_audit *v, struct err *e);

/* ---- the store_ops functions, by file ------------------------------------- */

/* sqlite_conn.c */
void sq_close(struct store *base);

/* sqlite_tenants.c */
status sq_tenant_create(struct store *s, const struct store_tenant *t,
			const struct store_admin *owner, const struct store_audit *audit,
			struct err *e);
status sq_tenant_get(struct store *s, struct arena *a, const char *id, struct store_tenant *out,
		     struct err *e);
status sq_tenant_get_by_domain(struct store *s, struct arena *a, const char *domain,
			       struct store_tenant *out, struct err *e);
status sq_tenant_list(struct store *s, struct arena *a, struct store_page pg,
		      struct store_tenant **items, size_t *n, int64_t *total, struct err *e);
status sq_tenant_set_active(struct store *s, const char *id, bool active,
			    const struct store_audit *audit, struct err *e);
status sq_admin_put(struct store *s, const struct store_admin *u, struct err *e);
status sq_admin_get(struct store *s, struct arena *a, const char *tenant_id, const char *username,
		    struct store_admin *out, struct err *e);
status sq_admin_list(struct store *s, struct arena *a, const char *tenant_id,
		     struct store_admin **items, size_t *n, struct err *e);
status sq_signing_key_add(struct store *s, const struct store_signing_key *k, bool retire,
			  int64_t publish_until, struct err *e);
status sq_signing_keys_list(struct store *s, struct arena *a, const char *tenant_id, int64_t now,
			    struct store_signing_key **items, size_t *n, struct err *e);
status sq_audit_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		     struct store_audit **items, size_t *n, int64_t *total, struct err *e);

/* sqlite_entities.c */
status sq_idp_create(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e);
status sq_idp_update(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e);
status sq_idp_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e);
status sq_idp_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_idp *out, struct err *e);
status sq_idp_get_by_name(struct store *s, struct arena *a, const char *tenant_id, const char *name,
			  struct store_idp *out, struct err *e);
status sq_idp_find_by_issuer(struct store *s, struct arena *a, const char *tenant_id,
			     const char *iss, struct store_idp **items, size_t *n, struct err *e);
status sq_idp_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_idp **items, size_t *n, int64_t *total, struct err *e);
status sq_app_create(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e);
status sq_app_update(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e);
status sq_app_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e);
status sq_app_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_app *out, struct err *e);
status sq_app_get_by_client_id(struct store *s, struct arena *a, const char *tenant_id,
			       const char *client_id, struct store_app *out, struct err *e);
status sq_app_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_app **items, size_t *n, int64_t *total, struct err *e);

/* sqlite_tokens.c */
status sq_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e);
status sq_grant_submit(struct store *s, struct store_grant_tx *tx,
		       void (*done)(void *arg, status st), void *arg, struct err *e);
status sq_tokens_put(struct store *s, const struct store_token *access,
		     const struct store_token *refresh, struct err *e);
status sq_token_get(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		    struct store_token *out, struct err *e);
status sq_refresh_use(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		      struct store_token *out, struct err *e);
status sq_token_revoke(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e);
status sq_tokens_revoke_chain(struct store *s, const char *chain_id, struct err *e);
status sq_tokens_revoke_by(struct store *s, const char *field, const char *value, struct err *e);
status sq_replay_record(struct store *s, const char *tenant_id, const char *iss, const char *jti,
			int64_t expires_at, int64_t now, struct err *e);
status sq_replay_seen(struct store *s, const char *tenant_id, const char *iss, const char *jti,
		      int64_t now, bool *seen, struct err *e);

/* sqlite_housekeeping.c */
void sq_stats(struct store *base, struct store_stats *out);
status sq_watch(struct store *base, store_change_fn fn, void *arg, struct err *e);
status sq_ping(struct store *base, struct err *e);
status sq_purge_expired(struct store *s, int64_t now, struct err *e);

#endif
