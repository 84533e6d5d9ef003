/* sign.c - JWS signature verification and creation (RFC 7515, 7518, 8037)
 * and key selection for a parsed token. */
#include "jose/jws.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jose/jose_int.h"
#include "lib/timefmt.h"
#include "lib/b64.h"

/* Sets the RSA padding for RS* (PKCS#1 v1.5) or PS* (PSS, MGF1 with the
 * same hash, salt = hash length: RFC 7518 §3.5). */
static int set_padding(EVP_PKEY_CTX *pctx, const struct jose_alg_info *ai)
{
	if (ai->fam == JOSE_FAM_RSA_PKCS1)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	if (ai->fam == JOSE_FAM_RSA_PSS)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, ai->md, NULL) == 1 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)ai->hash_len) == 1;
	return 1;
}

/* ES512's R and S are 66 bytes: a DER signature is at most
 * 3 (SEQUENCE) + 2 x (2 + 1 + 66) (INTEGERs) = 141 bytes. */
#define ECDSA_DER_MAX 141

/* One DER INTEGER holding the unsigned big-endian `p` (n bytes, n <= 66):
 * leading zero bytes dropped, a zero byte put in front when the top bit is
 * set so that it stays positive. Returns the bytes written. */
static size_t der_uint(unsigned char *out, const unsigned char *p, size_t n)
{
	size_t o = 0;

	while (n > 1 && p[0] == 0)
		p++, n--;
	out[o++] = 0x02;
	out[o++] = (unsigned char)(n + (p[0] >> 7));
	if (p[0] & 0x80)
		out[o++] = 0x00;
	memcpy(out + o, p, n);
	return o + n;
}

/* JWS ES* signatures are R || S, each exactly `coord` bytes; OpenSSL wants
 * the DER ECDSA-Sig-Value (RFC 3279), which is written here into `der`
 * (ECDSA_DER_MAX bytes) rather than through BIGNUMs and an allocation. */
static size_t ecdsa_raw_to_der(const unsigned char *sig, size_t coord,
			       unsigned char der[ECDSA_DER_MAX])
{
	unsigned char body[ECDSA_DER_MAX];
	size_t n = der_uint(body, sig, coord), o = 0;

	n += der_uint(body + n, sig + coord, coord);
	der[o++] = 0x30;
	if (n >= 0x80)
		der[o++] = 0x81; /* n <= 138: one length byte follows */
	der[o++] = (unsigned char)n;
	memcpy(der + o, body, n);
	return o + n;
}

/* Verification and signing set-ups: EVP_DigestVerifyInit() (and
 * EVP_DigestSignInit()) fetches the digest, the signature algorithm and the
 * key's provider data each time it runs, which costs about a tenth of an
 * RS256 verification. So each key sets up one context per algorithm and
 * direction on first use, and every signature works on a copy of it. The
 * lock guards the set-ups and the copying: OpenSSL does not promise that
 * one context can be copied from several threads at once. */
struct jose_verify_cache {
	pthread_mutex_t lock;
	EVP_MD_CTX *tmpl[JOSE_ALG_COUNT];
	EVP_MD_CTX *sign_tmpl[JOSE_ALG_COUNT]; /* keys with a private part */
};

struct jose_verify_cache *jose_verify_cache_new(void)
{
	struct jose_verify_cache *vc = calloc(1, sizeof *vc);

	if (vc != NULL && pthread_mutex_init(&vc->lock, NULL) != 0) {
		free(vc);
		return NULL;
	}
	return vc;
}

void jose_verify_cache_free(struct jose_verify_cache *vc)
{
	if (vc == NULL)
		return;
	for (int i = 0; i < JOSE_ALG_COUNT; i++) {
		EVP_MD_CTX_free(vc->tmpl[i]);
		EVP_MD_CTX_free(vc->sign_tmpl[i]);
	}
	pthread_mutex_destroy(&vc->lock);
	free(vc);
}

/* The set-up for `alg` (called with the lock held); NULL when OpenSSL
 * refuses it. */
