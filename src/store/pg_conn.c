/* pg_conn.c - the PostgreSQL backend's connection pool, its prepared
 * statements (struct q), the mapping of errors to statuses, reads with one
 * retry and write transactions. store_pg.c describes the design. */
#include "store/pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "store/store_impl.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- statements ------------------------------------------------------------ */

#define X_TEXT(name, text) text,
#define X_NAME(name, text) "grantd_" #name,
static const char *const sql_text[] = {PG_STATEMENTS(X_TEXT)};
static const char *const sql_name[] = {PG_STATEMENTS(X_NAME)};
#undef X_TEXT
#undef X_NAME

status pg_q_open(struct conn *c, enum sql id, struct q *q, struct err *e)
{
	(void)e;
	memset(q, 0, sizeof *q);
	q->c = c;
	q->id = id;
	q->row = -1;
	return ST_OK;
}

void q_int(struct q *q, int64_t v)
{
	int i = q->n;

	snprintf(q->ints[i], sizeof q->ints[i], "%" PRId64, v);
	q_text(q, q->ints[i]);
}

const char *pg_stmt_name(enum sql id)
{
	return sql_name[id];
}

status pg_prepare(struct conn *c, enum sql id, struct err *e)
{
	struct q q = {.c = c, .id = id};
	status ret = ST_OK;

	if (c->prepared[id])
		return ST_OK;
	q.res = PQprepare(c->pg, sql_name[id], sql_text[id], 0, NULL);
	if (q.res == NULL || PQresultStatus(q.res) != PGRES_COMMAND_OK)
		ret = pg_db_fail(&q, "preparing a query", e);
	else
		c->prepared[id] = true;
	q_close(&q);
	return ret;
}

int q_step(struct q *q)
{
	struct conn *c = q->c;

	if (!q->ran) {
		q->ran = true;
		if (!c->prepared[q->id]) {
			PGresult *r = PQprepare(c->pg, sql_name[q->id], sql_text[q->id], 0, NULL);

			if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
				q->res = r;
				return Q_FAIL;
			}
			PQclear(r);
			c->prepared[q->id] = true;
		}
		q->res = PQexecPrepared(c->pg, sql_name[q->id], q->n, q->vals, q->lens, q->fmts, 1);
		switch (q->res != NULL ? PQresultStatus(q->res) : PGRES_FATAL_ERROR) {
		case PGRES_TUPLES_OK: q->nrows = PQntuples(q->res); break;
		case PGRES_COMMAND_OK: q->nrows = 0; break;
		default: return Q_FAIL;
		}
	}
	if (q->res == NULL || q->row >= q->nrows)
		return Q_DONE;
	q->row++;
	return q->row < q->nrows ? Q_ROW : Q_DONE;
}

/* ---- errors ---------------------------------------------------------------- */

/* libpq's message on one line, into buf. */
const char *pg_message(PGconn *pg, const PGresult *r, char *buf, size_t n)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : "";
	size_t len;

	if (m == NULL || m[0] == '\0')
		m = pg != NULL ? PQerrorMessage(pg) : "";
	snprintf(buf, n, "%s", m != NULL && m[0] != '\0' ? m : "unknown error");
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	return buf;
}

static bool lost(const char *state, PGconn *pg)
{
	return PQstatus(pg) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
	       strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	       strcmp(state, "57P03") == 0;
}

status pg_db_fail(struct q *q, const char *what, struct err *e)
{
	const char *state = q_state(q);
	char msg[512];

	pg_message(q->c->pg, q->res, msg, sizeof msg);
	if (q->res == NULL && PQstatus(q->c->pg) == CONNECTION_OK &&
	    strstr(msg, "out of memory") != NULL) {
		log_error("store: out of memory while %s", what);
		return err_set(e, ST_NOMEM, "out of memory while %s", what);
	}
	if (lost(state, q->c->pg)) {
		q->c->broken = true;
		log_warn("store: database connection lost (%s): %s", what, msg);
		return err_set(e, ST_UNAVAILABLE, "database unavailable (%s): %s", what, msg);
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0) {
		log_warn("store: database busy while %s: %s", what, msg);
		return err_set(e, ST_BUSY, "the database is busy (%s); try again later", what);
	}
	log_error("store: %s failed: %s (SQLSTATE %s)", what, msg, state[0] ? state : "none");
	return err_set(e, ST_IO, "database failure while %s", what);
}

