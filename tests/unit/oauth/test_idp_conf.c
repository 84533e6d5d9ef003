/* test_idp_conf.c - the identity provider document: every validation rule
 * (with the error naming the path), defaults, the canonical stored form and
 * its round trip, certificates and JWKS made with OpenSSL here, jwksUri
 * rules against the config, algorithm names, and expiresAt parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/b64.h"
#include "lib/crypto.h"
#include "lib/timefmt.h"
#include "oauth/idp_conf.h"

#define NOT_BEFORE 1700000000
#define NOT_AFTER  2000000000

static struct config *cfg;       /* built-in defaults */
static struct config *cfg_http;  /* allow_insecure_http = true */
static struct config *cfg_hosts; /* allowed_hosts = ["idp.example"] */

/* Keys and certificates shared by the tests (made once in setup). */
static EVP_PKEY *rsa2048, *rsa1024, *ec256, *ed25519;
static char *pem_rsa, *pem_rsa_b, *pem_rsa1024, *pem_ec, *pem_ed, *pem_priv, *pem_pub;
static unsigned char der_rsa_sha256[SHA256_LEN];
static char *b64_pem_rsa, *b64_der_rsa;

static const char BASE[] = "{\"name\":\"idp\",\"certificate\":{\"jwksUri\":"
			   "\"https://idp.example/jwks\"}}";

/* ---- fixtures ------------------------------------------------------------------------------ */

static X509 *make_cert(EVP_PKEY *pk, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	bool eddsa = EVP_PKEY_is_a(pk, "ED25519");

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
						    (const unsigned char *)"Test IdP", -1, -1, 0),
			 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NOT_BEFORE));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NOT_AFTER));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_true(X509_sign(x, pk, eddsa ? NULL : EVP_sha256()) > 0);
	return x;
}

static char *bio_text(BIO *b)
{
	char *p, *s;
	long n = BIO_get_mem_data(b, &p);

	assert_true(n > 0);
	s = strndup(p, (size_t)n);
	assert_non_null(s);
	BIO_free(b);
	return s;
}

static char *cert_pem(EVP_PKEY *pk, const char *cn, unsigned char *sha /* may be NULL */,
		      char **b64der)
{
	X509 *x = make_cert(pk, cn);
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	int n;

	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	if (sha != NULL)
		assert_int_equal(sha256(der, (size_t)n, sha), ST_OK);
	if (b64der != NULL) {
		*b64der = malloc(4 * (((size_t)n + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)*b64der, der, n);
	}
	OPENSSL_free(der);
	X509_free(x);
	return bio_text(b);
}

static char *b64_of(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static struct config *load_cfg(const char *toml)
{
	char *envp[] = {NULL};
	struct config *c = NULL;
	struct err e = {0};

	if (config_load_buffer("test.toml", toml, strlen(toml), envp, &c, &e) != ST_OK)
		fprintf(stderr, "config: %s\n", e.msg);
	return c;
}

static int setup(void **state)
{
	BIO *b;

	(void)state;
	cfg = load_cfg("");
	cfg_http = load_cfg("[oauth.jwks_endpoint]\nallow_insecure_http = true\n");
	cfg_hosts = load_cfg("[oauth.jwks_endpoint]\nallowed_hosts = [\"idp.example\"]\n");
	if (cfg == NULL || cfg_http == NULL || cfg_hosts == NULL)
		return -1;
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!rsa2048 || !rsa1024 || !ec256 || !ed25519)
		return -1;
	pem_rsa = cert_pem(rsa2048, "idp.example", der_rsa_sha256, &b64_der_rsa);
	pem_rsa_b = cert_pem(rsa2048, "other.example", NULL, NULL);
	pem_rsa1024 = cert_pem(rsa1024, "weak.example", NULL, NULL);
	pem_ec = cert_pem(ec256, "ec.example", NULL, NULL);
	pem_ed = cert_pem(ed25519, "ed.example", NULL, NULL);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, ec256, NULL, NULL, 0, NULL, NULL);
	pem_priv = bio_text(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, ec256);
	pem_pub = bio_text(b);
	b64_pem_rsa = b64_of(pem_rsa);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	config_free(cfg_http);
	config_free(cfg_hosts);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ed25519);
	free(pem_rsa);
	free(pem_rsa_b);
	free(pem_rsa1024);
	free(pem_ec);
	free(pem_ed);
	free(pem_priv);
	free(pem_pub);
	free(b64_pem_rsa);
	free(b64_der_rsa);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", je.text, text);
	return j;
}

/* BASE (or `base`) with the member at dotted `path` set to `value`
 * (stolen), or removed when `value` is NULL. */
static json_t *with(const char *base, const char *path, json_t *value)
{
	json_t *doc = load(base ? base : BASE), *o = doc;
	char key[128];
	const char *p = path, *dot;

	while ((dot = strchr(p, '.')) != NULL) {
		json_t *next;
		snprintf(key, sizeof key, "%.*s", (int)(dot - p), p);
		next = json_object_get(o, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(o, key, next);
		}
		o = next;
		p = dot + 1;
	}
	if (value == NULL)
		json_object_del(o, p);
	else
		json_object_set_new(o, p, value);
	return doc;
}

static json_t *with_json(const char *path, const char *value)
{
	return with(NULL, path, value ? load(value) : NULL);
}

/* A document whose key source is the given certificate texts. */
static json_t *with_certs(const char *const *texts, size_t n)
{
	json_t *arr = json_array(), *cert = json_object();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(texts[i]));
	json_object_set_new(cert, "certificates", arr);
	return with(NULL, "certificate", cert);
}

