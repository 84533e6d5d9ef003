/* test_jwt_grant.c - the JWT bearer checks of docs/jwt-grant.md, in order,
 * against a real store and keys made here: every failure, the boundaries
 * of the time checks with skew, the audience rules, key selection, replay
 * recorded only on success, and the directory's caching. */
#include "oauth_fixture.h"

#include "oauth/jwt_grant.h"

#define NOW 1700000000

struct outcome {
	struct jwt_grant_result r;
	struct oauth_fault f;
	status st;
	bool committed; /* the jti record was committed (as grants.c would) */
};

static const struct app_conf *get_app(struct fx *f, const char *tenant_id, const char *client)
{
	struct app_conf *app = NULL;
	struct err e = {0};

	if (directory_app_by_client_id(&f->c, tenant_id, client, &app, &e) != ST_OK)
		fail_msg("app lookup: %s", e.msg);
	app_conf_free(app); /* the directory keeps its own reference for the test */
	return app;
}

static void check_in(struct fx *f, const char *tenant, const char *tenant_id,
		     const struct app_conf *app, const char *assertion, const char *scope,
		     int64_t now, bool dry, struct outcome *o)
{
	struct jwt_grant_in in = {0};

	memset(o, 0, sizeof *o);
	in.tenant_id = tenant_id;
	in.tenant = tenant;
	in.app = app;
	in.has_assertion = assertion != NULL;
	in.assertion = sv_from(assertion);
	in.scope = scope;
	in.now = now;
	in.dry_run = dry;
	in.trace = true; /* the tests read the passed checks' details too */
	o->st = jwt_grant_check(&f->c, &f->a, &in, &o->r, &o->f);
	/* What the grant does next (grants.c): the pending jti record is
	 * committed, and a conflict there is the replay failure of step 9. */
	o->committed = false;
	if (o->st == ST_OK && o->r.replay_pending) {
		struct store_grant_tx tx = {.now = now, .nreplays = 1};
		struct err e = {0};
		status st;

		assert_false(dry);
		tx.replays[0] = o->r.replay;
		st = f->c.store->ops->grant_commit(f->c.store, &tx, &e);
		if (st == ST_CONFLICT) {
			assert_int_equal(tx.conflict, STORE_TX_REPLAY);
			o->st = jwt_grant_replayed(&f->a, &o->r, &o->f);
			o->r.failed = JWT_CHECK_REPLAY;
			o->r.checks[JWT_CHECK_REPLAY].state = JWT_STATE_FAIL;
			o->r.checks[JWT_CHECK_REPLAY].detail = o->f.e.msg;
		} else {
			assert_int_equal(st, ST_OK);
			o->committed = true;
		}
	}
}

static void check(struct fx *f, const char *assertion, struct outcome *o)
{
	check_in(f, "carbon.super", f->super_id, NULL, assertion, NULL, NOW, false, o);
}

/* The outcome failed at `id` with `error` and a description containing
 * `needle`; every earlier check passed and no later one ran. */
static void expect_fail(struct outcome *o, enum jwt_check_id id, enum oauth_error error,
			const char *needle)
{
	if (o->r.failed != (int)id)
		fail_msg("failed at %d (%s), expected %d (%s): %s", o->r.failed,
			 o->r.failed >= 0 ? jwt_check_name(o->r.failed) : "-", (int)id,
			 jwt_check_name(id), o->f.e.msg);
	assert_int_not_equal(o->st, ST_OK);
	assert_int_equal(o->f.error, error);
	assert_true(fx_has(o->f.e.msg, needle));
	for (int i = 0; i < JWT_NCHECKS; i++) {
		enum jwt_check_state want = i < (int)id    ? JWT_STATE_PASS
					    : i == (int)id ? JWT_STATE_FAIL
							   : JWT_STATE_NOT_RUN;
		if (o->r.checks[i].state != want)
			fail_msg("check %s: state %d, expected %d", jwt_check_name(i),
				 o->r.checks[i].state, want);
	}
	assert_string_equal(o->r.checks[id].detail, o->f.e.msg);
	jwt_grant_result_free(&o->r);
}

static void expect_pass(struct outcome *o)
{
	if (o->st != ST_OK)
		fail_msg("failed at %s: %s", o->r.failed >= 0 ? jwt_check_name(o->r.failed) : "-",
			 o->f.e.msg);
	assert_int_equal(o->r.failed, -1);
	for (int i = 0; i < JWT_NCHECKS; i++) {
		assert_int_equal(o->r.checks[i].state, JWT_STATE_PASS);
		assert_non_null(o->r.checks[i].detail);
	}
	jwt_grant_result_free(&o->r);
}

