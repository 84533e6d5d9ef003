/* store_sqlite.c - the SQLite backend of store.h.
 *
 * Connections. SQLite connections must not be used by two threads at once,
 * and one connection per thread lets readers run in parallel under WAL. So
 * each thread that touches the store gets its own connection, opened lazily
 * and kept in thread-specific data; every connection is also on a list so
 * store_close can close them all. A thread that exits closes its own.
 * Connections are opened with SQLITE_OPEN_NOMUTEX: nothing is shared.
 *
 * Statements. Each connection caches its prepared statements in an array
 * indexed by `enum sql`: prepared on first use, then reset and unbound after
 * every use (struct q). Every value reaches SQL as a bound parameter; the
 * only SQL text built at run time is `PRAGMA user_version = <constant>`.
 *
 * Writes. Every write is a "body" function that assumes an open
 * transaction and never begins or commits one. write_tx hands it to the
 * writer thread, which drains a queue: each batch is one BEGIN IMMEDIATE
 * ... COMMIT with every body under its own SAVEPOINT, so one fsync makes
 * many requests durable and a failing body is undone alone. The submitter
 * waits for the commit that holds its rows (group commit; docs/operations.md
 * "The write path"). With synchronous=FULL a commit is durable when it
 * returns. A change and its audit row are one body, so they commit together.
 * Checkpoints run on their own thread (automatic checkpoints are off), so
 * neither the writer nor a request thread ever copies the WAL back.
 *
 * Errors. Unique violations become ST_CONFLICT naming what is taken, a
 * missing parent tenant ST_NOT_FOUND, SQLITE_BUSY after the busy timeout
 * ST_BUSY, anything else ST_IO with sqlite3_errmsg logged. Bound values are
 * never logged. */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config/config.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "store/store_impl.h"

/* Rows removed per purge transaction: small enough that a purge never holds
 * the write lock for long. */
#define PURGE_BATCH 500

/* ---- schema ------------------------------------------------------------ */

/* Migration N (1-based) takes the schema from version N-1 to N. Never edit
 * a released entry: append a new one and bump STORE_SCHEMA_VERSION. The
 * statements are deliberately not IF NOT EXISTS, so applying one twice
 * fails loudly instead of hiding a version bookkeeping bug. */
/* clang-format off */
static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE tenants ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL UNIQUE,"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE admin_users ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  username TEXT NOT NULL,"
	"  pw_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, username)"
	");"
	"CREATE TABLE identity_providers ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  name TEXT NOT NULL,"
	"  issuer TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  doc TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, name)"
	");"
	"CREATE INDEX identity_providers_issuer ON identity_providers (tenant_id, issuer);"
	"CREATE TABLE applications ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  name TEXT NOT NULL,"
	"  client_id TEXT NOT NULL UNIQUE,"
	"  secret_hash BLOB,"
	"  doc TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, name)"
	");"
	/* No foreign keys on tokens: an app's tokens outlive it (revoked) until
	 * purged, and the hot insert path stays a single b-tree write. */
	"CREATE TABLE tokens ("
	"  hash BLOB PRIMARY KEY NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  tenant_id TEXT NOT NULL,"
	"  app_id TEXT NOT NULL,"
	"  client_id TEXT NOT NULL,"
	"  idp_id TEXT,"
	"  subject TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  grant_type TEXT NOT NULL,"
	"  chain_id TEXT,"
	"  issued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX tokens_chain ON tokens (chain_id);"
	"CREATE INDEX tokens_app ON tokens (app_id);"
	"CREATE INDEX tokens_idp ON tokens (idp_id);"
	"CREATE INDEX tokens_expires ON tokens (expires_at);"
	"CREATE TABLE replay ("
	"  tenant_id TEXT NOT NULL,"
	"  iss TEXT NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, iss, jti)"
	") WITHOUT ROWID;"
	"CREATE INDEX replay_expires ON replay (expires_at);"
	/* seq keeps insertion order for events within the same second. */
	"CREATE TABLE audit_events ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  tenant_id TEXT,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object_type TEXT NOT NULL,"
	"  object_id TEXT,"
	"  summary TEXT NOT NULL DEFAULT '{}',"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);",

	/* 2: tokens as a rowid table. Rows are appended in rowid order, so an
	 * insert dirties the table's last page rather than a random one; of
	 * the indexes only the unique hash is random (the app, IdP and expiry
	 * keys are followed by the ever-growing rowid, and new chain ids are
	 * time-ordered, see tokens.c), which roughly halves the pages a grant
	 * writes (docs/performance.md). */
	"CREATE TABLE tokens_v2 ("
	"  id INTEGER PRIMARY KEY,"
	"  hash BLOB NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  tenant_id TEXT NOT NULL,"
	"  app_id TEXT NOT NULL,"
	"  client_id TEXT NOT NULL,"
	"  idp_id TEXT,"
	"  subject TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  grant_type TEXT NOT NULL,"
	"  chain_id TEXT,"
	"  issued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO tokens_v2 (hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope,"
	"  grant_type, chain_id, issued_at, expires_at, revoked, used)"
	"  SELECT hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope, grant_type,"
	"  chain_id, issued_at, expires_at, revoked, used FROM tokens ORDER BY issued_at;"
	"DROP TABLE tokens;"
	"ALTER TABLE tokens_v2 RENAME TO tokens;"
	"CREATE UNIQUE INDEX tokens_hash ON tokens (hash);"
	"CREATE INDEX tokens_chain ON tokens (chain_id);"
	"CREATE INDEX tokens_app ON tokens (app_id);"
	"CREATE INDEX tokens_idp ON tokens (idp_id) WHERE idp_id IS NOT NULL;"
	"CREATE INDEX tokens_expires ON tokens (expires_at);",

	/* 3: the tenants' token-signing keys, the private key encrypted by
	 * src/oauth/signkeys.c (the store never sees it in clear); the jti of
	 * JWT access tokens. */
	"CREATE TABLE signing_keys ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  kid TEXT NOT NULL,"
	"  alg TEXT NOT NULL,"
	"  public_jwk TEXT NOT NULL,"
	"  private_enc BLOB NOT NULL,"
	"  status INTEGER NOT NULL CHECK (status IN (1, 2)),"
	"  created_at INTEGER NOT NULL,"
	"  not_after_signing INTEGER NOT NULL DEFAULT 0,"
	"  publish_until INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant_id, kid)"
	");"
	/* The jti of a JWT access token (RFC 9068); NULL for opaque tokens. */
	"ALTER TABLE tokens ADD COLUMN jti TEXT;",
};
/* clang-format on */

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

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
#define X_TEXT(name, text) text,
#define X_NAME(name, text) #name,
enum sql { SQL_STATEMENTS(X_ENUM) SQL__COUNT };
static const char *const sql_text[] = {SQL_STATEMENTS(X_TEXT)};
static const char *const sql_name[] = {SQL_STATEMENTS(X_NAME)};
#undef X_ENUM
#undef X_TEXT
#undef X_NAME

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

	/* Group commit (see "the writer" below). q_mu guards the queue, the
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
	 * writer's and the requests' threads. */
	pthread_cond_t ck_cv;
	bool ck_want, ck_stop, ck_on;
	pthread_t ckpt;
	int wal_frames; /* the WAL's size after the last commit, in frames */
};

struct conn {
	struct sq_store *owner;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL__COUNT];
	struct conn *prev, *next;
};

static struct sq_store *sq(struct store *s)
{
	return (struct sq_store *)s;
}

/* Maps a failed SQLite call to a status. Busy and out-of-memory keep their
 * meaning; everything else is a database failure, logged with SQLite's
 * message (which never contains bound values). */
static status db_fail(struct conn *c, int rc, const char *what, struct err *e)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("store: database busy while %s (timeout %d ms)", what, c->owner->busy_ms);
		return err_set(e, ST_BUSY, "the database is busy (%s); try again later", what);
	case SQLITE_NOMEM:
		log_error("store: out of memory while %s", what);
		return err_set(e, ST_NOMEM, "out of memory while %s", what);
	default:
		log_error("store: %s failed: %s (sqlite error %d)", what, sqlite3_errmsg(c->db),
			  rc);
		return err_set(e, ST_IO, "database failure while %s", what);
	}
}

