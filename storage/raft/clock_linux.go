//go:build linux

package raft

import "golang.org/x/sys/unix"

// bootClock reads CLOCK_BOOTTIME: monotonic, and unlike CLOCK_MONOTONIC
// (Go's time.Since) it keeps counting while the machine is suspended, so
// a leader whose host slept finds its lease expired on wake-up.
func bootClock() (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, false
	}
	return ts.Nano(), true
}
