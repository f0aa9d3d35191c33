package rotation

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// quarantineSet is the quarantined secrets, read on every request: an
// immutable guard index, swapped whole.
type quarantineSet struct {
	mu      sync.Mutex // serialises writers
	entries map[string]quarantineEntry
	guards  atomic.Pointer[guardIndex]
}

// guardIndex finds the quarantine guarding a full request path. A guard
// that is the secret's own path (a KV secret) guards exactly that path;
// any other (transit's sign/<key>) also guards the paths below it
// (sign/<key>/sha2-256).
type guardIndex struct {
	exact, prefix map[string]*quarantineEntry
}

// find returns the entry guarding full, or nil.
func (g *guardIndex) find(full string) *quarantineEntry {
	if e := g.exact[full]; e != nil {
		return e
	}
	for p := full; ; {
		if e := g.prefix[p]; e != nil {
			return e
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return nil
		}
		p = p[:i]
	}
}

// replace installs entries (nil: none).
func (q *quarantineSet) replace(entries []quarantineEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = map[string]quarantineEntry{}
	for _, e := range entries {
		q.entries[e.Path] = e
	}
	q.publish()
}

// publish rebuilds the guard map from entries (under mu).
func (q *quarantineSet) publish() {
	if len(q.entries) == 0 {
		q.guards.Store(nil)
		return
	}
	g := &guardIndex{exact: map[string]*quarantineEntry{}, prefix: map[string]*quarantineEntry{}}
	for _, e := range q.entries {
		e := e
		for _, p := range e.Guards {
			if p == e.Path {
				g.exact[p] = &e
			} else {
				g.prefix[p] = &e
			}
		}
	}
	q.guards.Store(g)
}

func (q *quarantineSet) add(e quarantineEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries[e.Path] = e
	q.publish()
}

func (q *quarantineSet) remove(path string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.entries, path)
	q.publish()
}

func (q *quarantineSet) get(path string) (quarantineEntry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[path]
	return e, ok
}

func (q *quarantineSet) all() []quarantineEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]quarantineEntry, 0, len(q.entries))
	for _, e := range q.entries {
		out = append(out, e)
	}
	return out
}

func (q *quarantineSet) byPolicy(policy string) []quarantineEntry {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []quarantineEntry
	for _, e := range q.entries {
		if e.Policy == policy {
			out = append(out, e)
		}
	}
	return out
}

// Quarantined refuses a request on a quarantined secret's guarded path
// with a 403 naming the policy — for every token, root included (it is
// a property of the secret, not an authorization decision). A write to
// the secret's own path (a new KV version: a rotation by hand) passes.
// It costs one atomic load when nothing is quarantined.
func (s *Scheduler) Quarantined(full string, op logical.Operation) error {
	g := s.quarantine.guards.Load()
	if g == nil {
		return nil
	}
	e := g.find(full)
	if e == nil {
		return nil
	}
	if full == e.Path && (op == logical.CreateOperation || op == logical.UpdateOperation || op == logical.PatchOperation) {
		return nil
	}
	return &logical.CodedError{Status: 403, Message: fmt.Sprintf(
		"secret %s is quarantined by rotation policy %q since %s: %s; rotate it to lift the quarantine",
		e.Path, e.Policy, e.Since.UTC().Format("2006-01-02T15:04:05Z"), e.Reason)}
}

// quarantineTarget quarantines t (persisted first) and audits it.
func (s *Scheduler) quarantineTarget(ctx context.Context, p *Policy, t target, reason string) {
	if _, ok := s.quarantine.get(t.full); ok {
		return
	}
	e := quarantineEntry{Path: t.full, Guards: t.guards, Policy: p.Name, Reason: reason, Since: s.now()}
	err := s.cfg.Audit(ctx, Action{Kind: ResultQuarantine, Policy: p.Name, Path: t.full, Reason: reason}, func() (string, error) {
		return "", s.putJSON(ctx, quarantineKey(t.full), e)
	})
	if err != nil {
		s.cfg.Logger.Error("rotation: cannot quarantine a secret", "policy", p.Name, "path", t.full, "error", err)
		return
	}
	s.quarantine.add(e)
	s.record(ctx, Run{Policy: p.Name, Path: t.full, Reason: reason, Result: ResultQuarantine})
	s.notify(p, event{Event: ResultQuarantine, Policy: p.Name, Path: t.full, Error: reason})
	s.cfg.Logger.Warn("rotation: secret quarantined", "policy", p.Name, "path", t.full, "reason", reason)
}

// lift ends a quarantine (the secret was rotated, or its policy went).
func (s *Scheduler) lift(ctx context.Context, e quarantineEntry, reason string) {
	err := s.cfg.Audit(ctx, Action{Kind: ResultLift, Policy: e.Policy, Path: e.Path, Reason: reason}, func() (string, error) {
		return "", s.cfg.Storage.Delete(ctx, quarantineKey(e.Path))
	})
	if err != nil {
		s.cfg.Logger.Error("rotation: cannot lift a quarantine", "policy", e.Policy, "path", e.Path, "error", err)
		return
	}
	s.quarantine.remove(e.Path)
	s.record(ctx, Run{Policy: e.Policy, Path: e.Path, Reason: reason, Result: ResultLift})
}