static bool is_unique_violation(int rc)
{
	return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* True when the last error's message names `column` ("table.column"): tells
 * which unique constraint of a table failed. */
static bool violated(struct conn *c, const char *column)
{
	return strstr(sqlite3_errmsg(c->db), column) != NULL;
}

static void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_error("store: closing the database: %s", sqlite3_errmsg(c->db));
	free(c);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one pragma-like statement; when `want` is set, its first column must
 * equal it (case-insensitively). SQLite returns SQLITE_BUSY without calling
 * the busy handler where waiting could deadlock, which happens when several
 * connections switch a new file to WAL at once; so BUSY is retried here
 * until the busy timeout. */
static status conn_pragma(struct conn *c, const char *sql, const char *want, struct err *e)
{
	int64_t deadline = mono_ms() + c->owner->busy_ms;
	sqlite3_stmt *st = NULL;
	status ret = ST_OK;
	int rc;

	for (;;) {
		rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if ((rc & 0xff) != SQLITE_BUSY || mono_ms() >= deadline)
			break;
		sqlite3_finalize(st);
		st = NULL;
		sqlite3_sleep(5);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_fail(c, rc, "configuring the connection", e);
		goto out;
	}
	if (want != NULL) {
		const char *got =
		    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (got == NULL || strcasecmp(got, want) != 0) {
			log_error("store: \"%s\" answered \"%s\", expected \"%s\"", sql,
				  got ? got : "(nothing)", want);
			ret = err_set(e, ST_IO, "database '%s': \"%s\" did not take effect",
				      c->owner->path, sql);
		}
	}
out:
	sqlite3_finalize(st);
	return ret;
}

static status conn_open(struct sq_store *s, struct conn **out, struct err *e)
{
	struct conn *c;
	status ret = ST_OK;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	c->owner = s;
	/* No SQLITE_OPEN_CREATE: store_sqlite_open created the file with the
	 * right mode; if it vanished since, failing is right. */
	rc = sqlite3_open_v2(s->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		const char *why = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
		log_error("store: opening database '%s': %s", s->path, why);
		ret = err_set(e, rc == SQLITE_NOMEM ? ST_NOMEM : ST_IO,
			      "cannot open database '%s': %s", s->path, why);
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	/* Checkpoints run on the checkpointer thread, never on a commit. */
	sqlite3_wal_autocheckpoint(c->db, 0);
	/* Before anything that may need a lock (switching to WAL does). */
	sqlite3_busy_timeout(c->db, s->busy_ms);
	if ((ret = conn_pragma(c, "PRAGMA journal_mode = WAL", "wal", e)) != ST_OK ||
	    (ret = conn_pragma(c, "PRAGMA synchronous = FULL", NULL, e)) != ST_OK ||
	    (ret = conn_pragma(c, "PRAGMA foreign_keys = ON", NULL, e)) != ST_OK ||
	    (ret = conn_pragma(c, "PRAGMA foreign_keys", "1", e)) != ST_OK ||
	    (ret = conn_pragma(c, "PRAGMA trusted_schema = OFF", NULL, e)) != ST_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	conn_free(c);
	return ret;
}

/* Called by pthreads when a thread that used the store exits. */
static void conn_thread_exit(void *p)
{
	struct conn *c = p;
	struct sq_store *s = c->owner;

	pthread_mutex_lock(&s->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->mu);
	conn_free(c);
}

/* This thread's connection, opened on first use. */
static status conn_get(struct store *base, struct conn **out, struct err *e)
{
	struct sq_store *s = sq(base);
	struct conn *c = pthread_getspecific(s->key);
	status ret;

	if (c != NULL) {
		*out = c;
		return ST_OK;
	}
	if ((ret = conn_open(s, &c, e)) != ST_OK)
		return ret;
	if (pthread_setspecific(s->key, c) != 0) {
		conn_free(c);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->mu);
	*out = c;
	return ST_OK;
}

/* ---- statement use ------------------------------------------------------ */

/* One use of a cached statement: bind left to right, step, close. */
struct q {
	struct conn *c;
	sqlite3_stmt *st;
	int i;  /* next parameter index */
	int rc; /* first bind failure, reported by q_step */
};

static status q_open(struct conn *c, enum sql id, struct q *q, struct err *e)
{
	int rc;

	q->c = c;
	q->st = NULL;
	q->i = 1;
	q->rc = SQLITE_OK;
	if (c->stmt[id] == NULL) {
		rc = sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
					&c->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			log_error("store: preparing %s: %s", sql_name[id], sqlite3_errmsg(c->db));
			return err_set(e, rc == SQLITE_NOMEM ? ST_NOMEM : ST_IO,
				       "database failure while preparing a query");
		}
	}
	q->st = c->stmt[id];
	return ST_OK;
}

static void q_note(struct q *q, int rc)
{
	q->i++;
	if (q->rc == SQLITE_OK)
		q->rc = rc;
}

/* NULL binds SQL NULL. The text must stay valid until q_close. */
static void q_text(struct q *q, const char *s)
{
	if (s == NULL)
		q_note(q, sqlite3_bind_null(q->st, q->i));
	else
		q_note(q,
		       sqlite3_bind_text64(q->st, q->i, s, strlen(s), SQLITE_STATIC, SQLITE_UTF8));
}

static void q_int(struct q *q, int64_t v)
{
	q_note(q, sqlite3_bind_int64(q->st, q->i, v));
}

static void q_blob(struct q *q, const void *p, size_t n)
{
	if (p == NULL)
		q_note(q, sqlite3_bind_null(q->st, q->i));
	else
		q_note(q, sqlite3_bind_blob64(q->st, q->i, p, n, SQLITE_STATIC));
}

static int q_step(struct q *q)
{
	if (q->rc != SQLITE_OK)
		return q->rc;
	return sqlite3_step(q->st);
}

static int64_t q_changes(const struct q *q)
{
	return sqlite3_changes64(q->c->db);
}

/* Resets and unbinds, so the statement holds no snapshot and no pointers
 * into the caller's memory. Safe on a q that never opened. */
static void q_close(struct q *q)
{
	if (q->st != NULL) {
		sqlite3_reset(q->st);
		sqlite3_clear_bindings(q->st);
		q->st = NULL;
	}
}

/* Runs a statement that returns no rows. */
static status exec_stmt(struct conn *c, enum sql id, const char *what, struct err *e)
{
	struct q q;
	status ret;
	int rc;

	if ((ret = q_open(c, id, &q, e)) != ST_OK)
		return ret;
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, what, e);
	q_close(&q);
	return ret;
}

/* ---- reading rows -------------------------------------------------------- */

/* Column reader that copies into the caller's arena and remembers whether
 * any copy failed, so row readers stay straight-line. */
struct rd {
	sqlite3_stmt *st;
	struct arena *a;
	bool bad;
};

/* SQL NULL reads as NULL. */
static char *rd_str(struct rd *r, int i)
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

static int64_t rd_int(struct rd *r, int i)
{
	return sqlite3_column_int64(r->st, i);
}

/* A SHA256_LEN blob; false when NULL. A blob of another length is corrupt. */
static bool rd_hash(struct rd *r, int i, unsigned char out[SHA256_LEN])
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

static bool row_tenant(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_tenant *t = out;
	struct rd r = {st, a, false};

	t->id = rd_str(&r, 0);
	t->domain = rd_str(&r, 1);
	t->active = rd_int(&r, 2) != 0;
	t->created_at = rd_int(&r, 3);
	return !r.bad;
}

static bool row_admin(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_admin *u = out;
	struct rd r = {st, a, false};

	u->id = rd_str(&r, 0);
	u->tenant_id = rd_str(&r, 1);
	u->username = rd_str(&r, 2);
	u->pw_hash = rd_str(&r, 3);
	u->created_at = rd_int(&r, 4);
	return !r.bad;
}

static bool row_idp(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_idp *p = out;
	struct rd r = {st, a, false};

	p->id = rd_str(&r, 0);
	p->tenant_id = rd_str(&r, 1);
	p->name = rd_str(&r, 2);
	p->issuer = rd_str(&r, 3);
	p->enabled = rd_int(&r, 4) != 0;
	p->doc = rd_str(&r, 5);
	p->created_at = rd_int(&r, 6);
	p->updated_at = rd_int(&r, 7);
	return !r.bad;
}

static bool row_app(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_app *p = out;
	struct rd r = {st, a, false};

	p->id = rd_str(&r, 0);
	p->tenant_id = rd_str(&r, 1);
	p->name = rd_str(&r, 2);
	p->client_id = rd_str(&r, 3);
	p->has_secret = rd_hash(&r, 4, p->secret_hash);
	p->doc = rd_str(&r, 5);
	p->created_at = rd_int(&r, 6);
	p->updated_at = rd_int(&r, 7);
	return !r.bad;
}

static bool row_token(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_token *t = out;
	struct rd r = {st, a, false};

	if (!rd_hash(&r, 0, t->hash))
		r.bad = true;
	t->kind = (enum store_token_kind)rd_int(&r, 1);
	t->tenant_id = rd_str(&r, 2);
	t->app_id = rd_str(&r, 3);
	t->client_id = rd_str(&r, 4);
	t->idp_id = rd_str(&r, 5);
	t->subject = rd_str(&r, 6);
	t->scope = rd_str(&r, 7);
	t->grant_type = rd_str(&r, 8);
	t->chain_id = rd_str(&r, 9);
	t->issued_at = rd_int(&r, 10);
	t->expires_at = rd_int(&r, 11);
	t->revoked = rd_int(&r, 12) != 0;
	t->used = rd_int(&r, 13) != 0;
	t->jti = rd_str(&r, 14);
	return !r.bad;
}

static bool row_audit(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_audit *v = out;
	struct rd r = {st, a, false};

	v->id = rd_str(&r, 0);
	v->tenant_id = rd_str(&r, 1);
	v->actor = rd_str(&r, 2);
	v->action = rd_str(&r, 3);
	v->object_type = rd_str(&r, 4);
	v->object_id = rd_str(&r, 5);
	v->summary = rd_str(&r, 6);
	v->at = rd_int(&r, 7);
	return !r.bad;
}

/* Steps a bound query expecting at most one row and reads it into `out`.
 * ST_NOT_FOUND (without a message: the caller words it) when there is
 * none. */
static status q_row(struct q *q, struct arena *a, row_fn fn, void *out, const char *what,
		    struct err *e)
{
	int rc = q_step(q);

	if (rc == SQLITE_DONE)
		return ST_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return db_fail(q->c, rc, what, e);
	if (!fn(q->st, a, out))
		return err_set(e, ST_NOMEM, "out of memory (or a corrupt row) reading %s", what);
	return ST_OK;
}

/* ---- transactions and the writer ------------------------------------------ */

/* Write bodies run inside an open write transaction and neither begin nor
 * end one; a body that fails leaves no trace (its savepoint, or the whole
 * transaction, is rolled back). */
typedef status (*tx_body)(struct conn *c, void *arg, struct err *e);

/* Largest number of jobs committed together: bounds how long one batch
 * holds the write lock and how long its first job waits for its fsync. */
#define BATCH_MAX 256

/* WAL frames after which the checkpointer is woken, and past which it
 * waits for readers to move on (RESTART) rather than only copying what it
 * can (PASSIVE). journal_size_limit truncates a WAL that grew. */
#define CKPT_FRAMES       2000
#define CKPT_FORCE_FRAMES 32000
#define WAL_SIZE_LIMIT    "67108864"

/* One write transaction waiting for the writer. Lives on the submitting
 * thread's stack until `done` (write_tx), or in memory the submitter owns
 * until `fin` has been called (grant_submit: the storage of the
 * transaction, struct store_grant_tx's `backend`). */
struct job {
	tx_body body;
	void *arg;
	struct err *e;
	status st;
	bool done;
	/* Asynchronous: called once, on the writer thread, when finished; the
	 * job is the submitter's again from that call on. NULL: a waiter. */
	void (*fin)(void *fin_arg, status st);
	void *fin_arg;
	pthread_cond_t *cv; /* a waiter waits here, under q_mu */
	struct job *next;
};

static void rollback(struct conn *c)
{
	/* SQLite may already have rolled back (e.g. after an I/O error). */
	if (!sqlite3_get_autocommit(c->db))
		(void)exec_stmt(c, SQL_ROLLBACK, "rolling back", NULL);
}

/* One transaction on the caller's thread: only before the writer runs. */
static status write_tx_inline(struct sq_store *s, tx_body body, void *arg, struct err *e)
{
	struct conn *c;
	status ret;

	if ((ret = conn_get(&s->base, &c, e)) != ST_OK)
		return ret;
	pthread_mutex_lock(&s->write_mu);
	if ((ret = exec_stmt(c, SQL_BEGIN_WRITE, "starting a write transaction", e)) != ST_OK)
		goto out;
	if ((ret = body(c, arg, e)) != ST_OK)
		goto out;
	ret = exec_stmt(c, SQL_COMMIT, "committing", e);
out:
	if (ret != ST_OK)
		rollback(c);
	pthread_mutex_unlock(&s->write_mu);
	return ret;
}

/* Appends a job to the writer's queue; under q_mu. */
static void enqueue(struct sq_store *s, struct job *j)
{
	j->next = NULL;
	if (s->q_tail != NULL)
		s->q_tail->next = j;
	else
		s->q_head = j;
	s->q_tail = j;
	s->n_pending++;
	pthread_cond_signal(&s->q_cv);
}

/* Runs `body` in a write transaction and returns once it is durable (or
 * failed, leaving nothing behind). The writer thread runs it, batched with
 * whatever else was queued meanwhile. */
static status write_tx(struct store *base, tx_body body, void *arg, struct err *e)
{
	struct sq_store *s = sq(base);
	pthread_cond_t cv;
	struct job j = {.body = body, .arg = arg, .e = e, .cv = &cv};
	status ret;

	pthread_mutex_lock(&s->q_mu);
	if (!s->writer_on) {
		pthread_mutex_unlock(&s->q_mu);
		return write_tx_inline(s, body, arg, e);
	}
	/* A body that wrote through write_tx would wait for itself. */
	assert(!pthread_equal(pthread_self(), s->writer));
	if (pthread_cond_init(&cv, NULL) != 0) {
		pthread_mutex_unlock(&s->q_mu);
		return err_set(e, ST_NOMEM, "cannot create a condition variable");
	}
	enqueue(s, &j);
	while (!j.done)
		pthread_cond_wait(&cv, &s->q_mu);
	ret = j.st;
	pthread_mutex_unlock(&s->q_mu);
	pthread_cond_destroy(&cv);
	return ret;
}

/* Queues `body` for the writer and returns at once; `fin` is called once
 * when it is durable or failed. `j` is the caller's until then. Before the
 * writer runs (never in practice: requests come after store_open), the
 * transaction runs here and `fin` is called before returning. */
static void write_tx_async(struct store *base, struct job *j, tx_body body, void *arg,
			   struct err *e, void (*fin)(void *fin_arg, status st), void *fin_arg)
{
	struct sq_store *s = sq(base);

	memset(j, 0, sizeof *j);
	j->body = body;
	j->arg = arg;
	j->e = e;
	j->fin = fin;
	j->fin_arg = fin_arg;
	pthread_mutex_lock(&s->q_mu);
	if (!s->writer_on) {
		pthread_mutex_unlock(&s->q_mu);
		fin(fin_arg, write_tx_inline(s, body, arg, e));
		return;
	}
	enqueue(s, j);
	pthread_mutex_unlock(&s->q_mu);
}

/* Sets every job of `jobs` that has not failed on its own to `st`, with
 * the message of `why`. */
static void batch_fail(struct job *jobs, status st, const struct err *why)
{
	for (struct job *j = jobs; j != NULL; j = j->next) {
		if (j->st != ST_OK)
			continue;
		j->st = st;
		if (j->e != NULL)
			err_set(j->e, st, "%s", why->msg[0] ? why->msg : "database failure");
	}
}

/* Runs a batch as one transaction: each job under its own savepoint, so a
 * failed job is undone alone, then one COMMIT (one fsync) for all. A job
 * sees the rows of the jobs before it: a jti or refresh token used earlier
 * in the batch conflicts as if committed. A lone job needs no savepoint. */
static void run_batch(struct sq_store *s, struct conn *c, struct job *jobs)
{
	bool single = jobs->next == NULL, any = false;
	struct err e = {0};
	status st;

	for (struct job *j = jobs; j != NULL; j = j->next)
		j->st = ST_OK;
	if ((st = exec_stmt(c, SQL_BEGIN_WRITE, "starting a write transaction", &e)) != ST_OK) {
		batch_fail(jobs, st, &e);
		return;
	}
	for (struct job *j = jobs; j != NULL; j = j->next) {
		if (!single &&
		    (st = exec_stmt(c, SQL_SAVEPOINT, "opening a savepoint", j->e)) != ST_OK) {
			j->st = st;
			continue;
		}
		j->st = j->body(c, j->arg, j->e);
		if (sqlite3_get_autocommit(c->db)) {
			/* SQLite rolled the whole transaction back (I/O error, out
			 * of memory): the jobs before this one are undone too. */
			err_set(&e, ST_IO, "database failure while writing (transaction aborted)");
			batch_fail(jobs, ST_IO, &e);
			return;
		}
		if (single)
			break;
		if (j->st != ST_OK)
			st = exec_stmt(c, SQL_ROLLBACK_TO, "rolling back a savepoint", &e);
		if (st == ST_OK)
			st = exec_stmt(c, SQL_RELEASE, "releasing a savepoint", &e);
		if (st != ST_OK) {
			if (j->st == ST_OK)
				j->st = st; /* its rows are in, but it will not commit */
			batch_fail(jobs, st, &e);
			rollback(c);
			return;
		}
	}
	for (struct job *j = jobs; j != NULL; j = j->next)
		any |= j->st == ST_OK;
	if (!any) {
		rollback(c);
		return;
	}
	if ((st = exec_stmt(c, SQL_COMMIT, "committing", &e)) != ST_OK) {
		batch_fail(jobs, st, &e);
		rollback(c);
		return;
	}
	__atomic_add_fetch(&s->n_commits, 1, __ATOMIC_RELAXED);
}

/* Called by SQLite on the writer's connection after each commit. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq_store *s = arg;

	(void)db;
	(void)name;
	__atomic_store_n(&s->wal_frames, frames, __ATOMIC_RELAXED);
	if (frames >= CKPT_FRAMES) {
		pthread_mutex_lock(&s->q_mu);
		if (!s->ck_want) {
			s->ck_want = true;
			pthread_cond_signal(&s->ck_cv);
		}
		pthread_mutex_unlock(&s->q_mu);
	}
	return SQLITE_OK;
}

/* The writer: takes everything queued (up to BATCH_MAX jobs), commits it as
 * one transaction, wakes the submitters, repeats. A request that finds it
 * idle is committed at once; requests that arrive during a commit share the
 * next one. No timer: batching comes only from concurrency. */
static void *writer_main(void *arg)
{
	struct sq_store *s = arg;
	struct conn *c = NULL;
	struct err e = {0};
	status cst = conn_get(&s->base, &c, &e);

	if (cst == ST_OK) {
		sqlite3_wal_hook(c->db, wal_hook, s);
		cst = conn_pragma(c, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT, NULL, &e);
	}
	if (cst != ST_OK)
		log_error("store: the writer has no connection: %s", e.msg);
	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		struct job *batch, *last, *async, **atail, *waiters;
		size_t n = 1;

		while (s->q_head == NULL && !s->q_stop)
			pthread_cond_wait(&s->q_cv, &s->q_mu);
		if (s->q_head == NULL)
			break; /* stopping, and nothing left to write */
		batch = last = s->q_head;
		while (last->next != NULL && n < BATCH_MAX) {
			last = last->next;
			n++;
		}
		s->q_head = last->next;
		if (s->q_head == NULL)
			s->q_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->q_mu);

		if (cst != ST_OK) {
			for (struct job *j = batch; j != NULL; j = j->next)
				j->st = ST_OK;
			batch_fail(batch, cst, &e);
		} else {
			run_batch(s, c, batch);
		}
		__atomic_add_fetch(&s->n_jobs, n, __ATOMIC_RELAXED);

		/* Asynchronous submitters first, without the lock (their `fin`
		 * resumes a connection); a job is theirs again once called, so
		 * the batch is split into the two kinds before. */
		async = waiters = NULL;
		atail = &async;
		for (struct job *j = batch, *next; j != NULL; j = next) {
			next = j->next;
			if (j->fin != NULL) {
				*atail = j;
				atail = &j->next;
			} else {
				j->next = waiters;
				waiters = j;
			}
		}
		*atail = NULL;
		for (struct job *j = async, *next; j != NULL; j = next) {
			next = j->next;
			j->fin(j->fin_arg, j->st);
		}
		pthread_mutex_lock(&s->q_mu);
		s->n_pending -= n;
		for (struct job *j = waiters, *next; j != NULL; j = next) {
			next = j->next; /* j may be gone once signalled */
			j->done = true;
			pthread_cond_signal(j->cv);
		}
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

/* The checkpointer: copies committed WAL frames into the database file when
 * the writer reports a large WAL. PASSIVE never blocks the writer; the WAL
 * then restarts from its beginning at the next commit that finds it fully
 * copied. When readers kept it from finishing and the WAL is past
 * CKPT_FORCE_FRAMES, a RESTART waits (up to the busy timeout) for them. */
static void *ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	struct conn *c = NULL;
	struct err e = {0};
	status cst = conn_get(&s->base, &c, &e);

	if (cst != ST_OK)
		log_error("store: the checkpointer has no connection: %s", e.msg);
	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		int log_frames = 0, done_frames = 0, rc, mode = SQLITE_CHECKPOINT_PASSIVE;

		while (!s->ck_want && !s->ck_stop)
			pthread_cond_wait(&s->ck_cv, &s->q_mu);
		if (s->ck_stop)
			break;
		s->ck_want = false;
		pthread_mutex_unlock(&s->q_mu);
		if (cst == ST_OK) {
			rc =
			    sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &log_frames, &done_frames);
			if (rc == SQLITE_OK && done_frames < log_frames &&
			    log_frames >= CKPT_FORCE_FRAMES) {
				mode = SQLITE_CHECKPOINT_RESTART;
				rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &log_frames,
							       &done_frames);
			}
			if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
				log_warn("store: checkpoint failed: %s", sqlite3_errmsg(c->db));
		}
		pthread_mutex_lock(&s->q_mu);
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

