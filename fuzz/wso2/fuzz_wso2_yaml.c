/* fuzz_wso2_yaml.c - WSO2 export files read as YAML (src/wso2/read.c) and
 * mapped to admin API bodies (src/wso2/map.c); invariants in driver.h. */
#include <stdint.h>

#include "driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return wso2_drive(WSO2_FORMAT_YAML, data, size);
}