/* Parses `doc` (stolen) with `c`; returns the conf on success. */
static struct idp_conf *parse_ok(json_t *doc, const struct config *c)
{
	struct idp_conf *conf = NULL;
	struct err e = {0};
	status st = idp_conf_parse(doc, c, &conf, &e);

	if (st != ST_OK)
		fail_msg("expected success, got %s: %s", status_name(st), e.msg);
	json_decref(doc);
	return conf;
}

/* Parses `doc` (stolen), expecting `want` and a message that starts with
 * `prefix` and contains `also` (may be NULL). */
static void parse_fails(json_t *doc, const struct config *c, status want, const char *prefix,
			const char *also)
{
	struct idp_conf sentinel, *conf = &sentinel; /* must be reset to NULL */
	struct err e = {0};
	status st = idp_conf_parse(doc, c, &conf, &e);

	json_decref(doc);
	if (st == ST_OK)
		idp_conf_free(conf);
	if (st != want)
		fail_msg("expected %s '%s...', got %s: %s", status_name(want), prefix,
			 status_name(st), e.msg);
	assert_null(conf);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", e.msg, prefix);
	if (also != NULL && strstr(e.msg, also) == NULL)
		fail_msg("message '%s' does not mention '%s'", e.msg, also);
}

static char *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static char *b64url_of(const unsigned char *p, size_t n)
{
	char *out = malloc(b64url_encoded_len(n) + 1);
	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

/* Public JWK of an EC P-256 or Ed25519 key. */
static json_t *jwk_of(EVP_PKEY *pk, const char *kid)
{
	unsigned char pt[200];
	size_t n = 0;
	char *x, *y;
	json_t *j;

	if (EVP_PKEY_is_a(pk, "ED25519")) {
		n = sizeof pt;
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pt, &n), 1);
		x = b64url_of(pt, n);
		j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x, "kid",
			      kid);
		free(x);
		return j;
	}
	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n), 1);
	assert_int_equal(n, 65); /* 04 || X || Y */
	x = b64url_of(pt + 1, 32);
	y = b64url_of(pt + 33, 32);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y,
		      "kid", kid);
	free(x);
	free(y);
	return j;
}

/* ---- the document -------------------------------------------------------------------------- */

static void minimal_defaults(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(load(BASE), cfg);

	assert_string_equal(c->name, "idp");
	assert_string_equal(c->description, "");
	assert_true(c->enabled);
	assert_null(c->issuer);
	assert_null(c->alias);
	assert_null(c->id);
	assert_null(c->tenant_id);
	assert_int_equal(c->key_source, IDP_KEYS_JWKS_URI);
	assert_string_equal(c->jwks_uri, "https://idp.example/jwks");
	assert_null(c->keys);
	assert_int_equal(c->algs, JOSE_ALG_SET_ALL);
	assert_int_equal(c->additional_audiences.n, 0);
	assert_int_equal(c->allowed_subjects.n, 0);
	assert_int_equal(c->allowed_scopes.n, 0);
	assert_false(c->require_jti);
	assert_false(c->require_iat);
	assert_int_equal(c->max_assertion_lifetime, 0);
	assert_int_equal(c->clock_skew, -1);
	assert_int_equal(c->expires_at, 0);
	idp_conf_free(c);
}

static void canonical_form(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(load(BASE), cfg);
	json_t *doc = NULL, *want;
	struct err e = {0};

	assert_int_equal(idp_conf_to_json(c, &doc, &e), ST_OK);
	want = load("{\"name\":\"idp\",\"description\":\"\",\"isEnabled\":true,"
		    "\"idpIssuerName\":null,\"alias\":null,"
		    "\"certificate\":{\"jwksUri\":\"https://idp.example/jwks\"},"
		    "\"jwtGrant\":{\"allowedAlgorithms\":[\"RS256\",\"RS384\",\"RS512\",\"PS256\","
		    "\"PS384\",\"PS512\",\"ES256\",\"ES384\",\"ES512\",\"EdDSA\"],"
		    "\"additionalAudiences\":[],\"allowedSubjects\":[],\"allowedScopes\":[],"
		    "\"requireJti\":false,\"requireIat\":false,\"maxAssertionLifetimeSeconds\":0,"
		    "\"clockSkewSeconds\":null,\"expiresAt\":null}}");
	if (!json_equal(doc, want)) {
		char *got = json_dumps(doc, JSON_COMPACT);
		fail_msg("canonical form differs: %s", got);
	}
	/* Member order is the documented one. */
	const char *order[] = {"name",  "description", "isEnabled", "idpIssuerName",
			       "alias", "certificate", "jwtGrant"};
	size_t i = 0;
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) assert_string_equal(key, order[i++]);
	json_decref(want);
	json_decref(doc);
	idp_conf_free(c);
}

