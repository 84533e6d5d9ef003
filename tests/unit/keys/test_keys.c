/* test_keys.c - the JWKS cache against a scripted HTTP/1.1 server on
 * 127.0.0.1, with an injected clock: no assertion depends on wall-clock
 * timing. The server answers every request with the current script (status,
 * body, with or without Content-Length) and can hold a request until the
 * test releases it, which is how timeouts and in-flight fetches are made. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "keys/addr.h"
#include "keys/keys.h"
#include "keys/keys_test.h"
#include "lib/b64.h"
#include "lib/log.h"

/* ---- the scripted server ------------------------------------------------- */

struct srv {
	pthread_t th;
	int lfd;
	int stop_pipe[2];
	uint16_t port;
	SSL_CTX *tls; /* NULL: plain HTTP */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* the script, under mu */
	int status;
	char *body; /* owned */
	size_t body_len;
	bool no_length; /* no Content-Length: the body ends when the connection closes */
	bool hold;      /* block each request until released, then answer */
	bool released;
	bool stopping;
	/* observations, under mu */
	int requests;
	int held; /* requests currently held */
	char last_path[256];
};

static struct srv g_srv;     /* plain HTTP */
static struct srv g_tls_srv; /* HTTPS, with a self-signed certificate for 127.0.0.1 */
static char g_ca_path[64];   /* that certificate, PEM */

static void srv_script(struct srv *s, int code, const char *body, size_t len, bool no_length)
{
	pthread_mutex_lock(&s->mu);
	free(s->body);
	s->body = malloc(len + 1);
	assert_non_null(s->body);
	memcpy(s->body, body, len);
	s->body[len] = '\0';
	s->body_len = len;
	s->status = code;
	s->no_length = no_length;
	pthread_mutex_unlock(&s->mu);
}

static void srv_hold(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->hold = true;
	s->released = false;
	pthread_mutex_unlock(&s->mu);
}

static void srv_release(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->hold = false;
	s->released = true;
	pthread_cond_broadcast(&s->cv);
	/* Until the held requests are let go: a srv_hold() right after must
	 * not catch them again. */
	while (s->held > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static int srv_requests(struct srv *s)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->requests;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void srv_last_path(struct srv *s, char *out, size_t outsz)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, outsz, "%s", s->last_path);
	pthread_mutex_unlock(&s->mu);
}

/* Blocks until the server has received `n` requests in all. */
static void srv_wait_requests(struct srv *s, int n)
{
	pthread_mutex_lock(&s->mu);
	while (s->requests < n)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

struct conn {
	int fd;
	SSL *ssl;
};

static ssize_t conn_recv(struct conn *c, char *p, size_t n)
{
	if (c->ssl != NULL) {
		int r = SSL_read(c->ssl, p, (int)n);
		return r > 0 ? r : -1;
	}
	return recv(c->fd, p, n, 0);
}

static void send_all(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w =
		    c->ssl != NULL ? SSL_write(c->ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client gave up (timeout, size limit): fine */
		p += w;
		n -= (size_t)w;
	}
}

static void serve_one(struct srv *s, struct conn *c)
{
	char req[8192];
	size_t n = 0;
	char head[256];
	char *body = NULL;
	size_t body_len;
	int code, hl;
	bool no_length;
	struct timeval tv = {5, 0};

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (c->ssl != NULL && SSL_accept(c->ssl) != 1)
		return; /* e.g. the client did not trust the certificate */
	while (n < sizeof req - 1) {
		ssize_t r = conn_recv(c, req + n, sizeof req - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if ((unsigned char)req[0] == 0x16) { /* a TLS ClientHello: answer in plain text */
			send_all(c, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
			return;
		}
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	pthread_mutex_lock(&s->mu);
	s->requests++;
	{
		const char *sp = strchr(req, ' ');
		size_t i = 0;
		if (sp != NULL)
			for (sp++; *sp && *sp != ' ' && i + 1 < sizeof s->last_path; sp++)
				s->last_path[i++] = *sp;
		s->last_path[i] = '\0';
	}
	pthread_cond_broadcast(&s->cv);
	if (s->hold) {
		s->held++;
		while (!s->released && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		s->held--;
		pthread_cond_broadcast(&s->cv);
	}
	code = s->status;
	no_length = s->no_length;
	body_len = s->body_len;
	body = malloc(body_len + 1);
	if (body != NULL)
		memcpy(body, s->body, body_len);
	pthread_mutex_unlock(&s->mu);
	if (body == NULL)
		return;
	if (no_length)
		hl = snprintf(head, sizeof head,
			      "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
			      "Connection: close\r\n\r\n",
			      code);
	else
		hl = snprintf(head, sizeof head,
			      "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
			      "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
			      code, body_len,
			      (code >= 300 && code < 400) ? "Location: /elsewhere\r\n" : "");
	send_all(c, head, (size_t)hl);
	send_all(c, body, body_len);
	free(body);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
		int fd;
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		{
			struct conn c = {fd, NULL};
			if (s->tls != NULL) {
				c.ssl = SSL_new(s->tls);
				SSL_set_fd(c.ssl, fd);
			}
			serve_one(s, &c);
			if (c.ssl != NULL) {
				SSL_shutdown(c.ssl);
				SSL_free(c.ssl);
			}
		}
		close(fd);
	}
	return NULL;
}

static void srv_start(struct srv *s, SSL_CTX *tls)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof a;
	int one = 1;

	memset(s, 0, sizeof *s);
	s->tls = tls;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 64), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pipe(s->stop_pipe), 0);
	srv_script(s, 200, "{}", 2, false);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	free(s->body);
	SSL_CTX_free(s->tls);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

/* A port on which nothing listens (bound once, then closed). */
static uint16_t dead_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- keys and JWKS documents --------------------------------------------- */

#define NKEYS 4
static char g_jwk[NKEYS][512]; /* k1..k3: Ed25519 and EC P-256; [3]: secp256k1 */

static void b64url_bn(const EVP_PKEY *pkey, const char *param, size_t len, char *out)
{
	BIGNUM *bn = NULL;
	unsigned char raw[66];
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, raw, (int)len), (int)len);
	b64url_encode(raw, len, out);
	BN_free(bn);
}

