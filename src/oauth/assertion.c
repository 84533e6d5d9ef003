/* assertion.c - the shared claim checks of grant and client assertions
 * (see assertion.h; the rules are docs/jwt-grant.md steps 3 and 7). */
#include "oauth/assertion.h"

#include "jose/jws.h"

/* An optional string claim: absent → NULL; present → a non-empty string. */
static status optional_string(const json_t *payload, const char *name, const char **out,
			      struct err *e)
{
	status st;

	*out = NULL;
	if (json_object_get(payload, name) == NULL)
		return ST_OK; /* no "missing" message formatted for nobody */
	if ((st = jwt_claim_string(payload, name, out, e)) != ST_OK)
		return st;
	if ((*out)[0] == '\0')
		return err_set(e, ST_INVALID, "claim '%s' is empty", name);
	return ST_OK;
}

static status optional_date(const json_t *payload, const char *name, bool *has, int64_t *out,
			    struct err *e)
{
	*has = json_object_get(payload, name) != NULL;
	*out = 0;
	return *has ? jwt_claim_numericdate(payload, name, out, e) : ST_OK;
}

status assertion_read_claims(struct arena *a, const json_t *payload,
			     const struct assertion_profile *p, struct assertion_claims *out,
			     struct err *e)
{
	status st;

	*out = (struct assertion_claims){0};
	if ((st = jwt_claim_string(payload, "iss", &out->iss, e)) != ST_OK ||
	    (st = jwt_claim_string(payload, "sub", &out->sub, e)) != ST_OK ||
	    (st = jwt_claim_audiences(a, payload, "aud", &out->aud, &out->naud, e)) != ST_OK ||
	    (st = jwt_claim_numericdate(payload, "exp", &out->exp, e)) != ST_OK)
		return st == ST_NOT_FOUND ? ST_INVALID : st;
	if (out->iss[0] == '\0')
		return err_set(e, ST_INVALID, "claim 'iss' is empty");
	if (out->sub[0] == '\0')
		return err_set(e, ST_INVALID, "claim 'sub' is empty");
	if ((st = optional_date(payload, "nbf", &out->has_nbf, &out->nbf, e)) != ST_OK ||
	    (st = optional_date(payload, "iat", &out->has_iat, &out->iat, e)) != ST_OK ||
	    (st = optional_string(payload, "jti", &out->jti, e)) != ST_OK)
		return st;
	if (p->jti_rule != NULL && out->jti == NULL)
		return err_set(e, ST_INVALID, "claim 'jti' is missing (required by %s)",
			       p->jti_rule);
	if (p->iat_rule != NULL && !out->has_iat)
		return err_set(e, ST_INVALID, "claim 'iat' is missing (required by %s)",
			       p->iat_rule);
	return ST_OK;
}

status assertion_check_times(const struct assertion_claims *c, const struct assertion_profile *p,
			     int64_t now, struct err *e)
{
	int64_t s = p->skew;

	if (c->exp <= now - s)
		return err_set(e, ST_INVALID,
			       "%s expired: exp is %lld s in the past (clock skew allowed: %lld s, "
			       "%s)",
			       p->noun, (long long)(now - c->exp), (long long)s, p->skew_src);
	if (c->has_nbf && c->nbf > now + s)
		return err_set(e, ST_INVALID,
			       "%s not yet valid: nbf is %lld s in the future (clock skew allowed: "
			       "%lld s)",
			       p->noun, (long long)(c->nbf - now), (long long)s);
	if (c->has_iat && c->iat > now + s)
		return err_set(e, ST_INVALID,
			       "%s issued in the future: iat is %lld s ahead (clock skew allowed: "
			       "%lld s)",
			       p->noun, (long long)(c->iat - now), (long long)s);
	if (p->iat_validation && c->has_iat && now - c->iat > p->iat_validity + s)
		return err_set(e, ST_INVALID,
			       "%s too old: iat is %lld s ago, the limit is %lld s "
			       "(iat_validity_period) + %lld s clock skew",
			       p->noun, (long long)(now - c->iat), (long long)p->iat_validity,
			       (long long)s);
	if (p->max_lifetime > 0) {
		int64_t from = c->has_iat ? c->iat : now;
		if (c->exp - from > p->max_lifetime)
			return err_set(e, ST_INVALID,
				       "%s lifetime too long: exp - %s is %lld s, the maximum is "
				       "%lld s (%s)",
				       p->noun, c->has_iat ? "iat" : "now",
				       (long long)(c->exp - from), (long long)p->max_lifetime,
				       p->max_lifetime_src);
	}
	return ST_OK;
}
