/* ref.h - atomic reference counts for long-lived objects that several
 * threads share (keys, key sets, parsed configurations): a cache can
 * replace an entry while requests still hold the old one.
 *
 * An object starts with one reference (refs = 1). Taking another needs no
 * ordering (the taker already holds one); dropping one releases the
 * holder's writes and, for the last holder, acquires everyone's before the
 * object is freed. */
#ifndef GRANTD_LIB_REF_H
#define GRANTD_LIB_REF_H

#include <stdbool.h>

static inline void ref_acquire(int *refs)
{
	__atomic_add_fetch(refs, 1, __ATOMIC_RELAXED);
}

/* Drops one reference; true when it was the last: the caller frees. */
static inline bool ref_release(int *refs)
{
	return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL) == 0;
}

#endif
