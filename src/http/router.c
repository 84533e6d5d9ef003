/* router.c - path validation, tenant prefix, route matching (see router.h). */
#include "http/router.h"

#include <string.h>

#include "http/form.h"
#include "lib/limits.h"

/* Patterns are written by us, not by clients: a pattern with more segments
 * than this is a bug in a route table and simply never matches. */
#define ROUTER_MAX_SEGMENTS 32

enum seg_kind { SEG_PARAM = 1, SEG_LITERAL = 2 };

static const struct {
	const char *name;
	enum http_method bit;
} methods[] = {
    {"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},       {"PUT", HTTP_PUT},
    {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
};

enum http_method router_method(const char *name)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(name, methods[i].name) == 0)
			return methods[i].bit;
	return HTTP_OTHER;
}

const char *router_allow(struct arena *a, unsigned mask)
{
	char line[64];
	size_t n = 0;

	if (mask & HTTP_GET)
		mask |= HTTP_HEAD;
	line[0] = '\0';
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		size_t len = strlen(methods[i].name);
		if (!(mask & methods[i].bit))
			continue;
		if (n > 0) {
			memcpy(line + n, ", ", 2);
			n += 2;
		}
		memcpy(line + n, methods[i].name, len);
		n += len;
	}
	return arena_strndup(a, line, n);
}

/* RFC 3986 pchar (unreserved / sub-delims / ":" / "@"), plus '/' and the
 * '%' of an escape (checked by the decoder). */
static bool path_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@/%", c) != NULL;
}

status router_path_decode(struct arena *a, struct sv raw, struct sv *out, struct err *e)
{
	struct sv rest, seg;
	status st;

	*out = SV_NULL;
	if (raw.n > LIMIT_HTTP_PATH)
		return err_set(e, ST_TOO_LARGE, "path longer than %d bytes", LIMIT_HTTP_PATH);
	if (raw.n == 0 || raw.p[0] != '/')
		return err_set(e, ST_INVALID, "path must start with '/'");
	for (size_t i = 0; i < raw.n; i++) {
		unsigned char c = (unsigned char)raw.p[i];
		if (!path_char(c))
			return err_set(e, ST_INVALID, "invalid character in path");
		/* An encoded '/' would let one segment pose as two (or hide a
		 * "..") once decoded: refuse it outright. */
		if (c == '%' && raw.n - i >= 3 && raw.p[i + 1] == '2' &&
		    (raw.p[i + 2] == 'f' || raw.p[i + 2] == 'F'))
			return err_set(e, ST_INVALID, "encoded '/' in path");
	}
	if ((st = form_decode(a, raw, false, out, e)) != ST_OK) {
		*out = SV_NULL;
		return st == ST_NOMEM ? st : err_set(e, ST_INVALID, "path: %s", e ? e->msg : "");
	}
	for (size_t i = 0; i < out->n; i++) {
		unsigned char c = (unsigned char)out->p[i];
		if (c < 0x20 || c == 0x7f) {
			*out = SV_NULL;
			return err_set(e, ST_INVALID, "encoded control character in path");
		}
	}
	/* Segment checks run on the decoded form, so "%2e%2e" is caught too. */
	rest = (struct sv){out->p + 1, out->n - 1};
	while (rest.p != NULL) {
		rest = sv_cut(rest, '/', &seg);
		if (seg.n == 0 && rest.p != NULL)
			goto bad_segment;
		if (sv_eq(seg, SV(".")) || sv_eq(seg, SV("..")))
			goto bad_segment;
	}
	return ST_OK;
bad_segment:
	*out = SV_NULL;
	return err_set(e, ST_INVALID, "empty, '.' or '..' segment in path");
}

static bool label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

bool router_tenant_valid(struct sv d)
{
	struct sv rest = d, label;

	if (d.n == 0 || d.n > LIMIT_TENANT_DOMAIN)
		return false;
	while (rest.p != NULL) {
		rest = sv_cut(rest, '.', &label);
		if (label.n == 0 || label.n > 63)
			return false;
		if (label.p[0] == '-' || label.p[label.n - 1] == '-')
			return false;
		for (size_t i = 0; i < label.n; i++)
			if (!label_char((unsigned char)label.p[i]))
				return false;
	}
	return true;
}

status router_split_tenant(struct sv path, struct sv *tenant, struct sv *rest)
{
	struct sv after, dom, tail;

	*tenant = SV_NULL;
	*rest = path;
	if (!sv_eq(path, SV("/t")) && !sv_starts_with(path, SV("/t/")))
		return ST_OK;
	*rest = SV_NULL;
	if (path.n <= 3)
		return ST_NOT_FOUND;
	after = (struct sv){path.p + 3, path.n - 3};
	tail = sv_cut(after, '/', &dom);
	/* Keep the '/' that sv_cut() consumed: rest always starts with '/'. */
	*rest = tail.p != NULL ? (struct sv){tail.p - 1, tail.n + 1} : SV("/");
	if (!router_tenant_valid(dom))
		return ST_NOT_FOUND;
	*tenant = dom;
	return ST_OK;
}

