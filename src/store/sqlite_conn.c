/* sqlite_conn.c - connections, statements and transactions of the SQLite
 * backend: one connection per thread (opened on first use, closed when its
 * thread exits or by sq_close), the prepared statements behind struct q,
 * snapshot reads of one row or one page, and the group-commit writer
 * thread with its queue. store_sqlite.c describes the design. */
#include "store/sqlite_int.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "store/store_impl.h"

/* Largest number of jobs committed together: bounds how long one batch
 * holds the write lock and how long its first job waits for its fsync. */
#define BATCH_MAX 256

/* journal_size_limit, set by the writer, truncates a WAL that grew. */
#define WAL_SIZE_LIMIT "67108864"

/* One write transaction waiting for the writer. Lives on the submitting
 * thread's stack until `done` (sq_write_tx), or in memory the submitter owns
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

/* The job of a submitted grant lives in the transaction itself. */
_Static_assert(sizeof(struct job) <= sizeof(((struct store_grant_tx *)0)->backend),
	       "store_grant_tx.backend cannot hold a struct job");
_Static_assert(_Alignof(struct job) <= _Alignof(void *),
	       "store_grant_tx.backend is not aligned for a struct job");

/* ---- connections ---------------------------------------------------------- */

status sq_db_fail(struct conn *c, int rc, const char *what, struct err *e)
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
		ret = sq_db_fail(c, rc, "configuring the connection", e);
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
	    (ret = conn_pragma(c, "PRAGMA trusted_schema = OFF", NULL, e)) != ST_OK ||
	    /* The writer's batch runs each body under a SAVEPOINT, whose
	     * sub-journal SQLite spills to a temporary file past 64 KiB: a
	     * file created, written and unlinked per commit. In memory it is
	     * truncated at every RELEASE (docs/operations.md, "The write
	     * path"). */
	    (ret = conn_pragma(c, "PRAGMA temp_store = MEMORY", NULL, e)) != ST_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	conn_free(c);
	return ret;
}

void sq_conn_thread_exit(void *p)
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

status sq_conn_get(struct store *base, struct conn **out, struct err *e)
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

#define X_TEXT(name, text) text,
#define X_NAME(name, text) #name,
static const char *const sql_text[] = {SQL_STATEMENTS(X_TEXT)};
static const char *const sql_name[] = {SQL_STATEMENTS(X_NAME)};
#undef X_TEXT
#undef X_NAME

status sq_q_open(struct conn *c, enum sql id, struct q *q, struct err *e)
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

status sq_exec_stmt(struct conn *c, enum sql id, const char *what, struct err *e)
{
	struct q q;
	status ret;
	int rc;

	if ((ret = sq_q_open(c, id, &q, e)) != ST_OK)
		return ret;
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, what, e);
	q_close(&q);
	return ret;
}

status sq_exec_key(struct conn *c, enum sql id, const char *text, const void *blob, size_t blob_n,
		   int64_t *changes, const char *what, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = sq_q_open(c, id, &q, e)) != ST_OK)
		goto out;
	if (blob != NULL)
		q_blob(&q, blob, blob_n);
	else
		q_text(&q, text);
	rc = q_step(&q);
	if (rc != SQLITE_DONE) {
		ret = sq_db_fail(c, rc, what, e);
		goto out;
	}
	if (changes != NULL)
		*changes = q_changes(&q);
out:
	q_close(&q);
	return ret;
}

/* ---- reads ---------------------------------------------------------------- */

status sq_get_by(struct store *s, enum sql id, const char *k1, const char *k2, struct arena *a,
		 row_fn fn, void *out, const char *what, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, id, &q, e)) != ST_OK)
		goto out;
	q_text(&q, k1);
	if (k2 != NULL)
		q_text(&q, k2);
	ret = q_row(&q, a, fn, out, what, e);
out:
	q_close(&q);
	return ret;
}

status sq_list_rows(struct store *s, struct arena *a, const struct list_spec *ls,
		    struct store_page pg, void **items, size_t *n, int64_t *total, struct err *e)
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
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_exec_stmt(c, SQL_BEGIN_READ, "starting a read transaction", e)) != ST_OK)
		goto out;

	if ((ret = sq_q_open(c, ls->count, &q, e)) != ST_OK)
		goto out;
	if (ls->key != NULL)
		q_text(&q, ls->key);
	if (ls->filtered) {
		q_text(&q, pg.name_op);
		q_text(&q, pg.name_op != NULL ? pg.name_value : NULL);
	}
	rc = q_step(&q);
	if (rc != SQLITE_ROW) {
		ret = sq_db_fail(c, rc, ls->what, e);
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
		if ((ret = sq_q_open(c, ls->page, &q, e)) != ST_OK)
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
			ret = sq_db_fail(c, rc, ls->what, e);
			goto out;
		}
		q_close(&q);
	}
	ret = sq_exec_stmt(c, SQL_COMMIT, "ending a read transaction", e);
