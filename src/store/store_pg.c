/* store_pg.c - the PostgreSQL backend of store.h (libpq): connections,
 * statements, transactions, the schema, the writer threads and the change
 * feed. The operations themselves are in pg_data.c; what the two share is
 * pg_int.h. Operators' view: docs/operations.md, "Several nodes".
 *
 * Schema. The same tables, columns and column order as the SQLite backend
 * (sqlite_schema.c), so `grantd migrate` copies one into the other by
 * name (copy.c): integers and booleans are bigint (0/1), text is text,
 * blobs are bytea. Versioned migrations run in one transaction holding an
 * advisory lock (PG_MIGRATE_LOCK), so nodes that start together wait for
 * each other and all but the first find the schema current. Triggers on
 * tenants, identity_providers, applications and signing_keys send a NOTIFY
 * on the channel grantd_changes in the writing transaction: the change feed.
 *
 * Connections. A bounded pool of [database] pool_size connections shared by
 * every thread: an operation checks one out for its statements and returns
 * it. Waiting for a free one, and connecting, are bounded by
 * [database] connect_timeout; past that the operation fails with
 * ST_UNAVAILABLE. Statements are prepared once per connection on first use
 * (enum pgq); every value is a bound parameter, blobs in binary.
 *
 * A lost connection (the server restarted, the network broke) is dropped
 * and the next checkout reconnects. While connecting fails, attempts are
 * spaced by an exponential backoff (100 ms to 5 s) shared by the pool, and
 * operations in between fail at once with ST_UNAVAILABLE: requests answer
 * 503 quickly instead of queueing behind a dead database. An operation
 * whose first statement fails because its (idle) connection had been lost
 * is retried once on a new connection: nothing of it can have reached the
 * database. Nothing else is retried.
 *
 * Writes. Every write is one transaction (BEGIN ... COMMIT) on one
 * connection; a change and its audit event commit together. The grant
 * transaction (grant_submit) is run by writer threads, so a request thread
 * never waits on the database: they take queued grants and run each as its
 * own transaction on a pooled connection. Concurrent commits on several
 * connections share WAL flushes (PostgreSQL's group commit), and a grant is
 * reported done only when its COMMIT has returned: durable with the default
 * synchronous_commit = on. Replay records are one INSERT ... ON CONFLICT DO
 * UPDATE ... WHERE expired; a concurrent uncommitted insert of the same key
 * makes the second wait for the first to commit, then count 0 rows: a
 * replay.
 *
 * Errors. Unique violations (23505) become ST_CONFLICT and foreign key
 * violations (23503) ST_NOT_FOUND, the constraint named in the message;
 * serialization failures and deadlocks ST_BUSY; connection failures
 * ST_UNAVAILABLE; anything else ST_IO with the server's message logged
 * (PostgreSQL's messages may quote key values of a violation: those are
 * never logged, they are mapped). The URL is only ever shown masked. */
#include "store/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/log.h"
#include "store/store_impl.h"

#define PG_MIGRATE_LOCK 75230712 /* the advisory lock of migrations */
#define PG_BACKOFF_MIN  100      /* ms */
#define PG_BACKOFF_MAX  5000     /* ms */
#define PG_CHANNEL      "grantd_changes"

/* ---- time --------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pg_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- parameters and results ------------------------------------------------ */

