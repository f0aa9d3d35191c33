package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// getJSON reads key into v; found=false when absent.
func (s *Scheduler) getJSON(ctx context.Context, key string, v any) (bool, error) {
	e, err := s.cfg.Storage.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("rotation: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("rotation: decode %s: %w", key, err)
	}
	return true, nil
}

// putJSON writes v at key (a raft apply on a clustered node).
func (s *Scheduler) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rotation: encode %s: %w", key, err)
	}
	if err := s.cfg.Storage.Put(ctx, &storage.Entry{Key: key, Value: b}); err != nil {
		return fmt.Errorf("rotation: write %s: %w", key, err)
	}
	return nil
}

// PutPolicy validates and stores p (an API write) and schedules it.
func (s *Scheduler) PutPolicy(ctx context.Context, p *Policy) error {
	pr, err := s.active()
	if err != nil {
		return err
	}
	p.withDefaults()
	p.Source = "api"
	if err := p.Validate(); err != nil {
		return err
	}
	var old Policy
	found, err := s.getJSON(ctx, policyKey(p.Name), &old)
	if err != nil {
		return err
	}
	if found && old.Source == "config" {
		return fmt.Errorf("%w: %w: %s can only be changed there", logical.ErrInvalidRequest, ErrDeclared, p)
	}
	if err := s.putJSON(ctx, policyKey(p.Name), p); err != nil {
		return err
	}
	if !found || old.Schedule != p.Schedule { // else the committed slots stand
		if err := s.baseline(ctx, p); err != nil {
			return err
		}
	}
	st, err := s.newState(ctx, p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.policies[p.Name] = st
	s.mu.Unlock()
	pr.poke()
	return nil
}

// GetPolicy returns the stored policy (webhook secrets included: the
// caller redacts); ErrNotFound when absent.
func (s *Scheduler) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	var p Policy
	found, err := s.getJSON(ctx, policyKey(name), &p)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("rotation: policy %q: %w", name, logical.ErrNotFound)
	}
	return &p, nil
}

