/* handlers.h - the admin API's resources (internal to src/admin). */
#ifndef GRANTD_ADMIN_HANDLERS_H
#define GRANTD_ADMIN_HANDLERS_H

#include <stdbool.h>

#include "http/http.h"

/* Every handler has the http_handler signature:
 * void (void *ctx, struct http_req *req, struct http_resp *resp). */
#define ADMIN_HANDLER(name) void name(void *ctx, struct http_req *req, struct http_resp *resp)

/* /tenants */
ADMIN_HANDLER(admin_tenant_list);
ADMIN_HANDLER(admin_tenant_create);
ADMIN_HANDLER(admin_tenant_get);
ADMIN_HANDLER(admin_tenant_patch);

/* /identity-providers (idp.c) */
ADMIN_HANDLER(admin_idp_list);
ADMIN_HANDLER(admin_idp_create);
ADMIN_HANDLER(admin_idp_get);
ADMIN_HANDLER(admin_idp_put);
ADMIN_HANDLER(admin_idp_patch);
ADMIN_HANDLER(admin_idp_delete);

/* /applications (apps.c) */
ADMIN_HANDLER(admin_app_list);
ADMIN_HANDLER(admin_app_create);
ADMIN_HANDLER(admin_app_get);
ADMIN_HANDLER(admin_app_patch);
ADMIN_HANDLER(admin_app_delete);
ADMIN_HANDLER(admin_app_oidc_get);
ADMIN_HANDLER(admin_app_oidc_put);
ADMIN_HANDLER(admin_app_regenerate_secret);

/* WSO2 export files (import.c): /import, /identity-providers/import,
 * /applications/import */
ADMIN_HANDLER(admin_import);
ADMIN_HANDLER(admin_idp_import);
ADMIN_HANDLER(admin_app_import);

/* /jwt-grant/validate (validate.c): the dry run */
ADMIN_HANDLER(admin_jwt_validate);

/* /audit-events */
ADMIN_HANDLER(admin_audit_list);

/* DNS-like tenant domain (lower case labels of a-z 0-9 '-'). */
bool admin_valid_domain(const char *d);
/* Admin user names: 1-64 of A-Z a-z 0-9 . _ - */
bool admin_valid_username(const char *u);

/* /session (login.c): the console's login and logout */
ADMIN_HANDLER(admin_session_create);
ADMIN_HANDLER(admin_session_get);
ADMIN_HANDLER(admin_session_delete);

/* me.c */
ADMIN_HANDLER(admin_me_change_password);

#endif
