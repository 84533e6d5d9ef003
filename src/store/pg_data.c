/* pg_data.c - the PostgreSQL backend's operations: tenants, admins,
 * identity providers, applications, tokens, replay records, the grant
 * transaction, signing keys, audit events and purges. The semantics and
 * messages are the SQLite backend's (store.h); connections, statements and
 * transactions are store_pg.c's. Deleting an IdP or application, disabling
 * an IdP and regenerating a secret revoke the dependent tokens in the same
 * transaction (docs/jwt-grant.md, "Revocation by the server"). */
#include "store/pg_int.h"

#include <string.h>

#include "lib/limits.h"
#include "store/store_impl.h"

/* ---- rows ------------------------------------------------------------------ */

static bool row_tenant(struct pgr *r, void *out)
{
	struct store_tenant *t = out;

	t->id = pgr_str(r, 0);
	t->domain = pgr_str(r, 1);
	t->active = pgr_int(r, 2) != 0;
	t->created_at = pgr_int(r, 3);
	return !r->bad;
}

static bool row_admin(struct pgr *r, void *out)
{
	struct store_admin *u = out;

	u->id = pgr_str(r, 0);
	u->tenant_id = pgr_str(r, 1);
	u->username = pgr_str(r, 2);
	u->pw_hash = pgr_str(r, 3);
	u->created_at = pgr_int(r, 4);
	return !r->bad;
}

static bool row_idp(struct pgr *r, void *out)
{
	struct store_idp *p = out;

	p->id = pgr_str(r, 0);
	p->tenant_id = pgr_str(r, 1);
	p->name = pgr_str(r, 2);
	p->issuer = pgr_str(r, 3);
	p->enabled = pgr_int(r, 4) != 0;
	p->doc = pgr_str(r, 5);
	p->created_at = pgr_int(r, 6);
	p->updated_at = pgr_int(r, 7);
	return !r->bad;
}

static bool row_app(struct pgr *r, void *out)
{
	struct store_app *p = out;

	p->id = pgr_str(r, 0);
	p->tenant_id = pgr_str(r, 1);
	p->name = pgr_str(r, 2);
	p->client_id = pgr_str(r, 3);
	p->has_secret = pgr_hash(r, 4, p->secret_hash);
	p->doc = pgr_str(r, 5);
	p->created_at = pgr_int(r, 6);
	p->updated_at = pgr_int(r, 7);
	return !r->bad;
}

static bool row_token(struct pgr *r, void *out)
{
	struct store_token *t = out;

	if (!pgr_hash(r, 0, t->hash))
		r->bad = true;
	t->kind = (enum store_token_kind)pgr_int(r, 1);
	t->tenant_id = pgr_str(r, 2);
	t->app_id = pgr_str(r, 3);
	t->client_id = pgr_str(r, 4);
	t->idp_id = pgr_str(r, 5);
	t->subject = pgr_str(r, 6);
	t->scope = pgr_str(r, 7);
	t->grant_type = pgr_str(r, 8);
	t->chain_id = pgr_str(r, 9);
	t->issued_at = pgr_int(r, 10);
	t->expires_at = pgr_int(r, 11);
	t->revoked = pgr_int(r, 12) != 0;
	t->used = pgr_int(r, 13) != 0;
	t->jti = pgr_str(r, 14);
	return !r->bad;
}

static bool row_skey(struct pgr *r, void *out)
{
	struct store_signing_key *k = out;

	k->tenant_id = pgr_str(r, 0);
	k->kid = pgr_str(r, 1);
	k->alg = pgr_str(r, 2);
	k->public_jwk = pgr_str(r, 3);
	k->private_enc = pgr_blob(r, 4, &k->private_enc_len);
	k->status = (enum store_key_status)pgr_int(r, 5);
	k->created_at = pgr_int(r, 6);
	k->not_after_signing = pgr_int(r, 7);
	k->publish_until = pgr_int(r, 8);
	return !r->bad;
}

static bool row_audit(struct pgr *r, void *out)
{
	struct store_audit *v = out;

	v->id = pgr_str(r, 0);
	v->tenant_id = pgr_str(r, 1);
	v->actor = pgr_str(r, 2);
	v->action = pgr_str(r, 3);
	v->object_type = pgr_str(r, 4);
	v->object_id = pgr_str(r, 5);
	v->summary = pgr_str(r, 6);
	v->at = pgr_int(r, 7);
	return !r->bad;
}

/* ---- shared pieces ----------------------------------------------------------- */

static bool constraint_is(const struct pgconn *c, const char *name)
{
	return strcmp(c->constraint, name) == 0;
}

/* Runs a statement and reports the rows it changed. */
static status run_changes(struct pg_store *s, struct pgconn *c, enum pgq id, const struct pgp *p,
			  int64_t *changes, const char *what, struct err *e)
{
	PGresult *r;
	status st = pg_run(s, c, id, p, &r, what, e);

	if (st == ST_OK) {
		if (changes != NULL)
			*changes = pg_changes(r);
		PQclear(r);
	}
	return st;
}

static status audit_insert(struct pg_store *s, struct pgconn *c, const struct store_audit *v,
			   struct err *e)
{
	char id[UUID_STR_LEN + 1];
	struct pgp p = {0};
	status st;

	if (v == NULL)
		return ST_OK;
	if (v->actor == NULL || v->action == NULL || v->object_type == NULL)
		return err_set(e, ST_INVALID, "audit event without actor, action or object type");
	if (v->id == NULL && (st = uuid_v4(id)) != ST_OK)
		return err_set(e, st, "cannot generate an audit event id");
	pgp_text(&p, v->id != NULL ? v->id : id);
	pgp_text(&p, v->tenant_id);
	pgp_text(&p, v->actor);
	pgp_text(&p, v->action);
	pgp_text(&p, v->object_type);
	pgp_text(&p, v->object_id);
	pgp_text(&p, v->summary != NULL ? v->summary : "{}");
	pgp_int(&p, pg_now_or(v->at));
	st = pg_run(s, c, PGQ_AUDIT_INSERT, &p, NULL, "writing an audit event", e);
	if (st == ST_CONFLICT)
		st = err_set(e, ST_CONFLICT, "audit event id '%s' already exists", v->id);
	return st;
}

