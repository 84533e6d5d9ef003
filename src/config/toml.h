/* toml.h - a strict, bounded parser for the TOML subset of deployment.toml.
 *
 * Pure: no I/O, no globals. The input is a byte buffer; the output is a flat
 * list of (table path, key, typed value, line) plus the list of tables that
 * were named by headers, all owned by a `struct toml_doc` and released by
 * toml_doc_free(). Supported: comments, `[table]` / `[a.b.c]` headers with
 * bare segments, `key = value` with a bare key, basic and literal strings,
 * decimal integers, booleans, and arrays of strings. Everything else TOML
 * knows (dotted or quoted keys, inline tables, arrays of tables, floats,
 * dates, multi-line strings, hex/octal/binary integers) is rejected with a
 * "FILE:LINE: reason" message naming the construct.
 *
 * Input bounds come from lib/limits.h (LIMIT_CONFIG_FILE, LIMIT_CONFIG_LINE,
 * LIMIT_CONFIG_ARRAY) and from the two below. */
#ifndef GRANTD_CONFIG_TOML_H
#define GRANTD_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/err.h"
#include "lib/str.h"

/* deployment.toml has about fifty keys in ten tables; these bounds only stop
 * a hostile or broken file from making duplicate detection quadratic. */
#define TOML_MAX_KEYS   1024
#define TOML_MAX_TABLES 256

enum toml_type {
	TOML_STRING = 1,
	TOML_INT,
	TOML_BOOL,
	TOML_ARRAY, /* array of strings (possibly empty) */
};

struct toml_value {
	enum toml_type type;
	const char *s;      /* TOML_STRING: valid UTF-8, NUL-terminated, no NUL inside */
	size_t slen;        /* its length in bytes */
	int64_t i;          /* TOML_INT */
	bool b;             /* TOML_BOOL */
	const char **items; /* TOML_ARRAY: `nitems` strings as for TOML_STRING */
	size_t nitems;
};

struct toml_kv {
	const char *table; /* "" for the root table, else "a.b.c" */
	const char *key;
	int line; /* 1-based line of the key */
	struct toml_value v;
};

struct toml_table {
	const char *path; /* "a.b.c" */
	int line;         /* line of the header, or of the first header that implied it */
	bool defined;     /* named by its own header (not only implied by [a.b.c]) */
};

struct toml_doc {
	struct toml_kv *kv; /* in file order */
	size_t nkv;
	struct toml_table *tables; /* in order of first appearance */
	size_t ntables;
	/* private */
	size_t kvcap, tabcap;
	struct arena arena;
};

/* Parses `len` bytes of `buf` into `doc` (which need not be initialised).
 * `fname` is used only in messages. On success returns ST_OK; otherwise
 * ST_INVALID (or ST_TOO_LARGE for the size limits, ST_NOMEM) with
 * "FNAME:LINE: reason" in `e`. In both cases the caller must call
 * toml_doc_free(doc). */
status toml_parse(struct toml_doc *doc, const char *buf, size_t len, const char *fname,
		  struct err *e);

/* Parses `text` as exactly one TOML value (string, integer, boolean or array
 * of strings; surrounding spaces allowed, no comments, no newlines) into
 * `out`, allocating from `doc` (initialised by toml_doc_init or toml_parse).
 * Used for environment overrides. On failure returns ST_INVALID with the bare
 * reason (no file or line) in `e`. */
status toml_parse_value(struct toml_doc *doc, struct sv text, struct toml_value *out,
			struct err *e);

/* Makes an empty document (for toml_parse_value without a file). */
void toml_doc_init(struct toml_doc *doc);
void toml_doc_free(struct toml_doc *doc);

/* True when `s` is valid UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF) without control characters other than tab. */
bool toml_text_valid(struct sv s);

/* A short human name of a value type ("a string", "an integer", ...). */
const char *toml_type_name(enum toml_type t);

#endif
