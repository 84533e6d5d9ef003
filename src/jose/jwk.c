/* jwk.c - key objects, JWK/JWKS import and export, thumbprints, the server's
 * own keys (generation, private PEM), and key sets. */
#include "jose/jwk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jose/jose_int.h"
#include "jose/jws.h"
#include "lib/b64.h"
#include "lib/crypto.h"
#include "lib/ref.h"

/* Key objects */

/* The invariants of a public key that a well-formed encoding does not
 * guarantee (docs/security.md, "Keys"): an RSA modulus that is odd and a
 * public exponent that is odd, at least 3 and at most 64 bits; an EC point
 * on its curve and not at infinity; an Ed25519 point encoded canonically,
 * on the curve and in the prime-order subgroup (so not one of the small-order
 * points, with which a constant signature verifies for any message). */
static status check_public(EVP_PKEY *pkey, enum jose_kty kty, struct err *e)
{
	status st = ST_OK;

	if (kty == JOSE_KTY_RSA) {
		BIGNUM *n = NULL, *x = NULL;
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &x) != 1)
			st = err_set(e, ST_INVALID, "RSA key without a modulus or an exponent");
		else if (!BN_is_odd(n))
			st = err_set(e, ST_INVALID, "RSA modulus is even");
		else if (!BN_is_odd(x) || BN_num_bits(x) < 2 || BN_num_bits(x) > 64)
			st = err_set(
			    e, ST_INVALID,
			    "RSA public exponent must be odd, at least 3 and at most 64 bits");
		BN_free(n);
		BN_free(x);
	} else if (kty == JOSE_KTY_ED25519) {
		unsigned char raw[32];
		size_t len = sizeof raw;
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw)
			st = err_set(e, ST_INVALID, "Ed25519 key without a 32-byte public key");
		else if (sodium_init() < 0)
			st = err_set(e, ST_INTERNAL, "libsodium cannot initialise");
		else if (crypto_core_ed25519_is_valid_point(raw) != 1)
			st = err_set(e, ST_INVALID,
				     "Ed25519 public key is not a valid point (small order, not "
				     "canonical, or not on the curve)");
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (ctx == NULL)
			st = err_set(e, ST_NOMEM, "out of memory");
		else if (EVP_PKEY_public_check(ctx) != 1)
			st = err_set(e, ST_INVALID,
				     "EC public key is not a point of its curve's group (off the "
				     "curve or at infinity)");
		EVP_PKEY_CTX_free(ctx);
	}
	return st;
}

status jose_key_wrap(EVP_PKEY *pkey, bool priv, struct jose_key **out, struct err *e)
{
	struct jose_key *key = NULL;
	enum jose_kty kty;
	int bits;
	status st = ST_OK;

	*out = NULL;
	if (pkey == NULL)
		return err_set(e, ST_INTERNAL, "no key");
	bits = EVP_PKEY_get_bits(pkey);
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		kty = JOSE_KTY_RSA;
		if (bits < JOSE_RSA_MIN_BITS) {
			st = err_set(e, ST_INVALID, "RSA key of %d bits is too small (minimum %d)",
				     bits, JOSE_RSA_MIN_BITS);
			goto out;
		}
		if (bits > JOSE_RSA_MAX_BITS) {
			st = err_set(e, ST_INVALID, "RSA key of %d bits is too large (maximum %d)",
				     bits, JOSE_RSA_MAX_BITS);
			goto out;
		}
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char grp[64];
		size_t len = 0;
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, grp,
						   sizeof grp, &len) != 1) {
			st = err_set(e, ST_UNSUPPORTED,
				     "EC keys with explicit curve parameters are not supported");
			goto out;
		}
		if (strcmp(grp, "prime256v1") == 0 || strcmp(grp, "P-256") == 0) {
			kty = JOSE_KTY_EC_P256;
		} else if (strcmp(grp, "secp384r1") == 0 || strcmp(grp, "P-384") == 0) {
			kty = JOSE_KTY_EC_P384;
		} else if (strcmp(grp, "secp521r1") == 0 || strcmp(grp, "P-521") == 0) {
			kty = JOSE_KTY_EC_P521;
		} else {
			char shown[JOSE_SHOW_BUF];
			str_show(shown, sizeof shown, grp, strlen(grp));
			st = err_set(e, ST_UNSUPPORTED, "unsupported key type: EC curve %s", shown);
			goto out;
		}
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		kty = JOSE_KTY_ED25519;
	} else {
		const char *name = EVP_PKEY_get0_type_name(pkey);
		st = err_set(e, ST_UNSUPPORTED, "unsupported key type %s",
			     name ? name : "(unknown)");
		goto out;
	}
	if ((st = check_public(pkey, kty, e)) != ST_OK)
		goto out;
	key = calloc(1, sizeof *key);
	if (key == NULL || (key->vc = jose_verify_cache_new()) == NULL) {
		free(key);
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	key->pkey = pkey;
	key->kty = kty;
	key->bits = bits;
	key->has_private = priv;
	key->refs = 1;
	*out = key;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	jose_ossl_clear();
	return st;
}

