/* jwt_grant.c - the JWT bearer grant's checks, in docs/jwt-grant.md "The checks, in order" (see
 * jwt_grant.h). Each step is one function that ends in PASS() or fail(), so
 * the trace and the error description always say the same thing. */
#include "oauth/jwt_grant.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys/keys.h"
#include "lib/b64.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "oauth/assertion.h"
#include "oauth/directory.h"
#include "oauth/scope.h"

/* How many received audiences a mismatch message lists. */
#define AUD_SHOW 4

struct run {
	struct oauth_ctx *c;
	struct arena *a;
	const struct jwt_grant_in *in;
	struct jwt_grant_result *r;
	struct oauth_fault *f;
	bool idp_by_issuer;         /* r->idp matched by idpIssuerName (not by name) */
	struct assertion_claims cl; /* step 3's claims */
	const char *kid_shown;      /* kid_shown(): made when first needed */
};

static const char *const check_names[JWT_NCHECKS] = {
    "assertion",         "header", "claims", "issuer", "signature", "audience", "times",
    "subject_and_scope", "replay",
};

const char *jwt_check_name(enum jwt_check_id id)
{
	if ((unsigned)id >= JWT_NCHECKS)
		return "?";
	return check_names[id];
}

__attribute__((format(printf, 2, 0))) static const char *vfmt(struct arena *a, const char *fmt,
							      va_list ap)
{
	char tmp[ERR_MSG_MAX];
	const char *s;

	vsnprintf(tmp, sizeof tmp, fmt, ap);
	s = arena_strdup(a, tmp);
	return s != NULL ? s : "(out of memory)";
}

__attribute__((format(printf, 3, 4))) static status pass(struct run *x, enum jwt_check_id id,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	x->r->checks[id].detail = vfmt(x->a, fmt, ap);
	va_end(ap);
	x->r->checks[id].state = JWT_STATE_PASS;
	return ST_OK;
}

static status passed(struct run *x, enum jwt_check_id id)
{
	x->r->checks[id].state = JWT_STATE_PASS;
	return ST_OK;
}

/* A passed check. Its detail is read only by the dry run's trace, so
 * without in->trace neither is it formatted nor are its arguments (which
 * call show() and arena_printf()) evaluated. */
#define PASS(x, id, ...) ((x)->in->trace ? pass((x), (id), __VA_ARGS__) : passed((x), (id)))

/* A client fault: the check fails with `error` and the detail becomes the
 * error description. */
__attribute__((format(printf, 5, 6))) static status
fail(struct run *x, enum jwt_check_id id, enum oauth_error error, status st, const char *fmt, ...)
{
	va_list ap;
	const char *d;

	va_start(ap, fmt);
	d = vfmt(x->a, fmt, ap);
	va_end(ap);
	x->r->checks[id].detail = d;
	x->r->checks[id].state = JWT_STATE_FAIL;
	x->r->failed = (int)id;
	oauth_fail(x->f, error, st, "%s", d);
	if (x->f != NULL)
		x->f->check = check_names[id];
	return st;
}

/* A server fault during a check: answered with 500 by the caller. */
static status fault(struct run *x, enum jwt_check_id id, status st, const struct err *e)
{
	if (st == ST_OK)
		st = ST_INTERNAL;
	x->r->checks[id].detail = "server error";
	x->r->checks[id].state = JWT_STATE_FAIL;
	x->r->failed = (int)id;
	oauth_fail_err(x->f, OAUTH_SERVER_ERROR, st, e, NULL);
	if (x->f != NULL)
		x->f->check = check_names[id];
	return st;
}

/* Never hand printf a NULL (an arena_printf that ran out of memory). */
static const char *nz(const char *s)
{
	return s != NULL ? s : "?";
}

static const char *show(struct run *x, const char *s)
{
	return oauth_show(x->a, s, OAUTH_SHOW_MAX);
}

/* "kid 'x'" or "no kid", for the header's trace and signature failures. */
static const char *kid_shown(struct run *x)
{
	const char *kid = x->r->jws.kid;

	if (x->kid_shown == NULL)
		x->kid_shown = kid ? nz(arena_printf(x->a, "kid '%s'", show(x, kid))) : "no kid";
	return x->kid_shown;
}

