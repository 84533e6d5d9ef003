/* roundtrip.h - the invariant of the admin body drivers: a body the
 * validator accepts has a canonical document which, stored as compact JSON
 * text and read back, validates again to the same document (what is
 * stored is what is enforced); a refusal has a message. */
#ifndef GRANTD_FUZZ_ADMIN_ROUNDTRIP_H
#define GRANTD_FUZZ_ADMIN_ROUNDTRIP_H

#include <jansson.h>

#include "fuzz.h"

/* The canonical document of `doc`, or NULL when it is refused. */
typedef json_t *(*canonical_fn)(const json_t *doc);

static inline int roundtrip(const uint8_t *data, size_t size, canonical_fn canonical)
{
	json_error_t je;
	json_t *body, *c1, *back, *c2;
	char *text;

	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (body == NULL)
		return 0;
	if ((c1 = canonical(body)) != NULL) {
		text = json_dumps(c1, JSON_COMPACT);
		CHECK(text != NULL);
		back = json_loads(text, JSON_REJECT_DUPLICATES, &je);
		CHECK(back != NULL && json_equal(back, c1));
		c2 = canonical(back);
		CHECK(c2 != NULL && json_equal(c1, c2));
		json_decref(c2);
		json_decref(back);
		free(text);
		json_decref(c1);
	}
	json_decref(body);
	return 0;
}

#endif
