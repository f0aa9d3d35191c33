package raft

import (
	"fmt"

	hraft "github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/storage"
)

// Group commit. Every write goes through Store.propose, which hands a
// proposal to the single proposer goroutine (runProposer). The proposer
// keeps at most maxInflight raft entries in flight; while it waits for a
// slot, proposals queue up, and it then packs everything queued (up to
// MaxCommandSize) into one cmdMulti entry. Under load one raft entry, one
// log fsync and one bbolt commit thus serve many writers; an idle store
// still proposes each write at once, as its own entry.
const (
	// maxInflight is how many entries may be between raft.Apply and their
	// FSM result. 2 keeps the log fsync of one entry overlapping the FSM
	// commit of the previous one.
	maxInflight = 2
	// maxGroup caps how many writes share one entry.
	maxGroup = 4096
	// proposalQueue is the proposal channel's capacity.
	proposalQueue = 4096
)

// proposal is one caller's encoded cmdBatch and where its result goes.
type proposal struct {
	cmd  []byte
	done chan error // buffered: the proposer never blocks on a gone caller
}

// runProposer gathers queued proposals into raft entries until Close.
func (s *Store) runProposer() {
	defer s.wg.Done()
	var carry *proposal // did not fit in the previous entry
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.proposals:
			case <-s.closed:
				return
			}
		}
		select {
		case s.inflight <- struct{}{}:
		case <-s.closed:
			first.done <- storage.ErrClosed
			return
		}
		group := []*proposal{first}
		group, carry = s.gather(group)
		s.submit(group)
	}
}

// gather appends queued proposals to group while they fit in one entry;
// the first one that does not fit is returned as carry.
func (s *Store) gather(group []*proposal) (_ []*proposal, carry *proposal) {
	size := 2*multiOverhead + len(group[0].cmd)
	for len(group) < maxGroup {
		select {
		case p := <-s.proposals:
			if size+multiOverhead+len(p.cmd) > s.cfg.MaxCommandSize {
				return group, p
			}
			size += multiOverhead + len(p.cmd)
			group = append(group, p)
		default:
			return group, nil
		}
	}
	return group, nil
}

// submit proposes group as one raft entry and, in the background, delivers
// each proposal's result and frees the in-flight slot.
func (s *Store) submit(group []*proposal) {
	entry := group[0].cmd
	if len(group) > 1 {
		cmds := make([][]byte, len(group))
		for i, p := range group {
			cmds[i] = p.cmd
		}
		entry = encodeMulti(cmds)
	}
	n := s.node.Load()
	if n == nil { // propose checks writable first; kept for safety
		<-s.inflight
		for _, p := range group {
			p.done <- ErrNotStarted
		}
		return
	}
	f := n.raft.Apply(entry, s.cfg.ApplyTimeout)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := f.Error()
		<-s.inflight
		deliver(group, f, err, s.applyError)
	}()
}

// deliver hands each proposal of a resolved entry its result.
func deliver(group []*proposal, f hraft.ApplyFuture, err error, mapErr func(error) error) {
	if err != nil {
		err = mapErr(err)
		for _, p := range group {
			p.done <- err
		}
		return
	}
	switch r := f.Response().(type) {
	case nil:
		for _, p := range group {
			p.done <- nil
		}
	case error:
		for _, p := range group {
			p.done <- r
		}
	case []error:
		if len(r) != len(group) {
			err := fmt.Errorf("raft: fsm returned %d results for %d writes", len(r), len(group))
			for _, p := range group {
				p.done <- err
			}
			return
		}
		for i, p := range group {
			p.done <- r[i]
		}
	default:
		err := fmt.Errorf("raft: unexpected fsm response %T", r)
		for _, p := range group {
			p.done <- err
		}
	}
}
