/* keys.h - JWKS endpoints: fetched with libcurl, cached per identity
 * provider, refreshed in the background.
 *
 * Rules (docs/configuration.md [oauth.jwks_endpoint]; docs/jwt-grant.md, the checks, step 5):
 *  - a request whose key is cached never waits for the network: a stale
 *    entry (older than cache_ttl) is still served while the background
 *    thread refreshes it;
 *  - the first use of an IdP fetches synchronously (concurrent first uses
 *    wait for the same fetch: single flight);
 *  - an unknown `kid` triggers at most one refetch per min_refetch_interval
 *    per IdP (the caller waits for that fetch, and so do concurrent callers
 *    that need it: single flight; later callers within the interval get
 *    "unknown kid" at once). The interval counts from the start of the
 *    IdP's last fetch of any kind (first fetch, background refresh, refetch);
 *  - a failed fetch keeps the stale copy; the failure is remembered, logged
 *    with log_warn once per failure streak (IdP id, URI and reason, never the
 *    document), and retried by the background thread with a back-off that
 *    starts at min_refetch_interval and doubles up to cache_ttl;
 *  - an IdP whose first fetch failed is not refetched on demand before
 *    min_refetch_interval has passed: callers in between get the remembered
 *    reason at once (a dead endpoint cannot tie up request threads);
 *  - fetches: https only unless allow_insecure_http; host must match
 *    allowed_hosts when set; no redirects; Content-Type not trusted; at most
 *    size_limit_bytes; the body must parse as a JWKS (jose_keyset_from_jwks
 *    with JOSE_JWKS_LENIENT);
 *  - timeouts: connection_timeout bounds the connection phase (DNS, TCP and
 *    the TLS handshake); read_timeout bounds the wait for the whole response
 *    once connected. libcurl enforces them as CURLOPT_CONNECTTIMEOUT_MS =
 *    connection_timeout and CURLOPT_TIMEOUT_MS = connection_timeout +
 *    read_timeout: read_timeout is not a per-read idle timer, so a server that
 *    trickles bytes cannot hold a fetch longer than the sum either;
 *  - TLS peers are verified against the system CA store (OpenSSL's default
 *    paths); libcurl honours the usual https_proxy/no_proxy variables;
 *  - at most KEYS_MAX_ENTRIES IdPs are cached (least recently used evicted),
 *    and an entry unused for KEYS_IDLE_TTLS x cache_ttl is dropped.
 * Error reasons (in `e`, no secrets, never the document): "JWKS endpoint
 * returned HTTP 500", "JWKS document too large (> 51200 bytes)", "JWKS
 * endpoint timed out after 1 s waiting for the response (read_timeout)",
 * "JWKS endpoint unreachable: ...", "not a JWKS: ...".
 * Thread safety: every function may be called from any thread, except that
 * keys_free() must not race with calls on the same object. */
#ifndef GRANTD_KEYS_KEYS_H
#define GRANTD_KEYS_KEYS_H

#include <stdbool.h>

#include "config/config.h"
#include "jose/jwk.h"
#include "lib/err.h"
#include "lib/metrics.h"

/* Longest JWKS URI accepted (characters). */
#define KEYS_URI_MAX 2048
/* Longest identity provider id accepted by keys_get (bytes). */
#define KEYS_IDP_ID_MAX 255
/* Most identity providers cached at once. */
#define KEYS_MAX_ENTRIES 1024
/* An entry unused for this many cache_ttl is dropped. */
#define KEYS_IDLE_TTLS 10
/* How long keys_get waits for a fetch before it answers "retry". */
#define KEYS_WAIT_MS 300

struct keys;

/* Appends grantd_jwks_fetches_total{result} and
 * grantd_jwks_fetch_duration_seconds (docs/operations.md, "Metrics"):
 * every fetch of the process, whatever triggered it. */
void keys_mx_render(struct mx_out *o);

/* libcurl's process-wide initialisation (curl_global_init), done once under
 * pthread_once. keys_new() calls it, so calling it is optional; main() may
 * call it early, before other threads exist. ST_INTERNAL if libcurl cannot
 * initialise. curl_global_cleanup() is never called (process lifetime). */
