/* str.h - length-carrying string views and capped growable buffers.
 *
 * A `sv` borrows bytes it does not own. A `buf` owns its bytes, always keeps
 * them NUL-terminated, and refuses to grow past `max` (0 = BUF_DEFAULT_MAX),
 * so no input can make it unbounded. */
#ifndef GRANTD_LIB_STR_H
#define GRANTD_LIB_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct sv {
	const char *p;
	size_t n;
};

#define SV(lit) ((struct sv){(lit), sizeof(lit) - 1})
#define SV_NULL ((struct sv){NULL, 0})

struct sv sv_from(const char *s); /* s may be NULL -> empty view */
bool sv_eq(struct sv a, struct sv b);
bool sv_eq_cstr(struct sv a, const char *s);
bool sv_starts_with(struct sv a, struct sv prefix);
/* Splits `s` at the first `c`: `*head` before it, return after it. When `c`
 * is absent, `*head` = s and the returned view has p == NULL. */
struct sv sv_cut(struct sv s, char c, struct sv *head);
/* Parses a decimal integer that fills the whole view (optional leading '-').
 * Rejects empty input, junk and overflow. */
status sv_to_i64(struct sv s, int64_t *out);

#define BUF_DEFAULT_MAX (16u * 1024u * 1024u)

struct buf {
	char *p;    /* NUL-terminated when non-NULL */
	size_t n;   /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* growth limit in bytes (0 = BUF_DEFAULT_MAX) */
};

/* Appends; ST_TOO_LARGE when max would be exceeded, ST_NOMEM on OOM. The
 * buffer is unchanged on failure. */
/* Ensures room for `extra` more bytes (plus the NUL) without changing n. */
status buf_reserve(struct buf *b, size_t extra);
status buf_append(struct buf *b, const void *p, size_t n);
status buf_append_cstr(struct buf *b, const char *s);
status buf_append_sv(struct buf *b, struct sv s);
status buf_putc(struct buf *b, char c);
status buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal, quotes included. */
status buf_json_str(struct buf *b, struct sv s);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the bytes to the caller (free() them) and empties the buffer. */
char *buf_steal(struct buf *b);

/* Bounded copy that always NUL-terminates when dstsz > 0; returns false if
 * `src` did not fit (the copy is then truncated). */
bool str_copy(char *dst, size_t dstsz, const char *src);
/* strndup that never fails silently: NULL only on OOM. */
char *str_dup_sv(struct sv s);

/* The value 0..15 of the hexadecimal digit `c` (either case); -1 for any
 * other value, EOF included. */
int hex_digit_value(int c);

/* The one sanitiser for untrusted text quoted in a message (error
 * descriptions, logs): copies at most outsz - 4 bytes of `s` (`n` bytes),
 * bytes outside printable ASCII and quotes and backslashes become '?', a
 * cut value ends with "...". outsz must be at least 4. */
void str_show(char *out, size_t outsz, const char *s, size_t n);

/* `s` without leading and trailing ASCII white space (space, \t, \n, \r,
 * \f, \v). */
struct sv sv_trim(struct sv s);

/* Cuts a NUL-terminated string back so that it does not end inside a UTF-8
 * sequence (after a bounded snprintf truncated it). */
void str_utf8_trim(char *s);

/* A list of malloc'd strings: `n` entries in `v` (malloc'd too, or NULL
 * when empty). */
struct strlist {
	char **v;
	size_t n;
};

/* Whether `s` is one of the entries (exact bytes). */
bool strlist_has(const struct strlist *l, const char *s);
/* Frees every entry and the array; leaves an empty list. */
void strlist_free(struct strlist *l);

/* Overwrites memory in a way the compiler will not elide. */
void mem_wipe(void *p, size_t n);

#endif
