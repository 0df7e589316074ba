# The two commands: `make demo` runs the demo, `make test` runs the tests.
GO ?= go
PREFIX ?= /usr/local

.PHONY: all build demo test test-short fuzz install clean

all: build

build:
	$(GO) build ./...

demo:
	./scripts/demo.sh

# vet, then every test with the race detector (end-to-end tests start real
# irmd and IPCP processes in private run directories).
# scripts/test-needs.sh says, before and after, which tests this machine skips
# (not root, no iproute2 or nftables) and what to install.
test:
	@./scripts/test-needs.sh
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 40m ./...
	O7S_TEST_DATAPATH=socket $(GO) test -count=1 -timeout 30m ./e2e/ ./flow/
	@./scripts/test-needs.sh

test-short:
	$(GO) test -count=1 ./...

# A short run of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

# The benchmark harness: Ouroboros flows next to the kernel, results in
# bench/out/, ignored by git (see bench/run).
.PHONY: bench
bench:
	GO=$(GO) ./bench/run

install:
	GOBIN=$(PREFIX)/bin $(GO) install ./cmd/...

clean:
	$(GO) clean ./...
