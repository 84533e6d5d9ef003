/* main.c - the grantd command line: serve, check-config, keys, admin, import, version.
 *
 * Exit codes (docs/operations.md, "Signals and exit codes"; README "Command line"): 0 ok, 1 runtime
 * failure, 2 usage/config error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/xmlversion.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <sqlite3.h>
#include <yaml.h>

#include "app/app.h"
#include "config/config.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "store/store.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
    "usage: grantd <command> [options]\n"
    "\n"
    "An OAuth 2.0 authorization server for the JWT bearer grant (RFC 7523).\n"
    "\n"
    "commands:\n"
    "  serve [-c FILE]         run the server (built-in defaults without -c)\n"
    "  check-config [-c FILE]  validate the configuration and print it\n"
    "  keys rotate [--tenant T] [-c FILE]\n"
    "                          new token-signing key for a tenant (server stopped)\n"
    "  admin set-password [--tenant T] [--password-file F] [-c FILE] [USER]\n"
    "                          change an admin's password (read from stdin)\n"
    "  import [--tenant T] [--dry-run] [-c FILE] EXPORT...\n"
    "                          identity providers and applications exported from\n"
    "                          WSO2 IS 7 (XML, YAML or JSON files; server stopped)\n"
    "  migrate [--from-sqlite FILE] [-c FILE]\n"
    "                          create or upgrade the database schema; copy an\n"
    "                          SQLite data set into PostgreSQL (servers stopped)\n"
    "  version                 print version information\n"
    "\n"
    "Run 'grantd <command> --help' for a command's options.\n";

static const char usage_serve[] =
    "usage: grantd serve [-c FILE]\n"
    "\n"
    "Runs the server until SIGTERM or SIGINT. On first start creates the data\n"
    "dir: database, TLS certificate, server secret, super tenant and admin.\n"
    "The admin password comes from GRANTD_ADMIN_PASSWORD or is generated.\n"
    "\n"
    "  -c, --config FILE   deployment.toml to read (default: built-in defaults)\n";

static const char usage_check[] =
    "usage: grantd check-config [-c FILE]\n"
    "\n"
    "Parses and validates the configuration (file and GRANTD_* environment),\n"
    "prints the effective configuration, exits 0 when valid and 2 when not.\n"
    "\n"
    "  -c, --config FILE   deployment.toml to read (default: built-in defaults)\n";

static const char usage_keys[] =
    "usage: grantd keys rotate [--tenant T] [-c FILE]\n"
    "\n"
    "Creates a new token-signing key (jwt_signing_algorithm) for tenant T (default:\n"
    "the super tenant) that signs from now on. The previous keys stay published\n"
    "at /oauth2/jwks until the tokens they signed have expired. Works on the data\n"
    "dir of a stopped server; other servers on the same database read the new key\n"
    "within a minute.\n"
    "\n"
    "  --tenant T          the tenant's domain\n"
    "  -c, --config FILE   deployment.toml to read (default: built-in defaults)\n";

static const char usage_admin[] =
    "usage: grantd admin set-password [--tenant T] [--password-file F] [-c FILE] [USER]\n"
    "\n"
    "Sets the password of admin USER (default: admin) of tenant T (default: the\n"
    "super tenant). The new password is the first line of F, or of standard input\n"
    "(never an argument: argv is visible to every user); 8 to 1024 characters.\n"
    "Works beside a running server: the old password stops working at once. Run\n"
    "it as the data dir's owner.\n"
    "\n"
    "  --tenant T            the tenant's domain\n"
    "  --password-file F     read the password from F instead of standard input\n"
    "  -c, --config FILE     deployment.toml to read (default: built-in defaults)\n";

static const char usage_import[] =
    "usage: grantd import [--tenant T] [--dry-run] [-c FILE] EXPORT...\n"
    "\n"
    "Imports identity providers and applications exported from WSO2 IS 7 (GET\n"
    ".../identity-providers/{id}/export, .../applications/{id}/exportFile; XML,\n"
    "YAML or JSON, told apart by the extension or the content) into tenant T\n"
    "(default: the super tenant), each through the admin API's own validation.\n"
    "Prints one line per object (imported, would import, skipped with the reason,\n"
    "failed) and the WSO2 members grantd has no use for. An object whose name\n"
    "exists already is skipped; the others are still imported. Works on the data\n"
    "dir of a stopped server (a running one takes POST /api/server/v1/import).\n"
    "Exit 0 when every object was imported, 1 when some was not, 2 on usage.\n"
    "\n"
    "  --tenant T          the tenant's domain\n"
    "  --dry-run           validate and check for conflicts; write nothing\n"
    "  -c, --config FILE   deployment.toml to read (default: built-in defaults)\n";

static const char usage_migrate[] =
    "usage: grantd migrate [--from-sqlite FILE] [-c FILE]\n"
    "\n"
    "Creates the configured database's schema, or upgrades it to this version's,\n"
    "and exits (a starting server does the same; this does it ahead of a rollout).\n"
    "With --from-sqlite, then copies every row of that SQLite database (grantd's,\n"
    "e.g. var/grantd.db, its server stopped) into the configured PostgreSQL\n"
    "database, which must be empty, in one transaction. Copy the SQLite node's\n"
    "<data_dir>/server-secret to every node too.\n"
    "Exit 0 on success, 1 on failure (nothing copied), 2 on usage.\n";

static const char usage_version[] = "usage: grantd version\n\nPrints version information.\n";

static int is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parses "[-c FILE]"; returns EXIT_OK, EXIT_USAGE, or -1 when help was shown. */
static int parse_config_opt(int argc, char **argv, const char *usage, const char **path)
{
	*path = NULL;
	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage, stdout);
			return -1;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc && *path == NULL) {
			*path = argv[++i];
			continue;
		}
		fprintf(stderr, "grantd: unexpected argument '%s'\n\n%s", argv[i], usage);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int load_config(const char *path, struct config **cfg)
{
	struct err e = {0};
	if (config_load(path, NULL, cfg, &e) != ST_OK) {
		fprintf(stderr, "grantd: configuration error: %s\n", e.msg);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* load_config() for a command that works on the data dir without serving:
 * warnings and errors only, libsodium ready. */
static int load_tool_config(const char *path, struct config **cfg)
{
	int rc = load_config(path, cfg);

	if (rc != EXIT_OK)
		return rc;
	log_set_level(LOG_WARN);
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		config_free(*cfg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int cmd_serve(int argc, char **argv)
{
	const char *path;
	struct config *cfg;
	int rc = parse_config_opt(argc, argv, usage_serve, &path);
	int lvl;

	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = load_config(path, &cfg)) != EXIT_OK)
		return rc;
	lvl = log_level_parse(cfg->server.log_level);
	log_set_level(lvl < 0 ? LOG_INFO : (enum log_level)lvl);
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	rc = app_serve(cfg);
	config_free(cfg);
	return rc;
}

static int cmd_keys(int argc, char **argv)
{
	const char *path = NULL, *tenant = NULL;
	struct config *cfg;
	int rc;

	if (argc < 1 || is_help(argv[0])) {
		fputs(usage_keys, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[0], "rotate") != 0) {
		fprintf(stderr, "grantd: unknown keys command '%s'\n\n%s", argv[0], usage_keys);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_keys, stdout);
			return EXIT_OK;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc && path == NULL) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc && tenant == NULL) {
			tenant = argv[++i];
		} else {
			fprintf(stderr, "grantd: unexpected argument '%s'\n\n%s", argv[i],
				usage_keys);
			return EXIT_USAGE;
		}
	}
	if ((rc = load_tool_config(path, &cfg)) != EXIT_OK)
		return rc;
	rc = app_keys_rotate(cfg, tenant);
	config_free(cfg);
	return rc;
}

