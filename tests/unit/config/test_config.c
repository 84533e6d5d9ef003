/* test_config.c - deployment.toml schema, env overrides, validation, dump
 * (src/config/config.c). The TOML parser's own tests are in test_toml.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/toml.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "tests.h"

static char *const no_env[] = {NULL};

static struct config *load_env(const char *src, char *const *env)
{
	struct config *c = NULL;
	struct err e = {0};
	status st = config_load_buffer("t.toml", src, src ? strlen(src) : 0, env, &c, &e);

	if (st != ST_OK)
		fail_msg("rejected: %s", e.msg);
	assert_non_null(c);
	return c;
}

static struct config *load(const char *src)
{
	return load_env(src, no_env);
}

/* Must be rejected with exactly the message `want`. */
static void bad_env(const char *src, char *const *env, const char *want)
{
	struct config *c = (struct config *)1;
	struct err e = {0};
	status st = config_load_buffer("t.toml", src, src ? strlen(src) : 0, env, &c, &e);

	if (st == ST_OK) {
		config_free(c);
		fail_msg("accepted %s (want \"%s\")", src ? src : "(no file)", want);
	}
	assert_int_equal(st, ST_INVALID);
	assert_null(c);
	if (strcmp(e.msg, want) != 0)
		fail_msg("\n  got  \"%s\"\n  want \"%s\"", e.msg, want);
}

static void bad(const char *src, const char *want)
{
	bad_env(src, no_env, want);
}

static char *dump(const struct config *c)
{
	struct buf b = {0};
	assert_int_equal(config_dump(c, &b), ST_OK);
	return buf_steal(&b);
}

/* The dump without its first line (which names the source). */
static const char *body(const char *d)
{
	const char *nl = strchr(d, '\n');
	assert_non_null(nl);
	return nl + 1;
}

/* Dump, load the dump, dump again: the same text, and returns the reload. */
static struct config *round_trip(const struct config *c)
{
	char *d1 = dump(c), *d2;
	struct config *c2 = NULL;
	struct err e = {0};

	if (config_load_buffer("dump.toml", d1, strlen(d1), no_env, &c2, &e) != ST_OK)
		fail_msg("dump does not load: %s\n%s", e.msg, d1);
	d2 = dump(c2);
	assert_string_equal(body(d1), body(d2));
	free(d1);
	free(d2);
	return c2;
}

static const char full_src[] =
    "[server]\n"
    "hostname = \"auth.example.com\"\n"
    "bind = [\"0.0.0.0\", \"::\"]\n"
    "port = 8443\n"
    "http_port = 8080\n"
    "data_dir = \"/srv/grantd\"\n"
    "tls_cert = \"/etc/grantd/cert.pem\"\n"
    "tls_key = \"/etc/grantd/key.pem\"\n"
    "threads = 8\n"
    "max_connections = 5000\n"
    "connection_timeout = 45\n"
    "max_header_size = \"32KiB\"\n"
    "max_body_size = 2_097_152\n"
    "shutdown_timeout = \"1m\"\n"
    "user = \"grantd\"\n"
    "access_log = false\n"
    "log_level = \"debug\"\n"
    "\n"
    "[database]\n"
    "type = \"postgres\"\n"
    "url = \"postgresql://grantd@db/grantd\"\n"
    "busy_timeout = \"2s\"\n"
    "\n"
    "[tenant]\n"
    "default_domain = \"example.org\"\n"
    "\n"
    "[oauth]\n"
    "timestamp_skew = \"2m\"\n"
    "hash_tokens_and_secrets = true\n"
    "\n"
    "[oauth.grant_type.jwt]\n"
    "enable_iat_validation = false\n"
    "iat_validity_period = 45\n"
    "enable_jwt_cache = false\n"
    "require_jti = true\n"
    "require_iat = true\n"
    "max_assertion_lifetime = \"1h\"\n"
    "max_assertion_size = 8192\n"
    "\n"
    "[oauth.token_validation]\n"
    "user_access_token_validity = \"15m\"\n"
    "app_access_token_validity = 7200\n"
    "refresh_token_validity = \"30d\"\n"
    "id_token_validity = \"10m\"\n"
    "\n"
    "[oauth.token_renewal]\n"
    "renew_refresh_token = false\n"
    "\n"
    "[oauth.jwks_endpoint]\n"
    "connection_timeout = \"3s\"\n"
    "read_timeout = 5\n"
    "size_limit_bytes = \"1MiB\"\n"
    "cache_ttl = \"1h\"\n"
    "min_refetch_interval = \"30s\"\n"
    "enforce_certificate_expiry_time_validity = false\n"
    "allow_insecure_http = true\n"
    "allowed_hosts = [\"idp.example.com\", \"10.0.0.5\", \"*.corp.example:8443\"]\n"
    "ca_file = \"/etc/grantd/ca.pem\"\n"
    "\n"
    "[oauth.access_token]\n"
    "jwt_signing_algorithm = \"EdDSA\"\n"
    "\n"
    "[admin_api]\n"
    "max_failed_logins = 10\n"
    "lockout_window = \"15m\"\n"
    "auth_cache_ttl = 0\n"
    "\n"
    "[console]\n"
    "dir = \"/usr/share/grantd/console\"\n"
    "session_idle_timeout = \"10m\"\n"
    "session_lifetime = \"2h\"\n"
    "max_sessions = 50\n"
    "\n"
    "[metrics]\n"
    "enabled = false\n";

#define NUM_KEYS 65

