/* router.h - request-path validation, the tenant prefix and route matching.
 * Pure functions over untrusted bytes (no I/O, no globals), fuzzed by
 * fuzz/http/fuzz_router.c.
 *
 * Route patterns are absolute paths whose segments are literals or "{name}"
 * parameters; a parameter matches exactly one non-empty segment. With
 * HTTP_ROUTE_PREFIX the pattern also matches longer paths: "/console"
 * matches "/console", "/console/" and "/console/a/b"; "/console/" matches
 * the same except "/console".
 *
 * Matching is deterministic. Among the routes whose pattern matches the
 * path, segments are compared left to right: a literal beats a parameter;
 * then an exact pattern beats a prefix one and a longer prefix a shorter
 * one; remaining ties go to the earlier table entry. The most specific
 * route that allows the method wins (HEAD is allowed wherever GET is); when
 * the path matches but no route allows the method the result is 405 with
 * the union of the matching routes' methods. */
#ifndef GRANTD_HTTP_ROUTER_H
#define GRANTD_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "lib/arena.h"
#include "lib/err.h"
#include "lib/str.h"

/* Maps a method name ("GET") to its bit; HTTP_OTHER for anything else. */
enum http_method router_method(const char *name);

/* Writes an Allow header value ("GET, HEAD, POST") for `mask` into the arena;
 * NULL on OOM. */
const char *router_allow(struct arena *a, unsigned mask);

/* Validates the raw request path (what the client sent, before any decoding)
 * and percent-decodes it: it must start with '/', be at most LIMIT_HTTP_PATH
 * bytes, use only RFC 3986 path characters, and its decoded form must not
 * contain NUL, control bytes, an encoded '/' (%2F), an empty segment ("//")
 * or a "." / ".." segment. Returns ST_OK with the decoded path (arena copy),
 * ST_TOO_LARGE over the limit, ST_INVALID with the reason in `e`. */
status router_path_decode(struct arena *a, struct sv raw, struct sv *out, struct err *e);

/* True for a tenant domain: DNS-like labels of [A-Za-z0-9-] (1-63 bytes, no
 * leading or trailing '-') separated by single dots, at most
 * LIMIT_TENANT_DOMAIN bytes ("carbon.super", "acme"). Case is not folded:
 * the server lower-cases the domain after validating it. */
bool router_tenant_valid(struct sv domain);

/* Splits a decoded path at the tenant prefix "/t/{tenant}". Without the
 * prefix: ST_OK, *tenant = SV_NULL, *rest = path. With it: ST_OK, *tenant
 * the domain as written and *rest the remainder ("/" when nothing follows).
 * A tenant that is not router_tenant_valid(): ST_NOT_FOUND, *tenant =
 * SV_NULL, *rest still the remainder (so the caller can answer in the shape
 * of the route it addressed). "/t" or "/t/": ST_NOT_FOUND, *rest = SV_NULL. */
status router_split_tenant(struct sv path, struct sv *tenant, struct sv *rest);

enum router_result {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND,          /* 404 */
	ROUTER_METHOD_NOT_ALLOWED, /* 405; see `allowed` */
};

struct router_match {
	const struct http_route *route;       /* ROUTER_FOUND */
	struct sv params[LIMIT_ROUTE_PARAMS]; /* {name} values, borrowing the path */
	size_t nparams;
	unsigned allowed; /* ROUTER_METHOD_NOT_ALLOWED: methods the path accepts */
};

/* Matches `path` (decoded, tenant prefix removed) and `method` against the
 * table. Routes with any flag in `skip_flags` are ignored (the server skips
 * HTTP_ROUTE_NO_TENANT routes when the request named a tenant). Patterns with
 * more than LIMIT_ROUTE_PARAMS parameters never match. */
enum router_result router_match(const struct http_route *routes, size_t nroutes,
				enum http_method method, struct sv path, unsigned skip_flags,
				struct router_match *m);

#endif
