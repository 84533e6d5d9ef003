/* tls.c - load or generate the server's TLS identity (see tls.h). */
#include "server/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/str.h"

#define CERT_DAYS 397

/* PEM_read_* would prompt on the terminal for an encrypted key. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* `private_key`: refuse a file that others (not the owner or the group)
 * may read or write, as OpenSSH does for its keys; a group may read (the
 * usual ssl-cert group of /etc/ssl/private). docs/operations.md, "The data
 * dir". */
static status read_file(const char *path, bool private_key, char **out, struct err *e)
{
	struct stat stbuf;
	char *p = NULL;
	size_t got = 0;
	status st;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ST_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &stbuf) != 0) {
		st = err_set(e, ST_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(stbuf.st_mode)) {
		st = err_set(e, ST_INVALID, "%s: not a regular file", path);
		goto out;
	}
	if (private_key && (stbuf.st_mode & (S_IROTH | S_IWOTH))) {
		st = err_set(e, ST_INVALID,
			     "%s: a private key that every user may %s (mode %04o): chmod o-rw it "
			     "(0600 or 0640)",
			     path, (stbuf.st_mode & S_IROTH) ? "read" : "write",
			     (unsigned)(stbuf.st_mode & 07777));
		goto out;
	}
	if (stbuf.st_size > TLS_PEM_MAX) {
		st = err_set(e, ST_TOO_LARGE, "%s: larger than %d bytes", path, TLS_PEM_MAX);
		goto out;
	}
	p = malloc((size_t)stbuf.st_size + 1);
	if (p == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)stbuf.st_size) {
		ssize_t r = read(fd, p + got, (size_t)stbuf.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			st = err_set(e, ST_IO, "%s: %s", path,
				     r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)r;
	}
	p[got] = '\0';
	if (strlen(p) != got) {
		st = err_set(e, ST_INVALID, "%s: contains NUL bytes", path);
		goto out;
	}
	*out = p;
	p = NULL;
	st = ST_OK;
out:
	if (p != NULL) {
		mem_wipe(p, got);
		free(p);
	}
	close(fd);
	return st;
}

/* Parses both PEM texts and checks that they belong together. */
static status check_pair(const char *cert_pem, const char *cert_path, const char *key_pem,
			 const char *key_path, struct err *e)
{
	BIO *bc = BIO_new_mem_buf(cert_pem, -1), *bk = BIO_new_mem_buf(key_pem, -1);
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	status st;

	if (bc == NULL || bk == NULL) {
		st = err_set(e, ST_NOMEM, "out of memory");
		goto out;
	}
	x = PEM_read_bio_X509(bc, NULL, no_password, NULL);
	if (x == NULL) {
		st = err_set(e, ST_INVALID, "%s: no PEM certificate", cert_path);
		goto out;
	}
	pk = PEM_read_bio_PrivateKey(bk, NULL, no_password, NULL);
	if (pk == NULL) {
		st = err_set(e, ST_INVALID, "%s: no unencrypted PEM private key", key_path);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		st = err_set(e, ST_INVALID, "%s does not match the certificate in %s", key_path,
			     cert_path);
		goto out;
	}
	st = ST_OK;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(bc);
	BIO_free(bk);
	return st;
}

static status add_ext(X509 *x, int nid, const char *value, struct err *e)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return err_set(e, ST_INTERNAL, "certificate extension %s", OBJ_nid2sn(nid));
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? ST_OK
		       : err_set(e, ST_INTERNAL, "certificate extension %s", OBJ_nid2sn(nid));
}

static status bio_text(BIO *b, char **out, struct err *e)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0)
		return err_set(e, ST_INTERNAL, "PEM encoding failed");
	*out = str_dup_sv((struct sv){data, (size_t)n});
	return *out ? ST_OK : err_set(e, ST_NOMEM, "out of memory");
}

/* Frees a certificate and key pair, wiping the key, and clears both. */
static void pem_pair_discard(char **cert_pem, char **key_pem)
{
	free(*cert_pem);
	if (*key_pem != NULL)
		mem_wipe(*key_pem, strlen(*key_pem));
	free(*key_pem);
	*cert_pem = *key_pem = NULL;
}

