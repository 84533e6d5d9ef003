/* fetch.c - the JWKS URI rules and one fetch with libcurl.
 *
 * The URI is parsed once with libcurl's URL API, checked, and the very same
 * CURLU handle is given to the transfer (CURLOPT_CURLU), so no second parser
 * can read the URL differently from the one that checked it. */
#include "keys/keys.h"
#include "keys/keys_int.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "keys/addr.h"
#include "lib/log.h"
#include "lib/str.h"

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_rc; /* written once under g_curl_once */

static void curl_init_once(void)
{
	g_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

status keys_global_init(struct err *e)
{
	pthread_once(&g_curl_once, curl_init_once);
	if (g_curl_rc != CURLE_OK)
		return err_set(e, ST_INTERNAL, "libcurl initialisation failed: %s",
			       curl_easy_strerror(g_curl_rc));
	return ST_OK;
}

/* ---- URI rules ---------------------------------------------------------- */

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_ieq(struct sv a, struct sv b)
{
	if (a.n != b.n)
		return false;
	for (size_t i = 0; i < a.n; i++)
		if (ascii_lower(a.p[i]) != ascii_lower(b.p[i]))
			return false;
	return true;
}

/* "idp.example." and "idp.example" name the same host. */
static struct sv strip_final_dot(struct sv s)
{
	if (s.n > 1 && s.p[s.n - 1] == '.')
		s.n--;
	return s;
}

static bool dns_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static bool ipv6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '.';
}

/* A DNS name or a bracketed IPv6 literal: nothing percent-encoded, no
 * Unicode, so the allowed_hosts comparison sees what will be resolved. */
