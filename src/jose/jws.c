/* jws.c - compact JWS parsing (untrusted input) and JWT claim accessors. */
#include "jose/jws.h"

#include <math.h>
#include <string.h>

#include "jose/jose_int.h"
#include "lib/b64.h"
#include "lib/limits.h"

const char *jose_json_type(const json_t *j)
{
	if (j == NULL)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * jansson checks this too, but with a message that quotes input bytes. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], cp, min;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* A byte-at-a-time lexer of JSON text that only tells strings from the
 * rest: enough to measure nesting and to find a key, before (or after)
 * jansson parses the text. */
struct jscan {
	bool in_str, esc;
};

enum jscan_class {
	JSCAN_OUTSIDE, /* outside any string (and not a quote) */
	JSCAN_OPEN,    /* the quote that opens a string */
	JSCAN_INSIDE,  /* inside a string, escapes included */
	JSCAN_CLOSE,   /* the quote that closes a string */
};

static enum jscan_class jscan_step(struct jscan *s, unsigned char c)
{
	if (s->in_str) {
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == '"') {
			s->in_str = false;
			return JSCAN_CLOSE;
		}
		return JSCAN_INSIDE;
	}
	if (c == '"') {
		s->in_str = true;
		return JSCAN_OPEN;
	}
	return JSCAN_OUTSIDE;
}

/* True when arrays/objects nest deeper than `limit`. Checked before jansson
 * builds anything, so a deep input costs one linear scan. Exact for valid
 * JSON; for invalid JSON the parser reports the real problem. */
static bool nests_deeper(const unsigned char *p, size_t n, int limit)
{
	struct jscan s = {0};
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (jscan_step(&s, p[i]) != JSCAN_OUTSIDE)
			continue;
		if (p[i] == '[' || p[i] == '{') {
			if (++depth > limit)
				return true;
		} else if (p[i] == ']' || p[i] == '}') {
			depth--;
		}
	}
	return false;
}

/* jansson reports a duplicate key by the offset just past it; find the
 * string token ending there so the message can name the key. */
static struct sv key_before(const unsigned char *p, size_t n, size_t pos)
{
	struct jscan s = {0};
	struct sv last = SV_NULL;
	size_t start = 0;

	for (size_t i = 0; i < n && i < pos; i++) {
		switch (jscan_step(&s, p[i])) {
		case JSCAN_OPEN: start = i + 1; break;
		case JSCAN_CLOSE: last = (struct sv){(const char *)p + start, i - start}; break;
		case JSCAN_OUTSIDE:
		case JSCAN_INSIDE: break;
		}
	}
	return last;
}

/* Loads `what` (header or payload) as a JSON object; `*out` is a new
 * reference. Messages never quote more than JOSE_SHOW_MAX input bytes. */
static status load_object(const unsigned char *p, size_t n, const char *what, json_t **out,
			  struct err *e)
{
	json_error_t je;
	json_t *j;

	if (!utf8_valid(p, n))
		return err_set(e, ST_INVALID, "%s is not valid UTF-8", what);
	if (nests_deeper(p, n, LIMIT_JSON_DEPTH))
		return err_set(e, ST_INVALID, "%s is not valid JSON: nested deeper than %d levels",
			       what, LIMIT_JSON_DEPTH);
	j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		char shown[JOSE_SHOW_BUF];
		char *near;
		switch (json_error_code(&je)) {
		case json_error_duplicate_key: {
			struct sv k = key_before(p, n, je.position > 0 ? (size_t)je.position : 0);
			str_show(shown, sizeof shown, k.p ? k.p : "", k.n);
			return err_set(e, ST_INVALID, "%s is not valid JSON: duplicate key '%s'",
				       what, shown);
		}
		case json_error_null_character:
			return err_set(e, ST_INVALID, "%s is not valid JSON: contains \\u0000",
				       what);
		case json_error_out_of_memory:
			return err_set(e, ST_NOMEM, "out of memory parsing %s", what);
		default:
			/* Keep jansson's reason, drop its "near '<input>'" part. */
			near = strstr(je.text, " near ");
			if (near != NULL)
				*near = '\0';
			return err_set(e, ST_INVALID, "%s is not valid JSON: %s (at byte %d)", what,
				       je.text, je.position);
		}
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(e, ST_INVALID, "%s is not a JSON object", what);
	}
	*out = j;
	return ST_OK;
}

/* Decodes one base64url part into arena memory. */
static status decode_part(struct arena *a, struct sv part, const char *what, unsigned char **out,
			  size_t *outlen, struct err *e)
{
	size_t cap = b64_decoded_max(part.n);
	unsigned char *p = arena_alloc(a, cap);

	if (p == NULL)
		return err_set(e, ST_NOMEM, "out of memory decoding %s", what);
	if (b64url_decode(part, p, cap, outlen) != ST_OK)
		return err_set(e, ST_INVALID,
			       "%s is not valid base64url (no padding or whitespace allowed)",
			       what);
	*out = p;
	return ST_OK;
}

