package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// BenchmarkKVv2 measures KV v2 writes and reads through the whole core
// pipeline (token authentication, routing, kv engine, barrier, inmem).
func BenchmarkKVv2(b *testing.B) {
	c, res := newCore(b)
	root := res.RootToken
	if _, err := do(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("x", 1024)
	for i := range 1000 {
		path := fmt.Sprintf("secret/data/bench/%d", i)
		if _, err := do(b, c, root, logical.UpdateOperation, path, map[string]any{"data": map[string]any{"v": value}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			path := fmt.Sprintf("secret/data/bench/%d", i%1000)
			if _, err := do(b, c, root, logical.UpdateOperation, path, map[string]any{"data": map[string]any{"v": value}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			path := fmt.Sprintf("secret/data/bench/%d", i%1000)
			if _, err := do(b, c, root, logical.ReadOperation, path, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// allowAll is an Authorizer that allows everything: authorization "off".
type allowAll struct{}

func (allowAll) Authorize(context.Context, *authz.Request) (authz.Decision, error) {
	return authz.Decision{Allowed: true}, nil
}

// BenchmarkKVv2Authorized is BenchmarkKVv2 with a non-root token, so that
// every request is decided by the policy set — one permitting policy
// among n others (group-scoped permits and forbids on their own paths) —
// against the same requests with authorization off (an Authorizer that
// allows everything): the difference is what authorization costs.
func BenchmarkKVv2Authorized(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
		off  bool
	}{{"authz=off", 0, true}, {"policies=1", 0, false}, {"policies=1000", 1000, false}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := core.Config{Physical: inmem.New()}
			if tc.off {
				cfg.Authorizer = allowAll{}
			}
			c, res := newCoreWith(b, cfg)
			root := res.RootToken
			mustDoB(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
			var doc strings.Builder
			doc.WriteString(`permit(principal, action in [Action::"read", Action::"write"], resource in Secret::"secret/data/bench") when { principal.policies.contains("bench") };` + "\n")
			for i := range tc.n {
				effect := "permit"
				if i%5 == 0 {
					effect = "forbid"
				}
				fmt.Fprintf(&doc, "%s(principal in Group::\"team-%d\", action == Action::\"read\", resource in Secret::\"secret/data/team-%d\");\n", effect, i%50, i)
			}
			mustDoB(b, c, root, logical.UpdateOperation, "sys/policies/cedar/bench", map[string]any{"policy": doc.String()})
			resp := mustDoB(b, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"bench"}})
			tok := resp.Auth.ClientToken
			value := strings.Repeat("x", 1024)
			for i := range 1000 {
				mustDoB(b, c, tok, logical.UpdateOperation, fmt.Sprintf("secret/data/bench/%d", i), map[string]any{"data": map[string]any{"v": value}})
			}
			b.Run("put", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					mustDoB(b, c, tok, logical.UpdateOperation, fmt.Sprintf("secret/data/bench/%d", i%1000), map[string]any{"data": map[string]any{"v": value}})
				}
			})
			b.Run("get", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					mustDoB(b, c, tok, logical.ReadOperation, fmt.Sprintf("secret/data/bench/%d", i%1000), nil)
				}
			})
		})
	}
}

func mustDoB(b *testing.B, c *core.Core, tok string, op logical.Operation, path string, data map[string]any) *logical.Response {
	b.Helper()
	resp, err := do(b, c, tok, op, path, data)
	if err != nil {
		b.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}
