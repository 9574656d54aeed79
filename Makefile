# The README names `make test`; CI runs it through .ci/run.
GO ?= go

.PHONY: test test-root test-interop vet bench fuzz

test: vet test-root test-interop

vet:
	@test -z "$$(gofmt -l . interop)" || { gofmt -l . interop; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	cd interop && $(GO) vet ./...

test-root:
	$(GO) test -race -count=1 ./...

# The interop module builds the real btcd node from the Go module proxy and
# runs it on loopback.
test-interop:
	cd interop && $(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd interop && $(GO) test -run '^$$' -bench . -benchmem ./...
