/* console.h - the Management Console's static files (docs/console.md).
 *
 * The console is plain HTML, CSS and JavaScript modules in one flat
 * folder (console/ in the source tree; installed to
 * <datadir>/grantd/console). This module serves that folder under
 * /console/ (and /t/{tenant}/console/): GET and HEAD only, one path
 * segment of [A-Za-z0-9_-] plus one extension from a fixed allow-list,
 * each with a fixed Content-Type. Files are opened relative to the folder
 * with O_NOFOLLOW, so neither ".." (which the router refuses anyway) nor a
 * symbolic link can reach a file outside it. Every console response, 404s
 * included, carries the console's security headers (console_headers).
 *
 * Threading: a console is immutable after console_new; console_serve runs
 * on any server thread. */
#ifndef GRANTD_CONSOLE_CONSOLE_H
#define GRANTD_CONSOLE_CONSOLE_H

#include "config/config.h"
#include "http/http.h"
#include "lib/err.h"

struct console;

/* Opens the folder: cfg->console.dir when set (a missing folder is then
 * ST_INVALID with the reason in `e`), else the first of `<folder of the
 * running binary>/console` (a build tree) and GRANTD_CONSOLE_DIR (the
 * install location) that holds an index.html; when neither does, the
 * console answers 404 and a warning is logged. *out is owned by the caller
 * (console_free). */
status console_new(const struct config *cfg, struct console **out, struct err *e);
void console_free(struct console *con);

/* Answers a request whose path (after the tenant prefix) starts with
 * "/console": "/console" redirects to "/console/", "/console/" is
 * index.html. ETag (SHA-256 of the content) with If-None-Match -> 304,
 * Cache-Control: no-cache. `con` NULL answers 404. */
void console_serve(const struct console *con, struct http_req *req, struct http_resp *resp);

/* The console's security headers: Content-Security-Policy (only 'self', no
 * inline script or style, frame-ancestors 'none'), X-Frame-Options,
 * Referrer-Policy, Cross-Origin-Opener-Policy. */
void console_headers(struct http_resp *resp);

/* The Content-Type for a file name, NULL when the name is not servable
 * (pure; see the rules above). */
const char *console_content_type(struct sv name);

#endif
