# Understudy. `make run` serves on development defaults; `make test` runs
# every check. Both work on a fresh machine with Go and PostgreSQL's
# binaries installed; `make test` needs Node.js and npm too, and Chromium for
# the web console's browser tests and the Playwright examples (see README.md).

GO      ?= go
BIN     := bin/understudy
TESTPG  := .understudy/test-pg

.PHONY: all build run test vet generate check-generated lint-openapi check-alerts check-policy playwright-deps axe jaeger bench load clean

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

## lint-openapi: the contracts (openapi/openapi.yaml, openapi/app-webhook.yaml,
## openapi/destination-webhook.yaml)
## linted by Redocly CLI under openapi/redocly.yaml. The CLI is pinned by
## tools/openapi-lint/package-lock.json and installed once, with `npm ci`,
## into tools/openapi-lint/node_modules; it is installed again only when the
## pin changes.
LINT_DIR  := tools/openapi-lint
LINT_DONE := $(LINT_DIR)/node_modules/.installed
REDOCLY   := $(CURDIR)/$(LINT_DIR)/node_modules/.bin/redocly
# Fails, saying what to install, unless node and npm are on the PATH and node
# is a version the pinned Redocly CLI runs on (its package's engines field).
NEED_NODE := command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "lint-openapi needs Node.js and npm on the PATH: install them (Debian: apt-get install nodejs npm), then run make again"; exit 1; }; \
	node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
	  if (!(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19))) { \
	    console.error("lint-openapi: Redocly CLI needs Node.js 20.19+ or 22.12+; this is " + process.version + ": install a newer Node.js"); process.exit(1) }'

lint-openapi: $(LINT_DONE)
	@$(NEED_NODE)
	cd openapi && REDOCLY_SUPPRESS_NOTIFICATIONS=true $(REDOCLY) lint --config redocly.yaml openapi.yaml app-webhook.yaml destination-webhook.yaml

$(LINT_DONE): $(LINT_DIR)/package.json $(LINT_DIR)/package-lock.json
	@$(NEED_NODE)
	cd $(LINT_DIR) && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

## playwright-deps: the Playwright fixture's packages (examples/playwright),
## pinned by its package-lock.json and installed once, with `npm ci`, into
## examples/playwright/node_modules; again only when the pin changes. Then the
## fixture is built (`npm run build`: TypeScript to JavaScript and type
## declarations in examples/playwright/dist), since `npm ci --ignore-scripts`
## runs no prepare script. No browser is downloaded: the examples run Debian's
## Chromium (/usr/bin/chromium, or CHROMIUM_PATH). The Go tests in
## cmd/understudy run them: TestPlaywrightExamples from the directory, and
## TestPlaywrightPackage from the tarball that `npm pack` makes, installed into
## a fresh project and run there with two workers.
PW_DIR  := examples/playwright
PW_DONE := $(PW_DIR)/node_modules/.installed

playwright-deps: $(PW_DONE)
	cd $(PW_DIR) && npm run build