/* Runs constant SQL (BEGIN, COMMIT, ...) that returns no rows. */
static status exec_simple(struct conn *c, const char *sql, const char *what, struct err *e)
{
	struct q q = {.c = c};
	status ret = ST_OK;

	q.res = PQexec(c->pg, sql);
	if (q.res == NULL || PQresultStatus(q.res) != PGRES_COMMAND_OK)
		ret = pg_db_fail(&q, what, e);
	q_close(&q);
	return ret;
}

status pg_exec_key(struct conn *c, enum sql id, const char *text, const void *blob, size_t blob_n,
		   int64_t *changes, const char *what, struct err *e)
{
	struct q q;
	status ret;

	if ((ret = pg_q_open(c, id, &q, e)) != ST_OK)
		return ret;
	if (blob != NULL)
		q_blob(&q, blob, blob_n);
	else
		q_text(&q, text);
	if (q_step(&q) == Q_FAIL)
		ret = pg_db_fail(&q, what, e);
	else if (changes != NULL)
		*changes = q_changes(&q);
	q_close(&q);
	return ret;
}

/* ---- connections ----------------------------------------------------------- */

/* Replaces every occurrence of the URL's password in `msg` (libpq does not
 * echo it, but a server or a future libpq might). */
static void redact(const struct pg_store *s, char *msg)
{
	PQconninfoOption *opts = PQconninfoParse(s->url, NULL);

	if (opts == NULL)
		return;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		char *p;
		size_t n;

		if (strcmp(o->keyword, "password") != 0 || o->val == NULL || o->val[0] == '\0')
			continue;
		n = strlen(o->val);
		while ((p = strstr(msg, o->val)) != NULL)
			memset(p, '*', n);
	}
	PQconninfoFree(opts);
}

static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

status pg_connect(struct pg_store *s, PGconn **out, struct err *e)
{
	char tcp_user[24], msg[512];
	const char *kw[] = {"dbname",
			    "connect_timeout",
			    "keepalives",
			    "keepalives_idle",
			    "keepalives_interval",
			    "keepalives_count",
			    "tcp_user_timeout",
			    "options",
			    "application_name",
			    "client_encoding",
			    NULL};
	const char *val[] = {s->url,   s->conn_timeout_s,   "1",      "10",   "5", "3",
			     tcp_user, s->stmt_timeout_opt, "grantd", "UTF8", NULL};
	PGconn *pg;

	*out = NULL;
	/* Unacknowledged data on a dead peer fails the socket in bounded time. */
	snprintf(tcp_user, sizeof tcp_user, "%" PRId64,
		 s->connect_timeout_ms < 1000 ? (int64_t)1000 : s->connect_timeout_ms);
	pg = PQconnectdbParams(kw, val, 1);
	if (pg == NULL)
		return err_set(e, ST_NOMEM, "out of memory connecting to the database");
	/* Server notices (NOTICE: ... already exists) are not errors. */
	PQsetNoticeProcessor(pg, ignore_notice, NULL);
	if (PQstatus(pg) != CONNECTION_OK) {
		pg_message(pg, NULL, msg, sizeof msg);
		redact(s, msg);
		PQfinish(pg);
		log_warn("store: cannot connect to %s: %s", s->masked, msg);
		return err_set(e, ST_UNAVAILABLE, "database unavailable: cannot connect to %s: %s",
			       s->masked, msg);
	}
	*out = pg;
	return ST_OK;
}

static void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->pg != NULL)
		PQfinish(c->pg);
	free(c);
}

static bool idle_quiet(PGconn *pg)
{
	struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};

	return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

