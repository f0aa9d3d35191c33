package identity_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
)

func TestEntityAlias(t *testing.T) {
	h := newHarness(t)
	alice := h.entity("alice", nil)
	bob := h.entity("bob", nil)

	out := h.write("entity-alias", map[string]any{"name": "alice", "mount_accessor": "acc1", "canonical_id": alice,
		"custom_metadata": map[string]any{"k": "v"}})
	aid := out["id"].(string)
	if out["canonical_id"] != alice {
		t.Fatalf("create answer = %v", out)
	}
	got := h.read("entity-alias/id/" + aid)
	if got["name"] != "alice" || got["mount_accessor"] != "acc1" || got["canonical_id"] != alice ||
		!reflect.DeepEqual(got["custom_metadata"], map[string]string{"k": "v"}) {
		t.Fatalf("read = %v", got)
	}
	ent := h.read("entity/id/" + alice)
	if as := ent["aliases"].([]any); len(as) != 1 || as[0].(map[string]any)["id"] != aid {
		t.Fatalf("entity aliases = %v", ent["aliases"])
	}

	// Without canonical_id a new entity is made for the alias.
	out = h.write("entity-alias", map[string]any{"name": "ci", "mount_accessor": "acc2"})
	if h.read("entity/id/"+out["canonical_id"].(string)) == nil {
		t.Fatal("alias without canonical_id: no entity")
	}

	refused := []struct {
		name string
		path string
		data map[string]any
	}{
		{"no name", "entity-alias", map[string]any{"mount_accessor": "acc1"}},
		{"no accessor", "entity-alias", map[string]any{"name": "x"}},
		{"unknown canonical", "entity-alias", map[string]any{"name": "x", "mount_accessor": "acc1", "canonical_id": "nope"}},
		{"second alias on one mount", "entity-alias", map[string]any{"name": "other", "mount_accessor": "acc1", "canonical_id": alice}},
		{"unknown alias id", "entity-alias/id/nope", map[string]any{"name": "x"}},
		{"move to unknown entity", "entity-alias/id/" + aid, map[string]any{"canonical_id": "nope"}},
		{"bad custom_metadata", "entity-alias", map[string]any{"name": "x", "mount_accessor": "a", "custom_metadata": map[string]any{"vault-k": "v"}}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			h.mustFail(t, logical.UpdateOperation, tc.path, tc.data, logical.ErrInvalidRequest)
		})
	}

	// (mount_accessor, name) is unique: a second write of it updates.
	out = h.write("entity-alias", map[string]any{"name": "alice", "mount_accessor": "acc1", "custom_metadata": map[string]any{"k": "w"}})
	if out["id"] != aid {
		t.Fatalf("write of an existing (accessor, name) made alias %v, want %s", out["id"], aid)
	}
	// A rename onto an existing (accessor, name) is refused.
	h.write("entity-alias", map[string]any{"name": "bobby", "mount_accessor": "acc3", "canonical_id": bob})
	h.mustFail(t, logical.UpdateOperation, "entity-alias/id/"+aid, map[string]any{"name": "bobby", "mount_accessor": "acc3"}, logical.ErrInvalidRequest)

	// Move the alias to bob.
	out = h.write("entity-alias/id/"+aid, map[string]any{"canonical_id": bob})
	if out["canonical_id"] != bob {
		t.Fatalf("move answer = %v", out)
	}
	if as := h.read("entity/id/" + alice)["aliases"].([]any); len(as) != 0 {
		t.Fatalf("alice still has aliases %v", as)
	}
	if id, _ := h.s.EntityByAlias("acc1", "alice"); id != bob {
		t.Fatalf("EntityByAlias after move = %q, want bob", id)
	}
	if h.read("entity-alias/id/" + aid)["canonical_id"] != bob {
		t.Fatal("alias read after move")
	}

	list := h.must(logical.ListOperation, "entity-alias/id", nil)
	if keys := strs(list["keys"]); len(keys) != 3 || !slices.Contains(keys, aid) {
		t.Fatalf("list keys = %v", keys)
	}
	if e := list["key_info"].(map[string]any)[aid].(map[string]any); e["canonical_id"] != bob || e["mount_accessor"] != "acc1" || e["name"] != "alice" {
		t.Fatalf("key_info = %v", e)
	}

	h.must(logical.DeleteOperation, "entity-alias/id/"+aid, nil)
	if h.read("entity-alias/id/"+aid) != nil || h.read("entity/id/"+bob) == nil {
		t.Fatal("alias delete: alias kept or entity removed")
	}
	if _, ok := h.s.EntityByAlias("acc1", "alice"); ok {
		t.Fatal("alias index after delete")
	}
}

func TestMountResolver(t *testing.T) {
	h := newHarness(t)
	mounts := map[string]identity.MountInfo{"acc1": {Path: "auth/userpass/", Type: "userpass"}}
	h.s = identity.New(h.view, identity.Options{Now: h.clock.Now, Mounts: func(acc string) (identity.MountInfo, bool) {
		mi, ok := mounts[acc]
		return mi, ok
	}})
	if err := h.s.Setup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.mustFail(t, logical.UpdateOperation, "entity-alias", map[string]any{"name": "a", "mount_accessor": "nope"}, logical.ErrInvalidRequest)
	h.mustFail(t, logical.UpdateOperation, "group-alias", map[string]any{"name": "a", "mount_accessor": "nope"}, logical.ErrInvalidRequest)
	id := h.write("entity-alias", map[string]any{"name": "a", "mount_accessor": "acc1"})["id"].(string)
	if got := h.read("entity-alias/id/" + id); got["mount_path"] != "auth/userpass/" || got["mount_type"] != "userpass" {
		t.Fatalf("alias mount = %v %v", got["mount_path"], got["mount_type"])
	}
	mounts["acc1"] = identity.MountInfo{Path: "auth/people/", Type: "userpass"} // remounted
	if got := h.read("entity-alias/id/" + id); got["mount_path"] != "auth/people/" {
		t.Fatalf("alias mount after remount = %v", got["mount_path"])
	}
}
