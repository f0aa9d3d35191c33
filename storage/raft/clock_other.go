//go:build !linux

package raft

// bootClock is unavailable off Linux; leaseClock falls back to Go's
// monotonic clock.
func bootClock() (int64, bool) { return 0, false }
