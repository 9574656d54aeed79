package crawl_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// mainnetChildEnv names the file where BenchmarkMainnet, run again inside
// its namespace, writes its figures.
const mainnetChildEnv = "MAINNET_BENCH_CHILD_OUT"

// inNamespace makes a network namespace, runs BenchmarkMainnet in it,
// reads the firewall's record of the dead addresses tried, and removes the
// namespace (and its rules with it) whatever happened.
func inNamespace(b *testing.B, cfg mainnetConfig) mainnetFigures {
	ns, err := simnet.NewNamespace(fmt.Sprintf("handshake-mainnet-%d", os.Getpid()), cfg.LossPercent)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := ns.Close(); err != nil {
			b.Error(err)
		}
	})

	out := filepath.Join(b.TempDir(), "figures.json")
	cmd := ns.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkMainnet$", "-test.benchtime=1x", "-test.v")
	cmd.Env = append(os.Environ(), mainnetChildEnv+"="+out)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		b.Fatalf("the crawl in namespace %s failed: %v\n%s", ns.Name, err, log.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var m mainnetFigures
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	// Every SYN to a dead address is in the firewall's record, by source
	// port: one per connection attempt.
	perAddr, err := ns.DeadAttempts()
	if err != nil {
		b.Fatal(err)
	}
	m.DeadSeen = len(perAddr)
	for _, n := range perAddr {
		m.DeadSYNs += n
		m.MostSYNs = max(m.MostSYNs, n)
	}
	return m
}
