package identity_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
	"github.com/secretumvault/secretumvault/storage"
)

// snapshot reads every list and object through the API and every
// entity's Principal.
func snapshot(t *testing.T, s *identity.Store) map[string]any {
	t.Helper()
	ctx := context.Background()
	do := func(op logical.Operation, path string) map[string]any {
		resp, err := s.Backend().HandleRequest(ctx, &logical.Request{Operation: op, Path: path})
		if err != nil {
			t.Fatalf("%s %s: %v", op, path, err)
		}
		if resp == nil {
			return nil
		}
		return resp.Data
	}
	out := map[string]any{}
	for _, list := range []string{"entity/id", "entity/name", "entity-alias/id", "group/id", "group/name", "group-alias/id"} {
		l := do(logical.ListOperation, list)
		out[list] = l
		prefix := list + "/"
		for _, k := range strs(l["keys"]) {
			out[prefix+k] = do(logical.ReadOperation, prefix+k)
			if list == "entity/id" {
				p, ok := s.Principal(k)
				out["principal/"+k] = []any{p, ok}
			}
		}
	}
	return out
}

func TestPersistence(t *testing.T) {
	h := newHarness(t)
	alice, _, _, g3 := nested(h)
	h.write("entity-alias", map[string]any{"name": "alice", "mount_accessor": "acc1", "canonical_id": alice, "custom_metadata": map[string]any{"a": "b"}})
	h.login(loginAs("acc2", "bob", "ext1", "ext2"))
	h.write("group-alias", map[string]any{"name": "ext-alias", "mount_accessor": "acc2", "canonical_id": h.read("group/name/ext1")["id"]})
	h.write("group/id/"+g3, map[string]any{"name": "g3-renamed"})
	h.must(logical.DeleteOperation, "group/name/side", nil)

	before := snapshot(t, h.s)
	after := snapshot(t, h.open())
	if !reflect.DeepEqual(before, after) {
		for k, v := range before {
			if !reflect.DeepEqual(v, after[k]) {
				t.Errorf("%s:\nbefore %#v\nafter  %#v", k, v, after[k])
			}
		}
		t.Fatal("a fresh store answers differently")
	}
	if len(before) < 20 {
		t.Fatalf("snapshot too small to mean anything: %d entries", len(before))
	}
}

// TestLoadRepairsInterruptedWrites writes what a crash between the
// writes of one change can leave and checks loading tolerates it.
func TestLoadRepairsInterruptedWrites(t *testing.T) {
	h := newHarness(t)
	alice := h.entity("alice", nil)
	bob := h.entity("bob", nil)
	g := h.group("g", map[string]any{"member_entity_ids": []any{alice, bob}})
	top := h.group("top", map[string]any{"member_group_ids": g})
	h.login(loginAs("acc2", "bob", "ext"))
	ext := h.read("group/name/ext")["id"].(string)

	// Raw records, as a crash mid-change (without transactions) would
	// leave them: alias al2 moved to bob (newer copy) but still in
	// alice's record; the external group and group g deleted before the
	// records naming them (bob's external memberships, top's members)
	// were rewritten.
	raw := func(key string) []byte {
		e, err := h.view.Get(h.ctx, key)
		if err != nil || e == nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return e.Value
	}
	mustPut := func(key string, v []byte) {
		if err := h.view.Put(h.ctx, &storage.Entry{Key: key, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	h.write("entity-alias", map[string]any{"name": "al2", "mount_accessor": "acc1", "canonical_id": alice})
	aliasCopyOwner := raw("entity/" + alice)
	h.write("entity-alias/id/"+aliasID(h, "acc1", "al2"), map[string]any{"canonical_id": bob})
	mustPut("entity/"+alice, aliasCopyOwner) // the old owner kept its (older) copy
	if err := h.view.Delete(h.ctx, "group/"+ext); err != nil {
		t.Fatal(err)
	}
	if err := h.view.Delete(h.ctx, "group/"+g); err != nil {
		t.Fatal(err)
	}

	s := h.open()
	if id, ok := s.EntityByAlias("acc1", "al2"); !ok || id != bob {
		t.Fatalf("duplicated alias resolved to %q, want the newer owner bob", id)
	}
	p, ok := s.Principal(bob)
	if !ok || len(p.Groups) != 0 {
		t.Fatalf("bob after repair = %+v", p)
	}
	h.s = s
	if got := strs(h.read("group/id/" + top)["member_group_ids"]); len(got) != 0 {
		t.Fatalf("top still lists the missing group: %v", got)
	}
	if as := h.read("entity/id/" + alice)["aliases"].([]any); len(as) != 0 {
		t.Fatalf("alice kept the stale alias copy: %v", as)
	}
	// The repaired store takes writes as usual.
	h.write("group/id/"+top, map[string]any{"policies": "x"})

	// A record under the wrong key is corruption, not a repair.
	mustPut("entity/wrong", raw("entity/"+alice))
	err := identity.New(h.view, identity.Options{}).Setup(h.ctx)
	if !errors.Is(err, identity.ErrCorrupt) {
		t.Fatalf("Setup over a misfiled record: %v", err)
	}
}