void jose_key_ref(struct jose_key *key)
{
	if (key != NULL)
		ref_acquire(&key->refs);
}

void jose_key_free(struct jose_key *key)
{
	if (key == NULL || !ref_release(&key->refs))
		return;
	jose_verify_cache_free(key->vc);
	EVP_PKEY_free(key->pkey);
	free(key->kid);
	free(key);
}

status jose_key_check_alg(const struct jose_key *key, enum jose_alg alg, struct err *e)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);

	if (ai == NULL || key == NULL || key->pkey == NULL)
		return err_set(e, ST_INTERNAL, "no key or no algorithm");
	if (key->kty != ai->kty)
		return err_set(e, ST_INVALID, "key type %s does not match alg %s",
			       jose_kty_name(key->kty), ai->name);
	if (key->kty == JOSE_KTY_RSA && key->bits < JOSE_RSA_MIN_BITS)
		return err_set(e, ST_INVALID, "RSA key of %d bits is too small (minimum %d)",
			       key->bits, JOSE_RSA_MIN_BITS);
	if (key->has_alg && key->alg != alg)
		return err_set(e, ST_INVALID, "key is for alg %s, not %s", jose_alg_name(key->alg),
			       ai->name);
	return ST_OK;
}

/* JWK import */

/* Decodes the base64url member `name` of a JWK. */
static status jwk_bytes(const json_t *jwk, const char *name, unsigned char *out, size_t cap,
			size_t *len, struct err *e)
{
	const json_t *v = json_object_get(jwk, name);
	status st;

	if (v == NULL)
		return err_set(e, ST_INVALID, "member '%s' is missing", name);
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "member '%s' must be a string, got %s", name,
			       jose_json_type(v));
	st = b64url_decode((struct sv){json_string_value(v), json_string_length(v)}, out, cap, len);
	if (st == ST_TOO_LARGE)
		return err_set(e, ST_INVALID, "member '%s' is too long", name);
	if (st != ST_OK)
		return err_set(e, ST_INVALID, "member '%s' is not valid base64url", name);
	return ST_OK;
}