/* parse(to_json(parse(x))) == parse(x), and to_json is a fixed point. */
static void round_trip(void **state)
{
	(void)state;
	json_t *doc = load("{\"name\":\"full\",\"description\":\"line 1\\nline 2\","
			   "\"isEnabled\":false,\"idpIssuerName\":\"https://idp.example\","
			   "\"alias\":\"https://localhost:9443/oauth2/token\","
			   "\"jwtGrant\":{\"allowedAlgorithms\":[\"ES256\",\"RS256\",\"ES256\"],"
			   "\"additionalAudiences\":[\"aud1\",\"aud2\"],"
			   "\"allowedSubjects\":[\"alice\"],\"allowedScopes\":[\"read\",\"write\"],"
			   "\"requireJti\":true,\"requireIat\":true,"
			   "\"maxAssertionLifetimeSeconds\":3600,\"clockSkewSeconds\":30,"
			   "\"expiresAt\":\"2030-01-02T03:04:05Z\"}}");
	json_t *cert = json_object(), *arr = json_array(), *one = NULL, *two = NULL;
	struct idp_conf *c, *c2;
	struct err e = {0};

	json_array_append_new(arr, json_string(b64_pem_rsa));
	json_array_append_new(arr, json_string(pem_ec));
	json_object_set_new(cert, "certificates", arr);
	json_object_set_new(doc, "certificate", cert);
	c = parse_ok(doc, cfg);
	assert_false(c->enabled);
	assert_string_equal(c->issuer, "https://idp.example");
	assert_string_equal(c->alias, "https://localhost:9443/oauth2/token");
	assert_int_equal(c->algs, JOSE_ALG_BIT(JOSE_ALG_RS256) | JOSE_ALG_BIT(JOSE_ALG_ES256));
	assert_int_equal(c->additional_audiences.n, 2);
	assert_true(strlist_has(&c->additional_audiences, "aud2"));
	assert_false(strlist_has(&c->additional_audiences, "aud3"));
	assert_true(strlist_has(&c->allowed_subjects, "alice"));
	assert_true(strlist_has(&c->allowed_scopes, "write"));
	assert_true(c->require_jti);
	assert_true(c->require_iat);
	assert_int_equal(c->max_assertion_lifetime, 3600);
	assert_int_equal(c->clock_skew, 30);
	assert_int_equal(c->expires_at, 1893553445);
	assert_int_equal(c->key_source, IDP_KEYS_CERTS);
	assert_int_equal(c->keys->n, 2);
	/* base64 of a PEM is stored as the PEM itself */
	assert_int_equal(c->certificates.n, 2);
	assert_string_equal(c->certificates.v[0], pem_rsa);
	assert_string_equal(c->certificates.v[1], pem_ec);
	assert_memory_equal(c->keys->keys[0]->cert.sha256, der_rsa_sha256, SHA256_LEN);

	assert_int_equal(idp_conf_to_json(c, &one, &e), ST_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(one, "jwtGrant"), "expiresAt")),
	    "2030-01-02T03:04:05Z");
	/* allowedAlgorithms: a set, in RFC order, duplicates gone */
	json_t *algs = json_object_get(json_object_get(one, "jwtGrant"), "allowedAlgorithms");
	assert_int_equal(json_array_size(algs), 2);
	assert_string_equal(json_string_value(json_array_get(algs, 0)), "RS256");
	assert_string_equal(json_string_value(json_array_get(algs, 1)), "ES256");
	c2 = parse_ok(json_deep_copy(one), cfg);
	assert_int_equal(idp_conf_to_json(c2, &two, &e), ST_OK);
	assert_true(json_equal(one, two));
	json_decref(one);
	json_decref(two);
	idp_conf_free(c2);
	idp_conf_free(c);
}

static void refcount(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(load(BASE), cfg);

	idp_conf_ref(c);
	idp_conf_free(c);
	assert_string_equal(c->name, "idp"); /* still alive: one reference left */
	c->id = strdup("9b2f1c1e-0000-4000-8000-000000000000"); /* owner-set, freed with c */
	idp_conf_free(c);
	idp_conf_free(NULL);
}

static void not_an_object(void **state)
{
	(void)state;
	parse_fails(load("[1]"), cfg, ST_INVALID, "an identity provider must be a JSON object",
		    NULL);
	parse_fails(load("\"x\""), cfg, ST_INVALID, "an identity provider must be", NULL);
}

static void unknown_fields(void **state)
{
	(void)state;
	parse_fails(with_json("foo", "1"), cfg, ST_INVALID, "foo: unknown field", NULL);
	parse_fails(with_json("id", "\"x\""), cfg, ST_INVALID, "id: unknown field", NULL);
	parse_fails(with_json("certificate.certificateInfo", "[]"), cfg, ST_INVALID,
		    "certificate.certificateInfo: unknown field", NULL);
	parse_fails(with_json("jwtGrant.requireJTI", "true"), cfg, ST_INVALID,
		    "jwtGrant.requireJTI: unknown field", NULL);
	/* The echoed name is cut and cleaned. */
	char *long_key = repeat("k", 300);
	json_t *d = load(BASE);
	json_object_set_new(d, long_key, json_true());
	char *want = repeat("k", 64);
	parse_fails(d, cfg, ST_INVALID, want, "...: unknown field");
	free(want);
	free(long_key);
	d = load(BASE);
	json_object_set_new(d, "a\tb", json_true());
	parse_fails(d, cfg, ST_INVALID, "a?b: unknown field", NULL);
}

static void name_rules(void **state)
{
	(void)state;
	parse_fails(with_json("name", NULL), cfg, ST_INVALID, "name: required", NULL);
	parse_fails(with_json("name", "null"), cfg, ST_INVALID, "name: required", NULL);
	parse_fails(with_json("name", "\"\""), cfg, ST_INVALID, "name: must not be empty", NULL);
	parse_fails(with_json("name", "42"), cfg, ST_INVALID, "name: must be a string", NULL);
	parse_fails(with_json("name", "\"a\\tb\""), cfg, ST_INVALID,
		    "name: contains a control character", NULL);
	parse_fails(with_json("name", "\"a\\u007fb\""), cfg, ST_INVALID,
		    "name: contains a control character", NULL);
	parse_fails(with_json("name", "\"a\\u0085b\""), cfg, ST_INVALID,
		    "name: contains a control character", NULL);
	/* 255 characters, each two bytes: fine; 256: too long */
	char *s = repeat("\xc3\xa9", 255);
	idp_conf_free(parse_ok(with(NULL, "name", json_string(s)), cfg));
	free(s);
	s = repeat("a", 256);
	parse_fails(with(NULL, "name", json_string(s)), cfg, ST_INVALID,
		    "name: longer than 255 characters", NULL);
	free(s);
	/* Non-ASCII printable text is a fine name. */
	struct idp_conf *c = parse_ok(with_json("name", "\"Änderung 東京\""), cfg);
	assert_string_equal(c->name, "Änderung 東京");
	idp_conf_free(c);
}

