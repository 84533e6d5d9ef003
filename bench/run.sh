#!/bin/sh
# bench/run.sh - bounded, reproducible benchmark of the real grantd binary
# (`make bench`; what it measures and how to read it: docs/performance.md).
#
#   GRANTD_BIN=path/to/grantd   binary to measure (default build/grantd)
#   BENCH_DURATION=5            seconds per wrk run; more knobs in bench/bench.py
#
# Installs what it needs from Debian only when missing (wrk, valgrind, the
# python3 JWT/crypto modules), then runs bench/bench.py with the system
# python. Results: Markdown on stdout and bench/out/<timestamp>/ (gitignored).
# Everything listens on 127.0.0.1 only; the whole run takes about 4.5 minutes.
set -eu
cd "$(dirname "$0")/.."

PKGS="wrk valgrind python3 python3-jwt python3-cryptography"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "bench: installing$missing" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	if ! $SUDO apt-get install -y --no-install-recommends $missing; then
		$SUDO apt-get update
		$SUDO apt-get install -y --no-install-recommends $missing
	fi
fi

GRANTD_BIN="${GRANTD_BIN:-build/grantd}"
if [ ! -x "$GRANTD_BIN" ]; then
	echo "bench: $GRANTD_BIN is missing: run 'make build' or set GRANTD_BIN" >&2
	exit 2
fi
export GRANTD_BIN
exec /usr/bin/python3 bench/bench.py