static void check_defaults(const struct config *c)
{
	assert_string_equal(c->server.hostname, "localhost");
	assert_int_equal(c->server.bind.n, 2);
	assert_string_equal(c->server.bind.v[0], "127.0.0.1");
	assert_string_equal(c->server.bind.v[1], "::1");
	assert_true(c->server.bind_is_default);
	assert_int_equal(c->server.port, 9443);
	assert_int_equal(c->server.http_port, 0);
	assert_string_equal(c->server.data_dir, "var");
	assert_null(c->server.tls_cert);
	assert_null(c->server.tls_key);
	assert_int_equal(c->server.threads, 0);
	assert_int_equal(c->server.max_connections, 1024);
	assert_int_equal(c->server.connection_timeout, 30);
	assert_int_equal(c->server.max_header_size, 16384);
	assert_int_equal(c->server.max_body_size, 1048576);
	assert_int_equal(c->server.shutdown_timeout, 10);
	assert_true(c->server.access_log);
	assert_string_equal(c->server.log_level, "info");
	assert_string_equal(c->database.type, "sqlite");
	assert_string_equal(c->database.path, "var/grantd.db");
	assert_null(c->database.url);
	assert_int_equal(c->database.busy_timeout, 5);
	assert_string_equal(c->tenant.default_domain, "carbon.super");
	assert_int_equal(c->oauth.timestamp_skew, 60);
	assert_true(c->oauth.hash_tokens_and_secrets);
	assert_true(c->oauth.jwt.enable_iat_validation);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 1800);
	assert_true(c->oauth.jwt.enable_jwt_cache);
	assert_false(c->oauth.jwt.require_jti);
	assert_false(c->oauth.jwt.require_iat);
	assert_int_equal(c->oauth.jwt.max_assertion_lifetime, 86400);
	assert_int_equal(c->oauth.jwt.max_assertion_size, 16384);
	assert_int_equal(c->oauth.token_validation.user_access_token_validity, 3600);
	assert_int_equal(c->oauth.token_validation.app_access_token_validity, 3600);
	assert_int_equal(c->oauth.token_validation.refresh_token_validity, 86400);
	assert_int_equal(c->oauth.token_validation.id_token_validity, 3600);
	assert_true(c->metrics.enabled);
	assert_true(c->oauth.token_renewal.renew_refresh_token);
	assert_int_equal(c->oauth.jwks_endpoint.connection_timeout, 1);
	assert_int_equal(c->oauth.jwks_endpoint.read_timeout, 1);
	assert_int_equal(c->oauth.jwks_endpoint.size_limit_bytes, 51200);
	assert_int_equal(c->oauth.jwks_endpoint.cache_ttl, 600);
	assert_int_equal(c->oauth.jwks_endpoint.min_refetch_interval, 10);
	assert_true(c->oauth.jwks_endpoint.enforce_certificate_expiry_time_validity);
	assert_false(c->oauth.jwks_endpoint.allow_insecure_http);
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 0);
	assert_string_equal(c->oauth.access_token.jwt_signing_algorithm, "RS256");
	assert_int_equal(c->admin_api.max_failed_logins, 5);
	assert_int_equal(c->admin_api.lockout_window, 300);
	assert_int_equal(c->admin_api.auth_cache_ttl, 60);
	assert_null(c->console.dir);
	assert_int_equal(c->console.session_idle_timeout, 900);
	assert_int_equal(c->console.session_lifetime, 28800);
	assert_int_equal(c->console.max_sessions, 1024);
}

static void defaults(void **state)
{
	(void)state;
	struct config *c = NULL;
	struct err e = {0};

	assert_int_equal(config_load(NULL, no_env, &c, &e), ST_OK);
	check_defaults(c);
	assert_string_equal(c->source, "(defaults)");
	config_free(c);
	/* an empty file, and one with only empty known tables, are defaults too */
	c = load("");
	check_defaults(c);
	assert_string_equal(c->source, "t.toml");
	config_free(c);
	c = load("# nothing\n[server]\n[oauth.grant_type]\n[oauth.grant_type.jwt]\n");
	check_defaults(c);
	config_free(c);
	config_free(NULL);
}

static void every_key_from_file(void **state)
{
	(void)state;
	struct config *c = load(full_src);

	assert_string_equal(c->server.hostname, "auth.example.com");
	assert_int_equal(c->server.bind.n, 2);
	assert_string_equal(c->server.bind.v[0], "0.0.0.0");
	assert_string_equal(c->server.bind.v[1], "::");
	assert_false(c->server.bind_is_default);
	assert_int_equal(c->server.port, 8443);
	assert_int_equal(c->server.http_port, 8080);
	assert_string_equal(c->server.data_dir, "/srv/grantd");
	assert_string_equal(c->server.tls_cert, "/etc/grantd/cert.pem");
	assert_string_equal(c->server.tls_key, "/etc/grantd/key.pem");
	assert_int_equal(c->server.threads, 8);
	assert_int_equal(c->server.max_connections, 5000);
	assert_int_equal(c->server.connection_timeout, 45);
	assert_int_equal(c->server.max_header_size, 32768);
	assert_int_equal(c->server.max_body_size, 2097152);
	assert_int_equal(c->server.shutdown_timeout, 60);
	assert_false(c->server.access_log);
	assert_string_equal(c->server.log_level, "debug");
	assert_string_equal(c->database.type, "postgres");
	assert_string_equal(c->database.url, "postgresql://grantd@db/grantd");
	assert_string_equal(c->database.path, "/srv/grantd/grantd.db");
	assert_int_equal(c->database.busy_timeout, 2);
	assert_string_equal(c->tenant.default_domain, "example.org");
	assert_int_equal(c->oauth.timestamp_skew, 120);
	assert_true(c->oauth.hash_tokens_and_secrets);
	assert_false(c->oauth.jwt.enable_iat_validation);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 45 * 60); /* minutes */
	assert_false(c->oauth.jwt.enable_jwt_cache);
	assert_true(c->oauth.jwt.require_jti);
	assert_true(c->oauth.jwt.require_iat);
	assert_int_equal(c->oauth.jwt.max_assertion_lifetime, 3600);
	assert_int_equal(c->oauth.jwt.max_assertion_size, 8192);
	assert_int_equal(c->oauth.token_validation.user_access_token_validity, 900);
	assert_int_equal(c->oauth.token_validation.app_access_token_validity, 7200);
	assert_int_equal(c->oauth.token_validation.refresh_token_validity, 30 * 86400);
	assert_int_equal(c->oauth.token_validation.id_token_validity, 600);
	assert_false(c->metrics.enabled);
	assert_false(c->oauth.token_renewal.renew_refresh_token);
	assert_int_equal(c->oauth.jwks_endpoint.connection_timeout, 3);
	assert_int_equal(c->oauth.jwks_endpoint.read_timeout, 5);
	assert_int_equal(c->oauth.jwks_endpoint.size_limit_bytes, 1048576);
	assert_int_equal(c->oauth.jwks_endpoint.cache_ttl, 3600);
	assert_int_equal(c->oauth.jwks_endpoint.min_refetch_interval, 30);
	assert_false(c->oauth.jwks_endpoint.enforce_certificate_expiry_time_validity);
	assert_true(c->oauth.jwks_endpoint.allow_insecure_http);
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 3);
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[1], "10.0.0.5");
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[2], "*.corp.example:8443");
	assert_string_equal(c->oauth.jwks_endpoint.ca_file, "/etc/grantd/ca.pem");
	assert_string_equal(c->oauth.access_token.jwt_signing_algorithm, "EdDSA");
	assert_int_equal(c->admin_api.max_failed_logins, 10);
	assert_int_equal(c->admin_api.lockout_window, 900);
	assert_int_equal(c->admin_api.auth_cache_ttl, 0);
	assert_string_equal(c->console.dir, "/usr/share/grantd/console");
	assert_int_equal(c->console.session_idle_timeout, 600);
	assert_int_equal(c->console.session_lifetime, 7200);
	assert_int_equal(c->console.max_sessions, 50);
	config_free(c);
}

