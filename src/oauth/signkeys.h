/* signkeys.h - the server's token-signing keys, one set per tenant.
 *
 * Each tenant has one active key, created at first use for the configured
 * `[oauth.access_token] jwt_signing_algorithm` (RS256: RSA 2048, ES256:
 * P-256, EdDSA: Ed25519), and any number of retired keys that are still
 * published until the tokens they signed have expired (publish_until).
 *
 * Storage: the store's signing_keys rows (store.h), shared by every node on
 * one database. The private key is stored only as
 *   0x01 || AES-256-GCM(nonce || PKCS#8 PEM || tag)
 * under a key derived with HKDF-SHA256 from the server secret (info
 * SIGNKEYS_WRAP_INFO), with "<tenant id>\0<kid>" as additional data, so a
 * row copied to another tenant or kid does not open. The kid is the key's
 * RFC 7638 thumbprint.
 *
 * Cache: per tenant, the active key (its EVP_PKEY and signing set-up are
 * built once, jose/jwk.h) and the JWKS document text. An entry is re-read
 * from the store after SIGNKEYS_RELOAD seconds, so a rotation done by
 * `grantd keys rotate` (or by another node) is picked up by a running
 * server within that time (at once when the change feed tells,
 * signkeys_changed); the private key is only decrypted again when the
 * active kid changed. A failed re-read keeps the old entry (and is
 * tried again after a few seconds).
 *
 * When the active key's algorithm differs from the configured one (the
 * setting was changed), the next load rotates to a new key of the
 * configured algorithm.
 *
 * Thread-safe: every function may be called from any thread. Private keys
 * and the wrapping key are never logged. */
#ifndef GRANTD_OAUTH_SIGNKEYS_H
#define GRANTD_OAUTH_SIGNKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "jose/jwk.h"
#include "lib/arena.h"
#include "lib/crypto.h"
#include "lib/err.h"
#include "store/store.h"

#define SIGNKEYS_RELOAD    60 /* seconds a cached tenant entry is used */
#define SIGNKEYS_WRAP_INFO "grantd signing-key wrap v1"
/* max-age of the JWKS response: short, so a rotation shows soon. */
#define SIGNKEYS_JWKS_MAX_AGE 60

struct signkeys;

/* `secret` (secret_len bytes, the server secret) is only used to derive
 * the wrapping key, which the object keeps; `cfg` and `store` must outlive
 * it. ST_INVALID for an unsupported jwt_signing_algorithm. */
status signkeys_new(const struct config *cfg, struct store *store, const unsigned char *secret,
		    size_t secret_len, struct signkeys **out, struct err *e);
/* NULL is a no-op. */
void signkeys_free(struct signkeys *sk);

/* The tenant's active signing key (private, with kid and alg set), created
 * and stored when the tenant has none. `*out` is a new reference
 * (jose_key_free). ST_IO/ST_BUSY from the store, ST_INTERNAL when a stored
 * key does not decrypt (another server secret) or parse. */
status signkeys_current(struct signkeys *sk, const char *tenant_id, struct jose_key **out,
			struct err *e);

/* The JWKS document {"keys":[...]} of the tenant's published public keys
 * (active first), in `a`. Creates the first key like signkeys_current. */
status signkeys_jwks(struct signkeys *sk, struct arena *a, const char *tenant_id, const char **json,
		     size_t *len, struct err *e);

/* Makes a new key of the configured algorithm the tenant's active one; the
 * previous keys stop signing and stay published until `now` plus the
 * longest access-token lifetime of the tenant (the server's defaults and
 * every application's own) plus the timestamp skew. The new kid is copied
 * into `kid` (may be NULL). */
status signkeys_rotate(struct signkeys *sk, const char *tenant_id, char kid[JOSE_THUMBPRINT_LEN],
		       struct err *e);

/* Another node changed the tenant's keys (tenant_id NULL: any tenant's;
 * the change feed, directory.h): the next use reads them from the store
 * again. Until that read succeeds the cached keys keep serving, so a
 * database that is down does not stop signing. Never calls the store;
 * any thread. NULL `sk` is a no-op. */
void signkeys_changed(struct signkeys *sk, const char *tenant_id);

/* The private-key wrapping, for tests: seal appends the stored form of
 * `pem` to `out`; open appends the PEM (ST_INVALID when it does not
 * authenticate). */
status signkeys_seal(const unsigned char wrap[AEAD_KEY_LEN], const char *tenant_id, const char *kid,
		     struct sv pem, struct buf *out);
status signkeys_open(const unsigned char wrap[AEAD_KEY_LEN], const char *tenant_id, const char *kid,
		     const unsigned char *p, size_t n, struct buf *out);

#endif
