/* test_store.c - the store interface against the SQLite backend, on a real
 * database file in a fresh temporary directory per test, and, when env
 * GRANTD_TEST_PG_URL names a PostgreSQL superuser URL (of the `postgres`
 * database), the same tests again against the PostgreSQL backend, each on
 * a database of its own (created and dropped by the test; without the
 * variable those variants are skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "config/config.h"
#include "lib/arena.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "store/store.h"

#define NOW      1700000000
#define NTHREADS 8

struct fx {
	char dbname[64]; /* PostgreSQL: this test's database; "" for SQLite */
	char dir[64];
	char path[128];
	struct config cfg;
	struct store *s;
	struct arena a;
};

/* ---- helpers ---------------------------------------------------------- */

static void cfg_init(struct fx *f)
{
	memset(&f->cfg, 0, sizeof f->cfg);
	f->cfg.server.data_dir = f->dir;
	f->cfg.database.type = "sqlite";
	f->cfg.database.path = f->path;
	f->cfg.database.busy_timeout = 5;
}

static void rm_db(const char *path)
{
	char p[256];
	unlink(path);
	if (snprintf(p, sizeof p, "%s-wal", path) < (int)sizeof p)
		unlink(p);
	if (snprintf(p, sizeof p, "%s-shm", path) < (int)sizeof p)
		unlink(p);
}

/* Removes everything a test may have created under the temp dir, so even a
 * failed test leaves nothing behind. */
static void rm_all(struct fx *f)
{
	char p[256];

	rm_db(f->path);
	if (snprintf(p, sizeof p, "%s/race.db", f->dir) < (int)sizeof p)
		rm_db(p);
	if (snprintf(p, sizeof p, "%s/sub/grantd.db", f->dir) < (int)sizeof p)
		rm_db(p);
	if (snprintf(p, sizeof p, "%s/sub", f->dir) < (int)sizeof p)
		rmdir(p);
	rmdir(f->dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct err e = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/grantd-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/grantd.db", f->dir);
	cfg_init(f);
	if (store_open(&f->cfg, &f->s, &e) != ST_OK) {
		print_error("store_open: %s: %s\n", status_name(e.st), e.msg);
		rm_all(f);
		free(f);
		return -1;
	}
	arena_init(&f->a, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	arena_free(&f->a);
	rm_all(f);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	struct err e = {0};
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(&f->cfg, &f->s, &e), ST_OK);
}

/* ---- PostgreSQL variants ---------------------------------------------- */

static const char *g_pg_admin; /* GRANTD_TEST_PG_URL, NULL: PG variants skipped */
static bool g_pg;              /* the running test is a PostgreSQL one */
static char g_db_url[2048];    /* its database's conninfo */
static int g_db_n;

static PGconn *pg_raw_connect(const char *url)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

static void pg_raw_exec(const char *url, const char *sql)
{
	PGconn *c = pg_raw_connect(url);
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static int64_t pg_raw_int(const char *url, const char *sql)
{
	PGconn *c = pg_raw_connect(url);
	PGresult *r = PQexec(c, sql);
	int64_t v;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

/* The admin URL's conninfo with another dbname, as key='value' pairs. */
static void pg_url_for(const char *dbname, char *out, size_t n)
{
	PQconninfoOption *o = PQconninfoParse(g_pg_admin, NULL);
	size_t len = 0;

	assert_non_null(o);
	out[0] = '\0';
	for (PQconninfoOption *p = o; p->keyword != NULL; p++) {
		const char *v = strcmp(p->keyword, "dbname") == 0 ? dbname : p->val;
		if (v == NULL)
			continue;
		len += (size_t)snprintf(out + len, n - len, "%s%s='", len ? " " : "", p->keyword);
		for (const char *c = v; *c != '\0' && len + 3 < n; c++) {
			if (*c == '\'' || *c == '\\')
				out[len++] = '\\';
			out[len++] = *c;
		}
		len += (size_t)snprintf(out + len, n - len, "'");
		assert_true(len < n);
	}
	PQconninfoFree(o);
}

static void pg_cfg(struct fx *f)
{
	f->cfg.database.type = "postgres";
	f->cfg.database.url = g_db_url;
	f->cfg.database.pool_size = 8;
	f->cfg.database.connect_timeout = 5;
	f->cfg.database.statement_timeout = 30;
}

/* A fresh database; the store opened on it when `open`. */
static int pg_setup(void **state, bool open)
{
	struct fx *f = calloc(1, sizeof *f);
	struct err e = {0};
	char sql[128];

	if (f == NULL)
		return -1;
	*state = f;
	arena_init(&f->a, 0);
	if (g_pg_admin == NULL)
		return 0; /* the test skips itself */
	snprintf(f->dir, sizeof f->dir, "/tmp/grantd-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/grantd.db", f->dir);
	cfg_init(f);
	snprintf(f->dbname, sizeof f->dbname, "grantd_test_%ld_%d", (long)getpid(), g_db_n++);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dbname);
	pg_raw_exec(g_pg_admin, sql);
	pg_url_for(f->dbname, g_db_url, sizeof g_db_url);
	pg_cfg(f);
	g_pg = true;
	if (open && store_open(&f->cfg, &f->s, &e) != ST_OK) {
		print_error("store_open: %s: %s\n", status_name(e.st), e.msg);
		return -1;
	}
	return 0;
}

static int setup_pg(void **state)
{
	return pg_setup(state, true);
}

static int setup_pg_empty(void **state)
{
	return pg_setup(state, false);
}

static int teardown_pg(void **state)
{
	struct fx *f = *state;
	char sql[128];

	store_close(f->s);
	arena_free(&f->a);
	if (f->dbname[0] != '\0') {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
		pg_raw_exec(g_pg_admin, sql);
		rmdir(f->dir);
	}
	g_pg = false;
	free(f);
	return 0;
}

/* SQLite's spelling of the schema version, in PostgreSQL's. */
static const char *pg_sql(const char *sql, char *buf, size_t n)
{
	int v;

	if (strcmp(sql, "PRAGMA user_version") == 0)
		return "SELECT max(version) FROM schema_version";
	if (sscanf(sql, "PRAGMA user_version = %d", &v) == 1) {
		snprintf(buf, n, "UPDATE schema_version SET version = %d", v);
		return buf;
	}
	return sql;
}

/* Runs a one-value query on a separate raw connection. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char buf[128];
	int64_t v;

	if (g_pg)
		return pg_raw_int(g_db_url, pg_sql(sql, buf, sizeof buf));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char buf[128];

	if (g_pg) {
		pg_raw_exec(g_db_url, pg_sql(sql, buf, sizeof buf));
		return;
	}
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static bool has(const struct err *e, const char *needle)
{
	if (strstr(e->msg, needle) == NULL) {
		print_error("message \"%s\" lacks \"%s\"\n", e->msg, needle);
		return false;
	}
	return true;
}

static char *new_id(struct fx *f)
{
	char *id = arena_alloc(&f->a, UUID_STR_LEN + 1);
	assert_non_null(id);
	assert_int_equal(uuid_v4(id), ST_OK);
	return id;
}

static char *mk_tenant(struct fx *f, const char *domain, int64_t created)
{
	struct store_tenant t = {
	    .id = new_id(f), .domain = (char *)domain, .active = true, .created_at = created};
	struct err e = {0};
	assert_int_equal(f->s->ops->tenant_create(f->s, &t, NULL, NULL, &e), ST_OK);
	return t.id;
}

static int64_t audit_total(struct fx *f, const char *tenant_id)
{
	struct store_audit *items;
	size_t n;
	int64_t total = -1;
	struct err e = {0};
	assert_int_equal(f->s->ops->audit_list(f->s, &f->a, tenant_id, (struct store_page){10, 0},
					       &items, &n, &total, &e),
			 ST_OK);
	return total;
}

static struct store_audit mk_audit(const char *tenant_id, const char *action, const char *type)
{
	return (struct store_audit){.tenant_id = (char *)tenant_id,
				    .actor = "admin",
				    .action = (char *)action,
				    .object_type = (char *)type,
				    .summary = "{\"k\":1}"};
}

static struct store_idp mk_idp(struct fx *f, const char *tenant_id, const char *name,
			       const char *issuer)
{
	return (struct store_idp){.id = new_id(f),
				  .tenant_id = (char *)tenant_id,
				  .name = (char *)name,
				  .issuer = (char *)issuer,
				  .enabled = true,
				  .doc = "{\"name\":\"x\"}"};
}

static struct store_app mk_app(struct fx *f, const char *tenant_id, const char *name,
			       const char *client_id, unsigned char secret_byte)
{
	struct store_app a = {.id = new_id(f),
			      .tenant_id = (char *)tenant_id,
			      .name = (char *)name,
			      .client_id = (char *)client_id,
			      .doc = "{\"grantTypes\":[]}"};
	if (secret_byte) {
		memset(a.secret_hash, secret_byte, SHA256_LEN);
		a.has_secret = true;
	}
	return a;
}

static struct store_token mk_token(unsigned char hb, enum store_token_kind kind,
				   const char *tenant_id, const char *app_id, const char *idp_id,
				   const char *chain_id, int64_t expires)
{
	struct store_token t = {.kind = kind,
				.tenant_id = (char *)tenant_id,
				.app_id = (char *)app_id,
				.client_id = "client-1",
				.idp_id = (char *)idp_id,
				.subject = "alice",
				.scope = "read write",
				.grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer",
				.chain_id = (char *)chain_id,
				.issued_at = NOW,
				.expires_at = expires};
	memset(t.hash, hb, SHA256_LEN);
	return t;
}

static bool token_revoked(struct fx *f, unsigned char hb)
{
	unsigned char h[SHA256_LEN];
	struct store_token t;
	struct err e = {0};
	memset(h, hb, sizeof h);
	assert_int_equal(f->s->ops->token_get(f->s, &f->a, h, &t, &e), ST_OK);
	return t.revoked;
}

/* ---- open, schema, migrations ------------------------------------------ */

static void open_creates_schema(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	static const char *objects[] = {
	    "tenants",
	    "admin_users",
	    "identity_providers",
	    "identity_providers_issuer",
	    "applications",
	    "tokens",
	    "tokens_chain",
	    "tokens_app",
	    "tokens_idp",
	    "tokens_expires",
	    "replay",
	    "replay_expires",
	    "audit_events",
	    "audit_events_tenant_at",
	};
	char sql[160];

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_true(store_schema_version() >= 1);
	assert_int_equal(f->s->schema_found, 0);
	assert_int_equal(f->s->migrations_applied, store_schema_version());
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version());
	for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
			 objects[i]);
		if (raw_int(f->path, sql) != 1)
			fail_msg("schema object %s missing", objects[i]);
	}
	/* WAL is a property of the file: a fresh raw connection sees it. */
	{
		sqlite3 *db;
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void open_default_path_in_data_dir(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;
	struct err e = {0};
	struct config cfg = f->cfg;
	char other[128];
	struct stat sb;

	snprintf(other, sizeof other, "%s/sub", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	cfg.server.data_dir = other;
	cfg.database.path = NULL;
	assert_int_equal(store_open(&cfg, &s2, &e), ST_OK);
	store_close(s2);
	snprintf(other, sizeof other, "%s/sub/grantd.db", f->dir);
	assert_int_equal(stat(other, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	rm_db(other);
	snprintf(other, sizeof other, "%s/sub", f->dir);
	assert_int_equal(rmdir(other), 0);
}

static void open_missing_dir_fails(void **state)
{
	struct fx *f = *state;
	struct store *s2 = (struct store *)1;
	struct err e = {0};
	struct config cfg = f->cfg;
	char path[160];
	struct stat sb;

	snprintf(path, sizeof path, "%s/nope/grantd.db", f->dir);
	cfg.database.path = path;
	assert_int_equal(store_open(&cfg, &s2, &e), ST_IO);
	assert_null(s2);
	assert_true(has(&e, "does not exist"));
	assert_true(has(&e, "/nope"));
	assert_int_not_equal(stat(path, &sb), 0);
}

static void open_other_types(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;
	struct err e = {0};
	struct config cfg = f->cfg;

	/* PostgreSQL without a URL (config.c refuses it too). */
	cfg.database.type = "postgres";
	cfg.database.url = NULL;
	assert_int_equal(store_open(&cfg, &s2, &e), ST_INVALID);
	assert_null(s2);
	assert_true(has(&e, "database.url"));
	cfg.database.type = "mysql";
	assert_int_equal(store_open(&cfg, &s2, &e), ST_INVALID);
	assert_null(s2);
	assert_true(has(&e, "mysql"));
}

static void reopen_keeps_data_and_applies_nothing(void **state)
{
	struct fx *f = *state;
	struct store_tenant t;
	struct store_idp idp;
	struct err e = {0};
	char *tid = mk_tenant(f, "persist.example", 0);
	struct store_idp in = mk_idp(f, tid, "kept", "https://kept");

	assert_int_equal(f->s->ops->idp_create(f->s, &in, NULL, &e), ST_OK);
	reopen(f);
	assert_int_equal(f->s->schema_found, store_schema_version());
	assert_int_equal(f->s->migrations_applied, 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(f->s->ops->tenant_get(f->s, &f->a, tid, &t, &e), ST_OK);
	assert_string_equal(t.domain, "persist.example");
	assert_int_equal(f->s->ops->idp_get(f->s, &f->a, tid, in.id, &idp, &e), ST_OK);
	assert_string_equal(idp.name, "kept");
	/* And once more, from another thread's point of view: a new store. */
	reopen(f);
	assert_int_equal(f->s->migrations_applied, 0);
}

static void newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct store *s2 = (struct store *)1;
	struct err e = {0};
	char sql[64];

	store_close(f->s);
	f->s = NULL;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_version() + 1);
	raw_exec(f->path, sql);
	assert_int_equal(store_open(&f->cfg, &s2, &e), ST_UNSUPPORTED);
	assert_null(s2);
	assert_true(has(&e, "newer"));
	/* Refusing changed nothing. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version() + 1);
}

struct race {
	struct config *cfg;
	pthread_barrier_t *bar;
	status st;
	int applied;
	struct err e;
};

static void *race_open(void *p)
{
	struct race *r = p;
	struct store *s = NULL;

	pthread_barrier_wait(r->bar);
	r->st = store_open(r->cfg, &s, &r->e);
	if (s != NULL) {
		r->applied = s->migrations_applied;
		store_close(s);
	}
	return NULL;
}

static void concurrent_open_migrates_once(void **state)
{
	struct fx *f = *state;
	struct config cfg = f->cfg;
	struct race r[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t bar;
	char path[160];
	int applied = 0;

	snprintf(path, sizeof path, "%s/race.db", f->dir);
	cfg.database.path = path;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		r[i] = (struct race){&cfg, &bar, ST_INTERNAL, 0, {0}};
		assert_int_equal(pthread_create(&th[i], NULL, race_open, &r[i]), 0);
	}
	/* Join every thread before any assertion can leave the test. */
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < NTHREADS; i++) {
		if (r[i].st != ST_OK)
			fail_msg("open %d: %s: %s", i, status_name(r[i].st), r[i].e.msg);
		applied += r[i].applied;
	}
	assert_int_equal(applied, store_schema_version());
	assert_int_equal(raw_int(path, "PRAGMA user_version"), store_schema_version());
	rm_db(path);
}

/* ---- tenants and admins -------------------------------------------------- */

static void tenants(void **state)
{
	struct fx *f = *state;
	struct store_tenant t, *items;
	struct store_admin owner = {.id = new_id(f), .username = "boss", .pw_hash = "$argon2id$x"};
	struct store_audit au;
	struct store_admin u;
	struct err e = {0};
	size_t n;
	int64_t total;
	char *tid = new_id(f);
	struct store_tenant in = {
	    .id = tid, .domain = "Example.COM", .active = true, .created_at = 100};

	owner.tenant_id = tid;
	au = mk_audit(tid, "create", "tenant");
	assert_int_equal(f->s->ops->tenant_create(f->s, &in, &owner, &au, &e), ST_OK);
	assert_int_equal(f->s->ops->tenant_get(f->s, &f->a, tid, &t, &e), ST_OK);
	assert_string_equal(t.id, tid);
	assert_string_equal(t.domain, "example.com");
	assert_true(t.active);
	assert_int_equal(t.created_at, 100);
	assert_int_equal(f->s->ops->tenant_get_by_domain(f->s, &f->a, "EXAMPLE.com", &t, &e),
			 ST_OK);
	assert_string_equal(t.id, tid);
	assert_int_equal(f->s->ops->admin_get(f->s, &f->a, tid, "boss", &u, &e), ST_OK);
	assert_string_equal(u.pw_hash, "$argon2id$x");
	assert_int_equal(audit_total(f, tid), 1);

	/* Same domain, other case, other id: taken, and nothing else lands. */
	{
		struct store_tenant dup = {
		    .id = new_id(f), .domain = "example.COM", .active = true};
		struct store_audit au2 = mk_audit(dup.id, "create", "tenant");
		assert_int_equal(f->s->ops->tenant_create(f->s, &dup, NULL, &au2, &e), ST_CONFLICT);
		assert_true(has(&e, "tenant domain 'example.com' already exists"));
		assert_int_equal(audit_total(f, NULL), 1);
		assert_int_equal(f->s->ops->tenant_get(f->s, &f->a, dup.id, &t, &e), ST_NOT_FOUND);
	}
	/* An owner that fails rolls back the tenant too. */
	{
		struct store_tenant t2 = {.id = new_id(f), .domain = "two.example", .active = true};
		struct store_admin bad = {
		    .id = owner.id, .tenant_id = t2.id, .username = "x", .pw_hash = "h"};
		assert_int_equal(f->s->ops->tenant_create(f->s, &t2, &bad, NULL, &e), ST_CONFLICT);
		assert_int_equal(
		    f->s->ops->tenant_get_by_domain(f->s, &f->a, "two.example", &t, &e),
		    ST_NOT_FOUND);
	}

	assert_int_equal(f->s->ops->tenant_get(f->s, &f->a, "missing", &t, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->tenant_get_by_domain(f->s, &f->a, "nope.example", &t, &e),
			 ST_NOT_FOUND);
	assert_true(has(&e, "nope.example"));

	au = mk_audit(tid, "update", "tenant");
	assert_int_equal(f->s->ops->tenant_set_active(f->s, tid, false, &au, &e), ST_OK);
	assert_int_equal(f->s->ops->tenant_get(f->s, &f->a, tid, &t, &e), ST_OK);
	assert_false(t.active);
	assert_int_equal(audit_total(f, tid), 2);
	assert_int_equal(f->s->ops->tenant_set_active(f->s, "missing", true, &au, &e),
			 ST_NOT_FOUND);
	assert_int_equal(audit_total(f, tid), 2);

	/* Lists: created_at order, totals, clamping. */
	mk_tenant(f, "c.example", 300);
	mk_tenant(f, "b.example", 200);
	mk_tenant(f, "d.example", 400);
	assert_int_equal(
	    f->s->ops->tenant_list(f->s, &f->a, (struct store_page){2, 0}, &items, &n, &total, &e),
	    ST_OK);
	assert_int_equal(total, 4);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].domain, "example.com");
	assert_string_equal(items[1].domain, "b.example");
	assert_int_equal(
	    f->s->ops->tenant_list(f->s, &f->a, (struct store_page){2, 3}, &items, &n, &total, &e),
	    ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].domain, "d.example");
	assert_int_equal(
	    f->s->ops->tenant_list(f->s, &f->a, (struct store_page){0, -5}, &items, &n, &total, &e),
	    ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].domain, "example.com");
	assert_int_equal(f->s->ops->tenant_list(f->s, &f->a, (struct store_page){5000, 0}, &items,
						&n, &total, &e),
			 ST_OK);
	assert_int_equal(n, 4);
	assert_int_equal(
	    f->s->ops->tenant_list(f->s, &f->a, (struct store_page){10, 9}, &items, &n, &total, &e),
	    ST_OK);
	assert_int_equal(n, 0);
	assert_int_equal(total, 4);
}

