# bmcemu — the two commands a newcomer needs are `make run` and `make test`.
# Each installs what is missing first: Debian packages (QEMU), npm packages,
# and the guest image (built from Debian packages, cached outside the tree).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_STAMP := node_modules/.installed
BUILD_STAMP := dist/.built
TS_SOURCES := $(shell find lib transport hw-models firmware host qemu images instance cli bench web -name '*.ts' 2>/dev/null)

help:
	@echo "make run    - build and start bmcemu (see README); puts the bmcemu command on PATH"
	@echo "make test   - typecheck and run every test; last line is 'N passed, N failed'"
	@echo "make layering - check that imports only point down the floors (docs/architecture.md)"
	@echo "make bench  - run the benchmarks (BENCH_ARGS=--short for the CI-sized run)"
	@echo "make images - build the x86 guest image (done by run/test when missing)"
	@echo "make install-bin - the bmcemu command on PATH (/usr/local/bin or ~/.local/bin; done by run)"

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing npm packages (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# npm ci builds the mmap addon; rebuild it when its sources change without a reinstall.
ADDON := native/mmap/build/Release/bmcemu_mmap.node
$(ADDON): native/mmap/mmap.c native/mmap/binding.gyp $(NODE_STAMP)
	cd native/mmap && npx --no-install node-gyp rebuild
	@touch $@

deps: $(NODE_STAMP) $(ADDON)

# Debian packages (qemu-system-x86, ...): one dpkg-query when all are present.
system-deps:
	@scripts/install-system-deps.sh

# ... plus what only the tests need (chromium for the dashboard's browser test).
test-deps:
	@scripts/install-system-deps.sh --test

# Two programs: the Node side, and the dashboard's browser modules (web/,
# compiled by tsc alone into dist/web: no bundler, the page's import map
# resolves xterm.js).
$(BUILD_STAMP): $(NODE_STAMP) $(ADDON) $(TS_SOURCES) tsconfig.json tsconfig.build.json web/tsconfig.json
	@echo "==> compiling TypeScript"
	npx tsc -p tsconfig.build.json
	rm -rf dist/web  # served as a directory: no module that no longer has a source may linger
	npx tsc -p web/tsconfig.json
	@touch $@

build: $(BUILD_STAMP)

# The x86 guest image (kernel + initramfs), cached by input hash in ~/.cache/bmcemu.
images: build system-deps
	node dist/images/build.js

typecheck: $(NODE_STAMP) $(ADDON)
	@echo "==> typecheck (tsc --noEmit)"
	npx tsc --noEmit
	npx tsc --noEmit -p web/tsconfig.json

# Imports point down the floors only, no cycles in the production tree, no
# test code or devDependency in production (.dependency-cruiser.cjs says why
# each rule is drawn where it is). Runs before the tests: a violation stops
# make here, and .ci/run then prints its own summary line.
layering: $(NODE_STAMP)
	@echo "==> layering (dependency-cruiser)"
	npm run --silent layering

# tap's own summary is not what CI reads: scripts/tap-summary.mjs counts the
# leaf results from the TAP stream and prints the closing 'N passed, N failed'.
test: typecheck layering test-deps images
	@echo "==> tests (tap)"
	npx tap --reporter=tap $(TESTS) 2>&1 | node scripts/tap-summary.mjs

bench: build
	node dist/bench/run.js $(BENCH_ARGS)

# The `bmcemu` command for the README's commands in other shells: a symlink to
# bin/bmcemu.js (scripts/install-bin.sh says where; silent once it is there).
# `run` does it too, but a bin directory it cannot write does not stop the run.
install-bin:
	@scripts/install-bin.sh

run: build images
	@scripts/install-bin.sh || echo "==> the bmcemu command is not installed (see above); node dist/cli/bmcemu.js works the same" >&2
	node dist/cli/bmcemu.js run $(RUN_ARGS)

clean:
	rm -rf dist .tap

.PHONY: help deps system-deps test-deps build images install-bin typecheck layering test bench run clean
