/* test_toml.c - the TOML subset parser (src/config/toml.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/toml.h"
#include "lib/limits.h"
#include "tests.h"

static const struct toml_kv *get(const struct toml_doc *d, const char *table, const char *key)
{
	for (size_t k = 0; k < d->nkv; k++)
		if (strcmp(d->kv[k].table, table) == 0 && strcmp(d->kv[k].key, key) == 0)
			return &d->kv[k];
	return NULL;
}

static const struct toml_kv *must_get(const struct toml_doc *d, const char *table, const char *key)
{
	const struct toml_kv *kv = get(d, table, key);
	if (kv == NULL)
		fail_msg("missing [%s] %s", table, key);
	return kv;
}

/* Parses `len` bytes that must be accepted. */
static void parse_ok(struct toml_doc *d, const char *s, size_t len)
{
	struct err e = {0};
	status st = toml_parse(d, s, len, "t.toml", &e);
	if (st != ST_OK)
		fail_msg("rejected: %s", e.msg);
}

/* Parses `len` bytes that must be rejected at `line` with `want` in the
 * message; the message must start with exactly "t.toml:LINE: ". */
static void parse_bad_n(const char *s, size_t len, int line, const char *want)
{
	struct toml_doc d;
	struct err e = {0};
	char prefix[64];
	status st = toml_parse(&d, s, len, "t.toml", &e);

	toml_doc_free(&d);
	if (st == ST_OK)
		fail_msg("accepted: %.80s (want \"%s\")", s, want);
	snprintf(prefix, sizeof prefix, "t.toml:%d: ", line);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0 || strstr(e.msg, want) == NULL)
		fail_msg("input %.60s\n  got  \"%s\"\n  want \"%s...%s\"", s, e.msg, prefix, want);
	assert_int_equal(e.st, st);
}

static void parse_bad(const char *s, int line, const char *want)
{
	parse_bad_n(s, strlen(s), line, want);
}

static void toml_value_types(void **state)
{
	(void)state;
	static const char src[] = "# a comment\n"
				  "top = 1\n"
				  "\n"
				  "[server]   # trailing comment\n"
				  "name = \"grantd\" # comment after a value\n"
				  "lit = 'C:\\path\\to'\n"
				  "n = -42\n"
				  "big = 9_223_372_036_854_775_807\n"
				  "small = -9223372036854775808\n"
				  "plus = +7\n"
				  "zero = -0\n"
				  "yes = true\n"
				  "no = false\n"
				  "empty = \"\"\n"
				  "empty_lit = ''\n"
				  "hash = \"#not a comment\"\n"
				  "list = [ \"a\", 'b' , \"c\", ]\n"
				  "none = []\n"
				  "multi = [\n"
				  "  \"x\", # one\n"
				  "  # a comment line\n"
				  "\n"
				  "  \"y\"\n"
				  "]\n"
				  "after = 1\n"
				  "[ a . b-c . d_e ]\n"
				  "k = 1\n";
	struct toml_doc d;
	const struct toml_kv *kv;

	parse_ok(&d, src, sizeof src - 1);
	assert_int_equal(d.nkv, 18);
	kv = must_get(&d, "", "top");
	assert_int_equal(kv->v.type, TOML_INT);
	assert_int_equal(kv->line, 2);
	kv = must_get(&d, "server", "name");
	assert_int_equal(kv->v.type, TOML_STRING);
	assert_string_equal(kv->v.s, "grantd");
	assert_int_equal(kv->line, 5);
	assert_string_equal(must_get(&d, "server", "lit")->v.s, "C:\\path\\to");
	assert_int_equal(must_get(&d, "server", "n")->v.i, -42);
	assert_true(must_get(&d, "server", "big")->v.i == INT64_MAX);
	assert_true(must_get(&d, "server", "small")->v.i == INT64_MIN);
	assert_int_equal(must_get(&d, "server", "plus")->v.i, 7);
	assert_int_equal(must_get(&d, "server", "zero")->v.i, 0);
	kv = must_get(&d, "server", "yes");
	assert_int_equal(kv->v.type, TOML_BOOL);
	assert_true(kv->v.b);
	assert_false(must_get(&d, "server", "no")->v.b);
	assert_string_equal(must_get(&d, "server", "empty")->v.s, "");
	assert_int_equal(must_get(&d, "server", "empty_lit")->v.slen, 0);
	assert_string_equal(must_get(&d, "server", "hash")->v.s, "#not a comment");
	kv = must_get(&d, "server", "list");
	assert_int_equal(kv->v.type, TOML_ARRAY);
	assert_int_equal(kv->v.nitems, 3);
	assert_string_equal(kv->v.items[0], "a");
	assert_string_equal(kv->v.items[1], "b");
	assert_string_equal(kv->v.items[2], "c");
	kv = must_get(&d, "server", "none");
	assert_int_equal(kv->v.type, TOML_ARRAY);
	assert_int_equal(kv->v.nitems, 0);
	kv = must_get(&d, "server", "multi");
	assert_int_equal(kv->line, 19);
	assert_int_equal(kv->v.nitems, 2);
	assert_string_equal(kv->v.items[1], "y");
	assert_int_equal(must_get(&d, "server", "after")->line, 25);
	kv = must_get(&d, "a.b-c.d_e", "k");
	assert_int_equal(kv->line, 27);
	/* server, a, a.b-c, a.b-c.d_e; only two were named by a header */
	assert_int_equal(d.ntables, 4);
	assert_string_equal(d.tables[0].path, "server");
	assert_true(d.tables[0].defined);
	assert_int_equal(d.tables[0].line, 4);
	assert_string_equal(d.tables[1].path, "a");
	assert_false(d.tables[1].defined);
	assert_true(d.tables[3].defined);
	toml_doc_free(&d);
}

