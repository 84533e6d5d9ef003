/* store_impl.h - private to src/store: what store.c and the backends share.
 *
 * Nothing outside src/store includes this header. */
#ifndef GRANTD_STORE_STORE_IMPL_H
#define GRANTD_STORE_STORE_IMPL_H

#include "store/store.h"

/* The logical schema version. Every backend's migration list ends here, so
 * `grantd version` reports one number whatever the database type. */
#define STORE_SCHEMA_VERSION 3

/* Opens the SQLite backend (store_sqlite.c); same contract as store_open. */
status store_sqlite_open(const struct config *cfg, struct store **out, struct err *e);

/* Opens the PostgreSQL backend (store_pg.c); same contract as store_open. */
status store_pg_open(const struct config *cfg, struct store **out, struct err *e);

/* Clamps a page request: limit to 1..STORE_PAGE_MAX, offset to >= 0. */
struct store_page store_page_norm(struct store_page pg);

#endif
