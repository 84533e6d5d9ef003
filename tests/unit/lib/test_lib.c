#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/crypto.h"
#include "lib/metrics.h"
#include "lib/ref.h"
#include "lib/str.h"

static void b64url_roundtrip(void **state)
{
	(void)state;
	/* RFC 4648 §10 test vectors, url-safe and unpadded. */
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
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
	unsigned char ff[] = {0xfb, 0xff};
	char enc[8];
	b64url_encode(ff, 2, enc);
	assert_string_equal(enc, "-_8");
}

static void b64url_rejects(void **state)
{
	(void)state;
	unsigned char out[64];
	size_t n;
	const char *bad[] = {"Zg==", "Z", "Zm9v YmFy", "Zm+v", "Zm/v", "Zh", "Zm9=", "Zm8\n"};
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
	assert_int_not_equal(b64std_decode(sv_from("Zm9v\nYg=="), false, out, sizeof out, &n),
			     ST_OK);
	assert_int_not_equal(b64std_decode(sv_from("Zm=vYg=="), false, out, sizeof out, &n), ST_OK);
	assert_int_not_equal(b64std_decode(sv_from("Zm9vYh=="), false, out, sizeof out, &n), ST_OK);
}

static void buf_caps(void **state)
{
	(void)state;
	struct buf b = {.max = 8};
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
	const int bad[] = {-1, 0, '/', ':', '@', 'G', '`', 'g', ' ', 0x80, 0xff};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hex_digit_value(bad[i]), -1);
}