/* A default IdP in the super tenant. */
static void std_idp(struct fx *f)
{
	fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
}

static const char *good(struct fx *f, json_t *claims)
{
	return fx_sign(f, f->idp_key, JOSE_ALG_RS256, NULL, claims);
}

/* ------------------------------------------------------------ tests */

static void test_happy_path(void **state)
{
	struct fx *f = *state;
	struct outcome o;

	std_idp(f);
	check(f, good(f, fx_claims(f, NOW)), &o);
	assert_string_equal(o.r.sub, "alice");
	assert_string_equal(o.r.idp->name, "jwtIDP");
	assert_true(o.committed);
	assert_int_equal(o.r.skew, 60);
	assert_true(fx_has(o.r.checks[JWT_CHECK_AUDIENCE].detail, "alias"));
	expect_pass(&o);
}

static void test_step1_assertion(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	char *big;
	size_t max = (size_t)fx_cfg(f)->oauth.jwt.max_assertion_size;

	std_idp(f);
	check(f, NULL, &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST,
		    "missing parameter 'assertion'");
	check(f, "", &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST, "empty");
	big = arena_alloc(&f->a, max + 2);
	memset(big, 'a', max + 1);
	check(f, big, &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_REQUEST, "more than the limit of 16384");
	check(f, "abc.def", &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "3 parts");
	check(f, "a.b.c.d.e", &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT,
		    "encrypted assertions are not accepted");
	check(f, "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln", &o); /* padding */
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	check(f, "eyJhbGciOiJSUzI1NiJ9 .e30.c2ln", &o); /* whitespace */
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	check(f, fx_raw(f, "{\"alg\":\"RS256\"}", "[1,2]", "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	check(f, fx_raw(f, "{\"alg\":\"RS256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}", "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	check(f, fx_raw(f, "{\"alg\":\"RS256\"}", "{\"sub\":\"\xff\"}", "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	/* The description never echoes the assertion. */
	check(f, fx_raw(f, "{\"alg\":\"RS256\"}", "{not json SECRETPAYLOAD", "c2ln"), &o);
	assert_null(strstr(o.f.e.msg, "SECRETPAYLOAD"));
	assert_null(strstr(o.f.e.msg, "c2ln"));
	expect_fail(&o, JWT_CHECK_ASSERTION, OAUTH_INVALID_GRANT, "malformed assertion");
	assert_int_equal(f->calls[FX_REPLAY], 0);
}

static void test_step2_header(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc;
	char payload[256];
	struct jose_key *ps = NULL;
	struct err e = {0};

	doc = fx_idp_doc(f, "jwtIDP");
	json_object_set_new(doc, "jwtGrant", json_pack("{s:[s]}", "allowedAlgorithms", "RS256"));
	fx_idp(f, f->super_id, doc);
	snprintf(payload, sizeof payload,
		 "{\"iss\":\"%s\",\"sub\":\"a\",\"aud\":\"%s\",\"exp\":%d}", FX_ISS, FX_ALIAS,
		 NOW + 60);

	check(f, fx_raw(f, "{\"alg\":\"none\"}", payload, "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "none");
	check(f, fx_raw(f, "{\"alg\":\"HS256\"}", payload, "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "HS256");
	check(f, fx_raw(f, "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", payload, "c2ln"),
	      &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "crit");
	check(f, fx_raw(f, "{\"alg\":\"RS256\",\"jku\":\"https://evil/jwks\"}", payload, "c2ln"),
	      &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "jku");
	check(f, fx_raw(f, "{\"alg\":\"XX999\"}", payload, "c2ln"), &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "XX999");
	/* PS256 is a real algorithm but not in this IdP's list. */
	assert_int_equal(jose_key_generate(JOSE_ALG_PS256, &ps, &e), ST_OK);
	check(f, fx_sign(f, ps, JOSE_ALG_PS256, NULL, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT,
		    "alg PS256 is not allowed by identity provider 'jwtIDP' (allowed: RS256)");
	/* Order: a disallowed alg is reported before a missing claim. */
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_del(cl, "sub");
		check(f, fx_sign(f, ps, JOSE_ALG_PS256, NULL, cl), &o);
		expect_fail(&o, JWT_CHECK_HEADER, OAUTH_INVALID_GRANT, "PS256");
	}
	jose_key_free(ps);
	assert_int_equal(f->calls[FX_REPLAY], 0);
}

static void test_step3_claims(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	static const char *const required[] = {"iss", "sub", "aud", "exp"};

	std_idp(f);
	for (size_t i = 0; i < 4; i++) {
		json_t *cl = fx_claims(f, NOW);
		char want[64];
		json_object_del(cl, required[i]);
		snprintf(want, sizeof want, "claim '%s' is missing", required[i]);
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT, want);
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "exp", json_string("1700000300"));
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'exp' must be a number, got string");
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "aud", json_integer(5));
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT, "claim 'aud'");
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "iss", json_true());
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'iss' must be a string, got boolean");
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "sub", json_pack("{}"));
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'sub' must be a string, got object");
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "nbf", json_string("soon"));
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'nbf' must be a number");
	}
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "jti", json_integer(7));
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'jti' must be a string");
	}
	/* require_jti / require_iat from the server config. */
	fx_cfg(f)->oauth.jwt.require_jti = true;
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_del(cl, "jti");
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
			    "claim 'jti' is missing (required by the server's require_jti)");
	}
	fx_cfg(f)->oauth.jwt.require_jti = false;
	fx_cfg(f)->oauth.jwt.require_iat = true;
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_del(cl, "iat");
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT, "claim 'iat' is missing");
	}
	fx_cfg(f)->oauth.jwt.require_iat = false;
	/* Order: a missing claim before a bad signature. */
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_del(cl, "exp");
		check(f, fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, cl), &o);
		expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT, "claim 'exp' is missing");
	}
	/* Without jti and without requirement: fine, not replay-protected. */
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_del(cl, "jti");
		check(f, good(f, cl), &o);
		assert_true(fx_has(o.r.checks[JWT_CHECK_REPLAY].detail, "no jti"));
		expect_pass(&o);
	}
	assert_int_equal(f->calls[FX_REPLAY], 0);
}

