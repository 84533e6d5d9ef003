#include "lib/crypto.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lib/b64.h"

/* ------------------------------------------------------- fetched once */

static const char *const md_names[CRYPTO_MD_COUNT] = {"SHA256", "SHA384", "SHA512"};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static status init_status = ST_INTERNAL;
static EVP_MD *mds[CRYPTO_MD_COUNT];
static EVP_MAC *hmac;
static pthread_key_t hmac_cache_key; /* a thread's struct hmac_cache */

static void hmac_cache_free(void *p);

static void init_run(void)
{
	for (int i = 0; i < CRYPTO_MD_COUNT; i++)
		if ((mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) == NULL)
			return;
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return;
	if (pthread_key_create(&hmac_cache_key, hmac_cache_free) != 0)
		return;
	init_status = ST_OK;
}

status crypto_init(void)
{
	if (pthread_once(&init_once, init_run) != 0)
		return ST_INTERNAL;
	return init_status;
}

const EVP_MD *crypto_md(enum crypto_md md)
{
	if (crypto_init() != ST_OK || (unsigned)md >= CRYPTO_MD_COUNT)
		return NULL;
	return mds[md];
}

status rand_bytes(void *p, size_t n)
{
	while (n > 0) {
		int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		if (RAND_bytes(p, chunk) != 1)
			return ST_INTERNAL;
		p = (unsigned char *)p + chunk;
		n -= (size_t)chunk;
	}
	return ST_OK;
}

status rand_token(size_t nbytes, char *out, size_t outsz)
{
	unsigned char raw[128];
	if (nbytes > sizeof raw || outsz < b64url_encoded_len(nbytes) + 1)
		return ST_INTERNAL;
	if (rand_bytes(raw, nbytes) != ST_OK)
		return ST_INTERNAL;
	b64url_encode(raw, nbytes, out);
	mem_wipe(raw, sizeof raw);
	return ST_OK;
}

status rand_string(const char *alphabet, size_t len, char *out, size_t outsz)
{
	size_t k = strlen(alphabet);
	unsigned limit;
	size_t o = 0;

	if (k == 0 || k > 256 || outsz < len + 1)
		return ST_INTERNAL;
	limit = 256 - (256 % k); /* reject bytes >= limit: no modulo bias */
	while (o < len) {
		unsigned char r[64];
		if (rand_bytes(r, sizeof r) != ST_OK)
			return ST_INTERNAL;
		for (size_t i = 0; i < sizeof r && o < len; i++)
			if (r[i] < limit)
				out[o++] = alphabet[r[i] % k];
	}
	out[o] = '\0';
	return ST_OK;
}

/* The 16 bytes as 8-4-4-4-12 lower-case hex, after setting the version
 * nibble and the RFC 9562 variant bits. */
