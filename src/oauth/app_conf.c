/* app_conf.c - the application document: validation, the runtime view and
 * the canonical stored form (see app_conf.h for the rules).
 *
 * Paths in error messages are built with snprintf into PATH_MAX_LEN
 * buffers; a path is never longer than the deepest member name plus an
 * index, so truncation cannot happen with the members we accept. */
#include "oauth/app_conf.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/keys.h"
#include "lib/ref.h"
#include "oauth/conf_util.h"
#include "oauth/scope.h"

#define PATH_MAX_LEN 128
#define OIDC         "inboundProtocolConfiguration.oidc"

static const char CLIENT_ID_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";

static const struct {
	const char *name;
	unsigned bit;
} grants[] = {
    {GRANT_TYPE_JWT_BEARER, APP_GRANT_JWT_BEARER},
    {GRANT_TYPE_REFRESH_TOKEN, APP_GRANT_REFRESH_TOKEN},
    {GRANT_TYPE_CLIENT_CREDENTIALS, APP_GRANT_CLIENT_CREDENTIALS},
};

static const struct {
	const char *name;
	enum app_auth_method m;
} methods[] = {
    {"client_secret_basic", APP_AUTH_SECRET_BASIC},
    {"client_secret_post", APP_AUTH_SECRET_POST},
    {"private_key_jwt", APP_AUTH_PRIVATE_KEY_JWT},
    {"none", APP_AUTH_NONE},
};

/* WSO2 IS 7's other ApplicationModel members (applications.yaml): kept like
 * the OIDC ones below. applicationEnabled is refused unless true: a
 * disabled application that still got tokens would contradict it. */
static const struct conf_extra wso2_app_members[] = {
    {NULL, "imageUrl", JSON_STRING},
    {NULL, "accessUrl", JSON_STRING},
    {NULL, "logoutReturnUrl", JSON_STRING},
    {NULL, "templateId", JSON_STRING},
    {NULL, "templateVersion", JSON_STRING},
    {NULL, "isManagementApp", JSON_TRUE},
    {NULL, "isB2BSelfServiceApp", JSON_TRUE},
    {NULL, "enhancedOrgAuthenticationEnabled", JSON_TRUE},
    {NULL, "associatedRoles", JSON_OBJECT},
    {NULL, "claimConfiguration", JSON_OBJECT},
    {NULL, "authenticationSequence", JSON_OBJECT},
    {NULL, "advancedConfigurations", JSON_OBJECT},
    {NULL, "provisioningConfigurations", JSON_OBJECT},
};

/* WSO2 IS 7's other OpenIDConnectConfiguration members (its application
 * API, applications.yaml): stored and returned unchanged, type-checked,
 * never acted on (docs/api/openapi.yaml, OidcConfiguration). Members whose
 * meaning grantd would contradict are refused instead: clientSecret
 * (handled by the admin API), clientSecretExpiresAt (secrets do not
 * expire here). */
static const struct conf_extra wso2_members[] = {
    {NULL, "state", JSON_STRING},
    {NULL, "allowedOrigins", JSON_ARRAY},
    {NULL, "pkce", JSON_OBJECT},
    {NULL, "hybridFlow", JSON_OBJECT},
    {NULL, "subjectToken", JSON_OBJECT},
    {NULL, "logout", JSON_OBJECT},
    {NULL, "validateRequestObjectSignature", JSON_TRUE},
    {NULL, "scopeValidators", JSON_ARRAY},
    {NULL, "requestObject", JSON_OBJECT},
    {NULL, "pushAuthorizationRequest", JSON_OBJECT},
    {NULL, "subject", JSON_OBJECT},
    {NULL, "isFAPIApplication", JSON_TRUE},
    {NULL, "fapiProfile", JSON_STRING},
    {NULL, "fapiMetadata", JSON_OBJECT},
    {NULL, "cibaAuthenticationRequest", JSON_OBJECT},
    {NULL, "issuer", JSON_OBJECT},
    {NULL, "multipleClientSecretsConfigured", JSON_TRUE},
    {"accessToken", "bindingType", JSON_STRING},
    {"accessToken", "revokeTokensWhenIDPSessionTerminated", JSON_TRUE},
    {"accessToken", "validateTokenBinding", JSON_TRUE},
    {"accessToken", "accessTokenAttributes", JSON_ARRAY},
    {"accessToken", "enableJwtScopeAsArray", JSON_TRUE},
    {"refreshToken", "extendRenewedRefreshTokenExpiryTime", JSON_TRUE},
    {"refreshToken", "gracefulRefreshTokenRotationEnabled", JSON_TRUE},
    {"refreshToken", "gracefulRefreshTokenRotationValidityPeriod", JSON_INTEGER},
    {"refreshToken", "gracefulRefreshTokenReuseLimit", JSON_INTEGER},
    {"idToken", "idTokenSignedResponseAlg", JSON_STRING},
    {"idToken", "encryption", JSON_OBJECT},
    {"clientAuthentication", "tokenEndpointAuthSigningAlg", JSON_STRING},
    {"clientAuthentication", "tlsClientAuthSubjectDn", JSON_STRING},
    {"clientAuthentication", "tokenEndpointAllowReusePvtKeyJwt", JSON_TRUE},
};

/* ---- small helpers ---------------------------------------------------------- */