void pgp_text(struct pgp *p, const char *s)
{
	if (p->n >= PG_MAX_PARAMS)
		abort(); /* a statement list bug */
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void pgp_int(struct pgp *p, int64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	snprintf(p->ints[p->n], sizeof p->ints[p->n], "%lld", (long long)v);
	p->v[p->n] = p->ints[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void pgp_blob(struct pgp *p, const void *b, size_t n)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	p->v[p->n] = b;
	p->len[p->n] = (int)n;
	p->fmt[p->n] = b != NULL ? 1 : 0;
	p->n++;
}

char *pgr_str(struct pgr *r, int col)
{
	char *out;

	if (PQgetisnull(r->res, r->row, col))
		return NULL;
	out = arena_strndup(r->a, PQgetvalue(r->res, r->row, col),
			    (size_t)PQgetlength(r->res, r->row, col));
	if (out == NULL)
		r->bad = true;
	return out;
}

int64_t pgr_int(struct pgr *r, int col)
{
	const char *v;
	char *end;
	long long x;

	if (PQgetisnull(r->res, r->row, col))
		return 0;
	v = PQgetvalue(r->res, r->row, col);
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		r->bad = true;
	return (int64_t)x;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea in text form is "\x" and two hex digits per byte. */
static bool unhex(const char *v, size_t vn, unsigned char *out, size_t n)
{
	if (vn != 2 + 2 * n || v[0] != '\\' || v[1] != 'x')
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

bool pgr_hash(struct pgr *r, int col, unsigned char out[SHA256_LEN])
{
	if (PQgetisnull(r->res, r->row, col))
		return false;
	if (!unhex(PQgetvalue(r->res, r->row, col), (size_t)PQgetlength(r->res, r->row, col), out,
		   SHA256_LEN)) {
		r->bad = true;
		return false;
	}
	return true;
}

unsigned char *pgr_blob(struct pgr *r, int col, size_t *n)
{
	size_t vn;
	unsigned char *out;

	*n = 0;
	if (PQgetisnull(r->res, r->row, col))
		return NULL;
	vn = (size_t)PQgetlength(r->res, r->row, col);
	if (vn < 2 || vn % 2 != 0) {
		r->bad = true;
		return NULL;
	}
	*n = (vn - 2) / 2;
	out = arena_alloc(r->a, *n ? *n : 1);
	if (out == NULL || !unhex(PQgetvalue(r->res, r->row, col), vn, out, *n)) {
		r->bad = true;
		*n = 0;
		return NULL;
	}
	return out;
}

int64_t pg_changes(PGresult *res)
{
	const char *t = PQcmdTuples(res);
	return t != NULL && *t != '\0' ? strtoll(t, NULL, 10) : 0;
}

/* ---- connecting ------------------------------------------------------------ */

/* The server's message without its trailing newline, for err_set. */
static void conn_msg(PGconn *pc, char *out, size_t n)
{
	const char *m = pc != NULL ? PQerrorMessage(pc) : "out of memory";
	size_t len = strcspn(m, "\n");

	snprintf(out, n, "%.*s", (int)len, m);
}

/* A new connection: our defaults first, so that the URL can override them. */
static PGconn *connect_db(const struct pg_store *s)
{
	char timeout[24], user_timeout[24];
	const char *const keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
				    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
				    "application_name",    "dbname",           NULL};
	const char *vals[9];

	snprintf(timeout, sizeof timeout, "%lld", (long long)((s->timeout_ms + 999) / 1000));
	snprintf(user_timeout, sizeof user_timeout, "%lld", (long long)s->timeout_ms);
	vals[0] = timeout;
	vals[1] = "1";
	vals[2] = "10";
	vals[3] = "5";
	vals[4] = "3";
	vals[5] = user_timeout;
	vals[6] = "grantd";
	vals[7] = s->url;
	vals[8] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

static status conn_fail(PGconn *pc, const char *what, struct err *e)
{
	char m[300];

	conn_msg(pc, m, sizeof m);
	return err_set(e, ST_UNAVAILABLE, "database unavailable: %s: %s", what, m);
}

/* Opens c->pc, honouring the pool's backoff. Called without s->mu. */
static status conn_open(struct pg_store *s, struct pgconn *c, struct err *e)
{
	int64_t now = mono_ms();
	PGconn *pc;

	pthread_mutex_lock(&s->mu);
	if (now < s->retry_at_ms) {
		pthread_mutex_unlock(&s->mu);
		return err_set(e, ST_UNAVAILABLE,
			       "database unavailable: reconnecting (next attempt in %lld ms)",
			       (long long)(s->retry_at_ms - now));
	}
	pthread_mutex_unlock(&s->mu);
	pc = connect_db(s);
	if (pc == NULL || PQstatus(pc) != CONNECTION_OK) {
		status st = conn_fail(pc, "cannot connect", e);

		PQfinish(pc);
		pthread_mutex_lock(&s->mu);
		s->backoff_ms = s->backoff_ms == 0                    ? PG_BACKOFF_MIN
				: s->backoff_ms >= PG_BACKOFF_MAX / 2 ? PG_BACKOFF_MAX
								      : s->backoff_ms * 2;
		s->retry_at_ms = mono_ms() + s->backoff_ms;
		pthread_mutex_unlock(&s->mu);
		log_warn("%s", e != NULL ? e->msg : "database unavailable");
		return st;
	}
	pthread_mutex_lock(&s->mu);
	if (s->backoff_ms != 0)
		log_info("database connection re-established");
	s->backoff_ms = 0;
	s->retry_at_ms = 0;
	pthread_mutex_unlock(&s->mu);
	c->pc = pc;
	memset(c->prepared, 0, sizeof c->prepared);
	return ST_OK;
}

static void conn_drop(struct pgconn *c)
{
	PQfinish(c->pc);
	c->pc = NULL;
}

status pg_checkout(struct pg_store *s, struct pgconn **out, struct err *e)
{
	struct timespec dl;
	int slot = -1;
	struct pgconn *c;
	status st;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += s->timeout_ms / 1000;
	dl.tv_nsec += (s->timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (int i = 0; i < s->pool_size; i++)
			if (!s->busy[i]) {
				slot = i;
				break;
			}
		if (slot >= 0 || pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
			break;
	}
	if (slot < 0) {
		for (int i = 0; i < s->pool_size; i++)
			if (!s->busy[i])
				slot = i;
	}
	if (slot >= 0)
		s->busy[slot] = true;
	pthread_mutex_unlock(&s->mu);
	if (slot < 0)
		return err_set(e, ST_UNAVAILABLE,
			       "database unavailable: no free connection within %lld ms",
			       (long long)s->timeout_ms);
	c = &s->conns[slot];
	c->uses = 0;
	if (c->pc != NULL && PQstatus(c->pc) != CONNECTION_OK)
		conn_drop(c);
	if (c->pc == NULL && (st = conn_open(s, c, e)) != ST_OK) {
		pg_checkin(s, c);
		return st;
	}
	*out = c;
	return ST_OK;
}

void pg_checkin(struct pg_store *s, struct pgconn *c)
{
	if (c->pc != NULL &&
	    (PQstatus(c->pc) != CONNECTION_OK || PQtransactionStatus(c->pc) != PQTRANS_IDLE))
		conn_drop(c); /* never hand on a broken or mid-transaction connection */
	pthread_mutex_lock(&s->mu);
	s->busy[c - s->conns] = false;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- statements ------------------------------------------------------------ */

#define PX_TEXT(name, text) text,
static const char *const pg_sql[PGQ__COUNT] = {PG_STATEMENTS(PX_TEXT)};
#undef PX_TEXT

static bool is_conn_error(PGconn *pc, const PGresult *r)
{
	const char *code = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pc) != CONNECTION_OK)
		return true;
	if (code == NULL)
		return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
	/* 08: connection exception; 57P01-03: shutdown, cannot connect now */
	return strncmp(code, "08", 2) == 0 || strncmp(code, "57P0", 4) == 0;
}

static status map_error(struct pgconn *c, PGresult *r, const char *what, struct err *e)
{
	const char *code = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *cons = r != NULL ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char m[300];

	snprintf(c->constraint, sizeof c->constraint, "%s", cons != NULL ? cons : "");
	if (code != NULL && strcmp(code, "23505") == 0)
		return ST_CONFLICT;
	if (code != NULL && strcmp(code, "23503") == 0)
		return ST_NOT_FOUND;
	if (code != NULL && (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0))
		return err_set(e, ST_BUSY, "%s: the database asked to retry (%s)", what, code);
	if (is_conn_error(c->pc, r)) {
		conn_msg(c->pc, m, sizeof m);
		log_warn("database connection lost while %s: %s", what, m);
		conn_drop(c);
		return err_set(e, ST_UNAVAILABLE, "database unavailable: connection lost while %s",
			       what);
	}
	/* The primary message only: the detail of a constraint error quotes
	 * values, and grantd never logs bound values. */
	snprintf(m, sizeof m, "%s",
		 r != NULL && PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) != NULL
		     ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
		     : "no result");
	log_error("database error while %s: %s (%s)", what, m, code != NULL ? code : "-");
	return err_set(e, ST_IO, "database error while %s", what);
}

static status run_once(struct pgconn *c, enum pgq id, const struct pgp *p, PGresult **out,
		       const char *what, struct err *e)
{
	static const struct pgp none;
	PGresult *r;
	ExecStatusType t;
	char name[16];

	if (p == NULL)
		p = &none;
	snprintf(name, sizeof name, "q%d", (int)id);
	if (!c->prepared[id]) {
		r = PQprepare(c->pc, name, pg_sql[id], p->n, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			status st = map_error(c, r, what, e);
			PQclear(r);
			return st;
		}
		PQclear(r);
		c->prepared[id] = true;
	}
	r = PQexecPrepared(c->pc, name, p->n, p->v, p->len, p->fmt, 0);
	t = PQresultStatus(r);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		status st = map_error(c, r, what, e);
		PQclear(r);
		return st;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return ST_OK;
}

status pg_run(struct pg_store *s, struct pgconn *c, enum pgq id, const struct pgp *p,
	      PGresult **out, const char *what, struct err *e)
{
	bool first = c->uses++ == 0;
	status st;

	if (out != NULL)
		*out = NULL;
	if (c->pc == NULL)
		return err_set(e, ST_UNAVAILABLE, "database unavailable: connection lost");
	st = run_once(c, id, p, out, what, e);
	/* An idle connection that died since its last use: nothing of this
	 * operation reached the database, so one retry on a new one is safe. */
	if (st == ST_UNAVAILABLE && first && c->pc == NULL && conn_open(s, c, NULL) == ST_OK)
		st = run_once(c, id, p, out, what, e);
	return st;
}

/* A statement without parameters that is not prepared (BEGIN, COMMIT). */
static status run_plain(struct pg_store *s, struct pgconn *c, const char *sql, const char *what,
			struct err *e)
{
	bool first = c->uses++ == 0;
	PGresult *r;
	status st = ST_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->pc == NULL)
			return err_set(e, ST_UNAVAILABLE, "database unavailable: connection lost");
		r = PQexec(c->pc, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
			PQclear(r);
			return ST_OK;
		}
		st = map_error(c, r, what, e);
		PQclear(r);
		if (!(st == ST_UNAVAILABLE && first && attempt == 0 &&
		      conn_open(s, c, NULL) == ST_OK))
			break;
	}
	return st;
}

status pg_write(struct pg_store *s, pg_body body, void *arg, struct err *e)
{
	struct pgconn *c;
	status st;

	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	st = run_plain(s, c, "BEGIN", "starting a transaction", e);
	if (st == ST_OK) {
		st = body(s, c, arg, e);
		if (st == ST_OK)
			st = run_plain(s, c, "COMMIT", "committing", e);
		else if (c->pc != NULL)
			(void)run_plain(s, c, "ROLLBACK", "rolling back", NULL);
	}
	pg_checkin(s, c);
	__atomic_add_fetch(&s->n_writes, 1, __ATOMIC_RELAXED);
	if (st == ST_OK)
		__atomic_add_fetch(&s->n_commits, 1, __ATOMIC_RELAXED);
	return st;
}

status pg_get(struct pg_store *s, enum pgq id, const char *k1, const char *k2, struct arena *a,
	      pg_row_fn fn, void *out, const char *what, struct err *e)
{
	struct pgp p = {0};
	struct pgconn *c;
	PGresult *r = NULL;
	status st;

	pgp_text(&p, k1);
	if (k2 != NULL)
		pgp_text(&p, k2);
	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	st = pg_run(s, c, id, &p, &r, what, e);
	pg_checkin(s, c);
	if (st == ST_OK && PQntuples(r) == 0) {
		st = ST_NOT_FOUND;
	} else if (st == ST_OK) {
		struct pgr rd = {r, 0, a, false};
		if (!fn(&rd, out))
			st = err_set(e, ST_NOMEM, "out of memory reading %s", what);
	}
	PQclear(r);
	return st;
}

status pg_list(struct pg_store *s, enum pgq count, const struct pgp *cp, enum pgq page,
	       const struct pgp *pp, struct arena *a, size_t elem, size_t max, pg_row_fn fn,
	       void **items, size_t *n, int64_t *total, const char *what, struct err *e)
{
	struct pgconn *c;
	PGresult *r = NULL;
	unsigned char *arr = NULL;
	status st;

	*items = NULL;
	*n = 0;
	if (total != NULL)
		*total = 0;
	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	/* One snapshot for the count and the page. */
	st = run_plain(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what, e);
	if (st == ST_OK && total != NULL && (st = pg_run(s, c, count, cp, &r, what, e)) == ST_OK) {
		struct pgr rd = {r, 0, a, false};
		*total = PQntuples(r) == 1 ? pgr_int(&rd, 0) : 0;
		PQclear(r);
		r = NULL;
	}
	if (st == ST_OK)
		st = pg_run(s, c, page, pp, &r, what, e);
	if (c->pc != NULL && PQtransactionStatus(c->pc) != PQTRANS_IDLE)
		(void)run_plain(s, c, st == ST_OK ? "COMMIT" : "ROLLBACK", what, NULL);
	pg_checkin(s, c);
	if (st != ST_OK)
		goto out;
	{
		size_t rows = (size_t)PQntuples(r);
		if (rows > max)
			rows = max;
		arr = arena_alloc(a, (rows ? rows : 1) * elem);
		if (arr == NULL) {
			st = err_set(e, ST_NOMEM, "out of memory reading %s", what);
			goto out;
		}
		memset(arr, 0, (rows ? rows : 1) * elem);
		for (size_t i = 0; i < rows; i++) {
			struct pgr rd = {r, (int)i, a, false};
			if (!fn(&rd, arr + i * elem)) {
				st = err_set(e, ST_NOMEM, "out of memory reading %s", what);
				goto out;
			}
		}
		*items = arr;
		*n = rows;
	}
out:
	PQclear(r);
	return st;
}

/* ---- schema ---------------------------------------------------------------- */

/* Migration N takes the schema to version N. A new database gets the whole
 * current schema in one step (version 3, the SQLite backend's version 3);
 * later versions append entries. Never edit a released entry. */
struct migration {
	int version;
	const char *sql;
};

/* clang-format off */
static const struct migration migrations[] = {
	{3,
	"CREATE TABLE tenants ("
	"  id text PRIMARY KEY,"
	"  domain text NOT NULL CONSTRAINT tenants_domain UNIQUE,"
	"  active bigint NOT NULL DEFAULT 1,"
	"  created_at bigint NOT NULL);"
	"CREATE TABLE admin_users ("
	"  id text PRIMARY KEY,"
	"  tenant_id text NOT NULL REFERENCES tenants (id),"
	"  username text NOT NULL,"
	"  pw_hash text NOT NULL,"
	"  created_at bigint NOT NULL,"
	"  CONSTRAINT admin_users_username UNIQUE (tenant_id, username));"
	"CREATE TABLE identity_providers ("
	"  id text PRIMARY KEY,"
	"  tenant_id text NOT NULL REFERENCES tenants (id),"
	"  name text NOT NULL,"
	"  issuer text NOT NULL DEFAULT '',"
	"  enabled bigint NOT NULL DEFAULT 1,"
	"  doc text NOT NULL,"
	"  created_at bigint NOT NULL,"
	"  updated_at bigint NOT NULL,"
	"  CONSTRAINT identity_providers_name UNIQUE (tenant_id, name));"
	"CREATE INDEX identity_providers_issuer ON identity_providers (tenant_id, issuer);"
	"CREATE TABLE applications ("
	"  id text PRIMARY KEY,"
	"  tenant_id text NOT NULL REFERENCES tenants (id),"
	"  name text NOT NULL,"
	"  client_id text NOT NULL CONSTRAINT applications_client_id UNIQUE,"
	"  secret_hash bytea,"
	"  doc text NOT NULL,"
	"  created_at bigint NOT NULL,"
	"  updated_at bigint NOT NULL,"
	"  CONSTRAINT applications_name UNIQUE (tenant_id, name));"
	/* No foreign keys on tokens (as with SQLite): revoked tokens outlive
	 * their application until purged. */
	"CREATE TABLE tokens ("
	"  hash bytea PRIMARY KEY,"
	"  kind bigint NOT NULL CHECK (kind IN (1, 2)),"
	"  tenant_id text NOT NULL,"
	"  app_id text NOT NULL,"
	"  client_id text NOT NULL,"
	"  idp_id text,"
	"  subject text NOT NULL,"
	"  scope text NOT NULL DEFAULT '',"
	"  grant_type text NOT NULL,"
	"  chain_id text,"
	"  issued_at bigint NOT NULL,"
	"  expires_at bigint NOT NULL,"
	"  revoked bigint NOT NULL DEFAULT 0,"
	"  used bigint NOT NULL DEFAULT 0,"
	"  jti text);"
	"CREATE INDEX tokens_chain ON tokens (chain_id);"
	"CREATE INDEX tokens_app ON tokens (app_id);"
	"CREATE INDEX tokens_idp ON tokens (idp_id) WHERE idp_id IS NOT NULL;"
	"CREATE INDEX tokens_expires ON tokens (expires_at);"
	"CREATE TABLE replay ("
	"  tenant_id text NOT NULL,"
	"  iss text NOT NULL,"
	"  jti text NOT NULL,"
	"  expires_at bigint NOT NULL,"
	"  PRIMARY KEY (tenant_id, iss, jti));"
	"CREATE INDEX replay_expires ON replay (expires_at);"
	"CREATE TABLE audit_events ("
	"  seq bigserial PRIMARY KEY,"
	"  id text NOT NULL CONSTRAINT audit_events_id UNIQUE,"
	"  tenant_id text,"
	"  actor text NOT NULL,"
	"  action text NOT NULL,"
	"  object_type text NOT NULL,"
	"  object_id text,"
	"  summary text NOT NULL DEFAULT '{}',"
	"  at bigint NOT NULL);"
	"CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);"
	"CREATE TABLE signing_keys ("
	"  tenant_id text NOT NULL REFERENCES tenants (id),"
	"  kid text NOT NULL,"
	"  alg text NOT NULL,"
	"  public_jwk text NOT NULL,"
	"  private_enc bytea NOT NULL,"
	"  status bigint NOT NULL CHECK (status IN (1, 2)),"
	"  created_at bigint NOT NULL,"
	"  not_after_signing bigint NOT NULL DEFAULT 0,"
	"  publish_until bigint NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant_id, kid));"
	/* The change feed: "<kind> <tenant id> <id>" on grantd_changes, sent
	 * when the writing transaction commits (store.h, watch). */
	"CREATE FUNCTION grantd_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
	" DECLARE r record; k text; i text := '';"
	" BEGIN"
	"  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;"
	"  IF TG_TABLE_NAME = 'tenants' THEN"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'tenant ' || r.id || ' ' || r.domain);"
	"  ELSIF TG_TABLE_NAME = 'identity_providers' THEN"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'idp ' || r.tenant_id || ' ' || r.id);"
	"  ELSIF TG_TABLE_NAME = 'applications' THEN"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'app ' || r.tenant_id || ' ');"
	"  ELSE"
	"   PERFORM pg_notify('" PG_CHANNEL "', 'key ' || r.tenant_id || ' ');"
	"  END IF;"
	"  RETURN NULL;"
	" END $$;"
	"CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants"
	"  FOR EACH ROW EXECUTE FUNCTION grantd_notify();"
	"CREATE TRIGGER identity_providers_changed AFTER INSERT OR UPDATE OR DELETE"
	"  ON identity_providers FOR EACH ROW EXECUTE FUNCTION grantd_notify();"
	"CREATE TRIGGER applications_changed AFTER INSERT OR UPDATE OR DELETE ON applications"
	"  FOR EACH ROW EXECUTE FUNCTION grantd_notify();"
	"CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys"
	"  FOR EACH ROW EXECUTE FUNCTION grantd_notify();"},
};
/* clang-format on */

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(NMIGRATIONS > 0, "at least one migration");