$(PW_DONE): $(PW_DIR)/package.json $(PW_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "playwright-deps needs Node.js and npm on the PATH: install them (Debian: apt-get install nodejs npm), then run make again"; exit 1; }
	cd $(PW_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

## axe: axe-core, which the console's browser tests inject into every page
## to check WCAG 2.1 A and AA, pinned by tools/axe/package-lock.json and
## installed once, with `npm ci`, into tools/axe/node_modules; again only when
## the pin changes. The tests find it there (or at AXE_CORE_PATH).
AXE_DIR  := tools/axe
AXE_DONE := $(AXE_DIR)/node_modules/.installed

axe: $(AXE_DONE)

$(AXE_DONE): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "axe needs Node.js and npm on the PATH: install them (Debian: apt-get install nodejs npm), then run make again"; exit 1; }
	cd $(AXE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline
	@touch $@

## jaeger: the Jaeger binary (cmd/jaeger, the all-in-one of Jaeger v2) that
## the end-to-end tracing test sends spans to and queries, pinned by the
## tools module tools/jaeger (its go.mod and go.sum) and built once into
## .understudy/jaeger/<hash of them>/jaeger; again only when the pin
## changes. A cold build compiles some 2,300 packages: minutes on two
## cores, so it runs before the tests rather than inside them. Outside CI a
## build that fails is reported and the test skips; under CI=true it fails.
JAEGER_KEY := $(shell cat tools/jaeger/go.mod tools/jaeger/go.sum 2>/dev/null | sha256sum | cut -c1-16)
JAEGER_BIN := .understudy/jaeger/$(JAEGER_KEY)/jaeger

jaeger: $(JAEGER_BIN)

$(JAEGER_BIN): tools/jaeger/go.mod tools/jaeger/go.sum
	@mkdir -p $(@D)
	@echo "jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger from tools/jaeger (once per pin)"
	@start=$$(date +%s); \
	if (cd tools/jaeger && $(GO) build -o $(CURDIR)/$@.tmp github.com/jaegertracing/jaeger/cmd/jaeger); then \
	  mv $@.tmp $@; echo "jaeger: built in $$(( $$(date +%s) - start ))s"; \
	else \
	  rm -f $@.tmp; \
	  if [ "$$CI" = true ]; then echo "jaeger: the build failed"; exit 1; fi; \
	  echo "jaeger: the build failed; TestALeaseIsOneTraceInJaeger will try again, then skip"; \
	fi

## check-policy: the example policy over show -json (examples/spec/policy),
## run by OPA's Go API in a module of its own, so that OPA's dependencies
## stay out of Understudy's.
check-policy:
	cd examples/spec/policy && $(GO) vet ./... && $(GO) test -count=1 ./...

## check-alerts: the example alerting rules (examples/prometheus: the sync
## rules and the flow rules) checked and
## unit-tested by promtool when it is on the PATH. Without it the target says
## so and passes: the Go tests in cmd/understudy check the rules' structure
## and metric names in any case.
ALERTS := examples/prometheus
check-alerts:
	@if command -v promtool >/dev/null 2>&1; then \
	  promtool check rules $(ALERTS)/understudy-alerts.yml $(ALERTS)/understudy-flow-alerts.yml && \
	  promtool test rules $(ALERTS)/understudy-alerts.test.yml $(ALERTS)/understudy-flow-alerts.test.yml; \
	else \
	  echo "check-alerts: promtool is not on the PATH, skipped (the Go tests still check the rules; Debian: apt-get install prometheus)"; \
	fi

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt would change the files above"; exit 1; }

## test: vet, the generated-code check, the contract lint, the alert rules' check and every test with
## the race detector (the Playwright examples among them), against
## TEST_DATABASE_URL or, when it is not set, a private PostgreSQL cluster
## under .understudy/test-pg. Four parallel tests a package (twice the cores): most of them wait on
## servers, PostgreSQL and browsers, not on the CPU. Each test server's pool holds at most 5
## connections, so that the whole run stays under 80 of PostgreSQL's default 100.
TEST_FLAGS := -race -count=1 -parallel 4 -timeout 25m
test: vet check-generated lint-openapi check-alerts check-policy playwright-deps axe jaeger build
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(GO) test $(TEST_FLAGS) ./... ; \
	else \
	  $(BIN) dev-postgres --dir $(TESTPG) -- $(GO) test $(TEST_FLAGS) ./... ; \
	fi

## bench: Go benchmarks, then every driver through bench/all -full, which ends with
## one RATIO line per target and their table (figures in bench/README.md).
bench: build
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(GO) test -run '^$$' -bench . -benchmem ./... && $(GO) run ./bench/all -full ; \
	else \
	  $(BIN) dev-postgres --dir $(TESTPG) -- sh -c '$(GO) test -run "^$$" -bench . -benchmem ./... && $(GO) run ./bench/all -full' ; \
	fi

clean:
	rm -rf bin
