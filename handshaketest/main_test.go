package handshaketest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine a Peer or Seed started outlives
// the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
