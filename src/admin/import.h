/* import.h - WSO2 IS 7 export files into a tenant (docs/import.md):
 * `grantd import` and POST /api/server/v1/import share this.
 *
 * One file holds one object (WSO2 exports one identity provider or one
 * application per file). The file is read and mapped by src/wso2, then
 * the object is created through the admin API's own create path
 * (admin_idp_create_body / admin_app_create_body: the same validation, the
 * same store write with its audit record). An imported consumer secret
 * becomes the application's secret, stored only as its keyed hash; it is
 * never in the report. */
#ifndef GRANTD_ADMIN_IMPORT_H
#define GRANTD_ADMIN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "admin/admin.h"
#include "lib/err.h"

struct admin_import_file {
	const char *data; /* the file's bytes (not NUL-terminated) */
	size_t n;
	const char *media_type; /* its Content-Type, or NULL */
	const char *filename;   /* its name (extension), or NULL */
	int only;               /* 0, or the one wso2_kind the caller takes (WSO2's
				 * /identity-providers/import): another is refused unwritten */
};

/* Imports the object of `f` into w's tenant (`dry_run`: validates it and
 * checks for conflicts, writes nothing). ST_OK when the file was read:
 * then `*report` is the object's entry
 *   {"file", "format", "type": "identity-provider"|"application",
 *    "name", "status": "imported"|"valid"|"skipped"|"failed",
 *    "id" (imported; else null), "reason" (skipped, failed; else null),
 *    "conflict": bool,
 *    "mapped": [...], "dropped": [...], "notes": [...]}
 * ("skipped": grantd refused the object, e.g. its name is taken;
 * "failed": a server fault, logged). Otherwise the file itself was refused
 * (ST_INVALID: malformed, hostile or not an export; ST_TOO_LARGE) with the
 * reason in `e`, and nothing was written. */
status admin_import_file(const struct admin_who *w, const struct admin_import_file *f, bool dry_run,
			 json_t **report, struct err *e);

#endif
