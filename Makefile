# syncd — every target works on a fresh clone.
GO       ?= go
BIN      := bin/syncd
PKGS     := ./...
# Tests get a throwaway PostgreSQL from scripts/with-postgres unless
# SYNCD_TEST_DATABASE_URL names one. PGBIN picks PostgreSQL's bin directory
# (default: pg_config --bindir, else the newest /usr/lib/postgresql/*/bin).
WITH_PG  := bash scripts/with-postgres

.PHONY: build test test-short lint vet fmt validate-manifests bench reliability mutation demo clean image image-check

# `syncd version` prints these; without them it falls back to Go's build info.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)

# Built as the container image builds it: static, no symbol table (stack
# traces keep their names); make bench measures this binary.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/syncd

test: lint image-check
	$(WITH_PG) $(GO) test -race -count=1 -timeout 15m $(PKGS)

# The container image (Dockerfile). image-check builds it only when a Docker
# engine answers, so make test (and CI) checks the image where Docker exists
# and says it skipped it elsewhere; the deploy files themselves are checked
# by the tests in deploy/.
IMAGE ?= syncd:dev
image:
	docker build -t $(IMAGE) .

image-check:
	@if docker info >/dev/null 2>&1; then \
		echo "image-check: building $(IMAGE)"; docker build -q -t $(IMAGE) . ; \
	else \
		echo "image-check: no Docker engine answers (docker info); image build not checked"; \
	fi

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
	SYNCD_BIN=$(abspath $(BIN)) SYNCD_BENCH_README=1 $(WITH_PG) $(GO) test -count=1 -run '^$$' -bench '^BenchmarkSyncd$$' -benchtime 1x -timeout 40m ./internal/bench

# Reliability: the long forms of the tests make test runs short (fault
# matrix over 500 objects, 20 kill -9 trials, a 60 s PostgreSQL outage, a
# 10 minute soak), the security tests (every TestSecurity*: hostile
# manifests, files and input), then every fuzz target for 20 s each.
FUZZTIME ?= 20s
reliability: build
	SYNCD_BIN=$(abspath $(BIN)) SYNCD_RELIABILITY=long $(WITH_PG) $(GO) test -count=1 -v -timeout 40m ./internal/reliability
	# security: the attacks of issue 12, each a test named TestSecurity*
	$(WITH_PG) $(GO) test -race -count=1 -v -timeout 10m -run 'Security' ./internal/... ./cmd/...
	# Security (issue 12, sections 3-6): echoed secrets, natural keys, the audit chain, the HTTP listener.
	$(WITH_PG) $(GO) test -count=1 -v -timeout 10m -run 'TestPlanExitsOneWhenAResourceCannotBePlanned|TestEchoedSecretsLeakNowhere|TestSecretNaturalKeyIsHashed|TestPendingIntentWithSecretNaturalKeyIsRecovered|TestAuditKeyAndCheckpoints' ./cmd/syncd
	$(WITH_PG) $(GO) test -count=1 -v -timeout 10m -run 'TestKeyedChainAttacks|TestChainKeyedMidway|TestCheckpointLine|TestVerifyNeedsOnlySelect|TestDriftObservationsSpoolDuringAnOutage' ./internal/audit
	$(WITH_PG) $(GO) test -count=1 -v -timeout 10m -run 'TestListenBeyondLoopbackNeedsToken|TestTokenGuardsAllButProbes|TestIdleConnectionsDoNotStarveTheListener|TestScanOutOfDescriptorsIsAFailedRun' ./internal/daemon
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/desired
	$(GO) test -run '^$$' -fuzz '^FuzzQuickParse$$' -fuzztime $(FUZZTIME) ./internal/desired
	$(GO) test -run '^$$' -fuzz '^FuzzSameJSON$$' -fuzztime $(FUZZTIME) ./internal/syncd
	$(GO) test -run '^$$' -fuzz '^FuzzReadPlanFile$$' -fuzztime $(FUZZTIME) ./internal/planner
	$(GO) test -run '^$$' -fuzz '^FuzzSectionJSONC$$' -fuzztime $(FUZZTIME) ./internal/reliability
	$(GO) test -run '^$$' -fuzz '^FuzzSectionFile$$' -fuzztime $(FUZZTIME) ./internal/reliability

# Mutation testing (not part of make test: one test run per mutant, hours
# on a small machine): gremlins, pinned in scripts/mutation, over planner,
# executor, reconcile, the platform clients, and audit, one package at a
# time. Prints the score and the survivors and writes bench/mutation.txt;
# fails while a survivor is neither killed nor explained in
# bench/mutation-equivalent.txt. MUTATION_PKGS narrows it, e.g.
# make mutation MUTATION_PKGS=internal/planner MUTATION_WORKERS=2
MUTATION_PKGS    ?=
MUTATION_WORKERS ?= 1
MUTATION_EXCLUDE ?=
MUTATION_FILES   ?=
MUTATION_RUN     ?=
mutation:
	MUTATION_WORKERS=$(MUTATION_WORKERS) MUTATION_EXCLUDE='$(MUTATION_EXCLUDE)' \
		MUTATION_FILES='$(MUTATION_FILES)' MUTATION_RUN='$(MUTATION_RUN)' bash scripts/mutation $(MUTATION_PKGS)

# The quick start: emulator + throwaway PostgreSQL + the daemon in report
# mode on manifests/ (foreground; Ctrl-C stops everything). See demo/README.md.
demo:
	bash scripts/demo

clean:
	rm -rf bin .syncd