/* An optional string header member. */
static status opt_string(const json_t *h, const char *name, const char **out, struct err *e)
{
	const json_t *v = json_object_get(h, name);

	if (out)
		*out = NULL;
	if (v == NULL)
		return ST_OK;
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "header '%s' must be a string, got %s", name,
			       jose_json_type(v));
	if (out)
		*out = json_string_value(v);
	return ST_OK;
}

static status check_header(struct jws *out, struct err *e)
{
	static const char *const refused[] = {"jku", "x5u", "jwk"};
	const json_t *h = out->header, *v;
	char shown[JOSE_SHOW_BUF];
	status st;

	v = json_object_get(h, "alg");
	if (v == NULL)
		return err_set(e, ST_INVALID, "header has no 'alg'");
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "header 'alg' must be a string, got %s",
			       jose_json_type(v));
	st = jose_alg_parse((struct sv){json_string_value(v), json_string_length(v)}, &out->alg, e);
	if (st != ST_OK)
		return st;

	/* RFC 7515 §4.1.11: a recipient must reject critical extensions it does
	 * not understand, and grantd understands none. */
	v = json_object_get(h, "crit");
	if (v != NULL) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return err_set(e, ST_INVALID,
				       "header 'crit' must be a non-empty array of strings");
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				return err_set(
				    e, ST_INVALID,
				    "header 'crit' must be a non-empty array of strings");
		const json_t *c = json_array_get(v, 0);
		str_show(shown, sizeof shown, json_string_value(c), json_string_length(c));
		return err_set(e, ST_UNSUPPORTED, "unsupported critical header '%s'", shown);
	}
	v = json_object_get(h, "b64");
	if (v != NULL) {
		if (!json_is_boolean(v))
			return err_set(e, ST_INVALID, "header 'b64' must be a boolean, got %s",
				       jose_json_type(v));
		if (json_is_false(v))
			return err_set(
			    e, ST_UNSUPPORTED,
			    "unencoded payloads (header 'b64' false, RFC 7797) are not accepted");
	}
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (json_object_get(h, refused[i]) != NULL)
			return err_set(e, ST_UNSUPPORTED,
				       "header '%s' is not accepted: keys are never taken from the "
				       "token",
				       refused[i]);

	if ((st = opt_string(h, "kid", &out->kid, e)) != ST_OK ||
	    (st = opt_string(h, "typ", &out->typ, e)) != ST_OK ||
	    (st = opt_string(h, "cty", NULL, e)) != ST_OK ||
	    (st = opt_string(h, "x5t", NULL, e)) != ST_OK)
		return st;

	v = json_object_get(h, "x5t#S256");
	if (v != NULL) {
		size_t n = 0;
		if (!json_is_string(v))
			return err_set(e, ST_INVALID, "header 'x5t#S256' must be a string, got %s",
				       jose_json_type(v));
		if (b64url_decode((struct sv){json_string_value(v), json_string_length(v)},
				  out->x5t_s256, sizeof out->x5t_s256, &n) != ST_OK ||
		    n != sizeof out->x5t_s256)
			return err_set(e, ST_INVALID,
				       "header 'x5t#S256' must be the base64url of a SHA-256 hash");
		out->has_x5t_s256 = true;
	}
	/* x5c is never trusted: the certificate chain in a token proves nothing
	 * about who may sign for an identity provider. */
	out->has_x5c = json_object_get(h, "x5c") != NULL;
	return ST_OK;
}

status jws_parse(struct arena *a, struct sv compact, size_t max_size, struct jws *out,
		 struct err *e)
{
	struct sv part[3];
	unsigned char *hdr = NULL, *pay = NULL, *sig = NULL;
	size_t hdr_n = 0, pay_n = 0, sig_n = 0, dots = 0;
	const char *dot[2] = {NULL, NULL}, *end;
	status st;

	memset(out, 0, sizeof *out);
	if (compact.n > max_size)
		return err_set(e, ST_TOO_LARGE,
			       "assertion is %zu bytes, more than the limit of %zu", compact.n,
			       max_size);
	if (compact.n == 0 || compact.p == NULL)
		return err_set(e, ST_INVALID, "assertion is empty");
	/* memchr: the assertion is the longest input a grant reads. */
	end = compact.p + compact.n;
	for (const char *p = compact.p; (p = memchr(p, '.', (size_t)(end - p))) != NULL; p++) {
		if (dots < 2)
			dot[dots] = p;
		dots++;
	}
	if (dots == 4)
		return err_set(e, ST_UNSUPPORTED, "encrypted assertions (JWE) are not accepted");
	if (dots != 2)
		return err_set(e, ST_INVALID,
			       "a compact JWS has 3 parts separated by '.', this has %zu",
			       dots + 1);
	part[0] = (struct sv){compact.p, (size_t)(dot[0] - compact.p)};
	part[1] = (struct sv){dot[0] + 1, (size_t)(dot[1] - dot[0] - 1)};
	part[2] = (struct sv){dot[1] + 1, (size_t)(end - dot[1] - 1)};

