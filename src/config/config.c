/* config.c - deployment.toml + GRANTD_* environment -> struct config.
 *
 * One static table (`schema`) describes every key: where it lives, its type,
 * where it is stored, its default, its unit and its bounds. Loading, env
 * overrides, error messages, freeing and dumping are all driven by it, so a
 * new key is one line here (plus its field in config.h and its docs).
 *
 * Each key remembers where its value came from (default, file line, env
 * variable), so that a validation error, even a cross-field one found after
 * everything is merged, can point at the line or variable to fix. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/toml.h"
#include "lib/limits.h"
#include "lib/log.h"

_Static_assert(CONFIG_MAX_LIST >= LIMIT_CONFIG_ARRAY, "a TOML array must fit a config list");

enum ktype {
	KT_STR,  /* char * (NULL when unset and optional) */
	KT_INT,  /* int64_t */
	KT_BOOL, /* bool */
	KT_LIST, /* struct config_strlist */
	KT_DUR,  /* int64_t seconds; integer in `unit`, or "90s" "30m" "1h" "1d" */
	KT_SIZE, /* int64_t bytes; integer, or "64KiB" "1MiB" */
};

#define K_OPTIONAL 1u /* string may be unset; an empty value unsets it */

struct key_def {
	const char *table;
	const char *key;
	enum ktype type;
	size_t off;
	const char *def; /* default, in environment syntax; NULL = unset */
	int64_t unit;    /* KT_DUR: seconds per plain integer */
	int64_t min, max;
	unsigned flags;
	const char *const *choices; /* KT_STR: allowed values (NULL-terminated) */
};

#define MINUTE  60
#define HOUR    3600
#define DAY     86400
#define MiB     (1024 * 1024)
#define DUR_MAX (3650LL * DAY) /* ten years: no lifetime in here is longer */

#define OFF(f) offsetof(struct config, f)

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const db_types[] = {"sqlite", "postgres", NULL};
static const char *const jwt_algs[] = {"RS256", "ES256", "EdDSA", NULL};

