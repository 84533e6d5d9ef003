#!/bin/sh
# deps.sh - install the Debian 12 packages grantd needs, idempotently.
#
#   scripts/deps.sh run    packages to build and run the server
#   scripts/deps.sh test   ... plus everything the test suites use, and
#                          tests/console's npm packages (npm ci, from its
#                          committed package-lock.json; Chromium itself is
#                          Debian's, never downloaded)
#
# apt-get runs only when something is missing, so repeated calls are fast
# and work offline once installed. Needs root (or sudo) only then.
set -eu

RUN_PKGS="build-essential meson ninja-build pkg-config libmicrohttpd-dev libssl-dev libjansson-dev
libsqlite3-dev libpq-dev libcurl4-openssl-dev libsodium-dev libxml2-dev libyaml-dev openssl ca-certificates"
TEST_PKGS="libcmocka-dev clang libclang-rt-14-dev valgrind python3 python3-pytest python3-requests
python3-jwt python3-cryptography python3-authlib python3-yaml python3-jsonschema curl
nodejs chromium postgresql"
# Not installed: prometheus (its promtool checks /metrics when present, but
# the package also starts a Prometheus server on systems with systemd);
# tests/e2e/test_metrics.py always checks with its own strict parser.

want="$RUN_PKGS"
case "${1:-run}" in
run) ;;
test)
	want="$RUN_PKGS $TEST_PKGS"
	# Debian's npm, unless a nodejs package that bundles npm is installed.
	command -v npm >/dev/null 2>&1 || want="$want npm"
	;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# Refresh the package lists only when an install fails for lack of them.
	if ! $SUDO apt-get install -y --no-install-recommends $missing; then
		$SUDO apt-get update
		$SUDO apt-get install -y --no-install-recommends $missing
	fi
fi

# The console's browser tests: playwright-core exactly as locked, once per
# change of the lock file (a stamp in node_modules says which one is in).
if [ "${1:-run}" = test ]; then
	c="$(dirname "$0")/../tests/console"
	if ! cmp -s "$c/package-lock.json" "$c/node_modules/.grantd-lock" 2>/dev/null; then
		echo "deps: npm ci in tests/console" >&2
		(cd "$c" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
		cp "$c/package-lock.json" "$c/node_modules/.grantd-lock"
	fi
fi
