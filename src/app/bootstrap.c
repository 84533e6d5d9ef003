/* bootstrap.c - first-start and every-start duties on the data dir:
 * its lock, the server secret, the super tenant and the super admin. */
#include "app/app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "app/bootstrap.h"
#include "lib/limits.h"
#include "lib/log.h"

#define ADMIN_PASSWORD_LEN 24
static const char password_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

static status path_join(char *out, size_t outsz, const char *dir, const char *name, struct err *e)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outsz)
		return err_set(e, ST_INVALID, "path too long: %s/%s", dir, name);
	return ST_OK;
}

status boot_data_dir(const char *dir, struct err *e)
{
	char path[4096];
	struct stat sb;

	if (!str_copy(path, sizeof path, dir) || path[0] == '\0')
		return err_set(e, ST_INVALID, "data dir path is empty or too long");
	/* mkdir -p: parents with 0755 would leak nothing, but keep them 0700
	 * too; an operator who wants otherwise creates them first. */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return err_set(e, ST_IO, "cannot create %s: %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_set(e, ST_IO, "cannot create data dir %s: %s", dir, strerror(errno));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return err_set(e, ST_IO, "data dir %s is not a directory", dir);
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return err_set(e, ST_IO, "data dir %s is not writable: %s", dir, strerror(errno));
	return ST_OK;
}

status boot_lock(const char *dir, int *fd_out, struct err *e)
{
	char path[4096];
	int fd;
	status st = path_join(path, sizeof path, dir, "grantd.lock", e);
	if (st != ST_OK)
		return st;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, ST_IO, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK)
			return err_set(
			    e, ST_CONFLICT,
			    "data dir %s is in use by another grantd process (lock %s held)", dir,
			    path);
		return err_set(e, ST_IO, "cannot lock %s: %s", path, strerror(saved));
	}
	/* Record our pid for operators; the lock, not the pid, is the truth. */
	if (ftruncate(fd, 0) == 0) {
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
		if (n > 0 && write(fd, pid, (size_t)n) < 0)
			log_debug("cannot write pid to %s", path);
	}
	*fd_out = fd;
	return ST_OK;
}

/* Writes `n` bytes to `dir/name` with mode 0600, atomically: a temporary
 * file, fsync, then link() so that an existing file is never replaced
 * (ST_CONFLICT if one appeared meanwhile). */
static status write_secret_file(const char *dir, const char *name, const void *p, size_t n,
				struct err *e)
{
	char path[4096], tmp[4096];
	status st;
	int fd;