/* Builds a public EVP_PKEY of `type` from params. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static status rsa_from_jwk(const json_t *jwk, EVP_PKEY **pkey, struct err *e)
{
	unsigned char n[JOSE_RSA_MAX_BITS / 8 + 16], ev[16];
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	status st;
	int bits;

	if ((st = jwk_bytes(jwk, "n", n, sizeof n, &nlen, e)) != ST_OK ||
	    (st = jwk_bytes(jwk, "e", ev, sizeof ev, &elen, e)) != ST_OK)
		return st;
	/* Leading zero bytes are tolerated; the bit count is the number's. */
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(ev, (int)elen, NULL);
	if (bn == NULL || be == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	bits = BN_num_bits(bn);
	if (bits < JOSE_RSA_MIN_BITS) {
		st = err_set(e, ST_INVALID, "RSA key of %d bits is too small (minimum %d)", bits,
			     JOSE_RSA_MIN_BITS);
		goto out;
	}
	if (bits > JOSE_RSA_MAX_BITS) {
		st = err_set(e, ST_INVALID, "RSA key of %d bits is too large (maximum %d)", bits,
			     JOSE_RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(bn)) {
		st = err_set(e, ST_INVALID, "RSA modulus 'n' is even");
		goto out;
	}
	if (!BN_is_odd(be) || BN_num_bits(be) < 2 || BN_num_bits(be) > 64) {
		st = err_set(e, ST_INVALID,
			     "RSA exponent 'e' must be odd, at least 3 and at most 64 bits");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	*pkey = pkey_fromdata("RSA", bld);
	if (*pkey == NULL)
		st = err_set(e, ST_INVALID, "RSA key could not be imported");
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return st;
}

struct curve {
	const char *crv;
	size_t coord;
};

static const struct curve ec_curves[] = {{"P-256", 32}, {"P-384", 48}, {"P-521", 66}};

static status ec_from_jwk(const json_t *jwk, EVP_PKEY **pkey, struct err *e)
{
	const json_t *v = json_object_get(jwk, "crv");
	const struct curve *c = NULL;
	unsigned char pt[1 + 2 * 66], x[80], y[80];
	size_t xl = 0, yl = 0;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	char shown[JOSE_SHOW_BUF];
	status st;

	if (v == NULL)
		return err_set(e, ST_INVALID, "member 'crv' is missing");
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "member 'crv' must be a string, got %s",
			       jose_json_type(v));
	for (size_t i = 0; i < sizeof ec_curves / sizeof ec_curves[0]; i++)
		if (strcmp(json_string_value(v), ec_curves[i].crv) == 0)
			c = &ec_curves[i];
	if (c == NULL) {
		str_show(shown, sizeof shown, json_string_value(v), json_string_length(v));
		return err_set(e, ST_UNSUPPORTED, "unsupported crv '%s' for kty EC", shown);
	}
	if ((st = jwk_bytes(jwk, "x", x, sizeof x, &xl, e)) != ST_OK ||
	    (st = jwk_bytes(jwk, "y", y, sizeof y, &yl, e)) != ST_OK)
		return st;
	if (xl != c->coord || yl != c->coord)
		return err_set(e, ST_INVALID, "'%s' must be %zu bytes for %s, got %zu",
			       xl != c->coord ? "x" : "y", c->coord, c->crv,
			       xl != c->coord ? xl : yl);
	pt[0] = 0x04; /* uncompressed point */
	memcpy(pt + 1, x, c->coord);
	memcpy(pt + 1 + c->coord, y, c->coord);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->crv, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c->coord) !=
		1) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	*pkey = pkey_fromdata("EC", bld);
	/* Import already refuses most invalid points; the explicit check also
	 * covers coordinates out of range and the point at infinity. */
	if (*pkey != NULL) {
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL);
		if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
			EVP_PKEY_free(*pkey);
			*pkey = NULL;
		}
	}
	if (*pkey == NULL)
		st = err_set(e, ST_INVALID, "the point (x, y) is not on the %s curve", c->crv);
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	return st;
}

static status okp_from_jwk(const json_t *jwk, EVP_PKEY **pkey, struct err *e)
{
	const json_t *v = json_object_get(jwk, "crv");
	unsigned char x[48];
	size_t xl = 0;
	char shown[JOSE_SHOW_BUF];
	status st;

	if (v == NULL)
		return err_set(e, ST_INVALID, "member 'crv' is missing");
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "member 'crv' must be a string, got %s",
			       jose_json_type(v));
	if (strcmp(json_string_value(v), "Ed25519") != 0) {
		str_show(shown, sizeof shown, json_string_value(v), json_string_length(v));
		return err_set(e, ST_UNSUPPORTED, "unsupported crv '%s' for kty OKP", shown);
	}
	if ((st = jwk_bytes(jwk, "x", x, sizeof x, &xl, e)) != ST_OK)
		return st;
	if (xl != 32)
		return err_set(e, ST_INVALID, "'x' must be 32 bytes for Ed25519, got %zu", xl);
	*pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, xl);
	if (*pkey == NULL)
		return err_set(e, ST_INVALID, "Ed25519 key could not be imported");
	return ST_OK;
}

/* True when the JWK says it is not for verifying signatures. */
static status not_for_signing(const json_t *jwk, bool *skip, struct err *e)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *ops = json_object_get(jwk, "key_ops");

	*skip = false;
	if (use != NULL) {
		if (!json_is_string(use))
			return err_set(e, ST_INVALID, "member 'use' must be a string, got %s",
				       jose_json_type(use));
		if (strcmp(json_string_value(use), "sig") != 0)
			*skip = true;
	}
	if (ops != NULL) {
		bool verify = false;
		if (!json_is_array(ops))
			return err_set(e, ST_INVALID, "member 'key_ops' must be an array, got %s",
				       jose_json_type(ops));
		for (size_t i = 0; i < json_array_size(ops); i++) {
			const json_t *op = json_array_get(ops, i);
			if (!json_is_string(op))
				return err_set(e, ST_INVALID,
					       "member 'key_ops' must be an array of strings");
			if (strcmp(json_string_value(op), "verify") == 0)
				verify = true;
		}
		if (!verify)
			*skip = true;
	}
	return ST_OK;
}

