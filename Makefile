# Thin wrapper over meson/ninja; scripts/ hold the logic.
#   make run    install missing Debian packages, build, start on defaults
#   make test   install what the tests need, build, run every suite
#   make bench  benchmark: grantd next to a Node.js reference (bench/;
#               BENCH_FULL=1 for the longer grantd-only matrix)
#   make bench-pg  grantd on PostgreSQL, one node and two, next to SQLite
#   make fuzz   bounded libFuzzer campaign over every fuzz/ driver (clang;
#               FUZZ_SECONDS=60 per target, FUZZ_TARGETS, FUZZ_JOBS)
BUILD ?= build
CONFIG ?=

.PHONY: all build run test test-quick lint format bench bench-pg fuzz clean

all: build

build:
	@scripts/deps.sh run
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=debugoptimized
	@ninja -C $(BUILD)

run: build
	./$(BUILD)/grantd serve $(if $(CONFIG),-c $(CONFIG),)

test:
	@scripts/test.sh

test-quick:
	@scripts/test.sh quick

lint:
	@scripts/lint.sh

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c')

bench: build
	@bench/run.sh

bench-pg: build
	@BENCH_PG=1 bench/run.sh

fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf $(BUILD) build-asan
