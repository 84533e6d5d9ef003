/* store_sqlite.c - the SQLite backend of store.h: its ops table and its
 * constructor. The backend's files:
 *   sqlite_int.h          what they share: the statements, the store and
 *                         connection structs, struct q and struct rd
 *   sqlite_schema.c       the migrations and the schema version check
 *   sqlite_conn.c         connections, statements, reads, transactions and
 *                         the writer thread
 *   sqlite_tenants.c      tenants, admin users, signing keys, audit events
 *   sqlite_entities.c     identity providers and applications
 *   sqlite_tokens.c       tokens, refresh use, revocation, replay records,
 *                         the grant transaction
 *   sqlite_housekeeping.c checkpoints, purges, the writer's counters
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
 * transaction and never begins or commits one. sq_write_tx hands it to the
 * writer thread, which drains a queue: each batch is one BEGIN IMMEDIATE
 * ... COMMIT with every body under its own SAVEPOINT, so one fsync makes
 * many requests durable and a failing body is undone alone. The submitter
 * waits for the commit that holds its rows (group commit; docs/operations.md
 * "The write path"). With synchronous=FULL a commit is durable when it
 * returns. A change and its audit row are one body, so they commit together.
 * Checkpoints run on their own thread (automatic checkpoints are off), so
 * no request thread ever copies the WAL back; the writer only copies, at
 * the end of each checkpoint cycle, the few frames it committed while the
 * checkpointer ran, so that the WAL restarts (sqlite_housekeeping.c).
 *
 * Errors. Unique violations become ST_CONFLICT naming what is taken, a
 * missing parent tenant ST_NOT_FOUND, SQLITE_BUSY after the busy timeout
 * ST_BUSY, anything else ST_IO with sqlite3_errmsg logged. Bound values are
 * never logged. */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "store/store_impl.h"

/* ---- open ----------------------------------------------------------------- */

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
    .watch = sq_watch,
    .ping = sq_ping,
};

/* Before SQLite initialises: no global memory statistics, whose mutex
 * every sqlite3_malloc and free would otherwise take (grantd never reads
 * them). Once SQLite is initialised (a second store in one process) the
 * call is refused, harmlessly. */
static void sqlite_global_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

status store_sqlite_open(const struct config *cfg, struct store **out, struct err *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct sq_store *s = NULL;
	struct conn *c;
	int64_t busy = cfg->database.busy_timeout;
	status ret;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return err_set(e, ST_UNSUPPORTED, "this SQLite library was built without threads");
	pthread_once(&once, sqlite_global_config);
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
	if (pthread_key_create(&s->key, sq_conn_thread_exit) != 0) {
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
	if ((ret = sq_conn_get(&s->base, &c, e)) != ST_OK)
		goto out;
	if ((ret = sq_migrate(s, c, e)) != ST_OK)
		goto out;
	if ((ret = sq_threads_start(s, e)) != ST_OK)
		goto out;
	*out = &s->base;
	s = NULL;
out:
	if (s != NULL)
		sq_close(&s->base);
	return ret;
}
