package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// settled forgets the retries and reported episodes of a rotated secret.
func (st *policyState) settled(full string) {
	delete(st.retries, full)
	delete(st.warned, "warn:"+full)
	delete(st.warned, "overdue:"+full)
}

// checkPass is the periodic pass: it lifts the quarantines of rotated
// secrets, retries failed rotations that are due, enforces max_age and
// warn_at, verifies drift where due, and refreshes the metrics.
func (s *Scheduler) checkPass(ctx context.Context) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	states := s.snapshot()
	all := s.collect(ctx, states)
	s.liftRotated(ctx, all)
	idx := indexPolicies(states)
	matched := make(map[*policyState][]target, len(states))
	for i := range all {
		idx.matching(&all[i], func(st *policyState) { matched[st] = append(matched[st], all[i]) })
	}
	now := s.now()
	for _, st := range states {
		if ctx.Err() != nil {
			return
		}
		s.checkPolicy(ctx, st, matched[st], now)
	}
}

// liftRotated lifts the quarantine of every secret rotated (or written)
// since it was quarantined, or gone.
func (s *Scheduler) liftRotated(ctx context.Context, all []target) {
	entries := s.quarantine.all()
	if len(entries) == 0 {
		return
	}
	byPath := make(map[string]*target, len(all))
	for i := range all {
		byPath[all[i].full] = &all[i]
	}
	for _, e := range entries {
		switch t := byPath[e.Path]; {
		case t == nil:
			s.lift(ctx, e, "secret gone")
		case t.last.After(e.Since):
			s.lift(ctx, e, "rotated")
		}
	}
}

// checkPolicy enforces one policy on its matched secrets.
func (s *Scheduler) checkPolicy(ctx context.Context, st *policyState, ts []target, now time.Time) {
	p := st.p
	verify := p.VerifyInterval > 0 && now.Sub(st.lastVerify) >= p.VerifyInterval
	if verify {
		st.lastVerify = now
	}
	var oldest time.Duration
	overdue := 0
	for _, t := range ts {
		age := now.Sub(t.last)
		oldest = max(oldest, age)
		if r, ok := st.retries[t.full]; ok && p.OnFailure == OnFailureRetry {
			if !now.Before(r.next) {
				s.rotate(ctx, st, t, ReasonRetry, time.Time{})
			}
			continue
		}
		switch {
		case p.MaxAge > 0 && age >= p.MaxAge:
			overdue++
			s.overdue(ctx, st, t, age)
		case p.WarnAt > 0 && age >= p.WarnAt && !st.warned["warn:"+t.full]:
			st.warned["warn:"+t.full] = true
			s.report(ctx, st, t, ResultWarn, age)
		}
		if verify && t.verifiable {
			s.verify(ctx, st, t)
		}
	}
	s.mu.Lock()
	ps := s.stats[p.Name]
	if ps == nil {
		ps = &PolicyStats{Runs: map[string]int64{}}
		s.stats[p.Name] = ps
	}
	ps.OldestAge, ps.Overdue = oldest, overdue
	s.mu.Unlock()
}

// overdue enforces max_age on one secret.
func (s *Scheduler) overdue(ctx context.Context, st *policyState, t target, age time.Duration) {
	p := st.p
	switch p.Enforce {
	case EnforceRotate:
		s.rotate(ctx, st, t, ReasonOverdue, time.Time{})
	case EnforceQuarantine:
		if _, ok := s.quarantine.get(t.full); !ok {
			s.quarantineTarget(ctx, p, t, fmt.Sprintf("older than its max_age of %s", p.MaxAge))
		}
	default:
		if !st.warned["overdue:"+t.full] {
			st.warned["overdue:"+t.full] = true
			s.report(ctx, st, t, ResultOverdue, age)
		}
	}
}

// report audits, records and notifies a warning or an overdue secret.
func (s *Scheduler) report(ctx context.Context, st *policyState, t target, kind string, age time.Duration) {
	p := st.p
	_ = s.cfg.Audit(ctx, Action{Kind: kind, Policy: p.Name, Path: t.full, Reason: "age " + age.Round(time.Second).String()},
		func() (string, error) { return "", nil })
	s.record(ctx, Run{Policy: p.Name, Path: t.full, Reason: kind, Result: kind})
	ev := event{Event: kind, Policy: p.Name, Path: t.full, AgeSecs: int64(age / time.Second),
		MaxAge: int64(p.MaxAge / time.Second), WarnAt: int64(p.WarnAt / time.Second)}
	if p.MaxAge > 0 {
		ev.DueSecs = int64((p.MaxAge - age) / time.Second)
	}
	s.notify(p, ev)
}

// verify checks one secret for drift and handles drift as on_failure
// says: retry rotates it now, notify tells, quarantine quarantines.
func (s *Scheduler) verify(ctx context.Context, st *policyState, t target) {
	err := t.mount.Rotator.Verify(ctx, t.mount.Storage, t.rel)
	switch {
	case err == nil, errors.Is(err, logical.ErrUnsupportedOperation):
		return
	case !errors.Is(err, logical.ErrDrift):
		s.cfg.Logger.Warn("rotation: cannot verify a secret", "policy", st.p.Name, "path", t.full, "error", err)
		return
	}
	p := st.p
	_ = s.cfg.Audit(ctx, Action{Kind: ResultDrift, Policy: p.Name, Path: t.full, Reason: err.Error()},
		func() (string, error) { return "", nil })
	s.record(ctx, Run{Policy: p.Name, Path: t.full, Reason: ReasonDrift, Result: ResultDrift, Error: err.Error()})
	s.cfg.Logger.Warn("rotation: drift detected", "policy", p.Name, "path", t.full, "error", err)
	switch p.OnFailure {
	case OnFailureRetry:
		s.rotate(ctx, st, t, ReasonDrift, time.Time{})
	case EnforceQuarantine:
		s.quarantineTarget(ctx, p, t, "drift: "+err.Error())
	default:
		s.notify(p, event{Event: ResultDrift, Policy: p.Name, Path: t.full, Error: err.Error()})
	}
}
