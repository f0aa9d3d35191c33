package rotation

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// Status returns the standing of every secret a policy matches, sorted
// by path then policy: its age against the policy's max_age and warn_at
// (ok, warn, overdue, quarantined) and the policy's next slot.
func (s *Scheduler) Status(ctx context.Context) ([]SecretStatus, error) {
	if _, err := s.active(); err != nil {
		return nil, err
	}
	states := s.snapshot()
	all := s.collect(ctx, states)
	idx := indexPolicies(states)
	now := s.now()
	s.runMu.Lock()
	next := make(map[*policyState]time.Time, len(states))
	for _, st := range states {
		next[st] = st.next
	}
	s.runMu.Unlock()
	var out []SecretStatus
	for i := range all {
		t := &all[i]
		idx.matching(t, func(st *policyState) {
			out = append(out, s.statusOf(st.p, t, now, next[st]))
		})
	}
	slices.SortFunc(out, func(a, b SecretStatus) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Policy, b.Policy)
	})
	return out, nil
}

func (s *Scheduler) statusOf(p *Policy, t *target, now, next time.Time) SecretStatus {
	age := now.Sub(t.last)
	st := SecretStatus{Path: t.full, Policy: p.Name, LastRotated: t.last, Age: age,
		MaxAge: p.MaxAge, WarnAt: p.WarnAt, State: StateOK, NextRotation: next}
	if p.MaxAge > 0 {
		st.Due = t.last.Add(p.MaxAge)
	}
	switch q, ok := s.quarantine.get(t.full); {
	case ok && q.Policy == p.Name:
		st.State = StateQuarantined
	case p.MaxAge > 0 && age >= p.MaxAge:
		st.State = StateOverdue
	case p.WarnAt > 0 && age >= p.WarnAt:
		st.State = StateWarn
	}
	return st
}

// Stats returns every policy's metrics (zero values before its first
// age check), keyed by policy name; empty when not active.
func (s *Scheduler) Stats() map[string]PolicyStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]PolicyStats, len(s.policies))
	for name := range s.policies {
		ps := PolicyStats{Runs: map[string]int64{}}
		if x := s.stats[name]; x != nil {
			ps = PolicyStats{Runs: maps.Clone(x.Runs), OldestAge: x.OldestAge, Overdue: x.Overdue}
		}
		out[name] = ps
	}
	return out
}
