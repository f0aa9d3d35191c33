package rotation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// maxMissedSlots bounds the search for the latest slot missed while no
// node was active (only that one runs).
const maxMissedSlots = 100000

// nextSlot is the earliest next slot of all policies (zero: none).
func (s *Scheduler) nextSlot() time.Time {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	var next time.Time
	for _, st := range s.snapshot() {
		if !st.next.IsZero() && (next.IsZero() || st.next.Before(next)) {
			next = st.next
		}
	}
	return next
}

// resume finishes the slots a previous active node committed but did
// not complete: only the secrets not rotated since the slot started.
func (s *Scheduler) resume(ctx context.Context) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for _, st := range s.snapshot() {
		if st.p.Schedule == "" {
			continue
		}
		last, found, err := s.slotOf(ctx, st.p.Name)
		if err != nil {
			s.cfg.Logger.Error("rotation: cannot read a slot", "policy", st.p.Name, "error", err)
			continue
		}
		if found && !last.Done {
			s.cfg.Logger.Info("rotation: resuming a slot a previous active node started", "policy", st.p.Name, "slot", last.Slot)
			s.runSlot(ctx, st, last)
		}
	}
}

// runDueSlots runs every policy whose next slot is due at now. Of the
// slots missed (no node was active), only the latest runs.
func (s *Scheduler) runDueSlots(ctx context.Context, now time.Time) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for _, st := range s.snapshot() {
		if st.next.IsZero() || st.next.After(now) || ctx.Err() != nil {
			continue
		}
		sched, err := parseSchedule(st.p.Schedule)
		if err != nil {
			continue
		}
		slot := st.next
		for i := 0; i < maxMissedSlots; i++ {
			n := sched.Next(slot)
			if n.After(now) {
				break
			}
			slot = n
		}
		st.next = sched.Next(slot)
		s.runSlot(ctx, st, slotState{Slot: slot, Started: s.now()})
	}
}

// runSlot commits the slot's fence, rotates every matched secret not
// rotated since the slot started, and marks the slot done. A fence that
// cannot be committed (no longer the leader) runs nothing.
func (s *Scheduler) runSlot(ctx context.Context, st *policyState, slot slotState) {
	slot.Done = false
	if err := s.commitSlot(ctx, st.p.Name, slot); err != nil {
		s.cfg.Logger.Error("rotation: cannot commit a slot; not rotating", "policy", st.p.Name, "slot", slot.Slot, "error", err)
		return
	}
	for _, t := range targetsOf(s.collect(ctx, []*policyState{st}), st) {
		if ctx.Err() != nil {
			return
		}
		if !t.last.Before(slot.Started) {
			continue // rotated since the slot started (by a previous node)
		}
		s.rotate(ctx, st, t, ReasonScheduled, slot.Slot)
	}
	slot.Done = true
	if err := s.commitSlot(ctx, st.p.Name, slot); err != nil {
		s.cfg.Logger.Error("rotation: cannot mark a slot done", "policy", st.p.Name, "error", err)
	}
}

// rotate rotates one secret for policy st, audited and recorded; a
// failure is handled as the policy's on_failure says. It reports
// success.
func (s *Scheduler) rotate(ctx context.Context, st *policyState, t target, reason string, slot time.Time) bool {
	p := st.p
	var res logical.RotationResult
	err := s.cfg.Audit(ctx, Action{Kind: "rotate", Policy: p.Name, Path: t.full, Reason: reason}, func() (string, error) {
		var err error
		res, err = t.mount.Rotator.Rotate(ctx, t.mount.Storage, t.rel)
		return res.Version, err
	})
	run := Run{Slot: slot, Policy: p.Name, Path: t.full, Reason: reason, Result: ResultSuccess, Version: res.Version}
	if err != nil {
		run.Result, run.Error = ResultFailure, err.Error()
		s.record(ctx, run)
		s.failed(ctx, st, t, err)
		return false
	}
	s.record(ctx, run)
	st.settled(t.full)
	if q, ok := s.quarantine.get(t.full); ok {
		s.lift(ctx, q, "rotated")
	}
	s.cfg.Logger.Info("rotation: secret rotated", "policy", p.Name, "path", t.full, "reason", reason, "version", res.Version)
	return true
}

// failed handles a failed rotation (or drift) as on_failure says;
// retries always back off, whatever the mode.
func (s *Scheduler) failed(ctx context.Context, st *policyState, t target, cause error) {
	p := st.p
	r := st.retries[t.full]
	r.attempts++
	d := s.cfg.RetryBase << min(r.attempts-1, 20)
	r.next = s.now().Add(min(d, s.cfg.RetryMax))
	st.retries[t.full] = r
	s.cfg.Logger.Warn("rotation: rotation failed", "policy", p.Name, "path", t.full, "attempt", r.attempts, "error", cause)
	ev := event{Event: ResultFailure, Policy: p.Name, Path: t.full, Error: cause.Error(), AttemptNo: r.attempts}
	switch p.OnFailure {
	case EnforceNotify:
		s.notify(p, ev)
	case EnforceQuarantine:
		s.quarantineTarget(ctx, p, t, "rotation failed: "+cause.Error())
	default:
		s.notify(p, ev)
	}
}

// RunNow runs policy name's rotation now, fenced as a slot.
func (s *Scheduler) RunNow(ctx context.Context, name string) error {
	if _, err := s.active(); err != nil {
		return err
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.mu.Lock()
	st := s.policies[name]
	s.mu.Unlock()
	if st == nil {
		return fmt.Errorf("rotation: policy %q: %w", name, logical.ErrNotFound)
	}
	now := s.now()
	s.runSlot(ctx, st, slotState{Slot: now, Started: now})
	return nil
}

// RotateNow rotates the secret at full path by hand (vaultctl secrets
// rotate), for every policy matching it or none; the caller's request
// is audited by the pipeline. It lifts its quarantine.
func (s *Scheduler) RotateNow(ctx context.Context, full string) (logical.RotationResult, error) {
	if _, err := s.active(); err != nil {
		return logical.RotationResult{}, err
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	var t *target
	for _, m := range s.cfg.Mounts() { // the longest mount prefix owns the path
		if strings.HasPrefix(full, m.Path) && (t == nil || len(m.Path) > len(t.mount.Path)) {
			t = &target{mount: m, rel: strings.TrimPrefix(full, m.Path), full: full}
		}
	}
	if t == nil || t.rel == "" {
		return logical.RotationResult{}, fmt.Errorf("%w: %s is not a secret any engine can rotate", logical.ErrNotFound, full)
	}
	res, err := t.mount.Rotator.Rotate(ctx, t.mount.Storage, t.rel)
	if err != nil {
		return res, fmt.Errorf("rotation: rotate %s: %w", full, err)
	}
	for _, st := range s.snapshot() {
		if st.p.Matches(full, t.mount.Type, nil) {
			s.record(ctx, Run{Policy: st.p.Name, Path: full, Reason: ReasonManual, Result: ResultSuccess, Version: res.Version})
			st.settled(full)
		}
	}
	if q, ok := s.quarantine.get(full); ok {
		s.lift(ctx, q, "rotated by hand")
	}
	return res, nil
}
