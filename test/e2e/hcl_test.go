package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// hclPolicies are Vault HCL policies as an operator would write them.
var hclPolicies = map[string]string{
	"dev": `
path "secret/data/app/*" { capabilities = ["create", "read", "update", "list"] }
# more specific than app/*: read-only, no create
path "secret/data/app/db" { capabilities = ["read"] }
path "secret/data/+/config" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["list"] }
path "sys/mounts/*" { capabilities = ["create", "update", "read"] }
path "sys/auth/*" { capabilities = ["create", "update"] }
`,
	"ops": `
path "secret/data/app/private/*" { capabilities = ["deny"] }
path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }
`,
}

// TestHCLPoliciesAsVault: HCL policies written and bound to tokens with
// the OpenBao API client (what `bao policy write` and `bao token create
// -policy=` send) allow exactly what Vault's semantics give; vaultctl
// writes and converts the same files; unsupported HCL is a 400 naming it.
func TestHCLPoliciesAsVault(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	init := s.initUnseal(3, 2)
	root := s.client(init.RootToken)
	if err := root.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app/x", "app/db", "web/config", "app/private/key", "other"} {
		if _, err := root.KVv2("secret").Put(ctx, p, map[string]any{"v": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.Sys().PutPolicy("dev", hclPolicies["dev"]); err != nil {
		t.Fatalf("put dev: %v", err)
	}
	// vaultctl writes the other from a file.
	file := filepath.Join(t.TempDir(), "ops.hcl")
	if err := os.WriteFile(file, []byte(hclPolicies["ops"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := s.vaultctl(init.RootToken, "", "policy", "write", "ops", file); code != 0 {
		t.Fatalf("vaultctl policy write: %d %s %s", code, out, errOut)
	}
	if got, err := root.Sys().GetPolicy("dev"); err != nil || got != hclPolicies["dev"] {
		t.Fatalf("get dev = %q, %v", got, err)
	}
	names, err := root.Sys().ListPolicies()
	if err != nil || !slices.Contains(names, "dev") || !slices.Contains(names, "ops") || !slices.Contains(names, "default") || !slices.Contains(names, "root") {
		t.Fatalf("list policies = %v, %v", names, err)
	}
	token := func(policies ...string) *vault.Client {
		sec, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: policies})
		if err != nil {
			t.Fatal(err)
		}
		return s.client(sec.Auth.ClientToken)
	}
	dev, both := token("dev"), token("dev", "ops")
	type call struct {
		name    string
		cl      *vault.Client
		op      string
		path    string
		data    map[string]any
		allowed bool
	}
	put := map[string]any{"data": map[string]any{"v": "2"}}
	tests := []call{
		{"glob read", dev, "read", "secret/data/app/x", nil, true},
		{"glob update", dev, "write", "secret/data/app/x", put, true},
		{"glob create of a new key", dev, "write", "secret/data/app/new", put, true},
		{"more specific path decides: read", dev, "read", "secret/data/app/db", nil, true},
		{"more specific path decides: no update", dev, "write", "secret/data/app/db", put, false},
		{"+ matches one segment", dev, "read", "secret/data/web/config", nil, true},
		{"+ does not cross /", dev, "read", "secret/data/a/b/config", nil, false},
		{"outside every path", dev, "read", "secret/data/other", nil, false},
		{"list through the metadata glob", dev, "list", "secret/metadata/app", nil, true},
		{"deny in a held policy wins on its path", both, "read", "secret/data/app/private/key", nil, false},
		{"deny path not held", dev, "read", "secret/data/app/private/key", nil, true},
		{"sys/mounts is not a sudo path in Vault", dev, "write", "sys/mounts/kv2", map[string]any{"type": "kv-v2"}, true},
		{"sys/auth/* needs sudo", dev, "write", "sys/auth/up1", map[string]any{"type": "userpass"}, false},
		{"sys/auth/* with sudo", both, "write", "sys/auth/up2", map[string]any{"type": "userpass"}, true},
		{"the default policy: lookup-self", dev, "read", "auth/token/lookup-self", nil, true},
		{"the default policy: nothing else in sys", dev, "read", "sys/policy/dev", nil, false},
	}
	for _, tc := range tests {
		var err error
		switch tc.op {
		case "read":
			_, err = tc.cl.Logical().Read(tc.path)
		case "list":
			_, err = tc.cl.Logical().List(tc.path)
		default:
			_, err = tc.cl.Logical().Write(tc.path, tc.data)
		}
		if st := responseStatus(err); (st == http.StatusForbidden) == tc.allowed || err != nil && st != http.StatusForbidden {
			t.Errorf("%s: %s %s: %v, want allowed=%v", tc.name, tc.op, tc.path, err, tc.allowed)
		}
	}
	// The Vault CLI's kv commands first ask sys/internal/ui/mounts/<path>
	// for the mount and its kv version: answered to a token with access
	// inside the mount, refused to one without.
	m, err := dev.Logical().Read("sys/internal/ui/mounts/secret/app/x")
	if err != nil || m == nil || m.Data["type"] != "kv" || m.Data["path"] != "secret/" {
		t.Fatalf("ui mounts for dev: %v, %v", m, err)
	}
	if _, err := token("default").Logical().Read("sys/internal/ui/mounts/secret/app/x"); responseStatus(err) != http.StatusForbidden {
		t.Fatalf("ui mounts for a token without access: %v, want 403", err)
	}
	caps, err := dev.Sys().CapabilitiesSelf("secret/data/app/x")
	if err != nil || !slices.Equal(caps, []string{"create", "list", "read", "update"}) {
		t.Fatalf("capabilities-self = %v, %v", caps, err)
	}
	// Unsupported HCL is refused, naming what, and changes nothing.
	err = root.Sys().PutPolicy("dev", `path "secret/data/*" {
  capabilities = ["read"]
  allowed_parameters = { "v" = [] }
}`)
	if responseStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "allowed_parameters") {
		t.Fatalf("allowed_parameters: %v, want a 400 naming it", err)
	}
	if err := root.Sys().PutPolicy("broken", `path "secret/*" { capabilities = ["read"] `); responseStatus(err) != http.StatusBadRequest {
		t.Fatalf("bad HCL: %v, want 400", err)
	}
	if _, err := dev.Logical().Read("secret/data/app/x"); err != nil {
		t.Fatalf("the old dev policy is no longer in force: %v", err)
	}
	// vaultctl policy convert prints the Cedar the server compiles.
	out, errOut, code := s.vaultctl("", "", "policy", "convert", file)
	if code != 0 || !strings.Contains(out, "forbid") || !strings.Contains(out, `principal.policies.contains("ops")`) {
		t.Fatalf("vaultctl policy convert: %d %q %q", code, out, errOut)
	}
}
