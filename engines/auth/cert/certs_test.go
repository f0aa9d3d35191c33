package cert_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/cert"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// TestCertsCRUD: certs/<name> writes, reads back in Vault's shape, merges
// updates, lists and deletes.
func TestCertsCRUD(t *testing.T) {
	p := newPKI(t)
	m := newMount(t, nil)
	if _, err := m.Do(logical.ListOperation, "certs/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("empty list = %v, want not found", err)
	}
	m.write(t, "Web", map[string]any{"certificate": pemOf(p.root), "allowed_common_names": "a.example.com,*.b.example.com",
		"token_policies": []any{"web"}, "token_ttl": "1h"})
	m.write(t, "db", map[string]any{"certificate": pemOf(p.inter)})
	// An update changes only what it carries.
	m.write(t, "web", map[string]any{"display_name": "the web", "token_max_ttl": "2h"})

	resp, err := m.Do(logical.ReadOperation, "certs/WEB", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"certificate":                  pemOf(p.root),
		"display_name":                 "the web",
		"allowed_names":                []string{},
		"allowed_common_names":         []string{"a.example.com", "*.b.example.com"},
		"allowed_dns_sans":             []string{},
		"allowed_email_sans":           []string{},
		"allowed_uri_sans":             []string{},
		"allowed_organizational_units": []string{},
		"required_extensions":          []string{},
		"token_policies":               []string{"web"},
		"token_ttl":                    int64(3600),
		"token_max_ttl":                int64(7200),
		"token_period":                 int64(0),
		"token_num_uses":               0,
		"token_bound_cidrs":            []string{},
		"token_no_default_policy":      false,
	}
	if !reflect.DeepEqual(resp.Data, want) {
		t.Errorf("read = %#v\nwant %#v", resp.Data, want)
	}
	resp, err = m.Do(logical.ReadOperation, "certs/db", nil)
	if err != nil || resp.Data["display_name"] != "db" {
		t.Errorf("display_name defaults to the name: %v, %v", resp, err)
	}

	resp, err = m.Do(logical.ListOperation, "certs/", nil)
	if err != nil || !reflect.DeepEqual(resp.Data["keys"], []string{"db", "web"}) {
		t.Fatalf("list = %v, %v", resp, err)
	}
	exists, ok, err := m.b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.CreateOperation, Path: "certs/web", Storage: m.Storage})
	if !exists || !ok || err != nil {
		t.Errorf("existence of certs/web = %v %v %v", exists, ok, err)
	}
	if _, err := m.Do(logical.DeleteOperation, "certs/web", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Do(logical.ReadOperation, "certs/web", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read after delete = %v, want not found", err)
	}
	exists, ok, _ = m.b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.CreateOperation, Path: "certs/web", Storage: m.Storage})
	if exists || !ok {
		t.Errorf("existence after delete = %v %v", exists, ok)
	}
}

// TestCertWriteRefused: bad role input is a 400 naming the problem, and
// nothing is stored.
func TestCertWriteRefused(t *testing.T) {
	p := newPKI(t)
	srv := issueServerOnly(t, p)
	tests := []struct {
		name string
		data map[string]any
		msg  string
	}{
		{"no certificate", map[string]any{"display_name": "x"}, "failed to parse certificate"},
		{"not PEM", map[string]any{"certificate": "hello"}, "failed to parse certificate"},
		{"PEM of garbage", map[string]any{"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "failed to parse certificate"},
		{"server-auth-only pinned leaf", map[string]any{"certificate": pemOf(srv)}, "TLS client authentication"},
		{"ttl above max_ttl", map[string]any{"certificate": pemOf(p.root), "token_ttl": "2h", "token_max_ttl": "1h"}, "ttl should be shorter than max_ttl"},
		{"negative ttl", map[string]any{"certificate": pemOf(p.root), "token_ttl": -5}, "token_ttl"},
		{"bad CIDR", map[string]any{"certificate": pemOf(p.root), "token_bound_cidrs": "10.0.0.0/99"}, "token_bound_cidrs"},
		{"extension without a value", map[string]any{"certificate": pemOf(p.root), "required_extensions": "1.2.3"}, "required_extensions"},
		{"extension with a bad OID", map[string]any{"certificate": pemOf(p.root), "required_extensions": "x.y:z"}, "required_extensions"},
		{"bad duration", map[string]any{"certificate": pemOf(p.root), "token_period": "soon"}, "token_period"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMount(t, nil)
			_, err := m.Do(logical.UpdateOperation, "certs/r", tc.data)
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("write = %v, want a 400 containing %q", err, tc.msg)
			}
			if _, err := m.Do(logical.ReadOperation, "certs/r", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("refused write was stored: %v", err)
			}
		})
	}
}

