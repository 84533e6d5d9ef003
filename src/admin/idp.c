/* idp.c - /identity-providers (docs/api/openapi.yaml): list, create, get, PUT, PATCH
 * and delete the trusted identity providers of the caller's tenant.
 *
 * Every write goes through idp_conf_parse() (the same parser the token
 * endpoint uses) and stores the canonical document idp_conf_to_json()
 * makes of it, so what is stored is exactly what will be enforced.
 *
 * Responses: GET/POST/PUT/PATCH answer the stored document plus `id`, and
 * inside `certificate` a read-only `certificateInfo` (uploaded certificates:
 * subject, issuer, validity, thumbprints) or `keyInfo` (inline JWKS: kid,
 * kty, crv, alg, use of each key). Those two are derived from the keys: POST
 * and PUT ignore them, so a GET -> edit -> PUT round trip works. `id` is
 * read-only: POST refuses it, PUT accepts it only when it equals the path.
 *
 * PATCH takes WSO2's operation list [{"operation","path","value"}], paths
 * being JSON pointers into the document (/alias, /jwtGrant/allowedScopes/-,
 * /certificate/certificates/1 ...). ADD and REPLACE set an object member
 * (ADD on an array inserts, "-" appends), REMOVE deletes one (an optional
 * member then takes its default). ADD/REPLACE of /certificate/jwksUri,
 * /certificate/certificates or /certificate/jwks replaces the whole key
 * source with that one. The result is validated as a whole; any bad
 * operation or an invalid result changes nothing.
 *
 * Deleting an IdP, or saving it disabled, revokes the tokens issued through
 * it (docs/jwt-grant.md, "Revocation by the server": the store does it in
 * the same transaction; the explicit call after the commit is belt and
 * braces). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/handlers.h"
#include "jose/jwk.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "oauth/conf_util.h"
#include "oauth/directory.h"
#include "oauth/idp_conf.h"

#define IDP_BASE       "/api/server/v1/identity-providers"
#define OBJECT_TYPE    "identity-provider"
#define PATCH_OPS_MAX  64  /* operations per PATCH */
#define PATCH_PATH_MAX 256 /* bytes of one operation's path */
#define PATCH_DEPTH    4   /* segments of a path */

/* ---- representation -------------------------------------------------------- */

/* The key of certificate `i` (text `text`) with a reference of its own:
 * from `conf` when it is the parse of this document (each certificate is
 * parsed once per request), else parsed here. */
static status cert_key(const struct idp_conf *conf, size_t i, const char *text,
		       struct jose_key **out, struct err *e)
{
	if (conf != NULL && conf->keys != NULL && conf->keys->n == conf->certificates.n &&
	    i < conf->certificates.n) {
		*out = conf->keys->keys[i];
		jose_key_ref(*out);
		return ST_OK;
	}
	return jose_key_from_pem(sv_from(text ? text : ""), out, e);
}

