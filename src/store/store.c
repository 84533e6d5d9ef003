/* store.c - backend-independent part of the store: picking the backend by
 * config, closing it, and helpers every backend shares. No SQL here. */
#include "store/store.h"

#include <string.h>

#include "config/config.h"
#include "lib/limits.h"
#include "store/store_impl.h"

status store_open(const struct config *cfg, struct store **out, struct err *e)
{
	const char *type = cfg->database.type;

	*out = NULL;
	if (type == NULL || strcmp(type, "sqlite") == 0)
		return store_sqlite_open(cfg, out, e);
	if (strcmp(type, "postgres") == 0)
		return store_pg_open(cfg, out, e);
	return err_set(e, ST_INVALID,
		       "database.type \"%s\" is unknown (use \"sqlite\" or \"postgres\")", type);
}

void store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

struct store_page store_page_norm(struct store_page pg)
{
	if (pg.limit < 1)
		pg.limit = 1;
	if (pg.limit > STORE_PAGE_MAX)
		pg.limit = STORE_PAGE_MAX;
	if (pg.offset < 0)
		pg.offset = 0;
	return pg;
}

bool store_domain_lower(char out[LIMIT_TENANT_DOMAIN + 1], const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0'; i++) {
		if (i == LIMIT_TENANT_DOMAIN)
			return false;
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	}
	out[i] = '\0';
	return true;
}

status store_idp_check(const struct store_idp *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL)
		return err_set(e, ST_INVALID, "identity provider without id, tenant or name");
	return ST_OK;
}

status store_app_check(const struct store_app *p, struct err *e)
{
	if (p->id == NULL || p->tenant_id == NULL || p->name == NULL || p->client_id == NULL)
		return err_set(e, ST_INVALID, "application without id, tenant, name or client id");
	return ST_OK;
}

status store_token_check(const struct store_token *t, struct err *e)
{
	if (t->kind != STORE_TOKEN_ACCESS && t->kind != STORE_TOKEN_REFRESH)
		return err_set(e, ST_INVALID, "unknown token kind %d", (int)t->kind);
	if (t->tenant_id == NULL || t->app_id == NULL || t->client_id == NULL ||
	    t->subject == NULL || t->grant_type == NULL)
		return err_set(
		    e, ST_INVALID,
		    "token without tenant, application, client id, subject or grant type");
	return ST_OK;
}

status store_grant_tx_check(struct store_grant_tx *tx, struct err *e)
{
	tx->conflict = STORE_TX_NONE;
	tx->conflict_replay = 0;
	if (tx->nreplays > STORE_TX_REPLAYS)
		return err_set(e, ST_INVALID, "too many replay records in one grant");
	for (size_t i = 0; i < tx->nreplays; i++)
		if (tx->replays[i].tenant_id == NULL || tx->replays[i].iss == NULL ||
		    tx->replays[i].jti == NULL)
			return err_set(e, ST_INVALID,
				       "replay record without tenant, issuer or jti");
	return ST_OK;
}