static void list_page_clamp(void **state)
{
	struct fx *f = *state;
	struct store_tenant *items;
	struct err e = {0};
	int64_t total;
	size_t n;

	/* More rows than one page may hold, written in one raw transaction. */
	raw_exec(f->path,
		 g_pg ? "INSERT INTO tenants (id, domain, active, created_at) "
			"SELECT format('id-%s', lpad(i::text, 4, '0')), "
			"format('d%s.example', lpad(i::text, 4, '0')), 1, i "
			"FROM generate_series(1, 1005) AS i"
		      : "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
			"WHERE i < 1005) INSERT INTO tenants (id, domain, active, created_at) "
			"SELECT printf('id-%04d', i), printf('d%04d.example', i), 1, i FROM n");
	assert_int_equal(f->s->ops->tenant_list(f->s, &f->a, (struct store_page){5000, 0}, &items,
						&n, &total, &e),
			 ST_OK);
	assert_int_equal(total, 1005);
	assert_int_equal(n, STORE_PAGE_MAX);
	assert_string_equal(items[0].domain, "d0001.example");
	assert_string_equal(items[STORE_PAGE_MAX - 1].domain, "d1000.example");
	assert_int_equal(f->s->ops->tenant_list(f->s, &f->a, (struct store_page){1000, 1000},
						&items, &n, &total, &e),
			 ST_OK);
	assert_int_equal(n, 5);
	assert_string_equal(items[4].domain, "d1005.example");
}

static void admins(void **state)
{
	struct fx *f = *state;
	char *tid = mk_tenant(f, "admins.example", 0);
	struct store_admin a = {.id = new_id(f),
				.tenant_id = tid,
				.username = "ann",
				.pw_hash = "h1",
				.created_at = 10};
	struct store_admin b = {.id = new_id(f),
				.tenant_id = tid,
				.username = "bob",
				.pw_hash = "h2",
				.created_at = 20};
	struct store_admin again = {.id = new_id(f),
				    .tenant_id = tid,
				    .username = "ann",
				    .pw_hash = "h3",
				    .created_at = 30};
	struct store_admin orphan = {
	    .id = new_id(f), .tenant_id = "no-such-tenant", .username = "x", .pw_hash = "h"};
	struct store_admin out, *items;
	struct err e = {0};
	size_t n;

	assert_int_equal(f->s->ops->admin_put(f->s, &a, &e), ST_OK);
	assert_int_equal(f->s->ops->admin_put(f->s, &b, &e), ST_OK);
	assert_int_equal(f->s->ops->admin_get(f->s, &f->a, tid, "ann", &out, &e), ST_OK);
	assert_string_equal(out.pw_hash, "h1");
	assert_string_equal(out.tenant_id, tid);
	/* put on an existing username replaces the hash, keeps id and created_at */
	assert_int_equal(f->s->ops->admin_put(f->s, &again, &e), ST_OK);
	assert_int_equal(f->s->ops->admin_get(f->s, &f->a, tid, "ann", &out, &e), ST_OK);
	assert_string_equal(out.pw_hash, "h3");
	assert_string_equal(out.id, a.id);
	assert_int_equal(out.created_at, 10);
	assert_int_equal(f->s->ops->admin_get(f->s, &f->a, tid, "carl", &out, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->admin_put(f->s, &orphan, &e), ST_NOT_FOUND);
	assert_true(has(&e, "tenant"));
	assert_int_equal(f->s->ops->admin_list(f->s, &f->a, tid, &items, &n, &e), ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].username, "ann");
	assert_string_equal(items[1].username, "bob");
}