/* In the order of docs/configuration.md (and of the dump), extras at table ends. */
static const struct key_def schema[] = {
    {"server", "hostname", KT_STR, OFF(server.hostname), "localhost"},
    {"server", "bind", KT_LIST, OFF(server.bind), "127.0.0.1, ::1"},
    {"server", "port", KT_INT, OFF(server.port), "9443", 0, 0, 65535},
    {"server", "http_port", KT_INT, OFF(server.http_port), "0", 0, 0, 65535},
    {"server", "data_dir", KT_STR, OFF(server.data_dir), "var"},
    {"server", "tls_cert", KT_STR, OFF(server.tls_cert), NULL, 0, 0, 0, K_OPTIONAL},
    {"server", "tls_key", KT_STR, OFF(server.tls_key), NULL, 0, 0, 0, K_OPTIONAL},
    {"server", "threads", KT_INT, OFF(server.threads), "0", 0, 0, 1024},
    {"server", "max_connections", KT_INT, OFF(server.max_connections), "1024", 0, 1, 1000000},
    {"server", "connection_timeout", KT_DUR, OFF(server.connection_timeout), "30s", 1, 1, HOUR},
    {"server", "max_connections_per_address", KT_INT, OFF(server.max_connections_per_address), "32",
     0, 1, 1000000},
    {"server", "header_timeout", KT_DUR, OFF(server.header_timeout), "10s", 1, 1, HOUR},
    {"server", "body_timeout", KT_DUR, OFF(server.body_timeout), "30s", 1, 1, HOUR},
    {"server", "max_header_size", KT_SIZE, OFF(server.max_header_size), "16384", 0, 1024, MiB},
    {"server", "max_body_size", KT_SIZE, OFF(server.max_body_size), "1048576", 0, 1024, 64 * MiB},
    {"server", "shutdown_timeout", KT_DUR, OFF(server.shutdown_timeout), "10s", 1, 0, HOUR},
    {"server", "access_log", KT_BOOL, OFF(server.access_log), "true"},
    {"server", "log_level", KT_STR, OFF(server.log_level), "info", 0, 0, 0, 0, log_levels},
    {"server", "user", KT_STR, OFF(server.user), NULL, 0, 0, 0, K_OPTIONAL},

    {"database", "type", KT_STR, OFF(database.type), "sqlite", 0, 0, 0, 0, db_types},
    {"database", "path", KT_STR, OFF(database.path), NULL, 0, 0, 0, K_OPTIONAL},
    {"database", "url", KT_STR, OFF(database.url), NULL, 0, 0, 0, K_OPTIONAL},
    {"database", "busy_timeout", KT_DUR, OFF(database.busy_timeout), "5s", 1, 0, HOUR},
    {"database", "pool_size", KT_INT, OFF(database.pool_size), "8", 0, 1, 64},
    {"database", "connect_timeout", KT_DUR, OFF(database.connect_timeout), "5s", 1, 1, 300},
    {"database", "statement_timeout", KT_DUR, OFF(database.statement_timeout), "30s", 1, 1, HOUR},

    {"tenant", "default_domain", KT_STR, OFF(tenant.default_domain), "carbon.super"},

    {"oauth", "timestamp_skew", KT_DUR, OFF(oauth.timestamp_skew), "60s", 1, 0, HOUR},
    {"oauth", "hash_tokens_and_secrets", KT_BOOL, OFF(oauth.hash_tokens_and_secrets), "true"},

    {"oauth.grant_type.jwt", "enable_iat_validation", KT_BOOL, OFF(oauth.jwt.enable_iat_validation),
     "true"},
    {"oauth.grant_type.jwt", "iat_validity_period", KT_DUR, OFF(oauth.jwt.iat_validity_period),
     "30m", MINUTE, 1, 365 * DAY},
    {"oauth.grant_type.jwt", "enable_jwt_cache", KT_BOOL, OFF(oauth.jwt.enable_jwt_cache), "true"},
    {"oauth.grant_type.jwt", "require_jti", KT_BOOL, OFF(oauth.jwt.require_jti), "false"},
    {"oauth.grant_type.jwt", "require_iat", KT_BOOL, OFF(oauth.jwt.require_iat), "false"},
    {"oauth.grant_type.jwt", "max_assertion_lifetime", KT_DUR,
     OFF(oauth.jwt.max_assertion_lifetime), "24h", 1, 0, DUR_MAX},
    {"oauth.grant_type.jwt", "max_assertion_size", KT_SIZE, OFF(oauth.jwt.max_assertion_size),
     "16384", 0, 256, MiB},

    {"oauth.token_validation", "user_access_token_validity", KT_DUR,
     OFF(oauth.token_validation.user_access_token_validity), "1h", 1, 1, DUR_MAX},
    {"oauth.token_validation", "app_access_token_validity", KT_DUR,
     OFF(oauth.token_validation.app_access_token_validity), "1h", 1, 1, DUR_MAX},
    {"oauth.token_validation", "refresh_token_validity", KT_DUR,
     OFF(oauth.token_validation.refresh_token_validity), "1d", 1, 1, DUR_MAX},
    {"oauth.token_validation", "id_token_validity", KT_DUR,
     OFF(oauth.token_validation.id_token_validity), "1h", 1, 1, DUR_MAX},

    {"oauth.token_renewal", "renew_refresh_token", KT_BOOL,
     OFF(oauth.token_renewal.renew_refresh_token), "true"},

    {"oauth.jwks_endpoint", "connection_timeout", KT_DUR,
     OFF(oauth.jwks_endpoint.connection_timeout), "1s", 1, 1, MINUTE},
    {"oauth.jwks_endpoint", "read_timeout", KT_DUR, OFF(oauth.jwks_endpoint.read_timeout), "1s", 1,
     1, 5 * MINUTE},
    {"oauth.jwks_endpoint", "size_limit_bytes", KT_SIZE, OFF(oauth.jwks_endpoint.size_limit_bytes),
     "51200", 0, 1024, 10 * MiB},
    {"oauth.jwks_endpoint", "cache_ttl", KT_DUR, OFF(oauth.jwks_endpoint.cache_ttl), "10m", 1, 1,
     7 * DAY},
    {"oauth.jwks_endpoint", "min_refetch_interval", KT_DUR,
     OFF(oauth.jwks_endpoint.min_refetch_interval), "10s", 1, 0, DAY},
    {"oauth.jwks_endpoint", "enforce_certificate_expiry_time_validity", KT_BOOL,
     OFF(oauth.jwks_endpoint.enforce_certificate_expiry_time_validity), "true"},
    {"oauth.jwks_endpoint", "allow_insecure_http", KT_BOOL,
     OFF(oauth.jwks_endpoint.allow_insecure_http), "false"},
    {"oauth.jwks_endpoint", "allowed_hosts", KT_LIST, OFF(oauth.jwks_endpoint.allowed_hosts), ""},
    {"oauth.jwks_endpoint", "ca_file", KT_STR, OFF(oauth.jwks_endpoint.ca_file), NULL, 0, 0, 0,
     K_OPTIONAL},
    {"oauth.jwks_endpoint", "fetch_threads", KT_INT, OFF(oauth.jwks_endpoint.fetch_threads), "4", 0,
     1, 64},
    {"oauth.jwks_endpoint", "max_fetches_per_tenant", KT_INT,
     OFF(oauth.jwks_endpoint.max_fetches_per_tenant), "2", 0, 1, 64},

    {"oauth.access_token", "jwt_signing_algorithm", KT_STR,
     OFF(oauth.access_token.jwt_signing_algorithm), "RS256", 0, 0, 0, 0, jwt_algs},

    {"oauth.rate_limit", "per_client", KT_INT, OFF(oauth.rate_limit.per_client), "0", 0, 0,
     1000000},
    {"oauth.rate_limit", "per_client_burst", KT_INT, OFF(oauth.rate_limit.per_client_burst), "0", 0,
     0, 1000000},
    {"oauth.rate_limit", "per_source", KT_INT, OFF(oauth.rate_limit.per_source), "0", 0, 0,
     1000000},
    {"oauth.rate_limit", "per_source_burst", KT_INT, OFF(oauth.rate_limit.per_source_burst), "0", 0,
     0, 1000000},

    {"admin_api", "max_failed_logins", KT_INT, OFF(admin_api.max_failed_logins), "5", 0, 1, 1000},
    {"admin_api", "lockout_window", KT_DUR, OFF(admin_api.lockout_window), "5m", 1, 1, DAY},
    {"admin_api", "auth_cache_ttl", KT_DUR, OFF(admin_api.auth_cache_ttl), "60s", 1, 0, HOUR},

    {"console", "dir", KT_STR, OFF(console.dir), NULL, 0, 0, 0, K_OPTIONAL},
    {"console", "session_idle_timeout", KT_DUR, OFF(console.session_idle_timeout), "15m", 1, 1,
     DAY},
    {"console", "session_lifetime", KT_DUR, OFF(console.session_lifetime), "8h", 1, 1, 7 * DAY},
    {"console", "max_sessions", KT_INT, OFF(console.max_sessions), "1024", 0, 1, 100000},

    {"metrics", "enabled", KT_BOOL, OFF(metrics.enabled), "true"},
};

#define NKEYS (sizeof schema / sizeof schema[0])

/* GRANTD_* variables that are not configuration keys but are expected. */
static const char *const env_allow[] = {"GRANTD_ADMIN_PASSWORD", "GRANTD_CONFIG", NULL};

enum origin_kind { ORIGIN_DEFAULT, ORIGIN_FILE, ORIGIN_ENV };

struct origin {
	enum origin_kind kind;
	int line;        /* ORIGIN_FILE */
	const char *env; /* ORIGIN_ENV: the variable's name */
	size_t envlen;
	int rank; /* later sources rank higher: blame them for conflicts */
};

struct loader {
	struct config *c;
	const char *file;
	struct origin org[NKEYS];
	int rank;
	struct toml_doc scratch; /* for parsing environment values */
	struct err *e;
};

/* ---- small helpers ---------------------------------------------------- */

static void *field(struct config *c, const struct key_def *d)
{
	return (char *)c + d->off;
}

static const void *cfield(const struct config *c, const struct key_def *d)
{
	return (const char *)c + d->off;
}

static void list_clear(struct config_strlist *l)
{
	for (size_t k = 0; k < l->n; k++)
		free(l->v[k]);
	l->n = 0;
}

