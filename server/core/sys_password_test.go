package core_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestPasswordPolicies(t *testing.T) {
	c, res := newCore(t)
	root := res.RootToken
	const policy = `
length = 12
rule "charset" {
  charset   = "abc"
  min-chars = 2
}
rule "charset" {
  charset   = "0123456789"
  min-chars = 3
}
`
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/password/short", map[string]any{"policy": policy})
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/password/b64", map[string]any{"policy": base64.StdEncoding.EncodeToString([]byte(policy))})
	for _, name := range []string{"short", "b64"} {
		if got := mustDo(t, c, root, logical.ReadOperation, "sys/policies/password/"+name, nil).Data["policy"]; got != policy {
			t.Fatalf("%s: read back %q", name, got)
		}
		for range 20 {
			pw := mustDo(t, c, root, logical.ReadOperation, "sys/policies/password/"+name+"/generate", nil).Data["password"].(string)
			letters, digits := 0, 0
			for _, r := range pw {
				switch {
				case strings.ContainsRune("abc", r):
					letters++
				case strings.ContainsRune("0123456789", r):
					digits++
				default:
					t.Fatalf("%q holds a rune outside the policy", pw)
				}
			}
			if len(pw) != 12 || letters < 2 || digits < 3 {
				t.Fatalf("%q breaks the policy", pw)
			}
		}
	}
	keys := mustDo(t, c, root, logical.ListOperation, "sys/policies/password", nil).Data["keys"].([]string)
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	for _, tc := range []struct {
		name, path string
		data       map[string]any
		want       error
	}{
		{"bad policy", "sys/policies/password/bad", map[string]any{"policy": "length = 2\nrule \"charset\" { charset = \"a\" }"}, logical.ErrInvalidRequest},
		{"missing policy", "sys/policies/password/bad", map[string]any{}, logical.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := do(t, c, root, logical.UpdateOperation, tc.path, tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	mustDo(t, c, root, logical.DeleteOperation, "sys/policies/password/short", nil)
	if _, err := do(t, c, root, logical.ReadOperation, "sys/policies/password/short/generate", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("generate from a deleted policy: %v", err)
	}
}
