# The README names `make test`; CI runs it through .ci/run.
GO ?= go
# staticcheck runs from the module proxy at a pinned version, so a fresh
# machine needs nothing installed by hand.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test check-tree test-root test-examples test-interop vet bench fuzz screenshot api

test: check-tree vet test-root test-examples test-interop

# Build output must never be committed again: fails on any tracked file
# over 1 MB and any tracked executable that is not a script.
check-tree:
	perl .ci/check-tree

vet:
	@test -z "$$(gofmt -l . interop)" || { gofmt -l . interop; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	cd examples && $(GO) vet ./...
	cd interop && $(GO) vet ./...
	$(STATICCHECK) ./...
	cd examples && $(STATICCHECK) ./...
	cd interop && $(STATICCHECK) ./...

test-root:
	$(GO) test -race -count=1 ./...

# The programs are a module of their own (examples/go.mod), so that their
# heavier dependencies never become requirements of the library's importers;
# go.work lets `go run ./examples/...` work from the repository's root.
test-examples:
	cd examples && $(GO) test -race -count=1 ./...

# The interop module builds the real btcd node from the Go module proxy and
# runs it on loopback.
test-interop:
	cd interop && $(GO) test -race -count=1 ./...

# interop's BenchmarkV2 fails when Dial's allocations per handshake pass
# their limits (docs/handshake-performance.md); timings are reported only.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd examples && $(GO) test -run '^$$' -bench . -benchmem ./...
	cd interop && $(GO) test -run '^$$' -bench . -benchmem ./...

# Runs every fuzz target of the library and the programs, one after
# another, for FUZZTIME each (go test -fuzz takes one target at a time).
# Failing inputs are written to the package's testdata/fuzz/<FuzzName>/,
# which the normal test run replays.
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" as FUZZTIME runs out (go.dev/issue/75804, fixed in Go 1.27):
# that alone, with no failing input written, is reported and not fatal.
FUZZTIME ?= 30s
fuzz:
	@set -e; out=$$(mktemp); trap 'rm -f "$$out" "$$out.rc"' EXIT; \
	for pkg in $$($(GO) list ./... && cd examples && $(GO) list ./...); do \
		list=$$($(GO) test -list '^Fuzz' $$pkg); \
		for target in $$(echo "$$list" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			{ $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg && echo 0 >"$$out.rc" || echo 1 >"$$out.rc"; } 2>&1 | tee "$$out"; \
			if [ "$$(cat "$$out.rc")" != 0 ]; then \
				if grep -q 'Failing input written' "$$out" || ! grep -qx '    context deadline exceeded' "$$out"; then exit 1; fi; \
				echo "== $$target: ignoring the coordinator's end-of-run deadline error (go.dev/issue/75804); no failing input"; \
			fi; \
		done; \
	done

# Shows how the library module's exported API differs from API_BASE (the
# last tag, else origin/main, else main), as golang.org/x/exp/cmd/apidiff
# reports it: the base is exported with git archive into a temporary
# directory, so the worktree is left alone. Not part of `make test`: a
# change to the API is a decision to review, not a failure.
APIDIFF ?= golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4
API_BASE ?= $(shell git describe --tags --abbrev=0 2>/dev/null || { git rev-parse -q --verify origin/main >/dev/null && echo origin/main; } || echo main)
MODULE := github.com/bitcoin-handshake/handshake
api:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir "$$tmp/base"; git archive "$(API_BASE)" | tar -x -C "$$tmp/base"; \
	echo "== API of $(MODULE) since $(API_BASE) ($$(git rev-parse --short "$(API_BASE)")), working tree included"; \
	(cd "$$tmp/base" && GOWORK=off $(GO) run $(APIDIFF) -m -w "$$tmp/old" $(MODULE)); \
	GOWORK=off $(GO) run $(APIDIFF) -m -w "$$tmp/new" $(MODULE); \
	GOWORK=off $(GO) run $(APIDIFF) -m "$$tmp/old" "$$tmp/new"
# Regenerates docs/report.png, the picture in docs/report.md: the
# browser test renders a demo sweep and crawl in headless Chromium and saves
# the full page.
screenshot:
	mkdir -p docs
	cd examples && $(GO) test -count=1 -run '^TestReportInBrowser$$' ./internal/report -args -screenshot=$(CURDIR)/docs/report.png