static size_t key_index(const char *table, const char *key)
{
	for (size_t k = 0; k < NKEYS; k++)
		if (strcmp(schema[k].table, table) == 0 && strcmp(schema[k].key, key) == 0)
			return k;
	return NKEYS;
}

#define IDX(table, key) key_index(table, key)

/* "GRANTD_" + table and key upper-cased, '.' -> '_'. */
static void env_name(const struct key_def *d, char *out, size_t n)
{
	size_t o;

	snprintf(out, n, "GRANTD_%s_%s", d->table, d->key);
	for (o = 0; out[o]; o++) {
		if (out[o] == '.')
			out[o] = '_';
		else if (out[o] >= 'a' && out[o] <= 'z')
			out[o] = (char)(out[o] - 'a' + 'A');
	}
}

/* "90s", "30m", "1h", "1d" for a duration in seconds (the largest exact
 * unit; one minute stays "60s" as docs/configuration.md writes it). */
static void fmt_duration(int64_t s, char *out, size_t n)
{
	if (s != 0 && s % DAY == 0)
		snprintf(out, n, "%lldd", (long long)(s / DAY));
	else if (s != 0 && s % HOUR == 0)
		snprintf(out, n, "%lldh", (long long)(s / HOUR));
	else if (s > MINUTE && s % MINUTE == 0)
		snprintf(out, n, "%lldm", (long long)(s / MINUTE));
	else
		snprintf(out, n, "%llds", (long long)s);
}

/* Where value `k` came from, for messages. */
static void where(const struct loader *ld, size_t k, char *out, size_t n)
{
	const struct origin *o = &ld->org[k];

	switch (o->kind) {
	case ORIGIN_FILE: snprintf(out, n, "%s:%d", ld->file, o->line); break;
	case ORIGIN_ENV: snprintf(out, n, "env %.*s", (int)o->envlen, o->env); break;
	default: snprintf(out, n, "default"); break;
	}
}

static status key_fail(struct loader *ld, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "WHERE: [table] key: reason" */
static status key_fail(struct loader *ld, size_t k, const char *fmt, ...)
{
	char at[300], msg[ERR_MSG_MAX];
	va_list ap;

	where(ld, k, at, sizeof at);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(ld->e, ST_INVALID, "%s: [%s] %s: %s", at, schema[k].table, schema[k].key,
		       msg);
}

/* ---- value syntax ----------------------------------------------------- */

/* "<digits><s|m|h|d>" -> seconds. */
static status parse_duration(struct sv s, int64_t *out, struct err *why)
{
	int64_t n, mul;
	size_t k;

	if (s.n > 0 && s.p[0] == '-')
		return err_set(why, ST_INVALID, "durations cannot be negative");
	if (s.n < 2)
		goto bad;
	switch (s.p[s.n - 1]) {
	case 's': mul = 1; break;
	case 'm': mul = MINUTE; break;
	case 'h': mul = HOUR; break;
	case 'd': mul = DAY; break;
	default: goto bad;
	}
	for (k = 0; k + 1 < s.n; k++)
		if (s.p[k] < '0' || s.p[k] > '9')
			goto bad;
	if (sv_to_i64((struct sv){s.p, s.n - 1}, &n) != ST_OK || n > INT64_MAX / mul)
		return err_set(why, ST_INVALID, "duration out of range");
	*out = n * mul;
	return ST_OK;
bad:
	return err_set(why, ST_INVALID,
		       "invalid duration \"%.*s\": use an integer with one unit s, m, h or d "
		       "(\"90s\", \"30m\", \"1h\", \"1d\")",
		       (int)(s.n > 32 ? 32 : s.n), s.p);
}

/* "<digits>[B|KiB|MiB]" -> bytes. */
static status parse_size(struct sv s, int64_t *out, struct err *why)
{
	static const struct {
		const char *suffix;
		int64_t mul;
	} units[] = {
	    {"KiB", 1024},
	    {"MiB", MiB},
	    {"B", 1},
	};
	int64_t n, mul = 1;
	size_t k, digits = s.n;

	if (s.n > 0 && s.p[0] == '-')
		return err_set(why, ST_INVALID, "sizes cannot be negative");
	for (k = 0; k < sizeof units / sizeof units[0]; k++) {
		size_t ul = strlen(units[k].suffix);
		if (s.n > ul && memcmp(s.p + s.n - ul, units[k].suffix, ul) == 0) {
			mul = units[k].mul;
			digits = s.n - ul;
			break;
		}
	}
	for (k = 0; k < digits; k++)
		if (s.p[k] < '0' || s.p[k] > '9')
			digits = 0;
	if (digits == 0)
		return err_set(why, ST_INVALID,
			       "invalid size \"%.*s\": use an integer number of bytes, or a "
			       "string like \"64KiB\" or \"1MiB\"",
			       (int)(s.n > 32 ? 32 : s.n), s.p);
	if (sv_to_i64((struct sv){s.p, digits}, &n) != ST_OK || n > INT64_MAX / mul)
		return err_set(why, ST_INVALID, "size out of range");
	*out = n * mul;
	return ST_OK;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-' (not
 * at either end), 1..63 bytes each, 253 in all, last label not all digits
 * (RFC 3696 §2, so "1.2.3.999" is not taken for a name). */
static bool is_dns_name(const char *s, bool lower_only)
{
	size_t n = strlen(s), label = 0;
	bool digits_only = true;

	if (n == 0 || n > 253)
		return false;
	for (size_t k = 0; k <= n; k++) {
		char c = s[k];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[k - 1] == '-')
				return false;
			if (c == '\0')
				return !digits_only;
			label = 0;
			digits_only = true;
			continue;
		}
		if (c == '-') {
			if (label == 0)
				return false;
		} else if (c >= 'A' && c <= 'Z') {
			if (lower_only)
				return false;
		} else if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')) {
			return false;
		}
		if (c < '0' || c > '9')
			digits_only = false;
		label++;
	}
	return false;
}

/* ---- storing values --------------------------------------------------- */

