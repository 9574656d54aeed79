package interop

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain stops every btcd process and removes the build once the tests are
// done, then fails the run if any goroutine outlived its test: btcd's peer
// package and the library must both clean up after a handshake.
func TestMain(m *testing.M) {
	if os.Getenv(responderEnv) == "1" {
		runV2Responder() // the benchmarks' responder process
	}
	goleak.VerifyTestMain(stopNodesAfter{m})
}

// stopNodesAfter runs the tests, then stops what they left running, before
// goleak looks at goroutines and the process exits.
type stopNodesAfter struct{ m *testing.M }

func (s stopNodesAfter) Run() int {
	defer stopAllNodes()
	return s.m.Run()
}