static void uuid_format(unsigned char b[16], unsigned version, char out[UUID_STR_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

status uuid_v4(char out[UUID_STR_LEN + 1])
{
	unsigned char r[16];

	if (rand_bytes(r, sizeof r) != ST_OK)
		return ST_INTERNAL;
	uuid_format(r, 4, out);
	return ST_OK;
}

static status uuid_v7_at(uint64_t ms, char out[UUID_STR_LEN + 1])
{
	unsigned char b[16];

	if (rand_bytes(b, sizeof b) != ST_OK)
		return ST_INTERNAL;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	uuid_format(b, 7, out);
	return ST_OK;
}

uint64_t clock_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

status uuid_v7(char out[UUID_STR_LEN + 1])
{
	return uuid_v7_at(clock_unix_ms(), out);
}

status uuid_v7_in(int64_t secs, char out[UUID_STR_LEN + 1])
{
	uint64_t ms = clock_unix_ms();

	if (secs < 0)
		return ST_INTERNAL;
	if (ms / 1000 != (uint64_t)secs)
		ms = (uint64_t)secs * 1000 + 999;
	return uuid_v7_at(ms, out);
}

bool uuid_v7_unix_ms(struct sv s, uint64_t *ms)
{
	uint64_t v = 0;

	if (!uuid_valid(s) || s.p[14] != '7')
		return false;
	/* 48 bits of milliseconds: the first 8 + 4 hex digits, "-" between */
	for (int i = 0; i < 13; i++) {
		char c = s.p[i];
		if (c != '-')
			v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	*ms = v;
	return true;
}

bool uuid_valid(struct sv s)
{
	if (s.n != UUID_STR_LEN)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

status sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
	const EVP_MD *md = crypto_md(CRYPTO_SHA256);
	unsigned int len = 0;

	if (md == NULL || EVP_Digest(p, n, out, &len, md, NULL) != 1 || len != SHA256_LEN)
		return ST_INTERNAL;
	return ST_OK;
}

/* ------------------------------------------------------------- HMAC */

struct hmac_slot {
	EVP_MAC_CTX *ctx; /* keyed with `key`; NULL when the slot is free */
	size_t keylen;
	uint64_t used; /* the cache's clock at the last use: the oldest goes first */
	unsigned char key[HMAC_CACHE_KEY_MAX];
};

struct hmac_cache {
	struct hmac_slot slot[HMAC_CACHE_KEYS];
	uint64_t clock;
};

static void slot_clear(struct hmac_slot *s)
{
	EVP_MAC_CTX_free(s->ctx); /* OpenSSL cleanses the keyed state */
	mem_wipe(s, sizeof *s);
}

static void hmac_cache_free(void *p)
{
	struct hmac_cache *c = p;

	for (int i = 0; i < HMAC_CACHE_KEYS; i++)
		slot_clear(&c->slot[i]);
	free(c);
}

/* This thread's cache, made on its first HMAC; NULL when out of memory. */
static struct hmac_cache *hmac_cache(void)
{
	struct hmac_cache *c = pthread_getspecific(hmac_cache_key);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if (pthread_setspecific(hmac_cache_key, c) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* The slot keyed with `key`, else the free or least recently used slot
 * keyed anew. Every slot is compared, in constant time, so the time taken
 * does not depend on which cached key matched. */
static struct hmac_slot *slot_for(struct hmac_cache *c, const unsigned char *key, size_t keylen)
{
	static const char digest[] = "SHA256";
	struct hmac_slot *hit = NULL, *victim = &c->slot[0];
	OSSL_PARAM params[2];

	for (int i = 0; i < HMAC_CACHE_KEYS; i++) {
		struct hmac_slot *s = &c->slot[i];
		bool same = s->ctx != NULL && s->keylen == keylen &&
			    CRYPTO_memcmp(s->key, key, keylen) == 0;
		if (same)
			hit = s;
		if (victim->ctx != NULL && (s->ctx == NULL || s->used < victim->used))
			victim = s;
	}
	if (hit != NULL) {
		/* A NULL key resets the context to its key (OpenSSL >= 3.0.3). */
		if (EVP_MAC_init(hit->ctx, NULL, 0, NULL) == 1)
			return hit;
		slot_clear(hit);
		return NULL;
	}
	if (victim->ctx == NULL && (victim->ctx = EVP_MAC_CTX_new(hmac)) == NULL)
		return NULL;
	/* The key pointer is never NULL here: EVP_MAC_init() would read NULL as
	 * "keep the previous key" (see hmac_sha256). */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(victim->ctx, key, keylen, params) != 1) {
		slot_clear(victim);
		return NULL;
	}
	memcpy(victim->key, key, keylen);
	victim->keylen = keylen;
	return victim;
}

/* Uncached: a context keyed for this call only. */
static status hmac_once(const unsigned char *key, size_t keylen, const void *p, size_t n,
			unsigned char out[SHA256_LEN])
{
	size_t len = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, p, n, out, SHA256_LEN,
		      &len) == NULL ||
	    len != SHA256_LEN)
		return ST_INTERNAL;
	return ST_OK;
}

status hmac_sha256(const unsigned char *key, size_t keylen, const void *p, size_t n,
		   unsigned char out[SHA256_LEN])
{
	static const unsigned char empty[1];
	struct hmac_cache *c;
	struct hmac_slot *s;
	size_t len = 0;

	if (key == NULL) {
		if (keylen != 0)
			return ST_INTERNAL;
		key = empty; /* the empty key, never "the previous one" */
	}
	if (crypto_init() != ST_OK)
		return ST_INTERNAL;
	if (keylen > HMAC_CACHE_KEY_MAX || (c = hmac_cache()) == NULL)
		return hmac_once(key, keylen, p, n, out);
	if ((s = slot_for(c, key, keylen)) == NULL)
		return ST_INTERNAL;
	s->used = ++c->clock;
	if (EVP_MAC_update(s->ctx, p, n) != 1 ||
	    EVP_MAC_final(s->ctx, out, &len, SHA256_LEN) != 1 || len != SHA256_LEN) {
		slot_clear(s); /* never reuse a context in an unknown state */
		return ST_INTERNAL;
	}
	return ST_OK;
}

void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

bool ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

status hkdf_sha256(const unsigned char *ikm, size_t ikmlen, const void *salt, size_t saltlen,
		   const void *info, size_t infolen, unsigned char *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	status st = ST_INTERNAL;

	if (kctx == NULL)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	if (saltlen > 0)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		st = ST_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return st;
}

/* One AES-256-GCM pass over `in` into `out` (same length). Encrypting
 * writes the tag into `tag`; decrypting checks it. */
static bool gcm(bool enc, const unsigned char key[AEAD_KEY_LEN],
		const unsigned char nonce[AEAD_NONCE_LEN], const void *aad, size_t aadlen,
		const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
	int len = 0;
	bool ok = false;

	if (cipher == NULL || ctx == NULL || n > INT32_MAX || aadlen > INT32_MAX)
		goto out;
	if (EVP_CipherInit_ex2(ctx, cipher, key, nonce, enc ? 1 : 0, NULL) != 1)
		goto out;
	if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto out;
	if (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
							      AEAD_TAG_LEN);
		if (EVP_CIPHER_CTX_set_params(ctx, params) != 1)
			goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
		goto out;
	if (enc) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
							      AEAD_TAG_LEN);
		if (EVP_CIPHER_CTX_get_params(ctx, params) != 1)
			goto out;
	}
	ok = true;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	return ok;
}

