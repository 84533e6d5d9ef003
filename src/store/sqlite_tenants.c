/* sqlite_tenants.c - the SQLite backend's tenants, their admin users and
 * token-signing keys, and the audit events: every admin change writes its
 * event in its own transaction (sq_audit_insert), and the audit list. */
#include "store/sqlite_int.h"

#include <string.h>

#include "lib/limits.h"
#include "store/store_impl.h"

/* ---- reading rows --------------------------------------------------------- */

static bool row_tenant(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_tenant *t = out;
	struct rd r = {st, a, false};

	t->id = rd_str(&r, 0);
	t->domain = rd_str(&r, 1);
	t->active = rd_int(&r, 2) != 0;
	t->created_at = rd_int(&r, 3);
	return !r.bad;
}

static bool row_admin(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_admin *u = out;
	struct rd r = {st, a, false};

	u->id = rd_str(&r, 0);
	u->tenant_id = rd_str(&r, 1);
	u->username = rd_str(&r, 2);
	u->pw_hash = rd_str(&r, 3);
	u->created_at = rd_int(&r, 4);
	return !r.bad;
}

static bool row_audit(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_audit *v = out;
	struct rd r = {st, a, false};

	v->id = rd_str(&r, 0);
	v->tenant_id = rd_str(&r, 1);
	v->actor = rd_str(&r, 2);
	v->action = rd_str(&r, 3);
	v->object_type = rd_str(&r, 4);
	v->object_id = rd_str(&r, 5);
	v->summary = rd_str(&r, 6);
	v->at = rd_int(&r, 7);
	return !r.bad;
}

/* ---- shared write pieces ------------------------------------------------- */

