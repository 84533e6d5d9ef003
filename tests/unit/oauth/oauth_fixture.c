/* oauth_fixture.c - see oauth_fixture.h. */
#include "oauth_fixture.h"

#include "oauth/signkeys.h"

/* The proxy: the real store, plus counters. One fixture at a time. */
struct fx *fx_current;

static status fx_fail_forced(status st, struct err *e)
{
	return err_set(e, st, "injected failure");
}

#define FX_WRAP(field, idx, params, args)                                                          \
	static status fx_##field params                                                            \
	{                                                                                          \
		(void)s;                                                                           \
		fx_current->calls[idx]++;                                                          \
		if (fx_current->force[idx] != ST_OK)                                               \
			return fx_fail_forced(fx_current->force[idx], e);                          \
		return fx_current->real->ops->field args;                                          \
	}

FX_WRAP(app_get_by_client_id, FX_APP_GET,
	(struct store * s, struct arena *a, const char *t, const char *id, struct store_app *o,
	 struct err *e),
	(fx_current->real, a, t, id, o, e))
FX_WRAP(idp_find_by_issuer, FX_IDP_FIND,
	(struct store * s, struct arena *a, const char *t, const char *iss, struct store_idp **o,
	 size_t *n, struct err *e),
	(fx_current->real, a, t, iss, o, n, e))
FX_WRAP(idp_get_by_name, FX_IDP_BY_NAME,
	(struct store * s, struct arena *a, const char *t, const char *n, struct store_idp *o,
	 struct err *e),
	(fx_current->real, a, t, n, o, e))
FX_WRAP(replay_record, FX_REPLAY,
	(struct store * s, const char *t, const char *iss, const char *jti, int64_t x, int64_t now,
	 struct err *e),
	(fx_current->real, t, iss, jti, x, now, e))
FX_WRAP(replay_seen, FX_REPLAY_SEEN,
	(struct store * s, const char *t, const char *iss, const char *jti, int64_t now, bool *seen,
	 struct err *e),
	(fx_current->real, t, iss, jti, now, seen, e))
FX_WRAP(tokens_put, FX_TOKENS_PUT,
	(struct store * s, const struct store_token *at, const struct store_token *rt,
	 struct err *e),
	(fx_current->real, at, rt, e))
FX_WRAP(token_get, FX_TOKEN_GET,
	(struct store * s, struct arena *a, const unsigned char h[SHA256_LEN],
	 struct store_token *o, struct err *e),
	(fx_current->real, a, h, o, e))
FX_WRAP(refresh_use, FX_REFRESH_USE,
	(struct store * s, struct arena *a, const unsigned char h[SHA256_LEN],
	 struct store_token *o, struct err *e),
	(fx_current->real, a, h, o, e))
FX_WRAP(tokens_revoke_chain, FX_REVOKE_CHAIN, (struct store * s, const char *chain, struct err *e),
	(fx_current->real, chain, e))

/* Counts a grant transaction as the calls it stands for; the forced
 * failure of any of them, or ST_OK. */
static status fx_grant_count(const struct store_grant_tx *tx, struct err *e)
{
	int uses[FX_NCALLS] = {0};

	uses[FX_GRANT_COMMIT] = 1;
	uses[FX_REPLAY] = (int)tx->nreplays;
	uses[FX_REFRESH_USE] = tx->refresh_use != NULL;
	uses[FX_TOKENS_PUT] = tx->access != NULL;
	for (int i = 0; i < FX_NCALLS; i++)
		fx_current->calls[i] += uses[i];
	for (int i = 0; i < FX_NCALLS; i++)
		if (uses[i] > 0 && fx_current->force[i] != ST_OK)
			return fx_fail_forced(fx_current->force[i], e);
	return ST_OK;
}

static status fx_grant_commit(struct store *s, struct store_grant_tx *tx, struct err *e)
{
	status st = fx_grant_count(tx, e);

	(void)s;
	return st != ST_OK ? st : fx_current->real->ops->grant_commit(fx_current->real, tx, e);
}