static EVP_MD_CTX *setup_tmpl(const struct jose_key *key, enum jose_alg alg,
			      const struct jose_alg_info *ai, bool sign)
{
	struct jose_verify_cache *vc = key->vc;
	EVP_MD_CTX **slot = sign ? &vc->sign_tmpl[alg] : &vc->tmpl[alg];
	const EVP_MD *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx;
	int ok;

	if (*slot != NULL)
		return *slot;
	if (ai->fam != JOSE_FAM_EDDSA && (md = crypto_md(ai->md_id)) == NULL)
		return NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return NULL;
	ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key->pkey)
		  : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey);
	if (ok != 1 || !set_padding(pctx, ai)) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	*slot = ctx;
	return ctx;
}

/* A fresh context for `alg`: a copy of the key's set-up. */
static EVP_MD_CTX *setup_ctx(const struct jose_key *key, enum jose_alg alg,
			     const struct jose_alg_info *ai, bool sign)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *tmpl;
	bool ok;

	if (ctx == NULL || key->vc == NULL)
		goto fail;
	pthread_mutex_lock(&key->vc->lock);
	tmpl = setup_tmpl(key, alg, ai, sign);
	ok = tmpl != NULL && EVP_MD_CTX_copy_ex(ctx, tmpl) == 1;
	pthread_mutex_unlock(&key->vc->lock);
	if (!ok)
		goto fail;
	/* Work on this copy itself: without the flag, the final step would
	 * copy its key context once more to keep this one reusable. */
	EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
	return ctx;
fail:
	EVP_MD_CTX_free(ctx);
	return NULL;
}

status jose_verify_raw(enum jose_alg alg, const struct jose_key *key, struct sv input,
		       const unsigned char *sig, size_t sig_len, struct err *e)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);
	unsigned char der[ECDSA_DER_MAX];
	EVP_MD_CTX *ctx = NULL;
	status st;
	int rc;

	if (ai == NULL || sig == NULL || input.p == NULL)
		return err_set(e, ST_INTERNAL, "verification called without a token");
	if ((st = jose_key_check_alg(key, alg, e)) != ST_OK)
		return st;
	if (ai->fam == JOSE_FAM_ECDSA) {
		if (sig_len != 2 * ai->coord)
			return err_set(e, ST_INVALID, "%s signature must be %zu bytes, got %zu",
				       ai->name, 2 * ai->coord, sig_len);
		sig_len = ecdsa_raw_to_der(sig, ai->coord, der);
		sig = der;
	}
	if ((ctx = setup_ctx(key, alg, ai, false)) == NULL) {
		st = err_set(e, ST_INTERNAL, "cannot set up %s verification", ai->name);
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input.p, input.n);
	st = rc == 1 ? ST_OK : err_set(e, ST_INVALID, "signature verification failed");
out:
	EVP_MD_CTX_free(ctx); /* frees its key context too */
	jose_ossl_clear();
	return st;
}

status jws_verify(const struct jws *jws, const struct jose_key *key, struct err *e)
{
	if (jws == NULL || jws->header == NULL || jws->sig == NULL)
		return err_set(e, ST_INTERNAL, "verification called on an unparsed JWS");
	return jose_verify_raw(jws->alg, key, jws->signing_input, jws->sig, jws->sig_len, e);
}

/* "key 'kid'", "certificate 'CN=..'" or "key N" for messages. */
static void describe(const struct jose_key *k, size_t i, char *out, size_t outsz)
{
	char shown[JOSE_SHOW_KID_BUF];

	if (k->kid != NULL) {
		str_show(shown, sizeof shown, k->kid, strlen(k->kid));
		snprintf(out, outsz, "key '%s'", shown);
	} else if (k->has_cert) {
		snprintf(out, outsz, "certificate '%.200s'", k->cert.subject);
	} else {
		snprintf(out, outsz, "key %zu", i);
	}
}

/* One candidate: time window (if asked), algorithm fit, signature. The
 * key is described only for a failure's message. */