status pg_conn_take(struct pg_store *s, struct conn **out, struct err *e)
{
	int64_t deadline = pg_mono_ms() + s->connect_timeout_ms;
	struct err ce = {0};
	struct conn *c;
	PGconn *pg;
	status ret;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		int64_t now = pg_mono_ms();

		if (s->idle != NULL) {
			c = s->idle;
			s->idle = c->next;
			c->next = NULL;
			/* An idle pooled connection has nothing to hear: when the
			 * server said something (a FATAL before closing it: admin
			 * shutdown, terminated backend, idle timeout), it is
			 * dropped and a fresh one is taken instead. */
			if (PQstatus(c->pg) == CONNECTION_OK && idle_quiet(c->pg))
				break;
			s->nopen--;
			conn_free(c);
			continue;
		}
		if (s->nopen < s->pool_size) {
			if (now < s->down_until_ms) {
				ret = err_set(e, ST_UNAVAILABLE, "%s (retrying in %lld ms)",
					      s->last_fail, (long long)(s->down_until_ms - now));
				pthread_mutex_unlock(&s->mu);
				return ret;
			}
			s->nopen++;
			pthread_mutex_unlock(&s->mu);
			ret = pg_connect(s, &pg, &ce);
			if (ret != ST_OK)
				err_set(e, ret, "%s", ce.msg);
			c = ret == ST_OK ? calloc(1, sizeof *c) : NULL;
			pthread_mutex_lock(&s->mu);
			if (c == NULL) {
				if (ret == ST_OK) {
					PQfinish(pg);
					ret = err_set(e, ST_NOMEM, "out of memory");
				} else {
					s->down_until_ms = pg_mono_ms() + s->backoff_ms;
					s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS
							    ? BACKOFF_MAX_MS
							    : s->backoff_ms * 2;
					snprintf(s->last_fail, sizeof s->last_fail, "%.400s",
						 ce.msg);
				}
				s->nopen--;
				pthread_cond_broadcast(&s->cv);
				pthread_mutex_unlock(&s->mu);
				return ret;
			}
			c->pg = pg;
			s->backoff_ms = BACKOFF_MIN_MS;
			s->down_until_ms = 0;
			break;
		}
		if (now >= deadline) {
			pthread_mutex_unlock(&s->mu);
			return err_set(e, ST_UNAVAILABLE,
				       "database unavailable: all %d connections stayed busy for "
				       "%lld ms",
				       s->pool_size, (long long)s->connect_timeout_ms);
		}
		{
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t left = deadline - now;
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	*out = c;
	return ST_OK;
}

void pg_conn_give(struct pg_store *s, struct conn *c)
{
	bool drop;

	if (c == NULL)
		return;
	drop = c->broken || PQstatus(c->pg) != CONNECTION_OK ||
	       PQtransactionStatus(c->pg) != PQTRANS_IDLE;
	pthread_mutex_lock(&s->mu);
	if (drop) {
		s->nopen--;
	} else {
		c->next = s->idle;
		s->idle = c;
	}
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (drop)
		conn_free(c);
}

/* ---- reads and transactions ------------------------------------------------ */

status pg_read(struct store *base, tx_body body, void *arg, bool snapshot, struct err *e)
{
	struct pg_store *s = pgs(base);
	status ret = ST_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct conn *c;
		bool broken;

		if ((ret = pg_conn_take(s, &c, e)) != ST_OK)
			return ret;
		if (snapshot)
			ret = exec_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
					  "starting a read transaction", e);
		if (ret == ST_OK)
			ret = body(c, arg, e);
		if (snapshot && !c->broken)
			(void)exec_simple(c, ret == ST_OK ? "COMMIT" : "ROLLBACK",
					  "ending a read transaction", ret == ST_OK ? e : NULL);
		broken = c->broken;
		pg_conn_give(s, c);
		if (!(ret == ST_UNAVAILABLE && broken))
			break;
	}
	return ret;
}

status pg_write_tx(struct store *base, tx_body body, void *arg, struct err *e)
{
	struct pg_store *s = pgs(base);
	status ret = ST_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct conn *c;

		if ((ret = pg_conn_take(s, &c, e)) != ST_OK)
			return ret;
		ret = exec_simple(c, "BEGIN", "starting a write transaction", e);
		if (ret == ST_UNAVAILABLE && c->broken && attempt == 0) {
			/* Nothing was sent but BEGIN: safe to try a fresh one. */
			pg_conn_give(s, c);
			continue;
		}
		if (ret == ST_OK) {
			ret = body(c, arg, e);
			if (ret == ST_OK) {
				ret = exec_simple(c, "COMMIT", "committing", e);
				if (ret == ST_OK)
					__atomic_add_fetch(&s->n_commits, 1, __ATOMIC_RELAXED);
			} else if (!c->broken) {
				(void)exec_simple(c, "ROLLBACK", "rolling back", NULL);
			}
		}
		__atomic_add_fetch(&s->n_writes, 1, __ATOMIC_RELAXED);
		pg_conn_give(s, c);
		break;
	}
	return ret;
}

struct get_by_arg {
	enum sql id;
	const char *k1, *k2;
	struct arena *a;
	row_fn fn;
	void *out;
	const char *what;
};

