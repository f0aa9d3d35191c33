package raft

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
)

// Leader lease for local reads (docs/adr/0003-read-consistency.md).
//
// A lease is held for one raft term and expires at S + d, where d is
// Config.ReadLeaseDuration (shorter than the heartbeat timeout) and S is
// the send time of the AppendEntries that the quorum-th most recent voter
// acknowledged in that term (the leader itself counting as "now"). Every
// voter that acknowledged at or after S processed that message at or
// after S, so it neither starts an election nor votes for another
// candidate before S + HeartbeatTimeout; any new leader needs a vote from
// one of them, so none exists before S + d. All times are leaseClock
// readings (monotonic, counting suspend), so a paused process (SIGSTOP)
// or a host that slept finds its lease expired on resume.

// lease is an immutable read lease; Store.lease holds the current one.
type lease struct {
	term   uint64
	expiry int64 // leaseClock nanoseconds
}

// now returns the lease clock (clock.go).
func (s *Store) now() int64 { return leaseClock() }

// VerifyRead returns nil when a read served from this node's local state
// right now is linearizable: this node is the leader, it has applied every
// entry committed before its term began, and it holds a leader lease or
// has just confirmed leadership with a quorum (a round trip, which also
// renews the lease). It returns an error wrapping ErrNotLeader on a
// follower or when leadership is lost, ErrNotStarted before Start.
//
// "Right now" is the catch: if the process stalls between VerifyRead and
// the read for longer than the lease has left (SIGSTOP, a long GC or
// swap pause), the read may see entries a newer leader committed that
// this cluster's later reads may not see yet. LinearizableRead closes that
// window by confirming again after the read.
func (s *Store) VerifyRead(ctx context.Context) error {
	_, err := s.verifyRead(ctx)
	return err
}

// LinearizableRead runs read, which must only read this node's local
// state (Get, List), such that what it read is linearizable: VerifyRead
// before, and after it the lease must still cover the moment read
// returned, or a quorum must confirm this node's leadership with messages
// sent after that moment. Errors are read's own or those of VerifyRead;
// on an error other than read's, the caller must discard what read read.
func (s *Store) LinearizableRead(ctx context.Context, read func() error) error {
	term, err := s.verifyRead(ctx)
	if err != nil {
		return err
	}
	if err := read(); err != nil {
		return err
	}
	n := s.node.Load()
	done := s.now()
	if s.leaseValid(n, term) {
		return nil
	}
	return s.confirmSince(ctx, n, term, done)
}

// verifyRead is VerifyRead, returning the term it verified.
func (s *Store) verifyRead(ctx context.Context) (uint64, error) {
	n, err := s.started()
	if err != nil {
		return 0, err
	}
	if n.raft.State() != hraft.Leader {
		return 0, s.notLeader()
	}
	term := n.raft.CurrentTerm()
	if s.leaseValid(n, term) {
		return term, nil
	}
	return term, s.refreshLease(ctx, n, term)
}

// leaseValid reports whether this node leads term and holds its lease.
func (s *Store) leaseValid(n *node, term uint64) bool {
	l := s.lease.Load()
	return l != nil && l.term == term && s.now() < l.expiry &&
		n.raft.State() == hraft.Leader && n.raft.CurrentTerm() == term
}

// refreshLease makes sure this leader has applied every entry of earlier
// terms, then confirms its leadership of term with a quorum (renewing the
// lease).
func (s *Store) refreshLease(ctx context.Context, n *node, term uint64) error {
	if s.readyTerm.Load() != term {
		// A new leader has every committed entry in its log but not yet in
		// its FSM: a barrier in this term applies them all.
		if err := s.wait(ctx, n.raft.Barrier(s.cfg.ApplyTimeout)); err != nil {
			return fmt.Errorf("raft: verify read: barrier: %w", s.applyError(err))
		}
		if n.raft.CurrentTerm() != term {
			return fmt.Errorf("raft: verify read: term changed: %w", s.notLeader())
		}
		s.readyTerm.Store(term)
	}
	return s.confirmSince(ctx, n, term, s.now())
}

// confirmSince repeats confirm until it succeeds or fails for good. Each
// round triggers fresh heartbeats, so the second one normally succeeds.
func (s *Store) confirmSince(ctx context.Context, n *node, term uint64, since int64) error {
	for {
		err := s.confirm(ctx, n, term, since)
		if !errors.Is(err, errUnconfirmed) {
			return err
		}
	}
}

// errUnconfirmed: VerifyLeader succeeded on acknowledgements older than
// wanted (raft also counts replies to messages already in flight); the
// caller asks again, which sends fresh heartbeats.
var errUnconfirmed = errors.New("raft: leadership not confirmed by fresh acknowledgements")

