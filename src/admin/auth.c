/* auth.c - admin authentication: HTTP Basic against argon2id hashes.
 *
 * Three defences, in the order a request meets them:
 *  1. Throttling (docs/security.md, "Admin logins"): attempts are counted
 *     per source (an IPv6 address by its /64) and per principal (user and
 *     tenant domain, normalised) in a fixed window, before the password is
 *     checked, and a success takes its attempt back. A source at
 *     max_failed_logins gets 429 with Retry-After and no password is checked
 *     at all (argon2id is expensive on purpose). A principal at the limit is
 *     refused to sources that have failed, and slowed down to one attempt per
 *     ADMIN_SOFT_INTERVAL for sources that have not, so a lock-out by
 *     strangers does not keep the owner out.
 *  2. A verification cache: a successful check is remembered for
 *     auth_cache_ttl seconds under HMAC(server secret, tenant|user|password),
 *     so a burst of admin requests costs one argon2id, and no password is
 *     kept in memory.
 *  3. At most ARGON2_CONCURRENCY argon2id checks run at once (each takes
 *     64 MiB), bounding memory under a flood of distinct credentials. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin/auth.h"
#include "admin/session.h"
#include "lib/log.h"

#define THROTTLE_SLOTS      1024 /* power of two */
#define VERIFY_CACHE_SLOTS  256  /* power of two */
#define ARGON2_CONCURRENCY  2
#define ADMIN_SOFT_INTERVAL 2 /* seconds between attempts on a locked account */

struct throttle_slot {
	unsigned char key[SHA256_LEN];
	time_t window_start;
	int64_t failures; /* attempts not (yet) known to have succeeded */
	time_t soft_next; /* principal: the next attempt a clean source may make */
};

struct verify_slot {
	unsigned char key[SHA256_LEN];
	time_t expires;
};

struct admin_auth {
	const struct config *cfg;
	pthread_mutex_t mu;
	struct throttle_slot throttle[THROTTLE_SLOTS];
	struct verify_slot verified[VERIFY_CACHE_SLOTS];
	sem_t argon2_slots;
	unsigned char key[SHA256_LEN]; /* random per process: cache keys */
	pthread_mutex_t dummy_mu;
	bool dummy_ready;
	char dummy_hash[crypto_pwhash_STRBYTES];
	struct session_table *sessions;
};

status admin_auth_new(const struct config *cfg, struct admin_auth **out)
{
	struct admin_auth *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ST_NOMEM;
	a->cfg = cfg;
	if (pthread_mutex_init(&a->mu, NULL) != 0 || pthread_mutex_init(&a->dummy_mu, NULL) != 0 ||
	    sem_init(&a->argon2_slots, 0, ARGON2_CONCURRENCY) != 0 ||
	    rand_bytes(a->key, sizeof a->key) != ST_OK ||
	    (a->sessions =
		 session_table_new(cfg->console.session_idle_timeout, cfg->console.session_lifetime,
				   cfg->console.max_sessions)) == NULL) {
		free(a);
		return ST_INTERNAL;
	}
	*out = a;
	return ST_OK;
}

void admin_auth_free(struct admin_auth *a)
{
	if (a == NULL)
		return;
	session_table_free(a->sessions);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->dummy_mu);
	sem_destroy(&a->argon2_slots);
	mem_wipe(a, sizeof *a);
	free(a);
}

static void keyed(const struct admin_auth *a, const char *kind, const char *x, const char *y,
		  const char *z, unsigned char out[SHA256_LEN])
{
	struct buf b = {.max = 4096};
	/* NUL separators: no two different tuples hash the same. */
	buf_append(&b, kind, strlen(kind) + 1);
	buf_append(&b, x, strlen(x) + 1);
	buf_append(&b, y ? y : "", strlen(y ? y : "") + 1);
	buf_append(&b, z ? z : "", strlen(z ? z : "") + 1);
	if (hmac_sha256(a->key, sizeof a->key, b.p, b.n, out) != ST_OK)
		memset(out, 0, SHA256_LEN);
	mem_wipe(b.p, b.cap);
	buf_free(&b);
}

static struct throttle_slot *
throttle_find(struct admin_auth *a, const unsigned char key[SHA256_LEN], time_t now, bool create)
{
	size_t i = (key[0] | (size_t)key[1] << 8) & (THROTTLE_SLOTS - 1);
	struct throttle_slot *s = &a->throttle[i];
	time_t window = a->cfg->admin_api.lockout_window;

	if (memcmp(s->key, key, SHA256_LEN) == 0 && now - s->window_start < window)
		return s;
	if (!create)
		return NULL;
	/* A new or expired key takes the slot (evicting a collision). */
	memcpy(s->key, key, SHA256_LEN);
	s->window_start = now;
	s->failures = 0;
	s->soft_next = 0;
	return s;
}

/* The source key: an IPv4 address (also IPv4-mapped IPv6) as it is, an
 * IPv6 address as its /64, which one host usually holds whole. */
static void source_key(const char *addr, char out[INET6_ADDRSTRLEN + 4])
{
	struct in6_addr a6;
	struct in_addr a4;

	if (addr != NULL && inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, a6.s6_addr + 12, 4);
			inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN);
			return;
		}
		char buf[INET6_ADDRSTRLEN];
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, buf, sizeof buf);
		snprintf(out, INET6_ADDRSTRLEN + 4, "%s/64", buf);
		return;
	}
	snprintf(out, INET6_ADDRSTRLEN + 4, "%s", addr != NULL ? addr : "-");
}

