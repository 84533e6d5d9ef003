/* fuzz_multipart.c - multipart/form-data (src/http/multipart.c). The
 * first line of the input is the Content-Type, the rest the body.
 * Invariants: never crashes; a found part lies inside the body, its
 * content type and filename too; a refusal has a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/multipart.h"

static bool inside(struct sv v, const char *p, size_t n)
{
	return v.p == NULL || (v.p >= p && v.p + v.n <= p + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	struct multipart_part part;
	struct err e = {0};
	struct sv body;
	char *ct;
	status st;

	if (nl == NULL)
		return 0;
	ct = strndup((const char *)data, (size_t)(nl - (const char *)data));
	CHECK(ct != NULL);
	body.p = nl + 1;
	body.n = size - (size_t)(nl + 1 - (const char *)data);
	st = multipart_find(ct, body, "file", &part, &e);
	if (st == ST_OK) {
		CHECK(inside(part.data, body.p, body.n));
		CHECK(inside(part.content_type, body.p, body.n));
		CHECK(inside(part.filename, body.p, body.n));
	} else {
		CHECK(e.msg[0] != '\0');
	}
	free(ct);
	return 0;
}