/* Starts the writer and the checkpointer (after migrations). */
static status threads_start(struct sq_store *s, struct err *e)
{
	pthread_mutex_lock(&s->q_mu);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		pthread_mutex_unlock(&s->q_mu);
		return err_set(e, ST_NOMEM, "cannot start the database writer thread");
	}
	s->writer_on = true;
	if (pthread_create(&s->ckpt, NULL, ckpt_main, s) == 0)
		s->ck_on = true;
	else
		log_warn("store: cannot start the checkpointer; the WAL is checkpointed at close");
	pthread_mutex_unlock(&s->q_mu);
	return ST_OK;
}

/* Drains the queue and stops both threads. */
static void threads_stop(struct sq_store *s)
{
	bool writer, ckpt;

	pthread_mutex_lock(&s->q_mu);
	writer = s->writer_on;
	ckpt = s->ck_on;
	s->q_stop = s->ck_stop = true;
	pthread_cond_signal(&s->q_cv);
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->q_mu);
	if (writer)
		pthread_join(s->writer, NULL);
	if (ckpt)
		pthread_join(s->ckpt, NULL);
	pthread_mutex_lock(&s->q_mu);
	s->writer_on = s->ck_on = false;
	pthread_mutex_unlock(&s->q_mu);
	if (writer && s->n_commits > 0)
		log_info("store: %llu write transactions in %llu commits (%.1f per commit)",
			 (unsigned long long)s->n_jobs, (unsigned long long)s->n_commits,
			 (double)s->n_jobs / (double)s->n_commits);
}

