/* oauth_fixture.h - a grantd protocol context for unit tests of src/oauth:
 * the default configuration, a real SQLite store on a temporary file
 * wrapped in a counting proxy (so tests can prove which store calls a
 * request makes), the directory, tenants, keys built in the test, and
 * helpers to register identity providers and applications the way the
 * admin API does and to mint assertions.
 */
#ifndef GRANTD_TEST_OAUTH_FIXTURE_H
#define GRANTD_TEST_OAUTH_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/crypto.h"
#include "oauth/context.h"
#include "oauth/directory.h"
#include "store/store.h"

#define FX_SECRET  "s3cret-client-secret_0123456789-abcdefghijk"
#define FX_CLIENT  "client_id_0123456789abcdefgh"  /* 28 characters */
#define FX_CLIENT2 "client_id_other_0123456789abc" /* 29 characters */
#define FX_ISS     "https://idp.example"
#define FX_BASE    "https://localhost:9443"
#define FX_ALIAS   FX_BASE "/oauth2/token"

/* Store calls counted by the proxy. A grant_commit counts as
 * FX_GRANT_COMMIT and as each write it carries (FX_REPLAY once per replay
 * record, FX_REFRESH_USE, FX_TOKENS_PUT); forcing any of those fails the
 * whole transaction, as a failed write inside it would. */
enum fx_call {
	FX_APP_GET = 0,
	FX_IDP_FIND,
	FX_IDP_BY_NAME,
	FX_REPLAY,
	FX_REPLAY_SEEN,
	FX_TOKENS_PUT,
	FX_TOKEN_GET,
	FX_REFRESH_USE,
	FX_REVOKE_CHAIN,
	FX_GRANT_COMMIT,
	FX_NCALLS
};

struct fx {
	char dir[64];
	struct config *cfg;
	struct store *real;
	struct store proxy;
	struct store_ops proxy_ops;
	struct oauth_ctx c;
	struct arena a;
	char super_id[UUID_STR_LEN + 1], acme_id[UUID_STR_LEN + 1];
	struct jose_key *idp_key;   /* RSA, the IdP's */
	struct jose_key *other_key; /* RSA, nobody's */
	struct jose_key *ec_key;    /* P-256 */
	int calls[FX_NCALLS];
	status force[FX_NCALLS]; /* non-zero: the proxy fails that call with it */
	int jti_seq;
};

/* The fixture in use (the store proxy forwards through it). */
extern struct fx *fx_current;

void fx_reset_calls(struct fx *f);
int fx_total_calls(const struct fx *f);
char *fx_new_id(struct fx *f);
void fx_tenant(struct fx *f, const char *domain, char out[UUID_STR_LEN + 1]);
/* Group setup/teardown: the shared test keys (pass to cmocka_run_group_tests). */
int fx_group_setup(void **state);
int fx_group_teardown(void **state);
int fx_setup(void **state);
int fx_teardown(void **state);
struct config *fx_cfg(struct fx *f);
json_t *fx_jwks(struct jose_key *key);
char *fx_cert_pem(struct jose_key *key, long nb, long na);
char *fx_idp(struct fx *f, const char *tenant_id, json_t *doc);
void fx_idp_update(struct fx *f, const char *tenant_id, const char *id, json_t *doc);
json_t *fx_idp_doc(struct fx *f, const char *name);
char *fx_app(struct fx *f, const char *tenant_id, const char *client_id, json_t *grants,
	     json_t *oidc_extra, const char *secret);
json_t *fx_claims(struct fx *f, int64_t now);
const char *fx_sign(struct fx *f, struct jose_key *key, enum jose_alg alg, const char *kid,
		    json_t *claims);
const char *fx_raw(struct fx *f, const char *header, const char *payload, const char *sig);
bool fx_has(const char *hay, const char *needle);

#endif
