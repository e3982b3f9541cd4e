# bebpo-gateway: the two commands a newcomer needs are `make run` and `make test`.
# Every target installs what it needs itself (Debian packages via apt when run as root).

GO        ?= go
BIN       := bin/bebpo-gateway
PKG       := ./gateway/cmd/bebpo-gateway
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version.Version=$(VERSION)
FUZZTIME  ?= 20s
STATICCHECK_VERSION ?= v0.8.2
# The Debian package and the container image.
DEB_ARCH       ?= $(shell $(GO) env GOARCH)
DEB_MAINTAINER ?= bebpo-gateway maintainers <bebpo-gateway@maintainers.invalid>
IMAGE          ?= bebpo-gateway:$(VERSION)
# Every file of the package carries the time of the last commit (reproducible builds).
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

# System tools the tests use as independent peers (chromium drives the web
# application in the browser tests; npm installs axe-core for their
# accessibility check).
DEB_TOOLS := xmlsec1:xmlsec1 xmllint:libxml2-utils openssl:openssl java:default-jdk-headless gcc:gcc pkg-config:pkg-config xml2-config:libxml2-dev pdfsig:poppler-utils promtool:prometheus chromium:chromium npm:npm
# Tools outside PATH, as a file pattern: the PostgreSQL server (initdb,
# postgres) lives in /usr/lib/postgresql/<version>/bin, where the
# mailbox/postgres tests (pgtest) look for it; postgresql-common's wrappers
# on PATH do not prove the server is installed.
DEB_FILES := /usr/lib/postgresql/*/bin/postgres:postgresql
# NPM_TOOLS are command:package pairs installed from the npm registry
# under the machine's Node.js: s3rver (MIT) is the S3-compatible server
# the mailbox/s3blobs tests (s3test) start.
NPM_TOOLS := s3rver:s3rver@3.7.1

# Packages whose tests rewrite their golden files with -update.
GOLDEN_PKGS := ./osci/ ./osci/xmlsec/ ./osci/xmlenc/ ./osci/egvp/ ./osci/intermediary/ ./mailbox/ ./gateway/xjustiz/ ./gateway/courts/ ./gateway/evidence/

.PHONY: all run build test test-short lint bench bench-pg fuzz crash crash-pg powercut testdata testdata-pki testdata-check clean deps help deb image

all: build

help:
	@echo "make run       build and run the demo (embedded defaults)"
	@echo "make test      install test tools if missing, run all tests with the race detector"
	@echo "make build     build $(BIN)"
	@echo "make deb       build the Debian package (bin/bebpo-gateway_*.deb): binary, systemd unit, example configuration, manual"
	@echo "make image     build the container image $(IMAGE) with docker (packaging/Containerfile)"
	@echo "make lint      gofmt, go vet, staticcheck"
	@echo "make bench     Go benchmarks, then the whole-process figures beside their floors (bench.json) and 500 idle mailboxes (IDLE_N, IDLE_FOR)"
	@echo "make fuzz      run every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make crash     kill -9 crash test of the real binary"
	@echo "make crash-pg  kill -9 and SIGSTOP test of three gateways on one PostgreSQL database"
	@echo "make powercut  kill -9 with a simulated power cut (FUSE: what was not fsync'd is gone) each time (POWERCUT_N, POWERCUT_CUTS)"
	@echo "make bench-pg  send throughput of one, two and three gateways on one PostgreSQL database (BENCH_PG_N)"
	@echo "make testdata  regenerate every golden file (transcripts, intake entries, C14N, fuzz seeds)"
	@echo "make testdata-pki   issue a new test PKI, then regenerate the golden files"
	@echo "make testdata-check regenerate the golden files and fail if any differs from the committed one"
	@echo "make clean     remove build output"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

run: build
	./$(BIN) demo

# deps installs the Debian packages the tests need when a tool is missing.
deps:
	@missing=""; for t in $(DEB_TOOLS); do \
	  cmd=$${t%%:*}; pkg=$${t##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	for t in $(DEB_FILES); do \
	  pat=$${t%%:*}; pkg=$${t##*:}; \
	  ls $$pat >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing tools, install as root: apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi
	@for t in $(NPM_TOOLS); do \
	  cmd=$${t%%:*}; pkg=$${t##*:}; \
	  command -v $$cmd >/dev/null 2>&1 && continue; \
	  if ! command -v npm >/dev/null 2>&1; then echo "missing npm, install Node.js and npm for $$pkg" >&2; exit 1; fi; \
	  echo "installing: $$pkg"; npm install --global --no-audit --no-fund $$pkg >/dev/null || exit 1; \
	done

test: deps
	$(GO) test -race -count=1 ./...
	cd packaging && $(GO) test -count=1 ./...

# test-short skips the slower interop and end-to-end tests.
test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	cd packaging && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	@# packaging/ builds the gateway as a dependency: its go.sum must follow every new import.
	$(GO) mod tidy -diff && cd packaging && $(GO) mod tidy -diff

bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$${BENCHTIME:-1s} ./... | tee bench.out
	$(GO) run ./gateway/internal/crashtest bench -bin ./$(BIN) -gotest bench.out -json bench.json $${BENCH_FLAGS}
	$(GO) run ./gateway/internal/crashtest idle -bin ./$(BIN) -idle-n $${IDLE_N:-500} -idle-for $${IDLE_FOR:-2m}

fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz

crash: build
	@if [ -x testdata/crash/run.sh ]; then testdata/crash/run.sh ./$(BIN); else echo "no crash test yet"; fi

crash-pg: build
	$(GO) run ./gateway/internal/crashtest crash-pg -bin ./$(BIN) -n $${CRASH_PG_N:-500} -kills $${CRASH_PG_KILLS:-40} $${CRASH_ARGS:-}

# powercut needs /dev/fuse and root (it skips without FUSE).
powercut: build
	$(GO) run ./gateway/internal/crashtest powercut -bin ./$(BIN) -n $${POWERCUT_N:-100} -kills $${POWERCUT_CUTS:-20} $${CRASH_ARGS:-}

bench-pg: build
	$(GO) run ./gateway/internal/crashtest bench-pg -bin ./$(BIN) -bench-n $${BENCH_PG_N:-200}

testdata: deps
	$(GO) test -count=1 $(GOLDEN_PKGS) -update

# The test PKI is input, not output: new keys change every transcript.
testdata-pki: deps
	$(GO) test -count=1 ./certs/ -run TestGeneratePKI -update
	$(MAKE) testdata

testdata-check:
	.ci/testdata-check

# The package is built by packaging/ (its own module, so that the packaging
# library never enters the gateway's build) from a static binary.
deb:
	CGO_ENABLED=1 GOARCH=$(DEB_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/deb/bebpo-gateway $(PKG)
	cd packaging && $(GO) run . --bin ../bin/deb/bebpo-gateway --version '$(VERSION)' --arch $(DEB_ARCH) \
	  --maintainer '$(DEB_MAINTAINER)' --readme ../README.md --out ../bin

image:
	docker build -f packaging/Containerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean:
	rm -rf bin bench.out
	$(GO) clean -testcache