static void test_step3_require_from_idp(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc = fx_idp_doc(f, "jwtIDP"), *cl;

	json_object_set_new(doc, "jwtGrant", json_pack("{s:b}", "requireJti", 1));
	fx_idp(f, f->super_id, doc);
	cl = fx_claims(f, NOW);
	json_object_del(cl, "jti");
	check(f, good(f, cl), &o);
	expect_fail(&o, JWT_CHECK_CLAIMS, OAUTH_INVALID_GRANT,
		    "required by the identity provider's requireJti");
}

static void test_step4_issuer(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc, *cl;
	const struct app_conf *app;
	char *id;

	/* Unknown issuer. */
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT,
		    "unknown issuer: no identity provider in tenant 'carbon.super' has "
		    "idpIssuerName or name 'https://idp.example'");
	/* Known by name only (no idpIssuerName). */
	doc = fx_idp_doc(f, "by-name");
	json_object_del(doc, "idpIssuerName");
	fx_idp(f, f->super_id, doc);
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "iss", json_string("by-name"));
	check(f, good(f, cl), &o);
	assert_true(fx_has(o.r.checks[JWT_CHECK_ISSUER].detail, "matched by name"));
	expect_pass(&o);
	/* Disabled. */
	doc = fx_idp_doc(f, "jwtIDP");
	json_object_set_new(doc, "isEnabled", json_false());
	id = fx_idp(f, f->super_id, doc);
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT,
		    "identity provider 'jwtIDP' is disabled");
	/* Trust expired. */
	doc = fx_idp_doc(f, "jwtIDP");
	json_object_set_new(doc, "jwtGrant",
			    json_pack("{s:s}", "expiresAt", "2023-11-01T00:00:00Z"));
	fx_idp_update(f, f->super_id, id, doc);
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT,
		    "trust in identity provider 'jwtIDP' expired at 2023-11-01T00:00:00Z");
	/* Enabled again; an application that allows only another IdP. */
	fx_idp_update(f, f->super_id, id, fx_idp_doc(f, "jwtIDP"));
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER),
	       json_pack("{s:[s]}", "allowedIdentityProviders", "by-name"), FX_SECRET);
	app = get_app(f, f->super_id, FX_CLIENT);
	check_in(f, "carbon.super", f->super_id, app, good(f, fx_claims(f, NOW)), NULL, NOW, false,
		 &o);
	expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT,
		    "identity provider 'jwtIDP' is not in the allowedIdentityProviders of "
		    "application");
	/* The same IdP in another tenant is unknown here. */
	check_in(f, "acme.com", f->acme_id, NULL, good(f, fx_claims(f, NOW)), NULL, NOW, false, &o);
	expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, "in tenant 'acme.com'");
	assert_int_equal(f->calls[FX_REPLAY], 1); /* the one accepted assertion */
}