static status try_key(const struct jws *jws, const struct jose_key *k, size_t i, unsigned flags,
		      int64_t now, struct err *e)
{
	char who[256], when[TIME_RFC3339_LEN];
	struct err sub;
	status st;

	if ((flags & JOSE_VERIFY_CERT_TIME) && k->has_cert) {
		if (now > k->cert.not_after) {
			describe(k, i, who, sizeof who);
			time_format_rfc3339(k->cert.not_after, when);
			return err_set(e, ST_INVALID, "%s expired at %s", who, when);
		}
		if (now < k->cert.not_before) {
			describe(k, i, who, sizeof who);
			time_format_rfc3339(k->cert.not_before, when);
			return err_set(e, ST_INVALID, "%s is not valid before %s", who, when);
		}
	}
	err_clear(&sub);
	st = jws_verify(jws, k, &sub);
	if (st != ST_OK) {
		describe(k, i, who, sizeof who);
		return err_set(e, st, "%s: %s", who, sub.msg);
	}
	return ST_OK;
}

status jws_verify_keyset(const struct jws *jws, const struct jose_keyset *ks, unsigned flags,
			 int64_t now, const struct jose_key **used, struct err *e)
{
	const struct jose_key *cand[LIMIT_JWKS_KEYS];
	size_t idx[LIMIT_JWKS_KEYS]; /* position in the set, for messages */
	size_t n = 0;
	char shown[JOSE_SHOW_KID_BUF];
	status st = ST_INVALID;

	if (used != NULL)
		*used = NULL;
	if (jws == NULL || ks == NULL || jws->header == NULL)
		return err_set(e, ST_INTERNAL, "verification called without a token or keys");

	if (jws->has_x5t_s256)
		for (size_t i = 0; i < ks->n; i++)
			if (ks->keys[i]->has_cert &&
			    memcmp(ks->keys[i]->cert.sha256, jws->x5t_s256, 32) == 0)
				idx[n] = i, cand[n++] = ks->keys[i];
	if (n == 0 && jws->kid != NULL)
		for (size_t i = 0; i < ks->n; i++)
			if (ks->keys[i]->kid != NULL && strcmp(ks->keys[i]->kid, jws->kid) == 0)
				idx[n] = i, cand[n++] = ks->keys[i];
	if (n == 0 && (jws->has_x5t_s256 || jws->kid != NULL) && !(flags & JOSE_SELECT_TRY_ALL)) {
		if (jws->kid != NULL) {
			str_show(shown, sizeof shown, jws->kid, strlen(jws->kid));
			return err_set(e, ST_NOT_FOUND, "no key with kid '%s'", shown);
		}
		return err_set(e, ST_NOT_FOUND, "no certificate with the token's x5t#S256");
	}
	if (n == 0) {
		/* Nothing named (or TRY_ALL): every key fitting the algorithm. */
		for (size_t i = 0; i < ks->n; i++)
			if (jose_key_check_alg(ks->keys[i], jws->alg, NULL) == ST_OK)
				idx[n] = i, cand[n++] = ks->keys[i];
		if (n == 0)
			return err_set(e, ST_NOT_FOUND, "no key fits alg %s",
				       jose_alg_name(jws->alg));
	}
	for (size_t i = 0; i < n; i++) {
		struct err sub;
		err_clear(&sub);
		st = try_key(jws, cand[i], idx[i], flags, now, &sub);
		if (st == ST_OK) {
			if (used != NULL)
				*used = cand[i];
			return ST_OK;
		}
		if (n == 1)
			return err_set(e, st, "%s", sub.msg);
	}
	return err_set(e, ST_INVALID,
		       "signature verification failed with each of the %zu candidate keys", n);
}

/* Signing */

status jose_sign_raw(enum jose_alg alg, const struct jose_key *key, struct sv input,
		     struct buf *sig, struct err *e)
{
	const struct jose_alg_info *ai = jose_alg_info(alg);
	unsigned char *raw = NULL;
	size_t len = 0;
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	status st;

