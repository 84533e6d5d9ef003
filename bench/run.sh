#!/bin/sh
# bench/run.sh - bounded, reproducible benchmark of the real grantd binary
# (`make bench`; what it measures and how to read it: docs/performance.md).
#
# Default: bench/compare.py, grantd next to a Node.js reference server
# (bench/node-ref: oidc-provider with a jwt-bearer grant, one process and
# two), about 3 minutes. BENCH_FULL=1: the longer grantd-only matrix of
# bench/bench.py (healthz, ES256, EdDSA, HTTPS, perf, callgrind, ...),
# about 4.5 minutes.
#
#   GRANTD_BIN=path/to/grantd   binary to measure (default build/grantd)
#   BENCH_DURATION=6            seconds per measured wrk run
#   BENCH_PREFILL=10000000      (comparison) re-measure the headline row with
#                               that many token rows stored (adds ~2 minutes)
#   BENCH_NODE=0                (comparison) grantd only
#   BENCH_PG=1                  grantd on PostgreSQL, 1 and 2 nodes, next to
#                               SQLite (bench/pg.py, about 2 minutes)
#   more knobs at the top of bench/compare.py and bench/bench.py
#
# Installs what it needs from Debian only when missing (wrk, valgrind, the
# python3 JWT/crypto modules), the Node reference's exact dependencies with
# `npm ci` (bench/node-ref/package-lock.json, into its node_modules, which
# git ignores), then runs the script with the system python. Results:
# Markdown on stdout and bench/out/<timestamp>/ (gitignored). Everything
# listens on 127.0.0.1 only and every load run is bounded by wrk -d.
set -eu
cd "$(dirname "$0")/.."

FULL="${BENCH_FULL:-0}"
NODE="${BENCH_NODE:-1}"
[ "$FULL" = 1 ] && NODE=0

PKGS="wrk python3 python3-jwt python3-cryptography"
[ "$FULL" = 1 ] && PKGS="$PKGS valgrind"
if [ "$NODE" != 0 ] && ! command -v node >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi
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

if [ "$FULL" = 1 ]; then
	exec /usr/bin/python3 bench/bench.py
fi
if [ "${BENCH_PG:-0}" = 1 ]; then
	# grantd on PostgreSQL (one node, two) next to SQLite; a private
	# PostgreSQL server (Debian's postgresql package) in a temporary dir
	dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed" ||
		{ echo "bench: BENCH_PG=1 needs Debian's postgresql package (scripts/deps.sh test)" >&2; exit 2; }
	exec /usr/bin/python3 bench/pg.py
fi

if [ "$NODE" != 0 ]; then
	# oidc-provider 9 wants a current Node.js LTS (it warns below v22 but
	# works on v20); older ones lack what it uses.
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if [ "$major" -lt 20 ]; then
		echo "bench: Node.js >= 20 is needed for bench/node-ref (found $(node --version 2>/dev/null || echo none));" \
			"install one, or run with BENCH_NODE=0 for grantd alone" >&2
		exit 2
	fi
	# npm ci: exactly the locked versions, into bench/node-ref/node_modules
	echo "bench: npm ci in bench/node-ref" >&2
	(cd bench/node-ref && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
export BENCH_NODE="$NODE"
exec /usr/bin/python3 bench/compare.py
