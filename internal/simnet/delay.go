package simnet

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// LogUniform draws a delay between lo and hi, log-uniformly: as many
// nodes answer within 20–40 ms as within 200–400 ms, as paths across the
// Internet spread. hi when lo is not positive or not below hi.
func LogUniform(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if lo <= 0 || hi <= lo {
		return hi
	}
	return time.Duration(float64(lo) * math.Exp(rng.Float64()*math.Log(float64(hi)/float64(lo))))
}

// SetDelays gives each of cfgs a Delay (the wait before a node answers the
// client's version) drawn by LogUniform between DefaultDelayMin and
// DefaultDelayMax, the same for the same number of configurations.
func SetDelays(cfgs []handshaketest.Config) {
	rng := rand.New(rand.NewPCG(uint64(len(cfgs)), 20))
	for i := range cfgs {
		cfgs[i].Delay = LogUniform(rng, DefaultDelayMin, DefaultDelayMax)
	}
}
