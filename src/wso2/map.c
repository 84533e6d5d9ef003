/* map.c - a WSO2 IdentityProvider or ServiceProvider tree into the admin
 * API's POST body, with the report of what was mapped and what was dropped
 * (wso2.h; the table of what maps to what is docs/import.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/limits.h"
#include "lib/str.h"
#include "wso2/wso2.h"

#define GT_JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define TTL_MAX       315360000 /* as APP_TTL_MAX (src/oauth/app_conf.h) */

const char *wso2_kind_name(enum wso2_kind k)
{
	return k == WSO2_IDP ? "identity provider" : "application";
}

void wso2_object_clear(struct wso2_object *o)
{
	json_t *oidc =
	    json_object_get(json_object_get(o->body, "inboundProtocolConfiguration"), "oidc");
	json_t *secret = json_object_get(oidc, "clientSecret");

	if (json_is_string(secret))
		mem_wipe((char *)json_string_value(secret), json_string_length(secret));
	json_decref(o->name);
	json_decref(o->body);
	json_decref(o->mapped);
	json_decref(o->dropped);
	json_decref(o->notes);
	memset(o, 0, sizeof *o);
}

/* ---- tree access --------------------------------------------------------------- */

/* The member of `o` named `name` without regard to case, and its key as
 * spelled in the file. */
static json_t *member(const json_t *o, const char *name, const char **key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return NULL;
	json_object_foreach((json_t *)o, k, v) if (strcasecmp(k, name) == 0)
	{
		if (key != NULL)
			*key = k;
		return v;
	}
	return NULL;
}

/* A string member without surrounding whitespace, NULL when absent, null
 * or empty. Numbers and booleans (JSON) are not strings here. */
static char *text_of(const json_t *v)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (n == 0)
		return NULL;
	return strndup(s, n);
}

/* true/false from a JSON boolean or the strings "true"/"false" (XML, YAML);
 * -1 when absent or anything else. */
static int bool_of(const json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_boolean(v))
		return json_is_true(v);
	if (s != NULL && strcasecmp(s, "true") == 0)
		return 1;
	if (s != NULL && strcasecmp(s, "false") == 0)
		return 0;
	return -1;
}

/* An integer from a JSON integer or a decimal string; false otherwise. */
static bool int_of(const json_t *v, int64_t *out)
{
	char *s;
	bool ok;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if ((s = text_of(v)) == NULL)
		return false;
	ok = sv_to_i64(sv_from(s), out) == ST_OK;
	free(s);
	return ok;
}

/* Whether `v` holds something: not "false", 0, "", null or an empty (or
 * all-default) list or object. */
static bool meaningful(const json_t *v, int depth)
{
	const char *k;
	json_t *m;
	size_t i;
	int64_t n;

	if (v == NULL || json_is_null(v) || json_is_false(v) || depth > LIMIT_IMPORT_DEPTH)
		return false;
	if (json_is_string(v)) {
		char *s = text_of(v);
		bool yes = s != NULL && strcasecmp(s, "false") != 0 && !(int_of(v, &n) && n == 0);
		free(s);
		return yes;
	}
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_real(v))
		return json_real_value(v) != 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m) if (meaningful(m, depth + 1)) return true;
		return false;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, m) if (meaningful(m, depth + 1)) return true;
		return false;
	}
	return true;
}

/* The entries of a list member: a JSON/YAML array as it is, XML's wrapper
 * element {"<item>": x} or {"<item>": [x, y]}, or a single value. A new
 * array; NULL on OOM. */
static json_t *items_of(const json_t *v, const char *item)
{
	json_t *arr = json_array(), *inner;

	if (arr == NULL || v == NULL || json_is_null(v))
		return arr;
	if (json_is_array(v)) {
		json_array_extend(arr, (json_t *)v);
		return arr;
	}
	if (json_is_object(v) && item != NULL && (inner = member(v, item, NULL)) != NULL &&
	    json_object_size(v) == 1) {
		if (json_is_array(inner))
			json_array_extend(arr, inner);
		else
			json_array_append(arr, inner);
		return arr;
	}
	if (json_is_object(v) && json_object_size(v) == 0)
		return arr;
	json_array_append(arr, (json_t *)v);
	return arr;
}

/* ---- the report ------------------------------------------------------------------ */

struct ctx {
	struct wso2_object *o;
	bool ok; /* no allocation failed */
};

/* Appends "<prefix><name>" to `list`; `name` comes from the file, so it is
 * shown as str_show() shows untrusted text. */
