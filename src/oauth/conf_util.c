/* conf_util.c - JSON helpers shared by the document models (see
 * conf_util.h). */
#include "oauth/conf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of an entry's path in messages: room for the longest member path
 * the models accept, plus an index. */
#define PATH_MAX_LEN 128

json_t *conf_member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

const char *conf_unknown_member(const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	/* jansson's iteration API takes no const object. */
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(key, allowed[i]) != 0)
			i++;
		if (allowed[i] == NULL)
			return key;
	}
	return NULL;
}

char *conf_string_dup(const json_t *v)
{
	return str_dup_sv((struct sv){json_string_value(v), json_string_length(v)});
}

status conf_strlist_parse(const json_t *arr, const char *path, conf_item_check check, void *ctx,
			  struct strlist *out, struct err *e)
{
	size_t n = json_array_size(arr);
	char p[PATH_MAX_LEN];
	status st;

	if (n == 0)
		return ST_OK;
	if ((out->v = calloc(n, sizeof *out->v)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);

		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if ((st = check(v, p, out, ctx, e)) != ST_OK)
			return st;
		if ((out->v[i] = conf_string_dup(v)) == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		out->n = i + 1;
	}
	return ST_OK;
}

json_t *conf_string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *conf_strlist_json(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

void conf_put(json_t *o, const char *k, json_t *v, bool *ok)
{
	if (json_object_set_new(o, k, v) != 0)
		*ok = false;
}
