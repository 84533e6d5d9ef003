/* test_jose.c - unit tests of src/jose: algorithms, compact JWS parsing,
 * claims, JWK/JWKS and certificate import, verify/sign, RFC vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jose/jose.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "lib/arena.h"
#include "lib/b64.h"
#include "lib/crypto.h"
#include "lib/limits.h"
#include "lib/str.h"

#define assert_msg(e, sub)                                                                         \
	do {                                                                                       \
		if (strstr((e).msg, (sub)) == NULL) {                                              \
			print_error("message '%s' lacks '%s'\n", (e).msg, (sub));                  \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- RFC test vectors ---------------------------------------------------- */

/* RFC 7515 A.1-A.3 payload: {"iss":"joe",\r\n "exp":1300819380,\r\n
 * "http://example.com/is_root":true} */
#define RFC_PAYLOAD                                                                                \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290"     \
	"Ijp0cnVlfQ"

#define A2_N                                                                                       \
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPM"       \
	"EzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"       \
	"bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3"       \
	"qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9g"       \
	"b54h4FRWyuXpoQ"
#define A2_D                                                                                       \
	"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7Y"     \
	"wVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3M"     \
	"kqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1Zd"     \
	"iYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRu"     \
	"OopznQ"
static const char a2_jwk[] = "{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQAB\"}";
static const char a2_token[] = "eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD
			       ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
			       "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
			       "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
			       "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
			       "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
			       "p0igcN_IoypGlUPQGe77Rw";

#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
static const char a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}";
static const char a3_token[] = "eyJhbGciOiJFUzI1NiJ9." RFC_PAYLOAD
			       ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
			       "pmWQxfKTUJqPP3-Kg6NU1Q";

static const char a4_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-521\","
			     "\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_"
			     "NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\","
			     "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-"
			     "x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\"}";
/* A.4: the payload is the ASCII string "Payload", not JSON. */
static const char a4_token[] = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
			       "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
			       "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
			       "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/* RFC 8037 A.2 public key and A.4 signature over "Example of Ed25519 signing". */
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
static const char ed_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}";
static const char ed_token[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt"
    "9g7sVvpAr_MuM0KAg";

/* RFC 7638 §3.1 */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"2011-04-29\",\"alg\":\"RS256\",\"n\":\""
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
    "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}";

/* Interoperability vectors made with Python cryptography 48 (an independent
 * implementation): PS* (MGF1 same hash, salt = hash length), RS384, RS512
 * with the RFC 7515 A.2 key, ES384 with its own key, and a PS256 signature
 * with the maximum salt length, which RFC 7518 section 3.5 does not allow. */
static const struct {
	enum jose_alg alg;
	const char *token;
} interop[] = {
    {JOSE_ALG_PS256, "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.jaJs_1vEIm3D6uPFKGI9fLze1NXz_wiz-pXSIcimlrvJdWqscMZgoqRtC5V-m8tIf1"
		     "bCsH9apIp042KYm3NUwTN1BjHSm6r7H39-_P3fYmX3XWZHIuOanP3qSj-m3T16XdDK4foGBf5l5e"
		     "DrA8pPVvoo_PaNZ4QAFeNVL-YNw2UPzF0PMRTiQClLIH_W2807BRgyF-q0aExW1o-dR1l7gzkx_l"
		     "QFmH2QibfOhJ9vuHflx35vGmqjz3pnZYUXBvVm352WK8YkQUrstaXqHb6a3InOvDpjhTWOj1ZMIw"
		     "ZCc1eeW3aEMRt3cEUAMWqhhqUiSVDa-9jwdWPD3ywF1ZJb5A"},
    {JOSE_ALG_PS384, "eyJhbGciOiJQUzM4NCJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.e5xRfz20Wai4PWf8l3jy26GFZ0jXiRXgpcEGnmmrQDmn-vNhjDHSWlKfGZvLSc5Viy"
		     "i3hNO20pz9Fjh1tKg3e38dYVPsvdrzNKhsLlrFryiz4GymJw6VrseV8MVc4e5iTt4-STNxDWJkqm"
		     "XzXrx0BJcDAkewHlSRBiuRYYs07BhXqQsSPZq1WI40NUgh0FpymutaoqsuzWRzaBLNHacsq0cGDI"
		     "PpABO310WRjIVhq4ih9o8-kVcQ1KNKtuHigFX0w7-fuz3eDmJBul-W7p0lzhp27IXufA5M-36tBl"
		     "4Mm5wf44IQMNJ6NGADeVAq5M-obRCnr45CnRFxZuSGWTiOMg"},
    {JOSE_ALG_RS384, "eyJhbGciOiJSUzM4NCJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.f7dITEC2e9yEb35_Sez57RzyBwSNzG9YXS5bNqD102ENBi9ZBfCOgyf9InwWby8rZI"
		     "AR2Xnh7reqkcTnpzKTYPoMk-0jeYoxFn_aqJq8tzxMURKwFm41wDmdyohRmWGj_N4evba2KUfBs0"
		     "EXsEbp448xTTIUpW6o_5zQvf0uOq27-MAA4C7E6fSiC-v_TywABp5TLI7po5hddypQmYLu7WAPHb"
		     "WmihPmN8DzdFzKCg-30d4bhQQD44dxnkkS-Cd9V5mhdaNJACVv-k1jSWzZHlXBNZRzJB__qmxnc0"
		     "6aMEdMuvj7XWvWpvLzYCarCuVUNNNEbupotubtUOPsvhFviQ"},
    {JOSE_ALG_PS512, "eyJhbGciOiJQUzUxMiJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.JYOBKOdXkdQI_YwiX3IrnSq93m9La_A3uUMDQTfZsvGtJpqdWZYk4r4-1BNTGMeS8M"
		     "02bUUp5s3qddMdK5H0YEzUE2U4irEiawOhuHkyojOt8A8fifMK1_3mVxia1K7tbt7hIqb1_IH_qJ"
		     "iKVxxCpDglmfEyEtHPTs3rUUKv8_tAVKj6JFZ2gP0-6FsHESwWr5WIK-43CstVL-SCeVtHmr3hAl"
		     "o2OiCx4pl6XQ8fc-ZrljMbq3GRMgV20T-2ETyxNWlzbKaKJd-P5uorL03FRPWD3rrQy4tGXB7UtE"
		     "Dl4_fF7evJKlyaRjMyRGFaWrEwNy5T06HGKh7a9UUv4vgk7A"},
    {JOSE_ALG_RS512, "eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.eGrGSLLtQJBx8fPaYVRW8_2spcnLJ_8Z36aow9PtVz4m6FpcidWMVY8HvZyHxNvFh7"
		     "roskacUOKQllJhRqfFXXSZ_mvIu2snxoZD-d8Dr8wmUuoH2HVBpzIblSpTJs1HdWEJdC0I0ikTFS"
		     "KXWkeGRl_as0yn7mymjzeoV5hGKotysRCzSLs9NUk_F6oujaLLpAQtB837OrIPWX2m1Yu58gfwQs"
		     "KOywFtIymtwRxrYyrpYl2Gurcoby0Yfqfxqoa7b_QtJKYxcUtab8i3WQ9g0x8pHjJdHqHl1WjXdL"
		     "n7-KcteYMJZSNKgBVfD1SXqh9B98U7wavGizNTNSS9ByNnFg"},
    {JOSE_ALG_ES384, "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
		     "wMDAwMDB9.rkNmUTzJ1eVlZKqN4UGMzzmeHjxEdMaKWHm42drv6popBfZLKU2abbRMeXHjxENdgm"
		     "40uk44WSBsXGTtNgGnSXS_9JP7JxpgczTV3o37fF2k9qMLkegGXz06D0HoQlpa"},
};
static const char interop_es384_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"kFFMEyJDJy6AT4h6y420XYv7jwO8ZdOW_1yXgjk"
    "WTPq016bcWiih1UziCxkwRkQd\",\"y\":\"9o-3YTCjnRzjQqMMc7LBYkIJgr0ao7fZeee5kT"
    "vkv1vq3G6BSWn0-D8B7In7soA7\"}";
static const char interop_ps256_maxsalt[] =
    "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJpbnRlcm9wIiwic3ViIjoiYWxpY2UiLCJleHAiOjIwMDA"
    "wMDAwMDB9.C7zU4GtnuWvFe8UYO4_0gB5VEXYvsq4053rd8UVOBTgjo1uKHHpF2meDHpVDkigfQ9"
    "uc29rY_Eawl_W-ovDW9897HImDhQwv7TxCymEYlJ8ZUuWgrL-6y8h40XLzw-fIi7FC6JoYOC1p0R"
    "l55T1mply1K-gB3blPWUiaSv0ievx0jjV3yYjWEd25kK4S0Ax1Ehjl1Zbiyfgqv2ThHfWHM82C-A"
    "esfjFDte2oyb4_6pLy49KiTpn17zP_wYJhP7HFoAF-ePVzfutK4rAin-6fZHcMdT7372Lc7UPgXo"
    "ZMfiuqFDCZR12xwCxss4aQvxfXLBVxBVd36haM69rEBYXdWQ";

/* ---- helpers ---------------------------------------------------------------- */

static struct jose_key *jwk_key(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	struct jose_key *k = NULL;
	struct err e;

	assert_non_null(j);
	if (jose_key_from_jwk(j, &k, &e) != ST_OK) {
		print_error("jwk import failed: %s\n", e.msg);
		fail();
	}
	json_decref(j);
	return k;
}

/* Imports `pk` as the PEM public key an admin would upload. */
static status pem_import_err(EVP_PKEY *pk, struct jose_key **k, struct err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	status st;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &p);
	st = jose_key_from_pem((struct sv){p, (size_t)n}, k, e);
	BIO_free(b);
	return st;
}

static status jwk_import_err(const char *text, struct err *e)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	struct jose_key *k = NULL;
	status st;

	assert_non_null(j);
	st = jose_key_from_jwk(j, &k, e);
	if (st == ST_OK)
		assert_non_null(k);
	else
		assert_null(k);
	jose_key_free(k);
	json_decref(j);
	return st;
}

/* "<b64(hdr)>.<b64(pay)>.<sig>" in a malloc'ed string. */
static char *mk(const char *hdr, const char *pay, const char *sig)
{
	struct buf b = {0};
	assert_int_equal(b64url_encode_buf(&b, (const unsigned char *)hdr, strlen(hdr)), ST_OK);
	assert_int_equal(buf_putc(&b, '.'), ST_OK);
	assert_int_equal(b64url_encode_buf(&b, (const unsigned char *)pay, strlen(pay)), ST_OK);
	assert_int_equal(buf_putc(&b, '.'), ST_OK);
	assert_int_equal(buf_append_cstr(&b, sig), ST_OK);
	return buf_steal(&b);
}

