/* fuzz_uri.c - keys_check_uri(): the JWKS URI rules over libcurl's URL
 * parser, with allowed_hosts patterns of every form (exact, wildcard, with
 * a port, IPv6) and with http both refused and allowed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *hosts[] = {"idp.example", "*.corp.example", "pinned.example:8443",
				"[::1]",       "[::1]:8443",     "bad:port:entry",
				"*."};
	static struct config cfg;
	char *uri;

	if (size > KEYS_URI_MAX + 16)
		return 0;
	uri = malloc(size + 1);
	if (uri == NULL)
		return 0;
	memcpy(uri, data, size);
	uri[size] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		struct err e = {0};
		cfg.oauth.jwks_endpoint.allow_insecure_http = pass == 1;
		cfg.oauth.jwks_endpoint.allowed_hosts.n =
		    pass == 1 ? sizeof hosts / sizeof hosts[0] : 0;
		memcpy(cfg.oauth.jwks_endpoint.allowed_hosts.v, hosts, sizeof hosts);
		if (keys_check_uri(&cfg, uri, &e) != ST_OK && e.msg[0] == '\0')
			abort(); /* every refusal names its rule */
	}
	free(uri);
	return 0;
}
