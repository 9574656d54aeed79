// Package interop tests github.com/bitcoin-handshake/handshake against real
// node software: the btcd full node, built from the Go module proxy at the
// version pinned in this module's go.mod and run on loopback in regtest, and
// btcd's peer package in-process.
//
// It is a separate module so that the library's own go.mod never depends on
// btcd. Everything lives in the _test.go files; run it with
//
//	cd interop && go test ./...
//	cd interop && go test -run '^$' -bench . -benchmem ./...
package interop