/* The IdP's allowed algorithms as "RS256, ES256" (in the arena). */
static const char *allowed_algs(struct run *x)
{
	char list[128];

	jose_alg_set_format(x->r->idp->algs, list, sizeof list);
	return nz(arena_strdup(x->a, list));
}

/* ---------------------------------------------------------- step 1 */

/* On the failure path only: whether the assertion has the shape of a
 * compact JWS (three base64url parts, header and payload JSON objects
 * without duplicate keys), so that a jws_parse() failure can be filed under
 * the right step (1: the shape, 2: the header's content). */
static bool shape_ok(struct arena *a, struct sv s)
{
	struct sv part[3], rest;
	size_t dots = 0;

	for (size_t i = 0; i < s.n; i++)
		dots += s.p[i] == '.';
	if (dots != 2)
		return false;
	rest = sv_cut(s, '.', &part[0]);
	part[2] = sv_cut(rest, '.', &part[1]);
	for (int i = 0; i < 3; i++) {
		size_t cap = b64_decoded_max(part[i].n) + 1, n = 0;
		unsigned char *buf;
		json_t *j;
		if (part[i].n == 0 || (buf = arena_alloc(a, cap)) == NULL)
			return false;
		if (b64url_decode(part[i], buf, cap, &n) != ST_OK)
			return false;
		if (i == 2)
			break;
		j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(j)) {
			json_decref(j);
			return false;
		}
		json_decref(j);
	}
	return true;
}

static status step_assertion(struct run *x)
{
	const struct jwt_grant_in *in = x->in;
	int64_t max = x->c->cfg->oauth.jwt.max_assertion_size;
	struct err e = {0};
	status st;

	if (!in->has_assertion)
		return fail(x, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST, ST_INVALID,
			    "missing parameter 'assertion'");
	if (in->assertion.n == 0)
		return fail(x, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST, ST_INVALID,
			    "parameter 'assertion' is empty");
	if (max > 0 && in->assertion.n > (size_t)max)
		return fail(x, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST, ST_TOO_LARGE,
			    "assertion is %zu bytes, more than the limit of %lld bytes "
			    "([oauth.grant_type.jwt] max_assertion_size)",
			    in->assertion.n, (long long)max);
	st =
	    jws_parse(x->a, in->assertion, max > 0 ? (size_t)max : in->assertion.n, &x->r->jws, &e);
	if (st == ST_NOMEM)
		return fault(x, JWT_CHECK_ASSERTION, st, &e);
	if (st != ST_OK) {
		size_t dots = 0;
		for (size_t i = 0; i < in->assertion.n; i++)
			dots += in->assertion.p[i] == '.';
		if (dots == 4)
			return fail(x, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, ST_UNSUPPORTED,
				    "encrypted assertions are not accepted (the assertion is a "
				    "five-part JWE; send a signed JWT)");
		/* Refusals of a well-formed JWS are about its header (step 2);
		 * the rest is the shape (step 1). */
		if (!shape_ok(x->a, in->assertion))
			return fail(x, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, st,
				    "malformed assertion: %s", e.msg);
		PASS(x, JWT_CHECK_ASSERTION, "compact JWS of %zu bytes", in->assertion.n);
		return fail(x, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, st, "assertion header: %s",
			    e.msg);
	}
	x->r->parsed = true;
	return PASS(x, JWT_CHECK_ASSERTION, "compact JWS of %zu bytes, JSON header and payload",
		    in->assertion.n);
}

/* ---------------------------------------------------------- step 2 */