/* One JWK -> key. `*skip` is set (and ST_OK returned, *out NULL) for keys
 * that are not for signatures. */
static status jwk_import(const json_t *jwk, struct jose_key **out, bool *skip, struct err *e)
{
	static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	const json_t *kty, *kid, *alg;
	EVP_PKEY *pkey = NULL;
	struct jose_key *key = NULL;
	enum jose_alg a = JOSE_ALG_RS256;
	char shown[JOSE_SHOW_BUF];
	const char *t;
	status st;

	*out = NULL;
	*skip = false;
	if (!json_is_object(jwk))
		return err_set(e, ST_INVALID, "a JWK must be a JSON object, got %s",
			       jose_json_type(jwk));
	kty = json_object_get(jwk, "kty");
	if (kty == NULL)
		return err_set(e, ST_INVALID, "member 'kty' is missing");
	if (!json_is_string(kty))
		return err_set(e, ST_INVALID, "member 'kty' must be a string, got %s",
			       jose_json_type(kty));
	t = json_string_value(kty);
	if (strcmp(t, "oct") == 0)
		return err_set(e, ST_INVALID, "symmetric keys (kty oct) are not accepted");
	for (size_t i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return err_set(e, ST_INVALID, "private key material is not accepted");
	kid = json_object_get(jwk, "kid");
	if (kid != NULL && !json_is_string(kid))
		return err_set(e, ST_INVALID, "member 'kid' must be a string, got %s",
			       jose_json_type(kid));
	if ((st = not_for_signing(jwk, skip, e)) != ST_OK || *skip)
		return st;
	alg = json_object_get(jwk, "alg");
	if (alg != NULL) {
		if (!json_is_string(alg))
			return err_set(e, ST_INVALID, "member 'alg' must be a string, got %s",
				       jose_json_type(alg));
		st = jose_alg_parse((struct sv){json_string_value(alg), json_string_length(alg)},
				    &a, e);
		if (st != ST_OK)
			return st;
	}

	if (strcmp(t, "RSA") == 0) {
		st = rsa_from_jwk(jwk, &pkey, e);
	} else if (strcmp(t, "EC") == 0) {
		st = ec_from_jwk(jwk, &pkey, e);
	} else if (strcmp(t, "OKP") == 0) {
		st = okp_from_jwk(jwk, &pkey, e);
	} else {
		str_show(shown, sizeof shown, t, json_string_length(kty));
		st = err_set(e, ST_UNSUPPORTED, "unsupported kty '%s'", shown);
	}
	if (st != ST_OK)
		goto out;
	st = jose_key_wrap(pkey, false, &key, e);
	pkey = NULL;
	if (st != ST_OK)
		goto out;
	if (alg != NULL) {
		if (!jose_kty_fits_alg(key->kty, a)) {
			st = err_set(e, ST_INVALID, "alg %s does not match key type %s",
				     jose_alg_name(a), jose_kty_name(key->kty));
			goto out;
		}
		key->has_alg = true;
		key->alg = a;
	}
	if (kid != NULL) {
		key->kid = str_dup_sv((struct sv){json_string_value(kid), json_string_length(kid)});
		if (key->kid == NULL) {
			st = err_set(e, ST_NOMEM, "out of memory");
			goto out;
		}
	}
	*out = key;
	key = NULL;
out:
	EVP_PKEY_free(pkey);
	jose_key_free(key);
	jose_ossl_clear();
	return st;
}

status jose_key_from_jwk(const json_t *jwk, struct jose_key **out, struct err *e)
{
	bool skip = false;
	status st = jwk_import(jwk, out, &skip, e);

	if (st == ST_OK && skip)
		return err_set(e, ST_INVALID, "not a signature key ('use' or 'key_ops')");
	return st;
}

/* Key sets */

status jose_keyset_new(struct jose_keyset **out)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return ST_NOMEM;
	(*out)->refs = 1;
	return ST_OK;
}

