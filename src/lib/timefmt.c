#include "lib/timefmt.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "lib/str.h"

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

status time_parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	struct tm tm = {0}, chk;
	time_t t;

	/* "YYYY-MM-DDTHH:MM:SSZ": fixed positions, nothing else. */
	if (strlen(s) != TIME_RFC3339_LEN - 1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return ST_INVALID;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return ST_INVALID;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return ST_INVALID;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	/* timegm() normalises 02-30 into March: a round trip exposes it. */
	if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL || chk.tm_mday != d ||
	    chk.tm_mon != mo - 1 || chk.tm_year != y - 1900)
		return ST_INVALID;
	*out = (int64_t)t;
	return ST_OK;
}

void time_format_rfc3339(int64_t t, char out[TIME_RFC3339_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TIME_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) != TIME_RFC3339_LEN - 1)
		str_copy(out, TIME_RFC3339_LEN, "9999-12-31T23:59:59Z");
}
