/* client_auth.h - who is calling the token endpoint (docs/jwt-grant.md "The client", RFC 6749
 * §2.3, RFC 7523 §2.2).
 *
 * Exactly one method per request:
 *   client_secret_basic  Authorization: Basic base64(urlenc(id):urlenc(secret))
 *   client_secret_post   client_id + client_secret in the body
 *   private_key_jwt      client_assertion_type
 *                        (urn:ietf:params:oauth:client-assertion-type:jwt-bearer)
 *                        + client_assertion signed with a key registered on
 *                        the application; iss = sub = client id, aud = the
 *                        tenant's token endpoint URL, exp, jti (recorded
 *                        against replay)
 *   none                 client_id alone, for a publicClient application
 * client_secret_basic and client_secret_post are interchangeable for a
 * confidential client (app_conf_accepts_auth). Secrets are compared as keyed
 * hashes in constant time. An application of another tenant is unknown. */
#ifndef GRANTD_OAUTH_CLIENT_AUTH_H
#define GRANTD_OAUTH_CLIENT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "http/form.h"
#include "http/http.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/oauth.h"

#define CLIENT_ASSERTION_TYPE_JWT "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct client_auth {
	struct app_conf *app;        /* a reference on success */
	enum app_auth_method method; /* how the client authenticated */
	bool basic;                  /* the request carried Authorization: Basic */
	const char *client_id;       /* the claimed id (in the request's arena), for the log;
				      * NULL when none could be read */
	/* private_key_jwt: the client assertion's jti, to be recorded with the
	 * tokens (strings in the request's arena). */
	bool has_replay;
	struct store_replay replay;
};

/* Authenticates the client of a token request whose body is `f`. ST_OK
 * with `out->app` set; otherwise a status with `fault` set to
 * invalid_request (two methods, a client_id contradicting the credentials,
 * a secret without client_id) or invalid_client (unknown client, wrong
 * secret, no credentials, a bad client assertion), or a server fault.
 * `out->basic` and `out->client_id` are set either way.
 * client_auth_release() frees `out`. */
status client_authenticate(struct oauth_ctx *c, struct http_req *req, const struct form *f,
			   int64_t now, struct client_auth *out, struct oauth_fault *fault);
void client_auth_release(struct client_auth *ca);

#endif
