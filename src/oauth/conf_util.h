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

/* ST_INVALID "<path>.<key>: unknown field" for the first member of `obj`
 * not in `allowed` (NULL-terminated); the name is shown cut and with
 * control characters replaced. `path` "" for the top level. */
status conf_check_members(const json_t *obj, const char *const *allowed, const char *path,
			  struct err *e);

/* Members a model keeps without acting on them (WSO2's members grantd does
 * not implement, docs/api/openapi.yaml): `name` directly in the object
 * (`in` NULL) or in its sub-object `in`, of JSON type `type` (JSON_TRUE
 * stands for either boolean). Strings hold at most CONF_EXTRA_TEXT_MAX
 * bytes and no control characters; arrays at most CONF_EXTRA_ITEMS
 * entries. */
#define CONF_EXTRA_TEXT_MAX 2048
#define CONF_EXTRA_ITEMS    100
struct conf_extra {
	const char *in, *name;
	json_type type;
};

/* Splits `obj` (borrowed): `*rest` a copy of it without the members of
 * `tab` (sub-objects copied as needed; the rest shared), `*extras` those
 * members, nested as in `obj`, or NULL when there are none. A member that
 * is null counts as absent. A wrong type is ST_INVALID "<path>.<in>.<name>:
 * must be ..."; when `in` is present but not an object both stay NULL and
 * the caller's own check reports it. ST_NOMEM on OOM. */
status conf_extras_take(const json_t *obj, const struct conf_extra *tab, size_t n, const char *path,
			json_t **rest, json_t **extras, struct err *e);

/* Adds `extras` (as conf_extras_take() made them; NULL is a no-op) to the
 * document `doc`, merging a sub-object into the member of that name.
 * false on OOM. */
bool conf_extras_put(json_t *doc, const json_t *extras);

#endif
