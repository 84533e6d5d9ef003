/* test_main.c - runs every group of the src/server unit tests. */
#include <curl/curl.h>

#include "server_tests.h"

int main(void)
{
	int failed = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed += test_tls_group();
	failed += test_server_group();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