static void note_name(struct ctx *c, json_t *list, const char *prefix, const char *name)
{
	char shown[204], buf[256];

	str_show(shown, sizeof shown, name, strlen(name));
	snprintf(buf, sizeof buf, "%s%s", prefix, shown);
	if (json_array_append_new(list, json_string(buf)) != 0)
		c->ok = false;
}

static void mapped(struct ctx *c, const char *prefix, const char *key)
{
	note_name(c, c->o->mapped, prefix, key);
}

static void dropped(struct ctx *c, const char *prefix, const char *key)
{
	note_name(c, c->o->dropped, prefix, key);
}

__attribute__((format(printf, 2, 3))) static void note(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (json_array_append_new(c->o->notes, json_string(buf)) != 0)
		c->ok = false;
}

/* A member name as found by member(): it matched a known name without
 * regard to case, so it is that name in the file's spelling (ASCII
 * letters only); anything else would be a bug. */
static const char *shown_key(const char *key)
{
	for (const char *p = key; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return "?";
	return key;
}

/* Reports every member of `obj` not named in `used` (NULL-terminated, any
 * case) that holds something as dropped. */
static void drop_rest(struct ctx *c, const json_t *obj, const char *const *used, const char *prefix)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		bool known = false;
		for (size_t i = 0; used[i] != NULL && !known; i++)
			known = strcasecmp(k, used[i]) == 0;
		if (!known && meaningful(v, 0))
			dropped(c, prefix, k);
	}
}

static void put(struct ctx *c, json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		c->ok = false;
}

/* o[k] = the trimmed text of member `name` of `src` when it has one. */
static bool put_text(struct ctx *c, json_t *o, const char *k, const json_t *src, const char *name,
		     const char *prefix)
{
	const char *key;
	json_t *v = member(src, name, &key);
	char *s = text_of(v);

	if (s == NULL)
		return false;
	put(c, o, k, json_string(s));
	free(s);
	mapped(c, prefix, key);
	return true;
}

/* o[k] = the boolean member `name` of `src` when it is one. */
static void put_bool(struct ctx *c, json_t *o, const char *k, const json_t *src, const char *name,
		     const char *prefix)
{
	const char *key;
	int b = bool_of(member(src, name, &key));

	if (b < 0)
		return;
	put(c, o, k, json_boolean(b));
	mapped(c, prefix, key);
}

/* ---- identity providers ------------------------------------------------------------ */

/* Adds each PEM block of `s` (n bytes) to `certs`; false when it has none. */
static bool add_pem_blocks(struct ctx *c, json_t *certs, const char *s, size_t n)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = s, *lim = s + n;
	bool any = false;

	for (;;) {
		const char *b = memmem(p, (size_t)(lim - p), "-----BEGIN CERTIFICATE-----", 27);
		const char *x;
		if (b == NULL)
			break;
		x = memmem(b, (size_t)(lim - b), end, sizeof end - 1);
		if (x == NULL)
			break;
		x += sizeof end - 1;
		if (json_array_append_new(certs, json_stringn(b, (size_t)(x - b))) != 0)
			c->ok = false;
		any = true;
		p = x;
	}
	return any;
}

/* One certificate text as WSO2 stores it: PEM (one or more), base64 of a
 * PEM (as the console uploads it), or a bare base64 DER body. */
static void add_cert_text(struct ctx *c, json_t *certs, const char *s)
{
	size_t n = strlen(s), cap = b64_decoded_max(n), len = 0;
	unsigned char *der;

	if (add_pem_blocks(c, certs, s, n))
		return;
	if ((der = malloc(cap + 1)) == NULL) {
		c->ok = false;
		return;
	}
	if (b64std_decode(sv_from(s), true, der, cap, &len) == ST_OK &&
	    add_pem_blocks(c, certs, (const char *)der, len)) {
		free(der);
		return;
	}
	free(der);
	/* As given: idp_conf_parse() checks it (base64 DER, or it refuses). */
	if (json_array_append_new(certs, json_string(s)) != 0)
		c->ok = false;
}

/* The certificates of Certificate (text, or WSO2's JSON array
 * [{"thumbPrint", "certValue"}]) or else certificateInfoArray. */
/* The certValue of each {"thumbPrint", "certValue"} entry of `arr`. */
static void add_cert_values(struct ctx *c, json_t *certs, const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		char *cv = text_of(member(v, "certValue", NULL));
		if (cv != NULL)
			add_cert_text(c, certs, cv);
		free(cv);
	}
}

