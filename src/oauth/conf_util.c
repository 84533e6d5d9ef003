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

status conf_check_members(const json_t *obj, const char *const *allowed, const char *path,
			  struct err *e)
{
	const char *key = conf_unknown_member(obj, allowed);
	char shown[64 + 4];

	if (key == NULL)
		return ST_OK;
	str_show(shown, sizeof shown, key, strlen(key));
	return err_set(e, ST_INVALID, "%s%s%s: unknown field", path, path[0] ? "." : "", shown);
}

/* Checks extra member `v` of type `t`, named "<path>.<in>.<name>". */
static status extra_check(const json_t *v, json_type t, const char *path, const char *in,
			  const char *name, struct err *e)
{
	const char *want = NULL;
	char where[PATH_MAX_LEN];

	snprintf(where, sizeof where, "%s%s%s%s%s", path, path[0] ? "." : "", in ? in : "",
		 in ? "." : "", name);
	if (t == JSON_TRUE ? !json_is_boolean(v) : json_typeof(v) != t)
		want = t == JSON_TRUE      ? "true or false"
		       : t == JSON_STRING  ? "a string"
		       : t == JSON_INTEGER ? "an integer"
		       : t == JSON_ARRAY   ? "an array"
					   : "an object";
	if (want != NULL)
		return err_set(e, ST_INVALID, "%s: must be %s", where, want);
	if (t == JSON_ARRAY && json_array_size(v) > CONF_EXTRA_ITEMS)
		return err_set(e, ST_INVALID, "%s: at most %d entries", where, CONF_EXTRA_ITEMS);
	if (t == JSON_STRING) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (n > CONF_EXTRA_TEXT_MAX)
			return err_set(e, ST_INVALID, "%s: at most %d bytes", where,
				       CONF_EXTRA_TEXT_MAX);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
				return err_set(e, ST_INVALID,
					       "%s: control characters are not allowed", where);
	}
	return ST_OK;
}

/* `*copy` (made from `orig` on first need) with member `key` replaced by
 * a shallow copy of it; the replacement, borrowed, or NULL on OOM. */
static json_t *own_sub(json_t *copy, const char *key)
{
	json_t *sub = json_copy(json_object_get(copy, key));

	if (sub == NULL || json_object_set_new(copy, key, sub) != 0)
		return NULL;
	return sub;
}

status conf_extras_take(const json_t *obj, const struct conf_extra *tab, size_t n, const char *path,
			json_t **rest, json_t **extras, struct err *e)
{
	json_t *r = json_copy((json_t *)obj), *x = NULL;
	status st = ST_OK;

	*rest = *extras = NULL;
	if (r == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n && st == ST_OK; i++) {
		json_t *from = tab[i].in ? json_object_get(r, tab[i].in) : r, *v, *to;
		if (tab[i].in != NULL && !json_is_object(from))
			continue;
		v = conf_member(from, tab[i].name);
		if (v == NULL)
			continue;
		if ((st = extra_check(v, tab[i].type, path, tab[i].in, tab[i].name, e)) != ST_OK)
			break;
		if (x == NULL && (x = json_object()) == NULL)
			goto oom;
		to = x;
		if (tab[i].in != NULL) {
			to = json_object_get(x, tab[i].in);
			if (to == NULL && (json_object_set_new(x, tab[i].in, json_object()) != 0 ||
					   (to = json_object_get(x, tab[i].in)) == NULL))
				goto oom;
		}
		if (json_object_set(to, tab[i].name, v) != 0)
			goto oom;
		/* Removed from our own copy of the sub-object, not the caller's. */
		if (tab[i].in != NULL && (from = own_sub(r, tab[i].in)) == NULL)
			goto oom;
		json_object_del(from, tab[i].name);
	}
	if (st != ST_OK) {
		json_decref(r);
		json_decref(x);
		return st;
	}
	*rest = r;
	*extras = x;
	return ST_OK;
oom:
	json_decref(r);
	json_decref(x);
	return err_set(e, ST_NOMEM, "out of memory");
}

bool conf_extras_put(json_t *doc, const json_t *extras)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)extras, k, v)
	{
		json_t *have = json_object_get(doc, k);
		if (json_is_object(v) && json_is_object(have)) {
			if (json_object_update(have, v) != 0)
				return false;
		} else if (json_object_set(doc, k, v) != 0) {
			return false;
		}
	}
	return true;
}
