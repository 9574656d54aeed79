package handshaketest

// A simulated network's Core nodes run a mix of releases, so that a crawl
// or seeder report over it shows a version mix a user would recognise.

// coreShares are the releases' shares of a network's Core nodes, in
// percent. They are illustrative, not measured: the shape of the user
// agents of reachable nodes that bitnodes.io lists (its leaderboard and
// user-agent chart, 2024-2025), carried forward to releases that have
// since shipped: most nodes on 27 to 29, a growing share on 30, a tail of
// 22 to 26 and of 0.20 and 0.21, and a few running master.
func coreShares() [numCoreReleases]int {
	return [numCoreReleases]int{
		Core0_20: 2, Core0_21: 4,
		Core22: 3, Core23: 2, Core24: 3, Core25: 3, Core26: 6,
		Core27: 17,
		Core28: 12, Core28_3: 5,
		Core29: 9, Core29_1: 15,
		Core30:     18,
		CoreMaster: 1,
	}
}

// CoreMix returns the release of Core node i of a simulated network:
// over any 100 consecutive nodes each release takes exactly its share
// (27.1 17%, 28.1 12%, 28.3 5%, 29.0 9%, 29.1 15%, 30.0 18%, 26.0 6%,
// 0.21.1 4%, 22.0, 24.0.1 and 25.0 3% each, 23.0 and 0.20.1 2% each,
// master 1%), spread so that neighbours differ, node 0 on 27.1. The same
// i always gives the same release; negative i counts as its absolute
// value.
func CoreMix(i int) CoreRelease {
	if i < 0 {
		i = -i
	}
	// 37 is coprime to 100, so i*37 mod 100 visits every slot once per
	// hundred nodes while consecutive nodes land far apart; 23 starts
	// node 0 on the most common release, 27.1.
	slot := ((i%100)*37 + 23) % 100
	shares := coreShares()
	for r := Core0_20; r < numCoreReleases; r++ {
		if slot < shares[r] {
			return r
		}
		slot -= shares[r]
	}
	return DefaultCoreRelease // unreachable: the shares add up to 100
}
