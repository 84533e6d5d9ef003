/* jose_int.h - helpers shared by the files of src/jose; not exported beyond
 * the module (nothing outside src/jose includes this header). */
#ifndef GRANTD_JOSE_JOSE_INT_H
#define GRANTD_JOSE_JOSE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "jose/jose.h"
#include "jose/jwk.h"
#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/str.h"

enum jose_family {
	JOSE_FAM_RSA_PKCS1,
	JOSE_FAM_RSA_PSS,
	JOSE_FAM_ECDSA,
	JOSE_FAM_EDDSA,
};

struct jose_alg_info {
	const char *name;
	enum jose_family fam;
	const char *md;       /* OpenSSL digest name; NULL for EdDSA */
	enum crypto_md md_id; /* the same, pre-fetched (crypto_md); unused for EdDSA */
	size_t hash_len;      /* digest bytes (PSS salt length) */
	enum jose_kty kty;    /* the one key type (RSA for RS and PS) */
	size_t coord;         /* ECDSA: bytes of R and of S; else 0 */
};

/* NULL when `alg` is out of range. */
const struct jose_alg_info *jose_alg_info(enum jose_alg alg);

/* Buffers for str_show() (lib/str.h) of untrusted values in messages:
 * JOSE_SHOW_BUF bytes for algorithm and type names (JOSE_SHOW_MAX shown),
 * JOSE_SHOW_KID_BUF for key ids. */
#define JOSE_SHOW_BUF     (JOSE_SHOW_MAX + 4)
#define JOSE_SHOW_KID_BUF (64 + 4)

/* Wraps a freshly obtained EVP_PKEY (ownership passes in, also on failure)
 * into a key with one reference: classifies its type, refuses unsupported
 * types and small RSA. `priv` says whether it holds a private part. */
status jose_key_wrap(EVP_PKEY *pkey, bool priv, struct jose_key **out, struct err *e);

/* The verification set-ups of one key (sign.c), made on first use and
 * freed with the key. */
struct jose_verify_cache;
/* NULL when out of memory. */
struct jose_verify_cache *jose_verify_cache_new(void);
/* NULL is a no-op. */
void jose_verify_cache_free(struct jose_verify_cache *vc);

/* Drops whatever OpenSSL queued on this thread's error stack, so failed
 * operations on untrusted input do not accumulate errors. */
void jose_ossl_clear(void);

#endif