static void unknown_and_wrong_types(void **state)
{
	(void)state;
	bad("[sever]\nport = 1\n", "t.toml:1: [sever]: unknown table");
	bad("[server]\nport = 1\n\n[oauth.grant_type.jwk]\n",
	    "t.toml:4: [oauth.grant_type.jwk]: unknown table");
	bad("[server.x.y]\n", "t.toml:1: [server.x]: unknown table");
	bad("[admin]\nmax_failed_logins = 3\n", "t.toml:1: [admin]: unknown table");
	bad("port = 1\n",
	    "t.toml:1: port: key outside any table (put it under its [table] header)");
	bad("[server]\n\nprot = 1\n", "t.toml:3: [server] prot: unknown key");
	bad("[oauth]\niat_validity_period = 1\n",
	    "t.toml:2: [oauth] iat_validity_period: unknown key");
	bad("[oauth.grant_type]\njwt = 1\n", "t.toml:2: [oauth.grant_type] jwt: unknown key");
	bad("[server]\nport = \"94x3\"\n",
	    "t.toml:2: [server] port: expected an integer, found \"94x3\"");
	bad("[server]\nport = \" 9443\"\n",
	    "t.toml:2: [server] port: expected an integer, found \" 9443\"");
	bad("[server]\naccess_log = \"yes\"\n",
	    "t.toml:2: [server] access_log: expected a boolean (true or false), found \"yes\"");
	bad("[server]\naccess_log = \"True\"\n",
	    "t.toml:2: [server] access_log: expected a boolean (true or false), found \"True\"");
	bad("[server]\naccess_log = 1\n",
	    "t.toml:2: [server] access_log: expected a boolean (true or false), found an integer");
	bad("[server]\nbind = \"127.0.0.1\"\n",
	    "t.toml:2: [server] bind: expected an array of strings, found a string");
	bad("[server]\nhostname = 5\n",
	    "t.toml:2: [server] hostname: expected a string, found an integer");
	bad("[server]\nhostname = [\"a\"]\n",
	    "t.toml:2: [server] hostname: expected a string, found an array");
	bad("[oauth]\ntimestamp_skew = true\n",
	    "t.toml:2: [oauth] timestamp_skew: expected a duration (an integer, or a string "
	    "like \"90s\", \"30m\", \"1h\"), found a boolean");
	bad("[server]\nmax_body_size = false\n",
	    "t.toml:2: [server] max_body_size: expected a size (an integer number of bytes, or "
	    "a string like \"64KiB\"), found a boolean");
	/* syntax errors come through with their line, as ST_INVALID */
	bad("[server]\nport = 1.5\n", "t.toml:2: floats are not supported");
	bad("[server]\nport = 1\nport = 2\n",
	    "t.toml:3: duplicate key 'port' in [server] (first on line 2)");
	bad("[server]\n[server]\n", "t.toml:2: table [server] defined twice (first on line 1)");
	bad("[server]\nport = 1\n[server.port]\n",
	    "t.toml:3: table [server.port] conflicts with key 'port' defined on line 2");
	/* a file over the size limit is a config error, not an I/O error */
	{
		size_t n = LIMIT_CONFIG_FILE + 10;
		char *s = malloc(n);
		struct config *c = NULL;
		struct err e;
		assert_non_null(s);
		memset(s, '\n', n);
		assert_int_equal(config_load_buffer("big.toml", s, n, no_env, &c, &e), ST_INVALID);
		assert_null(c);
		assert_string_equal(e.msg, "big.toml:1048577: file too large (more than 1048576 "
					   "bytes)");
		free(s);
	}
}

static void bounds(void **state)
{
	(void)state;
	struct config *c;

	bad("[server]\nport = 70000\n", "t.toml:2: [server] port: must be between 0 and 65535");
	bad("[server]\nport = -1\n", "t.toml:2: [server] port: must be between 0 and 65535");
	bad("[server]\nhttp_port = 65536\n",
	    "t.toml:2: [server] http_port: must be between 0 and 65535");
	bad("[server]\nmax_connections = 0\n",
	    "t.toml:2: [server] max_connections: must be between 1 and 1000000");
	bad("[server]\nthreads = 1025\n", "t.toml:2: [server] threads: must be between 0 and 1024");
	bad("[server]\nmax_header_size = 1023\n",
	    "t.toml:2: [server] max_header_size: must be between 1024 and 1048576 bytes");
	bad("[oauth.grant_type.jwt]\nmax_assertion_size = 255\n",
	    "t.toml:2: [oauth.grant_type.jwt] max_assertion_size: must be between 256 and "
	    "1048576 bytes");
	bad("[oauth.grant_type.jwt]\nmax_assertion_size = 1048577\n",
	    "t.toml:2: [oauth.grant_type.jwt] max_assertion_size: must be between 256 and "
	    "1048576 bytes");
	bad("[oauth]\ntimestamp_skew = 3601\n",
	    "t.toml:2: [oauth] timestamp_skew: must be between 0s and 1h");
	bad("[oauth.grant_type.jwt]\niat_validity_period = 0\n",
	    "t.toml:2: [oauth.grant_type.jwt] iat_validity_period: must be between 1s and 365d");
	bad("[server]\nlog_level = \"trace\"\n",
	    "t.toml:2: [server] log_level: must be one of error, warn, info, debug");
	bad("[server]\nlog_level = \"INFO\"\n",
	    "t.toml:2: [server] log_level: must be one of error, warn, info, debug");
	bad("[oauth.access_token]\njwt_signing_algorithm = \"HS256\"\n",
	    "t.toml:2: [oauth.access_token] jwt_signing_algorithm: must be one of RS256, ES256, "
	    "EdDSA");
	bad("[database]\ntype = \"mysql\"\n",
	    "t.toml:2: [database] type: must be one of sqlite, postgres");
	bad("[admin_api]\nmax_failed_logins = 0\n",
	    "t.toml:2: [admin_api] max_failed_logins: must be between 1 and 1000");

	c = load("[oauth.grant_type.jwt]\nmax_assertion_size = 256\niat_validity_period = \"30s\"\n"
		 "[oauth]\ntimestamp_skew = 0\n[server]\nport = 65535\nlog_level = \"error\"\n");
	assert_int_equal(c->oauth.jwt.max_assertion_size, 256);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 30);
	assert_int_equal(c->oauth.timestamp_skew, 0);
	assert_int_equal(c->server.port, 65535);
	config_free(c);
	c = load("[oauth.grant_type.jwt]\nmax_assertion_size = 1048576\n"
		 "[oauth]\ntimestamp_skew = \"1h\"\n[oauth.access_token]\n"
		 "jwt_signing_algorithm = \"ES256\"\n");
	assert_int_equal(c->oauth.jwt.max_assertion_size, 1048576);
	assert_int_equal(c->oauth.timestamp_skew, 3600);
	assert_string_equal(c->oauth.access_token.jwt_signing_algorithm, "ES256");
	config_free(c);
}

static int64_t cache_ttl(const char *v)
{
	char src[128];
	struct config *c;
	int64_t r;

	snprintf(src, sizeof src, "[oauth.jwks_endpoint]\ncache_ttl = %s\n", v);
	c = load(src);
	r = c->oauth.jwks_endpoint.cache_ttl;
	config_free(c);
	return r;
}

static void bad_ttl(const char *v, const char *reason)
{
	char src[128], want[256];

	snprintf(src, sizeof src, "[oauth.jwks_endpoint]\ncache_ttl = %s\n", v);
	snprintf(want, sizeof want, "t.toml:2: [oauth.jwks_endpoint] cache_ttl: %s", reason);
	bad(src, want);
}

