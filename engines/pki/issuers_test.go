package pki_test

import (
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRootRotateKeepsOldLeavesVerifiable(t *testing.T) {
	h := newHarness(t)
	old := h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec", "issuer_name": "old", "ttl": "8760h"})
	h.write("roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec"})
	oldLeaf := h.write("issue/web", map[string]any{"common_name": "a.example.com"})

	next := h.write("root/rotate/exported", map[string]any{"common_name": "Root G2", "key_type": "ed25519", "ttl": "8760h"})
	if next.Data["issuer_name"] != "next" || str(t, next, "private_key_type") != "ed25519" || str(t, next, "private_key") == "" {
		t.Fatalf("rotate: %v", next.Data)
	}
	cfg := h.must(logical.ReadOperation, "config/issuers", nil)
	if cfg.Data["default"] != old.Data["issuer_id"] {
		t.Fatalf("rotate moved the default: %v", cfg.Data)
	}
	list := h.must(logical.ListOperation, "issuers/", nil)
	if keys := list.Data["keys"].([]string); len(keys) != 2 {
		t.Fatalf("issuers = %v", list.Data)
	}
	// Still issued by the old root until the default moves.
	if got := h.write("issue/web", map[string]any{"common_name": "b.example.com"}); got.Data["issuing_ca"] != old.Data["certificate"] {
		t.Fatal("issue before the switch is not signed by the old root")
	}
	h.write("config/issuers", map[string]any{"default": "next"})
	newLeaf := h.write("issue/web", map[string]any{"common_name": "c.example.com"})
	if newLeaf.Data["issuing_ca"] != next.Data["certificate"] {
		t.Fatal("issue after the switch is not signed by the new root")
	}
	dir := t.TempDir()
	for _, tc := range []struct{ root, leaf string }{
		{str(t, old, "certificate"), str(t, oldLeaf, "certificate")},
		{str(t, next, "certificate"), str(t, newLeaf, "certificate")},
	} {
		out, err := openssl(t, "verify", "-CAfile", writeFile(t, dir, "r.pem", []byte(tc.root)), writeFile(t, dir, "l.pem", []byte(tc.leaf)))
		if err != nil || !strings.Contains(out, "OK") {
			t.Fatalf("verify: %v\n%s", err, out)
		}
	}
	// The old issuer is still there, by name and by id, and may be renamed.
	h.must(logical.ReadOperation, "issuer/old", nil)
	h.write("issuer/"+old.Data["issuer_id"].(string), map[string]any{"issuer_name": "legacy"})
	if got := h.must(logical.ReadOperation, "issuer/legacy", nil); got.Data["issuer_id"] != old.Data["issuer_id"] {
		t.Fatal("rename lost the issuer")
	}
	_, err := h.do(logical.UpdateOperation, "issuer/legacy", map[string]any{"issuer_name": "next"})
	wantField(t, err, "issuer_name", "already in use")
	// Revoking a leaf of the old issuer puts it on the old issuer's CRL.
	h.write("revoke", map[string]any{"serial_number": str(t, oldLeaf, "serial_number")})
	crl := h.must(logical.ReadOperation, "issuer/legacy/der", nil)
	if crl.Binary == nil {
		t.Fatal("issuer/legacy/der")
	}
	h.must(logical.DeleteOperation, "issuer/legacy", nil)
	if _, err := h.do(logical.ReadOperation, "issuer/legacy", nil); err == nil {
		t.Fatal("deleted issuer still readable")
	}
}

func TestDefaultFollowsLatestIssuer(t *testing.T) {
	h := newHarness(t)
	first := h.write("root/generate/internal", map[string]any{"common_name": "R1", "key_type": "ec"})
	h.write("config/issuers", map[string]any{"default_follows_latest_issuer": true})
	second := h.write("root/rotate/internal", map[string]any{"common_name": "R2", "key_type": "ec", "issuer_name": "r2"})
	if _, ok := second.Data["private_key"]; ok {
		t.Fatal("internal generation returned the private key")
	}
	cfg := h.must(logical.ReadOperation, "config/issuers", nil)
	if cfg.Data["default"] != second.Data["issuer_id"] || cfg.Data["default"] == first.Data["issuer_id"] {
		t.Fatalf("default did not follow: %v", cfg.Data)
	}
}