static status fx_grant_submit(struct store *s, struct store_grant_tx *tx,
			      void (*done)(void *arg, status st), void *arg, struct err *e)
{
	status st = fx_grant_count(tx, e);

	(void)s;
	return st != ST_OK
		   ? st
		   : fx_current->real->ops->grant_submit(fx_current->real, tx, done, arg, e);
}

void fx_reset_calls(struct fx *f)
{
	memset(f->calls, 0, sizeof f->calls);
}

int fx_total_calls(const struct fx *f)
{
	int n = 0;
	for (int i = 0; i < FX_NCALLS; i++)
		n += f->calls[i];
	return n;
}

char *fx_new_id(struct fx *f)
{
	char *id = arena_alloc(&f->a, UUID_STR_LEN + 1);
	assert_non_null(id);
	assert_int_equal(uuid_v4(id), ST_OK);
	return id;
}

void fx_tenant(struct fx *f, const char *domain, char out[UUID_STR_LEN + 1])
{
	struct store_tenant t = {.domain = (char *)domain, .active = true};
	struct err e = {0};

	assert_int_equal(uuid_v4(out), ST_OK);
	t.id = out;
	assert_int_equal(f->real->ops->tenant_create(f->real, &t, NULL, NULL, &e), ST_OK);
}

/* RSA key generation is slow (seconds under valgrind): the test keys are
 * made once per test program and shared by every test's fixture. */
static struct jose_key *shared_rsa, *shared_rsa_other, *shared_ec;

int fx_group_setup(void **state)
{
	struct err e = {0};

	(void)state;
	if (jose_key_generate(JOSE_ALG_RS256, &shared_rsa, &e) != ST_OK ||
	    jose_key_generate(JOSE_ALG_RS256, &shared_rsa_other, &e) != ST_OK ||
	    jose_key_generate(JOSE_ALG_ES256, &shared_ec, &e) != ST_OK)
		return -1;
	return 0;
}

int fx_group_teardown(void **state)
{
	(void)state;
	jose_key_free(shared_rsa);
	jose_key_free(shared_rsa_other);
	jose_key_free(shared_ec);
	return 0;
}

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char text[512];
	char *const noenv[] = {NULL};
	struct err e = {0};

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/grantd-oauth-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof text, "[server]\ndata_dir = \"%s\"\n[database]\npath = \"%s/t.db\"\n",
		 f->dir, f->dir);
	if (config_load_buffer("test.toml", text, strlen(text), noenv, &f->cfg, &e) != ST_OK)
		fail_msg("config: %s", e.msg);
	if (store_open(f->cfg, &f->real, &e) != ST_OK)
		fail_msg("store: %s", e.msg);
	fx_current = f;
	f->proxy_ops = *f->real->ops;
	f->proxy_ops.app_get_by_client_id = fx_app_get_by_client_id;
	f->proxy_ops.idp_find_by_issuer = fx_idp_find_by_issuer;
	f->proxy_ops.idp_get_by_name = fx_idp_get_by_name;
	f->proxy_ops.replay_record = fx_replay_record;
	f->proxy_ops.replay_seen = fx_replay_seen;
	f->proxy_ops.tokens_put = fx_tokens_put;
	f->proxy_ops.token_get = fx_token_get;
	f->proxy_ops.refresh_use = fx_refresh_use;
	f->proxy_ops.tokens_revoke_chain = fx_tokens_revoke_chain;
	f->proxy_ops.grant_commit = fx_grant_commit;
	f->proxy_ops.grant_submit = fx_grant_submit;
	f->proxy.ops = &f->proxy_ops;

	f->c.cfg = f->cfg;
	f->c.store = &f->proxy;
	assert_int_equal(rand_bytes(f->c.secret, sizeof f->c.secret), ST_OK);
	f->c.dir = directory_new();
	assert_non_null(f->c.dir);
	if (signkeys_new(f->cfg, f->real, f->c.secret, sizeof f->c.secret, &f->c.signkeys, &e) !=
	    ST_OK)
		fail_msg("signkeys: %s", e.msg);
	snprintf(f->c.base_url, sizeof f->c.base_url, "%s", FX_BASE);
	arena_init(&f->a, 0);

	fx_tenant(f, "carbon.super", f->super_id);
	fx_tenant(f, "acme.com", f->acme_id);
	assert_non_null(shared_rsa); /* fx_group_setup ran */
	jose_key_ref(shared_rsa);
	jose_key_ref(shared_rsa_other);
	jose_key_ref(shared_ec);
	f->idp_key = shared_rsa;
	f->other_key = shared_rsa_other;
	f->ec_key = shared_ec;
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	directory_free(f->c.dir);
	signkeys_free(f->c.signkeys);
	store_close(f->real);
	jose_key_free(f->idp_key);
	jose_key_free(f->other_key);
	jose_key_free(f->ec_key);
	arena_free(&f->a);
	snprintf(p, sizeof p, "%s/t.db", f->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/t.db-wal", f->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/t.db-shm", f->dir);
	unlink(p);
	rmdir(f->dir);
	config_free(f->cfg);
	free(f);
	fx_current = NULL;
	return 0;
}

