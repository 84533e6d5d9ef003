/* directory.h - cached lookups of tenants, applications and identity
 * providers in front of the store, and how the caches stay right when
 * several grantd nodes share one database.
 *
 * These sit on every request's path. Readers share a rwlock and either copy
 * out (tenants) or take a reference to an immutable parsed configuration
 * (applications, identity providers): a hit never touches the store and
 * never parses anything. On a miss or an expired entry the row is read
 * again and re-parsed only when it changed (an IdP's certificates are
 * parsed once per change, not per request). The caches are bounded: a full
 * bucket evicts its oldest entry. Unknown client ids and issuers are cached
 * as negative entries for the same TTL.
 *
 * Several nodes: the change feed first, the TTL as the fallback.
 *   - This node's admin API invalidates at once (directory_idp_changed,
 *     directory_app_changed, directory_tenant_invalidate, signkeys_rotate).
 *   - Other nodes' changes arrive through the store's change feed
 *     (store.h, watch; PostgreSQL): directory_watch() subscribes
 *     directory_on_change(), which drops exactly the entries a change can
 *     make wrong — a tenant's domain entry, every IdP entry of the tenant
 *     (plus the IdP's JWKS entry), every application entry of the tenant,
 *     the tenant's signing keys (signkeys_changed) — so a change is seen
 *     within the feed's delay (well under a second). STORE_CHANGE_ALL
 *     (the feed lost its connection and may have missed changes) drops
 *     every tenant, application, IdP and signing-key entry; the JWKS
 *     documents fetched from IdPs are kept (keys_get compares each
 *     entry's URI with the re-read IdP's on every call).
 *   - Where there is no feed (SQLite serves one node: watch answers
 *     ST_UNSUPPORTED) or while it is reconnecting, entries still expire
 *     after DIRECTORY_TTL seconds (signing keys: SIGNKEYS_RELOAD), so a
 *     change made behind grantd's back is seen within that time anyway.
 *   - A lookup that read the store while an invalidation ran answers with
 *     what it read but does not cache it (a generation count), so a stale
 *     row never outlives the change that invalidated it.
 *   - Tokens are never cached: introspection, revocation and refresh read
 *     and write the store on every request (introspect.c, grants.c), so a
 *     token revoked on one node is inactive on every node at once.
 *   - Signing keys: a node that finds no active key creates one; when it
 *     loses that race to another node (signing_key_add answers
 *     ST_CONFLICT) it reads the winner's key (signkeys.c, load).
 *   - The database down (ST_UNAVAILABLE): cached entries keep answering
 *     until they expire; a lookup that must read the store reports
 *     ST_UNAVAILABLE, which the endpoints answer with 503 and Retry-After. */
#ifndef GRANTD_OAUTH_DIRECTORY_H
#define GRANTD_OAUTH_DIRECTORY_H

#include "lib/arena.h"
#include "oauth/app_conf.h"
#include "oauth/context.h"
#include "oauth/idp_conf.h"

/* Seconds a cached entry is trusted without asking the store. */
#define DIRECTORY_TTL 5

struct directory *directory_new(void);
void directory_free(struct directory *d);

/* Resolves a tenant domain to its id (copied into `a`); ST_NOT_FOUND for an
 * unknown or deactivated tenant. Signature fits http_server_opts. */
status directory_tenant_resolve(void *ctx, struct arena *a, const char *domain,
				const char **tenant_id);
/* Drops the cached entry of `domain` (matched case-insensitively; NULL:
 * every tenant's). */
void directory_tenant_invalidate(struct oauth_ctx *c, const char *domain);

/* The application with `client_id` in tenant `tenant_id`. ST_OK with a new
 * reference in *out (app_conf_free() it); ST_NOT_FOUND ("unknown client")
 * when there is none in that tenant (an application of another tenant is
 * unknown here); ST_IO/ST_NOMEM on server faults; ST_INTERNAL when the
 * stored document no longer parses (logged: the admin API validated
 * what it stored). `out->id`, `tenant_id`, `client_id` and the
 * secret hash are filled from the store row. */
status directory_app_by_client_id(struct oauth_ctx *c, const char *tenant_id, const char *client_id,
				  struct app_conf **out, struct err *e);

/* The identity provider an assertion's `iss` names in the tenant
 * (docs/jwt-grant.md, the checks, step 4): the oldest whose idpIssuerName equals `iss`, else the
 * one whose name equals `iss`. Among several candidates an enabled one is preferred, so a disabled
 * IdP is returned only when no enabled one matches (the caller reports "disabled"). ST_OK with a
 * new reference (idp_conf_free() it), ST_NOT_FOUND, or a server fault as above. */
status directory_idp_by_issuer(struct oauth_ctx *c, const char *tenant_id, const char *iss,
			       struct idp_conf **out, struct err *e);
/* The identity provider named `name` in the tenant; as above. */
status directory_idp_by_name(struct oauth_ctx *c, const char *tenant_id, const char *name,
			     struct idp_conf **out, struct err *e);

/* The admin API calls these after every change it commits, so the next
 * token request sees it (other nodes see it through the change feed, or
 * when their entry expires).
 * directory_idp_changed drops every cached IdP of the tenant (a rename or a
 * new issuer can change which IdP an `iss` selects) and tells the JWKS
 * cache to forget the IdP; tenant_id NULL drops all. directory_app_changed
 * drops the entries of `client_id` (NULL: every application of the
 * tenant). */
void directory_idp_changed(struct oauth_ctx *c, const char *tenant_id, const char *idp_id);
void directory_app_changed(struct oauth_ctx *c, const char *tenant_id, const char *client_id);

/* The store's change-feed callback (store_change_fn; `arg` is the struct
 * oauth_ctx): maps each change to the invalidations above, as described at
 * the top. Thread-safe with request threads; never calls the store. */
void directory_on_change(void *arg, const struct store_change *ch);

/* Subscribes directory_on_change to the store's change feed. ST_OK when the
 * feed runs; ST_UNSUPPORTED when the backend has none (SQLite: the TTLs
 * suffice); other statuses from the backend. Call once, after the caches
 * exist; the store must be closed before they are freed. */
status directory_watch(struct oauth_ctx *c, struct err *e);

#endif
