/* fuzz_scope.c - OAuth scope strings (src/oauth/scope.h).
 * Invariants: normalising never crashes; an accepted scope is NULL or
 * scope-tokens of %x21 / %x23-5B / %x5D-7E separated by single spaces, each
 * once, no longer than the input; normalising it again gives it back; it is
 * a subset of itself and of the raw input's normal form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/arena.h"
#include "oauth/scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct err e = {0};
	const char *norm = NULL, *again = NULL, *extra = NULL;
	char *in;

	arena_init(&a, 16u * 1024u * 1024u);
	in = arena_strndup(&a, (const char *)data, size); /* stops at a NUL, like a C string */
	CHECK(in != NULL);
	if (scope_normalise(&a, in, &norm, &e) == ST_OK && norm != NULL) {
		size_t n = strlen(norm);
		CHECK(n > 0 && n <= strlen(in));
		CHECK(norm[0] != ' ' && norm[n - 1] != ' ' && strstr(norm, "  ") == NULL);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)norm[i];
			CHECK(c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
			      (c >= 0x5d && c <= 0x7e));
		}
		CHECK(scope_normalise(&a, norm, &again, &e) == ST_OK);
		CHECK(again != NULL && strcmp(again, norm) == 0);
		CHECK(scope_subset(&a, norm, norm, &extra));
		CHECK(scope_subset(&a, NULL, norm, &extra));
	}
	arena_free(&a);
	return 0;
}
