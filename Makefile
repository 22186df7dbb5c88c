# bmcemu — the two commands a newcomer needs are `make run` and `make test`.
# Each installs what is missing first (npm packages now; Debian packages and
# guest images once the QEMU host lands).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_STAMP := node_modules/.installed
BUILD_STAMP := dist/.built
TS_SOURCES := $(shell find firmware hw-models qemu images cli bench -name '*.ts' 2>/dev/null)

help:
	@echo "make run    - build and start bmcemu (see README)"
	@echo "make test   - typecheck and run every test; last line is 'N passed, N failed'"
	@echo "make bench  - run the benchmarks (BENCH_ARGS=--short for the CI-sized run)"

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing npm packages (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(NODE_STAMP)

$(BUILD_STAMP): $(NODE_STAMP) $(TS_SOURCES) tsconfig.json tsconfig.build.json
	@echo "==> compiling TypeScript"
	npx tsc -p tsconfig.build.json
	@touch $@

build: $(BUILD_STAMP)

typecheck: $(NODE_STAMP)
	@echo "==> typecheck (tsc --noEmit)"
	npx tsc --noEmit

# tap's own summary is not what CI reads: scripts/tap-summary.mjs counts the
# leaf results from the TAP stream and prints the closing 'N passed, N failed'.
test: typecheck
	@echo "==> tests (tap)"
	npx tap --reporter=tap $(TESTS) 2>&1 | node scripts/tap-summary.mjs

bench: build
	node dist/bench/run.js $(BENCH_ARGS)

run: build
	node dist/cli/bmcemu.js run $(RUN_ARGS)

clean:
	rm -rf dist .tap

.PHONY: help deps build typecheck test bench run clean