/* The first line of `f` without its line end, in `out`; false when it does
 * not fit. Echo is off while a terminal types it. */
static bool read_password(FILE *f, char *out, size_t outsz)
{
	struct termios old, quiet;
	bool tty = isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0;
	bool ok;
	size_t n;

	if (tty) {
		fputs("New password: ", stderr);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	ok = fgets(out, (int)outsz, f) != NULL;
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return false;
	n = strlen(out);
	if (n > 0 && out[n - 1] != '\n' && !feof(f))
		return false; /* longer than the buffer */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return true;
}

static int cmd_admin(int argc, char **argv)
{
	const char *path = NULL, *tenant = NULL, *user = NULL, *file = NULL;
	char password[LIMIT_PASSWORD + 4];
	struct config *cfg;
	FILE *f = stdin;
	int rc;

	if (argc < 1 || is_help(argv[0])) {
		fputs(usage_admin, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[0], "set-password") != 0) {
		fprintf(stderr, "grantd: unknown admin command '%s'\n\n%s", argv[0], usage_admin);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_admin, stdout);
			return EXIT_OK;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc && path == NULL)
			path = argv[++i];
		else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc && tenant == NULL)
			tenant = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc && file == NULL)
			file = argv[++i];
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			fprintf(stderr, "grantd: unexpected argument '%s'\n\n%s", argv[i],
				usage_admin);
			return EXIT_USAGE;
		}
	}
	if ((rc = load_config(path, &cfg)) != EXIT_OK)
		return rc;
	log_set_level(LOG_WARN);
	if (file != NULL && (f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "grantd: cannot read %s\n", file);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (!read_password(f, password, sizeof password)) {
		fprintf(stderr, "grantd: no password read (or longer than %d characters)\n",
			LIMIT_PASSWORD);
		rc = EXIT_USAGE;
	} else if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		rc = EXIT_RUNTIME;
	} else {
		rc = app_admin_set_password(cfg, tenant, user, password);
	}
	sodium_memzero(password, sizeof password);
	if (f != stdin)
		fclose(f);
	config_free(cfg);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	const char *path = NULL, *tenant = NULL;
	char *files[LIMIT_IMPORT_FILES];
	int nfiles = 0, rc;
	bool dry_run = false, only_files = false;
	struct config *cfg;

	for (int i = 0; i < argc; i++) {
		if (!only_files && is_help(argv[i])) {
			fputs(usage_import, stdout);
			return EXIT_OK;
		}
		if (!only_files &&
		    (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc && path == NULL)
			path = argv[++i];
		else if (!only_files && strcmp(argv[i], "--tenant") == 0 && i + 1 < argc &&
			 tenant == NULL)
			tenant = argv[++i];
		else if (!only_files && strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (!only_files && strcmp(argv[i], "--") == 0)
			only_files = true;
		else if ((only_files || argv[i][0] != '-') && nfiles < LIMIT_IMPORT_FILES)
			files[nfiles++] = argv[i];
		else {
			fprintf(stderr, "grantd: %s '%s'\n\n%s",
				nfiles == LIMIT_IMPORT_FILES ? "too many files (at most 64) at"
							     : "unexpected argument",
				argv[i], usage_import);
			return EXIT_USAGE;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "grantd: no export file given\n\n%s", usage_import);
		return EXIT_USAGE;
	}
	if ((rc = load_tool_config(path, &cfg)) != EXIT_OK)
		return rc;
	rc = app_import(cfg, tenant, dry_run, files, nfiles);
	config_free(cfg);
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	const char *path = NULL, *from = NULL;
	struct config *cfg;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(usage_migrate, stdout);
			return EXIT_OK;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc && path == NULL) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--from-sqlite") == 0 && i + 1 < argc && from == NULL) {
			from = argv[++i];
		} else {
			fprintf(stderr, "grantd: unexpected argument '%s'\n\n%s", argv[i],
				usage_migrate);
			return EXIT_USAGE;
		}
	}
	if ((rc = load_tool_config(path, &cfg)) != EXIT_OK)
		return rc;
	log_set_level(LOG_INFO);
	rc = app_migrate(cfg, from);
	config_free(cfg);
	return rc;
}

