/* driver.h - the invariant of the wso2 drivers (fuzz_wso2_xml.c, _yaml.c,
 * _json.c): reading one format and mapping the tree never crashes; a
 * refusal has a message and no tree; a mapped object has a kind, a name,
 * a JSON object body with that name, and report arrays; a refused mapping
 * has a message. */
#ifndef GRANTD_FUZZ_WSO2_DRIVER_H
#define GRANTD_FUZZ_WSO2_DRIVER_H

#include <string.h>

#include "fuzz.h"
#include "wso2/wso2.h"

static inline int wso2_drive(enum wso2_format f, const uint8_t *data, size_t size)
{
	struct wso2_object o;
	struct err e = {0};
	json_t *tree = NULL;

	if (wso2_read(f, (const char *)data, size, &tree, &e) != ST_OK) {
		CHECK(tree == NULL && e.msg[0] != '\0');
		return 0;
	}
	CHECK(tree != NULL);
	memset(&e, 0, sizeof e);
	if (wso2_map(tree, &o, &e) == ST_OK) {
		CHECK(o.kind == WSO2_IDP || o.kind == WSO2_APP);
		CHECK(json_is_string(o.name) && json_is_object(o.body));
		CHECK(json_equal(json_object_get(o.body, "name"), o.name));
		CHECK(json_is_array(o.mapped) && json_is_array(o.dropped) &&
		      json_is_array(o.notes));
	} else {
		CHECK(e.msg[0] != '\0' && o.body == NULL);
	}
	wso2_object_clear(&o);
	json_decref(tree);
	return 0;
}

#endif
