/* conf_util.h - JSON helpers shared by the document models (idp_conf,
 * app_conf) and the admin API that feeds them.
 *
 * Nothing here validates: the models keep their own rules and messages;
 * these are the mechanics they have in common. */
#ifndef GRANTD_OAUTH_CONF_UTIL_H
#define GRANTD_OAUTH_CONF_UTIL_H

#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/str.h"

/* The member `key` of `obj` (borrowed); NULL when absent or JSON null, so
 * that null always means "absent". */
json_t *conf_member(const json_t *obj, const char *key);

/* The first member name of `obj` that is not in `allowed` (NULL-terminated),
 * borrowed from `obj`; NULL when every member is allowed. */
const char *conf_unknown_member(const json_t *obj, const char *const *allowed);

/* A malloc'd copy of the JSON string `v` (its bytes up to its length); NULL
 * on OOM. */
char *conf_string_dup(const json_t *v);

/* A new JSON string of `s`, or JSON null when `s` is NULL; NULL on OOM. */
json_t *conf_string_or_null(const char *s);

/* Checks entry `v` of a list of strings, named `path` ("x.allowedScopes[2]")
 * in messages; `l` holds the entries accepted before it. ST_OK or the
 * failure to report. */
typedef status (*conf_item_check)(const json_t *v, const char *path, const struct strlist *l,
				  void *ctx, struct err *e);

/* Fills the empty list `out` from the JSON array `arr` (whose type and size
 * the caller has checked, in its own words): each entry, named
 * "<path>[<index>]", must pass `check` (given `ctx`), then is copied. ST_NOMEM
 * on OOM. On failure `out` holds the entries accepted so far: strlist_free()
 * it. */
status conf_strlist_parse(const json_t *arr, const char *path, conf_item_check check, void *ctx,
			  struct strlist *out, struct err *e);

/* A new JSON array of the entries of `l`; NULL on OOM. */
json_t *conf_strlist_json(const struct strlist *l);

/* Sets o[k] = v, stealing v (also on failure, as jansson does); a NULL `v`
 * (a failed allocation), a NULL `o` or a failed set clears *ok. */
void conf_put(json_t *o, const char *k, json_t *v, bool *ok);

#endif