/* The config is the fixture's own: tests may tune it. */
struct config *fx_cfg(struct fx *f)
{
	return f->cfg;
}

/* {"keys":[<public JWK of key>]} */
json_t *fx_jwks(struct jose_key *key)
{
	json_t *jwk = NULL;
	struct err e = {0};

	assert_int_equal(jose_key_public_jwk(key, &jwk, &e), ST_OK);
	return json_pack("{s:[o]}", "keys", jwk);
}

/* A self-signed certificate for `key`, valid from now+nb to now+na seconds. */
char *fx_cert_pem(struct jose_key *key, long nb, long na)
{
	X509 *x = X509_new();
	X509_NAME *name;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, *data;
	long n;

	assert_non_null(x);
	assert_non_null(b);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), nb));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_pubkey(x, key->pkey), 1);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test idp", -1,
				   -1, 0);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, key->pkey, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	pem = strndup(data, (size_t)n);
	assert_non_null(pem);
	BIO_free(b);
	X509_free(x);
	return pem;
}

/* Registers an IdP (doc stolen) in the tenant as the admin API would, and
 * tells the directory. Returns its id (in the fixture arena). */
char *fx_idp(struct fx *f, const char *tenant_id, json_t *doc)
{
	struct store_idp r = {0};
	struct err e = {0};
	const json_t *iss = json_object_get(doc, "idpIssuerName");
	const json_t *en = json_object_get(doc, "isEnabled");
	char *text = json_dumps(doc, JSON_COMPACT);

	assert_non_null(text);
	r.id = fx_new_id(f);
	r.tenant_id = (char *)tenant_id;
	r.name = (char *)json_string_value(json_object_get(doc, "name"));
	r.issuer = (char *)(json_is_string(iss) ? json_string_value(iss) : "");
	r.enabled = en == NULL || json_is_true(en);
	r.doc = text;
	if (f->real->ops->idp_create(f->real, &r, NULL, &e) != ST_OK)
		fail_msg("idp_create: %s", e.msg);
	directory_idp_changed(&f->c, tenant_id, r.id);
	free(text);
	json_decref(doc);
	return r.id;
}

/* Replaces the stored document of IdP `id` (doc stolen). */
void fx_idp_update(struct fx *f, const char *tenant_id, const char *id, json_t *doc)
{
	struct store_idp r = {0};
	struct err e = {0};
	const json_t *iss = json_object_get(doc, "idpIssuerName");
	const json_t *en = json_object_get(doc, "isEnabled");
	char *text = json_dumps(doc, JSON_COMPACT);

	r.id = (char *)id;
	r.tenant_id = (char *)tenant_id;
	r.name = (char *)json_string_value(json_object_get(doc, "name"));
	r.issuer = (char *)(json_is_string(iss) ? json_string_value(iss) : "");
	r.enabled = en == NULL || json_is_true(en);
	r.doc = text;
	if (f->real->ops->idp_update(f->real, &r, NULL, &e) != ST_OK)
		fail_msg("idp_update: %s", e.msg);
	directory_idp_changed(&f->c, tenant_id, id);
	free(text);
	json_decref(doc);
}

