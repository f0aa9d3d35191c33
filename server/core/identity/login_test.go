package identity_test

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
)

func loginAs(acc, name string, groups ...string) identity.LoginAlias {
	return identity.LoginAlias{MountAccessor: acc, MountType: "userpass", MountPath: "auth/userpass/", Name: name, GroupNames: groups}
}

func TestLoginCreatesThenFinds(t *testing.T) {
	h := newHarness(t)
	l := loginAs("acc1", "alice")
	l.Metadata = map[string]string{"role": "a"}
	id := h.login(l)
	p, ok := h.s.Principal(id)
	if !ok || p.Name != "alice" || p.Type != "User" {
		t.Fatalf("first login principal = %+v, %v", p, ok)
	}
	if id2 := h.login(l); id2 != id {
		t.Fatalf("second login = %s, want %s", id2, id)
	}
	l.Metadata = map[string]string{"role": "b"}
	l.EntityType = "Service" // an existing entity keeps its type
	h.login(l)
	if p, _ := h.s.Principal(id); p.Type != "User" {
		t.Fatalf("login changed the type of an existing entity: %s", p.Type)
	}
	ent := h.read("entity/id/" + id)
	as := ent["aliases"].([]any)
	if len(as) != 1 {
		t.Fatalf("aliases = %v", as)
	}
	a := as[0].(map[string]any)
	if !reflect.DeepEqual(a["metadata"], map[string]string{"role": "b"}) || a["mount_path"] != "auth/userpass/" || a["mount_type"] != "userpass" {
		t.Fatalf("alias after logins = %v", a)
	}
	if n := len(strs(h.must(logical.ListOperation, "entity/id", nil)["keys"])); n != 1 {
		t.Fatalf("%d entities, want 1", n)
	}
	if got, _ := h.s.Lookup(id); got != "alice" {
		t.Fatalf("Lookup = %q", got)
	}
}

func TestLoginEntityNameAndType(t *testing.T) {
	h := newHarness(t)
	h.entity("alice", nil)
	h.entity("alice@auth/userpass", nil)
	cases := []struct {
		name     string
		login    identity.LoginAlias
		wantName string
		wantType string
	}{
		{"entity name given", identity.LoginAlias{MountAccessor: "acc2", MountPath: "auth/approle/", Name: "role-id-1", EntityName: "ci", EntityType: "Service"}, "ci", "Service"},
		{"name taken: mount suffix then number", loginAs("acc1", "alice"), "alice@auth/userpass-2", "User"},
		{"name taken once", identity.LoginAlias{MountAccessor: "acc3", MountPath: "auth/ldap/", Name: "alice"}, "alice@auth/ldap", "User"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := h.s.Login(h.ctx, tc.login)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := h.s.Principal(id)
			if p.Name != tc.wantName || p.Type != tc.wantType {
				t.Fatalf("entity %q %q, want %q %q", p.Name, p.Type, tc.wantName, tc.wantType)
			}
		})
	}
	_, err := h.s.Login(h.ctx, identity.LoginAlias{MountAccessor: "a", Name: "x", EntityType: "Robot"})
	if !errors.Is(err, logical.ErrInvalidRequest) {
		t.Errorf("bad entity type: %v", err)
	}
	if _, err := h.s.Login(h.ctx, identity.LoginAlias{MountAccessor: "a"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Errorf("no alias name: %v", err)
	}
}