/* One arena for the tokens parsed by parse(), freed by the group teardown. */
static struct arena test_arena;

static int setup(void **state)
{
	(void)state;
	arena_init(&test_arena, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_free(&test_arena);
	return 0;
}

static status parse(const char *token, struct jws *out, struct err *e)
{
	return jws_parse(&test_arena, sv_from(token), LIMIT_JWS_DEFAULT, out, e);
}

/* Parses and expects failure with `want` and a message containing `msg`. */
static void parse_fails(const char *token, status want, const char *msg)
{
	struct arena a;
	struct jws j;
	struct err e;
	status st;

	arena_init(&a, 0);
	err_clear(&e);
	st = jws_parse(&a, sv_from(token), LIMIT_JWS_DEFAULT, &j, &e);
	if (st != want) {
		print_error("token parse gave %s (%s), wanted %s\n", status_name(st), e.msg,
			    status_name(want));
		fail();
	}
	assert_msg(e, msg);
	assert_null(j.header);
	assert_null(j.payload);
	jws_free(&j);
	arena_free(&a);
}

static void parse_fails_mk(const char *hdr, const char *pay, status want, const char *msg)
{
	char *t = mk(hdr, pay, "c2ln");
	parse_fails(t, want, msg);
	free(t);
}

/* Verifies the raw compact `token` (payload need not be JSON). */
static status verify_raw_token(const char *token, enum jose_alg alg, const struct jose_key *k,
			       struct err *e)
{
	const char *dot = strrchr(token, '.');
	unsigned char sig[1024];
	size_t n = 0;

	assert_non_null(dot);
	assert_int_equal(b64url_decode(sv_from(dot + 1), sig, sizeof sig, &n), ST_OK);
	return jose_verify_raw(alg, k, (struct sv){token, (size_t)(dot - token)}, sig, n, e);
}

/* Flips one signature character to another valid base64url character. */
static char *tamper_sig(const char *token)
{
	char *t = strdup(token);
	char *p = strrchr(t, '.') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	return t;
}

static json_t *claims(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	assert_non_null(j);
	return j;
}

static struct jose_key *gen(enum jose_alg alg)
{
	struct jose_key *k = NULL;
	struct err e;
	if (jose_key_generate(alg, &k, &e) != ST_OK) {
		print_error("generate %s: %s\n", jose_alg_name(alg), e.msg);
		fail();
	}
	return k;
}

/* The public half of a key, as an identity provider's JWKS would give it. */
static struct jose_key *public_of(const struct jose_key *k)
{
	json_t *j = NULL;
	struct jose_key *p = NULL;
	struct err e;
	assert_int_equal(jose_key_public_jwk(k, &j, &e), ST_OK);
	assert_null(json_object_get(j, "d"));
	assert_int_equal(jose_key_from_jwk(j, &p, &e), ST_OK);
	assert_false(p->has_private);
	json_decref(j);
	return p;
}

static char *sign_token(enum jose_alg alg, const struct jose_key *k, const char *kid,
			const char *extra, const char *payload)
{
	struct buf out = {0};
	json_t *x = extra ? claims(extra) : NULL;
	json_t *p = claims(payload);
	struct err e;
	if (jws_sign(&out, alg, k, kid, x, p, &e) != ST_OK) {
		print_error("sign %s: %s\n", jose_alg_name(alg), e.msg);
		fail();
	}
	json_decref(x);
	json_decref(p);
	return buf_steal(&out);
}

/* ---- algorithms -------------------------------------------------------------- */

static void alg_names(void **state)
{
	(void)state;
	static const char *names[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
				      "PS512", "ES256", "ES384", "ES512", "EdDSA"};
	struct err e;
	enum jose_alg a;

	for (unsigned i = 0; i < JOSE_ALG_COUNT; i++) {
		assert_int_equal(jose_alg_parse(sv_from(names[i]), &a, &e), ST_OK);
		assert_int_equal(a, i);
		assert_string_equal(jose_alg_name(a), names[i]);
	}
	assert_int_equal(jose_alg_parse(SV("none"), &a, &e), ST_INVALID);
	assert_string_equal(e.msg, "alg none is not accepted");
	assert_int_equal(jose_alg_parse(SV("HS256"), &a, &e), ST_INVALID);
	assert_string_equal(e.msg, "symmetric algorithm HS256 is not accepted");
	assert_int_equal(jose_alg_parse(SV("HS512"), &a, &e), ST_INVALID);
	assert_string_equal(e.msg, "symmetric algorithm HS512 is not accepted");
	assert_int_equal(jose_alg_parse(SV("rs256"), &a, &e), ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported alg 'rs256'");
	assert_int_equal(jose_alg_parse(SV("ES256K"), &a, &e), ST_UNSUPPORTED);
	assert_int_equal(jose_alg_parse(SV(""), &a, &e), ST_UNSUPPORTED);
	/* Long and hostile names are cut and sanitized. */
	assert_int_equal(
	    jose_alg_parse(SV("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &a, &e),
	    ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported alg 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...'");
	assert_int_equal(jose_alg_parse(SV("X\n'\x01"), &a, &e), ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported alg 'X?\?\?'");
	assert_string_equal(jose_alg_name((enum jose_alg)99), "?");
}

static void alg_sets(void **state)
{
	(void)state;
	struct sv list[] = {SV("RS256"), SV("ES256"), SV("RS256")};
	struct sv bad[] = {SV("RS256"), SV("HS256")};
	jose_alg_set s = 0;
	char text[128];
	struct err e;

	assert_int_equal(jose_alg_set_parse(list, 0, &s, &e), ST_OK);
	assert_int_equal(s, JOSE_ALG_SET_ALL);
	assert_int_equal(jose_alg_set_parse(list, 3, &s, &e), ST_OK);
	assert_int_equal(s, JOSE_ALG_BIT(JOSE_ALG_RS256) | JOSE_ALG_BIT(JOSE_ALG_ES256));
	assert_true(jose_alg_set_has(s, JOSE_ALG_ES256));
	assert_false(jose_alg_set_has(s, JOSE_ALG_PS256));
	assert_true(jose_alg_set_format(s, text, sizeof text));
	assert_string_equal(text, "RS256, ES256");
	assert_int_equal(jose_alg_check_allowed(s, JOSE_ALG_RS256, &e), ST_OK);
	assert_int_equal(jose_alg_check_allowed(s, JOSE_ALG_ES384, &e), ST_INVALID);
	assert_string_equal(
	    e.msg, "alg ES384 is not in the identity provider's allowed algorithms (RS256, ES256)");
	assert_int_equal(jose_alg_set_parse(bad, 2, &s, &e), ST_INVALID);
	assert_string_equal(e.msg, "entry 1: symmetric algorithm HS256 is not accepted");

	json_t *j = claims(
	    "{\"a\":[\"EdDSA\",\"PS512\"],\"b\":[],\"c\":[\"none\"],\"d\":[1],\"e\":\"RS256\"}");
	assert_int_equal(jose_alg_set_from_json(json_object_get(j, "a"), &s, &e), ST_OK);
	assert_int_equal(s, JOSE_ALG_BIT(JOSE_ALG_EDDSA) | JOSE_ALG_BIT(JOSE_ALG_PS512));
	assert_int_equal(jose_alg_set_from_json(json_object_get(j, "b"), &s, &e), ST_OK);
	assert_int_equal(s, JOSE_ALG_SET_ALL);
	assert_int_equal(jose_alg_set_from_json(NULL, &s, &e), ST_OK);
	assert_int_equal(s, JOSE_ALG_SET_ALL);
	assert_int_equal(jose_alg_set_from_json(json_object_get(j, "c"), &s, &e), ST_INVALID);
	assert_string_equal(e.msg, "entry 0: alg none is not accepted");
	assert_int_equal(jose_alg_set_from_json(json_object_get(j, "d"), &s, &e), ST_INVALID);
	assert_string_equal(e.msg, "entry 0: must be a string, got number");
	assert_int_equal(jose_alg_set_from_json(json_object_get(j, "e"), &s, &e), ST_INVALID);
	json_decref(j);
	assert_true(jose_alg_set_format(JOSE_ALG_SET_ALL, text, sizeof text));
	assert_string_equal(text,
			    "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA");
	assert_false(jose_alg_set_format(JOSE_ALG_SET_ALL, text, 10));
	assert_string_equal(text, "RS256");
}

/* ---- RFC vectors ----------------------------------------------------------------- */

static void rfc7515_a2_rs256(void **state)
{
	(void)state;
	struct jose_key *k = jwk_key(a2_jwk);
	struct jws j;
	struct err e;
	const char *iss;
	int64_t exp;

	assert_int_equal(k->kty, JOSE_KTY_RSA);
	assert_int_equal(k->bits, 2048);
	assert_int_equal(parse(a2_token, &j, &e), ST_OK);
	assert_int_equal(j.alg, JOSE_ALG_RS256);
	assert_null(j.kid);
	assert_int_equal(j.sig_len, 256);
	assert_int_equal(jws_verify(&j, k, &e), ST_OK);
	assert_int_equal(jwt_claim_string(j.payload, "iss", &iss, &e), ST_OK);
	assert_string_equal(iss, "joe");
	assert_int_equal(jwt_claim_numericdate(j.payload, "exp", &exp, &e), ST_OK);
	assert_int_equal(exp, 1300819380);
	/* Signed input modified by one byte. */
	char *in = strndup(j.signing_input.p, j.signing_input.n);
	in[30] ^= 1;
	assert_int_equal(jose_verify_raw(JOSE_ALG_RS256, k, sv_from(in), j.sig, j.sig_len, &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	free(in);
	/* PS256 over the same bytes must not verify a PKCS#1 v1.5 signature. */
	assert_int_equal(jose_verify_raw(JOSE_ALG_PS256, k, j.signing_input, j.sig, j.sig_len, &e),
			 ST_INVALID);
	jws_free(&j);

	char *bad = tamper_sig(a2_token);
	assert_int_equal(parse(bad, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, k, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	assert_null(strstr(e.msg, "cC4hiUPo"));
	jws_free(&j);
	free(bad);
	jose_key_free(k);
}

static void rfc7515_a3_es256(void **state)
{
	(void)state;
	struct jose_key *k = jwk_key(a3_jwk);
	struct jws j;
	struct err e;

	assert_int_equal(k->kty, JOSE_KTY_EC_P256);
	assert_int_equal(parse(a3_token, &j, &e), ST_OK);
	assert_int_equal(j.alg, JOSE_ALG_ES256);
	assert_int_equal(j.sig_len, 64);
	assert_int_equal(jws_verify(&j, k, &e), ST_OK);
	jws_free(&j);
	char *bad = tamper_sig(a3_token);
	assert_int_equal(parse(bad, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, k, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	jws_free(&j);
	free(bad);
	jose_key_free(k);
}

static void rfc7515_a4_es512(void **state)
{
	(void)state;
	struct jose_key *k = jwk_key(a4_jwk);
	struct err e;

	assert_int_equal(k->kty, JOSE_KTY_EC_P521);
	assert_int_equal(verify_raw_token(a4_token, JOSE_ALG_ES512, k, &e), ST_OK);
	char *bad = tamper_sig(a4_token);
	assert_int_equal(verify_raw_token(bad, JOSE_ALG_ES512, k, &e), ST_INVALID);
	free(bad);
	/* The payload "Payload" is not a JWT claims set. */
	parse_fails(a4_token, ST_INVALID, "payload is not valid JSON");
	jose_key_free(k);
}

static void rfc8037_a4_ed25519(void **state)
{
	(void)state;
	struct jose_key *k = jwk_key(ed_jwk);
	struct err e;

	assert_int_equal(k->kty, JOSE_KTY_ED25519);
	assert_int_equal(verify_raw_token(ed_token, JOSE_ALG_EDDSA, k, &e), ST_OK);
	char *bad = tamper_sig(ed_token);
	assert_int_equal(verify_raw_token(bad, JOSE_ALG_EDDSA, k, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	free(bad);
	/* Same signature, one payload byte changed ("Example" -> "Exbmple"). */
	char *mod = strdup(ed_token);
	mod[strlen("eyJhbGciOiJFZERTQSJ9.") + 2] ^= 1;
	assert_int_equal(verify_raw_token(mod, JOSE_ALG_EDDSA, k, &e), ST_INVALID);
	free(mod);
	jose_key_free(k);
}

static void rfc7638_thumbprints(void **state)
{
	(void)state;
	struct jose_key *k = jwk_key(rfc7638_jwk);
	struct jose_key *ed = jwk_key(ed_jwk);
	char tp[JOSE_THUMBPRINT_LEN];
	struct err e;
	json_t *pub = NULL;

	assert_int_equal(jose_key_thumbprint(k, tp, &e), ST_OK);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_int_equal(jose_key_thumbprint(ed, tp, &e), ST_OK);
	assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_string_equal(k->kid, "2011-04-29");
	assert_true(k->has_alg);
	assert_int_equal(k->alg, JOSE_ALG_RS256);

	/* The public JWK carries the same members back. */
	assert_int_equal(jose_key_public_jwk(k, &pub, &e), ST_OK);
	assert_string_equal(json_string_value(json_object_get(pub, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(pub, "e")), "AQAB");
	assert_string_equal(json_string_value(json_object_get(pub, "kid")), "2011-04-29");
	assert_string_equal(json_string_value(json_object_get(pub, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(pub, "use")), "sig");
	assert_int_equal(
	    strncmp(json_string_value(json_object_get(pub, "n")), "0vx7agoebGcQSuuPiLJX", 20), 0);
	json_decref(pub);
	assert_int_equal(jose_key_public_jwk(ed, &pub, &e), ST_OK);
	assert_string_equal(json_string_value(json_object_get(pub, "x")), ED_X);
	assert_string_equal(json_string_value(json_object_get(pub, "crv")), "Ed25519");
	assert_null(json_object_get(pub, "alg"));
	json_decref(pub);
	struct jose_key *ec = jwk_key(a3_jwk);
	assert_int_equal(jose_key_public_jwk(ec, &pub, &e), ST_OK);
	assert_string_equal(json_string_value(json_object_get(pub, "x")), A3_X);
	assert_string_equal(json_string_value(json_object_get(pub, "y")), A3_Y);
	json_decref(pub);
	jose_key_free(ec);
	jose_key_free(k);
	jose_key_free(ed);
}

static void interop_vectors(void **state)
{
	(void)state;
	struct jose_key *rsa = jwk_key(a2_jwk), *ec = jwk_key(interop_es384_jwk);
	struct jws j;
	struct err e;

	for (size_t i = 0; i < sizeof interop / sizeof interop[0]; i++) {
		const struct jose_key *k = interop[i].alg == JOSE_ALG_ES384 ? ec : rsa;
		const char *sub;
		assert_int_equal(parse(interop[i].token, &j, &e), ST_OK);
		assert_int_equal(j.alg, interop[i].alg);
		if (jws_verify(&j, k, &e) != ST_OK) {
			print_error("%s: %s\n", jose_alg_name(interop[i].alg), e.msg);
			fail();
		}
		assert_int_equal(jwt_claim_string(j.payload, "sub", &sub, &e), ST_OK);
		assert_string_equal(sub, "alice");
		jws_free(&j);
		char *bad = tamper_sig(interop[i].token);
		assert_int_equal(parse(bad, &j, &e), ST_OK);
		assert_int_equal(jws_verify(&j, k, &e), ST_INVALID);
		jws_free(&j);
		free(bad);
	}
	assert_int_equal(parse(interop_ps256_maxsalt, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, rsa, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	jws_free(&j);
	jose_key_free(rsa);
	jose_key_free(ec);
}

/* ---- compact parsing ------------------------------------------------------------- */

static void parse_shape(void **state)
{
	(void)state;
	struct arena a;
	struct jws j;
	struct err e;

	parse_fails("", ST_INVALID, "assertion is empty");
	parse_fails("abc", ST_INVALID, "has 1");
	parse_fails("a.b", ST_INVALID, "this has 2");
	parse_fails("a.b.c.d", ST_INVALID, "this has 4");
	parse_fails("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", ST_UNSUPPORTED,
		    "encrypted assertions (JWE) are not accepted");
	parse_fails(".eyJhIjoxfQ.c2ln", ST_INVALID, "header is empty");
	parse_fails("eyJhbGciOiJSUzI1NiJ9..c2ln", ST_INVALID, "payload is empty");
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".", ST_INVALID, "signature is empty");
	/* RFC 7515 A.5: the unsecured JWS. */
	parse_fails("eyJhbGciOiJub25lIn0." RFC_PAYLOAD ".", ST_INVALID, "signature is empty");

	/* Size limit. */
	arena_init(&a, 0);
	assert_int_equal(jws_parse(&a, sv_from(a2_token), 100, &j, &e), ST_TOO_LARGE);
	assert_msg(e, "more than the limit of 100");
	assert_int_equal(jws_parse(&a, sv_from(a2_token), strlen(a2_token), &j, &e), ST_OK);
	assert_int_equal(j.signing_input.n, strlen("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD));
	assert_ptr_equal(j.signing_input.p, a2_token);
	jws_free(&j);
	jws_free(&j); /* harmless twice */
	arena_free(&a);
}

static void parse_base64(void **state)
{
	(void)state;
	/* padding, whitespace, standard alphabet, trailing bits */
	parse_fails("eyJhbGciOiJSUzI1NiJ9=." RFC_PAYLOAD ".c2ln", ST_INVALID,
		    "header is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD "==.c2ln", ST_INVALID,
		    "payload is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".c2ln=", ST_INVALID,
		    "signature is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1 NiJ9." RFC_PAYLOAD ".c2ln", ST_INVALID,
		    "header is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1NiJ9\n." RFC_PAYLOAD ".c2ln", ST_INVALID,
		    "header is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".c2l+", ST_INVALID,
		    "signature is not valid base64url");
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".c2lu/", ST_INVALID,
		    "signature is not valid base64url");
	/* "c2l": the last character carries non-zero unused bits */
	parse_fails("eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".c2l", ST_INVALID,
		    "signature is not valid base64url");
}

static void parse_json(void **state)
{
	(void)state;
	parse_fails_mk("{\"alg\":\"RS256\",\"alg\":\"ES256\"}", "{}", ST_INVALID,
		       "header is not valid JSON: duplicate key 'alg'");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"sub\":\"a\",\"aud\":\"x\",\"sub\":\"b\"}",
		       ST_INVALID, "payload is not valid JSON: duplicate key 'sub'");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"a\":{\"b\":1,\"b\":2}}", ST_INVALID,
		       "duplicate key 'b'");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"sub\":\"\xff\"}", ST_INVALID,
		       "payload is not valid UTF-8");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"sub\":\"\xc0\xaf\"}", ST_INVALID,
		       "payload is not valid UTF-8"); /* overlong */
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"sub\":\"\xed\xa0\x80\"}", ST_INVALID,
		       "payload is not valid UTF-8"); /* surrogate */
	parse_fails_mk("{\"alg\":\"RS256\",\"kid\":\"\xe2\x82\"}", "{}", ST_INVALID,
		       "header is not valid UTF-8");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"sub\":\"a\\u0000b\"}", ST_INVALID,
		       "contains \\u0000");
	parse_fails_mk("{\"alg\":\"RS256\"}", "[1,2]", ST_INVALID, "payload is not a JSON object");
	parse_fails_mk("[\"RS256\"]", "{}", ST_INVALID, "header is not a JSON object");
	parse_fails_mk("{\"alg\":\"RS256\"}", "\"str\"", ST_INVALID, "payload is not valid JSON");
	parse_fails_mk("{\"alg\":\"RS256\"}", "{\"a\":1} x", ST_INVALID,
		       "payload is not valid JSON: end of file expected (at byte");
	parse_fails_mk("{\"alg\":\"RS256\"", "{}", ST_INVALID, "header is not valid JSON");
	/* The reason never quotes the input ("near '...'"). */
	struct arena a;
	struct jws j;
	struct err e;
	char *t = mk("{\"alg\":\"RS256\"}", "{\"secretvalue\" 1}", "c2ln");
	arena_init(&a, 0);
	assert_int_equal(jws_parse(&a, sv_from(t), LIMIT_JWS_DEFAULT, &j, &e), ST_INVALID);
	assert_null(strstr(e.msg, "secretvalue"));
	arena_free(&a);
	free(t);

	/* Nesting: 16 levels pass, 17 fail. */
	char deep[128];
	size_t o = 0;
	deep[o++] = '{';
	memcpy(deep + o, "\"a\":", 4);
	o += 4;
	for (int i = 0; i < 15; i++)
		deep[o++] = '[';
	for (int i = 0; i < 15; i++)
		deep[o++] = ']';
	deep[o++] = '}';
	deep[o] = '\0';
	t = mk("{\"alg\":\"RS256\"}", deep, "c2ln");
	arena_init(&a, 0);
	assert_int_equal(jws_parse(&a, sv_from(t), LIMIT_JWS_DEFAULT, &j, &e), ST_OK);
	jws_free(&j);
	arena_free(&a);
	free(t);
	o = 5;
	for (int i = 0; i < 16; i++)
		deep[o++] = '[';
	for (int i = 0; i < 16; i++)
		deep[o++] = ']';
	deep[o++] = '}';
	deep[o] = '\0';
	parse_fails_mk("{\"alg\":\"RS256\"}", deep, ST_INVALID, "nested deeper than 16 levels");
	/* Brackets inside strings (even after an escaped quote) do not count. */
	t = mk("{\"alg\":\"RS256\",\"x\":\"[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}", "{\"a\":[[1]]}",
	       "c2ln");
	arena_init(&a, 0);
	if (jws_parse(&a, sv_from(t), LIMIT_JWS_DEFAULT, &j, &e) != ST_OK) {
		print_error("%s\n", e.msg);
		fail();
	}
	jws_free(&j);
	arena_free(&a);
	free(t);
}

static void parse_header(void **state)
{
	(void)state;
	parse_fails_mk("{\"typ\":\"JWT\"}", "{}", ST_INVALID, "header has no 'alg'");
	parse_fails_mk("{\"alg\":256}", "{}", ST_INVALID,
		       "header 'alg' must be a string, got number");
	parse_fails_mk("{\"alg\":\"none\"}", "{}", ST_INVALID, "alg none is not accepted");
	parse_fails_mk("{\"alg\":\"HS256\"}", "{}", ST_INVALID,
		       "symmetric algorithm HS256 is not accepted");
	parse_fails_mk("{\"alg\":\"XS999\"}", "{}", ST_UNSUPPORTED, "unsupported alg 'XS999'");
	parse_fails_mk("{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", "{}", ST_UNSUPPORTED,
		       "unsupported critical header 'exp'");
	parse_fails_mk("{\"alg\":\"RS256\",\"crit\":[]}", "{}", ST_INVALID,
		       "header 'crit' must be a non-empty array of strings");
	parse_fails_mk("{\"alg\":\"RS256\",\"crit\":\"exp\"}", "{}", ST_INVALID,
		       "header 'crit' must be a non-empty array of strings");
	parse_fails_mk("{\"alg\":\"RS256\",\"crit\":[\"a\",2]}", "{}", ST_INVALID,
		       "header 'crit' must be a non-empty array of strings");
	parse_fails_mk("{\"alg\":\"RS256\",\"b64\":false}", "{}", ST_UNSUPPORTED, "RFC 7797");
	parse_fails_mk("{\"alg\":\"RS256\",\"b64\":\"no\"}", "{}", ST_INVALID,
		       "header 'b64' must be a boolean, got string");
	parse_fails_mk("{\"alg\":\"RS256\",\"jku\":\"https://evil.example/jwks\"}", "{}",
		       ST_UNSUPPORTED, "header 'jku' is not accepted");
	parse_fails_mk("{\"alg\":\"RS256\",\"x5u\":\"https://evil.example/c\"}", "{}",
		       ST_UNSUPPORTED, "header 'x5u' is not accepted");
	parse_fails_mk("{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\"}}", "{}", ST_UNSUPPORTED,
		       "header 'jwk' is not accepted");
	parse_fails_mk("{\"alg\":\"RS256\",\"kid\":7}", "{}", ST_INVALID,
		       "header 'kid' must be a string, got number");
	parse_fails_mk("{\"alg\":\"RS256\",\"typ\":null}", "{}", ST_INVALID,
		       "header 'typ' must be a string, got null");
	parse_fails_mk("{\"alg\":\"RS256\",\"x5t#S256\":\"abc\"}", "{}", ST_INVALID,
		       "header 'x5t#S256' must be the base64url of a SHA-256 hash");

	/* Accepted: kid, typ, x5c (flagged, never used), b64 true, x5t#S256. */
	char *t =
	    mk("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\",\"b64\":true,"
	       "\"x5c\":[\"MIIB\"],\"x5t#S256\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}",
	       "{\"sub\":\"s\"}", "c2ln");
	struct jws j;
	struct err e;
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(j.alg, JOSE_ALG_ES256);
	assert_string_equal(j.kid, "k1");
	assert_string_equal(j.typ, "JWT");
	assert_true(j.has_x5c);
	assert_true(j.has_x5t_s256);
	assert_int_equal(j.x5t_s256[0], 0);
	assert_int_equal(j.x5t_s256[31], 31);
	assert_int_equal(j.sig_len, 3);
	assert_memory_equal(j.sig, "sig", 3);
	jws_free(&j);
	free(t);
}

/* ---- claims ------------------------------------------------------------------------ */

static void claim_helpers(void **state)
{
	(void)state;
	json_t *c = claims("{\"iss\":\"https://idp\",\"sub\":42,\"exp\":1700000000,"
			   "\"nbf\":1700000000.75,\"iat\":\"1700000000\",\"neg\":-1,"
			   "\"big\":253402300800,\"max\":253402300799,\"bool\":true,"
			   "\"aud\":\"a1\",\"auds\":[\"a1\",\"a2\"],\"empty\":[],"
			   "\"mixed\":[\"a\",3],\"obj\":{},\"nul\":null,\"rneg\":-0.5,"
			   "\"rbig\":1e300}");
	struct arena a;
	struct err e;
	const char *s;
	int64_t t;
	const char *const *aud;
	size_t n;

	arena_init(&a, 0);
	assert_int_equal(jwt_claim_string(c, "iss", &s, &e), ST_OK);
	assert_string_equal(s, "https://idp");
	assert_int_equal(jwt_claim_string(c, "jti", &s, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "claim 'jti' is missing");
	assert_int_equal(jwt_claim_string(c, "sub", &s, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'sub' must be a string, got number");
	assert_int_equal(jwt_claim_string(c, "nul", &s, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'nul' must be a string, got null");

	assert_int_equal(jwt_claim_numericdate(c, "exp", &t, &e), ST_OK);
	assert_int_equal(t, 1700000000);
	assert_int_equal(jwt_claim_numericdate(c, "nbf", &t, &e), ST_OK);
	assert_int_equal(t, 1700000000);
	assert_int_equal(jwt_claim_numericdate(c, "max", &t, &e), ST_OK);
	assert_int_equal(t, JWT_NUMERICDATE_MAX);
	assert_int_equal(jwt_claim_numericdate(c, "nope", &t, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "claim 'nope' is missing");
	assert_int_equal(jwt_claim_numericdate(c, "iat", &t, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'iat' must be a number, got string");
	assert_int_equal(jwt_claim_numericdate(c, "bool", &t, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'bool' must be a number, got boolean");
	assert_int_equal(jwt_claim_numericdate(c, "neg", &t, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'neg' must not be negative");
	assert_int_equal(jwt_claim_numericdate(c, "rneg", &t, &e), ST_INVALID);
	assert_int_equal(jwt_claim_numericdate(c, "big", &t, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'big' is after the year 9999");
	assert_int_equal(jwt_claim_numericdate(c, "rbig", &t, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'rbig' is after the year 9999");

	assert_int_equal(jwt_claim_audiences(&a, c, "aud", &aud, &n, &e), ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(aud[0], "a1");
	assert_int_equal(jwt_claim_audiences(&a, c, "auds", &aud, &n, &e), ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(aud[1], "a2");
	assert_int_equal(jwt_claim_audiences(&a, c, "none", &aud, &n, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "claim 'none' is missing");
	assert_int_equal(jwt_claim_audiences(&a, c, "empty", &aud, &n, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'empty' is an empty array");
	assert_int_equal(jwt_claim_audiences(&a, c, "mixed", &aud, &n, &e), ST_INVALID);
	assert_string_equal(e.msg, "claim 'mixed' element 1 must be a string, got number");
	assert_int_equal(jwt_claim_audiences(&a, c, "obj", &aud, &n, &e), ST_INVALID);
	assert_string_equal(e.msg,
			    "claim 'obj' must be a string or an array of strings, got object");
	assert_int_equal(jwt_claim_audiences(&a, c, "exp", &aud, &n, &e), ST_INVALID);
	assert_string_equal(e.msg,
			    "claim 'exp' must be a string or an array of strings, got number");
	/* Real numbers that are not finite cannot come from JSON; built by hand
	 * they are still refused. */
	assert_int_equal(jwt_claim_string(NULL, "x", &s, &e), ST_INTERNAL);
	arena_free(&a);
	json_decref(c);
}

/* ---- sign / verify ----------------------------------------------------------------- */

static void roundtrip_all_algs(void **state)
{
	(void)state;
	struct jose_key *rsa = gen(JOSE_ALG_RS256);
	struct buf pem = {0};
	struct err e;

	assert_int_equal(jose_key_private_pem(rsa, &pem, &e), ST_OK);
	assert_non_null(strstr(pem.p, "-----BEGIN PRIVATE KEY-----"));
	for (unsigned i = 0; i < JOSE_ALG_COUNT; i++) {
		enum jose_alg alg = (enum jose_alg)i;
		struct jose_key *k = NULL, *pub;
		struct jws j;
		char tp[JOSE_THUMBPRINT_LEN];

		if (i < JOSE_ALG_ES256) /* one RSA key, loaded per algorithm */
			assert_int_equal(
			    jose_key_from_private_pem((struct sv){pem.p, pem.n}, alg, &k, &e),
			    ST_OK);
		else
			k = gen(alg);
		assert_true(k->has_private);
		assert_int_equal(jose_key_thumbprint(k, tp, &e), ST_OK);
		assert_string_equal(k->kid, tp);
		pub = public_of(k);
		char *t = sign_token(alg, k, NULL, "{\"typ\":\"at+jwt\"}",
				     "{\"iss\":\"grantd\",\"sub\":\"u\",\"exp\":2000000000}");
		if (parse(t, &j, &e) != ST_OK) {
			print_error("%s: %s\n", jose_alg_name(alg), e.msg);
			fail();
		}
		assert_int_equal(j.alg, alg);
		assert_string_equal(j.kid, k->kid);
		assert_string_equal(j.typ, "at+jwt");
		assert_int_equal(jws_verify(&j, pub, &e), ST_OK);
		assert_int_equal(jws_verify(&j, k, &e), ST_OK);
		if (alg == JOSE_ALG_ES256)
			assert_int_equal(j.sig_len, 64);
		if (alg == JOSE_ALG_ES384)
			assert_int_equal(j.sig_len, 96);
		if (alg == JOSE_ALG_ES512)
			assert_int_equal(j.sig_len, 132);
		if (alg == JOSE_ALG_EDDSA)
			assert_int_equal(j.sig_len, 64);
		if (i < JOSE_ALG_ES256)
			assert_int_equal(j.sig_len, 256);
		/* One flipped signature bit. */
		((unsigned char *)j.sig)[j.sig_len / 2] ^= 0x10;
		assert_int_equal(jws_verify(&j, pub, &e), ST_INVALID);
		assert_string_equal(e.msg, "signature verification failed");
		jws_free(&j);
		free(t);
		jose_key_free(pub);
		jose_key_free(k);
	}
	mem_wipe(pem.p, pem.n);
	buf_free(&pem);
	jose_key_free(rsa);
}

/* A key keeps one verification set-up per algorithm (sign.c): with one RSA
 * key (no JWK alg), each algorithm's signature verifies only under its
 * own algorithm, whatever order they come in. */
static void verify_setups_per_alg(void **state)
{
	(void)state;
	static const enum jose_alg algs[] = {JOSE_ALG_RS256, JOSE_ALG_PS256, JOSE_ALG_RS512,
					     JOSE_ALG_PS384};
	enum { N = sizeof algs / sizeof algs[0] };
	struct jose_key *rsa = gen(JOSE_ALG_RS256), *pub = NULL;
	struct buf pem = {0}, sig[N] = {{0}};
	struct sv input = SV("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0");
	json_t *j = NULL;
	struct err e;

	assert_int_equal(jose_key_private_pem(rsa, &pem, &e), ST_OK);
	assert_int_equal(jose_key_public_jwk(rsa, &j, &e), ST_OK);
	json_object_del(j, "alg");
	assert_int_equal(jose_key_from_jwk(j, &pub, &e), ST_OK);
	assert_false(pub->has_alg);
	for (int i = 0; i < N; i++) {
		struct jose_key *k = NULL;
		assert_int_equal(
		    jose_key_from_private_pem((struct sv){pem.p, pem.n}, algs[i], &k, &e), ST_OK);
		assert_int_equal(jose_sign_raw(algs[i], k, input, &sig[i], &e), ST_OK);
		jose_key_free(k);
	}
	for (int round = 0; round < 3; round++)
		for (int v = 0; v < N; v++)
			for (int s = 0; s < N; s++) {
				int a = (v + round) % N;
				status want = a == s ? ST_OK : ST_INVALID;
				assert_int_equal(jose_verify_raw(algs[a], pub, input,
								 (const unsigned char *)sig[s].p,
								 sig[s].n, &e),
						 want);
			}
	for (int i = 0; i < N; i++)
		buf_free(&sig[i]);
	mem_wipe(pem.p, pem.n);
	buf_free(&pem);
	json_decref(j);
	jose_key_free(pub);
	jose_key_free(rsa);
}

/* ES* signatures are turned into DER without OpenSSL's help (sign.c): R
 * and S with a leading zero byte (dropped) and with the top bit set (a zero
 * byte added) must verify like the rest. Signs until each case was seen
 * (R and S share the encoder; a zero first byte in either comes about once
 * in 128 signatures). */
static void ecdsa_der_edges(void **state)
{
	(void)state;
	struct jose_key *k = gen(JOSE_ALG_ES256);
	bool zero[2] = {false, false}, high[2] = {false, false}, low[2] = {false, false};
	struct err e;
	int n = 0;

	for (; n < 5000 && !((zero[0] || zero[1]) && high[0] && high[1] && low[0] && low[1]); n++) {
		char msg[32];
		struct buf sig = {0};
		unsigned char *p;
		snprintf(msg, sizeof msg, "msg.%d", n);
		assert_int_equal(jose_sign_raw(JOSE_ALG_ES256, k, sv_from(msg), &sig, &e), ST_OK);
		assert_int_equal(sig.n, 64);
		p = (unsigned char *)sig.p;
		for (int c = 0; c < 2; c++) {
			unsigned char b = p[32 * c];
			zero[c] |= b == 0;
			high[c] |= b >= 0x80;
			low[c] |= b > 0 && b < 0x80;
		}
		assert_int_equal(jose_verify_raw(JOSE_ALG_ES256, k, sv_from(msg), p, 64, &e),
				 ST_OK);
		p[63] ^= 1;
		assert_int_equal(jose_verify_raw(JOSE_ALG_ES256, k, sv_from(msg), p, 64, &e),
				 ST_INVALID);
		buf_free(&sig);
	}
	assert_true((zero[0] || zero[1]) && high[0] && high[1] && low[0] && low[1]);
	jose_key_free(k);
}

static void verify_cross_checks(void **state)
{
	(void)state;
	struct jose_key *rsa = jwk_key(a2_jwk);
	struct jose_key *p256 = jwk_key(a3_jwk);
	struct jose_key *e1 = gen(JOSE_ALG_ES256), *e2 = gen(JOSE_ALG_ES256);
	struct jose_key *p384 = gen(JOSE_ALG_ES384);
	struct jws j;
	struct err e;

	/* key type vs alg */
	assert_int_equal(parse(a2_token, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, p256, &e), ST_INVALID);
	assert_string_equal(e.msg, "key type EC P-256 does not match alg RS256");
	jws_free(&j);
	assert_int_equal(parse(a3_token, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, rsa, &e), ST_INVALID);
	assert_string_equal(e.msg, "key type RSA does not match alg ES256");
	assert_int_equal(jws_verify(&j, p384, &e), ST_INVALID);
	assert_string_equal(e.msg, "key type EC P-384 does not match alg ES256");
	jws_free(&j);

	/* JWK alg must equal the token alg */
	struct jose_key *ps =
	    jwk_key("{\"kty\":\"RSA\",\"alg\":\"PS256\",\"n\":\"" A2_N "\",\"e\":\"AQAB\"}");
	assert_int_equal(parse(a2_token, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, ps, &e), ST_INVALID);
	assert_string_equal(e.msg, "key is for alg PS256, not RS256");
	jws_free(&j);
	jose_key_free(ps);

	/* signed by another key */
	char *t = sign_token(JOSE_ALG_ES256, e1, "k", NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify(&j, e1, &e), ST_OK);
	assert_int_equal(jws_verify(&j, e2, &e), ST_INVALID);
	assert_string_equal(e.msg, "signature verification failed");
	jws_free(&j);

	/* ES signature of the wrong length: one byte more, one byte less, DER */
	const char *dot = strrchr(t, '.');
	unsigned char sig[200];
	size_t n = 0;
	assert_int_equal(b64url_decode(sv_from(dot + 1), sig, sizeof sig, &n), ST_OK);
	assert_int_equal(n, 64);
	for (int delta = -1; delta <= 1; delta += 2) {
		char enc[300];
		struct buf tb = {0};
		sig[64] = 0;
		b64url_encode(sig, (size_t)(64 + delta), enc);
		assert_int_equal(buf_append(&tb, t, (size_t)(dot - t) + 1), ST_OK);
		assert_int_equal(buf_append_cstr(&tb, enc), ST_OK);
		assert_int_equal(parse(tb.p, &j, &e), ST_OK);
		assert_int_equal(jws_verify(&j, e1, &e), ST_INVALID);
		assert_string_equal(e.msg, delta < 0 ? "ES256 signature must be 64 bytes, got 63"
						     : "ES256 signature must be 64 bytes, got 65");
		jws_free(&j);
		buf_free(&tb);
	}
	free(t);

	/* signing needs a private key that fits */
	struct buf out = {0};
	json_t *p = claims("{\"a\":1}");
	assert_int_equal(jws_sign(&out, JOSE_ALG_ES256, p256, NULL, NULL, p, &e), ST_INVALID);
	assert_string_equal(e.msg, "key has no private part");
	assert_int_equal(jws_sign(&out, JOSE_ALG_RS256, e1, NULL, NULL, p, &e), ST_INVALID);
	assert_string_equal(e.msg, "key type EC P-256 does not match alg RS256");
	assert_int_equal(jws_sign(&out, JOSE_ALG_ES256, e1, NULL, NULL, p, &e), ST_OK);
	json_t *x = claims("{\"alg\":\"none\"}");
	size_t before = out.n;
	assert_int_equal(jws_sign(&out, JOSE_ALG_ES256, e1, NULL, x, p, &e), ST_INTERNAL);
	assert_string_equal(e.msg, "extra header members may not set 'alg'");
	assert_int_equal(out.n, before); /* unchanged on failure */
	json_decref(x);
	json_decref(p);
	buf_free(&out);

	jose_key_free(rsa);
	jose_key_free(p256);
	jose_key_free(e1);
	jose_key_free(e2);
	jose_key_free(p384);
}

/* ---- JWK / JWKS import ----------------------------------------------------------------- */

/* base64url of the big-endian bytes of an RSA parameter of a fresh key. */
static void rsa_jwk_text(int bits, char *out, size_t outsz)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	BIGNUM *n = NULL;
	unsigned char raw[1024];
	char enc[1400];

	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	int len = BN_bn2bin(n, raw);
	b64url_encode(raw, (size_t)len, enc);
	snprintf(out, outsz, "{\"kty\":\"RSA\",\"kid\":\"small\",\"e\":\"AQAB\",\"n\":\"%s\"}",
		 enc);
	BN_free(n);
	EVP_PKEY_free(pk);
}

static void jwk_rejections(void **state)
{
	(void)state;
	struct err e;
	char text[2048];

	rsa_jwk_text(1024, text, sizeof text);
	assert_int_equal(jwk_import_err(text, &e), ST_INVALID);
	assert_string_equal(e.msg, "RSA key of 1024 bits is too small (minimum 2048)");

	/* RFC 7515 A.2's JWK with its private exponent */
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"n\":\"" A2_N
					"\",\"e\":\"AQAB\",\"d\":\"" A2_D "\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "private key material is not accepted");
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
					"\",\"y\":\"" A3_Y
					"\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "private key material is not accepted");
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ\"}", &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "symmetric keys (kty oct) are not accepted");
	assert_int_equal(jwk_import_err("{\"kty\":\"DSA\"}", &e), ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported kty 'DSA'");
	assert_int_equal(jwk_import_err("{\"n\":\"AQAB\"}", &e), ST_INVALID);
	assert_string_equal(e.msg, "member 'kty' is missing");
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" A3_X
					"\",\"y\":\"" A3_Y "\"}",
					&e),
			 ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported crv 'secp256k1' for kty EC");
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" ED_X "\"}", &e),
	    ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported crv 'Ed448' for kty OKP");
	/* EC: exact sizes, point on the curve */
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" A3_X
					"\",\"y\":\"" A3_Y "\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "'x' must be 48 bytes for P-384, got 32");
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
					"\",\"y\":\"x_FEzRu9n36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "the point (x, y) is not on the P-256 curve");
	/* (5, y) is on P-256; written with x + p it must still be refused (the
	 * coordinates must be reduced), while the reduced form imports. */
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-256\","
					"\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAU\","
					"\"y\":\"RZJDuapYGAb-kTvOmYF63hHKUDxk2aPFM0FcCDJI-8w\"}",
					&e),
			 ST_OK);
	assert_int_equal(jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-256\","
					"\"x\":\"_____wAAAAEAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAQ\","
					"\"y\":\"RZJDuapYGAb-kTvOmYF63hHKUDxk2aPFM0FcCDJI-8w\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "the point (x, y) is not on the P-256 curve");
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}", &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "member 'y' is missing");
	assert_int_equal(jwk_import_err("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AQAB\"}", &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "'x' must be 32 bytes for Ed25519, got 3");
	/* Ed25519 points that are no public key: the identity (with which R =
	 * identity, S = 0 verifies for any message), the point of order 2, the
	 * order-4 point with y = 0, and y = p (a non-canonical encoding of 0) */
	{
		static const char *const bad_x[] = {
		    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "7P_______________________________________38",
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "7f_______________________________________38",
		};
		for (size_t i = 0; i < sizeof bad_x / sizeof bad_x[0]; i++) {
			char jwk[160];
			snprintf(jwk, sizeof jwk,
				 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", bad_x[i]);
			assert_int_equal(jwk_import_err(jwk, &e), ST_INVALID);
			assert_string_equal(e.msg, "Ed25519 public key is not a valid point (small "
						   "order, not canonical, or not on the curve)");
		}
	}
	/* the same through the path of certificates and PEM keys */
	{
		unsigned char one[32] = {1};
		EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, one, 32);
		struct jose_key *k = NULL;
		assert_non_null(pk);
		assert_int_equal(pem_import_err(pk, &k, &e), ST_INVALID);
		assert_null(k);
		assert_non_null(strstr(e.msg, "Ed25519 public key is not a valid point"));
		EVP_PKEY_free(pk);
	}
	/* an RSA key with public exponent 1 (every "signature" is the message) */
	{
		unsigned char nb[512];
		size_t nl = 0;
		BIGNUM *n = NULL, *one = BN_new();
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM *params = NULL;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		EVP_PKEY *pk = NULL;
		struct jose_key *k = NULL;
		assert_int_equal(b64url_decode(SV(A2_N), nb, sizeof nb, &nl), ST_OK);
		n = BN_bin2bn(nb, (int)nl, NULL);
		assert_non_null(n);
		assert_non_null(one);
		assert_int_equal(BN_set_word(one, 1), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, one), 1);
		params = OSSL_PARAM_BLD_to_param(bld);
		assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
		assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
		assert_int_equal(pem_import_err(pk, &k, &e), ST_INVALID);
		assert_non_null(strstr(
		    e.msg, "RSA public exponent must be odd, at least 3 and at most 64 bits"));
		EVP_PKEY_free(pk);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
		BN_free(n);
		BN_free(one);
	}
	/* RSA members */
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"n\":\"" A2_N "=\",\"e\":\"AQAB\"}", &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "member 'n' is not valid base64url");
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":65537}", &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "member 'e' must be a string, got number");
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"AQA\"}", &e),
			 ST_INVALID); /* e = 256: even */
	assert_msg(e, "RSA exponent 'e' must be odd");
	/* Leading zero bytes in n ("AAAA" = three of them) are tolerated and do
	 * not count as bits: the same key, the same thumbprint. */
	struct jose_key *k = jwk_key("{\"kty\":\"RSA\",\"n\":\"AAAA" A2_N "\",\"e\":\"AAAAAQAB\"}");
	assert_int_equal(k->bits, 2048);
	struct jose_key *k0 = jwk_key(a2_jwk);
	char t1[JOSE_THUMBPRINT_LEN], t2[JOSE_THUMBPRINT_LEN];
	assert_int_equal(jose_key_thumbprint(k, t1, &e), ST_OK);
	assert_int_equal(jose_key_thumbprint(k0, t2, &e), ST_OK);
	assert_string_equal(t1, t2);
	jose_key_free(k);
	jose_key_free(k0);
	/* alg member */
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"EC\",\"alg\":\"RS256\",\"crv\":\"P-256\",\"x\":\"" A3_X
			   "\",\"y\":\"" A3_Y "\"}",
			   &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "alg RS256 does not match key type EC P-256");
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"EC\",\"alg\":\"ES384\",\"crv\":\"P-256\",\"x\":\"" A3_X
			   "\",\"y\":\"" A3_Y "\"}",
			   &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "alg ES384 does not match key type EC P-256");
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\",\"n\":\"" A2_N
					"\",\"e\":\"AQAB\"}",
					&e),
			 ST_UNSUPPORTED);
	assert_string_equal(e.msg, "unsupported alg 'RSA-OAEP'");
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"alg\":\"HS256\",\"n\":\"" A2_N
					"\",\"e\":\"AQAB\"}",
					&e),
			 ST_INVALID);
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"" A2_N
					"\",\"e\":\"AQAB\"}",
					&e),
			 ST_INVALID);
	assert_string_equal(e.msg, "not a signature key ('use' or 'key_ops')");
	assert_int_equal(jwk_import_err("{\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"],\"n\":\"" A2_N
					"\",\"e\":\"AQAB\"}",
					&e),
			 ST_INVALID);
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"RSA\",\"key_ops\":[\"verify\"],\"use\":\"sig\",\"n\":\"" A2_N
			   "\",\"e\":\"AQAB\"}",
			   &e),
	    ST_OK);
	assert_int_equal(
	    jwk_import_err("{\"kty\":\"RSA\",\"kid\":1,\"n\":\"" A2_N "\",\"e\":\"AQAB\"}", &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "member 'kid' must be a string, got number");
}

static void jwks_documents(void **state)
{
	(void)state;
	struct jose_keyset *ks = NULL;
	struct err e;
	char doc[8192];

	snprintf(
	    doc, sizeof doc,
	    "{\"keys\":[%s,{\"kty\":\"RSA\",\"kid\":\"enc1\",\"use\":\"enc\",\"n\":\"%s\",\"e\":"
	    "\"AQAB\"},"
	    "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},%s]}",
	    rfc7638_jwk, A2_N, A3_X, A3_Y, ed_jwk);
	assert_int_equal(jose_keyset_from_jwks(doc, strlen(doc), 0, &ks, &e), ST_OK);
	assert_int_equal(ks->n, 3);
	assert_int_equal(ks->skipped, 1);
	assert_string_equal(ks->keys[0]->kid, "2011-04-29");
	assert_string_equal(ks->keys[1]->kid, "p256");
	assert_null(ks->keys[2]->kid);
	jose_keyset_free(ks);

	/* Errors name the entry and its kid. */
	snprintf(doc, sizeof doc, "{\"keys\":[%s,{\"kty\":\"XYZ\",\"kid\":\"weird\"}]}", ed_jwk);
	assert_int_equal(jose_keyset_from_jwks(doc, strlen(doc), 0, &ks, &e), ST_UNSUPPORTED);
	assert_null(ks);
	assert_string_equal(e.msg, "entry 1 (kid 'weird'): unsupported kty 'XYZ'");
	assert_int_equal(jose_keyset_from_jwks(doc, strlen(doc), JOSE_JWKS_LENIENT, &ks, &e),
			 ST_OK);
	assert_int_equal(ks->n, 1);
	assert_int_equal(ks->skipped, 1);
	jose_keyset_free(ks);

	snprintf(doc, sizeof doc,
		 "{\"keys\":[%s,{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"d\":\"%s\"}]}",
		 ed_jwk, A2_N, A2_D);
	assert_int_equal(jose_keyset_from_jwks(doc, strlen(doc), JOSE_JWKS_LENIENT, &ks, &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "entry 1: private key material is not accepted");

	char small[2048];
	rsa_jwk_text(1024, small, sizeof small);
	snprintf(doc, sizeof doc, "{\"keys\":[%s]}", small);
	assert_int_equal(jose_keyset_from_jwks(doc, strlen(doc), JOSE_JWKS_LENIENT, &ks, &e),
			 ST_INVALID);
	assert_string_equal(
	    e.msg, "entry 0 (kid 'small'): RSA key of 1024 bits is too small (minimum 2048)");

	static const struct {
		const char *doc;
		status st;
		const char *msg;
	} bad[] = {
	    {"{\"keys\":[]}", ST_INVALID, "JWKS has no usable signing key"},
	    {"{\"keys\":[{\"kty\":\"EC\",\"use\":\"enc\"}]}", ST_INVALID,
	     "JWKS has no usable signing key (1 skipped; first: entry 0: not a signature key"},
	    {"{\"keys\":{}}", ST_INVALID, "JWKS 'keys' must be an array, got object"},
	    {"{\"key\":[]}", ST_INVALID, "JWKS has no 'keys' member"},
	    {"[]", ST_INVALID, "a JWKS must be a JSON object, got array"},
	    {"{\"keys\":[], \"keys\":[]}", ST_INVALID, "JWKS is not valid JSON: duplicate key"},
	    {"{\"keys\":[", ST_INVALID, "JWKS is not valid JSON"},
	    {"{\"keys\":[7]}", ST_INVALID, "entry 0: a JWK must be a JSON object, got number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		assert_int_equal(jose_keyset_from_jwks(bad[i].doc, strlen(bad[i].doc), 0, &ks, &e),
				 bad[i].st);
		assert_null(ks);
		assert_msg(e, bad[i].msg);
	}

	/* More than LIMIT_JWKS_KEYS entries */
	struct buf big = {0};
	assert_int_equal(buf_append_cstr(&big, "{\"keys\":["), ST_OK);
	for (int i = 0; i <= LIMIT_JWKS_KEYS; i++)
		assert_int_equal(buf_printf(&big, "%s%s", i ? "," : "", ed_jwk), ST_OK);
	assert_int_equal(buf_append_cstr(&big, "]}"), ST_OK);
	assert_int_equal(jose_keyset_from_jwks(big.p, big.n, 0, &ks, &e), ST_TOO_LARGE);
	assert_string_equal(e.msg, "JWKS has 65 keys, more than the limit of 64");
	buf_free(&big);
}

/* Key selection against a set (docs/jwt-grant.md, "The checks, in order",
 * step 5). */
static void keyset_selection(void **state)
{
	(void)state;
	struct jose_key *k1 = gen(JOSE_ALG_ES256), *k2 = gen(JOSE_ALG_ES256);
	struct jose_key *r = jwk_key(a2_jwk);
	struct jose_keyset *ks = NULL;
	const struct jose_key *used;
	struct jws j;
	struct err e;

	assert_int_equal(jose_keyset_new(&ks), ST_OK);
	struct jose_key *p1 = public_of(k1), *p2 = public_of(k2);
	assert_int_equal(jose_keyset_add(ks, r), ST_OK);
	assert_int_equal(jose_keyset_add(ks, p1), ST_OK);
	assert_int_equal(jose_keyset_add(ks, p2), ST_OK);
	jose_key_free(p1);
	jose_key_free(p2);

	/* by kid */
	char *t = sign_token(JOSE_ALG_ES256, k2, NULL, NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_OK);
	assert_ptr_equal(used, ks->keys[2]);
	jws_free(&j);
	free(t);

	/* unknown kid: not found (a fetcher may refetch), unless TRY_ALL */
	t = sign_token(JOSE_ALG_ES256, k2, "other", NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "no key with kid 'other'");
	assert_null(used);
	assert_int_equal(jws_verify_keyset(&j, ks, JOSE_SELECT_TRY_ALL, 0, &used, &e), ST_OK);
	assert_ptr_equal(used, ks->keys[2]);
	jws_free(&j);
	free(t);

	/* kid names another key: that key's precise reason */
	t = sign_token(JOSE_ALG_ES256, k1, k2->kid, NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_INVALID);
	assert_msg(e, "signature verification failed");
	assert_msg(e, k2->kid);
	jws_free(&j);
	free(t);

	/* no kid: every fitting key is tried (RSA is not) */
	struct jose_key *k3 = gen(JOSE_ALG_ES256);
	t = sign_token(JOSE_ALG_ES256, k3, "", NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_null(j.kid);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_INVALID);
	assert_string_equal(e.msg,
			    "signature verification failed with each of the 2 candidate keys");
	jws_free(&j);
	free(t);
	char *nokid = sign_token(JOSE_ALG_ES256, k1, "", NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(nokid, &j, &e), ST_OK);
	assert_null(j.kid);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_OK);
	assert_ptr_equal(used, ks->keys[1]);
	jws_free(&j);
	/* No key of the algorithm's type at all */
	struct jose_keyset *only_rsa = NULL;
	assert_int_equal(jose_keyset_new(&only_rsa), ST_OK);
	assert_int_equal(jose_keyset_add(only_rsa, r), ST_OK);
	assert_int_equal(parse(nokid, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, only_rsa, 0, 0, &used, &e), ST_NOT_FOUND);
	assert_string_equal(e.msg, "no key fits alg ES256");
	jws_free(&j);
	jose_keyset_free(only_rsa);
	free(nokid);
	jose_key_free(k3);

	/* the set is reference counted */
	jose_keyset_ref(ks);
	jose_keyset_free(ks);
	assert_int_equal(ks->n, 3);
	jose_keyset_free(ks);
	jose_key_free(k1);
	jose_key_free(k2);
	jose_key_free(r);
}

static void private_pem(void **state)
{
	(void)state;
	struct jose_key *k = gen(JOSE_ALG_EDDSA), *k2 = NULL;
	struct buf pem = {0};
	struct err e;

	assert_int_equal(jose_key_private_pem(k, &pem, &e), ST_OK);
	assert_int_equal(
	    jose_key_from_private_pem((struct sv){pem.p, pem.n}, JOSE_ALG_EDDSA, &k2, &e), ST_OK);
	assert_string_equal(k->kid, k2->kid);
	assert_true(k2->has_private);
	jose_key_free(k2);
	assert_int_equal(
	    jose_key_from_private_pem((struct sv){pem.p, pem.n}, JOSE_ALG_RS256, &k2, &e),
	    ST_INVALID);
	assert_string_equal(e.msg, "key type Ed25519 does not match alg RS256");
	assert_null(k2);
	assert_int_equal(jose_key_from_private_pem(SV("garbage"), JOSE_ALG_EDDSA, &k2, &e),
			 ST_INVALID);
	assert_string_equal(e.msg, "not an unencrypted PEM private key");
	struct jose_key *pub = jwk_key(ed_jwk);
	assert_int_equal(jose_key_private_pem(pub, &pem, &e), ST_INVALID);
	jose_key_free(pub);
	mem_wipe(pem.p, pem.n);
	buf_free(&pem);
	jose_key_free(k);
}

/* ---- certificates ------------------------------------------------------------------------ */

#define NOT_BEFORE 1700000000
#define NOT_AFTER  2000000000 /* 2033-05-18T03:33:20Z */

static X509 *make_cert(EVP_PKEY *pk, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name;
	bool eddsa = EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "ED448");

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
						    (const unsigned char *)"Example", -1, -1, 0),
			 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NOT_BEFORE));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NOT_AFTER));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_true(X509_sign(x, pk, eddsa ? NULL : EVP_sha256()) > 0);
	return x;
}

static char *pem_of_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &p);
	char *s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

static char *b64_of(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)out, p, (int)n),
			 (int)(4 * ((n + 2) / 3)));
	return out;
}

static status pem_import(const char *text, struct jose_key **k, struct err *e)
{
	*k = NULL;
	err_clear(e);
	status st = jose_key_from_pem(sv_from(text), k, e);
	if (st != ST_OK)
		assert_null(*k);
	return st;
}

/* A set of `n` certificate texts (see jose_key_from_pem), as an IdP's
 * uploaded certificates are read; errors say "entry N: ...". A test
 * helper: the server itself reads them in src/oauth/idp_conf.c. */
static status keyset_from_pems(const struct sv *pems, size_t n, struct jose_keyset **out,
			       struct err *e)
{
	struct jose_keyset *ks = NULL;
	status st = ST_OK;

	*out = NULL;
	if (n == 0)
		return err_set(e, ST_INVALID, "no certificate given");
	if (jose_keyset_new(&ks) != ST_OK)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct err sub;
		struct jose_key *key = NULL;
		err_clear(&sub);
		st = jose_key_from_pem(pems[i], &key, &sub);
		if (st != ST_OK) {
			st = err_set(e, st, "entry %zu: %s", i, sub.msg);
			jose_keyset_free(ks);
			return st;
		}
		ks->keys[ks->n++] = key;
	}
	*out = ks;
	return ST_OK;
}

static void cert_import(void **state)
{
	(void)state;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = make_cert(pk, "idp.example");
	char *pem = pem_of_cert(x);
	unsigned char *der = NULL;
	int derlen = i2d_X509(x, &der);
	unsigned char want[SHA256_LEN];
	char want_hex[96], want_b64[44];
	struct jose_key *k = NULL;
	struct err e;

	assert_int_equal(sha256(der, (size_t)derlen, want), ST_OK);
	b64url_encode(want, sizeof want, want_b64);

	assert_int_equal(pem_import(pem, &k, &e), ST_OK);
	assert_true(k->has_cert);
	assert_false(k->has_private);
	assert_int_equal(k->kty, JOSE_KTY_EC_P256);
	assert_null(k->kid);
	assert_string_equal(k->cert.subject, "CN=idp.example,O=Example");
	assert_string_equal(k->cert.issuer, "CN=idp.example,O=Example");
	assert_int_equal(k->cert.not_before, NOT_BEFORE);
	assert_int_equal(k->cert.not_after, NOT_AFTER);
	assert_memory_equal(k->cert.sha256, want, SHA256_LEN);
	assert_string_equal(k->cert.x5t_s256, want_b64);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(want_hex + 3 * i, 4, "%02X%s", want[i], i + 1 < SHA256_LEN ? ":" : "");
	assert_string_equal(k->cert.sha256_hex, want_hex);
	jose_key_free(k);

	/* base64 of the PEM (as WSO2 stores it), with whitespace around */
	char *b = b64_of(pem, strlen(pem));
	char *padded = malloc(strlen(b) + 8);
	snprintf(padded, strlen(b) + 8, " \n%s\r\n ", b);
	assert_int_equal(pem_import(padded, &k, &e), ST_OK);
	assert_memory_equal(k->cert.sha256, want, SHA256_LEN);
	jose_key_free(k);
	free(padded);
	free(b);

	/* base64 of the DER */
	b = b64_of(der, (size_t)derlen);
	assert_int_equal(pem_import(b, &k, &e), ST_OK);
	assert_memory_equal(k->cert.sha256, want, SHA256_LEN);
	jose_key_free(k);
	free(b);

	/* PEM on a single line (as pasted into a JSON string) */
	char *one = strdup(pem);
	char *w = one;
	for (char *r = one; *r; r++) {
		if (*r == '\n')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	assert_int_equal(pem_import(one, &k, &e), ST_OK);
	assert_memory_equal(k->cert.sha256, want, SHA256_LEN);
	jose_key_free(k);
	free(one);

	/* text before the block is ignored (openssl x509 -text output) */
	size_t len = strlen(pem) + 64;
	char *noisy = malloc(len);
	snprintf(noisy, len, "subject=CN = idp.example\n%s", pem);
	assert_int_equal(pem_import(noisy, &k, &e), ST_OK);
	jose_key_free(k);
	free(noisy);

	/* two certificates in one entry */
	len = 2 * strlen(pem) + 1;
	char *two = malloc(len);
	snprintf(two, len, "%s%s", pem, pem);
	assert_int_equal(pem_import(two, &k, &e), ST_INVALID);
	assert_msg(e, "contains 2 certificates or keys");
	free(two);

	/* a bare public key is accepted, without certificate data */
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	long n = BIO_get_mem_data(bio, &p);
	char *pub = strndup(p, (size_t)n);
	BIO_free(bio);
	assert_int_equal(pem_import(pub, &k, &e), ST_OK);
	assert_false(k->has_cert);
	assert_int_equal(k->kty, JOSE_KTY_EC_P256);
	jose_key_free(k);
	free(pub);

	/* private keys: PKCS#8, traditional, and base64 of them */
	static const int traditional[] = {0, 1};
	for (size_t i = 0; i < 2; i++) {
		bio = BIO_new(BIO_s_mem());
		if (traditional[i])
			assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL,
									      0, NULL, NULL),
					 1);
		else
			assert_int_equal(
			    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
		n = BIO_get_mem_data(bio, &p);
		char *priv = strndup(p, (size_t)n);
		BIO_free(bio);
		assert_int_equal(pem_import(priv, &k, &e), ST_INVALID);
		assert_string_equal(
		    e.msg, "a private key, not a certificate: upload the certificate only");
		b = b64_of(priv, strlen(priv));
		assert_int_equal(pem_import(b, &k, &e), ST_INVALID);
		assert_msg(e, "a private key, not a certificate");
		free(b);
		/* certificate and key pasted together: still refused */
		len = strlen(pem) + strlen(priv) + 1;
		char *both = malloc(len);
		snprintf(both, len, "%s%s", pem, priv);
		assert_int_equal(pem_import(both, &k, &e), ST_INVALID);
		assert_msg(e, "a private key");
		free(both);
		free(priv);
	}
	/* base64 of a DER private key */
	unsigned char *pder = NULL;
	int plen = i2d_PrivateKey(pk, &pder);
	assert_true(plen > 0);
	b = b64_of(pder, (size_t)plen);
	assert_int_equal(pem_import(b, &k, &e), ST_INVALID);
	assert_msg(e, "a private key, not a certificate");
	free(b);
	OPENSSL_clear_free(pder, (size_t)plen);

	/* garbage */
	static const char *garbage[] = {
	    "hello world",
	    "",
	    "   \n ",
	    "SGVsbG8gd29ybGQ=",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
	    "-----BEGIN CERTIFICATE-----\nMIIB",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERT-----",
	    "-----BEGIN FOO-----\nAAAA\n-----END FOO-----",
	    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
	};
	static const char *why[] = {
	    "not a PEM certificate",
	    "the certificate is empty",
	    "the certificate is empty",
	    "not a PEM certificate",
	    "the PEM certificate is not valid DER",
	    "not a PEM certificate (malformed PEM)",
	    "not a PEM certificate (malformed PEM)",
	    "unexpected PEM block 'FOO', not a certificate",
	    "a certificate signing request, not a certificate",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
		assert_int_equal(pem_import(garbage[i], &k, &e), ST_INVALID);
		assert_msg(e, why[i]);
	}

	/* a set names the entry */
	struct sv list[] = {sv_from(pem), SV("nonsense")};
	struct jose_keyset *ks = NULL;
	assert_int_equal(keyset_from_pems(list, 2, &ks, &e), ST_INVALID);
	assert_null(ks);
	assert_string_equal(e.msg, "entry 1: not a PEM certificate");
	assert_int_equal(keyset_from_pems(list, 1, &ks, &e), ST_OK);
	assert_int_equal(ks->n, 1);
	jose_keyset_free(ks);
	assert_int_equal(keyset_from_pems(list, 0, &ks, &e), ST_INVALID);

	OPENSSL_free(der);
	free(pem);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void cert_key_types(void **state)
{
	(void)state;
	static const struct {
		const char *type;
		const char *param;
		size_t bits;
		status st;
		const char *msg;
	} cases[] = {
	    {"RSA", NULL, 1024, ST_INVALID, "RSA key of 1024 bits is too small (minimum 2048)"},
	    {"RSA", NULL, 2048, ST_OK, NULL},
	    {"EC", "secp256k1", 0, ST_UNSUPPORTED, "unsupported key type: EC curve secp256k1"},
	    {"EC", "P-384", 0, ST_OK, NULL},
	    {"EC", "P-521", 0, ST_OK, NULL},
	    {"ED25519", NULL, 0, ST_OK, NULL},
	    {"ED448", NULL, 0, ST_UNSUPPORTED, "unsupported key type ED448"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		EVP_PKEY *pk =
		    cases[i].bits    ? EVP_PKEY_Q_keygen(NULL, NULL, cases[i].type, cases[i].bits)
		    : cases[i].param ? EVP_PKEY_Q_keygen(NULL, NULL, cases[i].type, cases[i].param)
				     : EVP_PKEY_Q_keygen(NULL, NULL, cases[i].type);
		assert_non_null(pk);
		X509 *x = make_cert(pk, "k");
		char *pem = pem_of_cert(x);
		struct jose_key *k = NULL;
		struct err e;
		struct sv one = sv_from(pem);
		struct jose_keyset *ks = NULL;

		assert_int_equal(pem_import(pem, &k, &e), cases[i].st);
		if (cases[i].msg) {
			assert_string_equal(e.msg, cases[i].msg);
			assert_int_equal(keyset_from_pems(&one, 1, &ks, &e), cases[i].st);
			assert_msg(e, "entry 0: ");
		}
		jose_key_free(k);
		free(pem);
		X509_free(x);
		EVP_PKEY_free(pk);
	}
}

/* A token from an IdP with an uploaded certificate, selected by x5t#S256. */
static void cert_verify(void **state)
{
	(void)state;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = make_cert(pk, "idp.example"), *xo = make_cert(other, "other.example");
	char *pem = pem_of_cert(x), *pemo = pem_of_cert(xo);
	struct sv certs[] = {sv_from(pemo), sv_from(pem)};
	struct jose_keyset *ks = NULL;
	const struct jose_key *used = NULL;
	struct jose_key *signer = NULL;
	struct jws j;
	struct err e;
	char extra[128];

	assert_int_equal(keyset_from_pems(certs, 2, &ks, &e), ST_OK);
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	long n = BIO_get_mem_data(bio, &p);
	assert_int_equal(
	    jose_key_from_private_pem((struct sv){p, (size_t)n}, JOSE_ALG_ES256, &signer, &e),
	    ST_OK);
	BIO_free(bio);

	/* x5t#S256 picks the certificate */
	snprintf(extra, sizeof extra, "{\"x5t#S256\":\"%s\"}", ks->keys[1]->cert.x5t_s256);
	char *t = sign_token(JOSE_ALG_ES256, signer, "wso2-kid", extra, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_true(j.has_x5t_s256);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, NOT_BEFORE + 10, &used, &e), ST_OK);
	assert_ptr_equal(used, ks->keys[1]);
	assert_int_equal(
	    jws_verify_keyset(&j, ks, JOSE_VERIFY_CERT_TIME, NOT_BEFORE + 10, &used, &e), ST_OK);
	/* expired, not yet valid */
	assert_int_equal(jws_verify_keyset(&j, ks, JOSE_VERIFY_CERT_TIME, NOT_AFTER + 1, &used, &e),
			 ST_INVALID);
	assert_string_equal(
	    e.msg, "certificate 'CN=idp.example,O=Example' expired at 2033-05-18T03:33:20Z");
	assert_int_equal(
	    jws_verify_keyset(&j, ks, JOSE_VERIFY_CERT_TIME, NOT_BEFORE - 1, &used, &e),
	    ST_INVALID);
	assert_msg(e, "is not valid before 2023-11-14T22:13:20Z");
	jws_free(&j);
	free(t);

	/* kid unknown to certificates: not found, unless every certificate is tried */
	t = sign_token(JOSE_ALG_ES256, signer, "wso2-kid", NULL, "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_NOT_FOUND);
	assert_int_equal(jws_verify_keyset(&j, ks, JOSE_SELECT_TRY_ALL, 0, &used, &e), ST_OK);
	assert_ptr_equal(used, ks->keys[1]);
	jws_free(&j);
	free(t);

	/* x5t#S256 of a certificate we do not hold */
	t = sign_token(JOSE_ALG_ES256, signer, "k",
		       "{\"x5t#S256\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}",
		       "{\"sub\":\"x\"}");
	assert_int_equal(parse(t, &j, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&j, ks, 0, 0, &used, &e), ST_NOT_FOUND);
	jws_free(&j);
	free(t);

	jose_key_free(signer);
	jose_keyset_free(ks);
	free(pem);
	free(pemo);
	X509_free(x);
	X509_free(xo);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
}

/* ---- threads ------------------------------------------------------------------------------ */

struct thread_arg {
	const struct jose_key *key;
	const char *token;
	int ok;
};

static void *verify_loop(void *p)
{
	struct thread_arg *ta = p;
	struct arena a;
	arena_init(&a, 0);
	for (int i = 0; i < 50; i++) {
		struct jws j;
		struct err e;
		if (jws_parse(&a, sv_from(ta->token), LIMIT_JWS_DEFAULT, &j, &e) == ST_OK &&
		    jws_verify(&j, ta->key, &e) == ST_OK)
			ta->ok++;
		jws_free(&j);
	}
	arena_free(&a);
	return NULL;
}

static void shared_key_threads(void **state)
{
	(void)state;
	struct jose_key *rsa = jwk_key(a2_jwk), *ec = jwk_key(a3_jwk);
	struct jose_key *ed = gen(JOSE_ALG_EDDSA);
	char *edt = sign_token(JOSE_ALG_EDDSA, ed, NULL, NULL, "{\"sub\":\"t\"}");
	struct thread_arg args[6] = {
	    {rsa, a2_token, 0}, {ec, a3_token, 0}, {ed, edt, 0},
	    {rsa, a2_token, 0}, {ec, a3_token, 0}, {ed, edt, 0},
	};
	pthread_t th[6];

	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &args[i]), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].ok, 50);
	}
	free(edt);
	jose_key_free(rsa);
	jose_key_free(ec);
	jose_key_free(ed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(alg_names),           cmocka_unit_test(alg_sets),
	    cmocka_unit_test(rfc7515_a2_rs256),    cmocka_unit_test(rfc7515_a3_es256),
	    cmocka_unit_test(rfc7515_a4_es512),    cmocka_unit_test(rfc8037_a4_ed25519),
	    cmocka_unit_test(rfc7638_thumbprints), cmocka_unit_test(interop_vectors),
	    cmocka_unit_test(parse_shape),         cmocka_unit_test(parse_base64),
	    cmocka_unit_test(parse_json),          cmocka_unit_test(parse_header),
	    cmocka_unit_test(claim_helpers),       cmocka_unit_test(roundtrip_all_algs),
	    cmocka_unit_test(verify_cross_checks), cmocka_unit_test(jwk_rejections),
	    cmocka_unit_test(jwks_documents),      cmocka_unit_test(keyset_selection),
	    cmocka_unit_test(private_pem),         cmocka_unit_test(cert_import),
	    cmocka_unit_test(cert_key_types),      cmocka_unit_test(cert_verify),
	    cmocka_unit_test(shared_key_threads),  cmocka_unit_test(verify_setups_per_alg),
	    cmocka_unit_test(ecdsa_der_edges),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
