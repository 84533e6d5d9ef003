/* fuzz_console_name.c - the file names the console serves
 * (src/console/console.h console_content_type). The input is the path
 * after "/console/", as the router decoded it.
 * Invariants: nothing crashes; a name accepted is 1 to 64 bytes of
 * [A-Za-z0-9_-] with exactly one '.', not leading, and a Content-Type from
 * the fixed list. */
#include <stdint.h>
#include <string.h>

#include "console/console.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv name = {(const char *)data, size};
	const char *type = console_content_type(name);
	size_t dots = 0;

	if (type == NULL)
		return 0;
	CHECK(size >= 1 && size <= 64 && data[0] != '.');
	for (size_t i = 0; i < size; i++) {
		uint8_t ch = data[i];
		dots += ch == '.';
		CHECK(ch == '.' || ch == '-' || ch == '_' || (ch >= '0' && ch <= '9') ||
		      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
	}
	CHECK(dots == 1);
	CHECK(strncmp(type, "text/", 5) == 0 || strncmp(type, "image/", 6) == 0);
	return 0;
}