static bool domain_lower(char out[LIMIT_TENANT_DOMAIN + 1], const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0'; i++) {
		if (i == LIMIT_TENANT_DOMAIN)
			return false;
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	}
	out[i] = '\0';
	return true;
}

/* ---- tenants and admins -------------------------------------------------------- */

static status admin_insert(struct pg_store *s, struct pgconn *c, enum pgq id,
			   const struct store_admin *u, struct err *e)
{
	struct pgp p = {0};
	status st;

	if (u->id == NULL || u->tenant_id == NULL || u->username == NULL || u->pw_hash == NULL)
		return err_set(e, ST_INVALID,
			       "admin user without id, tenant, username or password");
	pgp_text(&p, u->id);
	pgp_text(&p, u->tenant_id);
	pgp_text(&p, u->username);
	pgp_text(&p, u->pw_hash);
	pgp_int(&p, pg_now_or(u->created_at));
	st = pg_run(s, c, id, &p, NULL, "writing an admin user", e);
	if (st == ST_NOT_FOUND)
		st = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", u->tenant_id);
	else if (st == ST_CONFLICT && constraint_is(c, "admin_users_username"))
		st = err_set(e, ST_CONFLICT, "admin user '%s' already exists in this tenant",
			     u->username);
	else if (st == ST_CONFLICT)
		st = err_set(e, ST_CONFLICT, "admin user id '%s' already exists", u->id);
	return st;
}

struct tenant_create_arg {
	const struct store_tenant *t;
	const struct store_admin *owner;
	const struct store_audit *audit;
	const char *domain;
};

static status tenant_create_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct tenant_create_arg *x = arg;
	struct pgp p = {0};
	status st;

	pgp_text(&p, x->t->id);
	pgp_text(&p, x->domain);
	pgp_int(&p, x->t->active);
	pgp_int(&p, pg_now_or(x->t->created_at));
	st = pg_run(s, c, PGQ_TENANT_INSERT, &p, NULL, "creating a tenant", e);
	if (st == ST_CONFLICT && constraint_is(c, "tenants_domain"))
		return err_set(e, ST_CONFLICT, "tenant domain '%s' already exists", x->domain);
	if (st == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "tenant id '%s' already exists", x->t->id);
	if (st == ST_OK && x->owner != NULL)
		st = admin_insert(s, c, PGQ_ADMIN_INSERT, x->owner, e);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status pg_tenant_create(struct store *base, const struct store_tenant *t,
			       const struct store_admin *owner, const struct store_audit *audit,
			       struct err *e)
{
	char domain[LIMIT_TENANT_DOMAIN + 1];
	struct tenant_create_arg x = {t, owner, audit, domain};

	if (t->id == NULL || t->domain == NULL)
		return err_set(e, ST_INVALID, "tenant without id or domain");
	if (!domain_lower(domain, t->domain))
		return err_set(e, ST_INVALID, "tenant domain is longer than %d bytes",
			       LIMIT_TENANT_DOMAIN);
	return pg_write(pgs(base), tenant_create_body, &x, e);
}

static status pg_tenant_get(struct store *base, struct arena *a, const char *id,
			    struct store_tenant *out, struct err *e)
{
	status st;

	memset(out, 0, sizeof *out);
	st = pg_get(pgs(base), PGQ_TENANT_GET, id, NULL, a, row_tenant, out, "a tenant", e);
	if (st == ST_NOT_FOUND)
		err_set(e, st, "tenant '%s' not found", id);
	return st;
}

static status pg_tenant_get_by_domain(struct store *base, struct arena *a, const char *domain,
				      struct store_tenant *out, struct err *e)
{
	char lower[LIMIT_TENANT_DOMAIN + 1];
	status st = ST_NOT_FOUND;

	memset(out, 0, sizeof *out);
	if (domain_lower(lower, domain))
		st = pg_get(pgs(base), PGQ_TENANT_GET_BY_DOMAIN, lower, NULL, a, row_tenant, out,
			    "a tenant", e);
	if (st == ST_NOT_FOUND)
		err_set(e, st, "tenant '%.*s' not found", LIMIT_TENANT_DOMAIN, domain);
	return st;
}

static status pg_tenant_list(struct store *base, struct arena *a, struct store_page pg,
			     struct store_tenant **items, size_t *n, int64_t *total, struct err *e)
{
	struct pgp pp = {0};
	void *v;
	status st;

	pg = store_page_norm(pg);
	pgp_int(&pp, pg.limit);
	pgp_int(&pp, pg.offset);
	st = pg_list(pgs(base), PGQ_TENANT_COUNT, NULL, PGQ_TENANT_PAGE, &pp, a, sizeof **items,
		     STORE_PAGE_MAX, row_tenant, &v, n, total, "tenants", e);
	*items = v;
	return st;
}

struct set_active_arg {
	const char *id;
	bool active;
	const struct store_audit *audit;
};

static status tenant_set_active_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct set_active_arg *x = arg;
	struct pgp p = {0};
	int64_t n = 0;
	status st;

	pgp_int(&p, x->active);
	pgp_text(&p, x->id);
	st = run_changes(s, c, PGQ_TENANT_SET_ACTIVE, &p, &n, "updating a tenant", e);
	if (st == ST_OK && n == 0)
		st = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", x->id);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status pg_tenant_set_active(struct store *base, const char *id, bool active,
				   const struct store_audit *audit, struct err *e)
{
	struct set_active_arg x = {id, active, audit};
	return pg_write(pgs(base), tenant_set_active_body, &x, e);
}

