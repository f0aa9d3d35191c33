package hcl_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/authz/hcl"
)

// refACL is a plain port of Vault's ACL (OpenBao
// internal/vault/policy/acl.go NewACL and AllowOperation), built for one
// token from the policies it holds: three maps, merged by path, looked
// up in Vault's order. It shares no code with the compiler.
type refACL struct {
	exact, prefix, segment map[string]map[string]bool
}

func newRefACL(held []*hcl.Policy) *refACL {
	a := &refACL{exact: map[string]map[string]bool{}, prefix: map[string]map[string]bool{}, segment: map[string]map[string]bool{}}
	for _, p := range held {
		for _, r := range p.Rules {
			tree, key := a.exact, r.Path
			switch {
			case r.Path == "+" || strings.Contains(r.Path, "/+") || strings.HasPrefix(r.Path, "+/"):
				tree = a.segment
			case strings.HasSuffix(r.Path, "*"):
				tree, key = a.prefix, strings.TrimSuffix(r.Path, "*")
			}
			caps := tree[key]
			if caps == nil {
				caps = map[string]bool{}
				tree[key] = caps
			}
			if caps["deny"] {
				continue
			}
			for _, c := range r.Capabilities {
				caps[c] = true
			}
			if caps["deny"] {
				clear(caps)
				caps["deny"] = true
			}
		}
	}
	return a
}

// allowed is AllowOperation for the operations and sudo check we model.
func (a *refACL) allowed(op, path string, sudo bool) bool {
	caps, ok := a.exact[path]
	if !ok && op == "list" {
		caps, ok = a.exact[strings.TrimSuffix(path, "/")]
	}
	if !ok {
		caps, ok = a.nonExact(path)
	}
	if !ok && op == "list" && strings.HasSuffix(path, "/") {
		caps, ok = a.nonExact(strings.TrimSuffix(path, "/"))
	}
	if !ok || caps["deny"] {
		return false
	}
	return caps[op] && (!sudo || caps["sudo"])
}

type refCandidate struct {
	firstWC, wildcards int
	isPrefix           bool
	wcPath             string
	caps               map[string]bool
}

// nonExact is CheckAllowedFromNonExactPaths (without bareMount).
func (a *refACL) nonExact(path string) (map[string]bool, bool) {
	var cands []refCandidate
	longest := ""
	found := false
	for p := range a.prefix {
		if strings.HasPrefix(path, p) && (!found || len(p) > len(longest)) {
			longest, found = p, true
		}
	}
	if found {
		cands = append(cands, refCandidate{firstWC: len(longest), isPrefix: true, wcPath: longest, caps: a.prefix[longest]})
	}
	parts := strings.Split(path, "/")
next:
	for full, caps := range a.segment {
		c := refCandidate{firstWC: strings.Index(full, "+"), wcPath: full, caps: caps}
		if strings.HasSuffix(full, "*") {
			c.isPrefix, c.wcPath = true, strings.TrimSuffix(full, "*")
		}
		acl := strings.Split(c.wcPath, "/")
		if len(parts) < len(acl) || (!c.isPrefix && len(parts) != len(acl)) {
			continue
		}
		for i, s := range acl {
			switch {
			case s == "+":
				c.wildcards++
			case s == parts[i]:
			case c.isPrefix && i == len(acl)-1 && strings.HasPrefix(parts[i], s):
			default:
				continue next
			}
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return nil, false
	}
	sort.Slice(cands, func(i, j int) bool {
		x, y := cands[i], cands[j]
		switch {
		case x.firstWC != y.firstWC:
			return x.firstWC < y.firstWC
		case x.isPrefix != y.isPrefix:
			return x.isPrefix
		case x.wildcards != y.wildcards:
			return x.wildcards > y.wildcards
		case len(x.wcPath) != len(y.wcPath):
			return len(x.wcPath) < len(y.wcPath)
		}
		return x.wcPath < y.wcPath
	})
	return cands[len(cands)-1].caps, true
}

var (
	refSegments  = []string{"a", "b", "ab", "+", "+", ""}
	pathSegments = []string{"a", "b", "ab", "abc", "ba", ""}
	operations   = []string{"read", "list", "create", "update", "patch", "delete"}
	allCaps      = []string{"create", "read", "update", "patch", "delete", "list", "sudo"}
)

// randomPattern is a policy path over a tiny alphabet, so that random
// patterns and paths collide often: exact, "*" globs (mid-segment too),
// "+" globs, trailing slashes, empty segments.
func randomPattern(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = refSegments[r.IntN(len(refSegments))]
		if i == 0 && segs[i] == "" {
			segs[i] = "a"
		}
	}
	p := strings.Join(segs, "/")
	switch r.IntN(4) {
	case 0:
		p += "/"
	case 1, 2:
		if !strings.HasSuffix(p, "+") {
			p += "*"
		}
	}
	return p
}

