package rotation

import (
	"context"
	"strings"
	"time"
)

// target is one rotatable secret of one mount, with full paths.
type target struct {
	mount      Mount
	rel        string // relative to the mount
	full       string // mount path + rel
	last       time.Time
	tags       map[string]string
	guards     []string // full paths
	verifiable bool
}

// collect lists every mount's targets. A mount whose listing fails is
// skipped (logged): one broken mount does not stop the others.
func (s *Scheduler) collect(ctx context.Context) []target {
	var out []target
	for _, m := range s.cfg.Mounts() {
		ts, err := m.Rotator.RotationTargets(ctx, m.Storage)
		if err != nil {
			s.cfg.Logger.Error("rotation: cannot list a mount's secrets", "mount", m.Path, "error", err)
			continue
		}
		for _, t := range ts {
			g := make([]string, len(t.Guards))
			for i, p := range t.Guards {
				g[i] = m.Path + p
			}
			out = append(out, target{mount: m, rel: t.Path, full: m.Path + t.Path, last: t.LastRotated,
				tags: t.Tags, guards: g, verifiable: t.Verifiable})
		}
	}
	return out
}

// literalPrefix is a glob's part before its first "*".
func literalPrefix(glob string) string {
	if i := strings.IndexByte(glob, '*'); i >= 0 {
		return glob[:i]
	}
	return glob
}

// policyIndex finds the policies that may match a path by their
// literal prefix, so that matching n secrets against m policies costs
// about n × (path length) map lookups instead of n × m globs.
type policyIndex map[string][]*policyState

func indexPolicies(states []*policyState) policyIndex {
	idx := policyIndex{}
	for _, st := range states {
		pre := literalPrefix(st.p.Match)
		idx[pre] = append(idx[pre], st)
	}
	return idx
}

// matching calls fn for every policy matching t.
func (idx policyIndex) matching(t *target, fn func(*policyState)) {
	for i := 0; i <= len(t.full); i++ {
		for _, st := range idx[t.full[:i]] {
			if st.p.Matches(t.full, t.mount.Type, t.tags) {
				fn(st)
			}
		}
	}
}

// snapshot returns the policy states, for a pass outside s.mu.
func (s *Scheduler) snapshot() []*policyState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*policyState, 0, len(s.policies))
	for _, st := range s.policies {
		out = append(out, st)
	}
	return out
}

// targetsOf returns the targets p matches.
func targetsOf(all []target, st *policyState) []target {
	idx := indexPolicies([]*policyState{st})
	var out []target
	for i := range all {
		idx.matching(&all[i], func(*policyState) { out = append(out, all[i]) })
	}
	return out
}
