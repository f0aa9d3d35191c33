package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

// pkiFiles is a directory for the PEM files the openssl checks read.
type pkiFiles struct {
	t   *testing.T
	dir string
}

func (f pkiFiles) write(name, pemText string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(strings.TrimSpace(pemText)+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// openssl runs openssl and returns its combined output; it fails the
// test when the exit status is not want (0: success).
func openssl(t *testing.T, wantOK bool, args ...string) string {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if (err == nil) != wantOK {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustWrite(t *testing.T, c *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	sec, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if sec == nil {
		t.Fatalf("write %s answered no data", path)
	}
	return sec
}

func dataString(t *testing.T, sec *vault.Secret, key string) string {
	t.Helper()
	v, _ := sec.Data[key].(string)
	if v == "" {
		t.Fatalf("answer has no %s (keys %v)", key, mapKeys(sec.Data))
	}
	return v
}

// TestPKIChainCRLAndOCSP drives a real vaultd with the OpenBao client as
// Vault's PKI guide does: a root CA, an intermediate signed by it, a role,
// leaves issued under the role; openssl verifies the chain, reads the CRL
// after a revocation and asks our OCSP responder (good, then revoked).
func TestPKIChainCRLAndOCSP(t *testing.T) {
	s := newServer(t)
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	files := pkiFiles{t, t.TempDir()}
	auditLog := filepath.Join(files.dir, "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatalf("enable audit: %v", err)
	}
	for _, m := range []string{"pki", "pki_int"} {
		if err := c.Sys().Mount(m, &vault.MountInput{Type: "pki", Config: vault.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
			t.Fatalf("mount %s: %v", m, err)
		}
	}
	root := mustWrite(t, c, "pki/root/generate/internal", map[string]any{"common_name": "Example Root", "ttl": "87600h", "key_type": "ec", "key_bits": 256})
	rootPEM := files.write("root.pem", dataString(t, root, "certificate"))
	if _, ok := root.Data["private_key"]; ok {
		t.Fatal("root/generate/internal returned the private key")
	}
	csr := dataString(t, mustWrite(t, c, "pki_int/intermediate/generate/internal", map[string]any{"common_name": "Example Intermediate", "key_type": "ec"}), "csr")
	signed := dataString(t, mustWrite(t, c, "pki/root/sign-intermediate", map[string]any{"csr": csr, "format": "pem", "ttl": "43800h"}), "certificate")
	intPEM := files.write("int.pem", signed)
	if _, err := c.Logical().Write("pki_int/intermediate/set-signed", map[string]any{"certificate": signed}); err != nil {
		t.Fatalf("set-signed: %v", err)
	}
	mustWrite(t, c, "pki_int/config/urls", map[string]any{"ocsp_servers": s.url() + "/v1/pki_int/ocsp", "crl_distribution_points": s.url() + "/v1/pki_int/crl"})
	if _, err := c.Logical().Write("pki_int/roles/web", map[string]any{
		"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "72h", "key_type": "ec", "key_bits": 256,
	}); err != nil {
		t.Fatalf("write role: %v", err)
	}

	leaf := mustWrite(t, c, "pki_int/issue/web", map[string]any{"common_name": "app.example.com", "ttl": "24h"})
	leafPEM := files.write("leaf.pem", dataString(t, leaf, "certificate"))
	serial := dataString(t, leaf, "serial_number")
	if dataString(t, leaf, "private_key_type") != "ec" || !strings.Contains(dataString(t, leaf, "private_key"), "PRIVATE KEY") {
		t.Fatalf("issue answered private_key_type %v", leaf.Data["private_key_type"])
	}
	// The audit log names the serial in clear, never the private key.
	logged, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(dataString(t, leaf, "private_key"), "\n")[1]
	if !strings.Contains(string(logged), `"serial_number":"`+serial+`"`) || strings.Contains(string(logged), keyBody) {
		t.Fatalf("audit log: serial %s in clear = %v, private key present = %v", serial,
			strings.Contains(string(logged), serial), strings.Contains(string(logged), keyBody))
	}
	if out := openssl(t, true, "verify", "-CAfile", rootPEM, "-untrusted", intPEM, leafPEM); !strings.Contains(out, "OK") {
		t.Fatalf("openssl verify: %s", out)
	}
	if cert := parsePEMCert(t, dataString(t, leaf, "certificate")); len(cert.OCSPServer) != 1 || cert.DNSNames[0] != "app.example.com" {
		t.Fatalf("leaf: OCSP servers %v, DNS names %v", cert.OCSPServer, cert.DNSNames)
	}

	// A name outside the role is refused with a 400 naming it.
	_, err = c.Logical().Write("pki_int/issue/web", map[string]any{"common_name": "evil.example.org"})
	if responseStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "evil.example.org") {
		t.Fatalf("issue outside the role: %v, want a 400 naming the name", err)
	}

	// The CA is served without a token.
	if got := unauthenticatedGet(t, s, "/v1/pki_int/ca/pem"); !strings.Contains(got, strings.TrimSpace(signed)[30:90]) {
		t.Fatalf("pki_int/ca/pem does not serve the intermediate: %q", got)
	}

	chain := files.write("chain.pem", signed+"\n"+dataString(t, root, "certificate"))
	ocspStatus := func() string {
		return openssl(t, true, "ocsp", "-issuer", intPEM, "-cert", leafPEM, "-url", s.url()+"/v1/pki_int/ocsp", "-CAfile", chain, "-no_nonce")
	}
	if out := ocspStatus(); !strings.Contains(out, leafPEM+": good") {
		t.Fatalf("openssl ocsp before revocation: %s", out)
	}
	if _, err := c.Logical().Write("pki_int/revoke", map[string]any{"serial_number": serial}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if out := ocspStatus(); !strings.Contains(out, leafPEM+": revoked") {
		t.Fatalf("openssl ocsp after revocation: %s", out)
	}
	crl := filepath.Join(files.dir, "crl.der")
	if err := os.WriteFile(crl, []byte(unauthenticatedGet(t, s, "/v1/pki_int/crl")), 0o600); err != nil {
		t.Fatal(err)
	}
	hexSerial := strings.ToUpper(strings.ReplaceAll(serial, ":", ""))
	if out := openssl(t, true, "crl", "-inform", "DER", "-in", crl, "-noout", "-text"); !strings.Contains(strings.ReplaceAll(out, ":", ""), hexSerial) {
		t.Fatalf("the CRL does not list serial %s:\n%s", serial, out)
	}
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// unauthenticatedGet GETs path without a token and fails on non-200.
func unauthenticatedGet(t *testing.T, s *server, path string) string {
	t.Helper()
	resp, err := http.Get(s.url() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s without a token: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}
