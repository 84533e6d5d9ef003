/* keys.c - the per-IdP JWKS cache and its refresh thread.
 *
 * Locking: one mutex per cache guards the hash table, the LRU list, the
 * fetch queue and every entry's fields. No lock is ever held across the
 * network: a fetch marks its entry in_flight, takes a reference, unlocks,
 * fetches, relocks and stores the result. Readers take a keyset reference
 * under the lock and verify with it after unlocking.
 *
 * Request threads never fetch (docs/security.md, "JWKS hosts"): a first
 * fetch or an unknown-kid refetch is queued for the fetch pool
 * ([oauth.jwks_endpoint] fetch_threads), which runs at most
 * max_fetches_per_tenant fetches of one tenant at once, and the request
 * waits for it at most KEYS_WAIT_MS on `fetched` — single flight for first
 * fetches and refetches alike — before it is told to retry. The refresh
 * thread refreshes cached sets in the background on its own.
 *
 * Entries are reference counted (the table holds one reference), so an entry
 * evicted or forgotten while a fetch runs stays valid for the fetcher and its
 * waiters; its result then simply goes nowhere.
 *
 * Time comes from an injectable monotonic millisecond clock (keys_test.h), so
 * tests move time instead of sleeping. */
#include "keys/keys.h"
#include "keys/keys_int.h"
#include "keys/keys_test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/str.h"

#define KEYS_BUCKETS 1024u /* a power of two */
#define KID_SHOW_MAX 64    /* longest kid echoed in an error message */
#define WAIT_MAX_MS  (3600 * 1000LL)
#define POOL_MAX     64 /* fetch_threads' upper bound */

struct entry {
	struct entry *hnext;       /* hash chain */
	struct entry *prev, *next; /* LRU list, most recently used first */
	char *idp_id;              /* immutable */
	char *uri;                 /* immutable: another URI is another entry */
	char *tenant;              /* immutable: whose fetch budget it uses */
	struct entry *qnext;       /* the fetch queue, while queued */
	uint32_t hash;
	int refs;                /* the table's (while linked) + fetchers' + waiters' */
	bool linked;             /* in the table */
	bool in_flight;          /* a fetch is queued or runs for it */
	bool queued;             /* in the fetch queue, not running yet */
	bool told_retry;         /* a caller gave up waiting for this fetch */
	bool warned;             /* log_warn done for the current failure streak */
	struct jose_keyset *set; /* NULL until a fetch succeeds */
	int64_t fetched_at;      /* clock ms of the last success */
	int64_t retry_at;        /* no on-demand fetch before (min_refetch_interval) */
	int64_t refresh_at;      /* the refresh thread refetches at (set != NULL) */
	int64_t last_used;
	unsigned failures;   /* consecutive failed fetches */
	struct err last_err; /* st ST_OK when the last fetch succeeded */
};

struct keys {
	const struct config *cfg;
	char *ca_file;
	keys_clock_fn clock;
	void *clock_ctx;
	int64_t ttl_ms, min_refetch_ms, idle_ms, wait_ms;
	size_t max_entries;
	size_t npool, per_tenant;
	pthread_t pool[POOL_MAX];

	pthread_mutex_t mu;
	pthread_cond_t fetched; /* a fetch ended, or the refresh thread went idle */
	pthread_cond_t wake;    /* the refresh thread sleeps on it (CLOCK_MONOTONIC) */
	pthread_cond_t work;    /* the fetch pool sleeps on it */
	pthread_t thread;
	atomic_bool stop; /* also read by libcurl's progress callback */

	/* under mu */
	struct entry *buckets[KEYS_BUCKETS];
	struct entry lru; /* sentinel */
	size_t n;
	struct entry *qhead, *qtail;   /* fetches waiting for a pool thread */
	const char *running[POOL_MAX]; /* tenant of each pool thread's fetch */
	uint64_t kick_gen, idle_gen;   /* keys_refresh_sync() handshake */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct keys *k)
{
	return k->clock != NULL ? k->clock(k->clock_ctx) : mono_ms();
}

