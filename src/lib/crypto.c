#include "lib/crypto.h"

#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lib/b64.h"

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

status uuid_v7(char out[UUID_STR_LEN + 1])
{
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;

	if (rand_bytes(b, sizeof b) != ST_OK)
		return ST_INTERNAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	uuid_format(b, 7, out);
	return ST_OK;
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
	unsigned int len = 0;
	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != SHA256_LEN)
		return ST_INTERNAL;
	return ST_OK;
}

status hmac_sha256(const unsigned char *key, size_t keylen, const void *p, size_t n,
		   unsigned char out[SHA256_LEN])
{
	size_t len = 0;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, p, n, out, SHA256_LEN, &len) ==
		    NULL ||
	    len != SHA256_LEN)
		return ST_INTERNAL;
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