static void description_rules(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(with_json("description", "\"two\\nlines\\tand tab\""), cfg);
	assert_string_equal(c->description, "two\nlines\tand tab");
	idp_conf_free(c);
	c = parse_ok(with_json("description", "null"), cfg);
	assert_string_equal(c->description, "");
	idp_conf_free(c);
	parse_fails(with_json("description", "\"bell\\u0007\""), cfg, ST_INVALID,
		    "description: contains a control character", NULL);
	parse_fails(with_json("description", "[]"), cfg, ST_INVALID,
		    "description: must be a string", NULL);
	char *s = repeat("d", 1024);
	idp_conf_free(parse_ok(with(NULL, "description", json_string(s)), cfg));
	free(s);
	s = repeat("d", 1025);
	parse_fails(with(NULL, "description", json_string(s)), cfg, ST_INVALID,
		    "description: longer than 1024 characters", NULL);
	free(s);
}

static void enabled_issuer_alias(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(with_json("isEnabled", "false"), cfg);
	assert_false(c->enabled);
	idp_conf_free(c);
	parse_fails(with_json("isEnabled", "\"false\""), cfg, ST_INVALID,
		    "isEnabled: must be true or false", NULL);
	parse_fails(with_json("isEnabled", "0"), cfg, ST_INVALID,
		    "isEnabled: must be true or false", NULL);

	/* "" means unset, like null and absent. */
	c = parse_ok(with_json("alias", "\"\""), cfg);
	assert_null(c->alias);
	idp_conf_free(c);
	c = parse_ok(with_json("idpIssuerName", "\"\""), cfg);
	assert_null(c->issuer);
	idp_conf_free(c);
	parse_fails(with_json("alias", "1"), cfg, ST_INVALID, "alias: must be a string", NULL);
	parse_fails(with_json("idpIssuerName", "\"x\\ny\""), cfg, ST_INVALID,
		    "idpIssuerName: contains a control character", NULL);
	char *s = repeat("i", 2048);
	c = parse_ok(with(NULL, "idpIssuerName", json_string(s)), cfg);
	assert_string_equal(c->issuer, s);
	idp_conf_free(c);
	free(s);
	s = repeat("i", 2049);
	parse_fails(with(NULL, "alias", json_string(s)), cfg, ST_INVALID,
		    "alias: longer than 2048 characters", NULL);
	free(s);
}

/* ---- key sources --------------------------------------------------------------------------- */

static void certificate_shape(void **state)
{
	(void)state;
	/* No key source yet (as WSO2 allows): valid, and it verifies nothing. */
	{
		const char *none[] = {NULL, "null", "{}"};
		for (size_t i = 0; i < 3; i++) {
			struct idp_conf *c = parse_ok(with_json("certificate", none[i]), cfg);
			json_t *out = NULL;
			struct err e = {0};
			assert_int_equal(c->key_source, IDP_KEYS_NONE);
			assert_null(c->keys);
			assert_string_equal(idp_key_source_name(c->key_source), "none");
			assert_int_equal(idp_conf_to_json(c, &out, &e), ST_OK);
			assert_int_equal(json_object_size(json_object_get(out, "certificate")), 0);
			json_decref(out);
			idp_conf_free(c);
		}
	}
	parse_fails(with_json("certificate", "\"https://idp.example/jwks\""), cfg, ST_INVALID,
		    "certificate: must be an object", NULL);
	parse_fails(with_json("certificate.jwks", "{\"keys\":[]}"), cfg, ST_INVALID,
		    "certificate: jwks cannot be combined", NULL);
	/* A null member counts as absent. */
	json_t *d = with_certs((const char *const[]){pem_rsa}, 1);
	json_object_set_new(json_object_get(d, "certificate"), "jwksUri", json_null());
	json_object_set_new(json_object_get(d, "certificate"), "jwks", json_null());
	struct idp_conf *c = parse_ok(d, cfg);
	assert_int_equal(c->key_source, IDP_KEYS_CERTS);
	idp_conf_free(c);
}

/* WSO2's both: the jwksUri is the key source, the certificates are
 * checked and kept (and come back out), never used. */
static void jwks_uri_with_certificates(void **state)
{
	struct err e = {0};
	json_t *out = NULL, *d;
	struct idp_conf *c, *again;

	(void)state;
	d = with_certs((const char *const[]){pem_rsa}, 1);
	json_object_set_new(json_object_get(d, "certificate"), "jwksUri",
			    json_string("https://idp.example/jwks"));
	c = parse_ok(d, cfg);
	assert_int_equal(c->key_source, IDP_KEYS_JWKS_URI);
	assert_string_equal(c->jwks_uri, "https://idp.example/jwks");
	assert_int_equal(c->certificates.n, 1);
	assert_int_equal(idp_conf_to_json(c, &out, &e), ST_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "certificate"), "jwksUri")),
	    "https://idp.example/jwks");
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(out, "certificate"), "certificates")),
	    1);
	again = parse_ok(out, cfg); /* the canonical form parses to the same */
	assert_int_equal(again->key_source, IDP_KEYS_JWKS_URI);
	assert_int_equal(again->certificates.n, 1);
	idp_conf_free(again);
	idp_conf_free(c);
	/* Checked all the same. */
	d = with_certs((const char *const[]){"garbage"}, 1);
	json_object_set_new(json_object_get(d, "certificate"), "jwksUri",
			    json_string("https://idp.example/jwks"));
	parse_fails(d, cfg, ST_INVALID, "certificate.certificates[0]: ", NULL);
}

