/* session.h - the console's login sessions (internal to src/admin;
 * docs/console.md, "Sessions").
 *
 * A bounded in-memory table. A session id is 256 random bits (base64url,
 * 43 characters) handed to the browser in the __Host-grantd_session cookie;
 * the table keeps only HMAC-SHA256(per-process key, id), so a memory dump
 * shows no usable id, and ids are compared in constant time. Each session
 * has a CSRF token (256 random bits, base64url) that every state-changing
 * request must echo in X-CSRF-Token, an idle timeout (from the last use)
 * and an absolute lifetime (from the login), both from [console]. A full
 * table first reuses an expired slot, else the least recently used one.
 *
 * Every function takes `now` (unix seconds) so that expiry is tested with
 * an injected clock. Thread-safe: one mutex over the table. */
#ifndef GRANTD_ADMIN_SESSION_H
#define GRANTD_ADMIN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/limits.h"

#define SESSION_ID_LEN   43 /* base64url of 32 bytes */
#define SESSION_CSRF_LEN 43

struct session_table;

/* Who a session belongs to, and its times (filled by the table). */
struct session_info {
	char tenant_id[64];
	char domain[LIMIT_TENANT_DOMAIN + 1];
	char user[LIMIT_USERNAME + 1];
	unsigned char pw_fp[SHA256_LEN]; /* SHA-256 of the admin's stored hash at login */
	char csrf[SESSION_CSRF_LEN + 1];
	int64_t created, last_used, expires_at; /* expires_at: the absolute end */
};

/* `idle` and `lifetime` in seconds, `max` slots (>= 1). NULL on failure. */
struct session_table *session_table_new(int64_t idle, int64_t lifetime, int64_t max);
void session_table_free(struct session_table *t);

/* A new session for `who` (tenant_id, domain, user, pw_fp); writes its id
 * to `id` and fills who->csrf, created, last_used and expires_at. */
status session_create(struct session_table *t, struct session_info *who, int64_t now,
		      char id[SESSION_ID_LEN + 1]);
/* Looks `id` up: ST_OK with *out filled and the idle clock restarted;
 * ST_NOT_FOUND when unknown, idle too long or past its lifetime (an
 * expired session is removed). */
status session_lookup(struct session_table *t, const char *id, int64_t now,
		      struct session_info *out);
/* Removes the session `id` (logout); unknown ids are ignored. */
void session_delete(struct session_table *t, const char *id);
/* The number of live sessions at `now` (tests, metrics). */
size_t session_count(struct session_table *t, int64_t now);

#endif