status jose_keyset_add(struct jose_keyset *ks, struct jose_key *key)
{
	if (ks->n >= LIMIT_JWKS_KEYS)
		return ST_TOO_LARGE;
	jose_key_ref(key);
	ks->keys[ks->n++] = key;
	return ST_OK;
}

void jose_keyset_ref(struct jose_keyset *ks)
{
	if (ks != NULL)
		ref_acquire(&ks->refs);
}

void jose_keyset_free(struct jose_keyset *ks)
{
	if (ks == NULL || !ref_release(&ks->refs))
		return;
	for (size_t i = 0; i < ks->n; i++)
		jose_key_free(ks->keys[i]);
	free(ks);
}

status jose_keyset_from_jwks_json(const json_t *jwks, unsigned flags, struct jose_keyset **out,
				  struct err *e)
{
	struct jose_keyset *ks = NULL;
	const json_t *keys;
	char first_skip[ERR_MSG_MAX] = "";
	status st = ST_OK;

	*out = NULL;
	if (!json_is_object(jwks))
		return err_set(e, ST_INVALID, "a JWKS must be a JSON object, got %s",
			       jose_json_type(jwks));
	keys = json_object_get(jwks, "keys");
	if (keys == NULL)
		return err_set(e, ST_INVALID, "JWKS has no 'keys' member");
	if (!json_is_array(keys))
		return err_set(e, ST_INVALID, "JWKS 'keys' must be an array, got %s",
			       jose_json_type(keys));
	if (json_array_size(keys) > LIMIT_JWKS_KEYS)
		return err_set(e, ST_TOO_LARGE, "JWKS has %zu keys, more than the limit of %d",
			       json_array_size(keys), LIMIT_JWKS_KEYS);
	if (jose_keyset_new(&ks) != ST_OK)
		return err_set(e, ST_NOMEM, "out of memory");

	for (size_t i = 0; i < json_array_size(keys); i++) {
		const json_t *jwk = json_array_get(keys, i);
		const json_t *kid = json_object_get(jwk, "kid");
		struct jose_key *key = NULL;
		struct err sub;
		char where[128];
		bool skip = false;

		err_clear(&sub);
		if (json_is_string(kid)) {
			char shown[JOSE_SHOW_KID_BUF];
			str_show(shown, sizeof shown, json_string_value(kid),
				 json_string_length(kid));
			snprintf(where, sizeof where, "entry %zu (kid '%s')", i, shown);
		} else {
			snprintf(where, sizeof where, "entry %zu", i);
		}
		st = jwk_import(jwk, &key, &skip, &sub);
		if (st == ST_UNSUPPORTED && (flags & JOSE_JWKS_LENIENT)) {
			skip = true;
			st = ST_OK;
		} else if (st == ST_OK && skip) {
			snprintf(sub.msg, sizeof sub.msg,
				 "not a signature key ('use' or 'key_ops')");
		}
		if (st != ST_OK) {
			st = err_set(e, st, "%s: %s", where, sub.msg);
			goto out;
		}
		if (skip) {
			if (ks->skipped++ == 0)
				snprintf(first_skip, sizeof first_skip, "%s: %.380s", where,
					 sub.msg);
			continue;
		}
		ks->keys[ks->n++] = key; /* the set takes the reference */
	}
	if (ks->n == 0) {
		if (ks->skipped)
			st = err_set(e, ST_INVALID,
				     "JWKS has no usable signing key (%zu skipped; first: %.300s)",
				     ks->skipped, first_skip);
		else
			st = err_set(e, ST_INVALID, "JWKS has no usable signing key");
		goto out;
	}
	*out = ks;
	ks = NULL;
out:
	jose_keyset_free(ks);
	return st;
}

status jose_keyset_from_jwks(const char *json, size_t len, unsigned flags, struct jose_keyset **out,
			     struct err *e)
{
	json_error_t je;
	json_t *doc;
	status st;

	*out = NULL;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		char *near = strstr(je.text, " near ");
		if (near != NULL)
			*near = '\0'; /* do not quote the document back */
		if (json_error_code(&je) == json_error_duplicate_key)
			return err_set(e, ST_INVALID,
				       "JWKS is not valid JSON: duplicate key (at byte %d)",
				       je.position);
		return err_set(e, ST_INVALID, "JWKS is not valid JSON: %s (at byte %d)", je.text,
			       je.position);
	}
	st = jose_keyset_from_jwks_json(doc, flags, out, e);
	json_decref(doc);
	return st;
}