func TestLoginExternalGroups(t *testing.T) {
	h := newHarness(t)
	// An internal group named "admins" is never joined by a login.
	h.group("admins", map[string]any{"policies": "admin"})
	aliased := h.group("engineering", map[string]any{"type": "external", "policies": "eng"})
	h.write("group-alias", map[string]any{"name": "devs", "mount_accessor": "acc1", "canonical_id": aliased})
	existing := h.group("ops", map[string]any{"type": "external", "policies": "ops"})
	parent := h.group("staff", map[string]any{"member_group_ids": []any{aliased}, "policies": "staff"})

	id := h.login(loginAs("acc1", "alice", "devs", "ops", "admins", "newgroup"))
	p, _ := h.s.Principal(id)
	wantGroups := map[string][]string{"engineering": {"staff"}, "staff": {}, "ops": {}, "newgroup": {}}
	if !reflect.DeepEqual(p.Groups, wantGroups) {
		t.Fatalf("groups = %v, want %v", p.Groups, wantGroups)
	}
	if !slices.Equal(p.Policies, []string{"eng", "ops", "staff"}) {
		t.Fatalf("policies = %v", p.Policies)
	}
	ng := h.read("group/name/newgroup")
	if ng["type"] != "external" || !slices.Equal(strs(ng["member_entity_ids"]), []string{id}) {
		t.Fatalf("created group = %v", ng)
	}
	if got := strs(h.read("group/id/" + existing)["member_entity_ids"]); !slices.Equal(got, []string{id}) {
		t.Fatalf("ops members = %v", got)
	}
	if got := strs(h.read("group/name/admins")["member_entity_ids"]); len(got) != 0 {
		t.Fatalf("internal group joined by login: %v", got)
	}
	_ = parent

	// Another mount's memberships are kept when this mount's are replaced.
	id2 := h.login(identity.LoginAlias{MountAccessor: "acc2", MountPath: "auth/jwt/", Name: "alice-jwt", GroupNames: []string{"jwt-group"}})
	if id2 == id {
		t.Fatal("a second mount's alias joined the first entity")
	}
	h.write("entity-alias/id/"+aliasID(h, "acc2", "alice-jwt"), map[string]any{"canonical_id": id})
	h.login(identity.LoginAlias{MountAccessor: "acc2", MountPath: "auth/jwt/", Name: "alice-jwt", GroupNames: []string{"jwt-group"}})

	h.login(loginAs("acc1", "alice", "ops"))
	p, _ = h.s.Principal(id)
	wantGroups = map[string][]string{"ops": {}, "jwt-group": {}}
	if !reflect.DeepEqual(p.Groups, wantGroups) {
		t.Fatalf("after second login groups = %v, want %v", p.Groups, wantGroups)
	}
	if got := strs(h.read("group/name/newgroup")["member_entity_ids"]); len(got) != 0 {
		t.Fatalf("left group still lists the entity: %v", got)
	}
	h.login(loginAs("acc1", "alice"))
	p, _ = h.s.Principal(id)
	if !reflect.DeepEqual(p.Groups, map[string][]string{"jwt-group": {}}) {
		t.Fatalf("after login without groups = %v", p.Groups)
	}
}

// aliasID returns the id of alias (acc, name) through the API.
func aliasID(h *harness, acc, name string) string {
	h.t.Helper()
	list := h.must(logical.ListOperation, "entity-alias/id", nil)
	for id, v := range list["key_info"].(map[string]any) {
		if e := v.(map[string]any); e["mount_accessor"] == acc && e["name"] == name {
			return id
		}
	}
	h.t.Fatalf("no alias %s/%s", acc, name)
	return ""
}

func TestLoginDisabledEntity(t *testing.T) {
	h := newHarness(t)
	id := h.login(loginAs("acc1", "alice"))
	h.write("entity/id/"+id, map[string]any{"disabled": true})
	for _, l := range []identity.LoginAlias{loginAs("acc1", "alice"), loginAs("acc1", "alice", "g")} {
		_, err := h.s.Login(h.ctx, l)
		if !errors.Is(err, logical.ErrPermissionDenied) || !errors.Is(err, identity.ErrEntityDisabled) {
			t.Fatalf("login of a disabled entity: %v", err)
		}
	}
	if h.read("group/name/g") != nil {
		t.Fatal("a refused login created a group")
	}
}

func TestLoginConcurrentFirstLogins(t *testing.T) {
	h := newHarness(t)
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = h.s.Login(h.ctx, loginAs("acc1", "alice", "g1", "g2"))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("login %d = %q, %v; login 0 = %q", i, ids[i], errs[i], ids[0])
		}
	}
	if n := len(strs(h.must(logical.ListOperation, "entity/id", nil)["keys"])); n != 1 {
		t.Fatalf("%d entities, want 1", n)
	}
	if n := len(strs(h.must(logical.ListOperation, "group/id", nil)["keys"])); n != 2 {
		t.Fatalf("%d groups, want 2", n)
	}
}

func TestNotSetup(t *testing.T) {
	s := identity.New(newHarness(t).view, identity.Options{})
	if _, err := s.Login(t.Context(), loginAs("a", "b")); !errors.Is(err, logical.ErrUnavailable) {
		t.Errorf("Login before Setup: %v", err)
	}
	_, err := s.Backend().HandleRequest(t.Context(), &logical.Request{Operation: logical.ReadOperation, Path: "entity/id/x"})
	if !errors.Is(err, identity.ErrNotSetup) {
		t.Errorf("request before Setup: %v", err)
	}
}
