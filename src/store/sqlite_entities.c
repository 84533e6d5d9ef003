/* sqlite_entities.c - the SQLite backend's identity providers and
 * applications: rows of a tenant with a JSON document, sharing one CRUD
 * (struct entity). Deleting either, disabling an IdP or regenerating an
 * application's secret revokes the tokens that depend on it
 * (docs/jwt-grant.md, "Revocation by the server"). */
#include "store/sqlite_int.h"

#include <string.h>

#include "lib/limits.h"
#include "store/store_impl.h"

/* ---- reading rows --------------------------------------------------------- */

static bool row_idp(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_idp *p = out;
	struct rd r = {st, a, false};

	p->id = rd_str(&r, 0);
	p->tenant_id = rd_str(&r, 1);
	p->name = rd_str(&r, 2);
	p->issuer = rd_str(&r, 3);
	p->enabled = rd_int(&r, 4) != 0;
	p->doc = rd_str(&r, 5);
	p->created_at = rd_int(&r, 6);
	p->updated_at = rd_int(&r, 7);
	return !r.bad;
}

static bool row_app(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_app *p = out;
	struct rd r = {st, a, false};

	p->id = rd_str(&r, 0);
	p->tenant_id = rd_str(&r, 1);
	p->name = rd_str(&r, 2);
	p->client_id = rd_str(&r, 3);
	p->has_secret = rd_hash(&r, 4, p->secret_hash);
	p->doc = rd_str(&r, 5);
	p->created_at = rd_int(&r, 6);
	p->updated_at = rd_int(&r, 7);
	return !r.bad;
}

/* ---- identity providers and applications: what their CRUD shares ----------- */

/* An entity of a tenant kept as a row with a JSON document: its statements,
 * the words its messages use, and the tokens that depend on it. */
struct entity {
	const char *noun;        /* "identity provider": "<noun> '<id>' not found" */
	const char *one, *many;  /* "an identity provider", "identity providers" */
	const char *name_column; /* "identity_providers.name": UNIQUE (tenant_id, name) */
	const char *deleting;    /* what a failed DELETE was doing */
	const char *revoking;    /* what a failed revocation was doing */
	enum sql del, count, page;
	enum sql revoke; /* revokes the tokens of one id */
	size_t size;     /* of the row struct */
	row_fn row;
};

static const struct entity ENT_IDP = {
    .noun = "identity provider",
    .one = "an identity provider",
    .many = "identity providers",
    .name_column = "identity_providers.name",
    .deleting = "deleting an identity provider",
    .revoking = "revoking an identity provider's tokens",
    .del = SQL_IDP_DELETE,
    .count = SQL_IDP_COUNT,
    .page = SQL_IDP_PAGE,
    .revoke = SQL_TOKENS_REVOKE_IDP,
    .size = sizeof(struct store_idp),
    .row = row_idp,
};

static const struct entity ENT_APP = {
    .noun = "application",
    .one = "an application",
    .many = "applications",
    .name_column = "applications.name",
    .deleting = "deleting an application",
    .revoking = "revoking an application's tokens",
    .del = SQL_APP_DELETE,
    .count = SQL_APP_COUNT,
    .page = SQL_APP_PAGE,
    .revoke = SQL_TOKENS_REVOKE_APP,
    .size = sizeof(struct store_app),
    .row = row_app,
};

/* A write of one entity: `row` (a struct store_idp or store_app) for create
 * and update, `tenant_id` and `id` for delete. */
struct entity_arg {
	const struct entity *ent;
	const void *row;
	const char *tenant_id, *id;
	const struct store_audit *audit;
};

