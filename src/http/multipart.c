/* multipart.c - multipart/form-data: find one part (multipart.h). */
#include <string.h>
#include <strings.h>

#include "http/multipart.h"

#define BOUNDARY_MAX 70 /* RFC 2046 §5.1.1 */

static bool media_prefix(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

bool multipart_is_form_data(const char *content_type)
{
	return media_prefix(content_type, "multipart/form-data");
}

/* The boundary parameter of a Content-Type value. */
static status boundary_of(const char *ct, char *out, size_t *outn, struct err *e)
{
	const char *p = strchr(ct, ';');
	size_t n = 0;

	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) == 0) {
			p += 9;
			if (*p == '"') {
				p++;
				while (p[n] != '\0' && p[n] != '"')
					n++;
				if (p[n] != '"')
					return err_set(e, ST_INVALID,
						       "multipart: unterminated boundary");
			} else {
				while (p[n] != '\0' && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
					n++;
			}
			if (n == 0 || n > BOUNDARY_MAX)
				return err_set(
				    e, ST_INVALID,
				    "multipart: the boundary must have 1 to %d characters",
				    BOUNDARY_MAX);
			memcpy(out, p, n);
			*outn = n;
			return ST_OK;
		}
		p = strchr(p, ';');
	}
	return err_set(e, ST_INVALID, "multipart: no boundary parameter in Content-Type");
}

/* Value of parameter `param` ("name", "filename") in a Content-Disposition
 * value `v`: a quoted string without escapes. SV_NULL when absent. */
static status disposition_param(struct sv v, const char *param, struct sv *out, struct err *e)
{
	size_t pn = strlen(param);

	*out = SV_NULL;
	for (size_t i = 0; i < v.n; i++) {
		const char *q, *end;
		if (v.p[i] != ';')
			continue;
		i++;
		while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t'))
			i++;
		if (v.n - i < pn + 1 || strncasecmp(v.p + i, param, pn) != 0 || v.p[i + pn] != '=')
			continue;
		q = v.p + i + pn + 1;
		if (q >= v.p + v.n || *q != '"')
			return err_set(e, ST_INVALID,
				       "multipart: Content-Disposition %s must be a quoted string",
				       param);
		q++;
		end = memchr(q, '"', (size_t)(v.p + v.n - q));
		if (end == NULL || memchr(q, '\\', (size_t)(end - q)) != NULL)
			return err_set(e, ST_INVALID,
				       "multipart: Content-Disposition %s: unterminated or escaped",
				       param);
		out->p = q;
		out->n = (size_t)(end - q);
		return ST_OK;
	}
	return ST_OK;
}

/* Parses the header section `h` of a part. */
static status part_headers(struct sv h, struct sv *name, struct multipart_part *part, struct err *e)
{
	bool disposition = false;
	status st;

	*name = SV_NULL;
	part->content_type = SV_NULL;
	part->filename = SV_NULL;
	while (h.n > 0) {
		const char *eol = memmem(h.p, h.n, "\r\n", 2);
		struct sv line = {h.p, eol != NULL ? (size_t)(eol - h.p) : h.n}, key, val;
		const char *colon = memchr(line.p, ':', line.n);

		h.p += line.n + (eol != NULL ? 2 : 0);
		h.n -= line.n + (eol != NULL ? 2 : 0);
		if (colon == NULL)
			return err_set(e, ST_INVALID, "multipart: a part header without ':'");
		key.p = line.p;
		key.n = (size_t)(colon - line.p);
		val.p = colon + 1;
		val.n = line.n - key.n - 1;
		while (val.n > 0 && (*val.p == ' ' || *val.p == '\t')) {
			val.p++;
			val.n--;
		}
		for (size_t i = 0; i < line.n; i++)
			if ((unsigned char)line.p[i] < 0x20 && line.p[i] != '\t')
				return err_set(e, ST_INVALID,
					       "multipart: a control character in a part header");
		if (key.n == 19 && strncasecmp(key.p, "Content-Disposition", 19) == 0) {
			if (disposition)
				return err_set(e, ST_INVALID,
					       "multipart: a part with two Content-Disposition "
					       "headers");
			disposition = true;
			if (val.n < 9 || strncasecmp(val.p, "form-data", 9) != 0)
				return err_set(e, ST_INVALID,
					       "multipart: Content-Disposition must be form-data");
			if ((st = disposition_param(val, "name", name, e)) != ST_OK ||
			    (st = disposition_param(val, "filename", &part->filename, e)) != ST_OK)
				return st;
		} else if (key.n == 12 && strncasecmp(key.p, "Content-Type", 12) == 0) {
			part->content_type = val;
		}
	}
	if (!disposition || name->p == NULL)
		return err_set(e, ST_INVALID,
			       "multipart: a part without a Content-Disposition name");
	return ST_OK;
}

status multipart_find(const char *content_type, struct sv body, const char *name,
		      struct multipart_part *out, struct err *e)
{
	char delim[BOUNDARY_MAX + 4] = "\r\n--";
	size_t bn = 0, dn, parts = 0;
	const char *p, *end = body.p + body.n;
	bool found = false;
	status st;

	if (!multipart_is_form_data(content_type))
		return err_set(e, ST_INVALID, "multipart: Content-Type is not multipart/form-data");
	if ((st = boundary_of(content_type, delim + 4, &bn, e)) != ST_OK)
		return st;
	dn = bn + 4;
	/* The first delimiter has no CRLF before it (a preamble is refused). */
	if (body.n < dn - 2 || memcmp(body.p, delim + 2, dn - 2) != 0)
		return err_set(e, ST_INVALID, "multipart: the body must start with the boundary");
	p = body.p + dn - 2;
	for (;;) {
		const char *hend, *next;
		struct sv pname, headers;
		struct multipart_part part;

		if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
			break; /* close delimiter */
		if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n')
			return err_set(e, ST_INVALID,
				       "multipart: a boundary line must end with CRLF");
		p += 2;
		if (++parts > MULTIPART_PARTS_MAX)
			return err_set(e, ST_INVALID, "multipart: more than %d parts",
				       MULTIPART_PARTS_MAX);
		hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL || (size_t)(hend - p) > MULTIPART_HEADER_MAX)
			return err_set(e, ST_INVALID,
				       "multipart: a part's headers must end with an empty line "
				       "within %d bytes",
				       MULTIPART_HEADER_MAX);
		headers.p = p;
		headers.n = (size_t)(hend - p);
		if ((st = part_headers(headers, &pname, &part, e)) != ST_OK)
			return st;
		p = hend + 4;
		next = memmem(p, (size_t)(end - p), delim, dn);
		if (next == NULL)
			return err_set(e, ST_INVALID,
				       "multipart: a part is not closed by the boundary");
		part.data.p = p;
		part.data.n = (size_t)(next - p);
		if (pname.n == strlen(name) && memcmp(pname.p, name, pname.n) == 0) {
			if (found)
				return err_set(e, ST_INVALID, "multipart: part '%s' comes twice",
					       name);
			*out = part;
			found = true;
		}
		p = next + dn;
	}
	return found ? ST_OK : err_set(e, ST_NOT_FOUND, "multipart: no part named '%s'", name);
}
