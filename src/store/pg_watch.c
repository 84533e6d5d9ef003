/* pg_watch.c - the PostgreSQL backend's change feed (store.h, watch): the
 * triggers of migration 3 (pg_schema.c) notify channel grantd_changes with
 * "<kind> <tenant id> <id>" for every committed row change of tenants,
 * identity providers, applications and signing keys. A listener thread on
 * its own connection (outside the pool, so a busy pool never delays it)
 * LISTENs, waits in poll() on the socket and a wake-up pipe, and hands each
 * notification to the callback. A lost connection is reconnected with
 * backoff; after it, STORE_CHANGE_ALL says that changes may have been
 * missed. */
#include "store/pg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define WATCH_BACKOFF_MIN_MS 100
#define WATCH_BACKOFF_MAX_MS 5000
#define PAYLOAD_MAX          512

/* Parses "<kind> <tenant id> <id>" into `ch`; false when malformed. `buf`
 * receives the copy the pointers point into. */
static bool parse_payload(const char *p, char *buf, size_t n, struct store_change *ch)
{
	char *sp1, *sp2;

	if (strlen(p) >= n)
		return false;
	memcpy(buf, p, strlen(p) + 1);
	if ((sp1 = strchr(buf, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return false;
	*sp1 = *sp2 = '\0';
	ch->tenant_id = sp1 + 1;
	ch->id = sp2[1] != '\0' ? sp2 + 1 : NULL;
	if (strcmp(buf, "tenant") == 0)
		ch->kind = STORE_CHANGE_TENANT;
	else if (strcmp(buf, "idp") == 0)
		ch->kind = STORE_CHANGE_IDP;
	else if (strcmp(buf, "app") == 0)
		ch->kind = STORE_CHANGE_APP, ch->id = NULL;
	else if (strcmp(buf, "skey") == 0)
		ch->kind = STORE_CHANGE_SIGNING_KEY, ch->id = NULL;
	else
		return false;
	return true;
}

/* Waits on the connection's socket (or only the wake-up pipe when pg is
 * NULL) for at most ms; false when woken for close. */
static bool wait_for(struct pg_store *s, PGconn *pg, int ms)
{
	struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
				{.fd = pg != NULL ? PQsocket(pg) : -1, .events = POLLIN}};

	if (poll(fds, 2, ms) < 0 && errno != EINTR)
		return true;
	return (fds[0].revents & POLLIN) == 0;
}

static PGconn *listen_on(struct pg_store *s)
{
	struct err e = {0};
	PGconn *pg = NULL;
	PGresult *r;

	if (pg_connect(s, &pg, &e) != ST_OK)
		return NULL;
	r = PQexec(pg, "LISTEN grantd_changes");
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		char msg[256];
		log_warn("store: LISTEN failed: %s", pg_message(pg, r, msg, sizeof msg));
		PQclear(r);
		PQfinish(pg);
		return NULL;
	}
	PQclear(r);
	return pg;
}

static void *watch_main(void *arg)
{
	struct pg_store *s = arg;
	int64_t backoff = WATCH_BACKOFF_MIN_MS;
	PGconn *pg = s->watch_pg;
	bool missed = pg == NULL;

	s->watch_pg = NULL;

	for (;;) {
		PGnotify *n;

		if (pg == NULL) {
			if (!wait_for(s, NULL, (int)backoff))
				break;
			backoff =
			    backoff * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff * 2;
			if ((pg = listen_on(s)) == NULL)
				continue;
			backoff = WATCH_BACKOFF_MIN_MS;
		}
		if (missed) {
			struct store_change all = {STORE_CHANGE_ALL, NULL, NULL};
			s->watch_fn(s->watch_arg, &all);
			missed = false;
		}
		if (!wait_for(s, pg, -1))
			break;
		if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
			char msg[256];
			log_warn("store: the change feed lost its connection: %s",
				 pg_message(pg, NULL, msg, sizeof msg));
			PQfinish(pg);
			pg = NULL;
			missed = true;
			continue;
		}
		while ((n = PQnotifies(pg)) != NULL) {
			char buf[PAYLOAD_MAX];
			struct store_change ch = {0};

			if (parse_payload(n->extra, buf, sizeof buf, &ch))
				s->watch_fn(s->watch_arg, &ch);
			else
				log_warn("store: ignoring a malformed change notification");
			PQfreemem(n);
		}
	}
	if (pg != NULL)
		PQfinish(pg);
	return NULL;
}

status pg_watch(struct store *base, store_change_fn fn, void *arg, struct err *e)
{
	struct pg_store *s = pgs(base);

	if (s->watch_on)
		return err_set(e, ST_INVALID, "the store is already watched");
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return err_set(e, ST_IO, "cannot create a pipe: %s", strerror(errno));
	s->watch_fn = fn;
	s->watch_arg = arg;
	/* LISTEN before returning, so that every change committed after
	 * watch() returns is delivered; a failure here is retried by the
	 * thread (and ends in STORE_CHANGE_ALL). */
	s->watch_pg = listen_on(s);
	if (pthread_create(&s->watcher, NULL, watch_main, s) != 0) {
		if (s->watch_pg != NULL)
			PQfinish(s->watch_pg);
		s->watch_pg = NULL;
		close(s->wake[0]);
		close(s->wake[1]);
		return err_set(e, ST_NOMEM, "cannot start the change feed thread");
	}
	s->watch_on = true;
	return ST_OK;
}

void pg_watch_stop(struct pg_store *s)
{
	if (!s->watch_on)
		return;
	while (write(s->wake[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(s->watcher, NULL);
	close(s->wake[0]);
	close(s->wake[1]);
	s->watch_on = false;
}
