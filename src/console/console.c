/* console.c - serving the Management Console's files (console.h). */
#include "console/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crypto.h"
#include "lib/log.h"

#ifndef GRANTD_CONSOLE_DIR
#define GRANTD_CONSOLE_DIR "/usr/local/share/grantd/console"
#endif

#define CONSOLE_FILE_MAX (1024 * 1024) /* no console file is larger */
#define CONSOLE_NAME_MAX 64

struct console {
	int dirfd; /* -1: not installed */
};

static const struct {
	const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
};

const char *console_content_type(struct sv name)
{
	size_t dot = 0;

	if (name.n == 0 || name.n > CONSOLE_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < name.n; i++) {
		char ch = name.p[i];
		if (ch == '.') {
			if (dot != 0 || i == 0)
				return NULL; /* one dot, not leading: no hidden files */
			dot = i;
		} else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
			return NULL;
		}
	}
	if (dot == 0)
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (sv_eq((struct sv){name.p + dot + 1, name.n - dot - 1}, sv_from(types[i].ext)))
			return types[i].type;
	return NULL;
}

void console_headers(struct http_resp *resp)
{
	http_resp_header(resp, "Content-Security-Policy",
			 "default-src 'none'; script-src 'self'; style-src 'self'; "
			 "img-src 'self'; connect-src 'self'; form-action 'self'; "
			 "base-uri 'none'; frame-ancestors 'none'");
	http_resp_header(resp, "X-Frame-Options", "DENY");
	http_resp_header(resp, "Referrer-Policy", "no-referrer");
	http_resp_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool has_index(int fd)
{
	struct stat st;
	return fd >= 0 && fstatat(fd, "index.html", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

status console_new(const struct config *cfg, struct console **out, struct err *e)
{
	struct console *con = calloc(1, sizeof *con);
	char exe[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n;

	if (con == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	con->dirfd = -1;
	if (cfg->console.dir != NULL) {
		con->dirfd = open_dir(cfg->console.dir);
		if (!has_index(con->dirfd)) {
			int errnum = errno;
			console_free(con);
			return err_set(e, ST_INVALID, "[console] dir %s: no index.html there (%s)",
				       cfg->console.dir, strerror(errnum));
		}
		*out = con;
		return ST_OK;
	}
	/* A build tree: the console folder beside the binary (meson copies it). */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof path, "%s/console", exe);
			con->dirfd = open_dir(path);
		}
	}
	if (!has_index(con->dirfd)) {
		if (con->dirfd >= 0)
			close(con->dirfd);
		con->dirfd = open_dir(GRANTD_CONSOLE_DIR);
		if (!has_index(con->dirfd)) {
			if (con->dirfd >= 0)
				close(con->dirfd);
			con->dirfd = -1;
			log_warn("console: no index.html in %s; /console/ answers 404 (set "
				 "[console] dir)",
				 GRANTD_CONSOLE_DIR);
		}
	}
	*out = con;
	return ST_OK;
}

void console_free(struct console *con)
{
	if (con == NULL)
		return;
	if (con->dirfd >= 0)
		close(con->dirfd);
	free(con);
}

static void not_found(struct http_req *req, struct http_resp *resp)
{
	http_resp_error(resp, req, 404, NULL, "no such console file");
	console_headers(resp);
}

/* Reads the regular file `name` of the folder into resp->body. */
static status read_file(const struct console *con, const char *name, struct http_resp *resp)
{
	int fd = openat(con->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	status rc = ST_NOT_FOUND;
	char chunk[16384];
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? ST_NOT_FOUND : ST_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size > CONSOLE_FILE_MAX) {
		rc = ST_TOO_LARGE;
		goto out;
	}
	buf_reset(&resp->body);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		if (resp->body.n + (size_t)n > CONSOLE_FILE_MAX ||
		    buf_append(&resp->body, chunk, (size_t)n) != ST_OK) {
			rc = ST_TOO_LARGE;
			goto out;
		}
	rc = n == 0 ? ST_OK : ST_IO;
out:
	close(fd);
	return rc;
}

void console_serve(const struct console *con, struct http_req *req, struct http_resp *resp)
{
	struct sv rest;
	unsigned char digest[SHA256_LEN];
	char name[CONSOLE_NAME_MAX + 1], *etag;
	const char *type, *inm;
	status st;

	if (req->path.n < 8 || con == NULL || con->dirfd < 0) {
		not_found(req, resp);
		return;
	}
	rest = (struct sv){req->path.p + 8, req->path.n - 8}; /* after "/console" */
	if (rest.n == 0) {
		char *loc =
		    arena_printf(req->arena, "%.*s/", (int)req->full_path.n, req->full_path.p);
		resp->status = 301;
		resp->content_type = "text/plain; charset=utf-8";
		if (loc != NULL)
			http_resp_header(resp, "Location", loc);
		console_headers(resp);
		return;
	}
	rest = (struct sv){rest.p + 1, rest.n - 1}; /* after "/console/" */
	if (rest.n == 0)
		rest = sv_from("index.html");
	if ((type = console_content_type(rest)) == NULL) {
		not_found(req, resp);
		return;
	}
	memcpy(name, rest.p, rest.n);
	name[rest.n] = '\0';
	if ((st = read_file(con, name, resp)) != ST_OK) {
		if (st != ST_NOT_FOUND)
			log_error("console: cannot serve %s: %s", name, status_name(st));
		buf_reset(&resp->body);
		not_found(req, resp);
		return;
	}
	console_headers(resp);
	if (sha256(resp->body.p, resp->body.n, digest) == ST_OK &&
	    (etag = arena_alloc(req->arena, 2 + 32 + 1)) != NULL) {
		etag[0] = '"';
		for (int i = 0; i < 16; i++)
			snprintf(etag + 1 + 2 * i, 3, "%02x", digest[i]);
		etag[33] = '"';
		etag[34] = '\0';
		http_resp_header(resp, "ETag", etag);
		inm = http_req_header(req, "If-None-Match");
		if (inm != NULL && strstr(inm, etag) != NULL) {
			buf_reset(&resp->body);
			resp->status = 304;
		}
	}
	http_resp_header(resp, "Cache-Control", "no-cache");
	resp->content_type = type;
}