/* ---- shared write pieces ------------------------------------------------- */

static int64_t now_or(int64_t t)
{
	return t != 0 ? t : (int64_t)time(NULL);
}

static status audit_insert(struct conn *c, const struct store_audit *v, struct err *e)
{
	char id[UUID_STR_LEN + 1];
	struct q q = {0};
	status ret;
	int rc;

	if (v == NULL)
		return ST_OK;
	if (v->actor == NULL || v->action == NULL || v->object_type == NULL)
		return err_set(e, ST_INVALID, "audit event without actor, action or object type");
	if (v->id == NULL && (ret = uuid_v4(id)) != ST_OK)
		return err_set(e, ret, "cannot generate an audit event id");
	if ((ret = q_open(c, SQL_AUDIT_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, v->id != NULL ? v->id : id);
	q_text(&q, v->tenant_id);
	q_text(&q, v->actor);
	q_text(&q, v->action);
	q_text(&q, v->object_type);
	q_text(&q, v->object_id);
	q_text(&q, v->summary != NULL ? v->summary : "{}");
	q_int(&q, now_or(v->at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "audit event id '%s' already exists", v->id);
	else
		ret = db_fail(c, rc, "writing an audit event", e);
out:
	q_close(&q);
	return ret;
}

/* Runs a one-parameter UPDATE/DELETE; `*changes` gets the rows affected. */
static status exec_key(struct conn *c, enum sql id, const char *text, const void *blob,
		       size_t blob_n, int64_t *changes, const char *what, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = q_open(c, id, &q, e)) != ST_OK)
		goto out;
	if (blob != NULL)
		q_blob(&q, blob, blob_n);
	else
		q_text(&q, text);
	rc = q_step(&q);
	if (rc != SQLITE_DONE) {
		ret = db_fail(c, rc, what, e);
		goto out;
	}
	if (changes != NULL)
		*changes = q_changes(&q);
out:
	q_close(&q);
	return ret;
}

/* ASCII lower-case copy of a tenant domain; false when it does not fit. */
static bool domain_lower(char out[LIMIT_TENANT_DOMAIN + 1], const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0'; i++) {
		if (i == LIMIT_TENANT_DOMAIN)
			return false;
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	}
	out[i] = '\0';
	return true;
}

/* ---- tenants and admins ---------------------------------------------------- */

struct tenant_create_arg {
	const struct store_tenant *t;
	const struct store_admin *owner;
	const struct store_audit *audit;
};

static status admin_insert(struct conn *c, enum sql id, const struct store_admin *u, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if (u->id == NULL || u->tenant_id == NULL || u->username == NULL || u->pw_hash == NULL)
		return err_set(e, ST_INVALID,
			       "admin user without id, tenant, username or password");
	if ((ret = q_open(c, id, &q, e)) != ST_OK)
		goto out;
	q_text(&q, u->id);
	q_text(&q, u->tenant_id);
	q_text(&q, u->username);
	q_text(&q, u->pw_hash);
	q_int(&q, now_or(u->created_at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", u->tenant_id);
	else if (is_unique_violation(rc) && violated(c, "admin_users.username"))
		ret = err_set(e, ST_CONFLICT, "admin user '%s' already exists in this tenant",
			      u->username);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "admin user id '%s' already exists", u->id);
	else
		ret = db_fail(c, rc, "writing an admin user", e);
out:
	q_close(&q);
	return ret;
}

static status tenant_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct tenant_create_arg *x = arg;
	const struct store_tenant *t = x->t;
	char domain[LIMIT_TENANT_DOMAIN + 1];
	struct q q = {0};
	status ret;
	int rc;

	if (t->id == NULL || t->domain == NULL)
		return err_set(e, ST_INVALID, "tenant without id or domain");
	if (!domain_lower(domain, t->domain))
		return err_set(e, ST_INVALID, "tenant domain is longer than %d bytes",
			       LIMIT_TENANT_DOMAIN);
	if ((ret = q_open(c, SQL_TENANT_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, t->id);
	q_text(&q, domain);
	q_int(&q, t->active);
	q_int(&q, now_or(t->created_at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (is_unique_violation(rc) && violated(c, "tenants.domain"))
		ret = err_set(e, ST_CONFLICT, "tenant domain '%s' already exists", domain);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "tenant id '%s' already exists", t->id);
	else
		ret = db_fail(c, rc, "creating a tenant", e);
	q_close(&q);
	if (ret == ST_OK && x->owner != NULL)
		ret = admin_insert(c, SQL_ADMIN_INSERT, x->owner, e);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status sq_tenant_create(struct store *s, const struct store_tenant *t,
			       const struct store_admin *owner, const struct store_audit *audit,
			       struct err *e)
{
	struct tenant_create_arg x = {t, owner, audit};
	return write_tx(s, tenant_create_body, &x, e);
}

/* Looks up one row by up to two text keys. */
static status get_by(struct store *s, enum sql id, const char *k1, const char *k2, struct arena *a,
		     row_fn fn, void *out, const char *what, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, id, &q, e)) != ST_OK)
		goto out;
	q_text(&q, k1);
	if (k2 != NULL)
		q_text(&q, k2);
	ret = q_row(&q, a, fn, out, what, e);
out:
	q_close(&q);
	return ret;
}

static status sq_tenant_get(struct store *s, struct arena *a, const char *id,
			    struct store_tenant *out, struct err *e)
{
	status ret;

	memset(out, 0, sizeof *out);
	ret = get_by(s, SQL_TENANT_GET, id, NULL, a, row_tenant, out, "a tenant", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "tenant '%s' not found", id);
	return ret;
}

static status sq_tenant_get_by_domain(struct store *s, struct arena *a, const char *domain,
				      struct store_tenant *out, struct err *e)
{
	char lower[LIMIT_TENANT_DOMAIN + 1];
	status ret = ST_NOT_FOUND;

	memset(out, 0, sizeof *out);
	/* Longer than any stored domain: cannot exist. */
	if (domain_lower(lower, domain))
		ret = get_by(s, SQL_TENANT_GET_BY_DOMAIN, lower, NULL, a, row_tenant, out,
			     "a tenant", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "tenant '%.*s' not found", LIMIT_TENANT_DOMAIN, domain);
	return ret;
}

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

static status list_rows(struct store *s, struct arena *a, const struct list_spec *ls,
			struct store_page pg, void **items, size_t *n, int64_t *total,
			struct err *e)
{
	struct conn *c;
	struct q q = {0};
	unsigned char *arr = NULL;
	int64_t count = 0, want = 0;
	size_t got = 0;
	status ret;
	int rc;

	*items = NULL;
	*n = 0;
	if (total != NULL)
		*total = 0;
	pg = store_page_norm(pg);
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = exec_stmt(c, SQL_BEGIN_READ, "starting a read transaction", e)) != ST_OK)
		goto out;

	if ((ret = q_open(c, ls->count, &q, e)) != ST_OK)
		goto out;
	if (ls->key != NULL)
		q_text(&q, ls->key);
	if (ls->filtered) {
		q_text(&q, pg.name_op);
		q_text(&q, pg.name_op != NULL ? pg.name_value : NULL);
	}
	rc = q_step(&q);
	if (rc != SQLITE_ROW) {
		ret = db_fail(c, rc, ls->what, e);
		goto out;
	}
	count = sqlite3_column_int64(q.st, 0);
	q_close(&q);

	if (count > pg.offset)
		want = count - pg.offset < pg.limit ? count - pg.offset : pg.limit;
	if (want > 0) {
		arr = arena_alloc(a, (size_t)want * ls->elem);
		if (arr == NULL) {
			ret = err_set(e, ST_NOMEM, "out of memory listing %s", ls->what);
			goto out;
		}
		if ((ret = q_open(c, ls->page, &q, e)) != ST_OK)
			goto out;
		if (ls->key != NULL)
			q_text(&q, ls->key);
		if (ls->filtered) {
			q_text(&q, pg.name_op);
			q_text(&q, pg.name_op != NULL ? pg.name_value : NULL);
		}
		q_int(&q, want);
		q_int(&q, pg.offset);
		while (got < (size_t)want && (rc = q_step(&q)) == SQLITE_ROW) {
			if (!ls->row(q.st, a, arr + got * ls->elem)) {
				ret = err_set(e, ST_NOMEM, "out of memory listing %s", ls->what);
				goto out;
			}
			got++;
		}
		if (got < (size_t)want && rc != SQLITE_DONE) {
			ret = db_fail(c, rc, ls->what, e);
			goto out;
		}
		q_close(&q);
	}
	ret = exec_stmt(c, SQL_COMMIT, "ending a read transaction", e);
out:
	q_close(&q);
	if (ret != ST_OK) {
		rollback(c);
		return ret;
	}
	*items = arr;
	*n = got;
	if (total != NULL)
		*total = count;
	return ST_OK;
}

static status sq_tenant_list(struct store *s, struct arena *a, struct store_page pg,
			     struct store_tenant **items, size_t *n, int64_t *total, struct err *e)
{
	const struct list_spec ls = {
	    .count = SQL_TENANT_COUNT,
	    .page = SQL_TENANT_PAGE,
	    .key = NULL,
	    .elem = sizeof **items,
	    .row = row_tenant,
	    .what = "tenants",
	};
	void *p;
	status ret = list_rows(s, a, &ls, pg, &p, n, total, e);
	*items = p;
	return ret;
}

struct set_active_arg {
	const char *id;
	bool active;
	const struct store_audit *audit;
};

