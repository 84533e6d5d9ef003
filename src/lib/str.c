#include "lib/str.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct sv sv_from(const char *s)
{
	return s ? (struct sv){s, strlen(s)} : (struct sv){"", 0};
}

bool sv_eq(struct sv a, struct sv b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool sv_eq_cstr(struct sv a, const char *s)
{
	return sv_eq(a, sv_from(s));
}

bool sv_starts_with(struct sv a, struct sv prefix)
{
	return a.n >= prefix.n && (prefix.n == 0 || memcmp(a.p, prefix.p, prefix.n) == 0);
}

struct sv sv_cut(struct sv s, char c, struct sv *head)
{
	const char *hit = s.n ? memchr(s.p, c, s.n) : NULL;
	if (hit == NULL) {
		*head = s;
		return SV_NULL;
	}
	*head = (struct sv){s.p, (size_t)(hit - s.p)};
	return (struct sv){hit + 1, s.n - head->n - 1};
}

status sv_to_i64(struct sv s, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;
	uint64_t lim = (uint64_t)INT64_MAX;

	if (s.n == 0)
		return ST_INVALID;
	if (s.p[0] == '-') {
		neg = true;
		lim += 1;
		i = 1;
	}
	if (i == s.n)
		return ST_INVALID;
	for (; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return ST_INVALID;
		if (v > (lim - d) / 10)
			return ST_INVALID;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return ST_OK;
}

status buf_reserve(struct buf *b, size_t extra)
{
	size_t max = b->max ? b->max : BUF_DEFAULT_MAX;
	size_t need, ncap;
	char *np;

	if (extra > max || b->n > max - extra)
		return ST_TOO_LARGE;
	need = b->n + extra + 1;
	if (need <= b->cap)
		return ST_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max + 1)
		ncap = max + 1;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return ST_NOMEM;
	b->p = np;
	b->cap = ncap;
	return ST_OK;
}

status buf_append(struct buf *b, const void *p, size_t n)
{
	status st = buf_reserve(b, n);
	if (st != ST_OK)
		return st;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return ST_OK;
}

status buf_append_cstr(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

status buf_append_sv(struct buf *b, struct sv s)
{
	return buf_append(b, s.p, s.n);
}

status buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

status buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;
	status st;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return ST_INTERNAL;
	st = buf_reserve(b, (size_t)len);
	if (st != ST_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
	return ST_OK;
}

status buf_json_str(struct buf *b, struct sv s)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->n;
	status st = buf_putc(b, '"');

	for (size_t i = 0; st == ST_OK && i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		char esc[7];
		switch (c) {
		case '"': st = buf_append(b, "\\\"", 2); break;
		case '\\': st = buf_append(b, "\\\\", 2); break;
		case '\n': st = buf_append(b, "\\n", 2); break;
		case '\r': st = buf_append(b, "\\r", 2); break;
		case '\t': st = buf_append(b, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				st = buf_append(b, esc, 6);
			} else {
				st = buf_putc(b, (char)c);
			}
		}
	}
	if (st == ST_OK)
		st = buf_putc(b, '"');
	if (st != ST_OK && b->p != NULL) {
		b->n = start;
		b->p[start] = '\0';
	}
	return st;
}

void buf_reset(struct buf *b)
{
	b->n = 0;
	if (b->p)
		b->p[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

char *buf_steal(struct buf *b)
{
	char *p = b->p;
	if (p == NULL)
		p = calloc(1, 1);
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

bool str_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n;
	if (dstsz == 0)
		return false;
	n = strlen(src);
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

char *str_dup_sv(struct sv s)
{
	char *p = malloc(s.n + 1);
	if (p == NULL)
		return NULL;
	if (s.n)
		memcpy(p, s.p, s.n);
	p[s.n] = '\0';
	return p;
}

int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void str_utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, lead;
	unsigned char c;
	size_t need;

	/* Find the start of the last sequence: at most 3 continuation bytes back. */
	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = i - 1;
	c = (unsigned char)s[lead];
	if (c < 0x80)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
	if (need == 0 || n - lead < need)
		s[lead] = '\0';
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void mem_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

void str_show(char *out, size_t outsz, const char *s, size_t n)
{
	size_t o = 0, max = outsz - 4;

	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] =
		    (c < 0x20 || c > 0x7e || c == '\'' || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if (n > max) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static bool is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct sv sv_trim(struct sv s)
{
	while (s.n > 0 && is_ascii_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_ascii_space(s.p[s.n - 1]))
		s.n--;
	return s;
}
