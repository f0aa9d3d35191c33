package hcl_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/authz/hcl"
)

// teamPolicy is policy i of a realistic set: a team's own tree with a
// more specific sub-tree, a metadata list, a "+" glob, and either a rule
// shared verbatim by every policy or, one in broadEvery (if > 0), a
// broad glob over every team's tree.
func teamPolicy(i, broadEvery int) string {
	shared := `path "auth/token/lookup-self" { capabilities = ["read"] }`
	if broadEvery > 0 && i%broadEvery == 0 {
		shared = `path "secret/data/*" { capabilities = ["list"] }`
	}
	return fmt.Sprintf(`
path "secret/data/team-%d/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "secret/data/team-%d/prod/*" { capabilities = ["read"] }
path "secret/metadata/team-%d/" { capabilities = ["list"] }
path "secret/data/team-%d/+/config" { capabilities = ["read", "update"] }
%s
`, i, i, i, i, shared)
}

func teamPolicies(b testing.TB, n, broadEvery int) map[string]*hcl.Policy {
	pols := make(map[string]*hcl.Policy, n)
	for i := range n {
		name := fmt.Sprintf("team-%d", i)
		p, err := hcl.Parse(name, teamPolicy(i, broadEvery))
		if err != nil {
			b.Fatal(err)
		}
		pols[name] = p
	}
	return pols
}

// benchSets are the benchmarked sets: team trees only, and with one
// policy in ten also granting list on all of secret/data/*, compiled as
// Compile does (vetoes where they cost less) and with unless clauses
// only.
var benchSets = []struct {
	name       string
	broadEvery int
	opts       hcl.Options
}{
	{"teams", 0, hcl.Options{}},
	{"teams+broad", 10, hcl.Options{}},
	{"teams/unless", 0, hcl.Options{UnlessOnly: true}},
	{"teams+broad/unless", 10, hcl.Options{UnlessOnly: true}},
}

// BenchmarkCompile compiles 1,000 policies × 5 rules: team trees only,
// and with one policy in ten also granting list on all of secret/data/*
// (whose unless clause must then name every team's higher paths).
func BenchmarkCompile(b *testing.B) {
	for _, bc := range benchSets {
		b.Run(bc.name, func(b *testing.B) {
			pols := teamPolicies(b, 1000, bc.broadEvery)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				docs, err := hcl.CompileWith(pols, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				size = 0
				for _, d := range docs {
					size += len(d)
				}
			}
			b.ReportMetric(float64(size), "cedar-bytes")
		})
	}
}

// BenchmarkAuthorize evaluates requests through Cedar with 100 compiled
// HCL policies loaded, for a token holding two of them: as Compile
// compiles them (vetoes) and with unless clauses only.
func BenchmarkAuthorize(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts hcl.Options
	}{{"compile", hcl.Options{}}, {"unless", hcl.Options{UnlessOnly: true}}} {
		b.Run(bc.name, func(b *testing.B) { benchAuthorize(b, bc.opts) })
	}
}

func benchAuthorize(b *testing.B, opts hcl.Options) {
	docs, err := hcl.CompileWith(teamPolicies(b, 100, 10), opts)
	if err != nil {
		b.Fatal(err)
	}
	c := authz.NewCedar()
	if err := loadACL(c, docs); err != nil {
		b.Fatal(err)
	}
	reqs := []authz.Request{
		{Operation: "read", Path: "secret/data/team-42/app/db"},
		{Operation: "update", Path: "secret/data/team-42/prod/db"},
		{Operation: "read", Path: "secret/data/team-42/web/config"},
		{Operation: "list", Path: "secret/metadata/team-42/"},
		{Operation: "read", Path: "secret/data/team-7/app/db"},
	}
	for i := range reqs {
		reqs[i].Principal = authz.Principal{Accessor: "acc", Policies: []string{"team-42", "team-50"}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Authorize(ctx, &reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLoad loads (parses, validates, indexes) the Cedar compiled
// from 1,000 policies × 5 rules, without and with broad globs.
func BenchmarkLoad(b *testing.B) {
	for _, bc := range benchSets {
		b.Run(bc.name, func(b *testing.B) {
			docs, err := hcl.CompileWith(teamPolicies(b, 1000, bc.broadEvery), bc.opts)
			if err != nil {
				b.Fatal(err)
			}
			c := authz.NewCedar()
			for b.Loop() {
				if err := loadACL(c, docs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
