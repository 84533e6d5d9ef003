#include "lib/b64.h"

#include <string.h>

static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 valid, 64 = invalid. Two tables: url-safe and standard. */
static unsigned char dec_url[256];
static unsigned char dec_std[256];
static int tables_ready;

static void tables_init(void)
{
	static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (__atomic_load_n(&tables_ready, __ATOMIC_ACQUIRE))
		return;
	unsigned char u[256], s[256];
	memset(u, 64, sizeof u);
	memset(s, 64, sizeof s);
	for (unsigned i = 0; i < 64; i++) {
		u[(unsigned char)url_alpha[i]] = (unsigned char)i;
		s[(unsigned char)std_alpha[i]] = (unsigned char)i;
	}
	/* Racing initialisers write identical bytes, so this is benign; the
	 * release store publishes them. */
	memcpy(dec_url, u, sizeof u);
	memcpy(dec_std, s, sizeof s);
	__atomic_store_n(&tables_ready, 1, __ATOMIC_RELEASE);
}

size_t b64url_encoded_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t b64_decoded_max(size_t n)
{
	return (n / 4) * 3 + 3;
}

size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = url_alpha[v >> 18];
		out[o++] = url_alpha[(v >> 12) & 63];
		out[o++] = url_alpha[(v >> 6) & 63];
		out[o++] = url_alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = url_alpha[v >> 18];
		out[o++] = url_alpha[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = url_alpha[v >> 18];
		out[o++] = url_alpha[(v >> 12) & 63];
		out[o++] = url_alpha[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

status b64url_encode_buf(struct buf *b, const unsigned char *in, size_t n)
{
	size_t len = b64url_encoded_len(n);
	status st = buf_reserve(b, len);
	if (st != ST_OK)
		return st;
	b->n += b64url_encode(in, n, b->p + b->n);
	return ST_OK;
}

/* Decodes groups from a filtered character source. */
static status decode_core(const unsigned char *tbl, struct sv in, bool padded, bool skip_ws,
			  unsigned char *out, size_t outcap, size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0, nchars = 0, npad = 0;
	size_t o = 0;

	tables_init();
	for (size_t i = 0; i < in.n; i++) {
		unsigned char c = (unsigned char)in.p[i];
		if (skip_ws && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
			continue;
		if (padded && c == '=') {
			npad++;
			nchars++;
			continue;
		}
		if (npad)
			return ST_INVALID; /* data after padding */
		unsigned v = tbl[c];
		if (v > 63)
			return ST_INVALID;
		nchars++;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap)
				return ST_TOO_LARGE;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (padded) {
		if (nchars % 4 != 0 || npad > 2)
			return ST_INVALID;
		if (npad && (nchars - npad) % 4 == 0)
			return ST_INVALID;
	} else if (nchars % 4 == 1) {
		return ST_INVALID;
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (acc != 0)
		return ST_INVALID;
	*outlen = o;
	return ST_OK;
}

status b64url_decode(struct sv in, unsigned char *out, size_t outcap, size_t *outlen)
{
	return decode_core(dec_url, in, false, false, out, outcap, outlen);
}

status b64std_decode(struct sv in, bool skip_ws, unsigned char *out, size_t outcap, size_t *outlen)
{
	return decode_core(dec_std, in, true, skip_ws, out, outcap, outlen);
}