/* ---- identity providers ---------------------------------------------------- */

static void idps(void **state)
{
	struct fx *f = *state;
	char *t1 = mk_tenant(f, "one.example", 0);
	char *t2 = mk_tenant(f, "two.example", 0);
	struct store_idp a = mk_idp(f, t1, "jwtIDP", "https://idp.example");
	struct store_idp out, *items;
	struct store_audit au = mk_audit(t1, "create", "identity-provider");
	struct err e = {0};
	size_t n;
	int64_t total;

	a.created_at = 50;
	assert_int_equal(f->s->ops->idp_create(f->s, &a, &au, &e), ST_OK);
	assert_int_equal(audit_total(f, t1), 1);
	assert_int_equal(f->s->ops->idp_get(f->s, &f->a, t1, a.id, &out, &e), ST_OK);
	assert_string_equal(out.name, "jwtIDP");
	assert_string_equal(out.issuer, "https://idp.example");
	assert_string_equal(out.doc, "{\"name\":\"x\"}");
	assert_true(out.enabled);
	assert_int_equal(out.created_at, 50);
	assert_int_equal(out.updated_at, 50);
	/* tenant-scoped: not visible from t2 */
	assert_int_equal(f->s->ops->idp_get(f->s, &f->a, t2, a.id, &out, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->idp_get_by_name(f->s, &f->a, t1, "jwtIDP", &out, &e), ST_OK);
	assert_string_equal(out.id, a.id);
	assert_int_equal(f->s->ops->idp_get_by_name(f->s, &f->a, t1, "other", &out, &e),
			 ST_NOT_FOUND);

	/* same name, same tenant: conflict, no audit row */
	{
		struct store_idp dup = mk_idp(f, t1, "jwtIDP", "");
		assert_int_equal(f->s->ops->idp_create(f->s, &dup, &au, &e), ST_CONFLICT);
		assert_true(
		    has(&e, "identity provider name 'jwtIDP' already exists in this tenant"));
		assert_int_equal(audit_total(f, t1), 1);
		/* same name in another tenant is fine */
		dup.tenant_id = t2;
		assert_int_equal(f->s->ops->idp_create(f->s, &dup, NULL, &e), ST_OK);
		/* unknown tenant */
		dup = mk_idp(f, "no-such-tenant", "z", "");
		assert_int_equal(f->s->ops->idp_create(f->s, &dup, NULL, &e), ST_NOT_FOUND);
	}

	/* values are bound, never spliced */
	{
		struct store_idp q = mk_idp(f, t1, "x'); DROP TABLE tenants; --", "it's");
		q.created_at = 60;
		assert_int_equal(f->s->ops->idp_create(f->s, &q, NULL, &e), ST_OK);
		assert_int_equal(f->s->ops->idp_get_by_name(f->s, &f->a, t1, q.name, &out, &e),
				 ST_OK);
		assert_string_equal(out.issuer, "it's");
	}

	/* find by issuer: the issuer match first, then the name match */
	{
		struct store_idp by_name = mk_idp(f, t1, "https://shared", "https://else");
		struct store_idp by_iss = mk_idp(f, t1, "shared-iss", "https://shared");
		by_name.created_at = 10; /* older, but the issuer match still comes first */
		by_iss.created_at = 20;
		assert_int_equal(f->s->ops->idp_create(f->s, &by_name, NULL, &e), ST_OK);
		assert_int_equal(f->s->ops->idp_create(f->s, &by_iss, NULL, &e), ST_OK);
		assert_int_equal(f->s->ops->idp_find_by_issuer(f->s, &f->a, t1, "https://shared",
							       &items, &n, &e),
				 ST_OK);
		assert_int_equal(n, 2);
		assert_string_equal(items[0].id, by_iss.id);
		assert_string_equal(items[1].id, by_name.id);
		assert_int_equal(f->s->ops->idp_find_by_issuer(f->s, &f->a, t2, "https://shared",
							       &items, &n, &e),
				 ST_OK);
		assert_int_equal(n, 0);
		assert_int_equal(f->s->ops->idp_find_by_issuer(
				     f->s, &f->a, t1, "https://idp.example", &items, &n, &e),
				 ST_OK);
		assert_int_equal(n, 1);
		assert_string_equal(items[0].id, a.id);
	}

	/* list: created_at order (10, 20, 50, 60) */
	assert_int_equal(
	    f->s->ops->idp_list(f->s, &f->a, t1, (struct store_page){3, 0}, &items, &n, &total, &e),
	    ST_OK);
	assert_int_equal(total, 4);
	assert_int_equal(n, 3);
	assert_string_equal(items[0].name, "https://shared");
	assert_string_equal(items[1].name, "shared-iss");
	assert_string_equal(items[2].name, "jwtIDP");

	/* update */
	{
		struct store_idp up = a;
		struct store_audit au2 = mk_audit(t1, "update", "identity-provider");
		up.name = "renamed";
		up.issuer = "https://new";
		up.doc = "{\"v\":2}";
		up.updated_at = 70;
		assert_int_equal(f->s->ops->idp_update(f->s, &up, &au2, &e), ST_OK);
		assert_int_equal(audit_total(f, t1), 2);
		assert_int_equal(f->s->ops->idp_get(f->s, &f->a, t1, a.id, &out, &e), ST_OK);
		assert_string_equal(out.name, "renamed");
		assert_string_equal(out.issuer, "https://new");
		assert_string_equal(out.doc, "{\"v\":2}");
		assert_int_equal(out.created_at, 50);
		assert_int_equal(out.updated_at, 70);
		/* rename onto a taken name */
		up.name = "shared-iss";
		assert_int_equal(f->s->ops->idp_update(f->s, &up, &au2, &e), ST_CONFLICT);
		assert_true(has(&e, "'shared-iss' already exists"));
		assert_int_equal(audit_total(f, t1), 2);
		/* missing, or in the wrong tenant */
		up.name = "renamed";
		up.tenant_id = t2;
		assert_int_equal(f->s->ops->idp_update(f->s, &up, &au2, &e), ST_NOT_FOUND);
		assert_int_equal(audit_total(f, t1), 2);
	}

	/* delete */
	{
		struct store_audit au3 = mk_audit(t1, "delete", "identity-provider");
		assert_int_equal(f->s->ops->idp_delete(f->s, t2, a.id, &au3, &e), ST_NOT_FOUND);
		assert_int_equal(f->s->ops->idp_delete(f->s, t1, a.id, &au3, &e), ST_OK);
		assert_int_equal(audit_total(f, t1), 3);
		assert_int_equal(f->s->ops->idp_get(f->s, &f->a, t1, a.id, &out, &e), ST_NOT_FOUND);
		assert_int_equal(f->s->ops->idp_delete(f->s, t1, a.id, &au3, &e), ST_NOT_FOUND);
		assert_true(has(&e, "not found"));
		assert_int_equal(audit_total(f, t1), 3);
	}
}

static void idp_disable_and_delete_revoke_tokens(void **state)
{
	struct fx *f = *state;
	char *tid = mk_tenant(f, "rev.example", 0);
	struct store_idp a = mk_idp(f, tid, "a", "https://a");
	struct store_idp b = mk_idp(f, tid, "b", "https://b");
	struct store_token ta =
	    mk_token(0xa1, STORE_TOKEN_ACCESS, tid, "app", a.id, "c1", NOW + 60);
	struct store_token tb =
	    mk_token(0xb1, STORE_TOKEN_ACCESS, tid, "app", b.id, "c2", NOW + 60);
	struct err e = {0};

	assert_int_equal(f->s->ops->idp_create(f->s, &a, NULL, &e), ST_OK);
	assert_int_equal(f->s->ops->idp_create(f->s, &b, NULL, &e), ST_OK);
	assert_int_equal(f->s->ops->tokens_put(f->s, &ta, NULL, &e), ST_OK);
	assert_int_equal(f->s->ops->tokens_put(f->s, &tb, NULL, &e), ST_OK);
	/* an update that keeps it enabled revokes nothing */
	assert_int_equal(f->s->ops->idp_update(f->s, &a, NULL, &e), ST_OK);
	assert_false(token_revoked(f, 0xa1));
	a.enabled = false;
	assert_int_equal(f->s->ops->idp_update(f->s, &a, NULL, &e), ST_OK);
	assert_true(token_revoked(f, 0xa1));
	assert_false(token_revoked(f, 0xb1));
	assert_int_equal(f->s->ops->idp_delete(f->s, tid, b.id, NULL, &e), ST_OK);
	assert_true(token_revoked(f, 0xb1));
}

/* ---- applications --------------------------------------------------------- */

static void apps(void **state)
{
	struct fx *f = *state;
	char *t1 = mk_tenant(f, "apps1.example", 0);
	char *t2 = mk_tenant(f, "apps2.example", 0);
	struct store_app a = mk_app(f, t1, "my-app", "client_AAAA", 0x11);
	struct store_app pub = mk_app(f, t1, "public", "client_PUB", 0);
	struct store_app out, *items;
	struct store_audit au = mk_audit(t1, "create", "application");
	struct store_token tok = mk_token(0x51, STORE_TOKEN_ACCESS, t1, a.id, NULL, "ch", NOW + 60);
	unsigned char h11[SHA256_LEN];
	struct err e = {0};
	size_t n;
	int64_t total;

	memset(h11, 0x11, sizeof h11);
	a.created_at = 5;
	pub.created_at = 6;
	assert_int_equal(f->s->ops->app_create(f->s, &a, &au, &e), ST_OK);
	assert_int_equal(f->s->ops->app_create(f->s, &pub, NULL, &e), ST_OK);
	assert_int_equal(audit_total(f, t1), 1);
	assert_int_equal(f->s->ops->app_get(f->s, &f->a, t1, a.id, &out, &e), ST_OK);
	assert_string_equal(out.name, "my-app");
	assert_string_equal(out.client_id, "client_AAAA");
	assert_string_equal(out.doc, "{\"grantTypes\":[]}");
	assert_true(out.has_secret);
	assert_memory_equal(out.secret_hash, h11, SHA256_LEN);
	assert_int_equal(f->s->ops->app_get(f->s, &f->a, t2, a.id, &out, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->app_get(f->s, &f->a, t1, pub.id, &out, &e), ST_OK);
	assert_false(out.has_secret);

	assert_int_equal(
	    f->s->ops->app_get_by_client_id(f->s, &f->a, NULL, "client_AAAA", &out, &e), ST_OK);
	assert_string_equal(out.id, a.id);
	assert_int_equal(f->s->ops->app_get_by_client_id(f->s, &f->a, t1, "client_AAAA", &out, &e),
			 ST_OK);
	assert_int_equal(f->s->ops->app_get_by_client_id(f->s, &f->a, t2, "client_AAAA", &out, &e),
			 ST_NOT_FOUND);
	assert_int_equal(f->s->ops->app_get_by_client_id(f->s, &f->a, NULL, "nope", &out, &e),
			 ST_NOT_FOUND);

	/* conflicts: name per tenant, client id globally */
	{
		struct store_app d1 = mk_app(f, t1, "my-app", "client_BBBB", 0x22);
		struct store_app d2 = mk_app(f, t2, "other", "client_AAAA", 0x22);
		struct store_app ok = mk_app(f, t2, "my-app", "client_CCCC", 0x22);
		assert_int_equal(f->s->ops->app_create(f->s, &d1, &au, &e), ST_CONFLICT);
		assert_true(has(&e, "application name 'my-app' already exists in this tenant"));
		assert_int_equal(f->s->ops->app_create(f->s, &d2, &au, &e), ST_CONFLICT);
		assert_true(has(&e, "client id 'client_AAAA' is already registered"));
		assert_int_equal(audit_total(f, t1), 1);
		assert_int_equal(f->s->ops->app_create(f->s, &ok, NULL, &e), ST_OK);
	}

	assert_int_equal(f->s->ops->app_list(f->s, &f->a, t1, (struct store_page){10, 0}, &items,
					     &n, &total, &e),
			 ST_OK);
	assert_int_equal(total, 2);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].name, "my-app");
	assert_string_equal(items[1].name, "public");

	/* updates: without a secret, with the same one, then a new one */
	assert_int_equal(f->s->ops->tokens_put(f->s, &tok, NULL, &e), ST_OK);
	{
		struct store_app up = a;
		up.has_secret = false;
		memset(up.secret_hash, 0, SHA256_LEN);
		up.name = "my-app-2";
		up.doc = "{\"v\":2}";
		assert_int_equal(f->s->ops->app_update(f->s, &up, &au, &e), ST_OK);
		assert_int_equal(audit_total(f, t1), 2);
		assert_int_equal(f->s->ops->app_get(f->s, &f->a, t1, a.id, &out, &e), ST_OK);
		assert_string_equal(out.name, "my-app-2");
		assert_string_equal(out.doc, "{\"v\":2}");
		assert_string_equal(out.client_id, "client_AAAA");
		assert_true(out.has_secret);
		assert_memory_equal(out.secret_hash, h11, SHA256_LEN);
		assert_false(token_revoked(f, 0x51));

		up = a;
		assert_int_equal(f->s->ops->app_update(f->s, &up, NULL, &e), ST_OK);
		assert_false(token_revoked(f, 0x51));

		memset(up.secret_hash, 0x33, SHA256_LEN);
		assert_int_equal(f->s->ops->app_update(f->s, &up, NULL, &e), ST_OK);
		assert_true(token_revoked(f, 0x51));
		assert_int_equal(f->s->ops->app_get(f->s, &f->a, t1, a.id, &out, &e), ST_OK);
		assert_memory_equal(out.secret_hash, up.secret_hash, SHA256_LEN);

		up.name = "public";
		assert_int_equal(f->s->ops->app_update(f->s, &up, &au, &e), ST_CONFLICT);
		assert_int_equal(audit_total(f, t1), 2);
		up = mk_app(f, t1, "ghost", "client_GHOST", 0);
		assert_int_equal(f->s->ops->app_update(f->s, &up, &au, &e), ST_NOT_FOUND);
		assert_int_equal(audit_total(f, t1), 2);
	}

	/* delete revokes the app's tokens */
	{
		struct store_token t2tok =
		    mk_token(0x52, STORE_TOKEN_REFRESH, t1, pub.id, NULL, "pc", NOW + 60);
		struct store_audit del = mk_audit(t1, "delete", "application");
		assert_int_equal(f->s->ops->tokens_put(f->s, &t2tok, NULL, &e), ST_OK);
		assert_int_equal(f->s->ops->app_delete(f->s, t2, pub.id, &del, &e), ST_NOT_FOUND);
		assert_false(token_revoked(f, 0x52));
		assert_int_equal(f->s->ops->app_delete(f->s, t1, pub.id, &del, &e), ST_OK);
		assert_true(token_revoked(f, 0x52));
		assert_int_equal(audit_total(f, t1), 3);
		assert_int_equal(f->s->ops->app_get(f->s, &f->a, t1, pub.id, &out, &e),
				 ST_NOT_FOUND);
		assert_int_equal(f->s->ops->app_delete(f->s, t1, pub.id, &del, &e), ST_NOT_FOUND);
		assert_int_equal(audit_total(f, t1), 3);
	}
}