/* A fresh key and self-signed certificate as PEM texts. */
static status generate(char **cert_pem, char **key_pem, struct err *e)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	BIO *bc = NULL, *bk = NULL;
	unsigned char serial[16];
	/* One reading of the clock for both ends of the validity, so that it
	 * spans exactly CERT_DAYS even when a second boundary passes between
	 * setting them. */
	time_t now = time(NULL);
	status st = ST_INTERNAL;

	*cert_pem = *key_pem = NULL;
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	name = X509_NAME_new();
	if (pk == NULL || x == NULL || name == NULL) {
		st = err_set(e, ST_INTERNAL, "TLS key generation failed");
		goto out;
	}
	if ((st = rand_bytes(serial, sizeof serial)) != ST_OK) {
		err_set(e, st, "no randomness for the certificate serial");
		goto out;
	}
	/* 128 random bits as an unsigned BIGNUM: a positive INTEGER (DER adds
	 * a leading zero octet when the top bit is set), well within the 20
	 * octets of RFC 5280 §4.1.2.2. */
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (bn != NULL && BN_is_zero(bn))
		BN_set_word(bn, 1);
	if (bn == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_time_adj(X509_getm_notBefore(x), -3600, &now) == NULL ||
	    X509_time_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400L - 3600, &now) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				       -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, pk) != 1) {
		st = err_set(e, ST_INTERNAL, "building the TLS certificate failed");
		goto out;
	}
	if ((st = add_ext(x, NID_basic_constraints, "critical,CA:FALSE", e)) != ST_OK ||
	    (st = add_ext(x, NID_key_usage, "critical,digitalSignature", e)) != ST_OK ||
	    (st = add_ext(x, NID_ext_key_usage, "serverAuth", e)) != ST_OK ||
	    (st = add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1", e)) !=
		ST_OK ||
	    (st = add_ext(x, NID_subject_key_identifier, "hash", e)) != ST_OK)
		goto out;
	if (X509_sign(x, pk, EVP_sha256()) <= 0) {
		st = err_set(e, ST_INTERNAL, "signing the TLS certificate failed");
		goto out;
	}
	bc = BIO_new(BIO_s_mem());
	bk = BIO_new(BIO_s_secmem());
	if (bc == NULL || bk == NULL || PEM_write_bio_X509(bc, x) != 1 ||
	    PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL) != 1) {
		st = err_set(e, ST_INTERNAL, "PEM encoding failed");
		goto out;
	}
	if ((st = bio_text(bc, cert_pem, e)) != ST_OK || (st = bio_text(bk, key_pem, e)) != ST_OK)
		goto out;
	st = ST_OK;
out:
	if (st != ST_OK)
		pem_pair_discard(cert_pem, key_pem);
	BIO_free(bc);
	BIO_free(bk);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pk);
	return st;
}

/* Writes `text` to `path` atomically with `mode`: a temporary file in the
 * same directory, fsync, rename. */
static status write_atomic(const char *path, const char *text, mode_t mode, struct err *e)
{
	char tmp[4096];
	size_t n = strlen(text), done = 0;
	status st = ST_OK;
	int fd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return err_set(e, ST_INVALID, "%s: path too long", path);
	unlink(tmp); /* left over by a crash between create and rename */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_set(e, ST_IO, "%s: %s", tmp, strerror(errno));
	/* The umask may have narrowed the mode; the key must not be wider. */
	if (fchmod(fd, mode) != 0)
		st = err_set(e, ST_IO, "%s: %s", tmp, strerror(errno));
	while (st == ST_OK && done < n) {
		ssize_t w = write(fd, text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			st = err_set(e, ST_IO, "%s: %s", tmp,
				     w < 0 ? strerror(errno) : "short write");
		else
			done += (size_t)w;
	}
	if (st == ST_OK && fsync(fd) != 0)
		st = err_set(e, ST_IO, "%s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && st == ST_OK)
		st = err_set(e, ST_IO, "%s: %s", tmp, strerror(errno));
	if (st == ST_OK && rename(tmp, path) != 0)
		st = err_set(e, ST_IO, "%s: %s", path, strerror(errno));
	if (st != ST_OK)
		unlink(tmp);
	return st;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static bool exists(const char *path)
{
	struct stat stbuf;
	return lstat(path, &stbuf) == 0;
}

status tls_load_or_generate(const struct config *cfg, char **cert_pem, char **key_pem,
			    struct err *e)
{
	char dir[4096], cert_path[4096], key_path[4096];
	const char *cp, *kp;
	bool have_cert, have_key;
	status st;

	*cert_pem = *key_pem = NULL;
	if ((cfg->server.tls_cert == NULL) != (cfg->server.tls_key == NULL))
		return err_set(e, ST_INVALID,
			       "server.tls_cert and server.tls_key must be set together");
	if (cfg->server.tls_cert != NULL) {
		cp = cfg->server.tls_cert;
		kp = cfg->server.tls_key;
		goto load;
	}
	if (cfg->server.data_dir == NULL)
		return err_set(e, ST_INVALID, "server.data_dir is not set");
	if ((size_t)snprintf(dir, sizeof dir, "%s/tls", cfg->server.data_dir) >= sizeof dir ||
	    (size_t)snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir) >= sizeof cert_path ||
	    (size_t)snprintf(key_path, sizeof key_path, "%s/key.pem", dir) >= sizeof key_path)
		return err_set(e, ST_INVALID, "server.data_dir: path too long");
	cp = cert_path;
	kp = key_path;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return err_set(e, ST_IO, "%s: %s", dir, strerror(errno));
	have_cert = exists(cert_path);
	have_key = exists(key_path);
	if (have_cert != have_key)
		return err_set(e, ST_INVALID, "%s: found only %s; remove it to generate a new pair",
			       dir, have_cert ? "cert.pem" : "key.pem");
	if (!have_cert) {
		if ((st = generate(cert_pem, key_pem, e)) != ST_OK)
			return st;
		/* Key first: a certificate on disk implies its key is there. */
		if ((st = write_atomic(key_path, *key_pem, 0600, e)) != ST_OK ||
		    (st = write_atomic(cert_path, *cert_pem, 0644, e)) != ST_OK)
			goto out;
		fsync_dir(dir);
		log_info("generated a self-signed TLS certificate for localhost in %s", dir);
		return ST_OK;
	}
load:
	if ((st = read_file(cp, false, cert_pem, e)) != ST_OK ||
	    (st = read_file(kp, true, key_pem, e)) != ST_OK)
		goto out;
	st = check_pair(*cert_pem, cp, *key_pem, kp, e);
out:
	if (st != ST_OK)
		pem_pair_discard(cert_pem, key_pem);
	return st;
}