static status tenant_set_active_body(struct conn *c, void *arg, struct err *e)
{
	const struct set_active_arg *x = arg;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = q_open(c, SQL_TENANT_SET_ACTIVE, &q, e)) != ST_OK)
		goto out;
	q_int(&q, x->active);
	q_text(&q, x->id);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, "updating a tenant", e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", x->id);
	q_close(&q);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status sq_tenant_set_active(struct store *s, const char *id, bool active,
				   const struct store_audit *audit, struct err *e)
{
	struct set_active_arg x = {id, active, audit};
	return write_tx(s, tenant_set_active_body, &x, e);
}

static status admin_put_body(struct conn *c, void *arg, struct err *e)
{
	return admin_insert(c, SQL_ADMIN_UPSERT, arg, e);
}

static status sq_admin_put(struct store *s, const struct store_admin *u, struct err *e)
{
	return write_tx(s, admin_put_body, (void *)u, e);
}

static status sq_admin_get(struct store *s, struct arena *a, const char *tenant_id,
			   const char *username, struct store_admin *out, struct err *e)
{
	status ret;

	memset(out, 0, sizeof *out);
	ret = get_by(s, SQL_ADMIN_GET, tenant_id, username, a, row_admin, out, "an admin user", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "admin user '%s' not found", username);
	return ret;
}

static status sq_admin_list(struct store *s, struct arena *a, const char *tenant_id,
			    struct store_admin **items, size_t *n, struct err *e)
{
	const struct list_spec ls = {
	    .count = SQL_ADMIN_COUNT,
	    .page = SQL_ADMIN_PAGE,
	    .key = tenant_id,
	    .elem = sizeof **items,
	    .row = row_admin,
	    .what = "admin users",
	};
	const struct store_page pg = {STORE_PAGE_MAX, 0};
	void *p;
	status ret = list_rows(s, a, &ls, pg, &p, n, NULL, e);
	*items = p;
	return ret;
}

/* ---- identity providers and applications: what their CRUD shares ----------- */

/* An entity of a tenant kept as a row with a JSON document: its statements,
 * the words its messages use, and the tokens that depend on it. */
struct entity {
	const char *noun;        /* "identity provider": "<noun> '<id>' not found" */
	const char *one, *many;  /* "an identity provider", "identity providers" */
	const char *name_column; /* "identity_providers.name": UNIQUE (tenant_id, name) */
	const char *deleting;    /* what a failed DELETE was doing */
	const char *revoking;    /* what a failed revocation was doing */
	enum sql del, count, page;
	enum sql revoke; /* revokes the tokens of one id */
	size_t size;     /* of the row struct */
	row_fn row;
};

static const struct entity ENT_IDP = {
    .noun = "identity provider",
    .one = "an identity provider",
    .many = "identity providers",
    .name_column = "identity_providers.name",
    .deleting = "deleting an identity provider",
    .revoking = "revoking an identity provider's tokens",
    .del = SQL_IDP_DELETE,
    .count = SQL_IDP_COUNT,
    .page = SQL_IDP_PAGE,
    .revoke = SQL_TOKENS_REVOKE_IDP,
    .size = sizeof(struct store_idp),
    .row = row_idp,
};

static const struct entity ENT_APP = {
    .noun = "application",
    .one = "an application",
    .many = "applications",
    .name_column = "applications.name",
    .deleting = "deleting an application",
    .revoking = "revoking an application's tokens",
    .del = SQL_APP_DELETE,
    .count = SQL_APP_COUNT,
    .page = SQL_APP_PAGE,
    .revoke = SQL_TOKENS_REVOKE_APP,
    .size = sizeof(struct store_app),
    .row = row_app,
};

/* A write of one entity: `row` (a struct store_idp or store_app) for create
 * and update, `tenant_id` and `id` for delete. */
struct entity_arg {
	const struct entity *ent;
	const void *row;
	const char *tenant_id, *id;
	const struct store_audit *audit;
};

/* Maps the result of an INSERT/UPDATE step of `ent`'s row. */
static status entity_write_result(struct conn *c, int rc, const struct entity *ent,
				  const char *tenant_id, const char *id, const char *name,
				  const char *what, struct err *e)
{
	if (rc == SQLITE_DONE)
		return ST_OK;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return err_set(e, ST_NOT_FOUND, "tenant '%s' not found", tenant_id);
	if (is_unique_violation(rc) && violated(c, ent->name_column))
		return err_set(e, ST_CONFLICT, "%s name '%s' already exists in this tenant",
			       ent->noun, name);
	if (is_unique_violation(rc))
		return err_set(e, ST_CONFLICT, "%s id '%s' already exists", ent->noun, id);
	return db_fail(c, rc, what, e);
}

static status entity_revoke_tokens(struct conn *c, const struct entity *ent, const char *id,
				   struct err *e)
{
	return exec_key(c, ent->revoke, id, NULL, 0, NULL, ent->revoking, e);
}

/* Deletes one entity of a tenant and revokes its tokens (contract §6). */
static status entity_delete_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct entity *ent = x->ent;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = q_open(c, ent->del, &q, e)) != ST_OK)
		goto out;
	q_text(&q, x->tenant_id);
	q_text(&q, x->id);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, ent->deleting, e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "%s '%s' not found", ent->noun, x->id);
	q_close(&q);
	if (ret == ST_OK)
		ret = entity_revoke_tokens(c, ent, x->id, e);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status entity_write(struct store *s, const struct entity *ent, tx_body body, const void *row,
			   const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = ent, .row = row, .audit = audit};
	return write_tx(s, body, &x, e);
}

static status entity_delete(struct store *s, const struct entity *ent, const char *tenant_id,
			    const char *id, const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = ent, .tenant_id = tenant_id, .id = id, .audit = audit};
	return write_tx(s, entity_delete_body, &x, e);
}

/* Reads one entity of a tenant by `key` with the statement `id` (by id, by
 * name); "<noun> '<key>' not found" when there is none. */
static status entity_get(struct store *s, const struct entity *ent, enum sql id, struct arena *a,
			 const char *tenant_id, const char *key, void *out, struct err *e)
{
	status ret;

	memset(out, 0, ent->size);
	ret = get_by(s, id, tenant_id, key, a, ent->row, out, ent->one, e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "%s '%s' not found", ent->noun, key);
	return ret;
}

static status entity_list(struct store *s, const struct entity *ent, struct arena *a,
			  const char *tenant_id, struct store_page pg, void **items, size_t *n,
			  int64_t *total, struct err *e)
{
	const struct list_spec ls = {
	    .count = ent->count,
	    .page = ent->page,
	    .filtered = true,
	    .key = tenant_id,
	    .elem = ent->size,
	    .row = ent->row,
	    .what = ent->many,
	};
	return list_rows(s, a, &ls, pg, items, n, total, e);
}

/* ---- identity providers ---------------------------------------------------- */

static status idp_check(const struct store_idp *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL)
		return err_set(e, ST_INVALID, "identity provider without id, tenant or name");
	return ST_OK;
}

static status idp_write_result(struct conn *c, int rc, const struct store_idp *p, const char *what,
			       struct err *e)
{
	return entity_write_result(c, rc, &ENT_IDP, p->tenant_id, p->id, p->name, what, e);
}