static void durations(void **state)
{
	(void)state;
	struct config *c;

	assert_int_equal(cache_ttl("\"90s\""), 90);
	assert_int_equal(cache_ttl("\"30m\""), 1800);
	assert_int_equal(cache_ttl("\"1h\""), 3600);
	assert_int_equal(cache_ttl("\"1d\""), 86400);
	assert_int_equal(cache_ttl("\"7d\""), 7 * 86400);
	assert_int_equal(cache_ttl("'45s'"), 45);
	assert_int_equal(cache_ttl("600"), 600); /* plain integer: seconds */
	assert_int_equal(cache_ttl("1_200"), 1200);

	assert_int_equal(cache_ttl("\"90\""), 90); /* quoted plain number: the key's unit */
	bad_ttl("\"9 0\"", "invalid duration \"9 0\": use an integer with one unit s, m, h or d "
			   "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"1h30m\"", "invalid duration \"1h30m\": use an integer with one unit s, m, h "
			     "or d (\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"5 s\"", "invalid duration \"5 s\": use an integer with one unit s, m, h or d "
			   "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"5S\"", "invalid duration \"5S\": use an integer with one unit s, m, h or d "
			  "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"s\"", "invalid duration \"s\": use an integer with one unit s, m, h or d "
			 "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"\"", "invalid duration \"\": use an integer with one unit s, m, h or d "
			"(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"1.5h\"", "invalid duration \"1.5h\": use an integer with one unit s, m, h or "
			    "d (\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"+5s\"", "invalid duration \"+5s\": use an integer with one unit s, m, h or d "
			   "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"1w\"", "invalid duration \"1w\": use an integer with one unit s, m, h or d "
			  "(\"90s\", \"30m\", \"1h\", \"1d\")");
	bad_ttl("\"-5s\"", "durations cannot be negative");
	bad_ttl("-5", "durations cannot be negative");
	bad_ttl("\"99999999999999999999s\"", "duration out of range");
	bad_ttl("\"9223372036854775807d\"", "duration out of range");
	bad_ttl("\"8d\"", "must be between 1s and 7d");
	bad_ttl("0", "must be between 1s and 7d");
	bad("[oauth.grant_type.jwt]\niat_validity_period = 9223372036854775807\n",
	    "t.toml:2: [oauth.grant_type.jwt] iat_validity_period: duration out of range");

	/* zero where allowed, and the minutes unit of iat_validity_period */
	c = load("[oauth.jwks_endpoint]\nmin_refetch_interval = \"0s\"\n"
		 "[oauth.grant_type.jwt]\niat_validity_period = 1\n"
		 "max_assertion_lifetime = \"3650d\"\n");
	assert_int_equal(c->oauth.jwks_endpoint.min_refetch_interval, 0);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 60);
	assert_int_equal(c->oauth.jwt.max_assertion_lifetime, 3650LL * 86400);
	config_free(c);
	bad("[oauth.grant_type.jwt]\nmax_assertion_lifetime = \"3651d\"\n",
	    "t.toml:2: [oauth.grant_type.jwt] max_assertion_lifetime: must be between 0s and "
	    "3650d");
}

static void sizes(void **state)
{
	(void)state;
	struct config *c = load("[server]\nmax_header_size = \"64KiB\"\nmax_body_size = \"2MiB\"\n"
				"[oauth.jwks_endpoint]\nsize_limit_bytes = \"2048B\"\n"
				"[oauth.grant_type.jwt]\nmax_assertion_size = \"4096\"\n");

	assert_int_equal(c->server.max_header_size, 65536);
	assert_int_equal(c->server.max_body_size, 2 * 1048576);
	assert_int_equal(c->oauth.jwks_endpoint.size_limit_bytes, 2048);
	assert_int_equal(c->oauth.jwt.max_assertion_size, 4096);
	config_free(c);
	bad("[server]\nmax_body_size = \"1GB\"\n",
	    "t.toml:2: [server] max_body_size: invalid size \"1GB\": use an integer number of "
	    "bytes, or a string like \"64KiB\" or \"1MiB\"");
	bad("[server]\nmax_body_size = \"KiB\"\n",
	    "t.toml:2: [server] max_body_size: invalid size \"KiB\": use an integer number of "
	    "bytes, or a string like \"64KiB\" or \"1MiB\"");
	bad("[server]\nmax_body_size = \"1.5MiB\"\n",
	    "t.toml:2: [server] max_body_size: invalid size \"1.5MiB\": use an integer number of "
	    "bytes, or a string like \"64KiB\" or \"1MiB\"");
	bad("[server]\nmax_body_size = -1\n",
	    "t.toml:2: [server] max_body_size: sizes cannot be negative");
	bad("[server]\nmax_body_size = \"-1KiB\"\n",
	    "t.toml:2: [server] max_body_size: sizes cannot be negative");
	bad("[server]\nmax_body_size = \"99999999999999999MiB\"\n",
	    "t.toml:2: [server] max_body_size: size out of range");
	bad("[server]\nmax_body_size = \"65MiB\"\n",
	    "t.toml:2: [server] max_body_size: must be between 1024 and 67108864 bytes");
}