static status store_string(struct loader *ld, size_t k, struct sv s)
{
	const struct key_def *d = &schema[k];
	char **slot = field(ld->c, d);
	char *v = NULL;

	if (d->choices != NULL) {
		size_t j;
		for (j = 0; d->choices[j] != NULL; j++)
			if (sv_eq_cstr(s, d->choices[j]))
				break;
		if (d->choices[j] == NULL) {
			char list[128] = "";
			size_t o = 0;
			for (j = 0; d->choices[j] != NULL && o < sizeof list; j++) {
				int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "",
						 d->choices[j]);
				if (w > 0)
					o += (size_t)w;
			}
			return key_fail(ld, k, "must be one of %s", list);
		}
	}
	if (!(s.n == 0 && (d->flags & K_OPTIONAL))) {
		v = str_dup_sv(s);
		if (v == NULL)
			return err_set(ld->e, ST_NOMEM, "out of memory");
	}
	free(*slot);
	*slot = v;
	return ST_OK;
}

static status store_list(struct loader *ld, size_t k, const struct sv *items, size_t n)
{
	struct config_strlist *slot = field(ld->c, &schema[k]);
	struct config_strlist l = {.n = 0};

	if (n > CONFIG_MAX_LIST)
		return key_fail(ld, k, "too many items (more than %d)", CONFIG_MAX_LIST);
	for (size_t j = 0; j < n; j++) {
		if (items[j].n == 0) {
			list_clear(&l);
			return key_fail(ld, k, "list item %zu is empty", j + 1);
		}
		l.v[j] = str_dup_sv(items[j]);
		if (l.v[j] == NULL) {
			list_clear(&l);
			return err_set(ld->e, ST_NOMEM, "out of memory");
		}
		l.n++;
	}
	list_clear(slot);
	*slot = l;
	return ST_OK;
}

static status store_number(struct loader *ld, size_t k, int64_t v)
{
	const struct key_def *d = &schema[k];

	if (v < d->min || v > d->max) {
		char lo[32], hi[32];
		if (d->type == KT_DUR) {
			fmt_duration(d->min, lo, sizeof lo);
			fmt_duration(d->max, hi, sizeof hi);
			return key_fail(ld, k, "must be between %s and %s", lo, hi);
		}
		return key_fail(ld, k, "must be between %lld and %lld%s", (long long)d->min,
				(long long)d->max, d->type == KT_SIZE ? " bytes" : "");
	}
	*(int64_t *)field(ld->c, d) = v;
	return ST_OK;
}

/* A plain integer for a duration, in the key's unit. */
static status store_dur_int(struct loader *ld, size_t k, int64_t v)
{
	int64_t unit = schema[k].unit;

	if (v < 0)
		return key_fail(ld, k, "durations cannot be negative");
	if (v > INT64_MAX / unit)
		return key_fail(ld, k, "duration out of range");
	return store_number(ld, k, v * unit);
}

static status store_parsed(struct loader *ld, size_t k,
			   status (*parse)(struct sv, int64_t *, struct err *), struct sv s)
{
	struct err why = {0};
	int64_t v;

	if (parse(s, &v, &why) != ST_OK)
		return key_fail(ld, k, "%s", why.msg);
	return store_number(ld, k, v);
}

static const char *type_want(enum ktype t)
{
	switch (t) {
	case KT_STR: return "a string";
	case KT_INT: return "an integer";
	case KT_BOOL: return "a boolean (true or false)";
	case KT_LIST: return "an array of strings";
	case KT_DUR: return "a duration (an integer, or a string like \"90s\", \"30m\", \"1h\")";
	case KT_SIZE: return "a size (an integer number of bytes, or a string like \"64KiB\")";
	}
	return "a value";
}

static status wrong_type(struct loader *ld, size_t k, enum toml_type got)
{
	return key_fail(ld, k, "expected %s, found %s", type_want(schema[k].type),
			toml_type_name(got));
}

static bool all_digits(struct sv s);
static status text_as_toml(struct loader *ld, size_t k, struct sv s, struct toml_value *v);
static status set_from_toml(struct loader *ld, size_t k, const struct toml_value *v);

/* A boolean or an integer (or a duration's plain number) written quoted, as
 * WSO2's own snippets do (`enable_iat_validation = "true"`,
 * `iat_validity_period = "30"`; docs/configuration.md, "Value types"): the
 * text inside the quotes must be exactly what the unquoted value would be. */
static status quoted(struct loader *ld, size_t k, struct sv s)
{
	struct toml_value v;
	status st;

	if (schema[k].type == KT_BOOL) {
		if (!sv_eq_cstr(s, "true") && !sv_eq_cstr(s, "false"))
			return key_fail(ld, k, "expected a boolean (true or false), found \"%.*s\"",
					(int)(s.n > 32 ? 32 : s.n), s.p);
		*(bool *)field(ld->c, &schema[k]) = s.p[0] == 't';
		return ST_OK;
	}
	if (!all_digits(s))
		return key_fail(ld, k, "expected an integer, found \"%.*s\"",
				(int)(s.n > 32 ? 32 : s.n), s.p);
	if ((st = text_as_toml(ld, k, s, &v)) != ST_OK)
		return st;
	return set_from_toml(ld, k, &v);
}

/* A value from the TOML file (or a TOML literal in an env variable). */
static status set_from_toml(struct loader *ld, size_t k, const struct toml_value *v)
{
	const struct key_def *d = &schema[k];

	switch (d->type) {
	case KT_STR:
		if (v->type != TOML_STRING)
			return wrong_type(ld, k, v->type);
		return store_string(ld, k, (struct sv){v->s, v->slen});
	case KT_INT:
		if (v->type == TOML_STRING)
			return quoted(ld, k, (struct sv){v->s, v->slen});
		if (v->type != TOML_INT)
			return wrong_type(ld, k, v->type);
		return store_number(ld, k, v->i);
	case KT_BOOL:
		if (v->type == TOML_STRING)
			return quoted(ld, k, (struct sv){v->s, v->slen});
		if (v->type != TOML_BOOL)
			return wrong_type(ld, k, v->type);
		*(bool *)field(ld->c, d) = v->b;
		return ST_OK;
	case KT_LIST: {
		struct sv items[LIMIT_CONFIG_ARRAY];
		if (v->type != TOML_ARRAY)
			return wrong_type(ld, k, v->type);
		if (v->nitems > LIMIT_CONFIG_ARRAY)
			return key_fail(ld, k, "too many items");
		for (size_t j = 0; j < v->nitems; j++)
			items[j] = sv_from(v->items[j]);
		return store_list(ld, k, items, v->nitems);
	}
	case KT_DUR:
		if (v->type == TOML_INT)
			return store_dur_int(ld, k, v->i);
		if (v->type == TOML_STRING && all_digits((struct sv){v->s, v->slen}))
			return quoted(ld, k, (struct sv){v->s, v->slen}); /* "30" */
		if (v->type == TOML_STRING)
			return store_parsed(ld, k, parse_duration, (struct sv){v->s, v->slen});
		return wrong_type(ld, k, v->type);
	case KT_SIZE:
		if (v->type == TOML_INT) {
			if (v->i < 0)
				return key_fail(ld, k, "sizes cannot be negative");
			return store_number(ld, k, v->i);
		}
		if (v->type == TOML_STRING)
			return store_parsed(ld, k, parse_size, (struct sv){v->s, v->slen});
		return wrong_type(ld, k, v->type);
	}
	return err_set(ld->e, ST_INTERNAL, "bad key type");
}

