package authz

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"testing"
	"time"
)

func cachePrincipal() Principal {
	return Principal{Accessor: "acc", EntityID: "e", DisplayName: "d", EntityName: "alice", EntityType: TypeUser,
		Policies:      []string{"default", "dev"},
		Groups:        map[string][]string{"squad": {"team"}, "team": nil},
		Metadata:      map[string]string{"team": "pay"},
		GroupMetadata: map[string]map[string]string{"team": {"tier": "1"}}}
}

// TestSamePrincipal: a change to any field is a different principal; the
// same content in other maps (other insertion order, nil for empty) is
// the same principal with the same hash.
func TestSamePrincipal(t *testing.T) {
	c := newCaches()
	base := cachePrincipal()
	tests := []struct {
		name   string
		change func(p *Principal)
		same   bool
	}{
		{"a copy", func(p *Principal) {}, true},
		{"maps refilled in another order", func(p *Principal) {
			p.Groups = map[string][]string{"team": {}, "squad": {"team"}}
			p.GroupMetadata = map[string]map[string]string{"team": {"tier": "1"}}
		}, true},
		{"root", func(p *Principal) { p.Root = true }, false},
		{"accessor", func(p *Principal) { p.Accessor = "other" }, false},
		{"entity id", func(p *Principal) { p.EntityID = "f" }, false},
		{"display name", func(p *Principal) { p.DisplayName = "x" }, false},
		{"entity name", func(p *Principal) { p.EntityName = "bob" }, false},
		{"entity type", func(p *Principal) { p.EntityType = TypeService }, false},
		{"a policy", func(p *Principal) { p.Policies[1] = "ops" }, false},
		{"one policy more", func(p *Principal) { p.Policies = append(p.Policies, "ops") }, false},
		{"policy order", func(p *Principal) { p.Policies[0], p.Policies[1] = p.Policies[1], p.Policies[0] }, false},
		{"a group more", func(p *Principal) { p.Groups["ops"] = nil }, false},
		{"a group less", func(p *Principal) { delete(p.Groups, "team") }, false},
		{"a group's parent", func(p *Principal) { p.Groups["squad"] = []string{"ops"} }, false},
		{"a tag value", func(p *Principal) { p.Metadata["team"] = "ops" }, false},
		{"a tag more", func(p *Principal) { p.Metadata["x"] = "" }, false},
		{"no tags", func(p *Principal) { p.Metadata = nil }, false},
		{"a group tag", func(p *Principal) { p.GroupMetadata["team"]["tier"] = "2" }, false},
		{"a group's empty tags", func(p *Principal) { p.GroupMetadata["squad"] = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := clonePrincipal(&base)
			tt.change(&p)
			if got := samePrincipal(&base, &p); got != tt.same {
				t.Fatalf("samePrincipal = %v, want %v", got, tt.same)
			}
			if tt.same && c.principalHash(&base) != c.principalHash(&p) {
				t.Fatal("equal principals hash differently")
			}
		})
	}
}

// TestClonePrincipalIsDeep: changing the original's maps and slices in
// place leaves the clone as it was.
func TestClonePrincipalIsDeep(t *testing.T) {
	p := cachePrincipal()
	c := clonePrincipal(&p)
	p.Policies[0] = "x"
	p.Groups["squad"][0] = "x"
	p.Groups["y"] = nil
	p.Metadata["team"] = "x"
	p.GroupMetadata["team"]["tier"] = "x"
	if want := cachePrincipal(); !samePrincipal(&c, &want) {
		t.Fatalf("the clone changed with the original: %+v", c)
	}
}

// cachePolicies read every part of the principal the cache keeps.
const cachePolicies = `
@id("by-group") permit(principal in Group::"team", action == Action::"read", resource in Secret::"g");
@id("by-tag") permit(principal, action == Action::"read", resource in Secret::"t") when { principal.hasTag("team") && principal.getTag("team") == "pay" };
@id("by-group-tag") permit(principal in Group::"team", action == Action::"read", resource in Secret::"gt") when { Group::"team".hasTag("tier") && Group::"team".getTag("tier") == "1" };
@id("by-name") permit(principal == User::"alice", action == Action::"read", resource in Secret::"n");
@id("by-accessor") permit(principal, action == Action::"read", resource in Secret::"a") when { principal.accessor == "acc" };
`

const cacheACL = `@id("r") permit(principal, action == Action::"read", resource in Secret::"p") when { principal.policies.contains("dev") };`

