package identity_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestGroupCreateReadUpdate(t *testing.T) {
	h := newHarness(t)
	alice := h.entity("alice", nil)
	child := h.group("child", nil)
	out := h.write("group", map[string]any{"name": "devs", "policies": []any{"Dev"}, "member_entity_ids": []any{alice},
		"member_group_ids": child, "metadata": map[string]any{"site": "eu"}})
	gid := out["id"].(string)
	if out["name"] != "devs" || out["cedar_uid"] != `Group::"devs"` {
		t.Fatalf("create answer = %v", out)
	}
	for _, path := range []string{"group/id/" + gid, "group/name/devs"} {
		got := h.read(path)
		want := map[string]any{
			"id": gid, "name": "devs", "type": "internal", "policies": []string{"dev"},
			"member_entity_ids": []string{alice}, "member_group_ids": []string{child}, "parent_group_ids": []string{},
			"metadata": map[string]string{"site": "eu"}, "cedar_uid": `Group::"devs"`, "alias": map[string]any{},
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("read %s %s = %#v, want %#v", path, k, got[k], v)
			}
		}
	}
	if got := h.read("group/id/" + child)["parent_group_ids"]; !slices.Equal(strs(got), []string{gid}) {
		t.Errorf("child parent_group_ids = %v", got)
	}
	if ent := h.read("entity/id/" + alice); !slices.Equal(strs(ent["direct_group_ids"]), []string{gid}) {
		t.Errorf("entity direct_group_ids = %v", ent["direct_group_ids"])
	}

	// Updates answer nothing; by name through group and group/name.
	if got := h.write("group", map[string]any{"name": "devs", "policies": "a,b"}); got != nil {
		t.Fatalf("update answered %v", got)
	}
	h.write("group/name/devs", map[string]any{"member_group_ids": []any{}})
	h.write("group/id/"+gid, map[string]any{"name": "developers"})
	got := h.read("group/name/developers")
	if got["id"] != gid || !slices.Equal(strs(got["policies"]), []string{"a", "b"}) || len(strs(got["member_group_ids"])) != 0 {
		t.Fatalf("after updates: %v", got)
	}
	if !slices.Equal(strs(got["member_entity_ids"]), []string{alice}) {
		t.Fatalf("an update without member_entity_ids changed them: %v", got["member_entity_ids"])
	}
	if h.read("group/name/devs") != nil {
		t.Fatal("old name still resolves")
	}
	if len(strs(h.read("group/id/" + child)["parent_group_ids"])) != 0 {
		t.Fatal("child still has a parent after member_group_ids was emptied")
	}
	// group/name/:name creates when free.
	if out := h.write("group/name/ops", map[string]any{"type": "external"}); out == nil || out["name"] != "ops" {
		t.Fatalf("create by name = %v", out)
	}
	if h.read("group/name/ops")["type"] != "external" {
		t.Fatal("external type lost")
	}
}