/* Parses `s` as a TOML value with the scratch document; ST_INVALID (and a
 * message naming the key) if it is not one. */
static status text_as_toml(struct loader *ld, size_t k, struct sv s, struct toml_value *v)
{
	struct err why = {0};
	status st = toml_parse_value(&ld->scratch, s, v, &why);

	if (st == ST_NOMEM)
		return err_set(ld->e, ST_NOMEM, "out of memory");
	if (st != ST_OK)
		return key_fail(ld, k, "%s", why.msg);
	return ST_OK;
}

static bool all_digits(struct sv s)
{
	size_t k = s.n && (s.p[0] == '-' || s.p[0] == '+') ? 1 : 0;
	if (k == s.n)
		return false;
	for (; k < s.n; k++)
		if ((s.p[k] < '0' || s.p[k] > '9') && s.p[k] != '_')
			return false;
	return true;
}

/* A value written as text: an environment variable or a built-in default.
 * Strings are taken as they are; numbers and booleans use TOML syntax;
 * durations and sizes may also be written bare ("90s"); lists are a TOML
 * array literal or comma-separated items. */
static status set_from_text(struct loader *ld, size_t k, struct sv s)
{
	const struct key_def *d = &schema[k];
	struct toml_value v;
	status st;

	if (s.n > LIMIT_CONFIG_LINE)
		return key_fail(ld, k, "value too long (more than %d bytes)", LIMIT_CONFIG_LINE);
	if (!toml_text_valid(s))
		return key_fail(ld, k, "invalid UTF-8 or control character in value");
	switch (d->type) {
	case KT_STR: return store_string(ld, k, s);
	case KT_INT:
		s = sv_trim(s);
		if (!all_digits(s))
			return key_fail(ld, k, "expected an integer, found \"%.*s\"",
					(int)(s.n > 32 ? 32 : s.n), s.p);
		st = text_as_toml(ld, k, s, &v);
		return st != ST_OK ? st : set_from_toml(ld, k, &v);
	case KT_BOOL:
		s = sv_trim(s);
		if (!sv_eq_cstr(s, "true") && !sv_eq_cstr(s, "false"))
			return key_fail(ld, k, "expected true or false");
		*(bool *)field(ld->c, d) = s.p[0] == 't';
		return ST_OK;
	case KT_DUR:
	case KT_SIZE:
		s = sv_trim(s);
		if (all_digits(s) || (s.n && s.p[0] == '"') || (s.n && s.p[0] == '\'')) {
			st = text_as_toml(ld, k, s, &v);
			return st != ST_OK ? st : set_from_toml(ld, k, &v);
		}
		return store_parsed(ld, k, d->type == KT_DUR ? parse_duration : parse_size, s);
	case KT_LIST: {
		struct sv items[CONFIG_MAX_LIST + 1];
		size_t n = 0;

		s = sv_trim(s);
		if (s.n && s.p[0] == '[') {
			st = text_as_toml(ld, k, s, &v);
			return st != ST_OK ? st : set_from_toml(ld, k, &v);
		}
		while (s.n > 0) {
			struct sv head;
			struct sv rest = sv_cut(s, ',', &head);
			if (n == CONFIG_MAX_LIST)
				return key_fail(ld, k, "too many items (more than %d)",
						CONFIG_MAX_LIST);
			items[n++] = sv_trim(head);
			if (rest.p == NULL)
				break;
			s = rest;
			if (s.n == 0) /* "a," : a trailing empty item */
				items[n++] = s;
		}
		return store_list(ld, k, items, n);
	}
	}
	return err_set(ld->e, ST_INTERNAL, "bad key type");
}

/* ---- the three sources ------------------------------------------------ */

static status apply_defaults(struct loader *ld)
{
	for (size_t k = 0; k < NKEYS; k++) {
		status st = ST_OK;
		ld->org[k] = (struct origin){.kind = ORIGIN_DEFAULT};
		if (schema[k].def != NULL)
			st = set_from_text(ld, k, sv_from(schema[k].def));
		if (st != ST_OK)
			return st == ST_NOMEM ? st : (ld->e->st = ST_INTERNAL);
	}
	return ST_OK;
}

/* True when `path` is a table of the schema or a prefix of one. */
static bool known_table(const char *path)
{
	size_t n = strlen(path);

	for (size_t k = 0; k < NKEYS; k++) {
		const char *t = schema[k].table;
		if (strncmp(t, path, n) == 0 && (t[n] == '\0' || t[n] == '.'))
			return true;
	}
	return false;
}

/* Tables (with everything under them) and keys of WSO2 Identity Server's
 * deployment.toml that grantd does not implement: named as such, so an
 * operator carrying a WSO2 file over knows the line is WSO2's and not a
 * typo (docs/configuration.md, "Differences from WSO2 Identity Server"). */