static void toml_escapes_utf8(void **state)
{
	(void)state;
	static const char src[] = "[s]\n"
				  "esc = \"q\\\" b\\\\ \\b\\t\\n\\f\\r end\"\n"
				  "u = \"caf\\u00e9 \\u20AC \\U0001F600 \\u0041\"\n"
				  "raw = \"gr\xc3\xa4nt \xe2\x82\xac \xf0\x9f\x98\x80\"\n"
				  "tab = \"a\tb\"\n"
				  "lit = 'no \\n escapes \"here\"'\n"
				  "max = \"\\U0010FFFF\"\n";
	struct toml_doc d;
	const struct toml_kv *kv;

	parse_ok(&d, src, sizeof src - 1);
	kv = must_get(&d, "s", "esc");
	assert_string_equal(kv->v.s, "q\" b\\ \b\t\n\f\r end");
	assert_int_equal(kv->v.slen, strlen("q\" b\\ \b\t\n\f\r end"));
	assert_string_equal(must_get(&d, "s", "u")->v.s,
			    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 A");
	assert_string_equal(must_get(&d, "s", "raw")->v.s,
			    "gr\xc3\xa4nt \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_string_equal(must_get(&d, "s", "tab")->v.s, "a\tb");
	assert_string_equal(must_get(&d, "s", "lit")->v.s, "no \\n escapes \"here\"");
	assert_string_equal(must_get(&d, "s", "max")->v.s, "\xf4\x8f\xbf\xbf");
	toml_doc_free(&d);
}

static void toml_line_endings(void **state)
{
	(void)state;
	static const char crlf[] = "\xef\xbb\xbf[a]\r\nx = 1\r\n\r\ny = [\r\n\"p\",\r\n]\r\nz = 2";
	struct toml_doc d;

	parse_ok(&d, crlf, sizeof crlf - 1);
	assert_int_equal(d.nkv, 3);
	assert_int_equal(must_get(&d, "a", "x")->line, 2);
	assert_int_equal(must_get(&d, "a", "y")->line, 4);
	assert_int_equal(must_get(&d, "a", "z")->line, 7);
	toml_doc_free(&d);

	parse_ok(&d, "", 0);
	assert_int_equal(d.nkv, 0);
	toml_doc_free(&d);
	parse_ok(&d, "# only\n\n   \t\n# comments", 23);
	assert_int_equal(d.nkv, 0);
	toml_doc_free(&d);
}

static void toml_tables(void **state)
{
	(void)state;
	struct toml_doc d;

	/* a super-table may be defined after its sub-table */
	parse_ok(&d, "[a.b]\nx = 1\n[a]\ny = 2\n", 22);
	assert_int_equal(must_get(&d, "a", "y")->line, 4);
	assert_true(d.tables[0].defined && d.tables[1].defined);
	toml_doc_free(&d);

	parse_bad("[a]\nx = 1\nx = 2\n", 3, "duplicate key 'x' in [a] (first on line 2)");
	parse_bad("x = 1\n\n\nx = 2\n", 4, "duplicate key 'x'");
	parse_bad("[a]\n[b]\n\n[a]\n", 4, "table [a] defined twice (first on line 1)");
	parse_bad("[a.b]\n[a]\n[a.b]\n", 3, "table [a.b] defined twice");
	parse_bad("[a]\n[a.b]\n[a]\n", 3, "defined twice");
	parse_bad("[a]\nb = 1\n[a.b]\n", 3, "table [a.b] conflicts with key 'b' defined on line 2");
	parse_bad("[a]\nb = 1\n[a.b.c]\n", 3, "conflicts with key 'b'");
	parse_bad("a = 1\n[a]\n", 2, "conflicts with key 'a'");
	parse_bad("[a.b]\n[a]\nb = 1\n", 3, "key 'b' conflicts with table [a.b] (line 1)");
	parse_bad("[[a]]\n", 1, "arrays of tables ([[...]]) are not supported");
	parse_bad("\n[]\n", 2, "invalid table name");
	parse_bad("[a.]\n", 1, "invalid table name");
	parse_bad("[.a]\n", 1, "invalid table name");
	parse_bad("[a..b]\n", 1, "invalid table name");
	parse_bad("[a\n", 1, "unterminated table header");
	parse_bad("[a b]\n", 1, "expected '.' or ']'");
	parse_bad("[\"a\"]\n", 1, "quoted table names are not supported");
	parse_bad("[a] x = 1\n", 1, "unexpected text after the table header");
	parse_bad("[a]]\n", 1, "unexpected text after the table header");
}

static void toml_rejects(void **state)
{
	(void)state;
	/* keys */
	parse_bad("[a]\nb.c = 1\n", 2, "dotted keys are not supported");
	parse_bad("[a]\nb . c = 1\n", 2, "dotted keys are not supported");
	parse_bad("\"a\" = 1\n", 1, "quoted keys are not supported");
	parse_bad("'a' = 1\n", 1, "quoted keys are not supported");
	parse_bad("a 1\n", 1, "expected '=' after key 'a'");
	parse_bad("a\n", 1, "expected '=' after key 'a'");
	parse_bad("= 1\n", 1, "expected a key");
	parse_bad("\n\na =\n", 3, "missing value");
	parse_bad("a = # nothing\n", 1, "missing value");
	/* values TOML has but this subset does not */
	parse_bad("a = {x = 1}\n", 1, "inline tables are not supported");
	parse_bad("\na = 1.5\n", 2, "floats are not supported");
	parse_bad("a = 1e3\n", 1, "floats are not supported");
	parse_bad("a = -2.5E-3\n", 1, "floats are not supported");
	parse_bad("a = inf\n", 1, "floats are not supported");
	parse_bad("a = -nan\n", 1, "floats are not supported");
	parse_bad("a = 1979-05-27\n", 1, "dates and times are not supported");
	parse_bad("a = 1979-05-27T07:32:00Z\n", 1, "dates and times are not supported");
	parse_bad("a = 1979-05-27 07:32:00\n", 1, "dates and times are not supported");
	parse_bad("a = 07:32:00\n", 1, "dates and times are not supported");
	parse_bad("a = \"\"\"x\"\"\"\n", 1, "multi-line strings are not supported");
	parse_bad("a = '''x'''\n", 1, "multi-line strings are not supported");
	parse_bad("a = \"\"\"\nx\n\"\"\"\n", 1, "multi-line strings are not supported");
	parse_bad("a = 0x1F\n", 1, "hexadecimal, octal and binary integers are not supported");
	parse_bad("a = 0o17\n", 1, "not supported");
	parse_bad("a = 0b101\n", 1, "not supported");
	/* integers */
	parse_bad("a = 01\n", 1, "leading zeros");
	parse_bad("a = -007\n", 1, "leading zeros");
	parse_bad("a = 1__0\n", 1, "'_' in an integer must be between two digits");
	parse_bad("a = 1_\n", 1, "between two digits");
	parse_bad("a = _1\n", 1, "'_' in an integer must be between two digits");
	parse_bad("a = +_1\n", 1, "between two digits");
	parse_bad("a = 9223372036854775808\n", 1, "integer out of range");
	parse_bad("a = -9223372036854775809\n", 1, "integer out of range");
	parse_bad("a = 99999999999999999999999\n", 1, "integer out of range");
	parse_bad("a = +\n", 1, "invalid integer");
	/* bare words */
	parse_bad("a = localhost\n", 1, "strings must be quoted");
	parse_bad("a = True\n", 1, "booleans are true or false");
	parse_bad("a = truex\n", 1, "strings must be quoted");
	parse_bad("a = @\n", 1, "expected a value");
	/* junk after a value */
	parse_bad("a = 1 2\n", 1, "unexpected text after the value");
	parse_bad("a = \"x\" y\n", 1, "unexpected text after the value");
	parse_bad("a = \"x\"\"y\"\n", 1, "unexpected text after the value");
	parse_bad("a = true false\n", 1, "unexpected text after the value");
	parse_bad("a = [\"x\"] ]\n", 1, "unexpected text after the value");
	parse_bad("a = 12@\n", 1, "unexpected text after the value");
	/* unterminated */
	parse_bad("a = \"abc\nb = 1\n", 1, "unterminated string");
	parse_bad("a = 'abc\n", 1, "unterminated string");
	parse_bad("a = \"abc", 1, "unterminated string");
	parse_bad("a = \"abc\\", 1, "unterminated string");
	parse_bad("[t]\na = [\n\"x\",\n\"y\"\n", 2, "unterminated array");
	parse_bad("a = [", 1, "unterminated array");
	parse_bad("a = [\"x\"\n\nb = 1\n", 3, "expected ',' or ']' in array");
}

static void toml_bad_strings(void **state)
{
	(void)state;
	parse_bad("a = \"\\x41\"\n", 1, "invalid escape sequence '\\x'");
	parse_bad("a = \"\\e\"\n", 1, "invalid escape sequence '\\e'");
	parse_bad("a = \"\\ \"\n", 1, "invalid escape sequence");
	parse_bad("a = \"\\u12\"\n", 1, "invalid \\u escape: expected 4 hexadecimal digits");
	parse_bad("a = \"\\u12G4\"\n", 1, "invalid \\u escape");
	parse_bad("a = \"\\U0001F60\"\n", 1, "invalid \\U escape: expected 8 hexadecimal digits");
	parse_bad("a = \"\\uD800\"\n", 1, "U+D800 is a surrogate");
	parse_bad("a = \"\\uDFFF\"\n", 1, "surrogate");
	parse_bad("a = \"\\U0000DC00\"\n", 1, "surrogate");
	parse_bad("a = \"\\U00110000\"\n", 1, "beyond U+10FFFF");
	parse_bad("a = \"\\UFFFFFFFF\"\n", 1, "beyond U+10FFFF");
	parse_bad("a = \"\\u0000\"\n", 1, "escaped NUL");
	/* raw bytes: checked for the whole file, comments included */
	parse_bad("# ok\na = \"\xff\"\n", 2, "invalid UTF-8");
	parse_bad("a = 1\n# \xc0\xaf overlong\n", 2, "invalid UTF-8");
	parse_bad("a = \"\xe0\x80\xaf\"\n", 1, "invalid UTF-8");
	parse_bad("a = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8");
	parse_bad("a = \"\xf4\x90\x80\x80\"\n", 1, "invalid UTF-8");
	parse_bad("a = \"\xf8\x88\x80\x80\x80\"\n", 1, "invalid UTF-8");
	parse_bad("a = 1 # \xe2\x82", 1, "invalid UTF-8");
	parse_bad("a = \"\x80\"\n", 1, "invalid UTF-8");
	parse_bad_n("a = 1\n\n# x\0y\n", 12, 3, "NUL byte");
	parse_bad_n("a = \"\0\"\n", 8, 1, "NUL byte");
	parse_bad("a = \"\x01\"\n", 1, "control character U+0001");
	parse_bad("\n# \x1b[31m\n", 2, "control character U+001B");
	parse_bad("a = 'x\x7f'\n", 1, "control character U+007F");
	parse_bad("a = 1\rb = 2\n", 1, "carriage return not followed by a line feed");
}

static void toml_arrays(void **state)
{
	(void)state;
	char src[1024];
	size_t o = 0;
	struct toml_doc d;

	parse_bad("a = [\"x\", 1]\n", 1, "only arrays of strings are supported (found an integer)");
	parse_bad("a = [1, 2]\n", 1, "only arrays of strings are supported");
	parse_bad("a = [true]\n", 1, "found a boolean");
	parse_bad("a = [[\"x\"]]\n", 1, "nested arrays are not supported");
	parse_bad("a = [\"x\", {y = 1}]\n", 1, "inline tables are not supported");
	parse_bad("a = [,]\n", 1, "expected a value before ','");
	parse_bad("a = [\"x\",,]\n", 1, "expected a value before ','");
	parse_bad("a = [\"x\" \"y\"]\n", 1, "expected ',' or ']'");
	parse_bad("a = [\n\"x\",\n\"y\" 1]\n", 3, "expected ',' or ']'");

	/* exactly LIMIT_CONFIG_ARRAY items are fine, one more is not */
	o += (size_t)snprintf(src + o, sizeof src - o, "a = [");
	for (int k = 0; k < LIMIT_CONFIG_ARRAY; k++)
		o += (size_t)snprintf(src + o, sizeof src - o, "\"i%d\",\n", k);
	snprintf(src + o, sizeof src - o, "]\n");
	parse_ok(&d, src, strlen(src));
	assert_int_equal(must_get(&d, "", "a")->v.nitems, LIMIT_CONFIG_ARRAY);
	toml_doc_free(&d);
	snprintf(src + o, sizeof src - o, "\"last\"]\n");
	parse_bad(src, LIMIT_CONFIG_ARRAY + 1, "too many array items (more than 32)");
}

static void toml_limits(void **state)
{
	(void)state;
	size_t big = LIMIT_CONFIG_FILE + 1;
	char *s = malloc(big + 16);
	struct toml_doc d;
	struct err e;

	assert_non_null(s);
	/* a line of exactly LIMIT_CONFIG_LINE bytes (CR not counted) is fine */
	memcpy(s, "a = 1\r\n", 7);
	s[7] = '#';
	memset(s + 8, 'x', LIMIT_CONFIG_LINE - 1);
	memcpy(s + 7 + LIMIT_CONFIG_LINE, "\r\nb = 2\n", 8);
	parse_ok(&d, s, 7 + LIMIT_CONFIG_LINE + 8);
	assert_int_equal(must_get(&d, "", "b")->line, 3);
	toml_doc_free(&d);
	/* one more byte is not, with or without a final newline */
	memset(s + 8, 'x', LIMIT_CONFIG_LINE);
	memcpy(s + 8 + LIMIT_CONFIG_LINE, "\nb = 2\n", 7);
	parse_bad_n(s, 8 + LIMIT_CONFIG_LINE + 7, 2, "line too long (more than 4096 bytes)");
	parse_bad_n(s, 8 + LIMIT_CONFIG_LINE, 2, "line too long");

	/* a file over LIMIT_CONFIG_FILE: the message names the line reached */
	for (size_t k = 0; k < big; k++)
		s[k] = k % 64 == 63 ? '\n' : '#';
	assert_int_equal(toml_parse(&d, s, big, "t.toml", &e), ST_TOO_LARGE);
	toml_doc_free(&d);
	{
		char want[96];
		snprintf(want, sizeof want, "t.toml:%zu: file too large (more than %d bytes)",
			 (size_t)LIMIT_CONFIG_FILE / 64 + 1, LIMIT_CONFIG_FILE);
		assert_string_equal(e.msg, want);
	}
	/* ... while exactly LIMIT_CONFIG_FILE bytes are parsed */
	parse_ok(&d, s, LIMIT_CONFIG_FILE);
	toml_doc_free(&d);
	free(s);

	/* key and table counts */
	s = malloc(32 * (TOML_MAX_KEYS + 2));
	assert_non_null(s);
	{
		size_t o = 0;
		for (int k = 0; k <= TOML_MAX_KEYS; k++)
			o += (size_t)snprintf(s + o, 32, "k%d = 1\n", k);
		parse_bad_n(s, o, TOML_MAX_KEYS + 1, "too many keys (more than 1024)");
		o = 0;
		for (int k = 0; k <= TOML_MAX_TABLES; k++)
			o += (size_t)snprintf(s + o, 32, "[t%d]\n", k);
		parse_bad_n(s, o, TOML_MAX_TABLES + 1, "too many tables (more than 256)");
		/* tables implied by one dotted header count too */
		o = (size_t)snprintf(s, 32, "[t");
		for (int k = 0; k < TOML_MAX_TABLES; k++) {
			s[o++] = '.';
			s[o++] = 'x';
		}
		s[o++] = ']';
		parse_bad_n(s, o, 1, "too many tables (more than 256)");
	}
	free(s);
}

static void toml_single_value(void **state)
{
	(void)state;
	struct toml_doc d;
	struct toml_value v;
	struct err e = {0};

	toml_doc_init(&d);
	assert_int_equal(toml_parse_value(&d, SV(" [\"a\", 'b',] "), &v, &e), ST_OK);
	assert_int_equal(v.type, TOML_ARRAY);
	assert_int_equal(v.nitems, 2);
	assert_string_equal(v.items[1], "b");
	assert_int_equal(toml_parse_value(&d, SV("1_000"), &v, &e), ST_OK);
	assert_int_equal(v.i, 1000);
	assert_int_equal(toml_parse_value(&d, SV("\"x\\u00e9\""), &v, &e), ST_OK);
	assert_string_equal(v.s, "x\xc3\xa9");
	/* bare reasons, no file or line */
	assert_int_equal(toml_parse_value(&d, SV("1 2"), &v, &e), ST_INVALID);
	assert_string_equal(e.msg, "unexpected text after the value");
	assert_int_equal(toml_parse_value(&d, SV("  "), &v, &e), ST_INVALID);
	assert_string_equal(e.msg, "empty value");
	assert_int_equal(toml_parse_value(&d, SV("[\"a\"\n]"), &v, &e), ST_INVALID);
	assert_string_equal(e.msg, "invalid UTF-8 or control character in value");
	assert_int_equal(toml_parse_value(&d, SV("abc"), &v, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "strings must be quoted"));
	toml_doc_free(&d);

	assert_true(toml_text_valid(SV("gr\xc3\xa4nt\t\xf0\x9f\x98\x80")));
	assert_false(toml_text_valid(SV("a\nb")));
	assert_false(toml_text_valid(SV("\xc3")));
	assert_false(toml_text_valid(SV("\xed\xbf\xbf")));
	assert_string_equal(toml_type_name(TOML_ARRAY), "an array");
}

int toml_tests(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(toml_value_types),  cmocka_unit_test(toml_escapes_utf8),
	    cmocka_unit_test(toml_line_endings), cmocka_unit_test(toml_tables),
	    cmocka_unit_test(toml_rejects),      cmocka_unit_test(toml_bad_strings),
	    cmocka_unit_test(toml_arrays),       cmocka_unit_test(toml_limits),
	    cmocka_unit_test(toml_single_value),
	};
	return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
