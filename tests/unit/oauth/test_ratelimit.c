/* test_ratelimit.c - the GCRA table of oauth/ratelimit.h, with an injected
 * clock (the microseconds given to ratelimit_take). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "oauth/ratelimit.h"

#define S 1000000 /* one second in microseconds */

static struct ratelimit *limiter(int64_t rate, int64_t burst)
{
	struct ratelimit *rl = NULL;
	assert_int_equal(ratelimit_new(rate, burst, &rl), ST_OK);
	assert_non_null(rl);
	return rl;
}

static void off_when_rate_is_zero(void **state)
{
	struct ratelimit *rl = (void *)1;
	(void)state;
	assert_int_equal(ratelimit_new(0, 5, &rl), ST_OK);
	assert_null(rl);
}

/* rate 1/s, burst 3: three at once, then one per second; the wait is told
 * in whole seconds, rounded up. */
static void burst_then_rate(void **state)
{
	struct ratelimit *rl = limiter(1, 3);
	int64_t t = ratelimit_now_us();
	uint64_t k = ratelimit_key(rl, "client-a", 8);
	(void)state;

	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, k, t), 0);
	assert_int_equal(ratelimit_take(rl, k, t), 1);
	assert_int_equal(ratelimit_take(rl, k, t + S / 2), 1); /* 0.5 s left: 1 */
	assert_int_equal(ratelimit_take(rl, k, t + S), 0);     /* one came back */
	assert_int_equal(ratelimit_take(rl, k, t + S), 1);
	/* After a long pause the bucket is full again, not fuller. */
	t += 100 * S;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, k, t), 0);
	assert_int_equal(ratelimit_take(rl, k, t), 1);
	ratelimit_free(rl);
}

static void waits_grow_while_refused_requests_do_not_count(void **state)
{
	struct ratelimit *rl = limiter(2, 2); /* 2/s, burst 2 */
	int64_t t = ratelimit_now_us();
	uint64_t k = ratelimit_key(rl, "k", 1);
	(void)state;

	assert_int_equal(ratelimit_take(rl, k, t), 0);
	assert_int_equal(ratelimit_take(rl, k, t), 0);
	/* Refused requests take nothing: hammering does not push the wait out. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(ratelimit_take(rl, k, t), 1);
	assert_int_equal(ratelimit_take(rl, k, t + S / 2), 0);
	ratelimit_free(rl);
}

static void keys_are_independent(void **state)
{
	struct ratelimit *rl = limiter(1, 1);
	int64_t t = ratelimit_now_us();
	(void)state;

	assert_int_equal(ratelimit_take(rl, ratelimit_key(rl, "a", 1), t), 0);
	assert_int_equal(ratelimit_take(rl, ratelimit_key(rl, "a", 1), t), 1);
	assert_int_equal(ratelimit_take(rl, ratelimit_key(rl, "b", 1), t), 0);
	assert_int_equal(ratelimit_take(rl, ratelimit_key(rl, "b", 1), t), 1);
	ratelimit_free(rl);
}

/* IPv4 by address, IPv6 by /64, IPv4-mapped as IPv4. */
static void address_keys(void **state)
{
	struct ratelimit *rl = limiter(1, 1);
	(void)state;

	assert_true(ratelimit_addr_key(rl, "2001:db8:1:2::1") ==
		    ratelimit_addr_key(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	assert_true(ratelimit_addr_key(rl, "2001:db8:1:2::1") !=
		    ratelimit_addr_key(rl, "2001:db8:1:3::1"));
	assert_true(ratelimit_addr_key(rl, "192.0.2.1") != ratelimit_addr_key(rl, "192.0.2.2"));
	assert_true(ratelimit_addr_key(rl, "::ffff:192.0.2.1") ==
		    ratelimit_addr_key(rl, "192.0.2.1"));
	ratelimit_free(rl);
}

/* Far more live keys than slots: new keys still get their burst (an
 * evicted key is forgotten, i.e. gets a full bucket, never a refusal). */
static void full_table_keeps_working(void **state)
{
	struct ratelimit *rl = limiter(1, 2);
	int64_t t = ratelimit_now_us();
	uint64_t hot = ratelimit_key(rl, "hot", 3);
	(void)state;

	assert_int_equal(ratelimit_take(rl, hot, t), 0);
	assert_int_equal(ratelimit_take(rl, hot, t), 0);
	uint32_t refused = 0;
	for (uint32_t i = 0; i < 4 * RL_SLOTS; i++) {
		uint64_t k = ratelimit_key(rl, &i, sizeof i);
		refused += ratelimit_take(rl, k, t) != 0;
	}
	/* Only a key whose 16-bit tag matches a live key in its probe window
	 * shares that key's bucket: a few in 262,144, never a systematic
	 * refusal. */
	if (refused > 4 * RL_SLOTS / 1000)
		fail_msg("%u of %u new keys refused", refused, 4 * RL_SLOTS);
	ratelimit_free(rl);
}

struct racer {
	struct ratelimit *rl;
	uint64_t key;
	int64_t t;
	atomic_int *allowed;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	for (int i = 0; i < 1000; i++)
		if (ratelimit_take(r->rl, r->key, r->t) == 0)
			atomic_fetch_add(r->allowed, 1);
	return NULL;
}

/* Concurrent takes on one key at one instant: exactly the burst passes. */
static void concurrent_takes_respect_the_burst(void **state)
{
	struct ratelimit *rl = limiter(1, 50);
	atomic_int allowed = 0;
	pthread_t th[8];
	struct racer r = {rl, ratelimit_key(rl, "shared", 6), ratelimit_now_us(), &allowed};
	(void)state;

	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&allowed), 50);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(off_when_rate_is_zero),
	    cmocka_unit_test(burst_then_rate),
	    cmocka_unit_test(waits_grow_while_refused_requests_do_not_count),
	    cmocka_unit_test(keys_are_independent),
	    cmocka_unit_test(address_keys),
	    cmocka_unit_test(full_table_keeps_working),
	    cmocka_unit_test(concurrent_takes_respect_the_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