static void env_overrides(void **state)
{
	(void)state;
	char *env1[] = {"HOME=/root",
			"GRANTD_SERVER_PORT=9555",
			"GRANTD_OAUTH_GRANT_TYPE_JWT_IAT_VALIDITY_PERIOD=45",
			"GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=[\"a.example\", 'b.example',]",
			"GRANTD_SERVER_ACCESS_LOG=false",
			"GRANTD_SERVER_HOSTNAME=auth.example.org",
			"GRANTD_SERVER_MAX_BODY_SIZE=2MiB",
			"GRANTD_OAUTH_TIMESTAMP_SKEW=30",
			"GRANTD_OAUTH_JWKS_ENDPOINT_CACHE_TTL= 2h ",
			"GRANTD_DATABASE_URL=host=db user=grantd",
			"GRANTD_SERVER_PORT=1", /* like getenv(): the first one wins */
			"grantd_server_http_port=1",
			NULL};
	char *env2[] = {"GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS= a.example, b.example ,c ",
			"GRANTD_OAUTH_GRANT_TYPE_JWT_IAT_VALIDITY_PERIOD=2h",
			"GRANTD_SERVER_BIND=0.0.0.0",
			"GRANTD_SERVER_TLS_CERT=",
			"GRANTD_SERVER_TLS_KEY=",
			"GRANTD_SERVER_MAX_CONNECTIONS=1_000",
			"GRANTD_SERVER_DATA_DIR=/data/",
			NULL};
	char *env3[] = {"GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=", "GRANTD_SERVER_BIND=[\"::\"]",
			NULL};
	struct config *c;

	c = load_env("[server]\nport = 1234\naccess_log = true\n[database]\nurl = \"x\"\n", env1);
	assert_int_equal(c->server.port, 9555);
	assert_int_equal(c->server.http_port, 0);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 45 * 60);
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 2);
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[0], "a.example");
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[1], "b.example");
	assert_false(c->server.access_log);
	assert_string_equal(c->server.hostname, "auth.example.org");
	assert_int_equal(c->server.max_body_size, 2 * 1048576);
	assert_int_equal(c->oauth.timestamp_skew, 30);
	assert_int_equal(c->oauth.jwks_endpoint.cache_ttl, 7200);
	assert_string_equal(c->database.url, "host=db user=grantd");
	assert_true(c->server.bind_is_default);
	config_free(c);

	c = load_env("[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"
		     "[oauth.jwks_endpoint]\nallowed_hosts = [\"x.example\"]\n",
		     env2);
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 3);
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[1], "b.example");
	assert_string_equal(c->oauth.jwks_endpoint.allowed_hosts.v[2], "c");
	assert_int_equal(c->oauth.jwt.iat_validity_period, 7200);
	assert_int_equal(c->server.bind.n, 1);
	assert_string_equal(c->server.bind.v[0], "0.0.0.0");
	assert_false(c->server.bind_is_default);
	assert_null(c->server.tls_cert); /* empty unsets an optional key */
	assert_null(c->server.tls_key);
	assert_int_equal(c->server.max_connections, 1000);
	assert_string_equal(c->database.path, "/data/grantd.db");
	config_free(c);

	c = load_env("[oauth.jwks_endpoint]\nallowed_hosts = [\"x.example\"]\n", env3);
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 0);
	assert_int_equal(c->server.bind.n, 1);
	assert_string_equal(c->server.bind.v[0], "::");
	assert_false(c->server.bind_is_default);
	config_free(c);

	/* env alone, without a file */
	{
		char *env4[] = {"GRANTD_SERVER_PORT=0", NULL};
		struct config *c4 = NULL;
		struct err e;
		assert_int_equal(config_load(NULL, env4, &c4, &e), ST_OK);
		assert_int_equal(c4->server.port, 0);
		assert_string_equal(c4->source, "(defaults)");
		config_free(c4);
	}
}

static void env_one_bad(const char *var, const char *want)
{
	char *env[] = {(char *)var, NULL};
	bad_env("[server]\nport = 1234\n", env, want);
}

static void env_errors(void **state)
{
	(void)state;
	char many[512] = "GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=";

	env_one_bad("GRANTD_SERVER_PORT=abc",
		    "env GRANTD_SERVER_PORT: [server] port: expected an integer, found \"abc\"");
	env_one_bad("GRANTD_SERVER_PORT=",
		    "env GRANTD_SERVER_PORT: [server] port: expected an integer, found \"\"");
	env_one_bad("GRANTD_SERVER_PORT=\"9443\"",
		    "env GRANTD_SERVER_PORT: [server] port: expected an integer, found "
		    "\"\"9443\"\"");
	env_one_bad("GRANTD_SERVER_PORT=99999",
		    "env GRANTD_SERVER_PORT: [server] port: must be between 0 and 65535");
	env_one_bad("GRANTD_SERVER_PORT=0443",
		    "env GRANTD_SERVER_PORT: [server] port: leading zeros are not allowed in "
		    "integers");
	env_one_bad("GRANTD_SERVER_ACCESS_LOG=yes",
		    "env GRANTD_SERVER_ACCESS_LOG: [server] access_log: expected true or false");
	env_one_bad("GRANTD_SERVER_ACCESS_LOG=1",
		    "env GRANTD_SERVER_ACCESS_LOG: [server] access_log: expected true or false");
	env_one_bad("GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=a.example,,b.example",
		    "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
		    "allowed_hosts: list item 2 is empty");
	env_one_bad("GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=a.example,",
		    "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
		    "allowed_hosts: list item 2 is empty");
	env_one_bad("GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=[\"a\"",
		    "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
		    "allowed_hosts: unterminated array");
	env_one_bad("GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=[1]",
		    "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
		    "allowed_hosts: only arrays of strings are supported (found an integer)");
	env_one_bad("GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS=http://x",
		    "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
		    "allowed_hosts: item 1 is not a host name or IP address, optionally with a "
		    "leading \"*.\" and a \":port\"");
	env_one_bad("GRANTD_SERVER_CONNECTION_TIMEOUT=5x",
		    "env GRANTD_SERVER_CONNECTION_TIMEOUT: [server] connection_timeout: invalid "
		    "duration \"5x\": use an integer with one unit s, m, h or d (\"90s\", \"30m\", "
		    "\"1h\", \"1d\")");
	env_one_bad("GRANTD_SERVER_CONNECTION_TIMEOUT=-3",
		    "env GRANTD_SERVER_CONNECTION_TIMEOUT: [server] connection_timeout: durations "
		    "cannot be negative");
	env_one_bad(
	    "GRANTD_SERVER_MAX_BODY_SIZE=big",
	    "env GRANTD_SERVER_MAX_BODY_SIZE: [server] max_body_size: invalid size \"big\": "
	    "use an integer number of bytes, or a string like \"64KiB\" or \"1MiB\"");
	env_one_bad("GRANTD_SERVER_LOG_LEVEL=loud",
		    "env GRANTD_SERVER_LOG_LEVEL: [server] log_level: must be one of error, warn, "
		    "info, debug");
	env_one_bad("GRANTD_SERVER_HOSTNAME=a\x01z",
		    "env GRANTD_SERVER_HOSTNAME: [server] hostname: invalid UTF-8 or control "
		    "character in value");
	env_one_bad("GRANTD_SERVER_HOSTNAME=caf\xe9",
		    "env GRANTD_SERVER_HOSTNAME: [server] hostname: invalid UTF-8 or control "
		    "character in value");
	/* a cross-field error caused by the environment names the variable */
	env_one_bad("GRANTD_SERVER_HTTP_PORT=1234",
		    "env GRANTD_SERVER_HTTP_PORT: [server] http_port: HTTP and HTTPS listeners "
		    "cannot share port 1234");
	env_one_bad("GRANTD_DATABASE_TYPE=postgres",
		    "env GRANTD_DATABASE_TYPE: [database] type: \"postgres\" requires [database] "
		    "url");

	{
		/* environment values are bounded like file lines */
		char *big = malloc(LIMIT_CONFIG_LINE + 64);
		char *env[] = {big, NULL};
		int o = snprintf(big, 64, "GRANTD_DATABASE_URL=");
		assert_non_null(big);
		memset(big + o, 'x', LIMIT_CONFIG_LINE + 1);
		big[o + LIMIT_CONFIG_LINE + 1] = '\0';
		bad_env(NULL, env,
			"env GRANTD_DATABASE_URL: [database] url: value too long (more than 4096 "
			"bytes)");
		big[o + LIMIT_CONFIG_LINE] = '\0';
		config_free(load_env(NULL, env));
		free(big);
	}

	for (int k = 0; k <= CONFIG_MAX_LIST; k++) {
		size_t o = strlen(many);
		snprintf(many + o, sizeof many - o, "%sh%d", k ? "," : "", k);
	}
	env_one_bad(many, "env GRANTD_OAUTH_JWKS_ENDPOINT_ALLOWED_HOSTS: [oauth.jwks_endpoint] "
			  "allowed_hosts: too many items (more than 32)");
}