static void strlist_ops(void **state)
{
	(void)state;
	struct strlist l = {0};
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

static void metrics_format(void **state)
{
	(void)state;
	static struct mx_names names = MX_NAMES_INIT;
	static struct mx_hist h;
	char lb[64], small[12], name[16];
	const char *kv[] = {"a", "x\"y\\z\nw", "b", "2"};
	struct buf b = {0};
	struct mx_out o = {&b, ST_OK};

	/* label values escaped as the text format wants */
	assert_string_equal(mx_labels(lb, sizeof lb, 2, kv), "a=\"x\\\"y\\\\z\\nw\",b=\"2\"");
	/* a pair that does not fit is left out, the rest stays well formed */
	assert_string_equal(mx_labels(small, sizeof small, 2, kv), "b=\"2\"");

	/* names: stable dense indexes from 1, MX_OTHER once full */
	assert_int_equal(mx_names_index(&names, "acme.com"), 1);
	assert_int_equal(mx_names_index(&names, "carbon.super"), 2);
	assert_int_equal(mx_names_index(&names, "acme.com"), 1);
	assert_string_equal(mx_names_get(&names, 2), "carbon.super");
	assert_string_equal(mx_names_get(&names, MX_OTHER), MX_OTHER_NAME);
	for (int i = 0; i < MX_NAMES_MAX; i++) {
		snprintf(name, sizeof name, "t%d", i);
		size_t k = mx_names_index(&names, name);
		assert_true(i < MX_NAMES_MAX - 3 ? k == (size_t)i + 3 : k == MX_OTHER);
	}
	assert_int_equal(mx_names_count(&names), MX_NAMES_MAX);
	assert_int_equal(mx_names_index(&names, "acme.com"), 1); /* still found */

	/* a histogram: cumulative buckets, +Inf equal to the count */
	mx_observe_us(&h, 100);      /* <= 0.25 ms */
	mx_observe_us(&h, 250);      /* on the bound: in it */
	mx_observe_us(&h, 3000);     /* <= 5 ms */
	mx_observe_us(&h, 60000000); /* over 10 s: +Inf only */
	mx_family(&o, "x_seconds", "histogram", "help");
	mx_histogram(&o, "x_seconds", "k=\"v\"", &h);
	assert_int_equal(o.st, ST_OK);
	assert_non_null(strstr(b.p, "# HELP x_seconds help\n# TYPE x_seconds histogram\n"));
	assert_non_null(strstr(b.p, "x_seconds_bucket{k=\"v\",le=\"0.00025\"} 2\n"));
	assert_non_null(strstr(b.p, "x_seconds_bucket{k=\"v\",le=\"0.0025\"} 2\n"));
	assert_non_null(strstr(b.p, "x_seconds_bucket{k=\"v\",le=\"0.005\"} 3\n"));
	assert_non_null(strstr(b.p, "x_seconds_bucket{k=\"v\",le=\"10\"} 3\n"));
	assert_non_null(strstr(b.p, "x_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(b.p, "x_seconds_sum{k=\"v\"} 60.003350\n"));
	assert_non_null(strstr(b.p, "x_seconds_count{k=\"v\"} 4\n"));
	buf_reset(&b);
	mx_sample(&o, "c_total", NULL, 7);
	assert_string_equal(b.p, "c_total 7\n");
	buf_free(&b);
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
	{
		/* The time a version 7 id carries, and ids dated in a given
		 * second (a past one: its last millisecond). */
		char v[UUID_STR_LEN + 1];
		uint64_t t = 0;
		assert_int_equal(uuid_v7_in(1700000000, v), ST_OK);
		assert_true(uuid_v7_unix_ms(sv_from(v), &t));
		assert_true(t / 1000 == 1700000000);
		assert_true(t == UINT64_C(1700000000999));
		assert_int_equal(memcmp(v, "018bcfe5-6be7-7", 15), 0); /* 1700000000999 ms */
		assert_int_equal(uuid_v7(v), ST_OK);
		assert_true(uuid_v7_unix_ms(sv_from(v), &t));
		assert_true(t / 1000 > 1700000000);
		assert_true(t <= clock_unix_ms());
		assert_false(uuid_v7_unix_ms(sv_from(u), &t)); /* version 4 */
		assert_false(uuid_v7_unix_ms(SV("018bcfe5-6be7-7"), &t));
		assert_false(uuid_v7_unix_ms(SV(""), &t));
		assert_int_equal(uuid_v7_in(-1, v), ST_INTERNAL);
	}
	assert_int_equal(rand_token(32, tok, sizeof tok), ST_OK);
	assert_int_equal(strlen(tok), 43);
	/* RFC 4231 test case 2 */
	assert_int_equal(
	    hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, h),
	    ST_OK);
	hex_encode(h, sizeof h, hex);
	assert_string_equal(hex,
			    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(sha256("abc", 3, h), ST_OK);
	hex_encode(h, sizeof h, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(ct_eq("abc", 3, "abc", 3));
	assert_false(ct_eq("abc", 3, "abd", 3));
	assert_false(ct_eq("abc", 3, "ab", 2));
}

/* RFC 4231 §4: HMAC-SHA-256 test cases 1-7 (case 5 compares the first 128
 * bits only, as the RFC does), and the empty key and message. Keys 6 and 7
 * (131 bytes) are longer than HMAC_CACHE_KEY_MAX, so they take the
 * uncached path. */
struct hmac_vec {
	unsigned char key[131];
	size_t keylen;
	const char *data;
	size_t datalen;
	const char *mac;
	size_t maclen;
};
static struct hmac_vec vec[8];
static unsigned char vec_dd[50], vec_cd[50];

static void hmac_vectors(void)
{
	static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char d7[] = "This is a test using a larger than block-size key and a larger "
				 "than block-size data. The key needs to be hashed before being "
				 "used by the HMAC algorithm.";
	memset(vec, 0, sizeof vec);
	memset(vec_dd, 0xdd, sizeof vec_dd);
	memset(vec_cd, 0xcd, sizeof vec_cd);
	memset(vec[0].key, 0x0b, vec[0].keylen = 20);
	vec[0].data = "Hi There";
	vec[0].mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
	memcpy(vec[1].key, "Jefe", vec[1].keylen = 4);
	vec[1].data = "what do ya want for nothing?";
	vec[1].mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	memset(vec[2].key, 0xaa, vec[2].keylen = 20);
	vec[2].data = (const char *)vec_dd;
	vec[2].datalen = sizeof vec_dd;
	vec[2].mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
	for (int i = 0; i < 25; i++)
		vec[3].key[i] = (unsigned char)(i + 1);
	vec[3].keylen = 25;
	vec[3].data = (const char *)vec_cd;
	vec[3].datalen = sizeof vec_cd;
	vec[3].mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
	memset(vec[4].key, 0x0c, vec[4].keylen = 20);
	vec[4].data = "Test With Truncation";
	vec[4].mac = "a3b6167473100ee06e0c796c2955552b";
	memset(vec[5].key, 0xaa, vec[5].keylen = 131);
	vec[5].data = d6;
	vec[5].mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
	memset(vec[6].key, 0xaa, vec[6].keylen = 131);
	vec[6].data = d7;
	vec[6].mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
	vec[7].data = "";
	vec[7].mac = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
	for (int i = 0; i < 8; i++) {
		if (vec[i].datalen == 0)
			vec[i].datalen = strlen(vec[i].data);
		vec[i].maclen = strlen(vec[i].mac) / 2;
	}
}

/* True when hmac_sha256 gives vector i's MAC. */
static bool hmac_vec_ok(int i)
{
	unsigned char h[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	if (hmac_sha256(vec[i].key, vec[i].keylen, vec[i].data, vec[i].datalen, h) != ST_OK)
		return false;
	hex_encode(h, vec[i].maclen, hex);
	return strcmp(hex, vec[i].mac) == 0;
}

static void hmac_rfc4231(void **state)
{
	(void)state;
	unsigned char h[SHA256_LEN], h2[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	hmac_vectors();
	/* Each vector twice in a row (the second use of a key hits this
	 * thread's cache), then round robin over more keys than the cache
	 * holds, so that entries are replaced and keyed again. */
	for (int i = 0; i < 8; i++) {
		assert_true(hmac_vec_ok(i));
		assert_true(hmac_vec_ok(i));
	}
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 8; i++)
			assert_true(hmac_vec_ok((i * 3 + round) % 8));
	/* A NULL key is the empty key, never the key used before it. */
	assert_true(hmac_vec_ok(1));
	assert_int_equal(hmac_sha256(NULL, 0, "", 0, h), ST_OK);
	hex_encode(h, sizeof h, hex);
	assert_string_equal(hex, vec[7].mac);
	assert_int_equal(hmac_sha256(NULL, 1, "", 0, h), ST_INTERNAL);
	/* Keys that share a prefix are different keys. */
	assert_int_equal(hmac_sha256((const unsigned char *)"Jefe", 4, "m", 1, h), ST_OK);
	assert_int_equal(hmac_sha256((const unsigned char *)"Jef", 3, "m", 1, h2), ST_OK);
	assert_memory_not_equal(h, h2, sizeof h);
	assert_int_equal(hmac_sha256((const unsigned char *)"Jefe", 4, "m", 1, h2), ST_OK);
	assert_memory_equal(h, h2, sizeof h);
}

static void *hmac_worker(void *arg)
{
	intptr_t t = (intptr_t)arg, bad = 0;

	for (int i = 0; i < 300; i++)
		bad += !hmac_vec_ok((int)((i + t) % 8));
	return (void *)bad;
}

/* Many threads at once, each with its own cache, over more keys than one
 * cache holds; the caches are freed as the threads exit (ASan and valgrind
 * see leaks). */
static void hmac_threads(void **state)
{
	(void)state;
	pthread_t th[8];

	hmac_vectors();
	for (intptr_t i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hmac_worker, (void *)i), 0);
	for (int i = 0; i < 8; i++) {
		void *bad = NULL;
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
}

static void digests_fetched_once(void **state)
{
	(void)state;
	static const int sizes[CRYPTO_MD_COUNT] = {32, 48, 64};

	assert_int_equal(crypto_init(), ST_OK);
	assert_int_equal(crypto_init(), ST_OK);
	for (int i = 0; i < CRYPTO_MD_COUNT; i++) {
		assert_non_null(crypto_md((enum crypto_md)i));
		assert_ptr_equal(crypto_md((enum crypto_md)i), crypto_md((enum crypto_md)i));
		assert_int_equal(EVP_MD_get_size(crypto_md((enum crypto_md)i)), sizes[i]);
	}
	assert_null(crypto_md((enum crypto_md)CRYPTO_MD_COUNT));
}

/* RFC 5869 test case 1; AES-256-GCM seal/open round trip and tampering. */
static void hkdf_and_aead(void **state)
{
	unsigned char ikm[22], salt[13], info[10], okm[42], key[AEAD_KEY_LEN];
	char hex[85];
	struct buf sealed = {0}, plain = {0};
	const char msg[] = "-----BEGIN PRIVATE KEY-----";

	(void)state;
	memset(ikm, 0x0b, sizeof ikm);
	for (unsigned i = 0; i < sizeof salt; i++)
		salt[i] = (unsigned char)i;
	for (unsigned i = 0; i < sizeof info; i++)
		info[i] = (unsigned char)(0xf0 + i);
	assert_int_equal(
	    hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm, sizeof okm),
	    ST_OK);
	hex_encode(okm, sizeof okm, hex);
	assert_string_equal(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
				 "34007208d5b887185865");

	memcpy(key, okm, sizeof key);
	assert_int_equal(aead_seal(key, "aad", 3, msg, sizeof msg - 1, &sealed), ST_OK);
	assert_int_equal(sealed.n, AEAD_NONCE_LEN + sizeof msg - 1 + AEAD_TAG_LEN);
	assert_null(memmem(sealed.p, sealed.n, "PRIVATE", 7));
	assert_int_equal(aead_open(key, "aad", 3, sealed.p, sealed.n, &plain), ST_OK);
	assert_int_equal(plain.n, sizeof msg - 1);
	assert_memory_equal(plain.p, msg, plain.n);
	buf_reset(&plain);
	/* wrong additional data, wrong key, a flipped bit anywhere, cut short */
	assert_int_equal(aead_open(key, "aae", 3, sealed.p, sealed.n, &plain), ST_INVALID);
	key[0] ^= 1;
	assert_int_equal(aead_open(key, "aad", 3, sealed.p, sealed.n, &plain), ST_INVALID);
	key[0] ^= 1;
	for (size_t i = 0; i < sealed.n; i += 7) {
		sealed.p[i] ^= 0x40;
		assert_int_equal(aead_open(key, "aad", 3, sealed.p, sealed.n, &plain), ST_INVALID);
		sealed.p[i] ^= 0x40;
	}
	assert_int_equal(
	    aead_open(key, "aad", 3, sealed.p, AEAD_NONCE_LEN + AEAD_TAG_LEN - 1, &plain),
	    ST_INVALID);
	assert_int_equal(plain.n, 0);
	/* two seals of the same text differ (fresh nonce) */
	{
		struct buf again = {0};
		assert_int_equal(aead_seal(key, "aad", 3, msg, sizeof msg - 1, &again), ST_OK);
		assert_false(again.n == sealed.n && memcmp(again.p, sealed.p, sealed.n) == 0);
		buf_free(&again);
	}
	buf_free(&sealed);
	buf_free(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(b64url_roundtrip), cmocka_unit_test(b64url_rejects),
	    cmocka_unit_test(b64std_padding),   cmocka_unit_test(buf_caps),
	    cmocka_unit_test(sv_ints),          cmocka_unit_test(utf8_trim),
	    cmocka_unit_test(strlist_ops),      cmocka_unit_test(hex_digits),
	    cmocka_unit_test(ref_counts),       cmocka_unit_test(arena_bounds),
	    cmocka_unit_test(crypto_helpers),   cmocka_unit_test(metrics_format),
	    cmocka_unit_test(hmac_rfc4231),     cmocka_unit_test(hkdf_and_aead),
	    cmocka_unit_test(hmac_threads),     cmocka_unit_test(digests_fetched_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