static void jwks_uri_rules(void **state)
{
	(void)state;
	parse_fails(with_json("certificate.jwksUri", "\"http://idp.example/jwks\""), cfg,
		    ST_INVALID, "certificate.jwksUri: ", NULL);
	idp_conf_free(
	    parse_ok(with_json("certificate.jwksUri", "\"http://idp.example/jwks\""), cfg_http));
	/* allowed_hosts */
	idp_conf_free(parse_ok(load(BASE), cfg_hosts));
	parse_fails(with_json("certificate.jwksUri", "\"https://evil.example/jwks\""), cfg_hosts,
		    ST_INVALID, "certificate.jwksUri: ", NULL);
	parse_fails(with_json("certificate.jwksUri", "\"not a uri\""), cfg, ST_INVALID,
		    "certificate.jwksUri: ", NULL);
	parse_fails(with_json("certificate.jwksUri", "\"\""), cfg, ST_INVALID,
		    "certificate.jwksUri: must not be empty", NULL);
	parse_fails(with_json("certificate.jwksUri", "7"), cfg, ST_INVALID,
		    "certificate.jwksUri: must be a string", NULL);
	parse_fails(with_json("certificate.jwksUri", "\"https://idp.example/\\n\""), cfg,
		    ST_INVALID, "certificate.jwksUri: contains a control character", NULL);
}

static void certificates_accepted(void **state)
{
	(void)state;
	struct idp_conf *c;

	/* PEM, base64 of PEM, base64 of DER, EC and Ed25519 certificates */
	c = parse_ok(with_certs((const char *const[]){pem_rsa}, 1), cfg);
	assert_int_equal(c->keys->n, 1);
	assert_true(c->keys->keys[0]->has_cert);
	assert_int_equal(c->keys->keys[0]->kty, JOSE_KTY_RSA);
	assert_string_equal(c->certificates.v[0], pem_rsa);
	idp_conf_free(c);

	c = parse_ok(with_certs((const char *const[]){b64_pem_rsa}, 1), cfg);
	assert_string_equal(c->certificates.v[0], pem_rsa);
	assert_memory_equal(c->keys->keys[0]->cert.sha256, der_rsa_sha256, SHA256_LEN);
	idp_conf_free(c);

	c = parse_ok(with_certs((const char *const[]){b64_der_rsa}, 1), cfg);
	assert_string_equal(c->certificates.v[0], b64_der_rsa); /* kept as uploaded */
	assert_memory_equal(c->keys->keys[0]->cert.sha256, der_rsa_sha256, SHA256_LEN);
	idp_conf_free(c);

	/* surrounding whitespace is dropped, a PEM ends with one line break */
	char padded[8192];
	snprintf(padded, sizeof padded, "\n\n  %s  \n", pem_rsa);
	c = parse_ok(with_certs((const char *const[]){padded}, 1), cfg);
	assert_string_equal(c->certificates.v[0], pem_rsa);
	idp_conf_free(c);

	c = parse_ok(with_certs((const char *const[]){pem_rsa, pem_ec, pem_ed, pem_rsa_b}, 4), cfg);
	assert_int_equal(c->keys->n, 4);
	assert_int_equal(c->keys->keys[1]->kty, JOSE_KTY_EC_P256);
	assert_int_equal(c->keys->keys[2]->kty, JOSE_KTY_ED25519);
	assert_string_equal(c->keys->keys[3]->cert.subject, "CN=other.example,O=Test IdP");
	idp_conf_free(c);
}

static void certificates_rejected(void **state)
{
	(void)state;
	parse_fails(with_certs((const char *const[]){pem_rsa, pem_priv}, 2), cfg, ST_INVALID,
		    "certificate.certificates[1]: a private key, not a certificate", NULL);
	parse_fails(with_certs((const char *const[]){"garbage"}, 1), cfg, ST_INVALID,
		    "certificate.certificates[0]: not a PEM certificate", NULL);
	parse_fails(with_certs((const char *const[]){"-----BEGIN CERTIFICATE-----\nAAAA\n"
						     "-----END CERTIFICATE-----\n"},
			       1),
		    cfg, ST_INVALID, "certificate.certificates[0]: ", NULL);
	parse_fails(with_certs((const char *const[]){pem_ec, pem_rsa1024}, 2), cfg, ST_INVALID,
		    "certificate.certificates[1]: ", "1024");
	parse_fails(with_certs((const char *const[]){pem_rsa, pem_ec, pem_rsa}, 3), cfg, ST_INVALID,
		    "certificate.certificates[2]: the same certificate as certificates[0]", NULL);
	parse_fails(with_json("certificate", "{\"certificates\":[]}"), cfg, ST_INVALID,
		    "certificate.certificates: must hold 1 to 16 certificates", NULL);
	parse_fails(with_json("certificate", "{\"certificates\":\"x\"}"), cfg, ST_INVALID,
		    "certificate.certificates: must be an array", NULL);
	parse_fails(with_json("certificate", "{\"certificates\":[7]}"), cfg, ST_INVALID,
		    "certificate.certificates[0]: must be a string", NULL);
	/* 17 certificates: too many (checked before any parsing) */
	const char *many[17];
	for (int i = 0; i < 17; i++)
		many[i] = pem_rsa;
	parse_fails(with_certs(many, 17), cfg, ST_INVALID,
		    "certificate.certificates: must hold 1 to 16", NULL);
	/* a huge entry */
	char *big = repeat("A", JOSE_PEM_MAX + 1);
	parse_fails(with_certs((const char *const[]){big}, 1), cfg, ST_INVALID,
		    "certificate.certificates[0]: longer than", NULL);
	free(big);
}

