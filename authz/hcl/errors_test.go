package hcl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/authz/hcl"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("a/", 32) + "+/b*"
	tests := []struct {
		name, text string
		want       []string // substrings of the message
	}{
		{"syntax error with line", "path \"a\" {\n  capabilities = [\"read\"\n}\n", []string{"At 3:1"}},
		{"unclosed block", "path \"a\" {\n capabilities = [\"read\"]\n", []string{"At "}},
		{"key twice", "path \"a\" {\n capabilities = [\"read\"]\n capabilities = [\"list\"]\n}", []string{"capabilities", "already set"}},
		{"unknown top-level key", "paths \"a\" { capabilities = [\"read\"] }", []string{`invalid key "paths"`, "line 1"}},
		{"unknown path key", "path \"secret/a\" {\n  capabilities = [\"read\"]\n  colour = \"red\"\n}", []string{`path "secret/a"`, `invalid key "colour"`, "line 3"}},
		{"allowed_parameters", "path \"secret/a\" {\n capabilities = [\"update\"]\n allowed_parameters = { \"x\" = [] }\n}", []string{`path "secret/a"`, `"allowed_parameters"`, "not enforced", "line 3"}},
		{"denied_parameters", `path "a" { denied_parameters = { "x" = [] } }`, []string{`"denied_parameters"`}},
		{"required_parameters", `path "a" { required_parameters = ["x"] }`, []string{`"required_parameters"`}},
		{"min_wrapping_ttl", `path "a" { min_wrapping_ttl = "1h" }`, []string{`"min_wrapping_ttl"`}},
		{"max_wrapping_ttl", `path "a" { max_wrapping_ttl = "1h" }`, []string{`"max_wrapping_ttl"`}},
		{"control_group", `path "a" { control_group = { ttl = "1h" } }`, []string{`"control_group"`}},
		{"mfa_methods", `path "a" { mfa_methods = ["totp"] }`, []string{`"mfa_methods"`}},
		{"expiration", `path "a" { expiration = "2030-01-01T00:00:00Z" }`, []string{`"expiration"`}},
		{"unsupported capability subscribe", "path \"a\" {\n capabilities = [\"read\", \"subscribe\"]\n}", []string{`capability "subscribe"`, `path "a"`, "line 2"}},
		{"unsupported capability recover", `path "a" { capabilities = ["recover"] }`, []string{`capability "recover"`}},
		{"unsupported capability scan", `path "a" { capabilities = ["scan"] }`, []string{`capability "scan"`}},
		{"capability not a string", `path "a" { capabilities = [1] }`, []string{"capabilities"}},
		{"capabilities not a list", `path "a" { capabilities = "read" }`, []string{"list of strings"}},
		{"bad legacy policy", `path "a" { policy = "admin" }`, []string{`invalid policy "admin"`}},
		{"* in the middle", `path "secret/*/config" { capabilities = ["read"] }`, []string{`path "secret/*/config"`, "only allowed at the end"}},
		{"+*", `path "secret/+*" { capabilities = ["read"] }`, []string{"'+*' is forbidden"}},
		{"+ beyond segment 31 before a glob", `path "` + deep + `" { capabilities = ["read"] }`, []string{"segment 32"}},
		{"+ at segment 31 before a glob", `path "` + strings.Repeat("a/", 31) + `+/b*" { capabilities = ["read"] }`, []string{"too deep"}},
		{"templated path", `path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }`, []string{"templated"}},
		{"path without a name", `path { capabilities = ["read"] }`, []string{"path name"}},
		{"path with two names", `path "a" "b" { capabilities = ["read"] }`, []string{"path name"}},
		{"path not a block", `path "a" = "read"`, []string{"At 1:10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hcl.Parse("p", tt.text)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, is := range []error{hcl.ErrBadPolicy, authz.ErrBadPolicy, logical.ErrInvalidRequest} {
				if !errors.Is(err, is) {
					t.Errorf("error %q is not %v", err, is)
				}
			}
			for _, w := range append(tt.want, `policy "p"`) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	for _, name := range []string{"", "root"} {
		if _, err := hcl.Parse(name, `path "a" { capabilities = ["read"] }`); !errors.Is(err, hcl.ErrBadPolicy) {
			t.Errorf("Parse(%q) = %v, want ErrBadPolicy", name, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	p, err := hcl.Parse("a", `path "x" { capabilities = ["read"] }`)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]map[string]*hcl.Policy{
		"nil policy":      {"a": nil},
		"name mismatch":   {"b": p},
		"rule not parsed": {"c": {Name: "c", Rules: []hcl.Rule{{Path: "x", Capabilities: []string{"read"}}}}},
	}
	for name, set := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := hcl.Compile(set); !errors.Is(err, hcl.ErrBadPolicy) {
				t.Fatalf("Compile = %v, want ErrBadPolicy", err)
			}
		})
	}
}