static json_t *idp_certificates(struct ctx *c, const json_t *idp)
{
	const char *key;
	json_t *certs = json_array(), *info, *arr = NULL;
	char *s = text_of(member(idp, "certificate", &key));

	if (certs == NULL) {
		c->ok = false;
		free(s);
		return NULL;
	}
	if (s != NULL && s[0] == '[') {
		arr = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
		add_cert_values(c, certs, arr);
		mapped(c, "", key);
	} else if (s != NULL) {
		add_cert_text(c, certs, s);
		mapped(c, "", key);
	} else if ((info = member(idp, "certificateInfoArray", &key)) != NULL) {
		arr = items_of(info, "certificateInfo");
		add_cert_values(c, certs, arr);
		if (json_array_size(certs) > 0)
			mapped(c, "", key);
	}
	json_decref(arr);
	free(s);
	return certs;
}

static status map_idp(struct ctx *c, const json_t *idp, struct err *e)
{
	static const char *const used[] = {"identityProviderName",
					   "identityProviderDescription",
					   "alias",
					   "isEnabled",
					   "enable",
					   "certificate",
					   "certificateInfoArray",
					   "idpProperties",
					   "imageUrl",
					   "isPrimary",
					   "primary",
					   "isFederationHub",
					   "federationHub",
					   "homeRealmId",
					   "templateId",
					   "displayName",
					   "id",
					   "resourceId",
					   NULL};
	struct wso2_object *o = c->o;
	json_t *body = o->body, *cert = json_object(), *certs, *props;
	const char *key;
	char *name, *dn;
	size_t i;
	json_t *p;

	if ((name = text_of(member(idp, "identityProviderName", &key))) == NULL) {
		json_decref(cert);
		return err_set(e, ST_INVALID, "identity provider: no IdentityProviderName");
	}
	o->name = json_string(name);
	put(c, body, "name", json_string(name));
	mapped(c, "", key);
	put_text(c, body, "description", idp, "identityProviderDescription", "");
	put_bool(c, body, "isEnabled", idp, member(idp, "isEnabled", NULL) ? "isEnabled" : "enable",
		 "");
	put_text(c, body, "alias", idp, "alias", "");
	if ((dn = text_of(member(idp, "displayName", &key))) != NULL && strcmp(dn, name) != 0)
		dropped(c, "", key);
	free(dn);
	free(name);

	/* IdpProperties: idpIssuerName and jwksUri are grantd's; others not. */
	props = items_of(member(idp, "idpProperties", &key), "idpProperty");
	json_array_foreach(props, i, p)
	{
		char *pn = text_of(member(p, "name", NULL));
		char *pv = text_of(member(p, "value", NULL));
		if (pn != NULL && pv != NULL && strcmp(pn, "idpIssuerName") == 0) {
			put(c, body, "idpIssuerName", json_string(pv));
			mapped(c, "IdpProperties.", pn);
		} else if (pn != NULL && pv != NULL && strcmp(pn, "jwksUri") == 0) {
			put(c, cert, "jwksUri", json_string(pv));
			mapped(c, "IdpProperties.", pn);
		} else if (pn != NULL && pv != NULL && meaningful(member(p, "value", NULL), 0)) {
			dropped(c, "IdpProperties.", pn);
		}
		free(pn);
		free(pv);
	}
	json_decref(props);

	certs = idp_certificates(c, idp);
	if (json_array_size(certs) > 0)
		put(c, cert, "certificates", certs);
	else
		json_decref(certs);
	put(c, body, "certificate", cert);

	/* The WSO2 members the admin API keeps as given (docs/api/openapi.yaml,
	 * "WSO2 members"). */
	put_text(c, body, "image", idp, "imageUrl", "");
	put_bool(c, body, "isPrimary", idp,
		 member(idp, "isPrimary", NULL) ? "isPrimary" : "primary", "");
	put_bool(c, body, "isFederationHub", idp,
		 member(idp, "isFederationHub", NULL) ? "isFederationHub" : "federationHub", "");
	put_text(c, body, "homeRealmIdentifier", idp, "homeRealmId", "");
	put_text(c, body, "templateId", idp, "templateId", "");
	drop_rest(c, idp, used, "");
	return ST_OK;
}

/* ---- applications ---------------------------------------------------------------- */

/* A secret WSO2 masked on export (excludeSecrets): asterisks only. */
static bool masked(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != '*')
			return false;
	return true;
}

