# pipelined — make help lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X pipelined/internal/cli.version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: help build deps gitea test bench demo lint tidy install clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build pipelined, pipeline-watch and pipeline-build into bin/ (static: they start faster)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

deps: ## install the Debian packages the tests and the demo need, if missing
	scripts/install-deps.sh

gitea: deps ## build the Gitea the forge tests run against, once into a cache (5 to 30 minutes the first time)
	scripts/gitea.sh >/dev/null

# gitea comes before go test, so that its first build is not counted in the tests' timeout.
test: deps gitea ## gofmt and go vet, then every test (end-to-end included) with the race detector
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# -parallel 8: the end-to-end tests mostly wait on real processes, each in its own directories
	PIPELINED_E2E_LOAD=apart $(GO) test -race -count=1 -parallel 8 -timeout 20m ./...
	@# The end-to-end tests that bound a time run apart, beside a CPU hog (internal/e2e/load_test.go)
	PIPELINED_E2E_LOAD=hog $(GO) test -race -count=1 -timeout 10m ./internal/e2e

bench: deps build ## Go benchmarks of the hot code, then scripts/bench: the table of docs/performance.md
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./scripts/bench -bin bin -out bench-results.json

demo: ## build a throwaway repository with the real daemon (everything in ./demo)
	scripts/demo.sh

lint: ## gofmt (must list nothing), go vet, staticcheck if installed
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; fi

tidy: ## fail if go mod tidy would change go.mod or go.sum
	$(GO) mod tidy -diff

install: build ## install binaries, man pages, the systemd unit, webhook files, notification callbacks and an example config (PREFIX, DESTDIR)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/pipelined/webhook $(DESTDIR)$(PREFIX)/share/pipelined/notify
	install -m 755 bin/pipelined bin/pipeline-watch bin/pipeline-build scripts/webhook/pipelined-webhook $(DESTDIR)$(PREFIX)/bin/
	@# --generate-man-pages MANDIR writes MANDIR/man1/*.1; pipelined also MANDIR/man5/pipelined.ini.5
	for b in pipelined pipeline-watch pipeline-build; do bin/$$b --generate-man-pages $(DESTDIR)$(PREFIX)/share/man || exit 1; done
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' scripts/pipelined.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/pipelined.service
	install -m 644 scripts/webhook/hooks.json $(DESTDIR)$(PREFIX)/share/pipelined/webhook/
	install -m 644 scripts/pipelined.ini.example $(DESTDIR)$(PREFIX)/share/pipelined/
	install -m 755 scripts/notify/mail scripts/notify/chat $(DESTDIR)$(PREFIX)/share/pipelined/notify/
	install -m 644 scripts/notify/build-facts.awk $(DESTDIR)$(PREFIX)/share/pipelined/notify/

clean: ## remove bin/
	rm -rf bin
