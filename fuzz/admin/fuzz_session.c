/* fuzz_session.c - the request headers a console session is read from
 * (src/admin/admin.h: admin_session_cookie, admin_same_origin). The input
 * is up to four header values separated by '\n': Cookie, Origin, Host,
 * Sec-Fetch-Site (a missing line is an absent header).
 * Invariants: nothing crashes; a session cookie found is at most
 * SESSION_ID_LEN bytes, holds no ';', and "__Host-grantd_session=<value>"
 * occurs in the Cookie header; same-origin is claimed only when
 * Sec-Fetch-Site is absent or "same-origin", and an Origin, when present,
 * is "https://" followed by the Host, ignoring case. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "admin/session.h"
#include "fuzz.h"
#include "lib/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"Cookie", "Origin", "Host", "Sec-Fetch-Site"};
	struct http_header headers[4];
	const char *vals[4] = {0};
	struct http_req req = {0};
	struct arena a;
	char *text, *p;
	size_t nh = 0;

	if (size > 8192)
		return 0;
	arena_init(&a, 0);
	text = arena_strndup(&a, (const char *)data, size);
	if (text == NULL || strlen(text) != size) {
		arena_free(&a);
		return 0;
	}
	p = text;
	for (int i = 0; i < 4 && p != NULL; i++) {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		vals[i] = p;
		headers[nh++] = (struct http_header){names[i], p};
		p = nl != NULL ? nl + 1 : NULL;
	}
	req.arena = &a;
	req.headers = headers;
	req.nheaders = nh;

	const char *sid = admin_session_cookie(&req);
	if (sid != NULL) {
		char *pair = arena_printf(&a, ADMIN_SESSION_COOKIE "=%s", sid);
		CHECK(strlen(sid) <= SESSION_ID_LEN && strchr(sid, ';') == NULL);
		CHECK(pair != NULL && vals[0] != NULL && strstr(vals[0], pair) != NULL);
	}
	if (admin_same_origin(&req)) {
		const char *origin = vals[1], *host = vals[2], *site = vals[3];
		CHECK(site == NULL || strcmp(site, "same-origin") == 0);
		CHECK(origin != NULL || site != NULL);
		if (origin != NULL)
			CHECK(host != NULL && strncmp(origin, "https://", 8) == 0 &&
			      strcasecmp(origin + 8, host) == 0);
	}
	arena_free(&a);
	return 0;
}