func TestGroupValidation(t *testing.T) {
	h := newHarness(t)
	alice := h.entity("alice", nil)
	a := h.group("a", nil)
	b := h.group("b", map[string]any{"member_group_ids": []any{a}})
	c := h.group("c", map[string]any{"member_group_ids": []any{b}})
	ext := h.group("ext", map[string]any{"type": "external"})
	cases := []struct {
		name string
		path string
		data map[string]any
	}{
		{"cycle of two", "group/id/" + a, map[string]any{"member_group_ids": []any{b}}},
		{"cycle of three", "group/id/" + a, map[string]any{"member_group_ids": []any{c}}},
		{"self member", "group/id/" + a, map[string]any{"member_group_ids": []any{a}}},
		{"unknown member entity", "group", map[string]any{"name": "x", "member_entity_ids": []any{alice, "nope"}}},
		{"unknown member group", "group", map[string]any{"name": "x", "member_group_ids": []any{"nope"}}},
		{"external with member entities", "group", map[string]any{"name": "x", "type": "external", "member_entity_ids": []any{alice}}},
		{"external group member entities on update", "group/id/" + ext, map[string]any{"member_entity_ids": []any{alice}}},
		{"external with member groups", "group/id/" + ext, map[string]any{"member_group_ids": []any{a}}},
		{"type change", "group/id/" + a, map[string]any{"type": "external"}},
		{"bad type", "group", map[string]any{"name": "x", "type": "dynamic"}},
		{"name in use", "group/id/" + a, map[string]any{"name": "b"}},
		{"unknown id", "group/id/nope", map[string]any{"policies": "p"}},
		{"root policy", "group", map[string]any{"name": "x", "policies": "root"}},
		{"bad metadata", "group", map[string]any{"name": "x", "metadata": map[string]any{"": "v"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.mustFail(t, logical.UpdateOperation, tc.path, tc.data, logical.ErrInvalidRequest)
		})
	}
	if h.read("group/name/x") != nil {
		t.Fatal("a refused write created a group")
	}
	if got := strs(h.read("group/id/" + a)["member_group_ids"]); len(got) != 0 {
		t.Fatalf("a refused cycle was applied: %v", got)
	}
	// An external group may be a member of an internal one.
	h.write("group/id/"+c, map[string]any{"member_group_ids": []any{b, ext}})
}

func TestGroupListAndDelete(t *testing.T) {
	h := newHarness(t)
	alice := h.entity("alice", nil)
	leaf := h.group("leaf", map[string]any{"member_entity_ids": alice})
	mid := h.group("mid", map[string]any{"member_group_ids": leaf})
	top := h.group("top", map[string]any{"member_group_ids": mid, "policies": "top"})

	list := h.must(logical.ListOperation, "group/name", nil)
	if !slices.Equal(strs(list["keys"]), []string{"leaf", "mid", "top"}) {
		t.Fatalf("list by name = %v", list["keys"])
	}
	if e := list["key_info"].(map[string]any)["leaf"].(map[string]any); e["num_member_entities"] != 1 || e["num_parent_groups"] != 1 {
		t.Fatalf("key_info[leaf] = %v", e)
	}
	byID := h.must(logical.ListOperation, "group/id/", nil)
	if !slices.Equal(strs(byID["keys"]), slices.Sorted(slices.Values([]string{leaf, mid, top}))) {
		t.Fatalf("list by id = %v", byID["keys"])
	}
	if p, _ := h.s.Principal(alice); !slices.Equal(p.Policies, []string{"top"}) {
		t.Fatalf("policies before delete = %v", p.Policies)
	}

	h.must(logical.DeleteOperation, "group/name/mid", nil)
	if h.read("group/id/"+mid) != nil {
		t.Fatal("deleted group readable")
	}
	if got := strs(h.read("group/id/" + top)["member_group_ids"]); len(got) != 0 {
		t.Fatalf("parent still lists the deleted group: %v", got)
	}
	if got := strs(h.read("group/id/" + leaf)["parent_group_ids"]); len(got) != 0 {
		t.Fatalf("child still has the deleted parent: %v", got)
	}
	p, _ := h.s.Principal(alice)
	if len(p.Policies) != 0 || !reflect.DeepEqual(p.Groups, map[string][]string{"leaf": {}}) {
		t.Fatalf("Principal after delete = %+v", p)
	}
	h.must(logical.DeleteOperation, "group/id/"+leaf, nil)
	if ent := h.read("entity/id/" + alice); len(strs(ent["group_ids"])) != 0 {
		t.Fatalf("entity group_ids after deletes = %v", ent["group_ids"])
	}
}

func TestGroupAlias(t *testing.T) {
	h := newHarness(t)
	ext := h.group("ldap-devs", map[string]any{"type": "external"})
	internal := h.group("internal", nil)

	out := h.write("group-alias", map[string]any{"name": "devs", "mount_accessor": "acc1", "canonical_id": ext})
	aid := out["id"].(string)
	if out["canonical_id"] != ext {
		t.Fatalf("create answer = %v", out)
	}
	got := h.read("group-alias/id/" + aid)
	if got["name"] != "devs" || got["mount_accessor"] != "acc1" || got["canonical_id"] != ext {
		t.Fatalf("read = %v", got)
	}
	if a := h.read("group/id/" + ext)["alias"].(map[string]any); a["id"] != aid {
		t.Fatalf("group alias field = %v", a)
	}

	refused := []struct {
		name string
		path string
		data map[string]any
	}{
		{"internal group", "group-alias", map[string]any{"name": "x", "mount_accessor": "acc1", "canonical_id": internal}},
		{"unknown group", "group-alias", map[string]any{"name": "x", "mount_accessor": "acc1", "canonical_id": "nope"}},
		{"duplicate", "group-alias", map[string]any{"name": "devs", "mount_accessor": "acc1"}},
		{"no name", "group-alias", map[string]any{"mount_accessor": "acc1"}},
		{"no accessor", "group-alias", map[string]any{"name": "x"}},
		{"unknown id", "group-alias/id/nope", map[string]any{"name": "x", "mount_accessor": "acc1"}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			h.mustFail(t, logical.UpdateOperation, tc.path, tc.data, logical.ErrInvalidRequest)
		})
	}

	// Without canonical_id a new external group is made.
	out = h.write("group-alias", map[string]any{"name": "ops", "mount_accessor": "acc1"})
	newGroup := h.read("group/id/" + out["canonical_id"].(string))
	if newGroup == nil || newGroup["type"] != "external" {
		t.Fatalf("new group for alias = %v", newGroup)
	}

	// Move devs to another external group.
	ext2 := h.group("ldap-devs2", map[string]any{"type": "external"})
	h.write("group-alias/id/"+aid, map[string]any{"name": "devs", "mount_accessor": "acc1", "canonical_id": ext2})
	if len(h.read("group/id/" + ext)["alias"].(map[string]any)) != 0 {
		t.Fatal("old group kept the moved alias")
	}
	if h.read("group-alias/id/" + aid)["canonical_id"] != ext2 {
		t.Fatal("alias not moved")
	}

	list := h.must(logical.ListOperation, "group-alias/id", nil)
	if keys := strs(list["keys"]); len(keys) != 2 || !slices.Contains(keys, aid) {
		t.Fatalf("list = %v", keys)
	}
	h.must(logical.DeleteOperation, "group-alias/id/"+aid, nil)
	if h.read("group-alias/id/"+aid) != nil || h.read("group/id/"+ext2) == nil {
		t.Fatal("delete: alias kept or group removed")
	}
	// Deleting a group deletes its alias.
	h.must(logical.DeleteOperation, "group/id/"+out["canonical_id"].(string), nil)
	if h.read("group-alias/id/"+out["id"].(string)) != nil {
		t.Fatal("group alias survived its group")
	}
}