static status step_header(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	const json_t *iss = json_object_get(r->jws.payload, "iss");
	const char *alg = jose_alg_name(r->jws.alg);
	struct err e = {0};
	status st;

	/* The IdP's allow-list needs the IdP: look it up as soon as `iss` is
	 * a usable string. Step 4 judges its policy. */
	if (json_is_string(iss) && json_string_length(iss) > 0) {
		st = directory_idp_by_issuer(x->c, x->in->tenant_id, json_string_value(iss),
					     &r->idp, &e);
		if (st != ST_OK && st != ST_NOT_FOUND)
			return fault(x, JWT_CHECK_HEADER, st, &e);
		if (r->idp != NULL)
			x->idp_by_issuer = r->idp->issuer != NULL &&
					   strcmp(r->idp->issuer, json_string_value(iss)) == 0;
	}
	if (r->idp == NULL)
		return PASS(x, JWT_CHECK_HEADER,
			    "alg %s, %s; no identity provider matches iss, so its allowed "
			    "algorithms cannot be checked",
			    alg, kid_shown(x));
	if (!jose_alg_set_has(r->idp->algs, r->jws.alg))
		return fail(x, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, ST_INVALID,
			    "alg %s is not allowed by identity provider '%s' (allowed: %s)", alg,
			    show(x, r->idp->name), allowed_algs(x));
	return PASS(x, JWT_CHECK_HEADER, "alg %s is allowed by identity provider '%s' (%s), %s",
		    alg, show(x, r->idp->name), allowed_algs(x), kid_shown(x));
}

/* ---------------------------------------------------------- step 3 */

/* The grant profile of the shared claim checks (oauth/assertion.h). The
 * times' skew and lifetime come from the IdP when it sets them; before the
 * IdP is known (step 3) only the required-claim rules matter. */
static struct assertion_profile grant_profile(const struct run *x)
{
	const struct config *cfg = x->c->cfg;
	const struct idp_conf *idp = x->r->idp;
	bool idp_life = idp != NULL && idp->max_assertion_lifetime > 0;

	return (struct assertion_profile){
	    .noun = "assertion",
	    .jti_rule = cfg->oauth.jwt.require_jti        ? "the server's require_jti"
			: idp != NULL && idp->require_jti ? "the identity provider's requireJti"
							  : NULL,
	    .iat_rule = cfg->oauth.jwt.require_iat        ? "the server's require_iat"
			: idp != NULL && idp->require_iat ? "the identity provider's requireIat"
							  : NULL,
	    .skew = x->r->skew,
	    .skew_src = idp != NULL && idp->clock_skew >= 0 ? "identity provider's clockSkewSeconds"
							    : "[oauth] timestamp_skew",
	    .iat_validation = cfg->oauth.jwt.enable_iat_validation,
	    .iat_validity = cfg->oauth.jwt.iat_validity_period,
	    .max_lifetime =
		idp_life ? idp->max_assertion_lifetime : cfg->oauth.jwt.max_assertion_lifetime,
	    .max_lifetime_src = idp_life ? "identity provider's maxAssertionLifetimeSeconds"
					 : "max_assertion_lifetime",
	};
}

static status step_claims(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	struct assertion_profile p = grant_profile(x);
	struct err e = {0};
	status st;

	/* "claim 'sub' is missing" / "... must be a string, got number" */
	st = assertion_read_claims(x->a, r->jws.payload, &p, &x->cl, &e);
	if (status_is_server_fault(st))
		return fault(x, JWT_CHECK_CLAIMS, st, &e);
	if (st != ST_OK)
		return fail(x, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT, ST_INVALID, "%s", e.msg);
	r->iss = x->cl.iss;
	r->sub = x->cl.sub;
	r->exp = x->cl.exp;
	r->jti = x->cl.jti;
	return PASS(x, JWT_CHECK_CLAIMS, "iss, sub, aud (%zu value%s), exp present%s%s%s",
		    x->cl.naud, x->cl.naud == 1 ? "" : "s", x->cl.has_nbf ? ", nbf" : "",
		    x->cl.has_iat ? ", iat" : "", r->jti ? ", jti" : "");
}

/* ---------------------------------------------------------- step 4 */

static status step_issuer(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	const struct idp_conf *idp = r->idp;
	const struct app_conf *app = x->in->app;

	if (idp == NULL)
		return fail(x, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, ST_INVALID,
			    "unknown issuer: no identity provider in tenant '%s' has idpIssuerName "
			    "or name '%s'",
			    show(x, x->in->tenant), show(x, r->iss));
	if (!idp->enabled)
		return fail(x, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, ST_INVALID,
			    "identity provider '%s' is disabled", show(x, idp->name));
	if (idp->expires_at > 0 && x->in->now >= idp->expires_at) {
		char when[TIME_RFC3339_LEN];
		time_format_rfc3339(idp->expires_at, when);
		return fail(x, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, ST_INVALID,
			    "trust in identity provider '%s' expired at %s", show(x, idp->name),
			    when);
	}
	if (app != NULL && app->allowed_idps.n > 0 && !strlist_has(&app->allowed_idps, idp->name))
		return fail(x, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, ST_INVALID,
			    "identity provider '%s' is not in the allowedIdentityProviders of "
			    "application '%s'",
			    show(x, idp->name), show(x, app->name));
	return PASS(x, JWT_CHECK_ISSUER, "identity provider '%s' (matched by %s), enabled%s",
		    show(x, idp->name), x->idp_by_issuer ? "idpIssuerName" : "name",
		    app == NULL ? "; no client given, allowedIdentityProviders not checked" : "");
}