/* ---- tokens ------------------------------------------------------------------ */

static void tokens(void **state)
{
	struct fx *f = *state;
	struct store_token acc =
	    mk_token(0x01, STORE_TOKEN_ACCESS, "t", "app1", "idp1", "chain1", NOW + 3600);
	struct store_token ref =
	    mk_token(0x02, STORE_TOKEN_REFRESH, "t", "app1", "idp1", "chain1", NOW + 86400);
	struct store_token cc =
	    mk_token(0x03, STORE_TOKEN_ACCESS, "t", "app2", NULL, NULL, NOW + 60);
	struct store_token out;
	unsigned char h[SHA256_LEN];
	struct err e = {0};

	cc.grant_type = "client_credentials";
	cc.scope = NULL;
	assert_int_equal(f->s->ops->tokens_put(f->s, &acc, &ref, &e), ST_OK);
	assert_int_equal(f->s->ops->tokens_put(f->s, &cc, NULL, &e), ST_OK);

	assert_int_equal(f->s->ops->token_get(f->s, &f->a, acc.hash, &out, &e), ST_OK);
	assert_memory_equal(out.hash, acc.hash, SHA256_LEN);
	assert_int_equal(out.kind, STORE_TOKEN_ACCESS);
	assert_string_equal(out.tenant_id, "t");
	assert_string_equal(out.app_id, "app1");
	assert_string_equal(out.client_id, "client-1");
	assert_string_equal(out.idp_id, "idp1");
	assert_string_equal(out.subject, "alice");
	assert_string_equal(out.scope, "read write");
	assert_string_equal(out.grant_type, "urn:ietf:params:oauth:grant-type:jwt-bearer");
	assert_string_equal(out.chain_id, "chain1");
	assert_int_equal(out.issued_at, NOW);
	assert_int_equal(out.expires_at, NOW + 3600);
	assert_false(out.revoked);
	assert_false(out.used);
	assert_int_equal(f->s->ops->token_get(f->s, &f->a, ref.hash, &out, &e), ST_OK);
	assert_int_equal(out.kind, STORE_TOKEN_REFRESH);
	assert_int_equal(f->s->ops->token_get(f->s, &f->a, cc.hash, &out, &e), ST_OK);
	assert_null(out.idp_id);
	assert_null(out.chain_id);
	assert_string_equal(out.scope, "");
	memset(h, 0x7f, sizeof h);
	assert_int_equal(f->s->ops->token_get(f->s, &f->a, h, &out, &e), ST_NOT_FOUND);

	/* atomic pair: a refresh that collides keeps the access token out too */
	{
		struct store_token acc2 =
		    mk_token(0x04, STORE_TOKEN_ACCESS, "t", "app1", NULL, "c", NOW + 60);
		assert_int_equal(f->s->ops->tokens_put(f->s, &acc2, &ref, &e), ST_CONFLICT);
		assert_int_equal(f->s->ops->token_get(f->s, &f->a, acc2.hash, &out, &e),
				 ST_NOT_FOUND);
		acc2.kind = 7;
		assert_int_equal(f->s->ops->tokens_put(f->s, &acc2, NULL, &e), ST_INVALID);
	}

	/* refresh_use: once, then conflict with the row reported */
	assert_int_equal(f->s->ops->refresh_use(f->s, &f->a, ref.hash, &out, &e), ST_OK);
	assert_true(out.used);
	assert_string_equal(out.chain_id, "chain1");
	memset(&out, 0, sizeof out);
	assert_int_equal(f->s->ops->refresh_use(f->s, &f->a, ref.hash, &out, &e), ST_CONFLICT);
	assert_true(out.used);
	assert_string_equal(out.subject, "alice");
	assert_string_equal(out.chain_id, "chain1");
	/* an access token is not a refresh token; unknown is unknown */
	assert_int_equal(f->s->ops->refresh_use(f->s, &f->a, acc.hash, &out, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->refresh_use(f->s, &f->a, h, &out, &e), ST_NOT_FOUND);
	assert_int_equal(f->s->ops->token_get(f->s, &f->a, acc.hash, &out, &e), ST_OK);
	assert_false(out.used);

	/* revoked and expired refresh tokens are reported, not refused */
	{
		struct store_token r2 =
		    mk_token(0x05, STORE_TOKEN_REFRESH, "t", "app1", NULL, "c5", NOW - 10);
		r2.revoked = true;
		assert_int_equal(f->s->ops->tokens_put(f->s, &r2, NULL, &e), ST_OK);
		assert_int_equal(f->s->ops->refresh_use(f->s, &f->a, r2.hash, &out, &e), ST_OK);
		assert_true(out.revoked);
		assert_int_equal(out.expires_at, NOW - 10);
	}

	/* single revoke */
	assert_int_equal(f->s->ops->token_revoke(f->s, acc.hash, &e), ST_OK);
	assert_true(token_revoked(f, 0x01));
	assert_false(token_revoked(f, 0x03));
	assert_int_equal(f->s->ops->token_revoke(f->s, h, &e), ST_NOT_FOUND);
}

static void token_bulk_revocation(void **state)
{
	struct fx *f = *state;
	struct store_token t[] = {
	    mk_token(0x10, STORE_TOKEN_ACCESS, "t", "appA", "idpA", "chainA", NOW + 60),
	    mk_token(0x11, STORE_TOKEN_REFRESH, "t", "appA", "idpA", "chainA", NOW + 60),
	    mk_token(0x12, STORE_TOKEN_ACCESS, "t", "appA", "idpB", "chainB", NOW + 60),
	    mk_token(0x13, STORE_TOKEN_ACCESS, "t", "appB", "idpB", "chainC", NOW + 60),
	    mk_token(0x14, STORE_TOKEN_ACCESS, "t", "appC", "idpC", "chainD", NOW + 60),
	};
	struct err e = {0};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(f->s->ops->tokens_put(f->s, &t[i], NULL, &e), ST_OK);

	assert_int_equal(f->s->ops->tokens_revoke_chain(f->s, "chainA", &e), ST_OK);
	assert_true(token_revoked(f, 0x10));
	assert_true(token_revoked(f, 0x11));
	assert_false(token_revoked(f, 0x12));
	assert_int_equal(f->s->ops->tokens_revoke_chain(f->s, "no-such-chain", &e), ST_OK);

	assert_int_equal(f->s->ops->tokens_revoke_by(f->s, "app_id", "appA", &e), ST_OK);
	assert_true(token_revoked(f, 0x12));
	assert_false(token_revoked(f, 0x13));

	assert_int_equal(f->s->ops->tokens_revoke_by(f->s, "idp_id", "idpB", &e), ST_OK);
	assert_true(token_revoked(f, 0x13));
	assert_false(token_revoked(f, 0x14));

	assert_int_equal(f->s->ops->tokens_revoke_by(f->s, "subject", "alice", &e), ST_INVALID);
	assert_int_equal(f->s->ops->tokens_revoke_by(f->s, "app_id; --", "x", &e), ST_INVALID);
	assert_false(token_revoked(f, 0x14));
}

/* ---- replay ---------------------------------------------------------------------- */

static void replay(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	const struct store_ops *o = f->s->ops;

	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-1", NOW + 100, NOW, &e), ST_OK);
	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-1", NOW + 100, NOW + 1, &e),
			 ST_CONFLICT);
	assert_true(has(&e, "replayed"));
	/* each part of the triple counts */
	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-2", NOW + 100, NOW, &e), ST_OK);
	assert_int_equal(o->replay_record(f->s, "t2", "iss", "jti-1", NOW + 100, NOW, &e), ST_OK);
	assert_int_equal(o->replay_record(f->s, "t1", "iss2", "jti-1", NOW + 100, NOW, &e), ST_OK);
	/* still live one second before expiry */
	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-1", NOW + 500, NOW + 99, &e),
			 ST_CONFLICT);
	/* expired (expires_at <= now): replaced, with the new expiry */
	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-1", NOW + 500, NOW + 100, &e),
			 ST_OK);
	assert_int_equal(o->replay_record(f->s, "t1", "iss", "jti-1", NOW + 900, NOW + 300, &e),
			 ST_CONFLICT);
	assert_int_equal(raw_int(f->path, "SELECT expires_at FROM replay WHERE tenant_id = 't1' "
					  "AND iss = 'iss' AND jti = 'jti-1'"),
			 NOW + 500);
	/* replay_seen only reads: live, expired, unknown */
	{
		bool seen = false;
		assert_int_equal(o->replay_seen(f->s, "t1", "iss", "jti-1", NOW + 499, &seen, &e),
				 ST_OK);
		assert_true(seen);
		assert_int_equal(o->replay_seen(f->s, "t1", "iss", "jti-1", NOW + 500, &seen, &e),
				 ST_OK);
		assert_false(seen);
		assert_int_equal(o->replay_seen(f->s, "t1", "iss", "jti-9", NOW, &seen, &e), ST_OK);
		assert_false(seen);
		assert_int_equal(
		    raw_int(f->path, "SELECT count(*) FROM replay WHERE jti = 'jti-9'"), 0);
	}
}

