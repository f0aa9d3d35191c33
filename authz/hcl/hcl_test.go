package hcl_test

import (
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/authz"

	"github.com/secretumvault/secretumvault/authz/hcl"
)

// semantics is one set of HCL policies the table below asks about.
var semantics = map[string]string{
	"dev": `
path "secret/data/exact" { capabilities = ["read"] }
path "secret/data/app/*" { capabilities = ["read", "list", "create"] }
# more specific than app/*, and grants less
path "secret/data/app/db" { capabilities = ["list"] }
path "secret/data/app/private/ok" { capabilities = ["read"] }
path "secret/data/+/config" { capabilities = ["read"] }
path "secret/data/shared" { capabilities = ["read"] }
path "secret/metadata/" { capabilities = ["list"] }
path "secret/metadata/team" { capabilities = ["list"] }
path "secret/metadata/+" { capabilities = ["list"] }
`,
	"ops": `
path "secret/data/shared" { capabilities = ["update"] }
path "secret/data/app/private/*" { capabilities = ["deny"] }
path "sys/mounts/*" { capabilities = ["create", "update", "sudo"] }
path "sys/policy/*" { capabilities = ["update"] }
`,
	"sudoer": `
path "sys/policy/*" { capabilities = ["sudo"] }
`,
	"legacy": `
path "kv/read/*" { policy = "read" }
path "kv/write/*" { policy = "write" }
path "kv/deny/*" { policy = "deny" }
path "kv/sudo/*" { policy = "sudo" }
`,
	"default": hcl.DefaultPolicy,
}

func TestSemantics(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testSemantics(t, loadWith(t, semantics, true, m.opts)) })
	}
}

