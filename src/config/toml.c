/* toml.c - the strict TOML subset of deployment.toml (see toml.h).
 *
 * Two passes. The first checks the bytes of the whole file (size, line
 * length, NUL, control characters, UTF-8), so the second, a recursive-descent
 * parser, only ever sees well-formed text and can report the first
 * structural problem with its line. Everything is allocated from the
 * document's arena. */
#include "config/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/limits.h"

/* Parsed data is never larger than a few times the input; the arena cap only
 * makes that bound explicit. */
#define TOML_ARENA_MAX (16u * LIMIT_CONFIG_FILE)

/* Longest key or table name quoted back in a message. */
#define MSG_NAME_MAX 64

struct parser {
	const char *s;
	size_t n, i;
	int line;
	const char *fname; /* NULL: messages without "file:line: " */
	const char *table; /* current table path ("" = root) */
	struct toml_doc *doc;
	struct err *e;
};

static status fail(struct parser *p, int line, status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static status fail(struct parser *p, int line, status st, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->fname == NULL)
		return err_set(p->e, st, "%s", msg);
	return err_set(p->e, st, "%s:%d: %s", p->fname, line, msg);
}

static status nomem(struct parser *p)
{
	return fail(p, p->line, ST_NOMEM, "out of memory");
}

/* ---- bytes ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at the start of s (n > 0), 0 if none.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0; /* continuation byte, or overlong 2-byte form */
	if (c < 0xe0)
		k = 2;
	else if (c < 0xf0)
		k = 3;
	else if (c < 0xf5)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t j = 1; j < k; j++)
		if ((s[j] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && s[1] < 0xa0)
		return 0; /* overlong */
	if (c == 0xed && s[1] >= 0xa0)
		return 0; /* U+D800..U+DFFF */
	if (c == 0xf0 && s[1] < 0x90)
		return 0; /* overlong */
	if (c == 0xf4 && s[1] >= 0x90)
		return 0; /* above U+10FFFF */
	return k;
}

static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

