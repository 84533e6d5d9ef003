/* app.c - opening the data dir and store, and running the server. */
#include "app/app.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/bootstrap.h"
#include "app/routes.h"
#include "oauth/directory.h"
#include "oauth/metrics.h"
#include "oauth/signkeys.h"
#include "http/server.h"
#include "http/tls.h"
#include "admin/admin.h"
#include "keys/keys.h"
#include "lib/crypto.h"
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

status app_open(const struct config *cfg, struct app **out, struct err *e)
{
	struct app *app = calloc(1, sizeof *app);
	struct oauth_ctx *c;
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
	if ((st = boot_data_dir(cfg->server.data_dir, e)) != ST_OK)
		goto fail;
	if ((st = boot_lock(cfg->server.data_dir, &app->lock_fd, e)) != ST_OK)
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
	keys_free(app->ctx.keys);
	signkeys_free(app->ctx.signkeys);
	if (app->ctx.store != NULL)
		store_close(app->ctx.store);
	directory_free(app->ctx.dir);
	admin_auth_free(app->ctx.admin_auth);
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

int app_serve(const struct config *cfg)
{
	struct app *app = NULL;
	struct http_server *srv = NULL;
	struct http_server_opts opts = {0};
	struct maint m = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	bool maint_started = false;
	char *cert = NULL, *key = NULL;
	struct http_route *routes = NULL;
	struct err e = {0};
	sigset_t sigs;
	int sig = 0, rc = 1;
	status st;

	/* Block the stop signals before any thread exists, so that every thread
	 * inherits the mask and only sigwait() below receives them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	st = app_open(cfg, &app, &e);
	if (st != ST_OK) {
		log_error("%s", e.msg);
		return 1;
	}
	if (load_signing_key(app, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	if (tls_load_or_generate(cfg, &cert, &key, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	opts.cfg = cfg;
	opts.cert_pem = cert;
	opts.key_pem = key;
	opts.ctx = &app->ctx;
	opts.tenant_resolve = directory_tenant_resolve;
	opts.metrics = app_metrics;
	if ((routes = app_routes_build(&opts.nroutes)) == NULL) {
		log_error("out of memory");
		goto out;
	}
	opts.routes = routes;
	if (http_server_start(&opts, &srv, &e) != ST_OK) {
		log_error("%s", e.msg);
		goto out;
	}
	set_base_url(&app->ctx, http_server_port(srv, true));
	m.ctx = &app->ctx;
	if (pthread_create(&m.thread, NULL, maint_main, &m) != 0) {
		log_error("cannot start the maintenance thread");
		goto out;
	}
	maint_started = true;
	log_info("grantd %s ready (data dir %s, database %s)", GRANTD_VERSION, cfg->server.data_dir,
		 cfg->database.type);
	if (sigwait(&sigs, &sig) == 0)
		log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv);
	if (maint_started) {
		pthread_mutex_lock(&m.mu);
		m.stop = true;
		pthread_cond_signal(&m.cv);
		pthread_mutex_unlock(&m.mu);
		pthread_join(m.thread, NULL);
	}
	if (key != NULL) {
		mem_wipe(key, strlen(key));
		free(key);
	}
	free(cert);
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
	if (app_open(cfg, &app, &e) != ST_OK) {
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
