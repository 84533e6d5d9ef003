/* idp_conf.c - validation of an identity provider's JSON document and its
 * canonical form (see idp_conf.h for the rules).
 *
 * The parser is strict on purpose: what the admin API stores is exactly what
 * the grant will enforce, so anything ambiguous (an unknown member, a
 * misspelt option, a key nobody can use) is refused with the path of the
 * offending member rather than silently ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/keys.h"
#include "lib/b64.h"
#include "lib/limits.h"
#include "lib/ref.h"
#include "oauth/conf_util.h"
#include "oauth/idp_conf.h"

#include "lib/timefmt.h"
#include "oauth/scope.h"

/* Untrusted text echoed in a message (member names): at most SHOW_MAX
 * bytes, cut at a character boundary. */
#define SHOW_MAX 64
#define SHOW_BUF (SHOW_MAX + 4)

/* WSO2 IS 7's other IdP members (IdentityProviderPOSTRequest and the
 * response): stored and returned unchanged, type-checked only. */
static const struct conf_extra wso2_members[] = {
    {NULL, "image", JSON_STRING},         {NULL, "isPrimary", JSON_TRUE},
    {NULL, "isFederationHub", JSON_TRUE}, {NULL, "homeRealmIdentifier", JSON_STRING},
    {NULL, "templateId", JSON_STRING},    {NULL, "implicitAssociation", JSON_OBJECT},
    {NULL, "claims", JSON_OBJECT},        {NULL, "roles", JSON_OBJECT},
    {NULL, "groups", JSON_ARRAY},         {NULL, "federatedAuthenticators", JSON_OBJECT},
    {NULL, "provisioning", JSON_OBJECT},
};

static const char *const top_members[] = {"name",  "description", "isEnabled", "idpIssuerName",
					  "alias", "certificate", "jwtGrant",  NULL};

static const char *const cert_members[] = {"jwksUri", "certificates", "jwks", NULL};
static const char *const grant_members[] = {"allowedAlgorithms",
					    "additionalAudiences",
					    "allowedSubjects",
					    "allowedScopes",
					    "requireJti",
					    "requireIat",
					    "maxAssertionLifetimeSeconds",
					    "clockSkewSeconds",
					    "expiresAt",
					    NULL};

/* ---- small helpers --------------------------------------------------------- */

enum text_rule {
	TEXT_LINE,      /* no control character at all */
	TEXT_MULTILINE, /* tabs and line breaks allowed */
	TEXT_SCOPE,     /* RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E */
};

/* Checks a JSON string against `rule` and a length of 1..max characters
 * (0..max when `may_be_empty`). `what` names it in messages. */
static status check_text(const json_t *v, const char *what, size_t max, bool may_be_empty,
			 enum text_rule rule, struct err *e)
{
	const unsigned char *p;
	size_t n, chars = 0;

	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "%s: must be a string", what);
	p = (const unsigned char *)json_string_value(v);
	n = json_string_length(v);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];
		bool ok;

		if ((ch & 0xC0) != 0x80)
			chars++;
		if (rule == TEXT_SCOPE)
			ok = scope_token_char(ch);
		else if (ch < 0x20)
			ok = rule == TEXT_MULTILINE && (ch == '\t' || ch == '\n' || ch == '\r');
		else if (ch == 0x7F)
			ok = false;
		else /* U+0080..U+009F (C1 controls) are C2 80..C2 9F in UTF-8 */
			ok = !(ch == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F);
		if (!ok && rule == TEXT_SCOPE)
			return err_set(
			    e, ST_INVALID,
			    "%s: a scope may hold only printable ASCII other than space, "
			    "'\"' and '\\' (character %zu)",
			    what, chars);
		if (!ok)
			return err_set(e, ST_INVALID,
				       "%s: contains a control character (character %zu)", what,
				       chars);
	}
	if (chars == 0 && !may_be_empty)
		return err_set(e, ST_INVALID, "%s: must not be empty", what);
	if (chars > max)
		return err_set(e, ST_INVALID, "%s: longer than %zu characters", what, max);
	return ST_OK;
}