out:
	q_close(&q);
	if (ret != ST_OK) {
		sq_rollback(c);
		return ret;
	}
	*items = arr;
	*n = got;
	if (total != NULL)
		*total = count;
	return ST_OK;
}

/* ---- transactions and the writer ------------------------------------------ */

void sq_rollback(struct conn *c)
{
	/* SQLite may already have rolled back (e.g. after an I/O error). */
	if (!sqlite3_get_autocommit(c->db))
		(void)sq_exec_stmt(c, SQL_ROLLBACK, "rolling back", NULL);
}

/* One transaction on the caller's thread: only before the writer runs. */
static status write_tx_inline(struct sq_store *s, tx_body body, void *arg, struct err *e)
{
	struct conn *c;
	status ret;

	if ((ret = sq_conn_get(&s->base, &c, e)) != ST_OK)
		return ret;
	pthread_mutex_lock(&s->write_mu);
	if ((ret = sq_exec_stmt(c, SQL_BEGIN_WRITE, "starting a write transaction", e)) != ST_OK)
		goto out;
	if ((ret = body(c, arg, e)) != ST_OK)
		goto out;
	ret = sq_exec_stmt(c, SQL_COMMIT, "committing", e);
out:
	if (ret != ST_OK)
		sq_rollback(c);
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

status sq_write_tx(struct store *base, tx_body body, void *arg, struct err *e)
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
	/* A body that wrote through sq_write_tx would wait for itself. */
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

void sq_write_tx_async(struct store *base, struct job *j, tx_body body, void *arg, struct err *e,
		       void (*fin)(void *fin_arg, status st), void *fin_arg)
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
	if ((st = sq_exec_stmt(c, SQL_BEGIN_WRITE, "starting a write transaction", &e)) != ST_OK) {
		batch_fail(jobs, st, &e);
		return;
	}
	for (struct job *j = jobs; j != NULL; j = j->next) {
		if (!single &&
		    (st = sq_exec_stmt(c, SQL_SAVEPOINT, "opening a savepoint", j->e)) != ST_OK) {
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
			st = sq_exec_stmt(c, SQL_ROLLBACK_TO, "rolling back a savepoint", &e);
		if (st == ST_OK)
			st = sq_exec_stmt(c, SQL_RELEASE, "releasing a savepoint", &e);
		if (st != ST_OK) {
			if (j->st == ST_OK)
				j->st = st; /* its rows are in, but it will not commit */
			batch_fail(jobs, st, &e);
			sq_rollback(c);
			return;
		}
	}
	for (struct job *j = jobs; j != NULL; j = j->next)
		any |= j->st == ST_OK;
	if (!any) {
		sq_rollback(c);
		return;
	}
	if ((st = sq_exec_stmt(c, SQL_COMMIT, "committing", &e)) != ST_OK) {
		batch_fail(jobs, st, &e);
		sq_rollback(c);
		return;
	}
	__atomic_add_fetch(&s->n_commits, 1, __ATOMIC_RELAXED);
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
	status cst = sq_conn_get(&s->base, &c, &e);

	if (cst == ST_OK) {
		sqlite3_wal_hook(c->db, sq_wal_hook, s);
		cst = conn_pragma(c, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT, NULL, &e);
	}
	if (cst != ST_OK)
		log_error("store: the writer has no connection: %s", e.msg);
	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		struct job *batch, *last, *async, **atail, *waiters;
		size_t n = 1;

		while (s->q_head == NULL && !s->q_stop && !s->ck_catchup)
			pthread_cond_wait(&s->q_cv, &s->q_mu);
		if (s->ck_catchup) {
			/* The end of a checkpoint cycle, between two batches. */
			s->ck_catchup = false;
			pthread_mutex_unlock(&s->q_mu);
			if (cst == ST_OK)
				sq_ckpt_catchup(c);
			pthread_mutex_lock(&s->q_mu);
			s->ck_cycle = false;
			continue;
		}
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

status sq_threads_start(struct sq_store *s, struct err *e)
{
	pthread_mutex_lock(&s->q_mu);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		pthread_mutex_unlock(&s->q_mu);
		return err_set(e, ST_NOMEM, "cannot start the database writer thread");
	}
	s->writer_on = true;
	if (pthread_create(&s->ckpt, NULL, sq_ckpt_main, s) == 0)
		s->ck_on = true;
	else
		log_warn(
		    "store: cannot start the checkpointer; the writer checkpoints the WAL itself");
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

void sq_close(struct store *base)
{
	struct sq_store *s = sq(base);
	struct conn *c, *next;

	if (s == NULL)
		return;
	/* First: the writer finishes what was queued; its and the
	 * checkpointer's connections close as the threads exit. */
	threads_stop(s);
	pthread_mutex_lock(&s->mu);
	/* After this no exiting thread calls sq_conn_thread_exit for this store. */
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