/* ---- signing keys -------------------------------------------------------------------- */

static struct store_signing_key mk_skey(const char *tenant_id, const char *kid, int64_t created)
{
	static unsigned char blob[] = {1, 2, 3, 0, 5};
	struct store_signing_key k = {.tenant_id = (char *)tenant_id,
				      .kid = (char *)kid,
				      .alg = "ES256",
				      .public_jwk = "{\"kty\":\"EC\"}",
				      .private_enc = blob,
				      .private_enc_len = sizeof blob,
				      .created_at = created};
	return k;
}

static void signing_keys(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	const struct store_ops *o = f->s->ops;
	char *t1 = mk_tenant(f, "sk1.example", NOW), *t2 = mk_tenant(f, "sk2.example", NOW);
	struct store_signing_key k, *items;
	size_t n;

	assert_int_equal(o->signing_keys_list(f->s, &f->a, t1, NOW, &items, &n, &e), ST_OK);
	assert_int_equal(n, 0);
	k = mk_skey(t1, "kid-1", NOW);
	assert_int_equal(o->signing_key_add(f->s, &k, false, 0, &e), ST_OK);
	/* a second first key loses: the tenant has one */
	k = mk_skey(t1, "kid-x", NOW);
	assert_int_equal(o->signing_key_add(f->s, &k, false, 0, &e), ST_CONFLICT);
	k = mk_skey("no-such-tenant", "kid-y", NOW);
	assert_int_equal(o->signing_key_add(f->s, &k, false, 0, &e), ST_NOT_FOUND);
	assert_int_equal(o->signing_keys_list(f->s, &f->a, t1, NOW, &items, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].kid, "kid-1");
	assert_int_equal(items[0].status, STORE_KEY_ACTIVE);
	assert_int_equal(items[0].private_enc_len, 5);
	assert_int_equal(items[0].private_enc[4], 5);
	/* rotation: the old key stays listed until publish_until */
	k = mk_skey(t1, "kid-2", NOW + 10);
	assert_int_equal(o->signing_key_add(f->s, &k, true, NOW + 100, &e), ST_OK);
	assert_int_equal(o->signing_keys_list(f->s, &f->a, t1, NOW + 99, &items, &n, &e), ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].kid, "kid-2");
	assert_int_equal(items[0].status, STORE_KEY_ACTIVE);
	assert_string_equal(items[1].kid, "kid-1");
	assert_int_equal(items[1].status, STORE_KEY_RETIRED);
	assert_int_equal(items[1].not_after_signing, NOW + 10);
	assert_int_equal(items[1].publish_until, NOW + 100);
	assert_int_equal(o->signing_keys_list(f->s, &f->a, t1, NOW + 100, &items, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	/* other tenants see none of it */
	assert_int_equal(o->signing_keys_list(f->s, &f->a, t2, NOW, &items, &n, &e), ST_OK);
	assert_int_equal(n, 0);
	/* the purge drops the retired key once past publish_until */
	assert_int_equal(o->purge_expired(f->s, NOW + 99, &e), ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM signing_keys"), 2);
	assert_int_equal(o->purge_expired(f->s, NOW + 100, &e), ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM signing_keys"), 1);
}

/* ---- audit ------------------------------------------------------------------------- */

static void audit_fields(void **state)
{
	struct fx *f = *state;
	char *t1 = mk_tenant(f, "audit1.example", 0);
	char *t2 = mk_tenant(f, "audit2.example", 0);
	struct store_idp a = mk_idp(f, t1, "a", "");
	struct store_idp b = mk_idp(f, t2, "b", "");
	struct store_audit au = mk_audit(t1, "create", "identity-provider");
	struct store_audit bu = mk_audit(t2, "create", "identity-provider");
	struct store_audit *items;
	struct err e = {0};
	int64_t before = time(NULL), total;
	size_t n;

	au.object_id = a.id;
	bu.object_id = b.id;
	bu.id = "fixed-audit-id";
	bu.at = 12345;
	assert_int_equal(f->s->ops->idp_create(f->s, &a, &au, &e), ST_OK);
	assert_int_equal(f->s->ops->idp_create(f->s, &b, &bu, &e), ST_OK);
	assert_int_equal(f->s->ops->audit_list(f->s, &f->a, t1, (struct store_page){10, 0}, &items,
					       &n, &total, &e),
			 ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(total, 1);
	assert_true(uuid_valid(sv_from(items[0].id)));
	assert_true(items[0].at >= before && items[0].at <= time(NULL));
	assert_string_equal(items[0].tenant_id, t1);
	assert_string_equal(items[0].actor, "admin");
	assert_string_equal(items[0].action, "create");
	assert_string_equal(items[0].object_type, "identity-provider");
	assert_string_equal(items[0].object_id, a.id);
	assert_string_equal(items[0].summary, "{\"k\":1}");
	/* every tenant, newest first */
	assert_int_equal(f->s->ops->audit_list(f->s, &f->a, NULL, (struct store_page){10, 0},
					       &items, &n, &total, &e),
			 ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(items[1].id, "fixed-audit-id");
	assert_int_equal(items[1].at, 12345);
	assert_string_equal(items[0].object_id, a.id);
	/* an audit event that cannot be written fails the change with it */
	{
		struct store_idp c = mk_idp(f, t2, "c", "");
		struct store_idp out;
		assert_int_equal(f->s->ops->idp_create(f->s, &c, &bu, &e), ST_CONFLICT);
		assert_int_equal(f->s->ops->idp_get(f->s, &f->a, t2, c.id, &out, &e), ST_NOT_FOUND);
	}
}

/* ---- purge ------------------------------------------------------------------------ */

static void purge_expired(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	char jti[32];

	/* more than one batch of each */
	for (int i = 0; i < 1203; i++) {
		snprintf(jti, sizeof jti, "old-%d", i);
		assert_int_equal(
		    f->s->ops->replay_record(f->s, "t", "iss", jti, NOW - i, NOW - 5000, &e),
		    ST_OK);
	}
	assert_int_equal(f->s->ops->replay_record(f->s, "t", "iss", "live", NOW + 1, NOW, &e),
			 ST_OK);
	for (int i = 0; i < 1101; i++) {
		struct store_token t =
		    mk_token(0, STORE_TOKEN_ACCESS, "t", "app", NULL, NULL, NOW - i);
		memcpy(t.hash, &i, sizeof i);
		assert_int_equal(f->s->ops->tokens_put(f->s, &t, NULL, &e), ST_OK);
	}
	{
		struct store_token live =
		    mk_token(0xee, STORE_TOKEN_REFRESH, "t", "app", NULL, NULL, NOW + 1);
		assert_int_equal(f->s->ops->tokens_put(f->s, &live, NULL, &e), ST_OK);
	}
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM replay"), 1204);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 1102);
	assert_int_equal(f->s->ops->purge_expired(f->s, NOW, &e), ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM replay"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 1);
	assert_true(!token_revoked(f, 0xee));
	/* the surviving record still blocks a replay */
	assert_int_equal(f->s->ops->replay_record(f->s, "t", "iss", "live", NOW + 9, NOW, &e),
			 ST_CONFLICT);
	assert_int_equal(f->s->ops->purge_expired(f->s, NOW + 1, &e), ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM replay"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 0);
}

/* ---- locking and concurrency --------------------------------------------------- */

static void busy_after_timeout(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	struct timespec t0, t1;
	sqlite3 *db;
	double waited;
	status st;
	int locked, released;

	f->cfg.database.busy_timeout = 1;
	reopen(f);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	/* Another writer holds the lock while the store tries to write. */
	locked = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = f->s->ops->replay_record(f->s, "t", "i", "j", NOW + 9, NOW, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	released = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(locked, SQLITE_OK);
	assert_int_equal(released, SQLITE_OK);
	assert_int_equal(st, ST_BUSY);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(waited >= 0.9);
	assert_true(has(&e, "busy"));
	/* the failed attempt left nothing behind and the store still works */
	assert_int_equal(f->s->ops->replay_record(f->s, "t", "i", "j", NOW + 9, NOW, &e), ST_OK);
}

struct worker {
	struct fx *f;
	pthread_barrier_t *bar;
	int round;
	const char *tenant_id;
	unsigned char hash[SHA256_LEN];
	status st;
};

static void *w_replay(void *p)
{
	struct worker *w = p;
	char jti[32];
	struct err e = {0};

	snprintf(jti, sizeof jti, "jti-%d", w->round);
	pthread_barrier_wait(w->bar);
	w->st = w->f->s->ops->replay_record(w->f->s, "t", "https://iss", jti, NOW + 60, NOW, &e);
	return NULL;
}

static void *w_idp(void *p)
{
	struct worker *w = p;
	char id[UUID_STR_LEN + 1];
	struct store_idp idp = {.id = id,
				.tenant_id = (char *)w->tenant_id,
				.name = "race",
				.issuer = "",
				.enabled = true,
				.doc = "{}"};
	struct err e = {0};

	/* No cmocka asserts off the main thread: report through w->st. */
	bool have_id = uuid_v4(id) == ST_OK;
	pthread_barrier_wait(w->bar);
	w->st = have_id ? w->f->s->ops->idp_create(w->f->s, &idp, NULL, &e) : ST_INTERNAL;
	return NULL;
}

static void *w_refresh(void *p)
{
	struct worker *w = p;
	struct arena a;
	struct store_token out;
	struct err e = {0};

	arena_init(&a, 0);
	pthread_barrier_wait(w->bar);
	w->st = w->f->s->ops->refresh_use(w->f->s, &a, w->hash, &out, &e);
	arena_free(&a);
	return NULL;
}

/* Starts NTHREADS copies of fn at once; counts OK and CONFLICT results. */
static void race(struct fx *f, void *(*fn)(void *), int round, const char *tenant_id,
		 const unsigned char *hash, int *ok, int *conflict)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t bar;

	*ok = *conflict = 0;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){
		    .f = f, .bar = &bar, .round = round, .tenant_id = tenant_id, .st = ST_INTERNAL};
		if (hash != NULL)
			memcpy(w[i].hash, hash, SHA256_LEN);
		assert_int_equal(pthread_create(&th[i], NULL, fn, &w[i]), 0);
	}
	/* Join every thread before any assertion can leave the test. */
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < NTHREADS; i++) {
		if (w[i].st == ST_OK)
			(*ok)++;
		else if (w[i].st == ST_CONFLICT)
			(*conflict)++;
		else
			fail_msg("thread %d: unexpected status %s", i, status_name(w[i].st));
	}
}

static void concurrent_replay(void **state)
{
	struct fx *f = *state;
	int ok, conflict;

	for (int round = 0; round < 10; round++) {
		race(f, w_replay, round, NULL, NULL, &ok, &conflict);
		assert_int_equal(ok, 1);
		assert_int_equal(conflict, NTHREADS - 1);
	}
}

static void concurrent_idp_create(void **state)
{
	struct fx *f = *state;
	char *tid = mk_tenant(f, "race.example", 0);
	struct store_idp *items;
	struct err e = {0};
	int64_t total;
	size_t n;
	int ok, conflict;

	race(f, w_idp, 0, tid, NULL, &ok, &conflict);
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, NTHREADS - 1);
	assert_int_equal(f->s->ops->idp_list(f->s, &f->a, tid, (struct store_page){10, 0}, &items,
					     &n, &total, &e),
			 ST_OK);
	assert_int_equal(total, 1);
}

static void concurrent_refresh_use(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	int ok, conflict;

	for (int round = 0; round < 5; round++) {
		struct store_token r = mk_token((unsigned char)(0x80 + round), STORE_TOKEN_REFRESH,
						"t", "app", NULL, "c", NOW + 60);
		assert_int_equal(f->s->ops->tokens_put(f->s, &r, NULL, &e), ST_OK);
		race(f, w_refresh, round, NULL, r.hash, &ok, &conflict);
		assert_int_equal(ok, 1);
		assert_int_equal(conflict, NTHREADS - 1);
	}
}

/* ---- one transaction per grant, group commit ------------------------------ */

static int64_t count_rows(struct fx *f, const char *sql)
{
	return raw_int(f->path, sql);
}

/* A grant transaction with every kind of write: two jti records, a refresh
 * token marked used, a new access and a new refresh token. */
struct full_tx {
	struct store_token at, rt;
	unsigned char used[SHA256_LEN];
	struct store_grant_tx tx;
};

static void full_tx_init(struct full_tx *x)
{
	x->at = mk_token(0x11, STORE_TOKEN_ACCESS, "t", "app", "idp", "c1", NOW + 3600);
	x->rt = mk_token(0x12, STORE_TOKEN_REFRESH, "t", "app", "idp", "c1", NOW + 86400);
	memset(x->used, 0x10, sizeof x->used);
	memset(&x->tx, 0, sizeof x->tx);
	x->tx.now = NOW;
	x->tx.replays[0] = (struct store_replay){"t", "https://client", "jti-a", NOW + 60};
	x->tx.replays[1] = (struct store_replay){"t", "https://idp", "jti-b", NOW + 60};
	x->tx.nreplays = 2;
	x->tx.refresh_use = x->used;
	x->tx.access = &x->at;
	x->tx.refresh = &x->rt;
}

/* The refresh token (0x10, chain c0) that full_tx marks used. */
static void put_old_refresh(struct fx *f)
{
	struct store_token old =
	    mk_token(0x10, STORE_TOKEN_REFRESH, "t", "app", "idp", "c0", NOW + 86400);
	struct err e = {0};

	assert_int_equal(f->s->ops->tokens_put(f->s, &old, NULL, &e), ST_OK);
}

/* The store as it was before any grant transaction: one unused refresh
 * token (0x10), no replay record. */
static void expect_untouched(struct fx *f)
{
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), 0);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 1);
	assert_int_equal(count_rows(f, "SELECT used FROM tokens"), 0);
}

