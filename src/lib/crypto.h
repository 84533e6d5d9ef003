/* crypto.h - CSPRNG, hashing and keyed hashing helpers (OpenSSL 3 EVP).
 *
 * No protocol knowledge here: callers decide what to hash and why. */
#ifndef GRANTD_LIB_CRYPTO_H
#define GRANTD_LIB_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

#define SHA256_LEN 32
#define HMAC_KEY_LEN 32
#define UUID_STR_LEN 36

/* Fills `p` from the OpenSSL CSPRNG; ST_INTERNAL if it ever fails. */
status rand_bytes(void *p, size_t n);
/* `nbytes` random bytes as base64url (no padding) into out (needs
 * b64url_encoded_len(nbytes) + 1). */
status rand_token(size_t nbytes, char *out, size_t outsz);
/* `len` characters drawn uniformly from `alphabet` (rejection sampling). */
status rand_string(const char *alphabet, size_t len, char *out, size_t outsz);
/* A random RFC 4122 version-4 UUID, lower-case, NUL-terminated (37 bytes). */
status uuid_v4(char out[UUID_STR_LEN + 1]);
/* A UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then
 * random bits, so ids made one after another sort (and land in a B-tree
 * index) in time order. ST_INTERNAL if the CSPRNG fails. */
status uuid_v7(char out[UUID_STR_LEN + 1]);
bool uuid_valid(struct sv s);

status sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);
status hmac_sha256(const unsigned char *key, size_t keylen, const void *p, size_t n,
		   unsigned char out[SHA256_LEN]);
/* Lower-case hex of n bytes into out (2n + 1). */
void hex_encode(const unsigned char *p, size_t n, char *out);

/* Constant-time equality of two byte strings; lengths are compared openly. */
bool ct_eq(const void *a, size_t alen, const void *b, size_t blen);

#endif
