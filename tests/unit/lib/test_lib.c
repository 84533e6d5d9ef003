#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/crypto.h"
#include "lib/ref.h"
#include "lib/str.h"

static void b64url_roundtrip(void **state)
{
	(void)state;
	/* RFC 4648 §10 test vectors, url-safe and unpadded. */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char enc[32];
		unsigned char dec[32];
		size_t n = 0;
		b64url_encode((const unsigned char *)v[i].in, strlen(v[i].in), enc);
		assert_string_equal(enc, v[i].out);
		assert_int_equal(b64url_decode(sv_from(v[i].out), dec, sizeof dec, &n), ST_OK);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, n);
	}
	unsigned char ff[] = { 0xfb, 0xff };
	char enc[8];
	b64url_encode(ff, 2, enc);
	assert_string_equal(enc, "-_8");
}

static void b64url_rejects(void **state)
{
	(void)state;
	unsigned char out[64];
	size_t n;
	const char *bad[] = { "Zg==", "Z", "Zm9v YmFy", "Zm+v", "Zm/v", "Zh", "Zm9=", "Zm8\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_not_equal(b64url_decode(sv_from(bad[i]), out, sizeof out, &n), ST_OK);
	assert_int_equal(b64url_decode(sv_from("Zm9vYmFy"), out, 3, &n), ST_TOO_LARGE);
}

static void b64std_padding(void **state)
{
	(void)state;
	unsigned char out[64];
	size_t n;
	assert_int_equal(b64std_decode(sv_from("Zm9vYg=="), false, out, sizeof out, &n), ST_OK);
	assert_int_equal(n, 4);
	assert_int_equal(b64std_decode(sv_from("Zm9v\nYmE=\n"), true, out, sizeof out, &n), ST_OK);
	assert_int_equal(n, 5);
	assert_int_not_equal(b64std_decode(sv_from("Zm9vYg"), false, out, sizeof out, &n), ST_OK);
	assert_int_not_equal(b64std_decode(sv_from("Zm9v\nYg=="), false, out, sizeof out, &n), ST_OK);
	assert_int_not_equal(b64std_decode(sv_from("Zm=vYg=="), false, out, sizeof out, &n), ST_OK);
	assert_int_not_equal(b64std_decode(sv_from("Zm9vYh=="), false, out, sizeof out, &n), ST_OK);
}

static void buf_caps(void **state)
{
	(void)state;
	struct buf b = { .max = 8 };
	assert_int_equal(buf_append_cstr(&b, "12345678"), ST_OK);
	assert_int_equal(buf_putc(&b, 'x'), ST_TOO_LARGE);
	assert_int_equal(b.n, 8);
	assert_string_equal(b.p, "12345678");
	buf_reset(&b);
	b.max = 32;
	assert_int_equal(buf_json_str(&b, SV("a\"\x01")), ST_OK);
	assert_string_equal(b.p, "\"a\\\"\\u0001\"");
	buf_free(&b);
}

static void sv_ints(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(sv_to_i64(SV("9223372036854775807"), &v), ST_OK);
	assert_true(v == INT64_MAX);
	assert_int_equal(sv_to_i64(SV("-9223372036854775808"), &v), ST_OK);
	assert_true(v == INT64_MIN);
	assert_int_not_equal(sv_to_i64(SV("9223372036854775808"), &v), ST_OK);
	assert_int_not_equal(sv_to_i64(SV(""), &v), ST_OK);
	assert_int_not_equal(sv_to_i64(SV("-"), &v), ST_OK);
	assert_int_not_equal(sv_to_i64(SV("12a"), &v), ST_OK);
	assert_int_not_equal(sv_to_i64(SV("+1"), &v), ST_OK);
}

static void utf8_trim(void **state)
{
	(void)state;
	char a[] = "ab\xc3\xa9", b[] = "ab\xc3", c[] = "ab\xe2\x82", d[] = "x\xf0\x9f\x98\x80";
	str_utf8_trim(a);
	assert_string_equal(a, "ab\xc3\xa9");
	str_utf8_trim(b);
	assert_string_equal(b, "ab");
	str_utf8_trim(c);
	assert_string_equal(c, "ab");
	str_utf8_trim(d);
	assert_string_equal(d, "x\xf0\x9f\x98\x80");
}

static void hex_digits(void **state)
{
	(void)state;
	const char *digits = "0123456789abcdef", *upper = "ABCDEF";
	for (int i = 0; i < 16; i++)
		assert_int_equal(hex_digit_value(digits[i]), i);
	for (int i = 0; i < 6; i++)
		assert_int_equal(hex_digit_value(upper[i]), 10 + i);
	const int bad[] = { -1, 0, '/', ':', '@', 'G', '`', 'g', ' ', 0x80, 0xff };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hex_digit_value(bad[i]), -1);
}

