# syncd — every target works on a fresh clone.
GO       ?= go
BIN      := bin/syncd
PKGS     := ./...
# Tests get a throwaway PostgreSQL from scripts/with-postgres unless
# SYNCD_TEST_DATABASE_URL names one. PGBIN picks PostgreSQL's bin directory
# (default: pg_config --bindir, else the newest /usr/lib/postgresql/*/bin).
WITH_PG  := bash scripts/with-postgres

.PHONY: build test test-short lint vet fmt validate-manifests bench reliability mutation demo clean

build:
	$(GO) build -o $(BIN) ./cmd/syncd

test: lint
	$(WITH_PG) $(GO) test -race -count=1 -timeout 15m $(PKGS)

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

validate-manifests: build
	SHOPIFY_API_TOKEN=example-token ACME_CLIENT_SECRET=example-secret $(BIN) validate --manifests manifests

# Benchmarks: one table with every figure of issue #8, its target and
# pass/fail, also written to bench/results.json, bench/RESULTS.md and the
# "## Benchmarks" section of README.md. Needs PostgreSQL like make test.
bench: build
	SYNCD_BIN=$(abspath $(BIN)) SYNCD_BENCH_README=1 $(WITH_PG) $(GO) test -count=1 -run '^$$' -bench '^BenchmarkSyncd$$' -benchtime 1x -timeout 20m ./internal/bench

# Reliability: the long forms of the tests make test runs short (fault
# matrix over 500 objects, 20 kill -9 trials, a 60 s PostgreSQL outage, a
# 10 minute soak), then every fuzz target for 20 s each.
FUZZTIME ?= 20s
reliability: build
	SYNCD_BIN=$(abspath $(BIN)) SYNCD_RELIABILITY=long $(WITH_PG) $(GO) test -count=1 -v -timeout 40m ./internal/reliability
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/desired
	$(GO) test -run '^$$' -fuzz '^FuzzReadPlanFile$$' -fuzztime $(FUZZTIME) ./internal/planner
	$(GO) test -run '^$$' -fuzz '^FuzzSectionJSONC$$' -fuzztime $(FUZZTIME) ./internal/reliability
	$(GO) test -run '^$$' -fuzz '^FuzzSectionFile$$' -fuzztime $(FUZZTIME) ./internal/reliability

# Mutation testing (not part of make test: one test run per mutant, hours
# on a small machine): gremlins, pinned in scripts/mutation, over planner,
# executor, reconcile, observe and its clients, and audit, one package at a
# time. Prints the score and the survivors and writes bench/mutation.txt;
# fails while a survivor is neither killed nor explained in
# bench/mutation-equivalent.txt. MUTATION_PKGS narrows it, e.g.
# make mutation MUTATION_PKGS=internal/planner MUTATION_WORKERS=2
MUTATION_PKGS    ?=
MUTATION_WORKERS ?= 1
MUTATION_EXCLUDE ?=
mutation:
	MUTATION_WORKERS=$(MUTATION_WORKERS) MUTATION_EXCLUDE='$(MUTATION_EXCLUDE)' bash scripts/mutation $(MUTATION_PKGS)

# The quick start: emulator + throwaway PostgreSQL + the daemon in report
# mode on manifests/ (foreground; Ctrl-C stops everything). See demo/README.md.
demo:
	bash scripts/demo

clean:
	rm -rf bin .syncd
