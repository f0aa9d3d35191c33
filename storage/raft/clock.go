package raft

import "time"

// The lease clock (lease.go) measures how long ago a quorum acknowledged
// this leader. It must never run slow compared with the clocks followers
// use for their election timeouts, and never jump: it is CLOCK_BOOTTIME on
// Linux (counts suspend), else Go's monotonic clock (which, on some
// systems, stops while the machine sleeps; see ADR 0003). One clock is
// chosen for the whole process so readings are always comparable.
var (
	processStart = time.Now()
	_, useBoot   = bootClock()
)

// leaseClock returns the lease clock in nanoseconds from an arbitrary
// origin fixed for the process.
func leaseClock() int64 {
	if useBoot {
		if t, ok := bootClock(); ok {
			return t
		}
	}
	return int64(time.Since(processStart))
}
