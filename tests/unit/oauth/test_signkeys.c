/* Unit tests of src/oauth/signkeys.c: the private-key wrapping, the JWKS
 * document, first-use creation, rotation, a changed algorithm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "jose/jws.h"
#include "lib/log.h"
#include "oauth/signkeys.h"
#include "store/store.h"

struct sfx {
	char dir[64];
	struct config *cfg;
	struct store *s;
	struct signkeys *sk;
	struct arena a;
	unsigned char secret[32];
	char t1[UUID_STR_LEN + 1], t2[UUID_STR_LEN + 1];
};

static void open_with(struct sfx *f, const char *alg)
{
	char text[512];
	char *const noenv[] = {NULL};
	struct err e = {0};

	config_free(f->cfg);
	snprintf(text, sizeof text,
		 "[server]\ndata_dir = \"%s\"\n[database]\npath = \"%s/t.db\"\n"
		 "[oauth.access_token]\njwt_signing_algorithm = \"%s\"\n",
		 f->dir, f->dir, alg);
	if (config_load_buffer("test.toml", text, strlen(text), noenv, &f->cfg, &e) != ST_OK)
		fail_msg("config: %s", e.msg);
	if (f->s == NULL && store_open(f->cfg, &f->s, &e) != ST_OK)
		fail_msg("store: %s", e.msg);
	signkeys_free(f->sk);
	f->sk = NULL;
	if (signkeys_new(f->cfg, f->s, f->secret, sizeof f->secret, &f->sk, &e) != ST_OK)
		fail_msg("signkeys: %s", e.msg);
}

static void tenant(struct sfx *f, const char *domain, char id[UUID_STR_LEN + 1])
{
	struct store_tenant t = {.id = id, .domain = (char *)domain, .active = true};
	struct err e = {0};

	assert_int_equal(uuid_v4(id), ST_OK);
	assert_int_equal(f->s->ops->tenant_create(f->s, &t, NULL, NULL, &e), ST_OK);
}

static int setup(void **state)
{
	struct sfx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/grantd-signkeys-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	memset(f->secret, 7, sizeof f->secret);
	arena_init(&f->a, 0);
	open_with(f, "RS256");
	tenant(f, "one.example", f->t1);
	tenant(f, "two.example", f->t2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct sfx *f = *state;
	char p[128];

	signkeys_free(f->sk);
	store_close(f->s);
	config_free(f->cfg);
	arena_free(&f->a);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/t.db%s", f->dir, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void wrap_round_trip_and_tampering(void **state)
{
	unsigned char wrap[AEAD_KEY_LEN];
	struct buf sealed = {0}, pem = {0};
	const char text[] = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

	(void)state;
	memset(wrap, 1, sizeof wrap);
	assert_int_equal(signkeys_seal(wrap, "tenant-a", "kid-a", SV(text), &sealed), ST_OK);
	assert_null(memmem(sealed.p, sealed.n, "PRIVATE", 7));
	assert_int_equal(
	    signkeys_open(wrap, "tenant-a", "kid-a", (unsigned char *)sealed.p, sealed.n, &pem),
	    ST_OK);
	assert_string_equal(pem.p, text);
	buf_reset(&pem);
	/* bound to its tenant and kid */
	assert_int_equal(
	    signkeys_open(wrap, "tenant-b", "kid-a", (unsigned char *)sealed.p, sealed.n, &pem),
	    ST_INVALID);
	assert_int_equal(
	    signkeys_open(wrap, "tenant-a", "kid-b", (unsigned char *)sealed.p, sealed.n, &pem),
	    ST_INVALID);
	/* every byte counts, the version byte too */
	for (size_t i = 0; i < sealed.n; i++) {
		sealed.p[i] ^= 0x01;
		assert_int_equal(signkeys_open(wrap, "tenant-a", "kid-a", (unsigned char *)sealed.p,
					       sealed.n, &pem),
				 ST_INVALID);
		sealed.p[i] ^= 0x01;
	}
	/* another wrapping key (another server secret) */
	wrap[5] ^= 0x80;
	assert_int_equal(
	    signkeys_open(wrap, "tenant-a", "kid-a", (unsigned char *)sealed.p, sealed.n, &pem),
	    ST_INVALID);
	assert_int_equal(pem.n, 0);
	buf_free(&sealed);
	buf_free(&pem);
}

/* The JWKS as a key set, plus a check that no entry has a private member. */
static struct jose_keyset *jwks_of(struct sfx *f, const char *tenant_id, size_t *n)
{
	static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	const char *json;
	size_t len, i;
	json_t *doc, *k;
	struct jose_keyset *ks;
	struct err e = {0};

	assert_int_equal(signkeys_jwks(f->sk, &f->a, tenant_id, &json, &len, &e), ST_OK);
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "keys"), i, k)
	{
		for (size_t j = 0; j < sizeof priv / sizeof priv[0]; j++)
			assert_null(json_object_get(k, priv[j]));
		assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
		assert_non_null(json_object_get(k, "kid"));
		assert_non_null(json_object_get(k, "alg"));
	}
	*n = json_array_size(json_object_get(doc, "keys"));
	json_decref(doc);
	/* jose refuses private members itself: this parse is a second check */
	assert_int_equal(jose_keyset_from_jwks(json, len, 0, &ks, &e), ST_OK);
	return ks;
}

