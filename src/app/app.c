/* app.c - opening the data dir and store, and running the server. */
#include "app/app.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "app/bootstrap.h"
#include "app/routes.h"
#include "oauth/directory.h"
#include "oauth/metrics.h"
#include "oauth/ratelimit.h"
#include "oauth/token.h"
#include "oauth/signkeys.h"
#include "server/server.h"
#include "server/tls.h"
#include "admin/admin.h"
#include "console/console.h"
#include "keys/keys.h"
#include "lib/crypto.h"
#include "lib/limits.h"
#include "lib/log.h"

#define PURGE_INTERVAL 60 /* seconds between purges of expired rows */

/* The public base URL of the HTTPS listener; `port` is the bound one (the
 * configured port may be 0 = ephemeral). */
static void set_base_url(struct oauth_ctx *c, int port)
{
	if (port == 443)
		snprintf(c->base_url, sizeof c->base_url, "https://%s", c->cfg->server.hostname);
	else
		snprintf(c->base_url, sizeof c->base_url, "https://%s:%d", c->cfg->server.hostname,
			 port);
}

/* The server's bound-ports callback: the base URL with the port obtained,
 * set before the first request (the configured port may be 0). */
static void app_bound(void *ctx, int https_port)
{
	set_base_url(ctx, https_port);
}

/* ---- Least privilege (docs/operations.md, "Running as a service") ---- */

/* What this start does about its user: resolved once, before any thread. */
struct privs {
	bool drop; /* started as root with [server] user: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	const char *name; /* cfg->server.user */
};

#define PW_BUF_MAX (1024 * 1024) /* a passwd entry larger than this is refused */

/* Decides what to do about [server] user. Unknown user, a non-root start as
 * another user, and a user that is root itself are errors. */
