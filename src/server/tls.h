/* tls.h - the server's TLS identity: configured PEM files, or a self-signed
 * ECDSA P-256 certificate for localhost generated on first start. */
#ifndef GRANTD_HTTP_TLS_H
#define GRANTD_HTTP_TLS_H

#include "config/config.h"
#include "lib/err.h"

/* Largest PEM file read (a certificate chain or a key). */
#define TLS_PEM_MAX (256 * 1024)

/* With cfg->server.tls_cert and tls_key set (both or neither): reads both
 * files. Otherwise uses <data_dir>/tls/cert.pem and key.pem, generating them
 * when both are absent: an ECDSA P-256 key (written 0600) and a self-signed
 * SHA-256 certificate (0644): CN=localhost, SAN DNS:localhost,
 * IP:127.0.0.1, IP:::1, CA:FALSE, keyUsage digitalSignature, EKU serverAuth,
 * a random 128-bit serial, valid from one hour ago for 397 days. Files are
 * written atomically (temporary file, fsync, rename); tls/ is created 0700
 * (data_dir itself must exist). Either way the certificate and key are
 * parsed and must match; encrypted keys are refused.
 * On success *cert_pem and *key_pem are NUL-terminated malloc'd PEM texts
 * owned by the caller (wipe the key before freeing it). On failure returns
 * ST_INVALID (bad or mismatched PEM, incomplete pair), ST_TOO_LARGE or ST_IO
 * with a reason naming the file in `e`. */
status tls_load_or_generate(const struct config *cfg, char **cert_pem, char **key_pem,
			    struct err *e);

#endif