static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static int64_t secs_up(int64_t ms)
{
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

/* ---- entries (all under mu) ---------------------------------------------- */

static void entry_put(struct entry *ent)
{
	if (--ent->refs > 0)
		return;
	jose_keyset_free(ent->set);
	free(ent->idp_id);
	free(ent->uri);
	free(ent->tenant);
	free(ent);
}

static struct entry *entry_lookup(struct keys *k, const char *idp_id, uint32_t hash)
{
	for (struct entry *ent = k->buckets[hash & (KEYS_BUCKETS - 1)]; ent; ent = ent->hnext)
		if (ent->hash == hash && strcmp(ent->idp_id, idp_id) == 0)
			return ent;
	return NULL;
}

static void lru_remove(struct entry *ent)
{
	ent->prev->next = ent->next;
	ent->next->prev = ent->prev;
}

static void lru_push_front(struct keys *k, struct entry *ent)
{
	ent->prev = &k->lru;
	ent->next = k->lru.next;
	k->lru.next->prev = ent;
	k->lru.next = ent;
}

static void entry_touch(struct keys *k, struct entry *ent, int64_t now)
{
	ent->last_used = now;
	if (k->lru.next != ent) {
		lru_remove(ent);
		lru_push_front(k, ent);
	}
}

static void entry_unlink(struct keys *k, struct entry *ent)
{
	struct entry **pp = &k->buckets[ent->hash & (KEYS_BUCKETS - 1)];

	while (*pp != ent)
		pp = &(*pp)->hnext;
	*pp = ent->hnext;
	lru_remove(ent);
	ent->linked = false;
	k->n--;
	entry_put(ent);
}

static status entry_create(struct keys *k, const char *tenant, const char *idp_id, const char *uri,
			   uint32_t hash, int64_t now, struct entry **out, struct err *e)
{
	struct entry *ent = calloc(1, sizeof *ent);
	size_t b = hash & (KEYS_BUCKETS - 1);

	*out = NULL;
	if (ent == NULL || (ent->idp_id = strdup(idp_id)) == NULL ||
	    (ent->uri = strdup(uri)) == NULL || (ent->tenant = strdup(tenant)) == NULL) {
		if (ent != NULL) {
			free(ent->idp_id);
			free(ent->uri);
			free(ent);
		}
		return err_set(e, ST_NOMEM, "out of memory (JWKS cache entry)");
	}
	if (k->n >= k->max_entries && k->lru.prev != &k->lru) {
		log_debug("JWKS cache full (%zu entries): dropping identity provider %s", k->n,
			  k->lru.prev->idp_id);
		entry_unlink(k, k->lru.prev);
	}
	ent->hash = hash;
	ent->refs = 1;
	ent->linked = true;
	ent->retry_at = now;
	ent->refresh_at = INT64_MAX;
	ent->last_used = now;
	ent->hnext = k->buckets[b];
	k->buckets[b] = ent;
	lru_push_front(k, ent);
	k->n++;
	*out = ent;
	return ST_OK;
}

static bool set_has_kid(const struct jose_keyset *ks, const char *kid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i]->kid != NULL && strcmp(ks->keys[i]->kid, kid) == 0)
			return true;
	return false;
}

/* Background retry delay after `failures` consecutive failures:
 * min_refetch_interval (at least 1 s), doubling, at most cache_ttl. */
static int64_t backoff_ms(const struct keys *k, unsigned failures)
{
	int64_t d = k->min_refetch_ms > 1000 ? k->min_refetch_ms : 1000;
	for (unsigned i = 1; i < failures && d < k->ttl_ms; i++)
		d *= 2;
	return d < k->ttl_ms ? d : k->ttl_ms;
}