/* ---------------------------------------------------------- step 5 */

static const char *key_shown(struct run *x, const struct jose_key *k)
{
	const char *what = jose_kty_name(k->kty);

	if (k->has_cert)
		return arena_printf(x->a, "%s %d-bit key of certificate '%s'", what, k->bits,
				    show(x, k->cert.subject));
	if (k->kid != NULL)
		return arena_printf(x->a, "%s %d-bit key with kid '%s'", what, k->bits,
				    show(x, k->kid));
	return arena_printf(x->a, "%s %d-bit key", what, k->bits);
}

static status step_signature(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	const struct idp_conf *idp = r->idp;
	const struct config *cfg = x->c->cfg;
	struct jose_keyset *fetched = NULL;
	const struct jose_keyset *ks = idp->keys;
	const struct jose_key *used = NULL;
	unsigned flags = 0;
	const char *source = idp_key_source_name(idp->key_source);
	struct err e = {0};
	status st;

	if (cfg->oauth.jwks_endpoint.enforce_certificate_expiry_time_validity)
		flags |= JOSE_VERIFY_CERT_TIME;
	switch (idp->key_source) {
	case IDP_KEYS_NONE:
		return fail(x, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, ST_INVALID,
			    "identity provider '%s' has no keys yet: set its certificate (jwksUri, "
			    "certificates or jwks)",
			    show(x, idp->name));
	case IDP_KEYS_CERTS:
		/* Certificates carry no kid: a kid that matches nothing means
		 * "try each", as WSO2 does. */
		flags |= JOSE_SELECT_TRY_ALL;
		break;
	case IDP_KEYS_JWKS: break;
	case IDP_KEYS_JWKS_URI:
		if (x->c->keys == NULL) {
			err_set(&e, ST_INTERNAL, "the JWKS cache is not running");
			return fault(x, JWT_CHECK_SIGNATURE, ST_INTERNAL, &e);
		}
		st = keys_get(x->c->keys, idp->tenant_id, idp->id, idp->jwks_uri, r->jws.kid,
			      &fetched, &e);
		if (st == ST_NOMEM || st == ST_INTERNAL)
			return fault(x, JWT_CHECK_SIGNATURE, st, &e);
		if (st != ST_OK)
			return fail(x, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, ST_INVALID,
				    "cannot get the keys of identity provider '%s' from its "
				    "jwksUri: %s",
				    show(x, idp->name), e.msg);
		ks = fetched;
		break;
	}
	if (ks == NULL) {
		err_set(&e, ST_INTERNAL, "identity provider without keys");
		return fault(x, JWT_CHECK_SIGNATURE, ST_INTERNAL, &e);
	}
	st = jws_verify_keyset(&r->jws, ks, flags, x->in->now, &used, &e);
	if (st == ST_OK)
		st = PASS(x, JWT_CHECK_SIGNATURE, "%s signature verified with the %s (from %s)",
			  jose_alg_name(r->jws.alg), nz(key_shown(x, used)), source);
	else if (status_is_server_fault(st))
		st = fault(x, JWT_CHECK_SIGNATURE, st, &e);
	else
		st = fail(x, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, ST_INVALID,
			  "signature not verified with the keys of identity provider '%s' (%s, "
			  "%zu key%s, %s): %s",
			  show(x, idp->name), source, ks->n, ks->n == 1 ? "" : "s", kid_shown(x),
			  e.msg);
	jose_keyset_free(fetched);
	return st;
}

/* ---------------------------------------------------------- step 6 */

