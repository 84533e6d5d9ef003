/* test_http.c - runs every group of the src/http unit tests. */
#include <curl/curl.h>

#include "http_tests.h"

int main(void)
{
	int failed = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed += test_form_group();
	failed += test_router_group();
	failed += test_tls_group();
	failed += test_server_group();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