static void make_keys(void)
{
	for (int i = 0; i < NKEYS; i++) {
		char x[128], y[128];
		EVP_PKEY *pkey;
		if (i == 0 || i == 2) {
			unsigned char raw[32];
			size_t rl = sizeof raw;
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
			assert_non_null(pkey);
			assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &rl), 1);
			b64url_encode(raw, rl, x);
			snprintf(
			    g_jwk[i], sizeof g_jwk[i],
			    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"k%d\","
			    "\"use\":\"sig\",\"alg\":\"EdDSA\"}",
			    x, i + 1);
		} else {
			const char *curve = i == 1 ? "P-256" : "secp256k1";
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
			assert_non_null(pkey);
			b64url_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
			b64url_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
			snprintf(g_jwk[i], sizeof g_jwk[i],
				 "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\","
				 "\"kid\":\"%s\"}",
				 curve, x, y, i == 1 ? "k2" : "k256k1");
		}
		EVP_PKEY_free(pkey);
	}
}

/* Serves {"keys":[...]} with the keys named ("k1", "k2", "k3", "k256k1"). */
static void serve_jwks_on(struct srv *s, const char *kids)
{
	char doc[4096] = "{\"keys\":[";
	size_t n = strlen(doc);
	bool first = true;
	static const char *names[NKEYS] = {"k1", "k2", "k3", "k256k1"};

	char padded[128];

	snprintf(padded, sizeof padded, " %s ", kids);
	for (int i = 0; i < NKEYS; i++) {
		char want[16];
		snprintf(want, sizeof want, " %s ", names[i]);
		if (strstr(padded, want) == NULL)
			continue;
		n += (size_t)snprintf(doc + n, sizeof doc - n, "%s%s", first ? "" : ",", g_jwk[i]);
		first = false;
	}
	n += (size_t)snprintf(doc + n, sizeof doc - n, "]}");
	srv_script(s, 200, doc, n, false);
}

static void serve_jwks(const char *kids)
{
	serve_jwks_on(&g_srv, kids);
}

/* A TLS server context with a fresh self-signed P-256 certificate for
 * IP 127.0.0.1, also written to g_ca_path for the client to trust. */
static SSL_CTX *make_tls(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *san;
	SSL_CTX *ctx;
	FILE *f;
	int fd;

	assert_non_null(pkey);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, pkey), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)"127.0.0.1", -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(san);
	assert_int_equal(X509_add_ext(x, san, -1), 1);
	X509_EXTENSION_free(san);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

	snprintf(g_ca_path, sizeof g_ca_path, "/tmp/grantd-test-keys-ca-XXXXXX");
	fd = mkstemp(g_ca_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);

	ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

static bool has_kid(const struct jose_keyset *ks, const char *kid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i]->kid != NULL && strcmp(ks->keys[i]->kid, kid) == 0)
			return true;
	return false;
}

/* ---- fixture: config, fake clock, cache ---------------------------------- */

static _Atomic int64_t g_now = 1000000;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return atomic_load(&g_now);
}

static void advance(int64_t seconds)
{
	atomic_fetch_add(&g_now, seconds * 1000);
}

struct fx {
	struct config cfg;
	struct keys *k;
	char uri[128];
};

static void cfg_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->oauth.jwks_endpoint.connection_timeout = 1;
	c->oauth.jwks_endpoint.read_timeout = 1;
	c->oauth.jwks_endpoint.size_limit_bytes = 51200;
	c->oauth.jwks_endpoint.cache_ttl = 600;
	c->oauth.jwks_endpoint.min_refetch_interval = 10;
	c->oauth.jwks_endpoint.allow_insecure_http = true;
	/* The test servers listen on loopback, which only a named host may be. */
	c->oauth.jwks_endpoint.allowed_hosts.v[0] = "127.0.0.1";
	c->oauth.jwks_endpoint.allowed_hosts.n = 1;
}

/* A cache whose callers wait `wait_ms` for a fetch, with `threads` fetch
 * threads and at most `per_tenant` fetches of one tenant at once. */
static struct fx *fx_new_pool(int64_t read_timeout, size_t max_entries, int64_t wait_ms,
			      int64_t threads, int64_t per_tenant)
{
	struct fx *f = calloc(1, sizeof *f);
	struct keys_opts o = {.clock = fake_clock, .max_entries = max_entries, .wait_ms = wait_ms};
	struct err e = {0};

	assert_non_null(f);
	cfg_defaults(&f->cfg);
	f->cfg.oauth.jwks_endpoint.fetch_threads = threads;
	f->cfg.oauth.jwks_endpoint.max_fetches_per_tenant = per_tenant;
	/* Generous, so that slow runs (valgrind, TSan) never time out by
	 * accident; read_timeout_expires uses 1 s on a server that never answers. */
	f->cfg.oauth.jwks_endpoint.connection_timeout = 30;
	f->cfg.oauth.jwks_endpoint.read_timeout = read_timeout;
	snprintf(f->uri, sizeof f->uri, "http://127.0.0.1:%u/jwks", g_srv.port);
	assert_int_equal(keys_new_with_opts(&f->cfg, &o, &f->k, &e), ST_OK);
	serve_jwks("k1");
	return f;
}

/* Callers wait for fetches as long as they take (60 s), so that slow runs
 * (valgrind) see every fetch's own outcome. */
static struct fx *fx_new(int64_t read_timeout, size_t max_entries)
{
	return fx_new_pool(read_timeout, max_entries, 60000, 2, 2);
}

static void fx_free(struct fx *f)
{
	keys_free(f->k);
	free(f);
}

/* keys_get that must succeed; returns whether the server was contacted. */
static bool get_ok(struct fx *f, const char *idp, const char *kid)
{
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	int before = srv_requests(&g_srv);
	status st = keys_get(f->k, "t1", idp, f->uri, kid, &ks, &e);
	if (st != ST_OK)
		fail_msg("keys_get(%s, %s): %s: %s", idp, kid ? kid : "NULL", status_name(st),
			 e.msg);
	assert_non_null(ks);
	if (kid != NULL)
		assert_true(has_kid(ks, kid));
	jose_keyset_free(ks);
	return srv_requests(&g_srv) != before;
}

/* keys_get that must fail with `want` and a message containing `text`. */
static void get_fails(struct fx *f, const char *idp, const char *uri, const char *kid, status want,
		      const char *text)
{
	struct jose_keyset *ks = (struct jose_keyset *)&ks;
	struct err e = {0};
	status st = keys_get(f->k, "t1", idp, uri ? uri : f->uri, kid, &ks, &e);
	if (st != want || strstr(e.msg, text) == NULL)
		fail_msg("keys_get(%s): want %s '%s', got %s '%s'", idp, status_name(want), text,
			 status_name(st), e.msg);
	assert_null(ks);
}

