/* introspect.h - RFC 7662 introspection and RFC 7009 revocation,
 * POST [/t/T]/oauth2/introspect and POST [/t/T]/oauth2/revoke (docs/jwt-grant.md section 10,
 * docs/api/openapi.yaml).
 *
 * Both endpoints take the token endpoint's form rules (oauth_read_form) and
 * its client authentication (client_auth.h), answering 401 invalid_client
 * with WWW-Authenticate like it. A token, opaque or JWT, is found by the
 * keyed hash of its whole text (that is how tokens.c stores it), so a JWT
 * whose signature or kid was altered is simply unknown.
 *
 * Who may see what:
 *  - introspect: any confidential application of the tenant (resource
 *    servers are applications) may introspect any token of the tenant; a
 *    public client (auth method none) is refused (401), since anyone can
 *    claim its client id. Another tenant's token is inactive.
 *  - revoke: an application revokes only its own tokens (public clients
 *    too, RFC 7009 §2.1); another client's or tenant's token is left alone
 *    and the answer is the same 200. Revoking a refresh token revokes its
 *    whole chain (the refresh tokens and the access tokens minted from
 *    it); revoking an access token revokes that token only.
 * token_type_hint is accepted and only a hint: the lookup by hash finds
 * either kind. */
#ifndef GRANTD_OAUTH_INTROSPECT_H
#define GRANTD_OAUTH_INTROSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Whether a stored token is active for a caller of tenant `tenant_id` at
 * `now`: same tenant, not revoked, not expired (expires_at > now) and,
 * for a refresh token, not yet used (rotated). */
bool introspect_token_active(const struct store_token *t, const char *tenant_id, int64_t now);

#endif