status aead_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
		 const void *p, size_t n, struct buf *out)
{
	size_t start = out->n;
	unsigned char *o;
	status st;

	if (n > SIZE_MAX - AEAD_NONCE_LEN - AEAD_TAG_LEN)
		return ST_TOO_LARGE;
	if ((st = buf_reserve(out, AEAD_NONCE_LEN + n + AEAD_TAG_LEN)) != ST_OK)
		return st;
	o = (unsigned char *)out->p + start;
	if (rand_bytes(o, AEAD_NONCE_LEN) != ST_OK ||
	    !gcm(true, key, o, aad, aadlen, p, n, o + AEAD_NONCE_LEN, o + AEAD_NONCE_LEN + n)) {
		mem_wipe(o, AEAD_NONCE_LEN + n + AEAD_TAG_LEN);
		return ST_INTERNAL;
	}
	out->n = start + AEAD_NONCE_LEN + n + AEAD_TAG_LEN;
	out->p[out->n] = '\0';
	return ST_OK;
}

status aead_open(const unsigned char key[AEAD_KEY_LEN], const void *aad, size_t aadlen,
		 const void *p, size_t n, struct buf *out)
{
	const unsigned char *in = p;
	unsigned char tag[AEAD_TAG_LEN];
	size_t start = out->n, m;
	status st;

	if (n < AEAD_NONCE_LEN + AEAD_TAG_LEN)
		return ST_INVALID;
	m = n - AEAD_NONCE_LEN - AEAD_TAG_LEN;
	if ((st = buf_reserve(out, m)) != ST_OK)
		return st;
	memcpy(tag, in + AEAD_NONCE_LEN + m, AEAD_TAG_LEN);
	if (!gcm(false, key, in, aad, aadlen, in + AEAD_NONCE_LEN, m,
		 (unsigned char *)out->p + start, tag)) {
		mem_wipe(out->p + start, m);
		out->p[start] = '\0';
		return ST_INVALID;
	}
	out->n = start + m;
	out->p[out->n] = '\0';
	return ST_OK;
}

uint64_t hash64_keyed(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = seed ^ 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}
