/* config.h - grantd's effective configuration: an immutable snapshot.
 *
 * config_load() parses deployment.toml (or nothing: built-in defaults),
 * applies GRANTD_<TABLE>_<KEY> environment overrides, validates, and returns
 * a snapshot that is never modified afterwards and is passed by pointer to
 * every module. Durations are stored in seconds. See docs/configuration.md. */
#ifndef GRANTD_CONFIG_CONFIG_H
#define GRANTD_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/str.h"

#define CONFIG_MAX_LIST 32

struct config_strlist {
	char *v[CONFIG_MAX_LIST];
	size_t n;
};

struct config {
	char *source; /* path of the file read, or "(defaults)" */

	struct {
		char *hostname;                      /* "localhost" */
		struct config_strlist bind;          /* ["127.0.0.1", "::1"] */
		bool bind_is_default;                /* unbindable defaults are skipped */
		int64_t port;                        /* 9443 */
		int64_t http_port;                   /* 0 = off */
		char *data_dir;                      /* "var" */
		char *tls_cert, *tls_key;            /* NULL = generated in data_dir */
		int64_t threads;                     /* 0 = number of CPUs */
		int64_t max_connections;             /* 1024 */
		int64_t connection_timeout;          /* seconds, 30: idle time between bytes */
		int64_t max_connections_per_address; /* 32 (IPv6: per /64) */
		int64_t header_timeout;              /* seconds, 10: whole request head */
		int64_t body_timeout;                /* seconds, 30: whole body after the head */
		int64_t max_header_size;             /* bytes, 16384 */
		int64_t max_body_size;               /* bytes, 1 MiB (admin API) */
		int64_t shutdown_timeout;            /* seconds, 10 */
		bool access_log;                     /* true */
		char *log_level;                     /* "info" */
		char *user;                          /* NULL = keep the starting user */
	} server;

	struct {
		char *type;                /* "sqlite" | "postgres" */
		char *path;                /* default <data_dir>/grantd.db */
		char *url;                 /* libpq conninfo or URL */
		int64_t busy_timeout;      /* seconds, 5 */
		int64_t pool_size;         /* PostgreSQL connections, 8 (1..64) */
		int64_t connect_timeout;   /* seconds, 5: connect and pool wait */
		int64_t statement_timeout; /* seconds, 30: one query */
	} database;

	struct {
		char *default_domain; /* "carbon.super" */
	} tenant;

	struct {
		int64_t timestamp_skew;       /* 60 */
		bool hash_tokens_and_secrets; /* true */
		struct {
			bool enable_iat_validation;     /* true */
			int64_t iat_validity_period;    /* 1800 (config unit: minutes) */
			bool enable_jwt_cache;          /* true */
			bool require_jti, require_iat;  /* false */
			int64_t max_assertion_lifetime; /* 0 = unlimited */
			int64_t max_assertion_size;     /* 16384 bytes */
		} jwt;
		struct {
			int64_t user_access_token_validity; /* 3600 */
			int64_t app_access_token_validity;  /* 3600 */
			int64_t refresh_token_validity;     /* 86400 */
			int64_t id_token_validity;          /* 3600 */
		} token_validation;
		struct {
			bool renew_refresh_token; /* true */
		} token_renewal;
		struct {
			int64_t connection_timeout;                    /* 1 */
			int64_t read_timeout;                          /* 1 */
			int64_t size_limit_bytes;                      /* 51200 */
			int64_t cache_ttl;                             /* 600 */
			int64_t min_refetch_interval;                  /* 10 */
			bool enforce_certificate_expiry_time_validity; /* true */
			bool allow_insecure_http;                      /* false */
			struct config_strlist allowed_hosts;           /* [] */
			char *ca_file;                  /* NULL = the system CA store */
			int64_t fetch_threads;          /* 4: the fetch pool */
			int64_t max_fetches_per_tenant; /* 2 concurrent */
		} jwks_endpoint;
		struct {
			char *jwt_signing_algorithm; /* "RS256" | "ES256" | "EdDSA" */
		} access_token;
		struct {
			int64_t per_client;       /* token requests/s per client; 0 = off */
			int64_t per_client_burst; /* bucket size; 0 = per_client */
			int64_t per_source; /* token requests/s per address (IPv6 /64); 0 = off */
			int64_t per_source_burst; /* bucket size; 0 = per_source */
		} rate_limit;
	} oauth;

	struct {
		int64_t max_failed_logins; /* 5 per window, per source and per user */
		int64_t lockout_window;    /* seconds, 300 */
		int64_t auth_cache_ttl;    /* seconds, 60 */
	} admin_api; /* [admin_api]: not [admin], so GRANTD_ADMIN_PASSWORD is no key */

	struct {
		char *dir; /* NULL = the build tree's console/ or <datadir>/grantd/console */
		int64_t session_idle_timeout; /* seconds, 900 */
		int64_t session_lifetime;     /* seconds, 28800 (absolute) */
		int64_t max_sessions;         /* 1024 */
	} console;

	struct {
		bool enabled; /* true: GET /metrics */
	} metrics;
};

/* Loads `path` (NULL = defaults only) and the environment `envp` (NULL =
 * environ) into a new snapshot owned by the caller (config_free). Order:
 * built-in defaults, then the file, then GRANTD_* variables, then cross-field
 * validation. Unknown GRANTD_* variables (other than GRANTD_ADMIN_PASSWORD and
 * GRANTD_CONFIG) are not errors but are logged with log_warn.
 * On failure `*out` is NULL and `e` holds one line naming where the bad value
 * came from: "FILE:LINE: [table] key: reason" (or "FILE:LINE: reason" for
 * syntax errors), "env GRANTD_X: [table] key: reason", or
 * "default: [table] key: reason". Returns ST_INVALID for any bad
 * configuration, ST_IO when the file cannot be read ("FILE: cannot read:
 * ..."), ST_NOMEM on allocation failure. A CLI maps ST_INVALID and ST_IO to
 * exit code 2. */
status config_load(const char *path, char *const *envp, struct config **out, struct err *e);

/* As config_load, from `len` bytes of `buf` already in memory; `name` is the
 * file name used in messages and as `source` (NULL = "(buffer)"). */
status config_load_buffer(const char *name, const char *buf, size_t len, char *const *envp,
			  struct config **out, struct err *e);

/* Releases everything the snapshot owns; NULL is a no-op. */
void config_free(struct config *c);

/* Appends the effective configuration to `out` as TOML (what check-config
 * prints): every key, tables in the order of docs/configuration.md,
 * durations as "90s"/"30m"/"1h"/"1d". Keys that are unset (tls_cert,
 * tls_key, url) and a bind list that is the built-in default are written as
 * comments, so loading the dump gives back the same configuration. Returns
 * ST_OK, or the buf_* status (ST_NOMEM, ST_TOO_LARGE). */
status config_dump(const struct config *c, struct buf *out);

/* Copies a PostgreSQL URL (postgresql:// or postgres://) or libpq
 * key=value conninfo into out (size n, always terminated) with its password
 * replaced by "****". False (out: "(unparsable connection string)") when
 * `url` is neither form. For check-config and messages; store.h's
 * store_pg_url_mask is the same. */
bool config_db_url_mask(const char *url, char *out, size_t n);

#endif