static status admin_put_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	return admin_insert(s, c, PGQ_ADMIN_UPSERT, arg, e);
}

static status pg_admin_put(struct store *base, const struct store_admin *u, struct err *e)
{
	return pg_write(pgs(base), admin_put_body, (void *)u, e);
}

static status pg_admin_get(struct store *base, struct arena *a, const char *tenant_id,
			   const char *username, struct store_admin *out, struct err *e)
{
	status st;

	memset(out, 0, sizeof *out);
	st = pg_get(pgs(base), PGQ_ADMIN_GET, tenant_id, username, a, row_admin, out,
		    "an admin user", e);
	if (st == ST_NOT_FOUND)
		err_set(e, st, "admin user '%s' not found", username);
	return st;
}

static status pg_admin_list(struct store *base, struct arena *a, const char *tenant_id,
			    struct store_admin **items, size_t *n, struct err *e)
{
	struct pgp pp = {0};
	void *v;
	status st;

	pgp_text(&pp, tenant_id);
	pgp_int(&pp, STORE_PAGE_MAX);
	st = pg_list(pgs(base), PGQ_ADMIN_PAGE, NULL, PGQ_ADMIN_PAGE, &pp, a, sizeof **items,
		     STORE_PAGE_MAX, row_admin, &v, n, NULL, "admin users", e);
	*items = v;
	return st;
}

/* ---- identity providers and applications ----------------------------------------- */

struct entity {
	const char *noun, *one, *many;
	const char *name_constraint;
	enum pgq del, count, page, revoke;
	size_t size;
	pg_row_fn row;
};

static const struct entity ENT_IDP = {
    "identity provider",
    "an identity provider",
    "identity providers",
    "identity_providers_name",
    PGQ_IDP_DELETE,
    PGQ_IDP_COUNT,
    PGQ_IDP_PAGE,
    PGQ_TOKENS_REVOKE_IDP,
    sizeof(struct store_idp),
    row_idp,
};

static const struct entity ENT_APP = {
    "application",
    "an application",
    "applications",
    "applications_name",
    PGQ_APP_DELETE,
    PGQ_APP_COUNT,
    PGQ_APP_PAGE,
    PGQ_TOKENS_REVOKE_APP,
    sizeof(struct store_app),
    row_app,
};

struct entity_arg {
	const struct entity *ent;
	const void *row;
	const char *tenant_id, *id;
	const struct store_audit *audit;
};

static status entity_write_result(struct pgconn *c, status st, const struct entity *ent,
				  const char *tenant_id, const char *id, const char *name,
				  struct err *e)
{
	if (st == ST_NOT_FOUND)
		return err_set(e, ST_NOT_FOUND, "tenant '%s' not found", tenant_id);
	if (st == ST_CONFLICT && constraint_is(c, ent->name_constraint))
		return err_set(e, ST_CONFLICT, "%s name '%s' already exists in this tenant",
			       ent->noun, name);
	if (st == ST_CONFLICT)
		return err_set(e, ST_CONFLICT, "%s id '%s' already exists", ent->noun, id);
	return st;
}

static status revoke_tokens(struct pg_store *s, struct pgconn *c, enum pgq id, const char *key,
			    struct err *e)
{
	struct pgp p = {0};

	pgp_text(&p, key);
	return pg_run(s, c, id, &p, NULL, "revoking tokens", e);
}

static status entity_delete_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	struct pgp p = {0};
	int64_t n = 0;
	status st;

	pgp_text(&p, x->tenant_id);
	pgp_text(&p, x->id);
	st = run_changes(s, c, x->ent->del, &p, &n, "deleting", e);
	if (st == ST_OK && n == 0)
		st = err_set(e, ST_NOT_FOUND, "%s '%s' not found", x->ent->noun, x->id);
	if (st == ST_OK)
		st = revoke_tokens(s, c, x->ent->revoke, x->id, e);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status entity_delete(struct store *base, const struct entity *ent, const char *tenant_id,
			    const char *id, const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = ent, .tenant_id = tenant_id, .id = id, .audit = audit};
	return pg_write(pgs(base), entity_delete_body, &x, e);
}

static status entity_get(struct store *base, const struct entity *ent, enum pgq id, struct arena *a,
			 const char *tenant_id, const char *key, void *out, struct err *e)
{
	status st;

	memset(out, 0, ent->size);
	st = pg_get(pgs(base), id, tenant_id, key, a, ent->row, out, ent->one, e);
	if (st == ST_NOT_FOUND)
		err_set(e, st, "%s '%s' not found", ent->noun, key);
	return st;
}

static status entity_list(struct store *base, const struct entity *ent, struct arena *a,
			  const char *tenant_id, struct store_page pg, void **items, size_t *n,
			  int64_t *total, struct err *e)
{
	struct pgp cp = {0}, pp = {0};
	bool filtered;

	pg = store_page_norm(pg);
	filtered = pg.name_op != NULL && pg.name_value != NULL;
	pgp_text(&cp, tenant_id);
	pgp_text(&cp, filtered ? pg.name_op : NULL);
	pgp_text(&cp, filtered ? pg.name_value : NULL);
	pp = cp;
	pgp_int(&pp, pg.limit);
	pgp_int(&pp, pg.offset);
	/* the copied text pointers of the integer parameters must point into pp */
	for (int i = 0; i < pp.n; i++)
		if (cp.v[i] == cp.ints[i])
			pp.v[i] = pp.ints[i];
	return pg_list(pgs(base), ent->count, &cp, ent->page, &pp, a, ent->size, STORE_PAGE_MAX,
		       ent->row, items, n, total, ent->many, e);
}

static status idp_check(const struct store_idp *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL)
		return err_set(e, ST_INVALID, "identity provider without id, tenant or name");
	return ST_OK;
}

