/* routes.h - the whole route table, gathered from the protocol modules. */
#ifndef GRANTD_APP_ROUTES_H
#define GRANTD_APP_ROUTES_H

#include <stddef.h>

#include "config/config.h"
#include "http/http.h"

/* Concatenates every module's routes into one malloc'd table (free() it);
 * admin routes that take a body take up to cfg->server.max_body_size. */
struct http_route *app_routes_build(const struct config *cfg, size_t *n);

#endif
