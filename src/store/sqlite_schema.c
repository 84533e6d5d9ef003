/* sqlite_schema.c - the SQLite backend's schema: one migration per schema
 * version (STORE_SCHEMA_VERSION, store_impl.h), and the check and upgrade
 * that store_sqlite_open runs before anything else touches the database. */
#include "store/sqlite_int.h"

#include <stdio.h>

#include "lib/log.h"
#include "store/store_impl.h"

/* ---- schema ------------------------------------------------------------ */

/* Migration N (1-based) takes the schema from version N-1 to N. Never edit
 * a released entry: append a new one and bump STORE_SCHEMA_VERSION. The
 * statements are deliberately not IF NOT EXISTS, so applying one twice
 * fails loudly instead of hiding a version bookkeeping bug. */
/* clang-format off */
static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE tenants ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL UNIQUE,"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE admin_users ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  username TEXT NOT NULL,"
	"  pw_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, username)"
	");"
	"CREATE TABLE identity_providers ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  name TEXT NOT NULL,"
	"  issuer TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  doc TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, name)"
	");"
	"CREATE INDEX identity_providers_issuer ON identity_providers (tenant_id, issuer);"
	"CREATE TABLE applications ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  name TEXT NOT NULL,"
	"  client_id TEXT NOT NULL UNIQUE,"
	"  secret_hash BLOB,"
	"  doc TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, name)"
	");"
	/* No foreign keys on tokens: an app's tokens outlive it (revoked) until
	 * purged, and the hot insert path stays a single b-tree write. */
	"CREATE TABLE tokens ("
	"  hash BLOB PRIMARY KEY NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  tenant_id TEXT NOT NULL,"
	"  app_id TEXT NOT NULL,"
	"  client_id TEXT NOT NULL,"
	"  idp_id TEXT,"
	"  subject TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  grant_type TEXT NOT NULL,"
	"  chain_id TEXT,"
	"  issued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX tokens_chain ON tokens (chain_id);"
	"CREATE INDEX tokens_app ON tokens (app_id);"
	"CREATE INDEX tokens_idp ON tokens (idp_id);"
	"CREATE INDEX tokens_expires ON tokens (expires_at);"
	"CREATE TABLE replay ("
	"  tenant_id TEXT NOT NULL,"
	"  iss TEXT NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, iss, jti)"
	") WITHOUT ROWID;"
	"CREATE INDEX replay_expires ON replay (expires_at);"
	/* seq keeps insertion order for events within the same second. */
	"CREATE TABLE audit_events ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  tenant_id TEXT,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  object_type TEXT NOT NULL,"
	"  object_id TEXT,"
	"  summary TEXT NOT NULL DEFAULT '{}',"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);",

	/* 2: tokens as a rowid table. Rows are appended in rowid order, so an
	 * insert dirties the table's last page rather than a random one; of
	 * the indexes only the unique hash is random (the app, IdP and expiry
	 * keys are followed by the ever-growing rowid, and new chain ids are
	 * time-ordered, see tokens.c), which roughly halves the pages a grant
	 * writes (docs/performance.md). */
	"CREATE TABLE tokens_v2 ("
	"  id INTEGER PRIMARY KEY,"
	"  hash BLOB NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  tenant_id TEXT NOT NULL,"
	"  app_id TEXT NOT NULL,"
	"  client_id TEXT NOT NULL,"
	"  idp_id TEXT,"
	"  subject TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  grant_type TEXT NOT NULL,"
	"  chain_id TEXT,"
	"  issued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO tokens_v2 (hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope,"
	"  grant_type, chain_id, issued_at, expires_at, revoked, used)"
	"  SELECT hash, kind, tenant_id, app_id, client_id, idp_id, subject, scope, grant_type,"
	"  chain_id, issued_at, expires_at, revoked, used FROM tokens ORDER BY issued_at;"
	"DROP TABLE tokens;"
	"ALTER TABLE tokens_v2 RENAME TO tokens;"
	"CREATE UNIQUE INDEX tokens_hash ON tokens (hash);"
	"CREATE INDEX tokens_chain ON tokens (chain_id);"
	"CREATE INDEX tokens_app ON tokens (app_id);"
	"CREATE INDEX tokens_idp ON tokens (idp_id) WHERE idp_id IS NOT NULL;"
	"CREATE INDEX tokens_expires ON tokens (expires_at);",

	/* 3: the tenants' token-signing keys, the private key encrypted by
	 * src/oauth/signkeys.c (the store never sees it in clear); the jti of
	 * JWT access tokens. */
	"CREATE TABLE signing_keys ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants (id),"
	"  kid TEXT NOT NULL,"
	"  alg TEXT NOT NULL,"
	"  public_jwk TEXT NOT NULL,"
	"  private_enc BLOB NOT NULL,"
	"  status INTEGER NOT NULL CHECK (status IN (1, 2)),"
	"  created_at INTEGER NOT NULL,"
	"  not_after_signing INTEGER NOT NULL DEFAULT 0,"
	"  publish_until INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant_id, kid)"
	");"
	/* The jti of a JWT access token (RFC 9068); NULL for opaque tokens. */
	"ALTER TABLE tokens ADD COLUMN jti TEXT;",
};
/* clang-format on */

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* ---- version check and upgrade -------------------------------------------- */