static void strlist_ops(void **state)
{
	(void)state;
	struct strlist l = { 0 };
	assert_false(strlist_has(&l, "a"));
	strlist_free(&l); /* an empty list is fine */
	l.v = calloc(2, sizeof *l.v);
	assert_non_null(l.v);
	l.v[0] = str_dup_sv(SV("alice"));
	l.v[1] = str_dup_sv(SV("bob"));
	l.n = 2;
	assert_true(strlist_has(&l, "alice"));
	assert_true(strlist_has(&l, "bob"));
	assert_false(strlist_has(&l, "ali"));
	assert_false(strlist_has(&l, "Bob"));
	strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static void ref_counts(void **state)
{
	(void)state;
	int refs = 1;
	ref_acquire(&refs);
	assert_int_equal(refs, 2);
	assert_false(ref_release(&refs));
	assert_true(ref_release(&refs));
	assert_int_equal(refs, 0);
}

static void arena_bounds(void **state)
{
	(void)state;
	struct arena a;
	arena_init(&a, 10000);
	char *s = arena_strdup(&a, "hello");
	assert_string_equal(s, "hello");
	assert_non_null(arena_alloc(&a, 5000));
	assert_null(arena_alloc(&a, 6000));
	assert_string_equal(arena_printf(&a, "%d-%s", 7, "x"), "7-x");
	arena_free(&a);
}

static void crypto_helpers(void **state)
{
	(void)state;
	char id[29], u[UUID_STR_LEN + 1], tok[44];
	unsigned char h[SHA256_LEN];
	char hex[65];
	assert_int_equal(rand_string("ab", 28, id, sizeof id), ST_OK);
	assert_int_equal(strspn(id, "ab"), 28);
	assert_int_equal(uuid_v4(u), ST_OK);
	assert_true(uuid_valid(sv_from(u)));
	assert_false(uuid_valid(SV("not-a-uuid")));
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
	{
		/* Version 7: the version and variant, and ids made later sort
		 * after (or, within one millisecond, level with) earlier ones. */
		char v1[UUID_STR_LEN + 1], v2[UUID_STR_LEN + 1];
		assert_int_equal(uuid_v7(v1), ST_OK);
		assert_int_equal(uuid_v7(v2), ST_OK);
		assert_true(uuid_valid(sv_from(v1)));
		assert_int_equal(v1[14], '7');
		assert_non_null(strchr("89ab", v1[19]));
		assert_true(memcmp(v1, v2, 13) <= 0);
	}
	assert_int_equal(rand_token(32, tok, sizeof tok), ST_OK);
	assert_int_equal(strlen(tok), 43);
	/* RFC 4231 test case 2 */
	assert_int_equal(hmac_sha256((const unsigned char *)"Jefe", 4,
				     "what do ya want for nothing?", 28, h), ST_OK);
	hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(sha256("abc", 3, h), ST_OK);
	hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(ct_eq("abc", 3, "abc", 3));
	assert_false(ct_eq("abc", 3, "abd", 3));
	assert_false(ct_eq("abc", 3, "ab", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_roundtrip), cmocka_unit_test(b64url_rejects),
		cmocka_unit_test(b64std_padding),   cmocka_unit_test(buf_caps),
		cmocka_unit_test(sv_ints), cmocka_unit_test(utf8_trim), cmocka_unit_test(strlist_ops), cmocka_unit_test(hex_digits), cmocka_unit_test(ref_counts),          cmocka_unit_test(arena_bounds),
		cmocka_unit_test(crypto_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
