package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

// childToken mints a token with policies through auth/token/create.
func childToken(t *testing.T, c *core.Core, root string, policies ...string) string {
	t.Helper()
	resp, err := do(t, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": policies})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Auth.ClientToken
}

const appReader = `
@id("app-read")
permit(principal, action in [Action::"read", Action::"list"], resource in Secret::"secret/data/app")
  when { principal.policies.contains("app-reader") };
@id("no-app-secrets")
forbid(principal, action, resource in Secret::"secret/data/app/secrets")
  when { principal.policies.contains("app-reader") };
`

// TestCedarPoliciesDecide: a stored Cedar policy permits, a forbid
// overrides it, everything else is denied, and the set survives a seal.
func TestCedarPoliciesDecide(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	for _, p := range []string{"app/db", "app/secrets/key", "other/x"} {
		mustDo(t, c, root, logical.UpdateOperation, "secret/data/"+p, map[string]any{"data": map[string]any{"v": "1"}})
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/cedar/app", map[string]any{"policy": appReader})
	tok := childToken(t, c, root, "app-reader")
	check := func(when string) {
		t.Helper()
		tests := []struct {
			op      logical.Operation
			path    string
			allowed bool
		}{
			{logical.ReadOperation, "secret/data/app/db", true},
			{logical.ReadOperation, "secret/data/app/secrets/key", false},
			{logical.ReadOperation, "secret/data/other/x", false},
			{logical.UpdateOperation, "secret/data/app/db", false},
			{logical.ReadOperation, "sys/policies/cedar/app", false},
		}
		for _, tt := range tests {
			_, err := do(t, c, tok, tt.op, tt.path, map[string]any{"data": map[string]any{"v": "2"}})
			if denied := errors.Is(err, logical.ErrPermissionDenied); denied == tt.allowed {
				t.Errorf("%s: %s %s: err %v, want allowed=%v", when, tt.op, tt.path, err, tt.allowed)
			}
		}
	}
	check("after the write")
	resp := mustDo(t, c, root, logical.ListOperation, "sys/policies/cedar", nil)
	if keys, _ := resp.Data["keys"].([]string); !slices.Equal(keys, []string{"app"}) {
		t.Fatalf("list = %v", resp.Data)
	}
	if resp := mustDo(t, c, root, logical.ReadOperation, "sys/policies/cedar/app", nil); resp.Data["policy"] != appReader || resp.Data["name"] != "app" {
		t.Fatalf("read = %v", resp.Data)
	}
	resealed(t, c, res)
	check("after a seal and unseal")

	// A bad document is a 400 and the old set stays in force.
	for name, bad := range map[string]string{
		"syntax":              "permit(principal, action,\n  resource",
		"unknown action":      `permit(principal, action == Action::"reed", resource);`,
		"unknown entity type": `permit(principal == Person::"bob", action, resource);`,
		"unknown attribute":   `permit(principal, action, resource) when { context.colour == "red" };`,
		"empty":               "  ",
	} {
		_, err := do(t, c, root, logical.UpdateOperation, "sys/policies/cedar/app", map[string]any{"policy": bad})
		if !errors.Is(err, logical.ErrInvalidRequest) {
			t.Fatalf("%s policy: %v, want 400", name, err)
		}
		if name != "empty" && !strings.Contains(err.Error(), "line") {
			t.Errorf("%s policy: %q does not give the position", name, err)
		}
	}
	check("after refused updates")
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/policies/cedar/Bad Name", map[string]any{"policy": appReader}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("bad name: %v", err)
	}
	mustDo(t, c, root, logical.DeleteOperation, "sys/policies/cedar/app", nil)
	if _, err := do(t, c, tok, logical.ReadOperation, "secret/data/app/db", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("read after the policy was deleted: %v", err)
	}
}

// TestExplainAndCapabilities: explain names the deciding policies and
// the principal; capabilities are answered from the same set; asking
// about another token needs sudo.
func TestExplainAndCapabilities(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/cedar/app", map[string]any{"policy": appReader})
	tok := childToken(t, c, root, "app-reader")
	explain := func(caller string, data map[string]any) map[string]any {
		t.Helper()
		return mustDo(t, c, caller, logical.UpdateOperation, "sys/authz/explain", data).Data
	}
	x := explain(root, map[string]any{"token": tok, "path": "secret/data/app/secrets/key"})
	if x["allowed"] != false || !slices.Equal(x["policy_ids"].([]string), []string{"no-app-secrets"}) ||
		!strings.HasPrefix(x["principal"].(string), "Token::") || x["action"] != `Action::"read"` ||
		x["resource"] != `Secret::"secret/data/app/secrets/key"` {
		t.Fatalf("explain a forbidden read = %v", x)
	}
	if pols := x["policies"].([]map[string]any); len(pols) != 1 || !strings.Contains(pols[0]["text"].(string), "forbid") {
		t.Fatalf("explain does not show the deciding policy's text: %v", x["policies"])
	}
	// The token explains itself without naming itself.
	x = explain(tok, map[string]any{"path": "secret/data/app/db"})
	if x["allowed"] != true || !slices.Equal(x["policy_ids"].([]string), []string{"app-read"}) {
		t.Fatalf("self explain of an allowed read = %v", x)
	}
	x = explain(tok, map[string]any{"path": "secret/data/other", "operation": "update"})
	if x["allowed"] != false || len(x["policy_ids"].([]string)) != 0 || !strings.Contains(x["reason"].(string), "no policy") && x["reason"] == "" {
		t.Fatalf("explain of a default deny = %v", x)
	}
	if _, err := do(t, c, tok, logical.UpdateOperation, "sys/authz/explain", map[string]any{"token": root, "path": "secret/data/app/db"}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("a token without sudo explained another token: %v", err)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/authz/explain", map[string]any{"path": "x", "operation": "fly"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("unknown operation: %v", err)
	}

	caps := mustDo(t, c, tok, logical.UpdateOperation, "sys/capabilities-self", map[string]any{"paths": []string{"secret/data/app/db", "secret/data/app/secrets/x", "secret/metadata/"}}).Data
	for path, want := range map[string][]string{
		"secret/data/app/db":        {"list", "read"},
		"secret/data/app/secrets/x": {"deny"},
		"secret/metadata/":          {"deny"},
	} {
		if got, _ := caps[path].([]string); !slices.Equal(got, want) {
			t.Errorf("capabilities-self %s = %v, want %v", path, caps[path], want)
		}
	}
	rootCaps := mustDo(t, c, root, logical.UpdateOperation, "sys/capabilities", map[string]any{"token": root, "paths": []string{"sys/seal"}}).Data
	if got, _ := rootCaps["capabilities"].([]string); !slices.Equal(got, []string{"root"}) {
		t.Fatalf("root capabilities = %v", rootCaps)
	}
	if _, err := do(t, c, tok, logical.UpdateOperation, "sys/capabilities", map[string]any{"token": root, "paths": []string{"x"}}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("capabilities of another token without sudo: %v", err)
	}
}

func mustDo(t *testing.T, c *core.Core, tok string, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := do(t, c, tok, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// resealed seals c and unseals it again with the init keys.
func resealed(t *testing.T, c *core.Core, res *core.InitResult) {
	t.Helper()
	ctx := context.Background()
	if err := c.Seal(ctx, res.RootToken); err != nil {
		t.Fatal(err)
	}
	for _, k := range res.Keys[:3] {
		if _, err := c.Unseal(ctx, mustHex(t, k)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPathsCannotDodgePolicies: a path a backend would resolve to
// another secret than the one authorized is refused before authorization.
func TestPathsCannotDodgePolicies(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	mustDo(t, c, root, logical.UpdateOperation, "secret/data/app/secrets/key", map[string]any{"data": map[string]any{"v": "1"}})
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/cedar/app", map[string]any{"policy": appReader + `
permit(principal, action == Action::"read", resource) when { principal.policies.contains("app-reader") };`})
	tok := childToken(t, c, root, "app-reader")
	if _, err := do(t, c, tok, logical.ReadOperation, "secret/data/app/secrets/key", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("the forbid does not apply: %v", err)
	}
	for _, p := range []string{"secret//data/app/secrets/key", "secret/data//app/secrets/key", "secret/./data/app/secrets/key",
		"secret/data/app/x/../secrets/key", "/secret/data/app/secrets//key"} {
		if _, err := do(t, c, tok, logical.ReadOperation, p, nil); !errors.Is(err, logical.ErrInvalidRequest) {
			t.Errorf("%s: %v, want 400", p, err)
		}
	}
	if _, err := do(t, c, tok, logical.ReadOperation, "//secret/data/app/secrets/key", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("leading slashes: %v, want the forbid", err)
	}
}

// TestContextTTL: context.ttl is the requested ttl, or the TTL the
// backend would grant when none is sent.
func TestContextTTL(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/cedar/minter", map[string]any{"policy": `
permit(principal, action == Action::"update", resource == Secret::"auth/token/create")
  when { principal.policies.contains("minter") && context.ttl <= duration("1h") };`})
	tok := childToken(t, c, root, "minter")
	tests := []struct {
		data    map[string]any
		allowed bool
	}{
		{map[string]any{"ttl": "30m"}, true},
		{map[string]any{"ttl": "2h"}, false},
		{map[string]any{}, false}, // the default TTL, 768h
		{map[string]any{"explicit_max_ttl": "45m"}, true},
	}
	for _, tt := range tests {
		tt.data["policies"] = []string{"minter"}
		_, err := do(t, c, tok, logical.UpdateOperation, "auth/token/create", tt.data)
		if denied := errors.Is(err, logical.ErrPermissionDenied); denied == tt.allowed || err != nil && !denied {
			t.Errorf("create %v: %v, want allowed=%v", tt.data, err, tt.allowed)
		}
	}
	x := mustDo(t, c, tok, logical.UpdateOperation, "sys/authz/explain", map[string]any{"path": "auth/token/create", "operation": "update", "ttl": "10m"}).Data
	if x["allowed"] != true || x["context"].(map[string]any)["ttl"] == nil {
		t.Fatalf("explain with a ttl = %v", x)
	}
}
