/* store_pg.c - the PostgreSQL backend of store.h (libpq): its ops table, its
 * constructor and the masking of connection strings. The backend's files:
 *   pg_int.h          what they share: the statements, the store and
 *                     connection structs, struct q and struct rd
 *   pg_schema.c       the migrations (same logical versions as SQLite's),
 *                     under an advisory lock
 *   pg_conn.c         the pool, prepared statements, errors, reconnects,
 *                     reads and write transactions
 *   pg_tenants.c      tenants, admin users, signing keys, audit events
 *   pg_entities.c     identity providers and applications
 *   pg_tokens.c       tokens, refresh use, revocation, replay records, the
 *                     grant transaction and its worker threads
 *   pg_housekeeping.c purges, counters, ping
 *   pg_watch.c        the change feed (LISTEN/NOTIFY)
 * The SQL and the bodies mirror the SQLite backend's (store_sqlite.c)
 * statement for statement, so both answer every call the same way; the
 * unit tests run one suite against both.
 *
 * Pool. [database] pool_size connections (1..64, opened lazily) shared by
 * every thread. A call takes one for the duration of one body and gives it
 * back; when all are taken it waits on a condition variable, at most
 * [database] connect_timeout, then fails with ST_UNAVAILABLE. Each
 * connection prepares a statement on its first use (enum sql, the
 * PG_STATEMENTS list in pg_int.h) and keeps it. Every value is a bound
 * parameter (bytea in binary format); results come in binary format. The
 * only SQL not in that list is constant: BEGIN/COMMIT/ROLLBACK, LISTEN and
 * the migrations.
 *
 * Writes. Every other write body runs between BEGIN and COMMIT on one
 * connection, in READ COMMITTED: the single-row test-and-sets (refresh use: UPDATE ...
 * WHERE used = 0; replay: INSERT ... ON CONFLICT DO UPDATE ... WHERE
 * expires_at <= now, 0 rows = a live record) are atomic there, since a
 * second writer waits for the first's row lock and then re-checks the
 * condition. Adding a signing key locks its tenant's row first, so "no
 * active key yet" cannot change under it. Group commit is PostgreSQL's:
 * commits on several connections share a WAL flush (commit_delay on the
 * server can widen that); no batching of our own.
 *
 * Grants. A grant is one round trip (pg_tokens.c, grant_pipeline): its
 * statements (the replay records, the refresh-token use, the access and
 * refresh tokens, in store.h's order) are sent in libpq pipeline mode
 * without BEGIN, so everything up to the Sync is one implicit transaction
 * that commits at the Sync or is rolled back whole by the first error. The
 * replay and refresh statements turn "0 rows" into an error of their own
 * (grantd_conflict(), SQLSTATE GD001, created by migration 3), so a
 * conflict, too, rolls everything back; which statement failed gives
 * tx->conflict and tx->conflict_replay, as SQLite reports them. The replay
 * record is one INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <=
 * now, never a check then an insert. grant_commit runs it on the calling
 * thread; grant_submit queues the transaction (its queue entry lives in
 * tx->backend) for pool_size / 2 worker threads; each commits one grant at
 * a time on a pooled connection and calls `done` from there. store_close
 * lets the workers drain the queue first. Measured on loopback (2 shared
 * CPUs, fsync on, noisy): BEGIN + statements + COMMIT gave about 2300
 * grants/s on one connection; the pipeline 4500..5600; several
 * connections reach about 9000 (PostgreSQL groups their WAL flushes).
 *
 * Errors. SQLSTATE 23505 (unique) becomes ST_CONFLICT naming what is taken
 * (by constraint name), 23503 (a missing parent tenant) ST_NOT_FOUND,
 * serialization failures, deadlocks and lock/statement timeouts ST_BUSY, a
 * lost connection (PQstatus bad, class 08, 57P01..57P03) ST_UNAVAILABLE
 * "database unavailable: ...", anything else ST_IO with the server's
 * message logged. Messages quote the URL only masked (store_pg_url_mask).
 *
 * Reconnects. A lost connection is closed when given back; the next take
 * opens a new one. Connects are bounded by libpq's connect_timeout, a dead
 * peer by keepalives and tcp_user_timeout, a query by statement_timeout
 * (options -c statement_timeout). After a failed connect, takes fail at
 * once for a backoff that doubles from 100 ms to 5 s and is reset by the
 * next successful connect, so a down database costs callers no waiting. A
 * read is retried once on a fresh connection when its connection turned
 * out lost; a write only when the loss showed at BEGIN (nothing of it was
 * sent); a lost COMMIT is reported ST_UNAVAILABLE although the rows may be
 * in.
 *
 * Change feed. See pg_watch.c: triggers NOTIFY, a dedicated listener
 * connection delivers, and a reconnect delivers STORE_CHANGE_ALL. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/str.h"
#include "store/store_impl.h"

/* ---- masking --------------------------------------------------------------- */

