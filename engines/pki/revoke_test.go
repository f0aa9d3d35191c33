package pki_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// ocspServer serves the mount's ocsp paths over HTTP as server/api would.
func ocspServer(t *testing.T, h *harness) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.EscapedPath(), "/v1/pki/")
		req := &logical.Request{Path: path, Storage: h.store, MountPoint: "pki/", MountType: "pki"}
		switch r.Method {
		case http.MethodGet:
			req.Operation = logical.ReadOperation
		case http.MethodPost:
			req.Operation, req.Body = logical.UpdateOperation, r.Body
		}
		if info, ok := h.b.RouteInfo(path, req.Operation); !ok || !info.Unauthenticated || !info.RawBody {
			http.Error(w, "route not unauthenticated raw", 500)
			return
		}
		resp, err := h.b.HandleRequest(context.Background(), req)
		if err != nil || resp == nil || resp.Binary == nil {
			http.Error(w, "engine error", 500)
			return
		}
		w.Header().Set("Content-Type", resp.Binary.ContentType)
		if resp.Binary.Status != 0 {
			w.WriteHeader(resp.Binary.Status)
		}
		_, _ = w.Write(resp.Binary.Data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRevokeCRLAndOCSP(t *testing.T) {
	c := newChain(t, "ec", 256)
	resp := c.inter.write("issue/web", map[string]any{"common_name": "www.example.com", "ttl": "1h"})
	serial := str(t, resp, "serial_number")
	dir := t.TempDir()
	rootF := writeFile(t, dir, "root.pem", []byte(c.rootPEM))
	intF := writeFile(t, dir, "int.pem", []byte(c.interPEM))
	leafF := writeFile(t, dir, "leaf.pem", []byte(str(t, resp, "certificate")))
	srv := ocspServer(t, c.inter)

	ocspPost := func() string {
		t.Helper()
		out, err := openssl(t, "ocsp", "-issuer", intF, "-cert", leafF, "-CAfile", rootF, "-url", srv.URL+"/v1/pki/ocsp", "-no_nonce")
		if err != nil || !strings.Contains(out, "Response verify OK") {
			t.Fatalf("openssl ocsp: %v\n%s", err, out)
		}
		return out
	}
	ocspGet := func() string {
		t.Helper()
		reqF := dir + "/req.der"
		if out, err := openssl(t, "ocsp", "-issuer", intF, "-cert", leafF, "-no_nonce", "-reqout", reqF); err != nil {
			t.Fatalf("openssl ocsp -reqout: %v\n%s", err, out)
		}
		der, err := os.ReadFile(reqF)
		if err != nil {
			t.Fatal(err)
		}
		hr, err := http.Get(srv.URL + "/v1/pki/ocsp/" + strings.ReplaceAll(base64.StdEncoding.EncodeToString(der), "/", "%2F"))
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		body, _ := io.ReadAll(hr.Body)
		if hr.StatusCode != 200 || hr.Header.Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("GET ocsp: %d %s", hr.StatusCode, hr.Header.Get("Content-Type"))
		}
		out, err := openssl(t, "ocsp", "-respin", writeFile(t, dir, "resp.der", body), "-issuer", intF, "-cert", leafF, "-CAfile", rootF, "-no_nonce")
		if err != nil || !strings.Contains(out, "Response verify OK") {
			t.Fatalf("openssl ocsp -respin: %v\n%s", err, out)
		}
		return out
	}
	for name, check := range map[string]func() string{"POST": ocspPost, "GET": ocspGet} {
		if out := check(); !strings.Contains(out, leafF+": good") {
			t.Fatalf("%s before revoke: %s", name, out)
		}
	}

	rev := c.inter.must(logical.UpdateOperation, "revoke", map[string]any{"serial_number": serial})
	if rev.Data["state"] != "revoked" || rev.Data["revocation_time"].(int64) == 0 {
		t.Fatalf("revoke: %v", rev.Data)
	}
	for name, check := range map[string]func() string{"POST": ocspPost, "GET": ocspGet} {
		if out := check(); !strings.Contains(out, leafF+": revoked") {
			t.Fatalf("%s after revoke: %s", name, out)
		}
	}

	crl := c.inter.must(logical.ReadOperation, "crl", nil)
	if crl.Binary == nil || crl.Binary.ContentType != "application/pkix-crl" {
		t.Fatalf("crl: %+v", crl)
	}
	out, err := openssl(t, "crl", "-inform", "DER", "-in", writeFile(t, dir, "crl.der", crl.Binary.Data), "-text", "-noout")
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	hexSerial := strings.ToUpper(strings.ReplaceAll(serial, ":", ""))
	if !strings.Contains(out, "Serial Number: "+hexSerial) || !strings.Contains(out, "Next Update") {
		t.Fatalf("CRL does not list %s:\n%s", hexSerial, out)
	}
	// The CRL verifies against the intermediate.
	if out, err := openssl(t, "crl", "-inform", "DER", "-in", dir+"/crl.der", "-CAfile", intF, "-noout"); err != nil || !strings.Contains(out, "verify OK") {
		t.Fatalf("CRL verify: %v\n%s", err, out)
	}
	pemCRL := c.inter.must(logical.ReadOperation, "crl/pem", nil)
	if !bytes.HasPrefix(pemCRL.Binary.Data, []byte("-----BEGIN X509 CRL-----")) {
		t.Fatalf("crl/pem: %q", pemCRL.Binary.Data)
	}
	certResp := c.inter.must(logical.ReadOperation, "cert/"+serial, nil)
	if certResp.Data["revocation_time"].(int64) != rev.Data["revocation_time"].(int64) {
		t.Fatalf("cert/%s: %v", serial, certResp.Data)
	}
	// Revoking again answers the first revocation; an unknown serial is a 400.
	again := c.inter.must(logical.UpdateOperation, "revoke", map[string]any{"serial_number": strings.ReplaceAll(serial, ":", "-")})
	if again.Data["revocation_time"] != rev.Data["revocation_time"] {
		t.Fatal("second revoke changed the revocation time")
	}
	_, err = c.inter.do(logical.UpdateOperation, "revoke", map[string]any{"serial_number": "01:02"})
	wantField(t, err, "serial_number", "not found")
}