int admin_auth_begin(struct admin_auth *a, const char *source, const char *principal)
{
	unsigned char ks[SHA256_LEN], ku[SHA256_LEN];
	char src[INET6_ADDRSTRLEN + 4];
	time_t now = time(NULL), window = a->cfg->admin_api.lockout_window;
	int64_t max = a->cfg->admin_api.max_failed_logins;
	struct throttle_slot *s, *u;
	int retry = 0;

	source_key(source, src);
	keyed(a, "src", src, NULL, NULL, ks);
	keyed(a, "user", principal, NULL, NULL, ku);
	pthread_mutex_lock(&a->mu);
	s = throttle_find(a, ks, now, true);
	u = throttle_find(a, ku, now, true);
	if (s->failures >= max) {
		retry = (int)(s->window_start + window - now);
	} else if (u->failures >= max && s->failures > 0) {
		retry = (int)(u->window_start + window - now);
	} else if (u->failures >= max) {
		/* A source that has not failed meets a soft lock: one attempt
		 * per ADMIN_SOFT_INTERVAL for the account, so that whoever
		 * locked it cannot keep its owner out. */
		if (now < u->soft_next)
			retry = (int)(u->soft_next - now);
		else
			u->soft_next = now + ADMIN_SOFT_INTERVAL;
	}
	if (retry == 0) {
		/* Counted before the check: parallel attempts cannot all pass. */
		s->failures++;
		u->failures++;
	}
	pthread_mutex_unlock(&a->mu);
	return retry > 0 ? retry : 0;
}

void admin_auth_succeeded(struct admin_auth *a, const char *source, const char *principal)
{
	unsigned char ks[SHA256_LEN], ku[SHA256_LEN];
	char src[INET6_ADDRSTRLEN + 4];
	struct throttle_slot *s;
	time_t now = time(NULL);

	source_key(source, src);
	keyed(a, "src", src, NULL, NULL, ks);
	keyed(a, "user", principal, NULL, NULL, ku);
	pthread_mutex_lock(&a->mu);
	if ((s = throttle_find(a, ks, now, false)) != NULL && s->failures > 0)
		s->failures--; /* the attempt counted by admin_auth_begin */
	if ((s = throttle_find(a, ku, now, false)) != NULL) {
		s->failures = 0;
		s->soft_next = 0;
	}
	pthread_mutex_unlock(&a->mu);
}

bool admin_auth_check(struct admin_auth *a, const char *tenant_id, const char *user,
		      const char *password, const char *pw_hash)
{
	unsigned char k[SHA256_LEN];
	struct verify_slot *s;
	time_t now = time(NULL);
	bool ok;

	/* Keyed by the stored hash too: once the password is changed (even by
	 * `grantd admin set-password` beside a running server), the old one's
	 * cached success no longer matches. The hash ("$argon2id$...") cannot
	 * equal another kind of key's label. */
	keyed(a, pw_hash, tenant_id, user, password, k);
	s = &a->verified[(k[0] | (size_t)k[1] << 8) & (VERIFY_CACHE_SLOTS - 1)];
	pthread_mutex_lock(&a->mu);
	ok = s->expires > now && ct_eq(s->key, SHA256_LEN, k, SHA256_LEN);
	pthread_mutex_unlock(&a->mu);
	if (ok)
		return true;

	sem_wait(&a->argon2_slots);
	ok = crypto_pwhash_str_verify(pw_hash, password, strlen(password)) == 0;
	sem_post(&a->argon2_slots);
	if (ok && a->cfg->admin_api.auth_cache_ttl > 0) {
		pthread_mutex_lock(&a->mu);
		memcpy(s->key, k, SHA256_LEN);
		s->expires = now + a->cfg->admin_api.auth_cache_ttl;
		pthread_mutex_unlock(&a->mu);
	}
	return ok;
}

void admin_auth_check_dummy(struct admin_auth *a, const char *password)
{
	static const char pw[] = "grantd-dummy-password";
	bool ready;

	/* Made on first use, so that a server nobody probes never pays for it. */
	pthread_mutex_lock(&a->dummy_mu);
	if (!a->dummy_ready)
		a->dummy_ready = crypto_pwhash_str(a->dummy_hash, pw, sizeof pw - 1,
						   crypto_pwhash_OPSLIMIT_INTERACTIVE,
						   crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
	ready = a->dummy_ready;
	pthread_mutex_unlock(&a->dummy_mu);
	if (!ready)
		return;
	sem_wait(&a->argon2_slots);
	if (crypto_pwhash_str_verify(a->dummy_hash, password, strlen(password)) == 0)
		log_warn("a password matched the dummy hash");
	sem_post(&a->argon2_slots);
}

void admin_auth_forget(struct admin_auth *a)
{
	pthread_mutex_lock(&a->mu);
	memset(a->verified, 0, sizeof a->verified);
	pthread_mutex_unlock(&a->mu);
}

struct session_table *admin_auth_sessions(struct admin_auth *a)
{
	return a->sessions;
}
