/* signkeys.c - per-tenant token-signing keys: creation, encrypted storage,
 * the per-tenant cache, the JWKS document, rotation. See signkeys.h. */
#include "oauth/signkeys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "oauth/app_conf.h"

#define WRAP_VERSION   0x01
#define AAD_MAX        (STORE_ID_LEN + LIMIT_TENANT_DOMAIN + JOSE_THUMBPRINT_LEN + 2)
#define SIGNKEYS_RETRY 5 /* seconds before a failed re-read is tried again */

/* One tenant's cached keys. Immutable once published in the list: a reload
 * replaces the whole entry. */
struct entry {
	char *tenant_id;
	struct jose_key *active; /* one reference */
	char *jwks;              /* {"keys":[...]} */
	size_t jwks_len;
	int64_t loaded; /* monotonic seconds */
	struct entry *next;
};

struct signkeys {
	const struct config *cfg;
	struct store *store;
	enum jose_alg alg;
	unsigned char wrap[AEAD_KEY_LEN];
	pthread_mutex_t mu; /* guards `list` and `gen` */
	struct entry *list;
	/* Bumped by signkeys_changed: a load that ran across a change is
	 * installed as already due, so the next use reads the store again. */
	uint64_t gen;
};

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void entry_free(struct entry *en)
{
	if (en == NULL)
		return;
	jose_key_free(en->active);
	free(en->tenant_id);
	free(en->jwks);
	free(en);
}