func TestCRLRebuiltPeriodically(t *testing.T) {
	h := newHarness(t)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec"})
	h.write("config/crl", map[string]any{"expiry": "1h"})
	// root/generate built CRL 1, the config write CRL 2.
	first := h.must(logical.ReadOperation, "crl", nil).Binary.Data
	if err := h.b.Periodic(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, h.must(logical.ReadOperation, "crl", nil).Binary.Data) {
		t.Fatal("a fresh CRL was rebuilt")
	}
	h.clock.Advance(31 * time.Minute)
	if err := h.b.Periodic(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := h.must(logical.ReadOperation, "crl", nil).Binary.Data
	if bytes.Equal(first, second) {
		t.Fatal("a CRL past half its validity was not rebuilt")
	}
	out, err := openssl(t, "crl", "-inform", "DER", "-in", writeFile(t, t.TempDir(), "c.der", second), "-noout", "-crlnumber")
	if err != nil || !strings.Contains(out, "crlNumber=0x03") {
		t.Fatalf("crl number: %v %s", err, out)
	}
	rot := h.write("crl/rotate", nil)
	if rot.Data["success"] != true {
		t.Fatalf("crl/rotate: %v", rot.Data)
	}
}

func TestLeasedCertificate(t *testing.T) {
	c := newChain(t, "ec", 256)
	c.inter.write("roles/leased", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec", "generate_lease": true})
	resp := c.inter.write("issue/leased", map[string]any{"common_name": "a.example.com", "ttl": "2h"})
	if resp.Secret == nil || resp.Secret.Type != "pki" || resp.Secret.Renewable || resp.Secret.TTL != 2*time.Hour {
		t.Fatalf("secret = %+v", resp.Secret)
	}
	plain := c.inter.write("issue/web", map[string]any{"common_name": "b.example.com"})
	if plain.Secret != nil {
		t.Fatal("a role without generate_lease returned a lease")
	}
	for _, k := range []string{"serial_number", "expiration", "certificate"} {
		if !contains(resp.AuditClear, k) {
			t.Fatalf("AuditClear %v lacks %s", resp.AuditClear, k)
		}
	}
	if contains(resp.AuditClear, "private_key") {
		t.Fatal("private_key audited in clear")
	}
	sec := *resp.Secret
	_, err := c.inter.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Path: "issue/leased", Secret: &sec, Storage: c.inter.store})
	if err == nil {
		t.Fatal("renew succeeded")
	}
	if _, err := c.inter.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RevokeOperation, Path: "issue/leased", Secret: &sec, Storage: c.inter.store}); err != nil {
		t.Fatalf("lease revoke: %v", err)
	}
	got := c.inter.must(logical.ReadOperation, "cert/"+str(t, resp, "serial_number"), nil)
	if got.Data["revocation_time"].(int64) == 0 {
		t.Fatal("lease end did not revoke the certificate")
	}
}
