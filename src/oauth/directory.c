/* directory.c - cached lookups in front of the store (see directory.h).
 *
 * Tenants: a fixed table of TENANT_CACHE_SLOTS entries indexed by a hash of
 * the domain; a collision simply evicts. Entries live TENANT_TTL seconds so
 * a tenant deactivated by another node stops answering here within that
 * time.
 *
 * Applications and identity providers: a set-associative table of
 * CONF_BUCKETS x CONF_WAYS entries keyed by (kind, tenant id, key), each
 * holding a reference to an immutable parsed configuration (or NULL for "not
 * there"). Readers take the shared lock, add a reference and leave; the
 * parsed objects are reference counted, so an entry can be replaced while
 * requests still use the old configuration. Each entry remembers a SHA-256
 * fingerprint of the row it was parsed from: when it expires, the row is
 * read again and parsed again only if the fingerprint changed. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "keys/keys.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "oauth/directory.h"
#include "oauth/signkeys.h"

#define TENANT_TTL         DIRECTORY_TTL
#define TENANT_CACHE_SLOTS 256 /* power of two */

#define CONF_TTL     DIRECTORY_TTL
#define CONF_BUCKETS 256 /* power of two */
#define CONF_WAYS    4
/* Keys longer than this (an absurd `iss`) are looked up but never cached,
 * so untrusted input cannot make the cache hold large strings. */
#define CONF_KEY_MAX 1024

struct tenant_entry {
	char domain[LIMIT_TENANT_DOMAIN + 1];
	char id[UUID_STR_LEN + 1];
	bool active;
	bool used;
	time_t expires;
};

enum conf_kind {
	CK_FREE = 0,
	CK_APP,      /* key: client id */
	CK_IDP_ISS,  /* key: an assertion's iss */
	CK_IDP_NAME, /* key: an IdP name */
};

struct conf_entry {
	enum conf_kind kind;
	char tenant_id[UUID_STR_LEN + 1];
	char *key;  /* malloc'd */
	void *conf; /* struct app_conf * or struct idp_conf *; NULL = none */
	unsigned char fp[SHA256_LEN];
	time_t expires;
	uint64_t stamp; /* insertion order, for eviction */
};

struct directory {
	pthread_rwlock_t lock;
	struct tenant_entry slot[TENANT_CACHE_SLOTS];
	struct conf_entry conf[CONF_BUCKETS][CONF_WAYS];
	uint64_t stamp; /* under the write lock */
	/* Bumped (under the write lock) by every invalidation. A lookup notes
	 * it before reading the store and caches what it read only when it is
	 * unchanged: a row read before a change, whose invalidation came while
	 * the read ran, is answered once but never cached. */
	uint64_t gen;
};

static size_t slot_of(const char *domain)
{
	/* FNV-1a: tenants are few and domains short; collisions just evict. */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)domain; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (TENANT_CACHE_SLOTS - 1);
}