/* Stores a fetch's result. Called with mu held. Takes ownership of `set`. */
static void fetch_done(struct keys *k, struct entry *ent, status st, struct jose_keyset *set,
		       const struct err *fe, const struct err *detail)
{
	int64_t now = now_ms(k);

	if (st == ST_OK) {
		if (ent->told_retry && !ent->warned)
			log_info("JWKS of identity provider %s fetched from %.512s after callers "
				 "were told to retry (slower than %lld ms)",
				 ent->idp_id, ent->uri, (long long)k->wait_ms);
		if (ent->warned)
			log_info("JWKS of identity provider %s fetched again from %.512s after %u "
				 "failed attempt(s)",
				 ent->idp_id, ent->uri, ent->failures);
		jose_keyset_free(ent->set);
		ent->set = set;
		ent->fetched_at = now;
		ent->failures = 0;
		ent->warned = false;
		err_clear(&ent->last_err);
		ent->refresh_at = now + k->ttl_ms;
	} else {
		ent->failures++;
		ent->last_err = *fe;
		if (ent->last_err.st == ST_OK)
			ent->last_err.st = st;
		if (!ent->warned && !atomic_load(&k->stop)) {
			if (ent->set != NULL)
				log_warn(
				    "JWKS refresh failed for identity provider %s (%.512s): %s; "
				    "serving the copy fetched %lld s ago",
				    ent->idp_id, ent->uri, detail->msg,
				    (long long)((now - ent->fetched_at) / 1000));
			else
				log_warn("JWKS fetch failed for identity provider %s (%.512s): %s",
					 ent->idp_id, ent->uri, detail->msg);
			ent->warned = true;
		}
		ent->refresh_at = now + backoff_ms(k, ent->failures);
	}
	ent->in_flight = false;
	ent->told_retry = false;
	pthread_cond_broadcast(&k->fetched);
	pthread_cond_signal(&k->wake); /* the refresh thread recomputes its deadline */
}

/* Marks `ent` fetched from now on: in flight, refetch budget used, a
 * reference for the fetcher. Called with mu held, no fetch in flight. */
static void fetch_begin(struct keys *k, struct entry *ent)
{
	ent->in_flight = true;
	ent->retry_at = now_ms(k) + k->min_refetch_ms;
	ent->refs++;
}

/* Fetches `ent` (fetch_begin done) with mu held on entry and on return,
 * but not during, and drops the fetcher's reference. */
static void fetch_run(struct keys *k, struct entry *ent)
{
	struct keys_fetch_opts fo = {.cfg = k->cfg, .ca_file = k->ca_file, .cancel = &k->stop};
	struct jose_keyset *set = NULL;
	struct err fe = {0}, detail = {0};
	status st;

	pthread_mutex_unlock(&k->mu);
	st = keys_fetch(&fo, ent->uri, &set, &fe, &detail);
	pthread_mutex_lock(&k->mu);
	fetch_done(k, ent, st, set, &fe, &detail);
	entry_put(ent);
}

/* ---- the fetch pool (all under mu) -------------------------------------- */

static void fetch_submit(struct keys *k, struct entry *ent)
{
	fetch_begin(k, ent);
	ent->queued = true;
	ent->qnext = NULL;
	if (k->qtail != NULL)
		k->qtail->qnext = ent;
	else
		k->qhead = ent;
	k->qtail = ent;
	pthread_cond_signal(&k->work);
}

static size_t tenant_running(const struct keys *k, const char *tenant)
{
	size_t n = 0;
	for (size_t i = 0; i < k->npool; i++)
		if (k->running[i] != NULL && strcmp(k->running[i], tenant) == 0)
			n++;
	return n;
}

/* The first queued entry whose tenant is under its fetch budget, taken off
 * the queue; NULL when there is none. */
static struct entry *queue_take(struct keys *k)
{
	struct entry **pp = &k->qhead, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		struct entry *ent = *pp;
		if (tenant_running(k, ent->tenant) >= k->per_tenant)
			continue;
		*pp = ent->qnext;
		if (k->qtail == ent)
			k->qtail = prev;
		ent->qnext = NULL;
		ent->queued = false;
		return ent;
	}
	return NULL;
}

struct pool_arg {
	struct keys *k;
	size_t slot;
};