/* Public members and thumbprints */

/* base64url public members of a key: RSA n/e, EC x/y, OKP x. */
struct members {
	char a[JOSE_RSA_MAX_BITS / 8 * 4 / 3 + 8]; /* n or x */
	char b[100];                               /* e or y */
	const char *crv;
};

static status bn_param_b64(const EVP_PKEY *pkey, const char *name, size_t pad, char *out,
			   size_t outsz)
{
	BIGNUM *bn = NULL;
	unsigned char raw[JOSE_RSA_MAX_BITS / 8 + 8];
	int n;
	status st = ST_INTERNAL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		goto out;
	n = pad ? (BN_num_bytes(bn) <= (int)pad ? (int)pad : -1) : BN_num_bytes(bn);
	if (n < 0 || (size_t)n > sizeof raw || b64url_encoded_len((size_t)n) + 1 > outsz)
		goto out;
	if (BN_bn2binpad(bn, raw, n) != n)
		goto out;
	b64url_encode(raw, (size_t)n, out);
	st = ST_OK;
out:
	BN_free(bn);
	return st;
}

static status key_members(const struct jose_key *key, struct members *m, struct err *e)
{
	status st = ST_OK;
	size_t coord = 0;

	memset(m, 0, sizeof *m);
	switch (key->kty) {
	case JOSE_KTY_RSA:
		if (bn_param_b64(key->pkey, OSSL_PKEY_PARAM_RSA_N, 0, m->a, sizeof m->a) != ST_OK ||
		    bn_param_b64(key->pkey, OSSL_PKEY_PARAM_RSA_E, 0, m->b, sizeof m->b) != ST_OK)
			st = err_set(e, ST_INTERNAL, "cannot read the RSA public key");
		break;
	case JOSE_KTY_EC_P256: coord = 32, m->crv = "P-256"; break;
	case JOSE_KTY_EC_P384: coord = 48, m->crv = "P-384"; break;
	case JOSE_KTY_EC_P521: coord = 66, m->crv = "P-521"; break;
	case JOSE_KTY_ED25519: {
		unsigned char raw[32];
		size_t len = sizeof raw;
		m->crv = "Ed25519";
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &len) != 1 || len != 32)
			st = err_set(e, ST_INTERNAL, "cannot read the Ed25519 public key");
		else
			b64url_encode(raw, len, m->a);
		break;
	}
	}
	if (coord &&
	    (bn_param_b64(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord, m->a, sizeof m->a) != ST_OK ||
	     bn_param_b64(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, coord, m->b, sizeof m->b) != ST_OK))
		st = err_set(e, ST_INTERNAL, "cannot read the EC public key");
	jose_ossl_clear();
	return st;
}

status jose_key_thumbprint(const struct jose_key *key, char out[JOSE_THUMBPRINT_LEN], struct err *e)
{
	struct members *m = malloc(sizeof *m);
	struct buf canon = {0};
	unsigned char h[SHA256_LEN];
	status st;

	if (m == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	if ((st = key_members(key, m, e)) != ST_OK)
		goto out;
	/* RFC 7638 §3.2: required members only, sorted, no whitespace. */
	if (key->kty == JOSE_KTY_RSA)
		st = buf_printf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m->b, m->a);
	else if (key->kty == JOSE_KTY_ED25519)
		st = buf_printf(&canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", m->a);
	else
		st = buf_printf(&canon, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				m->crv, m->a, m->b);
	if (st != ST_OK || sha256(canon.p, canon.n, h) != ST_OK) {
		st = err_set(e, st == ST_OK ? ST_INTERNAL : st, "cannot compute the thumbprint");
		goto out;
	}
	b64url_encode(h, sizeof h, out);
out:
	buf_free(&canon);
	free(m);
	return st;
}

static status set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v)) == 0 ? ST_OK : ST_NOMEM;
}

