/* timefmt.h - RFC 3339 UTC timestamps in the one form grantd reads and
 * writes: "YYYY-MM-DDTHH:MM:SSZ" (years 1970..9999, no fractions, no
 * offsets). Used by the admin API's JSON and by error descriptions. */
#ifndef GRANTD_LIB_TIMEFMT_H
#define GRANTD_LIB_TIMEFMT_H

#include <stdint.h>

#include "lib/err.h"

#define TIME_RFC3339_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* ST_INVALID unless `s` is exactly that form and a real date. */
status time_parse_rfc3339(const char *s, int64_t *out);
/* Formats unix seconds into out; times past year 9999 print as its end. */
void time_format_rfc3339(int64_t t, char out[TIME_RFC3339_LEN]);

#endif