static int cmd_check_config(int argc, char **argv)
{
	const char *path;
	struct config *cfg;
	struct buf out = {0};
	int rc = parse_config_opt(argc, argv, usage_check, &path);

	if (rc != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = load_config(path, &cfg)) != EXIT_OK)
		return rc;
	/* The config layer checks the URL's form; libpq's own parse (its
	 * parameter names) is the store's, the same one serve runs. */
	if (strcmp(cfg->database.type, "postgres") == 0) {
		struct err e = {0};
		if (store_pg_url_check(cfg->database.url, &e) != ST_OK) {
			fprintf(stderr, "grantd: configuration error: %s: %s\n", cfg->source,
				e.msg);
			config_free(cfg);
			return EXIT_USAGE;
		}
	}
	if (config_dump(cfg, &out) != ST_OK) {
		fprintf(stderr, "grantd: cannot print the configuration\n");
		rc = EXIT_RUNTIME;
	} else {
		fputs(out.p, stdout);
		fprintf(stderr, "grantd: configuration OK (%s)\n", cfg->source);
	}
	buf_free(&out);
	config_free(cfg);
	return rc;
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 0) {
		if (is_help(argv[0])) {
			fputs(usage_version, stdout);
			return EXIT_OK;
		}
		fprintf(stderr, "grantd: unexpected argument '%s'\n\n%s", argv[0], usage_version);
		return EXIT_USAGE;
	}
	printf("grantd %s\n", GRANTD_VERSION);
	printf("schema %d\n", store_schema_version());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libmicrohttpd %s\n", MHD_get_version());
	printf("SQLite %s\n", sqlite3_libversion());
	printf("jansson %s\n", jansson_version_str());
	printf("libsodium %s\n", sodium_version_string());
	printf("libxml2 %s\n", LIBXML_DOTTED_VERSION);
	printf("libyaml %s\n", yaml_get_version_string());
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	/* Everything grantd creates is its own only: the data dir 0700, the
	 * database, its WAL and SHM, keys and secrets 0600 (docs/operations.md,
	 * "The data dir"); a wider mode is always set explicitly. */
	umask(077);
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "check-config") == 0)
		return cmd_check_config(argc - 2, argv + 2);
	if (strcmp(argv[1], "keys") == 0)
		return cmd_keys(argc - 2, argv + 2);
	if (strcmp(argv[1], "admin") == 0)
		return cmd_admin(argc - 2, argv + 2);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 2, argv + 2);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 2, argv + 2);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 2, argv + 2);
	fprintf(stderr, "grantd: unknown command '%s'\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