static status idp_create_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	int64_t created = pg_now_or(p->created_at);
	struct pgp q = {0};
	status st;

	pgp_text(&q, p->id);
	pgp_text(&q, p->tenant_id);
	pgp_text(&q, p->name);
	pgp_text(&q, p->issuer != NULL ? p->issuer : "");
	pgp_int(&q, p->enabled);
	pgp_text(&q, p->doc != NULL ? p->doc : "{}");
	pgp_int(&q, created);
	pgp_int(&q, p->updated_at != 0 ? p->updated_at : created);
	st = pg_run(s, c, PGQ_IDP_INSERT, &q, NULL, "creating an identity provider", e);
	st = entity_write_result(c, st, &ENT_IDP, p->tenant_id, p->id, p->name, e);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status idp_update_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_idp *p = x->row;
	struct pgp q = {0};
	int64_t n = 0;
	status st;

	pgp_text(&q, p->name);
	pgp_text(&q, p->issuer != NULL ? p->issuer : "");
	pgp_int(&q, p->enabled);
	pgp_text(&q, p->doc != NULL ? p->doc : "{}");
	pgp_int(&q, pg_now_or(p->updated_at));
	pgp_text(&q, p->tenant_id);
	pgp_text(&q, p->id);
	st = run_changes(s, c, PGQ_IDP_UPDATE, &q, &n, "updating an identity provider", e);
	st = entity_write_result(c, st, &ENT_IDP, p->tenant_id, p->id, p->name, e);
	if (st == ST_OK && n == 0)
		st = err_set(e, ST_NOT_FOUND, "identity provider '%s' not found", p->id);
	if (st == ST_OK && !p->enabled)
		st = revoke_tokens(s, c, PGQ_TOKENS_REVOKE_IDP, p->id, e);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status pg_idp_create(struct store *base, const struct store_idp *idp,
			    const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = &ENT_IDP, .row = idp, .audit = audit};
	status st = idp_check(idp, e);

	return st != ST_OK ? st : pg_write(pgs(base), idp_create_body, &x, e);
}

static status pg_idp_update(struct store *base, const struct store_idp *idp,
			    const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = &ENT_IDP, .row = idp, .audit = audit};
	status st = idp_check(idp, e);

	return st != ST_OK ? st : pg_write(pgs(base), idp_update_body, &x, e);
}

static status pg_idp_delete(struct store *base, const char *tenant_id, const char *id,
			    const struct store_audit *audit, struct err *e)
{
	return entity_delete(base, &ENT_IDP, tenant_id, id, audit, e);
}

static status pg_idp_get(struct store *base, struct arena *a, const char *tenant_id, const char *id,
			 struct store_idp *out, struct err *e)
{
	return entity_get(base, &ENT_IDP, PGQ_IDP_GET, a, tenant_id, id, out, e);
}

static status pg_idp_get_by_name(struct store *base, struct arena *a, const char *tenant_id,
				 const char *name, struct store_idp *out, struct err *e)
{
	return entity_get(base, &ENT_IDP, PGQ_IDP_GET_BY_NAME, a, tenant_id, name, out, e);
}

static status pg_idp_find_by_issuer(struct store *base, struct arena *a, const char *tenant_id,
				    const char *iss, struct store_idp **items, size_t *n,
				    struct err *e)
{
	struct pgp pp = {0};
	void *v;
	status st;

	pgp_text(&pp, tenant_id);
	pgp_text(&pp, iss);
	pgp_int(&pp, STORE_IDP_FIND_MAX);
	st = pg_list(pgs(base), PGQ_IDP_FIND_BY_ISSUER, NULL, PGQ_IDP_FIND_BY_ISSUER, &pp, a,
		     sizeof **items, STORE_IDP_FIND_MAX, row_idp, &v, n, NULL, "identity providers",
		     e);
	*items = v;
	return st;
}

static status pg_idp_list(struct store *base, struct arena *a, const char *tenant_id,
			  struct store_page pg, struct store_idp **items, size_t *n, int64_t *total,
			  struct err *e)
{
	void *v;
	status st = entity_list(base, &ENT_IDP, a, tenant_id, pg, &v, n, total, e);

	*items = v;
	return st;
}

static status app_check(const struct store_app *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL || p->client_id == NULL)
		return err_set(e, ST_INVALID, "application without id, tenant, name or client id");
	return ST_OK;
}

static status app_write_result(struct pgconn *c, status st, const struct store_app *p,
			       struct err *e)
{
	if (st == ST_CONFLICT && constraint_is(c, "applications_client_id"))
		return err_set(e, ST_CONFLICT, "client id '%s' is already registered",
			       p->client_id);
	return entity_write_result(c, st, &ENT_APP, p->tenant_id, p->id, p->name, e);
}

