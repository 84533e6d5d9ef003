/* test_form.c - form-urlencoded parsing, query lookup and HTTP Basic. */
#include <stdio.h>
#include <string.h>

#include "http_tests.h"

#include "http/form.h"
#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/limits.h"

static status parse(struct arena *a, const char *body, struct form *f)
{
	struct err e = {0};
	return form_parse(a, sv_from(body), f, &e);
}

static void form_basic_pairs(void **state)
{
	struct arena a;
	struct form f;
	struct sv v;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(
	    parse(&a, "grant_type=urn%3Aietf%3Aparams&assertion=a.b.c&scope=x+y%20z", &f), ST_OK);
	assert_int_equal(f.n, 3);
	assert_int_equal(form_get(&f, "grant_type", &v), ST_OK);
	assert_true(sv_eq_cstr(v, "urn:ietf:params"));
	assert_int_equal(form_get(&f, "scope", &v), ST_OK);
	assert_string_equal(v.p, "x y z"); /* NUL-terminated copy */
	assert_int_equal(form_get(&f, "assertion", NULL), ST_OK);
	assert_int_equal(form_get(&f, "missing", &v), ST_NOT_FOUND);
	/* keys are decoded too, and compared exactly (case-sensitive) */
	assert_int_equal(parse(&a, "client%5Fid=abc&Client_id=x", &f), ST_OK);
	assert_int_equal(form_get(&f, "client_id", &v), ST_OK);
	assert_true(sv_eq_cstr(v, "abc"));
	/* '=' inside a value is data; lower- and upper-case hex both decode */
	assert_int_equal(parse(&a, "k=a=b%3d%3D", &f), ST_OK);
	assert_int_equal(form_get(&f, "k", &v), ST_OK);
	assert_true(sv_eq_cstr(v, "a=b=="));
	arena_free(&a);
}

static void form_edge_cases(void **state)
{
	struct arena a;
	struct form f;
	struct sv v;
	(void)state;

	arena_init(&a, 0);
	/* empty body, empty pairs, leading and trailing '&' are skipped */
	assert_int_equal(parse(&a, "", &f), ST_OK);
	assert_int_equal(f.n, 0);
	assert_int_equal(parse(&a, "&&a=1&&b=2&", &f), ST_OK);
	assert_int_equal(f.n, 2);
	assert_int_equal(parse(&a, "&", &f), ST_OK);
	assert_int_equal(f.n, 0);
	/* a pair without '=' is the key with an empty value */
	assert_int_equal(parse(&a, "flag&x=", &f), ST_OK);
	assert_int_equal(form_get(&f, "flag", &v), ST_OK);
	assert_int_equal(v.n, 0);
	assert_int_equal(form_get(&f, "x", &v), ST_OK);
	assert_int_equal(v.n, 0);
	/* an empty key is not */
	assert_int_equal(parse(&a, "=v", &f), ST_INVALID);
	assert_int_equal(parse(&a, "a=1&=", &f), ST_INVALID);
	assert_int_equal(f.n, 0);
	/* raw non-ASCII bytes pass through undecoded, UTF-8 is not checked */
	assert_int_equal(parse(&a, "n=caf\xc3\xa9&b=%FF", &f), ST_OK);
	assert_int_equal(form_get(&f, "n", &v), ST_OK);
	assert_true(sv_eq_cstr(v, "caf\xc3\xa9"));
	assert_int_equal(form_get(&f, "b", &v), ST_OK);
	assert_int_equal((unsigned char)v.p[0], 0xff);
	arena_free(&a);
}

static void form_repeated_keys(void **state)
{
	struct arena a;
	struct form f;
	struct sv v;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(parse(&a, "a=1&b=2&a=3", &f), ST_OK);
	assert_int_equal(form_get(&f, "a", &v), ST_CONFLICT);
	assert_int_equal(form_get(&f, "b", &v), ST_OK);
	/* the same key spelled differently is still the same key */
	assert_int_equal(parse(&a, "scope=x&sc%6fpe=y", &f), ST_OK);
	assert_int_equal(form_get(&f, "scope", &v), ST_CONFLICT);
	/* an empty repeat counts */
	assert_int_equal(parse(&a, "a=1&a", &f), ST_OK);
	assert_int_equal(form_get(&f, "a", NULL), ST_CONFLICT);
	arena_free(&a);
}

static void form_bad_encodings(void **state)
{
	static const char *bad[] = {
	    "a=%",   "a=%2",  "a=%zz",  "a=%g0",  "a=%0g",  "a=1%",   "%=1",
	    "a=%00", "%00=1", "a=\x01", "a=b\nc", "a=\x7f", "a=b\tc",
	};
	struct arena a;
	struct form f;
	struct err e = {0};
	(void)state;

	arena_init(&a, 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(form_parse(&a, sv_from(bad[i]), &f, &e), ST_INVALID);
		assert_int_equal(f.n, 0);
	}
	assert_int_equal(form_parse(&a, SV("a=%4"), &f, &e), ST_INVALID);
	assert_string_equal(e.msg, "bad percent-encoding");
	arena_free(&a);
}

