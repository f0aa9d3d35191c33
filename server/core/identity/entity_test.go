package identity_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestEntityCreateReadUpdate(t *testing.T) {
	h := newHarness(t)
	out := h.write("entity", map[string]any{
		"name": "alice", "policies": "Dev,ops,dev", "metadata": map[string]any{"team": "payments"},
	})
	id := out["id"].(string)
	if out["name"] != "alice" || out["cedar_uid"] != `User::"alice"` || out["cedar_type"] != "User" {
		t.Fatalf("create answer = %v", out)
	}
	svc := h.write("entity", map[string]any{"name": "ci", "cedar_type": "Service"})
	if svc["cedar_uid"] != `Service::"ci"` {
		t.Fatalf("service create answer = %v", svc)
	}

	for _, path := range []string{"entity/id/" + id, "entity/name/alice"} {
		got := h.read(path)
		if got["id"] != id || got["name"] != "alice" || got["cedar_type"] != "User" || got["cedar_uid"] != `User::"alice"` {
			t.Errorf("read %s = %v", path, got)
		}
		if !slices.Equal(strs(got["policies"]), []string{"dev", "ops"}) {
			t.Errorf("read %s policies = %v, want lower-cased, sorted, deduplicated", path, got["policies"])
		}
		if !reflect.DeepEqual(got["metadata"], map[string]string{"team": "payments"}) {
			t.Errorf("read %s metadata = %v", path, got["metadata"])
		}
		for _, k := range []string{"aliases", "group_ids", "direct_group_ids", "inherited_group_ids", "creation_time", "last_update_time", "disabled"} {
			if _, ok := got[k]; !ok {
				t.Errorf("read %s lacks %q", path, k)
			}
		}
	}

	// Updates answer nothing (204), as in Vault.
	if got := h.write("entity/id/"+id, map[string]any{"disabled": true}); got != nil {
		t.Fatalf("update answered %v", got)
	}
	if got := h.write("entity/name/alice", map[string]any{"cedar_type": "Service"}); got != nil {
		t.Fatalf("update by name answered %v", got)
	}
	if got := h.write("entity", map[string]any{"name": "alice", "policies": []any{"x"}}); got != nil {
		t.Fatalf("update through entity by name answered %v", got)
	}
	got := h.read("entity/id/" + id)
	if got["disabled"] != true || got["cedar_uid"] != `Service::"alice"` || !slices.Equal(strs(got["policies"]), []string{"x"}) {
		t.Fatalf("after updates: %v", got)
	}
	if !reflect.DeepEqual(got["metadata"], map[string]string{"team": "payments"}) {
		t.Fatalf("an update without metadata changed it: %v", got["metadata"])
	}
	// Rename by id.
	h.write("entity/id/"+id, map[string]any{"name": "alice2"})
	if h.read("entity/name/alice") != nil || h.read("entity/name/alice2")["id"] != id {
		t.Fatal("rename did not move the name index")
	}
	// entity/name/:name creates when the name is free.
	if out := h.write("entity/name/bob", nil); out == nil || out["name"] != "bob" {
		t.Fatalf("create by name = %v", out)
	}
	// An unnamed entity gets Vault's generated name.
	if out := h.write("entity", nil); len(out["name"].(string)) != len("entity_12345678") {
		t.Fatalf("generated name = %v", out["name"])
	}
}

func TestEntityValidation(t *testing.T) {
	h := newHarness(t)
	aliceID := h.entity("alice", nil)
	h.entity("bob", nil)
	cases := []struct {
		name string
		path string
		data map[string]any
	}{
		{"bad cedar_type", "entity", map[string]any{"name": "x", "cedar_type": "Robot"}},
		{"lower-case cedar_type", "entity", map[string]any{"name": "x", "cedar_type": "user"}},
		{"bad cedar_type on update", "entity/id/" + aliceID, map[string]any{"cedar_type": "Group"}},
		{"root policy", "entity", map[string]any{"name": "x", "policies": []any{"root"}}},
		{"unknown id", "entity/id/nope", map[string]any{"name": "x"}},
		{"unknown id in body", "entity", map[string]any{"id": "nope"}},
		{"rename onto a taken name", "entity/id/" + aliceID, map[string]any{"name": "bob"}},
		{"metadata reserved prefix", "entity", map[string]any{"name": "x", "metadata": map[string]any{"vault-x": "1"}}},
		{"metadata bad key", "entity", map[string]any{"name": "x", "metadata": map[string]any{"a b": "1"}}},
		{"metadata not strings", "entity", map[string]any{"name": "x", "metadata": []any{1}}},
		{"disabled not a bool", "entity", map[string]any{"name": "x", "disabled": "maybe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.mustFail(t, logical.UpdateOperation, tc.path, tc.data, logical.ErrInvalidRequest)
		})
	}
	if h.read("entity/name/x") != nil {
		t.Fatal("a refused write created an entity")
	}
	if got := h.read("entity/id/" + aliceID); got["cedar_type"] != "User" || got["name"] != "alice" {
		t.Fatalf("a refused update changed the entity: %v", got)
	}
}

