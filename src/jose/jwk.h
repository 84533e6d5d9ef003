/* jwk.h - verification and signing keys: JWK/JWKS import (RFC 7517, 7518,
 * 8037), X.509 certificate import, RFC 7638 thumbprints, public JWK export,
 * and generation/PEM storage of the server's own signing keys.
 *
 * Ownership: a `struct jose_key` is reference counted (atomically). Every
 * constructor returns one reference; jose_key_ref() adds one and
 * jose_key_free() drops one, freeing the key with the last. A key is
 * immutable after construction, so any number of threads may verify or sign
 * with it at once: its EVP_PKEY is imported once and only read afterwards.
 * Verification keeps, per algorithm, an EVP_MD_CTX set up on first use
 * (under a lock in the key) and copies it for each signature (sign.c);
 * signing builds its own contexts.
 *
 * A `struct jose_keyset` holds references to up to LIMIT_JWKS_KEYS keys and
 * is itself reference counted, so a JWKS cache can swap in a new set while
 * requests still verify with the old one.
 *
 * Import policy (errors name the entry as "entry N" counting from 0, plus
 * "(kid 'x')" when the JWK has one):
 *   - private key material (JWK d, p, q, dp, dq, qi, oth, k; a PEM private
 *     key) is always rejected, ST_INVALID;
 *   - symmetric keys (kty oct) are rejected, ST_INVALID;
 *   - unknown kty, crv or alg, and key types other than RSA, EC P-256/384/521
 *     and Ed25519 (DSA, secp256k1, Ed448, RSA-PSS-only keys, ...) are
 *     ST_UNSUPPORTED naming the value;
 *   - RSA keys below JOSE_RSA_MIN_BITS are ST_INVALID naming the size;
 *   - EC points are validated on their curve; x/y must have the exact size;
 *   - a JWK `alg` must be known and fit the kty, else rejected;
 *   - a JWK whose `use` is present and not "sig", or whose `key_ops` lacks
 *     "verify", is an encryption key: skipped (counted in `skipped`), since
 *     real JWKS documents mix both kinds;
 *   - a set that ends up with no key is ST_INVALID ("no usable signing key").
 * Certificates: the public key of one X.509 certificate is used as is; the
 * certificate's own signature and chain are not checked (the administrator
 * pins it), its validity dates are kept for jws_verify_keyset(). A bare
 * "PUBLIC KEY" PEM (SubjectPublicKeyInfo) is accepted too, without
 * certificate data. */
#ifndef GRANTD_JOSE_JWK_H
#define GRANTD_JOSE_JWK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jose/jose.h"
#include "lib/err.h"
#include "lib/limits.h"
#include "lib/str.h"

/* Largest certificate/PEM text accepted per entry (bytes, before decoding). */
#define JOSE_PEM_MAX (64 * 1024)
/* RFC 7638 thumbprint: base64url of SHA-256, 43 characters + NUL. */
#define JOSE_THUMBPRINT_LEN 44
/* Longest subject/issuer kept (longer ones end with "..."). */
#define JOSE_DN_MAX 512

struct jose_cert_info {
	char subject[JOSE_DN_MAX]; /* RFC 2253 form, e.g. "CN=idp,O=Example" */
	char issuer[JOSE_DN_MAX];
	int64_t not_before, not_after;      /* unix seconds */
	unsigned char sha256[32];           /* SHA-256 of the certificate's DER */
	char sha256_hex[32 * 3];            /* "AB:CD:...", upper case, as openssl shows it */
	char x5t_s256[JOSE_THUMBPRINT_LEN]; /* the same as base64url: the x5t#S256 form */
};

/* All fields are read-only after construction. */
struct jose_key {
	EVP_PKEY *pkey; /* imported once, shared read-only */
	enum jose_kty kty;
	int bits;         /* modulus or field size */
	bool has_private; /* can sign */
	char *kid;        /* NULL when none */
	bool has_alg;     /* the JWK had `alg` (or the key was made for one) */
	enum jose_alg alg;
	bool has_cert; /* imported from an X.509 certificate */
	struct jose_cert_info cert;
	struct jose_verify_cache *vc; /* private: verification set-ups (sign.c) */
	int refs;                     /* private: use jose_key_ref/jose_key_free */
};

