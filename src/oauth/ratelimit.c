/* ratelimit.c - the GCRA table of ratelimit.h. */
#include "oauth/ratelimit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/crypto.h"
#include "lib/net.h"

#define TIME_BITS 48 /* microseconds: 8.9 years of uptime */
#define TIME_MASK ((UINT64_C(1) << TIME_BITS) - 1)

struct ratelimit {
	int64_t interval_us;  /* T: 1 s / rate */
	int64_t tolerance_us; /* tau: T * (burst - 1) */
	int64_t start_us;     /* times are stored relative to this */
	uint64_t seed;
	_Atomic uint64_t slot[RL_SLOTS];
};

int64_t ratelimit_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

status ratelimit_new(int64_t rate, int64_t burst, struct ratelimit **out)
{
	struct ratelimit *rl;

	*out = NULL;
	if (rate < 1)
		return ST_OK;
	if (rate > 1000000)
		rate = 1000000;
	if (burst < 1)
		burst = rate;
	if (burst > 1000000)
		burst = 1000000;
	rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return ST_NOMEM;
	rl->interval_us = 1000000 / rate;
	rl->tolerance_us = rl->interval_us * (burst - 1);
	/* Stored times are start-relative and 0 means "empty": start one
	 * second back, so no live time is ever 0. */
	rl->start_us = ratelimit_now_us() - 1000000;
	if (rand_bytes((unsigned char *)&rl->seed, sizeof rl->seed) != ST_OK) {
		free(rl);
		return ST_INTERNAL;
	}
	for (size_t i = 0; i < RL_SLOTS; i++)
		atomic_init(&rl->slot[i], 0);
	*out = rl;
	return ST_OK;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

uint64_t ratelimit_key(const struct ratelimit *rl, const void *p, size_t n)
{
	return hash64_keyed(rl->seed, p, n);
}

uint64_t ratelimit_addr_key(const struct ratelimit *rl, const char *addr)
{
	unsigned char src[NET_SOURCE_MAX];
	size_t n = net_source_text(addr, src);

	if (n > 0)
		return ratelimit_key(rl, src, n);
	return ratelimit_key(rl, addr != NULL ? addr : "", addr != NULL ? strlen(addr) : 0);
}

static uint64_t word(uint64_t tag, int64_t t)
{
	return tag << TIME_BITS | ((uint64_t)t & TIME_MASK);
}

static int64_t word_time(uint64_t w)
{
	return (int64_t)(w & TIME_MASK);
}

int64_t ratelimit_take(struct ratelimit *rl, uint64_t key, int64_t now_us)
{
	uint64_t tag = (key >> TIME_BITS) | 1; /* never 0: 0 is an empty slot */
	int64_t now = now_us - rl->start_us;
	size_t base = (size_t)key & (RL_SLOTS - 1);

	if (now < 1)
		now = 1;
	for (int attempt = 0; attempt < 4; attempt++) {
		_Atomic uint64_t *mine = NULL, *idle = NULL, *soonest = NULL;
		uint64_t w = 0, idle_w = 0, soonest_w = 0;

		for (size_t i = 0; i < RL_PROBE; i++) {
			_Atomic uint64_t *s = &rl->slot[(base + i) & (RL_SLOTS - 1)];
			uint64_t v = atomic_load_explicit(s, memory_order_relaxed);
			if (v >> TIME_BITS == tag) {
				mine = s;
				w = v;
				break;
			}
			if (idle == NULL && word_time(v) <= now) {
				idle = s;
				idle_w = v;
			} else if (soonest == NULL || word_time(v) < word_time(soonest_w)) {
				soonest = s;
				soonest_w = v;
			}
		}
		if (mine == NULL) {
			/* New (or forgotten) key: a full bucket, one request taken. */
			_Atomic uint64_t *s = idle != NULL ? idle : soonest;
			uint64_t old = idle != NULL ? idle_w : soonest_w;
			if (atomic_compare_exchange_strong_explicit(
				s, &old, word(tag, now + rl->interval_us), memory_order_relaxed,
				memory_order_relaxed))
				return 0;
			continue; /* another request took the slot: look again */
		}
		for (;;) {
			int64_t tat = word_time(w) > now ? word_time(w) : now;
			if (tat - now > rl->tolerance_us) {
				int64_t wait = tat - now - rl->tolerance_us;
				return (wait + 999999) / 1000000;
			}
			if (atomic_compare_exchange_weak_explicit(
				mine, &w, word(tag, tat + rl->interval_us), memory_order_relaxed,
				memory_order_relaxed))
				return 0;
			if (w >> TIME_BITS != tag)
				break; /* taken over meanwhile: start again */
		}
	}
	return 0; /* contended beyond reason: let it through rather than spin */
}
