/* keys_test.h - test hooks of the JWKS cache (tests/unit/keys only).
 *
 * Production code uses keys.h. These let a test drive time explicitly
 * instead of sleeping, and observe the cache without racing it. */
#ifndef GRANTD_KEYS_KEYS_TEST_H
#define GRANTD_KEYS_KEYS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/keys.h"

/* Monotonic milliseconds. */
typedef int64_t (*keys_clock_fn)(void *ctx);

struct keys_opts {
	keys_clock_fn clock; /* NULL = CLOCK_MONOTONIC */
	void *clock_ctx;
	size_t max_entries;  /* 0 = KEYS_MAX_ENTRIES */
	const char *ca_file; /* NULL = the system CA store (copied) */
	int64_t wait_ms;     /* 0 = KEYS_WAIT_MS: how long a request waits for a fetch */
};

/* keys_new with the options above. The refresh thread sleeps on the real
 * monotonic clock for as long as the injected clock says it should: a test
 * that moves its clock calls keys_refresh_sync() to make it look again. */
status keys_new_with_opts(const struct config *cfg, const struct keys_opts *o, struct keys **out,
			  struct err *e);

/* Wakes the refresh thread and returns once it has refreshed every entry
 * due at the (injected) current time and gone back to sleep. */
void keys_refresh_sync(struct keys *k);
/* Returns once no fetch is queued or running in the fetch pool. */
void keys_fetches_sync(struct keys *k);
/* Returns once the fetch of `idp_id` is not queued any more (a pool thread
 * runs it, or it ended). */
void keys_wait_taken(struct keys *k, const char *idp_id);
/* Wakes the refresh thread and returns at once. */
void keys_refresh_kick(struct keys *k);

struct keys_entry_info {
	bool in_flight;      /* a fetch is queued or running for it */
	bool queued;         /* waiting for a pool thread (its tenant's budget) */
	bool has_keys;       /* a set has been fetched */
	unsigned failures;   /* consecutive failed fetches */
	int64_t fetched_at;  /* clock ms of the last success */
	int64_t refresh_at;  /* when the refresh thread will refetch */
	struct err last_err; /* the last failure (st ST_OK after a success) */
};
/* ST_NOT_FOUND when the IdP has no entry. */
status keys_entry_info(struct keys *k, const char *idp_id, struct keys_entry_info *out);
size_t keys_entry_count(struct keys *k);

#endif
