/* routes.c - the admin API's URL table (docs/api/openapi.yaml). Paths are relative to
 * the optional /t/{tenant} prefix, which the HTTP layer strips. */
#include "admin/admin.h"
#include "admin/handlers.h"
#include "http/multipart.h"
#include "lib/limits.h"

#define V1   "/api/server/v1"
#define BODY LIMIT_ADMIN_BODY
/* An export file, and the multipart framing around it. */
#define IMPORT_BODY (LIMIT_IMPORT_FILE + MULTIPART_PARTS_MAX * MULTIPART_HEADER_MAX)

const struct http_route admin_routes[] = {
    {HTTP_GET, V1 "/tenants", admin_tenant_list, 0, 0},
    {HTTP_POST, V1 "/tenants", admin_tenant_create, 0, BODY},
    {HTTP_GET, V1 "/tenants/{id}", admin_tenant_get, 0, 0},
    {HTTP_PATCH, V1 "/tenants/{id}", admin_tenant_patch, 0, BODY},
    {HTTP_GET, V1 "/identity-providers", admin_idp_list, 0, 0},
    {HTTP_POST, V1 "/identity-providers", admin_idp_create, 0, BODY},
    {HTTP_GET, V1 "/identity-providers/{id}", admin_idp_get, 0, 0},
    {HTTP_PUT, V1 "/identity-providers/{id}", admin_idp_put, 0, BODY},
    {HTTP_PATCH, V1 "/identity-providers/{id}", admin_idp_patch, 0, BODY},
    {HTTP_DELETE, V1 "/identity-providers/{id}", admin_idp_delete, 0, 0},
    {HTTP_GET, V1 "/applications", admin_app_list, 0, 0},
    {HTTP_POST, V1 "/applications", admin_app_create, 0, BODY},
    {HTTP_GET, V1 "/applications/{id}", admin_app_get, 0, 0},
    {HTTP_PATCH, V1 "/applications/{id}", admin_app_patch, 0, BODY},
    {HTTP_DELETE, V1 "/applications/{id}", admin_app_delete, 0, 0},
    {HTTP_GET, V1 "/applications/{id}/inbound-protocols/oidc", admin_app_oidc_get, 0, 0},
    {HTTP_PUT, V1 "/applications/{id}/inbound-protocols/oidc", admin_app_oidc_put, 0, BODY},
    {HTTP_POST, V1 "/applications/{id}/inbound-protocols/oidc/regenerate-secret",
     admin_app_regenerate_secret, 0, BODY},
    {HTTP_POST, V1 "/jwt-grant/validate", admin_jwt_validate, 0, BODY},
    {HTTP_POST, V1 "/import", admin_import, 0, IMPORT_BODY},
    {HTTP_POST, V1 "/identity-providers/import", admin_idp_import, 0, IMPORT_BODY},
    {HTTP_POST, V1 "/applications/import", admin_app_import, 0, IMPORT_BODY},
    {HTTP_GET, V1 "/audit-events", admin_audit_list, 0, 0},
    {HTTP_POST, V1 "/me/change-password", admin_me_change_password, 0, BODY},
    {HTTP_POST, V1 "/session", admin_session_create, 0, LIMIT_SESSION_BODY},
    {HTTP_GET, V1 "/session", admin_session_get, 0, 0},
    {HTTP_DELETE, V1 "/session", admin_session_delete, 0, 0},
};
const size_t admin_nroutes = sizeof admin_routes / sizeof admin_routes[0];
