/* app.h - the running server: wiring of the layers.
 *
 * The app owns the long-lived objects (the protocol context with config,
 * store, secret and caches; the data-dir lock) and is the only place that
 * knows both the HTTP layer and the protocol modules. */
#ifndef GRANTD_APP_APP_H
#define GRANTD_APP_APP_H

#include <stdbool.h>

#include "config/config.h"
#include "oauth/context.h"

struct app {
	struct oauth_ctx ctx; /* what every route handler receives */
	int lock_fd;          /* flock on <data_dir>/grantd.lock */
};

/* The TLS identity app_open reads for `grantd serve` (PEM texts, malloc'd;
 * the caller wipes the key and frees both, also on failure). */
struct app_tls {
	char *cert, *key;
};

/* Creates the data dir (0700; refused when group or others may write it),
 * reads a configured TLS identity when `tls` is not NULL, then, started as
 * root with [server] user, switches to that user (docs/operations.md,
 * "Running as a service"); as that user takes the data dir lock, reads or
 * generates the data dir's TLS identity (`tls` not NULL), loads or creates
 * the server secret, opens the store and makes sure the super tenant and
 * super admin exist. No thread is started before the switch.
 * ST_CONFLICT when another grantd holds the data dir. */
status app_open(const struct config *cfg, struct app_tls *tls, struct app **out, struct err *e);
void app_close(struct app *app);

/* Runs the server until SIGTERM/SIGINT. Returns 0, or 1 on a runtime failure. */
int app_serve(const struct config *cfg);

/* `grantd keys rotate`: opens the data dir (so the server must be stopped:
 * the data dir lock), gives the tenant with domain `tenant` (NULL: the
 * super tenant) a new active signing key, prints its kid. Returns the exit
 * code: 0, 1 (runtime failure), 2 (no such tenant). */
int app_keys_rotate(const struct config *cfg, const char *tenant);

/* `grantd admin set-password`: sets the password of admin `user` (NULL:
 * "admin") of tenant `tenant` (NULL: the super tenant) in the data dir's
 * database, beside a running server or not (the server's verification
 * cache is keyed by the stored hash, so the old password stops working at
 * once). Runs as the data dir's owner only (files it creates must stay the
 * server's). Returns 0, 1 (runtime failure), 2 (no such tenant or admin,
 * bad password). */
int app_admin_set_password(const struct config *cfg, const char *tenant, const char *user,
			   const char *password);

/* `grantd import`: imports the WSO2 IS 7 export files `files` into tenant
 * `tenant` (NULL: the super tenant) through the admin API's create path
 * (src/admin/import.h), printing one line per object (imported, would
 * import, skipped or failed, with the dropped members). Opens the data dir
 * like `keys rotate`, so the server must be stopped (a running server's
 * directory caches lookups, negative ones included: use the API there).
 * `dry_run`: validates and checks for conflicts, writes nothing. Returns
 * 0 when every object was imported (or would be), 1 when some was not or
 * a file was refused, 2 for an unknown tenant. */
/* grantd migrate: creates or upgrades the configured database's schema;
 * with `from_sqlite`, then copies that SQLite database into the configured
 * (empty, PostgreSQL) one. Exit code: 0, 1 on failure, 2 on usage. */
int app_migrate(const struct config *cfg, const char *from_sqlite);

int app_import(const struct config *cfg, const char *tenant, bool dry_run, char **files,
	       int nfiles);

#endif
