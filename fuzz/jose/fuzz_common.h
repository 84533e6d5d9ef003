/* fuzz_common.h - invariants shared by the src/jose fuzz drivers. */
#ifndef GRANTD_FUZZ_JOSE_COMMON_H
#define GRANTD_FUZZ_JOSE_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

/* Error messages built from untrusted input must stay printable ASCII,
 * NUL-terminated inside the slot: the JOSE layer sanitizes what it echoes. */
static inline void check_msg(const struct err *e)
{
	size_t n = strnlen(e->msg, sizeof e->msg);
	if (n == sizeof e->msg)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e->msg[i] < 0x20 || (unsigned char)e->msg[i] > 0x7e)
			abort();
}

#endif
