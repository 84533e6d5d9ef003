/* arena.h - a per-request bump allocator, freed once at the end.
 *
 * Allocations are 16-byte aligned and live until arena_free(). A `max`
 * bytes cap (0 = unlimited) bounds what one request can take. */
#ifndef GRANTD_LIB_ARENA_H
#define GRANTD_LIB_ARENA_H

#include <stddef.h>

#include "lib/str.h"

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t used_total;
	size_t max;
};

void arena_init(struct arena *a, size_t max);
/* NULL when out of memory or over the cap. Memory is zeroed. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_sv(struct arena *a, struct sv s);
/* printf into the arena; NULL on failure. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

#endif