static void public_key_pem(void **state)
{
	(void)state;
	/* A bare SubjectPublicKeyInfo is accepted (no certificate data). */
	struct idp_conf *c = parse_ok(with_certs((const char *const[]){pem_pub}, 1), cfg);
	assert_false(c->keys->keys[0]->has_cert);
	assert_string_equal(c->certificates.v[0], pem_pub);
	idp_conf_free(c);
}

static void inline_jwks(void **state)
{
	(void)state;
	json_t *keys = json_array(), *jwks, *out = NULL;
	struct idp_conf *c;
	struct err e = {0};

	json_array_append_new(keys, jwk_of(ec256, "ec-1"));
	json_array_append_new(keys, jwk_of(ed25519, "ed-1"));
	jwks = json_pack("{s:o}", "keys", keys);
	c = parse_ok(with(NULL, "certificate", json_pack("{s:O}", "jwks", jwks)), cfg);
	assert_int_equal(c->key_source, IDP_KEYS_JWKS);
	assert_int_equal(c->keys->n, 2);
	assert_int_equal(c->keys->keys[0]->kty, JOSE_KTY_EC_P256);
	assert_string_equal(c->keys->keys[0]->kid, "ec-1");
	assert_int_equal(c->keys->keys[1]->kty, JOSE_KTY_ED25519);
	assert_true(json_equal(c->jwks, jwks));
	assert_int_equal(idp_conf_to_json(c, &out, &e), ST_OK);
	assert_true(json_equal(json_object_get(json_object_get(out, "certificate"), "jwks"), jwks));
	json_decref(out);
	idp_conf_free(c);

	/* only EdDSA allowed: the EC key is unusable and named */
	json_t *d = with(NULL, "certificate", json_pack("{s:O}", "jwks", jwks));
	json_object_set_new(d, "jwtGrant", load("{\"allowedAlgorithms\":[\"EdDSA\"]}"));
	parse_fails(d, cfg, ST_INVALID, "certificate.jwks: key 'ec-1' (EC P-256) fits none of",
		    "(EdDSA)");

	/* private key material */
	json_t *priv = jwk_of(ec256, "p");
	json_object_set_new(priv, "d", json_string("AAAA"));
	parse_fails(with(NULL, "certificate", json_pack("{s:{s:[o]}}", "jwks", "keys", priv)), cfg,
		    ST_INVALID, "certificate.jwks: ", NULL);
	/* symmetric key */
	parse_fails(
	    with_json("certificate", "{\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}}"),
	    cfg, ST_INVALID, "certificate.jwks: ", NULL);
	/* unsupported curve: strict, not skipped */
	parse_fails(with_json("certificate",
			      "{\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"secp256k1\","
			      "\"x\":\"AAAA\",\"y\":\"AAAA\"}]}}"),
		    cfg, ST_UNSUPPORTED, "certificate.jwks: ", NULL);
	parse_fails(with_json("certificate", "{\"jwks\":[]}"), cfg, ST_INVALID,
		    "certificate.jwks: must be a JWKS object", NULL);
	parse_fails(with_json("certificate", "{\"jwks\":{\"keys\":[]}}"), cfg, ST_INVALID,
		    "certificate.jwks: ", NULL);
	json_decref(jwks);
}

/* ---- jwtGrant ------------------------------------------------------------------------------ */

static void algorithms(void **state)
{
	(void)state;
	struct idp_conf *c = parse_ok(with_json("jwtGrant.allowedAlgorithms", "[]"), cfg);
	assert_int_equal(c->algs, JOSE_ALG_SET_ALL);
	idp_conf_free(c);
	c = parse_ok(with_json("jwtGrant.allowedAlgorithms", "null"), cfg);
	assert_int_equal(c->algs, JOSE_ALG_SET_ALL);
	idp_conf_free(c);
	c = parse_ok(with_json("jwtGrant.allowedAlgorithms", "[\"PS512\",\"EdDSA\"]"), cfg);
	assert_int_equal(c->algs, JOSE_ALG_BIT(JOSE_ALG_PS512) | JOSE_ALG_BIT(JOSE_ALG_EDDSA));
	idp_conf_free(c);

	parse_fails(with_json("jwtGrant.allowedAlgorithms", "[\"RS256\",\"RS999\"]"), cfg,
		    ST_UNSUPPORTED, "jwtGrant.allowedAlgorithms[1]: ", "RS999");
	parse_fails(with_json("jwtGrant.allowedAlgorithms", "[\"none\"]"), cfg, ST_INVALID,
		    "jwtGrant.allowedAlgorithms[0]: ", "none");
	parse_fails(with_json("jwtGrant.allowedAlgorithms", "[\"HS256\"]"), cfg, ST_INVALID,
		    "jwtGrant.allowedAlgorithms[0]: ", "HS256");
	parse_fails(with_json("jwtGrant.allowedAlgorithms", "[\"rs256\"]"), cfg, ST_UNSUPPORTED,
		    "jwtGrant.allowedAlgorithms[0]: ", NULL);
	parse_fails(with_json("jwtGrant.allowedAlgorithms", "[1]"), cfg, ST_INVALID,
		    "jwtGrant.allowedAlgorithms[0]: must be a string", NULL);
	parse_fails(with_json("jwtGrant.allowedAlgorithms", "\"RS256\""), cfg, ST_INVALID,
		    "jwtGrant.allowedAlgorithms: must be an array", NULL);

	/* an uploaded key must fit one of them */
	json_t *d = with_certs((const char *const[]){pem_rsa, pem_ec}, 2);
	json_object_set_new(d, "jwtGrant", load("{\"allowedAlgorithms\":[\"RS256\"]}"));
	parse_fails(d, cfg, ST_INVALID,
		    "certificate.certificates[1]: its EC P-256 key fits none of "
		    "jwtGrant.allowedAlgorithms (RS256)",
		    NULL);
	d = with_certs((const char *const[]){pem_rsa}, 1);
	json_object_set_new(d, "jwtGrant", load("{\"allowedAlgorithms\":[\"PS256\"]}"));
	idp_conf_free(parse_ok(d, cfg));
}

