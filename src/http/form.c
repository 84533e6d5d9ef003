/* form.c - application/x-www-form-urlencoded, query strings, HTTP Basic.
 * The rules are documented in form.h; this file only says why. */
#include "http/form.h"

#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/limits.h"

/* The longest Basic token worth decoding: user and password at their limits,
 * each byte form-encoded as %XX (3 bytes), a colon, base64 with padding. */
#define BASIC_TOKEN_MAX (4 * ((3 * LIMIT_USERNAME + 1 + 3 * LIMIT_PASSWORD + 2) / 3))

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

status form_decode(struct arena *a, struct sv in, bool plus_is_space, struct sv *out, struct err *e)
{
	char *dst = arena_alloc(a, in.n + 1);
	size_t o = 0;

	*out = SV_NULL;
	if (dst == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < in.n; i++) {
		unsigned char c = (unsigned char)in.p[i];
		if (c == '%') {
			int hi, lo;
			if (in.n - i < 3 ||
			    (hi = hex_digit_value((unsigned char)in.p[i + 1])) < 0 ||
			    (lo = hex_digit_value((unsigned char)in.p[i + 2])) < 0)
				return err_set(e, ST_INVALID, "bad percent-encoding");
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0)
				return err_set(e, ST_INVALID, "encoded NUL byte");
			i += 2;
		} else if (is_ctl(c)) {
			return err_set(e, ST_INVALID, "control character");
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	*out = (struct sv){dst, o};
	return ST_OK;
}

status form_parse(struct arena *a, struct sv body, struct form *out, struct err *e)
{
	struct sv rest = body, pair;
	size_t count = 0, k = 0;
	status st = ST_OK;

	out->pairs = NULL;
	out->n = 0;

	/* Count first, so an oversized body is refused before any allocation. */
	while (rest.p != NULL) {
		rest = sv_cut(rest, '&', &pair);
		if (pair.n > 0 && ++count > LIMIT_FORM_PARAMS)
			return err_set(e, ST_TOO_LARGE, "more than %d parameters",
				       LIMIT_FORM_PARAMS);
	}
	if (count == 0)
		return ST_OK;
	out->pairs = arena_alloc(a, count * sizeof *out->pairs);
	if (out->pairs == NULL)
		return err_set(e, ST_NOMEM, "out of memory");

	rest = body;
	while (rest.p != NULL) {
		struct sv key, value;
		struct form_pair *fp;

		rest = sv_cut(rest, '&', &pair);
		if (pair.n == 0)
			continue;
		value = sv_cut(pair, '=', &key);
		if (key.n == 0) {
			st = err_set(e, ST_INVALID, "empty parameter name");
			goto out;
		}
		fp = &out->pairs[k];
		if ((st = form_decode(a, key, true, &fp->key, e)) != ST_OK)
			goto out;
		if (fp->key.n > LIMIT_FORM_KEY) {
			st = err_set(e, ST_TOO_LARGE, "parameter name longer than %d bytes",
				     LIMIT_FORM_KEY);
			goto out;
		}
		if (value.p == NULL)
			value = SV("");
		if ((st = form_decode(a, value, true, &fp->value, e)) != ST_OK)
			goto out;
		k++;
	}
out:
	if (st != ST_OK) {
		out->pairs = NULL;
		out->n = 0;
	} else {
		out->n = k;
	}
	return st;
}

status form_get(const struct form *f, const char *key, struct sv *value)
{
	struct sv k = sv_from(key);
	const struct form_pair *hit = NULL;

	for (size_t i = 0; i < f->n; i++) {
		if (!sv_eq(f->pairs[i].key, k))
			continue;
		if (hit != NULL)
			return ST_CONFLICT;
		hit = &f->pairs[i];
	}
	if (hit == NULL)
		return ST_NOT_FOUND;
	if (value != NULL)
		*value = hit->value;
	return ST_OK;
}

status form_query_get(struct arena *a, struct sv query, const char *key, struct sv *value,
		      struct err *e)
{
	struct form f;
	status st = form_parse(a, query, &f, e);

	if (st != ST_OK)
		return st;
	return form_get(&f, key, value);
}

static bool has_ctl(struct sv s)
{
	for (size_t i = 0; i < s.n; i++)
		if (is_ctl((unsigned char)s.p[i]))
			return true;
	return false;
}

static status basic_parse(const char *authorization, struct arena *a, bool form_encoded,
			  char **user, char **pass)
{
	struct sv h = sv_from(authorization), tok, u, p;
	unsigned char *dec = NULL;
	size_t declen = 0, i = 5;
	const char *colon;
	status st;

	*user = *pass = NULL;
	if (authorization == NULL)
		return ST_NOT_FOUND;
	if (h.n < 5 || strncasecmp(h.p, "basic", 5) != 0 || (h.n > 5 && h.p[5] != ' '))
		return ST_UNSUPPORTED;
	while (i < h.n && h.p[i] == ' ')
		i++;
	if (i == 5 || i == h.n)
		return ST_INVALID;
	tok = (struct sv){h.p + i, h.n - i};
	if (tok.n > BASIC_TOKEN_MAX)
		return ST_TOO_LARGE;
	dec = arena_alloc(a, b64_decoded_max(tok.n) + 1);
	if (dec == NULL)
		return ST_NOMEM;
	if (b64std_decode(tok, false, dec, b64_decoded_max(tok.n), &declen) != ST_OK) {
		st = ST_INVALID;
		goto out;
	}
	colon = memchr(dec, ':', declen);
	if (colon == NULL) {
		st = ST_INVALID;
		goto out;
	}
	u = (struct sv){(const char *)dec, (size_t)(colon - (const char *)dec)};
	p = (struct sv){colon + 1, declen - u.n - 1};
	if (has_ctl(u) || has_ctl(p)) {
		st = ST_INVALID;
		goto out;
	}
	if (form_encoded) {
		if ((st = form_decode(a, u, true, &u, NULL)) != ST_OK ||
		    (st = form_decode(a, p, true, &p, NULL)) != ST_OK)
			goto out;
	}
	if (u.n == 0) {
		st = ST_INVALID;
		goto out;
	}
	if (u.n > LIMIT_USERNAME || p.n > LIMIT_PASSWORD) {
		st = ST_TOO_LARGE;
		goto out;
	}
	*user = arena_sv(a, u);
	*pass = arena_sv(a, p);
	if (*user == NULL || *pass == NULL) {
		*user = *pass = NULL;
		st = ST_NOMEM;
		goto out;
	}
	st = ST_OK;
out:
	/* The decoded "user:password" is a secret; only the returned copies
	 * stay in the arena. */
	mem_wipe(dec, declen);
	return st;
}

status http_basic_parse(const char *authorization, struct arena *a, char **user, char **pass)
{
	return basic_parse(authorization, a, false, user, pass);
}

status http_basic_parse_oauth(const char *authorization, struct arena *a, char **user, char **pass)
{
	return basic_parse(authorization, a, true, user, pass);
}