/* The usual IdP: issuer FX_ISS, alias FX_ALIAS, inline JWKS of idp_key. */
json_t *fx_idp_doc(struct fx *f, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:{s:o}}", "name", name, "idpIssuerName", FX_ISS, "alias",
			 FX_ALIAS, "certificate", "jwks", fx_jwks(f->idp_key));
}

/* Registers an application; `oidc_extra` (stolen, may be NULL) is merged
 * into its oidc object. `secret` NULL = public client. */
char *fx_app(struct fx *f, const char *tenant_id, const char *client_id, json_t *grants,
	     json_t *oidc_extra, const char *secret)
{
	struct store_app r = {0};
	struct err e = {0};
	json_t *oidc = json_pack("{s:s, s:o}", "clientId", client_id, "grantTypes", grants);
	json_t *doc;
	char *text;

	if (oidc_extra != NULL) {
		json_object_update(oidc, oidc_extra);
		json_decref(oidc_extra);
	}
	doc = json_pack("{s:s, s:{s:o}}", "name", client_id, "inboundProtocolConfiguration", "oidc",
			oidc);
	text = json_dumps(doc, JSON_COMPACT);
	r.id = fx_new_id(f);
	r.tenant_id = (char *)tenant_id;
	r.name = (char *)client_id;
	r.client_id = (char *)client_id;
	r.has_secret = secret != NULL;
	if (secret != NULL)
		assert_int_equal(oauth_keyed_hash(&f->c, sv_from(secret), r.secret_hash), ST_OK);
	r.doc = text;
	if (f->real->ops->app_create(f->real, &r, NULL, &e) != ST_OK)
		fail_msg("app_create: %s", e.msg);
	directory_app_changed(&f->c, tenant_id, client_id);
	free(text);
	json_decref(doc);
	return r.id;
}

/* Default claims, valid at `now` for the usual IdP. */
json_t *fx_claims(struct fx *f, int64_t now)
{
	char jti[32];

	snprintf(jti, sizeof jti, "jti-%d-%lld", ++f->jti_seq, (long long)now);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", FX_ISS, "sub", "alice", "aud",
			 FX_ALIAS, "exp", (json_int_t)(now + 300), "iat", (json_int_t)now, "jti",
			 jti);
}

/* Signs `claims` (stolen); the result is in the fixture arena. */
const char *fx_sign(struct fx *f, struct jose_key *key, enum jose_alg alg, const char *kid,
		    json_t *claims)
{
	struct buf b = {0};
	struct err e = {0};
	char *out;

	if (jws_sign(&b, alg, key, kid, NULL, claims, &e) != ST_OK)
		fail_msg("jws_sign: %s", e.msg);
	out = arena_strndup(&f->a, b.p, b.n);
	buf_free(&b);
	json_decref(claims);
	return out;
}

/* A compact JWS from raw header and payload JSON texts and a fake
 * signature, for inputs jws_sign() would never produce. */
const char *fx_raw(struct fx *f, const char *header, const char *payload, const char *sig)
{
	struct buf b = {0};
	char *out;

	assert_int_equal(b64url_encode_buf(&b, (const unsigned char *)header, strlen(header)),
			 ST_OK);
	assert_int_equal(buf_putc(&b, '.'), ST_OK);
	assert_int_equal(b64url_encode_buf(&b, (const unsigned char *)payload, strlen(payload)),
			 ST_OK);
	assert_int_equal(buf_putc(&b, '.'), ST_OK);
	assert_int_equal(buf_append_cstr(&b, sig), ST_OK);
	out = arena_strndup(&f->a, b.p, b.n);
	buf_free(&b);
	return out;
}

bool fx_has(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL) {
		print_error("\"%s\" lacks \"%s\"\n", hay ? hay : "(null)", needle);
		return false;
	}
	return true;
}