/* Characters (code points) of a UTF-8 string jansson has validated. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/* ---- item checks (one string of a list) ------------------------------------ */

typedef status (*item_check)(const char *s, size_t n, const char *path, const struct config *cfg,
			     struct err *e);

static status check_grant(const char *s, size_t n, const char *path, const struct config *cfg,
			  struct err *e)
{
	(void)n;
	(void)cfg;
	if (app_grant_parse(s) == 0)
		return err_set(e, ST_INVALID,
			       "%s: unknown grant type '%.64s' (allowed: " GRANT_TYPE_JWT_BEARER
			       ", " GRANT_TYPE_REFRESH_TOKEN ", " GRANT_TYPE_CLIENT_CREDENTIALS ")",
			       path, s);
	return ST_OK;
}

static bool scheme_char(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return !first && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.');
}

/* The authority of an http(s) URL: a host (name, IPv4 or [IPv6]) and an
 * optional port. User info is refused: a redirect target with credentials
 * is a phishing device, never a legitimate callback. */
static status check_authority(const char *a, size_t n, const char *path, struct err *e)
{
	size_t i = 0, host_end;

	if (memchr(a, '@', n) != NULL)
		return err_set(e, ST_INVALID, "%s: user information ('@') is not allowed", path);
	if (n > 0 && a[0] == '[') {
		while (i < n && a[i] != ']') {
			char ch = a[i];
			if (i > 0 && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
				       (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
				return err_set(e, ST_INVALID, "%s: malformed IPv6 host", path);
			i++;
		}
		if (i == n || i == 1)
			return err_set(e, ST_INVALID, "%s: malformed IPv6 host", path);
		host_end = ++i;
	} else {
		while (i < n && a[i] != ':') {
			char ch = a[i];
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '.' || ch == '_' ||
			      ch == '%'))
				return err_set(e, ST_INVALID,
					       "%s: invalid character '%c' in the host", path, ch);
			i++;
		}
		host_end = i;
	}
	if (host_end == 0)
		return err_set(e, ST_INVALID, "%s: the URL has no host", path);
	if (i < n) {
		int64_t port = 0;
		if (a[i] != ':' || sv_to_i64((struct sv){a + i + 1, n - i - 1}, &port) != ST_OK ||
		    a[i + 1] == '-' || port < 1 || port > 65535)
			return err_set(e, ST_INVALID, "%s: invalid port", path);
	}
	return ST_OK;
}

/* glibc's regcomp() copies the subexpression under every '+' and interval
 * ({m,n}: n copies), so stacked or nested repetitions ("a++++...",
 * "((a{99}){99}){99}") grow its parse tree, and its memory, exponentially
 * (found by fuzz/admin/fuzz_app.c). A callback pattern needs nothing of the
 * kind: the pattern's size with every repetition expanded is bounded by
 * APP_REGEX_EXPANDED before regcomp() sees it. */
#define APP_REGEX_EXPANDED 4096
#define APP_REGEX_DEPTH    32

static size_t sat_mul(size_t a, size_t b)
{
	return b != 0 && a > (APP_REGEX_EXPANDED + 1) / b ? APP_REGEX_EXPANDED + 1 : a * b;
}

static size_t sat_add(size_t a, size_t b)
{
	return a + b > APP_REGEX_EXPANDED + 1 ? APP_REGEX_EXPANDED + 1 : a + b;
}

/* Reads an interval "{m}", "{m,}", "{m,n}" or "{,n}" at `p`; its largest copy count
 * in *k (m + 1 for "{m,}"). NULL when it is not one (regcomp() judges). */
static const char *interval(const char *p, size_t *k)
{
	size_t m = 0, n = 0, digits = 0;

	for (p++; *p >= '0' && *p <= '9'; p++, digits++)
		m = sat_add(sat_mul(m, 10), (size_t)(*p - '0'));
	if (digits == 0 && *p != ',') /* glibc reads "{,n}" as "{0,n}" */
		return NULL;
	n = m;
	if (*p == ',') {
		n = sat_add(m, 1);
		digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			n = digits == 0 ? (size_t)(*p - '0')
					: sat_add(sat_mul(n, 10), (size_t)(*p - '0'));
	}
	if (*p != '}')
		return NULL;
	*k = n > m ? n : m;
	return p + 1;
}

