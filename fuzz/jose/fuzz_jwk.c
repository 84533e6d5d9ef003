/* fuzz_jwk.c - libFuzzer driver for JWKS import. Every imported key must
 * export a public JWK that imports again to the same RFC 7638 thumbprint. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct jose_key *key)
{
	char tp1[JOSE_THUMBPRINT_LEN], tp2[JOSE_THUMBPRINT_LEN];
	struct jose_key *again = NULL;
	json_t *jwk = NULL;
	struct err e;

	if (jose_key_thumbprint(key, tp1, &e) != ST_OK ||
	    jose_key_public_jwk(key, &jwk, &e) != ST_OK)
		abort();
	if (jose_key_from_jwk(jwk, &again, &e) != ST_OK ||
	    jose_key_thumbprint(again, tp2, &e) != ST_OK || strcmp(tp1, tp2) != 0)
		abort();
	json_decref(jwk);
	jose_key_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned modes[] = {0, JOSE_JWKS_LENIENT};
	struct err e;

	if (size > 64 * 1024)
		return 0;
	for (size_t m = 0; m < 2; m++) {
		struct jose_keyset *ks = NULL;
		err_clear(&e);
		status st = jose_keyset_from_jwks((const char *)data, size, modes[m], &ks, &e);
		check_msg(&e);
		if (st == ST_OK) {
			if (ks->n == 0)
				abort();
			for (size_t i = 0; i < ks->n; i++)
				roundtrip(ks->keys[i]);
		} else if (ks != NULL) {
			abort();
		}
		jose_keyset_free(ks);
	}
	return 0;
}