static status idp_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	struct q q = {0};
	int64_t created = now_or(p->created_at);
	status ret;

	if ((ret = idp_check(p, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_IDP_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->id);
	q_text(&q, p->tenant_id);
	q_text(&q, p->name);
	q_text(&q, p->issuer != NULL ? p->issuer : "");
	q_int(&q, p->enabled);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, created);
	q_int(&q, p->updated_at != 0 ? p->updated_at : created);
	ret = idp_write_result(c, q_step(&q), p, "creating an identity provider", e);
	q_close(&q);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status idp_update_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	struct q q = {0};
	status ret;

	if ((ret = idp_check(p, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_IDP_UPDATE, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->name);
	q_text(&q, p->issuer != NULL ? p->issuer : "");
	q_int(&q, p->enabled);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, now_or(p->updated_at));
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	ret = idp_write_result(c, q_step(&q), p, "updating an identity provider", e);
	if (ret == ST_OK && q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "identity provider '%s' not found", p->id);
	q_close(&q);
	/* Contract §6: disabling an IdP revokes the tokens that depend on it. */
	if (ret == ST_OK && !p->enabled)
		ret = entity_revoke_tokens(c, &ENT_IDP, p->id, e);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status sq_idp_create(struct store *s, const struct store_idp *idp,
			    const struct store_audit *audit, struct err *e)
{
	return entity_write(s, &ENT_IDP, idp_create_body, idp, audit, e);
}

static status sq_idp_update(struct store *s, const struct store_idp *idp,
			    const struct store_audit *audit, struct err *e)
{
	return entity_write(s, &ENT_IDP, idp_update_body, idp, audit, e);
}

static status sq_idp_delete(struct store *s, const char *tenant_id, const char *id,
			    const struct store_audit *audit, struct err *e)
{
	return entity_delete(s, &ENT_IDP, tenant_id, id, audit, e);
}

static status sq_idp_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			 struct store_idp *out, struct err *e)
{
	return entity_get(s, &ENT_IDP, SQL_IDP_GET, a, tenant_id, id, out, e);
}

static status sq_idp_get_by_name(struct store *s, struct arena *a, const char *tenant_id,
				 const char *name, struct store_idp *out, struct err *e)
{
	return entity_get(s, &ENT_IDP, SQL_IDP_GET_BY_NAME, a, tenant_id, name, out, e);
}

static status sq_idp_find_by_issuer(struct store *s, struct arena *a, const char *tenant_id,
				    const char *iss, struct store_idp **items, size_t *n,
				    struct err *e)
{
	struct conn *c;
	struct q q = {0};
	struct store_idp *arr;
	size_t got = 0;
	status ret;
	int rc = SQLITE_DONE;

	*items = NULL;
	*n = 0;
	arr = arena_alloc(a, STORE_IDP_FIND_MAX * sizeof *arr);
	if (arr == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_IDP_FIND_BY_ISSUER, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_text(&q, iss);
	q_int(&q, STORE_IDP_FIND_MAX);
	while (got < STORE_IDP_FIND_MAX && (rc = q_step(&q)) == SQLITE_ROW) {
		if (!row_idp(q.st, a, &arr[got])) {
			ret = err_set(e, ST_NOMEM, "out of memory reading identity providers");
			goto out;
		}
		got++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_fail(c, rc, "finding identity providers", e);
		goto out;
	}
	*items = arr;
	*n = got;
out:
	q_close(&q);
	return ret;
}

static status sq_idp_list(struct store *s, struct arena *a, const char *tenant_id,
			  struct store_page pg, struct store_idp **items, size_t *n, int64_t *total,
			  struct err *e)
{
	void *p;
	status ret = entity_list(s, &ENT_IDP, a, tenant_id, pg, &p, n, total, e);
	*items = p;
	return ret;
}

/* ---- applications --------------------------------------------------------- */

static status app_check(const struct store_app *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL || p->client_id == NULL)
		return err_set(e, ST_INVALID, "application without id, tenant, name or client id");
	return ST_OK;
}

static status app_write_result(struct conn *c, int rc, const struct store_app *p, const char *what,
			       struct err *e)
{
	/* The client id is unique across tenants: checked before the name. */
	if (is_unique_violation(rc) && violated(c, "applications.client_id"))
		return err_set(e, ST_CONFLICT, "client id '%s' is already registered",
			       p->client_id);
	return entity_write_result(c, rc, &ENT_APP, p->tenant_id, p->id, p->name, what, e);
}

static status app_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	struct q q = {0};
	int64_t created = now_or(p->created_at);
	status ret;

	if ((ret = app_check(p, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_APP_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->id);
	q_text(&q, p->tenant_id);
	q_text(&q, p->name);
	q_text(&q, p->client_id);
	q_blob(&q, p->has_secret ? p->secret_hash : NULL, SHA256_LEN);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, created);
	q_int(&q, p->updated_at != 0 ? p->updated_at : created);
	ret = app_write_result(c, q_step(&q), p, "creating an application", e);
	q_close(&q);
	if (ret == ST_OK)
		ret = audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status app_update_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	unsigned char old[SHA256_LEN] = {0};
	bool had_secret = false;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = app_check(p, e)) != ST_OK)
		return ret;
	/* The old secret hash decides whether this is a regeneration. */
	if ((ret = q_open(c, SQL_APP_SECRET_GET, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	rc = q_step(&q);
	if (rc == SQLITE_DONE) {
		ret = err_set(e, ST_NOT_FOUND, "application '%s' not found", p->id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = db_fail(c, rc, "updating an application", e);
		goto out;
	}
	if (sqlite3_column_type(q.st, 0) == SQLITE_BLOB &&
	    sqlite3_column_bytes(q.st, 0) == SHA256_LEN) {
		memcpy(old, sqlite3_column_blob(q.st, 0), SHA256_LEN);
		had_secret = true;
	}
	q_close(&q);

	if ((ret = q_open(c, SQL_APP_UPDATE, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->name);
	q_text(&q, p->client_id);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, now_or(p->updated_at));
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	if ((ret = app_write_result(c, q_step(&q), p, "updating an application", e)) != ST_OK)
		goto out;
	q_close(&q);

	if (p->has_secret) {
		bool changed = !had_secret || !ct_eq(old, SHA256_LEN, p->secret_hash, SHA256_LEN);
		if (changed) {
			if ((ret = q_open(c, SQL_APP_SECRET_SET, &q, e)) != ST_OK)
				goto out;
			q_blob(&q, p->secret_hash, SHA256_LEN);
			q_text(&q, p->tenant_id);
			q_text(&q, p->id);
			rc = q_step(&q);
			if (rc != SQLITE_DONE) {
				ret = db_fail(c, rc, "updating an application secret", e);
				goto out;
			}
			q_close(&q);
		}
		/* Contract §6: a regenerated secret revokes the app's tokens. */
		if (changed && had_secret &&
		    (ret = entity_revoke_tokens(c, &ENT_APP, p->id, e)) != ST_OK)
			goto out;
	}
	ret = audit_insert(c, x->audit, e);
out:
	mem_wipe(old, sizeof old);
	q_close(&q);
	return ret;
}

static status sq_app_create(struct store *s, const struct store_app *app,
			    const struct store_audit *audit, struct err *e)
{
	return entity_write(s, &ENT_APP, app_create_body, app, audit, e);
}

static status sq_app_update(struct store *s, const struct store_app *app,
			    const struct store_audit *audit, struct err *e)
{
	return entity_write(s, &ENT_APP, app_update_body, app, audit, e);
}

static status sq_app_delete(struct store *s, const char *tenant_id, const char *id,
			    const struct store_audit *audit, struct err *e)
{
	return entity_delete(s, &ENT_APP, tenant_id, id, audit, e);
}

static status sq_app_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
			 struct store_app *out, struct err *e)
{
	return entity_get(s, &ENT_APP, SQL_APP_GET, a, tenant_id, id, out, e);
}

static status sq_app_get_by_client_id(struct store *s, struct arena *a, const char *tenant_id,
				      const char *client_id, struct store_app *out, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	memset(out, 0, sizeof *out);
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_APP_GET_BY_CLIENT_ID, &q, e)) != ST_OK)
		goto out;
	q_text(&q, client_id);
	q_text(&q, tenant_id); /* NULL: any tenant */
	ret = q_row(&q, a, row_app, out, "an application", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "no application with client id '%.*s'", LIMIT_CLIENT_ID, client_id);
out:
	q_close(&q);
	return ret;
}

static status sq_app_list(struct store *s, struct arena *a, const char *tenant_id,
			  struct store_page pg, struct store_app **items, size_t *n, int64_t *total,
			  struct err *e)
{
	void *p;
	status ret = entity_list(s, &ENT_APP, a, tenant_id, pg, &p, n, total, e);
	*items = p;
	return ret;
}

/* ---- tokens (the hot path) -------------------------------------------------- */

static status token_insert(struct conn *c, const struct store_token *t, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if (t->kind != STORE_TOKEN_ACCESS && t->kind != STORE_TOKEN_REFRESH)
		return err_set(e, ST_INVALID, "unknown token kind %d", (int)t->kind);
	if (t->tenant_id == NULL || t->app_id == NULL || t->client_id == NULL ||
	    t->subject == NULL || t->grant_type == NULL)
		return err_set(
		    e, ST_INVALID,
		    "token without tenant, application, client id, subject or grant type");
	if ((ret = q_open(c, SQL_TOKEN_INSERT, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, t->hash, SHA256_LEN);
	q_int(&q, t->kind);
	q_text(&q, t->tenant_id);
	q_text(&q, t->app_id);
	q_text(&q, t->client_id);
	q_text(&q, t->idp_id);
	q_text(&q, t->subject);
	q_text(&q, t->scope != NULL ? t->scope : "");
	q_text(&q, t->grant_type);
	q_text(&q, t->chain_id);
	q_int(&q, t->issued_at);
	q_int(&q, t->expires_at);
	q_int(&q, t->revoked);
	q_int(&q, t->used);
	q_text(&q, t->jti);
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "a token with this hash already exists");
	else
		ret = db_fail(c, rc, "storing a token", e);
out:
	q_close(&q);
	return ret;
}

struct tokens_put_arg {
	const struct store_token *access, *refresh;
};

static status tokens_put_body(struct conn *c, void *arg, struct err *e)
{
	const struct tokens_put_arg *x = arg;
	status ret = token_insert(c, x->access, e);

	if (ret == ST_OK && x->refresh != NULL)
		ret = token_insert(c, x->refresh, e);
	return ret;
}

static status sq_tokens_put(struct store *s, const struct store_token *access,
			    const struct store_token *refresh, struct err *e)
{
	struct tokens_put_arg x = {access, refresh};

	assert(access != NULL);
	return write_tx(s, tokens_put_body, &x, e);
}

static status sq_token_get(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
			   struct store_token *out, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	memset(out, 0, sizeof *out);
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_TOKEN_GET, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, hash, SHA256_LEN);
	ret = q_row(&q, a, row_token, out, "a token", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "token not found");
out:
	q_close(&q);
	return ret;
}

struct refresh_use_arg {
	const unsigned char *hash;
	struct arena *a;
	struct store_token *out;
};