static status exec_sql(PGconn *pc, const char *sql, const char *what, PGresult **out, struct err *e)
{
	PGresult *r = PQexec(pc, sql);
	ExecStatusType t = PQresultStatus(r);

	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		status st = err_set(e, ST_IO, "%s: %s", what, m != NULL ? m : PQerrorMessage(pc));
		PQclear(r);
		return st;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return ST_OK;
}

static status migrate(struct pg_store *s, PGconn *pc, struct err *e)
{
	PGresult *r = NULL;
	int version = 0;
	status st;
	char sql[128];

	if ((st = exec_sql(pc, "BEGIN", "starting the migration", NULL, e)) != ST_OK)
		return st;
	snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", PG_MIGRATE_LOCK);
	if ((st = exec_sql(pc, sql, "locking the schema", NULL, e)) != ST_OK)
		goto out;
	st = exec_sql(pc,
		      "CREATE TABLE IF NOT EXISTS grantd_schema (version bigint NOT NULL);"
		      "SELECT coalesce(max(version), 0) FROM grantd_schema",
		      "reading the schema version", &r, e);
	if (st != ST_OK)
		goto out;
	version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	r = NULL;
	s->base.schema_found = version;
	if (version > STORE_SCHEMA_VERSION) {
		st = err_set(e, ST_UNSUPPORTED,
			     "the database has schema version %d, newer than this grantd knows "
			     "(%d): use a newer grantd",
			     version, STORE_SCHEMA_VERSION);
		goto out;
	}
	for (size_t i = 0; i < NMIGRATIONS; i++) {
		if (migrations[i].version <= version)
			continue;
		log_info("database: migrating the schema to version %d", migrations[i].version);
		if ((st = exec_sql(pc, migrations[i].sql, "migrating the schema", NULL, e)) !=
		    ST_OK)
			goto out;
		snprintf(sql, sizeof sql,
			 "DELETE FROM grantd_schema; INSERT INTO grantd_schema VALUES (%d)",
			 migrations[i].version);
		if ((st = exec_sql(pc, sql, "recording the schema version", NULL, e)) != ST_OK)
			goto out;
		s->base.migrations_applied++;
	}
	st = exec_sql(pc, "COMMIT", "committing the migration", NULL, e);
out:
	if (st != ST_OK)
		PQclear(PQexec(pc, "ROLLBACK"));
	PQclear(r);
	return st;
}

