/* copy.c - moving a data set from SQLite to PostgreSQL (grantd migrate;
 * docs/operations.md, "Moving from SQLite to PostgreSQL").
 *
 * Both backends use the same tables and column names (store_pg.c), so the
 * copy is generic: for each table, in an order that satisfies the foreign
 * keys, every row of the SQLite table is inserted into the PostgreSQL table
 * with the columns both have. The source is read in one read transaction (a
 * consistent snapshot); the target is written in one transaction, so a copy
 * that fails leaves the target as empty as it was. Values travel as bound
 * parameters (integers and text as text, blobs in binary); the only SQL text
 * built here holds table and column names read from the two schemas,
 * quoted with PQescapeIdentifier. Inserts are pipelined, a batch of rows per
 * round trip. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "lib/str.h"
#include "store/store.h"
#include "store/store_impl.h"

/* Parents before children. */
static const char *const tables[STORE_COPY_TABLES] = {
    "tenants", "admin_users", "identity_providers", "applications", "signing_keys",
    "tokens",  "replay",      "audit_events",
};

#define COPY_BATCH 256 /* rows per pipeline round trip */
#define COPY_COLS  32  /* more columns than any table has */

struct copy {
	sqlite3 *src;
	PGconn *dst;
	struct err *e;
};

static status pg_fail(struct copy *c, const char *what, const PGresult *r)
{
	const char *msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->dst);
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return err_set(c->e, ST_IO, "PostgreSQL: %s: %.*s", what, (int)n, msg);
}

static status sq_fail(struct copy *c, const char *what)
{
	return err_set(c->e, ST_IO, "SQLite: %s: %s", what, sqlite3_errmsg(c->src));
}

/* Runs a statement without parameters that returns no rows (or ignores them). */
static status pg_exec(struct copy *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c->dst, sql);
	ExecStatusType t = PQresultStatus(r);
	status st = ST_OK;

	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
		st = pg_fail(c, what, r);
	PQclear(r);
	return st;
}

/* The target table's columns, as a NUL-separated list in `out`. */
static status dst_columns(struct copy *c, const char *table, struct buf *out, size_t *n)
{
	const char *params[1] = {table};
	PGresult *r = PQexecParams(c->dst,
				   "SELECT column_name FROM information_schema.columns "
				   "WHERE table_schema = current_schema() AND table_name = $1",
				   1, NULL, params, NULL, NULL, 0);
	status st = ST_OK;

	*n = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		st = pg_fail(c, "reading the target schema", r);
	} else if (PQntuples(r) == 0) {
		st =
		    err_set(c->e, ST_INVALID,
			    "the target database has no table %s (is its schema grantd's?)", table);
	} else {
		for (int i = 0; i < PQntuples(r) && st == ST_OK; i++) {
			const char *v = PQgetvalue(r, i, 0);
			st = buf_append(out, v, strlen(v) + 1);
		}
		*n = (size_t)PQntuples(r);
	}
	PQclear(r);
	return st;
}

static bool in_list(const struct buf *list, size_t n, const char *name)
{
	const char *p = list->p;

	for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
		if (strcmp(p, name) == 0)
			return true;
	return false;
}

/* Appends the quoted identifier. */
static status append_ident(struct copy *c, struct buf *b, const char *name)
{
	char *q = PQescapeIdentifier(c->dst, name, strlen(name));
	status st;

	if (q == NULL)
		return pg_fail(c, "quoting a name", NULL);
	st = buf_printf(b, "%s", q);
	PQfreemem(q);
	return st;
}

/* Reads every result of one pipeline batch up to its sync point. */
static status drain(struct copy *c, const char *table)
{
	status st = ST_OK;

	for (;;) {
		PGresult *r = PQgetResult(c->dst);
		ExecStatusType t;

		if (r == NULL) {
			if (PQstatus(c->dst) == CONNECTION_BAD)
				return pg_fail(c, "the connection was lost", NULL);
			continue; /* the end of one query's results */
		}
		t = PQresultStatus(r);
		if (t == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return st;
		}
		if (t != PGRES_COMMAND_OK && st == ST_OK) {
			char what[96];
			snprintf(what, sizeof what, "copying %s", table);
			st = pg_fail(c, what, r);
		}
		PQclear(r);
	}
}

/* Binds row `st` of the source and sends one pipelined insert. */
static status send_row(struct copy *c, sqlite3_stmt *row, const int *src_idx, int ncols,
		       struct buf *scratch)
{
	const char *values[COPY_COLS];
	int lengths[COPY_COLS], formats[COPY_COLS];
	size_t offs[COPY_COLS];
	status st = ST_OK;

