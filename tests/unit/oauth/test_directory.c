/* test_directory.c - the caches and the change feed (directory.h): a change
 * another node commits, delivered as the store's listener thread would,
 * drops exactly the entries it can make wrong, so the next lookup reads the
 * store again (counted by the fixture's proxy); a row read while a change
 * came is answered but not cached; signing keys rotated elsewhere are read
 * again; losing the race to create a tenant's first key reads the winner's. */
#include "oauth_fixture.h"

#include "oauth/signkeys.h"

static int tenant_reads;

static status count_tenant_get_by_domain(struct store *s, struct arena *a, const char *domain,
					 struct store_tenant *out, struct err *e)
{
	(void)s;
	tenant_reads++;
	return fx_current->real->ops->tenant_get_by_domain(fx_current->real, a, domain, out, e);
}

static void change(struct fx *f, enum store_change_kind kind, const char *tenant_id, const char *id)
{
	struct store_change ch = {kind, tenant_id, id};

	directory_on_change(&f->c, &ch);
}

static void get_app(struct fx *f, const char *tenant_id, const char *client_id)
{
	struct app_conf *app = NULL;
	struct err e = {0};

	assert_int_equal(directory_app_by_client_id(&f->c, tenant_id, client_id, &app, &e), ST_OK);
	app_conf_free(app);
}

static void get_idp(struct fx *f, const char *tenant_id)
{
	struct idp_conf *idp = NULL;
	struct err e = {0};

	assert_int_equal(directory_idp_by_issuer(&f->c, tenant_id, FX_ISS, &idp, &e), ST_OK);
	idp_conf_free(idp);
}

static void resolve(struct fx *f, const char *domain)
{
	struct arena a;
	const char *id = NULL;

	arena_init(&a, 0);
	assert_int_equal(directory_tenant_resolve(&f->c, &a, domain, &id), ST_OK);
	arena_free(&a);
}

/* Each kind of change drops its entries and no others. */
static void test_changes_drop_entries(void **state)
{
	struct fx *f = *state;

	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	fx_idp(f, f->acme_id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER), NULL, FX_SECRET);
	fx_app(f, f->acme_id, FX_CLIENT2, json_pack("[s]", GRANT_TYPE_JWT_BEARER), NULL, FX_SECRET);
	f->proxy_ops.tenant_get_by_domain = count_tenant_get_by_domain;
	tenant_reads = 0;
	fx_reset_calls(f);

	/* Cached: a second lookup reads nothing. */
	get_app(f, f->super_id, FX_CLIENT);
	get_app(f, f->acme_id, FX_CLIENT2);
	get_idp(f, f->super_id);
	get_idp(f, f->acme_id);
	resolve(f, "carbon.super");
	resolve(f, "acme.com");
	get_app(f, f->super_id, FX_CLIENT);
	get_idp(f, f->super_id);
	resolve(f, "acme.com");
	assert_int_equal(f->calls[FX_APP_GET], 2);
	assert_int_equal(f->calls[FX_IDP_FIND], 2);
	assert_int_equal(tenant_reads, 2);

	/* An application of acme changed: acme's applications are read again,
	 * the super tenant's and every IdP are not. */
	change(f, STORE_CHANGE_APP, f->acme_id, NULL);
	get_app(f, f->acme_id, FX_CLIENT2);
	get_app(f, f->super_id, FX_CLIENT);
	get_idp(f, f->acme_id);
	assert_int_equal(f->calls[FX_APP_GET], 3);
	assert_int_equal(f->calls[FX_IDP_FIND], 2);

	/* An IdP of the super tenant. */
	change(f, STORE_CHANGE_IDP, f->super_id, "some-idp-id");
	get_idp(f, f->super_id);
	get_idp(f, f->acme_id);
	get_app(f, f->super_id, FX_CLIENT);
	assert_int_equal(f->calls[FX_IDP_FIND], 3);
	assert_int_equal(f->calls[FX_APP_GET], 3);

	/* A tenant, by domain (any case). */
	change(f, STORE_CHANGE_TENANT, f->acme_id, "ACME.com");
	resolve(f, "acme.com");
	resolve(f, "carbon.super");
	assert_int_equal(tenant_reads, 3);

	/* A signing-key change touches none of these. */
	change(f, STORE_CHANGE_SIGNING_KEY, f->acme_id, NULL);
	get_app(f, f->acme_id, FX_CLIENT2);
	get_idp(f, f->acme_id);
	resolve(f, "acme.com");
	assert_int_equal(f->calls[FX_APP_GET], 3);
	assert_int_equal(f->calls[FX_IDP_FIND], 3);
	assert_int_equal(tenant_reads, 3);

	/* After a reconnect: everything is read again, once. */
	change(f, STORE_CHANGE_ALL, NULL, NULL);
	get_app(f, f->super_id, FX_CLIENT);
	get_app(f, f->acme_id, FX_CLIENT2);
	get_idp(f, f->super_id);
	get_idp(f, f->acme_id);
	resolve(f, "carbon.super");
	resolve(f, "acme.com");
	get_app(f, f->super_id, FX_CLIENT);
	get_idp(f, f->acme_id);
	resolve(f, "acme.com");
	assert_int_equal(f->calls[FX_APP_GET], 5);
	assert_int_equal(f->calls[FX_IDP_FIND], 5);
	assert_int_equal(tenant_reads, 5);
}