static void test_step5_signature(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *cl;

	std_idp(f);
	check(f, fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature");
	/* kid pointing to nothing in a JWKS. */
	check(f, fx_sign(f, f->idp_key, JOSE_ALG_RS256, "no-such-kid", fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "no-such-kid");
	/* ES256 from an EC key: the IdP only has an RSA key. */
	check(f, fx_sign(f, f->ec_key, JOSE_ALG_ES256, NULL, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature not verified");
	/* A forged signature on a good header and payload. */
	{
		const char *tok = good(f, fx_claims(f, NOW));
		char *forged = arena_strdup(&f->a, tok);
		char *last = strrchr(forged, '.') + 5;
		*last = *last == 'A' ? 'B' : 'A';
		check(f, forged, &o);
		expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature");
	}
	/* Order: a bad signature before a wrong audience and an expired exp. */
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "aud", json_string("https://wrong"));
	json_object_set_new(cl, "exp", json_integer(NOW - 1000));
	check(f, fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, cl), &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature");
	/* The right kid works. */
	check(f, fx_sign(f, f->idp_key, JOSE_ALG_RS256, f->idp_key->kid, fx_claims(f, NOW)), &o);
	expect_pass(&o);
	assert_int_equal(f->calls[FX_REPLAY], 1);
}

static void test_step5_certificates(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	char *good_pem = fx_cert_pem(f->idp_key, -3600, 86400);
	char *old_pem = fx_cert_pem(f->other_key, -7200, -3600);
	json_t *doc;
	int64_t now = (int64_t)time(NULL);

	doc = json_pack("{s:s, s:s, s:s, s:{s:[s,s]}}", "name", "certIDP", "idpIssuerName", FX_ISS,
			"alias", FX_ALIAS, "certificate", "certificates", old_pem, good_pem);
	fx_idp(f, f->super_id, doc);
	/* No kid: each certificate is tried. */
	check_in(f, "carbon.super", f->super_id, NULL, good(f, fx_claims(f, now)), NULL, now, false,
		 &o);
	assert_true(fx_has(o.r.checks[JWT_CHECK_SIGNATURE].detail, "certificate 'CN=test idp'"));
	expect_pass(&o);
	/* A kid matching nothing: certificates have none, so each is tried. */
	check_in(f, "carbon.super", f->super_id, NULL,
		 fx_sign(f, f->idp_key, JOSE_ALG_RS256, "whatever", fx_claims(f, now)), NULL, now,
		 false, &o);
	expect_pass(&o);
	/* Signed by the key of the expired certificate: refused while expiry is
	 * enforced, accepted when it is not. */
	check_in(f, "carbon.super", f->super_id, NULL,
		 fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, fx_claims(f, now)), NULL, now,
		 false, &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "certificates");
	fx_cfg(f)->oauth.jwks_endpoint.enforce_certificate_expiry_time_validity = false;
	check_in(f, "carbon.super", f->super_id, NULL,
		 fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, fx_claims(f, now)), NULL, now,
		 false, &o);
	expect_pass(&o);
	free(good_pem);
	free(old_pem);
}

static void test_step6_audience(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *cl, *doc;

	std_idp(f);
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "aud", json_string("https://wrong.example/token"));
	check(f, good(f, cl), &o);
	expect_fail(&o, JWT_CHECK_AUDIENCE, OAUTH_INVALID_GRANT,
		    "audience mismatch: expected 'https://localhost:9443/oauth2/token' (the "
		    "identity provider's alias), received 'https://wrong.example/token'");
	/* An array containing the alias. */
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "aud", json_pack("[s,s]", "https://x", FX_ALIAS));
	check(f, good(f, cl), &o);
	expect_pass(&o);
	/* Exact match only: a trailing slash is another audience. */
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "aud", json_string(FX_ALIAS "/"));
	check(f, good(f, cl), &o);
	expect_fail(&o, JWT_CHECK_AUDIENCE, OAUTH_INVALID_GRANT, "audience mismatch");
	/* Order: a wrong audience before an expired exp. */
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "aud", json_string("https://wrong"));
	json_object_set_new(cl, "exp", json_integer(NOW - 1000));
	check(f, good(f, cl), &o);
	expect_fail(&o, JWT_CHECK_AUDIENCE, OAUTH_INVALID_GRANT, "audience mismatch");

	/* No alias: the tenant's token endpoint URL; additionalAudiences too. */
	doc = json_pack("{s:s, s:s, s:{s:o}, s:{s:[s]}}", "name", "noalias", "idpIssuerName",
			"https://noalias", "certificate", "jwks", fx_jwks(f->idp_key), "jwtGrant",
			"additionalAudiences", "https://api.example");
	fx_idp(f, f->acme_id, doc);
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "iss", json_string("https://noalias"));
	json_object_set_new(cl, "aud", json_string(FX_BASE "/t/acme.com/oauth2/token"));
	check_in(f, "acme.com", f->acme_id, NULL, good(f, cl), NULL, NOW, false, &o);
	assert_true(fx_has(o.r.checks[JWT_CHECK_AUDIENCE].detail, "token endpoint URL"));
	expect_pass(&o);
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "iss", json_string("https://noalias"));
	json_object_set_new(cl, "aud", json_string("https://api.example"));
	check_in(f, "acme.com", f->acme_id, NULL, good(f, cl), NULL, NOW, false, &o);
	expect_pass(&o);
	/* The super tenant's URL is not acme's. */
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "iss", json_string("https://noalias"));
	check_in(f, "acme.com", f->acme_id, NULL, good(f, cl), NULL, NOW, false, &o);
	expect_fail(&o, JWT_CHECK_AUDIENCE, OAUTH_INVALID_GRANT,
		    "expected one of 'https://localhost:9443/t/acme.com/oauth2/token', "
		    "'https://api.example'");
}