/* grantTypes: WSO2's space-separated list; the ones grantd knows. */
static status app_grants(struct ctx *c, json_t *oidc, const json_t *dao, struct err *e)
{
	static const char *const known[] = {GT_JWT_BEARER, "refresh_token", "client_credentials"};
	const char *key;
	char *s = text_of(member(dao, "grantTypes", &key)), *save = NULL, *t;
	json_t *arr = json_array();

	if (arr == NULL) {
		free(s);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	for (t = s != NULL ? strtok_r(s, " \t\r\n,", &save) : NULL; t != NULL;
	     t = strtok_r(NULL, " \t\r\n,", &save)) {
		bool k = false, dup = false;
		size_t i;
		json_t *g;
		for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
			k = k || strcmp(t, known[j]) == 0;
		json_array_foreach(arr, i, g) dup = dup || strcmp(json_string_value(g), t) == 0;
		if (k && !dup)
			json_array_append_new(arr, json_string(t));
		else if (!k)
			note_name(c, c->o->dropped, "oAuthAppDO.grantTypes: ", t);
	}
	free(s);
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return err_set(e, ST_INVALID,
			       "application: none of its grantTypes is one grantd supports (%s, "
			       "refresh_token, client_credentials)",
			       GT_JWT_BEARER);
	}
	mapped(c, "oAuthAppDO.", key);
	put(c, oidc, "grantTypes", arr);
	return ST_OK;
}

/* A lifetime in seconds; WSO2 writes 0 or a negative number for "the
 * server's default", which is what leaving it out means here. */
static void put_ttl(struct ctx *c, json_t *o, const char *k, const json_t *dao, const char *name)
{
	const char *key;
	json_t *v = member(dao, name, &key);
	int64_t n;

	if (v == NULL || !int_of(v, &n))
		return;
	if (n > 0) {
		put(c, o, k, json_integer(n > TTL_MAX ? TTL_MAX : n));
		if (n > TTL_MAX)
			note(c, "oAuthAppDO.%s: longer than ten years; capped at ten years",
			     shown_key(key));
	}
	mapped(c, "oAuthAppDO.", key);
}

static status map_oauth(struct ctx *c, const json_t *sp, const json_t *req, const json_t *dao,
			struct err *e)
{
	static const char *const used[] = {"oauthConsumerKey",
					   "oauthConsumerSecret",
					   "applicationName",
					   "callbackUrl",
					   "oauthVersion",
					   "grantTypes",
					   "bypassClientCredentials",
					   "tokenType",
					   "userAccessTokenExpiryTime",
					   "applicationAccessTokenExpiryTime",
					   "refreshTokenExpiryTime",
					   "idTokenExpiryTime",
					   "audiences",
					   "renewRefreshTokenEnabled",
					   "tokenEndpointAuthMethod",
					   "state",
					   "id",
					   "type",
					   NULL};
	json_t *oidc = json_object(), *at = json_object(), *rt = json_object(), *it = json_object();
	json_t *ca = json_object(), *ipc;
	const char *key;
	char *key_req = text_of(member(req, "inboundAuthKey", NULL));
	char *cid = text_of(member(dao, "oauthConsumerKey", &key)), *s;
	int b;
	status st;

	put(c, c->o->body, "inboundProtocolConfiguration", ipc = json_object());
	put(c, ipc, "oidc", oidc);
	if (cid != NULL) {
		mapped(c, "oAuthAppDO.", key);
		if (key_req != NULL && strcmp(cid, key_req) != 0) {
			free(cid);
			free(key_req);
			json_decref(at);
			json_decref(rt);
			json_decref(it);
			json_decref(ca);
			return err_set(e, ST_INVALID,
				       "application: InboundAuthKey and oauthConsumerKey differ");
		}
	}
	if (cid == NULL)
		cid = key_req;
	else
		free(key_req);
	if (cid != NULL)
		put(c, oidc, "clientId", json_string(cid));
	free(cid);

