package main

import "time"

// DefaultRetest is how often a node that answers is visited again, and the
// first step of the back-off for one that does not.
const DefaultRetest = 15 * time.Minute

// maxBackoffSteps caps the doubling: a node failing without end is visited
// every 64 DefaultRetest (16 hours), or less often when sipa's ignore time
// says so.
const maxBackoffSteps = 6

// schedule decides when a node is visited next.
type schedule struct {
	retest time.Duration // default DefaultRetest
}

// next returns the time of the next visit of r, which was just visited:
// new addresses are due at once (add sets that), nodes that answered every
// retest, failing ones after retest doubled by each failure in a row (up
// to 2^maxBackoffSteps), or sipa's ignore time when longer. u in [0,1)
// spreads visits by ±10% so that nodes found together are not visited
// together forever.
func (s schedule) next(r *record, now time.Time, u float64) time.Time {
	base := s.interval()
	wait := base
	if r.FailuresInRow > 0 {
		wait = base << min(r.FailuresInRow-1, maxBackoffSteps)
		wait = max(wait, r.ignoreTime())
	}
	wait = time.Duration(float64(wait) * (0.9 + 0.2*u))
	return now.Add(wait)
}

// interval is the re-test interval.
func (s schedule) interval() time.Duration {
	if s.retest <= 0 {
		return DefaultRetest
	}
	return s.retest
}