/* One assertion with the given times (iat/nbf: INT64_MIN = absent). */
static void times(struct fx *f, int64_t exp, int64_t iat, int64_t nbf, struct outcome *o)
{
	json_t *cl = fx_claims(f, NOW);

	json_object_set_new(cl, "exp", json_integer(exp));
	if (iat == INT64_MIN)
		json_object_del(cl, "iat");
	else
		json_object_set_new(cl, "iat", json_integer(iat));
	if (nbf != INT64_MIN)
		json_object_set_new(cl, "nbf", json_integer(nbf));
	check(f, good(f, cl), o);
}

static void test_step7_times(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	const int64_t S = 60, P = 1800, NO = INT64_MIN;

	std_idp(f);
	/* exp: rejected when exp <= now - S. */
	times(f, NOW - S, NOW - 100, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT,
		    "assertion expired: exp is 60 s in the past (clock skew allowed: 60 s");
	times(f, NOW - S + 1, NOW - 100, NO, &o);
	expect_pass(&o);
	times(f, NOW - 3600, NOW - 3700, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, "exp is 3600 s in the past");
	/* nbf: rejected when nbf > now + S. */
	times(f, NOW + 300, NOW, NOW + S, &o);
	expect_pass(&o);
	times(f, NOW + 300, NOW, NOW + S + 1, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT,
		    "assertion not yet valid: nbf is 61 s in the future");
	/* iat in the future. */
	times(f, NOW + 300, NOW + S, NO, &o);
	expect_pass(&o);
	times(f, NOW + 300, NOW + S + 1, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, "iat is 61 s ahead");
	/* iat age: rejected when now - iat > period + S. */
	times(f, NOW + 300, NOW - P - S, NO, &o);
	expect_pass(&o);
	times(f, NOW + 300, NOW - P - S - 1, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT,
		    "assertion too old: iat is 1861 s ago, the limit is 1800 s");
	fx_cfg(f)->oauth.jwt.enable_iat_validation = false;
	times(f, NOW + 300, NOW - 100000, NO, &o); /* exp - iat over the default 24 h */
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT,
		    "exp - iat is 100300 s, the maximum is 86400 s (max_assertion_lifetime)");
	fx_cfg(f)->oauth.jwt.max_assertion_lifetime = 0; /* unlimited, explicitly */
	times(f, NOW + 300, NOW - 100000, NO, &o);
	expect_pass(&o);
	fx_cfg(f)->oauth.jwt.enable_iat_validation = true;
	/* Max lifetime from the config: exp - (iat or now). */
	fx_cfg(f)->oauth.jwt.max_assertion_lifetime = 600;
	times(f, NOW + 600, NOW, NO, &o);
	expect_pass(&o);
	times(f, NOW + 601, NOW, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT,
		    "assertion lifetime too long: exp - iat is 601 s, the maximum is 600 s");
	times(f, NOW + 601, NO, NO, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, "exp - now is 601 s");
	fx_cfg(f)->oauth.jwt.max_assertion_lifetime = 0;
	times(f, NOW + 10 * 365 * 86400LL, NOW, NO, &o);
	expect_pass(&o);
	assert_int_equal(f->calls[FX_REPLAY], 7); /* once per accepted assertion */
}

static void test_step7_idp_skew_and_lifetime(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc = fx_idp_doc(f, "jwtIDP");

	json_object_set_new(
	    doc, "jwtGrant",
	    json_pack("{s:i, s:i}", "clockSkewSeconds", 5, "maxAssertionLifetimeSeconds", 120));
	fx_idp(f, f->super_id, doc);
	times(f, NOW - 5, NOW - 10, INT64_MIN, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, "clock skew allowed: 5 s");
	times(f, NOW - 4, NOW - 10, INT64_MIN, &o);
	assert_int_equal(o.r.skew, 5);
	expect_pass(&o);
	times(f, NOW + 121, NOW, INT64_MIN, &o);
	expect_fail(&o, JWT_CHECK_TIMES, OAUTH_INVALID_GRANT, "maxAssertionLifetimeSeconds");
}