static status privs_resolve(const struct config *cfg, struct privs *p, struct err *e)
{
	const char *user = cfg->server.user;
	struct passwd pw, *res = NULL;
	size_t len = 16384;
	char *buf = NULL;
	int rc;

	memset(p, 0, sizeof *p);
	p->name = user;
	if (user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root; set [server] user to an unprivileged user "
				 "(docs/operations.md, \"Running as a service\")");
		return ST_OK;
	}
	for (;;) {
		char *nb = realloc(buf, len);
		if (nb == NULL) {
			free(buf);
			return err_set(e, ST_NOMEM, "out of memory");
		}
		buf = nb;
		rc = getpwnam_r(user, &pw, buf, len, &res);
		if (rc != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (rc != 0 || res == NULL) {
		free(buf);
		if (rc != 0 && rc != ENOENT && rc != ESRCH)
			return err_set(e, ST_IO, "[server] user: cannot look up user '%.64s': %s",
				       user, strerror(rc));
		return err_set(e, ST_INVALID, "[server] user: no user named '%.64s' on this system",
			       user);
	}
	p->uid = pw.pw_uid;
	p->gid = pw.pw_gid;
	free(buf);
	if (p->uid == 0)
		return err_set(e, ST_INVALID,
			       "[server] user: '%.64s' is uid 0; name an unprivileged user", user);
	if (geteuid() == 0) {
		p->drop = true;
		return ST_OK;
	}
	if (getuid() != p->uid || geteuid() != p->uid)
		return err_set(
		    e, ST_INVALID,
		    "[server] user is '%.64s' (uid %u) but grantd was started as uid %u: "
		    "only root can switch users; start it as '%.64s' or as root, or unset "
		    "[server] user",
		    user, (unsigned)p->uid, (unsigned)geteuid(), user);
	return ST_OK; /* already that user */
}

/* Length of the longest prefix of `path` (at a '/' boundary, or all of it)
 * that exists, so that the directories boot_data_dir creates after it are
 * known to be this start's. */
static size_t existing_prefix(const char *path)
{
	char buf[4096];
	struct stat sb;
	size_t n;

	if (!str_copy(buf, sizeof buf, path))
		return 0;
	n = strlen(buf);
	for (;;) {
		if (stat(buf, &sb) == 0)
			return n;
		while (n > 0 && buf[n - 1] != '/')
			n--;
		if (n == 0)
			return 0;
		while (n > 1 && buf[n - 1] == '/')
			n--;
		if (n == 1)
			return 1; /* "/" */
		buf[n] = '\0';
	}
}

/* Gives the directories boot_data_dir created (as root) beyond the `known`
 * existing bytes of `dir` to the user. The walk opens each one below its
 * parent's descriptor, never following a symbolic link, so a component
 * swapped meanwhile is refused rather than followed. */
static status chown_created_dirs(const char *dir, size_t known, const struct privs *p,
				 struct err *e)
{
	char buf[4096], *name, *save = NULL;
	status st = ST_OK;
	int fd;

	if (!str_copy(buf, sizeof buf, dir))
		return err_set(e, ST_INVALID, "data dir path too long");
	if (known == 0) {
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		char c = buf[known];
		buf[known] = '\0';
		fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		buf[known] = c;
	}
	if (fd < 0)
		return err_set(e, ST_IO, "cannot open the parent of data dir %s: %s", dir,
			       strerror(errno));
	for (name = strtok_r(buf + known, "/", &save); name != NULL;
	     name = strtok_r(NULL, "/", &save)) {
		int next;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			st = err_set(e, ST_INVALID,
				     "data dir %s: a '..' in the part this start creates", dir);
			break;
		}
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd < 0 || fchown(fd, p->uid, p->gid) != 0) {
			st = err_set(e, ST_IO, "cannot give %s of data dir %s to %.64s: %s", name,
				     dir, p->name, strerror(errno));
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return st;
}

/* Refuses a data dir (or its state files) that another uid owns: after the
 * switch they could not be written, and a root-owned file is not ours to
 * take over silently. */
static status check_owner(const char *path, const struct privs *p, bool is_dir, struct err *e)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT && !is_dir
			   ? ST_OK
			   : err_set(e, ST_IO, "cannot stat %s: %s", path, strerror(errno));
	if (sb.st_uid == p->uid)
		return ST_OK;
	return err_set(e, ST_INVALID,
		       "%s belongs to uid %u, not to [server] user '%.64s' (uid %u): chown -R "
		       "%.64s: the data dir and its files",
		       path, (unsigned)sb.st_uid, p->name, (unsigned)p->uid, p->name);
}

/* The files of a data dir that the switched user reads or writes. */
static const char *const state_files[] = {
    "grantd.lock",   "server-secret", "admin-password", "grantd.db",    "grantd.db-wal",
    "grantd.db-shm", "tls",           "tls/key.pem",    "tls/cert.pem",
};

/* The data dir: never writable by group or others; when switching users it
 * is the user's (this start's new directories are given to it). */
static status privs_data_dir(const struct config *cfg, const struct privs *p, size_t known,
			     struct err *e)
{
	const char *dir = cfg->server.data_dir;
	char path[4096];
	struct stat sb;
	status st;

	if (stat(dir, &sb) != 0)
		return err_set(e, ST_IO, "cannot stat data dir %s: %s", dir, strerror(errno));
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ST_INVALID,
			       "data dir %s is writable by group or others (mode %04o): chmod 700 "
			       "it",
			       dir, (unsigned)(sb.st_mode & 07777));
	if (!p->drop)
		return ST_OK;
	if (known < strlen(dir) && (st = chown_created_dirs(dir, known, p, e)) != ST_OK)
		return st;
	if ((st = check_owner(dir, p, true, e)) != ST_OK)
		return st;
	for (size_t i = 0; i < sizeof state_files / sizeof state_files[0]; i++) {
		if (snprintf(path, sizeof path, "%s/%s", dir, state_files[i]) >= (int)sizeof path)
			return err_set(e, ST_INVALID, "data dir path too long");
		if ((st = check_owner(path, p, false, e)) != ST_OK)
			return st;
	}
	return ST_OK;
}