/* ---- keys_check_uri ------------------------------------------------------ */

static void check_uri_rules(void **state)
{
	static char *hosts[] = {"idp.example", "*.corp.example", "pinned.example:8443", "[::1]"};
	static const struct {
		const char *uri;
		bool http_ok, use_hosts;
		const char *err; /* NULL = accepted */
	} v[] = {
	    {"https://idp.example/jwks", false, false, NULL},
	    {"https://idp.example:8443/.well-known/jwks.json?x=1", false, false, NULL},
	    {"HTTPS://IDP.example/jwks", false, false, NULL},
	    {"http://idp.example/jwks", false, false, "must use https"},
	    {"http://idp.example/jwks", true, false, NULL},
	    {"ftp://idp.example/jwks", true, false, "'ftp' is not allowed"},
	    {"file:///etc/passwd", true, false, "not allowed"},
	    {"gopher://idp.example/", true, false, "https"},
	    {"https://user:pw@idp.example/jwks", false, false, "user information"},
	    {"https://user@idp.example/jwks", false, false, "user information"},
	    {"https:///jwks", false, false, ""},
	    {"idp.example/jwks", false, false, ""},
	    {"/jwks", false, false, ""},
	    {"", false, false, "empty"},
	    {"https://idp.example/a b", false, false, "space"},
	    {"https://idp.example/\x01", false, false, "control"},
	    {"https://idp.example:/jwks", false, false, NULL},
	    {"https://a%00b/jwks", false, false, ""},
	    {"https://idp.example:0/jwks", false, false, ""},
	    {"https://idp.example:99999/jwks", false, false, ""},
	    /* internal IP literals, unless allowed_hosts names them */
	    {"https://[::1]:8443/jwks", false, false, "is a loopback address"},
	    {"https://127.0.0.1:22/", false, false, "is a loopback address"},
	    {"https://169.254.169.254/latest/meta-data/", false, false, "is a link-local address"},
	    {"https://10.0.0.1/jwks", false, false, "is a private address"},
	    {"https://192.168.1.1/jwks", false, false, "is a private address"},
	    {"https://100.64.0.1/jwks", false, false, "is a shared (CGNAT) address"},
	    {"https://0.0.0.0/jwks", false, false, "is an unspecified address"},
	    {"https://224.0.0.1/jwks", false, false, "is a multicast address"},
	    {"https://[::ffff:127.0.0.1]/jwks", false, false, "is a loopback address"},
	    {"https://[::ffff:a9fe:a9fe]/jwks", false, false, "is a link-local address"},
	    {"https://[64:ff9b::a00:1]/jwks", false, false, "is a private address"},
	    {"https://[fd00::1]/jwks", false, false, "is a private address"},
	    {"https://[fe80::1]/jwks", false, false, "is a link-local address"},
	    {"https://0x7f.1/jwks", false, false, "is a loopback address"},
	    {"https://2130706433/jwks", false, false, "is a loopback address"},
	    {"https://8.8.8.8/jwks", false, false, NULL},
	    {"https://[2606:4700::1111]/jwks", false, false, NULL},
	    /* allowed_hosts */
	    {"https://idp.example/jwks", false, true, NULL},
	    {"https://IDP.Example./jwks", false, true, NULL},
	    {"https://idp.example:9999/jwks", false, true, NULL},
	    {"https://evil.example/jwks", false, true, "allowed_hosts"},
	    {"https://idp.example.evil/jwks", false, true, "allowed_hosts"},
	    {"https://a.corp.example/jwks", false, true, NULL},
	    {"https://a.b.corp.example/jwks", false, true, NULL},
	    {"https://corp.example/jwks", false, true, "allowed_hosts"},
	    {"https://xcorp.example/jwks", false, true, "allowed_hosts"},
	    {"https://pinned.example:8443/jwks", false, true, NULL},
	    {"https://pinned.example/jwks", false, true, "port 443"},
	    {"https://[::1]/jwks", false, true, NULL},
	    {"https://127.0.0.1/jwks", false, true, "allowed_hosts"},
	    /* compared as libcurl normalises the host, i.e. what it connects to */
	    {"https://idp.ex%61mple/jwks", false, true, NULL},
	    {"https://evil.ex%61mple/jwks", false, true, "'evil.example'"},
	    {"https://[0:0::1]/jwks", false, true, NULL},
	    {"https://[::2]/jwks", false, true, "allowed_hosts"},
	};
	struct config c;
	(void)state;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct err e = {0};
		status st;
		cfg_defaults(&c);
		c.oauth.jwks_endpoint.allow_insecure_http = v[i].http_ok;
		c.oauth.jwks_endpoint.allowed_hosts.n = 0;
		if (v[i].use_hosts) {
			memcpy(c.oauth.jwks_endpoint.allowed_hosts.v, hosts, sizeof hosts);
			c.oauth.jwks_endpoint.allowed_hosts.n = sizeof hosts / sizeof hosts[0];
		}
		st = keys_check_uri(&c, v[i].uri, &e);
		if (v[i].err == NULL && st != ST_OK)
			fail_msg("%s: refused: %s", v[i].uri, e.msg);
		if (v[i].err != NULL && (st != ST_INVALID || strstr(e.msg, v[i].err) == NULL))
			fail_msg("%s: want ST_INVALID '%s', got %s '%s'", v[i].uri, v[i].err,
				 status_name(st), e.msg);
		if (st != ST_OK)
			assert_true(strncmp(e.msg, "JWKS URI", 8) == 0);
	}

	/* Longer than KEYS_URI_MAX. */
	{
		char *longuri = malloc(KEYS_URI_MAX + 64);
		struct err e = {0};
		assert_non_null(longuri);
		cfg_defaults(&c);
		c.oauth.jwks_endpoint.allowed_hosts.n = 0;
		memcpy(longuri, "https://idp.example/", 20);
		memset(longuri + 20, 'a', KEYS_URI_MAX);
		longuri[20 + KEYS_URI_MAX] = '\0';
		assert_int_equal(keys_check_uri(&c, longuri, &e), ST_INVALID);
		assert_non_null(strstr(e.msg, "longer than 2048"));
		longuri[KEYS_URI_MAX] = '\0';
		assert_int_equal(keys_check_uri(&c, longuri, &e), ST_OK);
		free(longuri);
	}
}

/* ---- the cache ----------------------------------------------------------- */