static void *pool_main(void *arg)
{
	struct keys *k = ((struct pool_arg *)arg)->k;
	size_t slot = ((struct pool_arg *)arg)->slot;
	struct entry *ent;

	free(arg);
	pthread_mutex_lock(&k->mu);
	while (!atomic_load(&k->stop)) {
		if ((ent = queue_take(k)) == NULL) {
			pthread_cond_wait(&k->work, &k->mu);
			continue;
		}
		k->running[slot] = ent->tenant;
		pthread_cond_broadcast(&k->fetched); /* keys_wait_taken() */
		fetch_run(k, ent);
		k->running[slot] = NULL;
		/* A tenant's budget came free: another queued fetch may run. */
		pthread_cond_broadcast(&k->work);
		pthread_cond_broadcast(&k->fetched); /* keys_fetches_sync() */
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* At shutdown: queued fetches end without running. */
static void queue_cancel(struct keys *k)
{
	struct entry *ent;

	while ((ent = k->qhead) != NULL) {
		struct err fe;
		k->qhead = ent->qnext;
		ent->queued = false;
		err_set(&fe, ST_IO, "JWKS fetch cancelled (shutting down)");
		fetch_done(k, ent, ST_IO, NULL, &fe, &fe);
		entry_put(ent);
	}
	k->qtail = NULL;
}

/* Why keys_get cannot return a set. `tried`: this call fetched, or waited
 * for a fetch, already. Called with mu held. */
static status get_failure(const struct entry *ent, const char *kid, bool tried, int64_t now,
			  struct err *e)
{
	char shown[KID_SHOW_MAX + 4];
	int64_t wait_s = secs_up(ent->retry_at - now);

	if (ent->set == NULL) {
		if (ent->last_err.st == ST_OK)
			return err_set(e, ST_INTERNAL, "JWKS entry has neither keys nor an error");
		if (tried)
			return err_set(e, ent->last_err.st, "%s", ent->last_err.msg);
		return err_set(e, ent->last_err.st, "%s (next attempt in %lld s)",
			       ent->last_err.msg, (long long)wait_s);
	}
	/* The kid comes from an untrusted JWT header. */
	str_show(shown, sizeof shown, kid, strlen(kid));
	if (ent->last_err.st != ST_OK) {
		if (tried)
			return err_set(e, ST_IO,
				       "no key with kid '%s' in the cached JWKS, and refetching it "
				       "failed: %s",
				       shown, ent->last_err.msg);
		return err_set(e, ST_IO,
			       "no key with kid '%s' in the cached JWKS, and the last refetch "
			       "failed: %s (next attempt in %lld s)",
			       shown, ent->last_err.msg, (long long)wait_s);
	}
	if (tried)
		return err_set(e, ST_NOT_FOUND,
			       "no key with kid '%s' in the identity provider's JWKS (refetched "
			       "just now)",
			       shown);
	return err_set(e, ST_NOT_FOUND,
		       "no key with kid '%s' in the identity provider's JWKS (fetched %lld s ago; "
		       "refetch allowed again in %lld s)",
		       shown, (long long)((now - ent->fetched_at) / 1000), (long long)wait_s);
}

/* The absolute CLOCK_MONOTONIC time `ms` from now. */
static struct timespec deadline_in(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

status keys_get(struct keys *k, const char *tenant, const char *idp_id, const char *uri,
		const char *kid, struct jose_keyset **out, struct err *e)
{
	struct entry *ent = NULL;
	bool tried = false, waiting = false;
	struct timespec deadline = {0};
	status st = ST_OK;
	uint32_t hash;
	size_t idn;
	int64_t now;

	*out = NULL;
	if (tenant == NULL)
		tenant = "";
	idn = idp_id != NULL ? strnlen(idp_id, KEYS_IDP_ID_MAX + 1) : 0;
	if (idn == 0 || idn > KEYS_IDP_ID_MAX)
		return err_set(e, ST_INVALID,
			       "identity provider id is empty or longer than %d bytes",
			       KEYS_IDP_ID_MAX);
	if (uri == NULL)
		uri = "";
	hash = hash_id(idp_id);

	pthread_mutex_lock(&k->mu);
	now = now_ms(k);
	ent = entry_lookup(k, idp_id, hash);
	if (ent != NULL && strcmp(ent->uri, uri) != 0) {
		entry_unlink(k, ent);
		ent = NULL;
	}
	if (ent == NULL) {
		/* Pure CPU (libcurl's URL parser), and only on a new entry. */
		st = keys_check_uri(k->cfg, uri, e);
		if (st == ST_OK)
			st = entry_create(k, tenant, idp_id, uri, hash, now, &ent, e);
		if (st != ST_OK) {
			ent = NULL;
			goto out;
		}
	}
	ent->refs++;
	entry_touch(k, ent, now);
	for (;;) {
		if (ent->set != NULL && (kid == NULL || set_has_kid(ent->set, kid))) {
			jose_keyset_ref(ent->set);
			*out = ent->set;
			st = ST_OK;
			break;
		}
		if (ent->in_flight) {
			/* Single flight, and a bounded wait: a slow endpoint holds a
			 * pool thread, never this request's worker. */
			if (!waiting) {
				deadline = deadline_in(k->wait_ms);
				waiting = true;
			}
			while (ent->in_flight &&
			       pthread_cond_timedwait(&k->fetched, &k->mu, &deadline) == 0)
				;
			if (ent->in_flight) {
				ent->told_retry = true;
				st = err_set(e, ST_BUSY,
					     "its keys are being fetched (no answer from the JWKS "
					     "endpoint within %lld ms); retry shortly",
					     (long long)k->wait_ms);
				break;
			}
			tried = true;
			continue;
		}
		now = now_ms(k);
		if (tried || now < ent->retry_at) {
			st = get_failure(ent, kid, tried, now, e);
			break;
		}
		fetch_submit(k, ent);
	}
out:
	if (ent != NULL)
		entry_put(ent);
	pthread_mutex_unlock(&k->mu);
	return st;
}

void keys_forget(struct keys *k, const char *idp_id)
{
	struct entry *ent;

	if (idp_id == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	ent = entry_lookup(k, idp_id, hash_id(idp_id));
	if (ent != NULL)
		entry_unlink(k, ent);
	pthread_mutex_unlock(&k->mu);
}

/* ---- the refresh thread -------------------------------------------------- */

static void wait_wake(struct keys *k, int64_t ms)
{
	struct timespec ts;

	if (ms < 1)
		ms = 1;
	if (ms > WAIT_MAX_MS)
		ms = WAIT_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&k->wake, &k->mu, &ts);
}

/* Drops idle entries and returns the entry most overdue for a refresh (or
 * NULL, with `*next` = when something will be due). Called with mu held. */
static struct entry *scan(struct keys *k, int64_t now, int64_t *next)
{
	struct entry *due = NULL;

	*next = INT64_MAX;
	for (size_t b = 0; b < KEYS_BUCKETS; b++) {
		struct entry *ent, *hn;
		for (ent = k->buckets[b]; ent != NULL; ent = hn) {
			hn = ent->hnext;
			if (ent->in_flight)
				continue;
			if (now - ent->last_used >= k->idle_ms) {
				log_debug("JWKS of identity provider %s unused for %lld s: dropped",
					  ent->idp_id, (long long)((now - ent->last_used) / 1000));
				entry_unlink(k, ent);
				continue;
			}
			if (ent->last_used + k->idle_ms < *next)
				*next = ent->last_used + k->idle_ms;
			if (ent->set == NULL)
				continue; /* fetched on demand only */
			if (ent->refresh_at <= now) {
				if (due == NULL || ent->refresh_at < due->refresh_at)
					due = ent;
			} else if (ent->refresh_at < *next) {
				*next = ent->refresh_at;
			}
		}
	}
	return due;
}

static void *refresh_main(void *arg)
{
	struct keys *k = arg;

	pthread_mutex_lock(&k->mu);
	while (!atomic_load(&k->stop)) {
		uint64_t gen = k->kick_gen;
		int64_t now = now_ms(k), next;
		struct entry *due = scan(k, now, &next);

		if (due != NULL) {
			fetch_begin(k, due);
			fetch_run(k, due);
			continue;
		}
		k->idle_gen = gen;
		pthread_cond_broadcast(&k->fetched);
		if (k->kick_gen != gen || atomic_load(&k->stop))
			continue;
		if (next == INT64_MAX)
			pthread_cond_wait(&k->wake, &k->mu);
		else
			wait_wake(k, next - now);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static bool pool_busy(const struct keys *k)
{
	if (k->qhead != NULL)
		return true;
	for (size_t i = 0; i < k->npool; i++)
		if (k->running[i] != NULL)
			return true;
	return false;
}

void keys_fetches_sync(struct keys *k)
{
	pthread_mutex_lock(&k->mu);
	while (pool_busy(k))
		pthread_cond_wait(&k->fetched, &k->mu);
	pthread_mutex_unlock(&k->mu);
}

void keys_wait_taken(struct keys *k, const char *idp_id)
{
	struct entry *ent;

	pthread_mutex_lock(&k->mu);
	while ((ent = entry_lookup(k, idp_id, hash_id(idp_id))) != NULL && ent->queued)
		pthread_cond_wait(&k->fetched, &k->mu);
	pthread_mutex_unlock(&k->mu);
}

void keys_refresh_kick(struct keys *k)
{
	pthread_mutex_lock(&k->mu);
	k->kick_gen++;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->mu);
}

void keys_refresh_sync(struct keys *k)
{
	uint64_t mine;

	pthread_mutex_lock(&k->mu);
	mine = ++k->kick_gen;
	pthread_cond_signal(&k->wake);
	while (k->idle_gen < mine)
		pthread_cond_wait(&k->fetched, &k->mu);
	pthread_mutex_unlock(&k->mu);
}

status keys_entry_info(struct keys *k, const char *idp_id, struct keys_entry_info *out)
{
	struct entry *ent;
	status st = ST_NOT_FOUND;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&k->mu);
	ent = entry_lookup(k, idp_id, hash_id(idp_id));
	if (ent != NULL) {
		out->in_flight = ent->in_flight;
		out->queued = ent->queued;
		out->has_keys = ent->set != NULL;
		out->failures = ent->failures;
		out->fetched_at = ent->fetched_at;
		out->refresh_at = ent->refresh_at;
		out->last_err = ent->last_err;
		st = ST_OK;
	}
	pthread_mutex_unlock(&k->mu);
	return st;
}

size_t keys_entry_count(struct keys *k)
{
	size_t n;
	pthread_mutex_lock(&k->mu);
	n = k->n;
	pthread_mutex_unlock(&k->mu);
	return n;
}

/* ---- life cycle ---------------------------------------------------------- */

status keys_new_with_opts(const struct config *cfg, const struct keys_opts *o, struct keys **out,
			  struct err *e)
{
	const struct keys_opts none = {0};
	const char *ca_file;
	struct keys *k = NULL;
	pthread_condattr_t ca;
	sigset_t all, old;
	bool mu_ok = false, ca_ok = false, fetched_ok = false, wake_ok = false, work_ok = false;
	size_t started = 0;
	status st = ST_OK;
	int rc;

	*out = NULL;
	if (o == NULL)
		o = &none;
	st = keys_global_init(e);
	if (st != ST_OK)
		goto out;
	k = calloc(1, sizeof *k);
	ca_file = o->ca_file ? o->ca_file : cfg->oauth.jwks_endpoint.ca_file;
	if (k == NULL || (ca_file != NULL && (k->ca_file = strdup(ca_file)) == NULL)) {
		st = err_set(e, ST_NOMEM, "out of memory (JWKS cache)");
		goto out;
	}
	k->cfg = cfg;
	k->clock = o->clock;
	k->clock_ctx = o->clock_ctx;
	k->ttl_ms =
	    (cfg->oauth.jwks_endpoint.cache_ttl > 0 ? cfg->oauth.jwks_endpoint.cache_ttl : 1) *
	    1000;
	k->min_refetch_ms = cfg->oauth.jwks_endpoint.min_refetch_interval > 0
				? cfg->oauth.jwks_endpoint.min_refetch_interval * 1000
				: 0;
	k->idle_ms = KEYS_IDLE_TTLS * k->ttl_ms;
	k->max_entries = o->max_entries > 0 ? o->max_entries : KEYS_MAX_ENTRIES;
	k->wait_ms = o->wait_ms > 0 ? o->wait_ms : KEYS_WAIT_MS;
	k->npool = cfg->oauth.jwks_endpoint.fetch_threads;
	if (k->npool < 1)
		k->npool = 1;
	if (k->npool > POOL_MAX)
		k->npool = POOL_MAX;
	k->per_tenant = cfg->oauth.jwks_endpoint.max_fetches_per_tenant > 0
			    ? (size_t)cfg->oauth.jwks_endpoint.max_fetches_per_tenant
			    : 1;
	k->lru.next = k->lru.prev = &k->lru;
	atomic_init(&k->stop, false);

	if (pthread_mutex_init(&k->mu, NULL) != 0) {
		st = err_set(e, ST_INTERNAL, "pthread_mutex_init failed");
		goto out;
	}
	mu_ok = true;
	if (pthread_condattr_init(&ca) != 0) {
		st = err_set(e, ST_INTERNAL, "pthread_condattr_init failed");
		goto out;
	}
	ca_ok = true;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0) {
		st = err_set(e, ST_INTERNAL, "pthread_condattr_setclock(CLOCK_MONOTONIC) failed");
		goto out;
	}
	fetched_ok = pthread_cond_init(&k->fetched, &ca) == 0;
	wake_ok = fetched_ok && pthread_cond_init(&k->wake, &ca) == 0;
	work_ok = wake_ok && pthread_cond_init(&k->work, NULL) == 0;
	if (!work_ok) {
		st = err_set(e, ST_INTERNAL, "pthread_cond_init failed");
		goto out;
	}
	/* Signals belong to the threads that handle them, not to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (rc = 0; rc == 0 && started < k->npool; started++) {
		struct pool_arg *pa = malloc(sizeof *pa);
		if (pa == NULL) {
			rc = ENOMEM;
			break;
		}
		*pa = (struct pool_arg){k, started};
		rc = pthread_create(&k->pool[started], NULL, pool_main, pa);
		if (rc != 0) {
			free(pa);
			break;
		}
	}
	if (rc == 0)
		rc = pthread_create(&k->thread, NULL, refresh_main, k);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		st = err_set(e, ST_INTERNAL, "cannot start the JWKS fetch threads (error %d)", rc);
		pthread_mutex_lock(&k->mu);
		atomic_store(&k->stop, true);
		pthread_cond_broadcast(&k->work);
		pthread_mutex_unlock(&k->mu);
		for (size_t i = 0; i < started; i++)
			pthread_join(k->pool[i], NULL);
		goto out;
	}
	*out = k;
	k = NULL;
out:
	if (ca_ok)
		pthread_condattr_destroy(&ca);
	if (k != NULL) {
		if (work_ok)
			pthread_cond_destroy(&k->work);
		if (wake_ok)
			pthread_cond_destroy(&k->wake);
		if (fetched_ok)
			pthread_cond_destroy(&k->fetched);
		if (mu_ok)
			pthread_mutex_destroy(&k->mu);
		free(k->ca_file);
		free(k);
	}
	return st;
}

status keys_new(const struct config *cfg, struct keys **out, struct err *e)
{
	return keys_new_with_opts(cfg, NULL, out, e);
}

void keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	atomic_store(&k->stop, true);
	pthread_cond_signal(&k->wake);
	pthread_cond_broadcast(&k->work);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	for (size_t i = 0; i < k->npool; i++)
		pthread_join(k->pool[i], NULL);

	pthread_mutex_lock(&k->mu);
	queue_cancel(k);
	while (k->lru.next != &k->lru)
		entry_unlink(k, k->lru.next);
	pthread_mutex_unlock(&k->mu);
	pthread_cond_destroy(&k->work);
	pthread_cond_destroy(&k->wake);
	pthread_cond_destroy(&k->fetched);
	pthread_mutex_destroy(&k->mu);
	free(k->ca_file);
	free(k);
}