	scratch->n = 0;
	/* First lay every integer out as text in `scratch` (it may move while
	 * it grows), then point at the pieces. */
	for (int i = 0; i < ncols && st == ST_OK; i++) {
		offs[i] = SIZE_MAX;
		if (sqlite3_column_type(row, src_idx[i]) == SQLITE_INTEGER) {
			offs[i] = scratch->n;
			st = buf_printf(scratch, "%" PRId64,
					(int64_t)sqlite3_column_int64(row, src_idx[i]));
			if (st == ST_OK)
				st = buf_append(scratch, "", 1);
		}
	}
	if (st != ST_OK)
		return err_set(c->e, st, "out of memory");
	for (int i = 0; i < ncols; i++) {
		int k = src_idx[i];

		formats[i] = 0;
		lengths[i] = 0;
		switch (sqlite3_column_type(row, k)) {
		case SQLITE_NULL: values[i] = NULL; break;
		case SQLITE_INTEGER: values[i] = scratch->p + offs[i]; break;
		case SQLITE_BLOB:
			values[i] = sqlite3_column_blob(row, k);
			lengths[i] = sqlite3_column_bytes(row, k);
			formats[i] = 1;
			if (values[i] == NULL)
				values[i] = ""; /* an empty blob */
			break;
		default: /* text (grantd stores no floats) */
			values[i] = (const char *)sqlite3_column_text(row, k);
			if (values[i] == NULL)
				return sq_fail(c, "reading a row");
			break;
		}
	}
	if (!PQsendQueryPrepared(c->dst, "copy_row", ncols, values, lengths, formats, 0))
		return pg_fail(c, "sending a row", NULL);
	return ST_OK;
}

static status copy_table(struct copy *c, const char *table, int64_t *rows)
{
	struct buf dcols = {0}, sel = {0}, ins = {0}, scratch = {0};
	sqlite3_stmt *row = NULL;
	int src_idx[COPY_COLS], ncols = 0, pending = 0, rc;
	size_t ndcols = 0;
	PGresult *r = NULL;
	status st;

	*rows = 0;
	if ((st = dst_columns(c, table, &dcols, &ndcols)) != ST_OK)
		goto out;
	/* The source's columns, in its order. */
	if (buf_printf(&sel, "SELECT * FROM \"%s\"", table) != ST_OK) {
		st = err_set(c->e, ST_NOMEM, "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(c->src, sel.p, -1, &row, NULL) != SQLITE_OK) {
		st = sq_fail(c, "reading the source schema");
		goto out;
	}
	st = buf_printf(&ins, "INSERT INTO ");
	if (st == ST_OK)
		st = append_ident(c, &ins, table);
	if (st == ST_OK)
		st = buf_printf(&ins, " (");
	for (int i = 0; i < sqlite3_column_count(row) && st == ST_OK; i++) {
		const char *name = sqlite3_column_name(row, i);

		if (!in_list(&dcols, ndcols, name)) {
			st = err_set(c->e, ST_INVALID,
				     "column %s.%s has no place in the target database", table,
				     name);
			break;
		}
		if (ncols == COPY_COLS) {
			st = err_set(c->e, ST_INTERNAL, "table %s has too many columns", table);
			break;
		}
		if (ncols > 0)
			st = buf_printf(&ins, ", ");
		if (st == ST_OK)
			st = append_ident(c, &ins, name);
		src_idx[ncols++] = i;
	}
	if (st == ST_OK)
		st = buf_printf(&ins, ") VALUES (");
	for (int i = 0; i < ncols && st == ST_OK; i++)
		st = buf_printf(&ins, "%s$%d", i > 0 ? ", " : "", i + 1);
	if (st == ST_OK)
		st = buf_printf(&ins, ")");
	if (st != ST_OK)
		goto out;
	r = PQprepare(c->dst, "copy_row", ins.p, ncols, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		st = pg_fail(c, "preparing the copy", r);
		goto out;
	}
	PQclear(r);
	r = NULL;
	if (!PQenterPipelineMode(c->dst)) {
		st = pg_fail(c, "entering pipeline mode", NULL);
		goto out;
	}
	while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
		if ((st = send_row(c, row, src_idx, ncols, &scratch)) != ST_OK)
			break;
		(*rows)++;
		if (++pending == COPY_BATCH) {
			pending = 0;
			if (!PQpipelineSync(c->dst)) {
				st = pg_fail(c, "sending a batch", NULL);
				break;
			}
			if ((st = drain(c, table)) != ST_OK)
				break;
		}
	}
	if (st == ST_OK && rc != SQLITE_DONE)
		st = sq_fail(c, "reading rows");
	if (st == ST_OK && pending > 0) {
		if (!PQpipelineSync(c->dst))
			st = pg_fail(c, "sending a batch", NULL);
		else
			st = drain(c, table);
	}
	if (!PQexitPipelineMode(c->dst) && st == ST_OK)
		st = pg_fail(c, "leaving pipeline mode", NULL);
	if (st == ST_OK)
		st = pg_exec(c, "DEALLOCATE copy_row", "releasing the copy statement");
out:
	PQclear(r);
	sqlite3_finalize(row);
	buf_free(&dcols);
	buf_free(&sel);
	buf_free(&ins);
	buf_free(&scratch);
	return st;
}

