package cert_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// testPKI is a root CA, an intermediate under it, and an unrelated root.
type testPKI struct {
	root, inter, other *issued
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	root := newCA(t, "Test Root", nil)
	return &testPKI{root: root, inter: newCA(t, "Test Intermediate", root), other: newCAKey(t, "Other Root", nil, 3)}
}

var oidTeam = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

func withExt(oid asn1.ObjectIdentifier, value string) func(*x509.Certificate) {
	return func(c *x509.Certificate) {
		v, err := asn1.Marshal(value)
		if err != nil {
			panic(err)
		}
		c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oid, Value: v})
	}
}

func TestLogin(t *testing.T) {
	p := newPKI(t)
	good := newLeaf(t, p.inter, "ci.example.com", func(c *x509.Certificate) {
		c.DNSNames = []string{"ci.example.com"}
		c.EmailAddresses = []string{"ci@example.com"}
		c.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.com", Path: "/ci"}}
		c.Subject.OrganizationalUnit = []string{"build"}
		withExt(oidTeam, "platform")(c)
	})
	expired := newLeaf(t, p.inter, "ci.example.com", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = now.Add(-48*time.Hour), now.Add(-time.Hour)
	})
	early := newLeaf(t, p.inter, "ci.example.com", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = now.Add(time.Hour), now.Add(48*time.Hour)
	})
	serverOnly := newLeaf(t, p.inter, "ci.example.com", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	foreign := newLeaf(t, p.other, "ci.example.com", nil)
	// An impostor root with the trusted root's name but another key.
	impostor := newLeaf(t, newCAKey(t, "Test Root", nil, 3), "ci.example.com", nil)
	pinned := newLeaf(t, p.root, "pinned.example.com", nil)
	samePinnedName := newLeaf(t, p.root, "pinned.example.com", nil)
	underPinned := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "pinned.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, pinned, 3)

	type role = map[string]any
	rootRole := func(extra role) role {
		r := role{"certificate": pemOf(p.root)}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	tests := []struct {
		name   string
		roles  map[string]role
		chain  []*x509.Certificate
		login  string // role named in the login
		remote string
		// wantRole is the matching role; "" means the login is refused
		// with an error matching wantErr and containing wantMsg.
		wantRole string
		wantErr  error
		wantMsg  string
	}{
		{name: "leaf and intermediate to a trusted root", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(good, p.inter), wantRole: "web"},
		{name: "trusted intermediate, leaf alone", roles: map[string]role{"web": {"certificate": pemOf(p.inter)}},
			chain: chainOf(good), wantRole: "web"},
		{name: "root trusted, intermediate not presented", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(good), wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate or no client certificate supplied"},
		{name: "wrong CA", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(foreign), wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate or no client certificate supplied"},
		{name: "CA with the trusted root's name and another key", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(impostor), wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate or no client certificate supplied"},
		{name: "expired leaf", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(expired, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "failed to verify client's certificate"},
		{name: "leaf not yet valid", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(early, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "failed to verify client's certificate"},
		{name: "server-auth-only leaf", roles: map[string]role{"web": rootRole(nil)},
			chain: chainOf(serverOnly, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "failed to verify client's certificate"},
		{name: "common name glob matches", roles: map[string]role{"web": rootRole(role{"allowed_common_names": "*.example.com"})},
			chain: chainOf(good, p.inter), wantRole: "web"},
		{name: "common name mismatch", roles: map[string]role{"web": rootRole(role{"allowed_common_names": "db.*"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching all constraints"},
		{name: "allowed_names matches an email SAN", roles: map[string]role{"web": rootRole(role{"allowed_names": []any{"nobody", "ci@*"}})},
			chain: chainOf(good, p.inter), wantRole: "web"},
		{name: "allowed_names mismatch", roles: map[string]role{"web": rootRole(role{"allowed_names": "db.example.com"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "DNS SAN mismatch", roles: map[string]role{"web": rootRole(role{"allowed_dns_sans": "*.example.org"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "email SAN mismatch", roles: map[string]role{"web": rootRole(role{"allowed_email_sans": "ops@example.com"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "URI SAN matches", roles: map[string]role{"web": rootRole(role{"allowed_uri_sans": "spiffe://example.com/*"})},
			chain: chainOf(good, p.inter), wantRole: "web"},
		{name: "URI SAN mismatch", roles: map[string]role{"web": rootRole(role{"allowed_uri_sans": "spiffe://example.com/db"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "OU mismatch", roles: map[string]role{"web": rootRole(role{"allowed_organizational_units": "finance"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "required extension matches", roles: map[string]role{"web": rootRole(role{"required_extensions": "1.3.6.1.4.1.99999.1:plat*"})},
			chain: chainOf(good, p.inter), wantRole: "web"},
		{name: "required extension mismatch", roles: map[string]role{"web": rootRole(role{"required_extensions": "1.3.6.1.4.1.99999.1:security"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "required extension absent", roles: map[string]role{"web": rootRole(role{"required_extensions": "1.3.6.1.4.1.99999.2:*"})},
			chain: chainOf(good, p.inter), wantErr: logical.ErrInvalidRequest, wantMsg: "no chain matching"},
		{name: "first role in name order whose constraints match", roles: map[string]role{
			"a": rootRole(role{"allowed_common_names": "db.*"}), "b": rootRole(nil), "c": rootRole(nil)},
			chain: chainOf(good, p.inter), wantRole: "b"},
		{name: "name picks the role", roles: map[string]role{"a": rootRole(nil), "b": rootRole(nil)},
			chain: chainOf(good, p.inter), login: "B", wantRole: "b"},
		{name: "named role does not trust the chain", roles: map[string]role{"a": rootRole(nil), "b": {"certificate": pemOf(p.other)}},
			chain: chainOf(good, p.inter), login: "b", wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate"},
		{name: "named role does not exist", roles: map[string]role{"a": rootRole(nil)},
			chain: chainOf(good, p.inter), login: "zzz", wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate"},
		{name: "pinned leaf", roles: map[string]role{"pin": {"certificate": pemOf(pinned)}},
			chain: chainOf(pinned), wantRole: "pin"},
		{name: "another leaf with the pinned leaf's name", roles: map[string]role{"pin": {"certificate": pemOf(pinned)}},
			chain: chainOf(samePinnedName), wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate"},
		{name: "a certificate signed by the pinned leaf", roles: map[string]role{"pin": {"certificate": pemOf(pinned)}},
			chain: chainOf(underPinned, pinned), wantErr: logical.ErrInvalidRequest, wantMsg: "invalid certificate"},
		{name: "bound CIDR allows", roles: map[string]role{"web": rootRole(role{"token_bound_cidrs": "10.0.0.0/8"})},
			chain: chainOf(good, p.inter), remote: "10.1.2.3", wantRole: "web"},
		{name: "bound CIDR refuses", roles: map[string]role{"web": rootRole(role{"token_bound_cidrs": "10.0.0.0/8"})},
			chain: chainOf(good, p.inter), remote: "192.0.2.1", wantErr: logical.ErrPermissionDenied},
		{name: "no certificate", roles: map[string]role{"web": rootRole(nil)},
			wantErr: logical.ErrInvalidRequest, wantMsg: "client certificate must be supplied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMount(t, nil)
			for name, data := range tc.roles {
				m.write(t, name, data)
			}
			remote := tc.remote
			if remote == "" {
				remote = "127.0.0.1"
			}
			resp, err := m.login(tc.chain, tc.login, remote)
			if tc.wantRole == "" {
				if err == nil || !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("login = %v, %v; want an error matching %v containing %q", resp, err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if got := resp.Auth.Metadata["cert_name"]; got != tc.wantRole {
				t.Fatalf("matched role %q, want %q", got, tc.wantRole)
			}
		})
	}
}

// TestLoginAuth checks the whole Auth block of a successful login.
func TestLoginAuth(t *testing.T) {
	p := newPKI(t)
	leaf := newLeaf(t, p.inter, "ci-runner", func(c *x509.Certificate) {
		c.SubjectKeyId = []byte{0x0a, 0xbc, 0xff}
	})
	m := newMount(t, nil)
	m.write(t, "CI", map[string]any{
		"certificate":             pemOf(p.root),
		"display_name":            "ci-cert",
		"token_policies":          "Deploy, read-only,deploy",
		"token_ttl":               "1h",
		"token_max_ttl":           7200,
		"token_period":            "30m",
		"token_num_uses":          3,
		"token_bound_cidrs":       []any{"127.0.0.1", "10.0.0.0/8"},
		"token_no_default_policy": true,
	})
	resp, err := m.login(chainOf(leaf, p.inter), "", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Auth
	meta := map[string]string{
		"cert_name":        "ci",
		"common_name":      "ci-runner",
		"serial_number":    leaf.cert.SerialNumber.String(),
		"subject_key_id":   "0a:bc:ff",
		"authority_key_id": hexOf(p.inter.cert.SubjectKeyId),
	}
	if a.ClientToken != "" || a.Accessor != "" {
		t.Errorf("the method minted a token: %+v", a)
	}
	if a.Alias == nil || a.Alias.Name != "ci-runner" || a.Alias.EntityName != "ci-runner" || !reflect.DeepEqual(a.Alias.Metadata, meta) {
		t.Errorf("alias = %+v, want name and entity name ci-runner, metadata %v", a.Alias, meta)
	}
	if !reflect.DeepEqual(a.Metadata, meta) {
		t.Errorf("metadata = %v, want %v", a.Metadata, meta)
	}
	want := struct {
		entityType, display string
		policies, cidrs     []string
		ttl, maxTTL, period time.Duration
		uses                int
		noDefault           bool
	}{"Service", "ci-cert", []string{"deploy", "read-only"}, []string{"127.0.0.1/32", "10.0.0.0/8"}, time.Hour, 2 * time.Hour, 30 * time.Minute, 3, true}
	if a.EntityType != want.entityType || a.DisplayName != want.display || !reflect.DeepEqual(a.Policies, want.policies) ||
		!reflect.DeepEqual(a.BoundCIDRs, want.cidrs) || a.TTL != want.ttl || a.MaxTTL != want.maxTTL || a.Period != want.period ||
		a.NumUses != want.uses || a.NoDefaultPolicy != want.noDefault {
		t.Errorf("auth = %+v, want %+v", a, want)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = string([]byte{digits[c>>4], digits[c&0xf]})
	}
	return strings.Join(parts, ":")
}

// TestLoginWithoutConnection: a request without connection facts (no
// TLS at all) is Vault's 400.
func TestLoginWithoutConnection(t *testing.T) {
	m := newMount(t, nil)
	_, err := m.Do(logical.UpdateOperation, "login", nil)
	if !errors.Is(err, logical.ErrInvalidRequest) || err.Error() != "client certificate must be supplied" {
		t.Fatalf("login without a connection = %v", err)
	}
}

// TestLockout: failed logins lock the name and address out, even for a
// good certificate, until lockout_duration passes; another address is
// not affected, and a success forgets earlier failures.
func TestLockout(t *testing.T) {
	p := newPKI(t)
	good := newLeaf(t, p.inter, "svc", nil)
	foreign := newLeaf(t, p.other, "svc", nil)
	m := newMount(t, map[string]string{"lockout_threshold": "3", "lockout_duration": "10m"})
	m.write(t, "web", map[string]any{"certificate": pemOf(p.root)})

	goodChain, badChain := chainOf(good, p.inter), chainOf(foreign)
	for i := range 2 {
		if _, err := m.login(badChain, "", "10.0.0.1"); errors.Is(err, lockout.ErrLockedOut) || err == nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := m.login(goodChain, "", "10.0.0.1"); err != nil {
		t.Fatalf("good login after 2 failures: %v", err)
	}
	for range 3 {
		_, _ = m.login(badChain, "", "10.0.0.1")
	}
	if _, err := m.login(goodChain, "", "10.0.0.1"); !errors.Is(err, lockout.ErrLockedOut) || !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("good login after 3 failures = %v, want locked out", err)
	}
	if _, err := m.login(goodChain, "", "10.0.0.2"); err != nil {
		t.Fatalf("login from another address: %v", err)
	}
	m.Clock.Advance(11 * time.Minute)
	// The certificates are still valid: the tests' certificates span a day.
	if _, err := m.login(goodChain, "", "10.0.0.1"); err != nil {
		t.Fatalf("login after the lockout ended: %v", err)
	}
}

// TestLockoutDisabled: lockout_disable leaves every attempt to the
// certificate check.
func TestLockoutDisabled(t *testing.T) {
	p := newPKI(t)
	m := newMount(t, map[string]string{"lockout_threshold": "1", "lockout_disable": "true"})
	m.write(t, "web", map[string]any{"certificate": pemOf(p.root)})
	for range 3 {
		_, _ = m.login(chainOf(newLeaf(t, p.other, "svc", nil)), "", "10.0.0.1")
	}
	if _, err := m.login(chainOf(newLeaf(t, p.inter, "svc", nil), p.inter), "", "10.0.0.1"); err != nil {
		t.Fatalf("login with lockout disabled: %v", err)
	}
}
