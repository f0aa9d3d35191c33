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

// collect lists the targets of every mount some policy (of states) or
// quarantine may reach; a mount no policy's glob can match is not listed
// at all. A mount whose listing fails is skipped (logged): one broken
// mount does not stop the others.
func (s *Scheduler) collect(ctx context.Context, states []*policyState) []target {
	prefixes := make([]string, 0, len(states))
	for _, st := range states {
		prefixes = append(prefixes, literalPrefix(st.p.Match))
	}
	for _, q := range s.quarantine.all() {
		prefixes = append(prefixes, q.Path)
	}
	var out []target
	for _, m := range s.cfg.Mounts() {
		if !reachable(m.Path, prefixes) {
			continue
		}
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

// reachable reports whether a path under mount can start with one of
// prefixes.
func reachable(mount string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(p, mount) || strings.HasPrefix(mount, p) {
			return true
		}
	}
	return false
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

// targetsOf returns the targets st's policy matches.
func targetsOf(all []target, st *policyState) []target {
	idx := indexPolicies([]*policyState{st})
	var out []target
	for i := range all {
		idx.matching(&all[i], func(*policyState) { out = append(out, all[i]) })
	}
	return out
}
