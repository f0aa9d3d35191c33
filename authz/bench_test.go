package authz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
)

// benchDocuments is a realistic set of about n policies: departments
// holding teams holding squads (groups three levels deep); each team has
// group-scoped permits on its area and a forbid on its prod area; shared
// resources have resource-scoped permits; a quarter of the policies are in
// ACL documents compiled from HCL policies.
func benchDocuments(n int) Documents {
	docs := Documents{Cedar: map[string]string{}, ACL: map[string]string{}}
	var b strings.Builder
	teams := max(1, n/10)
	for t := range teams {
		fmt.Fprintf(&b, "permit(principal in Group::\"team%d\", action in [Action::\"read\", Action::\"list\"], resource in Secret::\"secret/data/team%d\");\n", t, t)
		fmt.Fprintf(&b, "permit(principal in Group::\"team%d\", action in Action::\"write\", resource in Secret::\"secret/data/team%d/dev\");\n", t, t)
		fmt.Fprintf(&b, "forbid(principal in Group::\"team%d\", action, resource in Secret::\"secret/data/team%d/prod\") unless { context has remote_addr && context.remote_addr.isInRange(ip(\"10.0.0.0/8\")) };\n", t, t)
		fmt.Fprintf(&b, "permit(principal in Group::\"dept%d\", action == Action::\"read\", resource == Secret::\"shared/team%d/readme\");\n", t%5, t)
		fmt.Fprintf(&b, "permit(principal == Service::\"ci%d\", action == Action::\"generate\", resource in Secret::\"database/creds/team%d\") when { context.ttl <= duration(\"1h\") };\n", t, t)
		fmt.Fprintf(&b, "permit(principal, action == Action::\"read\", resource == Secret::\"sys/public/team%d\");\n", t)
		fmt.Fprintf(&b, "forbid(principal in Group::\"squad%d\", action == Action::\"delete\", resource in Secret::\"secret/data/team%d\");\n", t, t)
		fmt.Fprintf(&b, "permit(principal in Group::\"squad%d\", action == Action::\"read\", resource in Secret::\"secret/metadata/team%d\") when { principal.hasTag(\"oncall\") };\n", t, t)
		if t%10 == 0 {
			docs.Cedar[fmt.Sprintf("team%d", t)] = b.String()
			b.Reset()
		}
	}
	docs.Cedar["rest"] = b.String()
	for a := range max(1, n/40) {
		name := fmt.Sprintf("hcl%d", a)
		var d strings.Builder
		for i := range 2 {
			fmt.Fprintf(&d, "permit(principal, action in [Action::\"read\", Action::\"list\"], resource in Secret::\"kv/app%d/%d\") when { principal.policies.contains(%q) };\n", a, i, name)
		}
		fmt.Fprintf(&d, "forbid(principal, action, resource in Secret::\"kv/app%d/locked\") when { principal.policies.contains(%q) };\n", a, name)
		docs.ACL[name] = d.String()
	}
	return docs
}

// benchRequest: alice, in squad0 in team0 in dept0, holding two HCL
// policies, reads in her team's area.
func benchRequest() Request {
	return Request{
		Principal: Principal{Accessor: "acc", EntityID: "e", DisplayName: "alice", EntityName: "alice", EntityType: TypeUser,
			Policies: []string{"default", "hcl0", "hcl1"},
			Groups:   map[string][]string{"squad0": {"team0"}, "team0": {"dept0"}, "dept0": nil},
			Metadata: map[string]string{"oncall": "yes"}},
		Operation: "read", Path: "secret/data/team0/dev/app", MountType: "kv", RemoteAddr: "10.0.0.1", Time: time.Now(),
	}
}

func loadBench(b *testing.B, n int) *Cedar {
	c := NewCedar()
	if err := c.Load(benchDocuments(n)); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d policies", len(c.set.Load().policies))
	return c
}

// BenchmarkAuthorize is the indexed Authorize; BenchmarkAuthorizeFull
// evaluates the whole set on the same entities (cedar.Authorize over a
// PolicySet, as before the index); BenchmarkExplain is Explain.
func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := loadBench(b, n)
			req := benchRequest()
			b.ReportAllocs()
			for b.Loop() {
				if d, err := c.Authorize(context.Background(), &req); err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
		})
	}
}

func BenchmarkAuthorizeFull(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := loadBench(b, n)
			ps := c.set.Load()
			full := ps.full()
			req := benchRequest()
			b.ReportAllocs()
			for b.Loop() {
				creq, es, _, _, err := buildRequest(builder{needs: allNeeds, index: ps.index}, &req)
				if err != nil {
					b.Fatal(err)
				}
				if d := ps.decide(cedar.Authorize(full, es, creq)); !d.Allowed {
					b.Fatal(d)
				}
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := loadBench(b, n)
			req := benchRequest()
			b.ReportAllocs()
			for b.Loop() {
				if x, err := c.Explain(context.Background(), &req); err != nil || !x.Allowed {
					b.Fatal(x, err)
				}
			}
		})
	}
}

// BenchmarkAuthorizeMiss cycles through more principals and paths than
// the caches hold, so that nearly every request builds its entities: the
// cost of a cache miss.
func BenchmarkAuthorizeMiss(b *testing.B) {
	c := loadBench(b, 1000)
	reqs := make([]Request, 3*principalSlots)
	for i := range reqs {
		reqs[i] = benchRequest()
		reqs[i].Principal.Accessor = fmt.Sprintf("acc%d", i)
		reqs[i].Path = fmt.Sprintf("secret/data/team0/dev/app%d", i)
		reqs[i].RemoteAddr = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if d, err := c.Authorize(context.Background(), &reqs[i%len(reqs)]); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		i++
	}
}
