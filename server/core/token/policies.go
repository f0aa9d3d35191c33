package token

import (
	"sort"
	"strings"
)

// sanitizePolicies trims, lowercases, deduplicates and sorts policy names;
// a list holding "root" becomes ["root"]; addDefault appends "default".
func sanitizePolicies(in []string, addDefault bool) []string {
	seen := make(map[string]bool, len(in)+1)
	out := make([]string, 0, len(in)+1)
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == RootPolicy {
			return []string{RootPolicy}
		}
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if addDefault && !seen[DefaultPolicy] {
		out = append(out, DefaultPolicy)
	}
	sort.Strings(out)
	return out
}

// subset reports whether every element of sub is in set.
func subset(set, sub []string) bool {
	have := make(map[string]bool, len(set))
	for _, p := range set {
		have[p] = true
	}
	for _, p := range sub {
		if !have[p] {
			return false
		}
	}
	return true
}