	if ((s = text_of(member(dao, "oauthConsumerSecret", &key))) != NULL) {
		if (masked(s)) {
			note(c, "oAuthAppDO.%s: masked in the export (exported without secrets)",
			     shown_key(key));
		} else {
			put(c, oidc, "clientSecret", json_string(s));
			mapped(c, "oAuthAppDO.", key);
		}
		mem_wipe(s, strlen(s));
		free(s);
	}
	if ((st = app_grants(c, oidc, dao, e)) != ST_OK) {
		json_decref(at);
		json_decref(rt);
		json_decref(it);
		json_decref(ca);
		return st;
	}
	if ((s = text_of(member(dao, "callbackUrl", &key))) != NULL) {
		json_t *cbs = json_array();
		json_array_append_new(cbs, json_string(s));
		put(c, oidc, "callbackURLs", cbs);
		mapped(c, "oAuthAppDO.", key);
		free(s);
	}
	if ((b = bool_of(member(dao, "bypassClientCredentials", &key))) >= 0) {
		put(c, oidc, "publicClient", json_boolean(b));
		mapped(c, "oAuthAppDO.", key);
	}
	if ((s = text_of(member(dao, "tokenType", &key))) != NULL) {
		if (strcasecmp(s, "JWT") == 0 || strcasecmp(s, "Default") == 0) {
			put(c, at, "type",
			    json_string(strcasecmp(s, "JWT") == 0 ? "JWT" : "Default"));
			mapped(c, "oAuthAppDO.", key);
		} else {
			note_name(c, c->o->dropped, "oAuthAppDO.tokenType: ", s);
		}
		free(s);
	}
	put_ttl(c, at, "userAccessTokenExpiryInSeconds", dao, "userAccessTokenExpiryTime");
	put_ttl(c, at, "applicationAccessTokenExpiryInSeconds", dao,
		"applicationAccessTokenExpiryTime");
	put_ttl(c, rt, "expiryInSeconds", dao, "refreshTokenExpiryTime");
	put_ttl(c, it, "expiryInSeconds", dao, "idTokenExpiryTime");
	if ((b = bool_of(member(dao, "renewRefreshTokenEnabled", &key))) >= 0) {
		put(c, rt, "renewRefreshToken", json_boolean(b));
		mapped(c, "oAuthAppDO.", key);
	}
	{
		json_t *aud = items_of(member(dao, "audiences", &key), "audience"), *a, *out;
		size_t i;
		out = json_array();
		json_array_foreach(aud, i, a)
		{
			char *t = text_of(a);
			if (t != NULL)
				json_array_append_new(out, json_string(t));
			free(t);
		}
		if (json_array_size(out) > 0) {
			put(c, it, "audience", out);
			mapped(c, "oAuthAppDO.", key);
		} else {
			json_decref(out);
		}
		json_decref(aud);
	}
	if ((s = text_of(member(dao, "tokenEndpointAuthMethod", &key))) != NULL) {
		if (strcmp(s, "client_secret_basic") == 0 || strcmp(s, "client_secret_post") == 0 ||
		    strcmp(s, "none") == 0) {
			put(c, ca, "tokenEndpointAuthMethod", json_string(s));
			mapped(c, "oAuthAppDO.", key);
		} else if (strcmp(s, "private_key_jwt") == 0) {
			const char *jk;
			char *ju = text_of(member(sp, "jwksUri", &jk));
			put(c, ca, "tokenEndpointAuthMethod", json_string(s));
			mapped(c, "oAuthAppDO.", key);
			if (ju != NULL) {
				put(c, ca, "jwksUri", json_string(ju));
				mapped(c, "", jk);
			}
			free(ju);
		} else {
			note_name(c, c->o->dropped, "oAuthAppDO.tokenEndpointAuthMethod: ", s);
		}
		free(s);
	}
	if (json_object_size(at) > 0)
		put(c, oidc, "accessToken", at);
	else
		json_decref(at);
	if (json_object_size(rt) > 0)
		put(c, oidc, "refreshToken", rt);
	else
		json_decref(rt);
	if (json_object_size(it) > 0)
		put(c, oidc, "idToken", it);
	else
		json_decref(it);
	if (json_object_size(ca) > 0)
		put(c, oidc, "clientAuthentication", ca);
	else
		json_decref(ca);
	drop_rest(c, dao, used, "oAuthAppDO.");
	return ST_OK;
}

