/* ratelimit.h - token-endpoint rate limits (docs/security.md, "Rate limits").
 *
 * A GCRA (generic cell rate algorithm: a token bucket kept as one
 * "theoretical arrival time" per key) over a fixed table of 64-bit words,
 * updated with compare-and-swap only: no lock, no allocation, no syscall
 * per request. Each word holds a 16-bit tag of the key and the key's
 * arrival time in microseconds since the limiter started; a key probes
 * RL_PROBE slots from its hash. A slot whose time has passed is idle (its
 * bucket is full again) and is reused; when every probed slot is busy the
 * one that is soonest idle is taken over (that key's state is forgotten:
 * it gets a full bucket, never less). */
#ifndef GRANTD_OAUTH_RATELIMIT_H
#define GRANTD_OAUTH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define RL_SLOTS 65536u /* per limiter, a power of two: 512 KiB */
#define RL_PROBE 8

struct ratelimit;

/* A limiter allowing `rate` requests per second per key with bursts of
 * `burst` (0 = `rate`). rate < 1: *out = NULL (off). ST_NOMEM. */
status ratelimit_new(int64_t rate, int64_t burst, struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);

/* The key of a byte string, hashed under the limiter's random seed (so
 * nobody can choose keys that share slots). */
uint64_t ratelimit_key(const struct ratelimit *rl, const void *p, size_t n);
/* The key of a textual client address: IPv4 (and IPv4-mapped IPv6) by the
 * whole address, IPv6 by its /64. */
uint64_t ratelimit_addr_key(const struct ratelimit *rl, const char *addr);

/* Takes one request for `key` at `now_us` (a monotonic clock, microseconds,
 * never less than at ratelimit_new): 0 when allowed, else the whole
 * seconds (>= 1) after which a request would be allowed. */
int64_t ratelimit_take(struct ratelimit *rl, uint64_t key, int64_t now_us);

/* CLOCK_MONOTONIC in microseconds. */
int64_t ratelimit_now_us(void);

#endif