static void form_nul_byte(void **state)
{
	static const char body[] = {'a', '=', 'x', '\0', 'y'};
	struct arena a;
	struct form f;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(form_parse(&a, (struct sv){body, sizeof body}, &f, NULL), ST_INVALID);
	arena_free(&a);
}

static void form_limits(void **state)
{
	struct arena a;
	struct form f;
	struct buf b = {0};
	struct err e = {0};
	char key[LIMIT_FORM_KEY + 2];
	(void)state;

	arena_init(&a, 0);
	for (int i = 0; i < LIMIT_FORM_PARAMS; i++)
		assert_int_equal(buf_printf(&b, "%sk%d=v", i ? "&" : "", i), ST_OK);
	assert_int_equal(form_parse(&a, (struct sv){b.p, b.n}, &f, &e), ST_OK);
	assert_int_equal(f.n, LIMIT_FORM_PARAMS);
	/* empty pairs do not count towards the limit */
	assert_int_equal(buf_append_cstr(&b, "&&&"), ST_OK);
	assert_int_equal(form_parse(&a, (struct sv){b.p, b.n}, &f, &e), ST_OK);
	assert_int_equal(buf_append_cstr(&b, "one=more"), ST_OK);
	assert_int_equal(form_parse(&a, (struct sv){b.p, b.n}, &f, &e), ST_TOO_LARGE);
	assert_int_equal(f.n, 0);
	buf_free(&b);

	memset(key, 'k', sizeof key);
	key[LIMIT_FORM_KEY] = '\0';
	assert_int_equal(form_parse(&a, sv_from(key), &f, &e), ST_OK);
	key[LIMIT_FORM_KEY] = 'k';
	key[LIMIT_FORM_KEY + 1] = '\0';
	assert_int_equal(form_parse(&a, sv_from(key), &f, &e), ST_TOO_LARGE);
	/* the key limit is on the decoded key: %6b is one byte */
	assert_int_equal(buf_append_cstr(&b, "%6b"), ST_OK);
	for (int i = 1; i < LIMIT_FORM_KEY; i++)
		assert_int_equal(buf_putc(&b, 'k'), ST_OK);
	assert_int_equal(form_parse(&a, (struct sv){b.p, b.n}, &f, &e), ST_OK);
	buf_free(&b);
	arena_free(&a);
}

static void form_decode_path_mode(void **state)
{
	struct arena a;
	struct sv out;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(form_decode(&a, SV("a+b%20c"), false, &out, NULL), ST_OK);
	assert_true(sv_eq_cstr(out, "a+b c"));
	assert_int_equal(form_decode(&a, SV("a+b%20c"), true, &out, NULL), ST_OK);
	assert_true(sv_eq_cstr(out, "a b c"));
	assert_int_equal(form_decode(&a, SV("%"), false, &out, NULL), ST_INVALID);
	arena_free(&a);
}

static void query_lookup(void **state)
{
	struct arena a;
	struct sv v;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(
	    form_query_get(&a, SV("tenantDomain=ACME.com&x=1"), "tenantDomain", &v, NULL), ST_OK);
	assert_true(sv_eq_cstr(v, "ACME.com"));
	assert_int_equal(form_query_get(&a, SV(""), "x", &v, NULL), ST_NOT_FOUND);
	assert_int_equal(form_query_get(&a, SV("x=1&x=2"), "x", &v, NULL), ST_CONFLICT);
	assert_int_equal(form_query_get(&a, SV("x=%G1"), "y", &v, NULL), ST_INVALID);
	arena_free(&a);
}

/* "Basic " + base64(s) in the arena. */
static const char *basic(struct arena *a, const char *s)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 6;
	char *out = arena_alloc(a, 6 + 4 * ((n + 2) / 3) + 1);
	const unsigned char *p = (const unsigned char *)s;

	memcpy(out, "Basic ", 6);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static void basic_parse_ok(void **state)
{
	struct arena a;
	char *u, *p;
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(http_basic_parse("Basic YWRtaW46c2VjcmV0", &a, &u, &p), ST_OK);
	assert_string_equal(u, "admin");
	assert_string_equal(p, "secret");
	/* scheme is case-insensitive; more than one space is allowed */
	assert_int_equal(http_basic_parse("bAsIc   YWRtaW46c2VjcmV0", &a, &u, &p), ST_OK);
	/* split at the first colon: the password keeps later ones */
	assert_int_equal(http_basic_parse(basic(&a, "user@acme:pa:ss"), &a, &u, &p), ST_OK);
	assert_string_equal(u, "user@acme");
	assert_string_equal(p, "pa:ss");
	/* an empty password is the caller's business */
	assert_int_equal(http_basic_parse(basic(&a, "id:"), &a, &u, &p), ST_OK);
	assert_string_equal(p, "");
	/* the plain variant does not form-decode */
	assert_int_equal(http_basic_parse(basic(&a, "a%2Bb:c+d"), &a, &u, &p), ST_OK);
	assert_string_equal(u, "a%2Bb");
	assert_string_equal(p, "c+d");
	/* the OAuth variant does (RFC 6749 §2.3.1) */
	assert_int_equal(http_basic_parse_oauth(basic(&a, "a%2Bb:c+d%3A"), &a, &u, &p), ST_OK);
	assert_string_equal(u, "a+b");
	assert_string_equal(p, "c d:");
	assert_int_equal(http_basic_parse_oauth(basic(&a, "client_A-1:s3cr3t_-"), &a, &u, &p),
			 ST_OK);
	assert_string_equal(u, "client_A-1");
	assert_string_equal(p, "s3cr3t_-");
	arena_free(&a);
}