/* Whether ERE `re` expanded stays within APP_REGEX_EXPANDED atoms. */
static bool regex_bounded(const char *re)
{
	size_t total[APP_REGEX_DEPTH + 1] = {0}, last[APP_REGEX_DEPTH + 1] = {0};
	size_t d = 0, k;
	const char *p = re, *q;

	while (*p != '\0') {
		k = 0;
		if (*p == '(') {
			if (d == APP_REGEX_DEPTH)
				return false;
			d++;
			total[d] = last[d] = 0;
			p++;
			continue;
		}
		if (*p == ')' && d > 0) {
			size_t g = sat_add(total[d], 1);
			d--;
			total[d] = sat_add(total[d], g);
			last[d] = g;
			p++;
			continue;
		}
		if (*p == '+') {
			k = 2;
			p++;
		} else if (*p == '{' && (q = interval(p, &k)) != NULL) {
			p = q;
		} else if (*p == '*' || *p == '?') {
			k = 1;
			p++;
		}
		if (k != 0) {
			/* The last atom now counts k times (k - 1 more copies). */
			size_t grown = sat_mul(last[d], k);
			total[d] = sat_add(total[d], grown > last[d] ? grown - last[d] : 0);
			last[d] = grown;
		} else {
			if (*p == '\\' && p[1] != '\0') {
				p += 2;
			} else if (*p == '[') {
				/* A bracket expression is one atom: "[]...]", "[^]...]",
				 * "[[:alpha:]]"; unterminated ones are regcomp()'s to refuse. */
				p++;
				if (*p == '^')
					p++;
				if (*p == ']')
					p++;
				while (*p != '\0' && *p != ']') {
					if (*p == '[' &&
					    (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
						char close = p[1];
						for (p += 2;
						     *p != '\0' && !(*p == close && p[1] == ']');
						     p++)
							;
						if (*p != '\0')
							p += 2;
					} else {
						p++;
					}
				}
				if (*p == ']')
					p++;
			} else {
				p++;
			}
			total[d] = sat_add(total[d], 1);
			last[d] = 1;
		}
		if (total[d] > APP_REGEX_EXPANDED)
			return false;
	}
	/* Unclosed groups: regcomp() refuses them; count them anyway. */
	for (; d > 0; d--)
		total[d - 1] = sat_add(total[d - 1], total[d]);
	return total[0] <= APP_REGEX_EXPANDED;
}

static status check_callback(const char *s, size_t n, const char *path, const struct config *cfg,
			     struct err *e)
{
	static const char *const banned[] = {"javascript", "data", "vbscript", "file", NULL};
	const char *colon;
	size_t slen;

	(void)cfg;
	if (n == 0 || n > APP_URL_MAX)
		return err_set(e, ST_INVALID, "%s: must be 1 to %d bytes", path, APP_URL_MAX);
	if (strncmp(s, "regexp=", 7) == 0) {
		regex_t re;
		int rc;
		if (n == 7)
			return err_set(e, ST_INVALID, "%s: empty regular expression", path);
		if (!regex_bounded(s + 7))
			return err_set(e, ST_INVALID,
				       "%s: regular expression too complex (repetitions expand it "
				       "beyond %d elements, or groups nest deeper than %d)",
				       path, APP_REGEX_EXPANDED, APP_REGEX_DEPTH);
		rc = regcomp(&re, s + 7, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof why);
			return err_set(e, ST_INVALID, "%s: invalid regular expression: %s", path,
				       why);
		}
		regfree(&re);
		return ST_OK;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 0x20 || ch >= 0x7f)
			return err_set(e, ST_INVALID,
				       "%s: spaces, control and non-ASCII characters must be "
				       "percent-encoded",
				       path);
	}
	if (memchr(s, '#', n) != NULL)
		return err_set(e, ST_INVALID, "%s: a callback URL must not contain a fragment",
			       path);
	colon = memchr(s, ':', n);
	slen = colon ? (size_t)(colon - s) : 0;
	for (size_t i = 0; i < slen; i++)
		if (!scheme_char(s[i], i == 0))
			slen = 0;
	if (slen == 0)
		return err_set(e, ST_INVALID,
			       "%s: must be an absolute URL (https://host/path, or "
			       "a custom scheme such as com.example.app:/cb) or regexp=...",
			       path);
	for (size_t i = 0; banned[i] != NULL; i++)
		if (slen == strlen(banned[i]) && strncasecmp(s, banned[i], slen) == 0)
			return err_set(e, ST_INVALID, "%s: the scheme '%s' is not allowed", path,
				       banned[i]);
	if ((slen == 5 && strncasecmp(s, "https", 5) == 0) ||
	    (slen == 4 && strncasecmp(s, "http", 4) == 0)) {
		const char *a = colon + 1, *end = s + n;
		size_t alen;
		if (end - a < 2 || a[0] != '/' || a[1] != '/')
			return err_set(e, ST_INVALID, "%s: an http(s) URL needs '//' and a host",
				       path);
		a += 2;
		alen = strcspn(a, "/?");
		return check_authority(a, alen, path, e);
	}
	if (colon + 1 == s + n)
		return err_set(e, ST_INVALID, "%s: nothing after the scheme", path);
	return ST_OK;
}

static status check_audience(const char *s, size_t n, const char *path, const struct config *cfg,
			     struct err *e)
{
	(void)cfg;
	if (n == 0)
		return err_set(e, ST_INVALID, "%s: an audience must be a non-empty string", path);
	if (n > APP_URL_MAX || has_control(s, n))
		return err_set(e, ST_INVALID,
			       "%s: an audience is at most %d bytes without control characters",
			       path, APP_URL_MAX);
	return ST_OK;
}

/* RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
static status check_scope(const char *s, size_t n, const char *path, const struct config *cfg,
			  struct err *e)
{
	(void)cfg;
	if (n == 0 || n > APP_SCOPE_MAX)
		return err_set(e, ST_INVALID, "%s: a scope is 1 to %d characters", path,
			       APP_SCOPE_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!scope_token_char(ch))
			return err_set(
			    e, ST_INVALID,
			    "%s: a scope token may not contain spaces, quotes, "
			    "backslashes, control or non-ASCII characters (RFC 6749 §3.3)",
			    path);
	}
	return ST_OK;
}

static status check_idp_name(const char *s, size_t n, const char *path, const struct config *cfg,
			     struct err *e)
{
	(void)cfg;
	if (n == 0 || utf8_chars(s, n) > LIMIT_NAME || has_control(s, n))
		return err_set(e, ST_INVALID,
			       "%s: an identity provider name is 1 to %d characters without "
			       "control characters",
			       path, LIMIT_NAME);
	return ST_OK;
}

struct list_rule {
	item_check chk;
	const struct config *cfg;
};

/* A string passing the list's item check, not already in the list. */
static status check_list_entry(const json_t *v, const char *path, const struct strlist *l,
			       void *ctx, struct err *e)
{
	const struct list_rule *r = ctx;
	const char *s = json_string_value(v);
	status st;

	if (s == NULL)
		return err_set(e, ST_INVALID, "%s: must be a string", path);
	if ((st = r->chk(s, json_string_length(v), path, r->cfg, e)) != ST_OK)
		return st;
	if (strlist_has(l, s))
		return err_set(e, ST_INVALID, "%s: duplicate value '%.64s'", path, s);
	return ST_OK;
}

/* A list of strings; `v` NULL (absent or null) gives an empty list. */
static status parse_list(const json_t *v, const char *path, item_check chk,
			 const struct config *cfg, struct strlist *out, struct err *e)
{
	struct list_rule r = {chk, cfg};

	if (v == NULL)
		return ST_OK;
	if (!json_is_array(v))
		return err_set(e, ST_INVALID, "%s: must be an array of strings", path);
	if (json_array_size(v) > APP_LIST_MAX)
		return err_set(e, ST_INVALID, "%s: at most %d entries", path, APP_LIST_MAX);
	return conf_strlist_parse(v, path, check_list_entry, &r, out, e);
}

/* An optional integer of 1..APP_TTL_MAX seconds; *out stays 0 when absent. */
static status parse_ttl(const json_t *obj, const char *key, const char *path, int64_t *out,
			struct err *e)
{
	json_t *v = conf_member(obj, key);
	json_int_t x;

	if (v == NULL)
		return ST_OK;
	x = json_is_integer(v) ? json_integer_value(v) : 0;
	if (!json_is_integer(v) || x < 1 || x > APP_TTL_MAX)
		return err_set(e, ST_INVALID, "%s.%s: must be an integer from 1 to %d (seconds)",
			       path, key, APP_TTL_MAX);
	*out = (int64_t)x;
	return ST_OK;
}

static status parse_bool(const json_t *obj, const char *key, const char *path, bool *out,
			 bool *present, struct err *e)
{
	json_t *v = conf_member(obj, key);

	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return ST_OK;
	if (!json_is_boolean(v))
		return err_set(e, ST_INVALID, "%s%s%s: must be true or false", path,
			       path[0] ? "." : "", key);
	*out = json_is_true(v);
	return ST_OK;
}

/* An optional object; *out NULL when absent. */
static status parse_object(const json_t *obj, const char *key, const char *path,
			   const char *const *allowed, json_t **out, struct err *e)
{
	char p[PATH_MAX_LEN];
	json_t *v = conf_member(obj, key);

	*out = NULL;
	if (v == NULL)
		return ST_OK;
	snprintf(p, sizeof p, "%s.%s", path, key);
	if (!json_is_object(v))
		return err_set(e, ST_INVALID, "%s: must be an object", p);
	*out = v;
	return conf_check_members(v, allowed, p, e);
}

/* ---- the oidc object ---------------------------------------------------------- */

static status parse_client_id(const json_t *oidc, struct app_conf *c, struct err *e)
{
	json_t *v = conf_member(oidc, "clientId");

	if (v == NULL)
		return err_set(e, ST_INVALID, OIDC ".clientId: required");
	if (!json_is_string(v) ||
	    !app_client_id_valid((struct sv){json_string_value(v), json_string_length(v)}))
		return err_set(e, ST_INVALID,
			       OIDC ".clientId: must be %d to %d characters of A-Z a-z 0-9 _ -",
			       APP_CLIENT_ID_MIN, LIMIT_CLIENT_ID);
	c->client_id = conf_string_dup(v);
	return c->client_id ? ST_OK : err_set(e, ST_NOMEM, "out of memory");
}

static status parse_grants(const json_t *oidc, const struct config *cfg, struct app_conf *c,
			   struct err *e)
{
	struct strlist l = {0};
	json_t *v = conf_member(oidc, "grantTypes");
	status st;

	if (v == NULL)
		return err_set(e, ST_INVALID, OIDC ".grantTypes: required");
	st = parse_list(v, OIDC ".grantTypes", check_grant, cfg, &l, e);
	if (st == ST_OK && l.n == 0)
		st = err_set(e, ST_INVALID, OIDC ".grantTypes: must list at least one grant type");
	for (size_t i = 0; st == ST_OK && i < l.n; i++)
		c->grants |= app_grant_parse(l.v[i]);
	strlist_free(&l);
	return st;
}