	if ((st = path_join(path, sizeof path, dir, name, e)) != ST_OK)
		return st;
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return err_set(e, ST_INVALID, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(e, ST_IO, "cannot create %s: %s", tmp, strerror(errno));
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) {
		st = err_set(e, ST_IO, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return st;
	}
	close(fd);
	if (link(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		if (saved == EEXIST)
			return err_set(e, ST_CONFLICT, "%s already exists", path);
		return err_set(e, ST_IO, "cannot create %s: %s", path, strerror(saved));
	}
	unlink(tmp);
	return ST_OK;
}

status boot_server_secret(const char *dir, unsigned char *secret, size_t len, struct err *e)
{
	char path[4096];
	struct stat sb;
	status st;
	int fd;
	ssize_t got;

	if ((st = path_join(path, sizeof path, dir, "server-secret", e)) != ST_OK)
		return st;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		if ((st = rand_bytes(secret, len)) != ST_OK)
			return err_set(e, st, "random generator failed");
		st = write_secret_file(dir, "server-secret", secret, len, e);
		if (st == ST_OK)
			log_info("created server secret %s", path);
		return st;
	}
	if (fd < 0)
		return err_set(e, ST_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != (off_t)len) {
		close(fd);
		return err_set(e, ST_INVALID, "%s must be a regular file of exactly %zu bytes",
			       path, len);
	}
	if (sb.st_mode & 077) {
		close(fd);
		return err_set(
		    e, ST_INVALID,
		    "%s: the server secret is open to group or others (mode %04o): chmod "
		    "600 it (docs/operations.md, \"The data dir\")",
		    path, (unsigned)(sb.st_mode & 07777));
	}
	got = read(fd, secret, len);
	close(fd);
	if (got != (ssize_t)len)
		return err_set(e, ST_IO, "cannot read %s", path);
	return ST_OK;
}

status boot_tenants_and_admin(struct oauth_ctx *c, struct err *e)
{
	const struct config *cfg = c->cfg;
	struct arena a;
	struct store_tenant t = {0};
	struct store_admin u = {0};
	char tid[UUID_STR_LEN + 1], uid[UUID_STR_LEN + 1];
	char generated[ADMIN_PASSWORD_LEN + 1];
	char hash[crypto_pwhash_STRBYTES];
	const char *password;
	bool was_generated = false;
	status st;

	arena_init(&a, 0);
	st = c->store->ops->tenant_get_by_domain(c->store, &a, cfg->tenant.default_domain, &t, e);
	if (st == ST_OK) {
		password = getenv("GRANTD_ADMIN_PASSWORD");
		if (password != NULL && password[0] != '\0')
			log_warn("GRANTD_ADMIN_PASSWORD is set but ignored: the super admin already "
				 "exists (change its password with 'grantd admin set-password')");
		arena_free(&a);
		return ST_OK;
	}
	if (st != ST_NOT_FOUND)
		goto out;

	password = getenv("GRANTD_ADMIN_PASSWORD");
	if (password == NULL || password[0] == '\0') {
		if ((st = rand_string(password_alphabet, ADMIN_PASSWORD_LEN, generated,
				      sizeof generated)) != ST_OK)
			goto out;
		password = generated;
		was_generated = true;
	} else if (strlen(password) > LIMIT_PASSWORD) {
		st = err_set(e, ST_INVALID, "GRANTD_ADMIN_PASSWORD is longer than %d bytes",
			     LIMIT_PASSWORD);
		goto out;
	}
	if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		st = err_set(e, ST_NOMEM, "argon2id hashing failed (out of memory)");
		goto out;
	}
	if ((st = uuid_v4(tid)) != ST_OK || (st = uuid_v4(uid)) != ST_OK)
		goto out;
	t.id = tid;
	t.domain = cfg->tenant.default_domain;
	t.active = true;
	t.created_at = time(NULL);
	u.id = uid;
	u.tenant_id = tid;
	u.username = "admin";
	u.pw_hash = hash;
	u.created_at = t.created_at;
	st = c->store->ops->tenant_create(c->store, &t, &u, NULL, e);
	if (st == ST_CONFLICT) {
		/* Another node sharing the database (PostgreSQL) created it since
		 * the lookup above: two nodes starting at once on an empty
		 * database. Theirs stands; this node's password is not used. */
		struct store_tenant other = {0};

		err_clear(e);
		st = c->store->ops->tenant_get_by_domain(c->store, &a, cfg->tenant.default_domain,
							 &other, e);
		if (st == ST_OK)
			log_info("super tenant %s was created by another node", other.domain);
		goto out;
	}
	if (st != ST_OK)
		goto out;
	log_info("created super tenant %s with super admin 'admin'", t.domain);
	if (was_generated) {
		char line[ADMIN_PASSWORD_LEN + 2];
		snprintf(line, sizeof line, "%s\n", generated);
		st = write_secret_file(cfg->server.data_dir, "admin-password", line, strlen(line),
				       e);
		if (st != ST_OK)
			goto out;
		/* Printed once, on purpose: this is how the operator learns it. */
		fprintf(stderr,
			"\n  Super admin created: user 'admin', password '%s'\n"
			"  (also written to %s/admin-password, mode 0600)\n\n",
			generated, cfg->server.data_dir);
		mem_wipe(line, sizeof line);
	}
out:
	mem_wipe(generated, sizeof generated);
	arena_free(&a);
	return st;
}
