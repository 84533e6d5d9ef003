/* server_tests.h - the groups of test_server (one cmocka executable). */
#ifndef GRANTD_TEST_SERVER_TESTS_H
#define GRANTD_TEST_SERVER_TESTS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

int test_tls_group(void);
int test_server_group(void);

#endif