/* A failure at any one write of a grant leaves the store as it was: no jti
 * used up, no refresh token burned, no token stored. The failures are real
 * ones, raised inside SQLite by a trigger, not simulated by the caller. */
static void grant_tx_all_or_nothing(void **state)
{
	static const char *const poison[] = {
	    /* the client assertion's jti record */
	    "CREATE TRIGGER inj BEFORE INSERT ON replay WHEN NEW.jti = 'jti-a' "
	    "BEGIN SELECT RAISE(ABORT, 'injected'); END",
	    /* the grant assertion's jti record */
	    "CREATE TRIGGER inj BEFORE INSERT ON replay WHEN NEW.jti = 'jti-b' "
	    "BEGIN SELECT RAISE(ABORT, 'injected'); END",
	    /* marking the refresh token used */
	    "CREATE TRIGGER inj BEFORE UPDATE OF used ON tokens "
	    "BEGIN SELECT RAISE(ABORT, 'injected'); END",
	    /* the access token */
	    "CREATE TRIGGER inj BEFORE INSERT ON tokens WHEN NEW.kind = 1 "
	    "BEGIN SELECT RAISE(ABORT, 'injected'); END",
	    /* the refresh token */
	    "CREATE TRIGGER inj BEFORE INSERT ON tokens WHEN NEW.kind = 2 "
	    "BEGIN SELECT RAISE(ABORT, 'injected'); END",
	};
	struct fx *f = *state;
	struct full_tx x;
	struct err e = {0};

	put_old_refresh(f);
	expect_untouched(f);
	for (size_t i = 0; i < sizeof poison / sizeof poison[0]; i++) {
		raw_exec(f->path, poison[i]);
		full_tx_init(&x);
		memset(&e, 0, sizeof e);
		assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_IO);
		assert_int_equal(x.tx.conflict, STORE_TX_NONE);
		raw_exec(f->path, "DROP TRIGGER inj");
		expect_untouched(f);
	}
	/* Without a failure everything lands at once. */
	full_tx_init(&x);
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_OK);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), 2);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 3);
	assert_int_equal(count_rows(f, "SELECT used FROM tokens WHERE chain_id = 'c0'"), 1);
}

/* Conflicts say which write conflicted, and also leave nothing behind. */
static void grant_tx_conflicts(void **state)
{
	struct fx *f = *state;
	struct full_tx x;
	struct err e = {0};

	put_old_refresh(f);
	/* jti-b already used (by an earlier grant): the second record. */
	assert_int_equal(
	    f->s->ops->replay_record(f->s, "t", "https://idp", "jti-b", NOW + 60, NOW, &e), ST_OK);
	full_tx_init(&x);
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_CONFLICT);
	assert_int_equal(x.tx.conflict, STORE_TX_REPLAY);
	assert_int_equal(x.tx.conflict_replay, 1);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), 1);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 1);
	assert_int_equal(count_rows(f, "SELECT used FROM tokens"), 0);
	/* An expired record is no conflict. */
	full_tx_init(&x);
	x.tx.now = NOW + 61;
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_OK);
	/* The refresh token is now used: using it again conflicts. */
	full_tx_init(&x);
	x.tx.nreplays = 0;
	x.at.hash[0] = 0x21;
	x.rt.hash[0] = 0x22;
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_CONFLICT);
	assert_int_equal(x.tx.conflict, STORE_TX_REFRESH_USE);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 3);
	/* Malformed: a replay record without a jti. */
	full_tx_init(&x);
	x.tx.replays[0].jti = NULL;
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_INVALID);
}

struct gc_worker {
	struct fx *f;
	char jti[32];
	unsigned char hb;
	status st;
};

static void *w_grant(void *p)
{
	struct gc_worker *w = p;
	struct store_token at =
	    mk_token(w->hb, STORE_TOKEN_ACCESS, "t", "app", "idp", "c", NOW + 3600);
	struct store_grant_tx tx = {.now = NOW, .nreplays = 1, .access = &at};
	struct err e = {0};

	tx.replays[0] = (struct store_replay){"t", "https://idp", w->jti, NOW + 60};
	w->st = w->f->s->ops->grant_commit(w->f->s, &tx, &e);
	return NULL;
}

/* Holds SQLite's write lock from another connection, so the writer stalls
 * on its first job and the others queue up behind it; waits until they
 * have, then lets go. */
static void hold_lock_until_pending(struct fx *f, sqlite3 *raw, uint64_t want)
{
	struct store_stats st;

	for (;;) {
		f->s->ops->stats(f->s, &st);
		if (st.pending >= want)
			break;
		sched_yield();
	}
	assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

/* Concurrent grants share commits; a job that fails inside a batch fails
 * alone; a jti used earlier in the same uncommitted batch is a replay. */
static void group_commit_batches(void **state)
{
	enum { N = 12 };
	struct fx *f = *state;
	struct gc_worker w[N];
	pthread_t th[N];
	struct store_stats before, after;
	sqlite3 *raw = NULL;
	int ok = 0, conflict = 0;

	raw_exec(f->path, "CREATE TRIGGER inj BEFORE INSERT ON replay WHEN NEW.jti = 'poison' "
			  "BEGIN SELECT RAISE(ABORT, 'injected'); END");
	f->s->ops->stats(f->s, &before);
	assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < N; i++) {
		w[i].f = f;
		w[i].hb = (unsigned char)(0x40 + i);
		/* Three share a jti, one is poisoned, the rest are distinct. */
		if (i < 3)
			snprintf(w[i].jti, sizeof w[i].jti, "same");
		else if (i == 5)
			snprintf(w[i].jti, sizeof w[i].jti, "poison");
		else
			snprintf(w[i].jti, sizeof w[i].jti, "jti-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, w_grant, &w[i]), 0);
	}
	/* The writer is stalled on its first batch (whatever was queued when it
	 * woke); the rest wait in the queue for the next one. */
	hold_lock_until_pending(f, raw, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	sqlite3_close(raw);
	for (int i = 0; i < N; i++) {
		if (i == 5) {
			assert_int_equal(w[i].st, ST_IO);
			continue;
		}
		if (i < 3) {
			ok += w[i].st == ST_OK;
			conflict += w[i].st == ST_CONFLICT;
			continue;
		}
		assert_int_equal(w[i].st, ST_OK);
	}
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, 2);
	f->s->ops->stats(f->s, &after);
	assert_int_equal(after.writes - before.writes, N);
	/* The stalled first batch, then everyone else in one commit (or all
	 * of them in the first if they were queued before the writer woke). */
	assert_in_range(after.commits - before.commits, 1, 2);
	assert_int_equal(after.pending, 0);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), N - 3);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), N - 3);
}

/* grant_submit: what its `done` saw. Written on the writer thread. */
struct submitted {
	const char *path;
	const char *jti; /* counted in a separate connection when done */
	int calls;       /* atomic */
	status st;
	int64_t rows; /* replay rows with `jti` visible to another connection; -1 = error */
};

/* The rows of `jti` as another connection sees them: committed ones only.
 * No cmocka asserts here (this runs on the writer thread). */
static int64_t rows_visible(const char *path, const char *jti)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM replay WHERE jti = ?1", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void on_submitted(void *arg, status st)
{
	struct submitted *d = arg;

	d->st = st;
	d->rows = rows_visible(d->path, d->jti);
	__atomic_add_fetch(&d->calls, 1, __ATOMIC_RELEASE);
}

static void wait_calls(struct submitted *d, int want)
{
	for (int i = 0; i < 20000 && __atomic_load_n(&d->calls, __ATOMIC_ACQUIRE) < want; i++)
		usleep(500);
	assert_int_equal(__atomic_load_n(&d->calls, __ATOMIC_ACQUIRE), want);
}

/* grant_submit returns before the commit; `done` is called once, after the
 * rows are committed (visible to another connection), or with the
 * conflict; a malformed transaction is refused and never calls `done`. */
