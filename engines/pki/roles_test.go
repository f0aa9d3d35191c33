package pki_test

import (
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRoleNameRules(t *testing.T) {
	h := newHarness(t)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec", "ttl": "8760h"})
	roles := map[string]map[string]any{
		"sub":      {"allowed_domains": "example.com", "allow_subdomains": true, "allow_localhost": false},
		"bare":     {"allowed_domains": "example.com", "allow_bare_domains": true},
		"glob":     {"allowed_domains": "*.svc.example.com", "allow_glob_domains": true},
		"any":      {"allow_any_name": true},
		"anyloose": {"allow_any_name": true, "enforce_hostnames": false},
		"local":    {"allowed_domains": "example.com"},
		"noip":     {"allowed_domains": "example.com", "allow_subdomains": true, "allow_ip_sans": false},
		"nowild":   {"allowed_domains": "example.com", "allow_subdomains": true, "allow_wildcard_certificates": false},
	}
	for name, r := range roles {
		r["key_type"] = "ec"
		h.write("roles/"+name, r)
	}
	for _, tc := range []struct {
		name, role string
		data       map[string]any
		field      string // "" means allowed
	}{
		{"subdomain", "sub", map[string]any{"common_name": "a.example.com"}, ""},
		{"deep subdomain", "sub", map[string]any{"common_name": "a.b.example.com"}, ""},
		{"wildcard subdomain", "sub", map[string]any{"common_name": "*.example.com"}, ""},
		{"bare refused without allow_bare_domains", "sub", map[string]any{"common_name": "example.com"}, "common_name"},
		{"other domain", "sub", map[string]any{"common_name": "a.example.org"}, "common_name"},
		{"suffix without dot", "sub", map[string]any{"common_name": "badexample.com"}, "common_name"},
		{"localhost off", "sub", map[string]any{"common_name": "localhost"}, "common_name"},
		{"alt name outside", "sub", map[string]any{"common_name": "a.example.com", "alt_names": "evil.org"}, "alt_names"},
		{"bare", "bare", map[string]any{"common_name": "example.com"}, ""},
		{"bare refuses subdomain", "bare", map[string]any{"common_name": "a.example.com"}, "common_name"},
		{"glob", "glob", map[string]any{"common_name": "db.svc.example.com"}, ""},
		{"glob miss", "glob", map[string]any{"common_name": "db.example.com"}, "common_name"},
		{"any", "any", map[string]any{"common_name": "whatever.org"}, ""},
		{"any still enforces hostnames", "any", map[string]any{"common_name": "not a host!"}, "common_name"},
		{"any without enforce_hostnames", "anyloose", map[string]any{"common_name": "not a host!"}, ""},
		{"localhost by default", "local", map[string]any{"common_name": "localhost"}, ""},
		{"ip san allowed", "sub", map[string]any{"common_name": "a.example.com", "ip_sans": "10.0.0.1"}, ""},
		{"ip san refused", "noip", map[string]any{"common_name": "a.example.com", "ip_sans": "10.0.0.1"}, "ip_sans"},
		{"bad ip", "sub", map[string]any{"common_name": "a.example.com", "ip_sans": "10.0.0"}, "ip_sans"},
		{"wildcard refused", "nowild", map[string]any{"common_name": "*.example.com"}, "common_name"},
		{"missing common name", "sub", map[string]any{}, "common_name"},
		{"ttl past max", "sub", map[string]any{"common_name": "a.example.com", "ttl": "100000h"}, "ttl"},
		{"unknown role", "nope", map[string]any{"common_name": "a.example.com"}, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.do(logical.UpdateOperation, "issue/"+tc.role, tc.data)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if leaf := parsePEM(t, str(t, resp, "certificate")); leaf.Subject.CommonName != tc.data["common_name"] {
					t.Fatalf("CN = %q", leaf.Subject.CommonName)
				}
				return
			}
			wantField(t, err, tc.field, "")
		})
	}
}

func TestRoleReadAndList(t *testing.T) {
	h := newHarness(t)
	h.write("roles/r1", map[string]any{"allowed_domains": []any{"a.com"}, "key_type": "ec", "ttl": "1h", "max_ttl": "2h"})
	got := h.must(logical.ReadOperation, "roles/r1", nil).Data
	if got["key_bits"] != 256 || got["ttl"] != int64(3600) || got["enforce_hostnames"] != true || got["issuer_ref"] != "default" {
		t.Fatalf("role = %v", got)
	}
	list := h.must(logical.ListOperation, "roles/", nil)
	if keys := list.Data["keys"].([]string); len(keys) != 1 || keys[0] != "r1" {
		t.Fatalf("list = %v", list.Data)
	}
	for _, tc := range []struct {
		data  map[string]any
		field string
	}{
		{map[string]any{"key_type": "dsa"}, "key_type"},
		{map[string]any{"key_type": "ec", "key_bits": 255}, "key_bits"},
		{map[string]any{"ttl": "3h", "max_ttl": "2h"}, "ttl"},
		{map[string]any{"ext_key_usage": "Telepathy"}, "ext_key_usage"},
		{map[string]any{"ttl": "soon"}, "ttl"},
	} {
		_, err := h.do(logical.UpdateOperation, "roles/bad", tc.data)
		wantField(t, err, tc.field, "")
	}
	if _, err := h.do(logical.ReadOperation, "roles/bad", nil); err == nil {
		t.Fatal("a refused role write stored the role")
	}
	h.must(logical.DeleteOperation, "roles/r1", nil)
	if _, err := h.do(logical.ListOperation, "roles/", nil); err == nil {
		t.Fatal("list after delete found roles")
	}
}

func TestLeafNotAfterBehavior(t *testing.T) {
	h := newHarness(t)
	root := h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec", "ttl": "10h", "issuer_name": "r"})
	caExp := time.Unix(root.Data["expiration"].(int64), 0)
	h.write("roles/web", map[string]any{"allow_any_name": true, "key_type": "ec", "max_ttl": "100h"})
	_, err := h.do(logical.UpdateOperation, "issue/web", map[string]any{"common_name": "a.com", "ttl": "20h"})
	wantField(t, err, "ttl", "beyond the expiration of the CA certificate")

	h.write("issuer/r", map[string]any{"leaf_not_after_behavior": "truncate"})
	resp := h.write("issue/web", map[string]any{"common_name": "a.com", "ttl": "20h"})
	if got := time.Unix(resp.Data["expiration"].(int64), 0); !got.Equal(caExp) {
		t.Fatalf("truncate: expiration %v, want the CA's %v", got, caExp)
	}
	h.write("issuer/r", map[string]any{"leaf_not_after_behavior": "permit"})
	resp = h.write("issue/web", map[string]any{"common_name": "a.com", "ttl": "20h"})
	if got := time.Unix(resp.Data["expiration"].(int64), 0); !got.After(caExp) {
		t.Fatalf("permit: expiration %v not past the CA's %v", got, caExp)
	}
	_, err = h.do(logical.UpdateOperation, "issuer/r", map[string]any{"leaf_not_after_behavior": "maybe"})
	wantField(t, err, "leaf_not_after_behavior", "")
}
