/* tokens.c - opaque and JWT tokens: mint, store, answer (see tokens.h). */
#include "oauth/tokens.h"

#include <stdlib.h>
#include <string.h>

#include "jose/jws.h"
#include "lib/crypto.h"
#include "lib/limits.h"
#include "oauth/oauth.h"
#include "oauth/signkeys.h"

/* A time in ms as TOKEN_TIME_BYTES, big-endian. */
static void put_time(uint64_t ms, unsigned char t[TOKEN_TIME_BYTES])
{
	for (int i = 0; i < TOKEN_TIME_BYTES; i++)
		t[i] = (unsigned char)(ms >> (8 * (TOKEN_TIME_BYTES - 1 - i)));
}

/* The time a UUIDv7 `jti` carries, as TOKEN_TIME_BYTES. */
static bool jti_time(const char *jti, size_t n, unsigned char t[TOKEN_TIME_BYTES])
{
	uint64_t ms;

	if (!uuid_v7_unix_ms((struct sv){jti, n}, &ms))
		return false;
	put_time(ms, t);
	return true;
}

/* The jti of a JWT given as text: its payload decoded and parsed. */
static bool jwt_time(struct sv tok, unsigned char t[TOKEN_TIME_BYTES])
{
	const char *d1 = memchr(tok.p, '.', tok.n), *d2;
	unsigned char *raw;
	size_t n, len = 0;
	json_t *payload;
	bool ok = false;

	if (d1 == NULL || (d2 = memchr(d1 + 1, '.', tok.n - (size_t)(d1 + 1 - tok.p))) == NULL)
		return false;
	n = (size_t)(d2 - d1 - 1);
	if (n == 0 || n > LIMIT_TOKEN_BODY || (raw = malloc(b64_decoded_max(n))) == NULL)
		return false;
	if (b64url_decode((struct sv){d1 + 1, n}, raw, b64_decoded_max(n), &len) == ST_OK &&
	    (payload = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		json_t *jti = json_object_get(payload, "jti");
		ok = json_is_string(jti) &&
		     jti_time(json_string_value(jti), json_string_length(jti), t);
		json_decref(payload);
	}
	free(raw);
	return ok;
}

/* The key of `token` whose time is `t` (NULL: none). */
static status key_of(const struct oauth_ctx *c, struct sv token,
		     const unsigned char t[TOKEN_TIME_BYTES], unsigned char out[SHA256_LEN])
{
	status st = oauth_keyed_hash(c, token, out);

	if (st != ST_OK || t == NULL)
		return st;
	memmove(out + TOKEN_TIME_BYTES, out, SHA256_LEN - TOKEN_TIME_BYTES);
	memcpy(out, t, TOKEN_TIME_BYTES);
	return ST_OK;
}

status tokens_key(const struct oauth_ctx *c, struct sv token, const char *jti,
		  unsigned char out[SHA256_LEN])
{
	unsigned char raw[TOKEN_TIME_BYTES + TOKEN_BYTES], t[TOKEN_TIME_BYTES];
	size_t len = 0;
	bool timed;

	if (jti != NULL)
		timed = jti_time(jti, strlen(jti), t);
	else if (memchr(token.p, '.', token.n) != NULL)
		timed = jwt_time(token, t);
	else if ((timed = token.n == TOKEN_CHARS &&
			  b64url_decode(token, raw, sizeof raw, &len) == ST_OK &&
			  len == sizeof raw))
		memcpy(t, raw, sizeof t);
	mem_wipe(raw, sizeof raw);
	return key_of(c, token, timed ? t : NULL, out);
}

static status mint(struct oauth_ctx *c, char out[TOKEN_CHARS + 1], unsigned char h[SHA256_LEN],
		   struct err *e)
{
	unsigned char raw[TOKEN_TIME_BYTES + TOKEN_BYTES];
	status st;

	put_time(clock_unix_ms(), raw);
	if (rand_bytes(raw + TOKEN_TIME_BYTES, TOKEN_BYTES) != ST_OK)
		return err_set(e, ST_INTERNAL, "the CSPRNG failed");
	b64url_encode(raw, sizeof raw, out);
	out[TOKEN_CHARS] = '\0';
	st = key_of(c, (struct sv){out, TOKEN_CHARS}, raw, h); /* tokens_key, not decoded again */
	mem_wipe(raw, sizeof raw);
	if (st != ST_OK)
		return err_set(e, st, "cannot hash a token");
	return ST_OK;
}

/* The `aud` of an access token: the application's audience list, else
 * its client id. A new reference; NULL on OOM. */
json_t *tokens_aud_json(const struct app_conf *app)
{
	json_t *aud;

	if (app->audiences.n == 0)
		return json_string(app->client_id);
	aud = json_array();
	for (size_t i = 0; aud != NULL && i < app->audiences.n; i++)
		if (json_array_append_new(aud, json_string(app->audiences.v[i])) != 0) {
			json_decref(aud);
			return NULL;
		}
	return aud;
}

static json_t *jwt_claims(struct oauth_ctx *c, const struct token_grant *g, const char *jti)
{
	const struct app_conf *app = g->app;
	const char *iss = oauth_token_endpoint_url(c, g->arena, g->tenant);
	json_t *claims = json_object(), *aud;
	bool ok;

	if (claims == NULL || iss == NULL)
		goto fail;
	aud = tokens_aud_json(app);
	ok = json_object_set_new(claims, "iss", json_string(iss)) == 0 &&
	     json_object_set_new(claims, "sub", json_string(g->subject)) == 0 &&
	     json_object_set_new(claims, "aud", aud) == 0 &&
	     json_object_set_new(claims, "client_id", json_string(app->client_id)) == 0 &&
	     (g->scope == NULL || g->scope[0] == '\0' ||
	      json_object_set_new(claims, "scope", json_string(g->scope)) == 0) &&
	     json_object_set_new(claims, "iat", json_integer(g->now)) == 0 &&
	     json_object_set_new(claims, "nbf", json_integer(g->now)) == 0 &&
	     json_object_set_new(claims, "exp", json_integer(g->now + g->access_ttl)) == 0 &&
	     json_object_set_new(claims, "jti", json_string(jti)) == 0;
	if (ok)
		return claims;
fail:
	json_decref(claims);
	return NULL;
}

/* Signs `claims` with `key` into the arena: *out, *outlen. */
static status sign_jwt(struct arena *a, const struct jose_key *key, const char *typ, json_t *claims,
		       char **out, size_t *outlen, struct err *e)
{
	json_t *hdr = json_pack("{s:s}", "typ", typ);
	struct buf b = {0};
	status st;

	if (claims == NULL || hdr == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if ((st = jws_sign(&b, key->alg, key, NULL, hdr, claims, e)) != ST_OK)
		goto out;
	if ((*out = arena_strndup(a, b.p, b.n)) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	*outlen = b.n;
out:
	if (b.p != NULL)
		mem_wipe(b.p, b.n);
	buf_free(&b);
	json_decref(hdr);
	return st;
}

/* Signs a JWT access token into the arena, and its keyed hash into `h`. */
static status mint_jwt(struct oauth_ctx *c, const struct token_grant *g, struct token_commit *tc,
		       const struct jose_key *key, unsigned char h[SHA256_LEN], struct err *e)
{
	json_t *claims;
	status st;

	if ((st = uuid_v7(tc->jti)) != ST_OK) /* time-ordered: see tokens_key */
		return err_set(e, st, "the CSPRNG failed");
	claims = jwt_claims(c, g, tc->jti);
	st = sign_jwt(g->arena, key, "at+jwt", claims, &tc->out.jwt, &tc->out.jwt_len, e);
	json_decref(claims);
	if (st == ST_OK &&
	    (st = tokens_key(c, (struct sv){tc->out.jwt, tc->out.jwt_len}, tc->jti, h)) != ST_OK)
		st = err_set(e, st, "cannot hash a token");
	return st;
}

/* The id_token's `aud`: the client id, then the audience list; the client
 * id alone as a string. A new reference; NULL on OOM. */
static json_t *id_token_aud(const struct app_conf *app)
{
	json_t *aud;

	if (app->audiences.n == 0)
		return json_string(app->client_id);
	aud = json_array();
	if (aud == NULL || json_array_append_new(aud, json_string(app->client_id)) != 0)
		goto fail;
	for (size_t i = 0; i < app->audiences.n; i++)
		if (strcmp(app->audiences.v[i], app->client_id) != 0 &&
		    json_array_append_new(aud, json_string(app->audiences.v[i])) != 0)
			goto fail;
	return aud;
fail:
	json_decref(aud);
	return NULL;
}

/* at_hash (OpenID Connect Core §3.1.3.6): the left half of the access
 * token's hash under the signature's hash function, for the SHA-256
 * algorithms; false (no claim) for the others. */
static bool at_hash(const struct jose_key *key, struct sv token, char out[32])
{
	unsigned char d[SHA256_LEN];

	if (key->alg != JOSE_ALG_RS256 && key->alg != JOSE_ALG_PS256 && key->alg != JOSE_ALG_ES256)
		return false;
	if (sha256(token.p, token.n, d) != ST_OK)
		return false;
	b64url_encode(d, SHA256_LEN / 2, out);
	out[b64url_encoded_len(SHA256_LEN / 2)] = '\0';
	return true;
}

/* Signs the id_token for the access token already in tc->out. */
static status mint_id_token(struct oauth_ctx *c, const struct token_grant *g,
			    struct token_commit *tc, const struct jose_key *key, struct err *e)
{
	const char *iss = oauth_token_endpoint_url(c, g->arena, g->tenant);
	struct token_issued *t = &tc->out;
	struct sv access = t->jwt ? (struct sv){t->jwt, t->jwt_len} : sv_from(t->access_token);
	json_t *claims = json_object();
	char ah[32];
	bool ok;
	status st;

	ok = claims != NULL && iss != NULL &&
	     json_object_set_new(claims, "iss", json_string(iss)) == 0 &&
	     json_object_set_new(claims, "sub", json_string(g->subject)) == 0 &&
	     json_object_set_new(claims, "aud", id_token_aud(g->app)) == 0 &&
	     json_object_set_new(claims, "azp", json_string(g->app->client_id)) == 0 &&
	     json_object_set_new(claims, "iat", json_integer(g->now)) == 0 &&
	     json_object_set_new(claims, "exp", json_integer(g->now + g->id_token_ttl)) == 0 &&
	     json_object_set_new(claims, "auth_time", json_integer(g->auth_time)) == 0 &&
	     (!at_hash(key, access, ah) ||
	      json_object_set_new(claims, "at_hash", json_string(ah)) == 0);
	st = ok ? sign_jwt(g->arena, key, "JWT", claims, &t->id_token, &t->id_token_len, e)
		: err_set(e, ST_NOMEM, "out of memory");
	json_decref(claims);
	return st;
}

status tokens_submit(struct oauth_ctx *c, const struct token_grant *g, struct token_commit *tc,
		     void (*done)(void *arg, status st), void *arg)
{
	struct store_token *at = &tc->at, *rt = &tc->rt;
	struct token_issued *out = &tc->out;
	struct err *e = &tc->e;
	struct jose_key *key = NULL;
	status st;

	memset(tc, 0, sizeof *tc);
	if (g->chain_id == NULL) {
		/* in the grant's second: the chain's id dates the grant */
		if ((st = uuid_v7_in(g->now, tc->chain)) != ST_OK)
			return err_set(e, st, "the CSPRNG failed");
	} else if (!str_copy(tc->chain, sizeof tc->chain, g->chain_id)) {
		return err_set(e, ST_INTERNAL, "chain id too long");
	}
	if ((g->app->jwt_access_token || g->id_token) &&
	    (st = signkeys_current(c->signkeys, g->tenant_id, &key, e)) != ST_OK)
		goto fail;
	if (g->app->jwt_access_token)
		st = mint_jwt(c, g, tc, key, at->hash, e);
	else
		st = mint(c, out->access_token, at->hash, e);
	if (st == ST_OK && g->id_token)
		st = mint_id_token(c, g, tc, key, e);
	jose_key_free(key);
	if (st != ST_OK)
		goto fail;
	at->kind = STORE_TOKEN_ACCESS;
	at->tenant_id = (char *)g->tenant_id;
	at->app_id = g->app->id;
	at->client_id = g->app->client_id;
	at->idp_id = (char *)g->idp_id;
	at->subject = (char *)g->subject;
	at->scope = (char *)(g->scope ? g->scope : "");
	at->grant_type = (char *)g->grant_type;
	at->chain_id = tc->chain;
	at->issued_at = g->now;
	at->expires_at = g->now + g->access_ttl;
	at->jti = tc->jti[0] != '\0' ? tc->jti : NULL;
	if (g->with_refresh) {
		*rt = *at;
		rt->jti = NULL;
		rt->kind = STORE_TOKEN_REFRESH;
		rt->expires_at = g->now + g->refresh_ttl;
		if ((st = mint(c, out->refresh_token, rt->hash, e)) != ST_OK)
			goto fail;
	}
	tc->tx.now = g->now;
	memcpy(tc->tx.replays, g->replays, sizeof tc->tx.replays);
	tc->tx.nreplays = g->nreplays;
	if (g->refresh_use != NULL) { /* the grant's copy may not live long enough */
		memcpy(tc->refresh_use, g->refresh_use, sizeof tc->refresh_use);
		tc->tx.refresh_use = tc->refresh_use;
	}
	tc->tx.access = at;
	tc->tx.refresh = g->with_refresh ? rt : NULL;
	out->expires_in = g->access_ttl;
	out->scope = g->scope;
	st = c->store->ops->grant_submit(c->store, &tc->tx, done, arg, e);
	if (st == ST_OK)
		return ST_OK;
fail:
	tc->tx.conflict = STORE_TX_NONE;
	return tokens_committed(tc, st);
}

status tokens_committed(struct token_commit *tc, status st)
{
	struct token_issued *out = &tc->out;

	mem_wipe(tc->at.hash, sizeof tc->at.hash);
	mem_wipe(tc->rt.hash, sizeof tc->rt.hash);
	mem_wipe(tc->refresh_use, sizeof tc->refresh_use);
	if (st == ST_CONFLICT && tc->tx.conflict == STORE_TX_NONE)
		/* two equal 256-bit random values: impossible */
		st = err_set(&tc->e, ST_INTERNAL, "token hash collision");
	if (st != ST_OK) {
		tokens_wipe(out);
		out->conflict = tc->tx.conflict;
		out->conflict_replay = tc->tx.conflict_replay;
	}
	return st;
}

status tokens_respond(struct http_resp *resp, const struct token_issued *t,
		      const char *refresh_token)
{
	struct buf *b = &resp->body;
	const char *rt = refresh_token ? refresh_token : t->refresh_token;
	status st;

	buf_reset(b);
	st = buf_append_cstr(b, "{\"access_token\":");
	if (st == ST_OK)
		st = buf_json_str(b, t->jwt != NULL ? (struct sv){t->jwt, t->jwt_len}
						    : sv_from(t->access_token));
	if (st == ST_OK)
		st = buf_printf(b, ",\"token_type\":\"Bearer\",\"expires_in\":%lld",
				(long long)t->expires_in);
	if (st == ST_OK && rt[0] != '\0') {
		st = buf_append_cstr(b, ",\"refresh_token\":");
		if (st == ST_OK)
			st = buf_json_str(b, sv_from(rt));
	}
	if (st == ST_OK && t->scope != NULL && t->scope[0] != '\0') {
		st = buf_append_cstr(b, ",\"scope\":");
		if (st == ST_OK)
			st = buf_json_str(b, sv_from(t->scope));
	}
	if (st == ST_OK && t->id_token != NULL) {
		st = buf_append_cstr(b, ",\"id_token\":");
		if (st == ST_OK)
			st = buf_json_str(b, (struct sv){t->id_token, t->id_token_len});
	}
	if (st == ST_OK)
		st = buf_putc(b, '}');
	if (st != ST_OK) {
		buf_reset(b);
		return st;
	}
	resp->status = 200;
	resp->content_type = "application/json";
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "Pragma", "no-cache");
	return ST_OK;
}

int64_t tokens_access_ttl(const struct oauth_ctx *c, const struct app_conf *app, unsigned grant)
{
	const struct config *cfg = c->cfg;

	if (grant == APP_GRANT_CLIENT_CREDENTIALS)
		return app->app_access_token_ttl > 0
			   ? app->app_access_token_ttl
			   : cfg->oauth.token_validation.app_access_token_validity;
	return app->user_access_token_ttl > 0
		   ? app->user_access_token_ttl
		   : cfg->oauth.token_validation.user_access_token_validity;
}

int64_t tokens_refresh_ttl(const struct oauth_ctx *c, const struct app_conf *app)
{
	return app->refresh_token_ttl > 0 ? app->refresh_token_ttl
					  : c->cfg->oauth.token_validation.refresh_token_validity;
}

bool tokens_rotate_refresh(const struct oauth_ctx *c, const struct app_conf *app)
{
	if (app->renew_refresh_token >= 0)
		return app->renew_refresh_token != 0;
	return c->cfg->oauth.token_renewal.renew_refresh_token;
}

int64_t tokens_id_token_ttl(const struct oauth_ctx *c, const struct app_conf *app)
{
	return app->id_token_ttl > 0 ? app->id_token_ttl
				     : c->cfg->oauth.token_validation.id_token_validity;
}

void tokens_wipe(struct token_issued *t)
{
	if (t->jwt != NULL)
		mem_wipe(t->jwt, t->jwt_len);
	if (t->id_token != NULL)
		mem_wipe(t->id_token, t->id_token_len);
	mem_wipe(t, sizeof *t);
}