const char *idp_key_source_name(enum idp_key_source src)
{
	switch (src) {
	case IDP_KEYS_NONE: return "none";
	case IDP_KEYS_JWKS_URI: return "jwksUri";
	case IDP_KEYS_CERTS: return "certificates";
	case IDP_KEYS_JWKS: return "jwks";
	}
	return "?";
}

/* ---- time ------------------------------------------------------------------ */

/* ---- members --------------------------------------------------------------- */

/* An optional string member: absent, null or (when `empty_unset`) "" leave
 * *out NULL. */
static status opt_string(const json_t *doc, const char *key, size_t max, enum text_rule rule,
			 bool empty_unset, char **out, struct err *e)
{
	const json_t *v = conf_member(doc, key);
	status st;

	*out = NULL;
	if (v == NULL)
		return ST_OK;
	if ((st = check_text(v, key, max, true, rule, e)) != ST_OK)
		return st;
	if (empty_unset && json_string_length(v) == 0)
		return ST_OK;
	if ((*out = conf_string_dup(v)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

static status opt_bool(const json_t *obj, const char *key, const char *where, bool *out,
		       struct err *e)
{
	const json_t *v = conf_member(obj, key);

	if (v == NULL)
		return ST_OK;
	if (!json_is_boolean(v))
		return err_set(e, ST_INVALID, "%s%s: must be true or false", where, key);
	*out = json_is_true(v);
	return ST_OK;
}

/* An integer member in lo..hi; absent/null leaves *out unchanged. */
static status opt_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
		      struct err *e)
{
	const json_t *v = conf_member(obj, key);
	json_int_t i;

	if (v == NULL)
		return ST_OK;
	if (!json_is_integer(v))
		return err_set(e, ST_INVALID, "jwtGrant.%s: must be an integer", key);
	i = json_integer_value(v);
	if (i < lo || i > hi)
		return err_set(e, ST_INVALID, "jwtGrant.%s: must be from %lld to %lld", key,
			       (long long)lo, (long long)hi);
	*out = (int64_t)i;
	return ST_OK;
}

static status check_list_entry(const json_t *v, const char *path, const struct strlist *l,
			       void *ctx, struct err *e)
{
	(void)l;
	return check_text(v, path, IDP_STRING_MAX, false, *(const enum text_rule *)ctx, e);
}

static status parse_strlist(const json_t *obj, const char *key, enum text_rule rule,
			    struct strlist *out, struct err *e)
{
	const json_t *arr = conf_member(obj, key);
	char path[64];

	if (arr == NULL)
		return ST_OK;
	if (!json_is_array(arr))
		return err_set(e, ST_INVALID, "jwtGrant.%s: must be an array of strings", key);
	if (json_array_size(arr) > IDP_LIST_MAX)
		return err_set(e, ST_INVALID, "jwtGrant.%s: more than %d entries", key,
			       IDP_LIST_MAX);
	snprintf(path, sizeof path, "jwtGrant.%s", key);
	return conf_strlist_parse(arr, path, check_list_entry, &rule, out, e);
}

static status parse_algs(struct idp_conf *c, const json_t *grant, struct err *e)
{
	const json_t *arr = conf_member(grant, "allowedAlgorithms");
	struct err ae = {0};
	jose_alg_set set = 0;
	size_t n;
	status st;

	c->algs = JOSE_ALG_SET_ALL;
	if (arr == NULL)
		return ST_OK;
	if (!json_is_array(arr))
		return err_set(e, ST_INVALID,
			       "jwtGrant.allowedAlgorithms: must be an array of algorithm names");
	n = json_array_size(arr);
	if (n > IDP_LIST_MAX)
		return err_set(e, ST_INVALID, "jwtGrant.allowedAlgorithms: more than %d entries",
			       IDP_LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		enum jose_alg alg;

		if (!json_is_string(v))
			return err_set(e, ST_INVALID,
				       "jwtGrant.allowedAlgorithms[%zu]: must be a string", i);
		st = jose_alg_parse((struct sv){json_string_value(v), json_string_length(v)}, &alg,
				    &ae);
		if (st != ST_OK)
			return err_set(e, st, "jwtGrant.allowedAlgorithms[%zu]: %s", i, ae.msg);
		set |= JOSE_ALG_BIT(alg);
	}
	if (set != 0) /* [] = not configured = the default list */
		c->algs = set;
	return ST_OK;
}

static status parse_jwt_grant(struct idp_conf *c, const json_t *doc, struct err *e)
{
	const json_t *g = conf_member(doc, "jwtGrant"), *exp;
	status st;

	c->algs = JOSE_ALG_SET_ALL;
	if (g == NULL)
		return ST_OK;
	if (!json_is_object(g))
		return err_set(e, ST_INVALID, "jwtGrant: must be an object");
	if ((st = conf_check_members(g, grant_members, "jwtGrant", e)) != ST_OK)
		return st;
	if ((st = parse_algs(c, g, e)) != ST_OK ||
	    (st = parse_strlist(g, "additionalAudiences", TEXT_LINE, &c->additional_audiences,
				e)) != ST_OK ||
	    (st = parse_strlist(g, "allowedSubjects", TEXT_LINE, &c->allowed_subjects, e)) !=
		ST_OK ||
	    (st = parse_strlist(g, "allowedScopes", TEXT_SCOPE, &c->allowed_scopes, e)) != ST_OK)
		return st;
	if ((st = opt_bool(g, "requireJti", "jwtGrant.", &c->require_jti, e)) != ST_OK ||
	    (st = opt_bool(g, "requireIat", "jwtGrant.", &c->require_iat, e)) != ST_OK)
		return st;
	if ((st = opt_int(g, "maxAssertionLifetimeSeconds", 0, IDP_LIFETIME_MAX,
			  &c->max_assertion_lifetime, e)) != ST_OK ||
	    (st = opt_int(g, "clockSkewSeconds", 0, IDP_SKEW_MAX, &c->clock_skew, e)) != ST_OK)
		return st;
	exp = conf_member(g, "expiresAt");
	if (exp != NULL) {
		if (!json_is_string(exp) ||
		    time_parse_rfc3339(json_string_value(exp), &c->expires_at) != ST_OK ||
		    c->expires_at <= 0)
			return err_set(e, ST_INVALID,
				       "jwtGrant.expiresAt: must be null or a UTC time "
				       "\"YYYY-MM-DDTHH:MM:SSZ\" after 1970-01-01T00:00:00Z");
	}
	return ST_OK;
}

/* ---- keys ------------------------------------------------------------------ */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* PEM text: printable ASCII and whitespace only. */
static bool printable_text(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 0x20 && p[i] < 0x7F) || is_space((char)p[i])))
			return false;
	return true;
}