func randomPath(r *rand.Rand) string {
	n := 1 + r.IntN(5)
	segs := make([]string, n)
	for i := range segs {
		segs[i] = pathSegments[r.IntN(len(pathSegments))]
	}
	if segs[0] == "" {
		// A leading "/": Vault strips them all, authz strips one (see the
		// package report); request paths here start with a segment.
		segs[0] = "b"
	}
	p := strings.Join(segs, "/")
	if r.IntN(3) == 0 {
		p += "/"
	}
	return p
}

// aim is a path matched by one of p's rules: its "+" replaced by a
// segment, its "*" by a suffix, sometimes with a trailing "/".
func aim(r *rand.Rand, p *hcl.Policy) string {
	path := p.Rules[r.IntN(len(p.Rules))].Path
	var b strings.Builder
	for _, c := range path {
		switch c {
		case '+':
			b.WriteString(pathSegments[r.IntN(len(pathSegments))])
		case '*':
			b.WriteString([]string{"", "a", "b/a", "/", "a/b/"}[r.IntN(5)])
		default:
			b.WriteRune(c)
		}
	}
	if r.IntN(4) == 0 {
		b.WriteString("/")
	}
	if strings.HasPrefix(b.String(), "/") {
		return "a" + b.String() // see randomPath
	}
	return b.String()
}

func randomBody(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return `capabilities = ["deny"]`
	case 1:
		return fmt.Sprintf("policy = %q", []string{"read", "write", "sudo", "deny"}[r.IntN(4)])
	}
	var caps []string
	for _, c := range allCaps {
		if r.IntN(2) == 0 {
			caps = append(caps, fmt.Sprintf("%q", c))
		}
	}
	return "capabilities = [" + strings.Join(caps, ", ") + "]"
}

// broadPatterns are globs over much of the random paths' space, which
// every more specific path of another policy overrides.
var broadPatterns = []string{"*", "a*", "a/*", "+/*", "a/+", "+/a/*"}

// randomSet is a set of 1..4 policies of 1..5 rules each, as HCL text;
// a third of the policies also have a broad glob.
func randomSet(r *rand.Rand) map[string]string {
	set := map[string]string{}
	for i := range 1 + r.IntN(4) {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			fmt.Fprintf(&b, "path %q { %s }\n", randomPattern(r), randomBody(r))
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "path %q { %s }\n", broadPatterns[r.IntN(len(broadPatterns))], randomBody(r))
		}
		set[fmt.Sprintf("p%d", i)] = b.String()
	}
	return set
}

// TestDifferential compares the compiled Cedar with the reference ACL on
// random policy sets × held subsets × paths × operations × sudo.
func TestDifferential(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if n := testDifferential(t, m.opts); m.forced && n < 100 {
				t.Fatalf("only %d deciding forbids in the random sets", n)
			}
		})
	}
}

