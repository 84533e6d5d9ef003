/* context.h - the server-wide state every protocol handler works with.
 *
 * The app layer creates one `struct oauth_ctx` at start and passes it as the
 * `ctx` of every route. It holds the immutable config snapshot, the store,
 * the server secret and the caches (the directory of tenants, applications
 * and identity providers; the key cache). Handlers never modify the config;
 * caches are internally synchronised. */
#ifndef GRANTD_OAUTH_CONTEXT_H
#define GRANTD_OAUTH_CONTEXT_H

#include "config/config.h"
#include "lib/crypto.h"
#include "store/store.h"

#define SERVER_SECRET_LEN 32

struct directory;
struct admin_auth;
struct keys;
struct signkeys;
struct console;

struct oauth_ctx {
	const struct config *cfg;
	struct store *store;
	unsigned char secret[SERVER_SECRET_LEN]; /* keys HMACs of tokens and secrets */
	struct directory *dir;
	struct keys *keys;             /* JWKS cache (src/keys) */
	struct signkeys *signkeys;     /* the tenants' token-signing keys */
	struct admin_auth *admin_auth; /* owned by the admin layer */
	struct console *console;       /* the console's files (src/console) */
	/* Token-endpoint rate limits ([oauth.rate_limit]); NULL = off. */
	struct ratelimit *rl_client, *rl_source;
	/* "https://<hostname>:<port>" of the HTTPS listener (port omitted for
	 * 443); the tenant's token endpoint URL is derived from it. */
	char base_url[300];
};

/* HMAC-SHA256 of a token or client secret under the server secret. */
status oauth_keyed_hash(const struct oauth_ctx *c, struct sv value, unsigned char out[SHA256_LEN]);

#endif
