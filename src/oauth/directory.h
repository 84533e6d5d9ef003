/* directory.h - cached lookups of tenants, applications and identity
 * providers in front of the store.
 *
 * These sit on every request's path. Readers share a rwlock and either copy
 * out (tenants) or take a reference to an immutable parsed configuration
 * (applications, identity providers): a hit never touches the store and
 * never parses anything. Entries expire after DIRECTORY_TTL seconds so that
 * changes made by another node are seen; on expiry the row is read again and
 * re-parsed only when it changed (an IdP's certificates are parsed once per
 * change, not per request). Changes made by this node's admin API
 * invalidate at once through directory_idp_changed/directory_app_changed.
 * The caches are bounded: a full bucket evicts its oldest entry. Unknown
 * client ids and issuers are cached as negative entries for the same TTL. */
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
 * token request sees it (other nodes see it when their entry expires).
 * directory_idp_changed drops every cached IdP of the tenant (a rename or a
 * new issuer can change which IdP an `iss` selects) and tells the JWKS
 * cache to forget the IdP; tenant_id NULL drops all. directory_app_changed
 * drops the entries of `client_id` (NULL: every application of the
 * tenant). */
void directory_idp_changed(struct oauth_ctx *c, const char *tenant_id, const char *idp_id);
void directory_app_changed(struct oauth_ctx *c, const char *tenant_id, const char *client_id);

#endif