status signkeys_new(const struct config *cfg, struct store *store, const unsigned char *secret,
		    size_t secret_len, struct signkeys **out, struct err *e)
{
	const char *name = cfg->oauth.access_token.jwt_signing_algorithm;
	struct signkeys *sk;
	enum jose_alg alg;

	*out = NULL;
	if (jose_alg_parse(sv_from(name != NULL ? name : "RS256"), &alg, e) != ST_OK)
		return err_set(e, ST_INVALID, "jwt_signing_algorithm: %s", e ? e->msg : "");
	if ((sk = calloc(1, sizeof *sk)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	sk->cfg = cfg;
	sk->store = store;
	sk->alg = alg;
	if (hkdf_sha256(secret, secret_len, NULL, 0, SIGNKEYS_WRAP_INFO, strlen(SIGNKEYS_WRAP_INFO),
			sk->wrap, sizeof sk->wrap) != ST_OK ||
	    pthread_mutex_init(&sk->mu, NULL) != 0) {
		mem_wipe(sk->wrap, sizeof sk->wrap);
		free(sk);
		return err_set(e, ST_INTERNAL, "cannot derive the signing-key wrapping key");
	}
	*out = sk;
	return ST_OK;
}

void signkeys_free(struct signkeys *sk)
{
	struct entry *en, *next;

	if (sk == NULL)
		return;
	for (en = sk->list; en != NULL; en = next) {
		next = en->next;
		entry_free(en);
	}
	pthread_mutex_destroy(&sk->mu);
	mem_wipe(sk->wrap, sizeof sk->wrap);
	free(sk);
}

/* "<tenant id>\0<kid>": binds a sealed key to its row. */
static size_t aad(char out[AAD_MAX], const char *tenant_id, const char *kid)
{
	size_t t = strlen(tenant_id), k = strlen(kid);

	if (t + 1 + k > AAD_MAX)
		return 0;
	memcpy(out, tenant_id, t);
	out[t] = '\0';
	memcpy(out + t + 1, kid, k);
	return t + 1 + k;
}

status signkeys_seal(const unsigned char wrap[AEAD_KEY_LEN], const char *tenant_id, const char *kid,
		     struct sv pem, struct buf *out)
{
	char ad[AAD_MAX];
	size_t adn = aad(ad, tenant_id, kid);
	status st;

	if (adn == 0)
		return ST_INVALID;
	if ((st = buf_putc(out, WRAP_VERSION)) != ST_OK)
		return st;
	return aead_seal(wrap, ad, adn, pem.p, pem.n, out);
}

status signkeys_open(const unsigned char wrap[AEAD_KEY_LEN], const char *tenant_id, const char *kid,
		     const unsigned char *p, size_t n, struct buf *out)
{
	char ad[AAD_MAX];
	size_t adn = aad(ad, tenant_id, kid);

	if (adn == 0 || n < 1 || p[0] != WRAP_VERSION)
		return ST_INVALID;
	return aead_open(wrap, ad, adn, p + 1, n - 1, out);
}

/* The longest access-token lifetime a token of this tenant can have: the
 * server's defaults and each application's own, plus the skew. */
static status longest_ttl(struct signkeys *sk, const char *tenant_id, int64_t *out, struct err *e)
{
	const struct config *cfg = sk->cfg;
	int64_t ttl = cfg->oauth.token_validation.user_access_token_validity;
	struct store_page pg = {STORE_PAGE_MAX, 0};
	struct arena a;
	status st = ST_OK;

	if (cfg->oauth.token_validation.app_access_token_validity > ttl)
		ttl = cfg->oauth.token_validation.app_access_token_validity;
	arena_init(&a, 0);
	for (;;) {
		struct store_app *apps;
		size_t n;
		int64_t total;

		st = sk->store->ops->app_list(sk->store, &a, tenant_id, pg, &apps, &n, &total, e);
		if (st != ST_OK)
			break;
		for (size_t i = 0; i < n; i++) {
			struct app_conf *c;
			if (app_conf_load(&apps[i], cfg, &c, NULL) != ST_OK)
				continue; /* reported where the app is used */
			if (c->user_access_token_ttl > ttl)
				ttl = c->user_access_token_ttl;
			if (c->app_access_token_ttl > ttl)
				ttl = c->app_access_token_ttl;
			app_conf_free(c);
		}
		pg.offset += (int64_t)n;
		if (n == 0 || pg.offset >= total)
			break;
	}
	arena_free(&a);
	*out = ttl + cfg->oauth.timestamp_skew;
	return st;
}

/* Generates a key, seals it and stores it as the tenant's active key. */
static status create_key(struct signkeys *sk, const char *tenant_id, bool retire,
			 char kid_out[JOSE_THUMBPRINT_LEN], struct err *e)
{
	struct jose_key *key = NULL;
	struct buf pem = {0}, sealed = {0};
	json_t *jwk = NULL;
	char *jwk_text = NULL;
	int64_t now = (int64_t)time(NULL), retain = 0;
	struct store_signing_key row = {0};
	status st;

	if (retire && (st = longest_ttl(sk, tenant_id, &retain, e)) != ST_OK)
		return st;
	if ((st = jose_key_generate(sk->alg, &key, e)) != ST_OK)
		return st;
	if ((st = jose_key_private_pem(key, &pem, e)) != ST_OK)
		goto out;
	if ((st = signkeys_seal(sk->wrap, tenant_id, key->kid, (struct sv){pem.p, pem.n},
				&sealed)) != ST_OK) {
		st = err_set(e, st, "cannot encrypt the new signing key");
		goto out;
	}
	if ((st = jose_key_public_jwk(key, &jwk, e)) != ST_OK)
		goto out;
	if ((jwk_text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	row.tenant_id = (char *)tenant_id;
	row.kid = key->kid;
	row.alg = (char *)jose_alg_name(sk->alg);
	row.public_jwk = jwk_text;
	row.private_enc = (unsigned char *)sealed.p;
	row.private_enc_len = sealed.n;
	row.created_at = now;
	st = sk->store->ops->signing_key_add(sk->store, &row, retire, now + retain, e);
	if (st == ST_OK) {
		log_info("tenant %s: new %s signing key %s", tenant_id, row.alg, key->kid);
		if (kid_out != NULL)
			str_copy(kid_out, JOSE_THUMBPRINT_LEN, key->kid);
	}
out:
	if (pem.p != NULL)
		mem_wipe(pem.p, pem.n);
	buf_free(&pem);
	buf_free(&sealed);
	free(jwk_text);
	json_decref(jwk);
	jose_key_free(key);
	return st;
}

/* The private key of a stored row. */
static status unseal(struct signkeys *sk, const struct store_signing_key *row,
		     struct jose_key **out, struct err *e)
{
	struct buf pem = {0};
	enum jose_alg alg;
	status st;

	if (jose_alg_parse(sv_from(row->alg), &alg, NULL) != ST_OK)
		return err_set(e, ST_INTERNAL, "signing key %s has an unknown alg", row->kid);
	if (signkeys_open(sk->wrap, row->tenant_id, row->kid, row->private_enc,
			  row->private_enc_len, &pem) != ST_OK) {
		buf_free(&pem);
		return err_set(e, ST_INTERNAL,
			       "signing key %s does not decrypt: was the server secret replaced?",
			       row->kid);
	}
	st = jose_key_from_private_pem((struct sv){pem.p, pem.n}, alg, out, e);
	mem_wipe(pem.p, pem.n);
	buf_free(&pem);
	if (st == ST_OK && strcmp((*out)->kid, row->kid) != 0) {
		jose_key_free(*out);
		*out = NULL;
		st = err_set(e, ST_INTERNAL, "signing key %s does not match its kid", row->kid);
	}
	return st;
}

/* Reads the tenant's keys (creating the first, or a key of a newly
 * configured algorithm) into a new entry. `old` (a reference the caller
 * holds, may be NULL) is reused when the active kid is unchanged. */
static status load(struct signkeys *sk, const char *tenant_id, struct jose_key *old,
		   struct entry **out, struct err *e)
{
	struct store_signing_key *rows = NULL;
	const struct store_signing_key *act = NULL;
	struct entry *en = NULL;
	struct buf jwks = {0};
	struct arena a;
	size_t n = 0;
	status st;

	arena_init(&a, 0);
	for (int attempt = 0; attempt < 3; attempt++) {
		st = sk->store->ops->signing_keys_list(sk->store, &a, tenant_id,
						       (int64_t)time(NULL), &rows, &n, e);
		if (st != ST_OK)
			goto out;
		act = n > 0 && rows[0].status == STORE_KEY_ACTIVE ? &rows[0] : NULL;
		if (act != NULL && strcmp(act->alg, jose_alg_name(sk->alg)) == 0)
			break;
		/* None yet, or of another algorithm: make one. Losing the race
		 * to another thread or node (ST_CONFLICT) is fine: read again. */
		st = create_key(sk, tenant_id, act != NULL, NULL, e);
		if (st != ST_OK && st != ST_CONFLICT)
			goto out;
		act = NULL;
	}
	if (act == NULL) {
		st = err_set(e, ST_INTERNAL, "no active signing key for the tenant");
		goto out;
	}
	if ((en = calloc(1, sizeof *en)) == NULL || (en->tenant_id = strdup(tenant_id)) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if (old != NULL && strcmp(old->kid, act->kid) == 0) {
		jose_key_ref(old);
		en->active = old;
	} else if ((st = unseal(sk, act, &en->active, e)) != ST_OK) {
		goto out;
	}
	st = buf_append_cstr(&jwks, "{\"keys\":[");
	for (size_t i = 0; i < n && st == ST_OK; i++) {
		if (i > 0)
			st = buf_putc(&jwks, ',');
		if (st == ST_OK)
			st = buf_append_cstr(&jwks, rows[i].public_jwk);
	}
	if (st == ST_OK)
		st = buf_append_cstr(&jwks, "]}");
	if (st != ST_OK) {
		st = err_set(e, st, "the JWKS document does not fit");
		goto out;
	}
	en->jwks_len = jwks.n;
	en->jwks = buf_steal(&jwks);
	en->loaded = mono_now();
	*out = en;
	en = NULL;
out:
	buf_free(&jwks);
	entry_free(en);
	arena_free(&a);
	return st;
}

/* A fresh-enough entry for the tenant: `*key` (a new reference, may be
 * NULL if not wanted) and a copy of the JWKS (if `a`). */
static status lookup(struct signkeys *sk, const char *tenant_id, struct jose_key **key,
		     struct arena *a, const char **jwks, size_t *jwks_len, struct err *e)
{
	struct entry *en, **pp, *fresh = NULL, *stale = NULL;
	struct jose_key *old = NULL;
	int64_t now = mono_now();
	uint64_t gen;
	status st = ST_OK;

	pthread_mutex_lock(&sk->mu);
	gen = sk->gen;
	for (en = sk->list; en != NULL; en = en->next)
		if (strcmp(en->tenant_id, tenant_id) == 0)
			break;
	if (en != NULL && now - en->loaded < SIGNKEYS_RELOAD)
		goto found;
	/* Load without the lock: the store read (and, once per tenant, key
	 * generation) must not hold up the other tenants. */
	if (en != NULL) {
		jose_key_ref(en->active);
		old = en->active;
	}
	pthread_mutex_unlock(&sk->mu);
	st = load(sk, tenant_id, old, &fresh, e);
	jose_key_free(old);
	pthread_mutex_lock(&sk->mu);
	for (pp = &sk->list; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->tenant_id, tenant_id) == 0)
			break;
	if (st != ST_OK) {
		en = *pp;
		if (en == NULL)
			goto unlock;
		log_warn("tenant %s: re-reading signing keys failed, keeping the cached ones: %s",
			 tenant_id, e != NULL ? e->msg : "");
		/* Next attempt in SIGNKEYS_RETRY seconds, not on every request. */
		en->loaded = now - SIGNKEYS_RELOAD + SIGNKEYS_RETRY;
		st = ST_OK;
		goto found;
	}
	stale = *pp;
	fresh->next = stale != NULL ? stale->next : NULL;
	*pp = fresh;
	en = fresh;
	if (sk->gen != gen)
		en->loaded = now - SIGNKEYS_RELOAD; /* may predate the change */
found:
	if (key != NULL) {
		jose_key_ref(en->active);
		*key = en->active;
	}
	if (a != NULL) {
		char *copy = arena_strndup(a, en->jwks, en->jwks_len);
		if (copy == NULL) {
			if (key != NULL) {
				jose_key_free(*key);
				*key = NULL;
			}
			st = err_set(e, ST_NOMEM, "out of memory");
			goto unlock;
		}
		*jwks = copy;
		*jwks_len = en->jwks_len;
	}
unlock:
	pthread_mutex_unlock(&sk->mu);
	entry_free(stale);
	return st;
}

status signkeys_current(struct signkeys *sk, const char *tenant_id, struct jose_key **out,
			struct err *e)
{
	*out = NULL;
	return lookup(sk, tenant_id, out, NULL, NULL, NULL, e);
}

status signkeys_jwks(struct signkeys *sk, struct arena *a, const char *tenant_id, const char **json,
		     size_t *len, struct err *e)
{
	return lookup(sk, tenant_id, NULL, a, json, len, e);
}

status signkeys_rotate(struct signkeys *sk, const char *tenant_id, char kid[JOSE_THUMBPRINT_LEN],
		       struct err *e)
{
	struct entry **pp, *gone = NULL;
	status st = create_key(sk, tenant_id, true, kid, e);

	if (st != ST_OK)
		return st;
	/* This process reads the new set at once. */
	pthread_mutex_lock(&sk->mu);
	for (pp = &sk->list; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->tenant_id, tenant_id) == 0) {
			gone = *pp;
			*pp = gone->next;
			break;
		}
	}
	pthread_mutex_unlock(&sk->mu);
	entry_free(gone);
	return ST_OK;
}

void signkeys_changed(struct signkeys *sk, const char *tenant_id)
{
	if (sk == NULL)
		return;
	pthread_mutex_lock(&sk->mu);
	sk->gen++;
	for (struct entry *en = sk->list; en != NULL; en = en->next)
		if (tenant_id == NULL || strcmp(en->tenant_id, tenant_id) == 0)
			en->loaded = mono_now() - SIGNKEYS_RELOAD;
	pthread_mutex_unlock(&sk->mu);
}