static status app_create_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	int64_t created = pg_now_or(p->created_at);
	struct pgp q = {0};
	status st;

	pgp_text(&q, p->id);
	pgp_text(&q, p->tenant_id);
	pgp_text(&q, p->name);
	pgp_text(&q, p->client_id);
	pgp_blob(&q, p->has_secret ? p->secret_hash : NULL, SHA256_LEN);
	pgp_text(&q, p->doc != NULL ? p->doc : "{}");
	pgp_int(&q, created);
	pgp_int(&q, p->updated_at != 0 ? p->updated_at : created);
	st = pg_run(s, c, PGQ_APP_INSERT, &q, NULL, "creating an application", e);
	st = app_write_result(c, st, p, e);
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status app_update_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct entity_arg *x = arg;
	const struct store_app *p = x->row;
	unsigned char old[SHA256_LEN] = {0};
	bool had_secret = false;
	struct pgp q = {0};
	PGresult *r = NULL;
	status st;

	/* The old secret hash (row locked) decides whether this regenerates. */
	pgp_text(&q, p->tenant_id);
	pgp_text(&q, p->id);
	if ((st = pg_run(s, c, PGQ_APP_SECRET_GET, &q, &r, "updating an application", e)) != ST_OK)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return err_set(e, ST_NOT_FOUND, "application '%s' not found", p->id);
	}
	{
		struct pgr rd = {r, 0, NULL, false};
		had_secret = pgr_hash(&rd, 0, old);
	}
	PQclear(r);
	q = (struct pgp){0};
	pgp_text(&q, p->name);
	pgp_text(&q, p->client_id);
	pgp_text(&q, p->doc != NULL ? p->doc : "{}");
	pgp_int(&q, pg_now_or(p->updated_at));
	pgp_text(&q, p->tenant_id);
	pgp_text(&q, p->id);
	st = pg_run(s, c, PGQ_APP_UPDATE, &q, NULL, "updating an application", e);
	if ((st = app_write_result(c, st, p, e)) != ST_OK)
		return st;
	if (p->has_secret) {
		q = (struct pgp){0};
		pgp_blob(&q, p->secret_hash, SHA256_LEN);
		pgp_text(&q, p->tenant_id);
		pgp_text(&q, p->id);
		st = pg_run(s, c, PGQ_APP_SECRET_SET, &q, NULL, "updating an application", e);
		/* A replaced secret (regenerated) revokes the app's tokens. */
		if (st == ST_OK && had_secret && memcmp(old, p->secret_hash, SHA256_LEN) != 0)
			st = revoke_tokens(s, c, PGQ_TOKENS_REVOKE_APP, p->id, e);
	}
	if (st == ST_OK)
		st = audit_insert(s, c, x->audit, e);
	return st;
}

static status pg_app_create(struct store *base, const struct store_app *app,
			    const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = &ENT_APP, .row = app, .audit = audit};
	status st = app_check(app, e);

	return st != ST_OK ? st : pg_write(pgs(base), app_create_body, &x, e);
}

static status pg_app_update(struct store *base, const struct store_app *app,
			    const struct store_audit *audit, struct err *e)
{
	struct entity_arg x = {.ent = &ENT_APP, .row = app, .audit = audit};
	status st = app_check(app, e);

	return st != ST_OK ? st : pg_write(pgs(base), app_update_body, &x, e);
}

static status pg_app_delete(struct store *base, const char *tenant_id, const char *id,
			    const struct store_audit *audit, struct err *e)
{
	return entity_delete(base, &ENT_APP, tenant_id, id, audit, e);
}

static status pg_app_get(struct store *base, struct arena *a, const char *tenant_id, const char *id,
			 struct store_app *out, struct err *e)
{
	return entity_get(base, &ENT_APP, PGQ_APP_GET, a, tenant_id, id, out, e);
}

static status pg_app_get_by_client_id(struct store *base, struct arena *a, const char *tenant_id,
				      const char *client_id, struct store_app *out, struct err *e)
{
	status st;

	memset(out, 0, sizeof *out);
	/* pg_get binds k2 only when not NULL: bind both here for "any tenant". */
	{
		struct pgp pp = {0};
		void *v;
		size_t n = 0;

		pgp_text(&pp, client_id);
		pgp_text(&pp, tenant_id);
		st = pg_list(pgs(base), PGQ_APP_GET_BY_CLIENT_ID, NULL, PGQ_APP_GET_BY_CLIENT_ID,
			     &pp, a, sizeof *out, 1, row_app, &v, &n, NULL, "an application", e);
		if (st == ST_OK && n == 0)
			st = ST_NOT_FOUND;
		else if (st == ST_OK)
			memcpy(out, v, sizeof *out);
	}
	if (st == ST_NOT_FOUND)
		err_set(e, st, "no application with client id '%.*s'", LIMIT_CLIENT_ID, client_id);
	return st;
}

static status pg_app_list(struct store *base, struct arena *a, const char *tenant_id,
			  struct store_page pg, struct store_app **items, size_t *n, int64_t *total,
			  struct err *e)
{
	void *v;
	status st = entity_list(base, &ENT_APP, a, tenant_id, pg, &v, n, total, e);

	*items = v;
	return st;
}

/* ---- tokens ------------------------------------------------------------------- */

static status token_check(const struct store_token *t, struct err *e)
{
	if (t->kind != STORE_TOKEN_ACCESS && t->kind != STORE_TOKEN_REFRESH)
		return err_set(e, ST_INVALID, "unknown token kind %d", (int)t->kind);
	if (t->tenant_id == NULL || t->app_id == NULL || t->client_id == NULL ||
	    t->subject == NULL || t->grant_type == NULL)
		return err_set(
		    e, ST_INVALID,
		    "token without tenant, application, client id, subject or grant type");
	return ST_OK;
}

static status token_insert(struct pg_store *s, struct pgconn *c, const struct store_token *t,
			   struct err *e)
{
	struct pgp p = {0};
	status st;

	if ((st = token_check(t, e)) != ST_OK)
		return st;
	pgp_blob(&p, t->hash, SHA256_LEN);
	pgp_int(&p, t->kind);
	pgp_text(&p, t->tenant_id);
	pgp_text(&p, t->app_id);
	pgp_text(&p, t->client_id);
	pgp_text(&p, t->idp_id);
	pgp_text(&p, t->subject);
	pgp_text(&p, t->scope != NULL ? t->scope : "");
	pgp_text(&p, t->grant_type);
	pgp_text(&p, t->chain_id);
	pgp_int(&p, t->issued_at);
	pgp_int(&p, t->expires_at);
	pgp_int(&p, t->revoked);
	pgp_int(&p, t->used);
	pgp_text(&p, t->jti);
	st = pg_run(s, c, PGQ_TOKEN_INSERT, &p, NULL, "storing a token", e);
	if (st == ST_CONFLICT)
		st = err_set(e, ST_CONFLICT, "a token with this hash already exists");
	return st;
}

struct tokens_arg {
	const struct store_token *access, *refresh;
};

static status tokens_put_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct tokens_arg *x = arg;
	status st = ST_OK;

	if (x->access != NULL)
		st = token_insert(s, c, x->access, e);
	if (st == ST_OK && x->refresh != NULL)
		st = token_insert(s, c, x->refresh, e);
	return st;
}

