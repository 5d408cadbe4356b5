# Thin entry points: the work is done by cargo and deploy/local/*.sh.
# `make run` / `make test` need nothing but a Rust toolchain on Debian: Postgres and Redis
# come from DATABASE_URL / REDIS_URL when those answer, else private instances in .run/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

INFRA    := bash deploy/local/infra.sh
SERVICES := bash deploy/local/services.sh
BUF      := .tools/node_modules/.bin/buf

.PHONY: help build run stop test lint lint-proto lint-layout fmt bench bench-sla bench-ingest clean-run

help: ## list the targets
	@echo "usage: make <target>"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## compile every service binary into target/debug
	cargo build --workspace --bins

run: build ## start Postgres, Redis and all services; print their endpoints
	$(INFRA) up
	$(SERVICES) start

stop: ## stop the services, then the Postgres/Redis that `run`/`test` started
	$(SERVICES) stop
	$(INFRA) down

test: ## run every test against local Postgres and Redis
	$(INFRA) up
	. .run/infra.env && cargo test --workspace

lint: ## rustfmt check, buf lint (+ breaking), the layout rules, clippy with warnings as errors
	cargo fmt --all -- --check
	$(MAKE) --no-print-directory lint-proto
	$(MAKE) --no-print-directory lint-layout
	cargo clippy --workspace --all-targets -- -D warnings

# buf breaking runs once main holds .proto files, except on an unchanged main (nothing to
# compare); a main without protos is never a failure.
lint-proto: $(BUF) ## buf lint in proto/; buf breaking against the main branch
	cd proto && ../$(BUF) lint
	@if git rev-parse -q --verify refs/heads/main >/dev/null \
	    && git ls-tree -r --name-only main -- proto | grep -q '\.proto$$' \
	    && ! { [ "$$(git branch --show-current)" = main ] \
	           && [ -z "$$(git status --porcelain -- proto)" ]; }; then \
	  echo "cd proto && buf breaking --against '../.git#branch=main,subdir=proto'"; \
	  cd proto && ../$(BUF) breaking --against '../.git#branch=main,subdir=proto'; \
	else \
	  echo "buf breaking: skipped (main has no protos yet, or this is an unchanged main)"; \
	fi

# DESIGN §2's rules that the compiler does not check: no service depends on another at run
# time, nothing imports a service's api but lib.rs, no module cycles, no file over 500 lines.
lint-layout: ## the layout rules of DESIGN §2 (tests/lint/layout.pl)
	perl tests/lint/layout.pl

$(BUF):
	@command -v npm >/dev/null || { echo "npm is needed to install buf (apt-get install -y npm)" >&2; exit 1; }
	npm install --prefix .tools --no-save --no-audit --no-fund @bufbuild/buf@1

fmt: ## format all Rust code
	cargo fmt --all

bench: bench-sla ## load benchmarks (bench-sla, then tests/load/bench.sh if present)
	@if [ -f tests/load/bench.sh ]; then bash tests/load/bench.sh; \
	else echo "no other benchmarks (tests/load/bench.sh does not exist)"; fi

# Not a timed test: 6 runs of 100k timers take ~8 min; BENCH_TIMERS=5000 for a quick look.
bench-sla: ## SLA timers vs BullMQ: scheduling rate, firing lateness (tests/load/sla-bench.sh)
	bash tests/load/sla-bench.sh

bench-ingest: ## webhook ingestion and CreateReturn vs raw Postgres TPS (tests/load/ingest-bench.sh)
	bash tests/load/ingest-bench.sh

clean-run: stop ## stop everything, then delete .run (private databases, logs, dev secret)
	$(INFRA) clean
	rm -rf .run