// confirm asks raft to verify leadership (raft VerifyLeader, heartbeats to
// every peer) and then checks, from the acknowledgements the transport
// recorded, that a quorum acknowledged this node as leader of term with
// messages sent at or after since: no other leader can then have been
// elected before since. It renews the lease from the same figures.
func (s *Store) confirm(ctx context.Context, n *node, term uint64, since int64) error {
	if err := s.wait(ctx, n.raft.VerifyLeader()); err != nil {
		return fmt.Errorf("raft: verify read: %w", s.applyError(err))
	}
	if n.raft.CurrentTerm() != term {
		return fmt.Errorf("raft: verify read: term changed: %w", s.notLeader())
	}
	f := n.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: verify read: %w", s.applyError(err))
	}
	var voters []hraft.ServerID
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == hraft.Voter {
			voters = append(voters, srv.ID)
		}
	}
	start, ok := n.acks.quorumStart(hraft.ServerID(s.cfg.NodeID), voters, term, s.now())
	if !ok || start < since {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("raft: verify read: %w", err)
		}
		return errUnconfirmed
	}
	s.grantLease(term, start)
	return nil
}

// grantLease installs a lease for term from a quorum acknowledgement time,
// unless leases are disabled or a leadership transfer started in term.
func (s *Store) grantLease(term uint64, start int64) {
	if s.cfg.ReadLeaseDuration <= 0 {
		return
	}
	l := &lease{term: term, expiry: start + int64(s.cfg.ReadLeaseDuration)}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.transferTerm.Load() == term {
		return
	}
	if old := s.lease.Load(); old != nil && old.term == term && old.expiry >= l.expiry {
		return
	}
	s.lease.Store(l)
}

// dropLease forgets the lease and refuses new ones for term (a leadership
// transfer lets another node win an election at once).
func (s *Store) dropLease(term uint64) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	s.transferTerm.Store(term)
	s.lease.Store(nil)
}

// leadershipChanged runs on the watcher goroutine for each LeaderCh value.
func (s *Store) leadershipChanged(isLeader bool) {
	if !isLeader {
		s.leaseMu.Lock()
		s.lease.Store(nil)
		s.leaseMu.Unlock()
	}
	select {
	case s.leaseWake <- struct{}{}:
	default:
	}
}

// runLease renews the lease every ReadLeaseDuration/3 while this node
// leads, so that VerifyRead rarely needs a round trip.
func (s *Store) runLease(n *node) {
	defer s.wg.Done()
	d := s.cfg.ReadLeaseDuration
	if d <= 0 {
		return
	}
	tick := time.NewTicker(d / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-tick.C:
		case <-s.leaseWake:
		}
		if n.raft.State() != hraft.Leader {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
		if err := s.refreshLease(ctx, n, n.raft.CurrentTerm()); err != nil {
			s.logger.Debug("raft: lease refresh failed", "error", err)
		}
		cancel()
	}
}

// waitVoteSafe delays Start of a node that has raft state until a lease
// duration has passed since New. A restarted process forgets the leader
// it acknowledged and would vote at once; waiting keeps it from helping
// elect a new leader while a lease it supported may still be held.
func (s *Store) waitVoteSafe(ctx context.Context) error {
	d := s.cfg.ReadLeaseDuration
	if d <= 0 {
		return nil
	}
	has, err := hraft.HasExistingState(s.wal, s.wal, s.snaps)
	if err != nil {
		return fmt.Errorf("raft: start: %w", err)
	}
	wait := time.Duration(s.openedAt + int64(d) - s.now())
	if !has || wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("raft: start: %w", ctx.Err())
	}
}

// ackTracker records, per peer, the send time of the latest AppendEntries
// (heartbeats included) that the peer acknowledged as from its leader.
type ackTracker struct {
	mu   sync.Mutex
	acks map[hraft.ServerID]ack
}

type ack struct {
	term uint64
	sent int64 // leaseClock nanoseconds
}

func newAckTracker() *ackTracker {
	return &ackTracker{acks: make(map[hraft.ServerID]ack)}
}

func (t *ackTracker) record(id hraft.ServerID, term uint64, sent int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.acks[id]; a.term < term || (a.term == term && a.sent < sent) {
		t.acks[id] = ack{term: term, sent: sent}
	}
}

// quorumStart returns the quorum-th most recent acknowledgement send time
// of term among voters, counting self (the leader) as now; ok is false
// when fewer than a quorum acknowledged in term.
func (t *ackTracker) quorumStart(self hraft.ServerID, voters []hraft.ServerID, term uint64, now int64) (int64, bool) {
	if len(voters) == 0 {
		return 0, false
	}
	times := make([]int64, 0, len(voters))
	t.mu.Lock()
	for _, id := range voters {
		if id == self {
			times = append(times, now)
		} else if a, ok := t.acks[id]; ok && a.term == term {
			times = append(times, a.sent)
		}
	}
	t.mu.Unlock()
	quorum := len(voters)/2 + 1
	if len(times) < quorum {
		return 0, false
	}
	slices.Sort(times)
	slices.Reverse(times)
	return times[quorum-1], true
}

// leaseTransport is raft's network transport, recording successful
// AppendEntries for the lease (raft sends heartbeats this way).
type leaseTransport struct {
	*hraft.NetworkTransport
	acks *ackTracker
}

// AppendEntries implements raft.Transport.
func (t *leaseTransport) AppendEntries(id hraft.ServerID, target hraft.ServerAddress, args *hraft.AppendEntriesRequest, resp *hraft.AppendEntriesResponse) error {
	sent := leaseClock()
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil && resp.Success && resp.Term == args.Term {
		t.acks.record(id, args.Term, sent)
	}
	return err
}
