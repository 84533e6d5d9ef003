/* http_tests.h - the groups of test_http (one cmocka executable). */
#ifndef GRANTD_TEST_HTTP_TESTS_H
#define GRANTD_TEST_HTTP_TESTS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

int test_form_group(void);
int test_router_group(void);
int test_request_group(void);

#endif