static status pg_tokens_put(struct store *base, const struct store_token *access,
			    const struct store_token *refresh, struct err *e)
{
	struct tokens_arg x = {access, refresh};
	return pg_write(pgs(base), tokens_put_body, &x, e);
}

/* One token by its hash with statement `id`. */
static status token_by_hash(struct pg_store *s, struct pgconn *c, enum pgq id,
			    const unsigned char hash[SHA256_LEN], struct arena *a,
			    struct store_token *out, const char *what, struct err *e)
{
	struct pgp p = {0};
	PGresult *r;
	status st;

	pgp_blob(&p, hash, SHA256_LEN);
	if ((st = pg_run(s, c, id, &p, &r, what, e)) != ST_OK)
		return st;
	if (PQntuples(r) == 0) {
		st = ST_NOT_FOUND;
	} else {
		struct pgr rd = {r, 0, a, false};
		if (!row_token(&rd, out))
			st = err_set(e, ST_NOMEM, "out of memory reading %s", what);
	}
	PQclear(r);
	return st;
}

static status pg_token_get(struct store *base, struct arena *a,
			   const unsigned char hash[SHA256_LEN], struct store_token *out,
			   struct err *e)
{
	struct pg_store *s = pgs(base);
	struct pgconn *c;
	status st;

	memset(out, 0, sizeof *out);
	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	st = token_by_hash(s, c, PGQ_TOKEN_GET, hash, a, out, "a token", e);
	pg_checkin(s, c);
	if (st == ST_NOT_FOUND)
		err_set(e, st, "token not found");
	return st;
}

struct refresh_use_arg {
	const unsigned char *hash;
	struct arena *a;
	struct store_token *out;
};

static status refresh_use_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct refresh_use_arg *x = arg;
	status st;

	/* The conditional UPDATE is the test-and-set: of concurrent callers
	 * exactly one gets the row back. */
	st = token_by_hash(s, c, PGQ_REFRESH_USE, x->hash, x->a, x->out, "a refresh token", e);
	if (st != ST_NOT_FOUND)
		return st;
	st = token_by_hash(s, c, PGQ_REFRESH_GET, x->hash, x->a, x->out, "a refresh token", e);
	if (st == ST_OK)
		return err_set(e, ST_CONFLICT, "refresh token already used");
	if (st == ST_NOT_FOUND)
		err_set(e, st, "refresh token not found");
	return st;
}

static status pg_refresh_use(struct store *base, struct arena *a,
			     const unsigned char hash[SHA256_LEN], struct store_token *out,
			     struct err *e)
{
	struct refresh_use_arg x = {hash, a, out};
	status st;

	memset(out, 0, sizeof *out);
	st = pg_write(pgs(base), refresh_use_body, &x, e);
	/* A conflict is reported with the row it read; the transaction rolled
	 * back nothing it had written. */
	return st;
}

struct key_arg {
	enum pgq id;
	const char *text;
	const unsigned char *hash;
	int64_t changes;
};

static status key_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	struct key_arg *x = arg;
	struct pgp p = {0};

	if (x->hash != NULL)
		pgp_blob(&p, x->hash, SHA256_LEN);
	else
		pgp_text(&p, x->text);
	return run_changes(s, c, x->id, &p, &x->changes, "revoking tokens", e);
}

static status pg_token_revoke(struct store *base, const unsigned char hash[SHA256_LEN],
			      struct err *e)
{
	struct key_arg x = {PGQ_TOKEN_REVOKE, NULL, hash, 0};
	status st = pg_write(pgs(base), key_body, &x, e);

	if (st == ST_OK && x.changes == 0)
		st = err_set(e, ST_NOT_FOUND, "token not found");
	return st;
}

static status pg_tokens_revoke_chain(struct store *base, const char *chain_id, struct err *e)
{
	struct key_arg x = {PGQ_TOKENS_REVOKE_CHAIN, chain_id, NULL, 0};
	return pg_write(pgs(base), key_body, &x, e);
}

static status pg_tokens_revoke_by(struct store *base, const char *field, const char *value,
				  struct err *e)
{
	struct key_arg x = {PGQ_TOKENS_REVOKE_APP, value, NULL, 0};

	if (strcmp(field, "idp_id") == 0)
		x.id = PGQ_TOKENS_REVOKE_IDP;
	else if (strcmp(field, "app_id") != 0)
		return err_set(e, ST_INVALID, "tokens cannot be revoked by '%s'", field);
	return pg_write(pgs(base), key_body, &x, e);
}

/* ---- replay records and the grant transaction ------------------------------------ */

static status replay_insert(struct pg_store *s, struct pgconn *c, const char *tenant_id,
			    const char *iss, const char *jti, int64_t expires_at, int64_t now,
			    struct err *e)
{
	struct pgp p = {0};
	int64_t n = 0;
	status st;

	/* One statement decides: a new triple inserts, an expired one is
	 * overwritten, a live one changes nothing (0 rows): a replay. */
	pgp_text(&p, tenant_id);
	pgp_text(&p, iss);
	pgp_text(&p, jti);
	pgp_int(&p, expires_at);
	pgp_int(&p, now);
	st = run_changes(s, c, PGQ_REPLAY_RECORD, &p, &n, "recording an assertion id", e);
	if (st == ST_OK && n == 0)
		st = err_set(e, ST_CONFLICT, "assertion replayed: this jti was already used");
	return st;
}

struct replay_arg {
	const char *tenant_id, *iss, *jti;
	int64_t expires_at, now;
};

static status replay_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct replay_arg *x = arg;
	return replay_insert(s, c, x->tenant_id, x->iss, x->jti, x->expires_at, x->now, e);
}

