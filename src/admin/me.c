/* me.c - /me: what the logged-in admin does to its own account
 * (docs/api/openapi.yaml).
 *
 * POST /me/change-password {"currentPassword", "newPassword"}: the current
 * password is checked again (a stolen session of another kind, or a Basic
 * header cached by a browser, is not enough to take the account over), the
 * new one (8 to 1024 characters, no control characters) is stored as an
 * argon2id hash. The verification cache is keyed by the stored hash, so
 * the old password stops working at once. */
#include <string.h>

#include <sodium.h>

#include "admin/admin.h"
#include "admin/handlers.h"
#include "lib/limits.h"
#include "oauth/conf_util.h"

#define PASSWORD_MIN 8

static bool password_text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

ADMIN_HANDLER(admin_me_change_password)
{
	static const char *const fields[] = {"currentPassword", "newPassword", NULL};
	struct admin_call call;
	struct store_admin u;
	struct err e = {0};
	char hash[crypto_pwhash_STRBYTES];
	const char *current, *fresh;
	json_t *body;
	size_t n;
	status st;

	if (!admin_begin(ctx, req, resp, 0, &call))
		return;
	if ((body = admin_body(&call)) == NULL)
		return;
	if (conf_check_members(body, fields, "", &e) != ST_OK) {
		admin_error(&call, 400, "AUTH-60400", "%s", e.msg);
		goto out;
	}
	current = json_string_value(json_object_get(body, "currentPassword"));
	fresh = json_string_value(json_object_get(body, "newPassword"));
	if (current == NULL || fresh == NULL) {
		admin_error(&call, 400, "AUTH-60400",
			    "currentPassword and newPassword: required strings");
		goto out;
	}
	n = strlen(fresh);
	if (n < PASSWORD_MIN || n > LIMIT_PASSWORD || !password_text_ok(fresh)) {
		admin_error(&call, 400, "AUTH-60400",
			    "newPassword: %d to %d characters, no control characters", PASSWORD_MIN,
			    LIMIT_PASSWORD);
		goto out;
	}
	st = call.c->store->ops->admin_get(call.c->store, req->arena, call.login_tenant_id,
					   call.login_user, &u, &e);
	if (st != ST_OK) {
		admin_error_status(&call, st, &e, "AUTH");
		goto out;
	}
	if (crypto_pwhash_str_verify(u.pw_hash, current, strlen(current)) != 0) {
		admin_error(&call, 400, "AUTH-60401",
			    "currentPassword is not this admin's password");
		goto out;
	}
	if (crypto_pwhash_str(hash, fresh, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		admin_error(&call, 500, "SE-50000", "cannot hash the password (out of memory)");
		goto out;
	}
	u.pw_hash = hash;
	if ((st = call.c->store->ops->admin_put(call.c->store, &u, &e)) != ST_OK) {
		admin_error_status(&call, st, &e, "AUTH");
		goto out;
	}
	admin_json(&call, 204, NULL, NULL);
out:
	admin_body_wipe(body); /* the passwords are not kept in freed memory */
	json_decref(body);
}
