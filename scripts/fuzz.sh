#!/bin/bash
# fuzz.sh - a bounded libFuzzer campaign over every driver in fuzz/ (make fuzz).
#
#   FUZZ_SECONDS=60   seconds per target (libFuzzer -max_total_time)
#   FUZZ_TARGETS=...  space-separated names (default: every fuzz_* built)
#   FUZZ_JOBS=1       targets run at the same time
#   FUZZ_BUILD=build-fuzz
#
# Configures a clang build with -Dfuzzers=true (ASan+UBSan+libFuzzer),
# builds it, and runs each target on a scratch copy of fuzz/corpus/<name>
# (the checked-in corpus is never modified) with -rss_limit_mb=2048 and a
# per-input timeout. Each run is also killed FUZZ_SECONDS + 60 s after it
# starts, so the whole campaign is bounded. Prints per target: seconds,
# executions, exec/s, corpus size (files after the run) and crashes
# (crash, leak, timeout and oom artifacts, kept in $FUZZ_BUILD/crashes/<name>/).
# Exits 1 when any target found something; the table is also written to
# $FUZZ_BUILD/fuzz-report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
B="${FUZZ_BUILD:-build-fuzz}"
case "$SECONDS_PER" in '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be an integer" >&2; exit 2 ;; esac
case "$JOBS" in '' | *[!0-9]* | 0) echo "fuzz: FUZZ_JOBS must be a positive integer" >&2; exit 2 ;; esac

# clang and its runtime (libFuzzer, sanitizers), as scripts/deps.sh installs packages.
need=""
command -v clang >/dev/null 2>&1 || need="$need clang"
dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed" ||
	need="$need libclang-rt-14-dev"
if [ -n "$need" ]; then
	echo "fuzz: installing$need" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y --no-install-recommends $need ||
		{ $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends $need; }
fi
scripts/deps.sh run

# A build dir configured with another compiler cannot be switched: redo it.
if [ -f "$B/build.ninja" ] && ! grep -q '^ command = clang ' "$B/build.ninja"; then
	rm -rf "$B"
fi
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dfuzzers=true -Dtests=disabled --buildtype=debugoptimized
else
	meson configure "$B" -Dfuzzers=true >/dev/null
fi
ninja -C "$B"

targets="${FUZZ_TARGETS:-}"
if [ -z "$targets" ]; then
	for f in "$B"/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && targets="$targets ${f##*/fuzz_}"
	done
fi
[ -n "$targets" ] || { echo "fuzz: no fuzz_* binaries in $B/fuzz" >&2; exit 2; }

work="$B/fuzz-work"
rm -rf "$work"
mkdir -p "$work" "$B/crashes"

# Runs one target; its summary line goes to $work/<name>.row.
run_one() {
	local name="$1" bin="$B/fuzz/fuzz_$1" corpus="$work/$1/corpus" log="$work/$1/log"
	local crashes="$B/crashes/$1" dict args=() rc=0 start end execs rate size found
	if [ ! -x "$bin" ]; then
		printf '%s\t-\t-\t-\t-\tmissing\n' "$name" >"$work/$name.row"
		return
	fi
	mkdir -p "$corpus" "$crashes"
	[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$corpus/"
	dict=$(find fuzz -name "$name.dict" -print -quit)
	[ -n "$dict" ] && args+=("-dict=$dict")
	start=$(date +%s)
	timeout -k 10 $((SECONDS_PER + 60)) "$bin" -max_total_time="$SECONDS_PER" \
		-rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	size=$(find "$corpus" -type f | wc -l)
	found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) | wc -l)
	# A run that ended otherwise than by its time limit without an artifact
	# (a killed or crashed libFuzzer) is a finding too.
	if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then
		found="rc=$rc"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$((end - start))" "${execs:--}" "${rate:--}" \
		"$size" "$found" >"$work/$name.row"
}

running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

report="$B/fuzz-report.txt"
bad=0
{
	printf '%-12s %8s %12s %8s %8s %8s\n' target seconds executions exec/s corpus crashes
	for t in $targets; do
		IFS=$'\t' read -r name secs execs rate size found <"$work/$t.row"
		printf '%-12s %8s %12s %8s %8s %8s\n' "$name" "$secs" "$execs" "$rate" "$size" "$found"
	done
} | tee "$report"
for t in $targets; do
	IFS=$'\t' read -r name _ _ _ _ found <"$work/$t.row"
	if [ "$found" != 0 ]; then
		bad=1
		echo "fuzz: $name: $found (artifacts in $B/crashes/$name/, log $work/$name/log)" >&2
	fi
done
exit "$bad"