static status pg_replay_record(struct store *base, const char *tenant_id, const char *iss,
			       const char *jti, int64_t expires_at, int64_t now, struct err *e)
{
	struct replay_arg x = {tenant_id, iss, jti, expires_at, now};

	if (tenant_id == NULL || iss == NULL || jti == NULL)
		return err_set(e, ST_INVALID, "replay record without tenant, issuer or jti");
	return pg_write(pgs(base), replay_body, &x, e);
}

static status pg_replay_seen(struct store *base, const char *tenant_id, const char *iss,
			     const char *jti, int64_t now, bool *seen, struct err *e)
{
	struct pg_store *s = pgs(base);
	struct pgp p = {0};
	struct pgconn *c;
	PGresult *r;
	status st;

	*seen = false;
	pgp_text(&p, tenant_id);
	pgp_text(&p, iss);
	pgp_text(&p, jti);
	pgp_int(&p, now);
	if ((st = pg_checkout(s, &c, e)) != ST_OK)
		return st;
	st = pg_run(s, c, PGQ_REPLAY_SEEN, &p, &r, "looking up an assertion id", e);
	pg_checkin(s, c);
	if (st == ST_OK) {
		*seen = PQntuples(r) > 0;
		PQclear(r);
	}
	return st;
}

static status grant_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	struct store_grant_tx *tx = arg;
	status st;

	for (size_t i = 0; i < tx->nreplays; i++) {
		const struct store_replay *r = &tx->replays[i];

		st = replay_insert(s, c, r->tenant_id, r->iss, r->jti, r->expires_at, tx->now, e);
		if (st != ST_OK) {
			if (st == ST_CONFLICT) {
				tx->conflict = STORE_TX_REPLAY;
				tx->conflict_replay = i;
			}
			return st;
		}
	}
	if (tx->refresh_use != NULL) {
		struct pgp p = {0};
		int64_t n = 0;

		pgp_blob(&p, tx->refresh_use, SHA256_LEN);
		st = run_changes(s, c, PGQ_REFRESH_MARK_USED, &p, &n, "using a refresh token", e);
		if (st == ST_OK && n == 0) {
			tx->conflict = STORE_TX_REFRESH_USE;
			st = err_set(e, ST_CONFLICT, "refresh token already used (or unknown)");
		}
		if (st != ST_OK)
			return st;
	}
	if (tx->access != NULL && (st = token_insert(s, c, tx->access, e)) != ST_OK)
		return st;
	if (tx->refresh != NULL && (st = token_insert(s, c, tx->refresh, e)) != ST_OK)
		return st;
	return ST_OK;
}

static status grant_tx_check(struct store_grant_tx *tx, struct err *e)
{
	tx->conflict = STORE_TX_NONE;
	tx->conflict_replay = 0;
	if (tx->nreplays > STORE_TX_REPLAYS)
		return err_set(e, ST_INVALID, "too many replay records in one grant");
	for (size_t i = 0; i < tx->nreplays; i++)
		if (tx->replays[i].tenant_id == NULL || tx->replays[i].iss == NULL ||
		    tx->replays[i].jti == NULL)
			return err_set(e, ST_INVALID,
				       "replay record without tenant, issuer or jti");
	if ((tx->access != NULL && token_check(tx->access, e) != ST_OK) ||
	    (tx->refresh != NULL && token_check(tx->refresh, e) != ST_OK))
		return ST_INVALID;
	return ST_OK;
}

/* A grant that failed must report its conflict only when it conflicted. */
static status grant_result(struct store_grant_tx *tx, status st)
{
	if (st != ST_CONFLICT) {
		tx->conflict = STORE_TX_NONE;
		tx->conflict_replay = 0;
	}
	return st;
}

static status pg_grant_commit(struct store *base, struct store_grant_tx *tx, struct err *e)
{
	status st = grant_tx_check(tx, e);

	if (st != ST_OK)
		return st;
	return grant_result(tx, pg_write(pgs(base), grant_body, tx, e));
}

static status pg_grant_submit(struct store *base, struct store_grant_tx *tx,
			      void (*done)(void *arg, status st), void *arg, struct err *e)
{
	status st = grant_tx_check(tx, e);

	if (st != ST_OK)
		return st;
	pg_submit(pgs(base), tx->backend, grant_body, tx, e, done, arg);
	return ST_OK;
}

/* ---- signing keys ----------------------------------------------------------------- */

struct skey_add_arg {
	const struct store_signing_key *k;
	bool retire;
	int64_t publish_until;
};

static status skey_add_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	const struct skey_add_arg *x = arg;
	const struct store_signing_key *k = x->k;
	int64_t now = pg_now_or(k->created_at);
	struct pgp p = {0};
	PGresult *r;
	status st;

	/* The tenant's row lock serialises key changes of one tenant across
	 * nodes, so two nodes never both add an active key. */
	pgp_text(&p, k->tenant_id);
	if ((st = pg_run(s, c, PGQ_SKEY_LOCK, &p, &r, "locking the tenant", e)) != ST_OK)
		return st;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return err_set(e, ST_NOT_FOUND, "tenant '%s' not found", k->tenant_id);
	}
	PQclear(r);
	if (!x->retire) {
		if ((st = pg_run(s, c, PGQ_SKEY_ACTIVE, &p, &r, "looking up the active signing key",
				 e)) != ST_OK)
			return st;
		if (PQntuples(r) > 0) {
			PQclear(r);
			return err_set(e, ST_CONFLICT,
				       "the tenant already has an active signing key");
		}
		PQclear(r);
	} else {
		struct pgp q = {0};

		pgp_int(&q, now);
		pgp_int(&q, x->publish_until);
		pgp_text(&q, k->tenant_id);
		if ((st = pg_run(s, c, PGQ_SKEY_RETIRE, &q, NULL, "retiring a signing key", e)) !=
		    ST_OK)
			return st;
	}
	p = (struct pgp){0};
	pgp_text(&p, k->tenant_id);
	pgp_text(&p, k->kid);
	pgp_text(&p, k->alg);
	pgp_text(&p, k->public_jwk);
	pgp_blob(&p, k->private_enc, k->private_enc_len);
	pgp_int(&p, STORE_KEY_ACTIVE);
	pgp_int(&p, now);
	pgp_int(&p, 0);
	pgp_int(&p, 0);
	st = pg_run(s, c, PGQ_SKEY_INSERT, &p, NULL, "storing a signing key", e);
	if (st == ST_NOT_FOUND)
		st = err_set(e, ST_NOT_FOUND, "tenant '%s' not found", k->tenant_id);
	else if (st == ST_CONFLICT)
		st = err_set(e, ST_CONFLICT, "signing key '%s' already exists in this tenant",
			     k->kid);
	return st;
}