static void grant_submit_async(void **state)
{
	struct fx *f = *state;
	struct full_tx a, b, bad;
	struct submitted da = {f->path, "jti-b", 0, ST_OK, 0}, db = da, dbad = da;
	struct err ea = {0}, eb = {0}, ebad = {0};
	struct store_stats st;
	sqlite3 *raw = NULL;

	put_old_refresh(f);
	/* The writer stalls behind another connection's write lock. */
	assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	full_tx_init(&a);
	/* b: the same grant assertion (jti-b) with new tokens, no refresh use. */
	full_tx_init(&b);
	b.tx.replays[0] = b.tx.replays[1];
	b.tx.nreplays = 1;
	b.tx.refresh_use = NULL;
	b.at.hash[0] = 0x31;
	b.rt.hash[0] = 0x32;
	assert_int_equal(f->s->ops->grant_submit(f->s, &a.tx, on_submitted, &da, &ea), ST_OK);
	assert_int_equal(f->s->ops->grant_submit(f->s, &b.tx, on_submitted, &db, &eb), ST_OK);
	full_tx_init(&bad);
	bad.tx.replays[1].iss = NULL;
	assert_int_equal(f->s->ops->grant_submit(f->s, &bad.tx, on_submitted, &dbad, &ebad),
			 ST_INVALID);
	/* Both queued (or the first one stalled in the writer), none done. */
	usleep(20000);
	assert_int_equal(__atomic_load_n(&da.calls, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(__atomic_load_n(&db.calls, __ATOMIC_ACQUIRE), 0);
	hold_lock_until_pending(f, raw, 2);
	sqlite3_close(raw);
	wait_calls(&da, 1);
	wait_calls(&db, 1);
	assert_int_equal(da.st, ST_OK);
	assert_int_equal(da.rows, 1); /* committed when done was called */
	assert_int_equal(a.tx.conflict, STORE_TX_NONE);
	assert_int_equal(db.st, ST_CONFLICT);
	assert_int_equal(b.tx.conflict, STORE_TX_REPLAY);
	assert_int_equal(b.tx.conflict_replay, 0);
	assert_int_equal(eb.st, ST_CONFLICT);
	/* Counted as pending until every `done` of the batch has returned. */
	for (int i = 0; i < 20000; i++) {
		f->s->ops->stats(f->s, &st);
		if (st.pending == 0)
			break;
		usleep(500);
	}
	assert_int_equal(st.pending, 0);
	/* Exactly once: nothing more arrives. */
	usleep(20000);
	assert_int_equal(__atomic_load_n(&da.calls, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(__atomic_load_n(&db.calls, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(__atomic_load_n(&dbad.calls, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 3);
	assert_int_equal(count_rows(f, "SELECT used FROM tokens WHERE chain_id = 'c0'"), 1);
}

/* ---- PostgreSQL only ------------------------------------------------------ */

#define PG_SKIP_UNLESS_CONFIGURED()                                                                \
	do {                                                                                       \
		if (g_pg_admin == NULL)                                                            \
			skip();                                                                    \
	} while (0)

/* Every shared test again, on PostgreSQL. */
#define PG_VARIANT(name)                                                                           \
	static void pg_##name(void **state)                                                        \
	{                                                                                          \
		PG_SKIP_UNLESS_CONFIGURED();                                                       \
		name(state);                                                                       \
	}
PG_VARIANT(reopen_keeps_data_and_applies_nothing)
PG_VARIANT(newer_schema_refused)
PG_VARIANT(tenants)
PG_VARIANT(list_page_clamp)
PG_VARIANT(admins)
PG_VARIANT(idps)
PG_VARIANT(idp_disable_and_delete_revoke_tokens)
PG_VARIANT(apps)
PG_VARIANT(tokens)
PG_VARIANT(token_bulk_revocation)
PG_VARIANT(replay)
PG_VARIANT(signing_keys)
PG_VARIANT(audit_fields)
PG_VARIANT(purge_expired)
PG_VARIANT(concurrent_replay)
PG_VARIANT(concurrent_idp_create)
PG_VARIANT(concurrent_refresh_use)
PG_VARIANT(grant_tx_conflicts)

/* Several stores starting at once on a new database: the advisory lock
 * lets one migrate while the others wait and then find the schema done. */
static void pg_concurrent_open_migrates_once(void **state)
{
	struct fx *f = *state;
	struct race r[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t bar;
	int applied = 0;

	PG_SKIP_UNLESS_CONFIGURED();
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		r[i] = (struct race){&f->cfg, &bar, ST_INTERNAL, 0, {0}};
		assert_int_equal(pthread_create(&th[i], NULL, race_open, &r[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < NTHREADS; i++) {
		if (r[i].st != ST_OK)
			fail_msg("open %d: %s: %s", i, status_name(r[i].st), r[i].e.msg);
		applied += r[i].applied;
	}
	assert_int_equal(applied, store_schema_version());
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_schema_version());
}

/* A failure raised by the server at each write of a grant leaves the
 * database unchanged (SQLite's grant_tx_all_or_nothing, with PL/pgSQL
 * triggers). */
static void pg_grant_tx_all_or_nothing(void **state)
{
	static const char *const poison[][2] = {
	    {"CREATE TRIGGER inj BEFORE INSERT ON replay FOR EACH ROW WHEN (NEW.jti = 'jti-a') "
	     "EXECUTE FUNCTION inj()",
	     "DROP TRIGGER inj ON replay"},
	    {"CREATE TRIGGER inj BEFORE INSERT ON replay FOR EACH ROW WHEN (NEW.jti = 'jti-b') "
	     "EXECUTE FUNCTION inj()",
	     "DROP TRIGGER inj ON replay"},
	    {"CREATE TRIGGER inj BEFORE UPDATE OF used ON tokens FOR EACH ROW "
	     "EXECUTE FUNCTION inj()",
	     "DROP TRIGGER inj ON tokens"},
	    {"CREATE TRIGGER inj BEFORE INSERT ON tokens FOR EACH ROW WHEN (NEW.kind = 1) "
	     "EXECUTE FUNCTION inj()",
	     "DROP TRIGGER inj ON tokens"},
	    {"CREATE TRIGGER inj BEFORE INSERT ON tokens FOR EACH ROW WHEN (NEW.kind = 2) "
	     "EXECUTE FUNCTION inj()",
	     "DROP TRIGGER inj ON tokens"},
	};
	struct fx *f = *state;
	struct full_tx x;
	struct err e = {0};

	PG_SKIP_UNLESS_CONFIGURED();
	raw_exec(f->path, "CREATE FUNCTION inj() RETURNS trigger LANGUAGE plpgsql AS "
			  "$$BEGIN RAISE EXCEPTION 'injected'; END$$");
	put_old_refresh(f);
	expect_untouched(f);
	for (size_t i = 0; i < sizeof poison / sizeof poison[0]; i++) {
		raw_exec(f->path, poison[i][0]);
		full_tx_init(&x);
		memset(&e, 0, sizeof e);
		assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_IO);
		assert_int_equal(x.tx.conflict, STORE_TX_NONE);
		raw_exec(f->path, poison[i][1]);
		expect_untouched(f);
	}
	full_tx_init(&x);
	assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_OK);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), 2);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 3);
	assert_int_equal(count_rows(f, "SELECT used FROM tokens WHERE chain_id = 'c0'"), 1);
}

/* Waits, with a deadline, for a count to reach a value: no sleeps. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n, ok, conflict, replay_conflicts;
	/* watch */
	int tenant_seen, idp_seen, all_seen;
	char want_domain[64], want_idp[UUID_STR_LEN + 1];
};

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

static bool waiter_wait(struct waiter *w, int *field, int want, int ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (*field < want)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break;
	ok = *field >= want;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

struct grant_job {
	struct waiter *w;
	struct store_token at;
	struct store_grant_tx tx;
	struct err e;
};

static void on_grant_done(void *arg, status st)
{
	struct grant_job *j = arg;
	struct waiter *w = j->w;

	pthread_mutex_lock(&w->mu);
	w->n++;
	if (st == ST_OK)
		w->ok++;
	else if (st == ST_CONFLICT)
		w->conflict++;
	if (st == ST_CONFLICT && j->tx.conflict == STORE_TX_REPLAY && j->tx.conflict_replay == 0)
		w->replay_conflicts++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* wal_restarts_under_steady_load: what the writer's `done` calls saw.
 * Touched on the writer thread only, read after `n` reaches the total. */
struct wal_watch {
	struct store *s;
	struct waiter w; /* w.n: jobs answered */
	int failed, restarts;
	int64_t last, max;
};

static void on_wal_job(void *arg, status st)
{
	struct wal_watch *w = arg;
	struct store_stats ss;

	w->s->ops->stats(w->s, &ss);
	if (ss.wal_frames < w->last)
		w->restarts++; /* the WAL was written from its start again */
	w->last = ss.wal_frames;
	if (ss.wal_frames > w->max)
		w->max = ss.wal_frames;
	w->failed += st != ST_OK;
	pthread_mutex_lock(&w->w.mu);
	w->w.n++;
	pthread_cond_broadcast(&w->w.cv);
	pthread_mutex_unlock(&w->w.mu);
}

/* Under load that never lets the writer idle, the WAL still restarts from
 * its beginning again and again (docs/operations.md, "The write path"): a
 * checkpointer that only copied frames beside the writer never caught up,
 * and the WAL grew without bound. The jobs are queued behind another
 * connection's write lock, so the writer finds a full queue after every
 * commit; a 10 KB scope makes ~2.6 WAL frames per job. */
static void wal_restarts_under_steady_load(void **state)
{
	enum { N = 8000, SCOPE = 10000 };
	struct fx *f = *state;
	struct grant_job *jobs = calloc(N, sizeof *jobs);
	char *scope = malloc(SCOPE + 1);
	struct wal_watch w = {.s = f->s};
	sqlite3 *raw = NULL;
	struct store_stats st;

	assert_non_null(jobs);
	assert_non_null(scope);
	waiter_init(&w.w);
	memset(scope, 'x', SCOPE);
	scope[SCOPE] = '\0';
	assert_int_equal(sqlite3_open_v2(f->path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < N; i++) {
		jobs[i].at =
		    mk_token(0x40, STORE_TOKEN_ACCESS, "t", "app", "idp", NULL, NOW + 3600);
		memcpy(jobs[i].at.hash, &i, sizeof i);
		jobs[i].at.scope = scope;
		jobs[i].tx.now = NOW;
		jobs[i].tx.access = &jobs[i].at;
		assert_int_equal(
		    f->s->ops->grant_submit(f->s, &jobs[i].tx, on_wal_job, &w, &jobs[i].e), ST_OK);
	}
	hold_lock_until_pending(f, raw, N);
	sqlite3_close(raw);
	assert_true(waiter_wait(&w.w, &w.w.n, N, 60000));
	assert_int_equal(w.failed, 0);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), N);
	f->s->ops->stats(f->s, &st);
	print_message("WAL: %d restarts, at most %lld frames, %llu commits\n", w.restarts,
		      (long long)w.max, (unsigned long long)st.commits);
	/* ~22,000 frames written in all: several cycles of 2,000 frames (a
	 * checkpointer that never catches up: no restart, 22,130 frames). */
	assert_true(w.restarts >= 2);
	assert_true(w.max < 10000);
	free(scope);
	free(jobs);
}

/* Submits every job at once, then waits (10 s at most) until each has
 * been answered. */
static void submit_all(struct fx *f, struct grant_job *jobs, int n, struct waiter *w)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(
		    f->s->ops->grant_submit(f->s, &jobs[i].tx, on_grant_done, &jobs[i], &jobs[i].e),
		    ST_OK);
	assert_true(waiter_wait(w, &w->n, n, 10000));
}

/* N grants with the same jti, submitted at once (several on each pool
 * connection and worker): exactly one commits, the others conflict on the
 * replay record, and only one record and one token land. */
static void pg_concurrent_grant_replay(void **state)
{
	enum { N = 32 };
	struct fx *f = *state;
	struct grant_job *jobs;
	unsigned char old_hash[SHA256_LEN];
	struct waiter w;
	struct store_stats st;

	PG_SKIP_UNLESS_CONFIGURED();
	jobs = calloc(N, sizeof *jobs); /* after the skip, which returns early */
	assert_non_null(jobs);
	memset(old_hash, 0x10, sizeof old_hash); /* put_old_refresh's token */
	waiter_init(&w);
	for (int i = 0; i < N; i++) {
		jobs[i].w = &w;
		jobs[i].at = mk_token((unsigned char)(0x40 + i), STORE_TOKEN_ACCESS, "t", "app",
				      "idp", NULL, NOW + 3600);
		jobs[i].tx.now = NOW;
		jobs[i].tx.replays[0] = (struct store_replay){"t", "https://idp", "same", NOW + 60};
		jobs[i].tx.nreplays = 1;
		jobs[i].tx.access = &jobs[i].at;
	}
	submit_all(f, jobs, N, &w);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.conflict, N - 1);
	assert_int_equal(w.replay_conflicts, N - 1);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM replay"), 1);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 1);
	/* The same with one refresh token used by N grants at once. */
	put_old_refresh(f);
	waiter_init(&w);
	for (int i = 0; i < N; i++) {
		jobs[i].w = &w;
		jobs[i].at.hash[1] = 0x99;
		jobs[i].tx.nreplays = 0;
		jobs[i].tx.refresh_use = old_hash;
		jobs[i].tx.conflict = STORE_TX_NONE;
	}
	submit_all(f, jobs, N, &w);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.conflict, N - 1);
	for (int i = 0; i < N; i++)
		if (jobs[i].tx.conflict != STORE_TX_NONE)
			assert_int_equal(jobs[i].tx.conflict, STORE_TX_REFRESH_USE);
	assert_int_equal(count_rows(f, "SELECT count(*) FROM tokens"), 3);
	f->s->ops->stats(f->s, &st);
	assert_int_equal(st.pending, 0);
	assert_true(st.writes >= N);
	assert_true(st.commits >= 1);
	free(jobs);
}

static void on_change(void *arg, const struct store_change *ch)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	if (ch->kind == STORE_CHANGE_TENANT && ch->id != NULL &&
	    strcmp(ch->id, w->want_domain) == 0)
		w->tenant_seen++;
	if (ch->kind == STORE_CHANGE_IDP && ch->id != NULL && strcmp(ch->id, w->want_idp) == 0)
		w->idp_seen++;
	if (ch->kind == STORE_CHANGE_ALL)
		w->all_seen++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* A change committed through another store handle (another node) reaches
 * the watcher within a second; a lost listener connection is followed by
 * STORE_CHANGE_ALL. */
static void pg_watch_delivers_changes(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;
	struct store_tenant t = {0};
	struct store_idp idp;
	struct waiter w;
	struct err e = {0};
	char sql[256];

	PG_SKIP_UNLESS_CONFIGURED();
	waiter_init(&w);
	snprintf(w.want_domain, sizeof w.want_domain, "watched.example");
	assert_int_equal(f->s->ops->watch(f->s, on_change, &w, &e), ST_OK);
	assert_int_equal(store_open(&f->cfg, &s2, &e), ST_OK);
	t.id = new_id(f);
	t.domain = "Watched.Example";
	t.active = true;
	assert_int_equal(s2->ops->tenant_create(s2, &t, NULL, NULL, &e), ST_OK);
	assert_true(waiter_wait(&w, &w.tenant_seen, 1, 1000));
	idp = mk_idp(f, t.id, "watched", "");
	snprintf(w.want_idp, sizeof w.want_idp, "%s", idp.id);
	assert_int_equal(s2->ops->idp_create(s2, &idp, NULL, &e), ST_OK);
	assert_true(waiter_wait(&w, &w.idp_seen, 1, 1000));
	/* The listener's connection killed: it reconnects and says ALL. */
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE datname = '%s' AND query LIKE 'LISTEN%%'",
		 f->dbname);
	pg_raw_int(g_pg_admin, sql);
	assert_true(waiter_wait(&w, &w.all_seen, 1, 5000));
	store_close(s2);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The database refuses connections: calls fail with ST_UNAVAILABLE at
 * once (ping with ST_IO), later ones without even trying while the backoff
 * lasts; once it accepts them again the store recovers by itself. */
static void pg_unavailable_then_back(void **state)
{
	struct fx *f = *state;
	struct store_tenant t;
	struct err e = {0};
	char sql[256];
	int64_t t0;
	status st = ST_INTERNAL;

	PG_SKIP_UNLESS_CONFIGURED();
	mk_tenant(f, "kept.example", NOW);
	snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS false", f->dbname);
	pg_raw_exec(g_pg_admin, sql);
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE datname = '%s'",
		 f->dbname);
	pg_raw_int(g_pg_admin, sql);
	t0 = mono_ms();
	assert_int_equal(f->s->ops->tenant_get_by_domain(f->s, &f->a, "kept.example", &t, &e),
			 ST_UNAVAILABLE);
	assert_true(has(&e, "database unavailable"));
	assert_null(strstr(e.msg, "ybq")); /* no password, whatever the URL */
	memset(&e, 0, sizeof e);
	assert_int_equal(f->s->ops->ping(f->s, &e), ST_IO);
	assert_int_equal(f->s->ops->tenant_set_active(f->s, "x", false, NULL, &e), ST_UNAVAILABLE);
	assert_true(mono_ms() - t0 < 3000);
	snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS true", f->dbname);
	pg_raw_exec(g_pg_admin, sql);
	/* The backoff is at most 5 s: poll a bounded while for recovery. */
	for (t0 = mono_ms(); mono_ms() - t0 < 8000; usleep(20000)) {
		st = f->s->ops->tenant_get_by_domain(f->s, &f->a, "kept.example", &t, &e);
		if (st != ST_UNAVAILABLE)
			break;
	}
	assert_int_equal(st, ST_OK);
	assert_int_equal(f->s->ops->ping(f->s, &e), ST_OK);
}