static status step_audience(struct run *x)
{
	const struct idp_conf *idp = x->r->idp;
	const char *primary = idp->alias;
	struct buf want = {0}, got = {0};
	status st;

	if (primary == NULL &&
	    (primary = oauth_token_endpoint_url(x->c, x->a, x->in->tenant)) == NULL)
		return fault(x, JWT_CHECK_AUDIENCE, ST_NOMEM, NULL);
	for (size_t i = 0; i < x->cl.naud; i++) {
		const char *aud = x->cl.aud[i];
		if (strcmp(aud, primary) == 0 || strlist_has(&idp->additional_audiences, aud))
			return PASS(x, JWT_CHECK_AUDIENCE, "aud contains '%s' (%s)", show(x, aud),
				    strcmp(aud, primary) == 0
					? (idp->alias ? "the identity provider's alias"
						      : "the tenant's token endpoint URL")
					: "an additional audience");
	}
	buf_printf(&want, "'%s'", show(x, primary));
	for (size_t i = 0; i < idp->additional_audiences.n && i < AUD_SHOW; i++)
		buf_printf(&want, ", '%s'", show(x, idp->additional_audiences.v[i]));
	if (idp->additional_audiences.n > AUD_SHOW)
		buf_append_cstr(&want, ", ...");
	for (size_t i = 0; i < x->cl.naud && i < AUD_SHOW; i++)
		buf_printf(&got, "%s'%s'", i ? ", " : "", show(x, x->cl.aud[i]));
	if (x->cl.naud > AUD_SHOW)
		buf_append_cstr(&got, ", ...");
	st = fail(x, JWT_CHECK_AUDIENCE, OAUTH_INVALID_GRANT, ST_INVALID,
		  "audience mismatch: expected %s%s (%s), received %s",
		  idp->additional_audiences.n ? "one of " : "", want.p ? want.p : "?",
		  idp->alias ? "the identity provider's alias" : "the tenant's token endpoint URL",
		  got.p ? got.p : "?");
	buf_free(&want);
	buf_free(&got);
	return st;
}

/* ---------------------------------------------------------- step 7 */

static status step_times(struct run *x)
{
	struct assertion_profile p = grant_profile(x);
	struct err e = {0};

	if (assertion_check_times(&x->cl, &p, x->in->now, &e) != ST_OK)
		return fail(x, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, ST_INVALID, "%s", e.msg);
	return PASS(x, JWT_CHECK_TIMES, "exp in %lld s%s%s, clock skew %lld s",
		    (long long)(x->cl.exp - x->in->now),
		    x->cl.has_iat ? ", iat age within limits" : "",
		    x->cl.has_nbf ? ", nbf reached" : "", (long long)p.skew);
}

/* ---------------------------------------------------------- step 8 */

static status step_subject_scope(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	const struct idp_conf *idp = r->idp;
	const struct app_conf *app = x->in->app;
	const char *who;
	struct err e = {0};
	status st;

	if (idp->allowed_subjects.n > 0 && !strlist_has(&idp->allowed_subjects, r->sub))
		return fail(x, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_GRANT, ST_INVALID,
			    "subject '%s' is not in the allowedSubjects of identity provider '%s'",
			    show(x, r->sub), show(x, idp->name));
	st = scope_normalise(x->a, x->in->scope, &r->scope, &e);
	/* No scope requested: nothing to check (scope_within passes it), and
	 * no need to name who would have refused it. */
	if (st == ST_OK && r->scope != NULL) {
		who = arena_printf(x->a, "identity provider '%s'", show(x, idp->name));
		st = scope_within(x->a, r->scope, &idp->allowed_scopes, who ? who : "the IdP", &e);
	}
	if (st == ST_OK && r->scope != NULL && app != NULL) {
		who = arena_printf(x->a, "application '%s'", show(x, app->name));
		st = scope_within(x->a, r->scope, &app->allowed_scopes, who ? who : "the app", &e);
	}
	if (status_is_server_fault(st))
		return fault(x, JWT_CHECK_SUBJECT_SCOPE, st, &e);
	if (st != ST_OK)
		return fail(x, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_SCOPE, ST_INVALID, "%s",
			    e.msg);
	return PASS(x, JWT_CHECK_SUBJECT_SCOPE, "subject '%s' allowed; scope %s%s%s",
		    show(x, r->sub), r->scope ? "'" : "", r->scope ? show(x, r->scope) : "none",
		    r->scope ? "' allowed" : " requested");
}

