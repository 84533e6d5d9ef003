/* test_introspect.c - which stored tokens introspection reports active,
 * with the clock injected: expiry to the second, revocation, a used
 * refresh token, another tenant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/introspect.h"

static struct store_token token(enum store_token_kind kind)
{
	struct store_token t;

	memset(&t, 0, sizeof t);
	t.kind = kind;
	t.tenant_id = "tenant-1";
	t.issued_at = 1000;
	t.expires_at = 1001; /* the shortest lifetime an application allows: 1 s */
	return t;
}

static void expiry_to_the_second(void **state)
{
	struct store_token at = token(STORE_TOKEN_ACCESS), rt = token(STORE_TOKEN_REFRESH);

	(void)state;
	assert_true(introspect_token_active(&at, "tenant-1", 999)); /* clock behind */
	assert_true(introspect_token_active(&at, "tenant-1", 1000));
	assert_false(introspect_token_active(&at, "tenant-1", 1001)); /* exp is exclusive */
	assert_false(introspect_token_active(&at, "tenant-1", 5000));
	assert_true(introspect_token_active(&rt, "tenant-1", 1000));
	assert_false(introspect_token_active(&rt, "tenant-1", 1001));
}

static void revoked_used_foreign(void **state)
{
	struct store_token t = token(STORE_TOKEN_ACCESS);

	(void)state;
	t.revoked = true;
	assert_false(introspect_token_active(&t, "tenant-1", 1000));
	t = token(STORE_TOKEN_REFRESH);
	t.used = true;
	assert_false(introspect_token_active(&t, "tenant-1", 1000));
	t = token(STORE_TOKEN_ACCESS);
	t.used = true; /* meaningless for an access token */
	assert_true(introspect_token_active(&t, "tenant-1", 1000));
	assert_false(introspect_token_active(&t, "tenant-2", 1000));
	assert_false(introspect_token_active(&t, NULL, 1000));
	t.tenant_id = NULL;
	assert_false(introspect_token_active(&t, "tenant-1", 1000));
	t = token((enum store_token_kind)7);
	assert_false(introspect_token_active(&t, "tenant-1", 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(expiry_to_the_second),
	    cmocka_unit_test(revoked_used_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
