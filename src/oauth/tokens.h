/* tokens.h - minting, storing and answering with tokens (docs/jwt-grant.md sections 5, 6 and 9).
 *
 * An opaque token is base64url of TOKEN_TIME_BYTES (48 bits) of Unix time
 * in milliseconds, big-endian, then TOKEN_BYTES (256 bits) from the CSPRNG.
 * The time makes the stored key time-ordered (tokens_key): new tokens land
 * at the right edge of the store's index of token keys instead of on a
 * random page (docs/performance.md, "Write fewer pages per grant").
 * An application with accessToken.type "JWT" gets RFC 9068 access tokens
 * instead: header {"alg","kid","typ":"at+jwt"}, claims iss (the tenant's
 * token endpoint URL), sub, aud (the application's audience list, else its
 * client id), client_id, scope (when any), iat, nbf, exp, jti; signed with
 * the tenant's active key (signkeys.h). Refresh tokens are always opaque.
 * Either way only the token's key (tokens_key: its HMAC-SHA256 under the
 * server secret, of the whole JWT text for a JWT, led by the token's time)
 * is stored,
 * with a JWT's jti, with the tenant, application, client, IdP, subject, scope, grant,
 * chain id and lifetimes. The tokens are answered only after the store has
 * committed them (tokens_submit, then tokens_committed once the store says
 * so), so a token the client receives is always known to the server.
 * Every grant mints new tokens (no reuse of an active one).
 *
 * An id_token (OpenID Connect Core §2) comes with the access token when
 * the grant asks for one (`id_token`: jwt-bearer and refresh_token grants
 * whose scope holds "openid"): header {"alg","kid","typ":"JWT"}, claims
 * iss (as above), sub, aud (the client id, then the audience list; a
 * string when there is no list), azp (the client id), iat, exp (the
 * id_token lifetime), auth_time (when the assertion that began the chain
 * was accepted), and at_hash for SHA-256 algorithms; signed with the same
 * key as a JWT access token. It is not stored: it is no credential.
 *
 * One transaction per grant (docs/operations.md, "The write path"): the
 * request's other writes - the assertion's and the client assertion's jti
 * records, the refresh token marked used - travel in `token_grant` and are
 * committed with the new tokens, all or nothing. */
#ifndef GRANTD_OAUTH_TOKENS_H
#define GRANTD_OAUTH_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http/http.h"
#include "lib/b64.h"
#include "lib/err.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"

#define TOKEN_BYTES      32
#define TOKEN_TIME_BYTES 6
#define TOKEN_CHARS      51 /* b64url_encoded_len(TOKEN_TIME_BYTES + TOKEN_BYTES) */

struct token_grant {
	const char *tenant_id;
	const char *tenant;  /* its domain: the JWT's iss */
	struct arena *arena; /* the request's: holds a JWT access token */
	const struct app_conf *app;
	const char *idp_id; /* NULL for client_credentials */
	const char *subject;
	const char *scope;      /* normalised; NULL = none */
	const char *grant_type; /* the grant_type parameter, recorded as is */
	const char *chain_id;   /* refresh rotation: the family; NULL = a new chain */
	int64_t access_ttl;     /* seconds */
	bool with_refresh;      /* mint a refresh token too */
	int64_t refresh_ttl;    /* seconds */
	int64_t now;
	bool id_token;        /* mint an id_token too */
	int64_t id_token_ttl; /* seconds */
	int64_t auth_time;    /* the id_token's auth_time */
	/* Written in the same transaction as the tokens. */
	struct store_replay replays[STORE_TX_REPLAYS];
	size_t nreplays;
	const unsigned char *refresh_use; /* refresh token hash to mark used, or NULL */
};

struct token_issued {
	char access_token[TOKEN_CHARS + 1]; /* opaque; "" when `jwt` is set */
	char *jwt;                          /* a JWT access token (in the arena) */
	size_t jwt_len;
	char *id_token; /* the id_token (in the arena), or NULL */
	size_t id_token_len;
	char refresh_token[TOKEN_CHARS + 1]; /* "" when none */
	int64_t expires_in;
	const char *scope; /* borrowed from the grant */
	/* On ST_CONFLICT: which write conflicted (store.h grant_commit). */
	enum store_tx_part conflict;
	size_t conflict_replay;
};