/* ---- writer threads ---------------------------------------------------------- */

/* A queued grant; lives in store_grant_tx.backend. */
struct pg_job {
	pg_body body;
	void *arg;
	struct err *e;
	void (*done)(void *arg, status st);
	void *done_arg;
	struct pg_job *next;
};

_Static_assert(sizeof(struct pg_job) <= sizeof(void *) * STORE_TX_BACKEND_WORDS,
	       "a job fits in store_grant_tx.backend");

void pg_submit(struct pg_store *s, void *space, pg_body body, void *arg, struct err *e,
	       void (*done)(void *arg, status st), void *done_arg)
{
	struct pg_job *j = space;

	*j = (struct pg_job){body, arg, e, done, done_arg, NULL};
	pthread_mutex_lock(&s->q_mu);
	if (s->q_tail != NULL)
		s->q_tail->next = j;
	else
		s->q_head = j;
	s->q_tail = j;
	s->n_pending++;
	pthread_cond_signal(&s->q_cv);
	pthread_mutex_unlock(&s->q_mu);
}

static void *writer_main(void *arg)
{
	struct pg_store *s = arg;

	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		struct pg_job *j;

		while (s->q_head == NULL && !s->q_stop)
			pthread_cond_wait(&s->q_cv, &s->q_mu);
		if (s->q_head == NULL)
			break; /* stopping, and everything queued is done */
		j = s->q_head;
		s->q_head = j->next;
		if (s->q_head == NULL)
			s->q_tail = NULL;
		pthread_mutex_unlock(&s->q_mu);
		{
			void (*done)(void *, status) = j->done;
			void *darg = j->done_arg;
			status st = pg_write(s, j->body, j->arg, j->e);

			pthread_mutex_lock(&s->q_mu);
			s->n_pending--;
			pthread_mutex_unlock(&s->q_mu);
			done(darg, st); /* j may be gone after this */
		}
		pthread_mutex_lock(&s->q_mu);
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

/* ---- the change feed ---------------------------------------------------------- */

static void deliver(struct pg_store *s, char *payload)
{
	struct store_change ch = {0};
	char *kind = strtok_r(payload, " ", &payload);
	char *tenant = kind != NULL ? strtok_r(NULL, " ", &payload) : NULL;
	char *id = tenant != NULL ? strtok_r(NULL, " ", &payload) : NULL;

	if (kind == NULL || tenant == NULL)
		return;
	if (strcmp(kind, "tenant") == 0)
		ch.kind = STORE_CHANGE_TENANT;
	else if (strcmp(kind, "idp") == 0)
		ch.kind = STORE_CHANGE_IDP;
	else if (strcmp(kind, "app") == 0)
		ch.kind = STORE_CHANGE_APP;
	else if (strcmp(kind, "key") == 0)
		ch.kind = STORE_CHANGE_SIGNING_KEY;
	else
		return;
	ch.tenant_id = tenant;
	ch.id = id != NULL && *id != '\0' ? id : NULL;
	s->watch_fn(s->watch_arg, &ch);
}

/* Waits up to `ms` for the wake-up pipe; true when stopping. */
static bool watch_stopped(struct pg_store *s, int ms)
{
	struct pollfd p = {s->wake[0], POLLIN, 0};

	return poll(&p, 1, ms) > 0;
}

static PGconn *listen_connect(struct pg_store *s)
{
	PGconn *pc = connect_db(s);
	PGresult *r;

	if (pc == NULL || PQstatus(pc) != CONNECTION_OK) {
		PQfinish(pc);
		return NULL;
	}
	r = PQexec(pc, "LISTEN " PG_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(pc);
		return NULL;
	}
	PQclear(r);
	return pc;
}

static void *watch_main(void *arg)
{
	struct pg_store *s = arg;
	PGconn *pc = NULL;
	int backoff = 0;
	bool had = true; /* the first connection was made by watch() itself */

	pc = listen_connect(s);
	if (pc == NULL)
		had = false;
	for (;;) {
		if (pc == NULL) {
			backoff = backoff == 0                    ? PG_BACKOFF_MIN
				  : backoff >= PG_BACKOFF_MAX / 2 ? PG_BACKOFF_MAX
								  : backoff * 2;
			if (watch_stopped(s, backoff))
				break;
			if ((pc = listen_connect(s)) == NULL)
				continue;
			log_info("database: change feed listening again; dropping every cache");
			backoff = 0;
			/* Changes made while we were away were not seen. */
			{
				struct store_change all = {STORE_CHANGE_ALL, NULL, NULL};
				s->watch_fn(s->watch_arg, &all);
			}
		}
		(void)had;
		{
			struct pollfd p[2] = {{PQsocket(pc), POLLIN, 0}, {s->wake[0], POLLIN, 0}};
			PGnotify *n;

			if (poll(p, 2, 10000) < 0 && errno != EINTR)
				break;
			if (p[1].revents != 0)
				break;
			if (!PQconsumeInput(pc) || PQstatus(pc) != CONNECTION_OK) {
				log_warn("database: change feed connection lost; reconnecting");
				PQfinish(pc);
				pc = NULL;
				continue;
			}
			while ((n = PQnotifies(pc)) != NULL) {
				if (strcmp(n->relname, PG_CHANNEL) == 0)
					deliver(s, n->extra);
				PQfreemem(n);
			}
		}
	}
	PQfinish(pc);
	return NULL;
}

status pg_watch(struct store *base, store_change_fn fn, void *arg, struct err *e)
{
	struct pg_store *s = pgs(base);

	if (s->watch_on)
		return err_set(e, ST_INVALID, "watch was already started");
	if (pipe(s->wake) != 0)
		return err_set(e, ST_IO, "cannot create a pipe: %s", strerror(errno));
	s->watch_fn = fn;
	s->watch_arg = arg;
	if (pthread_create(&s->watcher, NULL, watch_main, s) != 0) {
		close(s->wake[0]);
		close(s->wake[1]);
		return err_set(e, ST_NOMEM, "cannot start the change feed thread");
	}
	s->watch_on = true;
	return ST_OK;
}

status pg_ping(struct store *base, struct err *e)
{
	struct pg_store *s = pgs(base);
	struct pgconn *c;
	status st;

	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	st = pg_run(s, c, PGQ_PING, NULL, NULL, "checking the database", e);
	pg_checkin(s, c);
	return st;
}

/* ---- stats, open, close -------------------------------------------------------- */

void pg_stats(struct store *base, struct store_stats *out)
{
	struct pg_store *s = pgs(base);

	memset(out, 0, sizeof *out);
	out->writes = __atomic_load_n(&s->n_writes, __ATOMIC_RELAXED);
	out->commits = __atomic_load_n(&s->n_commits, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->q_mu);
	out->pending = s->n_pending;
	pthread_mutex_unlock(&s->q_mu);
}

void pg_close(struct store *base)
{
	struct pg_store *s = pgs(base);

	pthread_mutex_lock(&s->q_mu);
	s->q_stop = true;
	pthread_cond_broadcast(&s->q_cv);
	pthread_mutex_unlock(&s->q_mu);
	for (int i = 0; i < s->nwriters; i++)
		pthread_join(s->writers[i], NULL);
	if (s->watch_on) {
		ssize_t w = write(s->wake[1], "x", 1);
		(void)w;
		pthread_join(s->watcher, NULL);
		close(s->wake[0]);
		close(s->wake[1]);
	}
	for (int i = 0; s->conns != NULL && i < s->pool_size; i++)
		PQfinish(s->conns[i].pc);
	free(s->conns);
	free(s->busy);
	free(s->url);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->q_mu);
	pthread_cond_destroy(&s->q_cv);
	free(s);
}