/* Splits a pattern into segment kinds: *n segments, *trailing when the
 * pattern ends with '/' (its last, empty segment is not counted, so "/" has
 * none). False for a pattern this router does not accept (not starting with
 * '/', too many segments or parameters). */
static bool pattern_kinds(const char *pat, unsigned char kinds[ROUTER_MAX_SEGMENTS], size_t *n,
			  bool *trailing)
{
	struct sv rest = sv_from(pat), seg;
	size_t nparams = 0;

	*n = 0;
	*trailing = false;
	if (rest.n == 0 || rest.p[0] != '/')
		return false;
	rest = (struct sv){rest.p + 1, rest.n - 1};
	while (rest.p != NULL) {
		rest = sv_cut(rest, '/', &seg);
		if (seg.n == 0 && rest.p == NULL) {
			*trailing = true;
			break;
		}
		if (*n == ROUTER_MAX_SEGMENTS)
			return false;
		if (seg.n >= 2 && seg.p[0] == '{' && seg.p[seg.n - 1] == '}') {
			if (++nparams > LIMIT_ROUTE_PARAMS)
				return false;
			kinds[(*n)++] = SEG_PARAM;
		} else {
			kinds[(*n)++] = SEG_LITERAL;
		}
	}
	return true;
}

/* Matches one pattern; fills params on success. */
static bool match_pattern(const struct http_route *r, struct sv path,
			  struct sv params[LIMIT_ROUTE_PARAMS], size_t *nparams)
{
	unsigned char kinds[ROUTER_MAX_SEGMENTS];
	bool trailing, prefix = (r->flags & HTTP_ROUTE_PREFIX) != 0;
	struct sv prest, xrest, pseg, xseg;
	size_t k, np = 0;

	if (!pattern_kinds(r->pattern, kinds, &k, &trailing) || path.n == 0 || path.p[0] != '/')
		return false;
	if (trailing && !prefix)
		k++; /* an exact pattern "/a/" must match its empty last segment */
	prest = sv_from(r->pattern + 1);
	xrest = (struct sv){path.p + 1, path.n - 1};
	for (size_t i = 0; i < k; i++) {
		if (xrest.p == NULL)
			return false; /* the path has fewer segments */
		prest = sv_cut(prest, '/', &pseg);
		xrest = sv_cut(xrest, '/', &xseg);
		if (pseg.n >= 2 && pseg.p[0] == '{' && pseg.p[pseg.n - 1] == '}') {
			if (xseg.n == 0)
				return false;
			params[np++] = xseg;
		} else if (!sv_eq(pseg, xseg)) {
			return false;
		}
	}
	if (prefix) {
		/* "/a/" needs something (possibly empty) after "/a/". */
		if (trailing && xrest.p == NULL)
			return false;
	} else if (xrest.p != NULL) {
		return false; /* the path has more segments */
	}
	*nparams = np;
	return true;
}

/* >0 when route a is more specific than b, <0 when less, 0 when equal. */
static int specificity(const struct http_route *a, const struct http_route *b)
{
	unsigned char ka[ROUTER_MAX_SEGMENTS], kb[ROUTER_MAX_SEGMENTS];
	bool ta, tb;
	size_t na, nb;
	bool pa = (a->flags & HTTP_ROUTE_PREFIX) != 0, pb = (b->flags & HTTP_ROUTE_PREFIX) != 0;

	/* Both already matched, so both patterns are valid. */
	(void)pattern_kinds(a->pattern, ka, &na, &ta);
	(void)pattern_kinds(b->pattern, kb, &nb, &tb);
	for (size_t i = 0; i < na && i < nb; i++)
		if (ka[i] != kb[i])
			return ka[i] > kb[i] ? 1 : -1;
	if (na != nb)
		return na > nb ? 1 : -1;
	if (pa != pb)
		return pa ? -1 : 1;
	if (ta != tb)
		return ta ? 1 : -1;
	return 0;
}

static bool allows(unsigned mask, enum http_method m)
{
	return (mask & (unsigned)m) || (m == HTTP_HEAD && (mask & HTTP_GET));
}

enum router_result router_match(const struct http_route *routes, size_t nroutes,
				enum http_method method, struct sv path, unsigned skip_flags,
				struct router_match *m)
{
	struct sv params[LIMIT_ROUTE_PARAMS];
	size_t np = 0;
	bool path_matched = false;

	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < nroutes; i++) {
		const struct http_route *r = &routes[i];
		if ((r->flags & skip_flags) || r->pattern == NULL)
			continue;
		if (!match_pattern(r, path, params, &np))
			continue;
		path_matched = true;
		m->allowed |= r->methods;
		if (!allows(r->methods, method))
			continue;
		if (m->route == NULL || specificity(r, m->route) > 0) {
			m->route = r;
			memcpy(m->params, params, sizeof params);
			m->nparams = np;
		}
	}
	if (m->route != NULL) {
		m->allowed = 0;
		return ROUTER_FOUND;
	}
	if (!path_matched)
		return ROUTER_NOT_FOUND;
	if (m->allowed & HTTP_GET)
		m->allowed |= HTTP_HEAD;
	return ROUTER_METHOD_NOT_ALLOWED;
}