static void first_fetch_then_cache(void **state)
{
	struct fx *f = fx_new(30, 0);
	char path[256];
	(void)state;

	serve_jwks("k1 k2");
	assert_true(get_ok(f, "idp-a", "k1"));
	srv_last_path(&g_srv, path, sizeof path);
	assert_string_equal(path, "/jwks");
	/* Served from the cache: no request, with or without a kid. */
	assert_false(get_ok(f, "idp-a", "k1"));
	assert_false(get_ok(f, "idp-a", "k2"));
	assert_false(get_ok(f, "idp-a", NULL));
	/* Another IdP on the same URI is another entry. */
	assert_true(get_ok(f, "idp-b", NULL));
	assert_int_equal(keys_entry_count(f->k), 2);
	fx_free(f);
}

static void unknown_kid_refetch_rate_limited(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct keys_entry_info info;
	int n;
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	n = srv_requests(&g_srv);
	/* Within min_refetch_interval of the first fetch: no request. */
	get_fails(f, "idp", NULL, "k2", ST_NOT_FOUND, "refetch allowed again in 10 s");
	assert_int_equal(srv_requests(&g_srv), n);

	/* After it: exactly one refetch, which does not find the kid either. */
	advance(10);
	get_fails(f, "idp", NULL, "k2", ST_NOT_FOUND, "no key with kid 'k2'");
	assert_int_equal(srv_requests(&g_srv), n + 1);
	/* A second unknown kid within the interval: no request, a clear error. */
	get_fails(f, "idp", NULL, "k9", ST_NOT_FOUND, "refetch allowed again in 10 s");
	get_fails(f, "idp", NULL, "k9", ST_NOT_FOUND, "no key with kid 'k9'");
	assert_int_equal(srv_requests(&g_srv), n + 1);
	/* The known key is still served at once. */
	assert_false(get_ok(f, "idp", "k1"));
	/* An untrusted kid is shown bounded and printable. */
	get_fails(f, "idp", NULL,
		  "a'b\x01"
		  "cdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		  ST_NOT_FOUND, "kid 'a?b?cdefghij");
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_true(info.has_keys);
	assert_int_equal(info.failures, 0);
	fx_free(f);
}

static void key_rotation(void **state)
{
	struct fx *f = fx_new(30, 0);
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	/* The IdP rotates: k2 replaces k1. */
	serve_jwks("k2");
	advance(11);
	assert_true(get_ok(f, "idp", "k2"));  /* unknown kid: one refetch, found */
	assert_false(get_ok(f, "idp", "k2")); /* cached */
	/* k1 is gone from the new set; no refetch within the interval. */
	get_fails(f, "idp", NULL, "k1", ST_NOT_FOUND, "no key with kid 'k1'");
	/* The IdP rotates again; the next refetch finds k3. */
	serve_jwks("k2 k3");
	advance(10);
	assert_true(get_ok(f, "idp", "k3"));
	fx_free(f);
}

static void endpoint_down_on_first_use(void **state)
{
	struct fx *f = fx_new(30, 0);
	char uri[128];
	struct keys_entry_info info;
	(void)state;

	snprintf(uri, sizeof uri, "http://127.0.0.1:%u/jwks", dead_port());
	get_fails(f, "idp", uri, "k1", ST_IO, "JWKS endpoint unreachable");
	/* Remembered: not retried before min_refetch_interval. */
	get_fails(f, "idp", uri, "k1", ST_IO, "(next attempt in 10 s)");
	get_fails(f, "idp", uri, NULL, ST_IO, "JWKS endpoint unreachable");
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_int_equal(info.failures, 1);
	advance(10);
	get_fails(f, "idp", uri, "k1", ST_IO, "JWKS endpoint unreachable");
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_int_equal(info.failures, 2);
	assert_false(info.has_keys);
	fx_free(f);
}

static void stale_copy_served_when_endpoint_fails(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct keys_entry_info info;
	int n;
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	n = srv_requests(&g_srv);
	/* The endpoint breaks; the background refresh fails; the stale copy stays. */
	srv_script(&g_srv, 500, "oops", 4, false);
	advance(600);
	keys_refresh_sync(f->k);
	assert_int_equal(srv_requests(&g_srv), n + 1);
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_int_equal(info.failures, 1);
	assert_true(info.has_keys);
	assert_string_equal(info.last_err.msg, "JWKS endpoint returned HTTP 500");
	assert_false(get_ok(f, "idp", "k1"));
	assert_false(get_ok(f, "idp", NULL));
	/* An unknown kid refetches (the background refresh was 0 s ago: wait),
	 * fails, and says why. */
	get_fails(f, "idp", NULL, "k2", ST_IO,
		  "the last refetch failed: JWKS endpoint returned HTTP 500");
	advance(10);
	get_fails(f, "idp", NULL, "k2", ST_IO,
		  "refetching it failed: JWKS endpoint returned HTTP 500");
	assert_int_equal(srv_requests(&g_srv), n + 2);
	assert_false(get_ok(f, "idp", "k1"));
	/* The background thread retries with back-off (20 s after 2 failures). */
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_int_equal(info.refresh_at, atomic_load(&g_now) + 20000);
	advance(19);
	keys_refresh_sync(f->k);
	assert_int_equal(srv_requests(&g_srv), n + 2);
	/* The endpoint recovers with a new key; the next refresh picks it up. */
	serve_jwks("k1 k2");
	advance(1);
	keys_refresh_sync(f->k);
	assert_int_equal(srv_requests(&g_srv), n + 3);
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_int_equal(info.failures, 0);
	assert_int_equal(info.last_err.st, ST_OK);
	assert_false(get_ok(f, "idp", "k2"));
	fx_free(f);
}

static void refresh_after_ttl(void **state)
{
	struct fx *f = fx_new(30, 0);
	int n;
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	n = srv_requests(&g_srv);
	serve_jwks("k2");
	advance(599);
	keys_refresh_sync(f->k);
	assert_int_equal(srv_requests(&g_srv), n); /* not due yet */
	advance(1);
	keys_refresh_sync(f->k);
	assert_int_equal(srv_requests(&g_srv), n + 1);
	assert_false(get_ok(f, "idp", "k2"));
	fx_free(f);
}

struct reason_case {
	int status;
	const char *body;
	size_t len; /* 0 = strlen(body) */
	bool no_length;
	const char *want;
};

static void fetch_failure_reasons(void **state)
{
	static char big[51201 + 16];
	struct reason_case v[] = {
	    {500, "{\"keys\":[]}", 0, false, "JWKS endpoint returned HTTP 500"},
	    {404, "not here", 0, false, "JWKS endpoint returned HTTP 404"},
	    {302, "", 0, false, "JWKS endpoint returned HTTP 302 (redirects are not followed)"},
	    {200, "<html>hello</html>", 0, false, "not a JWKS: "},
	    {200, "{\"foo\":1}", 0, false, "not a JWKS: "},
	    {200, "{\"keys\":[]}", 0, false, "not a JWKS: "},
	    {200, "", 0, false, "not a JWKS: "},
	    {200, big, 51201, false, "JWKS document too large (> 51200 bytes)"},
	    {200, big, 51201, true, "JWKS document too large (> 51200 bytes)"},
	};
	struct fx *f = fx_new(30, 0);
	(void)state;

	memset(big, ' ', sizeof big);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char idp[32];
		int n = srv_requests(&g_srv);
		snprintf(idp, sizeof idp, "idp-%zu", i);
		srv_script(&g_srv, v[i].status, v[i].body, v[i].len ? v[i].len : strlen(v[i].body),
			   v[i].no_length);
		get_fails(f, idp, NULL, "k1", ST_IO, v[i].want);
		assert_int_equal(srv_requests(&g_srv), n + 1); /* never a redirect followed */
	}
	/* Exactly at the limit is fine: a JWKS padded with spaces. */
	{
		char *doc = malloc(51200 + 1);
		size_t dl;
		assert_non_null(doc);
		dl = (size_t)snprintf(doc, 51200, "{\"keys\":[%s]}", g_jwk[0]);
		memset(doc + dl, ' ', 51200 - dl);
		srv_script(&g_srv, 200, doc, 51200, true);
		assert_true(get_ok(f, "idp-exact", "k1"));
		free(doc);
	}
	fx_free(f);
}