status store_pg_open(const struct config *cfg, struct store **out, struct err *e)
{
	struct pg_store *s;
	struct buf masked = {0};
	PGconn *pc;
	status st;

	*out = NULL;
	if (cfg->database.url == NULL)
		return err_set(e, ST_INVALID, "[database] type \"postgres\" requires url");
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	s->base.ops = &pg_ops;
	s->pool_size = cfg->database.pool_size > 0 ? (int)cfg->database.pool_size : 8;
	s->timeout_ms =
	    (cfg->database.connect_timeout > 0 ? cfg->database.connect_timeout : 5) * 1000;
	s->url = strdup(cfg->database.url);
	s->conns = calloc((size_t)s->pool_size, sizeof *s->conns);
	s->busy = calloc((size_t)s->pool_size, sizeof *s->busy);
	if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->cv, NULL) != 0 ||
	    pthread_mutex_init(&s->q_mu, NULL) != 0 || pthread_cond_init(&s->q_cv, NULL) != 0)
		abort(); /* glibc's init cannot fail for default attributes */
	if (s->url == NULL || s->conns == NULL || s->busy == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto fail;
	}
	(void)config_url_masked(cfg->database.url, &masked);
	pc = connect_db(s);
	if (pc == NULL || PQstatus(pc) != CONNECTION_OK) {
		char m[300];

		conn_msg(pc, m, sizeof m);
		PQfinish(pc);
		st = err_set(e, ST_IO, "cannot connect to the database %s: %s",
			     masked.p != NULL ? masked.p : "", m);
		goto fail;
	}
	st = migrate(s, pc, e);
	if (st != ST_OK) {
		PQfinish(pc);
		goto fail;
	}
	s->conns[0].pc = pc; /* the first pooled connection */
	s->nwriters = s->pool_size < 2 ? 1 : s->pool_size / 2;
	if (s->nwriters > (int)(sizeof s->writers / sizeof s->writers[0]))
		s->nwriters = (int)(sizeof s->writers / sizeof s->writers[0]);
	for (int i = 0; i < s->nwriters; i++) {
		if (pthread_create(&s->writers[i], NULL, writer_main, s) != 0) {
			s->nwriters = i;
			st = err_set(e, ST_NOMEM, "cannot start the database writer threads");
			goto fail;
		}
	}
	log_info("database: PostgreSQL %s, schema version %d, pool of %d connections",
		 masked.p != NULL ? masked.p : "", STORE_SCHEMA_VERSION, s->pool_size);
	buf_free(&masked);
	*out = &s->base;
	return ST_OK;
fail:
	buf_free(&masked);
	pg_close(&s->base);
	return st;
}