/* Maps the result of an INSERT/UPDATE step of `ent`'s row. */
static status entity_write_result(struct conn *c, int rc, const struct entity *ent,
				  const char *tenant_id, const char *id, const char *name,
				  const char *what, struct err *e)
{
	if (rc == SQLITE_DONE)
		return ST_OK;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return err_set(e, ST_NOT_FOUND, "tenant '%s' not found", tenant_id);
	if (is_unique_violation(rc) && violated(c, ent->name_column))
		return err_set(e, ST_CONFLICT, "%s name '%s' already exists in this tenant",
			       ent->noun, name);
	if (is_unique_violation(rc))
		return err_set(e, ST_CONFLICT, "%s id '%s' already exists", ent->noun, id);
	return sq_db_fail(c, rc, what, e);
}

static status entity_revoke_tokens(struct conn *c, const struct entity *ent, const char *id,
				   struct err *e)
{
	return sq_exec_key(c, ent->revoke, id, NULL, 0, NULL, ent->revoking, e);
}

/* Deletes one entity of a tenant and revokes its tokens (docs/jwt-grant.md, "Revocation by the
 * server"). */
static status entity_delete_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct entity *ent = x->ent;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = sq_q_open(c, ent->del, &q, e)) != ST_OK)
		goto out;
	q_text(&q, x->tenant_id);
	q_text(&q, x->id);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, ent->deleting, e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "%s '%s' not found", ent->noun, x->id);
	q_close(&q);
	if (ret == ST_OK)
		ret = entity_revoke_tokens(c, ent, x->id, e);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status entity_write(struct store *s, const struct entity *ent, tx_body body, const void *row,
			   const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = ent, .row = row, .audit = audit};
	return sq_write_tx(s, body, &x, e);
}

static status entity_delete(struct store *s, const struct entity *ent, const char *tenant_id,
			    const char *id, const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = ent, .tenant_id = tenant_id, .id = id, .audit = audit};
	return sq_write_tx(s, entity_delete_body, &x, e);
}

/* Reads one entity of a tenant by `key` with the statement `id` (by id, by
 * name); "<noun> '<key>' not found" when there is none. */
static status entity_get(struct store *s, const struct entity *ent, enum sql id, struct arena *a,
			 const char *tenant_id, const char *key, void *out, struct err *e)
{
	status ret;

	memset(out, 0, ent->size);
	ret = sq_get_by(s, id, tenant_id, key, a, ent->row, out, ent->one, e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "%s '%s' not found", ent->noun, key);
	return ret;
}

static status entity_list(struct store *s, const struct entity *ent, struct arena *a,
			  const char *tenant_id, struct store_page pg, void **items, size_t *n,
			  int64_t *total, struct err *e)
{
	const struct list_spec ls = {
	    .count = ent->count,
	    .page = ent->page,
	    .filtered = true,
	    .key = tenant_id,
	    .elem = ent->size,
	    .row = ent->row,
	    .what = ent->many,
	};
	return sq_list_rows(s, a, &ls, pg, items, n, total, e);
}

/* ---- identity providers ---------------------------------------------------- */

static status idp_write_result(struct conn *c, int rc, const struct store_idp *p, const char *what,
			       struct err *e)
{
	return entity_write_result(c, rc, &ENT_IDP, p->tenant_id, p->id, p->name, what, e);
}