static void sign_and_verify(struct jose_key *key, const struct jose_keyset *ks)
{
	struct buf out = {0};
	json_t *claims = json_pack("{s:s}", "sub", "x");
	struct arena a;
	struct jws jws;
	struct err e = {0};

	arena_init(&a, 0);
	assert_int_equal(jws_sign(&out, key->alg, key, NULL, NULL, claims, &e), ST_OK);
	assert_int_equal(jws_parse(&a, (struct sv){out.p, out.n}, 65536, &jws, &e), ST_OK);
	assert_int_equal(jws_verify_keyset(&jws, ks, 0, 0, NULL, &e), ST_OK);
	jws_free(&jws);
	arena_free(&a);
	buf_free(&out);
	json_decref(claims);
}

static void first_use_creates_one_key_per_tenant(void **state)
{
	struct sfx *f = *state;
	struct jose_key *k1, *k1b, *k2;
	struct jose_keyset *ks;
	struct err e = {0};
	size_t n;

	assert_int_equal(signkeys_current(f->sk, f->t1, &k1, &e), ST_OK);
	assert_true(k1->has_private);
	assert_int_equal(k1->alg, JOSE_ALG_RS256);
	assert_int_equal(k1->kty, JOSE_KTY_RSA);
	assert_int_equal(k1->bits, 2048);
	/* cached: the same object */
	assert_int_equal(signkeys_current(f->sk, f->t1, &k1b, &e), ST_OK);
	assert_ptr_equal(k1, k1b);
	jose_key_free(k1b);
	assert_int_equal(signkeys_current(f->sk, f->t2, &k2, &e), ST_OK);
	assert_string_not_equal(k1->kid, k2->kid);
	ks = jwks_of(f, f->t1, &n);
	assert_int_equal(n, 1);
	assert_string_equal(ks->keys[0]->kid, k1->kid);
	sign_and_verify(k1, ks);
	jose_keyset_free(ks);
	/* a second server (same database and secret) reads the same key */
	open_with(f, "RS256");
	assert_int_equal(signkeys_current(f->sk, f->t1, &k1b, &e), ST_OK);
	assert_string_equal(k1b->kid, k1->kid);
	jose_key_free(k1b);
	/* with another server secret the stored key does not open */
	memset(f->secret, 8, sizeof f->secret);
	open_with(f, "RS256");
	assert_int_equal(signkeys_current(f->sk, f->t1, &k1b, &e), ST_INTERNAL);
	assert_non_null(strstr(e.msg, "does not decrypt"));
	jose_key_free(k1);
	jose_key_free(k2);
}

static void rotation_keeps_the_old_key_published(void **state)
{
	struct sfx *f = *state;
	struct jose_key *old, *cur;
	struct jose_keyset *ks;
	char kid[JOSE_THUMBPRINT_LEN];
	struct err e = {0};
	size_t n;

	assert_int_equal(signkeys_current(f->sk, f->t1, &old, &e), ST_OK);
	assert_int_equal(signkeys_rotate(f->sk, f->t1, kid, &e), ST_OK);
	assert_string_not_equal(kid, old->kid);
	assert_int_equal(signkeys_current(f->sk, f->t1, &cur, &e), ST_OK);
	assert_string_equal(cur->kid, kid);
	ks = jwks_of(f, f->t1, &n);
	assert_int_equal(n, 2);
	assert_string_equal(ks->keys[0]->kid, kid); /* the active key first */
	assert_string_equal(ks->keys[1]->kid, old->kid);
	sign_and_verify(old, ks);
	sign_and_verify(cur, ks);
	jose_keyset_free(ks);
	/* the other tenant is untouched */
	ks = jwks_of(f, f->t2, &n);
	assert_int_equal(n, 1);
	assert_string_not_equal(ks->keys[0]->kid, kid);
	assert_string_not_equal(ks->keys[0]->kid, old->kid);
	jose_keyset_free(ks);
	/* published for the longest lifetime (1h default) plus the skew */
	{
		struct store_signing_key *rows;
		assert_int_equal(f->s->ops->signing_keys_list(f->s, &f->a, f->t1, 0, &rows, &n, &e),
				 ST_OK);
		assert_int_equal(n, 2);
		assert_int_equal(rows[1].status, STORE_KEY_RETIRED);
		assert_true(rows[1].publish_until - rows[1].not_after_signing == 3600 + 60);
	}
	jose_key_free(old);
	jose_key_free(cur);
}

static void other_algorithms(void **state)
{
	struct sfx *f = *state;
	struct jose_key *rsa, *ec, *ed;
	struct jose_keyset *ks;
	struct err e = {0};
	size_t n;

	assert_int_equal(signkeys_current(f->sk, f->t1, &rsa, &e), ST_OK);
	open_with(f, "ES256");
	assert_int_equal(signkeys_current(f->sk, f->t1, &ec, &e), ST_OK);
	assert_int_equal(ec->kty, JOSE_KTY_EC_P256);
	assert_int_equal(ec->alg, JOSE_ALG_ES256);
	open_with(f, "EdDSA");
	assert_int_equal(signkeys_current(f->sk, f->t1, &ed, &e), ST_OK);
	assert_int_equal(ed->kty, JOSE_KTY_ED25519);
	/* each change of algorithm rotated: all three still published */
	ks = jwks_of(f, f->t1, &n);
	assert_int_equal(n, 3);
	sign_and_verify(rsa, ks);
	sign_and_verify(ec, ks);
	sign_and_verify(ed, ks);
	jose_keyset_free(ks);
	jose_key_free(rsa);
	jose_key_free(ec);
	jose_key_free(ed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wrap_round_trip_and_tampering),
	    cmocka_unit_test_setup_teardown(first_use_creates_one_key_per_tenant, setup, teardown),
	    cmocka_unit_test_setup_teardown(rotation_keeps_the_old_key_published, setup, teardown),
	    cmocka_unit_test_setup_teardown(other_algorithms, setup, teardown),
	};
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
