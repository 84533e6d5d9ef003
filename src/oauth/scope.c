/* scope.c - OAuth scope strings (see scope.h). */
#include "oauth/scope.h"

#include <string.h>

#include "oauth/oauth.h"

bool scope_token_char(unsigned char ch)
{
	return ch == 0x21 || (ch >= 0x23 && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e);
}

/* Whether the token [p, p+n) occurs in the normalised list `s`. */
static bool has_token(const char *s, const char *p, size_t n)
{
	while (s != NULL && *s != '\0') {
		const char *end = strchr(s, ' ');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len == n && memcmp(s, p, n) == 0)
			return true;
		s = end ? end + 1 : NULL;
	}
	return false;
}

status scope_normalise(struct arena *a, const char *scope, const char **out, struct err *e)
{
	size_t n = scope ? strlen(scope) : 0, at = 0;
	char *norm;

	*out = NULL;
	if (n == 0)
		return ST_OK;
	if (n > SCOPE_MAX)
		return err_set(e, ST_INVALID, "scope is longer than %d bytes", SCOPE_MAX);
	if ((norm = arena_alloc(a, n + 1)) == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n;) {
		size_t start;
		if (scope[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < n && scope[i] != ' ') {
			if (!scope_token_char((unsigned char)scope[i]))
				return err_set(e, ST_INVALID,
					       "scope contains a character that is not allowed "
					       "(RFC 6749 section 3.3) at byte %zu",
					       i);
			i++;
		}
		norm[at] = '\0';
		if (has_token(norm, scope + start, i - start))
			continue;
		if (at > 0)
			norm[at++] = ' ';
		memcpy(norm + at, scope + start, i - start);
		at += i - start;
	}
	norm[at] = '\0';
	*out = at > 0 ? norm : NULL;
	return ST_OK;
}

status scope_within(struct arena *a, const char *scope, const struct strlist *allowed,
		    const char *who, struct err *e)
{
	const char *s = scope;

	if (scope == NULL || allowed == NULL || allowed->n == 0)
		return ST_OK;
	while (s != NULL && *s != '\0') {
		const char *end = strchr(s, ' ');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		bool ok = len == 6 && memcmp(s, "openid", 6) == 0;
		for (size_t i = 0; i < allowed->n && !ok; i++)
			ok = strlen(allowed->v[i]) == len && memcmp(allowed->v[i], s, len) == 0;
		if (!ok) {
			struct buf list = {0};
			char *tok = arena_strndup(a, s, len);
			for (size_t i = 0; i < allowed->n; i++) {
				if (list.n + strlen(allowed->v[i]) > 200) {
					buf_append_cstr(&list, i > 0 ? ", ..." : "...");
					break;
				}
				if (i > 0)
					buf_append_cstr(&list, ", ");
				buf_append_cstr(&list, allowed->v[i]);
			}
			err_set(e, ST_INVALID, "scope '%s' is not allowed by %s (allowed: %s)",
				oauth_show(a, tok, OAUTH_SHOW_MAX), who, list.p ? list.p : "");
			buf_free(&list);
			return ST_INVALID;
		}
		s = end ? end + 1 : NULL;
	}
	return ST_OK;
}

bool scope_has(const char *scope, const char *token)
{
	return has_token(scope, token, strlen(token));
}

bool scope_subset(struct arena *a, const char *scope, const char *granted, const char **extra)
{
	const char *s = scope;

	while (s != NULL && *s != '\0') {
		const char *end = strchr(s, ' ');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (!has_token(granted, s, len)) {
			if (extra != NULL)
				*extra = arena_strndup(a, s, len);
			return false;
		}
		s = end ? end + 1 : NULL;
	}
	return true;
}