/* Runs config_load_buffer with stderr captured into `out`. */
static status load_capture(const char *src, char *const *env, char *out, size_t outsz)
{
	char path[] = "/tmp/grantd-test-XXXXXX";
	int fd = mkstemp(path), saved;
	struct config *c = NULL;
	struct err e;
	status st;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	st = config_load_buffer("t.toml", src, strlen(src), env, &c, &e);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	config_free(c);
	n = pread(fd, out, outsz - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return st;
}

static void env_unknown_warns(void **state)
{
	(void)state;
	char *env[] = {"GRANTD_SERVR_PORT=secretvalue",
		       "GRANTD_ADMIN_PASSWORD=hunter2",
		       "GRANTD_CONFIG=/etc/grantd.toml",
		       "GRANTD_SERVER_PORT=9000",
		       "GRANTD_ADMIN_MAX_FAILED_LOGINS=3",
		       "OTHER=1",
		       NULL};
	char *quiet[] = {"GRANTD_ADMIN_PASSWORD=hunter2", "GRANTD_SERVER_PORT=9000", NULL};
	char out[4096];
	enum log_level lvl = log_get_level();

	log_set_level(LOG_INFO);
	assert_int_equal(load_capture("", env, out, sizeof out), ST_OK);
	assert_non_null(strstr(out, "WARN"));
	assert_non_null(strstr(out, "GRANTD_SERVR_PORT"));
	/* the old [admin] spelling is visible as a typo too */
	assert_non_null(strstr(out, "GRANTD_ADMIN_MAX_FAILED_LOGINS"));
	assert_null(strstr(out, "secretvalue"));
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, "GRANTD_ADMIN_PASSWORD"));
	assert_null(strstr(out, "GRANTD_CONFIG"));
	assert_null(strstr(out, "GRANTD_SERVER_PORT"));
	assert_null(strstr(out, "OTHER"));
	assert_int_equal(load_capture("", quiet, out, sizeof out), ST_OK);
	assert_string_equal(out, "");
	log_set_level(lvl);
}

static void wso2_spellings(void **state)
{
	(void)state;
	/* Quoted booleans and integers, as WSO2's snippets write them; the
	 * dump shows them normalised. */
	struct config *c = load("[oauth.grant_type.jwt]\nenable_iat_validation = \"false\"\n"
				"iat_validity_period = \"30\"\nrequire_jti = \"true\"\n"
				"max_assertion_size = \"20000\"\n[server]\nport = \"9444\"\n");
	char *d = dump(c);
	assert_false(c->oauth.jwt.enable_iat_validation);
	assert_int_equal(c->oauth.jwt.iat_validity_period, 30 * 60); /* minutes */
	assert_true(c->oauth.jwt.require_jti);
	assert_int_equal(c->oauth.jwt.max_assertion_size, 20000);
	assert_int_equal(c->server.port, 9444);
	assert_non_null(strstr(d, "\nenable_iat_validation = false\n"));
	assert_non_null(strstr(d, "\niat_validity_period = \"30m\"\n"));
	assert_non_null(strstr(d, "\nport = 9444\n"));
	free(d);
	config_free(c);
	bad("[server]\nport = \"99999\"\n", "t.toml:2: [server] port: must be between 0 and 65535");
	/* WSO2 settings grantd does not implement are named as such. */
	bad("[server]\nhostname = \"a.example\"\nnode_ip = \"10.0.0.1\"\n",
	    "t.toml:3: [server] node_ip: a WSO2 Identity Server setting that grantd does not "
	    "support; remove it (docs/configuration.md, \"Differences from WSO2 Identity "
	    "Server\")");
	bad("[super_admin]\nusername = \"admin\"\n",
	    "t.toml:1: [super_admin]: a WSO2 Identity Server setting that grantd does not "
	    "support; remove it (docs/configuration.md, \"Differences from WSO2 Identity "
	    "Server\")");
	bad("[database.identity_db]\ntype = \"h2\"\n",
	    "t.toml:1: [database.identity_db]: a WSO2 Identity Server setting that grantd does "
	    "not support; remove it (docs/configuration.md, \"Differences from WSO2 Identity "
	    "Server\")");
	/* A typo is still just unknown. */
	bad("[server]\nnode_ipp = 1\n", "t.toml:2: [server] node_ipp: unknown key");
	/* A PostgreSQL URL of neither form. */
	bad("[database]\ntype = \"postgres\"\nurl = \"db.example:5432\"\n",
	    "t.toml:3: [database] url: must be a postgresql:// (or postgres://) URL or a libpq "
	    "key=value connection string");
	bad("[super_admins]\n", "t.toml:1: [super_admins]: unknown table");
}

static void every_key_has_an_env_var(void **state)
{
	(void)state;
	/* Every key of a dump where nothing is unset can be overridden by its
	 * GRANTD_<TABLE>_<KEY> variable, and no two keys share a variable. */
	struct config *c = load(full_src);
	char *d = dump(c);
	struct toml_doc doc;
	struct err e;
	char names[NUM_KEYS][128];

	assert_int_equal(toml_parse(&doc, d, strlen(d), "dump", &e), ST_OK);
	assert_int_equal(doc.nkv, NUM_KEYS);
	for (size_t k = 0; k < doc.nkv; k++) {
		struct buf var = {0}, want = {0};
		char *env[] = {NULL, NULL};

		assert_int_equal(buf_printf(&var, "GRANTD_%s_%s", doc.kv[k].table, doc.kv[k].key),
				 ST_OK);
		for (size_t o = 0; o < var.n; o++) {
			char ch = var.p[o];
			var.p[o] = ch == '.'                  ? '_'
				   : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32)
							      : ch;
		}
		assert_true(str_copy(names[k], sizeof names[k], var.p));
		for (size_t j = 0; j < k; j++)
			assert_string_not_equal(names[j], names[k]);
		assert_int_equal(buf_printf(&want,
					    "env %s: [%s] %s: invalid UTF-8 or control character "
					    "in value",
					    var.p, doc.kv[k].table, doc.kv[k].key),
				 ST_OK);
		assert_int_equal(buf_append_cstr(&var, "=\x01"), ST_OK);
		env[0] = var.p;
		bad_env(NULL, env, want.p);
		buf_free(&var);
		buf_free(&want);
	}
	toml_doc_free(&doc);
	free(d);
	config_free(c);
}

