package hcl

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// step is one way a path decides a request, in Vault's order of lookup
// (OpenBao ACL.AllowOperation): an earlier step always wins over a later.
type step uint8

const (
	// stepExact: an exact path equal to the request path.
	stepExact step = iota
	// stepExactList: a list of "P/" decided by the exact path P.
	stepExactList
	// stepMatch: a glob matching the request path, highest priority
	// first.
	stepMatch
	// stepMatchList: a list of "x/" decided by a "+" glob (without "*")
	// matching "x", when no glob matches "x/" itself.
	stepMatchList
)

// keyInfo is one distinct policy path across the compiled set.
type keyInfo struct {
	pat  *pattern
	head string // pat.head()
	// owners are the policies with a rule on the path, sorted; sudo
	// those of them granting sudo; caps each owner's capabilities.
	owners []string
	sudo   []string
	caps   map[string]capSet
}

func (k *keyInfo) owns(pol string) bool { _, ok := k.caps[pol]; return ok }

// decidesAlike reports whether, whenever k decides and some owner is
// held, the outcome is what a stray rule granting ops (on sudo requests
// too, if sudo) would give: every owner denies, or grants all of ops
// (and sudo). Such a k need not be named in that rule's unless clause.
func (k *keyInfo) decidesAlike(deny bool, ops capSet, sudo bool) bool {
	for _, c := range k.caps {
		switch {
		case c&capDeny != 0:
		case deny:
			return false
		case c&ops != ops || (sudo && c&capSudo == 0):
			return false
		}
	}
	return true
}

// term is a path that overrides another when it applies and one of its
// owners is held.
type term struct {
	q   *keyInfo
	how step
}

type stepKey struct {
	key string
	s   step
}

// compiler holds the set's distinct paths, indexed by their literal head
// so that the paths able to overlap a given one are found without
// comparing all pairs.
type compiler struct {
	policies map[string]*Policy
	keys     map[string]*keyInfo
	sorted   []*keyInfo // by head
	byHead   map[string][]*keyInfo
	cache    map[stepKey][]term
	// decides are the (path, step) pairs enforcing their priority with
	// their own vetoes (unless Options.UnlessOnly): permits do not name
	// them.
	decides map[stepKey]bool
}

func newCompiler(policies map[string]*Policy, opts Options) *compiler {
	c := &compiler{policies: policies, keys: map[string]*keyInfo{},
		byHead: map[string][]*keyInfo{}, cache: map[stepKey][]term{}, decides: map[stepKey]bool{}}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		for _, r := range policies[name].Rules {
			k := c.keys[r.Path]
			if k == nil {
				k = &keyInfo{pat: r.pat, head: r.pat.head(), caps: map[string]capSet{}}
				c.keys[r.Path] = k
				c.sorted = append(c.sorted, k)
				c.byHead[k.head] = append(c.byHead[k.head], k)
			}
			k.owners = append(k.owners, name)
			k.caps[name] = r.caps
			if r.caps&capSudo != 0 {
				k.sudo = append(k.sudo, name)
			}
		}
	}
	sort.Slice(c.sorted, func(i, j int) bool {
		hi, hj := c.sorted[i].head, c.sorted[j].head
		if hi != hj {
			return hi < hj
		}
		return c.sorted[i].pat.text < c.sorted[j].pat.text
	})
	if !opts.UnlessOnly {
		c.chooseDeciders(opts.force)
	}
	return c
}

// candidates calls f with every path whose head is comparable with h
// (one a prefix of the other): the only paths that can overlap a
// pattern of head h.
func (c *compiler) candidates(h string, f func(*keyInfo)) {
	i := sort.Search(len(c.sorted), func(i int) bool { return c.sorted[i].head >= h })
	for ; i < len(c.sorted) && strings.HasPrefix(c.sorted[i].head, h); i++ {
		f(c.sorted[i])
	}
	for n := range len(h) {
		for _, k := range c.byHead[h[:n]] {
			f(k)
		}
	}
}

// overriders are the paths that decide instead of k when they apply at
// step s: every earlier step, and within the glob steps the
// higher-priority globs. Only paths that can overlap k are listed.
func (c *compiler) overriders(k *keyInfo, s step) []term {
	sk := stepKey{k.pat.text, s}
	if t, ok := c.cache[sk]; ok {
		return t
	}
	var out []term
	switch s {
	case stepExactList:
		if q := c.keys[k.pat.text+"/"]; q != nil && q.pat.kind == kindExact {
			out = append(out, term{q, stepExact})
		}
	case stepMatch, stepMatchList:
		out = c.globOverriders(k, s)
	}
	c.cache[sk] = out
	return out
}

func (c *compiler) globOverriders(k *keyInfo, s step) []term {
	kp := k.pat
	if s == stepMatchList {
		kp = k.pat.withSlash()
	}
	var out []term
	c.candidates(k.head, func(q *keyInfo) {
		if q == k {
			return
		}
		switch {
		case q.pat.kind == kindExact:
			if overlaps(kp, q.pat) {
				out = append(out, term{q, stepExact})
			}
			if overlaps(kp, exactPattern(q.pat.text+"/")) {
				out = append(out, term{q, stepExactList})
			}
		case s == stepMatch:
			if higher(q.pat, kp) && overlaps(kp, q.pat) {
				out = append(out, term{q, stepMatch})
			}
		default: // stepMatchList: any glob matching "x/" wins, then better fallbacks
			if overlaps(kp, q.pat) {
				out = append(out, term{q, stepMatch})
			}
			if isListFallback(q.pat) && higher(q.pat, k.pat) && overlaps(kp, q.pat.withSlash()) {
				out = append(out, term{q, stepMatchList})
			}
		}
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].q.pat.text != out[j].q.pat.text {
			return out[i].q.pat.text < out[j].q.pat.text
		}
		return out[i].how < out[j].how
	})
	return out
}

// isListFallback: the pattern can decide at stepMatchList.
func isListFallback(p *pattern) bool { return p.kind == kindSegment && !p.prefix }

// steps are the steps at which a rule can decide and has an effect:
// list steps only for deny or the list capability.
func (r *Rule) steps() []step {
	list := r.caps&(capList|capDeny) != 0
	var out []step
	switch r.pat.kind {
	case kindExact:
		out = append(out, stepExact)
		if list {
			out = append(out, stepExactList)
		}
	default:
		out = append(out, stepMatch)
		if list && isListFallback(r.pat) {
			out = append(out, stepMatchList)
		}
	}
	return out
}

// documents renders one Cedar document per policy.
func (c *compiler) documents() map[string]string {
	out := make(map[string]string, len(c.policies))
	for name, p := range c.policies {
		var b strings.Builder
		b.WriteString("// Cedar compiled from the Vault HCL ACL policy " + quote(name) + ".\n")
		b.WriteString("// It applies to tokens holding the policy; recompile when any HCL policy changes.\n")
		for i := range p.Rules {
			c.writeRule(&b, name, &p.Rules[i])
		}
		out[name] = b.String()
	}
	return out
}