static status map_app(struct ctx *c, const json_t *sp, struct err *e)
{
	static const char *const used[] = {"applicationName",
					   "description",
					   "applicationID",
					   "applicationResourceId",
					   "resourceId",
					   "id",
					   "inboundAuthenticationConfig",
					   "jwksUri",
					   NULL};
	static const char *const req_used[] = {"inboundAuthKey",
					       "inboundAuthType",
					       "inboundConfigType",
					       "friendlyName",
					       "inboundConfigurationProtocol",
					       "inboundConfiguration",
					       NULL};
	json_t *reqs, *r, *dao = NULL, *parsed = NULL;
	const json_t *oauth = NULL;
	const char *key;
	char *name;
	size_t i;
	status st;

	if ((name = text_of(member(sp, "applicationName", &key))) == NULL)
		return err_set(e, ST_INVALID, "application: no ApplicationName");
	c->o->name = json_string(name);
	put(c, c->o->body, "name", json_string(name));
	mapped(c, "", key);
	free(name);
	put_text(c, c->o->body, "description", sp, "description", "");

	reqs = items_of(member(member(sp, "inboundAuthenticationConfig", NULL),
			       "inboundAuthenticationRequestConfigs", NULL),
			"inboundAuthenticationRequestConfig");
	json_array_foreach(reqs, i, r)
	{
		char *type = text_of(member(r, "inboundAuthType", NULL));
		if (type != NULL && strcmp(type, "oauth2") == 0 && oauth == NULL)
			oauth = r;
		else if (type != NULL)
			note_name(c, c->o->dropped, "InboundAuthenticationRequestConfigs: ", type);
		free(type);
	}
	if (oauth == NULL) {
		/* As WSO2's console creates one: a name, no client yet. */
		note(c, "%s",
		     "no OAuth inbound (InboundAuthType oauth2) in the export: the "
		     "application has no client yet; PUT .../inbound-protocols/oidc adds one");
		drop_rest(c, sp, used, "");
		json_decref(reqs);
		return ST_OK;
	}
	dao = member(oauth, "inboundConfigurationProtocol", &key);
	if (!json_is_object(dao)) {
		/* Older exports: the OAuthAppDO as XML text in inboundConfiguration. */
		json_t *x = member(oauth, "inboundConfiguration", &key);
		struct err xe = {0};
		dao = NULL;
		if (json_is_string(x) && json_string_length(x) > 0) {
			if (wso2_read(WSO2_FORMAT_XML, json_string_value(x), json_string_length(x),
				      &parsed, &xe) != ST_OK) {
				json_decref(reqs);
				return err_set(e, ST_INVALID,
					       "application: inboundConfiguration: %s", xe.msg);
			}
			dao = member(parsed, "oAuthAppDO", NULL);
		}
	}
	if (!json_is_object(dao)) {
		json_decref(reqs);
		json_decref(parsed);
		return err_set(e, ST_INVALID,
			       "application: its OAuth inbound has no OAuthAppDO "
			       "(InboundConfigurationProtocol)");
	}
	mapped(c, "", key);
	st = map_oauth(c, sp, oauth, dao, e);
	drop_rest(c, oauth, req_used, "InboundAuthenticationRequestConfig.");
	drop_rest(c, sp, used, "");
	json_decref(parsed);
	json_decref(reqs);
	return st;
}

/* ---- entry ------------------------------------------------------------------------ */

status wso2_map(const json_t *tree, struct wso2_object *out, struct err *e)
{
	struct ctx c = {out, true};
	const json_t *root = tree, *inner;
	enum wso2_kind kind = 0;
	status st;

	memset(out, 0, sizeof *out);
	/* XML: {"IdentityProvider": {...}}; JSON and YAML: the object itself. */
	if (json_is_object(tree) && json_object_size(tree) == 1) {
		if ((inner = member(tree, "IdentityProvider", NULL)) != NULL &&
		    json_is_object(inner)) {
			root = inner;
			kind = WSO2_IDP;
		} else if ((inner = member(tree, "ServiceProvider", NULL)) != NULL &&
			   json_is_object(inner)) {
			root = inner;
			kind = WSO2_APP;
		}
	}
	if (kind == 0 && member(root, "identityProviderName", NULL) != NULL)
		kind = WSO2_IDP;
	if (kind == 0 && member(root, "applicationName", NULL) != NULL)
		kind = WSO2_APP;
	if (kind == 0 || !json_is_object(root))
		return err_set(e, ST_INVALID,
			       "not a WSO2 identity provider or application export (no "
			       "IdentityProviderName or ApplicationName)");
	out->kind = kind;
	out->body = json_object();
	out->mapped = json_array();
	out->dropped = json_array();
	out->notes = json_array();
	if (out->body == NULL || out->mapped == NULL || out->dropped == NULL ||
	    out->notes == NULL) {
		wso2_object_clear(out);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	st = kind == WSO2_IDP ? map_idp(&c, root, e) : map_app(&c, root, e);
	if (st == ST_OK && !c.ok)
		st = err_set(e, ST_NOMEM, "out of memory");
	if (st != ST_OK) {
		json_t *name = json_incref(out->name);
		wso2_object_clear(out);
		out->kind = kind;
		out->name = name;
	}
	return st;
}
