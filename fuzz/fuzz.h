/* fuzz.h - what every fuzz driver shares: the libFuzzer entry point and
 * CHECK(), an invariant that holds in every build type (assert() vanishes
 * under NDEBUG). */
#ifndef GRANTD_FUZZ_H
#define GRANTD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#endif
