/* test_tls.c - TLS identity: generation, reload, configured files, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server_tests.h"

#include "server/tls.h"
#include "lib/str.h"

static void rm_tree(const char *dir)
{
	static const char *names[] = {"tls/cert.pem", "tls/key.pem", "tls/cert.pem.tmp",
				      "tls/key.pem.tmp", "other.pem"};
	char p[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof p, "%s/tls", dir);
	rmdir(p);
	rmdir(dir);
}

static void cfg_for(struct config *cfg, char *dir)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->server.data_dir = dir;
}

static void free_pair(char *c, char *k)
{
	free(c);
	free(k);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static bool has_ip(const GENERAL_NAMES *names, const unsigned char *ip, int len)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_IPADD && g->d.iPAddress->length == len &&
		    memcmp(g->d.iPAddress->data, ip, (size_t)len) == 0)
			return true;
	}
	return false;
}

static bool has_dns(const GENERAL_NAMES *names, const char *dns)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_DNS && (size_t)g->d.dNSName->length == strlen(dns) &&
		    memcmp(g->d.dNSName->data, dns, strlen(dns)) == 0)
			return true;
	}
	return false;
}

static void tls_generate_and_inspect(void **state)
{
	char dir[] = "/tmp/grantd-tls-XXXXXX";
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {[15] = 1};
	struct config cfg;
	struct err e = {0};
	char *cert, *key, *cert2, *key2, group[32];
	BIO *b;
	X509 *x;
	EVP_PKEY *pk;
	GENERAL_NAMES *san;
	EXTENDED_KEY_USAGE *eku;
	BIGNUM *serial;
	int days, secs;
	(void)state;

	assert_non_null(mkdtemp(dir));
	cfg_for(&cfg, dir);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_OK);
	assert_int_equal(mode_of(dir, "tls"), 0700);
	assert_int_equal(mode_of(dir, "tls/key.pem"), 0600);
	assert_int_equal(mode_of(dir, "tls/cert.pem"), 0644);
	assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));

	b = BIO_new_mem_buf(cert, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	pk = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
							sizeof group, NULL),
			 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	/* self-signed, CN=localhost */
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_verify(x, pk), 1);
	/* SAN: DNS:localhost, IP:127.0.0.1, IP:::1 */
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_true(has_dns(san, "localhost"));
	assert_true(has_ip(san, v4, 4));
	assert_true(has_ip(san, v6, 16));
	assert_int_equal(sk_GENERAL_NAME_num(san), 3);
	GENERAL_NAMES_free(san);
	/* leaf for TLS servers only */
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	/* random serial of (up to) 128 bits */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(serial);
	assert_true(BN_num_bits(serial) > 64 && BN_num_bits(serial) <= 128);
	assert_false(BN_is_negative(serial));
	BN_free(serial);
	/* valid from an hour ago for 397 days */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_int_equal(
	    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(days, 397);
	assert_int_equal(secs, 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(x)), 1);
	assert_true(days == 0 && secs <= -3600 + 5 && secs >= -3600 - 300);
	X509_free(x);

	/* The second start loads the same identity. */
	assert_int_equal(tls_load_or_generate(&cfg, &cert2, &key2, &e), ST_OK);
	assert_string_equal(cert, cert2);
	assert_string_equal(key, key2);
	free_pair(cert2, key2);
	free_pair(cert, key);
	rm_tree(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void tls_configured_files_and_errors(void **state)
{
	char dir[] = "/tmp/grantd-tls-XXXXXX", dir2[] = "/tmp/grantd-tls-XXXXXX";
	char cpath[256], kpath[256], other[256];
	struct config cfg, cfg2;
	struct err e = {0};
	char *cert, *key, *c2, *k2;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(dir2));
	cfg_for(&cfg, dir);
	cfg_for(&cfg2, dir2);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_OK);
	assert_int_equal(tls_load_or_generate(&cfg2, &c2, &k2, &e), ST_OK);
	snprintf(cpath, sizeof cpath, "%s/tls/cert.pem", dir);
	snprintf(kpath, sizeof kpath, "%s/tls/key.pem", dir);

	/* configured paths */
	cfg.server.tls_cert = cpath;
	cfg.server.tls_key = kpath;
	free_pair(cert, key);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_OK);
	free_pair(cert, key);

	/* only one of the two */
	cfg.server.tls_key = NULL;
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_null(cert);

	/* a missing file is named */
	cfg.server.tls_key = "/nonexistent/key.pem";
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/key.pem"));

	/* a key that belongs to another certificate */
	snprintf(other, sizeof other, "%s/other.pem", dir);
	write_text(other, k2);
	cfg.server.tls_key = other;
	/* a private key every user may read is refused (as written: 0644) */
	assert_int_equal(chmod(other, 0644), 0);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "a private key that every user may read (mode 0644)"));
	assert_int_equal(chmod(other, 0640), 0); /* a group may read it */
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "does not match"));

	/* not PEM at all */
	write_text(other, "hello\n");
	assert_int_equal(chmod(other, 0600), 0);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, other));
	cfg.server.tls_cert = other;
	cfg.server.tls_key = kpath;
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "no PEM certificate"));

	/* generated pair with one half missing: refuse, never overwrite */
	cfg.server.tls_cert = cfg.server.tls_key = NULL;
	assert_int_equal(unlink(cpath), 0);
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "key.pem"));
	assert_int_equal(access(kpath, F_OK), 0);

	/* a data dir that does not exist */
	cfg.server.data_dir = "/nonexistent/grantd";
	assert_int_equal(tls_load_or_generate(&cfg, &cert, &key, &e), ST_IO);
	assert_non_null(strstr(e.msg, "/nonexistent/grantd/tls"));

	free_pair(c2, k2);
	rm_tree(dir);
	rm_tree(dir2);
}

int test_tls_group(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_generate_and_inspect),
	    cmocka_unit_test(tls_configured_files_and_errors),
	};
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
