/* auth.h - throttling and password verification (internal to src/admin). */
#ifndef GRANTD_ADMIN_AUTH_H
#define GRANTD_ADMIN_AUTH_H

#include <stdbool.h>

#include "admin/admin.h"

/* Before a password is checked: 0 = go on (the attempt is counted against
 * the source and the principal, "user@domain" with the domain in lower
 * case), else the seconds to wait (429; nothing counted). See auth.c. */
int admin_auth_begin(struct admin_auth *a, const char *source, const char *principal);
/* The password was right: the source's attempt is taken back and the
 * principal's failures are forgotten. */
void admin_auth_succeeded(struct admin_auth *a, const char *source, const char *principal);
/* Verifies `password` against the argon2id `pw_hash`, through the cache. */
bool admin_auth_check(struct admin_auth *a, const char *tenant_id, const char *user,
		      const char *password, const char *pw_hash);
/* Spends the time of one argon2id check on a fixed hash (unknown users). */
void admin_auth_check_dummy(struct admin_auth *a, const char *password);
/* Drops every cached verification (after a password change). */
void admin_auth_forget(struct admin_auth *a);
/* The console's session table (admin/session.h), owned by `a`. */
struct session_table *admin_auth_sessions(struct admin_auth *a);

/* Fills call->login_*, super and actor (and the access log's note) for
 * admin `user` of tenant `t`. */
void admin_identify(struct admin_call *call, const struct store_tenant *t, const char *user);
/* Checks `login` ("admin" or "user@tenant") and `password` (wiped on
 * success) as HTTP Basic does: throttled (429), argon2id through the
 * cache, 401 for unknown users and wrong passwords alike. true with *t, *u
 * (in the request's arena) and *user filled; false = answered. */
bool admin_login(struct admin_call *call, const char *login, char *password, struct store_tenant *t,
		 struct store_admin *u, const char **user);

#endif