static status parse_tokens(const json_t *oidc, struct app_conf *c, struct err *e)
{
	static const char *const at_fields[] = {"type", "userAccessTokenExpiryInSeconds",
						"applicationAccessTokenExpiryInSeconds", NULL};
	static const char *const rt_fields[] = {"expiryInSeconds", "renewRefreshToken", NULL};
	json_t *at, *rt, *type;
	bool renew = false, present = false;
	status st;

	if ((st = parse_object(oidc, "accessToken", OIDC, at_fields, &at, e)) != ST_OK)
		return st;
	if (at != NULL) {
		type = conf_member(at, "type");
		if (type != NULL) {
			const char *t = json_string_value(type);
			if (t == NULL || (strcmp(t, "Default") != 0 && strcmp(t, "JWT") != 0))
				return err_set(e, ST_INVALID,
					       OIDC
					       ".accessToken.type: must be \"Default\" or \"JWT\"");
			c->jwt_access_token = strcmp(t, "JWT") == 0;
		}
		if ((st = parse_ttl(at, "userAccessTokenExpiryInSeconds", OIDC ".accessToken",
				    &c->user_access_token_ttl, e)) != ST_OK ||
		    (st = parse_ttl(at, "applicationAccessTokenExpiryInSeconds",
				    OIDC ".accessToken", &c->app_access_token_ttl, e)) != ST_OK)
			return st;
	}
	if ((st = parse_object(oidc, "refreshToken", OIDC, rt_fields, &rt, e)) != ST_OK)
		return st;
	if (rt != NULL) {
		if ((st = parse_ttl(rt, "expiryInSeconds", OIDC ".refreshToken",
				    &c->refresh_token_ttl, e)) != ST_OK ||
		    (st = parse_bool(rt, "renewRefreshToken", OIDC ".refreshToken", &renew,
				     &present, e)) != ST_OK)
			return st;
		if (present)
			c->renew_refresh_token = renew ? 1 : 0;
	}
	return ST_OK;
}

static status parse_client_auth(const json_t *oidc, const struct config *cfg, struct app_conf *c,
				struct err *e)
{
	static const char *const fields[] = {"tokenEndpointAuthMethod", "jwksUri", "jwks", NULL};
	const char *P = OIDC ".clientAuthentication";
	json_t *ca, *m, *uri, *jwks;
	struct err ke = {0};
	status st;

	c->auth_method = c->public_client ? APP_AUTH_NONE : APP_AUTH_SECRET_BASIC;
	if ((st = parse_object(oidc, "clientAuthentication", OIDC, fields, &ca, e)) != ST_OK)
		return st;
	m = conf_member(ca, "tokenEndpointAuthMethod");
	if (m != NULL) {
		const char *s = json_string_value(m);
		size_t i = 0;
		while (s != NULL && i < sizeof methods / sizeof methods[0] &&
		       strcmp(s, methods[i].name) != 0)
			i++;
		if (s == NULL || i == sizeof methods / sizeof methods[0])
			return err_set(
			    e, ST_INVALID,
			    "%s.tokenEndpointAuthMethod: must be one of client_secret_basic, "
			    "client_secret_post, private_key_jwt, none",
			    P);
		c->auth_method = methods[i].m;
	}
	if (c->public_client && c->auth_method != APP_AUTH_NONE)
		return err_set(e, ST_INVALID,
			       "%s.tokenEndpointAuthMethod: a public client has no secret or keys; "
			       "its method is \"none\"",
			       P);
	if (!c->public_client && c->auth_method == APP_AUTH_NONE)
		return err_set(e, ST_INVALID,
			       "%s.tokenEndpointAuthMethod: \"none\" requires publicClient: true",
			       P);

	uri = conf_member(ca, "jwksUri");
	jwks = conf_member(ca, "jwks");
	if (c->auth_method != APP_AUTH_PRIVATE_KEY_JWT) {
		if (uri != NULL || jwks != NULL)
			return err_set(e, ST_INVALID,
				       "%s.%s: client keys are used only with private_key_jwt", P,
				       uri ? "jwksUri" : "jwks");
		return ST_OK;
	}
	if ((uri == NULL) == (jwks == NULL))
		return err_set(e, ST_INVALID,
			       "%s: private_key_jwt needs exactly one of jwksUri and jwks", P);
	if (uri != NULL) {
		const char *s = json_string_value(uri);
		if (s == NULL || json_string_length(uri) == 0 ||
		    json_string_length(uri) > APP_URL_MAX)
			return err_set(e, ST_INVALID, "%s.jwksUri: must be a URL of 1 to %d bytes",
				       P, APP_URL_MAX);
		if ((st = keys_check_uri(cfg, s, &ke)) != ST_OK)
			return err_set(e, st == ST_NOMEM ? ST_NOMEM : ST_INVALID, "%s.jwksUri: %s",
				       P, ke.msg);
		c->client_jwks_uri = conf_string_dup(uri);
		return c->client_jwks_uri ? ST_OK : err_set(e, ST_NOMEM, "out of memory");
	}
	if (!json_is_object(jwks))
		return err_set(e, ST_INVALID, "%s.jwks: must be a JWKS object {\"keys\": [...]}",
			       P);
	st = jose_keyset_from_jwks_json(jwks, 0, &c->client_keys, &ke);
	if (st != ST_OK)
		return err_set(e,
			       st == ST_NOMEM         ? ST_NOMEM
			       : st == ST_UNSUPPORTED ? ST_UNSUPPORTED
						      : ST_INVALID,
			       "%s.jwks: %s", P, ke.msg);
	c->client_jwks = json_deep_copy(jwks);
	return c->client_jwks ? ST_OK : err_set(e, ST_NOMEM, "out of memory");
}