static status refresh_use_body(struct conn *c, void *arg, struct err *e)
{
	const struct refresh_use_arg *x = arg;
	struct q q = {0};
	status ret;
	int rc;

	/* The conditional UPDATE is the atomic test-and-set: of concurrent
	 * callers exactly one sees a row come back. */
	if ((ret = q_open(c, SQL_REFRESH_USE, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, x->hash, SHA256_LEN);
	ret = q_row(&q, x->a, row_token, x->out, "a refresh token", e);
	if (ret == ST_OK && (rc = q_step(&q)) != SQLITE_DONE)
		ret = db_fail(c, rc, "using a refresh token", e);
	q_close(&q);
	if (ret != ST_NOT_FOUND)
		goto out;

	/* Nothing updated: unknown, or already used. */
	if ((ret = q_open(c, SQL_REFRESH_GET, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, x->hash, SHA256_LEN);
	ret = q_row(&q, x->a, row_token, x->out, "a refresh token", e);
	if (ret == ST_OK)
		ret = err_set(e, ST_CONFLICT, "refresh token already used");
	else if (ret == ST_NOT_FOUND)
		err_set(e, ret, "refresh token not found");
out:
	q_close(&q);
	return ret;
}

static status sq_refresh_use(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
			     struct store_token *out, struct err *e)
{
	struct refresh_use_arg x = {hash, a, out};

	memset(out, 0, sizeof *out);
	return write_tx(s, refresh_use_body, &x, e);
}

struct revoke_arg {
	enum sql id;
	const char *text;
	const unsigned char *hash;
	bool must_exist;
};

static status revoke_body(struct conn *c, void *arg, struct err *e)
{
	const struct revoke_arg *x = arg;
	int64_t changes = 0;
	status ret;

	ret = exec_key(c, x->id, x->text, x->hash, SHA256_LEN, &changes, "revoking tokens", e);
	if (ret == ST_OK && x->must_exist && changes == 0)
		ret = err_set(e, ST_NOT_FOUND, "token not found");
	return ret;
}

static status sq_token_revoke(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e)
{
	struct revoke_arg x = {SQL_TOKEN_REVOKE, NULL, hash, true};
	return write_tx(s, revoke_body, &x, e);
}

static status sq_tokens_revoke_chain(struct store *s, const char *chain_id, struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_CHAIN, chain_id, NULL, false};
	return write_tx(s, revoke_body, &x, e);
}

static status sq_tokens_revoke_by(struct store *s, const char *field, const char *value,
				  struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_APP, value, NULL, false};

	/* The column is chosen from a fixed pair, never spliced into SQL. */
	if (strcmp(field, "idp_id") == 0)
		x.id = SQL_TOKENS_REVOKE_IDP;
	else if (strcmp(field, "app_id") != 0)
		return err_set(e, ST_INVALID, "tokens cannot be revoked by '%s'", field);
	return write_tx(s, revoke_body, &x, e);
}

struct replay_arg {
	const char *tenant_id, *iss, *jti;
	int64_t expires_at, now;
};

static status replay_body(struct conn *c, void *arg, struct err *e)
{
	const struct replay_arg *x = arg;
	struct q q = {0};
	status ret;
	int rc;

	/* One statement decides: a new triple inserts, an expired one is
	 * overwritten, a live one changes nothing (0 rows) -> replay. */
	if ((ret = q_open(c, SQL_REPLAY_RECORD, &q, e)) != ST_OK)
		goto out;
	q_text(&q, x->tenant_id);
	q_text(&q, x->iss);
	q_text(&q, x->jti);
	q_int(&q, x->expires_at);
	q_int(&q, x->now);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, "recording an assertion id", e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_CONFLICT, "assertion replayed: this jti was already used");
out:
	q_close(&q);
	return ret;
}

static status sq_replay_record(struct store *s, const char *tenant_id, const char *iss,
			       const char *jti, int64_t expires_at, int64_t now, struct err *e)
{
	struct replay_arg x = {tenant_id, iss, jti, expires_at, now};

	if (tenant_id == NULL || iss == NULL || jti == NULL)
		return err_set(e, ST_INVALID, "replay record without tenant, issuer or jti");
	return write_tx(s, replay_body, &x, e);
}

static status refresh_mark_used(struct conn *c, const unsigned char *hash, struct err *e)
{
	int64_t changes = 0;
	status ret = exec_key(c, SQL_REFRESH_MARK_USED, NULL, hash, SHA256_LEN, &changes,
			      "using a refresh token", e);

	if (ret == ST_OK && changes == 0)
		ret = err_set(e, ST_CONFLICT, "refresh token already used (or unknown)");
	return ret;
}

/* One token request's writes, in the order store.h gives. */
static status grant_body(struct conn *c, void *arg, struct err *e)
{
	struct store_grant_tx *tx = arg;
	status ret;

	for (size_t i = 0; i < tx->nreplays; i++) {
		const struct store_replay *r = &tx->replays[i];
		struct replay_arg x = {r->tenant_id, r->iss, r->jti, r->expires_at, tx->now};

		if ((ret = replay_body(c, &x, e)) != ST_OK) {
			if (ret == ST_CONFLICT) {
				tx->conflict = STORE_TX_REPLAY;
				tx->conflict_replay = i;
			}
			return ret;
		}
	}
	if (tx->refresh_use != NULL && (ret = refresh_mark_used(c, tx->refresh_use, e)) != ST_OK) {
		if (ret == ST_CONFLICT)
			tx->conflict = STORE_TX_REFRESH_USE;
		return ret;
	}
	if (tx->access != NULL && (ret = token_insert(c, tx->access, e)) != ST_OK)
		return ret;
	if (tx->refresh != NULL && (ret = token_insert(c, tx->refresh, e)) != ST_OK)
		return ret;
	return ST_OK;
}

/* Resets the out fields and refuses a malformed transaction. */
static status grant_tx_check(struct store_grant_tx *tx, struct err *e)
{
	tx->conflict = STORE_TX_NONE;
	tx->conflict_replay = 0;
	if (tx->nreplays > STORE_TX_REPLAYS)
		return err_set(e, ST_INVALID, "too many replay records in one grant");
	for (size_t i = 0; i < tx->nreplays; i++)
		if (tx->replays[i].tenant_id == NULL || tx->replays[i].iss == NULL ||
		    tx->replays[i].jti == NULL)
			return err_set(e, ST_INVALID,
				       "replay record without tenant, issuer or jti");
	return ST_OK;
}

static status sq_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e)
{
	status ret = grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	return write_tx(s, grant_body, tx, e);
}

/* The job of a submitted grant lives in the transaction itself. */
_Static_assert(sizeof(struct job) <= sizeof(((struct store_grant_tx *)0)->backend),
	       "store_grant_tx.backend cannot hold a struct job");
_Static_assert(_Alignof(struct job) <= _Alignof(void *),
	       "store_grant_tx.backend is not aligned for a struct job");

static status sq_grant_submit(struct store *s, struct store_grant_tx *tx,
			      void (*done)(void *arg, status st), void *arg, struct err *e)
{
	status ret = grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	write_tx_async(s, (struct job *)(void *)tx->backend, grant_body, tx, e, done, arg);
	return ST_OK;
}

static status sq_replay_seen(struct store *s, const char *tenant_id, const char *iss,
			     const char *jti, int64_t now, bool *seen, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;
	int rc;

	*seen = false;
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_REPLAY_SEEN, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_text(&q, iss);
	q_text(&q, jti);
	q_int(&q, now);
	rc = q_step(&q);
	if (rc == SQLITE_ROW)
		*seen = true;
	else if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, "looking up an assertion id", e);
out:
	q_close(&q);
	return ret;
}

/* ---- signing keys ---------------------------------------------------------- */

/* A blob of any length, copied into the arena; NULL for SQL NULL. */
static unsigned char *rd_blob(struct rd *r, int i, size_t *n)
{
	const void *p;
	unsigned char *out;

	*n = 0;
	if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(r->st, i);
	*n = (size_t)sqlite3_column_bytes(r->st, i);
	out = arena_alloc(r->a, *n ? *n : 1);
	if (out == NULL || (p == NULL && *n > 0)) {
		r->bad = true;
		return NULL;
	}
	if (*n > 0)
		memcpy(out, p, *n);
	return out;
}

static bool row_skey(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_signing_key *k = out;
	struct rd r = {st, a, false};

	k->tenant_id = rd_str(&r, 0);
	k->kid = rd_str(&r, 1);
	k->alg = rd_str(&r, 2);
	k->public_jwk = rd_str(&r, 3);
	k->private_enc = rd_blob(&r, 4, &k->private_enc_len);
	k->status = (enum store_key_status)rd_int(&r, 5);
	k->created_at = rd_int(&r, 6);
	k->not_after_signing = rd_int(&r, 7);
	k->publish_until = rd_int(&r, 8);
	return !r.bad;
}

struct skey_add_arg {
	const struct store_signing_key *k;
	bool retire;
	int64_t publish_until;
};