// TestCacheFollowsPrincipalChanges: one Principal, its maps and slices
// changed in place between requests, is decided on its data of the
// moment, and so is every other principal sharing the cache's slots.
func TestCacheFollowsPrincipalChanges(t *testing.T) {
	for _, tiny := range []bool{false, true} {
		t.Run(fmt.Sprintf("tiny=%v", tiny), func(t *testing.T) {
			c := NewCedar()
			if err := c.Load(Documents{Cedar: map[string]string{"c": cachePolicies}, ACL: map[string]string{"dev": cacheACL}}); err != nil {
				t.Fatal(err)
			}
			if tiny {
				c.set.Load().caches = tinyCaches()
			}
			p := cachePrincipal()
			other := Principal{Accessor: "other", Policies: []string{"default"}}
			steps := []struct {
				name   string
				change func()
				path   string
				want   bool
			}{
				{"in team", func() {}, "g/x", true},
				{"left team", func() { delete(p.Groups, "team"); p.Groups["squad"] = nil }, "g/x", false},
				{"in team as squad's parent", func() { p.Groups["squad"] = []string{"team"} }, "g/x", true},
				{"team again", func() { p.Groups["team"] = nil }, "g/x", true},
				{"tag", func() {}, "t/x", true},
				{"tag changed", func() { p.Metadata["team"] = "ops" }, "t/x", false},
				{"tag back", func() { p.Metadata["team"] = "pay" }, "t/x", true},
				{"group tag", func() {}, "gt/x", true},
				{"group tag changed", func() { p.GroupMetadata["team"]["tier"] = "2" }, "gt/x", false},
				{"name", func() {}, "n/x", true},
				{"renamed", func() { p.EntityName = "bob" }, "n/x", false},
				{"accessor", func() {}, "a/x", true},
				{"accessor changed", func() { p.Accessor = "acc2" }, "a/x", false},
				{"policy", func() {}, "p/x", true},
				{"policy replaced in place", func() { p.Policies[1] = "ops" }, "p/x", false},
				{"policy back", func() { p.Policies[1] = "dev" }, "p/x", true},
			}
			for _, st := range steps {
				st.change()
				for _, pr := range []*Principal{&p, &other, &p} {
					req := Request{Principal: *pr, Operation: "read", Path: st.path, Time: time.Now()}
					d, err := c.Authorize(context.Background(), &req)
					if err != nil {
						t.Fatal(err)
					}
					if want := st.want && pr == &p; d.Allowed != want {
						t.Fatalf("%s (%s): allowed = %v, want %v", st.name, pr.Accessor, d.Allowed, want)
					}
				}
			}
		})
	}
}

// TestCacheConcurrentAuthorize: goroutines deciding different principals
// through one-slot caches, which every request replaces, each get the
// decision computed alone (run with -race).
func TestCacheConcurrentAuthorize(t *testing.T) {
	c := NewCedar()
	if err := c.Load(Documents{Cedar: map[string]string{"c": cachePolicies}, ACL: map[string]string{"dev": cacheACL}}); err != nil {
		t.Fatal(err)
	}
	var reqs []Request
	var want []bool
	for i := range 16 {
		p := cachePrincipal()
		p.Accessor = fmt.Sprintf("acc%d", i%2)
		if i%3 == 0 {
			delete(p.Groups, "team")
		}
		if i%4 == 0 {
			p.Metadata = nil
		}
		for _, path := range []string{"g/x", "t/x", "gt/x", "a/x", "p/x"} {
			req := Request{Principal: p, Operation: "read", Path: path, RemoteAddr: fmt.Sprintf("10.0.0.%d", i), Time: time.Now()}
			d, err := c.Authorize(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			reqs, want = append(reqs, req), append(want, d.Allowed)
		}
	}
	c.set.Load().caches = tinyCaches()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 500 {
				i := (n*7 + g) % len(reqs)
				d, err := c.Authorize(context.Background(), &reqs[i])
				if err != nil || d.Allowed != want[i] {
					t.Errorf("request %d: %+v, %v; want allowed=%v", i, d, err, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// tinyCaches have one slot each.
func tinyCaches() *caches {
	return &caches{seed: maphash.MakeSeed(), principal: make(slots[principalEntry], 1), leaf: make(slots[secretEntry], 1),
		prefix: make(slots[secretEntry], 1), context: make(slots[contextEntry], 1)}
}