static void lenient_jwks(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	(void)state;

	/* Real JWKS documents publish keys grantd cannot use: they are skipped. */
	serve_jwks("k1 k256k1");
	assert_int_equal(keys_get(f->k, "t1", "idp", f->uri, NULL, &ks, &e), ST_OK);
	assert_int_equal(ks->n, 1);
	assert_true(has_kid(ks, "k1"));
	jose_keyset_free(ks);
	fx_free(f);
}

static void read_timeout_expires(void **state)
{
	struct fx *f = fx_new(1, 0);
	(void)state;

	f->cfg.oauth.jwks_endpoint.connection_timeout = 1; /* the whole fetch: 2 s */
	srv_hold(&g_srv); /* the server reads the request and never answers in time */
	get_fails(f, "idp", NULL, "k1", ST_IO,
		  "JWKS endpoint timed out (no complete response within read_timeout, 1 s)");
	srv_release(&g_srv);
	fx_free(f);
}

static void tls_to_plain_server(void **state)
{
	struct fx *f = fx_new(30, 0);
	char uri[128];
	(void)state;

	snprintf(uri, sizeof uri, "https://127.0.0.1:%u/jwks", g_srv.port);
	/* Which of closed, plain and TLS services answered is not told. */
	get_fails(f, "idp", uri, "k1", ST_IO,
		  "JWKS endpoint unreachable (no HTTP(S) connection could be made; the server log "
		  "has the reason)");
	fx_free(f);
}

/* TLS verification is on: an untrusted certificate fails the fetch; the
 * same server is accepted once its certificate is the configured CA file.
 * http is not allowed here, https is enough. */
static void tls_verification(void **state)
{
	struct config c;
	struct keys_opts o = {.clock = fake_clock, .wait_ms = 60000};
	struct keys *k = NULL;
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	char uri[128];
	(void)state;

	cfg_defaults(&c);
	c.oauth.jwks_endpoint.allow_insecure_http = false;
	c.oauth.jwks_endpoint.connection_timeout = 30;
	c.oauth.jwks_endpoint.read_timeout = 30;
	snprintf(uri, sizeof uri, "https://127.0.0.1:%u/jwks", g_tls_srv.port);
	serve_jwks_on(&g_tls_srv, "k1 k2");

	assert_int_equal(keys_new_with_opts(&c, &o, &k, &e), ST_OK);
	assert_int_equal(keys_get(k, "t1", "idp", uri, "k1", &ks, &e), ST_IO);
	assert_non_null(strstr(e.msg, "JWKS endpoint unreachable (no TLS connection"));
	assert_int_equal(srv_requests(&g_tls_srv), 0);
	keys_free(k);

	o.ca_file = g_ca_path;
	assert_int_equal(keys_new_with_opts(&c, &o, &k, &e), ST_OK);
	assert_int_equal(keys_get(k, "t1", "idp", uri, "k2", &ks, &e), ST_OK);
	assert_true(has_kid(ks, "k2"));
	jose_keyset_free(ks);
	assert_int_equal(srv_requests(&g_tls_srv), 1);
	keys_free(k);
}

