/* migrate.c - grantd migrate: create or upgrade the configured database's
 * schema without serving, and optionally copy an SQLite data set into an
 * empty PostgreSQL database (docs/operations.md, "Migrations" and "Moving
 * from SQLite to PostgreSQL"). */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "config/config.h"
#include "lib/log.h"
#include "store/store.h"

int app_migrate(const struct config *cfg, const char *from_sqlite)
{
	struct store *store = NULL;
	struct store_copy_count counts[STORE_COPY_TABLES];
	struct err e = {0};
	bool pg = strcmp(cfg->database.type, "postgres") == 0;

	if (from_sqlite != NULL && !pg) {
		log_error(
		    "--from-sqlite copies into PostgreSQL: set [database] type = \"postgres\" "
		    "and url in the configuration");
		return 2;
	}
	/* Opening the store creates or upgrades the schema, under the
	 * backend's lock, exactly as a starting server does. */
	if (store_open(cfg, &store, &e) != ST_OK) {
		log_error("%s", e.msg);
		return 1;
	}
	printf("schema: version %d found, %d migration%s applied, now %d\n", store->schema_found,
	       store->migrations_applied, store->migrations_applied == 1 ? "" : "s",
	       store_schema_version());
	store_close(store);
	if (from_sqlite == NULL)
		return 0;
	if (store_copy_sqlite_to_pg(from_sqlite, cfg->database.url, counts, &e) != ST_OK) {
		log_error("nothing copied: %s", e.msg);
		return 1;
	}
	for (size_t i = 0; i < STORE_COPY_TABLES; i++)
		printf("copied %-20s %lld rows\n", counts[i].table, (long long)counts[i].rows);
	printf(
	    "done. Every node needs the server secret of the SQLite node: copy its "
	    "<data_dir>/server-secret to each node's data dir (mode 0600) before starting it.\n");
	return 0;
}
