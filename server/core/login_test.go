package core_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

// doFrom is do from a client address.
func doFrom(t *testing.T, c *core.Core, addr, tok string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	return c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, ClientToken: tok,
		Connection: &logical.Connection{RemoteAddr: addr}})
}

// TestLoginsBindIdentities: a userpass login makes a User entity, an
// approle login a Service entity; Cedar policies on their names and
// groups decide; token_bound_cidrs and disabled entities are enforced.
func TestLoginsBindIdentities(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	for _, p := range []string{"dev/app", "prod/app", "ci/deploy"} {
		mustDo(t, c, root, logical.UpdateOperation, "secret/data/"+p, map[string]any{"data": map[string]any{"v": "1"}})
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/auth/userpass", map[string]any{"type": "userpass"})
	mustDo(t, c, root, logical.UpdateOperation, "sys/auth/approle", map[string]any{"type": "approle"})
	mustDo(t, c, root, logical.UpdateOperation, "auth/userpass/users/alice", map[string]any{"password": "correct horse", "token_policies": "dev"})
	mustDo(t, c, root, logical.UpdateOperation, "auth/userpass/users/bob", map[string]any{"password": "battery staple", "token_bound_cidrs": "10.0.0.0/8"})
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/cedar/teams", map[string]any{"policy": `
@id("devs-read-dev")
permit(principal in Group::"developers", action == Action::"read", resource in Secret::"secret/data/dev");
@id("ci-reads-ci")
permit(principal == Service::"ci", action == Action::"read", resource in Secret::"secret/data/ci");
@id("bob-reads-dev")
permit(principal == User::"bob", action == Action::"read", resource in Secret::"secret/data/dev");
`})

	login := mustDo(t, c, root, logical.UpdateOperation, "auth/userpass/login/alice", map[string]any{"password": "correct horse"}).Auth
	if login == nil || login.ClientToken == "" || login.EntityID == "" || !slices.Contains(login.Policies, "dev") || !slices.Contains(login.Policies, "default") {
		t.Fatalf("userpass login auth = %+v", login)
	}
	alice := login.ClientToken
	ent := mustDo(t, c, root, logical.ReadOperation, "identity/entity/id/"+login.EntityID, nil).Data
	if ent["name"] != "alice" || ent["cedar_type"] != "User" {
		t.Fatalf("alice's entity = %v", ent)
	}
	if self := mustDo(t, c, alice, logical.ReadOperation, "auth/token/lookup-self", nil).Data; self["entity_id"] != login.EntityID {
		t.Fatalf("lookup-self entity_id = %v, want %s", self["entity_id"], login.EntityID)
	}
	if _, err := do(t, c, alice, logical.ReadOperation, "secret/data/dev/app", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("alice before joining developers: %v", err)
	}
	mustDo(t, c, root, logical.UpdateOperation, "identity/group", map[string]any{"name": "developers", "member_entity_ids": []string{login.EntityID}})
	if _, err := do(t, c, alice, logical.ReadOperation, "secret/data/dev/app", nil); err != nil {
		t.Fatalf("alice in developers reads dev: %v", err)
	}
	if _, err := do(t, c, alice, logical.ReadOperation, "secret/data/prod/app", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("alice reads prod: %v", err)
	}
	// A second login finds the same entity.
	again := mustDo(t, c, root, logical.UpdateOperation, "auth/userpass/login/alice", map[string]any{"password": "correct horse"}).Auth
	if again.EntityID != login.EntityID {
		t.Fatalf("second login entity %s, first %s", again.EntityID, login.EntityID)
	}
	if _, err := do(t, c, "", logical.UpdateOperation, "auth/userpass/login/alice", map[string]any{"password": "wrong"}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("wrong password: %v", err)
	}

	// approle: a Service entity named after the role.
	mustDo(t, c, root, logical.UpdateOperation, "auth/approle/role/ci", map[string]any{"token_ttl": "10m"})
	roleID := mustDo(t, c, root, logical.ReadOperation, "auth/approle/role/ci/role-id", nil).Data["role_id"]
	secretID := mustDo(t, c, root, logical.UpdateOperation, "auth/approle/role/ci/secret-id", nil).Data["secret_id"]
	ci := mustDo(t, c, "", logical.UpdateOperation, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID}).Auth
	if ci.LeaseDuration != 600 {
		t.Fatalf("approle token lease %d, want 600 (token_ttl)", ci.LeaseDuration)
	}
	if ent := mustDo(t, c, root, logical.ReadOperation, "identity/entity/id/"+ci.EntityID, nil).Data; ent["name"] != "ci" || ent["cedar_type"] != "Service" {
		t.Fatalf("approle entity = %v", ent)
	}
	if _, err := do(t, c, ci.ClientToken, logical.ReadOperation, "secret/data/ci/deploy", nil); err != nil {
		t.Fatalf("Service::ci reads ci: %v", err)
	}

	// token_bound_cidrs: bob logs in from 10/8 and may use the token only there.
	bob, err := doFrom(t, c, "10.1.2.3", "", logical.UpdateOperation, "auth/userpass/login/bob", map[string]any{"password": "battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doFrom(t, c, "10.9.9.9", bob.Auth.ClientToken, logical.ReadOperation, "secret/data/dev/app", nil); err != nil {
		t.Fatalf("bob inside his CIDR: %v", err)
	}
	if _, err := doFrom(t, c, "192.0.2.1", bob.Auth.ClientToken, logical.ReadOperation, "secret/data/dev/app", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("bob outside his CIDR: %v", err)
	}

	// A disabled entity's tokens stop working.
	mustDo(t, c, root, logical.UpdateOperation, "identity/entity/id/"+login.EntityID, map[string]any{"disabled": true})
	if _, err := do(t, c, alice, logical.ReadOperation, "auth/token/lookup-self", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("disabled entity's token: %v", err)
	}
}