/* ping answers; connections killed by the server are replaced: a read and
 * a write after that succeed on fresh connections. */
static void pg_ping_and_reconnect(void **state)
{
	struct fx *f = *state;
	struct store_tenant t;
	struct err e = {0};
	char sql[256];

	PG_SKIP_UNLESS_CONFIGURED();
	assert_int_equal(f->s->ops->ping(f->s, &e), ST_OK);
	mk_tenant(f, "before.example", NOW);
	snprintf(sql, sizeof sql,
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE datname = '%s' AND pid <> pg_backend_pid()",
		 f->dbname);
	assert_true(pg_raw_int(g_pg_admin, sql) >= 1);
	assert_int_equal(f->s->ops->tenant_get_by_domain(f->s, &f->a, "before.example", &t, &e),
			 ST_OK);
	pg_raw_int(g_pg_admin, sql);
	mk_tenant(f, "after.example", NOW);
	/* A grant (never retried: it may have committed) on a pool whose
	 * connections the server closed while they were idle: found closed
	 * when taken. pg_terminate_backend waits (5 s at most) until they are
	 * gone. */
	{
		struct full_tx x;

		put_old_refresh(f);
		snprintf(sql, sizeof sql,
			 "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
			 "WHERE datname = '%s' AND pid <> pg_backend_pid()",
			 f->dbname);
		pg_raw_int(g_pg_admin, sql);
		full_tx_init(&x);
		assert_int_equal(f->s->ops->grant_commit(f->s, &x.tx, &e), ST_OK);
	}
	assert_int_equal(f->s->ops->ping(f->s, &e), ST_OK);
}

/* An unreachable server: open fails with ST_UNAVAILABLE, in bounded time,
 * and the message does not carry the password. A malformed URL is
 * ST_INVALID. */
static void pg_unreachable(void **state)
{
	struct fx *f = *state;
	struct config cfg = f->cfg;
	struct store *s = NULL;
	struct err e = {0};
	int64_t t0;

	cfg.database.type = "postgres";
	cfg.database.url = "postgresql://grantd:Sekr1tPw@127.0.0.1:1/grantd";
	cfg.database.connect_timeout = 2;
	t0 = mono_ms();
	assert_int_equal(store_open(&cfg, &s, &e), ST_UNAVAILABLE);
	assert_true(mono_ms() - t0 < 5000);
	assert_null(s);
	assert_null(strstr(e.msg, "Sekr1tPw"));
	assert_true(has(&e, "database unavailable"));
	assert_true(has(&e, "grantd:****@127.0.0.1:1"));
	cfg.database.url = "host=127.0.0.1 port='1";
	assert_int_equal(store_open(&cfg, &s, &e), ST_INVALID);
	assert_null(strstr(e.msg, "Sekr1tPw"));
}

static void url_mask(void **state)
{
	static const char *const cases[][2] = {
	    {"postgresql://u:pw@h:5432/db", "postgresql://u:****@h:5432/db"},
	    {"postgres://u@h/db", "postgres://u@h/db"},
	    {"postgresql://h/db?user=u&password=pw&sslmode=require",
	     "postgresql://h/db?user=u&password=****&sslmode=require"},
	    {"postgresql://u:p%40w@h/db", "postgresql://u:****@h/db"},
	    {"host=h user=u password=pw dbname=d", "host=h user=u password=**** dbname=d"},
	    {"host=h password = 'p w\\'x' dbname=d", "host=h password = **** dbname=d"},
	    {"host=h password='unterminated", "(unparsable connection string)"},
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		store_pg_url_mask(cases[i][0], out, sizeof out);
		assert_string_equal(out, cases[i][1]);
	}
	store_pg_url_mask("postgresql://u:pw@h/db", out, 12);
	assert_int_equal(strlen(out), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(open_creates_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_default_path_in_data_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_missing_dir_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_other_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(reopen_keeps_data_and_applies_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_open_migrates_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(tenants, setup, teardown),
	    cmocka_unit_test_setup_teardown(list_page_clamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(admins, setup, teardown),
	    cmocka_unit_test_setup_teardown(idps, setup, teardown),
	    cmocka_unit_test_setup_teardown(idp_disable_and_delete_revoke_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(apps, setup, teardown),
	    cmocka_unit_test_setup_teardown(tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(token_bulk_revocation, setup, teardown),
	    cmocka_unit_test_setup_teardown(replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(signing_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(audit_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(purge_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(busy_after_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_idp_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_refresh_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(grant_tx_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(grant_tx_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(group_commit_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(grant_submit_async, setup, teardown),
	    cmocka_unit_test_setup_teardown(wal_restarts_under_steady_load, setup, teardown),
	    cmocka_unit_test(url_mask),
#define PG(name) cmocka_unit_test_setup_teardown(pg_##name, setup_pg, teardown_pg)
	    PG(reopen_keeps_data_and_applies_nothing),
	    PG(newer_schema_refused),
	    PG(tenants),
	    PG(list_page_clamp),
	    PG(admins),
	    PG(idps),
	    PG(idp_disable_and_delete_revoke_tokens),
	    PG(apps),
	    PG(tokens),
	    PG(token_bulk_revocation),
	    PG(replay),
	    PG(signing_keys),
	    PG(audit_fields),
	    PG(purge_expired),
	    PG(concurrent_replay),
	    PG(concurrent_idp_create),
	    PG(concurrent_refresh_use),
	    PG(grant_tx_conflicts),
	    PG(grant_tx_all_or_nothing),
	    PG(concurrent_grant_replay),
	    PG(watch_delivers_changes),
	    PG(ping_and_reconnect),
	    PG(unavailable_then_back),
	    cmocka_unit_test_setup_teardown(pg_concurrent_open_migrates_once, setup_pg_empty,
					    teardown_pg),
	    cmocka_unit_test_setup_teardown(pg_unreachable, setup, teardown),
#undef PG
	};
	const char *url = getenv("GRANTD_TEST_PG_URL");

	g_pg_admin = url != NULL && url[0] != '\0' ? url : NULL;
	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