void jose_key_ref(struct jose_key *key);
/* Drops one reference; NULL is a no-op. */
void jose_key_free(struct jose_key *key);

/* ST_OK when `key` may verify/sign `alg`: the type fits the algorithm
 * family and curve, RSA has >= JOSE_RSA_MIN_BITS, and the key's own `alg`
 * (if any) equals `alg`. Else ST_INVALID, e.g. "key type EC P-256 does not
 * match alg RS256" or "key is for alg ES256, not ES384". */
status jose_key_check_alg(const struct jose_key *key, enum jose_alg alg, struct err *e);

/* One public JWK (a JSON object) -> key. Errors have no "entry N" prefix. */
status jose_key_from_jwk(const json_t *jwk, struct jose_key **out, struct err *e);

/* One certificate -> key. `text` may be a PEM certificate, the standard
 * base64 of a PEM certificate (as WSO2 stores them), or the base64 of a DER
 * certificate, with surrounding whitespace. A "PUBLIC KEY" PEM is accepted;
 * a private key is "a private key, not a certificate"; anything else is
 * "not a PEM certificate". More than one certificate in the text is refused.
 * Errors have no "entry N" prefix. */
status jose_key_from_pem(struct sv text, struct jose_key **out, struct err *e);

/* The public JWK of `key`: kty and its members, kid (if any), alg (if any)
 * and "use":"sig". `*out` is a new reference. */
status jose_key_public_jwk(const struct jose_key *key, json_t **out, struct err *e);
/* The RFC 7638 (RFC 8037 for OKP) SHA-256 thumbprint, base64url. */
status jose_key_thumbprint(const struct jose_key *key, char out[JOSE_THUMBPRINT_LEN],
			   struct err *e);

/* A new private key for `alg`: RSA 2048 for RS* and PS*, P-256/P-384/P-521
 * for ES256/384/512, Ed25519 for EdDSA. The key's alg is set and its kid is
 * its RFC 7638 thumbprint. */
status jose_key_generate(enum jose_alg alg, struct jose_key **out, struct err *e);
/* Appends the unencrypted PKCS#8 PEM of a private key to `out`. The caller
 * should mem_wipe() the buffer before freeing it. */
status jose_key_private_pem(const struct jose_key *key, struct buf *out, struct err *e);
/* Loads a private key PEM (PKCS#8, or the traditional RSA/EC forms; never
 * prompts for a passphrase: encrypted keys fail) for signing with `alg`. The
 * key's alg is set and its kid is its RFC 7638 thumbprint. */
status jose_key_from_private_pem(struct sv pem, enum jose_alg alg, struct jose_key **out,
				 struct err *e);

struct jose_keyset {
	struct jose_key *keys[LIMIT_JWKS_KEYS];
	size_t n;
	size_t skipped; /* JWKS entries ignored (use/key_ops not for signing) */
	int refs;       /* private: use jose_keyset_ref/jose_keyset_free */
};

/* An empty set with one reference; ST_NOMEM. */
status jose_keyset_new(struct jose_keyset **out);
/* Adds a new reference to `key`; ST_TOO_LARGE when the set is full. */
status jose_keyset_add(struct jose_keyset *ks, struct jose_key *key);
void jose_keyset_ref(struct jose_keyset *ks);
/* Drops one reference (and the keys' with the last); NULL is a no-op. */
void jose_keyset_free(struct jose_keyset *ks);

/* A JWKS document {"keys":[...]} -> set. Duplicate JSON keys are refused.
 * More than LIMIT_JWKS_KEYS entries is ST_TOO_LARGE. Any bad entry fails the
 * whole document naming it, unless JOSE_JWKS_LENIENT is given: then entries
 * whose kty/crv/alg is unsupported (ST_UNSUPPORTED) are skipped as well
 * (for fetched JWKS that also publish, say, secp256k1 keys). Private key
 * material and malformed keys always fail. The caller bounds `len`. */
#define JOSE_JWKS_LENIENT 0x1u
status jose_keyset_from_jwks(const char *json, size_t len, unsigned flags, struct jose_keyset **out,
			     struct err *e);
status jose_keyset_from_jwks_json(const json_t *jwks, unsigned flags, struct jose_keyset **out,
				  struct err *e);

#endif