static void address_classes(void **state)
{
	static const struct {
		const char *ip;
		enum keys_addr want;
	} v[] = {
	    {"8.8.8.8", KEYS_ADDR_PUBLIC},
	    {"1.1.1.1", KEYS_ADDR_PUBLIC},
	    {"0.1.2.3", KEYS_ADDR_UNSPECIFIED},
	    {"127.0.0.1", KEYS_ADDR_LOOPBACK},
	    {"127.255.255.254", KEYS_ADDR_LOOPBACK},
	    {"10.255.0.1", KEYS_ADDR_PRIVATE},
	    {"172.16.0.1", KEYS_ADDR_PRIVATE},
	    {"172.31.255.255", KEYS_ADDR_PRIVATE},
	    {"172.32.0.1", KEYS_ADDR_PUBLIC},
	    {"192.168.0.1", KEYS_ADDR_PRIVATE},
	    {"100.64.0.1", KEYS_ADDR_CGNAT},
	    {"100.127.255.255", KEYS_ADDR_CGNAT},
	    {"100.128.0.1", KEYS_ADDR_PUBLIC},
	    {"169.254.169.254", KEYS_ADDR_LINK_LOCAL},
	    {"224.0.0.251", KEYS_ADDR_MULTICAST},
	    {"239.255.255.250", KEYS_ADDR_MULTICAST},
	    {"255.255.255.255", KEYS_ADDR_RESERVED},
	    {"240.0.0.1", KEYS_ADDR_RESERVED},
	    {"192.0.2.1", KEYS_ADDR_RESERVED},
	    {"198.18.0.1", KEYS_ADDR_RESERVED},
	    {"::", KEYS_ADDR_UNSPECIFIED},
	    {"::1", KEYS_ADDR_LOOPBACK},
	    {"::ffff:127.0.0.1", KEYS_ADDR_LOOPBACK},
	    {"::ffff:8.8.8.8", KEYS_ADDR_PUBLIC},
	    {"::ffff:10.1.2.3", KEYS_ADDR_PRIVATE},
	    {"::127.0.0.1", KEYS_ADDR_LOOPBACK},
	    {"64:ff9b::169.254.169.254", KEYS_ADDR_LINK_LOCAL},
	    {"64:ff9b::8.8.8.8", KEYS_ADDR_PUBLIC},
	    {"64:ff9b:1::1", KEYS_ADDR_PRIVATE},
	    {"2002:7f00:1::", KEYS_ADDR_LOOPBACK},
	    {"2002:0808:0808::", KEYS_ADDR_PUBLIC},
	    {"fc00::1", KEYS_ADDR_PRIVATE},
	    {"fdff:ffff::1", KEYS_ADDR_PRIVATE},
	    {"fe80::1", KEYS_ADDR_LINK_LOCAL},
	    {"febf::1", KEYS_ADDR_LINK_LOCAL},
	    {"fec0::1", KEYS_ADDR_PRIVATE},
	    {"ff02::1", KEYS_ADDR_MULTICAST},
	    {"2001:db8::1", KEYS_ADDR_RESERVED},
	    {"2001:0::1", KEYS_ADDR_RESERVED},
	    {"100::1", KEYS_ADDR_RESERVED},
	    {"4000::1", KEYS_ADDR_RESERVED},
	    {"2606:4700:4700::1111", KEYS_ADDR_PUBLIC},
	    {"[2a00:1450::1]", KEYS_ADDR_PUBLIC},
	};
	enum keys_addr c;
	(void)state;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_true(keys_addr_literal(v[i].ip, &c));
		if (c != v[i].want)
			fail_msg("%s: class %s, want %s", v[i].ip, keys_addr_name(c),
				 keys_addr_name(v[i].want));
	}
	assert_false(keys_addr_literal("idp.example", &c));
	assert_false(keys_addr_literal("[idp.example]", &c));
	assert_false(keys_addr_literal("", &c));
	assert_int_equal(keys_addr_classify((const unsigned char *)"ab", 2), KEYS_ADDR_RESERVED);
}

/* A DNS name that resolves to an internal address is refused when libcurl
 * is about to connect (no request reaches the server), unless allowed_hosts
 * names it. */
static void internal_address_refused_at_connect(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	char uri[128];
	int n = srv_requests(&g_srv);
	(void)state;

	snprintf(uri, sizeof uri, "http://localhost:%u/jwks", g_srv.port);
	/* No allowed_hosts: "localhost" passes the URI rules, and is refused
	 * once resolved. */
	f->cfg.oauth.jwks_endpoint.allowed_hosts.n = 0;
	get_fails(f, "idp", uri, "k1", ST_IO,
		  "JWKS endpoint refused: its host resolves to a loopback address");
	assert_int_equal(srv_requests(&g_srv), n);
	fx_free(f);

	f = fx_new(30, 0);
	f->cfg.oauth.jwks_endpoint.allowed_hosts.v[0] = "localhost";
	assert_int_equal(keys_get(f->k, "t1", "idp", uri, "k1", &ks, &e), ST_OK);
	assert_true(has_kid(ks, "k1"));
	jose_keyset_free(ks);
	assert_int_equal(srv_requests(&g_srv), n + 1);
	fx_free(f);
}

/* Log capture: the logger writes to fd 2, which the setup points at a
 * temporary file; the teardown (run even when the test fails) restores it
 * and copies what was captured, cmocka's own messages included, to it. */
struct capture {
	FILE *tmp;
	int saved;
};

static int capture_setup(void **state)
{
	struct capture *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(c->tmp), STDERR_FILENO) >= 0);
	log_set_level(LOG_INFO);
	*state = c;
	return 0;
}

static char *captured(struct capture *c)
{
	struct stat st;
	char *text;
	fflush(stderr);
	assert_int_equal(fstat(fileno(c->tmp), &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fileno(c->tmp), text, (size_t)st.st_size, 0), st.st_size);
	return text;
}

static int capture_teardown(void **state)
{
	struct capture *c = *state;
	char *text = captured(c);
	log_set_level(LOG_ERROR);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	fclose(c->tmp);
	fputs(text, stderr);
	free(text);
	free(c);
	return 0;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void warns_once_per_failure_streak(void **state)
{
	static const char doc[] = "{\"keys\":\"SECRET-DOCUMENT-TEXT\"}";
	struct fx *f = fx_new(30, 0);
	char *log;

	assert_true(get_ok(f, "idp-log", "k1"));
	srv_script(&g_srv, 200, doc, sizeof doc - 1, false);
	for (int i = 0; i < 3; i++) { /* one streak of three failures */
		advance(600);
		keys_refresh_sync(f->k);
	}
	advance(10);
	get_fails(f, "idp-log", NULL, "k2", ST_IO, "refetching it failed: not a JWKS: ");
	serve_jwks("k1");
	advance(600);
	keys_refresh_sync(f->k); /* recovered */
	srv_script(&g_srv, 503, "", 0, false);
	advance(600);
	keys_refresh_sync(f->k); /* a new streak */
	advance(600);
	keys_refresh_sync(f->k);
	fx_free(f);

	log = captured(*state);
	assert_int_equal(count(log, "JWKS refresh failed for identity provider idp-log"), 2);
	assert_int_equal(count(log, "not a JWKS: "), 1);
	assert_int_equal(count(log, "JWKS endpoint returned HTTP 503"), 1);
	assert_int_equal(count(log, "fetched again"), 1);
	assert_null(strstr(log, "SECRET-DOCUMENT-TEXT"));
	free(log);
}

/* The client sees a stable category; the server log gets libcurl's reason. */
static void fetch_detail_only_in_log(void **state)
{
	struct fx *f = fx_new(30, 0);
	char uri[128];
	char *log;

	snprintf(uri, sizeof uri, "https://127.0.0.1:%u/jwks", g_srv.port);
	get_fails(f, "idp-detail", uri, "k1", ST_IO, "the server log has the reason");
	fx_free(f);
	log = captured(*state);
	assert_non_null(strstr(log, "JWKS fetch failed for identity provider idp-detail"));
	assert_null(strstr(log, "the server log has the reason"));
	free(log);
}

struct getter {
	struct fx *f;
	pthread_t th;
	status st;
	bool found;
};

static atomic_int g_started;

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	struct jose_keyset *ks = NULL;
	struct err e = {0};

	atomic_fetch_add(&g_started, 1);
	g->st = keys_get(g->f->k, "t1", "idp", g->f->uri, "k1", &ks, &e);
	g->found = ks != NULL && has_kid(ks, "k1");
	jose_keyset_free(ks);
	return NULL;
}