struct directory *directory_new(void)
{
	struct directory *c = calloc(1, sizeof *c);
	if (c != NULL && pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void conf_unref(enum conf_kind kind, void *conf)
{
	if (conf == NULL)
		return;
	if (kind == CK_APP)
		app_conf_free(conf);
	else
		idp_conf_free(conf);
}

static void conf_ref(enum conf_kind kind, void *conf)
{
	if (conf == NULL)
		return;
	if (kind == CK_APP)
		app_conf_ref(conf);
	else
		idp_conf_ref(conf);
}

void directory_free(struct directory *c)
{
	if (c == NULL)
		return;
	for (size_t b = 0; b < CONF_BUCKETS; b++) {
		for (size_t w = 0; w < CONF_WAYS; w++) {
			struct conf_entry *en = &c->conf[b][w];
			if (en->kind != CK_FREE) {
				conf_unref(en->kind, en->conf);
				free(en->key);
			}
		}
	}
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

/* ------------------------------------------------------------ tenants */

status directory_tenant_resolve(void *ctx, struct arena *a, const char *domain,
				const char **tenant_id)
{
	struct oauth_ctx *oc = ctx;
	struct directory *c = oc->dir;
	struct tenant_entry *en;
	struct store_tenant t;
	time_t now = time(NULL);
	size_t i = slot_of(domain);
	uint64_t gen;
	status st;

	if (strlen(domain) > LIMIT_TENANT_DOMAIN)
		return ST_NOT_FOUND;
	pthread_rwlock_rdlock(&c->lock);
	gen = c->gen;
	en = &c->slot[i];
	if (en->used && en->expires > now && strcmp(en->domain, domain) == 0) {
		bool active = en->active;
		*tenant_id = active ? arena_strdup(a, en->id) : NULL;
		pthread_rwlock_unlock(&c->lock);
		if (!active)
			return ST_NOT_FOUND;
		return *tenant_id ? ST_OK : ST_NOMEM;
	}
	pthread_rwlock_unlock(&c->lock);

	st = oc->store->ops->tenant_get_by_domain(oc->store, a, domain, &t, NULL);
	if (st != ST_OK && st != ST_NOT_FOUND)
		return st;
	pthread_rwlock_wrlock(&c->lock);
	if (c->gen != gen)
		goto unlock; /* invalidated while we read: answer, do not cache */
	en = &c->slot[i];
	en->used = true;
	en->expires = now + TENANT_TTL;
	str_copy(en->domain, sizeof en->domain, domain);
	if (st == ST_OK) {
		str_copy(en->id, sizeof en->id, t.id);
		en->active = t.active;
	} else {
		en->id[0] = '\0';
		en->active = false;
	}
unlock:
	pthread_rwlock_unlock(&c->lock);
	if (st != ST_OK || !t.active)
		return ST_NOT_FOUND;
	*tenant_id = t.id;
	return ST_OK;
}

void directory_tenant_invalidate(struct oauth_ctx *oc, const char *domain)
{
	struct directory *c = oc->dir;
	struct tenant_entry *en;

	if (c == NULL)
		return;
	pthread_rwlock_wrlock(&c->lock);
	c->gen++;
	if (domain == NULL) {
		for (size_t i = 0; i < TENANT_CACHE_SLOTS; i++)
			c->slot[i].used = false;
	} else {
		/* Requests resolve lower-case domains (the server lowers them),
		 * so the slot is that of the lower-case form. */
		char low[LIMIT_TENANT_DOMAIN + 1];
		size_t n = strnlen(domain, sizeof low - 1);
		for (size_t i = 0; i < n; i++)
			low[i] = (char)tolower((unsigned char)domain[i]);
		low[n] = '\0';
		en = &c->slot[slot_of(low)];
		if (en->used && strcmp(en->domain, low) == 0)
			en->used = false;
	}
	pthread_rwlock_unlock(&c->lock);
}

/* ------------------------------------------- applications and IdPs */

static size_t bucket_of(enum conf_kind kind, const char *tenant_id, const char *key)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;
	for (const unsigned char *p = (const unsigned char *)tenant_id; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (CONF_BUCKETS - 1);
}

static bool entry_is(const struct conf_entry *en, enum conf_kind kind, const char *tenant_id,
		     const char *key)
{
	return en->kind == kind && strcmp(en->tenant_id, tenant_id) == 0 &&
	       strcmp(en->key, key) == 0;
}

/* What a lookup found in the cache. */
struct probe {
	uint64_t gen; /* the directory's generation when probed */
	bool fresh;   /* a live entry answered: *conf is the answer */
	bool stale;   /* an expired entry: `conf` and `fp` may be reused */
	void *conf;   /* a reference (or NULL) */
	unsigned char fp[SHA256_LEN];
};

static void cache_probe(struct directory *d, enum conf_kind kind, const char *tenant_id,
			const char *key, time_t now, struct probe *p)
{
	struct conf_entry *bucket = d->conf[bucket_of(kind, tenant_id, key)];

	memset(p, 0, sizeof *p);
	pthread_rwlock_rdlock(&d->lock);
	p->gen = d->gen;
	for (size_t w = 0; w < CONF_WAYS; w++) {
		struct conf_entry *en = &bucket[w];
		if (!entry_is(en, kind, tenant_id, key))
			continue;
		conf_ref(kind, en->conf);
		p->conf = en->conf;
		memcpy(p->fp, en->fp, sizeof p->fp);
		if (en->expires > now)
			p->fresh = true;
		else
			p->stale = true;
		break;
	}
	pthread_rwlock_unlock(&d->lock);
}

/* Stores (kind, tenant, key) -> conf (the cache takes its own reference),
 * unless an invalidation came after the probe of generation `gen`. Best
 * effort: on OOM nothing is cached. */
static void cache_put(struct directory *d, enum conf_kind kind, const char *tenant_id,
		      const char *key, void *conf, const unsigned char fp[SHA256_LEN], time_t now,
		      uint64_t gen)
{
	struct conf_entry *bucket = d->conf[bucket_of(kind, tenant_id, key)];
	struct conf_entry *victim = NULL;
	void *old_conf = NULL;
	enum conf_kind old_kind = CK_FREE;
	char *old_key = NULL, *k;

	if (strlen(key) > CONF_KEY_MAX || strlen(tenant_id) > UUID_STR_LEN)
		return;
	if ((k = strdup(key)) == NULL)
		return;
	pthread_rwlock_wrlock(&d->lock);
	if (d->gen != gen) {
		pthread_rwlock_unlock(&d->lock);
		free(k);
		return;
	}
	for (size_t w = 0; w < CONF_WAYS && victim == NULL; w++)
		if (entry_is(&bucket[w], kind, tenant_id, key))
			victim = &bucket[w];
	for (size_t w = 0; w < CONF_WAYS && victim == NULL; w++)
		if (bucket[w].kind == CK_FREE)
			victim = &bucket[w];
	for (size_t w = 0; w < CONF_WAYS && victim == NULL; w++)
		if (bucket[w].expires <= now)
			victim = &bucket[w];
	if (victim == NULL) {
		victim = &bucket[0];
		for (size_t w = 1; w < CONF_WAYS; w++)
			if (bucket[w].stamp < victim->stamp)
				victim = &bucket[w];
	}
	if (victim->kind != CK_FREE) {
		old_kind = victim->kind;
		old_conf = victim->conf;
		old_key = victim->key;
	}
	conf_ref(kind, conf);
	victim->kind = kind;
	str_copy(victim->tenant_id, sizeof victim->tenant_id, tenant_id);
	victim->key = k;
	victim->conf = conf;
	memcpy(victim->fp, fp, SHA256_LEN);
	victim->expires = now + CONF_TTL;
	victim->stamp = ++d->stamp;
	pthread_rwlock_unlock(&d->lock);
	/* The last reference of a replaced configuration may free keys: not
	 * under the lock. */
	conf_unref(old_kind, old_conf);
	free(old_key);
}

/* Drops entries matching the predicate's arguments: `kind_mask` of kinds,
 * `tenant_id` (NULL = any), `key` (NULL = any). */
static void cache_drop(struct directory *d, unsigned kind_mask, const char *tenant_id,
		       const char *key)
{
	struct {
		enum conf_kind kind;
		void *conf;
	} dead[CONF_WAYS * 8];
	size_t ndead;
	bool more = true;

	/* Releasing configurations happens outside the lock, in rounds of a
	 * fixed size, so the lock is never held while keys are freed. */
	while (more) {
		more = false;
		ndead = 0;
		pthread_rwlock_wrlock(&d->lock);
		d->gen++;
		for (size_t b = 0; b < CONF_BUCKETS && !more; b++) {
			for (size_t w = 0; w < CONF_WAYS; w++) {
				struct conf_entry *en = &d->conf[b][w];
				if (en->kind == CK_FREE || !(kind_mask & (1u << en->kind)))
					continue;
				if (tenant_id != NULL && strcmp(en->tenant_id, tenant_id) != 0)
					continue;
				if (key != NULL && strcmp(en->key, key) != 0)
					continue;
				if (ndead == sizeof dead / sizeof dead[0]) {
					more = true;
					break;
				}
				dead[ndead].kind = en->kind;
				dead[ndead].conf = en->conf;
				ndead++;
				free(en->key);
				memset(en, 0, sizeof *en);
			}
		}
		pthread_rwlock_unlock(&d->lock);
		for (size_t i = 0; i < ndead; i++)
			conf_unref(dead[i].kind, dead[i].conf);
	}
}

/* Fingerprint of the parts of a row a parsed configuration depends on:
 * length-prefixed fields, so field boundaries are unambiguous. */
struct fpb {
	struct buf b;
	bool bad;
};

static void fp_add(struct fpb *f, const void *p, size_t n)
{
	uint64_t len = n;

	if (f->bad)
		return;
	if (buf_append(&f->b, &len, sizeof len) != ST_OK || buf_append(&f->b, p, n) != ST_OK)
		f->bad = true;
}

static void fp_str(struct fpb *f, const char *s)
{
	fp_add(f, s ? s : "", s ? strlen(s) : 0);
}

static status fp_finish(struct fpb *f, unsigned char fp[SHA256_LEN], struct err *e)
{
	status st = f->bad ? ST_NOMEM : sha256(f->b.p, f->b.n, fp);

	buf_free(&f->b);
	if (st != ST_OK)
		return err_set(e, st, "cannot fingerprint a stored configuration");
	return ST_OK;
}

static status load_doc(const char *doc, json_t **out, struct err *e)
{
	json_error_t je;

	*out = json_loads(doc ? doc : "", JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(e, ST_INVALID, "stored document is not a JSON object (line %d)",
			       je.line);
	}
	return ST_OK;
}

/* Replaces `*dst` by a malloc'd copy of `src` (the parsed configurations
 * own their strings and free() them). */
static status set_str(char **dst, const char *src, struct err *e)
{
	char *copy;

	if (src == NULL)
		return ST_OK;
	if (*dst != NULL && strcmp(*dst, src) == 0)
		return ST_OK;
	if ((copy = strdup(src)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return ST_OK;
}

static status app_fingerprint(const struct store_app *r, unsigned char fp[SHA256_LEN],
			      struct err *e)
{
	struct fpb b = {0};
	char num[32];

	snprintf(num, sizeof num, "%d/%lld", r->has_secret ? 1 : 0, (long long)r->updated_at);
	fp_add(&b, r->secret_hash, sizeof r->secret_hash);
	fp_str(&b, num);
	fp_str(&b, r->id);
	fp_str(&b, r->tenant_id);
	fp_str(&b, r->client_id);
	fp_str(&b, r->doc);
	return fp_finish(&b, fp, e);
}

static status app_build(struct oauth_ctx *c, const struct store_app *r, struct app_conf **out,
			struct err *e)
{
	/* app_conf_load() checks the row against its document and fills the
	 * id, tenant and secret hash from the row. */
	return app_conf_load(r, c->cfg, out, e);
}

static status idp_fingerprint(const struct store_idp *r, unsigned char fp[SHA256_LEN],
			      struct err *e)
{
	struct fpb b = {0};
	char num[32];

	snprintf(num, sizeof num, "%d/%lld", r->enabled ? 1 : 0, (long long)r->updated_at);
	fp_str(&b, num);
	fp_str(&b, r->id);
	fp_str(&b, r->tenant_id);
	fp_str(&b, r->name);
	fp_str(&b, r->issuer);
	fp_str(&b, r->doc);
	return fp_finish(&b, fp, e);
}

static status idp_build(struct oauth_ctx *c, const struct store_idp *r, struct idp_conf **out,
			struct err *e)
{
	struct idp_conf *conf = NULL;
	json_t *doc = NULL;
	status st;

	*out = NULL;
	if ((st = load_doc(r->doc, &doc, e)) != ST_OK)
		goto out;
	if ((st = idp_conf_parse(doc, c->cfg, &conf, e)) != ST_OK)
		goto out;
	if ((st = set_str(&conf->id, r->id, e)) != ST_OK ||
	    (st = set_str(&conf->tenant_id, r->tenant_id, e)) != ST_OK)
		goto out;
	*out = conf;
	conf = NULL;
out:
	idp_conf_free(conf);
	json_decref(doc);
	return st;
}

/* Reads the row for (kind, tenant, key) from the store. On ST_OK, `*row`
 * points at a store_app or store_idp in `a`, or is NULL when there is none;
 * `fp` is its fingerprint. */
static status load_row(struct oauth_ctx *c, struct arena *a, enum conf_kind kind,
		       const char *tenant_id, const char *key, void **row,
		       unsigned char fp[SHA256_LEN], struct err *e)
{
	struct store *s = c->store;
	status st;

	*row = NULL;
	memset(fp, 0, SHA256_LEN);
	if (kind == CK_APP) {
		struct store_app *app = arena_alloc(a, sizeof *app);
		if (app == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		st = s->ops->app_get_by_client_id(s, a, tenant_id, key, app, e);
		if (st == ST_NOT_FOUND)
			return ST_OK;
		if (st != ST_OK)
			return st;
		*row = app;
		return app_fingerprint(app, fp, e);
	}
	if (kind == CK_IDP_NAME) {
		struct store_idp *idp = arena_alloc(a, sizeof *idp);
		if (idp == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		st = s->ops->idp_get_by_name(s, a, tenant_id, key, idp, e);
		if (st == ST_NOT_FOUND)
			return ST_OK;
		if (st != ST_OK)
			return st;
		*row = idp;
		return idp_fingerprint(idp, fp, e);
	}
	{
		struct store_idp *items = NULL, *pick = NULL;
		size_t n = 0;

		st = s->ops->idp_find_by_issuer(s, a, tenant_id, key, &items, &n, e);
		if (st == ST_NOT_FOUND || (st == ST_OK && n == 0))
			return ST_OK;
		if (st != ST_OK)
			return st;
		/* idpIssuerName matches first, then the name; an enabled IdP
		 * before a disabled one within each kind of match. */
		for (int pass = 0; pass < 4 && pick == NULL; pass++) {
			for (size_t i = 0; i < n && pick == NULL; i++) {
				bool by_issuer =
				    items[i].issuer != NULL && strcmp(items[i].issuer, key) == 0;
				bool want_issuer = pass == 0 || pass == 2;
				bool want_enabled = pass < 2;
				if (by_issuer == want_issuer && items[i].enabled == want_enabled)
					pick = &items[i];
			}
		}
		if (pick == NULL)
			pick = &items[0];
		*row = pick;
		return idp_fingerprint(pick, fp, e);
	}
}

static status lookup(struct oauth_ctx *c, enum conf_kind kind, const char *tenant_id,
		     const char *key, void **out, struct err *e)
{
	struct directory *d = c->dir;
	time_t now = time(NULL);
	struct probe p;
	struct arena a;
	unsigned char fp[SHA256_LEN];
	void *row = NULL, *conf = NULL;
	status st;

	*out = NULL;
	if (tenant_id == NULL || key == NULL)
		return err_set(e, ST_INTERNAL, "directory lookup without tenant or key");
	cache_probe(d, kind, tenant_id, key, now, &p);
	if (p.fresh) {
		if (p.conf == NULL)
			return err_set(e, ST_NOT_FOUND, "not found");
		*out = p.conf;
		return ST_OK;
	}

	arena_init(&a, 0);
	st = load_row(c, &a, kind, tenant_id, key, &row, fp, e);
	if (st != ST_OK)
		goto out;
	if (row == NULL) {
		conf = NULL;
	} else if (p.stale && p.conf != NULL && memcmp(p.fp, fp, sizeof fp) == 0) {
		conf = p.conf; /* unchanged: no parsing */
		p.conf = NULL;
	} else {
		struct err be = {0};
		if (kind == CK_APP) {
			struct app_conf *ac;
			st = app_build(c, row, &ac, &be);
			conf = ac;
		} else {
			struct idp_conf *ic;
			st = idp_build(c, row, &ic, &be);
			conf = ic;
		}
		if (st != ST_OK) {
			/* The admin API validated what it stored, so a document
			 * that no longer parses (a newer version wrote it, or the
			 * server's config changed under it) is the server's
			 * fault, not the client's. */
			log_error("directory: a stored %s of tenant %s cannot be used: %s",
				  kind == CK_APP ? "application" : "identity provider", tenant_id,
				  be.msg);
			if (st != ST_NOMEM)
				st = ST_INTERNAL;
			err_set(e, st, "the stored %s configuration is invalid",
				kind == CK_APP ? "application" : "identity provider");
			goto out;
		}
	}
	cache_put(d, kind, tenant_id, key, conf, fp, now, p.gen);
	if (conf == NULL) {
		st = err_set(e, ST_NOT_FOUND, "not found");
		goto out;
	}
	*out = conf;
	conf = NULL;
out:
	conf_unref(kind, conf);
	conf_unref(kind, p.conf);
	arena_free(&a);
	return st;
}

status directory_app_by_client_id(struct oauth_ctx *c, const char *tenant_id, const char *client_id,
				  struct app_conf **out, struct err *e)
{
	void *conf;
	status st = lookup(c, CK_APP, tenant_id, client_id, &conf, e);

	/* An application without an OIDC configuration has no client. */
	if (st == ST_OK && !((struct app_conf *)conf)->has_oidc) {
		app_conf_free(conf);
		return err_set(e, ST_NOT_FOUND, "not found");
	}
	*out = st == ST_OK ? conf : NULL;
	return st;
}

status directory_idp_by_issuer(struct oauth_ctx *c, const char *tenant_id, const char *iss,
			       struct idp_conf **out, struct err *e)
{
	void *conf;
	status st = lookup(c, CK_IDP_ISS, tenant_id, iss, &conf, e);

	*out = st == ST_OK ? conf : NULL;
	return st;
}

status directory_idp_by_name(struct oauth_ctx *c, const char *tenant_id, const char *name,
			     struct idp_conf **out, struct err *e)
{
	void *conf;
	status st = lookup(c, CK_IDP_NAME, tenant_id, name, &conf, e);

	*out = st == ST_OK ? conf : NULL;
	return st;
}

void directory_idp_changed(struct oauth_ctx *oc, const char *tenant_id, const char *idp_id)
{
	if (oc == NULL || oc->dir == NULL)
		return;
	cache_drop(oc->dir, 1u << CK_IDP_ISS | 1u << CK_IDP_NAME, tenant_id, NULL);
	if (oc->keys != NULL && idp_id != NULL)
		keys_forget(oc->keys, idp_id);
}

void directory_app_changed(struct oauth_ctx *oc, const char *tenant_id, const char *client_id)
{
	if (oc == NULL || oc->dir == NULL)
		return;
	/* Client ids are unique across tenants: a negative entry for the id in
	 * another tenant is dropped too, which is harmless. */
	cache_drop(oc->dir, 1u << CK_APP, client_id != NULL ? NULL : tenant_id, client_id);
}

/* The change feed's callback (store.h, watch), on the backend's listener
 * thread: only the caches' own locks are taken, the store is never called. */
void directory_on_change(void *arg, const struct store_change *ch)
{
	struct oauth_ctx *oc = arg;

	if (oc == NULL || ch == NULL)
		return;
	switch (ch->kind) {
	case STORE_CHANGE_TENANT:
		/* A tenant's id never changes, so only the domain -> tenant
		 * entry (its active flag) can be out of date. */
		directory_tenant_invalidate(oc, ch->id);
		return;
	case STORE_CHANGE_IDP: directory_idp_changed(oc, ch->tenant_id, ch->id); return;
	case STORE_CHANGE_APP: directory_app_changed(oc, ch->tenant_id, NULL); return;
	case STORE_CHANGE_SIGNING_KEY:
		if (ch->tenant_id != NULL)
			signkeys_changed(oc->signkeys, ch->tenant_id);
		return;
	case STORE_CHANGE_ALL: break;
	}
	/* Changes may have been missed (the listener lost its connection):
	 * forget every row read from the store. The JWKS documents fetched
	 * from the IdPs stay: keys_get() compares each entry's URI with the
	 * (re-read) IdP's on every call, so an IdP whose URI changed fetches
	 * anew, and dropping them all would send every node to every JWKS
	 * endpoint at once after each reconnect. */
	log_info("directory: the change feed reconnected; dropping the cached configuration");
	directory_tenant_invalidate(oc, NULL);
	if (oc->dir != NULL)
		cache_drop(oc->dir, 1u << CK_APP | 1u << CK_IDP_ISS | 1u << CK_IDP_NAME, NULL,
			   NULL);
	signkeys_changed(oc->signkeys, NULL);
}

status directory_watch(struct oauth_ctx *oc, struct err *e)
{
	return oc->store->ops->watch(oc->store, directory_on_change, oc, e);
}
