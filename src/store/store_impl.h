/* store_impl.h - private to src/store: what store.c and the backends share.
 *
 * Nothing outside src/store includes this header. */
#ifndef GRANTD_STORE_STORE_IMPL_H
#define GRANTD_STORE_STORE_IMPL_H

#include "store/store.h"
#include "lib/limits.h"

/* The logical schema version. Every backend's migration list ends here, so
 * `grantd version` reports one number whatever the database type. */
#define STORE_SCHEMA_VERSION 3

/* Opens the SQLite backend (store_sqlite.c); same contract as store_open. */
status store_sqlite_open(const struct config *cfg, struct store **out, struct err *e);

/* Opens the PostgreSQL backend (store_pg.c); same contract as store_open. */
status store_pg_open(const struct config *cfg, struct store **out, struct err *e);

/* Clamps a page request: limit to 1..STORE_PAGE_MAX, offset to >= 0. */
struct store_page store_page_norm(struct store_page pg);

/* Checks and helpers both backends share, so they answer alike. */

/* ASCII lower-case copy of a tenant domain; false when it does not fit. */
bool store_domain_lower(char out[LIMIT_TENANT_DOMAIN + 1], const char *in);
/* ST_INVALID (with the message) for a record missing a required field. */
status store_idp_check(const struct store_idp *p, struct err *e);
status store_app_check(const struct store_app *p, struct err *e);
status store_token_check(const struct store_token *t, struct err *e);
/* Resets tx's out fields; ST_INVALID for a malformed grant transaction. */
status store_grant_tx_check(struct store_grant_tx *tx, struct err *e);

#endif