static void cross_field(void **state)
{
	(void)state;
	struct config *c;
	static const char *bad_hosts[] = {"bad_host", "-a.example", "a-.example", "a..b",
					  "a.",       ".a",         "x.123",      "a b",
					  "",         "[::1]",      "1.2.3.999"};
	static const char *good_hosts[] = {"localhost",   "Auth-1.Example.COM",  "::1", "192.0.2.1",
					   "2001:db8::5", "xn--grnt-loa.example"};

	bad("[server]\nport = 9443\nhttp_port = 9443\n",
	    "t.toml:3: [server] http_port: HTTP and HTTPS listeners cannot share port 9443");
	bad("[oauth]\n\nhash_tokens_and_secrets = false\n",
	    "t.toml:3: [oauth] hash_tokens_and_secrets: must be true: grantd stores tokens and "
	    "client secrets only as keyed hashes (HMAC-SHA256 with the server secret)");
	bad("[server]\nhttp_port = 9443\n",
	    "t.toml:2: [server] http_port: HTTP and HTTPS listeners cannot share port 9443");
	bad("[server]\nhttp_port = 8080\nport = 8080\n",
	    "t.toml:3: [server] port: HTTP and HTTPS listeners cannot share port 8080");
	c = load("[server]\nport = 0\nhttp_port = 0\n");
	assert_int_equal(c->server.port, 0);
	config_free(c);

	for (size_t k = 0; k < sizeof bad_hosts / sizeof bad_hosts[0]; k++) {
		char src[128];
		snprintf(src, sizeof src, "[server]\nhostname = \"%s\"\n", bad_hosts[k]);
		bad(src, "t.toml:2: [server] hostname: must be a DNS host name or an IP address");
	}
	for (size_t k = 0; k < sizeof good_hosts / sizeof good_hosts[0]; k++) {
		char src[128];
		snprintf(src, sizeof src, "[server]\nhostname = \"%s\"\n", good_hosts[k]);
		c = load(src);
		assert_string_equal(c->server.hostname, good_hosts[k]);
		config_free(c);
	}
	{
		char src[400], label[70];
		memset(label, 'a', 64);
		label[64] = '\0';
		snprintf(src, sizeof src, "[server]\nhostname = \"%s.example\"\n", label);
		bad(src, "t.toml:2: [server] hostname: must be a DNS host name or an IP address");
		label[63] = '\0';
		snprintf(src, sizeof src, "[server]\nhostname = \"%s.example\"\n", label);
		config_free(load(src));
	}

	bad("[server]\nbind = [\"localhost\"]\n",
	    "t.toml:2: [server] bind: item 1 is not an IPv4 or IPv6 address");
	bad("[server]\nbind = [\"127.0.0.1\", \"10.0.0.256\"]\n",
	    "t.toml:2: [server] bind: item 2 is not an IPv4 or IPv6 address");
	bad("[server]\nbind = [\"127.0.0.1\", \"::\", \"127.0.0.1\"]\n",
	    "t.toml:2: [server] bind: item 3 repeats item 1");
	bad("[server]\nbind = []\n", "t.toml:2: [server] bind: must list at least one address");
	bad("[server]\nbind = [\"\"]\n", "t.toml:2: [server] bind: list item 1 is empty");
	c = load("[server]\nbind = [\"127.0.0.1\", \"::1\"]\n");
	assert_false(c->server.bind_is_default); /* same value, but configured */
	config_free(c);

	bad("[server]\ntls_cert = \"c.pem\"\n",
	    "t.toml:2: [server] tls_cert: set [server] tls_cert and tls_key together (or "
	    "neither, to use a generated certificate)");
	bad("[server]\n\ntls_key = \"k.pem\"\n",
	    "t.toml:3: [server] tls_key: set [server] tls_cert and tls_key together (or "
	    "neither, to use a generated certificate)");
	bad("[database]\ntype = \"postgres\"\n",
	    "t.toml:2: [database] type: \"postgres\" requires [database] url");
	bad("[server]\ndata_dir = \"\"\n", "t.toml:2: [server] data_dir: must not be empty");
	bad("[tenant]\ndefault_domain = \"Carbon.Super\"\n",
	    "t.toml:2: [tenant] default_domain: must be a lower-case DNS-like name (letters, "
	    "digits, '-', dot-separated, e.g. \"carbon.super\")");
	bad("[tenant]\ndefault_domain = \"a_b\"\n",
	    "t.toml:2: [tenant] default_domain: must be a lower-case DNS-like name (letters, "
	    "digits, '-', dot-separated, e.g. \"carbon.super\")");
	bad("[oauth.jwks_endpoint]\nallowed_hosts = [\"ok.example\", \"https://x.example\"]\n",
	    "t.toml:2: [oauth.jwks_endpoint] allowed_hosts: item 2 is not a host name or IP "
	    "address, optionally with a leading \"*.\" and a \":port\"");
	bad("[oauth.jwks_endpoint]\nallowed_hosts = [\"*.ok.example:99999\"]\n",
	    "t.toml:2: [oauth.jwks_endpoint] allowed_hosts: item 1 is not a host name or IP "
	    "address, optionally with a leading \"*.\" and a \":port\"");
	c = load("[oauth.jwks_endpoint]\nallowed_hosts = [\"*.ok.example\", \"[::1]:8443\", "
		 "\"h.example:1\"]\n");
	assert_int_equal(c->oauth.jwks_endpoint.allowed_hosts.n, 3);
	config_free(c);
	bad("[oauth.jwks_endpoint]\nallowed_hosts = [\"a.example\", \"a.example\"]\n",
	    "t.toml:2: [oauth.jwks_endpoint] allowed_hosts: item 2 repeats item 1");

	c = load("[server]\ndata_dir = \"/srv/g/\"\n[database]\ntype = \"postgres\"\nurl = "
		 "\"postgres://db\"\n[tenant]\ndefault_domain = \"wso2.com\"\n");
	assert_string_equal(c->database.path, "/srv/g/grantd.db");
	assert_string_equal(c->tenant.default_domain, "wso2.com");
	config_free(c);
	c = load("[server]\ndata_dir = \"/srv/g\"\n[database]\npath = \"/db/x.db\"\n");
	assert_string_equal(c->database.path, "/db/x.db");
	config_free(c);
	c = load("[database]\npath = \"\"\n"); /* empty: back to the default */
	assert_string_equal(c->database.path, "var/grantd.db");
	config_free(c);
}

static void dump_format(void **state)
{
	(void)state;
	struct config *c = load(NULL);
	char *d = dump(c);
	static const char *lines[] = {
	    "# grantd effective configuration (source: (defaults))\n",
	    "\n[server]\nhostname = \"localhost\"\n# (default) bind = [\"127.0.0.1\", \"::1\"]\n"
	    "port = 9443\n",
	    "\n# tls_cert = (unset)\n# tls_key = (unset)\n",
	    "\nconnection_timeout = \"30s\"\n",
	    "\nshutdown_timeout = \"10s\"\n",
	    "\npath = \"var/grantd.db\"\n# url = (unset)\nbusy_timeout = \"5s\"\n",
	    "\ntimestamp_skew = \"60s\"\n",
	    "\niat_validity_period = \"30m\"\n",
	    "\nmax_assertion_lifetime = \"1d\"\n",
	    "\nuser_access_token_validity = \"1h\"\n",
	    "\nrefresh_token_validity = \"1d\"\n",
	    "\ncache_ttl = \"10m\"\n",
	    "\nallowed_hosts = []\n",
	    "\nlockout_window = \"5m\"\nauth_cache_ttl = \"60s\"\n",
	};
	static const char *tables[] = {"\n[server]\n",
				       "\n[database]\n",
				       "\n[tenant]\n",
				       "\n[oauth]\n",
				       "\n[oauth.grant_type.jwt]\n",
				       "\n[oauth.token_validation]\n",
				       "\n[oauth.token_renewal]\n",
				       "\n[oauth.jwks_endpoint]\n",
				       "\n[oauth.access_token]\n",
				       "\n[admin_api]\n"};
	const char *prev = d;

	for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++)
		if (strstr(d, lines[k]) == NULL)
			fail_msg("dump lacks %s\n%s", lines[k], d);
	for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
		const char *t = strstr(d, tables[k]);
		assert_non_null(t);
		assert_true(t > prev || k == 0);
		prev = t;
	}
	free(d);
	config_free(c);
}

