package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestChainVerifiesWithOpenSSL(t *testing.T) {
	for _, tc := range []struct {
		name, keyType string
		bits          int
	}{
		{"rsa", "rsa", 2048}, {"ec-p256", "ec", 256}, {"ed25519", "ed25519", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, tc.keyType, tc.bits)
			resp := c.inter.write("issue/web", map[string]any{"common_name": "www.example.com", "alt_names": "api.example.com", "ip_sans": "127.0.0.1", "ttl": "1h"})
			leaf := parsePEM(t, str(t, resp, "certificate"))
			if got := str(t, resp, "private_key_type"); got != tc.keyType {
				t.Fatalf("private_key_type = %q, want %q", got, tc.keyType)
			}
			if got := leaf.OCSPServer; len(got) != 1 || got[0] != "http://pki.test/v1/pki/ocsp" {
				t.Fatalf("OCSP servers = %v", got)
			}
			if len(leaf.CRLDistributionPoints) != 1 || len(leaf.IssuingCertificateURL) != 1 {
				t.Fatalf("AIA/CRL URLs missing: %v %v", leaf.CRLDistributionPoints, leaf.IssuingCertificateURL)
			}
			if chain, _ := resp.Data["ca_chain"].([]string); len(chain) != 2 || chain[0] != c.interPEM {
				t.Fatalf("ca_chain = %v, want [intermediate, root]", chain)
			}
			if str(t, resp, "issuing_ca") != c.interPEM {
				t.Fatal("issuing_ca is not the intermediate")
			}
			dir := t.TempDir()
			out, err := openssl(t, "verify", "-CAfile", writeFile(t, dir, "root.pem", []byte(c.rootPEM)),
				"-untrusted", writeFile(t, dir, "int.pem", []byte(c.interPEM)),
				writeFile(t, dir, "leaf.pem", []byte(str(t, resp, "certificate"))))
			if err != nil || !strings.Contains(out, "OK") {
				t.Fatalf("openssl verify: %v\n%s", err, out)
			}
			// The private key matches the certificate.
			keyOut, err := openssl(t, "pkey", "-in", writeFile(t, dir, "leaf.key", []byte(str(t, resp, "private_key"))), "-pubout")
			if err != nil {
				t.Fatalf("openssl pkey: %v\n%s", err, keyOut)
			}
			certOut, err := openssl(t, "x509", "-in", dir+"/leaf.pem", "-noout", "-pubkey")
			if err != nil || certOut != keyOut {
				t.Fatalf("key and certificate differ: %v\n%s\n%s", err, keyOut, certOut)
			}
		})
	}
}

func TestTLS13HandshakeTrustingOnlyRoot(t *testing.T) {
	for _, kt := range []string{"ec", "ed25519", "rsa"} {
		t.Run(kt, func(t *testing.T) {
			c := newChain(t, kt, 0)
			resp := c.inter.write("issue/web", map[string]any{"common_name": "www.example.com", "ttl": "1h"})
			pair, err := tls.X509KeyPair([]byte(str(t, resp, "certificate")+"\n"+c.interPEM), []byte(str(t, resp, "private_key")))
			if err != nil {
				t.Fatal(err)
			}
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = conn.Write([]byte("hello"))
			}()
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(c.rootPEM))
			conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "www.example.com", MinVersion: tls.VersionTLS13})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
				t.Fatalf("version = %x, want TLS 1.3", v)
			}
			if b, err := io.ReadAll(conn); err != nil || string(b) != "hello" {
				t.Fatalf("read = %q, %v", b, err)
			}
		})
	}
}

func TestSignCSR(t *testing.T) {
	c := newChain(t, "ec", 256)
	dir := t.TempDir()
	key := dir + "/k.pem"
	if out, err := openssl(t, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
		"-subj", "/CN=svc.example.com", "-addext", "subjectAltName=DNS:alt.example.com", "-out", dir+"/req.csr"); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	csr := readFile(t, dir+"/req.csr")
	resp := c.inter.write("sign/web", map[string]any{"csr": csr, "ttl": "1h"})
	leaf := parsePEM(t, str(t, resp, "certificate"))
	if leaf.Subject.CommonName != "svc.example.com" || !contains(leaf.DNSNames, "alt.example.com") {
		t.Fatalf("subject %v, SANs %v", leaf.Subject, leaf.DNSNames)
	}
	if _, ok := resp.Data["private_key"]; ok {
		t.Fatal("sign returned a private key")
	}
	// An RSA CSR is refused by an EC role.
	if out, err := openssl(t, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir+"/r.key", "-subj", "/CN=svc.example.com", "-out", dir+"/rsa.csr"); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	_, err := c.inter.do(logical.UpdateOperation, "sign/web", map[string]any{"csr": readFile(t, dir+"/rsa.csr")})
	wantField(t, err, "csr", "role requires keys of type ec")
	// A CSR SAN outside the role is refused.
	if out, err := openssl(t, "req", "-new", "-key", key, "-subj", "/CN=svc.example.com", "-addext", "subjectAltName=DNS:evil.org", "-out", dir+"/bad.csr"); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	_, err = c.inter.do(logical.UpdateOperation, "sign/web", map[string]any{"csr": readFile(t, dir+"/bad.csr")})
	wantField(t, err, "alt_names", "evil.org")
	// sign-verbatim takes the CSR as it is.
	resp = c.inter.write("sign-verbatim", map[string]any{"csr": readFile(t, dir+"/bad.csr"), "ttl": "1h"})
	if leaf := parsePEM(t, str(t, resp, "certificate")); !contains(leaf.DNSNames, "evil.org") {
		t.Fatalf("sign-verbatim SANs = %v", leaf.DNSNames)
	}
}

func TestCAEndpoints(t *testing.T) {
	c := newChain(t, "ec", 256)
	resp := c.inter.must(logical.ReadOperation, "ca", nil)
	if resp.Binary == nil || resp.Binary.ContentType != "application/pkix-cert" {
		t.Fatalf("ca: %+v", resp)
	}
	if ca, err := x509.ParseCertificate(resp.Binary.Data); err != nil || ca.Subject.CommonName != "Test Intermediate" {
		t.Fatalf("ca DER: %v %v", ca, err)
	}
	resp = c.inter.must(logical.ReadOperation, "ca/pem", nil)
	if strings.TrimSpace(string(resp.Binary.Data)) != c.interPEM {
		t.Fatal("ca/pem is not the intermediate")
	}
	resp = c.root.must(logical.ReadOperation, "issuer/root-1/der", nil)
	if blk, _ := pem.Decode([]byte(c.rootPEM)); string(blk.Bytes) != string(resp.Binary.Data) {
		t.Fatal("issuer/root-1/der is not the root")
	}
	resp = c.inter.must(logical.ReadOperation, "ca_chain", nil)
	if n := strings.Count(string(resp.Binary.Data), "BEGIN CERTIFICATE"); n != 2 {
		t.Fatalf("ca_chain has %d certificates, want 2", n)
	}
	resp = c.inter.must(logical.ReadOperation, "cert/ca", nil)
	if str(t, resp, "certificate") != c.interPEM {
		t.Fatal("cert/ca is not the intermediate")
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := readAll(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var _ = net.IPv4len
