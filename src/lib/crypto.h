/* crypto.h - CSPRNG, hashing and keyed hashing helpers (OpenSSL 3 EVP).
 *
 * No protocol knowledge here: callers decide what to hash and why. */
#ifndef GRANTD_LIB_CRYPTO_H
#define GRANTD_LIB_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#include "lib/str.h"

#define SHA256_LEN   32
#define HMAC_KEY_LEN 32
#define UUID_STR_LEN 36

/* Fetches, once per process, what grantd asks OpenSSL for by name: the
 * SHA-256/384/512 digests and the HMAC MAC from the default library
 * context. OpenSSL 3 otherwise looks each one up again on every call that
 * names it (EVP_sha256(), "SHA256", EVP_Q_mac), which costs more than
 * hashing a token. Every function below calls it itself (pthread_once), so
 * calling it at start-up only makes a broken OpenSSL fail early.
 * Thread-safe. ST_INTERNAL when an algorithm is missing. The fetched
 * objects live until the process exits. */
status crypto_init(void);

enum crypto_md {
	CRYPTO_SHA256 = 0,
	CRYPTO_SHA384,
	CRYPTO_SHA512,
};
#define CRYPTO_MD_COUNT 3

/* The pre-fetched digest, for EVP_DigestInit_ex2(), EVP_DigestVerifyInit()
 * and the like; NULL when crypto_init() failed or `md` is out of range.
 * Shared and never freed by the caller. */
const EVP_MD *crypto_md(enum crypto_md md);

/* Fills `p` from the OpenSSL CSPRNG; ST_INTERNAL if it ever fails. */
status rand_bytes(void *p, size_t n);

/* A fast 64-bit hash of `p` under a secret `seed` (FNV-1a over a secret
 * basis, then a 64-bit finaliser): for spreading attacker-chosen keys over
 * table slots, not a MAC. */
uint64_t hash64_keyed(uint64_t seed, const void *p, size_t n);
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
/* The same within the Unix second `secs`: the clock's milliseconds when
 * it reads that second, else the second's last millisecond. */
status uuid_v7_in(int64_t secs, char out[UUID_STR_LEN + 1]);
/* The Unix time in milliseconds that a version 7 UUID (as uuid_v7 writes
 * it) carries; false when `s` is not a valid version 7 UUID. */
bool uuid_v7_unix_ms(struct sv s, uint64_t *ms);
/* CLOCK_REALTIME in milliseconds. */
uint64_t clock_unix_ms(void);
bool uuid_valid(struct sv s);

status sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

/* HMAC-SHA256 (RFC 2104). Keys are mostly long-lived (the server secret),
 * so each thread keeps keyed MAC contexts for the last HMAC_CACHE_KEYS
 * keys it used, matched by the key's bytes (compared in constant time): a
 * repeated key costs a reset of its context instead of a fetch and a
 * re-keying. Keys longer than HMAC_CACHE_KEY_MAX bytes are not cached.
 * Thread-safe without locks. The cache holds copies of the keys (wiped,
 * with the contexts, when the thread exits or the entry is reused). A hit
 * fetches nothing and creates no context; OpenSSL 3.0 still copies a
 * digest state inside the reset. ST_INTERNAL when OpenSSL fails. */
#define HMAC_CACHE_KEYS    4
#define HMAC_CACHE_KEY_MAX 64
status hmac_sha256(const unsigned char *key, size_t keylen, const void *p, size_t n,
		   unsigned char out[SHA256_LEN]);
/* Lower-case hex of n bytes into out (2n + 1). */
void hex_encode(const unsigned char *p, size_t n, char *out);

/* Constant-time equality of two byte strings; lengths are compared openly. */
bool ct_eq(const void *a, size_t alen, const void *b, size_t blen);

/* HKDF-SHA256 (RFC 5869): `outlen` bytes from the input key material `ikm`,
 * an optional `salt` and the context `info`. ST_INTERNAL when OpenSSL
 * fails. */
status hkdf_sha256(const unsigned char *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		   const void *info, size_t infolen, unsigned char *out, size_t outlen);

/* AES-256-GCM with a 96-bit nonce and a 128-bit tag. */
#define AEAD_KEY_LEN   32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN   16
/* Encrypts `n` bytes of `p` under `key` with a fresh random nonce and the
 * additional data `aad`, appending nonce || ciphertext || tag to `out`
 * (n + AEAD_NONCE_LEN + AEAD_TAG_LEN bytes). ST_INTERNAL, or the buf's
 * status when `out` is full. */
status aead_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
		 const void *p, size_t n, struct buf *out);
/* The reverse: appends the plaintext to `out`. ST_INVALID when the input is
 * too short or does not authenticate (wrong key, wrong aad, altered bytes);
 * nothing is appended then. The caller should mem_wipe() the plaintext. */
status aead_open(const unsigned char key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
		 const void *p, size_t n, struct buf *out);

#endif
