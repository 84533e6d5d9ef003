/* pg_tokens.c - the PostgreSQL backend's hot path: token rows (kept by
 * hash), a refresh token's single use, revocation, the replay records of
 * assertion ids, and the grant transaction that writes one token request's
 * rows together (docs/operations.md, "The write path"). */
#include "store/pg_int.h"

#include <assert.h>
#include <string.h>
#include "store/store_impl.h"

/* ---- tokens (the hot path) -------------------------------------------------- */

static bool row_token(const struct q *q, struct arena *a, void *out)
{
	struct store_token *t = out;
	struct rd r = {q, a, false};

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

static void token_bind(struct q *q, const struct store_token *t)
{
	q_blob(q, t->hash, SHA256_LEN);
	q_int(q, t->kind);
	q_text(q, t->tenant_id);
	q_text(q, t->app_id);
	q_text(q, t->client_id);
	q_text(q, t->idp_id);
	q_text(q, t->subject);
	q_text(q, t->scope != NULL ? t->scope : "");
	q_text(q, t->grant_type);
	q_text(q, t->chain_id);
	q_int(q, t->issued_at);
	q_int(q, t->expires_at);
	q_int(q, t->revoked);
	q_int(q, t->used);
	q_text(q, t->jti);
}

static status token_insert(struct conn *c, const struct store_token *t, struct err *e)
{
	struct q q;
	status ret;

	if ((ret = store_token_check(t, e)) != ST_OK)
		return ret;
	if ((ret = pg_q_open(c, SQL_TOKEN_INSERT, &q, e)) != ST_OK)
		return ret;
	token_bind(&q, t);
	if (q_step(&q) != Q_FAIL)
		ret = ST_OK;
	else if (is_unique_violation(&q))
		ret = err_set(e, ST_CONFLICT, "a token with this hash already exists");
	else
		ret = pg_db_fail(&q, "storing a token", e);
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

status pg_tokens_put(struct store *s, const struct store_token *access,
		     const struct store_token *refresh, struct err *e)
{
	struct tokens_put_arg x = {access, refresh};

	assert(access != NULL);
	return pg_write_tx(s, tokens_put_body, &x, e);
}

struct token_get_arg {
	struct arena *a;
	const unsigned char *hash;
	struct store_token *out;
};

static status token_get_body(struct conn *c, void *arg, struct err *e)
{
	struct token_get_arg *x = arg;
	struct q q;
	status ret;

	if ((ret = pg_q_open(c, SQL_TOKEN_GET, &q, e)) != ST_OK)
		return ret;
	q_blob(&q, x->hash, SHA256_LEN);
	ret = q_row(&q, x->a, row_token, x->out, "a token", e);
	q_close(&q);
	return ret;
}

status pg_token_get(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		    struct store_token *out, struct err *e)
{
	struct token_get_arg x = {a, hash, out};
	status ret;

	memset(out, 0, sizeof *out);
	ret = pg_read(s, token_get_body, &x, false, e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "token not found");
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
	if ((ret = pg_q_open(c, SQL_REFRESH_USE, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, x->hash, SHA256_LEN);
	ret = q_row(&q, x->a, row_token, x->out, "a refresh token", e);
	if (ret == ST_OK && (rc = q_step(&q)) != Q_DONE)
		ret = pg_db_fail(&q, "using a refresh token", e);
	q_close(&q);
	if (ret != ST_NOT_FOUND)
		goto out;

	/* Nothing updated: unknown, or already used. */
	if ((ret = pg_q_open(c, SQL_REFRESH_GET, &q, e)) != ST_OK)
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

status pg_refresh_use(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		      struct store_token *out, struct err *e)
{
	struct refresh_use_arg x = {hash, a, out};

	memset(out, 0, sizeof *out);
	return pg_write_tx(s, refresh_use_body, &x, e);
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

	ret = pg_exec_key(c, x->id, x->text, x->hash, SHA256_LEN, &changes, "revoking tokens", e);
	if (ret == ST_OK && x->must_exist && changes == 0)
		ret = err_set(e, ST_NOT_FOUND, "token not found");
	return ret;
}

status pg_token_revoke(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e)
{
	struct revoke_arg x = {SQL_TOKEN_REVOKE, NULL, hash, true};
	return pg_write_tx(s, revoke_body, &x, e);
}

status pg_tokens_revoke_chain(struct store *s, const char *chain_id, struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_CHAIN, chain_id, NULL, false};
	return pg_write_tx(s, revoke_body, &x, e);
}

status pg_tokens_revoke_by(struct store *s, const char *field, const char *value, struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_APP, value, NULL, false};

	/* The column is chosen from a fixed pair, never spliced into SQL. */
	if (strcmp(field, "idp_id") == 0)
		x.id = SQL_TOKENS_REVOKE_IDP;
	else if (strcmp(field, "app_id") != 0)
		return err_set(e, ST_INVALID, "tokens cannot be revoked by '%s'", field);
	return pg_write_tx(s, revoke_body, &x, e);
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
	if ((ret = pg_q_open(c, SQL_REPLAY_RECORD, &q, e)) != ST_OK)
		goto out;
	q_text(&q, x->tenant_id);
	q_text(&q, x->iss);
	q_text(&q, x->jti);
	q_int(&q, x->expires_at);
	q_int(&q, x->now);
	rc = q_step(&q);
	if (rc == Q_FAIL)
		ret = pg_db_fail(&q, "recording an assertion id", e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_CONFLICT, "assertion replayed: this jti was already used");
out:
	q_close(&q);
	return ret;
}

status pg_replay_record(struct store *s, const char *tenant_id, const char *iss, const char *jti,
			int64_t expires_at, int64_t now, struct err *e)
{
	struct replay_arg x = {tenant_id, iss, jti, expires_at, now};

	if (tenant_id == NULL || iss == NULL || jti == NULL)
		return err_set(e, ST_INVALID, "replay record without tenant, issuer or jti");
	return pg_write_tx(s, replay_body, &x, e);
}

/* ---- the grant in one round trip ------------------------------------------- */

#define GRANT_STMTS (STORE_TX_REPLAYS + 3)

/* Sends the grant's statements (store.h's order) in one pipeline without
 * BEGIN: the statements up to the Sync are one implicit transaction, which
 * commits when the Sync is processed or is rolled back whole by the first
 * error. A live replay record or a used refresh token is such an error
 * (grantd_conflict, SQLSTATE GD001), so a grant costs one round trip. */
static status grant_pipeline(struct conn *c, struct store_grant_tx *tx, bool *sent, struct err *e)
{
	struct q qs[GRANT_STMTS];
	enum store_tx_part part[GRANT_STMTS];
	int n = 0, bad = -1;
	bool lost_conn = false;
	status ret = ST_OK;
	PGresult *r;

	if ((tx->access != NULL && (ret = store_token_check(tx->access, e)) != ST_OK) ||
	    (tx->refresh != NULL && (ret = store_token_check(tx->refresh, e)) != ST_OK))
		return ret;
	if ((ret = pg_prepare(c, SQL_GRANT_REPLAY, e)) != ST_OK ||
	    (ret = pg_prepare(c, SQL_GRANT_REFRESH_USE, e)) != ST_OK ||
	    (ret = pg_prepare(c, SQL_TOKEN_INSERT, e)) != ST_OK)
		return ret;
	for (size_t i = 0; i < tx->nreplays; i++, n++) {
		const struct store_replay *rp = &tx->replays[i];

		pg_q_open(c, SQL_GRANT_REPLAY, &qs[n], e);
		q_text(&qs[n], rp->tenant_id);
		q_text(&qs[n], rp->iss);
		q_text(&qs[n], rp->jti);
		q_int(&qs[n], rp->expires_at);
		q_int(&qs[n], tx->now);
		part[n] = STORE_TX_REPLAY;
	}
	if (tx->refresh_use != NULL) {
		pg_q_open(c, SQL_GRANT_REFRESH_USE, &qs[n], e);
		q_blob(&qs[n], tx->refresh_use, SHA256_LEN);
		part[n++] = STORE_TX_REFRESH_USE;
	}
	if (tx->access != NULL) {
		pg_q_open(c, SQL_TOKEN_INSERT, &qs[n], e);
		token_bind(&qs[n], tx->access);
		part[n++] = STORE_TX_NONE;
	}
	if (tx->refresh != NULL) {
		pg_q_open(c, SQL_TOKEN_INSERT, &qs[n], e);
		token_bind(&qs[n], tx->refresh);
		part[n++] = STORE_TX_NONE;
	}
	if (n == 0)
		return ST_OK;
	if (!PQenterPipelineMode(c->pg)) {
		struct q q0 = {.c = c};
		return pg_db_fail(&q0, "starting a grant", e);
	}
	*sent = true; /* from here on, it may commit */
	for (int i = 0; i < n && !lost_conn; i++)
		lost_conn = !PQsendQueryPrepared(c->pg, pg_stmt_name(qs[i].id), qs[i].n, qs[i].vals,
						 qs[i].lens, qs[i].fmts, 1);
	if (!lost_conn)
		lost_conn = !PQpipelineSync(c->pg);
	/* Each statement's result, then the NULL that ends it; then the Sync. */
	for (int i = 0; i < n && !lost_conn; i++) {
		if ((r = PQgetResult(c->pg)) == NULL) {
			lost_conn = true;
			break;
		}
		if (PQresultStatus(r) == PGRES_FATAL_ERROR && bad < 0) {
			bad = i;
			qs[i].res = r;
		} else {
			PQclear(r);
		}
		while ((r = PQgetResult(c->pg)) != NULL)
			PQclear(r);
	}
	if (!lost_conn) {
		r = PQgetResult(c->pg);
		lost_conn = r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC;
		PQclear(r);
	}
	if (lost_conn || PQstatus(c->pg) != CONNECTION_OK) {
		struct q q0 = {.c = c};
		c->broken = true;
		ret = bad >= 0 ? pg_db_fail(&qs[bad], "writing a grant", e)
			       : pg_db_fail(&q0, "writing a grant", e);
		if (ret != ST_UNAVAILABLE)
			ret = err_set(e, ST_UNAVAILABLE,
				      "database unavailable: connection lost "
				      "while writing a grant");
		goto out;
	}
	(void)PQexitPipelineMode(c->pg);
	if (bad < 0)
		goto out;
	if (strcmp(q_state(&qs[bad]), PG_STATE_CONFLICT) == 0 && part[bad] == STORE_TX_REPLAY) {
		tx->conflict = STORE_TX_REPLAY;
		tx->conflict_replay = (size_t)bad;
		ret = err_set(e, ST_CONFLICT, "assertion replayed: this jti was already used");
	} else if (strcmp(q_state(&qs[bad]), PG_STATE_CONFLICT) == 0) {
		tx->conflict = STORE_TX_REFRESH_USE;
		ret = err_set(e, ST_CONFLICT, "refresh token already used (or unknown)");
	} else if (is_unique_violation(&qs[bad])) {
		ret = err_set(e, ST_CONFLICT, "a token with this hash already exists");
	} else {
		ret = pg_db_fail(&qs[bad], "writing a grant", e);
	}
out:
	for (int i = 0; i < n; i++)
		q_close(&qs[i]);
	return ret;
}

static status pg_grant_run(struct pg_store *s, struct store_grant_tx *tx, struct err *e)
{
	struct conn *c;
	status ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool sent = false, broken;

		if ((ret = pg_conn_take(s, &c, e)) != ST_OK)
			return ret;
		ret = grant_pipeline(c, tx, &sent, e);
		broken = c->broken;
		pg_conn_give(s, c);
		/* Lost before anything of the grant was sent (while preparing
		 * its statements): safe to try once more on a fresh one. */
		if (ret == ST_UNAVAILABLE && broken && !sent && attempt == 0)
			continue;
		break;
	}
	if (ret == ST_OK)
		__atomic_add_fetch(&s->n_commits, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->n_writes, 1, __ATOMIC_RELAXED);
	return ret;
}

status pg_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e)
{
	status ret = store_grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	return pg_grant_run(pgs(s), tx, e);
}

/* ---- the grant workers ------------------------------------------------------ */

/* A submitted grant waiting for a worker; lives in tx->backend. */
struct pg_job {
	struct store_grant_tx *tx;
	struct err *e;
	void (*done)(void *arg, status st);
	void *arg;
	struct pg_job *next;
};

_Static_assert(sizeof(struct pg_job) <= sizeof(((struct store_grant_tx *)0)->backend),
	       "store_grant_tx.backend cannot hold a struct pg_job");
_Static_assert(_Alignof(struct pg_job) <= _Alignof(void *),
	       "store_grant_tx.backend is not aligned for a struct pg_job");

/* A worker: takes one queued grant at a time and commits it on a pooled
 * connection. Several workers commit in parallel on their connections;
 * PostgreSQL flushes their commit records together (its own group commit). */
static void *worker_main(void *arg)
{
	struct pg_store *s = arg;

	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		struct pg_job *j;
		status st;

		while (s->q_head == NULL && !s->q_stop)
			pthread_cond_wait(&s->q_cv, &s->q_mu);
		if (s->q_head == NULL)
			break; /* stopping, and nothing left */
		j = s->q_head;
		s->q_head = j->next;
		if (s->q_head == NULL)
			s->q_tail = NULL;
		pthread_mutex_unlock(&s->q_mu);
		st = pg_grant_run(s, j->tx, j->e);
		pthread_mutex_lock(&s->q_mu);
		s->n_pending--;
		pthread_mutex_unlock(&s->q_mu);
		j->done(j->arg, st); /* j is the submitter's again */
		pthread_mutex_lock(&s->q_mu);
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

status pg_workers_start(struct pg_store *s, struct err *e)
{
	/* Half the pool commits grants, the other half stays for reads. */
	int want = s->pool_size / 2 > 0 ? s->pool_size / 2 : 1;

	pthread_mutex_lock(&s->q_mu);
	for (int i = 0; i < want; i++) {
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
			break;
		s->nworkers++;
	}
	pthread_mutex_unlock(&s->q_mu);
	if (s->nworkers == 0)
		return err_set(e, ST_NOMEM, "cannot start the database writer threads");
	return ST_OK;
}

void pg_workers_stop(struct pg_store *s)
{
	int n;

	pthread_mutex_lock(&s->q_mu);
	s->q_stop = true;
	n = s->nworkers;
	pthread_cond_broadcast(&s->q_cv);
	pthread_mutex_unlock(&s->q_mu);
	for (int i = 0; i < n; i++)
		pthread_join(s->workers[i], NULL);
	s->nworkers = 0;
}

status pg_grant_submit(struct store *base, struct store_grant_tx *tx,
		       void (*done)(void *arg, status st), void *arg, struct err *e)
{
	struct pg_store *s = pgs(base);
	struct pg_job *j = (struct pg_job *)(void *)tx->backend;
	status ret = store_grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	*j = (struct pg_job){tx, e, done, arg, NULL};
	pthread_mutex_lock(&s->q_mu);
	if (s->nworkers == 0) {
		pthread_mutex_unlock(&s->q_mu);
		done(arg, pg_grant_run(s, tx, e));
		return ST_OK;
	}
	if (s->q_tail != NULL)
		s->q_tail->next = j;
	else
		s->q_head = j;
	s->q_tail = j;
	s->n_pending++;
	pthread_cond_signal(&s->q_cv);
	pthread_mutex_unlock(&s->q_mu);
	return ST_OK;
}

struct seen_arg {
	const char *tenant_id, *iss, *jti;
	int64_t now;
	bool *seen;
};

static status seen_body(struct conn *c, void *arg, struct err *e)
{
	struct seen_arg *x = arg;
	struct q q;
	status ret;
	int rc;

	if ((ret = pg_q_open(c, SQL_REPLAY_SEEN, &q, e)) != ST_OK)
		return ret;
	q_text(&q, x->tenant_id);
	q_text(&q, x->iss);
	q_text(&q, x->jti);
	q_int(&q, x->now);
	rc = q_step(&q);
	if (rc == Q_ROW)
		*x->seen = true;
	else if (rc == Q_FAIL)
		ret = pg_db_fail(&q, "looking up an assertion id", e);
	q_close(&q);
	return ret;
}

status pg_replay_seen(struct store *s, const char *tenant_id, const char *iss, const char *jti,
		      int64_t now, bool *seen, struct err *e)
{
	struct seen_arg x = {tenant_id, iss, jti, now, seen};

	*seen = false;
	return pg_read(s, seen_body, &x, false, e);
}
