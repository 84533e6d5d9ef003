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
		char *hostname;             /* "localhost" */
		struct config_strlist bind; /* ["127.0.0.1", "::1"] */
		bool bind_is_default;       /* unbindable defaults are skipped */
		int64_t port;               /* 9443 */
		int64_t http_port;          /* 0 = off */
		char *data_dir;             /* "var" */
		char *tls_cert, *tls_key;   /* NULL = generated in data_dir */
		int64_t threads;            /* 0 = number of CPUs */
		int64_t max_connections;    /* 1024 */
		int64_t connection_timeout; /* seconds, 30 */
		int64_t max_header_size;    /* bytes, 16384 */
		int64_t max_body_size;      /* bytes, 1 MiB (admin API) */
		int64_t shutdown_timeout;   /* seconds, 10 */
		bool access_log;            /* true */
		char *log_level;            /* "info" */
	} server;

	struct {
		char *type; /* "sqlite" | "postgres" */
		char *path; /* default <data_dir>/grantd.db */
		char *url;  /* libpq conninfo or URL */
		int64_t busy_timeout; /* seconds, 5 */
	} database;

	struct {
		char *default_domain; /* "carbon.super" */
	} tenant;

	struct {
		int64_t timestamp_skew;        /* 60 */
		bool hash_tokens_and_secrets;  /* true */
		struct {
			bool enable_iat_validation;    /* true */
			int64_t iat_validity_period;   /* 1800 (config unit: minutes) */
			bool enable_jwt_cache;         /* true */
			bool require_jti, require_iat; /* false */
			int64_t max_assertion_lifetime; /* 0 = unlimited */
			int64_t max_assertion_size;     /* 16384 bytes */
		} jwt;
		struct {
			int64_t user_access_token_validity; /* 3600 */
			int64_t app_access_token_validity;  /* 3600 */
			int64_t refresh_token_validity;     /* 86400 */
		} token_validation;
		struct {
			bool renew_refresh_token; /* true */
		} token_renewal;
		struct {
			int64_t connection_timeout; /* 1 */
			int64_t read_timeout;       /* 1 */
			int64_t size_limit_bytes;   /* 51200 */
			int64_t cache_ttl;          /* 600 */
			int64_t min_refetch_interval; /* 10 */
			bool enforce_certificate_expiry_time_validity; /* true */
			bool allow_insecure_http;   /* false */
			struct config_strlist allowed_hosts; /* [] */
		} jwks_endpoint;
		struct {
			char *jwt_signing_algorithm; /* "RS256" | "ES256" | "EdDSA" */
		} access_token;
	} oauth;

	struct {
		int64_t max_failed_logins;  /* 5 per window, per source and per user */
		int64_t lockout_window;     /* seconds, 300 */
		int64_t auth_cache_ttl;     /* seconds, 60 */
	} admin;
};

/* Loads `path` (NULL = defaults only) and the environment `envp` (NULL =
 * environ) into a new snapshot. On failure returns ST_INVALID with
 * "file:line: reason" in `e` (or "env GRANTD_X: reason"). */
status config_load(const char *path, char *const *envp, struct config **out, struct err *e);
void config_free(struct config *c);

/* Writes the effective configuration as TOML (what check-config prints). */
status config_dump(const struct config *c, struct buf *out);

#endif
