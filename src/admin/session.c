/* session.c - the console's session table (session.h). */
#include "admin/session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	bool used;
	unsigned char key[SHA256_LEN]; /* HMAC(t->key, id) */
	struct session_info info;
};

struct session_table {
	pthread_mutex_t mu;
	int64_t idle, lifetime;
	size_t n;
	unsigned char key[SHA256_LEN]; /* random per process */
	struct slot *slots;
};

struct session_table *session_table_new(int64_t idle, int64_t lifetime, int64_t max)
{
	struct session_table *t = calloc(1, sizeof *t);

	if (t == NULL || max < 1 || (t->slots = calloc((size_t)max, sizeof *t->slots)) == NULL ||
	    rand_bytes(t->key, sizeof t->key) != ST_OK || pthread_mutex_init(&t->mu, NULL) != 0) {
		if (t != NULL)
			free(t->slots);
		free(t);
		return NULL;
	}
	t->idle = idle;
	t->lifetime = lifetime;
	t->n = (size_t)max;
	return t;
}

void session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->mu);
	mem_wipe(t->slots, t->n * sizeof *t->slots);
	free(t->slots);
	mem_wipe(t, sizeof *t);
	free(t);
}

static bool alive(const struct session_table *t, const struct slot *s, int64_t now)
{
	return s->used && now < s->info.expires_at && now - s->info.last_used < t->idle;
}

static status key_of(const struct session_table *t, const char *id, unsigned char out[SHA256_LEN])
{
	return hmac_sha256(t->key, sizeof t->key, id, strlen(id), out);
}

status session_create(struct session_table *t, struct session_info *who, int64_t now,
		      char id[SESSION_ID_LEN + 1])
{
	unsigned char k[SHA256_LEN];
	struct slot *victim = NULL;
	status st;

	if ((st = rand_token(32, id, SESSION_ID_LEN + 1)) != ST_OK ||
	    (st = rand_token(32, who->csrf, sizeof who->csrf)) != ST_OK ||
	    (st = key_of(t, id, k)) != ST_OK)
		return st;
	who->created = now;
	who->last_used = now;
	who->expires_at = now + t->lifetime;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		struct slot *s = &t->slots[i];
		if (!alive(t, s, now)) {
			victim = s;
			break;
		}
		if (victim == NULL || s->info.last_used < victim->info.last_used)
			victim = s;
	}
	victim->used = true;
	memcpy(victim->key, k, sizeof k);
	victim->info = *who;
	pthread_mutex_unlock(&t->mu);
	return ST_OK;
}

/* The slot of `k`, or NULL; under t->mu. Every used slot is compared, in
 * constant time, so the time taken says nothing about the id. */
static struct slot *find(struct session_table *t, const unsigned char k[SHA256_LEN])
{
	struct slot *hit = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->slots[i].used && ct_eq(t->slots[i].key, SHA256_LEN, k, SHA256_LEN))
			hit = &t->slots[i];
	return hit;
}

status session_lookup(struct session_table *t, const char *id, int64_t now,
		      struct session_info *out)
{
	unsigned char k[SHA256_LEN];
	struct slot *s;
	status st = ST_NOT_FOUND;

	if (strlen(id) != SESSION_ID_LEN || key_of(t, id, k) != ST_OK)
		return ST_NOT_FOUND;
	pthread_mutex_lock(&t->mu);
	if ((s = find(t, k)) != NULL) {
		if (alive(t, s, now)) {
			s->info.last_used = now;
			*out = s->info;
			st = ST_OK;
		} else {
			mem_wipe(s, sizeof *s);
		}
	}
	pthread_mutex_unlock(&t->mu);
	return st;
}

void session_delete(struct session_table *t, const char *id)
{
	unsigned char k[SHA256_LEN];
	struct slot *s;

	if (strlen(id) != SESSION_ID_LEN || key_of(t, id, k) != ST_OK)
		return;
	pthread_mutex_lock(&t->mu);
	if ((s = find(t, k)) != NULL)
		mem_wipe(s, sizeof *s);
	pthread_mutex_unlock(&t->mu);
}

size_t session_count(struct session_table *t, int64_t now)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++)
		n += alive(t, &t->slots[i], now);
	pthread_mutex_unlock(&t->mu);
	return n;
}