static const char *const wso2_tables[] = {
    "account_recovery",
    "admin_service",
    "authentication",
    "authorization_manager",
    "bundle",
    "catalina",
    "clustering",
    "console",
    "cors",
    "database.identity_db",
    "database.shared_db",
    "database.user",
    "database_configuration",
    "event",
    "hazelcast",
    "identity",
    "identity_data_source",
    "identity_mgt",
    "keystore",
    "monitoring",
    "myaccount",
    "oauth.endpoints",
    "oauth.grant_type.authorization_code",
    "oauth.grant_type.iwa_ntlm",
    "oauth.grant_type.organization_switch",
    "oauth.grant_type.password",
    "oauth.grant_type.saml_bearer",
    "oauth.grant_type.token_exchange",
    "oauth.oidc",
    "oauth.token_cleanup",
    "oauth.token_generation",
    "output_adapter",
    "passive_sts",
    "realm_manager",
    "recaptcha",
    "role_mgt",
    "saml",
    "scim2",
    "session",
    "sts",
    "super_admin",
    "system_applications",
    "tenant_mgt",
    "transport",
    "truststore",
    "user_store",
    NULL,
};
static const char *const wso2_keys[] = {
    "server.node_ip",
    "server.base_path",
    "server.offset",
    "server.enable_shutdown_from_api",
    "server.enable_restart_from_api",
    "server.force_local_cache",
    "oauth.authorize_all_scopes",
    "oauth.show_display_name_in_consent_page",
    "oauth.drop_unregistered_scopes",
    "oauth.allowed_scopes",
    "oauth.token_renewal.extend_renewed_refresh_token_expiry_time",
    "oauth.token_validation.include_validation_context_as_jwt_in_reponse",
    NULL,
};

static bool wso2_table(const char *path)
{
	for (size_t k = 0; wso2_tables[k] != NULL; k++) {
		size_t n = strlen(wso2_tables[k]);
		if (strncmp(path, wso2_tables[k], n) == 0 && (path[n] == '\0' || path[n] == '.'))
			return true;
	}
	return false;
}

static bool wso2_key(const char *table, const char *key)
{
	size_t t = strlen(table);

	for (size_t k = 0; wso2_keys[k] != NULL; k++)
		if (strncmp(wso2_keys[k], table, t) == 0 && wso2_keys[k][t] == '.' &&
		    strcmp(wso2_keys[k] + t + 1, key) == 0)
			return true;
	return false;
}

#define WSO2_UNSUPPORTED                                                                           \
	"a WSO2 Identity Server setting that grantd does not support; remove it "                  \
	"(docs/configuration.md, \"Differences from WSO2 Identity Server\")"

static status apply_file(struct loader *ld, const char *buf, size_t len)
{
	struct toml_doc doc;
	status st = toml_parse(&doc, buf, len, ld->file, ld->e);

	if (st != ST_OK) {
		if (st != ST_NOMEM)
			st = ld->e->st = ST_INVALID;
		goto out;
	}
	for (size_t j = 0; j < doc.ntables; j++) {
		if (!known_table(doc.tables[j].path)) {
			st = err_set(ld->e, ST_INVALID, "%s:%d: [%.64s]: %s", ld->file,
				     doc.tables[j].line, doc.tables[j].path,
				     wso2_table(doc.tables[j].path) ? WSO2_UNSUPPORTED
								    : "unknown table");
			goto out;
		}
	}
	for (size_t j = 0; j < doc.nkv; j++) {
		const struct toml_kv *kv = &doc.kv[j];
		size_t k = key_index(kv->table, kv->key);

		if (k == NKEYS) {
			if (kv->table[0] == '\0')
				st = err_set(ld->e, ST_INVALID,
					     "%s:%d: %.64s: key outside any table (put it under "
					     "its [table] header)",
					     ld->file, kv->line, kv->key);
			else
				st = err_set(ld->e, ST_INVALID, "%s:%d: [%.64s] %.64s: %s",
					     ld->file, kv->line, kv->table, kv->key,
					     wso2_key(kv->table, kv->key) ? WSO2_UNSUPPORTED
									  : "unknown key");
			goto out;
		}
		ld->org[k] =
		    (struct origin){.kind = ORIGIN_FILE, .line = kv->line, .rank = ++ld->rank};
		st = set_from_toml(ld, k, &kv->v);
		if (st != ST_OK)
			goto out;
	}
out:
	toml_doc_free(&doc);
	return st;
}

static status apply_env(struct loader *ld, char *const *envp)
{
	char names[NKEYS][96];
	bool seen[NKEYS] = {false};

	for (size_t k = 0; k < NKEYS; k++)
		env_name(&schema[k], names[k], sizeof names[k]);
	for (size_t j = 0; envp[j] != NULL; j++) {
		struct sv name, value = sv_cut(sv_from(envp[j]), '=', &name);
		size_t k;
		bool allowed = false;
		status st;

		if (value.p == NULL || !sv_starts_with(name, SV("GRANTD_")))
			continue;
		for (k = 0; k < NKEYS; k++)
			if (sv_eq_cstr(name, names[k]))
				break;
		if (k == NKEYS) {
			for (size_t a = 0; env_allow[a] != NULL; a++)
				allowed = allowed || sv_eq_cstr(name, env_allow[a]);
			if (!allowed)
				log_warn("config: ignoring environment variable %.*s: not a "
					 "configuration key (see docs/configuration.md)",
					 (int)(name.n > 96 ? 96 : name.n), name.p);
			continue;
		}
		if (seen[k]) /* like getenv(): the first one counts */
			continue;
		seen[k] = true;
		ld->org[k] = (struct origin){
		    .kind = ORIGIN_ENV, .env = name.p, .envlen = name.n, .rank = ++ld->rank};
		st = set_from_text(ld, k, value);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

/* ---- cross-field validation ------------------------------------------- */

/* Of two keys in conflict, the one set last is the one to blame. */
static size_t later(const struct loader *ld, size_t a, size_t b)
{
	return ld->org[b].rank > ld->org[a].rank ? b : a;
}

/* An allowed_hosts entry: "host", "host:port", "*.domain[:port]", "[v6]" or
 * "[v6]:port" (the forms src/keys matches against). */
static bool is_host_pattern(const char *s)
{
	char host[LIMIT_TENANT_DOMAIN + 3];
	const char *end = s + strlen(s), *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (size_t)(close - s - 1) >= sizeof host)
			return false;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (strchr(host, ':') == NULL || !is_ip_literal(host))
			return false;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return false;
	} else {
		colon = strrchr(s, ':');
		if (strncmp(s, "*.", 2) == 0)
			s += 2;
		if ((size_t)((colon ? colon : end) - s) >= sizeof host)
			return false;
		memcpy(host, s, (size_t)((colon ? colon : end) - s));
		host[(colon ? colon : end) - s] = '\0';
		if (!is_dns_name(host, false) && !is_ip_literal(host))
			return false;
	}
	if (colon != NULL) {
		int64_t port;
		if (sv_to_i64(sv_from(colon + 1), &port) != ST_OK || port < 1 || port > 65535)
			return false;
	}
	return true;
}