/* A grant's tokens while their transaction is being committed. Lives in
 * the request's arena from tokens_submit() until tokens_committed(). */
struct token_commit {
	struct store_grant_tx tx;
	struct store_token at, rt;
	char chain[UUID_STR_LEN + 1];
	char jti[UUID_STR_LEN + 1];
	unsigned char refresh_use[SHA256_LEN]; /* a copy of the grant's */
	struct token_issued out;
	struct err e;
};

/* Mints an access token (and a refresh token when asked) and submits them
 * with the grant's other writes as one transaction (store grant_submit),
 * without waiting. ST_OK: queued, and `done(arg, st)` will be called once
 * (from the store's thread; it must only record `st` and wake the
 * request), after which tokens_committed() says how it went. Otherwise
 * nothing was queued, `done` is never called and tc->e says why (a server
 * fault). */
status tokens_submit(struct oauth_ctx *c, const struct token_grant *g, struct token_commit *tc,
		     void (*done)(void *arg, status st), void *arg);
/* After `done(arg, st)`: ST_OK with tc->out holding the tokens (wipe it
 * once answered); ST_CONFLICT with tc->out.conflict saying which write
 * conflicted (a replayed jti, a refresh token used concurrently), nothing
 * written; ST_IO/ST_BUSY/ST_NOMEM/ST_INTERNAL with tc->e (server faults).
 * The stored hashes are wiped either way, and the tokens on failure. Also
 * right after a failed tokens_submit() (it changes nothing then). */
status tokens_committed(struct token_commit *tc, status st);

/* Writes the 200 response: {"access_token","token_type":"Bearer",
 * "expires_in","refresh_token"?,"scope"?,"id_token"?} with Cache-Control: no-store and
 * Pragma: no-cache. `refresh_token` overrides out->refresh_token when not
 * NULL (a refresh grant without rotation answers with the token it got). */
status tokens_respond(struct http_resp *resp, const struct token_issued *t,
		      const char *refresh_token);

/* The `aud` of the application's tokens (JWT claim and introspection):
 * its audience list (idToken.audience) as an array, else its client id as
 * a string. A new reference; NULL on OOM. */
json_t *tokens_aud_json(const struct app_conf *app);

/* The store's key of a token (opaque, refresh or JWT access token), the
 * only thing kept of it: HMAC-SHA256 of its text under the server secret,
 * except that for a token that carries its time - an opaque token of
 * TOKEN_CHARS, a JWT whose jti is a UUIDv7 (tokens grantd issued before
 * schema 3 had neither) - the key is those TOKEN_TIME_BYTES of time
 * followed by the first SHA256_LEN - TOKEN_TIME_BYTES bytes of the HMAC
 * (208 bits). Keys of tokens issued one after another then sort in time
 * order. `jti` is the JWT's when the caller has it (minting), else NULL. */
status tokens_key(const struct oauth_ctx *c, struct sv token, const char *jti,
		  unsigned char out[SHA256_LEN]);

/* Lifetimes: the application's setting, else the server's
 * [oauth.token_validation] default. `grant` is an enum app_grant bit. */
int64_t tokens_access_ttl(const struct oauth_ctx *c, const struct app_conf *app, unsigned grant);
int64_t tokens_refresh_ttl(const struct oauth_ctx *c, const struct app_conf *app);
/* Whether refresh tokens rotate on use: the application's
 * renewRefreshToken, else [oauth.token_renewal] renew_refresh_token. */
bool tokens_rotate_refresh(const struct oauth_ctx *c, const struct app_conf *app);
/* The id_token lifetime: idToken.expiryInSeconds, else
 * [oauth.token_validation] id_token_validity. */
int64_t tokens_id_token_ttl(const struct oauth_ctx *c, const struct app_conf *app);
/* Wipes the tokens in `t` (the arena's JWTs too), leaving it zeroed. */
void tokens_wipe(struct token_issued *t);

#endif
