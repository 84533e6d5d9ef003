/* test_session.c - the console's session table (src/admin/session.h), with
 * an injected clock: idle timeout, absolute lifetime, logout, the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admin/session.h"
#include "lib/crypto.h"

static struct session_info who(const char *user)
{
	struct session_info s;
	memset(&s, 0, sizeof s);
	snprintf(s.tenant_id, sizeof s.tenant_id, "t-1");
	snprintf(s.domain, sizeof s.domain, "carbon.super");
	snprintf(s.user, sizeof s.user, "%s", user);
	return s;
}

static void create_and_lookup(void **state)
{
	struct session_table *t = session_table_new(900, 28800, 4);
	struct session_info s = who("admin"), got;
	char id[SESSION_ID_LEN + 1], other[SESSION_ID_LEN + 1];
	(void)state;

	assert_non_null(t);
	assert_int_equal(session_create(t, &s, 1000, id), ST_OK);
	assert_int_equal(strlen(id), SESSION_ID_LEN);
	assert_int_equal(strlen(s.csrf), SESSION_CSRF_LEN);
	assert_int_equal(s.expires_at, 1000 + 28800);
	assert_int_equal(session_lookup(t, id, 1001, &got), ST_OK);
	assert_string_equal(got.user, "admin");
	assert_string_equal(got.csrf, s.csrf);
	/* a second session has another id and another CSRF token */
	assert_int_equal(session_create(t, &s, 1000, other), ST_OK);
	assert_string_not_equal(id, other);
	assert_string_not_equal(got.csrf, s.csrf);
	/* unknown, truncated and empty ids */
	assert_int_equal(session_lookup(t, "", 1001, &got), ST_NOT_FOUND);
	id[5] ^= 1;
	assert_int_equal(session_lookup(t, id, 1001, &got), ST_NOT_FOUND);
	id[5] ^= 1;
	id[10] = '\0';
	assert_int_equal(session_lookup(t, id, 1001, &got), ST_NOT_FOUND);
	session_table_free(t);
}

static void idle_timeout(void **state)
{
	struct session_table *t = session_table_new(900, 28800, 4);
	struct session_info s = who("admin"), got;
	char id[SESSION_ID_LEN + 1];
	(void)state;

	assert_int_equal(session_create(t, &s, 1000, id), ST_OK);
	/* each use restarts the idle clock */
	assert_int_equal(session_lookup(t, id, 1000 + 899, &got), ST_OK);
	assert_int_equal(session_lookup(t, id, 1000 + 899 + 899, &got), ST_OK);
	/* 900 s without use: gone, and stays gone */
	assert_int_equal(session_lookup(t, id, 1000 + 899 + 899 + 900, &got), ST_NOT_FOUND);
	assert_int_equal(session_lookup(t, id, 1000 + 899 + 899 + 1, &got), ST_NOT_FOUND);
	assert_int_equal(session_count(t, 1000), 0);
	session_table_free(t);
}

static void absolute_lifetime(void **state)
{
	struct session_table *t = session_table_new(900, 3600, 4);
	struct session_info s = who("admin"), got;
	char id[SESSION_ID_LEN + 1];
	int64_t now = 1000;
	(void)state;

	assert_int_equal(session_create(t, &s, now, id), ST_OK);
	/* used every 10 minutes: still ends one hour after the login */
	for (now = 1600; now < 1000 + 3600; now += 600)
		assert_int_equal(session_lookup(t, id, now, &got), ST_OK);
	assert_int_equal(session_lookup(t, id, 1000 + 3600, &got), ST_NOT_FOUND);
	session_table_free(t);
}

static void logout(void **state)
{
	struct session_table *t = session_table_new(900, 3600, 4);
	struct session_info s = who("admin"), got;
	char id[SESSION_ID_LEN + 1];
	(void)state;

	assert_int_equal(session_create(t, &s, 1000, id), ST_OK);
	session_delete(t, id);
	assert_int_equal(session_lookup(t, id, 1001, &got), ST_NOT_FOUND);
	session_delete(t, id); /* twice: ignored */
	session_delete(t, "nope");
	session_table_free(t);
}

static void bounded(void **state)
{
	struct session_table *t = session_table_new(900, 3600, 2);
	struct session_info a = who("a"), b = who("b"), c = who("c"), got;
	char ia[SESSION_ID_LEN + 1], ib[SESSION_ID_LEN + 1], ic[SESSION_ID_LEN + 1];
	(void)state;

	assert_int_equal(session_create(t, &a, 1000, ia), ST_OK);
	assert_int_equal(session_create(t, &b, 1001, ib), ST_OK);
	assert_int_equal(session_lookup(t, ia, 1002, &got), ST_OK); /* a used last */
	/* full: the least recently used (b) makes room */
	assert_int_equal(session_create(t, &c, 1003, ic), ST_OK);
	assert_int_equal(session_count(t, 1003), 2);
	assert_int_equal(session_lookup(t, ib, 1004, &got), ST_NOT_FOUND);
	assert_int_equal(session_lookup(t, ia, 1004, &got), ST_OK);
	assert_int_equal(session_lookup(t, ic, 1004, &got), ST_OK);
	assert_string_equal(got.user, "c");
	/* an expired slot is reused before a live one is evicted */
	assert_int_equal(session_create(t, &b, 1004 + 900, ib), ST_OK);
	assert_int_equal(session_count(t, 1004 + 900), 1);
	session_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_and_lookup), cmocka_unit_test(idle_timeout),
	    cmocka_unit_test(absolute_lifetime), cmocka_unit_test(logout),
	    cmocka_unit_test(bounded),
	};
	assert_int_equal(crypto_init(), ST_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