static status user_version(struct conn *c, int *out, struct err *e)
{
	struct q q = {0};
	status ret;
	int rc;

	if ((ret = sq_q_open(c, SQL_USER_VERSION, &q, e)) != ST_OK)
		goto out;
	rc = q_step(&q);
	if (rc != SQLITE_ROW) {
		ret = sq_db_fail(c, rc, "reading the schema version", e);
		goto out;
	}
	*out = sqlite3_column_int(q.st, 0);
out:
	q_close(&q);
	return ret;
}

status sq_migrate(struct sq_store *s, struct conn *c, struct err *e)
{
	char sql[64];
	char *msg = NULL;
	int have = 0, rc;
	status ret;

	if ((ret = sq_exec_stmt(c, SQL_BEGIN_WRITE, "starting the schema migration", e)) != ST_OK)
		return ret;
	if ((ret = user_version(c, &have, e)) != ST_OK)
		goto out;
	s->base.schema_found = have;
	if (have > STORE_SCHEMA_VERSION) {
		ret = err_set(e, ST_UNSUPPORTED,
			      "database '%s' has schema version %d, newer than the %d this grantd "
			      "knows; run a newer grantd (or restore a backup)",
			      s->path, have, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (have < 0) {
		ret = err_set(e, ST_IO, "database '%s' has an invalid schema version %d", s->path,
			      have);
		goto out;
	}
	for (int v = have; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(c->db, migrations[v], NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			log_error("store: schema migration %d failed: %s", v + 1,
				  msg ? msg : sqlite3_errstr(rc));
			ret = err_set(e, (rc & 0xff) == SQLITE_BUSY ? ST_BUSY : ST_IO,
				      "database '%s': schema migration %d failed", s->path, v + 1);
			goto out;
		}
	}
	if (have < STORE_SCHEMA_VERSION) {
		/* A constant, not input: the one piece of SQL built at run time. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			ret = sq_db_fail(c, rc, "recording the schema version", e);
			goto out;
		}
	}
	if ((ret = sq_exec_stmt(c, SQL_COMMIT, "committing the schema migration", e)) != ST_OK)
		goto out;
	s->base.migrations_applied = STORE_SCHEMA_VERSION - have;
	if (have < STORE_SCHEMA_VERSION)
		log_info("store: database %s migrated from schema version %d to %d", s->path, have,
			 STORE_SCHEMA_VERSION);
out:
	sqlite3_free(msg);
	if (ret != ST_OK)
		sq_rollback(c);
	return ret;
}