static void basic_parse_rejects(void **state)
{
	struct arena a;
	char *u, *p;
	char big[LIMIT_PASSWORD + 16];
	(void)state;

	arena_init(&a, 0);
	assert_int_equal(http_basic_parse(NULL, &a, &u, &p), ST_NOT_FOUND);
	assert_int_equal(http_basic_parse("Bearer abc", &a, &u, &p), ST_UNSUPPORTED);
	assert_int_equal(http_basic_parse("Basicx YWRtaW46c2VjcmV0", &a, &u, &p), ST_UNSUPPORTED);
	assert_int_equal(http_basic_parse("Basic", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic ", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic\tYWRtaW46c2VjcmV0", &a, &u, &p), ST_UNSUPPORTED);
	/* strict base64: padding, alphabet, no whitespace, no trailing junk */
	assert_int_equal(http_basic_parse("Basic YWRtaW46c2VjcmV0=", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic YWRtaW46c2Vjcm", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic YWRtaW46c2Vj cmV0", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic YWRtaW46c2VjcmV0 ", &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse("Basic YWRta_46c2VjcmV0", &a, &u, &p), ST_INVALID);
	/* no colon, empty user, control bytes */
	assert_int_equal(http_basic_parse(basic(&a, "adminsecret"), &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse(basic(&a, ":secret"), &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse(basic(&a, "ad\nmin:secret"), &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse(basic(&a, "admin:sec\x7fret"), &a, &u, &p), ST_INVALID);
	assert_null(u);
	assert_null(p);
	/* OAuth variant: a bad escape or an encoded NUL */
	assert_int_equal(http_basic_parse_oauth(basic(&a, "a%zz:b"), &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse_oauth(basic(&a, "a:b%00"), &a, &u, &p), ST_INVALID);
	assert_int_equal(http_basic_parse_oauth(basic(&a, "%20:b"), &a, &u, &p), ST_OK);
	assert_int_equal(http_basic_parse_oauth(basic(&a, "+:b"), &a, &u, &p), ST_OK);
	assert_int_equal(http_basic_parse_oauth(basic(&a, "%3Ab:c"), &a, &u, &p), ST_OK);
	assert_string_equal(u, ":b");
	/* limits */
	memset(big, 'u', sizeof big);
	big[LIMIT_USERNAME] = ':';
	big[LIMIT_USERNAME + 1] = '\0';
	assert_int_equal(http_basic_parse(basic(&a, big), &a, &u, &p), ST_OK);
	big[LIMIT_USERNAME] = 'u';
	big[LIMIT_USERNAME + 1] = ':';
	big[LIMIT_USERNAME + 2] = '\0';
	assert_int_equal(http_basic_parse(basic(&a, big), &a, &u, &p), ST_TOO_LARGE);
	memset(big, 'p', sizeof big);
	big[0] = 'u';
	big[1] = ':';
	big[2 + LIMIT_PASSWORD] = '\0';
	assert_int_equal(http_basic_parse(basic(&a, big), &a, &u, &p), ST_OK);
	big[2 + LIMIT_PASSWORD] = 'p';
	big[3 + LIMIT_PASSWORD] = '\0';
	assert_int_equal(http_basic_parse(basic(&a, big), &a, &u, &p), ST_TOO_LARGE);
	arena_free(&a);
}

static void basic_parse_huge_token(void **state)
{
	struct arena a;
	char *u, *p, *h;
	size_t n = 64 * 1024;
	(void)state;

	arena_init(&a, 0);
	h = arena_alloc(&a, n + 7);
	memcpy(h, "Basic ", 6);
	memset(h + 6, 'A', n);
	assert_int_equal(http_basic_parse(h, &a, &u, &p), ST_TOO_LARGE);
	arena_free(&a);
}

int test_form_group(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(form_basic_pairs),       cmocka_unit_test(form_edge_cases),
	    cmocka_unit_test(form_repeated_keys),     cmocka_unit_test(form_bad_encodings),
	    cmocka_unit_test(form_nul_byte),          cmocka_unit_test(form_limits),
	    cmocka_unit_test(form_decode_path_mode),  cmocka_unit_test(query_lookup),
	    cmocka_unit_test(basic_parse_ok),         cmocka_unit_test(basic_parse_rejects),
	    cmocka_unit_test(basic_parse_huge_token),
	};
	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