static void single_flight_first_fetch(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct getter g[8];
	int n = srv_requests(&g_srv);
	(void)state;

	atomic_store(&g_started, 0);
	srv_hold(&g_srv);
	for (int i = 0; i < 8; i++) {
		g[i].f = f;
		assert_int_equal(pthread_create(&g[i].th, NULL, getter_main, &g[i]), 0);
	}
	srv_wait_requests(&g_srv, n + 1);
	while (atomic_load(&g_started) < 8)
		usleep(1000);
	usleep(50000); /* let the others reach the wait; not needed for correctness */
	srv_release(&g_srv);
	for (int i = 0; i < 8; i++) {
		pthread_join(g[i].th, NULL);
		assert_int_equal(g[i].st, ST_OK);
		assert_true(g[i].found);
	}
	assert_int_equal(srv_requests(&g_srv), n + 1);
	fx_free(f);
}

/* A request whose key is cached never waits for a refresh in flight; and
 * keys_free() aborts that refresh instead of waiting for its timeout. */
static void refresh_in_flight_does_not_block(void **state)
{
	struct fx *f = fx_new(30, 0);
	struct keys_entry_info info;
	int n;
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	n = srv_requests(&g_srv);
	srv_hold(&g_srv);
	advance(600);
	keys_refresh_kick(f->k);
	srv_wait_requests(&g_srv, n + 1); /* the refresh is now held by the server */
	assert_false(get_ok(f, "idp", "k1"));
	assert_false(get_ok(f, "idp", NULL));
	assert_int_equal(keys_entry_info(f->k, "idp", &info), ST_OK);
	assert_true(info.in_flight); /* so the gets above did not wait for it */
	keys_free(f->k);             /* returns although the server still holds */
	f->k = NULL;
	srv_release(&g_srv);
	fx_free(f);
}

/* A fetch slower than the caller's bounded wait holds a pool thread, not
 * the caller: it is told to retry, the fetch goes on (single flight), and
 * a later call gets its result from the cache. */
static void slow_endpoint_bounded_wait(void **state)
{
	struct fx *f = fx_new_pool(30, 0, 50, 2, 2);
	int n = srv_requests(&g_srv);
	(void)state;

	srv_hold(&g_srv);
	get_fails(f, "idp", NULL, "k1", ST_BUSY,
		  "its keys are being fetched (no answer from the JWKS endpoint within 50 ms); "
		  "retry shortly");
	srv_wait_requests(&g_srv, n + 1);
	get_fails(f, "idp", NULL, "k1", ST_BUSY, "its keys are being fetched");
	srv_release(&g_srv);
	keys_fetches_sync(f->k);
	assert_false(get_ok(f, "idp", "k1")); /* cached: no second request */
	assert_int_equal(srv_requests(&g_srv), n + 1);
	fx_free(f);
}

/* One tenant's identity providers use at most max_fetches_per_tenant pool
 * threads: a tarpit IdP of tenant A cannot take the pool from tenant B. */
static void per_tenant_fetch_budget(void **state)
{
	struct fx *f = fx_new_pool(30, 0, 20, 4, 1);
	struct keys_entry_info info;
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	int n = srv_requests(&g_srv);
	(void)state;

	srv_hold(&g_srv);
	assert_int_equal(keys_get(f->k, "tA", "a1", f->uri, "k1", &ks, &e), ST_BUSY);
	srv_wait_requests(&g_srv, n + 1); /* a1's fetch is held by the endpoint */
	assert_int_equal(keys_get(f->k, "tA", "a2", f->uri, "k1", &ks, &e), ST_BUSY);
	assert_int_equal(keys_get(f->k, "tB", "b1", f->uri, "k1", &ks, &e), ST_BUSY);
	keys_wait_taken(f->k, "b1"); /* tenant B's fetch runs beside a1 ... */
	assert_int_equal(keys_entry_info(f->k, "b1", &info), ST_OK);
	assert_true(info.in_flight);
	assert_false(info.queued);
	assert_int_equal(keys_entry_info(f->k, "a2", &info), ST_OK);
	assert_true(info.in_flight); /* ... while tenant A's second one waits */
	assert_true(info.queued);
	srv_release(&g_srv);
	keys_fetches_sync(f->k);
	for (int i = 0; i < 3; i++) {
		const char *id = (const char *[]){"a1", "a2", "b1"}[i];
		assert_int_equal(keys_entry_info(f->k, id, &info), ST_OK);
		assert_true(info.has_keys);
		assert_false(info.in_flight);
	}
	assert_int_equal(srv_requests(&g_srv), n + 3);
	fx_free(f);
}

/* keys_free() with fetches queued behind a held one: they end cancelled. */
static void free_with_queued_fetches(void **state)
{
	struct fx *f = fx_new_pool(30, 0, 20, 1, 1);
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	int n = srv_requests(&g_srv);
	(void)state;

	srv_hold(&g_srv);
	assert_int_equal(keys_get(f->k, "tA", "q1", f->uri, "k1", &ks, &e), ST_BUSY);
	srv_wait_requests(&g_srv, n + 1);
	assert_int_equal(keys_get(f->k, "tA", "q2", f->uri, "k1", &ks, &e), ST_BUSY);
	assert_int_equal(keys_get(f->k, "tB", "q3", f->uri, "k1", &ks, &e), ST_BUSY);
	keys_free(f->k); /* aborts q1, cancels q2 and q3 */
	f->k = NULL;
	srv_release(&g_srv);
	fx_free(f);
}

static void free_with_idle_thread(void **state)
{
	struct config c;
	struct keys *k = NULL;
	struct err e = {0};
	(void)state;

	cfg_defaults(&c);
	assert_int_equal(keys_new(&c, &k, &e), ST_OK);
	keys_refresh_sync(k); /* the thread runs and sleeps */
	keys_free(k);
	keys_free(NULL);
}