static status get_by_body(struct conn *c, void *arg, struct err *e)
{
	const struct get_by_arg *x = arg;
	struct q q;
	status ret;

	if ((ret = pg_q_open(c, x->id, &q, e)) != ST_OK)
		return ret;
	q_text(&q, x->k1);
	if (x->k2 != NULL)
		q_text(&q, x->k2);
	ret = q_row(&q, x->a, x->fn, x->out, x->what, e);
	q_close(&q);
	return ret;
}

status pg_get_by(struct store *s, enum sql id, const char *k1, const char *k2, struct arena *a,
		 row_fn fn, void *out, const char *what, struct err *e)
{
	struct get_by_arg x = {id, k1, k2, a, fn, out, what};
	return pg_read(s, get_by_body, &x, false, e);
}

struct list_arg {
	const struct list_spec *ls;
	struct arena *a;
	struct store_page pg;
	unsigned char *arr;
	size_t got;
	int64_t count;
};

static void bind_list_keys(struct q *q, const struct list_spec *ls, const struct store_page *pg)
{
	if (ls->key != NULL)
		q_text(q, ls->key);
	if (ls->filtered) {
		q_text(q, pg->name_op);
		q_text(q, pg->name_op != NULL ? pg->name_value : NULL);
	}
}

static status list_body(struct conn *c, void *arg, struct err *e)
{
	struct list_arg *x = arg;
	const struct list_spec *ls = x->ls;
	struct q q;
	struct rd r;
	int64_t want = 0;
	status ret;
	int rc;

	x->arr = NULL;
	x->got = 0;
	x->count = 0;
	if ((ret = pg_q_open(c, ls->count, &q, e)) != ST_OK)
		return ret;
	bind_list_keys(&q, ls, &x->pg);
	if (q_step(&q) != Q_ROW) {
		ret = pg_db_fail(&q, ls->what, e);
		goto out;
	}
	r = (struct rd){&q, x->a, false};
	x->count = rd_int(&r, 0);
	q_close(&q);
	if (x->count > x->pg.offset)
		want =
		    x->count - x->pg.offset < x->pg.limit ? x->count - x->pg.offset : x->pg.limit;
	if (want == 0)
		goto out;
	x->arr = arena_alloc(x->a, (size_t)want * ls->elem);
	if (x->arr == NULL) {
		ret = err_set(e, ST_NOMEM, "out of memory listing %s", ls->what);
		goto out;
	}
	memset(x->arr, 0, (size_t)want * ls->elem);
	pg_q_open(c, ls->page, &q, e);
	bind_list_keys(&q, ls, &x->pg);
	q_int(&q, want);
	q_int(&q, x->pg.offset);
	while (x->got < (size_t)want && (rc = q_step(&q)) == Q_ROW) {
		if (!ls->row(&q, x->a, x->arr + x->got * ls->elem)) {
			ret = err_set(e, ST_NOMEM, "out of memory listing %s", ls->what);
			goto out;
		}
		x->got++;
	}
	if (x->got < (size_t)want && rc == Q_FAIL)
		ret = pg_db_fail(&q, ls->what, e);
out:
	q_close(&q);
	return ret;
}

status pg_list_rows(struct store *s, struct arena *a, const struct list_spec *ls,
		    struct store_page pg, void **items, size_t *n, int64_t *total, struct err *e)
{
	struct list_arg x = {.ls = ls, .a = a, .pg = store_page_norm(pg)};
	status ret;

	*items = NULL;
	*n = 0;
	if (total != NULL)
		*total = 0;
	ret = pg_read(s, list_body, &x, true, e);
	if (ret != ST_OK)
		return ret;
	*items = x.arr;
	*n = x.got;
	if (total != NULL)
		*total = x.count;
	return ST_OK;
}

/* ---- close ----------------------------------------------------------------- */

void pg_close(struct store *base)
{
	struct pg_store *s = pgs(base);
	struct conn *c, *next;

	if (s == NULL)
		return;
	pg_watch_stop(s);
	pg_workers_stop(s);
	pthread_mutex_lock(&s->mu);
	c = s->idle;
	s->idle = NULL;
	pthread_mutex_unlock(&s->mu);
	for (; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	if (s->nworkers > 0 || s->n_commits > 0)
		log_info("store: %llu write transactions, %llu commits",
			 (unsigned long long)s->n_writes, (unsigned long long)s->n_commits);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->q_mu);
	pthread_cond_destroy(&s->q_cv);
	free(s->url);
	free(s->masked);
	free(s);
}
