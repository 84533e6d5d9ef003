#!/bin/sh
# lint.sh - banned-function lint (STYLE.md): string functions with no bound
# or no error reporting never enter the tree.
set -eu
cd "$(dirname "$0")/.."
pattern='\b(strcpy|strcat|strncpy|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|tmpnam|mktemp)[[:space:]]*\('
if grep -rnE "$pattern" src tests/unit fuzz --include='*.c' --include='*.h'; then
	echo "lint: banned function(s) above; see shared STYLE.md (use snprintf, str_copy, sv_to_i64, ...)" >&2
	exit 1
fi
# OpenSSL deprecated low-level APIs are compiled out; keep them out of the text too.
if grep -rnE '\b(RSA|EC_KEY|DSA|DH)_(new|free|get0|set0|generate)' src --include='*.c' | grep -v ECDSA_SIG; then
	echo "lint: deprecated OpenSSL low-level key API above; use EVP_PKEY" >&2
	exit 1
fi
echo "lint: ok"
