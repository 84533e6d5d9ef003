/* alg.c - algorithm names, allow-lists and key-type rules. */
#include "jose/jose.h"

#include <string.h>

#include <openssl/err.h>

#include "jose/jose_int.h"
#include "jose/jws.h"

static const struct jose_alg_info algs[JOSE_ALG_COUNT] = {
    [JOSE_ALG_RS256] = {"RS256", JOSE_FAM_RSA_PKCS1, "SHA256", CRYPTO_SHA256, 32, JOSE_KTY_RSA, 0},
    [JOSE_ALG_RS384] = {"RS384", JOSE_FAM_RSA_PKCS1, "SHA384", CRYPTO_SHA384, 48, JOSE_KTY_RSA, 0},
    [JOSE_ALG_RS512] = {"RS512", JOSE_FAM_RSA_PKCS1, "SHA512", CRYPTO_SHA512, 64, JOSE_KTY_RSA, 0},
    [JOSE_ALG_PS256] = {"PS256", JOSE_FAM_RSA_PSS, "SHA256", CRYPTO_SHA256, 32, JOSE_KTY_RSA, 0},
    [JOSE_ALG_PS384] = {"PS384", JOSE_FAM_RSA_PSS, "SHA384", CRYPTO_SHA384, 48, JOSE_KTY_RSA, 0},
    [JOSE_ALG_PS512] = {"PS512", JOSE_FAM_RSA_PSS, "SHA512", CRYPTO_SHA512, 64, JOSE_KTY_RSA, 0},
    [JOSE_ALG_ES256] = {"ES256", JOSE_FAM_ECDSA, "SHA256", CRYPTO_SHA256, 32, JOSE_KTY_EC_P256, 32},
    [JOSE_ALG_ES384] = {"ES384", JOSE_FAM_ECDSA, "SHA384", CRYPTO_SHA384, 48, JOSE_KTY_EC_P384, 48},
    [JOSE_ALG_ES512] = {"ES512", JOSE_FAM_ECDSA, "SHA512", CRYPTO_SHA512, 64, JOSE_KTY_EC_P521, 66},
    [JOSE_ALG_EDDSA] = {"EdDSA", JOSE_FAM_EDDSA, NULL, CRYPTO_SHA256, 0, JOSE_KTY_ED25519, 0},
};

const struct jose_alg_info *jose_alg_info(enum jose_alg alg)
{
	if ((unsigned)alg >= JOSE_ALG_COUNT)
		return NULL;
	return &algs[alg];
}

const char *jose_alg_name(enum jose_alg alg)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);
	return ai ? ai->name : "?";
}

void jose_ossl_clear(void)
{
	ERR_clear_error();
}

status jose_alg_parse(struct sv name, enum jose_alg *out, struct err *e)
{
	char shown[JOSE_SHOW_BUF];

	for (unsigned i = 0; i < JOSE_ALG_COUNT; i++) {
		if (sv_eq_cstr(name, algs[i].name)) {
			*out = (enum jose_alg)i;
			return ST_OK;
		}
	}
	str_show(shown, sizeof shown, name.p, name.n);
	if (sv_eq_cstr(name, "none"))
		return err_set(e, ST_INVALID, "alg none is not accepted");
	if (sv_starts_with(name, SV("HS")))
		return err_set(e, ST_INVALID, "symmetric algorithm %s is not accepted", shown);
	return err_set(e, ST_UNSUPPORTED, "unsupported alg '%s'", shown);
}

bool jose_alg_set_has(jose_alg_set set, enum jose_alg alg)
{
	return (unsigned)alg < JOSE_ALG_COUNT && (set & JOSE_ALG_BIT(alg)) != 0;
}

status jose_alg_set_parse(const struct sv *names, size_t n, jose_alg_set *out, struct err *e)
{
	jose_alg_set set = 0;
	struct err sub;
	status st;

	if (n == 0) {
		*out = JOSE_ALG_SET_ALL;
		return ST_OK;
	}
	for (size_t i = 0; i < n; i++) {
		enum jose_alg alg;
		st = jose_alg_parse(names[i], &alg, &sub);
		if (st != ST_OK)
			return err_set(e, st, "entry %zu: %s", i, sub.msg);
		set |= JOSE_ALG_BIT(alg);
	}
	*out = set;
	return ST_OK;
}

status jose_alg_set_from_json(const json_t *names, jose_alg_set *out, struct err *e)
{
	jose_alg_set set = 0;
	struct err sub;
	status st;

	if (names == NULL || json_is_null(names) ||
	    (json_is_array(names) && json_array_size(names) == 0)) {
		*out = JOSE_ALG_SET_ALL;
		return ST_OK;
	}
	if (!json_is_array(names))
		return err_set(e, ST_INVALID, "allowed algorithms must be an array of strings");
	for (size_t i = 0; i < json_array_size(names); i++) {
		const json_t *v = json_array_get(names, i);
		enum jose_alg alg;
		if (!json_is_string(v))
			return err_set(e, ST_INVALID, "entry %zu: must be a string, got %s", i,
				       jose_json_type(v));
		st = jose_alg_parse((struct sv){json_string_value(v), json_string_length(v)}, &alg,
				    &sub);
		if (st != ST_OK)
			return err_set(e, st, "entry %zu: %s", i, sub.msg);
		set |= JOSE_ALG_BIT(alg);
	}
	*out = set;
	return ST_OK;
}

bool jose_alg_set_format(jose_alg_set set, char *out, size_t outsz)
{
	size_t o = 0;
	bool fits = true;

	if (outsz == 0)
		return false;
	out[0] = '\0';
	for (unsigned i = 0; i < JOSE_ALG_COUNT; i++) {
		if (!(set & JOSE_ALG_BIT(i)))
			continue;
		const char *sep = o ? ", " : "";
		size_t need = strlen(sep) + strlen(algs[i].name);
		if (o + need >= outsz) {
			fits = false;
			break;
		}
		memcpy(out + o, sep, strlen(sep));
		o += strlen(sep);
		memcpy(out + o, algs[i].name, strlen(algs[i].name));
		o += strlen(algs[i].name);
		out[o] = '\0';
	}
	return fits;
}

status jose_alg_check_allowed(jose_alg_set set, enum jose_alg alg, struct err *e)
{
	char list[128];

	if (jose_alg_set_has(set, alg))
		return ST_OK;
	jose_alg_set_format(set, list, sizeof list);
	return err_set(e, ST_INVALID,
		       "alg %s is not in the identity provider's allowed algorithms (%s)",
		       jose_alg_name(alg), list[0] ? list : "none");
}

const char *jose_kty_name(enum jose_kty kty)
{
	switch (kty) {
	case JOSE_KTY_RSA: return "RSA";
	case JOSE_KTY_EC_P256: return "EC P-256";
	case JOSE_KTY_EC_P384: return "EC P-384";
	case JOSE_KTY_EC_P521: return "EC P-521";
	case JOSE_KTY_ED25519: return "Ed25519";
	}
	return "?";
}

bool jose_kty_fits_alg(enum jose_kty kty, enum jose_alg alg)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);
	return ai != NULL && ai->kty == kty;
}