static status parse_oidc_core(const json_t *oidc, const struct config *cfg, struct app_conf *c,
			      struct err *e)
{
	static const char *const fields[] = {
	    "clientId",
	    "grantTypes",
	    "callbackURLs",
	    "publicClient",
	    "accessToken",
	    "refreshToken",
	    "idToken",
	    "allowedScopes",
	    "allowedIdentityProviders",
	    "clientAuthentication",
	    NULL,
	};
	static const char *const id_token_fields[] = {"audience", "expiryInSeconds", NULL};
	json_t *idt;
	status st;

	if ((st = conf_check_members(oidc, fields, OIDC, e)) != ST_OK ||
	    (st = parse_client_id(oidc, c, e)) != ST_OK ||
	    (st = parse_grants(oidc, cfg, c, e)) != ST_OK ||
	    (st = parse_list(conf_member(oidc, "callbackURLs"), OIDC ".callbackURLs",
			     check_callback, cfg, &c->callbacks, e)) != ST_OK ||
	    (st = parse_bool(oidc, "publicClient", OIDC, &c->public_client, NULL, e)) != ST_OK ||
	    (st = parse_tokens(oidc, c, e)) != ST_OK ||
	    (st = parse_object(oidc, "idToken", OIDC, id_token_fields, &idt, e)) != ST_OK ||
	    (st = parse_list(conf_member(idt, "audience"), OIDC ".idToken.audience", check_audience,
			     cfg, &c->audiences, e)) != ST_OK ||
	    (st = parse_ttl(idt, "expiryInSeconds", OIDC ".idToken", &c->id_token_ttl, e)) !=
		ST_OK ||
	    (st = parse_list(conf_member(oidc, "allowedScopes"), OIDC ".allowedScopes", check_scope,
			     cfg, &c->allowed_scopes, e)) != ST_OK ||
	    (st = parse_list(conf_member(oidc, "allowedIdentityProviders"),
			     OIDC ".allowedIdentityProviders", check_idp_name, cfg,
			     &c->allowed_idps, e)) != ST_OK)
		return st;
	if (c->public_client && (c->grants & APP_GRANT_CLIENT_CREDENTIALS))
		return err_set(e, ST_INVALID,
			       OIDC ".grantTypes: a public client cannot use client_credentials "
				    "(it has no credentials)");
	return parse_client_auth(oidc, cfg, c, e);
}

/* The oidc object: WSO2's members kept aside in c->wso2, the rest parsed. */
static status parse_oidc(const json_t *oidc, const struct config *cfg, struct app_conf *c,
			 struct err *e)
{
	json_t *rest = NULL;
	status st;

	if (conf_member(oidc, "clientSecretExpiresAt") != NULL &&
	    !(json_is_integer(conf_member(oidc, "clientSecretExpiresAt")) &&
	      json_integer_value(conf_member(oidc, "clientSecretExpiresAt")) == 0))
		return err_set(e, ST_INVALID,
			       OIDC ".clientSecretExpiresAt: not supported by grantd (client "
				    "secrets do not expire; 0 or null only)");
	st = conf_extras_take(oidc, wso2_members, sizeof wso2_members / sizeof wso2_members[0],
			      OIDC, &rest, &c->wso2, e);
	if (st == ST_OK) {
		json_object_del(rest, "clientSecretExpiresAt");
		st = parse_oidc_core(rest, cfg, c, e);
	}
	json_decref(rest);
	if (st == ST_OK)
		c->has_oidc = true;
	return st;
}

static status parse_doc_core(const json_t *doc, const struct config *cfg, struct app_conf *c,
			     struct err *e);

/* The document: WSO2's application members kept aside in c->wso2_app,
 * the rest parsed. */
static status parse_doc(const json_t *doc, const struct config *cfg, struct app_conf *c,
			struct err *e)
{
	const json_t *en = conf_member(doc, "applicationEnabled");
	json_t *rest = NULL;
	status st;

	if (en != NULL && !json_is_true(en))
		return err_set(e, ST_INVALID,
			       "applicationEnabled: only true is supported by grantd (an "
			       "application that must not get tokens is deleted, or its secret "
			       "regenerated)");
	st = conf_extras_take(doc, wso2_app_members,
			      sizeof wso2_app_members / sizeof wso2_app_members[0], "", &rest,
			      &c->wso2_app, e);
	if (st == ST_OK) {
		json_object_del(rest, "applicationEnabled");
		st = parse_doc_core(rest, cfg, c, e);
	}
	json_decref(rest);
	return st;
}

static status parse_doc_core(const json_t *doc, const struct config *cfg, struct app_conf *c,
			     struct err *e)
{
	static const char *const fields[] = {"name", "description", "inboundProtocolConfiguration",
					     NULL};
	static const char *const ipc_fields[] = {"oidc", NULL};
	json_t *name, *desc, *ipc, *oidc;
	const char *s;
	size_t n;
	status st;

	if ((st = conf_check_members(doc, fields, "", e)) != ST_OK)
		return st;
	name = conf_member(doc, "name");
	s = json_string_value(name);
	n = json_string_length(name);
	if (s == NULL || n == 0 || utf8_chars(s, n) > LIMIT_NAME || has_control(s, n))
		return err_set(e, ST_INVALID,
			       "name: required, a string of 1 to %d characters without control "
			       "characters",
			       LIMIT_NAME);
	if (s[0] == ' ' || s[n - 1] == ' ')
		return err_set(e, ST_INVALID, "name: must not begin or end with a space");
	desc = conf_member(doc, "description");
	if (desc != NULL &&
	    (!json_is_string(desc) ||
	     utf8_chars(json_string_value(desc), json_string_length(desc)) > APP_DESCRIPTION_MAX))
		return err_set(e, ST_INVALID,
			       "description: must be a string of at most %d characters",
			       APP_DESCRIPTION_MAX);
	c->name = conf_string_dup(name);
	c->description = desc ? conf_string_dup(desc) : str_dup_sv(SV(""));
	if (c->name == NULL || c->description == NULL)
		return err_set(e, ST_NOMEM, "out of memory");