/* A change that arrives while a lookup reads the store: the lookup answers
 * with the row it read, but does not cache it, so the next lookup reads the
 * row as it is after the change. */
static bool change_during_read;

static status app_get_then_change(struct store *s, struct arena *a, const char *tenant_id,
				  const char *client_id, struct store_app *out, struct err *e)
{
	status st;

	(void)s;
	fx_current->calls[FX_APP_GET]++;
	st = fx_current->real->ops->app_get_by_client_id(fx_current->real, a, tenant_id, client_id,
							 out, e);
	if (change_during_read) {
		struct store_change ch = {STORE_CHANGE_APP, tenant_id, NULL};
		change_during_read = false;
		directory_on_change(&fx_current->c, &ch);
	}
	return st;
}

static void test_change_during_read(void **state)
{
	struct fx *f = *state;

	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER), NULL, FX_SECRET);
	f->proxy_ops.app_get_by_client_id = app_get_then_change;
	fx_reset_calls(f);
	change_during_read = true;
	get_app(f, f->super_id, FX_CLIENT);
	get_app(f, f->super_id, FX_CLIENT); /* not cached: read again */
	get_app(f, f->super_id, FX_CLIENT); /* now cached */
	assert_int_equal(f->calls[FX_APP_GET], 2);
}

/* Another node rotates the tenant's key: without the feed this node keeps
 * signing with the old key for SIGNKEYS_RELOAD; with it, the next use reads
 * the new one. */
static void test_signing_key_change(void **state)
{
	struct fx *f = *state;
	struct signkeys *other = NULL;
	struct jose_key *k1 = NULL, *k2 = NULL;
	char kid[JOSE_THUMBPRINT_LEN];
	struct err e = {0};

	assert_int_equal(signkeys_current(f->c.signkeys, f->acme_id, &k1, &e), ST_OK);
	assert_int_equal(signkeys_new(f->cfg, f->real, f->c.secret, sizeof f->c.secret, &other, &e),
			 ST_OK);
	assert_int_equal(signkeys_rotate(other, f->acme_id, kid, &e), ST_OK);
	assert_string_not_equal(kid, k1->kid);
	/* Cached: still the old key. */
	assert_int_equal(signkeys_current(f->c.signkeys, f->acme_id, &k2, &e), ST_OK);
	assert_string_equal(k2->kid, k1->kid);
	jose_key_free(k2);
	/* Another tenant's change does not reload this one. */
	change(f, STORE_CHANGE_SIGNING_KEY, f->super_id, NULL);
	assert_int_equal(signkeys_current(f->c.signkeys, f->acme_id, &k2, &e), ST_OK);
	assert_string_equal(k2->kid, k1->kid);
	jose_key_free(k2);
	change(f, STORE_CHANGE_SIGNING_KEY, f->acme_id, NULL);
	assert_int_equal(signkeys_current(f->c.signkeys, f->acme_id, &k2, &e), ST_OK);
	assert_string_equal(k2->kid, kid);
	jose_key_free(k2);
	jose_key_free(k1);
	signkeys_free(other);
}

/* Two nodes find no key for a tenant at once; this one loses the race to
 * store its new key (ST_CONFLICT) and signs with the winner's. */
static struct signkeys *winner;
static int key_adds;

static status add_after_winner(struct store *s, const struct store_signing_key *k, bool retire,
			       int64_t publish_until, struct err *e)
{
	struct jose_key *w = NULL;

	(void)s;
	(void)k;
	(void)retire;
	(void)publish_until;
	key_adds++;
	assert_int_equal(signkeys_current(winner, fx_current->acme_id, &w, NULL), ST_OK);
	jose_key_free(w);
	return err_set(e, ST_CONFLICT, "the tenant already has an active key");
}

static status list_real(struct store *s, struct arena *a, const char *tenant_id, int64_t now,
			struct store_signing_key **items, size_t *n, struct err *e)
{
	(void)s;
	return fx_current->real->ops->signing_keys_list(fx_current->real, a, tenant_id, now, items,
							n, e);
}

static void test_signing_key_race(void **state)
{
	struct fx *f = *state;
	struct store_ops ops = {0};
	struct store lossy = {.ops = &ops};
	struct signkeys *loser = NULL;
	struct jose_key *kw = NULL, *kl = NULL;
	struct err e = {0};

	/* What signkeys reads goes to the real store; its write loses. */
	ops.signing_keys_list = list_real;
	ops.signing_key_add = add_after_winner;
	assert_int_equal(
	    signkeys_new(f->cfg, f->real, f->c.secret, sizeof f->c.secret, &winner, &e), ST_OK);
	assert_int_equal(signkeys_new(f->cfg, &lossy, f->c.secret, sizeof f->c.secret, &loser, &e),
			 ST_OK);
	key_adds = 0;
	assert_int_equal(signkeys_current(loser, f->acme_id, &kl, &e), ST_OK);
	assert_int_equal(key_adds, 1);
	assert_int_equal(signkeys_current(winner, f->acme_id, &kw, &e), ST_OK);
	assert_string_equal(kl->kid, kw->kid);
	jose_key_free(kw);
	jose_key_free(kl);
	signkeys_free(loser);
	signkeys_free(winner);
	winner = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_changes_drop_entries, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_change_during_read, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_signing_key_change, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_signing_key_race, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
