/* store.c - backend-independent part of the store: picking the backend by
 * config, closing it, and helpers every backend shares. No SQL here. */
#include "store/store.h"

#include <string.h>

#include "config/config.h"
#include "store/store_impl.h"

status store_open(const struct config *cfg, struct store **out, struct err *e)
{
	const char *type = cfg->database.type;

	*out = NULL;
	if (type == NULL || strcmp(type, "sqlite") == 0)
		return store_sqlite_open(cfg, out, e);
	if (strcmp(type, "postgres") == 0)
		return store_pg_open(cfg, out, e);
	return err_set(e, ST_INVALID,
		       "database.type \"%s\" is unknown (use \"sqlite\" or \"postgres\")", type);
}

void store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

struct store_page store_page_norm(struct store_page pg)
{
	if (pg.limit < 1)
		pg.limit = 1;
	if (pg.limit > STORE_PAGE_MAX)
		pg.limit = STORE_PAGE_MAX;
	if (pg.offset < 0)
		pg.offset = 0;
	return pg;
}