static status check_host_list(struct loader *ld, size_t k, bool ip_only)
{
	const struct config_strlist *l = field(ld->c, &schema[k]);

	for (size_t j = 0; j < l->n; j++) {
		if (ip_only ? !is_ip_literal(l->v[j]) : !is_host_pattern(l->v[j]))
			return key_fail(ld, k, "item %zu is not %s", j + 1,
					ip_only ? "an IPv4 or IPv6 address"
						: "a host name or IP address, optionally with a "
						  "leading \"*.\" and a \":port\"");
		for (size_t i = 0; i < j; i++)
			if (strcmp(l->v[i], l->v[j]) == 0)
				return key_fail(ld, k, "item %zu repeats item %zu", j + 1, i + 1);
	}
	return ST_OK;
}

static status validate(struct loader *ld)
{
	struct config *c = ld->c;
	size_t port = IDX("server", "port"), http_port = IDX("server", "http_port");
	size_t cert = IDX("server", "tls_cert"), key = IDX("server", "tls_key");
	size_t bind = IDX("server", "bind"), type = IDX("database", "type");
	status st;

	if (!is_dns_name(c->server.hostname, false) && !is_ip_literal(c->server.hostname))
		return key_fail(ld, IDX("server", "hostname"),
				"must be a DNS host name or an IP address");
	if (c->server.bind.n == 0)
		return key_fail(ld, bind, "must list at least one address");
	st = check_host_list(ld, bind, true);
	if (st != ST_OK)
		return st;
	c->server.bind_is_default = ld->org[bind].kind == ORIGIN_DEFAULT;
	if (c->server.http_port == c->server.port && c->server.port != 0) {
		size_t k = later(ld, port, http_port);
		return key_fail(ld, k, "HTTP and HTTPS listeners cannot share port %lld",
				(long long)c->server.port);
	}
	if (c->server.data_dir[0] == '\0')
		return key_fail(ld, IDX("server", "data_dir"), "must not be empty");
	if ((c->server.tls_cert == NULL) != (c->server.tls_key == NULL)) {
		size_t k = c->server.tls_cert ? cert : key;
		return key_fail(ld, k,
				"set [server] tls_cert and tls_key together (or neither, "
				"to use a generated certificate)");
	}
	/* grantd has no plaintext column for tokens or client secrets: storing
	 * them in the clear is refused rather than silently ignored. */
	if (!c->oauth.hash_tokens_and_secrets)
		return key_fail(ld, IDX("oauth", "hash_tokens_and_secrets"),
				"must be true: grantd stores tokens and client secrets only as "
				"keyed hashes (HMAC-SHA256 with the server secret)");
	if (strcmp(c->database.type, "postgres") == 0 && c->database.url == NULL)
		return key_fail(ld, type, "\"postgres\" requires [database] url");
	if (strcmp(c->database.type, "postgres") == 0) {
		char masked[256];
		if (!config_db_url_mask(c->database.url, masked, sizeof masked))
			return key_fail(ld, IDX("database", "url"),
					"must be a postgresql:// (or postgres://) URL or a libpq "
					"key=value connection string");
	}
	if (c->database.path == NULL) {
		const char *dd = c->server.data_dir;
		size_t n = strlen(dd);
		struct buf b = {0};
		if (buf_printf(&b, "%s%sgrantd.db", dd, dd[n - 1] == '/' ? "" : "/") != ST_OK) {
			buf_free(&b);
			return err_set(ld->e, ST_NOMEM, "out of memory");
		}
		c->database.path = buf_steal(&b);
	}
	if (!is_dns_name(c->tenant.default_domain, true) ||
	    strlen(c->tenant.default_domain) > LIMIT_TENANT_DOMAIN)
		return key_fail(ld, IDX("tenant", "default_domain"),
				"must be a lower-case DNS-like name (letters, digits, '-', "
				"dot-separated, e.g. \"carbon.super\")");
	return check_host_list(ld, IDX("oauth.jwks_endpoint", "allowed_hosts"), false);
}

/* ---- public ----------------------------------------------------------- */

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t k = 0; k < NKEYS; k++) {
		if (schema[k].type == KT_STR)
			free(*(char **)field(c, &schema[k]));
		else if (schema[k].type == KT_LIST)
			list_clear(field(c, &schema[k]));
	}
	free(c->source);
	free(c);
}

status config_load_buffer(const char *name, const char *buf, size_t len, char *const *envp,
			  struct config **out, struct err *e)
{
	struct err local;
	struct loader ld = {.file = name ? name : "(buffer)", .e = e ? e : &local};
	status st;

	*out = NULL;
	err_clear(ld.e);
	toml_doc_init(&ld.scratch);
	ld.c = calloc(1, sizeof *ld.c);
	if (ld.c == NULL) {
		st = err_set(ld.e, ST_NOMEM, "out of memory");
		goto out;
	}
	ld.c->source = str_dup_sv(sv_from(buf ? ld.file : "(defaults)"));
	if (ld.c->source == NULL) {
		st = err_set(ld.e, ST_NOMEM, "out of memory");
		goto out;
	}
	st = apply_defaults(&ld);
	if (st == ST_OK && buf != NULL)
		st = apply_file(&ld, buf, len);
	if (st == ST_OK)
		st = apply_env(&ld, envp ? envp : environ);
	if (st == ST_OK)
		st = validate(&ld);
out:
	toml_doc_free(&ld.scratch);
	if (st != ST_OK) {
		config_free(ld.c);
		return st;
	}
	*out = ld.c;
	return ST_OK;
}

/* Reads at most LIMIT_CONFIG_FILE + 1 bytes: enough for the parser to see
 * that a file is too large without reading all of it. */
