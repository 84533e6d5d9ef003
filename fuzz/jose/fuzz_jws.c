/* fuzz_jws.c - libFuzzer driver for jws_parse, the claim accessors and
 * verification (against the RFC 7515 / RFC 8037 example keys). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "jose/jws.h"
#include "lib/arena.h"
#include "lib/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.2 (RSA), A.3 (P-256), A.4 (P-521) and RFC 8037 A.2 (Ed25519)
 * public keys: seeds signed with them verify, so mutations reach past the
 * signature check. */
static const char rfc_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_"
    "wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_"
    "YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
    "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_"
    "h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
    "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\",\"x\":"
    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_"
    "tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"EC\",\"kid\":\"p521\",\"crv\":\"P-521\",\"x\":"
    "\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\","
    "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-"
    "x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\"},"
    "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
    "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
    "]}";

static struct jose_keyset *keyset(void)
{
	static struct jose_keyset *ks;
	struct err e;

	if (ks == NULL && jose_keyset_from_jwks(rfc_jwks, sizeof rfc_jwks - 1, 0, &ks, &e) != ST_OK)
		abort();
	return ks;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jose_keyset *ks = keyset();
	struct arena a;
	struct jws jws;
	struct err e;
	status st;

	arena_init(&a, 4u << 20);
	err_clear(&e);
	st = jws_parse(&a, (struct sv){(const char *)data, size}, LIMIT_JWS_DEFAULT, &jws, &e);
	check_msg(&e);
	if (st == ST_OK) {
		const char *s;
		int64_t t;
		const char *const *aud;
		size_t n;
		const struct jose_key *used;

		jwt_claim_string(jws.payload, "iss", &s, &e);
		check_msg(&e);
		jwt_claim_numericdate(jws.payload, "exp", &t, &e);
		check_msg(&e);
		jwt_claim_audiences(&a, jws.payload, "aud", &aud, &n, &e);
		check_msg(&e);
		jws_verify_keyset(&jws, ks, 0, 0, &used, &e);
		check_msg(&e);
		jws_verify_keyset(&jws, ks, JOSE_SELECT_TRY_ALL | JOSE_VERIFY_CERT_TIME, 0, &used,
				  &e);
		check_msg(&e);
		for (size_t i = 0; i < ks->n; i++) {
			jws_verify(&jws, ks->keys[i], &e);
			check_msg(&e);
		}
	}
	jws_free(&jws);
	arena_free(&a);
	return 0;
}
