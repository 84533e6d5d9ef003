#!/bin/sh
# test.sh - every test suite, as CI runs it (make test).
#
#   1. banned-function lint
#   2. release-like build (-Werror) + unit tests + fuzz-corpus replays
#   3. ASan+UBSan build of the same tests
#   4. valgrind over the unit tests
#   5. end-to-end tests (pytest) against the real binary over HTTPS
#   6. the same end-to-end tests against the ASan+UBSan binary; any
#      sanitizer report (leaks included, at each server's exit) fails it
#   7. the store unit tests and the end-to-end tests again, on PostgreSQL:
#      a private server (tests/e2e/pgserver.py: initdb + pg_ctl in a
#      temporary directory, loopback only), no system service needed
#
# `scripts/test.sh quick` runs 1, 2 and 5 only.
set -eu
cd "$(dirname "$0")/.."
mode="${1:-full}"
PY=/usr/bin/python3
start=$(date +%s)
results=""

step() { printf '\n==== %s ====\n' "$1"; }
record() { results="$results
  $1"; }

scripts/deps.sh test

step "lint"
scripts/lint.sh
record "lint: ok"

step "build + unit tests"
[ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
ninja -C build
meson test -C build --print-errorlogs --suite unit --suite fuzz-replay
record "unit + fuzz replay: ok"

if [ "$mode" = full ]; then
	step "ASan + UBSan"
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debug >/dev/null
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --suite unit --suite fuzz-replay
	record "asan+ubsan unit + fuzz replay: ok"

	step "valgrind"
	meson test -C build --print-errorlogs --suite unit \
		--wrap="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$PWD/tests/valgrind.supp" \
		--timeout-multiplier=10
	record "valgrind unit: ok"
fi

step "end-to-end (pytest, real binary over HTTPS)"
GRANTD_BIN="$PWD/build/grantd" $PY -m pytest -q -p no:cacheprovider tests/e2e
record "e2e: ok"

if [ "$mode" = full ]; then
	step "end-to-end against the ASan+UBSan build"
	san=$(mktemp -d)
	chmod 1777 "$san" # servers that switch to [server] user write here too
	ASAN_OPTIONS="detect_leaks=1:log_path=$san/asan" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$san/ubsan" \
		GRANTD_BIN="$PWD/build-asan/grantd" $PY -m pytest -q -p no:cacheprovider tests/e2e
	if [ -n "$(ls -A "$san")" ]; then
		for f in "$san"/*; do
			printf '\n---- %s\n' "$f"
			head -n 60 "$f"
		done
		echo "sanitizer reports from the end-to-end run (above)"
		exit 1
	fi
	rm -rf "$san"
	record "e2e under asan+ubsan: ok (no sanitizer report)"
fi

if [ "$mode" = full ]; then
	step "PostgreSQL: store unit tests and end-to-end tests"
	pgdir=$(mktemp -d)
	chmod 711 "$pgdir" # the server runs as the postgres user
	trap '$PY tests/e2e/pgserver.py stop "$pgdir/pg" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
	pgurl=$($PY tests/e2e/pgserver.py start "$pgdir/pg")
	GRANTD_TEST_PG_URL="$pgurl" meson test -C build --print-errorlogs --suite unit store
	GRANTD_TEST_PG_URL="$pgurl" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --suite unit store
	$PY tests/e2e/pgserver.py stop "$pgdir/pg" >/dev/null
	record "store unit tests on PostgreSQL (release, asan+ubsan): ok"
	GRANTD_TEST_BACKEND=postgres GRANTD_BIN="$PWD/build/grantd" \
		$PY -m pytest -q -p no:cacheprovider -rs tests/e2e
	record "e2e on PostgreSQL: ok"
fi

end=$(date +%s)
printf '\n==== summary ====%s\n  total time: %ss\n' "$results" "$((end - start))"
