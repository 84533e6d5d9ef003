/* fuzz_basic.c - Authorization: Basic values (src/http/form.h
 * http_basic_parse, used by the admin API, and http_basic_parse_oauth, used
 * for client_secret_basic at the token, introspection and revocation
 * endpoints). The input is the header value as a C string.
 * Invariants: nothing crashes; an accepted value gives a non-empty user of
 * at most LIMIT_USERNAME bytes, a password of at most LIMIT_PASSWORD bytes;
 * in the plain form neither has control bytes and the user has no ':';
 * encoding user:password again as Basic parses back to the same pair. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz.h"
#include "http/form.h"
#include "lib/arena.h"
#include "lib/limits.h"

static bool clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* `raw`: not form-decoded, so no control byte either (a decoded %01 is
 * data, as in a form body). */
static void check_pair(const char *user, const char *pass, bool raw)
{
	CHECK(user != NULL && pass != NULL);
	CHECK(user[0] != '\0' && strlen(user) <= LIMIT_USERNAME && strlen(pass) <= LIMIT_PASSWORD);
	CHECK(!raw || (clean(user) && clean(pass)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	char *in, *user = NULL, *pass = NULL, *u2, *p2;
	status st;

	if (size > 16384)
		return 0;
	arena_init(&a, 16u * 1024u * 1024u);
	in = arena_strndup(&a, (const char *)data, size); /* stops at a NUL, like a header */
	CHECK(in != NULL);
	st = http_basic_parse(in, &a, &user, &pass);
	if (st == ST_OK) {
		size_t nu = strlen(user), np = strlen(pass), n = nu + 1 + np;
		unsigned char *plain = arena_alloc(&a, n + 1);
		char *hdr = arena_alloc(&a, 6 + 4 * ((n + 2) / 3) + 1);

		check_pair(user, pass, true);
		CHECK(strchr(user, ':') == NULL);
		CHECK(plain != NULL && hdr != NULL);
		memcpy(plain, user, nu);
		plain[nu] = ':';
		memcpy(plain + nu + 1, pass, np);
		memcpy(hdr, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)hdr + 6, plain, (int)n);
		CHECK(http_basic_parse(hdr, &a, &u2, &p2) == ST_OK);
		CHECK(strcmp(u2, user) == 0 && strcmp(p2, pass) == 0);
	} else {
		CHECK(user == NULL && pass == NULL);
		CHECK(st == ST_UNSUPPORTED || st == ST_INVALID || st == ST_TOO_LARGE);
	}
	user = pass = NULL;
	st = http_basic_parse_oauth(in, &a, &user, &pass);
	if (st == ST_OK)
		check_pair(user, pass, false);
	else
		CHECK(st == ST_UNSUPPORTED || st == ST_INVALID || st == ST_TOO_LARGE);
	arena_free(&a);
	return 0;
}