/* What an operator needs to recognise an uploaded certificate. */
static json_t *certificate_info(const struct idp_conf *conf, size_t i, const char *text)
{
	struct jose_key *k = NULL;
	struct err ke = {0};
	char tp[JOSE_THUMBPRINT_LEN], nb[TIME_RFC3339_LEN], na[TIME_RFC3339_LEN];
	json_t *o;
	bool ok = true;

	/* Stored certificates were accepted on save; failing now means the
	 * JOSE layer changed its mind (say, a stricter build): say so. */
	if (cert_key(conf, i, text, &k, &ke) != ST_OK)
		return json_pack("{s:s}", "error", ke.msg);
	o = json_object();
	if (k->has_cert) {
		time_format_rfc3339(k->cert.not_before, nb);
		time_format_rfc3339(k->cert.not_after, na);
		conf_put(o, "subject", json_string(k->cert.subject), &ok);
		conf_put(o, "issuer", json_string(k->cert.issuer), &ok);
		conf_put(o, "notBefore", json_string(nb), &ok);
		conf_put(o, "notAfter", json_string(na), &ok);
		conf_put(o, "sha256Thumbprint", json_string(k->cert.sha256_hex), &ok);
		conf_put(o, "x5tS256", json_string(k->cert.x5t_s256), &ok);
	} else { /* a bare public key */
		conf_put(o, "subject", json_null(), &ok);
		conf_put(o, "issuer", json_null(), &ok);
		conf_put(o, "notBefore", json_null(), &ok);
		conf_put(o, "notAfter", json_null(), &ok);
		conf_put(o, "sha256Thumbprint", json_null(), &ok);
		conf_put(o, "x5tS256", json_null(), &ok);
	}
	conf_put(o, "keyType", json_string(jose_kty_name(k->kty)), &ok);
	conf_put(o, "keySize", json_integer(k->bits), &ok);
	conf_put(o, "jwkThumbprint",
		 jose_key_thumbprint(k, tp, NULL) == ST_OK ? json_string(tp) : json_null(), &ok);
	jose_key_free(k);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *jwk_member(const json_t *jwk, const char *name)
{
	const json_t *v = json_object_get(jwk, name);
	return json_is_string(v) ? json_string(json_string_value(v)) : json_null();
}

/* kid, kty, crv, alg and use of each key of an inline JWKS. */
static json_t *key_info(const json_t *jwks)
{
	const json_t *keys = json_object_get(jwks, "keys");
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < json_array_size(keys); i++) {
		const json_t *k = json_array_get(keys, i);
		json_t *o = json_object();
		bool ok = o != NULL;

		conf_put(o, "kid", jwk_member(k, "kid"), &ok);
		conf_put(o, "kty", jwk_member(k, "kty"), &ok);
		conf_put(o, "crv", jwk_member(k, "crv"), &ok);
		conf_put(o, "alg", jwk_member(k, "alg"), &ok);
		conf_put(o, "use", jwk_member(k, "use"), &ok);
		if (!ok || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The IdP as the API shows it: `id`, the stored document, and the derived
 * certificateInfo/keyInfo; `conf` is the parse of `doc` when the request
 * has one (else NULL). NULL on OOM. */
static json_t *idp_view(const char *id, json_t *doc, const struct idp_conf *conf)
{
	json_t *o = json_object(), *cert, *certs, *jwks, *info = NULL;
	bool ok = o != NULL;

	conf_put(o, "id", json_string(id), &ok);
	if (!ok || json_object_update(o, doc) != 0) {
		json_decref(o);
		return NULL;
	}
	cert = json_deep_copy(json_object_get(doc, "certificate"));
	certs = json_object_get(cert, "certificates");
	jwks = json_object_get(cert, "jwks");
	if (json_is_array(certs)) {
		info = json_array();
		for (size_t i = 0; info != NULL && i < json_array_size(certs); i++)
			if (json_array_append_new(
				info, certificate_info(
					  conf, i, json_string_value(json_array_get(certs, i)))) !=
			    0) {
				json_decref(info);
				info = NULL;
			}
		conf_put(cert, "certificateInfo", info, &ok);
	} else if (json_is_object(jwks)) {
		conf_put(cert, "keyInfo", key_info(jwks), &ok);
	}
	conf_put(o, "certificate", cert, &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The audit summary of a stored document: what identifies the IdP and its
 * keys, never whole certificates; `conf` as for idp_view(). */
static json_t *summary_of(const json_t *doc, const struct idp_conf *conf)
{
	const json_t *cert = json_object_get(doc, "certificate");
	const json_t *certs = json_object_get(cert, "certificates");
	const json_t *jwks = json_object_get(cert, "jwks");
	json_t *s = json_object(), *arr;
	bool ok = s != NULL;

	conf_put(s, "name", json_deep_copy(json_object_get(doc, "name")), &ok);
	conf_put(s, "isEnabled", json_deep_copy(json_object_get(doc, "isEnabled")), &ok);
	conf_put(s, "idpIssuerName", json_deep_copy(json_object_get(doc, "idpIssuerName")), &ok);
	if (json_is_string(json_object_get(cert, "jwksUri"))) {
		conf_put(s, "keySource", json_string("jwksUri"), &ok);
		conf_put(s, "jwksUri", json_deep_copy(json_object_get(cert, "jwksUri")), &ok);
	} else if (json_is_array(certs)) {
		conf_put(s, "keySource", json_string("certificates"), &ok);
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < json_array_size(certs); i++) {
			struct jose_key *k = NULL;
			const char *text = json_string_value(json_array_get(certs, i));
			json_t *tp = json_null();
			if (text != NULL && cert_key(conf, i, text, &k, NULL) == ST_OK) {
				if (k->has_cert)
					tp = json_string(k->cert.sha256_hex);
				jose_key_free(k);
			}
			json_array_append_new(arr, tp);
		}
		conf_put(s, "certificateThumbprints", arr, &ok);
	} else if (json_is_object(jwks)) {
		const json_t *keys = json_object_get(jwks, "keys");
		conf_put(s, "keySource", json_string("jwks"), &ok);
		arr = json_array();
		for (size_t i = 0; arr != NULL && i < json_array_size(keys); i++)
			json_array_append_new(arr, jwk_member(json_array_get(keys, i), "kid"));
		conf_put(s, "kids", arr, &ok);
	} else {
		conf_put(s, "keySource", json_string("none"), &ok);
	}
	if (!ok) {
		json_decref(s);
		return NULL;
	}
	return s;
}

/* {"before", "after", "changed": [top-level members that differ]}. */
static json_t *update_summary(json_t *before, json_t *after, const struct idp_conf *conf)
{
	json_t *changed = json_array(), *v;
	const char *key;

	json_object_foreach(after, key, v) if (!json_equal(v, json_object_get(before, key)))
	    json_array_append_new(changed, json_string(key));
	return json_pack("{s:o*, s:o*, s:o*}", "before", summary_of(before, NULL), "after",
			 summary_of(after, conf), "changed", changed);
}

/* ---- shared steps ---------------------------------------------------------- */

/* Members GET shows that are derived, not configured: dropped from bodies. */
static void strip_derived(json_t *body)
{
	json_t *cert = json_object_get(body, "certificate");

	if (json_is_object(cert)) {
		json_object_del(cert, "certificateInfo");
		json_object_del(cert, "keyInfo");
	}
}

struct validated {
	struct idp_conf *conf;
	json_t *doc; /* canonical document */
	char *text;  /* its JSON text, in the request's arena */
};

static void validated_free(struct validated *v)
{
	idp_conf_free(v->conf);
	json_decref(v->doc);
}

/* Validates `body` and makes its canonical form. false = answered. */
static bool validate(struct admin_call *call, const json_t *body, struct validated *v)
{
	struct err e = {0};
	char *text;
	status st;

	memset(v, 0, sizeof *v);
	st = idp_conf_parse(body, call->c->cfg, &v->conf, &e);
	if (st == ST_OK)
		st = idp_conf_to_json(v->conf, &v->doc, &e);
	if (st != ST_OK) {
		admin_error_status(call, st, &e, "IDP");
		return false;
	}
	text = json_dumps(v->doc, JSON_COMPACT);
	v->text = text != NULL ? arena_strdup(call->req->arena, text) : NULL;
	free(text);
	if (v->text == NULL) {
		admin_error_status(call, ST_NOMEM, NULL, "IDP");
		return false;
	}
	return true;
}

static void write_failed(struct admin_call *call, status st, const struct err *e)
{
	if (st == ST_CONFLICT)
		admin_error(call, 409, "IDP-60409",
			    "an identity provider with this name already exists in this tenant");
	else if (st == ST_NOT_FOUND)
		admin_error(call, 404, "IDP-60404",
			    "no identity provider with that id in this tenant");
	else
		admin_error_status(call, st, e, "IDP");
}

/* Reads the IdP named by the path's {id} with its stored document.
 * false = answered (404 for an unknown or malformed id). */
static bool load_idp(struct admin_call *call, struct store_idp *rec, json_t **doc)
{
	struct err e = {0};
	char id[UUID_STR_LEN + 1];
	status st;

	*doc = NULL;
	if (!admin_path_uuid(call, id)) {
		admin_error(call, 404, "IDP-60404",
			    "no identity provider with that id in this tenant");
		return false;
	}
	st = call->c->store->ops->idp_get(call->c->store, call->req->arena, call->tenant_id, id,
					  rec, &e);
	if (st != ST_OK) {
		write_failed(call, st, &e);
		return false;
	}
	*doc = admin_stored_doc(call, rec->doc, "identity provider", rec->id, "IDP");
	return *doc != NULL;
}

/* After a committed change: the directory forgets its copy and, when the
 * IdP is gone or disabled, its tokens are revoked. false = answered. */
static bool after_change(struct admin_call *call, const char *id, bool revoke)
{
	struct err e = {0};
	status st;

	directory_idp_changed(call->c, call->tenant_id, id);
	if (!revoke)
		return true;
	st = call->c->store->ops->tokens_revoke_by(call->c->store, "idp_id", id, &e);
	if (st == ST_OK)
		return true;
	log_error("identity provider %s: revoking its tokens failed: %s (trace %s)", id, e.msg,
		  call->req->trace_id);
	admin_error(call, 500, "IDP-50001",
		    "the change was saved, but revoking the tokens issued through the identity "
		    "provider failed; see the server log (trace %s)",
		    call->req->trace_id);
	return false;
}

/* Saves `v` over the stored IdP `old` and answers 200. */
static void save_update(struct admin_call *call, const struct store_idp *old, json_t *olddoc,
			struct validated *v)
{
	struct store_idp rec = {0};
	struct store_audit audit;
	struct err e = {0};
	json_t *view;
	status st;

	rec.id = old->id;
	rec.tenant_id = (char *)call->tenant_id;
	rec.name = v->conf->name;
	rec.issuer = v->conf->issuer != NULL ? v->conf->issuer : (char *)"";
	rec.enabled = v->conf->enabled;
	rec.doc = v->text;
	rec.created_at = old->created_at;
	admin_audit(call, &audit, "update", OBJECT_TYPE, old->id,
		    update_summary(olddoc, v->doc, v->conf));
	st = call->c->store->ops->idp_update(call->c->store, &rec, &audit, &e);
	if (st != ST_OK) {
		write_failed(call, st, &e);
		return;
	}
	if (!after_change(call, old->id, !v->conf->enabled))
		return;
	if ((view = idp_view(old->id, v->doc, v->conf)) == NULL) {
		admin_error_status(call, ST_NOMEM, NULL, "IDP");
		return;
	}
	admin_json(call, 200, view, NULL);
}

/* ---- handlers -------------------------------------------------------------- */

ADMIN_HANDLER(admin_idp_list)
{
	struct admin_call call;
	struct store_page pg;
	struct store_idp *items = NULL;
	size_t n = 0;
	int64_t total = 0;
	struct err e = {0};
	json_t *arr;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !admin_page_filtered(&call, &pg))
		return;
	st = call.c->store->ops->idp_list(call.c->store, req->arena, call.tenant_id, pg, &items, &n,
					  &total, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "IDP");
		return;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *doc = json_loads(items[i].doc ? items[i].doc : "{}", 0, NULL);
		json_t *o = json_object();
		bool ok = o != NULL;

		conf_put(o, "id", json_string(items[i].id), &ok);
		conf_put(o, "name", json_string(items[i].name), &ok);
		conf_put(o, "description", json_deep_copy(json_object_get(doc, "description")),
			 &ok);
		conf_put(o, "isEnabled", json_boolean(items[i].enabled), &ok);
		conf_put(o, "idpIssuerName", json_deep_copy(json_object_get(doc, "idpIssuerName")),
			 &ok);
		conf_put(o, "alias", json_deep_copy(json_object_get(doc, "alias")), &ok);
		conf_put(o, "self",
			 conf_string_or_null(admin_object_path(&call, IDP_BASE, items[i].id)), &ok);
		json_decref(doc);
		if (!ok || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	admin_list_envelope(&call, pg, total, "identityProviders", arr);
}

ADMIN_HANDLER(admin_idp_create)
{
	struct admin_call call;
	struct validated v = {0};
	struct store_idp rec = {0};
	struct store_audit audit;
	struct err e = {0};
	char id[UUID_STR_LEN + 1];
	json_t *body, *view;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if (json_object_get(body, "id") != NULL) {
		admin_error(&call, 400, "IDP-60400", "id: read-only; the server assigns ids");
		goto out;
	}
	strip_derived(body);
	if (!validate(&call, body, &v))
		goto out;
	if (uuid_v4(id) != ST_OK) {
		admin_error_status(&call, ST_INTERNAL, NULL, "IDP");
		goto out;
	}
	rec.id = id;
	rec.tenant_id = (char *)call.tenant_id;
	rec.name = v.conf->name;
	rec.issuer = v.conf->issuer != NULL ? v.conf->issuer : (char *)"";
	rec.enabled = v.conf->enabled;
	rec.doc = v.text;
	admin_audit(&call, &audit, "create", OBJECT_TYPE, id, summary_of(v.doc, v.conf));
	st = call.c->store->ops->idp_create(call.c->store, &rec, &audit, &e);
	if (st != ST_OK) {
		write_failed(&call, st, &e);
		goto out;
	}
	if (!after_change(&call, id, false))
		goto out;
	if ((view = idp_view(id, v.doc, v.conf)) == NULL) {
		admin_error_status(&call, ST_NOMEM, NULL, "IDP");
		goto out;
	}
	admin_json(&call, 201, view, admin_object_path(&call, IDP_BASE, id));
out:
	validated_free(&v);
	json_decref(body);
}

ADMIN_HANDLER(admin_idp_get)
{
	struct admin_call call;
	struct store_idp rec;
	json_t *doc, *view;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_idp(&call, &rec, &doc))
		return;
	view = idp_view(rec.id, doc, NULL);
	json_decref(doc);
	if (view == NULL) {
		admin_error_status(&call, ST_NOMEM, NULL, "IDP");
		return;
	}
	admin_json(&call, 200, view, NULL);
}

ADMIN_HANDLER(admin_idp_put)
{
	struct admin_call call;
	struct store_idp old;
	struct validated v = {0};
	json_t *olddoc = NULL, *body = NULL, *id;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_idp(&call, &old, &olddoc))
		return;
	if ((body = admin_body(&call)) == NULL)
		goto out;
	id = json_object_get(body, "id");
	if (id != NULL && !(json_is_string(id) && strcmp(json_string_value(id), old.id) == 0)) {
		admin_error(&call, 400, "IDP-60400",
			    "id: read-only; it must be omitted or equal the id in the path");
		goto out;
	}
	json_object_del(body, "id");
	strip_derived(body);
	if (!validate(&call, body, &v))
		goto out;
	save_update(&call, &old, olddoc, &v);
out:
	validated_free(&v);
	json_decref(body);
	json_decref(olddoc);
}

/* ---- PATCH ----------------------------------------------------------------- */

enum patch_kind { PATCH_ADD, PATCH_REMOVE, PATCH_REPLACE };

/* Splits a JSON pointer (RFC 6901) into 1..PATCH_DEPTH unescaped, non-empty
 * segments written to `buf` (strlen(path) + 1 bytes suffice: each '/' the
 * segment loses becomes its NUL). */
static bool pointer_split(const char *path, char *buf, char **seg, size_t *n)
{
	const char *p = path;
	char *w = buf;

	*n = 0;
	if (*p != '/')
		return false;
	while (*p == '/') {
		if (*n == PATCH_DEPTH)
			return false;
		p++;
		seg[(*n)++] = w;
		for (; *p != '\0' && *p != '/'; p++) {
			if (*p != '~') {
				*w++ = *p;
				continue;
			}
			if (p[1] != '0' && p[1] != '1')
				return false;
			*w++ = p[1] == '0' ? '~' : '/';
			p++;
		}
		if (w == seg[*n - 1])
			return false;
		*w++ = '\0';
	}
	return true;
}

/* An array index segment: "0" or a decimal without leading zeros. */
static bool array_index(const char *s, size_t *out)
{
	size_t v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7E)
			return false;
	return true;
}

/* Applies operation `i` to `doc`. Errors name the operation. */
static status apply_op(json_t *doc, const json_t *op, size_t i, struct err *e)
{
	static const char *const kinds[] = {"ADD", "REMOVE", "REPLACE"};
	static const char *const cert_sources[] = {"jwksUri", "certificates", "jwks"};
	const char *kind_s, *path, *key, *last;
	const json_t *value, *v;
	char buf[PATCH_PATH_MAX + 1], *seg[PATCH_DEPTH];
	enum patch_kind kind = PATCH_ADD;
	json_t *cur = doc;
	size_t n, idx = 0, size;
	bool known = false;

	if (!json_is_object(op))
		return err_set(e, ST_INVALID,
			       "operations[%zu]: must be an object {\"operation\", \"path\", "
			       "\"value\"}",
			       i);
	json_object_foreach(
	    (json_t *)op, key,
	    v) if (strcmp(key, "operation") != 0 && strcmp(key, "path") != 0 &&
		   strcmp(key, "value") !=
		       0) return err_set(e, ST_INVALID,
					 "operations[%zu]: unknown field (only operation, "
					 "path and value are allowed)",
					 i);
	kind_s = json_string_value(json_object_get(op, "operation"));
	for (int k = 0; kind_s != NULL && k < 3 && !known; k++)
		if (strcmp(kind_s, kinds[k]) == 0) {
			kind = (enum patch_kind)k;
			known = true;
		}
	if (!known)
		return err_set(
		    e, ST_INVALID,
		    "operations[%zu].operation: must be \"ADD\", \"REMOVE\" or \"REPLACE\"", i);
	path = json_string_value(json_object_get(op, "path"));
	if (path == NULL || strlen(path) > PATCH_PATH_MAX || !printable_ascii(path))
		return err_set(
		    e, ST_INVALID,
		    "operations[%zu].path: must be a JSON pointer such as \"/alias\" (printable "
		    "ASCII, at most %d bytes)",
		    i, PATCH_PATH_MAX);
	value = json_object_get(op, "value");
	if (kind != PATCH_REMOVE && value == NULL)
		return err_set(e, ST_INVALID, "operations[%zu].value: required for %s", i, kind_s);
	if (!pointer_split(path, buf, seg, &n))
		return err_set(e, ST_INVALID,
			       "operations[%zu].path: '%s' is not a JSON pointer of 1 to %d "
			       "non-empty segments",
			       i, path, PATCH_DEPTH);
	if (n == 1 && strcmp(seg[0], "id") == 0)
		return err_set(e, ST_INVALID, "operations[%zu]: '/id' is read-only", i);

	/* Setting one key source replaces the others (exactly one is allowed). */
	if (n == 2 && kind != PATCH_REMOVE && strcmp(seg[0], "certificate") == 0) {
		for (int k = 0; k < 3; k++) {
			json_t *cert;
			if (strcmp(seg[1], cert_sources[k]) != 0)
				continue;
			cert = json_object();
			if (cert == NULL ||
			    json_object_set_new(cert, seg[1], json_deep_copy(value)) != 0 ||
			    json_object_set_new(doc, "certificate", cert) != 0)
				return err_set(e, ST_NOMEM, "out of memory");
			return ST_OK;
		}
	}

	for (size_t k = 0; k + 1 < n; k++) {
		json_t *next = NULL;
		if (json_is_object(cur))
			next = json_object_get(cur, seg[k]);
		else if (json_is_array(cur) && array_index(seg[k], &idx))
			next = json_array_get(cur, idx);
		if (next == NULL)
			return err_set(
			    e, ST_INVALID,
			    "operations[%zu]: nothing at '%s' (no member or element '%s')", i, path,
			    seg[k]);
		cur = next;
	}
	last = seg[n - 1];
	if (json_is_object(cur)) {
		if (kind == PATCH_REMOVE) {
			if (json_object_del(cur, last) != 0)
				return err_set(e, ST_INVALID,
					       "operations[%zu]: nothing to remove at '%s'", i,
					       path);
			return ST_OK;
		}
		if (json_object_set_new(cur, last, json_deep_copy(value)) != 0)
			return err_set(e, ST_NOMEM, "out of memory");
		return ST_OK;
	}
	if (!json_is_array(cur))
		return err_set(e, ST_INVALID,
			       "operations[%zu]: '%s' is inside a %s, not an object or "
			       "array",
			       i, path, json_is_null(cur) ? "null" : "scalar value");
	if (strcmp(last, "-") == 0) {
		if (kind != PATCH_ADD)
			return err_set(
			    e, ST_INVALID,
			    "operations[%zu]: '-' (the end of an array) works only with ADD", i);
		if (json_array_append_new(cur, json_deep_copy(value)) != 0)
			return err_set(e, ST_NOMEM, "out of memory");
		return ST_OK;
	}
	size = json_array_size(cur);
	if (!array_index(last, &idx) || (kind == PATCH_ADD ? idx > size : idx >= size))
		return err_set(e, ST_INVALID,
			       "operations[%zu]: '%s': no such array element (the array has %zu)",
			       i, path, size);
	switch (kind) {
	case PATCH_ADD:
		if (json_array_insert_new(cur, idx, json_deep_copy(value)) != 0)
			return err_set(e, ST_NOMEM, "out of memory");
		break;
	case PATCH_REPLACE:
		if (json_array_set_new(cur, idx, json_deep_copy(value)) != 0)
			return err_set(e, ST_NOMEM, "out of memory");
		break;
	case PATCH_REMOVE: json_array_remove(cur, idx); break;
	}
	return ST_OK;
}

ADMIN_HANDLER(admin_idp_patch)
{
	struct admin_call call;
	struct store_idp old;
	struct validated v = {0};
	struct err e = {0};
	json_t *olddoc = NULL, *ops = NULL, *doc = NULL;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_idp(&call, &old, &olddoc))
		return;
	if ((ops = admin_body_json(&call, "IDP-60400")) == NULL)
		goto out;
	if (!json_is_array(ops) || json_array_size(ops) == 0 ||
	    json_array_size(ops) > PATCH_OPS_MAX) {
		admin_error(&call, 400, "IDP-60400",
			    "the body must be an array of 1 to %d operations "
			    "[{\"operation\": \"ADD|REMOVE|REPLACE\", \"path\": \"/alias\", "
			    "\"value\": ...}]",
			    PATCH_OPS_MAX);
		goto out;
	}
	if ((doc = json_deep_copy(olddoc)) == NULL) {
		admin_error_status(&call, ST_NOMEM, NULL, "IDP");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(ops); i++) {
		st = apply_op(doc, json_array_get(ops, i), i, &e);
		if (st != ST_OK) {
			admin_error_status(&call, st, &e, "IDP");
			goto out;
		}
	}
	if (!validate(&call, doc, &v))
		goto out;
	save_update(&call, &old, olddoc, &v);
out:
	validated_free(&v);
	json_decref(doc);
	json_decref(ops);
	json_decref(olddoc);
}

ADMIN_HANDLER(admin_idp_delete)
{
	struct admin_call call;
	struct store_idp rec;
	struct store_audit audit;
	struct err e = {0};
	json_t *doc;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call) || !load_idp(&call, &rec, &doc))
		return;
	admin_audit(&call, &audit, "delete", OBJECT_TYPE, rec.id, summary_of(doc, NULL));
	json_decref(doc);
	st = call.c->store->ops->idp_delete(call.c->store, call.tenant_id, rec.id, &audit, &e);
	if (st != ST_OK) {
		write_failed(&call, st, &e);
		return;
	}
	if (!after_change(&call, rec.id, true))
		return;
	admin_json(&call, 204, NULL, NULL);
}