/* The TLS private key's path: configured, or the generated one. */
static bool tls_key_path(const struct config *cfg, char *out, size_t outsz)
{
	int n;
	if (cfg->server.tls_key != NULL)
		return str_copy(out, outsz, cfg->server.tls_key);
	n = snprintf(out, outsz, "%s/tls/key.pem", cfg->server.data_dir);
	return n > 0 && (size_t)n < outsz;
}

/* A TLS private key others may write is refused; one others may read is
 * worth a warning (tls_load_or_generate refuses a world-readable one). */
static status check_tls_key_mode(const char *path, struct err *e)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return ST_OK; /* missing: generated, or tls_load_or_generate names it */
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ST_INVALID,
			       "%s: the TLS private key is writable by group or others (mode "
			       "%04o): chmod 600 it",
			       path, (unsigned)(sb.st_mode & 07777));
	if (sb.st_mode & (S_IRGRP | S_IROTH))
		log_warn("%s: the TLS private key is readable by group or others (mode %04o); "
			 "0600 is safer",
			 path, (unsigned)(sb.st_mode & 07777));
	return ST_OK;
}

/* Reads (or generates) the TLS identity as the current user. */
static status load_tls(const struct config *cfg, struct app_tls *tls, struct err *e)
{
	char key[4096];
	status st;

	if (!tls_key_path(cfg, key, sizeof key))
		return err_set(e, ST_INVALID, "TLS key path too long");
	if ((st = check_tls_key_mode(key, e)) != ST_OK)
		return st;
	return tls_load_or_generate(cfg, &tls->cert, &tls->key, e);
}

/* After the switch no capability is left, so a port below the kernel's
 * unprivileged start (net.ipv4.ip_unprivileged_port_start, 1024 by default)
 * could not be bound: say so now rather than with a bind error. */
static status check_ports(const struct config *cfg, const struct privs *p, struct err *e)
{
	const int64_t ports[] = {cfg->server.port, cfg->server.http_port};
	long start = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");

	if (f != NULL) {
		if (fscanf(f, "%ld", &start) != 1)
			start = 1024;
		fclose(f);
	}
	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
		if (ports[i] > 0 && ports[i] < start)
			return err_set(
			    e, ST_INVALID,
			    "[server] %s %lld is below %ld: after the switch to [server] "
			    "user '%.64s' it cannot be bound; use a port of %ld or above "
			    "(docs/operations.md, \"Running as a service\")",
			    i == 0 ? "port" : "http_port", (long long)ports[i], start, p->name,
			    start);
	return ST_OK;
}

/* Threads of this process (1 when /proc is not mounted: nothing to check). */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* setgroups, setgid, setuid, in that order, then proof that root cannot be
 * regained. Runs while the process has one thread. */
static status privs_drop(const struct privs *p, struct err *e)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (thread_count() > 1)
		return err_set(e, ST_INTERNAL, "a thread runs before the switch to user '%.64s'",
			       p->name);
	if (setgroups(0, NULL) != 0)
		return err_set(e, ST_IO, "setgroups: %s", strerror(errno));
	if (setgid(p->gid) != 0)
		return err_set(e, ST_IO, "setgid(%u): %s", (unsigned)p->gid, strerror(errno));
	if (setuid(p->uid) != 0)
		return err_set(e, ST_IO, "setuid(%u): %s", (unsigned)p->uid, strerror(errno));
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != p->uid ||
	    eu != p->uid || su != p->uid || rg != p->gid || eg != p->gid || sg != p->gid ||
	    getgroups(0, NULL) != 0)
		return err_set(e, ST_INTERNAL, "the switch to user '%.64s' is incomplete", p->name);
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return err_set(e, ST_INTERNAL, "root could be regained after switching to '%.64s'",
			       p->name);
	/* Nothing grantd runs gains privileges through exec either. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return err_set(e, ST_IO, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	log_info("switched to user %.64s (uid %u, gid %u)", p->name, (unsigned)p->uid,
		 (unsigned)p->gid);
	return ST_OK;
}

/* The service manager's readiness socket ($NOTIFY_SOCKET, sd_notify(3)
 * protocol without libsystemd): connected before the switch, so that the
 * socket's permissions are checked as root. -1 when there is none. */
