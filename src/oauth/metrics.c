/* metrics.c - the OAuth endpoints' counters (see metrics.h). */
#include "oauth/metrics.h"

#include <string.h>

#include "oauth/app_conf.h"
#include "oauth/jwt_grant.h"

enum { G_JWT, G_REFRESH, G_CLIENT_CREDENTIALS, G_OTHER, NGRANTS };
static const char *const grant_names[NGRANTS] = {"jwt-bearer", "refresh_token",
						 "client_credentials", "unsupported"};

/* Outcome 0 is "ok", then enum oauth_error from OAUTH_INVALID_REQUEST. */
#define NOUTCOMES (OAUTH_TEMPORARILY_UNAVAILABLE + 1)

/* Check 0 is "none", 1..JWT_NCHECKS the jwt-bearer checks, then these. */
enum { C_CLIENT_REPLAY = JWT_NCHECKS + 1, C_REFRESH_REUSE, NCHECKS };

/* In the order of the OAUTH_MX_* bits. */
enum { T_ACCESS, T_JWT_ACCESS, T_REFRESH, T_ID, NTOKENS };
_Static_assert(OAUTH_MX_ACCESS == 1u << T_ACCESS && OAUTH_MX_JWT_ACCESS == 1u << T_JWT_ACCESS &&
		   OAUTH_MX_REFRESH == 1u << T_REFRESH && OAUTH_MX_ID_TOKEN == 1u << T_ID,
	       "token bits and names in one order");
static const char *const token_names[NTOKENS] = {"access_token", "jwt_access_token",
						 "refresh_token", "id_token"};

enum { R_ASSERTION, R_CLIENT, R_REFRESH, NREPLAYS };
static const char *const replay_names[NREPLAYS] = {"assertion", "client_assertion",
						   "refresh_token"};

static struct mx_names tenants = MX_NAMES_INIT;
static mx_counter requests[MX_NAMES_MAX][NGRANTS][NOUTCOMES][NCHECKS];
static mx_counter issued_n[MX_NAMES_MAX][NTOKENS]; /* by OAUTH_MX_* bit */
static mx_counter replays[MX_NAMES_MAX][NREPLAYS];
static mx_counter introspections[MX_NAMES_MAX][2];
static const char *const active_names[2] = {"false", "true"};

static size_t tenant_index(const char *tenant)
{
	return mx_names_index(&tenants, tenant != NULL ? tenant : "-");
}

static size_t grant_index(unsigned grant)
{
	switch (grant) {
	case APP_GRANT_JWT_BEARER: return G_JWT;
	case APP_GRANT_REFRESH_TOKEN: return G_REFRESH;
	case APP_GRANT_CLIENT_CREDENTIALS: return G_CLIENT_CREDENTIALS;
	}
	return G_OTHER;
}

static const char *check_name(size_t i)
{
	if (i == 0)
		return "none";
	if (i <= JWT_NCHECKS)
		return jwt_check_name((enum jwt_check_id)(i - 1));
	return i == C_CLIENT_REPLAY ? OAUTH_CHECK_CLIENT_REPLAY : OAUTH_CHECK_REFRESH_REUSE;
}

static size_t check_index(const char *check)
{
	if (check == NULL)
		return 0;
	for (size_t i = 1; i < NCHECKS; i++)
		if (strcmp(check, check_name(i)) == 0)
			return i;
	return 0;
}

void oauth_mx_token_request(const char *tenant, unsigned grant, status st,
			    const struct oauth_fault *fault, unsigned issued)
{
	size_t t = tenant_index(tenant), outcome = 0, check = 0;

	if (st != ST_OK) {
		enum oauth_error err = oauth_fault_class(fault, st);
		outcome = (size_t)err;
		check = check_index(fault->check);
		if (err < OAUTH_SERVER_ERROR) {
			if (check == 1 + JWT_CHECK_REPLAY)
				mx_add(&replays[t][R_ASSERTION], 1);
			else if (check == C_CLIENT_REPLAY)
				mx_add(&replays[t][R_CLIENT], 1);
			else if (check == C_REFRESH_REUSE)
				mx_add(&replays[t][R_REFRESH], 1);
		}
	}
	mx_add(&requests[t][grant_index(grant)][outcome][check], 1);
	for (size_t k = 0; k < NTOKENS; k++)
		if (issued & (1u << k))
			mx_add(&issued_n[t][k], 1);
}

void oauth_mx_introspection(const char *tenant, bool active)
{
	mx_add(&introspections[tenant_index(tenant)][active ? 1 : 0], 1);
}

/* A counter family over (tenant, `label`): `v[t * n + k]` for the k-th
 * of the `n` values of `label`; zero series are left out. */
static void by_tenant(struct mx_out *o, const char *name, const char *help, const char *label,
		      const char *const *values, size_t n, const mx_counter *v)
{
	size_t nt = mx_names_count(&tenants);
	char lb[512];

	mx_family(o, name, "counter", help);
	for (size_t t = 0; t < nt; t++)
		for (size_t k = 0; k < n; k++) {
			const char *kv[] = {"tenant", mx_names_get(&tenants, t), label, values[k]};
			if (mx_get(&v[t * n + k]) > 0)
				mx_sample(o, name, mx_labels(lb, sizeof lb, 2, kv),
					  mx_get(&v[t * n + k]));
		}
}

void oauth_mx_render(struct mx_out *o)
{
	size_t nt = mx_names_count(&tenants);
	char lb[512];

	mx_family(o, "grantd_token_requests_total", "counter",
		  "Answered token requests by tenant, grant type, outcome (ok or the OAuth "
		  "error) and the check that failed.");
	for (size_t t = 0; t < nt; t++)
		for (size_t g = 0; g < NGRANTS; g++)
			for (size_t r = 0; r < NOUTCOMES; r++)
				for (size_t k = 0; k < NCHECKS; k++) {
					uint64_t v = mx_get(&requests[t][g][r][k]);
					const char *kv[] = {
					    "tenant",
					    mx_names_get(&tenants, t),
					    "grant_type",
					    grant_names[g],
					    "outcome",
					    r == 0 ? "ok" : oauth_error_name((enum oauth_error)r),
					    "check",
					    check_name(k)};
					if (v > 0)
						mx_sample(o, "grantd_token_requests_total",
							  mx_labels(lb, sizeof lb, 4, kv), v);
				}
	by_tenant(o, "grantd_tokens_issued_total", "Tokens handed out by tenant and kind.", "token",
		  token_names, NTOKENS, &issued_n[0][0]);
	by_tenant(o, "grantd_replays_rejected_total",
		  "Requests refused because an assertion's jti, a client assertion's jti or a "
		  "rotated refresh token was used again.",
		  "kind", replay_names, NREPLAYS, &replays[0][0]);
	by_tenant(o, "grantd_introspections_total",
		  "Answered introspection requests by tenant and whether the token was active.",
		  "active", active_names, 2, &introspections[0][0]);
}