/* ---------------------------------------------------------- step 9 */

static status step_replay(struct run *x)
{
	struct jwt_grant_result *r = x->r;
	struct store *s = x->c->store;
	int64_t until = r->exp + r->skew;
	struct err e = {0};
	status st;

	if (!x->c->cfg->oauth.jwt.enable_jwt_cache)
		return PASS(x, JWT_CHECK_REPLAY,
			    "replay check disabled ([oauth.grant_type.jwt] enable_jwt_cache = "
			    "false)");
	if (r->jti == NULL)
		return PASS(x, JWT_CHECK_REPLAY, "no jti: the assertion is not replay-protected");
	if (x->in->dry_run) {
		bool seen = false;
		st =
		    s->ops->replay_seen(s, x->in->tenant_id, r->iss, r->jti, x->in->now, &seen, &e);
		if (st != ST_OK)
			return fault(x, JWT_CHECK_REPLAY, st, &e);
		if (seen)
			return fail(
			    x, JWT_CHECK_REPLAY, OAUTH_INVALID_GRANT, ST_CONFLICT,
			    "assertion replayed (jti already used): jti '%s' of issuer '%s' "
			    "(dry run: nothing was recorded)",
			    show(x, r->jti), show(x, r->iss));
		return PASS(x, JWT_CHECK_REPLAY,
			    "dry run: jti '%s' is unused and would be recorded until %lld (exp + "
			    "skew); nothing was recorded",
			    show(x, r->jti), (long long)until);
	}
	/* Not written here: the record joins the tokens' transaction, so a
	 * request that fails later uses nothing up, and a replay (even of an
	 * assertion whose first use is still being committed) is caught there
	 * (jwt_grant_replay_error). */
	r->replay = (struct store_replay){x->in->tenant_id, r->iss, r->jti, until};
	r->replay_pending = true;
	return PASS(x, JWT_CHECK_REPLAY,
		    "jti '%s' to be recorded with the tokens until %lld (exp + skew)",
		    show(x, r->jti), (long long)until);
}

/* ---------------------------------------------------------- sequence */

status jwt_grant_check(struct oauth_ctx *c, struct arena *a, const struct jwt_grant_in *in,
		       struct jwt_grant_result *r, struct oauth_fault *f)
{
	struct run x = {.c = c, .a = a, .in = in, .r = r, .f = f};
	status st;

	memset(r, 0, sizeof *r);
	r->failed = -1;
	if ((st = step_assertion(&x)) != ST_OK || (st = step_header(&x)) != ST_OK ||
	    (st = step_claims(&x)) != ST_OK || (st = step_issuer(&x)) != ST_OK)
		return st;
	/* The skew of the IdP (clockSkewSeconds) or the server, applied in the
	 * lenient direction by every time check and the replay record. */
	r->skew = r->idp->clock_skew >= 0 ? r->idp->clock_skew : c->cfg->oauth.timestamp_skew;
	if ((st = step_signature(&x)) != ST_OK || (st = step_audience(&x)) != ST_OK ||
	    (st = step_times(&x)) != ST_OK || (st = step_subject_scope(&x)) != ST_OK ||
	    (st = step_replay(&x)) != ST_OK)
		return st;
	return ST_OK;
}

status jwt_grant_replayed(struct arena *a, const struct jwt_grant_result *r, struct oauth_fault *f)
{
	status st = oauth_fail(f, OAUTH_INVALID_GRANT, ST_CONFLICT,
			       "assertion replayed (jti already used): jti '%s' of issuer '%s'",
			       oauth_show(a, r->jti, OAUTH_SHOW_MAX),
			       oauth_show(a, r->iss, OAUTH_SHOW_MAX));

	if (f != NULL)
		f->check = check_names[JWT_CHECK_REPLAY];
	return st;
}

void jwt_grant_result_free(struct jwt_grant_result *r)
{
	if (r == NULL)
		return;
	jws_free(&r->jws);
	idp_conf_free(r->idp);
	r->idp = NULL;
	r->parsed = false;
}