	/* No OIDC configuration yet (WSO2's console creates the application
	 * first): valid, and no client until PUT .../inbound-protocols/oidc. */
	ipc = conf_member(doc, "inboundProtocolConfiguration");
	if (ipc == NULL)
		return ST_OK;
	if (!json_is_object(ipc))
		return err_set(e, ST_INVALID, "inboundProtocolConfiguration: must be an object");
	if ((st = conf_check_members(ipc, ipc_fields, "inboundProtocolConfiguration", e)) != ST_OK)
		return st;
	oidc = conf_member(ipc, "oidc");
	if (oidc == NULL)
		return ST_OK;
	if (!json_is_object(oidc))
		return err_set(e, ST_INVALID, OIDC ": must be an object");
	return parse_oidc(oidc, cfg, c, e);
}

/* ---- public functions ------------------------------------------------------------ */

status app_conf_parse(const json_t *doc, const struct config *cfg, struct app_conf **out,
		      struct err *e)
{
	struct app_conf *c;
	status st;

	*out = NULL;
	if (!json_is_object(doc))
		return err_set(e, ST_INVALID, "the application must be a JSON object");
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	c->refs = 1;
	c->renew_refresh_token = -1;
	st = parse_doc(doc, cfg, c, e);
	if (st != ST_OK) {
		app_conf_free(c);
		return st;
	}
	*out = c;
	return ST_OK;
}

status app_conf_load(const struct store_app *a, const struct config *cfg, struct app_conf **out,
		     struct err *e)
{
	struct err pe = {0};
	struct app_conf *c = NULL;
	json_error_t je;
	json_t *doc;
	status st;