static void dump_round_trip(void **state)
{
	(void)state;
	struct config *c, *c2;
	char *env[] = {"GRANTD_SERVER_DATA_DIR=/srv/gr\xc3\xa4nt \"q\" \\ #x",
		       "GRANTD_DATABASE_URL=host='db\\' x' password='p w'",
		       "GRANTD_OAUTH_GRANT_TYPE_JWT_IAT_VALIDITY_PERIOD=90s", NULL};

	/* defaults: the default bind list stays a default */
	c = load(NULL);
	c2 = round_trip(c);
	check_defaults(c2);
	config_free(c2);
	config_free(c);

	/* everything set, strings needing escapes, odd durations */
	c = load_env(full_src, env);
	c2 = round_trip(c);
	assert_string_equal(c2->server.data_dir, "/srv/gr\xc3\xa4nt \"q\" \\ #x");
	/* The dump masks the password (check-config prints it). */
	assert_string_equal(c2->database.url, "host='db\\' x' password=****");
	assert_string_equal(c2->database.path, c->database.path);
	assert_int_equal(c2->oauth.jwt.iat_validity_period, 90);
	assert_int_equal(c2->server.connection_timeout, 45);
	assert_int_equal(c2->oauth.token_validation.refresh_token_validity, 30 * 86400);
	assert_false(c2->server.bind_is_default);
	assert_int_equal(c2->oauth.jwks_endpoint.allowed_hosts.n, 3);
	assert_string_equal(c2->server.tls_key, "/etc/grantd/key.pem");
	config_free(c2);
	config_free(c);

	/* durations that are not whole minutes or hours */
	c = load("[oauth.token_validation]\nuser_access_token_validity = 3661\n"
		 "app_access_token_validity = \"25h\"\n[admin_api]\nlockout_window = 120\n");
	c2 = round_trip(c);
	assert_int_equal(c2->oauth.token_validation.user_access_token_validity, 3661);
	assert_int_equal(c2->oauth.token_validation.app_access_token_validity, 25 * 3600);
	assert_int_equal(c2->admin_api.lockout_window, 120);
	config_free(c2);
	config_free(c);
}

static const char *source_root(void)
{
	const char *r = getenv("SOURCE_ROOT");
	return r && *r ? r : SOURCE_ROOT;
}

static void example_file(void **state)
{
	(void)state;
	char path[1024], *text;
	struct config *c = NULL, *def, *full;
	struct err e = {0};
	struct toml_doc doc;
	char *d1, *d2, *dfull;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/deployment.toml.example", source_root());
	if (config_load(path, no_env, &c, &e) != ST_OK)
		fail_msg("%s", e.msg);
	/* it documents the defaults: loading it changes nothing */
	def = load(NULL);
	d1 = dump(c);
	d2 = dump(def);
	assert_string_equal(body(d1), body(d2));
	assert_string_equal(c->source, path);

	/* and it mentions every key, set or commented out */
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	full = load(full_src);
	dfull = dump(full);
	assert_int_equal(toml_parse(&doc, dfull, strlen(dfull), "dump", &e), ST_OK);
	for (size_t k = 0; k < doc.nkv; k++) {
		char needle[128];
		snprintf(needle, sizeof needle, "%s = ", doc.kv[k].key);
		if (strstr(text, needle) == NULL)
			fail_msg("the example does not mention %s", doc.kv[k].key);
	}
	toml_doc_free(&doc);
	free(dfull);
	config_free(full);
	free(text);
	free(d1);
	free(d2);
	config_free(def);
	config_free(c);
}

static void file_io(void **state)
{
	(void)state;
	char path[] = "/tmp/grantd-cfg-XXXXXX";
	static const char src[] = "[server]\nport = 8443\n\nprot = 1\n";
	struct config *c = NULL;
	struct err e = {0};
	char want[128];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, src, sizeof src - 1), (ssize_t)(sizeof src - 1));
	close(fd);
	assert_int_equal(config_load(path, no_env, &c, &e), ST_INVALID);
	assert_null(c);
	snprintf(want, sizeof want, "%s:4: [server] prot: unknown key", path);
	assert_string_equal(e.msg, want);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[server]\nport = 8443\n", 21), 21);
	close(fd);
	assert_int_equal(config_load(path, no_env, &c, &e), ST_OK);
	assert_int_equal(c->server.port, 8443);
	assert_string_equal(c->source, path);
	config_free(c);

	/* larger than the limit: rejected without reading it all */
	{
		char *big = malloc(LIMIT_CONFIG_FILE + 100);
		assert_non_null(big);
		memset(big, '#', LIMIT_CONFIG_FILE + 100);
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, big, LIMIT_CONFIG_FILE + 100), LIMIT_CONFIG_FILE + 100);
		close(fd);
		free(big);
		assert_int_equal(config_load(path, no_env, &c, &e), ST_INVALID);
		snprintf(want, sizeof want, "%s:1: file too large (more than 1048576 bytes)", path);
		assert_string_equal(e.msg, want);
	}
	unlink(path);

	assert_int_equal(config_load(path, no_env, &c, &e), ST_IO);
	assert_null(c);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
	assert_string_equal(e.msg, want);
	assert_int_equal(config_load("/", no_env, &c, &e), ST_IO);
	assert_string_equal(e.msg, "/: cannot read: Is a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(every_key_from_file),
	    cmocka_unit_test(unknown_and_wrong_types),
	    cmocka_unit_test(bounds),
	    cmocka_unit_test(durations),
	    cmocka_unit_test(sizes),
	    cmocka_unit_test(env_overrides),
	    cmocka_unit_test(env_errors),
	    cmocka_unit_test(env_unknown_warns),
	    cmocka_unit_test(every_key_has_an_env_var),
	    cmocka_unit_test(wso2_spellings),
	    cmocka_unit_test(cross_field),
	    cmocka_unit_test(dump_format),
	    cmocka_unit_test(dump_round_trip),
	    cmocka_unit_test(example_file),
	    cmocka_unit_test(file_io),
	};
	int failed = toml_tests();

	failed += cmocka_run_group_tests_name("config", tests, NULL, NULL);
	return failed ? 1 : 0;
}