static status idp_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	struct q q = {0};
	int64_t created = now_or(p->created_at);
	status ret;

	if ((ret = store_idp_check(p, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_IDP_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->id);
	q_text(&q, p->tenant_id);
	q_text(&q, p->name);
	q_text(&q, p->issuer != NULL ? p->issuer : "");
	q_int(&q, p->enabled);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, created);
	q_int(&q, p->updated_at != 0 ? p->updated_at : created);
	ret = idp_write_result(c, q_step(&q), p, "creating an identity provider", e);
	q_close(&q);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status idp_update_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	struct q q = {0};
	status ret;

	if ((ret = store_idp_check(p, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_IDP_UPDATE, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->name);
	q_text(&q, p->issuer != NULL ? p->issuer : "");
	q_int(&q, p->enabled);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, now_or(p->updated_at));
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	ret = idp_write_result(c, q_step(&q), p, "updating an identity provider", e);
	if (ret == ST_OK && q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "identity provider '%s' not found", p->id);
	q_close(&q);
	/* Disabling an IdP revokes the tokens that depend on it (docs/jwt-grant.md,
	 * "Revocation by the server"). */
	if (ret == ST_OK && !p->enabled)
		ret = entity_revoke_tokens(c, &ENT_IDP, p->id, e);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

status sq_idp_create(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e)
{
	return entity_write(s, &ENT_IDP, idp_create_body, idp, audit, e);
}

status sq_idp_update(struct store *s, const struct store_idp *idp, const struct store_audit *audit,
		     struct err *e)
{
	return entity_write(s, &ENT_IDP, idp_update_body, idp, audit, e);
}

status sq_idp_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e)
{
	return entity_delete(s, &ENT_IDP, tenant_id, id, audit, e);
}

status sq_idp_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_idp *out, struct err *e)
{
	return entity_get(s, &ENT_IDP, SQL_IDP_GET, a, tenant_id, id, out, e);
}

status sq_idp_get_by_name(struct store *s, struct arena *a, const char *tenant_id, const char *name,
			  struct store_idp *out, struct err *e)
{
	return entity_get(s, &ENT_IDP, SQL_IDP_GET_BY_NAME, a, tenant_id, name, out, e);
}

status sq_idp_find_by_issuer(struct store *s, struct arena *a, const char *tenant_id,
			     const char *iss, struct store_idp **items, size_t *n, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	struct store_idp *arr;
	size_t got = 0;
	status ret;
	int rc = SQLITE_DONE;

	*items = NULL;
	*n = 0;
	arr = arena_alloc(a, STORE_IDP_FIND_MAX * sizeof *arr);
	if (arr == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_IDP_FIND_BY_ISSUER, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_text(&q, iss);
	q_int(&q, STORE_IDP_FIND_MAX);
	while (got < STORE_IDP_FIND_MAX && (rc = q_step(&q)) == SQLITE_ROW) {
		if (!row_idp(q.st, a, &arr[got])) {
			ret = err_set(e, ST_NOMEM, "out of memory reading identity providers");
			goto out;
		}
		got++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = sq_db_fail(c, rc, "finding identity providers", e);
		goto out;
	}
	*items = arr;
	*n = got;
out:
	q_close(&q);
	return ret;
}

status sq_idp_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_idp **items, size_t *n, int64_t *total, struct err *e)
{
	void *p;
	status ret = entity_list(s, &ENT_IDP, a, tenant_id, pg, &p, n, total, e);
	*items = p;
	return ret;
}

/* ---- applications --------------------------------------------------------- */

static status app_write_result(struct conn *c, int rc, const struct store_app *p, const char *what,
			       struct err *e)
{
	/* The client id is unique across tenants: checked before the name. */
	if (is_unique_violation(rc) && violated(c, "applications.client_id"))
		return err_set(e, ST_CONFLICT, "client id '%s' is already registered",
			       p->client_id);
	return entity_write_result(c, rc, &ENT_APP, p->tenant_id, p->id, p->name, what, e);
}