static int notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return -1;
	n = strlen(path);
	if (n < 2 || n >= sizeof sa.sun_path) {
		log_warn("NOTIFY_SOCKET is not a usable socket path; not notifying");
		return -1;
	}
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, len) != 0) {
		log_warn("cannot connect to NOTIFY_SOCKET: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void notify_send(int fd, const char *msg)
{
	if (fd >= 0 && send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		log_warn("cannot notify the service manager: %s", strerror(errno));
}

status app_open(const struct config *cfg, struct app_tls *tls, struct app **out, struct err *e)
{
	struct app *app = calloc(1, sizeof *app);
	struct oauth_ctx *c;
	struct privs p;
	bool tls_configured;
	size_t known;
	status st;

	if (app == NULL)
		return err_set(e, ST_NOMEM, "out of memory");
	c = &app->ctx;
	c->cfg = cfg;
	app->lock_fd = -1;
	set_base_url(c, (int)cfg->server.port);
	if (crypto_init() != ST_OK) {
		st = err_set(e, ST_INTERNAL, "OpenSSL provides no SHA-2 digests or no HMAC");
		goto fail;
	}
	/* As the starting user (root or not): the data dir and a configured TLS
	 * identity (which may be readable by root only); then, before any thread
	 * exists, the switch to [server] user, which does everything else, so
	 * root never writes in a directory the user owns (docs/operations.md,
	 * "Running as a service"). */
	if ((st = privs_resolve(cfg, &p, e)) != ST_OK)
		goto fail;
	if (p.drop && tls != NULL && (st = check_ports(cfg, &p, e)) != ST_OK)
		goto fail;
	known = existing_prefix(cfg->server.data_dir);
	if ((st = boot_data_dir(cfg->server.data_dir, e)) != ST_OK ||
	    (st = privs_data_dir(cfg, &p, known, e)) != ST_OK)
		goto fail;
	tls_configured = cfg->server.tls_cert != NULL || cfg->server.tls_key != NULL;
	if (tls != NULL && tls_configured && (st = load_tls(cfg, tls, e)) != ST_OK)
		goto fail;
	if (p.drop) {
		if ((st = privs_drop(&p, e)) != ST_OK)
			goto fail;
		/* As the user now: a parent it cannot search shows here. */
		if (access(cfg->server.data_dir, R_OK | W_OK | X_OK) != 0) {
			st = err_set(e, ST_IO,
				     "data dir %s is not accessible to [server] user '%.64s': %s "
				     "(each parent directory must be searchable by it)",
				     cfg->server.data_dir, p.name, strerror(errno));
			goto fail;
		}
	}
	if ((st = boot_lock(cfg->server.data_dir, &app->lock_fd, e)) != ST_OK)
		goto fail;
	/* Generated under the lock, so two starts never write a pair each. */
	if (tls != NULL && !tls_configured && (st = load_tls(cfg, tls, e)) != ST_OK)
		goto fail;
	if ((st = boot_server_secret(cfg->server.data_dir, c->secret, sizeof c->secret, e)) !=
	    ST_OK)
		goto fail;
	if ((c->dir = directory_new()) == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto fail;
	}
	if ((st = store_open(cfg, &c->store, e)) != ST_OK)
		goto fail;
	if ((st = keys_new(cfg, &c->keys, e)) != ST_OK)
		goto fail;
	if ((st = signkeys_new(cfg, c->store, c->secret, sizeof c->secret, &c->signkeys, e)) !=
	    ST_OK)
		goto fail;
	if ((st = boot_tenants_and_admin(c, e)) != ST_OK)
		goto fail;
	if ((st = admin_auth_new(cfg, &c->admin_auth)) != ST_OK) {
		err_set(e, st, "cannot set up admin authentication");
		goto fail;
	}
	/* Only a server (tls set) serves the console. */
	if (tls != NULL && (st = console_new(cfg, &c->console, e)) != ST_OK)
		goto fail;
	if ((st = ratelimit_new(cfg->oauth.rate_limit.per_client,
				cfg->oauth.rate_limit.per_client_burst, &c->rl_client)) != ST_OK ||
	    (st = ratelimit_new(cfg->oauth.rate_limit.per_source,
				cfg->oauth.rate_limit.per_source_burst, &c->rl_source)) != ST_OK) {
		err_set(e, st, "cannot set up the token endpoint's rate limits");
		goto fail;
	}
	*out = app;
	return ST_OK;
fail:
	app_close(app);
	return st;
}

void app_close(struct app *app)
{
	if (app == NULL)
		return;
	/* The store first: closing it stops the change feed's thread, which
	 * calls into the caches below (directory_on_change). */
	if (app->ctx.store != NULL)
		store_close(app->ctx.store);
	keys_free(app->ctx.keys);
	signkeys_free(app->ctx.signkeys);
	directory_free(app->ctx.dir);
	admin_auth_free(app->ctx.admin_auth);
	console_free(app->ctx.console);
	ratelimit_free(app->ctx.rl_client);
	ratelimit_free(app->ctx.rl_source);
	mem_wipe(app->ctx.secret, sizeof app->ctx.secret);
	if (app->lock_fd >= 0)
		close(app->lock_fd);
	free(app);
}

/* The maintenance thread purges expired replay records and tokens off the
 * request path, and wakes early when told to stop. */
struct maint {
	struct oauth_ctx *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

/* GET /metrics after the HTTP layer's families: the OAuth endpoints', the
 * JWKS fetches' and the write path's (docs/operations.md, "Metrics"). */
static void app_metrics(void *ctx, struct mx_out *o)
{
	struct oauth_ctx *c = ctx;
	struct store_stats ss;

	oauth_mx_render(o);
	oauth_mx_render_rate_limits(o);
	keys_mx_render(o);
	c->store->ops->stats(c->store, &ss);
	mx_family(o, "grantd_store_write_transactions_total", "counter",
		  "Write transactions finished (committed or failed).");
	mx_sample(o, "grantd_store_write_transactions_total", NULL, ss.writes);
	mx_family(o, "grantd_store_commits_total", "counter",
		  "Durable commits (one fsync each) that carried them: group commit batches "
		  "several transactions into one.");
	mx_sample(o, "grantd_store_commits_total", NULL, ss.commits);
	mx_family(o, "grantd_store_pending_writes", "gauge",
		  "Write transactions submitted and not yet committed.");
	mx_sample(o, "grantd_store_pending_writes", NULL, ss.pending);
	mx_family(o, "grantd_store_wal_pages", "gauge",
		  "SQLite: the write-ahead log's size after the last commit, in pages.");
	mx_sample(o, "grantd_store_wal_pages", NULL,
		  ss.wal_frames > 0 ? (uint64_t)ss.wal_frames : 0);
}

static void *maint_main(void *arg)
{
	struct maint *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PURGE_INTERVAL;
		if (pthread_cond_timedwait(&m->cv, &m->mu, &until) == ETIMEDOUT && !m->stop) {
			struct err e = {0};
			pthread_mutex_unlock(&m->mu);
			if (m->ctx->store->ops->purge_expired(m->ctx->store, time(NULL), &e) !=
			    ST_OK)
				log_warn("purge of expired records failed: %s", e.msg);
			pthread_mutex_lock(&m->mu);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* The super tenant's signing key: made on first start (docs/operations.md, "Signing keys"), and
 * read (decrypted) on every start, so a database whose keys do not open
 * with this server secret stops start-up instead of failing each token. */
static status load_signing_key(struct app *app, struct err *e)
{
	struct store *s = app->ctx.store;
	struct store_tenant t;
	struct jose_key *k = NULL;
	struct arena a;
	status st;

	arena_init(&a, 0);
	st = s->ops->tenant_get_by_domain(s, &a, app->ctx.cfg->tenant.default_domain, &t, e);
	if (st == ST_OK && (st = signkeys_current(app->ctx.signkeys, t.id, &k, e)) != ST_OK) {
		char why[sizeof e->msg];
		str_copy(why, sizeof why, e->msg);
		err_set(e, st, "token-signing key of tenant %s: %s", t.domain, why);
	}
	jose_key_free(k);
	arena_free(&a);
	return st;
}

/* opts.health: whether the database answers now (store.h, ping). */
static status app_health(void *ctx, struct err *e)
{
	struct oauth_ctx *c = ctx;

	return c->store->ops->ping(c->store, e);
}

/* Other nodes' changes, into the caches (oauth/directory.h): the feed
 * first; without one (SQLite has none; a backend that cannot start it) the
 * caches' TTLs are the rule, so a failure here is a warning, not a reason
 * to refuse serving. */
static void app_watch(struct app *app)
{
	struct err e = {0};
	status st = directory_watch(&app->ctx, &e);

	if (st == ST_OK)
		log_info(
		    "watching the database's change feed: other nodes' changes reach the caches");
	else if (st == ST_UNSUPPORTED)
		log_debug("no change feed (%s): the caches expire by their TTL", e.msg);
	else
		log_warn("the database's change feed cannot start (%s): other nodes' changes are "
			 "seen when the caches expire (%d s)",
			 e.msg, DIRECTORY_TTL);
}

int app_serve(const struct config *cfg)
{
	struct app *app = NULL;
	struct http_server *srv = NULL;
	struct http_server_opts opts = {0};
	struct maint m = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	bool maint_started = false;
	struct app_tls tls = {0};
	struct http_route *routes = NULL;
	struct err e = {0};
	sigset_t sigs;
	int sig = 0, rc = 1, notify_fd;
	status st;

	/* Block the stop signals before any thread exists, so that every thread
	 * inherits the mask and only sigwait() below receives them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	notify_fd = notify_open();
	st = app_open(cfg, &tls, &app, &e);
	if (st != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	if (load_signing_key(app, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	app_watch(app);
	opts.cfg = cfg;
	opts.cert_pem = tls.cert;
	opts.key_pem = tls.key;
	opts.ctx = &app->ctx;
	opts.tenant_resolve = directory_tenant_resolve;
	opts.metrics = app_metrics;
	opts.bound = app_bound;
	opts.health = app_health;
	if ((routes = app_routes_build(cfg, &opts.nroutes)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	opts.routes = routes;
	if (http_server_start(&opts, &srv, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	m.ctx = &app->ctx;
	if (pthread_create(&m.thread, NULL, maint_main, &m) != 0) {
		log_error("cannot start the maintenance thread");
		goto out;
	}
	maint_started = true;
	log_info("grantd %s ready (data dir %s, database %s)", GRANTD_VERSION, cfg->server.data_dir,
		 cfg->database.type);
	notify_send(notify_fd, "READY=1");
	if (sigwait(&sigs, &sig) == 0)
		log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
out:
	notify_send(notify_fd, "STOPPING=1");
	if (srv != NULL)
		http_server_stop(srv);
	if (maint_started) {
		pthread_mutex_lock(&m.mu);
		m.stop = true;
		pthread_cond_signal(&m.cv);
		pthread_mutex_unlock(&m.mu);
		pthread_join(m.thread, NULL);
	}
	if (tls.key != NULL) {
		mem_wipe(tls.key, strlen(tls.key));
		free(tls.key);
	}
	free(tls.cert);
	if (notify_fd >= 0)
		close(notify_fd);
	free(routes);
	app_close(app);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int app_keys_rotate(const struct config *cfg, const char *tenant)
{
	struct app *app = NULL;
	struct store_tenant t;
	char kid[JOSE_THUMBPRINT_LEN];
	struct arena a;
	struct err e = {0};
	int rc = 1;
	status st;

	arena_init(&a, 0);
	if (tenant == NULL)
		tenant = cfg->tenant.default_domain;
	if (app_open(cfg, NULL, &app, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	st = app->ctx.store->ops->tenant_get_by_domain(app->ctx.store, &a, tenant, &t, &e);
	if (st == ST_NOT_FOUND) {
		log_error("no tenant '%s'", tenant);
		rc = 2;
		goto out;
	}
	if (st != ST_OK || signkeys_rotate(app->ctx.signkeys, t.id, kid, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	printf("tenant %s: new %s signing key %s; the previous keys stay published until the "
	       "tokens they signed have expired\n",
	       t.domain, cfg->oauth.access_token.jwt_signing_algorithm, kid);
	rc = 0;
out:
	app_close(app);
	arena_free(&a);
	return rc;
}

/* The shortest admin password accepted (as for tenant owners). */
#define ADMIN_PASSWORD_MIN 8

int app_admin_set_password(const struct config *cfg, const char *tenant, const char *user,
			   const char *password)
{
	struct store *store = NULL;
	struct store_tenant t;
	struct store_admin u;
	char hash[crypto_pwhash_STRBYTES];
	struct arena a;
	struct err e = {0};
	struct stat sb;
	size_t n = password != NULL ? strlen(password) : 0;
	int rc = 1;
	status st;

	arena_init(&a, 0);
	if (tenant == NULL)
		tenant = cfg->tenant.default_domain;
	if (user == NULL)
		user = "admin";
	if (n < ADMIN_PASSWORD_MIN || n > LIMIT_PASSWORD) {
		log_error("the new password must have %d to %d characters (it has %zu)",
			  ADMIN_PASSWORD_MIN, LIMIT_PASSWORD, n);
		rc = 2;
		goto out;
	}
	if (stat(cfg->server.data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		log_error("no data dir at %s (start the server once to create it)",
			  cfg->server.data_dir);
		goto out;
	}
	/* SQLite may create the WAL and SHM files: they must stay the server's. */
	if (sb.st_uid != geteuid()) {
		log_error("data dir %s belongs to uid %u: run this as that user (e.g. sudo -u "
			  "grantd grantd admin set-password ...)",
			  cfg->server.data_dir, (unsigned)sb.st_uid);
		goto out;
	}
	if (crypto_init() != ST_OK || store_open(cfg, &store, &e) != ST_OK) {
		log_error("%s", e.msg[0] ? e.msg : "cannot initialise OpenSSL");
		goto out;
	}
	st = store->ops->tenant_get_by_domain(store, &a, tenant, &t, &e);
	if (st == ST_OK)
		st = store->ops->admin_get(store, &a, t.id, user, &u, &e);
	if (st == ST_NOT_FOUND) {
		log_error("no admin '%.64s' in tenant '%.253s'", user, tenant);
		rc = 2;
		goto out;
	}
	if (st != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	if (crypto_pwhash_str(hash, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_error("argon2id hashing failed (out of memory)");
		goto out;
	}
	u.pw_hash = hash;
	if (store->ops->admin_put(store, &u, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	printf("password of admin '%s' in tenant %s changed\n", u.username, t.domain);
	rc = 0;
out:
	store_close(store);
	arena_free(&a);
	return rc;
}
