package cli

import (
	"testing"

	"go.uber.org/goleak"
)

// The network flags start Tor and I2P dialers, and the tests proxies and
// networks: none may outlive its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