static void uri_change_and_forget(void **state)
{
	struct fx *f = fx_new(30, 0);
	char other[160], path[256];
	struct jose_keyset *ks = NULL;
	struct err e = {0};
	int n;
	(void)state;

	assert_true(get_ok(f, "idp", "k1"));
	n = srv_requests(&g_srv);
	/* The IdP's URI changed: a new entry, fetched at once. */
	snprintf(other, sizeof other, "%s-v2", f->uri);
	assert_int_equal(keys_get(f->k, "t1", "idp", other, "k1", &ks, &e), ST_OK);
	jose_keyset_free(ks);
	assert_int_equal(srv_requests(&g_srv), n + 1);
	srv_last_path(&g_srv, path, sizeof path);
	assert_string_equal(path, "/jwks-v2");
	assert_int_equal(keys_entry_count(f->k), 1);
	/* Forgotten: the next get fetches again. */
	keys_forget(f->k, "idp");
	keys_forget(f->k, "never-seen");
	assert_int_equal(keys_entry_count(f->k), 0);
	assert_true(get_ok(f, "idp", "k1"));
	fx_free(f);
}

static void bad_arguments(void **state)
{
	struct fx *f = fx_new(30, 0);
	char longid[KEYS_IDP_ID_MAX + 2];
	(void)state;

	memset(longid, 'x', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	get_fails(f, "", NULL, "k1", ST_INVALID, "identity provider id");
	get_fails(f, longid, NULL, "k1", ST_INVALID, "identity provider id");
	get_fails(f, "idp", "ftp://127.0.0.1/jwks", "k1", ST_INVALID, "JWKS URI scheme");
	get_fails(f, "idp", "http://u:p@127.0.0.1/jwks", "k1", ST_INVALID, "user information");
	f->cfg.oauth.jwks_endpoint.allow_insecure_http = false;
	get_fails(f, "idp", NULL, "k1", ST_INVALID, "JWKS URI must use https");
	f->cfg.oauth.jwks_endpoint.allow_insecure_http = true;
	assert_int_equal(keys_entry_count(f->k), 0);
	fx_free(f);
}

static void lru_eviction_and_idle_drop(void **state)
{
	struct fx *f = fx_new(30, 2);
	(void)state;

	assert_true(get_ok(f, "a", "k1"));
	assert_true(get_ok(f, "b", "k1"));
	assert_false(get_ok(f, "a", "k1")); /* a is now the most recently used */
	assert_true(get_ok(f, "c", "k1"));  /* evicts b */
	assert_int_equal(keys_entry_count(f->k), 2);
	assert_false(get_ok(f, "a", "k1"));
	assert_false(get_ok(f, "c", "k1"));
	assert_true(get_ok(f, "b", "k1")); /* refetched; evicts a */
	assert_true(get_ok(f, "a", "k1"));

	/* Unused for 10 x cache_ttl: dropped by the refresh thread. */
	serve_jwks("k1");
	advance(10 * 600);
	keys_refresh_sync(f->k);
	assert_int_equal(keys_entry_count(f->k), 0);
	fx_free(f);
}

/* Many threads, gets with known and unknown kids, forgets and refreshes at
 * once: for the sanitizers (TSan in particular). */
struct hammer {
	struct fx *f;
	pthread_t th;
	int id;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 200; i++) {
		char idp[16];
		struct jose_keyset *ks = NULL;
		struct err e = {0};
		snprintf(idp, sizeof idp, "idp-%d", (h->id + i) % 5);
		if (i % 50 == 49)
			keys_forget(h->f->k, idp);
		keys_get(h->f->k, "t1", idp, h->f->uri, (i % 7 == 0) ? "nope" : "k1", &ks, &e);
		jose_keyset_free(ks);
		if (i % 20 == 0) {
			advance(11);
			keys_refresh_kick(h->f->k);
		}
	}
	return NULL;
}

static void concurrent_use(void **state)
{
	struct fx *f = fx_new(5, 3);
	struct hammer h[6];
	(void)state;

	serve_jwks("k1 k2");
	for (int i = 0; i < 6; i++) {
		h[i].f = f;
		h[i].id = i;
		assert_int_equal(pthread_create(&h[i].th, NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(h[i].th, NULL);
	keys_refresh_sync(f->k);
	assert_true(keys_entry_count(f->k) <= 3);
	fx_free(f);
}

static int group_setup(void **state)
{
	(void)state;
	static const char *proxies[] = {"http_proxy", "https_proxy", "all_proxy", "HTTPS_PROXY",
					"ALL_PROXY"};
	for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
		unsetenv(proxies[i]); /* the test servers are on loopback */
	log_set_level(LOG_ERROR);     /* the expected failures would log warnings */
	make_keys();
	srv_start(&g_srv, NULL);
	srv_start(&g_tls_srv, make_tls());
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	srv_stop(&g_srv);
	srv_stop(&g_tls_srv);
	unlink(g_ca_path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(check_uri_rules),
	    cmocka_unit_test(first_fetch_then_cache),
	    cmocka_unit_test(unknown_kid_refetch_rate_limited),
	    cmocka_unit_test(key_rotation),
	    cmocka_unit_test(endpoint_down_on_first_use),
	    cmocka_unit_test(stale_copy_served_when_endpoint_fails),
	    cmocka_unit_test(refresh_after_ttl),
	    cmocka_unit_test(fetch_failure_reasons),
	    cmocka_unit_test(lenient_jwks),
	    cmocka_unit_test(read_timeout_expires),
	    cmocka_unit_test(tls_to_plain_server),
	    cmocka_unit_test(tls_verification),
	    cmocka_unit_test(address_classes),
	    cmocka_unit_test(internal_address_refused_at_connect),
	    cmocka_unit_test_setup_teardown(fetch_detail_only_in_log, capture_setup,
					    capture_teardown),
	    cmocka_unit_test_setup_teardown(warns_once_per_failure_streak, capture_setup,
					    capture_teardown),
	    cmocka_unit_test(single_flight_first_fetch),
	    cmocka_unit_test(refresh_in_flight_does_not_block),
	    cmocka_unit_test(slow_endpoint_bounded_wait),
	    cmocka_unit_test(per_tenant_fetch_budget),
	    cmocka_unit_test(free_with_queued_fetches),
	    cmocka_unit_test(free_with_idle_thread),
	    cmocka_unit_test(uri_change_and_forget),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(lru_eviction_and_idle_drop),
	    cmocka_unit_test(concurrent_use),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