func testSemantics(t *testing.T, c *authz.Cedar) {
	dev, ops, both := []string{"dev"}, []string{"ops"}, []string{"dev", "ops"}
	tests := []struct {
		name     string
		policies []string
		op, path string
		sudo     bool
		want     bool
	}{
		{"exact path", dev, "read", "secret/data/exact", false, true},
		{"exact path: other operation", dev, "update", "secret/data/exact", false, false},
		{"exact path: no glob below it", dev, "read", "secret/data/exact/x", false, false},
		{"* glob", dev, "read", "secret/data/app/x/y", false, true},
		{"* glob: the prefix itself is not matched", dev, "read", "secret/data/app", false, false},
		{"* glob: a prefix is a string prefix", dev, "read", "secret/data/app/", false, true},
		{"* glob: another path", dev, "read", "secret/data/apples", false, false},
		{"+ glob", dev, "read", "secret/data/web/config", false, true},
		{"+ glob: not across /", dev, "read", "secret/data/web/x/config", false, false},
		{"+ glob: not a prefix", dev, "read", "secret/data/web/config/x", false, false},
		{"later first wildcard wins: app/* over +/config", dev, "create", "secret/data/app/config", false, true},
		{"more specific path wins though it grants less", dev, "read", "secret/data/app/db", false, false},
		{"more specific path grants its own", dev, "list", "secret/data/app/db", false, true},
		{"deny in a held policy", both, "read", "secret/data/app/private/x", false, false},
		{"deny only within its path", both, "read", "secret/data/app/other", false, true},
		{"deny only within its path: a more specific path decides", both, "read", "secret/data/app/private/ok", false, true},
		{"deny path not held", dev, "read", "secret/data/app/private/x", false, true},
		{"only the held policy counts", ops, "read", "secret/data/app/x", false, false},
		{"identical paths merge: read from dev", both, "read", "secret/data/shared", false, true},
		{"identical paths merge: update from ops", both, "update", "secret/data/shared", false, true},
		{"one of two policies: dev has no update", dev, "update", "secret/data/shared", false, false},
		{"one of two policies: ops has no read", ops, "read", "secret/data/shared", false, false},
		{"sudo path with sudo", ops, "create", "sys/mounts/kv", true, true},
		{"sudo path: sudo does not grant the operation", ops, "delete", "sys/mounts/kv", true, false},
		{"sudo path without sudo", ops, "update", "sys/policy/p", true, false},
		{"not a sudo route: sudo not needed", ops, "update", "sys/policy/p", false, true},
		{"sudo merged from another policy on the same path", []string{"ops", "sudoer"}, "update", "sys/policy/p", true, true},
		{"sudo alone grants no operation", []string{"sudoer"}, "update", "sys/policy/p", true, false},
		{"legacy read", []string{"legacy"}, "read", "kv/read/x", false, true},
		{"legacy read lists", []string{"legacy"}, "list", "kv/read/", false, true},
		{"legacy read does not write", []string{"legacy"}, "update", "kv/read/x", false, false},
		{"legacy write", []string{"legacy"}, "delete", "kv/write/x", false, true},
		{"legacy write has no patch", []string{"legacy"}, "patch", "kv/write/x", false, false},
		{"legacy write has no sudo", []string{"legacy"}, "update", "kv/write/x", true, false},
		{"legacy deny", []string{"legacy"}, "read", "kv/deny/x", false, false},
		{"legacy sudo", []string{"legacy"}, "update", "kv/sudo/x", true, true},
		{"list with trailing slash on an exact path", dev, "list", "secret/metadata/", false, true},
		{"exact path without the slash covers its list", dev, "list", "secret/metadata/team/", false, true},
		{"exact path fallback is for list only", dev, "read", "secret/metadata/team/", false, false},
		{"+ glob covers the list of x/", dev, "list", "secret/metadata/app/", false, true},
		{"+ glob list fallback is for list only", dev, "read", "secret/metadata/app/", false, false},
		{"no policy", nil, "read", "secret/data/exact", false, false},
		{"default: lookup-self", []string{"default"}, "read", "auth/token/lookup-self", false, true},
		{"default: cubbyhole", []string{"default"}, "create", "cubbyhole/notes", false, true},
		{"default: oidc authorize", []string{"default"}, "update", "identity/oidc/provider/p1/authorize", false, true},
		{"default: nothing else", []string{"default"}, "read", "sys/mounts", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowed(t, c, tt.policies, tt.op, tt.path, tt.sudo); got != tt.want {
				t.Fatalf("%v %s %s (sudo %v) allowed = %v, want %v", tt.policies, tt.op, tt.path, tt.sudo, got, tt.want)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	p, err := hcl.Parse("p", `
path "/secret/a" { capabilities = ["read"] }
path "secret/a" { capabilities = ["update", "read"] }
path "secret/b" {
  policy = "read"
  capabilities = ["delete"]
}
path "secret/c" { capabilities = ["read", "deny"] }
path "secret/d" { capabilities = [] }
path "secret/e" { comment = "no-op" capabilities = ["list"] }
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		path string
		caps string
		line int
	}{
		{"secret/a", "read,update", 2},
		{"secret/b", "read,delete,list", 4},
		{"secret/c", "deny", 8},
		{"secret/d", "", 9},
		{"secret/e", "list", 10},
	}
	if len(p.Rules) != len(want) {
		t.Fatalf("rules = %+v", p.Rules)
	}
	for i, w := range want {
		r := p.Rules[i]
		if r.Path != w.path || strings.Join(r.Capabilities, ",") != w.caps || r.Line != w.line {
			t.Errorf("rule %d = %s %v line %d, want %s [%s] line %d", i, r.Path, r.Capabilities, r.Line, w.path, w.caps, w.line)
		}
	}
}

func TestParseJSON(t *testing.T) {
	c := authorizer(t, map[string]string{"j": `{"path": {"secret/*": {"capabilities": ["read"]}, "secret/x": {"capabilities": ["deny"]}}}`})
	if !allowed(t, c, []string{"j"}, "read", "secret/y", false) {
		t.Fatal("JSON policy: read secret/y denied")
	}
	if allowed(t, c, []string{"j"}, "read", "secret/x", false) {
		t.Fatal("JSON policy: read secret/x allowed")
	}
}

func TestConvert(t *testing.T) {
	out, err := hcl.Convert("app", `path "secret/data/app*" { capabilities = ["read"] }`)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`@id("hcl:app:permit:secret/data/app*")`,
		`resource in Secret::"secret/data"`,
		`resource.path like "secret/data/app*"`,
		`principal.policies.contains("app")`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Convert output lacks %s:\n%s", want, out)
		}
	}
	validateDocs(t, map[string]string{"app": out})
}

func TestDefaultPolicyCompiles(t *testing.T) {
	out, err := hcl.Convert("default", hcl.DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	validateDocs(t, map[string]string{"default": out})
	if n := strings.Count(out, "@id("); n < 14 {
		t.Fatalf("default policy compiled to %d Cedar policies, want at least 14", n)
	}
}