/* The stored form of an accepted certificate text (see idp_conf.h):
 * base64 of a PEM becomes the PEM; anything else is kept, trimmed. A PEM
 * ends with a line break, as PEM files do. */
static char *normalise_pem(struct sv text)
{
	struct sv t = sv_trim(text), pem = SV("-----BEGIN");
	unsigned char *dec = NULL;
	size_t declen = 0;
	struct buf b = {0};
	char *out = NULL;

	if (!sv_starts_with(t, pem)) {
		dec = malloc(b64_decoded_max(t.n) + 1);
		if (dec == NULL)
			return NULL;
		if (b64std_decode(t, true, dec, b64_decoded_max(t.n) + 1, &declen) == ST_OK &&
		    sv_starts_with(sv_trim((struct sv){(char *)dec, declen}), pem) &&
		    printable_text(dec, declen))
			t = sv_trim((struct sv){(char *)dec, declen});
	}
	if (buf_append_sv(&b, t) == ST_OK &&
	    (!sv_starts_with(t, pem) || buf_putc(&b, '\n') == ST_OK))
		out = buf_steal(&b);
	buf_free(&b);
	if (dec != NULL) {
		mem_wipe(dec, declen);
		free(dec);
	}
	return out;
}

static status parse_certificates(struct idp_conf *c, const json_t *arr, struct err *e)
{
	struct err ke = {0};
	size_t n;
	status st;

	c->key_source = IDP_KEYS_CERTS;
	if (!json_is_array(arr))
		return err_set(e, ST_INVALID,
			       "certificate.certificates: must be an array of PEM certificates");
	n = json_array_size(arr);
	if (n == 0 || n > LIMIT_IDP_CERTS)
		return err_set(e, ST_INVALID,
			       "certificate.certificates: must hold 1 to %d certificates",
			       LIMIT_IDP_CERTS);
	if ((st = jose_keyset_new(&c->keys)) != ST_OK)
		return err_set(e, st, "out of memory");
	if ((c->certificates.v = calloc(n, sizeof *c->certificates.v)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		struct jose_key *key = NULL;
		struct sv text;

		if (!json_is_string(v))
			return err_set(e, ST_INVALID,
				       "certificate.certificates[%zu]: must be a string (PEM, or "
				       "base64 of PEM)",
				       i);
		text = (struct sv){json_string_value(v), json_string_length(v)};
		if (text.n > JOSE_PEM_MAX)
			return err_set(e, ST_INVALID,
				       "certificate.certificates[%zu]: longer than %d bytes", i,
				       JOSE_PEM_MAX);
		st = jose_key_from_pem(text, &key, &ke);
		if (st != ST_OK)
			return err_set(e, st == ST_TOO_LARGE ? ST_INVALID : st,
				       "certificate.certificates[%zu]: %s", i, ke.msg);
		for (size_t j = 0; j < c->keys->n; j++) {
			const struct jose_key *o = c->keys->keys[j];
			if (o->has_cert && key->has_cert &&
			    memcmp(o->cert.sha256, key->cert.sha256, sizeof o->cert.sha256) == 0) {
				jose_key_free(key);
				return err_set(
				    e, ST_INVALID,
				    "certificate.certificates[%zu]: the same certificate as "
				    "certificates[%zu]",
				    i, j);
			}
		}
		st = jose_keyset_add(c->keys, key);
		jose_key_free(key);
		if (st != ST_OK)
			return err_set(e, st, "certificate.certificates[%zu]: cannot add the key",
				       i);
		if ((c->certificates.v[i] = normalise_pem(text)) == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		c->certificates.n = i + 1;
	}
	return ST_OK;
}

static status parse_certificate(struct idp_conf *c, const json_t *doc, const struct config *cfg,
				struct err *e)
{
	const json_t *cert = conf_member(doc, "certificate"), *uri, *certs, *jwks;
	struct err ke = {0};
	status st;

	/* As in WSO2, an IdP may be registered before its keys are known: it
	 * then cannot verify assertions, and the grant and the dry run say so. */
	c->key_source = IDP_KEYS_NONE;
	if (cert == NULL)
		return ST_OK;
	if (!json_is_object(cert))
		return err_set(e, ST_INVALID, "certificate: must be an object");
	if ((st = conf_check_members(cert, cert_members, "certificate", e)) != ST_OK)
		return st;
	uri = conf_member(cert, "jwksUri");
	certs = conf_member(cert, "certificates");
	jwks = conf_member(cert, "jwks");
	if (uri == NULL && certs == NULL && jwks == NULL)
		return ST_OK;
	if (jwks != NULL && (uri != NULL || certs != NULL))
		return err_set(e, ST_INVALID,
			       "certificate: jwks cannot be combined with jwksUri or "
			       "certificates (give one key source, or jwksUri with certificates)");
	if (certs != NULL) {
		/* WSO2 keeps both: with a jwksUri as well, the JWKS is what
		 * verifies (docs/jwt-grant.md, "Key sources"); the certificates
		 * are checked, stored and returned, but not used. */
		if ((st = parse_certificates(c, certs, e)) != ST_OK || uri == NULL)
			return st;
	}
	if (jwks != NULL) {
		c->key_source = IDP_KEYS_JWKS;
		if (!json_is_object(jwks))
			return err_set(e, ST_INVALID,
				       "certificate.jwks: must be a JWKS object {\"keys\": [...]}");
		st = jose_keyset_from_jwks_json(jwks, 0, &c->keys, &ke);
		if (st != ST_OK)
			return err_set(e, st == ST_TOO_LARGE ? ST_INVALID : st,
				       "certificate.jwks: %s", ke.msg);
		if ((c->jwks = json_deep_copy(jwks)) == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		return ST_OK;
	}
	c->key_source = IDP_KEYS_JWKS_URI;
	if ((st = check_text(uri, "certificate.jwksUri", IDP_STRING_MAX, false, TEXT_LINE, e)) !=
	    ST_OK)
		return st;
	if ((st = keys_check_uri(cfg, json_string_value(uri), &ke)) != ST_OK)
		return err_set(e, ST_INVALID, "certificate.jwksUri: %s", ke.msg);
	if ((c->jwks_uri = conf_string_dup(uri)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	return ST_OK;
}

/* An uploaded key nobody may use (say an EC certificate with only RS256
 * allowed) is an operator's mistake: refuse it by name. */
static status check_keys_usable(const struct idp_conf *c, struct err *e)
{
	char algs[128], kid[SHOW_BUF];

	if (c->keys == NULL)
		return ST_OK;
	for (size_t i = 0; i < c->keys->n; i++) {
		const struct jose_key *k = c->keys->keys[i];
		bool usable = false;

		for (int a = 0; a < JOSE_ALG_COUNT && !usable; a++)
			usable = jose_alg_set_has(c->algs, (enum jose_alg)a) &&
				 jose_key_check_alg(k, (enum jose_alg)a, NULL) == ST_OK;
		if (usable)
			continue;
		jose_alg_set_format(c->algs, algs, sizeof algs);
		if (c->certificates.n > 0)
			return err_set(e, ST_INVALID,
				       "certificate.certificates[%zu]: its %s key fits none of "
				       "jwtGrant.allowedAlgorithms (%s)",
				       i, jose_kty_name(k->kty), algs);
		if (k->kid == NULL)
			return err_set(e, ST_INVALID,
				       "certificate.jwks: a key without kid (%s) fits none of "
				       "jwtGrant.allowedAlgorithms (%s)",
				       jose_kty_name(k->kty), algs);
		str_show(kid, sizeof kid, k->kid, strlen(k->kid));
		return err_set(e, ST_INVALID,
			       "certificate.jwks: key '%s' (%s%s%s) fits none of "
			       "jwtGrant.allowedAlgorithms (%s)",
			       kid, jose_kty_name(k->kty), k->has_alg ? ", alg " : "",
			       k->has_alg ? jose_alg_name(k->alg) : "", algs);
	}
	return ST_OK;
}

/* ---- the document ---------------------------------------------------------- */

status idp_conf_parse(const json_t *given, const struct config *cfg, struct idp_conf **out,
		      struct err *e)
{
	json_t *doc = NULL;
	struct idp_conf *c;
	const json_t *name;
	status st;

	*out = NULL;
	if (!json_is_object(given))
		return err_set(e, ST_INVALID, "an identity provider must be a JSON object");
	if ((c = calloc(1, sizeof *c)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	c->refs = 1;
	c->enabled = true;
	c->clock_skew = -1;
	c->algs = JOSE_ALG_SET_ALL;

	/* WSO2's members are kept aside; the rest is ours to check. */
	if ((st =
		 conf_extras_take(given, wso2_members, sizeof wso2_members / sizeof wso2_members[0],
				  "", &doc, &c->wso2, e)) != ST_OK ||
	    (st = conf_check_members(doc, top_members, "", e)) != ST_OK)
		goto out;
	name = conf_member(doc, "name");
	if (name == NULL) {
		st = err_set(e, ST_INVALID, "name: required");
		goto out;
	}
	if ((st = check_text(name, "name", LIMIT_NAME, false, TEXT_LINE, e)) != ST_OK)
		goto out;
	if ((c->name = conf_string_dup(name)) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((st = opt_string(doc, "description", IDP_DESCRIPTION_MAX, TEXT_MULTILINE, false,
			     &c->description, e)) != ST_OK)
		goto out;
	if (c->description == NULL && (c->description = str_dup_sv(SV(""))) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((st = opt_bool(doc, "isEnabled", "", &c->enabled, e)) != ST_OK)
		goto out;
	if ((st = opt_string(doc, "idpIssuerName", IDP_STRING_MAX, TEXT_LINE, true, &c->issuer,
			     e)) != ST_OK ||
	    (st = opt_string(doc, "alias", IDP_STRING_MAX, TEXT_LINE, true, &c->alias, e)) != ST_OK)
		goto out;
	if ((st = parse_certificate(c, doc, cfg, e)) != ST_OK)
		goto out;
	if ((st = parse_jwt_grant(c, doc, e)) != ST_OK)
		goto out;
	st = check_keys_usable(c, e);
out:
	json_decref(doc);
	if (st != ST_OK) {
		idp_conf_free(c);
		return st;
	}
	*out = c;
	return ST_OK;
}

void idp_conf_ref(struct idp_conf *c)
{
	ref_acquire(&c->refs);
}

void idp_conf_free(struct idp_conf *c)
{
	if (c == NULL || !ref_release(&c->refs))
		return;
	free(c->id);
	free(c->tenant_id);
	free(c->name);
	free(c->description);
	free(c->issuer);
	free(c->alias);
	free(c->jwks_uri);
	json_decref(c->wso2);
	jose_keyset_free(c->keys);
	strlist_free(&c->certificates);
	json_decref(c->jwks);
	strlist_free(&c->additional_audiences);
	strlist_free(&c->allowed_subjects);
	strlist_free(&c->allowed_scopes);
	free(c);
}

/* ---- canonical form -------------------------------------------------------- */

status idp_conf_to_json(const struct idp_conf *c, json_t **out, struct err *e)
{
	json_t *doc = json_object(), *cert = json_object(), *grant = json_object();
	json_t *algs = json_array();
	char when[TIME_RFC3339_LEN];
	bool ok = doc != NULL && cert != NULL && grant != NULL && algs != NULL;

	*out = NULL;
	for (int a = 0; ok && a < JOSE_ALG_COUNT; a++)
		if (jose_alg_set_has(c->algs, (enum jose_alg)a) &&
		    json_array_append_new(algs, json_string(jose_alg_name((enum jose_alg)a))) != 0)
			ok = false;
	conf_put(grant, "allowedAlgorithms", algs, &ok);
	conf_put(grant, "additionalAudiences", conf_strlist_json(&c->additional_audiences), &ok);
	conf_put(grant, "allowedSubjects", conf_strlist_json(&c->allowed_subjects), &ok);
	conf_put(grant, "allowedScopes", conf_strlist_json(&c->allowed_scopes), &ok);
	conf_put(grant, "requireJti", json_boolean(c->require_jti), &ok);
	conf_put(grant, "requireIat", json_boolean(c->require_iat), &ok);
	conf_put(grant, "maxAssertionLifetimeSeconds",
		 json_integer((json_int_t)c->max_assertion_lifetime), &ok);
	conf_put(grant, "clockSkewSeconds",
		 c->clock_skew >= 0 ? json_integer((json_int_t)c->clock_skew) : json_null(), &ok);
	if (c->expires_at > 0)
		time_format_rfc3339(c->expires_at, when);
	conf_put(grant, "expiresAt", c->expires_at > 0 ? json_string(when) : json_null(), &ok);

	switch (c->key_source) {
	case IDP_KEYS_NONE: break; /* "certificate": {} */
	case IDP_KEYS_JWKS_URI:
		conf_put(cert, "jwksUri", json_string(c->jwks_uri), &ok);
		if (c->certificates.n > 0) /* kept alongside, as WSO2 does */
			conf_put(cert, "certificates", conf_strlist_json(&c->certificates), &ok);
		break;
	case IDP_KEYS_CERTS:
		conf_put(cert, "certificates", conf_strlist_json(&c->certificates), &ok);
		break;
	case IDP_KEYS_JWKS: conf_put(cert, "jwks", json_deep_copy(c->jwks), &ok); break;
	}
	conf_put(doc, "name", json_string(c->name), &ok);
	conf_put(doc, "description", json_string(c->description), &ok);
	conf_put(doc, "isEnabled", json_boolean(c->enabled), &ok);
	conf_put(doc, "idpIssuerName", conf_string_or_null(c->issuer), &ok);
	conf_put(doc, "alias", conf_string_or_null(c->alias), &ok);
	conf_put(doc, "certificate", cert, &ok);
	conf_put(doc, "jwtGrant", grant, &ok);
	if (ok && c->wso2 != NULL && !conf_extras_put(doc, c->wso2))
		ok = false;
	if (!ok) {
		json_decref(doc);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	*out = doc;
	return ST_OK;
}