status sq_audit_insert(struct conn *c, const struct store_audit *v, struct err *e)
{
	char id[UUID_STR_LEN + 1];
	struct q q = {0};
	status ret;
	int rc;

	if (v == NULL)
		return ST_OK;
	if (v->actor == NULL || v->action == NULL || v->object_type == NULL)
		return err_set(e, ST_INVALID, "audit event without actor, action or object type");
	if (v->id == NULL && (ret = uuid_v4(id)) != ST_OK)
		return err_set(e, ret, "cannot generate an audit event id");
	if ((ret = sq_q_open(c, SQL_AUDIT_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, v->id != NULL ? v->id : id);
	q_text(&q, v->tenant_id);
	q_text(&q, v->actor);
	q_text(&q, v->action);
	q_text(&q, v->object_type);
	q_text(&q, v->object_id);
	q_text(&q, v->summary != NULL ? v->summary : "{}");
	q_int(&q, now_or(v->at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "audit event id '%s' already exists", v->id);
	else
		ret = sq_db_fail(c, rc, "writing an audit event", e);
out:
	q_close(&q);
	return ret;
}

/* ---- tenants and admins ---------------------------------------------------- */

struct tenant_create_arg {
	const struct store_tenant *t;
	const struct store_admin *owner;
	const struct store_audit *audit;
};

static status admin_insert(struct conn *c, enum sql id, const struct store_admin *u, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if (u->id == NULL || u->tenant_id == NULL || u->username == NULL || u->pw_hash == NULL)
		return err_set(e, ST_INVALID,
			       "admin user without id, tenant, username or password");
	if ((ret = sq_q_open(c, id, &q, e)) != ST_OK)
		goto out;
	q_text(&q, u->id);
	q_text(&q, u->tenant_id);
	q_text(&q, u->username);
	q_text(&q, u->pw_hash);
	q_int(&q, now_or(u->created_at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", u->tenant_id);
	else if (is_unique_violation(rc) && violated(c, "admin_users.username"))
		ret = err_set(e, ST_CONFLICT, "admin user '%s' already exists in this tenant",
			      u->username);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "admin user id '%s' already exists", u->id);
	else
		ret = sq_db_fail(c, rc, "writing an admin user", e);
out:
	q_close(&q);
	return ret;
}

static status tenant_create_body(struct conn *c, void *arg, struct err *e)
{
	const struct tenant_create_arg *x = arg;
	const struct store_tenant *t = x->t;
	char domain[LIMIT_TENANT_DOMAIN + 1];
	struct q q = {0};
	status ret;
	int rc;

	if (t->id == NULL || t->domain == NULL)
		return err_set(e, ST_INVALID, "tenant without id or domain");
	if (!store_domain_lower(domain, t->domain))
		return err_set(e, ST_INVALID, "tenant domain is longer than %d bytes",
			       LIMIT_TENANT_DOMAIN);
	if ((ret = sq_q_open(c, SQL_TENANT_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, t->id);
	q_text(&q, domain);
	q_int(&q, t->active);
	q_int(&q, now_or(t->created_at));
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (is_unique_violation(rc) && violated(c, "tenants.domain"))
		ret = err_set(e, ST_CONFLICT, "tenant domain '%s' already exists", domain);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "tenant id '%s' already exists", t->id);
	else
		ret = sq_db_fail(c, rc, "creating a tenant", e);
	q_close(&q);
	if (ret == ST_OK && x->owner != NULL)
		ret = admin_insert(c, SQL_ADMIN_INSERT, x->owner, e);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

status sq_tenant_create(struct store *s, const struct store_tenant *t,
			const struct store_admin *owner, const struct store_audit *audit,
			struct err *e)
{
	struct tenant_create_arg x = {t, owner, audit};
	return sq_write_tx(s, tenant_create_body, &x, e);
}

status sq_tenant_get(struct store *s, struct arena *a, const char *id, struct store_tenant *out,
		     struct err *e)
{
	status ret;

	memset(out, 0, sizeof *out);
	ret = sq_get_by(s, SQL_TENANT_GET, id, NULL, a, row_tenant, out, "a tenant", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "tenant '%s' not found", id);
	return ret;
}

status sq_tenant_get_by_domain(struct store *s, struct arena *a, const char *domain,
			       struct store_tenant *out, struct err *e)
{
	char lower[LIMIT_TENANT_DOMAIN + 1];
	status ret = ST_NOT_FOUND;

	memset(out, 0, sizeof *out);
	/* Longer than any stored domain: cannot exist. */
	if (store_domain_lower(lower, domain))
		ret = sq_get_by(s, SQL_TENANT_GET_BY_DOMAIN, lower, NULL, a, row_tenant, out,
				"a tenant", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "tenant '%.*s' not found", LIMIT_TENANT_DOMAIN, domain);
	return ret;
}

status sq_tenant_list(struct store *s, struct arena *a, struct store_page pg,
		      struct store_tenant **items, size_t *n, int64_t *total, struct err *e)
{
	const struct list_spec ls = {
	    .count = SQL_TENANT_COUNT,
	    .page = SQL_TENANT_PAGE,
	    .key = NULL,
	    .elem = sizeof **items,
	    .row = row_tenant,
	    .what = "tenants",
	};
	void *p;
	status ret = sq_list_rows(s, a, &ls, pg, &p, n, total, e);
	*items = p;
	return ret;
}

struct set_active_arg {
	const char *id;
	bool active;
	const struct store_audit *audit;
};

static status tenant_set_active_body(struct conn *c, void *arg, struct err *e)
{
	const struct set_active_arg *x = arg;
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = sq_q_open(c, SQL_TENANT_SET_ACTIVE, &q, e)) != ST_OK)
		goto out;
	q_int(&q, x->active);
	q_text(&q, x->id);
	rc = q_step(&q);
	if (rc != SQLITE_DONE)
		ret = sq_db_fail(c, rc, "updating a tenant", e);
	else if (q_changes(&q) == 0)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", x->id);
	q_close(&q);
	if (ret == ST_OK)
		ret = sq_audit_insert(c, x->audit, e);
out:
	q_close(&q);
	return ret;
}

status sq_tenant_set_active(struct store *s, const char *id, bool active,
			    const struct store_audit *audit, struct err *e)
{
	struct set_active_arg x = {id, active, audit};
	return sq_write_tx(s, tenant_set_active_body, &x, e);
}

static status admin_put_body(struct conn *c, void *arg, struct err *e)
{
	return admin_insert(c, SQL_ADMIN_UPSERT, arg, e);
}

status sq_admin_put(struct store *s, const struct store_admin *u, struct err *e)
{
	return sq_write_tx(s, admin_put_body, (void *)u, e);
}

status sq_admin_get(struct store *s, struct arena *a, const char *tenant_id, const char *username,
		    struct store_admin *out, struct err *e)
{
	status ret;

	memset(out, 0, sizeof *out);
	ret =
	    sq_get_by(s, SQL_ADMIN_GET, tenant_id, username, a, row_admin, out, "an admin user", e);
	if (ret == ST_NOT_FOUND)
		err_set(e, ret, "admin user '%s' not found", username);
	return ret;
}

status sq_admin_list(struct store *s, struct arena *a, const char *tenant_id,
		     struct store_admin **items, size_t *n, struct err *e)
{
	const struct list_spec ls = {
	    .count = SQL_ADMIN_COUNT,
	    .page = SQL_ADMIN_PAGE,
	    .key = tenant_id,
	    .elem = sizeof **items,
	    .row = row_admin,
	    .what = "admin users",
	};
	const struct store_page pg = {STORE_PAGE_MAX, 0};
	void *p;
	status ret = sq_list_rows(s, a, &ls, pg, &p, n, NULL, e);
	*items = p;
	return ret;
}

/* ---- signing keys ---------------------------------------------------------- */

/* A blob of any length, copied into the arena; NULL for SQL NULL. */
static unsigned char *rd_blob(struct rd *r, int i, size_t *n)
{
	const void *p;
	unsigned char *out;

	*n = 0;
	if (sqlite3_column_type(r->st, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(r->st, i);
	*n = (size_t)sqlite3_column_bytes(r->st, i);
	out = arena_alloc(r->a, *n ? *n : 1);
	if (out == NULL || (p == NULL && *n > 0)) {
		r->bad = true;
		return NULL;
	}
	if (*n > 0)
		memcpy(out, p, *n);
	return out;
}

static bool row_skey(sqlite3_stmt *st, struct arena *a, void *out)
{
	struct store_signing_key *k = out;
	struct rd r = {st, a, false};

	k->tenant_id = rd_str(&r, 0);
	k->kid = rd_str(&r, 1);
	k->alg = rd_str(&r, 2);
	k->public_jwk = rd_str(&r, 3);
	k->private_enc = rd_blob(&r, 4, &k->private_enc_len);
	k->status = (enum store_key_status)rd_int(&r, 5);
	k->created_at = rd_int(&r, 6);
	k->not_after_signing = rd_int(&r, 7);
	k->publish_until = rd_int(&r, 8);
	return !r.bad;
}

struct skey_add_arg {
	const struct store_signing_key *k;
	bool retire;
	int64_t publish_until;
};

static status skey_add_body(struct conn *c, void *arg, struct err *e)
{
	const struct skey_add_arg *x = arg;
	const struct store_signing_key *k = x->k;
	int64_t now = now_or(k->created_at);
	struct q q = {0};
	status ret;
	int rc;

	if (k->tenant_id == NULL || k->kid == NULL || k->alg == NULL || k->public_jwk == NULL ||
	    k->private_enc == NULL || k->private_enc_len == 0)
		return err_set(e, ST_INVALID,
			       "signing key without tenant, kid, alg or key material");
	if (!x->retire) {
		if ((ret = sq_q_open(c, SQL_SKEY_ACTIVE, &q, e)) != ST_OK)
			goto out;
		q_text(&q, k->tenant_id);
		rc = q_step(&q);
		if (rc == SQLITE_ROW) {
			ret =
			    err_set(e, ST_CONFLICT, "the tenant already has an active signing key");
			goto out;
		}
		if (rc != SQLITE_DONE) {
			ret = sq_db_fail(c, rc, "looking up the active signing key", e);
			goto out;
		}
		q_close(&q);
	} else {
		if ((ret = sq_q_open(c, SQL_SKEY_RETIRE, &q, e)) != ST_OK)
			goto out;
		q_int(&q, now);
		q_int(&q, x->publish_until);
		q_text(&q, k->tenant_id);
		if ((rc = q_step(&q)) != SQLITE_DONE) {
			ret = sq_db_fail(c, rc, "retiring a signing key", e);
			goto out;
		}
		q_close(&q);
	}
	if ((ret = sq_q_open(c, SQL_SKEY_INSERT, &q, e)) != ST_OK)
		goto out;
	q_text(&q, k->tenant_id);
	q_text(&q, k->kid);
	q_text(&q, k->alg);
	q_text(&q, k->public_jwk);
	q_blob(&q, k->private_enc, k->private_enc_len);
	q_int(&q, STORE_KEY_ACTIVE);
	q_int(&q, now);
	q_int(&q, 0);
	q_int(&q, 0);
	rc = q_step(&q);
	if (rc == SQLITE_DONE)
		ret = ST_OK;
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", k->tenant_id);
	else if (is_unique_violation(rc))
		ret = err_set(e, ST_CONFLICT, "signing key '%s' already exists in this tenant",
			      k->kid);
	else
		ret = sq_db_fail(c, rc, "storing a signing key", e);
out:
	q_close(&q);
	return ret;
}

status sq_signing_key_add(struct store *s, const struct store_signing_key *k, bool retire,
			  int64_t publish_until, struct err *e)
{
	struct skey_add_arg x = {k, retire, publish_until};
	return sq_write_tx(s, skey_add_body, &x, e);
}

status sq_signing_keys_list(struct store *s, struct arena *a, const char *tenant_id, int64_t now,
			    struct store_signing_key **items, size_t *n, struct err *e)
{
	struct store_signing_key *v;
	struct conn *c;
	struct q q = {0};
	status ret;
	int rc;

	*items = NULL;
	*n = 0;
	v = arena_alloc(a, LIMIT_JWKS_KEYS * sizeof *v);
	if (v == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	memset(v, 0, LIMIT_JWKS_KEYS * sizeof *v);
	if ((ret = sq_conn_get(s, &c, e)) != ST_OK)
		return ret;
	if ((ret = sq_q_open(c, SQL_SKEY_LIST, &q, e)) != ST_OK)
		goto out;
	q_text(&q, tenant_id);
	q_int(&q, now);
	q_int(&q, LIMIT_JWKS_KEYS);
	while ((rc = q_step(&q)) == SQLITE_ROW) {
		if (!row_skey(q.st, a, &v[*n])) {
			ret = err_set(e, ST_NOMEM, "out of memory reading signing keys");
			goto out;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_fail(c, rc, "reading signing keys", e);
		goto out;
	}
	*items = v;
out:
	q_close(&q);
	return ret;
}

/* ---- audit ---------------------------------------------------------------- */

status sq_audit_list(struct store *s, struct arena *a, const char *tenant_id, struct store_page pg,
		     struct store_audit **items, size_t *n, int64_t *total, struct err *e)
{
	struct list_spec ls = {
	    .count = SQL_AUDIT_COUNT,
	    .page = SQL_AUDIT_PAGE,
	    .key = tenant_id,
	    .elem = sizeof **items,
	    .row = row_audit,
	    .what = "audit events",
	};
	void *p;
	status ret;

	if (tenant_id == NULL) {
		ls.count = SQL_AUDIT_COUNT_ALL;
		ls.page = SQL_AUDIT_PAGE_ALL;
	}
	ret = sq_list_rows(s, a, &ls, pg, &p, n, total, e);
	*items = p;
	return ret;
}