	*out = NULL;
	doc = json_loads(a->doc ? a->doc : "", JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return err_set(e, ST_INTERNAL, "application %s: stored document is not JSON: %s",
			       a->id, je.text);
	st = app_conf_parse(doc, cfg, &c, &pe);
	json_decref(doc);
	if (st == ST_NOMEM)
		return err_set(e, st, "out of memory");
	if (st != ST_OK)
		return err_set(e, ST_INTERNAL, "application %s: stored document is invalid: %s",
			       a->id, pe.msg);
	if (a->client_id == NULL || (c->has_oidc ? strcmp(a->client_id, c->client_id) != 0
						 : !app_client_id_is_placeholder(a->client_id))) {
		app_conf_free(c);
		return err_set(e, ST_INTERNAL,
			       "application %s: stored document disagrees with its client id",
			       a->id);
	}
	c->id = str_dup_sv(sv_from(a->id));
	c->tenant_id = str_dup_sv(sv_from(a->tenant_id));
	if (c->id == NULL || c->tenant_id == NULL) {
		app_conf_free(c);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	c->has_secret = a->has_secret;
	memcpy(c->secret_hash, a->secret_hash, SHA256_LEN);
	*out = c;
	return ST_OK;
}

void app_conf_ref(struct app_conf *c)
{
	ref_acquire(&c->refs);
}

void app_conf_free(struct app_conf *c)
{
	if (c == NULL || !ref_release(&c->refs))
		return;
	free(c->id);
	free(c->tenant_id);
	free(c->name);
	free(c->description);
	free(c->client_id);
	strlist_free(&c->callbacks);
	strlist_free(&c->audiences);
	strlist_free(&c->allowed_scopes);
	strlist_free(&c->allowed_idps);
	free(c->client_jwks_uri);
	jose_keyset_free(c->client_keys);
	json_decref(c->client_jwks);
	json_decref(c->wso2);
	json_decref(c->wso2_app);
	mem_wipe(c->secret_hash, sizeof c->secret_hash);
	free(c);
}

json_t *app_conf_doc(const struct app_conf *c, const struct config *cfg)
{
	json_t *doc = json_object(), *ipc = json_object(), *oidc = json_object();
	json_t *at = json_object(), *rt = json_object(), *idt = json_object();
	json_t *ca = json_object(), *grant_list = json_array();
	const char *method = "client_secret_basic";
	int64_t uat = c->user_access_token_ttl, aat = c->app_access_token_ttl;
	int64_t rtt = c->refresh_token_ttl, itt = c->id_token_ttl;
	bool renew = c->renew_refresh_token < 0 ? cfg->oauth.token_renewal.renew_refresh_token
						: c->renew_refresh_token != 0;
	bool ok;

	if (!c->has_oidc) {
		json_decref(ipc);
		json_decref(oidc);
		json_decref(at);
		json_decref(rt);
		json_decref(idt);
		json_decref(ca);
		json_decref(grant_list);
		ok = doc != NULL;
		conf_put(doc, "name", json_string(c->name), &ok);
		conf_put(doc, "description", json_string(c->description ? c->description : ""),
			 &ok);
		if (ok && c->wso2_app != NULL && !conf_extras_put(doc, c->wso2_app))
			ok = false;
		if (!ok) {
			json_decref(doc);
			return NULL;
		}
		return doc;
	}
	if (uat == 0)
		uat = cfg->oauth.token_validation.user_access_token_validity;
	if (aat == 0)
		aat = cfg->oauth.token_validation.app_access_token_validity;
	if (rtt == 0)
		rtt = cfg->oauth.token_validation.refresh_token_validity;
	if (itt == 0)
		itt = cfg->oauth.token_validation.id_token_validity;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (methods[i].m == c->auth_method)
			method = methods[i].name;
	for (size_t i = 0; grant_list != NULL && i < sizeof grants / sizeof grants[0]; i++)
		if ((c->grants & grants[i].bit) &&
		    json_array_append_new(grant_list, json_string(grants[i].name)) != 0) {
			json_decref(grant_list);
			grant_list = NULL;
		}

	ok = doc && ipc && oidc && at && rt && idt && ca && grant_list;
	conf_put(at, "type", json_string(c->jwt_access_token ? "JWT" : "Default"), &ok);
	conf_put(at, "userAccessTokenExpiryInSeconds", json_integer(uat), &ok);
	conf_put(at, "applicationAccessTokenExpiryInSeconds", json_integer(aat), &ok);
	conf_put(rt, "expiryInSeconds", json_integer(rtt), &ok);
	conf_put(rt, "renewRefreshToken", json_boolean(renew), &ok);
	conf_put(idt, "audience", conf_strlist_json(&c->audiences), &ok);
	conf_put(idt, "expiryInSeconds", json_integer(itt), &ok);
	conf_put(ca, "tokenEndpointAuthMethod", json_string(method), &ok);
	conf_put(ca, "jwksUri", c->client_jwks_uri ? json_string(c->client_jwks_uri) : json_null(),
		 &ok);
	conf_put(ca, "jwks", c->client_jwks ? json_deep_copy(c->client_jwks) : json_null(), &ok);

	conf_put(oidc, "clientId", json_string(c->client_id), &ok);
	conf_put(oidc, "grantTypes", grant_list, &ok);
	conf_put(oidc, "callbackURLs", conf_strlist_json(&c->callbacks), &ok);
	conf_put(oidc, "publicClient", json_boolean(c->public_client), &ok);
	conf_put(oidc, "accessToken", at, &ok);
	conf_put(oidc, "refreshToken", rt, &ok);
	conf_put(oidc, "idToken", idt, &ok);
	conf_put(oidc, "allowedScopes", conf_strlist_json(&c->allowed_scopes), &ok);
	conf_put(oidc, "allowedIdentityProviders", conf_strlist_json(&c->allowed_idps), &ok);
	conf_put(oidc, "clientAuthentication", ca, &ok);
	if (ok && c->wso2 != NULL && !conf_extras_put(oidc, c->wso2))
		ok = false;
	conf_put(ipc, "oidc", oidc, &ok);

	conf_put(doc, "name", json_string(c->name), &ok);
	conf_put(doc, "description", json_string(c->description ? c->description : ""), &ok);
	conf_put(doc, "inboundProtocolConfiguration", ipc, &ok);
	if (ok && c->wso2_app != NULL && !conf_extras_put(doc, c->wso2_app))
		ok = false;
	if (!ok) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

bool app_conf_accepts_auth(const struct app_conf *c, enum app_auth_method m)
{
	switch (m) {
	case APP_AUTH_SECRET_BASIC:
	case APP_AUTH_SECRET_POST:
		return !c->public_client && c->has_secret &&
		       (c->auth_method == APP_AUTH_SECRET_BASIC ||
			c->auth_method == APP_AUTH_SECRET_POST);
	case APP_AUTH_PRIVATE_KEY_JWT:
		return !c->public_client && c->auth_method == APP_AUTH_PRIVATE_KEY_JWT;
	case APP_AUTH_NONE: return c->public_client && c->auth_method == APP_AUTH_NONE;
	}
	return false;
}

unsigned app_grant_parse(const char *grant_type)
{
	if (grant_type == NULL)
		return 0;
	for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++)
		if (strcmp(grant_type, grants[i].name) == 0)
			return grants[i].bit;
	return 0;
}

status app_client_id_new(char out[APP_CLIENT_ID_LEN + 1])
{
	return rand_string(CLIENT_ID_ALPHABET, APP_CLIENT_ID_LEN, out, APP_CLIENT_ID_LEN + 1);
}

status app_secret_new(char out[APP_SECRET_LEN + 1])
{
	return rand_token(APP_SECRET_BYTES, out, APP_SECRET_LEN + 1);
}

bool app_client_id_valid(struct sv s)
{
	if (s.p == NULL || s.n < APP_CLIENT_ID_MIN || s.n > LIMIT_CLIENT_ID)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

status app_client_id_placeholder(const char *app_id, char out[APP_PLACEHOLDER_LEN + 1])
{
	if (app_id == NULL || strlen(app_id) + 1 > APP_PLACEHOLDER_LEN)
		return ST_INVALID;
	out[0] = '~';
	memcpy(out + 1, app_id, strlen(app_id) + 1);
	return ST_OK;
}

bool app_client_id_is_placeholder(const char *client_id)
{
	return client_id != NULL && client_id[0] == '~';
}
