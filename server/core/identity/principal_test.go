package identity_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
)

// nested builds alice in g1 ⊂ g2 ⊂ g3 (and g1 ⊂ side), each with a policy
// and metadata.
func nested(h *harness) (alice, g1, g2, g3 string) {
	alice = h.entity("alice", map[string]any{"policies": "own,shared", "metadata": map[string]any{"team": "payments"}})
	g1 = h.group("g1", map[string]any{"member_entity_ids": alice, "policies": "p1,shared", "metadata": map[string]any{"level": "1"}})
	g2 = h.group("g2", map[string]any{"member_group_ids": g1, "policies": "p2"})
	g3 = h.group("g3", map[string]any{"member_group_ids": g2, "policies": "p3", "metadata": map[string]any{"level": "3"}})
	h.group("side", map[string]any{"member_group_ids": g1, "policies": "pside"})
	return
}

func TestPrincipalNested(t *testing.T) {
	h := newHarness(t)
	alice, _, _, _ := nested(h)
	got, ok := h.s.Principal(alice)
	if !ok {
		t.Fatal("Principal: not found")
	}
	want := identity.Principal{
		EntityID: alice, Name: "alice", Type: "User",
		Metadata: map[string]string{"team": "payments"},
		Policies: []string{"own", "p1", "p2", "p3", "pside", "shared"},
		Groups:   map[string][]string{"g1": {"g2", "side"}, "g2": {"g3"}, "g3": {}, "side": {}},
		GroupMetadata: map[string]map[string]string{
			"g1": {"level": "1"}, "g3": {"level": "3"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Principal =\n%+v\nwant\n%+v", got, want)
	}
	ent := h.read("entity/id/" + alice)
	if n := len(strs(ent["direct_group_ids"])); n != 1 {
		t.Errorf("direct_group_ids = %v", ent["direct_group_ids"])
	}
	if n := len(strs(ent["inherited_group_ids"])); n != 3 {
		t.Errorf("inherited_group_ids = %v", ent["inherited_group_ids"])
	}
	if n := len(strs(ent["group_ids"])); n != 4 {
		t.Errorf("group_ids = %v", ent["group_ids"])
	}
	if _, ok := h.s.Principal("nope"); ok {
		t.Error("Principal of an unknown entity")
	}
}

// TestPrincipalInvalidation reads the Principal (so it is cached), makes
// one change, and checks the next read reflects it.
func TestPrincipalInvalidation(t *testing.T) {
	cases := []struct {
		name  string
		op    logical.Operation
		path  func(alice, g1, g2, g3 string) string
		data  map[string]any
		check func(p identity.Principal) error
	}{
		{"top group policy", logical.UpdateOperation, func(_, _, _, g3 string) string { return "group/id/" + g3 }, map[string]any{"policies": "new"},
			func(p identity.Principal) error { return wantPolicies(p, "own", "p1", "p2", "pside", "shared", "new") }},
		{"top group renamed", logical.UpdateOperation, func(_, _, _, g3 string) string { return "group/id/" + g3 }, map[string]any{"name": "g3b"},
			func(p identity.Principal) error {
				if !reflect.DeepEqual(p.Groups["g2"], []string{"g3b"}) || p.Groups["g3b"] == nil || p.Groups["g3"] != nil {
					return fmt.Errorf("groups %v", p.Groups)
				}
				return nil
			}},
		{"middle link cut", logical.UpdateOperation, func(_, _, g2, _ string) string { return "group/id/" + g2 }, map[string]any{"member_group_ids": []any{}},
			func(p identity.Principal) error {
				if len(p.Groups) != 2 {
					return fmt.Errorf("groups %v", p.Groups)
				}
				return wantPolicies(p, "own", "p1", "pside", "shared")
			}},
		{"group metadata", logical.UpdateOperation, func(_, _, g2, _ string) string { return "group/id/" + g2 }, map[string]any{"metadata": map[string]any{"x": "y"}},
			func(p identity.Principal) error {
				if !reflect.DeepEqual(p.GroupMetadata["g2"], map[string]string{"x": "y"}) {
					return fmt.Errorf("group metadata %v", p.GroupMetadata)
				}
				return nil
			}},
		{"entity removed from group", logical.UpdateOperation, func(_, g1, _, _ string) string { return "group/id/" + g1 }, map[string]any{"member_entity_ids": []any{}},
			func(p identity.Principal) error {
				if len(p.Groups) != 0 || p.GroupMetadata != nil {
					return fmt.Errorf("groups %v", p.Groups)
				}
				return wantPolicies(p, "own", "shared")
			}},
		{"middle group deleted", logical.DeleteOperation, func(_, _, g2, _ string) string { return "group/id/" + g2 }, nil,
			func(p identity.Principal) error { return wantPolicies(p, "own", "p1", "pside", "shared") }},
		{"entity disabled", logical.UpdateOperation, func(a, _, _, _ string) string { return "entity/id/" + a }, map[string]any{"disabled": true},
			func(p identity.Principal) error {
				if !p.Disabled {
					return fmt.Errorf("not disabled")
				}
				return nil
			}},
		{"entity renamed and retyped", logical.UpdateOperation, func(a, _, _, _ string) string { return "entity/id/" + a }, map[string]any{"name": "al", "cedar_type": "Service"},
			func(p identity.Principal) error {
				if p.Name != "al" || p.Type != "Service" {
					return fmt.Errorf("name %q type %q", p.Name, p.Type)
				}
				return nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			alice, g1, g2, g3 := nested(h)
			if _, ok := h.s.Principal(alice); !ok {
				t.Fatal("no principal")
			}
			h.must(tc.op, tc.path(alice, g1, g2, g3), tc.data)
			p, _ := h.s.Principal(alice)
			if err := tc.check(p); err != nil {
				t.Fatalf("after change: %v (principal %+v)", err, p)
			}
			// A fresh store computes the same answer from storage.
			p2, _ := h.open().Principal(alice)
			if !reflect.DeepEqual(p, p2) {
				t.Fatalf("reloaded principal differs:\n%+v\n%+v", p, p2)
			}
		})
	}
}

func wantPolicies(p identity.Principal, want ...string) error {
	w := append([]string(nil), want...)
	slices.Sort(w)
	if !reflect.DeepEqual(p.Policies, w) {
		return fmt.Errorf("policies %v, want %v", p.Policies, w)
	}
	return nil
}

func BenchmarkPrincipal(b *testing.B) {
	h := newHarness(b)
	alice, _, _, _ := nested(h)
	for i := range 1000 {
		h.entity(fmt.Sprintf("user%d", i), nil)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := h.s.Principal(alice); !ok {
				b.Fatal("not found")
			}
		}
	})
}

// TestPrincipalConcurrentWrites reads Principal while groups change and
// checks that, once the writes are done, the cached answer is the one a
// fresh store computes: no read may cache a stale Principal.
func TestPrincipalConcurrentWrites(t *testing.T) {
	h := newHarness(t)
	alice, g1, _, g3 := nested(h)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					if _, ok := h.s.Principal(alice); !ok {
						t.Error("principal vanished")
						return
					}
				}
			}
		})
	}
	for i := range 50 {
		h.write("group/id/"+g3, map[string]any{"policies": fmt.Sprintf("p3-%d", i)})
		h.write("group/id/"+g1, map[string]any{"metadata": map[string]any{"i": fmt.Sprint(i)}})
	}
	close(stop)
	wg.Wait()
	got, _ := h.s.Principal(alice)
	want, _ := h.open().Principal(alice)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cached principal after concurrent writes:\n%+v\nfresh:\n%+v", got, want)
	}
	if !slices.Contains(got.Policies, "p3-49") || got.GroupMetadata["g1"]["i"] != "49" {
		t.Fatalf("last write not visible: %+v", got)
	}
}