static void lists(void **state)
{
	(void)state;
	static const char *const names[] = {"additionalAudiences", "allowedSubjects",
					    "allowedScopes"};
	char path[64], want[96];

	for (size_t k = 0; k < 3; k++) {
		snprintf(path, sizeof path, "jwtGrant.%s", names[k]);
		snprintf(want, sizeof want, "jwtGrant.%s: must be an array of strings", names[k]);
		parse_fails(with_json(path, "\"a\""), cfg, ST_INVALID, want, NULL);
		snprintf(want, sizeof want, "jwtGrant.%s[1]: must be a string", names[k]);
		parse_fails(with_json(path, "[\"a\",1]"), cfg, ST_INVALID, want, NULL);
		snprintf(want, sizeof want, "jwtGrant.%s[0]: must not be empty", names[k]);
		parse_fails(with_json(path, "[\"\"]"), cfg, ST_INVALID, want, NULL);
		snprintf(want, sizeof want, "jwtGrant.%s[0]: ", names[k]);
		parse_fails(with_json(path, "[\"a\\u0001\"]"), cfg, ST_INVALID, want, NULL);

		json_t *arr = json_array();
		for (int i = 0; i < 64; i++)
			json_array_append_new(arr, json_string("x"));
		idp_conf_free(parse_ok(with(NULL, path, json_deep_copy(arr)), cfg));
		json_array_append_new(arr, json_string("x"));
		snprintf(want, sizeof want, "jwtGrant.%s: more than 64 entries", names[k]);
		parse_fails(with(NULL, path, arr), cfg, ST_INVALID, want, NULL);

		char *s = repeat("s", 2048);
		idp_conf_free(parse_ok(with(NULL, path, json_pack("[s]", s)), cfg));
		free(s);
		s = repeat("s", 2049);
		snprintf(want, sizeof want, "jwtGrant.%s[0]: longer than 2048", names[k]);
		parse_fails(with(NULL, path, json_pack("[s]", s)), cfg, ST_INVALID, want, NULL);
		free(s);
	}
	/* Audiences and subjects may hold spaces; scopes are scope-tokens. */
	idp_conf_free(parse_ok(with_json("jwtGrant.allowedSubjects", "[\"CN=a b\"]"), cfg));
	idp_conf_free(parse_ok(with_json("jwtGrant.allowedScopes", "[\"read:all\",\"a/b\"]"), cfg));
	parse_fails(with_json("jwtGrant.allowedScopes", "[\"read write\"]"), cfg, ST_INVALID,
		    "jwtGrant.allowedScopes[0]: a scope may hold only", NULL);
	parse_fails(with_json("jwtGrant.allowedScopes", "[\"a\\\"b\"]"), cfg, ST_INVALID,
		    "jwtGrant.allowedScopes[0]: a scope", NULL);
	parse_fails(with_json("jwtGrant.allowedScopes", "[\"caf\u00e9\"]"), cfg, ST_INVALID,
		    "jwtGrant.allowedScopes[0]: a scope", NULL);
}

