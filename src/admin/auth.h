/* auth.h - throttling and password verification (internal to src/admin). */
#ifndef GRANTD_ADMIN_AUTH_H
#define GRANTD_ADMIN_AUTH_H

#include <stdbool.h>

#include "admin/admin.h"

/* Seconds the caller must wait (0 = not throttled) for this source or user. */
int admin_auth_throttled(struct admin_auth *a, const char *source, const char *user);
void admin_auth_failed(struct admin_auth *a, const char *source, const char *user);
void admin_auth_succeeded(struct admin_auth *a, const char *user);
/* Verifies `password` against the argon2id `pw_hash`, through the cache. */
bool admin_auth_check(struct admin_auth *a, const char *tenant_id, const char *user,
		      const char *password, const char *pw_hash);
/* Spends the time of one argon2id check on a fixed hash (unknown users). */
void admin_auth_check_dummy(struct admin_auth *a, const char *password);
/* Drops every cached verification (after a password change). */
void admin_auth_forget(struct admin_auth *a);

#endif
