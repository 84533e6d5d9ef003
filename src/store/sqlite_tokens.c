/* sqlite_tokens.c - the SQLite backend's hot path: token rows (kept by
 * hash), a refresh token's single use, revocation, the replay records of
 * assertion ids, and the grant transaction that writes one token request's
 * rows together (docs/operations.md, "The write path"). */
#include "store/sqlite_int.h"

#include <assert.h>
#include <string.h>
#include "store/store_impl.h"

/* ---- tokens (the hot path) -------------------------------------------------- */

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

static status token_insert(struct conn *c, const struct store_token *t, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = store_token_check(t, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_TOKEN_INSERT, &q, e)) != ST_OK)
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
		ret = sq_db_fail(c, rc, "storing a token", e);
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

status sq_tokens_put(struct store *s, const struct store_token *access,
		     const struct store_token *refresh, struct err *e)
{
	struct tokens_put_arg x = {access, refresh};

	assert(access != NULL);
	return sq_write_tx(s, tokens_put_body, &x, e);
}

status sq_token_get(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		    struct store_token *out, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	memset(out, 0, sizeof *out);
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_TOKEN_GET, &q, e)) != ST_OK)
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
	if ((ret = sq_q_open(c, SQL_REFRESH_USE, &q, e)) != ST_OK)
		goto out;
	q_blob(&q, x->hash, SHA256_LEN);
	ret = q_row(&q, x->a, row_token, x->out, "a refresh token", e);
	if (ret == ST_OK && (rc = q_step(&q)) != SQLITE_DONE)
		ret = sq_db_fail(c, rc, "using a refresh token", e);
	q_close(&q);
	if (ret != ST_NOT_FOUND)
		goto out;

	/* Nothing updated: unknown, or already used. */
	if ((ret = sq_q_open(c, SQL_REFRESH_GET, &q, e)) != ST_OK)
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

status sq_refresh_use(struct store *s, struct arena *a, const unsigned char hash[SHA256_LEN],
		      struct store_token *out, struct err *e)
{
	struct refresh_use_arg x = {hash, a, out};

	memset(out, 0, sizeof *out);
	return sq_write_tx(s, refresh_use_body, &x, e);
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

	ret = sq_exec_key(c, x->id, x->text, x->hash, SHA256_LEN, &changes, "revoking tokens", e);
	if (ret == ST_OK && x->must_exist && changes == 0)
		ret = err_set(e, ST_NOT_FOUND, "token not found");
	return ret;
}

status sq_token_revoke(struct store *s, const unsigned char hash[SHA256_LEN], struct err *e)
{
	struct revoke_arg x = {SQL_TOKEN_REVOKE, NULL, hash, true};
	return sq_write_tx(s, revoke_body, &x, e);
}

status sq_tokens_revoke_chain(struct store *s, const char *chain_id, struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_CHAIN, chain_id, NULL, false};
	return sq_write_tx(s, revoke_body, &x, e);
}

status sq_tokens_revoke_by(struct store *s, const char *field, const char *value, struct err *e)
{
	struct revoke_arg x = {SQL_TOKENS_REVOKE_APP, value, NULL, false};

	/* The column is chosen from a fixed pair, never spliced into SQL. */
	if (strcmp(field, "idp_id") == 0)
		x.id = SQL_TOKENS_REVOKE_IDP;
	else if (strcmp(field, "app_id") != 0)
		return err_set(e, ST_INVALID, "tokens cannot be revoked by '%s'", field);
	return sq_write_tx(s, revoke_body, &x, e);
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
	if ((ret = sq_q_open(c, SQL_REPLAY_RECORD, &q, e)) != ST_OK)
		goto out;
	q_text(&q, x->tenant_id);
	q_text(&q, x->iss);
	q_text(&q, x->jti);
	q_int(&q, x->expires_at);
	q_int(&q, x->now);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, "recording an assertion id", e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_CONFLICT, "assertion replayed: this jti was already used");
out:
	q_close(&q);
	return ret;
}

status sq_replay_record(struct store *s, const char *tenant_id, const char *iss, const char *jti,
			int64_t expires_at, int64_t now, struct err *e)
{
	struct replay_arg x = {tenant_id, iss, jti, expires_at, now};

	if (tenant_id == NULL || iss == NULL || jti == NULL)
		return err_set(e, ST_INVALID, "replay record without tenant, issuer or jti");
	return sq_write_tx(s, replay_body, &x, e);
}

static status refresh_mark_used(struct conn *c, const unsigned char *hash, struct err *e)
{
	int64_t changes = 0;
	status ret = sq_exec_key(c, SQL_REFRESH_MARK_USED, NULL, hash, SHA256_LEN, &changes,
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

status sq_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e)
{
	status ret = store_grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	return sq_write_tx(s, grant_body, tx, e);
}

status sq_grant_submit(struct store *s, struct store_grant_tx *tx,
		       void (*done)(void *arg, status st), void *arg, struct err *e)
{
	status ret = store_grant_tx_check(tx, e);

	if (ret != ST_OK)
		return ret;
	sq_write_tx_async(s, (struct job *)(void *)tx->backend, grant_body, tx, e, done, arg);
	return ST_OK;
}

status sq_replay_seen(struct store *s, const char *tenant_id, const char *iss, const char *jti,
		      int64_t now, bool *seen, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;
	int rc;

	*seen = false;
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_REPLAY_SEEN, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_text(&q, iss);
	q_text(&q, jti);
	q_int(&q, now);
	rc = q_step(&q);
	if (rc == SQLITE_ROW)
		*seen = true;
	else if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, "looking up an assertion id", e);
out:
	q_close(&q);
	return ret;
}