static status skey_add_body(struct conn *c, void *arg, struct err *e)
{
	const struct skey_add_arg *x = arg;
	const struct store_signing_key *k = x->k;
	int64_t now = now_or(k->created_at);
	struct q q = {0};
	status ret;
	int rc;

	if (k->tenant_id == NULL || k->kid == NULL || k->alg == NULL || k->public_jwk == NULL ||
	    k->private_enc == NULL || k->private_enc_len == 0)
		return err_set(e, ST_INVALID,
			       "signing key without tenant, kid, alg or key material");
	if (!x->retire) {
		if ((ret = q_open(c, SQL_SKEY_ACTIVE, &q, e)) != ST_OK)
			goto out;
		q_text(&q, k->tenant_id);
		rc = q_step(&q);
		if (rc == SQLITE_ROW) {
			ret =
			    err_set(e, ST_CONFLICT, "the tenant already has an active signing key");
			goto out;
		}
		if (rc != SQLITE_DONE) {
			ret = db_fail(c, rc, "looking up the active signing key", e);
			goto out;
		}
		q_close(&q);
	} else {
		if ((ret = q_open(c, SQL_SKEY_RETIRE, &q, e)) != ST_OK)
			goto out;
		q_int(&q, now);
		q_int(&q, x->publish_until);
		q_text(&q, k->tenant_id);
		if ((rc = q_step(&q)) != SQLITE_DONE) {
			ret = db_fail(c, rc, "retiring a signing key", e);
			goto out;
		}
		q_close(&q);
	}
	if ((ret = q_open(c, SQL_SKEY_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, k->tenant_id);
	q_text(&q, k->kid);
	q_text(&q, k->alg);
	q_text(&q, k->public_jwk);
	q_blob(&q, k->private_enc, k->private_enc_len);
	q_int(&q, STORE_KEY_ACTIVE);
	q_int(&q, now);
	q_int(&q, 0);
	q_int(&q, 0);
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", k->tenant_id);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "signing key '%s' already exists in this tenant",
			      k->kid);
	else
		ret = db_fail(c, rc, "storing a signing key", e);
out:
	q_close(&q);
	return ret;
}

static status sq_signing_key_add(struct store *s, const struct store_signing_key *k, bool retire,
				 int64_t publish_until, struct err *e)
{
	struct skey_add_arg x = {k, retire, publish_until};
	return write_tx(s, skey_add_body, &x, e);
}

static status sq_signing_keys_list(struct store *s, struct arena *a, const char *tenant_id,
				   int64_t now, struct store_signing_key **items, size_t *n,
				   struct err *e)
{
	struct store_signing_key *v;
	struct conn *c;
	struct q q = {0};
	status ret;
	int rc;

	*items = NULL;
	*n = 0;
	v = arena_alloc(a, LIMIT_JWKS_KEYS * sizeof *v);
	if (v == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	memset(v, 0, LIMIT_JWKS_KEYS * sizeof *v);
	if ((ret = conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = q_open(c, SQL_SKEY_LIST, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_int(&q, now);
	q_int(&q, LIMIT_JWKS_KEYS);
	while ((rc = q_step(&q)) == SQLITE_ROW) {
		if (!row_skey(q.st, a, &v[*n])) {
			ret = err_set(e, ST_NOMEM, "out of memory reading signing keys");
			goto out;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		ret = db_fail(c, rc, "reading signing keys", e);
		goto out;
	}
	*items = v;
out:
	q_close(&q);
	return ret;
}

/* ---- audit and maintenance ---------------------------------------------- */

static status sq_audit_list(struct store *s, struct arena *a, const char *tenant_id,
			    struct store_page pg, struct store_audit **items, size_t *n,
			    int64_t *total, struct err *e)
{
	struct list_spec ls = {
	    .count = SQL_AUDIT_COUNT,
	    .page = SQL_AUDIT_PAGE,
	    .key = tenant_id,
	    .elem = sizeof **items,
	    .row = row_audit,
	    .what = "audit events",
	};
	void *p;
	status ret;

	if (tenant_id == NULL) {
		ls.count = SQL_AUDIT_COUNT_ALL;
		ls.page = SQL_AUDIT_PAGE_ALL;
	}
	ret = list_rows(s, a, &ls, pg, &p, n, total, e);
	*items = p;
	return ret;
}

struct purge_arg {
	enum sql id;
	int64_t now;
	const char *what;
	int64_t changes;
};

static status purge_body(struct conn *c, void *arg, struct err *e)
{
	struct purge_arg *x = arg;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = q_open(c, x->id, &q, e)) != ST_OK)
		return ret;
	q_int(&q, x->now);
	q_int(&q, PURGE_BATCH);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = db_fail(c, rc, x->what, e);
	else
		x->changes = q_changes(&q);
	q_close(&q);
	return ret;
}

/* Deletes PURGE_BATCH rows per write job until a batch comes back short:
 * each job is small and shares its commit with the grants around it, so a
 * purge never holds the writer for long. */
static status purge(struct store *s, enum sql id, int64_t now, const char *what, struct err *e)
{
	struct purge_arg x = {id, now, what, 0};
	status ret;

	do {
		x.changes = 0;
		if ((ret = write_tx(s, purge_body, &x, e)) != ST_OK)
			return ret;
	} while (x.changes == PURGE_BATCH);
	return ST_OK;
}

static void sq_stats(struct store *base, struct store_stats *out)
{
	struct sq_store *s = sq(base);

	memset(out, 0, sizeof *out);
	out->writes = __atomic_load_n(&s->n_jobs, __ATOMIC_RELAXED);
	out->commits = __atomic_load_n(&s->n_commits, __ATOMIC_RELAXED);
	out->wal_frames = __atomic_load_n(&s->wal_frames, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->q_mu);
	out->pending = s->n_pending;
	pthread_mutex_unlock(&s->q_mu);
}

static status sq_purge_expired(struct store *s, int64_t now, struct err *e)
{
	status ret = purge(s, SQL_PURGE_REPLAY, now, "purging replay records", e);

	if (ret != ST_OK)
		return ret;
	if ((ret = purge(s, SQL_PURGE_TOKENS, now, "purging expired tokens", e)) != ST_OK)
		return ret;
	return purge(s, SQL_PURGE_SKEYS, now, "purging retired signing keys", e);
}

/* ---- open, migrate, close -------------------------------------------------- */

static void sq_close(struct store *base)
{
	struct sq_store *s = sq(base);
	struct conn *c, *next;

	if (s == NULL)
		return;
	/* First: the writer finishes what was queued; its and the
	 * checkpointer's connections close as the threads exit. */
	threads_stop(s);
	pthread_mutex_lock(&s->mu);
	/* After this no exiting thread calls conn_thread_exit for this store. */
	pthread_key_delete(s->key);
	c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&s->mu);
	for (; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->write_mu);
	pthread_mutex_destroy(&s->q_mu);
	pthread_cond_destroy(&s->q_cv);
	pthread_cond_destroy(&s->ck_cv);
	free(s->path);
	free(s);
}

static status user_version(struct conn *c, int *out, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = q_open(c, SQL_USER_VERSION, &q, e)) != ST_OK)
		goto out;
	rc = q_step(&q);
	if (rc != SQLITE_ROW) {
		ret = db_fail(c, rc, "reading the schema version", e);
		goto out;
	}
	*out = sqlite3_column_int(q.st, 0);
out:
	q_close(&q);
	return ret;
}

/* Brings the schema to STORE_SCHEMA_VERSION under BEGIN IMMEDIATE: of two
 * processes racing on a new file, the second waits for the first and then
 * finds nothing to do. */
static status migrate(struct sq_store *s, struct conn *c, struct err *e)
{
	char sql[64];
	char *msg = NULL;
	int have = 0, rc;
	status ret;

	if ((ret = exec_stmt(c, SQL_BEGIN_WRITE, "starting the schema migration", e)) != ST_OK)
		return ret;
	if ((ret = user_version(c, &have, e)) != ST_OK)
		goto out;
	s->base.schema_found = have;
	if (have > STORE_SCHEMA_VERSION) {
		ret = err_set(e, ST_UNSUPPORTED,
			      "database '%s' has schema version %d, newer than the %d this grantd "
			      "knows; run a newer grantd (or restore a backup)",
			      s->path, have, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (have < 0) {
		ret = err_set(e, ST_IO, "database '%s' has an invalid schema version %d", s->path,
			      have);
		goto out;
	}
	for (int v = have; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(c->db, migrations[v], NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			log_error("store: schema migration %d failed: %s", v + 1,
				  msg ? msg : sqlite3_errstr(rc));
			ret = err_set(e, (rc & 0xff) == SQLITE_BUSY ? ST_BUSY : ST_IO,
				      "database '%s': schema migration %d failed", s->path, v + 1);
			goto out;
		}
	}
	if (have < STORE_SCHEMA_VERSION) {
		/* A constant, not input: the one piece of SQL built at run time. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = db_fail(c, rc, "recording the schema version", e);
			goto out;
		}
	}
	if ((ret = exec_stmt(c, SQL_COMMIT, "committing the schema migration", e)) != ST_OK)
		goto out;
	s->base.migrations_applied = STORE_SCHEMA_VERSION - have;
	if (have < STORE_SCHEMA_VERSION)
		log_info("store: database %s migrated from schema version %d to %d", s->path, have,
			 STORE_SCHEMA_VERSION);
out:
	sqlite3_free(msg);
	if (ret != ST_OK)
		rollback(c);
	return ret;
}

/* database.path, or <data_dir>/grantd.db when unset. malloc'd. */
static char *db_path(const struct config *cfg)
{
	const char *dir = cfg->server.data_dir != NULL ? cfg->server.data_dir : "var";
	struct buf b = {0};

	if (cfg->database.path != NULL && cfg->database.path[0] != '\0')
		return str_dup_sv(sv_from(cfg->database.path));
	if (buf_printf(&b, "%s/grantd.db", dir) != ST_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* The database's directory must exist (the caller creates the data dir);
 * the file itself is created here with mode 0600, before SQLite sees it, so
 * it (and the -wal/-shm files SQLite derives from it) never exist with
 * looser permissions. */
static status db_file_prepare(const char *path, struct err *e)
{
	const char *slash = strrchr(path, '/');
	struct stat sb;
	char *dir = NULL;
	status ret = ST_OK;
	int fd;

	if (slash != NULL) {
		dir = str_dup_sv((struct sv){path, slash == path ? 1 : (size_t)(slash - path)});
		if (dir == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		if (stat(dir, &sb) != 0) {
			ret = err_set(e, ST_IO, "database directory '%s' does not exist (%s)", dir,
				      strerror(errno));
			goto out;
		}
		if (!S_ISDIR(sb.st_mode)) {
			ret = err_set(e, ST_IO, "database directory '%s' is not a directory", dir);
			goto out;
		}
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		ret =
		    err_set(e, ST_IO, "cannot open database file '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		ret = err_set(e, ST_IO, "database '%s' is not a regular file", path);
	close(fd);
out:
	free(dir);
	return ret;
}

static const struct store_ops sqlite_ops = {
    .close = sq_close,
    .tenant_create = sq_tenant_create,
    .tenant_get = sq_tenant_get,
    .tenant_get_by_domain = sq_tenant_get_by_domain,
    .tenant_list = sq_tenant_list,
    .tenant_set_active = sq_tenant_set_active,
    .admin_put = sq_admin_put,
    .admin_get = sq_admin_get,
    .admin_list = sq_admin_list,
    .idp_create = sq_idp_create,
    .idp_update = sq_idp_update,
    .idp_delete = sq_idp_delete,
    .idp_get = sq_idp_get,
    .idp_get_by_name = sq_idp_get_by_name,
    .idp_find_by_issuer = sq_idp_find_by_issuer,
    .idp_list = sq_idp_list,
    .app_create = sq_app_create,
    .app_update = sq_app_update,
    .app_delete = sq_app_delete,
    .app_get = sq_app_get,
    .app_get_by_client_id = sq_app_get_by_client_id,
    .app_list = sq_app_list,
    .grant_commit = sq_grant_commit,
    .grant_submit = sq_grant_submit,
    .tokens_put = sq_tokens_put,
    .token_get = sq_token_get,
    .refresh_use = sq_refresh_use,
    .token_revoke = sq_token_revoke,
    .tokens_revoke_chain = sq_tokens_revoke_chain,
    .tokens_revoke_by = sq_tokens_revoke_by,
    .replay_record = sq_replay_record,
    .replay_seen = sq_replay_seen,
    .signing_key_add = sq_signing_key_add,
    .signing_keys_list = sq_signing_keys_list,
    .audit_list = sq_audit_list,
    .purge_expired = sq_purge_expired,
    .stats = sq_stats,
};

status store_sqlite_open(const struct config *cfg, struct store **out, struct err *e)
{
	struct sq_store *s = NULL;
	struct conn *c;
	int64_t busy = cfg->database.busy_timeout;
	status ret;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return err_set(e, ST_UNSUPPORTED, "this SQLite library was built without threads");
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	s->base.ops = &sqlite_ops;
	s->busy_ms = busy <= 0 ? 0 : busy > INT32_MAX / 1000 ? INT32_MAX : (int)(busy * 1000);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return err_set(e, ST_NOMEM, "cannot create a mutex");
	}
	if (pthread_mutex_init(&s->write_mu, NULL) != 0 ||
	    pthread_mutex_init(&s->q_mu, NULL) != 0 || pthread_cond_init(&s->q_cv, NULL) != 0 ||
	    pthread_cond_init(&s->ck_cv, NULL) != 0) {
		/* glibc's init cannot fail for default attributes; be plain. */
		abort();
	}
	if (pthread_key_create(&s->key, conn_thread_exit) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_mutex_destroy(&s->write_mu);
		pthread_mutex_destroy(&s->q_mu);
		pthread_cond_destroy(&s->q_cv);
		pthread_cond_destroy(&s->ck_cv);
		free(s);
		return err_set(e, ST_NOMEM, "cannot create a thread-specific key");
	}
	if ((s->path = db_path(cfg)) == NULL) {
		ret = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((ret = db_file_prepare(s->path, e)) != ST_OK)
		goto out;
	if ((ret = conn_get(&s->base, &c, e)) != ST_OK)
		goto out;
	if ((ret = migrate(s, c, e)) != ST_OK)
		goto out;
	if ((ret = threads_start(s, e)) != ST_OK)
		goto out;
	*out = &s->base;
	s = NULL;
out:
	if (s != NULL)
		sq_close(&s->base);
	return ret;
}
