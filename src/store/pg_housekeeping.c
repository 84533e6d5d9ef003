/* pg_housekeeping.c - the PostgreSQL backend's upkeep: the purge of expired
 * rows in small transactions, the write counters (store_stats), ping. */
#include "store/pg_int.h"

#include <string.h>

/* Rows removed per purge transaction, as SQLite's: short row locks. */
#define PURGE_BATCH 500

struct purge_arg {
	enum sql id;
	int64_t now;
	const char *what;
	int64_t changes;
};

static status purge_body(struct conn *c, void *arg, struct err *e)
{
	struct purge_arg *x = arg;
	struct q q;
	status ret;

	if ((ret = pg_q_open(c, x->id, &q, e)) != ST_OK)
		return ret;
	q_int(&q, x->now);
	q_int(&q, PURGE_BATCH);
	if (q_step(&q) == Q_FAIL)
		ret = pg_db_fail(&q, x->what, e);
	else
		x->changes = q_changes(&q);
	q_close(&q);
	return ret;
}

/* PURGE_BATCH rows (a LIMIT on a ctid subselect) per transaction until a
 * batch comes back short. */
static status purge(struct store *s, enum sql id, int64_t now, const char *what, struct err *e)
{
	struct purge_arg x = {id, now, what, 0};
	status ret;

	do {
		x.changes = 0;
		if ((ret = pg_write_tx(s, purge_body, &x, e)) != ST_OK)
			return ret;
	} while (x.changes == PURGE_BATCH);
	return ST_OK;
}

status pg_purge_expired(struct store *s, int64_t now, struct err *e)
{
	status ret = purge(s, SQL_PURGE_REPLAY, now, "purging replay records", e);

	if (ret != ST_OK)
		return ret;
	if ((ret = purge(s, SQL_PURGE_TOKENS, now, "purging expired tokens", e)) != ST_OK)
		return ret;
	return purge(s, SQL_PURGE_SKEYS, now, "purging retired signing keys", e);
}

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

static status ping_body(struct conn *c, void *arg, struct err *e)
{
	struct q q;
	status ret;

	(void)arg;
	if ((ret = pg_q_open(c, SQL_PING, &q, e)) != ST_OK)
		return ret;
	if (q_step(&q) != Q_ROW)
		ret = pg_db_fail(&q, "pinging the database", e);
	q_close(&q);
	return ret;
}

/* Bounded: the pool waits at most connect_timeout, a connect is bounded by
 * libpq's connect_timeout, the query by statement_timeout and the socket
 * by tcp_user_timeout. */
status pg_ping(struct store *base, struct err *e)
{
	status ret = pg_read(base, ping_body, NULL, false, e);

	if (ret == ST_UNAVAILABLE && e != NULL)
		e->st = ST_IO; /* store.h: ping reports ST_IO */
	return ret == ST_UNAVAILABLE ? ST_IO : ret;
}