	if (ai == NULL)
		return err_set(e, ST_INTERNAL, "unknown algorithm");
	if ((st = jose_key_check_alg(key, alg, e)) != ST_OK)
		return st;
	if (!key->has_private)
		return err_set(e, ST_INVALID, "key has no private part");
	len = (size_t)EVP_PKEY_get_size(key->pkey);
	raw = malloc(len ? len : 1);
	if (raw == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	/* A copy of the key's signing set-up (made once per key and alg). */
	ctx = setup_ctx(key, alg, ai, true);
	if (ctx == NULL ||
	    EVP_DigestSign(ctx, raw, &len, (const unsigned char *)input.p, input.n) != 1) {
		st = err_set(e, ST_INTERNAL, "%s signing failed", ai->name);
		goto out;
	}
	if (ai->fam == JOSE_FAM_ECDSA) {
		const unsigned char *q = raw;
		const BIGNUM *r, *s;
		unsigned char rs[2 * 66];
		es = d2i_ECDSA_SIG(NULL, &q, (long)len);
		if (es == NULL) {
			st = err_set(e, ST_INTERNAL, "%s signing failed", ai->name);
			goto out;
		}
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, rs, (int)ai->coord) < 0 ||
		    BN_bn2binpad(s, rs + ai->coord, (int)ai->coord) < 0) {
			st = err_set(e, ST_INTERNAL, "%s signing failed", ai->name);
			goto out;
		}
		st = buf_append(sig, rs, 2 * ai->coord);
	} else {
		st = buf_append(sig, raw, len);
	}
	if (st != ST_OK)
		st = err_set(e, st, "signature does not fit the buffer");
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(raw);
	jose_ossl_clear();
	return st;
}

status jws_sign(struct buf *out, enum jose_alg alg, const struct jose_key *key, const char *kid,
		const json_t *header_extra, const json_t *payload, struct err *e)
{
	static const char *const reserved[] = {"alg", "kid", "crit", "b64", "jku", "jwk", "x5u"};
	size_t start = out->n;
	json_t *hdr = NULL;
	char *hjson = NULL, *pjson = NULL;
	struct buf sig = {0};
	const char *k;
	json_t *v;
	status st;

	if (!json_is_object(payload))
		return err_set(e, ST_INTERNAL, "the payload must be a JSON object");
	if (header_extra != NULL && !json_is_object(header_extra))
		return err_set(e, ST_INTERNAL, "extra header members must be a JSON object");
	if ((st = jose_key_check_alg(key, alg, e)) != ST_OK)
		return st;
	if (!key->has_private)
		return err_set(e, ST_INVALID, "key has no private part");
	if (kid == NULL)
		kid = key->kid;
	else if (kid[0] == '\0')
		kid = NULL; /* explicitly no kid */

	hdr = json_object();
	if (hdr == NULL || json_object_set_new(hdr, "alg", json_string(jose_alg_name(alg))) != 0 ||
	    (kid != NULL && json_object_set_new(hdr, "kid", json_string(kid)) != 0)) {
		st = err_set(e, ST_INTERNAL, "cannot build the JWS header");
		goto out;
	}
	if (header_extra != NULL) {
		json_object_foreach((json_t *)header_extra, k, v)
		{
			for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
				if (strcmp(k, reserved[i]) == 0) {
					st = err_set(e, ST_INTERNAL,
						     "extra header members may not set '%s'", k);
					goto out;
				}
			}
			if (json_object_set(hdr, k, v) != 0) {
				st = err_set(e, ST_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	hjson = json_dumps(hdr, JSON_COMPACT);
	pjson = json_dumps(payload, JSON_COMPACT);
	if (hjson == NULL || pjson == NULL) {
		st = err_set(e, ST_NOMEM, "cannot serialize the JWS");
		goto out;
	}
	if ((st = b64url_encode_buf(out, (const unsigned char *)hjson, strlen(hjson))) != ST_OK ||
	    (st = buf_putc(out, '.')) != ST_OK ||
	    (st = b64url_encode_buf(out, (const unsigned char *)pjson, strlen(pjson))) != ST_OK) {
		st = err_set(e, st, "the JWS does not fit the buffer");
		goto out;
	}
	st = jose_sign_raw(alg, key, (struct sv){out->p + start, out->n - start}, &sig, e);
	if (st != ST_OK)
		goto out;
	if ((st = buf_putc(out, '.')) != ST_OK ||
	    (st = b64url_encode_buf(out, (const unsigned char *)sig.p, sig.n)) != ST_OK)
		st = err_set(e, st, "the JWS does not fit the buffer");
out:
	if (st != ST_OK && out->p != NULL) {
		out->n = start;
		out->p[start] = '\0';
	}
	buf_free(&sig);
	free(hjson);
	free(pjson);
	json_decref(hdr);
	return st;
}