	if (part[0].n == 0)
		return err_set(e, ST_INVALID, "header is empty");
	if (part[1].n == 0)
		return err_set(e, ST_INVALID, "payload is empty");
	if (part[2].n == 0)
		return err_set(e, ST_INVALID, "signature is empty (unsecured JWS)");
	if (part[0].n / 4 * 3 > LIMIT_JOSE_HEADER)
		return err_set(e, ST_INVALID, "header is larger than %d bytes", LIMIT_JOSE_HEADER);

	if ((st = decode_part(a, part[0], "header", &hdr, &hdr_n, e)) != ST_OK ||
	    (st = decode_part(a, part[1], "payload", &pay, &pay_n, e)) != ST_OK ||
	    (st = decode_part(a, part[2], "signature", &sig, &sig_n, e)) != ST_OK)
		goto out;
	if (hdr_n > LIMIT_JOSE_HEADER) {
		st = err_set(e, ST_INVALID, "header is larger than %d bytes", LIMIT_JOSE_HEADER);
		goto out;
	}
	if ((st = load_object(hdr, hdr_n, "header", &out->header, e)) != ST_OK ||
	    (st = load_object(pay, pay_n, "payload", &out->payload, e)) != ST_OK ||
	    (st = check_header(out, e)) != ST_OK)
		goto out;

	out->signing_input = (struct sv){compact.p, part[0].n + 1 + part[1].n};
	out->sig = sig;
	out->sig_len = sig_n;
out:
	if (st != ST_OK)
		jws_free(out);
	return st;
}

void jws_free(struct jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	json_decref(jws->payload);
	memset(jws, 0, sizeof *jws);
}

/* Claims */

static status claim_get(const json_t *claims, const char *name, const json_t **v, struct err *e)
{
	if (!json_is_object(claims) || name == NULL)
		return err_set(e, ST_INTERNAL, "claims are not a JSON object");
	*v = json_object_get(claims, name);
	if (*v == NULL)
		return err_set(e, ST_NOT_FOUND, "claim '%s' is missing", name);
	return ST_OK;
}

status jwt_claim_string(const json_t *claims, const char *name, const char **out, struct err *e)
{
	const json_t *v = NULL; /* set unless claim_get fails */
	status st = claim_get(claims, name, &v, e);

	if (st != ST_OK)
		return st;
	if (!json_is_string(v))
		return err_set(e, ST_INVALID, "claim '%s' must be a string, got %s", name,
			       jose_json_type(v));
	*out = json_string_value(v);
	return ST_OK;
}

status jwt_claim_numericdate(const json_t *claims, const char *name, int64_t *out, struct err *e)
{
	const json_t *v = NULL; /* set unless claim_get fails */
	status st = claim_get(claims, name, &v, e);

	if (st != ST_OK)
		return st;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return err_set(e, ST_INVALID, "claim '%s' must not be negative", name);
		if (i > JWT_NUMERICDATE_MAX)
			return err_set(e, ST_INVALID, "claim '%s' is after the year 9999", name);
		*out = (int64_t)i;
		return ST_OK;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d))
			return err_set(e, ST_INVALID, "claim '%s' must be a finite number", name);
		if (d < 0)
			return err_set(e, ST_INVALID, "claim '%s' must not be negative", name);
		if (d >= (double)JWT_NUMERICDATE_MAX + 1.0)
			return err_set(e, ST_INVALID, "claim '%s' is after the year 9999", name);
		*out = (int64_t)d; /* truncates: 1.9 -> 1 */
		return ST_OK;
	}
	return err_set(e, ST_INVALID, "claim '%s' must be a number, got %s", name,
		       jose_json_type(v));
}

status jwt_claim_audiences(struct arena *a, const json_t *claims, const char *name,
			   const char *const **out, size_t *n, struct err *e)
{
	const json_t *v = NULL; /* set unless claim_get fails */
	const char **list;
	size_t count;
	status st = claim_get(claims, name, &v, e);

	if (st != ST_OK)
		return st;
	if (json_is_string(v)) {
		list = arena_alloc(a, sizeof *list);
		if (list == NULL)
			return err_set(e, ST_NOMEM, "out of memory");
		list[0] = json_string_value(v);
		*out = list;
		*n = 1;
		return ST_OK;
	}
	if (!json_is_array(v))
		return err_set(e, ST_INVALID,
			       "claim '%s' must be a string or an array of strings, got %s", name,
			       jose_json_type(v));
	count = json_array_size(v);
	if (count == 0)
		return err_set(e, ST_INVALID, "claim '%s' is an empty array", name);
	list = arena_alloc(a, count * sizeof *list);
	if (list == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const json_t *s = json_array_get(v, i);
		if (!json_is_string(s))
			return err_set(e, ST_INVALID,
				       "claim '%s' element %zu must be a string, got %s", name, i,
				       jose_json_type(s));
		list[i] = json_string_value(s);
	}
	*out = list;
	*n = count;
	return ST_OK;
}
