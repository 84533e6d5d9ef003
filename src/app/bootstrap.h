/* bootstrap.h - data-dir duties of app_open (internal to src/app). */
#ifndef GRANTD_APP_BOOTSTRAP_H
#define GRANTD_APP_BOOTSTRAP_H

#include <stddef.h>

#include "app/app.h"

/* mkdir -p (one level) with 0700, and checks it is a writable directory. */
status boot_data_dir(const char *dir, struct err *e);
/* Takes an exclusive flock on <dir>/grantd.lock; ST_CONFLICT when held. */
status boot_lock(const char *dir, int *fd_out, struct err *e);
/* Reads <dir>/server-secret, creating it (0600, random) on first start. */
status boot_server_secret(const char *dir, unsigned char *secret, size_t len, struct err *e);
/* Creates the super tenant and its 'admin' on first start. */
status boot_tenants_and_admin(struct oauth_ctx *c, struct err *e);

#endif