func issueServerOnly(t *testing.T, p *testPKI) *issued {
	t.Helper()
	return newLeaf(t, p.root, "srv", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
}

// TestConfig: config reports what the method does and refuses what it
// cannot do.
func TestConfig(t *testing.T) {
	p := newPKI(t)
	m := newMount(t, nil)
	resp, err := m.Do(logical.ReadOperation, "config", nil)
	if err != nil || !reflect.DeepEqual(resp.Data, map[string]any{"disable_binding": true, "enable_identity_alias_metadata": true}) {
		t.Fatalf("default config = %v, %v", resp, err)
	}
	if _, err := m.Do(logical.UpdateOperation, "config", map[string]any{"disable_binding": false}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("disable_binding=false = %v, want 400", err)
	}
	if _, err := m.Do(logical.UpdateOperation, "config", map[string]any{"disable_binding": true, "enable_identity_alias_metadata": false}); err != nil {
		t.Fatal(err)
	}
	resp, err = m.Do(logical.ReadOperation, "config", nil)
	if err != nil || resp.Data["enable_identity_alias_metadata"] != false {
		t.Fatalf("config after write = %v, %v", resp, err)
	}
	m.write(t, "web", map[string]any{"certificate": pemOf(p.root)})
	login, err := m.login(chainOf(newLeaf(t, p.inter, "svc", nil), p.inter), "", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if login.Auth.Alias.Metadata != nil || login.Auth.Metadata["cert_name"] != "web" {
		t.Errorf("alias metadata disabled: alias %+v, token metadata %v", login.Auth.Alias, login.Auth.Metadata)
	}
}

// TestRouteInfo: only login runs without a token.
func TestRouteInfo(t *testing.T) {
	m := newMount(t, nil)
	for path, want := range map[string]bool{"login": true, "certs/web": false, "certs/": false, "config": false} {
		info, ok := m.b.RouteInfo(path, logical.UpdateOperation)
		if !ok || info.Unauthenticated != want {
			t.Errorf("RouteInfo(%q) = %+v, %v; want unauthenticated %v", path, info, ok, want)
		}
	}
}

// TestFactory: Factory builds a backend and refuses bad lockout options.
func TestFactory(t *testing.T) {
	if cert.Type != "cert" {
		t.Fatalf("Type = %q", cert.Type)
	}
	if _, err := cert.Factory(context.Background(), &logical.BackendConfig{}); err != nil {
		t.Fatal(err)
	}
	_, err := cert.Factory(context.Background(), &logical.BackendConfig{Config: map[string]string{"lockout_threshold": "none"}})
	if !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("bad lockout option = %v", err)
	}
}

// TestOpenSSLCertificate: a CA and a client certificate made by the
// openssl command line (as an operator would) log in; a certificate the
// same CA issued for servers only does not.
func TestOpenSSLCertificate(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("this test needs the openssl command (.ci/run installs it: apt-get install openssl)")
	}
	dir := t.TempDir()
	ext := filepath.Join(dir, "ext.cnf")
	if err := os.WriteFile(ext, []byte("[client]\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:app.example.com\n[server]\nextendedKeyUsage=serverAuth\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-days", "2", "-subj", "/CN=OpenSSL Test CA")
	for _, kind := range []string{"client", "server"} {
		run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", kind+".key", "-out", kind+".csr",
			"-subj", "/OU=apps/CN=app.example.com")
		run("x509", "-req", "-in", kind+".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
			"-extfile", "ext.cnf", "-extensions", kind, "-out", kind+".pem")
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	m := newMount(t, nil)
	m.Clock.Set(time.Now()) // openssl dates its certificates from now
	m.write(t, "apps", map[string]any{"certificate": read("ca.pem"), "allowed_dns_sans": "*.example.com", "allowed_organizational_units": "apps"})
	resp, err := m.login(parsePEMChain(t, read("client.pem")), "", "127.0.0.1")
	if err != nil {
		t.Fatalf("openssl client certificate: %v", err)
	}
	if resp.Auth.Alias.Name != "app.example.com" || resp.Auth.Metadata["cert_name"] != "apps" {
		t.Errorf("auth = %+v", resp.Auth)
	}
	if _, err := m.login(parsePEMChain(t, read("server.pem")), "", "127.0.0.1"); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("openssl server-only certificate = %v, want refused", err)
	}
}

func parsePEMChain(t *testing.T, text string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no certificate in PEM")
	}
	return out
}