static void test_step8_subject_scope(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc = fx_idp_doc(f, "jwtIDP"), *cl;
	const struct app_conf *app;

	json_object_set_new(doc, "jwtGrant",
			    json_pack("{s:[s,s], s:[s,s,s]}", "allowedSubjects", "alice", "bob",
				      "allowedScopes", "read", "write", "admin"));
	fx_idp(f, f->super_id, doc);
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER),
	       json_pack("{s:[s,s]}", "allowedScopes", "read", "write"), FX_SECRET);
	app = get_app(f, f->super_id, FX_CLIENT);

	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "sub", json_string("mallory"));
	check(f, good(f, cl), &o);
	expect_fail(
	    &o, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_GRANT,
	    "subject 'mallory' is not in the allowedSubjects of identity provider 'jwtIDP'");
	check_in(f, "carbon.super", f->super_id, app, good(f, fx_claims(f, NOW)),
		 "read  read write", NOW, false, &o);
	assert_string_equal(o.r.scope, "read write");
	expect_pass(&o);
	check_in(f, "carbon.super", f->super_id, app, good(f, fx_claims(f, NOW)), "read delete",
		 NOW, false, &o);
	expect_fail(&o, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_SCOPE,
		    "scope 'delete' is not allowed by identity provider 'jwtIDP'");
	check_in(f, "carbon.super", f->super_id, app, good(f, fx_claims(f, NOW)), "admin", NOW,
		 false, &o);
	expect_fail(&o, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_SCOPE,
		    "scope 'admin' is not allowed by application");
	check_in(f, "carbon.super", f->super_id, app, good(f, fx_claims(f, NOW)), "re\"ad", NOW,
		 false, &o);
	expect_fail(&o, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_SCOPE, "not allowed");
}

static void test_step9_replay(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	const struct app_conf *app;
	json_t *cl = fx_claims(f, NOW);
	const char *tok, *bad_scope_tok;
	char *id;

	std_idp(f);
	fx_app(f, f->super_id, FX_CLIENT, json_pack("[s]", GRANT_TYPE_JWT_BEARER),
	       json_pack("{s:[s]}", "allowedScopes", "read"), FX_SECRET);
	app = get_app(f, f->super_id, FX_CLIENT);
	json_object_set_new(cl, "jti", json_string("one-time"));
	tok = good(f, json_deep_copy(cl));
	bad_scope_tok = tok;

	/* A rejected assertion (scope, the last check before replay) records
	 * nothing ... */
	check_in(f, "carbon.super", f->super_id, app, bad_scope_tok, "write", NOW, false, &o);
	expect_fail(&o, JWT_CHECK_SUBJECT_SCOPE, OAUTH_INVALID_SCOPE, "write");
	assert_int_equal(f->calls[FX_REPLAY], 0);
	/* ... neither does a dry run, which says what would happen ... */
	check_in(f, "carbon.super", f->super_id, app, tok, NULL, NOW, true, &o);
	assert_true(fx_has(o.r.checks[JWT_CHECK_REPLAY].detail, "would be recorded"));
	assert_false(o.committed);
	expect_pass(&o);
	assert_int_equal(f->calls[FX_REPLAY], 0);
	/* ... so the same assertion still works once, and only once. */
	check_in(f, "carbon.super", f->super_id, app, tok, "read", NOW, false, &o);
	assert_true(o.committed);
	expect_pass(&o);
	check_in(f, "carbon.super", f->super_id, app, tok, "read", NOW + 1, false, &o);
	expect_fail(&o, JWT_CHECK_REPLAY, OAUTH_INVALID_GRANT,
		    "assertion replayed (jti already used)");
	/* The dry run now sees the used jti, and writes nothing. */
	fx_reset_calls(f);
	check_in(f, "carbon.super", f->super_id, app, tok, "read", NOW + 2, true, &o);
	expect_fail(&o, JWT_CHECK_REPLAY, OAUTH_INVALID_GRANT, "dry run: nothing was recorded");
	assert_int_equal(f->calls[FX_REPLAY], 0);
	assert_int_equal(f->calls[FX_REPLAY_SEEN], 1);
	/* Another token with the same jti, too. */
	json_object_set_new(cl, "sub", json_string("bob"));
	check(f, good(f, cl), &o);
	expect_fail(&o, JWT_CHECK_REPLAY, OAUTH_INVALID_GRANT, "assertion replayed");
	/* The same (iss, jti) in another tenant is another triple. */
	id = fx_idp(f, f->acme_id, fx_idp_doc(f, "jwtIDP"));
	(void)id;
	cl = fx_claims(f, NOW);
	json_object_set_new(cl, "jti", json_string("one-time"));
	json_object_set_new(cl, "aud", json_string(FX_ALIAS));
	check_in(f, "acme.com", f->acme_id, NULL, good(f, cl), NULL, NOW, false, &o);
	expect_pass(&o);
	/* With the cache off nothing is recorded. */
	fx_cfg(f)->oauth.jwt.enable_jwt_cache = false;
	fx_reset_calls(f);
	check(f, tok, &o);
	assert_true(fx_has(o.r.checks[JWT_CHECK_REPLAY].detail, "disabled"));
	expect_pass(&o);
	assert_int_equal(f->calls[FX_REPLAY], 0);
}

