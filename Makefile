# syncd — every target works on a fresh clone.
GO       ?= go
BIN      := bin/syncd
PKGS     := ./...
# Tests get a throwaway PostgreSQL from scripts/with-postgres unless
# SYNCD_TEST_DATABASE_URL names one.
WITH_PG  := bash scripts/with-postgres

.PHONY: build test test-short lint vet fmt validate-manifests bench reliability demo clean

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

# The quick start: emulator + throwaway PostgreSQL + the daemon in report
# mode on manifests/ (foreground; Ctrl-C stops everything). See demo/README.md.
demo:
	bash scripts/demo

clean:
	rm -rf bin .syncd
