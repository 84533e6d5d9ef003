/* test_http.c - runs every group of the src/http unit tests. */
#include "http_tests.h"

int main(void)
{
	int failed = 0;

	failed += test_form_group();
	failed += test_router_group();
	failed += test_request_group();
	return failed ? 1 : 0;
}
