package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain stops every btcd process and removes the build once the tests are
// done, then fails the run if any goroutine outlived its test: btcd's peer
// package and the library must both clean up after a handshake.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(stopNodesAfter{m})
}

// stopNodesAfter runs the tests, then stops what they left running, before
// goleak looks at goroutines and the process exits.
type stopNodesAfter struct{ m *testing.M }

func (s stopNodesAfter) Run() int {
	defer stopAllNodes()
	return s.m.Run()
}