/* One implementation for check-config and the backend's messages: config.c
 * (the config layer must not link libpq, so it parses the two forms
 * itself; store_pg_open checks the string with PQconninfoParse). */
void store_pg_url_mask(const char *url, char *out, size_t n)
{
	config_db_url_mask(url, out, n);
}

status store_pg_url_check(const char *url, struct err *e)
{
	char masked[512];
	PQconninfoOption *opts;
	char *perr = NULL;

	if (url == NULL || url[0] == '\0')
		return err_set(e, ST_INVALID, "database.type \"postgres\" requires database.url");
	opts = PQconninfoParse(url, &perr);
	/* perr is not shown: it may quote the string, password and all. */
	PQfreemem(perr);
	if (opts == NULL) {
		store_pg_url_mask(url, masked, sizeof masked);
		return err_set(e, ST_INVALID,
			       "database.url %s is not a valid libpq URL or conninfo", masked);
	}
	PQconninfoFree(opts);
	return ST_OK;
}

/* ---- open ------------------------------------------------------------------ */

static const struct store_ops pg_ops = {
    .close = pg_close,
    .tenant_create = pg_tenant_create,
    .tenant_get = pg_tenant_get,
    .tenant_get_by_domain = pg_tenant_get_by_domain,
    .tenant_list = pg_tenant_list,
    .tenant_set_active = pg_tenant_set_active,
    .admin_put = pg_admin_put,
    .admin_get = pg_admin_get,
    .admin_list = pg_admin_list,
    .idp_create = pg_idp_create,
    .idp_update = pg_idp_update,
    .idp_delete = pg_idp_delete,
    .idp_get = pg_idp_get,
    .idp_get_by_name = pg_idp_get_by_name,
    .idp_find_by_issuer = pg_idp_find_by_issuer,
    .idp_list = pg_idp_list,
    .app_create = pg_app_create,
    .app_update = pg_app_update,
    .app_delete = pg_app_delete,
    .app_get = pg_app_get,
    .app_get_by_client_id = pg_app_get_by_client_id,
    .app_list = pg_app_list,
    .grant_commit = pg_grant_commit,
    .grant_submit = pg_grant_submit,
    .tokens_put = pg_tokens_put,
    .token_get = pg_token_get,
    .refresh_use = pg_refresh_use,
    .token_revoke = pg_token_revoke,
    .tokens_revoke_chain = pg_tokens_revoke_chain,
    .tokens_revoke_by = pg_tokens_revoke_by,
    .replay_record = pg_replay_record,
    .replay_seen = pg_replay_seen,
    .signing_key_add = pg_signing_key_add,
    .signing_keys_list = pg_signing_keys_list,
    .audit_list = pg_audit_list,
    .purge_expired = pg_purge_expired,
    .stats = pg_stats,
    .watch = pg_watch,
    .ping = pg_ping,
};

status store_pg_open(const struct config *cfg, struct store **out, struct err *e)
{
	const char *url = cfg->database.url;
	char masked[512];
	struct pg_store *s;
	int64_t ct, stt;
	status ret;

	*out = NULL;
	if ((ret = store_pg_url_check(url, e)) != ST_OK)
		return ret;
	store_pg_url_mask(url, masked, sizeof masked);
	if (!PQisthreadsafe())
		return err_set(e, ST_UNSUPPORTED, "this libpq was built without thread safety");
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	s->base.ops = &pg_ops;
	s->wake[0] = s->wake[1] = -1;
	s->pool_size = cfg->database.pool_size > 0 ? (int)cfg->database.pool_size : 8;
	if (s->pool_size > 64)
		s->pool_size = 64;
	ct = cfg->database.connect_timeout > 0 ? cfg->database.connect_timeout : 5;
	stt = cfg->database.statement_timeout > 0 ? cfg->database.statement_timeout : 30;
	s->connect_timeout_ms = ct * 1000;
	/* libpq treats 1 as 2 s; a bounded wait either way. */
	snprintf(s->conn_timeout_s, sizeof s->conn_timeout_s, "%lld", (long long)ct);
	snprintf(s->stmt_timeout_opt, sizeof s->stmt_timeout_opt, "-c statement_timeout=%lld",
		 (long long)stt * 1000);
	s->backoff_ms = 100;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->q_mu, NULL);
	pthread_cond_init(&s->q_cv, NULL);
	s->url = str_dup_sv(sv_from(url));
	s->masked = str_dup_sv(sv_from(masked));
	if (s->url == NULL || s->masked == NULL) {
		ret = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((ret = pg_migrate(s, e)) != ST_OK)
		goto out;
	if ((ret = pg_workers_start(s, e)) != ST_OK)
		goto out;
	*out = &s->base;
	s = NULL;
out:
	if (s != NULL)
		pg_close(&s->base);
	return ret;
}