static bool host_syntax_ok(struct sv h)
{
	if (h.n == 0)
		return false;
	if (h.p[0] == '[') {
		if (h.n < 3 || h.p[h.n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < h.n; i++)
			if (!ipv6_char(h.p[i]))
				return false;
		return true;
	}
	for (size_t i = 0; i < h.n; i++)
		if (!dns_char(h.p[i]))
			return false;
	return true;
}

/* Splits an allowed_hosts entry into host and optional port (-1 = any).
 * False when the entry is malformed (it then matches nothing). */
static bool split_entry(struct sv ent, struct sv *host, int64_t *port)
{
	struct sv rest = SV_NULL;

	*port = -1;
	if (ent.n > 0 && ent.p[0] == '[') {
		const char *close = memchr(ent.p, ']', ent.n);
		if (close == NULL)
			return false;
		*host = (struct sv){ent.p, (size_t)(close - ent.p) + 1};
		rest = (struct sv){close + 1, ent.n - host->n};
		if (rest.n == 0)
			return true;
		if (rest.p[0] != ':')
			return false;
		rest.p++;
		rest.n--;
	} else {
		rest = sv_cut(ent, ':', host);
		if (rest.p == NULL)
			return host->n > 0;
	}
	if (host->n == 0 || sv_to_i64(rest, port) != ST_OK || *port < 1 || *port > 65535)
		return false;
	return true;
}

static bool host_matches(struct sv pattern, struct sv host)
{
	pattern = strip_final_dot(pattern);
	host = strip_final_dot(host);
	if (pattern.n > 2 && pattern.p[0] == '*' && pattern.p[1] == '.') {
		struct sv suffix = {pattern.p + 1, pattern.n - 1}; /* ".example.com" */
		if (host.n <= suffix.n)
			return false;
		return ascii_ieq((struct sv){host.p + host.n - suffix.n, suffix.n}, suffix);
	}
	return ascii_ieq(pattern, host);
}

static bool host_allowed(const struct config_strlist *list, struct sv host, int64_t port)
{
	for (size_t i = 0; i < list->n; i++) {
		struct sv h;
		int64_t p;
		if (list->v[i] == NULL || !split_entry(sv_from(list->v[i]), &h, &p))
			continue;
		if (p >= 0 && p != port)
			continue;
		if (host_matches(h, host))
			return true;
	}
	return false;
}

static const char *a_or_an(const char *word)
{
	return strchr("aeiou", word[0]) != NULL ? "an" : "a";
}

/* "scheme://X..." with X not '/', '?' or '#': libcurl would read
 * "https:///jwks" as host "jwks", which no other parser does. */
static bool has_authority(const char *uri)
{
	size_t i = 0;

	while ((uri[i] >= 'a' && uri[i] <= 'z') || (uri[i] >= 'A' && uri[i] <= 'Z') ||
	       (i > 0 && ((uri[i] >= '0' && uri[i] <= '9') || uri[i] == '+' || uri[i] == '-' ||
			  uri[i] == '.')))
		i++;
	if (i == 0 || uri[i] != ':' || uri[i + 1] != '/' || uri[i + 2] != '/')
		return false;
	return uri[i + 3] != '\0' && uri[i + 3] != '/' && uri[i + 3] != '?' && uri[i + 3] != '#';
}

status keys_uri_parse(const struct config *cfg, const char *uri, CURLU **out, bool *internal_ok,
		      struct err *e)
{
	const struct config_strlist *allowed = &cfg->oauth.jwks_endpoint.allowed_hosts;
	CURLU *u = NULL;
	char *scheme = NULL, *part = NULL, *host = NULL, *port = NULL;
	int64_t portnum = 0;
	CURLUcode rc;
	status st = ST_OK;
	size_t n;

	enum keys_addr cls;
	bool named = false;

	if (out != NULL)
		*out = NULL;
	if (internal_ok != NULL)
		*internal_ok = false;
	if (uri == NULL || uri[0] == '\0') {
		st = err_set(e, ST_INVALID, "JWKS URI is empty");
		goto out;
	}
	n = strnlen(uri, KEYS_URI_MAX + 1);
	if (n > KEYS_URI_MAX) {
		st = err_set(e, ST_INVALID, "JWKS URI is longer than %d characters", KEYS_URI_MAX);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (c <= 0x20 || c >= 0x7f) {
			st = err_set(e, ST_INVALID,
				     "JWKS URI contains a space, control or non-ASCII character "
				     "(offset %zu); percent-encode it",
				     i);
			goto out;
		}
	}
	st = keys_global_init(e);
	if (st != ST_OK)
		goto out;
	u = curl_url();
	if (u == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	rc = curl_url_set(u, CURLUPART_URL, uri, 0);
	if (rc == CURLUE_OUT_OF_MEMORY) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	if (rc == CURLUE_UNSUPPORTED_SCHEME || rc == CURLUE_BAD_SCHEME) {
		st = err_set(e, ST_INVALID, "JWKS URI must be an https:// URL");
		goto out;
	}
	if (rc != CURLUE_OK) {
		st = err_set(e, ST_INVALID, "JWKS URI is not a valid absolute URL: %s",
			     curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == NULL) {
		st = err_set(e, ST_INVALID, "JWKS URI must be an https:// URL");
		goto out;
	}
	if (strcmp(scheme, "http") == 0) {
		if (!cfg->oauth.jwks_endpoint.allow_insecure_http) {
			st = err_set(e, ST_INVALID,
				     "JWKS URI must use https (http:// needs [oauth.jwks_endpoint] "
				     "allow_insecure_http = true)");
			goto out;
		}
	} else if (strcmp(scheme, "https") != 0) {
		st = err_set(e, ST_INVALID, "JWKS URI scheme '%.16s' is not allowed (https only)",
			     scheme);
		goto out;
	}
	if (!has_authority(uri)) {
		st = err_set(e, ST_INVALID, "JWKS URI must be of the form https://host/path");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK) {
		st = err_set(e, ST_INVALID,
			     "JWKS URI must not contain user information (user:password@)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL ||
	    host[0] == '\0') {
		st = err_set(e, ST_INVALID, "JWKS URI has no host");
		goto out;
	}
	if (!host_syntax_ok(sv_from(host))) {
		st = err_set(e, ST_INVALID,
			     "JWKS URI host '%.255s' is not a DNS name or IP address (write "
			     "internationalised names in their xn-- form)",
			     host);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    port == NULL || sv_to_i64(sv_from(port), &portnum) != ST_OK || portnum < 1 ||
	    portnum > 65535) {
		st = err_set(e, ST_INVALID, "JWKS URI port must be between 1 and 65535");
		goto out;
	}
	if (allowed->n > 0) {
		named = host_allowed(allowed, sv_from(host), portnum);
		if (!named) {
			st = err_set(e, ST_INVALID,
				     "JWKS URI host '%.255s' (port %lld) does not match "
				     "[oauth.jwks_endpoint] allowed_hosts",
				     host, (long long)portnum);
			goto out;
		}
	}
	/* The same rule is applied again at connect time, to every address
	 * a name resolves to (fetch_socket). */
	if (!named && keys_addr_literal(host, &cls) && cls != KEYS_ADDR_PUBLIC) {
		st = err_set(e, ST_INVALID,
			     "JWKS URI host '%.255s' is %s %s address; grantd fetches keys "
			     "only from public addresses unless [oauth.jwks_endpoint] "
			     "allowed_hosts names the host",
			     host, a_or_an(keys_addr_name(cls)), keys_addr_name(cls));
		goto out;
	}
	if (internal_ok != NULL)
		*internal_ok = named;
out:
	curl_free(scheme);
	curl_free(part);
	curl_free(host);
	curl_free(port);
	if (st == ST_OK && out != NULL)
		*out = u;
	else
		curl_url_cleanup(u);
	return st;
}

status keys_check_uri(const struct config *cfg, const char *uri, struct err *e)
{
	return keys_uri_parse(cfg, uri, NULL, NULL, e);
}

/* ---- the fetch ---------------------------------------------------------- */

struct sink {
	struct buf body;
	size_t limit;
	bool too_large;
	bool nomem;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	/* body.n <= limit always holds, so the subtraction cannot wrap. */
	if (n > s->limit - s->body.n) {
		s->too_large = true;
		return 0;
	}
	if (buf_append(&s->body, p, n) != ST_OK) {
		s->nomem = true;
		return 0;
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const atomic_bool *cancel = ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return (cancel != NULL && atomic_load(cancel)) ? 1 : 0;
}

static long clamp_ms(int64_t seconds)
{
	if (seconds < 1)
		return 1000L;
	if (seconds > 3600)
		return 3600L * 1000L;
	return (long)seconds * 1000L;
}

/* Whether the connection phase (TCP, and TLS for https) completed. */
static bool connected(CURL *h, bool tls)
{
	curl_off_t t = 0;
	if (curl_easy_getinfo(h, tls ? CURLINFO_APPCONNECT_TIME_T : CURLINFO_CONNECT_TIME_T, &t) !=
	    CURLE_OK)
		return false;
	return t > 0;
}

static bool is_https(CURLU *u)
{
	char *scheme = NULL;
	bool yes = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK && scheme != NULL &&
		   strcmp(scheme, "https") == 0;
	curl_free(scheme);
	return yes;
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(h, (opt), (val));                                    \
	} while (0)

/* Fetch outcomes for GET /metrics: a few stable categories. */
enum fetch_result {
	FR_OK,
	FR_REFUSED,     /* the URI breaks the rules (scheme, host, allowed_hosts) */
	FR_UNREACHABLE, /* DNS, TCP, or the connection phase timed out */
	FR_TIMEOUT,     /* connected, but no whole response within read_timeout */
	FR_TLS,         /* handshake failed or the certificate is not trusted */
	FR_HTTP_STATUS, /* not 200 */
	FR_TOO_LARGE,   /* over size_limit_bytes */
	FR_NOT_JWKS,    /* the body is no JWKS */
	FR_CANCELLED,   /* shutting down */
	FR_ERROR,       /* anything else (memory, libcurl) */
	FR_N
};
static const char *const fetch_result_names[FR_N] = {
    "ok",          "refused",   "unreachable", "timeout",   "tls",
    "http_status", "too_large", "not_jwks",    "cancelled", "error"};
static mx_counter fetches[FR_N];
static struct mx_hist fetch_time;

void keys_mx_render(struct mx_out *o)
{
	char lb[64];

	mx_family(o, "grantd_jwks_fetches_total", "counter",
		  "JWKS documents fetched from identity providers, by result.");
	for (size_t i = 0; i < FR_N; i++) {
		const char *kv[] = {"result", fetch_result_names[i]};
		mx_sample(o, "grantd_jwks_fetches_total", mx_labels(lb, sizeof lb, 1, kv),
			  mx_get(&fetches[i]));
	}
	mx_family(o, "grantd_jwks_fetch_duration_seconds", "histogram",
		  "Time a JWKS fetch took, whatever its result.");
	mx_histogram(o, "grantd_jwks_fetch_duration_seconds", NULL, &fetch_time);
}

/* What the connect-time address check saw. */
struct guard {
	bool internal_ok;      /* allowed_hosts names the host */
	bool refused;          /* an address was refused */
	enum keys_addr class_; /* of the last refused address */
};

/* CURLOPT_OPENSOCKETFUNCTION: every address libcurl is about to connect
 * to, after name resolution, so DNS answers (and rebinding) cannot lead a
 * fetch to an internal service. Refusing makes libcurl try the next
 * address, then fail with CURLE_COULDNT_CONNECT. */
static curl_socket_t fetch_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct guard *g = ud;
	enum keys_addr c = KEYS_ADDR_RESERVED;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in))
		c = keys_addr_classify(
		    (const unsigned char *)&((const struct sockaddr_in *)&a->addr)->sin_addr, 4);
	else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6))
		c = keys_addr_classify(
		    (const unsigned char *)&((const struct sockaddr_in6 *)&a->addr)->sin6_addr, 16);
	if (c != KEYS_ADDR_PUBLIC && !g->internal_ok) {
		g->refused = true;
		g->class_ = c;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static status fetch(const struct keys_fetch_opts *o, const char *uri, struct jose_keyset **out,
		    enum fetch_result *res, struct err *e);

/* The stable text for what clients and tenant admins see. Categories whose
 * detail would tell closed ports, non-TLS services and TLS services apart
 * get one text each; the others (rules, HTTP status, size, JWKS content)
 * are already stable and kept as they are. */
static void public_reason(enum fetch_result res, const struct config *cfg, struct err *e)
{
	switch (res) {
	case FR_UNREACHABLE:
	case FR_TLS:
		err_set(e, e->st,
			"JWKS endpoint unreachable (no %s connection could be made; the server "
			"log has the reason)",
			cfg->oauth.jwks_endpoint.allow_insecure_http ? "HTTP(S)" : "TLS");
		break;
	case FR_TIMEOUT:
		err_set(e, e->st,
			"JWKS endpoint timed out (no complete response within read_timeout, "
			"%lld s)",
			(long long)cfg->oauth.jwks_endpoint.read_timeout);
		break;
	case FR_ERROR:
		if (e->st == ST_IO)
			err_set(e, e->st, "JWKS fetch failed (the server log has the reason)");
		break;
	default: break;
	}
}

status keys_fetch(const struct keys_fetch_opts *o, const char *uri, struct jose_keyset **out,
		  struct err *e, struct err *detail)
{
	enum fetch_result res = FR_ERROR;
	struct timespec t0, t1;
	status st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = fetch(o, uri, out, &res, e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st == ST_OK)
		res = FR_OK;
	mx_add(&fetches[res], 1);
	mx_observe_us(&fetch_time, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000L +
					      (t1.tv_nsec - t0.tv_nsec) / 1000L));
	if (st != ST_OK) {
		if (detail != NULL)
			*detail = *e;
		public_reason(res, o->cfg, e);
	}
	return st;
}

static status fetch(const struct keys_fetch_opts *o, const char *uri, struct jose_keyset **out,
		    enum fetch_result *res, struct err *e)
{
	const struct config *cfg = o->cfg;
	int64_t limit = cfg->oauth.jwks_endpoint.size_limit_bytes;
	long connect_ms = clamp_ms(cfg->oauth.jwks_endpoint.connection_timeout);
	long read_ms = clamp_ms(cfg->oauth.jwks_endpoint.read_timeout);
	struct sink sink = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct jose_keyset *set = NULL;
	struct err je = {0};
	struct guard guard = {0};
	CURLU *u = NULL;
	CURL *h = NULL;
	CURLcode rc = CURLE_OK;
	long code = 0;
	bool tls;
	status st;

	*out = NULL;
	if (limit < 1)
		limit = 1;
	sink.limit = (size_t)limit;
	sink.body.max = sink.limit;
	st = keys_uri_parse(cfg, uri, &u, &guard.internal_ok, e);
	if (st != ST_OK) {
		*res = st == ST_NOMEM ? FR_ERROR : FR_REFUSED;
		goto out;
	}
	tls = is_https(u);
	h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Accept: application/jwk-set+json, application/json");
	if (h == NULL || hdrs == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory (libcurl handle)");
		goto out;
	}
	SETOPT(CURLOPT_CURLU, u);
	SETOPT(CURLOPT_PROTOCOLS_STR,
	       cfg->oauth.jwks_endpoint.allow_insecure_http ? "http,https" : "https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	/* No proxy from the environment: the address check below must see
	 * the JWKS host's own addresses (docs/security.md, "JWKS hosts"). */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_OPENSOCKETFUNCTION, fetch_socket);
	SETOPT(CURLOPT_OPENSOCKETDATA, &guard);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, connect_ms + read_ms);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit);
	SETOPT(CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(CURLOPT_WRITEDATA, &sink);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
	SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(CURLOPT_XFERINFODATA, (void *)o->cancel);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_HTTPHEADER, hdrs);
	SETOPT(CURLOPT_USERAGENT, "grantd/" GRANTD_VERSION);
	SETOPT(CURLOPT_HTTPGET, 1L);
	if (o->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, o->ca_file);
	if (rc != CURLE_OK) {
		st = err_set(e, ST_INTERNAL, "libcurl refused a JWKS fetch option: %s",
			     curl_easy_strerror(rc));
		goto out;
	}

	rc = curl_easy_perform(h);
	if (sink.nomem) {
		st = err_set(e, ST_NOMEM, "out of memory reading the JWKS document");
		goto out;
	}
	if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		*res = FR_TOO_LARGE;
		st = err_set(e, ST_IO, "JWKS document too large (> %lld bytes)", (long long)limit);
		goto out;
	}
	if (rc != CURLE_OK) {
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
		switch (rc) {
		case CURLE_ABORTED_BY_CALLBACK:
			*res = FR_CANCELLED;
			st = err_set(e, ST_IO, "JWKS fetch cancelled (shutting down)");
			break;
		case CURLE_OPERATION_TIMEDOUT:
			*res = connected(h, tls) ? FR_TIMEOUT : FR_UNREACHABLE;
			if (!connected(h, tls))
				st =
				    err_set(e, ST_IO,
					    "JWKS endpoint unreachable: connection timed out after "
					    "%ld s (connection_timeout)",
					    connect_ms / 1000);
			else
				st = err_set(e, ST_IO,
					     "JWKS endpoint timed out after %ld s waiting for the "
					     "response (read_timeout)",
					     read_ms / 1000);
			break;
		case CURLE_COULDNT_CONNECT:
			if (guard.refused) {
				*res = FR_REFUSED;
				st = err_set(e, ST_IO,
					     "JWKS endpoint refused: its host resolves to %s %s "
					     "address; grantd fetches keys only from public "
					     "addresses unless [oauth.jwks_endpoint] allowed_hosts "
					     "names the host",
					     a_or_an(keys_addr_name(guard.class_)),
					     keys_addr_name(guard.class_));
				break;
			}
			/* fall through */
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			*res = FR_UNREACHABLE;
			st = err_set(e, ST_IO, "JWKS endpoint unreachable: %s", why);
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
			*res = FR_TLS;
			st = err_set(e, ST_IO, "JWKS endpoint's TLS certificate is not trusted: %s",
				     why);
			break;
		case CURLE_SSL_CONNECT_ERROR:
			*res = FR_TLS;
			st = err_set(e, ST_IO, "TLS handshake with the JWKS endpoint failed: %s",
				     why);
			break;
		default: st = err_set(e, ST_IO, "JWKS fetch failed: %s", why); break;
		}
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (code != 200) {
		*res = FR_HTTP_STATUS;
		st = err_set(e, ST_IO, "JWKS endpoint returned HTTP %ld%s", code,
			     (code >= 300 && code < 400) ? " (redirects are not followed)" : "");
		goto out;
	}
	st = jose_keyset_from_jwks(sink.body.p ? sink.body.p : "", sink.body.n, JOSE_JWKS_LENIENT,
				   &set, &je);
	if (st == ST_NOMEM) {
		err_set(e, ST_NOMEM, "out of memory parsing the JWKS document");
		goto out;
	}
	if (st != ST_OK) {
		*res = FR_NOT_JWKS;
		st = err_set(e, ST_IO, "not a JWKS: %s", je.msg);
		goto out;
	}
	*out = set;
	set = NULL;
out:
	jose_keyset_free(set);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h); /* before the CURLU it uses */
	curl_url_cleanup(u);
	buf_free(&sink.body);
	return st;
}
