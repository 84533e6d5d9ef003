/* test_console.c - which names the console serves (src/console/console.h),
 * and serving from a folder: index, redirect, 404s, symlinks refused,
 * ETag and 304, the security headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "console/console.h"
#include "lib/crypto.h"

static void content_types(void **state)
{
	(void)state;
	assert_string_equal(console_content_type(sv_from("index.html")),
			    "text/html; charset=utf-8");
	assert_string_equal(console_content_type(sv_from("app.js")),
			    "text/javascript; charset=utf-8");
	assert_string_equal(console_content_type(sv_from("console.css")),
			    "text/css; charset=utf-8");
	assert_string_equal(console_content_type(sv_from("favicon.svg")), "image/svg+xml");
	assert_string_equal(console_content_type(sv_from("shot_1280-x.png")), "image/png");
	const char *refused[] = {"",        ".htaccess", "a",    "a.",    "a.b.js",  "meson.build",
				 "a/b.js",  "../x.js",   "x.JS", "x.js ", "x%2e.js", "é.js",
				 "a\\b.js", ".js"};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		assert_null(console_content_type(sv_from(refused[i])));
	char longname[80];
	memset(longname, 'a', sizeof longname);
	memcpy(longname + sizeof longname - 4, ".js", 4);
	assert_null(console_content_type(sv_from(longname)));
}

static const char *header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

struct fixture {
	char dir[64], outside[64];
	struct config cfg;
	struct console *con;
	struct arena arena;
};

static void serve(struct fixture *f, const char *path, const struct http_header *headers,
		  size_t nheaders, struct http_resp *r)
{
	struct http_req req = {0};

	memset(r, 0, sizeof *r);
	r->status = 200;
	req.path = sv_from(path);
	req.full_path = sv_from(path);
	req.arena = &f->arena;
	req.headers = headers;
	req.nheaders = nheaders;
	console_serve(f->con, &req, r);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[160];
	FILE *fp;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_non_null(fp = fopen(p, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void serving(void **state)
{
	struct fixture f;
	struct http_resp r;
	struct err e = {0};
	char link[160], target[160];
	(void)state;

	memset(&f, 0, sizeof f);
	snprintf(f.dir, sizeof f.dir, "/tmp/grantd-console-XXXXXX");
	snprintf(f.outside, sizeof f.outside, "/tmp/grantd-outside-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	assert_non_null(mkdtemp(f.outside));
	write_file(f.dir, "index.html", "<!doctype html><p>hi</p>");
	write_file(f.dir, "app.js", "export {};\n");
	write_file(f.outside, "secret.js", "leaked");
	snprintf(link, sizeof link, "%s/leak.js", f.dir);
	snprintf(target, sizeof target, "%s/secret.js", f.outside);
	assert_int_equal(symlink(target, link), 0);
	f.cfg.console.dir = f.dir;
	assert_int_equal(console_new(&f.cfg, &f.con, &e), ST_OK);
	arena_init(&f.arena, 0);

	serve(&f, "/console/", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_memory_equal(r.body.p, "<!doctype html>", 15);
	const char *csp = header(&r, "Content-Security-Policy");
	assert_non_null(csp);
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	assert_null(strstr(csp, "unsafe-inline"));
	assert_null(strstr(csp, "unsafe-eval"));
	assert_string_equal(header(&r, "Cache-Control"), "no-cache");
	const char *etag = header(&r, "ETag");
	assert_non_null(etag);
	assert_int_equal(strlen(etag), 34);
	char tag[40];
	snprintf(tag, sizeof tag, "%s", etag);
	buf_free(&r.body);

	const struct http_header inm[] = {{"If-None-Match", tag}};
	serve(&f, "/console/index.html", inm, 1, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body.n, 0);
	buf_free(&r.body);

	serve(&f, "/console", NULL, 0, &r);
	assert_int_equal(r.status, 301);
	assert_string_equal(header(&r, "Location"), "/console/");
	buf_free(&r.body);

	serve(&f, "/console/app.js", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	buf_free(&r.body);

	/* a symbolic link is never followed, even to a servable name */
	const char *missing[] = {"/console/leak.js", "/console/nope.js", "/console/a/app.js",
				 "/console/secret.txt"};
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		serve(&f, missing[i], NULL, 0, &r);
		assert_int_equal(r.status, 404);
		assert_null(strstr(r.body.p ? r.body.p : "", "leaked"));
		assert_non_null(header(&r, "Content-Security-Policy"));
		buf_free(&r.body);
	}

	console_free(f.con);
	arena_free(&f.arena);
	unlink(link);
	snprintf(link, sizeof link, "%s/index.html", f.dir);
	unlink(link);
	snprintf(link, sizeof link, "%s/app.js", f.dir);
	unlink(link);
	unlink(target);
	rmdir(f.dir);
	rmdir(f.outside);
}

static void configured_dir_must_exist(void **state)
{
	struct config cfg;
	struct console *con = NULL;
	struct err e = {0};
	(void)state;

	memset(&cfg, 0, sizeof cfg);
	cfg.console.dir = "/nonexistent/grantd-console";
	assert_int_equal(console_new(&cfg, &con, &e), ST_INVALID);
	assert_null(con);
	assert_non_null(strstr(e.msg, "/nonexistent/grantd-console"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(content_types),
	    cmocka_unit_test(serving),
	    cmocka_unit_test(configured_dir_must_exist),
	};
	assert_int_equal(crypto_init(), ST_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
