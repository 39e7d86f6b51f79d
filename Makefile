# pach-migrate — every target works on a fresh clone: it installs what it needs.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
SHARED := ../shared
FIXTURES := $(SHARED)/fixtures

.PHONY: all build test test-codec test-cli test-replay test-schema demo bench proto golden clean

all: build

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

dist/.built: $(NODE_MODULES) tsconfig.json $(shell find bin lib test bench -name '*.ts' 2>/dev/null)
	npx tsc -p .
	@chmod +x dist/bin/*.js
	@touch $@

build: dist/.built

## proto/ and lib/schema/gen/ from the schema facts in ../shared (then commit both)
proto: $(NODE_MODULES)
	node scripts/gen-proto.mjs

## lint-free typecheck, then every tap test (real executables in real pipes)
test: build
	npx tap

test-codec: build
	npx tap "dist/test/codec/**/*.test.js"

test-cli: build
	npx tap "dist/test/cli/**/*.test.js"

test-replay: build
	npx tap "dist/test/replay/**/*.test.js"

test-schema: build
	npx tap "dist/test/schema/**/*.test.js"

## rewrite test/golden/ (JSON views of the converted real dumps, --list of both); review the diff, then commit
golden: build
	PACH_UPDATE_GOLDEN=1 npx tap dist/test/cli/golden.test.js dist/test/cli/list-golden.test.js

## the most complete real job available: see scripts/demo.sh
demo: build
	bash scripts/demo.sh

## benchmarks (not part of test): results go to BENCHMARKS.md
bench: build
	bash bench/run.sh

clean:
	rm -rf dist .tap
