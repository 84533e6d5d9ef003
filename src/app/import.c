/* import.c - `grantd import`: WSO2 IS 7 export files into a tenant of the
 * data dir (app.h app_import; docs/import.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/import.h"
#include "app/app.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/str.h"

#define ACTOR "grantd import" /* the audit records' actor */

/* Prints an object's name from the file as str_show() shows untrusted
 * text (no terminal escapes from a hostile file). Reasons, member names and
 * notes were made printable where they were written (src/wso2, the create
 * paths' messages). */
static void put_name(const char *s)
{
	char buf[LIMIT_NAME + 8];

	str_show(buf, sizeof buf, s != NULL ? s : "?", s != NULL ? strlen(s) : 1);
	fputs(buf, stdout);
}

static void put_list(const char *label, const json_t *arr)
{
	size_t i;
	json_t *v;

	if (json_array_size(arr) == 0)
		return;
	printf("  %s: ", label);
	json_array_foreach(arr, i, v) printf("%s%s", i > 0 ? ", " : "", json_string_value(v));
	putchar('\n');
}

/* One line per object, then what was dropped and the notes. */
static void print_report(const json_t *r)
{
	const char *st = json_string_value(json_object_get(r, "status"));
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *kind = strcmp(type, "application") == 0 ? "application" : "identity provider";
	size_t i;
	json_t *v;

	if (strcmp(st, "imported") == 0) {
		printf("imported %s \"", kind);
		put_name(name);
		printf("\" (id %s)\n", json_string_value(json_object_get(r, "id")));
	} else if (strcmp(st, "valid") == 0) {
		printf("would import %s \"", kind);
		put_name(name);
		printf("\" (dry run: nothing written)\n");
	} else {
		printf("%s %s \"", st, kind);
		put_name(name);
		printf("\"%s: ", json_is_true(json_object_get(r, "conflict")) ? " (conflict)" : "");
		printf("%s\n", json_string_value(json_object_get(r, "reason")));
	}
	put_list("dropped members", json_object_get(r, "dropped"));
	json_array_foreach(json_object_get(r, "notes"), i, v)
	{
		printf("  note: %s\n", json_string_value(v));
	}
}

/* Reads `path` (at most LIMIT_IMPORT_FILE bytes) into a malloc'd buffer. */
static status read_file(const char *path, char **data, size_t *n, struct err *e)
{
	struct stat sb;
	size_t got = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data = NULL;
	if (fd < 0)
		return err_set(e, ST_IO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(e, ST_INVALID, "not a regular file");
	}
	if (sb.st_size > LIMIT_IMPORT_FILE) {
		close(fd);
		return err_set(e, ST_TOO_LARGE, "the file has %lld bytes; at most %d are accepted",
			       (long long)sb.st_size, LIMIT_IMPORT_FILE);
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return err_set(e, ST_NOMEM, "out of memory");
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			close(fd);
			return err_set(e, ST_IO, "cannot read: %s",
				       r < 0 ? strerror(errno) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*n = got;
	return ST_OK;
}

int app_import(const struct config *cfg, const char *tenant, bool dry_run, char **files, int nfiles)
{
	struct app *app = NULL;
	struct store_tenant t;
	struct arena a;
	struct err e = {0};
	int rc = 1, bad = 0;
	status st;

	arena_init(&a, 0);
	if (tenant == NULL)
		tenant = cfg->tenant.default_domain;
	if ((st = app_open(cfg, NULL, &app, &e)) != ST_OK) {
		if (st == ST_CONFLICT)
			log_error("%s: stop the server first, or import through the running "
				  "server's API (POST /api/server/v1/import), which takes effect "
				  "at once",
				  e.msg);
		else
			log_error("%s", e.msg);
		goto out;
	}
	st = app->ctx.store->ops->tenant_get_by_domain(app->ctx.store, &a, tenant, &t, &e);
	if (st == ST_NOT_FOUND) {
		log_error("no tenant '%.253s'", tenant);
		rc = 2;
		goto out;
	}
	if (st != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	for (int i = 0; i < nfiles; i++) {
		struct admin_who w = {&app->ctx, &a, t.id, ACTOR};
		struct admin_import_file f = {0};
		json_t *report = NULL;
		char *data = NULL;
		size_t n = 0;

		err_clear(&e);
		st = read_file(files[i], &data, &n, &e);
		if (st == ST_OK) {
			f.data = data;
			f.n = n;
			f.filename = files[i];
			st = admin_import_file(&w, &f, dry_run, &report, &e);
		}
		if (data != NULL) {
			mem_wipe(data, n); /* it may hold a consumer secret */
			free(data);
		}
		if (st != ST_OK) {
			fprintf(stderr, "grantd: %s: %s (nothing imported from it)\n", files[i],
				e.msg);
			bad++;
			continue;
		}
		print_report(report);
		if (strcmp(json_string_value(json_object_get(report, "status")),
			   dry_run ? "valid" : "imported") != 0)
			bad++;
		json_decref(report);
	}
	rc = bad > 0 ? 1 : 0;
out:
	app_close(app);
	arena_free(&a);
	return rc;
}
