/* test_conf_util.c - the JSON helpers shared by idp_conf and app_conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauth/conf_util.h"

static json_t *load(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static void member_null_is_absent(void **state)
{
	json_t *o = load("{\"a\": 1, \"n\": null}");

	(void)state;
	assert_non_null(conf_member(o, "a"));
	assert_null(conf_member(o, "n"));
	assert_null(conf_member(o, "missing"));
	assert_null(conf_member(NULL, "a"));
	json_decref(o);
}

static void unknown_member(void **state)
{
	static const char *const allowed[] = {"a", "b", NULL};
	static const char *const none[] = {NULL};
	json_t *ok = load("{\"a\": 1, \"b\": null}"), *bad = load("{\"a\": 1, \"ab\": 2}");
	json_t *empty = load("{}");

	(void)state;
	assert_null(conf_unknown_member(ok, allowed));
	assert_string_equal(conf_unknown_member(bad, allowed), "ab");
	assert_null(conf_unknown_member(empty, none));
	assert_string_equal(conf_unknown_member(ok, none), "a");
	json_decref(ok);
	json_decref(bad);
	json_decref(empty);
}

static void strings(void **state)
{
	json_t *s = json_stringn("a\0b", 3), *v;
	char *d;

	(void)state;
	d = conf_string_dup(s);
	assert_non_null(d);
	assert_memory_equal(d, "a\0b", 4);
	free(d);
	json_decref(s);

	v = conf_string_or_null("x");
	assert_string_equal(json_string_value(v), "x");
	json_decref(v);
	v = conf_string_or_null(NULL);
	assert_true(json_is_null(v));
	json_decref(v);
}

static void strlist_and_put(void **state)
{
	char *items[] = {"one", "two"};
	struct strlist l = {items, 2}, empty = {0};
	json_t *o = json_object();
	bool ok = true;
	char *text;

	(void)state;
	conf_put(o, "list", conf_strlist_json(&l), &ok);
	conf_put(o, "empty", conf_strlist_json(&empty), &ok);
	assert_true(ok);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"empty\":[],\"list\":[\"one\",\"two\"]}");
	free(text);
	conf_put(o, "x", NULL, &ok); /* a failed allocation */
	assert_false(ok);
	ok = true;
	conf_put(NULL, "x", json_string("stolen"), &ok); /* no container: v freed */
	assert_false(ok);
	json_decref(o);
}

/* Accepts strings other than "bad"; refuses repeats. */
static status check_entry(const json_t *v, const char *path, const struct strlist *l, void *ctx,
			  struct err *e)
{
	int *calls = ctx;

	(*calls)++;
	if (!json_is_string(v) || strcmp(json_string_value(v), "bad") == 0)
		return err_set(e, ST_INVALID, "%s: refused", path);
	if (strlist_has(l, json_string_value(v)))
		return err_set(e, ST_INVALID, "%s: repeated", path);
	return ST_OK;
}

static void strlist_parse(void **state)
{
	json_t *good = load("[\"a\", \"b\"]"), *empty = load("[]");
	json_t *bad = load("[\"a\", \"bad\"]"), *rep = load("[\"a\", \"b\", \"a\"]");
	struct strlist l = {0};
	struct err e = {0};
	int calls = 0;

	(void)state;
	assert_int_equal(conf_strlist_parse(good, "x.list", check_entry, &calls, &l, &e), ST_OK);
	assert_int_equal(calls, 2);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a");
	assert_string_equal(l.v[1], "b");
	strlist_free(&l);

	assert_int_equal(conf_strlist_parse(empty, "x.list", check_entry, &calls, &l, &e), ST_OK);
	assert_int_equal(l.n, 0);
	assert_null(l.v);

	assert_int_equal(conf_strlist_parse(bad, "x.list", check_entry, &calls, &l, &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "x.list[1]: refused");
	assert_int_equal(l.n, 1); /* what was accepted, for the caller to free */
	strlist_free(&l);

	assert_int_equal(conf_strlist_parse(rep, "y", check_entry, &calls, &l, &e), ST_INVALID);
	assert_string_equal(e.msg, "y[2]: repeated");
	strlist_free(&l);

	json_decref(good);
	json_decref(empty);
	json_decref(bad);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(member_null_is_absent),
	    cmocka_unit_test(unknown_member),
	    cmocka_unit_test(strings),
	    cmocka_unit_test(strlist_and_put),
	    cmocka_unit_test(strlist_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