/* Moves every sequence of the target past the ids copied into its column
 * (the audit events' insertion order, for instance). */
static status advance_sequences(struct copy *c)
{
	PGresult *r =
	    PQexec(c->dst, "SELECT table_name, column_name, "
			   "pg_get_serial_sequence(quote_ident(table_name), column_name) "
			   "FROM information_schema.columns WHERE table_schema = current_schema() "
			   "AND pg_get_serial_sequence(quote_ident(table_name), column_name) "
			   "IS NOT NULL");
	status st = ST_OK;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		st = pg_fail(c, "finding sequences", r);
		PQclear(r);
		return st;
	}
	for (int i = 0; i < PQntuples(r) && st == ST_OK; i++) {
		struct buf sql = {0};
		char *seq =
		    PQescapeLiteral(c->dst, PQgetvalue(r, i, 2), strlen(PQgetvalue(r, i, 2)));

		if (seq == NULL) {
			st = pg_fail(c, "quoting a name", NULL);
			break;
		}
		st = buf_printf(&sql, "SELECT setval(%s, (SELECT coalesce(max(", seq);
		if (st == ST_OK)
			st = append_ident(c, &sql, PQgetvalue(r, i, 1));
		if (st == ST_OK)
			st = buf_printf(&sql, "), 0) + 1 FROM ");
		if (st == ST_OK)
			st = append_ident(c, &sql, PQgetvalue(r, i, 0));
		if (st == ST_OK)
			st = buf_printf(&sql, "), false)");
		if (st == ST_OK)
			st = pg_exec(c, sql.p, "advancing a sequence");
		PQfreemem(seq);
		buf_free(&sql);
	}
	PQclear(r);
	return st;
}

static status source_open(struct copy *c, const char *path)
{
	sqlite3_stmt *v = NULL;
	int version = -1;

	if (sqlite3_open_v2(path, &c->src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return sq_fail(c, "opening the source database");
	if (sqlite3_exec(c->src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->src, "PRAGMA user_version", -1, &v, NULL) != SQLITE_OK)
		return sq_fail(c, "opening the source database");
	if (sqlite3_step(v) == SQLITE_ROW)
		version = sqlite3_column_int(v, 0);
	sqlite3_finalize(v);
	/* Reading the schema makes a file that is not a database fail here. */
	if (sqlite3_exec(c->src, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sq_fail(c, "reading the source database");
	if (version == 0)
		return err_set(c->e, ST_INVALID, "%s holds no grantd data (schema version 0)",
			       path);
	if (version != STORE_SCHEMA_VERSION)
		return err_set(c->e, ST_UNSUPPORTED,
			       "%s has schema version %d and this grantd copies version %d: run "
			       "this version of grantd on it once (it migrates the schema), "
			       "then copy",
			       path, version, STORE_SCHEMA_VERSION);
	return ST_OK;
}

static status target_open(struct copy *c, const char *url)
{
	const char *const keys[] = {"dbname", "connect_timeout", NULL};
	const char *const vals[] = {url, "10", NULL};
	PGresult *r;
	status st;

	c->dst = PQconnectdbParams(keys, vals, 1);
	if (c->dst == NULL)
		return err_set(c->e, ST_NOMEM, "out of memory");
	if (PQstatus(c->dst) != CONNECTION_OK)
		return pg_fail(c, "connecting", NULL);
	if ((st = pg_exec(c, "BEGIN ISOLATION LEVEL SERIALIZABLE", "starting")) != ST_OK)
		return st;
	r = PQexec(c->dst, "SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM tokens)");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		st = pg_fail(c, "reading the target (has grantd created its schema?)", r);
	} else if (strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
		st = err_set(c->e, ST_CONFLICT,
			     "the target database already holds data: copy only into a database "
			     "no grantd has served yet");
	}
	PQclear(r);
	return st;
}

status store_copy_sqlite_to_pg(const char *sqlite_path, const char *pg_url,
			       struct store_copy_count counts[STORE_COPY_TABLES], struct err *e)
{
	struct copy c = {.e = e};
	status st;

	for (size_t i = 0; i < STORE_COPY_TABLES; i++)
		counts[i] = (struct store_copy_count){tables[i], 0};
	if ((st = source_open(&c, sqlite_path)) != ST_OK)
		goto out;
	if ((st = target_open(&c, pg_url)) != ST_OK)
		goto out;
	for (size_t i = 0; i < STORE_COPY_TABLES && st == ST_OK; i++)
		st = copy_table(&c, tables[i], &counts[i].rows);
	if (st == ST_OK)
		st = advance_sequences(&c);
	if (st == ST_OK)
		st = pg_exec(&c, "COMMIT", "committing");
out:
	if (c.dst != NULL)
		PQfinish(c.dst); /* an open transaction is rolled back */
	if (c.src != NULL)
		sqlite3_close(c.src);
	return st;
}