/* The hot path: with the IdP cached, a request reaches the store only in
 * its one grant transaction (here: the jti record). */
static void test_hot_path_store_calls(void **state)
{
	struct fx *f = *state;
	struct outcome o;

	std_idp(f);
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_pass(&o);
	fx_reset_calls(f);
	for (int i = 0; i < 5; i++) {
		check(f, good(f, fx_claims(f, NOW)), &o);
		expect_pass(&o);
	}
	assert_int_equal(f->calls[FX_GRANT_COMMIT], 5);
	assert_int_equal(f->calls[FX_REPLAY], 5);
	assert_int_equal(fx_total_calls(f), 10); /* 5 commits carrying 5 records */
	/* Unknown issuers are cached as such, too. */
	{
		json_t *cl = fx_claims(f, NOW);
		json_object_set_new(cl, "iss", json_string("https://nobody"));
		check(f, good(f, json_deep_copy(cl)), &o);
		expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, "unknown issuer");
		fx_reset_calls(f);
		check(f, good(f, cl), &o);
		expect_fail(&o, JWT_CHECK_ISSUER, OAUTH_INVALID_GRANT, "unknown issuer");
		assert_int_equal(fx_total_calls(f), 0);
	}
}

/* A change through the admin API (directory_idp_changed) is seen at once. */
static void test_directory_invalidation(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	char *id;
	json_t *doc;

	id = fx_idp(f, f->super_id, fx_idp_doc(f, "jwtIDP"));
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_pass(&o);
	/* Rotate the IdP's key. */
	doc = json_pack("{s:s, s:s, s:s, s:{s:o}}", "name", "jwtIDP", "idpIssuerName", FX_ISS,
			"alias", FX_ALIAS, "certificate", "jwks", fx_jwks(f->other_key));
	fx_idp_update(f, f->super_id, id, doc);
	check(f, good(f, fx_claims(f, NOW)), &o);
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature");
	check(f, fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, fx_claims(f, NOW)), &o);
	expect_pass(&o);
	/* Lookups by name. */
	{
		struct idp_conf *idp = NULL;
		struct err e = {0};
		assert_int_equal(directory_idp_by_name(&f->c, f->super_id, "jwtIDP", &idp, &e),
				 ST_OK);
		assert_string_equal(idp->id, id);
		assert_string_equal(idp->tenant_id, f->super_id);
		idp_conf_free(idp);
		assert_int_equal(directory_idp_by_name(&f->c, f->acme_id, "jwtIDP", &idp, &e),
				 ST_NOT_FOUND);
		assert_null(idp);
	}
}

/* Many IdPs and applications: the cache stays bounded and correct. */
static void test_directory_many(void **state)
{
	struct fx *f = *state;
	char name[32], iss[64];
	struct idp_conf *idp;
	struct err e = {0};

	for (int i = 0; i < 40; i++) {
		json_t *doc = fx_idp_doc(f, "x");
		snprintf(name, sizeof name, "idp-%d", i);
		snprintf(iss, sizeof iss, "https://idp-%d.example", i);
		json_object_set_new(doc, "name", json_string(name));
		json_object_set_new(doc, "idpIssuerName", json_string(iss));
		fx_idp(f, f->super_id, doc);
	}
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 40; i++) {
			snprintf(name, sizeof name, "idp-%d", i);
			snprintf(iss, sizeof iss, "https://idp-%d.example", i);
			assert_int_equal(directory_idp_by_issuer(&f->c, f->super_id, iss, &idp, &e),
					 ST_OK);
			assert_string_equal(idp->name, name);
			idp_conf_free(idp);
		}
	}
	/* 2000 distinct unknown issuers: far more than the cache holds. */
	for (int i = 0; i < 2000; i++) {
		snprintf(iss, sizeof iss, "https://unknown-%d", i);
		assert_int_equal(directory_idp_by_issuer(&f->c, f->super_id, iss, &idp, &e),
				 ST_NOT_FOUND);
	}
	assert_int_equal(
	    directory_idp_by_issuer(&f->c, f->super_id, "https://idp-7.example", &idp, &e), ST_OK);
	idp_conf_free(idp);
}

