/* metrics.h - what the OAuth endpoints count for GET /metrics
 * (docs/operations.md, "Metrics"). Process-wide, lock-free (lib/metrics.h).
 *
 *   grantd_token_requests_total{tenant,grant_type,outcome,check}
 *       every answered token request: outcome "ok" or the RFC 6749 error
 *       (server faults are "server_error", an unreachable database
 *       "temporarily_unavailable"); check the jwt-bearer check that
 *       failed (docs/jwt-grant.md, "The checks, in order": "signature",
 *       "audience", ...), "client_assertion_replay", "refresh_token_reuse",
 *       else "none"
 *   grantd_tokens_issued_total{tenant,token}
 *       token "access_token", "jwt_access_token", "refresh_token", "id_token"
 *   grantd_replays_rejected_total{tenant,kind}
 *       kind "assertion" (a jwt-bearer jti), "client_assertion"
 *       (private_key_jwt), "refresh_token" (a rotated refresh token
 *       presented again: its chain was revoked)
 *   grantd_introspections_total{tenant,active}
 * `tenant` is the tenant's domain (the first MX_NAMES_MAX - 1 tenants
 * seen; later ones count as "_other"). */
#ifndef GRANTD_OAUTH_METRICS_H
#define GRANTD_OAUTH_METRICS_H

#include <stdbool.h>

#include "lib/metrics.h"
#include "oauth/oauth.h"

/* The fault's `check` labels beyond the jwt-bearer checks. */
#define OAUTH_CHECK_CLIENT_REPLAY "client_assertion_replay"
#define OAUTH_CHECK_REFRESH_REUSE "refresh_token_reuse"

/* The tokens of a 200 answer, for oauth_mx_token_request. */
#define OAUTH_MX_ACCESS     1u
#define OAUTH_MX_JWT_ACCESS 2u
#define OAUTH_MX_REFRESH    4u
#define OAUTH_MX_ID_TOKEN   8u

/* An answered token request. `grant` is an enum app_grant bit (0 for a
 * missing or unsupported grant_type); `st` the request's status, `fault`
 * its failure (unused when st is ST_OK), `issued` the OAUTH_MX_* bits of
 * the tokens it handed out. */
void oauth_mx_token_request(const char *tenant, unsigned grant, status st,
			    const struct oauth_fault *fault, unsigned issued);
void oauth_mx_introspection(const char *tenant, bool active);
/* Appends the families above (lib/metrics.h). */
void oauth_mx_render(struct mx_out *o);

#endif
