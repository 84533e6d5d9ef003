/* fuzz_form.c - application/x-www-form-urlencoded and query lookup.
 * Invariants: parsing never crashes; every accepted key is non-empty,
 * within LIMIT_FORM_KEY and NUL-free; at most LIMIT_FORM_PARAMS pairs;
 * form_get agrees with a count of the key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/form.h"
#include "lib/arena.h"
#include "lib/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct form f;
	struct err e = {0};
	struct sv in = {(const char *)data, size}, v;

	arena_init(&a, 16u * 1024u * 1024u);
	if (form_parse(&a, in, &f, &e) == ST_OK) {
		CHECK(f.n <= LIMIT_FORM_PARAMS);
		for (size_t i = 0; i < f.n; i++) {
			const struct form_pair *p = &f.pairs[i];
			size_t count = 0;
			status st;

			CHECK(p->key.n > 0 && p->key.n <= LIMIT_FORM_KEY);
			CHECK(memchr(p->key.p, 0, p->key.n) == NULL);
			CHECK(memchr(p->value.p, 0, p->value.n) == NULL);
			CHECK(p->key.p[p->key.n] == '\0' && p->value.p[p->value.n] == '\0');
			for (size_t j = 0; j < f.n; j++)
				count += sv_eq(f.pairs[j].key, p->key);
			st = form_get(&f, p->key.p, &v);
			CHECK(count == 1 ? st == ST_OK : st == ST_CONFLICT);
		}
	} else {
		CHECK(f.n == 0 && e.st != ST_OK);
	}
	(void)form_query_get(&a, in, "tenantDomain", &v, NULL);
	(void)form_decode(&a, in, false, &v, NULL);
	arena_free(&a);
	return 0;
}
