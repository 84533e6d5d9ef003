# Thin wrapper over meson/ninja; scripts/ hold the logic.
#   make run    install missing Debian packages, build, start on defaults
#   make test   install what the tests need, build, run every suite
#   make bench  benchmark: grantd next to a Node.js reference (bench/;
#               BENCH_FULL=1 for the longer grantd-only matrix)
BUILD ?= build
CONFIG ?=

.PHONY: all build run test test-quick lint format bench clean

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

clean:
	rm -rf $(BUILD) build-asan
