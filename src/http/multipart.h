/* multipart.h - one part of a multipart/form-data body (RFC 7578), as
 * WSO2's import endpoints take their file (docs/import.md, "The API").
 *
 * Pure over untrusted bytes (no I/O, no allocation: results are views
 * into the body), fuzzed by fuzz/http/fuzz_multipart.c. Strict: the
 * boundary comes from the Content-Type's boundary parameter (1..70
 * characters, optionally quoted); every delimiter line ends with CRLF; a
 * part's header section ends with an empty line within
 * MULTIPART_HEADER_MAX bytes; at most MULTIPART_PARTS_MAX parts; the body
 * ends with the close delimiter. Header names are matched without regard
 * to case; the name and filename parameters of Content-Disposition must be
 * quoted strings without escapes. */
#ifndef GRANTD_HTTP_MULTIPART_H
#define GRANTD_HTTP_MULTIPART_H

#include "lib/err.h"
#include "lib/str.h"

#define MULTIPART_HEADER_MAX 4096 /* bytes of one part's header section */
#define MULTIPART_PARTS_MAX  16

struct multipart_part {
	struct sv data;         /* the part's content */
	struct sv content_type; /* its Content-Type value; SV_NULL when absent */
	struct sv filename;     /* Content-Disposition filename; SV_NULL when absent */
};

/* True when `content_type` is multipart/form-data (parameters aside). */
bool multipart_is_form_data(const char *content_type);

/* Finds the part named `name` in `body` sent with `content_type`. ST_OK;
 * ST_NOT_FOUND when the body is well-formed but has no such part (or it
 * comes twice: ST_INVALID); ST_INVALID with the reason in `e` otherwise. */
status multipart_find(const char *content_type, struct sv body, const char *name,
		      struct multipart_part *out, struct err *e);

#endif
