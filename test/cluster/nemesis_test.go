package cluster

import (
	"context"
	"fmt"
	"time"
)

// fault is one kind of failure the nemesis injects and then undoes.
type fault int

const (
	faultKillLeader      fault = iota // SIGKILL the active node, restart and unseal it
	faultPause                        // SIGSTOP a node (round robin), SIGCONT it
	faultPartitionLeader              // cut the active node from the majority, heal
)

func (f fault) String() string {
	return [...]string{"kill-leader", "pause", "partition-leader"}[f]
}

// nemesis injects faults in rotation until its context ends: each fault
// holds for Hold, then is undone, then the cluster gets Quiet to recover.
type nemesis struct {
	c      *Cluster
	faults []fault
	hold   time.Duration
	quiet  time.Duration
	logf   func(format string, args ...any)
	rounds int
}

// run loops until ctx is done and returns the first error (a fault it
// could not inject or undo, or no leader when one was needed). It always
// undoes the fault in progress before it returns.
func (n *nemesis) run(ctx context.Context) error {
	for round := 0; ctx.Err() == nil; round++ {
		f := n.faults[round%len(n.faults)]
		if err := n.inject(f, round); err != nil {
			return fmt.Errorf("nemesis round %d (%v): %w", round, f, err)
		}
		n.rounds++
		select {
		case <-ctx.Done():
		case <-time.After(n.quiet):
		}
	}
	return nil
}

// inject applies one fault for n.hold and undoes it.
func (n *nemesis) inject(f fault, round int) error {
	switch f {
	case faultPause:
		target := round / len(n.faults) % len(n.c.Nodes)
		n.logf("nemesis: pause node%d for %v", target, n.hold)
		if err := n.c.Pause(target); err != nil {
			return err
		}
		time.Sleep(n.hold)
		return n.c.Resume(target)
	case faultKillLeader:
		leader, err := n.c.FindLeader(20 * time.Second)
		if err != nil {
			return err
		}
		n.logf("nemesis: kill -9 leader node%d for %v", leader, n.hold)
		if err := n.c.Kill(leader); err != nil {
			return err
		}
		time.Sleep(n.hold)
		return n.c.Restart(leader)
	case faultPartitionLeader:
		leader, err := n.c.FindLeader(20 * time.Second)
		if err != nil {
			return err
		}
		n.logf("nemesis: partition leader node%d from %v for %v", leader, n.c.Others(leader), n.hold)
		n.c.Partition([]int{leader}, n.c.Others(leader))
		time.Sleep(n.hold)
		n.c.Heal()
		return nil
	}
	return fmt.Errorf("unknown fault %d", f)
}