static status read_file(const char *path, struct buf *b, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	status st = ST_OK;

	if (fd < 0)
		return err_set(e, ST_IO, "%s: cannot open: %s", path, strerror(errno));
	b->max = LIMIT_CONFIG_FILE + 1;
	while (b->n < b->max) {
		size_t chunk = b->max - b->n < 4096 ? b->max - b->n : 4096;
		ssize_t r;

		st = buf_reserve(b, chunk);
		if (st != ST_OK) {
			st = err_set(e, st, "%s: cannot read: out of memory", path);
			goto out;
		}
		r = read(fd, b->p + b->n, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = err_set(e, ST_IO, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		b->n += (size_t)r;
		b->p[b->n] = '\0';
	}
out:
	close(fd);
	return st;
}

status config_load(const char *path, char *const *envp, struct config **out, struct err *e)
{
	struct buf b = {0};
	status st;

	*out = NULL;
	if (path == NULL)
		return config_load_buffer(NULL, NULL, 0, envp, out, e);
	st = read_file(path, &b, e);
	if (st == ST_OK)
		st = config_load_buffer(path, b.p ? b.p : "", b.n, envp, out, e);
	buf_free(&b);
	return st;
}

/* ---- database URLs ---------------------------------------------------- */

/* Appends to a bounded output. */
struct mout {
	char *p;
	size_t n, len;
};

static void mput(struct mout *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && o->len + 1 < o->n; i++)
		o->p[o->len++] = s[i];
	o->p[o->len] = '\0';
}

/* postgresql://user:password@host/db?password=x&... */
static void mask_url(const char *url, struct mout *o)
{
	const char *auth = strstr(url, "://") + 3;
	size_t alen = strcspn(auth, "/?");
	const char *at = NULL, *colon, *q, *p;

	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL) {
		mput(o, url, (size_t)(colon + 1 - url));
		mput(o, "****", 4);
		p = at;
	} else {
		p = url;
	}
	q = strchr(p, '?');
	if (q == NULL) {
		mput(o, p, strlen(p));
		return;
	}
	mput(o, p, (size_t)(q + 1 - p));
	for (p = q + 1; *p != '\0';) {
		size_t plen = strcspn(p, "&");
		if (plen >= 9 && strncmp(p, "password=", 9) == 0) {
			mput(o, "password=****", 13);
		} else {
			mput(o, p, plen);
		}
		p += plen;
		if (*p == '&') {
			mput(o, "&", 1);
			p++;
		}
	}
}

/* key = value key2 = 'quoted \' value' ... */
static bool mask_kv(const char *s, struct mout *o)
{
	const char *p = s;

	while (*p != '\0') {
		const char *k, *v;
		size_t klen;
		bool pw;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			mput(o, p++, 1);
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		klen = (size_t)(p - k);
		pw = klen == 8 && strncmp(k, "password", 8) == 0;
		mput(o, k, klen);
		while (*p == ' ' || *p == '\t')
			mput(o, p++, 1);
		if (*p != '=')
			return false;
		mput(o, p++, 1);
		while (*p == ' ' || *p == '\t')
			mput(o, p++, 1);
		v = p;
		if (*p == '\'') {
			p++;
			while (*p != '\0' && *p != '\'') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
			if (*p != '\'')
				return false;
			p++;
		} else {
			while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
		}
		if (pw)
			mput(o, "****", 4);
		else
			mput(o, v, (size_t)(p - v));
	}
	return true;
}

bool config_db_url_mask(const char *url, char *out, size_t n)
{
	struct mout o = {out, n, 0};

	if (n == 0)
		return false;
	out[0] = '\0';
	if (url == NULL) {
		mput(&o, "(none)", 6);
		return false;
	}
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		mask_url(url, &o);
		return true;
	}
	if (!mask_kv(url, &o) || strchr(url, '=') == NULL) {
		o.len = 0;
		mput(&o, "(unparsable connection string)", 30);
		return false;
	}
	return true;
}

/* ---- dump ------------------------------------------------------------- */

static status dump_key(const struct config *c, const struct key_def *d, struct buf *out)
{
	const void *f = cfield(c, d);
	char tmp[32];
	status st;

	switch (d->type) {
	case KT_STR: {
		const char *s = *(char *const *)f;
		char masked[1024];
		if (s == NULL)
			return buf_printf(out, "# %s = (unset)\n", d->key);
		/* The database URL may hold a password: never printed. */
		if (d->off == OFF(database.url)) {
			config_db_url_mask(s, masked, sizeof masked);
			s = masked;
		}
		st = buf_printf(out, "%s = ", d->key);
		if (st == ST_OK)
			st = buf_json_str(out, sv_from(s));
		return st == ST_OK ? buf_putc(out, '\n') : st;
	}
	case KT_INT:
	case KT_SIZE: return buf_printf(out, "%s = %lld\n", d->key, (long long)*(const int64_t *)f);
	case KT_BOOL:
		return buf_printf(out, "%s = %s\n", d->key, *(const bool *)f ? "true" : "false");
	case KT_DUR:
		fmt_duration(*(const int64_t *)f, tmp, sizeof tmp);
		return buf_printf(out, "%s = \"%s\"\n", d->key, tmp);
	case KT_LIST: {
		const struct config_strlist *l = f;
		/* A default bind list stays a default (unbindable entries skipped). */
		bool comment = d->off == OFF(server.bind) && c->server.bind_is_default;
		st = buf_printf(out, "%s%s = [", comment ? "# (default) " : "", d->key);
		for (size_t j = 0; st == ST_OK && j < l->n; j++) {
			if (j)
				st = buf_append_cstr(out, ", ");
			if (st == ST_OK)
				st = buf_json_str(out, sv_from(l->v[j]));
		}
		return st == ST_OK ? buf_append_cstr(out, "]\n") : st;
	}
	}
	return ST_INTERNAL;
}

status config_dump(const struct config *c, struct buf *out)
{
	const char *table = NULL;
	status st = buf_append_cstr(out, "# grantd effective configuration (source: ");

	/* The source is a path given by the operator: keep it to one line. */
	for (const char *s = c->source ? c->source : ""; st == ST_OK && *s; s++)
		st = buf_putc(out, (unsigned char)*s < 0x20 ? '?' : *s);
	if (st == ST_OK)
		st = buf_append_cstr(out, ")\n");
	for (size_t k = 0; st == ST_OK && k < NKEYS; k++) {
		if (table == NULL || strcmp(table, schema[k].table) != 0) {
			table = schema[k].table;
			st = buf_printf(out, "\n[%s]\n", table);
		}
		if (st == ST_OK)
			st = dump_key(c, &schema[k], out);
	}
	return st;
}