static status pg_signing_key_add(struct store *base, const struct store_signing_key *k, bool retire,
				 int64_t publish_until, struct err *e)
{
	struct skey_add_arg x = {k, retire, publish_until};

	if (k->tenant_id == NULL || k->kid == NULL || k->alg == NULL || k->public_jwk == NULL ||
	    k->private_enc == NULL || k->private_enc_len == 0)
		return err_set(e, ST_INVALID,
			       "signing key without tenant, kid, alg or key material");
	return pg_write(pgs(base), skey_add_body, &x, e);
}

static status pg_signing_keys_list(struct store *base, struct arena *a, const char *tenant_id,
				   int64_t now, struct store_signing_key **items, size_t *n,
				   struct err *e)
{
	struct pgp pp = {0};
	void *v;
	status st;

	pgp_text(&pp, tenant_id);
	pgp_int(&pp, now);
	pgp_int(&pp, LIMIT_JWKS_KEYS);
	st = pg_list(pgs(base), PGQ_SKEY_LIST, NULL, PGQ_SKEY_LIST, &pp, a, sizeof **items,
		     LIMIT_JWKS_KEYS, row_skey, &v, n, NULL, "signing keys", e);
	*items = v;
	return st;
}

/* ---- audit and purges ----------------------------------------------------------------- */

static status pg_audit_list(struct store *base, struct arena *a, const char *tenant_id,
			    struct store_page pg, struct store_audit **items, size_t *n,
			    int64_t *total, struct err *e)
{
	struct pgp cp = {0}, pp = {0};
	void *v;
	status st;

	pg = store_page_norm(pg);
	if (tenant_id != NULL) {
		pgp_text(&cp, tenant_id);
		pgp_text(&pp, tenant_id);
	}
	pgp_int(&pp, pg.limit);
	pgp_int(&pp, pg.offset);
	st = pg_list(pgs(base), tenant_id != NULL ? PGQ_AUDIT_COUNT : PGQ_AUDIT_COUNT_ALL, &cp,
		     tenant_id != NULL ? PGQ_AUDIT_PAGE : PGQ_AUDIT_PAGE_ALL, &pp, a,
		     sizeof **items, STORE_PAGE_MAX, row_audit, &v, n, total, "audit events", e);
	*items = v;
	return st;
}

#define PURGE_BATCH 500
#define PURGE_MAX   200 /* batches per table per call */

struct purge_arg {
	enum pgq id;
	int64_t now, changes;
};

static status purge_body(struct pg_store *s, struct pgconn *c, void *arg, struct err *e)
{
	struct purge_arg *x = arg;
	struct pgp p = {0};

	pgp_int(&p, x->now);
	pgp_int(&p, PURGE_BATCH);
	return run_changes(s, c, x->id, &p, &x->changes, "purging expired rows", e);
}

static status pg_purge_expired(struct store *base, int64_t now, struct err *e)
{
	const enum pgq ids[] = {PGQ_PURGE_REPLAY, PGQ_PURGE_TOKENS, PGQ_PURGE_SKEYS};

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		for (int b = 0; b < PURGE_MAX; b++) {
			struct purge_arg x = {ids[i], now, 0};
			status st = pg_write(pgs(base), purge_body, &x, e);

			if (st != ST_OK)
				return st;
			if (x.changes < PURGE_BATCH)
				break;
		}
	}
	return ST_OK;
}

const struct store_ops pg_ops = {
    .close = pg_close,
    .tenant_create = pg_tenant_create,
    .tenant_get = pg_tenant_get,
    .tenant_get_by_domain = pg_tenant_get_by_domain,
    .tenant_list = pg_tenant_list,
    .tenant_set_active = pg_tenant_set_active,
    .admin_put = pg_admin_put,
    .admin_get = pg_admin_get,
    .admin_list = pg_admin_list,
    .idp_create = pg_idp_create,
    .idp_update = pg_idp_update,
    .idp_delete = pg_idp_delete,
    .idp_get = pg_idp_get,
    .idp_get_by_name = pg_idp_get_by_name,
    .idp_find_by_issuer = pg_idp_find_by_issuer,
    .idp_list = pg_idp_list,
    .app_create = pg_app_create,
    .app_update = pg_app_update,
    .app_delete = pg_app_delete,
    .app_get = pg_app_get,
    .app_get_by_client_id = pg_app_get_by_client_id,
    .app_list = pg_app_list,
    .grant_commit = pg_grant_commit,
    .grant_submit = pg_grant_submit,
    .tokens_put = pg_tokens_put,
    .token_get = pg_token_get,
    .refresh_use = pg_refresh_use,
    .token_revoke = pg_token_revoke,
    .tokens_revoke_chain = pg_tokens_revoke_chain,
    .tokens_revoke_by = pg_tokens_revoke_by,
    .replay_record = pg_replay_record,
    .replay_seen = pg_replay_seen,
    .signing_key_add = pg_signing_key_add,
    .signing_keys_list = pg_signing_keys_list,
    .audit_list = pg_audit_list,
    .purge_expired = pg_purge_expired,
    .stats = pg_stats,
    .watch = pg_watch,
    .ping = pg_ping,
};
