# Understudy. `make run` serves on development defaults; `make test` runs
# every check. Both work on a fresh machine with Go and PostgreSQL's
# binaries installed (see README.md).

GO      ?= go
BIN     := bin/understudy
TESTPG  := .understudy/test-pg

.PHONY: all build run test vet generate check-generated bench load clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/understudy

## run: the server on development defaults (a private PostgreSQL cluster
## under .understudy/ when DATABASE_URL is not set).
run: build
	$(BIN) serve --dev

generate:
	$(GO) generate ./openapi

## check-generated: fails when openapi.gen.go is not what openapi.yaml generates.
check-generated:
	@tmp=$$(mktemp -d) && \
	sed "s#^output:.*#output: $$tmp/openapi.gen.go#" openapi/oapi-codegen.yaml > $$tmp/config.yaml && \
	(cd openapi && $(GO) tool oapi-codegen -config $$tmp/config.yaml openapi.yaml) && \
	if ! diff -q openapi/openapi.gen.go $$tmp/openapi.gen.go >/dev/null; then \
	  echo "openapi/openapi.gen.go is stale: run 'make generate' and commit the result"; \
	  diff -u openapi/openapi.gen.go $$tmp/openapi.gen.go | head -40; rm -rf $$tmp; exit 1; \
	fi; rm -rf $$tmp; echo "generated code is current"

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt would change the files above"; exit 1; }

## test: vet, the generated-code check and every test with the race
## detector, against TEST_DATABASE_URL or, when it is not set, a private
## PostgreSQL cluster under .understudy/test-pg.
test: vet check-generated build
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(GO) test -race -count=1 ./... ; \
	else \
	  $(BIN) dev-postgres --dir $(TESTPG) -- $(GO) test -race -count=1 ./... ; \
	fi

## bench: Go benchmarks and the load driver (figures in bench/README.md).
bench: build
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(GO) test -run '^$$' -bench . -benchmem ./... && $(GO) run ./bench/load && $(GO) run ./bench/lease ; \
	else \
	  $(BIN) dev-postgres --dir $(TESTPG) -- sh -c '$(GO) test -run "^$$" -bench . -benchmem ./... && $(GO) run ./bench/load && $(GO) run ./bench/lease' ; \
	fi

clean:
	rm -rf bin
