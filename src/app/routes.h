/* routes.h - the whole route table, gathered from the protocol modules. */
#ifndef GRANTD_APP_ROUTES_H
#define GRANTD_APP_ROUTES_H

#include <stddef.h>

#include "http/http.h"

/* Concatenates every module's routes into one malloc'd table (free() it). */
struct http_route *app_routes_build(size_t *n);

#endif