// DeletePolicy removes an API policy, its slot state and history; its
// quarantines are lifted.
func (s *Scheduler) DeletePolicy(ctx context.Context, name string) error {
	if _, err := s.active(); err != nil {
		return err
	}
	p, err := s.GetPolicy(ctx, name)
	if errors.Is(err, logical.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Source == "config" {
		return fmt.Errorf("%w: %w: %s can only be removed there", logical.ErrInvalidRequest, ErrDeclared, p)
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if err := s.cfg.Storage.Delete(ctx, policyKey(name)); err != nil {
		return fmt.Errorf("rotation: delete policy: %w", err)
	}
	_ = s.cfg.Storage.Delete(ctx, slotKey(name))
	if keys, err := s.cfg.Storage.List(ctx, historyDir(name)); err == nil {
		for _, k := range keys {
			_ = s.cfg.Storage.Delete(ctx, historyDir(name)+k)
		}
	}
	s.mu.Lock()
	delete(s.policies, name)
	delete(s.stats, name)
	s.mu.Unlock()
	for _, q := range s.quarantine.byPolicy(name) {
		s.lift(ctx, q, "policy deleted")
	}
	return nil
}

// ListPolicies returns the policy names, sorted.
func (s *Scheduler) ListPolicies(ctx context.Context) ([]string, error) {
	keys, err := s.cfg.Storage.List(ctx, policyPrefix)
	if err != nil {
		return nil, fmt.Errorf("rotation: list policies: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

// installDeclared stores the configuration's policies and removes
// configuration policies no longer declared.
func (s *Scheduler) installDeclared(ctx context.Context) error {
	declared := map[string]bool{}
	for _, p := range s.cfg.Declared {
		declared[p.Name] = true
		var old Policy
		found, err := s.getJSON(ctx, policyKey(p.Name), &old)
		if err != nil {
			return err
		}
		if err := s.putJSON(ctx, policyKey(p.Name), p); err != nil {
			return err
		}
		if !found || old.Schedule != p.Schedule {
			if err := s.baseline(ctx, p); err != nil {
				return err
			}
		}
	}
	names, err := s.ListPolicies(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if declared[n] {
			continue
		}
		p, err := s.GetPolicy(ctx, n)
		if err == nil && p.Source == "config" {
			if err := s.cfg.Storage.Delete(ctx, policyKey(n)); err != nil {
				return fmt.Errorf("rotation: remove undeclared policy %s: %w", n, err)
			}
		}
	}
	return nil
}

// loadPolicies reads every policy and its slot state.
func (s *Scheduler) loadPolicies(ctx context.Context) (map[string]*policyState, error) {
	names, err := s.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*policyState, len(names))
	for _, n := range names {
		p, err := s.GetPolicy(ctx, n)
		if err != nil {
			return nil, err
		}
		if out[n], err = s.newState(ctx, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newState computes p's next slot from its committed slot state: the
// slot after the last committed one (which may be past: a slot missed
// while no node was active runs at once, once).
func (s *Scheduler) newState(ctx context.Context, p *Policy) (*policyState, error) {
	st := &policyState{p: p, retries: map[string]retryState{}, warned: map[string]bool{}}
	if p.Schedule == "" {
		return st, nil
	}
	sched, err := parseSchedule(p.Schedule)
	if err != nil {
		return nil, fmt.Errorf("rotation: %s: %w", p, err)
	}
	var last slotState
	found, err := s.getJSON(ctx, slotKey(p.Name), &last)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if !found {
		st.next = sched.Next(now)
		return st, nil
	}
	st.next = sched.Next(last.Slot)
	return st, nil
}

// baseline commits a done slot at now for a new (or rescheduled)
// policy, so that its first slots are counted from its creation on every
// node: a slot that falls due while no node is active still runs once on
// the next one.
func (s *Scheduler) baseline(ctx context.Context, p *Policy) error {
	if p.Schedule == "" {
		return nil
	}
	now := s.now()
	return s.commitSlot(ctx, p.Name, slotState{Slot: now, Started: now, Done: true})
}

// record appends r to its policy's history (trimmed to historyKeep)
// and counts it.
func (s *Scheduler) record(ctx context.Context, r Run) {
	s.mu.Lock()
	// Sequence numbers follow the clock (nanoseconds), strictly rising on
	// this node, so that a new active node needs no scan of the history
	// to go on numbering after the last one.
	s.seq = max(s.seq+1, uint64(time.Now().UnixNano()))
	r.Seq = s.seq
	st := s.stats[r.Policy]
	if st == nil {
		st = &PolicyStats{Runs: map[string]int64{}}
		s.stats[r.Policy] = st
	}
	st.Runs[r.Result]++
	st.recorded++
	trim := st.recorded%32 == 0
	s.mu.Unlock()
	if r.Time.IsZero() {
		r.Time = s.cfg.Now()
	}
	if err := s.putJSON(ctx, historyKey(r.Policy, r.Seq), r); err != nil {
		s.cfg.Logger.Error("rotation: cannot record a run", "policy", r.Policy, "path", r.Path, "error", err)
		return
	}
	if trim {
		s.trimHistory(ctx, r.Policy)
	}
}

// trimHistory keeps the last historyKeep runs of policy.
func (s *Scheduler) trimHistory(ctx context.Context, policy string) {
	keys, err := s.cfg.Storage.List(ctx, historyDir(policy))
	if err != nil || len(keys) <= historyKeep {
		return
	}
	slices.Sort(keys)
	for _, k := range keys[:len(keys)-historyKeep] {
		_ = s.cfg.Storage.Delete(ctx, historyDir(policy)+k)
	}
}

// History returns policy's recorded runs, oldest first.
func (s *Scheduler) History(ctx context.Context, policy string) ([]Run, error) {
	if _, err := s.GetPolicy(ctx, policy); err != nil {
		return nil, err
	}
	keys, err := s.cfg.Storage.List(ctx, historyDir(policy))
	if err != nil {
		return nil, fmt.Errorf("rotation: list history: %w", err)
	}
	slices.Sort(keys)
	out := make([]Run, 0, len(keys))
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		var r Run
		if found, err := s.getJSON(ctx, historyDir(policy)+k, &r); err != nil {
			return nil, err
		} else if found {
			out = append(out, r)
		}
	}
	return out, nil
}

// commitSlot writes the fence of a slot (or its completion).
func (s *Scheduler) commitSlot(ctx context.Context, policy string, st slotState) error {
	return s.putJSON(ctx, slotKey(policy), st)
}

// slotOf reads policy's committed slot state.
func (s *Scheduler) slotOf(ctx context.Context, policy string) (slotState, bool, error) {
	var st slotState
	found, err := s.getJSON(ctx, slotKey(policy), &st)
	return st, found, err
}

// loadQuarantine reads the quarantined secrets.
func (s *Scheduler) loadQuarantine(ctx context.Context) ([]quarantineEntry, error) {
	keys, err := s.cfg.Storage.List(ctx, quarantinePrefix)
	if err != nil {
		return nil, fmt.Errorf("rotation: list quarantine: %w", err)
	}
	out := make([]quarantineEntry, 0, len(keys))
	for _, k := range keys {
		var q quarantineEntry
		if found, err := s.getJSON(ctx, quarantinePrefix+k, &q); err != nil {
			return nil, err
		} else if found {
			out = append(out, q)
		}
	}
	return out, nil
}

// now is the scheduler's clock.
func (s *Scheduler) now() time.Time { return s.cfg.Now() }
