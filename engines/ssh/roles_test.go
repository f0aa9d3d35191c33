package ssh_test

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRoleReadShape(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "roles/web", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice,bob", "default_user": "alice",
		"ttl": "1h", "max_ttl": "2h", "default_extensions": map[string]any{"permit-pty": ""},
		"allowed_user_key_lengths": map[string]any{"rsa": []any{2048, 4096}}, "algorithm_signer": "rsa-sha2-512",
	})
	got := h.must(logical.ReadOperation, "roles/web", nil).Data
	want := map[string]any{
		"key_type": "ca", "allowed_users": "alice,bob", "default_user": "alice", "ttl": int64(3600), "max_ttl": int64(7200),
		"allow_user_certificates": true, "allow_host_certificates": false, "not_before_duration": int64(30),
		"algorithm_signer": "rsa-sha2-512", "allowed_extensions": "", "key_id_format": "",
		"default_extensions": map[string]string{"permit-pty": ""}, "default_critical_options": map[string]string{},
		"allowed_user_key_lengths": map[string][]int{"rsa": {2048, 4096}}, "allow_empty_principals": false,
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// A write replaces the whole role, as in Vault.
	h.must(logical.UpdateOperation, "roles/web", map[string]any{"key_type": "ca", "allow_host_certificates": true})
	got = h.must(logical.ReadOperation, "roles/web", nil).Data
	if got["allowed_users"] != "" || got["allow_user_certificates"] != false || got["algorithm_signer"] != "default" {
		t.Fatalf("rewritten role kept old fields: %v", got)
	}
}

func TestRoleListAndDelete(t *testing.T) {
	h := newHarness(t)
	if _, err := h.do(logical.ListOperation, "roles/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("empty list: %v, want not found", err)
	}
	for _, n := range []string{"b", "a", "ops@corp"} {
		req := &logical.Request{Operation: logical.CreateOperation, Path: "roles/" + n, Storage: h.storage}
		exists, ok, err := h.b.ExistenceCheck(t.Context(), req)
		if err != nil || !ok || exists {
			t.Fatalf("existence of %s before write: %v %v %v", n, exists, ok, err)
		}
		h.must(logical.CreateOperation, "roles/"+n, map[string]any{"key_type": "ca", "allow_user_certificates": true})
		if exists, _, _ := h.b.ExistenceCheck(t.Context(), req); !exists {
			t.Fatalf("%s does not exist after write", n)
		}
	}
	resp := h.must(logical.ListOperation, "roles/", nil)
	if fmt.Sprint(resp.Data["keys"]) != "[a b ops@corp]" {
		t.Fatalf("keys = %v", resp.Data["keys"])
	}
	if fmt.Sprint(resp.Data["key_info"]) != "map[a:map[key_type:ca] b:map[key_type:ca] ops@corp:map[key_type:ca]]" {
		t.Fatalf("key_info = %v", resp.Data["key_info"])
	}
	h.must(logical.DeleteOperation, "roles/a", nil)
	if _, err := h.do(logical.ReadOperation, "roles/a", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read of a deleted role: %v, want not found", err)
	}
}

func TestRoleValidation(t *testing.T) {
	base := map[string]any{"key_type": "ca", "allow_user_certificates": true}
	cases := []struct {
		name  string
		data  map[string]any
		field string
		msg   string
	}{
		{"missing key_type", map[string]any{"key_type": nil}, "key_type", "missing key type"},
		{"otp", map[string]any{"key_type": "otp"}, "key_type", "otp key type is not implemented"},
		{"dynamic", map[string]any{"key_type": "dynamic"}, "key_type", "no longer supported"},
		{"bogus key_type", map[string]any{"key_type": "x"}, "key_type", "invalid key type"},
		{"no certificate kind", map[string]any{"allow_user_certificates": false}, "allow_user_certificates", "Either 'allow_user_certificates' or 'allow_host_certificates' must be set to 'true'"},
		{"ttl above max_ttl", map[string]any{"ttl": "2h", "max_ttl": "1h"}, "ttl", `"ttl" value must be less than "max_ttl" when both are specified`},
		{"negative max_ttl", map[string]any{"max_ttl": -1}, "max_ttl", "negative"},
		{"negative not_before_duration", map[string]any{"not_before_duration": -1}, "not_before_duration", "negative"},
		{"bad ttl", map[string]any{"ttl": "soon"}, "ttl", "invalid duration"},
		{"allowed_users_template", map[string]any{"allowed_users_template": true}, "allowed_users_template", "identity templating is not supported"},
		{"default_user_template", map[string]any{"default_user_template": true}, "default_user_template", "identity templating is not supported"},
		{"allowed_domains_template", map[string]any{"allowed_domains_template": true}, "allowed_domains_template", "identity templating"},
		{"default_extensions_template", map[string]any{"default_extensions_template": true}, "default_extensions_template", "identity templating"},
		{"allow_empty_principals", map[string]any{"allow_empty_principals": true}, "allow_empty_principals", "never signed"},
		{"sha-1 signer", map[string]any{"algorithm_signer": "ssh-rsa"}, "algorithm_signer", "rsa-sha2-256"},
		{"unknown signer", map[string]any{"algorithm_signer": "md5"}, "algorithm_signer", "unknown algorithm signer"},
		{"unknown key length type", map[string]any{"allowed_user_key_lengths": map[string]any{"dsa": 1024}}, "allowed_user_key_lengths", "unknown key type"},
		{"bad key length", map[string]any{"allowed_user_key_lengths": map[string]any{"rsa": "big"}}, "allowed_user_key_lengths", "not a key size"},
		{"extensions not a map", map[string]any{"default_extensions": "permit-pty"}, "default_extensions", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			data := maps.Clone(base)
			maps.Copy(data, tc.data)
			_, err := h.do(logical.UpdateOperation, "roles/r", data)
			wantInvalid(t, err, tc.field, tc.msg)
			if keys, _ := h.storage.List(t.Context(), "roles/"); len(keys) != 0 {
				t.Fatalf("a refused write stored %v", keys)
			}
		})
	}
}

func TestRSASignerNeedsRSACA(t *testing.T) {
	h := newHarness(t)
	h.configureCA("ed25519")
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u", "algorithm_signer": "rsa-sha2-256"})
	_, err := h.do(logical.UpdateOperation, "sign/r", map[string]any{"public_key": pubLine(t, 0), "valid_principals": "u"})
	wantInvalid(t, err, "algorithm_signer", "needs an RSA CA key")
}

func TestRSASignatureAlgorithm(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "config/ca", map[string]any{"key_type": "rsa", "key_bits": 2048})
	for signer, want := range map[string]string{"": "rsa-sha2-256", "default": "rsa-sha2-256", "rsa-sha2-256": "rsa-sha2-256", "rsa-sha2-512": "rsa-sha2-512"} {
		t.Run(signer, func(t *testing.T) {
			h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u", "algorithm_signer": signer})
			c := parseCert(t, h.must(logical.UpdateOperation, "sign/r", map[string]any{"public_key": pubLine(t, 0), "valid_principals": "u"}).Data["signed_key"])
			if c.Signature.Format != want {
				t.Fatalf("signature format %s, want %s", c.Signature.Format, want)
			}
		})
	}
}
