/* fuzz_pem.c - libFuzzer driver for certificate / PEM import. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jose_key *key = NULL;
	struct sv text = {(const char *)data, size};
	struct err e;
	status st;

	err_clear(&e);
	st = jose_key_from_pem(text, &key, &e);
	check_msg(&e);
	if (st == ST_OK) {
		char tp[JOSE_THUMBPRINT_LEN];
		json_t *jwk = NULL;
		if (key->has_private || jose_key_thumbprint(key, tp, &e) != ST_OK ||
		    jose_key_public_jwk(key, &jwk, &e) != ST_OK)
			abort();
		if (key->has_cert &&
		    (strlen(key->cert.sha256_hex) != 95 || strlen(key->cert.x5t_s256) != 43))
			abort();
		json_decref(jwk);
	} else if (key != NULL) {
		abort();
	}
	jose_key_free(key);
	return 0;
}
