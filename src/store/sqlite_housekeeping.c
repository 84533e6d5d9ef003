/* sqlite_housekeeping.c - the SQLite backend's upkeep: the checkpointer
 * thread, which folds the WAL back into the database when the writer's WAL
 * hook reports it large; the purge of expired rows in small write jobs; the
 * writer's counters (store_stats). */
#include "store/sqlite_int.h"

#include <string.h>

#include "lib/log.h"

/* Rows removed per purge transaction: small enough that a purge never holds
 * the write lock for long. */
#define PURGE_BATCH 500

/* WAL frames after which a checkpoint cycle starts, and past which the
 * checkpointer waits for readers to move on (RESTART) rather than only
 * copying what it can (PASSIVE). */
#define CKPT_FRAMES       2000
#define CKPT_FORCE_FRAMES 32000

/* ---- checkpoints ---------------------------------------------------------- */

/* Why cycles. SQLite restarts the WAL from its beginning only when a write
 * transaction starts while every frame has been copied back. A checkpointer
 * that runs beside a writer that never pauses never gets there: each copy
 * takes a few milliseconds, during which the writer commits more frames,
 * so the WAL grew without bound under steady load (to 730 MiB in a 30 s
 * benchmark, the next RESTART then stalled commits for 2.4 s). A cycle:
 *  1. a commit leaves the WAL past CKPT_FRAMES: the hook starts a cycle
 *     (no other until it ends) and wakes the checkpointer;
 *  2. the checkpointer copies the bulk of the WAL (PASSIVE), beside the
 *     writer, which goes on committing;
 *  3. between two batches the writer copies what was committed meanwhile
 *     (a short PASSIVE on its own connection), so its next transaction
 *     starts on a fully copied WAL and SQLite writes it from the start.
 * The writer pauses only for step 3: a few hundred frames and the fsyncs
 * of the already durable WAL and of the database file (docs/operations.md,
 * "The write path"). */

int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq_store *s = arg;

	(void)db;
	(void)name;
	__atomic_store_n(&s->wal_frames, frames, __ATOMIC_RELAXED);
	if (frames >= CKPT_FRAMES) {
		pthread_mutex_lock(&s->q_mu);
		if (!s->ck_cycle) {
			s->ck_cycle = true;
			if (s->ck_on) {
				s->ck_want = true;
				pthread_cond_signal(&s->ck_cv);
			} else {
				/* No checkpointer: the writer copies it all. */
				s->ck_catchup = true;
			}
		}
		pthread_mutex_unlock(&s->q_mu);
	}
	return SQLITE_OK;
}

/* One checkpoint on `c`; failures other than BUSY are logged. */
static int checkpoint(struct conn *c, int mode, int *log_frames, int *done_frames)
{
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, log_frames, done_frames);

	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		log_warn("store: checkpoint failed: %s", sqlite3_errmsg(c->db));
	return rc;
}

void *sq_ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	struct conn *c = NULL;
	struct err e = {0};
	status cst = sq_conn_get(&s->base, &c, &e);

	if (cst != ST_OK)
		log_error("store: the checkpointer has no connection: %s", e.msg);
	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		int log_frames = 0, done_frames = 0;

		while (!s->ck_want && !s->ck_stop)
			pthread_cond_wait(&s->ck_cv, &s->q_mu);
		if (s->ck_stop)
			break;
		s->ck_want = false;
		pthread_mutex_unlock(&s->q_mu);
		if (cst == ST_OK &&
		    checkpoint(c, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames) ==
			SQLITE_OK &&
		    done_frames < log_frames && log_frames >= CKPT_FORCE_FRAMES)
			(void)checkpoint(c, SQLITE_CHECKPOINT_RESTART, &log_frames, &done_frames);
		pthread_mutex_lock(&s->q_mu);
		s->ck_catchup = true;
		pthread_cond_signal(&s->q_cv);
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

void sq_ckpt_catchup(struct conn *c)
{
	int log_frames = 0, done_frames = 0;

	(void)checkpoint(c, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
}

/* ---- purges and counters -------------------------------------------------- */

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

	if ((ret = sq_q_open(c, x->id, &q, e)) != ST_OK)
		return ret;
	q_int(&q, x->now);
	q_int(&q, PURGE_BATCH);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, x->what, e);
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
		if ((ret = sq_write_tx(s, purge_body, &x, e)) != ST_OK)
			return ret;
	} while (x.changes == PURGE_BATCH);
	return ST_OK;
}

void sq_stats(struct store *base, struct store_stats *out)
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

status sq_purge_expired(struct store *s, int64_t now, struct err *e)
{
	status ret = purge(s, SQL_PURGE_REPLAY, now, "purging replay records", e);

	if (ret != ST_OK)
		return ret;
	if ((ret = purge(s, SQL_PURGE_TOKENS, now, "purging expired tokens", e)) != ST_OK)
		return ret;
	return purge(s, SQL_PURGE_SKEYS, now, "purging retired signing keys", e);
}

/* One node per SQLite database (the data-dir lock), so there is no other
 * node whose changes to watch. */
status sq_watch(struct store *base, store_change_fn fn, void *arg, struct err *e)
{
	(void)base;
	(void)fn;
	(void)arg;
	return err_set(e, ST_UNSUPPORTED,
		       "SQLite serves one node; there are no other nodes' changes");
}

/* The database is a local file that stays open: reachable while we run. */
status sq_ping(struct store *base, struct err *e)
{
	(void)base;
	(void)e;
	return ST_OK;
}