status jose_key_public_jwk(const struct jose_key *key, json_t **out, struct err *e)
{
	struct members *m = malloc(sizeof *m);
	json_t *j = json_object();
	status st;

	*out = NULL;
	if (m == NULL || j == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((st = key_members(key, m, e)) != ST_OK)
		goto out;
	if (key->kty == JOSE_KTY_RSA) {
		st = set_str(j, "kty", "RSA");
		if (st == ST_OK)
			st = set_str(j, "n", m->a);
		if (st == ST_OK)
			st = set_str(j, "e", m->b);
	} else if (key->kty == JOSE_KTY_ED25519) {
		st = set_str(j, "kty", "OKP");
		if (st == ST_OK)
			st = set_str(j, "crv", m->crv);
		if (st == ST_OK)
			st = set_str(j, "x", m->a);
	} else {
		st = set_str(j, "kty", "EC");
		if (st == ST_OK)
			st = set_str(j, "crv", m->crv);
		if (st == ST_OK)
			st = set_str(j, "x", m->a);
		if (st == ST_OK)
			st = set_str(j, "y", m->b);
	}
	if (st == ST_OK && key->kid != NULL)
		st = set_str(j, "kid", key->kid);
	if (st == ST_OK && key->has_alg)
		st = set_str(j, "alg", jose_alg_name(key->alg));
	if (st == ST_OK)
		st = set_str(j, "use", "sig");
	if (st != ST_OK) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	*out = j;
	j = NULL;
out:
	json_decref(j);
	free(m);
	return st;
}

/* The server's own keys */

/* Sets alg and the RFC 7638 kid of a freshly made private key. */
static status finish_private(struct jose_key *key, enum jose_alg alg, struct err *e)
{
	char tp[JOSE_THUMBPRINT_LEN];
	status st = jose_key_check_alg(key, alg, e);

	if (st != ST_OK)
		return st;
	key->has_alg = true;
	key->alg = alg;
	if ((st = jose_key_thumbprint(key, tp, e)) != ST_OK)
		return st;
	key->kid = str_dup_sv(sv_from(tp));
	if (key->kid == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

status jose_key_generate(enum jose_alg alg, struct jose_key **out, struct err *e)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);
	struct jose_key *key = NULL;
	EVP_PKEY *pkey = NULL;
	status st;

	*out = NULL;
	if (ai == NULL)
		return err_set(e, ST_INTERNAL, "unknown algorithm");
	switch (ai->kty) {
	case JOSE_KTY_RSA: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
	case JOSE_KTY_EC_P256: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
	case JOSE_KTY_EC_P384: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
	case JOSE_KTY_EC_P521: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"); break;
	case JOSE_KTY_ED25519: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
	}
	if (pkey == NULL) {
		jose_ossl_clear();
		return err_set(e, ST_INTERNAL, "key generation for %s failed", ai->name);
	}
	if ((st = jose_key_wrap(pkey, true, &key, e)) != ST_OK ||
	    (st = finish_private(key, alg, e)) != ST_OK)
		goto out;
	*out = key;
	key = NULL;
out:
	jose_key_free(key);
	return st;
}

status jose_key_private_pem(const struct jose_key *key, struct buf *out, struct err *e)
{
	BIO *bio = NULL;
	char *p = NULL;
	long n;
	status st = ST_OK;

	if (key == NULL || !key->has_private)
		return err_set(e, ST_INVALID, "not a private key");
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0) {
		st = err_set(e, ST_INTERNAL, "cannot write the private key");
		goto out;
	}
	if (buf_append(out, p, (size_t)n) != ST_OK)
		st = err_set(e, ST_NOMEM, "out of memory");
out:
	BIO_free(bio);
	jose_ossl_clear();
	return st;
}

/* Never prompt on a terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

status jose_key_from_private_pem(struct sv pem, enum jose_alg alg, struct jose_key **out,
				 struct err *e)
{
	struct jose_key *key = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	status st;

	*out = NULL;
	if (pem.n == 0 || pem.n > JOSE_PEM_MAX)
		return err_set(e, ST_INVALID, "private key PEM is empty or larger than %d bytes",
			       JOSE_PEM_MAX);
	bio = BIO_new_mem_buf(pem.p, (int)pem.n);
	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		jose_ossl_clear();
		return err_set(e, ST_INVALID, "not an unencrypted PEM private key");
	}
	if ((st = jose_key_wrap(pkey, true, &key, e)) != ST_OK ||
	    (st = finish_private(key, alg, e)) != ST_OK)
		goto out;
	*out = key;
	key = NULL;
out:
	jose_key_free(key);
	return st;
}
