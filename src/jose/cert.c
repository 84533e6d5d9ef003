/* cert.c - identity-provider certificates: PEM, base64-of-PEM (WSO2) and
 * base64 DER texts -> verification keys with their certificate data. */
#include "jose/jwk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jose/jose_int.h"
#include "lib/b64.h"
#include "lib/crypto.h"

static bool contains(struct sv s, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k <= s.n && i <= s.n - k; i++)
		if (memcmp(s.p + i, needle, k) == 0)
			return true;
	return false;
}

/* RFC 2253 one-line form; bytes outside ASCII and controls are escaped by
 * OpenSSL, so the result is printable. Cut with "..." when too long. */
static void dn_string(const X509_NAME *name, char out[JOSE_DN_MAX])
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = 0;

	out[0] = '\0';
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_get_mem_data(bio, &p);
	if (n > 0) {
		size_t len = (size_t)n;
		if (len >= JOSE_DN_MAX) {
			memcpy(out, p, JOSE_DN_MAX - 4);
			memcpy(out + JOSE_DN_MAX - 4, "...", 4);
		} else {
			memcpy(out, p, len);
			out[len] = '\0';
		}
	}
	BIO_free(bio);
}

static status asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return ST_INVALID;
	*out = (int64_t)timegm(&tm);
	return ST_OK;
}

static status cert_info(X509 *x, struct jose_cert_info *ci, struct err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char *der = NULL;
	int len;
	status st = ST_OK;

	dn_string(X509_get_subject_name(x), ci->subject);
	dn_string(X509_get_issuer_name(x), ci->issuer);
	if (asn1_unix(X509_get0_notBefore(x), &ci->not_before) != ST_OK ||
	    asn1_unix(X509_get0_notAfter(x), &ci->not_after) != ST_OK)
		return err_set(e, ST_INVALID, "certificate has an unreadable validity period");
	len = i2d_X509(x, &der);
	if (len <= 0 || sha256(der, (size_t)len, ci->sha256) != ST_OK) {
		st = err_set(e, ST_INTERNAL, "cannot hash the certificate");
		goto out;
	}
	for (size_t i = 0; i < sizeof ci->sha256; i++) {
		ci->sha256_hex[3 * i] = hex[ci->sha256[i] >> 4];
		ci->sha256_hex[3 * i + 1] = hex[ci->sha256[i] & 15];
		ci->sha256_hex[3 * i + 2] = i + 1 < sizeof ci->sha256 ? ':' : '\0';
	}
	b64url_encode(ci->sha256, sizeof ci->sha256, ci->x5t_s256);
out:
	OPENSSL_free(der);
	return st;
}

/* Takes ownership of `x`. */
static status key_from_x509(X509 *x, struct jose_key **out, struct err *e)
{
	struct jose_cert_info ci;
	EVP_PKEY *pkey;
	status st;

	memset(&ci, 0, sizeof ci);
	st = cert_info(x, &ci, e);
	if (st != ST_OK)
		goto out;
	pkey = X509_get_pubkey(x);
	if (pkey == NULL) {
		st = err_set(e, ST_UNSUPPORTED,
			     "the certificate's public key type is not supported");
		goto out;
	}
	if ((st = jose_key_wrap(pkey, false, out, e)) != ST_OK)
		goto out;
	(*out)->has_cert = true;
	(*out)->cert = ci;
out:
	X509_free(x);
	return st;
}

/* Finds the next PEM block in `*rest`: "-----BEGIN <label>-----", a body,
 * "-----END <label>-----". Line structure is not required, so a PEM pasted
 * on one line (as JSON strings often carry it) is read too. Returns 1 with
 * `label` and `body` set, 0 when no block is left, -1 when a block is
 * malformed. */
static int pem_next(struct sv *rest, struct sv *label, struct sv *body)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----", end[] = "-----END ";
	struct sv s = *rest;
	size_t i = 0;

	for (;; i++) {
		if (s.n < sizeof begin - 1 || i > s.n - (sizeof begin - 1))
			return 0;
		if (memcmp(s.p + i, begin, sizeof begin - 1) == 0)
			break;
	}
	s.p += i + sizeof begin - 1;
	s.n -= i + sizeof begin - 1;
	for (i = 0; i < s.n && i <= 80 && s.p[i] != '-'; i++)
		if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7e)
			return -1;
	if (i == 0 || i > 80 || s.n - i < sizeof dashes - 1 ||
	    memcmp(s.p + i, dashes, sizeof dashes - 1) != 0)
		return -1;
	*label = (struct sv){s.p, i};
	s.p += i + sizeof dashes - 1;
	s.n -= i + sizeof dashes - 1;
	for (i = 0;; i++) {
		if (s.n < sizeof end - 1 || i > s.n - (sizeof end - 1))
			return -1;
		if (memcmp(s.p + i, end, sizeof end - 1) == 0)
			break;
	}
	*body = (struct sv){s.p, i};
	s.p += i + sizeof end - 1;
	s.n -= i + sizeof end - 1;
	if (!sv_starts_with(s, *label))
		return -1;
	s.p += label->n;
	s.n -= label->n;
	if (!sv_starts_with(s, (struct sv){dashes, sizeof dashes - 1}))
		return -1;
	s.p += sizeof dashes - 1;
	s.n -= sizeof dashes - 1;
	*rest = s;
	return 1;
}