// testDifferential returns how many deciding forbids the sets had.
func testDifferential(t *testing.T, opts hcl.Options) int {
	r := rand.New(rand.NewPCG(7, 2026))
	sets, checks, allows, forbids := 600, 0, 0, 0
	if testing.Short() {
		sets = 100
	}
	for n := range sets {
		texts := randomSet(r)
		pols := map[string]*hcl.Policy{}
		for name, text := range texts {
			p, err := hcl.Parse(name, text)
			if err != nil {
				t.Fatalf("set %d: %v", n, err)
			}
			pols[name] = p
		}
		// The schema validator is slow (its cost is in Load too); a quarter
		// of the sets is enough to meet every expression form.
		c := loadWith(t, texts, n%4 == 0, opts)
		forbids += deciders(compileSetWith(t, texts, opts))
		names := slices.Sorted(maps.Keys(pols))
		// Every subset of the set's policies (at most 16).
		for mask := range 1 << len(names) {
			var held []string
			var heldPols []*hcl.Policy
			for i, name := range names {
				if mask&(1<<i) != 0 {
					held = append(held, name)
					heldPols = append(heldPols, pols[name])
				}
			}
			ref := newRefACL(heldPols)
			for range 12 {
				path := randomPath(r)
				if r.IntN(2) == 0 {
					path = aim(r, pols[names[r.IntN(len(names))]])
				}
				op, sudo := operations[r.IntN(len(operations))], r.IntN(4) == 0
				want := ref.allowed(op, path, sudo)
				if got := allowed(t, c, held, op, path, sudo); got != want {
					t.Fatalf("set %d, held %v: %s %q (sudo %v): cedar %v, reference %v\npolicies:\n%s\ncedar:\n%s",
						n, held, op, path, sudo, got, want, dumpTexts(texts), dumpTexts(compileSetWith(t, texts, opts)))
				}
				checks++
				if want {
					allows++
				}
			}
		}
	}
	t.Logf("%d sets, %d decisions compared, %d allowed, %d deciding forbids", sets, checks, allows, forbids)
	if allows < checks/10 || allows > checks*9/10 {
		t.Fatalf("%d of %d decisions allowed: the random sets do not exercise both outcomes", allows, checks)
	}
	return forbids
}

func dumpTexts(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "== %s\n%s\n", k, m[k])
	}
	return b.String()
}

// TestDeepPatterns compares Cedar with the reference around
// authz.MaxSegments, where seg and rest stop describing the path.
func TestDeepPatterns(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a/", n) }
	patterns := []string{
		a(31) + "+/b/c",            // "+" at the last described segment, then a tail
		a(30) + "+/b*",             // a prefix tail starting at r31
		"+/" + a(40) + "b",         // a "+" first, a tail past 32 segments
		a(40) + "b",                // exact, deep
		a(31) + "+",                // "+" at segment 31, last (its list fallback has a tail at 32)
		a(20) + "+/" + a(20) + "*", // deep prefix tail
		a(40) + "+/b",              // "+" past the described segments (a like at a fixed depth)
		a(33) + "+/+",              // two of them, the last one last
	}
	var b strings.Builder
	for i, p := range patterns {
		fmt.Fprintf(&b, "path %q { capabilities = [%q, \"list\"] }\n", p, []string{"read", "update"}[i%2])
	}
	texts := map[string]string{"deep": b.String()}
	pol, err := hcl.Parse("deep", texts["deep"])
	if err != nil {
		t.Fatal(err)
	}
	c := authorizer(t, texts)
	ref := newRefACL([]*hcl.Policy{pol})
	var paths []string
	for _, n := range []int{30, 31, 32, 33, 40, 41, 42} {
		for _, tail := range []string{"b", "b/c", "x/b/c", "x/b", "b/c/d", "bz", "x", "b/", "x/", ""} {
			paths = append(paths, a(n)+tail, "x/"+a(n)+tail)
		}
	}
	allows := 0
	for _, path := range paths {
		for _, op := range operations {
			want := ref.allowed(op, path, false)
			if want {
				allows++
			}
			if got := allowed(t, c, []string{"deep"}, op, path, false); got != want {
				t.Errorf("%s %s (%d segments): cedar %v, reference %v", op, path, strings.Count(path, "/")+1, got, want)
			}
		}
	}
	if allows < 20 {
		t.Fatalf("only %d deep requests allowed: the paths miss the patterns", allows)
	}
	t.Logf("%d of %d deep requests allowed", allows, len(paths)*len(operations))
}