static status app_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	struct q q = {0};
	int64_t created = now_or(p->created_at);
	status ret;

	if ((ret = store_app_check(p, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_APP_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->id);
	q_text(&q, p->tenant_id);
	q_text(&q, p->name);
	q_text(&q, p->client_id);
	q_blob(&q, p->has_secret ? p->secret_hash : NULL, SHA256_LEN);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, created);
	q_int(&q, p->updated_at != 0 ? p->updated_at : created);
	ret = app_write_result(c, q_step(&q), p, "creating an application", e);
	q_close(&q);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

static status app_update_body(struct conn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	unsigned char old[SHA256_LEN] = {0};
	bool had_secret = false;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = store_app_check(p, e)) != ST_OK)
		return ret;
	/* The old secret hash decides whether this is a regeneration. */
	if ((ret = sq_q_open(c, SQL_APP_SECRET_GET, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	rc = q_step(&q);
	if (rc == SQLITE_DONE) {
		ret = err_set(e, ST_NOT_FOUND, "application '%s' not found", p->id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = sq_db_fail(c, rc, "updating an application", e);
		goto out;
	}
	if (sqlite3_column_type(q.st, 0) == SQLITE_BLOB &&
	    sqlite3_column_bytes(q.st, 0) == SHA256_LEN) {
		memcpy(old, sqlite3_column_blob(q.st, 0), SHA256_LEN);
		had_secret = true;
	}
	q_close(&q);

	if ((ret = sq_q_open(c, SQL_APP_UPDATE, &q, e)) != ST_OK)
		goto out;
	q_text(&q, p->name);
	q_text(&q, p->client_id);
	q_text(&q, p->doc != NULL ? p->doc : "{}");
	q_int(&q, now_or(p->updated_at));
	q_text(&q, p->tenant_id);
	q_text(&q, p->id);
	if ((ret = app_write_result(c, q_step(&q), p, "updating an application", e)) != ST_OK)
		goto out;
	q_close(&q);

	if (p->has_secret) {
		bool changed = !had_secret || !ct_eq(old, SHA256_LEN, p->secret_hash, SHA256_LEN);
		if (changed) {
			if ((ret = sq_q_open(c, SQL_APP_SECRET_SET, &q, e)) != ST_OK)
				goto out;
			q_blob(&q, p->secret_hash, SHA256_LEN);
			q_text(&q, p->tenant_id);
			q_text(&q, p->id);
			rc = q_step(&q);
			if (rc != SQLITE_DONE) {
				ret = sq_db_fail(c, rc, "updating an application secret", e);
				goto out;
			}
			q_close(&q);
		}
		/* A regenerated secret revokes the app's tokens (docs/jwt-grant.md,
		 * "Revocation by the server"). */
		if (changed && had_secret &&
		    (ret = entity_revoke_tokens(c, &ENT_APP, p->id, e)) != ST_OK)
			goto out;
	}
	ret = sq_audit_insert(c, x->audit, e);
out:
	mem_wipe(old, sizeof old);
	q_close(&q);
	return ret;
}

status sq_app_create(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e)
{
	return entity_write(s, &ENT_APP, app_create_body, app, audit, e);
}

status sq_app_update(struct store *s, const struct store_app *app, const struct store_audit *audit,
		     struct err *e)
{
	return entity_write(s, &ENT_APP, app_update_body, app, audit, e);
}

status sq_app_delete(struct store *s, const char *tenant_id, const char *id,
		     const struct store_audit *audit, struct err *e)
{
	return entity_delete(s, &ENT_APP, tenant_id, id, audit, e);
}

status sq_app_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		  struct store_app *out, struct err *e)
{
	return entity_get(s, &ENT_APP, SQL_APP_GET, a, tenant_id, id, out, e);
}

status sq_app_get_by_client_id(struct store *s, struct arena *a, const char *tenant_id,
			       const char *client_id, struct store_app *out, struct err *e)
{
	struct conn *c;
	struct q q = {0};
	status ret;

	memset(out, 0, sizeof *out);
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_APP_GET_BY_CLIENT_ID, &q, e)) != ST_OK)
		goto out;
	q_text(&q, client_id);
	q_text(&q, tenant_id); /* NULL: any tenant */
	ret = q_row(&q, a, row_app, out, "an application", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "no application with client id '%.*s'", LIMIT_CLIENT_ID, client_id);
out:
	q_close(&q);
	return ret;
}

status sq_app_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		   struct store_app **items, size_t *n, int64_t *total, struct err *e)
{
	void *p;
	status ret = entity_list(s, &ENT_APP, a, tenant_id, pg, &p, n, total, e);
	*items = p;
	return ret;
}
