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
# The layers (meson.build `layers`, README "Code map"): a folder includes
# only its own headers and those of the layers below it, and the I/O
# libraries stay in the layer that owns them.
allowed() {
	case "$1" in
	lib) echo "lib" ;;
	wso2) echo "lib wso2" ;;
	config) echo "lib config" ;;
	jose) echo "lib jose" ;;
	store) echo "lib config store" ;;
	http) echo "lib config http" ;;
	server) echo "lib config http server" ;;
	keys) echo "lib config jose keys" ;;
	oauth) echo "lib config jose keys store http oauth" ;;
	admin) echo "lib config jose keys store http oauth wso2 admin" ;;
	console) echo "lib config http console" ;;
	app) echo "lib config jose keys store http server oauth wso2 admin console app" ;;
	*) echo "" ;;
	esac
}
bad=0
for dir in src/*/; do
	layer=$(basename "$dir")
	ok=$(allowed "$layer")
	if [ -z "$ok" ]; then
		echo "lint: src/$layer is not a known layer (scripts/lint.sh, meson.build)" >&2
		bad=1
		continue
	fi
	for inc in $(grep -rhoE '^#include "[a-z0-9_]+/' "$dir" | sed 's/#include "//; s|/||' | sort -u); do
		case " $ok " in
		*" $inc "*) ;;
		*)
			echo "lint: src/$layer includes $inc/ (allowed: $ok)" >&2
			bad=1
			;;
		esac
	done
done
for lib_layer in "microhttpd.h:src/server" "curl/curl.h:src/keys" "sqlite3.h:src/store" \
	"libxml/parser.h:src/wso2" "yaml.h:src/wso2"; do
	hdr=${lib_layer%%:*}
	home=${lib_layer#*:}
	if grep -rln "#include <$hdr>" src | grep -v "^$home/" | grep -v '^src/main.c$'; then
		echo "lint: <$hdr> outside $home (above)" >&2
		bad=1
	fi
done
[ "$bad" -eq 0 ] || exit 1
echo "lint: ok"