func TestTidyRemovesExpired(t *testing.T) {
	h := newHarness(t)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec", "ttl": "87600h"})
	h.write("roles/web", map[string]any{"allow_any_name": true, "key_type": "ec"})
	short := h.write("issue/web", map[string]any{"common_name": "short.com", "ttl": "1h"})
	revoked := h.write("issue/web", map[string]any{"common_name": "revoked.com", "ttl": "1h"})
	long := h.write("issue/web", map[string]any{"common_name": "long.com", "ttl": "8000h"})
	h.write("revoke", map[string]any{"serial_number": str(t, revoked, "serial_number")})

	h.clock.Advance(2 * time.Hour)
	resp := h.write("tidy", map[string]any{"tidy_cert_store": true, "tidy_revoked_certs": true})
	if resp.Data["cert_store_deleted_count"] != 0 {
		t.Fatalf("tidy inside the safety buffer deleted: %v", resp.Data)
	}
	h.clock.Advance(72 * time.Hour)
	resp = h.write("tidy", map[string]any{"tidy_cert_store": true, "tidy_revoked_certs": true})
	if resp.Data["cert_store_deleted_count"] != 2 || resp.Data["revoked_cert_deleted_count"] != 1 {
		t.Fatalf("tidy: %v", resp.Data)
	}
	for _, gone := range []any{short, revoked} {
		if _, err := h.do(logical.ReadOperation, "cert/"+gone.(*logical.Response).Data["serial_number"].(string), nil); err == nil {
			t.Fatal("expired certificate still stored")
		}
	}
	h.must(logical.ReadOperation, "cert/"+str(t, long, "serial_number"), nil)
	crl := h.must(logical.ReadOperation, "crl", nil)
	out, err := openssl(t, "crl", "-inform", "DER", "-in", writeFile(t, t.TempDir(), "c.der", crl.Binary.Data), "-text", "-noout")
	if err != nil || !strings.Contains(out, "No Revoked Certificates") {
		t.Fatalf("CRL after tidy still lists the expired revocation: %v\n%s", err, out)
	}
	_, err = h.do(logical.UpdateOperation, "tidy", map[string]any{"safety_buffer": "0s"})
	wantField(t, err, "safety_buffer", "")
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		path   string
		op     logical.Operation
		action string
		sudo   bool
		unauth bool
	}{
		{"issue/web", logical.UpdateOperation, "generate", false, false},
		{"sign/web", logical.UpdateOperation, "generate", false, false},
		{"sign-verbatim", logical.UpdateOperation, "generate", true, false},
		{"sign-verbatim/web", logical.UpdateOperation, "generate", true, false},
		{"root/generate/internal", logical.UpdateOperation, "generate", true, false},
		{"root/rotate/exported", logical.UpdateOperation, "generate", true, false},
		{"root/sign-intermediate", logical.UpdateOperation, "generate", true, false},
		{"intermediate/generate/internal", logical.UpdateOperation, "generate", true, false},
		{"intermediate/set-signed", logical.UpdateOperation, "", true, false},
		{"revoke", logical.UpdateOperation, "revoke", false, false},
		{"config/urls", logical.UpdateOperation, "", true, false},
		{"config/urls", logical.ReadOperation, "", false, false},
		{"config/crl", logical.UpdateOperation, "", true, false},
		{"config/issuers", logical.UpdateOperation, "", true, false},
		{"ca", logical.ReadOperation, "", false, true},
		{"ca/pem", logical.ReadOperation, "", false, true},
		{"ca_chain", logical.ReadOperation, "", false, true},
		{"crl", logical.ReadOperation, "", false, true},
		{"crl/pem", logical.ReadOperation, "", false, true},
		{"cert/01:02", logical.ReadOperation, "", false, true},
		{"issuer/default/pem", logical.ReadOperation, "", false, true},
		{"ocsp", logical.UpdateOperation, "", false, true},
		{"roles/web", logical.UpdateOperation, "", false, false},
	} {
		info, ok := h.b.RouteInfo(tc.path, tc.op)
		if !ok || info.Action != tc.action || info.Sudo != tc.sudo || info.Unauthenticated != tc.unauth {
			t.Errorf("%s %s: %+v ok=%v", tc.op, tc.path, info, ok)
		}
	}
	if info, _ := h.b.RouteInfo("ocsp/MEUw", logical.ReadOperation); !info.RawBody || !info.Unauthenticated {
		t.Errorf("ocsp GET: %+v", info)
	}
}

func TestCAGenerationErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		path  string
		data  map[string]any
		field string
	}{
		{"root/generate/internal", map[string]any{}, "common_name"},
		{"root/generate/internal", map[string]any{"common_name": "R", "key_type": "dsa"}, "key_type"},
		{"root/generate/internal", map[string]any{"common_name": "R", "key_bits": 1024}, "key_bits"},
		{"root/generate/internal", map[string]any{"common_name": "R", "issuer_name": "default"}, "issuer_name"},
		{"root/generate/kms", map[string]any{"common_name": "R"}, "exported"},
		{"intermediate/set-signed", map[string]any{"certificate": "junk"}, "certificate"},
		{"root/sign-intermediate", map[string]any{"csr": "junk"}, "csr"},
		{"config/urls", map[string]any{"ocsp_servers": "not a url"}, "ocsp_servers"},
		{"issue/none", map[string]any{"common_name": "x"}, "role"},
	} {
		_, err := h.do(logical.UpdateOperation, tc.path, tc.data)
		wantField(t, err, tc.field, "")
	}
	if _, err := h.do(logical.ListOperation, "issuers/", nil); err == nil {
		t.Fatal("issuers listed on an empty mount")
	}
	if _, err := h.do(logical.ReadOperation, "ca", nil); err == nil {
		t.Fatal("ca read on an empty mount")
	}
}