/* Reads every PEM block of `s`; exactly one certificate (or one bare public
 * key) must be there, and no private key anywhere. */
static status from_pem_text(struct sv s, struct jose_key **out, struct err *e)
{
	size_t cap = b64_decoded_max(s.n);
	unsigned char *der = malloc(cap);
	X509 *x = NULL;
	EVP_PKEY *pub = NULL;
	int found = 0;
	status st = ST_OK;

	if (der == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (;;) {
		struct sv label, body;
		const unsigned char *q = der;
		size_t len = 0;
		char shown[JOSE_SHOW_BUF];
		int r = pem_next(&s, &label, &body);

		if (r == 0)
			break;
		if (r < 0) {
			st = err_set(e, ST_INVALID, "not a PEM certificate (malformed PEM)");
			break;
		}
		if (contains(label, "PRIVATE KEY")) {
			st = err_set(
			    e, ST_INVALID,
			    "a private key, not a certificate: upload the certificate only");
			break;
		}
		if (contains(label, "CERTIFICATE REQUEST")) {
			st = err_set(e, ST_INVALID,
				     "a certificate signing request, not a certificate");
			break;
		}
		str_show(shown, sizeof shown, label.p, label.n);
		if (!sv_eq_cstr(label, "CERTIFICATE") && !sv_eq_cstr(label, "X509 CERTIFICATE") &&
		    !sv_eq_cstr(label, "TRUSTED CERTIFICATE") && !sv_eq_cstr(label, "PUBLIC KEY")) {
			st = err_set(e, ST_INVALID, "unexpected PEM block '%s', not a certificate",
				     shown);
			break;
		}
		if (found++ > 0)
			continue;
		/* RFC 7468: the body is base64; whitespace anywhere is allowed. */
		if (b64std_decode(body, true, der, cap, &len) != ST_OK || len == 0) {
			st = err_set(e, ST_INVALID, "the PEM %s is not valid base64", shown);
			break;
		}
		if (sv_eq_cstr(label, "PUBLIC KEY")) {
			pub = d2i_PUBKEY(NULL, &q, (long)len);
			if (pub == NULL || q != der + len) {
				st = err_set(e, ST_INVALID, "the PEM public key is not valid DER");
				break;
			}
		} else {
			x = sv_eq_cstr(label, "TRUSTED CERTIFICATE")
				? d2i_X509_AUX(NULL, &q, (long)len)
				: d2i_X509(NULL, &q, (long)len);
			if (x == NULL || q != der + len) {
				st = err_set(e, ST_INVALID, "the PEM certificate is not valid DER");
				break;
			}
		}
	}
	free(der);
	if (st == ST_OK && found == 0)
		st = err_set(e, ST_INVALID, "not a PEM certificate");
	if (st == ST_OK && found > 1)
		st = err_set(e, ST_INVALID,
			     "contains %d certificates or keys; give each as its own entry", found);
	if (st != ST_OK)
		goto out;
	if (x != NULL) {
		st = key_from_x509(x, out, e);
		x = NULL;
	} else {
		st = jose_key_wrap(pub, false, out, e);
		pub = NULL;
	}
out:
	X509_free(x);
	EVP_PKEY_free(pub);
	jose_ossl_clear();
	return st;
}

/* A DER certificate (or, to say so clearly, a DER private key). */
static status from_der(const unsigned char *p, size_t n, struct jose_key **out, struct err *e)
{
	const unsigned char *q = p;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	EVP_PKEY *k;
	status st;

	if (x != NULL && q == p + n)
		return key_from_x509(x, out, e);
	X509_free(x);
	q = p;
	k = d2i_AutoPrivateKey(NULL, &q, (long)n);
	if (k != NULL) {
		EVP_PKEY_free(k);
		st = err_set(e, ST_INVALID,
			     "a private key, not a certificate: upload the certificate only");
	} else {
		st = err_set(e, ST_INVALID, "not a PEM certificate");
	}
	jose_ossl_clear();
	return st;
}

status jose_key_from_pem(struct sv text, struct jose_key **out, struct err *e)
{
	unsigned char *raw = NULL;
	size_t rawn = 0;
	struct sv s = sv_trim(text);
	status st;

	*out = NULL;
	if (s.n == 0)
		return err_set(e, ST_INVALID, "the certificate is empty");
	if (s.n > JOSE_PEM_MAX)
		return err_set(e, ST_TOO_LARGE, "the certificate is larger than %d bytes",
			       JOSE_PEM_MAX);
	if (contains(s, "-----BEGIN"))
		return from_pem_text(s, out, e);
	/* Not PEM: the standard base64 of a PEM (WSO2) or of a DER certificate. */
	raw = malloc(b64_decoded_max(s.n));
	if (raw == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	if (b64std_decode(s, true, raw, b64_decoded_max(s.n), &rawn) != ST_OK || rawn == 0) {
		st = err_set(e, ST_INVALID, "not a PEM certificate");
		goto out;
	}
	struct sv inner = sv_trim((struct sv){(const char *)raw, rawn});
	if (contains(inner, "-----BEGIN"))
		st = from_pem_text(inner, out, e);
	else if (raw[0] == 0x30) /* a DER SEQUENCE */
		st = from_der(raw, rawn, out, e);
	else
		st = err_set(e, ST_INVALID, "not a PEM certificate");
out:
	mem_wipe(raw, b64_decoded_max(s.n)); /* may have been a private key */
	free(raw);
	return st;
}