/* Two IdPs claim the same issuer: the enabled one wins. */
static void test_directory_prefers_enabled(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	json_t *doc = fx_idp_doc(f, "old");

	json_object_set_new(doc, "isEnabled", json_false());
	fx_idp(f, f->super_id, doc);
	fx_idp(f, f->super_id, fx_idp_doc(f, "new"));
	check(f, good(f, fx_claims(f, NOW)), &o);
	assert_string_equal(o.r.idp->name, "new");
	expect_pass(&o);
}

static void test_descriptions_never_echo_secrets(void **state)
{
	struct fx *f = *state;
	struct outcome o;
	const char *tok;
	const char *sig;

	std_idp(f);
	tok = fx_sign(f, f->other_key, JOSE_ALG_RS256, NULL, fx_claims(f, NOW));
	sig = strrchr(tok, '.') + 1;
	check(f, tok, &o);
	assert_null(strstr(o.f.e.msg, sig));
	assert_null(strstr(o.f.e.msg, tok));
	for (int i = 0; i < JWT_NCHECKS; i++)
		if (o.r.checks[i].detail != NULL)
			assert_null(strstr(o.r.checks[i].detail, sig));
	expect_fail(&o, JWT_CHECK_SIGNATURE, OAUTH_INVALID_GRANT, "signature");
}

/* Without `trace` (the token endpoint) the passed checks have no detail,
 * and everything else is as with it: states, the failed check, its error
 * and its detail. */
static void test_trace_only_when_asked(void **state)
{
	struct fx *f = *state;
	json_t *cl[5];
	const char *scopes[5] = {NULL, NULL, NULL, NULL, "openid"};

	std_idp(f);
	cl[0] = fx_claims(f, NOW);
	cl[1] = fx_claims(f, NOW);
	json_object_set_new(cl[1], "aud", json_string("https://wrong"));
	cl[2] = fx_claims(f, NOW);
	json_object_set_new(cl[2], "exp", json_integer(NOW - 1000));
	cl[3] = fx_claims(f, NOW);
	json_object_set_new(cl[3], "iss", json_string("https://nobody"));
	cl[4] = fx_claims(f, NOW);
	for (int k = 0; k < 5; k++) {
		const char *tok = good(f, cl[k]);
		struct outcome o[2];
		for (int t = 0; t < 2; t++) {
			struct jwt_grant_in in = {0};
			memset(&o[t], 0, sizeof o[t]);
			in.tenant_id = f->super_id;
			in.tenant = "carbon.super";
			in.has_assertion = true;
			in.assertion = sv_from(tok);
			in.scope = scopes[k];
			in.now = NOW;
			in.dry_run = true;
			in.trace = t == 1;
			o[t].st = jwt_grant_check(&f->c, &f->a, &in, &o[t].r, &o[t].f);
		}
		assert_int_equal(o[0].st, o[1].st);
		assert_int_equal(o[0].r.failed, o[1].r.failed);
		assert_int_equal(o[0].f.error, o[1].f.error);
		assert_string_equal(o[0].f.e.msg, o[1].f.e.msg);
		for (int i = 0; i < JWT_NCHECKS; i++) {
			assert_int_equal(o[0].r.checks[i].state, o[1].r.checks[i].state);
			if (o[1].r.checks[i].state == JWT_STATE_PASS) {
				assert_null(o[0].r.checks[i].detail);
				assert_non_null(o[1].r.checks[i].detail);
			} else if (o[1].r.checks[i].state == JWT_STATE_FAIL) {
				assert_string_equal(o[0].r.checks[i].detail, o[0].f.e.msg);
				assert_string_equal(o[1].r.checks[i].detail, o[1].f.e.msg);
			}
		}
		jwt_grant_result_free(&o[0].r);
		jwt_grant_result_free(&o[1].r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_happy_path, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step1_assertion, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step2_header, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step3_claims, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step3_require_from_idp, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step4_issuer, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step5_signature, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step5_certificates, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step6_audience, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step7_times, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step7_idp_skew_and_lifetime, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step8_subject_scope, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step9_replay, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_hot_path_store_calls, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_directory_invalidation, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_directory_many, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_directory_prefers_enabled, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_descriptions_never_echo_secrets, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_trace_only_when_asked, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