status keys_global_init(struct err *e);

/* Starts the cache and its refresh thread (which blocks every signal).
 * `cfg` is borrowed and must outlive the cache. ST_NOMEM, ST_INTERNAL. */
status keys_new(const struct config *cfg, struct keys **out, struct err *e);
/* Stops the refresh thread (a fetch in progress is aborted: libcurl's
 * progress callback sees the stop flag within about a second, or the fetch
 * ends at its timeout) and frees every entry. NULL is a no-op. Keysets
 * handed out earlier stay valid (they are reference counted). */
void keys_free(struct keys *k);

/* Checks a JWKS URI without fetching (the admin API uses it on save; every
 * fetch checks again). The URI must be an absolute URL of at most
 * KEYS_URI_MAX printable ASCII characters, parseable by libcurl's URL API;
 * scheme https (http only with allow_insecure_http); no user information
 * (user:password@); a host that is a DNS name ([A-Za-z0-9._-], IDNs in
 * their xn-- form) or a bracketed IPv6 literal; port 1..65535; and, when
 * allowed_hosts is not empty, a host matching one of its entries:
 *   "idp.example"        exactly that host (ASCII case-insensitive, a
 *                        trailing dot ignored), any port;
 *   "*.example.com"      any subdomain of example.com at any depth
 *                        (a.example.com, a.b.example.com), not example.com;
 *   "idp.example:8443"   that host on that port only (the default port
 *                        counts: https://idp.example/ is port 443);
 *   "[::1]", "[::1]:8443" IPv6 literals, in their canonical form.
 * The host compared is the one libcurl will connect to: percent-decoded,
 * IPv4 and IPv6 literals normalised ("0x7f.1" is 127.0.0.1). An IP
 * literal that is not public (keys/addr.h) is refused unless allowed_hosts
 * names it; names are checked once resolved, at connect time, by the
 * fetch (docs/security.md, "JWKS hosts").
 * ST_INVALID naming the rule broken ("JWKS URI must use https ..."),
 * ST_NOMEM. */
status keys_check_uri(const struct config *cfg, const char *uri, struct err *e);

/* The key set published at `uri` for identity provider (or application)
 * `idp_id` of `tenant` (a new reference: jose_keyset_free() it). A
 * different `uri` than the cached one starts a new entry (the old one is
 * dropped). The calling thread never fetches: a needed fetch is queued for
 * the fetch pool, which runs at most max_fetches_per_tenant fetches of one
 * tenant at once, and the caller waits for it at most KEYS_WAIT_MS; then
 * ST_BUSY "its keys are being fetched ...; retry shortly" (the fetch goes
 * on, and a later call gets its result). `kid` (may be NULL) is the
 * kid the caller looks for:
 *   - kid NULL, or found in the cached set: ST_OK at once (never waits for
 *     the network once a set has been fetched, even while refreshing);
 *   - kid not in the cached set: a refetch as described above; ST_OK with
 *     the new set if it has the kid; ST_NOT_FOUND "no key with kid 'x' in
 *     the JWKS ..." when the (re)fetched set lacks it or when a refetch is
 *     not allowed yet (the message says when it will be); ST_IO when the
 *     refetch failed (the message gives the reason).
 * With no set fetched yet: ST_IO with the reason when the fetch failed (or
 * the remembered reason of the last failure, see above). ST_INVALID when
 * `uri` breaks keys_check_uri's rules or `idp_id` is empty or longer than
 * KEYS_IDP_ID_MAX. ST_NOMEM. `*out` is NULL on failure. */
status keys_get(struct keys *k, const char *tenant, const char *idp_id, const char *uri,
		const char *kid, struct jose_keyset **out, struct err *e);

/* Forgets the entry of an IdP (its URI changed or it was deleted); a fetch
 * in flight for it completes into nothing. Unknown ids are ignored. */
void keys_forget(struct keys *k, const char *idp_id);

#endif