static void flags_and_numbers(void **state)
{
	(void)state;
	struct idp_conf *c;

	parse_fails(with_json("jwtGrant", "[]"), cfg, ST_INVALID, "jwtGrant: must be an object",
		    NULL);
	c = parse_ok(with_json("jwtGrant", "null"), cfg);
	assert_int_equal(c->algs, JOSE_ALG_SET_ALL);
	idp_conf_free(c);
	parse_fails(with_json("jwtGrant.requireJti", "1"), cfg, ST_INVALID,
		    "jwtGrant.requireJti: must be true or false", NULL);
	parse_fails(with_json("jwtGrant.requireIat", "\"true\""), cfg, ST_INVALID,
		    "jwtGrant.requireIat: must be true or false", NULL);

	const char *lt = "jwtGrant.maxAssertionLifetimeSeconds";
	c = parse_ok(with(NULL, lt, json_integer(IDP_LIFETIME_MAX)), cfg);
	assert_int_equal(c->max_assertion_lifetime, IDP_LIFETIME_MAX);
	idp_conf_free(c);
	parse_fails(with(NULL, lt, json_integer(IDP_LIFETIME_MAX + 1)), cfg, ST_INVALID,
		    "jwtGrant.maxAssertionLifetimeSeconds: must be from 0 to 315360000", NULL);
	parse_fails(with(NULL, lt, json_integer(-1)), cfg, ST_INVALID,
		    "jwtGrant.maxAssertionLifetimeSeconds: must be from 0", NULL);
	parse_fails(with(NULL, lt, json_real(60.0)), cfg, ST_INVALID,
		    "jwtGrant.maxAssertionLifetimeSeconds: must be an integer", NULL);
	parse_fails(with(NULL, lt, json_string("60")), cfg, ST_INVALID,
		    "jwtGrant.maxAssertionLifetimeSeconds: must be an integer", NULL);

	const char *sk = "jwtGrant.clockSkewSeconds";
	c = parse_ok(with(NULL, sk, json_integer(0)), cfg);
	assert_int_equal(c->clock_skew, 0);
	idp_conf_free(c);
	c = parse_ok(with(NULL, sk, json_integer(3600)), cfg);
	assert_int_equal(c->clock_skew, 3600);
	idp_conf_free(c);
	c = parse_ok(with(NULL, sk, json_null()), cfg);
	assert_int_equal(c->clock_skew, -1);
	idp_conf_free(c);
	parse_fails(with(NULL, sk, json_integer(3601)), cfg, ST_INVALID,
		    "jwtGrant.clockSkewSeconds: must be from 0 to 3600", NULL);
	parse_fails(with(NULL, sk, json_integer(-1)), cfg, ST_INVALID,
		    "jwtGrant.clockSkewSeconds: must be from 0 to 3600", NULL);
}

static void expires_at(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "2030-02-30T00:00:00Z",
	    "2030-01-02T03:04:05+00:00",
	    "2030-01-02T03:04:05z",
	    "2030-01-02t03:04:05Z",
	    "2030-01-02T03:04:05.5Z",
	    "2030-01-02 03:04:05Z",
	    "2030-13-01T00:00:00Z",
	    "2030-00-10T00:00:00Z",
	    "2030-01-00T00:00:00Z",
	    "2030-01-01T24:00:00Z",
	    "2030-01-01T00:60:00Z",
	    "2030-01-01T00:00:60Z",
	    "2023-02-29T00:00:00Z",
	    "1969-12-31T23:59:59Z",
	    "1970-01-01T00:00:00Z",
	    "30-01-01T00:00:00Z",
	    "2030-1-01T00:00:00Z",
	    "+030-01-01T00:00:00Z",
	    "",
	    "2030-01-01",
	    "2030-01-01T00:00:00Z ",
	};
	int64_t t = 0;
	char buf[TIME_RFC3339_LEN];
	struct idp_conf *c;

	assert_int_equal(time_parse_rfc3339("2030-01-02T03:04:05Z", &t), ST_OK);
	assert_int_equal(t, 1893553445);
	assert_int_equal(time_parse_rfc3339("2024-02-29T23:59:59Z", &t), ST_OK);
	assert_int_equal(t, 1709251199);
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:00Z", &t), ST_OK);
	assert_int_equal(t, 0);
	assert_int_equal(time_parse_rfc3339("9999-12-31T23:59:59Z", &t), ST_OK);
	assert_int_equal(t, INT64_C(253402300799));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (i == 14)
			continue; /* valid time, refused by the document (0 = never) */
		if (time_parse_rfc3339(bad[i], &t) == ST_OK)
			fail_msg("'%s' should not parse", bad[i]);
	}
	time_format_rfc3339(1893553445, buf);
	assert_string_equal(buf, "2030-01-02T03:04:05Z");
	time_format_rfc3339(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");

	c = parse_ok(with_json("jwtGrant.expiresAt", "\"2030-01-02T03:04:05Z\""), cfg);
	assert_int_equal(c->expires_at, 1893553445);
	idp_conf_free(c);
	c = parse_ok(with_json("jwtGrant.expiresAt", "null"), cfg);
	assert_int_equal(c->expires_at, 0);
	idp_conf_free(c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		parse_fails(with(NULL, "jwtGrant.expiresAt", json_string(bad[i])), cfg, ST_INVALID,
			    "jwtGrant.expiresAt: must be null or a UTC time", NULL);
	parse_fails(with(NULL, "jwtGrant.expiresAt", json_integer(1893553445)), cfg, ST_INVALID,
		    "jwtGrant.expiresAt: ", NULL);
}

static void key_source_names(void **state)
{
	(void)state;
	assert_string_equal(idp_key_source_name(IDP_KEYS_JWKS_URI), "jwksUri");
	assert_string_equal(idp_key_source_name(IDP_KEYS_CERTS), "certificates");
	assert_string_equal(idp_key_source_name(IDP_KEYS_JWKS), "jwks");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_defaults),
	    cmocka_unit_test(canonical_form),
	    cmocka_unit_test(jwks_uri_with_certificates),
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(refcount),
	    cmocka_unit_test(not_an_object),
	    cmocka_unit_test(unknown_fields),
	    cmocka_unit_test(name_rules),
	    cmocka_unit_test(description_rules),
	    cmocka_unit_test(enabled_issuer_alias),
	    cmocka_unit_test(certificate_shape),
	    cmocka_unit_test(jwks_uri_rules),
	    cmocka_unit_test(certificates_accepted),
	    cmocka_unit_test(certificates_rejected),
	    cmocka_unit_test(public_key_pem),
	    cmocka_unit_test(inline_jwks),
	    cmocka_unit_test(algorithms),
	    cmocka_unit_test(lists),
	    cmocka_unit_test(flags_and_numbers),
	    cmocka_unit_test(expires_at),
	    cmocka_unit_test(key_source_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