func TestEntityMetadataKVPairs(t *testing.T) {
	h := newHarness(t)
	h.write("entity", map[string]any{"name": "a", "metadata": "team=payments"})
	h.write("entity", map[string]any{"name": "b", "metadata": []any{"team=ops", "env=prod"}})
	if got := h.read("entity/name/a")["metadata"]; !reflect.DeepEqual(got, map[string]string{"team": "payments"}) {
		t.Errorf("one pair: %v", got)
	}
	if got := h.read("entity/name/b")["metadata"]; !reflect.DeepEqual(got, map[string]string{"team": "ops", "env": "prod"}) {
		t.Errorf("two pairs: %v", got)
	}
	h.mustFail(t, logical.UpdateOperation, "entity", map[string]any{"name": "c", "metadata": "nopair"}, logical.ErrInvalidRequest)
}

func TestEntityList(t *testing.T) {
	h := newHarness(t)
	ids := []string{h.entity("carol", nil), h.entity("alice", nil), h.entity("bob", map[string]any{"cedar_type": "Service"})}
	h.write("entity-alias", map[string]any{"name": "al", "mount_accessor": "auth_up_1", "canonical_id": ids[1]})
	byName := h.must(logical.ListOperation, "entity/name", nil)
	if !slices.Equal(strs(byName["keys"]), []string{"alice", "bob", "carol"}) {
		t.Fatalf("list by name keys = %v", byName["keys"])
	}
	info := byName["key_info"].(map[string]any)
	if e := info["bob"].(map[string]any); e["name"] != "bob" || e["cedar_type"] != "Service" {
		t.Errorf("key_info[bob] = %v", e)
	}
	aliases := info["alice"].(map[string]any)["aliases"].([]any)
	if len(aliases) != 1 || aliases[0].(map[string]any)["name"] != "al" || aliases[0].(map[string]any)["mount_accessor"] != "auth_up_1" {
		t.Errorf("key_info[alice].aliases = %v", aliases)
	}
	byID := h.must(logical.ListOperation, "entity/id/", nil)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(strs(byID["keys"]), want) {
		t.Fatalf("list by id keys = %v, want %v", byID["keys"], want)
	}
	if _, ok := byID["key_info"].(map[string]any)[ids[0]]; !ok {
		t.Error("list by id: key_info not keyed by id")
	}
	empty := newHarness(t).must(logical.ListOperation, "entity/id", nil)
	if len(strs(empty["keys"])) != 0 || empty["key_info"] != nil {
		t.Errorf("empty list = %v", empty)
	}
}

func TestEntityDeleteCascades(t *testing.T) {
	for _, path := range []string{"entity/id/", "entity/name/"} {
		t.Run(path, func(t *testing.T) {
			h := newHarness(t)
			id := h.entity("alice", nil)
			other := h.entity("bob", nil)
			gid := h.group("devs", map[string]any{"member_entity_ids": []any{id, other}})
			alias := h.write("entity-alias", map[string]any{"name": "alice", "mount_accessor": "acc1", "canonical_id": id})["id"].(string)
			h.login(loginAs("acc1", "alice", "ldap-admins"))

			key := id
			if path == "entity/name/" {
				key = "alice"
			}
			if got := h.must(logical.DeleteOperation, path+key, nil); got != nil {
				t.Fatalf("delete answered %v", got)
			}
			if h.read("entity/id/"+id) != nil || h.read("entity/name/alice") != nil {
				t.Fatal("entity still readable")
			}
			if h.read("entity-alias/id/"+alias) != nil {
				t.Fatal("alias survived its entity")
			}
			if _, ok := h.s.EntityByAlias("acc1", "alice"); ok {
				t.Fatal("alias index survived its entity")
			}
			if got := strs(h.read("group/id/" + gid)["member_entity_ids"]); !slices.Equal(got, []string{other}) {
				t.Fatalf("group members = %v, want only %s", got, other)
			}
			if got := strs(h.read("group/name/ldap-admins")["member_entity_ids"]); len(got) != 0 {
				t.Fatalf("external group members = %v", got)
			}
			if _, ok := h.s.Principal(id); ok {
				t.Fatal("Principal of a deleted entity")
			}
			// Deleting what is gone is not an error.
			if _, err := h.do(logical.DeleteOperation, path+key, nil); err != nil {
				t.Fatalf("second delete: %v", err)
			}
			// The name is free again.
			h.entity("alice", nil)
		})
	}
}

func TestUnknownPathsAndOperations(t *testing.T) {
	h := newHarness(t)
	if _, err := h.do(logical.ReadOperation, "entity/nope/x", nil); !errors.Is(err, logical.ErrUnsupportedPath) {
		t.Errorf("unknown path: %v", err)
	}
	if _, err := h.do(logical.ListOperation, "entity", nil); !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Errorf("list on entity: %v", err)
	}
	for _, p := range []string{"entity", "entity/id/x", "entity/name", "entity-alias", "group/name/x", "group-alias/id/x"} {
		info, ok := h.s.Backend().(logical.RouteDescriber).RouteInfo(p, logical.UpdateOperation)
		if !ok || info != (logical.RouteInfo{}) {
			t.Errorf("RouteInfo(%s) = %+v, %v; want an ordinary route", p, info, ok)
		}
	}
}