bool toml_text_valid(struct sv s)
{
	const unsigned char *u = (const unsigned char *)s.p;
	size_t i = 0;

	while (i < s.n) {
		size_t k;
		if (is_ctl(u[i]))
			return false;
		k = utf8_seq(u + i, s.n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Pass one: limits, NUL, control characters, UTF-8, line length. */
static status prescan(struct parser *p)
{
	const unsigned char *u = (const unsigned char *)p->s;
	size_t i = p->i, start = p->i;
	int line = 1;

	if (p->n > LIMIT_CONFIG_FILE) {
		for (size_t j = 0; j < LIMIT_CONFIG_FILE; j++)
			line += u[j] == '\n';
		return fail(p, line, ST_TOO_LARGE, "file too large (more than %d bytes)",
			    LIMIT_CONFIG_FILE);
	}
	while (i < p->n) {
		unsigned char c = u[i];
		size_t k;

		if (c == '\n') {
			size_t len = i - start;
			if (len > 0 && u[i - 1] == '\r')
				len--;
			if (len > LIMIT_CONFIG_LINE)
				return fail(p, line, ST_TOO_LARGE,
					    "line too long (more than %d bytes)",
					    LIMIT_CONFIG_LINE);
			line++;
			start = ++i;
			continue;
		}
		if (c == '\r' && i + 1 < p->n && u[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c == 0)
			return fail(p, line, ST_INVALID, "NUL byte in file");
		if (c == '\r')
			return fail(p, line, ST_INVALID,
				    "carriage return not followed by a line feed");
		if (is_ctl(c))
			return fail(p, line, ST_INVALID, "control character U+%04X in file", c);
		k = utf8_seq(u + i, p->n - i);
		if (k == 0)
			return fail(p, line, ST_INVALID, "invalid UTF-8");
		i += k;
	}
	if (i - start > LIMIT_CONFIG_LINE)
		return fail(p, line, ST_TOO_LARGE, "line too long (more than %d bytes)",
			    LIMIT_CONFIG_LINE);
	return ST_OK;
}

/* ---- cursor ----------------------------------------------------------- */

static bool eof(const struct parser *p)
{
	return p->i >= p->n;
}

static int peek(const struct parser *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static int peek_at(const struct parser *p, size_t k)
{
	return p->i + k < p->n ? (unsigned char)p->s[p->i + k] : -1;
}

static bool at_eol(const struct parser *p)
{
	int c = peek(p);
	return c == -1 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n');
}

/* Consumes one line break (if any). */
static void eat_eol(struct parser *p)
{
	if (peek(p) == '\r')
		p->i++;
	if (peek(p) == '\n') {
		p->i++;
		p->line++;
	}
}

static void skip_ws(struct parser *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		p->i++;
}

static void skip_comment(struct parser *p)
{
	if (peek(p) == '#')
		while (!at_eol(p))
			p->i++;
}

/* Inside arrays: spaces, line breaks and comments. */
static void skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		skip_comment(p);
		if (eof(p) || !at_eol(p))
			return;
		eat_eol(p);
	}
}

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static struct sv scan_bare(struct parser *p)
{
	size_t start = p->i;
	while (is_bare(peek(p)))
		p->i++;
	return (struct sv){p->s + start, p->i - start};
}

/* Trailing spaces and comment, then the end of the line. */
static status end_of_line(struct parser *p, const char *after)
{
	skip_ws(p);
	skip_comment(p);
	if (!at_eol(p))
		return fail(p, p->line, ST_INVALID, "unexpected text after the %s", after);
	eat_eol(p);
	return ST_OK;
}

/* ---- values ----------------------------------------------------------- */

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static status set_string(struct parser *p, struct toml_value *v, const char *s, size_t n)
{
	char *d = arena_strndup(&p->doc->arena, s, n);
	if (d == NULL)
		return nomem(p);
	v->type = TOML_STRING;
	v->s = d;
	v->slen = n;
	return ST_OK;
}

/* "\uXXXX" or "\UXXXXXXXX" after the backslash and letter; appends UTF-8. */
static status parse_ucn(struct parser *p, int digits, char *out, size_t *olen)
{
	uint32_t cp = 0;

	for (int k = 0; k < digits; k++) {
		int h = hex_digit_value(peek(p));
		if (h < 0)
			return fail(p, p->line, ST_INVALID,
				    "invalid \\%c escape: expected %d hexadecimal digits",
				    digits == 4 ? 'u' : 'U', digits);
		cp = cp << 4 | (uint32_t)h;
		p->i++;
	}
	if (cp == 0)
		return fail(p, p->line, ST_INVALID, "escaped NUL (U+0000) is not allowed");
	if (cp >= 0xd800 && cp <= 0xdfff)
		return fail(p, p->line, ST_INVALID,
			    "invalid escape: U+%04X is a surrogate, not a Unicode scalar value",
			    (unsigned)cp);
	if (cp > 0x10ffff)
		return fail(p, p->line, ST_INVALID, "invalid escape: U+%X is beyond U+10FFFF",
			    (unsigned)cp);
	*olen += utf8_put(cp, out + *olen);
	return ST_OK;
}

static status parse_basic_string(struct parser *p, struct toml_value *v)
{
	/* A string is never longer than its line; escapes only shrink it. */
	char out[LIMIT_CONFIG_LINE + 8];
	size_t o = 0;
	status st;

	p->i++; /* opening quote */
	for (;;) {
		int c = peek(p);

		if (at_eol(p))
			return fail(p, p->line, ST_INVALID, "unterminated string");
		if (o + 4 >= sizeof out)
			return fail(p, p->line, ST_TOO_LARGE, "string too long");
		if (c == '"') {
			p->i++;
			break;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			p->i++;
			continue;
		}
		p->i++;
		if (at_eol(p))
			return fail(p, p->line, ST_INVALID, "unterminated string");
		c = peek(p);
		p->i++;
		switch (c) {
		case 'b': out[o++] = '\b'; break;
		case 't': out[o++] = '\t'; break;
		case 'n': out[o++] = '\n'; break;
		case 'f': out[o++] = '\f'; break;
		case 'r': out[o++] = '\r'; break;
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'u':
		case 'U':
			st = parse_ucn(p, c == 'u' ? 4 : 8, out, &o);
			if (st != ST_OK)
				return st;
			break;
		default:
			if (c > 0x20 && c < 0x7f)
				return fail(p, p->line, ST_INVALID,
					    "invalid escape sequence '\\%c'", c);
			return fail(p, p->line, ST_INVALID, "invalid escape sequence");
		}
	}
	return set_string(p, v, out, o);
}

static status parse_literal_string(struct parser *p, struct toml_value *v)
{
	size_t start;

	p->i++;
	start = p->i;
	while (peek(p) != '\'') {
		if (at_eol(p))
			return fail(p, p->line, ST_INVALID, "unterminated string");
		p->i++;
	}
	p->i++;
	return set_string(p, v, p->s + start, p->i - 1 - start);
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_tokchar(int c)
{
	return is_bare(c) || c == '+' || c == '.' || c == ':';
}

static bool looks_like_date(struct sv t)
{
	static const char shape[] = "dddd-dd-dd";
	if (t.n < sizeof shape - 1)
		return false;
	for (size_t k = 0; k < sizeof shape - 1; k++)
		if (shape[k] == 'd' ? !is_digit(t.p[k]) : t.p[k] != shape[k])
			return false;
	return true;
}

/* TOML float shapes: [+-](inf|nan), or [+-]digits with a fraction and/or an
 * exponent. Only used to give a precise "not supported" message. */
static bool looks_like_float(struct sv t)
{
	size_t k = 0;
	bool frac = false, exp = false;

	if (k < t.n && (t.p[k] == '+' || t.p[k] == '-'))
		k++;
	if (t.n - k == 3 && (memcmp(t.p + k, "inf", 3) == 0 || memcmp(t.p + k, "nan", 3) == 0))
		return true;
	if (k == t.n || !is_digit(t.p[k]))
		return false;
	while (k < t.n && (is_digit(t.p[k]) || t.p[k] == '_'))
		k++;
	if (k < t.n && t.p[k] == '.') {
		frac = true;
		k++;
		while (k < t.n && (is_digit(t.p[k]) || t.p[k] == '_'))
			k++;
	}
	if (k < t.n && (t.p[k] == 'e' || t.p[k] == 'E')) {
		exp = true;
		k++;
		if (k < t.n && (t.p[k] == '+' || t.p[k] == '-'))
			k++;
		while (k < t.n && (is_digit(t.p[k]) || t.p[k] == '_'))
			k++;
	}
	return k == t.n && (frac || exp);
}

static status parse_integer(struct parser *p, struct sv t, int64_t *out)
{
	size_t k = 0, first;
	bool neg = false;
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;

	if (t.p[0] == '+' || t.p[0] == '-') {
		neg = t.p[0] == '-';
		k = 1;
	}
	if (neg)
		lim += 1;
	first = k;
	if (k == t.n)
		return fail(p, p->line, ST_INVALID, "invalid integer");
	if (t.p[k] == '0' && t.n - k > 1)
		return fail(p, p->line, ST_INVALID, "leading zeros are not allowed in integers");
	for (; k < t.n; k++) {
		unsigned d;
		if (t.p[k] == '_') {
			if (k == first || k + 1 == t.n || !is_digit(t.p[k - 1]) ||
			    !is_digit(t.p[k + 1]))
				return fail(p, p->line, ST_INVALID,
					    "'_' in an integer must be between two digits");
			continue;
		}
		d = (unsigned)(t.p[k] - '0');
		if (d > 9)
			return fail(p, p->line, ST_INVALID, "invalid integer");
		if (v > (lim - d) / 10)
			return fail(p, p->line, ST_INVALID, "integer out of range (64-bit)");
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return ST_OK;
}

/* Unquoted values: booleans and integers, and precise messages for the TOML
 * values this subset does not take. */
static status parse_bare_value(struct parser *p, struct toml_value *v)
{
	size_t start = p->i;
	struct sv t;
	bool numeric = true;
	size_t k = 0;

	while (is_tokchar(peek(p)))
		p->i++;
	t = (struct sv){p->s + start, p->i - start};
	if (t.n == 0)
		return fail(p, p->line, ST_INVALID, "expected a value");
	if (sv_eq_cstr(t, "true") || sv_eq_cstr(t, "false")) {
		v->type = TOML_BOOL;
		v->b = t.p[0] == 't';
		return ST_OK;
	}
	if (looks_like_date(t) || memchr(t.p, ':', t.n) != NULL)
		return fail(p, p->line, ST_INVALID, "dates and times are not supported");
	if (looks_like_float(t))
		return fail(p, p->line, ST_INVALID, "floats are not supported");
	if (t.p[0] == '+' || t.p[0] == '-')
		k = 1;
	if (t.n >= k + 2 && t.p[k] == '0' &&
	    (t.p[k + 1] == 'x' || t.p[k + 1] == 'o' || t.p[k + 1] == 'b'))
		return fail(p, p->line, ST_INVALID,
			    "hexadecimal, octal and binary integers are not supported");
	for (size_t j = k; j < t.n; j++)
		if (!is_digit(t.p[j]) && t.p[j] != '_')
			numeric = false;
	if (!numeric)
		return fail(p, p->line, ST_INVALID,
			    "invalid value (strings must be quoted, booleans are true or false)");
	v->type = TOML_INT;
	return parse_integer(p, t, &v->i);
}

static status parse_value(struct parser *p, struct toml_value *v);

static status parse_array(struct parser *p, struct toml_value *v)
{
	const char *items[LIMIT_CONFIG_ARRAY];
	size_t k = 0;
	int line0 = p->line;
	status st;

	p->i++; /* '[' */
	for (;;) {
		struct toml_value ev = {0};

		skip_blank(p);
		if (eof(p))
			return fail(p, line0, ST_INVALID, "unterminated array");
		if (peek(p) == ']') {
			p->i++;
			break;
		}
		if (peek(p) == ',')
			return fail(p, p->line, ST_INVALID, "expected a value before ','");
		if (peek(p) == '[')
			return fail(p, p->line, ST_INVALID, "nested arrays are not supported");
		st = parse_value(p, &ev);
		if (st != ST_OK)
			return st;
		if (ev.type != TOML_STRING)
			return fail(p, p->line, ST_INVALID,
				    "only arrays of strings are supported (found %s)",
				    toml_type_name(ev.type));
		if (k == LIMIT_CONFIG_ARRAY)
			return fail(p, p->line, ST_TOO_LARGE, "too many array items (more than %d)",
				    LIMIT_CONFIG_ARRAY);
		items[k++] = ev.s;
		skip_blank(p);
		if (eof(p))
			return fail(p, line0, ST_INVALID, "unterminated array");
		if (peek(p) == ',') {
			p->i++;
			continue;
		}
		if (peek(p) == ']') {
			p->i++;
			break;
		}
		return fail(p, p->line, ST_INVALID, "expected ',' or ']' in array");
	}
	v->type = TOML_ARRAY;
	v->nitems = k;
	v->items = arena_alloc(&p->doc->arena, (k ? k : 1) * sizeof *v->items);
	if (v->items == NULL)
		return nomem(p);
	if (k)
		memcpy(v->items, items, k * sizeof *items);
	return ST_OK;
}

static status parse_value(struct parser *p, struct toml_value *v)
{
	switch (peek(p)) {
	case '"':
		if (peek_at(p, 1) == '"' && peek_at(p, 2) == '"')
			return fail(p, p->line, ST_INVALID, "multi-line strings are not supported");
		return parse_basic_string(p, v);
	case '\'':
		if (peek_at(p, 1) == '\'' && peek_at(p, 2) == '\'')
			return fail(p, p->line, ST_INVALID, "multi-line strings are not supported");
		return parse_literal_string(p, v);
	case '[': return parse_array(p, v);
	case '{': return fail(p, p->line, ST_INVALID, "inline tables are not supported");
	default: return parse_bare_value(p, v);
	}
}

/* ---- document --------------------------------------------------------- */

static const char *show_table(const char *t)
{
	return t[0] ? t : "(top level)";
}

static struct toml_table *find_table(struct toml_doc *d, struct sv path)
{
	for (size_t k = 0; k < d->ntables; k++)
		if (sv_eq_cstr(path, d->tables[k].path))
			return &d->tables[k];
	return NULL;
}

static struct toml_kv *find_kv(struct toml_doc *d, struct sv table, struct sv key)
{
	for (size_t k = 0; k < d->nkv; k++)
		if (sv_eq_cstr(key, d->kv[k].key) && sv_eq_cstr(table, d->kv[k].table))
			return &d->kv[k];
	return NULL;
}

/* Grows an arena array of `size`-byte elements to hold one more. */
static void *grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	na = arena_alloc(a, ncap * size);
	if (na == NULL)
		return NULL;
	if (n)
		memcpy(na, arr, n * size);
	*cap = ncap;
	return na;
}

static status add_table(struct parser *p, struct sv path, int line, bool defined,
			struct toml_table **out)
{
	struct toml_doc *d = p->doc;
	struct toml_table *t;

	if (d->ntables == TOML_MAX_TABLES)
		return fail(p, line, ST_TOO_LARGE, "too many tables (more than %d)",
			    TOML_MAX_TABLES);
	t = grow(&d->arena, d->tables, d->ntables, &d->tabcap, sizeof *t);
	if (t == NULL)
		return nomem(p);
	d->tables = t;
	t = &d->tables[d->ntables];
	t->path = arena_sv(&d->arena, path);
	if (t->path == NULL)
		return nomem(p);
	t->line = line;
	t->defined = defined;
	d->ntables++;
	*out = t;
	return ST_OK;
}

/* `[a.b.c]`: defines a.b.c and implies a and a.b. None of the prefixes may
 * already be a key, and a.b.c may not have been defined by a header before. */
static status define_table(struct parser *p, struct sv path, int line)
{
	size_t seg = 0;
	struct toml_table *t = NULL;
	status st;

	for (size_t j = 0; j <= path.n; j++) {
		struct sv prefix, parent, name;
		struct toml_kv *kv;

		if (j < path.n && path.p[j] != '.')
			continue;
		prefix = (struct sv){path.p, j};
		parent = (struct sv){path.p, seg ? seg - 1 : 0};
		name = (struct sv){path.p + seg, j - seg};
		seg = j + 1;
		kv = find_kv(p->doc, parent, name);
		if (kv != NULL)
			return fail(p, line, ST_INVALID,
				    "table [%.*s] conflicts with key '%s' defined on line %d",
				    (int)(prefix.n > MSG_NAME_MAX ? MSG_NAME_MAX : prefix.n),
				    prefix.p, kv->key, kv->line);
		t = find_table(p->doc, prefix);
		if (j < path.n) {
			if (t == NULL) {
				st = add_table(p, prefix, line, false, &t);
				if (st != ST_OK)
					return st;
			}
			continue;
		}
		if (t != NULL && t->defined)
			return fail(
			    p, line, ST_INVALID, "table [%.*s] defined twice (first on line %d)",
			    (int)(path.n > MSG_NAME_MAX ? MSG_NAME_MAX : path.n), path.p, t->line);
		if (t != NULL) {
			t->defined = true;
			t->line = line;
		} else {
			st = add_table(p, prefix, line, true, &t);
			if (st != ST_OK)
				return st;
		}
	}
	p->table = t->path;
	return ST_OK;
}

static status parse_header(struct parser *p)
{
	char path[LIMIT_CONFIG_LINE + 1];
	size_t plen = 0;
	int line = p->line;
	status st;

	p->i++; /* '[' */
	if (peek(p) == '[')
		return fail(p, line, ST_INVALID, "arrays of tables ([[...]]) are not supported");
	for (;;) {
		struct sv name;

		skip_ws(p);
		if (peek(p) == '"' || peek(p) == '\'')
			return fail(p, line, ST_INVALID,
				    "quoted table names are not supported; use bare names "
				    "([A-Za-z0-9_-])");
		name = scan_bare(p);
		if (name.n == 0)
			return fail(p, line, ST_INVALID,
				    "invalid table name: expected a bare name ([A-Za-z0-9_-])");
		/* The header is one line, so the path always fits. */
		if (plen + name.n + 1 >= sizeof path)
			return fail(p, line, ST_TOO_LARGE, "table name too long");
		if (plen)
			path[plen++] = '.';
		memcpy(path + plen, name.p, name.n);
		plen += name.n;
		skip_ws(p);
		if (peek(p) == '.') {
			p->i++;
			continue;
		}
		if (peek(p) == ']') {
			p->i++;
			break;
		}
		if (at_eol(p))
			return fail(p, line, ST_INVALID, "unterminated table header (missing ']')");
		return fail(p, line, ST_INVALID, "invalid table header: expected '.' or ']'");
	}
	st = define_table(p, (struct sv){path, plen}, line);
	if (st != ST_OK)
		return st;
	return end_of_line(p, "table header");
}

static status parse_keyval(struct parser *p)
{
	struct toml_doc *d = p->doc;
	struct toml_value v = {0};
	struct toml_kv *kv;
	struct sv key, table = sv_from(p->table);
	int line = p->line;
	char child[2 * LIMIT_CONFIG_LINE + 2];
	status st;

	if (peek(p) == '"' || peek(p) == '\'')
		return fail(p, line, ST_INVALID,
			    "quoted keys are not supported; use a bare key ([A-Za-z0-9_-])");
	key = scan_bare(p);
	if (key.n == 0)
		return fail(p, line, ST_INVALID, "expected a key, a [table] header or a comment");
	skip_ws(p);
	if (peek(p) == '.')
		return fail(p, line, ST_INVALID,
			    "dotted keys are not supported; use a [table] header");
	if (peek(p) != '=')
		return fail(p, line, ST_INVALID, "expected '=' after key '%.*s'",
			    (int)(key.n > MSG_NAME_MAX ? MSG_NAME_MAX : key.n), key.p);
	p->i++;
	skip_ws(p);
	if (at_eol(p) || peek(p) == '#')
		return fail(p, line, ST_INVALID, "missing value after '='");
	st = parse_value(p, &v);
	if (st != ST_OK)
		return st;

	kv = find_kv(d, table, key);
	if (kv != NULL)
		return fail(p, line, ST_INVALID, "duplicate key '%s' in %s%s%s (first on line %d)",
			    kv->key, table.n ? "[" : "", show_table(p->table), table.n ? "]" : "",
			    kv->line);
	/* The table path and key each fit on one line. */
	snprintf(child, sizeof child, "%s%s%.*s", p->table, table.n ? "." : "", (int)key.n, key.p);
	{
		struct toml_table *t = find_table(d, sv_from(child));
		if (t != NULL)
			return fail(p, line, ST_INVALID,
				    "key '%.*s' conflicts with table [%.*s] (line %d)",
				    (int)(key.n > MSG_NAME_MAX ? MSG_NAME_MAX : key.n), key.p,
				    MSG_NAME_MAX, t->path, t->line);
	}
	if (d->nkv == TOML_MAX_KEYS)
		return fail(p, line, ST_TOO_LARGE, "too many keys (more than %d)", TOML_MAX_KEYS);
	kv = grow(&d->arena, d->kv, d->nkv, &d->kvcap, sizeof *kv);
	if (kv == NULL)
		return nomem(p);
	d->kv = kv;
	kv = &d->kv[d->nkv];
	kv->table = p->table;
	kv->key = arena_sv(&d->arena, key);
	if (kv->key == NULL)
		return nomem(p);
	kv->line = line;
	kv->v = v;
	d->nkv++;
	return end_of_line(p, "value");
}

void toml_doc_init(struct toml_doc *doc)
{
	memset(doc, 0, sizeof *doc);
	arena_init(&doc->arena, TOML_ARENA_MAX);
}

void toml_doc_free(struct toml_doc *doc)
{
	arena_free(&doc->arena);
	memset(doc, 0, sizeof *doc);
}

status toml_parse(struct toml_doc *doc, const char *buf, size_t len, const char *fname,
		  struct err *e)
{
	struct parser p = {.s = buf, .n = len, .line = 1, .table = "", .doc = doc, .e = e};
	status st;

	toml_doc_init(doc);
	p.fname = fname ? fname : "(config)";
	if (buf == NULL && len != 0)
		return fail(&p, 1, ST_INVALID, "no input");
	/* A UTF-8 byte order mark, as some editors write, is not content. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p.i = 3;
	st = prescan(&p);
	if (st != ST_OK)
		return st;
	while (!eof(&p)) {
		skip_ws(&p);
		skip_comment(&p);
		if (at_eol(&p)) {
			eat_eol(&p);
			continue;
		}
		if (peek(&p) == '[')
			st = parse_header(&p);
		else
			st = parse_keyval(&p);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

status toml_parse_value(struct toml_doc *doc, struct sv text, struct toml_value *out, struct err *e)
{
	struct parser p = {.s = text.p, .n = text.n, .line = 1, .table = "", .doc = doc, .e = e};
	status st;

	memset(out, 0, sizeof *out);
	if (!toml_text_valid(text))
		return fail(&p, 1, ST_INVALID, "invalid UTF-8 or control character in value");
	skip_ws(&p);
	if (eof(&p))
		return fail(&p, 1, ST_INVALID, "empty value");
	st = parse_value(&p, out);
	if (st != ST_OK)
		return st;
	skip_ws(&p);
	if (!eof(&p))
		return fail(&p, 1, ST_INVALID, "unexpected text after the value");
	return ST_OK;
}

const char *toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING: return "a string";
	case TOML_INT: return "an integer";
	case TOML_BOOL: return "a boolean";
	case TOML_ARRAY: return "an array";
	}
	return "a value";
}
